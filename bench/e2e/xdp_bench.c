/* XDP programs for the end-to-end benchmark (bench/e2e/run.py).
 *
 * xdp_redirect: the packet-rate ceiling of the balancer's veth pair -- every
 * IPv4 UDP frame arriving on the balancer's client-side veth gets its MACs
 * rewritten toward one of two backends (chosen by the low bit of the source
 * port, so both see traffic the way a balancer spreads flows) and is
 * redirected to the backend-side veth.  Nothing else is done to it: this is
 * the most any forwarder on this pair can reach, the yardstick for the rest.
 *
 * xdp_sink: on the switch port behind the balancer, drops and counts the
 * frames a balancer forwarded (IPv4 UDP, and IP-in-IP for TUN mode) so the
 * backends' stacks do not spend the CPU the contenders need; ARP and
 * everything else go on to the bridge, so neighbour resolution still works.
 * The count is the veth's rx_packets (veth counts frames its XDP program
 * dropped), read by the runner.
 *
 * The runner compiles this once per topology with the interface index and
 * MACs as -D constants: no maps, hence no bpftool or loader beyond
 * `ip link set dev X xdp obj FILE sec NAME` (a single program: libxdp's
 * dispatcher needs fentry, which this kernel refuses).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef EGRESS_IFINDEX
#define EGRESS_IFINDEX 0
#endif
/* MACs as 0xAABBCCDDEEFF */
#ifndef EGRESS_MAC
#define EGRESS_MAC 0x0ull
#endif
#ifndef BACKEND0_MAC
#define BACKEND0_MAC 0x0ull
#endif
#ifndef BACKEND1_MAC
#define BACKEND1_MAC 0x0ull
#endif

static __always_inline void mac_set(unsigned char *m, unsigned long long v)
{
	for (int i = 5; i >= 0; i--) {
		m[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* The IPv4 header of an Ethernet frame or NULL. */
static __always_inline struct iphdr *frame_ip4(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	return ip;
}

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = frame_ip4(data, end);
	unsigned char *udp;

	if (!ip || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	udp = (unsigned char *)(ip + 1);
	if ((void *)(udp + 8) > end)
		return XDP_PASS;
	struct ethhdr *eth = data;
	mac_set(eth->h_dest, (udp[1] & 1) ? BACKEND1_MAC : BACKEND0_MAC);
	mac_set(eth->h_source, EGRESS_MAC);
	return bpf_redirect(EGRESS_IFINDEX, 0);
}

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = frame_ip4(data, end);

	if (ip && (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_IPIP))
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
