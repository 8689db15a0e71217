/* TOA ("TCP Option Address"): how a FULLNAT real server learns the client.
 *
 * FULLNAT replaces the client's address with a local one, so the real server
 * would only ever see the director.  The de-facto fix, from Alibaba's FULLNAT
 * kernel and DPVS, is a non-standard TCP option (kind 254) that the director
 * adds to the client's first ACK and that a module or BPF program on the
 * real server reads back (ulvs-rs does the reading, with toa_parse()):
 *
 *   IPv4, 8 bytes:  kind=254 len=8  port(2) addr(4)
 *   IPv6, 20 bytes: kind=254 len=20 port(2) addr(16)
 *
 * port and addr are the client's, in network order.  Because the option
 * makes that segment longer, the MSS announced in both directions of the
 * handshake is lowered by the option length (tcp_mss_clamp), so a full-sized
 * segment with the option still fits the path.
 * Pure functions over buffers; no allocation, no syscalls.
 */
#ifndef ULVS_CORE_TOA_H
#define ULVS_CORE_TOA_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "packet-t.h"

#define TOA_KIND 254
#define TOA_LEN_V4 8
#define TOA_LEN_V6 20
#define TCP_OPT_EOL_ 0
#define TCP_OPT_NOP_ 1
#define TCP_OPT_MSS_ 2
#define TCP_OPTS_MAX 40 /* RFC 9293 §3.1: data offset is 4 bits of 32-bit words */

/* Option length for a client of family af: 8, 20, or 0 for an unknown af. */
static inline unsigned toa_len(enum ulvs_af af)
{
	return af == ULVS_AF_INET ? TOA_LEN_V4 : af == ULVS_AF_INET6 ? TOA_LEN_V6 : 0;
}

/* Write the option for (af, addr, port_be) at opt, which must have room for
 * toa_len(af) bytes.  Returns the bytes written, 0 for an unknown af. */
unsigned toa_build(uint8_t *opt, enum ulvs_af af, const union ulvs_addr *addr,
		   uint16_t port_be);

/* Find a TOA option in the TCP options area (the bytes after the fixed
 * 20-byte header, len = doff*4 - 20).  Returns 0 and fills *af, *addr (other
 * bytes zero for IPv4) and *port_be; -ENOENT when the options are well formed
 * but carry no TOA; -EINVAL when the option list is malformed (a length byte
 * running past the end or below 2) or a kind-254 option has a length other
 * than 8 or 20.  O(len). */
int toa_parse(const uint8_t *tcp_opts, uint32_t len, enum ulvs_af *af,
	      union ulvs_addr *addr, uint16_t *port_be);

/* Insert the option into the TCP segment described by pi, in place: the
 * Ethernet, IP and fixed TCP headers move back into the headroom by the
 * option length (the payload does not move), the option goes first in the
 * options area, and doff, IP total/payload length, the IPv4 header checksum
 * and the TCP checksum are updated incrementally.  p->data, p->len and
 * pi->l3_len/l4_len describe the new frame (offsets from data are unchanged).
 * Returns 0; -ENOSPC when the options area has no room (frame untouched);
 * -ENOBUFS when the headroom is too small (frame untouched); -EINVAL for a
 * non-TCP packet.  O(header length). */
int toa_insert(struct pkt *p, struct pkt_info *pi, enum ulvs_af af,
	       const union ulvs_addr *addr, uint16_t port_be);

/* Overwrite every TOA option already in the segment with NOPs (checksum
 * patched incrementally).  A client could otherwise send its own kind-254
 * option and make the real server believe any address it likes - notably
 * when our own option is skipped for lack of room.  Returns how many were
 * removed.  O(options length). */
unsigned toa_strip(struct pkt *p, const struct pkt_info *pi);

/* Lower the MSS option of the TCP segment described by pi by delta (the TOA
 * length), updating the TCP checksum incrementally.  Returns true when an
 * MSS option was found and lowered; false when there is none or it is
 * already no larger than delta (left alone rather than made absurd). */
bool tcp_mss_clamp(struct pkt *p, const struct pkt_info *pi, uint16_t delta);

#endif
