/* Config model -> data plane tables (see build.h).
 *
 * One pass over the validated model: virtual servers become services (a
 * virtual_server_group fans out into one service per address, port and mark
 * of the group, all with the same real servers, as IPVS sees it when
 * keepalived programs it), real and sorry servers become dests, local address
 * groups become FULLNAT pools, fwmark_rule blocks become classification
 * rules, ulvs_defs becomes the fib.  In replay mode the fib is completed with
 * what netlink would have told a live daemon (an interface, default routes,
 * neighbour MACs); ulvs.conf(5) documents exactly what is synthesized.
 *
 * Errors carry the location of the config block that caused them and do not
 * stop the build, so one run reports every problem; the first error's code
 * is returned and the caller discards the half-built tables.
 */
#include "build.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

#include "core/conn.h"
#include "core/fib.h"
#include "core/service.h"

struct bctx {
	const struct conf *c;
	const struct build_opts *o;
	struct svc_table *t;
	struct fib *f;
	FILE *err;
	int rc;
};

static void berr(struct bctx *b, const struct conf_loc *at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void berr(struct bctx *b, const struct conf_loc *at, int rc, const char *fmt, ...)
{
	va_list ap;
	if (b->err) {
		fprintf(b->err, "%s:%u:%u: error: ", at->file ? at->file : "?", at->line, at->col);
		va_start(ap, fmt);
		vfprintf(b->err, fmt, ap);
		va_end(ap);
		fputc('\n', b->err);
	}
	if (!b->rc)
		b->rc = rc < 0 ? rc : -EINVAL;
}

static void bwarn(struct bctx *b, const struct conf_loc *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bwarn(struct bctx *b, const struct conf_loc *at, const char *fmt, ...)
{
	va_list ap;
	if (!b->err)
		return;
	fprintf(b->err, "%s:%u:%u: warning: ", at->file ? at->file : "?", at->line, at->col);
	va_start(ap, fmt);
	vfprintf(b->err, fmt, ap);
	va_end(ap);
	fputc('\n', b->err);
}

/* The k-th address of a keepalived range: the last byte (IPv4) or last
 * 16-bit group (IPv6) counts up. */
static union ulvs_addr range_addr(const struct conf_addr *first, uint32_t k)
{
	union ulvs_addr a = first->a;
	if (first->af == ULVS_AF_INET) {
		a.b[3] = (uint8_t)(a.b[3] + k);
	} else {
		unsigned g = (unsigned)(a.b[14] << 8 | a.b[15]) + k;
		a.b[14] = (uint8_t)(g >> 8);
		a.b[15] = (uint8_t)g;
	}
	return a;
}

static int iface_by_name(const struct fib *f, const char *name)
{
	for (unsigned i = 0; i < f->n_ifaces; i++)
		if (!strcmp(f->ifaces[i].name, name))
			return (int)i;
	return -1;
}

static bool is_loopback(uint8_t af, const union ulvs_addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	return af == ULVS_AF_INET ? a->b[0] == 127 : !memcmp(a->b, v6lo, 16);
}

/* Is a an address of the director itself?  Then a sorry server there is
 * served by the kernel's own stack (FWD_LOCAL).  Live mode learns the rest
 * of the local addresses from the kernel. */
static bool is_local_addr(const struct conf *c, uint8_t af, const union ulvs_addr *a)
{
	if (is_loopback(af, a))
		return true;
	for (unsigned i = 0; i < c->ulvs.n_ifaces; i++)
		for (unsigned k = 0; k < c->ulvs.ifaces[i].n_addrs; k++)
			if (c->ulvs.ifaces[i].addrs[k].af == af &&
			    addr_eq(&c->ulvs.ifaces[i].addrs[k].a, a))
				return true;
	for (unsigned i = 0; i < c->n_vrrps; i++)
		for (unsigned k = 0; k < c->vrrps[i].n_vips; k++)
			if (c->vrrps[i].vips[k].p.af == af && addr_eq(&c->vrrps[i].vips[k].p.a, a))
				return true;
	for (unsigned i = 0; i < c->n_vs; i++)
		if (c->vs[i].kind == CONF_VS_ADDR && c->vs[i].addr.af == af &&
		    addr_eq(&c->vs[i].addr.a, a))
			return true;
	return false;
}

static struct ulvs_mac synth_mac(const union ulvs_addr *a, uint8_t af)
{
	/* 02:00 (locally administered, unicast) + the 4 low bytes of the address */
	const uint8_t *low = af == ULVS_AF_INET ? a->b : a->b + 12;
	struct ulvs_mac m = { { 0x02, 0x00, low[0], low[1], low[2], low[3] } };
	return m;
}

/* ---- fib ---- */

static bool has_route(const struct fib *f, uint8_t af, const union ulvs_addr *p, unsigned plen)
{
	union ulvs_addr m = addr_mask(af, p, plen);
	for (unsigned i = 0; i < f->n_routes; i++)
		if (f->routes[i].af == af && f->routes[i].plen == plen &&
		    addr_eq(&f->routes[i].prefix, &m))
			return true;
	return false;
}

/* The interface that reaches addr on link, by the routes so far. */
static int onlink_iface(const struct fib *f, uint8_t af, const union ulvs_addr *addr)
{
	const struct fib_route *r = fib_find_route(f, af, addr);
	if (r && addr_is_zero(&r->gateway))
		return r->iface;
	if (f->n_ifaces == 1)
		return 0;
	return -1;
}

static void synth_neigh(struct bctx *b, uint8_t af, const union ulvs_addr *a,
			const struct conf_loc *at, bool is_gateway)
{
	if (fib_find_neigh(b->f, af, a))
		return;
	const struct fib_route *r = fib_find_route(b->f, af, a);
	if (!r) {
		bwarn(b, at, "no route to this address; replay will drop its packets (declare a "
		      "route in ulvs_defs)");
		return;
	}
	if (!addr_is_zero(&r->gateway)) {
		/* a gateway must be on link; one reached through another
		 * gateway is a routing loop the kernel would refuse too */
		if (is_gateway)
			bwarn(b, at, "gateway is not on link (its route goes via another gateway)");
		else
			synth_neigh(b, af, &r->gateway, at, true);
		return;
	}
	struct ulvs_mac m = synth_mac(a, af);
	int rc = fib_add_neigh(b->f, af, a, &m, r->iface);
	if (rc)
		berr(b, at, rc, "cannot add a neighbour entry: %s", strerror(-rc));
}

static void build_fib(struct bctx *b)
{
	const struct conf_ulvs *u = &b->c->ulvs;
	struct fib *f = b->f;
	fib_init(f);

	for (unsigned i = 0; i < u->n_ifaces; i++) {
		const struct conf_iface *ci = &u->ifaces[i];
		struct ulvs_mac mac = { { 0 } };
		if (ci->has_mac)
			mac = ci->mac;
		else if (b->o->replay)
			mac = (struct ulvs_mac){ { 0x02, 0, 0, 0, 0, (uint8_t)(i + 1) } };
		/* live mode: a zero MAC is filled in from the kernel */
		int id = fib_add_iface(f, ci->name, &mac, (uint16_t)ci->mtu, 0);
		if (id < 0) {
			berr(b, &ci->loc, id, "too many interfaces (at most %d)", ULVS_MAX_IFACES);
			continue;
		}
		struct fib_iface *fi = &f->ifaces[id];
		for (unsigned k = 0; k < ci->n_addrs; k++) {
			const struct conf_prefix *a = &ci->addrs[k];
			if (a->af == ULVS_AF_INET && !fi->has_addr4) {
				fi->addr4 = a->a;
				fi->has_addr4 = 1;
			} else if (a->af == ULVS_AF_INET6 && !fi->has_addr6) {
				fi->addr6 = a->a;
				fi->has_addr6 = 1;
			}
			/* the kernel adds the connected route of an address/len */
			if (a->plen && !has_route(f, a->af, &a->a, a->plen)) {
				int rc = fib_add_route(f, a->af, &a->a, a->plen, NULL, (uint16_t)id);
				if (rc)
					berr(b, &ci->loc, rc, "cannot add connected route: %s",
					     strerror(-rc));
			}
		}
	}
	if (b->o->replay && u->n_ifaces == 0) {
		struct ulvs_mac mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
		union ulvs_addr zero = { .q = { 0, 0 } };
		fib_add_iface(f, "eth0", &mac, 1500, 0);
		fib_add_route(f, ULVS_AF_INET, &zero, 0, NULL, 0);
		fib_add_route(f, ULVS_AF_INET6, &zero, 0, NULL, 0);
	}
	/* routes with a device first, so gateway-only routes can resolve */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < u->n_routes; i++) {
			const struct conf_route *r = &u->routes[i];
			if ((pass == 0) != (r->dev[0] != 0))
				continue;
			int id = r->dev[0] ? iface_by_name(f, r->dev)
					   : onlink_iface(f, r->via.af, &r->via.a);
			if (id < 0) {
				berr(b, &r->loc, -ENETUNREACH, "cannot tell which interface reaches "
				     "the gateway; add 'dev IFNAME'");
				continue;
			}
			int rc = fib_add_route(f, r->dst.af, &r->dst.a, r->dst.plen,
					       r->via.af ? &r->via.a : NULL, (uint16_t)id);
			if (rc)
				berr(b, &r->loc, rc, "cannot add route: %s", strerror(-rc));
		}
	}
	for (unsigned i = 0; i < u->n_neighs; i++) {
		const struct conf_neigh *n = &u->neighs[i];
		int id = n->dev[0] ? iface_by_name(f, n->dev) : onlink_iface(f, n->addr.af, &n->addr.a);
		if (id < 0) {
			berr(b, &n->loc, -EHOSTUNREACH, "no interface reaches this neighbor on "
			     "link; add 'dev IFNAME'");
			continue;
		}
		int rc = fib_add_neigh(f, n->addr.af, &n->addr.a, &n->mac, (uint16_t)id);
		if (rc)
			berr(b, &n->loc, rc, "cannot add neighbor: %s", strerror(-rc));
	}
}

/* Replay has no kernel to resolve next hops: give every gateway and every
 * on-link real/sorry server a made-up MAC (ulvs.conf(5), REPLAY MODE). */
static void synth_neighbours(struct bctx *b)
{
	const struct conf *c = b->c;
	for (unsigned i = 0; i < c->ulvs.n_routes; i++)
		if (c->ulvs.routes[i].via.af)
			synth_neigh(b, c->ulvs.routes[i].via.af, &c->ulvs.routes[i].via.a,
				    &c->ulvs.routes[i].loc, true);
	for (unsigned i = 0; i < c->n_vs; i++) {
		const struct conf_vs *vs = &c->vs[i];
		for (unsigned k = 0; k < vs->n_rs; k++)
			synth_neigh(b, vs->rs[k].addr.af, &vs->rs[k].addr.a, &vs->rs[k].loc, false);
		if (vs->has_sorry && !is_local_addr(c, vs->sorry.addr.af, &vs->sorry.addr.a))
			synth_neigh(b, vs->sorry.addr.af, &vs->sorry.addr.a, &vs->sorry.loc, false);
	}
}

/* ---- services ---- */

static uint32_t svc_flags_of(const struct conf_vs *vs)
{
	uint32_t f = 0, sf = vs->sched_flags;
	if (vs->persistence_timeout)
		f |= SVC_F_PERSISTENT;
	if (sf & CONF_SF_OPS)
		f |= SVC_F_ONEPACKET;
	/* IPVS: sh-fallback / mh-fallback are flag-1, sh-port / mh-port flag-2 */
	if (sf & (CONF_SF_FLAG1 | CONF_SF_SH_FALLBACK | CONF_SF_MH_FALLBACK))
		f |= SVC_F_SCHED1;
	if (sf & (CONF_SF_FLAG2 | CONF_SF_SH_PORT | CONF_SF_MH_PORT))
		f |= SVC_F_SCHED2;
	if (sf & CONF_SF_FLAG3)
		f |= SVC_F_SCHED3;
	return f;
}

static const char *svc_errstr(int rc)
{
	switch (rc) {
	case -ENOSPC:
		return "too many virtual services (ULVS_MAX_SERVICES)";
	case -EEXIST:
		return "the same service is defined by another virtual_server";
	case -ENOENT:
		return "the scheduler is not available in this build";
	default:
		return strerror(-rc);
	}
}

static void fill_dest(struct dest *d, const struct conf_rs *rs, bool sorry, const struct conf *c)
{
	memset(d, 0, sizeof(*d));
	d->addr = rs->addr.a;
	d->af = rs->addr.af;
	d->port = htons((uint16_t)rs->port);
	d->fwd = rs->fwd;
	if (sorry && is_local_addr(c, rs->addr.af, &rs->addr.a))
		d->fwd = FWD_LOCAL; /* the engine passes these packets to the kernel */
	d->weight = sorry ? 1 : rs->weight;
	d->u_threshold = rs->uthreshold;
	d->l_threshold = rs->lthreshold;
	/* Replay takes every server as healthy (all_healthy).  Live mode marks
	 * them available too until the health checkers exist and own this flag
	 * (the checker issue: check/ sets and clears DEST_F_AVAILABLE). */
	d->flags = DEST_F_AVAILABLE;
}

static void build_one_svc(struct bctx *b, const struct conf_vs *vs, struct svc *tmpl,
			  const struct conf_loc *at)
{
	const struct conf *c = b->c;
	struct svc *s;
	int rc = svc_add(b->t, tmpl, vs->sched, &s);
	if (rc) {
		berr(b, at, rc, "cannot add virtual server: %s", svc_errstr(rc));
		return;
	}
	for (unsigned i = 0; i < vs->n_rs; i++) {
		struct dest d;
		struct dest *added = NULL;
		fill_dest(&d, &vs->rs[i], false, c);
		rc = svc_add_dest(b->t, s, &d, &added);
		if (!rc && b->o && b->o->on_dest)
			b->o->on_dest(b->o->on_dest_arg, vs, &vs->rs[i], s, added);
		if (rc)
			berr(b, &vs->rs[i].loc, rc, "cannot add real server: %s",
			     rc == -ENOSPC ? "too many real servers (ULVS_MAX_DESTS)" : strerror(-rc));
	}
	if (vs->has_sorry) {
		struct dest d;
		fill_dest(&d, &vs->sorry, true, c);
		rc = svc_set_sorry(b->t, s, &d);
		if (rc)
			berr(b, &vs->sorry.loc, rc, "cannot set sorry server: %s", strerror(-rc));
	}
	if (vs->lag >= 0) {
		const struct conf_laddr_group *g = &c->lags[vs->lag];
		for (unsigned i = 0; i < g->n_entries; i++) {
			const struct conf_laddr *e = &g->entries[i];
			for (uint32_t k = 0; k < e->count; k++) {
				union ulvs_addr a = range_addr(&e->first, k);
				int id = e->ifname[0] ? iface_by_name(b->f, e->ifname) : -1;
				if (id < 0) {
					const struct fib_route *r = fib_find_route(b->f, e->first.af, &a);
					id = r ? r->iface : 0;
				}
				rc = svc_add_laddr(s, e->first.af, &a, (uint16_t)id);
				if (rc == -ENOSPC) {
					berr(b, &e->loc, rc, "more than %d local addresses for one "
					     "virtual server", ULVS_MAX_LADDRS);
					break;
				} else if (rc && rc != -EEXIST) {
					berr(b, &e->loc, rc, "cannot add local address: %s",
					     strerror(-rc));
				}
			}
		}
	}
	rc = svc_commit(b->t, s);
	if (rc)
		berr(b, at, rc, "cannot commit virtual server: %s", strerror(-rc));
}

static void build_vs(struct bctx *b, const struct conf_vs *vs)
{
	struct svc tmpl;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = vs->af;
	tmpl.proto = vs->proto;
	tmpl.flags = svc_flags_of(vs);
	tmpl.timeout = vs->persistence_timeout;
	tmpl.netmask = vs->persistence_plen;

	if (vs->kind == CONF_VS_ADDR) {
		tmpl.addr = vs->addr.a;
		tmpl.port = htons((uint16_t)vs->port);
		build_one_svc(b, vs, &tmpl, &vs->loc);
		return;
	}
	if (vs->kind == CONF_VS_FWMARK) {
		tmpl.fwmark = vs->fwmark;
		tmpl.proto = 0;
		build_one_svc(b, vs, &tmpl, &vs->loc);
		return;
	}
	const struct conf_vsg *g = &b->c->vsgs[vs->vsg];
	for (unsigned i = 0; i < g->n_entries; i++) {
		const struct conf_vsg_entry *e = &g->entries[i];
		struct svc t2 = tmpl;
		if (e->is_fwmark) {
			t2.fwmark = e->fwmark;
			t2.proto = 0;
			build_one_svc(b, vs, &t2, &e->loc);
			continue;
		}
		for (uint32_t k = 0; k < e->count; k++) {
			t2.af = e->first.af;
			t2.addr = range_addr(&e->first, k);
			t2.port = htons((uint16_t)e->port);
			if (!e->port)
				t2.flags |= SVC_F_PERSISTENT;
			build_one_svc(b, vs, &t2, &e->loc);
		}
	}
}

int build_dataplane(const struct conf *c, const struct build_opts *o, struct svc_table *t,
		    struct fib *f, struct engine_params *p, FILE *err)
{
	static const struct build_opts none = { false, false };
	struct bctx b = { c, o ? o : &none, t, f, err, 0 };
	const struct conf_global *g = &c->global;

	memset(p, 0, sizeof(*p));
	p->conn_capacity = c->ulvs.conn_table_size;
	conn_timeouts_default(&p->timeouts);
	/* ipvsadm --set tcp tcpfin udp: ESTABLISHED, FIN_WAIT and UDP */
	if (g->lvs_timeout_tcp)
		p->timeouts.ms[CS_ESTABLISHED] = g->lvs_timeout_tcp * 1000u;
	if (g->lvs_timeout_tcpfin)
		p->timeouts.ms[CS_FIN_WAIT] = g->lvs_timeout_tcpfin * 1000u;
	if (g->lvs_timeout_udp)
		p->timeouts.ms[CS_UDP] = g->lvs_timeout_udp * 1000u;
	p->expire_nodest_conn = c->ulvs.expire_nodest_conn;
	p->expire_quiescent_template = c->ulvs.expire_quiescent_template;
	p->conn_reuse_mode = c->ulvs.conn_reuse_mode;

	build_fib(&b);
	if (b.o->replay)
		synth_neighbours(&b);

	for (unsigned i = 0; i < c->n_marks; i++) {
		const struct conf_mark_rule *cr = &c->marks[i];
		struct mark_rule r;
		memset(&r, 0, sizeof(r));
		r.af = cr->dst.af;
		r.proto = cr->proto;
		r.plen = cr->dst.plen;
		r.prefix = cr->dst.a;
		r.n_ports = (uint8_t)cr->n_ports;
		for (unsigned k = 0; k < cr->n_ports; k++) {
			r.port_lo[k] = cr->port_lo[k];
			r.port_hi[k] = cr->port_hi[k];
		}
		r.mark = cr->mark;
		int rc = svc_add_mark_rule(t, &r);
		if (rc)
			berr(&b, &cr->loc, rc, "cannot add fwmark_rule: %s",
			     rc == -ENOSPC ? "too many rules (ULVS_MAX_MARK_RULES)" : strerror(-rc));
	}
	for (unsigned i = 0; i < c->n_vs; i++)
		build_vs(&b, &c->vs[i]);
	return b.rc;
}
