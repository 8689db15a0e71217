/* fo — weighted fail over (net/netfilter/ipvs/ip_vs_fo.c).
 *
 * Everything goes to the non-overloaded dest with the highest weight (the
 * first of equals); the others are hot standbys that take over, in weight
 * order, when it fails, is quiesced or crosses its upper threshold.
 */
#include "sched-int.h"

static struct dest *fo_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct dest *best = NULL;
	int32_t hw = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);

		if (sched_dest_present(d) && !sched_dest_overloaded(d) && d->weight > hw) {
			best = d;
			hw = d->weight;
		}
	}
	return best;
}

const struct sched_ops sched_fo_ops = {
	.name = "fo",
	.pick = fo_pick,
};
