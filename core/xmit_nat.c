/* NAT forwarding (ipvsadm -m, lb_kind NAT) and the address/port rewrite that
 * NAT, FULLNAT and ICMP translation share.
 *
 * A NAT packet keeps its length and layout: only addresses, ports and the
 * checksums covering them change, so every checksum is patched in place with
 * RFC 1624 eqn. 3 instead of being summed again over the payload.  The
 * transport checksum covers a pseudo-header holding the IP addresses
 * (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1), so an address change patches the
 * TCP/UDP checksum as well as the IPv4 header checksum.
 */
#include <string.h>

#include "packet.h"
#include "xmit.h"

/* Offset of the checksum field in the transport header, 0 for none we know. */
static uint32_t l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP_ ? 16 : proto == IPPROTO_UDP_ ? 6 : 0;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* Replace the address at field (4 or 16 bytes) with a, patching the IPv4
 * header checksum (v4 only) and the transport checksum at l4c (may be NULL). */
static void rewrite_addr(enum ulvs_af af, uint8_t *l3, uint8_t *field,
			 const union ulvs_addr *a, uint8_t *l4c)
{
	if (af == ULVS_AF_INET) {
		uint32_t old;
		memcpy(&old, field, 4);
		if (old == a->ip)
			return;
		memcpy(field, &a->ip, 4);
		wr16(l3 + 10, csum_replace4(rd16(l3 + 10), old, a->ip));
		if (l4c)
			wr16(l4c, csum_replace4(rd16(l4c), old, a->ip));
	} else {
		uint32_t old[4];
		memcpy(old, field, 16);
		if (!memcmp(old, a->ip6, 16))
			return;
		memcpy(field, a->ip6, 16);
		if (l4c)
			wr16(l4c, csum_replace16(rd16(l4c), old, a->ip6));
	}
}

static void rewrite_port(uint8_t *field, uint16_t port, uint8_t *l4c)
{
	uint16_t old = rd16(field);
	if (old == port)
		return;
	wr16(field, port);
	if (l4c)
		wr16(l4c, csum_replace2(rd16(l4c), old, port));
}

void xmit_rewrite_l34(uint8_t *l3, const struct pkt_info *pi, uint8_t *l4, uint32_t l4_avail,
		      const union ulvs_addr *saddr, const uint16_t *sport,
		      const union ulvs_addr *daddr, const uint16_t *dport)
{
	const enum ulvs_af af = (enum ulvs_af)pi->t.af;
	const uint32_t coff = l4_csum_off(pi->t.proto);
	uint8_t *l4c = NULL;

	/* The transport checksum is patched only when it is really there: an
	 * ICMP error may quote as little as 8 bytes of a TCP header (RFC 792),
	 * and the receiver of such a quote cannot check it anyway. */
	if (l4 && coff && l4_avail >= coff + 2) {
		l4c = l4 + coff;
		/* RFC 768: an all-zero UDP checksum over IPv4 means "none was
		 * computed"; it must stay zero or the receiver would start
		 * checking a sum nobody made.  IPv6 forbids it (RFC 8200 §8.1),
		 * so there zero is just a bad checksum and is patched like any. */
		if (pi->t.proto == IPPROTO_UDP_ && af == ULVS_AF_INET && rd16(l4c) == 0)
			l4c = NULL;
	}

	if (af == ULVS_AF_INET) {
		if (saddr)
			rewrite_addr(af, l3, l3 + 12, saddr, l4c);
		if (daddr)
			rewrite_addr(af, l3, l3 + 16, daddr, l4c);
	} else {
		if (saddr)
			rewrite_addr(af, l3, l3 + 8, saddr, l4c);
		if (daddr)
			rewrite_addr(af, l3, l3 + 24, daddr, l4c);
	}
	if (l4 && l4_avail >= 4) {
		if (sport)
			rewrite_port(l4, *sport, l4c);
		if (dport)
			rewrite_port(l4 + 2, *dport, l4c);
	}
	/* RFC 768: a UDP sum that comes out as zero is sent as all ones, so
	 * the update must not turn a real checksum into "no checksum". */
	if (l4c && pi->t.proto == IPPROTO_UDP_ && rd16(l4c) == 0)
		wr16(l4c, 0xffff);
}

/* Bytes of transport header and payload present after l4_off. */
static uint32_t l4_avail(const struct pkt_info *pi)
{
	return (pi->flags & PKT_F_L4) ? pi->l4_len : 0;
}

enum drop_reason xmit_nat_in(struct pkt *p, struct pkt_info *pi, const struct conn *c)
{
	uint8_t *l3 = p->data + pi->l3_off;
	uint8_t *l4 = (pi->flags & PKT_F_L4) ? p->data + pi->l4_off : NULL;

	if (pi->t.af != c->af)
		return DROP_UNSUPPORTED;
	xmit_rewrite_l34(l3, pi, l4, l4_avail(pi), NULL, NULL, &c->daddr, &c->dport);
	pi->t.daddr = c->daddr;
	if (l4)
		pi->t.dport = c->dport;
	return DROP_NONE;
}

enum drop_reason xmit_nat_out(struct pkt *p, struct pkt_info *pi, const struct conn *c)
{
	uint8_t *l3 = p->data + pi->l3_off;
	uint8_t *l4 = (pi->flags & PKT_F_L4) ? p->data + pi->l4_off : NULL;

	if (pi->t.af != c->af)
		return DROP_UNSUPPORTED;
	xmit_rewrite_l34(l3, pi, l4, l4_avail(pi), &c->vaddr, &c->vport, NULL, NULL);
	pi->t.saddr = c->vaddr;
	if (l4)
		pi->t.sport = c->vport;
	return DROP_NONE;
}
