/* Worker ownership of packets and connections (see steer.h). */
#include "steer.h"

#include "packet.h"
#include "service.h"

void steer_cfg_init(struct steer_cfg *c, const struct svc_table *t, unsigned n_workers)
{
	c->n = n_workers ? n_workers : 1;
	c->plen4 = 32;
	c->plen6 = 128;
	for (uint32_t i = 0; t && i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		/* netmask 0 is host granularity (ipvsadm -p without -M),
		 * as sched_persist reads it. */
		if (!svc_live(s) || !(s->flags & SVC_F_PERSISTENT) || !s->netmask)
			continue;
		if (s->af == ULVS_AF_INET && s->netmask < c->plen4)
			c->plen4 = (uint8_t)s->netmask;
		else if (s->af == ULVS_AF_INET6 && s->netmask < c->plen6)
			c->plen6 = (uint8_t)s->netmask;
	}
}

/* murmur3's finaliser over the masked address words: cheap, and every bit
 * of the address moves the result. */
static inline uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

unsigned steer_client(const struct steer_cfg *c, uint8_t af, const union ulvs_addr *a)
{
	if (c->n <= 1)
		return 0;
	union ulvs_addr m = addr_mask((enum ulvs_af)af, a,
				      af == ULVS_AF_INET6 ? c->plen6 : c->plen4);
	uint32_t h = mix(m.ip6[0] ^ mix(m.ip6[1] ^ mix(m.ip6[2] ^ mix(m.ip6[3] ^ af))));
	return (unsigned)(((uint64_t)h * c->n) >> 32);
}

static inline unsigned port_owner(const struct steer_cfg *c, uint16_t port_be)
{
	const uint8_t *b = (const uint8_t *)&port_be;
	return ((unsigned)b[0] << 8 | b[1]) % c->n;
}

/* A packet from src to dst: see the table in steer.h. */
static unsigned steer_tuple(const struct steer_cfg *c, struct svc_table *t, uint8_t af,
			    uint8_t proto, const union ulvs_addr *src, const union ulvs_addr *dst,
			    uint16_t dport, bool has_ports)
{
	if (!svc_owns_addr(t, (enum ulvs_af)af, dst))
		return steer_client(c, af, dst);
	if (!has_ports)
		return steer_client(c, af, src);
	uint32_t mark = t->n_marks ? svc_classify(t, (enum ulvs_af)af, proto, dst, dport) : 0;
	if (svc_lookup(t, (enum ulvs_af)af, proto, dst, dport, mark))
		return steer_client(c, af, src);
	if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_)
		return port_owner(c, dport);
	return steer_client(c, af, src);
}

unsigned steer_frame(const struct steer_cfg *c, struct svc_table *t, const struct pkt *p,
		     unsigned self)
{
	struct pkt_info pi;

	if (c->n <= 1)
		return 0;
	if (!t || pkt_parse(p, &pi) != PARSE_OK)
		return self;
	if (pi.flags & PKT_F_ICMP_ERR) {
		/* The quote is a packet sent the other way: reverse it. */
		const struct pkt_tuple *q = &pi.inner;
		return steer_tuple(c, t, q->af, q->proto, &q->daddr, &q->saddr, q->sport,
				   (pi.flags & PKT_F_INNER_L4) != 0);
	}
	/* Non-first fragments carry no ports; the engine tracks fragments by
	 * address only, which the client hash keeps together. */
	return steer_tuple(c, t, pi.t.af, pi.t.proto, &pi.t.saddr, &pi.t.daddr, pi.t.dport,
			   (pi.flags & PKT_F_L4) != 0);
}

unsigned steer_conn(const struct steer_cfg *c, const struct conn *k)
{
	return steer_client(c, k->af, &k->caddr);
}
