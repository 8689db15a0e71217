/* One running director: the config in force, the data plane tables built
 * from it, the engine, and the operations the control plane performs on
 * them (health checks, VRRP, the control socket, reload).
 *
 * Threading: the engine currently runs on the control thread (one worker),
 * so every operation here mutates the live tables between batches and is
 * immediately visible; svc_commit() is called for each changed service.
 * Identity: connections refer to services and real servers by id, so ids
 * stay stable for as long as anything refers to them (a removed real server
 * keeps its slot, unavailable, until its connections are gone - IPVS's
 * "trash" list).
 * Return convention: 0 / -errno.
 */
#ifndef ULVS_DAEMON_DIRECTOR_H
#define ULVS_DAEMON_DIRECTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"
#include "core/engine.h"
#include "core/fib-t.h"
#include "core/service-t.h"
#include "daemon/evloop.h"

struct director;

struct director_opts {
	bool replay;            /* tables for replay: synthesized fib, all healthy */
	FILE *log;              /* NULL: stderr */
};

struct director *director_new(struct evloop *l, const struct director_opts *o);
void director_free(struct director *d);

/* First load: build the tables from c (which the director then owns) and
 * create the engine.  Nothing is half-applied: on error d is unchanged and
 * c still belongs to the caller. */
int director_load(struct director *d, struct conf *c, uint64_t now_ns, FILE *err);

const struct conf *director_conf(const struct director *d);
struct engine *director_engine(struct director *d);
struct svc_table *director_services(struct director *d);
struct fib *director_fib(struct director *d);
struct engine_params *director_params(struct director *d);
struct evloop *director_loop(struct director *d);
FILE *director_log(struct director *d);

/* The data plane objects built from one config real server (a virtual
 * server group yields one per member service).  Calls fn for each; returns
 * how many there were. */
typedef void (*director_dest_fn)(void *arg, struct svc *s, struct dest *dst);
unsigned director_foreach_dest(struct director *d, const struct conf_vs *vs,
			       const struct conf_rs *rs, director_dest_fn fn, void *arg);

/* Health of a config real server as a checker sees it.  Down: with
 * inhibit_on_failure the weight becomes 0 (existing connections stay),
 * otherwise the server leaves the scheduling set (DEST_F_AVAILABLE off).
 * Up: back with its configured (or last dynamic) weight. */
int director_rs_set_up(struct director *d, const struct conf_vs *vs, const struct conf_rs *rs,
		       bool up);
/* misc_dynamic and friends: set the weight the server has while up. */
int director_rs_set_weight(struct director *d, const struct conf_vs *vs,
			   const struct conf_rs *rs, int32_t weight);

/* VRRP: vip became ours (active) or the master's (standby).  Every live
 * service on that address - and every fwmark service whose mark rules
 * cover it - is served or left alone accordingly (SVC_F_STANDBY); a
 * backup keeps the connections sync gives it without forwarding them.
 * Returns how many services changed state. */
unsigned director_set_vip_active(struct director *d, enum ulvs_af af, const union ulvs_addr *vip,
				 bool active);

/* Subscribers to table changes (metrics, sync, VRRP enabling services):
 * called after every change with the reason in text for the log. */
typedef void (*director_change_cb)(void *arg, const char *why);
int director_on_change(struct director *d, director_change_cb cb, void *arg);

/* Reload (daemon/reload.c), after the live tables were edited to match c:
 * c becomes the config in force and the map of config real servers is
 * rebuilt from ents (one per real server of c, with live svc/dest ids).
 * An entry whose live slot held the same real server before keeps its
 * health (up/down) and, when its configured weight did not change, its
 * dynamic weight; new ones start up, as at first load.  Every mapped
 * server is then put in that state in the tables.  *old gets the previous
 * config (the caller frees it once nothing points into it).  -ENOMEM
 * changes nothing.  O(entries * old entries). */
struct director_rs_ent {
	const struct conf_vs *vs;
	const struct conf_rs *rs;
	uint32_t svc_id, dest_id;
};
int director_reload(struct director *d, struct conf *c, const struct director_rs_ent *ents,
		    unsigned n, struct conf **old);
/* Tell the subscribers the tables changed (the control socket calls this
 * after it applied a batch; the health setters call it themselves). */
void director_notify(struct director *d, const char *why);

#endif
