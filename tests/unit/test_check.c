/* Health checkers: the state machine with virtual time, then every checker
 * type for real on the event loop against servers on 127.0.0.1, with the
 * director (replay tables) showing the effects.
 *
 * The virtual-time tests model a server that fails at an arbitrary moment
 * and a check that takes its full timeout to fail, and assert detection
 * within check_fsm_detect_bound() - and that the bound is reached, so it is
 * not loose.  The live tests use delays of tens of milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "check/check.h"
#include "check/check_fsm.h"
#include "core/service.h"
#include "daemon/director.h"
#include "daemon/evloop.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* ---- state machine, virtual time --------------------------------------- */

static struct check_fsm_cfg cfg_of(uint32_t retry, bool alpha)
{
	return (struct check_fsm_cfg){ .delay_loop_ns = 1 * SEC, .delay_before_retry_ns = 500 * MS,
				       .warmup_ns = 0, .retry = retry, .alpha = alpha };
}

static void test_fsm_start_one_failure_enough(void **state)
{
	struct check_fsm_cfg cfg = cfg_of(3, false);
	struct check_fsm f;
	check_fsm_init(&f, &cfg);
	assert_true(f.up);
	/* before any success, the first failure takes it down (keepalived) */
	struct check_fsm_out o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, 100);
	assert_true(o.changed);
	assert_false(f.up);
	assert_int_equal(o.next_ns, 100 + cfg.delay_loop_ns);
}

static void test_fsm_retries_then_down_then_up(void **state)
{
	struct check_fsm_cfg cfg = cfg_of(2, false);
	struct check_fsm f;
	struct check_fsm_out o;
	uint64_t t = 0;

	check_fsm_init(&f, &cfg);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_OK, t);
	assert_false(o.changed);
	assert_true(f.up);
	assert_int_equal(o.next_ns, t + cfg.delay_loop_ns);
	for (int i = 1; i <= 2; i++) {
		t += SEC;
		o = check_fsm_step(&f, &cfg, i == 1 ? CHECK_RESULT_TIMEOUT : CHECK_RESULT_FAIL, t);
		assert_true(o.retrying);
		assert_false(o.changed);
		assert_true(f.up);
		assert_int_equal(o.next_ns, t + cfg.delay_before_retry_ns);
	}
	t += SEC;
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t);
	assert_true(o.changed);
	assert_false(f.up);
	assert_int_equal(o.next_ns, t + cfg.delay_loop_ns);
	/* down: failures keep counting retries, no change */
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t + SEC);
	assert_false(o.changed);
	assert_true(o.retrying);
	/* one success is enough to come back, and resets the count */
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_OK, t + 2 * SEC);
	assert_true(o.changed);
	assert_true(f.up);
	assert_int_equal(f.retry_it, 0);
	/* a success in the middle of a run of failures resets it too */
	check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t + 3 * SEC);
	check_fsm_step(&f, &cfg, CHECK_RESULT_OK, t + 4 * SEC);
	check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t + 5 * SEC);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t + 6 * SEC);
	assert_true(f.up);
	assert_true(o.retrying);
}

static void test_fsm_alpha(void **state)
{
	struct check_fsm_cfg cfg = cfg_of(1, true);
	struct check_fsm f;
	struct check_fsm_out o;

	check_fsm_init(&f, &cfg);
	assert_false(f.up);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, 0);
	assert_false(o.changed);
	assert_true(o.first);     /* notify_down once for a server that never came up */
	assert_false(f.up);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, SEC);
	assert_false(o.first);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, 2 * SEC);
	assert_false(o.first);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_OK, 3 * SEC);
	assert_true(o.changed);
	assert_true(f.up);

	/* alpha whose first check passes comes up at once */
	check_fsm_init(&f, &cfg);
	o = check_fsm_step(&f, &cfg, CHECK_RESULT_OK, 0);
	assert_true(o.changed);
	assert_true(f.up);
}

static void test_fsm_warmup_deterministic(void **state)
{
	struct check_fsm_cfg cfg = cfg_of(1, false);
	uint64_t a = 42, b = 42, seen_low = 0, seen_high = 0;

	cfg.warmup_ns = 2 * SEC;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = check_fsm_first_run(&cfg, 5 * SEC, &a);
		uint64_t y = check_fsm_first_run(&cfg, 5 * SEC, &b);
		assert_int_equal(x, y);          /* same seed, same sequence */
		assert_true(x >= 5 * SEC && x <= 7 * SEC);
		seen_low += x < 6 * SEC;
		seen_high += x >= 6 * SEC;
	}
	/* spread over the window, not stuck at one end */
	assert_true(seen_low > 300 && seen_high > 300);
	cfg.warmup_ns = 0;
	assert_int_equal(check_fsm_first_run(&cfg, 5 * SEC, &a), 5 * SEC);
}

/* A server that dies at fail_at; every check takes check_ns when it
 * succeeds and timeout_ns when it fails.  Returns when the checker went
 * down, or UINT64_MAX. */
static uint64_t simulate_detection(const struct check_fsm_cfg *cfg, uint64_t fail_at,
				   uint64_t check_ns, uint64_t timeout_ns)
{
	struct check_fsm f;
	uint64_t t = 0;

	check_fsm_init(&f, cfg);
	for (int i = 0; i < 10000; i++) {
		bool ok = t < fail_at;
		uint64_t done = t + (ok ? check_ns : timeout_ns);
		struct check_fsm_out o = check_fsm_step(&f, cfg, ok ? CHECK_RESULT_OK : CHECK_RESULT_TIMEOUT,
							done);
		if (o.changed && !f.up)
			return done;
		t = o.next_ns;
	}
	return UINT64_MAX;
}

static void test_fsm_detection_bound(void **state)
{
	for (uint32_t retry = 0; retry <= 3; retry++) {
		struct check_fsm_cfg cfg = cfg_of(retry, false);
		uint64_t timeout = 300 * MS, bound = check_fsm_detect_bound(&cfg, timeout);
		uint64_t worst = 0;

		/* fail at every 10 ms offset within a few check periods */
		for (uint64_t at = 5 * SEC; at < 8 * SEC; at += 10 * MS) {
			uint64_t down = simulate_detection(&cfg, at, 1 * MS, timeout);
			assert_true(down != UINT64_MAX);
			assert_true(down > at);
			assert_true(down - at <= bound);
			if (down - at > worst)
				worst = down - at;
		}
		/* the worst case comes within one sampling step of the bound */
		assert_true(worst + 20 * MS >= bound);
		print_message("retry %u: worst detection %.3f s, bound %.3f s\n", retry,
			      (double)worst / SEC, (double)bound / SEC);
	}
}

static void test_fsm_recovery(void **state)
{
	struct check_fsm_cfg cfg = cfg_of(2, false);
	struct check_fsm f;
	uint64_t t = 0;

	check_fsm_init(&f, &cfg);
	check_fsm_step(&f, &cfg, CHECK_RESULT_FAIL, t);
	assert_false(f.up);
	/* back at 7.3 s; the next check is at most delay_loop away */
	uint64_t back = 7300 * MS;
	struct check_fsm_out o = { .next_ns = cfg.delay_loop_ns };
	for (;;) {
		t = o.next_ns;
		bool ok = t >= back;
		o = check_fsm_step(&f, &cfg, ok ? CHECK_RESULT_OK : CHECK_RESULT_FAIL, t);
		if (o.changed)
			break;
	}
	assert_true(f.up);
	assert_true(t >= back && t - back <= cfg.delay_loop_ns);
}

static void test_rs_aggregate(void **state)
{
	struct check_rs_agg a = { .n_checkers = 2, .n_failed = 0 };

	assert_true(check_rs_alive(&a));
	assert_true(check_rs_update(&a, true, false));    /* one down: server down */
	assert_false(check_rs_alive(&a));
	assert_false(check_rs_update(&a, true, false));   /* second down: no change */
	assert_false(check_rs_update(&a, false, true));   /* one back: still down */
	assert_false(check_rs_alive(&a));
	assert_true(check_rs_update(&a, false, true));    /* all up: up */
	assert_true(check_rs_alive(&a));
	assert_false(check_rs_update(&a, true, true));
	assert_int_equal(a.n_failed, 0);
}

static void test_quorum_hysteresis(void **state)
{
	bool up;

	/* quorum 3, hysteresis 1: up at >= 4 from below, down at < 2 */
	up = check_quorum_initial(3, 3, 1);
	assert_false(up);
	up = check_quorum_initial(4, 3, 1);
	assert_true(up);
	assert_int_equal(check_quorum_step(&up, 3, 3, 1), CHECK_QUORUM_SAME);
	assert_int_equal(check_quorum_step(&up, 2, 3, 1), CHECK_QUORUM_SAME);
	assert_int_equal(check_quorum_step(&up, 1, 3, 1), CHECK_QUORUM_LOST);
	assert_false(up);
	assert_int_equal(check_quorum_step(&up, 3, 3, 1), CHECK_QUORUM_SAME);
	assert_int_equal(check_quorum_step(&up, 4, 3, 1), CHECK_QUORUM_GAINED);
	assert_true(up);
	/* hysteresis larger than quorum: only an empty pool loses it */
	up = true;
	assert_int_equal(check_quorum_step(&up, 1, 1, 5), CHECK_QUORUM_SAME);
	assert_int_equal(check_quorum_step(&up, 0, 1, 5), CHECK_QUORUM_LOST);
	/* default quorum 1: lost with the last live server, back with one */
	up = check_quorum_initial(2, 1, 0);
	assert_int_equal(check_quorum_step(&up, 0, 1, 0), CHECK_QUORUM_LOST);
	assert_int_equal(check_quorum_step(&up, 1, 1, 0), CHECK_QUORUM_GAINED);
}

/* ---- live: checkers on the event loop ----------------------------------- */

struct env {
	struct evloop *l;
	struct director *d;
	struct check *k;
	char dir[64];
	char logpath[96];
	FILE *log;
	bool (*cond)(struct env *e);
	struct ev_timer *poll;
	bool met;
	int listen_fd[4];
	/* tiny HTTP server: its open connections, closed by env_stop (a
	 * check may still be talking to it when a test ends) */
	int http_fd;
	char last_request[2048];
	struct http_conn *http_conns;
	/* tiny DNS server */
	int dns_fd;
};

static uint16_t free_port(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	return fd;
}

static void env_start(struct env *e, const char *conf_text)
{
	int ne = 0;
	struct conf_load_opts o = { .no_include = true };
	struct conf *c = conf_load_buffer("check.conf", conf_text, strlen(conf_text), &o, stderr,
					  &ne, NULL);
	if (!c)
		fail_msg("config did not load:\n%s", conf_text);
	snprintf(e->logpath, sizeof(e->logpath), "%s/log", e->dir);
	e->log = fopen(e->logpath, "w+");
	assert_non_null(e->log);
	e->l = ev_new();
	assert_non_null(e->l);
	struct director_opts dopts = { .replay = true, .log = e->log };
	e->d = director_new(e->l, &dopts);
	assert_non_null(e->d);
	assert_int_equal(director_load(e->d, c, ev_now_ns(e->l), stderr), 0);
	e->k = check_start(e->d, director_conf(e->d));
	assert_non_null(e->k);
}

static void http_conns_close(struct env *e);

static void env_stop(struct env *e)
{
	http_conns_close(e);
	check_stop(e->k);
	director_free(e->d);
	ev_free(e->l);
	fclose(e->log);
}

static void poll_cb(struct evloop *l, void *arg)
{
	struct env *e = arg;
	e->poll = NULL;
	if (e->cond(e)) {
		e->met = true;
		ev_stop(l, 0);
		return;
	}
	e->poll = ev_timer_add(l, 5, poll_cb, e);
}

static void deadline_cb(struct evloop *l, void *arg)
{
	ev_stop(l, 1);
}

/* Run the loop until cond holds or ms pass; returns the time it took. */
static double run_until(struct env *e, bool (*cond)(struct env *), uint64_t ms)
{
	struct timespec a, b;
	e->cond = cond;
	e->met = false;
	clock_gettime(CLOCK_MONOTONIC, &a);
	e->poll = ev_timer_add(e->l, 0, poll_cb, e);
	struct ev_timer *dl = ev_timer_add(e->l, ms, deadline_cb, e);
	ev_run(e->l);
	if (e->poll)
		ev_timer_cancel(e->l, e->poll);
	e->poll = NULL;
	if (e->met)
		ev_timer_cancel(e->l, dl);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

struct dest_q {
	bool available;
	int32_t weight;
	unsigned n;
};

static void dest_q_cb(void *arg, struct svc *s, struct dest *d)
{
	struct dest_q *q = arg;
	q->available = d->flags & DEST_F_AVAILABLE;
	q->weight = d->weight;
	q->n++;
}

static struct dest_q dest_state(struct env *e, unsigned vs, unsigned rs)
{
	const struct conf *c = director_conf(e->d);
	struct dest_q q = { 0 };
	director_foreach_dest(e->d, &c->vs[vs], &c->vs[vs].rs[rs], dest_q_cb, &q);
	assert_int_equal(q.n, 1);
	return q;
}

static bool usable(struct env *e, unsigned vs, unsigned rs)
{
	struct dest_q q = dest_state(e, vs, rs);
	return q.available && q.weight > 0;
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static char *status_text(struct env *e)
{
	static char buf[16384];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	check_status(e->k, f);
	fclose(f);
	return buf;
}

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->dir, "/tmp/ulvs-test-check.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	for (int i = 0; i < 4; i++)
		e->listen_fd[i] = -1;
	e->http_fd = e->dns_fd = -1;
}

static void env_cleanup(struct env *e)
{
	char cmd[128];
	for (int i = 0; i < 4; i++)
		if (e->listen_fd[i] >= 0)
			close(e->listen_fd[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", e->dir);
}

/* TCP: one server listening, one refusing; the refusing one leaves, comes
 * back when it listens; timing against the configured bound. */
static bool rs1_down(struct env *e) { return !usable(e, 0, 1); }
static bool rs1_up(struct env *e) { return usable(e, 0, 1); }

static void test_live_tcp(void **state)
{
	struct env e;
	char conf[2048];
	uint16_t p_ok = free_port(SOCK_STREAM), p_bad = free_port(SOCK_STREAM);

	env_init(&e);
	e.listen_fd[0] = listen_on(p_ok);
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n"
		 " delay_loop 0.1\n"
		 " real_server 127.0.0.1 %u {\n  TCP_CHECK { connect_timeout 0.2 retry 1 delay_before_retry 0.05 warmup 0 }\n }\n"
		 " real_server 127.0.0.1 %u {\n  TCP_CHECK { connect_timeout 0.2 retry 1 delay_before_retry 0.05 warmup 0 }\n }\n"
		 "}\n", p_ok, p_bad);
	env_start(&e, conf);
	assert_true(usable(&e, 0, 1)); /* no alpha: assumed up until checked */
	double t = run_until(&e, rs1_down, 3000);
	assert_true(e.met);
	/* first failure is enough at start: within warmup(0) + one timeout */
	assert_true(t < 0.2 + 0.1);
	assert_true(usable(&e, 0, 0));
	print_message("refused server out after %.3f s\n", t);

	e.listen_fd[1] = listen_on(p_bad);
	t = run_until(&e, rs1_up, 3000);
	assert_true(e.met);
	assert_true(t < 0.1 + 0.2 + 0.05);  /* next check within delay_loop */
	print_message("back after %.3f s\n", t);

	/* down again after having been up: now the retry applies */
	close(e.listen_fd[1]);
	e.listen_fd[1] = -1;
	t = run_until(&e, rs1_down, 3000);
	assert_true(e.met);
	/* bound: delay_loop + (retry+1) * timeout + retry * delay_before_retry */
	assert_true(t <= 0.1 + 2 * 0.2 + 0.05 + 0.05);
	print_message("down again after %.3f s (bound %.3f s)\n", t, 0.1 + 2 * 0.2 + 0.05);
	assert_true(usable(&e, 0, 0));

	char *st = status_text(&e);
	assert_non_null(strstr(st, "type=TCP_CHECK state=DOWN last=FAIL reason=\"connect: Connection refused\""));
	assert_non_null(strstr(st, "type=TCP_CHECK state=UP last=OK reason=\"connected\""));
	env_stop(&e);
	char *log = read_file(e.logpath);
	assert_non_null(strstr(log, "real server 127.0.0.1:"));
	assert_non_null(strstr(log, ": DOWN (TCP_CHECK 127.0.0.1:"));
	assert_non_null(strstr(log, ": UP (TCP_CHECK 127.0.0.1:"));
	env_cleanup(&e);
}

/* MISC: a hanging script is killed at misc_timeout; misc_dynamic sets the
 * weight from the exit status; notify_down runs. */
static bool misc_done(struct env *e)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/notified", e->dir);
	return !usable(e, 0, 0) && dest_state(e, 0, 1).weight == 5 && !usable(e, 0, 2) &&
	       access(p, F_OK) == 0;
}

static void test_live_misc(void **state)
{
	struct env e;
	char conf[4096];

	env_init(&e);
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n"
		 " real_server 127.0.0.1 81 {\n"
		 "  notify_down \"/bin/sh -c 'touch %s/notified'\"\n"
		 "  MISC_CHECK { misc_path \"/bin/sh -c 'sleep 31.7; exit 0'\" misc_timeout 0.2 warmup 0 }\n }\n"
		 " real_server 127.0.0.1 82 {\n  weight 1\n"
		 "  MISC_CHECK { misc_path \"/bin/sh -c 'exit 7'\" misc_dynamic warmup 0 }\n }\n"
		 " real_server 127.0.0.1 83 {\n"
		 "  MISC_CHECK { misc_path \"/bin/sh -c 'exit 1'\" misc_dynamic warmup 0 }\n }\n"
		 "}\n", e.dir);
	env_start(&e, conf);
	double t = run_until(&e, misc_done, 4000);
	if (!e.met)
		fail_msg("misc state not reached:\n%s", status_text(&e));
	/* killed at 0.2 s, not after the 30 s sleep */
	assert_true(t < 1.5);
	assert_true(usable(&e, 0, 1));
	char *st = status_text(&e);
	assert_non_null(strstr(st, "last=TIMEOUT reason=\"script timed out after 200 ms, killed\""));
	assert_non_null(strstr(st, "reason=\"script exited 7: weight 5\""));
	assert_non_null(strstr(st, "reason=\"script exited 1\""));
	env_stop(&e);
	/* the shell's sleep died with it: no process of that group is left */
	int r = system("pgrep -f '[s]leep 31.7' >/dev/null");
	assert_int_not_equal(WEXITSTATUS(r), 0);
	env_cleanup(&e);
}

/* Quorum: two servers of weight 1, quorum 2, a sorry server.  One server
 * failing loses the quorum: quorum_down runs and the live one is taken out
 * too, so the engine uses the sorry server; recovery reverses it. */
static bool quorum_lost(struct env *e)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/qdown", e->dir);
	return !usable(e, 0, 0) && !usable(e, 0, 1) && access(p, F_OK) == 0;
}

static bool quorum_back(struct env *e)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/qup", e->dir);
	return usable(e, 0, 0) && usable(e, 0, 1) && access(p, F_OK) == 0;
}

static void test_live_quorum(void **state)
{
	struct env e;
	char conf[4096];
	uint16_t p1 = free_port(SOCK_STREAM), p2 = free_port(SOCK_STREAM);

	env_init(&e);
	e.listen_fd[0] = listen_on(p1);
	e.listen_fd[1] = listen_on(p2);
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n"
		 " quorum 2\n"
		 " quorum_down \"/bin/sh -c 'touch %s/qdown'\"\n"
		 " quorum_up \"/bin/sh -c 'touch %s/qup'\"\n"
		 " sorry_server 127.0.0.2 80\n"
		 " real_server 127.0.0.1 %u {\n  TCP_CHECK { connect_timeout 0.2 retry 0 warmup 0 }\n }\n"
		 " real_server 127.0.0.1 %u {\n  TCP_CHECK { connect_timeout 0.2 retry 0 warmup 0 }\n }\n"
		 "}\n", e.dir, e.dir, p1, p2);
	env_start(&e, conf);
	run_until(&e, quorum_lost, 300); /* nothing should happen while both listen */
	assert_false(e.met);
	close(e.listen_fd[1]);
	e.listen_fd[1] = -1;
	run_until(&e, quorum_lost, 3000);
	if (!e.met)
		fail_msg("quorum not lost:\n%s", status_text(&e));
	assert_non_null(strstr(status_text(&e), "quorum=DOWN live_weight=1 need=2 hysteresis=0 sorry=active"));
	e.listen_fd[1] = listen_on(p2);
	run_until(&e, quorum_back, 3000);
	if (!e.met)
		fail_msg("quorum not regained:\n%s", status_text(&e));
	env_stop(&e);
	char *log = read_file(e.logpath);
	assert_non_null(strstr(log, "lost quorum: live weight 1 < 2-0; alive servers out, sorry server in"));
	assert_non_null(strstr(log, "gained quorum: live weight 2 >= 2+0"));
	env_cleanup(&e);
}

/* HTTP: a minimal server on the loop answering "hello"; digest, status and
 * Host header. */
struct http_conn {
	struct env *e;
	struct http_conn *next;
	int fd;
	char buf[2048];
	size_t len;
};

static void http_conn_close(struct evloop *l, struct http_conn *hc)
{
	struct http_conn **pp = &hc->e->http_conns;

	while (*pp != hc)
		pp = &(*pp)->next;
	*pp = hc->next;
	ev_fd_del(l, hc->fd);
	close(hc->fd);
	free(hc);
}

static void http_conns_close(struct env *e)
{
	while (e->http_conns)
		http_conn_close(e->l, e->http_conns);
}

static void http_conn_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct http_conn *hc = arg;
	ssize_t n = read(fd, hc->buf + hc->len, sizeof(hc->buf) - 1 - hc->len);
	if (n > 0) {
		hc->len += (size_t)n;
		hc->buf[hc->len] = 0;
		if (!strstr(hc->buf, "\r\n\r\n"))
			return;
		snprintf(hc->e->last_request, sizeof(hc->e->last_request), "%s", hc->buf);
		const char *resp = strstr(hc->buf, "GET /missing")
			? "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"
			: "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";
		if (write(fd, resp, strlen(resp)) < 0)
			print_message("write: %s\n", strerror(errno));
	} else if (n < 0 && errno == EAGAIN) {
		return;
	}
	http_conn_close(l, hc);
}

static void http_accept_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct env *e = arg;
	int c;
	while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct http_conn *hc = calloc(1, sizeof(*hc));
		assert_non_null(hc);
		*hc = (struct http_conn){ .e = e, .fd = c, .next = e->http_conns };
		e->http_conns = hc;
		assert_int_equal(ev_fd_add(l, c, EV_READ, http_conn_cb, hc), 0);
	}
}

static bool http_settled(struct env *e)
{
	return usable(e, 0, 0) && !usable(e, 0, 1) && !usable(e, 0, 2) && usable(e, 0, 3) &&
	       strstr(status_text(e), "runs=2") != NULL;
}

static void test_live_http(void **state)
{
	struct env e;
	char conf[4096];
	uint16_t p = free_port(SOCK_STREAM);

	env_init(&e);
	/* md5("hello") = 5d41402abc4b2a76b9719d911017c592 */
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n"
		 " real_server 127.0.0.1 %u {\n  HTTP_GET { url { path /ok digest 5D41402ABC4B2A76B9719D911017C592 }\n"
		 "   virtualhost www.example.test connect_timeout 0.5 retry 0 warmup 0 }\n }\n"
		 " real_server 127.0.0.2 %u {\n  HTTP_GET { url { path /ok digest 00000000000000000000000000000000 }\n"
		 "   connect_ip 127.0.0.1 connect_timeout 0.5 retry 0 warmup 0 }\n }\n"
		 " real_server 127.0.0.3 %u {\n  HTTP_GET { url { path /ok } url { path /missing }\n"
		 "   connect_ip 127.0.0.1 connect_timeout 0.5 retry 0 warmup 0 }\n }\n"
		 " real_server 127.0.0.4 %u {\n  HTTP_GET { url { path /missing status_code 404 }\n"
		 "   connect_ip 127.0.0.1 connect_timeout 0.5 retry 0 warmup 0 }\n }\n"
		 "}\n", p, p, p, p);
	int lfd = listen_on(p);
	e.listen_fd[0] = lfd;
	env_start(&e, conf);
	assert_int_equal(ev_fd_add(e.l, lfd, EV_READ, http_accept_cb, &e), 0);
	run_until(&e, http_settled, 4000);
	if (!e.met)
		fail_msg("http state not reached:\n%s", status_text(&e));
	char *st = status_text(&e);
	assert_non_null(strstr(st, "digest 5d41402abc4b2a76b9719d911017c592, want 00000000000000000000000000000000"));
	assert_non_null(strstr(st, "state=DOWN last=FAIL reason=\"GET /missing: status 404\""));
	assert_non_null(strstr(st, "state=UP last=OK reason=\"GET /missing: status 404\""));
	ev_fd_del(e.l, lfd);
	env_stop(&e);
	env_cleanup(&e);
}

/* HTTP: the Host header carries virtualhost. */
static bool got_vhost(struct env *e)
{
	return strstr(e->last_request, "Host: www.example.test\r\n") != NULL;
}

static void test_live_http_vhost(void **state)
{
	struct env e;
	char conf[2048];
	uint16_t p = free_port(SOCK_STREAM);

	env_init(&e);
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n"
		 " real_server 127.0.0.1 %u {\n  HTTP_GET { url { path /ok }\n"
		 "   virtualhost www.example.test http_protocol 1.1 connect_timeout 0.5 warmup 0 }\n }\n"
		 "}\n", p);
	e.listen_fd[0] = listen_on(p);
	env_start(&e, conf);
	assert_int_equal(ev_fd_add(e.l, e.listen_fd[0], EV_READ, http_accept_cb, &e), 0);
	run_until(&e, got_vhost, 3000);
	if (!e.met)
		fail_msg("no request with the virtual host; last:\n%s", e.last_request);
	assert_non_null(strstr(e.last_request, "GET /ok HTTP/1.1\r\n"));
	assert_non_null(strstr(e.last_request, "Connection: close\r\n"));
	ev_fd_del(e.l, e.listen_fd[0]);
	env_stop(&e);
	env_cleanup(&e);
}

/* DNS and UDP: a resolver answering NOERROR for ok.test, NXDOMAIN else; a
 * UDP port nobody listens on (ICMP port unreachable). */
static void dns_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	uint8_t q[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl)) > 0) {
		if (n < 12) {              /* not DNS: echo it (UDP_CHECK) */
			sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&from, fl);
			fl = sizeof(from);
			continue;
		}
		bool ok = memmem(q + 12, (size_t)n - 12, "\x02ok\x04test\x00", 9) != NULL;
		q[2] |= 0x80;                    /* QR */
		q[3] = ok ? 0 : 3;               /* NOERROR / NXDOMAIN */
		sendto(fd, q, (size_t)n, 0, (struct sockaddr *)&from, fl);
		fl = sizeof(from);
	}
}

static bool dns_settled(struct env *e)
{
	return usable(e, 0, 0) && !usable(e, 0, 1) && !usable(e, 1, 0) && usable(e, 1, 1) &&
	       strstr(status_text(e), "runs=2") != NULL;
}

static void test_live_dns_udp(void **state)
{
	struct env e;
	char conf[4096];
	uint16_t p = free_port(SOCK_DGRAM), closed = free_port(SOCK_DGRAM);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	env_init(&e);
	e.dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(e.dns_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	e.listen_fd[0] = e.dns_fd;
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 53 {\n lb_kind NAT\n protocol UDP\n delay_loop 0.1\n"
		 " real_server 127.0.0.1 %u {\n  DNS_CHECK { name ok.test type A retry 0 connect_timeout 0.3 warmup 0 }\n }\n"
		 " real_server 127.0.0.2 %u {\n  DNS_CHECK { connect_ip 127.0.0.1 name bad.test retry 0 connect_timeout 0.3 warmup 0 }\n }\n"
		 "}\n"
		 "virtual_server 10.0.0.100 54 {\n lb_kind NAT\n protocol UDP\n delay_loop 0.1\n"
		 " real_server 127.0.0.1 %u {\n  UDP_CHECK { retry 0 connect_timeout 0.3 warmup 0 payload 0001 }\n }\n"
		 " real_server 127.0.0.2 %u {\n  UDP_CHECK { connect_ip 127.0.0.1 retry 0 connect_timeout 0.3 warmup 0 payload 70696e67 require_reply min_reply_length 4 }\n }\n"
		 "}\n", p, p, closed, p);
	env_start(&e, conf);
	assert_int_equal(ev_fd_add(e.l, e.dns_fd, EV_READ, dns_cb, &e), 0);
	run_until(&e, dns_settled, 4000);
	if (!e.met)
		fail_msg("dns/udp state not reached:\n%s", status_text(&e));
	char *st = status_text(&e);
	assert_non_null(strstr(st, "reason=\"DNS ok.test A: NOERROR, 0 answers\""));
	assert_non_null(strstr(st, "reason=\"DNS bad.test SOA: NXDOMAIN (3)\""));
	assert_non_null(strstr(st, "reason=\"ICMP port unreachable\""));
	assert_non_null(strstr(st, "reply of 4 bytes"));  /* the server echoes the probe */
	ev_fd_del(e.l, e.dns_fd);
	env_stop(&e);
	env_cleanup(&e);
}

/* PING to 127.0.0.1 (ping socket or raw; skipped when neither is allowed). */
static bool ping_settled(struct env *e)
{
	return strstr(status_text(e), "runs=2") != NULL;
}

static void test_live_ping(void **state)
{
	struct env e;
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0)
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		skip();
	close(fd);
	env_init(&e);
	env_start(&e, "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n"
		      " real_server 127.0.0.1 80 {\n  PING_CHECK { connect_timeout 0.3 retry 0 warmup 0 }\n }\n"
		      "}\n");
	run_until(&e, ping_settled, 3000);
	assert_true(e.met);
	assert_true(usable(&e, 0, 0));
	assert_non_null(strstr(status_text(&e), "type=PING_CHECK state=UP last=OK reason=\"echo reply seq"));
	env_stop(&e);
	env_cleanup(&e);
}

/* alpha: the server starts out of the pool and joins after a pass. */
static bool alpha_seen_down_then_up(struct env *e)
{
	return usable(e, 0, 0);
}

static void test_live_alpha(void **state)
{
	struct env e;
	char conf[2048];
	uint16_t p = free_port(SOCK_STREAM);

	env_init(&e);
	e.listen_fd[0] = listen_on(p);
	snprintf(conf, sizeof(conf),
		 "virtual_server 10.0.0.100 80 {\n lb_kind NAT\n protocol TCP\n delay_loop 0.1\n alpha\n"
		 " real_server 127.0.0.1 %u {\n  TCP_CHECK { connect_timeout 0.2 warmup 0.1 }\n }\n"
		 "}\n", p);
	env_start(&e, conf);
	assert_false(usable(&e, 0, 0));  /* out before any check ran */
	double t = run_until(&e, alpha_seen_down_then_up, 2000);
	assert_true(e.met);
	assert_true(t <= 0.1 + 0.2 + 0.05);
	env_stop(&e);
	env_cleanup(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsm_start_one_failure_enough),
		cmocka_unit_test(test_fsm_retries_then_down_then_up),
		cmocka_unit_test(test_fsm_alpha),
		cmocka_unit_test(test_fsm_warmup_deterministic),
		cmocka_unit_test(test_fsm_detection_bound),
		cmocka_unit_test(test_fsm_recovery),
		cmocka_unit_test(test_rs_aggregate),
		cmocka_unit_test(test_quorum_hysteresis),
		cmocka_unit_test(test_live_tcp),
		cmocka_unit_test(test_live_misc),
		cmocka_unit_test(test_live_quorum),
		cmocka_unit_test(test_live_http),
		cmocka_unit_test(test_live_http_vhost),
		cmocka_unit_test(test_live_dns_udp),
		cmocka_unit_test(test_live_ping),
		cmocka_unit_test(test_live_alpha),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
