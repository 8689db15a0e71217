/* Prometheus text exposition (format 0.0.4) over a tiny HTTP/1.0 server on
 * the event loop.
 *
 * Off by default; `metrics_listen ADDR [PORT]` in ulvs_defs turns it on
 * (loopback is what we suggest: the endpoint has no authentication).  A
 * scrape of /metrics renders, on the control thread, the data plane's own
 * families (per service and per real server connections, packets, bytes and
 * rates, drops by reason, connection table, backend and workers) and then
 * every family other subsystems registered with metrics_register() (VRRP
 * state, checker results, sync), in registration order.
 * Rates are estimated as IPVS's ip_vs_est.c does: a sample every 2 s, moved
 * into an average with weight 1/4, so they read like `ipvsadm --rate`.
 * Return convention: 0 / -errno; NULL handles on failure.
 */
#ifndef ULVS_METRICS_METRICS_H
#define ULVS_METRICS_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"

struct engine;
struct evloop;
struct metrics;
struct metrics_out;

/* --- writing families (for registered callbacks) ------------------------- */

/* "# HELP" and "# TYPE" lines; type is "counter", "gauge" or "untyped".
 * Names follow Prometheus conventions: ulvs_ prefix, base units, counters
 * end in _total. */
void metrics_family(struct metrics_out *o, const char *name, const char *type,
		    const char *help);
/* One sample: name{k1="v1",...} value.  The variadic part is label name,
 * label value pairs ending with NULL; values are escaped here. */
void metrics_sample(struct metrics_out *o, const char *name, double value, ...)
	__attribute__((sentinel));

/* --- registration (global: subsystems need no handle) --------------------- */

typedef void (*metrics_cb)(void *arg, struct metrics_out *o);
/* Add a producer of families under a unique name (e.g. "vrrp", "check").
 * May be called before or after metrics_start().  -EEXIST, -ENOSPC (32
 * producers), -EINVAL. */
int metrics_register(const char *name, metrics_cb cb, void *arg);
/* Remove it; 0 or -ENOENT. */
int metrics_unregister(const char *name);

/* --- the endpoint --------------------------------------------------------- */

struct metrics_opts {
	uint8_t af;                /* 0: 127.0.0.1 */
	union ulvs_addr addr;
	uint16_t port;             /* host order; 0: any free port (tests) */
	const char *backend;       /* data plane backend name, for ulvs_dataplane_info */
	unsigned workers;          /* data plane worker threads */
	FILE *log;                 /* NULL: stderr */
};

#define METRICS_DEFAULT_PORT 9117

/* Listen and serve on loop; e's tables are read at each scrape.  NULL after
 * logging why. */
struct metrics *metrics_start(struct evloop *l, struct engine *e, const struct metrics_opts *o);
void metrics_stop(struct metrics *m);

/* Render the whole exposition into a malloc'd NUL-terminated string (what
 * a scrape returns; for tests).  NULL on ENOMEM. */
char *metrics_render(struct metrics *m, size_t *len);

/* The port listened on (the one the kernel chose when opts gave 0). */
uint16_t metrics_port(const struct metrics *m);

#endif
