/* sh — source hashing (net/netfilter/ipvs/ip_vs_sh.c).
 *
 * A 256-bucket table maps the client's address (and with sh-port, its
 * source port) to a server.  Buckets are dealt in list order, each dest
 * taking as many consecutive buckets as its weight before the next one's
 * turn, round and round until all 256 are set; a dest of weight 0 still
 * takes one bucket per round, as in the kernel, and those buckets then
 * yield nothing (or, with sh-fallback, another dest).
 * The bucket of a key is hash_32(port + addr, 8), the kernel's current
 * hash.  Without sh-fallback an unavailable dest (weight 0 or overloaded)
 * means no dest; with it, the kernel's deterministic probe sequence
 * (offset + hash) & 255 for offset = bucket, bucket + 1, ... finds another.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

#define SH_TAB_BITS 8
#define SH_TAB_SIZE (1u << SH_TAB_BITS)
#define SH_TAB_MASK (SH_TAB_SIZE - 1)
#define SH_NONE UINT32_MAX

struct sh_state {
	uint32_t bucket[SH_TAB_SIZE]; /* dest id or SH_NONE */
	uint64_t digest;
};

static inline uint32_t sh_hashkey(uint8_t af, const union ulvs_addr *a, uint16_t port,
				  uint32_t offset)
{
	return (offset + sched_hash_32(sched_ntohs(port) + sched_addr_fold(af, a), SH_TAB_BITS)) &
	       SH_TAB_MASK;
}

static void sh_build(struct svc_table *t, struct svc *s, struct sh_state *st)
{
	uint32_t n = 0, i = 0;
	int32_t count = 0;

	for (uint32_t j = 0; j < s->n_dests; j++)
		n += sched_dest_present(svc_dest(t, s, j));
	for (uint32_t b = 0; b < SH_TAB_SIZE; b++) {
		struct dest *d;

		if (n == 0) {
			st->bucket[b] = SH_NONE;
			continue;
		}
		while (!sched_dest_present(svc_dest(t, s, i)))
			i = (i + 1) % s->n_dests;
		d = svc_dest(t, s, i);
		st->bucket[b] = d->id;
		if (++count >= d->weight) {
			i = (i + 1) % s->n_dests;
			count = 0;
		}
	}
	st->digest = sched_dests_digest(t, s);
}

static int sh_init(struct svc_table *t, struct svc *s)
{
	struct sh_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	sh_build(t, s, st);
	s->sched_data = st;
	return 0;
}

static void sh_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

static int sh_update(struct svc_table *t, struct svc *s)
{
	struct sh_state *st = s->sched_data;

	if (sched_dests_digest(t, s) != st->digest)
		sh_build(t, s, st);
	return 0;
}

static inline bool sh_unavailable(const struct dest *d)
{
	return !sched_dest_present(d) || d->weight <= 0 || sched_dest_overloaded(d);
}

static struct dest *sh_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct sh_state *st = s->sched_data;
	uint16_t port = (s->flags & SVC_F_SCHED2) ? sched_key_port(k) : 0;
	uint32_t ihash = sh_hashkey(k->af, &k->saddr, port, 0);
	uint32_t id = st->bucket[ihash];
	struct dest *d;

	if (id == SH_NONE)
		return NULL;
	d = &t->dests[id];
	if (!sh_unavailable(d))
		return d;
	if (!(s->flags & SVC_F_SCHED1))
		return NULL;
	for (uint32_t off = 0; off < SH_TAB_SIZE; off++) {
		uint32_t roff = (off + ihash) % SH_TAB_SIZE;

		id = st->bucket[sh_hashkey(k->af, &k->saddr, port, roff)];
		if (id == SH_NONE)
			break;
		d = &t->dests[id];
		if (!sh_unavailable(d))
			return d;
	}
	return NULL;
}

const struct sched_ops sched_sh_ops = {
	.name = "sh",
	.init = sh_init,
	.done = sh_done,
	.update = sh_update,
	.pick = sh_pick,
};
