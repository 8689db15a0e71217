/* Route and neighbour lookup for the data plane (see fib-t.h).
 * Return convention: 0 or -errno.  Writers are the control thread only;
 * the engine reads.  Lookups are O(routes) for routes (longest prefix by scan,
 * route tables here are small) and O(1) expected for neighbours. */
#ifndef ULVS_CORE_FIB_H
#define ULVS_CORE_FIB_H

#include "fib-t.h"

void fib_init(struct fib *f);
/* Add an interface; returns its id (>= 0) or -ENOSPC. */
int fib_add_iface(struct fib *f, const char *name, const struct ulvs_mac *mac, uint16_t mtu,
		  uint32_t os_ifindex);
int fib_add_route(struct fib *f, enum ulvs_af af, const union ulvs_addr *prefix, unsigned plen,
		  const union ulvs_addr *gw, uint16_t iface);
/* Insert or update; -ENOSPC when the table is full. */
int fib_add_neigh(struct fib *f, enum ulvs_af af, const union ulvs_addr *addr,
		  const struct ulvs_mac *mac, uint16_t iface);
const struct fib_neigh *fib_find_neigh(const struct fib *f, enum ulvs_af af,
				       const union ulvs_addr *addr);
/* Longest-prefix route to dst; NULL when none. */
const struct fib_route *fib_find_route(const struct fib *f, enum ulvs_af af,
				       const union ulvs_addr *dst);
/* Route dst, then find the neighbour of the next hop.
 * Returns 0, -ENETUNREACH (no route) or -EHOSTUNREACH (no neighbour entry). */
int fib_resolve(const struct fib *f, enum ulvs_af af, const union ulvs_addr *dst,
		struct fib_nexthop *nh);
/* The director's own source address on iface for af (TUN outer source,
 * ICMP errors); NULL when the interface has none. */
const union ulvs_addr *fib_iface_addr(const struct fib *f, uint16_t iface, enum ulvs_af af);

#endif
