/* Worker steering (core/steer.h) and the engine's worker group: both
 * directions of every connection must reach the worker whose table holds
 * it, whatever queue they arrived on.
 *
 * Steering is checked twice over: steer_frame() must give the client's
 * packet, the real server's reply and ICMP errors about the connection the
 * same owner, and that owner's engine (one engine per worker, over one
 * shared service table) must actually forward them while the others do not
 * know the connection.  The last test runs two workers in two threads and
 * checks the shared counters add up exactly.
 *
 *   clients 100.64.0.0/10, 2001:db8:c::/48
 *        |  via router 10.0.0.1 / 2001:db8:0:ff::1 (GW_MAC)
 *   eth0 (if 0, 10.0.0.254)   VIPs 10.0.0.100 (NAT) .101 (DR) .102 (NAT, persistent)
 *   [ engine x n ]                 .114 (FULLNAT)  2001:db8::100 (NAT)
 *   eth1 (if 1, 192.168.1.254, fd00:1::fe), FULLNAT local address 192.168.1.200
 *        |  192.168.1.11/.12/.13, fd00:1::11
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/conn.h"
#include "core/constants.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/lport.h"
#include "core/packet.h"
#include "core/service.h"
#include "core/steer.h"
#include "testutil.h"

#define SEC 1000000000ull
#define BUFSZ 2048
#define NW_MAX 4

#define GW_MAC "02:00:00:00:00:aa"
#define ETH0_MAC "02:00:00:00:00:01"
#define ETH1_MAC "02:00:00:00:01:01"
#define RS_MAC "02:00:00:00:01:11"

#define VIP_NAT "10.0.0.100"
#define VIP_DR "10.0.0.101"
#define VIP_PERS "10.0.0.102"
#define VIP_FNAT "10.0.0.114"
#define VIP_NAT6 "2001:db8::100"
#define LADDR "192.168.1.200"
#define RS_FNAT "192.168.1.13"

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

/* Deterministic randomness: every run sees the same clients. */
static uint64_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static const char *ip4s(uint32_t host, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", host >> 24, (host >> 16) & 255, (host >> 8) & 255,
		 host & 255);
	return buf;
}

/* A random client in 100.64.0.0/10 and a random port >= 1024. */
static uint32_t rnd_client(uint64_t *s)
{
	return 0x64400000u | (uint32_t)(rnd(s) & 0x3fffff);
}

static uint16_t rnd_port(uint64_t *s)
{
	return (uint16_t)(1024 + rnd(s) % 64512);
}

/* --- the world: one service table and fib, n engines (worker w of n) ---------- */

enum { W_PERSIST24 = 1, W_PERSIST_HOST = 2, W_BIG = 4 /* 64k connections per worker */ };

struct world {
	struct fib fib;
	struct svc_table *t;
	struct engine *e[NW_MAX];
	unsigned n;
	struct steer_cfg cfg;
	struct svc *nat, *dr, *pers, *fnat, *nat6;
	uint64_t now;
};

struct frame {
	uint8_t buf[BUFSZ];
	struct pkt p;
};

static void add_route(struct fib *f, const char *pfx, unsigned plen, const char *gw, uint16_t ifc)
{
	union ulvs_addr p = taddr(pfx), g;
	enum ulvs_af af = strchr(pfx, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;

	memset(&g, 0, sizeof(g));
	if (gw)
		g = taddr(gw);
	assert_int_equal(fib_add_route(f, af, &p, plen, &g, ifc), 0);
}

static void add_neigh(struct fib *f, const char *a, const char *mac, uint16_t ifc)
{
	union ulvs_addr x = taddr(a);
	struct ulvs_mac m = tmac(mac);
	enum ulvs_af af = strchr(a, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;

	assert_int_equal(fib_add_neigh(f, af, &x, &m, ifc), 0);
}

static struct svc *add_svc(struct svc_table *t, const char *vip, uint16_t port, uint32_t flags,
			   uint32_t netmask, const char *sched)
{
	struct svc tmpl, *s = NULL;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = strchr(vip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	tmpl.addr = taddr(vip);
	tmpl.proto = IPPROTO_TCP_;
	tmpl.port = be16(port);
	tmpl.flags = flags;
	tmpl.netmask = netmask;
	tmpl.timeout = flags & SVC_F_PERSISTENT ? 300 : 0;
	tmpl.sorry_dest = -1;
	assert_int_equal(svc_add(t, &tmpl, sched, &s), 0);
	return s;
}

static void add_rs(struct svc_table *t, struct svc *s, const char *addr, uint16_t port,
		   enum fwd_method fwd)
{
	struct dest tmpl;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.addr = taddr(addr);
	tmpl.af = strchr(addr, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	tmpl.port = be16(port);
	tmpl.fwd = (uint8_t)fwd;
	tmpl.weight = 1;
	tmpl.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(t, s, &tmpl, NULL), 0);
}

static struct world *world_new(unsigned n, unsigned opts)
{
	struct world *w = calloc(1, sizeof(*w));
	struct engine_params ep = { .conn_capacity = opts & W_BIG ? 65536 : 16384 };
	struct ulvs_mac m;
	union ulvs_addr la = taddr(LADDR);

	assert_non_null(w);
	assert_true(n >= 1 && n <= NW_MAX);
	w->n = n;
	w->now = 1000 * SEC;
	fib_init(&w->fib);
	m = tmac(ETH0_MAC);
	assert_int_equal(fib_add_iface(&w->fib, "eth0", &m, 1500, 0), 0);
	m = tmac(ETH1_MAC);
	assert_int_equal(fib_add_iface(&w->fib, "eth1", &m, 1500, 0), 1);
	w->fib.ifaces[0].addr4 = taddr("10.0.0.254");
	w->fib.ifaces[0].has_addr4 = 1;
	w->fib.ifaces[1].addr4 = taddr("192.168.1.254");
	w->fib.ifaces[1].has_addr4 = 1;
	w->fib.ifaces[1].addr6 = taddr("fd00:1::fe");
	w->fib.ifaces[1].has_addr6 = 1;
	add_route(&w->fib, "10.0.0.0", 24, NULL, 0);
	add_route(&w->fib, "0.0.0.0", 0, "10.0.0.1", 0);
	add_route(&w->fib, "::", 0, "2001:db8:0:ff::1", 0);
	add_route(&w->fib, "192.168.1.0", 24, NULL, 1);
	add_route(&w->fib, "fd00:1::", 64, NULL, 1);
	add_neigh(&w->fib, "10.0.0.1", GW_MAC, 0);
	add_neigh(&w->fib, "2001:db8:0:ff::1", GW_MAC, 0);
	add_neigh(&w->fib, "192.168.1.11", RS_MAC, 1);
	add_neigh(&w->fib, "192.168.1.12", RS_MAC, 1);
	add_neigh(&w->fib, "192.168.1.13", RS_MAC, 1);
	add_neigh(&w->fib, "fd00:1::11", RS_MAC, 1);

	w->t = svc_table_new();
	assert_non_null(w->t);
	w->nat = add_svc(w->t, VIP_NAT, 80, 0, 0, "rr");
	add_rs(w->t, w->nat, "192.168.1.11", 8080, FWD_NAT);
	add_rs(w->t, w->nat, "192.168.1.12", 8080, FWD_NAT);
	add_rs(w->t, w->nat, "192.168.1.13", 8080, FWD_NAT);
	assert_int_equal(svc_commit(w->t, w->nat), 0);
	w->dr = add_svc(w->t, VIP_DR, 80, 0, 0, "rr");
	add_rs(w->t, w->dr, "192.168.1.11", 80, FWD_DR);
	add_rs(w->t, w->dr, "192.168.1.12", 80, FWD_DR);
	assert_int_equal(svc_commit(w->t, w->dr), 0);
	w->fnat = add_svc(w->t, VIP_FNAT, 80, 0, 0, "rr");
	add_rs(w->t, w->fnat, RS_FNAT, 8080, FWD_FNAT);
	assert_int_equal(svc_add_laddr(w->fnat, ULVS_AF_INET, &la, 1), 0);
	assert_int_equal(svc_commit(w->t, w->fnat), 0);
	w->nat6 = add_svc(w->t, VIP_NAT6, 80, 0, 0, "rr");
	add_rs(w->t, w->nat6, "fd00:1::11", 8080, FWD_NAT);
	assert_int_equal(svc_commit(w->t, w->nat6), 0);
	if (opts & (W_PERSIST24 | W_PERSIST_HOST)) {
		/* netmask 0 is host granularity (engine.c sched_persist), what
		 * ulvsadm -p sends without -M */
		w->pers = add_svc(w->t, VIP_PERS, 443, SVC_F_PERSISTENT,
				  opts & W_PERSIST24 ? 24 : 0, "wlc");
		add_rs(w->t, w->pers, "192.168.1.11", 8443, FWD_NAT);
		add_rs(w->t, w->pers, "192.168.1.12", 8443, FWD_NAT);
		assert_int_equal(svc_commit(w->t, w->pers), 0);
	}

	for (unsigned i = 0; i < n; i++) {
		w->e[i] = engine_new(&ep, &w->fib, w->t, w->now);
		assert_non_null(w->e[i]);
		assert_int_equal(engine_set_worker(w->e[i], i, n), 0);
		assert_int_equal(engine_worker(w->e[i]), i);
		assert_int_equal(engine_group_join(w->e[0], w->e[i]), 0);
	}
	assert_int_equal(engine_group_size(w->e[0]), n);
	for (unsigned i = 0; i < n; i++)
		assert_ptr_equal(engine_group_member(w->e[0], i), w->e[i]);
	assert_null(engine_group_member(w->e[0], n));
	steer_cfg_init(&w->cfg, w->t, n);
	assert_int_equal(w->cfg.n, n);
	return w;
}

static void world_free(struct world *w)
{
	for (unsigned i = 0; i < w->n; i++)
		engine_free(w->e[i]);
	svc_table_free(w->t);
	free(w);
}

/* --- frames ------------------------------------------------------------------ */

/* TCP from the client side (ifindex 0) or from a real server (ifindex 1). */
static void frame_tcp(struct frame *f, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, uint8_t flags, bool from_rs)
{
	struct tpkt t;

	memset(&t, 0, sizeof(t));
	t.src = src, t.dst = dst, t.sport = sport, t.dport = dport;
	t.proto = IPPROTO_TCP_, t.tcp_flags = flags;
	t.seq = 1000, t.ack = flags & TCP_F_ACK ? 2000 : 0;
	t.smac = tmac(from_rs ? RS_MAC : GW_MAC);
	t.dmac = tmac(from_rs ? ETH1_MAC : ETH0_MAC);
	tpkt_build(&f->p, f->buf, sizeof(f->buf), &t);
	f->p.ifindex = from_rs ? 1 : 0;
}

/* An ICMPv4 error from src to dst (type, code, 4-byte rest) quoting the first
 * qlen bytes of the IP packet `quoted`. */
static void frame_icmp4(struct frame *f, const char *src, const char *dst, uint8_t type,
			uint8_t code, uint32_t rest, const struct tpkt *quoted, size_t qlen,
			bool from_rs)
{
	static uint8_t qbuf[BUFSZ];
	struct pkt q;
	uint8_t *fr = f->buf + ULVS_HEADROOM, *ip = fr + 14, *ic = ip + 20;
	union ulvs_addr sa = taddr(src), da = taddr(dst);
	struct ulvs_mac sm = tmac(from_rs ? RS_MAC : GW_MAC), dm = tmac(from_rs ? ETH1_MAC : ETH0_MAC);
	size_t l4len, tot;
	uint16_t c;

	tpkt_build(&q, qbuf, sizeof(qbuf), quoted);
	if (qlen > q.len - 14)
		qlen = q.len - 14;
	l4len = 8 + qlen;
	tot = 20 + l4len;
	memset(f->buf, 0, sizeof(f->buf));
	memcpy(fr, dm.b, 6);
	memcpy(fr + 6, sm.b, 6);
	fr[12] = 0x08, fr[13] = 0x00;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[8] = 64, ip[9] = IPPROTO_ICMP_;
	memcpy(ip + 12, &sa.ip, 4);
	memcpy(ip + 16, &da.ip, 4);
	c = tcsum_fold(tcsum_add(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	ic[0] = type, ic[1] = code;
	ic[4] = (uint8_t)(rest >> 24), ic[5] = (uint8_t)(rest >> 16);
	ic[6] = (uint8_t)(rest >> 8), ic[7] = (uint8_t)rest;
	memcpy(ic + 8, q.data + 14, qlen);
	c = tcsum_fold(tcsum_add(ic, l4len, 0));
	ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	f->p.buf = f->buf;
	f->p.data = fr;
	f->p.len = (uint32_t)(14 + tot);
	f->p.buf_size = sizeof(f->buf);
	f->p.ifindex = from_rs ? 1 : 0;
	f->p.mark = 0;
}

static struct tpkt tcp_spec(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			    uint8_t flags)
{
	struct tpkt t;

	memset(&t, 0, sizeof(t));
	t.src = src, t.dst = dst, t.sport = sport, t.dport = dport;
	t.proto = IPPROTO_TCP_, t.tcp_flags = flags;
	t.seq = 1000, t.ack = flags & TCP_F_ACK ? 2000 : 0;
	return t;
}

static struct verdict run(struct world *w, unsigned worker, struct frame *f)
{
	struct verdict v;
	unsigned tx;

	w->now += 1000000;
	tx = engine_process(w->e[worker], &f->p, &v, 1, w->now);
	assert_int_equal(tx, v.kind == VERDICT_TX ? 1u : 0u);
	return v;
}

/* The tuple of a frame the engine produced. */
static struct pkt_tuple out_tuple(const struct frame *f)
{
	struct pkt_info pi;

	assert_int_equal(pkt_parse(&f->p, &pi), PARSE_OK);
	return pi.t;
}

static void assert_each_share(const unsigned *per, unsigned n, unsigned total)
{
	/* A fair hash gives total/n each; 3/4 of that is more than 4 standard
	 * deviations below for the sizes used here. */
	for (unsigned i = 0; i < n; i++) {
		if (per[i] * 4 * n < total * 3)
			fail_msg("worker %u of %u owns %u of %u flows", i, n, per[i], total);
	}
}

/* --- (a) NAT: client's packets and real server's replies meet ----------------- */

static void nat_pairs(unsigned n)
{
	struct world *w = world_new(n, 0);
	static struct frame f;
	unsigned per[NW_MAX] = { 0 }, per6[NW_MAX] = { 0 };
	uint64_t s = 0xa11ce + n;
	const unsigned N = 1024, N6 = 256;
	char cs[16];

	for (unsigned i = 0; i < N; i++) {
		uint32_t cli = rnd_client(&s);
		uint16_t cport = rnd_port(&s);
		union ulvs_addr ca = addr_v4(__builtin_bswap32(cli));
		struct pkt_tuple o;
		char rs[16];
		unsigned own, other;

		ip4s(cli, cs);
		frame_tcp(&f, cs, cport, VIP_NAT, 80, TCP_F_SYN, false);
		own = steer_frame(&w->cfg, w->t, &f.p, 0);
		assert_true(own < n);
		/* a pure function of the packet: where it arrived does not matter */
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, n - 1), own);
		assert_int_equal(steer_client(&w->cfg, ULVS_AF_INET, &ca), own);
		per[own]++;
		/* the owner forwards it to a real server... */
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		o = out_tuple(&f);
		assert_int_equal(o.dport, be16(8080));
		snprintf(rs, sizeof(rs), "192.168.1.%u", (unsigned)o.daddr.b[3]);
		/* ...whose reply steers back to the owner */
		frame_tcp(&f, rs, 8080, cs, cport, TCP_F_SYN | TCP_F_ACK, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		other = (own + 1) % n;
		if (other != own) {
			/* nobody else knows the connection */
			assert_int_equal(run(w, other, &f).kind, VERDICT_PASS);
			frame_tcp(&f, rs, 8080, cs, cport, TCP_F_SYN | TCP_F_ACK, true);
		}
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		o = out_tuple(&f);
		assert_true(addr_eq(&o.daddr, &ca));
		assert_int_equal(o.saddr.ip, taddr(VIP_NAT).ip);
		/* DR: only the client's side passes; same owner rule */
		frame_tcp(&f, cs, cport, VIP_DR, 80, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
	}
	assert_each_share(per, n, N);
	assert_int_equal(engine_conn_count(w->e[0]), N);
	assert_int_equal(engine_stats_total(w->e[0])->new_conns, N);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(engine_stats(w->e[i])->new_conns, per[i]);

	for (unsigned i = 0; i < N6; i++) {
		char c6[64];
		unsigned own;

		snprintf(c6, sizeof(c6), "2001:db8:c:%x::%x", (unsigned)(rnd(&s) & 0xffff),
			 (unsigned)(rnd(&s) & 0xffff) | 1);
		uint16_t cport = rnd_port(&s);
		frame_tcp(&f, c6, cport, VIP_NAT6, 80, TCP_F_SYN, false);
		own = steer_frame(&w->cfg, w->t, &f.p, 0);
		assert_true(own < n);
		per6[own]++;
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		frame_tcp(&f, "fd00:1::11", 8080, c6, cport, TCP_F_SYN | TCP_F_ACK, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
	}
	assert_each_share(per6, n, N6);
	world_free(w);
}

static void test_nat_pairs_2(void **state)
{
	(void)state;
	nat_pairs(2);
}

static void test_nat_pairs_4(void **state)
{
	(void)state;
	nat_pairs(4);
}

/* --- (b) FULLNAT: the local port names the worker ----------------------------- */

static void fnat_ports(unsigned n)
{
	struct world *w = world_new(n, 0);
	static struct frame f;
	uint64_t s = 0xf00 + n;
	const unsigned K = 48;  /* connections per worker */
	union ulvs_addr la = taddr(LADDR);
	char cs[16];

	for (unsigned wk = 0; wk < n; wk++) {
		unsigned got = 0, tries = 0;

		while (got < K) {
			uint32_t cli = rnd_client(&s);
			uint16_t cport = rnd_port(&s), lport;
			struct pkt_tuple o;
			unsigned other = (wk + 1) % n;

			assert_true(++tries < 100 * K * n);
			ip4s(cli, cs);
			frame_tcp(&f, cs, cport, VIP_FNAT, 80, TCP_F_SYN, false);
			if (steer_frame(&w->cfg, w->t, &f.p, 0) != wk)
				continue;
			got++;
			assert_int_equal(run(w, wk, &f).kind, VERDICT_TX);
			o = out_tuple(&f);
			assert_true(addr_eq(&o.saddr, &la));
			assert_int_equal(o.daddr.ip, taddr(RS_FNAT).ip);
			lport = be16(o.sport);
			assert_true(lport >= ULVS_LPORT_MIN);
			assert_int_equal(lport % n, wk);
			/* the server's reply to laddr:lport comes back to wk */
			frame_tcp(&f, RS_FNAT, 8080, LADDR, lport, TCP_F_SYN | TCP_F_ACK, true);
			assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, other), wk);
			if (other != wk) {
				assert_int_not_equal(run(w, other, &f).kind, VERDICT_TX);
				frame_tcp(&f, RS_FNAT, 8080, LADDR, lport, TCP_F_SYN | TCP_F_ACK,
					  true);
			}
			assert_int_equal(run(w, wk, &f).kind, VERDICT_TX);
			o = out_tuple(&f);
			assert_int_equal(o.daddr.ip, taddr(cs).ip);
			assert_int_equal(o.dport, be16(cport));
			assert_int_equal(o.saddr.ip, taddr(VIP_FNAT).ip);
			assert_int_equal(o.sport, be16(80));
		}
		assert_int_equal(engine_stats(w->e[wk])->new_conns, K);
	}

	/* Sync import through the leader: the owner by client, and the local
	 * port must be of the owner's class. */
	for (unsigned i = 0; i < 16; i++) {
		struct conn in;
		unsigned own;
		uint16_t port;
		enum conn_dir dir;
		struct conn *c;

		memset(&in, 0, sizeof(in));
		in.af = ULVS_AF_INET;
		in.proto = IPPROTO_TCP_;
		in.caddr = addr_v4(__builtin_bswap32(rnd_client(&s)));
		in.cport = be16(rnd_port(&s));
		in.vaddr = taddr(VIP_FNAT);
		in.vport = be16(80);
		in.daddr = taddr(RS_FNAT);
		in.dport = be16(8080);
		in.laddr = la;
		in.fwd = FWD_FNAT;
		in.state = CS_ESTABLISHED;
		own = steer_conn(&w->cfg, &in);
		/* a free port of the owner's class (every connection through
		 * the local address goes to RS_FNAT:8080, so a port in use has a
		 * reply key there), and its neighbour, another worker's */
		port = (uint16_t)(60000 + i * 8 * n);
		port = (uint16_t)(port - port % n + own);
		while (conn_lookup(engine_conns(w->e[own]), ULVS_AF_INET, IPPROTO_TCP_, &in.daddr,
				   in.dport, &la, be16(port), &dir))
			port = (uint16_t)(port + n);
		in.lport = be16((uint16_t)(port + 1));
		assert_int_not_equal((port + 1) % n, own);
		assert_int_equal(engine_conn_import(w->e[0], &in, 0, 60000, w->now), -EXDEV);
		in.lport = be16(port);
		assert_int_equal(engine_conn_import(w->e[0], &in, 0, 60000, w->now), 0);
		for (unsigned m = 0; m < n; m++) {
			c = conn_lookup(engine_conns(w->e[m]), ULVS_AF_INET, IPPROTO_TCP_, &in.daddr,
					in.dport, &la, in.lport, &dir);
			if (m == own) {
				assert_non_null(c);
				assert_int_equal(dir, CONN_DIR_OUT);
				assert_true(addr_eq(&c->caddr, &in.caddr));
			} else {
				assert_null(c);
			}
		}
	}
	world_free(w);
}

static void test_fnat_ports_2(void **state)
{
	(void)state;
	fnat_ports(2);
}

static void test_fnat_ports_4(void **state)
{
	(void)state;
	fnat_ports(4);
}

/* engine_set_worker's refusals. */
static void test_set_worker(void **state)
{
	(void)state;
	struct world *w = world_new(2, 0);
	static struct frame f;

	assert_int_equal(engine_set_worker(w->e[1], 2, 2), -EINVAL);
	assert_int_equal(engine_set_worker(w->e[1], 0, 0), -EINVAL);
	assert_int_equal(engine_set_worker(w->e[1], 0, ULVS_MAX_WORKERS + 1), -EINVAL);
	frame_tcp(&f, "100.64.1.1", 4000, VIP_NAT, 80, TCP_F_SYN, false);
	assert_int_equal(run(w, 1, &f).kind, VERDICT_TX);
	assert_int_equal(engine_set_worker(w->e[1], 1, 2), -EBUSY);
	assert_int_equal(engine_worker(w->e[1]), 1);
	world_free(w);
}

/* --- (c) persistence: a client network stays on one worker --------------------- */

static void persist24(unsigned n)
{
	struct world *w = world_new(n, W_PERSIST24);
	static struct frame f;
	unsigned per[NW_MAX] = { 0 };
	uint64_t s = 0x24 + n;
	const unsigned N = 512;

	assert_int_equal(w->cfg.plen4, 24);
	assert_int_equal(w->cfg.plen6, 128);
	for (unsigned i = 0; i < N; i++) {
		/* N distinct networks of 100.64.0.0/10 (i -> i * odd is one to one) */
		uint32_t net = 0x64400000u | ((i * 40503u) & 0x3fff) << 8;
		uint32_t a = net | (uint32_t)(1 + rnd(&s) % 254), b;
		uint16_t pa = rnd_port(&s), pb = rnd_port(&s);
		char as[16], bs[16];
		uint32_t rs_a;
		unsigned own;

		do
			b = net | (uint32_t)(1 + rnd(&s) % 254);
		while (b == a);
		ip4s(a, as);
		ip4s(b, bs);
		frame_tcp(&f, as, pa, VIP_PERS, 443, TCP_F_SYN, false);
		own = steer_frame(&w->cfg, w->t, &f.p, 0);
		per[own]++;
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		rs_a = out_tuple(&f).daddr.ip;
		frame_tcp(&f, bs, pb, VIP_PERS, 443, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		/* the template is on the owner: same real server for b */
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		assert_int_equal(out_tuple(&f).daddr.ip, rs_a);
		/* the mask is the table's: other services follow it too */
		frame_tcp(&f, bs, pb, VIP_NAT, 80, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		/* and both clients' replies */
		frame_tcp(&f, "192.168.1.11", 8443, as, pa, TCP_F_SYN | TCP_F_ACK, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		frame_tcp(&f, "192.168.1.12", 8443, bs, pb, TCP_F_SYN | TCP_F_ACK, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
	}
	assert_each_share(per, n, N);
	/* one template per network, all on their owners */
	{
		uint64_t persist = 0;
		for (uint32_t i = 0; i < w->pers->n_dests; i++)
			persist += svc_dest(w->t, w->pers, i)->persistconns;
		assert_int_equal(persist, N);
		assert_int_equal(engine_conn_count(w->e[0]), 3 * N);
	}
	world_free(w);
}

static void test_persist24_2(void **state)
{
	(void)state;
	persist24(2);
}

static void test_persist24_4(void **state)
{
	(void)state;
	persist24(4);
}

/* netmask 0 is host granularity (engine.c sched_persist reads it as /32 or
 * /128), and it is what ulvsadm -p sends without -M (or with -M
 * 255.255.255.255): it must not funnel every client to one worker. */
static void test_persist_host_spreads(void **state)
{
	(void)state;
	struct world *w = world_new(4, W_PERSIST_HOST);
	static struct frame f;
	unsigned per[NW_MAX] = { 0 }, plen4 = w->cfg.plen4, plen6 = w->cfg.plen6;
	uint64_t s = 0x32;
	const unsigned N = 1024;
	char cs[16];

	for (unsigned i = 0; i < N; i++) {
		frame_tcp(&f, ip4s(rnd_client(&s), cs), rnd_port(&s), VIP_PERS, 443, TCP_F_SYN,
			  false);
		per[steer_frame(&w->cfg, w->t, &f.p, 0)]++;
	}
	world_free(w);  /* before the verdict, so a failure leaks nothing */
	assert_int_equal(plen4, 32);
	assert_int_equal(plen6, 128);
	assert_each_share(per, 4, N);
}

/* --- (d) ICMP errors follow their connection ---------------------------------- */

static void icmp_follows(unsigned n)
{
	struct world *w = world_new(n, 0);
	static struct frame f;
	uint64_t s = 0x1c3 + n;
	const unsigned N = 128;
	char cs[16], rs[16];

	for (unsigned i = 0; i < N; i++) {
		uint32_t cli = rnd_client(&s);
		uint16_t cport = rnd_port(&s), lport;
		unsigned own, other;
		struct tpkt q;
		struct verdict v;

		ip4s(cli, cs);
		frame_tcp(&f, cs, cport, VIP_NAT, 80, TCP_F_SYN, false);
		own = steer_frame(&w->cfg, w->t, &f.p, 0);
		other = (own + 1) % n;
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		snprintf(rs, sizeof(rs), "192.168.1.%u", (unsigned)out_tuple(&f).daddr.b[3]);

		/* frag-needed from a router on the client side about a NAT'd
		 * reply (VIP:80 -> client): it is addressed to the VIP */
		q = tcp_spec(VIP_NAT, 80, cs, cport, TCP_F_ACK);
		q.payload_len = 1400;
		for (size_t qlen = 28; qlen <= 548; qlen += 520) {
			frame_icmp4(&f, "10.0.0.1", VIP_NAT, 3, 4, 1400, &q, qlen, false);
			assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, other), own);
			if (other != own) {
				v = run(w, other, &f);
				assert_int_equal(v.kind, VERDICT_DROP);
				assert_int_equal(v.reason, DROP_ICMP_UNTRACKED);
				frame_icmp4(&f, "10.0.0.1", VIP_NAT, 3, 4, 1400, &q, qlen, false);
			}
			assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
			assert_int_equal(tpkt_verify_csums(f.p.data, f.p.len), 0);
		}
		/* unreachable from the real server's side about client -> RIP */
		q = tcp_spec(cs, cport, rs, 8080, TCP_F_SYN);
		frame_icmp4(&f, rs, cs, 3, 3, 0, &q, 100, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, other), own);
		if (other != own) {
			assert_int_not_equal(run(w, other, &f).kind, VERDICT_TX);
			frame_icmp4(&f, rs, cs, 3, 3, 0, &q, 100, true);
		}
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);

		/* FULLNAT: an error to the local address quoting laddr:lport -> RIP */
		frame_tcp(&f, cs, cport, VIP_FNAT, 80, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), own);
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
		lport = be16(out_tuple(&f).sport);
		assert_int_equal(lport % n, own);
		q = tcp_spec(LADDR, lport, RS_FNAT, 8080, TCP_F_SYN);
		frame_icmp4(&f, RS_FNAT, LADDR, 3, 3, 0, &q, 100, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, other), own);
		assert_int_equal(run(w, own, &f).kind, VERDICT_TX);
	}
	{
		uint64_t tr = 0;
		for (unsigned i = 0; i < n; i++)
			tr += engine_stats(w->e[i])->icmp_translated;
		assert_int_equal(tr, 4 * N);
	}
	world_free(w);
}

/* An established connection through VIP_NAT:80 to 192.168.1.12:8080 from
 * client:cport, as connection sync would import it. */
static void synced_nat_conn(struct conn *in, const union ulvs_addr *client, uint16_t cport)
{
	memset(in, 0, sizeof(*in));
	in->af = ULVS_AF_INET;
	in->proto = IPPROTO_TCP_;
	in->caddr = *client;
	in->cport = be16(cport);
	in->vaddr = taddr(VIP_NAT);
	in->vport = be16(80);
	in->daddr = taddr("192.168.1.12");
	in->dport = be16(8080);
	in->fwd = FWD_NAT;
	in->state = CS_ESTABLISHED;
}

/* The group's steering is fixed when it forms: a persistent service that a
 * reload adds later, coarser than anything before, must not move clients
 * (their connections are in their worker's table); imports follow the
 * fixed steering too. */
static void test_steering_fixed_at_start(void **state)
{
	(void)state;
	struct world *w = world_new(2, 0);
	const struct steer_cfg *g = engine_steer(w->e[0]);
	struct steer_cfg coarse;
	union ulvs_addr vip = taddr(VIP_NAT), a;
	struct conn in;
	enum conn_dir dir;
	uint64_t s = 0x5eed;
	unsigned i;

	assert_int_equal(g->n, 2);
	assert_int_equal(g->plen4, 32);
	/* a reload adds persistence over /24 */
	struct svc *p = add_svc(w->t, VIP_PERS, 443, SVC_F_PERSISTENT, 24, "wlc");
	add_rs(w->t, p, "192.168.1.11", 8443, FWD_NAT);
	assert_int_equal(svc_commit(w->t, p), 0);
	steer_cfg_init(&coarse, w->t, 2);
	assert_int_equal(coarse.plen4, 24);
	assert_int_equal(engine_steer(w->e[0])->plen4, 32);
	/* a client whose worker the coarser prefix would change */
	for (i = 0; i < 256; i++) {
		a = addr_v4(__builtin_bswap32(0xc6120000u | i << 8 | 7)); /* 198.18.i.7 */
		if (steer_client(g, ULVS_AF_INET, &a) != steer_client(&coarse, ULVS_AF_INET, &a))
			break;
	}
	assert_true(i < 256);
	unsigned own = steer_client(g, ULVS_AF_INET, &a);
	synced_nat_conn(&in, &a, rnd_port(&s));
	assert_int_equal(engine_conn_import(w->e[0], &in, 0, 60000, w->now), 0);
	assert_non_null(conn_lookup(engine_conns(w->e[own]), ULVS_AF_INET, IPPROTO_TCP_,
				    &in.caddr, in.cport, &vip, in.vport, &dir));
	/* outside a group: one worker */
	engine_group_reset(w->e[0]);
	assert_int_equal(engine_steer(w->e[0])->n, 1);
	world_free(w);
}

static void test_icmp_follows_2(void **state)
{
	(void)state;
	icmp_follows(2);
}

static void test_icmp_follows_4(void **state)
{
	(void)state;
	icmp_follows(4);
}

/* --- (e) one worker; frames that are not IP ------------------------------------ */

static void frame_arp(struct frame *f)
{
	uint8_t *fr = f->buf + ULVS_HEADROOM;
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xaa,
					 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 100 };

	memset(f->buf, 0, sizeof(f->buf));
	memset(fr, 0xff, 6);
	memcpy(fr + 6, tmac(GW_MAC).b, 6);
	fr[12] = 0x08, fr[13] = 0x06;
	memcpy(fr + 14, arp, sizeof(arp));
	f->p.buf = f->buf;
	f->p.data = fr;
	f->p.len = 14 + sizeof(arp);
	f->p.buf_size = sizeof(f->buf);
	f->p.ifindex = 0;
	f->p.mark = 0;
}

static void test_one_worker_and_not_ip(void **state)
{
	(void)state;
	struct world *w = world_new(1, W_PERSIST24);
	static struct frame f;
	struct steer_cfg c;
	uint64_t s = 1;
	char cs[16];

	/* one worker (and "0 workers", taken as one): always 0 */
	steer_cfg_init(&c, w->t, 0);
	assert_int_equal(c.n, 1);
	for (unsigned i = 0; i < 256; i++) {
		uint16_t cport = rnd_port(&s);
		union ulvs_addr a = addr_v4(__builtin_bswap32(rnd_client(&s)));

		ip4s(__builtin_bswap32(a.ip), cs);
		frame_tcp(&f, cs, cport, VIP_NAT, 80, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), 0);
		assert_int_equal(steer_frame(&c, w->t, &f.p, 0), 0);
		frame_tcp(&f, RS_FNAT, 8080, LADDR, (uint16_t)(1025 + i), TCP_F_ACK, true);
		assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), 0);
		assert_int_equal(steer_client(&w->cfg, ULVS_AF_INET, &a), 0);
	}
	frame_arp(&f);
	assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, 0), 0);
	world_free(w);

	/* several workers: what is not IP, or does not parse, stays put */
	for (unsigned n = 2; n <= NW_MAX; n += 2) {
		w = world_new(n, 0);
		for (unsigned self = 0; self < n; self++) {
			frame_arp(&f);
			assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, self), self);
			/* an IPv4 frame cut inside its header */
			frame_tcp(&f, "100.64.0.1", 4000, VIP_NAT, 80, TCP_F_SYN, false);
			f.p.len = 14 + 12;
			assert_int_equal(steer_frame(&w->cfg, w->t, &f.p, self), self);
			/* no table yet */
			frame_tcp(&f, "100.64.0.1", 4000, VIP_NAT, 80, TCP_F_SYN, false);
			assert_int_equal(steer_frame(&w->cfg, NULL, &f.p, self), self);
		}
		world_free(w);
	}
}

/* --- (f) local port pools of one residue class --------------------------------- */

static void test_lport_parts(void **state)
{
	static const unsigned cases[][2] = { { 0, 1 }, { 0, 2 }, { 1, 2 }, { 0, 4 }, { 3, 4 },
					     { 2, 3 }, { 5, 7 } };
	static uint8_t seen[65536];
	(void)state;

	assert_null(lport_pool_new_part(1, 2, 2));
	assert_null(lport_pool_new_part(1, 0, 0));
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		unsigned part = cases[k][0], np = cases[k][1];
		struct lport_pool *lp = lport_pool_new_part((uint32_t)k + 1, part, np);
		uint32_t want = 0, got = 0;
		uint16_t p, mine = 0, theirs = 0;

		assert_non_null(lp);
		memset(seen, 0, sizeof(seen));
		for (uint32_t port = ULVS_LPORT_MIN; port <= ULVS_LPORT_MAX; port++)
			want += port % np == part;
		while (lport_alloc(lp, &p) == 0) {
			uint16_t h = be16(p);
			assert_true(h >= ULVS_LPORT_MIN);
			assert_int_equal(h % np, part);
			assert_int_equal(seen[h], 0);
			seen[h] = 1;
			assert_true(++got <= want);
		}
		/* exactly the class: every port of it, nothing else */
		assert_int_equal(got, want);
		assert_int_equal(lport_in_use(lp), want);
		assert_int_equal(lport_alloc(lp, &p), -ENOSPC);
		for (uint32_t port = ULVS_LPORT_MIN; port <= ULVS_LPORT_MAX; port++) {
			if (port % np == part && !mine)
				mine = (uint16_t)port;
			if (port % np != part && !theirs)
				theirs = (uint16_t)port;
		}
		/* another class's port: refused whether in use or not, released
		 * only as a counted mistake */
		if (np > 1) {
			assert_int_equal(lport_take(lp, be16(theirs)), -EXDEV);
			lport_release(lp, be16(theirs));
			assert_int_equal(lport_bad_releases(lp), 1);
			assert_int_equal(lport_in_use(lp), want);
		}
		/* our own: released, taken back, busy */
		lport_release(lp, be16(mine));
		assert_int_equal(lport_in_use(lp), want - 1);
		if (np > 1)
			assert_int_equal(lport_take(lp, be16(theirs)), -EXDEV);
		assert_int_equal(lport_take(lp, be16(mine)), 0);
		assert_int_equal(lport_take(lp, be16(mine)), -EBUSY);
		assert_int_equal(lport_bad_releases(lp), np > 1 ? 1 : 0);
		/* released again, alloc hands back exactly that port */
		lport_release(lp, be16(mine));
		assert_int_equal(lport_alloc(lp, &p), 0);
		assert_int_equal(be16(p), mine);
		lport_pool_free(lp);
	}
}

/* --- (g) two workers in two threads over one service table --------------------- */

#define G_CONNS 32000u
#define G_FRAME_BUF (ULVS_HEADROOM + 64u)   /* Ethernet + IPv4 + TCP: 54 bytes */

struct gframe {
	uint8_t buf[G_FRAME_BUF];
	struct pkt p;
};

struct gworker {
	pthread_t th;
	struct engine *e;
	struct gframe *syn, *ack;
	uint32_t *idx, n;
	uint64_t now;
	uint32_t not_tx;   /* checked by the main thread: no cmocka here */
	pthread_barrier_t *go;
};

static void gbuild(struct gframe *g, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport, uint8_t flags)
{
	struct tpkt t = tcp_spec(src, sport, dst, dport, flags);

	t.smac = tmac(GW_MAC);
	t.dmac = tmac(ETH0_MAC);
	tpkt_build(&g->p, g->buf, sizeof(g->buf), &t);
}

static void gfeed(struct gworker *gw, struct gframe *frames)
{
	struct pkt pk[ULVS_MAX_BATCH];
	struct verdict v[ULVS_MAX_BATCH];

	for (uint32_t i = 0; i < gw->n; i += ULVS_MAX_BATCH) {
		unsigned k = gw->n - i < ULVS_MAX_BATCH ? gw->n - i : ULVS_MAX_BATCH;
		for (unsigned j = 0; j < k; j++)
			pk[j] = frames[gw->idx[i + j]].p;
		unsigned tx = engine_process(gw->e, pk, v, k, gw->now);
		gw->not_tx += k - tx;
		gw->now += 1000;
	}
}

static void *gworker_main(void *arg)
{
	struct gworker *gw = arg;

	/* start together, so the shared counters and the scheduler's lock
	 * see both threads at once for as long as possible */
	pthread_barrier_wait(gw->go);
	gfeed(gw, gw->syn);
	gfeed(gw, gw->ack);
	return NULL;
}

struct gcount {
	uint32_t templates, conns, pers_conns, bad_persist;
	uint32_t *net_dest;    /* per /24 of the persistent clients: dest id + 1 */
	const struct world *w;
};

static int gcount_cb(void *arg, const struct conn *c)
{
	struct gcount *g = arg;
	uint32_t net = (__builtin_bswap32(c->caddr.ip) >> 8) & 0xff;

	if (c->flags & CONN_F_TEMPLATE) {
		g->templates++;
		return 0;
	}
	g->conns++;
	if (c->svc_id != g->w->pers->id)
		return 0;
	g->pers_conns++;
	/* persistence across workers: a network's connections share a server */
	if (!g->net_dest[net])
		g->net_dest[net] = c->dest_id + 1;
	else if (g->net_dest[net] != c->dest_id + 1)
		g->bad_persist++;
	return 0;
}

static void test_group_threads(void **state)
{
	(void)state;
	struct world *w = world_new(2, W_PERSIST24 | W_BIG);
	struct gframe *syn = calloc(G_CONNS, sizeof(*syn)), *ack = calloc(G_CONNS, sizeof(*ack));
	uint32_t *idx = calloc(2 * G_CONNS, sizeof(*idx));
	struct gworker gw[2];
	pthread_barrier_t go;
	uint32_t n_nat = 0, n_pers = 0, nets = 0;
	static uint32_t net_dest[256];
	static uint8_t net_seen[256];
	uint64_t s = 0x9;
	struct gcount gc = { .net_dest = net_dest, .w = w };
	char cs[16];

	assert_non_null(syn);
	assert_non_null(ack);
	assert_non_null(idx);
	memset(gw, 0, sizeof(gw));
	memset(net_dest, 0, sizeof(net_dest));
	memset(net_seen, 0, sizeof(net_seen));
	for (unsigned k = 0; k < 2; k++) {
		gw[k].e = w->e[k];
		gw[k].syn = syn;
		gw[k].ack = ack;
		gw[k].idx = idx + k * G_CONNS;
		gw[k].now = w->now;
		gw[k].go = &go;
	}
	/* Even connections: the rr NAT service from clients spread over
	 * 100.64.0.0/10 (a bijection of i, so no tuple repeats).  Odd ones:
	 * the persistent /24 wlc service from 200 networks 100.65.N.0/24. */
	for (uint32_t i = 0; i < G_CONNS; i++) {
		uint32_t cli;
		const char *vip;
		uint16_t vport, cport = rnd_port(&s);
		unsigned own;

		if (i % 2 == 0) {
			cli = 0x64400000u | ((i * 2654435761u) & 0x3fffff);
			if ((cli >> 16) == 0x6441)  /* keep 100.65/16 for the others */
				cli ^= 0x00100000u;
			vip = VIP_NAT, vport = 80, n_nat++;
		} else {
			uint32_t j = i / 2;
			cli = 0x64410000u | (j % 200) << 8 | (1 + j / 200);
			vip = VIP_PERS, vport = 443, n_pers++;
			if (!net_seen[j % 200]++)
				nets++;
		}
		ip4s(cli, cs);
		gbuild(&syn[i], cs, cport, vip, vport, TCP_F_SYN);
		gbuild(&ack[i], cs, cport, vip, vport, TCP_F_ACK);
		own = steer_frame(&w->cfg, w->t, &syn[i].p, 0);
		assert_true(own < 2);
		assert_int_equal(steer_frame(&w->cfg, w->t, &ack[i].p, 1 - own), own);
		gw[own].idx[gw[own].n++] = i;
	}
	assert_int_equal(nets, 200);
	assert_true(gw[0].n > G_CONNS / 4 && gw[1].n > G_CONNS / 4);

	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&gw[k].th, NULL, gworker_main, &gw[k]), 0);
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(pthread_join(gw[k].th, NULL), 0);
	pthread_barrier_destroy(&go);

	assert_int_equal(gw[0].not_tx, 0);
	assert_int_equal(gw[1].not_tx, 0);
	for (unsigned k = 0; k < 2; k++) {
		assert_int_equal(engine_stats(w->e[k])->new_conns, gw[k].n);
		assert_int_equal(engine_stats(w->e[k])->rx, 2 * gw[k].n);
		conn_foreach(engine_conns(w->e[k]), gcount_cb, &gc);
	}
	/* one template per client network, however the networks' connections
	 * were spread over the threads */
	assert_int_equal(gc.templates, nets);
	assert_int_equal(gc.conns, G_CONNS);
	assert_int_equal(gc.pers_conns, n_pers);
	assert_int_equal(gc.bad_persist, 0);
	assert_int_equal(engine_conn_count(w->e[0]), G_CONNS + nets);
	{
		const struct engine_stats *tot = engine_stats_total(w->e[0]);
		assert_int_equal(tot->new_conns, G_CONNS);
		assert_int_equal(tot->rx, 2 * G_CONNS);
		assert_int_equal(tot->tx, 2 * G_CONNS);
		assert_int_equal(tot->drop, 0);
	}

	/* Real servers' connection counters, moved by both threads at once. */
	{
		uint64_t act = 0, inact = 0, pers = 0;
		for (uint32_t i = 0; i < w->t->n_dests; i++) {
			const struct dest *d = &w->t->dests[i];
			act += d->activeconns;
			inact += d->inactconns;
			pers += d->persistconns;
			/* traffic counters are still the workers' own */
			assert_int_equal(d->stats.conns, 0);
			assert_int_equal(d->stats.inpkts, 0);
		}
		assert_int_equal(act + inact, engine_conn_count(w->e[0]) - gc.templates);
		assert_int_equal(act, G_CONNS);   /* SYN then ACK: all ESTABLISHED */
		assert_int_equal(inact, 0);
		assert_int_equal(pers, gc.templates);
		/* rr under the service lock: an even deal to the last connection */
		for (uint32_t i = 0; i < w->nat->n_dests; i++) {
			const struct dest *d = svc_dest(w->t, w->nat, i);
			assert_true(d->activeconns == n_nat / 3 || d->activeconns == n_nat / 3 + 1);
		}
	}

	/* Folding moves the per-worker traffic counters into the table, once. */
	for (int round = 0; round < 2; round++) {
		uint64_t conns = 0, inpkts = 0, inbytes = 0;
		engine_fold_stats(w->e[0]);
		for (uint32_t i = 0; i < w->t->n_dests; i++) {
			conns += w->t->dests[i].stats.conns;
			inpkts += w->t->dests[i].stats.inpkts;
			inbytes += w->t->dests[i].stats.inbytes;
		}
		assert_int_equal(conns, G_CONNS);
		assert_int_equal(inpkts, 2 * G_CONNS);
		assert_int_equal(inbytes, 2 * 40 * G_CONNS);  /* 40-byte IPv4+TCP */
		assert_int_equal(w->nat->stats.conns, n_nat);
		assert_int_equal(w->pers->stats.conns, n_pers);
		assert_int_equal(w->nat->stats.inpkts, 2 * n_nat);
		assert_int_equal(w->pers->stats.inpkts, 2 * n_pers);
	}

	/* Sync import through the leader lands with the member steer_conn
	 * names, and nowhere else. */
	{
		unsigned per[2] = { 0, 0 };
		union ulvs_addr vip = taddr(VIP_NAT);

		for (unsigned i = 0; i < 64; i++) {
			struct conn in;
			enum conn_dir dir;
			unsigned own;

			union ulvs_addr ca = addr_v4(__builtin_bswap32(0xc6120000u | i << 8 | 7));

			synced_nat_conn(&in, &ca, rnd_port(&s));        /* 198.18.i.7 */
			own = steer_conn(&w->cfg, &in);
			assert_true(own < 2);
			per[own]++;
			assert_int_equal(engine_conn_import(w->e[0], &in, 0, 60000, w->now), 0);
			struct conn *c = conn_lookup(engine_conns(engine_group_member(w->e[0], own)),
						     ULVS_AF_INET, IPPROTO_TCP_, &in.caddr, in.cport,
						     &vip, in.vport, &dir);
			assert_non_null(c);
			assert_int_equal(dir, CONN_DIR_IN);
			assert_true(addr_eq(&c->daddr, &in.daddr));
			assert_null(conn_lookup(engine_conns(engine_group_member(w->e[0], 1 - own)),
						ULVS_AF_INET, IPPROTO_TCP_, &in.caddr, in.cport, &vip,
						in.vport, &dir));
		}
		assert_true(per[0] > 0 && per[1] > 0);
		assert_int_equal(engine_conn_count(w->e[0]), G_CONNS + nets + 64);
		/* imported established: counted active, like local ones */
		uint64_t act = 0;
		for (uint32_t i = 0; i < w->t->n_dests; i++)
			act += w->t->dests[i].activeconns;
		assert_int_equal(act, G_CONNS + 64);
	}
	/* a template: by its client network */
	{
		static struct frame gf;
		struct conn in;
		union ulvs_addr vip = taddr(VIP_PERS);
		unsigned own;

		memset(&in, 0, sizeof(in));
		in.af = ULVS_AF_INET;
		in.proto = IPPROTO_TCP_;
		in.caddr = taddr("198.19.5.0");
		in.vaddr = vip;
		in.vport = be16(443);
		in.daddr = taddr("192.168.1.11");
		in.dport = be16(8443);
		in.fwd = FWD_NAT;
		in.flags = CONN_F_TEMPLATE | CONN_F_NO_CPORT;
		own = steer_conn(&w->cfg, &in);
		assert_int_equal(engine_conn_import(w->e[0], &in, 0, 60000, w->now), 0);
		assert_non_null(conn_tmpl_lookup(engine_conns(w->e[own]), ULVS_AF_INET, IPPROTO_TCP_,
						 &in.caddr, 0, &vip, in.vport));
		assert_null(conn_tmpl_lookup(engine_conns(w->e[1 - own]), ULVS_AF_INET,
					     IPPROTO_TCP_, &in.caddr, 0, &vip, in.vport));
		uint64_t pers = 0;
		for (uint32_t i = 0; i < w->t->n_dests; i++)
			pers += w->t->dests[i].persistconns;
		assert_int_equal(pers, nets + 1);
		/* and a client of that network steers to the same worker */
		frame_tcp(&gf, "198.19.5.77", 5000, VIP_PERS, 443, TCP_F_SYN, false);
		assert_int_equal(steer_frame(&w->cfg, w->t, &gf.p, 1 - own), own);
	}
	free(syn);
	free(ack);
	free(idx);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_pairs_2),
		cmocka_unit_test(test_nat_pairs_4),
		cmocka_unit_test(test_fnat_ports_2),
		cmocka_unit_test(test_fnat_ports_4),
		cmocka_unit_test(test_set_worker),
		cmocka_unit_test(test_persist24_2),
		cmocka_unit_test(test_persist24_4),
		cmocka_unit_test(test_persist_host_spreads),
		cmocka_unit_test(test_steering_fixed_at_start),
		cmocka_unit_test(test_icmp_follows_2),
		cmocka_unit_test(test_icmp_follows_4),
		cmocka_unit_test(test_one_worker_and_not_ip),
		cmocka_unit_test(test_lport_parts),
		cmocka_unit_test(test_group_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
