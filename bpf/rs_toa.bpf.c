/* rs_toa: give unmodified applications on a FULLNAT real server the client's
 * address, read from the TOA option (core/toa.h), with no kernel module.
 *
 * Three programs share one sk_storage map keyed by the socket:
 *  - sockops: when a passive connection completes its handshake, the
 *    segment that completed it (the director puts the option on every client
 *    ACK until the server has sent data, so a lost handshake ACK is covered
 *    by the next one) is scanned for kind 254 and the client is stored;
 *  - cgroup/getpeername4 and getpeername6: getpeername() and accept()'s
 *    address (inet_getname() runs these hooks for both) are rewritten to the
 *    stored client.  getsockname() is left alone.
 *
 * Why not bpf_load_hdr_opt(): for kind 254 (RFC 6994 experimental) the helper
 * insists on matching a 2- or 4-byte ExID after the length byte, and TOA
 * predates ExIDs: those bytes are the client's port.  So the options are
 * walked by direct packet access over [skb_data, skb_data_end), which the
 * kernel sets to exactly the TCP header for PASSIVE_ESTABLISHED_CB.
 */
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "rs/rs-bpf.h"

#define TOA_KIND 254
#define TOA_LEN_V4 8
#define TOA_LEN_V6 20
#define TCP_OPTS_MAX 40 /* RFC 9293 §3.1: data offset is 4 bits of 32-bit words */

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rs_toa_peer);
} rs_toa_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RS_TOA_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rs_toa_stats SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&rs_toa_stats, &which);

	if (v)
		(*v)++;
}

/* The options area copied to the stack, and the walk's position: scanning
 * packet memory in a plain loop made the verifier track every path through
 * every option (a million instructions, "program too large"); bpf_loop()
 * verifies the step once, and a stack buffer indexed under a mask needs
 * no per-byte bounds proof. */
struct toa_scan {
	__u8 opt[64];
	__u32 off, len;
	int result;              /* 1 found, 0 none, -1 malformed */
	struct rs_toa_peer peer;
};

static long toa_step(__u32 i, void *ctx)
{
	struct toa_scan *s = ctx;
	__u32 off = s->off;
	__u8 kind, len;

	if (off >= s->len || off >= TCP_OPTS_MAX)
		return 1;
	kind = s->opt[off & 63];
	if (kind == 0) /* EOL */
		return 1;
	if (kind == 1) { /* NOP */
		s->off = off + 1;
		return 0;
	}
	len = s->opt[(off + 1) & 63];
	if (off + 1 >= s->len || len < 2 || off + len > s->len) {
		s->result = -1;
		return 1;
	}
	/* Kind 254 of other lengths is another experiment (RFC 6994). */
	if (kind == TOA_KIND && (len == TOA_LEN_V4 || len == TOA_LEN_V6)) {
		s->peer.family = len == TOA_LEN_V4 ? 4 : 6;
		((__u8 *)&s->peer.port)[0] = s->opt[(off + 2) & 63];
		((__u8 *)&s->peer.port)[1] = s->opt[(off + 3) & 63];
		for (int k = 0; k < 16; k++)
			s->peer.addr[k] = k < len - 4 ? s->opt[(off + 4 + k) & 63] : 0;
		s->result = 1;
		return 1;
	}
	s->off = off + len;
	return 0;
}

/* 1: found (out filled); 0: well-formed, no TOA; -1: malformed. */
static __always_inline int toa_find(struct bpf_sock_ops *skops, struct toa_scan *s)
{
	__u8 *data = (__u8 *)(long)skops->skb_data;
	__u8 *end = (__u8 *)(long)skops->skb_data_end;
	struct tcphdr *th = (struct tcphdr *)data;
	__u32 hlen;

	if ((void *)(th + 1) > (void *)end)
		return -1;
	hlen = th->doff * 4;
	if (hlen < sizeof(*th))
		return -1;
	s->len = hlen - sizeof(*th);
	/* Options come in whole 32-bit words (doff counts words). */
#pragma unroll
	for (int w = 0; w < TCP_OPTS_MAX / 4; w++) {
		if ((__u32)w * 4 >= s->len)
			break;
		if (data + sizeof(*th) + w * 4 + 4 > end)
			return -1;
		__builtin_memcpy(&s->opt[w * 4], data + sizeof(*th) + w * 4, 4);
	}
	bpf_loop(TCP_OPTS_MAX, toa_step, s, 0);
	return s->result;
}

SEC("sockops")
int rs_toa_sockops(struct bpf_sock_ops *skops)
{
	struct toa_scan scan = {};
	struct rs_toa_peer *slot;
	struct bpf_sock *sk;
	int r;

	if (skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	r = toa_find(skops, &scan);
	if (r < 0) {
		count(RS_TOA_MALFORMED);
		return 1;
	}
	if (r == 0) {
		count(RS_TOA_ABSENT);
		return 1;
	}
	sk = skops->sk;
	if (!sk)
		return 1;
	slot = bpf_sk_storage_get(&rs_toa_peers, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!slot) {
		count(RS_TOA_NO_STORAGE);
		return 1;
	}
	*slot = scan.peer;
	count(scan.peer.family == 4 ? RS_TOA_FOUND_V4 : RS_TOA_FOUND_V6);
	return 1;
}

SEC("cgroup/getpeername4")
int rs_toa_getpeername4(struct bpf_sock_addr *ctx)
{
	struct rs_toa_peer *p;
	__u32 a;

	if (!ctx->sk)
		return 1;
	p = bpf_sk_storage_get(&rs_toa_peers, ctx->sk, 0, 0);
	/* An IPv6 client cannot be shown through an AF_INET socket. */
	if (!p || p->family != 4)
		return 1;
	__builtin_memcpy(&a, p->addr, 4);
	ctx->user_ip4 = a;
	ctx->user_port = p->port;
	count(RS_TOA_REWRITTEN);
	return 1;
}

SEC("cgroup/getpeername6")
int rs_toa_getpeername6(struct bpf_sock_addr *ctx)
{
	struct rs_toa_peer *p;
	__u32 a[4];

	if (!ctx->sk)
		return 1;
	p = bpf_sk_storage_get(&rs_toa_peers, ctx->sk, 0, 0);
	if (!p)
		return 1;
	if (p->family == 6) {
		__builtin_memcpy(a, p->addr, 16);
	} else if (p->family == 4) {
		/* An IPv4 client on a dual-stack socket: RFC 4291 §2.5.5.2
		 * IPv4-mapped, as the kernel itself reports such peers. */
		a[0] = 0;
		a[1] = 0;
		a[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&a[3], p->addr, 4);
	} else {
		return 1;
	}
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
	ctx->user_port = p->port;
	count(RS_TOA_REWRITTEN);
	return 1;
}
