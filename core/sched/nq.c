/* nq — never queue (net/netfilter/ipvs/ip_vs_nq.c).
 *
 * An idle server (no active connections) is taken at once, the first one in
 * list order; when none is idle, the choice is sed's: minimum
 * (activeconns + 1) / weight, cross-multiplied.  Compared with sed this keeps
 * slow, lightly weighted servers busy instead of letting work queue on the
 * big ones.
 */
#include "sched-int.h"

static int nq_init(struct svc_table *t, struct svc *s)
{
	return 0;
}

static void nq_done(struct svc_table *t, struct svc *s)
{
}

static int nq_update(struct svc_table *t, struct svc *s)
{
	return 0;
}

static struct dest *nq_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct dest *least = NULL;
	uint64_t loh = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		uint64_t doh;

		if (!sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		if (d->activeconns == 0)
			return d;
		doh = (uint64_t)d->activeconns + 1;
		if (!least || loh * (uint64_t)d->weight > doh * (uint64_t)least->weight) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

const struct sched_ops sched_nq_ops = {
	.name = "nq",
	.init = nq_init,
	.done = nq_done,
	.update = nq_update,
	.pick = nq_pick,
};
