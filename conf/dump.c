/* conf_dump(): the effective configuration in keepalived.conf syntax.
 *
 * Everything is printed explicitly, defaults included, so an operator sees
 * what ulvs will do rather than what the file says (`ulvsd -f FILE --dump`).
 * The output is itself a valid config that loads to the same model, so
 * dumping it again gives the same text; the unit tests hold us to that.
 * Inherited checker settings are printed on the checker, where they take
 * effect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/constants.h"
#include "internal.h"

struct out {
	FILE *f;
	int depth;
	char **words;
	unsigned n_words;
};

static void ind(struct out *o)
{
	for (int i = 0; i < o->depth; i++)
		fputs("    ", o->f);
}

static void open_blk(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void open_blk(struct out *o, const char *fmt, ...)
{
	va_list ap;
	ind(o);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fputs(" {\n", o->f);
	o->depth++;
}

static void close_blk(struct out *o)
{
	o->depth--;
	ind(o);
	fputs("}\n", o->f);
}

static void line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	ind(o);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fputc('\n', o->f);
}

/* A word as the lexer will read it back (quote_word()); kept until the end
 * of conf_dump() so it can sit in a printf argument list. */
static const char *qw(struct out *o, const char *s)
{
	char *w = quote_word(s);
	*VEC_PUSH(o->words, o->n_words) = w;
	return w;
}
#define Q(s) qw(o, (s))

static const char *a2s(char *buf, const struct conf_addr *a)
{
	inet_ntop(a->af == ULVS_AF_INET6 ? AF_INET6 : AF_INET, a->a.b, buf, 64);
	return buf;
}
#define A(a) a2s((char[64]){ 0 }, (a))

static const char *p2s(char *buf, const struct conf_prefix *p)
{
	char t[64];
	struct conf_addr a = { p->af, p->a };
	snprintf(buf, 72, "%s/%u", a2s(t, &a), p->plen);
	return buf;
}
#define P(p) p2s((char[72]){ 0 }, (p))

static const char *t2s(char *buf, uint32_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, 24, "%" PRIu32, ms / 1000);
	else if (ms % 100 == 0)
		snprintf(buf, 24, "%" PRIu32 ".%" PRIu32, ms / 1000, (ms % 1000) / 100);
	else if (ms % 10 == 0)
		snprintf(buf, 24, "%" PRIu32 ".%02" PRIu32, ms / 1000, (ms % 1000) / 10);
	else
		snprintf(buf, 24, "%" PRIu32 ".%03" PRIu32, ms / 1000, ms % 1000);
	return buf;
}
#define T(ms) t2s((char[24]){ 0 }, (ms))

static const char *us2s(char *buf, uint32_t us)
{
	snprintf(buf, 24, "%" PRIu32 ".%06" PRIu32, us / 1000000, us % 1000000);
	return buf;
}

static const char *onoff(bool b)
{
	return b ? "on" : "off";
}

static void mac_line(struct out *o, const char *kw, const struct ulvs_mac *m)
{
	line(o, "%s %02x:%02x:%02x:%02x:%02x:%02x", kw, m->b[0], m->b[1], m->b[2], m->b[3],
	     m->b[4], m->b[5]);
}

static void dump_global(struct out *o, const struct conf *c)
{
	const struct conf_global *g = &c->global;
	char ub[24];
	open_blk(o, "global_defs");
	if (g->router_id)
		line(o, "router_id %s", Q(g->router_id));
	if (g->n_notification_email) {
		open_blk(o, "notification_email");
		for (unsigned i = 0; i < g->n_notification_email; i++)
			line(o, "%s", Q(g->notification_email[i]));
		close_blk(o);
	}
	if (g->notification_email_from)
		line(o, "notification_email_from %s", Q(g->notification_email_from));
	if (g->smtp_server)
		line(o, "smtp_server %s %u", Q(g->smtp_server), g->smtp_port);
	if (g->smtp_helo_name)
		line(o, "smtp_helo_name %s", Q(g->smtp_helo_name));
	line(o, "smtp_connect_timeout %s", T(g->smtp_connect_timeout_ms));
	line(o, "default_interface %s", Q(g->default_interface));
	line(o, "vrrp_mcast_group4 %s", A(&g->vrrp_mcast_group4));
	line(o, "vrrp_mcast_group6 %s", A(&g->vrrp_mcast_group6));
	line(o, "vrrp_version %u", g->vrrp_version);
	if (g->vrrp_strict)
		line(o, "vrrp_strict");
	line(o, "vrrp_skip_check_adv_addr %s", onoff(g->vrrp_skip_check_adv_addr));
	if (g->vrrp_check_unicast_src)
		line(o, "vrrp_check_unicast_src");
	line(o, "vrrp_garp_master_delay %s", T(g->vrrp_garp_master_delay_ms));
	line(o, "vrrp_garp_master_repeat %u", g->vrrp_garp_master_repeat);
	line(o, "vrrp_garp_master_refresh %s", T(g->vrrp_garp_master_refresh_ms));
	line(o, "vrrp_garp_master_refresh_repeat %u", g->vrrp_garp_master_refresh_repeat);
	line(o, "vrrp_garp_interval %s", us2s(ub, g->vrrp_garp_interval_us));
	line(o, "vrrp_gna_interval %s", us2s(ub, g->vrrp_gna_interval_us));
	if (g->script_user)
		line(o, "script_user %s", g->script_user);
	if (g->enable_script_security)
		line(o, "enable_script_security");
	/* IPVS defaults (ip_vs_proto_tcp.c / _udp.c) when not set */
	line(o, "lvs_timeouts tcp %u tcpfin %u udp %u", g->lvs_timeout_tcp ? g->lvs_timeout_tcp : 900,
	     g->lvs_timeout_tcpfin ? g->lvs_timeout_tcpfin : 120,
	     g->lvs_timeout_udp ? g->lvs_timeout_udp : 300);
	if (g->have_sync_daemon) {
		const struct conf_sync_daemon *s = &g->sync_daemon;
		ind(o);
		fprintf(o->f, "lvs_sync_daemon %s %s id %u", s->interface, Q(s->instance), s->syncid);
		if (s->maxlen)
			fprintf(o->f, " maxlen %u", s->maxlen);
		if (s->port)
			fprintf(o->f, " port %u", s->port);
		if (s->ttl)
			fprintf(o->f, " ttl %u", s->ttl);
		if (s->group.af)
			fprintf(o->f, " group %s", A(&s->group));
		fputc('\n', o->f);
	}
	if (g->lvs_flush)
		line(o, "lvs_flush");
	if (g->lvs_flush_onstop)
		line(o, "lvs_flush_onstop");
	close_blk(o);
}

static void dump_ulvs(struct out *o, const struct conf *c)
{
	const struct conf_ulvs *u = &c->ulvs;
	open_blk(o, "ulvs_defs");
	for (unsigned i = 0; i < u->n_ifaces; i++) {
		const struct conf_iface *f = &u->ifaces[i];
		open_blk(o, "interface %s", f->name);
		if (f->has_mac)
			mac_line(o, "mac", &f->mac);
		for (unsigned k = 0; k < f->n_addrs; k++) {
			struct conf_addr a = { f->addrs[k].af, f->addrs[k].a };
			if (f->addrs[k].plen)
				line(o, "address %s", P(&f->addrs[k]));
			else
				line(o, "address %s", A(&a));
		}
		line(o, "mtu %u", f->mtu);
		close_blk(o);
	}
	for (unsigned i = 0; i < u->n_routes; i++) {
		const struct conf_route *r = &u->routes[i];
		ind(o);
		fprintf(o->f, "route %s", P(&r->dst));
		if (r->via.af)
			fprintf(o->f, " via %s", A(&r->via));
		if (r->dev[0])
			fprintf(o->f, " dev %s", r->dev);
		fputc('\n', o->f);
	}
	for (unsigned i = 0; i < u->n_neighs; i++) {
		const struct conf_neigh *n = &u->neighs[i];
		const uint8_t *m = n->mac.b;
		ind(o);
		fprintf(o->f, "neighbor %s lladdr %02x:%02x:%02x:%02x:%02x:%02x", A(&n->addr), m[0],
			m[1], m[2], m[3], m[4], m[5]);
		if (n->dev[0])
			fprintf(o->f, " dev %s", n->dev);
		fputc('\n', o->f);
	}
	line(o, "conn_table_size %u", u->conn_table_size ? u->conn_table_size : ULVS_DEFAULT_CONNS);
	line(o, "expire_nodest_conn %s", onoff(u->expire_nodest_conn));
	line(o, "expire_quiescent_template %s", onoff(u->expire_quiescent_template));
	line(o, "conn_reuse_mode %s", onoff(u->conn_reuse_mode));
	line(o, "control_socket %s", u->control_socket[0] ? u->control_socket : "/run/ulvsd.sock");
	if (u->have_metrics)
		line(o, "metrics_listen %s %u", A(&u->metrics_addr), u->metrics_port);
	close_blk(o);
}

static const char *range2s(char *buf, const struct conf_addr *first, uint32_t count)
{
	char t[64];
	a2s(t, first);
	if (count <= 1) {
		snprintf(buf, 80, "%s", t);
	} else if (first->af == ULVS_AF_INET) {
		snprintf(buf, 80, "%s-%u", t, first->a.b[3] + count - 1);
	} else {
		unsigned last = (unsigned)(first->a.b[14] << 8 | first->a.b[15]) + count - 1;
		snprintf(buf, 80, "%s-%x", t, last);
	}
	return buf;
}

static void dump_checker(struct out *o, const struct conf_checker *ck)
{
	open_blk(o, "%s", conf_check_type_name(ck->type));
	bool connects = ck->type != CHECK_MISC && ck->type != CHECK_FILE && ck->type != CHECK_BFD;
	if (connects) {
		line(o, "connect_ip %s", A(&ck->connect_ip));
		if (ck->connect_port)
			line(o, "connect_port %u", ck->connect_port);
		if (ck->bindto.af)
			line(o, "bindto %s", A(&ck->bindto));
		if (ck->bind_port)
			line(o, "bind_port %u", ck->bind_port);
		if (ck->bind_if)
			line(o, "bind_if %s", ck->bind_if);
		line(o, "connect_timeout %s", T(ck->connect_timeout_ms));
		if (ck->fwmark)
			line(o, "fwmark %u", ck->fwmark);
	}
	line(o, "retry %u", ck->retry);
	line(o, "delay_before_retry %s", T(ck->delay_before_retry_ms));
	line(o, "warmup %s", T(ck->warmup_ms));
	line(o, "delay_loop %s", T(ck->delay_loop_ms));
	line(o, "alpha %s", onoff(ck->alpha));
	if (ck->log_all_failures)
		line(o, "log_all_failures on");
	switch (ck->type) {
	case CHECK_HTTP:
	case CHECK_SSL:
		if (ck->virtualhost)
			line(o, "virtualhost %s", Q(ck->virtualhost));
		if (ck->http_protocol)
			line(o, "http_protocol %s", ck->http_protocol);
		if (ck->enable_sni)
			line(o, "enable_sni on");
		if (ck->fast_recovery)
			line(o, "fast_recovery on");
		for (unsigned i = 0; i < ck->n_urls; i++) {
			const struct conf_url *u = &ck->urls[i];
			open_blk(o, "url");
			line(o, "path %s", Q(u->path));
			if (u->digest)
				line(o, "digest %s", u->digest);
			if (u->n_status) {
				ind(o);
				fputs("status_code", o->f);
				for (unsigned k = 0; k < u->n_status; k++) {
					if (u->status_lo[k] == u->status_hi[k])
						fprintf(o->f, " %u", u->status_lo[k]);
					else
						fprintf(o->f, " %u-%u", u->status_lo[k], u->status_hi[k]);
				}
				fputc('\n', o->f);
			}
			if (u->virtualhost)
				line(o, "virtualhost %s", Q(u->virtualhost));
			if (u->regex)
				line(o, "regex %s", Q(u->regex));
			if (u->regex_no_match)
				line(o, "regex_no_match");
			close_blk(o);
		}
		break;
	case CHECK_SMTP:
		if (ck->helo_name)
			line(o, "helo_name %s", Q(ck->helo_name));
		break;
	case CHECK_DNS:
		line(o, "type %s", ck->dns_type);
		line(o, "name %s", Q(ck->dns_name));
		break;
	case CHECK_MISC:
		line(o, "misc_path %s", Q(ck->misc_path));
		line(o, "misc_timeout %s", T(ck->misc_timeout_ms));
		if (ck->misc_dynamic)
			line(o, "misc_dynamic");
		if (ck->user)
			line(o, "user %s", ck->user);
		break;
	case CHECK_UDP:
		if (ck->payload)
			line(o, "payload %s", Q(ck->payload));
		if (ck->require_reply)
			line(o, "require_reply");
		if (ck->min_reply_length)
			line(o, "min_reply_length %u", ck->min_reply_length);
		if (ck->max_reply_length)
			line(o, "max_reply_length %u", ck->max_reply_length);
		break;
	case CHECK_FILE:
		line(o, "track_file %s", Q(ck->track_file));
		line(o, "weight %d%s", ck->file_weight, ck->reverse ? " reverse" : "");
		break;
	case CHECK_BFD:
		line(o, "name %s", Q(ck->bfd_name));
		break;
	default:
		break;
	}
	close_blk(o);
}

static void dump_rs(struct out *o, const struct conf_rs *rs)
{
	open_blk(o, "real_server %s %u", A(&rs->addr), rs->port);
	line(o, "weight %d", rs->weight);
	line(o, "lvs_method %s", conf_fwd_name(rs->fwd));
	if (rs->uthreshold)
		line(o, "uthreshold %u", rs->uthreshold);
	if (rs->lthreshold)
		line(o, "lthreshold %u", rs->lthreshold);
	line(o, "inhibit_on_failure %s", onoff(rs->inhibit_on_failure));
	line(o, "alpha %s", onoff(rs->alpha));
	if (rs->smtp_alert >= 0)
		line(o, "smtp_alert %s", onoff(rs->smtp_alert));
	if (rs->notify_up)
		line(o, "notify_up %s", Q(rs->notify_up));
	if (rs->notify_down)
		line(o, "notify_down %s", Q(rs->notify_down));
	if (rs->virtualhost)
		line(o, "virtualhost %s", Q(rs->virtualhost));
	line(o, "connect_timeout %s", T(rs->connect_timeout_ms));
	line(o, "delay_loop %s", T(rs->delay_loop_ms));
	if (rs->retry != CONF_UNSET)
		line(o, "retry %u", rs->retry);
	if (rs->delay_before_retry_ms != CONF_UNSET)
		line(o, "delay_before_retry %s", T(rs->delay_before_retry_ms));
	if (rs->warmup_ms != CONF_UNSET)
		line(o, "warmup %s", T(rs->warmup_ms));
	for (unsigned i = 0; i < rs->n_checkers; i++)
		dump_checker(o, &rs->checkers[i]);
	close_blk(o);
}

static void dump_vs(struct out *o, const struct conf *c, const struct conf_vs *vs)
{
	static const struct { uint32_t flag; const char *name; } flags[] = {
		{ CONF_SF_OPS, "ops" },         { CONF_SF_HASHED, "hashed" },
		{ CONF_SF_FLAG1, "flag-1" },    { CONF_SF_FLAG2, "flag-2" },
		{ CONF_SF_FLAG3, "flag-3" },    { CONF_SF_SH_PORT, "sh-port" },
		{ CONF_SF_SH_FALLBACK, "sh-fallback" }, { CONF_SF_MH_PORT, "mh-port" },
		{ CONF_SF_MH_FALLBACK, "mh-fallback" },
	};
	if (vs->kind == CONF_VS_ADDR)
		open_blk(o, "virtual_server %s %u", A(&vs->addr), vs->port);
	else if (vs->kind == CONF_VS_FWMARK)
		open_blk(o, "virtual_server fwmark %u", vs->fwmark);
	else
		open_blk(o, "virtual_server group %s", Q(vs->group));
	if (vs->kind != CONF_VS_ADDR)
		line(o, "ip_family %s", vs->af == ULVS_AF_INET6 ? "inet6" : "inet");
	if (vs->proto)
		line(o, "protocol %s", vs->proto == IPPROTO_TCP ? "TCP" : "UDP");
	line(o, "lb_algo %s", vs->sched);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (vs->sched_flags & flags[i].flag)
			line(o, "%s", flags[i].name);
	line(o, "lb_kind %s", conf_fwd_name(vs->fwd));
	if (vs->laddr_group)
		line(o, "laddr_group_name %s", Q(vs->laddr_group));
	if (vs->persistence_timeout) {
		line(o, "persistence_timeout %u", vs->persistence_timeout);
		if (vs->af == ULVS_AF_INET) {
			/* keepalived wants an IPv4 netmask in dotted form */
			struct conf_addr m = { ULVS_AF_INET, { .ip = 0 } };
			m.a.ip = htonl(vs->persistence_plen ? ~0u << (32 - vs->persistence_plen) : 0);
			line(o, "persistence_granularity %s", A(&m));
		} else {
			line(o, "persistence_granularity %u", vs->persistence_plen);
		}
	}
	line(o, "delay_loop %s", T(vs->delay_loop_ms));
	line(o, "connect_timeout %s", T(vs->connect_timeout_ms));
	if (vs->retry != CONF_UNSET)
		line(o, "retry %u", vs->retry);
	if (vs->delay_before_retry_ms != CONF_UNSET)
		line(o, "delay_before_retry %s", T(vs->delay_before_retry_ms));
	if (vs->warmup_ms != CONF_UNSET)
		line(o, "warmup %s", T(vs->warmup_ms));
	line(o, "weight %d", vs->weight);
	line(o, "inhibit_on_failure %s", onoff(vs->inhibit_on_failure));
	line(o, "alpha %s", onoff(vs->alpha));
	line(o, "omega %s", onoff(vs->omega));
	if (vs->ha_suspend)
		line(o, "ha_suspend");
	if (vs->smtp_alert >= 0)
		line(o, "smtp_alert %s", onoff(vs->smtp_alert));
	if (vs->virtualhost)
		line(o, "virtualhost %s", Q(vs->virtualhost));
	line(o, "quorum %u", vs->quorum);
	line(o, "hysteresis %u", vs->hysteresis);
	if (vs->quorum_up)
		line(o, "quorum_up %s", Q(vs->quorum_up));
	if (vs->quorum_down)
		line(o, "quorum_down %s", Q(vs->quorum_down));
	if (vs->has_sorry) {
		line(o, "sorry_server %s %u", A(&vs->sorry.addr), vs->sorry.port);
		line(o, "sorry_server_lvs_method %s", conf_fwd_name(vs->sorry.fwd));
		if (vs->sorry.inhibit_on_failure)
			line(o, "sorry_server_inhibit");
	}
	for (unsigned i = 0; i < vs->n_rs; i++)
		dump_rs(o, &vs->rs[i]);
	close_blk(o);
	(void)c;
}

static void dump_script_kw(struct out *o, const char *kw, const char *s)
{
	if (s)
		line(o, "%s %s", kw, Q(s));
}

static void dump_ipaddrs(struct out *o, const char *blk, const struct conf_ipaddr *a, unsigned n)
{
	if (!n)
		return;
	open_blk(o, "%s", blk);
	for (unsigned i = 0; i < n; i++) {
		ind(o);
		fputs(P(&a[i].p), o->f);
		if (a[i].dev)
			fprintf(o->f, " dev %s", Q(a[i].dev));
		if (a[i].label)
			fprintf(o->f, " label %s", Q(a[i].label));
		if (a[i].extra)
			fprintf(o->f, " %s", a[i].extra);
		fputc('\n', o->f);
	}
	close_blk(o);
}

static void dump_tracks(struct out *o, const char *blk, const struct conf_track *t, unsigned n)
{
	if (!n)
		return;
	open_blk(o, "%s", blk);
	for (unsigned i = 0; i < n; i++) {
		if (t[i].has_weight)
			line(o, "%s weight %d", Q(t[i].name), t[i].weight);
		else
			line(o, "%s", Q(t[i].name));
	}
	close_blk(o);
}

static void dump_vrrp(struct out *o, const struct conf_vrrp *v)
{
	open_blk(o, "vrrp_instance %s", Q(v->name));
	line(o, "state %s", v->state == VRRP_STATE_MASTER ? "MASTER" : "BACKUP");
	line(o, "interface %s", v->interface);
	line(o, "virtual_router_id %u", v->vrid);
	line(o, "priority %u", v->priority);
	line(o, "advert_int %s", T(v->advert_int_ms));
	line(o, "version %u", v->version);
	if (v->auth_type != VRRP_AUTH_NONE || v->auth_pass) {
		open_blk(o, "authentication");
		if (v->auth_type != VRRP_AUTH_NONE)
			line(o, "auth_type %s", v->auth_type == VRRP_AUTH_PASS ? "PASS" : "AH");
		if (v->auth_pass)
			line(o, "auth_pass %s", Q(v->auth_pass));
		close_blk(o);
	}
	dump_ipaddrs(o, "virtual_ipaddress", v->vips, v->n_vips);
	dump_ipaddrs(o, "virtual_ipaddress_excluded", v->vips_excluded, v->n_vips_excluded);
	if (v->n_virtual_routes) {
		open_blk(o, "virtual_routes");
		for (unsigned i = 0; i < v->n_virtual_routes; i++)
			line(o, "%s", v->virtual_routes[i]);
		close_blk(o);
	}
	dump_tracks(o, "track_interface", v->track_interface, v->n_track_interface);
	dump_tracks(o, "track_script", v->track_script, v->n_track_script);
	if (v->n_track_file) {
		open_blk(o, "track_file");
		for (unsigned i = 0; i < v->n_track_file; i++) {
			const struct conf_track *t = &v->track_file[i];
			if (t->has_weight)
				line(o, "%s weight %d%s", Q(t->name), t->weight,
				     t->reverse ? " reverse" : "");
			else
				line(o, "%s", Q(t->name));
		}
		close_blk(o);
	}
	if (v->unicast_src_ip.af)
		line(o, "unicast_src_ip %s", A(&v->unicast_src_ip));
	if (v->mcast_src_ip.af)
		line(o, "mcast_src_ip %s", A(&v->mcast_src_ip));
	if (v->n_unicast_peers) {
		open_blk(o, "unicast_peer");
		for (unsigned i = 0; i < v->n_unicast_peers; i++)
			line(o, "%s", A(&v->unicast_peers[i]));
		close_blk(o);
	}
	line(o, "%s", v->nopreempt ? "nopreempt" : "preempt");
	if (v->preempt_delay_ms)
		line(o, "preempt_delay %s", T(v->preempt_delay_ms));
	if (v->dont_track_primary)
		line(o, "dont_track_primary");
	if (v->native_ipv6)
		line(o, "native_ipv6");
	if (v->v3_checksum_as_v2)
		line(o, "v3_checksum_as_v2");
	if (v->accept >= 0)
		line(o, "%s", v->accept ? "accept" : "no_accept");
	dump_script_kw(o, "notify_master", v->notify_master);
	dump_script_kw(o, "notify_backup", v->notify_backup);
	dump_script_kw(o, "notify_fault", v->notify_fault);
	dump_script_kw(o, "notify_stop", v->notify_stop);
	dump_script_kw(o, "notify", v->notify);
	if (v->smtp_alert >= 0)
		line(o, "smtp_alert %s", onoff(v->smtp_alert));
	if (v->lvs_sync_daemon_interface)
		line(o, "lvs_sync_daemon_interface %s", v->lvs_sync_daemon_interface);
	close_blk(o);
}

int conf_dump(const struct conf *c, FILE *out)
{
	struct out oo = { out, 0, NULL, 0 }, *o = &oo;
	fputs("! effective configuration, as ulvs reads it (defaults filled in)\n", out);
	dump_global(o, c);
	dump_ulvs(o, c);
	if (c->n_static_ipaddress)
		dump_ipaddrs(o, "static_ipaddress", c->static_ipaddress, c->n_static_ipaddress);
	if (c->n_static_routes) {
		open_blk(o, "static_routes");
		for (unsigned i = 0; i < c->n_static_routes; i++)
			line(o, "%s", c->static_routes[i]);
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_lags; i++) {
		const struct conf_laddr_group *g = &c->lags[i];
		open_blk(o, "local_address_group %s", Q(g->name));
		for (unsigned k = 0; k < g->n_entries; k++) {
			char rb[80];
			const struct conf_laddr *e = &g->entries[k];
			if (e->ifname[0])
				line(o, "%s %s", range2s(rb, &e->first, e->count), e->ifname);
			else
				line(o, "%s", range2s(rb, &e->first, e->count));
		}
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_marks; i++) {
		const struct conf_mark_rule *r = &c->marks[i];
		open_blk(o, "fwmark_rule %u", r->mark);
		line(o, "protocol %s", r->proto == IPPROTO_TCP ? "TCP" :
			 r->proto == IPPROTO_UDP ? "UDP" : "any");
		line(o, "destination %s", P(&r->dst));
		if (r->n_ports) {
			ind(o);
			fputs("port ", out);
			for (unsigned k = 0; k < r->n_ports; k++) {
				fprintf(out, "%s%u", k ? "," : "", r->port_lo[k]);
				if (r->port_hi[k] != r->port_lo[k])
					fprintf(out, "-%u", r->port_hi[k]);
			}
			fputc('\n', out);
		}
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_vsgs; i++) {
		const struct conf_vsg *g = &c->vsgs[i];
		open_blk(o, "virtual_server_group %s", Q(g->name));
		for (unsigned k = 0; k < g->n_entries; k++) {
			const struct conf_vsg_entry *e = &g->entries[k];
			char rb[80];
			if (e->is_fwmark)
				line(o, "fwmark %u", e->fwmark);
			else
				line(o, "%s %u", range2s(rb, &e->first, e->count), e->port);
		}
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_vs; i++)
		dump_vs(o, c, &c->vs[i]);
	for (unsigned i = 0; i < c->n_scripts; i++) {
		const struct conf_vrrp_script *s = &c->scripts[i];
		open_blk(o, "vrrp_script %s", Q(s->name));
		line(o, "script %s", Q(s->script));
		line(o, "interval %s", T(s->interval_ms));
		line(o, "timeout %s", T(s->timeout_ms));
		line(o, "weight %d", s->weight);
		line(o, "rise %u", s->rise);
		line(o, "fall %u", s->fall);
		if (s->user)
			line(o, "user %s", s->user);
		if (s->init_fail)
			line(o, "init_fail");
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_track_files; i++) {
		const struct conf_track_file *t = &c->track_files[i];
		open_blk(o, "track_file %s", Q(t->name));
		line(o, "file %s", Q(t->file));
		line(o, "weight %d%s", t->weight, t->reverse ? " reverse" : "");
		if (t->init_file)
			line(o, "init_file %d%s", t->init_value, t->init_overwrite ? " overwrite" : "");
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_sync_groups; i++) {
		const struct conf_sync_group *g = &c->sync_groups[i];
		open_blk(o, "vrrp_sync_group %s", Q(g->name));
		if (g->n_members) {
			open_blk(o, "group");
			for (unsigned k = 0; k < g->n_members; k++)
				line(o, "%s", Q(g->members[k]));
			close_blk(o);
		}
		dump_tracks(o, "track_interface", g->track_interface, g->n_track_interface);
		dump_tracks(o, "track_script", g->track_script, g->n_track_script);
		dump_script_kw(o, "notify_master", g->notify_master);
		dump_script_kw(o, "notify_backup", g->notify_backup);
		dump_script_kw(o, "notify_fault", g->notify_fault);
		dump_script_kw(o, "notify_stop", g->notify_stop);
		dump_script_kw(o, "notify", g->notify);
		if (g->smtp_alert >= 0)
			line(o, "smtp_alert %s", onoff(g->smtp_alert));
		close_blk(o);
	}
	for (unsigned i = 0; i < c->n_vrrps; i++)
		dump_vrrp(o, &c->vrrps[i]);
	for (unsigned i = 0; i < o->n_words; i++)
		free(o->words[i]);
	free(o->words);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
