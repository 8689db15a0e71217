/* Live packet I/O around the engine: interfaces, neighbours and routes from
 * the kernel over netlink (libmnl), packets over AF_XDP when it attaches and
 * AF_PACKET otherwise.  live_run() fills fib from the kernel (entries the
 * config declared in ulvs_defs win), serves until SIGINT/SIGTERM, and removes
 * everything it added on the way out.  Returns a process exit code. */
#ifndef ULVS_IO_LIVE_H
#define ULVS_IO_LIVE_H

#include <stdio.h>

#include "core/engine.h"

struct live_opts {
	const char *backend;     /* "auto", "afxdp", "afpacket" */
	FILE *log;
	int verbose;
};

int live_run(struct engine_params *ep, struct svc_table *t, struct fib *f,
	     const struct live_opts *o);

#endif
