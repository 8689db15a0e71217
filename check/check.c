/* Health checking: the checkers' scheduling, their aggregation into real
 * server and quorum state, and the effects on the director (see check.h).
 *
 * The checker types (check_tcp.c, check_http.c, ...) only do I/O and say
 * OK / FAIL / TIMEOUT with a reason; every timing and state decision is made
 * by check_fsm.c, and every effect (director calls, notify scripts, log
 * lines) is made here, so the types cannot disagree about semantics.
 */
#include "check/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"

#define NS_PER_MS UINT64_C(1000000)
#define CHECK_MAX_ARGV 64

/* ---- small helpers shared with the types ------------------------------ */

void check_log(struct check *k, const char *fmt, ...)
{
	va_list ap;
	FILE *f = k->log ? k->log : stderr;

	fputs("check: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

const char *check_fmt_addr(const struct conf_addr *a, uint32_t port, char *buf, size_t len)
{
	char ip[64];

	addr_format((enum ulvs_af)a->af, &a->a, ip, sizeof(ip));
	if (a->af == ULVS_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

socklen_t check_sockaddr(const struct conf_addr *a, uint32_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == ULVS_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a->a.ip6, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	s4->sin_addr.s_addr = a->a.ip;
	return sizeof(*s4);
}

int check_socket(const struct checker *c, int type, int proto)
{
	const struct conf_checker *cc = c->cc;
	int family = cc->connect_ip.af == ULVS_AF_INET6 ? AF_INET6 : AF_INET;
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int r;

	if (fd < 0)
		return -errno;
	if (cc->fwmark) {
		int mark = (int)cc->fwmark;
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			goto fail;
	}
	if (cc->bind_if &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cc->bind_if, (socklen_t)strlen(cc->bind_if)) < 0)
		goto fail;
	if (cc->bindto.af || cc->bind_port) {
		struct sockaddr_storage ss;
		struct conf_addr any = { .af = cc->connect_ip.af };
		socklen_t sl = check_sockaddr(cc->bindto.af ? &cc->bindto : &any, cc->bind_port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
			goto fail;
	}
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

uint64_t check_time_left_ms(const struct checker *c, uint32_t timeout_ms)
{
	uint64_t now = ev_now_ns(c->k->loop);
	uint64_t due = c->run_start_ns + (uint64_t)timeout_ms * NS_PER_MS;
	return due > now ? (due - now + NS_PER_MS - 1) / NS_PER_MS : 1;
}

/* Run a keepalived script line (notify_up, quorum_down, ...) without
 * waiting: no shell, as keepalived does it. */
static void run_script(struct check *k, const char *line, const char *what)
{
	char *copy, *argv[CHECK_MAX_ARGV + 1];
	int argc;
	pid_t pid;

	if (!line || !*line)
		return;
	copy = strdup(line);
	if (!copy) {
		check_log(k, "%s: out of memory, not run: %s", what, line);
		return;
	}
	argc = ev_split_cmdline(copy, argv, CHECK_MAX_ARGV);
	if (argc <= 0) {
		check_log(k, "%s: cannot parse script line: %s", what, line);
		free(copy);
		return;
	}
	pid = ev_spawn(k->loop, argv, 0, NULL, NULL);
	if (pid < 0)
		check_log(k, "%s: cannot run %s: %s", what, argv[0], strerror(-(int)pid));
	free(copy);
}

/* ---- effects ------------------------------------------------------------ */

static bool rs_alive(const struct check_rs *rs)
{
	return check_rs_alive(&rs->agg);
}

static uint64_t vs_live_weight(const struct check *k, const struct check_vs *vs)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < k->n_rs; i++) {
		const struct check_rs *rs = &k->rs[i];
		if (rs->vs == vs && rs_alive(rs) && rs->weight > 0)
			sum += (uint64_t)rs->weight;
	}
	return sum;
}

/* Tell the director what a server should be: alive, and not pulled out by
 * a lost quorum that brought in the sorry server. */
static void rs_push(struct check *k, struct check_rs *rs)
{
	bool want = rs_alive(rs) && (rs->vs->quorum_up || !rs->vs->cv->has_sorry);
	int r;

	if (want == rs->pushed_up)
		return;
	r = director_rs_set_up(k->d, rs->vs->cv, rs->cr, want);
	if (r < 0 && r != -ENOENT) {
		check_log(k, "real server %s of VS %s: director refused %s: %s", rs->name,
			  rs->vs->name, want ? "up" : "down", strerror(-r));
		return;
	}
	rs->pushed_up = want;
}

static void vs_push_all(struct check *k, struct check_vs *vs)
{
	for (unsigned i = 0; i < k->n_rs; i++)
		if (k->rs[i].vs == vs)
			rs_push(k, &k->rs[i]);
}

static void vs_quorum_update(struct check *k, struct check_vs *vs)
{
	const struct conf_vs *cv = vs->cv;
	uint64_t sum = vs_live_weight(k, vs);
	enum check_quorum_change ch = check_quorum_step(&vs->quorum_up, sum, cv->quorum,
							cv->hysteresis);

	if (ch == CHECK_QUORUM_GAINED) {
		check_log(k, "VS %s: gained quorum: live weight %" PRIu64 " >= %u+%u%s", vs->name,
			  sum, cv->quorum, cv->hysteresis,
			  cv->has_sorry ? "; sorry server out, alive servers back" : "");
		run_script(k, cv->quorum_up, "quorum_up");
	} else if (ch == CHECK_QUORUM_LOST) {
		check_log(k, "VS %s: lost quorum: live weight %" PRIu64 " < %u-%u%s", vs->name, sum,
			  cv->quorum, cv->hysteresis,
			  cv->has_sorry ? "; alive servers out, sorry server in" : "");
		run_script(k, cv->quorum_down, "quorum_down");
	}
	vs_push_all(k, vs);
}

static void rs_changed(struct check *k, struct check_rs *rs, const struct checker *by)
{
	bool alive = rs_alive(rs);

	check_log(k, "real server %s of VS %s: %s (%s: %s)", rs->name, rs->vs->name,
		  alive ? "UP" : "DOWN", by->name, by->last_reason);
	run_script(k, alive ? rs->cr->notify_up : rs->cr->notify_down,
		   alive ? "notify_up" : "notify_down");
	rs_push(k, rs);
	vs_quorum_update(k, rs->vs);
}

void check_set_weight(struct checker *c, int32_t weight)
{
	struct check *k = c->k;
	struct check_rs *rs = c->rs;
	int r;

	if (weight < 0)
		weight = 0;
	if (weight == rs->weight)
		return;
	check_log(k, "real server %s of VS %s: weight %d -> %d (%s)", rs->name, rs->vs->name,
		  rs->weight, weight, c->name);
	rs->weight = weight;
	r = director_rs_set_weight(k->d, rs->vs->cv, rs->cr, weight);
	if (r < 0 && r != -ENOENT)
		check_log(k, "real server %s: director refused weight %d: %s", rs->name, weight,
			  strerror(-r));
	vs_quorum_update(k, rs->vs);
}

/* ---- running checkers --------------------------------------------------- */

static void run_cb(struct evloop *l, void *arg);

static void schedule(struct checker *c, uint64_t at_ns)
{
	uint64_t now = ev_now_ns(c->k->loop);
	uint64_t ms = at_ns > now ? (at_ns - now + NS_PER_MS - 1) / NS_PER_MS : 0;

	c->next_ns = at_ns;
	c->timer = ev_timer_add(c->k->loop, ms, run_cb, c);
	if (!c->timer)
		check_log(c->k, "%s: cannot schedule the next check (out of memory); stopped",
			  c->name);
}

static void run_cb(struct evloop *l, void *arg)
{
	struct checker *c = arg;

	c->timer = NULL;
	if (c->k->stopping)
		return;
	c->running = true;
	c->run_start_ns = ev_now_ns(l);
	c->n_runs++;
	c->ops->run(c);
}

static const char *result_name(enum check_result r)
{
	switch (r) {
	case CHECK_RESULT_OK: return "OK";
	case CHECK_RESULT_FAIL: return "FAIL";
	case CHECK_RESULT_TIMEOUT: return "TIMEOUT";
	}
	return "?";
}

void check_report(struct checker *c, enum check_result r, const char *fmt, ...)
{
	struct check *k = c->k;
	struct check_fsm_out o;
	bool was_up = c->fsm.up;
	va_list ap;

	if (!c->running)
		return; /* a type reporting twice is a bug; ignore the second */
	c->running = false;
	c->last = r;
	c->have_last = true;
	c->last_ns = ev_now_ns(k->loop);
	if (r != CHECK_RESULT_OK)
		c->n_fail++;
	va_start(ap, fmt);
	vsnprintf(c->last_reason, sizeof(c->last_reason), fmt, ap);
	va_end(ap);
	if (k->stopping)
		return;

	o = check_fsm_step(&c->fsm, &c->cfg, r, c->last_ns);
	if (o.changed) {
		if (c->fsm.up)
			check_log(k, "%s of VS %s: UP (%s)", c->name, c->rs->vs->name, c->last_reason);
		else
			check_log(k, "%s of VS %s: DOWN after %u retr%s (%s: %s)", c->name,
				  c->rs->vs->name, c->cfg.retry, c->cfg.retry == 1 ? "y" : "ies",
				  result_name(r), c->last_reason);
		if (check_rs_update(&c->rs->agg, was_up, c->fsm.up))
			rs_changed(k, c->rs, c);
	} else if (o.first) {
		/* alpha: started down and the first check agrees */
		check_log(k, "%s of VS %s: stays DOWN at start (%s: %s)", c->name, c->rs->vs->name,
			  result_name(r), c->last_reason);
		if (!rs_alive(c->rs))
			run_script(k, c->rs->cr->notify_down, "notify_down");
	} else if (o.retrying && c->cc->log_all_failures) {
		check_log(k, "%s of VS %s: %s (%s), retry %u of %u", c->name, c->rs->vs->name,
			  result_name(r), c->last_reason, c->fsm.retry_it, c->cfg.retry);
	}
	schedule(c, o.next_ns);
}

/* ---- start / stop / status ---------------------------------------------- */

static const struct check_ops *ops_for(enum conf_check_type t)
{
	switch (t) {
	case CHECK_TCP: return &check_tcp_ops;
	case CHECK_HTTP: return &check_http_ops;
	case CHECK_SSL: return &check_ssl_ops;
	case CHECK_MISC: return &check_misc_ops;
	case CHECK_UDP: return &check_udp_ops;
	case CHECK_DNS: return &check_dns_ops;
	case CHECK_PING: return &check_ping_ops;
	default: return NULL;
	}
}

static void vs_name(const struct conf *c, const struct conf_vs *cv, char *buf, size_t len)
{
	switch (cv->kind) {
	case CONF_VS_FWMARK:
		snprintf(buf, len, "FWM %u", cv->fwmark);
		break;
	case CONF_VS_GROUP:
		snprintf(buf, len, "group %s:%u", cv->group ? cv->group : "?", cv->port);
		break;
	default:
		check_fmt_addr(&cv->addr, cv->port, buf, len);
	}
	(void)c;
}

static uint64_t ms_ns(uint32_t ms)
{
	return (uint64_t)ms * NS_PER_MS;
}

static void checker_setup(struct check *k, struct checker *c, struct check_rs *rs,
			  const struct conf_checker *cc)
{
	char where[64];
	int r;

	c->k = k;
	c->rs = rs;
	c->cc = cc;
	c->ops = ops_for(cc->type);
	c->cfg = (struct check_fsm_cfg){
		.delay_loop_ns = ms_ns(cc->delay_loop_ms),
		.delay_before_retry_ns = ms_ns(cc->delay_before_retry_ms),
		.warmup_ns = ms_ns(cc->warmup_ms),
		.retry = cc->retry,
		.alpha = cc->alpha,
	};
	if (cc->type == CHECK_MISC)
		snprintf(c->name, sizeof(c->name), "MISC_CHECK %s on %s",
			 cc->misc_path ? cc->misc_path : "?", rs->name);
	else if (cc->type == CHECK_PING)
		snprintf(c->name, sizeof(c->name), "PING_CHECK %s",
			 addr_format((enum ulvs_af)cc->connect_ip.af, &cc->connect_ip.a, where,
				     sizeof(where)));
	else
		snprintf(c->name, sizeof(c->name), "%s %s", conf_check_type_name(cc->type),
			 check_fmt_addr(&cc->connect_ip, cc->connect_port, where, sizeof(where)));
	check_fsm_init(&c->fsm, &c->cfg);
	if (!c->ops) {
		c->disabled = true;
		snprintf(c->last_reason, sizeof(c->last_reason), "checker type not supported by ulvs");
		check_log(k, "%s:%u:%u: %s: not supported by ulvs; ignored for %s", cc->loc.file,
			  cc->loc.line, cc->loc.col, conf_check_type_name(cc->type), rs->name);
		return;
	}
	r = c->ops->init ? c->ops->init(c) : 0;
	if (r < 0) {
		if (c->ops->fini)
			c->ops->fini(c);
		c->disabled = true;
		snprintf(c->last_reason, sizeof(c->last_reason), "cannot start: %s", strerror(-r));
		check_log(k, "%s: cannot start: %s; ignored", c->name, strerror(-r));
	}
}

struct check *check_start(struct director *d, const struct conf *conf)
{
	struct check *k = calloc(1, sizeof(*k));
	unsigned n_rs = 0, n_ck = 0, ri = 0, ci = 0;
	uint64_t now;

	if (!k)
		return NULL;
	k->d = d;
	k->conf = conf;
	k->loop = director_loop(d);
	k->log = director_log(d);
	for (unsigned v = 0; v < conf->n_vs; v++) {
		n_rs += conf->vs[v].n_rs;
		for (unsigned r = 0; r < conf->vs[v].n_rs; r++)
			n_ck += conf->vs[v].rs[r].n_checkers;
	}
	k->vs = calloc(conf->n_vs ? conf->n_vs : 1, sizeof(*k->vs));
	k->rs = calloc(n_rs ? n_rs : 1, sizeof(*k->rs));
	k->ck = calloc(n_ck ? n_ck : 1, sizeof(*k->ck));
	if (!k->vs || !k->rs || !k->ck) {
		check_log(k, "out of memory: no health checks");
		free(k->vs);
		free(k->rs);
		free(k->ck);
		free(k);
		return NULL;
	}
	now = ev_now_ns(k->loop);
	/* Deterministic per run but different between runs and hosts. */
	k->rng = now ^ ((uint64_t)getpid() << 32) ^ 0x2545f4914f6cdd1dull;
	k->n_vs = conf->n_vs;

	for (unsigned v = 0; v < conf->n_vs; v++) {
		const struct conf_vs *cv = &conf->vs[v];
		struct check_vs *vs = &k->vs[v];

		vs->cv = cv;
		vs->k = k;
		vs_name(conf, cv, vs->name, sizeof(vs->name));
		for (unsigned r = 0; r < cv->n_rs; r++) {
			const struct conf_rs *cr = &cv->rs[r];
			struct check_rs *rs = &k->rs[ri++];

			rs->cr = cr;
			rs->vs = vs;
			rs->weight = cr->weight;
			rs->pushed_up = true; /* the director starts with all healthy */
			check_fmt_addr(&cr->addr, cr->port, rs->name, sizeof(rs->name));
			for (unsigned j = 0; j < cr->n_checkers; j++) {
				struct checker *c = &k->ck[ci++];
				checker_setup(k, c, rs, &cr->checkers[j]);
				if (c->disabled)
					continue;
				rs->agg.n_checkers++;
				if (!c->fsm.up)
					rs->agg.n_failed++;
			}
		}
	}
	k->n_rs = ri;
	k->n_ck = ci;

	/* Initial state (keepalived's init_services): alpha servers are out
	 * until a check passes; the quorum is judged on what is left, and a
	 * service starting without it brings in its sorry server. */
	for (unsigned v = 0; v < k->n_vs; v++) {
		struct check_vs *vs = &k->vs[v];
		const struct conf_vs *cv = vs->cv;
		uint64_t sum = vs_live_weight(k, vs);

		vs->quorum_up = check_quorum_initial(sum, cv->quorum, cv->hysteresis);
		for (unsigned i = 0; i < k->n_rs; i++) {
			struct check_rs *rs = &k->rs[i];
			if (rs->vs == vs && !rs_alive(rs))
				check_log(k, "real server %s of VS %s: DOWN at start (alpha)", rs->name,
					  vs->name);
		}
		if (!vs->quorum_up && cv->has_sorry) {
			check_log(k, "VS %s: starting with quorum down: live weight %" PRIu64
				  " < %u+%u; sorry server in", vs->name, sum, cv->quorum, cv->hysteresis);
			run_script(k, cv->quorum_down, "quorum_down");
		}
		vs_push_all(k, vs);
	}
	for (unsigned i = 0; i < k->n_ck; i++) {
		struct checker *c = &k->ck[i];
		if (!c->disabled)
			schedule(c, check_fsm_first_run(&c->cfg, now, &k->rng));
	}
	check_log(k, "%u checker%s on %u real server%s started", k->n_ck, k->n_ck == 1 ? "" : "s",
		  k->n_rs, k->n_rs == 1 ? "" : "s");
	return k;
}

void check_stop(struct check *k)
{
	if (!k)
		return;
	k->stopping = true;
	for (unsigned i = 0; i < k->n_ck; i++) {
		struct checker *c = &k->ck[i];
		if (c->timer)
			ev_timer_cancel(k->loop, c->timer);
		c->timer = NULL;
		if (c->running && c->ops && c->ops->abort)
			c->ops->abort(c);
		c->running = false;
		if (!c->disabled && c->ops && c->ops->fini)
			c->ops->fini(c);
	}
	/* omega: keepalived runs the down notifiers of what was up on the way out. */
	for (unsigned v = 0; v < k->n_vs; v++) {
		struct check_vs *vs = &k->vs[v];
		if (!vs->cv->omega)
			continue;
		for (unsigned i = 0; i < k->n_rs; i++) {
			struct check_rs *rs = &k->rs[i];
			if (rs->vs == vs && rs_alive(rs))
				run_script(k, rs->cr->notify_down, "notify_down (omega)");
		}
		if (vs->quorum_up)
			run_script(k, vs->cv->quorum_down, "quorum_down (omega)");
	}
	free(k->ck);
	free(k->rs);
	free(k->vs);
	free(k);
}

static void fmt_reason(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in && o + 2 < len; in++)
		out[o++] = (*in == '"' || *in == '\n') ? '\'' : *in;
	out[o] = 0;
}

void check_status(const struct check *k, FILE *out)
{
	uint64_t now = ev_now_ns(k->loop);
	char reason[200];

	for (unsigned i = 0; i < k->n_ck; i++) {
		const struct checker *c = &k->ck[i];
		const char *state = c->disabled ? "IGNORED" : c->fsm.up ? "UP" : "DOWN";
		fmt_reason(c->last_reason, reason, sizeof(reason));
		fprintf(out, "checker vs=%s rs=%s type=%s state=%s last=%s reason=\"%s\" "
			"age_ms=%" PRIu64 " retry=%u/%u runs=%" PRIu64 " fails=%" PRIu64 "%s\n",
			c->rs->vs->name, c->rs->name, conf_check_type_name(c->cc->type), state,
			c->have_last ? result_name(c->last) : "NONE", reason,
			c->have_last ? (uint64_t)((now - c->last_ns) / NS_PER_MS) : 0, c->fsm.retry_it,
			c->cfg.retry, c->n_runs, c->n_fail, c->running ? " running" : "");
	}
	for (unsigned i = 0; i < k->n_rs; i++) {
		const struct check_rs *rs = &k->rs[i];
		fprintf(out, "realserver vs=%s rs=%s state=%s in_pool=%s weight=%d checkers=%u "
			"failed=%u\n", rs->vs->name, rs->name, rs_alive(rs) ? "UP" : "DOWN",
			rs->pushed_up ? "yes" : "no", rs->weight, rs->agg.n_checkers, rs->agg.n_failed);
	}
	for (unsigned v = 0; v < k->n_vs; v++) {
		const struct check_vs *vs = &k->vs[v];
		fprintf(out, "virtualserver vs=%s quorum=%s live_weight=%" PRIu64 " need=%u "
			"hysteresis=%u sorry=%s\n", vs->name, vs->quorum_up ? "UP" : "DOWN",
			vs_live_weight(k, vs), vs->cv->quorum, vs->cv->hysteresis,
			!vs->cv->has_sorry ? "none" : (vs->quorum_up ? "standby" : "active"));
	}
}

/* ---- reload: carry checkers over ---------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool caddr_eq(const struct conf_addr *a, const struct conf_addr *b)
{
	return a->af == b->af && (!a->af || addr_eq(&a->a, &b->a));
}

static bool url_eq(const struct conf_url *a, const struct conf_url *b)
{
	if (!str_eq(a->path, b->path) || !str_eq(a->digest, b->digest) ||
	    !str_eq(a->virtualhost, b->virtualhost) || !str_eq(a->regex, b->regex) ||
	    a->regex_no_match != b->regex_no_match || a->n_status != b->n_status)
		return false;
	for (unsigned i = 0; i < a->n_status; i++)
		if (a->status_lo[i] != b->status_lo[i] || a->status_hi[i] != b->status_hi[i])
			return false;
	return true;
}

bool check_conf_equal(const struct conf_checker *a, const struct conf_checker *b)
{
	if (a->type != b->type || !caddr_eq(&a->connect_ip, &b->connect_ip) ||
	    a->connect_port != b->connect_port || !caddr_eq(&a->bindto, &b->bindto) ||
	    a->bind_port != b->bind_port || !str_eq(a->bind_if, b->bind_if) ||
	    a->connect_timeout_ms != b->connect_timeout_ms || a->fwmark != b->fwmark)
		return false;
	if (a->retry != b->retry || a->delay_before_retry_ms != b->delay_before_retry_ms ||
	    a->warmup_ms != b->warmup_ms || a->delay_loop_ms != b->delay_loop_ms ||
	    a->alpha != b->alpha || a->log_all_failures != b->log_all_failures)
		return false;
	if (a->n_urls != b->n_urls || !str_eq(a->virtualhost, b->virtualhost) ||
	    !str_eq(a->http_protocol, b->http_protocol) || a->enable_sni != b->enable_sni ||
	    a->fast_recovery != b->fast_recovery)
		return false;
	for (unsigned i = 0; i < a->n_urls; i++)
		if (!url_eq(&a->urls[i], &b->urls[i]))
			return false;
	return str_eq(a->helo_name, b->helo_name) && str_eq(a->dns_type, b->dns_type) &&
	       str_eq(a->dns_name, b->dns_name) && str_eq(a->misc_path, b->misc_path) &&
	       a->misc_timeout_ms == b->misc_timeout_ms && a->misc_dynamic == b->misc_dynamic &&
	       str_eq(a->user, b->user) && str_eq(a->payload, b->payload) &&
	       a->require_reply == b->require_reply &&
	       a->min_reply_length == b->min_reply_length &&
	       a->max_reply_length == b->max_reply_length && str_eq(a->track_file, b->track_file) &&
	       a->file_weight == b->file_weight && a->reverse == b->reverse &&
	       str_eq(a->bfd_name, b->bfd_name);
}

/* The identity of a virtual server across configs: what IPVS keys it by. */
static bool vs_same(const struct conf_vs *a, const struct conf_vs *b)
{
	if (a->kind != b->kind || a->af != b->af)
		return false;
	switch (a->kind) {
	case CONF_VS_FWMARK:
		return a->fwmark == b->fwmark;
	case CONF_VS_GROUP:
		return str_eq(a->group, b->group) && a->proto == b->proto && a->port == b->port;
	default:
		return a->proto == b->proto && a->port == b->port && caddr_eq(&a->addr, &b->addr);
	}
}

static bool rs_same(const struct conf_rs *a, const struct conf_rs *b)
{
	return a->port == b->port && caddr_eq(&a->addr, &b->addr);
}

/* Release a checker that is not carried over (or whose state was copied):
 * no report, no notify. */
static void checker_drop(struct check *k, struct checker *c)
{
	if (c->timer)
		ev_timer_cancel(k->loop, c->timer);
	c->timer = NULL;
	if (c->running && c->ops && c->ops->abort)
		c->ops->abort(c);
	c->running = false;
	if (!c->disabled && c->ops && c->ops->fini)
		c->ops->fini(c);
}

int check_reload(struct check *k, const struct conf *conf)
{
	unsigned n_rs = 0, n_ck = 0, ri = 0, ci = 0, carried = 0, started = 0;
	struct check_vs *nvs;
	struct check_rs *nrs;
	struct checker *nck;
	bool *taken, *vs_new;
	uint64_t now = ev_now_ns(k->loop);

	for (unsigned v = 0; v < conf->n_vs; v++) {
		n_rs += conf->vs[v].n_rs;
		for (unsigned r = 0; r < conf->vs[v].n_rs; r++)
			n_ck += conf->vs[v].rs[r].n_checkers;
	}
	nvs = calloc(conf->n_vs ? conf->n_vs : 1, sizeof(*nvs));
	nrs = calloc(n_rs ? n_rs : 1, sizeof(*nrs));
	nck = calloc(n_ck ? n_ck : 1, sizeof(*nck));
	taken = calloc(k->n_ck ? k->n_ck : 1, sizeof(*taken));
	vs_new = calloc(conf->n_vs ? conf->n_vs : 1, sizeof(*vs_new));
	if (!nvs || !nrs || !nck || !taken || !vs_new) {
		free(nvs);
		free(nrs);
		free(nck);
		free(taken);
		free(vs_new);
		check_log(k, "reload: out of memory; checkers stay on the previous config");
		return -ENOMEM;
	}

	for (unsigned v = 0; v < conf->n_vs; v++) {
		const struct conf_vs *cv = &conf->vs[v];
		struct check_vs *vs = &nvs[v], *ovs = NULL;

		vs->cv = cv;
		vs->k = k;
		vs_name(conf, cv, vs->name, sizeof(vs->name));
		for (unsigned i = 0; i < k->n_vs && !ovs; i++)
			if (vs_same(k->vs[i].cv, cv))
				ovs = &k->vs[i];
		vs_new[v] = !ovs;
		if (ovs)
			vs->quorum_up = ovs->quorum_up;
		for (unsigned r = 0; r < cv->n_rs; r++) {
			const struct conf_rs *cr = &cv->rs[r];
			struct check_rs *rs = &nrs[ri++], *ors = NULL;

			rs->cr = cr;
			rs->vs = vs;
			rs->weight = cr->weight;
			rs->pushed_up = true; /* as director_reload() starts a new server */
			check_fmt_addr(&cr->addr, cr->port, rs->name, sizeof(rs->name));
			for (unsigned i = 0; ovs && i < k->n_rs && !ors; i++)
				if (k->rs[i].vs == ovs && rs_same(k->rs[i].cr, cr))
					ors = &k->rs[i];
			rs->fresh = !ors;
			if (ors) {
				rs->pushed_up = ors->pushed_up;
				if (ors->cr->weight == cr->weight)
					rs->weight = ors->weight; /* misc_dynamic's */
			}
			for (unsigned j = 0; j < cr->n_checkers; j++) {
				struct checker *c = &nck[ci++], *oc = NULL;

				checker_setup(k, c, rs, &cr->checkers[j]);
				for (unsigned i = 0; ors && i < k->n_ck && !oc; i++)
					if (!taken[i] && k->ck[i].rs == ors && !k->ck[i].disabled &&
					    check_conf_equal(k->ck[i].cc, c->cc))
						oc = &k->ck[i];
				if (c->disabled)
					continue;
				if (oc) {
					taken[oc - k->ck] = true;
					c->fsm = oc->fsm;
					c->last = oc->last;
					c->have_last = oc->have_last;
					memcpy(c->last_reason, oc->last_reason, sizeof(c->last_reason));
					c->last_ns = oc->last_ns;
					c->n_runs = oc->n_runs;
					c->n_fail = oc->n_fail;
					/* the schedule goes on; a run in flight starts over now */
					c->next_ns = oc->running ? now : oc->timer ? oc->next_ns : 0;
					carried++;
				} else {
					c->next_ns = check_fsm_first_run(&c->cfg, now, &k->rng);
					started++;
				}
				rs->agg.n_checkers++;
				if (!c->fsm.up)
					rs->agg.n_failed++;
			}
		}
	}

	/* The old checkers go (their state, where wanted, is copied); they may
	 * read the previous config, which the caller frees only after this. */
	for (unsigned i = 0; i < k->n_ck; i++)
		checker_drop(k, &k->ck[i]);
	check_log(k, "reload: %u checker%s carried over, %u started, %u stopped", carried,
		  carried == 1 ? "" : "s", started, k->n_ck - carried);
	free(k->ck);
	free(k->rs);
	free(k->vs);
	free(taken);
	k->conf = conf;
	k->vs = nvs;
	k->n_vs = conf->n_vs;
	k->rs = nrs;
	k->n_rs = ri;
	k->ck = nck;
	k->n_ck = ci;

	for (unsigned v = 0; v < k->n_vs; v++) {
		struct check_vs *vs = &k->vs[v];
		const struct conf_vs *cv = vs->cv;

		for (unsigned i = 0; i < k->n_rs; i++)
			if (k->rs[i].vs == vs && k->rs[i].fresh && !rs_alive(&k->rs[i]))
				check_log(k, "real server %s of VS %s: DOWN at start (alpha)",
					  k->rs[i].name, vs->name);
		if (vs_new[v]) {
			uint64_t sum = vs_live_weight(k, vs);

			vs->quorum_up = check_quorum_initial(sum, cv->quorum, cv->hysteresis);
			if (!vs->quorum_up && cv->has_sorry) {
				check_log(k, "VS %s: starting with quorum down: live weight %" PRIu64
					  " < %u+%u; sorry server in", vs->name, sum, cv->quorum,
					  cv->hysteresis);
				run_script(k, cv->quorum_down, "quorum_down");
			}
			vs_push_all(k, vs);
		} else {
			/* a changed quorum or a new/removed server may move it */
			vs_quorum_update(k, vs);
		}
	}
	free(vs_new);
	for (unsigned i = 0; i < k->n_ck; i++) {
		struct checker *c = &k->ck[i];

		if (!c->disabled && c->next_ns)
			schedule(c, c->next_ns);
	}
	return 0;
}
