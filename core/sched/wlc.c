/* wlc — weighted least connection (net/netfilter/ipvs/ip_vs_wlc.c), the
 * default scheduler of ipvsadm and keepalived.
 *
 * Minimises overhead / weight with overhead = (activeconns << 8) +
 * inactconns.  Division is avoided by comparing h1 * w2 > h2 * w1, which is
 * the same order when every weight is positive; products are 64-bit.  The
 * first present, non-overloaded dest with weight > 0 seeds the search, later
 * dests replace it only when strictly less loaded, so ties keep list order.
 * lblc and lblcr fall back to exactly this choice.
 */
#include "sched-int.h"

static uint64_t wlc_overhead(const struct dest *d)
{
	return sched_dest_overhead(d);
}

struct dest *sched_wlc_least(struct svc_table *t, const struct svc *s)
{
	return sched_least_weighted(t, s, wlc_overhead);
}

static struct dest *wlc_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	return sched_wlc_least(t, s);
}

const struct sched_ops sched_wlc_ops = {
	.name = "wlc",
	.pick = wlc_pick,
};
