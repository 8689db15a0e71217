/* Unit tests for core/packet.c.
 *
 * Frames come from three places: tpkt_build() (testutil.c, written apart from
 * the parser), a small frame writer below for the odd cases (options, IPv6
 * extension chains, fragments, ICMP errors), and byte arrays produced once by
 * scapy, so the parser is also checked against a third, independent encoder.
 * Every parse runs on a heap copy of exactly the frame's length, so under
 * ASan any read past the end is caught.  Checksum helpers are compared with
 * a plain big-endian RFC 1071 reference on random data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/constants.h"
#include "core/packet.h"
#include "testutil.h"

/* Generated with scapy 2.x (see the comment above each), never edited. */
/* Ether / Dot1Q / IP / ICMP 192.0.2.9 > 10.0.0.1 dest-unreach port-unreachable / Raw */
static const uint8_t raw_icmp4_unreach_udp[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x81, 0x00, 0xa0, 0x2a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x38, 0x00, 0x01,
	0x00, 0x00, 0x3c, 0x01, 0xb2, 0xba, 0xc0, 0x00, 0x02, 0x09, 0x0a, 0x00,
	0x00, 0x01, 0x03, 0x03, 0x32, 0xb2, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00,
	0x00, 0x44, 0x00, 0x07, 0x00, 0x00, 0x40, 0x11, 0xae, 0x98, 0x0a, 0x00,
	0x00, 0x01, 0xc0, 0x00, 0x02, 0x09, 0x14, 0xe9, 0x00, 0x35, 0x00, 0x30,
	0xb4, 0xfc,
};
/* Ether / IPv6 / IPv6ExtHdrHopByHop / IPv6ExtHdrDestOpt / IPv6ExtHdrRouting / IPv6ExtHdrFragment / TCP 40000 > https S / Raw */
static const uint8_t raw_ip6_ext_frag_tcp[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x21, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x2b, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99, 0x06, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x12, 0x34, 0x9c, 0x40, 0x01, 0xbb, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0x20, 0x00, 0xb0, 0x84,
	0x00, 0x00, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79, 0x79,
};
/* Ether / 2001:db8::fe > 2001:db8::2 (58) / ICMPv6PacketTooBig / Raw */
static const uint8_t raw_icmp6_ptb_tcp[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x3a, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x8b, 0x02, 0x00, 0x00,
	0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x05, 0x8c, 0x06, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0xbb, 0x9c, 0x40, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x12, 0x20, 0x00, 0xaa, 0x03,
	0x00, 0x00, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
	0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
	0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
	0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
};

static uint16_t be16(uint16_t h)
{
	return (uint16_t)((h >> 8) | (h << 8));
}

/* Big-endian RFC 1071 sum, folded, not complemented: the reference. */
static uint16_t ref_sum(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A raw (memory order) 16-bit value read as big-endian. */
static uint16_t raw_be(uint16_t raw)
{
	uint8_t b[2];
	memcpy(b, &raw, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* --- a frame writer for the cases tpkt_build does not make ----------------- */

struct fw {
	uint8_t b[2048];
	uint32_t n;
	uint32_t ip; /* offset of the IP header fw_done() finishes */
	int v6;
};

static void fw_put(struct fw *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void fw_put16(struct fw *f, uint16_t v)
{
	wr16(f->b + f->n, v);
	f->n += 2;
}

static void fw_zero(struct fw *f, uint32_t n)
{
	memset(f->b + f->n, 0, n);
	f->n += n;
}

static void fw_eth(struct fw *f, uint16_t vlan_tci, uint16_t et)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	memset(f, 0, sizeof(*f));
	fw_put(f, macs, 12);
	if (vlan_tci) {
		fw_put16(f, ETHERTYPE_VLAN_);
		fw_put16(f, vlan_tci);
	}
	fw_put16(f, et);
}

/* IPv4 header; options are optlen bytes of NOP. */
static void fw_ip4(struct fw *f, uint8_t proto, const char *s, const char *d, uint16_t frag,
		   unsigned optlen)
{
	uint8_t *h = f->b + f->n;
	union ulvs_addr sa = taddr(s), da = taddr(d);
	f->ip = f->n;
	f->v6 = 0;
	memset(h, 0, 20);
	h[0] = (uint8_t)(0x40 | (5 + optlen / 4));
	wr16(h + 4, 0x1234);
	wr16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, &sa.ip, 4);
	memcpy(h + 16, &da.ip, 4);
	memset(h + 20, 1, optlen);
	f->n += 20 + optlen;
}

static void fw_ip6(struct fw *f, uint8_t nh, const char *s, const char *d)
{
	uint8_t *h = f->b + f->n;
	union ulvs_addr sa = taddr(s), da = taddr(d);
	f->ip = f->n;
	f->v6 = 1;
	memset(h, 0, 40);
	h[0] = 0x60;
	h[6] = nh;
	h[7] = 64;
	memcpy(h + 8, sa.b, 16);
	memcpy(h + 24, da.b, 16);
	f->n += 40;
}

/* Hop-by-hop, routing or destination options: (units + 1) * 8 bytes. */
static void fw_ext(struct fw *f, uint8_t nh, uint8_t units)
{
	uint8_t h[2] = { nh, units };
	fw_put(f, h, 2);
	fw_zero(f, (units + 1u) * 8 - 2);
}

static void fw_ah(struct fw *f, uint8_t nh)
{
	uint8_t h[2] = { nh, 4 }; /* (4 + 2) * 4 = 24 bytes */
	fw_put(f, h, 2);
	fw_zero(f, 22);
}

static void fw_frag6(struct fw *f, uint8_t nh, uint16_t offset8, int more)
{
	uint8_t h[8] = { nh, 0, 0, 0, 0, 0, 0x42, 0x42 };
	wr16(h + 2, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	fw_put(f, h, 8);
}

static void fw_tcp(struct fw *f, uint16_t sport, uint16_t dport, uint8_t flags, uint8_t doff,
		   uint32_t payload)
{
	uint8_t h[20] = { 0 };
	wr16(h, sport);
	wr16(h + 2, dport);
	h[12] = (uint8_t)(doff << 4);
	h[13] = flags;
	fw_put(f, h, 20);
	memset(f->b + f->n, 'p', payload);
	f->n += payload;
}

/* ulen 0: the right length. */
static void fw_udp(struct fw *f, uint16_t sport, uint16_t dport, uint16_t ulen, uint32_t payload)
{
	uint8_t h[8] = { 0 };
	wr16(h, sport);
	wr16(h + 2, dport);
	wr16(h + 4, ulen ? ulen : (uint16_t)(8 + payload));
	fw_put(f, h, 8);
	memset(f->b + f->n, 'u', payload);
	f->n += payload;
}

static void fw_icmp(struct fw *f, uint8_t type, uint8_t code, uint16_t id)
{
	uint8_t h[8] = { type, code, 0, 0, 0, 0, 0, 1 };
	wr16(h + 4, id);
	fw_put(f, h, 8);
}

/* Set the IP length (and IPv4 checksum) from what was written since f->ip. */
static void fw_done(struct fw *f)
{
	uint8_t *h = f->b + f->ip;
	uint32_t len = f->n - f->ip;
	if (f->v6) {
		wr16(h + 4, (uint16_t)(len - 40));
	} else {
		wr16(h + 2, (uint16_t)len);
		wr16(h + 10, 0);
		wr16(h + 10, (uint16_t)~ref_sum(h, (size_t)(h[0] & 15) * 4, 0));
	}
}

static void fix_ip4_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	wr16(ip + 10, 0);
	wr16(ip + 10, (uint16_t)~ref_sum(ip, ihl, 0));
}

/* --- parsing on an exact-size heap copy ------------------------------------ */

static void check_consistent(const struct pkt_info *pi, uint32_t len)
{
	uint32_t end = (uint32_t)pi->l3_off + pi->l3_len;
	unsigned iphl = pi->t.af == ULVS_AF_INET6 ? 40 : 20;

	assert_true(pi->t.af == ULVS_AF_INET || pi->t.af == ULVS_AF_INET6);
	assert_true(pi->l3_off == 14 || pi->l3_off == 18);
	assert_int_equal(!!(pi->flags & PKT_F_VLAN), pi->l3_off == 18);
	assert_true(end <= len);
	assert_true(pi->l4_off >= pi->l3_off + iphl);
	assert_true(pi->l4_off <= end);
	assert_int_equal(pi->l4_len, end - pi->l4_off);
	if (pi->flags & PKT_F_FRAG_FIRST)
		assert_true(pi->flags & PKT_F_FRAG);
	if (pi->flags & PKT_F_L4) {
		assert_true(pi->l4_off + (pi->t.proto == IPPROTO_TCP_ ? 20u : 8u) <= end);
		assert_false((pi->flags & PKT_F_FRAG) && !(pi->flags & PKT_F_FRAG_FIRST));
	} else {
		assert_int_equal(pi->t.sport | pi->t.dport, 0);
	}
	if (pi->flags & PKT_F_ICMP_ERR) {
		assert_true(pi->flags & PKT_F_L4);
		assert_int_equal(pi->inner_l3_off, pi->l4_off + 8);
		assert_true(pi->inner_l3_off + iphl <= end);
		assert_true(pi->inner_l4_off >= pi->inner_l3_off + iphl);
		assert_true(pi->inner_l4_off <= end);
		assert_int_equal(pi->inner.af, pi->t.af);
		if (pi->flags & PKT_F_INNER_L4)
			assert_true(pi->inner_l4_off + 8u <= end);
	} else {
		assert_false(pi->flags & PKT_F_INNER_L4);
	}
}

static enum parse_result parse_exact(const uint8_t *d, uint32_t len, struct pkt_info *pi)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, d, len);
	struct pkt p = { .buf = copy, .data = copy, .len = len, .buf_size = len };
	enum parse_result r = pkt_parse(&p, pi);
	free(copy);
	if (r == PARSE_OK)
		check_consistent(pi, len);
	return r;
}

static enum parse_result parse_fw(const struct fw *f, struct pkt_info *pi)
{
	return parse_exact(f->b, f->n, pi);
}

/* --- golden frames ------------------------------------------------------------ */

static void test_tpkt_matrix(void **state)
{
	static uint8_t buf[2048];
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	for (int v6 = 0; v6 < 2; v6++) {
		for (int pi_ = 0; pi_ < 3; pi_++) {
			for (int tagged = 0; tagged < 2; tagged++) {
				uint8_t protos[3] = { 6, 17, (uint8_t)(v6 ? 58 : 1) };
				struct tpkt s = {
					.src = v6 ? "2001:db8::1" : "10.0.0.1",
					.dst = v6 ? "2001:db8::80" : "192.0.2.80",
					.proto = protos[pi_], .sport = 40001, .dport = 80,
					.tcp_flags = TCP_F_SYN | TCP_F_ACK, .tcp_opts = mss,
					.tcp_opts_len = 4, .payload_len = 11, .ttl = 33,
					.vlan = tagged ? 0x2064 : 0,
				};
				struct pkt p;
				struct pkt_info pi;
				size_t len = tpkt_build(&p, buf, sizeof(buf), &s);
				assert_int_equal(tpkt_verify_csums(p.data, len), 0);
				assert_int_equal(parse_exact(p.data, (uint32_t)len, &pi), PARSE_OK);
				uint16_t l3 = tagged ? 18 : 14;
				uint32_t want_flags = PKT_F_L4 | (tagged ? PKT_F_VLAN : 0);
				assert_int_equal(pi.flags, want_flags);
				if (tagged)
					assert_int_equal(pi.vlan_tci, be16(0x2064));
				assert_int_equal(pi.l3_off, l3);
				assert_int_equal(pi.l3_len, len - l3);
				assert_int_equal(pi.l4_off, l3 + (v6 ? 40 : 20));
				assert_int_equal(pi.l4_len, len - pi.l4_off);
				assert_int_equal(pi.ttl, 33);
				assert_int_equal(pi.t.af, v6 ? ULVS_AF_INET6 : ULVS_AF_INET);
				assert_int_equal(pi.t.proto, s.proto);
				union ulvs_addr sa = taddr(s.src), da = taddr(s.dst);
				assert_true(addr_eq(&pi.t.saddr, &sa));
				assert_true(addr_eq(&pi.t.daddr, &da));
				if (pi_ == 2) {
					/* echo: the id is both ports */
					assert_int_equal(pi.t.sport, be16(40001));
					assert_int_equal(pi.t.dport, be16(40001));
					assert_int_equal(pi.icmp_type, v6 ? 128 : 8);
				} else {
					assert_int_equal(pi.t.sport, be16(40001));
					assert_int_equal(pi.t.dport, be16(80));
				}
				assert_int_equal(pi.tcp_flags, pi_ == 0 ? (TCP_F_SYN | TCP_F_ACK) : 0);
			}
		}
	}
}

/* Ethernet pads short frames to 60 bytes: the IP length rules, not the frame. */
static void test_padding(void **state)
{
	static uint8_t buf[256];
	struct tpkt s = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2 };
	struct pkt p;
	struct pkt_info pi;
	size_t len = tpkt_build(&p, buf, sizeof(buf), &s);
	assert_int_equal(len, 42);
	memset(p.data + len, 0xee, 18);
	assert_int_equal(parse_exact(p.data, 60, &pi), PARSE_OK);
	assert_int_equal(pi.l3_len, 28);
	assert_int_equal(pi.l4_len, 8);
	/* a TCP segment with padding: the padding is not TCP payload */
	struct tpkt t = { .src = "2001:db8::1", .dst = "2001:db8::2", .proto = 6, .sport = 1, .dport = 2 };
	len = tpkt_build(&p, buf, sizeof(buf), &t);
	memset(p.data + len, 0, 6);
	assert_int_equal(parse_exact(p.data, (uint32_t)len + 6, &pi), PARSE_OK);
	assert_int_equal(pi.l3_len, 60);
	assert_int_equal(pi.l4_len, 20);
}

static void test_eth_level(void **state)
{
	struct fw f;
	struct pkt_info pi;

	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0);
	fw_udp(&f, 1, 2, 0, 4);
	fw_done(&f);
	for (uint32_t n = 0; n < 14; n++)
		assert_int_equal(parse_exact(f.b, n, &pi), PARSE_TRUNC_ETH);

	fw_eth(&f, 0x0005, ETHERTYPE_IPV4_);
	fw_ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0);
	fw_udp(&f, 1, 2, 0, 4);
	fw_done(&f);
	for (uint32_t n = 14; n < 18; n++)
		assert_int_equal(parse_exact(f.b, n, &pi), PARSE_TRUNC_VLAN);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.vlan_tci, be16(5));

	uint16_t not_ip[] = { ETHERTYPE_ARP_, 0x88cc /* LLDP */, 0x0040 /* 802.3 length */,
			      0x88a8 /* 802.1ad */, 0x8847 /* MPLS */ };
	for (size_t i = 0; i < sizeof(not_ip) / sizeof(*not_ip); i++) {
		fw_eth(&f, 0, not_ip[i]);
		fw_zero(&f, 46);
		assert_int_equal(parse_fw(&f, &pi), PARSE_NOT_IP);
		fw_eth(&f, 7, not_ip[i]);
		fw_zero(&f, 46);
		assert_int_equal(parse_fw(&f, &pi), PARSE_NOT_IP);
	}
	/* Two 802.1Q tags: we carry one. */
	fw_eth(&f, 7, ETHERTYPE_VLAN_);
	fw_put16(&f, 8);
	fw_put16(&f, ETHERTYPE_IPV4_);
	fw_ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0);
	fw_udp(&f, 1, 2, 0, 4);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_NOT_IP);
}

static void udp4(struct fw *f)
{
	fw_eth(f, 0, ETHERTYPE_IPV4_);
	fw_ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 0);
	fw_udp(f, 1000, 53, 0, 20);
	fw_done(f);
}

static void test_ip4_rejects(void **state)
{
	struct fw f;
	struct pkt_info pi;
	uint8_t *ip;

	udp4(&f);
	ip = f.b + 14;
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	for (uint32_t n = 14; n < 34; n++)
		assert_int_equal(parse_exact(f.b, n, &pi), PARSE_TRUNC_IP);

	ip[0] = 0x65;
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_VERSION);
	ip[0] = 0x44;
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_HLEN);
	ip[0] = 0x40;
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_HLEN);
	/* IHL reaching past the frame */
	ip[0] = 0x4f;
	fix_ip4_csum(ip);
	assert_int_equal(parse_exact(f.b, 14 + 56, &pi), PARSE_TRUNC_IP);

	udp4(&f);
	ip = f.b + 14;
	wr16(ip + 2, 19);
	fix_ip4_csum(ip);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_LEN);
	wr16(ip + 2, (uint16_t)(f.n - 14 + 1));
	fix_ip4_csum(ip);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_LEN);
	wr16(ip + 2, (uint16_t)(f.n - 14));
	fix_ip4_csum(ip);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);

	/* every single-bit error in the header is caught by the checksum
	 * (or by an earlier check) */
	for (unsigned bit = 0; bit < 160; bit++) {
		ip[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		enum parse_result r = parse_fw(&f, &pi);
		assert_int_not_equal(r, PARSE_OK);
		if (bit / 8 >= 4 && bit / 8 != 2 && bit / 8 != 3)
			assert_int_equal(r, PARSE_BAD_IP_CSUM);
		ip[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	/* a checksum of 0xffff is as valid as 0x0000 would be (RFC 1624 §3) */
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
}

static void test_ip4_options_frags(void **state)
{
	struct fw f;
	struct pkt_info pi;

	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, 6, "10.0.0.1", "10.0.0.2", 0x4000 /* DF */, 8);
	fw_tcp(&f, 1234, 80, TCP_F_SYN, 5, 0);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_IP_OPTS | PKT_F_L4);
	assert_int_equal(pi.l4_off, 14 + 28);
	assert_int_equal(pi.t.dport, be16(80));
	assert_int_equal(pi.tcp_flags, TCP_F_SYN);

	/* first fragment: ports present; its UDP length covers the whole
	 * datagram, so it may exceed this fragment */
	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0x2000, 0);
	fw_udp(&f, 5000, 53, 3000, 100);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_FRAG | PKT_F_FRAG_FIRST | PKT_F_L4);
	assert_int_equal(pi.t.sport, be16(5000));

	/* middle and last fragments: no transport header, even if the bytes
	 * there would not parse as one */
	for (int last = 0; last < 2; last++) {
		fw_eth(&f, 0, ETHERTYPE_IPV4_);
		fw_ip4(&f, 6, "10.0.0.1", "10.0.0.2", (uint16_t)((last ? 0 : 0x2000) | 185), 0);
		fw_zero(&f, 3); /* shorter than a TCP header */
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
		assert_int_equal(pi.flags, PKT_F_FRAG);
		assert_int_equal(pi.t.proto, 6);
		assert_int_equal(pi.l4_off, 34);
		assert_int_equal(pi.l4_len, 3);
		assert_int_equal(pi.t.sport, 0);
	}

	/* other protocols: addresses only */
	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, IPPROTO_VRRP_, "10.0.0.1", "224.0.0.18", 0, 0);
	fw_zero(&f, 20);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, 0);
	assert_int_equal(pi.t.proto, IPPROTO_VRRP_);
	assert_int_equal(pi.l4_len, 20);
}

static void test_ip6_ext(void **state)
{
	struct fw f;
	struct pkt_info pi;

	/* scapy: HBH, dest opts, routing, first fragment, TCP */
	assert_int_equal(parse_exact(raw_ip6_ext_frag_tcp, sizeof(raw_ip6_ext_frag_tcp), &pi),
			 PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_FRAG | PKT_F_FRAG_FIRST | PKT_F_L4);
	assert_int_equal(pi.l4_off, 14 + 40 + 8 + 8 + 24 + 8);
	assert_int_equal(pi.t.proto, IPPROTO_TCP_);
	assert_int_equal(pi.t.sport, be16(40000));
	assert_int_equal(pi.t.dport, be16(443));
	assert_int_equal(pi.tcp_flags, TCP_F_SYN);
	assert_int_equal(pi.ttl, 33);
	assert_int_equal(pi.l3_len, sizeof(raw_ip6_ext_frag_tcp) - 14);

	/* AH and two destination options (before routing and before L4) */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 43, 0);
	fw_ext(&f, 51, 1);
	fw_ah(&f, 60);
	fw_ext(&f, 17, 0);
	fw_udp(&f, 7, 8, 0, 3);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.l4_off, 14 + 40 + 8 + 16 + 24 + 8);
	assert_int_equal(pi.t.proto, 17);
	assert_int_equal(pi.t.dport, be16(8));

	/* non-first fragment: the protocol is known, the ports are not */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 44, "2001:db8::1", "2001:db8::2");
	fw_frag6(&f, 6, 100, 1);
	fw_zero(&f, 5);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_FRAG);
	assert_int_equal(pi.t.proto, 6);
	assert_int_equal(pi.l4_off, 14 + 48);

	/* RFC 6946 atomic fragment: processed as a whole packet */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 44, "2001:db8::1", "2001:db8::2");
	fw_frag6(&f, 6, 0, 0);
	fw_tcp(&f, 1, 2, TCP_F_ACK, 5, 0);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_L4);

	/* no next header, and an unknown upper layer */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 59, 0);
	fw_zero(&f, 8);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, 0);
	assert_int_equal(pi.t.proto, 59);
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 47, "2001:db8::1", "2001:db8::2");
	fw_zero(&f, 4);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.t.proto, 47);
	assert_int_equal(pi.flags, 0);

	/* malformed chains */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 0, 0); /* hop-by-hop not first */
	fw_ext(&f, 6, 0);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);

	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 60, 0);
	fw_ext(&f, 60, 0); /* a third destination options header */
	fw_ext(&f, 6, 0);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);

	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 44, "2001:db8::1", "2001:db8::2");
	fw_frag6(&f, 44, 0, 1);
	fw_frag6(&f, 6, 0, 1); /* two fragment headers */
	fw_tcp(&f, 1, 2, 0, 5, 0);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);

	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 43, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 43, 0);
	fw_ext(&f, 6, 0); /* two routing headers */
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);

	/* a header whose length runs past the payload */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 0, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 6, 0);
	fw_done(&f);
	f.b[14 + 41] = 3; /* claims 32 bytes, 8 present */
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);
	/* an extension header announced, nothing there */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP6_EXT);

	/* the IPv6 header itself */
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 17, "2001:db8::1", "2001:db8::2");
	fw_udp(&f, 1, 2, 0, 0);
	fw_done(&f);
	for (uint32_t n = 14; n < 54; n++)
		assert_int_equal(parse_exact(f.b, n, &pi), PARSE_TRUNC_IP);
	assert_int_equal(parse_exact(f.b, f.n - 1, &pi), PARSE_BAD_IP_LEN);
	f.b[14] = 0x40;
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_IP_VERSION);
}

static void test_l4_rejects(void **state)
{
	struct fw f;
	struct pkt_info pi;

	for (int v6 = 0; v6 < 2; v6++) {
#define START(proto)                                                          \
	do {                                                                  \
		fw_eth(&f, 0, v6 ? ETHERTYPE_IPV6_ : ETHERTYPE_IPV4_);        \
		if (v6)                                                       \
			fw_ip6(&f, proto, "2001:db8::1", "2001:db8::2");      \
		else                                                          \
			fw_ip4(&f, proto, "10.0.0.1", "10.0.0.2", 0, 0);      \
	} while (0)
		START(6);
		fw_zero(&f, 19);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_TRUNC_L4);
		START(6);
		fw_tcp(&f, 1, 2, 0, 4, 8);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_TCP_HLEN);
		START(6);
		fw_tcp(&f, 1, 2, 0, 15, 39); /* 60-byte header in 59 bytes */
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_TCP_HLEN);
		START(6);
		fw_tcp(&f, 1, 2, 0, 15, 40); /* exactly fits */
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_OK);

		START(17);
		fw_zero(&f, 7);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_TRUNC_L4);
		START(17);
		fw_udp(&f, 1, 2, 7, 10);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_UDP_LEN);
		START(17);
		fw_udp(&f, 1, 2, 19, 10);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_UDP_LEN);
		START(17);
		fw_udp(&f, 1, 2, 12, 10); /* shorter than the payload: trimmed, fine */
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
		assert_int_equal(pi.t.dport, be16(2));

		START(v6 ? 58 : 1);
		fw_zero(&f, 7);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_TRUNC_L4);
#undef START
	}
}

static void test_icmp_info(void **state)
{
	struct fw f;
	struct pkt_info pi;
	struct { int v6; uint8_t type; int echo; } cases[] = {
		{ 0, 8, 1 }, { 0, 0, 1 }, { 0, 13, 0 }, { 0, 4, 0 }, { 0, 5, 0 },
		{ 1, 128, 1 }, { 1, 129, 1 }, { 1, 135, 0 }, { 1, 100, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fw_eth(&f, 0, cases[i].v6 ? ETHERTYPE_IPV6_ : ETHERTYPE_IPV4_);
		if (cases[i].v6)
			fw_ip6(&f, 58, "2001:db8::1", "2001:db8::2");
		else
			fw_ip4(&f, 1, "10.0.0.1", "10.0.0.2", 0, 0);
		fw_icmp(&f, cases[i].type, 0, 0x4242);
		fw_zero(&f, 28); /* would be a quote if the type were an error */
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
		assert_int_equal(pi.flags, PKT_F_L4);
		assert_int_equal(pi.icmp_type, cases[i].type);
		assert_int_equal(pi.t.sport, cases[i].echo ? be16(0x4242) : 0);
		assert_int_equal(pi.t.dport, pi.t.sport);
	}
	/* ICMPv6 in IPv4 and ICMPv4 in IPv6 are opaque protocols */
	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, 58, "10.0.0.1", "10.0.0.2", 0, 0);
	fw_icmp(&f, 128, 0, 1);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, 0);
}

/* An IP packet (no Ethernet) to quote in an ICMP error. */
static uint32_t inner4(uint8_t *out, uint8_t proto, uint16_t frag, unsigned optlen)
{
	struct fw f;
	memset(&f, 0, sizeof(f));
	fw_ip4(&f, proto, "10.0.0.1", "192.0.2.9", frag, optlen);
	if (proto == 6)
		fw_tcp(&f, 40000, 443, TCP_F_SYN, 5, 100);
	else if (proto == 17)
		fw_udp(&f, 5353, 53, 0, 100);
	else
		fw_icmp(&f, 8, 0, 0x7777);
	fw_done(&f);
	memcpy(out, f.b, f.n);
	return f.n;
}

static void icmp4_err(struct fw *f, uint8_t type, const uint8_t *quote, uint32_t qlen)
{
	fw_eth(f, 0, ETHERTYPE_IPV4_);
	fw_ip4(f, 1, "192.0.2.9", "10.0.0.1", 0, 0);
	fw_icmp(f, type, 0, 0);
	fw_put(f, quote, qlen);
	fw_done(f);
}

static void test_icmp_errors(void **state)
{
	struct fw f;
	struct pkt_info pi;
	uint8_t q[512];
	uint32_t ql;

	/* scapy: port unreachable on a VLAN quoting 28 bytes of a UDP datagram */
	assert_int_equal(parse_exact(raw_icmp4_unreach_udp, sizeof(raw_icmp4_unreach_udp), &pi),
			 PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_VLAN | PKT_F_L4 | PKT_F_ICMP_ERR | PKT_F_INNER_L4);
	assert_int_equal(pi.vlan_tci, be16(0xa02a));
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.icmp_code, 3);
	assert_int_equal(pi.inner_l3_off, 18 + 20 + 8);
	assert_int_equal(pi.inner_l4_off, 18 + 20 + 8 + 20);
	union ulvs_addr c = taddr("10.0.0.1"), v = taddr("192.0.2.9");
	assert_true(addr_eq(&pi.inner.saddr, &c));
	assert_true(addr_eq(&pi.inner.daddr, &v));
	assert_true(addr_eq(&pi.t.saddr, &v));
	assert_int_equal(pi.inner.proto, 17);
	assert_int_equal(pi.inner.sport, be16(5353));
	assert_int_equal(pi.inner.dport, be16(53));
	assert_int_equal(pi.t.sport | pi.t.dport, 0);

	/* scapy: ICMPv6 packet too big quoting a TCP SYN-ACK */
	assert_int_equal(parse_exact(raw_icmp6_ptb_tcp, sizeof(raw_icmp6_ptb_tcp), &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_L4 | PKT_F_ICMP_ERR | PKT_F_INNER_L4);
	assert_int_equal(pi.icmp_type, 2);
	assert_int_equal(pi.inner.af, ULVS_AF_INET6);
	assert_int_equal(pi.inner.proto, 6);
	assert_int_equal(pi.inner.sport, be16(443));
	assert_int_equal(pi.inner.dport, be16(40000));
	assert_int_equal(pi.inner_l4_off, 14 + 40 + 8 + 40);
	union ulvs_addr rs6 = taddr("2001:db8::2");
	assert_true(addr_eq(&pi.inner.saddr, &rs6));

	/* time exceeded / parameter problem, quoting the RFC 792 minimum */
	uint8_t types[] = { 3, 11, 12 };
	uint8_t protos[] = { 6, 17, 1 };
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			ql = inner4(q, protos[j], 0, 0);
			icmp4_err(&f, types[i], q, 28);
			assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
			assert_int_equal(pi.flags, PKT_F_L4 | PKT_F_ICMP_ERR | PKT_F_INNER_L4);
			assert_int_equal(pi.inner.proto, protos[j]);
			uint16_t want_s = protos[j] == 6 ? 40000 : protos[j] == 17 ? 5353 : 0x7777;
			uint16_t want_d = protos[j] == 6 ? 443 : protos[j] == 17 ? 53 : 0x7777;
			assert_int_equal(pi.inner.sport, be16(want_s));
			assert_int_equal(pi.inner.dport, be16(want_d));
			/* quoting everything is fine too */
			icmp4_err(&f, types[i], q, ql);
			assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
			assert_int_equal(pi.inner.sport, be16(want_s));
		}
	}
	/* a quoted header with options */
	inner4(q, 17, 0, 12);
	icmp4_err(&f, 3, q, 40);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.inner_l4_off, 14 + 20 + 8 + 32);
	assert_int_equal(pi.inner.dport, be16(53));
	/* a quoted non-first fragment: addresses, no ports */
	inner4(q, 17, 100, 0);
	icmp4_err(&f, 3, q, 28);
	assert_int_equal(parse_fw(&f, &pi), PARSE_OK);
	assert_int_equal(pi.flags, PKT_F_L4 | PKT_F_ICMP_ERR);
	assert_int_equal(pi.inner.sport, 0);
	assert_true(addr_eq(&pi.inner.saddr, &c));

	/* unusable quotations */
	inner4(q, 6, 0, 0);
	icmp4_err(&f, 3, q, 19);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	icmp4_err(&f, 3, q, 27); /* 7 bytes of TCP */
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	icmp4_err(&f, 3, q, 0);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	inner4(q, 6, 0, 20);
	icmp4_err(&f, 3, q, 39); /* header with options, cut inside them */
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	inner4(q, 6, 0, 0);
	q[0] = 0x44;
	icmp4_err(&f, 3, q, 28);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	q[0] = 0x65;
	icmp4_err(&f, 3, q, 28);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
	/* an error about an error (RFC 1122 §3.2.2) */
	inner4(q, 1, 0, 0);
	for (uint8_t t = 0; t < 20; t++) {
		q[20] = t;
		icmp4_err(&f, 11, q, 28);
		int is_err = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
		assert_int_equal(parse_fw(&f, &pi), is_err ? PARSE_BAD_ICMP : PARSE_OK);
	}
	/* a fragmented error is not one we can use */
	inner4(q, 6, 0, 0);
	icmp4_err(&f, 3, q, 28);
	wr16(f.b + 14 + 6, 0x2000);
	fix_ip4_csum(f.b + 14);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);

	/* ICMPv6: destination unreachable quoting UDP behind destination
	 * options; a quote cut inside the extension header; an error quoting
	 * an ICMPv6 error; and a v4 packet quoted in ICMPv6 */
	struct fw in;
	memset(&in, 0, sizeof(in));
	fw_ip6(&in, 60, "2001:db8::2", "2001:db8::1");
	fw_ext(&in, 17, 1);
	fw_udp(&in, 53, 5353, 0, 50);
	fw_done(&in);
	for (uint32_t qlen = 0; qlen <= in.n; qlen++) {
		fw_eth(&f, 0, ETHERTYPE_IPV6_);
		fw_ip6(&f, 58, "2001:db8::fe", "2001:db8::2");
		fw_icmp(&f, 1, 4, 0);
		fw_put(&f, in.b, qlen);
		fw_done(&f);
		enum parse_result r = parse_fw(&f, &pi);
		if (qlen < 40 + 16 + 8) {
			assert_int_equal(r, PARSE_BAD_ICMP);
		} else {
			assert_int_equal(r, PARSE_OK);
			assert_int_equal(pi.inner_l4_off, 14 + 48 + 56);
			assert_int_equal(pi.inner.sport, be16(53));
		}
	}
	memset(&in, 0, sizeof(in));
	fw_ip6(&in, 58, "2001:db8::2", "2001:db8::1");
	fw_icmp(&in, 0, 0, 0);
	fw_done(&in);
	for (int t = 0; t < 256; t += 1) {
		in.b[40] = (uint8_t)t;
		fw_eth(&f, 0, ETHERTYPE_IPV6_);
		fw_ip6(&f, 58, "2001:db8::fe", "2001:db8::2");
		fw_icmp(&f, 3, 0, 0);
		fw_put(&f, in.b, in.n);
		fw_done(&f);
		assert_int_equal(parse_fw(&f, &pi), t < 128 ? PARSE_BAD_ICMP : PARSE_OK);
		if (t == 128)
			assert_int_equal(pi.inner.sport, 0); /* fw_icmp wrote id 0 */
	}
	ql = inner4(q, 6, 0, 0);
	fw_eth(&f, 0, ETHERTYPE_IPV6_);
	fw_ip6(&f, 58, "2001:db8::fe", "2001:db8::2");
	fw_icmp(&f, 1, 0, 0);
	fw_put(&f, q, ql);
	fw_done(&f);
	assert_int_equal(parse_fw(&f, &pi), PARSE_BAD_ICMP);
}

/* --- truncation and mutation ------------------------------------------------ */

struct corpus {
	uint8_t b[1600];
	uint32_t n;
};

static unsigned build_corpus(struct corpus *c, unsigned max)
{
	static uint8_t buf[2048];
	unsigned n = 0;
	struct fw f;
	uint8_t q[512];

#define ADD(ptr, len)                                   \
	do {                                            \
		assert_true(n < max);                   \
		memcpy(c[n].b, (ptr), (len));           \
		c[n++].n = (uint32_t)(len);             \
	} while (0)
	for (int v6 = 0; v6 < 2; v6++) {
		uint8_t protos[3] = { 6, 17, (uint8_t)(v6 ? 58 : 1) };
		for (int i = 0; i < 3; i++) {
			for (int tag = 0; tag < 2; tag++) {
				struct tpkt s = { .src = v6 ? "2001:db8::1" : "10.0.0.1",
						  .dst = v6 ? "2001:db8::2" : "10.0.0.2",
						  .proto = protos[i], .sport = 9, .dport = 10,
						  .payload_len = 5, .vlan = tag ? 3 : 0 };
				struct pkt p;
				size_t len = tpkt_build(&p, buf, sizeof(buf), &s);
				ADD(p.data, len);
			}
		}
	}
	ADD(raw_icmp4_unreach_udp, sizeof(raw_icmp4_unreach_udp));
	ADD(raw_ip6_ext_frag_tcp, sizeof(raw_ip6_ext_frag_tcp));
	ADD(raw_icmp6_ptb_tcp, sizeof(raw_icmp6_ptb_tcp));
	fw_eth(&f, 0, ETHERTYPE_IPV4_);
	fw_ip4(&f, 6, "10.0.0.1", "10.0.0.2", 0x2000, 12);
	fw_tcp(&f, 1, 2, TCP_F_SYN, 8, 16);
	fw_done(&f);
	ADD(f.b, f.n);
	uint32_t ql = inner4(q, 6, 0, 4);
	icmp4_err(&f, 11, q, ql);
	ADD(f.b, f.n);
	fw_eth(&f, 9, ETHERTYPE_IPV6_);
	fw_ip6(&f, 0, "2001:db8::1", "2001:db8::2");
	fw_ext(&f, 60, 0);
	fw_ext(&f, 51, 1);
	fw_ah(&f, 44);
	fw_frag6(&f, 17, 0, 1);
	fw_udp(&f, 3, 4, 500, 20);
	fw_done(&f);
	ADD(f.b, f.n);
#undef ADD
	return n;
}

static enum parse_result ip_level_truncation(const uint8_t *b, uint32_t full, uint32_t n)
{
	uint32_t l3 = (b[12] == 0x81 && b[13] == 0x00) ? 18 : 14;
	int v6 = b[l3 - 2] == 0x86;
	if (n < 14)
		return PARSE_TRUNC_ETH;
	if (n < l3)
		return PARSE_TRUNC_VLAN;
	if (v6)
		return n < l3 + 40 ? PARSE_TRUNC_IP : PARSE_BAD_IP_LEN;
	return n < l3 + (uint32_t)(b[l3] & 15) * 4 ? PARSE_TRUNC_IP : PARSE_BAD_IP_LEN;
}

/* Every prefix of a valid frame is refused with the reason the first
 * missing header gives; and every shorter IP length (frame unchanged, the
 * rest read as padding) either parses consistently or is refused. */
static void test_truncations(void **state)
{
	static struct corpus c[32];
	unsigned n = build_corpus(c, 32);
	struct pkt_info pi;
	unsigned oks = 0, refusals = 0;

	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(parse_exact(c[i].b, c[i].n, &pi), PARSE_OK);
		for (uint32_t len = 0; len < c[i].n; len++)
			assert_int_equal(parse_exact(c[i].b, len, &pi),
					 ip_level_truncation(c[i].b, c[i].n, len));

		uint8_t b[1600];
		uint32_t l3 = (c[i].b[12] == 0x81) ? 18 : 14;
		int v6 = c[i].b[l3 - 2] == 0x86;
		uint32_t hl = v6 ? 40 : (uint32_t)(c[i].b[l3] & 15) * 4;
		for (uint32_t iplen = hl; iplen < c[i].n - l3; iplen++) {
			memcpy(b, c[i].b, c[i].n);
			if (v6) {
				wr16(b + l3 + 4, (uint16_t)(iplen - 40));
			} else {
				wr16(b + l3 + 2, (uint16_t)iplen);
				fix_ip4_csum(b + l3);
			}
			enum parse_result r = parse_exact(b, c[i].n, &pi);
			if (r == PARSE_OK) {
				assert_int_equal(pi.l3_len, iplen);
				oks++;
			} else {
				assert_true(r == PARSE_TRUNC_L4 || r == PARSE_BAD_TCP_HLEN ||
					    r == PARSE_BAD_UDP_LEN || r == PARSE_BAD_IP6_EXT ||
					    r == PARSE_BAD_ICMP);
				refusals++;
			}
		}
	}
	assert_true(oks > 0 && refusals > 0);
}

static void test_mutations(void **state)
{
	static struct corpus c[32];
	unsigned n = build_corpus(c, 32);
	uint8_t b[1700];
	struct pkt_info pi;
	unsigned hist[PARSE_RESULT_MAX] = { 0 };

	srand(1234);
	for (int it = 0; it < 20000; it++) {
		const struct corpus *src = &c[(unsigned)rand() % n];
		uint32_t len = src->n;
		memcpy(b, src->b, len);
		int k = 1 + rand() % 4;
		for (int j = 0; j < k; j++) {
			/* mostly in the headers, where the parser looks */
			uint32_t span = rand() % 4 ? (len < 140 ? len : 140) : len;
			b[(uint32_t)rand() % span] = (uint8_t)rand();
		}
		if (rand() % 4 == 0) {
			uint32_t nl = (uint32_t)rand() % (len + 32);
			for (uint32_t j = len; j < nl; j++)
				b[j] = (uint8_t)rand();
			len = nl;
		}
		/* let half the IPv4 mutants past the header checksum */
		uint32_t l3 = (b[12] == 0x81 && b[13] == 0x00) ? 18 : 14;
		if (rand() % 2 && len >= l3 + 20 && b[l3 - 2] == 0x08 && (b[l3] >> 4) == 4 &&
		    (uint32_t)(b[l3] & 15) * 4 >= 20 && l3 + (uint32_t)(b[l3] & 15) * 4 <= len)
			fix_ip4_csum(b + l3);
		enum parse_result r = parse_exact(b, len, &pi);
		assert_true((unsigned)r < PARSE_RESULT_MAX);
		hist[r]++;
	}
	/* the mutants reached deep into the parser, not just its first check */
	assert_true(hist[PARSE_OK] > 1000);
	assert_true(hist[PARSE_BAD_IP_CSUM] > 0);
	assert_true(hist[PARSE_BAD_ICMP] > 0);
	assert_true(hist[PARSE_BAD_TCP_HLEN] + hist[PARSE_BAD_UDP_LEN] > 0);
}

/* --- checksums --------------------------------------------------------------- */

static void test_csum_partial(void **state)
{
	uint8_t buf[300];
	srand(99);
	for (int it = 0; it < 5000; it++) {
		uint32_t off = (uint32_t)rand() % 8, len = (uint32_t)rand() % 280;
		for (uint32_t i = 0; i < len + off; i++)
			buf[i] = (uint8_t)(it % 7 == 0 ? 0xff : rand());
		const uint8_t *d = buf + off;
		uint32_t s = csum_partial(d, len, 0);
		assert_true(s <= 0xffff);
		assert_int_equal(raw_be((uint16_t)s), ref_sum(d, len, 0));
		/* chained on an even split gives the same */
		uint32_t cut = (len / 2) & ~1u;
		uint32_t s2 = csum_partial(d + cut, len - cut, csum_partial(d, cut, 0));
		assert_int_equal(raw_be((uint16_t)s2), ref_sum(d, len, 0));
		/* csum_fold complements */
		assert_int_equal(raw_be(csum_fold(s)), (uint16_t)~ref_sum(d, len, 0));
	}
	/* a 32-bit accumulator that has carried */
	assert_int_equal(csum_fold(0xffffffffu), 0);
	assert_int_equal(csum_fold(0x0001fffeu), 0);
	assert_int_equal(csum_fold(0), 0xffff);
}

static void test_csum_ip4_header(void **state)
{
	uint8_t h[60];
	srand(98);
	for (int it = 0; it < 2000; it++) {
		uint32_t hl = 20 + 4 * ((uint32_t)rand() % 11);
		for (uint32_t i = 0; i < hl; i++)
			h[i] = (uint8_t)rand();
		uint16_t c = csum_ip4_header(h, hl);
		h[10] = h[11] = 0;
		assert_int_equal(raw_be(c), (uint16_t)~ref_sum(h, hl, 0));
		memcpy(h + 10, &c, 2);
		assert_int_equal(ref_sum(h, hl, 0), 0xffff);
	}
}

static void test_csum_l4(void **state)
{
	static uint8_t buf[2048];
	for (int v6 = 0; v6 < 2; v6++) {
		uint8_t protos[3] = { 6, 17, (uint8_t)(v6 ? 58 : 1) };
		for (int i = 0; i < 3; i++) {
			for (uint16_t pl = 0; pl < 70; pl += 7) {
				struct tpkt s = { .src = v6 ? "2001:db8::a1" : "10.9.8.7",
						  .dst = v6 ? "2001:db8:ffff::2" : "192.168.254.3",
						  .proto = protos[i], .sport = (uint16_t)(pl * 977),
						  .dport = 443, .payload_len = pl };
				struct pkt p;
				struct pkt_info pi;
				size_t len = tpkt_build(&p, buf, sizeof(buf), &s);
				assert_int_equal(parse_exact(p.data, (uint32_t)len, &pi), PARSE_OK);
				uint8_t *l4 = p.data + pi.l4_off;
				unsigned ck = protos[i] == 6 ? 16 : protos[i] == 17 ? 6 : 2;
				uint8_t want[2] = { l4[ck], l4[ck + 1] };
				l4[ck] = l4[ck + 1] = 0;
				uint16_t c = csum_l4(pi.t.af, &pi.t.saddr, &pi.t.daddr, pi.t.proto, l4,
						     pi.l4_len);
				memcpy(l4 + ck, &c, 2);
				assert_memory_equal(l4 + ck, want, 2);
				assert_int_equal(tpkt_verify_csums(p.data, len), 0);
			}
		}
	}
	/* RFC 768: a UDP sum of 0 goes on the wire as 0xffff, 0 meaning none.
	 * Steer the last two payload bytes so the true sum is exactly 0. */
	for (int v6 = 0; v6 < 2; v6++) {
		struct tpkt s = { .src = v6 ? "2001:db8::1" : "10.0.0.1",
				  .dst = v6 ? "2001:db8::2" : "10.0.0.2",
				  .proto = 17, .sport = 7, .dport = 9, .payload_len = 10 };
		struct pkt p;
		struct pkt_info pi;
		size_t len = tpkt_build(&p, buf, sizeof(buf), &s);
		assert_int_equal(parse_exact(p.data, (uint32_t)len, &pi), PARSE_OK);
		uint8_t *l4 = p.data + pi.l4_off;
		l4[6] = l4[7] = l4[16] = l4[17] = 0;
		uint16_t fill = (uint16_t)~raw_be(csum_l4(pi.t.af, &pi.t.saddr, &pi.t.daddr, 17, l4,
							 pi.l4_len));
		/* fill is the sum without those two bytes; adding its complement
		 * makes the sum 0xffff, whose complement, the checksum, is 0 */
		wr16(l4 + 16, (uint16_t)~fill);
		assert_int_equal(csum_l4(pi.t.af, &pi.t.saddr, &pi.t.daddr, 17, l4, pi.l4_len), 0xffff);
		/* 0xffff verifies like 0 would */
		l4[6] = l4[7] = 0xff;
		assert_int_equal(tpkt_verify_csums(p.data, len), 0);
	}
}

/* One's complement sum of the 20 words of h except the checksum (word 5). */
static uint16_t hdr_csum_full(const uint8_t *h)
{
	uint8_t t[40];
	memcpy(t, h, 40);
	t[10] = t[11] = 0;
	return (uint16_t)~ref_sum(t, 40, 0);
}

/* RFC 1624: the incremental update must equal a full recompute for every
 * field size, including the sums that land on 0xffff (checksum 0x0000) before
 * or after the change and the field values 0x0000/0xffff.  (The one case
 * where eqn. 3 and a recompute differ, all other words zero, cannot occur in
 * a real header; the fixed first word here stands for the version field.) */
static void test_csum_incremental(void **state)
{
	uint8_t h[40];
	srand(97);
	for (int it = 0; it < 30000; it++) {
		for (int i = 0; i < 40; i++)
			h[i] = (uint8_t)rand();
		h[0] = 0x45;
		h[1] = 0;
		int kind = it % 3;
		unsigned off = kind == 0 ? 2 * (2 + (unsigned)rand() % 18) : kind == 1 ? 12 : 16;
		if (kind == 0 && off == 10)
			off = 8;
		unsigned flen = kind == 0 ? 2 : kind == 1 ? 4 : 16;
		int corner = rand() % 4;
		if (corner == 1) {
			/* old sum 0xffff: the stored checksum is 0x0000 */
			uint8_t t[40];
			memcpy(t, h, 40);
			t[10] = t[11] = t[off] = t[off + 1] = 0;
			wr16(h + off, (uint16_t)~ref_sum(t, 40, 0));
		}
		wr16(h + 10, hdr_csum_full(h));
		if (corner == 1)
			assert_int_equal(rd16(h + 10), 0);

		uint8_t nf[16];
		for (unsigned i = 0; i < flen; i++)
			nf[i] = (uint8_t)rand();
		if (corner == 2 || corner == 3) {
			/* new sum 0xffff (checksum 0x0000), or a field of all ones */
			memset(nf, corner == 2 ? 0 : 0xff, flen);
			if (corner == 2) {
				uint8_t t[40];
				memcpy(t, h, 40);
				t[10] = t[11] = 0;
				memset(t + off, 0, flen);
				wr16(nf, (uint16_t)~ref_sum(t, 40, 0));
			}
		}
		uint16_t check;
		memcpy(&check, h + 10, 2);
		uint16_t inc;
		if (kind == 0) {
			uint16_t o, nw;
			memcpy(&o, h + off, 2);
			memcpy(&nw, nf, 2);
			inc = csum_replace2(check, o, nw);
		} else if (kind == 1) {
			uint32_t o, nw;
			memcpy(&o, h + off, 4);
			memcpy(&nw, nf, 4);
			inc = csum_replace4(check, o, nw);
		} else {
			uint32_t o[4], nw[4];
			memcpy(o, h + off, 16);
			memcpy(nw, nf, 16);
			inc = csum_replace16(check, o, nw);
		}
		memcpy(h + off, nf, flen);
		uint16_t full = hdr_csum_full(h);
		if (corner == 2)
			assert_int_equal(full, 0);
		assert_int_equal(raw_be(inc), full);
	}
}

static void test_result_names(void **state)
{
	for (int i = 0; i < PARSE_RESULT_MAX; i++) {
		const char *a = parse_result_name((enum parse_result)i);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, parse_result_name((enum parse_result)j));
	}
	assert_string_equal(parse_result_name(PARSE_OK), "ok");
	assert_string_equal(parse_result_name(PARSE_RESULT_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tpkt_matrix),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_eth_level),
		cmocka_unit_test(test_ip4_rejects),
		cmocka_unit_test(test_ip4_options_frags),
		cmocka_unit_test(test_ip6_ext),
		cmocka_unit_test(test_l4_rejects),
		cmocka_unit_test(test_icmp_info),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_csum_partial),
		cmocka_unit_test(test_csum_ip4_header),
		cmocka_unit_test(test_csum_l4),
		cmocka_unit_test(test_csum_incremental),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
