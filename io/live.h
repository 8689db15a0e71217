/* Live packet I/O around the engine: interfaces, neighbours and routes from
 * the kernel over netlink (libmnl), packets over AF_XDP when it attaches and
 * AF_PACKET otherwise.  live_start() fills the fib from the kernel (entries
 * the config declared in ulvs_defs win), starts the data-plane workers and
 * registers the rest on the control thread's event loop; live_stop()
 * removes everything it added. */
#ifndef ULVS_IO_LIVE_H
#define ULVS_IO_LIVE_H

#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"

struct evloop;
struct live;

struct live_opts {
	const char *backend;     /* "auto", "afxdp", "afpacket" */
	unsigned workers;        /* data-plane threads; 0: one per CPU or per
				  * cpus entry (capped by the interfaces' receive
				  * queues; AF_PACKET: 1) */
	const uint16_t *cpus;    /* worker i pinned to cpus[i % n_cpus]; n_cpus 0:
				  * not pinned */
	unsigned n_cpus;
	FILE *log;
	int verbose;
};

/* Start the live data plane for engine e (over tables t and fib f, which it
 * completes from the kernel) on loop: packet sockets, neighbour events and a
 * 100 ms tick become loop events.  Returns NULL after logging why.  Opts must
 * outlive the returned handle. */
struct live *live_start(struct evloop *loop, struct engine *e, struct svc_table *t,
			struct fib *f, const struct live_opts *o);
/* The service tables changed (ulvsadm, reload): update what keeps the
 * kernel off the engine's packets (XDP steering maps or nftables rules). */
void live_tables_changed(struct live *l);
/* "afxdp", "afpacket" (the backend in use), or "none". */
const char *live_backend_name(const struct live *l);
/* Log final counters, stop the workers, unregister, remove the nftables
 * table, close. */
void live_stop(struct live *l);

/* Workers.  Packets are processed by live_n_workers() threads (one per
 * receive queue, core/steer.h decides which owns a frame and frames are
 * handed over between them).  The control thread stops them between rounds
 * with live_pause() and lets them go with live_resume(): the daemon pauses
 * whenever its event loop is awake (ev_set_wait_hooks) but for the slow
 * work its callbacks bracket with ev_release/ev_reacquire, so control code
 * never races a worker.  live_start() returns paused.  Pausing also
 * folds the workers' traffic counters into the service table. */
void live_pause(struct live *l);
void live_resume(struct live *l);

struct live_worker_stats {
	uint64_t rx;             /* frames received from this worker's queues */
	uint64_t handed_out;     /* of them, given to the worker that owns them */
	uint64_t handed_in;      /* frames other workers gave this one */
	uint64_t hand_drops;     /* the owner's ring was full */
	int cpu;                 /* pinned to, or -1 */
	uint64_t rounds;         /* polls of its queues and hand-off ring */
	uint64_t sleeps;         /* of them, followed by a wait for work */
	uint64_t wake_errors;
};
unsigned live_n_workers(const struct live *l);
const struct live_worker_stats *live_worker_stats(const struct live *l, unsigned i);
/* How often and how long the control thread held the workers. */
void live_pause_stats(const struct live *l, uint64_t *n, uint64_t *total_ns, uint64_t *max_ns);

#endif
