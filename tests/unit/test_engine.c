/* Golden packet tests of the engine: {what goes in, verdict, what comes out}.
 *
 * Every expected output frame is built independently with tpkt_build() from
 * the addresses, ports, MACs and TTL it must carry, and compared byte for
 * byte with what the engine produced (so every checksum is checked against a
 * full recomputation, not against the engine's own incremental arithmetic).
 * ICMP errors are assembled here by hand for the same reason.
 * TUN and FULLNAT goldens live in test_xmit.c.
 *
 *   client 10.1.0.0/16, 2001:db8:c::/48
 *        |  via router 10.0.0.1 / 2001:db8:0:ff::1 (GW_MAC)
 *   eth0 (if 0, 10.0.0.254)  VIPs 10.0.0.100..  2001:db8::100..
 *   [ engine ]
 *   eth1 (if 1, 192.168.1.254, fd00:1::fe)    eth2 (if 2, mtu 1000)
 *        |  192.168.1.11/.12/.13, fd00:1::11/12       |  192.168.3.11
 */
#include <setjmp.h>
#include <stdarg.h>
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
#include "core/packet.h"
#include "core/service.h"
#include "testutil.h"

#define SEC 1000000000ull
#define BUFSZ 4096

#define GW_MAC "02:00:00:00:00:aa"
#define ETH0_MAC "02:00:00:00:00:01"
#define ETH1_MAC "02:00:00:00:01:01"
#define ETH2_MAC "02:00:00:00:02:01"
#define RS11_MAC "02:00:00:00:01:11"
#define RS12_MAC "02:00:00:00:01:12"
#define RS13_MAC "02:00:00:00:01:13"
#define RS3_MAC "02:00:00:00:02:11"
#define RS6A_MAC "02:00:00:00:06:11"
#define RS6B_MAC "02:00:00:00:06:12"

/* --- the world --------------------------------------------------------------- */

struct world {
	struct fib fib;
	struct svc_table *t;
	struct engine *e;
	uint64_t now;
	struct svc *s[32];
	uint8_t buf[BUFSZ];
	struct pkt p;
	struct verdict v;
};

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

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

static struct svc *add_svc(struct world *w, const char *vip, uint8_t proto, uint16_t port,
			   uint32_t fwmark, uint32_t flags, const char *sched)
{
	struct svc tmpl, *s = NULL;

	memset(&tmpl, 0, sizeof(tmpl));
	if (fwmark) {
		tmpl.af = strchr(vip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
		tmpl.fwmark = fwmark;
	} else {
		tmpl.af = strchr(vip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
		tmpl.addr = taddr(vip);
		tmpl.proto = proto;
		tmpl.port = be16(port);
	}
	tmpl.flags = flags;
	tmpl.sorry_dest = -1;
	assert_int_equal(svc_add(w->t, &tmpl, sched, &s), 0);
	return s;
}

static struct dest *add_rs(struct world *w, struct svc *s, const char *addr, uint16_t port,
			   enum fwd_method fwd, int weight)
{
	struct dest tmpl, *d = NULL;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.addr = taddr(addr);
	tmpl.af = strchr(addr, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	tmpl.port = be16(port);
	tmpl.fwd = (uint8_t)fwd;
	tmpl.weight = weight;
	tmpl.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(w->t, s, &tmpl, &d), 0);
	return d;
}

enum {
	S_NAT, S_DR, S_SORRY, S_SORRY_LOCAL, S_PERSIST, S_FWM, S_UDP, S_NAT6, S_DR6,
	S_NOROUTE, S_NONEIGH, S_QUIESCE, S_THRESH, S_MTU, S_PORT0, S_UDP6, S_TUN, S_FNAT, S_MAX
};

static struct world *world_new(const struct engine_params *ep0)
{
	struct world *w = calloc(1, sizeof(*w));
	struct engine_params ep;
	struct ulvs_mac m;
	struct svc *s;
	struct dest *d;

	assert_non_null(w);
	fib_init(&w->fib);
	m = tmac(ETH0_MAC);
	assert_int_equal(fib_add_iface(&w->fib, "eth0", &m, 1500, 0), 0);
	m = tmac(ETH1_MAC);
	assert_int_equal(fib_add_iface(&w->fib, "eth1", &m, 1500, 0), 1);
	m = tmac(ETH2_MAC);
	assert_int_equal(fib_add_iface(&w->fib, "eth2", &m, 1000, 0), 2);
	w->fib.ifaces[0].addr4 = taddr("10.0.0.254");
	w->fib.ifaces[0].has_addr4 = 1;
	w->fib.ifaces[1].addr4 = taddr("192.168.1.254");
	w->fib.ifaces[1].has_addr4 = 1;
	w->fib.ifaces[1].addr6 = taddr("fd00:1::fe");
	w->fib.ifaces[1].has_addr6 = 1;
	add_route(&w->fib, "10.0.0.0", 24, NULL, 0);
	add_route(&w->fib, "10.1.0.0", 16, "10.0.0.1", 0);
	add_route(&w->fib, "2001:db8:c::", 48, "2001:db8:0:ff::1", 0);
	add_route(&w->fib, "192.168.1.0", 24, NULL, 1);
	add_route(&w->fib, "fd00:1::", 64, NULL, 1);
	add_route(&w->fib, "192.168.3.0", 24, NULL, 2);
	add_neigh(&w->fib, "10.0.0.1", GW_MAC, 0);
	add_neigh(&w->fib, "2001:db8:0:ff::1", GW_MAC, 0);
	add_neigh(&w->fib, "192.168.1.11", RS11_MAC, 1);
	add_neigh(&w->fib, "192.168.1.12", RS12_MAC, 1);
	add_neigh(&w->fib, "192.168.1.13", RS13_MAC, 1);
	add_neigh(&w->fib, "fd00:1::11", RS6A_MAC, 1);
	add_neigh(&w->fib, "fd00:1::12", RS6B_MAC, 1);
	add_neigh(&w->fib, "192.168.3.11", RS3_MAC, 2);

	w->t = svc_table_new();
	assert_non_null(w->t);

	/* NAT with port mapping 80 -> 8080 */
	s = w->s[S_NAT] = add_svc(w, "10.0.0.100", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.11", 8080, FWD_NAT, 1);
	add_rs(w, s, "192.168.1.12", 8080, FWD_NAT, 1);
	s = w->s[S_DR] = add_svc(w, "10.0.0.101", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.11", 80, FWD_DR, 1);
	add_rs(w, s, "192.168.1.12", 80, FWD_DR, 1);
	/* sorry server, remote: the only real server is down */
	s = w->s[S_SORRY] = add_svc(w, "10.0.0.102", 6, 80, 0, 0, "rr");
	d = add_rs(w, s, "192.168.1.11", 80, FWD_NAT, 1);
	d->flags &= ~(uint32_t)DEST_F_AVAILABLE;
	{
		struct dest so;
		memset(&so, 0, sizeof(so));
		so.addr = taddr("192.168.1.13");
		so.af = ULVS_AF_INET;
		so.port = be16(8000);
		so.fwd = FWD_NAT;
		so.weight = 1;
		so.flags = DEST_F_AVAILABLE;
		assert_int_equal(svc_set_sorry(w->t, s, &so), 0);
	}
	/* sorry server on the director itself */
	s = w->s[S_SORRY_LOCAL] = add_svc(w, "10.0.0.103", 6, 80, 0, 0, "rr");
	{
		struct dest so;
		memset(&so, 0, sizeof(so));
		so.addr = taddr("127.0.0.1");
		so.af = ULVS_AF_INET;
		so.port = be16(80);
		so.fwd = FWD_LOCAL;
		so.weight = 1;
		so.flags = DEST_F_AVAILABLE;
		assert_int_equal(svc_set_sorry(w->t, s, &so), 0);
	}
	/* persistent, 60 s, granularity /24 */
	s = w->s[S_PERSIST] = add_svc(w, "10.0.0.104", 6, 443, 0, SVC_F_PERSISTENT, "rr");
	s->timeout = 60;
	s->netmask = 24;
	add_rs(w, s, "192.168.1.11", 443, FWD_NAT, 1);
	add_rs(w, s, "192.168.1.12", 443, FWD_NAT, 1);
	add_rs(w, s, "192.168.1.13", 443, FWD_NAT, 1);
	/* fwmark 7 = TCP to 10.0.0.105 ports 80 and 443, persistent, DR */
	s = w->s[S_FWM] = add_svc(w, "0.0.0.0", 0, 0, 7, SVC_F_PERSISTENT, "rr");
	s->timeout = 300;
	add_rs(w, s, "192.168.1.11", 0, FWD_DR, 1);
	add_rs(w, s, "192.168.1.12", 0, FWD_DR, 1);
	{
		struct mark_rule r;
		memset(&r, 0, sizeof(r));
		r.af = ULVS_AF_INET;
		r.proto = 6;
		r.prefix = taddr("10.0.0.105");
		r.plen = 32;
		r.n_ports = 2;
		r.port_lo[0] = r.port_hi[0] = 80;
		r.port_lo[1] = r.port_hi[1] = 443;
		r.mark = 7;
		assert_int_equal(svc_add_mark_rule(w->t, &r), 0);
	}
	s = w->s[S_UDP] = add_svc(w, "10.0.0.106", 17, 53, 0, 0, "rr");
	add_rs(w, s, "192.168.1.11", 5353, FWD_NAT, 1);
	s = w->s[S_NAT6] = add_svc(w, "2001:db8::100", 6, 80, 0, 0, "rr");
	add_rs(w, s, "fd00:1::11", 8080, FWD_NAT, 1);
	s = w->s[S_DR6] = add_svc(w, "2001:db8::101", 6, 80, 0, 0, "rr");
	add_rs(w, s, "fd00:1::12", 80, FWD_DR, 1);
	s = w->s[S_NOROUTE] = add_svc(w, "10.0.0.107", 6, 80, 0, 0, "rr");
	add_rs(w, s, "172.16.9.9", 80, FWD_NAT, 1);
	s = w->s[S_NONEIGH] = add_svc(w, "10.0.0.108", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.99", 80, FWD_NAT, 1);
	s = w->s[S_QUIESCE] = add_svc(w, "10.0.0.109", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.11", 80, FWD_NAT, 1);
	add_rs(w, s, "192.168.1.12", 80, FWD_NAT, 1);
	s = w->s[S_THRESH] = add_svc(w, "10.0.0.110", 6, 80, 0, 0, "rr");
	d = add_rs(w, s, "192.168.1.11", 80, FWD_NAT, 1);
	d->u_threshold = 2;
	d->l_threshold = 1;
	add_rs(w, s, "192.168.1.12", 80, FWD_NAT, 1);
	s = w->s[S_MTU] = add_svc(w, "10.0.0.111", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.3.11", 80, FWD_DR, 1);
	/* port-zero persistent service: every port of the VIP sticks */
	s = w->s[S_PORT0] = add_svc(w, "10.0.0.112", 6, 0, 0, SVC_F_PERSISTENT, "rr");
	s->timeout = 300;
	add_rs(w, s, "192.168.1.11", 0, FWD_NAT, 1);
	add_rs(w, s, "192.168.1.12", 0, FWD_NAT, 1);
	s = w->s[S_UDP6] = add_svc(w, "2001:db8::102", 17, 53, 0, 0, "rr");
	add_rs(w, s, "fd00:1::11", 53, FWD_NAT, 1);

	s = w->s[S_TUN] = add_svc(w, "10.0.0.113", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.12", 80, FWD_TUN, 1);
	s = w->s[S_FNAT] = add_svc(w, "10.0.0.114", 6, 80, 0, 0, "rr");
	add_rs(w, s, "192.168.1.13", 8080, FWD_FNAT, 1);
	{
		union ulvs_addr la = taddr("192.168.1.200");
		assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &la, 1), 0);
	}

	for (int i = 0; i < S_MAX; i++)
		assert_int_equal(svc_commit(w->t, w->s[i]), 0);

	memset(&ep, 0, sizeof(ep));
	if (ep0)
		ep = *ep0;
	if (!ep.conn_capacity)
		ep.conn_capacity = 4096;
	w->now = 1000 * SEC;
	w->e = engine_new(&ep, &w->fib, w->t, w->now);
	assert_non_null(w->e);
	return w;
}

static void world_free(struct world *w)
{
	engine_free(w->e);
	svc_table_free(w->t);
	free(w);
}

/* --- frames ------------------------------------------------------------------ */

/* A packet from the client side (through the router) or from a real server. */
static struct tpkt from_client(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			       uint8_t proto, uint8_t flags)
{
	struct tpkt t;
	memset(&t, 0, sizeof(t));
	t.src = src, t.dst = dst, t.sport = sport, t.dport = dport;
	t.proto = proto, t.tcp_flags = flags;
	t.seq = 1000, t.ack = flags & TCP_F_ACK ? 2000 : 0;
	t.smac = tmac(GW_MAC), t.dmac = tmac(ETH0_MAC);
	t.ip_id = 0x1234;
	return t;
}

static struct tpkt from_rs(const char *src, const char *mac, uint16_t sport, const char *dst,
			   uint16_t dport, uint8_t proto, uint8_t flags)
{
	struct tpkt t = from_client(src, sport, dst, dport, proto, flags);
	t.smac = tmac(mac), t.dmac = tmac(ETH1_MAC);
	return t;
}

/* The same packet as it must leave: new addresses, MACs and TTL. */
static struct tpkt rewritten(struct tpkt t, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport, const char *smac, const char *dmac, uint8_t ttl)
{
	t.src = src, t.sport = sport, t.dst = dst, t.dport = dport;
	t.smac = tmac(smac), t.dmac = tmac(dmac);
	t.ttl = ttl;
	return t;
}

static void send_frame(struct world *w, uint16_t ifindex)
{
	unsigned ntx;

	w->p.ifindex = ifindex;
	ntx = engine_process(w->e, &w->p, &w->v, 1, w->now);
	assert_int_equal(ntx, w->v.kind == VERDICT_TX ? 1u : 0u);
}

static struct verdict send_pkt(struct world *w, const struct tpkt *t, uint16_t ifindex)
{
	tpkt_build(&w->p, w->buf, sizeof(w->buf), t);
	send_frame(w, ifindex);
	return w->v;
}

static void dump_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			print_message("  byte %zu: got %02x want %02x\n", i, a[i], b[i]);
}

/* The frame in w->p must be exactly exp (checksums included). */
static void expect_frame(struct world *w, const struct tpkt *exp)
{
	static uint8_t ebuf[BUFSZ];
	struct pkt ep;

	tpkt_build(&ep, ebuf, sizeof(ebuf), exp);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	assert_int_equal(w->p.len, ep.len);
	if (memcmp(w->p.data, ep.data, ep.len)) {
		dump_diff(w->p.data, ep.data, ep.len);
		fail_msg("frame differs from the golden one");
	}
}

static void expect_tx(struct world *w, uint16_t iface)
{
	if (w->v.kind != VERDICT_TX)
		fail_msg("verdict %u reason %s, want TX", w->v.kind,
			 drop_reason_name((enum drop_reason)w->v.reason));
	assert_int_equal(w->v.iface, iface);
}

static void expect_drop(struct world *w, enum drop_reason r)
{
	if (w->v.kind != VERDICT_DROP || w->v.reason != r)
		fail_msg("verdict %u reason %s, want DROP %s", w->v.kind,
			 drop_reason_name((enum drop_reason)w->v.reason), drop_reason_name(r));
}

/* --- the golden table ---------------------------------------------------- */

struct golden {
	const char *desc;
	struct tpkt pre[2];    /* sent first, each must be transmitted */
	uint16_t pre_if[2];
	unsigned n_pre;
	struct tpkt in;
	uint16_t in_if;
	uint8_t kind;
	uint8_t reason;
	uint16_t out_if;
	bool has_out;
	struct tpkt out;
};

#define SYN TCP_F_SYN
#define ACK TCP_F_ACK
#define SYNACK (TCP_F_SYN | TCP_F_ACK)
#define CLI "10.1.0.5"
#define CLI6 "2001:db8:c::5"

static void run_golden(const struct golden *g)
{
	struct world *w = world_new(NULL);

	print_message("golden: %s\n", g->desc);
	for (unsigned i = 0; i < g->n_pre; i++) {
		send_pkt(w, &g->pre[i], g->pre_if[i]);
		if (w->v.kind != VERDICT_TX)
			fail_msg("%s: setup packet %u not transmitted (%s)", g->desc, i,
				 drop_reason_name((enum drop_reason)w->v.reason));
	}
	send_pkt(w, &g->in, g->in_if);
	if (w->v.kind != g->kind || (g->kind == VERDICT_DROP && w->v.reason != g->reason))
		fail_msg("%s: verdict %u/%s, want %u/%s", g->desc, w->v.kind,
			 drop_reason_name((enum drop_reason)w->v.reason), g->kind,
			 drop_reason_name((enum drop_reason)g->reason));
	if (g->kind == VERDICT_TX)
		assert_int_equal(w->v.iface, g->out_if);
	if (g->has_out)
		expect_frame(w, &g->out);
	if (g->kind == VERDICT_DROP)
		assert_int_equal(engine_stats(w->e)->drops[g->reason], 1);
	world_free(w);
}

static void test_golden(void **state)
{
	(void)state;
	struct tpkt nat_syn = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
	struct tpkt nat_synack = from_rs("192.168.1.11", RS11_MAC, 8080, CLI, 40000, 6, SYNACK);
	struct tpkt dr_syn = from_client(CLI, 40001, "10.0.0.101", 80, 6, SYN);
	struct tpkt udp = from_client(CLI, 5000, "10.0.0.106", 53, 17, 0);
	struct tpkt udp_reply = from_rs("192.168.1.11", RS11_MAC, 5353, CLI, 5000, 17, 0);
	struct tpkt nat6_syn = from_client(CLI6, 40000, "2001:db8::100", 80, 6, SYN);
	struct tpkt nat6_reply = from_rs("fd00:1::11", RS6A_MAC, 8080, CLI6, 40000, 6, SYNACK);
	struct tpkt dr6_syn = from_client(CLI6, 40002, "2001:db8::101", 80, 6, SYN);
	struct tpkt udp6 = from_client(CLI6, 5000, "2001:db8::102", 53, 17, 0);
	struct tpkt udp6_reply = from_rs("fd00:1::11", RS6A_MAC, 53, CLI6, 5000, 17, 0);
	struct tpkt vlan_syn = nat_syn;
	struct tpkt ttl1 = nat_syn, dr_ttl1 = dr_syn, frag = nat_syn, frag_other = nat_syn;
	struct tpkt data = nat_syn, ping = from_client(CLI, 7, "10.0.0.100", 0, 1, 0);
	struct tpkt other = from_client(CLI, 40000, "10.0.0.77", 80, 6, SYN);
	struct tpkt vip_other_port = from_client(CLI, 40000, "10.0.0.100", 22, 6, SYN);

	nat_syn.payload_len = 0;
	vlan_syn.vlan = 42;
	ttl1.ttl = 1;
	dr_ttl1.ttl = 1;
	frag.frag = 0x00b9; /* offset 185*8, last fragment */
	frag_other = frag;
	frag_other.dst = "10.0.0.77";
	data.tcp_flags = ACK | TCP_F_PSH;
	data.payload_len = 100;
	udp.payload_len = 33;
	udp_reply.payload_len = 40;
	udp6.payload_len = 21;
	udp6_reply.payload_len = 17;

	const struct golden g[] = {
		{ "NAT in: DNAT to RIP with port mapping, TTL-1", .in = nat_syn,
		  .kind = VERDICT_TX, .out_if = 1, .has_out = true,
		  .out = rewritten(nat_syn, CLI, 40000, "192.168.1.11", 8080, ETH1_MAC, RS11_MAC, 63) },
		{ "NAT out: reply SNAT back to VIP:vport", .pre = { nat_syn }, .pre_if = { 0 },
		  .n_pre = 1, .in = nat_synack, .in_if = 1, .kind = VERDICT_TX, .out_if = 0,
		  .has_out = true,
		  .out = rewritten(nat_synack, "10.0.0.100", 80, CLI, 40000, ETH0_MAC, GW_MAC, 63) },
		{ "NAT in keeps the VLAN tag", .in = vlan_syn, .kind = VERDICT_TX, .out_if = 1,
		  .has_out = true,
		  .out = rewritten(vlan_syn, CLI, 40000, "192.168.1.11", 8080, ETH1_MAC, RS11_MAC,
				   63) },
		{ "DR: MACs only, TTL untouched", .in = dr_syn, .kind = VERDICT_TX, .out_if = 1,
		  .has_out = true,
		  .out = rewritten(dr_syn, CLI, 40001, "10.0.0.101", 80, ETH1_MAC, RS11_MAC, 64) },
		{ "DR with TTL 1 still forwards (not routed)", .in = dr_ttl1, .kind = VERDICT_TX,
		  .out_if = 1, .has_out = true,
		  .out = rewritten(dr_ttl1, CLI, 40001, "10.0.0.101", 80, ETH1_MAC, RS11_MAC, 1) },
		{ "NAT with TTL 1: dropped", .in = ttl1, .kind = VERDICT_DROP,
		  .reason = DROP_TTL_EXCEEDED },
		{ "UDP NAT in", .in = udp, .kind = VERDICT_TX, .out_if = 1, .has_out = true,
		  .out = rewritten(udp, CLI, 5000, "192.168.1.11", 5353, ETH1_MAC, RS11_MAC, 63) },
		{ "UDP NAT out", .pre = { udp }, .n_pre = 1, .in = udp_reply, .in_if = 1,
		  .kind = VERDICT_TX, .out_if = 0, .has_out = true,
		  .out = rewritten(udp_reply, "10.0.0.106", 53, CLI, 5000, ETH0_MAC, GW_MAC, 63) },
		{ "IPv6 NAT in", .in = nat6_syn, .kind = VERDICT_TX, .out_if = 1, .has_out = true,
		  .out = rewritten(nat6_syn, CLI6, 40000, "fd00:1::11", 8080, ETH1_MAC, RS6A_MAC, 63) },
		{ "IPv6 NAT out", .pre = { nat6_syn }, .n_pre = 1, .in = nat6_reply, .in_if = 1,
		  .kind = VERDICT_TX, .out_if = 0, .has_out = true,
		  .out = rewritten(nat6_reply, "2001:db8::100", 80, CLI6, 40000, ETH0_MAC, GW_MAC,
				   63) },
		{ "IPv6 DR", .in = dr6_syn, .kind = VERDICT_TX, .out_if = 1, .has_out = true,
		  .out = rewritten(dr6_syn, CLI6, 40002, "2001:db8::101", 80, ETH1_MAC, RS6B_MAC,
				   64) },
		{ "IPv6 UDP NAT in", .in = udp6, .kind = VERDICT_TX, .out_if = 1, .has_out = true,
		  .out = rewritten(udp6, CLI6, 5000, "fd00:1::11", 53, ETH1_MAC, RS6A_MAC, 63) },
		{ "IPv6 UDP NAT out", .pre = { udp6 }, .n_pre = 1, .in = udp6_reply, .in_if = 1,
		  .kind = VERDICT_TX, .out_if = 0, .has_out = true,
		  .out = rewritten(udp6_reply, "2001:db8::102", 53, CLI6, 5000, ETH0_MAC, GW_MAC,
				   63) },
		{ "non-SYN to an unknown connection", .in = data, .kind = VERDICT_DROP,
		  .reason = DROP_NOT_SYN },
		{ "non-first fragment to a VIP", .in = frag, .kind = VERDICT_DROP,
		  .reason = DROP_FRAGMENT },
		{ "non-first fragment to someone else", .in = frag_other, .kind = VERDICT_PASS },
		{ "not a service address", .in = other, .kind = VERDICT_PASS },
		{ "VIP, port without service", .in = vip_other_port, .kind = VERDICT_PASS },
		{ "ICMP echo to a VIP goes to the kernel", .in = ping, .kind = VERDICT_PASS },
		{ "no route to the real server",
		  .in = from_client(CLI, 40000, "10.0.0.107", 80, 6, SYN), .kind = VERDICT_DROP,
		  .reason = DROP_NO_ROUTE },
		{ "no neighbour entry for the real server",
		  .in = from_client(CLI, 40000, "10.0.0.108", 80, 6, SYN), .kind = VERDICT_DROP,
		  .reason = DROP_NO_NEIGH },
		{ "sorry server (remote, NAT)",
		  .in = from_client(CLI, 40000, "10.0.0.102", 80, 6, SYN), .kind = VERDICT_TX,
		  .out_if = 1, .has_out = true,
		  .out = rewritten(from_client(CLI, 40000, "10.0.0.102", 80, 6, SYN), CLI, 40000,
				   "192.168.1.13", 8000, ETH1_MAC, RS13_MAC, 63) },
		{ "sorry server on the director: pass to the kernel",
		  .in = from_client(CLI, 40000, "10.0.0.103", 80, 6, SYN), .kind = VERDICT_PASS },
	};

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		run_golden(&g[i]);
}

/* A UDP datagram without checksum (IPv4 allows it) keeps it zero. */
static void test_udp_zero_csum(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt in = from_client(CLI, 5000, "10.0.0.106", 53, 17, 0);
	struct tpkt out = rewritten(in, CLI, 5000, "192.168.1.11", 5353, ETH1_MAC, RS11_MAC, 63);
	static uint8_t ebuf[BUFSZ];
	struct pkt ep;

	in.payload_len = out.payload_len = 10;
	tpkt_build(&w->p, w->buf, sizeof(w->buf), &in);
	w->p.data[14 + 20 + 6] = w->p.data[14 + 20 + 7] = 0;
	send_frame(w, 0);
	expect_tx(w, 1);
	tpkt_build(&ep, ebuf, sizeof(ebuf), &out);
	ebuf[ep.data - ebuf + 14 + 20 + 6] = ebuf[ep.data - ebuf + 14 + 20 + 7] = 0;
	assert_int_equal(w->p.len, ep.len);
	assert_memory_equal(w->p.data, ep.data, ep.len);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	world_free(w);
}

static void test_parse_failures(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt t = from_client(CLI, 1, "10.0.0.100", 80, 6, SYN);

	/* ARP: not ours */
	tpkt_build(&w->p, w->buf, sizeof(w->buf), &t);
	w->p.data[12] = 0x08, w->p.data[13] = 0x06;
	send_frame(w, 0);
	assert_int_equal(w->v.kind, VERDICT_PASS);
	assert_int_equal(engine_stats(w->e)->parse[PARSE_NOT_IP], 1);
	/* truncated */
	tpkt_build(&w->p, w->buf, sizeof(w->buf), &t);
	w->p.len = 20;
	send_frame(w, 0);
	expect_drop(w, DROP_PARSE_TRUNC);
	/* bad IPv4 header checksum */
	tpkt_build(&w->p, w->buf, sizeof(w->buf), &t);
	w->p.data[14 + 10] ^= 0xff;
	send_frame(w, 0);
	expect_drop(w, DROP_PARSE_BAD_IP_CSUM);
	assert_int_equal(engine_stats(w->e)->drop, 2);
	assert_int_equal(engine_stats(w->e)->rx, 3);
	world_free(w);
}

/* --- connection counters -------------------------------------------------- */

static struct dest *dest_of(struct world *w, int svc, unsigned i)
{
	return svc_dest(w->t, w->s[svc], i);
}

static void expect_counts(struct dest *d, uint32_t act, uint32_t inact, uint32_t persist)
{
	if (d->activeconns != act || d->inactconns != inact || d->persistconns != persist)
		fail_msg("counts act %u inact %u persist %u, want %u %u %u", d->activeconns,
			 d->inactconns, d->persistconns, act, inact, persist);
}

static void expire_all(struct world *w, uint64_t secs)
{
	/* Several slices, as a live worker would run them. */
	for (int i = 0; i < 8; i++) {
		w->now += secs * SEC / 8;
		engine_process(w->e, NULL, NULL, 0, w->now);
	}
}

/* A full TCP open and close through NAT: the real server's active and
 * inactive counts follow IPVS exactly (inactive until ESTABLISHED, active
 * while established, inactive again from the first FIN, zero after expiry). */
static void test_counters_open_close(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct dest *d = dest_of(w, S_NAT, 0);
	struct tpkt c = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
	struct tpkt r = from_rs("192.168.1.11", RS11_MAC, 8080, CLI, 40000, 6, SYNACK);
	struct conn *cn;
	enum conn_dir dir;

	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	expect_counts(d, 0, 1, 0);
	send_pkt(w, &r, 1);
	expect_tx(w, 0);
	expect_counts(d, 0, 1, 0);
	c.tcp_flags = ACK;
	send_pkt(w, &c, 0);
	expect_counts(d, 1, 0, 0);
	c.tcp_flags = ACK | TCP_F_PSH, c.payload_len = 10;
	send_pkt(w, &c, 0);
	r.tcp_flags = ACK, r.payload_len = 100;
	send_pkt(w, &r, 1);
	expect_counts(d, 1, 0, 0);
	c.tcp_flags = ACK | TCP_F_FIN, c.payload_len = 0;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	expect_counts(d, 0, 1, 0);
	r.tcp_flags = ACK | TCP_F_FIN, r.payload_len = 0;
	send_pkt(w, &r, 1);
	c.tcp_flags = ACK;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	expect_counts(d, 0, 1, 0);
	{
		union ulvs_addr ca = taddr(CLI), va = taddr("10.0.0.100");
		cn = conn_lookup(engine_conns(w->e), ULVS_AF_INET, 6, &ca, be16(40000), &va, be16(80),
				 &dir);
	}
	assert_non_null(cn);
	assert_true(cn->flags & CONN_F_INACTIVE);
	assert_int_equal(dir, CONN_DIR_IN);
	/* stats: 4 in, 3 out */
	assert_int_equal(d->stats.conns, 1);
	assert_int_equal(d->stats.inpkts, 5);
	assert_int_equal(d->stats.outpkts, 3);
	assert_int_equal(w->s[S_NAT]->stats.inpkts, 5);
	expire_all(w, 200);
	expect_counts(d, 0, 0, 0);
	assert_int_equal(conn_count(engine_conns(w->e)), 0);
	world_free(w);
}

/* VRRP backup for a VIP: nothing is forwarded, neither new connections
 * nor ones it already holds (from sync), until it is master again. */
static void test_standby(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct svc *s = w->s[S_NAT];
	struct tpkt c = from_client(CLI, 40100, "10.0.0.100", 80, 6, SYN);

	s->flags |= SVC_F_STANDBY;
	send_pkt(w, &c, 0);
	expect_drop(w, DROP_STANDBY);
	assert_int_equal(conn_count(engine_conns(w->e)), 0);
	s->flags &= ~SVC_F_STANDBY;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	assert_int_equal(conn_count(engine_conns(w->e)), 1);
	/* back to backup with a connection in the table: kept, not served */
	s->flags |= SVC_F_STANDBY;
	c.tcp_flags = ACK;
	send_pkt(w, &c, 0);
	expect_drop(w, DROP_STANDBY);
	assert_int_equal(conn_count(engine_conns(w->e)), 1);
	assert_int_equal(engine_stats(w->e)->drops[DROP_STANDBY], 2);
	s->flags &= ~SVC_F_STANDBY;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	world_free(w);
}

/* DR sees only the client's half: the input-only state table. */
static void test_counters_dr(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct dest *d = dest_of(w, S_DR, 0);
	struct tpkt c = from_client(CLI, 40000, "10.0.0.101", 80, 6, SYN);

	send_pkt(w, &c, 0);
	expect_counts(d, 0, 1, 0);
	c.tcp_flags = ACK;
	send_pkt(w, &c, 0);
	expect_counts(d, 1, 0, 0);
	c.tcp_flags = ACK | TCP_F_FIN;
	send_pkt(w, &c, 0);
	expect_counts(d, 0, 1, 0);
	c.tcp_flags = TCP_F_RST;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	expect_counts(d, 0, 1, 0);
	expire_all(w, 200);
	expect_counts(d, 0, 0, 0);
	world_free(w);
}

/* --- persistence ------------------------------------------------------------ */

static const union ulvs_addr *rs_of_last(struct world *w)
{
	static union ulvs_addr a;
	struct pkt_info pi;

	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	a = pi.t.daddr;
	return &a;
}

static void test_persistence(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt a = from_client("10.1.1.5", 40000, "10.0.0.104", 443, 6, SYN);
	struct tpkt a2 = from_client("10.1.1.5", 40001, "10.0.0.104", 443, 6, SYN);
	struct tpkt a_net = from_client("10.1.1.77", 50000, "10.0.0.104", 443, 6, SYN);
	struct tpkt b = from_client("10.1.2.5", 40000, "10.0.0.104", 443, 6, SYN);
	union ulvs_addr ra, rb, r;
	struct dest *d;
	unsigned persist = 0;

	send_pkt(w, &a, 0);
	expect_tx(w, 1);
	ra = *rs_of_last(w);
	send_pkt(w, &b, 0);
	expect_tx(w, 1);
	rb = *rs_of_last(w);
	assert_false(addr_eq(&ra, &rb)); /* rr: a different server for another /24 */
	/* same client, new connection, within the timeout: same server */
	w->now += 30 * SEC;
	send_pkt(w, &a2, 0);
	expect_tx(w, 1);
	r = *rs_of_last(w);
	assert_true(addr_eq(&r, &ra));
	/* another host of the same /24: same server (granularity) */
	send_pkt(w, &a_net, 0);
	expect_tx(w, 1);
	r = *rs_of_last(w);
	assert_true(addr_eq(&r, &ra));
	for (unsigned i = 0; i < 3; i++)
		persist += dest_of(w, S_PERSIST, i)->persistconns;
	assert_int_equal(persist, 2);
	/* Let connections and templates expire (virtual time), then the same
	 * client is scheduled afresh: rr gives the next server, not ra. */
	expire_all(w, 400);
	for (unsigned i = 0; i < 3; i++) {
		d = dest_of(w, S_PERSIST, i);
		expect_counts(d, 0, 0, 0);
	}
	assert_int_equal(conn_count(engine_conns(w->e)), 0);
	a.sport = 41000;
	send_pkt(w, &a, 0);
	expect_tx(w, 1);
	r = *rs_of_last(w);
	assert_false(addr_eq(&r, &ra));
	world_free(w);
}

/* A template whose server left the service is replaced (ip_vs_check_template);
 * with weight 0 it keeps sending (IPVS) unless expire_quiescent_template. */
static void test_persistence_dest_changes(void **state)
{
	(void)state;
	for (int eq = 0; eq < 2; eq++) {
		struct engine_params ep;
		memset(&ep, 0, sizeof(ep));
		ep.expire_quiescent_template = eq;
		struct world *w = world_new(&ep);
		struct tpkt a = from_client("10.1.1.5", 40000, "10.0.0.104", 443, 6, SYN);
		union ulvs_addr ra, r;
		struct dest *d = NULL;

		send_pkt(w, &a, 0);
		expect_tx(w, 1);
		ra = *rs_of_last(w);
		for (unsigned i = 0; i < 3; i++)
			if (addr_eq(&dest_of(w, S_PERSIST, i)->addr, &ra))
				d = dest_of(w, S_PERSIST, i);
		assert_non_null(d);
		d->weight = 0;
		a.sport = 40001;
		send_pkt(w, &a, 0);
		expect_tx(w, 1);
		r = *rs_of_last(w);
		assert_int_equal(addr_eq(&r, &ra), !eq);
		d->weight = 1;
		d->flags &= ~(uint32_t)DEST_F_AVAILABLE;
		a.sport = 40002;
		send_pkt(w, &a, 0);
		expect_tx(w, 1);
		r = *rs_of_last(w);
		assert_false(addr_eq(&r, &ra));
		world_free(w);
	}
}

/* Ports 80 and 443 marked 7 by a rule: one persistent fwmark service. */
static void test_fwmark(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt h = from_client(CLI, 40000, "10.0.0.105", 80, 6, SYN);
	struct tpkt s = from_client(CLI, 40001, "10.0.0.105", 443, 6, SYN);
	struct tpkt other = from_client(CLI, 40002, "10.0.0.105", 8080, 6, SYN);
	struct tpkt h2 = from_client("10.1.9.9", 40000, "10.0.0.105", 80, 6, SYN);
	union ulvs_addr r1, r2;
	struct pkt_info pi;

	send_pkt(w, &h, 0);
	expect_tx(w, 1);
	/* DR: the IP is untouched, the server is told by MAC */
	{
		struct tpkt want = rewritten(h, CLI, 40000, "10.0.0.105", 80, ETH1_MAC, RS11_MAC, 64);
		expect_frame(w, &want);
	}
	memcpy(r1.b, w->p.data, 6);
	send_pkt(w, &s, 0);
	expect_tx(w, 1);
	memcpy(r2.b, w->p.data, 6);
	assert_memory_equal(r1.b, r2.b, 6); /* same real server for 80 and 443 */
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	assert_int_equal(be16(pi.t.dport), 443);
	assert_int_equal(w->s[S_FWM]->stats.conns, 2);
	/* a port the rule does not mark is not the service's */
	send_pkt(w, &other, 0);
	assert_int_equal(w->v.kind, VERDICT_PASS);
	/* another client goes to the other server (rr) */
	send_pkt(w, &h2, 0);
	expect_tx(w, 1);
	memcpy(r2.b, w->p.data, 6);
	assert_memory_not_equal(r1.b, r2.b, 6);
	assert_int_equal(dest_of(w, S_FWM, 0)->persistconns + dest_of(w, S_FWM, 1)->persistconns, 2);
	world_free(w);
}

/* Port-zero persistent service: every port of the VIP sticks to one server,
 * and a real server without a port gets the packet's. */
static void test_port_zero(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt a = from_client(CLI, 40000, "10.0.0.112", 21, 6, SYN);
	struct tpkt b = from_client(CLI, 40001, "10.0.0.112", 20000, 6, SYN);
	struct pkt_info pi;
	union ulvs_addr r1;

	send_pkt(w, &a, 0);
	expect_tx(w, 1);
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	r1 = pi.t.daddr;
	assert_int_equal(be16(pi.t.dport), 21);
	send_pkt(w, &b, 0);
	expect_tx(w, 1);
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	assert_true(addr_eq(&pi.t.daddr, &r1));
	assert_int_equal(be16(pi.t.dport), 20000);
	world_free(w);
}

/* --- real-server state ------------------------------------------------------- */

static void test_quiesce(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt c1 = from_client(CLI, 40000, "10.0.0.109", 80, 6, SYN);
	struct dest *d0 = dest_of(w, S_QUIESCE, 0), *d1 = dest_of(w, S_QUIESCE, 1);

	send_pkt(w, &c1, 0);
	expect_tx(w, 1);
	assert_memory_equal(w->p.data, tmac(RS11_MAC).b, 6);
	d0->weight = 0;
	/* the existing connection continues to the quiesced server */
	c1.tcp_flags = ACK;
	send_pkt(w, &c1, 0);
	expect_tx(w, 1);
	assert_memory_equal(w->p.data, tmac(RS11_MAC).b, 6);
	/* new ones go elsewhere, every time */
	for (uint16_t i = 1; i <= 3; i++) {
		struct tpkt n = from_client(CLI, (uint16_t)(40000 + i), "10.0.0.109", 80, 6, SYN);
		send_pkt(w, &n, 0);
		expect_tx(w, 1);
		assert_memory_equal(w->p.data, tmac(RS12_MAC).b, 6);
	}
	expect_counts(d0, 1, 0, 0);
	expect_counts(d1, 0, 3, 0);
	/* nobody usable: no sorry server here -> no_dest */
	d1->weight = 0;
	struct tpkt n = from_client(CLI, 41000, "10.0.0.109", 80, 6, SYN);
	send_pkt(w, &n, 0);
	expect_drop(w, DROP_NO_DEST);
	world_free(w);
}

static void test_threshold(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct dest *d0 = dest_of(w, S_THRESH, 0), *d1 = dest_of(w, S_THRESH, 1);
	struct tpkt c[6];
	unsigned n0 = 0;

	/* rr alternates; d0 is overloaded at 2 connections (u_threshold) */
	for (uint16_t i = 0; i < 6; i++) {
		c[i] = from_client(CLI, (uint16_t)(30000 + i), "10.0.0.110", 80, 6, SYN);
		send_pkt(w, &c[i], 0);
		expect_tx(w, 1);
		n0 += !memcmp(w->p.data, tmac(RS11_MAC).b, 6);
	}
	assert_int_equal(n0, 2);
	assert_int_equal(d0->inactconns, 2);
	assert_int_equal(d1->inactconns, 4);
	assert_true(d0->flags & DEST_F_OVERLOAD);
	/* Once its connections expire (below l_threshold 1) the overload
	 * clears. */
	expire_all(w, 200);
	assert_int_equal(d0->inactconns, 0);
	assert_false(d0->flags & DEST_F_OVERLOAD);
	world_free(w);
}

/* IPVS ip_vs_in: a real server that left the service (not AVAILABLE) gets no
 * more packets; with expire_nodest_conn the connection goes and the packet
 * is scheduled again. */
static void test_nodest(void **state)
{
	(void)state;
	for (int ex = 0; ex < 2; ex++) {
		struct engine_params ep;
		memset(&ep, 0, sizeof(ep));
		ep.expire_nodest_conn = ex;
		struct world *w = world_new(&ep);
		struct dest *d0 = dest_of(w, S_QUIESCE, 0);
		struct tpkt u = from_client(CLI, 40000, "10.0.0.109", 80, 6, SYN);

		send_pkt(w, &u, 0);
		expect_tx(w, 1);
		expect_counts(d0, 0, 1, 0);
		d0->flags &= ~(uint32_t)DEST_F_AVAILABLE;
		u.tcp_flags = ACK;
		send_pkt(w, &u, 0);
		if (!ex) {
			expect_drop(w, DROP_NO_DEST);
			expect_counts(d0, 0, 1, 0);
		} else {
			/* rescheduled: a non-SYN cannot open a new connection */
			expect_drop(w, DROP_NOT_SYN);
			expect_counts(d0, 0, 0, 0);
			assert_int_equal(conn_count(engine_conns(w->e)), 0);
		}
		world_free(w);
	}
}

static void test_table_full(void **state)
{
	(void)state;
	struct engine_params ep;
	memset(&ep, 0, sizeof(ep));
	ep.conn_capacity = 2;
	struct world *w = world_new(&ep);
	struct tpkt c0 = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
	struct tpkt c1 = from_client(CLI, 40001, "10.0.0.100", 80, 6, SYN);
	struct tpkt c2 = from_client(CLI, 40002, "10.0.0.100", 80, 6, SYN);

	send_pkt(w, &c0, 0);
	expect_tx(w, 1);
	send_pkt(w, &c1, 0);
	expect_tx(w, 1);
	send_pkt(w, &c2, 0);
	expect_drop(w, DROP_CONN_TABLE_FULL);
	/* existing connections are untouched */
	c0.tcp_flags = ACK;
	c0.ack = 2000;
	send_pkt(w, &c0, 0);
	expect_tx(w, 1);
	expect_frame(w, &(struct tpkt){ .src = CLI, .dst = "192.168.1.11", .proto = 6,
					.sport = 40000, .dport = 8080, .tcp_flags = ACK, .seq = 1000,
					.ack = 2000, .ttl = 63, .ip_id = 0x1234,
					.smac = tmac(ETH1_MAC), .dmac = tmac(RS11_MAC) });
	assert_int_equal(dest_of(w, S_NAT, 0)->activeconns + dest_of(w, S_NAT, 0)->inactconns +
				 dest_of(w, S_NAT, 1)->activeconns + dest_of(w, S_NAT, 1)->inactconns,
			 2);
	world_free(w);
}

/* A table big enough for the batch prefetch passes (engine_process
 * prefetches entries and second chain nodes from ULVS_PREFETCH_MIN_CONNS
 * connections on): every connection opened in batches of 64 is found again
 * by its client's ACK and its real server's reply, in batches too.  Under
 * ASan this is what runs those passes over long chains. */
#define BIG_BATCH 64
static void send_batch(struct world *w, struct pkt *p, struct verdict *v, unsigned n)
{
	assert_int_equal(engine_process(w->e, p, v, n, w->now), n);
	for (unsigned k = 0; k < n; k++)
		if (v[k].kind != VERDICT_TX)
			fail_msg("frame %u of a batch: verdict %u reason %s", k, v[k].kind,
				 drop_reason_name((enum drop_reason)v[k].reason));
}

static void test_big_table_batches(void **state)
{
	(void)state;
	const unsigned N = ULVS_PREFETCH_MIN_CONNS + 1000;
	struct engine_params ep;
	memset(&ep, 0, sizeof(ep));
	ep.conn_capacity = N + 64;
	struct world *w = world_new(&ep);
	static uint8_t bufs[BIG_BATCH][512];
	struct pkt p[BIG_BATCH];
	struct verdict v[BIG_BATCH];
	uint8_t *rs = calloc(N, 1);     /* last octet of conn i's real server */

	assert_non_null(rs);
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned base = 0; base < N; base += BIG_BATCH) {
			unsigned n = N - base < BIG_BATCH ? N - base : BIG_BATCH;
			for (unsigned k = 0; k < n; k++) {
				uint16_t port = (uint16_t)(10000 + base + k);
				char rsa[16];
				struct tpkt t;
				snprintf(rsa, sizeof(rsa), "192.168.1.%u", rs[base + k]);
				if (pass < 2)
					t = from_client(CLI, port, "10.0.0.100", 80, 6,
							pass == 0 ? SYN : ACK);
				else
					t = from_rs(rsa, rs[base + k] == 11 ? RS11_MAC : RS12_MAC,
						    8080, CLI, port, 6, ACK);
				tpkt_build(&p[k], bufs[k], sizeof(bufs[k]), &t);
				p[k].ifindex = pass < 2 ? 0 : 1;
			}
			send_batch(w, p, v, n);
			for (unsigned k = 0; k < n; k++) {
				const uint8_t *ip = p[k].data + 14;
				if (pass == 0) {
					rs[base + k] = ip[19];   /* where it was scheduled */
					assert_true(ip[19] == 11 || ip[19] == 12);
				} else if (pass == 1) {
					assert_int_equal(ip[19], rs[base + k]);
				} else {
					assert_int_equal(v[k].iface, 0);
					static const uint8_t vip[4] = { 10, 0, 0, 100 };
					assert_memory_equal(ip + 12, vip, 4);
				}
			}
		}
		assert_int_equal(conn_count(engine_conns(w->e)), N);
	}
	free(rs);
	world_free(w);
}

static void test_sorry_local_flow(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt c = from_client(CLI, 40000, "10.0.0.103", 80, 6, SYN);

	send_pkt(w, &c, 0);
	assert_int_equal(w->v.kind, VERDICT_PASS);
	/* the rest of the flow reaches the kernel too, not not_syn */
	c.tcp_flags = ACK;
	send_pkt(w, &c, 0);
	assert_int_equal(w->v.kind, VERDICT_PASS);
	assert_int_equal(engine_stats(w->e)->sorry_used, 1);
	world_free(w);
}

/* conn_reuse_mode: a SYN reusing the tuple of a connection in TIME_WAIT is
 * scheduled afresh; without it the old connection carries it on. */
static void test_conn_reuse(void **state)
{
	(void)state;
	for (int reuse = 0; reuse < 2; reuse++) {
		struct engine_params ep;
		memset(&ep, 0, sizeof(ep));
		ep.conn_reuse_mode = reuse;
		struct world *w = world_new(&ep);
		struct tpkt c = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
		struct tpkt r = from_rs("192.168.1.11", RS11_MAC, 8080, CLI, 40000, 6, SYNACK);
		struct conn *cn;
		enum conn_dir dir;
		union ulvs_addr ca = taddr(CLI), va = taddr("10.0.0.100");

		send_pkt(w, &c, 0);
		expect_tx(w, 1);
		assert_memory_equal(w->p.data, tmac(RS11_MAC).b, 6);
		send_pkt(w, &r, 1);
		c.tcp_flags = ACK;
		send_pkt(w, &c, 0);
		c.tcp_flags = ACK | TCP_F_FIN;
		send_pkt(w, &c, 0);
		r.tcp_flags = ACK | TCP_F_FIN;
		send_pkt(w, &r, 1);
		expect_tx(w, 0);
		cn = conn_lookup(engine_conns(w->e), ULVS_AF_INET, 6, &ca, be16(40000), &va, be16(80),
				 &dir);
		assert_non_null(cn);
		assert_int_equal(cn->state, CS_TIME_WAIT);
		c.tcp_flags = SYN;
		send_pkt(w, &c, 0);
		expect_tx(w, 1);
		/* rescheduled by rr: the other server */
		assert_memory_equal(w->p.data, tmac(reuse ? RS12_MAC : RS11_MAC).b, 6);
		expect_counts(dest_of(w, S_NAT, 0), 0, !reuse, 0);
		expect_counts(dest_of(w, S_NAT, 1), 0, reuse, 0);
		world_free(w);
	}
}

/* --- MTU ------------------------------------------------------------------ */

/* A DF packet larger than the egress MTU is answered with frag-needed from
 * the VIP, quoting the packet, back to the client's router. */
static void test_too_big(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt c = from_client(CLI, 40000, "10.0.0.111", 80, 6, SYN);
	struct pkt_info pi;
	const uint8_t *icmp;

	c.frag = 0x4000; /* DF */
	c.payload_len = 1200;
	send_pkt(w, &c, 0);
	expect_tx(w, 0);
	assert_int_equal(engine_stats(w->e)->icmp_too_big_sent, 1);
	assert_memory_equal(w->p.data, tmac(GW_MAC).b, 6);
	assert_memory_equal(w->p.data + 6, tmac(ETH0_MAC).b, 6);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	assert_int_equal(w->p.len, 14 + 576);
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	assert_true(pi.flags & PKT_F_ICMP_ERR);
	assert_int_equal(pi.icmp_type, 3);
	assert_int_equal(pi.icmp_code, 4);
	{
		union ulvs_addr vip = taddr("10.0.0.111"), cli = taddr(CLI);
		assert_true(addr_eq(&pi.t.saddr, &vip));
		assert_true(addr_eq(&pi.t.daddr, &cli));
	}
	assert_int_equal(be16(pi.inner.dport), 80);
	assert_int_equal(be16(pi.inner.sport), 40000);
	icmp = w->p.data + pi.l4_off;
	assert_int_equal(icmp[6] << 8 | icmp[7], 1000);
	/* without DF: dropped, we never fragment */
	c.frag = 0;
	send_pkt(w, &c, 0);
	expect_drop(w, DROP_TOO_BIG);
	world_free(w);
}

/* --- ICMP errors ---------------------------------------------------------------- */

/* Build an ICMP(v6) error frame from outer src to dst carrying (type, code,
 * 4-byte rest) and quoting the first qlen bytes of the IP packet in q. */
static void build_icmp_err(struct pkt *p, uint8_t *buf, const char *src, const char *dst,
			   const char *smac, const char *dmac, uint8_t ttl, uint8_t type,
			   uint8_t code, uint32_t rest, const struct tpkt *quoted, size_t qlen)
{
	static uint8_t qbuf[BUFSZ];
	struct pkt q;
	bool v6 = strchr(src, ':');
	uint8_t *f = buf + ULVS_HEADROOM, *ip = f + 14, *ic;
	union ulvs_addr sa = taddr(src), da = taddr(dst);
	size_t hl = v6 ? 40 : 20, l4len;
	struct ulvs_mac sm = tmac(smac), dm = tmac(dmac);

	tpkt_build(&q, qbuf, sizeof(qbuf), quoted);
	if (qlen > q.len - 14)
		qlen = q.len - 14;
	memset(buf, 0, BUFSZ);
	memcpy(f, dm.b, 6);
	memcpy(f + 6, sm.b, 6);
	f[12] = v6 ? 0x86 : 0x08, f[13] = v6 ? 0xdd : 0x00;
	ic = ip + hl;
	l4len = 8 + qlen;
	ic[0] = type, ic[1] = code;
	ic[4] = (uint8_t)(rest >> 24), ic[5] = (uint8_t)(rest >> 16);
	ic[6] = (uint8_t)(rest >> 8), ic[7] = (uint8_t)rest;
	memcpy(ic + 8, q.data + 14, qlen);
	if (v6) {
		uint32_t s = 0;
		ip[0] = 0x60;
		ip[4] = (uint8_t)(l4len >> 8), ip[5] = (uint8_t)l4len;
		ip[6] = 58, ip[7] = ttl;
		memcpy(ip + 8, sa.b, 16);
		memcpy(ip + 24, da.b, 16);
		s = tcsum_add(sa.b, 16, s);
		s = tcsum_add(da.b, 16, s);
		s += 58 + (uint32_t)l4len;
		uint16_t c = tcsum_fold(tcsum_add(ic, l4len, s));
		ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	} else {
		size_t tot = 20 + l4len;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[8] = ttl, ip[9] = 1;
		memcpy(ip + 12, &sa.ip, 4);
		memcpy(ip + 16, &da.ip, 4);
		uint16_t c = tcsum_fold(tcsum_add(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
		c = tcsum_fold(tcsum_add(ic, l4len, 0));
		ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	}
	p->buf = buf;
	p->data = f;
	p->len = (uint32_t)(14 + hl + l4len);
	p->buf_size = BUFSZ;
	p->ifindex = 0;
	p->mark = 0;
}

static void expect_icmp_frame(struct world *w, const char *src, const char *dst, const char *smac,
			      const char *dmac, uint8_t ttl, uint8_t type, uint8_t code,
			      uint32_t rest, const struct tpkt *quoted, size_t qlen)
{
	static uint8_t ebuf[BUFSZ];
	struct pkt ep;

	build_icmp_err(&ep, ebuf, src, dst, smac, dmac, ttl, type, code, rest, quoted, qlen);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	assert_int_equal(w->p.len, ep.len);
	if (memcmp(w->p.data, ep.data, ep.len)) {
		dump_diff(w->p.data, ep.data, ep.len);
		fail_msg("ICMP frame differs from the golden one");
	}
}

/* (a) frag-needed from a router on the client side, to the VIP, about a
 * reply the real server sent (VIP:80 -> client): NAT sends it on to the
 * real server with the quote as the real server sent it. */
static void test_icmp_nat_in(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
	struct tpkt quoted = from_client("10.0.0.100", 80, CLI, 40000, 6, ACK);
	struct tpkt want = from_client("192.168.1.11", 8080, CLI, 40000, 6, ACK);

	quoted.payload_len = want.payload_len = 1400;
	quoted.ttl = want.ttl = 60;
	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	/* a full quote (TCP checksum inside) and an 8-byte one */
	for (size_t ql = 0; ql < 2; ql++) {
		size_t qlen = ql ? 28 : 548;
		build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.100", GW_MAC, ETH0_MAC, 64, 3, 4,
			       1400, &quoted, qlen);
		send_frame(w, 0);
		expect_tx(w, 1);
		expect_icmp_frame(w, "10.0.0.1", "192.168.1.11", ETH1_MAC, RS11_MAC, 63, 3, 4, 1400,
				  &want, qlen);
	}
	assert_int_equal(engine_stats(w->e)->icmp_translated, 2);
	/* untracked: a quote of a connection we do not know */
	quoted.dport = 40999;
	build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.100", GW_MAC, ETH0_MAC, 64, 3, 4, 1400,
		       &quoted, 548);
	send_frame(w, 0);
	expect_drop(w, DROP_ICMP_UNTRACKED);
	/* to somebody else entirely: the kernel's business */
	quoted.src = "10.0.0.77";
	build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.77", GW_MAC, ETH0_MAC, 64, 3, 4, 1400,
		       &quoted, 548);
	send_frame(w, 0);
	assert_int_equal(w->v.kind, VERDICT_PASS);
	world_free(w);
}

/* (b) an error from the real server's side about a packet we sent it
 * (client -> RIP:8080) goes back to the client from the VIP, quoting
 * client -> VIP:80. */
static void test_icmp_nat_out(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);
	struct tpkt quoted = from_client(CLI, 40000, "192.168.1.11", 8080, 6, SYN);
	struct tpkt want = from_client(CLI, 40000, "10.0.0.100", 80, 6, SYN);

	quoted.ttl = want.ttl = 63;
	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	build_icmp_err(&w->p, w->buf, "192.168.1.11", CLI, RS11_MAC, ETH1_MAC, 64, 3, 3, 0,
		       &quoted, 1000);
	send_frame(w, 1);
	expect_tx(w, 0);
	expect_icmp_frame(w, "10.0.0.100", CLI, ETH0_MAC, GW_MAC, 63, 3, 3, 0, &want, 1000);
	world_free(w);
}

static void test_icmp6_nat(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI6, 40000, "2001:db8::100", 80, 6, SYN);
	struct tpkt quoted = from_client("2001:db8::100", 80, CLI6, 40000, 6, ACK);
	struct tpkt want = from_client("fd00:1::11", 8080, CLI6, 40000, 6, ACK);
	struct tpkt q_out = from_client(CLI6, 40000, "fd00:1::11", 8080, 6, SYN);
	struct tpkt w_out = from_client(CLI6, 40000, "2001:db8::100", 80, 6, SYN);

	quoted.payload_len = want.payload_len = 1300;
	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	/* packet too big from the client side, to the VIP */
	build_icmp_err(&w->p, w->buf, "2001:db8:0:ff::1", "2001:db8::100", GW_MAC, ETH0_MAC, 64, 2,
		       0, 1280, &quoted, 1232);
	send_frame(w, 0);
	expect_tx(w, 1);
	expect_icmp_frame(w, "2001:db8:0:ff::1", "fd00:1::11", ETH1_MAC, RS6A_MAC, 63, 2, 0, 1280,
			  &want, 1232);
	/* unreachable from the server side */
	build_icmp_err(&w->p, w->buf, "fd00:1::11", CLI6, RS6A_MAC, ETH1_MAC, 64, 1, 4, 0, &q_out,
		       200);
	send_frame(w, 1);
	expect_tx(w, 0);
	expect_icmp_frame(w, "2001:db8::100", CLI6, ETH0_MAC, GW_MAC, 63, 1, 4, 0, &w_out, 200);
	world_free(w);
}

/* DR: the error goes to the real server unchanged but for the MACs. */
static void test_icmp_dr(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI, 40000, "10.0.0.101", 80, 6, SYN);
	struct tpkt quoted = from_client("10.0.0.101", 80, CLI, 40000, 6, ACK);

	quoted.payload_len = 1400;
	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.101", GW_MAC, ETH0_MAC, 64, 3, 4, 1400,
		       &quoted, 548);
	send_frame(w, 0);
	expect_tx(w, 1);
	expect_icmp_frame(w, "10.0.0.1", "10.0.0.101", ETH1_MAC, RS11_MAC, 64, 3, 4, 1400, &quoted,
			  548);
	world_free(w);
}

/* TUN: an error to the VIP is tunnelled to the real server as it came. */
static void test_icmp_tun(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI, 40000, "10.0.0.113", 80, 6, SYN);
	struct tpkt quoted = from_client("10.0.0.113", 80, CLI, 40000, 6, ACK);
	static uint8_t ebuf[BUFSZ];
	struct pkt ep, inner;
	const uint8_t *ip;

	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.113", GW_MAC, ETH0_MAC, 64, 3, 4, 1400,
		       &quoted, 548);
	build_icmp_err(&ep, ebuf, "10.0.0.1", "10.0.0.113", GW_MAC, ETH0_MAC, 64, 3, 4, 1400,
		       &quoted, 548);
	inner = ep;
	send_frame(w, 0);
	expect_tx(w, 1);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	assert_memory_equal(w->p.data, tmac(RS12_MAC).b, 6);
	assert_int_equal(w->p.len, inner.len + 20);
	ip = w->p.data + 14;
	assert_int_equal(ip[9], 4); /* IP-in-IP */
	assert_memory_equal(ip + 12, &(uint32_t){ taddr("192.168.1.254").ip }, 4);
	assert_memory_equal(ip + 16, &(uint32_t){ taddr("192.168.1.12").ip }, 4);
	assert_memory_equal(ip + 20, inner.data + 14, inner.len - 14);
	world_free(w);
}

/* FULLNAT: errors both ways, translated between the client's view
 * (client <-> VIP) and the server's (laddr:lport <-> RIP:rport). */
static void test_icmp_fnat(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt syn = from_client(CLI, 40000, "10.0.0.114", 80, 6, SYN);
	struct pkt_info pi;
	uint16_t lport;

	send_pkt(w, &syn, 0);
	expect_tx(w, 1);
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	{
		union ulvs_addr la = taddr("192.168.1.200"), ra = taddr("192.168.1.13");
		assert_true(addr_eq(&pi.t.saddr, &la));
		assert_true(addr_eq(&pi.t.daddr, &ra));
	}
	lport = be16(pi.t.sport);

	/* (a) client side: frag-needed to the VIP about VIP:80 -> client */
	{
		struct tpkt quoted = from_client("10.0.0.114", 80, CLI, 40000, 6, ACK);
		struct tpkt want = from_client("192.168.1.13", 8080, "192.168.1.200", lport, 6, ACK);
		quoted.payload_len = want.payload_len = 1400;
		build_icmp_err(&w->p, w->buf, "10.0.0.1", "10.0.0.114", GW_MAC, ETH0_MAC, 64, 3, 4,
			       1400, &quoted, 548);
		send_frame(w, 0);
		expect_tx(w, 1);
		expect_icmp_frame(w, "192.168.1.200", "192.168.1.13", ETH1_MAC, RS13_MAC, 63, 3, 4,
				  1400, &want, 548);
	}
	/* (b) server side: unreachable to laddr about laddr:lport -> RIP:8080 */
	{
		struct tpkt quoted = from_client("192.168.1.200", lport, "192.168.1.13", 8080, 6, SYN);
		struct tpkt want = from_client(CLI, 40000, "10.0.0.114", 80, 6, SYN);
		build_icmp_err(&w->p, w->buf, "192.168.1.13", "192.168.1.200", RS13_MAC, ETH1_MAC, 64,
			       3, 3, 0, &quoted, 100);
		send_frame(w, 1);
		expect_tx(w, 0);
		expect_icmp_frame(w, "10.0.0.114", CLI, ETH0_MAC, GW_MAC, 63, 3, 3, 0, &want, 100);
	}
	world_free(w);
}

/* FULLNAT TOA policy: on client ACKs until the real server has sent
 * something other than its SYN-ACK. */
static void test_fnat_toa_policy(void **state)
{
	(void)state;
	struct world *w = world_new(NULL);
	struct tpkt c = from_client(CLI, 40000, "10.0.0.114", 80, 6, SYN);
	struct tpkt r = from_rs("192.168.1.13", RS13_MAC, 8080, "192.168.1.200", 0, 6, SYNACK);
	const struct engine_stats *st = engine_stats(w->e);
	struct pkt_info pi;
	uint32_t len;

	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	assert_int_equal(pkt_parse(&w->p, &pi), PARSE_OK);
	r.dport = be16(pi.t.sport);
	send_pkt(w, &r, 1);
	expect_tx(w, 0);
	c.tcp_flags = ACK, c.ack = 2000;
	len = (uint32_t)tpkt_build(&w->p, w->buf, sizeof(w->buf), &c);
	send_frame(w, 0);
	expect_tx(w, 1);
	assert_int_equal(w->p.len, len + 8);
	assert_int_equal(tpkt_verify_csums(w->p.data, w->p.len), 0);
	assert_int_equal(st->toa_inserted, 1);
	/* the client's first data, server still silent: offered again */
	c.tcp_flags = ACK | TCP_F_PSH, c.payload_len = 10;
	send_pkt(w, &c, 0);
	expect_tx(w, 1);
	assert_int_equal(st->toa_inserted, 2);
	/* the server answers; from now on no option */
	r.tcp_flags = ACK, r.payload_len = 5;
	send_pkt(w, &r, 1);
	expect_tx(w, 0);
	len = (uint32_t)tpkt_build(&w->p, w->buf, sizeof(w->buf), &c);
	send_frame(w, 0);
	expect_tx(w, 1);
	assert_int_equal(w->p.len, len);
	assert_int_equal(st->toa_inserted, 2);
	world_free(w);
}

static void test_drop_names(void **state)
{
	(void)state;
	for (int r = 0; r < DROP_REASON_MAX; r++) {
		const char *n = drop_reason_name((enum drop_reason)r);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int q = 0; q < r; q++)
			assert_string_not_equal(n, drop_reason_name((enum drop_reason)q));
	}
	assert_string_equal(drop_reason_name(DROP_REASON_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_udp_zero_csum),
		cmocka_unit_test(test_parse_failures),
		cmocka_unit_test(test_counters_open_close),
		cmocka_unit_test(test_standby),
		cmocka_unit_test(test_counters_dr),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_persistence_dest_changes),
		cmocka_unit_test(test_fwmark),
		cmocka_unit_test(test_port_zero),
		cmocka_unit_test(test_quiesce),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_nodest),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_big_table_batches),
		cmocka_unit_test(test_sorry_local_flow),
		cmocka_unit_test(test_conn_reuse),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_icmp_nat_in),
		cmocka_unit_test(test_icmp_nat_out),
		cmocka_unit_test(test_icmp6_nat),
		cmocka_unit_test(test_icmp_dr),
		cmocka_unit_test(test_icmp_tun),
		cmocka_unit_test(test_icmp_fnat),
		cmocka_unit_test(test_fnat_toa_policy),
		cmocka_unit_test(test_drop_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
