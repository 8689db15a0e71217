/* twos — power of two choices (net/netfilter/ipvs/ip_vs_twos.c).
 *
 * Draws two dests at random, each with probability proportional to its
 * weight, and takes the one with the lower overhead / weight (the first
 * draw on a tie).  Nearly as even as wlc without scanning for the global
 * minimum's state under contention, and robust to stale counters.
 *
 * As in the kernel the draws are r = rand % (total + 1) and the first dest
 * at which the running sum reaches r is taken, so r = 0 lands on the first
 * dest (a 1 / (total + 1) tilt the kernel has too).  The kernel uses
 * prandom; here each service has its own splitmix64 stream seeded from the
 * service's identity, so a given table and traffic replay the same choices.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

struct twos_state {
	uint64_t rng;
};

static int twos_init(struct svc_table *t, struct svc *s)
{
	struct twos_state *st = calloc(1, sizeof(*st));
	uint64_t seed;

	if (!st)
		return -ENOMEM;
	seed = ((uint64_t)s->id << 32) ^ ((uint64_t)s->proto << 24) ^ s->port ^ s->fwmark ^
	       s->addr.q[0] ^ s->addr.q[1];
	st->rng = seed;
	(void)sched_rand_next(&st->rng);
	s->sched_data = st;
	return 0;
}

static void twos_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

static inline bool twos_eligible(const struct dest *d)
{
	return sched_dest_present(d) && !sched_dest_overloaded(d) && d->weight > 0;
}

static struct dest *twos_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			      uint64_t now_ns)
{
	struct twos_state *st = s->sched_data;
	struct dest *c1 = NULL, *c2 = NULL;
	uint64_t total = 0, oh1 = 0, oh2 = 0;
	int64_t r1, r2;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);

		if (twos_eligible(d))
			total += (uint64_t)d->weight;
	}
	if (total == 0)
		return NULL;
	total += 1;
	r1 = (int64_t)(sched_rand_next(&st->rng) % total);
	r2 = (int64_t)(sched_rand_next(&st->rng) % total);

	for (uint32_t i = 0; i < s->n_dests && !(c1 && c2); i++) {
		struct dest *d = svc_dest(t, s, i);

		if (!twos_eligible(d))
			continue;
		r1 -= d->weight;
		r2 -= d->weight;
		if (r1 <= 0 && !c1) {
			c1 = d;
			oh1 = sched_dest_overhead(d);
		}
		if (r2 <= 0 && !c2) {
			c2 = d;
			oh2 = sched_dest_overhead(d);
		}
	}
	/* oh1 / w1 > oh2 / w2, cross-multiplied */
	if (oh1 * (uint64_t)c2->weight > oh2 * (uint64_t)c1->weight)
		return c2;
	return c1;
}

const struct sched_ops sched_twos_ops = {
	.name = "twos",
	.init = twos_init,
	.done = twos_done,
	.pick = twos_pick,
};
