/* Unit tests for core/addr.c: prefix masks and matches at every length
 * against a bit-by-bit reference, and text round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>

#include "core/addr.h"
#include "testutil.h"

/* Reference: bit i of the address, most significant bit of byte 0 first. */
static int bit_of(const union ulvs_addr *a, unsigned i)
{
	return (a->b[i / 8] >> (7 - i % 8)) & 1;
}

static void test_mask_every_length(void **state)
{
	union ulvs_addr a = taddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	for (unsigned plen = 0; plen <= 130; plen++) {
		union ulvs_addr m = addr_mask(ULVS_AF_INET6, &a, plen);
		for (unsigned i = 0; i < 128; i++)
			assert_int_equal(bit_of(&m, i), i < plen ? bit_of(&a, i) : 0);
	}
	union ulvs_addr v4 = taddr("255.255.255.255");
	for (unsigned plen = 0; plen <= 40; plen++) {
		union ulvs_addr m = addr_mask(ULVS_AF_INET, &v4, plen);
		for (unsigned i = 0; i < 128; i++)
			assert_int_equal(bit_of(&m, i), i < plen && i < 32 ? 1 : 0);
	}
	union ulvs_addr x = taddr("10.1.2.3");
	union ulvs_addr m24 = addr_mask(ULVS_AF_INET, &x, 24);
	union ulvs_addr want = taddr("10.1.2.0");
	assert_true(addr_eq(&m24, &want));
}

static void test_prefix_match_random(void **state)
{
	srand(7);
	for (int it = 0; it < 2000; it++) {
		union ulvs_addr a, b;
		for (int i = 0; i < 16; i++)
			a.b[i] = (uint8_t)rand();
		b = a;
		unsigned flip = (unsigned)rand() % 128;
		b.b[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
		for (unsigned plen = 0; plen <= 128; plen++)
			assert_int_equal(addr_prefix_match(ULVS_AF_INET6, &a, &b, plen), plen <= flip);
		/* IPv4 only looks at the first 32 bits, whatever plen says. */
		assert_int_equal(addr_prefix_match(ULVS_AF_INET, &a, &b, 64), flip >= 32);
	}
}

static void test_parse_format(void **state)
{
	enum ulvs_af af;
	union ulvs_addr a;
	char buf[64];

	assert_int_equal(addr_parse("192.168.1.20", &af, &a), 0);
	assert_int_equal(af, ULVS_AF_INET);
	assert_int_equal(a.b[0], 192);
	assert_int_equal(a.b[3], 20);
	assert_int_equal(a.ip6[1] | a.ip6[2] | a.ip6[3], 0);
	assert_string_equal(addr_format(af, &a, buf, sizeof(buf)), "192.168.1.20");

	assert_int_equal(addr_parse("2001:DB8::1", &af, &a), 0);
	assert_int_equal(af, ULVS_AF_INET6);
	assert_int_equal(a.b[0], 0x20);
	assert_int_equal(a.b[15], 1);
	assert_string_equal(addr_format(af, &a, buf, sizeof(buf)), "2001:db8::1");

	assert_int_equal(addr_parse("::ffff:10.0.0.1", &af, &a), 0);
	assert_int_equal(af, ULVS_AF_INET6);
	assert_int_equal(a.b[12], 10);

	const char *bad[] = { "", "1.2.3", "1.2.3.256", "10.1", "1.2.3.4 ", "2001:db8:::1",
			      "hello", "1:2:3:4:5:6:7:8:9", "-1.0.0.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_parse(bad[i], &af, &a), -EINVAL);
	assert_int_equal(addr_parse(NULL, &af, &a), -EINVAL);

	/* Unknown family and a too-small buffer still give a terminated string. */
	assert_string_equal(addr_format(ULVS_AF_NONE, &a, buf, sizeof(buf)), "?");
	char small[4] = "xxx";
	addr_format(ULVS_AF_INET6, &a, small, sizeof(small));
	assert_true(memchr(small, '\0', sizeof(small)) != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_every_length),
		cmocka_unit_test(test_prefix_match_random),
		cmocka_unit_test(test_parse_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
