/* rr — round robin (net/netfilter/ipvs/ip_vs_rr.c).
 *
 * Walks the dest list from the one after the last choice and takes the first
 * dest with weight > 0 that is not overloaded; the last choice itself is the
 * final candidate, so one usable dest keeps getting everything.  The position
 * lives in svc->sched_cursor: 0 is the list head (nothing chosen yet), i + 1
 * means dests[i] was chosen last.
 */
#include "sched-int.h"

static int rr_init(struct svc_table *t, struct svc *s)
{
	s->sched_cursor = 0;
	return 0;
}

/* ip_vs_rr_del_dest() steps the cursor back when its dest goes; with a
 * whole-list update all we can keep is a position that still exists. */
static int rr_update(struct svc_table *t, struct svc *s)
{
	if (s->sched_cursor > s->n_dests)
		s->sched_cursor = 0;
	return 0;
}

static struct dest *rr_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	uint32_t n = s->n_dests, cur = s->sched_cursor;

	if (n == 0)
		return NULL;
	if (cur > n)
		cur = 0;
	/* From the head the kernel makes one pass; from a dest it wraps round
	 * and ends on that dest: n candidates either way. */
	for (uint32_t step = 0; step < n; step++) {
		uint32_t i = (cur + step) % n; /* cur is 1-based: dests[cur] follows dests[cur-1] */
		struct dest *d = svc_dest(t, s, i);

		if (sched_dest_present(d) && !sched_dest_overloaded(d) && d->weight > 0) {
			s->sched_cursor = i + 1;
			return d;
		}
	}
	return NULL;
}

const struct sched_ops sched_rr_ops = {
	.name = "rr",
	.init = rr_init,
	.update = rr_update,
	.pick = rr_pick,
};
