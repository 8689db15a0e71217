/* bench_engine: the data plane's speed and size, measured in-process.
 *
 * No NIC, no syscalls in the timed loops: frames come from a template array
 * (copied into the batch buffers before every engine_process() call, because
 * the engine rewrites in place and a second pass over a rewritten frame would
 * measure something else), so the figures are the engine's cost alone, per
 * core.  For each forwarding mode it builds a one-service table with two
 * real servers, opens N connections by feeding SYNs (timed: new
 * connections/s = parse + schedule + insert), completes the handshakes
 * (untimed; FULLNAT inserts TOA here), then times established traffic
 * cycling over all N connections, in the client->VIP direction and, for
 * NAT and FULLNAT, the reply direction.  It prints a markdown table and
 * never judges the numbers: that is the README's job, with the machine
 * recorded beside them.
 *
 *   bench_engine [--quick] [--conns N] [--seconds S]
 */
#include <errno.h>
#include <getopt.h>
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

#ifndef BENCH_BUILD_FLAGS
#define BENCH_BUILD_FLAGS "unknown (built outside meson)"
#endif

#define FRAME_STRIDE 64u           /* template bytes per connection */
#define SLOT_SIZE (ULVS_HEADROOM + 256u)

static const uint8_t DIRECTOR_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t GATEWAY_MAC[6] = { 0x02, 0, 0, 0, 0, 0xfe };
static const uint8_t RS_MAC[2][6] = { { 0x02, 0, 0, 0, 0, 0x0a }, { 0x02, 0, 0, 0, 0, 0x14 } };

/* Addresses in host order for readability; converted when written. */
#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define VIP IP(10, 0, 0, 100)
#define DIRECTOR IP(10, 0, 0, 200)
#define GATEWAY IP(10, 0, 0, 1)
#define LADDR0 IP(10, 0, 0, 150)
#define N_LADDRS 24                /* 24 x 64511 ports > 1M FULLNAT conns */
static const uint32_t RS_IP[2] = { IP(10, 0, 0, 10), IP(10, 0, 0, 20) };

struct mode {
	const char *name;
	enum fwd_method fwd;
	uint16_t rport;
	bool reply;                /* also time the reply direction */
};

static const struct mode MODES[] = {
	{ "DR", FWD_DR, 80, false },
	{ "NAT", FWD_NAT, 8080, true },
	{ "TUN", FWD_TUN, 80, false },
	{ "FULLNAT", FWD_FNAT, 8080, true },
};

struct result {
	const char *mode, *dir;
	uint32_t conns;
	double pps, tx_ratio;
	double new_cps;            /* 0 when not measured in this row */
	double bytes_per_conn, bytes_per_slot;
};

/* --- frame building (independent of core/packet.c) ----------------------- */

/* Ethernet + IPv4 + TCP (with an MSS option on SYNs); returns the length. */
/* Client i: 172.16.0.0/12 addresses, 256 ports each, so (addr, port) is
 * unique for up to 2^28 connections and hashes see varied addresses. */
#include "benchutil.h"

static uint32_t client_ip(uint32_t i)
{
	return IP(172, 16, 0, 0) + (i >> 8);
}

static uint16_t client_port(uint32_t i)
{
	return (uint16_t)(10000 + (i & 0xff));
}

/* --- setup ------------------------------------------------------------------ */

static struct svc_table *setup_services(const struct mode *m)
{
	struct svc_table *t = svc_table_new();
	struct svc tmpl, *s;

	if (!t)
		return NULL;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = ULVS_AF_INET;
	tmpl.proto = IPPROTO_TCP_;
	tmpl.port = __builtin_bswap16(80);
	tmpl.addr = a4(VIP);
	tmpl.sorry_dest = -1;
	if (svc_add(t, &tmpl, "rr", &s))
		goto fail;
	for (unsigned i = 0; i < 2; i++) {
		struct dest d;
		memset(&d, 0, sizeof(d));
		d.addr = a4(RS_IP[i]);
		d.port = __builtin_bswap16(m->rport);
		d.af = ULVS_AF_INET;
		d.fwd = (uint8_t)m->fwd;
		d.weight = 1;
		d.flags = DEST_F_AVAILABLE;
		if (svc_add_dest(t, s, &d, NULL))
			goto fail;
	}
	if (m->fwd == FWD_FNAT)
		for (unsigned i = 0; i < N_LADDRS; i++) {
			union ulvs_addr la = a4(LADDR0 + i);
			if (svc_add_laddr(s, ULVS_AF_INET, &la, 0))
				goto fail;
		}
	if (svc_commit(t, s))
		goto fail;
	return t;
fail:
	svc_table_free(t);
	return NULL;
}

/* --- running ---------------------------------------------------------------- */

struct bench {
	struct engine *e;
	struct pkt pkts[ULVS_MAX_BATCH];
	struct verdict v[ULVS_MAX_BATCH];
	uint8_t *slots;
	uint64_t now;
};

/* Feeds frames [first, first + n) of tmpl (in order, wrapping at count) in
 * batches; returns the TX verdicts. */
static uint64_t feed(struct bench *b, const uint8_t *tmpl, const uint32_t *lens, uint32_t count,
		     uint64_t first, uint64_t n)
{
	uint64_t tx = 0, k = first % count;

	while (n) {
		unsigned batch = n < ULVS_MAX_BATCH ? (unsigned)n : ULVS_MAX_BATCH;
		for (unsigned j = 0; j < batch; j++) {
			struct pkt *p = &b->pkts[j];
			p->buf = b->slots + (size_t)j * SLOT_SIZE;
			p->data = p->buf + ULVS_HEADROOM;
			p->len = lens[k];
			p->buf_size = SLOT_SIZE;
			p->ifindex = 0;
			p->mark = 0;
			memcpy(p->data, tmpl + k * FRAME_STRIDE, FRAME_STRIDE);
			if (++k == count)
				k = 0;
		}
		tx += engine_process(b->e, b->pkts, b->v, batch, b->now);
		b->now += 1000;    /* 1 us of virtual time per batch: no expiry */
		n -= batch;
	}
	return tx;
}

/* Times established traffic over all conns for at least secs. */
static double time_traffic(struct bench *b, const uint8_t *tmpl, const uint32_t *lens,
			   uint32_t count, double secs, double *tx_ratio)
{
	uint64_t done = 0, tx = 0, chunk = 64 * ULVS_MAX_BATCH;
	double t0 = now_s(), t;

	do {
		tx += feed(b, tmpl, lens, count, done, chunk);
		done += chunk;
		t = now_s() - t0;
	} while (t < secs);
	*tx_ratio = (double)tx / (double)done;
	return (double)done / t;
}

struct tmpl {
	uint8_t *frames;
	uint32_t *lens;
};

static int tmpl_alloc(struct tmpl *t, uint32_t n)
{
	t->frames = calloc(n, FRAME_STRIDE);
	t->lens = calloc(n, sizeof(*t->lens));
	return t->frames && t->lens ? 0 : -ENOMEM;
}

static void tmpl_free(struct tmpl *t)
{
	free(t->frames);
	free(t->lens);
}

static void build_client(struct tmpl *t, uint32_t n, uint8_t flags)
{
	for (uint32_t i = 0; i < n; i++)
		t->lens[i] = build_tcp(t->frames + (size_t)i * FRAME_STRIDE, GATEWAY_MAC,
				       DIRECTOR_MAC, client_ip(i), client_port(i), VIP, 80, flags);
}

/* Replies need what the engine chose: the real server, and for FULLNAT the
 * local address and port.  Ask the connection table. */
static int build_replies(struct bench *b, struct tmpl *t, uint32_t n, uint8_t flags)
{
	struct conn_table *ct = engine_conns(b->e);
	union ulvs_addr vip = a4(VIP);

	for (uint32_t i = 0; i < n; i++) {
		union ulvs_addr ca = a4(client_ip(i));
		uint16_t cp = __builtin_bswap16(client_port(i)), vp = __builtin_bswap16(80);
		enum conn_dir dir;
		struct conn *c = conn_lookup(ct, ULVS_AF_INET, IPPROTO_TCP_, &ca, cp, &vip, vp, &dir);
		uint32_t rip, dst;
		uint16_t dport;
		const uint8_t *smac;

		if (!c)
			return -ENOENT;
		rip = __builtin_bswap32(c->daddr.ip);
		smac = rip == RS_IP[0] ? RS_MAC[0] : RS_MAC[1];
		if (c->fwd == FWD_FNAT) {
			dst = __builtin_bswap32(c->laddr.ip);
			dport = __builtin_bswap16(c->lport);
		} else {
			dst = client_ip(i);
			dport = client_port(i);
		}
		t->lens[i] = build_tcp(t->frames + (size_t)i * FRAME_STRIDE, smac, DIRECTOR_MAC,
				       rip, __builtin_bswap16(c->dport), dst, dport, flags);
	}
	return 0;
}

static int bench_mode(const struct mode *m, uint32_t n, double secs, struct result *out,
		      unsigned *n_out)
{
	struct engine_params ep = { .conn_capacity = n + n / 4 + 1024 };
	struct bench b = { .now = 1000000000ull };
	struct tmpl in = { 0 }, rep = { 0 };
	struct fib *f = malloc(sizeof(*f));
	struct svc_table *t = setup_services(m);
	struct conn_table *ct;
	struct result r;
	double t0, ratio;
	uint64_t tx;
	int rc = -ENOMEM;

	b.slots = aligned_alloc(64, (size_t)ULVS_MAX_BATCH * SLOT_SIZE);
	if (!f || !t || !b.slots || tmpl_alloc(&in, n) || tmpl_alloc(&rep, n))
		goto out;
	rc = setup_fib(f);
	if (rc)
		goto out;
	rc = -ENOMEM;
	b.e = engine_new(&ep, f, t, b.now);
	if (!b.e)
		goto out;
	ct = engine_conns(b.e);

	/* New connections: SYN -> classify -> schedule -> insert -> rewrite. */
	build_client(&in, n, TCP_F_SYN);
	t0 = now_s();
	tx = feed(&b, in.frames, in.lens, n, 0, n);
	memset(&r, 0, sizeof(r));
	r.mode = m->name;
	r.conns = n;
	r.new_cps = (double)n / (now_s() - t0);
	if (conn_count(ct) < n || tx < n) {
		fprintf(stderr, "bench_engine: %s: only %u of %u connections opened (%llu sent); "
			"figures below would be meaningless\n", m->name, conn_count(ct), n,
			(unsigned long long)tx);
		rc = -EPROTO;
		goto out;
	}
	r.bytes_per_conn = (double)conn_table_memory(ct) / conn_count(ct);
	r.bytes_per_slot = (double)conn_table_memory(ct) / conn_capacity(ct);

	/* Complete the handshakes (untimed).  DR/TUN never see replies. */
	if (m->reply) {
		rc = build_replies(&b, &rep, n, TCP_F_SYN | TCP_F_ACK);
		if (rc)
			goto out;
		feed(&b, rep.frames, rep.lens, n, 0, n);
	}
	build_client(&in, n, TCP_F_ACK);
	feed(&b, in.frames, in.lens, n, 0, n);

	r.dir = m->reply ? "in" : "-";
	r.pps = time_traffic(&b, in.frames, in.lens, n, secs, &ratio);
	r.tx_ratio = ratio;
	out[(*n_out)++] = r;
	if (m->reply) {
		rc = build_replies(&b, &rep, n, TCP_F_ACK);
		if (rc)
			goto out;
		r.dir = "out";
		r.new_cps = 0;
		r.pps = time_traffic(&b, rep.frames, rep.lens, n, secs, &ratio);
		r.tx_ratio = ratio;
		out[(*n_out)++] = r;
	}
	rc = 0;
out:
	if (b.e)
		engine_free(b.e);
	svc_table_free(t);
	free(f);
	free(b.slots);
	tmpl_free(&in);
	tmpl_free(&rep);
	return rc;
}

static void print_machine(void)
{
	char line[512], model[256] = "unknown", mhz[64] = "?", cache[64] = "?";
	FILE *fp = fopen("/proc/cpuinfo", "r");

	/* The first processor's entry; a VM may show a generic model name, so
	 * the clock and cache help place the figures. */
	if (fp) {
		while (fgets(line, sizeof(line), fp) && line[0] != '\n') {
			char *c = strchr(line, ':');
			char *dst = !c ? NULL : !strncmp(line, "model name", 10) ? model :
				    !strncmp(line, "cpu MHz", 7) ? mhz :
				    !strncmp(line, "cache size", 10) ? cache : NULL;
			if (dst && c[1]) {
				snprintf(dst, dst == model ? sizeof(model) : sizeof(mhz), "%s", c + 2);
				dst[strcspn(dst, "\n")] = '\0';
			}
		}
		fclose(fp);
	}
	printf("- CPU: %s, %s MHz, cache %s, %ld online CPUs\n", model, mhz, cache,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("- compiler: %s\n", __VERSION__);
	printf("- build: %s\n", BENCH_BUILD_FLAGS);
	printf("- defines:%s%s%s%s\n",
#ifdef __OPTIMIZE__
	       " __OPTIMIZE__",
#else
	       " (not optimized)",
#endif
#ifdef NDEBUG
	       " NDEBUG",
#else
	       "",
#endif
#ifdef __AVX2__
	       " __AVX2__",
#else
	       "",
#endif
#ifdef __SANITIZE_ADDRESS__
	       " ASan (figures not representative)"
#else
	       ""
#endif
	);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: bench_engine [--quick] [--conns N] [--seconds S]\n"
		     "  --quick      1k and 10k connections, short runs (CI smoke)\n"
		     "  --conns N    the large table size (default 1000000)\n"
		     "  --seconds S  time per measurement (default 1.0)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "conns", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t sizes[2] = { 1000, 1000000 };
	double secs = 1.0;
	struct result res[32];
	unsigned n_res = 0;
	bool quick = false, conns_set = false;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "qc:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 'c': sizes[1] = (uint32_t)strtoul(optarg, NULL, 0); conns_set = true; break;
		case 's': secs = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (quick) {
		if (!conns_set)
			sizes[1] = 10000;
		secs = 0.1;
	}
	if (sizes[1] == 0 || secs <= 0) {
		usage(stderr);
		return 2;
	}
	{
		/* Stay on one core: figures are per core. */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((unsigned)sched_getcpu(), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}

	printf("# ulvs engine benchmark\n\n");
	print_machine();
	printf("- method: one thread, in-process, batches of %u frames from templates, "
	       "%.2f s per row\n\n", ULVS_MAX_BATCH, secs);

	for (unsigned s = 0; s < 2; s++)
		for (unsigned m = 0; m < sizeof(MODES) / sizeof(MODES[0]); m++) {
			int rc = bench_mode(&MODES[m], sizes[s], secs, res, &n_res);
			if (rc) {
				fprintf(stderr, "bench_engine: %s with %u connections: %s\n",
					MODES[m].name, sizes[s], strerror(-rc));
				failed = 1;
			}
			fflush(stdout);
		}

	printf("| mode | direction | live conns | Mpps/core | ns/packet | TX share |"
	       " new conns/s | bytes/conn (live) | bytes/conn (capacity) |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned i = 0; i < n_res; i++) {
		const struct result *r = &res[i];
		char cps[32] = "";
		if (r->new_cps > 0)
			snprintf(cps, sizeof(cps), "%.0f", r->new_cps);
		printf("| %s | %s | %u | %.2f | %.1f | %.0f%% | %s | %.0f | %.0f |\n", r->mode,
		       r->dir, r->conns, r->pps / 1e6, 1e9 / r->pps, r->tx_ratio * 100, cps,
		       r->bytes_per_conn, r->bytes_per_slot);
	}
	printf("\nTX share below 100%% means the engine dropped or passed frames: those "
	       "rows do not measure forwarding.\n");
	return failed ? 1 : 0;
}
