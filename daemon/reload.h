/* Hitless configuration reload (SIGHUP).
 *
 * The file is loaded and built again into scratch tables; nothing running
 * changes unless both succeed (errors are logged as file:line:col and the
 * running config stays).  The difference between the config in force and
 * the new one becomes one batch of ipvsadm commands (ctl/ctl_ops.h), applied
 * all or nothing.  A real server the new config drops while connections
 * still use it is drained: weight 0 (no new connections), deleted once its
 * connections and templates are gone - deleting it at once would drop their
 * packets, as IPVS does.  A removed virtual service goes at once, as with
 * ipvsadm -D (its connections end).  Then the
 * director's map of config real servers and the health checkers move to the
 * new config, keeping the state of everything whose settings did not change
 * (keepalived's checker compare, BIRD's reconfigure), and the data plane's
 * steering is told (director_notify "reload").
 *
 * What is not applied while running - ulvs_defs interfaces, routes and
 * neighbours, the engine settings, the control socket and metrics listener,
 * lvs_sync_daemon, and VRRP - is named in the log with "restart ulvsd to
 * apply".  VRRP keeps running on the config it was started with, which is
 * kept alive here until reload_free().
 *
 * Control thread only.  Return convention: 0 / -errno; NULL on ENOMEM.
 */
#ifndef ULVS_DAEMON_RELOAD_H
#define ULVS_DAEMON_RELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/engine.h"
#include "core/fib-t.h"
#include "core/service-t.h"
#include "ctl/ctl_proto.h"
#include "daemon/director.h"

struct check;
struct reload;

/* path: the config file to read again on every reload_run(). */
struct reload *reload_new(struct director *d, const char *path);
/* keepalived's config-id for `@ID` lines, as ulvsd -i gave it (NULL: the
 * host name); the string must outlive r. */
void reload_set_config_id(struct reload *r, const char *id);
/* The health checkers to carry over (NULL: none running). */
void reload_set_check(struct reload *r, struct check *k);
/* c, the config VRRP and sync were started with (the director's at start),
 * must stay alive while they run: a reload that replaces it keeps it. */
void reload_pin(struct reload *r, const struct conf *c);
/* Frees the configs kept alive: call after vrrp_stop(). */
void reload_free(struct reload *r);

/* Reload now.  0: applied (possibly with parts that need a restart,
 * logged); -EINVAL: the new config is invalid or cannot be built, nothing
 * changed; other -errno: refused by the tables (logged), nothing changed. */
int reload_run(struct reload *r);

/* The batch turning the live table into next (both built from configs),
 * for services and their real servers and local addresses.  old: the table
 * the config in force builds; what is live but was not in old (added with
 * ulvsadm) is left alone, as keepalived leaves it.  old NULL: everything
 * not in next goes.  Settings (scheduler, persistence, weight, thresholds,
 * forwarding) are compared with old's where old has the server, so a
 * weight a checker or misc_dynamic set is not reset unless the config
 * changed it; else with the live ones.  next_fib names the interfaces of
 * next's local addresses.  *out is malloc'd (free()), *n may be 0.
 * Deletions come first.  drain: a real server to delete that established
 * connections still use is set to weight 0 instead (EDIT_DEST), because deleting it
 * would drop their packets as IPVS does; reload_run() deletes it once they
 * are gone.  O(services * dests). */
int reload_diff(struct svc_table *live, struct svc_table *old, struct svc_table *next,
		const struct fib *next_fib, bool drain, struct ctl_cmd **out, uint32_t *n);

/* The parts of a config that a reload cannot apply while running. */
enum reload_restart {
	RELOAD_RESTART_FIB = 1u << 0,      /* ulvs_defs interfaces, routes, neighbours */
	RELOAD_RESTART_ENGINE = 1u << 1,   /* conn_table_size, expire_*, conn_reuse_mode */
	RELOAD_RESTART_LISTEN = 1u << 2,   /* control_socket, metrics_listen */
	RELOAD_RESTART_SYNC = 1u << 3,     /* lvs_sync_daemon */
	RELOAD_RESTART_VRRP = 1u << 4,     /* VRRP instances, scripts, groups, globals */
};
/* Which of those differ between a and b (enum reload_restart bits);
 * -ENOMEM when a comparison could not be made. */
int reload_compare(const struct conf *a, const struct conf *b);

#endif
