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

struct dest *sched_wlc_least(struct svc_table *t, const struct svc *s)
{
	struct dest *least = NULL;
	uint64_t loh = 0;
	uint32_t i;

	for (i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);

		if (sched_dest_present(d) && !sched_dest_overloaded(d) && d->weight > 0) {
			least = d;
			loh = sched_dest_overhead(d);
			break;
		}
	}
	if (!least)
		return NULL;
	for (i++; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		uint64_t doh;

		/* weight 0 can never win the strict comparison below */
		if (!sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		doh = sched_dest_overhead(d);
		if (loh * (uint64_t)d->weight > doh * (uint64_t)least->weight) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

static int wlc_init(struct svc_table *t, struct svc *s)
{
	return 0;
}

static void wlc_done(struct svc_table *t, struct svc *s)
{
}

static int wlc_update(struct svc_table *t, struct svc *s)
{
	return 0;
}

static struct dest *wlc_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	return sched_wlc_least(t, s);
}

const struct sched_ops sched_wlc_ops = {
	.name = "wlc",
	.init = wlc_init,
	.done = wlc_done,
	.update = wlc_update,
	.pick = wlc_pick,
};
