/* MISC_CHECK: run misc_path (no shell, as keepalived) as a child with
 * misc_timeout; its exit status is the verdict.  Plain: 0 up, anything else
 * down.  misc_dynamic: 0 up, 1 down, 2..255 up with weight status - 2
 * (keepalived's check_misc.c).  A script still running at its timeout gets
 * SIGTERM, then SIGKILL (ev_spawn); what it started in its process group is
 * killed with it, and the run counts as a failure.
 */
#include "check/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MISC_MAX_ARGV 64

/* Outlives the checker if the checker stops while the script runs: the
 * child callback still arrives and must find nothing to report to. */
struct misc_run {
	struct checker *c;
	pid_t pid;
};

struct misc_state {
	struct misc_run *run;
};

static void misc_child_cb(struct evloop *l, pid_t pid, int status, bool timed_out, void *arg)
{
	struct misc_run *run = arg;
	struct checker *c = run->c;

	/* The script's own children (a shell's sleep) are in its group. */
	if (timed_out)
		kill(-pid, SIGKILL);
	free(run);
	((struct misc_state *)c->priv)->run = NULL;
	if (timed_out) {
		check_report(c, CHECK_RESULT_TIMEOUT, "script timed out after %u ms, killed",
			     c->cc->misc_timeout_ms);
		return;
	}
	if (status < 0) {
		check_report(c, CHECK_RESULT_FAIL, "cannot collect the script's status");
		return;
	}
	if (WIFSIGNALED(status)) {
		check_report(c, CHECK_RESULT_FAIL, "script killed by signal %d", WTERMSIG(status));
		return;
	}
	int code = WEXITSTATUS(status);
	if (code == 0) {
		check_report(c, CHECK_RESULT_OK, "script exited 0");
	} else if (c->cc->misc_dynamic && code >= 2) {
		/* the weight is set before the state, so a server coming up
		 * comes up with its new weight (keepalived order) */
		check_set_weight(c, code - 2);
		check_report(c, CHECK_RESULT_OK, "script exited %d: weight %d", code, code - 2);
	} else {
		check_report(c, CHECK_RESULT_FAIL, "script exited %d%s", code,
			     code == 127 ? " (cannot execute?)" : "");
	}
}

static int misc_init(struct checker *c)
{
	struct misc_state *m;

	if (!c->cc->misc_path || !*c->cc->misc_path)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	c->priv = m;
	return 0;
}

static void misc_run(struct checker *c)
{
	struct misc_state *m = c->priv;
	char *copy = strdup(c->cc->misc_path), *argv[MISC_MAX_ARGV + 1];
	struct misc_run *run = calloc(1, sizeof(*run));
	int argc;
	pid_t pid;

	if (!copy || !run) {
		free(copy);
		free(run);
		check_report(c, CHECK_RESULT_FAIL, "out of memory");
		return;
	}
	argc = ev_split_cmdline(copy, argv, MISC_MAX_ARGV);
	if (argc <= 0) {
		free(copy);
		free(run);
		check_report(c, CHECK_RESULT_FAIL, "cannot parse misc_path");
		return;
	}
	run->c = c;
	pid = ev_spawn(c->k->loop, argv, c->cc->misc_timeout_ms, misc_child_cb, run);
	free(copy);
	if (pid < 0) {
		free(run);
		check_report(c, CHECK_RESULT_FAIL, "cannot run script: %s", strerror(-(int)pid));
		return;
	}
	run->pid = pid;
	m->run = run;
}

static void misc_abort(struct checker *c)
{
	struct misc_state *m = c->priv;
	if (!m || !m->run)
		return;
	/* The loop reaps it; its callback will not run, so the run is ours
	 * to free now (waiting for the callback leaked it when the loop
	 * ended first). */
	ev_spawn_cancel(c->k->loop, m->run->pid);
	free(m->run);
	m->run = NULL;
}

static void misc_fini(struct checker *c)
{
	misc_abort(c);
	free(c->priv);
	c->priv = NULL;
}

const struct check_ops check_misc_ops = {
	.type = CHECK_MISC,
	.init = misc_init,
	.run = misc_run,
	.abort = misc_abort,
	.fini = misc_fini,
};
