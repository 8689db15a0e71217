/* Packet parsing and checksum helpers.
 *
 * pkt_parse() validates a frame completely before the engine looks at it:
 * Ethernet, one 802.1Q tag, IPv4 (header checksum, options, fragments
 * detected) or IPv6 (extension headers walked to the transport header),
 * TCP/UDP/ICMP/ICMPv6, and for ICMP errors the quoted inner header.
 * Returns PARSE_OK or the reason the frame is unusable.  No allocation,
 * no syscalls, O(header length).
 */
#ifndef ULVS_CORE_PACKET_H
#define ULVS_CORE_PACKET_H

#include "packet-t.h"

#define ETH_HLEN_ 14
#define ETHERTYPE_IPV4_ 0x0800
#define ETHERTYPE_IPV6_ 0x86dd
#define ETHERTYPE_VLAN_ 0x8100
#define ETHERTYPE_ARP_ 0x0806

#define IPPROTO_ICMP_ 1
#define IPPROTO_IPIP_ 4
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_IPV6_ 41
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_VRRP_ 112

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_PSH 0x08
#define TCP_F_ACK 0x10

enum parse_result pkt_parse(const struct pkt *p, struct pkt_info *pi);
const char *parse_result_name(enum parse_result r);

/* --- checksums (RFC 1071 sum, RFC 1624 incremental update) --------------- */

/* One's complement sum of len bytes, folded to 16 bits, not inverted. */
uint32_t csum_partial(const void *data, uint32_t len, uint32_t sum);
uint16_t csum_fold(uint32_t sum);
/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field change. */
static inline uint16_t csum_replace2(uint16_t check, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~check + (uint16_t)~old + new_;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
/* Same for a 32-bit field (an IPv4 address). */
static inline uint16_t csum_replace4(uint16_t check, uint32_t old, uint32_t new_)
{
	uint32_t s = (uint16_t)~check;
	s += (uint16_t)~(old & 0xffff) + (uint16_t)~(old >> 16);
	s += (new_ & 0xffff) + (new_ >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
/* Same for a 128-bit field (an IPv6 address). */
uint16_t csum_replace16(uint16_t check, const uint32_t old[4], const uint32_t new_[4]);
/* Full L4 checksum with the pseudo-header; used by tests and when the engine
 * builds a packet from scratch (ICMP errors it originates). */
uint16_t csum_l4(enum ulvs_af af, const union ulvs_addr *s, const union ulvs_addr *d,
		 uint8_t proto, const void *l4, uint32_t l4_len);
/* IPv4 header checksum over hlen bytes (field in the header ignored). */
uint16_t csum_ip4_header(const void *ip, uint32_t hlen);

#endif
