/* lc — least connection (net/netfilter/ipvs/ip_vs_lc.c).
 *
 * The dest with the smallest overhead, (activeconns << 8) + inactconns, so
 * that active connections dominate and idle TIME_WAIT-ish ones only break
 * ties.  Weight is not a factor beyond weight 0 meaning "no new
 * connections"; overloaded dests are skipped; the first of equals wins.
 */
#include "sched-int.h"

static struct dest *lc_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct dest *least = NULL;
	uint64_t loh = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		uint64_t doh;

		if (!sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		doh = sched_dest_overhead(d);
		if (!least || doh < loh) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

const struct sched_ops sched_lc_ops = {
	.name = "lc",
	.pick = lc_pick,
};
