/* ICMP error translation for NAT/FULLNAT connections and the "too big"
 * errors the engine originates (see icmp.h for the contract).
 *
 * An ICMP error carries a copy of the start of the packet that caused it.
 * Behind a NAT that copy shows the addresses as the far side saw them, so
 * the sender of the original packet would not recognise it: the kernel
 * matches an error to a socket by the quoted tuple.  IPVS therefore rewrites
 * the quote along with the outer header (ip_vs_nat_icmp); without it, path
 * MTU discovery through a NAT director breaks and connections stall on the
 * first full-sized segment.
 */
#include "icmp.h"

#include <errno.h>
#include <string.h>

#include "packet.h"
#include "xmit.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8
#define ICMP4_ERR_MAX 576   /* RFC 1812 §4.3.2.3 */
#define ICMP6_ERR_MAX 1280  /* RFC 4443 §2.4(c): the IPv6 minimum MTU */
#define ICMP_TTL 64

/* Recompute the checksum of the ICMP message of pi in place. */
static void icmp_resum(uint8_t *d, const struct pkt_info *pi)
{
	uint8_t *icmp = d + pi->l4_off;
	uint16_t ck;

	icmp[2] = icmp[3] = 0;
	if (pi->t.af == ULVS_AF_INET)
		ck = csum_fold(csum_partial(icmp, pi->l4_len, 0));
	else
		ck = csum_l4(ULVS_AF_INET6, &pi->t.saddr, &pi->t.daddr, IPPROTO_ICMPV6_, icmp,
			     pi->l4_len);
	memcpy(icmp + 2, &ck, 2);
}

enum drop_reason icmp_xlate(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			    enum conn_dir dir)
{
	uint8_t *d = p->data, *l3 = d + pi->l3_off;
	uint8_t *il3 = d + pi->inner_l3_off, *il4 = d + pi->inner_l4_off;
	uint32_t end = (uint32_t)pi->l3_off + pi->l3_len;
	uint32_t il4_avail = end > pi->inner_l4_off ? end - pi->inner_l4_off : 0;
	const union ulvs_addr *os = NULL, *od = NULL, *is = NULL, *id = NULL;
	const uint16_t *isp = NULL, *idp = NULL;
	struct pkt_info ipi;

	if (!(pi->flags & PKT_F_ICMP_ERR) || !(pi->flags & PKT_F_INNER_L4) || pi->t.af != c->af)
		return DROP_UNSUPPORTED;

	if (c->fwd == FWD_NAT && dir == CONN_DIR_IN) {
		od = &c->daddr;
		is = &c->daddr, isp = &c->dport;
	} else if (c->fwd == FWD_NAT) {
		os = &c->vaddr;
		id = &c->vaddr, idp = &c->vport;
	} else if (c->fwd == FWD_FNAT && dir == CONN_DIR_IN) {
		os = &c->laddr, od = &c->daddr;
		is = &c->daddr, isp = &c->dport;
		id = &c->laddr, idp = &c->lport;
	} else if (c->fwd == FWD_FNAT) {
		os = &c->vaddr, od = &c->caddr;
		is = &c->caddr, isp = &c->cport;
		id = &c->vaddr, idp = &c->vport;
	} else {
		return DROP_UNSUPPORTED;
	}

	/* The quote first: its transport checksum follows its own addresses. */
	memset(&ipi, 0, sizeof(ipi));
	ipi.t = pi->inner;
	ipi.flags = PKT_F_L4;
	xmit_rewrite_l34(il3, &ipi, il4, il4_avail, is, isp, id, idp);
	/* Outer header: ICMPv4 has no pseudo-header and ICMPv6 is summed again
	 * below, so no transport checksum is patched here. */
	xmit_rewrite_l34(l3, pi, NULL, 0, os, NULL, od, NULL);

	if (os)
		pi->t.saddr = *os;
	if (od)
		pi->t.daddr = *od;
	if (is)
		pi->inner.saddr = *is, pi->inner.sport = *isp;
	if (id)
		pi->inner.daddr = *id, pi->inner.dport = *idp;
	icmp_resum(d, pi);
	return DROP_NONE;
}

/* RFC 1122 §3.2.2 / RFC 4443 §2.4(e): never answer a packet whose source
 * does not name a single host. */
static bool icmp_src_answerable(enum ulvs_af af, const union ulvs_addr *a)
{
	if (addr_is_zero(a))
		return false;
	if (af == ULVS_AF_INET) {
		uint8_t b0 = a->b[0];
		/* multicast 224/4, reserved 240/4 incl. limited broadcast, 0/8 */
		return b0 != 0 && b0 < 224;
	}
	return a->b[0] != 0xff;
}

int icmp_build_too_big(struct pkt *p, struct pkt_info *pi, const union ulvs_addr *src,
		       uint32_t mtu)
{
	const bool v4 = pi->t.af == ULVS_AF_INET;
	const uint32_t hdr = (v4 ? IP4_HLEN : IP6_HLEN) + ICMP_HLEN;
	const uint32_t l3off = pi->l3_off;
	uint32_t quote = pi->l3_len, headroom = (uint32_t)(p->data - p->buf);
	union ulvs_addr dst = pi->t.saddr;
	uint8_t mac[ULVS_MAC_LEN], *ip, *icmp;

	if (pi->t.af != ULVS_AF_INET && pi->t.af != ULVS_AF_INET6)
		return -EINVAL;
	if (pi->flags & PKT_F_ICMP_ERR)
		return -EINVAL;
	if ((pi->flags & PKT_F_FRAG) && !(pi->flags & PKT_F_FRAG_FIRST))
		return -EINVAL;
	if (!icmp_src_answerable((enum ulvs_af)pi->t.af, &dst))
		return -EINVAL;
	if (quote > (v4 ? ICMP4_ERR_MAX : ICMP6_ERR_MAX) - hdr)
		quote = (v4 ? ICMP4_ERR_MAX : ICMP6_ERR_MAX) - hdr;
	if (v4 && mtu < 68)
		mtu = 68; /* RFC 791: every IPv4 link carries 68 bytes */
	if (!v4 && mtu < ICMP6_ERR_MAX)
		mtu = ICMP6_ERR_MAX;

	/* Make room for the new IP and ICMP headers between the Ethernet header
	 * and the quote, moving whichever part is cheaper to move and fits. */
	if (headroom >= hdr) {
		memmove(p->data - hdr, p->data, l3off);
		p->data -= hdr;
	} else if (p->buf_size >= headroom + l3off + hdr + quote) {
		memmove(p->data + l3off + hdr, p->data + l3off, quote);
	} else {
		return -ENOBUFS;
	}

	memcpy(mac, p->data, ULVS_MAC_LEN);
	memcpy(p->data, p->data + ULVS_MAC_LEN, ULVS_MAC_LEN);
	memcpy(p->data + ULVS_MAC_LEN, mac, ULVS_MAC_LEN);

	ip = p->data + l3off;
	icmp = ip + (v4 ? IP4_HLEN : IP6_HLEN);
	memset(ip, 0, hdr);
	if (v4) {
		uint16_t tot = (uint16_t)(hdr + quote), ck;
		ip[0] = 0x45;
		ip[1] = 0xc0; /* precedence "internetwork control", as icmp_send() */
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[8] = ICMP_TTL;
		ip[9] = IPPROTO_ICMP_;
		memcpy(ip + 12, &src->ip, 4);
		memcpy(ip + 16, &dst.ip, 4);
		ck = csum_ip4_header(ip, IP4_HLEN);
		memcpy(ip + 10, &ck, 2);
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 4; /* fragmentation needed and DF set */
		icmp[6] = (uint8_t)(mtu >> 8), icmp[7] = (uint8_t)mtu;
	} else {
		uint16_t plen = (uint16_t)(ICMP_HLEN + quote);
		ip[0] = 0x60;
		ip[4] = (uint8_t)(plen >> 8), ip[5] = (uint8_t)plen;
		ip[6] = IPPROTO_ICMPV6_;
		ip[7] = ICMP_TTL;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst.b, 16);
		icmp[0] = 2; /* packet too big */
		icmp[4] = (uint8_t)(mtu >> 24), icmp[5] = (uint8_t)(mtu >> 16);
		icmp[6] = (uint8_t)(mtu >> 8), icmp[7] = (uint8_t)mtu;
	}

	p->len = l3off + hdr + quote;
	pi->flags &= PKT_F_VLAN;
	pi->flags |= PKT_F_L4;
	pi->l3_len = (uint16_t)(hdr + quote);
	pi->l4_off = (uint16_t)(l3off + (v4 ? IP4_HLEN : IP6_HLEN));
	pi->l4_len = (uint16_t)(ICMP_HLEN + quote);
	pi->ttl = ICMP_TTL;
	pi->tcp_flags = 0;
	pi->t.saddr = *src;
	pi->t.daddr = dst;
	pi->t.proto = v4 ? IPPROTO_ICMP_ : IPPROTO_ICMPV6_;
	pi->t.sport = pi->t.dport = 0;
	pi->icmp_type = icmp[0];
	pi->icmp_code = icmp[1];
	icmp_resum(p->data, pi);
	return 0;
}
