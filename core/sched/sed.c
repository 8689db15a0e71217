/* sed — shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c).
 *
 * Minimises (activeconns + 1) / weight: the delay a new connection would
 * see if every server shared its capacity among its active connections.
 * Inactive connections do not count.  Cross-multiplied like wlc; ties keep
 * list order.
 */
#include "sched-int.h"

static inline uint64_t sed_overhead(const struct dest *d)
{
	return (uint64_t)d->activeconns + 1;
}

static int sed_init(struct svc_table *t, struct svc *s)
{
	return 0;
}

static void sed_done(struct svc_table *t, struct svc *s)
{
}

static int sed_update(struct svc_table *t, struct svc *s)
{
	return 0;
}

static struct dest *sed_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	struct dest *least = NULL;
	uint64_t loh = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		uint64_t doh;

		if (!sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		doh = sed_overhead(d);
		if (!least || loh * (uint64_t)d->weight > doh * (uint64_t)least->weight) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

const struct sched_ops sched_sed_ops = {
	.name = "sed",
	.init = sed_init,
	.done = sed_done,
	.update = sed_update,
	.pick = sed_pick,
};
