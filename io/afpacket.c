/* AF_PACKET sockets around the engine (see afpacket.h for the why).
 *
 * Receive: recvmmsg into RX_BATCH slots of 64 KiB (GSO super-frames must
 * fit), each preceded by ULVS_HEADROOM bytes and read together with its
 * struct virtio_net_hdr.  A plain frame is handed to the engine where it
 * lies; a super-frame is cut into a small pool of segment buffers, resuming
 * across calls when one batch cannot hold all of its segments.  Transmit:
 * the frame as the engine left it, behind an all-zero virtio_net_hdr (no
 * offload requested: the engine's checksums are complete).
 */
#include "io/csum.h"
#include "io/afpacket.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/constants.h"

#define RX_BATCH 32
#define RX_SLOT (ULVS_HEADROOM + 65536 + 256)
/* Segments are at most one MTU; 9216 covers jumbo frames. */
#define SEG_SLOT (ULVS_HEADROOM + 9216 + 64)

/* Debian 12's uapi headers predate UDP_L4 in virtio_net.h (Linux 6.2). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

struct afp_port {
	int fd;
	bool rx;
	uint16_t fib_id;
	uint32_t os_ifindex;
	/* Receive state (rx ports only). */
	uint8_t *slots;                      /* RX_BATCH * RX_SLOT */
	struct virtio_net_hdr vh[RX_BATCH];
	struct iovec iov[RX_BATCH][2];
	struct mmsghdr msgs[RX_BATCH];
	unsigned n_rcvd, cursor;             /* frames read, next to hand out */
	unsigned seg_next;                   /* next segment of slot[cursor] */
};

struct afp {
	struct afp_port ports[ULVS_MAX_IFACES];
	unsigned n_ports;
	int port_of_fib[ULVS_MAX_IFACES];
	uint8_t *segs;                       /* ULVS_MAX_BATCH * SEG_SLOT */
	struct afp_stats st;
	FILE *log;
};

/* The header we put in front of every transmitted frame: no offload. */
static const struct virtio_net_hdr tx_vh;

struct afp *afp_new(FILE *log)
{
	struct afp *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->segs = malloc((size_t)ULVS_MAX_BATCH * SEG_SLOT);
	if (!a->segs) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < ULVS_MAX_IFACES; i++)
		a->port_of_fib[i] = -1;
	a->log = log;
	return a;
}

void afp_free(struct afp *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n_ports; i++) {
		close(a->ports[i].fd);
		free(a->ports[i].slots);
	}
	free(a->segs);
	free(a);
}

unsigned afp_n_ports(const struct afp *a)
{
	return a->n_ports;
}

int afp_port_rx_fd(const struct afp *a, unsigned i)
{
	return i < a->n_ports && a->ports[i].rx ? a->ports[i].fd : -1;
}

const struct afp_stats *afp_stats(const struct afp *a)
{
	return &a->st;
}

int afp_port_add(struct afp *a, uint16_t fib_id, uint32_t os_ifindex, bool rx)
{
	if (a->n_ports == ULVS_MAX_IFACES || fib_id >= ULVS_MAX_IFACES)
		return -ENOSPC;
	if (a->port_of_fib[fib_id] >= 0)
		return -EEXIST;
	/* Protocol 0 at socket() time: nothing is queued to the socket
	 * until bind() narrows it to one interface. */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1, e;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		goto fail;
	if (rx && setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		goto fail;
	/* No PACKET_QDISC_BYPASS: it would also skip the transmit taps, and
	 * tcpdump on the director could no longer show what the engine sent. */
	if (rx) {
		int sz = 8 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = rx ? htons(ETH_P_ALL) : 0,
		.sll_ifindex = (int)os_ifindex,
	};
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;

	struct afp_port *p = &a->ports[a->n_ports];
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->rx = rx;
	p->fib_id = fib_id;
	p->os_ifindex = os_ifindex;
	if (rx) {
		p->slots = malloc((size_t)RX_BATCH * RX_SLOT);
		if (!p->slots) {
			close(fd);
			return -ENOMEM;
		}
		for (unsigned k = 0; k < RX_BATCH; k++) {
			p->iov[k][0] = (struct iovec){ &p->vh[k], sizeof(p->vh[k]) };
			p->iov[k][1] = (struct iovec){ p->slots + (size_t)k * RX_SLOT + ULVS_HEADROOM,
						       RX_SLOT - ULVS_HEADROOM };
			p->msgs[k].msg_hdr.msg_iov = p->iov[k];
			p->msgs[k].msg_hdr.msg_iovlen = 2;
		}
	}
	a->port_of_fib[fib_id] = (int)a->n_ports;
	return (int)a->n_ports++;
fail:
	e = errno;
	close(fd);
	return -e;
}

/* --- checksums (RFC 1071) ------------------------------------------------- */


static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* CHECKSUM_PARTIAL: the field already holds the folded pseudo-header sum
 * (tcp_v4_send_check() and friends), so summing from csum_start to the end
 * of the frame, field included, gives the whole checksum. */
static bool csum_complete(struct afp *a, uint8_t *f, uint32_t len, const struct virtio_net_hdr *vh)
{
	uint32_t start = le16toh(vh->csum_start), off = le16toh(vh->csum_offset);

	if (start >= len || start + off + 2 > len) {
		a->st.rx_drop_csum_bad++;
		return false;
	}
	uint16_t c = (uint16_t)~io_fold(io_sum16(f + start, len - start, 0));
	/* RFC 768: a computed zero is sent as all ones (for UDP; for TCP
	 * both forms verify alike). */
	put16(f + start + off, c ? c : 0xffff);
	a->st.rx_csum_completed++;
	return true;
}

/* --- segmentation of GSO super-frames ------------------------------------- */

/* Where the IP header starts: after the Ethernet header and up to two
 * VLAN tags.  0 when the frame is not IPv4/IPv6. */
static uint32_t l3_offset(const uint8_t *f, uint32_t len, int *ipver)
{
	uint32_t off = 12;

	for (int tags = 0; tags < 3 && off + 2 <= len; tags++) {
		uint16_t et = get16(f + off);
		if (et == 0x8100 || et == 0x88a8) {
			off += 4;
			continue;
		}
		if (et == 0x0800 || et == 0x86dd) {
			*ipver = et == 0x0800 ? 4 : 6;
			return off + 2;
		}
		return 0;
	}
	return 0;
}

struct gso_plan {
	uint32_t l3, l4, hdrs, payload, mss, nseg;
	int ipver;
	uint8_t proto;
};

static bool gso_plan(const uint8_t *f, uint32_t len, const struct virtio_net_hdr *vh,
		     struct gso_plan *g)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	g->proto = type == VIRTIO_NET_HDR_GSO_UDP_L4 ? 17 : 6;
	g->l3 = l3_offset(f, len, &g->ipver);
	g->l4 = le16toh(vh->csum_start);
	g->mss = le16toh(vh->gso_size);
	if (!g->l3 || !g->mss || g->l4 < g->l3 + (g->ipver == 4 ? 20u : 40u) || g->l4 + 8 > len)
		return false;
	if ((g->ipver == 4 && type == VIRTIO_NET_HDR_GSO_TCPV6) ||
	    (g->ipver == 6 && type == VIRTIO_NET_HDR_GSO_TCPV4))
		return false;
	uint32_t l4h = g->proto == 6 ? (uint32_t)(f[g->l4 + 12] >> 4) * 4 : 8;
	if (l4h < 8 || (g->proto == 6 && l4h < 20))
		return false;
	g->hdrs = g->l4 + l4h;
	if (g->hdrs > len || g->hdrs + g->mss > SEG_SLOT - ULVS_HEADROOM)
		return false;
	g->payload = len - g->hdrs;
	g->nseg = (g->payload + g->mss - 1) / g->mss;
	return g->nseg > 0;
}

/* Builds segment i of the super-frame f into out; returns its length. */
static uint32_t gso_segment(const uint8_t *f, const struct gso_plan *g, uint32_t i, uint8_t *out)
{
	uint32_t off = i * g->mss;
	uint32_t plen = g->payload - off < g->mss ? g->payload - off : g->mss;
	uint32_t l4len = g->hdrs - g->l4 + plen;
	uint32_t sum;

	memcpy(out, f, g->hdrs);
	memcpy(out + g->hdrs, f + g->hdrs + off, plen);
	uint8_t *ip = out + g->l3, *l4 = out + g->l4;
	if (g->ipver == 4) {
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		put16(ip + 2, (uint16_t)(g->l4 - g->l3 + l4len));
		/* Consecutive IDs, as the kernel's GSO gives them. */
		put16(ip + 4, (uint16_t)(get16(ip + 4) + i));
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~io_fold(io_sum16(ip, ihl, 0)));
		sum = io_sum16(ip + 12, 8, 0);
	} else {
		put16(ip + 4, (uint16_t)(g->l4 - g->l3 - 40 + l4len));
		sum = io_sum16(ip + 8, 32, 0);
	}
	sum += g->proto + l4len;
	if (g->proto == 6) {
		uint32_t seq = (uint32_t)get16(l4 + 4) << 16 | get16(l4 + 6);
		seq += off;
		put16(l4 + 4, (uint16_t)(seq >> 16));
		put16(l4 + 6, (uint16_t)seq);
		/* FIN and PSH belong to the last segment, CWR to the first
		 * (RFC 3168 §6.1.2: CWR is set on one new segment only). */
		if (i + 1 != g->nseg)
			l4[13] &= (uint8_t)~0x09;
		if (i != 0)
			l4[13] &= (uint8_t)~0x80;
		put16(l4 + 16, 0);
		uint16_t c = (uint16_t)~io_fold(io_sum16(l4, l4len, sum));
		put16(l4 + 16, c);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
		put16(l4 + 6, 0);
		uint16_t c = (uint16_t)~io_fold(io_sum16(l4, l4len, sum));
		put16(l4 + 6, c ? c : 0xffff);
	}
	return g->hdrs + plen;
}

/* --- receive and transmit ------------------------------------------------- */

static void pkt_set(struct pkt *p, uint8_t *buf, uint32_t size, uint32_t len, uint16_t fib_id)
{
	p->buf = buf;
	p->data = buf + ULVS_HEADROOM;
	p->len = len;
	p->buf_size = size;
	p->ifindex = fib_id;
	p->mark = 0;
}

unsigned afp_rx(struct afp *a, unsigned i, struct pkt *pkts, unsigned max)
{
	unsigned out = 0, seg_used = 0;

	if (i >= a->n_ports || !a->ports[i].rx)
		return 0;
	struct afp_port *p = &a->ports[i];
	if (max > ULVS_MAX_BATCH)
		max = ULVS_MAX_BATCH;
	while (out < max) {
		if (p->cursor == p->n_rcvd) {
			/* Slots handed out in this call must not be
			 * overwritten before the engine has seen them. */
			if (out > 0)
				break;
			for (unsigned k = 0; k < RX_BATCH; k++)
				p->msgs[k].msg_hdr.msg_flags = 0;
			int r = recvmmsg(p->fd, p->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
			if (r <= 0)
				break;
			p->n_rcvd = (unsigned)r;
			p->cursor = 0;
			p->seg_next = 0;
			a->st.rx_frames += (unsigned)r;
		}
		unsigned k = p->cursor;
		uint8_t *buf = p->slots + (size_t)k * RX_SLOT, *f = buf + ULVS_HEADROOM;
		const struct virtio_net_hdr *vh = &p->vh[k];
		uint32_t len = p->msgs[k].msg_len;
		if (p->msgs[k].msg_hdr.msg_flags & MSG_TRUNC || len < sizeof(*vh)) {
			a->st.rx_drop_trunc++;
			p->cursor++;
			continue;
		}
		len -= sizeof(*vh);
		if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
			p->cursor++;
			if ((vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !csum_complete(a, f, len, vh))
				continue;
			pkt_set(&pkts[out++], buf, RX_SLOT, len, p->fib_id);
			continue;
		}
		uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
		struct gso_plan g;
		if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 &&
		    type != VIRTIO_NET_HDR_GSO_UDP_L4) {
			a->st.rx_drop_gso_type++;
			p->cursor++;
			continue;
		}
		if (!gso_plan(f, len, vh, &g)) {
			a->st.rx_drop_gso_bad++;
			p->cursor++;
			continue;
		}
		if (p->seg_next == 0)
			a->st.rx_gso_frames++;
		while (out < max && p->seg_next < g.nseg) {
			uint8_t *sb = a->segs + (size_t)seg_used++ * SEG_SLOT;
			uint32_t slen = gso_segment(f, &g, p->seg_next++, sb + ULVS_HEADROOM);
			pkt_set(&pkts[out++], sb, SEG_SLOT, slen, p->fib_id);
		}
		if (p->seg_next == g.nseg) {
			p->cursor++;
			p->seg_next = 0;
		}
	}
	a->st.rx_pkts += out;
	return out;
}

unsigned afp_tx(struct afp *a, struct pkt *pkts, const struct verdict *v, unsigned n)
{
	struct mmsghdr msgs[ULVS_MAX_BATCH];
	struct iovec iov[ULVS_MAX_BATCH][2];
	bool done[ULVS_MAX_BATCH] = { false };
	unsigned sent = 0;

	if (n > ULVS_MAX_BATCH)
		n = ULVS_MAX_BATCH;
	/* One pass per egress interface present in the batch. */
	for (unsigned first = 0; first < n; first++) {
		if (done[first] || v[first].kind != VERDICT_TX)
			continue;
		uint16_t ifc = v[first].iface;
		int pi = ifc < ULVS_MAX_IFACES ? a->port_of_fib[ifc] : -1;
		unsigned cnt = 0;
		for (unsigned k = first; k < n; k++) {
			if (done[k] || v[k].kind != VERDICT_TX || v[k].iface != ifc)
				continue;
			done[k] = true;
			if (pi < 0) {
				a->st.tx_drop_no_port++;
				continue;
			}
			iov[cnt][0] = (struct iovec){ (void *)&tx_vh, sizeof(tx_vh) };
			iov[cnt][1] = (struct iovec){ pkts[k].data, pkts[k].len };
			memset(&msgs[cnt], 0, sizeof(msgs[cnt]));
			msgs[cnt].msg_hdr.msg_iov = iov[cnt];
			msgs[cnt].msg_hdr.msg_iovlen = 2;
			cnt++;
		}
		if (pi < 0)
			continue;
		int fd = a->ports[pi].fd;
		unsigned at = 0;
		/* Each failed message is skipped and counted; at most cnt
		 * rounds. */
		while (at < cnt) {
			int r = sendmmsg(fd, msgs + at, cnt - at, MSG_DONTWAIT);
			if (r > 0) {
				at += (unsigned)r;
				sent += (unsigned)r;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				a->st.tx_drop_full++;
			else if (errno == EMSGSIZE)
				a->st.tx_drop_too_big++;
			else
				a->st.tx_drop_other++;
			at++;
		}
	}
	a->st.tx_pkts += sent;
	return sent;
}
