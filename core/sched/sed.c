/* sed — shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c).
 *
 * Minimises (activeconns + 1) / weight: the delay a new connection would
 * see if every server shared its capacity among its active connections.
 * Inactive connections do not count.  Cross-multiplied like wlc; ties keep
 * list order.
 */
#include "sched-int.h"

static uint64_t sed_overhead(const struct dest *d)
{
	return (uint64_t)dest_active(d) + 1;
}

struct dest *sched_sed_least(struct svc_table *t, const struct svc *s)
{
	return sched_least_weighted(t, s, sed_overhead);
}

static struct dest *sed_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	return sched_sed_least(t, s);
}

const struct sched_ops sched_sed_ops = {
	.name = "sed",
	.pick = sed_pick,
};
