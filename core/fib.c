/* Routes and neighbours the engine reads to put a frame on the wire.
 *
 * A director has a handful of routes (connected subnets, a default route, a
 * few statics), so routes are a flat array scanned for the longest prefix:
 * cheaper than a trie at that size and trivially correct.  Neighbours can be
 * thousands (every real server and client-side gateway), so they live in an
 * open-addressed table with linear probing keyed on the address.  The
 * control thread fills a struct fib before publishing it; nothing is removed
 * from a published fib (a change builds a new one), so the neighbour table
 * needs no tombstones.
 */
#include "fib.h"

#include <errno.h>
#include <string.h>

static unsigned af_bits(enum ulvs_af af)
{
	return af == ULVS_AF_INET6 ? 128 : 32;
}

static bool af_valid(unsigned af)
{
	return af == ULVS_AF_INET || af == ULVS_AF_INET6;
}

void fib_init(struct fib *f)
{
	memset(f, 0, sizeof(*f));
}

int fib_add_iface(struct fib *f, const char *name, const struct ulvs_mac *mac, uint16_t mtu,
		  uint32_t os_ifindex)
{
	struct fib_iface *i;

	if (f->n_ifaces >= ULVS_MAX_IFACES)
		return -ENOSPC;
	i = &f->ifaces[f->n_ifaces];
	memset(i, 0, sizeof(*i));
	if (name) {
		strncpy(i->name, name, sizeof(i->name) - 1);
		i->name[sizeof(i->name) - 1] = '\0';
	}
	if (mac)
		i->mac = *mac;
	i->mtu = mtu;
	i->id = (uint16_t)f->n_ifaces;
	i->os_ifindex = os_ifindex;
	return (int)f->n_ifaces++;
}

/* A second route to the same prefix replaces the first, as `ip route
 * replace` would: the last word of the control thread wins. */
int fib_add_route(struct fib *f, enum ulvs_af af, const union ulvs_addr *prefix, unsigned plen,
		  const union ulvs_addr *gw, uint16_t iface)
{
	union ulvs_addr p;
	struct fib_route *r = NULL;

	if (!af_valid(af) || plen > af_bits(af) || iface >= f->n_ifaces)
		return -EINVAL;
	p = addr_mask(af, prefix, plen);
	for (unsigned i = 0; i < f->n_routes; i++) {
		if (f->routes[i].af == af && f->routes[i].plen == plen &&
		    addr_eq(&f->routes[i].prefix, &p)) {
			r = &f->routes[i];
			break;
		}
	}
	if (!r) {
		if (f->n_routes >= ULVS_MAX_ROUTES)
			return -ENOSPC;
		r = &f->routes[f->n_routes++];
	}
	r->prefix = p;
	if (gw)
		r->gateway = *gw;
	else
		memset(&r->gateway, 0, sizeof(r->gateway));
	r->af = (uint8_t)af;
	r->plen = (uint8_t)plen;
	r->iface = iface;
	return 0;
}

/* Equal prefix lengths cannot both match one address unless they are the same
 * prefix, which fib_add_route() keeps unique; so the first longest wins. */
const struct fib_route *fib_find_route(const struct fib *f, enum ulvs_af af,
				       const union ulvs_addr *dst)
{
	const struct fib_route *best = NULL;

	for (unsigned i = 0; i < f->n_routes; i++) {
		const struct fib_route *r = &f->routes[i];

		if (r->af != af || (best && r->plen <= best->plen))
			continue;
		if (addr_prefix_match(af, &r->prefix, dst, r->plen))
			best = r;
	}
	return best;
}

static unsigned neigh_slot(enum ulvs_af af, const union ulvs_addr *a)
{
	/* 64-bit mix (splitmix64 finaliser): IPv4 neighbours differ only in the
	 * low bytes of q[0], so every input bit must reach the slot bits. */
	uint64_t h = a->q[0] ^ (a->q[1] * 0x9e3779b97f4a7c15ull) ^ af;

	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (unsigned)(h % ULVS_MAX_NEIGHS);
}

/* Slot holding (af, a), or the first free slot of its probe run, or -1 when
 * the table is full and a is not in it. */
static int neigh_probe(const struct fib *f, enum ulvs_af af, const union ulvs_addr *a)
{
	unsigned s = neigh_slot(af, a);

	for (unsigned n = 0; n < ULVS_MAX_NEIGHS; n++) {
		const struct fib_neigh *e = &f->neighs[s];

		if (!e->valid || (e->af == af && addr_eq(&e->addr, a)))
			return (int)s;
		if (++s == ULVS_MAX_NEIGHS)
			s = 0;
	}
	return -1;
}

int fib_add_neigh(struct fib *f, enum ulvs_af af, const union ulvs_addr *addr,
		  const struct ulvs_mac *mac, uint16_t iface)
{
	struct fib_neigh *e;
	int s;

	if (!af_valid(af) || !mac || iface >= f->n_ifaces)
		return -EINVAL;
	s = neigh_probe(f, af, addr);
	if (s < 0)
		return -ENOSPC;
	e = &f->neighs[s];
	if (!e->valid) {
		e->addr = *addr;
		e->af = (uint8_t)af;
		e->valid = 1;
		f->n_neighs++;
	}
	e->mac = *mac;
	e->iface = iface;
	return 0;
}

const struct fib_neigh *fib_find_neigh(const struct fib *f, enum ulvs_af af,
				       const union ulvs_addr *addr)
{
	int s = neigh_probe(f, af, addr);

	if (s < 0 || !f->neighs[s].valid)
		return NULL;
	return &f->neighs[s];
}

/* The egress is the route's interface: the neighbour entry only supplies the
 * MAC (with a gateway, the neighbour is the gateway, not the destination). */
int fib_resolve(const struct fib *f, enum ulvs_af af, const union ulvs_addr *dst,
		struct fib_nexthop *nh)
{
	const struct fib_route *r = fib_find_route(f, af, dst);
	const struct fib_neigh *n;
	const struct fib_iface *i;

	if (!r || r->iface >= f->n_ifaces)
		return -ENETUNREACH;
	n = fib_find_neigh(f, af, addr_is_zero(&r->gateway) ? dst : &r->gateway);
	if (!n)
		return -EHOSTUNREACH;
	i = &f->ifaces[r->iface];
	nh->iface = r->iface;
	nh->src = i->mac;
	nh->dst = n->mac;
	nh->mtu = i->mtu;
	return 0;
}

const union ulvs_addr *fib_iface_addr(const struct fib *f, uint16_t iface, enum ulvs_af af)
{
	const struct fib_iface *i;

	if (iface >= f->n_ifaces)
		return NULL;
	i = &f->ifaces[iface];
	if (af == ULVS_AF_INET)
		return i->has_addr4 ? &i->addr4 : NULL;
	if (af == ULVS_AF_INET6)
		return i->has_addr6 ? &i->addr6 : NULL;
	return NULL;
}
