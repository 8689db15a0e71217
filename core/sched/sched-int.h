/* Helpers shared by the scheduler files, not part of the scheduler API.
 *
 * How a struct dest maps onto the kernel's world: IPVS schedulers walk
 * svc->destinations, a list that holds only the real servers currently in the
 * service.  ulvs keeps a server that failed its health check in svc->dests
 * with DEST_F_AVAILABLE cleared instead of removing it, so every scheduler
 * here treats such a dest as absent from the list ("present" below); weight,
 * DEST_F_OVERLOAD and the connection counters are then checked exactly where
 * the kernel's ip_vs_<name>.c checks them.
 */
#ifndef ULVS_CORE_SCHED_INT_H
#define ULVS_CORE_SCHED_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../service.h"
#include "sched.h"

extern const struct sched_ops sched_rr_ops, sched_wrr_ops, sched_lc_ops, sched_wlc_ops,
	sched_sed_ops, sched_nq_ops, sched_lblc_ops, sched_lblcr_ops, sched_dh_ops,
	sched_sh_ops, sched_mh_ops, sched_fo_ops, sched_ovf_ops, sched_twos_ops;

/* In the kernel's destination list at all (see above). */
static inline bool sched_dest_present(const struct dest *d)
{
	return d->flags & DEST_F_AVAILABLE;
}

static inline bool sched_dest_overloaded(const struct dest *d)
{
	return d->flags & DEST_F_OVERLOAD;
}

/* A digest of what the table-driven schedulers (wrr, dh, sh, mh) build
 * from: the dest ids, their weights and presence, in list order.  update()
 * compares it with the digest of its last build so that a svc_commit that
 * changed nothing for this service costs one pass and no rebuild.  O(dests). */
uint64_t sched_dests_digest(const struct svc_table *t, const struct svc *s);

/* Greatest common divisor; sched_gcd(0, b) == b. */
uint32_t sched_gcd(uint32_t a, uint32_t b);

/* The dest minimising overhead(d) / weight, compared by cross-multiplying
 * (h1 * w2 > h2 * w1, 64-bit) so no division is needed; the first present,
 * non-overloaded dest of positive weight seeds the search and later ones
 * replace it only when strictly less loaded, so ties keep list order - the
 * loop of ip_vs_wlc.c and ip_vs_sed.c.  NULL when no dest qualifies.
 * Inline so each caller's overhead function is folded in.  O(dests). */
static inline struct dest *sched_least_weighted(struct svc_table *t, const struct svc *s,
						uint64_t (*overhead)(const struct dest *))
{
	struct dest *least = NULL;
	uint64_t loh = 0;

	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);
		uint64_t doh;

		if (!sched_dest_present(d) || sched_dest_overloaded(d) || d->weight <= 0)
			continue;
		doh = overhead(d);
		if (!least || loh * (uint64_t)d->weight > doh * (uint64_t)least->weight) {
			least = d;
			loh = doh;
		}
	}
	return least;
}

/* lblc/lblcr: the kernel's is_overloaded() - busier than its weight while
 * another server is less than half busy.  O(dests). */
static inline bool sched_lblc_overloaded(struct svc_table *t, const struct svc *s,
					 const struct dest *d)
{
	if ((int64_t)dest_active(d) <= d->weight)
		return false;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *o = svc_dest(t, s, i);

		if (sched_dest_present(o) && (int64_t)dest_active(o) * 2 < o->weight)
			return true;
	}
	return false;
}

/* wlc's choice: overhead (activeconns << 8) + inactconns; lblc and lblcr
 * fall back to exactly this when their cache has nothing usable. */
struct dest *sched_wlc_least(struct svc_table *t, const struct svc *s);
/* sed's choice: overhead activeconns + 1 (nq falls back to it). */
struct dest *sched_sed_least(struct svc_table *t, const struct svc *s);

/* Host-order fold of an address as the kernel's hash keys take it:
 * the IPv4 address, or the XOR of the four IPv6 words. */
static inline uint32_t sched_addr_fold(uint8_t af, const union ulvs_addr *a)
{
	uint32_t v = a->ip;

	if (af == ULVS_AF_INET6)
		v = a->ip6[0] ^ a->ip6[1] ^ a->ip6[2] ^ a->ip6[3];
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint16_t sched_ntohs(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/* include/linux/hash.h: hash_32(). */
static inline uint32_t sched_hash_32(uint32_t v, unsigned bits)
{
	return (v * 0x61C88647u) >> (32 - bits);
}

/* The port a hashing scheduler may mix in (sh-port / mh-port): the
 * client's source port for TCP, UDP and SCTP, else 0 as in the kernel. */
static inline uint16_t sched_key_port(const struct sched_key *k)
{
	return (k->proto == 6 || k->proto == 17 || k->proto == 132) ? k->sport : 0;
}

/* splitmix64: a tiny, well-mixed, seedable generator.  Used where the kernel
 * calls prandom (twos) and by the --simulate traffic generator, so runs are
 * reproducible from a seed. */
static inline uint64_t sched_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

#endif
