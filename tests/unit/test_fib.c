/* Unit tests for core/fib.c: longest-prefix match against a bit-by-bit
 * reference, the neighbour hash filled to the brim, and fib_resolve's
 * gateway / on-link / missing-neighbour answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>

#include "core/fib.h"
#include "testutil.h"

static struct fib F;

static int setup(void **state)
{
	fib_init(&F);
	return 0;
}

static void test_ifaces(void **state)
{
	struct ulvs_mac m = tmac("02:00:00:00:00:01");
	assert_int_equal(fib_add_iface(&F, "eth0", &m, 1500, 7), 0);
	assert_int_equal(fib_add_iface(&F, "a-name-longer-than-fifteen", &m, 9000, 8), 1);
	assert_string_equal(F.ifaces[0].name, "eth0");
	assert_int_equal(strlen(F.ifaces[1].name), 15);
	assert_int_equal(F.ifaces[1].id, 1);
	assert_int_equal(F.ifaces[1].mtu, 9000);
	for (unsigned i = 2; i < ULVS_MAX_IFACES; i++)
		assert_int_equal(fib_add_iface(&F, "x", &m, 1500, i), (int)i);
	assert_int_equal(fib_add_iface(&F, "x", &m, 1500, 99), -ENOSPC);

	assert_null(fib_iface_addr(&F, 0, ULVS_AF_INET));
	F.ifaces[0].addr4 = taddr("10.0.0.1");
	F.ifaces[0].has_addr4 = 1;
	F.ifaces[0].addr6 = taddr("2001:db8::1");
	F.ifaces[0].has_addr6 = 1;
	assert_true(addr_eq(fib_iface_addr(&F, 0, ULVS_AF_INET), &F.ifaces[0].addr4));
	assert_true(addr_eq(fib_iface_addr(&F, 0, ULVS_AF_INET6), &F.ifaces[0].addr6));
	assert_null(fib_iface_addr(&F, 1, ULVS_AF_INET6));
	assert_null(fib_iface_addr(&F, ULVS_MAX_IFACES, ULVS_AF_INET));
}

/* The reference: the longest plen whose first plen bits equal dst's. */
static int horrible_lpm(const struct fib_route *rt, const unsigned *plens, unsigned n,
			const union ulvs_addr *dst)
{
	int best = -1;
	for (unsigned i = 0; i < n; i++) {
		unsigned b;
		for (b = 0; b < plens[i]; b++) {
			int x = (rt[i].prefix.b[b / 8] >> (7 - b % 8)) & 1;
			int y = (dst->b[b / 8] >> (7 - b % 8)) & 1;
			if (x != y)
				break;
		}
		if (b == plens[i] && (best < 0 || plens[i] > plens[best]))
			best = (int)i;
	}
	return best;
}

static void test_lpm_random(void **state)
{
	struct ulvs_mac m = tmac("02:00:00:00:00:01");
	static struct fib_route ref[200];
	unsigned plens[200], n = 0;

	fib_add_iface(&F, "eth0", &m, 1500, 1);
	fib_add_iface(&F, "eth1", &m, 1500, 2);
	srand(11);
	/* Prefixes from a small bit space so they nest and collide often. */
	while (n < 200) {
		union ulvs_addr p = { .q = { 0, 0 } };
		unsigned plen = (unsigned)rand() % 129;
		p.b[0] = (uint8_t)(0x20 | (rand() & 3));
		p.b[1] = (uint8_t)(rand() & 0xc0);
		p.b[15] = (uint8_t)rand();
		union ulvs_addr mp = addr_mask(ULVS_AF_INET6, &p, plen);
		int dup = 0;
		for (unsigned i = 0; i < n; i++)
			dup |= plens[i] == plen && addr_eq(&ref[i].prefix, &mp);
		assert_int_equal(fib_add_route(&F, ULVS_AF_INET6, &p, plen, NULL, (uint16_t)(n & 1)), 0);
		if (dup)
			continue; /* replaced, same prefix: the reference needs it once */
		ref[n].prefix = mp;
		plens[n++] = plen;
	}
	assert_int_equal(F.n_routes, 200);
	for (int it = 0; it < 5000; it++) {
		union ulvs_addr d = { .q = { 0, 0 } };
		d.b[0] = (uint8_t)(0x20 | (rand() & 3));
		d.b[1] = (uint8_t)rand();
		d.b[15] = (uint8_t)rand();
		const struct fib_route *r = fib_find_route(&F, ULVS_AF_INET6, &d);
		int want = horrible_lpm(ref, plens, n, &d);
		if (want < 0) {
			assert_null(r);
		} else {
			assert_non_null(r);
			assert_int_equal(r->plen, plens[want]);
			assert_true(addr_eq(&r->prefix, &ref[want].prefix));
		}
		/* An IPv6 table says nothing about IPv4. */
		assert_null(fib_find_route(&F, ULVS_AF_INET, &d));
	}
}

static void test_route_basics(void **state)
{
	struct ulvs_mac m = tmac("02:00:00:00:00:01");
	union ulvs_addr p = taddr("10.1.2.3"), gw = taddr("10.0.0.254"), d;

	fib_add_iface(&F, "eth0", &m, 1500, 1);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &p, 33, NULL, 0), -EINVAL);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &p, 8, NULL, 1), -EINVAL);
	assert_int_equal(fib_add_route(&F, ULVS_AF_NONE, &p, 8, NULL, 0), -EINVAL);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &p, 24, NULL, 0), 0);
	/* stored masked */
	d = taddr("10.1.2.0");
	assert_true(addr_eq(&F.routes[0].prefix, &d));
	/* same prefix again: replaced, not duplicated */
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &p, 24, &gw, 0), 0);
	assert_int_equal(F.n_routes, 1);
	assert_true(addr_eq(&F.routes[0].gateway, &gw));
	d = taddr("0.0.0.0");
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &d, 0, &gw, 0), 0);
	d = taddr("10.1.2.200");
	assert_int_equal(fib_find_route(&F, ULVS_AF_INET, &d)->plen, 24);
	d = taddr("10.1.3.1");
	assert_int_equal(fib_find_route(&F, ULVS_AF_INET, &d)->plen, 0);
	for (unsigned i = F.n_routes; i < ULVS_MAX_ROUTES; i++) {
		union ulvs_addr q = addr_v4(((uint32_t)i << 8) | 0x0b);
		assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &q, 32, NULL, 0), 0);
	}
	d = taddr("12.0.0.0");
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &d, 8, NULL, 0), -ENOSPC);
}

static void test_neigh_fill(void **state)
{
	struct ulvs_mac m = tmac("02:00:00:00:00:01");
	fib_add_iface(&F, "eth0", &m, 1500, 1);
	fib_add_iface(&F, "eth1", &m, 1500, 2);

	/* Consecutive IPv4 addresses: the worst case for a weak hash. */
	for (uint32_t i = 0; i < ULVS_MAX_NEIGHS; i++) {
		union ulvs_addr a = addr_v4(__builtin_bswap32(0x0a000000u + i));
		struct ulvs_mac mm = { { 2, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 9 } };
		assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &a, &mm, (uint16_t)(i & 1)), 0);
	}
	assert_int_equal(F.n_neighs, ULVS_MAX_NEIGHS);
	for (uint32_t i = 0; i < ULVS_MAX_NEIGHS; i++) {
		union ulvs_addr a = addr_v4(__builtin_bswap32(0x0a000000u + i));
		const struct fib_neigh *n = fib_find_neigh(&F, ULVS_AF_INET, &a);
		assert_non_null(n);
		assert_int_equal(n->mac.b[4], (uint8_t)i);
		assert_int_equal(n->mac.b[3], (uint8_t)(i >> 8));
		assert_int_equal(n->iface, i & 1);
	}
	/* full: a new one is refused, an update still works, a miss terminates */
	union ulvs_addr x = taddr("192.0.2.1"), y = addr_v4(__builtin_bswap32(0x0a000005u));
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &x, &m, 0), -ENOSPC);
	assert_null(fib_find_neigh(&F, ULVS_AF_INET, &x));
	struct ulvs_mac m2 = tmac("02:aa:bb:cc:dd:ee");
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &y, &m2, 1), 0);
	assert_int_equal(F.n_neighs, ULVS_MAX_NEIGHS);
	assert_memory_equal(fib_find_neigh(&F, ULVS_AF_INET, &y)->mac.b, m2.b, 6);
	/* Same bytes, other family: a different key. */
	assert_null(fib_find_neigh(&F, ULVS_AF_INET6, &y));
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &x, &m, 5), -EINVAL);
}

static void test_resolve(void **state)
{
	struct ulvs_mac m0 = tmac("02:00:00:00:00:01"), m1 = tmac("02:00:00:00:01:01");
	struct ulvs_mac gwmac = tmac("02:99:00:00:00:fe"), rsmac = tmac("02:55:00:00:00:05");
	struct fib_nexthop nh;
	union ulvs_addr net = taddr("192.168.10.0"), any = taddr("0.0.0.0");
	union ulvs_addr gw = taddr("203.0.113.1"), rs = taddr("192.168.10.5");
	union ulvs_addr client = taddr("198.51.100.7"), rs2 = taddr("192.168.10.6");

	assert_int_equal(fib_add_iface(&F, "lan", &m0, 1500, 3), 0);
	assert_int_equal(fib_add_iface(&F, "wan", &m1, 1400, 4), 1);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &rs, &nh), -ENETUNREACH);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &net, 24, NULL, 0), 0);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET, &any, 0, &gw, 1), 0);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &rs, &nh), -EHOSTUNREACH);
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &rs, &rsmac, 0), 0);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &rs, &nh), 0);
	assert_int_equal(nh.iface, 0);
	assert_memory_equal(nh.src.b, m0.b, 6);
	assert_memory_equal(nh.dst.b, rsmac.b, 6);
	assert_int_equal(nh.mtu, 1500);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &rs2, &nh), -EHOSTUNREACH);

	/* Off link: the gateway's MAC, not the client's (which is unknown). */
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &client, &nh), -EHOSTUNREACH);
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET, &gw, &gwmac, 1), 0);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET, &client, &nh), 0);
	assert_int_equal(nh.iface, 1);
	assert_memory_equal(nh.src.b, m1.b, 6);
	assert_memory_equal(nh.dst.b, gwmac.b, 6);
	assert_int_equal(nh.mtu, 1400);

	/* IPv6 on link */
	union ulvs_addr n6 = taddr("2001:db8:10::"), r6 = taddr("2001:db8:10::5");
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET6, &r6, &nh), -ENETUNREACH);
	assert_int_equal(fib_add_route(&F, ULVS_AF_INET6, &n6, 64, NULL, 0), 0);
	assert_int_equal(fib_add_neigh(&F, ULVS_AF_INET6, &r6, &rsmac, 0), 0);
	assert_int_equal(fib_resolve(&F, ULVS_AF_INET6, &r6, &nh), 0);
	assert_memory_equal(nh.dst.b, rsmac.b, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ifaces, setup),
		cmocka_unit_test_setup(test_route_basics, setup),
		cmocka_unit_test_setup(test_lpm_random, setup),
		cmocka_unit_test_setup(test_neigh_fill, setup),
		cmocka_unit_test_setup(test_resolve, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
