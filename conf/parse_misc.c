/* Top-level, global_defs, VRRP, static_* and ulvs_defs keywords.
 *
 * The VRRP side is recorded in the model for the VRRP issue; keywords that
 * ulvs does not model at all are recognised (so a keepalived config loads)
 * and warned about as not implemented.  Names and ranges follow keepalived
 * 2.x (global_parser.c, vrrp_parser.c).  ulvs_defs is ulvs's own block: what
 * live mode learns from the kernel and replay mode must be told.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define UNIMPL(name) { name, 0, -1, KB_OPT, KWF_UNIMPL, NULL }

/* ---- small shared helpers ---- */

/* A block whose lines are plain values (notification_email, group,
 * unicast_peer): returns the first word of each line. */
static void value_lines(struct pctx *p, const struct cnode *n, char ***out, unsigned *n_out)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		if (e->block)
			cerr(p, e->kw, "'%s' entries take no block", n->kw->s);
		for (unsigned a = 0; a < e->argc + 1; a++) {
			const struct ctok *t = a == 0 ? e->kw : &e->args[a - 1];
			*VEC_PUSH(*out, *n_out) = xstrdup(t->s);
		}
	}
}

static void track_lines(struct pctx *p, const struct cnode *n, struct conf_track **out,
			unsigned *n_out, int32_t wmin, int32_t wmax)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		struct conf_track t = { .loc = e->kw->loc };
		if (e->argc >= 2 && !strcmp(e->args[0].s, "weight")) {
			if (!rd_i32(p, &e->args[1], wmin, wmax, &t.weight, "tracking weight"))
				continue;
			t.has_weight = true;
			if (e->argc > 2 && strcmp(e->args[2].s, "reverse"))
				cwarn(p, &e->args[2], "extra arguments ignored");
		} else if (e->argc > 0) {
			cerr(p, &e->args[0], "expected 'NAME [weight N]'");
			continue;
		}
		t.name = xstrdup(e->kw->s);
		*VEC_PUSH(*out, *n_out) = t;
	}
}

static void ipaddr_lines(struct pctx *p, const struct cnode *n, struct conf_ipaddr **out,
			 unsigned *n_out)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		struct conf_ipaddr a = { .loc = e->kw->loc };
		if (!rd_prefix(p, e->kw, &a.p, "address"))
			continue;
		char *extra = NULL;
		bool ok = true;
		for (unsigned k = 0; k < e->argc; k++) {
			const char *w = e->args[k].s;
			if ((!strcmp(w, "dev") || !strcmp(w, "label")) && k + 1 < e->argc) {
				set_str(!strcmp(w, "dev") ? &a.dev : &a.label, e->args[k + 1].s);
				k++;
				continue;
			}
			if (!strcmp(w, "dev") || !strcmp(w, "label")) {
				cerr(p, &e->args[k], "'%s' needs a value", w);
				ok = false;
				break;
			}
			/* other options (brd, scope, home, ...) are kept verbatim */
			char *qw = quote_word(w);
			size_t l = (extra ? strlen(extra) + 1 : 0) + strlen(qw) + 1;
			char *ne = xcalloc(1, l);
			snprintf(ne, l, "%s%s%s", extra ? extra : "", extra ? " " : "", qw);
			free(extra);
			free(qw);
			extra = ne;
		}
		a.extra = extra;
		if (!ok) {
			free(a.dev);
			free(a.label);
			free(a.extra);
			continue;
		}
		*VEC_PUSH(*out, *n_out) = a;
	}
}

static void script_arg(struct pctx *p, const struct cnode *n, char **dst)
{
	set_str(dst, n->args[0].s);
	if (n->argc > 1)
		cwarn(p, &n->args[1], "running scripts as another user is not implemented by "
		      "ulvs yet");
}

/* ---- global_defs ---- */

#define G(o) ((struct conf_global *)(o))

static void g_notification_email(struct pctx *p, const struct cnode *n, void *o)
{
	value_lines(p, n, &G(o)->notification_email, &G(o)->n_notification_email);
}
static void g_email_from(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&G(o)->notification_email_from, n->args[0].s);
}
static void g_smtp_server(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&G(o)->smtp_server, n->args[0].s);
	if (n->argc > 1)
		rd_u32(p, &n->args[1], 1, 65535, &G(o)->smtp_port, "smtp_server port");
}
static void g_smtp_helo(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&G(o)->smtp_helo_name, n->args[0].s);
}
static void g_smtp_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &G(o)->smtp_connect_timeout_ms, "smtp_connect_timeout");
}
static void g_router_id(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&G(o)->router_id, n->args[0].s);
}
static void g_mcast4(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_addr a;
	if (!rd_addr(p, &n->args[0], &a, "vrrp_mcast_group4 address"))
		return;
	if (a.af != ULVS_AF_INET || (a.a.b[0] & 0xf0) != 0xe0) {
		cerr(p, &n->args[0], "vrrp_mcast_group4 '%s' is not an IPv4 multicast address",
		     n->args[0].s);
		return;
	}
	G(o)->vrrp_mcast_group4 = a;
}
static void g_mcast6(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_addr a;
	if (!rd_addr(p, &n->args[0], &a, "vrrp_mcast_group6 address"))
		return;
	if (a.af != ULVS_AF_INET6 || a.a.b[0] != 0xff) {
		cerr(p, &n->args[0], "vrrp_mcast_group6 '%s' is not an IPv6 multicast address",
		     n->args[0].s);
		return;
	}
	G(o)->vrrp_mcast_group6 = a;
}
static void g_default_interface(struct pctx *p, const struct cnode *n, void *o)
{
	char name[16];
	if (rd_ifname(p, &n->args[0], name))
		set_str(&G(o)->default_interface, name);
}
static void g_lvs_sync_daemon(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_global *g = o;
	struct conf_sync_daemon sd = { .loc = n->kw->loc };
	char ifn[16];
	if (!rd_ifname(p, &n->args[0], ifn))
		return;
	bool ok = true;
	for (unsigned i = 2; i < n->argc; i += 2) {
		const char *k = n->args[i].s;
		if (i + 1 >= n->argc) {
			cerr(p, &n->args[i], "'%s' needs a value", k);
			ok = false;
			break;
		}
		const struct ctok *v = &n->args[i + 1];
		if (!strcmp(k, "id"))
			ok &= rd_u32(p, v, 0, 255, &sd.syncid, "sync id");
		else if (!strcmp(k, "maxlen"))
			ok &= rd_u32(p, v, 1, 65507, &sd.maxlen, "maxlen");
		else if (!strcmp(k, "port"))
			ok &= rd_u32(p, v, 1, 65535, &sd.port, "port");
		else if (!strcmp(k, "ttl"))
			ok &= rd_u32(p, v, 1, 255, &sd.ttl, "ttl");
		else if (!strcmp(k, "group"))
			ok &= rd_addr(p, v, &sd.group, "group address");
		else {
			cerr(p, &n->args[i], "unknown lvs_sync_daemon option '%s' (expected id, "
			     "maxlen, port, ttl or group)", k);
			ok = false;
		}
	}
	if (!ok)
		return;
	free(g->sync_daemon.interface);
	free(g->sync_daemon.instance);
	sd.interface = xstrdup(ifn);
	sd.instance = xstrdup(n->args[1].s);
	g->sync_daemon = sd;
	g->have_sync_daemon = true;
}
static void g_lvs_flush(struct pctx *p, const struct cnode *n, void *o)
{
	G(o)->lvs_flush = true;
}
static void g_lvs_flush_onstop(struct pctx *p, const struct cnode *n, void *o)
{
	G(o)->lvs_flush_onstop = true;
}
static void g_lvs_timeouts(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_global *g = o;
	for (unsigned i = 0; i < n->argc; i += 2) {
		const char *k = n->args[i].s;
		uint32_t *dst = !strcmp(k, "tcp") ? &g->lvs_timeout_tcp
			      : !strcmp(k, "tcpfin") ? &g->lvs_timeout_tcpfin
			      : !strcmp(k, "udp") ? &g->lvs_timeout_udp : NULL;
		if (!dst) {
			cerr(p, &n->args[i], "unknown lvs_timeouts item '%s' (expected tcp, tcpfin "
			     "or udp)", k);
			continue;
		}
		if (i + 1 >= n->argc) {
			cerr(p, &n->args[i], "'%s' needs a number of seconds", k);
			break;
		}
		/* ipvsadm --set: seconds, at most a month (LVS_MAX_TIMEOUT) */
		uint32_t ms;
		if (rd_timer_ms(p, &n->args[i + 1], 1000, &ms, "LVS timeout")) {
			if (ms > 86400u * 31 * 1000)
				cerr(p, &n->args[i + 1], "LVS timeout '%s' is above 31 days",
				     n->args[i + 1].s);
			else
				*dst = ms / 1000;
		}
	}
}
static void g_vrrp_version(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 2, 3, &G(o)->vrrp_version, "vrrp_version");
}
static void g_vrrp_strict(struct pctx *p, const struct cnode *n, void *o)
{
	G(o)->vrrp_strict = true;
}
static void g_skip_check_adv_addr(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &G(o)->vrrp_skip_check_adv_addr);
}
static void g_check_unicast_src(struct pctx *p, const struct cnode *n, void *o)
{
	G(o)->vrrp_check_unicast_src = true;
}
static void g_garp_master_delay(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &G(o)->vrrp_garp_master_delay_ms, "vrrp_garp_master_delay");
}
static void g_garp_master_repeat(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, 255, &G(o)->vrrp_garp_master_repeat, "vrrp_garp_master_repeat");
}
static void g_garp_master_refresh(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &G(o)->vrrp_garp_master_refresh_ms,
		    "vrrp_garp_master_refresh");
}
static void g_garp_master_refresh_repeat(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 255, &G(o)->vrrp_garp_master_refresh_repeat,
	       "vrrp_garp_master_refresh_repeat");
}
static void g_garp_interval(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_us(p, &n->args[0], &G(o)->vrrp_garp_interval_us, "vrrp_garp_interval");
}
static void g_gna_interval(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_us(p, &n->args[0], &G(o)->vrrp_gna_interval_us, "vrrp_gna_interval");
}
static void g_script_user(struct pctx *p, const struct cnode *n, void *o)
{
	char *s = join_args_q(n, 0);
	free(G(o)->script_user);
	G(o)->script_user = s;
}
static void g_script_security(struct pctx *p, const struct cnode *n, void *o)
{
	G(o)->enable_script_security = true;
}

static const struct kw kw_global[] = {
	{ "notification_email", 0, 0, KB_YES, 0, g_notification_email },
	{ "notification_email_from", 1, 1, KB_NO, 0, g_email_from },
	{ "smtp_server", 1, 2, KB_NO, 0, g_smtp_server },
	{ "smtp_helo_name", 1, 1, KB_NO, 0, g_smtp_helo },
	{ "smtp_connect_timeout", 1, 1, KB_NO, 0, g_smtp_timeout },
	{ "router_id", 1, 1, KB_NO, 0, g_router_id },
	{ "lvs_id", 1, 1, KB_NO, KWF_DEPRECATED, g_router_id }, /* keepalived 1.x */
	{ "vrrp_mcast_group4", 1, 1, KB_NO, 0, g_mcast4 },
	{ "vrrp_mcast_group6", 1, 1, KB_NO, 0, g_mcast6 },
	{ "default_interface", 1, 1, KB_NO, 0, g_default_interface },
	{ "lvs_sync_daemon", 2, -1, KB_NO, 0, g_lvs_sync_daemon },
	{ "lvs_flush", 0, 0, KB_NO, 0, g_lvs_flush },
	{ "lvs_flush_onstop", 0, 1, KB_NO, 0, g_lvs_flush_onstop },
	{ "lvs_timeouts", 2, 6, KB_NO, 0, g_lvs_timeouts },
	{ "vrrp_version", 1, 1, KB_NO, 0, g_vrrp_version },
	{ "vrrp_strict", 0, 0, KB_NO, 0, g_vrrp_strict },
	{ "vrrp_skip_check_adv_addr", 0, 1, KB_NO, 0, g_skip_check_adv_addr },
	{ "vrrp_check_unicast_src", 0, 0, KB_NO, 0, g_check_unicast_src },
	{ "vrrp_garp_master_delay", 1, 1, KB_NO, 0, g_garp_master_delay },
	{ "vrrp_garp_master_repeat", 1, 1, KB_NO, 0, g_garp_master_repeat },
	{ "vrrp_garp_master_refresh", 1, 1, KB_NO, 0, g_garp_master_refresh },
	{ "vrrp_garp_master_refresh_repeat", 1, 1, KB_NO, 0, g_garp_master_refresh_repeat },
	{ "vrrp_garp_interval", 1, 1, KB_NO, 0, g_garp_interval },
	{ "vrrp_gna_interval", 1, 1, KB_NO, 0, g_gna_interval },
	{ "script_user", 1, 2, KB_NO, 0, g_script_user },
	{ "enable_script_security", 0, 0, KB_NO, 0, g_script_security },
	UNIMPL("smtp_alert"), UNIMPL("smtp_alert_vrrp"), UNIMPL("smtp_alert_checker"),
	UNIMPL("no_email_faults"), UNIMPL("vrrp_garp_lower_prio_delay"),
	UNIMPL("vrrp_garp_lower_prio_repeat"), UNIMPL("vrrp_lower_prio_no_advert"),
	UNIMPL("vrrp_higher_prio_send_advert"), UNIMPL("vrrp_min_garp"), UNIMPL("vrrp_iptables"),
	UNIMPL("vrrp_ipsets"), UNIMPL("nftables"), UNIMPL("nftables_priority"),
	UNIMPL("nftables_ifindex"), UNIMPL("nftables_counters"), UNIMPL("vrrp_priority"),
	UNIMPL("checker_priority"), UNIMPL("bfd_priority"), UNIMPL("vrrp_no_swap"),
	UNIMPL("checker_no_swap"), UNIMPL("bfd_no_swap"), UNIMPL("vrrp_rt_priority"),
	UNIMPL("checker_rt_priority"), UNIMPL("bfd_rt_priority"), UNIMPL("vrrp_rlimit_rtime"),
	UNIMPL("checker_rlimit_rtime"), UNIMPL("bfd_rlimit_rtime"), UNIMPL("vrrp_cpu_affinity"),
	UNIMPL("checker_cpu_affinity"), UNIMPL("bfd_cpu_affinity"), UNIMPL("snmp_socket"),
	UNIMPL("enable_snmp_keepalived"), UNIMPL("enable_snmp_vrrp"),
	UNIMPL("enable_snmp_checker"), UNIMPL("enable_snmp_rfc"), UNIMPL("enable_snmp_rfcv2"),
	UNIMPL("enable_snmp_rfcv3"), UNIMPL("enable_traps"), UNIMPL("enable_dbus"),
	UNIMPL("dbus_service_name"), UNIMPL("notify_fifo"), UNIMPL("notify_fifo_script"),
	UNIMPL("vrrp_notify_fifo"), UNIMPL("vrrp_notify_fifo_script"), UNIMPL("lvs_notify_fifo"),
	UNIMPL("lvs_notify_fifo_script"), UNIMPL("dynamic_interfaces"), UNIMPL("net_namespace"),
	UNIMPL("namespace_with_ipsets"), UNIMPL("instance"), UNIMPL("use_pid_dir"),
	UNIMPL("linkbeat_use_polling"), UNIMPL("child_wait_time"), UNIMPL("vrrp_startup_delay"),
	UNIMPL("max_auto_priority"), UNIMPL("min_auto_priority_delay"),
	UNIMPL("vrrp_netlink_cmd_rcv_bufs"), UNIMPL("vrrp_netlink_monitor_rcv_bufs"),
	UNIMPL("lvs_netlink_cmd_rcv_bufs"), UNIMPL("lvs_netlink_monitor_rcv_bufs"),
	UNIMPL("process_monitor_rcv_bufs"), UNIMPL("vrrp_rx_bufs_policy"),
	UNIMPL("vrrp_rx_bufs_multiplier"), UNIMPL("process_names"), UNIMPL("process_name"),
	UNIMPL("vrrp_process_name"), UNIMPL("checker_process_name"), UNIMPL("bfd_process_name"),
	UNIMPL("random_seed"), UNIMPL("log_unknown_vrids"), UNIMPL("vrrp_owner_ignore_adverts"),
	UNIMPL("umask"), UNIMPL("tmp_config_directory"), UNIMPL("disable_local_igmp"),
	UNIMPL("fifo_write_vrrp_states_on_reload"), UNIMPL("vrrp_garp_extra_if"),
	UNIMPL("vrrp_track_process"), UNIMPL("reload_check_config"), UNIMPL("reload_time_file"),
	UNIMPL("reload_repeat"), UNIMPL("reload_file"), UNIMPL("config_save_dir"),
	UNIMPL("data_use_instance"), UNIMPL("lvs_sync_daemon_interface"),
	UNIMPL("checker_log_all_failures"), UNIMPL("vrrp_version_3_checksum"),
	UNIMPL("script_security"), UNIMPL("vrrp_higher_prio_send_advert"),
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_global_defs(struct pctx *p, const struct cnode *n, void *o)
{
	parse_block(p, n->kids, n->n_kids, kw_global, &p->c->global, "global_defs");
}

/* ---- ulvs_defs ---- */

#define IF(o) ((struct conf_iface *)(o))

static void if_mac(struct pctx *p, const struct cnode *n, void *o)
{
	if (rd_mac(p, &n->args[0], &IF(o)->mac))
		IF(o)->has_mac = true;
}
static void if_address(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_prefix a;
	if (rd_prefix(p, &n->args[0], &a, "interface address")) {
		if (!strchr(n->args[0].s, '/'))
			a.plen = 0;
		*VEC_PUSH(IF(o)->addrs, IF(o)->n_addrs) = a;
	}
}
static void if_mtu(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 68, 65535, &IF(o)->mtu, "mtu");
}

static const struct kw kw_iface[] = {
	{ "mac", 1, 1, KB_NO, 0, if_mac },
	{ "address", 1, 1, KB_NO, 0, if_address },
	{ "mtu", 1, 1, KB_NO, 0, if_mtu },
	{ NULL, 0, 0, 0, 0, NULL },
};

#define U(o) ((struct conf_ulvs *)(o))

static void u_interface(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_ulvs *u = o;
	char name[16];
	if (!rd_ifname(p, &n->args[0], name))
		return;
	for (unsigned i = 0; i < u->n_ifaces; i++)
		if (!strcmp(u->ifaces[i].name, name)) {
			cerr(p, &n->args[0], "interface '%s' declared twice", name);
			return;
		}
	struct conf_iface *ifc = VEC_PUSH(u->ifaces, u->n_ifaces);
	memcpy(ifc->name, name, sizeof(name));
	ifc->mtu = 1500;
	ifc->loc = n->kw->loc;
	parse_block(p, n->kids, n->n_kids, kw_iface, ifc, "interface");
}
static void u_route(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_route r = { .loc = n->kw->loc };
	const struct ctok *dst = &n->args[0];
	bool ok;
	if (!strcmp(dst->s, "default")) {
		r.dst.af = ULVS_AF_INET;
		ok = true;
	} else {
		ok = rd_prefix(p, dst, &r.dst, "route destination");
		if (ok && !strchr(dst->s, '/'))
			cwarn(p, dst, "route destination without /length taken as a host route");
	}
	for (unsigned i = 1; ok && i < n->argc; i += 2) {
		const char *k = n->args[i].s;
		if (i + 1 >= n->argc) {
			cerr(p, &n->args[i], "'%s' needs a value", k);
			ok = false;
		} else if (!strcmp(k, "via")) {
			ok = rd_addr(p, &n->args[i + 1], &r.via, "gateway address");
		} else if (!strcmp(k, "dev")) {
			ok = rd_ifname(p, &n->args[i + 1], r.dev);
		} else {
			cerr(p, &n->args[i], "unknown route option '%s' (expected via or dev)", k);
			ok = false;
		}
	}
	if (!ok)
		return;
	if (!strcmp(dst->s, "default") && r.via.af)
		r.dst.af = r.via.af;
	if (r.via.af && r.via.af != r.dst.af) {
		cerr(p, dst, "route gateway and destination are of different families");
		return;
	}
	if (!r.via.af && !r.dev[0]) {
		cerr(p, n->kw, "route needs 'via GATEWAY' or 'dev IFNAME'");
		return;
	}
	*VEC_PUSH(U(o)->routes, U(o)->n_routes) = r;
}
static void u_neighbor(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_neigh ne = { .loc = n->kw->loc };
	bool ok = rd_addr(p, &n->args[0], &ne.addr, "neighbour address"), mac = false;
	for (unsigned i = 1; ok && i < n->argc; i += 2) {
		const char *k = n->args[i].s;
		if (i + 1 >= n->argc) {
			cerr(p, &n->args[i], "'%s' needs a value", k);
			ok = false;
		} else if (!strcmp(k, "lladdr")) {
			ok = mac = rd_mac(p, &n->args[i + 1], &ne.mac);
		} else if (!strcmp(k, "dev")) {
			ok = rd_ifname(p, &n->args[i + 1], ne.dev);
		} else {
			cerr(p, &n->args[i], "unknown neighbor option '%s' (expected lladdr or dev)",
			     k);
			ok = false;
		}
	}
	if (ok && !mac) {
		cerr(p, n->kw, "neighbor needs 'lladdr MAC'");
		ok = false;
	}
	if (ok)
		*VEC_PUSH(U(o)->neighs, U(o)->n_neighs) = ne;
}
static void u_conn_table_size(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1024, 1u << 30, &U(o)->conn_table_size, "conn_table_size");
}
static void u_expire_nodest(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &U(o)->expire_nodest_conn);
}
static void u_expire_quiescent(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &U(o)->expire_quiescent_template);
}
static void u_conn_reuse(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &U(o)->conn_reuse_mode);
}
/* control_socket PATH: an absolute path that fits sockaddr_un.sun_path. */
static void u_control_socket(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	if (s[0] != '/' || strlen(s) >= sizeof(U(o)->control_socket)) {
		cerr(p, &n->args[0], "control_socket needs an absolute path shorter than %zu bytes",
		     sizeof(U(o)->control_socket));
		return;
	}
	memcpy(U(o)->control_socket, s, strlen(s) + 1);
}

/* metrics_listen ADDR [PORT], or ADDR:PORT / [V6ADDR]:PORT in one word. */
static void u_metrics_listen(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_ulvs *u = o;
	struct ctok a = n->args[0], port = { 0 };
	char buf[128];
	uint32_t pt = 9117;
	bool ok;

	snprintf(buf, sizeof(buf), "%s", a.s);
	if (n->argc == 1) {
		char *c = buf[0] == '[' ? strstr(buf, "]:") : strchr(buf, ':');
		bool v4port = c && buf[0] != '[' && !strchr(c + 1, ':');
		if (buf[0] == '[' && c) {
			*c = '\0';
			memmove(buf, buf + 1, strlen(buf));
			port = a;
			port.s = c + 2;
		} else if (v4port) {
			*c = '\0';
			port = a;
			port.s = c + 1;
		}
	} else {
		port = n->args[1];
	}
	a.s = buf;
	ok = rd_addr(p, &a, &u->metrics_addr, "metrics listen address");
	if (ok && port.s)
		ok = rd_u32(p, &port, 1, 65535, &pt, "metrics port");
	if (!ok)
		return;
	u->metrics_port = pt;
	u->have_metrics = true;
}

static const struct kw kw_ulvs[] = {
	{ "metrics_listen", 1, 2, KB_NO, 0, u_metrics_listen },
	{ "interface", 1, 1, KB_YES, 0, u_interface },
	{ "route", 2, 5, KB_NO, 0, u_route },
	{ "neighbor", 3, 5, KB_NO, 0, u_neighbor },
	{ "neighbour", 3, 5, KB_NO, KWF_DEPRECATED, u_neighbor },
	{ "conn_table_size", 1, 1, KB_NO, 0, u_conn_table_size },
	{ "expire_nodest_conn", 0, 1, KB_NO, 0, u_expire_nodest },
	{ "expire_quiescent_template", 0, 1, KB_NO, 0, u_expire_quiescent },
	{ "conn_reuse_mode", 0, 1, KB_NO, 0, u_conn_reuse },
	{ "control_socket", 1, 1, KB_NO, 0, u_control_socket },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_ulvs_defs(struct pctx *p, const struct cnode *n, void *o)
{
	parse_block(p, n->kids, n->n_kids, kw_ulvs, &p->c->ulvs, "ulvs_defs");
}

/* ---- vrrp_script ---- */

#define SC(o) ((struct conf_vrrp_script *)(o))

static void sc_script(struct pctx *p, const struct cnode *n, void *o)
{
	char *s = join_args(n, 0);
	free(SC(o)->script);
	SC(o)->script = s;
}
static void sc_interval(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &SC(o)->interval_ms, "interval");
}
static void sc_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &SC(o)->timeout_ms, "timeout");
}
static void sc_weight(struct pctx *p, const struct cnode *n, void *o)
{
	rd_i32(p, &n->args[0], -253, 253, &SC(o)->weight, "vrrp_script weight");
	if (n->argc > 1 && strcmp(n->args[1].s, "reverse"))
		cerr(p, &n->args[1], "expected 'reverse' after the weight, not '%s'", n->args[1].s);
	else if (n->argc > 1)
		cwarn(p, &n->args[1], "'reverse' is not implemented by ulvs yet");
}
static void sc_rise(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 255, &SC(o)->rise, "rise");
}
static void sc_fall(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 255, &SC(o)->fall, "fall");
}
static void sc_user(struct pctx *p, const struct cnode *n, void *o)
{
	char *s = join_args_q(n, 0);
	free(SC(o)->user);
	SC(o)->user = s;
}
static void sc_init_fail(struct pctx *p, const struct cnode *n, void *o)
{
	SC(o)->init_fail = true;
}

static const struct kw kw_script[] = {
	{ "script", 1, -1, KB_NO, 0, sc_script },
	{ "interval", 1, 1, KB_NO, 0, sc_interval },
	{ "timeout", 1, 1, KB_NO, 0, sc_timeout },
	{ "weight", 1, 2, KB_NO, 0, sc_weight },
	{ "rise", 1, 1, KB_NO, 0, sc_rise },
	{ "fall", 1, 1, KB_NO, 0, sc_fall },
	{ "user", 1, 2, KB_NO, 0, sc_user },
	{ "init_fail", 0, 0, KB_NO, 0, sc_init_fail },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_vrrp_script(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf *c = p->c;
	struct conf_vrrp_script *s = VEC_PUSH(c->scripts, c->n_scripts);
	set_str(&s->name, n->args[0].s);
	s->loc = n->kw->loc;
	s->interval_ms = 1000;
	s->timeout_ms = CONF_UNSET;
	s->rise = s->fall = 1;
	parse_block(p, n->kids, n->n_kids, kw_script, s, "vrrp_script");
	if (!s->script) {
		/* keepalived removes it and runs on; trackers of it warn */
		cwarn(p, n->kw, "vrrp_script '%s' without 'script'; ignored", s->name);
		free(s->name);
		free(s->user);
		c->n_scripts--;
	}
}

/* ---- vrrp_instance ---- */

#define VI(o) ((struct conf_vrrp *)(o))

static void vi_state(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	if (!strcmp(s, "MASTER"))
		VI(o)->state = VRRP_STATE_MASTER;
	else if (!strcmp(s, "BACKUP"))
		VI(o)->state = VRRP_STATE_BACKUP;
	else {
		/* keepalived logs "unknown state" and starts as BACKUP. */
		cwarn(p, &n->args[0], "unknown state '%s' (expected MASTER or BACKUP); using BACKUP",
		      s);
		VI(o)->state = VRRP_STATE_BACKUP;
	}
}
static void vi_interface(struct pctx *p, const struct cnode *n, void *o)
{
	char name[16];
	if (rd_ifname(p, &n->args[0], name))
		set_str(&VI(o)->interface, name);
}
static void vi_vrid(struct pctx *p, const struct cnode *n, void *o)
{
	if (!rd_u32(p, &n->args[0], 1, 255, &VI(o)->vrid, "virtual_router_id"))
		VI(o)->vrid = CONF_UNSET; /* reported; not "missing" too */
}
static void vi_priority(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 255, &VI(o)->priority, "priority");
}
static void vi_advert_int(struct pctx *p, const struct cnode *n, void *o)
{
	uint32_t ms;
	/* RFC 5798 §5.2.7: 12 bits of centiseconds, so 0.01 .. 40.95 s */
	if (!rd_timer_ms(p, &n->args[0], 10, &ms, "advert_int"))
		return;
	if (ms > 40950) {
		cerr(p, &n->args[0], "advert_int '%s' is above 40.95 s", n->args[0].s);
		return;
	}
	VI(o)->advert_int_ms = ms;
}
static void vi_version(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 2, 3, &VI(o)->version, "version");
}
static void au_type(struct pctx *p, const struct cnode *n, void *o)
{
	if (!strcmp(n->args[0].s, "PASS"))
		VI(o)->auth_type = VRRP_AUTH_PASS;
	else if (!strcmp(n->args[0].s, "AH"))
		VI(o)->auth_type = VRRP_AUTH_AH;
	else
		cerr(p, &n->args[0], "unknown auth_type '%s' (expected PASS or AH)", n->args[0].s);
}
static void au_pass(struct pctx *p, const struct cnode *n, void *o)
{
	if (strlen(n->args[0].s) > 8)
		cwarn(p, &n->args[0], "auth_pass longer than 8 characters; only the first 8 are used");
	char buf[9];
	snprintf(buf, sizeof(buf), "%s", n->args[0].s);
	set_str(&VI(o)->auth_pass, buf);
}
static const struct kw kw_auth[] = {
	{ "auth_type", 1, 1, KB_NO, 0, au_type },
	{ "auth_pass", 1, 1, KB_NO, 0, au_pass },
	{ NULL, 0, 0, 0, 0, NULL },
};
static void vi_auth(struct pctx *p, const struct cnode *n, void *o)
{
	parse_block(p, n->kids, n->n_kids, kw_auth, o, "authentication");
}
static void vi_vips(struct pctx *p, const struct cnode *n, void *o)
{
	ipaddr_lines(p, n, &VI(o)->vips, &VI(o)->n_vips);
}
static void vi_vips_excluded(struct pctx *p, const struct cnode *n, void *o)
{
	ipaddr_lines(p, n, &VI(o)->vips_excluded, &VI(o)->n_vips_excluded);
}
static void vi_routes(struct pctx *p, const struct cnode *n, void *o)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		*VEC_PUSH(VI(o)->virtual_routes, VI(o)->n_virtual_routes) = join_line_q(&n->kids[i]);
	}
}
static void vi_track_interface(struct pctx *p, const struct cnode *n, void *o)
{
	track_lines(p, n, &VI(o)->track_interface, &VI(o)->n_track_interface, -253, 253);
}
static void vi_track_script(struct pctx *p, const struct cnode *n, void *o)
{
	track_lines(p, n, &VI(o)->track_script, &VI(o)->n_track_script, -253, 253);
}
/* track_file { NAME [weight N [reverse|noreverse]] }: keepalived allows
 * -254..254 here so a file value of -1 can still reach priority 255. */
static void vi_track_file(struct pctx *p, const struct cnode *n, void *o)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		struct conf_track t = { .loc = e->kw->loc };
		if (e->argc >= 2 && !strcmp(e->args[0].s, "weight")) {
			if (!rd_i32(p, &e->args[1], -254, 254, &t.weight, "track_file weight"))
				continue;
			t.has_weight = true;
			if (e->argc > 2 && !strcmp(e->args[2].s, "reverse"))
				t.reverse = true;
			else if (e->argc > 2 && strcmp(e->args[2].s, "noreverse")) {
				cerr(p, &e->args[2], "expected 'reverse' or 'noreverse', not '%s'",
				     e->args[2].s);
				continue;
			}
		} else if (e->argc > 0) {
			cerr(p, &e->args[0], "expected 'NAME [weight N [reverse]]'");
			continue;
		}
		t.name = xstrdup(e->kw->s);
		*VEC_PUSH(VI(o)->track_file, VI(o)->n_track_file) = t;
	}
}
static void vi_unicast_src(struct pctx *p, const struct cnode *n, void *o)
{
	rd_addr(p, &n->args[0], &VI(o)->unicast_src_ip, "unicast_src_ip");
}
static void vi_mcast_src(struct pctx *p, const struct cnode *n, void *o)
{
	rd_addr(p, &n->args[0], &VI(o)->mcast_src_ip, "mcast_src_ip");
}
static void vi_unicast_peer(struct pctx *p, const struct cnode *n, void *o)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		struct conf_addr a;
		if (n->kids[i].argc)
			cwarn(p, &n->kids[i].args[0], "unicast_peer options are not implemented by "
			      "ulvs yet");
		if (rd_addr(p, n->kids[i].kw, &a, "unicast peer address"))
			*VEC_PUSH(VI(o)->unicast_peers, VI(o)->n_unicast_peers) = a;
	}
}
static void vi_nopreempt(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->nopreempt = true;
}
static void vi_preempt(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->nopreempt = false;
}
static void vi_preempt_delay(struct pctx *p, const struct cnode *n, void *o)
{
	uint32_t ms;
	if (rd_timer_ms(p, &n->args[0], 0, &ms, "preempt_delay")) {
		if (ms > 1000000)
			cerr(p, &n->args[0], "preempt_delay '%s' is above 1000 s", n->args[0].s);
		else
			VI(o)->preempt_delay_ms = ms;
	}
}
static void vi_dont_track_primary(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->dont_track_primary = true;
}
static void vi_native_ipv6(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->native_ipv6 = true;
}
static void vi_accept(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->accept = 1;
}
static void vi_no_accept(struct pctx *p, const struct cnode *n, void *o)
{
	VI(o)->accept = 0;
}
static void vi_notify_master(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &VI(o)->notify_master);
}
static void vi_notify_backup(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &VI(o)->notify_backup);
}
static void vi_notify_fault(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &VI(o)->notify_fault);
}
static void vi_notify_stop(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &VI(o)->notify_stop);
}
static void vi_notify(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &VI(o)->notify);
}
static void vi_smtp_alert(struct pctx *p, const struct cnode *n, void *o)
{
	bool b;
	if (rd_bool_opt(p, n, &b))
		VI(o)->smtp_alert = b;
}
static void vi_v3_checksum_as_v2(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &VI(o)->v3_checksum_as_v2);
}
static void vi_lvs_sync_iface(struct pctx *p, const struct cnode *n, void *o)
{
	char name[16];
	if (rd_ifname(p, &n->args[0], name))
		set_str(&VI(o)->lvs_sync_daemon_interface, name);
}

static const struct kw kw_vrrp[] = {
	{ "state", 1, 1, KB_NO, 0, vi_state },
	{ "interface", 1, 1, KB_NO, 0, vi_interface },
	{ "virtual_router_id", 1, 1, KB_NO, 0, vi_vrid },
	{ "priority", 1, 1, KB_NO, 0, vi_priority },
	{ "advert_int", 1, 1, KB_NO, 0, vi_advert_int },
	{ "version", 1, 1, KB_NO, 0, vi_version },
	{ "authentication", 0, 0, KB_YES, 0, vi_auth },
	{ "virtual_ipaddress", 0, 0, KB_YES, 0, vi_vips },
	{ "virtual_ipaddress_excluded", 0, 0, KB_YES, 0, vi_vips_excluded },
	{ "virtual_routes", 0, 0, KB_YES, 0, vi_routes },
	{ "track_interface", 0, 0, KB_YES, 0, vi_track_interface },
	{ "track_script", 0, 0, KB_YES, 0, vi_track_script },
	{ "track_file", 0, 0, KB_YES, 0, vi_track_file },
	{ "unicast_src_ip", 1, 1, KB_NO, 0, vi_unicast_src },
	{ "mcast_src_ip", 1, 1, KB_NO, 0, vi_mcast_src },
	{ "unicast_peer", 0, 0, KB_YES, 0, vi_unicast_peer },
	{ "nopreempt", 0, 0, KB_NO, 0, vi_nopreempt },
	{ "preempt", 0, 0, KB_NO, 0, vi_preempt },
	{ "preempt_delay", 1, 1, KB_NO, 0, vi_preempt_delay },
	{ "dont_track_primary", 0, 0, KB_NO, 0, vi_dont_track_primary },
	{ "native_ipv6", 0, 0, KB_NO, 0, vi_native_ipv6 },
	{ "accept", 0, 0, KB_NO, 0, vi_accept },
	{ "no_accept", 0, 0, KB_NO, 0, vi_no_accept },
	{ "notify_master", 1, 3, KB_NO, 0, vi_notify_master },
	{ "notify_backup", 1, 3, KB_NO, 0, vi_notify_backup },
	{ "notify_fault", 1, 3, KB_NO, 0, vi_notify_fault },
	{ "notify_stop", 1, 3, KB_NO, 0, vi_notify_stop },
	{ "notify", 1, 3, KB_NO, 0, vi_notify },
	{ "smtp_alert", 0, 1, KB_NO, 0, vi_smtp_alert },
	{ "lvs_sync_daemon_interface", 1, 1, KB_NO, 0, vi_lvs_sync_iface },
	{ "v3_checksum_as_v2", 0, 1, KB_NO, 0, vi_v3_checksum_as_v2 },
	UNIMPL("use_vmac"), UNIMPL("vmac_xmit_base"), UNIMPL("track_bfd"),
	UNIMPL("track_process"), UNIMPL("track_src_ip"), UNIMPL("old_unicast_checksum"),
	UNIMPL("garp_master_delay"), UNIMPL("garp_master_repeat"),
	UNIMPL("garp_lower_prio_delay"), UNIMPL("garp_lower_prio_repeat"),
	UNIMPL("garp_master_refresh"), UNIMPL("garp_master_refresh_repeat"),
	UNIMPL("garp_interval"), UNIMPL("gna_interval"), UNIMPL("lower_prio_no_advert"),
	UNIMPL("higher_prio_send_advert"), UNIMPL("skip_check_adv_addr"), UNIMPL("strict_mode"),
	UNIMPL("debug"), UNIMPL("promote_secondaries"), UNIMPL("virtual_rules"),
	UNIMPL("kernel_rx_buf_size"), UNIMPL("unicast_ttl"), UNIMPL("check_unicast_src"),
	UNIMPL("notify_deleted"), UNIMPL("unicast_fault_no_peer"), UNIMPL("notify_master_rx_lower_pri"),
	UNIMPL("dpdk_interface"), UNIMPL("mcast_src_ip_track"), UNIMPL("no_accept_mode"),
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_vrrp_instance(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf *c = p->c;
	for (unsigned i = 0; i < c->n_vrrps; i++)
		if (!strcmp(c->vrrps[i].name, n->args[0].s)) {
			cerr(p, &n->args[0], "vrrp_instance '%s' defined twice", n->args[0].s);
			return;
		}
	struct conf_vrrp *v = VEC_PUSH(c->vrrps, c->n_vrrps);
	set_str(&v->name, n->args[0].s);
	v->loc = n->kw->loc;
	v->priority = 100;
	v->advert_int_ms = 1000;
	v->accept = -1;
	v->smtp_alert = -1;
	parse_block(p, n->kids, n->n_kids, kw_vrrp, v, "vrrp_instance");
}

/* ---- vrrp_sync_group ---- */

#define SG(o) ((struct conf_sync_group *)(o))

static void sg_group(struct pctx *p, const struct cnode *n, void *o)
{
	value_lines(p, n, &SG(o)->members, &SG(o)->n_members);
}
static void sg_track_script(struct pctx *p, const struct cnode *n, void *o)
{
	track_lines(p, n, &SG(o)->track_script, &SG(o)->n_track_script, -253, 253);
}
static void sg_track_interface(struct pctx *p, const struct cnode *n, void *o)
{
	track_lines(p, n, &SG(o)->track_interface, &SG(o)->n_track_interface, -253, 253);
}
static void sg_notify_master(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &SG(o)->notify_master);
}
static void sg_notify_backup(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &SG(o)->notify_backup);
}
static void sg_notify_fault(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &SG(o)->notify_fault);
}
static void sg_notify_stop(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &SG(o)->notify_stop);
}
static void sg_notify(struct pctx *p, const struct cnode *n, void *o)
{
	script_arg(p, n, &SG(o)->notify);
}
static void sg_smtp_alert(struct pctx *p, const struct cnode *n, void *o)
{
	bool b;
	if (rd_bool_opt(p, n, &b))
		SG(o)->smtp_alert = b;
}

static const struct kw kw_sync[] = {
	{ "group", 0, 0, KB_YES, 0, sg_group },
	{ "track_script", 0, 0, KB_YES, 0, sg_track_script },
	{ "track_interface", 0, 0, KB_YES, 0, sg_track_interface },
	{ "notify_master", 1, 3, KB_NO, 0, sg_notify_master },
	{ "notify_backup", 1, 3, KB_NO, 0, sg_notify_backup },
	{ "notify_fault", 1, 3, KB_NO, 0, sg_notify_fault },
	{ "notify_stop", 1, 3, KB_NO, 0, sg_notify_stop },
	{ "notify", 1, 3, KB_NO, 0, sg_notify },
	{ "smtp_alert", 0, 1, KB_NO, 0, sg_smtp_alert },
	UNIMPL("track_file"), UNIMPL("track_bfd"), UNIMPL("track_process"),
	UNIMPL("global_tracking"), UNIMPL("sync_group_tracking_weight"),
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_vrrp_sync_group(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf *c = p->c;
	struct conf_sync_group *g = VEC_PUSH(c->sync_groups, c->n_sync_groups);
	set_str(&g->name, n->args[0].s);
	g->loc = n->kw->loc;
	g->smtp_alert = -1;
	parse_block(p, n->kids, n->n_kids, kw_sync, g, "vrrp_sync_group");
}

/* ---- track_file (vrrp_track_file) ---- */

#define TF(o) ((struct conf_track_file *)(o))

static void tf_file(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&TF(o)->file, n->args[0].s);
}
static void tf_weight(struct pctx *p, const struct cnode *n, void *o)
{
	/* keepalived takes any int here; the product is what is bounded */
	rd_i32(p, &n->args[0], -2147483647, 2147483647, &TF(o)->weight, "track_file weight");
	if (n->argc > 1 && !strcmp(n->args[1].s, "reverse"))
		TF(o)->reverse = true;
	else if (n->argc > 1 && strcmp(n->args[1].s, "noreverse"))
		cerr(p, &n->args[1], "expected 'reverse' after the weight, not '%s'", n->args[1].s);
}
static void tf_init_file(struct pctx *p, const struct cnode *n, void *o)
{
	TF(o)->init_file = true;
	for (unsigned i = 0; i < n->argc; i++) {
		if (!strcmp(n->args[i].s, "overwrite"))
			TF(o)->init_overwrite = true;
		else if (i == 0)
			rd_i32(p, &n->args[0], -2147483647, 2147483647, &TF(o)->init_value,
			       "init_file value");
		else
			cerr(p, &n->args[i], "expected 'init_file [VALUE] [overwrite]'");
	}
}
static const struct kw kw_track_file[] = {
	{ "file", 1, 1, KB_NO, 0, tf_file },
	{ "weight", 1, 2, KB_NO, 0, tf_weight },
	{ "init_file", 0, 2, KB_NO, 0, tf_init_file },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void t_track_file(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf *c = p->c;
	for (unsigned i = 0; i < c->n_track_files; i++)
		if (!strcmp(c->track_files[i].name, n->args[0].s)) {
			cerr(p, &n->args[0], "track_file '%s' defined twice", n->args[0].s);
			return;
		}
	struct conf_track_file *t = VEC_PUSH(c->track_files, c->n_track_files);
	set_str(&t->name, n->args[0].s);
	t->loc = n->kw->loc;
	t->weight = 1;
	parse_block(p, n->kids, n->n_kids, kw_track_file, t, "track_file");
	if (!t->file) {
		/* keepalived drops it with a warning; trackers of it then fail */
		cwarn(p, n->kw, "track_file '%s' without 'file'; ignored", t->name);
		free(t->name);
		c->n_track_files--;
	}
}

/* ---- static_ipaddress / static_routes ---- */

static void t_static_ipaddress(struct pctx *p, const struct cnode *n, void *o)
{
	ipaddr_lines(p, n, &p->c->static_ipaddress, &p->c->n_static_ipaddress);
	cwarn(p, n->kw, "static_ipaddress is recorded but not applied by ulvs yet");
}
static void t_static_routes(struct pctx *p, const struct cnode *n, void *o)
{
	for (unsigned i = 0; i < n->n_kids; i++) {
		*VEC_PUSH(p->c->static_routes, p->c->n_static_routes) = join_line_q(&n->kids[i]);
	}
	cwarn(p, n->kw, "static_routes is recorded but not applied by ulvs yet");
}

const struct kw kw_top[] = {
	{ "global_defs", 0, 0, KB_YES, 0, t_global_defs },
	{ "ulvs_defs", 0, 0, KB_YES, 0, t_ulvs_defs },
	{ "virtual_server", 1, 2, KB_YES, 0, h_virtual_server },
	{ "virtual_server_group", 1, 1, KB_YES, 0, h_virtual_server_group },
	{ "local_address_group", 1, 1, KB_YES, 0, h_local_address_group },
	{ "fwmark_rule", 1, 1, KB_YES, 0, h_fwmark_rule },
	{ "vrrp_instance", 1, 1, KB_YES, 0, t_vrrp_instance },
	{ "vrrp_script", 1, 1, KB_YES, 0, t_vrrp_script },
	{ "vrrp_sync_group", 1, 1, KB_YES, 0, t_vrrp_sync_group },
	{ "static_ipaddress", 0, 0, KB_YES, 0, t_static_ipaddress },
	{ "static_routes", 0, 0, KB_YES, 0, t_static_routes },
	{ "track_file", 1, 1, KB_YES, 0, t_track_file },
	{ "vrrp_track_file", 1, 1, KB_YES, KWF_DEPRECATED, t_track_file },
	UNIMPL("static_rules"), UNIMPL("SSL"), UNIMPL("bfd_instance"),
	UNIMPL("vrrp_track_process"), UNIMPL("track_process"),
	UNIMPL("garp_group"), UNIMPL("linkbeat_interfaces"), UNIMPL("net_namespace"),
	UNIMPL("net_namespace_ipvs"), UNIMPL("namespace_with_ipsets"), UNIMPL("instance"),
	UNIMPL("use_pid_dir"), UNIMPL("child_wait_time"), UNIMPL("linkbeat_use_polling"),
	UNIMPL("blacklist_address_group"), UNIMPL("whitelist_address_group"),
	UNIMPL("tunnel_group"), UNIMPL("deny_address_group"), UNIMPL("allow_address_group"),
	{ NULL, 0, 0, 0, 0, NULL },
};
