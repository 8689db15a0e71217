/* Unit tests for VRRPv2 AH authentication (vrrp_pkt.c): two golden adverts
 * captured with tcpdump from keepalived 2.2.7 (VRID 77, priority 150,
 * advert_int 1, VIP 10.77.0.100, auth_type AH, auth_pass s3cret, sent from
 * 10.77.0.1 to 224.0.0.18, IP IDs 1 and 2, sequence numbers 1 and 2).  Our
 * decoder must accept them and our encoder reproduce them byte for byte;
 * then every AH rejection: wrong key, tampered payload, TTL change,
 * SPI not the source, replayed or older sequence numbers, AH/auth-type
 * mismatches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/addr.h"
#include "core/packet.h"
#include "testutil.h"
#include "vrrp/vrrp_pkt.h"

static const char *const golden_hex[2] = {
	"45c0004000010000ff33d0690a4d0001e0000012700400000a4d000100000001"
	"303865c1ef39f4fe86a51de5214d960102013bff0a4d00640000000000000000",
	"45c0004000020000ff33d0680a4d0001e0000012700400000a4d000100000002"
	"76fc52c31c562f58db62df98214d960102013bff0a4d00640000000000000000",
};

static const uint8_t key[VRRP_AUTH_LEN] = "s3cret"; /* NUL padded to 8 */

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtoul((char[]){ h[0], h[1], 0 }, NULL, 16);
	return n;
}

static size_t golden(int i, uint8_t *out)
{
	return unhex(golden_hex[i], out);
}

static struct vrrp_pkt_expect expect(uint8_t auth_type, const union ulvs_addr *vip)
{
	struct vrrp_pkt_expect e = { .version = 2, .vrid = 77, .af = ULVS_AF_INET,
				     .auth_type = auth_type, .adv_int_cs = 100,
				     .addrs = vip, .naddr = 1 };
	return e;
}

static void test_decode_golden(void **state)
{
	uint8_t b[128];
	struct vrrp_rx_meta m;
	static struct vrrp_pkt p;
	union ulvs_addr vip = taddr("10.77.0.100");

	for (int i = 0; i < 2; i++) {
		size_t n = golden(i, b);
		assert_int_equal(n, 64);
		assert_int_equal(vrrp_pkt_decode_ip4(b, n, &m, &p), VRRP_OK);
		assert_true(p.ah);
		assert_int_equal(p.ah_seq, (uint32_t)i + 1);
		union ulvs_addr src = taddr("10.77.0.1");
		assert_memory_equal(&p.ah_spi, &src.ip, 4);
		assert_true(addr_eq(&m.src, &src));
		assert_int_equal(p.version, 2);
		assert_int_equal(p.vrid, 77);
		assert_int_equal(p.prio, 150);
		assert_int_equal(p.auth_type, VRRP_AUTHT_AH);
		assert_int_equal(p.adv_int_cs, 100);
		assert_int_equal(p.naddr, 1);
		assert_true(addr_eq(&p.addrs[0], &vip));
		struct vrrp_pkt_expect e = expect(VRRP_AUTHT_AH, &vip);
		assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_OK);
		assert_int_equal(vrrp_ah_verify(b, n, key, false), VRRP_OK);
		/* an instance configured for PASS or NONE refuses it */
		e = expect(VRRP_AUTHT_PASS, &vip);
		memcpy(e.auth, key, sizeof(key));
		assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_TYPE);
		e = expect(VRRP_AUTHT_NONE, &vip);
		assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_TYPE);
	}
}

static void test_encode_reproduces_keepalived(void **state)
{
	uint8_t want[128], got[VRRP_PKT_MAX];
	static struct vrrp_pkt p;
	union ulvs_addr src = taddr("10.77.0.1"), dst = taddr("224.0.0.18");

	memset(&p, 0, sizeof(p));
	p.version = 2;
	p.type = VRRP_TYPE_ADVERT;
	p.vrid = 77;
	p.prio = 150;
	p.af = ULVS_AF_INET;
	p.auth_type = VRRP_AUTHT_AH;
	p.adv_int_cs = 100;
	p.naddr = 1;
	p.addrs[0] = taddr("10.77.0.100");
	for (int i = 0; i < 2; i++) {
		size_t n = golden(i, want);
		int r = vrrp_pkt_encode_ip4_ah(&p, &src, &dst, (uint16_t)(i + 1), (uint32_t)i + 1, key,
					       false, got, sizeof(got));
		assert_int_equal(r, (int)n);
		assert_memory_equal(got, want, n);
		uint8_t icv[VRRP_AH_ICV_LEN];
		assert_int_equal(vrrp_ah_icv(want, n, key, false, icv), 0);
		assert_memory_equal(icv, want + VRRP_IP4_HDR_LEN + 12, VRRP_AH_ICV_LEN);
	}
	/* an IP ID of 0 would be rewritten by the kernel after the ICV */
	assert_int_equal(vrrp_pkt_encode_ip4_ah(&p, &src, &dst, 0, 1, key, false, got, sizeof(got)),
			 -EINVAL);
	p.auth_type = VRRP_AUTHT_PASS;
	assert_int_equal(vrrp_pkt_encode_ip4_ah(&p, &src, &dst, 1, 1, key, false, got, sizeof(got)),
			 -EINVAL);
	p.auth_type = VRRP_AUTHT_AH;
	assert_int_equal(vrrp_pkt_encode_ip4_ah(&p, &src, &dst, 1, 1, key, false, got, 50), -ENOSPC);
}

static void test_icv_rejections(void **state)
{
	uint8_t b[128], t[128];
	size_t n = golden(0, b);

	/* wrong password */
	static const uint8_t bad[VRRP_AUTH_LEN] = "s3crex";
	assert_int_equal(vrrp_ah_verify(b, n, bad, false), VRRP_DROP_AH_ICV);
	/* priority raised on the way: ICV no longer matches */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + VRRP_AH_LEN + 2] = 255;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_ICV);
	/* a flipped ICV bit, in its last byte (all 96 bits are compared) */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + 12 + VRRP_AH_ICV_LEN - 1] ^= 1;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_ICV);
	/* the sequence number is covered: a replay cannot renumber itself */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + 11] = 9;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_ICV);
	/* mutable fields (TOS, flags, checksum) are outside the ICV */
	memcpy(t, b, n);
	t[1] = 0x10;
	t[6] = 0x40;
	t[10] ^= 0xff;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_OK);
	/* TTL is inside it for multicast, outside for unicast (keepalived) */
	memcpy(t, b, n);
	t[8] = 254;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_ICV);
	uint8_t icv[VRRP_AH_ICV_LEN];
	assert_int_equal(vrrp_ah_icv(b, n, key, true, icv), 0);
	memcpy(t + VRRP_IP4_HDR_LEN + 12, icv, sizeof(icv));
	assert_int_equal(vrrp_ah_verify(t, n, key, true), VRRP_OK);
	/* SPI other than the source, with an otherwise valid ICV */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + 7] = 2;
	assert_int_equal(vrrp_ah_icv(t, n, key, false, icv), 0);
	memcpy(t + VRRP_IP4_HDR_LEN + 12, icv, sizeof(icv));
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_SPI);
	/* not an AH datagram, or truncated: never "valid" */
	memcpy(t, b, n);
	t[9] = VRRP_PROTO;
	assert_int_equal(vrrp_ah_verify(t, n, key, false), VRRP_DROP_AH_ICV);
	assert_int_equal(vrrp_ah_verify(b, 40, key, false), VRRP_DROP_AH_ICV);
}

static void test_replay(void **state)
{
	uint8_t b[2][128];
	size_t n0 = golden(0, b[0]), n1 = golden(1, b[1]);
	struct vrrp_rx_meta m;
	static struct vrrp_pkt p;
	uint32_t last = 0;

	assert_int_equal(vrrp_pkt_decode_ip4(b[0], n0, &m, &p), VRRP_OK);
	assert_true(vrrp_ah_seq_accept(&last, p.ah_seq));
	assert_int_equal(last, 1);
	/* the same advert again: a replay */
	assert_false(vrrp_ah_seq_accept(&last, p.ah_seq));
	assert_int_equal(vrrp_pkt_decode_ip4(b[1], n1, &m, &p), VRRP_OK);
	assert_true(vrrp_ah_seq_accept(&last, p.ah_seq));
	/* older ones after a newer: dropped, the counter stays */
	assert_false(vrrp_ah_seq_accept(&last, 1));
	assert_false(vrrp_ah_seq_accept(&last, 0));
	assert_int_equal(last, 2);
	assert_true(vrrp_ah_seq_accept(&last, 1000));
	assert_false(vrrp_ah_seq_accept(&last, 999));
}

static void test_framing(void **state)
{
	uint8_t b[128], t[128];
	size_t n = golden(0, b);
	struct vrrp_rx_meta m;
	static struct vrrp_pkt p;
	union ulvs_addr vip = taddr("10.77.0.100");

	/* AH carrying something other than VRRP, or another ICV size */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN] = 6;
	assert_int_equal(vrrp_pkt_decode_ip4(t, n, &m, &p), VRRP_DROP_BAD_IP);
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + 1] = 5;
	assert_int_equal(vrrp_pkt_decode_ip4(t, n, &m, &p), VRRP_DROP_BAD_IP);
	/* AH header cut short */
	memcpy(t, b, n);
	t[3] = 40;
	assert_int_equal(vrrp_pkt_decode_ip4(t, 40, &m, &p), VRRP_DROP_SHORT);
	/* an AH header but auth type PASS in the advert: mismatch */
	memcpy(t, b, n);
	t[VRRP_IP4_HDR_LEN + VRRP_AH_LEN + 4] = VRRP_AUTHT_PASS;
	t[VRRP_IP4_HDR_LEN + VRRP_AH_LEN + 6] = t[VRRP_IP4_HDR_LEN + VRRP_AH_LEN + 7] = 0;
	uint16_t c = csum_fold(csum_partial(t + VRRP_IP4_HDR_LEN + VRRP_AH_LEN, 20, 0));
	memcpy(t + VRRP_IP4_HDR_LEN + VRRP_AH_LEN + 6, &c, 2);
	assert_int_equal(vrrp_pkt_decode_ip4(t, n, &m, &p), VRRP_OK);
	struct vrrp_pkt_expect e = expect(VRRP_AUTHT_PASS, &vip);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_TYPE);
	/* auth type AH in a plain (protocol 112) advert: mismatch too */
	uint8_t plain[64];
	memcpy(plain, b, VRRP_IP4_HDR_LEN);
	memcpy(plain + VRRP_IP4_HDR_LEN, b + VRRP_IP4_HDR_LEN + VRRP_AH_LEN, 20);
	plain[9] = VRRP_PROTO;
	plain[3] = 40;
	assert_int_equal(vrrp_pkt_decode_ip4(plain, 40, &m, &p), VRRP_OK);
	assert_false(p.ah);
	e = expect(VRRP_AUTHT_AH, &vip);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_golden),
		cmocka_unit_test(test_encode_reproduces_keepalived),
		cmocka_unit_test(test_icv_rejections),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
