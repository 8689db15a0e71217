/* mh — Maglev hashing (net/netfilter/ipvs/ip_vs_mh.c; Eisenbud et al.,
 * "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI 2016,
 * §3.4).
 *
 * Each dest gets a pseudo-random permutation of the lookup table's slots
 * (offset + j * skip mod M, M prime); dests take turns claiming their next
 * free preferred slot until the table is full.  A client address (and with
 * mh-port, its source port) hashes to a slot.  Because every dest fills from
 * its own preference list, adding or removing one dest moves little more
 * than the 1/N of keys that must move — the property tests/unit/test_sched.c
 * measures.
 *
 * As in the kernel: weights set how many slots a dest claims per turn
 * (weight / gcd, shifted right so the largest is at most 6 bits), and they
 * are the *last non-zero* weights, so quiescing a dest to weight 0 keeps its
 * slots (keys on them get no dest, or another via mh-fallback) instead of
 * reshuffling everyone; dest->sched_aux holds that last non-zero weight.  A
 * dest without DEST_F_AVAILABLE is out of the table, like a dest keepalived
 * removed.  Table size: svc->sched_param, a prime up to 65521 (default
 * 4093, the kernel's CONFIG_IP_VS_MH_TAB_INDEX=12).  The kernel hashes with
 * hsiphash under fixed keys; we use our own 64-bit mixer under the same keys,
 * so slot numbers differ from the kernel's but every property above holds.
 */
#include <errno.h>
#include <stdlib.h>

#include "sched-int.h"

#define MH_DEFAULT_SIZE 4093
#define MH_MAX_SIZE 65521
#define MH_TAB_BITS 6 /* IP_VS_MH_TAB_BITS: weight/gcd is cut to this many bits */
#define MH_NONE UINT32_MAX
#define MH_KEY1 2654435761u
#define MH_KEY2 2654446892u

struct mh_state {
	uint32_t size;
	uint32_t *lookup; /* size entries: dest id or MH_NONE */
	uint64_t digest;
};

struct mh_setup {
	uint32_t offset, skip, perm;
	uint32_t turns;
	uint32_t id;
};

static inline uint32_t mh_mix(uint32_t v, uint32_t key)
{
	uint64_t z = ((uint64_t)key << 32) | v;

	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(z ^ (z >> 33));
}

static inline uint32_t mh_hashkey(uint8_t af, const union ulvs_addr *a, uint16_t port,
				  uint32_t key, uint32_t offset)
{
	return mh_mix(offset + sched_ntohs(port) + sched_addr_fold(af, a), key);
}

static bool mh_is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static int mh_table_size(const struct svc *s, uint32_t *size)
{
	uint32_t m = s->sched_param ? s->sched_param : MH_DEFAULT_SIZE;

	if (m > MH_MAX_SIZE || !mh_is_prime(m))
		return -EINVAL;
	*size = m;
	return 0;
}

static unsigned mh_fls(uint32_t v)
{
	return v ? 32 - (unsigned)__builtin_clz(v) : 0;
}

/* ip_vs_mh_permutate() + ip_vs_mh_populate() into lookup[m]. */
static int mh_populate(struct svc_table *t, struct svc *s, uint32_t *lookup, uint32_t m)
{
	struct mh_setup *ds;
	uint64_t *used;
	uint32_t nds = 0, g = 0, maxw = 0, shift = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);

		if (!sched_dest_present(d))
			continue;
		if (d->weight > 0)
			d->sched_aux = (uint32_t)d->weight;
		nds++;
		if (d->sched_aux > 0) {
			g = sched_gcd(d->sched_aux, g);
			if (d->sched_aux > maxw)
				maxw = d->sched_aux;
		}
	}
	if (nds > m)
		return -EINVAL;
	if (g == 0) {
		for (uint32_t c = 0; c < m; c++)
			lookup[c] = MH_NONE;
		return 0;
	}
	if (mh_fls(maxw / g) > MH_TAB_BITS)
		shift = mh_fls(maxw / g) - MH_TAB_BITS;

	ds = calloc(nds, sizeof(*ds));
	used = calloc((m + 63) / 64, sizeof(*used));
	if (!ds || !used) {
		free(ds);
		free(used);
		return -ENOMEM;
	}
	nds = 0;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		struct mh_setup *e;
		uint32_t lw;

		if (!sched_dest_present(d))
			continue;
		e = &ds[nds++];
		lw = d->sched_aux;
		e->id = d->id;
		e->offset = mh_hashkey(d->af, &d->addr, d->port, MH_KEY1, 0) % m;
		e->skip = mh_hashkey(d->af, &d->addr, d->port, MH_KEY2, 0) % (m - 1) + 1;
		e->perm = e->offset;
		e->turns = (lw / g) >> shift;
		if (e->turns == 0)
			e->turns = lw != 0;
	}

	/* Turns round the dests; a dest with turns t claims t slots in a row,
	 * each the next free one on its own permutation. */
	for (uint32_t n = 0, j = 0, taken = 0; n < m;) {
		struct mh_setup *e = &ds[j];

		if (e->turns == 0) {
			j = (j + 1) % nds;
			continue;
		}
		while (used[e->perm / 64] & (1ull << (e->perm % 64))) {
			e->perm += e->skip;
			if (e->perm >= m)
				e->perm -= m;
		}
		used[e->perm / 64] |= 1ull << (e->perm % 64);
		lookup[e->perm] = e->id;
		n++;
		if (++taken >= e->turns) {
			taken = 0;
			j = (j + 1) % nds;
		}
	}
	free(ds);
	free(used);
	return 0;
}

static void mh_done(struct svc_table *t, struct svc *s)
{
	struct mh_state *st = s->sched_data;

	if (st)
		free(st->lookup);
	free(st);
	s->sched_data = NULL;
}

static int mh_init(struct svc_table *t, struct svc *s)
{
	struct mh_state *st;
	uint32_t m;
	int rc = mh_table_size(s, &m);

	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->lookup = malloc(m * sizeof(*st->lookup));
	if (!st->lookup) {
		free(st);
		return -ENOMEM;
	}
	st->size = m;
	rc = mh_populate(t, s, st->lookup, m);
	if (rc) {
		free(st->lookup);
		free(st);
		return rc;
	}
	st->digest = sched_dests_digest(t, s);
	s->sched_data = st;
	return 0;
}

/* Builds into a new array and swaps it in, so a failed rebuild leaves the
 * previous table working. */
static int mh_update(struct svc_table *t, struct svc *s)
{
	struct mh_state *st = s->sched_data;
	uint64_t dg = sched_dests_digest(t, s);
	uint32_t *lookup, m;
	int rc = mh_table_size(s, &m);

	if (rc)
		return rc;
	if (m == st->size && dg == st->digest)
		return 0;
	lookup = malloc(m * sizeof(*lookup));
	if (!lookup)
		return -ENOMEM;
	rc = mh_populate(t, s, lookup, m);
	if (rc) {
		free(lookup);
		return rc;
	}
	free(st->lookup);
	st->lookup = lookup;
	st->size = m;
	st->digest = dg;
	return 0;
}

static inline bool mh_unavailable(const struct dest *d)
{
	return !sched_dest_present(d) || d->weight <= 0 || sched_dest_overloaded(d);
}

static struct dest *mh_pick(struct svc_table *t, struct svc *s, const struct sched_key *k,
			    uint64_t now_ns)
{
	struct mh_state *st = s->sched_data;
	uint16_t port = (s->flags & SVC_F_SCHED2) ? sched_key_port(k) : 0;
	uint32_t m = st->size;
	uint32_t ihash = mh_hashkey(k->af, &k->saddr, port, MH_KEY1, 0) % m;
	uint32_t id = st->lookup[ihash];
	struct dest *d;

	if (id == MH_NONE)
		return NULL;
	d = &t->dests[id];
	if (!mh_unavailable(d))
		return d;
	if (!(s->flags & SVC_F_SCHED1))
		return NULL;
	/* mh-fallback: the kernel's deterministic re-probe, hashing the key
	 * again with offsets ihash, ihash + 1, ... */
	for (uint32_t off = 0; off < m; off++) {
		uint32_t roff = (off + ihash) % m;

		id = st->lookup[mh_hashkey(k->af, &k->saddr, port, MH_KEY1, roff) % m];
		if (id == MH_NONE)
			break;
		d = &t->dests[id];
		if (!mh_unavailable(d))
			return d;
	}
	return NULL;
}

const struct sched_ops sched_mh_ops = {
	.name = "mh",
	.init = mh_init,
	.done = mh_done,
	.update = mh_update,
	.pick = mh_pick,
};
