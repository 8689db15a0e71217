/* Unit tests for core/conn.c: the IPVS TCP state table transcribed a second
 * time by hand, open/close sequences per forwarding mode, every timeout on a
 * fake clock, templates, a full table, bounded expiry, and a randomised
 * differential run against horrible_conn_model - a flat array searched
 * linearly, slow and obviously right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/conn.h"
#include "core/service-t.h"
#include "testutil.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20

#define P_TCP 6
#define P_UDP 17
#define P_ICMP 1

/* An origin far from zero, so nothing depends on the clock starting at 0. */
#define T0 1700000000123456789ull
#define MS(x) (T0 + (uint64_t)(x) * 1000000ull)

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

/* ---- release callback bookkeeping for the simple tests ------------------ */

struct rel_log {
	unsigned n;
	const struct conn *last;
};

static void rel_count_cb(void *ctx, struct conn *c)
{
	struct rel_log *l = ctx;

	l->n++;
	l->last = c;
}

static struct conn tuple(const char *c, uint16_t cp, const char *v, uint16_t vp,
			 const char *d, uint16_t dp, uint8_t proto, uint8_t fwd)
{
	struct conn t;

	memset(&t, 0, sizeof(t));
	t.caddr = taddr(c);
	t.vaddr = taddr(v);
	t.daddr = taddr(d);
	t.laddr = t.caddr;
	t.cport = be16(cp);
	t.vport = be16(vp);
	t.dport = be16(dp);
	t.lport = t.cport;
	t.af = strchr(c, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	t.proto = proto;
	t.fwd = fwd;
	t.state = proto == P_TCP ? CS_NONE : proto == P_UDP ? CS_UDP : CS_ICMP;
	t.dest_id = 7;
	t.svc_id = 3;
	return t;
}

static struct conn *lookup_in(struct conn_table *ct, const struct conn *k, enum conn_dir *dir)
{
	return conn_lookup(ct, k->af, k->proto, &k->caddr, k->cport, &k->vaddr, k->vport, dir);
}

static struct conn *lookup_out(struct conn_table *ct, const struct conn *k, enum conn_dir *dir)
{
	return conn_lookup(ct, k->af, k->proto, &k->daddr, k->dport, &k->laddr, k->lport, dir);
}

static unsigned expire_all(struct conn_table *ct, uint64_t now_ns)
{
	unsigned n = 0, calls = 0;

	do {
		n += conn_expire(ct, now_ns, 256);
		assert_true(++calls < 100000);
	} while (conn_expire_backlog(ct, now_ns));
	return n;
}

/* ---- sizes -------------------------------------------------------------- */

static void test_sizes(void **state)
{
	static const uint32_t caps[] = { 4096, 5000, 65537, 1u << 20, (1u << 20) + 1,
					 1500000, 2796202 };

	assert_int_equal(sizeof(struct conn), 120);
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct conn_table *ct = conn_table_new(caps[i], T0, NULL, NULL);
		double per;

		assert_non_null(ct);
		assert_int_equal(conn_capacity(ct), caps[i]);
		per = (double)conn_table_memory(ct) / caps[i];
		if (caps[i] == 1u << 20)
			printf("[ conn     ] sizeof(struct conn) = %zu, %u conns: %zu bytes, "
			       "%.2f bytes/conn\n", sizeof(struct conn), caps[i],
			       conn_table_memory(ct), per);
		assert_true(per <= 128.0);
		assert_true(conn_table_memory(ct) >= (size_t)caps[i] * 122);
		conn_table_free(ct);
	}
	assert_null(conn_table_new(0, T0, NULL, NULL));
}

static void test_state_names(void **state)
{
	static const char *const want[] = {
		"NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
		"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK", "UDP", "ICMP",
	};

	for (unsigned s = 0; s < CS_MAX; s++)
		assert_string_equal(conn_state_name((enum conn_state)s), want[s]);
	assert_string_equal(conn_state_name(CS_MAX), "ERR!");
}

static void test_default_timeouts(void **state)
{
	static const uint32_t want_s[CS_MAX] = {
		2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 300, 60,
	};
	struct conn_timeouts to, set;
	struct conn_table *ct;

	conn_timeouts_default(&to);
	for (unsigned s = 0; s < CS_MAX; s++)
		assert_int_equal(to.ms[s], want_s[s] * 1000);

	/* ipvsadm --set 3600 30 45: tcp, tcpfin, udp; 0 elsewhere keeps. */
	ct = conn_table_new(64, T0, NULL, NULL);
	memset(&set, 0, sizeof(set));
	set.ms[CS_ESTABLISHED] = 3600000;
	set.ms[CS_FIN_WAIT] = 30000;
	set.ms[CS_UDP] = 45000;
	conn_table_set_timeouts(ct, &set);
	for (unsigned s = 0; s < CS_MAX; s++) {
		uint32_t w = s == CS_ESTABLISHED ? 3600000 : s == CS_FIN_WAIT ? 30000 :
			     s == CS_UDP ? 45000 : want_s[s] * 1000;
		assert_int_equal(conn_table_timeouts(ct)->ms[s], w);
	}
	struct conn t = tuple("10.0.0.1", 1000, "10.9.9.9", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	t.state = CS_ESTABLISHED;
	struct conn *c = conn_insert(ct, &t, MS(0));
	assert_int_equal(conn_remaining_ms(ct, c, MS(0)), 3600000);
	conn_table_free(ct);
}

/* ---- the state table, transcribed independently ------------------------- */

/* ip_vs_proto_tcp.c tcp_states[], written out again as text so a typo in
 * core/conn.c's table and one here would have to agree to slip through.
 * Columns: NO ES SS SR FW TW CL CW LA LI SA. */
static const char *const want_rows[3][4] = {
	{ /* INPUT */
		"SR ES ES SR SR SR SR SR SR SR SR",   /* syn */
		"CL CW SS TW TW TW CL CW LA LI TW",   /* fin */
		"CL ES SS ES FW TW CL CW CL LI ES",   /* ack */
		"CL CL CL SR CL CL CL CL LA LI SR",   /* rst */
	}, { /* OUTPUT */
		"SS ES SS SR SS SS SS SS SS LI SR",
		"TW FW SS TW FW TW CL TW LA LI TW",
		"ES ES SS ES FW TW CL CW LA ES ES",
		"CL CL SS CL CL TW CL CL CL CL CL",
	}, { /* INPUT-ONLY */
		"SR ES ES SR SR SR SR SR SR SR SR",
		"CL FW SS TW FW TW CL CW LA LI TW",
		"CL ES SS ES FW TW CL CW CL LI ES",
		"CL CL CL SR CL CL CL CL LA LI CL",
	},
};

static enum conn_state abbrev(const char *p)
{
	static const char *const ab[] = { "NO", "ES", "SS", "SR", "FW", "TW",
					  "CL", "CW", "LA", "LI", "SA" };

	for (unsigned i = 0; i < 11; i++)
		if (p[0] == ab[i][0] && p[1] == ab[i][1])
			return (enum conn_state)i;
	fail_msg("bad abbreviation %.2s", p);
	return CS_MAX;
}

/* Reference for the differential model too: 0 = table input, 1 output,
 * 2 input-only; row by flag precedence RST > SYN > FIN > ACK. */
static enum conn_state horrible_tcp_next(enum conn_state cur, int tbl, uint8_t flags)
{
	int row = (flags & RST) ? 3 : (flags & SYN) ? 0 : (flags & FIN) ? 1 : (flags & ACK) ? 2 : -1;

	if (row < 0)
		return CS_CLOSE;
	return abbrev(want_rows[tbl][row] + 3 * cur);
}

static void test_tcp_table(void **state)
{
	static const uint8_t row_flag[4] = { SYN, FIN, ACK, RST };

	for (int tbl = 0; tbl < 3; tbl++)
		for (int row = 0; row < 4; row++)
			for (unsigned cur = 0; cur <= CS_SYNACK; cur++) {
				enum conn_dir dir = tbl == 1 ? CONN_DIR_OUT : CONN_DIR_IN;
				enum conn_state got = conn_tcp_next((enum conn_state)cur, dir,
								    row_flag[row], tbl == 2);
				if (got != abbrev(want_rows[tbl][row] + 3 * cur))
					fail_msg("table %d row %d state %s: got %s", tbl, row,
						 conn_state_name(cur), conn_state_name(got));
			}
	/* Every flag combination: precedence and the no-flag CLOSE. */
	for (unsigned f = 0; f < 64; f++)
		for (int tbl = 0; tbl < 3; tbl++)
			for (unsigned cur = 0; cur <= CS_SYNACK; cur++) {
				enum conn_dir dir = tbl == 1 ? CONN_DIR_OUT : CONN_DIR_IN;
				assert_int_equal(conn_tcp_next((enum conn_state)cur, dir, (uint8_t)f,
							       tbl == 2),
						 horrible_tcp_next((enum conn_state)cur, tbl, (uint8_t)f));
			}
	/* The output table ignores in_only. */
	assert_int_equal(conn_tcp_next(CS_ESTABLISHED, CONN_DIR_OUT, FIN, true), CS_FIN_WAIT);
	assert_int_equal(conn_tcp_next(CS_ESTABLISHED, CONN_DIR_IN, PSH | URG, false), CS_CLOSE);
	assert_int_equal(conn_tcp_next(CS_SYN_RECV, CONN_DIR_IN, SYN | FIN | RST | ACK, false),
			 CS_SYN_RECV);
}

/* ---- sequences through conn_update -------------------------------------- */

struct step {
	enum conn_dir dir;
	uint8_t flags;
	enum conn_state want;
	int active_delta;
};

static void run_steps(const char *what, uint8_t fwd, const struct step *s, unsigned n)
{
	struct conn_table *ct = conn_table_new(64, T0, NULL, NULL);
	struct conn t = tuple("10.0.0.1", 40000, "192.0.2.1", 80, "10.1.1.1", 8080, P_TCP, fwd);
	struct conn *c = conn_insert(ct, &t, MS(0));
	enum conn_state prev = CS_NONE;

	assert_non_null(c);
	assert_true(c->flags & CONN_F_INACTIVE);  /* IPVS binds new conns inactive */
	for (unsigned i = 0; i < n; i++) {
		uint16_t before = c->flags;
		enum conn_state old = conn_update(ct, c, s[i].dir, s[i].flags, MS(1000 * (i + 1)));

		if (old != prev || c->state != s[i].want ||
		    conn_active_delta(before, c) != s[i].active_delta)
			fail_msg("%s step %u: old %s (want %s) now %s (want %s) delta %d (want %d)",
				 what, i, conn_state_name(old), conn_state_name(prev),
				 conn_state_name(c->state), conn_state_name(s[i].want),
				 conn_active_delta(before, c), s[i].active_delta);
		assert_int_equal(!!(c->flags & CONN_F_INACTIVE), s[i].want != CS_ESTABLISHED);
		assert_int_equal(conn_remaining_ms(ct, c, MS(1000 * (i + 1))),
				 conn_table_timeouts(ct)->ms[s[i].want]);
		prev = s[i].want;
	}
	conn_table_free(ct);
}

static void test_sequences(void **state)
{
	static const struct step nat[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_OUT, SYN | ACK, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_IN, ACK | PSH, CS_ESTABLISHED, 0 },
		{ CONN_DIR_OUT, ACK, CS_ESTABLISHED, 0 },
		{ CONN_DIR_IN, FIN | ACK, CS_CLOSE_WAIT, -1 },
		{ CONN_DIR_OUT, ACK, CS_CLOSE_WAIT, 0 },
		{ CONN_DIR_OUT, FIN | ACK, CS_TIME_WAIT, 0 },
		{ CONN_DIR_IN, ACK, CS_TIME_WAIT, 0 },
	};
	static const struct step nat_server_closes[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_OUT, SYN | ACK, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_OUT, FIN | ACK, CS_FIN_WAIT, -1 },
		{ CONN_DIR_IN, ACK, CS_FIN_WAIT, 0 },
		{ CONN_DIR_IN, FIN | ACK, CS_TIME_WAIT, 0 },
		{ CONN_DIR_OUT, ACK, CS_TIME_WAIT, 0 },
	};
	/* DR: replies bypass us, the INPUT-ONLY table applies. */
	static const struct step dr[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_IN, ACK | PSH, CS_ESTABLISHED, 0 },
		{ CONN_DIR_IN, FIN | ACK, CS_FIN_WAIT, -1 },
		{ CONN_DIR_IN, ACK, CS_FIN_WAIT, 0 },
		{ CONN_DIR_IN, RST, CS_CLOSE, 0 },
	};
	/* DR where a reply did come through: back to the INPUT table. */
	static const struct step dr_out_seen[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_OUT, ACK, CS_ESTABLISHED, 0 },
		{ CONN_DIR_IN, FIN | ACK, CS_CLOSE_WAIT, -1 },
	};
	static const struct step rst_in[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_IN, RST | ACK, CS_CLOSE, -1 },
	};
	static const struct step rst_out[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_OUT, RST | ACK, CS_CLOSE, 0 },
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },   /* client retries */
		{ CONN_DIR_OUT, SYN | ACK, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_OUT, RST, CS_CLOSE, -1 },
	};
	/* Both ends send FIN before seeing the other's. */
	static const struct step simultaneous[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_OUT, SYN | ACK, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_IN, FIN | ACK, CS_CLOSE_WAIT, -1 },
		{ CONN_DIR_OUT, FIN | ACK, CS_TIME_WAIT, 0 },
		{ CONN_DIR_IN, ACK, CS_TIME_WAIT, 0 },
		{ CONN_DIR_OUT, ACK, CS_TIME_WAIT, 0 },
	};
	/* A segment with no SYN/FIN/ACK/RST closes (set_tcp_state default). */
	static const struct step noflags[] = {
		{ CONN_DIR_IN, SYN, CS_SYN_RECV, 0 },
		{ CONN_DIR_IN, ACK, CS_ESTABLISHED, 1 },
		{ CONN_DIR_IN, PSH, CS_CLOSE, -1 },
		{ CONN_DIR_IN, ACK, CS_CLOSE, 0 },
		{ CONN_DIR_IN, SYN | FIN, CS_SYN_RECV, 0 },   /* SYN beats FIN */
	};

#define RUN(name, fwd) run_steps(#name, fwd, name, sizeof(name) / sizeof(name[0]))
	RUN(nat, FWD_NAT);
	RUN(nat, FWD_FNAT);
	RUN(nat_server_closes, FWD_NAT);
	RUN(dr, FWD_DR);
	RUN(dr, FWD_TUN);
	RUN(dr_out_seen, FWD_DR);
	RUN(rst_in, FWD_NAT);
	RUN(rst_out, FWD_NAT);
	RUN(simultaneous, FWD_NAT);
	RUN(noflags, FWD_NAT);
#undef RUN
}

static void test_udp_and_templates_ignore_flags(void **state)
{
	struct conn_table *ct = conn_table_new(64, T0, NULL, NULL);
	struct conn t = tuple("10.0.0.1", 5353, "192.0.2.1", 53, "10.1.1.1", 53, P_UDP, FWD_NAT);
	struct conn *c = conn_insert(ct, &t, MS(0));

	assert_int_equal(c->state, CS_UDP);
	assert_true(c->flags & CONN_F_INACTIVE);
	assert_int_equal(conn_update(ct, c, CONN_DIR_IN, SYN, MS(100000)), CS_UDP);
	assert_int_equal(c->state, CS_UDP);
	assert_true(c->flags & CONN_F_INACTIVE);
	assert_int_equal(conn_remaining_ms(ct, c, MS(100000)), 300000);

	struct conn tt = tuple("10.0.0.1", 0, "192.0.2.1", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	struct conn *tm = conn_tmpl_insert(ct, &tt, 360000, MS(0));
	assert_non_null(tm);
	assert_true(tm->flags & CONN_F_TEMPLATE);
	assert_false(tm->flags & CONN_F_INACTIVE);
	assert_int_equal(conn_update(ct, tm, CONN_DIR_IN, SYN, MS(5000)), CS_NONE);
	assert_int_equal(tm->state, CS_NONE);
	assert_int_equal(conn_remaining_ms(ct, tm, MS(5000)), 360000);
	conn_table_free(ct);
}

/* ---- timeouts on a fake clock ------------------------------------------- */

static void check_state_expiry(enum conn_state s, bool steady_calls)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(64, T0, rel_count_cb, &log);
	uint8_t proto = s == CS_UDP ? P_UDP : s == CS_ICMP ? P_ICMP : P_TCP;
	struct conn t = tuple("10.0.0.1", 1000, "192.0.2.1", 80, "10.1.1.1", 80, proto, FWD_NAT);
	/* 5000.25 ms after the origin: the table counts whole ms. */
	uint64_t start = MS(5000) + 250000;
	uint32_t to = conn_table_timeouts(ct)->ms[s];
	struct conn *c;

	t.state = s;
	c = conn_insert(ct, &t, start);
	assert_non_null(c);
	assert_int_equal(c->state, s);
	assert_int_equal(conn_remaining_ms(ct, c, start), to);
	if (steady_calls)
		for (uint32_t ms = 5000; ms < 5000 + to - 1; ms += 997)
			assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
	/* One ns short of the last ms before expiry: still there. */
	assert_int_equal(conn_expire(ct, MS(5000 + to) - 1, 256), 0);
	assert_int_equal(conn_count(ct), 1);
	assert_int_equal(log.n, 0);
	assert_int_equal(conn_remaining_ms(ct, c, MS(5000 + to) - 1), 1);
	assert_ptr_equal(lookup_in(ct, &t, NULL), c);
	/* The ms it is due: gone, release callback first. */
	assert_int_equal(conn_expire(ct, MS(5000 + to), 256), 1);
	assert_int_equal(conn_count(ct), 0);
	assert_int_equal(log.n, 1);
	assert_ptr_equal(log.last, c);
	assert_null(lookup_in(ct, &t, NULL));
	assert_null(lookup_out(ct, &t, NULL));
	assert_int_equal(conn_table_stats(ct)->expired, 1);
	conn_table_free(ct);
}

static void test_each_state_expires_on_time(void **state)
{
	for (unsigned s = 0; s < CS_MAX; s++) {
		check_state_expiry((enum conn_state)s, true);
		check_state_expiry((enum conn_state)s, false);
	}
}

static void test_refresh_keeps_alive(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(64, T0, rel_count_cb, &log);
	struct conn u = tuple("10.0.0.1", 5353, "192.0.2.1", 53, "10.1.1.1", 53, P_UDP, FWD_NAT);
	struct conn t = tuple("10.0.0.2", 40000, "192.0.2.1", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	struct conn *cu = conn_insert(ct, &u, MS(0));
	struct conn *ctcp;
	uint32_t ms;

	t.state = CS_ESTABLISHED;
	ctcp = conn_insert(ct, &t, MS(0));
	/* UDP touched every 250 s for an hour, expiry run every second. */
	for (ms = 1000; ms <= 3600000; ms += 1000) {
		if (ms % 250000 == 0) {
			conn_touch(ct, cu, MS(ms));
			conn_update(ct, ctcp, CONN_DIR_IN, ACK, MS(ms));
		}
		assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
	}
	assert_int_equal(conn_count(ct), 2);
	/* Last touch at 3500 s: UDP goes at 3800 s, TCP ESTABLISHED at 4400 s. */
	assert_int_equal(conn_expire(ct, MS(3800000 - 1), 256), 0);
	assert_int_equal(conn_expire(ct, MS(3800000), 256), 1);
	assert_ptr_equal(log.last, cu);
	/* Shortening: a FIN takes ESTABLISHED (900 s) to CLOSE_WAIT (60 s) and
	 * the connection must go 60 s later, not at its old expiry. */
	assert_int_equal(conn_update(ct, ctcp, CONN_DIR_IN, FIN | ACK, MS(3900000)),
			 CS_ESTABLISHED);
	for (ms = 3900000; ms < 3960000; ms += 500)
		assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
	assert_int_equal(conn_expire(ct, MS(3960000), 256), 1);
	assert_ptr_equal(log.last, ctcp);
	assert_int_equal(conn_count(ct), 0);
	conn_table_free(ct);
}

/* On a big table one wheel turn (65.5 s) outlasts CLOSE's 10 s: a timer
 * shortened by a state change must be filed again at once. */
static void test_shortened_timer_big_table(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(1u << 20, T0, rel_count_cb, &log);
	struct conn k[3];
	struct conn *c[3];
	uint32_t ms;

	for (unsigned i = 0; i < 3; i++) {
		k[i] = tuple("10.0.0.1", (uint16_t)(1000 + i), "192.0.2.1", 80, "10.1.1.1", 80,
			     P_TCP, FWD_NAT);
		k[i].state = CS_ESTABLISHED;
		c[i] = conn_insert(ct, &k[i], MS(0));
	}
	for (ms = 0; ms <= 300000; ms += 100)
		assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
	conn_update(ct, c[0], CONN_DIR_IN, RST, MS(300000));             /* CLOSE 10 s */
	conn_update(ct, c[1], CONN_DIR_OUT, FIN | ACK, MS(300000));       /* FIN_WAIT 120 s */
	conn_update(ct, c[2], CONN_DIR_IN, ACK, MS(300000));              /* ES 900 s */
	for (ms = 300000; ms < 310000; ms += 100)
		assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
	assert_int_equal(conn_expire(ct, MS(310000), 256), 1);
	assert_ptr_equal(log.last, c[0]);
	/* Clock jumps longer than a turn: a call steps at most
	 * CONN_EXPIRE_STEPS slots, so run until the backlog is gone. */
	assert_int_equal(expire_all(ct, MS(420000 - 1)), 0);
	assert_int_equal(expire_all(ct, MS(420000)), 1);
	assert_ptr_equal(log.last, c[1]);
	assert_int_equal(expire_all(ct, MS(1200000 - 1)), 0);
	assert_int_equal(expire_all(ct, MS(1200000)), 1);
	assert_ptr_equal(log.last, c[2]);
	conn_table_free(ct);
}

/* A clock that steps back (workers' timestamps are not perfectly ordered)
 * or a zero timeout must still expire at the next call, not a turn later. */
static void test_clock_behind_cursor(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(64, T0, rel_count_cb, &log);
	struct conn k = tuple("10.0.0.1", 0, "192.0.2.1", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	struct conn *t;

	assert_int_equal(conn_expire(ct, MS(10000), 256), 0);
	t = conn_tmpl_insert(ct, &k, 0, MS(10000));
	assert_non_null(t);
	assert_int_equal(conn_expire(ct, MS(10001), 256), 1);
	t = conn_tmpl_insert(ct, &k, 500, MS(9000));          /* due at 9.5 s: past */
	assert_non_null(t);
	assert_int_equal(conn_expire(ct, MS(10002), 256), 1);
	assert_int_equal(log.n, 2);
	conn_table_free(ct);
}

/* ---- templates ---------------------------------------------------------- */

static void test_templates(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(64, T0, rel_count_cb, &log);
	struct conn tk = tuple("10.0.0.1", 0, "192.0.2.1", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	struct conn ck = tuple("10.0.0.1", 40000, "192.0.2.1", 80, "10.1.1.1", 80, P_TCP, FWD_NAT);
	struct conn *t, *c;
	uint32_t ms;

	t = conn_tmpl_insert(ct, &tk, 250000, MS(0));
	assert_non_null(t);
	assert_int_equal(conn_table_stats(ct)->templates_created, 1);
	assert_int_equal(conn_table_stats(ct)->created, 0);
	/* A template never answers a packet lookup, even on its exact key. */
	assert_null(lookup_in(ct, &tk, NULL));
	assert_null(lookup_out(ct, &tk, NULL));
	assert_ptr_equal(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr, tk.vport), t);
	assert_null(conn_tmpl_lookup(ct, tk.af, P_UDP, &tk.caddr, 0, &tk.vaddr, tk.vport));
	assert_null(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, be16(1), &tk.vaddr, tk.vport));
	/* A flow on the template's key does not find the template either way. */
	struct conn same = tk;
	struct conn *fs = conn_insert(ct, &same, MS(0));
	assert_ptr_equal(lookup_in(ct, &tk, NULL), fs);
	assert_ptr_equal(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr, tk.vport), t);
	conn_free(ct, fs);
	assert_int_equal(log.n, 1);

	ck.state = CS_ESTABLISHED;
	c = conn_insert(ct, &ck, MS(0));
	conn_set_control(ct, c, t);
	assert_int_equal(t->n_control, 1);
	/* The template is due at 250, 500, 750 s but controls c: re-armed. */
	for (ms = 1000; ms <= 899000; ms += 1000) {
		assert_int_equal(conn_expire(ct, MS(ms), 256), 0);
		assert_ptr_equal(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr,
						  tk.vport), t);
	}
	assert_int_equal(conn_remaining_ms(ct, t, MS(899000)), 1000000 - 899000);
	/* c goes at 900 s and the template stops being pinned. */
	assert_int_equal(conn_expire(ct, MS(900000), 256), 1);
	assert_ptr_equal(log.last, c);
	assert_int_equal(t->n_control, 0);
	assert_int_equal(conn_expire(ct, MS(999999), 256), 0);
	assert_int_equal(conn_expire(ct, MS(1000000), 256), 1);
	assert_ptr_equal(log.last, t);
	assert_int_equal(conn_count(ct), 0);

	/* conn_free of a template still in control: unhashed now, freed with
	 * its last connection. */
	log.n = 0;
	t = conn_tmpl_insert(ct, &tk, 250000, MS(2000000));
	c = conn_insert(ct, &ck, MS(2000000));
	conn_set_control(ct, c, t);
	conn_free(ct, t);
	assert_null(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr, tk.vport));
	assert_int_equal(conn_count(ct), 2);
	assert_int_equal(log.n, 0);
	/* A new template may take the key meanwhile. */
	struct conn *t2 = conn_tmpl_insert(ct, &tk, 250000, MS(2000000));
	assert_ptr_equal(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr, tk.vport), t2);
	conn_free(ct, c);
	assert_int_equal(log.n, 2);
	assert_int_equal(conn_count(ct), 1);
	assert_ptr_equal(conn_tmpl_lookup(ct, tk.af, P_TCP, &tk.caddr, 0, &tk.vaddr, tk.vport), t2);
	/* Moving control: the old template's count drops. */
	c = conn_insert(ct, &ck, MS(2000000));
	conn_set_control(ct, c, t2);
	struct conn tk3 = tk;
	tk3.vport = be16(443);
	struct conn *t3 = conn_tmpl_insert(ct, &tk3, 250000, MS(2000000));
	conn_set_control(ct, c, t3);
	assert_int_equal(t2->n_control, 0);
	assert_int_equal(t3->n_control, 1);
	conn_table_free(ct);
}

/* ---- full table --------------------------------------------------------- */

static void test_full_table(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(8, T0, rel_count_cb, &log);
	struct conn k[9];
	struct conn *c[9];
	char cl[32];

	for (unsigned i = 0; i < 9; i++) {
		snprintf(cl, sizeof(cl), "10.0.0.%u", i + 1);
		k[i] = tuple(cl, (uint16_t)(1000 + i), "192.0.2.1", 80, "10.1.1.2", 8080,
			     P_TCP, FWD_NAT);
	}
	for (unsigned i = 0; i < 8; i++) {
		c[i] = conn_insert(ct, &k[i], MS(i));
		assert_non_null(c[i]);
	}
	assert_null(conn_insert(ct, &k[8], MS(10)));
	assert_int_equal(conn_table_stats(ct)->table_full, 1);
	assert_null(conn_tmpl_insert(ct, &k[8], 1000, MS(10)));
	assert_int_equal(conn_table_stats(ct)->table_full, 2);
	assert_int_equal(conn_count(ct), 8);
	for (unsigned i = 0; i < 8; i++) {
		enum conn_dir d;

		assert_ptr_equal(lookup_in(ct, &k[i], &d), c[i]);
		assert_int_equal(d, CONN_DIR_IN);
		assert_ptr_equal(lookup_out(ct, &k[i], &d), c[i]);
		assert_int_equal(d, CONN_DIR_OUT);
		assert_true(addr_eq(&c[i]->caddr, &k[i].caddr));
		assert_int_equal(c[i]->cport, k[i].cport);
		assert_int_equal(c[i]->dest_id, 7);
		assert_int_equal(conn_remaining_ms(ct, c[i], MS(10)), 2000 + i - 10);
	}
	assert_null(lookup_in(ct, &k[8], NULL));
	conn_free(ct, c[3]);
	assert_int_equal(log.n, 1);
	c[8] = conn_insert(ct, &k[8], MS(20));
	assert_non_null(c[8]);
	assert_ptr_equal(lookup_out(ct, &k[8], NULL), c[8]);
	assert_null(lookup_in(ct, &k[3], NULL));
	conn_table_free(ct);
}

static int count_cb(void *arg, const struct conn *c)
{
	unsigned *n = arg;

	return ++*n == 5;
}

static int count_all_cb(void *arg, const struct conn *c)
{
	(*(unsigned *)arg)++;
	return 0;
}

static void test_foreach(void **state)
{
	struct conn_table *ct = conn_table_new(64, T0, NULL, NULL);
	struct conn *c[20];
	unsigned n = 0;

	for (unsigned i = 0; i < 20; i++) {
		struct conn k = tuple("10.0.0.1", (uint16_t)(1000 + i), "192.0.2.1", 80,
				      "10.1.1.2", 8080, P_UDP, FWD_DR);
		c[i] = conn_insert(ct, &k, MS(0));
	}
	for (unsigned i = 0; i < 20; i += 3)
		conn_free(ct, c[i]);
	conn_foreach(ct, count_all_cb, &n);
	assert_int_equal(n, conn_count(ct));
	assert_int_equal(n, 13);
	n = 0;
	conn_foreach(ct, count_cb, &n);
	assert_int_equal(n, 5);
	conn_table_free(ct);
}

/* ---- bounded expiry ----------------------------------------------------- */

static void test_expire_in_slices(void **state)
{
	struct rel_log log = { 0 };
	struct conn_table *ct = conn_table_new(16384, T0, rel_count_cb, &log);
	unsigned calls = 0, total = 0;

	for (unsigned i = 0; i < 10000; i++) {
		struct conn k = tuple("10.0.0.1", (uint16_t)i, "192.0.2.1", 53, "10.1.1.2", 53,
				      P_UDP, FWD_NAT);
		k.caddr.ip ^= (uint32_t)(i >> 16);
		assert_non_null(conn_insert(ct, &k, MS(0) + i));   /* same ms */
	}
	assert_int_equal(conn_expire(ct, MS(299999), 256), 0);
	assert_int_equal(conn_count(ct), 10000);
	do {
		unsigned n = conn_expire(ct, MS(300000), 256);

		assert_true(n <= 256);
		total += n;
		calls++;
		assert_true(calls < 1000);
	} while (conn_expire_backlog(ct, MS(300000)));
	assert_int_equal(total, 10000);
	assert_true(calls >= 40);
	assert_int_equal(log.n, 10000);
	assert_int_equal(conn_count(ct), 0);
	assert_int_equal(conn_table_stats(ct)->expired, 10000);

	/* Spread expiries, then a clock that jumps a week ahead: catching up
	 * is spread over calls and loses nothing. */
	struct conn **cs = calloc(10000, sizeof(*cs));
	for (unsigned i = 0; i < 10000; i++) {
		struct conn k = tuple("10.0.0.2", (uint16_t)i, "192.0.2.1", 80, "10.1.1.2", 80,
				      P_TCP, FWD_NAT);

		k.state = (enum conn_state)(i % CS_UDP);
		cs[i] = conn_insert(ct, &k, MS(400000 + i * 7));
		assert_non_null(cs[i]);
	}
	for (unsigned i = 0; i < 10000; i += 5)
		conn_update(ct, cs[i], CONN_DIR_IN, ACK, MS(500000 + i));
	free(cs);
	calls = 0;
	total = 0;
	do {
		unsigned n = conn_expire(ct, MS(400000 + 7ull * 86400000), 256);

		assert_true(n <= 256);
		total += n;
		calls++;
		assert_true(calls < 1000);
	} while (conn_expire_backlog(ct, MS(400000 + 7ull * 86400000)));
	assert_int_equal(total, 10000);
	assert_int_equal(conn_count(ct), 0);
	conn_table_free(ct);
}

/* ---- differential test against horrible_conn_model ---------------------- */

struct hm_entry {
	bool live, tmpl, hashed, dying, released;
	struct conn k;          /* tuple, proto, af, fwd, state, flags we model */
	uint32_t expires, timeout;
	int control;            /* model index or -1 */
	uint32_t n_control;
	struct conn *impl;
};

#define HM_CAP_MAX 256

/* The reference: a flat array, linear search, every rule written the
 * simplest way.  Conns live at even ms and templates at odd ms, so the two
 * never fall due on the same ms and the order of expiry cannot matter. */
struct horrible_conn_model {
	struct hm_entry e[HM_CAP_MAX];
	unsigned slots;          /* entries of e[] in use by this run */
	unsigned cap, live;      /* the table's capacity, live entries */
	uint32_t now;            /* ms since T0 */
	struct conn_timeouts to;
	uint64_t table_full;
};

static struct horrible_conn_model *hm;   /* for the release callback */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint64_t hm_ns(uint32_t ms)
{
	return MS(ms) + rn(1000000);   /* sub-ms noise the table must ignore */
}

static void hm_release_cb(void *ctx, struct conn *c)
{
	for (unsigned i = 0; i < hm->slots; i++)
		if (hm->e[i].live && hm->e[i].impl == c) {
			if (!hm->e[i].dying || hm->e[i].released)
				fail_msg("release of entry %u not expected (dying %d)", i,
					 hm->e[i].dying);
			hm->e[i].released = true;
			return;
		}
	fail_msg("release of a conn the model does not know");
}

/* Entries marked dying must all have been released; then drop them. */
static void hm_settle(void)
{
	for (unsigned i = 0; i < hm->slots; i++) {
		struct hm_entry *e = &hm->e[i];

		if (!e->live || !e->dying)
			continue;
		if (!e->released)
			fail_msg("entry %u should have been released", i);
		e->live = false;
		e->dying = e->released = false;
		hm->live--;
	}
}

static bool key_in_eq(const struct conn *a, const struct conn *b)
{
	return a->af == b->af && a->proto == b->proto && addr_eq(&a->caddr, &b->caddr) &&
	       a->cport == b->cport && addr_eq(&a->vaddr, &b->vaddr) && a->vport == b->vport;
}

/* Does the wire tuple (s, sp) -> (d, dp) name this flow's in or out side? */
static int hm_match(const struct conn *k, uint8_t af, uint8_t proto,
		    const union ulvs_addr *s, uint16_t sp, const union ulvs_addr *d, uint16_t dp)
{
	if (k->af != af || k->proto != proto)
		return -1;
	if (addr_eq(&k->caddr, s) && k->cport == sp && addr_eq(&k->vaddr, d) && k->vport == dp)
		return CONN_DIR_IN;
	if (addr_eq(&k->daddr, s) && k->dport == sp && addr_eq(&k->laddr, d) && k->lport == dp)
		return CONN_DIR_OUT;
	return -1;
}

static int hm_lookup(uint8_t af, uint8_t proto, const union ulvs_addr *s, uint16_t sp,
		     const union ulvs_addr *d, uint16_t dp, int *dir)
{
	for (unsigned i = 0; i < hm->slots; i++) {
		struct hm_entry *e = &hm->e[i];

		if (e->live && !e->tmpl && (*dir = hm_match(&e->k, af, proto, s, sp, d, dp)) >= 0)
			return (int)i;
	}
	return -1;
}

static int hm_tmpl_lookup(const struct conn *k)
{
	for (unsigned i = 0; i < hm->slots; i++)
		if (hm->e[i].live && hm->e[i].tmpl && hm->e[i].hashed &&
		    key_in_eq(&hm->e[i].k, k))
			return (int)i;
	return -1;
}

/* -1: the table is full; -2: the model's array is (skip the operation). */
static int hm_free_slot(void)
{
	if (hm->live >= hm->cap)
		return -1;
	for (unsigned i = 0; i < hm->slots; i++)
		if (!hm->e[i].live)
			return (int)i;
	return -2;
}

/* Mark i (and a zombie template it was the last child of) as dying. */
static void hm_kill(unsigned i)
{
	for (;;) {
		struct hm_entry *e = &hm->e[i];
		int p = e->control;

		e->dying = true;
		if (p < 0)
			return;
		if (hm->e[p].n_control)
			hm->e[p].n_control--;
		if (hm->e[p].n_control || hm->e[p].hashed)
			return;
		i = (unsigned)p;
	}
}

static void hm_expire_at(uint32_t t)
{
	for (unsigned i = 0; i < hm->slots; i++) {
		struct hm_entry *e = &hm->e[i];

		if (!e->live || e->dying || e->expires != t)
			continue;
		if (e->tmpl && e->n_control)
			e->expires = t + e->timeout;
		else
			hm_kill(i);
	}
}

static void hm_run_impl_expire(struct conn_table *ct, uint32_t t)
{
	uint64_t ns = hm_ns(t);
	unsigned calls = 0;

	do {
		conn_expire(ct, ns, 1 + rn(9));
		if (++calls > 100000)
			fail_msg("expiry never catches up");
	} while (conn_expire_backlog(ct, ns));
	hm_settle();
}

/* Move virtual time to target, expiring exactly what falls due. */
static void hm_advance(struct conn_table *ct, uint32_t target)
{
	for (;;) {
		int32_t best = INT32_MAX;

		for (unsigned i = 0; i < hm->slots; i++)
			if (hm->e[i].live) {
				int32_t d = (int32_t)(hm->e[i].expires - hm->now);

				assert_true(d > 0);
				if (d < best)
					best = d;
			}
		if (best == INT32_MAX || (int32_t)(target - hm->now) < best)
			break;
		hm->now += (uint32_t)best;
		hm_expire_at(hm->now);
		hm_run_impl_expire(ct, hm->now);
	}
	hm->now = target;
	hm_run_impl_expire(ct, hm->now);
}

static void hm_to_parity(struct conn_table *ct, unsigned parity)
{
	if ((hm->now & 1) != parity)
		hm_advance(ct, hm->now + 1);
}

static union ulvs_addr hm_addr(uint8_t af, uint32_t v)
{
	union ulvs_addr a;

	memset(&a, 0, sizeof(a));
	if (af == ULVS_AF_INET) {
		a.ip = 0x0a000000u | v;    /* byte order is irrelevant to the table */
	} else {
		a.ip6[0] = 0x20010db8u;
		a.ip6[3] = v;
	}
	return a;
}

static struct conn hm_random_flow(void)
{
	struct conn k;

	memset(&k, 0, sizeof(k));
	k.af = rn(4) ? ULVS_AF_INET : ULVS_AF_INET6;
	k.proto = rn(3) ? P_TCP : P_UDP;
	k.fwd = (uint8_t)rn(4);                      /* NAT DR TUN FNAT */
	k.caddr = hm_addr(k.af, 1 + rn(12));
	k.cport = (uint16_t)(1000 + rn(10));
	k.vaddr = hm_addr(k.af, 100 + rn(2));
	k.vport = rn(2) ? 80 : 443;
	k.daddr = hm_addr(k.af, 200 + rn(4));
	k.dport = rn(2) ? 8080 : 8081;
	if (k.fwd == FWD_FNAT) {
		k.laddr = hm_addr(k.af, 50 + rn(2));
		k.lport = (uint16_t)(2000 + rn(8));
	} else {
		k.laddr = k.caddr;
		k.lport = k.cport;
	}
	if (k.proto == P_UDP)
		k.state = CS_UDP;
	else
		k.state = (uint8_t)(rn(3) == 0 ? CS_ESTABLISHED : rn(2) ? CS_NONE : CS_SYN_RECV);
	k.dest_id = rn(100);
	return k;
}

/* The engine never inserts a flow whose keys are taken; keep the model's
 * lookups unambiguous the same way. */
static bool hm_flow_clashes(const struct conn *k)
{
	int dir;

	if (hm_match(k, k->af, k->proto, &k->daddr, k->dport, &k->laddr, k->lport) ==
	    CONN_DIR_IN)
		return true;
	return hm_lookup(k->af, k->proto, &k->caddr, k->cport, &k->vaddr, k->vport, &dir) >= 0 ||
	       hm_lookup(k->af, k->proto, &k->daddr, k->dport, &k->laddr, k->lport, &dir) >= 0;
}

static int hm_pick(bool tmpl, bool want_hashed)
{
	unsigned n = 0, pick;

	for (unsigned i = 0; i < hm->slots; i++)
		if (hm->e[i].live && hm->e[i].tmpl == tmpl && (!want_hashed || hm->e[i].hashed))
			n++;
	if (!n)
		return -1;
	pick = rn(n);
	for (unsigned i = 0; i < hm->slots; i++)
		if (hm->e[i].live && hm->e[i].tmpl == tmpl && (!want_hashed || hm->e[i].hashed) &&
		    pick-- == 0)
			return (int)i;
	return -1;
}

static void hm_check_entry(struct conn_table *ct, unsigned i)
{
	struct hm_entry *e = &hm->e[i];
	struct conn *c = e->impl;
	enum conn_dir d;
	uint64_t ns = hm_ns(hm->now);

	assert_int_equal(c->state, e->k.state);
	assert_int_equal(c->flags & (CONN_F_INACTIVE | CONN_F_OUT_SEEN | CONN_F_TEMPLATE),
			 e->k.flags & (CONN_F_INACTIVE | CONN_F_OUT_SEEN | CONN_F_TEMPLATE));
	assert_int_equal(conn_remaining_ms(ct, c, ns), e->expires - hm->now);
	assert_int_equal(c->n_control, e->n_control);
	if (e->tmpl) {
		struct conn *got = conn_tmpl_lookup(ct, e->k.af, e->k.proto, &e->k.caddr,
						    e->k.cport, &e->k.vaddr, e->k.vport);
		int want = hm_tmpl_lookup(&e->k);

		assert_ptr_equal(got, want < 0 ? NULL : hm->e[want].impl);
		return;
	}
	assert_ptr_equal(conn_lookup(ct, e->k.af, e->k.proto, &e->k.caddr, e->k.cport,
				     &e->k.vaddr, e->k.vport, &d), c);
	assert_int_equal(d, CONN_DIR_IN);
	assert_ptr_equal(conn_lookup(ct, e->k.af, e->k.proto, &e->k.daddr, e->k.dport,
				     &e->k.laddr, e->k.lport, &d), c);
	assert_int_equal(d, CONN_DIR_OUT);
}

static void hm_check_all(struct conn_table *ct)
{
	unsigned n = 0;

	assert_int_equal(conn_count(ct), hm->live);
	conn_foreach(ct, count_all_cb, &n);
	assert_int_equal(n, hm->live);
	assert_int_equal(conn_table_stats(ct)->table_full, hm->table_full);
	for (unsigned i = 0; i < hm->slots; i++)
		if (hm->e[i].live)
			hm_check_entry(ct, i);
}

static void hm_op_insert(struct conn_table *ct)
{
	struct conn k = hm_random_flow();
	int slot;
	struct conn *c;

	hm_to_parity(ct, 0);
	if (hm_flow_clashes(&k))
		return;
	slot = hm_free_slot();
	if (slot == -2)
		return;
	c = conn_insert(ct, &k, hm_ns(hm->now));
	if (slot < 0) {
		assert_null(c);
		hm->table_full++;
		return;
	}
	assert_non_null(c);
	struct hm_entry *e = &hm->e[slot];
	memset(e, 0, sizeof(*e));
	e->live = true;
	e->hashed = true;
	e->k = k;
	e->k.flags = k.state == CS_ESTABLISHED ? 0 : CONN_F_INACTIVE;
	e->timeout = hm->to.ms[k.state];
	e->expires = hm->now + e->timeout;
	e->control = -1;
	e->impl = c;
	hm->live++;
}

static void hm_op_tmpl_insert(struct conn_table *ct)
{
	struct conn k = hm_random_flow();
	int slot;
	struct conn *c;
	uint32_t timeout = 2 * (1 + rn(200000));     /* even: templates stay odd */

	hm_to_parity(ct, 1);
	if (rn(2))
		k.cport = 0;
	k.state = CS_NONE;
	if (hm_tmpl_lookup(&k) >= 0)
		return;
	slot = hm_free_slot();
	if (slot == -2)
		return;
	c = conn_tmpl_insert(ct, &k, timeout, hm_ns(hm->now));
	if (slot < 0) {
		assert_null(c);
		hm->table_full++;
		return;
	}
	assert_non_null(c);
	struct hm_entry *e = &hm->e[slot];
	memset(e, 0, sizeof(*e));
	e->live = e->tmpl = e->hashed = true;
	e->k = k;
	e->k.flags = CONN_F_TEMPLATE;
	e->timeout = timeout;
	e->expires = hm->now + timeout;
	e->control = -1;
	e->impl = c;
	hm->live++;
}

static void hm_op_update(struct conn_table *ct)
{
	static const uint8_t flag_sets[] = { SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, FIN,
					     RST, RST | ACK, PSH, SYN | FIN };
	int i;
	struct hm_entry *e;
	enum conn_dir dir = rn(2) ? CONN_DIR_IN : CONN_DIR_OUT;
	uint8_t flags = flag_sets[rn(sizeof(flag_sets))];
	enum conn_state want_old;

	hm_to_parity(ct, 0);
	i = hm_pick(false, false);
	if (i < 0)
		return;
	e = &hm->e[i];
	want_old = (enum conn_state)e->k.state;
	if (e->k.proto == P_TCP) {
		int tbl;

		if (dir == CONN_DIR_OUT) {
			e->k.flags |= CONN_F_OUT_SEEN;
			tbl = 1;
		} else {
			tbl = (e->k.fwd == FWD_DR || e->k.fwd == FWD_TUN) &&
			      !(e->k.flags & CONN_F_OUT_SEEN) ? 2 : 0;
		}
		e->k.state = (uint8_t)horrible_tcp_next((enum conn_state)e->k.state, tbl, flags);
		if (e->k.state == CS_ESTABLISHED)
			e->k.flags &= ~CONN_F_INACTIVE;
		else
			e->k.flags |= CONN_F_INACTIVE;
	}
	e->timeout = hm->to.ms[e->k.state];
	e->expires = hm->now + e->timeout;
	assert_int_equal(conn_update(ct, e->impl, dir, flags, hm_ns(hm->now)), want_old);
	hm_check_entry(ct, (unsigned)i);
}

static void hm_op_touch(struct conn_table *ct)
{
	bool tmpl = rn(3) == 0;
	int i;
	struct hm_entry *e;

	hm_to_parity(ct, tmpl);
	i = hm_pick(tmpl, false);
	if (i < 0)
		return;
	e = &hm->e[i];
	if (!tmpl)
		e->timeout = hm->to.ms[e->k.state];
	e->expires = hm->now + e->timeout;
	conn_touch(ct, e->impl, hm_ns(hm->now));
	hm_check_entry(ct, (unsigned)i);
}

static void hm_op_free(struct conn_table *ct)
{
	bool tmpl = rn(3) == 0;
	int i = hm_pick(tmpl, tmpl);
	struct hm_entry *e;

	if (i < 0)
		return;
	e = &hm->e[i];
	if (tmpl && e->n_control)
		e->hashed = false;              /* zombie until its last child goes */
	else
		hm_kill((unsigned)i);
	conn_free(ct, e->impl);
	hm_settle();
}

static void hm_op_control(struct conn_table *ct)
{
	int ci = hm_pick(false, false), ti = hm_pick(true, true);
	struct hm_entry *c, *t;

	if (ci < 0 || ti < 0)
		return;
	c = &hm->e[ci];
	t = &hm->e[ti];
	if (c->control >= 0) {
		struct hm_entry *old = &hm->e[c->control];

		if (old->n_control)
			old->n_control--;
		if (!old->n_control && !old->hashed)
			hm_kill((unsigned)c->control);
		/* hm_kill walks from the template itself: only it dies */
	}
	c->control = ti;
	t->n_control++;
	conn_set_control(ct, c->impl, t->impl);
	hm_settle();
}

static void hm_op_lookup(struct conn_table *ct)
{
	uint8_t af = rn(4) ? ULVS_AF_INET : ULVS_AF_INET6;
	uint8_t proto = rn(3) ? P_TCP : P_UDP;
	union ulvs_addr s, d;
	uint16_t sp, dp;
	int want, wdir;
	enum conn_dir gdir;
	struct conn *got;
	int i = rn(2) ? hm_pick(false, false) : -1;

	if (i >= 0) {
		const struct conn *k = &hm->e[i].k;

		af = k->af;
		proto = k->proto;
		if (rn(2)) {
			s = k->caddr; sp = k->cport; d = k->vaddr; dp = k->vport;
		} else {
			s = k->daddr; sp = k->dport; d = k->laddr; dp = k->lport;
		}
		if (rn(4) == 0)
			sp = (uint16_t)(sp + 1);
	} else {
		static const uint32_t pool[] = { 1, 2, 3, 12, 100, 101, 200, 201, 203, 50, 51 };
		static const uint16_t ports[] = { 1000, 1001, 1002, 1003, 1004, 1009, 80, 443,
						  8080, 8081, 2000, 2001, 2002, 2007 };

		s = hm_addr(af, pool[rn(11)]);
		d = hm_addr(af, pool[rn(11)]);
		sp = ports[rn(14)];
		dp = ports[rn(14)];
	}
	want = hm_lookup(af, proto, &s, sp, &d, dp, &wdir);
	got = conn_lookup(ct, af, proto, &s, sp, &d, dp, &gdir);
	if (want < 0) {
		assert_null(got);
		return;
	}
	assert_ptr_equal(got, hm->e[want].impl);
	assert_int_equal(gdir, wdir);
}

static void hm_op_set_timeouts(struct conn_table *ct)
{
	struct conn_timeouts to;

	memset(&to, 0, sizeof(to));
	/* ipvsadm --set: whole seconds keep conns on even ms */
	to.ms[CS_ESTABLISHED] = rn(2) ? 1000 * (1 + rn(1000)) : 0;
	to.ms[CS_FIN_WAIT] = rn(2) ? 1000 * (1 + rn(200)) : 0;
	to.ms[CS_UDP] = rn(2) ? 1000 * (1 + rn(400)) : 0;
	conn_table_set_timeouts(ct, &to);
	for (unsigned s = 0; s < CS_MAX; s++)
		if (to.ms[s])
			hm->to.ms[s] = to.ms[s];
}

static void run_differential(uint32_t cap, uint64_t seed, unsigned ops)
{
	struct horrible_conn_model *m = calloc(1, sizeof(*m));
	struct conn_table *ct;

	hm = m;
	rng_state = seed;
	m->cap = cap;
	m->slots = cap < HM_CAP_MAX ? cap : HM_CAP_MAX;
	conn_timeouts_default(&m->to);
	ct = conn_table_new(cap, T0, hm_release_cb, NULL);
	assert_non_null(ct);
	assert_int_equal(conn_table_seed(ct, seed), 0);
	for (unsigned op = 0; op < ops; op++) {
		unsigned r = rn(100);

		if (r < 22)
			hm_op_insert(ct);
		else if (r < 28)
			hm_op_tmpl_insert(ct);
		else if (r < 48)
			hm_op_update(ct);
		else if (r < 54)
			hm_op_touch(ct);
		else if (r < 58)
			hm_op_free(ct);
		else if (r < 63)
			hm_op_control(ct);
		else if (r < 85)
			hm_op_lookup(ct);
		else if (r < 86)
			hm_op_set_timeouts(ct);
		else if (r < 99 || rn(4))
			hm_advance(ct, m->now + rn(2000));
		else
			hm_advance(ct, m->now + rn(1000000));   /* past a wheel turn */
		assert_int_equal(conn_count(ct), m->live);
		if (op % 32 == 0)
			hm_check_all(ct);
	}
	hm_check_all(ct);
	/* Drain: everything goes in the end, templates after their conns. */
	hm_advance(ct, m->now + 2000000000u);
	hm_check_all(ct);
	assert_int_equal(conn_count(ct), 0);
	conn_table_free(ct);
	free(m);
	hm = NULL;
}

static void test_differential_small(void **state)
{
	/* Tiny table: full most of the time. */
	for (uint64_t seed = 1; seed <= 6; seed++)
		run_differential(12, seed * 0x9e3779b97f4a7c15ull, 4000);
}

static void test_differential(void **state)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		run_differential(200, seed * 0xd1b54a32d192ed03ull, 12000);
	/* A big table has a wheel turn (65.5 s) longer than many timeouts, so
	 * lazily filed timers are not rescued by frequent turns. */
	for (uint64_t seed = 5; seed <= 6; seed++)
		run_differential(1u << 20, seed * 0xd1b54a32d192ed03ull, 12000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_default_timeouts),
		cmocka_unit_test(test_tcp_table),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_udp_and_templates_ignore_flags),
		cmocka_unit_test(test_each_state_expires_on_time),
		cmocka_unit_test(test_refresh_keeps_alive),
		cmocka_unit_test(test_shortened_timer_big_table),
		cmocka_unit_test(test_clock_behind_cursor),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_expire_in_slices),
		cmocka_unit_test(test_differential_small),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
