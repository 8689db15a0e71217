/* The control thread's event loop: file descriptors, timers, signals and
 * child processes, on epoll.
 *
 * Everything of the control plane runs on one loop in one thread (DESIGN.md):
 * health checks, VRRP,
 * the control socket, sync, metrics.  Callbacks must not block; scripts run
 * as children with a timeout (ev_spawn) and report through a callback.
 * Return convention: 0 / -errno; handles are NULL on failure.
 */
#ifndef ULVS_DAEMON_EVLOOP_H
#define ULVS_DAEMON_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct evloop;
struct ev_timer;

enum { EV_READ = 1u << 0, EV_WRITE = 1u << 1, EV_ERROR = 1u << 2 };

typedef void (*ev_fd_cb)(struct evloop *l, int fd, uint32_t events, void *arg);
typedef void (*ev_timer_cb)(struct evloop *l, void *arg);
typedef void (*ev_signal_cb)(struct evloop *l, int signo, void *arg);
/* status: as waitpid() reports it; timed_out: we killed it at its timeout. */
typedef void (*ev_child_cb)(struct evloop *l, pid_t pid, int status, bool timed_out, void *arg);

struct evloop *ev_new(void);
/* Closes nothing the caller registered; frees timers still pending. */
void ev_free(struct evloop *l);

/* Watch fd for events (EV_READ|EV_WRITE); one registration per fd. */
int ev_fd_add(struct evloop *l, int fd, uint32_t events, ev_fd_cb cb, void *arg);
int ev_fd_mod(struct evloop *l, int fd, uint32_t events);
void ev_fd_del(struct evloop *l, int fd);

/* One-shot timer after ms milliseconds; the handle is valid until it fires
 * (then it is freed before cb runs) or is cancelled.  O(log n). */
struct ev_timer *ev_timer_add(struct evloop *l, uint64_t ms, ev_timer_cb cb, void *arg);
void ev_timer_cancel(struct evloop *l, struct ev_timer *t);

/* Deliver signo through the loop (signalfd); the signal is blocked for the
 * thread.  One callback per signal. */
int ev_signal(struct evloop *l, int signo, ev_signal_cb cb, void *arg);

/* Run argv[0] with argv (no shell, like keepalived), stdin /dev/null,
 * default signal state, in a process group of its own, as a child; cb gets
 * its exit status.  At timeout_ms (0: none) the group gets SIGTERM, then
 * SIGKILL 1 s later, and cb sees timed_out.  Returns the pid or -errno
 * (-ENOENT, -EACCES... when argv[0] cannot be executed).  The spawn runs
 * with the wait hooks released (ev_release), so call it between complete
 * changes to what they guard, never half way through one. */
pid_t ev_spawn(struct evloop *l, char *const argv[], uint32_t timeout_ms, ev_child_cb cb,
	       void *arg);
/* The start ev_spawn makes, for a caller that waits for the child itself:
 * path (searched in PATH when it has no '/') with argv, default signal
 * state, stdin from stdin_fd (-1: /dev/null), in a process group of its own
 * when own_group.  Cheap whatever the process's size (posix_spawn).
 * 0 with *pid set, or -errno (-ENOENT, -EACCES... when path cannot run). */
int ev_start_child(pid_t *pid, const char *path, char *const argv[], int stdin_fd,
		   bool own_group);
/* Forget a child started by ev_spawn: its process group gets SIGKILL and
 * its callback will never run, so the caller may free the callback's
 * argument at once; the loop still reaps it.  Unknown pids are ignored. */
void ev_spawn_cancel(struct evloop *l, pid_t pid);
/* Split a keepalived script line ("/path arg 'quoted arg'") into argv in
 * place; returns argc or -EINVAL.  argv has room for max entries + NULL. */
int ev_split_cmdline(char *line, char **argv, int max);

/* Called right before the loop goes to sleep in epoll_wait and right after
 * it wakes: the daemon lets the data-plane workers run only meanwhile
 * (live_resume / live_pause).  NULLs remove them. */
typedef void (*ev_wait_hook)(void *arg);
void ev_set_wait_hooks(struct evloop *l, ev_wait_hook before, ev_wait_hook after, void *arg);
/* Inside a callback, around slow work (system calls, dumps, parsing) that
 * touches nothing the hooks guard: ev_release runs the before-wait hook as
 * if the loop were going to sleep, so the workers run meanwhile, and
 * ev_reacquire the after-wait hook.  What the workers see at a release is
 * what they would see between two callbacks, so release only between
 * complete changes.  Pair them in one function: callbacks start and end
 * with the hooks' state as the loop left it.  No-ops without hooks. */
void ev_release(struct evloop *l);
void ev_reacquire(struct evloop *l);

/* Monotonic clock in ns, as of the current loop iteration. */
uint64_t ev_now_ns(const struct evloop *l);
/* Run until ev_stop(); returns the code given to ev_stop. */
int ev_run(struct evloop *l);
void ev_stop(struct evloop *l, int code);

#endif
