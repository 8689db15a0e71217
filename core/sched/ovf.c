/* ovf — overflow connection (net/netfilter/ipvs/ip_vs_ovf.c).
 *
 * Connections go to the highest-weight dest (first of equals) while its
 * active connections do not exceed its weight, then overflow to the next
 * one down.  Here the weight is a connection budget, not a ratio.  Only
 * active connections count, so it suits TCP better than UDP.
 */
#include "sched-int.h"

static struct dest *ovf_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	struct dest *h = NULL;
	int32_t hw = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		int32_t w = d->weight;

		/* the kernel's test is activeconns > w: a dest is still
		 * eligible when exactly at its weight */
		if (!sched_dest_present(d) || sched_dest_overloaded(d) || w <= 0 ||
		    (int64_t)dest_active(d) > w)
			continue;
		if (!h || w > hw) {
			h = d;
			hw = w;
		}
	}
	return h;
}

const struct sched_ops sched_ovf_ops = {
	.name = "ovf",
	.pick = ovf_pick,
};
