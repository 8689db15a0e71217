/* FULLNAT local port pools: one per local address, ports
 * ULVS_LPORT_MIN..ULVS_LPORT_MAX, O(1) alloc/free from a preallocated ring,
 * so 64k concurrent connections per local address.  Owned by one worker. */
#ifndef ULVS_CORE_LPORT_H
#define ULVS_CORE_LPORT_H

#include <stdint.h>

struct lport_pool;

/* seed perturbs the starting order (deterministic for a given seed). */
struct lport_pool *lport_pool_new(uint32_t seed);
/* Only the ports p with p % nparts == part (worker part of nparts; see
 * steer.h).  NULL on ENOMEM or part >= nparts. */
struct lport_pool *lport_pool_new_part(uint32_t seed, unsigned part, unsigned nparts);
void lport_pool_free(struct lport_pool *lp);
/* 0 and *port_be set, or -ENOSPC. */
int lport_alloc(struct lport_pool *lp, uint16_t *port_be);
/* Take port_be itself (a backup director reserving the port its master
 * chose for a synced connection).  0, -EBUSY when it is in use, -EINVAL when
 * it is outside ULVS_LPORT_MIN..MAX, -EXDEV when it is
 * another part's port.  O(1). */
int lport_take(struct lport_pool *lp, uint16_t port_be);
/* Return a port; freeing a port not allocated is ignored and counted. */
void lport_release(struct lport_pool *lp, uint16_t port_be);
uint32_t lport_in_use(const struct lport_pool *lp);
/* How many releases were ignored (port not allocated, or out of range). */
uint64_t lport_bad_releases(const struct lport_pool *lp);

#endif
