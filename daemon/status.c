/* Status sections and sync daemon operations for the control socket (see
 * status.h).
 *
 * Health checkers publish their state as check_status()'s "key=value" lines
 * (check.h promises that text is stable); they are read back into records
 * here rather than giving check/ a second, structured interface to keep in
 * step with the first.  Everything else is read from the subsystems'
 * accessors at each request: nothing is cached, so the view is never stale.
 *
 * ipvsadm's sync daemon commands map onto sync/: --start-daemon creates
 * the one sync instance the engine's connection hook allows, --stop-daemon
 * stops it.  IPVS can run a master and a backup thread at once; ulvs runs
 * one daemon at a time (its role follows the VRRP instance named by
 * lvs_sync_daemon when the config has one), and a second start is refused
 * with EBUSY rather than half-honoured.
 */
#include "daemon/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "core/addr.h"
#include "core/engine.h"
#include "core/service.h"
#include "ctl/ctl_server.h"
#include "daemon/evloop.h"
#include "io/live.h"
#include "sync/sync.h"
#include "vrrp/vrrp.h"

/* --- dataplane ------------------------------------------------------------ */

static void dataplane_cb(void *arg, struct ctl_status *st)
{
	struct status_ctx *x = arg;
	struct engine *e = director_engine(x->dir);
	struct svc_table *t = director_services(x->dir);
	const struct engine_stats *es = e ? engine_stats_total(e) : NULL;
	bool used[FWD_MAX] = { false };
	char modes[64] = "";

	ctl_status_record(st);
	ctl_status_str(st, "backend", "%s", *x->live ? live_backend_name(*x->live) : "none");
	ctl_status_str(st, "backend_requested", "%s", x->backend_req ? x->backend_req : "auto");
	ctl_status_u64(st, "workers", *x->live ? live_n_workers(*x->live) : 0);
	if (*x->live) {
		uint64_t n, total, max;
		live_pause_stats(*x->live, &n, &total, &max);
		ctl_status_u64(st, "control_pauses", n);
		ctl_status_u64(st, "control_pause_max_us", max / 1000);
		ctl_status_u64(st, "control_pause_avg_us", n ? total / n / 1000 : 0);
	}
	/* The forwarding methods of the live real servers: what the data
	 * plane is doing, as opposed to what it could do. */
	for (uint32_t i = 0; t && i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];

		if (!svc_live(s))
			continue;
		for (uint32_t j = 0; j < s->n_dests; j++) {
			uint8_t f = t->dests[s->dests[j]].fwd;

			if (f < FWD_MAX)
				used[f] = true;
		}
	}
	for (int f = 0; f < FWD_MAX; f++) {
		size_t o = strlen(modes);

		if (used[f])
			snprintf(modes + o, sizeof(modes) - o, "%s%s", o ? "," : "",
				 fwd_method_name((enum fwd_method)f));
	}
	ctl_status_str(st, "modes", "%s", modes[0] ? modes : "none");
	if (!es)
		return;
	ctl_status_u64(st, "rx", es->rx);
	ctl_status_u64(st, "tx", es->tx);
	ctl_status_u64(st, "pass", es->pass);
	ctl_status_u64(st, "drop", es->drop);
	ctl_status_u64(st, "new_conns", es->new_conns);
	ctl_status_u64(st, "sorry_used", es->sorry_used);
	ctl_status_u64(st, "toa_inserted", es->toa_inserted);
	ctl_status_u64(st, "toa_no_room", es->toa_no_room);
	ctl_status_u64(st, "mss_clamped", es->mss_clamped);
	ctl_status_u64(st, "icmp_translated", es->icmp_translated);
	ctl_status_u64(st, "icmp_too_big_sent", es->icmp_too_big_sent);
}

/* Every reason, zeros included: a consumer can tell "none" from "unknown". */
static void drops_cb(void *arg, struct ctl_status *st)
{
	struct status_ctx *x = arg;
	struct engine *e = director_engine(x->dir);
	const struct engine_stats *es = e ? engine_stats_total(e) : NULL;

	for (int r = DROP_NONE + 1; es && r < DROP_REASON_MAX; r++) {
		ctl_status_record(st);
		ctl_status_str(st, "reason", "%s", drop_reason_name((enum drop_reason)r));
		ctl_status_u64(st, "packets", es->drops[r]);
	}
}

/* One record per data-plane worker: what arrived on its queues, what it
 * handed to the worker owning a frame's connection and what it got. */
static void workers_cb(void *arg, struct ctl_status *st)
{
	struct status_ctx *x = arg;
	struct engine *e = director_engine(x->dir);
	const struct live *l = *x->live;

	for (unsigned i = 0; l && e && i < live_n_workers(l); i++) {
		const struct live_worker_stats *ws = live_worker_stats(l, i);
		struct engine *m = engine_group_member(e, i);
		if (!ws || !m)
			continue;
		const struct engine_stats *es = engine_stats(m);
		ctl_status_record(st);
		ctl_status_u64(st, "worker", i);
		if (ws->cpu >= 0)
			ctl_status_str(st, "cpu", "%d", ws->cpu);
		else
			ctl_status_str(st, "cpu", "any");
		ctl_status_u64(st, "rx", ws->rx);
		ctl_status_u64(st, "handed_out", ws->handed_out);
		ctl_status_u64(st, "handed_in", ws->handed_in);
		ctl_status_u64(st, "hand_drops", ws->hand_drops);
		ctl_status_u64(st, "rounds", ws->rounds);
		ctl_status_u64(st, "sleeps", ws->sleeps);
		ctl_status_u64(st, "processed", es->rx);
		ctl_status_u64(st, "tx", es->tx);
		ctl_status_u64(st, "conns", conn_count(engine_conns(m)));
		ctl_status_u64(st, "new_conns", es->new_conns);
	}
}

/* --- VRRP ----------------------------------------------------------------- */

static void vrrp_cb(void *arg, struct ctl_status *st)
{
	struct status_ctx *x = arg;
	const struct vrrp *v = *x->vrrp;
	struct vrrp_status vs[64];
	unsigned n;
	char a[64];

	if (!v)
		return;
	n = vrrp_status(v, vs, sizeof(vs) / sizeof(vs[0]));
	if (n > sizeof(vs) / sizeof(vs[0]))
		n = sizeof(vs) / sizeof(vs[0]);
	for (unsigned i = 0; i < n; i++) {
		const struct vrrp_status *s = &vs[i];
		uint64_t drops = 0;

		ctl_status_record(st);
		ctl_status_str(st, "name", "%s", s->name);
		ctl_status_str(st, "interface", "%s", s->interface);
		ctl_status_u64(st, "vrid", s->vrid);
		ctl_status_u64(st, "version", s->version);
		ctl_status_str(st, "state", "%s", vrrp_state_name(s->state));
		ctl_status_u64(st, "priority", s->prio);
		ctl_status_u64(st, "base_priority", s->base_prio);
		if (s->master_known)
			addr_format((enum ulvs_af)s->af, &s->master, a, sizeof(a));
		ctl_status_str(st, "master", "%s", s->master_known ? a : "-");
		ctl_status_u64(st, "advert_ms", (uint64_t)s->adv_int_cs * 10);
		ctl_status_u64(st, "master_advert_ms", (uint64_t)s->master_adv_cs * 10);
		ctl_status_u64(st, "adverts_rx", s->adverts_rx);
		ctl_status_u64(st, "adverts_tx", s->adverts_tx);
		ctl_status_u64(st, "transitions", s->transitions);
		ctl_status_u64(st, "became_master", s->became_master);
		for (int k = 1; k < VRRP_DROP_MAX; k++)
			drops += s->drops[k];
		ctl_status_u64(st, "dropped", drops);
		for (int k = 1; k < VRRP_DROP_MAX; k++) {
			char key[CTL_STATUS_KEY];

			if (!s->drops[k])
				continue;
			snprintf(key, sizeof(key), "dropped_%s", vrrp_drop_name((enum vrrp_drop)k));
			ctl_status_u64(st, key, s->drops[k]);
		}
	}
}

/* --- health checkers --------------------------------------------------------- */

/* One check_status() line ("kind key=value key=\"text\" flag") into a
 * record; digits-only values become numbers. */
static void parse_status_line(struct ctl_status *st, char *line)
{
	char *p = strchr(line, ' ');

	ctl_status_record(st);
	while (p && *p) {
		char *key, *val, sep;
		bool ok;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		key = p;
		p += strcspn(p, "= ");
		sep = *p;
		if (*p)
			*p++ = '\0';
		/* a key the protocol cannot carry is left out, not fatal */
		ok = key[0] && strlen(key) < CTL_STATUS_KEY &&
		     strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(key);
		if (sep != '=') {
			/* a bare flag word ("running") */
			if (ok)
				ctl_status_str(st, key, "yes");
			continue;
		}
		if (*p == '"') {
			val = ++p;
			p = strchr(p, '"'); /* check_status never puts '"' inside */
			if (!p)
				p = val + strlen(val);
			else
				*p++ = '\0';
			if (ok)
				ctl_status_str(st, key, "%s", val);
			continue;
		}
		val = p;
		p += strcspn(p, " ");
		if (*p)
			*p++ = '\0';
		if (!ok)
			continue;
		if (val[0] && strspn(val, "0123456789") == strlen(val) && strlen(val) < 20)
			ctl_status_u64(st, key, strtoull(val, NULL, 10));
		else if (val[0] == '-' && val[1] && strspn(val + 1, "0123456789") == strlen(val + 1) &&
			 strlen(val) < 20)
			ctl_status_i64(st, key, strtoll(val, NULL, 10));
		else
			ctl_status_str(st, key, "%s", val);
	}
}

static void check_lines(struct status_ctx *x, struct ctl_status *st, const char *kind)
{
	const struct check *k = *x->checks;
	size_t klen = strlen(kind), len = 0;
	char *buf = NULL, *line, *save = NULL;
	FILE *f;

	if (!k)
		return;
	f = open_memstream(&buf, &len);
	if (!f) {
		st->err = -ENOMEM;
		return;
	}
	check_status(k, f);
	if (fclose(f) != 0) {
		free(buf);
		st->err = -ENOMEM;
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, kind, klen) && line[klen] == ' ')
			parse_status_line(st, line);
	free(buf);
}

static void checkers_cb(void *arg, struct ctl_status *st)
{
	check_lines(arg, st, "checker");
}

static void realservers_cb(void *arg, struct ctl_status *st)
{
	check_lines(arg, st, "realserver");
}

static void virtualservers_cb(void *arg, struct ctl_status *st)
{
	check_lines(arg, st, "virtualserver");
}

/* --- connection sync -------------------------------------------------------- */

static void sync_cb(void *arg, struct ctl_status *st)
{
	struct status_ctx *x = arg;
	const struct sync *s = *x->sync;
	const struct sync_opts *o;
	const struct sync_stats *ss;
	uint64_t now = ev_now_ns(director_loop(x->dir)), rx_err = 0;
	char a[64];

	if (!s)
		return;
	o = sync_options(s);
	ss = sync_stats(s);
	ctl_status_record(st);
	ctl_status_str(st, "role", "%s", sync_role_name(sync_role(s)));
	ctl_status_str(st, "interface", "%s", o->ifname);
	ctl_status_u64(st, "syncid", o->syncid);
	addr_format((enum ulvs_af)o->group_af, &o->group, a, sizeof(a));
	ctl_status_str(st, "peer", "%s", a);
	ctl_status_u64(st, "port", o->port);
	ctl_status_u64(st, "ttl", o->ttl);
	ctl_status_u64(st, "maxlen", o->maxlen);
	ctl_status_u64(st, "tx_msgs", ss->tx_msgs);
	ctl_status_u64(st, "tx_conns", ss->tx_conns);
	ctl_status_u64(st, "tx_errors", ss->tx_errors);
	ctl_status_u64(st, "tx_dropped", ss->tx_dropped);
	ctl_status_u64(st, "refresh_walks", ss->refresh_walks);
	ctl_status_u64(st, "resync_requests_rx", ss->resync_requests_rx);
	ctl_status_u64(st, "resync_requests_tx", ss->resync_requests_tx);
	ctl_status_u64(st, "rx_msgs", ss->rx_msgs);
	ctl_status_u64(st, "rx_conns", ss->rx_conns);
	ctl_status_u64(st, "rx_imported", ss->rx_imported);
	ctl_status_u64(st, "rx_ignored", ss->rx_ignored);
	for (int k = 0; k < SYNC_ERR_MAX; k++)
		rx_err += ss->rx_errors[k];
	ctl_status_u64(st, "rx_errors", rx_err);
	ctl_status_u64(st, "rx_no_service", ss->rx_no_service);
	ctl_status_u64(st, "rx_lport_busy", ss->rx_lport_busy);
	ctl_status_u64(st, "rx_rejected", ss->rx_rejected);
	/* Lag: how long since the master was last heard (-1: never). */
	ctl_status_i64(st, "lag_ms",
		       ss->last_rx_ns && now >= ss->last_rx_ns
			       ? (int64_t)((now - ss->last_rx_ns) / 1000000)
			       : -1);
}

/* --- ipvsadm's sync daemon commands ------------------------------------------- */

static enum sync_role role_of(uint8_t state)
{
	return state == CTL_DAEMON_MASTER ? SYNC_ROLE_MASTER : SYNC_ROLE_BACKUP;
}

static int sync_start_cb(void *arg, const struct ctl_daemon *d, char *msg, size_t len)
{
	struct status_ctx *x = arg;
	struct sync_opts o;
	struct sync *s;

	if (*x->sync) {
		if (sync_role(*x->sync) == role_of(d->state))
			return -EEXIST;
		snprintf(msg, len, "a %s sync daemon is running: ulvs runs one at a time, "
			 "stop it first", sync_role_name(sync_role(*x->sync)));
		return -EBUSY;
	}
	if (!d->ifname[0]) {
		snprintf(msg, len, "--mcast-interface is needed to start a sync daemon");
		return -EINVAL;
	}
	if (!if_nametoindex(d->ifname))
		return -ENODEV;
	sync_opts_default(&o);
	o.log = x->log;
	snprintf(o.ifname, sizeof(o.ifname), "%s", d->ifname);
	o.syncid = d->syncid;
	if (d->ttl)
		o.ttl = d->ttl;
	if (d->port)
		o.port = ntohs(d->port);
	if (d->group_af) {
		o.group_af = d->group_af;
		o.group = d->group;
	}
	o.maxlen = d->maxlen;
	fprintf(x->log, "ulvsd: control: starting the %s sync daemon on %s (ulvsadm)\n",
		sync_role_name(role_of(d->state)), d->ifname);
	s = sync_start(director_loop(x->dir), director_engine(x->dir), &o, role_of(d->state));
	if (!s) {
		snprintf(msg, len, "the sync daemon could not start on %s (ulvsd's log says why)",
			 d->ifname);
		return -EIO;
	}
	*x->sync = s;
	return 0;
}

static int sync_stop_cb(void *arg, uint8_t state, char *msg, size_t len)
{
	struct status_ctx *x = arg;

	if (!*x->sync || sync_role(*x->sync) != role_of(state))
		return -ESRCH;
	fprintf(x->log, "ulvsd: control: stopping the %s sync daemon (ulvsadm)\n",
		sync_role_name(role_of(state)));
	sync_stop(*x->sync);
	*x->sync = NULL;
	return 0;
}

static void sync_list_cb(void *arg, struct ctl_daemons *out)
{
	struct status_ctx *x = arg;
	const struct sync *s = *x->sync;
	const struct sync_opts *o;
	struct ctl_daemon *d;

	memset(out, 0, sizeof(*out));
	if (!s || sync_role(s) == SYNC_ROLE_NONE)
		return;
	o = sync_options(s);
	d = &out->d[out->n++];
	d->state = sync_role(s) == SYNC_ROLE_MASTER ? CTL_DAEMON_MASTER : CTL_DAEMON_BACKUP;
	d->syncid = o->syncid;
	d->ttl = o->ttl;
	d->group_af = o->group_af;
	d->group = o->group;
	d->port = htons(o->port);
	d->maxlen = o->maxlen;
	snprintf(d->ifname, sizeof(d->ifname), "%s", o->ifname);
}

static const struct ctl_sync_ops sync_ops = {
	.start = sync_start_cb,
	.stop = sync_stop_cb,
	.list = sync_list_cb,
};

int status_register(struct ctl_server *ctl, struct status_ctx *x)
{
	static const struct {
		const char *name;
		ctl_status_cb fn;
	} secs[] = {
		{ "dataplane", dataplane_cb },
		{ "drops", drops_cb },
		{ "workers", workers_cb },
		{ "vrrp", vrrp_cb },
		{ "checkers", checkers_cb },
		{ "realservers", realservers_cb },
		{ "virtualservers", virtualservers_cb },
		{ "sync", sync_cb },
	};
	int err;

	if (!x->log)
		x->log = stderr;
	for (unsigned i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if ((err = ctl_server_set_status_cb(ctl, secs[i].name, secs[i].fn, x)))
			return err;
	ctl_server_set_sync_ops(ctl, &sync_ops, x);
	return 0;
}
