/* TCP_CHECK: a non-blocking connect to connect_ip:connect_port (from
 * bindto:bind_port) that must complete within connect_timeout; the
 * connection is closed at once, as keepalived does.
 */
#include "check/internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tcp_state {
	int fd;
	struct ev_timer *timer;
};

static void tcp_close(struct checker *c)
{
	struct tcp_state *t = c->priv;
	if (t->timer)
		ev_timer_cancel(c->k->loop, t->timer);
	t->timer = NULL;
	if (t->fd >= 0) {
		ev_fd_del(c->k->loop, t->fd);
		close(t->fd);
	}
	t->fd = -1;
}

static void tcp_timeout_cb(struct evloop *l, void *arg)
{
	struct checker *c = arg;
	struct tcp_state *t = c->priv;

	t->timer = NULL;
	tcp_close(c);
	check_report(c, CHECK_RESULT_TIMEOUT, "connect timed out after %u ms",
		     c->cc->connect_timeout_ms);
}

static void tcp_io_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct checker *c = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	tcp_close(c);
	if (err)
		check_report(c, CHECK_RESULT_FAIL, "connect: %s", strerror(err));
	else
		check_report(c, CHECK_RESULT_OK, "connected");
}

static int tcp_init(struct checker *c)
{
	struct tcp_state *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	c->priv = t;
	return 0;
}

static void tcp_run(struct checker *c)
{
	struct tcp_state *t = c->priv;
	struct sockaddr_storage ss;
	socklen_t sl = check_sockaddr(&c->cc->connect_ip, c->cc->connect_port, &ss);
	int fd = check_socket(c, SOCK_STREAM, IPPROTO_TCP);
	int r;

	if (fd < 0) {
		check_report(c, CHECK_RESULT_FAIL, "socket/bind: %s", strerror(-fd));
		return;
	}
	t->fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		tcp_close(c);
		check_report(c, CHECK_RESULT_OK, "connected");
		return;
	}
	if (errno != EINPROGRESS) {
		r = errno;
		tcp_close(c);
		check_report(c, CHECK_RESULT_FAIL, "connect: %s", strerror(r));
		return;
	}
	r = ev_fd_add(c->k->loop, fd, EV_WRITE, tcp_io_cb, c);
	if (r == 0) {
		t->timer = ev_timer_add(c->k->loop, check_time_left_ms(c, c->cc->connect_timeout_ms),
					tcp_timeout_cb, c);
		if (!t->timer)
			r = -ENOMEM;
	}
	if (r < 0) {
		tcp_close(c);
		check_report(c, CHECK_RESULT_FAIL, "event loop: %s", strerror(-r));
	}
}

static void tcp_abort(struct checker *c)
{
	tcp_close(c);
}

static void tcp_fini(struct checker *c)
{
	tcp_close(c);
	free(c->priv);
	c->priv = NULL;
}

const struct check_ops check_tcp_ops = {
	.type = CHECK_TCP,
	.init = tcp_init,
	.run = tcp_run,
	.abort = tcp_abort,
	.fini = tcp_fini,
};
