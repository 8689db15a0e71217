/* VRRP instances on the event loop (see vrrp.h): configuration to state
 * machine, packets in and out, tracking (scripts, interfaces, sync groups),
 * VIPs and notifications.  The protocol decisions are all in vrrp_fsm.c;
 * this file turns its actions into system effects, in this order when an
 * instance becomes master: VIPs added, director told, gratuitous ARP/NA,
 * notify scripts - and the reverse when it stops being master.
 */
#include "vrrp/vrrp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vrrp/internal.h"

#define VRRP_MAX_ARGS 32
#define VRRP_NOTIFY_TIMEOUT_MS 30000
#define VRRP_TFILE_POLL_MS 1000

struct vrrp;

/* One vrrp_script: runs every interval, its result filtered by rise/fall. */
struct vscript {
	struct vrrp *v;
	const struct conf_vrrp_script *c;
	bool used, good;
	unsigned ok_run, fail_run;
	struct ev_timer *timer;
	struct vjob *job;             /* the run in progress, NULL: none */
};

/* A running script; outlives vrrp_stop() when its child is still running
 * (the loop's child callback may come later), hence its own allocation. */
struct vjob {
	struct vscript *s;            /* NULL once orphaned */
};

/* One track_file: read when the instance starts and then every
 * VRRP_TFILE_POLL_MS (keepalived watches it with inotify; a second is
 * within one advert interval of that for the usual advert_int). */
struct vtfile {
	const struct conf_track_file *c;
	bool used;
	int64_t value;
};

enum vtrack_kind { VT_SCRIPT, VT_IF, VT_FILE };

struct vtrack {
	enum vtrack_kind kind;
	struct vscript *s;
	struct vrrp_if *ifp;
	struct vtfile *tf;
	int32_t weight;
	bool reverse;
};

struct vgroup;

struct vinst {
	struct vrrp *v;
	const struct conf_vrrp *c;
	struct vrrp_cfg cfg;
	struct vrrp_state st;
	struct vrrp_if *ifp;
	uint8_t af;
	bool unicast;
	union ulvs_addr group;
	struct vrrp_route *routes;    /* virtual_routes, parsed */
	unsigned *route_oif;          /* their `dev`, 0: none */
	unsigned n_routes;
	union ulvs_addr *vipaddrs;    /* vips of family af, for adverts */
	unsigned n_vipaddrs;
	struct vrrp_pkt_expect exp;
	enum vrrp_csum_mode csum;
	uint8_t auth_type;
	uint8_t auth[VRRP_AUTH_LEN];
	struct vtrack *tracks;
	unsigned n_tracks;
	struct vgroup *grp;
	struct ev_timer *timer, *garp_timer;
	unsigned garp_phase;          /* 0: delayed burst pending, 1: refreshing */
	uint16_t ip_id;
	uint32_t ah_tx_seq, ah_rx_seq; /* AH: last sent / highest accepted */
	uint64_t rx, tx, transitions, became_master;
	uint64_t drops[VRRP_DROP_MAX];
};

struct vgroup {
	const struct conf_sync_group *c;
	struct vinst **m;
	unsigned n;
	struct vtrack *tracks;
	unsigned n_tracks;
	enum vrrp_state_id state;
};

struct vrx {                          /* what a socket's fd callback needs */
	struct vrrp *v;
	struct vrrp_if *ifp;
	uint8_t af;
	bool ah;                      /* the IPPROTO_AH socket */
	struct vrx *next;
};

struct vrrp {
	struct evloop *l;
	const struct conf *c;
	FILE *log;
	struct vrrp_hooks h;
	struct vrrp_net net;
	bool net_open, mon_added;
	struct vinst *inst;
	unsigned n_inst;
	struct vscript *scripts;
	unsigned n_scripts;
	struct vtfile *tfiles;
	unsigned n_tfiles;
	struct ev_timer *tf_timer;
	struct vgroup *groups;
	unsigned n_groups;
	struct vrx *rx;
	bool stopping;
};

static void apply(struct vinst *in, const struct vrrp_actions *a, const struct vrrp_event *ev);

static void vlog(struct vrrp *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct vrrp *v, const char *fmt, ...)
{
	va_list ap;
	fputs("vrrp: ", v->log);
	va_start(ap, fmt);
	vfprintf(v->log, fmt, ap);
	va_end(ap);
	fputc('\n', v->log);
	fflush(v->log);
}

static const char *fmt_addr(uint8_t af, const union ulvs_addr *a, char *buf)
{
	return addr_format((enum ulvs_af)af, a, buf, 64);
}

/* ---- child processes --------------------------------------------------- */

static void notify_done_cb(struct evloop *l, pid_t pid, int status, bool timed_out, void *arg)
{
	(void)l; (void)pid; (void)status; (void)timed_out; (void)arg;
}

/* Run a keepalived script line with extra arguments appended; never waits. */
static pid_t run_line(struct vrrp *v, const char *line, const char *const *extra, unsigned n_extra,
		      uint32_t timeout_ms, ev_child_cb cb, void *arg)
{
	char *copy = strdup(line);
	char *argv[VRRP_MAX_ARGS + 1];
	pid_t pid;

	if (!copy)
		return -ENOMEM;
	int argc = ev_split_cmdline(copy, argv, VRRP_MAX_ARGS - (int)n_extra);
	if (argc <= 0) {
		vlog(v, "cannot parse script line '%s'", line);
		free(copy);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n_extra; i++)
		argv[argc++] = (char *)extra[i];
	argv[argc] = NULL;
	pid = ev_spawn(v->l, argv, timeout_ms, cb, arg);
	if (pid < 0)
		vlog(v, "cannot run '%s': %s", argv[0], strerror((int)-pid));
	free(copy);
	return pid;
}

/* keepalived's notify arguments: notify_STATE runs as written; `notify`
 * gets TYPE NAME STATE PRIORITY appended ("INSTANCE" or "GROUP"). */
static void notify(struct vrrp *v, const char *type, const char *name, const char *specific,
		   const char *generic, const char *state, unsigned prio)
{
	char pbuf[8];
	snprintf(pbuf, sizeof(pbuf), "%u", prio);
	const char *extra[] = { type, name, state, pbuf };

	if (specific)
		run_line(v, specific, NULL, 0, VRRP_NOTIFY_TIMEOUT_MS, notify_done_cb, NULL);
	if (generic)
		run_line(v, generic, extra, 4, VRRP_NOTIFY_TIMEOUT_MS, notify_done_cb, NULL);
}

/* ---- tracking ---------------------------------------------------------- */

static bool track_good(const struct vtrack *t)
{
	/* VT_FILE carries a value, not a state: inst_eval handles it. */
	return t->kind == VT_SCRIPT ? t->s->good : t->ifp->up;
}

/* Effective priority and fault of one instance from its own, its group's
 * tracking and its interface (keepalived: weight 0 means fault; a positive
 * weight is added while good, a negative one while bad; the address owner's
 * priority never moves). */
static void inst_eval(const struct vinst *in, bool *fault, uint8_t *prio)
{
	int p = in->cfg.base_prio;
	bool f = !in->c->dont_track_primary && !in->ifp->up;
	const struct vtrack *lists[2] = { in->tracks, in->grp ? in->grp->tracks : NULL };
	unsigned ns[2] = { in->n_tracks, in->grp ? in->grp->n_tracks : 0 };

	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < ns[k]; i++) {
			const struct vtrack *t = &lists[k][i];
			if (t->kind == VT_FILE) {
				bool tf_fault;
				int d;
				vrrp_track_file_effect(t->tf->value, t->weight, t->reverse, &tf_fault, &d);
				f |= tf_fault;
				p += d;
				continue;
			}
			bool good = track_good(t);
			if (t->weight == 0)
				f |= !good;
			else if ((t->weight > 0) == good)
				p += t->weight;
		}
	if (in->cfg.base_prio == VRRP_PRIO_OWNER)
		p = VRRP_PRIO_OWNER;
	else if (p < 1)
		p = 1;
	else if (p > 254)
		p = 254;
	*fault = f;
	*prio = (uint8_t)p;
}

static void step(struct vinst *in, const struct vrrp_event *ev)
{
	struct vrrp_actions a = vrrp_fsm_step(&in->cfg, &in->st, ev, ev_now_ns(in->v->l));
	apply(in, &a, ev);
}

/* Recompute every instance after a tracked object changed.  A sync group
 * is in fault when any member is (keepalived). */
static void reevaluate(struct vrrp *v)
{
	for (unsigned i = 0; i < v->n_inst; i++) {
		struct vinst *in = &v->inst[i];
		bool fault;
		uint8_t prio;
		inst_eval(in, &fault, &prio);
		if (in->grp)
			for (unsigned j = 0; j < in->grp->n; j++) {
				bool f2;
				uint8_t p2;
				inst_eval(in->grp->m[j], &f2, &p2);
				fault |= f2;
			}
		if (in->st.st == VRRP_ST_INIT) {
			in->st.prio = prio;
			in->st.fault = fault;
			continue;
		}
		if (prio != in->st.prio) {
			vlog(v, "(%s) priority %u -> %u", in->c->name, in->st.prio, prio);
			step(in, &(struct vrrp_event){ .type = VRRP_EV_PRIO_CHANGE, .prio = prio });
		}
		if (fault && !in->st.fault)
			step(in, &(struct vrrp_event){ .type = VRRP_EV_FAULT });
		else if (!fault && in->st.fault)
			step(in, &(struct vrrp_event){ .type = VRRP_EV_FAULT_CLEAR });
	}
}

static void script_run_cb(struct evloop *l, void *arg);

static void script_result(struct vscript *s, bool ok, bool timed_out)
{
	bool was = s->good;
	if (ok) {
		s->fail_run = 0;
		if (++s->ok_run >= s->c->rise)
			s->good = true;
	} else {
		s->ok_run = 0;
		if (++s->fail_run >= s->c->fall)
			s->good = false;
	}
	if (was != s->good) {
		vlog(s->v, "script %s now %s%s", s->c->name, s->good ? "succeeding" : "failing",
		     timed_out ? " (timed out)" : "");
		reevaluate(s->v);
	}
}

static void script_done_cb(struct evloop *l, pid_t pid, int status, bool timed_out, void *arg)
{
	struct vjob *job = arg;
	struct vscript *s = job->s;

	free(job);
	if (!s)
		return;               /* vrrp_stop() came first */
	s->job = NULL;
	script_result(s, !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0, timed_out);
}

static void script_run_cb(struct evloop *l, void *arg)
{
	struct vscript *s = arg;

	s->timer = ev_timer_add(l, s->c->interval_ms ? s->c->interval_ms : 1000, script_run_cb, s);
	if (s->job)
		return;               /* still running: keepalived skips the run too */
	struct vjob *job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->s = s;
	uint32_t to = s->c->timeout_ms ? s->c->timeout_ms : s->c->interval_ms;
	if (run_line(s->v, s->c->script, NULL, 0, to, script_done_cb, job) < 0) {
		free(job);
		script_result(s, false, false); /* cannot run: a failure, as keepalived */
		return;
	}
	s->job = job;
}

/* ---- track files ------------------------------------------------------- */

/* The file's first number; keepalived reads a missing, empty or
 * non-numeric file as 0. */
static int64_t tfile_read(const char *path)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	return end == buf ? 0 : (int64_t)v;
}

/* Re-read every tracked file; true when a value changed. */
static bool tfiles_poll(struct vrrp *v)
{
	bool changed = false;
	for (unsigned i = 0; i < v->n_tfiles; i++) {
		struct vtfile *t = &v->tfiles[i];
		if (!t->used)
			continue;
		int64_t nv = tfile_read(t->c->file);
		if (nv == t->value)
			continue;
		vlog(v, "track_file %s (%s): %lld -> %lld", t->c->name, t->c->file,
		     (long long)t->value, (long long)nv);
		t->value = nv;
		changed = true;
	}
	return changed;
}

static void tfile_timer_cb(struct evloop *l, void *arg)
{
	struct vrrp *v = arg;
	v->tf_timer = ev_timer_add(l, VRRP_TFILE_POLL_MS, tfile_timer_cb, v);
	if (tfiles_poll(v))
		reevaluate(v);
}

/* init_file [VALUE] [overwrite]: create the file (or rewrite it) so the
 * first read sees a defined value. */
static void tfile_init(struct vrrp *v, const struct conf_track_file *c)
{
	if (!c->init_file || (!c->init_overwrite && access(c->file, F_OK) == 0))
		return;
	FILE *f = fopen(c->file, "we");
	if (!f) {
		vlog(v, "track_file %s: cannot write %s: %s", c->name, c->file, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", c->init_value);
	fclose(f);
}

/* ---- virtual routes ---------------------------------------------------- */

static void routes_set(struct vinst *in, bool up)
{
	for (unsigned i = 0; i < in->n_routes; i++) {
		int r = vnet_route(&in->v->net, up, &in->routes[i], in->route_oif[i]);
		if (r < 0)
			vlog(in->v, "(%s) cannot %s virtual route '%s': %s", in->c->name,
			     up ? "add" : "remove", in->c->virtual_routes[i], strerror(-r));
	}
}

/* ---- VIPs, announcements ----------------------------------------------- */

static struct vrrp_if *vip_if(struct vinst *in, const struct conf_ipaddr *ip)
{
	if (!ip->dev)
		return in->ifp;
	return vnet_if_get(&in->v->net, ip->dev);
}

static void vips_set(struct vinst *in, bool up)
{
	struct vrrp *v = in->v;
	const struct conf_ipaddr *lists[2] = { in->c->vips, in->c->vips_excluded };
	unsigned ns[2] = { in->c->n_vips, in->c->n_vips_excluded };
	char b[64];

	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < ns[k]; i++) {
			const struct conf_ipaddr *ip = &lists[k][i];
			struct vrrp_if *ifp = vip_if(in, ip);
			if (!ifp) {
				vlog(v, "(%s) VIP %s: no interface %s", in->c->name,
				     fmt_addr(ip->p.af, &ip->p.a, b), ip->dev);
				continue;
			}
			if (!up && v->h.vip_cb)
				v->h.vip_cb(v->h.arg, in->c, ip, false);
			int r = vnet_addr(&v->net, up, ifp->ifindex, ip->p.af, &ip->p.a, ip->p.plen,
					  ip->label, 0);
			if (r < 0)
				vlog(v, "(%s) cannot %s VIP %s/%u on %s: %s", in->c->name,
				     up ? "add" : "remove", fmt_addr(ip->p.af, &ip->p.a, b),
				     ip->p.plen, ifp->name, strerror(-r));
			if (up && v->h.vip_cb)
				v->h.vip_cb(v->h.arg, in->c, ip, true);
		}
}

static void announce(struct vinst *in, unsigned repeat)
{
	const struct conf_ipaddr *lists[2] = { in->c->vips, in->c->vips_excluded };
	unsigned ns[2] = { in->c->n_vips, in->c->n_vips_excluded };

	for (unsigned r = 0; r < repeat; r++)
		for (int k = 0; k < 2; k++)
			for (unsigned i = 0; i < ns[k]; i++) {
				const struct conf_ipaddr *ip = &lists[k][i];
				struct vrrp_if *ifp = vip_if(in, ip);
				if (ifp)
					vnet_announce(&in->v->net, ifp, ip->p.af, &ip->p.a);
			}
}

static void garp_stop(struct vinst *in)
{
	if (in->garp_timer)
		ev_timer_cancel(in->v->l, in->garp_timer);
	in->garp_timer = NULL;
}

/* keepalived: garp_master_repeat announcements at once, the same again
 * after garp_master_delay, then garp_master_refresh_repeat every
 * garp_master_refresh while master. */
static void garp_cb(struct evloop *l, void *arg)
{
	struct vinst *in = arg;
	const struct conf_global *g = &in->v->c->global;

	in->garp_timer = NULL;
	if (in->st.st != VRRP_ST_MASTER)
		return;
	if (in->garp_phase == 0) {
		announce(in, g->vrrp_garp_master_repeat);
		in->garp_phase = 1;
	} else {
		announce(in, g->vrrp_garp_master_refresh_repeat ? g->vrrp_garp_master_refresh_repeat : 1);
	}
	if (g->vrrp_garp_master_refresh_ms)
		in->garp_timer = ev_timer_add(l, g->vrrp_garp_master_refresh_ms, garp_cb, in);
}

static void garp_start(struct vinst *in)
{
	const struct conf_global *g = &in->v->c->global;

	garp_stop(in);
	announce(in, g->vrrp_garp_master_repeat ? g->vrrp_garp_master_repeat : 1);
	in->garp_phase = 0;
	if (g->vrrp_garp_master_delay_ms)
		in->garp_timer = ev_timer_add(in->v->l, g->vrrp_garp_master_delay_ms, garp_cb, in);
	else if (g->vrrp_garp_master_refresh_ms) {
		in->garp_phase = 1;
		in->garp_timer = ev_timer_add(in->v->l, g->vrrp_garp_master_refresh_ms, garp_cb, in);
	}
}

/* ---- adverts out ------------------------------------------------------- */

/* The next AH sequence number.  keepalived counts one per advert from 0 in
 * a counter it shares between sending and receiving, and drops anything
 * not above it: a router that restarts at 1 is ignored by a peer that
 * heard it before until it catches up.  Never going below the wall clock's
 * seconds keeps us above what any peer advertising at most once a second
 * (v2 intervals are whole seconds) can have counted since it last heard
 * us - so failback after a restart or a partition works.  0 when the space
 * is exhausted (RFC 2402 §3.3.2: the counter must not cycle). */
static uint32_t ah_next_seq(struct vinst *in)
{
	uint64_t s = (uint64_t)in->ah_tx_seq + 1;
	if ((uint64_t)in->ah_rx_seq + 1 > s)
		s = (uint64_t)in->ah_rx_seq + 1;
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && (uint64_t)ts.tv_sec > s)
		s = (uint64_t)ts.tv_sec;
	if (s > VRRP_AH_SEQ_MAX)
		return 0;
	in->ah_tx_seq = (uint32_t)s;
	return (uint32_t)s;
}

static void send_advert(struct vinst *in, uint8_t prio)
{
	struct vrrp_pkt p;
	uint8_t buf[VRRP_PKT_MAX];
	int n;

	memset(&p, 0, offsetof(struct vrrp_pkt, addrs));
	p.version = in->cfg.version;
	p.type = VRRP_TYPE_ADVERT;
	p.vrid = in->cfg.vrid;
	p.prio = prio;
	p.af = in->af;
	p.naddr = (uint8_t)in->n_vipaddrs;
	p.adv_int_cs = in->cfg.adv_int_cs;
	p.auth_type = in->auth_type;
	memcpy(p.auth, in->auth, VRRP_AUTH_LEN);
	memcpy(p.addrs, in->vipaddrs, in->n_vipaddrs * sizeof(*in->vipaddrs));
	uint32_t seq = 0;
	if (in->auth_type == VRRP_AUTHT_AH && !(seq = ah_next_seq(in))) {
		vlog(in->v, "(%s) AH sequence numbers exhausted; not advertising", in->c->name);
		return;
	}
	/* The ID is under the AH ICV, and a zero one the kernel replaces. */
	if (++in->ip_id == 0)
		in->ip_id = 1;
	const union ulvs_addr *dsts = in->unicast ? NULL : &in->group;
	unsigned ndst = 1;
	union ulvs_addr *peers = NULL;
	if (in->unicast) {
		peers = calloc(in->c->n_unicast_peers, sizeof(*peers));
		if (!peers)
			return;
		for (unsigned i = 0; i < in->c->n_unicast_peers; i++)
			peers[i] = in->c->unicast_peers[i].a;
		dsts = peers;
		ndst = in->c->n_unicast_peers;
	}
	for (unsigned i = 0; i < ndst; i++) {
		/* The v3 pseudo-header names the real destination, which for
		 * unicast differs per peer. */
		if (in->auth_type == VRRP_AUTHT_AH)
			n = vrrp_pkt_encode_ip4_ah(&p, &in->cfg.self, &dsts[i], in->ip_id, seq, in->auth,
						   in->unicast, buf, sizeof(buf));
		else if (in->af == ULVS_AF_INET)
			n = vrrp_pkt_encode_ip4(&p, &in->cfg.self, &dsts[i], in->csum, in->ip_id, buf,
						sizeof(buf));
		else
			n = vrrp_pkt_encode(&p, &in->cfg.self, &dsts[i], in->csum, buf, sizeof(buf));
		if (n < 0) {
			vlog(in->v, "(%s) cannot encode advert: %s", in->c->name, strerror(-n));
			break;
		}
		int r = vnet_send(&in->v->net, in->ifp, in->af, &in->cfg.self, &dsts[i], buf, (size_t)n);
		if (r == 0)
			in->tx++;
	}
	free(peers);
}

/* ---- actions ----------------------------------------------------------- */

static void arm_cb(struct evloop *l, void *arg)
{
	struct vinst *in = arg;
	in->timer = NULL;
	step(in, &(struct vrrp_event){ .type = VRRP_EV_TIMER });
}

static void arm(struct vinst *in, uint64_t at)
{
	if (in->timer)
		ev_timer_cancel(in->v->l, in->timer);
	in->timer = NULL;
	if (!at || in->v->stopping)
		return;
	uint64_t now = ev_now_ns(in->v->l);
	uint64_t ms = at > now ? (at - now + 999999) / 1000000 : 0;
	in->timer = ev_timer_add(in->v->l, ms, arm_cb, in);
}

static void group_follow(struct vinst *in, enum vrrp_ev_type t)
{
	if (!in->grp)
		return;
	for (unsigned i = 0; i < in->grp->n; i++)
		if (in->grp->m[i] != in)
			step(in->grp->m[i], &(struct vrrp_event){ .type = t });
}

static void group_notify(struct vgroup *g)
{
	enum vrrp_state_id s = g->m[0]->st.st;
	for (unsigned i = 1; i < g->n; i++)
		if (g->m[i]->st.st != s)
			return;               /* still moving */
	if (s == g->state)
		return;
	g->state = s;
	const struct conf_sync_group *c = g->c;
	const char *spec = s == VRRP_ST_MASTER ? c->notify_master :
			   s == VRRP_ST_BACKUP ? c->notify_backup :
			   s == VRRP_ST_FAULT ? c->notify_fault : c->notify_stop;
	vlog(g->m[0]->v, "sync group %s: entering %s state", c->name, vrrp_state_name(s));
	notify(g->m[0]->v, "GROUP", c->name, spec, c->notify, s == VRRP_ST_INIT ? "STOP" :
	       vrrp_state_name(s), 0);
}

/* Why a transition happened, for its one log line: the event that caused
 * it, in RFC 5798 §6.4 terms where there are some. */
static void transition_reason(const struct vinst *in, const struct vrrp_event *ev,
			      enum vrrp_state_id to, char *buf, size_t len)
{
	char a[64];

	switch (ev->type) {
	case VRRP_EV_STARTUP:
		snprintf(buf, len, "startup%s", to == VRRP_ST_MASTER ? " as address owner or "
						 "state MASTER" : "");
		break;
	case VRRP_EV_SHUTDOWN: snprintf(buf, len, "shutdown"); break;
	case VRRP_EV_TIMER:
		snprintf(buf, len, to == VRRP_ST_MASTER ? "no advert within Master_Down_Interval"
							: "timer");
		break;
	case VRRP_EV_ADVERT:
		snprintf(buf, len, "advert from %s with priority %u",
			 fmt_addr(in->af, &ev->src, a), ev->prio);
		break;
	case VRRP_EV_FAULT: snprintf(buf, len, "fault: a tracked interface or script failed"); break;
	case VRRP_EV_FAULT_CLEAR: snprintf(buf, len, "fault cleared"); break;
	case VRRP_EV_PRIO_CHANGE: snprintf(buf, len, "priority now %u", ev->prio); break;
	case VRRP_EV_SYNC_MASTER: snprintf(buf, len, "sync group member became MASTER"); break;
	case VRRP_EV_SYNC_BACKUP: snprintf(buf, len, "sync group member left MASTER"); break;
	default: snprintf(buf, len, "event %d", (int)ev->type); break;
	}
}

static void apply(struct vinst *in, const struct vrrp_actions *a, const struct vrrp_event *ev)
{
	char why[128];
	struct vrrp *v = in->v;
	const struct conf_vrrp *c = in->c;
	enum vrrp_state_id to = in->st.st;

	if (a->bits & VRRP_ACT_SEND_ADVERT)
		send_advert(in, a->advert_prio);
	if (a->bits & (VRRP_ACT_BECOME_BACKUP | VRRP_ACT_BECOME_FAULT | VRRP_ACT_STOPPED)) {
		garp_stop(in);
		/* Also from INIT: a VIP or route left behind by a crash must
		 * go.  Routes first: their source may be a VIP. */
		routes_set(in, false);
		vips_set(in, false);
	}
	if (a->bits & VRRP_ACT_BECOME_MASTER) {
		vips_set(in, true);
		routes_set(in, true);
		garp_start(in);
		in->became_master++;
	}
	arm(in, a->timer_at);
	if (to == a->from)
		return;
	in->transitions++;
	transition_reason(in, ev, to, why, sizeof(why));
	vlog(v, "(%s) Entering %s STATE (prio %u): %s", c->name,
	     to == VRRP_ST_INIT ? "STOP" : vrrp_state_name(to), in->st.prio, why);
	if (v->h.state_cb)
		v->h.state_cb(v->h.arg, c, a->from, to);
	const char *spec = to == VRRP_ST_MASTER ? c->notify_master :
			   to == VRRP_ST_BACKUP ? c->notify_backup :
			   to == VRRP_ST_FAULT ? c->notify_fault : c->notify_stop;
	notify(v, "INSTANCE", c->name, spec, c->notify,
	       to == VRRP_ST_INIT ? "STOP" : vrrp_state_name(to), in->st.prio);
	/* Sync groups: members move together (keepalived vrrp_sync.c). */
	if (to == VRRP_ST_MASTER)
		group_follow(in, VRRP_EV_SYNC_MASTER);
	else if (to == VRRP_ST_BACKUP && a->from == VRRP_ST_MASTER)
		group_follow(in, VRRP_EV_SYNC_BACKUP);
	if (in->grp)
		group_notify(in->grp);
}

/* ---- adverts in -------------------------------------------------------- */

static void count_if(struct vrrp_if *ifp, enum vrrp_drop d)
{
	ifp->drops[d]++;
}

static void rx_one(struct vrrp *v, struct vrrp_if *ifp, uint8_t af, const uint8_t *buf, int len,
		   struct vrrp_rx_meta *meta)
{
	static struct vrrp_pkt p;     /* 4 KiB; one control thread */
	enum vrrp_drop d;

	if (af == ULVS_AF_INET)
		d = vrrp_pkt_decode_ip4(buf, (size_t)len, meta, &p);
	else
		d = vrrp_pkt_decode(buf, (size_t)len, meta, &p);
	if (d != VRRP_OK) {
		count_if(ifp, d);
		return;
	}
	struct vinst *in = NULL;
	for (unsigned i = 0; i < v->n_inst && !in; i++)
		if (v->inst[i].ifp == ifp && v->inst[i].af == af && v->inst[i].cfg.vrid == p.vrid)
			in = &v->inst[i];
	if (!in) {
		count_if(ifp, VRRP_DROP_UNKNOWN_VRID);
		return;
	}
	if (addr_eq(&meta->src, &in->cfg.self)) {
		in->drops[VRRP_DROP_OWN]++;
		return;
	}
	if (in->unicast && v->c->global.vrrp_check_unicast_src) {
		bool ok = false;
		for (unsigned i = 0; i < in->c->n_unicast_peers && !ok; i++)
			ok = addr_eq(&in->c->unicast_peers[i].a, &meta->src);
		if (!ok) {
			in->drops[VRRP_DROP_UNICAST_SRC]++;
			return;
		}
	}
	d = vrrp_pkt_check(&p, &in->exp);
	/* AH (keepalived's order): the ICV first, then SPI, then replay; the
	 * counter moves only for authentic adverts. */
	if (d == VRRP_OK && p.ah) {
		d = vrrp_ah_verify(buf, (size_t)len, in->auth, in->unicast);
		if (d == VRRP_OK && !vrrp_ah_seq_accept(&in->ah_rx_seq, p.ah_seq))
			d = VRRP_DROP_AH_REPLAY;
	}
	if (d == VRRP_OK && in->cfg.base_prio == VRRP_PRIO_OWNER && p.prio == VRRP_PRIO_OWNER)
		d = VRRP_DROP_OWNER_CONFLICT; /* two owners: a configuration error */
	if (d != VRRP_OK) {
		in->drops[d]++;
		return;
	}
	in->rx++;
	step(in, &(struct vrrp_event){ .type = VRRP_EV_ADVERT, .prio = p.prio,
				       .adv_int_cs = p.adv_int_cs, .src = meta->src });
}

static void rx_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct vrx *x = arg;
	uint8_t buf[VRRP_PKT_MAX + 64];

	for (int i = 0; i < 64; i++) {   /* bounded: let the loop breathe */
		struct vrrp_rx_meta meta;
		int n = x->ah ? vnet_recv_ah(x->ifp, buf, sizeof(buf))
			      : vnet_recv(x->ifp, x->af, buf, sizeof(buf), &meta);
		if (n < 0)
			break;
		rx_one(x->v, x->ifp, x->af, buf, n, &meta);
	}
}

static void mon_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct vrrp *v = arg;
	if (vnet_mon_read(&v->net) > 0)
		reevaluate(v);
}

/* ---- setup ------------------------------------------------------------- */

static int add_track(struct vrrp *v, const char *owner, const struct conf_track *t,
		     enum vtrack_kind kind, struct vtrack *out)
{
	memset(out, 0, sizeof(*out));
	if (kind == VT_FILE) {
		for (unsigned i = 0; i < v->n_tfiles; i++)
			if (!strcmp(v->tfiles[i].c->name, t->name)) {
				out->kind = VT_FILE;
				out->tf = &v->tfiles[i];
				out->tf->used = true;
				out->weight = t->has_weight ? t->weight : out->tf->c->weight;
				out->reverse = t->has_weight ? t->reverse : out->tf->c->reverse;
				return 0;
			}
		vlog(v, "(%s) track_file %s: no such track_file", owner, t->name);
		return -ENOENT;
	}
	if (kind == VT_SCRIPT) {
		for (unsigned i = 0; i < v->n_scripts; i++)
			if (!strcmp(v->scripts[i].c->name, t->name)) {
				out->kind = VT_SCRIPT;
				out->s = &v->scripts[i];
				out->s->used = true;
				out->weight = t->has_weight ? t->weight : out->s->c->weight;
				return 0;
			}
		vlog(v, "(%s) track_script %s: no such vrrp_script", owner, t->name);
		return -ENOENT;
	}
	out->kind = VT_IF;
	out->ifp = vnet_if_get(&v->net, t->name);
	out->weight = t->has_weight ? t->weight : 0;
	if (!out->ifp) {
		vlog(v, "(%s) track_interface %s: %s", owner, t->name, strerror(errno));
		return -ENODEV;
	}
	return 0;
}

static int add_tracks(struct vrrp *v, const char *owner, const struct conf_track *ss, unsigned ns,
		      const struct conf_track *is, unsigned ni, const struct conf_track *fs,
		      unsigned nf, struct vtrack **out, unsigned *n)
{
	const struct conf_track *lists[3] = { ss, is, fs };
	unsigned counts[3] = { ns, ni, nf };
	enum vtrack_kind kinds[3] = { VT_SCRIPT, VT_IF, VT_FILE };

	*out = calloc(ns + ni + nf + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n = 0;
	for (int k = 0; k < 3; k++)
		for (unsigned i = 0; i < counts[k]; i++) {
			int r = add_track(v, owner, &lists[k][i], kinds[k], &(*out)[*n]);
			if (r < 0)
				return r;
			++*n;
		}
	return 0;
}

static int rx_fd(const struct vrx *x)
{
	return x->ah ? x->ifp->fd4ah : x->af == ULVS_AF_INET ? x->ifp->fd4 : x->ifp->fd6;
}

static int rx_register(struct vrrp *v, struct vrrp_if *ifp, uint8_t af, bool ah)
{
	for (struct vrx *x = v->rx; x; x = x->next)
		if (x->ifp == ifp && x->af == af && x->ah == ah)
			return 0;
	struct vrx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->v = v;
	x->ifp = ifp;
	x->af = af;
	x->ah = ah;
	int r = ev_fd_add(v->l, rx_fd(x), EV_READ, rx_cb, x);
	if (r < 0) {
		free(x);
		return r;
	}
	x->next = v->rx;
	v->rx = x;
	return 0;
}

static int inst_setup(struct vrrp *v, struct vinst *in, const struct conf_vrrp *c)
{
	const struct conf_global *g = &v->c->global;
	char b[64];
	int r;

	in->v = v;
	in->c = c;
	in->ifp = vnet_if_get(&v->net, c->interface ? c->interface : g->default_interface);
	if (!in->ifp) {
		vlog(v, "(%s) interface %s: %s", c->name, c->interface, strerror(errno));
		return -ENODEV;
	}
	/* Family: keepalived takes it from the first VIP, else the peers. */
	in->af = ULVS_AF_INET;
	if (c->n_vips)
		in->af = c->vips[0].p.af;
	else if (c->n_unicast_peers)
		in->af = c->unicast_peers[0].af;
	else if (c->native_ipv6)
		in->af = ULVS_AF_INET6;
	in->cfg.af = in->af;
	in->cfg.version = (uint8_t)(c->version ? c->version : g->vrrp_version ? g->vrrp_version : 2);
	if (in->af == ULVS_AF_INET6 && in->cfg.version == 2) {
		vlog(v, "(%s) IPv6 needs VRRP version 3; using it", c->name);
		in->cfg.version = 3;
	}
	in->cfg.vrid = (uint8_t)c->vrid;
	in->cfg.base_prio = (uint8_t)c->priority;
	if (in->cfg.version == 2) {
		/* RFC 3768 §5.3.7: whole seconds. */
		uint32_t s = (c->advert_int_ms + 500) / 1000;
		if (s < 1)
			s = 1;
		if (s * 1000 != c->advert_int_ms)
			vlog(v, "(%s) VRRPv2 advert_int is whole seconds; using %u", c->name, s);
		in->cfg.adv_int_cs = (uint16_t)(s * 100);
	} else {
		uint32_t cs = c->advert_int_ms / 10;
		in->cfg.adv_int_cs = (uint16_t)(cs < 1 ? 1 : cs > VRRP_V3_MAX_ADV_CS ? VRRP_V3_MAX_ADV_CS : cs);
	}
	in->cfg.nopreempt = c->nopreempt;
	in->cfg.start_master = c->state == VRRP_STATE_MASTER;
	in->cfg.preempt_delay_ms = c->preempt_delay_ms;
	/* Our address: what we send from, and the §6.4.3 tie-break. */
	if (c->unicast_src_ip.af == in->af)
		in->cfg.self = c->unicast_src_ip.a;
	else if (c->mcast_src_ip.af == in->af)
		in->cfg.self = c->mcast_src_ip.a;
	else if (in->af == ULVS_AF_INET && in->ifp->has_primary4)
		in->cfg.self = in->ifp->primary4;
	else if (in->af == ULVS_AF_INET6 && in->ifp->has_linklocal6)
		in->cfg.self = in->ifp->linklocal6;
	else {
		vlog(v, "(%s) no IPv%u address on %s to send adverts from", c->name, in->af,
		     in->ifp->name);
		return -EADDRNOTAVAIL;
	}
	in->unicast = c->n_unicast_peers > 0;
	const struct conf_addr *grp = in->af == ULVS_AF_INET ? &g->vrrp_mcast_group4 : &g->vrrp_mcast_group6;
	if (grp->af == in->af)
		in->group = grp->a;
	else {
		enum ulvs_af gaf;
		addr_parse(in->af == ULVS_AF_INET ? "224.0.0.18" : "ff02::12", &gaf, &in->group);
	}
	in->vipaddrs = calloc(c->n_vips + 1, sizeof(*in->vipaddrs));
	if (!in->vipaddrs)
		return -ENOMEM;
	for (unsigned i = 0; i < c->n_vips && in->n_vipaddrs < VRRP_MAX_ADDRS; i++)
		if (c->vips[i].p.af == in->af)
			in->vipaddrs[in->n_vipaddrs++] = c->vips[i].p.a;
	in->routes = calloc(c->n_virtual_routes + 1, sizeof(*in->routes));
	in->route_oif = calloc(c->n_virtual_routes + 1, sizeof(*in->route_oif));
	if (!in->routes || !in->route_oif)
		return -ENOMEM;
	for (unsigned i = 0; i < c->n_virtual_routes; i++, in->n_routes++) {
		char err[128];
		struct vrrp_route *rt = &in->routes[i];
		if (vrrp_route_parse(c->virtual_routes[i], rt, err, sizeof(err)) < 0) {
			vlog(v, "(%s) virtual_routes '%s': %s", c->name, c->virtual_routes[i], err);
			return -EINVAL;
		}
		if (rt->dev[0]) {
			struct vrrp_if *rif = vnet_if_get(&v->net, rt->dev);
			if (!rif) {
				vlog(v, "(%s) virtual_routes '%s': interface %s: %s", c->name,
				     c->virtual_routes[i], rt->dev, strerror(errno));
				return -ENODEV;
			}
			in->route_oif[i] = rif->ifindex;
		}
	}
	/* v2 only, as keepalived: v3 dropped authentication (RFC 5798 §9).
	 * Both the PASS data and the AH key are the password's first 8
	 * bytes, NUL padded. */
	if (in->cfg.version == 2 && (c->auth_type == VRRP_AUTH_PASS || c->auth_type == VRRP_AUTH_AH)) {
		in->auth_type = c->auth_type == VRRP_AUTH_AH ? VRRP_AUTHT_AH : VRRP_AUTHT_PASS;
		if (c->auth_pass)
			memcpy(in->auth, c->auth_pass, strnlen(c->auth_pass, VRRP_AUTH_LEN));
	}
	in->csum = c->v3_checksum_as_v2 ? VRRP_CSUM_PLAIN : VRRP_CSUM_PSEUDO;
	in->exp = (struct vrrp_pkt_expect){
		.version = in->cfg.version, .vrid = in->cfg.vrid, .af = in->af, .csum = in->csum,
		.auth_type = in->auth_type, .adv_int_cs = in->cfg.adv_int_cs,
		.skip_addr_check = g->vrrp_skip_check_adv_addr,
		.addrs = in->vipaddrs, .naddr = in->n_vipaddrs,
	};
	memcpy(in->exp.auth, in->auth, VRRP_AUTH_LEN);
	r = vnet_if_socket(&v->net, in->ifp, in->af, in->unicast ? NULL : &in->group);
	if (r < 0) {
		vlog(v, "(%s) VRRP socket on %s: %s", c->name, in->ifp->name, strerror(-r));
		return r;
	}
	r = rx_register(v, in->ifp, in->af, false);
	if (r < 0)
		return r;
	if (in->auth_type == VRRP_AUTHT_AH) {
		/* Adverts behind AH are IP protocol 51: another socket. */
		r = vnet_if_socket_ah(&v->net, in->ifp, in->unicast ? NULL : &in->group);
		if (r < 0) {
			vlog(v, "(%s) AH socket on %s: %s", c->name, in->ifp->name, strerror(-r));
			return r;
		}
		r = rx_register(v, in->ifp, in->af, true);
		if (r < 0)
			return r;
	}
	r = add_tracks(v, c->name, c->track_script, c->n_track_script, c->track_interface,
		       c->n_track_interface, c->track_file, c->n_track_file, &in->tracks,
		       &in->n_tracks);
	if (r < 0)
		return r;
	vlog(v, "(%s) VRID %u v%u on %s from %s, priority %u, advert %u cs%s", c->name, c->vrid,
	     in->cfg.version, in->ifp->name, fmt_addr(in->af, &in->cfg.self, b), c->priority,
	     in->cfg.adv_int_cs, in->unicast ? ", unicast" : "");
	return 0;
}

static int groups_setup(struct vrrp *v)
{
	const struct conf *c = v->c;

	v->groups = calloc(c->n_sync_groups + 1, sizeof(*v->groups));
	if (!v->groups)
		return -ENOMEM;
	for (unsigned i = 0; i < c->n_sync_groups; i++) {
		const struct conf_sync_group *sg = &c->sync_groups[i];
		struct vgroup *g = &v->groups[v->n_groups++];
		g->c = sg;
		g->state = VRRP_ST_INIT;
		g->m = calloc(sg->n_members + 1, sizeof(*g->m));
		if (!g->m)
			return -ENOMEM;
		for (unsigned j = 0; j < sg->n_members; j++) {
			struct vinst *in = NULL;
			for (unsigned k = 0; k < v->n_inst && !in; k++)
				if (!strcmp(v->inst[k].c->name, sg->members[j]))
					in = &v->inst[k];
			if (!in) {
				vlog(v, "sync group %s: no vrrp_instance %s", sg->name, sg->members[j]);
				return -ENOENT;
			}
			if (in->grp) {
				vlog(v, "vrrp_instance %s is in two sync groups", in->c->name);
				return -EINVAL;
			}
			in->grp = g;
			g->m[g->n++] = in;
		}
		int r = add_tracks(v, sg->name, sg->track_script, sg->n_track_script,
				   sg->track_interface, sg->n_track_interface, NULL, 0, &g->tracks,
				   &g->n_tracks);
		if (r < 0)
			return r;
	}
	return 0;
}

static void vrrp_free(struct vrrp *v)
{
	for (unsigned i = 0; i < v->n_inst; i++) {
		struct vinst *in = &v->inst[i];
		if (in->timer)
			ev_timer_cancel(v->l, in->timer);
		garp_stop(in);
		free(in->vipaddrs);
		free(in->tracks);
		free(in->routes);
		free(in->route_oif);
	}
	for (unsigned i = 0; i < v->n_scripts; i++) {
		struct vscript *s = &v->scripts[i];
		if (s->timer)
			ev_timer_cancel(v->l, s->timer);
		if (s->job)
			s->job->s = NULL; /* its callback may still come; it frees the job */
	}
	if (v->tf_timer)
		ev_timer_cancel(v->l, v->tf_timer);
	free(v->tfiles);
	for (unsigned i = 0; i < v->n_groups; i++) {
		free(v->groups[i].m);
		free(v->groups[i].tracks);
	}
	struct vrx *x, *nx;
	for (x = v->rx; x; x = nx) {
		nx = x->next;
		ev_fd_del(v->l, rx_fd(x));
		free(x);
	}
	if (v->mon_added)
		ev_fd_del(v->l, vnet_mon_fd(&v->net));
	if (v->net_open)
		vnet_close(&v->net);
	free(v->groups);
	free(v->scripts);
	free(v->inst);
	free(v);
}

int vrrp_start(struct evloop *l, const struct conf *c, FILE *log, const struct vrrp_hooks *h,
	       struct vrrp **out)
{
	struct vrrp *v;
	int r;

	*out = NULL;
	if (!c->n_vrrps)
		return 0;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->l = l;
	v->c = c;
	v->log = log ? log : stderr;
	if (h)
		v->h = *h;
	v->inst = calloc(c->n_vrrps, sizeof(*v->inst));
	v->scripts = calloc(c->n_scripts + 1, sizeof(*v->scripts));
	v->tfiles = calloc(c->n_track_files + 1, sizeof(*v->tfiles));
	if (!v->inst || !v->scripts || !v->tfiles) {
		r = -ENOMEM;
		goto fail;
	}
	r = vnet_open(&v->net, v->log);
	if (r < 0) {
		vlog(v, "netlink: %s", strerror(-r));
		goto fail;
	}
	v->net_open = true;
	for (unsigned i = 0; i < c->n_scripts; i++) {
		struct vscript *s = &v->scripts[v->n_scripts++];
		s->v = v;
		s->c = &c->scripts[i];
		s->good = !s->c->init_fail;
	}
	for (unsigned i = 0; i < c->n_track_files; i++)
		v->tfiles[v->n_tfiles++].c = &c->track_files[i];
	for (unsigned i = 0; i < c->n_vrrps; i++) {
		r = inst_setup(v, &v->inst[v->n_inst++], &c->vrrps[i]);
		if (r < 0)
			goto fail;
	}
	r = groups_setup(v);
	if (r < 0)
		goto fail;
	r = ev_fd_add(l, vnet_mon_fd(&v->net), EV_READ, mon_cb, v);
	if (r < 0)
		goto fail;
	v->mon_added = true;
	for (unsigned i = 0; i < v->n_scripts; i++)
		if (v->scripts[i].used)
			v->scripts[i].timer = ev_timer_add(l, 0, script_run_cb, &v->scripts[i]);
	bool any_tf = false;
	for (unsigned i = 0; i < v->n_tfiles; i++)
		if (v->tfiles[i].used) {
			tfile_init(v, v->tfiles[i].c);
			any_tf = true;
		}
	if (any_tf) {
		tfiles_poll(v);
		v->tf_timer = ev_timer_add(l, VRRP_TFILE_POLL_MS, tfile_timer_cb, v);
	}
	reevaluate(v);                /* INIT: sets priority and fault only */
	for (unsigned i = 0; i < v->n_inst; i++)
		step(&v->inst[i], &(struct vrrp_event){ .type = VRRP_EV_STARTUP });
	*out = v;
	return 0;
fail:
	vrrp_free(v);
	return r;
}

void vrrp_stop(struct vrrp *v)
{
	if (!v)
		return;
	v->stopping = true;
	for (unsigned i = 0; i < v->n_inst; i++)
		step(&v->inst[i], &(struct vrrp_event){ .type = VRRP_EV_SHUTDOWN });
	vrrp_free(v);
}

unsigned vrrp_status(const struct vrrp *v, struct vrrp_status *out, unsigned max)
{
	if (!v)
		return 0;
	for (unsigned i = 0; i < v->n_inst && i < max; i++) {
		const struct vinst *in = &v->inst[i];
		struct vrrp_status *s = &out[i];
		memset(s, 0, sizeof(*s));
		s->name = in->c->name;
		s->interface = in->ifp->name;
		s->vrid = in->cfg.vrid;
		s->version = in->cfg.version;
		s->af = in->af;
		s->base_prio = in->cfg.base_prio;
		s->prio = in->st.prio;
		s->state = in->st.st;
		s->master_known = in->st.master_known;
		s->master = in->st.master;
		s->adv_int_cs = in->cfg.adv_int_cs;
		s->master_adv_cs = in->st.master_adv_cs;
		s->adverts_rx = in->rx;
		s->adverts_tx = in->tx;
		s->transitions = in->transitions;
		s->became_master = in->became_master;
		memcpy(s->drops, in->drops, sizeof(s->drops));
	}
	return v->n_inst;
}

void vrrp_status_drops(const struct vrrp *v, uint64_t drops[VRRP_DROP_MAX])
{
	memset(drops, 0, sizeof(uint64_t) * VRRP_DROP_MAX);
	if (!v)
		return;
	for (const struct vrrp_if *ifp = v->net.ifs; ifp; ifp = ifp->next)
		for (int d = 0; d < VRRP_DROP_MAX; d++)
			drops[d] += ifp->drops[d];
}

void vrrp_status_print(const struct vrrp *v, FILE *out)
{
	char b[64];
	uint64_t d[VRRP_DROP_MAX];

	if (!v)
		return;
	for (unsigned i = 0; i < v->n_inst; i++) {
		const struct vinst *in = &v->inst[i];
		fprintf(out, "VRRP Instance %s: %s, VRID %u, v%u, %s, priority %u (base %u)\n",
			in->c->name, vrrp_state_name(in->st.st), in->cfg.vrid, in->cfg.version,
			in->ifp->name, in->st.prio, in->cfg.base_prio);
		fprintf(out, "  master %s, advert %u cs (master's %u cs), rx %llu tx %llu, "
			"transitions %llu\n",
			in->st.master_known ? fmt_addr(in->af, &in->st.master, b) : "-",
			in->cfg.adv_int_cs, in->st.master_adv_cs, (unsigned long long)in->rx,
			(unsigned long long)in->tx, (unsigned long long)in->transitions);
		for (int k = 1; k < VRRP_DROP_MAX; k++)
			if (in->drops[k])
				fprintf(out, "  dropped %s: %llu\n", vrrp_drop_name(k),
					(unsigned long long)in->drops[k]);
	}
	vrrp_status_drops(v, d);
	for (int k = 1; k < VRRP_DROP_MAX; k++)
		if (d[k])
			fprintf(out, "VRRP dropped before dispatch %s: %llu\n", vrrp_drop_name(k),
				(unsigned long long)d[k]);
}
