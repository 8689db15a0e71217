/* Hitless configuration reload (see reload.h).
 *
 * Three tables take part: the live one (with its connections, counters and
 * whatever ulvsadm changed), the one the config in force builds ("old") and
 * the one the new config builds ("next").  Services and real servers are
 * matched by key - (af, proto, addr, port) or (af, fwmark), and (af, addr,
 * port) - never by position, so reordering a file changes nothing.  A key
 * the old config did not own is not ours to delete, as keepalived's
 * clear_diff_services only removes what its previous config created.
 *
 * The order matters: the batch is checked whole by ctl_ops_apply() before
 * anything moves; sorry servers and firewall-mark rules (which ipvsadm
 * cannot express) follow, after a check that the slots they need exist;
 * then the director's map, then the checkers, and only then is the previous
 * config freed, because until then the map, the checkers and the checker
 * types read it.
 */
#include "daemon/reload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "core/conn.h"
#include "core/fib.h"
#include "core/sched/sched.h"
#include "core/service.h"
#include "ctl/ctl_ops.h"
#include "daemon/build.h"

#define RELOAD_MAX_KEPT 4
#define RELOAD_DRAIN_MS 1000

/* A real server the config dropped while connections still used it: at
 * weight 0 until they are gone, then deleted. */
struct drain {
	struct svc key;            /* the service's key fields only */
	uint8_t af;
	uint16_t port;
	union ulvs_addr addr;
};

struct reload {
	struct director *d;
	char *path;
	const char *config_id;
	struct check *check;
	const struct conf *pinned;
	/* configs the director let go of that something still reads */
	struct conf *kept[RELOAD_MAX_KEPT];
	unsigned n_kept;
	struct drain *drain;
	unsigned n_drain;
	struct ev_timer *drain_timer;
};

void reload_set_config_id(struct reload *r, const char *id)
{
	r->config_id = id;
}

struct reload *reload_new(struct director *d, const char *path)
{
	struct reload *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->path = strdup(path);
	if (!r->path) {
		free(r);
		return NULL;
	}
	r->d = d;
	return r;
}

void reload_set_check(struct reload *r, struct check *k)
{
	r->check = k;
}

void reload_pin(struct reload *r, const struct conf *c)
{
	r->pinned = c;
}

void reload_free(struct reload *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_kept; i++)
		conf_free(r->kept[i]);
	if (r->drain_timer)
		ev_timer_cancel(director_loop(r->d), r->drain_timer);
	free(r->drain);
	free(r->path);
	free(r);
}

/* ---- the diff ------------------------------------------------------------- */

struct cmds {
	struct ctl_cmd *c;
	uint32_t n, cap;
	uint32_t n_drain;
	int err;
};

static struct ctl_cmd *cmd_new(struct cmds *b, uint8_t op, const struct svc *s)
{
	struct ctl_cmd *c;

	if (b->err)
		return NULL;
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? 2 * b->cap : 32;
		struct ctl_cmd *nc = realloc(b->c, cap * sizeof(*nc));

		if (!nc) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->c = nc;
		b->cap = cap;
	}
	c = &b->c[b->n++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->has_svc = 1;
	ctl_key_of(s, &c->svc);
	return c;
}

static void svc_cmd(struct cmds *b, uint8_t op, const struct svc *s)
{
	struct ctl_cmd *c = cmd_new(b, op, s);

	if (!c)
		return;
	snprintf(c->sched, sizeof(c->sched), "%s", s->sched ? s->sched->name : "wlc");
	c->svc_flags = s->flags & SVC_F_USER_MASK;
	c->timeout = s->timeout;
	c->netmask = s->netmask;
}

static void dest_cmd(struct cmds *b, uint8_t op, const struct svc *s, const struct dest *d)
{
	struct ctl_cmd *c = cmd_new(b, op, s);

	if (!c)
		return;
	c->dest_af = d->af;
	c->dest_addr = d->addr;
	c->dest_port = d->port;
	c->fwd = d->fwd;
	c->weight = d->weight;
	c->u_threshold = d->u_threshold;
	c->l_threshold = d->l_threshold;
}

static void laddr_cmd(struct cmds *b, uint8_t op, const struct svc *s, const struct laddr *l,
		      const struct fib *fib)
{
	struct ctl_cmd *c = cmd_new(b, op, s);

	if (!c)
		return;
	c->laddr_af = l->af;
	c->laddr = l->addr;
	if (op == CTL_OP_ADD_LADDR && fib)
		for (unsigned i = 0; i < fib->n_ifaces; i++)
			if (fib->ifaces[i].id == l->iface)
				snprintf(c->ifname, sizeof(c->ifname), "%s", fib->ifaces[i].name);
}

static const struct laddr *find_laddr(const struct svc *s, const struct laddr *l)
{
	for (uint32_t i = 0; s && i < s->n_laddrs; i++)
		if (s->laddrs[i].af == l->af && addr_eq(&s->laddrs[i].addr, &l->addr))
			return &s->laddrs[i];
	return NULL;
}

static bool svc_settings_differ(const struct svc *a, const struct svc *b)
{
	const char *na = a->sched ? a->sched->name : "wlc", *nb = b->sched ? b->sched->name : "wlc";

	return strcmp(na, nb) || (a->flags & SVC_F_USER_MASK) != (b->flags & SVC_F_USER_MASK) ||
	       a->timeout != b->timeout || a->netmask != b->netmask;
}

static bool dest_settings_differ(const struct dest *a, const struct dest *b)
{
	return a->fwd != b->fwd || a->weight != b->weight || a->u_threshold != b->u_threshold ||
	       a->l_threshold != b->l_threshold;
}

/* Is (af, addr, port) a real server of the service with s's key in t?
 * t NULL: take everything as owned by the config. */
static bool owned_dest(struct svc_table *t, const struct svc *s, const struct dest *d)
{
	struct svc *o;

	if (!t)
		return true;
	o = svc_find(t, s);
	return o && svc_find_dest(t, o, d->af, &d->addr, d->port);
}

int reload_diff(struct svc_table *live, struct svc_table *old, struct svc_table *next,
		const struct fib *next_fib, bool drain, struct ctl_cmd **out, uint32_t *n)
{
	struct cmds b = { 0 };

	/* Deletions first: a service or real server that moves between keys
	 * frees its slot before the add needs one. */
	for (uint32_t i = 0; i < live->n_svcs; i++) {
		struct svc *ls = &live->svcs[i];
		struct svc *ns;

		if (!svc_live(ls))
			continue;
		ns = svc_find(next, ls);
		if (!ns) {
			if (!old || svc_find(old, ls))
				svc_cmd(&b, CTL_OP_DEL_SVC, ls);
			continue;
		}
		for (uint32_t j = 0; j < ls->n_dests; j++) {
			const struct dest *ld = svc_dest(live, ls, j);

			if (svc_find_dest(next, ns, ld->af, &ld->addr, ld->port) ||
			    !owned_dest(old, ls, ld))
				continue;
			if (ld->activeconns && drain) {
				/* Deleting would drop its connections' packets
				 * (ip_vs_in on an unavailable dest): quiesce it
				 * instead, the caller deletes it once drained. */
				struct dest q = *ld;

				q.weight = 0;
				dest_cmd(&b, CTL_OP_EDIT_DEST, ls, &q);
				b.n_drain++;
			} else {
				dest_cmd(&b, CTL_OP_DEL_DEST, ls, ld);
			}
		}
		for (uint32_t j = 0; j < ls->n_laddrs; j++) {
			struct svc *os = old ? svc_find(old, ls) : NULL;

			if (!find_laddr(ns, &ls->laddrs[j]) &&
			    (!old || find_laddr(os, &ls->laddrs[j])))
				laddr_cmd(&b, CTL_OP_DEL_LADDR, ls, &ls->laddrs[j], NULL);
		}
	}
	for (uint32_t i = 0; i < next->n_svcs; i++) {
		struct svc *ns = &next->svcs[i];
		struct svc *ls, *os;

		if (!svc_live(ns))
			continue;
		ls = svc_find(live, ns);
		os = old && ls ? svc_find(old, ns) : NULL;
		/* Settings are compared with what the config in force asked for
		 * where it had the service (keepalived compares configs): a
		 * weight a checker holds at 0 (inhibit_on_failure) or a
		 * misc_dynamic one is not the config's to reset. */
		if (!ls)
			svc_cmd(&b, CTL_OP_ADD_SVC, ns);
		else if (svc_settings_differ(os ? os : ls, ns))
			svc_cmd(&b, CTL_OP_EDIT_SVC, ns);
		for (uint32_t j = 0; j < ns->n_dests; j++) {
			const struct dest *nd = svc_dest(next, ns, j);
			const struct dest *ld =
				ls ? svc_find_dest(live, ls, nd->af, &nd->addr, nd->port) : NULL;
			const struct dest *od =
				os ? svc_find_dest(old, os, nd->af, &nd->addr, nd->port) : NULL;

			if (!ld)
				dest_cmd(&b, CTL_OP_ADD_DEST, ns, nd);
			else if (dest_settings_differ(od ? od : ld, nd))
				dest_cmd(&b, CTL_OP_EDIT_DEST, ns, nd);
		}
		for (uint32_t j = 0; j < ns->n_laddrs; j++)
			if (!find_laddr(ls, &ns->laddrs[j]))
				laddr_cmd(&b, CTL_OP_ADD_LADDR, ns, &ns->laddrs[j], next_fib);
	}
	if (b.err) {
		free(b.c);
		return b.err;
	}
	*out = b.c;
	*n = b.n;
	return 0;
}

/* ---- what ipvsadm cannot say: sorry servers and mark rules ------------------ */

static bool sorry_same(const struct dest *a, const struct dest *b)
{
	if (!a || !b)
		return a == b;
	return a->af == b->af && a->port == b->port && a->fwd == b->fwd &&
	       addr_eq(&a->addr, &b->addr);
}

static const struct dest *sorry_of(const struct svc_table *t, const struct svc *s)
{
	return s && s->sorry_dest >= 0 ? &t->dests[s->sorry_dest] : NULL;
}

/* Sorry servers that change, counted before anything is applied. */
static uint32_t sorry_changes(struct svc_table *live, struct svc_table *next)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < next->n_svcs; i++) {
		const struct svc *ns = &next->svcs[i];
		const struct dest *nd = sorry_of(next, ns);

		if (svc_live(ns) && nd && !sorry_same(sorry_of(live, svc_find(live, ns)), nd))
			n++;
	}
	return n;
}

/* Dest slots in use (live, or trashed with connections still on them). */
static uint32_t dest_slots_used(const struct svc_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->n_dests; i++)
		if (!(t->dests[i].flags & DEST_F_TRASH) || dest_refs(&t->dests[i]))
			n++;
	return n;
}

static int apply_sorry(struct svc_table *live, struct svc_table *next)
{
	int rc = 0;

	for (uint32_t i = 0; i < next->n_svcs; i++) {
		const struct svc *ns = &next->svcs[i];
		struct svc *ls;
		const struct dest *nd, *ld;

		if (!svc_live(ns) || !(ls = svc_find(live, ns)))
			continue;
		nd = sorry_of(next, ns);
		ld = sorry_of(live, ls);
		if (sorry_same(ld, nd))
			continue;
		if (ld) {
			/* Into the trash like a deleted real server: connections the
			 * old sorry server carries keep their slot (svc_set_sorry
			 * would reinitialise it in place, counters and all). */
			struct dest *od = &live->dests[ls->sorry_dest];

			od->flags = (od->flags & ~(uint32_t)(DEST_F_AVAILABLE | DEST_F_SORRY)) |
				    DEST_F_TRASH;
			ls->sorry_dest = -1;
		}
		if (nd) {
			int e = svc_set_sorry(live, ls, nd);

			if (e && !rc)
				rc = e;
		}
		svc_commit(live, ls);
	}
	return rc;
}

static bool marks_same(const struct svc_table *a, const struct svc_table *b)
{
	return a->n_marks == b->n_marks &&
	       !memcmp(a->marks, b->marks, a->n_marks * sizeof(a->marks[0]));
}

/* ---- parts that need a restart ---------------------------------------------- */

static char *dump_str(const struct conf *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if (conf_dump(c, f) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Compare the parts of a and b that keep (a part of a conf: the rest
 * zeroed) by their effective-config text, which covers every setting and
 * none of the source locations. */
static int dump_differs(const struct conf *a, const struct conf *b)
{
	size_t la = 0, lb = 0;
	char *da = dump_str(a, &la), *db = dump_str(b, &lb);
	int r = (!da || !db) ? -ENOMEM : (la != lb || memcmp(da, db, la) != 0);

	free(da);
	free(db);
	return r;
}

static void fib_part(const struct conf *c, struct conf *p)
{
	memset(p, 0, sizeof(*p));
	p->global = c->global;
	p->global.have_sync_daemon = false;
	p->ulvs.ifaces = c->ulvs.ifaces;
	p->ulvs.n_ifaces = c->ulvs.n_ifaces;
	p->ulvs.routes = c->ulvs.routes;
	p->ulvs.n_routes = c->ulvs.n_routes;
	p->ulvs.neighs = c->ulvs.neighs;
	p->ulvs.n_neighs = c->ulvs.n_neighs;
	/* global_defs is not this part's: the same text on both sides */
	p->global.lvs_timeout_tcp = p->global.lvs_timeout_tcpfin = p->global.lvs_timeout_udp = 0;
}

static void vrrp_part(const struct conf *c, struct conf *p)
{
	memset(p, 0, sizeof(*p));
	p->global = c->global;
	/* applied by the reload (timeouts) or judged on their own (sync) */
	p->global.lvs_timeout_tcp = p->global.lvs_timeout_tcpfin = p->global.lvs_timeout_udp = 0;
	p->global.have_sync_daemon = false;
	p->global.lvs_flush = p->global.lvs_flush_onstop = false;
	p->static_ipaddress = c->static_ipaddress;
	p->n_static_ipaddress = c->n_static_ipaddress;
	p->static_routes = c->static_routes;
	p->n_static_routes = c->n_static_routes;
	p->vrrps = c->vrrps;
	p->n_vrrps = c->n_vrrps;
	p->scripts = c->scripts;
	p->n_scripts = c->n_scripts;
	p->sync_groups = c->sync_groups;
	p->n_sync_groups = c->n_sync_groups;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool sync_same(const struct conf_global *a, const struct conf_global *b)
{
	const struct conf_sync_daemon *x = &a->sync_daemon, *y = &b->sync_daemon;

	if (a->have_sync_daemon != b->have_sync_daemon)
		return false;
	if (!a->have_sync_daemon)
		return true;
	return str_eq(x->interface, y->interface) && str_eq(x->instance, y->instance) &&
	       x->syncid == y->syncid && x->maxlen == y->maxlen && x->port == y->port &&
	       x->ttl == y->ttl && x->group.af == y->group.af &&
	       (!x->group.af || addr_eq(&x->group.a, &y->group.a));
}

int reload_compare(const struct conf *a, const struct conf *b)
{
	const struct conf_ulvs *ua = &a->ulvs, *ub = &b->ulvs;
	struct conf pa, pb;
	int out = 0, r;

	fib_part(a, &pa);
	fib_part(b, &pb);
	if ((r = dump_differs(&pa, &pb)) < 0)
		return r;
	out |= r ? RELOAD_RESTART_FIB : 0;
	vrrp_part(a, &pa);
	vrrp_part(b, &pb);
	if ((r = dump_differs(&pa, &pb)) < 0)
		return r;
	out |= r ? RELOAD_RESTART_VRRP : 0;
	if (ua->conn_table_size != ub->conn_table_size ||
	    ua->expire_nodest_conn != ub->expire_nodest_conn ||
	    ua->expire_quiescent_template != ub->expire_quiescent_template ||
	    ua->conn_reuse_mode != ub->conn_reuse_mode)
		out |= RELOAD_RESTART_ENGINE;
	if (strcmp(ua->control_socket, ub->control_socket) || ua->have_metrics != ub->have_metrics ||
	    (ua->have_metrics &&
	     (ua->metrics_port != ub->metrics_port || ua->metrics_addr.af != ub->metrics_addr.af ||
	      !addr_eq(&ua->metrics_addr.a, &ub->metrics_addr.a))))
		out |= RELOAD_RESTART_LISTEN;
	if (!sync_same(&a->global, &b->global))
		out |= RELOAD_RESTART_SYNC;
	return out;
}

/* ---- the whole reload ------------------------------------------------------- */

struct ents {
	struct director_rs_ent *e;
	unsigned n, cap;
	int err;
};

/* build_opts.on_dest for the scratch build: (vs, rs) -> scratch ids, turned
 * into live ids once the batch is applied. */
static void ent_cb(void *arg, const struct conf_vs *vs, const struct conf_rs *rs,
		   struct svc *s, struct dest *d)
{
	struct ents *x = arg;

	if (x->err)
		return;
	if (x->n == x->cap) {
		unsigned cap = x->cap ? 2 * x->cap : 64;
		struct director_rs_ent *ne = realloc(x->e, cap * sizeof(*ne));

		if (!ne) {
			x->err = -ENOMEM;
			return;
		}
		x->e = ne;
		x->cap = cap;
	}
	x->e[x->n++] = (struct director_rs_ent){ vs, rs, s->id, d->id };
}

struct scratch {
	struct svc_table *t;
	struct fib *f;
	struct engine_params p;
};

static void scratch_free(struct scratch *s)
{
	svc_table_free(s->t);
	free(s->f);
	memset(s, 0, sizeof(*s));
}

static int scratch_build(struct scratch *s, const struct conf *c, struct build_opts *bo,
			 FILE *err)
{
	memset(s, 0, sizeof(*s));
	s->t = svc_table_new();
	s->f = calloc(1, sizeof(*s->f));
	if (!s->t || !s->f) {
		scratch_free(s);
		return -ENOMEM;
	}
	return build_dataplane(c, bo, s->t, s->f, &s->p, err);
}

static bool timeouts_same(const struct engine_params *a, const struct engine_params *b)
{
	static const int st[] = { CS_ESTABLISHED, CS_FIN_WAIT, CS_UDP };

	for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		if (a->timeouts.ms[st[i]] != b->timeouts.ms[st[i]])
			return false;
	return true;
}

static void log_restart(FILE *log, int parts)
{
	static const struct {
		int bit;
		const char *what;
	} names[] = {
		{ RELOAD_RESTART_FIB, "ulvs_defs interfaces, routes or neighbors" },
		{ RELOAD_RESTART_ENGINE, "ulvs_defs conn_table_size / expire_nodest_conn / "
					 "expire_quiescent_template / conn_reuse_mode" },
		{ RELOAD_RESTART_LISTEN, "ulvs_defs control_socket / metrics_listen" },
		{ RELOAD_RESTART_SYNC, "global_defs lvs_sync_daemon" },
		{ RELOAD_RESTART_VRRP, "VRRP (vrrp_instance, vrrp_script, vrrp_sync_group, "
				       "static addresses or VRRP global settings)" },
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (parts & names[i].bit)
			fprintf(log, "ulvsd: reload: %s changed: not applied, restart ulvsd to "
				     "apply (the running values stay)\n", names[i].what);
}

static const char *op_name(uint8_t op)
{
	switch (op) {
	case CTL_OP_ADD_SVC: return "add service";
	case CTL_OP_EDIT_SVC: return "edit service";
	case CTL_OP_DEL_SVC: return "delete service";
	case CTL_OP_ADD_DEST: return "add real server";
	case CTL_OP_EDIT_DEST: return "edit real server";
	case CTL_OP_DEL_DEST: return "delete real server";
	case CTL_OP_ADD_LADDR: return "add local address";
	case CTL_OP_DEL_LADDR: return "delete local address";
	case CTL_OP_SET_TIMEOUT: return "set timeouts";
	default: return "?";
	}
}

static void log_cmd(FILE *log, const struct ctl_cmd *c)
{
	char a[64], b[64] = "";

	if (c->svc.fwmark)
		snprintf(a, sizeof(a), "FWM %u", c->svc.fwmark);
	else if (c->op != CTL_OP_SET_TIMEOUT)
		snprintf(a, sizeof(a), "%s %s:%u", c->svc.proto == 17 ? "UDP" : "TCP",
			 addr_format((enum ulvs_af)c->svc.af, &c->svc.addr, b, sizeof(b)),
			 ntohs(c->svc.port));
	else
		snprintf(a, sizeof(a), "tcp %u tcpfin %u udp %u", c->to_tcp, c->to_tcpfin,
			 c->to_udp);
	if (c->op == CTL_OP_ADD_DEST || c->op == CTL_OP_EDIT_DEST || c->op == CTL_OP_DEL_DEST) {
		char d[48];

		fprintf(log, "ulvsd: reload: %s %s:%u in %s (weight %d)\n", op_name(c->op),
			addr_format((enum ulvs_af)c->dest_af, &c->dest_addr, d, sizeof(d)),
			ntohs(c->dest_port), a, c->weight);
	} else if (c->op == CTL_OP_ADD_LADDR || c->op == CTL_OP_DEL_LADDR) {
		fprintf(log, "ulvsd: reload: %s %s in %s\n", op_name(c->op),
			addr_format((enum ulvs_af)c->laddr_af, &c->laddr, b, sizeof(b)), a);
	} else {
		fprintf(log, "ulvsd: reload: %s %s\n", op_name(c->op), a);
	}
}

/* Keep c alive (something still reads it) or free it. */
static void release_conf(struct reload *r, struct conf *c, bool still_read)
{
	if (!still_read) {
		conf_free(c);
		return;
	}
	for (unsigned i = 0; i < r->n_kept; i++)
		if (r->kept[i] == c)
			return;
	if (r->n_kept < RELOAD_MAX_KEPT) {
		r->kept[r->n_kept++] = c;
		return;
	}
	/* Only a repeatedly failing check_reload() gets here: leaking is
	 * safer than freeing what the checkers read. */
	fprintf(director_log(r->d), "ulvsd: reload: keeping an old config in memory\n");
}

static struct dest *drain_find(struct svc_table *t, const struct drain *dr, struct svc **s)
{
	*s = svc_find(t, &dr->key);
	return *s ? svc_find_dest(t, *s, dr->af, &dr->addr, dr->port) : NULL;
}

static void drain_cb(struct evloop *l, void *arg);

static void drain_arm(struct reload *r)
{
	if (r->n_drain && !r->drain_timer)
		r->drain_timer = ev_timer_add(director_loop(r->d), RELOAD_DRAIN_MS, drain_cb, r);
}

static void drain_cb(struct evloop *l, void *arg)
{
	struct reload *r = arg;
	struct svc_table *t = director_services(r->d);
	unsigned k = 0, deleted = 0;

	r->drain_timer = NULL;
	for (unsigned i = 0; i < r->n_drain; i++) {
		struct svc *s;
		struct dest *d = drain_find(t, &r->drain[i], &s);
		struct ctl_cmd c[1];
		struct ctl_error ce;
		char a[64];

		if (!d || d->weight != 0)
			continue; /* deleted or given weight again by ulvsadm */
		/* Established connections hold it; what is left in TIME_WAIT
		 * (2 min) or as a persistence template carries no data a
		 * client waits for, and must not keep a removed server. */
		if (d->activeconns) {
			r->drain[k++] = r->drain[i];
			continue;
		}
		memset(c, 0, sizeof(c));
		c->op = CTL_OP_DEL_DEST;
		c->has_svc = 1;
		ctl_key_of(s, &c->svc);
		c->dest_af = d->af;
		c->dest_addr = d->addr;
		c->dest_port = d->port;
		if (ctl_ops_apply(t, director_engine(r->d), director_fib(r->d), c, 1, &ce) == 0) {
			deleted++;
			fprintf(director_log(r->d), "ulvsd: reload: real server %s:%u drained, "
				"deleted\n", addr_format((enum ulvs_af)d->af, &d->addr, a, sizeof(a)),
				ntohs(c->dest_port));
		}
	}
	r->n_drain = k;
	if (deleted)
		director_notify(r->d, "reload: drained");
	drain_arm(r);
}

/* The drain list after a reload: what still drains and is not in next,
 * plus what the batch just quiesced. */
static int drain_update(struct reload *r, struct svc_table *next, const struct ctl_cmd *c,
			uint32_t n)
{
	struct svc_table *live = director_services(r->d);
	unsigned cap = r->n_drain;
	struct drain *nd;
	unsigned k = 0;

	for (uint32_t i = 0; i < n; i++)
		cap += c[i].op == CTL_OP_EDIT_DEST;
	nd = calloc(cap ? cap : 1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	for (unsigned i = 0; i < r->n_drain; i++) {
		struct svc *s;

		if (drain_find(next, &r->drain[i], &s) || !drain_find(live, &r->drain[i], &s))
			continue;
		nd[k++] = r->drain[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		struct drain dr;
		struct svc *s;

		if (c[i].op != CTL_OP_EDIT_DEST || c[i].weight != 0)
			continue;
		memset(&dr, 0, sizeof(dr));
		dr.key.af = c[i].svc.af;
		dr.key.proto = c[i].svc.proto;
		dr.key.port = c[i].svc.port;
		dr.key.addr = c[i].svc.addr;
		dr.key.fwmark = c[i].svc.fwmark;
		dr.af = c[i].dest_af;
		dr.addr = c[i].dest_addr;
		dr.port = c[i].dest_port;
		if (drain_find(next, &dr, &s))
			continue; /* weight 0 in the new config: not a drain */
		nd[k++] = dr;
	}
	free(r->drain);
	r->drain = nd;
	r->n_drain = k;
	drain_arm(r);
	return 0;
}

int reload_run(struct reload *r)
{
	struct director *d = r->d;
	FILE *log = director_log(d);
	struct evloop *loop = director_loop(d);
	struct svc_table *live = director_services(d);
	const struct conf *cur = director_conf(d);
	struct build_opts bo = { .replay = false, .all_healthy = true };
	struct scratch old = { 0 }, next = { 0 };
	struct ents ents = { 0 };
	struct ctl_cmd *cmds = NULL;
	struct ctl_error ce;
	struct conf *nc, *prev = NULL;
	uint32_t n = 0, adds = 0;
	int errors = 0, warnings = 0, rc, restart;

	fprintf(log, "ulvsd: reload: reading %s\n", r->path);
	/* Reading, validating and building the new configuration aside is
	 * the slow part and touches only this thread's data: the data-plane
	 * workers run meanwhile and are held again from the diff against
	 * the live tables on. */
	ev_release(loop);
	struct conf_load_opts lo = { .config_id = r->config_id };
	nc = conf_load_opts(r->path, &lo, log, &errors, &warnings);
	if (!nc) {
		ev_reacquire(loop);
		fprintf(log, "ulvsd: reload: %s: configuration invalid (%d error%s); the running "
			     "configuration stays\n", r->path, errors, errors == 1 ? "" : "s");
		return -EINVAL;
	}
	rc = scratch_build(&old, cur, &bo, NULL);
	if (rc) {
		fprintf(log, "ulvsd: reload: cannot rebuild the running configuration: %s\n",
			strerror(-rc));
		goto out;
	}
	bo.on_dest = ent_cb;
	bo.on_dest_arg = &ents;
	rc = scratch_build(&next, nc, &bo, log);
	if (!rc)
		rc = ents.err;
	if (rc) {
		fprintf(log, "ulvsd: reload: %s: configuration cannot be applied: %s; the running "
			     "configuration stays\n", r->path, strerror(-rc));
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto out;
	}
	restart = reload_compare(cur, nc);
	if (restart < 0) {
		rc = restart;
		goto out;
	}

	ev_reacquire(loop);
	rc = reload_diff(live, old.t, next.t, next.f, true, &cmds, &n);
	if (rc)
		goto out;
	if (!timeouts_same(&old.p, &next.p)) {
		struct ctl_cmd *nn = realloc(cmds, (n + 1) * sizeof(*nn));

		if (!nn) {
			rc = -ENOMEM;
			goto out;
		}
		cmds = nn;
		memset(&cmds[n], 0, sizeof(cmds[n]));
		cmds[n].op = CTL_OP_SET_TIMEOUT;
		cmds[n].to_tcp = next.p.timeouts.ms[CS_ESTABLISHED] / 1000u;
		cmds[n].to_tcpfin = next.p.timeouts.ms[CS_FIN_WAIT] / 1000u;
		cmds[n].to_udp = next.p.timeouts.ms[CS_UDP] / 1000u;
		n++;
	}
	/* The sorry servers need slots too, after ctl_ops_apply() took what
	 * it checked for: refuse now rather than half-apply later. */
	for (uint32_t i = 0; i < n; i++)
		adds += cmds[i].op == CTL_OP_ADD_DEST;
	if (dest_slots_used(live) + adds + sorry_changes(live, next.t) > ULVS_MAX_DESTS) {
		fprintf(log, "ulvsd: reload: too many real servers (ULVS_MAX_DESTS, counting those "
			     "still draining); the running configuration stays\n");
		rc = -ENOSPC;
		goto out;
	}
	if (n) {
		rc = ctl_ops_apply(live, director_engine(d), director_fib(d), cmds, n, &ce);
		if (rc) {
			fprintf(log, "ulvsd: reload: refused at %s: %s; the running configuration "
				     "stays\n", ce.index < n ? op_name(cmds[ce.index].op) : "?",
				ce.msg);
			goto out;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		log_cmd(log, &cmds[i]);
	if (drain_update(r, next.t, cmds, n) < 0)
		fprintf(log, "ulvsd: reload: out of memory: quiesced real servers stay at weight "
			     "0 (delete them with ulvsadm -d)\n");
	rc = apply_sorry(live, next.t);
	if (rc)
		fprintf(log, "ulvsd: reload: sorry server: %s\n", strerror(-rc));
	if (!marks_same(live, next.t)) {
		memcpy(live->marks, next.t->marks, next.t->n_marks * sizeof(live->marks[0]));
		live->n_marks = next.t->n_marks;
		fprintf(log, "ulvsd: reload: %u fwmark rule%s in force\n", live->n_marks,
			live->n_marks == 1 ? "" : "s");
	}

	/* Scratch ids -> live ids: the batch made every real server of the
	 * new config exist in the live table under its key. */
	{
		unsigned k = 0;

		for (unsigned i = 0; i < ents.n; i++) {
			struct director_rs_ent *e = &ents.e[i];
			const struct svc *ns = &next.t->svcs[e->svc_id];
			const struct dest *nd = &next.t->dests[e->dest_id];
			struct svc *ls = svc_find(live, ns);
			struct dest *ld = ls ? svc_find_dest(live, ls, nd->af, &nd->addr, nd->port)
					     : NULL;

			if (!ld)
				continue; /* cannot happen after a successful batch */
			e->svc_id = ls->id;
			e->dest_id = ld->id;
			ents.e[k++] = *e;
		}
		ents.n = k;
	}
	rc = director_reload(d, nc, ents.e, ents.n, &prev);
	if (rc) {
		/* The tables are the new config's, the map still the old one's:
		 * health setters keep working for what both have in common. */
		fprintf(log, "ulvsd: reload: cannot rebuild the real server map: %s\n",
			strerror(-rc));
		goto out;
	}
	nc = NULL; /* the director's now */
	{
		bool still_read = prev == r->pinned;

		if (r->check && check_reload(r->check, director_conf(d)) < 0)
			still_read = true;
		release_conf(r, prev, still_read);
	}
	log_restart(log, restart);
	fprintf(log, "ulvsd: reload: %s applied (%u change%s)\n", r->path, n, n == 1 ? "" : "s");
	director_notify(d, "reload");
	rc = 0;
out:
	ev_reacquire(loop);
	free(cmds);
	free(ents.e);
	scratch_free(&old);
	scratch_free(&next);
	conf_free(nc);
	return rc;
}
