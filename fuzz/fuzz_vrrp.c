/* libFuzzer harness for the VRRP advert decoder (vrrp/vrrp_pkt.c).
 *
 * The first input byte picks the path a received packet takes: an IPv4
 * datagram as the raw socket hands it over (vrrp_pkt_decode_ip4), or an
 * IPv6 payload with addresses and hop limit taken from the next 33 bytes.
 * A packet that decodes must then survive instance checks against a few
 * expectations, and re-encode to the same bytes whenever it has the
 * canonical length (the encoder is the decoder's inverse) - a violation
 * aborts, which libFuzzer reports.
 *   meson setup build-fuzz -Dfuzz=true (CC=clang); build-fuzz/fuzz/fuzz_vrrp
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vrrp/vrrp_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vrrp_pkt pkt;

static void roundtrip(const uint8_t *msg, size_t len, const struct vrrp_rx_meta *m)
{
	static uint8_t out[VRRP_PKT_MAX];
	size_t alen = m->af == ULVS_AF_INET6 ? 16 : 4;
	size_t canon = VRRP_HDR_LEN + pkt.naddr * alen + (pkt.version == 2 ? VRRP_AUTH_LEN : 0);

	union ulvs_addr vips[2] = { pkt.naddr ? pkt.addrs[0] : m->src, m->dst };
	for (int i = 0; i < 4; i++) {
		struct vrrp_pkt_expect e = { .version = pkt.version, .vrid = pkt.vrid, .af = m->af,
					     .csum = (enum vrrp_csum_mode)(i & 1),
					     .auth_type = pkt.auth_type, .adv_int_cs = 100,
					     .skip_addr_check = i >= 2, .addrs = vips,
					     .naddr = (unsigned)(i & 1) + 1 };
		memcpy(e.auth, pkt.auth, sizeof(e.auth));
		enum vrrp_drop d = vrrp_pkt_check(&pkt, &e);
		if ((unsigned)d >= VRRP_DROP_MAX)
			abort();
	}
	/* Reserved bits and nonzero v2 NONE auth data do not survive a
	 * round trip; everything else must. */
	if (len != canon || (pkt.version == 3 && (msg[4] & 0xf0)))
		return;
	if (pkt.version == 2 && pkt.auth_type != VRRP_AUTHT_PASS)
		return;
	enum vrrp_csum_mode mode = (pkt.csum_ok & VRRP_CSUM_OK_PSEUDO) ? VRRP_CSUM_PSEUDO
									: VRRP_CSUM_PLAIN;
	int n = vrrp_pkt_encode(&pkt, &m->src, &m->dst, mode, out, sizeof(out));
	if (n < 0) {
		/* Only values the decoder accepts but the encoder refuses to
		 * produce: a v2 interval of 0 s, a v3 interval of 0, VRID 0. */
		if (pkt.vrid == 0 || pkt.adv_int_cs == 0)
			return;
		abort();
	}
	if ((size_t)n != len)
		abort();
	/* The checksum of a valid message may legitimately differ only in
	 * its one's-complement zero (0x0000 vs 0xffff). */
	if (memcmp(out, msg, 6) || memcmp(out + 8, msg + 8, len - 8))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vrrp_rx_meta m;

	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		if (vrrp_pkt_decode_ip4(data + 1, size - 1, &m, &pkt) != VRRP_OK)
			return 0;
		const uint8_t *ip = data + 1;
		unsigned ihl = (ip[0] & 0x0f) * 4u, tot = (unsigned)ip[2] << 8 | ip[3];
		roundtrip(ip + ihl, tot - ihl, &m);
		return 0;
	}
	if (size < 34)
		return 0;
	memset(&m, 0, sizeof(m));
	m.af = ULVS_AF_INET6;
	m.ttl = data[1];
	memcpy(m.src.b, data + 2, 16);
	memcpy(m.dst.b, data + 18, 16);
	if (vrrp_pkt_decode(data + 34, size - 34, &m, &pkt) == VRRP_OK)
		roundtrip(data + 34, size - 34, &m);
	return 0;
}
