/* FULLNAT forwarding (DPVS lb_kind FNAT): both addresses rewritten.
 *
 * client:cport -> VIP:vport leaves as laddr:lport -> RIP:rport, and the real
 * server's reply RIP:rport -> laddr:lport comes back to us (it is addressed
 * to us) and leaves as VIP:vport -> client:cport.  Real servers need no route
 * back through the director and may sit anywhere routable - the price is
 * that they no longer see the client, which the TOA option (toa.h) restores
 * for TCP: it rides on the client's first ACK, and the MSS of both handshake
 * directions is lowered by its size so segments carrying it still fit.
 * The address/port rewrite is xmit_rewrite_l34() (shared with NAT and ICMP
 * translation); everything here is incremental checksum work, O(header).
 */
#include "packet.h"
#include "toa.h"
#include "xmit.h"

static inline bool fnat_is_tcp(const struct pkt_info *pi)
{
	return pi->t.proto == IPPROTO_TCP_ && (pi->flags & PKT_F_L4);
}

static void fnat_rewrite(struct pkt *p, struct pkt_info *pi, const union ulvs_addr *s,
			 const uint16_t *sport, const union ulvs_addr *d, const uint16_t *dport)
{
	uint8_t *l3 = p->data + pi->l3_off;
	bool l4 = pi->flags & PKT_F_L4;

	/* Without L4 (a non-first fragment) only the addresses change. */
	xmit_rewrite_l34(l3, pi, l4 ? p->data + pi->l4_off : NULL,
			 l4 ? pi->l4_len : 0, s, l4 ? sport : NULL, d,
			 l4 ? dport : NULL);
	pi->t.saddr = *s;
	pi->t.daddr = *d;
	if (l4) {
		pi->t.sport = *sport;
		pi->t.dport = *dport;
	}
}

enum drop_reason xmit_fnat_in(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			      bool insert_toa, struct engine_stats *st)
{
	const unsigned toa = toa_len((enum ulvs_af)c->af);
	bool add_toa = false;

	if (pi->t.af != c->af || !toa)
		return DROP_UNSUPPORTED;

	/* The TOA goes on an ACK that is not a SYN or RST: the real server's
	 * stack reads it when the connection is accepted (Alibaba's toa module
	 * hooks the ACK that completes the handshake).  Decide before touching
	 * anything so a refusal leaves the frame as it came. */
	if (insert_toa && fnat_is_tcp(pi) && !(pi->flags & PKT_F_FRAG) &&
	    (pi->tcp_flags & (TCP_F_ACK | TCP_F_SYN | TCP_F_RST)) == TCP_F_ACK) {
		const uint8_t *tcp = p->data + pi->l4_off;
		unsigned optlen = (unsigned)(tcp[12] >> 4) * 4 - 20;
		if (optlen + toa > TCP_OPTS_MAX) {
			/* Not fatal: the connection works, the real server just sees
			 * the local address.  Counted so operators can tell. */
			st->toa_no_room++;
		} else if ((uint32_t)(p->data - p->buf) < toa) {
			return DROP_NO_HEADROOM;
		} else {
			add_toa = true;
		}
	}

	fnat_rewrite(p, pi, &c->laddr, &c->lport, &c->daddr, &c->dport);
	/* Only the director may speak for the client's address. */
	if (fnat_is_tcp(pi) && (p->data[pi->l4_off + 12] >> 4) > 5)
		toa_strip(p, pi);

	/* The client's SYN is clamped as well, as DPVS's FULLNAT does, so both
	 * ends agree on segments that leave room for the option. */
	if (fnat_is_tcp(pi) && (pi->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == TCP_F_SYN &&
	    tcp_mss_clamp(p, pi, (uint16_t)toa))
		st->mss_clamped++;
	if (add_toa) {
		/* Room and headroom were checked above, so this cannot fail. */
		if (toa_insert(p, pi, (enum ulvs_af)c->af, &c->caddr, c->cport) == 0)
			st->toa_inserted++;
	}
	return DROP_NONE;
}

enum drop_reason xmit_fnat_out(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			       struct engine_stats *st)
{
	const unsigned toa = toa_len((enum ulvs_af)c->af);

	if (pi->t.af != c->af || !toa)
		return DROP_UNSUPPORTED;
	fnat_rewrite(p, pi, &c->vaddr, &c->vport, &c->caddr, &c->cport);
	/* The client sizes its segments from the SYN-ACK's MSS; leave room for
	 * the option we add to one of them. */
	if (fnat_is_tcp(pi) && (pi->tcp_flags & (TCP_F_SYN | TCP_F_ACK)) == (TCP_F_SYN | TCP_F_ACK) &&
	    tcp_mss_clamp(p, pi, (uint16_t)toa))
		st->mss_clamped++;
	return DROP_NONE;
}
