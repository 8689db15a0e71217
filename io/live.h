/* Live packet I/O around the engine: interfaces, neighbours and routes from
 * the kernel over netlink (libmnl), packets over AF_XDP when it attaches and
 * AF_PACKET otherwise.  live_start() fills the fib from the kernel (entries
 * the config declared in ulvs_defs win) and registers everything on the
 * control thread's event loop; live_stop() removes everything it added. */
#ifndef ULVS_IO_LIVE_H
#define ULVS_IO_LIVE_H

#include <stdio.h>

#include "core/engine.h"

struct evloop;
struct live;

struct live_opts {
	const char *backend;     /* "auto", "afxdp", "afpacket" */
	FILE *log;
	int verbose;
};

/* Start the live data plane for engine e (over tables t and fib f, which it
 * completes from the kernel) on loop: packet sockets, neighbour events and a
 * 100 ms tick become loop events.  Returns NULL after logging why.  Opts must
 * outlive the returned handle. */
struct live *live_start(struct evloop *loop, struct engine *e, struct svc_table *t,
			struct fib *f, const struct live_opts *o);
/* The service tables changed (ulvsadm, reload): update what keeps the
 * kernel off the engine's packets (XDP steering maps or nftables rules). */
void live_tables_changed(struct live *l);
/* "afxdp", "afpacket" (the backend in use), or "none". */
const char *live_backend_name(const struct live *l);
/* Log final counters, unregister, remove the nftables table, close. */
void live_stop(struct live *l);

#endif
