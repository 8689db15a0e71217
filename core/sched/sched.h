/* Scheduler interface: one ops table per IPVS scheduler, registered by name.
 *
 * A scheduler picks a real server for a new connection of a service.  It may
 * keep state in svc->sched_data (allocated by init, rebuilt by update on the
 * control thread, never allocated by pick).  pick runs on the packet path:
 * no allocation, no syscalls.  Semantics follow net/netfilter/ipvs/ip_vs_*.c.
 */
#ifndef ULVS_CORE_SCHED_H
#define ULVS_CORE_SCHED_H

#include <stdint.h>

#include "../service-t.h"

/* What a scheduler may look at for a new connection. */
struct sched_key {
	union ulvs_addr saddr, daddr; /* client address, destination (VIP) */
	uint16_t sport, dport;        /* network order */
	uint8_t af, proto;
};

struct sched_ops {
	const char *name;
	/* init, done and update may be NULL for schedulers without state. */
	/* Allocate private state for s; 0 or -ENOMEM. */
	int (*init)(struct svc_table *t, struct svc *s);
	/* Free private state. */
	void (*done)(struct svc_table *t, struct svc *s);
	/* Dest set or weights changed; rebuild what must be.  0 or -errno. */
	int (*update)(struct svc_table *t, struct svc *s);
	/* Choose a dest; NULL when none is usable.  now_ns: the engine clock. */
	struct dest *(*pick)(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns);
};

/* NULL when name is unknown.  O(schedulers). */
const struct sched_ops *sched_find(const char *name);
/* NULL-terminated list of every scheduler, for help texts and tests. */
const struct sched_ops *const *sched_all(void);

/* Overhead of a dest as IPVS computes it for lc/wlc/...:
 * (activeconns << 8) + inactconns. */
static inline uint64_t sched_dest_overhead(const struct dest *d)
{
	return ((uint64_t)dest_active(d) << 8) + dest_inact(d);
}

#endif
