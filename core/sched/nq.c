/* nq — never queue (net/netfilter/ipvs/ip_vs_nq.c).
 *
 * An idle server (no active connections) is taken at once, the first one in
 * list order; when none is idle, the choice is sed's: minimum
 * (activeconns + 1) / weight, cross-multiplied.  Compared with sed this keeps
 * slow, lightly weighted servers busy instead of letting work queue on the
 * big ones.
 */
#include "sched-int.h"

static struct dest *nq_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	/* The kernel returns the first idle server it meets while computing
	 * sed's minimum; taking the first idle one, else sed's choice, is the
	 * same answer. */
	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		if (sched_dest_present(d) && !sched_dest_overloaded(d) && d->weight > 0 &&
		    dest_active(d) == 0)
			return d;
	}
	return sched_sed_least(t, s);
}

const struct sched_ops sched_nq_ops = {
	.name = "nq",
	.pick = nq_pick,
};
