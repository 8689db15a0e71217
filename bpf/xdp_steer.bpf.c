/* XDP steering for the AF_XDP backend: redirect to the AF_XDP socket of the
 * receive queue exactly the frames the engine owns, XDP_PASS the rest.
 *
 * Owned (the same set live.c's nftables rules keep from the kernel under
 * AF_PACKET): TCP/UDP/SCTP to a virtual service's VIP:port; to a
 * firewall-mark rule's prefix and ports; to a FULLNAT local address in the
 * local port range; replies from a NAT real server's address:port that are
 * not addressed to the director itself (health-check answers are); ICMP
 * errors to a VIP or local address or from a NAT real server (the engine
 * translates them, RFC 5508-style); non-first fragments of those flows.
 * Everything else -- ARP, VRRP, ICMP echo to a VIP, ssh, health checks --
 * goes to the kernel untouched.
 *
 * An owned frame whose queue has no socket is dropped, never passed.  The
 * socket goes when its ulvsd dies, but a program attached with
 * bpf_xdp_attach outlives it (until a successor replaces it), and the
 * kernel must not see what the engine owns: it would answer a segment of
 * an established connection to VIP:port with a RST (nothing listens there)
 * and forward a NAT reply un-translated, which the client resets.  Either
 * kills the very connections the backup director is about to carry on
 * from its synced table; a dropped frame is only a retransmission later.
 * This is what AF_PACKET's nftables table, which also outlives a crash,
 * does with the same frames.
 *
 * The program only reads the frame.  It is attached alone (no libxdp
 * dispatcher: freplace is not permitted on our kernels), so its name,
 * "ulvs_steer", is how a restarted ulvsd recognises a predecessor's
 * leftover and replaces it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_steer.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* One program serves every interface, and every interface numbers its
 * queues from 0: the socket of (ifindex, queue) sits at slot
 * qbase[ifindex] + queue of xsks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} qbase SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_KEYS);
	__type(key, struct steer_key);
	__type(value, struct steer_val);
} owned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, STEER_MAX_MARKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);   /* LPM tries require it */
	__type(key, struct steer_mark_key);
	__type(value, struct steer_mark_val);
} marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define IPPROTO_ICMPV6_ 58

struct flow {
	__u8 af, proto;
	__u8 nonfirst;        /* a fragment without the transport header */
	__u8 icmp_err;
	__be16 sport, dport;
	__u8 saddr[16], daddr[16];
};

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline int have(__u8 kind, __u8 af, __u8 proto, __be16 port, const __u8 *addr,
				 struct steer_val **val)
{
	struct steer_key k = { .kind = kind, .af = af, .proto = proto, .port = port };
	struct steer_val *v;

	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&owned, &k);
	if (val)
		*val = v;
	return v != 0;
}

static __always_inline int nat_reply_dst(const struct flow *f)
{
	/* A packet from a real server to one of our own addresses is a
	 * health-check answer or our own connection: the kernel's. */
	return !have(STEER_LOCAL, f->af, 0, 0, f->daddr, 0);
}

static __always_inline int mark_match(const struct flow *f)
{
	struct steer_mark_key k = { .prefixlen = 8 + (f->af == 4 ? 32 : 128), .af = f->af };
	struct steer_mark_val *v;
	__u16 port = bpf_ntohs(f->dport);

	__builtin_memcpy(k.addr, f->daddr, 16);
	v = bpf_map_lookup_elem(&marks, &k);
	if (!v)
		return 0;
	for (int i = 0; i < STEER_MARK_RANGES; i++) {
		if (i >= v->n)
			break;
		if (v->r[i].proto && v->r[i].proto != f->proto)
			continue;
		if (port >= v->r[i].lo && port <= v->r[i].hi)
			return 1;
	}
	return 0;
}

/* Fills f from the frame; 0 when it is not IPv4/IPv6 we can read. */
static __always_inline int parse(void *data, void *end, struct flow *f)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 type;
	__u8 *l4;

	if ((void *)(eth + 1) > end)
		return 0;
	type = eth->h_proto;
	/* Up to two VLAN tags (802.1Q, 802.1ad). */
	for (int i = 0; i < 2; i++) {
		if (type != bpf_htons(ETH_P_8021Q) && type != bpf_htons(ETH_P_8021AD))
			break;
		if (data + off + 4 > end)
			return 0;
		type = *(__be16 *)(data + off + 2);
		off += 4;
	}
	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return 0;
		f->af = 4;
		f->proto = ip->protocol;
		__builtin_memcpy(f->saddr, &ip->saddr, 4);
		__builtin_memcpy(f->daddr, &ip->daddr, 4);
		if (ip->frag_off & bpf_htons(IP_OFFSET)) {
			f->nonfirst = 1;
			return 1;
		}
		l4 = (__u8 *)ip + ip->ihl * 4;
	} else if (type == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		if ((void *)(ip6 + 1) > end)
			return 0;
		f->af = 6;
		__builtin_memcpy(f->saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->daddr, &ip6->daddr, 16);
		__u8 nh = ip6->nexthdr;
		l4 = (__u8 *)(ip6 + 1);
		/* A bounded walk over the extension headers a service packet
		 * plausibly carries; anything deeper goes to the kernel. */
		for (int i = 0; i < 4; i++) {
			if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST &&
			    nh != NEXTHDR_FRAGMENT)
				break;
			if ((void *)(l4 + 8) > end)
				return 0;
			if (nh == NEXTHDR_FRAGMENT) {
				/* RFC 8200 §4.5: offset in the upper 13 bits. */
				if ((l4[2] << 8 | l4[3]) & 0xfff8) {
					f->proto = l4[0];
					f->nonfirst = 1;
					return 1;
				}
				nh = l4[0];
				l4 += 8;
				continue;
			}
			nh = l4[0];
			l4 += (l4[1] + 1) * 8;
		}
		f->proto = nh;
	} else {
		return 0;
	}
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == IPPROTO_SCTP) {
		if ((void *)(l4 + 4) > end)
			return 0;
		__builtin_memcpy(&f->sport, l4, 2);
		__builtin_memcpy(&f->dport, l4 + 2, 2);
		return 1;
	}
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6_) {
		if ((void *)(l4 + 1) > end)
			return 0;
		__u8 t = l4[0];
		/* RFC 792 destination unreachable, source quench, time
		 * exceeded, parameter problem; RFC 4443 §3.1-3.4. */
		if (f->af == 4)
			f->icmp_err = t == 3 || t == 4 || t == 11 || t == 12;
		else
			f->icmp_err = t >= 1 && t <= 4;
	}
	return 1;
}

/* Which counter owns the frame, or -1 when the kernel does. */
static __always_inline int classify(const struct flow *f)
{
	struct steer_val *v;

	if (f->nonfirst || f->icmp_err) {
		int c = f->nonfirst ? STEER_C_FRAG : STEER_C_ICMP;
		if (have(STEER_VIP_ADDR, f->af, 0, 0, f->daddr, 0) ||
		    have(STEER_LADDR, f->af, 0, 0, f->daddr, 0))
			return c;
		if (have(STEER_NAT_RS_ADDR, f->af, 0, 0, f->saddr, 0) && nat_reply_dst(f))
			return c;
		return -1;
	}
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP && f->proto != IPPROTO_SCTP)
		return -1;
	if (have(STEER_VIP, f->af, f->proto, f->dport, f->daddr, 0) ||
	    have(STEER_VIP, f->af, f->proto, 0, f->daddr, 0))
		return STEER_C_VIP;
	if (have(STEER_LADDR, f->af, 0, 0, f->daddr, &v) && v) {
		__u16 p = bpf_ntohs(f->dport);
		if (f->proto != IPPROTO_SCTP && p >= v->port_lo && p <= v->port_hi)
			return STEER_C_LADDR;
	}
	if ((have(STEER_NAT_RS, f->af, f->proto, f->sport, f->saddr, 0) ||
	     have(STEER_NAT_RS, f->af, f->proto, 0, f->saddr, 0)) && nat_reply_dst(f))
		return STEER_C_NAT_REPLY;
	if (mark_match(f))
		return STEER_C_MARK;
	return -1;
}

SEC("xdp")
int ulvs_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct flow f = {};
	__u32 ifindex = ctx->ingress_ifindex, *base;
	int c;

	count(STEER_C_SEEN);
	if (!parse(data, end, &f))
		return XDP_PASS;
	c = classify(&f);
	if (c < 0)
		return XDP_PASS;
	count((__u32)c);
	base = bpf_map_lookup_elem(&qbase, &ifindex);
	/* The low bits of flags are the action when the slot has no socket
	 * (bpf_redirect_map, Linux 5.3+): dropped, as the top says why. */
	if (!base || bpf_redirect_map(&xsks, *base + ctx->rx_queue_index, XDP_DROP) != XDP_REDIRECT) {
		count(STEER_C_NO_XSK);
		return XDP_DROP;
	}
	return XDP_REDIRECT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
