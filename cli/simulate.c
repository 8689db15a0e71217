/* ulvsadm --simulate: what would this scheduler do with my servers?
 *
 * Builds a one-service table with the real service.c builder and the real
 * scheduler (core/sched/), then plays a synthetic stream of TCP connections
 * through it in virtual time: clients with random addresses, a new
 * connection every 1/rate s on average from a random client and source
 * port, each staying active for an exponentially distributed time and then
 * inactive (TIME_WAIT) for the 120 s IPVS keeps a closed TCP connection.
 * The real server counters move as the engine moves them (active while
 * open, then inactive, thresholds re-checked with dest_update_overload()),
 * so lc, wlc, lblc, ovf and friends see the load they would see live.  With
 * -p, clients stick to their server through a persistence template that
 * lives while the client has connections and TIMEOUT seconds after, as
 * IPVS's does.  Everything is drawn from one seeded generator: the same
 * command prints the same table.
 */
#include "simulate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched/sched.h"
#include "core/service.h"

#define SIM_MAX_RS 1024
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define SIM_TIME_WAIT_NS (120 * NS_PER_S) /* IPVS tcp_timeouts[TIME_WAIT] */

struct sim_rs {
	enum ulvs_af af;
	union ulvs_addr addr;
	uint16_t port; /* host order */
	int32_t weight;
	uint32_t upper, lower;
};

struct sim_opts {
	const char *sched;
	uint32_t svc_flags;
	struct sim_rs rs[SIM_MAX_RS];
	unsigned n_rs;
	uint32_t clients, conns, targets, mh_size;
	uint64_t seed;
	uint32_t persist_s;  /* 0: not persistent */
	uint32_t rate;       /* new connections per second */
	uint32_t duration_ms; /* mean active time */
};

/* What happens to a connection later: it closes (active -> inactive) or
 * its TIME_WAIT ends (inactive -> gone). */
struct sim_event {
	uint64_t at;
	uint32_t dest;   /* dest id */
	uint32_t client;
	uint8_t closing; /* 1: close, 0: expire */
};

struct sim_heap {
	struct sim_event *e;
	size_t n, cap;
};

struct sim_client {
	union ulvs_addr addr;
	int32_t tmpl_dest; /* persistence template: dest id, -1 none */
	uint32_t tmpl_open;
	uint64_t tmpl_expires;
};

static uint64_t sim_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double sim_unit(uint64_t *s)
{
	return ((double)(sim_rand(s) >> 11) + 1.0) / 9007199254740992.0;
}

static int heap_push(struct sim_heap *h, struct sim_event ev)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct sim_event *e = realloc(h->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		h->e = e;
		h->cap = cap;
	}
	i = h->n++;
	while (i > 0 && h->e[(i - 1) / 2].at > ev.at) {
		h->e[i] = h->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->e[i] = ev;
	return 0;
}

static struct sim_event heap_pop(struct sim_heap *h)
{
	struct sim_event top = h->e[0], last = h->e[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->e[c + 1].at < h->e[c].at)
			c++;
		if (last.at <= h->e[c].at)
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->n)
		h->e[i] = last;
	return top;
}

static void sim_usage(FILE *f)
{
	fprintf(f,
		"Usage: ulvsadm --simulate -s SCHEDULER -r RIP:PORT:WEIGHT[:UPPER[:LOWER]] ...\n"
		"               [-b FLAGS] [-p TIMEOUT] [--clients N] [--conns M] [--seed S]\n"
		"               [--rate CONN_PER_S] [--duration MS] [--targets K] [--mh-size PRIME]\n"
		"  -s  scheduler: rr wrr lc wlc sed nq lblc lblcr dh sh mh fo ovf twos\n"
		"  -r  a real server; IPv6 as [ADDR]:PORT:WEIGHT; UPPER/LOWER: -x/-y thresholds\n"
		"  -b  comma-separated: sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3\n"
		"  -p  persistence timeout in seconds\n"
		"  --clients N    distinct client addresses (default 1000)\n"
		"  --conns M      connections to schedule (default 10000)\n"
		"  --seed S       random seed (default 1); same seed, same table\n"
		"  --rate R       new connections per second (default 1000)\n"
		"  --duration MS  mean time a connection stays active (default 2000)\n"
		"  --targets K    distinct destination addresses, for dh/lblc/lblcr (default 1)\n"
		"  --mh-size P    mh lookup table size, a prime <= 65521 (default 4093)\n");
}

/* "-b" flag names as ipvsadm spells them. */
static int parse_sched_flags(const char *arg, uint32_t *flags)
{
	char buf[256], *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "sh-fallback") || !strcmp(tok, "mh-fallback") ||
		    !strcmp(tok, "flag-1"))
			*flags |= SVC_F_SCHED1;
		else if (!strcmp(tok, "sh-port") || !strcmp(tok, "mh-port") ||
			 !strcmp(tok, "flag-2"))
			*flags |= SVC_F_SCHED2;
		else if (!strcmp(tok, "flag-3"))
			*flags |= SVC_F_SCHED3;
		else {
			fprintf(stderr, "ulvsadm: -b: unknown scheduler flag '%s'\n", tok);
			return -EINVAL;
		}
	}
	return 0;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* RIP:PORT:WEIGHT[:UPPER[:LOWER]], IPv6 in brackets. */
static int parse_rs(const char *arg, struct sim_rs *rs)
{
	char buf[128], *rest, *fields[4] = { NULL };
	const char *addr;
	unsigned nf = 0;
	uint32_t port, w;

	memset(rs, 0, sizeof(*rs));
	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		addr = buf + 1;
		rest = close + 2;
	} else {
		char *colon = strchr(buf, ':');

		if (!colon)
			return -EINVAL;
		*colon = '\0';
		addr = buf;
		rest = colon + 1;
	}
	for (char *p = rest; p && nf < 4; nf++) {
		fields[nf] = p;
		p = strchr(p, ':');
		if (p)
			*p++ = '\0';
		if (p && nf == 3)
			return -EINVAL;
	}
	if (nf < 2 || addr_parse(addr, &rs->af, &rs->addr) != 0)
		return -EINVAL;
	if (!parse_u32(fields[0], 65535, &port) || !parse_u32(fields[1], 65535, &w))
		return -EINVAL;
	rs->port = (uint16_t)port;
	rs->weight = (int32_t)w;
	if (fields[2] && !parse_u32(fields[2], UINT32_MAX, &rs->upper))
		return -EINVAL;
	if (fields[3] && !parse_u32(fields[3], UINT32_MAX, &rs->lower))
		return -EINVAL;
	return 0;
}

enum {
	OPT_SIMULATE = 256,
	OPT_CLIENTS,
	OPT_CONNS,
	OPT_SEED,
	OPT_RATE,
	OPT_DURATION,
	OPT_TARGETS,
	OPT_MH_SIZE,
	OPT_HELP,
};

static int parse_opts(int argc, char **argv, struct sim_opts *o)
{
	static const struct option longopts[] = {
		{ "simulate", no_argument, NULL, OPT_SIMULATE },
		{ "scheduler", required_argument, NULL, 's' },
		{ "sched-flags", required_argument, NULL, 'b' },
		{ "real-server", required_argument, NULL, 'r' },
		{ "persistent", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, OPT_CLIENTS },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "targets", required_argument, NULL, OPT_TARGETS },
		{ "mh-size", required_argument, NULL, OPT_MH_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	uint32_t v;

	o->clients = 1000;
	o->conns = 10000;
	o->seed = 1;
	o->rate = 1000;
	o->duration_ms = 2000;
	o->targets = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:b:r:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SIMULATE:
			break;
		case 's':
			o->sched = optarg;
			break;
		case 'b':
			if (parse_sched_flags(optarg, &o->svc_flags))
				return -EINVAL;
			break;
		case 'r':
			if (o->n_rs == SIM_MAX_RS) {
				fprintf(stderr, "ulvsadm: at most %u real servers\n", SIM_MAX_RS);
				return -EINVAL;
			}
			if (parse_rs(optarg, &o->rs[o->n_rs])) {
				fprintf(stderr, "ulvsadm: -r %s: expected RIP:PORT:WEIGHT[:UPPER[:LOWER]]\n",
					optarg);
				return -EINVAL;
			}
			o->n_rs++;
			break;
		case 'p':
			if (!parse_u32(optarg, UINT32_MAX / 2, &o->persist_s) || !o->persist_s)
				goto bad_value;
			break;
		case OPT_CLIENTS:
			if (!parse_u32(optarg, 100000000, &o->clients) || !o->clients)
				goto bad_value;
			break;
		case OPT_CONNS:
			if (!parse_u32(optarg, 1000000000, &o->conns))
				goto bad_value;
			break;
		case OPT_SEED:
			if (!parse_u32(optarg, UINT32_MAX, &v))
				goto bad_value;
			o->seed = v;
			break;
		case OPT_RATE:
			if (!parse_u32(optarg, 100000000, &o->rate) || !o->rate)
				goto bad_value;
			break;
		case OPT_DURATION:
			if (!parse_u32(optarg, 86400000, &o->duration_ms))
				goto bad_value;
			break;
		case OPT_TARGETS:
			if (!parse_u32(optarg, 65536, &o->targets) || !o->targets)
				goto bad_value;
			break;
		case OPT_MH_SIZE:
			if (!parse_u32(optarg, 65521, &o->mh_size))
				goto bad_value;
			break;
		case 'h':
			sim_usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "ulvsadm: %s: needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "ulvsadm: --simulate: unknown option %s\n", argv[optind - 1]);
			return -EINVAL;
		}
		continue;
bad_value:
		fprintf(stderr, "ulvsadm: %s: bad value '%s'\n", argv[optind - 1], optarg);
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "ulvsadm: --simulate: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->sched) {
		fprintf(stderr, "ulvsadm: --simulate needs -s SCHEDULER\n");
		return -EINVAL;
	}
	if (!sched_find(o->sched)) {
		fprintf(stderr, "ulvsadm: -s %s: unknown scheduler\n", o->sched);
		return -EINVAL;
	}
	if (o->n_rs == 0) {
		fprintf(stderr, "ulvsadm: --simulate needs at least one -r RIP:PORT:WEIGHT\n");
		return -EINVAL;
	}
	return 0;
}

static int build_table(const struct sim_opts *o, struct svc_table **out, struct svc **svc_out)
{
	struct svc_table *t = svc_table_new();
	struct svc tmpl = { 0 };
	struct svc *s;
	int rc;

	if (!t)
		return -ENOMEM;
	tmpl.af = ULVS_AF_INET;
	tmpl.proto = 6;
	tmpl.port = htons(80);
	tmpl.addr = addr_v4(htonl(0xc0000201)); /* 192.0.2.1 (RFC 5737) */
	tmpl.flags = o->svc_flags | (o->persist_s ? SVC_F_PERSISTENT : 0);
	tmpl.timeout = o->persist_s;
	tmpl.netmask = 32;
	tmpl.sched_param = o->mh_size;
	rc = svc_add(t, &tmpl, o->sched, &s);
	if (rc) {
		fprintf(stderr, "ulvsadm: -s %s: %s\n", o->sched,
			rc == -EINVAL ? "bad scheduler parameter (--mh-size must be a prime)"
				      : strerror(-rc));
		goto fail;
	}
	for (unsigned i = 0; i < o->n_rs; i++) {
		struct dest d = { 0 };

		d.af = (uint8_t)o->rs[i].af;
		d.addr = o->rs[i].addr;
		d.port = htons(o->rs[i].port);
		d.weight = o->rs[i].weight;
		d.u_threshold = o->rs[i].upper;
		d.l_threshold = o->rs[i].lower;
		d.flags = DEST_F_AVAILABLE;
		d.fwd = FWD_DR;
		rc = svc_add_dest(t, s, &d, NULL);
		if (rc) {
			fprintf(stderr, "ulvsadm: real server #%u: %s\n", i + 1,
				rc == -EEXIST ? "given twice" : strerror(-rc));
			goto fail;
		}
	}
	rc = svc_commit(t, s);
	if (rc) {
		fprintf(stderr, "ulvsadm: -s %s: cannot build the scheduler's table: %s\n", o->sched,
			rc == -EINVAL ? "invalid parameters for this scheduler" : strerror(-rc));
		goto fail;
	}
	*out = t;
	*svc_out = s;
	return 0;
fail:
	svc_table_free(t);
	return rc ? rc : -EINVAL;
}

struct sim_stats {
	uint64_t conns;
	uint32_t peak_active;
};

static int sim_close(struct svc_table *t, struct sim_heap *h, struct sim_client *cl,
		     const struct sim_opts *o, struct sim_event ev)
{
	struct dest *d = &t->dests[ev.dest];

	if (ev.closing) {
		d->activeconns--;
		d->inactconns++;
		if (o->persist_s && cl[ev.client].tmpl_open && --cl[ev.client].tmpl_open == 0)
			cl[ev.client].tmpl_expires = ev.at + (uint64_t)o->persist_s * NS_PER_S;
		ev.closing = 0;
		ev.at += SIM_TIME_WAIT_NS;
		if (heap_push(h, ev))
			return -ENOMEM;
	} else {
		d->inactconns--;
	}
	dest_update_overload(d);
	return 0;
}

static int sim_run(const struct sim_opts *o, struct svc_table *t, struct svc *s,
		   struct sim_stats *st, uint64_t *unscheduled, uint32_t *peak_total)
{
	struct sim_heap h = { 0 };
	struct sim_client *cl = calloc(o->clients, sizeof(*cl));
	uint64_t rng = o->seed * 0x2545F4914F6CDD1Dull + 1, now = 0;
	const double gap_ns = 1e9 / o->rate, dur_ns = (double)o->duration_ms * 1e6;
	uint32_t active_total = 0;
	int rc = 0;

	if (!cl)
		return -ENOMEM;
	for (uint32_t c = 0; c < o->clients; c++) {
		cl[c].addr = addr_v4((uint32_t)sim_rand(&rng));
		cl[c].tmpl_dest = -1;
	}
	for (uint32_t n = 0; n < o->conns; n++) {
		struct sched_key k = { 0 };
		struct sim_client *c;
		struct dest *d = NULL;
		uint32_t ci;

		now += (uint64_t)(-log(sim_unit(&rng)) * gap_ns);
		while (h.n && h.e[0].at <= now) {
			struct sim_event ev = heap_pop(&h);

			if (ev.closing)
				active_total--;
			if ((rc = sim_close(t, &h, cl, o, ev)))
				goto out;
		}
		ci = (uint32_t)(sim_rand(&rng) % o->clients);
		c = &cl[ci];
		k.af = ULVS_AF_INET;
		k.proto = 6;
		k.saddr = c->addr;
		k.daddr = s->addr;
		if (o->targets > 1) /* 198.18.0.0/15, RFC 2544's benchmarking range */
			k.daddr = addr_v4(htonl(0xc6120000u + (uint32_t)(sim_rand(&rng) % o->targets)));
		k.sport = htons((uint16_t)(1024 + sim_rand(&rng) % 64512));
		k.dport = s->port;

		/* IPVS persistence: an existing template wins while its dest is
		 * still in service, even quiesced (weight 0). */
		if (o->persist_s && c->tmpl_dest >= 0 && (c->tmpl_open || now < c->tmpl_expires) &&
		    (t->dests[c->tmpl_dest].flags & DEST_F_AVAILABLE))
			d = &t->dests[c->tmpl_dest];
		else
			d = s->sched->pick(t, s, &k, now);
		if (!d) {
			(*unscheduled)++;
			continue;
		}
		if (o->persist_s) {
			c->tmpl_dest = (int32_t)d->id;
			c->tmpl_open++;
		}
		d->activeconns++;
		dest_update_overload(d);
		active_total++;
		if (active_total > *peak_total)
			*peak_total = active_total;
		for (uint32_t i = 0; i < s->n_dests; i++)
			if (s->dests[i] == d->id) {
				st[i].conns++;
				if (d->activeconns > st[i].peak_active)
					st[i].peak_active = d->activeconns;
			}
		rc = heap_push(&h, (struct sim_event){
					   .at = now + (uint64_t)(-log(sim_unit(&rng)) * dur_ns),
					   .dest = d->id,
					   .client = ci,
					   .closing = 1,
				   });
		if (rc)
			goto out;
	}
out:
	free(h.e);
	free(cl);
	return rc;
}

static void sim_flags_text(uint32_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", f & SVC_F_SCHED1 ? " flag-1" : "",
		 f & SVC_F_SCHED2 ? " flag-2" : "", f & SVC_F_SCHED3 ? " flag-3" : "");
}

int simulate_main(int argc, char **argv)
{
	struct sim_opts *o = calloc(1, sizeof(*o));
	struct sim_stats *st = NULL;
	struct svc_table *t = NULL;
	struct svc *s = NULL;
	uint64_t unscheduled = 0, scheduled = 0;
	uint32_t peak_total = 0;
	char flags[64];
	int rc, ret = 1;

	if (!o)
		return 1;
	if (parse_opts(argc, argv, o)) {
		fprintf(stderr, "Try 'ulvsadm --simulate -h' for more information.\n");
		free(o);
		return 2;
	}
	if (build_table(o, &t, &s)) {
		free(o);
		return 1;
	}
	st = calloc(s->n_dests, sizeof(*st));
	if (!st)
		goto out;
	rc = sim_run(o, t, s, st, &unscheduled, &peak_total);
	if (rc) {
		fprintf(stderr, "ulvsadm: --simulate: %s\n", strerror(-rc));
		goto out;
	}

	sim_flags_text(o->svc_flags, flags, sizeof(flags));
	printf("Simulated scheduler %s%s%s on %u connections from %u clients\n", o->sched,
	       *flags ? " with" : "", flags, o->conns, o->clients);
	printf("(seed %llu, %u conn/s, mean active %u ms", (unsigned long long)o->seed, o->rate,
	       o->duration_ms);
	if (o->persist_s)
		printf(", persistent %u s", o->persist_s);
	if (o->targets > 1)
		printf(", %u destination addresses", o->targets);
	printf(")\n");
	printf("%-40s %7s %10s %8s %11s\n", "RemoteAddress:Port", "Weight", "Conns", "Share",
	       "PeakActive");
	for (uint32_t i = 0; i < s->n_dests; i++)
		scheduled += st[i].conns;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = svc_dest(t, s, i);
		char a[64], ap[80];

		addr_format((enum ulvs_af)d->af, &d->addr, a, sizeof(a));
		if (d->af == ULVS_AF_INET6)
			snprintf(ap, sizeof(ap), "[%s]:%u", a, o->rs[i].port);
		else
			snprintf(ap, sizeof(ap), "%s:%u", a, o->rs[i].port);
		printf("%-40s %7d %10llu %7.2f%% %11u\n", ap, d->weight,
		       (unsigned long long)st[i].conns,
		       o->conns ? 100.0 * (double)st[i].conns / o->conns : 0.0, st[i].peak_active);
	}
	if (unscheduled)
		printf("%-40s %7s %10llu %7.2f%%\n", "(no server available: dropped)", "",
		       (unsigned long long)unscheduled, 100.0 * (double)unscheduled / o->conns);
	printf("Peak concurrent active connections: %u\n", peak_total);
	ret = 0;
out:
	free(st);
	svc_table_free(t);
	free(o);
	return ret;
}
