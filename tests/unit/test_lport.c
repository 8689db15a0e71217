/* FULLNAT local port pool: alloc/release FIFO, and lport_take (a backup
 * reserving the port its master chose) checked against a reference model:
 * a plain bitmap of ports in use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/constants.h"
#include "core/lport.h"

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

static void test_take_basic(void **st)
{
	struct lport_pool *lp = lport_pool_new(1);
	uint16_t p;

	assert_int_equal(lport_take(lp, be16(5000)), 0);
	assert_int_equal(lport_in_use(lp), 1);
	assert_int_equal(lport_take(lp, be16(5000)), -EBUSY);
	assert_int_equal(lport_take(lp, be16(ULVS_LPORT_MIN - 1)), -EINVAL);
	/* alloc never hands out a taken port */
	for (uint32_t i = 0; i < ULVS_LPORT_MAX - ULVS_LPORT_MIN; i++) {
		assert_int_equal(lport_alloc(lp, &p), 0);
		assert_int_not_equal(p, be16(5000));
	}
	assert_int_equal(lport_alloc(lp, &p), -ENOSPC);
	/* released, it can be taken again */
	lport_release(lp, be16(5000));
	assert_int_equal(lport_bad_releases(lp), 0);
	assert_int_equal(lport_take(lp, be16(5000)), 0);
	assert_int_equal(lport_alloc(lp, &p), -ENOSPC);
	lport_pool_free(lp);
}

/* Random alloc / take / release against the bitmap model. */
static void test_take_random(void **st)
{
	struct lport_pool *lp = lport_pool_new(7);
	static uint8_t model[65536];
	uint64_t x = 12345;
	uint32_t used = 0;

	for (int i = 0; i < 200000; i++) {
		uint16_t port, p;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		port = (uint16_t)(ULVS_LPORT_MIN + (x >> 33) % (ULVS_LPORT_MAX - ULVS_LPORT_MIN + 1));
		switch ((x >> 20) % 3) {
		case 0:
			if (lport_alloc(lp, &p) == 0) {
				uint16_t h = be16(p);
				assert_int_equal(model[h], 0);
				model[h] = 1;
				used++;
			} else {
				assert_int_equal(used, ULVS_LPORT_MAX - ULVS_LPORT_MIN + 1);
			}
			break;
		case 1:
			assert_int_equal(lport_take(lp, be16(port)), model[port] ? -EBUSY : 0);
			if (!model[port])
				used++;
			model[port] = 1;
			break;
		default:
			lport_release(lp, be16(port));
			if (model[port])
				used--;
			model[port] = 0;
			break;
		}
		assert_int_equal(lport_in_use(lp), used);
	}
	lport_pool_free(lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_basic),
		cmocka_unit_test(test_take_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
