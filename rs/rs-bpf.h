/* Types shared by ulvs-rs and its two BPF programs (bpf/rs_*.bpf.c).
 *
 * Both sides compile this header: the BPF objects with clang -target bpf,
 * ulvs-rs with the host compiler, so it uses only fixed-width kernel types
 * and no libc.  Map layouts must stay identical on both sides; a change here
 * needs both rebuilt (they are, by the same meson target graph).
 */
#ifndef ULVS_RS_BPF_H
#define ULVS_RS_BPF_H

#include <linux/types.h>

/* Tunnel decapsulation (rs_tun_decap): a packet is decapsulated only when
 * its inner destination is one of these VIPs. */
struct rs_vip_key {
	__u32 family;           /* 4 or 6 */
	__u8 addr[16];          /* IPv4 in the first 4 bytes, rest zero */
};

/* Per-CPU counters of the decap program, summed by `ulvs-rs status`. */
enum rs_tun_stat {
	RS_TUN_DECAP_IPIP,      /* IPv4 inner, decapsulated */
	RS_TUN_DECAP_IP6,       /* IPv6 inner, decapsulated */
	RS_TUN_PASS_NOT_VIP,    /* tunnel packet whose inner destination is no VIP: left to the kernel */
	RS_TUN_DROP_FRAGMENT,   /* fragmented outer packet: cannot decapsulate per fragment */
	RS_TUN_DROP_TRUNCATED,  /* outer header says tunnel, inner header does not fit */
	RS_TUN_DROP_ECN,        /* RFC 6040 §4.2: outer CE over a not-ECT inner packet */
	RS_TUN_DROP_ADJUST,     /* bpf_skb_adjust_room() refused */
	RS_TUN_STAT_MAX
};

/* TOA read-out (rs_toa): what the sock_ops program found in the option,
 * kept per socket in sk_storage and read by the getpeername hooks. */
struct rs_toa_peer {
	__u32 family;           /* 4 or 6; 0: nothing found (yet) */
	__u16 port;             /* network order */
	__u16 pad;
	__u8 addr[16];          /* IPv4 in the first 4 bytes */
};

enum rs_toa_stat {
	RS_TOA_FOUND_V4,        /* option found, IPv4 client stored */
	RS_TOA_FOUND_V6,        /* option found, IPv6 client stored */
	RS_TOA_ABSENT,          /* handshake ACK without the option */
	RS_TOA_MALFORMED,       /* option list malformed or kind 254 of a wrong length */
	RS_TOA_NO_STORAGE,      /* sk_storage could not be created (memory) */
	RS_TOA_REWRITTEN,       /* getpeername/accept answers rewritten */
	RS_TOA_STAT_MAX
};

#endif
