/* Golden packet tests for TUN and FULLNAT forwarding, the TOA option, the MSS
 * clamp and the FULLNAT local port pool.
 *
 * Each test builds a frame with tpkt_build(), runs one xmit function on it
 * with a hand-made struct conn, and checks every byte that must change, that
 * every other byte did not, that all checksums verify (tpkt_verify_csums
 * descends into IP-in-IP) and that the updated pkt_info says what
 * pkt_parse() says about the new frame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "core/constants.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/lport.h"
#include "core/packet.h"
#include "core/service.h"
#include "core/toa.h"
#include "core/xmit.h"
#include "testutil.h"

#define BUF_SIZE 4096

struct tf {
	uint8_t buf[BUF_SIZE];
	uint8_t orig_buf[BUF_SIZE];
	struct pkt p, orig_p;
	struct pkt_info pi;
	uint8_t orig[BUF_SIZE]; /* the frame as built, from data */
	uint32_t orig_len;
};

static const struct ulvs_mac SMAC = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct ulvs_mac DMAC = { { 0x02, 0, 0, 0, 0, 0x02 } };

static void tf_build(struct tf *f, struct tpkt s)
{
	static const struct ulvs_mac zero;
	if (!memcmp(&s.smac, &zero, sizeof(zero)))
		s.smac = SMAC;
	if (!memcmp(&s.dmac, &zero, sizeof(zero)))
		s.dmac = DMAC;
	tpkt_build(&f->p, f->buf, sizeof(f->buf), &s);
	assert_int_equal(pkt_parse(&f->p, &f->pi), PARSE_OK);
	assert_int_equal(tpkt_verify_csums(f->p.data, f->p.len), 0);
	f->orig_len = f->p.len;
	memcpy(f->orig, f->p.data, f->p.len);
	memcpy(f->orig_buf, f->buf, sizeof(f->buf));
	f->orig_p = f->p;
}

/* Move the frame so only `room` bytes of headroom are left. */
static void tf_squeeze(struct tf *f, uint32_t room)
{
	memmove(f->buf + room, f->p.data, f->p.len);
	f->p.data = f->buf + room;
	memcpy(f->orig_buf, f->buf, sizeof(f->buf));
	f->orig_p = f->p;
}

static void assert_untouched(const struct tf *f)
{
	assert_ptr_equal(f->p.data, f->orig_p.data);
	assert_int_equal(f->p.len, f->orig_p.len);
	assert_memory_equal(f->buf, f->orig_buf, sizeof(f->buf));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The updated pkt_info must describe the new frame exactly as a fresh parse
 * of it does (the engine relies on it after the rewrite). */
static void assert_pi_matches_frame(const struct tf *f)
{
	struct pkt_info q;
	assert_int_equal(pkt_parse(&f->p, &q), PARSE_OK);
	assert_int_equal(f->pi.flags, q.flags);
	assert_int_equal(f->pi.vlan_tci, q.vlan_tci);
	assert_int_equal(f->pi.l3_off, q.l3_off);
	assert_int_equal(f->pi.l4_off, q.l4_off);
	assert_int_equal(f->pi.l3_len, q.l3_len);
	assert_int_equal(f->pi.l4_len, q.l4_len);
	assert_int_equal(f->pi.ttl, q.ttl);
	assert_int_equal(f->pi.tcp_flags, q.tcp_flags);
	assert_int_equal(f->pi.t.af, q.t.af);
	assert_int_equal(f->pi.t.proto, q.t.proto);
	assert_true(addr_eq(&f->pi.t.saddr, &q.t.saddr));
	assert_true(addr_eq(&f->pi.t.daddr, &q.t.daddr));
	assert_int_equal(f->pi.t.sport, q.t.sport);
	assert_int_equal(f->pi.t.dport, q.t.dport);
}

static struct conn mkconn(const char *c, uint16_t cport, const char *v, uint16_t vport,
			  const char *d, uint16_t dport, const char *l, uint16_t lport)
{
	struct conn k;
	memset(&k, 0, sizeof(k));
	k.af = strchr(c, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	k.proto = 6;
	k.caddr = taddr(c);
	k.vaddr = taddr(v);
	k.daddr = taddr(d);
	k.laddr = l ? taddr(l) : k.caddr;
	k.cport = htons(cport);
	k.vport = htons(vport);
	k.dport = htons(dport);
	k.lport = htons(lport);
	return k;
}

/* ---------------------------------------------------------------- TUN --- */

static void test_tun_v4(void **state)
{
	static struct tf f;
	struct conn c = mkconn("198.51.100.7", 40000, "192.0.2.10", 80, "10.1.0.5", 80, NULL, 0);
	union ulvs_addr src = taddr("10.1.0.1");
	const uint8_t *o, *in;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK | TCP_F_PSH,
				    .seq = 1000, .ack = 2000, .payload_len = 100, .ttl = 57,
				    .ip_id = 0x1234, .frag = 0x4000 });
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NONE);

	assert_ptr_equal(f.p.data, f.orig_p.data - 20);
	assert_int_equal(f.p.len, f.orig_len + 20);
	assert_memory_equal(f.p.data, f.orig, 14); /* MACs and ethertype moved as is */
	o = f.p.data + 14;
	in = o + 20;
	assert_int_equal(o[0], 0x45);
	assert_int_equal(o[1], 0);
	assert_int_equal(rd16(o + 2), f.orig_len - 14 + 20);
	assert_int_equal(rd16(o + 6), 0x4000); /* DF copied, offset 0 */
	assert_int_equal(o[8], 64);
	assert_int_equal(o[9], 4);
	assert_memory_equal(o + 12, &src.ip, 4);
	assert_memory_equal(o + 16, &c.daddr.ip, 4);
	/* inner packet byte for byte, TTL included */
	assert_memory_equal(in, f.orig + 14, f.orig_len - 14);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(f.pi.t.proto, IPPROTO_IPIP_);
	assert_int_equal(f.pi.l4_off, 34);
	assert_int_equal(f.pi.l3_len, f.orig_len - 14 + 20);
}

static uint16_t tun_outer_id(uint16_t inner_id, uint16_t frag, const char *client)
{
	static struct tf f;
	struct conn c = mkconn(client, 40000, "192.0.2.10", 80, "10.1.0.5", 80, NULL, 0);
	union ulvs_addr src = taddr("10.1.0.1");
	tf_build(&f, (struct tpkt){ .src = client, .dst = "192.0.2.10", .proto = 17,
				    .sport = 40000, .dport = 80, .payload_len = 10,
				    .ip_id = inner_id, .frag = frag });
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NONE);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	/* no DF inside, none outside */
	assert_int_equal(rd16(f.p.data + 14 + 6), frag & 0x4000);
	return rd16(f.p.data + 14 + 4);
}

static void test_tun_v4_ident(void **state)
{
	(void)state;
	/* Deterministic: the same packet always gets the same outer id. */
	assert_int_equal(tun_outer_id(7, 0, "198.51.100.7"), tun_outer_id(7, 0, "198.51.100.7"));
	/* Distinct inner datagrams get distinct outer ids. */
	assert_int_not_equal(tun_outer_id(7, 0, "198.51.100.7"), tun_outer_id(8, 0, "198.51.100.7"));
	assert_int_not_equal(tun_outer_id(7, 0, "198.51.100.7"), tun_outer_id(7, 0, "198.51.100.8"));
	assert_int_equal(tun_outer_id(9, 0x4000, "198.51.100.7"),
			 tun_outer_id(9, 0x4000, "198.51.100.7"));
}

static void test_tun_v4_vlan_ecn(void **state)
{
	static struct tf f;
	struct conn c = mkconn("198.51.100.7", 40000, "192.0.2.10", 80, "10.1.0.5", 0, NULL, 0);
	union ulvs_addr src = taddr("10.1.0.1");
	uint8_t *ip;
	uint16_t ck;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .vlan = 42, .frag = 0x4000 });
	/* DSCP AF41 with CE: the outer keeps the DSCP and carries ECT(0). */
	ip = f.p.data + 18;
	ip[1] = 0x88 | 3;
	ip[10] = ip[11] = 0;
	ck = csum_ip4_header(ip, 20);
	memcpy(ip + 10, &ck, 2);
	assert_int_equal(pkt_parse(&f.p, &f.pi), PARSE_OK);
	memcpy(f.orig, f.p.data, f.p.len);

	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NONE);
	assert_memory_equal(f.p.data, f.orig, 18); /* tag travels with the MACs */
	assert_int_equal(f.p.data[18 + 1], 0x88 | 2);
	assert_int_equal(f.p.data[38 + 1], 0x88 | 3);
	assert_memory_equal(f.p.data + 38, f.orig + 18, f.orig_len - 18);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(f.pi.l3_off, 18);
}

static void test_tun_v6(void **state)
{
	static struct tf f;
	struct conn c = mkconn("2001:db8:c::7", 40000, "2001:db8:a::10", 443, "2001:db8:b::5",
			       443, NULL, 0);
	union ulvs_addr src = taddr("2001:db8:d::1");
	uint8_t *ip, *o;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "2001:db8:c::7", .dst = "2001:db8:a::10", .proto = 6,
				    .sport = 40000, .dport = 443, .tcp_flags = TCP_F_SYN,
				    .payload_len = 0, .ttl = 33 });
	/* traffic class 0x2e (DSCP 11, ECT(0)... then CE below), flow label */
	ip = f.p.data + 14;
	ip[0] = 0x62;
	ip[1] = 0xf1;
	ip[2] = 0x23;
	ip[3] = 0x45;
	memcpy(f.orig, f.p.data, f.p.len);

	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data - 40);
	assert_int_equal(f.p.len, f.orig_len + 40);
	assert_memory_equal(f.p.data, f.orig, 14);
	o = f.p.data + 14;
	/* inner TC 0x2f: CE -> outer 0x2e; flow label 0x12345 copied */
	assert_int_equal(o[0], 0x62);
	assert_int_equal(o[1], 0xe1);
	assert_int_equal(o[2], 0x23);
	assert_int_equal(o[3], 0x45);
	assert_int_equal(rd16(o + 4), f.orig_len - 14);
	assert_int_equal(o[6], 41);
	assert_int_equal(o[7], 64);
	assert_memory_equal(o + 8, src.b, 16);
	assert_memory_equal(o + 24, c.daddr.b, 16);
	assert_memory_equal(o + 40, f.orig + 14, f.orig_len - 14);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(f.pi.t.proto, IPPROTO_IPV6_);
}

static void test_tun_too_big(void **state)
{
	static struct tf f;
	struct conn c4 = mkconn("198.51.100.7", 40000, "192.0.2.10", 80, "10.1.0.5", 80, NULL, 0);
	struct conn c6 = mkconn("2001:db8:c::7", 40000, "2001:db8:a::10", 80, "2001:db8:b::5",
				80, NULL, 0);
	union ulvs_addr s4 = taddr("10.1.0.1"), s6 = taddr("2001:db8:d::1");
	struct tpkt t4 = { .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6, .sport = 40000,
			   .dport = 80, .tcp_flags = TCP_F_ACK, .frag = 0x4000,
			   .payload_len = 1480 - 40 };
	struct tpkt t6 = { .src = "2001:db8:c::7", .dst = "2001:db8:a::10", .proto = 6,
			   .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
			   .payload_len = 1460 - 60 };

	(void)state;
	/* IPv4 with DF: 1480 + 20 fits 1500 exactly, one byte more does not. */
	tf_build(&f, t4);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c4, &s4, 1500), DROP_NONE);
	assert_int_equal(f.p.len, 14 + 1500);
	t4.payload_len++;
	tf_build(&f, t4);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c4, &s4, 1500), DROP_TOO_BIG);
	assert_untouched(&f);
	/* IPv4 without DF: refused the same way (we do not fragment). */
	t4.frag = 0;
	tf_build(&f, t4);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c4, &s4, 1500), DROP_TOO_BIG);
	assert_untouched(&f);
	/* mtu 0: unknown, not checked */
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c4, &s4, 0), DROP_NONE);

	/* IPv6: 1460 + 40 fits, 1461 + 40 does not. */
	tf_build(&f, t6);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c6, &s6, 1500), DROP_NONE);
	assert_int_equal(f.p.len, 14 + 1500);
	t6.payload_len++;
	tf_build(&f, t6);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c6, &s6, 1500), DROP_TOO_BIG);
	assert_untouched(&f);
}

static void test_tun_refusals(void **state)
{
	static struct tf f;
	struct conn c = mkconn("198.51.100.7", 40000, "192.0.2.10", 80, "10.1.0.5", 8080, NULL, 0);
	union ulvs_addr src = taddr("10.1.0.1");
	struct tpkt t = { .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6, .sport = 40000,
			  .dport = 80, .tcp_flags = TCP_F_ACK };

	(void)state;
	tf_build(&f, t);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_DR_PORT_MISMATCH);
	assert_untouched(&f);
	c.dport = c.vport;
	tf_build(&f, t);
	tf_squeeze(&f, 19);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NO_HEADROOM);
	assert_untouched(&f);
	tf_build(&f, t);
	tf_squeeze(&f, 20);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_NONE);
	assert_ptr_equal(f.p.data, f.buf);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	/* families must agree */
	c.af = ULVS_AF_INET6;
	tf_build(&f, t);
	assert_int_equal(xmit_tun(&f.p, &f.pi, &c, &src, 1500), DROP_UNSUPPORTED);
	assert_untouched(&f);
}

/* ------------------------------------------------------------ FULLNAT --- */

static const uint8_t SYN_OPTS[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
				    1, 3, 3, 7 }; /* MSS 1460, SACK-perm, TS, NOP, WS 7 */

static void assert_fnat_in_tuple(const struct tf *f, const struct conn *c)
{
	const uint8_t *ip = f->p.data + f->pi.l3_off, *tcp = f->p.data + f->pi.l4_off;
	if (c->af == ULVS_AF_INET) {
		assert_memory_equal(ip + 12, &c->laddr.ip, 4);
		assert_memory_equal(ip + 16, &c->daddr.ip, 4);
	} else {
		assert_memory_equal(ip + 8, c->laddr.b, 16);
		assert_memory_equal(ip + 24, c->daddr.b, 16);
	}
	assert_memory_equal(tcp, &c->lport, 2);
	assert_memory_equal(tcp + 2, &c->dport, 2);
}

static void assert_fnat_out_tuple(const struct tf *f, const struct conn *c)
{
	const uint8_t *ip = f->p.data + f->pi.l3_off, *tcp = f->p.data + f->pi.l4_off;
	if (c->af == ULVS_AF_INET) {
		assert_memory_equal(ip + 12, &c->vaddr.ip, 4);
		assert_memory_equal(ip + 16, &c->caddr.ip, 4);
	} else {
		assert_memory_equal(ip + 8, c->vaddr.b, 16);
		assert_memory_equal(ip + 24, c->caddr.b, 16);
	}
	assert_memory_equal(tcp, &c->vport, 2);
	assert_memory_equal(tcp + 2, &c->cport, 2);
}

static struct conn fnat4(void)
{
	return mkconn("198.51.100.7", 40000, "192.0.2.10", 80, "10.2.0.5", 8080, "10.2.0.1", 5000);
}

static struct conn fnat6(void)
{
	return mkconn("2001:db8:c::7", 40000, "2001:db8:a::10", 443, "2001:db8:b::5", 8443,
		      "2001:db8:e::1", 6000);
}

static void test_fnat_in_syn_mss(void **state)
{
	static struct tf f;
	struct engine_stats st = { 0 };
	struct conn c = fnat4();
	const uint8_t *tcp;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_SYN,
				    .seq = 77, .tcp_opts = SYN_OPTS,
				    .tcp_opts_len = sizeof(SYN_OPTS) });
	/* insert_toa on a SYN must not add anything */
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data);
	assert_int_equal(f.p.len, f.orig_len);
	assert_fnat_in_tuple(&f, &c);
	tcp = f.p.data + 34;
	assert_int_equal(tcp[12] >> 4, 10);
	assert_int_equal(rd16(tcp + 22), 1460 - 8);
	/* the other options unchanged */
	assert_memory_equal(tcp + 24, SYN_OPTS + 4, sizeof(SYN_OPTS) - 4);
	assert_int_equal(f.p.data[14 + 8], 64); /* TTL is the engine's business */
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(st.toa_inserted, 0);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
}

static void test_fnat_mss_odd_offset(void **state)
{
	static struct tf f;
	static const uint8_t opts[] = { 1, 2, 4, 0x05, 0x8c, 1, 1, 1 }; /* NOP, MSS 1420 */
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_SYN,
				    .tcp_opts = opts, .tcp_opts_len = sizeof(opts) });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_int_equal(rd16(f.p.data + 34 + 23), 1412);
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* no MSS option, or one too small to lower: left alone */
	static const uint8_t small[] = { 2, 4, 0, 8 };
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_SYN,
				    .tcp_opts = small, .tcp_opts_len = sizeof(small) });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_int_equal(rd16(f.p.data + 34 + 22), 8);
	assert_int_equal(st.mss_clamped, 1);
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_SYN });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
}

static void test_fnat_in_ack_toa(void **state)
{
	static struct tf f;
	struct engine_stats st = { 0 };
	struct conn c = fnat4();
	const uint8_t *ip, *tcp;
	uint8_t want[8] = { 254, 8, 0x9c, 0x40, 198, 51, 100, 7 };

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .seq = 78, .ack = 5001 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data - 8);
	assert_int_equal(f.p.len, f.orig_len + 8);
	assert_memory_equal(f.p.data, f.orig, 14);
	ip = f.p.data + 14;
	tcp = ip + 20;
	assert_int_equal(rd16(ip + 2), 20 + 28);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(tcp[12] >> 4, 7);
	assert_int_equal(tcp[13], TCP_F_ACK);
	assert_memory_equal(tcp + 4, f.orig + 34 + 4, 8); /* seq, ack untouched */
	assert_memory_equal(tcp + 20, want, 8);
	assert_int_equal(st.toa_inserted, 1);
	assert_int_equal(st.mss_clamped, 0);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);

	/* the real server's view: the option parses back to the client */
	enum ulvs_af af;
	union ulvs_addr a;
	uint16_t port;
	assert_int_equal(toa_parse(tcp + 20, 8, &af, &a, &port), 0);
	assert_int_equal(af, ULVS_AF_INET);
	assert_true(addr_eq(&a, &c.caddr));
	assert_int_equal(port, c.cport);
}

static void test_fnat_in_toa_with_opts_and_data(void **state)
{
	static struct tf f;
	static const uint8_t ts[] = { 1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0 };
	struct engine_stats st = { 0 };
	struct conn c = fnat4();
	const uint8_t *tcp;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80,
				    .tcp_flags = TCP_F_ACK | TCP_F_PSH, .tcp_opts = ts,
				    .tcp_opts_len = sizeof(ts), .payload_len = 333 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	tcp = f.p.data + 34;
	assert_int_equal(tcp[12] >> 4, 10);
	assert_int_equal(tcp[20], 254);
	assert_memory_equal(tcp + 28, ts, sizeof(ts));
	/* the payload did not move in the buffer */
	assert_memory_equal(tcp + 40, f.orig + 34 + 32, 333);
	assert_ptr_equal(tcp + 40, f.orig_p.data + 34 + 32);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(st.toa_inserted, 1);
}

static void test_fnat_in_data(void **state)
{
	static struct tf f;
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80,
				    .tcp_flags = TCP_F_ACK | TCP_F_PSH, .payload_len = 1000 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data);
	assert_int_equal(f.p.len, f.orig_len);
	assert_fnat_in_tuple(&f, &c);
	/* everything but addresses, ports and the two checksums is as it was */
	assert_memory_equal(f.p.data, f.orig, 14 + 10);
	assert_memory_equal(f.p.data + 34 + 4, f.orig + 34 + 4, 12);
	assert_memory_equal(f.p.data + 34 + 18, f.orig + 34 + 18, f.orig_len - 34 - 18);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(st.toa_inserted + st.mss_clamped + st.toa_no_room, 0);
}

static void test_fnat_v6(void **state)
{
	static struct tf f;
	static const uint8_t mss[] = { 2, 4, 0x05, 0xa0 }; /* 1440 */
	struct engine_stats st = { 0 };
	struct conn c = fnat6();
	const uint8_t *ip, *tcp;
	enum ulvs_af af;
	union ulvs_addr a;
	uint16_t port;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "2001:db8:c::7", .dst = "2001:db8:a::10", .proto = 6,
				    .sport = 40000, .dport = 443, .tcp_flags = TCP_F_SYN,
				    .tcp_opts = mss, .tcp_opts_len = sizeof(mss) });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(rd16(f.p.data + 54 + 22), 1420);
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);

	tf_build(&f, (struct tpkt){ .src = "2001:db8:c::7", .dst = "2001:db8:a::10", .proto = 6,
				    .sport = 40000, .dport = 443, .tcp_flags = TCP_F_ACK,
				    .payload_len = 7 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data - 20);
	assert_int_equal(f.p.len, f.orig_len + 20);
	ip = f.p.data + 14;
	tcp = ip + 40;
	assert_int_equal(rd16(ip + 4), 20 + 20 + 7);
	assert_int_equal(tcp[12] >> 4, 10);
	assert_int_equal(tcp[20], 254);
	assert_int_equal(tcp[21], 20);
	assert_memory_equal(tcp + 22, &c.cport, 2);
	assert_memory_equal(tcp + 24, c.caddr.b, 16);
	assert_memory_equal(tcp + 40, f.orig + 54 + 20, 7);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(st.toa_inserted, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_int_equal(toa_parse(tcp + 20, 20, &af, &a, &port), 0);
	assert_int_equal(af, ULVS_AF_INET6);
	assert_true(addr_eq(&a, &c.caddr));
	assert_int_equal(port, c.cport);
}

static void test_fnat_options_full(void **state)
{
	static struct tf f;
	/* NOP NOP + SACK with 4 blocks = 36 bytes: no room for 8 more */
	uint8_t sack[36] = { 1, 1, 5, 34 };
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	for (unsigned i = 4; i < sizeof(sack); i++)
		sack[i] = (uint8_t)i;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .tcp_opts = sack, .tcp_opts_len = sizeof(sack),
				    .payload_len = 10 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_ptr_equal(f.p.data, f.orig_p.data);
	assert_int_equal(f.p.len, f.orig_len);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(f.p.data[34 + 12] >> 4, 14);
	assert_memory_equal(f.p.data + 34 + 20, sack, sizeof(sack));
	assert_int_equal(st.toa_no_room, 1);
	assert_int_equal(st.toa_inserted, 0);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* 32 bytes of options + 8 = 40: exactly fits */
	uint8_t fits[32] = { 1, 1, 5, 26 };
	memset(fits + 28, 1, 4);
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .tcp_opts = fits, .tcp_opts_len = sizeof(fits) });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
	assert_memory_equal(f.p.data + 34 + 28, fits, sizeof(fits));
	assert_int_equal(f.p.data[34 + 12] >> 4, 15);
	assert_int_equal(st.toa_inserted, 1);
	assert_int_equal(st.toa_no_room, 1);
}

/* A client's own kind-254 option would let it choose the address the real
 * server believes; it is blanked whether or not ours goes in. */
static void test_fnat_toa_spoof(void **state)
{
	static struct tf f;
	/* NOP, TOA(1.2.3.4:7) at an odd offset, NOP NOP NOP */
	static const uint8_t spoof[] = { 1, 254, 8, 0, 7, 1, 2, 3, 4, 1, 1, 1 };
	static const uint8_t nops[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	uint8_t full[36] = { 254, 8, 0, 7, 1, 2, 3, 4, 5, 26 };
	struct engine_stats st = { 0 };
	struct conn c = fnat4();
	const uint8_t *tcp;
	enum ulvs_af af;
	union ulvs_addr a;
	uint16_t port;

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .tcp_opts = spoof, .tcp_opts_len = sizeof(spoof),
				    .payload_len = 5 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	tcp = f.p.data + 34;
	assert_int_equal(tcp[12] >> 4, 10);
	assert_memory_equal(tcp + 28, nops, sizeof(nops));
	assert_int_equal(toa_parse(tcp + 20, 20, &af, &a, &port), 0);
	assert_true(addr_eq(&a, &c.caddr));
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* no room for ours: theirs still goes */
	memset(full + 10, 0xaa, 24);
	full[34] = full[35] = 1;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
				    .tcp_opts = full, .tcp_opts_len = sizeof(full) });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	tcp = f.p.data + 34;
	assert_int_equal(st.toa_no_room, 1);
	assert_int_equal(toa_parse(tcp + 20, 36, &af, &a, &port), -ENOENT);
	assert_memory_equal(tcp + 20, nops, 8);
	assert_memory_equal(tcp + 28, full + 8, 28);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
}

static void test_fnat_no_headroom(void **state)
{
	static struct tf f;
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK });
	tf_squeeze(&f, 7);
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NO_HEADROOM);
	assert_untouched(&f);
	assert_int_equal(st.toa_inserted, 0);
	/* without TOA the same frame goes through */
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, false, &st), DROP_NONE);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
}

static void test_fnat_out(void **state)
{
	static struct tf f;
	static const uint8_t opts[] = { 2, 4, 0x23, 0x28, 1, 3, 3, 9 }; /* MSS 9000 */
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	tf_build(&f, (struct tpkt){ .src = "10.2.0.5", .dst = "10.2.0.1", .proto = 6,
				    .sport = 8080, .dport = 5000,
				    .tcp_flags = TCP_F_SYN | TCP_F_ACK, .tcp_opts = opts,
				    .tcp_opts_len = sizeof(opts) });
	assert_int_equal(xmit_fnat_out(&f.p, &f.pi, &c, &st), DROP_NONE);
	assert_fnat_out_tuple(&f, &c);
	assert_int_equal(rd16(f.p.data + 34 + 22), 9000 - 8);
	assert_int_equal(f.p.len, f.orig_len);
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);

	tf_build(&f, (struct tpkt){ .src = "10.2.0.5", .dst = "10.2.0.1", .proto = 6,
				    .sport = 8080, .dport = 5000,
				    .tcp_flags = TCP_F_ACK | TCP_F_PSH, .payload_len = 500 });
	assert_int_equal(xmit_fnat_out(&f.p, &f.pi, &c, &st), DROP_NONE);
	assert_fnat_out_tuple(&f, &c);
	assert_memory_equal(f.p.data + 34 + 20, f.orig + 34 + 20, 500);
	assert_int_equal(st.mss_clamped, 1);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);

	/* IPv6 SYN-ACK: lowered by 20 */
	struct conn c6 = fnat6();
	static const uint8_t m6[] = { 2, 4, 0x05, 0xa0 };
	tf_build(&f, (struct tpkt){ .src = "2001:db8:b::5", .dst = "2001:db8:e::1", .proto = 6,
				    .sport = 8443, .dport = 6000,
				    .tcp_flags = TCP_F_SYN | TCP_F_ACK, .tcp_opts = m6,
				    .tcp_opts_len = sizeof(m6) });
	assert_int_equal(xmit_fnat_out(&f.p, &f.pi, &c6, &st), DROP_NONE);
	assert_fnat_out_tuple(&f, &c6);
	assert_int_equal(rd16(f.p.data + 54 + 22), 1420);
	assert_int_equal(st.mss_clamped, 2);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
}

static void test_fnat_udp(void **state)
{
	static struct tf f;
	struct engine_stats st = { 0 };
	struct conn c = fnat4();

	(void)state;
	c.proto = 17;
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 17,
				    .sport = 40000, .dport = 80, .payload_len = 20 });
	assert_int_equal(xmit_fnat_in(&f.p, &f.pi, &c, true, &st), DROP_NONE);
	assert_fnat_in_tuple(&f, &c);
	assert_int_equal(f.p.len, f.orig_len);
	assert_int_equal(st.toa_inserted, 0);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_pi_matches_frame(&f);
}

/* ------------------------------------------------------------ TOA/MSS --- */

static void test_toa_roundtrip(void **state)
{
	uint8_t opts[40];
	enum ulvs_af af;
	union ulvs_addr a4 = taddr("203.0.113.9"), a6 = taddr("2001:db8::abcd"), got;
	uint16_t port;

	(void)state;
	/* options before it are skipped */
	opts[0] = 1;
	opts[1] = 8;
	opts[2] = 10;
	memset(opts + 3, 0xee, 8);
	assert_int_equal(toa_build(opts + 11, ULVS_AF_INET, &a4, htons(1234)), 8);
	assert_int_equal(toa_parse(opts, 19, &af, &got, &port), 0);
	assert_int_equal(af, ULVS_AF_INET);
	assert_true(addr_eq(&got, &a4));
	assert_int_equal(ntohs(port), 1234);
	assert_int_equal(toa_build(opts, ULVS_AF_INET6, &a6, htons(65535)), 20);
	assert_int_equal(toa_parse(opts, 20, &af, &got, &port), 0);
	assert_int_equal(af, ULVS_AF_INET6);
	assert_true(addr_eq(&got, &a6));
	assert_int_equal(ntohs(port), 65535);
	assert_int_equal(toa_build(opts, ULVS_AF_NONE, &a6, 0), 0);
	assert_int_equal(toa_len(ULVS_AF_INET), 8);
	assert_int_equal(toa_len(ULVS_AF_INET6), 20);
}

static void test_toa_malformed(void **state)
{
	enum ulvs_af af;
	union ulvs_addr a;
	uint16_t port;
	static const uint8_t none[] = { 1, 1, 2, 4, 5, 0xb4 };
	static const uint8_t eol[] = { 0, 254, 8, 0, 1, 1, 2, 3, 4 };
	static const uint8_t badlen[] = { 254, 10, 0, 1, 1, 2, 3, 4, 0, 0 };
	static const uint8_t zero[] = { 3, 0, 254, 8, 0, 1, 1, 2, 3, 4 };
	static const uint8_t past[] = { 254, 8, 0, 1, 1, 2, 3 };
	static const uint8_t lone[] = { 1, 254 };

	(void)state;
	assert_int_equal(toa_parse(none, sizeof(none), &af, &a, &port), -ENOENT);
	assert_int_equal(toa_parse(none, 0, &af, &a, &port), -ENOENT);
	assert_int_equal(toa_parse(eol, sizeof(eol), &af, &a, &port), -ENOENT);
	assert_int_equal(toa_parse(badlen, sizeof(badlen), &af, &a, &port), -EINVAL);
	assert_int_equal(toa_parse(zero, sizeof(zero), &af, &a, &port), -EINVAL);
	assert_int_equal(toa_parse(past, sizeof(past), &af, &a, &port), -EINVAL);
	assert_int_equal(toa_parse(lone, sizeof(lone), &af, &a, &port), -EINVAL);
}

static void test_toa_insert_refusals(void **state)
{
	static struct tf f;
	union ulvs_addr a = taddr("198.51.100.7");

	(void)state;
	/* a fragment cannot grow */
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 1, .dport = 2, .tcp_flags = TCP_F_ACK,
				    .frag = 0x2000, .payload_len = 16 });
	assert_int_equal(toa_insert(&f.p, &f.pi, ULVS_AF_INET, &a, 1), -EINVAL);
	assert_untouched(&f);
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 17,
				    .sport = 1, .dport = 2 });
	assert_int_equal(toa_insert(&f.p, &f.pi, ULVS_AF_INET, &a, 1), -EINVAL);
	assert_untouched(&f);
	tf_build(&f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
				    .sport = 1, .dport = 2, .tcp_flags = TCP_F_ACK });
	tf_squeeze(&f, 0);
	assert_int_equal(toa_insert(&f.p, &f.pi, ULVS_AF_INET, &a, 1), -ENOBUFS);
	assert_untouched(&f);
}

/* --------------------------------------------------------------- lport --- */

#define LPORT_N (ULVS_LPORT_MAX - ULVS_LPORT_MIN + 1)

static void test_lport_exhaust_reuse(void **state)
{
	static uint8_t seen[65536];
	struct lport_pool *lp = lport_pool_new(1);
	uint16_t port, a, b;

	(void)state;
	assert_non_null(lp);
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < LPORT_N; i++) {
		assert_int_equal(lport_alloc(lp, &port), 0);
		port = ntohs(port);
		assert_true((unsigned)port - ULVS_LPORT_MIN < LPORT_N);
		assert_int_equal(seen[port], 0);
		seen[port] = 1;
	}
	assert_int_equal(lport_in_use(lp), LPORT_N);
	assert_int_equal(lport_alloc(lp, &port), -ENOSPC);

	/* released ports come back, oldest release first */
	a = htons(2000);
	b = htons(60000);
	lport_release(lp, a);
	lport_release(lp, b);
	assert_int_equal(lport_in_use(lp), LPORT_N - 2);
	assert_int_equal(lport_alloc(lp, &port), 0);
	assert_int_equal(port, a);
	assert_int_equal(lport_alloc(lp, &port), 0);
	assert_int_equal(port, b);
	assert_int_equal(lport_alloc(lp, &port), -ENOSPC);

	/* double and stray releases are ignored and counted */
	lport_release(lp, a);
	lport_release(lp, a);
	lport_release(lp, htons(80));
	assert_int_equal(lport_bad_releases(lp), 2);
	assert_int_equal(lport_in_use(lp), LPORT_N - 1);
	assert_int_equal(lport_alloc(lp, &port), 0);
	assert_int_equal(port, a);
	assert_int_equal(lport_alloc(lp, &port), -ENOSPC);
	lport_pool_free(lp);
}

static void test_lport_seeded(void **state)
{
	struct lport_pool *x = lport_pool_new(7), *y = lport_pool_new(7), *z = lport_pool_new(8);
	uint16_t px, py, pz;
	unsigned same_z = 0, ascending = 0;
	uint16_t prev = 0;

	(void)state;
	for (unsigned i = 0; i < 64; i++) {
		assert_int_equal(lport_alloc(x, &px), 0);
		assert_int_equal(lport_alloc(y, &py), 0);
		assert_int_equal(lport_alloc(z, &pz), 0);
		assert_int_equal(px, py);
		same_z += px == pz;
		ascending += ntohs(px) == prev + 1;
		prev = ntohs(px);
	}
	/* another seed walks another order, and neither is the plain range */
	assert_true(same_z < 4);
	assert_true(ascending < 4);
	lport_pool_free(x);
	lport_pool_free(y);
	lport_pool_free(z);
}

/* -------------------------------------------------------------- engine --- */

/* The engine end to end for the two modes: one director interface, clients
 * and real servers on link (so the neighbour table gives their MACs).
 *
 *   client 198.51.100.7 ─┐                ┌─ FNAT RS 10.2.0.5:8080
 *   (02:..:c1)           ├─ eth0 director ┤  TUN RS  10.3.0.5:80
 *                        │  10.0.0.1, laddr 10.2.0.1
 */
static const struct ulvs_mac IF_MAC = { { 0x02, 0, 0, 0, 0, 0xd0 } };
static const struct ulvs_mac CLI_MAC = { { 0x02, 0, 0, 0, 0, 0xc1 } };
static const struct ulvs_mac RS_MAC = { { 0x02, 0, 0, 0, 0, 0xe5 } };
static const struct ulvs_mac TRS_MAC = { { 0x02, 0, 0, 0, 0, 0xf5 } };

struct rig {
	struct fib fib;
	struct svc_table *svcs;
	struct engine *e;
	uint64_t now;
};

static void rig_route(struct fib *f, const char *prefix, unsigned plen)
{
	union ulvs_addr p = taddr(prefix), gw = { .q = { 0, 0 } };
	assert_int_equal(fib_add_route(f, ULVS_AF_INET, &p, plen, &gw, 0), 0);
}

static void rig_neigh(struct fib *f, const char *a, const struct ulvs_mac *m)
{
	union ulvs_addr x = taddr(a);
	assert_int_equal(fib_add_neigh(f, ULVS_AF_INET, &x, m, 0), 0);
}

static struct rig *rig_new(void)
{
	static struct rig r;
	struct engine_params ep;
	struct svc tmpl, *s;
	struct dest d;
	union ulvs_addr la = taddr("10.2.0.1");
	int id;

	memset(&r, 0, sizeof(r));
	fib_init(&r.fib);
	id = fib_add_iface(&r.fib, "eth0", &IF_MAC, 1500, 0);
	assert_int_equal(id, 0);
	r.fib.ifaces[0].addr4 = taddr("10.0.0.1");
	r.fib.ifaces[0].has_addr4 = 1;
	rig_route(&r.fib, "198.51.100.0", 24);
	rig_route(&r.fib, "10.0.0.0", 8);
	rig_neigh(&r.fib, "198.51.100.7", &CLI_MAC);
	rig_neigh(&r.fib, "10.2.0.5", &RS_MAC);
	rig_neigh(&r.fib, "10.3.0.5", &TRS_MAC);

	r.svcs = svc_table_new();
	assert_non_null(r.svcs);
	/* FULLNAT 192.0.2.10:80 -> 10.2.0.5:8080 from 10.2.0.1 */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = ULVS_AF_INET;
	tmpl.proto = IPPROTO_TCP_;
	tmpl.addr = taddr("192.0.2.10");
	tmpl.port = htons(80);
	tmpl.sorry_dest = -1;
	assert_int_equal(svc_add(r.svcs, &tmpl, "rr", &s), 0);
	memset(&d, 0, sizeof(d));
	d.af = ULVS_AF_INET;
	d.addr = taddr("10.2.0.5");
	d.port = htons(8080);
	d.fwd = FWD_FNAT;
	d.weight = 1;
	d.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(r.svcs, s, &d, NULL), 0);
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &la, 0), 0);
	assert_int_equal(svc_commit(r.svcs, s), 0);
	/* TUN 192.0.2.20:80 -> 10.3.0.5:80 */
	tmpl.addr = taddr("192.0.2.20");
	assert_int_equal(svc_add(r.svcs, &tmpl, "rr", &s), 0);
	d.addr = taddr("10.3.0.5");
	d.port = htons(80);
	d.fwd = FWD_TUN;
	assert_int_equal(svc_add_dest(r.svcs, s, &d, NULL), 0);
	assert_int_equal(svc_commit(r.svcs, s), 0);

	memset(&ep, 0, sizeof(ep));
	r.now = 1000000000ull;
	r.e = engine_new(&ep, &r.fib, r.svcs, r.now);
	assert_non_null(r.e);
	return &r;
}

static void rig_free(struct rig *r)
{
	engine_free(r->e);
	svc_table_free(r->svcs);
}

/* One frame through the engine; returns its verdict. */
static struct verdict rig_run(struct rig *r, struct tf *f, struct tpkt t)
{
	struct verdict v;
	t.smac = CLI_MAC;
	t.dmac = IF_MAC;
	tf_build(f, t);
	r->now += 1000000;
	unsigned tx = engine_process(r->e, &f->p, &v, 1, r->now);
	assert_int_equal(tx, v.kind == VERDICT_TX);
	return v;
}

static void assert_eth(const struct tf *f, const struct ulvs_mac *dst, uint16_t type)
{
	assert_memory_equal(f->p.data, dst->b, 6);
	assert_memory_equal(f->p.data + 6, IF_MAC.b, 6);
	assert_int_equal(rd16(f->p.data + 12), type);
}

static void assert_ip4(const uint8_t *ip, const char *src, uint16_t sport, const char *dst,
		       uint16_t dport)
{
	union ulvs_addr s = taddr(src), d = taddr(dst);
	assert_memory_equal(ip + 12, &s.ip, 4);
	assert_memory_equal(ip + 16, &d.ip, 4);
	assert_int_equal(rd16(ip + 20), sport);
	assert_int_equal(rd16(ip + 22), dport);
}

static void test_engine_fnat_flow(void **state)
{
	static struct tf f;
	static const uint8_t mss[] = { 2, 4, 0x05, 0xb4 };
	struct rig *r = rig_new();
	const struct engine_stats *st = engine_stats(r->e);
	struct verdict v;
	uint16_t lport;
	const uint8_t *tcp;
	enum ulvs_af af;
	union ulvs_addr a;
	uint16_t port;

	(void)state;
	/* SYN: scheduled, SNAT to the local address, MSS lowered, TTL routed */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
					  .sport = 40000, .dport = 80, .tcp_flags = TCP_F_SYN,
					  .seq = 100, .tcp_opts = mss, .tcp_opts_len = 4 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_int_equal(v.iface, 0);
	assert_eth(&f, &RS_MAC, 0x0800);
	lport = rd16(f.p.data + 34);
	assert_true(lport >= ULVS_LPORT_MIN);
	assert_ip4(f.p.data + 14, "10.2.0.1", lport, "10.2.0.5", 8080);
	assert_int_equal(f.p.data[14 + 8], 63);
	assert_int_equal(rd16(f.p.data + 34 + 22), 1452);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_int_equal(st->new_conns, 1);
	assert_int_equal(st->mss_clamped, 1);

	/* SYN-ACK from the real server to laddr:lport, mapped back */
	static const uint8_t mss2[] = { 2, 4, 0x05, 0xb4 };
	v = rig_run(r, &f, (struct tpkt){ .src = "10.2.0.5", .dst = "10.2.0.1", .proto = 6,
					  .sport = 8080, .dport = lport,
					  .tcp_flags = TCP_F_SYN | TCP_F_ACK, .seq = 5000,
					  .ack = 101, .tcp_opts = mss2, .tcp_opts_len = 4 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_eth(&f, &CLI_MAC, 0x0800);
	assert_ip4(f.p.data + 14, "192.0.2.10", 80, "198.51.100.7", 40000);
	assert_int_equal(rd16(f.p.data + 34 + 22), 1452);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_int_equal(st->mss_clamped, 2);
	assert_int_equal(st->new_conns, 1);

	/* the handshake's ACK carries the client to the real server */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
					  .sport = 40000, .dport = 80, .tcp_flags = TCP_F_ACK,
					  .seq = 101, .ack = 5001 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_eth(&f, &RS_MAC, 0x0800);
	assert_ip4(f.p.data + 14, "10.2.0.1", lport, "10.2.0.5", 8080);
	tcp = f.p.data + 34;
	assert_int_equal(tcp[12] >> 4, 7);
	assert_int_equal(rd16(f.p.data + 14 + 2), 48);
	assert_int_equal(toa_parse(tcp + 20, 8, &af, &a, &port), 0);
	assert_true(addr_eq(&a, &(union ulvs_addr){ .ip = taddr("198.51.100.7").ip }));
	assert_int_equal(ntohs(port), 40000);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_int_equal(st->toa_inserted, 1);

	/* data before the server has spoken: the option is offered again (the
	 * engine's policy covers a lost handshake ACK) */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
					  .sport = 40000, .dport = 80,
					  .tcp_flags = TCP_F_ACK | TCP_F_PSH, .seq = 101,
					  .ack = 5001, .payload_len = 200 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_ip4(f.p.data + 14, "10.2.0.1", lport, "10.2.0.5", 8080);
	assert_int_equal(f.p.data[34 + 12] >> 4, 7);
	assert_memory_equal(f.p.data + 34 + 28, f.orig + 34 + 20, 200);
	assert_int_equal(st->toa_inserted, 2);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* the server's answer */
	v = rig_run(r, &f, (struct tpkt){ .src = "10.2.0.5", .dst = "10.2.0.1", .proto = 6,
					  .sport = 8080, .dport = lport,
					  .tcp_flags = TCP_F_ACK | TCP_F_PSH, .seq = 5001,
					  .ack = 301, .payload_len = 700 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_eth(&f, &CLI_MAC, 0x0800);
	assert_ip4(f.p.data + 14, "192.0.2.10", 80, "198.51.100.7", 40000);
	assert_int_equal(f.p.data[14 + 8], 63);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* after it, data goes without the option */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
					  .sport = 40000, .dport = 80,
					  .tcp_flags = TCP_F_ACK | TCP_F_PSH, .seq = 301,
					  .ack = 5701, .payload_len = 100 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_ip4(f.p.data + 14, "10.2.0.1", lport, "10.2.0.5", 8080);
	assert_int_equal(f.p.data[34 + 12] >> 4, 5);
	assert_int_equal(f.p.len, f.orig_len);
	assert_int_equal(st->toa_inserted, 2);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* FIN from the client still maps, and no new connection is made */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.10", .proto = 6,
					  .sport = 40000, .dport = 80,
					  .tcp_flags = TCP_F_FIN | TCP_F_ACK, .seq = 401,
					  .ack = 5701 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_ip4(f.p.data + 14, "10.2.0.1", lport, "10.2.0.5", 8080);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_int_equal(st->new_conns, 1);
	assert_int_equal(st->toa_inserted, 2);
	assert_int_equal(st->drop, 0);
	rig_free(r);
}

static void test_engine_tun(void **state)
{
	static struct tf f;
	struct rig *r = rig_new();
	const struct engine_stats *st = engine_stats(r->e);
	struct verdict v;
	const uint8_t *o, *icmp;

	(void)state;
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.20", .proto = 6,
					  .sport = 40001, .dport = 80, .tcp_flags = TCP_F_SYN,
					  .frag = 0x4000, .ttl = 50 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_eth(&f, &TRS_MAC, 0x0800);
	o = f.p.data + 14;
	assert_int_equal(o[9], 4);
	assert_int_equal(o[8], 64);
	assert_memory_equal(o + 12, &r->fib.ifaces[0].addr4.ip, 4);
	assert_ip4(o + 20, "198.51.100.7", 40001, "192.0.2.20", 80);
	assert_int_equal(o[20 + 8], 50); /* inner TTL untouched */
	assert_int_equal(f.p.len, f.orig_len + 20);
	assert_memory_equal(o + 20, f.orig + 14, f.orig_len - 14);
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);

	/* 1500 bytes with DF cannot take 20 more: frag-needed goes back */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.20", .proto = 6,
					  .sport = 40001, .dport = 80,
					  .tcp_flags = TCP_F_ACK | TCP_F_PSH, .frag = 0x4000,
					  .payload_len = 1460 });
	assert_int_equal(v.kind, VERDICT_TX);
	assert_eth(&f, &CLI_MAC, 0x0800);
	o = f.p.data + 14;
	assert_int_equal(o[9], 1);
	/* from the VIP the client addressed, as the kernel's icmp_send answers
	 * for a packet to a local address */
	assert_memory_equal(o + 12, f.orig + 14 + 16, 4);
	assert_memory_equal(o + 16, f.orig + 14 + 12, 4);
	icmp = o + (o[0] & 15) * 4;
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 4);
	assert_int_equal(rd16(icmp + 6), 1480);
	assert_memory_equal(icmp + 8, f.orig + 14, 28); /* quote starts with the packet */
	assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
	assert_int_equal(st->icmp_too_big_sent, 1);

	/* without DF: refused too (we do not fragment), counted, not answered */
	v = rig_run(r, &f, (struct tpkt){ .src = "198.51.100.7", .dst = "192.0.2.20", .proto = 6,
					  .sport = 40001, .dport = 80,
					  .tcp_flags = TCP_F_ACK | TCP_F_PSH, .payload_len = 1460 });
	assert_int_equal(v.kind, VERDICT_DROP);
	assert_int_equal(v.reason, DROP_TOO_BIG);
	assert_int_equal(st->drops[DROP_TOO_BIG], 1);
	assert_int_equal(st->icmp_too_big_sent, 1);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tun_v4),
		cmocka_unit_test(test_tun_v4_ident),
		cmocka_unit_test(test_tun_v4_vlan_ecn),
		cmocka_unit_test(test_tun_v6),
		cmocka_unit_test(test_tun_too_big),
		cmocka_unit_test(test_tun_refusals),
		cmocka_unit_test(test_fnat_in_syn_mss),
		cmocka_unit_test(test_fnat_mss_odd_offset),
		cmocka_unit_test(test_fnat_in_ack_toa),
		cmocka_unit_test(test_fnat_in_toa_with_opts_and_data),
		cmocka_unit_test(test_fnat_in_data),
		cmocka_unit_test(test_fnat_v6),
		cmocka_unit_test(test_fnat_options_full),
		cmocka_unit_test(test_fnat_toa_spoof),
		cmocka_unit_test(test_fnat_no_headroom),
		cmocka_unit_test(test_fnat_out),
		cmocka_unit_test(test_fnat_udp),
		cmocka_unit_test(test_toa_roundtrip),
		cmocka_unit_test(test_toa_malformed),
		cmocka_unit_test(test_toa_insert_refusals),
		cmocka_unit_test(test_lport_exhaust_reuse),
		cmocka_unit_test(test_lport_seeded),
		cmocka_unit_test(test_engine_fnat_flow),
		cmocka_unit_test(test_engine_tun),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
