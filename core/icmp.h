/* ICMP and ICMPv6 work of the engine, internal to core/.
 *
 * Two jobs, both pure rewrites of a frame in place:
 *  - translating an ICMP error that quotes a NAT or FULLNAT connection, so
 *    that path MTU discovery and unreachable reports work through the
 *    director the way IPVS makes them work (ip_vs_in_icmp / ip_vs_out_icmp);
 *  - originating "fragmentation needed" / "packet too big" for a packet we
 *    cannot forward whole (TUN encapsulation or a small egress MTU).
 * The engine finds the connection and the next hop; these functions only
 * touch bytes.  No allocation, no syscalls.
 */
#ifndef ULVS_CORE_ICMP_H
#define ULVS_CORE_ICMP_H

#include <stdint.h>

#include "conn-t.h"
#include "engine.h"
#include "packet-t.h"

/* The ICMP error in p (pi has PKT_F_ICMP_ERR and PKT_F_INNER_L4) quotes a
 * packet of connection c, which is NAT or FULLNAT.  dir is the direction in
 * which the reversed quote matched c:
 *  CONN_DIR_IN:  the error was sent to the VIP about a reply the client was
 *                to get (VIP:vport -> client); it goes on to the real server,
 *                so the outer destination becomes RIP and the quote becomes
 *                RIP:rport -> client (FULLNAT: outer laddr -> RIP, quote
 *                RIP:rport -> laddr:lport).
 *  CONN_DIR_OUT: the error came from the real server's side about a packet
 *                we sent there (client -> RIP, FULLNAT laddr -> RIP); it goes
 *                back to the client, with the outer source the VIP (as IPVS
 *                ip_vs_nat_icmp does, whoever sent it) and the quote as the
 *                client sent it (client:cport -> VIP:vport).
 * The quoted IP header checksum and the quoted transport checksum (when the
 * quote reaches it) are patched incrementally; the ICMP checksum is summed
 * again over the message (with the pseudo-header for ICMPv6).  pi->t and
 * pi->inner are updated.  Returns DROP_NONE or DROP_UNSUPPORTED for a
 * forwarding method that has nothing to translate. */
enum drop_reason icmp_xlate(struct pkt *p, struct pkt_info *pi, const struct conn *c,
			    enum conn_dir dir);

/* Rewrite the frame in p (parsed as pi) into an ICMPv4 destination
 * unreachable / fragmentation needed (type 3 code 4, RFC 1191 §4) or an
 * ICMPv6 packet too big (RFC 4443 §3.2) sent from src back to the packet's
 * source, reporting next-hop MTU mtu (raised to the protocol minimum: 68,
 * 1280).  The quote is the original IP packet, cut so the error fits 576
 * bytes (RFC 1812 §4.3.2.3) or 1280 bytes (RFC 4443 §2.4(c)).  The Ethernet
 * addresses are swapped (the error goes back out the way the packet came;
 * any VLAN tag stays).  The frame grows into the headroom or, failing that,
 * the tailroom.  Returns 0 and updates p and pi; -EINVAL when no error may
 * be sent about this packet (it is an ICMP error itself, a non-first
 * fragment, or comes from an address that cannot be answered, RFC 1122
 * §3.2.2); -ENOBUFS when the buffer has no room. */
int icmp_build_too_big(struct pkt *p, struct pkt_info *pi, const union ulvs_addr *src,
		       uint32_t mtu);

#endif
