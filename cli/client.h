/* ulvsadm's side of the control socket: one request, one reply.
 * Return convention: 0 / -errno; a daemon's refusal is -EREMOTEIO with the
 * ERROR reply in *e. */
#ifndef ULVS_CLI_CLIENT_H
#define ULVS_CLI_CLIENT_H

#include "ctl/ctl_proto.h"

struct ctl_client_conn {
	int fd;
	const char *path;
};

/* Socket path: --socket, else $ULVS_CONTROL_SOCKET, else CTL default. */
int cli_connect(struct ctl_client_conn *c, const char *path);
void cli_close(struct ctl_client_conn *c);
/* Send the message in req (header included); wait for the reply (10 s at
 * most); type, payload and len describe it (payload is malloc(3)ed). */
int cli_call(struct ctl_client_conn *c, const struct ctl_buf *req, uint16_t *type,
	     uint8_t **payload, uint32_t *len);

#endif
