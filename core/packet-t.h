/* Packet buffer and parse result types.
 *
 * A struct pkt is one Ethernet frame in a buffer the I/O layer owns.  The
 * engine may move data backwards into the headroom (encapsulation, TOA) or
 * rewrite the frame entirely (ICMP errors it originates), so the buffer's
 * real start and capacity travel with it.  Owned by the worker; do not touch
 * from other threads.
 */
#ifndef ULVS_CORE_PACKET_T_H
#define ULVS_CORE_PACKET_T_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct pkt {
	uint8_t *buf;      /* start of the buffer (data - buf = headroom) */
	uint8_t *data;     /* first byte of the Ethernet header */
	uint32_t len;      /* frame length from data */
	uint32_t buf_size; /* bytes available from buf */
	uint16_t ifindex;  /* engine interface id the frame arrived on */
	uint32_t mark;     /* firewall mark (set by classification) */
};

/* Why a packet was refused by the parser.  Each is a named counter. */
enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,          /* ARP, LLDP, ...: not ours, pass to the kernel */
	PARSE_TRUNC_ETH,
	PARSE_TRUNC_VLAN,
	PARSE_TRUNC_IP,        /* frame shorter than the IP header says */
	PARSE_BAD_IP_VERSION,
	PARSE_BAD_IP_HLEN,
	PARSE_BAD_IP_LEN,      /* total length < header, or > frame */
	PARSE_BAD_IP_CSUM,
	PARSE_BAD_IP6_EXT,     /* malformed or truncated extension header chain */
	PARSE_TRUNC_L4,
	PARSE_BAD_TCP_HLEN,
	PARSE_BAD_UDP_LEN,
	PARSE_BAD_ICMP,        /* ICMP error with an unusable quotation */
	PARSE_RESULT_MAX
};

/* The tuple of a packet (or of the packet an ICMP error quotes). */
struct pkt_tuple {
	union ulvs_addr saddr, daddr;
	uint16_t sport, dport; /* network order; ICMP echo: id in both */
	uint8_t af;            /* enum ulvs_af */
	uint8_t proto;         /* IPPROTO_TCP/UDP/ICMP/ICMPV6/... */
};

enum pkt_flags {
	PKT_F_VLAN = 1u << 0,
	PKT_F_FRAG = 1u << 1,       /* any fragment (first or not) */
	PKT_F_FRAG_FIRST = 1u << 2, /* offset 0, more fragments follow */
	PKT_F_IP_OPTS = 1u << 3,    /* IPv4 options present */
	PKT_F_ICMP_ERR = 1u << 4,   /* ICMP/ICMPv6 error; inner fields valid */
	PKT_F_L4 = 1u << 5,         /* ports and l4_off valid */
	PKT_F_INNER_L4 = 1u << 6,   /* ICMP error: inner ports valid and the quoted L4
	                             * header has 8 bytes at inner_l4_off
	                             * (absent when the quote is a non-first fragment
	                             * or a protocol without ports) */
};

/* Result of pkt_parse(): offsets are from pkt->data. */
struct pkt_info {
	uint32_t flags;          /* enum pkt_flags */
	uint16_t vlan_tci;       /* network order, valid with PKT_F_VLAN */
	uint16_t l3_off;         /* IPv4/IPv6 header */
	uint16_t l4_off;         /* transport header (after IPv6 ext headers) */
	uint16_t l3_len;         /* IP total length (IPv6: 40 + payload length) */
	uint16_t l4_len;         /* l3_off + l3_len - l4_off */
	uint8_t ttl;             /* TTL / hop limit */
	uint8_t tcp_flags;       /* TCP flags byte, 0 for others */
	struct pkt_tuple t;
	/* ICMP errors: the quoted packet (as it was sent, so its source is us
	 * or the real server and its destination the far end). */
	uint8_t icmp_type, icmp_code;
	uint16_t inner_l3_off, inner_l4_off;
	struct pkt_tuple inner;
};

#endif
