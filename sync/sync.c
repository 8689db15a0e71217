/* Connection sync runtime (see sync.h): one UDP socket, one timer, the
 * engine's connection hook.
 *
 * Master side.  The hook (inside engine_process) encodes the connection
 * into the open batch; a batch is closed when full or flush_ms after its
 * first entry and joins a bounded queue of datagrams; a token bucket of
 * max_rate bytes per second drains the queue.  What IPVS syncs on state
 * change is what we sync (ip_vs_sync_conn_needed: TCP entering ESTABLISHED,
 * FIN_WAIT, CLOSE_WAIT, TIME_WAIT or CLOSE; UDP and templates when created),
 * and the refresh walk resends every such connection with its remaining
 * lifetime, at most half the queue at a time so new changes always find
 * room.  When the queue is full a change is dropped and counted: the next
 * walk repairs it.
 * Backup side.  Every datagram is validated whole (sync_proto.c) and each
 * entry is handed to engine_conn_import(); a restarted backup asks the
 * master for a full walk and repeats the request until it is answered.
 * One timer serves everything: it is armed for the earliest of the pending
 * flush, the token bucket refill, the next walk step and the resync retry.
 */
#include "sync/sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/conn.h"
#include "core/engine.h"
#include "core/packet.h"
#include "core/service-t.h"
#include "daemon/evloop.h"
#include "metrics/metrics.h"

#define SYNC_QUEUE 64              /* datagrams waiting for the rate limit */
#define SYNC_WALK_SLOTS 4096       /* table slots visited per walk step */
#define SYNC_RX_BURST 64           /* datagrams read per readiness event */
#define SYNC_TMPL_DEFAULT_MS 180000 /* IPVS: 3 min when a template has no timeout */
#define SYNC_PENDING 4096          /* reports from the workers between two wake-ups */

/* A connection a worker reported, as it was then. */
struct sync_pending {
	struct conn c;
	uint32_t expire_ms;
};

struct sync {
	struct evloop *l;
	struct engine *e;
	struct sync_opts o;
	enum sync_role role;
	int fd;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	size_t maxlen;

	/* master: the open batch, the queue, the bucket */
	uint8_t *cur;
	struct sync_writer w;
	uint64_t cur_first_ns;
	uint8_t *q[SYNC_QUEUE];
	uint16_t qlen[SYNC_QUEUE];
	unsigned qn_conns[SYNC_QUEUE];
	unsigned qhead, qn;
	double tokens, burst;
	uint64_t tokens_ns;
	bool walking;
	unsigned walk_member;      /* which worker's table the walk is in */
	uint32_t cursor;
	uint64_t next_walk_ns;
	uint32_t acked_nonce;

	/* backup */
	uint32_t nonce;
	bool resync_done;
	uint64_t resync_next_ns;

	/* Workers report here (under pmu) and wake the loop through pfd; the
	 * loop does the batching, so sync state is the control thread's. */
	pthread_mutex_t pmu;
	struct sync_pending *pending;
	unsigned n_pending;
	uint64_t pending_lost;
	int pfd;

	struct ev_timer *t;
	uint64_t t_due_ns;
	struct sync_stats st;
	bool logged[SYNC_ERR_MAX];
	bool logged_import, logged_send;
	uint8_t rx[65536];
};

static void sync_log(struct sync *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sync_log(struct sync *s, const char *fmt, ...)
{
	FILE *f = s->o.log ? s->o.log : stderr;
	va_list ap;

	fputs("sync: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

const char *sync_role_name(enum sync_role r)
{
	switch (r) {
	case SYNC_ROLE_MASTER: return "master";
	case SYNC_ROLE_BACKUP: return "backup";
	default: return "none";
	}
}

/* --- options ------------------------------------------------------------- */

void sync_opts_default(struct sync_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = 1;
	o->port = SYNC_DEFAULT_PORT;
	o->flush_ms = 20;
	o->refresh_ms = 30000;
	o->max_rate = 8u << 20;
	o->resync_retry_ms = 1000;
}

int sync_opts_from_conf(struct sync_opts *o, enum sync_role *role, const struct conf *c)
{
	const struct conf_sync_daemon *sd = &c->global.sync_daemon;

	if (!c->global.have_sync_daemon)
		return -ENOENT;
	snprintf(o->ifname, sizeof(o->ifname), "%s", sd->interface);
	o->syncid = (uint8_t)sd->syncid;
	if (sd->maxlen)
		o->maxlen = sd->maxlen;
	if (sd->port)
		o->port = (uint16_t)sd->port;
	if (sd->ttl)
		o->ttl = (uint8_t)sd->ttl;
	if (sd->group.af) {
		o->group_af = sd->group.af;
		o->group = sd->group.a;
	}
	*role = SYNC_ROLE_BACKUP;
	for (unsigned i = 0; i < c->n_vrrps; i++)
		if (c->vrrps[i].name && sd->instance && !strcmp(c->vrrps[i].name, sd->instance))
			*role = c->vrrps[i].state == VRRP_STATE_MASTER ? SYNC_ROLE_MASTER
								       : SYNC_ROLE_BACKUP;
	return 0;
}

/* --- the timer ----------------------------------------------------------- */

static void sync_tick_cb(struct evloop *l, void *arg);

/* Make sure the timer fires no later than due_ns. */
static void sync_arm(struct sync *s, uint64_t due_ns)
{
	uint64_t now = ev_now_ns(s->l), ms;

	if (s->t && s->t_due_ns <= due_ns)
		return;
	if (s->t)
		ev_timer_cancel(s->l, s->t);
	ms = due_ns > now ? (due_ns - now + 999999) / 1000000 : 0;
	s->t = ev_timer_add(s->l, ms, sync_tick_cb, s);
	s->t_due_ns = s->t ? due_ns : 0;
}

/* --- master: batching and sending ---------------------------------------- */

static void bucket_refill(struct sync *s, uint64_t now)
{
	if (now > s->tokens_ns) {
		s->tokens += (double)(now - s->tokens_ns) * (double)s->o.max_rate / 1e9;
		if (s->tokens > s->burst)
			s->tokens = s->burst;
	}
	s->tokens_ns = now;
}

/* Move the open batch to the queue (or drop it, counted, when full). */
static void batch_close(struct sync *s)
{
	unsigned slot;

	if (!s->w.n)
		return;
	if (s->qn == SYNC_QUEUE) {
		s->st.tx_dropped += s->w.n;
	} else {
		slot = (s->qhead + s->qn) % SYNC_QUEUE;
		memcpy(s->q[slot], s->cur, s->w.len);
		s->qlen[slot] = (uint16_t)s->w.len;
		s->qn_conns[slot] = s->w.n;
		s->qn++;
	}
	sync_writer_init(&s->w, s->cur, s->maxlen, s->o.syncid);
}

static int send_buf(struct sync *s, const uint8_t *buf, size_t len)
{
	if (sendto(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&s->dst,
		   s->dstlen) < 0)
		return -errno;
	return 0;
}

/* Send queued datagrams while the bucket allows. */
static void queue_pump(struct sync *s, uint64_t now)
{
	bucket_refill(s, now);
	while (s->qn) {
		unsigned h = s->qhead;
		int r;

		if (s->tokens < s->qlen[h])
			return;
		r = send_buf(s, s->q[h], s->qlen[h]);
		if (r == -EAGAIN || r == -EWOULDBLOCK || r == -ENOBUFS)
			return; /* socket buffer full: the timer retries */
		if (r < 0) {
			s->st.tx_errors++;
			if (!s->logged_send) {
				s->logged_send = true;
				sync_log(s, "send on %s failed: %s (logged once)", s->o.ifname,
					 strerror(-r));
			}
		} else {
			s->tokens -= s->qlen[h];
			s->st.tx_msgs++;
			s->st.tx_bytes += s->qlen[h];
			s->st.tx_conns += s->qn_conns[h];
		}
		s->qhead = (h + 1) % SYNC_QUEUE;
		s->qn--;
	}
}

/* Encode c into the open batch; false when it could not be queued. */
static bool batch_add(struct sync *s, const struct conn *c, uint32_t expire_ms, uint64_t now)
{
	struct svc_table *t = engine_services(s->e);
	struct sync_conn sc;
	uint32_t fwmark = 0;

	if (t && c->svc_id < t->n_svcs)
		fwmark = t->svcs[c->svc_id].fwmark;
	if (sync_conn_from_conn(&sc, c, fwmark, expire_ms))
		return true; /* nothing the wire can carry (never happens for TCP/UDP) */
	if (sync_writer_add(&s->w, &sc) == -ENOSPC) {
		batch_close(s);
		if (sync_writer_add(&s->w, &sc))
			return false;
	}
	if (s->w.n == 1)
		s->cur_first_ns = now;
	return true;
}

/* ip_vs_sync_conn_needed: TCP connections are worth syncing in these states. */
static bool tcp_state_synced(uint8_t st)
{
	return st == CS_ESTABLISHED || st == CS_FIN_WAIT || st == CS_CLOSE_WAIT ||
	       st == CS_TIME_WAIT || st == CS_CLOSE;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* On a worker's thread: note the connection, wake the loop. */
static void sync_conn_cb(void *arg, const struct conn_table *ct, const struct conn *c,
			 enum engine_conn_event ev)
{
	struct sync *s = arg;
	bool tcp = c->proto == IPPROTO_TCP_ && !(c->flags & CONN_F_TEMPLATE);
	bool first = false;

	if (__atomic_load_n(&s->role, __ATOMIC_RELAXED) != SYNC_ROLE_MASTER)
		return;
	if (tcp ? !(ev == ENGINE_CONN_STATE && tcp_state_synced(c->state)) : ev != ENGINE_CONN_NEW)
		return;
	uint32_t expire_ms = conn_remaining_ms(ct, c, mono_ns());
	pthread_mutex_lock(&s->pmu);
	if (s->n_pending < SYNC_PENDING) {
		s->pending[s->n_pending++] = (struct sync_pending){ .c = *c, .expire_ms = expire_ms };
		first = s->n_pending == 1;
	} else {
		s->pending_lost++;
	}
	pthread_mutex_unlock(&s->pmu);
	if (first) {
		/* An eventfd write fails only past 2^64 - 2 wake-ups. */
		uint64_t one = 1;
		ssize_t w = write(s->pfd, &one, sizeof(one));
		(void)w;
	}
}

/* On the loop: batch what the workers reported. */
static void sync_pending_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct sync *s = arg;
	uint64_t now = ev_now_ns(l), v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		s->st.tx_errors++;
	pthread_mutex_lock(&s->pmu);
	for (unsigned i = 0; i < s->n_pending; i++)
		if (!batch_add(s, &s->pending[i].c, s->pending[i].expire_ms, now))
			s->st.tx_dropped++;
	bool any = s->n_pending > 0;
	s->n_pending = 0;
	s->st.tx_dropped += s->pending_lost;
	s->pending_lost = 0;
	pthread_mutex_unlock(&s->pmu);
	if (any)
		sync_arm(s, s->w.n >= 1 && s->qn == 0 ? s->cur_first_ns + s->o.flush_ms * 1000000ull
						      : now);
	(void)events;
}

struct walk_ctx {
	struct sync *s;
	const struct conn_table *ct;
	uint64_t now;
};

static int walk_cb(void *arg, const struct conn *c)
{
	struct walk_ctx *w = arg;
	struct sync *s = w->s;

	if (c->proto == IPPROTO_TCP_ && !(c->flags & CONN_F_TEMPLATE) && !tcp_state_synced(c->state))
		return 0;
	if (!batch_add(s, c, conn_remaining_ms(w->ct, c, w->now), w->now))
		return 1;
	/* Leave half the queue for changes that happen meanwhile. */
	return s->qn >= SYNC_QUEUE / 2;
}

static void walk_start(struct sync *s, uint64_t now, const char *why)
{
	if (!s->walking)
		s->st.refresh_walks++;
	s->walking = true;
	s->walk_member = 0;
	s->cursor = 0;
	s->next_walk_ns = now + s->o.refresh_ms * 1000000ull;
	(void)why;
}

static void walk_step(struct sync *s, uint64_t now)
{
	/* Every worker's table in turn (one with a single worker). */
	struct engine *m = engine_group_member(s->e, s->walk_member);
	if (!m) {
		s->walking = false;
		batch_close(s);
		return;
	}
	struct walk_ctx w = { s, engine_conns(m), now };

	if (s->qn >= SYNC_QUEUE / 2)
		return;
	if (conn_walk(engine_conns(m), &s->cursor, SYNC_WALK_SLOTS, walk_cb, &w)) {
		s->walk_member++;
		s->cursor = 0;
		if (s->walk_member >= engine_group_size(s->e)) {
			s->walking = false;
			batch_close(s);
		}
	}
}

/* --- backup: resync request ------------------------------------------------ */

static void send_ctl(struct sync *s, enum sync_ctl ctl, uint32_t nonce)
{
	uint8_t buf[SYNC_CTL_LEN];
	size_t n = sync_ctl_encode(buf, sizeof(buf), s->o.syncid, ctl, nonce);
	int r = n ? send_buf(s, buf, n) : -EINVAL;

	if (r < 0)
		s->st.tx_errors++;
	else if (ctl == SYNC_CTL_RESYNC_REQUEST)
		s->st.resync_requests_tx++;
}

/* --- the timer ----------------------------------------------------------- */

static void sync_tick_cb(struct evloop *l, void *arg)
{
	struct sync *s = arg;
	uint64_t now = ev_now_ns(l), due = UINT64_MAX;

	s->t = NULL;
	s->t_due_ns = 0;
	if (s->role == SYNC_ROLE_MASTER) {
		if (!s->walking && now >= s->next_walk_ns)
			walk_start(s, now, "refresh");
		if (s->walking)
			walk_step(s, now);
		if (s->w.n && (s->walking || now >= s->cur_first_ns + s->o.flush_ms * 1000000ull))
			batch_close(s);
		queue_pump(s, now);
		if (s->w.n)
			due = s->cur_first_ns + s->o.flush_ms * 1000000ull;
		if (s->qn) {
			double need = s->qlen[s->qhead] - s->tokens;
			uint64_t wait = need > 0 ? (uint64_t)(need * 1e9 / (double)s->o.max_rate) : 0;
			if (wait < 1000000)
				wait = 1000000;
			if (now + wait < due)
				due = now + wait;
		}
		if (s->walking && s->qn < SYNC_QUEUE / 2 && now + 1000000 < due)
			due = now + 1000000;
		if (!s->walking && s->next_walk_ns < due)
			due = s->next_walk_ns;
	} else if (s->role == SYNC_ROLE_BACKUP && !s->resync_done) {
		if (now >= s->resync_next_ns) {
			send_ctl(s, SYNC_CTL_RESYNC_REQUEST, s->nonce);
			s->resync_next_ns = now + s->o.resync_retry_ms * 1000000ull;
		}
		due = s->resync_next_ns;
	}
	if (due != UINT64_MAX)
		sync_arm(s, due);
}

/* --- receiving ----------------------------------------------------------- */

static void import_one(struct sync *s, const struct sync_conn *sc, uint64_t now)
{
	struct conn c;
	uint32_t expire_ms;
	int r;

	if (sync_conn_to_conn(sc, &c, &expire_ms)) {
		s->st.rx_rejected++;
		return;
	}
	if (!expire_ms) {
		/* ip_vs_proc_conn: no timeout sent, the state's own */
		expire_ms = (c.flags & CONN_F_TEMPLATE)
				    ? SYNC_TMPL_DEFAULT_MS
				    : conn_table_timeouts(engine_conns(s->e))->ms[c.state];
	}
	r = engine_conn_import(s->e, &c, sc->fwmark, expire_ms, now);
	if (r == 0) {
		s->st.rx_imported++;
		return;
	}
	if (r == -ENOENT)
		s->st.rx_no_service++;
	else if (r == -EADDRINUSE)
		s->st.rx_lport_busy++;
	else
		s->st.rx_rejected++;
	if (!s->logged_import) {
		char a[64], b[64];
		s->logged_import = true;
		addr_format((enum ulvs_af)c.af, &c.caddr, a, sizeof(a));
		addr_format((enum ulvs_af)c.af, &c.vaddr, b, sizeof(b));
		sync_log(s, "cannot take over connection %s:%u -> %s:%u: %s (first of its kind "
			 "logged; see ulvs_sync_rx_* metrics)", a, ntohs(c.cport), b, ntohs(c.vport),
			 strerror(-r));
	}
}

static void rx_error(struct sync *s, enum sync_err e)
{
	s->st.rx_errors[e]++;
	if (!s->logged[e]) {
		s->logged[e] = true;
		sync_log(s, "dropping malformed sync data: %s (logged once per reason)",
			 sync_err_name(e));
	}
}

static void handle_msg(struct sync *s, const uint8_t *buf, size_t len, uint64_t now)
{
	struct sync_msg m;
	struct sync_iter it;
	struct sync_conn sc;
	enum sync_err e = sync_msg_parse(buf, len, &m);
	int r;

	s->st.rx_msgs++;
	s->st.rx_bytes += len;
	if (e != SYNC_OK) {
		rx_error(s, e);
		return;
	}
	/* IPVS: a backup with sync id 0 takes every sync id. */
	if (s->o.syncid && m.syncid != s->o.syncid) {
		s->st.rx_ignored++;
		return;
	}
	if (m.ctl == SYNC_CTL_RESYNC_REQUEST) {
		if (s->role != SYNC_ROLE_MASTER) {
			s->st.rx_ignored++;
			return;
		}
		s->st.resync_requests_rx++;
		/* A repeated request (its answer was lost) is answered again;
		 * the walk it started is still running and is not restarted. */
		if (!(s->walking && m.nonce == s->acked_nonce)) {
			walk_start(s, now, "resync");
			sync_log(s, "resync requested by a backup: sending the whole table");
		}
		s->acked_nonce = m.nonce;
		send_ctl(s, SYNC_CTL_RESYNC_START, m.nonce);
		sync_arm(s, now);
		return;
	}
	if (m.ctl == SYNC_CTL_RESYNC_START) {
		if (s->role == SYNC_ROLE_BACKUP && m.nonce == s->nonce && !s->resync_done) {
			s->resync_done = true;
			sync_log(s, "master answered the resync request");
		}
		return;
	}
	if (s->role != SYNC_ROLE_BACKUP) {
		s->st.rx_ignored++;
		return;
	}
	s->st.last_rx_ns = now;
	sync_iter_init(&it, &m);
	while ((r = sync_msg_next(&it, &sc, &e)) != 0) {
		if (r < 0) {
			rx_error(s, e);
			return;
		}
		s->st.rx_conns++;
		if (e != SYNC_OK)
			rx_error(s, e);
		else
			import_one(s, &sc, now);
	}
}

static void sync_rx_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct sync *s = arg;
	uint64_t now = ev_now_ns(l);

	for (int i = 0; i < SYNC_RX_BURST; i++) {
		ssize_t n = recv(fd, s->rx, sizeof(s->rx), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(s->rx)) {
			rx_error(s, SYNC_ERR_SIZE);
			continue;
		}
		handle_msg(s, s->rx, (size_t)n, now);
	}
}

/* --- metrics ------------------------------------------------------------- */

static void sync_metrics_cb(void *arg, struct metrics_out *o)
{
	struct sync *s = arg;
	const struct sync_stats *st = &s->st;
	uint64_t now = ev_now_ns(s->l);
	static const char *const roles[] = { "none", "master", "backup" };

	metrics_family(o, "ulvs_sync_role", "gauge", "Connection sync role (1 for the current one).");
	for (int r = 0; r < 3; r++)
		metrics_sample(o, "ulvs_sync_role", s->role == (enum sync_role)r, "role", roles[r], NULL);
	metrics_family(o, "ulvs_sync_sent_messages_total", "counter", "Sync datagrams sent.");
	metrics_sample(o, "ulvs_sync_sent_messages_total", (double)st->tx_msgs, NULL);
	metrics_family(o, "ulvs_sync_sent_bytes_total", "counter", "Sync bytes sent (UDP payload).");
	metrics_sample(o, "ulvs_sync_sent_bytes_total", (double)st->tx_bytes, NULL);
	metrics_family(o, "ulvs_sync_sent_connections_total", "counter", "Connection entries sent.");
	metrics_sample(o, "ulvs_sync_sent_connections_total", (double)st->tx_conns, NULL);
	metrics_family(o, "ulvs_sync_send_dropped_total", "counter", "Connection changes not sent: queue full (the next refresh repairs them).");
	metrics_sample(o, "ulvs_sync_send_dropped_total", (double)st->tx_dropped, NULL);
	metrics_family(o, "ulvs_sync_send_errors_total", "counter", "Failed sends.");
	metrics_sample(o, "ulvs_sync_send_errors_total", (double)st->tx_errors, NULL);
	metrics_family(o, "ulvs_sync_queued_messages", "gauge", "Datagrams waiting for the rate limit (sync backlog).");
	metrics_sample(o, "ulvs_sync_queued_messages", s->qn, NULL);
	metrics_family(o, "ulvs_sync_table_walks_total", "counter", "Full-table refresh or resync walks started.");
	metrics_sample(o, "ulvs_sync_table_walks_total", (double)st->refresh_walks, NULL);
	metrics_family(o, "ulvs_sync_resync_requests_total", "counter", "Resync requests by direction.");
	metrics_sample(o, "ulvs_sync_resync_requests_total", (double)st->resync_requests_tx, "direction", "sent", NULL);
	metrics_sample(o, "ulvs_sync_resync_requests_total", (double)st->resync_requests_rx, "direction", "received", NULL);
	metrics_family(o, "ulvs_sync_received_messages_total", "counter", "Sync datagrams received.");
	metrics_sample(o, "ulvs_sync_received_messages_total", (double)st->rx_msgs, NULL);
	metrics_family(o, "ulvs_sync_received_connections_total", "counter", "Connection entries received.");
	metrics_sample(o, "ulvs_sync_received_connections_total", (double)st->rx_conns, NULL);
	metrics_family(o, "ulvs_sync_imported_connections_total", "counter", "Received connections inserted or updated.");
	metrics_sample(o, "ulvs_sync_imported_connections_total", (double)st->rx_imported, NULL);
	metrics_family(o, "ulvs_sync_rejected_connections_total", "counter", "Received connections not taken, by reason.");
	metrics_sample(o, "ulvs_sync_rejected_connections_total", (double)st->rx_no_service, "reason", "no_service", NULL);
	metrics_sample(o, "ulvs_sync_rejected_connections_total", (double)st->rx_lport_busy, "reason", "lport_busy", NULL);
	metrics_sample(o, "ulvs_sync_rejected_connections_total", (double)st->rx_rejected, "reason", "other", NULL);
	metrics_family(o, "ulvs_sync_ignored_messages_total", "counter", "Messages ignored (other sync id, or not backup).");
	metrics_sample(o, "ulvs_sync_ignored_messages_total", (double)st->rx_ignored, NULL);
	metrics_family(o, "ulvs_sync_receive_errors_total", "counter", "Malformed sync data, by reason.");
	for (int e = 1; e < SYNC_ERR_MAX; e++)
		metrics_sample(o, "ulvs_sync_receive_errors_total", (double)st->rx_errors[e], "reason",
			       sync_err_name((enum sync_err)e), NULL);
	metrics_family(o, "ulvs_sync_last_message_age_seconds", "gauge", "Backup: seconds since the last connection message from the master (sync lag); -1 before the first.");
	metrics_sample(o, "ulvs_sync_last_message_age_seconds",
		       st->last_rx_ns ? (double)(now - st->last_rx_ns) / 1e9 : -1, NULL);
}

/* --- setup --------------------------------------------------------------- */

static bool is_multicast(uint8_t af, const union ulvs_addr *a)
{
	if (af == ULVS_AF_INET6)
		return a->b[0] == 0xff;
	return (a->b[0] & 0xf0) == 0xe0;
}

static int open_socket(struct sync *s)
{
	const struct sync_opts *o = &s->o;
	unsigned ifindex = if_nametoindex(o->ifname);
	bool v6 = o->group_af == ULVS_AF_INET6;
	bool mcast = is_multicast(o->group_af, &o->group);
	int one = 1, zero = 0, fd;
	struct ifreq ifr;

	if (!ifindex)
		return -ENODEV;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	/* The kernel's receive socket is bound to the device (sk_bound_dev_if):
	 * sync data from another link is not ours. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname, (socklen_t)strlen(o->ifname)) < 0)
		return -errno;
	if (!s->maxlen) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->ifname);
		s->maxlen = ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 576
				    ? (size_t)ifr.ifr_mtu - (v6 ? 48 : 28)
				    : 1472;
	}
	memset(&s->dst, 0, sizeof(s->dst));
	if (v6) {
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&s->dst, b = *d;
		d->sin6_family = AF_INET6;
		d->sin6_port = htons(o->port);
		memcpy(&d->sin6_addr, o->group.b, 16);
		d->sin6_scope_id = ifindex;
		s->dstlen = sizeof(*d);
		b.sin6_family = AF_INET6;
		b.sin6_port = htons(o->port);
		if (mcast) {
			b.sin6_addr = d->sin6_addr;
			b.sin6_scope_id = ifindex;
		}
		if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0)
			return -errno;
		if (mcast) {
			struct ipv6_mreq mr = { .ipv6mr_multiaddr = d->sin6_addr,
						.ipv6mr_interface = ifindex };
			int hops = o->ttl, idx = (int)ifindex;
			if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0 ||
			    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx)) < 0 ||
			    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
			    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)) < 0)
				return -errno;
		}
	} else {
		struct sockaddr_in *d = (struct sockaddr_in *)&s->dst, b = *d;
		d->sin_family = AF_INET;
		d->sin_port = htons(o->port);
		d->sin_addr.s_addr = o->group.ip;
		s->dstlen = sizeof(*d);
		b.sin_family = AF_INET;
		b.sin_port = htons(o->port);
		if (mcast)
			b.sin_addr = d->sin_addr;
		if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0)
			return -errno;
		if (mcast) {
			struct ip_mreqn mr = { .imr_multiaddr = d->sin_addr, .imr_ifindex = (int)ifindex };
			struct ip_mreqn mif = { .imr_ifindex = (int)ifindex };
			unsigned char ttl = o->ttl, loop = 0;
			if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
			    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)) < 0 ||
			    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
			    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
				return -errno;
		}
	}
	return 0;
}

static void sync_free(struct sync *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->pfd >= 0) {
		ev_fd_del(s->l, s->pfd);
		close(s->pfd);
	}
	for (unsigned i = 0; i < SYNC_QUEUE; i++)
		free(s->q[i]);
	free(s->cur);
	free(s->pending);
	pthread_mutex_destroy(&s->pmu);
	free(s);
}

struct sync *sync_start(struct evloop *l, struct engine *e, const struct sync_opts *o,
			enum sync_role role)
{
	struct sync *s = calloc(1, sizeof(*s));
	char ga[64];
	int r;

	if (!s)
		return NULL;
	s->fd = -1;
	s->pfd = -1;
	s->l = l;
	s->e = e;
	pthread_mutex_init(&s->pmu, NULL);
	s->o = *o;
	if (!s->o.group_af) {
		s->o.group_af = ULVS_AF_INET;
		s->o.group = addr_v4(htonl(SYNC_DEFAULT_GROUP));
	}
	if (!s->o.port)
		s->o.port = SYNC_DEFAULT_PORT;
	if (!s->o.flush_ms)
		s->o.flush_ms = 20;
	if (!s->o.refresh_ms)
		s->o.refresh_ms = 30000;
	if (!s->o.max_rate)
		s->o.max_rate = 8u << 20;
	if (!s->o.resync_retry_ms)
		s->o.resync_retry_ms = 1000;
	s->maxlen = s->o.maxlen;
	addr_format((enum ulvs_af)s->o.group_af, &s->o.group, ga, sizeof(ga));
	r = open_socket(s);
	if (r < 0) {
		sync_log(s, "cannot open the sync socket on %s for %s port %u: %s", s->o.ifname, ga,
			 s->o.port, strerror(-r));
		goto fail;
	}
	/* A datagram must hold at least one IPv6 FULLNAT entry. */
	if (s->maxlen < 128)
		s->maxlen = 128;
	if (s->maxlen > 65507)
		s->maxlen = 65507;
	s->o.maxlen = (uint32_t)s->maxlen;
	s->cur = malloc(s->maxlen);
	for (unsigned i = 0; i < SYNC_QUEUE; i++)
		if (!(s->q[i] = malloc(s->maxlen)))
			goto nomem;
	if (!s->cur)
		goto nomem;
	sync_writer_init(&s->w, s->cur, s->maxlen, s->o.syncid);
	s->burst = (double)s->o.max_rate / 20;
	if (s->burst < 4.0 * (double)s->maxlen)
		s->burst = 4.0 * (double)s->maxlen;
	s->tokens = s->burst;
	s->tokens_ns = ev_now_ns(l);
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)ev_now_ns(l) ^ (uint32_t)getpid();
	if (ev_fd_add(l, s->fd, EV_READ, sync_rx_cb, s) < 0) {
		sync_log(s, "cannot watch the sync socket");
		goto fail;
	}
	s->pending = malloc(SYNC_PENDING * sizeof(*s->pending));
	s->pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->pending || s->pfd < 0 || ev_fd_add(l, s->pfd, EV_READ, sync_pending_cb, s) < 0) {
		if (s->pfd >= 0)
			close(s->pfd);
		s->pfd = -1;
		sync_log(s, "cannot set up the workers' reports: %s", strerror(errno));
		goto fail;
	}
	engine_set_conn_cb(e, sync_conn_cb, s);
	if (metrics_register("sync", sync_metrics_cb, s) < 0)
		sync_log(s, "metrics for sync not registered (already there?)");
	sync_log(s, "on %s, %s %s port %u, sync id %u, maxlen %zu", s->o.ifname, is_multicast(s->o.group_af, &s->o.group) ? "group" : "peer", ga,
		 s->o.port, s->o.syncid, s->maxlen);
	sync_set_role(s, role);
	return s;
nomem:
	sync_log(s, "out of memory");
fail:
	sync_free(s);
	return NULL;
}

int sync_set_role(struct sync *s, enum sync_role role)
{
	uint64_t now = ev_now_ns(s->l);

	if (role != SYNC_ROLE_NONE && role != SYNC_ROLE_MASTER && role != SYNC_ROLE_BACKUP)
		return -EINVAL;
	if (role == s->role)
		return 0;
	sync_log(s, "role %s -> %s", sync_role_name(s->role), sync_role_name(role));
	__atomic_store_n(&s->role, role, __ATOMIC_RELAXED);
	if (role == SYNC_ROLE_MASTER) {
		/* Backups that heard us before hold what they need; the first
		 * refresh comes one period later (or at once on request). */
		s->walking = false;
		s->next_walk_ns = now + s->o.refresh_ms * 1000000ull;
		sync_arm(s, s->next_walk_ns);
	} else {
		/* Whatever was batched is stale once we are not the master. */
		sync_writer_init(&s->w, s->cur, s->maxlen, s->o.syncid);
		s->qn = 0;
		s->walking = false;
		if (role == SYNC_ROLE_BACKUP) {
			s->nonce++;
			s->resync_done = false;
			s->resync_next_ns = now;
			sync_arm(s, now);
		}
	}
	return 0;
}

enum sync_role sync_role(const struct sync *s)
{
	return s->role;
}

const struct sync_stats *sync_stats(const struct sync *s)
{
	return &s->st;
}

const struct sync_opts *sync_options(const struct sync *s)
{
	return &s->o;
}

void sync_stop(struct sync *s)
{
	if (!s)
		return;
	engine_set_conn_cb(s->e, NULL, NULL);
	metrics_unregister("sync");
	if (s->role == SYNC_ROLE_MASTER) {
		batch_close(s);
		queue_pump(s, ev_now_ns(s->l));
	}
	if (s->t)
		ev_timer_cancel(s->l, s->t);
	ev_fd_del(s->l, s->fd);
	sync_free(s);
}
