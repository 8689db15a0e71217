/* wrr — weighted round robin (net/netfilter/ipvs/ip_vs_wrr.c).
 *
 * The kernel's current-weight walk: passes over the list with a current
 * weight cw that starts at the maximum weight and drops by the gcd of the
 * weights after each pass; a dest is taken when its weight >= cw.  Weights
 * 4, 3, 2 give A A B A B C A B C, then again.  mw is the maximum reduced by
 * (gcd - 1) so that the last pass is always cw = 1: a dest whose weight fell
 * below the gcd is still found (the kernel's comment on ip_vs_wrr_mark).
 * update() recomputes gcd and maximum and restarts from the list head, as
 * ip_vs_wrr_dest_changed() does, but only when the dest set changed.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

#define WRR_HEAD (-1)

struct wrr_state {
	int32_t cl;      /* index of the current dest, WRR_HEAD for the list head */
	int32_t cw;      /* current weight */
	int32_t mw;      /* maximum weight - (di - 1); 0: nothing schedulable */
	int32_t di;      /* decreasing interval: gcd of the positive weights */
	uint64_t digest; /* sched_dests_digest() of the last update */
};

static void wrr_compute(const struct svc_table *t, const struct svc *s, struct wrr_state *w)
{
	uint32_t g = 0;
	int32_t max = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = &t->dests[s->dests[i]];

		if (!sched_dest_present(d) || d->weight <= 0)
			continue;
		g = sched_gcd((uint32_t)d->weight, g);
		if (d->weight > max)
			max = d->weight;
	}
	w->di = g ? (int32_t)g : 1;
	w->mw = max - (w->di - 1);
}

static int wrr_init(struct svc_table *t, struct svc *s)
{
	struct wrr_state *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->cl = WRR_HEAD;
	wrr_compute(t, s, w);
	w->cw = w->mw;
	w->digest = sched_dests_digest(t, s);
	s->sched_data = w;
	return 0;
}

static void wrr_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

static int wrr_update(struct svc_table *t, struct svc *s)
{
	struct wrr_state *w = s->sched_data;
	uint64_t dg = sched_dests_digest(t, s);

	if (dg == w->digest)
		return 0;
	w->digest = dg;
	w->cl = WRR_HEAD;
	wrr_compute(t, s, w);
	if (w->cw > w->mw || w->cw == 0)
		w->cw = w->mw;
	else if (w->di > 1)
		w->cw = (w->cw / w->di) * w->di + 1;
	return 0;
}

static struct dest *wrr_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			     uint64_t now_ns)
{
	struct wrr_state *w = s->sched_data;
	int32_t n = (int32_t)s->n_dests;
	int32_t pos = w->cl, last, stop = WRR_HEAD - 1; /* no stop yet */
	bool last_pass = false, restarted = false;

	if (pos >= n)
		pos = WRR_HEAD;
	if (w->mw <= 0) {
		w->cl = pos;
		return NULL;
	}
	last = pos;
	for (;;) {
		for (int32_t i = pos + 1; i < n; i++) {
			struct dest *d = svc_dest(t, s, (uint32_t)i);

			if (sched_dest_present(d) && !sched_dest_overloaded(d) &&
			    d->weight >= w->cw) {
				w->cl = i;
				return d;
			}
			/* every dest was tried at cw = 1 */
			if (i == stop) {
				w->cl = i;
				return NULL;
			}
		}
		pos = WRR_HEAD;
		w->cw -= w->di;
		if (w->cw <= 0) {
			w->cw = w->mw;
			/* Done when the last pass (cw = 1) already covered the
			 * whole list: it started at the head, or it followed a
			 * pass that ran past the end. */
			if (last_pass || last == WRR_HEAD) {
				w->cl = WRR_HEAD;
				return NULL;
			}
			restarted = true;
		}
		last_pass = w->cw <= w->di;
		/* The cw = 1 pass after a restart only needs to reach 'last'. */
		if (last_pass && restarted && last != WRR_HEAD)
			stop = last;
	}
}

const struct sched_ops sched_wrr_ops = {
	.name = "wrr",
	.init = wrr_init,
	.done = wrr_done,
	.update = wrr_update,
	.pick = wrr_pick,
};
