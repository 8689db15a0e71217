/* What the control socket does to and reads from the live tables, apart
 * from any socket: applying a batch of ipvsadm commands all or nothing,
 * the listings (services with counters and rates, the connection table,
 * timeouts), and the rate estimator.  ctl_server.c calls these on the
 * director's tables; unit tests call them on tables of their own.
 * Control thread only, between engine batches.  Return convention: 0 /
 * -errno.
 */
#ifndef ULVS_CTL_OPS_H
#define ULVS_CTL_OPS_H

#include "core/engine.h"
#include "core/fib-t.h"
#include "core/service-t.h"
#include "ctl/ctl_proto.h"

/* IPVS's estimator (ip_vs_est.c): every 2 s the counter deltas feed an
 * exponentially weighted average (1/4 for connections and packets, 1/8 for
 * bytes), shown per second. */
#define CTL_EST_PERIOD_MS 2000
struct ctl_est;
struct ctl_est *ctl_est_new(void);
void ctl_est_free(struct ctl_est *e);
/* Call every CTL_EST_PERIOD_MS.  O(services + dests). */
void ctl_est_tick(struct ctl_est *e, const struct svc_table *t);

/* Apply c[0..n) to t (and e for timeouts and FULLNAT local-address pools;
 * fib, when not NULL, resolves local-address interface names).  The whole
 * batch is first checked against a model of the table, so a batch with any
 * command IPVS would refuse changes nothing; *err then names the command
 * (index) and the errno IPVS gives (EEXIST, ESRCH, ENOENT, ERANGE, ...).
 * Only running out of memory while applying can leave a batch half done,
 * and *err says so.  O(batch * (services + dests)). */
int ctl_ops_apply(struct svc_table *t, struct engine *e, const struct fib *fib,
		  const struct ctl_cmd *c, uint32_t n, struct ctl_error *err);

/* Append a LIST reply payload for every live service (or only filter;
 * -ESRCH when it does not exist).  est may be NULL (rates 0); e (may be
 * NULL) counts the connections of each FULLNAT local address, O(connections)
 * per service that has local addresses. */
int ctl_ops_list(struct ctl_buf *b, struct svc_table *t, struct engine *e,
		 const struct fib *fib, const struct ctl_est *est, const struct ctl_svc_key *filter);
/* Append a CONNS reply payload: up to max connections from position
 * cursor in table order, with their remaining time at now_ns.  O(capacity). */
int ctl_ops_conns(struct ctl_buf *b, struct engine *e, uint64_t now_ns, uint32_t cursor,
		  uint32_t max);
/* The same for the connections and templates of one service only (-ESRCH
 * when it does not exist); the reply's cursor is the table position to
 * resume at.  O(capacity). */
int ctl_ops_conns_svc(struct ctl_buf *b, struct svc_table *t, struct engine *e, uint64_t now_ns,
		      uint32_t cursor, uint32_t max, const struct ctl_svc_key *svc);
void ctl_ops_timeouts(struct engine *e, struct ctl_timeouts *to);
void ctl_ops_info(struct svc_table *t, struct engine *e, struct ctl_info *i);

/* The service key of a live service, as the protocol carries it. */
void ctl_key_of(const struct svc *s, struct ctl_svc_key *k);
/* Text for an IPVS errno of an op, as libipvs's ipvs_strerror words it. */
const char *ctl_strerror(uint8_t op, int err);

#endif
