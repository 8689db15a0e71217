/* TUN forwarding (ipvsadm -i, lb_kind TUN): IP-in-IP encapsulation.
 *
 * The client's packet travels unchanged inside an outer header from the
 * director to the real server, which decapsulates it and answers the client
 * directly (so, as with DR, replies never come back through us).  An IPv4
 * service gets an outer IPv4 header (protocol 4, RFC 2003), an IPv6 service
 * an outer IPv6 header (next header 41, RFC 2473).  The outer header is
 * written into the headroom in front of the packet: only the Ethernet header
 * (and VLAN tag) moves, the packet itself stays where it is.
 *
 * Size: we never fragment in the data plane.  When the encapsulated packet
 * would exceed the egress MTU it is refused with DROP_TOO_BIG and left
 * untouched, so the caller can quote it in an ICMP "fragmentation needed" /
 * "packet too big" error carrying mtu - outer header size (the engine does
 * so for IPv6 and for IPv4 with DF).  An IPv4 packet without DF is refused
 * the same way: IPVS would fragment the outer packet (ip_vs_tunnel_xmit),
 * which costs a copy per fragment and makes the real server reassemble; the
 * caller tells the two cases apart by the untouched inner DF bit.
 */
#include <string.h>

#include "packet.h"
#include "xmit.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define OUTER_TTL 64

/* RFC 3168 §9.1.1, full-functionality option (what IPVS does through
 * INET_ECN_encapsulate): copy the inner ECN field to the outer header, except
 * that CE becomes ECT(0) so the decapsulator cannot mistake our copy for a
 * congestion mark set on the tunnel path. */
static uint8_t tun_dsfield(uint8_t inner)
{
	return (inner & 3) == 3 ? (uint8_t)((inner & ~3u) | 2) : inner;
}

/* Outer IPv4 identification.  Deterministic (a replay gives the same bytes
 * whatever ran before) and stateless (no per-worker counter to share): a hash
 * of the inner source, destination, protocol and identification, so distinct
 * inner datagrams get distinct outer ids as far as 16 bits allow.  With DF
 * set the datagram is atomic and the id carries no meaning (RFC 6864 §4.1). */
static uint16_t tun_ip_id(const uint8_t *inner)
{
	uint32_t s, d;
	uint64_t x;

	memcpy(&s, inner + 12, 4);
	memcpy(&d, inner + 16, 4);
	x = ((uint64_t)s << 32 | d) ^ ((uint64_t)(inner[4] << 8 | inner[5]) << 8 | inner[9]);
	/* murmur3 fmix64 */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint16_t)(x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48));
}

enum drop_reason xmit_tun(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			  const union ulvs_addr *outer_src, uint16_t mtu)
{
	const bool v4 = c->af == ULVS_AF_INET;
	const uint32_t hlen = v4 ? IP4_HLEN : IP6_HLEN;
	const uint32_t inner_len = pi->l3_len;
	uint8_t *in, *out;

	/* IPVS can put IPv6 in IPv4 and back; ulvs services and real servers
	 * share one family, so anything else is a table we did not build. */
	if (pi->t.af != c->af || (c->af != ULVS_AF_INET && c->af != ULVS_AF_INET6))
		return DROP_UNSUPPORTED;
	/* The inner packet is not rewritten, so the real server must listen on
	 * the virtual port (IPVS forces rport = vport for -g and -i). */
	if ((pi->flags & PKT_F_L4) && c->dport && c->dport != pi->t.dport)
		return DROP_DR_PORT_MISMATCH;
	/* mtu 0: the egress MTU is unknown; the NIC will be the judge. */
	if (mtu && inner_len + hlen > mtu)
		return DROP_TOO_BIG;
	if ((uint32_t)(p->data - p->buf) < hlen)
		return DROP_NO_HEADROOM;

	in = p->data + pi->l3_off;
	memmove(p->data - hlen, p->data, pi->l3_off);
	p->data -= hlen;
	out = p->data + pi->l3_off;

	if (v4) {
		uint16_t tot = (uint16_t)(inner_len + hlen), id = tun_ip_id(in), ck;
		out[0] = 0x45;
		out[1] = tun_dsfield(in[1]);
		out[2] = (uint8_t)(tot >> 8);
		out[3] = (uint8_t)tot;
		out[4] = (uint8_t)(id >> 8);
		out[5] = (uint8_t)id;
		/* DF copied from the inner header, offset and MF clear: the outer
		 * datagram is whole (ip_vs_prepare_tunneled_skb does the same). */
		out[6] = in[6] & 0x40;
		out[7] = 0;
		out[8] = OUTER_TTL;
		out[9] = IPPROTO_IPIP_;
		out[10] = out[11] = 0;
		memcpy(out + 12, &outer_src->ip, 4);
		memcpy(out + 16, &c->daddr.ip, 4);
		ck = csum_ip4_header(out, IP4_HLEN); /* stored as summed */
		memcpy(out + 10, &ck, 2);
	} else {
		uint16_t plen = (uint16_t)inner_len;
		uint8_t tc = (uint8_t)((in[0] & 0x0f) << 4 | in[1] >> 4);
		tc = tun_dsfield(tc);
		out[0] = (uint8_t)(0x60 | tc >> 4);
		/* The flow label is copied so the path keeps hashing the tunnelled
		 * flow as one (RFC 6437 §3 lets a tunnel entry point do this). */
		out[1] = (uint8_t)(tc << 4 | (in[1] & 0x0f));
		out[2] = in[2];
		out[3] = in[3];
		out[4] = (uint8_t)(plen >> 8);
		out[5] = (uint8_t)plen;
		out[6] = IPPROTO_IPV6_;
		out[7] = OUTER_TTL;
		memcpy(out + 8, outer_src->b, 16);
		memcpy(out + 24, c->daddr.b, 16);
	}

	/* Describe the new frame as pkt_parse() would: an IP-in-IP packet whose
	 * "transport" is the inner IP header.  Ethernet padding is dropped. */
	p->len = pi->l3_off + hlen + inner_len;
	pi->flags &= PKT_F_VLAN;
	pi->l4_off = (uint16_t)(pi->l3_off + hlen);
	pi->l3_len = (uint16_t)(inner_len + hlen);
	pi->l4_len = (uint16_t)inner_len;
	pi->ttl = OUTER_TTL;
	pi->tcp_flags = 0;
	pi->t.saddr = *outer_src;
	pi->t.daddr = c->daddr;
	pi->t.sport = pi->t.dport = 0;
	pi->t.proto = v4 ? IPPROTO_IPIP_ : IPPROTO_IPV6_;
	return DROP_NONE;
}
