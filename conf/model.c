/* The configuration model: loading, keepalived's defaults, validation, free.
 *
 * conf_finalize() is where keepalived's post-parse rules live (check_data.c
 * validate_check_config() and friends): a virtual server without a protocol
 * becomes UDP, without a scheduler wlc, without a forwarding method NAT (each
 * with a warning, as keepalived logs them); DR and TUN real servers take the
 * virtual port; settings flow virtual server -> real server -> checker.  It
 * also checks what only the whole file can tell: references between blocks
 * (groups, local address groups, scripts, interfaces), duplicates, families.
 * After it the model holds effective values only, which is what conf_dump()
 * prints and build_dataplane() reads.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/service-t.h"
#include "internal.h"

/* ---- diagnostics ---- */

static void cdiag(struct pctx *p, const struct conf_loc *at, const char *kind, const char *fmt,
		  va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	struct cdiag *d = VEC_PUSH(p->diags, p->n_diags);
	d->seq = at ? at->seq : 0;
	d->order = p->n_diags;
	size_t l = strlen(msg) + (at && at->file ? strlen(at->file) : 0) + 64;
	d->text = xcalloc(1, l);
	if (at && at->file && at->line)
		snprintf(d->text, l, "%s:%u:%u: %s: %s\n", at->file, at->line, at->col, kind, msg);
	else if (at && at->file)
		snprintf(d->text, l, "%s: %s: %s\n", at->file, kind, msg);
	else
		snprintf(d->text, l, "%s: %s\n", kind, msg);
}

void cerr_at(struct pctx *p, const struct conf_loc *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdiag(p, at, "error", fmt, ap);
	va_end(ap);
	p->n_errors++;
}

void cwarn_at(struct pctx *p, const struct conf_loc *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdiag(p, at, "warning", fmt, ap);
	va_end(ap);
	p->n_warnings++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct cdiag *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void diags_flush(struct pctx *p, FILE *err)
{
	if (p->n_diags)
		qsort(p->diags, p->n_diags, sizeof(*p->diags), diag_cmp);
	for (unsigned i = 0; i < p->n_diags; i++) {
		if (err)
			fputs(p->diags[i].text, err);
		free(p->diags[i].text);
	}
	free(p->diags);
	p->diags = NULL;
	p->n_diags = 0;
}

/* ---- names ---- */

const char *conf_fwd_name(unsigned fwd)
{
	static const char *const names[] = { [FWD_NAT] = "NAT", [FWD_DR] = "DR",
					     [FWD_TUN] = "TUN", [FWD_FNAT] = "FNAT",
					     [FWD_LOCAL] = "LOCAL" };
	return fwd < sizeof(names) / sizeof(names[0]) && names[fwd] ? names[fwd] : "?";
}

/* ---- defaults ---- */

void conf_init_defaults(struct conf *c)
{
	struct conf_global *g = &c->global;
	g->smtp_port = 25;
	g->smtp_connect_timeout_ms = 30000;
	txt_addr("224.0.0.18", &g->vrrp_mcast_group4);
	txt_addr("ff02::12", &g->vrrp_mcast_group6);
	g->default_interface = xstrdup("eth0");
	g->vrrp_version = 2;
	g->vrrp_garp_master_delay_ms = 5000;
	g->vrrp_garp_master_repeat = 5;
	g->vrrp_garp_master_refresh_repeat = 1;
	c->ulvs.conn_reuse_mode = true;
}

static uint32_t pick(uint32_t a, uint32_t b)
{
	return a != CONF_UNSET ? a : b;
}

static void finalize_checker(struct pctx *p, const struct conf_vs *vs, const struct conf_rs *rs,
			     uint32_t cfg_port, struct conf_checker *ck)
{
	ck->connect_timeout_ms = pick(ck->connect_timeout_ms, rs->connect_timeout_ms);
	ck->delay_loop_ms = pick(ck->delay_loop_ms, rs->delay_loop_ms);
	uint32_t def_retry = ck->type == CHECK_DNS ? 3 : ck->type == CHECK_MISC ? 0 : 1;
	ck->retry = pick(ck->retry, pick(rs->retry, def_retry));
	uint32_t def_dbr = ck->type == CHECK_HTTP || ck->type == CHECK_SSL ? 3000
			 : ck->type == CHECK_DNS ? ck->delay_loop_ms : 1000;
	ck->delay_before_retry_ms = pick(ck->delay_before_retry_ms,
					 pick(rs->delay_before_retry_ms, def_dbr));
	ck->warmup_ms = pick(ck->warmup_ms, pick(rs->warmup_ms, ck->delay_loop_ms));
	if (!(ck->set_ & SET_ALPHA))
		ck->alpha = rs->alpha;
	if (ck->type == CHECK_MISC) {
		ck->misc_timeout_ms = pick(ck->misc_timeout_ms, ck->delay_loop_ms);
	} else {
		ck->misc_timeout_ms = 0;
	}
	if (ck->type == CHECK_DNS) {
		if (!ck->dns_type)
			ck->dns_type = xstrdup("SOA");
		if (!ck->dns_name)
			ck->dns_name = xstrdup(".");
	}
	bool connects = ck->type != CHECK_MISC && ck->type != CHECK_FILE && ck->type != CHECK_BFD;
	if (!connects)
		return;
	if (!ck->connect_ip.af)
		ck->connect_ip = rs->addr;
	if (!ck->connect_port && ck->type != CHECK_PING) {
		ck->connect_port = cfg_port;
		if (!ck->connect_port)
			cwarn_at(p, &ck->loc, "%s has no port to connect to: give the real server "
				 "a port or set connect_port", conf_check_type_name(ck->type));
	}
	(void)vs;
}

static bool rs_same(const struct conf_rs *a, const struct conf_rs *b)
{
	return a->addr.af == b->addr.af && addr_eq(&a->addr.a, &b->addr.a) && a->port == b->port;
}

/* keepalived's port rules: NAT (and FULLNAT) may map ports; DR and TUN keep
 * the client's destination port, so the real server port must equal the
 * virtual one (fwmark services: no port at all). */
static void fix_port(struct pctx *p, const struct conf_vs *vs, struct conf_rs *rs,
		     const char *what)
{
	bool maps = rs->fwd == FWD_NAT || rs->fwd == FWD_FNAT;
	if (vs->kind == CONF_VS_ADDR) {
		if (!rs->port)
			rs->port = vs->port;
		else if (!maps && rs->port != vs->port) {
			cwarn_at(p, &rs->loc, "%s port %u differs from the virtual server port %u, "
				 "which %s requires; using %u", what, rs->port, vs->port,
				 conf_fwd_name(rs->fwd), vs->port);
			rs->port = vs->port;
		}
	} else if (vs->kind == CONF_VS_FWMARK && !maps && rs->port) {
		cwarn_at(p, &rs->loc, "%s port %u is ignored by %s on a fwmark service (the "
			 "client's port is kept)%s", what, rs->port, conf_fwd_name(rs->fwd),
			 rs->n_checkers ? "; health checks still use it" : "");
		rs->port = 0;
	}
}

static int find_vsg(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_vsgs; i++)
		if (!strcmp(c->vsgs[i].name, name))
			return (int)i;
	return -1;
}

static int find_lag(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_lags; i++)
		if (!strcmp(c->lags[i].name, name))
			return (int)i;
	return -1;
}

static bool have_mark_rule(const struct conf *c, uint32_t mark)
{
	for (unsigned i = 0; i < c->n_marks; i++)
		if (c->marks[i].mark == mark)
			return true;
	return false;
}

static void finalize_vs(struct pctx *p, struct conf_vs *vs)
{
	struct conf *c = p->c;
	const struct conf_vsg *g = NULL;
	bool has_addrs = vs->kind == CONF_VS_ADDR, has_marks = vs->kind == CONF_VS_FWMARK;

	if (vs->kind == CONF_VS_GROUP) {
		vs->vsg = find_vsg(c, vs->group);
		if (vs->vsg < 0) {
			cerr_at(p, &vs->loc, "virtual_server_group '%s' is not defined", vs->group);
			return;
		}
		g = &c->vsgs[vs->vsg];
		has_addrs = has_marks = false;
		for (unsigned i = 0; i < g->n_entries; i++) {
			if (g->entries[i].is_fwmark) {
				has_marks = true;
			} else {
				if (!has_addrs && !(vs->set_ & SET_FAMILY))
					vs->af = g->entries[i].first.af;
				has_addrs = true;
				if (g->entries[i].first.af != vs->af)
					cerr_at(p, &g->entries[i].loc, "virtual_server_group '%s' mixes "
						"address families", g->name);
			}
		}
	}
	if (vs->kind == CONF_VS_ADDR && (vs->set_ & SET_FAMILY) && vs->af != vs->addr.af) {
		cerr_at(p, &vs->loc, "ip_family contradicts the virtual server address");
		vs->af = vs->addr.af;
	}
	if (!vs->af) {
		/* fwmark: the family of the (non-tunnelled) servers, else IPv4 */
		for (unsigned i = 0; i < vs->n_rs && !vs->af; i++)
			vs->af = vs->rs[i].addr.af;
		if (!vs->af && vs->has_sorry)
			vs->af = vs->sorry.addr.af;
		if (!vs->af)
			vs->af = ULVS_AF_INET;
	}

	/* protocol */
	if (!has_addrs) {
		if (vs->set_ & SET_PROTO)
			cwarn_at(p, &vs->loc, "protocol is ignored on a fwmark virtual server (the "
				 "mark decides)");
		vs->proto = 0;
	} else if (!vs->proto) {
		cwarn_at(p, &vs->loc, "virtual server has no protocol; using UDP (keepalived's "
			 "default)");
		vs->proto = IPPROTO_UDP;
	}

	if (!vs->sched[0]) {
		cwarn_at(p, &vs->loc, "virtual server has no lb_algo; using wlc (keepalived's "
			 "default)");
		strcpy(vs->sched, "wlc");
	}
	uint32_t sh = CONF_SF_SH_PORT | CONF_SF_SH_FALLBACK, mh = CONF_SF_MH_PORT | CONF_SF_MH_FALLBACK;
	if ((vs->sched_flags & sh) && strcmp(vs->sched, "sh")) {
		cwarn_at(p, &vs->loc, "sh-port/sh-fallback only apply to lb_algo sh; ignored");
		vs->sched_flags &= ~sh;
	}
	if ((vs->sched_flags & mh) && strcmp(vs->sched, "mh")) {
		cwarn_at(p, &vs->loc, "mh-port/mh-fallback only apply to lb_algo mh; ignored");
		vs->sched_flags &= ~mh;
	}
	if ((vs->sched_flags & CONF_SF_OPS) && has_addrs && vs->proto != IPPROTO_UDP) {
		cwarn_at(p, &vs->loc, "ops (one-packet scheduling) needs UDP; ignored");
		vs->sched_flags &= ~CONF_SF_OPS;
	}
	if (vs->fwd == 0xff) {
		cwarn_at(p, &vs->loc, "virtual server has no lb_kind; using NAT (keepalived's "
			 "default)");
		vs->fwd = FWD_NAT;
	}
	if (vs->kind == CONF_VS_ADDR && vs->port == 0 && !vs->persistence_timeout) {
		cwarn_at(p, &vs->loc, "port 0 is only valid for a persistent service; making it "
			 "persistent (360 s)");
		vs->persistence_timeout = 360;
	}
	unsigned maxplen = vs->af == ULVS_AF_INET6 ? 128 : 32;
	if (!(vs->set_ & SET_GRANULARITY))
		vs->persistence_plen = (uint8_t)maxplen;
	else if (vs->persistence_plen > maxplen) {
		cerr_at(p, &vs->loc, "persistence_granularity /%u is longer than the address",
			vs->persistence_plen);
		vs->persistence_plen = (uint8_t)maxplen;
	}

	/* real servers: forwarding method and port rules first, so duplicates
	 * are found on the ports IPVS would see */
	uint64_t weight_sum = 0;
	bool any_fnat = vs->fwd == FWD_FNAT;
	uint32_t *cfg_port = xcalloc(vs->n_rs, sizeof(*cfg_port));
	for (unsigned i = 0; i < vs->n_rs; i++) {
		struct conf_rs *rs = &vs->rs[i];
		cfg_port[i] = rs->port;
		if (!(rs->set_ & SET_FWD))
			rs->fwd = vs->fwd;
		fix_port(p, vs, rs, "real server");
	}
	for (unsigned i = 0; i < vs->n_rs; i++) {
		struct conf_rs *rs = &vs->rs[i];
		bool dup = false;
		for (unsigned j = 0; j < i && !dup; j++)
			dup = rs_same(&vs->rs[j], rs);
		if (dup) {
			cwarn_at(p, &rs->loc, "real server is listed twice; the second one is ignored");
			conf_rs_free(rs);
			memmove(rs, rs + 1, (vs->n_rs - i - 1) * sizeof(*rs));
			memmove(&cfg_port[i], &cfg_port[i + 1], (vs->n_rs - i - 1) * sizeof(*cfg_port));
			vs->n_rs--;
			i--;
			continue;
		}
		if (rs->fwd == FWD_FNAT)
			any_fnat = true;
		if (rs->addr.af != vs->af && rs->fwd != FWD_TUN && rs->fwd != FWD_FNAT)
			cerr_at(p, &rs->loc, "real server family differs from the virtual server's "
				"(only TUN and FNAT real servers may differ)");
		if (!(rs->set_ & SET_WEIGHT))
			rs->weight = vs->weight;
		if (!(rs->set_ & SET_INHIBIT))
			rs->inhibit_on_failure = vs->inhibit_on_failure;
		if (!(rs->set_ & SET_ALPHA))
			rs->alpha = vs->alpha;
		rs->connect_timeout_ms = pick(rs->connect_timeout_ms, vs->connect_timeout_ms);
		rs->delay_loop_ms = pick(rs->delay_loop_ms, vs->delay_loop_ms);
		rs->retry = pick(rs->retry, vs->retry);
		rs->delay_before_retry_ms = pick(rs->delay_before_retry_ms, vs->delay_before_retry_ms);
		rs->warmup_ms = pick(rs->warmup_ms, vs->warmup_ms);
		if (!rs->virtualhost && vs->virtualhost)
			rs->virtualhost = xstrdup(vs->virtualhost);
		if (rs->uthreshold && rs->lthreshold > rs->uthreshold)
			cwarn_at(p, &rs->loc, "lthreshold %u is above uthreshold %u", rs->lthreshold,
				 rs->uthreshold);
		/* checkers connect to the port written on the real server (DR on a
		 * mark clears that for IPVS), else the one IPVS uses */
		for (unsigned k = 0; k < rs->n_checkers; k++)
			finalize_checker(p, vs, rs, cfg_port[i] ? cfg_port[i] : rs->port,
					 &rs->checkers[k]);
		weight_sum += (uint64_t)rs->weight;
	}
	free(cfg_port);
	if (vs->has_sorry) {
		struct conf_rs *s = &vs->sorry;
		if (!(s->set_ & SET_FWD))
			s->fwd = vs->fwd;
		if (s->fwd == FWD_FNAT)
			any_fnat = true;
		s->weight = 1;
		if (s->addr.af != vs->af && s->fwd != FWD_TUN && s->fwd != FWD_FNAT)
			cerr_at(p, &s->loc, "sorry server family differs from the virtual server's");
		fix_port(p, vs, s, "sorry server");
	}
	if (vs->n_rs && vs->quorum > weight_sum) {
		uint32_t q = weight_sum ? (uint32_t)(weight_sum > UINT32_MAX ? UINT32_MAX : weight_sum)
					: 1;
		if (q != vs->quorum)
			cwarn_at(p, &vs->loc, "quorum %u exceeds the total weight of the real "
				 "servers; using %u", vs->quorum, q);
		vs->quorum = q;
	}
	if (vs->hysteresis >= vs->quorum) {
		cwarn_at(p, &vs->loc, "hysteresis %u must be below quorum %u; using %u",
			 vs->hysteresis, vs->quorum, vs->quorum - 1);
		vs->hysteresis = vs->quorum - 1;
	}

	/* FULLNAT local addresses */
	if (vs->laddr_group) {
		vs->lag = find_lag(c, vs->laddr_group);
		if (vs->lag < 0)
			cerr_at(p, &vs->loc, "local_address_group '%s' is not defined",
				vs->laddr_group);
		else if (!any_fnat)
			cwarn_at(p, &vs->loc, "laddr_group_name is only used by lb_kind FNAT");
	} else if (any_fnat) {
		cerr_at(p, &vs->loc, "FNAT needs local addresses: add laddr_group_name naming a "
			"local_address_group");
	}

	/* ulvs classifies marks itself (it runs before netfilter) */
	if (has_marks) {
		if (vs->kind == CONF_VS_FWMARK && !have_mark_rule(c, vs->fwmark))
			cwarn_at(p, &vs->loc, "no fwmark_rule assigns mark %u, so this service gets "
				 "no traffic: ulvs sees packets before iptables could mark them; "
				 "declare fwmark_rule %u { destination ... }", vs->fwmark, vs->fwmark);
		for (unsigned i = 0; g && i < g->n_entries; i++)
			if (g->entries[i].is_fwmark && !have_mark_rule(c, g->entries[i].fwmark))
				cwarn_at(p, &g->entries[i].loc, "no fwmark_rule assigns mark %u",
					 g->entries[i].fwmark);
	}
}

static bool vs_key_eq(const struct conf_vs *a, const struct conf_vs *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CONF_VS_ADDR:
		return a->proto == b->proto && a->port == b->port && a->addr.af == b->addr.af &&
		       addr_eq(&a->addr.a, &b->addr.a);
	case CONF_VS_FWMARK:
		return a->fwmark == b->fwmark && a->af == b->af;
	case CONF_VS_GROUP:
		return !strcmp(a->group, b->group);
	}
	return false;
}

static bool vrrp_exists(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_vrrps; i++)
		if (!strcmp(c->vrrps[i].name, name))
			return true;
	return false;
}

static bool script_exists(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_scripts; i++)
		if (!strcmp(c->scripts[i].name, name))
			return true;
	return false;
}

/* An empty dev (not given) counts as declared: the route says where. */
static bool iface_declared(const struct conf_ulvs *u, const char *dev)
{
	if (!dev[0])
		return true;
	for (unsigned k = 0; k < u->n_ifaces; k++)
		if (!strcmp(u->ifaces[k].name, dev))
			return true;
	return false;
}


void conf_finalize(struct pctx *p)
{
	struct conf *c = p->c;

	for (unsigned i = 0; i < c->n_vs; i++) {
		struct conf_vs *vs = &c->vs[i];
		finalize_vs(p, vs);
		for (unsigned j = 0; j < i; j++)
			if (vs_key_eq(&c->vs[j], vs)) {
				cerr_at(p, &vs->loc, "virtual server defined twice (first at line %u)",
					c->vs[j].loc.line);
				break;
			}
	}
	for (unsigned i = 0; i < c->n_vs; i++) {
		if (c->vs[i].n_rs == 0)
			cwarn_at(p, &c->vs[i].loc, "virtual server has no real servers; only its "
				 "sorry server (if any) will serve");
	}

	/* VRRP */
	for (unsigned i = 0; i < c->n_vrrps; i++) {
		struct conf_vrrp *v = &c->vrrps[i];
		if (!v->vrid)
			cerr_at(p, &v->loc, "vrrp_instance '%s' needs virtual_router_id", v->name);
		if (v->vrid == CONF_UNSET)
			continue; /* a bad value, already reported */
		if (!v->interface)
			v->interface = xstrdup(c->global.default_interface);
		if (!v->version)
			v->version = c->global.vrrp_version;
		if (v->version == 3 && v->auth_type != VRRP_AUTH_NONE)
			cwarn_at(p, &v->loc, "VRRPv3 has no authentication (RFC 5798); "
				 "authentication ignored");
		uint8_t fam = v->n_vips ? v->vips[0].p.af : ULVS_AF_INET;
		for (unsigned k = 1; k < v->n_vips; k++)
			if (v->vips[k].p.af != fam)
				cerr_at(p, &v->vips[k].loc, "virtual_ipaddress mixes IPv4 and IPv6; put "
					"the other family in virtual_ipaddress_excluded");
		for (unsigned j = 0; j < i; j++) {
			const struct conf_vrrp *w = &c->vrrps[j];
			uint8_t wf = w->n_vips ? w->vips[0].p.af : ULVS_AF_INET;
			if (v->vrid && w->vrid == v->vrid && wf == fam &&
			    !strcmp(w->interface, v->interface))
				cerr_at(p, &v->loc, "virtual_router_id %u on %s is already used by "
					"vrrp_instance '%s'", v->vrid, v->interface, w->name);
		}
		for (unsigned k = 0; k < v->n_track_script; k++)
			if (!script_exists(c, v->track_script[k].name))
				cwarn_at(p, &v->track_script[k].loc, "track_script '%s' is not a "
					 "defined vrrp_script; ignored", v->track_script[k].name);
	}
	for (unsigned i = 0; i < c->n_scripts; i++) {
		if (c->scripts[i].timeout_ms == CONF_UNSET)
			c->scripts[i].timeout_ms = c->scripts[i].interval_ms;
	}
	for (unsigned i = 0; i < c->n_sync_groups; i++) {
		struct conf_sync_group *g = &c->sync_groups[i];
		for (unsigned k = 0; k < g->n_members; k++)
			if (!vrrp_exists(c, g->members[k]))
				cwarn_at(p, &g->loc, "vrrp_sync_group '%s': vrrp_instance '%s' is not "
					 "defined", g->name, g->members[k]);
		for (unsigned k = 0; k < g->n_track_script; k++)
			if (!script_exists(c, g->track_script[k].name))
				cwarn_at(p, &g->track_script[k].loc, "track_script '%s' is not a "
					 "defined vrrp_script; ignored", g->track_script[k].name);
	}
	if (c->global.have_sync_daemon && !vrrp_exists(c, c->global.sync_daemon.instance))
		cwarn_at(p, &c->global.sync_daemon.loc, "lvs_sync_daemon: vrrp_instance '%s' is "
			 "not defined", c->global.sync_daemon.instance);

	/* ulvs_defs */
	struct conf_ulvs *u = &c->ulvs;
	for (unsigned i = 0; i < u->n_routes; i++)
		if (!iface_declared(u, u->routes[i].dev))
			cerr_at(p, &u->routes[i].loc, "route uses interface '%s', which ulvs_defs does "
				"not declare", u->routes[i].dev);
	for (unsigned i = 0; i < u->n_neighs; i++)
		if (!iface_declared(u, u->neighs[i].dev))
			cerr_at(p, &u->neighs[i].loc, "neighbor uses interface '%s', which ulvs_defs "
				"does not declare", u->neighs[i].dev);
	for (unsigned i = 0; i < c->n_marks; i++) {
		bool used = false;
		for (unsigned k = 0; k < c->n_vs && !used; k++) {
			const struct conf_vs *vs = &c->vs[k];
			if (vs->kind == CONF_VS_FWMARK)
				used = vs->fwmark == c->marks[i].mark;
			else if (vs->kind == CONF_VS_GROUP && vs->vsg >= 0)
				for (unsigned e = 0; e < c->vsgs[vs->vsg].n_entries && !used; e++)
					used = c->vsgs[vs->vsg].entries[e].is_fwmark &&
					       c->vsgs[vs->vsg].entries[e].fwmark == c->marks[i].mark;
		}
		if (!used)
			cwarn_at(p, &c->marks[i].loc, "no virtual server uses mark %u",
				 c->marks[i].mark);
	}
}

/* ---- free ---- */

static void free_strv(char **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void conf_checker_free(struct conf_checker *ck)
{
	for (unsigned i = 0; i < ck->n_urls; i++) {
		free(ck->urls[i].path);
		free(ck->urls[i].digest);
		free(ck->urls[i].virtualhost);
		free(ck->urls[i].regex);
	}
	free(ck->urls);
	free(ck->bind_if);
	free(ck->virtualhost);
	free(ck->http_protocol);
	free(ck->helo_name);
	free(ck->dns_type);
	free(ck->dns_name);
	free(ck->misc_path);
	free(ck->user);
	free(ck->payload);
	free(ck->track_file);
	free(ck->bfd_name);
}

void conf_rs_free(struct conf_rs *rs)
{
	for (unsigned i = 0; i < rs->n_checkers; i++)
		conf_checker_free(&rs->checkers[i]);
	free(rs->checkers);
	free(rs->notify_up);
	free(rs->notify_down);
	free(rs->virtualhost);
	memset(rs, 0, sizeof(*rs));
}

void conf_vs_free(struct conf_vs *vs)
{
	for (unsigned i = 0; i < vs->n_rs; i++)
		conf_rs_free(&vs->rs[i]);
	free(vs->rs);
	if (vs->has_sorry)
		conf_rs_free(&vs->sorry);
	free(vs->group);
	free(vs->persistence_engine);
	free(vs->virtualhost);
	free(vs->quorum_up);
	free(vs->quorum_down);
	free(vs->laddr_group);
	memset(vs, 0, sizeof(*vs));
}

static void free_ipaddrs(struct conf_ipaddr *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(a[i].dev);
		free(a[i].label);
		free(a[i].extra);
	}
	free(a);
}

static void free_tracks(struct conf_track *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	struct conf_global *g = &c->global;
	free(g->router_id);
	free_strv(g->notification_email, g->n_notification_email);
	free(g->notification_email_from);
	free(g->smtp_server);
	free(g->smtp_helo_name);
	free(g->default_interface);
	free(g->script_user);
	free(g->sync_daemon.interface);
	free(g->sync_daemon.instance);
	for (unsigned i = 0; i < c->ulvs.n_ifaces; i++)
		free(c->ulvs.ifaces[i].addrs);
	free(c->ulvs.ifaces);
	free(c->ulvs.routes);
	free(c->ulvs.neighs);
	for (unsigned i = 0; i < c->n_lags; i++) {
		free(c->lags[i].name);
		free(c->lags[i].entries);
	}
	free(c->lags);
	free(c->marks);
	for (unsigned i = 0; i < c->n_vsgs; i++) {
		free(c->vsgs[i].name);
		free(c->vsgs[i].entries);
	}
	free(c->vsgs);
	for (unsigned i = 0; i < c->n_vs; i++)
		conf_vs_free(&c->vs[i]);
	free(c->vs);
	for (unsigned i = 0; i < c->n_vrrps; i++) {
		struct conf_vrrp *v = &c->vrrps[i];
		free(v->name);
		free(v->interface);
		free(v->auth_pass);
		free_ipaddrs(v->vips, v->n_vips);
		free_ipaddrs(v->vips_excluded, v->n_vips_excluded);
		free_strv(v->virtual_routes, v->n_virtual_routes);
		free_tracks(v->track_interface, v->n_track_interface);
		free_tracks(v->track_script, v->n_track_script);
		free_tracks(v->track_file, v->n_track_file);
		free(v->unicast_peers);
		free(v->notify_master);
		free(v->notify_backup);
		free(v->notify_fault);
		free(v->notify_stop);
		free(v->notify);
		free(v->lvs_sync_daemon_interface);
	}
	free(c->vrrps);
	for (unsigned i = 0; i < c->n_scripts; i++) {
		free(c->scripts[i].name);
		free(c->scripts[i].script);
		free(c->scripts[i].user);
	}
	free(c->scripts);
	for (unsigned i = 0; i < c->n_track_files; i++) {
		free(c->track_files[i].name);
		free(c->track_files[i].file);
	}
	free(c->track_files);
	for (unsigned i = 0; i < c->n_sync_groups; i++) {
		struct conf_sync_group *s = &c->sync_groups[i];
		free(s->name);
		free_strv(s->members, s->n_members);
		free_tracks(s->track_script, s->n_track_script);
		free_tracks(s->track_interface, s->n_track_interface);
		free(s->notify_master);
		free(s->notify_backup);
		free(s->notify_fault);
		free(s->notify_stop);
		free(s->notify);
	}
	free(c->sync_groups);
	free_ipaddrs(c->static_ipaddress, c->n_static_ipaddress);
	free_strv(c->static_routes, c->n_static_routes);
	free_strv(c->files, c->n_files);
	free(c);
}

/* ---- loading ---- */

static struct conf *load(const char *path, const char *data, size_t len,
			 const struct conf_load_opts *o, FILE *err, int *n_errors, int *n_warnings)
{
	struct pctx p;
	memset(&p, 0, sizeof(p));
	p.c = xcalloc(1, sizeof(*p.c));
	p.opts = o;
	conf_init_defaults(p.c);
	if (o && o->config_id) {
		snprintf(p.config_id, sizeof(p.config_id), "%s", o->config_id);
	} else {
		/* keepalived's default config-id: the host name up to the first dot */
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = 0;
		host[sizeof(p.config_id) - 1] = 0;
		memcpy(p.config_id, host, strlen(host) + 1);
	}

	if (data)
		lex_buffer(&p, path, data, len);
	else
		lex_file(&p, path, NULL);
	unsigned n_top = 0;
	struct cnode *top = tree_build(&p, &n_top);
	parse_block(&p, top, n_top, kw_top, NULL, "the top level");
	tree_free(top, n_top);
	conf_finalize(&p);
	lex_free(&p);
	diags_flush(&p, err);

	if (n_errors)
		*n_errors = p.n_errors;
	if (n_warnings)
		*n_warnings = p.n_warnings;
	if (p.n_errors) {
		conf_free(p.c);
		return NULL;
	}
	return p.c;
}

struct conf *conf_load(const char *path, FILE *err, int *n_errors, int *n_warnings)
{
	return load(path, NULL, 0, NULL, err, n_errors, n_warnings);
}

struct conf *conf_load_opts(const char *path, const struct conf_load_opts *o, FILE *err,
			    int *n_errors, int *n_warnings)
{
	return load(path, NULL, 0, o, err, n_errors, n_warnings);
}

struct conf *conf_load_buffer(const char *name, const char *data, size_t len,
			      const struct conf_load_opts *o, FILE *err, int *n_errors,
			      int *n_warnings)
{
	return load(name, data ? data : "", data ? len : 0, o, err, n_errors, n_warnings);
}
