/* AF_PACKET backend: the fallback that works on every Linux interface.
 *
 * One SOCK_RAW socket per interface, bound to it, with PACKET_VNET_HDR so
 * the kernel tells us what offloads left undone: a frame that arrives with
 * its L4 checksum still partial (every TCP segment a veth peer or a local
 * socket sends) has it completed here, and a GSO/GRO super-frame (up to
 * 64 KiB of TCP or UDP_L4 payload) is cut back into wire-sized segments with
 * their own IP lengths, IDs, sequence numbers and checksums.  The engine
 * therefore only ever sees frames as they were (or would have been) on the
 * wire, with valid checksums it can update incrementally.
 *
 * The kernel receives its own copy of every frame regardless: the caller
 * keeps it from acting on the ones the engine owns (nftables, see live.c).
 * Sockets set PACKET_IGNORE_OUTGOING, so what we or the kernel transmit on an
 * interface does not come back as input.
 *
 * Return convention: 0 or -errno; counts are unsigned.  One thread.
 */
#ifndef ULVS_IO_AFPACKET_H
#define ULVS_IO_AFPACKET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"
#include "core/packet-t.h"

/* Drops and events of the backend itself, one counter each. */
struct afp_stats {
	uint64_t rx_frames;          /* frames read from sockets */
	uint64_t rx_pkts;            /* packets handed to the engine */
	uint64_t rx_csum_completed;  /* partial L4 checksums finished here */
	uint64_t rx_gso_frames;      /* super-frames segmented here */
	uint64_t rx_drop_trunc;      /* frame larger than the receive slot */
	uint64_t rx_drop_gso_bad;    /* GSO frame with headers we cannot cut */
	uint64_t rx_drop_gso_type;   /* GSO type we do not segment (UFO, tunnels) */
	uint64_t rx_drop_csum_bad;   /* csum_start/offset outside the frame */
	uint64_t tx_pkts;
	uint64_t tx_drop_full;       /* socket buffer full (EAGAIN/ENOBUFS) */
	uint64_t tx_drop_too_big;    /* EMSGSIZE: frame above the egress MTU */
	uint64_t tx_drop_no_port;    /* verdict names an interface we have no socket on */
	uint64_t tx_drop_other;
};

struct afp;

/* NULL with errno set on ENOMEM.  log may be NULL. */
struct afp *afp_new(FILE *log);
void afp_free(struct afp *a);

/* Opens a socket on kernel interface os_ifindex for engine interface id
 * fib_id.  rx: receive from it too (else transmit only).  Returns the port
 * number (>= 0) or -errno. */
int afp_port_add(struct afp *a, uint16_t fib_id, uint32_t os_ifindex, bool rx);
unsigned afp_n_ports(const struct afp *a);
/* Socket of port i, for poll(); -1 for transmit-only ports. */
int afp_port_rx_fd(const struct afp *a, unsigned i);

/* Reads up to max (<= ULVS_MAX_BATCH) packets from port i without blocking.
 * Returns how many were filled in pkts (0: nothing pending).  The packets'
 * buffers stay valid, and may be rewritten, until the next afp_rx() call on
 * any port.  Cost: one recvmmsg per ULVS_MAX_BATCH frames at most. */
unsigned afp_rx(struct afp *a, unsigned i, struct pkt *pkts, unsigned max);

/* Transmits pkts[k] for every v[k].kind == VERDICT_TX on the socket of
 * interface v[k].iface, with one sendmmsg per interface.  Returns the number
 * sent; failures are counted in the stats. */
unsigned afp_tx(struct afp *a, struct pkt *pkts, const struct verdict *v, unsigned n);

const struct afp_stats *afp_stats(const struct afp *a);

#endif
