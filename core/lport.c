/* FULLNAT local port pool: a ring of every port in ULVS_LPORT_MIN..MAX.
 *
 * The ring is filled once, shuffled by a small seeded PRNG so two directors
 * (or two local addresses) do not walk the ports in the same order, and is
 * then a FIFO: alloc takes from the head, release appends at the tail.  FIFO
 * matters for FULLNAT: the real server keeps laddr:lport in TIME_WAIT after
 * a close, so a released port should be the last one handed out again, not
 * the next (DPVS's sa_pool recycles the same way).  A bitmap of ports in use
 * makes a double or stray release harmless: it is ignored and counted.
 * A second array gives each free port's position in the ring, so a port can
 * also be taken by number (lport_take: a backup director reserving the port
 * its master chose for a synced FULLNAT connection).
 * A pool may hold only the ports of one residue class (port % nparts ==
 * part): each data-plane worker allocates from its own class, so the local
 * port of a reply says which worker owns the connection (core/steer.h).
 * Allocation happens once at pool creation; alloc/release/take are O(1).
 */
#include "lport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "constants.h"

#define LPORT_N ((uint32_t)(ULVS_LPORT_MAX - ULVS_LPORT_MIN + 1))

struct lport_pool {
	uint32_t n;       /* ports in this pool (the ring's length) */
	uint16_t part, nparts; /* holds the ports with port % nparts == part */
	uint32_t head;    /* next port to hand out */
	uint32_t avail;   /* ports in the ring */
	uint64_t bad_release;
	uint64_t used[(65536 + 63) / 64]; /* indexed by host-order port */
	uint16_t ring[LPORT_N];           /* host order */
	uint16_t pos[65536];              /* free port -> its ring index */
};

/* splitmix64: tiny, seedable, good enough to shuffle; not for secrets. */
static uint64_t lport_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct lport_pool *lport_pool_new(uint32_t seed)
{
	return lport_pool_new_part(seed, 0, 1);
}

struct lport_pool *lport_pool_new_part(uint32_t seed, unsigned part, unsigned nparts)
{
	struct lport_pool *lp;
	uint64_t s = seed;

	if (!nparts || part >= nparts || nparts > LPORT_N)
		return NULL;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return NULL;
	lp->part = (uint16_t)part;
	lp->nparts = (uint16_t)nparts;
	for (uint32_t port = ULVS_LPORT_MIN; port <= ULVS_LPORT_MAX; port++)
		if (port % nparts == part)
			lp->ring[lp->n++] = (uint16_t)port;
	/* Fisher-Yates; the modulo bias over 2^64 is negligible here. */
	for (uint32_t i = lp->n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(lport_rand(&s) % (i + 1));
		uint16_t t = lp->ring[i];
		lp->ring[i] = lp->ring[j];
		lp->ring[j] = t;
	}
	for (uint32_t i = 0; i < lp->n; i++)
		lp->pos[lp->ring[i]] = (uint16_t)i;
	lp->avail = lp->n;
	return lp;
}

void lport_pool_free(struct lport_pool *lp)
{
	free(lp);
}

/* Ports cross this API in network order, as everywhere in core/. */
static inline uint16_t to_host(uint16_t be)
{
	const uint8_t *b = (const uint8_t *)&be;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint16_t to_be(uint16_t host)
{
	uint8_t b[2] = { (uint8_t)(host >> 8), (uint8_t)host };
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

int lport_alloc(struct lport_pool *lp, uint16_t *port_be)
{
	uint16_t port;

	if (!lp->avail)
		return -ENOSPC;
	port = lp->ring[lp->head];
	lp->head = lp->head + 1 == lp->n ? 0 : lp->head + 1;
	lp->avail--;
	lp->used[port / 64] |= 1ull << (port % 64);
	*port_be = to_be(port);
	return 0;
}

void lport_release(struct lport_pool *lp, uint16_t port_be)
{
	uint16_t port = to_host(port_be);
	uint32_t tail;

	if ((uint32_t)(port - ULVS_LPORT_MIN) >= LPORT_N || port % lp->nparts != lp->part ||
	    !(lp->used[port / 64] & (1ull << (port % 64)))) {
		lp->bad_release++;
		return;
	}
	lp->used[port / 64] &= ~(1ull << (port % 64));
	tail = lp->head + lp->avail;
	if (tail >= lp->n)
		tail -= lp->n;
	lp->ring[tail] = port;
	lp->pos[port] = (uint16_t)tail;
	lp->avail++;
}

int lport_take(struct lport_pool *lp, uint16_t port_be)
{
	uint16_t port = to_host(port_be), head_port;
	uint32_t at;

	if ((uint32_t)(port - ULVS_LPORT_MIN) >= LPORT_N)
		return -EINVAL;
	if (port % lp->nparts != lp->part)
		return -EXDEV;
	if (lp->used[port / 64] & (1ull << (port % 64)))
		return -EBUSY;
	/* The head's port moves into the taken port's slot: one port is handed
	 * out a little later than FIFO order would, nothing else changes. */
	at = lp->pos[port];
	head_port = lp->ring[lp->head];
	lp->ring[at] = head_port;
	lp->pos[head_port] = (uint16_t)at;
	lp->head = lp->head + 1 == lp->n ? 0 : lp->head + 1;
	lp->avail--;
	lp->used[port / 64] |= 1ull << (port % 64);
	return 0;
}

uint32_t lport_in_use(const struct lport_pool *lp)
{
	return lp->n - lp->avail;
}

uint64_t lport_bad_releases(const struct lport_pool *lp)
{
	return lp->bad_release;
}
