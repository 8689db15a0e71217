/* ulvsadm's control socket client: blocking, with a receive timeout so a
 * wedged daemon cannot hang a script (see client.h). */
#include "cli/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int cli_connect(struct ctl_client_conn *c, const char *path)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 10 };

	c->fd = -1;
	c->path = path;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(c->fd);
		c->fd = -1;
		return err;
	}
	return 0;
}

void cli_close(struct ctl_client_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int full_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_call(struct ctl_client_conn *c, const struct ctl_buf *req, uint16_t *type,
	     uint8_t **payload, uint32_t *len)
{
	uint8_t hdr[CTL_HDR_LEN];
	struct ctl_hdr h;
	int err;

	*payload = NULL;
	if (req->err)
		return req->err;
	err = full_io(c->fd, req->p, req->len, true);
	if (err)
		return err;
	err = full_io(c->fd, hdr, sizeof(hdr), false);
	if (err)
		return err;
	err = ctl_hdr_decode(hdr, &h, CTL_MAX_REPLY);
	if (err)
		return err;
	*payload = malloc(h.len ? h.len : 1);
	if (!*payload)
		return -ENOMEM;
	err = full_io(c->fd, *payload, h.len, false);
	if (err) {
		free(*payload);
		*payload = NULL;
		return err;
	}
	*type = h.type;
	*len = h.len;
	return 0;
}
