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

#include "daemon/director.h"

#define CTL_DEFAULT_PATH "/run/ulvsd.sock"
#ifndef CTL_MAX_CLIENTS
#define CTL_MAX_CLIENTS 16
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

#endif
