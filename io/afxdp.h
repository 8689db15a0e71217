/* AF_XDP backend: the kernel hands the engine only the frames it owns.
 *
 * An XDP program (bpf/xdp_steer.bpf.c, built into the binary) runs on every
 * receiving interface and redirects the engine's frames -- to VIP:port,
 * fwmark rule destinations, FULLNAT local addresses, NAT replies from real
 * servers -- to an AF_XDP socket of the frame's receive queue; everything
 * else (ARP, VRRP, health-check answers, ssh) stays with the kernel.  The
 * kernel never sees a stolen frame, so no nftables rules are needed, and it
 * never sees a frame the engine answers VERDICT_PASS to either: such frames
 * are counted (rx_pass_lost), which is why a service with a sorry server on
 * the director itself needs the AF_PACKET backend (afxdp_unsupported()).
 *
 * One UMEM (4 KiB frames, ULVS_HEADROOM reserved in front of each frame) is
 * shared by every socket, so a frame received on one interface is
 * transmitted on another by moving its descriptor, without a copy.  The
 * program is attached alone with bpf_xdp_attach(), native mode first and
 * generic (skb) mode when the driver has no XDP: libxdp's multi-program
 * dispatcher needs freplace, which some kernels refuse.  Sockets bind
 * zero-copy where the driver can and in copy mode otherwise (veth).
 *
 * Offloads: a frame from a local socket or a veth peer may carry a partial
 * TCP/UDP checksum (CHECKSUM_PARTIAL) and AF_XDP has no metadata saying so;
 * afxdp_rx() recognises one (the field holds the folded pseudo-header sum)
 * and completes it.  GSO super-frames do not arrive: veth turns GSO off on
 * the peer while a program without multi-buffer support is attached, and
 * frames longer than a UMEM frame are dropped by the kernel (and the start
 * refuses an interface whose MTU would need them).
 *
 * Return convention: 0 or -errno; counts are unsigned.
 */
#ifndef ULVS_IO_AFXDP_H
#define ULVS_IO_AFXDP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"
#include "core/packet-t.h"
#include "core/service-t.h"

/* Counters of the backend: ours, the XDP program's (summed over CPUs) and
 * the kernel's per-socket XDP_STATISTICS (summed over sockets). */
struct afxdp_stats {
	uint64_t rx_pkts;             /* frames handed to the engine */
	uint64_t rx_csum_completed;   /* partial L4 checksums finished here */
	uint64_t rx_pass_lost;        /* engine said PASS to a stolen frame: gone */
	uint64_t tx_pkts;
	uint64_t tx_drop_ring_full;   /* egress socket's TX ring full */
	uint64_t tx_drop_no_port;     /* verdict names an interface without a socket */
	uint64_t tx_drop_too_big;     /* frame does not fit one UMEM frame */
	uint64_t tx_drop_no_frame;    /* foreign buffer, no free frame to copy it into */
	uint64_t tx_kick_err;         /* sendto() wake-ups that failed otherwise than EAGAIN */
	/* XDP program (enum steer_counter order). */
	uint64_t steer_seen, steer_vip, steer_mark, steer_laddr, steer_nat_reply,
		 steer_icmp, steer_frag, steer_no_xsk;
	/* Kernel, all sockets. */
	uint64_t k_rx_dropped;        /* no room or frame too long */
	uint64_t k_rx_invalid;
	uint64_t k_tx_invalid;
	uint64_t k_rx_ring_full;
	uint64_t k_fill_empty;
};

struct afxdp;

/* NULL with errno set on ENOMEM.  log may be NULL. */
struct afxdp *afxdp_new(FILE *log);
/* Detaches the program from every interface it was attached to (only if
 * it is still ours there), closes sockets, frees the UMEM. */
void afxdp_free(struct afxdp *a);

/* Declares kernel interface os_ifindex as engine interface fib_id; rx:
 * receive on it too (the program is attached and a socket bound to each
 * of its receive queues), else transmit only.  Nothing is opened until
 * afxdp_start().  Returns the port number (>= 0) or -errno. */
int afxdp_port_add(struct afxdp *a, uint16_t fib_id, uint32_t os_ifindex, bool rx);

/* A reason the service table cannot be served correctly over AF_XDP, or
 * NULL.  (A local sorry server needs frames the engine passes to reach the
 * kernel, and stolen frames never do.) */
const char *afxdp_unsupported(const struct svc_table *t);

/* Loads the program, creates the UMEM and sockets, fills the maps from t,
 * then attaches the program to the receiving interfaces.  A program of a
 * crashed ulvsd ("ulvs_steer") is replaced; anybody else's makes it fail.
 * On failure everything done so far is undone, -errno is returned and why
 * (why_len bytes) says what failed in a sentence fit for the log. */
int afxdp_start(struct afxdp *a, const struct svc_table *t, char *why, size_t why_len);

/* Brings the maps in line with t and the director's current addresses
 * (getifaddrs): new keys first, then stale ones removed, so nothing owned
 * in both tables is missed meanwhile.  Cost: O(keys) syscalls; call after a
 * table change and from a slow timer (addresses come and go with VRRP). */
int afxdp_sync(struct afxdp *a, const struct svc_table *t);

/* One line for the log: per interface the XDP mode and socket mode, e.g.
 * "d0 (XDP native, 1 queue, AF_XDP copy mode)". */
const char *afxdp_describe(const struct afxdp *a);
/* True when every socket is in copy mode. */
bool afxdp_copy_mode(const struct afxdp *a);

/* Workers: queue q of a receiving interface is served by worker
 * q % n_workers, and every worker has its own socket on each interface to
 * transmit on, its own frames and counters; afxdp_rx/afxdp_tx for worker w
 * may run in w's thread in parallel with the other workers'.  Everything
 * else (start, sync, stats, free) is the control thread's, with the workers
 * stopped.  afxdp_max_workers(): the fewest queues of any declared
 * interface (call after the afxdp_port_add()s); afxdp_set_workers() before
 * afxdp_start(). */
unsigned afxdp_max_workers(const struct afxdp *a);
int afxdp_set_workers(struct afxdp *a, unsigned n);

/* Worker w's receive sockets, for poll(). */
unsigned afxdp_n_rx(const struct afxdp *a, unsigned w);
int afxdp_rx_fd(const struct afxdp *a, unsigned w, unsigned i);

/* Reads up to max (<= ULVS_MAX_BATCH) frames from worker w's receive socket
 * i.  The frames may be rewritten in place (headroom included); the ones
 * afxdp_tx() does not transmit stay readable until the next afxdp_rx(),
 * which recycles them (the caller may still inspect dropped frames after
 * afxdp_tx()).  Returns how many were filled. */
unsigned afxdp_rx(struct afxdp *a, unsigned w, unsigned i, struct pkt *pkts, unsigned max);

/* Queues pkts[k] for every v[k].kind == VERDICT_TX on worker w's socket of
 * interface v[k].iface (moving the UMEM frame, no copy; a frame from
 * elsewhere is copied into one of w's) and wakes the kernel; every other
 * frame of the batch goes back to the free pool.  Returns the number
 * queued; failures are counted in the stats. */
unsigned afxdp_tx(struct afxdp *a, unsigned w, struct pkt *pkts, const struct verdict *v,
		  unsigned n);

/* Runs the steering program -- loaded on first use, attached nowhere, no
 * sockets -- over one frame with BPF_PROG_TEST_RUN, its maps filled from t
 * and the director's addresses.  Returns the enum steer_counter
 * (bpf/xdp_steer.h) the frame is owned under, STEER_C_VIP..STEER_C_FRAG,
 * AFXDP_PROBE_KERNEL (0) when the kernel keeps it, or -errno (-EPERM
 * without CAP_BPF; -EPROTO when the verdict disagrees with the counters:
 * with no sockets, as after a crash, an owned frame must be dropped and
 * counted STEER_C_NO_XSK).  For tests and diagnostics: a must not be
 * started. */
#define AFXDP_PROBE_KERNEL 0
int afxdp_probe(struct afxdp *a, const struct svc_table *t, const uint8_t *frame, uint32_t len);

/* Refreshes the program's and the kernel's counters (a few syscalls) and
 * returns all counters. */
const struct afxdp_stats *afxdp_stats(struct afxdp *a);

#endif
