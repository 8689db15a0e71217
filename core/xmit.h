/* Per-forwarding-mode rewrites, internal to core/ (the engine calls them).
 *
 * Each function rewrites the frame in p for connection c, given the parse
 * result pi of the frame as it arrived, and returns DROP_NONE or the reason
 * to drop.  IP/L4 checksums are updated incrementally (RFC 1624).  They do
 * not touch MACs or choose the egress: the engine resolves the next hop of
 * the rewritten destination with fib_resolve() afterwards and writes the
 * Ethernet header (keeping any VLAN tag).  The engine decrements TTL/hop
 * limit for NAT and FULLNAT (we route those packets); DR and TUN leave the
 * client's packet as it was.
 * After a function that changes the frame length or layout returns, *pi is
 * updated to describe the new frame (l3_off etc.).
 */
#ifndef ULVS_CORE_XMIT_H
#define ULVS_CORE_XMIT_H

#include "conn-t.h"
#include "engine.h"
#include "packet-t.h"
#include "service-t.h"

/* NAT: client -> VIP:vport becomes client -> RIP:rport. */
enum drop_reason xmit_nat_in(struct pkt *p, struct pkt_info *pi, const struct conn *c);
/* NAT reply: RIP:rport -> client becomes VIP:vport -> client. */
enum drop_reason xmit_nat_out(struct pkt *p, struct pkt_info *pi, const struct conn *c);
/* DR: nothing but MACs change (done by the engine); checks vport == rport. */
enum drop_reason xmit_dr(struct pkt *p, struct pkt_info *pi, const struct conn *c);
/* TUN: prepend an outer IPv4 (proto 4) or IPv6 (next header 41) header from
 * outer_src to c->daddr.  If the result would exceed mtu and the inner packet
 * may not be fragmented (IPv4 DF set, or IPv6), returns DROP_TOO_BIG and
 * leaves the frame untouched so the engine can answer with an ICMP error. */
enum drop_reason xmit_tun(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			  const union ulvs_addr *outer_src, uint16_t mtu);
/* FULLNAT in: client:cport -> VIP:vport becomes laddr:lport -> RIP:rport.
 * When insert_toa, the TOA option (kind 254) carrying the client address and
 * port is added to this segment (the client's first ACK), growing the TCP
 * header by 8 (IPv4) or 20 (IPv6) bytes; returns DROP_NO_HEADROOM if it
 * cannot.  SYNs have their MSS option lowered by the TOA size (mss_clamped). */
enum drop_reason xmit_fnat_in(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			      bool insert_toa, struct engine_stats *st);
/* FULLNAT reply: RIP:rport -> laddr:lport becomes VIP:vport -> client:cport;
 * SYN-ACKs get their MSS lowered by the TOA size. */
enum drop_reason xmit_fnat_out(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			       struct engine_stats *st);

/* Rewrite the L3/L4 addresses and ports of the packet described by pi (used
 * by NAT/FULLNAT and by ICMP translation for the quoted inner packet).
 * Any of the pointers may be NULL to leave that field alone. */
void xmit_rewrite_l34(uint8_t *l3, const struct pkt_info *pi, uint8_t *l4, uint32_t l4_avail,
		      const union ulvs_addr *saddr, const uint16_t *sport,
		      const union ulvs_addr *daddr, const uint16_t *dport);

#endif
