/* What `ulvsadm --status` shows and how `ulvsadm --start-daemon` /
 * `--stop-daemon` / `-L --daemon` reach connection sync: adapters from the
 * daemon's subsystems (live I/O, engine, VRRP, health checkers, sync) to
 * the control server's status sections and sync operations
 * (ctl/ctl_server.h), so that ctl/ depends on none of them.
 *
 * Sections: "dataplane" (backend, forwarding methods in use, engine
 * totals), "drops" (one record per drop reason), "vrrp" (one per
 * instance), "checkers", "realservers" and "virtualservers" (from
 * check_status()), "sync" (none, or the running daemon with its counters
 * and lag).
 * Control thread only.  Return convention: 0 / -errno.
 */
#ifndef ULVS_DAEMON_STATUS_H
#define ULVS_DAEMON_STATUS_H

#include <stdio.h>

#include "daemon/director.h"

struct check;
struct ctl_server;
struct live;
struct sync;
struct vrrp;

/* Where the subsystems are.  The double pointers are ulvsd's own
 * variables, read at each request, so a subsystem started later, replaced
 * by a reload or stopped shows as it is now.  *sync is also written:
 * ulvsadm starts and stops the sync daemon through it.  The context must
 * outlive the control server. */
struct status_ctx {
	struct director *dir;
	struct live *const *live;
	const char *backend_req;         /* --backend as given: auto, afxdp, afpacket */
	struct check *const *checks;
	struct vrrp *const *vrrp;
	struct sync **sync;
	FILE *log;
};

/* Register every section and the sync operations on ctl. */
int status_register(struct ctl_server *ctl, struct status_ctx *x);

#endif
