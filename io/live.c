/* The live director: engine + kernel's network view + packet sockets.
 *
 * live_start() copies interfaces, routes and neighbours from the kernel
 * into the fib (netlink.c), opens the packet backend (AF_XDP, see afxdp.h,
 * or AF_PACKET), tells the kernel to keep its hands off the packets the
 * engine owns and starts the workers: threads that each poll their receive
 * queues, hand a frame another worker owns to it (core/steer.h), run the
 * rest through their own engine and transmit the verdicts, and expire
 * their connections every 100 ms.  On the control thread's event loop it
 * follows neighbour notifications as they come and, every second, re-reads
 * the neighbour table, asks the kernel to resolve every real server whose
 * MAC is still unknown and brings the XDP maps up to date.  The control
 * thread holds the workers (live_pause) while it runs, except around such
 * slow work that touches nothing they use (ev_release).
 *
 * Why nftables at all: an AF_PACKET socket receives a *copy*; the kernel
 * still gets the original, and left alone it would answer a SYN to VIP:80
 * with a RST (nothing listens there) or forward a NAT reply un-translated.
 * So a table of our own (inet ulvs) drops, at prerouting priority -300
 * (before conntrack), exactly the packets the engine owns: to VIP:port of
 * each service, to the fwmark rules' destinations, to FULLNAT local
 * addresses' port range, and NAT replies from real servers not addressed to
 * the director itself (health check answers are).  ARP and ICMP echo to a
 * VIP still reach the kernel, which answers them as the VIP's owner.  The
 * table is replaced atomically at start (a crashed predecessor's leftovers
 * go with it) and deleted at exit.  AF_XDP needs none of this: its XDP
 * program steals the frames instead of copying them.  --backend auto tries
 * AF_XDP first and falls back to AF_PACKET, saying why.
 *
 * The engine transmits on its own, so IPv4/IPv6 forwarding on the director
 * can stay off.
 */
#include "io/live.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fib.h"
#include "core/service.h"
#include "core/steer.h"
#include "io/afpacket.h"
#include "io/afxdp.h"
#include "io/netlink.h"
#include "daemon/evloop.h"

#define TICK_NS (100 * 1000 * 1000ull)
#define TICKS_PER_REFRESH 10
#define RX_ROUNDS 16          /* batches per socket per poll round: fairness */
#define RESOLVE_PER_SEC 64    /* kernel resolution requests, all causes */
#define MAX_RX_FDS 256        /* AF_XDP: one socket per interface and queue */
#define HAND_SLOTS 512        /* hand-off ring slots per worker */
#define HAND_BUF 4032         /* bytes per slot: headroom + the biggest frame */

/* A frame one worker hands to the worker that owns its connection
 * (core/steer.h): copied, because each worker's frames stay its own. */
struct hand_slot {
	uint16_t len, ifindex;
	uint8_t buf[HAND_BUF];
};

/* Many producers (the other workers, under .lock), one consumer (the
 * owner): head and tail only grow; the slots between them are full. */
struct hand_ring {
	uint32_t lock;
	uint32_t head __attribute__((aligned(64)));
	uint32_t tail __attribute__((aligned(64)));
	struct hand_slot slots[HAND_SLOTS];
};

struct worker {
	struct live *l;
	unsigned id;
	struct engine *e;
	pthread_t th;
	bool started;
	/* Reader side of the pause lock: held while a round runs. */
	pthread_mutex_t mu;
	int epfd, wake_fd;
	int sleeping;            /* in epoll_wait: producers must wake it */
	unsigned rx_idx[MAX_RX_FDS]; /* the backend's receive sockets this worker polls */
	unsigned n_rx;
	uint64_t next_expire;
	uint64_t last_no_neigh;
	struct hand_ring *in;    /* frames other workers handed to this one */
	struct live_worker_stats st;
	/* this round's batch, the frames it keeps and where the rest go */
	struct pkt pkts[ULVS_MAX_BATCH], mine[ULVS_MAX_BATCH];
	struct verdict v[ULVS_MAX_BATCH];
};

struct live {
	struct evloop *loop;
	struct engine *e;
	struct svc_table *t;
	struct fib *f;
	struct nl_ctx *nl;
	struct afp *afp;
	struct afxdp *axp;       /* set: AF_XDP is the backend, afp unused */
	const struct live_opts *o;
	uint64_t last_no_neigh;
	unsigned resolve_budget;
	bool nft_installed;
	bool nl_registered;
	struct ev_timer *tick;
	unsigned ticks;
	/* Workers: threads that own the packet path; the control thread
	 * stops them between rounds (pause) whenever it is awake in its
	 * event loop, except around slow work that touches nothing they use
	 * (ev_release), so everything it does to tables, fib and engines
	 * happens with no packet in flight. */
	struct worker *w;
	unsigned n_workers;
	uint8_t steer_warned4, steer_warned6;   /* steer_check */
	int writer;              /* the control thread wants or has the workers stopped */
	int stop;
	bool paused, startup_hold;
	pthread_mutex_t resolve_mu;
	uint64_t pause_max_ns, pause_total_ns, pauses;
	uint64_t pause_start;
};

__attribute__((format(printf, 2, 3)))
static void lg(const struct live *l, const char *fmt, ...)
{
	va_list ap;

	if (!l->o->log)
		return;
	va_start(ap, fmt);
	vfprintf(l->o->log, fmt, ap);
	va_end(ap);
	fputc('\n', l->o->log);
	fflush(l->o->log);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- nftables ------------------------------------------------------------- */

/* Runs `nft -f -` with text on its stdin; 0 or -errno, -ENOENT without
 * nft, -ECHILD when nft failed (its own diagnostics went to our stderr). */
static int nft_apply(const char *text)
{
	int pfd[2], r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	/* ev_start_child: no fork of a process holding the connection
	 * table; /usr/sbin/nft, else from PATH */
	char *argv[] = { "nft", "-f", "-", NULL };
	r = ev_start_child(&pid, "/usr/sbin/nft", argv, pfd[0], false);
	if (r == -ENOENT)
		r = ev_start_child(&pid, "nft", argv, pfd[0], false);
	close(pfd[0]);
	if (r < 0) {
		close(pfd[1]);
		return r;
	}
	size_t len = strlen(text), off = 0;
	struct sigaction old, ign = { .sa_handler = SIG_IGN };
	sigaction(SIGPIPE, &ign, &old);
	while (off < len) {
		ssize_t w = write(pfd[1], text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(pfd[1]);
	sigaction(SIGPIPE, &old, NULL);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static const char *ipkw(uint8_t af)
{
	return af == ULVS_AF_INET6 ? "ip6" : "ip";
}

static void nft_proto(FILE *m, uint8_t proto)
{
	if (proto)
		fprintf(m, " meta l4proto %u", proto);
	else
		fprintf(m, " meta l4proto { 6, 17, 132 }");
}

static bool svc_has_local_sorry(const struct svc_table *t, const struct svc *s)
{
	return s->sorry_dest >= 0 && t->dests[s->sorry_dest].fwd == FWD_LOCAL;
}

/* Does the director's own kernel serve this service now?  Only while its
 * sorry server is local and no real server is in service (the engine picks
 * the sorry server only then).  While a real server is, the kernel must not
 * see the service's packets: the AF_PACKET copy goes to the real server and
 * the kernel's local listener (or its RST) would answer the same SYN.
 * Health changes rebuild the ruleset (live_tables_changed), so the drop
 * rule follows the servers; overload is left out, it comes and goes with
 * connection counts and nothing rebuilds the rules then.  Connections the
 * local sorry server holds when a real server returns are cut, as are real
 * server connections when the last one leaves. */
static bool svc_kernel_serves(struct svc_table *t, const struct svc *s)
{
	if (!svc_has_local_sorry(t, s))
		return false;
	for (uint32_t k = 0; k < s->n_dests; k++) {
		const struct dest *d = svc_dest(t, s, k);
		if ((d->flags & DEST_F_AVAILABLE) && d->weight > 0)
			return false;
	}
	return true;
}

/* The ruleset text; NULL on ENOMEM.  *n_rules counts the drop rules. */
static char *nft_ruleset(const struct live *l, unsigned *n_rules)
{
	const struct svc_table *t = l->t;
	char *buf = NULL, a[64];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	*n_rules = 0;
	/* "add" then "delete" then create: one transaction that works
	 * whether or not a previous run left the table behind. */
	fprintf(m, "add table inet ulvs\ndelete table inet ulvs\n"
		   "table inet ulvs {\n"
		   "\tchain prerouting {\n"
		   "\t\ttype filter hook prerouting priority -300; policy accept;\n");
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		if (s->fwmark)
			continue;
		if (svc_kernel_serves(l->t, s)) {
			lg(l, "data plane: %s:%u visible to the kernel: no real server in service,"
			      " the local sorry server answers",
			   addr_format(s->af, &s->addr, a, sizeof(a)), ntohs(s->port));
			continue;
		}
		fprintf(m, "\t\t%s daddr %s", ipkw(s->af), addr_format(s->af, &s->addr, a, sizeof(a)));
		nft_proto(m, s->proto);
		if (s->port)
			fprintf(m, " th dport %u", ntohs(s->port));
		fprintf(m, " counter drop comment \"virtual service\"\n");
		(*n_rules)++;
		for (uint32_t j = 0; j < s->n_laddrs; j++) {
			const struct laddr *la = &s->laddrs[j];
			fprintf(m, "\t\t%s daddr %s meta l4proto { 6, 17 } th dport %u-%u"
				   " counter drop comment \"fullnat local address\"\n",
				ipkw(la->af), addr_format(la->af, &la->addr, a, sizeof(a)),
				ULVS_LPORT_MIN, ULVS_LPORT_MAX);
			(*n_rules)++;
		}
	}
	for (uint32_t i = 0; i < t->n_marks; i++) {
		const struct mark_rule *r = &t->marks[i];
		/* The seed's fwmark service with a local sorry server: the
		 * same rule as for ip:port services above. */
		bool kernel = false;
		for (uint32_t k = 0; k < t->n_svcs && !kernel; k++) {
			const struct svc *s = &t->svcs[k];
			kernel = s->fwmark == r->mark && s->af == r->af && svc_live(s) &&
				 svc_kernel_serves(l->t, s);
		}
		if (kernel) {
			lg(l, "data plane: fwmark %u visible to the kernel: no real server in "
			      "service, the local sorry server answers", r->mark);
			continue;
		}
		fprintf(m, "\t\t%s daddr %s/%u", ipkw(r->af),
			addr_format(r->af, &r->prefix, a, sizeof(a)), r->plen);
		nft_proto(m, r->proto);
		for (unsigned k = 0; k < r->n_ports && k < 8; k++)
			fprintf(m, "%s%u-%u", k ? ", " : " th dport { ", r->port_lo[k], r->port_hi[k]);
		fprintf(m, "%s counter drop comment \"fwmark rule\"\n", r->n_ports ? " }" : "");
		(*n_rules)++;
	}
	/* A real server shared by several services gets its rules once. */
	struct nat_key { uint8_t af, proto; uint16_t port; union ulvs_addr a; } *seen;
	unsigned n_seen = 0;
	seen = calloc(t->n_dests + 1, sizeof(*seen));
	if (!seen) {
		fclose(m);
		free(buf);
		return NULL;
	}
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		if (svc_kernel_serves(l->t, s))
			continue;
		for (uint32_t k = 0; k < s->n_dests + (s->sorry_dest >= 0); k++) {
			const struct dest *d = k < s->n_dests ? svc_dest(l->t, s, k)
							      : &t->dests[s->sorry_dest];
			if (d->fwd != FWD_NAT || n_seen > t->n_dests)
				continue;
			bool dup = false, icmp_done = false;
			for (unsigned j = 0; j < n_seen; j++) {
				if (seen[j].af != d->af || !addr_eq(&seen[j].a, &d->addr))
					continue;
				icmp_done = true;
				dup |= seen[j].proto == s->proto && seen[j].port == d->port;
			}
			if (dup)
				continue;
			seen[n_seen++] = (struct nat_key){ d->af, s->proto, d->port, d->addr };
			const char *ip = ipkw(d->af);
			addr_format(d->af, &d->addr, a, sizeof(a));
			fprintf(m, "\t\t%s saddr %s", ip, a);
			nft_proto(m, s->proto);
			if (d->port)
				fprintf(m, " th sport %u", ntohs(d->port));
			fprintf(m, " fib daddr type != local counter drop comment \"nat reply\"\n");
			(*n_rules)++;
			if (icmp_done)
				continue;
			/* ICMP errors about those flows, on their way to the
			 * client: the engine translates them. */
			fprintf(m, "\t\t%s saddr %s %s type { destination-unreachable, %s"
				   "time-exceeded, parameter-problem } fib daddr type != local"
				   " counter drop comment \"nat reply icmp\"\n",
				ip, a, d->af == ULVS_AF_INET6 ? "icmpv6" : "icmp",
				d->af == ULVS_AF_INET6 ? "packet-too-big, " : "");
			(*n_rules)++;
		}
	}
	free(seen);
	fprintf(m, "\t}\n}\n");
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* --- interfaces ----------------------------------------------------------- */

static void want_route(const struct live *l, bool *want, enum ulvs_af af, const union ulvs_addr *a)
{
	const struct fib_route *r = fib_find_route(l->f, af, a);

	if (r)
		want[r->iface] = true;
}

static void want_local(const struct live *l, bool *want, enum ulvs_af af, const union ulvs_addr *a)
{
	int id = nl_fib_iface(l->f, nl_addr_ifindex(l->nl, af, a));

	if (id >= 0)
		want[id] = true;
}

/* Receive on the interfaces packets for the engine can arrive on: where a
 * VIP or local address lives or is routed, toward the real servers, and
 * the default routes' (clients, and VIPs routed to us by a router).
 * Every other interface gets a transmit-only socket. */
static int open_ports(struct live *l, char *names, size_t names_len)
{
	bool want[ULVS_MAX_IFACES] = { false }, any = false;
	const struct svc_table *t = l->t;
	const struct fib *f = l->f;

	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		if (!s->fwmark) {
			want_local(l, want, s->af, &s->addr);
			want_route(l, want, s->af, &s->addr);
		}
		for (uint32_t j = 0; j < s->n_laddrs; j++) {
			want_local(l, want, s->laddrs[j].af, &s->laddrs[j].addr);
			want_route(l, want, s->laddrs[j].af, &s->laddrs[j].addr);
		}
		for (uint32_t k = 0; k < s->n_dests; k++) {
			const struct dest *d = svc_dest(l->t, s, k);
			if (d->fwd != FWD_LOCAL)
				want_route(l, want, d->af, &d->addr);
		}
	}
	for (uint32_t i = 0; i < t->n_marks; i++)
		want_route(l, want, t->marks[i].af, &t->marks[i].prefix);
	for (unsigned i = 0; i < f->n_routes; i++)
		if (f->routes[i].plen == 0)
			want[f->routes[i].iface] = true;
	for (unsigned i = 0; i < f->n_ifaces; i++)
		any |= want[i] && f->ifaces[i].os_ifindex;
	if (!any)
		for (unsigned i = 0; i < f->n_ifaces; i++)
			want[i] = true;

	size_t used = 0;
	names[0] = '\0';
	for (unsigned i = 0; i < f->n_ifaces; i++) {
		const struct fib_iface *fi = &f->ifaces[i];
		if (!fi->os_ifindex) {
			lg(l, "data plane: interface %s (from the config) does not exist here; "
			      "nothing is sent on it", fi->name);
			continue;
		}
		int r = l->axp ? afxdp_port_add(l->axp, (uint16_t)i, fi->os_ifindex, want[i])
			       : afp_port_add(l->afp, (uint16_t)i, fi->os_ifindex, want[i]);
		if (r < 0) {
			lg(l, "data plane: %s port on %s: %s", l->axp ? "AF_XDP" : "AF_PACKET",
			   fi->name, strerror(-r));
			return r;
		}
		if (want[i] && used + strlen(fi->name) + 3 < names_len)
			used += (size_t)snprintf(names + used, names_len - used, "%s%s",
						 used ? ", " : "", fi->name);
	}
	return 0;
}

/* --- neighbour resolution ------------------------------------------------- */

/* Asks the kernel for the next hop of dst when the fib has no MAC for it.
 * Returns true when a request went out. */
static bool resolve_dst(struct live *l, enum ulvs_af af, const union ulvs_addr *dst)
{
	const struct fib_route *r = fib_find_route(l->f, af, dst);

	if (!r || !l->resolve_budget)
		return false;
	const union ulvs_addr *nh = addr_is_zero(&r->gateway) ? dst : &r->gateway;
	if (fib_find_neigh(l->f, af, nh))
		return false;
	l->resolve_budget--;
	int e = nl_neigh_resolve(l->nl, af, nh, l->f->ifaces[r->iface].os_ifindex);
	if (e < 0 && l->o->verbose) {
		char b[64];
		lg(l, "data plane: resolving %s: %s", addr_format(af, nh, b, sizeof(b)), strerror(-e));
	}
	return e == 0;
}

static void resolve_dests(struct live *l)
{
	const struct svc_table *t = l->t;

	for (uint32_t i = 0; i < t->n_dests; i++) {
		const struct dest *d = &t->dests[i];
		if (d->fwd != FWD_LOCAL)
			resolve_dst(l, d->af, &d->addr);
	}
}

/* Destination address of a frame as the engine left it (after a rewrite
 * it is where the frame was going). */
static bool frame_daddr(const struct pkt *p, enum ulvs_af *af, union ulvs_addr *a)
{
	const uint8_t *d = p->data;
	uint32_t l3 = 14;

	if (p->len < 14)
		return false;
	if (p->len >= 18 && d[12] == 0x81 && d[13] == 0x00)
		l3 = 18;
	memset(a, 0, sizeof(*a));
	if (d[l3 - 2] == 0x08 && d[l3 - 1] == 0x00 && p->len >= l3 + 20) {
		*af = ULVS_AF_INET;
		memcpy(&a->ip, d + l3 + 16, 4);
		return true;
	}
	if (d[l3 - 2] == 0x86 && d[l3 - 1] == 0xdd && p->len >= l3 + 40) {
		*af = ULVS_AF_INET6;
		memcpy(a->b, d + l3 + 24, 16);
		return true;
	}
	return false;
}

/* A real server's MAC was missing in this batch: ask the kernel (workers
 * share the netlink socket and the budget, so one asks at a time; a busy
 * lock means another is asking, and the next batch tries again). */
static void after_batch(struct worker *w, struct pkt *pkts, const struct verdict *v, unsigned n)
{
	struct live *l = w->l;
	const struct engine_stats *st = engine_stats(w->e);

	if (st->drops[DROP_NO_NEIGH] == w->last_no_neigh)
		return;
	if (pthread_mutex_trylock(&l->resolve_mu) != 0)
		return;
	w->last_no_neigh = st->drops[DROP_NO_NEIGH];
	for (unsigned k = 0; k < n; k++) {
		enum ulvs_af af;
		union ulvs_addr a;
		if (v[k].kind == VERDICT_DROP && v[k].reason == DROP_NO_NEIGH &&
		    frame_daddr(&pkts[k], &af, &a) && !svc_owns_addr(l->t, af, &a))
			resolve_dst(l, af, &a);
	}
	pthread_mutex_unlock(&l->resolve_mu);
}

/* --- the loop ------------------------------------------------------------- */

static void log_stats_afxdp(const struct live *l, const char *when)
{
	const struct engine_stats *st = engine_stats_total(l->e);
	const struct afxdp_stats *xs = afxdp_stats(l->axp);

	lg(l, "data plane %s: rx %llu tx %llu pass %llu drop %llu conns %llu; "
	      "af_xdp rx %llu (%llu csum completed) tx %llu; xdp seen %llu owned: vip %llu "
	      "mark %llu laddr %llu nat_reply %llu icmp %llu frag %llu",
	   when, (unsigned long long)st->rx, (unsigned long long)st->tx,
	   (unsigned long long)st->pass, (unsigned long long)st->drop,
	   (unsigned long long)st->new_conns, (unsigned long long)xs->rx_pkts,
	   (unsigned long long)xs->rx_csum_completed, (unsigned long long)xs->tx_pkts,
	   (unsigned long long)xs->steer_seen, (unsigned long long)xs->steer_vip,
	   (unsigned long long)xs->steer_mark, (unsigned long long)xs->steer_laddr,
	   (unsigned long long)xs->steer_nat_reply, (unsigned long long)xs->steer_icmp,
	   (unsigned long long)xs->steer_frag);
	for (unsigned r = 1; r < DROP_REASON_MAX; r++)
		if (st->drops[r])
			lg(l, "  drop %s: %llu", drop_reason_name(r), (unsigned long long)st->drops[r]);
	const struct { const char *name; uint64_t v; } ad[] = {
		{ "afxdp_rx_pass_lost", xs->rx_pass_lost },
		{ "afxdp_tx_ring_full", xs->tx_drop_ring_full },
		{ "afxdp_tx_no_port", xs->tx_drop_no_port },
		{ "afxdp_tx_too_big", xs->tx_drop_too_big },
		{ "afxdp_tx_no_frame", xs->tx_drop_no_frame },
		{ "afxdp_tx_kick_err", xs->tx_kick_err },
		{ "afxdp_xdp_no_socket", xs->steer_no_xsk },
		{ "afxdp_kernel_rx_dropped", xs->k_rx_dropped },
		{ "afxdp_kernel_rx_ring_full", xs->k_rx_ring_full },
		{ "afxdp_kernel_fill_empty", xs->k_fill_empty },
		{ "afxdp_kernel_rx_invalid", xs->k_rx_invalid },
		{ "afxdp_kernel_tx_invalid", xs->k_tx_invalid },
	};
	for (unsigned i = 0; i < sizeof(ad) / sizeof(ad[0]); i++)
		if (ad[i].v)
			lg(l, "  drop %s: %llu", ad[i].name, (unsigned long long)ad[i].v);
}

static void log_stats(const struct live *l, const char *when)
{
	if (l->axp) {
		log_stats_afxdp(l, when);
		return;
	}
	const struct engine_stats *st = engine_stats_total(l->e);
	const struct afp_stats *as = afp_stats(l->afp);

	lg(l, "data plane %s: rx %llu tx %llu pass %llu drop %llu conns %llu; "
	      "afpacket rx %llu frames (%llu segmented, %llu csum completed) tx %llu",
	   when, (unsigned long long)st->rx, (unsigned long long)st->tx,
	   (unsigned long long)st->pass, (unsigned long long)st->drop,
	   (unsigned long long)st->new_conns, (unsigned long long)as->rx_frames,
	   (unsigned long long)as->rx_gso_frames, (unsigned long long)as->rx_csum_completed,
	   (unsigned long long)as->tx_pkts);
	for (unsigned r = 1; r < DROP_REASON_MAX; r++)
		if (st->drops[r])
			lg(l, "  drop %s: %llu", drop_reason_name(r), (unsigned long long)st->drops[r]);
	const struct { const char *name; uint64_t v; } ad[] = {
		{ "afpacket_rx_trunc", as->rx_drop_trunc },
		{ "afpacket_rx_gso_bad", as->rx_drop_gso_bad },
		{ "afpacket_rx_gso_type", as->rx_drop_gso_type },
		{ "afpacket_rx_csum_bad", as->rx_drop_csum_bad },
		{ "afpacket_tx_full", as->tx_drop_full },
		{ "afpacket_tx_too_big", as->tx_drop_too_big },
		{ "afpacket_tx_no_port", as->tx_drop_no_port },
		{ "afpacket_tx_other", as->tx_drop_other },
	};
	for (unsigned i = 0; i < sizeof(ad) / sizeof(ad[0]); i++)
		if (ad[i].v)
			lg(l, "  drop %s: %llu", ad[i].name, (unsigned long long)ad[i].v);
}

/* --- workers ------------------------------------------------------------- */

/* The pause lock, control side.  Each worker holds its own mutex while a
 * round runs; the control thread raises `writer` (so no worker starts
 * another round) and takes every mutex (waiting at most for the rounds in
 * flight).  Workers never wait on each other, and one worker's round costs
 * one uncontended lock.  Held whenever the control thread is awake in its
 * event loop (live_pause/live_resume as the loop's wait hooks), but for
 * what its callbacks do between ev_release and ev_reacquire. */
void live_pause(struct live *l)
{
	if (!l || l->paused)
		return;
	__atomic_store_n(&l->writer, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < l->n_workers; i++)
		pthread_mutex_lock(&l->w[i].mu);
	l->paused = true;
	l->pause_start = now_ns();
	/* Per-worker traffic counters into the table, for whoever reads it. */
	engine_fold_stats(l->e);
}

void live_resume(struct live *l)
{
	if (!l || !l->paused)
		return;
	uint64_t d = now_ns() - l->pause_start;
	/* The hold over start-up (workers_start) is not a pause of
	 * forwarding: nothing was forwarded yet. */
	if (!l->startup_hold) {
		l->pauses++;
		l->pause_total_ns += d;
		if (d > l->pause_max_ns)
			l->pause_max_ns = d;
	}
	l->startup_hold = false;
	l->paused = false;
	for (unsigned i = 0; i < l->n_workers; i++)
		pthread_mutex_unlock(&l->w[i].mu);
	__atomic_store_n(&l->writer, 0, __ATOMIC_SEQ_CST);
}

/* Worker side: false when the data plane is stopping. */
static bool worker_enter(struct worker *w)
{
	struct live *l = w->l;

	for (;;) {
		unsigned spins = 0;
		while (__atomic_load_n(&l->writer, __ATOMIC_SEQ_CST)) {
			if (__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST))
				return false;
			if (++spins < 64) {
				sched_yield();
			} else {
				struct timespec ts = { 0, 50 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		pthread_mutex_lock(&w->mu);
		if (!__atomic_load_n(&l->writer, __ATOMIC_SEQ_CST))
			break;
		pthread_mutex_unlock(&w->mu);
	}
	if (__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST)) {
		pthread_mutex_unlock(&w->mu);
		return false;
	}
	return true;
}

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		w->st.wake_errors++;
}

static bool hand_push(struct worker *to, const struct pkt *p)
{
	struct hand_ring *r = to->in;

	if (p->len > HAND_BUF - ULVS_HEADROOM)
		return false;
	while (__atomic_exchange_n(&r->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&r->lock, __ATOMIC_RELAXED))
			sched_yield();
	uint32_t head = r->head;
	bool ok = head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) < HAND_SLOTS;
	if (ok) {
		struct hand_slot *sl = &r->slots[head % HAND_SLOTS];
		memcpy(sl->buf + ULVS_HEADROOM, p->data, p->len);
		sl->len = (uint16_t)p->len;
		sl->ifindex = p->ifindex;
		__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
	return ok;
}

static unsigned be_rx(struct worker *w, unsigned i, struct pkt *pkts)
{
	struct live *l = w->l;

	return l->axp ? afxdp_rx(l->axp, w->id, i, pkts, ULVS_MAX_BATCH)
		      : afp_rx(l->afp, i, pkts, ULVS_MAX_BATCH);
}

static void be_tx(struct worker *w, struct pkt *pkts, const struct verdict *v, unsigned n)
{
	struct live *l = w->l;

	if (l->axp)
		afxdp_tx(l->axp, w->id, pkts, v, n);
	else
		afp_tx(l->afp, pkts, v, n);
}

/* One received batch: frames another worker owns go to it, the rest
 * through the engine and out. */
static void worker_batch(struct worker *w, unsigned n, uint64_t now)
{
	struct live *l = w->l;
	struct pkt *mine = w->pkts;
	unsigned m = n;
	bool woke[ULVS_MAX_WORKERS] = { false };

	w->st.rx += n;
	if (l->n_workers > 1) {
		const struct steer_cfg *steer = engine_steer(l->e);
		mine = w->mine;
		m = 0;
		for (unsigned k = 0; k < n; k++) {
			unsigned o = steer_frame(steer, l->t, &w->pkts[k], w->id);
			if (o == w->id || o >= l->n_workers) {
				mine[m++] = w->pkts[k];
				continue;
			}
			if (hand_push(&l->w[o], &w->pkts[k])) {
				w->st.handed_out++;
				woke[o] = true;
			} else {
				w->st.hand_drops++;
			}
		}
		for (unsigned o = 0; o < l->n_workers; o++)
			if (woke[o] && __atomic_load_n(&l->w[o].sleeping, __ATOMIC_SEQ_CST))
				wake(&l->w[o]);
	}
	engine_process(w->e, mine, w->v, m, now);
	/* Even with nothing kept: AF_XDP takes its frames back here. */
	be_tx(w, mine, w->v, m);
	after_batch(w, mine, w->v, m);
}

/* Frames other workers handed over, in batches, at most a ring's worth. */
static unsigned worker_drain(struct worker *w, uint64_t now)
{
	struct hand_ring *r = w->in;
	unsigned total = 0;

	while (total < HAND_SLOTS) {
		uint32_t tail = r->tail;
		uint32_t n = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) - tail;
		if (!n)
			break;
		if (n > ULVS_MAX_BATCH)
			n = ULVS_MAX_BATCH;
		for (uint32_t k = 0; k < n; k++) {
			struct hand_slot *sl = &r->slots[(tail + k) % HAND_SLOTS];
			w->pkts[k] = (struct pkt){ .buf = sl->buf, .data = sl->buf + ULVS_HEADROOM,
						   .len = sl->len, .buf_size = HAND_BUF,
						   .ifindex = sl->ifindex };
		}
		engine_process(w->e, w->pkts, w->v, n, now);
		be_tx(w, w->pkts, w->v, n);
		after_batch(w, w->pkts, w->v, n);
		__atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
		w->st.handed_in += n;
		total += n;
	}
	return total;
}

static unsigned worker_round(struct worker *w)
{
	uint64_t now = now_ns();
	unsigned got = 0;

	for (unsigned i = 0; i < w->n_rx; i++)
		for (unsigned round = 0; round < RX_ROUNDS; round++) {
			unsigned n = be_rx(w, w->rx_idx[i], w->pkts);
			if (!n)
				break;
			got += n;
			worker_batch(w, n, now);
		}
	if (w->in)
		got += worker_drain(w, now);
	if (now >= w->next_expire) {
		/* No packets: the engine still has connections to expire,
		 * in bounded slices. */
		engine_process(w->e, w->pkts, w->v, 0, now);
		w->next_expire = now + TICK_NS;
	}
	w->st.rounds++;
	return got;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[16];

	while (worker_enter(w)) {
		unsigned got = worker_round(w);
		pthread_mutex_unlock(&w->mu);
		if (got)
			continue;
		/* Idle: sleep until a frame, a hand-off or the next expiry. */
		__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
		if (w->in && __atomic_load_n(&w->in->head, __ATOMIC_SEQ_CST) != w->in->tail) {
			__atomic_store_n(&w->sleeping, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		w->st.sleeps++;
		int n = epoll_wait(w->epfd, evs, 16, (int)(TICK_NS / 1000000));
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_SEQ_CST);
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == w->wake_fd) {
				uint64_t v;
				if (read(w->wake_fd, &v, sizeof(v)) < 0)
					w->st.wake_errors++;
			}
	}
	return NULL;
}

/* Threads, engines and rings for n workers; the workers start paused
 * (the control thread holds them until its loop first sleeps). */
static int workers_start(struct live *l, unsigned n)
{
	int r;

	l->w = calloc(n, sizeof(*l->w));
	if (!l->w)
		return -ENOMEM;
	l->n_workers = n;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &l->w[i];
		*w = (struct worker){ .l = l, .id = i, .epfd = -1, .wake_fd = -1 };
		pthread_mutex_init(&w->mu, NULL);
	}
	/* Paused from the start: no worker runs a round before the control
	 * thread is done setting up and waits in its loop. */
	live_pause(l);
	l->startup_hold = true;
	r = engine_set_worker(l->e, 0, n);
	if (r == 0)
		r = engine_group_join(l->e, l->e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &l->w[i];
		if (i == 0) {
			w->e = l->e;
		} else {
			w->e = engine_new(engine_get_params(l->e), l->f, l->t, now_ns());
			if (!w->e)
				return -ENOMEM;
			engine_set_timeouts(w->e, conn_table_timeouts(engine_conns(l->e)));
			if ((r = engine_set_worker(w->e, i, n)) < 0 ||
			    (r = engine_group_join(l->e, w->e)) < 0) {
				engine_free(w->e);
				w->e = NULL;
				return r;
			}
		}
		if (n > 1) {
			w->in = calloc(1, sizeof(*w->in));
			if (!w->in)
				return -ENOMEM;
		}
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->wake_fd < 0)
			return -errno;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->wake_fd };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0)
			return -errno;
		unsigned n_rx = l->axp ? afxdp_n_rx(l->axp, i) : i == 0 ? afp_n_ports(l->afp) : 0;
		for (unsigned k = 0; k < n_rx && w->n_rx < MAX_RX_FDS; k++) {
			int fd = l->axp ? afxdp_rx_fd(l->axp, i, k) : afp_port_rx_fd(l->afp, k);
			if (fd < 0)
				continue;
			ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
				return -errno;
			/* be_rx() takes the backend's index: AF_XDP's worker-local
			 * socket number or AF_PACKET's port. */
			w->rx_idx[w->n_rx++] = k;
		}
	}
	/* Signals are the control thread's (signalfd): none for workers. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = 0;
	for (unsigned i = 0; i < n && r == 0; i++) {
		/* --cpus: the thread starts on its CPU (pthread_attr), never
		 * elsewhere first. */
		pthread_attr_t at;
		pthread_attr_init(&at);
		l->w[i].st.cpu = -1;
		if (l->o->n_cpus) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(l->o->cpus[i % l->o->n_cpus], &set);
			r = -pthread_attr_setaffinity_np(&at, sizeof(set), &set);
			l->w[i].st.cpu = l->o->cpus[i % l->o->n_cpus];
		}
		if (r == 0)
			r = -pthread_create(&l->w[i].th, &at, worker_main, &l->w[i]);
		pthread_attr_destroy(&at);
		if (r == 0) {
			l->w[i].started = true;
			char name[16];
			snprintf(name, sizeof(name), "ulvs-dp%u", i & 0xffu);
			pthread_setname_np(l->w[i].th, name);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void workers_stop(struct live *l)
{
	if (!l->w)
		return;
	__atomic_store_n(&l->stop, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < l->n_workers; i++)
		if (l->w[i].wake_fd >= 0)
			wake(&l->w[i]);
	/* Let them out of the pause to see the stop. */
	live_resume(l);
	for (unsigned i = 0; i < l->n_workers; i++)
		if (l->w[i].started)
			pthread_join(l->w[i].th, NULL);
	/* The leader keeps its own connections; the others' go with them. */
	engine_fold_stats(l->e);
	engine_group_reset(l->e);
	for (unsigned i = 0; i < l->n_workers; i++) {
		struct worker *w = &l->w[i];
		if (i > 0)
			engine_free(w->e);
		free(w->in);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		pthread_mutex_destroy(&w->mu);
	}
	free(l->w);
	l->w = NULL;
	l->n_workers = 0;
}

unsigned live_n_workers(const struct live *l)
{
	return l ? l->n_workers : 0;
}

const struct live_worker_stats *live_worker_stats(const struct live *l, unsigned i)
{
	return l && i < l->n_workers ? &l->w[i].st : NULL;
}

void live_pause_stats(const struct live *l, uint64_t *n, uint64_t *total_ns, uint64_t *max_ns)
{
	*n = l ? l->pauses : 0;
	*total_ns = l ? l->pause_total_ns : 0;
	*max_ns = l ? l->pause_max_ns : 0;
}

static void nl_cb(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct live *l = arg;
	int c = nl_events(l->nl, l->f);
	if (c < 0)
		lg(l, "data plane: neighbour notifications: %s", strerror(-c));
}

static void tick_cb(struct evloop *loop, void *arg)
{
	struct live *l = arg;

	if (++l->ticks >= TICKS_PER_REFRESH) {
		l->ticks = 0;
		/* The slow part (a neighbour dump, resolution requests, the
		 * director's addresses for the XDP maps: 0.2-0.4 ms of system
		 * calls) only reads the fib and the service table, which no
		 * worker writes, so the workers run meanwhile; only the
		 * neighbour changes it found wait for them to stop.  The
		 * netlink socket and the budget are shared with workers
		 * asking for a missing MAC (after_batch). */
		ev_release(loop);
		pthread_mutex_lock(&l->resolve_mu);
		l->resolve_budget = RESOLVE_PER_SEC;
		int c = nl_neigh_collect(l->nl, l->f);
		resolve_dests(l);
		pthread_mutex_unlock(&l->resolve_mu);
		/* The XDP maps follow table reloads and the director's
		 * addresses (VRRP adds and removes them). */
		int x = l->axp ? afxdp_sync(l->axp, engine_services(l->e)) : 0;
		ev_reacquire(loop);
		if (c > 0)
			nl_neigh_apply(l->nl, l->f);
		else if (c < 0)
			lg(l, "data plane: neighbour refresh: %s", strerror(-c));
		if (x < 0)
			lg(l, "data plane: AF_XDP map update: %s", strerror(-x));
	}
	l->tick = ev_timer_add(loop, TICK_NS / 1000000, tick_cb, l);
}

/* AF_XDP on the interfaces open_ports() picks; 0, or -errno with why
 * filled and nothing left behind. */
static int start_afxdp(struct live *l, unsigned *n_workers, char *names, size_t names_len,
		       char *why, size_t why_len)
{
	const char *no = afxdp_unsupported(l->t);
	int r;

	if (no) {
		snprintf(why, why_len, "%s", no);
		return -EOPNOTSUPP;
	}
	l->axp = afxdp_new(l->o->log);
	if (!l->axp) {
		snprintf(why, why_len, "%s", strerror(errno));
		return -ENOMEM;
	}
	r = open_ports(l, names, names_len);
	if (r < 0) {
		snprintf(why, why_len, "interfaces: %s", strerror(-r));
	} else {
		/* One worker per receive queue at most: a worker owns whole
		 * queues and needs a queue of its own on every interface. */
		unsigned q = afxdp_max_workers(l->axp);
		if (*n_workers > q && (l->o->workers || l->o->n_cpus)) {
			lg(l, "data plane: %u workers asked, the interfaces have %u queue%s: "
			      "%u worker%s", *n_workers, q, q == 1 ? "" : "s", q, q == 1 ? "" : "s");
		}
		if (*n_workers > q)
			*n_workers = q;
		r = afxdp_set_workers(l->axp, *n_workers);
		if (r == 0)
			r = afxdp_start(l->axp, l->t, why, why_len);
	}
	if (r < 0) {
		afxdp_free(l->axp);
		l->axp = NULL;
	}
	return r;
}

struct live *live_start(struct evloop *loop, struct engine *e, struct svc_table *t,
			struct fib *f, const struct live_opts *o)
{
	struct live *l = calloc(1, sizeof(*l));
	const char *backend = o->backend ? o->backend : "auto";
	char names[256];
	int r;

	if (!l)
		return NULL;
	*l = (struct live){ .loop = loop, .e = e, .t = t, .f = f, .o = o,
			    .resolve_budget = RESOLVE_PER_SEC };
	if (strcmp(backend, "auto") != 0 && strcmp(backend, "afpacket") != 0 &&
	    strcmp(backend, "afxdp") != 0) {
		lg(l, "data plane: unknown backend '%s' (auto, afxdp, afpacket)", backend);
		goto fail;
	}
	l->nl = nl_open(o->log);
	if (!l->nl) {
		lg(l, "data plane: netlink: %s", strerror(errno));
		goto fail;
	}
	r = nl_fib_fill(l->nl, f, t);
	if (r < 0) {
		lg(l, "data plane: reading interfaces, routes and neighbours: %s", strerror(-r));
		goto fail;
	}
	for (unsigned i = 0; i < f->n_ifaces; i++) {
		const struct fib_iface *fi = &f->ifaces[i];
		char a4[64] = "-";
		if (fi->has_addr4)
			addr_format(ULVS_AF_INET, &fi->addr4, a4, sizeof(a4));
		lg(l, "data plane: interface %u %s ifindex %u mac %02x:%02x:%02x:%02x:%02x:%02x"
		      " mtu %u addr %s", i, fi->name, fi->os_ifindex, fi->mac.b[0], fi->mac.b[1],
		   fi->mac.b[2], fi->mac.b[3], fi->mac.b[4], fi->mac.b[5], fi->mtu, a4);
	}
	lg(l, "data plane: %u routes, %u neighbours from the kernel and the config",
	   f->n_routes, f->n_neighs);
	/* The engine was created before the kernel's view was read in; it reads
	 * the fib through its pointer, so tell it the fib changed. */
	engine_set_fib(e, f);

	unsigned n_workers = o->workers ? o->workers : o->n_cpus;
	if (!n_workers) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n_workers = c > 0 ? (unsigned)c : 1;
	}
	if (n_workers > ULVS_MAX_WORKERS)
		n_workers = ULVS_MAX_WORKERS;
	if (strcmp(backend, "afpacket") != 0) {
		char why[256] = "";
		r = start_afxdp(l, &n_workers, names, sizeof(names), why, sizeof(why));
		if (r == 0) {
			lg(l, "data plane: backend AF_XDP (%s) on %s: %s; XDP program attached alone "
			      "with bpf_xdp_attach (libxdp's multi-program dispatcher needs freplace, "
			      "which this kernel may refuse); no nftables rules needed",
			   afxdp_copy_mode(l->axp) ? "copy mode" : "zero-copy", names,
			   afxdp_describe(l->axp));
			goto registered;
		}
		if (strcmp(backend, "afxdp") == 0) {
			lg(l, "data plane: --backend afxdp: AF_XDP unavailable: %s", why);
			goto fail;
		}
		lg(l, "data plane: AF_XDP unavailable (%s); falling back to AF_PACKET", why);
	}
	if (n_workers > 1 && o->workers > 1)
		lg(l, "data plane: the AF_PACKET backend runs one worker");
	n_workers = 1;
	l->afp = afp_new(o->log);
	if (!l->afp) {
		lg(l, "data plane: %s", strerror(errno));
		goto fail;
	}
	if (open_ports(l, names, sizeof(names)) < 0)
		goto fail;

	unsigned n_rules;
	char *rules = nft_ruleset(l, &n_rules);
	if (!rules) {
		lg(l, "data plane: out of memory");
		goto fail;
	}
	r = nft_apply(rules);
	free(rules);
	if (r < 0) {
		lg(l, "data plane: installing nftables table inet ulvs failed (%s); without it the "
		      "kernel answers packets the engine owns (RST to VIP ports), so not starting%s",
		   r == -ECHILD ? "nft reported an error" : strerror(-r),
		   r == -ENOENT ? " (install nftables)" : "");
		goto fail;
	}
	l->nft_installed = true;
	lg(l, "data plane: backend AF_PACKET on %s; nftables table inet ulvs: %u drop rules",
	   names, n_rules);

registered:;
	r = workers_start(l, n_workers);
	if (r < 0) {
		lg(l, "data plane: starting %u workers: %s", n_workers, strerror(-r));
		goto fail;
	}
	char pins[256] = "not pinned";
	for (unsigned i = 0; o->n_cpus && i < n_workers; i++) {
		size_t at = i ? strlen(pins) : 0;
		snprintf(pins + at, sizeof(pins) - at, "%s%u", i ? "," : "on CPUs ",
			 o->cpus[i % o->n_cpus]);
	}
	lg(l, "data plane: %u worker%s (%s; %s)", n_workers, n_workers == 1 ? "" : "s",
	   n_workers == 1 ? "one thread owns every queue"
			  : "receive queue q is served by worker q mod workers; a frame another "
			    "worker owns is handed to it", pins);
	r = ev_fd_add(loop, nl_event_fd(l->nl), EV_READ, nl_cb, l);
	if (r < 0) {
		lg(l, "data plane: event loop: %s", strerror(-r));
		goto fail;
	}
	l->nl_registered = true;
	l->tick = ev_timer_add(loop, TICK_NS / 1000000, tick_cb, l);
	if (!l->tick)
		goto fail;
	resolve_dests(l);
	return l;
fail:
	live_stop(l);
	return NULL;
}

/* Persistence granularity decided at start which part of a client's
 * address picks its worker (steer.h, engine_steer()).  It stays what it
 * was: coarsening it would move clients to other workers, whose tables do
 * not hold their connections.  A persistent service now coarser than the
 * prefix gets a template per worker for each client network (its clients
 * may reach different real servers through different workers) until a
 * restart; say so once per change. */
static void steer_check(struct live *l)
{
	const struct steer_cfg *have = engine_steer(l->e);
	struct steer_cfg want;

	steer_cfg_init(&want, l->t, l->n_workers);
	bool v4 = want.plen4 < have->plen4, v6 = want.plen6 < have->plen6;
	if ((v4 && want.plen4 != l->steer_warned4) || (v6 && want.plen6 != l->steer_warned6))
		lg(l, "data plane: persistence granularity /%u is coarser than the workers' "
		      "steering prefix /%u, kept so that no client moves away from its "
		      "connections; until ulvsd restarts, persistence holds per worker",
		   v4 ? want.plen4 : want.plen6, v4 ? have->plen4 : have->plen6);
	l->steer_warned4 = v4 ? want.plen4 : 0;
	l->steer_warned6 = v6 ? want.plen6 : 0;
}

void live_tables_changed(struct live *l)
{
	int r;

	if (!l)
		return;
	if (l->n_workers > 1)
		steer_check(l);
	if (l->axp) {
		r = afxdp_sync(l->axp, engine_services(l->e));
		if (r < 0)
			lg(l, "data plane: updating the XDP steering maps: %s", strerror(-r));
		return;
	}
	if (l->nft_installed) {
		/* One nft transaction replaces the table: never a moment where the
		 * kernel could answer a packet the engine owns. */
		unsigned n_rules;
		char *rules = nft_ruleset(l, &n_rules);
		r = rules ? nft_apply(rules) : -ENOMEM;
		free(rules);
		if (r < 0)
			lg(l, "data plane: updating nftables table inet ulvs failed (%s)",
			   r == -ECHILD ? "nft reported an error" : strerror(-r));
		else
			lg(l, "data plane: nftables table inet ulvs: %u drop rules", n_rules);
	}
}

const char *live_backend_name(const struct live *l)
{
	return !l ? "none" : l->axp ? "afxdp" : "afpacket";
}

void live_stop(struct live *l)
{
	int r;

	if (!l)
		return;
	live_pause(l);
	if (l->afp || l->axp)
		log_stats(l, "stopped");
	workers_stop(l);
	if (l->nl_registered)
		ev_fd_del(l->loop, nl_event_fd(l->nl));
	if (l->tick)
		ev_timer_cancel(l->loop, l->tick);
	if (l->nft_installed) {
		r = nft_apply("delete table inet ulvs\n");
		if (r < 0)
			lg(l, "data plane: removing nftables table inet ulvs failed; "
			      "`nft delete table inet ulvs` does it by hand");
	}
	afp_free(l->afp);
	afxdp_free(l->axp);
	nl_close(l->nl);
	free(l);
}
