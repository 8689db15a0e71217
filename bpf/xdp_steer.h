/* Maps shared by the XDP steering program (xdp_steer.bpf.c) and its loader
 * (io/afxdp.c).
 *
 * The program asks one question per frame: does the engine own it?  The
 * answer lives in three maps the loader fills from the service table:
 * a hash of exact keys (VIP:port, FULLNAT local addresses, NAT real servers
 * and the director's own addresses) and an LPM trie of firewall-mark rule
 * prefixes with their port ranges.  Where an owned frame goes: the XSKMAP
 * slot qbase[ingress ifindex] + receive queue.  Addresses and ports are in network order as in core/
 * (IPv4 in the first 4 address bytes, the rest zero); mark port ranges are
 * host order, as in struct mark_rule.  Both sides include only linux/types.h
 * so the layout is one definition compiled twice.
 */
#ifndef ULVS_BPF_XDP_STEER_H
#define ULVS_BPF_XDP_STEER_H

#include <linux/types.h>

/* What a struct steer_key names. */
enum steer_kind {
	STEER_VIP = 1,       /* (af, proto, VIP, port); port 0: every port */
	STEER_VIP_ADDR,      /* (af, VIP): ICMP errors and non-first fragments */
	STEER_LADDR,         /* (af, local address): FULLNAT replies in the lport range */
	STEER_NAT_RS,        /* (af, proto, real server, port): NAT replies; port 0: any */
	STEER_NAT_RS_ADDR,   /* (af, real server): its ICMP errors and fragments */
	STEER_LOCAL,         /* (af, address of the director): never a NAT reply */
};

struct steer_key {
	__u8 kind;           /* enum steer_kind */
	__u8 af;             /* 4 or 6, as enum ulvs_af */
	__u8 proto;          /* 0 where the kind ignores it */
	__u8 pad;
	__be16 port;         /* 0 where the kind ignores it */
	__u16 pad2;
	__u8 addr[16];
};

/* Value of a steer_key: for STEER_LADDR the local port range (host order,
 * inclusive) replies come back to; unused (zero) for the other kinds. */
struct steer_val {
	__u16 port_lo, port_hi;
};

/* LPM trie key: prefixlen counts the af byte too (8 + prefix length), so
 * one trie holds IPv4 and IPv6 without mixing them. */
struct steer_mark_key {
	__u32 prefixlen;
	__u8 af;
	__u8 addr[16];
	__u8 pad[3];
};

#ifndef STEER_MARK_RANGES
#define STEER_MARK_RANGES 16
#endif

/* Every (proto, port range) a destination in this prefix is owned for:
 * the rule's own and those of every shorter rule prefix covering it, since
 * the trie answers with the longest match only. */
struct steer_mark_val {
	__u8 n;                /* ranges used */
	__u8 pad[3];
	struct {
		__u8 proto;    /* 0: TCP, UDP and SCTP */
		__u8 pad;
		__u16 lo, hi;  /* host order, inclusive */
	} r[STEER_MARK_RANGES];
};

/* Per-CPU counters, indexes of the stats array. */
enum steer_counter {
	STEER_C_SEEN = 0,    /* frames the program ran on */
	STEER_C_VIP,         /* owned: to a virtual service */
	STEER_C_MARK,        /* owned: matched a firewall-mark rule */
	STEER_C_LADDR,       /* owned: to a FULLNAT local address */
	STEER_C_NAT_REPLY,   /* owned: reply from a NAT real server */
	STEER_C_ICMP,        /* owned: ICMP error about engine flows */
	STEER_C_FRAG,        /* owned: non-first fragment of such */
	STEER_C_NO_XSK,      /* owned, but no socket on its queue: dropped */
	STEER_C_MAX
};

#define STEER_MAX_QUEUES 256     /* sockets, all interfaces together */
#define STEER_MAX_KEYS 65536
#define STEER_MAX_MARKS 1024

#endif
