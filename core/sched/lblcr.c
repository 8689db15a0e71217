/* lblcr — locality-based least connection with replication
 * (net/netfilter/ipvs/ip_vs_lblcr.c).
 *
 * Like lblc, but a destination address maps to a *set* of servers, so a
 * popular site can be served by several caches.  The kernel's rule:
 *
 *   if cache[daddr] has a set S:
 *       n = the weighted least-connection member of S that is up
 *       if |S| > 1 and S was last changed more than the expiration ago:
 *           drop the weighted most-connection member from S
 *       if n is absent, or n.active > n.weight while some server m has
 *          m.active < m.weight / 2:
 *           n = wlc over all servers; add n to S
 *   else:
 *       n = wlc over all servers; cache[daddr] = {n}
 *
 * So the set grows while its members are busy and sheds one member per
 * expiration period (svc->sched_param seconds, default 24 h: the kernel's
 * lblcr_expiration sysctl) once things are quiet.  An entry unused for the
 * expiration period is forgotten.
 *
 * Memory: one preallocated, 4-way set-associative array with the kernel's
 * 16 * 1024 entry capacity (a full set evicts its least recently used
 * entry), and at most LBLCR_SET_MAX servers per entry, newest first as the
 * kernel's list_add keeps them; when a set is full the newcomer replaces its
 * oldest member.  pick() never allocates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched-int.h"

#ifndef ULVS_LBLCR_ENTRIES
#define ULVS_LBLCR_ENTRIES 16384 /* a power of two, >= LBLCR_WAYS */
#endif
#ifndef LBLCR_SET_MAX
#define LBLCR_SET_MAX 16
#endif
#define LBLCR_WAYS 4
#define LBLCR_SETS (ULVS_LBLCR_ENTRIES / LBLCR_WAYS)
#define LBLCR_DEFAULT_EXPIRE_S 86400u
#define NS_PER_S 1000000000ull

struct lblcr_entry {
	union ulvs_addr addr; /* destination address */
	uint64_t lastuse;     /* now_ns of the last lookup */
	uint64_t lastmod;     /* now_ns of the last change to the set */
	uint32_t set[LBLCR_SET_MAX]; /* dest ids, newest first */
	uint8_t n;            /* members in set */
	uint8_t af;
	uint8_t used;
};

struct lblcr_state {
	uint32_t set_bits;
	struct lblcr_entry e[ULVS_LBLCR_ENTRIES];
};

_Static_assert((LBLCR_SETS & (LBLCR_SETS - 1)) == 0,
	       "ULVS_LBLCR_ENTRIES / 4 must be a power of 2");

static uint64_t lblcr_expire_ns(const struct svc *s)
{
	return (uint64_t)(s->sched_param ? s->sched_param : LBLCR_DEFAULT_EXPIRE_S) * NS_PER_S;
}

static bool lblcr_aged(uint64_t now_ns, uint64_t then, uint64_t expire)
{
	return now_ns >= then && now_ns - then >= expire;
}

static int lblcr_init(struct svc_table *t, struct svc *s)
{
	struct lblcr_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->set_bits = (uint32_t)__builtin_ctz(LBLCR_SETS);
	s->sched_data = st;
	return 0;
}

static void lblcr_done(struct svc_table *t, struct svc *s)
{
	free(s->sched_data);
	s->sched_data = NULL;
}

/* A set member that still belongs to this service, else NULL. */
static struct dest *lblcr_member(struct svc_table *t, const struct svc *s, uint32_t id)
{
	struct dest *d = id < t->n_dests ? &t->dests[id] : NULL;

	return d && d->svc_id == s->id ? d : NULL;
}

/* ip_vs_dest_set_min(): weighted least-connection member that is up. */
static struct dest *lblcr_set_min(struct svc_table *t, const struct svc *s,
				  const struct lblcr_entry *en)
{
	struct dest *least = NULL;
	uint64_t loh = 0;

	for (unsigned i = 0; i < en->n; i++) {
		struct dest *d = lblcr_member(t, s, en->set[i]);
		uint64_t doh;

		if (!d || !sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		doh = sched_dest_overhead(d);
		if (!least || loh * (uint64_t)d->weight > doh * (uint64_t)least->weight) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

/* ip_vs_dest_set_max(): weighted most-connection member; the kernel looks
 * at weight only here, not at availability or the overload flag. */
static int lblcr_set_max(struct svc_table *t, const struct svc *s, const struct lblcr_entry *en)
{
	int most = -1;
	uint64_t moh = 0;

	for (unsigned i = 0; i < en->n; i++) {
		struct dest *d = lblcr_member(t, s, en->set[i]);
		struct dest *m;
		uint64_t doh;

		if (!d || d->weight <= 0)
			continue;
		doh = sched_dest_overhead(d);
		m = most < 0 ? NULL : &t->dests[en->set[most]];
		if (!m || moh * (uint64_t)d->weight < doh * (uint64_t)m->weight) {
			most = (int)i;
			moh = doh;
		}
	}
	return most;
}

static void lblcr_set_erase(struct lblcr_entry *en, unsigned i, uint64_t now_ns)
{
	memmove(&en->set[i], &en->set[i + 1], (en->n - i - 1) * sizeof(en->set[0]));
	en->n--;
	en->lastmod = now_ns;
}

static void lblcr_set_insert(struct lblcr_entry *en, uint32_t id, uint64_t now_ns)
{
	for (unsigned i = 0; i < en->n; i++)
		if (en->set[i] == id)
			return;
	if (en->n == LBLCR_SET_MAX)
		en->n--; /* bounded: the oldest member makes room */
	memmove(&en->set[1], &en->set[0], en->n * sizeof(en->set[0]));
	en->set[0] = id;
	en->n++;
	en->lastmod = now_ns;
}

static struct lblcr_entry *lblcr_victim(struct lblcr_entry *set, uint64_t now_ns,
					uint64_t expire)
{
	struct lblcr_entry *lru = &set[0];

	for (unsigned w = 0; w < LBLCR_WAYS; w++) {
		if (!set[w].used || lblcr_aged(now_ns, set[w].lastuse, expire))
			return &set[w];
		if (set[w].lastuse < lru->lastuse)
			lru = &set[w];
	}
	return lru;
}

static struct dest *lblcr_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			       uint64_t now_ns)
{
	struct lblcr_state *st = s->sched_data;
	uint32_t h = st->set_bits ? sched_hash_32(sched_addr_fold(k->af, &k->daddr), st->set_bits) : 0;
	struct lblcr_entry *set = &st->e[h * LBLCR_WAYS], *en = NULL;
	uint64_t expire = lblcr_expire_ns(s);
	struct dest *d;

	for (unsigned w = 0; w < LBLCR_WAYS; w++) {
		struct lblcr_entry *e = &set[w];

		if (!e->used || e->af != k->af || !addr_eq(&e->addr, &k->daddr))
			continue;
		if (lblcr_aged(now_ns, e->lastuse, expire))
			e->used = 0; /* the kernel's full expiration check */
		else
			en = e;
		break;
	}

	if (en) {
		en->lastuse = now_ns;
		d = lblcr_set_min(t, s, en);
		if (en->n > 1 && now_ns >= en->lastmod && now_ns - en->lastmod > expire) {
			int m = lblcr_set_max(t, s, en);

			if (m >= 0)
				lblcr_set_erase(en, (unsigned)m, now_ns);
		}
		if (d && !sched_lblc_overloaded(t, s, d))
			return d;
		d = sched_wlc_least(t, s);
		if (d)
			lblcr_set_insert(en, d->id, now_ns);
		return d;
	}

	d = sched_wlc_least(t, s);
	if (!d)
		return NULL;
	en = lblcr_victim(set, now_ns, expire);
	en->addr = k->daddr;
	en->af = k->af;
	en->n = 0;
	en->lastuse = now_ns;
	en->used = 1;
	lblcr_set_insert(en, d->id, now_ns);
	return d;
}

const struct sched_ops sched_lblcr_ops = {
	.name = "lblcr",
	.init = lblcr_init,
	.done = lblcr_done,
	.pick = lblcr_pick,
};
