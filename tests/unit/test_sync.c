/* Connection sync: the wire codec against bytes laid out by hand from the
 * kernel's struct ip_vs_sync_v4 / ip_vs_sync_mesg (so compatibility is
 * checked against the kernel's layout, not against our own encoder), every
 * validation rule, the conn <-> wire mapping, and the backup side in the
 * engine (engine_conn_import, FULLNAT port reservation, the creation/state
 * hook), with virtual time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conn.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/lport.h"
#include "core/packet.h"
#include "core/service.h"
#include "sync/sync_proto.h"
#include "testutil.h"

#define SEC 1000000000ull

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

/* --- a kernel-format message, byte by byte ----------------------------------- */

/* One IPv4 entry as ip_vs_sync_conn() writes it: 10.1.0.5:40000 ->
 * 10.0.0.100:80 -> 192.168.1.11:8080, ESTABLISHED, masquerading, 900 s. */
static const uint8_t kernel_v4_entry[36] = {
	0x00, 0x06, 0x00, 0x24,             /* type 0, TCP, version 0 size 36 */
	0x00, 0x00, 0x00, 0x00,             /* flags: MASQ, active */
	0x00, 0x01,                         /* state ESTABLISHED */
	0x9c, 0x40, 0x00, 0x50, 0x1f, 0x90, /* cport 40000, vport 80, dport 8080 */
	0x00, 0x00, 0x00, 0x00,             /* fwmark */
	0x00, 0x00, 0x03, 0x84,             /* timeout 900 */
	10, 1, 0, 5, 10, 0, 0, 100, 192, 168, 1, 11,
};

static size_t kernel_msg(uint8_t *buf, const uint8_t *entries, size_t elen, uint8_t n)
{
	buf[0] = 0;          /* reserved */
	buf[1] = 7;          /* syncid */
	buf[2] = (uint8_t)((8 + elen) >> 8);
	buf[3] = (uint8_t)(8 + elen);
	buf[4] = n;
	buf[5] = 1;          /* version */
	buf[6] = buf[7] = 0; /* spare */
	memcpy(buf + 8, entries, elen);
	return 8 + elen;
}

static void test_decode_kernel_layout(void **st)
{
	uint8_t buf[256];
	size_t len = kernel_msg(buf, kernel_v4_entry, sizeof(kernel_v4_entry), 1);
	struct sync_msg m;
	struct sync_iter it;
	struct sync_conn c;
	enum sync_err e;

	assert_int_equal(sync_msg_parse(buf, len, &m), SYNC_OK);
	assert_int_equal(m.syncid, 7);
	assert_int_equal(m.nr_conns, 1);
	assert_int_equal(m.ctl, SYNC_CTL_NONE);
	sync_iter_init(&it, &m);
	assert_int_equal(sync_msg_next(&it, &c, &e), 1);
	assert_int_equal(e, SYNC_OK);
	assert_int_equal(c.af, ULVS_AF_INET);
	assert_int_equal(c.proto, 6);
	assert_int_equal(c.state, 1);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.cport, be16(40000));
	assert_int_equal(c.vport, be16(80));
	assert_int_equal(c.dport, be16(8080));
	assert_int_equal(c.timeout_s, 900);
	assert_true(addr_eq(&c.caddr, &(union ulvs_addr){ .ip = taddr("10.1.0.5").ip }));
	assert_true(addr_eq(&c.vaddr, &(union ulvs_addr){ .ip = taddr("10.0.0.100").ip }));
	assert_true(addr_eq(&c.daddr, &(union ulvs_addr){ .ip = taddr("192.168.1.11").ip }));
	assert_false(c.has_fnat);
	assert_int_equal(sync_msg_next(&it, &c, &e), 0);
}

/* Our encoder produces exactly the kernel's bytes for the same entry. */
static void test_encode_matches_kernel(void **st)
{
	uint8_t want[256], got[256];
	size_t wlen = kernel_msg(want, kernel_v4_entry, sizeof(kernel_v4_entry), 1);
	struct sync_writer w;
	struct sync_conn c = { 0 };

	c.af = ULVS_AF_INET;
	c.proto = 6;
	c.state = 1;
	c.cport = be16(40000);
	c.vport = be16(80);
	c.dport = be16(8080);
	c.timeout_s = 900;
	c.caddr = taddr("10.1.0.5");
	c.vaddr = taddr("10.0.0.100");
	c.daddr = taddr("192.168.1.11");
	sync_writer_init(&w, got, sizeof(got), 7);
	assert_int_equal(sync_writer_add(&w, &c), 0);
	assert_int_equal(sync_writer_len(&w), wlen);
	assert_memory_equal(got, want, wlen);
}

static void roundtrip(const struct sync_conn *in, size_t expect_len)
{
	uint8_t buf[512];
	struct sync_writer w;
	struct sync_msg m;
	struct sync_iter it;
	struct sync_conn out;
	enum sync_err e;

	sync_writer_init(&w, buf, sizeof(buf), 3);
	assert_int_equal(sync_writer_add(&w, in), 0);
	assert_int_equal(sync_writer_add(&w, in), 0); /* second one is padded to 4 */
	assert_int_equal(sync_conn_len(in), expect_len);
	assert_int_equal(sync_writer_len(&w), 8 + ((expect_len + 3) & ~3u) + expect_len);
	assert_int_equal(sync_msg_parse(buf, sync_writer_len(&w), &m), SYNC_OK);
	sync_iter_init(&it, &m);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sync_msg_next(&it, &out, &e), 1);
		assert_int_equal(e, SYNC_OK);
		assert_int_equal(out.af, in->af);
		assert_int_equal(out.proto, in->proto);
		assert_int_equal(out.flags, in->flags);
		assert_int_equal(out.state, in->state);
		assert_int_equal(out.cport, in->cport);
		assert_int_equal(out.fwmark, in->fwmark);
		assert_true(addr_eq(&out.caddr, &in->caddr));
		assert_true(addr_eq(&out.daddr, &in->daddr));
		assert_int_equal(out.has_fnat, in->has_fnat);
		if (in->has_fnat) {
			assert_true(addr_eq(&out.laddr, &in->laddr));
			assert_int_equal(out.lport, in->lport);
			assert_int_equal(out.fnat_flags, in->fnat_flags);
		}
	}
	assert_int_equal(sync_msg_next(&it, &out, &e), 0);
}

static void test_roundtrip_v6_fnat(void **st)
{
	struct sync_conn c = { 0 };

	c.af = ULVS_AF_INET6;
	c.proto = 6;
	c.state = 4;
	c.flags = SYNC_F_FULLNAT | SYNC_F_INACTIVE;
	c.cport = be16(1234);
	c.vport = be16(443);
	c.dport = be16(443);
	c.fwmark = 9;
	c.timeout_s = 120;
	c.caddr = taddr("2001:db8:c::5");
	c.vaddr = taddr("2001:db8::100");
	c.daddr = taddr("fd00:1::11");
	c.has_fnat = true;
	c.laddr = taddr("fd00:1::fe");
	c.lport = be16(5000);
	c.fnat_flags = SYNC_FNAT_OUT_NONSYN;
	roundtrip(&c, 72 + 2 + 20);
	c.af = ULVS_AF_INET;
	c.caddr = taddr("10.1.0.5");
	c.vaddr = taddr("10.0.0.100");
	c.daddr = taddr("192.168.1.11");
	c.laddr = taddr("192.168.1.254");
	roundtrip(&c, 36 + 2 + 8);
}

static void test_writer_limits(void **st)
{
	uint8_t buf[8 + 36 * 3];
	static uint8_t big[65536];
	struct sync_writer w;
	struct sync_conn c = { .af = ULVS_AF_INET, .proto = 17 };

	sync_writer_init(&w, buf, sizeof(buf), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sync_writer_add(&w, &c), 0);
	assert_int_equal(sync_writer_add(&w, &c), -ENOSPC);
	sync_writer_init(&w, big, sizeof(big), 0);
	for (int i = 0; i < SYNC_MAX_CONNS; i++)
		assert_int_equal(sync_writer_add(&w, &c), 0);
	assert_int_equal(sync_writer_add(&w, &c), -ENOSPC);
	assert_int_equal(big[4], 255);
	c.af = 0;
	sync_writer_init(&w, buf, sizeof(buf), 0);
	assert_int_equal(sync_writer_add(&w, &c), -EINVAL);
}

/* --- validation ---------------------------------------------------------------- */

/* Decode all entries; returns the count of good ones, or -(err) at a fatal error. */
static int decode_all(const uint8_t *buf, size_t len, enum sync_err *first_skip)
{
	struct sync_msg m;
	struct sync_iter it;
	struct sync_conn c;
	enum sync_err e = sync_msg_parse(buf, len, &m);
	int r, good = 0;

	*first_skip = SYNC_OK;
	if (e != SYNC_OK)
		return -(int)e;
	sync_iter_init(&it, &m);
	while ((r = sync_msg_next(&it, &c, &e)) != 0) {
		if (r < 0)
			return -(int)e;
		if (e == SYNC_OK)
			good++;
		else if (*first_skip == SYNC_OK)
			*first_skip = e;
	}
	return good;
}

static void test_header_errors(void **st)
{
	uint8_t buf[256];
	size_t len = kernel_msg(buf, kernel_v4_entry, sizeof(kernel_v4_entry), 1);
	enum sync_err sk;

	assert_int_equal(decode_all(buf, len, &sk), 1);
	assert_int_equal(decode_all(buf, 7, &sk), -SYNC_ERR_SHORT);
	assert_int_equal(decode_all(buf, len - 1, &sk), -SYNC_ERR_SIZE);
	buf[5] = 0; /* version 0 */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_VERSION);
	buf[5] = 1;
	buf[0] = 1; /* a v0 message: first byte is its nr_conns */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_VERSION);
	buf[0] = 0;
	buf[4] = 2; /* claims two entries, holds one */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_TRUNC);
	buf[4] = 1;
	buf[8 + 2] = 0x10; /* entry version 1 */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_CONN_VERSION);
	buf[8 + 2] = 0;
	buf[8] = 2; /* unknown entry type */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_CONN_TYPE);
	buf[8] = 1; /* says IPv6 but is 36 bytes long */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_TRUNC);
	buf[8] = 0;
	buf[8 + 3] = 0x30; /* size 48 > message */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_TRUNC);
	buf[8 + 3] = 0x20; /* size 32 < an IPv4 entry */
	assert_int_equal(decode_all(buf, len, &sk), -SYNC_ERR_TRUNC);
}

/* An entry with parameter bytes appended (size and header fixed up). */
static size_t entry_with_params(uint8_t *msg, const uint8_t *params, size_t plen, int copies)
{
	uint8_t e[2][128];
	size_t el = sizeof(kernel_v4_entry) + plen, padded = (el + 3) & ~(size_t)3, off = 0;

	for (int i = 0; i < copies; i++) {
		memset(e[i], 0, sizeof(e[i]));
		memcpy(e[i], kernel_v4_entry, sizeof(kernel_v4_entry));
		memcpy(e[i] + sizeof(kernel_v4_entry), params, plen);
		e[i][3] = (uint8_t)el;
	}
	uint8_t body[256];
	for (int i = 0; i < copies; i++) {
		memcpy(body + off, e[i], i + 1 < copies ? padded : el);
		off += i + 1 < copies ? padded : el;
	}
	return kernel_msg(msg, body, off, (uint8_t)copies);
}

static void test_param_rules(void **st)
{
	uint8_t msg[512];
	enum sync_err sk;
	size_t len;
	const uint8_t optional_unknown[] = { 0x40 | 0x11, 2, 0xaa, 0xbb };
	const uint8_t mandatory_unknown[] = { 0x11, 2, 0xaa, 0xbb };
	const uint8_t zero_len[] = { 0x40 | 0x11, 0 };
	const uint8_t overrun[] = { 0x40 | 0x11, 9, 1 };
	const uint8_t seq_short[] = { SYNC_OPT_SEQ_DATA, 4, 0, 0, 0, 0 };
	const uint8_t pe_name[] = { SYNC_OPT_PE_NAME, 3, 's', 'i', 'p' };
	const uint8_t fnat_v4[] = { SYNC_OPT_ULVS_FNAT, 8, 0x01, 0, 0x13, 0x88, 192, 168, 1, 254 };
	const uint8_t fnat_bad[] = { SYNC_OPT_ULVS_FNAT, 20, 0x01, 0, 0x13, 0x88, 192, 168, 1, 254,
				     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	len = entry_with_params(msg, optional_unknown, sizeof(optional_unknown), 2);
	assert_int_equal(decode_all(msg, len, &sk), 2);
	/* unknown mandatory: that entry is skipped, the next one still decodes */
	len = entry_with_params(msg, mandatory_unknown, sizeof(mandatory_unknown), 2);
	assert_int_equal(decode_all(msg, len, &sk), 0);
	assert_int_equal(sk, SYNC_ERR_MANDATORY_PARAM);
	len = entry_with_params(msg, zero_len, sizeof(zero_len), 1);
	assert_int_equal(decode_all(msg, len, &sk), -SYNC_ERR_PARAM);
	len = entry_with_params(msg, overrun, sizeof(overrun), 1);
	assert_int_equal(decode_all(msg, len, &sk), -SYNC_ERR_PARAM);
	len = entry_with_params(msg, seq_short, sizeof(seq_short), 1);
	assert_int_equal(decode_all(msg, len, &sk), -SYNC_ERR_PARAM);
	len = entry_with_params(msg, pe_name, sizeof(pe_name), 2);
	assert_int_equal(decode_all(msg, len, &sk), 0);
	assert_int_equal(sk, SYNC_ERR_PE);
	len = entry_with_params(msg, fnat_v4, sizeof(fnat_v4), 1);
	assert_int_equal(decode_all(msg, len, &sk), 1);
	len = entry_with_params(msg, fnat_bad, sizeof(fnat_bad), 1);
	assert_int_equal(decode_all(msg, len, &sk), -SYNC_ERR_PARAM);
}

static void test_padding_and_trailer(void **st)
{
	uint8_t msg[512];
	const uint8_t p1[] = { 0x40 | 0x11, 1, 0xaa }; /* 39-byte entries: 1 byte of pad */
	enum sync_err sk;
	size_t len = entry_with_params(msg, p1, sizeof(p1), 2);

	assert_int_equal(decode_all(msg, len, &sk), 2);
	msg[8 + 39] = 0x55; /* non-zero padding */
	assert_int_equal(decode_all(msg, len, &sk), -SYNC_ERR_PAD);
	msg[8 + 39] = 0;
	/* the last entry padded too: accepted; one more byte: refused */
	msg[len] = 0;
	msg[3] = (uint8_t)(len + 1);
	assert_int_equal(decode_all(msg, len + 1, &sk), 2);
	msg[len + 1] = 0;
	msg[3] = (uint8_t)(len + 2);
	assert_int_equal(decode_all(msg, len + 2, &sk), -SYNC_ERR_PAD);
}

static void test_state_and_proto(void **st)
{
	uint8_t msg[256], e[36];
	enum sync_err sk;
	size_t len;

	memcpy(e, kernel_v4_entry, 36);
	e[9] = 11; /* TCP state past IP_VS_TCP_S_LAST */
	len = kernel_msg(msg, e, 36, 1);
	assert_int_equal(decode_all(msg, len, &sk), 0);
	assert_int_equal(sk, SYNC_ERR_STATE);
	e[1] = 17; /* UDP has one state, 0 */
	e[9] = 1;
	len = kernel_msg(msg, e, 36, 1);
	assert_int_equal(decode_all(msg, len, &sk), 0);
	assert_int_equal(sk, SYNC_ERR_STATE);
	e[1] = 132; /* SCTP: not ours */
	e[9] = 0;
	len = kernel_msg(msg, e, 36, 1);
	assert_int_equal(decode_all(msg, len, &sk), 0);
	assert_int_equal(sk, SYNC_ERR_PROTO);
	e[7] = 0x00;
	e[6] = 0x10; /* a template: any protocol and state */
	len = kernel_msg(msg, e, 36, 1);
	assert_int_equal(decode_all(msg, len, &sk), 1);
}

static void test_control(void **st)
{
	uint8_t buf[64];
	struct sync_msg m;
	size_t n = sync_ctl_encode(buf, sizeof(buf), 5, SYNC_CTL_RESYNC_REQUEST, 0xdeadbeef);

	assert_int_equal(n, SYNC_CTL_LEN);
	/* A kernel sees spare != 0 and takes it for version 0 with nr_conns
	 * = reserved = 0: nothing to do. */
	assert_int_equal(buf[0], 0);
	assert_int_not_equal(buf[6] | buf[7], 0);
	assert_int_equal(sync_msg_parse(buf, n, &m), SYNC_OK);
	assert_int_equal(m.ctl, SYNC_CTL_RESYNC_REQUEST);
	assert_int_equal(m.nonce, 0xdeadbeef);
	assert_int_equal(m.syncid, 5);
	buf[8] ^= 1; /* magic */
	assert_int_equal(sync_msg_parse(buf, n, &m), SYNC_ERR_CTL);
	buf[8] ^= 1;
	buf[7] = 9; /* unknown control type */
	assert_int_equal(sync_msg_parse(buf, n, &m), SYNC_ERR_CTL);
	assert_int_equal(sync_ctl_encode(buf, 8, 0, SYNC_CTL_RESYNC_START, 1), 0);
	assert_int_equal(sync_ctl_encode(buf, sizeof(buf), 0, SYNC_CTL_NONE, 1), 0);
}

/* --- conn <-> wire ------------------------------------------------------------ */

static void test_conn_mapping(void **st)
{
	struct conn c = { 0 }, back;
	struct sync_conn sc;
	uint32_t exp;

	c.af = ULVS_AF_INET;
	c.proto = IPPROTO_TCP_;
	c.caddr = taddr("10.1.0.5");
	c.vaddr = taddr("10.0.0.100");
	c.daddr = taddr("192.168.1.11");
	c.laddr = taddr("192.168.1.254");
	c.cport = be16(40000);
	c.vport = be16(80);
	c.dport = be16(80);
	c.lport = be16(5000);
	c.fwd = FWD_FNAT;
	c.state = CS_FIN_WAIT;
	c.flags = CONN_F_INACTIVE | CONN_F_OUT_NONSYN | CONN_F_TOA_DONE | CONN_F_HASHED;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 1001), 0);
	assert_int_equal(sc.timeout_s, 2); /* rounded up */
	assert_int_equal(sc.flags, SYNC_F_FULLNAT | SYNC_F_INACTIVE);
	assert_int_equal(sc.state, 4);
	assert_true(sc.has_fnat);
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), 0);
	assert_int_equal(exp, 2000);
	assert_int_equal(back.fwd, FWD_FNAT);
	assert_int_equal(back.state, CS_FIN_WAIT);
	assert_int_equal(back.lport, c.lport);
	assert_true(addr_eq(&back.laddr, &c.laddr));
	assert_int_equal(back.flags, CONN_F_INACTIVE | CONN_F_OUT_NONSYN | CONN_F_TOA_DONE);

	/* DR: NOOUTPUT until a reply was seen */
	c.fwd = FWD_DR;
	c.flags = 0;
	c.state = CS_ESTABLISHED;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 0), 0);
	assert_int_equal(sc.flags, SYNC_F_DROUTE | SYNC_F_NOOUTPUT);
	assert_int_equal(sc.timeout_s, 1);
	assert_false(sc.has_fnat);
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), 0);
	assert_false(back.flags & CONN_F_OUT_SEEN);
	c.flags = CONN_F_OUT_SEEN;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 0), 0);
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), 0);
	assert_true(back.flags & CONN_F_OUT_SEEN);

	/* UDP travels in state 0 (IP_VS_UDP_S_NORMAL) */
	c.proto = IPPROTO_UDP_;
	c.state = CS_UDP;
	c.fwd = FWD_NAT;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 5000), 0);
	assert_int_equal(sc.state, 0);
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), 0);
	assert_int_equal(back.state, CS_UDP);

	/* fwmark template: proto 0, mark in vaddr, fwmark field = the mark */
	memset(&c, 0, sizeof(c));
	c.af = ULVS_AF_INET;
	c.flags = CONN_F_TEMPLATE | CONN_F_NO_CPORT | CONN_F_FWMARK;
	c.vaddr.b[3] = 7;
	c.fwd = FWD_DR;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 360000), 0);
	assert_int_equal(sc.fwmark, 7);
	assert_int_equal(sc.flags & (SYNC_F_TEMPLATE | SYNC_F_NO_CPORT),
			 SYNC_F_TEMPLATE | SYNC_F_NO_CPORT);
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), 0);
	assert_int_equal(back.flags & (CONN_F_TEMPLATE | CONN_F_FWMARK | CONN_F_NO_CPORT),
			 CONN_F_TEMPLATE | CONN_F_FWMARK | CONN_F_NO_CPORT);

	/* what the wire refuses */
	sc.flags = 4; /* BYPASS */
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), -EINVAL);
	sc.flags = SYNC_F_FULLNAT;
	sc.has_fnat = false;
	assert_int_equal(sync_conn_to_conn(&sc, &back, &exp), -EINVAL);
	c.flags = 0;
	c.proto = 1;
	assert_int_equal(sync_conn_from_conn(&sc, &c, 0, 0), -EINVAL);
}

/* --- the backup side in the engine --------------------------------------------- */

struct world {
	struct fib fib;
	struct svc_table *t;
	struct engine *e;
	struct svc *nat, *fnat, *per;
	struct dest *d11, *d12, *f11, *p11;
	uint64_t now;
	unsigned n_new, n_state;
	uint8_t last_state;
};

static struct svc *mksvc(struct world *w, const char *vip, uint16_t port, uint32_t flags)
{
	struct svc tmpl = { 0 }, *s = NULL;

	tmpl.af = ULVS_AF_INET;
	tmpl.addr = taddr(vip);
	tmpl.proto = IPPROTO_TCP_;
	tmpl.port = be16(port);
	tmpl.flags = flags;
	tmpl.timeout = 300;
	tmpl.sorry_dest = -1;
	assert_int_equal(svc_add(w->t, &tmpl, "rr", &s), 0);
	return s;
}

static struct dest *mkdest(struct world *w, struct svc *s, const char *a, uint16_t port,
			   enum fwd_method fwd)
{
	struct dest tmpl = { 0 }, *d = NULL;

	tmpl.af = ULVS_AF_INET;
	tmpl.addr = taddr(a);
	tmpl.port = be16(port);
	tmpl.fwd = (uint8_t)fwd;
	tmpl.weight = 1;
	tmpl.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(w->t, s, &tmpl, &d), 0);
	return d;
}

static int world_setup(void **st)
{
	struct world *w = calloc(1, sizeof(*w));
	struct engine_params ep = { .conn_capacity = 4096 };
	union ulvs_addr la = taddr("192.168.1.254");
	struct ulvs_mac m = tmac("02:00:00:00:00:01");

	fib_init(&w->fib);
	assert_int_equal(fib_add_iface(&w->fib, "eth0", &m, 1500, 0), 0);
	w->t = svc_table_new();
	w->nat = mksvc(w, "10.0.0.100", 80, 0);
	w->d11 = mkdest(w, w->nat, "192.168.1.11", 80, FWD_NAT);
	w->d12 = mkdest(w, w->nat, "192.168.1.12", 80, FWD_NAT);
	w->fnat = mksvc(w, "10.0.0.101", 80, 0);
	w->f11 = mkdest(w, w->fnat, "192.168.1.11", 80, FWD_FNAT);
	assert_int_equal(svc_add_laddr(w->fnat, ULVS_AF_INET, &la, 0), 0);
	w->per = mksvc(w, "10.0.0.102", 80, SVC_F_PERSISTENT);
	w->p11 = mkdest(w, w->per, "192.168.1.11", 80, FWD_DR);
	assert_int_equal(svc_commit(w->t, w->nat), 0);
	assert_int_equal(svc_commit(w->t, w->fnat), 0);
	assert_int_equal(svc_commit(w->t, w->per), 0);
	w->now = 1000 * SEC;
	w->e = engine_new(&ep, &w->fib, w->t, w->now);
	assert_non_null(w->e);
	*st = w;
	return 0;
}

static int world_teardown(void **st)
{
	struct world *w = *st;

	engine_free(w->e);
	svc_table_free(w->t);
	free(w);
	return 0;
}

static struct conn conn_nat(const char *client, uint16_t cport, const char *rs, uint8_t state)
{
	struct conn c = { 0 };

	c.af = ULVS_AF_INET;
	c.proto = IPPROTO_TCP_;
	c.caddr = taddr(client);
	c.cport = be16(cport);
	c.vaddr = taddr("10.0.0.100");
	c.vport = be16(80);
	c.daddr = taddr(rs);
	c.dport = be16(80);
	c.fwd = FWD_NAT;
	c.state = state;
	return c;
}

static void test_import_nat(void **st)
{
	struct world *w = *st;
	struct conn_table *ct = engine_conns(w->e);
	struct conn in = conn_nat("10.1.0.5", 40000, "192.168.1.12", CS_ESTABLISHED), *c;
	union ulvs_addr cl = taddr("10.1.0.5"), vip = taddr("10.0.0.100");
	union ulvs_addr rs = taddr("192.168.1.12");
	enum conn_dir dir;

	assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now), 0);
	c = conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &cl, be16(40000), &vip, be16(80), &dir);
	assert_non_null(c);
	assert_int_equal(dir, CONN_DIR_IN);
	assert_int_equal(c->dest_id, w->d12->id);
	/* the reply direction matches too: NAT mapping known */
	assert_ptr_equal(conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &rs, be16(80), &cl, be16(40000),
				     &dir), c);
	assert_int_equal(dir, CONN_DIR_OUT);
	assert_int_equal(w->d12->activeconns, 1);
	assert_int_equal(w->d12->inactconns, 0);
	assert_int_equal(conn_remaining_ms(ct, c, w->now), 60000);

	/* update: FIN_WAIT moves it to inactive, expiry as reported */
	in.state = CS_FIN_WAIT;
	in.flags = CONN_F_INACTIVE;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now + SEC), 0);
	assert_int_equal(conn_count(ct), 1);
	assert_int_equal(c->state, CS_FIN_WAIT);
	assert_int_equal(w->d12->activeconns, 0);
	assert_int_equal(w->d12->inactconns, 1);
	assert_int_equal(conn_remaining_ms(ct, c, w->now + SEC), 5000);

	/* an inactive report naming another real server is an old message
	 * about a replaced connection: ignored (ip_vs_proc_conn) */
	in = conn_nat("10.1.0.5", 40000, "192.168.1.11", CS_CLOSE);
	in.flags = CONN_F_INACTIVE;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now + SEC), 0);
	c = conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &cl, be16(40000), &vip, be16(80), &dir);
	assert_int_equal(c->dest_id, w->d12->id);
	/* an active one replaces it */
	in.state = CS_ESTABLISHED;
	in.flags = 0;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now + SEC), 0);
	c = conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &cl, be16(40000), &vip, be16(80), &dir);
	assert_int_equal(c->dest_id, w->d11->id);
	assert_int_equal(w->d12->inactconns, 0);
	assert_int_equal(w->d11->activeconns, 1);

	/* expiry follows the reported lifetime */
	while (conn_expire_backlog(ct, w->now + 7 * SEC))
		conn_expire(ct, w->now + 7 * SEC, 1000);
	assert_int_equal(conn_count(ct), 0);
	assert_int_equal(w->d11->activeconns, 0);

	/* unknown service / real server */
	in.vport = be16(81);
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now), -ENOENT);
	in = conn_nat("10.1.0.5", 40000, "192.168.1.99", CS_ESTABLISHED);
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now), -ENOENT);
	in.proto = 1;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 5000, w->now), -EPROTONOSUPPORT);
}

static void test_import_fnat_reserves_port(void **st)
{
	struct world *w = *st;
	struct conn_table *ct = engine_conns(w->e);
	struct conn in = { 0 }, *c;
	union ulvs_addr la = taddr("192.168.1.254"), rs = taddr("192.168.1.11");
	enum conn_dir dir;

	in.af = ULVS_AF_INET;
	in.proto = IPPROTO_TCP_;
	in.caddr = taddr("10.1.0.5");
	in.cport = be16(40000);
	in.vaddr = taddr("10.0.0.101");
	in.vport = be16(80);
	in.daddr = rs;
	in.dport = be16(80);
	in.laddr = la;
	in.lport = be16(5000);
	in.fwd = FWD_FNAT;
	in.state = CS_ESTABLISHED;
	in.flags = CONN_F_OUT_NONSYN;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now), 0);
	/* the real server's reply to laddr:lport finds it */
	c = conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &rs, be16(80), &la, be16(5000), &dir);
	assert_non_null(c);
	assert_int_equal(dir, CONN_DIR_OUT);
	assert_true(c->flags & CONN_F_OUT_NONSYN);
	/* another client reported on the same local port: refused */
	in.cport = be16(40001);
	assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now), -EADDRINUSE);
	/* an unknown local address */
	in.laddr = taddr("192.168.1.253");
	assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now), -EADDRNOTAVAIL);
	/* expiry gives the port back: the same import now succeeds */
	while (conn_expire_backlog(ct, w->now + 61 * SEC))
		conn_expire(ct, w->now + 61 * SEC, 1000);
	assert_int_equal(conn_count(ct), 0);
	in.laddr = la;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now + 61 * SEC), 0);
}

static void test_import_template_links(void **st)
{
	struct world *w = *st;
	struct conn_table *ct = engine_conns(w->e);
	struct conn t = { 0 }, in = { 0 }, *tp;
	union ulvs_addr cl = taddr("10.1.0.5"), vip = taddr("10.0.0.102");

	t.af = ULVS_AF_INET;
	t.proto = IPPROTO_TCP_;
	t.caddr = cl;
	t.vaddr = vip;
	t.vport = be16(80);
	t.daddr = taddr("192.168.1.11");
	t.dport = be16(80);
	t.fwd = FWD_DR;
	t.flags = CONN_F_TEMPLATE | CONN_F_NO_CPORT;
	assert_int_equal(engine_conn_import(w->e, &t, 0, 200000, w->now), 0);
	tp = conn_tmpl_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &cl, 0, &vip, be16(80));
	assert_non_null(tp);
	assert_int_equal(w->p11->persistconns, 1);
	assert_int_equal(tp->timeout, 300000); /* its persistence timeout, for re-arming */
	assert_int_equal(conn_remaining_ms(ct, tp, w->now), 200000);

	in = t;
	in.flags = CONN_F_OUT_SEEN;
	in.cport = be16(40000);
	in.state = CS_ESTABLISHED;
	assert_int_equal(engine_conn_import(w->e, &in, 0, 1000, w->now), 0);
	assert_int_equal(tp->n_control, 1);
	conn_expire(ct, w->now + 100 * SEC, 1000);
	while (conn_expire_backlog(ct, w->now + 100 * SEC))
		conn_expire(ct, w->now + 100 * SEC, 1000);
	assert_int_equal(conn_count(ct), 1); /* conn gone at 1 s, template not yet */
	assert_int_equal(tp->n_control, 0);
	while (conn_expire_backlog(ct, w->now + 250 * SEC))
		conn_expire(ct, w->now + 250 * SEC, 1000);
	assert_int_equal(conn_count(ct), 0); /* conn went at 1 s, template at 200 s */
	assert_int_equal(w->p11->persistconns, 0);
}

struct hook_log {
	unsigned n_new, n_state;
	uint8_t states[8];
};

static void hook_cb(void *arg, const struct conn_table *ct, const struct conn *c,
		    enum engine_conn_event ev)
{
	struct hook_log *h = arg;

	if (ev == ENGINE_CONN_NEW)
		h->n_new++;
	else if (h->n_state < 8)
		h->states[h->n_state++] = c->state;
}

static void test_engine_hook(void **st)
{
	struct world *w = *st;
	struct hook_log h = { 0 };
	uint8_t buf[2048];
	struct pkt p;
	struct verdict v;
	struct tpkt syn = { .src = "10.1.0.5", .dst = "10.0.0.100", .proto = 6, .sport = 40000,
			    .dport = 80, .tcp_flags = TCP_F_SYN };

	engine_set_conn_cb(w->e, hook_cb, &h);
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, w->now);
	assert_int_equal(h.n_new, 1);
	assert_int_equal(h.n_state, 1);
	assert_int_equal(h.states[0], CS_SYN_RECV);
	/* the handshake's ACK: ESTABLISHED */
	syn.tcp_flags = TCP_F_ACK;
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, w->now);
	assert_int_equal(h.n_state, 2);
	assert_int_equal(h.states[1], CS_ESTABLISHED);
	/* data without a state change: no event */
	syn.payload_len = 10;
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, w->now);
	assert_int_equal(h.n_state, 2);
	engine_set_conn_cb(w->e, NULL, NULL);
	syn.tcp_flags = TCP_F_FIN | TCP_F_ACK;
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, w->now);
	assert_int_equal(h.n_state, 2);
}

/* conn_walk visits every live connection exactly once across resumed calls. */
static int walk_count(void *arg, const struct conn *c)
{
	unsigned *n = arg;
	(*n)++;
	return 0;
}

static int walk_pause(void *arg, const struct conn *c)
{
	unsigned *n = arg;
	(*n)++;
	return 1;
}

static void test_conn_walk(void **st)
{
	struct world *w = *st;
	struct conn_table *ct = engine_conns(w->e);
	uint32_t cursor = 0;
	unsigned n = 0, calls = 0;
	char cl[32];

	for (int i = 0; i < 100; i++) {
		struct conn in;
		snprintf(cl, sizeof(cl), "10.1.%d.%d", i / 200, 1 + i % 200);
		in = conn_nat(cl, 1000, "192.168.1.11", CS_ESTABLISHED);
		assert_int_equal(engine_conn_import(w->e, &in, 0, 60000, w->now), 0);
	}
	while (!conn_walk(ct, &cursor, 7, walk_count, &n))
		calls++;
	assert_int_equal(n, 100);
	assert_true(calls >= 100 / 7);
	assert_int_equal(cursor, 0);
	n = 0;
	calls = 0;
	while (!conn_walk(ct, &cursor, 1000, walk_pause, &n))
		calls++;
	assert_int_equal(n, 100);
	assert_int_equal(calls, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_kernel_layout),
		cmocka_unit_test(test_encode_matches_kernel),
		cmocka_unit_test(test_roundtrip_v6_fnat),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_param_rules),
		cmocka_unit_test(test_padding_and_trailer),
		cmocka_unit_test(test_state_and_proto),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_conn_mapping),
		cmocka_unit_test_setup_teardown(test_import_nat, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_import_fnat_reserves_port, world_setup,
						world_teardown),
		cmocka_unit_test_setup_teardown(test_import_template_links, world_setup,
						world_teardown),
		cmocka_unit_test_setup_teardown(test_engine_hook, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_conn_walk, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
