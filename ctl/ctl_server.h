/* The control socket of ulvsd: a unix stream socket on the director's event
 * loop that ulvsadm talks to (protocol: ctl_proto.h; operations:
 * ctl_ops.h).
 *
 * The socket is created 0600 (root, or whoever runs the daemon) and peers
 * are checked with SO_PEERCRED as well.  A client that sends garbage gets
 * an error reply; one that stalls is dropped after CTL_CLIENT_TIMEOUT_MS;
 * buffers are bounded (CTL_MAX_REQUEST in, CTL_MAX_REPLY out) and every
 * socket is non-blocking, so no client can block or exhaust the daemon.
 * Return convention: NULL with errno set / 0 / -errno.
 */
#ifndef ULVS_CTL_SERVER_H
#define ULVS_CTL_SERVER_H

#include "ctl/ctl_proto.h"
#include "daemon/director.h"

#define CTL_DEFAULT_PATH "/run/ulvsd.sock"
#ifndef CTL_MAX_CLIENTS
#define CTL_MAX_CLIENTS 16
#endif
#ifndef CTL_MAX_STATUS_CBS
#define CTL_MAX_STATUS_CBS 16
#endif
#ifndef CTL_CLIENT_TIMEOUT_MS
#define CTL_CLIENT_TIMEOUT_MS 10000
#endif

struct ctl_server;

/* Listen on path (NULL: CTL_DEFAULT_PATH).  A stale socket file left by a
 * dead daemon is replaced; a live one (something answers) is not: EADDRINUSE.
 * Also starts the 2 s rate estimator. */
struct ctl_server *ctl_server_start(struct director *d, const char *path);
/* Close every client and the socket, and unlink the socket file. */
void ctl_server_stop(struct ctl_server *s);

/* ulvsadm --status: the server answers with an "ulvsd" section of its own
 * (version, services, connections) followed by one section per provider,
 * in registration order.  fn appends records (ctl_status_record() and the
 * value builders of ctl_proto.h) to the section the server opened under
 * name; it runs on the control thread at each request and must not block.
 * Registering a name again replaces its provider; fn NULL removes it.
 * The server knows nothing of the subsystems: ulvsd registers them.
 * 0, -EINVAL (bad name), -ENOSPC (CTL_MAX_STATUS_CBS reached). */
typedef void (*ctl_status_cb)(void *arg, struct ctl_status *st);
int ctl_server_set_status_cb(struct ctl_server *s, const char *name, ctl_status_cb fn, void *arg);

/* ipvsadm's sync daemon commands.  Each returns 0 or -errno and may put a
 * message for ulvsadm in msg (empty: the server uses ipvsadm's words for
 * the errno).  Without ops registered the requests get EOPNOTSUPP. */
struct ctl_sync_ops {
	int (*start)(void *arg, const struct ctl_daemon *d, char *msg, size_t len);
	int (*stop)(void *arg, uint8_t state, char *msg, size_t len);
	void (*list)(void *arg, struct ctl_daemons *out);
};
void ctl_server_set_sync_ops(struct ctl_server *s, const struct ctl_sync_ops *ops, void *arg);

#endif
