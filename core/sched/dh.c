/* dh — destination hashing (net/netfilter/ipvs/ip_vs_dh.c).
 *
 * A static 256-bucket table maps the packet's destination address to a
 * server: buckets are dealt to the dests in list order, one each, round and
 * round (weights only decide whether a dest may be chosen, not how many
 * buckets it gets).  The bucket is (ntohl(addr) * 2654435761) & 255, the
 * kernel's multiplicative hash, so only the low byte of the address decides
 * it.  A bucket whose dest is down, quiesced or overloaded yields no dest:
 * dh never re-hashes (it is meant for cache clusters where a fixed mapping
 * matters more than availability).
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

#define DH_TAB_BITS 8
#define DH_TAB_SIZE (1u << DH_TAB_BITS)
#define DH_NONE UINT32_MAX

struct dh_state {
	uint32_t bucket[DH_TAB_SIZE]; /* dest id or DH_NONE */
	uint64_t digest;
};

static inline uint32_t dh_hashkey(uint8_t af, const union ulvs_addr *a)
{
	return (uint32_t)(sched_addr_fold(af, a) * 2654435761u) & (DH_TAB_SIZE - 1);
}

static void dh_build(struct svc_table *t, struct svc *s, struct dh_state *st)
{
	uint32_t present[ULVS_MAX_DESTS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->n_dests; i++)
		if (sched_dest_present(svc_dest(t, s, i)))
			present[n++] = s->dests[i];
	for (uint32_t b = 0; b < DH_TAB_SIZE; b++)
		st->bucket[b] = n ? present[b % n] : DH_NONE;
	st->digest = sched_dests_digest(t, s);
}

static int dh_init(struct svc_table *t, struct svc *s)
{
	struct dh_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	dh_build(t, s, st);
	s->sched_data = st;
	return 0;
}

static void dh_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

static int dh_update(struct svc_table *t, struct svc *s)
{
	struct dh_state *st = s->sched_data;

	if (sched_dests_digest(t, s) != st->digest)
		dh_build(t, s, st);
	return 0;
}

static struct dest *dh_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct dh_state *st = s->sched_data;
	uint32_t id = st->bucket[dh_hashkey(k->af, &k->daddr)];
	struct dest *d;

	if (id == DH_NONE)
		return NULL;
	d = &t->dests[id];
	if (!sched_dest_present(d) || d->weight <= 0 || sched_dest_overloaded(d))
		return NULL;
	return d;
}

const struct sched_ops sched_dh_ops = {
	.name = "dh",
	.init = dh_init,
	.done = dh_done,
	.update = dh_update,
	.pick = dh_pick,
};
