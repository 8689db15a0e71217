/* The scheduler registry: every IPVS scheduler by the name ipvsadm -s and
 * keepalived's lb_algo use, plus the few helpers several schedulers share.
 * Adding a scheduler is one file with a struct sched_ops and one line here.
 */
#include <string.h>

#include "sched-int.h"

static const struct sched_ops *const sched_table[] = {
	&sched_rr_ops,  &sched_wrr_ops,   &sched_lc_ops, &sched_wlc_ops, &sched_sed_ops,
	&sched_nq_ops,  &sched_lblc_ops,  &sched_lblcr_ops, &sched_dh_ops, &sched_sh_ops,
	&sched_mh_ops,  &sched_fo_ops,    &sched_ovf_ops, &sched_twos_ops, NULL,
};

const struct sched_ops *sched_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; sched_table[i]; i++)
		if (strcmp(sched_table[i]->name, name) == 0)
			return sched_table[i];
	return NULL;
}

const struct sched_ops *const *sched_all(void)
{
	return sched_table;
}

uint64_t sched_dests_digest(const struct svc_table *t, const struct svc *s)
{
	/* FNV-1a over 64-bit words; collisions only cost a skipped rebuild in
	 * theory, and the inputs are a handful of small integers. */
	uint64_t h = 0xcbf29ce484222325ull ^ s->n_dests;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = &t->dests[s->dests[i]];
		uint64_t w = ((uint64_t)s->dests[i] << 33) | ((uint64_t)(uint32_t)d->weight << 1) |
			     sched_dest_present(d);

		for (int b = 0; b < 64; b += 8) {
			h ^= (w >> b) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}

uint32_t sched_gcd(uint32_t a, uint32_t b)
{
	while (a) {
		uint32_t r = b % a;

		b = a;
		a = r;
	}
	return b;
}
