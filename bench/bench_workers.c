/* bench_workers: several data-plane workers over one service table.
 *
 * Each thread owns one engine (engine_set_worker w of n, all joined in a
 * group led by worker 0) over one shared service table and fib, as ulvsd's
 * workers do.  A flow set is generated once and split with steer_frame(),
 * so a thread sees only its own flows, in both directions -- what the NIC
 * plus steering would hand it live.  Connections are opened and their
 * handshakes completed untimed; then every thread forwards the same fixed
 * number of established packets (DR: client -> VIP; NAT: client -> VIP and
 * the real server's reply, alternately).  Per thread: its packets over its
 * own time; aggregate: all packets over the span from the common start to
 * the last thread's end.
 *
 * Also printed: the steering decision alone (ns per steer_frame() over a
 * mix of DR, NAT and NAT-reply frames), and what handing a frame to another
 * worker costs: a copy into a ring slot on one CPU, and the same through a
 * single-producer ring whose consumer (reading the headers, as an engine
 * would) runs on the other CPU.
 *
 * Figures only, never a verdict on time; every loop is bounded by a count.
 *
 * Each figure is the best of --repeat runs: on a shared machine other work
 * only ever makes a run slower.
 *
 *   bench_workers [--quick] [--packets N] [--repeat R]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/constants.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/packet.h"
#include "core/service.h"
#include "core/steer.h"

#define MAX_THREADS 2              /* the machine this was written on has 2 vCPUs */
#define FRAME_STRIDE 64u           /* template bytes per frame */
#define SLOT_SIZE (ULVS_HEADROOM + 256u)

static const uint8_t DIRECTOR_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t GATEWAY_MAC[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const uint8_t RS_MAC[2][6] = { { 0x02, 0, 0, 0, 0, 0x0a }, { 0x02, 0, 0, 0, 0, 0x14 } };

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define VIP_DR IP(10, 0, 0, 100)
#define VIP_NAT IP(10, 0, 0, 101)
#define DIRECTOR IP(10, 0, 0, 200)
#define GATEWAY IP(10, 0, 0, 1)
static const uint32_t RS_IP[2] = { IP(10, 0, 0, 10), IP(10, 0, 0, 20) };

struct mode {
	const char *name;
	enum fwd_method fwd;
	uint32_t vip;
	uint16_t rport;
	bool reply;                /* the real server's replies pass through us */
};

static const struct mode MODES[] = {
	{ "DR", FWD_DR, VIP_DR, 80, false },
	{ "NAT", FWD_NAT, VIP_NAT, 8080, true },
};

/* Keeps a computed value or written memory alive without a store. */
#include "benchutil.h"

static inline void keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* --- frames (as bench_engine.c builds them, independent of core/packet.c) --- */

/* Ethernet + IPv4 + TCP (with an MSS option on SYNs); returns the length. */
/* Flow i: one client address each (172.16.0.0/12), so the client hash that
 * steers them sees as many addresses as there are flows. */
static uint32_t client_ip(uint32_t i)
{
	return IP(172, 16, 0, 1) + i;
}

static uint16_t client_port(uint32_t i)
{
	return (uint16_t)(10000 + i % 50000);
}

static void point(struct pkt *p, uint8_t *slot, const uint8_t *tmpl, uint32_t len)
{
	p->buf = slot;
	p->data = slot + ULVS_HEADROOM;
	p->len = len;
	p->buf_size = SLOT_SIZE;
	p->ifindex = 0;
	p->mark = 0;
	memcpy(p->data, tmpl, FRAME_STRIDE);
}

/* --- setup ------------------------------------------------------------------ */

/* Both services in one table, as one director serves them. */
static struct svc_table *setup_services(void)
{
	struct svc_table *t = svc_table_new();

	if (!t)
		return NULL;
	for (unsigned m = 0; m < sizeof(MODES) / sizeof(MODES[0]); m++) {
		struct svc tmpl, *s;
		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.af = ULVS_AF_INET;
		tmpl.proto = IPPROTO_TCP_;
		tmpl.port = __builtin_bswap16(80);
		tmpl.addr = a4(MODES[m].vip);
		tmpl.sorry_dest = -1;
		if (svc_add(t, &tmpl, "rr", &s))
			goto fail;
		for (unsigned i = 0; i < 2; i++) {
			struct dest d;
			memset(&d, 0, sizeof(d));
			d.addr = a4(RS_IP[i]);
			d.port = __builtin_bswap16(MODES[m].rport);
			d.af = ULVS_AF_INET;
			d.fwd = (uint8_t)MODES[m].fwd;
			d.weight = 1;
			d.flags = DEST_F_AVAILABLE;
			if (svc_add_dest(t, s, &d, NULL))
				goto fail;
		}
		if (svc_commit(t, s))
			goto fail;
	}
	return t;
fail:
	svc_table_free(t);
	return NULL;
}

/* --- one worker ------------------------------------------------------------- */

struct worker {
	pthread_t th;
	unsigned id, cpu;
	bool pin;
	struct engine *e;
	const struct mode *m;
	uint32_t *flows, n;        /* the flow numbers steered to this worker */
	uint8_t *tmpl;             /* timed frames: n (DR) or 2n (NAT, in/out) */
	uint32_t *lens, n_tmpl;
	uint8_t *slots;
	struct pkt pkts[ULVS_MAX_BATCH];
	struct verdict v[ULVS_MAX_BATCH];
	uint64_t now, packets, tx, setup_tx;
	double t0, t1;
	pthread_barrier_t *ready;
	int rc;
};

/* Frames [first, first + n) of the template array, wrapping, in batches. */
static uint64_t feed(struct worker *w, const uint8_t *tmpl, const uint32_t *lens, uint32_t count,
		     uint64_t n)
{
	uint64_t tx = 0, k = 0;

	while (n) {
		unsigned batch = n < ULVS_MAX_BATCH ? (unsigned)n : ULVS_MAX_BATCH;
		for (unsigned j = 0; j < batch; j++) {
			point(&w->pkts[j], w->slots + (size_t)j * SLOT_SIZE,
			      tmpl + k * FRAME_STRIDE, lens[k]);
			if (++k == count)
				k = 0;
		}
		tx += engine_process(w->e, w->pkts, w->v, batch, w->now);
		w->now += 1000;    /* 1 us of virtual time per batch: no expiry */
		n -= batch;
	}
	return tx;
}

/* The real server's packet of flow i: it needs the server the engine
 * chose, so ask this worker's connection table. */
static int build_reply(struct worker *w, uint32_t i, uint8_t flags, uint8_t *f, uint32_t *len)
{
	union ulvs_addr ca = a4(client_ip(i)), vip = a4(w->m->vip);
	uint16_t cp = __builtin_bswap16(client_port(i)), vp = __builtin_bswap16(80);
	enum conn_dir dir;
	struct conn *c = conn_lookup(engine_conns(w->e), ULVS_AF_INET, IPPROTO_TCP_, &ca, cp,
				     &vip, vp, &dir);
	uint32_t rip;

	if (!c)
		return -ENOENT;
	rip = __builtin_bswap32(c->daddr.ip);
	*len = build_tcp(f, rip == RS_IP[0] ? RS_MAC[0] : RS_MAC[1], DIRECTOR_MAC, rip,
			 __builtin_bswap16(c->dport), client_ip(i), client_port(i), flags);
	return 0;
}

/* Opens this worker's connections (SYN, for NAT the SYN-ACK, ACK), then
 * leaves in tmpl what the timed part sends. */
static int worker_setup(struct worker *w)
{
	const struct mode *m = w->m;
	uint32_t stride = m->reply ? 2 : 1;

	for (uint32_t k = 0; k < w->n; k++)
		w->lens[k] = build_tcp(w->tmpl + (size_t)k * FRAME_STRIDE, GATEWAY_MAC, DIRECTOR_MAC,
				       client_ip(w->flows[k]), client_port(w->flows[k]), m->vip,
				       80, TCP_F_SYN);
	w->setup_tx = feed(w, w->tmpl, w->lens, w->n, w->n);
	if (conn_count(engine_conns(w->e)) != w->n)
		return -EPROTO;
	if (m->reply) {
		for (uint32_t k = 0; k < w->n; k++)
			if (build_reply(w, w->flows[k], TCP_F_SYN | TCP_F_ACK,
					w->tmpl + (size_t)k * FRAME_STRIDE, &w->lens[k]))
				return -ENOENT;
		w->setup_tx += feed(w, w->tmpl, w->lens, w->n, w->n);
	}
	for (uint32_t k = 0; k < w->n; k++)
		w->lens[k] = build_tcp(w->tmpl + (size_t)k * FRAME_STRIDE, GATEWAY_MAC, DIRECTOR_MAC,
				       client_ip(w->flows[k]), client_port(w->flows[k]), m->vip,
				       80, TCP_F_ACK);
	w->setup_tx += feed(w, w->tmpl, w->lens, w->n, w->n);
	/* established traffic: client ACKs, for NAT each followed by its reply */
	for (uint32_t k = w->n; k-- > 0;) {
		uint32_t at = k * stride;
		uint32_t len = w->lens[k];
		memmove(w->tmpl + (size_t)at * FRAME_STRIDE, w->tmpl + (size_t)k * FRAME_STRIDE,
			FRAME_STRIDE);
		w->lens[at] = len;
	}
	if (m->reply)
		for (uint32_t k = 0; k < w->n; k++)
			if (build_reply(w, w->flows[k], TCP_F_ACK,
					w->tmpl + (size_t)(2 * k + 1) * FRAME_STRIDE,
					&w->lens[2 * k + 1]))
				return -ENOENT;
	w->n_tmpl = w->n * stride;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->pin) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	w->rc = w->n ? worker_setup(w) : 0;
	/* every thread waits here, failed or not, so none waits forever */
	pthread_barrier_wait(w->ready);
	w->t0 = now_s();
	if (!w->rc && w->n_tmpl)
		w->tx = feed(w, w->tmpl, w->lens, w->n_tmpl, w->packets);
	w->t1 = now_s();
	return NULL;
}

struct row {
	const char *mode;
	unsigned threads;
	uint32_t conns;
	uint32_t share[MAX_THREADS];
	double mpps[MAX_THREADS], agg_mpps, tx_ratio;
	uint32_t steer_mismatch;
};

static int run_row(const struct mode *m, unsigned threads, uint32_t conns, uint64_t packets,
		   struct row *r)
{
	struct engine_params ep = { .conn_capacity = conns + conns / 4 + 1024 };
	struct fib *fib = malloc(sizeof(*fib));
	struct svc_table *t = setup_services();
	struct worker *w = calloc(threads, sizeof(*w));
	uint8_t scratch[FRAME_STRIDE];
	struct steer_cfg cfg;
	pthread_barrier_t ready;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double t0 = 0, t1 = 0;
	uint64_t tx = 0, sent = 0;
	int rc = -ENOMEM;

	memset(r, 0, sizeof(*r));
	r->mode = m->name;
	r->threads = threads;
	r->conns = conns;
	if (!fib || !t || !w)
		goto out;
	rc = setup_fib(fib);
	if (rc)
		goto out;
	rc = -ENOMEM;
	for (unsigned k = 0; k < threads; k++) {
		w[k].e = engine_new(&ep, fib, t, 1000000000ull);
		if (!w[k].e || engine_set_worker(w[k].e, k, threads) ||
		    engine_group_join(w[0].e, w[k].e))
			goto out;
	}
	/* Split the flows as the data path would: by steer_frame() of the
	 * client's SYN.  Its reply (from either server) must land alike. */
	steer_cfg_init(&cfg, t, threads);
	{
		struct pkt p;
		uint8_t slot[SLOT_SIZE];
		uint32_t *owner = malloc(sizeof(*owner) * conns);
		if (!owner)
			goto out;
		for (uint32_t i = 0; i < conns; i++) {
			unsigned o;
			uint32_t len = build_tcp(scratch, GATEWAY_MAC, DIRECTOR_MAC, client_ip(i),
						 client_port(i), m->vip, 80, TCP_F_SYN);
			point(&p, slot, scratch, len);
			o = steer_frame(&cfg, t, &p, 0);
			len = build_tcp(scratch, RS_MAC[i & 1], DIRECTOR_MAC, RS_IP[i & 1], m->rport,
					client_ip(i), client_port(i), TCP_F_ACK);
			point(&p, slot, scratch, len);
			r->steer_mismatch += steer_frame(&cfg, t, &p, 0) != o;
			owner[i] = o;
			w[o].n++;
		}
		for (unsigned k = 0; k < threads; k++) {
			w[k].flows = malloc(sizeof(uint32_t) * (w[k].n + 1));
			w[k].tmpl = calloc(2 * (size_t)w[k].n + 1, FRAME_STRIDE);
			w[k].lens = calloc(2 * (size_t)w[k].n + 1, sizeof(uint32_t));
			w[k].slots = aligned_alloc(64, (size_t)ULVS_MAX_BATCH * SLOT_SIZE);
			if (!w[k].flows || !w[k].tmpl || !w[k].lens || !w[k].slots) {
				free(owner);
				goto out;
			}
			r->share[k] = w[k].n;
			w[k].n = 0;
		}
		for (uint32_t i = 0; i < conns; i++)
			w[owner[i]].flows[w[owner[i]].n++] = i;
		free(owner);
	}

	if (pthread_barrier_init(&ready, NULL, threads)) {
		rc = -EAGAIN;
		goto out;
	}
	for (unsigned k = 0; k < threads; k++) {
		w[k].id = k;
		w[k].cpu = k;
		w[k].pin = ncpu >= (long)threads;
		w[k].m = m;
		w[k].now = 1000000000ull;
		w[k].packets = packets;
		w[k].ready = &ready;
	}
	/* Threads 1.. first; thread 0 runs here once they are started. */
	for (unsigned k = 1; k < threads; k++)
		if (pthread_create(&w[k].th, NULL, worker_main, &w[k])) {
			/* threads already started wait on a barrier that can no
			 * longer fill: nothing sensible is left to measure */
			fprintf(stderr, "bench_workers: pthread_create failed\n");
			exit(1);
		}
	worker_main(&w[0]);
	for (unsigned k = 1; k < threads; k++)
		pthread_join(w[k].th, NULL);
	pthread_barrier_destroy(&ready);

	rc = 0;
	for (unsigned k = 0; k < threads; k++) {
		if (w[k].rc) {
			rc = w[k].rc;
			continue;
		}
		if (!k || w[k].t0 < t0)
			t0 = w[k].t0;
		if (!k || w[k].t1 > t1)
			t1 = w[k].t1;
		r->mpps[k] = w[k].n_tmpl ? (double)packets / (w[k].t1 - w[k].t0) / 1e6 : 0;
		if (w[k].n_tmpl) {
			tx += w[k].tx;
			sent += packets;
		}
	}
	if (!rc && engine_conn_count(w[0].e) != conns)
		rc = -EPROTO;
	r->agg_mpps = t1 > t0 ? (double)sent / (t1 - t0) / 1e6 : 0;
	r->tx_ratio = sent ? (double)tx / (double)sent : 0;
out:
	for (unsigned k = 0; w && k < threads; k++) {
		if (w[k].e)
			engine_free(w[k].e);
		free(w[k].flows);
		free(w[k].tmpl);
		free(w[k].lens);
		free(w[k].slots);
	}
	free(w);
	svc_table_free(t);
	free(fib);
	return rc;
}

/* --- the steering decision alone ---------------------------------------------- */

/* ns per call of steer_frame() (parse_only: of pkt_parse() alone, which
 * steer_frame() runs first and the engine runs again). */
static double bench_steer(uint32_t flows, uint64_t calls, bool parse_only)
{
	struct svc_table *t = setup_services();
	uint32_t n = 3 * flows;
	uint8_t *frames = calloc(n, FRAME_STRIDE), *slots = NULL;
	uint32_t *lens = calloc(n, sizeof(*lens));
	struct pkt *p = calloc(n, sizeof(*p));
	struct steer_cfg cfg;
	unsigned sink = 0;
	double t0, dt;

	if (!t || !frames || !lens || !p) {
		dt = -1;
		goto out;
	}
	/* DR client, NAT client, NAT reply: frames stay in place (steering
	 * only reads), as they sit in an RX ring. */
	slots = calloc(n, SLOT_SIZE);
	if (!slots) {
		dt = -1;
		goto out;
	}
	for (uint32_t i = 0; i < flows; i++) {
		uint8_t *f = frames + (size_t)3 * i * FRAME_STRIDE;
		lens[3 * i] = build_tcp(f, GATEWAY_MAC, DIRECTOR_MAC, client_ip(i), client_port(i),
					VIP_DR, 80, TCP_F_ACK);
		lens[3 * i + 1] = build_tcp(f + FRAME_STRIDE, GATEWAY_MAC, DIRECTOR_MAC, client_ip(i),
					    client_port(i), VIP_NAT, 80, TCP_F_ACK);
		lens[3 * i + 2] = build_tcp(f + 2 * FRAME_STRIDE, RS_MAC[0], DIRECTOR_MAC, RS_IP[0],
					    8080, client_ip(i), client_port(i), TCP_F_ACK);
	}
	for (uint32_t k = 0; k < n; k++)
		point(&p[k], slots + (size_t)k * SLOT_SIZE, frames + (size_t)k * FRAME_STRIDE,
		      lens[k]);
	steer_cfg_init(&cfg, t, 2);
	t0 = now_s();
	for (uint64_t c = 0, k = 0; c < calls; c++) {
		if (parse_only) {
			struct pkt_info pi;
			sink += (unsigned)pkt_parse(&p[k], &pi) + pi.t.dport;
		} else {
			sink += steer_frame(&cfg, t, &p[k], 0);
		}
		if (++k == n)
			k = 0;
	}
	dt = (now_s() - t0) / (double)calls * 1e9;
	keep(&sink);
out:
	svc_table_free(t);
	free(frames);
	free(lens);
	free(p);
	free(slots);
	return dt;
}

/* --- the cost of handing a frame to another worker ----------------------------- */

#define RING_SLOTS 1024u
#define RING_SLOT_SIZE 2048u

struct ring {
	uint8_t *slot;             /* RING_SLOTS x RING_SLOT_SIZE */
	uint64_t head __attribute__((aligned(64)));   /* written by the producer */
	uint64_t tail __attribute__((aligned(64)));   /* written by the consumer */
	uint64_t frames, sink;
	bool stalled;
};

/* A frame copied into the next slot, on this CPU only. */
static double bench_copy(size_t len, uint64_t count)
{
	uint8_t *ring = aligned_alloc(64, (size_t)RING_SLOTS * RING_SLOT_SIZE);
	uint8_t *src = aligned_alloc(64, 2048);
	double t0, dt;

	if (!ring || !src) {
		free(ring);
		free(src);
		return -1;
	}
	memset(ring, 0, (size_t)RING_SLOTS * RING_SLOT_SIZE);
	memset(src, 0x5a, 2048);
	t0 = now_s();
	for (uint64_t i = 0; i < count; i++) {
		memcpy(ring + (size_t)(i % RING_SLOTS) * RING_SLOT_SIZE + ULVS_HEADROOM, src, len);
		keep(ring);
	}
	dt = (now_s() - t0) / (double)count * 1e9;
	free(ring);
	free(src);
	return dt;
}

/* Spins allowed while waiting on the other side before calling it stalled. */
#define SPIN_LIMIT (1ull << 32)

static void *ring_consumer(void *arg)
{
	struct ring *r = arg;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < r->frames; i++) {
		uint64_t spins = 0;
		while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == i) {
			if (++spins == SPIN_LIMIT || __atomic_load_n(&r->stalled, __ATOMIC_RELAXED)) {
				__atomic_store_n(&r->stalled, true, __ATOMIC_RELAXED);
				return NULL;
			}
		}
		/* an engine reads the headers: the first cache line */
		const uint64_t *f = (const uint64_t *)(r->slot + (size_t)(i % RING_SLOTS) *
						       RING_SLOT_SIZE + ULVS_HEADROOM);
		for (unsigned w = 0; w < 8; w++)
			sum += f[w];
		__atomic_store_n(&r->tail, i + 1, __ATOMIC_RELEASE);
	}
	r->sink = sum;
	return NULL;
}

/* The producer copies frames into a ring a consumer on the other CPU
 * drains; ns per frame for the producer. */
static double bench_handoff(size_t len, uint64_t count)
{
	struct ring *r = aligned_alloc(64, sizeof(*r));
	uint8_t *src = aligned_alloc(64, 2048);
	pthread_t th;
	double t0, dt = -1;

	if (!r || !src)
		goto out;
	memset(r, 0, sizeof(*r));
	r->slot = aligned_alloc(64, (size_t)RING_SLOTS * RING_SLOT_SIZE);
	if (!r->slot)
		goto out;
	memset(r->slot, 0, (size_t)RING_SLOTS * RING_SLOT_SIZE);
	memset(src, 0x5a, 2048);
	r->frames = count;
	if (pthread_create(&th, NULL, ring_consumer, r))
		goto out;
	{
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		pthread_setaffinity_np(th, sizeof(set), &set);
	}
	t0 = now_s();
	for (uint64_t i = 0; i < count; i++) {
		uint64_t spins = 0;
		while (i - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= RING_SLOTS) {
			if (++spins == SPIN_LIMIT || __atomic_load_n(&r->stalled, __ATOMIC_RELAXED)) {
				__atomic_store_n(&r->stalled, true, __ATOMIC_RELAXED);
				break;
			}
		}
		if (__atomic_load_n(&r->stalled, __ATOMIC_RELAXED))
			break;
		memcpy(r->slot + (size_t)(i % RING_SLOTS) * RING_SLOT_SIZE + ULVS_HEADROOM, src, len);
		__atomic_store_n(&r->head, i + 1, __ATOMIC_RELEASE);
	}
	pthread_join(th, NULL);
	dt = (now_s() - t0) / (double)count * 1e9;
	if (r->stalled)
		dt = -1;
out:
	if (r)
		free(r->slot);
	free(r);
	free(src);
	return dt;
}

/* --- main ------------------------------------------------------------------- */

/* The lowest of r timings (ns; a failed one is negative and loses). */
static double best_of(unsigned r, double (*fn)(uint32_t, uint64_t, bool), uint32_t a, uint64_t b,
		      bool c)
{
	double best = -1;
	for (unsigned i = 0; i < r; i++) {
		double x = fn(a, b, c);
		if (x >= 0 && (best < 0 || x < best))
			best = x;
	}
	return best;
}

static double best_of_copy(unsigned r, double (*fn)(size_t, uint64_t), size_t len, uint64_t n)
{
	double best = -1;
	for (unsigned i = 0; i < r; i++) {
		double x = fn(len, n);
		if (x >= 0 && (best < 0 || x < best))
			best = x;
	}
	return best;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: bench_workers [--quick] [--packets N] [--repeat R]\n"
		     "  --quick      fewer packets per thread, one run (CI smoke)\n"
		     "  --packets N  established packets each thread forwards per row "
		     "(default 10000000)\n"
		     "  --repeat R   runs per figure, the best one printed (default 3, at most 20)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "packets", required_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint32_t sizes[] = { 1000, 100000 };
	uint64_t packets = 10000000, steer_calls = 20000000, copies = 20000000;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct row rows[16];
	unsigned n_rows = 0, repeat = 3;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "qp:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			packets = 1000000;
			steer_calls = copies = 2000000;
			repeat = 1;
			break;
		case 'p': packets = strtoull(optarg, NULL, 0); break;
		case 'r': repeat = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!packets || !repeat || repeat > 20) {
		usage(stderr);
		return 2;
	}
	{
		/* the main thread is worker 0: CPU 0 */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}

	printf("# ulvs workers benchmark\n\n");
	printf("- %ld online CPUs; thread k pinned to CPU k; compiler %s;%s\n", ncpu, __VERSION__,
#ifdef __OPTIMIZE__
	       " optimized"
#else
	       " NOT optimized"
#endif
#ifdef __SANITIZE_ADDRESS__
	       ", ASan (figures not representative)"
#endif
	);
	printf("- one service table (DR and NAT services, rr, 2 real servers each), one engine "
	       "per thread, flows split by steer_frame(); %llu established packets per thread "
	       "per row, batches of %u; every figure the best of %u runs\n\n",
	       (unsigned long long)packets, ULVS_MAX_BATCH, repeat);

	for (unsigned s = 0; s < 2; s++)
		for (unsigned m = 0; m < sizeof(MODES) / sizeof(MODES[0]); m++)
			for (unsigned th = 1; th <= MAX_THREADS; th++) {
				int rc;
				if (th > 1 && ncpu < (long)th)
					continue;
				struct row best = { 0 };
				rc = 0;
				for (unsigned k = 0; k < repeat && !rc; k++) {
					rc = run_row(&MODES[m], th, sizes[s], packets, &rows[n_rows]);
					if (!rc && rows[n_rows].agg_mpps > best.agg_mpps)
						best = rows[n_rows];
				}
				rows[n_rows] = best;
				if (rc) {
					fprintf(stderr, "bench_workers: %s, %u threads, %u conns: %s\n",
						MODES[m].name, th, sizes[s], strerror(-rc));
					failed = 1;
					continue;
				}
				n_rows++;
			}

	printf("| mode | conns | threads | flows per thread | Mpps per thread | "
	       "aggregate Mpps | × 1 thread | TX share | reply mis-steered |\n");
	printf("|---|---:|---:|---|---|---:|---:|---:|---:|\n");
	for (unsigned i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		char share[64] = "", mpps[64] = "", x[16] = "";
		size_t o1 = 0, o2 = 0;
		for (unsigned k = 0; k < r->threads; k++) {
			o1 += (size_t)snprintf(share + o1, sizeof(share) - o1, "%s%u", k ? " / " : "",
					       r->share[k]);
			o2 += (size_t)snprintf(mpps + o2, sizeof(mpps) - o2, "%s%.2f", k ? " / " : "",
					       r->mpps[k]);
		}
		/* the one-thread row of the same mode and size */
		for (unsigned j = 0; j < n_rows; j++)
			if (rows[j].threads == 1 && rows[j].mode == r->mode &&
			    rows[j].conns == r->conns && rows[j].agg_mpps > 0)
				snprintf(x, sizeof(x), "%.2f", r->agg_mpps / rows[j].agg_mpps);
		printf("| %s | %u | %u | %s | %s | %.2f | %s | %.0f%% | %u |\n", r->mode, r->conns,
		       r->threads, share, mpps, r->agg_mpps, x, r->tx_ratio * 100, r->steer_mismatch);
	}

	printf("\n| steering decision, 2 workers | ns per steer_frame() | of which pkt_parse() "
	       "alone |\n|---|---:|---:|\n");
	for (unsigned s = 0; s < 2; s++)
		printf("| %u flows x 3 frames (DR in, NAT in, NAT reply) | %.1f | %.1f |\n", sizes[s],
		       best_of(repeat, bench_steer, sizes[s], steer_calls, false),
		       best_of(repeat, bench_steer, sizes[s], steer_calls, true));

	printf("\n| hand-off to another worker | 64-byte frame, ns | 1500-byte frame, ns |\n"
	       "|---|---:|---:|\n");
	printf("| memcpy into a ring slot (%u x %u B ring), same CPU | %.1f | %.1f |\n", RING_SLOTS,
	       RING_SLOT_SIZE, best_of_copy(repeat, bench_copy, 64, copies),
	       best_of_copy(repeat, bench_copy, 1500, copies / 4));
	if (ncpu >= 2)
		printf("| same, consumer on CPU 1 reading the headers (per frame, producer) | "
		       "%.1f | %.1f |\n", best_of_copy(repeat, bench_handoff, 64, copies / 4),
		       best_of_copy(repeat, bench_handoff, 1500, copies / 8));
	printf("\nTX share below 100%% means frames were dropped or passed: such a row does not "
	       "measure forwarding.  A negative figure means the measurement failed.\n");
	return failed ? 1 : 0;
}
