/* Unit tests for the control protocol (ctl/ctl_proto.c) and the operations
 * behind the socket (ctl/ctl_ops.c): every message type survives an
 * encode/decode round trip, every malformed variant of a good message is
 * rejected (truncations, trailing bytes, out-of-range fields, dirty padding,
 * lying counts), batches apply all or nothing with IPVS's errno and
 * ipvsadm's words, the rate estimator follows ip_vs_est.c's arithmetic, and
 * the per-service connection listing returns each of its connections once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/conn.h"
#include "core/engine.h"
#include "core/fib-t.h"
#include "core/sched/sched.h"
#include "core/service.h"
#include "ctl/ctl_ops.h"
#include "ctl/ctl_proto.h"
#include "testutil.h"

static struct ctl_svc_key key4(const char *ip, uint8_t proto, uint16_t port)
{
	struct ctl_svc_key k;

	memset(&k, 0, sizeof(k));
	k.af = ULVS_AF_INET;
	k.proto = proto;
	k.port = htons(port);
	k.addr = taddr(ip);
	return k;
}

static struct ctl_cmd cmd_add_svc(const char *ip, uint16_t port, const char *sched)
{
	struct ctl_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = CTL_OP_ADD_SVC;
	c.has_svc = 1;
	c.svc = key4(ip, 6, port);
	snprintf(c.sched, sizeof(c.sched), "%s", sched);
	return c;
}

static struct ctl_cmd cmd_dest(uint8_t op, const char *vip, uint16_t port, const char *rip)
{
	struct ctl_cmd c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.has_svc = 1;
	c.svc = key4(vip, 6, port);
	c.dest_af = ULVS_AF_INET;
	c.dest_addr = taddr(rip);
	c.dest_port = htons(port);
	c.fwd = FWD_NAT;
	c.weight = op == CTL_OP_DEL_DEST ? 0 : 1;
	return c;
}

/* A payload as the encoder writes it, without the header. */
static uint8_t *encode_cmds(const struct ctl_cmd *c, uint32_t n, size_t *len)
{
	struct ctl_buf b;
	uint8_t *p;

	ctl_buf_init(&b, 1 << 20);
	ctl_put_cmds(&b, c, n);
	assert_int_equal(b.err, 0);
	p = malloc(b.len);
	memcpy(p, b.p, b.len);
	*len = b.len;
	ctl_buf_free(&b);
	return p;
}

/* --- framing ------------------------------------------------------------------ */

static void test_header(void **state)
{
	uint8_t h[CTL_HDR_LEN];
	struct ctl_hdr d;

	ctl_hdr_encode(h, CTL_REQ_LIST, 1234);
	assert_memory_equal(h, "ULVS\0\1\0\2\0\0\x04\xd2", CTL_HDR_LEN);
	assert_int_equal(ctl_hdr_decode(h, &d, 2000), 0);
	assert_int_equal(d.type, CTL_REQ_LIST);
	assert_int_equal(d.len, 1234);
	assert_int_equal(ctl_hdr_decode(h, &d, 1233), -E2BIG);
	h[0] = 'X';
	assert_int_equal(ctl_hdr_decode(h, &d, 2000), -EPROTO);
	ctl_hdr_encode(h, CTL_REQ_LIST, 0);
	h[5] = 2; /* version 2 */
	assert_int_equal(ctl_hdr_decode(h, &d, 2000), -EPROTO);

	/* messages built in a buffer carry their own length */
	struct ctl_buf b;
	ctl_buf_init(&b, 64);
	size_t at = ctl_msg_begin(&b, CTL_REQ_CONNS);
	ctl_put_conns_req(&b, 7, 100);
	assert_int_equal(ctl_msg_end(&b, at), 0);
	assert_int_equal(ctl_hdr_decode(b.p, &d, 64), 0);
	assert_int_equal(d.len, 8);
	/* and a buffer refuses to grow past its bound */
	for (int i = 0; i < 20; i++)
		ctl_put_u32(&b, 1);
	assert_int_equal(b.err, -ENOSPC);
	assert_int_equal(ctl_msg_end(&b, at), -ENOSPC);
	ctl_buf_free(&b);
}

/* --- commands ------------------------------------------------------------------ */

static void test_cmds_round_trip(void **state)
{
	struct ctl_cmd c[6], *out;
	uint32_t n;
	size_t len;
	uint8_t *p;

	c[0] = cmd_add_svc("10.0.0.1", 80, "mh");
	c[0].svc_flags = SVC_F_PERSISTENT | SVC_F_SCHED2;
	c[0].timeout = 600;
	c[0].netmask = 24;
	c[1] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1");
	c[1].u_threshold = 100;
	c[1].l_threshold = 50;
	c[1].weight = 65535;
	memset(&c[2], 0, sizeof(c[2]));
	c[2].op = CTL_OP_SET_TIMEOUT;
	c[2].to_tcp = 900;
	c[2].to_udp = CTL_MAX_TIMEOUT;
	memset(&c[3], 0, sizeof(c[3]));
	c[3].op = CTL_OP_ADD_LADDR;
	c[3].has_svc = 1;
	c[3].svc.af = ULVS_AF_INET6;
	c[3].svc.fwmark = 7;
	c[3].laddr_af = ULVS_AF_INET6;
	c[3].laddr = taddr("2001:db8::5");
	snprintf(c[3].ifname, sizeof(c[3].ifname), "eth0.100");
	memset(&c[4], 0, sizeof(c[4]));
	c[4].op = CTL_OP_ZERO;
	memset(&c[5], 0, sizeof(c[5]));
	c[5].op = CTL_OP_FLUSH;

	p = encode_cmds(c, 6, &len);
	assert_int_equal(ctl_get_cmds(p, len, &out, &n), 0);
	assert_int_equal(n, 6);
	for (int i = 0; i < 6; i++)
		assert_memory_equal(&out[i], &c[i], sizeof(c[i]));
	free(out);

	/* every truncation, and one byte too many, are refused */
	for (size_t l = 0; l < len; l++) {
		assert_int_equal(ctl_get_cmds(p, l, &out, &n), -EBADMSG);
		assert_null(out);
	}
	uint8_t *longer = calloc(1, len + 1);
	memcpy(longer, p, len);
	assert_int_equal(ctl_get_cmds(longer, len + 1, &out, &n), -EBADMSG);
	free(longer);
	free(p);
}

/* One good command, then each way of spoiling it. */
static void test_cmds_malformed(void **state)
{
	struct ctl_cmd good = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1");
	struct ctl_cmd *out;
	uint32_t n;
	size_t len;
	uint8_t *p = encode_cmds(&good, 1, &len);

	assert_int_equal(ctl_get_cmds(p, len, &out, &n), 0);
	free(out);
	/* Field offsets in the wire layout (ctl_proto.c): op 4, has_svc 5,
	 * dest_af 6, fwd 7, key 8.. (af 8, proto 9, port 10, addr 12, fwmark 28),
	 * sched 32, flags 48, timeout 52, netmask 56, dport 60, pad 62,
	 * daddr 64, weight 80, uthr 84, lthr 88, laddr_af 92, pad 93. */
	static const struct {
		size_t off;
		uint8_t val;
	} bytes[] = {
		{ 4, 0 }, { 4, CTL_OP_MAX }, { 5, 2 }, { 5, 0 }, { 6, 5 }, { 6, 0 }, { 7, FWD_MAX },
		{ 8, 3 }, { 9, 1 }, { 9, 0 }, { 16, 1 },          /* IPv4 with dirty high bytes */
		{ 31, 1 },                                         /* fwmark with proto/addr set */
		{ 32, 'A' }, { 47, 'x' }, { 48, 0x80 }, { 52, 0xff }, { 59, 33 }, { 62, 1 },
		{ 70, 1 }, { 80, 0x80 }, { 81, 0x01 }, { 84, 0x80 }, { 92, ULVS_AF_INET },
		{ 93, 1 }, { 94, 7 },
	};
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		uint8_t *q = malloc(len);

		memcpy(q, p, len);
		q[bytes[i].off] = bytes[i].val;
		if (bytes[i].off == 32) /* a whole name without NUL */
			memset(q + 32, 'a', CTL_SCHED_LEN);
		if (bytes[i].off == 47) /* junk after the NUL */
			q[32] = 'r', q[33] = 'r', q[34] = 0;
		out = (void *)1;
		if (ctl_get_cmds(q, len, &out, &n) != -EBADMSG)
			fail_msg("spoiling byte %zu with %u was accepted", bytes[i].off, bytes[i].val);
		assert_null(out);
		free(q);
	}
	/* the count must match the bytes, be non-zero and within the batch limit */
	uint8_t *q = malloc(len);
	memcpy(q, p, len);
	q[3] = 2;
	assert_int_equal(ctl_get_cmds(q, len, &out, &n), -EBADMSG);
	q[3] = 0;
	assert_int_equal(ctl_get_cmds(q, len, &out, &n), -EBADMSG);
	q[0] = 0xff;
	q[3] = 1;
	assert_int_equal(ctl_get_cmds(q, len, &out, &n), -EBADMSG);
	free(q);
	free(p);

	/* checks that depend on the op */
	struct ctl_cmd c = good;
	c.op = CTL_OP_ADD_SVC; /* has a real server it should not have */
	assert_int_equal(ctl_cmd_check(&c), -EBADMSG);
	c = good;
	c.op = CTL_OP_FLUSH; /* flush names no service */
	c.dest_af = 0;
	memset(&c.dest_addr, 0, sizeof(c.dest_addr));
	assert_int_equal(ctl_cmd_check(&c), -EBADMSG);
	c.has_svc = 0;
	memset(&c.svc, 0, sizeof(c.svc));
	assert_int_equal(ctl_cmd_check(&c), 0);
	c = cmd_add_svc("10.0.0.1", 80, "rr");
	c.timeout = CTL_MAX_TIMEOUT + 1;
	assert_int_equal(ctl_cmd_check(&c), -EBADMSG);
	c = cmd_add_svc("10.0.0.1", 80, "rr");
	c.svc.proto = 132; /* SCTP: not served */
	assert_int_equal(ctl_cmd_check(&c), -EBADMSG);
}

/* --- small messages --------------------------------------------------------------- */

static void test_small_messages(void **state)
{
	struct ctl_buf b;
	struct ctl_error e = { .err = ESRCH, .index = 3 }, e2;
	struct ctl_info i = { .version = 0x010201, .size = 4096, .n_svcs = 2, .n_conns = 9 }, i2;
	struct ctl_timeouts t = { 900, 120, 300 }, t2;
	struct ctl_svc_key k = key4("10.1.2.3", 17, 53), k2;
	uint32_t cur, max;
	bool has;

	snprintf(e.msg, sizeof(e.msg), "Service not defined");
	snprintf(i.daemon_version, sizeof(i.daemon_version), "0.1.0");

	ctl_buf_init(&b, 4096);
	ctl_put_error(&b, &e);
	assert_int_equal(ctl_get_error(b.p, b.len, &e2), 0);
	assert_int_equal(e2.err, ESRCH);
	assert_int_equal(e2.index, 3);
	assert_string_equal(e2.msg, "Service not defined");
	b.p[3] = 0; /* errno 0 is no error */
	assert_int_equal(ctl_get_error(b.p, b.len, &e2), -EBADMSG);
	b.p[3] = ESRCH;
	memset(b.p + 8, 'x', CTL_MSG_LEN); /* no NUL */
	assert_int_equal(ctl_get_error(b.p, b.len, &e2), -EBADMSG);
	b.p[8] = 1; /* control character */
	b.p[9] = 0;
	memset(b.p + 10, 0, CTL_MSG_LEN - 2);
	assert_int_equal(ctl_get_error(b.p, b.len, &e2), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 4096);
	ctl_put_info(&b, &i);
	memset(&i2, 0, sizeof(i2));
	assert_int_equal(ctl_get_info(b.p, b.len, &i2), 0);
	assert_memory_equal(&i, &i2, sizeof(i));
	assert_int_equal(ctl_get_info(b.p, b.len - 1, &i2), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 4096);
	ctl_put_timeouts(&b, &t);
	assert_int_equal(ctl_get_timeouts(b.p, b.len, &t2), 0);
	assert_memory_equal(&t, &t2, sizeof(t));
	assert_int_equal(ctl_get_timeouts(b.p, 11, &t2), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 4096);
	ctl_put_list_req(&b, &k);
	assert_int_equal(ctl_get_list_req(b.p, b.len, &k2, &has), 0);
	assert_true(has);
	assert_true(ctl_svc_key_eq(&k, &k2));
	b.p[1] = 1; /* dirty padding */
	assert_int_equal(ctl_get_list_req(b.p, b.len, &k2, &has), -EBADMSG);
	ctl_buf_free(&b);
	ctl_buf_init(&b, 4096);
	ctl_put_list_req(&b, NULL);
	assert_int_equal(ctl_get_list_req(b.p, b.len, &k2, &has), 0);
	assert_false(has);
	b.p[4] = ULVS_AF_INET; /* no filter, but a key */
	assert_int_equal(ctl_get_list_req(b.p, b.len, &k2, &has), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 4096);
	ctl_put_conns_req(&b, 5, CTL_CONNS_PAGE);
	assert_int_equal(ctl_get_conns_req(b.p, b.len, &cur, &max), 0);
	assert_int_equal(cur, 5);
	ctl_buf_free(&b);
	ctl_buf_init(&b, 4096);
	ctl_put_conns_req(&b, 5, CTL_CONNS_PAGE + 1);
	assert_int_equal(ctl_get_conns_req(b.p, b.len, &cur, &max), -EBADMSG);
	ctl_buf_free(&b);
}

/* --- listings ---------------------------------------------------------------------- */

static void test_list_round_trip(void **state)
{
	struct ctl_dest_info d[2];
	struct ctl_laddr_info l[1];
	struct ctl_svc_info s;
	struct ctl_list out;
	struct ctl_buf b;

	memset(d, 0, sizeof(d));
	memset(l, 0, sizeof(l));
	memset(&s, 0, sizeof(s));
	s.key = key4("10.0.0.1", 6, 80);
	snprintf(s.sched, sizeof(s.sched), "wlc");
	s.flags = SVC_F_PERSISTENT;
	s.timeout = 360;
	s.st.conns = 1ull << 40;
	s.st.outbps = 12345;
	for (int i = 0; i < 2; i++) {
		d[i].af = ULVS_AF_INET;
		d[i].fwd = FWD_DR;
		d[i].port = htons(80);
		d[i].addr = taddr(i ? "192.168.0.2" : "192.168.0.1");
		d[i].weight = 3 + i;
		d[i].activeconns = 10 + i;
		d[i].inactconns = 20;
		d[i].persistconns = 2;
		d[i].flags = DEST_F_AVAILABLE;
		d[i].st.inbytes = 99;
	}
	l[0].af = ULVS_AF_INET;
	l[0].addr = taddr("172.16.0.1");
	snprintf(l[0].ifname, sizeof(l[0].ifname), "d1");
	l[0].conns = 4;
	s.n_dests = 2;
	s.dests = d;
	s.n_laddrs = 1;
	s.laddrs = l;

	ctl_buf_init(&b, 1 << 16);
	ctl_put_u32(&b, 1);
	ctl_put_svc_info(&b, &s);
	assert_int_equal(ctl_get_list(b.p, b.len, &out), 0);
	assert_int_equal(out.n, 1);
	assert_true(ctl_svc_key_eq(&out.svcs[0].key, &s.key));
	assert_string_equal(out.svcs[0].sched, "wlc");
	assert_int_equal(out.svcs[0].st.conns, 1ull << 40);
	assert_int_equal(out.svcs[0].st.outbps, 12345);
	assert_int_equal(out.svcs[0].n_dests, 2);
	assert_memory_equal(out.svcs[0].dests, d, sizeof(d));
	assert_memory_equal(out.svcs[0].laddrs, l, sizeof(l));
	ctl_list_free(&out);

	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(ctl_get_list(b.p, n, &out), -EBADMSG);
	/* counts that promise more than the message holds: refused before any
	 * allocation of that size */
	uint8_t *q = malloc(b.len);
	memcpy(q, b.p, b.len);
	q[0] = 0x7f;
	assert_int_equal(ctl_get_list(q, b.len, &out), -EBADMSG);
	memcpy(q, b.p, b.len);
	size_t nd = 4 + 24 + CTL_SCHED_LEN + 12 + 80; /* offset of n_dests */
	q[nd] = 0x40;
	assert_int_equal(ctl_get_list(q, b.len, &out), -EBADMSG);
	memcpy(q, b.p, b.len);
	q[nd + 8 + 1] = FWD_MAX; /* first dest's method */
	assert_int_equal(ctl_get_list(q, b.len, &out), -EBADMSG);
	free(q);
	ctl_buf_free(&b);
}

static void test_conns_round_trip(void **state)
{
	struct ctl_conn_info c[3];
	struct ctl_conns out;
	struct ctl_buf b;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < 3; i++) {
		c[i].af = ULVS_AF_INET;
		c[i].proto = 6;
		c[i].state = CS_ESTABLISHED + (uint8_t)i;
		c[i].fwd = FWD_FNAT;
		c[i].flags = CONN_F_OUT_SEEN;
		c[i].cport = htons((uint16_t)(40000 + i));
		c[i].vport = htons(80);
		c[i].dport = htons(8080);
		c[i].lport = htons(2000);
		c[i].caddr = taddr("10.99.1.2");
		c[i].vaddr = taddr("10.99.1.100");
		c[i].daddr = taddr("10.99.2.11");
		c[i].laddr = taddr("10.99.2.1");
		c[i].expires_ms = 900000 - (uint32_t)i;
	}
	ctl_buf_init(&b, 1 << 16);
	ctl_put_u32(&b, UINT32_MAX);
	ctl_put_u32(&b, 3);
	for (int i = 0; i < 3; i++)
		ctl_put_conn_info(&b, &c[i]);
	assert_int_equal(ctl_get_conns(b.p, b.len, &out), 0);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.next, UINT32_MAX);
	assert_memory_equal(out.c, c, sizeof(c));
	ctl_conns_free(&out);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(ctl_get_conns(b.p, n, &out), -EBADMSG);
	b.p[7] = 4; /* count says 4 */
	assert_int_equal(ctl_get_conns(b.p, b.len, &out), -EBADMSG);
	b.p[7] = 3;
	b.p[8 + 6] = 1; /* padding */
	assert_int_equal(ctl_get_conns(b.p, b.len, &out), -EBADMSG);
	ctl_buf_free(&b);
}

/* --- operations on live tables ---------------------------------------------------------- */

struct live {
	struct svc_table *t;
	struct fib *f;
	struct engine *e;
};

static int live_setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	struct engine_params p;

	memset(&p, 0, sizeof(p));
	p.conn_capacity = 1024;
	l->t = svc_table_new();
	l->f = calloc(1, sizeof(*l->f));
	snprintf(l->f->ifaces[0].name, sizeof(l->f->ifaces[0].name), "d0");
	l->f->n_ifaces = 1;
	l->e = engine_new(&p, l->f, l->t, 0);
	*state = l;
	return l->t && l->e ? 0 : -1;
}

static int live_teardown(void **state)
{
	struct live *l = *state;

	engine_free(l->e);
	svc_table_free(l->t);
	free(l->f);
	free(l);
	return 0;
}

static int apply(struct live *l, const struct ctl_cmd *c, uint32_t n, struct ctl_error *e)
{
	return ctl_ops_apply(l->t, l->e, l->f, c, n, e);
}

static void test_apply_batches(void **state)
{
	struct live *l = *state;
	struct ctl_error e;
	struct ctl_cmd c[4];
	struct ctl_svc_key k = key4("10.0.0.1", 6, 80);

	c[0] = cmd_add_svc("10.0.0.1", 80, "rr");
	c[1] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1");
	c[2] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.2");
	assert_int_equal(apply(l, c, 3, &e), 0);
	assert_int_equal(svc_count_live(l->t), 1);
	struct svc tmpl = { .af = ULVS_AF_INET, .proto = 6, .port = htons(80),
			    .addr = taddr("10.0.0.1") };
	struct svc *s = svc_find(l->t, &tmpl);
	assert_non_null(s);
	assert_string_equal(s->sched->name, "rr");
	assert_int_equal(s->n_dests, 2);

	/* all or nothing: the third command fails, the first two stay unapplied */
	c[0] = cmd_add_svc("10.0.0.2", 80, "wlc");
	c[1] = cmd_dest(CTL_OP_DEL_DEST, "10.0.0.1", 80, "192.168.0.1");
	c[2] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.9", 80, "192.168.0.3");
	assert_int_equal(apply(l, c, 3, &e), -ESRCH);
	assert_int_equal(e.index, 2);
	assert_int_equal(e.err, ESRCH);
	assert_string_equal(e.msg, "Service not defined");
	assert_int_equal(svc_count_live(l->t), 1);
	assert_int_equal(s->n_dests, 2);

	/* within a batch, later commands see the earlier ones */
	c[2] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.2", 80, "192.168.0.3");
	c[3] = cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1");
	assert_int_equal(apply(l, c, 4, &e), 0);
	assert_int_equal(svc_count_live(l->t), 2);
	assert_int_equal(s->n_dests, 2);

	/* each refusal in IPVS's errno and ipvsadm's words */
	static const struct {
		uint8_t op;
		const char *vip, *rip;
		int err;
		const char *words;
	} no[] = {
		{ CTL_OP_ADD_SVC, "10.0.0.1", NULL, EEXIST, "Service already exists" },
		{ CTL_OP_EDIT_SVC, "10.0.0.7", NULL, ESRCH, "No such service" },
		{ CTL_OP_DEL_SVC, "10.0.0.7", NULL, ESRCH, "No such service" },
		{ CTL_OP_ADD_DEST, "10.0.0.1", "192.168.0.2", EEXIST, "Destination already exists" },
		{ CTL_OP_EDIT_DEST, "10.0.0.1", "192.168.0.9", ENOENT, "No such destination" },
		{ CTL_OP_DEL_DEST, "10.0.0.1", "192.168.0.9", ENOENT, "No such destination" },
		{ CTL_OP_DEL_DEST, "10.0.0.7", "192.168.0.9", ESRCH, "Service not defined" },
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct ctl_cmd x = no[i].rip ? cmd_dest(no[i].op, no[i].vip, 80, no[i].rip)
					     : cmd_add_svc(no[i].vip, 80, "rr");
		x.op = no[i].op;
		assert_int_equal(apply(l, &x, 1, &e), -no[i].err);
		assert_string_equal(e.msg, no[i].words);
	}
	struct ctl_cmd x = cmd_add_svc("10.0.0.5", 80, "nosuch");
	assert_int_equal(apply(l, &x, 1, &e), -ENOENT);
	assert_string_equal(e.msg, "Scheduler or persistence engine not found");
	x = cmd_dest(CTL_OP_EDIT_DEST, "10.0.0.1", 80, "192.168.0.1");
	x.u_threshold = 5;
	x.l_threshold = 6;
	assert_int_equal(apply(l, &x, 1, &e), -ERANGE);

	/* edit and delete for real */
	x = cmd_dest(CTL_OP_EDIT_DEST, "10.0.0.1", 80, "192.168.0.1");
	x.weight = 9;
	x.fwd = FWD_DR;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	struct dest *d = svc_find_dest(l->t, s, ULVS_AF_INET, &x.dest_addr, x.dest_port);
	assert_int_equal(d->weight, 9);
	assert_int_equal(d->fwd, FWD_DR);
	x = cmd_add_svc("10.0.0.1", 80, "wlc");
	x.op = CTL_OP_EDIT_SVC;
	x.svc_flags = SVC_F_PERSISTENT;
	x.timeout = 100;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	assert_string_equal(s->sched->name, "wlc");
	assert_int_equal(s->timeout, 100);
	x.op = CTL_OP_DEL_SVC;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	assert_null(svc_find(l->t, &tmpl));

	/* listing: what is live, and a filter that finds nothing */
	struct ctl_buf b;
	struct ctl_list out;
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_list(&b, l->t, l->e, l->f, NULL, NULL), 0);
	assert_int_equal(ctl_get_list(b.p, b.len, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.svcs[0].n_dests, 1);
	ctl_list_free(&out);
	ctl_buf_free(&b);
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_list(&b, l->t, l->e, l->f, NULL, &k), -ESRCH);
	ctl_buf_free(&b);

	/* flush, timeouts, local addresses */
	memset(&x, 0, sizeof(x));
	x.op = CTL_OP_SET_TIMEOUT;
	x.to_tcp = 100;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	struct ctl_timeouts to;
	ctl_ops_timeouts(l->e, &to);
	assert_int_equal(to.tcp, 100);
	assert_int_equal(to.tcpfin, 120);
	assert_int_equal(to.udp, 300);
	memset(&x, 0, sizeof(x));
	x.op = CTL_OP_ADD_LADDR;
	x.has_svc = 1;
	x.svc = key4("10.0.0.2", 6, 80);
	x.laddr_af = ULVS_AF_INET;
	x.laddr = taddr("10.0.9.1");
	snprintf(x.ifname, sizeof(x.ifname), "nosuch");
	assert_int_equal(apply(l, &x, 1, &e), -ENODEV);
	snprintf(x.ifname, sizeof(x.ifname), "d0");
	assert_int_equal(apply(l, &x, 1, &e), 0);
	assert_true(svc_owns_addr(l->t, ULVS_AF_INET, &x.laddr));
	assert_int_equal(apply(l, &x, 1, &e), -EEXIST);
	x.op = CTL_OP_DEL_LADDR;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	assert_false(svc_owns_addr(l->t, ULVS_AF_INET, &x.laddr));
	memset(&x, 0, sizeof(x));
	x.op = CTL_OP_FLUSH;
	assert_int_equal(apply(l, &x, 1, &e), 0);
	assert_int_equal(svc_count_live(l->t), 0);
}

static void test_estimator(void **state)
{
	struct live *l = *state;
	struct ctl_est *est = ctl_est_new();
	struct ctl_error e;
	struct ctl_cmd c[2] = { cmd_add_svc("10.0.0.1", 80, "rr"),
				cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1") };
	struct ctl_buf b;
	struct ctl_list out;

	assert_int_equal(apply(l, c, 2, &e), 0);
	struct svc *s = &l->t->svcs[0];
	ctl_est_tick(est, l->t); /* primes */
	/* 200 connections and 2,000,000 bytes in one 2 s period: 100 cps, 1 MB/s;
	 * the average moves 1/4 (1/8 for bytes) of the way: 25 cps, 125000 B/s */
	s->stats.conns += 200;
	s->stats.inbytes += 2000000;
	ctl_est_tick(est, l->t);
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_list(&b, l->t, l->e, l->f, est, NULL), 0);
	assert_int_equal(ctl_get_list(b.p, b.len, &out), 0);
	assert_int_equal(out.svcs[0].st.cps, 25);
	assert_int_equal(out.svcs[0].st.inbps, 125000);
	ctl_list_free(&out);
	ctl_buf_free(&b);
	/* steady traffic: converges to the true rate */
	for (int i = 0; i < 60; i++) {
		s->stats.conns += 200;
		s->stats.inbytes += 2000000;
		ctl_est_tick(est, l->t);
	}
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_list(&b, l->t, l->e, l->f, est, NULL), 0);
	assert_int_equal(ctl_get_list(b.p, b.len, &out), 0);
	assert_int_equal(out.svcs[0].st.cps, 100);
	assert_in_range(out.svcs[0].st.inbps, 999000, 1001000);
	ctl_list_free(&out);
	ctl_buf_free(&b);
	/* zeroed counters do not read as a huge negative delta */
	svc_zero_stats(l->t, NULL);
	ctl_est_tick(est, l->t);
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_list(&b, l->t, l->e, l->f, est, NULL), 0);
	assert_int_equal(ctl_get_list(b.p, b.len, &out), 0);
	assert_true(out.svcs[0].st.cps <= 100);
	ctl_list_free(&out);
	ctl_buf_free(&b);
	ctl_est_free(est);
}


/* --- status, sync daemon, per-service connections ------------------------------------- */

static void build_status(struct ctl_status *st)
{
	memset(st, 0, sizeof(*st));
	ctl_status_section(st, "dataplane");
	ctl_status_record(st);
	ctl_status_str(st, "backend", "afpacket");
	ctl_status_u64(st, "rx", UINT64_MAX);
	ctl_status_section(st, "checkers");
	ctl_status_record(st);
	ctl_status_str(st, "reason", "connection refused (%d)", 111);
	ctl_status_i64(st, "weight", -3);
	ctl_status_record(st);
	ctl_status_str(st, "reason", "%s", "");
	ctl_status_section(st, "empty");
}

static void test_status_round_trip(void **state)
{
	struct ctl_status st, out;
	const struct ctl_status_sec *sec;
	struct ctl_buf b;

	build_status(&st);
	assert_int_equal(st.err, 0);
	ctl_buf_init(&b, 1 << 16);
	ctl_put_status(&b, &st);
	assert_int_equal(b.err, 0);
	assert_int_equal(ctl_get_status(b.p, b.len, &out), 0);
	assert_int_equal(out.n, 3);
	sec = ctl_status_find(&out, "dataplane");
	assert_non_null(sec);
	assert_int_equal(sec->n, 1);
	assert_string_equal(ctl_status_get(&sec->rec[0], "backend")->s, "afpacket");
	assert_int_equal(ctl_status_get(&sec->rec[0], "rx")->kind, CTL_SK_U64);
	assert_true(ctl_status_get(&sec->rec[0], "rx")->u == UINT64_MAX);
	assert_null(ctl_status_get(&sec->rec[0], "tx"));
	sec = ctl_status_find(&out, "checkers");
	assert_int_equal(sec->n, 2);
	assert_string_equal(ctl_status_get(&sec->rec[0], "reason")->s, "connection refused (111)");
	assert_int_equal(ctl_status_get(&sec->rec[0], "weight")->kind, CTL_SK_I64);
	assert_int_equal(ctl_status_get(&sec->rec[0], "weight")->i, -3);
	assert_string_equal(ctl_status_get(&sec->rec[1], "reason")->s, "");
	assert_int_equal(ctl_status_find(&out, "empty")->n, 0);
	assert_null(ctl_status_find(&out, "vrrp"));
	ctl_status_free(&out);
	/* every truncation and one trailing byte are refused */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(ctl_get_status(b.p, n, &out), -EBADMSG);
	ctl_put_u32(&b, 0);
	assert_int_equal(ctl_get_status(b.p, b.len - 3, &out), -EBADMSG);
	ctl_buf_free(&b);
	ctl_status_free(&st);
}

static void test_status_malformed(void **state)
{
	struct ctl_status st, out;
	struct ctl_buf b;
	size_t name_at = 1 + 1; /* nsec, name length: the first section's name */
	size_t kv_at;

	build_status(&st);
	ctl_buf_init(&b, 1 << 16);
	ctl_put_status(&b, &st);
	/* a name outside [a-z0-9_] */
	b.p[name_at] = 'D';
	assert_int_equal(ctl_get_status(b.p, b.len, &out), -EBADMSG);
	b.p[name_at] = 'd';
	/* a lying section count: no allocation past what the bytes justify */
	b.p[0] = 60;
	assert_int_equal(ctl_get_status(b.p, b.len, &out), -EBADMSG);
	b.p[0] = 3;
	assert_int_equal(ctl_get_status(b.p, b.len, &out), 0);
	ctl_status_free(&out);
	/* the first pair: u8 len "backend", kind STR: make it an unknown kind */
	kv_at = 1 + 1 + 9 + 4 + 2;
	assert_int_equal(b.p[kv_at], 7);
	assert_int_equal(b.p[kv_at + 8], CTL_SK_STR);
	b.p[kv_at + 8] = CTL_SK_MAX;
	assert_int_equal(ctl_get_status(b.p, b.len, &out), -EBADMSG);
	b.p[kv_at + 8] = CTL_SK_STR;
	/* a control character in a string value */
	b.p[kv_at + 8 + 3] = '\n';
	assert_int_equal(ctl_get_status(b.p, b.len, &out), -EBADMSG);
	b.p[kv_at + 8 + 3] = 'a';
	assert_int_equal(ctl_get_status(b.p, b.len, &out), 0);
	ctl_status_free(&out);
	ctl_buf_free(&b);
	ctl_status_free(&st);

	/* builder errors are sticky and leave nothing half-built to send */
	memset(&st, 0, sizeof(st));
	ctl_status_record(&st); /* no section yet */
	assert_int_equal(st.err, -EINVAL);
	ctl_status_free(&st);
	ctl_status_section(&st, "Bad Name");
	assert_int_equal(st.err, -EINVAL);
	ctl_status_free(&st);
	ctl_status_section(&st, "ok");
	ctl_status_record(&st);
	ctl_status_u64(&st, "bad-key", 1);
	assert_int_equal(st.err, -EINVAL);
	ctl_status_free(&st);
	ctl_status_section(&st, "ok");
	ctl_status_record(&st);
	for (int i = 0; i < CTL_STATUS_MAX_KVS; i++)
		ctl_status_u64(&st, "k", (uint64_t)i);
	assert_int_equal(st.err, 0);
	ctl_status_u64(&st, "k", 1);
	assert_int_equal(st.err, -E2BIG);
	ctl_status_free(&st);
	/* text from the outside world is made printable, not refused */
	ctl_status_section(&st, "ok");
	ctl_status_record(&st);
	ctl_status_str(&st, "reason", "line\none\t\x01");
	assert_int_equal(st.err, 0);
	assert_string_equal(st.sec[0].rec[0].kv[0].s, "line?one??");
	ctl_status_free(&st);
}

static void test_daemon_messages(void **state)
{
	struct ctl_daemons ds, out;
	struct ctl_daemon d;
	struct ctl_buf b;
	uint8_t role;

	memset(&ds, 0, sizeof(ds));
	ds.n = 2;
	ds.d[0].state = CTL_DAEMON_MASTER;
	ds.d[0].syncid = 7;
	ds.d[0].ttl = 3;
	ds.d[0].port = htons(8849);
	ds.d[0].maxlen = 1400;
	ds.d[0].group_af = ULVS_AF_INET;
	ds.d[0].group = taddr("239.1.2.3");
	snprintf(ds.d[0].ifname, sizeof(ds.d[0].ifname), "eth0");
	ds.d[1] = ds.d[0];
	ds.d[1].state = CTL_DAEMON_BACKUP;
	ds.d[1].group_af = ULVS_AF_NONE;
	memset(&ds.d[1].group, 0, sizeof(ds.d[1].group));
	ctl_buf_init(&b, 1 << 16);
	ctl_put_daemons(&b, &ds);
	assert_int_equal(ctl_get_daemons(b.p, b.len, &out), 0);
	assert_memory_equal(&out, &ds, sizeof(ds));
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(ctl_get_daemons(b.p, n, &out), -EBADMSG);
	/* two masters */
	assert_int_equal(b.p[4 + 44], CTL_DAEMON_BACKUP); /* the second record */
	b.p[4 + 44] = CTL_DAEMON_MASTER;
	assert_int_equal(ctl_get_daemons(b.p, b.len, &out), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 1 << 16);
	ctl_put_daemon(&b, &ds.d[0]);
	assert_int_equal(ctl_get_daemon(b.p, b.len, &d), 0);
	assert_memory_equal(&d, &ds.d[0], sizeof(d));
	b.p[0] = 3; /* no such state */
	assert_int_equal(ctl_get_daemon(b.p, b.len, &d), -EBADMSG);
	b.p[0] = CTL_DAEMON_MASTER;
	b.p[6] = 1; /* padding */
	assert_int_equal(ctl_get_daemon(b.p, b.len, &d), -EBADMSG);
	b.p[6] = 0;
	b.p[8] = 0xff; /* maxlen past a UDP datagram */
	assert_int_equal(ctl_get_daemon(b.p, b.len, &d), -EBADMSG);
	b.p[8] = 0;
	b.p[3] = ULVS_AF_NONE; /* no family, but an address */
	assert_int_equal(ctl_get_daemon(b.p, b.len, &d), -EBADMSG);
	ctl_buf_free(&b);

	ctl_buf_init(&b, 16);
	ctl_put_stop_daemon(&b, CTL_DAEMON_BACKUP);
	assert_int_equal(ctl_get_stop_daemon(b.p, b.len, &role), 0);
	assert_int_equal(role, CTL_DAEMON_BACKUP);
	b.p[0] = 0;
	assert_int_equal(ctl_get_stop_daemon(b.p, b.len, &role), -EBADMSG);
	b.p[0] = CTL_DAEMON_MASTER;
	b.p[3] = 1;
	assert_int_equal(ctl_get_stop_daemon(b.p, b.len, &role), -EBADMSG);
	ctl_buf_free(&b);
}

static void import_conn(struct live *l, const char *vip, const char *rip, uint16_t cport)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.af = ULVS_AF_INET;
	c.proto = 6;
	c.caddr = taddr("10.9.9.9");
	c.cport = htons(cport);
	c.vaddr = taddr(vip);
	c.vport = htons(80);
	c.daddr = taddr(rip);
	c.dport = htons(80);
	c.laddr = c.caddr;
	c.lport = c.cport;
	c.fwd = FWD_NAT;
	c.state = CS_ESTABLISHED;
	assert_int_equal(engine_conn_import(l->e, &c, 0, 60000, 0), 0);
}

/* -c -t VIP:PORT: only that service's connections, whatever the page size,
 * each once, with a cursor that skips the others. */
static void test_conns_of_one_service(void **state)
{
	struct live *l = *state;
	struct ctl_error e;
	struct ctl_cmd c[4] = { cmd_add_svc("10.0.0.1", 80, "rr"),
				cmd_dest(CTL_OP_ADD_DEST, "10.0.0.1", 80, "192.168.0.1"),
				cmd_add_svc("10.0.0.2", 80, "rr"),
				cmd_dest(CTL_OP_ADD_DEST, "10.0.0.2", 80, "192.168.0.2") };
	struct ctl_svc_key k = key4("10.0.0.2", 6, 80), none = key4("10.0.0.3", 6, 80);
	uint16_t seen[16];
	unsigned n_seen = 0;
	struct ctl_buf b, rq;
	uint32_t cursor, max;
	struct ctl_svc_key got;

	assert_int_equal(apply(l, c, 4, &e), 0);
	for (uint16_t i = 0; i < 10; i++)
		import_conn(l, i % 2 ? "10.0.0.2" : "10.0.0.1", i % 2 ? "192.168.0.2" : "192.168.0.1",
			    (uint16_t)(30000 + i));
	for (uint32_t page = 1; page <= 6; page++) {
		cursor = 0;
		n_seen = 0;
		for (int guard = 0; guard < 20; guard++) {
			struct ctl_conns out;

			ctl_buf_init(&b, 1 << 20);
			assert_int_equal(ctl_ops_conns_svc(&b, l->t, l->e, 0, cursor, page, &k), 0);
			assert_int_equal(ctl_get_conns(b.p, b.len, &out), 0);
			ctl_buf_free(&b);
			assert_true(out.n <= page);
			for (uint32_t i = 0; i < out.n; i++) {
				assert_true(addr_eq(&out.c[i].vaddr, &k.addr));
				assert_true(n_seen < 16);
				for (unsigned j = 0; j < n_seen; j++)
					assert_int_not_equal(seen[j], out.c[i].cport);
				seen[n_seen++] = out.c[i].cport;
			}
			ctl_conns_free(&out);
			if (out.next == UINT32_MAX)
				break;
			assert_true(out.next >= cursor);
			cursor = out.next;
		}
		assert_int_equal(n_seen, 5);
	}
	ctl_buf_init(&b, 1 << 20);
	assert_int_equal(ctl_ops_conns_svc(&b, l->t, l->e, 0, 0, 10, &none), -ESRCH);
	ctl_buf_free(&b);

	/* the request itself */
	ctl_buf_init(&rq, 256);
	ctl_put_conns_svc_req(&rq, 5, 100, &k);
	assert_int_equal(ctl_get_conns_svc_req(rq.p, rq.len, &cursor, &max, &got), 0);
	assert_int_equal(cursor, 5);
	assert_int_equal(max, 100);
	assert_true(ctl_svc_key_eq(&got, &k));
	for (size_t n = 0; n < rq.len; n++)
		assert_int_equal(ctl_get_conns_svc_req(rq.p, n, &cursor, &max, &got), -EBADMSG);
	rq.p[8 + 1] = 99; /* protocol */
	assert_int_equal(ctl_get_conns_svc_req(rq.p, rq.len, &cursor, &max, &got), -EBADMSG);
	ctl_buf_free(&rq);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_cmds_round_trip),
		cmocka_unit_test(test_cmds_malformed),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_list_round_trip),
		cmocka_unit_test(test_conns_round_trip),
		cmocka_unit_test_setup_teardown(test_apply_batches, live_setup, live_teardown),
		cmocka_unit_test_setup_teardown(test_estimator, live_setup, live_teardown),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_daemon_messages),
		cmocka_unit_test_setup_teardown(test_conns_of_one_service, live_setup, live_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
