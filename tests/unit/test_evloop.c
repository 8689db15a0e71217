/* The control thread's event loop: timers in deadline order, and children
 * (ev_spawn) as keepalived's scripts need them: the exit status reaches the
 * callback, stdin is /dev/null, signals are unblocked and at their defaults
 * in the child even though the loop's thread blocks and ignores some, a
 * timeout kills the script's whole process group, an unrunnable path is an
 * error at once, and a cancelled child never calls back.  The wait hooks
 * (the daemon holds its data-plane workers between them) run around every
 * sleep, and ev_release/ev_reacquire let a callback let go meanwhile. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/evloop.h"

struct run {
	int calls;
	int status;
	bool timed_out;
};

static void child_cb(struct evloop *l, pid_t pid, int status, bool timed_out, void *arg)
{
	struct run *r = arg;

	r->calls++;
	r->status = status;
	r->timed_out = timed_out;
	ev_stop(l, 0);
}

static void deadline_cb(struct evloop *l, void *arg)
{
	ev_stop(l, -ETIMEDOUT);
}

/* Run the loop until the child reports or ms pass; returns ev_run's code. */
static int wait_child(struct evloop *l, uint64_t ms)
{
	struct ev_timer *t = ev_timer_add(l, ms, deadline_cb, NULL);
	int r = ev_run(l);

	if (r != -ETIMEDOUT)
		ev_timer_cancel(l, t);
	return r;
}

static int spawn_sh(struct evloop *l, const char *script, uint32_t timeout_ms, struct run *r)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };

	return ev_spawn(l, argv, timeout_ms, child_cb, r);
}

static void test_exit_status(void **state)
{
	struct evloop *l = ev_new();
	struct run r = { 0 };

	assert_true(spawn_sh(l, "exit 7", 0, &r) > 0);
	assert_int_equal(wait_child(l, 5000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 7);
	assert_false(r.timed_out);
	ev_free(l);
}

/* stdin is /dev/null (a script that reads does not steal the daemon's
 * input), no signal is blocked and SIGPIPE is not ignored in the child,
 * whatever the loop's thread has. */
static void test_child_environment(void **state)
{
	struct evloop *l = ev_new();
	struct run r = { 0 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigset_t block, prev;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &prev);
	sigaction(SIGPIPE, &ign, &old);
	assert_true(spawn_sh(l,
		"[ \"$(readlink /proc/self/fd/0)\" = /dev/null ] || exit 2; "
		"grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status || exit 3; "
		"ign=$(awk '/^SigIgn:/ { print $2 }' /proc/self/status); "
		/* glibc's posix_spawn leaves its own two internal signals (32,
		 * 33) ignored; nothing a script uses */
		"[ $((0x$ign & ~0x180000000)) -eq 0 ] || exit 4; "
		"exit 0", 0, &r) > 0);

	sigaction(SIGPIPE, &old, NULL);
	sigprocmask(SIG_SETMASK, &prev, NULL);
	assert_int_equal(wait_child(l, 5000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	ev_free(l);
}

/* Running, not a zombie: a killed grandchild waits for whoever reaps
 * orphans here, which may take its time or never come. */
static bool alive(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *st = strrchr(buf, ')');
	return st && st[1] == ' ' && st[2] != 'Z' && st[2] != 'X';
}

/* At the timeout the script and what it started go: the group is killed.
 * The grandchild writes its pid to a file so the test can look for it. */
static void test_timeout_kills_group(void **state)
{
	struct evloop *l = ev_new();
	struct run r = { 0 };
	char path[] = "/tmp/ulvs-evloop-XXXXXX", script[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", path);
	assert_true(spawn_sh(l, script, 200, &r) > 0);
	assert_int_equal(wait_child(l, 5000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.timed_out);
	assert_true(WIFSIGNALED(r.status));

	FILE *f = fopen(path, "r");
	int gc = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &gc), 1);
	fclose(f);
	unlink(path);
	assert_true(gc > 0);
	/* the grandchild is not ours to reap: give init a moment */
	for (int i = 0; i < 100 && alive(gc); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_false(alive(gc));
	ev_free(l);
}

static void test_unrunnable_path(void **state)
{
	struct evloop *l = ev_new();
	struct run r = { 0 };
	char *missing[] = { "/nonexistent/ulvs-script", NULL };
	char path[] = "/tmp/ulvs-evloop-XXXXXX";
	int fd = mkstemp(path);   /* mode 0600: not executable */
	char *not_exec[] = { path, NULL };

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ev_spawn(l, missing, 0, child_cb, &r), -ENOENT);
	assert_int_equal(ev_spawn(l, not_exec, 0, child_cb, &r), -EACCES);
	assert_int_equal(ev_spawn(l, (char *[]){ NULL }, 0, child_cb, &r), -EINVAL);
	unlink(path);
	assert_int_equal(r.calls, 0);
	ev_free(l);
}

/* The bare start: PATH search without a '/', stdin from a given
 * descriptor, the caller's process group unless asked otherwise. */
static void test_start_child(void **state)
{
	char *argv[] = { "sh", "-c", "read x; [ \"$(ps -o pgid= $$)\" -eq \"$PG\" ] || exit 9; "
			 "exit $x", NULL };
	int pfd[2], st;
	pid_t pid;
	char pg[32];

	snprintf(pg, sizeof(pg), "%d", (int)getpgrp());
	setenv("PG", pg, 1);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(ev_start_child(&pid, "sh", argv, pfd[0], false), 0);
	close(pfd[0]);
	assert_int_equal(write(pfd[1], "5\n", 2), 2);
	close(pfd[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
	assert_int_equal(ev_start_child(&pid, "ulvs-no-such-program", argv, -1, false), -ENOENT);
	unsetenv("PG");
}

/* A cancelled child is killed and reaped, and its callback never runs, so
 * its argument may be freed at once. */
static void test_cancel(void **state)
{
	struct evloop *l = ev_new();
	struct run r = { 0 };
	pid_t pid = spawn_sh(l, "sleep 30", 0, &r);

	assert_true(pid > 0);
	ev_spawn_cancel(l, pid);
	assert_int_equal(wait_child(l, 300), -ETIMEDOUT);
	assert_int_equal(r.calls, 0);
	assert_false(alive(pid));
	ev_free(l);
}

struct order {
	int seen[4];
	int n;
};

struct tick {
	struct order *o;
	int id;
};

static void tick_cb(struct evloop *l, void *arg)
{
	struct tick *t = arg;

	t->o->seen[t->o->n++] = t->id;
	if (t->o->n == 4)
		ev_stop(l, 0);
}

/* Timers fire by deadline, and those with equal deadlines in the order
 * they were added. */
static void test_timer_order(void **state)
{
	struct evloop *l = ev_new();
	struct order o = { 0 };
	struct tick t[4] = { { &o, 0 }, { &o, 1 }, { &o, 2 }, { &o, 3 } };

	ev_timer_add(l, 30, tick_cb, &t[0]);
	ev_timer_add(l, 10, tick_cb, &t[1]);
	ev_timer_add(l, 10, tick_cb, &t[2]);
	ev_timer_add(l, 0, tick_cb, &t[3]);
	assert_int_equal(ev_run(l), 0);
	assert_int_equal(o.seen[0], 3);
	assert_int_equal(o.seen[1], 1);
	assert_int_equal(o.seen[2], 2);
	assert_int_equal(o.seen[3], 0);
	ev_free(l);
}

/* The wait hooks as the daemon uses them: "held" from wake-up to sleep.
 * Callbacks run held; ev_release/ev_reacquire let go and take back in a
 * callback; ev_spawn lets go around the spawn itself. */
struct holds {
	bool held;
	int releases, acquires;
	bool held_in_cb, held_after_spawn, held_after_reacquire, released_inside;
};

static void hook_release(void *arg)
{
	struct holds *h = arg;
	h->held = false;
	h->releases++;
}

static void hook_acquire(void *arg)
{
	struct holds *h = arg;
	h->held = true;
	h->acquires++;
}

static void hold_cb(struct evloop *l, void *arg)
{
	struct holds *h = arg;
	struct run r = { 0 };

	h->held_in_cb = h->held;
	int before = h->releases;
	pid_t pid = spawn_sh(l, "exit 0", 0, &r);
	assert_true(pid > 0);
	ev_spawn_cancel(l, pid);
	h->held_after_spawn = h->held && h->releases == before + 1;
	ev_release(l);
	h->released_inside = !h->held;
	ev_reacquire(l);
	h->held_after_reacquire = h->held;
	ev_stop(l, 0);
}

static void test_hooks_release(void **state)
{
	struct evloop *l = ev_new();
	struct holds h = { 0 };

	ev_set_wait_hooks(l, hook_release, hook_acquire, &h);
	ev_timer_add(l, 1, hold_cb, &h);
	assert_int_equal(ev_run(l), 0);
	assert_true(h.held_in_cb);
	assert_true(h.held_after_spawn);
	assert_true(h.released_inside);
	assert_true(h.held_after_reacquire);
	/* every let-go was taken back: the loop ends as a callback left it */
	assert_true(h.held);
	assert_int_equal(h.releases, h.acquires);
	ev_set_wait_hooks(l, NULL, NULL, NULL);
	ev_release(l);                       /* no hooks: nothing happens */
	ev_reacquire(l);
	assert_int_equal(h.releases, h.acquires);
	ev_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_child_environment),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_unrunnable_path),
		cmocka_unit_test(test_start_child),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_hooks_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
