/* Turning a validated config into data plane tables.
 *
 * build_dataplane() fills a fresh struct svc_table (services, real servers,
 * sorry servers, FULLNAT local addresses, firewall-mark rules) and, from the
 * `ulvs_defs` block, a struct fib (interfaces, routes, neighbours) and engine
 * parameters (lvs_timeouts, table size).  In replay mode every real server is
 * taken as healthy.  Returns 0 or -errno; on error nothing is half-built: the
 * caller frees the table.  Runs on the control thread.
 */
#ifndef ULVS_DAEMON_BUILD_H
#define ULVS_DAEMON_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/engine.h"
#include "core/fib-t.h"
#include "core/service-t.h"

struct conf_vs;
struct conf_rs;

struct build_opts {
	bool replay;            /* synthesize what netlink would tell (see README) */
	bool all_healthy;       /* mark every real server available */
	/* Called for every real server added (not sorry servers), so the
	 * director can map config objects to data plane ones.  May be NULL. */
	void (*on_dest)(void *arg, const struct conf_vs *vs, const struct conf_rs *rs,
			struct svc *s, struct dest *d);
	void *on_dest_arg;
};

int build_dataplane(const struct conf *c, const struct build_opts *o, struct svc_table *t,
		    struct fib *f, struct engine_params *p, FILE *err);

#endif
