/* The control socket server (see ctl_server.h).
 *
 * One request at a time per client: the server reads a header, then exactly
 * the payload it announces (refusing lengths past CTL_MAX_REQUEST before
 * reading them), answers into the client's output buffer and stops reading
 * that client until the answer is written - so a client that never reads
 * costs at most one reply of memory, and a slow one never holds up the loop
 * (every socket is non-blocking).  A once-a-second tick drops clients idle
 * past their timeout and runs the rate estimator every other second.
 * A broken header closes the connection after the error reply (the framing
 * is lost); a bad payload only gets the error reply.
 */
#include "ctl/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/service.h"
#include "ctl/ctl_ops.h"

struct ctl_client {
	int fd;
	uint8_t hdr[CTL_HDR_LEN];
	size_t hdr_got;
	struct ctl_hdr h;
	uint8_t *in;
	size_t in_got;
	struct ctl_buf out;
	size_t out_off;
	bool closing;               /* close once out is written */
	uint64_t last_ns;
};

struct ctl_server {
	struct director *d;
	struct evloop *l;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *c[CTL_MAX_CLIENTS];
	struct ev_timer *tick;
	struct ctl_est *est;
	unsigned ticks;
	struct {
		char name[CTL_STATUS_KEY];
		ctl_status_cb fn;
		void *arg;
	} status[CTL_MAX_STATUS_CBS];
	unsigned n_status;
	const struct ctl_sync_ops *sync_ops;
	void *sync_arg;
};

static void client_close(struct ctl_server *s, unsigned i)
{
	struct ctl_client *c = s->c[i];

	if (!c)
		return;
	ev_fd_del(s->l, c->fd);
	close(c->fd);
	free(c->in);
	ctl_buf_free(&c->out);
	free(c);
	s->c[i] = NULL;
}

static void reply_error(struct ctl_client *c, int err, uint32_t index, const char *msg)
{
	struct ctl_error e;
	size_t at;

	memset(&e, 0, sizeof(e));
	e.err = err;
	e.index = index;
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	at = ctl_msg_begin(&c->out, CTL_REP_ERROR);
	ctl_put_error(&c->out, &e);
	ctl_msg_end(&c->out, at);
}

/* The status reply: our own section, then every provider's. */
static void handle_status(struct ctl_server *s, struct ctl_client *c, struct svc_table *t,
			  struct engine *e)
{
	struct ctl_status st = { 0 };
	struct ctl_info i;
	size_t at;
	int err;

	ctl_ops_info(t, e, &i);
	ctl_status_section(&st, "ulvsd");
	ctl_status_record(&st);
	ctl_status_str(&st, "version", "%s", i.daemon_version);
	ctl_status_u64(&st, "services", i.n_svcs);
	ctl_status_u64(&st, "connections", i.n_conns);
	ctl_status_u64(&st, "capacity", i.size);
	for (unsigned k = 0; k < s->n_status; k++) {
		ctl_status_section(&st, s->status[k].name);
		s->status[k].fn(s->status[k].arg, &st);
	}
	if (st.err) {
		reply_error(c, -st.err, 0, "cannot collect the status");
		ctl_status_free(&st);
		return;
	}
	at = ctl_msg_begin(&c->out, CTL_REP_STATUS);
	ctl_put_status(&c->out, &st);
	err = ctl_msg_end(&c->out, at);
	ctl_status_free(&st);
	if (err) {
		c->out.len = at;
		c->out.err = 0;
		reply_error(c, -err, 0, strerror(-err));
	}
}

/* libipvs's words for the sync daemon errors (ipvs_strerror). */
static const char *daemon_strerror(uint16_t type, int err)
{
	if (type == CTL_REQ_START_DAEMON && err == EEXIST)
		return "Daemon has already run";
	if (type == CTL_REQ_STOP_DAEMON && err == ESRCH)
		return "No daemon is running";
	return strerror(err);
}

static void handle_daemon(struct ctl_server *s, struct ctl_client *c, const uint8_t *p,
			  size_t len)
{
	const struct ctl_sync_ops *ops = s->sync_ops;
	char msg[CTL_MSG_LEN] = "";
	size_t at;
	int err;

	if (!ops) {
		reply_error(c, EOPNOTSUPP, 0, "connection sync is not available in this ulvsd");
		return;
	}
	if (c->h.type == CTL_REQ_DAEMON) {
		struct ctl_daemons ds;

		if (len) {
			reply_error(c, EBADMSG, 0, "malformed request");
			return;
		}
		memset(&ds, 0, sizeof(ds));
		ops->list(s->sync_arg, &ds);
		at = ctl_msg_begin(&c->out, CTL_REP_DAEMON);
		ctl_put_daemons(&c->out, &ds);
		ctl_msg_end(&c->out, at);
		return;
	}
	if (c->h.type == CTL_REQ_START_DAEMON) {
		struct ctl_daemon d;

		if (ctl_get_daemon(p, len, &d)) {
			reply_error(c, EBADMSG, 0, "malformed request");
			return;
		}
		err = ops->start(s->sync_arg, &d, msg, sizeof(msg));
	} else {
		uint8_t state;

		if (ctl_get_stop_daemon(p, len, &state)) {
			reply_error(c, EBADMSG, 0, "malformed request");
			return;
		}
		err = ops->stop(s->sync_arg, state, msg, sizeof(msg));
	}
	if (err) {
		reply_error(c, -err, 0, msg[0] ? msg : daemon_strerror(c->h.type, -err));
		return;
	}
	at = ctl_msg_begin(&c->out, CTL_REP_OK);
	ctl_msg_end(&c->out, at);
}

/* Build the reply to one complete request into c->out. */
static void handle(struct ctl_server *s, struct ctl_client *c)
{
	struct svc_table *t = director_services(s->d);
	struct engine *e = director_engine(s->d);
	const struct fib *fib = director_fib(s->d);
	const uint8_t *p = c->in;
	size_t len = c->h.len;
	size_t at;
	int err = 0;

	if (!t || !e) {
		reply_error(c, EAGAIN, 0, "no configuration loaded");
		return;
	}
	switch (c->h.type) {
	case CTL_REQ_INFO: {
		struct ctl_info i;

		if (len) {
			err = -EBADMSG;
			break;
		}
		ctl_ops_info(t, e, &i);
		at = ctl_msg_begin(&c->out, CTL_REP_INFO);
		ctl_put_info(&c->out, &i);
		err = ctl_msg_end(&c->out, at);
		break;
	}
	case CTL_REQ_TIMEOUTS: {
		struct ctl_timeouts to;

		if (len) {
			err = -EBADMSG;
			break;
		}
		ctl_ops_timeouts(e, &to);
		at = ctl_msg_begin(&c->out, CTL_REP_TIMEOUTS);
		ctl_put_timeouts(&c->out, &to);
		err = ctl_msg_end(&c->out, at);
		break;
	}
	case CTL_REQ_LIST: {
		struct ctl_svc_key k;
		bool has;

		err = ctl_get_list_req(p, len, &k, &has);
		if (err)
			break;
		at = ctl_msg_begin(&c->out, CTL_REP_LIST);
		err = ctl_ops_list(&c->out, t, e, fib, s->est, has ? &k : NULL);
		if (!err)
			err = ctl_msg_end(&c->out, at);
		if (err) {
			c->out.len = at;
			c->out.err = 0;
			reply_error(c, -err, 0, ctl_strerror(CTL_OP_ZERO, -err));
			return;
		}
		break;
	}
	case CTL_REQ_CONNS: {
		uint32_t cursor, max;

		err = ctl_get_conns_req(p, len, &cursor, &max);
		if (err)
			break;
		at = ctl_msg_begin(&c->out, CTL_REP_CONNS);
		err = ctl_ops_conns(&c->out, e, ev_now_ns(s->l), cursor, max);
		if (!err)
			err = ctl_msg_end(&c->out, at);
		if (err) {
			c->out.len = at;
			c->out.err = 0;
		}
		break;
	}
	case CTL_REQ_CMD: {
		struct ctl_cmd *cmds;
		struct ctl_error ce;
		uint32_t n;

		err = ctl_get_cmds(p, len, &cmds, &n);
		if (err)
			break;
		err = ctl_ops_apply(t, e, fib, cmds, n, &ce);
		free(cmds);
		if (err) {
			fprintf(director_log(s->d), "ulvsd: control: command %u refused: %s\n",
				ce.index, ce.msg);
			reply_error(c, ce.err, ce.index, ce.msg);
			return;
		}
		fprintf(director_log(s->d), "ulvsd: control: %u command(s) applied\n", n);
		director_notify(s->d, "ulvsadm");
		at = ctl_msg_begin(&c->out, CTL_REP_OK);
		err = ctl_msg_end(&c->out, at);
		break;
	}
	case CTL_REQ_CONNS_SVC: {
		struct ctl_svc_key k;
		uint32_t cursor, max;

		err = ctl_get_conns_svc_req(p, len, &cursor, &max, &k);
		if (err)
			break;
		at = ctl_msg_begin(&c->out, CTL_REP_CONNS);
		err = ctl_ops_conns_svc(&c->out, t, e, ev_now_ns(s->l), cursor, max, &k);
		if (!err)
			err = ctl_msg_end(&c->out, at);
		if (err) {
			c->out.len = at;
			c->out.err = 0;
			if (err == -ESRCH) {
				reply_error(c, ESRCH, 0, ctl_strerror(CTL_OP_ZERO, ESRCH));
				return;
			}
		}
		break;
	}
	case CTL_REQ_STATUS:
		if (len) {
			err = -EBADMSG;
			break;
		}
		handle_status(s, c, t, e);
		return;
	case CTL_REQ_DAEMON:
	case CTL_REQ_START_DAEMON:
	case CTL_REQ_STOP_DAEMON:
		handle_daemon(s, c, p, len);
		return;
	default:
		reply_error(c, EOPNOTSUPP, 0, "unknown request type");
		return;
	}
	if (err == -EBADMSG)
		reply_error(c, EBADMSG, 0, "malformed request");
	else if (err)
		reply_error(c, -err, 0, strerror(-err));
}

static void client_want(struct ctl_server *s, struct ctl_client *c)
{
	ev_fd_mod(s->l, c->fd, c->out.len > c->out_off ? EV_WRITE : EV_READ);
}

/* Write what is pending; returns false when the client is gone. */
static bool client_flush(struct ctl_server *s, unsigned i)
{
	struct ctl_client *c = s->c[i];

	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			client_close(s, i);
			return false;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off < c->out.len) {
		client_want(s, c);
		return true;
	}
	if (c->closing) {
		client_close(s, i);
		return false;
	}
	/* a big listing's buffer is not kept around between requests */
	ctl_buf_free(&c->out);
	ctl_buf_init(&c->out, CTL_HDR_LEN + CTL_MAX_REPLY);
	c->out_off = 0;
	client_want(s, c);
	return true;
}

/* Read as much of the current request as is there; false when closed. */
static bool client_read(struct ctl_server *s, unsigned i)
{
	struct ctl_client *c = s->c[i];

	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t n;

		if (c->hdr_got < CTL_HDR_LEN) {
			dst = c->hdr + c->hdr_got;
			want = CTL_HDR_LEN - c->hdr_got;
		} else {
			dst = c->in + c->in_got;
			want = c->h.len - c->in_got;
		}
		if (want) {
			n = recv(c->fd, dst, want, MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return true;
			if (n <= 0) {
				client_close(s, i);
				return false;
			}
			c->last_ns = ev_now_ns(s->l);
			if (c->hdr_got < CTL_HDR_LEN) {
				c->hdr_got += (size_t)n;
				if (c->hdr_got < CTL_HDR_LEN)
					continue;
				if (ctl_hdr_decode(c->hdr, &c->h, CTL_MAX_REQUEST)) {
					reply_error(c, EPROTO, 0,
						    "bad message header (magic, version or length)");
					c->closing = true;
					return client_flush(s, i);
				}
				free(c->in);
				c->in = malloc(c->h.len ? c->h.len : 1);
				c->in_got = 0;
				if (!c->in) {
					reply_error(c, ENOMEM, 0, "Memory allocation problem");
					c->closing = true;
					return client_flush(s, i);
				}
				if (c->h.len)
					continue;
			} else {
				c->in_got += (size_t)n;
				if (c->in_got < c->h.len)
					continue;
			}
		}
		/* a whole request */
		handle(s, c);
		c->hdr_got = 0;
		c->in_got = 0;
		free(c->in);
		c->in = NULL;
		return client_flush(s, i);
	}
}

static void client_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_server *s = arg;
	unsigned i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->c[i] && s->c[i]->fd == fd)
			break;
	if (i == CTL_MAX_CLIENTS)
		return;
	if (events & EV_ERROR) {
		client_close(s, i);
		return;
	}
	if (s->c[i]->out.len > s->c[i]->out_off) {
		client_flush(s, i);
		return;
	}
	if (events & EV_READ)
		client_read(s, i);
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void accept_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct ctl_server *s = arg;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *c;
		unsigned i;

		if (cfd < 0)
			return; /* EAGAIN, or a transient error: the loop calls again */
		for (i = 0; i < CTL_MAX_CLIENTS && s->c[i]; i++)
			;
		if (i == CTL_MAX_CLIENTS || !peer_allowed(cfd)) {
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->last_ns = ev_now_ns(l);
		ctl_buf_init(&c->out, CTL_HDR_LEN + CTL_MAX_REPLY);
		if (ev_fd_add(l, cfd, EV_READ, client_cb, s)) {
			close(cfd);
			free(c);
			continue;
		}
		s->c[i] = c;
	}
}

static void tick_cb(struct evloop *l, void *arg)
{
	struct ctl_server *s = arg;
	uint64_t now = ev_now_ns(l);

	s->tick = ev_timer_add(l, 1000, tick_cb, s);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->c[i] && now - s->c[i]->last_ns > (uint64_t)CTL_CLIENT_TIMEOUT_MS * 1000000)
			client_close(s, i);
	if (++s->ticks % (CTL_EST_PERIOD_MS / 1000) == 0 && director_services(s->d))
		ctl_est_tick(s->est, director_services(s->d));
}

/* A socket file nobody answers on is a leftover of a dead daemon. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

struct ctl_server *ctl_server_start(struct director *d, const char *path)
{
	struct ctl_server *s;
	struct sockaddr_un sa;
	mode_t old;
	int err;

	if (!path)
		path = CTL_DEFAULT_PATH;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->est = ctl_est_new())) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->d = d;
	s->l = director_loop(d);
	snprintf(s->path, sizeof(s->path), "%s", path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	err = clear_stale(&sa);
	if (err) {
		errno = -err;
		goto fail;
	}
	/* Born 0600: no window in which another user could connect. */
	old = umask(0177);
	err = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err < 0 || chmod(path, 0600) < 0 || listen(s->fd, 16) < 0)
		goto fail;
	if ((err = ev_fd_add(s->l, s->fd, EV_READ, accept_cb, s))) {
		errno = -err;
		goto fail;
	}
	s->tick = ev_timer_add(s->l, 1000, tick_cb, s);
	if (!s->tick) {
		ev_fd_del(s->l, s->fd);
		errno = ENOMEM;
		goto fail;
	}
	return s;
fail:
	err = errno;
	if (s->fd >= 0)
		close(s->fd);
	ctl_est_free(s->est);
	free(s);
	errno = err;
	return NULL;
}

void ctl_server_stop(struct ctl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		client_close(s, i);
	if (s->tick)
		ev_timer_cancel(s->l, s->tick);
	ev_fd_del(s->l, s->fd);
	close(s->fd);
	unlink(s->path);
	ctl_est_free(s->est);
	free(s);
}

int ctl_server_set_status_cb(struct ctl_server *s, const char *name, ctl_status_cb fn, void *arg)
{
	size_t n = strlen(name);
	unsigned k;

	if (n == 0 || n >= CTL_STATUS_KEY || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
	    !strcmp(name, "ulvsd"))
		return -EINVAL;
	for (k = 0; k < s->n_status; k++)
		if (!strcmp(s->status[k].name, name))
			break;
	if (!fn) {
		if (k < s->n_status) {
			memmove(&s->status[k], &s->status[k + 1],
				(s->n_status - k - 1) * sizeof(s->status[0]));
			s->n_status--;
		}
		return 0;
	}
	if (k == s->n_status) {
		if (k == CTL_MAX_STATUS_CBS)
			return -ENOSPC;
		s->n_status++;
		memcpy(s->status[k].name, name, n + 1);
	}
	s->status[k].fn = fn;
	s->status[k].arg = arg;
	return 0;
}

void ctl_server_set_sync_ops(struct ctl_server *s, const struct ctl_sync_ops *ops, void *arg)
{
	s->sync_ops = ops;
	s->sync_arg = arg;
}
