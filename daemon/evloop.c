/* The control thread's event loop (see evloop.h).
 *
 * epoll for file descriptors; a binary min-heap of one-shot timers whose
 * earliest deadline sets epoll_wait's timeout; signalfd for signals; pidfd
 * for children, so a child's exit is just another readable descriptor and no
 * SIGCHLD handler races with the loop.  Everything is single-threaded.
 */
#include "daemon/evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EV_MAX_SIGNALS 16
#define EV_KILL_GRACE_MS 1000

/* What an epoll registration points at. */
enum watch_kind { W_FD, W_SIGNAL, W_CHILD };

struct watch {
	enum watch_kind kind;
	int fd;
	ev_fd_cb cb;
	void *arg;
	struct watch *next;       /* all watches, for lookup by fd and freeing */
	/* children */
	pid_t pid;
	ev_child_cb child_cb;
	struct ev_timer *kill_timer;
	bool timed_out, killed_hard;
};

struct ev_timer {
	uint64_t due_ns;
	uint64_t seq;             /* FIFO among equal deadlines */
	ev_timer_cb cb;
	void *arg;
	unsigned heap_idx;
};

struct evloop {
	int epfd;
	uint64_t now_ns;
	bool stop;
	int code;
	ev_wait_hook before_wait, after_wait;
	void *hook_arg;
	struct watch *watches;
	struct ev_timer **heap;
	unsigned n_heap, cap_heap;
	uint64_t timer_seq;
	int sigfd;
	sigset_t sigmask;
	ev_signal_cb sig_cb[EV_MAX_SIGNALS * 4];
	void *sig_arg[EV_MAX_SIGNALS * 4];
	struct watch sig_watch;
	struct watch *graveyard;  /* removed during a batch; freed after it */

};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct evloop *ev_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->now_ns = mono_ns();
	return l;
}

static struct watch *watch_find(struct evloop *l, int fd)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->fd == fd)
			return w;
	return NULL;
}

static void watch_unlink(struct evloop *l, struct watch *w)
{
	for (struct watch **pp = &l->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

void ev_free(struct evloop *l)
{
	if (!l)
		return;
	while (l->watches) {
		struct watch *w = l->watches;
		l->watches = w->next;
		if (w->kind == W_CHILD)
			close(w->fd);
		free(w);
	}
	while (l->graveyard) {
		struct watch *w = l->graveyard;
		l->graveyard = w->next;
		free(w);
	}
	for (unsigned i = 0; i < l->n_heap; i++)
		free(l->heap[i]);
	free(l->heap);
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigmask, NULL);
	}
	close(l->epfd);
	free(l);
}

static uint32_t to_epoll(uint32_t ev)
{
	return (ev & EV_READ ? EPOLLIN : 0u) | (ev & EV_WRITE ? EPOLLOUT : 0u);
}

static int watch_add(struct evloop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ee = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ee) < 0)
		return -errno;
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int ev_fd_add(struct evloop *l, int fd, uint32_t events, ev_fd_cb cb, void *arg)
{
	struct watch *w;
	int r;

	if (fd < 0 || !cb)
		return -EINVAL;
	if (watch_find(l, fd))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .kind = W_FD, .fd = fd, .cb = cb, .arg = arg };
	r = watch_add(l, w, to_epoll(events));
	if (r < 0)
		free(w);
	return r;
}

int ev_fd_mod(struct evloop *l, int fd, uint32_t events)
{
	struct watch *w = watch_find(l, fd);
	struct epoll_event ee;

	if (!w)
		return -ENOENT;
	ee = (struct epoll_event){ .events = to_epoll(events), .data.ptr = w };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ee) < 0 ? -errno : 0;
}

/* Watches removed while epoll_wait's batch still points at them are parked
 * here and freed after the batch, so a callback may delete any fd. */


void ev_fd_del(struct evloop *l, int fd)
{
	struct watch *w = watch_find(l, fd);
	if (!w || w->kind != W_FD)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	watch_unlink(l, w);
	w->cb = NULL;
	w->next = l->graveyard;
	l->graveyard = w;
}

/* --- timers: binary min-heap on (due, seq) ------------------------------ */

static bool timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->due_ns != b->due_ns ? a->due_ns < b->due_ns : a->seq < b->seq;
}

static void heap_set(struct evloop *l, unsigned i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct evloop *l, unsigned i)
{
	struct ev_timer *t = l->heap[i];
	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (!timer_before(t, l->heap[p]))
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct evloop *l, unsigned i)
{
	struct ev_timer *t = l->heap[i];
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= l->n_heap)
			break;
		if (c + 1 < l->n_heap && timer_before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!timer_before(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void heap_remove(struct evloop *l, unsigned i)
{
	struct ev_timer *last = l->heap[--l->n_heap];
	if (i == l->n_heap)
		return;
	heap_set(l, i, last);
	heap_down(l, i);
	heap_up(l, last->heap_idx);
}

struct ev_timer *ev_timer_add(struct evloop *l, uint64_t ms, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t;

	if (!cb)
		return NULL;
	if (l->n_heap == l->cap_heap) {
		unsigned cap = l->cap_heap ? 2 * l->cap_heap : 64;
		struct ev_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return NULL;
		l->heap = h;
		l->cap_heap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* From the real clock, not the iteration's cached one, so a timer armed
	 * after a slow callback still waits its full time. */
	t->due_ns = mono_ns() + ms * 1000000ull;
	t->seq = l->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	heap_set(l, l->n_heap++, t);
	heap_up(l, t->heap_idx);
	return t;
}

void ev_timer_cancel(struct evloop *l, struct ev_timer *t)
{
	if (!t || t->heap_idx >= l->n_heap || l->heap[t->heap_idx] != t)
		return;
	heap_remove(l, t->heap_idx);
	free(t);
}

static void timers_run(struct evloop *l)
{
	/* Only timers due now; ones armed by callbacks wait for the next turn. */
	uint64_t now = mono_ns();
	while (l->n_heap && l->heap[0]->due_ns <= now && !l->stop) {
		struct ev_timer *t = l->heap[0];
		ev_timer_cb cb = t->cb;
		void *arg = t->arg;
		heap_remove(l, 0);
		free(t);
		cb(l, arg);
	}
}

/* --- signals ------------------------------------------------------------ */

int ev_signal(struct evloop *l, int signo, ev_signal_cb cb, void *arg)
{
	if (signo <= 0 || signo >= (int)(sizeof(l->sig_cb) / sizeof(l->sig_cb[0])) || !cb)
		return -EINVAL;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	l->sig_cb[signo] = cb;
	l->sig_arg[signo] = arg;
	if (l->sigfd < 0) {
		l->sigfd = signalfd(-1, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
		if (l->sigfd < 0)
			return -errno;
		l->sig_watch = (struct watch){ .kind = W_SIGNAL, .fd = l->sigfd };
		struct epoll_event ee = { .events = EPOLLIN, .data.ptr = &l->sig_watch };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ee) < 0)
			return -errno;
	} else if (signalfd(l->sigfd, &l->sigmask, 0) < 0) {
		return -errno;
	}
	return 0;
}

static void signals_read(struct evloop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int s = (int)si.ssi_signo;
		if (s > 0 && s < (int)(sizeof(l->sig_cb) / sizeof(l->sig_cb[0])) && l->sig_cb[s])
			l->sig_cb[s](l, s, l->sig_arg[s]);
	}
}

/* --- children ----------------------------------------------------------- */

static void child_kill_cb(struct evloop *l, void *arg)
{
	struct watch *w = arg;
	w->kill_timer = NULL;
	if (!w->timed_out) {
		/* keepalived does the same: TERM at the timeout, KILL if it lingers */
		w->timed_out = true;
		kill(-w->pid, SIGTERM); /* the group: what the script started, too */
		w->kill_timer = ev_timer_add(l, EV_KILL_GRACE_MS, child_kill_cb, w);
	} else if (!w->killed_hard) {
		w->killed_hard = true;
		kill(-w->pid, SIGKILL);
	}
}

static void child_reap(struct evloop *l, struct watch *w)
{
	int status = 0;
	pid_t r = waitpid(w->pid, &status, WNOHANG);
	if (r == 0)
		return; /* spurious: not exited yet */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	watch_unlink(l, w);
	if (w->kill_timer)
		ev_timer_cancel(l, w->kill_timer);
	if (w->child_cb)
		w->child_cb(l, w->pid, r < 0 ? -1 : status, w->timed_out, w->arg);
	free(w);
}

/* posix_spawn rather than fork: glibc spawns with CLONE_VM|CLONE_VFORK,
 * so the cost does not grow with the page tables of a process holding a
 * large connection table (fork copied them, which took milliseconds with
 * the default table while the data-plane workers were held).  The child
 * gets the default signal mask and dispositions (ulvsd blocks the signals
 * its loop reads and ignores SIGPIPE around pipe writes).  An exec failure
 * comes back as the error, not as a child exiting 127. */
int ev_start_child(pid_t *pid, const char *path, char *const argv[], int stdin_fd,
		   bool own_group)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int r;

	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	sigemptyset(&none);
	sigfillset(&all);
	r = stdin_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0)
			  : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						  (own_group ? POSIX_SPAWN_SETPGROUP : 0));
	if (!r)
		r = posix_spawnattr_setpgroup(&at, 0);
	if (!r)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&at, &all);
	if (!r)
		r = strchr(path, '/') ? posix_spawn(pid, path, &fa, &at, argv, environ)
				      : posix_spawnp(pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

pid_t ev_spawn(struct evloop *l, char *const argv[], uint32_t timeout_ms, ev_child_cb cb,
	       void *arg)
{
	struct watch *w;
	int pfd, r;
	pid_t pid;

	if (!argv || !argv[0])
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* The spawn reads only argv and the environment: whatever the wait
	 * hooks guard may run meanwhile (it takes a fraction of a ms). */
	ev_release(l);
	r = ev_start_child(&pid, argv[0], argv, -1, true);
	ev_reacquire(l);
	if (r < 0) {
		free(w);
		return r;
	}
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(w);
		return r;
	}
	*w = (struct watch){ .kind = W_CHILD, .fd = pfd, .pid = pid, .child_cb = cb, .arg = arg };
	r = watch_add(l, w, EPOLLIN);
	if (r < 0) {
		close(pfd);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(w);
		return r;
	}
	if (timeout_ms)
		w->kill_timer = ev_timer_add(l, timeout_ms, child_kill_cb, w);
	return pid;
}

void ev_spawn_cancel(struct evloop *l, pid_t pid)
{
	for (struct watch *w = l->watches; w; w = w->next) {
		if (w->kind != W_CHILD || w->pid != pid)
			continue;
		kill(-w->pid, SIGKILL);
		w->child_cb = NULL;
		w->arg = NULL;
		if (w->kill_timer) {
			ev_timer_cancel(l, w->kill_timer);
			w->kill_timer = NULL;
		}
		return;
	}
}

int ev_split_cmdline(char *line, char **argv, int max)
{
	int argc = 0;
	char *r = line, *wp = line;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r)
			break;
		if (argc >= max)
			return -EINVAL;
		argv[argc++] = wp;
		char quote = 0;
		while (*r && (quote || (*r != ' ' && *r != '\t'))) {
			if (!quote && (*r == '"' || *r == '\'')) {
				quote = *r++;
			} else if (quote && *r == quote) {
				quote = 0;
				r++;
			} else if (*r == '\\' && r[1] && quote != '\'') {
				r++;
				*wp++ = *r++;
			} else {
				*wp++ = *r++;
			}
		}
		if (quote)
			return -EINVAL;
		if (*r)
			r++;
		*wp++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/* --- the loop ----------------------------------------------------------- */

void ev_set_wait_hooks(struct evloop *l, ev_wait_hook before, ev_wait_hook after, void *arg)
{
	l->before_wait = before;
	l->after_wait = after;
	l->hook_arg = arg;
}

void ev_release(struct evloop *l)
{
	if (l->before_wait)
		l->before_wait(l->hook_arg);
}

void ev_reacquire(struct evloop *l)
{
	if (l->after_wait)
		l->after_wait(l->hook_arg);
}

uint64_t ev_now_ns(const struct evloop *l)
{
	return l->now_ns;
}

void ev_stop(struct evloop *l, int code)
{
	l->stop = true;
	l->code = code;
}

int ev_run(struct evloop *l)
{
	struct epoll_event evs[64];

	l->stop = false;
	while (!l->stop) {
		int timeout = -1, n;

		l->now_ns = mono_ns();
		if (l->n_heap) {
			uint64_t due = l->heap[0]->due_ns;
			/* round up so we never wake a hair early and spin */
			timeout = due <= l->now_ns ? 0 : (int)((due - l->now_ns + 999999) / 1000000);
		}
		if (l->before_wait)
			l->before_wait(l->hook_arg);
		n = epoll_wait(l->epfd, evs, 64, timeout);
		int err = errno;
		if (l->after_wait)
			l->after_wait(l->hook_arg);
		if (n < 0) {
			if (err == EINTR)
				continue;
			return -err;
		}
		l->now_ns = mono_ns();
		for (int i = 0; i < n && !l->stop; i++) {
			struct watch *w = evs[i].data.ptr;
			uint32_t e = evs[i].events, ev = 0;
			if (e & EPOLLIN)
				ev |= EV_READ;
			if (e & EPOLLOUT)
				ev |= EV_WRITE;
			if (e & (EPOLLERR | EPOLLHUP))
				ev |= EV_ERROR | EV_READ;
			switch (w->kind) {
			case W_FD:
				if (w->cb)
					w->cb(l, w->fd, ev, w->arg);
				break;
			case W_SIGNAL:
				signals_read(l);
				break;
			case W_CHILD:
				child_reap(l, w);
				break;
			}
		}
		while (l->graveyard) {
			struct watch *w = l->graveyard;
			l->graveyard = w->next;
			free(w);
		}
		timers_run(l);
	}
	return l->code;
}
