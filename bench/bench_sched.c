/* bench_sched: what choosing a real server costs, per scheduler and pool size.
 *
 * For every scheduler and 4, 64 and 1024 real servers it builds a one-service
 * table with the real service.c builder, then times sched->pick() for new
 * connections in-process (clock_gettime around a loop, no syscalls inside).
 * The counters move as under live traffic: the chosen server's activeconns
 * goes up, and the connection chosen WINDOW picks earlier closes, so the
 * least-connection family sees a steady, changing load and lblc/lblcr see
 * a steady set of destination addresses.  Weights are 1..8, so wrr has a real
 * gcd/max walk.  It prints a markdown table of nanoseconds per new
 * connection and never judges the numbers.
 *
 *   bench_sched [--quick]
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sched/sched.h"
#include "core/service.h"

#define N_KEYS 4096     /* distinct keys cycled through */
#define N_TARGETS 512   /* distinct destination addresses (dh, lblc, lblcr) */
#define WINDOW 4096     /* open connections at any time */

static const uint32_t pool_sizes[] = { 4, 64, 1024 };

static uint64_t rng = 0x5eed;

static uint64_t bench_rand(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ns per pick, or a negative value when the table cannot be built. */
static double bench_one(const struct sched_ops *ops, uint32_t n_rs, uint64_t iters,
			const struct sched_key *keys)
{
	struct svc_table *t = svc_table_new();
	struct svc tmpl = { 0 }, *s;
	static uint32_t open_ring[WINDOW];
	uint64_t t0, t1, clock_ns = 1;
	uint32_t head = 0, open = 0;
	double ns = -1;

	if (!t)
		return -1;
	tmpl.af = ULVS_AF_INET;
	tmpl.proto = 6;
	tmpl.port = htons(80);
	tmpl.addr = addr_v4(htonl(0xc0000201));
	if (svc_add(t, &tmpl, ops->name, &s))
		goto out;
	for (uint32_t i = 0; i < n_rs; i++) {
		struct dest d = { 0 };

		d.af = ULVS_AF_INET;
		d.addr = addr_v4(htonl(0x0a000000u + i + 1));
		d.port = htons(8080);
		d.weight = (int32_t)(1 + bench_rand() % 8);
		d.flags = DEST_F_AVAILABLE;
		if (svc_add_dest(t, s, &d, NULL))
			goto out;
	}
	if (svc_commit(t, s))
		goto out;

	/* warm up (fills lblc caches, pages in tables), then time */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t n = pass ? iters : iters / 10 + 1;

		t0 = now_ns();
		for (uint64_t i = 0; i < n; i++) {
			struct dest *d = ops->pick(t, s, &keys[i % N_KEYS], clock_ns);

			clock_ns += 1000;
			if (!d)
				continue;
			d->activeconns++;
			if (open == WINDOW) { /* the oldest open connection closes */
				t->dests[open_ring[head]].activeconns--;
				head = (head + 1) % WINDOW;
				open--;
			}
			open_ring[(head + open) % WINDOW] = d->id;
			open++;
		}
		t1 = now_ns();
		ns = (double)(t1 - t0) / (double)n;
	}
out:
	svc_table_free(t);
	return ns;
}

int main(int argc, char **argv)
{
	static struct sched_key keys[N_KEYS];
	const struct sched_ops *const *all = sched_all();
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");

	if (argc > 1 && !quick) {
		fprintf(stderr, "usage: bench_sched [--quick]\n");
		return 2;
	}
	for (unsigned i = 0; i < N_KEYS; i++) {
		keys[i].af = ULVS_AF_INET;
		keys[i].proto = 6;
		keys[i].saddr = addr_v4((uint32_t)bench_rand());
		keys[i].daddr = addr_v4(htonl(0xc6120000u + (uint32_t)(bench_rand() % N_TARGETS)));
		keys[i].sport = (uint16_t)bench_rand();
		keys[i].dport = htons(80);
	}

	printf("# bench_sched: scheduler cost per new connection (ns), in-process\n");
#ifdef __OPTIMIZE__
	printf("# compiler %s, optimised build%s\n", __VERSION__, quick ? ", --quick" : "");
#else
	printf("# compiler %s, UNOPTIMISED build%s\n", __VERSION__, quick ? ", --quick" : "");
#endif
	printf("\n| scheduler |");
	for (unsigned j = 0; j < sizeof(pool_sizes) / sizeof(pool_sizes[0]); j++)
		printf(" %u RS |", pool_sizes[j]);
	printf("\n|---|");
	for (unsigned j = 0; j < sizeof(pool_sizes) / sizeof(pool_sizes[0]); j++)
		printf("---:|");
	printf("\n");
	for (unsigned i = 0; all[i]; i++) {
		printf("| %s |", all[i]->name);
		for (unsigned j = 0; j < sizeof(pool_sizes) / sizeof(pool_sizes[0]); j++) {
			/* about the same wall time per cell whatever the pool size */
			uint64_t iters = (quick ? 400000u : 4000000u) / pool_sizes[j];
			double ns;

			if (iters < 20000)
				iters = 20000;
			ns = bench_one(all[i], pool_sizes[j], iters, keys);
			if (ns < 0)
				printf(" n/a |");
			else
				printf(" %.1f |", ns);
			fflush(stdout);
		}
		printf("\n");
	}
	return 0;
}
