/* AF_XDP sockets and the XDP steering program around the engine (see
 * afxdp.h for the why).
 *
 * Frame life cycle in the shared UMEM: free pool -> fill ring of a receive
 * socket -> (kernel copies or DMAs a frame in) -> RX ring -> afxdp_rx()
 * hands it to the engine -> afxdp_tx() either puts it on the TX ring of the
 * egress socket, whence it returns through that socket's completion ring,
 * or puts it straight back in the free pool.  Every frame is always in
 * exactly one of those places, so the pool can never leak or double-free
 * as long as the kernel gives back what it was given.
 *
 * UMEM frames are 4 KiB and aligned: the frame a descriptor points into is
 * its address rounded down, and the engine may use everything from that
 * frame's start (the kernel leaves XDP_PACKET_HEADROOM plus our
 * ULVS_HEADROOM in front of the data) to its end.
 */
#include "io/csum.h"
#include "io/afxdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "bpf/xdp_steer.h"
#include "core/addr.h"
#include "core/constants.h"
#include "core/service.h"

#ifndef AFXDP_FRAME_SIZE
#define AFXDP_FRAME_SIZE 4096u      /* aligned mode: a power of two <= PAGE_SIZE */
#endif
#ifndef AFXDP_RX_RING
#define AFXDP_RX_RING 2048u         /* RX and fill ring, per receive socket */
#endif
#ifndef AFXDP_TX_RING
#define AFXDP_TX_RING 1024u         /* TX and completion ring, per socket */
#endif
#define PROG_NAME "ulvs_steer"

/* bpf/xdp_steer.bpf.c compiled, embedded by bpf/embed.py at build time. */
extern const unsigned char xdp_steer_obj[];
extern const size_t xdp_steer_obj_len;
#define KICK_ROUNDS 8               /* copy mode sends 32 frames per sendto() */

/* Biggest frame that fits in a UMEM frame behind both headrooms. */
#define MAX_FRAME_LEN (AFXDP_FRAME_SIZE - XDP_PACKET_HEADROOM - ULVS_HEADROOM)

struct kv {
	struct steer_key k;
	struct steer_val v;
};

struct axsk {
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx, comp;
	struct xsk_ring_prod tx, fill;
	int fd;
	uint32_t queue;
	unsigned port;
	unsigned worker;         /* the one thread that touches its rings */
	bool zc;
	bool tx_dirty;           /* descriptors submitted since the last kick */
};

struct axport {
	uint16_t fib_id;
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	bool rx;
	unsigned first_sock, n_socks;
	uint32_t qbase;          /* first XSKMAP slot */
	uint32_t attach_flags;   /* XDP_FLAGS_DRV_MODE or _SKB_MODE once attached */
	bool attached;
};

/* One worker's share: its sockets (rings), its frames, its counters.  A
 * worker receives on the queues it owns and transmits on its own socket of
 * each interface, so frames never change hands between threads. */
struct axw {
	uint64_t *free_frames;
	uint32_t n_free, cap;
	/* Frames of the last afxdp_rx() batch, until afxdp_tx() settles them. */
	uint64_t held[ULVS_MAX_BATCH];
	unsigned n_held;
	unsigned rx_socks[STEER_MAX_QUEUES];   /* receive socket i -> socks index */
	unsigned n_rx;
	int tx_sock[ULVS_MAX_IFACES];          /* port -> socks index, -1: none */
	struct afxdp_stats st;                 /* our counters only */
};

struct afxdp {
	FILE *log;
	struct axport ports[ULVS_MAX_IFACES];
	unsigned n_ports;
	int port_of_fib[ULVS_MAX_IFACES];
	struct axsk *socks;
	unsigned n_socks;
	struct axw *w;
	unsigned n_workers;
	/* UMEM */
	uint8_t *area;
	size_t area_len;
	uint32_t n_frames;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill0;  /* rings made with the UMEM: the first socket's */
	struct xsk_ring_cons comp0;
	/* Program */
	struct bpf_object *obj;
	int prog_fd, owned_fd, marks_fd, xsks_fd, qbase_fd, stats_fd;
	struct afxdp_stats st;
	char desc[512];
	/* What the last afxdp_sync() wrote, to skip identical rewrites. */
	struct kv *synced;
	unsigned n_synced;
	struct mark_rule *synced_marks;
	unsigned n_synced_marks;
	uint64_t synced_fwmarks;     /* fingerprint of the fwmark services */
};

static FILE *libbpf_log;
static unsigned rx_queues(const char *ifname);

__attribute__((format(printf, 2, 3)))
static void lg(const struct afxdp *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->log)
		return;
	va_start(ap, fmt);
	vfprintf(a->log, fmt, ap);
	va_end(ap);
	fputc('\n', a->log);
	fflush(a->log);
}

/* libbpf's warnings (verifier output included) go to our log. */
static int libbpf_print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !libbpf_log)
		return 0;
	fputs("data plane: libbpf: ", libbpf_log);
	return vfprintf(libbpf_log, fmt, ap);
}

__attribute__((format(printf, 3, 4)))
static void set_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

struct afxdp *afxdp_new(FILE *log)
{
	struct afxdp *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->log = log;
	a->n_workers = 1;
	a->prog_fd = a->owned_fd = a->marks_fd = a->xsks_fd = a->qbase_fd = a->stats_fd = -1;
	for (unsigned i = 0; i < ULVS_MAX_IFACES; i++)
		a->port_of_fib[i] = -1;
	return a;
}

int afxdp_port_add(struct afxdp *a, uint16_t fib_id, uint32_t os_ifindex, bool rx)
{
	if (a->n_ports == ULVS_MAX_IFACES || fib_id >= ULVS_MAX_IFACES)
		return -ENOSPC;
	if (a->port_of_fib[fib_id] >= 0)
		return -EEXIST;
	if (a->socks)
		return -EBUSY;
	struct axport *p = &a->ports[a->n_ports];
	memset(p, 0, sizeof(*p));
	if (!if_indextoname(os_ifindex, p->name))
		return -errno;
	p->fib_id = fib_id;
	p->ifindex = os_ifindex;
	p->rx = rx;
	a->port_of_fib[fib_id] = (int)a->n_ports;
	return (int)a->n_ports++;
}

const char *afxdp_unsupported(const struct svc_table *t)
{
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		if (svc_live(s) && s->sorry_dest >= 0 && t->dests[s->sorry_dest].fwd == FWD_LOCAL)
			return "a service has its sorry server on the director itself, and frames "
			       "the engine passes to the kernel are lost under AF_XDP";
		for (uint32_t k = 0; k < s->n_dests; k++)
			if (t->dests[s->dests[k]].fwd == FWD_LOCAL)
				return "a service has a real server on the director itself, and "
				       "frames the engine passes to the kernel are lost under AF_XDP";
	}
	return NULL;
}

unsigned afxdp_n_rx(const struct afxdp *a, unsigned w)
{
	return a->w && w < a->n_workers ? a->w[w].n_rx : 0;
}

int afxdp_rx_fd(const struct afxdp *a, unsigned w, unsigned i)
{
	return i < afxdp_n_rx(a, w) ? a->socks[a->w[w].rx_socks[i]].fd : -1;
}

unsigned afxdp_max_workers(const struct afxdp *a)
{
	unsigned n = STEER_MAX_QUEUES;

	for (unsigned i = 0; i < a->n_ports; i++) {
		unsigned q = rx_queues(a->ports[i].name);
		if (q < n)
			n = q;
	}
	return n ? n : 1;
}

int afxdp_set_workers(struct afxdp *a, unsigned n)
{
	if (a->socks)
		return -EBUSY;
	if (!n || n > ULVS_MAX_WORKERS)
		return -EINVAL;
	a->n_workers = n;
	return 0;
}

const char *afxdp_describe(const struct afxdp *a)
{
	return a->desc;
}

bool afxdp_copy_mode(const struct afxdp *a)
{
	for (unsigned i = 0; i < a->n_socks; i++)
		if (a->socks[i].zc)
			return false;
	return a->n_socks > 0;
}

/* --- frame pool ----------------------------------------------------------- */

static inline void frame_put(struct axw *w, uint64_t addr)
{
	/* The pool has room for every frame; more would mean a double free. */
	if (w->n_free < w->cap)
		w->free_frames[w->n_free++] = addr & ~(uint64_t)(AFXDP_FRAME_SIZE - 1);
}

static void drain_completions(struct afxdp *a, unsigned wi)
{
	struct axw *w = &a->w[wi];

	for (unsigned i = 0; i < a->n_socks; i++) {
		struct axsk *s = &a->socks[i];
		uint32_t idx = 0;
		if (s->worker != wi)
			continue;
		unsigned n = xsk_ring_cons__peek(&s->comp, AFXDP_TX_RING, &idx);
		for (unsigned k = 0; k < n; k++)
			frame_put(w, *xsk_ring_cons__comp_addr(&s->comp, idx + k));
		if (n)
			xsk_ring_cons__release(&s->comp, n);
	}
}

static void refill(struct axw *w, struct axsk *s)
{
	uint32_t idx = 0;
	unsigned want = xsk_prod_nb_free(&s->fill, AFXDP_RX_RING);

	if (want > w->n_free)
		want = w->n_free;
	if (want && xsk_ring_prod__reserve(&s->fill, want, &idx) == want) {
		for (unsigned k = 0; k < want; k++)
			*xsk_ring_prod__fill_addr(&s->fill, idx + k) = w->free_frames[--w->n_free];
		xsk_ring_prod__submit(&s->fill, want);
	}
	/* Copy-mode receive runs in the driver's NAPI; a zero-copy driver
	 * that ran dry of fill entries waits for this wake-up. */
	if (xsk_ring_prod__needs_wakeup(&s->fill))
		(void)recvfrom(s->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* --- checksums (RFC 1071) ------------------------------------------------- */


static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A TCP/UDP frame from a local socket or a veth peer may still have
 * CHECKSUM_PARTIAL's half-done checksum: the field holds the folded
 * pseudo-header sum (tcp_v4_send_check(), udp6_set_csum(), ...) and the
 * payload was never summed.  The skb said so; AF_XDP has no such metadata.
 * A frame whose checksum does not verify but whose field is exactly that
 * sum is such a frame (a corrupted one matches by chance once in 65536), and
 * summing from the L4 header to the end, field included, completes it. */
static void csum_fixup(struct axw *w, uint8_t *f, uint32_t len)
{
	uint32_t l3 = 12, l4, l4len, psum;
	uint16_t et;
	uint8_t proto;

	for (int tags = 0;; tags++) {
		if (l3 + 2 > len)
			return;
		et = get16(f + l3);
		if ((et != 0x8100 && et != 0x88a8) || tags == 2)
			break;
		l3 += 4;
	}
	l3 += 2;
	if (et == 0x0800) {
		if (l3 + 20 > len || (f[l3] >> 4) != 4)
			return;
		uint32_t ihl = (uint32_t)(f[l3] & 0x0f) * 4, tot = get16(f + l3 + 2);
		/* Fragments carry a checksum over the whole datagram. */
		if (ihl < 20 || get16(f + l3 + 6) & 0x3fff || tot < ihl || l3 + tot > len)
			return;
		proto = f[l3 + 9];
		l4 = l3 + ihl;
		l4len = tot - ihl;
		psum = io_sum16(f + l3 + 12, 8, 0);
	} else if (et == 0x86dd) {
		if (l3 + 40 > len)
			return;
		proto = f[l3 + 6];
		l4 = l3 + 40;
		l4len = get16(f + l3 + 4);
		if (l4 + l4len > len)
			return;
		psum = io_sum16(f + l3 + 8, 32, 0);
	} else {
		return;
	}
	uint32_t off;
	if (proto == 6 && l4len >= 20)
		off = 16;
	else if (proto == 17 && l4len >= 8)
		off = 6;
	else
		return;
	uint8_t *c = f + l4 + off;
	if (proto == 17 && et == 0x0800 && !get16(c))
		return;   /* RFC 768: no checksum */
	psum += proto + l4len;
	uint32_t dsum = io_sum16(f + l4, l4len, 0);
	if (io_fold(psum + dsum) == 0xffff)
		return;
	uint16_t field = get16(c), ps = io_fold(psum);
	/* 0 and 0xffff are the same number in ones' complement. */
	if (field != ps && !(field == 0 && ps == 0xffff) && !(field == 0xffff && ps == 0))
		return;
	uint16_t v = (uint16_t)~io_fold(dsum);
	if (proto == 17 && !v)
		v = 0xffff;
	c[0] = (uint8_t)(v >> 8);
	c[1] = (uint8_t)v;
	w->st.rx_csum_completed++;
}

/* --- receive and transmit ------------------------------------------------- */

static void release_held(struct axw *w)
{
	for (unsigned k = 0; k < w->n_held; k++)
		frame_put(w, w->held[k]);
	w->n_held = 0;
}

static void kick(struct axw *w, struct axsk *s)
{
	if (!s->tx_dirty)
		return;
	if (s->zc && !xsk_ring_prod__needs_wakeup(&s->tx)) {
		s->tx_dirty = false;
		return;
	}
	/* Copy mode transmits at most 32 descriptors per call and says
	 * EAGAIN while more are left; EBUSY: another wake-up is running. */
	for (int r = 0; r < KICK_ROUNDS; r++) {
		if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			s->tx_dirty = false;
			return;
		}
		if (errno != EAGAIN && errno != EBUSY && errno != EINTR) {
			w->st.tx_kick_err++;
			s->tx_dirty = false;
			return;
		}
	}
	/* Still busy: the next afxdp_rx()/afxdp_tx() tries again. */
}

unsigned afxdp_rx(struct afxdp *a, unsigned wi, unsigned i, struct pkt *pkts, unsigned max)
{
	if (i >= afxdp_n_rx(a, wi))
		return 0;
	struct axw *w = &a->w[wi];
	struct axsk *s = &a->socks[w->rx_socks[i]];
	uint32_t idx = 0;

	release_held(w);
	drain_completions(a, wi);
	for (unsigned k = 0; k < a->n_socks; k++)
		if (a->socks[k].worker == wi)
			kick(w, &a->socks[k]);
	if (max > ULVS_MAX_BATCH)
		max = ULVS_MAX_BATCH;
	unsigned n = xsk_ring_cons__peek(&s->rx, max, &idx);
	for (unsigned k = 0; k < n; k++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + k);
		uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
		uint64_t base = addr & ~(uint64_t)(AFXDP_FRAME_SIZE - 1);
		struct pkt *p = &pkts[k];
		p->buf = a->area + base;
		p->data = a->area + addr;
		p->len = d->len;
		p->buf_size = AFXDP_FRAME_SIZE;
		p->ifindex = a->ports[s->port].fib_id;
		p->mark = 0;
		w->held[k] = base;
		csum_fixup(w, p->data, p->len);
	}
	w->n_held = n;
	if (n)
		xsk_ring_cons__release(&s->rx, n);
	refill(w, s);
	w->st.rx_pkts += n;
	return n;
}

static bool in_umem(const struct afxdp *a, const struct pkt *p)
{
	return p->data >= a->area && p->data + p->len <= a->area + a->area_len &&
	       (size_t)(p->data - a->area) / AFXDP_FRAME_SIZE ==
	       (size_t)(p->data + p->len - 1 - a->area) / AFXDP_FRAME_SIZE;
}

unsigned afxdp_tx(struct afxdp *a, unsigned wi, struct pkt *pkts, const struct verdict *v,
		  unsigned n)
{
	bool sent[ULVS_MAX_BATCH] = { false };
	unsigned queued = 0;
	struct axw *w = &a->w[wi];

	if (n > ULVS_MAX_BATCH)
		n = ULVS_MAX_BATCH;
	drain_completions(a, wi);
	for (unsigned k = 0; k < n; k++) {
		if (v[k].kind != VERDICT_TX) {
			if (v[k].kind == VERDICT_PASS)
				w->st.rx_pass_lost++;
			continue;
		}
		int pi = v[k].iface < ULVS_MAX_IFACES ? a->port_of_fib[v[k].iface] : -1;
		if (pi < 0 || w->tx_sock[pi] < 0) {
			w->st.tx_drop_no_port++;
			continue;
		}
		struct axsk *s = &a->socks[w->tx_sock[pi]];
		struct pkt *p = &pkts[k];
		bool own = in_umem(a, p);
		uint64_t addr;
		if (own) {
			addr = (uint64_t)(p->data - a->area);
		} else {
			/* Not one of our frames (the engine built it elsewhere,
			 * or another worker handed it over): copy it into a
			 * free one. */
			if (p->len > AFXDP_FRAME_SIZE - ULVS_HEADROOM) {
				w->st.tx_drop_too_big++;
				continue;
			}
			if (!w->n_free) {
				w->st.tx_drop_no_frame++;
				continue;
			}
			addr = w->free_frames[--w->n_free] + ULVS_HEADROOM;
			memcpy(a->area + addr, p->data, p->len);
		}
		uint32_t idx = 0;
		if (xsk_ring_prod__reserve(&s->tx, 1, &idx) != 1) {
			w->st.tx_drop_ring_full++;
			if (!own)
				frame_put(w, addr);
			continue;
		}
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&s->tx, idx);
		d->addr = addr;
		d->len = p->len;
		d->options = 0;
		xsk_ring_prod__submit(&s->tx, 1);
		s->tx_dirty = true;
		if (own)
			sent[k] = true;
		queued++;
	}
	/* Every received frame not now on a TX ring goes back to the pool. */
	for (unsigned h = 0; h < w->n_held; h++) {
		bool moved = false;
		for (unsigned k = 0; k < n && !moved; k++)
			moved = sent[k] && ((uint64_t)(pkts[k].data - a->area) &
					    ~(uint64_t)(AFXDP_FRAME_SIZE - 1)) == w->held[h];
		if (!moved)
			frame_put(w, w->held[h]);
	}
	w->n_held = 0;
	for (unsigned i = 0; i < a->n_socks; i++)
		if (a->socks[i].worker == wi)
			kick(w, &a->socks[i]);
	w->st.tx_pkts += queued;
	return queued;
}

/* --- maps ----------------------------------------------------------------- */

struct kvset {
	struct kv *e;
	unsigned n, cap;
};

static int kv_add(struct kvset *s, uint8_t kind, uint8_t af, uint8_t proto, uint16_t port,
		  const union ulvs_addr *addr, uint16_t lo, uint16_t hi)
{
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		struct kv *e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	struct kv *x = &s->e[s->n++];
	memset(x, 0, sizeof(*x));
	x->k.kind = kind;
	x->k.af = af;
	x->k.proto = proto;
	x->k.port = port;
	memcpy(x->k.addr, addr->b, 16);
	x->v.port_lo = lo;
	x->v.port_hi = hi;
	return 0;
}

static int kv_cmp(const void *x, const void *y)
{
	return memcmp(&((const struct kv *)x)->k, &((const struct kv *)y)->k, sizeof(struct steer_key));
}

static int add_nat_rs(struct kvset *ks, const struct svc *s, const struct dest *d)
{
	static const uint8_t any[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	int r = 0;

	if (d->fwd != FWD_NAT)
		return 0;
	if (s->proto)
		r = kv_add(ks, STEER_NAT_RS, d->af, s->proto, d->port, &d->addr, 0, 0);
	else
		for (unsigned i = 0; i < sizeof(any) && !r; i++)
			r = kv_add(ks, STEER_NAT_RS, d->af, any[i], d->port, &d->addr, 0, 0);
	return r ? r : kv_add(ks, STEER_NAT_RS_ADDR, d->af, 0, 0, &d->addr, 0, 0);
}

/* Every exact key the program needs for table t and the addresses the
 * director has now. */
static int owned_keys(const struct svc_table *t, struct kvset *ks)
{
	int r = 0;

	for (uint32_t i = 0; i < t->n_svcs && !r; i++) {
		const struct svc *s = &t->svcs[i];
		if (!s->fwmark) {
			r = kv_add(ks, STEER_VIP, s->af, s->proto, s->port, &s->addr, 0, 0);
			if (!r)
				r = kv_add(ks, STEER_VIP_ADDR, s->af, 0, 0, &s->addr, 0, 0);
		}
		for (uint32_t j = 0; j < s->n_laddrs && !r; j++)
			r = kv_add(ks, STEER_LADDR, s->laddrs[j].af, 0, 0, &s->laddrs[j].addr,
				   ULVS_LPORT_MIN, ULVS_LPORT_MAX);
		for (uint32_t k = 0; k < s->n_dests && !r; k++)
			r = add_nat_rs(ks, s, &t->dests[s->dests[k]]);
		if (!r && s->sorry_dest >= 0)
			r = add_nat_rs(ks, s, &t->dests[s->sorry_dest]);
	}
	if (r)
		return r;
	struct ifaddrs *ifa, *it;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (it = ifa; it && !r; it = it->ifa_next) {
		union ulvs_addr x = { .q = { 0, 0 } };
		if (!it->ifa_addr)
			continue;
		if (it->ifa_addr->sa_family == AF_INET) {
			x.ip = ((const struct sockaddr_in *)(const void *)it->ifa_addr)->sin_addr.s_addr;
			r = kv_add(ks, STEER_LOCAL, ULVS_AF_INET, 0, 0, &x, 0, 0);
		} else if (it->ifa_addr->sa_family == AF_INET6) {
			memcpy(x.b, &((const struct sockaddr_in6 *)(const void *)it->ifa_addr)->sin6_addr, 16);
			r = kv_add(ks, STEER_LOCAL, ULVS_AF_INET6, 0, 0, &x, 0, 0);
		}
	}
	freeifaddrs(ifa);
	return r;
}

static bool svc_has_fwmark(const struct svc_table *t, uint32_t mark)
{
	for (uint32_t i = 0; i < t->n_svcs; i++)
		if (t->svcs[i].fwmark == mark)
			return true;
	return false;
}

static void mark_ranges(const struct mark_rule *q, struct steer_mark_val *v, bool *overflow)
{
	unsigned n = q->n_ports ? q->n_ports : 1;

	for (unsigned k = 0; k < n && k < 8; k++) {
		uint16_t lo = q->n_ports ? q->port_lo[k] : 0, hi = q->n_ports ? q->port_hi[k] : 65535;
		if (v->n == STEER_MARK_RANGES) {
			/* Too many to list: own the whole prefix rather than
			 * miss packets a rule covers. */
			*overflow = true;
			v->n = 1;
			v->r[0].proto = 0;
			v->r[0].lo = 0;
			v->r[0].hi = 65535;
			return;
		}
		v->r[v->n].proto = q->proto;
		v->r[v->n].lo = lo;
		v->r[v->n].hi = hi;
		v->n++;
	}
}

static struct steer_mark_key mark_key(const struct mark_rule *r)
{
	struct steer_mark_key k;
	union ulvs_addr m = addr_mask((enum ulvs_af)r->af, &r->prefix, r->plen);

	memset(&k, 0, sizeof(k));
	k.prefixlen = 8u + r->plen;
	k.af = r->af;
	memcpy(k.addr, m.b, 16);
	return k;
}

/* The trie holds one entry per distinct rule prefix; its ranges are those
 * of every rule (with a service behind its mark) whose prefix covers it. */
static int sync_marks(struct afxdp *a, const struct svc_table *t)
{
	struct steer_mark_key *keep = calloc(t->n_marks + 1, sizeof(*keep));
	unsigned n_keep = 0;
	bool overflow = false;

	if (!keep)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n_marks; i++) {
		const struct mark_rule *r = &t->marks[i];
		if (!svc_has_fwmark(t, r->mark))
			continue;
		struct steer_mark_key k = mark_key(r);
		struct steer_mark_val v;
		memset(&v, 0, sizeof(v));
		for (uint32_t j = 0; j < t->n_marks; j++) {
			const struct mark_rule *q = &t->marks[j];
			if (q->af == r->af && q->plen <= r->plen && svc_has_fwmark(t, q->mark) &&
			    addr_prefix_match((enum ulvs_af)r->af, &q->prefix, &r->prefix, q->plen))
				mark_ranges(q, &v, &overflow);
		}
		if (bpf_map_update_elem(a->marks_fd, &k, &v, BPF_ANY) < 0) {
			int e = -errno;
			free(keep);
			return e;
		}
		keep[n_keep++] = k;
	}
	if (overflow)
		lg(a, "data plane: AF_XDP: a fwmark prefix has more than %u port ranges; "
		      "the program takes every port of it", STEER_MARK_RANGES);
	/* Stale prefixes out.  Deleting the current key breaks the walk, so
	 * collect first. */
	struct steer_mark_key cur, next, stale[64];
	unsigned n_stale;
	do {
		n_stale = 0;
		void *prev = NULL;
		while (n_stale < 64 && bpf_map_get_next_key(a->marks_fd, prev, &next) == 0) {
			bool found = false;
			for (unsigned i = 0; i < n_keep && !found; i++)
				found = memcmp(&keep[i], &next, sizeof(next)) == 0;
			if (!found)
				stale[n_stale++] = next;
			cur = next;
			prev = &cur;
		}
		for (unsigned i = 0; i < n_stale; i++)
			bpf_map_delete_elem(a->marks_fd, &stale[i]);
	} while (n_stale == 64);
	free(keep);
	return 0;
}

/* FNV-1a over the fwmarks that have a service: which mark rules count. */
static uint64_t fwmarks_fp(const struct svc_table *t)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < t->n_svcs; i++)
		for (int b = 0; t->svcs[i].fwmark && b < 4; b++)
			h = (h ^ ((t->svcs[i].fwmark >> (8 * b)) & 0xff)) * 0x100000001b3ull;
	return h;
}

int afxdp_sync(struct afxdp *a, const struct svc_table *t)
{
	struct kvset ks = { 0 };
	int r;

	if (a->owned_fd < 0)
		return -EBADF;
	r = owned_keys(t, &ks);
	if (r < 0)
		goto out;
	if (ks.n > STEER_MAX_KEYS) {
		r = -E2BIG;
		goto out;
	}
	qsort(ks.e, ks.n, sizeof(*ks.e), kv_cmp);
	/* The once-a-second call almost always finds nothing changed. */
	uint64_t fp = fwmarks_fp(t);
	if (a->synced && ks.n == a->n_synced && t->n_marks == a->n_synced_marks &&
	    fp == a->synced_fwmarks &&
	    (!ks.n || memcmp(ks.e, a->synced, ks.n * sizeof(*ks.e)) == 0) &&
	    (!t->n_marks || memcmp(t->marks, a->synced_marks, t->n_marks * sizeof(*t->marks)) == 0)) {
		r = 0;
		goto out;
	}
	for (unsigned i = 0; i < ks.n; i++)
		if (bpf_map_update_elem(a->owned_fd, &ks.e[i].k, &ks.e[i].v, BPF_ANY) < 0) {
			r = -errno;
			goto out;
		}
	struct steer_key cur, next;
	void *prev = NULL;
	/* Stale keys: deleting the key the walk stands on would restart
	 * it, so delete the previous one once past it. */
	bool del_cur = false;
	while (bpf_map_get_next_key(a->owned_fd, prev, &next) == 0) {
		if (del_cur)
			bpf_map_delete_elem(a->owned_fd, &cur);
		struct kv probe = { .k = next };
		del_cur = !bsearch(&probe, ks.e, ks.n, sizeof(*ks.e), kv_cmp);
		cur = next;
		prev = &cur;
	}
	if (del_cur)
		bpf_map_delete_elem(a->owned_fd, &cur);
	r = sync_marks(a, t);
	struct mark_rule *m = malloc((t->n_marks + 1) * sizeof(*m));
	if (r == 0 && m) {
		memcpy(m, t->marks, t->n_marks * sizeof(*m));
		free(a->synced);
		free(a->synced_marks);
		a->synced = ks.e;
		a->n_synced = ks.n;
		a->synced_marks = m;
		a->n_synced_marks = t->n_marks;
		a->synced_fwmarks = fp;
		ks.e = NULL;
		m = NULL;
	}
	free(m);
out:
	free(ks.e);
	return r;
}

/* --- start and stop ------------------------------------------------------- */

static unsigned rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = 1;

	if (fd < 0)
		return 1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	/* Drivers without channel support have one queue as far as we care. */
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ch.rx_count + ch.combined_count > 0)
		n = ch.rx_count + ch.combined_count;
	close(fd);
	return n;
}

static unsigned if_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 1500;

	if (fd < 0)
		return mtu;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = (unsigned)ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* ETHTOOL_GGRO; false when unknown. */
static bool gro_on(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool on = false;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	on = ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ev.data;
	close(fd);
	return on;
}

static int load_prog(struct afxdp *a, char *why, size_t why_len)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "ulvs_xdp_steer");
	int r;

	libbpf_log = a->log;
	libbpf_set_print(libbpf_print_cb);
	a->obj = bpf_object__open_mem(xdp_steer_obj, xdp_steer_obj_len, &oo);
	if (!a->obj) {
		r = -errno;
		set_why(why, why_len, "opening the XDP program: %s", strerror(-r));
		return r;
	}
	r = bpf_object__load(a->obj);
	if (r < 0) {
		set_why(why, why_len, "loading the XDP program: %s", strerror(-r));
		return r;
	}
	struct bpf_program *p = bpf_object__find_program_by_name(a->obj, PROG_NAME);
	a->prog_fd = p ? bpf_program__fd(p) : -1;
	a->owned_fd = bpf_object__find_map_fd_by_name(a->obj, "owned");
	a->marks_fd = bpf_object__find_map_fd_by_name(a->obj, "marks");
	a->xsks_fd = bpf_object__find_map_fd_by_name(a->obj, "xsks");
	a->qbase_fd = bpf_object__find_map_fd_by_name(a->obj, "qbase");
	a->stats_fd = bpf_object__find_map_fd_by_name(a->obj, "stats");
	if (a->prog_fd < 0 || a->owned_fd < 0 || a->marks_fd < 0 || a->xsks_fd < 0 ||
	    a->qbase_fd < 0 || a->stats_fd < 0) {
		set_why(why, why_len, "the built-in XDP object lacks its program or maps");
		return -ENOENT;
	}
	return 0;
}

static int make_umem(struct afxdp *a, char *why, size_t why_len)
{
	uint32_t need[ULVS_MAX_WORKERS] = { 0 };

	/* Each worker's frames: its receive rings full, its TX rings full,
	 * two batches in flight; the UMEM is all of them side by side. */
	a->n_frames = 0;
	for (unsigned w = 0; w < a->n_workers; w++)
		need[w] = 2 * ULVS_MAX_BATCH;
	for (unsigned i = 0; i < a->n_socks; i++) {
		const struct axsk *s = &a->socks[i];
		need[s->worker] += (a->ports[s->port].rx ? AFXDP_RX_RING : 0) + AFXDP_TX_RING;
	}
	for (unsigned w = 0; w < a->n_workers; w++)
		a->n_frames += need[w];
	a->area_len = (size_t)a->n_frames * AFXDP_FRAME_SIZE;
	a->area = mmap(NULL, a->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (a->area == MAP_FAILED) {
		a->area = NULL;
		int r = -errno;
		set_why(why, why_len, "UMEM of %zu bytes: %s", a->area_len, strerror(-r));
		return r;
	}
	uint32_t f = 0;
	for (unsigned w = 0; w < a->n_workers; w++) {
		struct axw *x = &a->w[w];
		x->free_frames = malloc(need[w] * sizeof(*x->free_frames));
		if (!x->free_frames)
			return -ENOMEM;
		x->cap = need[w];
		for (uint32_t k = 0; k < need[w]; k++)
			x->free_frames[x->n_free++] = (uint64_t)(f + need[w] - 1 - k) * AFXDP_FRAME_SIZE;
		f += need[w];
	}
	struct xsk_umem_config uc = {
		.fill_size = AFXDP_RX_RING,
		.comp_size = AFXDP_TX_RING,
		.frame_size = AFXDP_FRAME_SIZE,
		.frame_headroom = ULVS_HEADROOM,
		.flags = 0,
	};
	int r = xsk_umem__create(&a->umem, a->area, a->area_len, &a->fill0, &a->comp0, &uc);
	if (r < 0) {
		a->umem = NULL;
		set_why(why, why_len, "registering the UMEM: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int make_socket(struct afxdp *a, struct axsk *s, char *why, size_t why_len)
{
	const struct axport *p = &a->ports[s->port];
	struct xsk_socket_config sc = {
		.rx_size = AFXDP_RX_RING,
		.tx_size = AFXDP_TX_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		/* No XDP_COPY/XDP_ZEROCOPY: the kernel takes zero-copy
		 * where the driver has it and copies otherwise. */
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	/* The first socket takes over the rings made with the UMEM. */
	if (s == &a->socks[0]) {
		s->fill = a->fill0;
		s->comp = a->comp0;
	}
	int r = xsk_socket__create_shared(&s->xsk, p->name, s->queue, a->umem,
					  p->rx ? &s->rx : NULL, &s->tx, &s->fill, &s->comp, &sc);
	if (r < 0) {
		s->xsk = NULL;
		set_why(why, why_len, "AF_XDP socket on %s queue %u: %s", p->name, s->queue,
			strerror(-r));
		return r;
	}
	s->fd = xsk_socket__fd(s->xsk);
	struct xdp_options opt;
	socklen_t ol = sizeof(opt);
	s->zc = getsockopt(s->fd, SOL_XDP, XDP_OPTIONS, &opt, &ol) == 0 &&
		(opt.flags & XDP_OPTIONS_ZEROCOPY);
	return 0;
}

/* Our program's name on a program id, or "" */
static void prog_name(uint32_t id, char *name, size_t len)
{
	struct bpf_prog_info info;
	uint32_t il = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = '\0';
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &il) == 0)
		snprintf(name, len, "%s", info.name);
	close(fd);
}

static int attach(struct afxdp *a, struct axport *p, char *why, size_t why_len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN + 1];
	int r;

	if (bpf_xdp_query((int)p->ifindex, 0, &q) == 0 && q.attach_mode != XDP_ATTACHED_NONE) {
		if (q.attach_mode == XDP_ATTACHED_MULTI || q.hw_prog_id) {
			set_why(why, why_len, "%s already has XDP programs in several modes; not "
				"replacing them", p->name);
			return -EBUSY;
		}
		uint32_t id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		uint32_t mode = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		prog_name(id, name, sizeof(name));
		if (strcmp(name, PROG_NAME) != 0) {
			set_why(why, why_len, "%s already has XDP program %s (id %u) attached; "
				"not replacing somebody else's", p->name, name[0] ? name : "?", id);
			return -EBUSY;
		}
		/* A crashed predecessor's: take it off whatever mode it is
		 * in, then attach ours as if the interface were clean. */
		r = bpf_xdp_detach((int)p->ifindex, mode, NULL);
		if (r < 0) {
			set_why(why, why_len, "removing the leftover %s (id %u) from %s: %s",
				PROG_NAME, id, p->name, strerror(-r));
			return r;
		}
		lg(a, "data plane: AF_XDP: removed leftover XDP program %s (id %u) from %s",
		   PROG_NAME, id, p->name);
	}
	r = bpf_xdp_attach((int)p->ifindex, a->prog_fd,
			   XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (r == 0) {
		p->attach_flags = XDP_FLAGS_DRV_MODE;
	} else {
		int r2 = bpf_xdp_attach((int)p->ifindex, a->prog_fd,
					XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (r2 < 0) {
			set_why(why, why_len, "attaching XDP to %s failed: native mode: %s; "
				"generic mode: %s", p->name, strerror(-r), strerror(-r2));
			return r2;
		}
		p->attach_flags = XDP_FLAGS_SKB_MODE;
		lg(a, "data plane: AF_XDP: native XDP on %s failed (%s); using generic mode",
		   p->name, strerror(-r));
		/* Generic XDP runs after GRO: a merged super-frame does not
		 * fit a UMEM frame and the kernel drops it. */
		if (gro_on(p->name))
			lg(a, "data plane: AF_XDP: GRO is on on %s and generic XDP sees merged "
			      "frames too big for AF_XDP (counted as kernel rx_dropped); "
			      "`ethtool -K %s gro off` avoids it", p->name, p->name);
	}
	p->attached = true;
	return 0;
}

static void detach(struct afxdp *a, struct axport *p)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->prog_fd);

	if (!p->attached)
		return;
	/* Only if it is still ours: somebody may have replaced it. */
	int r = bpf_xdp_detach((int)p->ifindex, p->attach_flags | XDP_FLAGS_REPLACE, &o);
	if (r < 0 && r != -EEXIST && r != -ENODEV)
		lg(a, "data plane: AF_XDP: detaching XDP from %s: %s", p->name, strerror(-r));
	p->attached = false;
}

static void describe(struct afxdp *a)
{
	size_t used = 0;

	a->desc[0] = '\0';
	for (unsigned i = 0; i < a->n_ports; i++) {
		const struct axport *p = &a->ports[i];
		if (!p->n_socks)
			continue;
		bool zc = a->socks[p->first_sock].zc;
		int w;
		if (p->rx)
			w = snprintf(a->desc + used, sizeof(a->desc) - used,
				     "%s%s (XDP %s, %u queue%s, AF_XDP %s)", used ? ", " : "",
				     p->name, p->attach_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic",
				     p->n_socks, p->n_socks == 1 ? "" : "s",
				     zc ? "zero-copy" : "copy mode");
		else
			w = snprintf(a->desc + used, sizeof(a->desc) - used,
				     "%s%s (transmit only, AF_XDP %s)", used ? ", " : "", p->name,
				     zc ? "zero-copy" : "copy mode");
		if (w < 0 || (size_t)w >= sizeof(a->desc) - used)
			break;
		used += (size_t)w;
	}
}

int afxdp_start(struct afxdp *a, const struct svc_table *t, char *why, size_t why_len)
{
	unsigned n_socks = 0;
	int r;

	if (a->socks)
		return -EALREADY;
	a->w = calloc(a->n_workers, sizeof(*a->w));
	if (!a->w)
		return -ENOMEM;
	for (unsigned w = 0; w < a->n_workers; w++)
		for (unsigned i = 0; i < ULVS_MAX_IFACES; i++)
			a->w[w].tx_sock[i] = -1;
	for (unsigned i = 0; i < a->n_ports; i++) {
		struct axport *p = &a->ports[i];
		/* Receiving: a socket per queue, queue q served by worker
		 * q % workers.  Transmit only: a socket per worker, on the
		 * worker's queue number.  (afxdp_max_workers() keeps the
		 * workers within every interface's queues.) */
		p->n_socks = p->rx ? rx_queues(p->name) : a->n_workers;
		if (p->n_socks < a->n_workers) {
			set_why(why, why_len, "%s has %u queues, fewer than the %u workers",
				p->name, p->n_socks, a->n_workers);
			return -EINVAL;
		}
		unsigned mtu = if_mtu(p->name);
		if (p->rx && mtu + 14 + 8 > MAX_FRAME_LEN) {
			set_why(why, why_len, "%s has MTU %u; AF_XDP frames here hold %u bytes",
				p->name, mtu, MAX_FRAME_LEN);
			return -EMSGSIZE;
		}
		n_socks += p->n_socks;
	}
	if (!n_socks || n_socks > STEER_MAX_QUEUES) {
		set_why(why, why_len, "%u AF_XDP sockets needed (1..%u)", n_socks, STEER_MAX_QUEUES);
		return -EINVAL;
	}
	a->socks = calloc(n_socks, sizeof(*a->socks));
	if (!a->socks)
		return -ENOMEM;
	for (unsigned i = 0; i < a->n_ports; i++) {
		struct axport *p = &a->ports[i];
		p->first_sock = a->n_socks;
		p->qbase = a->n_socks;
		for (unsigned q = 0; q < p->n_socks; q++) {
			unsigned si = a->n_socks++;
			struct axsk *s = &a->socks[si];
			s->queue = q;
			s->port = i;
			s->worker = q % a->n_workers;
			s->fd = -1;
			if (q < a->n_workers)
				a->w[s->worker].tx_sock[i] = (int)si;
		}
	}
	r = load_prog(a, why, why_len);
	if (r < 0)
		goto fail;
	r = make_umem(a, why, why_len);
	if (r < 0)
		goto fail;
	for (unsigned i = 0; i < a->n_socks; i++) {
		struct axsk *s = &a->socks[i];
		r = make_socket(a, s, why, why_len);
		if (r < 0)
			goto fail;
		if (!a->ports[s->port].rx)
			continue;
		uint32_t slot = a->ports[s->port].qbase + s->queue;
		if (bpf_map_update_elem(a->xsks_fd, &slot, &s->fd, BPF_ANY) < 0) {
			r = -errno;
			set_why(why, why_len, "XSKMAP slot %u: %s", slot, strerror(-r));
			goto fail;
		}
		struct axw *w = &a->w[s->worker];
		w->rx_socks[w->n_rx++] = i;
		refill(w, s);
	}
	for (unsigned i = 0; i < a->n_ports; i++) {
		const struct axport *p = &a->ports[i];
		if (p->rx && bpf_map_update_elem(a->qbase_fd, &p->ifindex, &p->qbase, BPF_ANY) < 0) {
			r = -errno;
			set_why(why, why_len, "queue map: %s", strerror(-r));
			goto fail;
		}
	}
	r = afxdp_sync(a, t);
	if (r < 0) {
		set_why(why, why_len, "filling the XDP maps: %s", strerror(-r));
		goto fail;
	}
	/* Attach last: a frame is only ever redirected to a socket that is
	 * ready for it. */
	for (unsigned i = 0; i < a->n_ports; i++) {
		if (!a->ports[i].rx)
			continue;
		r = attach(a, &a->ports[i], why, why_len);
		if (r < 0)
			goto fail;
	}
	describe(a);
	return 0;
fail:
	for (unsigned i = 0; i < a->n_ports; i++)
		detach(a, &a->ports[i]);
	return r;
}

/* The program's per-CPU counters, summed. */
static int steer_counters(const struct afxdp *a, uint64_t sum[STEER_C_MAX])
{
	int ncpu = libbpf_num_possible_cpus();

	memset(sum, 0, STEER_C_MAX * sizeof(*sum));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < STEER_C_MAX; i++)
		if (bpf_map_lookup_elem(a->stats_fd, &i, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				sum[i] += vals[c];
	free(vals);
	return 0;
}

int afxdp_probe(struct afxdp *a, const struct svc_table *t, const uint8_t *frame, uint32_t len)
{
	uint64_t before[STEER_C_MAX], after[STEER_C_MAX];
	uint8_t out[2048];
	int r;

	if (len > sizeof(out))
		return -EMSGSIZE;
	if (!a->obj && (r = load_prog(a, NULL, 0)) < 0)
		return r;
	if ((r = afxdp_sync(a, t)) < 0 || (r = steer_counters(a, before)) < 0)
		return r;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(a->prog_fd, &o) < 0)
		return -errno;
	if ((r = steer_counters(a, after)) < 0)
		return r;
	for (int c = STEER_C_VIP; c <= STEER_C_FRAG; c++)
		if (after[c] != before[c])
			/* Owned with no socket, as after a crash: dropped,
			 * never the kernel's (bpf/xdp_steer.bpf.c says why). */
			return o.retval == XDP_DROP && after[STEER_C_NO_XSK] == before[STEER_C_NO_XSK] + 1
				       ? c : -EPROTO;
	/* Not owned: the verdict must then be the kernel's. */
	return o.retval == XDP_PASS ? AFXDP_PROBE_KERNEL : -EPROTO;
}

const struct afxdp_stats *afxdp_stats(struct afxdp *a)
{
	struct afxdp_stats *st = &a->st;

	memset(st, 0, sizeof(*st));
	for (unsigned w = 0; a->w && w < a->n_workers; w++) {
		const struct afxdp_stats *x = &a->w[w].st;
		st->rx_pkts += x->rx_pkts;
		st->rx_csum_completed += x->rx_csum_completed;
		st->rx_pass_lost += x->rx_pass_lost;
		st->tx_pkts += x->tx_pkts;
		st->tx_drop_ring_full += x->tx_drop_ring_full;
		st->tx_drop_no_port += x->tx_drop_no_port;
		st->tx_drop_too_big += x->tx_drop_too_big;
		st->tx_drop_no_frame += x->tx_drop_no_frame;
		st->tx_kick_err += x->tx_kick_err;
	}

	if (a->stats_fd >= 0) {
		uint64_t sum[STEER_C_MAX];
		steer_counters(a, sum);
		st->steer_seen = sum[STEER_C_SEEN];
		st->steer_vip = sum[STEER_C_VIP];
		st->steer_mark = sum[STEER_C_MARK];
		st->steer_laddr = sum[STEER_C_LADDR];
		st->steer_nat_reply = sum[STEER_C_NAT_REPLY];
		st->steer_icmp = sum[STEER_C_ICMP];
		st->steer_frag = sum[STEER_C_FRAG];
		st->steer_no_xsk = sum[STEER_C_NO_XSK];
	}
	st->k_rx_dropped = st->k_rx_invalid = st->k_tx_invalid = 0;
	st->k_rx_ring_full = st->k_fill_empty = 0;
	for (unsigned i = 0; i < a->n_socks; i++) {
		struct xdp_statistics xs;
		socklen_t l = sizeof(xs);
		if (!a->socks[i].xsk || getsockopt(a->socks[i].fd, SOL_XDP, XDP_STATISTICS, &xs, &l))
			continue;
		st->k_rx_dropped += xs.rx_dropped;
		st->k_rx_invalid += xs.rx_invalid_descs;
		st->k_tx_invalid += xs.tx_invalid_descs;
		st->k_rx_ring_full += xs.rx_ring_full;
		st->k_fill_empty += xs.rx_fill_ring_empty_descs;
	}
	return st;
}

void afxdp_free(struct afxdp *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n_ports; i++)
		detach(a, &a->ports[i]);
	/* Sockets before the UMEM they share; the UMEM's own socket last. */
	for (unsigned i = a->n_socks; i-- > 0;)
		if (a->socks[i].xsk)
			xsk_socket__delete(a->socks[i].xsk);
	if (a->umem)
		xsk_umem__delete(a->umem);
	if (a->area)
		munmap(a->area, a->area_len);
	if (a->obj)
		bpf_object__close(a->obj);
	if (libbpf_log == a->log)
		libbpf_log = NULL;
	for (unsigned w = 0; a->w && w < a->n_workers; w++)
		free(a->w[w].free_frames);
	free(a->w);
	free(a->socks);
	free(a->synced);
	free(a->synced_marks);
	free(a);
}
