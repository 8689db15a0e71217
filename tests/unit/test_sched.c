/* Unit tests for core/sched/: every IPVS scheduler against the kernel's
 * semantics (net/netfilter/ipvs/ip_vs_*.c).
 *
 * Three kinds of test: exact sequences where the kernel's algorithm fixes
 * them (rr, wrr, lc, ...), distributions for the hashing schedulers, and
 * randomised differential runs of the stateful ones against deliberately
 * naive reference models (horrible_*: floating-point division where the
 * real code cross-multiplies, the textbook LVS wrr loop, an unbounded lblc
 * cache), with connections opening and closing and weights, overload and
 * availability changing under them.  Tables are built with the real
 * service.c API, so svc_add() runs init and svc_commit() runs update.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/sched/sched.h"
#include "core/service.h"
#include "testutil.h"

/* ---- fixtures ---------------------------------------------------------- */

static struct svc_table *tbl;

static int setup(void **state)
{
	tbl = svc_table_new();
	return tbl ? 0 : -1;
}

static int teardown(void **state)
{
	svc_table_free(tbl);
	tbl = NULL;
	return 0;
}

static struct svc *mk_svc_p(const char *sched, uint32_t flags, uint32_t param, uint16_t port)
{
	struct svc tmpl = { 0 };
	struct svc *s = NULL;

	tmpl.af = ULVS_AF_INET;
	tmpl.proto = 6;
	tmpl.port = htons(port);
	tmpl.addr = addr_v4(htonl(0x0a000001));
	tmpl.flags = flags;
	tmpl.sched_param = param;
	assert_int_equal(svc_add(tbl, &tmpl, sched, &s), 0);
	return s;
}

/* Each call a new port, so one table holds many services. */
static uint16_t next_port = 10000;

static struct svc *mk_svc(const char *sched, uint32_t flags)
{
	return mk_svc_p(sched, flags, 0, next_port++);
}

static struct dest *mk_dest(struct svc *s, uint32_t n, int32_t weight)
{
	struct dest tmpl = { 0 };
	struct dest *d = NULL;

	tmpl.af = ULVS_AF_INET;
	tmpl.addr = addr_v4(htonl(0xc0a80000 + n + 1));
	tmpl.port = htons(8080);
	tmpl.weight = weight;
	tmpl.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(tbl, s, &tmpl, &d), 0);
	return d;
}

/* A service with n dests of the given weights, committed. */
static struct svc *mk_pool(const char *sched, uint32_t flags, const int32_t *w, uint32_t n)
{
	struct svc *s = mk_svc(sched, flags);

	for (uint32_t i = 0; i < n; i++)
		mk_dest(s, i, w[i]);
	assert_int_equal(svc_commit(tbl, s), 0);
	return s;
}

static struct dest *D(struct svc *s, uint32_t i)
{
	return svc_dest(tbl, s, i);
}

/* Position of d in s's list, -1 for NULL. */
static int idx_of(struct svc *s, const struct dest *d)
{
	if (!d)
		return -1;
	for (uint32_t i = 0; i < s->n_dests; i++)
		if (D(s, i) == d)
			return (int)i;
	fail_msg("picked a dest of another service");
	return -2;
}

static struct sched_key key_of(uint32_t saddr, uint32_t daddr, uint16_t sport)
{
	struct sched_key k = { 0 };

	k.af = ULVS_AF_INET;
	k.proto = 6;
	k.saddr = addr_v4(htonl(saddr));
	k.daddr = addr_v4(htonl(daddr));
	k.sport = htons(sport);
	k.dport = htons(80);
	return k;
}

static int pick(struct svc *s, const struct sched_key *k, uint64_t now)
{
	return idx_of(s, s->sched->pick(tbl, s, k, now));
}

static int pick0(struct svc *s)
{
	struct sched_key k = key_of(0x01020304, 0x0a000001, 1234);

	return pick(s, &k, 0);
}

/* Deterministic test randomness. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return n ? (uint32_t)(z % n) : 0;
}

/* ---- registry ---------------------------------------------------------- */

static const char *const all_names[] = {
	"rr", "wrr", "lc", "wlc", "sed", "nq", "lblc", "lblcr", "dh", "sh", "mh", "fo", "ovf", "twos",
};
#define N_SCHED (sizeof(all_names) / sizeof(all_names[0]))

static void test_registry(void **state)
{
	const struct sched_ops *const *all = sched_all();
	unsigned n = 0;

	for (; all[n]; n++) {
		assert_non_null(all[n]->pick);
		assert_ptr_equal(sched_find(all[n]->name), all[n]);
	}
	assert_int_equal(n, N_SCHED);
	for (unsigned i = 0; i < N_SCHED; i++)
		assert_non_null(sched_find(all_names[i]));
	assert_null(sched_find("wlcx"));
	assert_null(sched_find(""));
	assert_null(sched_find(NULL));

	struct svc tmpl = { .af = ULVS_AF_INET, .proto = 6, .port = htons(1) };
	tmpl.addr = addr_v4(htonl(0x0a000009));
	assert_int_equal(svc_add(tbl, &tmpl, "nosuch", NULL), -ENOENT);
}

/* Every scheduler returns NULL, without crashing, for an empty service and
 * for one whose only dest is unusable. */
static void test_empty_and_unusable(void **state)
{
	for (unsigned i = 0; i < N_SCHED; i++) {
		struct svc *s = mk_svc_p(all_names[i], SVC_F_SCHED1, 0, (uint16_t)(100 + i));

		assert_int_equal(svc_commit(tbl, s), 0);
		assert_int_equal(pick0(s), -1);
	}
	for (unsigned i = 0; i < N_SCHED; i++) {
		struct svc *s = mk_svc_p(all_names[i], SVC_F_SCHED1, 0, (uint16_t)(200 + i));
		struct dest *d = mk_dest(s, 0, 0);

		assert_int_equal(svc_commit(tbl, s), 0);
		assert_int_equal(pick0(s), -1);
		d->weight = 5;
		d->flags |= DEST_F_OVERLOAD;
		assert_int_equal(svc_commit(tbl, s), 0);
		assert_int_equal(pick0(s), -1);
		d->flags &= ~(uint32_t)(DEST_F_OVERLOAD | DEST_F_AVAILABLE);
		assert_int_equal(svc_commit(tbl, s), 0);
		assert_int_equal(pick0(s), -1);
	}
}

/* Whatever the scheduler, a chosen dest is always available, not
 * overloaded and of positive weight — across random states and keys. */
static void test_never_unusable(void **state)
{
	rng_state = 42;
	for (unsigned i = 0; i < N_SCHED; i++) {
		struct svc *s = mk_svc_p(all_names[i], i % 2 ? SVC_F_SCHED1 : SVC_F_SCHED2, 0,
					 (uint16_t)(300 + i));
		unsigned picked = 0;

		for (uint32_t j = 0; j < 12; j++)
			mk_dest(s, j, (int32_t)rnd(4));
		for (int round = 0; round < 40; round++) {
			for (uint32_t j = 0; j < s->n_dests; j++) {
				struct dest *d = D(s, j);

				d->weight = (int32_t)rnd(4);
				d->flags = DEST_F_AVAILABLE;
				if (rnd(4) == 0)
					d->flags |= DEST_F_OVERLOAD;
				if (rnd(5) == 0)
					d->flags &= ~(uint32_t)DEST_F_AVAILABLE;
				d->activeconns = rnd(6);
				d->inactconns = rnd(6);
			}
			assert_int_equal(svc_commit(tbl, s), 0);
			for (int p = 0; p < 50; p++) {
				struct sched_key k = key_of(rnd(0xffffffff), 0x0a000000 + rnd(64),
							    (uint16_t)rnd(65536));
				struct dest *d = s->sched->pick(tbl, s, &k, (uint64_t)round * 1000000000ull);

				if (d) {
					assert_true(dest_usable(d));
					assert_int_equal(d->svc_id, s->id);
					picked++;
				}
			}
		}
		/* dh/sh/mh without fallback may well return NULL a lot, but
		 * nobody may return NULL every time. */
		assert_true(picked > 0);
	}
}

/* ---- rr ---------------------------------------------------------------- */

static void test_rr_sequence(void **state)
{
	const int32_t w[] = { 1, 1, 1, 1 };
	struct svc *s = mk_pool("rr", 0, w, 4);

	for (int i = 0; i < 8; i++)
		assert_int_equal(pick0(s), i % 4);
	/* weight 0 and overload are skipped, the walk goes on after them */
	D(s, 1)->weight = 0;
	D(s, 3)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(svc_commit(tbl, s), 0);
	assert_int_equal(pick0(s), 0);
	assert_int_equal(pick0(s), 2);
	assert_int_equal(pick0(s), 0);
	/* "next after the last chosen": 1 comes back, and is next after 0 */
	D(s, 1)->weight = 7;
	assert_int_equal(pick0(s), 1);
	assert_int_equal(pick0(s), 2);
	/* one usable dest: it takes everything, the last chosen is tried last */
	D(s, 0)->weight = 0;
	D(s, 1)->weight = 0;
	assert_int_equal(pick0(s), 2);
	assert_int_equal(pick0(s), 2);
	D(s, 2)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(pick0(s), -1);
}

/* ---- wrr --------------------------------------------------------------- */

static void test_wrr_432(void **state)
{
	const int32_t w[] = { 4, 3, 2 };
	/* A A B A B C A B C, as the kernel's walk gives it */
	const int expect[] = { 0, 0, 1, 0, 1, 2, 0, 1, 2 };
	struct svc *s = mk_pool("wrr", 0, w, 3);

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 9; i++)
			assert_int_equal(pick0(s), expect[i]);
}

static void test_wrr_gcd_and_update(void **state)
{
	const int32_t w[] = { 4, 2 };
	const int expect[] = { 0, 0, 1 };
	struct svc *s = mk_pool("wrr", 0, w, 2);

	for (int i = 0; i < 12; i++)
		assert_int_equal(pick0(s), expect[i % 3]);
	/* a commit that changes nothing keeps the position ... */
	assert_int_equal(pick0(s), 0);
	assert_int_equal(svc_commit(tbl, s), 0);
	assert_int_equal(pick0(s), 0);
	assert_int_equal(pick0(s), 1);
	/* ... a weight change restarts from the list head */
	assert_int_equal(pick0(s), 0);
	D(s, 1)->weight = 4;
	assert_int_equal(svc_commit(tbl, s), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pick0(s), i % 2);
	/* all overloaded: NULL, then back to normal */
	D(s, 0)->flags |= DEST_F_OVERLOAD;
	D(s, 1)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(pick0(s), -1);
	assert_int_equal(pick0(s), -1);
	D(s, 1)->flags &= ~(uint32_t)DEST_F_OVERLOAD;
	assert_int_equal(pick0(s), 1);
	assert_int_equal(pick0(s), 1);
}

/* ---- lc / wlc / sed / nq: exact choices ------------------------------- */

static void set_conns(struct svc *s, uint32_t i, uint32_t act, uint32_t inact)
{
	D(s, i)->activeconns = act;
	D(s, i)->inactconns = inact;
}

static void test_lc(void **state)
{
	const int32_t w[] = { 1, 100, 1 };
	struct svc *s = mk_pool("lc", 0, w, 3);

	assert_int_equal(pick0(s), 0); /* all equal: first */
	set_conns(s, 0, 1, 0);
	assert_int_equal(pick0(s), 1); /* weight does not matter beyond 0 */
	set_conns(s, 1, 1, 0);
	set_conns(s, 2, 0, 255);       /* 255 inactive < 1 active (256) */
	assert_int_equal(pick0(s), 2);
	set_conns(s, 2, 0, 256);       /* tie with 0 and 1: first */
	assert_int_equal(pick0(s), 0);
	D(s, 0)->weight = 0;
	assert_int_equal(pick0(s), 1);
	D(s, 1)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(pick0(s), 2);
}

static void test_wlc(void **state)
{
	const int32_t w[] = { 1, 3, 2 };
	struct svc *s = mk_pool("wlc", 0, w, 3);

	assert_int_equal(pick0(s), 0);
	set_conns(s, 0, 1, 0); /* 256/1 */
	set_conns(s, 1, 2, 0); /* 512/3 */
	set_conns(s, 2, 2, 0); /* 512/2 */
	assert_int_equal(pick0(s), 1);
	set_conns(s, 1, 3, 0); /* 768/3 = 256: ties with 0, first wins */
	assert_int_equal(pick0(s), 0);
	set_conns(s, 0, 1, 1); /* 257/1 > 256 */
	assert_int_equal(pick0(s), 1);
	/* overhead near 2^32: products must not overflow */
	set_conns(s, 0, 0x00ffffff, 0);
	set_conns(s, 1, 0x00ffffff, 0);
	set_conns(s, 2, 0x00ffffff, 0);
	D(s, 0)->weight = 1000000;
	D(s, 1)->weight = 1000001;
	D(s, 2)->weight = 999999;
	assert_int_equal(pick0(s), 1);
}

static void test_sed(void **state)
{
	const int32_t w[] = { 1, 4 };
	struct svc *s = mk_pool("sed", 0, w, 2);

	/* (0+1)/1 vs (0+1)/4: the big one first, even though both are idle */
	assert_int_equal(pick0(s), 1);
	set_conns(s, 1, 3, 50); /* 4/4 = 1/1: tie, first */
	assert_int_equal(pick0(s), 0);
	set_conns(s, 1, 2, 0);  /* 3/4 < 1 */
	assert_int_equal(pick0(s), 1);
	set_conns(s, 0, 0, 1000); /* inactive does not count for sed */
	set_conns(s, 1, 4, 0);    /* 5/4 > 1 */
	assert_int_equal(pick0(s), 0);
}

static void test_nq(void **state)
{
	const int32_t w[] = { 1, 4, 2 };
	struct svc *s = mk_pool("nq", 0, w, 3);

	assert_int_equal(pick0(s), 0); /* idle: taken at once, list order */
	set_conns(s, 0, 1, 0);
	assert_int_equal(pick0(s), 1);
	set_conns(s, 1, 1, 0);
	assert_int_equal(pick0(s), 2);
	set_conns(s, 2, 1, 0);
	/* nobody idle: sed, 2/1, 2/4, 2/2 */
	assert_int_equal(pick0(s), 1);
	set_conns(s, 1, 3, 0); /* 4/4 = 2/2 */
	assert_int_equal(pick0(s), 1);
	set_conns(s, 1, 7, 0); /* 8/4 = 2/1 = 4/2: tie, first */
	set_conns(s, 2, 3, 0);
	assert_int_equal(pick0(s), 0);
	set_conns(s, 2, 0, 99); /* idle again (inactive only) */
	assert_int_equal(pick0(s), 2);
}

/* ---- fo / ovf ---------------------------------------------------------- */

static void test_fo(void **state)
{
	const int32_t w[] = { 5, 10, 10, 1 };
	struct svc *s = mk_pool("fo", 0, w, 4);

	set_conns(s, 1, 1000, 0); /* load is irrelevant */
	assert_int_equal(pick0(s), 1);
	D(s, 1)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(pick0(s), 2);
	D(s, 2)->flags &= ~(uint32_t)DEST_F_AVAILABLE;
	assert_int_equal(pick0(s), 0);
	D(s, 0)->weight = 0;
	assert_int_equal(pick0(s), 3);
}

static void test_ovf(void **state)
{
	const int32_t w[] = { 2, 3, 1 };
	/* the highest weight until its active conns exceed its weight (so it
	 * takes weight + 1), then the next: 1 x4, 0 x3, 2 x2, then nothing */
	const int expect[] = { 1, 1, 1, 1, 0, 0, 0, 2, 2, -1 };
	struct svc *s = mk_pool("ovf", 0, w, 3);

	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		int got = pick0(s);

		assert_int_equal(got, expect[i]);
		if (got >= 0)
			D(s, (uint32_t)got)->activeconns++;
	}
	set_conns(s, 1, 0, 1000); /* inactive conns do not count */
	assert_int_equal(pick0(s), 1);
}

/* ---- randomised differential runs ------------------------------------- */

/* The textbook LVS wrr (www.linuxvirtualserver.org/docs/scheduling.html):
 * i = (i + 1) mod n; at i == 0, cw -= gcd and wraps to max.  Extended by
 * "and not overloaded / present".  The kernel's cw is offset by gcd - 1 but
 * selects the same dest on every step. */
struct horrible_wrr {
	int i, cw;
};

static int horrible_wrr_pick(struct horrible_wrr *m, struct svc *s, int gcd, int max)
{
	int n = (int)s->n_dests;

	for (;;) {
		m->i = (m->i + 1) % n;
		if (m->i == 0) {
			m->cw -= gcd;
			if (m->cw <= 0)
				m->cw = max;
		}
		struct dest *d = D(s, (uint32_t)m->i);
		if ((d->flags & DEST_F_AVAILABLE) && !(d->flags & DEST_F_OVERLOAD) &&
		    d->weight >= m->cw)
			return m->i;
	}
}

static int igcd(int a, int b)
{
	while (b) {
		int r = a % b;
		a = b;
		b = r;
	}
	return a;
}

static void test_wrr_differential(void **state)
{
	rng_state = 7;
	for (int run = 0; run < 30; run++) {
		int32_t w[8];
		uint32_t n = 2 + rnd(7);
		int g = 0, max = 0;

		/* dest 0 always usable so the walk always ends */
		for (uint32_t i = 0; i < n; i++) {
			w[i] = (int32_t)((i == 0 ? 1 : 0) + rnd(6)) * (int32_t)(1 + run % 3);
			g = w[i] ? igcd(w[i], g) : g;
			max = w[i] > max ? w[i] : max;
		}
		struct svc *s = mk_pool("wrr", 0, w, n);
		struct horrible_wrr m = { -1, 0 };

		for (int step = 0; step < 400; step++) {
			if (rnd(10) == 0) {
				uint32_t j = 1 + rnd(n - 1);
				D(s, j)->flags ^= DEST_F_OVERLOAD;
			}
			assert_int_equal(pick0(s), horrible_wrr_pick(&m, s, g, max));
		}
	}
}

static bool ref_usable(const struct dest *d)
{
	return (d->flags & DEST_F_AVAILABLE) && !(d->flags & DEST_F_OVERLOAD) && d->weight > 0;
}

/* Reference least-load choice by division in long double; equal rationals
 * divide to equal values, so ties still go to the first. */
enum horrible_kind { H_LC, H_WLC, H_SED, H_NQ };

static int horrible_least(struct svc *s, enum horrible_kind kind)
{
	int best = -1;
	long double bl = 0;

	if (kind == H_NQ)
		for (uint32_t i = 0; i < s->n_dests; i++)
			if (ref_usable(D(s, i)) && D(s, i)->activeconns == 0)
				return (int)i;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = D(s, i);
		long double load;

		if (!ref_usable(d))
			continue;
		switch (kind) {
		case H_LC:
			load = (long double)d->activeconns * 256 + d->inactconns;
			break;
		case H_WLC:
			load = ((long double)d->activeconns * 256 + d->inactconns) / d->weight;
			break;
		default:
			load = ((long double)d->activeconns + 1) / d->weight;
			break;
		}
		if (best < 0 || load < bl) {
			best = (int)i;
			bl = load;
		}
	}
	return best;
}

/* Live traffic: each step opens a connection on the chosen dest or closes
 * (active -> inactive -> gone) a random one, and flips weights and flags
 * now and then; every choice must equal the reference's. */
static void run_least_differential(const char *name, enum horrible_kind kind)
{
	for (int run = 0; run < 20; run++) {
		uint32_t n = 1 + rnd(8);
		int32_t w[8];

		for (uint32_t i = 0; i < n; i++)
			w[i] = (int32_t)rnd(5);
		struct svc *s = mk_pool(name, 0, w, n);

		for (int step = 0; step < 500; step++) {
			uint32_t j = rnd(n);
			struct dest *d = D(s, j);

			switch (rnd(12)) {
			case 0:
				d->weight = (int32_t)rnd(5);
				break;
			case 1:
				d->flags ^= DEST_F_OVERLOAD;
				break;
			case 2:
				d->flags ^= DEST_F_AVAILABLE;
				break;
			case 3: case 4: case 5:
				if (d->activeconns) {
					d->activeconns--;
					d->inactconns++;
				} else if (d->inactconns) {
					d->inactconns--;
				}
				break;
			default: {
				int want = horrible_least(s, kind);
				int got = pick0(s);

				assert_int_equal(got, want);
				if (got >= 0)
					D(s, (uint32_t)got)->activeconns++;
			}
			}
		}
	}
}

static void test_lc_differential(void **state)
{
	rng_state = 1;
	run_least_differential("lc", H_LC);
}

static void test_wlc_differential(void **state)
{
	rng_state = 2;
	run_least_differential("wlc", H_WLC);
}

static void test_sed_differential(void **state)
{
	rng_state = 3;
	run_least_differential("sed", H_SED);
}

static void test_nq_differential(void **state)
{
	rng_state = 4;
	run_least_differential("nq", H_NQ);
}

/* rr against a model that scans from last + 1 over all n positions. */
static void test_rr_differential(void **state)
{
	rng_state = 5;
	for (int run = 0; run < 20; run++) {
		uint32_t n = 1 + rnd(8);
		int32_t w[8];
		int last = -1;

		for (uint32_t i = 0; i < n; i++)
			w[i] = (int32_t)rnd(3);
		struct svc *s = mk_pool("rr", 0, w, n);

		for (int step = 0; step < 400; step++) {
			uint32_t j = rnd(n);

			if (rnd(4) == 0)
				D(s, j)->weight = (int32_t)rnd(3);
			if (rnd(6) == 0)
				D(s, j)->flags ^= DEST_F_OVERLOAD;
			int want = -1;
			for (uint32_t k = 1; k <= n; k++) {
				int i = (int)((uint32_t)(last + (int)k) % n);
				if (last < 0)
					i = (int)k - 1;
				if (ref_usable(D(s, (uint32_t)i))) {
					want = i;
					break;
				}
			}
			int got = pick0(s);
			assert_int_equal(got, want);
			if (got >= 0)
				last = got;
		}
	}
}

/* lblc against an unbounded cache that forgets entries idle for the
 * expiration, with the kernel's rule written out plainly. */
struct horrible_lblc_entry {
	uint32_t daddr;
	int dest;
	uint64_t lastuse;
	bool used;
};

static bool horrible_lblc_overloaded(struct svc *s, const struct dest *d)
{
	if ((long)d->activeconns <= (long)d->weight)
		return false;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *o = D(s, i);
		if ((o->flags & DEST_F_AVAILABLE) && (long)o->activeconns * 2 < (long)o->weight)
			return true;
	}
	return false;
}

static int horrible_lblc_pick(struct horrible_lblc_entry *cache, unsigned ncache, struct svc *s,
			      uint32_t daddr, uint64_t now, uint64_t expire)
{
	struct horrible_lblc_entry *en = NULL;

	for (unsigned i = 0; i < ncache; i++)
		if (cache[i].used && cache[i].daddr == daddr) {
			if (now - cache[i].lastuse >= expire)
				cache[i].used = false;
			else
				en = &cache[i];
		}
	if (en) {
		en->lastuse = now;
		const struct dest *d = D(s, (uint32_t)en->dest);
		if (ref_usable(d) && !horrible_lblc_overloaded(s, d))
			return en->dest;
	}
	int n = horrible_least(s, H_WLC);
	if (n < 0)
		return -1;
	if (!en)
		for (unsigned i = 0; i < ncache && !en; i++)
			if (!cache[i].used)
				en = &cache[i];
	en->used = true;
	en->daddr = daddr;
	en->dest = n;
	en->lastuse = now;
	return n;
}

static void test_lblc_differential(void **state)
{
	const uint64_t expire = 60ull * 1000000000ull;
	struct horrible_lblc_entry cache[64];

	rng_state = 6;
	for (int run = 0; run < 10; run++) {
		uint32_t n = 1 + rnd(6);
		int32_t w[8];
		uint64_t now = 1000;

		memset(cache, 0, sizeof(cache));
		for (uint32_t i = 0; i < n; i++)
			w[i] = (int32_t)rnd(5);
		struct svc *s = mk_svc_p("lblc", 0, 60, (uint16_t)(1000 + run));
		for (uint32_t i = 0; i < n; i++)
			mk_dest(s, i, w[i]);
		assert_int_equal(svc_commit(tbl, s), 0);

		for (int step = 0; step < 1500; step++) {
			uint32_t j = rnd(n);
			struct dest *d = D(s, j);

			now += rnd(4) == 0 ? rnd(30) * 1000000000ull : rnd(1000);
			switch (rnd(14)) {
			case 0:
				d->weight = (int32_t)rnd(5);
				break;
			case 1:
				d->flags ^= DEST_F_OVERLOAD;
				break;
			case 2:
				d->flags ^= DEST_F_AVAILABLE;
				break;
			case 3: case 4: case 5: case 6:
				if (d->activeconns) {
					d->activeconns--;
					d->inactconns++;
				} else if (d->inactconns) {
					d->inactconns--;
				}
				break;
			default: {
				uint32_t daddr = 0x0a010000 + rnd(40);
				struct sched_key k = key_of(0x01020304, daddr, 999);
				int want = horrible_lblc_pick(cache, 64, s, daddr, now, expire);
				int got = pick(s, &k, now);

				assert_int_equal(got, want);
				if (got >= 0)
					D(s, (uint32_t)got)->activeconns++;
			}
			}
		}
	}
}

/* ---- lblc / lblcr: the rules one by one -------------------------------- */

static void test_lblc_rules(void **state)
{
	const uint64_t S = 1000000000ull;
	struct svc *s = mk_svc_p("lblc", 0, 100, 80);
	struct sched_key x = key_of(0x01010101, 0x0b000001, 1), y = key_of(0x01010101, 0x0b000002, 1);

	mk_dest(s, 0, 2);
	mk_dest(s, 1, 2);
	assert_int_equal(svc_commit(tbl, s), 0);

	assert_int_equal(pick(s, &x, 1 * S), 0);
	set_conns(s, 0, 2, 0);
	/* x sticks to 0 while 0 is not busier than its weight */
	assert_int_equal(pick(s, &x, 2 * S), 0);
	assert_int_equal(pick(s, &y, 2 * S), 1); /* y: wlc */
	set_conns(s, 0, 3, 0);
	set_conns(s, 1, 1, 0); /* 1*2 < 2 is false: nobody is under half */
	assert_int_equal(pick(s, &x, 3 * S), 0);
	set_conns(s, 1, 0, 0); /* now 1 is under half: x moves, and stays */
	assert_int_equal(pick(s, &x, 4 * S), 1);
	set_conns(s, 0, 0, 0);
	set_conns(s, 1, 1, 0);
	assert_int_equal(pick(s, &x, 5 * S), 1);
	/* an overloaded or quiesced cached dest is rescheduled */
	D(s, 1)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(pick(s, &x, 6 * S), 0);
	D(s, 1)->flags &= ~(uint32_t)DEST_F_OVERLOAD;
	assert_int_equal(pick(s, &x, 7 * S), 0);
	/* expiry: unused for 100 s, the entry is gone and wlc decides again */
	set_conns(s, 0, 1, 0);
	set_conns(s, 1, 0, 0);
	assert_int_equal(pick(s, &x, 106 * S), 0); /* used at 7 s: still cached */
	assert_int_equal(pick(s, &x, 206 * S), 1); /* idle 100 s: expired */
}

static void test_lblc_cache_capacity(void **state)
{
	/* far more destinations than the cache holds: no failure, and the
	 * most recent one is still cached (LRU eviction within a set) */
	struct svc *s = mk_svc_p("lblc", 0, 0, 80);

	mk_dest(s, 0, 1);
	mk_dest(s, 1, 1);
	assert_int_equal(svc_commit(tbl, s), 0);
	for (uint32_t i = 0; i < 40000; i++) {
		struct sched_key k = key_of(1, 0x20000000 + i, 1);
		assert_true(pick(s, &k, i) >= 0);
	}
	struct sched_key last = key_of(1, 0x20000000 + 39999, 1);
	int was = pick(s, &last, 40000);
	set_conns(s, (uint32_t)was, 1, 0); /* not overloaded: stays */
	assert_int_equal(pick(s, &last, 40001), was);
}

static void test_lblcr_rules(void **state)
{
	const uint64_t S = 1000000000ull;
	struct svc *s = mk_svc_p("lblcr", 0, 100, 80);
	struct sched_key x = key_of(0x01010101, 0x0b000001, 1);

	mk_dest(s, 0, 2);
	mk_dest(s, 1, 2);
	mk_dest(s, 2, 2);
	assert_int_equal(svc_commit(tbl, s), 0);

	assert_int_equal(pick(s, &x, 1 * S), 0); /* set {0} */
	set_conns(s, 0, 3, 0);                    /* 3 > 2 and 1, 2 idle */
	set_conns(s, 1, 0, 5);
	assert_int_equal(pick(s, &x, 2 * S), 2);  /* wlc: 2 (5 inactive on 1); set {2, 0} */
	set_conns(s, 2, 1, 0);
	set_conns(s, 1, 0, 0);
	/* member least loaded: 2 (256/2) vs 0 (768/2); 1 is not a member */
	assert_int_equal(pick(s, &x, 3 * S), 2);
	set_conns(s, 2, 3, 0);                    /* both members over weight */
	assert_int_equal(pick(s, &x, 4 * S), 1);  /* grows: {1, 2, 0} */
	set_conns(s, 1, 1, 0);
	set_conns(s, 0, 1, 0);
	set_conns(s, 2, 1, 0);
	assert_int_equal(pick(s, &x, 5 * S), 1);  /* ties: newest member first */
	assert_int_equal(pick(s, &x, 50 * S), 1); /* keeps the entry in use */
	/* more than the expiration since the last change to the set (4 s):
	 * a lookup sheds the most loaded member, one per period */
	set_conns(s, 0, 0, 9);
	set_conns(s, 1, 0, 0);
	set_conns(s, 2, 0, 1);
	assert_int_equal(pick(s, &x, 105 * S), 1); /* drops 0; {1, 2} */
	set_conns(s, 1, 1, 0);
	/* 0 is no longer a member: even idle it is not chosen from the set */
	set_conns(s, 0, 0, 0);
	assert_int_equal(pick(s, &x, 106 * S), 2);
	assert_int_equal(pick(s, &x, 150 * S), 2);
	assert_int_equal(pick(s, &x, 204 * S), 2); /* 99 s since the change */
	assert_int_equal(pick(s, &x, 206 * S), 2); /* drops 1 (256 > 1); {2} */
	set_conns(s, 2, 0, 5);
	set_conns(s, 1, 0, 0);
	assert_int_equal(pick(s, &x, 207 * S), 2); /* 1 is gone from the set */
	assert_int_equal(pick(s, &x, 300 * S), 2); /* a single member is kept */
	/* entry idle for the expiration: forgotten, wlc picks 0 (first idle) */
	assert_int_equal(pick(s, &x, 400 * S), 0);
	assert_int_equal(pick(s, &x, 401 * S), 0);
}

/* ---- dh ---------------------------------------------------------------- */

static void test_dh(void **state)
{
	const int32_t w[] = { 1, 5, 1 };
	struct svc *s = mk_pool("dh", 0, w, 3);
	unsigned count[3] = { 0 };

	/* the kernel's bucket: (ntohl(daddr) * 2654435761) & 255, dealt
	 * round robin, unweighted */
	for (uint32_t o = 0; o < 256; o++) {
		struct sched_key k = key_of(0x01020304, 0x0a0a0000 + o, 1);
		uint32_t b = (uint32_t)((0x0a0a0000u + o) * 2654435761u) & 255;
		int got = pick(s, &k, 0);

		assert_int_equal(got, (int)(b % 3));
		count[got]++;
		/* only the daddr matters */
		k.saddr = addr_v4(htonl(0x05060708));
		k.sport = htons(4321);
		assert_int_equal(pick(s, &k, 0), got);
	}
	assert_int_equal(count[0], 86);
	assert_int_equal(count[1], 85);
	assert_int_equal(count[2], 85);
	/* a dest going down never moves the others' keys, and its own get
	 * nothing: dh does not re-hash */
	D(s, 1)->weight = 0;
	assert_int_equal(svc_commit(tbl, s), 0);
	for (uint32_t o = 0; o < 256; o++) {
		struct sched_key k = key_of(0x01020304, 0x0a0a0000 + o, 1);
		uint32_t b = (uint32_t)((0x0a0a0000u + o) * 2654435761u) & 255;

		assert_int_equal(pick(s, &k, 0), b % 3 == 1 ? -1 : (int)(b % 3));
	}
}

/* ---- sh ---------------------------------------------------------------- */

static void sh_shares(struct svc *s, unsigned *count, unsigned n, unsigned keys)
{
	memset(count, 0, n * sizeof(*count));
	for (uint32_t i = 0; i < keys; i++) {
		struct sched_key k = key_of(0x0b000000 + i, 0x0a000001, 1);
		int got = pick(s, &k, 0);

		assert_true(got >= 0);
		count[got]++;
	}
}

static void test_sh(void **state)
{
	const int32_t w[] = { 1, 2, 1 };
	struct svc *s = mk_pool("sh", 0, w, 3);
	unsigned count[3];
	int before[4096];

	/* buckets by weight: 64 / 128 / 64 of 256; hash_32 spreads
	 * consecutive addresses over buckets evenly */
	sh_shares(s, count, 3, 4096);
	assert_in_range(count[0], 1024 - 20, 1024 + 20);
	assert_in_range(count[1], 2048 - 20, 2048 + 20);
	assert_in_range(count[2], 1024 - 20, 1024 + 20);
	for (uint32_t i = 0; i < 4096; i++) {
		struct sched_key k = key_of(0x0b000000 + i, 0x0a000001, (uint16_t)i);
		before[i] = pick(s, &k, 0);
		/* without sh-port, the port does not matter */
		k.sport = htons(7);
		assert_int_equal(pick(s, &k, 0), before[i]);
	}
	/* quiesce 1: without sh-fallback its keys get nothing, others stay */
	D(s, 1)->weight = 0;
	for (uint32_t i = 0; i < 4096; i++) {
		struct sched_key k = key_of(0x0b000000 + i, 0x0a000001, 1);
		assert_int_equal(pick(s, &k, 0), before[i] == 1 ? -1 : before[i]);
	}
	/* with sh-fallback they are re-hashed onto the others; others stay */
	s->flags |= SVC_F_SCHED1;
	for (uint32_t i = 0; i < 4096; i++) {
		struct sched_key k = key_of(0x0b000000 + i, 0x0a000001, 1);
		int got = pick(s, &k, 0);

		if (before[i] == 1)
			assert_true(got == 0 || got == 2);
		else
			assert_int_equal(got, before[i]);
	}
}

static void test_sh_port(void **state)
{
	const int32_t w[] = { 1, 1, 1, 1 };
	struct svc *s = mk_pool("sh", SVC_F_SCHED2, w, 4);
	unsigned seen = 0;

	/* one client, many source ports: spread over every dest */
	for (uint32_t p = 1000; p < 1256; p++) {
		struct sched_key k = key_of(0x0b000001, 0x0a000001, (uint16_t)p);
		int got = pick(s, &k, 0);

		assert_true(got >= 0);
		seen |= 1u << got;
		assert_int_equal(pick(s, &k, 0), got);
	}
	assert_int_equal(seen, 0xf);
	/* ICMP has no port: port hashing is skipped */
	struct sched_key k = key_of(0x0b000001, 0x0a000001, 1000);
	k.proto = 1;
	int a = pick(s, &k, 0);
	k.sport = htons(2000);
	assert_int_equal(pick(s, &k, 0), a);
}

/* ---- mh ---------------------------------------------------------------- */

#define MH_KEYS 20000

static void mh_map(struct svc *s, int *out)
{
	for (uint32_t i = 0; i < MH_KEYS; i++) {
		struct sched_key k = key_of(0x0c000000 + i * 7919, 0x0a000001, 1);
		out[i] = pick(s, &k, 0);
	}
}

static void test_mh_distribution(void **state)
{
	const int32_t w[] = { 1, 1, 1, 1, 1 };
	struct svc *s = mk_pool("mh", 0, w, 5);
	static int map[MH_KEYS];
	unsigned count[5] = { 0 };

	mh_map(s, map);
	for (uint32_t i = 0; i < MH_KEYS; i++) {
		assert_true(map[i] >= 0);
		count[map[i]]++;
	}
	for (int i = 0; i < 5; i++) /* 20% each, Maglev tables are within ~1% */
		assert_in_range(count[i], MH_KEYS / 5 - MH_KEYS / 40, MH_KEYS / 5 + MH_KEYS / 40);

	/* weights 3:1 */
	struct svc *s2 = mk_svc_p("mh", 0, 0, 81);
	mk_dest(s2, 0, 3);
	mk_dest(s2, 1, 1);
	assert_int_equal(svc_commit(tbl, s2), 0);
	mh_map(s2, map);
	unsigned c0 = 0;
	for (uint32_t i = 0; i < MH_KEYS; i++)
		c0 += map[i] == 0;
	assert_in_range(c0, MH_KEYS * 70 / 100, MH_KEYS * 80 / 100);
}

/* Maglev's point: adding or removing one of N dests moves little more than
 * the 1/N of keys that must move. */
static void test_mh_disruption(void **state)
{
	static int before[MH_KEYS], after[MH_KEYS];
	const uint32_t N = 10;
	struct svc *s = mk_svc("mh", 0);
	unsigned moved = 0, moved_others = 0;

	for (uint32_t i = 0; i < N; i++)
		mk_dest(s, i, 1);
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, before);

	/* remove dest 3 (a failed health check takes it out of the table) */
	D(s, 3)->flags &= ~(uint32_t)DEST_F_AVAILABLE;
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, after);
	for (uint32_t i = 0; i < MH_KEYS; i++) {
		assert_true(after[i] >= 0 && after[i] != 3);
		moved += before[i] != after[i];
		moved_others += before[i] != 3 && before[i] != after[i];
	}
	print_message("mh remove 1 of %u: %.2f%% of keys moved (%.2f%% not on the removed dest)\n",
		      N, 100.0 * moved / MH_KEYS, 100.0 * moved_others / MH_KEYS);
	assert_true(moved <= MH_KEYS / N + MH_KEYS * 4 / 100);

	/* add it back: the table is the same as at first */
	D(s, 3)->flags |= DEST_F_AVAILABLE;
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, after);
	assert_memory_equal(before, after, sizeof(before));

	/* add an 11th */
	mk_dest(s, N, 1);
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, after);
	moved = 0;
	for (uint32_t i = 0; i < MH_KEYS; i++)
		moved += before[i] != after[i];
	print_message("mh add 1 to %u: %.2f%% of keys moved\n", N, 100.0 * moved / MH_KEYS);
	assert_true(moved <= MH_KEYS / (N + 1) + MH_KEYS * 4 / 100);
}

static void test_mh_quiesce_and_fallback(void **state)
{
	static int before[MH_KEYS], after[MH_KEYS];
	const int32_t w[] = { 2, 2, 2, 2 };
	struct svc *s = mk_pool("mh", 0, w, 4);

	mh_map(s, before);
	/* weight 0 keeps its slots (the kernel's last_weight): nobody else's
	 * keys move, its own get nothing ... */
	D(s, 2)->weight = 0;
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, after);
	for (uint32_t i = 0; i < MH_KEYS; i++)
		assert_int_equal(after[i], before[i] == 2 ? -1 : before[i]);
	/* ... or with mh-fallback, someone else */
	s->flags |= SVC_F_SCHED1;
	mh_map(s, after);
	for (uint32_t i = 0; i < MH_KEYS; i++) {
		if (before[i] == 2)
			assert_true(after[i] >= 0 && after[i] != 2);
		else
			assert_int_equal(after[i], before[i]);
	}
	/* overload likewise */
	D(s, 2)->weight = 2;
	D(s, 0)->flags |= DEST_F_OVERLOAD;
	assert_int_equal(svc_commit(tbl, s), 0);
	mh_map(s, after);
	for (uint32_t i = 0; i < MH_KEYS; i++) {
		if (before[i] == 0)
			assert_true(after[i] > 0);
		else
			assert_int_equal(after[i], before[i]);
	}
}

static void test_mh_port_and_sizes(void **state)
{
	const uint32_t good[] = { 251, 509, 1021, 4093, 65521 };
	const uint32_t bad[] = { 4000, 65522, 131071, 1 };

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct svc *s = mk_svc_p("mh", SVC_F_SCHED2, good[i], (uint16_t)(2000 + i));
		unsigned seen = 0;

		for (uint32_t j = 0; j < 3; j++)
			mk_dest(s, j, 1);
		assert_int_equal(svc_commit(tbl, s), 0);
		for (uint32_t p = 0; p < 300; p++) {
			struct sched_key k = key_of(0x0b000001, 0x0a000001, (uint16_t)(5000 + p));
			int got = pick(s, &k, 0);
			assert_true(got >= 0);
			seen |= 1u << got;
		}
		assert_int_equal(seen, 7); /* mh-port spreads one client */
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct svc tmpl = { .af = ULVS_AF_INET, .proto = 6, .port = htons((uint16_t)(3000 + i)) };
		tmpl.addr = addr_v4(htonl(0x0a000001));
		tmpl.sched_param = bad[i];
		assert_int_equal(svc_add(tbl, &tmpl, "mh", NULL), -EINVAL);
	}
	/* a size change on commit rebuilds the table at the new size */
	struct svc *s = mk_svc_p("mh", 0, 0, 2100);
	mk_dest(s, 0, 1);
	mk_dest(s, 1, 1);
	assert_int_equal(svc_commit(tbl, s), 0);
	s->sched_param = 251;
	assert_int_equal(svc_commit(tbl, s), 0);
	s->sched_param = 250;
	assert_int_equal(svc_commit(tbl, s), -EINVAL);
	assert_true(pick0(s) >= 0); /* the old table still works */
	/* more dests than slots is refused */
	struct svc *t2 = mk_svc_p("mh", 0, 2, 2200);
	for (uint32_t j = 0; j < 3; j++)
		mk_dest(t2, j, 1);
	assert_int_equal(svc_commit(tbl, t2), -EINVAL);
}

/* ---- twos -------------------------------------------------------------- */

static void test_twos(void **state)
{
	const int32_t w[] = { 1, 2, 3, 0 };
	struct svc *a = mk_svc_p("twos", 0, 0, 90), *b;
	int seq[200];

	for (uint32_t i = 0; i < 4; i++)
		mk_dest(a, i, w[i]);
	assert_int_equal(svc_commit(tbl, a), 0);
	/* connections that never close: two weighted choices keep the
	 * active counts close to 1:2:3 */
	for (int i = 0; i < 600; i++) {
		int got = pick0(a);
		assert_true(got >= 0 && got < 3);
		D(a, (uint32_t)got)->activeconns++;
	}
	print_message("twos 1:2:3 after 600: %u %u %u\n", D(a, 0)->activeconns,
		      D(a, 1)->activeconns, D(a, 2)->activeconns);
	assert_in_range(D(a, 0)->activeconns, 80, 120);
	assert_in_range(D(a, 1)->activeconns, 180, 220);
	assert_in_range(D(a, 2)->activeconns, 280, 320);

	/* reproducible: a fresh table with the same service repeats it */
	struct svc_table *t2 = svc_table_new(), *saved = tbl;
	assert_non_null(t2);
	tbl = t2;
	b = mk_svc_p("twos", 0, 0, 90);
	for (uint32_t i = 0; i < 4; i++)
		mk_dest(b, i, w[i]);
	assert_int_equal(svc_commit(tbl, b), 0);
	for (int i = 0; i < 200; i++)
		seq[i] = pick0(b);
	svc_table_free(t2);
	tbl = t2 = svc_table_new();
	b = mk_svc_p("twos", 0, 0, 90);
	for (uint32_t i = 0; i < 4; i++)
		mk_dest(b, i, w[i]);
	assert_int_equal(svc_commit(tbl, b), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(pick0(b), seq[i]);
	svc_table_free(t2);
	tbl = saved;

	/* with equal loads, the draw is weighted: counts ~ 1:2:3 of 6+1 */
	unsigned count[4] = { 0 };
	for (uint32_t i = 0; i < 3; i++)
		set_conns(a, i, 0, 0);
	for (int i = 0; i < 7000; i++)
		count[pick0(a)]++;
	assert_int_equal(count[3], 0);
	/* choice 2 only wins when strictly less loaded: here never, so the
	 * first draw decides: (1+1)/7, 2/7, 3/7 (r = 0 lands on the first) */
	assert_in_range(count[0], 1700, 2300);
	assert_in_range(count[1], 1700, 2300);
	assert_in_range(count[2], 2700, 3300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rr_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrr_432, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrr_gcd_and_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wlc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ovf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrr_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lc_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wlc_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sed_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nq_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rr_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lblc_differential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lblc_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lblc_cache_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lblcr_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sh_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mh_distribution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mh_disruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mh_quiesce_and_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mh_port_and_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_twos, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
