/* Unit tests for vrrp/: advert encode/decode against golden packets built
 * by scapy (an independent implementation), every rejection reason, and
 * the state machine driven through every transition with virtual time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "core/addr.h"
#include "testutil.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_pkt.h"
#include "vrrp/vrrp_route.h"
#include "conf/conf.h"
#include <linux/rtnetlink.h>
#include <stdio.h>

#define MS 1000000ull
#define SEC 1000000000ull

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtoul((char[]){ h[0], h[1], 0 }, NULL, 16);
	return n;
}

static struct vrrp_rx_meta meta4(const char *src, const char *dst)
{
	struct vrrp_rx_meta m = { .af = ULVS_AF_INET, .ttl = 255 };
	m.src = taddr(src);
	m.dst = taddr(dst);
	return m;
}

/* Golden packets: scapy's VRRP / VRRPv3 layers (tests/unit/test_vrrp.c
 * header explains; regenerate with scapy.layers.vrrp if the layout moves). */
static const char *GOLD_V2 = "21336401010132cd0a4d00647365637265740000";
static const char *GOLD_V3_4 = "3134c802003206530a4d00640a4d0065";
static const char *GOLD_V3_6 = "3107640100643dbb20010db8000000000000000000000100";

static void test_golden_v2(void **state)
{
	uint8_t g[64], out[VRRP_PKT_MAX];
	size_t n = unhex(GOLD_V2, g);
	struct vrrp_rx_meta m = meta4("10.77.0.1", "224.0.0.18");
	static struct vrrp_pkt p;

	assert_int_equal(vrrp_pkt_decode(g, n, &m, &p), VRRP_OK);
	assert_int_equal(p.version, 2);
	assert_int_equal(p.vrid, 51);
	assert_int_equal(p.prio, 100);
	assert_int_equal(p.naddr, 1);
	assert_int_equal(p.auth_type, VRRP_AUTHT_PASS);
	assert_int_equal(p.adv_int_cs, 100);
	assert_memory_equal(p.auth, "secret\0\0", 8);
	assert_true(addr_eq(&p.addrs[0], &(union ulvs_addr){ .ip = taddr("10.77.0.100").ip }));
	/* and back, byte for byte */
	int len = vrrp_pkt_encode(&p, &m.src, &m.dst, VRRP_CSUM_PSEUDO, out, sizeof(out));
	assert_int_equal(len, (int)n);
	assert_memory_equal(out, g, n);
}

static void test_golden_v3(void **state)
{
	uint8_t g[64], out[VRRP_PKT_MAX];
	static struct vrrp_pkt p;
	size_t n = unhex(GOLD_V3_4, g);
	struct vrrp_rx_meta m = meta4("10.77.0.1", "224.0.0.18");

	assert_int_equal(vrrp_pkt_decode(g, n, &m, &p), VRRP_OK);
	assert_int_equal(p.version, 3);
	assert_int_equal(p.adv_int_cs, 50);
	assert_int_equal(p.naddr, 2);
	assert_true(p.csum_ok & VRRP_CSUM_OK_PSEUDO);
	assert_false(p.csum_ok & VRRP_CSUM_OK_PLAIN);
	assert_int_equal(vrrp_pkt_encode(&p, &m.src, &m.dst, VRRP_CSUM_PSEUDO, out, sizeof(out)), (int)n);
	assert_memory_equal(out, g, n);
	/* v3_checksum_as_v2: the message-only sum is accepted and produced */
	int len = vrrp_pkt_encode(&p, &m.src, &m.dst, VRRP_CSUM_PLAIN, out, sizeof(out));
	assert_int_equal(vrrp_pkt_decode(out, (size_t)len, &m, &p), VRRP_OK);
	assert_int_equal(p.csum_ok, VRRP_CSUM_OK_PLAIN);
	/* the pseudo-header sum depends on the addresses */
	struct vrrp_rx_meta other = meta4("10.77.0.9", "224.0.0.18");
	n = unhex(GOLD_V3_4, g);
	assert_int_equal(vrrp_pkt_decode(g, n, &other, &p), VRRP_DROP_BAD_CSUM);

	/* IPv6 */
	struct vrrp_rx_meta m6 = { .af = ULVS_AF_INET6, .ttl = 255 };
	m6.src = taddr("fe80::1");
	m6.dst = taddr("ff02::12");
	n = unhex(GOLD_V3_6, g);
	assert_int_equal(vrrp_pkt_decode(g, n, &m6, &p), VRRP_OK);
	assert_int_equal(p.vrid, 7);
	assert_true(addr_eq(&p.addrs[0], &(union ulvs_addr){ .q = { taddr("2001:db8::100").q[0],
								       taddr("2001:db8::100").q[1] } }));
	assert_int_equal(vrrp_pkt_encode(&p, &m6.src, &m6.dst, VRRP_CSUM_PLAIN, out, sizeof(out)),
			 (int)n);
	assert_memory_equal(out, g, n); /* IPv6 always uses the pseudo-header */
}

static void test_ip4_wrapper(void **state)
{
	static struct vrrp_pkt p, q;
	uint8_t buf[VRRP_PKT_MAX];
	struct vrrp_rx_meta m;
	union ulvs_addr s = taddr("10.0.0.1"), d = taddr("224.0.0.18");

	memset(&p, 0, sizeof(p));
	p.version = 3; p.af = ULVS_AF_INET; p.vrid = 9; p.prio = 77; p.adv_int_cs = 100;
	p.naddr = 1; p.addrs[0] = taddr("10.0.0.100");
	int n = vrrp_pkt_encode_ip4(&p, &s, &d, VRRP_CSUM_PSEUDO, 1234, buf, sizeof(buf));
	assert_int_equal(n, 20 + 12);
	assert_int_equal(buf[8], 255);
	assert_int_equal(buf[9], 112);
	assert_int_equal(vrrp_pkt_decode_ip4(buf, (size_t)n, &m, &q), VRRP_OK);
	assert_int_equal(q.prio, 77);
	assert_true(addr_eq(&m.src, &s));
	/* TTL decremented by a router: §7.1 */
	buf[8] = 254;
	assert_int_equal(vrrp_pkt_decode_ip4(buf, (size_t)n, &m, &q), VRRP_DROP_BAD_TTL);
	buf[8] = 255;
	buf[9] = 17;
	assert_int_equal(vrrp_pkt_decode_ip4(buf, (size_t)n, &m, &q), VRRP_DROP_BAD_IP);
	buf[9] = 112;
	buf[6] = 0x20; /* more fragments */
	assert_int_equal(vrrp_pkt_decode_ip4(buf, (size_t)n, &m, &q), VRRP_DROP_BAD_IP);
	buf[6] = 0;
	assert_int_equal(vrrp_pkt_decode_ip4(buf, 19, &m, &q), VRRP_DROP_SHORT);
	buf[3] += 40; /* total length beyond the buffer */
	assert_int_equal(vrrp_pkt_decode_ip4(buf, (size_t)n, &m, &q), VRRP_DROP_SHORT);
}

/* Every decode-level rejection. */
static void test_decode_rejects(void **state)
{
	uint8_t g[64], b[64];
	static struct vrrp_pkt p;
	size_t n = unhex(GOLD_V2, g);
	struct vrrp_rx_meta m = meta4("10.77.0.1", "224.0.0.18");

	for (size_t cut = 0; cut < n; cut++)
		assert_int_not_equal(vrrp_pkt_decode(g, cut, &m, &p), VRRP_OK);
	assert_int_equal(vrrp_pkt_decode(g, 7, &m, &p), VRRP_DROP_SHORT);
	assert_int_equal(vrrp_pkt_decode(g, n - 1, &m, &p), VRRP_DROP_SHORT);
	m.ttl = 64;
	assert_int_equal(vrrp_pkt_decode(g, n, &m, &p), VRRP_DROP_BAD_TTL);
	m.ttl = 255;
	memcpy(b, g, n);
	b[0] = 0x41;
	assert_int_equal(vrrp_pkt_decode(b, n, &m, &p), VRRP_DROP_BAD_VERSION);
	b[0] = 0x22;
	assert_int_equal(vrrp_pkt_decode(b, n, &m, &p), VRRP_DROP_BAD_TYPE);
	memcpy(b, g, n);
	b[n - 1] ^= 1;
	assert_int_equal(vrrp_pkt_decode(b, n, &m, &p), VRRP_DROP_BAD_CSUM);
	/* v2 over IPv6 does not exist */
	struct vrrp_rx_meta m6 = { .af = ULVS_AF_INET6, .ttl = 255 };
	assert_int_equal(vrrp_pkt_decode(g, n, &m6, &p), VRRP_DROP_BAD_VERSION);
	/* count claims more addresses than there are bytes */
	memcpy(b, g, n);
	b[3] = 4;
	assert_int_equal(vrrp_pkt_decode(b, n, &m, &p), VRRP_DROP_SHORT);
	for (int d = 0; d < VRRP_DROP_MAX; d++)
		assert_string_not_equal(vrrp_drop_name(d), "?");
}

static struct vrrp_pkt_expect expect_v2(const union ulvs_addr *vips, unsigned n)
{
	struct vrrp_pkt_expect e = { .version = 2, .vrid = 51, .af = ULVS_AF_INET,
				     .auth_type = VRRP_AUTHT_PASS, .adv_int_cs = 100,
				     .addrs = vips, .naddr = n };
	memcpy(e.auth, "secret\0\0", 8);
	return e;
}

static void test_check_rejects(void **state)
{
	uint8_t g[64];
	static struct vrrp_pkt p;
	size_t n = unhex(GOLD_V2, g);
	struct vrrp_rx_meta m = meta4("10.77.0.1", "224.0.0.18");
	union ulvs_addr vips[2] = { taddr("10.77.0.100"), taddr("10.77.0.101") };

	assert_int_equal(vrrp_pkt_decode(g, n, &m, &p), VRRP_OK);
	struct vrrp_pkt_expect e = expect_v2(vips, 1);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_OK);
	e.vrid = 52;
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_UNKNOWN_VRID);
	e = expect_v2(vips, 1);
	e.version = 3;
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_VERSION_MISMATCH);
	e = expect_v2(vips, 1);
	e.auth_type = VRRP_AUTHT_NONE;
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_TYPE);
	e = expect_v2(vips, 1);
	memcpy(e.auth, "secreT\0\0", 8);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_AUTH_PASS);
	e = expect_v2(vips, 1);
	e.adv_int_cs = 200;
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_ADV_INT);
	e = expect_v2(vips, 2);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_ADDR_COUNT);
	e.skip_addr_check = true;
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_OK);
	e = expect_v2(vips + 1, 1);
	assert_int_equal(vrrp_pkt_check(&p, &e), VRRP_DROP_ADDR_MISMATCH);

	/* v3 over IPv4: the instance decides which checksum it accepts */
	n = unhex(GOLD_V3_4, g);
	assert_int_equal(vrrp_pkt_decode(g, n, &m, &p), VRRP_OK);
	union ulvs_addr v3[2] = { taddr("10.77.0.101"), taddr("10.77.0.100") }; /* any order */
	struct vrrp_pkt_expect e3 = { .version = 3, .vrid = 52, .af = ULVS_AF_INET,
				      .csum = VRRP_CSUM_PSEUDO, .adv_int_cs = 100,
				      .addrs = v3, .naddr = 2 };
	assert_int_equal(vrrp_pkt_check(&p, &e3), VRRP_OK); /* v3: interval not checked */
	e3.csum = VRRP_CSUM_PLAIN;
	assert_int_equal(vrrp_pkt_check(&p, &e3), VRRP_DROP_BAD_CSUM);
	e3.csum = VRRP_CSUM_PSEUDO;
	p.adv_int_cs = 0;
	assert_int_equal(vrrp_pkt_check(&p, &e3), VRRP_DROP_ADV_INT);
}

static void test_encode_errors(void **state)
{
	static struct vrrp_pkt p;
	uint8_t b[64];
	union ulvs_addr s = taddr("10.0.0.1"), d = taddr("224.0.0.18");

	memset(&p, 0, sizeof(p));
	p.version = 2; p.af = ULVS_AF_INET; p.vrid = 1; p.adv_int_cs = 100; p.naddr = 3;
	assert_int_equal(vrrp_pkt_encode(&p, &s, &d, VRRP_CSUM_PLAIN, b, 8), -ENOSPC);
	p.version = 4;
	assert_int_equal(vrrp_pkt_encode(&p, &s, &d, VRRP_CSUM_PLAIN, b, sizeof(b)), -EINVAL);
	p.version = 2; p.af = ULVS_AF_INET6;
	assert_int_equal(vrrp_pkt_encode(&p, &s, &d, VRRP_CSUM_PLAIN, b, sizeof(b)), -EINVAL);
	p.version = 3; p.af = ULVS_AF_INET; p.adv_int_cs = 4096;
	assert_int_equal(vrrp_pkt_encode(&p, &s, &d, VRRP_CSUM_PLAIN, b, sizeof(b)), -EINVAL);
	p.version = 2; p.adv_int_cs = 50; /* v2 cannot say half a second */
	assert_int_equal(vrrp_pkt_encode(&p, &s, &d, VRRP_CSUM_PLAIN, b, sizeof(b)), -EINVAL);
}

/* ---- state machine ------------------------------------------------------ */

static struct vrrp_cfg cfg(uint8_t version, uint8_t prio)
{
	struct vrrp_cfg c = { .version = version, .vrid = 1, .base_prio = prio,
			      .adv_int_cs = 100, .af = ULVS_AF_INET };
	c.self = taddr("10.0.0.5");
	return c;
}

static struct vrrp_actions ev(const struct vrrp_cfg *c, struct vrrp_state *s,
			      enum vrrp_ev_type t, uint64_t now)
{
	struct vrrp_event e = { .type = t };
	return vrrp_fsm_step(c, s, &e, now);
}

static struct vrrp_actions adv(const struct vrrp_cfg *c, struct vrrp_state *s, uint8_t prio,
			       const char *src, uint16_t int_cs, uint64_t now)
{
	struct vrrp_event e = { .type = VRRP_EV_ADVERT, .prio = prio, .adv_int_cs = int_cs };
	e.src = taddr(src);
	return vrrp_fsm_step(c, s, &e, now);
}

static void test_fsm_timing_formulae(void **state)
{
	struct vrrp_cfg c2 = cfg(2, 100), c3 = cfg(3, 100);
	/* RFC 3768 §6.1: skew (256-100)/256 s = 609.375 ms */
	assert_int_equal(vrrp_fsm_skew_ns(&c2, 100, 100), 609375000ull);
	assert_int_equal(vrrp_fsm_master_down_ns(&c2, 100, 100), 3 * SEC + 609375000ull);
	/* RFC 5798 §6.1: ((256-100)*100)/256 cs = 60.9375 cs */
	assert_int_equal(vrrp_fsm_skew_ns(&c3, 100, 100), 609375000ull);
	assert_int_equal(vrrp_fsm_skew_ns(&c3, 100, 10), 60937500ull);
	assert_int_equal(vrrp_fsm_master_down_ns(&c3, 254, 10), 300 * MS + 2 * 100 * MS / 256);
}

/* INIT -> BACKUP -> (master down) MASTER -> adverts every interval. */
static void test_fsm_backup_to_master(void **state)
{
	struct vrrp_cfg c = cfg(2, 100);
	struct vrrp_state s = { 0 };
	uint64_t t = 1000 * SEC;

	struct vrrp_actions a = ev(&c, &s, VRRP_EV_STARTUP, t);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(a.from, VRRP_ST_INIT);
	uint64_t down = vrrp_fsm_master_down_ns(&c, 100, 100);
	assert_int_equal(a.timer_at, t + down);
	/* early timer: nothing */
	a = ev(&c, &s, VRRP_EV_TIMER, t + down - 1);
	assert_int_equal(a.bits, 0);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	a = ev(&c, &s, VRRP_EV_TIMER, t + down);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT | VRRP_ACT_BECOME_MASTER);
	assert_int_equal(a.advert_prio, 100);
	assert_int_equal(a.timer_at, t + down + SEC);
	a = ev(&c, &s, VRRP_EV_TIMER, t + down + SEC);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(a.timer_at, t + down + 2 * SEC);
}

static void test_fsm_owner_starts_master(void **state)
{
	struct vrrp_cfg c = cfg(3, 255);
	struct vrrp_state s = { 0 };
	struct vrrp_actions a = ev(&c, &s, VRRP_EV_STARTUP, SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	assert_true(a.bits & VRRP_ACT_BECOME_MASTER);
	assert_int_equal(a.advert_prio, 255);
	/* `state MASTER` below 255 also starts as master; with nopreempt not */
	c = cfg(3, 100);
	c.start_master = true;
	memset(&s, 0, sizeof(s));
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	c.nopreempt = true;
	memset(&s, 0, sizeof(s));
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
}

static void test_fsm_backup_adverts(void **state)
{
	struct vrrp_cfg c = cfg(3, 100);
	struct vrrp_state s = { 0 };
	uint64_t t = SEC;

	ev(&c, &s, VRRP_EV_STARTUP, t);
	/* higher priority master: accepted, its interval learned (v3 §6.4.2) */
	struct vrrp_actions a = adv(&c, &s, 150, "10.0.0.9", 50, t + 100 * MS);
	assert_int_equal(a.bits, 0);
	assert_int_equal(s.master_adv_cs, 50);
	assert_int_equal(a.timer_at, t + 100 * MS + vrrp_fsm_master_down_ns(&c, 100, 50));
	assert_true(s.master_known);
	/* lower priority, preempt on: discarded, the timer keeps running */
	uint64_t before = s.timer_at;
	a = adv(&c, &s, 50, "10.0.0.8", 100, t + 200 * MS);
	assert_int_equal(a.timer_at, before);
	assert_int_equal(s.master_adv_cs, 50);
	/* equal priority: accepted */
	a = adv(&c, &s, 100, "10.0.0.9", 50, t + 300 * MS);
	assert_int_equal(a.timer_at, t + 300 * MS + vrrp_fsm_master_down_ns(&c, 100, 50));
	/* priority 0: take over after Skew_Time only */
	a = adv(&c, &s, 0, "10.0.0.9", 50, t + 400 * MS);
	assert_int_equal(a.timer_at, t + 400 * MS + vrrp_fsm_skew_ns(&c, 100, 50));
	a = ev(&c, &s, VRRP_EV_TIMER, a.timer_at);
	assert_int_equal(s.st, VRRP_ST_MASTER);
}

static void test_fsm_nopreempt(void **state)
{
	struct vrrp_cfg c = cfg(2, 200);
	struct vrrp_state s = { 0 };
	c.nopreempt = true;
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	/* a lower-priority master is accepted: it keeps resetting our timer */
	for (int i = 1; i <= 10; i++) {
		struct vrrp_actions a = adv(&c, &s, 100, "10.0.0.9", 100, SEC + (uint64_t)i * SEC);
		assert_int_equal(a.timer_at, SEC + (uint64_t)i * SEC + vrrp_fsm_master_down_ns(&c, 200, 100));
		ev(&c, &s, VRRP_EV_TIMER, SEC + (uint64_t)i * SEC + 1);
		assert_int_equal(s.st, VRRP_ST_BACKUP);
	}
}

static void test_fsm_preempt_delay(void **state)
{
	struct vrrp_cfg c = cfg(2, 200);
	struct vrrp_state s = { 0 };
	c.preempt_delay_ms = 5000;
	uint64_t t = SEC;
	ev(&c, &s, VRRP_EV_STARTUP, t);
	/* lower master tolerated for 5 s from the first advert seen */
	for (int i = 0; i < 5; i++) {
		adv(&c, &s, 100, "10.0.0.9", 100, t + (uint64_t)i * SEC);
		assert_int_equal(s.timer_at, t + (uint64_t)i * SEC + vrrp_fsm_master_down_ns(&c, 200, 100));
	}
	assert_int_equal(s.preempt_at, t + 5 * SEC);
	uint64_t last = s.timer_at;
	adv(&c, &s, 100, "10.0.0.9", 100, t + 5 * SEC);  /* now discarded */
	assert_int_equal(s.timer_at, last);
	ev(&c, &s, VRRP_EV_TIMER, last);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	assert_int_equal(s.preempt_at, 0);
}

static void test_fsm_master_adverts(void **state)
{
	struct vrrp_cfg c = cfg(3, 100);
	struct vrrp_state s = { 0 };
	c.start_master = true;
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	/* lower priority: discarded */
	struct vrrp_actions a = adv(&c, &s, 50, "10.0.0.9", 100, 2 * SEC);
	assert_int_equal(a.bits, 0);
	/* equal priority, lower address: discarded */
	a = adv(&c, &s, 100, "10.0.0.4", 100, 2 * SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	/* priority 0 from another: we assert at once */
	a = adv(&c, &s, 0, "10.0.0.9", 100, 2 * SEC + 10 * MS);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(a.advert_prio, 100);
	assert_int_equal(a.timer_at, 3 * SEC + 10 * MS);
	/* equal priority, higher address: §6.4.3 we yield */
	a = adv(&c, &s, 100, "10.0.0.6", 80, 2 * SEC + 20 * MS);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(s.master_adv_cs, 80);
	assert_int_equal(a.timer_at, 2 * SEC + 20 * MS + vrrp_fsm_master_down_ns(&c, 100, 80));
	/* back to master and a higher priority one appears */
	ev(&c, &s, VRRP_EV_TIMER, a.timer_at);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	a = adv(&c, &s, 101, "10.0.0.1", 100, 10 * SEC);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
}

static void test_fsm_shutdown(void **state)
{
	struct vrrp_cfg c = cfg(2, 255);
	struct vrrp_state s = { 0 };
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	struct vrrp_actions a = ev(&c, &s, VRRP_EV_SHUTDOWN, 2 * SEC);
	assert_int_equal(s.st, VRRP_ST_INIT);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT | VRRP_ACT_STOPPED);
	assert_int_equal(a.advert_prio, 0); /* §6.4.3 */
	assert_int_equal(a.timer_at, 0);
	/* from BACKUP: no advert */
	c = cfg(2, 100);
	memset(&s, 0, sizeof(s));
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	a = ev(&c, &s, VRRP_EV_SHUTDOWN, 2 * SEC);
	assert_int_equal(a.bits, VRRP_ACT_STOPPED);
	a = ev(&c, &s, VRRP_EV_SHUTDOWN, 3 * SEC);
	assert_int_equal(a.bits, 0);
}

static void test_fsm_fault(void **state)
{
	struct vrrp_cfg c = cfg(3, 100);
	struct vrrp_state s = { 0 };
	c.start_master = true;
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	struct vrrp_actions a = ev(&c, &s, VRRP_EV_FAULT, 2 * SEC);
	assert_int_equal(s.st, VRRP_ST_FAULT);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT | VRRP_ACT_BECOME_FAULT);
	assert_int_equal(a.advert_prio, 0);
	assert_int_equal(a.timer_at, 0);
	/* adverts and timers are ignored in FAULT */
	assert_int_equal(adv(&c, &s, 200, "10.0.0.9", 100, 3 * SEC).bits, 0);
	assert_int_equal(ev(&c, &s, VRRP_EV_TIMER, 9 * SEC).bits, 0);
	a = ev(&c, &s, VRRP_EV_FAULT_CLEAR, 10 * SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER); /* start_master again */
	/* fault from BACKUP: no advert; clear -> BACKUP */
	c.start_master = false;
	memset(&s, 0, sizeof(s));
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	a = ev(&c, &s, VRRP_EV_FAULT, 2 * SEC);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_FAULT);
	a = ev(&c, &s, VRRP_EV_FAULT_CLEAR, 3 * SEC);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_BACKUP);
	/* a fault present at startup: straight to FAULT */
	memset(&s, 0, sizeof(s));
	s.fault = true;
	a = ev(&c, &s, VRRP_EV_STARTUP, SEC);
	assert_int_equal(s.st, VRRP_ST_FAULT);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_FAULT);
}

static void test_fsm_prio_change(void **state)
{
	struct vrrp_cfg c = cfg(2, 100);
	struct vrrp_state s = { 0 };
	c.start_master = true;
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	struct vrrp_event e = { .type = VRRP_EV_PRIO_CHANGE, .prio = 60 };
	struct vrrp_actions a = vrrp_fsm_step(&c, &s, &e, 1500 * MS);
	assert_int_equal(s.prio, 60);
	assert_int_equal(a.bits, VRRP_ACT_SEND_ADVERT);
	assert_int_equal(a.advert_prio, 60);
	/* now an 80 preempts us */
	adv(&c, &s, 80, "10.0.0.2", 100, 2 * SEC);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	/* in BACKUP a rise is silent but changes the skew of the next wait */
	e.prio = 200;
	a = vrrp_fsm_step(&c, &s, &e, 3 * SEC);
	assert_int_equal(a.bits, 0);
	a = adv(&c, &s, 80, "10.0.0.2", 100, 3 * SEC); /* lower now: discarded */
	assert_int_equal(a.timer_at, 2 * SEC + vrrp_fsm_master_down_ns(&c, 60, 100));
}

static void test_fsm_sync(void **state)
{
	struct vrrp_cfg c = cfg(2, 100);
	struct vrrp_state s = { 0 };
	ev(&c, &s, VRRP_EV_STARTUP, SEC);
	struct vrrp_actions a = ev(&c, &s, VRRP_EV_SYNC_MASTER, 2 * SEC);
	assert_int_equal(s.st, VRRP_ST_MASTER);
	assert_true(a.bits & VRRP_ACT_BECOME_MASTER);
	assert_int_equal(ev(&c, &s, VRRP_EV_SYNC_MASTER, 2 * SEC).bits, 0);
	a = ev(&c, &s, VRRP_EV_SYNC_BACKUP, 3 * SEC);
	assert_int_equal(s.st, VRRP_ST_BACKUP);
	assert_int_equal(a.bits, VRRP_ACT_BECOME_BACKUP);
	assert_int_equal(ev(&c, &s, VRRP_EV_SYNC_BACKUP, 3 * SEC).bits, 0);
	/* not from FAULT */
	ev(&c, &s, VRRP_EV_FAULT, 4 * SEC);
	assert_int_equal(ev(&c, &s, VRRP_EV_SYNC_MASTER, 5 * SEC).bits, 0);
	assert_int_equal(s.st, VRRP_ST_FAULT);
}

/* Two simulated routers exchange adverts in virtual time: the higher one
 * wins, and when it stops the other takes over within Skew_Time. */
static void test_fsm_two_routers(void **state)
{
	struct vrrp_cfg ca = cfg(3, 200), cb = cfg(3, 100);
	struct vrrp_state sa = { 0 }, sb = { 0 };
	ca.self = taddr("10.0.0.1");
	cb.self = taddr("10.0.0.2");
	ca.adv_int_cs = cb.adv_int_cs = 10;
	ev(&cb, &sb, VRRP_EV_STARTUP, 0);
	ev(&ca, &sa, VRRP_EV_STARTUP, 5 * MS);
	uint64_t t = 0, stop_at = 2 * SEC, b_master_at = 0;
	bool a_up = true;
	for (t = 0; t < 4 * SEC; t += MS) {
		if (a_up && t >= stop_at) {
			struct vrrp_actions a = ev(&ca, &sa, VRRP_EV_SHUTDOWN, t);
			if (a.bits & VRRP_ACT_SEND_ADVERT)
				adv(&cb, &sb, a.advert_prio, "10.0.0.1", 10, t);
			a_up = false;
		}
		if (a_up && sa.timer_at && t >= sa.timer_at) {
			struct vrrp_actions a = ev(&ca, &sa, VRRP_EV_TIMER, t);
			if (a.bits & VRRP_ACT_SEND_ADVERT)
				adv(&cb, &sb, a.advert_prio, "10.0.0.1", 10, t);
		}
		if (sb.timer_at && t >= sb.timer_at) {
			struct vrrp_actions a = ev(&cb, &sb, VRRP_EV_TIMER, t);
			if (a.bits & VRRP_ACT_BECOME_MASTER)
				b_master_at = t;
			if (a_up && (a.bits & VRRP_ACT_SEND_ADVERT))
				adv(&ca, &sa, a.advert_prio, "10.0.0.2", 10, t);
		}
		if (t > 500 * MS && t < stop_at) {
			assert_int_equal(sa.st, VRRP_ST_MASTER);
			assert_int_equal(sb.st, VRRP_ST_BACKUP);
		}
	}
	assert_int_equal(sb.st, VRRP_ST_MASTER);
	/* priority 0 => Skew_Time (60.9 ms at prio 100, 10 cs), rounded up to the 1 ms step */
	assert_true(b_master_at >= stop_at);
	assert_true(b_master_at - stop_at <= vrrp_fsm_skew_ns(&cb, 100, 10) + MS);
}

/* virtual_routes: keepalived's man page examples, ip-route(8) defaults. */
static void test_route_parse(void **st)
{
	struct vrrp_route r;
	char err[128];

	assert_int_equal(vrrp_route_parse("src 192.168.100.1 to 192.168.109.0/24 via "
					  "192.168.200.254 dev eth1", &r, err, sizeof(err)), 0);
	assert_int_equal(r.af, ULVS_AF_INET);
	assert_int_equal(r.plen, 24);
	union ulvs_addr want = taddr("192.168.109.0");
	assert_true(addr_eq(&r.dst, &want));
	assert_true(r.has_src && r.has_gw);
	want = taddr("192.168.200.254");
	assert_true(addr_eq(&r.gw, &want));
	assert_string_equal(r.dev, "eth1");
	assert_int_equal(r.scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(r.table, RT_TABLE_MAIN);
	assert_int_equal(r.type, RTN_UNICAST);

	assert_int_equal(vrrp_route_parse("192.168.111.0/24 dev eth2 no_track", &r, err,
					  sizeof(err)), 0);
	assert_int_equal(r.scope, RT_SCOPE_LINK);   /* no gateway: on-link */
	assert_false(r.has_gw);

	assert_int_equal(vrrp_route_parse("blackhole 192.168.114.0/24", &r, err, sizeof(err)), 0);
	assert_int_equal(r.type, RTN_BLACKHOLE);
	assert_int_equal(r.scope, RT_SCOPE_UNIVERSE);

	assert_int_equal(vrrp_route_parse("0.0.0.0/0 gw 192.168.0.1 table 100 metric 7", &r, err,
					  sizeof(err)), 0);
	assert_int_equal(r.plen, 0);
	assert_int_equal(r.table, 100);
	assert_true(r.has_metric);
	assert_int_equal(r.metric, 7);

	assert_int_equal(vrrp_route_parse("default via 10.0.0.1", &r, err, sizeof(err)), 0);
	assert_int_equal(r.plen, 0);
	assert_int_equal(r.af, ULVS_AF_INET);

	assert_int_equal(vrrp_route_parse("2001:db8:1::/64 via fe80::1 dev eth0 scope 0", &r, err,
					  sizeof(err)), 0);
	assert_int_equal(r.af, ULVS_AF_INET6);
	assert_int_equal(r.plen, 64);

	assert_int_equal(vrrp_route_parse("10.1.1.1 dev eth0", &r, err, sizeof(err)), 0);
	assert_int_equal(r.plen, 32);               /* a host route */

	/* refused, with the reason */
	assert_int_equal(vrrp_route_parse("192.168.113.0/24 via 192.168.200.254 or "
					  "192.168.100.254 dev eth1", &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'or'"));
	assert_int_equal(vrrp_route_parse("10.0.0.0/8 via 2001:db8::1", &r, err, sizeof(err)),
			 -EINVAL);                     /* mixed families */
	assert_int_equal(vrrp_route_parse("10.0.0.0/33", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(vrrp_route_parse("via 10.0.0.1", &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no destination"));
	assert_int_equal(vrrp_route_parse("10.0.0.0/8 dev", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(vrrp_route_parse("blackhole 10.0.0.0/8 via 10.0.0.1", &r, err,
					  sizeof(err)), -EINVAL);
	assert_int_equal(vrrp_route_parse("10.0.0.0/8 table x", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(vrrp_route_parse("10.0.0.0/8 mtu 1400", &r, err, sizeof(err)), -EINVAL);
}

/* track_file: keepalived.conf(5) "VRRP track files". */
static void test_track_file_effect(void **st)
{
	bool f;
	int d;

	vrrp_track_file_effect(0, 0, false, &f, &d);   /* weight 0: non-zero is fault */
	assert_false(f);
	vrrp_track_file_effect(3, 0, false, &f, &d);
	assert_true(f);
	assert_int_equal(d, 0);
	vrrp_track_file_effect(0, 0, true, &f, &d);    /* reverse: zero is the fault */
	assert_true(f);
	vrrp_track_file_effect(5, -10, false, &f, &d); /* multiplied by the weight */
	assert_false(f);
	assert_int_equal(d, -50);
	vrrp_track_file_effect(5, -10, true, &f, &d);
	assert_int_equal(d, 50);
	vrrp_track_file_effect(-2, 10, false, &f, &d);
	assert_int_equal(d, -20);
	vrrp_track_file_effect(-253, 1, false, &f, &d); /* -253 still a priority change */
	assert_false(f);
	assert_int_equal(d, -253);
	vrrp_track_file_effect(-254, 1, false, &f, &d); /* below -253: fault */
	assert_true(f);
	vrrp_track_file_effect(INT64_MAX, 254, false, &f, &d); /* no overflow */
	assert_false(f);
	assert_int_equal(d, 253);
	vrrp_track_file_effect(INT64_MIN, 254, false, &f, &d);
	assert_true(f);
}

/* The parser models track_file blocks and the instance's track_file list. */
static void test_track_file_conf(void **st)
{
	static const char text[] =
		"vrrp_track_file tf1 {\n  file /tmp/x\n  weight -5 reverse\n  init_file 3 overwrite\n}\n"
		"track_file tf2 {\n  file /tmp/y\n}\n"
		"vrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n"
		"  track_file {\n    tf1\n    tf2 weight 0 reverse\n  }\n"
		"  virtual_routes {\n    10.9.0.0/16 via 10.0.0.1 dev eth0\n  }\n}\n";
	int ne = 0, nw = 0;
	FILE *err = fopen("/dev/null", "w");
	struct conf *c = conf_load_buffer("t.conf", text, strlen(text), NULL, err, &ne, &nw);
	fclose(err);
	assert_non_null(c);
	assert_int_equal(ne, 0);
	assert_int_equal(c->n_track_files, 2);
	assert_string_equal(c->track_files[0].file, "/tmp/x");
	assert_int_equal(c->track_files[0].weight, -5);
	assert_true(c->track_files[0].reverse);
	assert_true(c->track_files[0].init_file && c->track_files[0].init_overwrite);
	assert_int_equal(c->track_files[0].init_value, 3);
	assert_int_equal(c->track_files[1].weight, 1);
	assert_int_equal(c->vrrps[0].n_track_file, 2);
	assert_false(c->vrrps[0].track_file[0].has_weight);
	assert_true(c->vrrps[0].track_file[1].has_weight);
	assert_int_equal(c->vrrps[0].track_file[1].weight, 0);
	assert_true(c->vrrps[0].track_file[1].reverse);
	assert_int_equal(c->vrrps[0].n_virtual_routes, 1);
	conf_free(c);

	static const char bad[] = "track_file t {\n  file /x\n  weight 2 sideways\n}\n";
	err = fopen("/dev/null", "w");
	c = conf_load_buffer("t.conf", bad, strlen(bad), NULL, err, &ne, &nw);
	fclose(err);
	assert_true(ne > 0);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_v2),
		cmocka_unit_test(test_golden_v3),
		cmocka_unit_test(test_ip4_wrapper),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_check_rejects),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_fsm_timing_formulae),
		cmocka_unit_test(test_fsm_backup_to_master),
		cmocka_unit_test(test_fsm_owner_starts_master),
		cmocka_unit_test(test_fsm_backup_adverts),
		cmocka_unit_test(test_fsm_nopreempt),
		cmocka_unit_test(test_fsm_preempt_delay),
		cmocka_unit_test(test_fsm_master_adverts),
		cmocka_unit_test(test_fsm_shutdown),
		cmocka_unit_test(test_fsm_fault),
		cmocka_unit_test(test_fsm_prio_change),
		cmocka_unit_test(test_fsm_sync),
		cmocka_unit_test(test_fsm_two_routers),
		cmocka_unit_test(test_route_parse),
		cmocka_unit_test(test_track_file_effect),
		cmocka_unit_test(test_track_file_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
