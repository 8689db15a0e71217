/* Unit tests for core/service.c: building a table (with a fake scheduler
 * that records what the table asks of it), the lookup order of IPVS
 * (fwmark, exact, port zero), classification rules, owned addresses, and the
 * overload thresholds of ip_vs_conn.c.  Randomised parts are checked against
 * plain linear-scan reference models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>

#include "core/packet.h"
#include "core/sched/sched.h"
#include "core/service.h"
#include "testutil.h"

static uint16_t be16(uint16_t h)
{
	return (uint16_t)((h >> 8) | (h << 8));
}

/* --- a scheduler that only keeps books ----------------------------------- */

static int n_init, n_done, n_update, fail_init, fail_update;

static int fake_init(struct svc_table *t, struct svc *s)
{
	if (fail_init)
		return -ENOMEM;
	n_init++;
	s->sched_data = malloc(16);
	return s->sched_data ? 0 : -ENOMEM;
}

static void fake_done(struct svc_table *t, struct svc *s)
{
	n_done++;
	free(s->sched_data);
	s->sched_data = NULL;
}

static int fake_update(struct svc_table *t, struct svc *s)
{
	n_update++;
	return fail_update ? -EIO : 0;
}

static struct dest *fake_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			      uint64_t now)
{
	for (uint32_t i = 0; i < s->n_dests; i++)
		if (dest_usable(svc_dest(t, s, i)))
			return svc_dest(t, s, i);
	return NULL;
}

static const struct sched_ops fake_ops = {
	.name = "fake", .init = fake_init, .done = fake_done, .update = fake_update,
	.pick = fake_pick,
};

static struct svc_table *T;

static int setup(void **state)
{
	n_init = n_done = n_update = fail_init = fail_update = 0;
	T = svc_table_new();
	return T ? 0 : -1;
}

static int teardown(void **state)
{
	svc_table_free(T);
	T = NULL;
	return 0;
}

static struct svc vs(const char *vip, uint8_t proto, uint16_t port)
{
	struct svc s;
	memset(&s, 0, sizeof(s));
	s.af = strchr(vip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	s.proto = proto;
	s.port = be16(port);
	s.addr = taddr(vip);
	return s;
}

static struct svc fwm(enum ulvs_af af, uint32_t mark)
{
	struct svc s;
	memset(&s, 0, sizeof(s));
	s.af = (uint8_t)af;
	s.fwmark = mark;
	return s;
}

static struct dest rs(const char *ip, uint16_t port)
{
	struct dest d;
	memset(&d, 0, sizeof(d));
	d.af = strchr(ip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	d.addr = taddr(ip);
	d.port = be16(port);
	d.weight = 1;
	d.flags = DEST_F_AVAILABLE;
	d.fwd = FWD_NAT;
	return d;
}

/* --- building ------------------------------------------------------------- */

static void test_add_and_free(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s1, *s2, *s3;

	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s1), 0);
	assert_int_equal(s1->id, 0);
	assert_int_equal(s1->sorry_dest, -1);
	assert_ptr_equal(s1->sched, &fake_ops);
	assert_non_null(s1->sched_data);
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s2), -EEXIST);
	t1.proto = IPPROTO_UDP_;
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s2), 0);
	assert_int_equal(s2->id, 1);
	struct svc f = fwm(ULVS_AF_INET, 7);
	f.proto = IPPROTO_TCP_;
	f.port = be16(80);
	assert_int_equal(svc_add_with_sched(T, &f, &fake_ops, &s3), 0);
	assert_int_equal(s3->proto, 0); /* fwmark services match any proto/port */
	assert_int_equal(s3->port, 0);
	assert_int_equal(svc_add_with_sched(T, &f, &fake_ops, NULL), -EEXIST);
	f.af = ULVS_AF_INET6;
	assert_int_equal(svc_add_with_sched(T, &f, &fake_ops, NULL), 0);
	assert_int_equal(n_init, 4);
	assert_int_equal(T->n_svcs, 4);

	/* invalid templates, failing init */
	struct svc bad = vs("10.0.0.9", 0, 80);
	assert_int_equal(svc_add_with_sched(T, &bad, &fake_ops, NULL), -EINVAL);
	bad = vs("10.0.0.9", IPPROTO_TCP_, 80);
	bad.af = 5;
	assert_int_equal(svc_add_with_sched(T, &bad, &fake_ops, NULL), -EINVAL);
	bad = vs("10.0.0.9", IPPROTO_TCP_, 80);
	bad.addr.ip6[2] = 1; /* IPv4 with garbage in the high bytes */
	assert_int_equal(svc_add_with_sched(T, &bad, &fake_ops, NULL), -EINVAL);
	bad = vs("10.0.0.9", IPPROTO_TCP_, 80);
	assert_int_equal(svc_add_with_sched(T, &bad, NULL, NULL), -EINVAL);
	fail_init = 1;
	assert_int_equal(svc_add_with_sched(T, &bad, &fake_ops, NULL), -ENOMEM);
	fail_init = 0;
	assert_int_equal(T->n_svcs, 4);
	assert_null(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &bad.addr, bad.port, 0));

	svc_table_free(T);
	T = NULL;
	assert_int_equal(n_done, 4);
}

static void test_real_schedulers(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s;

	if (!sched_find("wlc") || !sched_find("rr"))
		skip(); /* the scheduler registry is not built into this tree yet */
	assert_int_equal(svc_add(T, &t1, NULL, &s), 0);
	assert_string_equal(s->sched->name, "wlc");
	t1.port = be16(81);
	assert_int_equal(svc_add(T, &t1, "rr", &s), 0);
	assert_string_equal(s->sched->name, "rr");
	struct dest d = rs("192.168.0.1", 80);
	assert_int_equal(svc_add_dest(T, s, &d, NULL), 0);
	assert_int_equal(svc_commit(T, s), 0);
	t1.port = be16(82);
	assert_int_equal(svc_add(T, &t1, "no-such-scheduler", &s), -ENOENT);
	assert_int_equal(T->n_svcs, 2);
}

static void test_full_table(void **state)
{
	for (uint32_t i = 0; i < ULVS_MAX_SERVICES; i++) {
		struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, (uint16_t)(i + 1));
		assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, NULL), 0);
	}
	struct svc t1 = vs("10.0.0.2", IPPROTO_TCP_, 1);
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, NULL), -ENOSPC);
	for (uint32_t i = 0; i < ULVS_MAX_SERVICES; i++) {
		union ulvs_addr a = taddr("10.0.0.1");
		struct svc *s = svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &a, be16((uint16_t)(i + 1)), 0);
		assert_non_null(s);
		assert_int_equal(s->id, i);
	}
}

static void test_dests_slices(void **state)
{
	enum { NS = 40, ND = 3000 };
	struct svc *s[NS];
	/* reference: the ordered list of dest ids of each service */
	static uint32_t ref[NS][ND];
	uint32_t nref[NS] = { 0 };

	for (int i = 0; i < NS; i++) {
		struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, (uint16_t)(1000 + i));
		assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s[i]), 0);
	}
	srand(3);
	for (uint32_t n = 0; n < ND; n++) {
		int i = rand() % NS;
		struct dest d = rs("192.168.0.0", 80), *out;
		d.addr.b[2] = (uint8_t)(n >> 8);
		d.addr.b[3] = (uint8_t)n;
		d.weight = (int32_t)n;
		d.activeconns = 99; /* counters in a template are not copied */
		d.flags |= DEST_F_OVERLOAD | DEST_F_SORRY;
		assert_int_equal(svc_add_dest(T, s[i], &d, &out), 0);
		assert_int_equal(out->id, n);
		assert_int_equal(out->svc_id, s[i]->id);
		assert_int_equal(out->activeconns, 0);
		assert_int_equal(out->flags, DEST_F_AVAILABLE);
		ref[i][nref[i]++] = n;
		/* a second time: same address and port in the same service */
		assert_int_equal(svc_add_dest(T, s[i], &d, NULL), -EEXIST);
	}
	for (int i = 0; i < NS; i++) {
		assert_int_equal(s[i]->n_dests, nref[i]);
		for (uint32_t j = 0; j < nref[i]; j++) {
			assert_int_equal(s[i]->dests[j], ref[i][j]);
			assert_int_equal(svc_dest(T, s[i], j)->weight, (int32_t)ref[i][j]);
		}
		assert_int_equal(svc_commit(T, s[i]), 0);
	}
	assert_int_equal(n_update, NS);
	/* Same address, other port: a different real server. */
	struct dest d = rs("192.168.0.0", 81);
	assert_int_equal(svc_add_dest(T, s[0], &d, NULL), 0);
	d.fwd = FWD_MAX;
	d.port = be16(82);
	assert_int_equal(svc_add_dest(T, s[0], &d, NULL), -EINVAL);
}

static void test_dests_full(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s;
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	for (uint32_t n = 0; n < ULVS_MAX_DESTS; n++) {
		struct dest d = rs("192.168.0.0", 80);
		d.port = be16((uint16_t)(n + 1));
		d.addr.b[1] = (uint8_t)(n >> 16);
		assert_int_equal(svc_add_dest(T, s, &d, NULL), 0);
	}
	struct dest d = rs("192.168.9.9", 80);
	assert_int_equal(svc_add_dest(T, s, &d, NULL), -ENOSPC);
	assert_int_equal(svc_set_sorry(T, s, &d), -ENOSPC);
}

static void test_sorry(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s;
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	struct dest d = rs("192.168.0.1", 80), sorry = rs("127.0.0.1", 8080);
	assert_int_equal(svc_add_dest(T, s, &d, NULL), 0);
	sorry.fwd = FWD_LOCAL;
	assert_int_equal(svc_set_sorry(T, s, &sorry), 0);
	assert_int_equal(s->sorry_dest, 1);
	assert_int_equal(s->n_dests, 1); /* not in the scheduling set */
	assert_true(T->dests[1].flags & DEST_F_SORRY);
	assert_int_equal(T->dests[1].fwd, FWD_LOCAL);
	struct sched_key k = { 0 };
	d.flags = 0;
	T->dests[0].flags = 0; /* the only real server is down */
	assert_null(fake_ops.pick(T, s, &k, 0));
	/* Replacing keeps the id. */
	sorry = rs("192.168.0.250", 80);
	assert_int_equal(svc_set_sorry(T, s, &sorry), 0);
	assert_int_equal(s->sorry_dest, 1);
	assert_int_equal(T->n_dests, 2);
	assert_true(addr_eq(&T->dests[1].addr, &sorry.addr));
	/* a real server added after the sorry server gets the next id */
	struct dest d2 = rs("192.168.0.2", 80), *o;
	assert_int_equal(svc_add_dest(T, s, &d2, &o), 0);
	assert_int_equal(o->id, 2);
	assert_int_equal(s->dests[1], 2);
}

static void test_laddrs_and_owns(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s, *s6;
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	struct svc t2 = vs("2001:db8::10", IPPROTO_UDP_, 53);
	assert_int_equal(svc_add_with_sched(T, &t2, &fake_ops, &s6), 0);
	union ulvs_addr l1 = taddr("172.16.0.1"), l2 = taddr("172.16.0.2");
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &l1, 1), 0);
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &l1, 1), -EEXIST);
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &l2, 2), 0);
	assert_int_equal(svc_add_laddr(s, ULVS_AF_NONE, &l2, 2), -EINVAL);
	assert_int_equal(s->laddrs[1].iface, 2);
	assert_int_equal(svc_commit(T, s), 0);
	assert_int_equal(svc_commit(T, s6), 0);
	struct mark_rule r = { .af = ULVS_AF_INET, .plen = 24, .prefix = taddr("10.9.9.0"), .mark = 3 };
	assert_int_equal(svc_add_mark_rule(T, &r), 0);

	const char *yes4[] = { "10.0.0.1", "172.16.0.1", "172.16.0.2", "10.9.9.0", "10.9.9.255" };
	const char *no4[] = { "10.0.0.2", "172.16.0.3", "10.9.8.255", "10.9.10.0" };
	for (size_t i = 0; i < sizeof(yes4) / sizeof(*yes4); i++) {
		union ulvs_addr a = taddr(yes4[i]);
		assert_true(svc_owns_addr(T, ULVS_AF_INET, &a));
		assert_false(svc_owns_addr(T, ULVS_AF_INET6, &a));
	}
	for (size_t i = 0; i < sizeof(no4) / sizeof(*no4); i++) {
		union ulvs_addr a = taddr(no4[i]);
		assert_false(svc_owns_addr(T, ULVS_AF_INET, &a));
	}
	union ulvs_addr v6 = taddr("2001:db8::10"), v6n = taddr("2001:db8::11");
	assert_true(svc_owns_addr(T, ULVS_AF_INET6, &v6));
	assert_false(svc_owns_addr(T, ULVS_AF_INET6, &v6n));

	for (uint32_t i = s->n_laddrs; i < ULVS_MAX_LADDRS; i++) {
		union ulvs_addr a = addr_v4(__builtin_bswap32(0xac110000u + i));
		assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &a, 0), 0);
	}
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &v6n, 0), -EINVAL);
	union ulvs_addr extra = taddr("192.0.2.1");
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &extra, 0), -ENOSPC);
}

/* More local addresses than the owned set takes: the scan fallback must
 * answer exactly as the set would. */
static void test_owns_overflow(void **state)
{
	uint32_t nsvc = (ULVS_MAX_OWNED_ADDRS / ULVS_MAX_LADDRS) + 2;
	if (nsvc > ULVS_MAX_SERVICES)
		skip();
	for (uint32_t i = 0; i < nsvc; i++) {
		struct svc t1 = vs("10.0.0.0", IPPROTO_TCP_, 80), *s;
		t1.addr.b[2] = (uint8_t)(i >> 8);
		t1.addr.b[3] = (uint8_t)i;
		assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
		for (uint32_t j = 0; j < ULVS_MAX_LADDRS; j++) {
			union ulvs_addr a = addr_v4(__builtin_bswap32(0xac000000u + i * 256 + j));
			assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &a, 0), 0);
		}
		assert_int_equal(svc_commit(T, s), 0);
	}
	assert_true(T->owned_overflow);
	for (uint32_t i = 0; i < nsvc; i++) {
		union ulvs_addr v = addr_v4(__builtin_bswap32(0x0a000000u + i));
		assert_true(svc_owns_addr(T, ULVS_AF_INET, &v));
		for (uint32_t j = 0; j < ULVS_MAX_LADDRS + 2; j++) {
			union ulvs_addr a = addr_v4(__builtin_bswap32(0xac000000u + i * 256 + j));
			assert_int_equal(svc_owns_addr(T, ULVS_AF_INET, &a), j < ULVS_MAX_LADDRS);
		}
	}
}

static void test_commit(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s;
	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	assert_int_equal(svc_commit(T, s), 0);
	assert_int_equal(n_update, 1);
	fail_update = 1;
	assert_int_equal(svc_commit(T, s), -EIO);
	fail_update = 0;
	/* a key changed behind the index's back is refused */
	s->port = be16(81);
	assert_int_equal(svc_commit(T, s), -EINVAL);
	s->port = be16(80);
	struct svc other;
	assert_int_equal(svc_commit(T, &other), -EINVAL);
}

/* --- lookup ---------------------------------------------------------------- */

static void test_lookup_order(void **state)
{
	struct svc *http, *any, *udp, *mark4, *mark6, *v6;
	struct svc t = vs("10.0.0.1", IPPROTO_TCP_, 80);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &http), 0);
	t = vs("10.0.0.1", IPPROTO_TCP_, 0);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &any), 0);
	t = vs("10.0.0.1", IPPROTO_UDP_, 80);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &udp), 0);
	t = fwm(ULVS_AF_INET, 5);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &mark4), 0);
	t = fwm(ULVS_AF_INET6, 5);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &mark6), 0);
	t = vs("2001:db8::1", IPPROTO_TCP_, 80);
	assert_int_equal(svc_add_with_sched(T, &t, &fake_ops, &v6), 0);

	union ulvs_addr vip = taddr("10.0.0.1"), other = taddr("10.0.0.2");
	union ulvs_addr vip6 = taddr("2001:db8::1");
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &vip, be16(80), 0), http);
	/* port zero catches every other port of that VIP and proto */
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &vip, be16(443), 0), any);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &vip, 0, 0), any);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_UDP_, &vip, be16(80), 0), udp);
	assert_null(svc_lookup(T, ULVS_AF_INET, IPPROTO_UDP_, &vip, be16(81), 0));
	assert_null(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &other, be16(80), 0));
	/* the mark wins over the exact match, but only in its family */
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &vip, be16(80), 5), mark4);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_UDP_, &other, be16(9), 5), mark4);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET6, IPPROTO_TCP_, &vip6, be16(80), 5), mark6);
	/* unknown mark: falls back to the address */
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &vip, be16(80), 6), http);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET6, IPPROTO_TCP_, &vip6, be16(80), 0), v6);
	assert_null(svc_lookup(T, ULVS_AF_INET6, IPPROTO_TCP_, &vip6, be16(81), 0));
	/* the same bytes as an IPv4 key are another service */
	union ulvs_addr v4bytes = vip;
	assert_null(svc_lookup(T, ULVS_AF_INET6, IPPROTO_TCP_, &v4bytes, be16(80), 0));
}

/* Random keys against a linear scan: the index must agree on every hit and
 * every miss, also when most keys collide in their hash run. */
static void test_lookup_random(void **state)
{
	enum { N = ULVS_MAX_SERVICES };
	srand(5);
	for (uint32_t i = 0; i < N; i++) {
		struct svc t;
		if (rand() % 8 == 0) {
			t = fwm(rand() % 2 ? ULVS_AF_INET : ULVS_AF_INET6, (uint32_t)(rand() % 64 + 1));
		} else {
			t = vs(rand() % 2 ? "10.0.0.0" : "2001:db8::", rand() % 2 ? IPPROTO_TCP_ : IPPROTO_UDP_,
			       (uint16_t)(rand() % 8));
			t.addr.b[t.af == ULVS_AF_INET ? 3 : 15] = (uint8_t)(rand() % 16);
		}
		int r = svc_add_with_sched(T, &t, &fake_ops, NULL);
		assert_true(r == 0 || r == -EEXIST);
	}
	for (int it = 0; it < 20000; it++) {
		enum ulvs_af af = rand() % 2 ? ULVS_AF_INET : ULVS_AF_INET6;
		uint8_t proto = rand() % 2 ? IPPROTO_TCP_ : IPPROTO_UDP_;
		union ulvs_addr a = taddr(af == ULVS_AF_INET ? "10.0.0.0" : "2001:db8::");
		a.b[af == ULVS_AF_INET ? 3 : 15] = (uint8_t)(rand() % 20);
		uint16_t port = be16((uint16_t)(rand() % 10));
		uint32_t mark = rand() % 3 ? 0 : (uint32_t)(rand() % 70);
		struct svc *want = NULL;
		for (int pass = 0; pass < 3 && !want; pass++) {
			for (uint32_t i = 0; i < T->n_svcs && !want; i++) {
				struct svc *s = &T->svcs[i];
				if (s->af != af)
					continue;
				if (pass == 0 && mark && s->fwmark == mark)
					want = s;
				if (pass == 1 && !s->fwmark && s->proto == proto && s->port == port &&
				    addr_eq(&s->addr, &a))
					want = s;
				if (pass == 2 && port && !s->fwmark && s->proto == proto && s->port == 0 &&
				    addr_eq(&s->addr, &a))
					want = s;
			}
		}
		assert_ptr_equal(svc_lookup(T, af, proto, &a, port, mark), want);
	}
}

static void test_classify(void **state)
{
	struct mark_rule r1 = { .af = ULVS_AF_INET, .proto = IPPROTO_TCP_, .plen = 24,
				.prefix = taddr("10.1.1.77"), .n_ports = 2,
				.port_lo = { 80, 8000 }, .port_hi = { 80, 8099 }, .mark = 1 };
	struct mark_rule r2 = { .af = ULVS_AF_INET, .proto = 0, .plen = 16,
				.prefix = taddr("10.1.0.0"), .mark = 2 };
	struct mark_rule r3 = { .af = ULVS_AF_INET6, .proto = IPPROTO_UDP_, .plen = 64,
				.prefix = taddr("2001:db8:1::"), .n_ports = 1,
				.port_lo = { 53 }, .port_hi = { 53 }, .mark = 3 };
	assert_int_equal(svc_add_mark_rule(T, &r1), 0);
	assert_int_equal(svc_add_mark_rule(T, &r2), 0);
	assert_int_equal(svc_add_mark_rule(T, &r3), 0);
	/* stored masked */
	union ulvs_addr m = taddr("10.1.1.0");
	assert_true(addr_eq(&T->marks[0].prefix, &m));

	struct { const char *dst; uint8_t proto; uint16_t port; uint32_t mark; } cases[] = {
		{ "10.1.1.5", IPPROTO_TCP_, 80, 1 },
		{ "10.1.1.5", IPPROTO_TCP_, 8000, 1 },
		{ "10.1.1.5", IPPROTO_TCP_, 8099, 1 },
		{ "10.1.1.5", IPPROTO_TCP_, 8100, 2 },  /* out of range: next rule */
		{ "10.1.1.5", IPPROTO_TCP_, 81, 2 },
		{ "10.1.1.5", IPPROTO_UDP_, 80, 2 },    /* proto mismatch: next rule */
		{ "10.1.200.1", IPPROTO_ICMP_, 0, 2 },
		{ "10.2.0.1", IPPROTO_TCP_, 80, 0 },
		{ "2001:db8:1::9", IPPROTO_UDP_, 53, 3 },
		{ "2001:db8:1::9", IPPROTO_TCP_, 53, 0 },
		{ "2001:db8:1::9", IPPROTO_UDP_, 54, 0 },
		{ "2001:db8:2::9", IPPROTO_UDP_, 53, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		union ulvs_addr a = taddr(cases[i].dst);
		enum ulvs_af af = strchr(cases[i].dst, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
		assert_int_equal(svc_classify(T, af, cases[i].proto, &a, be16(cases[i].port)),
				 cases[i].mark);
	}
	/* the 10.1.1.5 bytes read as IPv6 match no IPv4 rule */
	union ulvs_addr a = taddr("10.1.1.5");
	assert_int_equal(svc_classify(T, ULVS_AF_INET6, IPPROTO_TCP_, &a, be16(80)), 0);

	struct mark_rule bad = r1;
	bad.mark = 0;
	assert_int_equal(svc_add_mark_rule(T, &bad), -EINVAL);
	bad = r1;
	bad.plen = 33;
	assert_int_equal(svc_add_mark_rule(T, &bad), -EINVAL);
	bad = r1;
	bad.port_lo[1] = 9000;
	assert_int_equal(svc_add_mark_rule(T, &bad), -EINVAL);
	bad = r1;
	bad.n_ports = 9;
	assert_int_equal(svc_add_mark_rule(T, &bad), -EINVAL);
	for (uint32_t i = T->n_marks; i < ULVS_MAX_MARK_RULES; i++)
		assert_int_equal(svc_add_mark_rule(T, &r2), 0);
	assert_int_equal(svc_add_mark_rule(T, &r2), -ENOSPC);
}

/* --- thresholds -------------------------------------------------------------- */

static void set_conns(struct dest *d, uint32_t active, uint32_t inact)
{
	d->activeconns = active;
	d->inactconns = inact;
	dest_update_overload(d);
}

static void test_overload(void **state)
{
	struct dest d = rs("192.168.0.1", 80);

	/* no upper threshold: never overloaded, and a stale flag is cleared */
	set_conns(&d, 100000, 100000);
	assert_false(d.flags & DEST_F_OVERLOAD);
	d.flags |= DEST_F_OVERLOAD;
	set_conns(&d, 1, 0);
	assert_false(d.flags & DEST_F_OVERLOAD);

	/* upper 10, lower default: 3/4 of it, strictly below (conns*4 < 30) */
	d.u_threshold = 10;
	set_conns(&d, 5, 4);
	assert_false(d.flags & DEST_F_OVERLOAD);
	assert_true(dest_usable(&d));
	set_conns(&d, 5, 5); /* active + inactive reach 10 */
	assert_true(d.flags & DEST_F_OVERLOAD);
	assert_false(dest_usable(&d));
	set_conns(&d, 9, 0);
	assert_true(d.flags & DEST_F_OVERLOAD); /* hysteresis */
	set_conns(&d, 8, 0);
	assert_true(d.flags & DEST_F_OVERLOAD); /* 32 >= 30 */
	set_conns(&d, 7, 0);
	assert_false(d.flags & DEST_F_OVERLOAD); /* 28 < 30 */
	set_conns(&d, 9, 0);
	assert_false(d.flags & DEST_F_OVERLOAD); /* rising again below upper */

	/* persistence templates do not count */
	d.persistconns = 1000;
	set_conns(&d, 9, 0);
	assert_false(d.flags & DEST_F_OVERLOAD);

	/* the kernel's rounding: u = 2 clears at 1 (4 < 6) */
	d.u_threshold = 2;
	set_conns(&d, 2, 0);
	assert_true(d.flags & DEST_F_OVERLOAD);
	set_conns(&d, 1, 0);
	assert_false(d.flags & DEST_F_OVERLOAD);

	/* explicit lower threshold */
	d.u_threshold = 100;
	d.l_threshold = 50;
	set_conns(&d, 100, 0);
	assert_true(d.flags & DEST_F_OVERLOAD);
	set_conns(&d, 50, 0);
	assert_true(d.flags & DEST_F_OVERLOAD);
	set_conns(&d, 49, 0);
	assert_false(d.flags & DEST_F_OVERLOAD);

	/* huge values do not overflow */
	d.u_threshold = UINT32_MAX;
	d.l_threshold = 0;
	set_conns(&d, UINT32_MAX, 1);
	assert_true(d.flags & DEST_F_OVERLOAD);
	set_conns(&d, UINT32_MAX / 4 * 3 - 1, 0);
	assert_false(d.flags & DEST_F_OVERLOAD);
}

static void test_names(void **state)
{
	assert_string_equal(fwd_method_name(FWD_NAT), "Masq");
	assert_string_equal(fwd_method_name(FWD_DR), "Route");
	assert_string_equal(fwd_method_name(FWD_TUN), "Tunnel");
	assert_string_equal(fwd_method_name(FWD_FNAT), "FullNat");
	assert_string_equal(fwd_method_name(FWD_LOCAL), "Local");
	assert_string_equal(fwd_method_name(FWD_MAX), "?");
}

/* --- runtime edits: IPVS trash semantics ----------------------------------- */

/* A deleted real server leaves the set at once but keeps its slot while
 * connections count on it; re-adding it then revives that slot, counters and
 * all (ip_vs_trash_get_dest); once free the slot goes to the next add. */
static void test_del_dest_trash(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), t2 = vs("10.0.0.2", IPPROTO_TCP_, 80);
	struct svc *s, *o;
	struct dest *d[3], *x, *od;
	const char *ips[3] = { "192.168.0.1", "192.168.0.2", "192.168.0.3" };

	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	assert_int_equal(svc_add_with_sched(T, &t2, &fake_ops, &o), 0);
	for (int i = 0; i < 3; i++) {
		struct dest r = rs(ips[i], 8080);
		assert_int_equal(svc_add_dest(T, s, &r, &d[i]), 0);
	}
	struct dest ro = rs("192.168.9.9", 80);
	assert_int_equal(svc_add_dest(T, o, &ro, &od), 0);
	assert_int_equal(svc_commit(T, s), 0);
	d[1]->activeconns = 2;
	d[1]->stats.conns = 5;

	assert_int_equal(svc_del_dest(T, s, d[1]), 0);
	assert_int_equal(svc_del_dest(T, s, d[1]), -ENOENT);
	assert_int_equal(svc_del_dest(T, o, d[0]), -ENOENT);
	assert_int_equal(s->n_dests, 2);
	assert_ptr_equal(svc_dest(T, s, 0), d[0]);
	assert_ptr_equal(svc_dest(T, s, 1), d[2]);
	assert_true(T->dests[1].flags & DEST_F_TRASH);
	assert_false(T->dests[1].flags & DEST_F_AVAILABLE);
	assert_null(svc_find_dest(T, s, ULVS_AF_INET, &d[1]->addr, d[1]->port));
	assert_int_equal(svc_count_trash_dests(T), 1);
	/* the other service's slice did not move under it */
	assert_int_equal(o->n_dests, 1);
	assert_ptr_equal(svc_dest(T, o, 0), od);

	/* a new server does not take the slot connections still use */
	struct dest r4 = rs("192.168.0.4", 8080);
	assert_int_equal(svc_add_dest(T, s, &r4, &x), 0);
	assert_int_equal(x->id, 4);
	/* the same server back: its old slot, with its counters */
	struct dest r1 = rs(ips[1], 8080);
	r1.weight = 7;
	assert_int_equal(svc_add_dest(T, s, &r1, &x), 0);
	assert_int_equal(x->id, 1);
	assert_int_equal(x->activeconns, 2);
	assert_int_equal(x->stats.conns, 5);
	assert_int_equal(x->weight, 7);
	assert_true(x->flags & DEST_F_AVAILABLE);
	assert_false(x->flags & DEST_F_TRASH);
	assert_int_equal(svc_count_trash_dests(T), 0);
	assert_int_equal(svc_add_dest(T, s, &r1, NULL), -EEXIST);

	/* connections gone: the slot is free for anyone */
	assert_int_equal(svc_del_dest(T, s, x), 0);
	x->activeconns = 0;
	struct dest r5 = rs("192.168.0.5", 8080);
	assert_int_equal(svc_add_dest(T, o, &r5, &x), 0);
	assert_int_equal(x->id, 1);
	assert_int_equal(x->svc_id, o->id);
	assert_int_equal(x->stats.conns, 0);
	assert_int_equal(T->n_dests, 5);
	assert_int_equal(o->n_dests, 2);
	assert_int_equal(s->n_dests, 3);
}

static void test_del_svc_trash(void **state)
{
	struct svc ta = vs("10.0.0.1", IPPROTO_TCP_, 80), tb = vs("10.0.0.2", IPPROTO_TCP_, 80);
	struct svc *a, *b, *c;
	struct dest *da, *db, *sorry;

	assert_int_equal(svc_add_with_sched(T, &ta, &fake_ops, &a), 0);
	assert_int_equal(svc_add_with_sched(T, &tb, &fake_ops, &b), 0);
	struct dest r = rs("192.168.0.1", 80);
	assert_int_equal(svc_add_dest(T, a, &r, &da), 0);
	r = rs("192.168.0.2", 80);
	assert_int_equal(svc_add_dest(T, b, &r, &db), 0);
	r = rs("192.168.0.3", 80);
	assert_int_equal(svc_set_sorry(T, a, &r), 0);
	sorry = &T->dests[a->sorry_dest];
	assert_int_equal(svc_commit(T, a), 0);
	assert_int_equal(svc_commit(T, b), 0);
	da->inactconns = 1;

	assert_true(svc_owns_addr(T, ULVS_AF_INET, &ta.addr));
	assert_int_equal(svc_del(T, a), 0);
	assert_int_equal(svc_del(T, a), -ENOENT);
	assert_int_equal(n_done, 1);
	assert_null(svc_find(T, &ta));
	assert_null(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &ta.addr, ta.port, 0));
	assert_false(svc_owns_addr(T, ULVS_AF_INET, &ta.addr));
	assert_true(svc_owns_addr(T, ULVS_AF_INET, &tb.addr));
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_TCP_, &tb.addr, tb.port, 0), b);
	assert_true(da->flags & DEST_F_TRASH);
	assert_false(da->flags & DEST_F_AVAILABLE);
	assert_true(sorry->flags & DEST_F_TRASH);
	assert_int_equal(svc_count_live(T), 1);
	assert_ptr_equal(svc_dest(T, b, 0), db);
	struct dest r9 = rs("192.168.0.9", 80);
	assert_int_equal(svc_add_dest(T, a, &r9, NULL), -EINVAL);

	/* a's slot is still referenced: a new service gets a new id; the
	 * same key may come back at once (IPVS allows re-adding). */
	assert_int_equal(svc_add_with_sched(T, &ta, &fake_ops, &c), 0);
	assert_int_equal(c->id, 2);
	assert_ptr_equal(svc_find(T, &ta), c);
	assert_int_equal(svc_del(T, c), 0);
	/* c's slot was free at once; a's frees when its last connection goes */
	struct svc td = vs("10.0.0.4", IPPROTO_UDP_, 53);
	assert_int_equal(svc_add_with_sched(T, &td, &fake_ops, &c), 0);
	assert_int_equal(c->id, 2);
	da->inactconns = 0;
	struct svc te = vs("10.0.0.5", IPPROTO_UDP_, 53);
	assert_int_equal(svc_add_with_sched(T, &te, &fake_ops, &c), 0);
	assert_int_equal(c->id, 0);
	assert_int_equal(T->n_svcs, 3);
	assert_int_equal(c->n_dests, 0);
	r = rs("192.168.0.7", 53);
	assert_int_equal(svc_add_dest(T, c, &r, NULL), 0);
	assert_int_equal(svc_commit(T, c), 0);
	assert_ptr_equal(svc_lookup(T, ULVS_AF_INET, IPPROTO_UDP_, &te.addr, te.port, 0), c);
	assert_ptr_equal(svc_dest(T, b, 0), db);
}

static void test_edit(void **state)
{
	struct svc t1 = vs("10.0.0.1", IPPROTO_TCP_, 80), *s;
	struct dest *d;

	assert_int_equal(svc_add_with_sched(T, &t1, &fake_ops, &s), 0);
	struct dest r = rs("192.168.0.1", 80);
	assert_int_equal(svc_add_dest(T, s, &r, &d), 0);

	struct svc e = t1;
	e.flags = SVC_F_PERSISTENT | SVC_F_TRASH;
	e.timeout = 300;
	e.netmask = 24;
	assert_int_equal(svc_edit(T, s, &e, "nosuch"), -ENOENT);
	assert_ptr_equal(s->sched, &fake_ops);
	assert_int_equal(s->timeout, 0);
	assert_int_equal(svc_edit(T, s, &e, NULL), 0);
	assert_ptr_equal(s->sched, &fake_ops);
	assert_int_equal(s->flags, SVC_F_PERSISTENT); /* TRASH is not the caller's */
	assert_int_equal(s->timeout, 300);
	assert_int_equal(s->netmask, 24);
	assert_int_equal(svc_edit(T, s, &e, "mh"), 0);
	assert_int_equal(n_done, 1);
	assert_string_equal(s->sched->name, "mh");
	assert_non_null(s->sched_data);
	assert_int_equal(svc_commit(T, s), 0);
	struct sched_key k = { .af = ULVS_AF_INET, .proto = IPPROTO_TCP_, .saddr = taddr("1.2.3.4") };
	assert_ptr_equal(s->sched->pick(T, s, &k, 0), d);

	struct dest de = *d;
	de.weight = -1;
	assert_int_equal(dest_edit(T, d, &de), -ERANGE);
	de.weight = 3;
	de.u_threshold = 10;
	de.l_threshold = 11;
	assert_int_equal(dest_edit(T, d, &de), -ERANGE);
	de.fwd = FWD_MAX;
	de.l_threshold = 5;
	assert_int_equal(dest_edit(T, d, &de), -EINVAL);
	de.fwd = FWD_DR;
	d->activeconns = 10;
	d->u_threshold = 10;
	dest_update_overload(d);
	assert_true(d->flags & DEST_F_OVERLOAD);
	de.u_threshold = 20;
	assert_int_equal(dest_edit(T, d, &de), 0);
	assert_false(d->flags & DEST_F_OVERLOAD); /* 10 < 20 under the new limit */
	assert_int_equal(d->weight, 3);
	assert_int_equal(d->fwd, FWD_DR);
	assert_int_equal(d->l_threshold, 5);

	/* zero counters */
	s->stats.conns = 4;
	d->stats.inbytes = 9;
	svc_zero_stats(T, NULL);
	assert_int_equal(s->stats.conns, 0);
	assert_int_equal(d->stats.inbytes, 0);

	/* local addresses */
	union ulvs_addr l1 = taddr("172.16.0.1"), l2 = taddr("172.16.0.2");
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &l1, 1), 0);
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &l2, 1), 0);
	assert_int_equal(svc_commit(T, s), 0);
	assert_true(svc_owns_addr(T, ULVS_AF_INET, &l1));
	assert_int_equal(svc_del_laddr(T, s, ULVS_AF_INET, &l1), 0);
	assert_int_equal(svc_del_laddr(T, s, ULVS_AF_INET, &l1), -ENOENT);
	assert_false(svc_owns_addr(T, ULVS_AF_INET, &l1));
	assert_true(svc_owns_addr(T, ULVS_AF_INET, &l2));
	assert_true(svc_owns_addr(T, ULVS_AF_INET, &t1.addr));
	assert_int_equal(s->n_laddrs, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_schedulers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dests_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dests_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sorry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_laddrs_and_owns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owns_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classify, setup, teardown),
		cmocka_unit_test(test_overload),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_del_dest_trash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_svc_trash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
