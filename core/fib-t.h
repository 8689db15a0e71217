/* Interfaces, routes and neighbours as the data plane sees them.
 *
 * The engine never asks the kernel anything: the control thread (netlink in
 * live mode, the config's `ulvs_defs` block in replay mode) fills a struct fib
 * and the engine only reads it.  A lookup answers "leave by which interface,
 * from which MAC, to which MAC" for a next hop.
 */
#ifndef ULVS_CORE_FIB_T_H
#define ULVS_CORE_FIB_T_H

#include <stdint.h>

#include "addr.h"
#include "constants.h"

struct fib_iface {
	char name[16];
	struct ulvs_mac mac;
	uint16_t mtu;
	uint16_t id;             /* index into fib.ifaces; what verdicts carry */
	uint32_t os_ifindex;     /* kernel ifindex in live mode, 0 in replay */
	union ulvs_addr addr4;   /* primary IPv4 (TUN outer source, ICMP source) */
	union ulvs_addr addr6;   /* primary global IPv6 */
	uint8_t has_addr4, has_addr6;
};

struct fib_route {
	union ulvs_addr prefix;
	union ulvs_addr gateway; /* zero: on link */
	uint8_t af, plen;
	uint16_t iface;
};

struct fib_neigh {
	union ulvs_addr addr;
	struct ulvs_mac mac;
	uint8_t af, valid;
	uint16_t iface;
};

struct fib {
	struct fib_iface ifaces[ULVS_MAX_IFACES];
	unsigned n_ifaces;
	struct fib_route routes[ULVS_MAX_ROUTES];
	unsigned n_routes;
	struct fib_neigh neighs[ULVS_MAX_NEIGHS];   /* open-addressed hash */
	unsigned n_neighs;
};

/* Answer of fib_resolve(): everything needed to put a frame on the wire. */
struct fib_nexthop {
	uint16_t iface;
	struct ulvs_mac src, dst;
	uint16_t mtu;
};

#endif
