/* The packet engine: one worker's whole data plane (see engine.h).
 *
 * Per frame: parse; ICMP errors go to the translation path; a tracked
 * connection is looked up before anything else (one lookup answers both the
 * client's packets and the real server's replies); otherwise a packet to a
 * virtual service creates a connection (persistence template, then the
 * scheduler, then the sorry server); the TCP state machine runs; the frame
 * is rewritten for the forwarding method; the next hop of its new
 * destination gives the egress interface and MACs.  The order of checks
 * follows the kernel's ip_vs_in()/ip_vs_out() so that operators find the
 * IPVS behaviour they know, and every drop has a named counter.
 *
 * Real-server counters (activeconns/inactconns/persistconns) are kept
 * exactly as IPVS does: counted at insert by CONN_F_INACTIVE, moved on every
 * state change (conn_active_delta), uncounted in the release callback, which
 * the connection table calls for every connection it frees however it goes.
 *
 * No allocation and no syscalls after engine_new(); engine_set_services()
 * may allocate FULLNAT port pools for local addresses it has not seen yet
 * (control path, between batches).
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fib.h"
#include "icmp.h"
#include "lport.h"
#include "packet.h"
#include "sched/sched.h"
#include "service.h"
#include "steer.h"
#include "xmit.h"

/* One FULLNAT local port pool per distinct local address. */
struct lpool_ent {
	union ulvs_addr addr;
	uint8_t af;
	struct lport_pool *pool;
};

struct engine {
	struct engine_params params;
	const struct fib *fib;
	struct svc_table *svcs;
	struct conn_table *ct;
	struct engine_stats st;
	/* open-addressed hash of lpool_ent, size a power of two, never full */
	struct lpool_ent *lpools;
	uint32_t lpools_size, n_lpools;
	/* FULLNAT: next local address to try per service (round robin, as
	 * DPVS's laddr selection) */
	uint32_t laddr_next[ULVS_MAX_SERVICES];
	/* one-packet scheduling (ipvsadm -o): the connection lives for one
	 * packet only and never enters the table */
	struct conn onepkt;
	/* connection observer (sync): a pointer and an argument, nothing
	 * allocated; called on creation and on every state change */
	engine_conn_cb conn_cb;
	void *conn_cb_arg;
	/* Workers: this engine is worker `worker` of `n_workers` sharing one
	 * service table.  With more than one, per-packet service and real
	 * server counters go to the arrays below (indexed by id) and are folded
	 * into the table by engine_fold_stats(); with one they go straight to
	 * the table. */
	uint16_t worker, n_workers;
	struct dest_stats *dstats;   /* ULVS_MAX_DESTS, n_workers > 1 only */
	struct svc_stats *sstats;    /* ULVS_MAX_SERVICES */
	/* Group (on the leader, worker 0): every member, itself first, and
	 * which member owns a packet, fixed when the group forms. */
	struct engine *members[ULVS_MAX_WORKERS];
	unsigned n_members;
	struct steer_cfg steer;
	struct engine_stats sum;     /* engine_stats_total() */
};

static inline void conn_event(struct engine *e, const struct conn *c, enum engine_conn_event ev)
{
	if (e->conn_cb)
		e->conn_cb(e->conn_cb_arg, e->ct, c, ev);
}

/* --- names ----------------------------------------------------------------- */

static const char *const drop_names[DROP_REASON_MAX] = {
	[DROP_NONE] = "none",
	[DROP_PARSE_TRUNC] = "parse_trunc",
	[DROP_PARSE_BAD_IP] = "parse_bad_ip",
	[DROP_PARSE_BAD_IP_CSUM] = "parse_bad_ip_csum",
	[DROP_PARSE_BAD_IP6_EXT] = "parse_bad_ip6_ext",
	[DROP_PARSE_BAD_L4] = "parse_bad_l4",
	[DROP_PARSE_BAD_ICMP] = "parse_bad_icmp",
	[DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[DROP_FRAGMENT] = "fragment",
	[DROP_NO_DEST] = "no_dest",
	[DROP_CONN_TABLE_FULL] = "conn_table_full",
	[DROP_LPORT_EXHAUSTED] = "lport_exhausted",
	[DROP_NOT_SYN] = "not_syn",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_NO_NEIGH] = "no_neigh",
	[DROP_TOO_BIG] = "too_big",
	[DROP_NO_HEADROOM] = "no_headroom",
	[DROP_ICMP_UNTRACKED] = "icmp_untracked",
	[DROP_DR_PORT_MISMATCH] = "dr_port_mismatch",
	[DROP_UNSUPPORTED] = "unsupported",
	[DROP_STANDBY] = "standby",
};

const char *drop_reason_name(enum drop_reason r)
{
	if ((unsigned)r >= DROP_REASON_MAX || !drop_names[r])
		return "unknown";
	return drop_names[r];
}

static enum drop_reason parse_drop_reason(enum parse_result r)
{
	switch (r) {
	case PARSE_TRUNC_ETH:
	case PARSE_TRUNC_VLAN:
	case PARSE_TRUNC_IP:
	case PARSE_TRUNC_L4:
		return DROP_PARSE_TRUNC;
	case PARSE_BAD_IP_CSUM:
		return DROP_PARSE_BAD_IP_CSUM;
	case PARSE_BAD_IP6_EXT:
		return DROP_PARSE_BAD_IP6_EXT;
	case PARSE_BAD_TCP_HLEN:
	case PARSE_BAD_UDP_LEN:
		return DROP_PARSE_BAD_L4;
	case PARSE_BAD_ICMP:
		return DROP_PARSE_BAD_ICMP;
	default:
		return DROP_PARSE_BAD_IP;
	}
}

/* --- verdicts -------------------------------------------------------------- */

static void verdict_drop(struct engine *e, struct verdict *v, enum drop_reason r)
{
	v->kind = VERDICT_DROP;
	v->reason = (uint8_t)r;
	v->iface = 0;
	e->st.drop++;
	e->st.drops[r]++;
}

static void verdict_pass(struct engine *e, struct verdict *v)
{
	v->kind = VERDICT_PASS;
	v->reason = DROP_NONE;
	v->iface = 0;
	e->st.pass++;
}

static void verdict_tx(struct engine *e, struct verdict *v, struct pkt *p,
		       const struct fib_nexthop *nh)
{
	/* Only the MACs change: a VLAN tag after them stays as it came. */
	memcpy(p->data, nh->dst.b, ULVS_MAC_LEN);
	memcpy(p->data + ULVS_MAC_LEN, nh->src.b, ULVS_MAC_LEN);
	v->kind = VERDICT_TX;
	v->reason = DROP_NONE;
	v->iface = nh->iface;
	e->st.tx++;
}

/* --- FULLNAT local port pools ---------------------------------------------- */

static uint32_t lpool_hash(uint8_t af, const union ulvs_addr *a)
{
	uint64_t x = a->q[0] * 0x9e3779b97f4a7c15ull ^ a->q[1] ^ af;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(x ^ (x >> 32));
}

static struct lpool_ent *lpool_slot(struct lpool_ent *tab, uint32_t size, uint8_t af,
				    const union ulvs_addr *a)
{
	uint32_t i = lpool_hash(af, a) & (size - 1);

	for (;;) {
		struct lpool_ent *s = &tab[i];
		if (!s->pool || (s->af == af && addr_eq(&s->addr, a)))
			return s;
		i = (i + 1) & (size - 1);
	}
}

static struct lport_pool *engine_lpool(const struct engine *e, uint8_t af,
				       const union ulvs_addr *a)
{
	if (!e->lpools_size)
		return NULL;
	return lpool_slot(e->lpools, e->lpools_size, af, a)->pool;
}

/* Make sure every local address of every service has a pool.  Pools of
 * addresses that left the configuration stay: connections may still hold
 * their ports.  Control path only.  Returns 0 or -ENOMEM. */
static int engine_sync_lpools(struct engine *e)
{
	const struct svc_table *t = e->svcs;

	for (uint32_t i = 0; t && i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		for (uint32_t j = 0; j < s->n_laddrs; j++) {
			const struct laddr *l = &s->laddrs[j];
			struct lpool_ent *slot;

			if (e->lpools_size && lpool_slot(e->lpools, e->lpools_size, l->af, &l->addr)->pool)
				continue;
			if ((e->n_lpools + 1) * 2 > e->lpools_size) {
				uint32_t nsize = e->lpools_size ? e->lpools_size * 2 : 16;
				struct lpool_ent *n = calloc(nsize, sizeof(*n));
				if (!n)
					return -ENOMEM;
				for (uint32_t k = 0; k < e->lpools_size; k++)
					if (e->lpools[k].pool)
						*lpool_slot(n, nsize, e->lpools[k].af, &e->lpools[k].addr) =
							e->lpools[k];
				free(e->lpools);
				e->lpools = n;
				e->lpools_size = nsize;
			}
			slot = lpool_slot(e->lpools, e->lpools_size, l->af, &l->addr);
			/* Seeded by creation order: a replay hands out the same ports. */
			slot->pool = lport_pool_new_part(e->n_lpools + 1, e->worker,
							 e->n_workers ? e->n_workers : 1);
			if (!slot->pool)
				return -ENOMEM;
			slot->af = l->af;
			slot->addr = l->addr;
			e->n_lpools++;
		}
	}
	return 0;
}

/* --- real-server bookkeeping ----------------------------------------------- */

static struct dest *conn_dest(const struct engine *e, const struct conn *c)
{
	const struct svc_table *t = e->svcs;
	if (!t || c->dest_id >= t->n_dests)
		return NULL;
	return &t->dests[c->dest_id];
}

static struct svc *conn_svc(const struct engine *e, const struct conn *c)
{
	struct svc_table *t = e->svcs;
	if (!t || c->svc_id >= t->n_svcs)
		return NULL;
	return &t->svcs[c->svc_id];
}

/* ip_vs_bind_dest: a new connection or template starts counting. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Where this worker counts a real server's / service's traffic. */
static inline struct dest_stats *dest_st(struct engine *e, struct dest *d)
{
	return e->dstats && d->id < ULVS_MAX_DESTS ? &e->dstats[d->id] : &d->stats;
}

static inline struct svc_stats *svc_st(struct engine *e, struct svc *s)
{
	return e->sstats && s->id < ULVS_MAX_SERVICES ? &e->sstats[s->id] : &s->stats;
}

/* A scheduler's state (rr cursor, wrr position, lblc cache...) is the
 * service's, shared by the workers: one picks at a time.  The lock is taken
 * per new connection only, and not at all with one worker. */
static struct dest *sched_pick_locked(struct engine *e, struct svc_table *t, struct svc *s,
				      const struct sched_key *k, uint64_t now)
{
	struct dest *d;

	if (e->n_workers <= 1)
		return s->sched->pick(t, s, k, now);
	while (__atomic_exchange_n(&s->sched_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&s->sched_lock, __ATOMIC_RELAXED))
			cpu_relax();
	d = s->sched->pick(t, s, k, now);
	__atomic_store_n(&s->sched_lock, 0, __ATOMIC_RELEASE);
	return d;
}

static inline void cnt_inc(uint32_t *n)
{
	__atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

/* Decrement unless zero (see dest_unbind). */
static inline void cnt_dec(uint32_t *n)
{
	uint32_t v = __atomic_load_n(n, __ATOMIC_RELAXED);

	while (v && !__atomic_compare_exchange_n(n, &v, v - 1, true, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
		;
}

/* Workers share the service table: connection counters move atomically
 * (per connection, not per packet), so every worker's least-connection
 * scheduler sees the director's whole count, as IPVS's do. */
static void dest_bind(struct dest *d, const struct conn *c)
{
	if (c->flags & CONN_F_TEMPLATE)
		cnt_inc(&d->persistconns);
	else if (c->flags & CONN_F_INACTIVE)
		cnt_inc(&d->inactconns);
	else
		cnt_inc(&d->activeconns);
	dest_update_overload(d);
}

/* ip_vs_unbind_dest.  A counter at zero here is a bookkeeping bug; it is
 * left at zero rather than wrapped to four billion connections. */
static void dest_unbind(struct dest *d, const struct conn *c)
{
	cnt_dec((c->flags & CONN_F_TEMPLATE) ? &d->persistconns
		: (c->flags & CONN_F_INACTIVE) ? &d->inactconns
					       : &d->activeconns);
	dest_update_overload(d);
}

static void engine_release_cb(void *ctx, struct conn *c)
{
	struct engine *e = ctx;
	struct dest *d = conn_dest(e, c);

	if (d)
		dest_unbind(d, c);
	if (c->fwd == FWD_FNAT && !(c->flags & CONN_F_TEMPLATE)) {
		struct lport_pool *lp = engine_lpool(e, c->af, &c->laddr);
		if (lp)
			lport_release(lp, c->lport);
	}
}

/* A connection moved between active and inactive (delta +1 / -1, from
 * conn_active_delta): move it between the dest's counters as IPVS's
 * set_tcp_state does, then re-check the thresholds. */
static void dest_shift_active(struct dest *d, int delta)
{
	if (delta > 0) {
		cnt_dec(&d->inactconns);
		cnt_inc(&d->activeconns);
	} else {
		cnt_dec(&d->activeconns);
		cnt_inc(&d->inactconns);
	}
	dest_update_overload(d);
}

/* conn_update() plus the active/inactive move it may imply. */
static void engine_conn_update(struct engine *e, struct conn *c, enum conn_dir dir,
			       uint8_t tcp_flags, uint64_t now)
{
	uint16_t before = c->flags;
	int delta;
	struct dest *d;

	if (c == &e->onepkt)
		return;
	if (conn_update(e->ct, c, dir, tcp_flags, now) != (enum conn_state)c->state)
		conn_event(e, c, ENGINE_CONN_STATE);
	delta = conn_active_delta(before, c);
	d = delta ? conn_dest(e, c) : NULL;
	if (!d)
		return;
	dest_shift_active(d, delta);
}

/* --- egress ---------------------------------------------------------------- */

static enum drop_reason engine_resolve(const struct engine *e, uint8_t af,
				       const union ulvs_addr *dst, struct fib_nexthop *nh)
{
	int r = fib_resolve(e->fib, (enum ulvs_af)af, dst, nh);
	if (r == -ENETUNREACH)
		return DROP_NO_ROUTE;
	if (r)
		return DROP_NO_NEIGH;
	return DROP_NONE;
}

/* Decrement TTL / hop limit of a packet we route (NAT, FULLNAT), patching
 * the IPv4 header checksum (RFC 1624; TTL shares its 16-bit word with the
 * protocol).  The caller has checked ttl > 1. */
static void ip_dec_ttl(struct pkt *p, struct pkt_info *pi)
{
	uint8_t *ip = p->data + pi->l3_off;

	if (pi->t.af == ULVS_AF_INET) {
		uint16_t old, new_, ck;
		memcpy(&old, ip + 8, 2);
		ip[8]--;
		memcpy(&new_, ip + 8, 2);
		memcpy(&ck, ip + 10, 2);
		ck = csum_replace2(ck, old, new_);
		memcpy(ip + 10, &ck, 2);
	} else {
		ip[7]--;
	}
	pi->ttl--;
}

static bool ip_may_fragment(const struct pkt *p, const struct pkt_info *pi)
{
	/* RFC 791: DF is bit 1 of the flags; IPv6 routers never fragment. */
	return pi->t.af == ULVS_AF_INET && !(p->data[pi->l3_off + 6] & 0x40);
}

/* The packet in p cannot leave whole.  Answer with frag-needed / packet too
 * big (reporting mtu) from src, back out the interface it came in on; a
 * packet that may be fragmented is dropped (we never fragment, and RFC 1191
 * only speaks to DF packets). */
static void engine_too_big(struct engine *e, struct pkt *p, struct pkt_info *pi,
			   struct verdict *v, const union ulvs_addr *src, uint32_t mtu)
{
	const struct fib *f = e->fib;
	struct fib_nexthop nh;
	union ulvs_addr from;

	if (src)
		from = *src; /* src may point into pi, which the build rewrites */
	if (!src || ip_may_fragment(p, pi) || icmp_build_too_big(p, pi, &from, mtu)) {
		verdict_drop(e, v, DROP_TOO_BIG);
		return;
	}
	/* icmp_build_too_big swapped the MACs; prefer the interface's own. */
	memcpy(nh.dst.b, p->data, ULVS_MAC_LEN);
	memcpy(nh.src.b, p->data + ULVS_MAC_LEN, ULVS_MAC_LEN);
	nh.iface = p->ifindex;
	if (f && p->ifindex < f->n_ifaces)
		nh.src = f->ifaces[p->ifindex].mac;
	e->st.icmp_too_big_sent++;
	verdict_tx(e, v, p, &nh);
}

/* Source for an error we originate about a packet that was not addressed to
 * us: the ingress interface's address (what the kernel's icmp_send picks for
 * a forwarded packet). */
static const union ulvs_addr *ingress_addr(const struct engine *e, const struct pkt *p,
					   uint8_t af)
{
	if (!e->fib || p->ifindex >= e->fib->n_ifaces)
		return NULL;
	return fib_iface_addr(e->fib, p->ifindex, (enum ulvs_af)af);
}

/* Forward a packet of connection c in direction dir.  Steps that can fail
 * before the frame is touched come first, so a drop never leaves a
 * half-rewritten frame behind and a too-big error quotes the packet as it
 * arrived. */
static void engine_xmit(struct engine *e, struct pkt *p, struct pkt_info *pi,
			struct verdict *v, struct conn *c, enum conn_dir dir)
{
	const uint8_t af = pi->t.af;
	const bool icmp = pi->flags & PKT_F_ICMP_ERR;
	const union ulvs_addr *dst = dir == CONN_DIR_IN ? &c->daddr : &c->caddr;
	struct fib_nexthop nh;
	enum drop_reason r;
	bool routed = c->fwd == FWD_NAT || c->fwd == FWD_FNAT;

	if (c->fwd == FWD_LOCAL) {
		verdict_pass(e, v);
		return;
	}
	if (routed && pi->ttl <= 1) {
		verdict_drop(e, v, DROP_TTL_EXCEEDED);
		return;
	}
	r = engine_resolve(e, af, dst, &nh);
	if (r != DROP_NONE) {
		verdict_drop(e, v, r);
		return;
	}

	if (c->fwd == FWD_TUN) {
		const union ulvs_addr *src = fib_iface_addr(e->fib, nh.iface, (enum ulvs_af)af);
		if (!src) {
			verdict_drop(e, v, DROP_NO_ROUTE);
			return;
		}
		if (icmp) {
			/* An ICMP error has no ports for xmit_tun's vport check to
			 * compare; its quote was matched to c already. */
			pi->flags &= ~(uint32_t)PKT_F_L4;
		}
		r = xmit_tun(p, pi, c, src, nh.mtu);
		if (r == DROP_TOO_BIG && !icmp) {
			uint32_t hl = af == ULVS_AF_INET ? 20 : 40;
			engine_too_big(e, p, pi, v, &pi->t.daddr, nh.mtu > hl ? nh.mtu - hl : 0);
			return;
		}
		if (r != DROP_NONE) {
			verdict_drop(e, v, r);
			return;
		}
		verdict_tx(e, v, p, &nh);
		return;
	}

	/* NAT, FULLNAT, DR keep the packet's size (TOA aside: the MSS was
	 * lowered for it), so the egress MTU is checked on it as it came. */
	if (nh.mtu && pi->l3_len > nh.mtu) {
		if (icmp) {
			verdict_drop(e, v, DROP_TOO_BIG);
			return;
		}
		/* To the VIP the error comes from the VIP (a local destination for
		 * the client); a reply we forward gets our interface's address. */
		engine_too_big(e, p, pi, v,
			       dir == CONN_DIR_IN ? &pi->t.daddr : ingress_addr(e, p, af), nh.mtu);
		return;
	}

	if (icmp) {
		r = c->fwd == FWD_DR ? DROP_NONE : icmp_xlate(p, pi, c, dir);
	} else if (c->fwd == FWD_NAT) {
		r = dir == CONN_DIR_IN ? xmit_nat_in(p, pi, c) : xmit_nat_out(p, pi, c);
	} else if (c->fwd == FWD_FNAT) {
		if (dir == CONN_DIR_IN) {
			/* TOA policy: offered on every client ACK until the real server
			 * sends a segment other than its SYN-ACK, which proves it has
			 * completed the handshake (and so has read the option, or never
			 * will).  That covers a lost handshake ACK: the client's next
			 * segment carries the option again. */
			bool toa = pi->t.proto == IPPROTO_TCP_ && !(c->flags & CONN_F_OUT_NONSYN);
			uint64_t before = e->st.toa_inserted;
			r = xmit_fnat_in(p, pi, c, toa, &e->st);
			if (e->st.toa_inserted != before)
				c->flags |= CONN_F_TOA_DONE;
		} else {
			r = xmit_fnat_out(p, pi, c, &e->st);
		}
	} else if (c->fwd == FWD_DR) {
		r = xmit_dr(p, pi, c);
	} else {
		r = DROP_UNSUPPORTED;
	}
	if (r != DROP_NONE) {
		verdict_drop(e, v, r);
		return;
	}
	if (routed)
		ip_dec_ttl(p, pi);
	verdict_tx(e, v, p, &nh);
}

/* --- scheduling ------------------------------------------------------------ */

/* ip_vs_check_template: may a template still send new connections to its
 * real server? */
static bool tmpl_usable(const struct engine *e, const struct conn *t)
{
	const struct dest *d = conn_dest(e, t);

	if (!d || !(d->flags & DEST_F_AVAILABLE))
		return false;
	if (e->params.expire_quiescent_template && d->weight <= 0)
		return false;
	return true;
}

/* ip_vs_sched_persist: the real server for a persistent service.  The
 * template key follows IPVS:
 *   port service:      <proto, caddr/netmask, 0, vaddr, vport>
 *   port-zero service: <proto, caddr/netmask, 0, vaddr, 0>   (all ports stick)
 *   fwmark service:    <0, caddr/netmask, 0, mark, 0>        (all protocols)
 * For a fwmark service the 32-bit mark goes where IPVS puts it, in the
 * address (vaddr = mark in network order, vport 0): a mark does not fit the
 * 16-bit port, and proto 0 keeps it apart from any real VIP's template.
 * netmask 0 means host granularity (/32, /128), keepalived's default.
 * Returns DROP_NONE with *out (NULL when no server is usable) or the drop
 * reason. */
static enum drop_reason sched_persist(struct engine *e, struct svc *s, const struct pkt_info *pi,
				      const struct sched_key *k, uint64_t now, struct dest **out,
				      struct conn **tout)
{
	struct svc_table *t = e->svcs;
	unsigned full = pi->t.af == ULVS_AF_INET ? 32 : 128;
	unsigned plen = s->netmask && s->netmask < full ? s->netmask : full;
	union ulvs_addr snet = addr_mask((enum ulvs_af)pi->t.af, &pi->t.saddr, plen);
	union ulvs_addr vaddr = pi->t.daddr;
	uint8_t proto = pi->t.proto;
	uint16_t vport = s->port;
	uint16_t flags = CONN_F_TEMPLATE | CONN_F_NO_CPORT;
	struct conn *tp, tmpl;
	struct dest *d;

	if (s->fwmark) {
		proto = 0;
		uint8_t m[4] = { (uint8_t)(s->fwmark >> 24), (uint8_t)(s->fwmark >> 16),
				 (uint8_t)(s->fwmark >> 8), (uint8_t)s->fwmark };
		memset(&vaddr, 0, sizeof(vaddr));
		memcpy(&vaddr.ip, m, 4);
		vport = 0;
		flags |= CONN_F_FWMARK;
	}
	*out = NULL;
	*tout = NULL;
	tp = conn_tmpl_lookup(e->ct, pi->t.af, proto, &snet, 0, &vaddr, vport);
	if (tp && tmpl_usable(e, tp)) {
		/* ip_vs_conn_put: every use re-arms the template's timer. */
		conn_touch(e->ct, tp, now);
		*out = conn_dest(e, tp);
		*tout = tp;
		return DROP_NONE;
	}
	d = s->sched ? sched_pick_locked(e, t, s, k, now) : NULL;
	if (!d)
		return DROP_NONE;
	if (tp) {
		/* The old template is unhashed now and goes with the last
		 * connection it controls (ip_vs_check_template). */
		conn_free(e->ct, tp);
	}
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.caddr = snet;
	tmpl.vaddr = vaddr;
	tmpl.vport = vport;
	tmpl.daddr = d->addr;
	tmpl.dport = d->port;
	tmpl.laddr = snet;
	tmpl.dest_id = d->id;
	tmpl.svc_id = s->id;
	tmpl.control = CONN_NONE;
	tmpl.af = pi->t.af;
	tmpl.proto = proto;
	tmpl.state = CS_NONE;
	tmpl.fwd = d->fwd;
	tmpl.flags = flags;
	tp = conn_tmpl_insert(e->ct, &tmpl, s->timeout * 1000u, now);
	if (!tp)
		return DROP_CONN_TABLE_FULL;
	dest_bind(d, tp);
	conn_event(e, tp, ENGINE_CONN_NEW);
	*out = d;
	*tout = tp;
	return DROP_NONE;
}

/* FULLNAT: a local address of the real server's family and a port on it,
 * trying the service's addresses round robin from where the last one
 * succeeded. */
static enum drop_reason fnat_pick_laddr(struct engine *e, const struct svc *s, struct conn *c)
{
	uint32_t n = s->n_laddrs, start;

	if (!n)
		return DROP_UNSUPPORTED;
	start = s->id < ULVS_MAX_SERVICES ? e->laddr_next[s->id] : 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = (start + i) % n;
		const struct laddr *l = &s->laddrs[j];
		struct lport_pool *lp;

		if (l->af != c->af)
			continue;
		lp = engine_lpool(e, l->af, &l->addr);
		if (lp && lport_alloc(lp, &c->lport) == 0) {
			c->laddr = l->addr;
			c->laddr_idx = (uint8_t)j;
			if (s->id < ULVS_MAX_SERVICES)
				e->laddr_next[s->id] = (j + 1) % n;
			return DROP_NONE;
		}
	}
	return DROP_LPORT_EXHAUSTED;
}

/* A new connection for a packet to service s (ip_vs_schedule).  Returns
 * DROP_NONE and *out, or the reason to drop. */
static enum drop_reason engine_schedule(struct engine *e, struct svc *s, const struct pkt_info *pi,
					uint64_t now, struct conn **out)
{
	struct svc_table *t = e->svcs;
	struct sched_key k;
	struct dest *d = NULL;
	struct conn *tp = NULL, tmpl, *c;
	enum drop_reason r;
	bool sorry = false, onepkt;

	memset(&k, 0, sizeof(k));
	k.saddr = pi->t.saddr;
	k.daddr = pi->t.daddr;
	k.sport = pi->t.sport;
	k.dport = pi->t.dport;
	k.af = pi->t.af;
	k.proto = pi->t.proto;

	if (s->flags & SVC_F_PERSISTENT) {
		r = sched_persist(e, s, pi, &k, now, &d, &tp);
		if (r != DROP_NONE)
			return r;
	} else if (s->sched) {
		d = sched_pick_locked(e, t, s, &k, now);
	}
	if (!d) {
		/* keepalived's sorry_server: used only while no real server is. */
		if (s->sorry_dest < 0 || (uint32_t)s->sorry_dest >= t->n_dests)
			return DROP_NO_DEST;
		d = &t->dests[s->sorry_dest];
		sorry = true;
		tp = NULL;
	}
	if (d->af != pi->t.af)
		return DROP_UNSUPPORTED;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.caddr = pi->t.saddr;
	tmpl.cport = pi->t.sport;
	tmpl.vaddr = pi->t.daddr;
	tmpl.vport = pi->t.dport;
	tmpl.daddr = d->addr;
	/* Port-zero and fwmark services: a real server without a port takes
	 * the packet's (ip_vs_schedule "dest->port ? dest->port : vport"). */
	tmpl.dport = d->port ? d->port : pi->t.dport;
	tmpl.laddr = pi->t.saddr;
	tmpl.lport = pi->t.sport;
	tmpl.dest_id = d->id;
	tmpl.svc_id = s->id;
	tmpl.control = CONN_NONE;
	tmpl.af = pi->t.af;
	tmpl.proto = pi->t.proto;
	tmpl.state = pi->t.proto == IPPROTO_TCP_ ? CS_NONE : CS_UDP;
	tmpl.fwd = d->fwd;
	tmpl.flags = CONN_F_INACTIVE | (sorry ? CONN_F_SORRY : 0);

	if ((d->fwd == FWD_DR || d->fwd == FWD_TUN) && tmpl.dport != tmpl.vport)
		return DROP_DR_PORT_MISMATCH;

	/* ipvsadm -o: UDP datagrams scheduled one by one, nothing kept
	 * (IP_VS_CONN_F_ONE_PACKET).  FULLNAT needs a port per flow and keeps
	 * its connection. */
	onepkt = (s->flags & SVC_F_ONEPACKET) && pi->t.proto == IPPROTO_UDP_ && d->fwd != FWD_FNAT;

	if (d->fwd == FWD_FNAT) {
		r = fnat_pick_laddr(e, s, &tmpl);
		if (r != DROP_NONE)
			return r;
	}

	if (onepkt) {
		e->onepkt = tmpl;
		c = &e->onepkt;
	} else {
		c = conn_insert(e->ct, &tmpl, now);
		if (!c) {
			if (d->fwd == FWD_FNAT) {
				struct lport_pool *lp = engine_lpool(e, tmpl.af, &tmpl.laddr);
				if (lp)
					lport_release(lp, tmpl.lport);
			}
			return DROP_CONN_TABLE_FULL;
		}
		dest_bind(d, c);
		if (tp)
			conn_set_control(e->ct, c, tp);
		conn_event(e, c, ENGINE_CONN_NEW);
	}
	dest_st(e, d)->conns++;
	svc_st(e, s)->conns++;
	e->st.new_conns++;
	if (sorry)
		e->st.sorry_used++;
	*out = c;
	return DROP_NONE;
}

/* --- the packet paths ------------------------------------------------------ */

static void stats_in(struct engine *e, const struct conn *c, uint32_t bytes)
{
	struct dest *d = conn_dest(e, c);
	struct svc *s = conn_svc(e, c);

	if (d) {
		struct dest_stats *ds = dest_st(e, d);
		ds->inpkts++, ds->inbytes += bytes;
	}
	if (s) {
		struct svc_stats *ss = svc_st(e, s);
		ss->inpkts++, ss->inbytes += bytes;
	}
}

static void stats_out(struct engine *e, const struct conn *c, uint32_t bytes)
{
	struct dest *d = conn_dest(e, c);
	struct svc *s = conn_svc(e, c);

	if (d) {
		struct dest_stats *ds = dest_st(e, d);
		ds->outpkts++, ds->outbytes += bytes;
	}
	if (s) {
		struct svc_stats *ss = svc_st(e, s);
		ss->outpkts++, ss->outbytes += bytes;
	}
}

static bool is_ours(const struct engine *e, const struct pkt_info *pi)
{
	return e->svcs && svc_owns_addr(e->svcs, (enum ulvs_af)pi->t.af, &pi->t.daddr);
}

/* An ICMP error.  The quote is a packet somebody sent; reversed, it is the
 * tuple of a packet of ours in one direction or the other (ip_vs_in_icmp /
 * ip_vs_out_icmp). */
static void engine_icmp(struct engine *e, struct pkt *p, struct pkt_info *pi,
			struct verdict *v)
{
	struct conn *c = NULL;
	enum conn_dir dir = CONN_DIR_IN;
	uint32_t bytes = pi->l3_len;

	if ((pi->flags & PKT_F_INNER_L4) &&
	    (pi->inner.proto == IPPROTO_TCP_ || pi->inner.proto == IPPROTO_UDP_))
		c = conn_lookup(e->ct, pi->inner.af, pi->inner.proto, &pi->inner.daddr,
				pi->inner.dport, &pi->inner.saddr, pi->inner.sport, &dir);
	if (!c) {
		if (is_ours(e, pi))
			verdict_drop(e, v, DROP_ICMP_UNTRACKED);
		else
			verdict_pass(e, v);
		return;
	}
	if (dir == CONN_DIR_OUT && c->fwd != FWD_NAT && c->fwd != FWD_FNAT) {
		/* DR/TUN replies do not pass through us; this is somebody
		 * else's error to route (ip_vs_out ignores non-NAT conns). */
		verdict_pass(e, v);
		return;
	}
	if (dir == CONN_DIR_IN)
		stats_in(e, c, bytes);
	else
		stats_out(e, c, bytes);
	engine_xmit(e, p, pi, v, c, dir);
	if (v->kind == VERDICT_TX)
		e->st.icmp_translated++;
}

/* One frame, already parsed (pr, *pip: the parse result, which the rewrite
 * functions update as the frame changes). */
static void engine_one(struct engine *e, struct pkt *p, struct verdict *v,
		       enum parse_result pr, struct pkt_info *pi, uint64_t now)
{
	struct conn *c;
	enum conn_dir dir = CONN_DIR_IN;
	struct svc *s;
	uint32_t bytes;

	e->st.rx++;
	if (pr != PARSE_OK) {
		e->st.parse[pr]++;
		if (pr == PARSE_NOT_IP)
			verdict_pass(e, v);
		else
			verdict_drop(e, v, parse_drop_reason(pr));
		return;
	}
	if (pi->flags & PKT_F_ICMP_ERR) {
		engine_icmp(e, p, pi, v);
		return;
	}
	if (!(pi->flags & PKT_F_L4)) {
		/* Non-first fragments carry no ports, so no connection can be
		 * found for them; IPVS sees only reassembled packets.  Ours are
		 * dropped and counted; the kernel gets the rest. */
		if ((pi->flags & PKT_F_FRAG) && is_ours(e, pi))
			verdict_drop(e, v, DROP_FRAGMENT);
		else
			verdict_pass(e, v);
		return;
	}
	if (pi->t.proto != IPPROTO_TCP_ && pi->t.proto != IPPROTO_UDP_) {
		/* ICMP echo and other protocols: the kernel answers for the VIP. */
		verdict_pass(e, v);
		return;
	}
	bytes = pi->l3_len;

	c = conn_lookup(e->ct, pi->t.af, pi->t.proto, &pi->t.saddr, pi->t.sport, &pi->t.daddr,
			pi->t.dport, &dir);
	if (c && e->svcs && c->svc_id < e->svcs->n_svcs &&
	    (e->svcs->svcs[c->svc_id].flags & SVC_F_STANDBY)) {
		/* A VRRP backup keeps the connections sync gives it but
		 * forwards nothing until it is master for the VIP. */
		verdict_drop(e, v, DROP_STANDBY);
		return;
	}
	if (c && dir == CONN_DIR_IN) {
		const struct dest *d = conn_dest(e, c);
		bool syn = pi->t.proto == IPPROTO_TCP_ && (pi->tcp_flags & TCP_F_SYN);

		if (e->params.conn_reuse_mode && syn && c->state == CS_TIME_WAIT && !c->n_control) {
			/* A new connection reusing the tuple of one in TIME_WAIT
			 * is scheduled afresh (IPVS conn_reuse_mode). */
			conn_free(e->ct, c);
			c = NULL;
		} else if (d && !(d->flags & DEST_F_AVAILABLE)) {
			/* The real server left the service (ip_vs_in): its
			 * connections' packets are dropped; with
			 * expire_nodest_conn the connection goes at once and
			 * the packet is scheduled again like a new one. */
			if (!e->params.expire_nodest_conn) {
				verdict_drop(e, v, DROP_NO_DEST);
				return;
			}
			conn_free(e->ct, c);
			c = NULL;
		}
	}
	if (c && dir == CONN_DIR_OUT) {
		if (c->fwd != FWD_NAT && c->fwd != FWD_FNAT) {
			verdict_pass(e, v);
			return;
		}
		stats_out(e, c, bytes);
		engine_conn_update(e, c, CONN_DIR_OUT, pi->tcp_flags, now);
		if (!(pi->tcp_flags & TCP_F_SYN))
			c->flags |= CONN_F_OUT_NONSYN;
		engine_xmit(e, p, pi, v, c, CONN_DIR_OUT);
		return;
	}
	if (!c) {
		enum drop_reason r;

		/* Classification only matters for finding a service, so it
		 * runs here, not for every packet of a tracked connection
		 * (O(rules) saved on the fast path; p->mark stays 0 there). */
		if (e->svcs && e->svcs->n_marks)
			p->mark = svc_classify(e->svcs, (enum ulvs_af)pi->t.af, pi->t.proto, &pi->t.daddr,
					       pi->t.dport);
		s = e->svcs ? svc_lookup(e->svcs, (enum ulvs_af)pi->t.af, pi->t.proto, &pi->t.daddr,
					 pi->t.dport, p->mark)
			    : NULL;
		if (!s) {
			verdict_pass(e, v);
			return;
		}
		if (s->flags & SVC_F_STANDBY) {
			verdict_drop(e, v, DROP_STANDBY);
			return;
		}
		/* tcp_conn_schedule: only a SYN (without RST) opens a connection. */
		if (pi->t.proto == IPPROTO_TCP_ &&
		    (pi->tcp_flags & (TCP_F_SYN | TCP_F_RST)) != TCP_F_SYN) {
			verdict_drop(e, v, DROP_NOT_SYN);
			return;
		}
		r = engine_schedule(e, s, pi, now, &c);
		if (r != DROP_NONE) {
			verdict_drop(e, v, r);
			return;
		}
	}
	stats_in(e, c, bytes);
	engine_conn_update(e, c, CONN_DIR_IN, pi->tcp_flags, now);
	engine_xmit(e, p, pi, v, c, CONN_DIR_IN);
}

/* --- API ------------------------------------------------------------------- */

unsigned engine_process(struct engine *e, struct pkt *pkts, struct verdict *v, unsigned n,
			uint64_t now_ns)
{
	unsigned tx = 0;

	struct pkt_info pi[ULVS_MAX_BATCH];
	enum parse_result pr[ULVS_MAX_BATCH];
	uint32_t bucket[ULVS_MAX_BATCH];
	bool lookup[ULVS_MAX_BATCH];

	conn_expire(e->ct, now_ns, ULVS_EXPIRE_SLICE);
	if (n > ULVS_MAX_BATCH) {
		/* larger batches than the contract says: take them in slices */
		for (unsigned off = 0; off < n; off += ULVS_MAX_BATCH) {
			unsigned k = n - off < ULVS_MAX_BATCH ? n - off : ULVS_MAX_BATCH;
			tx += engine_process(e, pkts + off, v + off, k, now_ns);
		}
		return tx;
	}
	/* Passes over the batch so the connection lookups' cache misses
	 * overlap instead of queueing one after another (at 1M connections
	 * nearly every lookup misses on the bucket, on the entry's two or
	 * three cache lines, and often on a second node of the chain). */
	for (unsigned i = 0; i < n; i++) {
		const struct pkt_tuple *t = &pi[i].t;
		pr[i] = pkt_parse(&pkts[i], &pi[i]);
		lookup[i] = pr[i] == PARSE_OK && (pi[i].flags & PKT_F_L4) &&
			    !(pi[i].flags & PKT_F_ICMP_ERR) &&
			    (t->proto == IPPROTO_TCP_ || t->proto == IPPROTO_UDP_);
		if (lookup[i])
			bucket[i] = conn_prefetch_bucket(e->ct, t->af, t->proto, &t->saddr,
							 t->sport, &t->daddr, t->dport);
	}
	if (conn_count(e->ct) >= ULVS_PREFETCH_MIN_CONNS) {
		for (unsigned i = 0; i < n; i++)
			if (lookup[i])
				conn_prefetch_entry(e->ct, bucket[i]);
		/* By now the heads have arrived: their chain links name
		 * the second nodes, which a lookup needs whenever the head
		 * is another connection or the other direction's node. */
		for (unsigned i = 0; i < n; i++)
			if (lookup[i])
				conn_prefetch_next(e->ct, bucket[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		engine_one(e, &pkts[i], &v[i], pr[i], &pi[i], now_ns);
		tx += v[i].kind == VERDICT_TX;
	}
	return tx;
}

struct engine *engine_new(const struct engine_params *p, const struct fib *fib,
			  struct svc_table *svcs, uint64_t now_ns)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (p)
		e->params = *p;
	e->fib = fib;
	e->svcs = svcs;
	steer_cfg_init(&e->steer, NULL, 1);
	e->ct = conn_table_new(e->params.conn_capacity ? e->params.conn_capacity
						       : ULVS_DEFAULT_CONNS,
			       now_ns, engine_release_cb, e);
	if (!e->ct || engine_sync_lpools(e)) {
		engine_free(e);
		return NULL;
	}
	/* The table starts with the IPVS defaults; zero entries keep them. */
	conn_table_set_timeouts(e->ct, &e->params.timeouts);
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	/* Freeing the table runs no callbacks that could reach the pools. */
	conn_table_free(e->ct);
	for (uint32_t i = 0; i < e->lpools_size; i++)
		lport_pool_free(e->lpools[i].pool);
	free(e->lpools);
	free(e->dstats);
	free(e->sstats);
	free(e);
}

static void free_lpools(struct engine *e)
{
	for (uint32_t i = 0; i < e->lpools_size; i++)
		lport_pool_free(e->lpools[i].pool);
	free(e->lpools);
	e->lpools = NULL;
	e->lpools_size = e->n_lpools = 0;
}

int engine_set_worker(struct engine *e, unsigned worker, unsigned n_workers)
{
	if (!n_workers || worker >= n_workers || n_workers > ULVS_MAX_WORKERS)
		return -EINVAL;
	if (conn_count(e->ct))
		return -EBUSY;
	if (n_workers > 1 && !e->dstats) {
		e->dstats = calloc(ULVS_MAX_DESTS, sizeof(*e->dstats));
		e->sstats = calloc(ULVS_MAX_SERVICES, sizeof(*e->sstats));
		if (!e->dstats || !e->sstats) {
			free(e->dstats);
			free(e->sstats);
			e->dstats = NULL;
			e->sstats = NULL;
			return -ENOMEM;
		}
	}
	e->worker = (uint16_t)worker;
	e->n_workers = (uint16_t)n_workers;
	/* Pools hold this worker's residue class of ports only. */
	free_lpools(e);
	return engine_sync_lpools(e);
}

const struct engine_params *engine_get_params(const struct engine *e)
{
	return &e->params;
}

void engine_group_reset(struct engine *leader)
{
	leader->n_members = 0;
	steer_cfg_init(&leader->steer, NULL, 1);
}

unsigned engine_worker(const struct engine *e)
{
	return e->worker;
}

int engine_group_join(struct engine *leader, struct engine *member)
{
	if (leader->n_members == 0) {
		leader->members[leader->n_members++] = leader;
		/* From the table as it is now, never again: a new steering
		 * would move clients away from their connections. */
		steer_cfg_init(&leader->steer, leader->svcs, leader->n_workers);
	}
	if (member == leader)
		return 0;
	if (leader->n_members == ULVS_MAX_WORKERS)
		return -ENOSPC;
	leader->members[leader->n_members++] = member;
	member->conn_cb = leader->conn_cb;
	member->conn_cb_arg = leader->conn_cb_arg;
	return 0;
}

const struct steer_cfg *engine_steer(const struct engine *e)
{
	return &e->steer;
}

unsigned engine_group_size(const struct engine *e)
{
	return e->n_members ? e->n_members : 1;
}

struct engine *engine_group_member(struct engine *e, unsigned i)
{
	if (!e->n_members)
		return i == 0 ? e : NULL;
	return i < e->n_members ? e->members[i] : NULL;
}

/* Adds n uint64_t counters from `from` to `to` and zeroes `from`; false
 * when there was nothing to add (the common case: most ids are idle). */
static bool fold_counters(uint64_t *to, uint64_t *from, size_t n)
{
	uint64_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= from[i];
	if (!any)
		return false;
	for (size_t i = 0; i < n; i++) {
		to[i] += from[i];
		from[i] = 0;
	}
	return true;
}

/* struct dest_stats and struct svc_stats are runs of uint64_t counters. */
#define FOLD(to, from) fold_counters((uint64_t *)(to), (uint64_t *)(from), \
				     sizeof(*(from)) / sizeof(uint64_t))

void engine_fold_stats(struct engine *e)
{
	struct svc_table *t = e->svcs;

	for (unsigned m = 0; t && m < engine_group_size(e); m++) {
		struct engine *w = engine_group_member(e, m);
		if (!w->dstats)
			continue;
		for (uint32_t i = 0; i < t->n_dests && i < ULVS_MAX_DESTS; i++)
			FOLD(&t->dests[i].stats, &w->dstats[i]);
		for (uint32_t i = 0; i < t->n_svcs && i < ULVS_MAX_SERVICES; i++)
			FOLD(&t->svcs[i].stats, &w->sstats[i]);
	}
}

void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s)
{
	const uint64_t *from = (const uint64_t *)s;
	uint64_t *to = (uint64_t *)sum;

	/* Every field is a uint64_t counter. */
	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		to[i] += from[i];
}

const struct engine_stats *engine_stats_total(struct engine *e)
{
	if (!e->n_members)
		return &e->st;
	memset(&e->sum, 0, sizeof(e->sum));
	for (unsigned m = 0; m < e->n_members; m++)
		engine_stats_add(&e->sum, &e->members[m]->st);
	return &e->sum;
}

uint32_t engine_conn_count(struct engine *e)
{
	uint32_t n = 0;

	for (unsigned m = 0; m < engine_group_size(e); m++)
		n += conn_count(engine_group_member(e, m)->ct);
	return n;
}

void engine_set_services(struct engine *e, struct svc_table *svcs)
{
	for (unsigned m = 0; m < engine_group_size(e); m++) {
		struct engine *w = engine_group_member(e, m);
		w->svcs = svcs;
		/* On ENOMEM the new local addresses have no pool: FULLNAT
		 * connections through them are refused (lport_exhausted)
		 * rather than mis-tracked. */
		(void)engine_sync_lpools(w);
	}
}

void engine_set_fib(struct engine *e, const struct fib *fib)
{
	for (unsigned m = 0; m < engine_group_size(e); m++)
		engine_group_member(e, m)->fib = fib;
}

/* As ipvsadm --set: zero entries keep their current value. */
void engine_set_timeouts(struct engine *e, const struct conn_timeouts *to)
{
	conn_table_set_timeouts(e->ct, to);
}

void engine_set_conn_cb(struct engine *e, engine_conn_cb cb, void *arg)
{
	e->conn_cb = cb;
	e->conn_cb_arg = arg;
}

/* --- connections learned from a peer (connection sync) -------------------- */

static struct dest *import_find_dest(struct svc_table *t, const struct svc *s,
				     const struct conn *in)
{
	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		/* a portless real server of a port-zero or fwmark service took
		 * the packet's port (engine_schedule) */
		if (d->af == in->af && addr_eq(&d->addr, &in->daddr) &&
		    (d->port == in->dport || !d->port))
			return d;
	}
	if (s->sorry_dest >= 0 && (uint32_t)s->sorry_dest < t->n_dests) {
		struct dest *d = &t->dests[s->sorry_dest];
		if (d->af == in->af && addr_eq(&d->addr, &in->daddr) &&
		    (d->port == in->dport || !d->port))
			return d;
	}
	return NULL;
}

/* Apply a state from the peer, with the active/inactive move on the dest. */
static void import_state(struct engine *e, struct conn *c, enum conn_state st,
			 uint32_t expire_ms, uint64_t now)
{
	uint16_t before = c->flags;
	int delta;
	struct dest *d;

	conn_sync_state(e->ct, c, st, expire_ms, now);
	delta = conn_active_delta(before, c);
	d = delta ? conn_dest(e, c) : NULL;
	if (!d)
		return;
	dest_shift_active(d, delta);
}

static int engine_conn_import_one(struct engine *e, const struct conn *in, uint32_t fwmark,
				  uint32_t expire_ms, uint64_t now_ns);

int engine_conn_import(struct engine *e, const struct conn *in, uint32_t fwmark,
		       uint32_t expire_ms, uint64_t now_ns)
{
	if (e->n_members > 1) {
		/* A group: the worker the connection's packets steer to owns
		 * it (steer.h); a FULLNAT connection's local port must be of
		 * that worker's class too, which holds when both directors run
		 * as many workers. */
		unsigned w = steer_conn(&e->steer, in);
		if (w >= e->n_members)
			return -EINVAL;
		if (in->fwd == FWD_FNAT && !(in->flags & CONN_F_TEMPLATE)) {
			const uint8_t *pb = (const uint8_t *)&in->lport;
			if (((unsigned)pb[0] << 8 | pb[1]) % e->n_members != w)
				return -EXDEV;
		}
		return engine_conn_import_one(e->members[w], in, fwmark, expire_ms, now_ns);
	}
	return engine_conn_import_one(e, in, fwmark, expire_ms, now_ns);
}

static int engine_conn_import_one(struct engine *e, const struct conn *in, uint32_t fwmark,
				  uint32_t expire_ms, uint64_t now_ns)
{
	struct svc_table *t = e->svcs;
	bool tmpl = in->flags & CONN_F_TEMPLATE;
	uint8_t proto = in->proto;
	uint16_t vport = in->vport;
	struct svc *s;
	struct dest *d;
	struct conn c, *old;
	enum conn_dir dir;

	if (!t || (in->af != ULVS_AF_INET && in->af != ULVS_AF_INET6) || in->fwd >= FWD_MAX)
		return -EINVAL;
	if (!tmpl && proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
		return -EPROTONOSUPPORT;
	if (tmpl && (in->flags & CONN_F_FWMARK)) {
		/* a fwmark template: proto 0, the mark in vaddr (sched_persist) */
		const uint8_t *m = in->vaddr.b;
		fwmark = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	}
	s = svc_lookup(t, (enum ulvs_af)in->af, tmpl && !proto ? IPPROTO_TCP_ : proto,
		       &in->vaddr, vport, fwmark);
	if (tmpl && !s && !proto)
		s = svc_lookup(t, (enum ulvs_af)in->af, IPPROTO_UDP_, &in->vaddr, vport, fwmark);
	if (!s)
		return -ENOENT;
	d = import_find_dest(t, s, in);
	if (!d)
		return -ENOENT;

	if (tmpl) {
		old = conn_tmpl_lookup(e->ct, in->af, proto, &in->caddr, in->cport, &in->vaddr,
				       in->vport);
		if (old && old->dest_id != d->id) {
			conn_free(e->ct, old);
			old = NULL;
		}
		if (old) {
			conn_sync_state(e->ct, old, CS_NONE, expire_ms, now_ns);
			return 0;
		}
		c = *in;
		c.dest_id = d->id;
		c.svc_id = s->id;
		c.control = CONN_NONE;
		c.laddr = in->caddr;
		old = conn_tmpl_insert(e->ct, &c, s->timeout * 1000u, now_ns);
		if (!old)
			return -ENOSPC;
		dest_bind(d, old);
		conn_sync_state(e->ct, old, CS_NONE, expire_ms, now_ns);
		return 0;
	}

	old = conn_lookup(e->ct, in->af, proto, &in->caddr, in->cport, &in->vaddr, in->vport, &dir);
	if (old && dir != CONN_DIR_IN)
		return -EEXIST; /* the tuple is another connection's reply key */
	if (old && (old->dest_id != d->id || old->dport != in->dport || old->fwd != in->fwd ||
		    (in->fwd == FWD_FNAT &&
		     (!addr_eq(&old->laddr, &in->laddr) || old->lport != in->lport)))) {
		/* ip_vs_proc_conn: the client's tuple now goes elsewhere.  An
		 * inactive report may be the last word on the connection that
		 * was replaced; only an active one replaces. */
		if (in->flags & CONN_F_INACTIVE)
			return 0;
		conn_free(e->ct, old);
		old = NULL;
	}
	if (old) {
		old->flags |= in->flags & (CONN_F_OUT_SEEN | CONN_F_OUT_NONSYN | CONN_F_TOA_DONE);
		import_state(e, old, (enum conn_state)in->state, expire_ms, now_ns);
		return 0;
	}

	c = *in;
	c.dest_id = d->id;
	c.svc_id = s->id;
	c.control = CONN_NONE;
	c.flags &= CONN_F_OUT_SEEN | CONN_F_OUT_NONSYN | CONN_F_TOA_DONE | CONN_F_SORRY;
	if (c.fwd == FWD_FNAT) {
		struct lport_pool *lp = engine_lpool(e, c.af, &c.laddr);
		int r;

		if (!lp)
			return -EADDRNOTAVAIL;
		r = lport_take(lp, c.lport);
		if (r)
			return r == -EBUSY ? -EADDRINUSE : r;
		for (uint32_t j = 0; j < s->n_laddrs; j++)
			if (s->laddrs[j].af == c.af && addr_eq(&s->laddrs[j].addr, &c.laddr))
				c.laddr_idx = (uint8_t)j;
	} else {
		c.laddr = c.caddr;
		c.lport = c.cport;
	}
	old = conn_insert(e->ct, &c, now_ns);
	if (!old) {
		if (c.fwd == FWD_FNAT)
			lport_release(engine_lpool(e, c.af, &c.laddr), c.lport);
		return -ENOSPC;
	}
	dest_bind(d, old);
	conn_sync_state(e->ct, old, (enum conn_state)old->state, expire_ms, now_ns);
	if (s->flags & SVC_F_PERSISTENT) {
		/* Tie it to its template when the peer sent that too, so the
		 * template lives as long as the connection (as on the master). */
		unsigned full = c.af == ULVS_AF_INET ? 32 : 128;
		unsigned plen = s->netmask && s->netmask < full ? s->netmask : full;
		union ulvs_addr snet = addr_mask((enum ulvs_af)c.af, &c.caddr, plen);
		union ulvs_addr vaddr = c.vaddr;
		uint8_t tproto = c.proto;
		uint16_t tport = s->port;
		struct conn *tp;

		if (s->fwmark) {
			uint8_t m[4] = { (uint8_t)(s->fwmark >> 24), (uint8_t)(s->fwmark >> 16),
					 (uint8_t)(s->fwmark >> 8), (uint8_t)s->fwmark };
			memset(&vaddr, 0, sizeof(vaddr));
			memcpy(&vaddr.ip, m, 4);
			tproto = 0;
			tport = 0;
		}
		tp = conn_tmpl_lookup(e->ct, c.af, tproto, &snet, 0, &vaddr, tport);
		if (tp && tp->dest_id == d->id)
			conn_set_control(e->ct, old, tp);
	}
	return 0;
}

const struct engine_stats *engine_stats(const struct engine *e)
{
	return &e->st;
}

struct conn_table *engine_conns(struct engine *e)
{
	return e->ct;
}

struct svc_table *engine_services(struct engine *e)
{
	return e->svcs;
}
