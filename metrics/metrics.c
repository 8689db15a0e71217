/* Prometheus endpoint (see metrics.h): rendering, the rate estimator and a
 * minimal HTTP/1.0 server on the event loop.
 *
 * The server answers one request per connection (HTTP/1.0, Connection:
 * close), which is all Prometheus and curl need, and is small enough to
 * audit: requests are capped at 4 KiB and 10 s, at most 32 clients at once,
 * every socket non-blocking, the response rendered whole and written as the
 * socket accepts it.  Rendering walks the tables on the control thread,
 * where the current single worker's counters live, so reads are exact.
 */
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/engine.h"
#include "core/packet.h"
#include "core/service.h"
#include "daemon/evloop.h"

#define METRICS_MAX_PRODUCERS 32
#define METRICS_MAX_CLIENTS 32
#define METRICS_REQ_MAX 4096
#define METRICS_CLIENT_TIMEOUT_MS 10000
#define METRICS_EST_PERIOD_MS 2000

/* --- output buffer ---------------------------------------------------------- */

struct metrics_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void out_reserve(struct metrics_out *o, size_t n)
{
	size_t cap;
	char *b;

	if (o->oom || o->len + n + 1 <= o->cap)
		return;
	cap = o->cap ? o->cap : 16384;
	while (cap < o->len + n + 1)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (!b) {
		o->oom = true;
		return;
	}
	o->buf = b;
	o->cap = cap;
}

static void out_printf(struct metrics_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_reserve(o, (size_t)n);
	if (o->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

static void out_putc(struct metrics_out *o, char c)
{
	out_reserve(o, 1);
	if (o->oom)
		return;
	o->buf[o->len++] = c;
	o->buf[o->len] = '\0';
}

/* Exposition format 0.0.4: label values escape \, " and newline; HELP text
 * escapes \ and newline. */
static void out_escaped(struct metrics_out *o, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			out_printf(o, "\\\\");
		else if (*s == '\n')
			out_printf(o, "\\n");
		else if (*s == '"' && quote)
			out_printf(o, "\\\"");
		else
			out_putc(o, *s);
	}
}

void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s ", name);
	out_escaped(o, help, false);
	out_printf(o, "\n# TYPE %s %s\n", name, type);
}

static void out_value(struct metrics_out *o, double v)
{
	if (isnan(v))
		out_printf(o, " NaN\n");
	else if (isinf(v))
		out_printf(o, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		out_printf(o, " %.0f\n", v);
	else
		out_printf(o, " %.17g\n", v);
}

static void sample_v(struct metrics_out *o, const char *name, double value, va_list ap)
{
	const char *k;
	bool first = true;

	out_printf(o, "%s", name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		out_printf(o, "%s%s=\"", first ? "{" : ",", k);
		out_escaped(o, v ? v : "", true);
		out_putc(o, '"');
		first = false;
	}
	if (!first)
		out_putc(o, '}');
	out_value(o, value);
}

void metrics_sample(struct metrics_out *o, const char *name, double value, ...)
{
	va_list ap;

	va_start(ap, value);
	sample_v(o, name, value, ap);
	va_end(ap);
}

/* --- registry ------------------------------------------------------------- */

struct producer {
	char name[32];
	metrics_cb cb;
	void *arg;
};

static struct producer producers[METRICS_MAX_PRODUCERS];
static unsigned n_producers;

int metrics_register(const char *name, metrics_cb cb, void *arg)
{
	if (!name || !*name || strlen(name) >= sizeof(producers[0].name) || !cb)
		return -EINVAL;
	for (unsigned i = 0; i < n_producers; i++)
		if (!strcmp(producers[i].name, name))
			return -EEXIST;
	if (n_producers == METRICS_MAX_PRODUCERS)
		return -ENOSPC;
	snprintf(producers[n_producers].name, sizeof(producers[0].name), "%s", name);
	producers[n_producers].cb = cb;
	producers[n_producers].arg = arg;
	n_producers++;
	return 0;
}

int metrics_unregister(const char *name)
{
	for (unsigned i = 0; i < n_producers; i++)
		if (!strcmp(producers[i].name, name)) {
			memmove(&producers[i], &producers[i + 1],
				(n_producers - i - 1) * sizeof(producers[0]));
			n_producers--;
			return 0;
		}
	return -ENOENT;
}

/* --- rate estimator (ip_vs_est.c) ------------------------------------------ */

enum { R_CONNS, R_INPKTS, R_OUTPKTS, R_INBYTES, R_OUTBYTES, R_MAX };

struct est {
	uint64_t last[R_MAX];
	double avg[R_MAX];           /* per second */
	bool primed;
};

struct http_client;

struct metrics {
	struct evloop *l;
	struct engine *e;
	struct metrics_opts o;
	char backend[32];
	int fd;
	uint16_t port;
	struct http_client *clients[METRICS_MAX_CLIENTS];
	struct est *svc_est, *dest_est;
	uint32_t n_svc_est, n_dest_est;
	struct ev_timer *est_t;
	uint64_t est_last_ns;
	uint64_t scrapes;
};

static void est_update(struct est *e, const uint64_t now[R_MAX], double secs)
{
	for (int i = 0; i < R_MAX; i++) {
		double rate = secs > 0 ? (double)(now[i] - e->last[i]) / secs : 0;
		/* IPVS: avg += (rate - avg) / 4 every 2 s */
		if (e->primed)
			e->avg[i] += (rate - e->avg[i]) / 4;
		e->last[i] = now[i];
	}
	e->primed = true;
}

/* Entries for services and real servers that appear after the first sample
 * start from zero counters (ids are new), so they count from the start. */
static bool est_grow(struct est **v, uint32_t *n, uint32_t want)
{
	struct est *nv;

	if (want <= *n)
		return true;
	nv = realloc(*v, want * sizeof(**v));
	if (!nv)
		return false;
	memset(nv + *n, 0, (want - *n) * sizeof(**v));
	for (uint32_t i = *n; i < want; i++)
		nv[i].primed = true;
	*v = nv;
	*n = want;
	return true;
}

/* One sample of every counter; secs 0 only records (the first, at start,
 * so that traffic before metrics started is not read as a burst). */
static void est_sample(struct metrics *m, double secs)
{
	struct svc_table *t = engine_services(m->e);

	if (!t || !est_grow(&m->svc_est, &m->n_svc_est, t->n_svcs) ||
	    !est_grow(&m->dest_est, &m->n_dest_est, t->n_dests))
		return;
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc_stats *s = &t->svcs[i].stats;
		uint64_t v[R_MAX] = { s->conns, s->inpkts, s->outpkts, s->inbytes, s->outbytes };
		if (!secs)
			m->svc_est[i].primed = false;
		est_update(&m->svc_est[i], v, secs);
	}
	for (uint32_t i = 0; i < t->n_dests; i++) {
		const struct dest_stats *s = &t->dests[i].stats;
		uint64_t v[R_MAX] = { s->conns, s->inpkts, s->outpkts, s->inbytes, s->outbytes };
		if (!secs)
			m->dest_est[i].primed = false;
		est_update(&m->dest_est[i], v, secs);
	}
}

static void est_cb(struct evloop *l, void *arg)
{
	struct metrics *m = arg;
	uint64_t now = ev_now_ns(l);
	double secs = (double)(now - m->est_last_ns) / 1e9;

	m->est_t = ev_timer_add(l, METRICS_EST_PERIOD_MS, est_cb, m);
	m->est_last_ns = now;
	est_sample(m, secs > 0 ? secs : 1e-9);
}

/* --- rendering ------------------------------------------------------------ */

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP_ ? "TCP" : p == IPPROTO_UDP_ ? "UDP" : "IP";
}

static void fmt_hostport(char *buf, size_t n, uint8_t af, const union ulvs_addr *a, uint16_t port)
{
	char ab[64];

	addr_format((enum ulvs_af)af, a, ab, sizeof(ab));
	snprintf(buf, n, af == ULVS_AF_INET6 ? "[%s]:%u" : "%s:%u", ab, ntohs(port));
}

/* ipvsadm's way of naming a service: "TCP 10.0.0.1:80", "FWM 5". */
static void fmt_service(char *buf, size_t n, const struct svc *s)
{
	char hp[80];

	if (s->fwmark) {
		snprintf(buf, n, "FWM %u", s->fwmark);
		return;
	}
	fmt_hostport(hp, sizeof(hp), s->af, &s->addr, s->port);
	snprintf(buf, n, "%s %s", proto_name(s->proto), hp);
}

struct fam {
	const char *name, *type, *help;
};

static const struct fam svc_fams[] = {
	{ "ulvs_service_connections_total", "counter", "Connections scheduled by the virtual service." },
	{ "ulvs_service_active_connections", "gauge", "Established connections of the service (sum over its real servers)." },
	{ "ulvs_service_inactive_connections", "gauge", "Connections of the service in any other state." },
	{ "ulvs_service_packets_total", "counter", "Packets of the service by direction (in: from clients, out: replies)." },
	{ "ulvs_service_bytes_total", "counter", "Bytes of the service by direction, IP headers included." },
	{ "ulvs_service_connection_rate", "gauge", "New connections per second (2 s samples, IPVS estimator)." },
	{ "ulvs_service_packet_rate", "gauge", "Packets per second by direction (IPVS estimator)." },
	{ "ulvs_service_byte_rate", "gauge", "Bytes per second by direction (IPVS estimator)." },
};

static const struct fam dest_fams[] = {
	{ "ulvs_realserver_connections_total", "counter", "Connections scheduled to the real server." },
	{ "ulvs_realserver_active_connections", "gauge", "Established connections (ipvsadm ActiveConn)." },
	{ "ulvs_realserver_inactive_connections", "gauge", "Connections in other states (ipvsadm InActConn)." },
	{ "ulvs_realserver_persistent_connections", "gauge", "Persistence templates pointing at the real server." },
	{ "ulvs_realserver_packets_total", "counter", "Packets by direction." },
	{ "ulvs_realserver_bytes_total", "counter", "Bytes by direction, IP headers included." },
	{ "ulvs_realserver_connection_rate", "gauge", "New connections per second (IPVS estimator)." },
	{ "ulvs_realserver_packet_rate", "gauge", "Packets per second by direction (IPVS estimator)." },
	{ "ulvs_realserver_byte_rate", "gauge", "Bytes per second by direction (IPVS estimator)." },
	{ "ulvs_realserver_weight", "gauge", "Current scheduling weight (0: quiesced)." },
	{ "ulvs_realserver_up", "gauge", "1 when the real server is in service (health checks pass)." },
};

static void render_services(struct metrics *m, struct metrics_out *o)
{
	struct svc_table *t = engine_services(m->e);
	char sn[96], dn[80];

	for (size_t f = 0; f < sizeof(svc_fams) / sizeof(svc_fams[0]); f++) {
		metrics_family(o, svc_fams[f].name, svc_fams[f].type, svc_fams[f].help);
		for (uint32_t i = 0; t && i < t->n_svcs; i++) {
			const struct svc *s = &t->svcs[i];
			const struct est *e = i < m->n_svc_est ? &m->svc_est[i] : NULL;
			uint64_t act = 0, inact = 0;

			if (!svc_live(s))
				continue; /* deleted by ulvsadm, draining */

			fmt_service(sn, sizeof(sn), s);
			for (uint32_t k = 0; k < s->n_dests; k++) {
				const struct dest *d = &t->dests[s->dests[k]];
				act += d->activeconns;
				inact += d->inactconns;
			}
			switch (f) {
			case 0: metrics_sample(o, svc_fams[f].name, (double)s->stats.conns, "service", sn, NULL); break;
			case 1: metrics_sample(o, svc_fams[f].name, (double)act, "service", sn, NULL); break;
			case 2: metrics_sample(o, svc_fams[f].name, (double)inact, "service", sn, NULL); break;
			case 3:
				metrics_sample(o, svc_fams[f].name, (double)s->stats.inpkts, "service", sn, "direction", "in", NULL);
				metrics_sample(o, svc_fams[f].name, (double)s->stats.outpkts, "service", sn, "direction", "out", NULL);
				break;
			case 4:
				metrics_sample(o, svc_fams[f].name, (double)s->stats.inbytes, "service", sn, "direction", "in", NULL);
				metrics_sample(o, svc_fams[f].name, (double)s->stats.outbytes, "service", sn, "direction", "out", NULL);
				break;
			case 5: metrics_sample(o, svc_fams[f].name, e ? e->avg[R_CONNS] : 0, "service", sn, NULL); break;
			case 6:
				metrics_sample(o, svc_fams[f].name, e ? e->avg[R_INPKTS] : 0, "service", sn, "direction", "in", NULL);
				metrics_sample(o, svc_fams[f].name, e ? e->avg[R_OUTPKTS] : 0, "service", sn, "direction", "out", NULL);
				break;
			default:
				metrics_sample(o, svc_fams[f].name, e ? e->avg[R_INBYTES] : 0, "service", sn, "direction", "in", NULL);
				metrics_sample(o, svc_fams[f].name, e ? e->avg[R_OUTBYTES] : 0, "service", sn, "direction", "out", NULL);
				break;
			}
		}
	}
	for (size_t f = 0; f < sizeof(dest_fams) / sizeof(dest_fams[0]); f++) {
		metrics_family(o, dest_fams[f].name, dest_fams[f].type, dest_fams[f].help);
		for (uint32_t i = 0; t && i < t->n_svcs; i++) {
			const struct svc *s = &t->svcs[i];

			if (!svc_live(s))
				continue;
			fmt_service(sn, sizeof(sn), s);
			for (uint32_t k = 0; k < s->n_dests; k++) {
				uint32_t id = s->dests[k];
				const struct dest *d = &t->dests[id];
				const struct est *e = id < m->n_dest_est ? &m->dest_est[id] : NULL;
				const char *nm = dest_fams[f].name;

				fmt_hostport(dn, sizeof(dn), d->af, &d->addr, d->port);
				switch (f) {
				case 0: metrics_sample(o, nm, (double)d->stats.conns, "service", sn, "server", dn, NULL); break;
				case 1: metrics_sample(o, nm, d->activeconns, "service", sn, "server", dn, NULL); break;
				case 2: metrics_sample(o, nm, d->inactconns, "service", sn, "server", dn, NULL); break;
				case 3: metrics_sample(o, nm, d->persistconns, "service", sn, "server", dn, NULL); break;
				case 4:
					metrics_sample(o, nm, (double)d->stats.inpkts, "service", sn, "server", dn, "direction", "in", NULL);
					metrics_sample(o, nm, (double)d->stats.outpkts, "service", sn, "server", dn, "direction", "out", NULL);
					break;
				case 5:
					metrics_sample(o, nm, (double)d->stats.inbytes, "service", sn, "server", dn, "direction", "in", NULL);
					metrics_sample(o, nm, (double)d->stats.outbytes, "service", sn, "server", dn, "direction", "out", NULL);
					break;
				case 6: metrics_sample(o, nm, e ? e->avg[R_CONNS] : 0, "service", sn, "server", dn, NULL); break;
				case 7:
					metrics_sample(o, nm, e ? e->avg[R_INPKTS] : 0, "service", sn, "server", dn, "direction", "in", NULL);
					metrics_sample(o, nm, e ? e->avg[R_OUTPKTS] : 0, "service", sn, "server", dn, "direction", "out", NULL);
					break;
				case 8:
					metrics_sample(o, nm, e ? e->avg[R_INBYTES] : 0, "service", sn, "server", dn, "direction", "in", NULL);
					metrics_sample(o, nm, e ? e->avg[R_OUTBYTES] : 0, "service", sn, "server", dn, "direction", "out", NULL);
					break;
				case 9: metrics_sample(o, nm, d->weight, "service", sn, "server", dn, NULL); break;
				default:
					metrics_sample(o, nm, (d->flags & DEST_F_AVAILABLE) ? 1 : 0, "service", sn, "server", dn, NULL);
					break;
				}
			}
		}
	}
}

static void render_engine(struct metrics *m, struct metrics_out *o)
{
	const struct engine_stats *st = engine_stats_total(m->e);
	/* Every worker's connection table, summed. */
	struct conn_stats csum = { 0 };
	const struct conn_stats *cs = &csum;
	uint64_t n_conns = 0, capacity = 0;
	for (unsigned i = 0; i < engine_group_size(m->e); i++) {
		struct conn_table *ct = engine_conns(engine_group_member(m->e, i));
		const struct conn_stats *x = conn_table_stats(ct);
		csum.created += x->created;
		csum.expired += x->expired;
		csum.table_full += x->table_full;
		csum.templates_created += x->templates_created;
		n_conns += conn_count(ct);
		capacity += conn_capacity(ct);
	}

	metrics_family(o, "ulvs_build_info", "gauge", "Version of ulvsd.");
	metrics_sample(o, "ulvs_build_info", 1, "version", ULVS_VERSION, NULL);
	metrics_family(o, "ulvs_dataplane_info", "gauge", "Packet I/O backend of the data plane.");
	metrics_sample(o, "ulvs_dataplane_info", 1, "backend", m->backend, NULL);
	metrics_family(o, "ulvs_dataplane_workers", "gauge", "Data plane worker threads.");
	metrics_sample(o, "ulvs_dataplane_workers", m->o.workers, NULL);

	metrics_family(o, "ulvs_received_packets_total", "counter", "Frames the data plane looked at.");
	metrics_sample(o, "ulvs_received_packets_total", (double)st->rx, NULL);
	metrics_family(o, "ulvs_transmitted_packets_total", "counter", "Frames the data plane forwarded.");
	metrics_sample(o, "ulvs_transmitted_packets_total", (double)st->tx, NULL);
	metrics_family(o, "ulvs_passed_packets_total", "counter", "Frames left to the kernel (not for a virtual service).");
	metrics_sample(o, "ulvs_passed_packets_total", (double)st->pass, NULL);
	metrics_family(o, "ulvs_dropped_packets_total", "counter", "Frames dropped, by reason.");
	for (int r = 1; r < DROP_REASON_MAX; r++)
		metrics_sample(o, "ulvs_dropped_packets_total", (double)st->drops[r], "reason",
			       drop_reason_name((enum drop_reason)r), NULL);

	metrics_family(o, "ulvs_connections", "gauge", "Entries in the connection table (persistence templates included).");
	metrics_sample(o, "ulvs_connections", (double)n_conns, NULL);
	metrics_family(o, "ulvs_connection_table_capacity", "gauge", "Size of the connection table.");
	metrics_sample(o, "ulvs_connection_table_capacity", (double)capacity, NULL);
	metrics_family(o, "ulvs_connections_created_total", "counter", "Connections created.");
	metrics_sample(o, "ulvs_connections_created_total", (double)cs->created, NULL);
	metrics_family(o, "ulvs_connections_expired_total", "counter", "Connections and templates expired.");
	metrics_sample(o, "ulvs_connections_expired_total", (double)cs->expired, NULL);
	metrics_family(o, "ulvs_persistence_templates_created_total", "counter", "Persistence templates created.");
	metrics_sample(o, "ulvs_persistence_templates_created_total", (double)cs->templates_created, NULL);
	metrics_family(o, "ulvs_toa_inserted_total", "counter", "FULLNAT: client address options inserted.");
	metrics_sample(o, "ulvs_toa_inserted_total", (double)st->toa_inserted, NULL);
	metrics_family(o, "ulvs_sorry_server_used_total", "counter", "Connections sent to a sorry server.");
	metrics_sample(o, "ulvs_sorry_server_used_total", (double)st->sorry_used, NULL);
	metrics_family(o, "ulvs_icmp_translated_total", "counter", "ICMP errors translated for a connection.");
	metrics_sample(o, "ulvs_icmp_translated_total", (double)st->icmp_translated, NULL);
	metrics_family(o, "ulvs_metrics_scrapes_total", "counter", "Scrapes of this endpoint.");
	metrics_sample(o, "ulvs_metrics_scrapes_total", (double)m->scrapes, NULL);
}

char *metrics_render(struct metrics *m, size_t *len)
{
	struct metrics_out o = { 0 };

	m->scrapes++;
	render_engine(m, &o);
	render_services(m, &o);
	for (unsigned i = 0; i < n_producers; i++)
		producers[i].cb(producers[i].arg, &o);
	if (o.oom || !o.buf) {
		free(o.buf);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}

/* --- HTTP/1.0 ------------------------------------------------------------- */

struct http_client {
	struct metrics *m;
	int fd;
	unsigned slot;
	char in[METRICS_REQ_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	struct ev_timer *t;
};

static void client_close(struct http_client *c)
{
	struct metrics *m = c->m;

	if (c->t)
		ev_timer_cancel(m->l, c->t);
	ev_fd_del(m->l, c->fd);
	close(c->fd);
	m->clients[c->slot] = NULL;
	free(c->out);
	free(c);
}

static void client_timeout_cb(struct evloop *l, void *arg)
{
	struct http_client *c = arg;

	c->t = NULL;
	client_close(c);
}

static void client_respond(struct http_client *c, int code, const char *reason,
			   const char *ctype, char *body, size_t blen, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 code, reason, ctype, blen);
	size_t total = (size_t)n + (head ? 0 : blen);

	c->out = body || !blen ? malloc(total) : NULL;
	if (!c->out) {
		free(body);
		client_close(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)n);
	if (!head && blen)
		memcpy(c->out + n, body, blen);
	free(body);
	c->outlen = total;
	c->outoff = 0;
	ev_fd_mod(c->m->l, c->fd, EV_WRITE);
}

static void client_request(struct http_client *c)
{
	char method[8], path[256];
	bool head;
	char *q;

	if (sscanf(c->in, "%7s %255s", method, path) != 2) {
		client_respond(c, 400, "Bad Request", "text/plain", strdup("bad request\n"), 12, false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		client_respond(c, 405, "Method Not Allowed", "text/plain", strdup("GET only\n"), 9,
			       false);
		return;
	}
	q = strchr(path, '?');
	if (q)
		*q = '\0';
	if (!strcmp(path, "/metrics")) {
		size_t len;
		char *body = metrics_render(c->m, &len);
		if (!body) {
			client_respond(c, 500, "Internal Server Error", "text/plain",
				       strdup("out of memory\n"), 14, head);
			return;
		}
		client_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len,
			       head);
	} else if (!strcmp(path, "/")) {
		static const char idx[] = "ulvsd metrics: /metrics\n";
		client_respond(c, 200, "OK", "text/plain", strdup(idx), sizeof(idx) - 1, head);
	} else {
		client_respond(c, 404, "Not Found", "text/plain", strdup("not found\n"), 10, head);
	}
}

static void client_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct http_client *c = arg;

	if (c->out) {
		while (c->outoff < c->outlen) {
			ssize_t n = send(fd, c->out + c->outoff, c->outlen - c->outoff,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return;
				break;
			}
			c->outoff += (size_t)n;
		}
		client_close(c);
		return;
	}
	for (;;) {
		ssize_t n = recv(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->inlen += (size_t)n;
		c->in[c->inlen] = '\0';
		if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) {
			client_request(c);
			return;
		}
		if (c->inlen == sizeof(c->in) - 1) {
			client_respond(c, 431, "Request Header Fields Too Large", "text/plain",
				       strdup("request too large\n"), 18, false);
			return;
		}
	}
}

static void accept_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct metrics *m = arg;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct http_client *c;
		unsigned slot;

		if (cfd < 0)
			return;
		for (slot = 0; slot < METRICS_MAX_CLIENTS && m->clients[slot]; slot++)
			;
		c = slot < METRICS_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(cfd); /* busy: the scraper retries next interval */
			continue;
		}
		c->m = m;
		c->fd = cfd;
		c->slot = slot;
		if (ev_fd_add(l, cfd, EV_READ, client_cb, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		m->clients[slot] = c;
		c->t = ev_timer_add(l, METRICS_CLIENT_TIMEOUT_MS, client_timeout_cb, c);
	}
}

struct metrics *metrics_start(struct evloop *l, struct engine *e, const struct metrics_opts *o)
{
	struct metrics *m = calloc(1, sizeof(*m));
	FILE *log = o->log ? o->log : stderr;
	struct sockaddr_storage ss;
	socklen_t sl;
	char ab[64];
	int one = 1;

	if (!m)
		return NULL;
	m->l = l;
	m->e = e;
	m->o = *o;
	snprintf(m->backend, sizeof(m->backend), "%s", o->backend ? o->backend : "unknown");
	m->o.backend = m->backend;
	if (!m->o.af) {
		m->o.af = ULVS_AF_INET;
		m->o.addr = addr_v4(htonl(INADDR_LOOPBACK));
	}
	memset(&ss, 0, sizeof(ss));
	if (m->o.af == ULVS_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(m->o.port);
		memcpy(&s6->sin6_addr, m->o.addr.b, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(m->o.port);
		s4->sin_addr.s_addr = m->o.addr.ip;
		sl = sizeof(*s4);
	}
	addr_format((enum ulvs_af)m->o.af, &m->o.addr, ab, sizeof(ab));
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(m->fd, (struct sockaddr *)&ss, sl) < 0 || listen(m->fd, 16) < 0 ||
	    getsockname(m->fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(log, "metrics: cannot listen on %s port %u: %s\n", ab, m->o.port,
			strerror(errno));
		goto fail;
	}
	m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	if (ev_fd_add(l, m->fd, EV_READ, accept_cb, m) < 0) {
		fprintf(log, "metrics: cannot watch the listening socket\n");
		goto fail;
	}
	m->est_last_ns = ev_now_ns(l);
	est_sample(m, 0);
	m->est_t = ev_timer_add(l, METRICS_EST_PERIOD_MS, est_cb, m);
	fprintf(log, "metrics: serving Prometheus text on http://%s%s%s:%u/metrics\n",
		m->o.af == ULVS_AF_INET6 ? "[" : "", ab, m->o.af == ULVS_AF_INET6 ? "]" : "",
		m->port);
	return m;
fail:
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

uint16_t metrics_port(const struct metrics *m)
{
	return m->port;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < METRICS_MAX_CLIENTS; i++)
		if (m->clients[i])
			client_close(m->clients[i]);
	if (m->est_t)
		ev_timer_cancel(m->l, m->est_t);
	ev_fd_del(m->l, m->fd);
	close(m->fd);
	free(m->svc_est);
	free(m->dest_est);
	free(m);
}
