/* The kernel's view of the network, read over rtnetlink (libmnl).
 *
 * In live mode the engine's struct fib (interfaces, routes, neighbours) is a
 * copy of what the kernel knows: nl_fib_fill() dumps links, addresses, main
 * table routes and neighbours once at start; afterwards nl_events() follows
 * neighbour notifications as they happen and nl_neigh_refresh() re-dumps the
 * neighbour table (every second from the live loop) to catch whatever a
 * notification overrun lost.  Entries the config declared in `ulvs_defs` were
 * put in the fib before nl_fib_fill() runs and always win: the kernel's
 * answer for the same interface, route or neighbour is ignored.
 *
 * nl_neigh_resolve() asks the kernel to resolve a next hop it has no entry
 * for (RTM_NEWNEIGH with NTF_USE: the kernel sends the ARP request or
 * neighbour solicitation itself); the answer arrives as a notification.
 *
 * Return convention: 0 or -errno.  Control thread only.
 */
#ifndef ULVS_IO_NETLINK_H
#define ULVS_IO_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/fib-t.h"
#include "core/service-t.h"

struct nl_ctx;

/* Opens the request socket and the neighbour notification socket.
 * NULL with errno set on failure.  log may be NULL. */
struct nl_ctx *nl_open(FILE *log);
void nl_close(struct nl_ctx *nl);

/* Fills f from the kernel, skipping loopback and non-Ethernet links.  t
 * (may be NULL) names the VIPs and FULLNAT local addresses, which are never
 * taken as an interface's own source address.  Cost: one dump of each table. */
int nl_fib_fill(struct nl_ctx *nl, struct fib *f, const struct svc_table *t);

/* Re-dumps the neighbour table into f.  Returns the number of entries
 * added or changed, or -errno. */
int nl_neigh_refresh(struct nl_ctx *nl, struct fib *f);
/* The same in two steps, so that the dump can run while data-plane
 * workers read f: nl_neigh_collect() dumps and only reads f, keeping the
 * entries that differ from it (returns how many, or -errno);
 * nl_neigh_apply() writes them into f (returns how many changed). */
int nl_neigh_collect(struct nl_ctx *nl, const struct fib *f);
int nl_neigh_apply(struct nl_ctx *nl, struct fib *f);

/* Notification socket, for poll(); nl_events() drains it without blocking
 * and returns the number of neighbour entries added or changed, or -errno. */
int nl_event_fd(const struct nl_ctx *nl);
int nl_events(struct nl_ctx *nl, struct fib *f);

/* Asks the kernel to resolve addr on os_ifindex.  Returns 0 when the
 * request was accepted (resolution itself is asynchronous). */
int nl_neigh_resolve(struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *addr,
		     uint32_t os_ifindex);

/* Kernel ifindex of the link holding local address addr, 0 when none
 * (as seen by the last nl_fib_fill()). */
uint32_t nl_addr_ifindex(const struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *addr);

/* fib interface id of kernel ifindex, -1 when the fib has no such link. */
int nl_fib_iface(const struct fib *f, uint32_t os_ifindex);

#endif
