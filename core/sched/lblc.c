/* lblc — locality-based least connection (net/netfilter/ipvs/ip_vs_lblc.c).
 *
 * For cache clusters: a destination address (the site being fetched) keeps
 * going to the server that served it last, so that server's cache stays
 * hot.  The kernel's rule:
 *
 *   n = cache[daddr]
 *   if n is absent, or n is down or quiesced, or n.active > n.weight while
 *      some server m has m.active < m.weight / 2:
 *        n = cache[daddr] = the weighted least-connection server (wlc)
 *
 * An entry unused for the expiration period (svc->sched_param seconds,
 * default 24 h: the kernel's lblc_expiration sysctl) is forgotten.
 *
 * Memory: the kernel grows a hash of kmalloc'ed entries and trims it from a
 * timer once it passes 16 * 1024 entries.  Here the cache is one
 * preallocated array of the same capacity, 4-way set associative; a new
 * entry takes a free or expired way, else evicts the least recently used
 * one of its set.  pick() never allocates.
 *
 * One deliberate difference: the kernel does not check the upper-threshold
 * flag on a cache hit, so a cached server keeps receiving connections past
 * its -x limit.  ipvsadm(8) promises that an overloaded server gets no new
 * connections, and this scheduler keeps that promise.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

#ifndef ULVS_LBLC_ENTRIES
#define ULVS_LBLC_ENTRIES 16384 /* a power of two, >= LBLC_WAYS */
#endif
#define LBLC_WAYS 4
#define LBLC_SETS (ULVS_LBLC_ENTRIES / LBLC_WAYS)
#define LBLC_DEFAULT_EXPIRE_S 86400u
#define NS_PER_S 1000000000ull

struct lblc_entry {
	union ulvs_addr addr; /* destination address */
	uint64_t lastuse;     /* now_ns of the last lookup */
	uint32_t dest;        /* dest id */
	uint8_t af;
	uint8_t used;
};

struct lblc_state {
	uint32_t set_bits;
	struct lblc_entry e[ULVS_LBLC_ENTRIES];
};

_Static_assert((LBLC_SETS & (LBLC_SETS - 1)) == 0, "ULVS_LBLC_ENTRIES / 4 must be a power of 2");

static uint64_t lblc_expire_ns(const struct svc *s)
{
	return (uint64_t)(s->sched_param ? s->sched_param : LBLC_DEFAULT_EXPIRE_S) * NS_PER_S;
}

static struct lblc_entry *lblc_set(struct lblc_state *st, uint8_t af, const union ulvs_addr *a)
{
	uint32_t h = st->set_bits ? sched_hash_32(sched_addr_fold(af, a), st->set_bits) : 0;

	return &st->e[h * LBLC_WAYS];
}

static int lblc_init(struct svc_table *t, struct svc *s)
{
	struct lblc_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->set_bits = (uint32_t)__builtin_ctz(LBLC_SETS);
	s->sched_data = st;
	return 0;
}

static void lblc_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

/* No update(): cached choices survive weight changes as in the kernel; an
 * entry whose dest left the service is refused at lookup time. */

/* A free or expired way of the set, else its least recently used one. */
static struct lblc_entry *lblc_victim(struct lblc_entry *set, uint64_t now_ns, uint64_t expire)
{
	struct lblc_entry *lru = &set[0];

	for (unsigned w = 0; w < LBLC_WAYS; w++) {
		if (!set[w].used || (now_ns >= set[w].lastuse && now_ns - set[w].lastuse >= expire))
			return &set[w];
		if (set[w].lastuse < lru->lastuse)
			lru = &set[w];
	}
	return lru;
}

static struct dest *lblc_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			      uint64_t now_ns)
{
	struct lblc_state *st = s->sched_data;
	struct lblc_entry *set = lblc_set(st, k->af, &k->daddr), *en = NULL, *victim;
	uint64_t expire = lblc_expire_ns(s);
	struct dest *d;

	for (unsigned w = 0; w < LBLC_WAYS; w++) {
		struct lblc_entry *e = &set[w];

		if (!e->used || e->af != k->af || !addr_eq(&e->addr, &k->daddr))
			continue;
		if (now_ns >= e->lastuse && now_ns - e->lastuse >= expire)
			e->used = 0; /* the kernel's full expiration check */
		else
			en = e;
		break;
	}
	if (en) {
		en->lastuse = now_ns;
		d = en->dest < t->n_dests ? &t->dests[en->dest] : NULL;
		if (d && d->svc_id == s->id && sched_dest_present(d) && d->weight > 0 &&
		    !sched_dest_overloaded(d) && !sched_lblc_overloaded(t, s, d))
			return d;
	}

	d = sched_wlc_least(t, s);
	if (!d)
		return NULL;
	victim = en ? en : lblc_victim(set, now_ns, expire);
	victim->addr = k->daddr;
	victim->af = k->af;
	victim->dest = d->id;
	victim->lastuse = now_ns;
	victim->used = 1;
	return d;
}

const struct sched_ops sched_lblc_ops = {
	.name = "lblc",
	.init = lblc_init,
	.done = lblc_done,
	.pick = lblc_pick,
};
