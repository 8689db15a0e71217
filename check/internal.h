/* What the checker types share with check.c: the checker object, the ops
 * table each type registers, and the one way a check run ends
 * (check_report).  Not for use outside check/.
 *
 * A run: check.c's timer fires, calls ops->run(c); the type does its I/O on
 * the event loop and calls check_report() exactly once when it knows the
 * answer (possibly from within run itself).  ops->abort() cancels a run in
 * progress without reporting (stop, or shutdown).
 */
#ifndef ULVS_CHECK_INTERNAL_H
#define ULVS_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "check/check.h"
#include "check/check_fsm.h"
#include "daemon/evloop.h"

struct checker;
struct check_rs;

struct check_ops {
	enum conf_check_type type;
	/* Allocate per-checker state (c->priv); 0 or -errno (the checker is
	 * then left out and the reason logged). */
	int (*init)(struct checker *c);
	void (*run)(struct checker *c);
	void (*abort)(struct checker *c);
	void (*fini)(struct checker *c);
};

extern const struct check_ops check_tcp_ops, check_http_ops, check_ssl_ops, check_misc_ops,
	check_udp_ops, check_dns_ops, check_ping_ops;

struct check_vs {
	const struct conf_vs *cv;
	struct check *k;
	bool quorum_up;
	char name[64];             /* "10.0.0.1:80" / "FWM 3" / "group NAME" */
};

struct check_rs {
	const struct conf_rs *cr;
	struct check_vs *vs;
	struct check_rs_agg agg;
	bool pushed_up;            /* what the director was last told */
	bool fresh;                /* new at the last reload (not carried over) */
	int32_t weight;            /* effective weight (misc_dynamic changes it) */
	char name[64];             /* "10.0.0.2:80" */
};

struct checker {
	struct check *k;
	struct check_rs *rs;
	const struct conf_checker *cc;
	const struct check_ops *ops;
	struct check_fsm fsm;
	struct check_fsm_cfg cfg;
	struct ev_timer *timer;    /* next run */
	uint64_t next_ns;          /* when timer fires (carried over on reload) */
	bool running;
	bool disabled;             /* init failed: left out, reason in last_reason */
	uint64_t run_start_ns;
	enum check_result last;
	bool have_last;
	char last_reason[160];
	uint64_t last_ns;
	uint64_t n_runs, n_fail;
	void *priv;                /* the type's state */
	char name[96];             /* "TCP_CHECK 10.0.0.2:80" */
};

struct check {
	struct director *d;
	const struct conf *conf;
	struct evloop *loop;
	FILE *log;
	struct check_vs *vs;
	unsigned n_vs;
	struct check_rs *rs;
	unsigned n_rs;
	struct checker *ck;
	unsigned n_ck;
	uint64_t rng;
	bool stopping;
	void *http;                /* check_http.c's shared curl multi handle */
};

/* End of a run.  reason: why (printf-style), shown in logs and status. */
void check_report(struct checker *c, enum check_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* misc_dynamic: the weight the real server should have while up. */
void check_set_weight(struct checker *c, int32_t weight);
void check_log(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Helpers for socket checkers: the address to connect to (connect_ip,
 * connect_port) and to bind (bindto, bind_port) as sockaddrs; socket()
 * non-blocking and close-on-exec with SO_MARK (fwmark) and SO_BINDTODEVICE
 * (bind_if) applied and bound.  Returns the fd or -errno. */
socklen_t check_sockaddr(const struct conf_addr *a, uint32_t port, struct sockaddr_storage *ss);
int check_socket(const struct checker *c, int type, int proto);
/* "ADDR:PORT" / "[ADDR]:PORT" into buf. */
const char *check_fmt_addr(const struct conf_addr *a, uint32_t port, char *buf, size_t len);
/* Milliseconds until the run's deadline (connect_timeout after start), at
 * least 1. */
uint64_t check_time_left_ms(const struct checker *c, uint32_t timeout_ms);

#endif
