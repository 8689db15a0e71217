/* rs_tun_decap: the real server's half of LVS TUN mode without the ipip
 * module.  Attached at tc ingress (clsact) of the interface the director's
 * tunnel packets arrive on, it strips the outer IP header of IP-in-IP
 * (protocol 4) and IPv6-in-IP (41) packets, over IPv4 or IPv6, whose inner
 * destination is one of the VIPs ulvs-rs put in rs_tun_vips.  The inner
 * packet then continues up the stack as if it had arrived bare on this
 * interface and is delivered locally to the VIP on lo.  Everything else -
 * including tunnel packets for other addresses - is left to the kernel.
 *
 * The Ethernet header is kept (BPF_ADJ_ROOM_MAC removes the bytes after it);
 * when the inner family differs from the outer one, BPF_F_ADJ_ROOM_DECAP_L3_*
 * (kernel >= 6.3) makes the kernel switch skb->protocol and we patch the
 * EtherType to match.  No VLAN tags: a tagged frame reaches tc with the tag
 * already in skb metadata on most drivers, and ulvs's director sends none.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "rs/rs-bpf.h"

/* uapi of kernel 6.3; Debian 12's headers predate it. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define ECN_MASK 3
#define ECN_CE 3

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct rs_vip_key);
	__type(value, __u8);
} rs_tun_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_TUN_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rs_tun_stats SEC(".maps");

static __always_inline int count(__u32 which, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&rs_tun_stats, &which);

	if (v)
		(*v)++;
	return verdict;
}

SEC("tc")
int rs_tun_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct rs_vip_key key = {};
	__u32 olen, outer_ecn, inner_off;
	__u8 inner_proto, inner_ecn;
	int outer_v6;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		if (ip->protocol != IPPROTO_IPIP && ip->protocol != IPPROTO_IPV6)
			return TC_ACT_OK;
		if (ip->ihl < 5)
			return TC_ACT_OK;
		/* A fragment holds part of an inner packet; the kernel would
		 * reassemble for the ipip module, tc sees fragments.  The
		 * director sends whole packets (it answers "fragmentation
		 * needed" instead), so this only counts strays. */
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK))
			return count(RS_TUN_DROP_FRAGMENT, TC_ACT_SHOT);
		olen = ip->ihl * 4;
		inner_proto = ip->protocol;
		outer_ecn = ip->tos & ECN_MASK;
		outer_v6 = 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		/* Only a tunnel right after the fixed header; extension
		 * headers first are left to the kernel (which drops them: no
		 * ip6_tunnel module either). */
		if (ip6->nexthdr != IPPROTO_IPIP && ip6->nexthdr != IPPROTO_IPV6)
			return TC_ACT_OK;
		olen = sizeof(*ip6);
		inner_proto = ip6->nexthdr;
		outer_ecn = (bpf_ntohs(*(__be16 *)ip6) >> 4) & ECN_MASK;
		outer_v6 = 1;
	} else {
		return TC_ACT_OK;
	}

	inner_off = sizeof(*eth) + olen;
	if (inner_off > 14 + 60)
		return TC_ACT_OK;
	if (inner_proto == IPPROTO_IPIP) {
		struct iphdr *in = data + inner_off;
		if ((void *)(in + 1) > end)
			return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
		if (in->version != 4)
			return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
		key.family = 4;
		__builtin_memcpy(key.addr, &in->daddr, 4);
		inner_ecn = in->tos & ECN_MASK;
	} else {
		struct ipv6hdr *in6 = data + inner_off;
		if ((void *)(in6 + 1) > end)
			return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
		if (in6->version != 6)
			return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
		key.family = 6;
		__builtin_memcpy(key.addr, &in6->daddr, 16);
		inner_ecn = (bpf_ntohs(*(__be16 *)in6) >> 4) & ECN_MASK;
	}
	if (!bpf_map_lookup_elem(&rs_tun_vips, &key))
		return count(RS_TUN_PASS_NOT_VIP, TC_ACT_OK);

	/* RFC 6040 §4.2: congestion marked on the outer header survives
	 * decapsulation; over a not-ECT inner packet it must be dropped. */
	if (outer_ecn == ECN_CE && inner_ecn != ECN_CE) {
		if (inner_ecn == 0)
			return count(RS_TUN_DROP_ECN, TC_ACT_SHOT);
		if (key.family == 4) {
			struct iphdr *in = data + inner_off;
			if ((void *)(in + 1) > end)
				return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
			__u16 old = *(__u16 *)in;
			in->tos |= ECN_CE;
			__u16 new = *(__u16 *)in;
			bpf_l3_csum_replace(skb, inner_off + 10, old, new, 2);
		} else {
			struct ipv6hdr *in6 = data + inner_off;
			if ((void *)(in6 + 1) > end)
				return count(RS_TUN_DROP_TRUNCATED, TC_ACT_SHOT);
			/* Traffic class straddles bytes 0 and 1; ECN is
			 * bits 4-5 of byte 1. */
			((__u8 *)in6)[1] |= ECN_CE << 4;
		}
	}

	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO;
	int inner_v6 = key.family == 6;
	if (inner_v6 != outer_v6)
		flags |= inner_v6 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6 : BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	if (bpf_skb_adjust_room(skb, -(__s32)olen, BPF_ADJ_ROOM_MAC, flags))
		return count(RS_TUN_DROP_ADJUST, TC_ACT_SHOT);
	if (inner_v6 != outer_v6) {
		__be16 et = bpf_htons(inner_v6 ? ETH_P_IPV6 : ETH_P_IP);
		bpf_skb_store_bytes(skb, __builtin_offsetof(struct ethhdr, h_proto), &et, sizeof(et), 0);
	}
	return count(inner_v6 ? RS_TUN_DECAP_IP6 : RS_TUN_DECAP_IPIP, TC_ACT_OK);
}
