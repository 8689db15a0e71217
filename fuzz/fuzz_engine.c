/* libFuzzer harness for the packet engine.
 *
 * A small world - NAT, DR, TUN and FULLNAT services (IPv4 and IPv6, one
 * persistent, one firewall-mark), a sorry server, a fib with routes and
 * neighbours - and the fuzz input fed to engine_process() two ways:
 *   1. the whole input as one Ethernet frame;
 *   2. a sequence of records, each
 *        len(2, big endian) dt(1) flags(1) sel(1) frame(len)
 *      dt advances the clock by dt * 250 ms (so timeouts, persistence and
 *      expiry run); frames between clock steps go in one batch.  flags ask
 *      the harness to help the fuzzer past what it cannot guess: point the
 *      destination at a VIP / local address (and the source at a real server
 *      for replies) chosen by sel, and recompute the IPv4 header and
 *      transport checksums, so most records reach connection tracking.
 * Oracles, besides the sanitizers: every verdict is in range; a transmitted
 * frame lies inside its buffer and parses cleanly; and after every batch
 * each real server's active/inactive/persistent counters equal a recount of
 * the connection table by flags - the bookkeeping IPVS users read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/packet.h"
#include "core/service.h"

#define BUF_SIZE 2048
#define MAX_FRAME (BUF_SIZE - ULVS_HEADROOM)
#define BATCH 8

static struct fib g_fib;
static struct svc_table *g_svcs;

static const char *const vips4[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
				     "10.0.0.5", "10.0.0.6", "10.0.9.1" };
static const char *const vips6[] = { "2001:db8::1", "2001:db8::2", "2001:db8::3",
				     "2001:db8::4", "2001:db8::9" };
static const char *const rss4[] = { "192.168.1.11", "192.168.1.12", "192.168.1.13",
				    "192.168.2.11" };
static const char *const rss6[] = { "fd00::11", "fd00::12", "fd00::13" };
static const char *const clients4[] = { "10.1.0.5", "10.1.0.6", "10.1.2.7" };
static const char *const clients6[] = { "2001:db8:c::5", "2001:db8:c::6" };

static union ulvs_addr A(const char *s)
{
	union ulvs_addr a;
	enum ulvs_af af;

	if (addr_parse(s, &af, &a))
		abort();
	return a;
}

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

static void must(int r)
{
	if (r < 0)
		abort();
}

static struct svc *svc(const char *vip, uint8_t proto, uint16_t port, uint32_t mark,
		       uint32_t flags, const char *sched)
{
	struct svc t, *s;

	memset(&t, 0, sizeof(t));
	t.af = strchr(vip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	if (mark) {
		t.fwmark = mark;
	} else {
		t.addr = A(vip);
		t.proto = proto;
		t.port = be16(port);
	}
	t.flags = flags;
	t.timeout = 30;
	t.netmask = 24;
	must(svc_add(g_svcs, &t, sched, &s));
	return s;
}

static void rs(struct svc *s, const char *addr, uint16_t port, enum fwd_method fwd,
	       uint32_t uthresh)
{
	struct dest d;

	memset(&d, 0, sizeof(d));
	d.addr = A(addr);
	d.af = strchr(addr, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	d.port = be16(port);
	d.fwd = (uint8_t)fwd;
	d.weight = 1;
	d.u_threshold = uthresh;
	d.flags = DEST_F_AVAILABLE;
	must(svc_add_dest(g_svcs, s, &d, NULL));
}

static void route(const char *p, unsigned plen, const char *gw, uint16_t ifc)
{
	union ulvs_addr pa = A(p), g;

	memset(&g, 0, sizeof(g));
	if (gw)
		g = A(gw);
	must(fib_add_route(&g_fib, strchr(p, ':') ? ULVS_AF_INET6 : ULVS_AF_INET, &pa, plen, &g,
			   ifc));
}

static void neigh(const char *a, uint8_t last, uint16_t ifc)
{
	union ulvs_addr x = A(a);
	struct ulvs_mac m = { { 2, 0, 0, 0, (uint8_t)ifc, last } };

	must(fib_add_neigh(&g_fib, strchr(a, ':') ? ULVS_AF_INET6 : ULVS_AF_INET, &x, &m, ifc));
}

static void world_init(void)
{
	struct ulvs_mac m0 = { { 2, 0, 0, 0, 0, 1 } }, m1 = { { 2, 0, 0, 0, 1, 1 } };
	struct svc *s;
	union ulvs_addr la;

	fib_init(&g_fib);
	must(fib_add_iface(&g_fib, "eth0", &m0, 1500, 0));
	must(fib_add_iface(&g_fib, "eth1", &m1, 1400, 0));
	g_fib.ifaces[0].addr4 = A("10.0.0.254");
	g_fib.ifaces[0].has_addr4 = 1;
	g_fib.ifaces[1].addr4 = A("192.168.1.254");
	g_fib.ifaces[1].has_addr4 = 1;
	g_fib.ifaces[1].addr6 = A("fd00::fe");
	g_fib.ifaces[1].has_addr6 = 1;
	route("10.1.0.0", 16, "10.0.0.100", 0);
	route("2001:db8:c::", 48, "2001:db8::ff", 0);
	route("192.168.1.0", 24, NULL, 1);
	route("192.168.2.0", 24, "192.168.1.1", 1);
	route("fd00::", 64, NULL, 1);
	neigh("10.0.0.100", 0xaa, 0);
	neigh("2001:db8::ff", 0xaa, 0);
	neigh("192.168.1.11", 0x11, 1);
	neigh("192.168.1.12", 0x12, 1);
	neigh("192.168.1.13", 0x13, 1);
	neigh("192.168.1.1", 0x01, 1);
	neigh("fd00::11", 0x11, 1);
	neigh("fd00::12", 0x12, 1);

	g_svcs = svc_table_new();
	if (!g_svcs)
		abort();
	s = svc("10.0.0.1", 6, 80, 0, 0, "rr");
	rs(s, "192.168.1.11", 8080, FWD_NAT, 0);
	rs(s, "192.168.1.12", 8080, FWD_NAT, 3);
	s = svc("10.0.0.2", 6, 80, 0, 0, "wlc");
	rs(s, "192.168.1.11", 80, FWD_DR, 0);
	rs(s, "192.168.1.13", 81, FWD_DR, 0); /* port mismatch: refused */
	s = svc("10.0.0.3", 6, 80, 0, 0, "rr");
	rs(s, "192.168.1.12", 80, FWD_TUN, 0);
	rs(s, "192.168.2.11", 80, FWD_TUN, 0);
	s = svc("10.0.0.4", 6, 80, 0, 0, "rr");
	rs(s, "192.168.1.13", 8080, FWD_FNAT, 0);
	la = A("192.168.1.200");
	must(svc_add_laddr(s, ULVS_AF_INET, &la, 1));
	s = svc("10.0.0.5", 17, 53, 0, SVC_F_PERSISTENT, "rr");
	rs(s, "192.168.1.11", 5353, FWD_NAT, 0);
	rs(s, "192.168.1.12", 5353, FWD_NAT, 0);
	s = svc("10.0.0.6", 6, 0, 0, SVC_F_PERSISTENT, "sh");
	rs(s, "192.168.1.11", 0, FWD_NAT, 0);
	{
		struct dest so;
		memset(&so, 0, sizeof(so));
		so.addr = A("127.0.0.1");
		so.af = ULVS_AF_INET;
		so.fwd = FWD_LOCAL;
		so.weight = 1;
		so.flags = DEST_F_AVAILABLE;
		must(svc_set_sorry(g_svcs, s, &so));
	}
	s = svc("10.0.9.1", 0, 0, 9, SVC_F_PERSISTENT, "rr");
	rs(s, "192.168.1.11", 0, FWD_DR, 0);
	rs(s, "192.168.1.12", 0, FWD_DR, 0);
	{
		struct mark_rule r;
		memset(&r, 0, sizeof(r));
		r.af = ULVS_AF_INET;
		r.prefix = A("10.0.9.0");
		r.plen = 24;
		r.n_ports = 2;
		r.port_lo[0] = 80, r.port_hi[0] = 80;
		r.port_lo[1] = 440, r.port_hi[1] = 450;
		r.mark = 9;
		must(svc_add_mark_rule(g_svcs, &r));
	}
	s = svc("2001:db8::1", 6, 80, 0, 0, "rr");
	rs(s, "fd00::11", 8080, FWD_NAT, 0);
	s = svc("2001:db8::2", 6, 80, 0, 0, "rr");
	rs(s, "fd00::12", 80, FWD_DR, 0);
	s = svc("2001:db8::3", 6, 80, 0, 0, "rr");
	rs(s, "fd00::11", 80, FWD_TUN, 0);
	s = svc("2001:db8::4", 17, 53, 0, 0, "rr");
	rs(s, "fd00::12", 53, FWD_FNAT, 0);
	la = A("fd00::200");
	must(svc_add_laddr(s, ULVS_AF_INET6, &la, 1));
	for (uint32_t i = 0; i < g_svcs->n_svcs; i++)
		must(svc_commit(g_svcs, &g_svcs->svcs[i]));
}

/* Each input starts from the same table: worker-owned counters back to 0. */
static void world_reset(void)
{
	for (uint32_t i = 0; i < g_svcs->n_dests; i++) {
		struct dest *d = &g_svcs->dests[i];
		d->activeconns = d->inactconns = d->persistconns = 0;
		d->flags &= ~(uint32_t)DEST_F_OVERLOAD;
		memset(&d->stats, 0, sizeof(d->stats));
		d->sched_aux = 0;
	}
	for (uint32_t i = 0; i < g_svcs->n_svcs; i++) {
		struct svc *s = &g_svcs->svcs[i];
		memset(&s->stats, 0, sizeof(s->stats));
		s->sched_cursor = 0;
		svc_commit(g_svcs, s);
	}
}

/* --- oracles --------------------------------------------------------------- */

static uint32_t cnt[ULVS_MAX_DESTS][3];

static int recount_cb(void *arg, const struct conn *c)
{
	(void)arg;
	if (c->dest_id >= g_svcs->n_dests)
		abort();
	cnt[c->dest_id][(c->flags & CONN_F_TEMPLATE) ? 2 : (c->flags & CONN_F_INACTIVE) ? 1 : 0]++;
	return 0;
}

static void check_counters(struct engine *e)
{
	memset(cnt, 0, sizeof(cnt[0]) * g_svcs->n_dests);
	conn_foreach(engine_conns(e), recount_cb, NULL);
	for (uint32_t i = 0; i < g_svcs->n_dests; i++) {
		const struct dest *d = &g_svcs->dests[i];
		if (d->activeconns != cnt[i][0] || d->inactconns != cnt[i][1] ||
		    d->persistconns != cnt[i][2])
			abort();
	}
}

static void check_verdicts(const struct pkt *p, const struct verdict *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct pkt_info pi;

		if (v[i].kind > VERDICT_TX || v[i].reason >= DROP_REASON_MAX)
			abort();
		if (v[i].kind != VERDICT_DROP && v[i].reason != DROP_NONE)
			abort();
		if (v[i].kind != VERDICT_TX)
			continue;
		if (v[i].iface >= g_fib.n_ifaces)
			abort();
		if (p[i].data < p[i].buf || p[i].data + p[i].len > p[i].buf + p[i].buf_size)
			abort();
		/* Whatever we send must be a frame we would accept ourselves. */
		if (pkt_parse(&p[i], &pi) != PARSE_OK)
			abort();
	}
}

/* --- input decoding ------------------------------------------------------------ */

static uint8_t bufs[BATCH][BUF_SIZE];

static void load(struct pkt *p, uint8_t *buf, const uint8_t *d, size_t n, uint16_t ifc)
{
	memset(buf, 0, ULVS_HEADROOM);
	memcpy(buf + ULVS_HEADROOM, d, n);
	p->buf = buf;
	p->data = buf + ULVS_HEADROOM;
	p->len = (uint32_t)n;
	p->buf_size = BUF_SIZE;
	p->ifindex = ifc;
	p->mark = 0;
}

/* Help the fuzzer: aim the frame at one of our addresses and fix checksums.
 * Only bytes inside the frame are touched. */
static void assist(struct pkt *p, uint8_t flags, uint8_t sel)
{
	uint8_t *f = p->data, *ip;
	uint32_t len = p->len, off = 14, hl, tot;
	bool v6;

	if (len < 14)
		return;
	if (f[12] == 0x81 && f[13] == 0x00)
		off = 18;
	if (len < off + 40)
		return;
	ip = f + off;
	v6 = (ip[0] >> 4) == 6;
	if (flags & 0x04) {
		union ulvs_addr d, s;
		bool reply = flags & 0x10;
		if (v6) {
			d = A(reply ? clients6[sel % 2] : vips6[sel % 5]);
			s = A(reply ? rss6[(sel >> 3) % 3] : clients6[(sel >> 3) % 2]);
			if (reply && (sel & 0x80))
				d = A("fd00::200");
			memcpy(ip + 24, d.b, 16);
			memcpy(ip + 8, s.b, 16);
		} else {
			d = A(reply ? clients4[sel % 3] : vips4[sel % 7]);
			s = A(reply ? rss4[(sel >> 3) % 4] : clients4[(sel >> 3) % 3]);
			if (reply && (sel & 0x80))
				d = A("192.168.1.200");
			memcpy(ip + 16, &d.ip, 4);
			memcpy(ip + 12, &s.ip, 4);
		}
	}
	if (v6) {
		hl = 40;
		tot = 40u + (uint32_t)(ip[4] << 8 | ip[5]);
	} else {
		hl = (uint32_t)(ip[0] & 15) * 4;
		tot = (uint32_t)(ip[2] << 8 | ip[3]);
		if (hl < 20 || hl > len - off)
			return;
		if (flags & 0x01) {
			uint16_t c = csum_ip4_header(ip, hl);
			memcpy(ip + 10, &c, 2);
		}
	}
	if ((flags & 0x02) && tot > hl && off + tot <= len) {
		uint8_t proto = v6 ? ip[6] : ip[9];
		uint32_t co = proto == 6 ? 16 : proto == 17 ? 6 : (proto == 1 || proto == 58) ? 2 : 0;
		union ulvs_addr s, d;

		memset(&s, 0, sizeof(s));
		memset(&d, 0, sizeof(d));
		memcpy(s.b, ip + (v6 ? 8 : 12), v6 ? 16 : 4);
		memcpy(d.b, ip + (v6 ? 24 : 16), v6 ? 16 : 4);
		if (co && tot - hl >= co + 2) {
			uint16_t c;
			ip[hl + co] = ip[hl + co + 1] = 0;
			c = csum_l4(v6 ? ULVS_AF_INET6 : ULVS_AF_INET, &s, &d, proto, ip + hl, tot - hl);
			memcpy(ip + hl + co, &c, 2);
		}
	}
}

static void run_batch(struct engine *e, struct pkt *p, unsigned n, uint64_t now)
{
	struct verdict v[BATCH];

	memset(v, 0xee, sizeof(v));
	unsigned tx = engine_process(e, p, v, n, now);
	unsigned ntx = 0;
	for (unsigned i = 0; i < n; i++)
		ntx += v[i].kind == VERDICT_TX;
	if (tx != ntx)
		abort();
	check_verdicts(p, v, n);
	check_counters(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One engine per parameter combination, kept across inputs: creating one
 * (FULLNAT port pools are shuffled at birth) would cost more than the run.
 * Each input ends by expiring everything, so the next starts from an empty
 * table; only the clock (monotonic, as the engine requires) carries over. */
static struct engine *g_eng[8];
static uint64_t g_now[8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e;
	struct pkt p[BATCH];
	unsigned n = 0, which = size ? data[0] & 7 : 0;
	size_t off = 0;
	uint64_t now;

	if (!g_svcs)
		world_init();
	world_reset();
	if (!g_eng[which]) {
		struct engine_params ep;
		memset(&ep, 0, sizeof(ep));
		ep.conn_capacity = 64;
		ep.expire_nodest_conn = which & 1;
		ep.conn_reuse_mode = which & 2;
		ep.expire_quiescent_template = which & 4;
		g_now[which] = 1000000000000ull;
		g_eng[which] = engine_new(&ep, &g_fib, g_svcs, g_now[which]);
		if (!g_eng[which])
			abort();
	}
	e = g_eng[which];
	now = g_now[which];

	/* 1. the whole input, one frame */
	if (size <= MAX_FRAME) {
		load(&p[0], bufs[0], data, size, 0);
		run_batch(e, p, 1, now);
	}

	/* 2. a sequence of records */
	while (off + 5 <= size) {
		size_t len = (size_t)(data[off] << 8 | data[off + 1]);
		uint8_t dt = data[off + 2], flags = data[off + 3], sel = data[off + 4];

		off += 5;
		if (len > size - off)
			len = size - off;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		if (dt && n) {
			run_batch(e, p, n, now);
			n = 0;
		}
		now += (uint64_t)dt * 250000000ull;
		load(&p[n], bufs[n], data + off, len, (flags & 0x08) ? 1 : 0);
		assist(&p[n], flags, sel);
		n++;
		off += len;
		if (n == BATCH) {
			run_batch(e, p, n, now);
			n = 0;
		}
		if (flags & 0x20) {
			/* flip a real server's health or weight between packets */
			struct dest *d = &g_svcs->dests[sel % g_svcs->n_dests];
			if (sel & 0x40)
				d->flags ^= DEST_F_AVAILABLE;
			else
				d->weight = !d->weight;
		}
	}
	if (n)
		run_batch(e, p, n, now);
	/* Let everything expire: the counters must come back to zero with the
	 * table (checked by run_batch), and the table must empty. */
	for (int i = 0; i < 64 && conn_count(engine_conns(e)); i++) {
		now += 60ull * 1000000000ull;
		run_batch(e, p, 0, now);
	}
	if (conn_count(engine_conns(e)))
		abort();
	g_now[which] = now + 1000000000ull;
	/* undo health flips for the next input */
	for (uint32_t i = 0; i < g_svcs->n_dests; i++) {
		g_svcs->dests[i].flags |= DEST_F_AVAILABLE;
		g_svcs->dests[i].weight = 1;
	}
	return 0;
}
