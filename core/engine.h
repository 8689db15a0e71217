/* The engine: a batch of frames in, one verdict per frame out.
 *
 * engine_process() is the whole data plane for one worker: parse, classify
 * (firewall-mark rules), find the virtual service, find or create the
 * connection (persistence templates first, then the scheduler), run the TCP
 * state machine, rewrite for the forwarding method, choose the egress
 * interface and MACs.  Frames are rewritten in place (using headroom when
 * they grow).  No syscalls, no allocation; the clock is an argument, so the
 * same engine runs live, over a pcap, and under unit tests with virtual time.
 */
#ifndef ULVS_CORE_ENGINE_H
#define ULVS_CORE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "fib-t.h"
#include "packet-t.h"
#include "service-t.h"

enum verdict_kind {
	VERDICT_DROP = 0,
	VERDICT_PASS,     /* not ours: give it to the kernel unchanged */
	VERDICT_TX,       /* transmit on .iface; MACs already written */
};

/* Every reason the engine drops or passes a packet, one counter each. */
enum drop_reason {
	DROP_NONE = 0,
	/* parse failures (mirror enum parse_result) */
	DROP_PARSE_TRUNC,
	DROP_PARSE_BAD_IP,
	DROP_PARSE_BAD_IP_CSUM,
	DROP_PARSE_BAD_IP6_EXT,
	DROP_PARSE_BAD_L4,
	DROP_PARSE_BAD_ICMP,
	/* policy */
	DROP_TTL_EXCEEDED,         /* TTL/hop limit would reach 0 (NAT/FULLNAT) */
	DROP_FRAGMENT,             /* non-first fragment of an untracked flow */
	DROP_NO_DEST,              /* no usable real server and no sorry server */
	DROP_CONN_TABLE_FULL,
	DROP_LPORT_EXHAUSTED,      /* FULLNAT: no free local port */
	DROP_NOT_SYN,              /* TCP without SYN for an unknown connection */
	DROP_NO_ROUTE,
	DROP_NO_NEIGH,
	DROP_TOO_BIG,              /* answered with ICMP frag-needed / PTB */
	DROP_NO_HEADROOM,
	DROP_ICMP_UNTRACKED,       /* ICMP error to a VIP quoting nothing we know */
	DROP_DR_PORT_MISMATCH,     /* DR/TUN need vport == rport */
	DROP_UNSUPPORTED,          /* e.g. IPv4 service with IPv6 real server in DR */
	DROP_STANDBY,              /* VRRP backup for the VIP: the master serves it */
	DROP_REASON_MAX
};

struct verdict {
	uint8_t kind;     /* enum verdict_kind */
	uint8_t reason;   /* enum drop_reason for DROP */
	uint16_t iface;   /* egress fib interface id for TX */
};

/* Pass-through counters (not drops) and totals. */
struct engine_stats {
	uint64_t rx, tx, pass, drop;
	uint64_t drops[DROP_REASON_MAX];
	uint64_t parse[PARSE_RESULT_MAX];
	uint64_t new_conns, toa_inserted, mss_clamped, icmp_translated, icmp_too_big_sent;
	uint64_t sorry_used;
	uint64_t toa_no_room;   /* FULLNAT: TCP options full, segment sent without TOA */
};

struct engine_params {
	uint32_t conn_capacity;       /* 0: ULVS_DEFAULT_CONNS */
	struct conn_timeouts timeouts;/* all zero: IPVS defaults */
	bool expire_nodest_conn;      /* drop conns whose dest is unavailable */
	bool expire_quiescent_template;
	bool conn_reuse_mode;         /* reschedule on SYN reuse of TIME_WAIT conn */
};

struct engine;

/* Creates an engine over fib and the service table; both stay owned by the
 * caller and must outlive the engine (or be swapped in with
 * engine_set_services()).  NULL on ENOMEM. */
struct engine *engine_new(const struct engine_params *p, const struct fib *fib,
			  struct svc_table *svcs, uint64_t now_ns);
void engine_free(struct engine *e);

/* Swap in a new service table (after the control thread built it).  On a
 * group leader these setters reach every member. */
void engine_set_services(struct engine *e, struct svc_table *svcs);
void engine_set_fib(struct engine *e, const struct fib *fib);
void engine_set_timeouts(struct engine *e, const struct conn_timeouts *to);

/* Process n (<= ULVS_MAX_BATCH) frames; fill v[i] for pkts[i].  Expires at
 * most ULVS_EXPIRE_SLICE connections first.  Returns the number of TX
 * verdicts. */
unsigned engine_process(struct engine *e, struct pkt *pkts, struct verdict *v, unsigned n,
			uint64_t now_ns);

/* Connection observer, for connection sync: cb runs on the worker, inside
 * engine_process(), for every connection or persistence template the engine
 * creates (ENGINE_CONN_NEW, state as inserted) and every TCP state change
 * (ENGINE_CONN_STATE, after the change).  One-packet (-o) flows are never
 * reported.  cb must not call back into the engine and should only copy
 * what it needs; c is valid during the call only (ct is the table holding
 * it, for conn_remaining_ms).  With several workers cb runs on each
 * worker's thread, in parallel.  NULL turns it off. */
enum engine_conn_event { ENGINE_CONN_NEW = 0, ENGINE_CONN_STATE };
typedef void (*engine_conn_cb)(void *arg, const struct conn_table *ct, const struct conn *c,
			       enum engine_conn_event ev);
void engine_set_conn_cb(struct engine *e, engine_conn_cb cb, void *arg);

/* Insert or update a connection (or persistence template) a peer director
 * reported (connection sync, backup side; IPVS ip_vs_proc_conn).  in gives
 * af, proto, caddr/cport, vaddr/vport, daddr/dport, fwd, state, flags
 * (CONN_F_TEMPLATE, CONN_F_FWMARK, CONN_F_INACTIVE as reported,
 * CONN_F_OUT_SEEN / _OUT_NONSYN / _TOA_DONE), for FULLNAT laddr/lport; the
 * service is found by (proto, vaddr, vport) or fwmark and the real server by
 * daddr/dport in it; svc_id/dest_id in `in` are ignored.  expire_ms: the
 * lifetime the peer had left.  A FULLNAT local port is reserved in this
 * engine's pool.  Counters (active/inactive/persistent) move as for local
 * connections.  Returns 0 (also when an inactive report about a replaced
 * connection is ignored), -ENOENT (no such service or real server here),
 * -EADDRINUSE (FULLNAT port in use by another connection), -EADDRNOTAVAIL
 * (local address unknown here), -EEXIST (tuple is another connection's reply
 * key), -ENOSPC (table full), -EINVAL / -EPROTONOSUPPORT (bad input).
 * Control path between batches; O(dests of the service). */
int engine_conn_import(struct engine *e, const struct conn *in, uint32_t fwmark,
		       uint32_t expire_ms, uint64_t now_ns);

/* This engine's own counters (one worker's). */
const struct engine_stats *engine_stats(const struct engine *e);

/* --- workers ----------------------------------------------------------------
 * Several engines can share one service table and fib, one per data-plane
 * worker thread, each with its own connection table: core/steer.h says
 * which worker owns a packet, so both directions of a connection meet the
 * same table.  engine_set_worker() makes e worker w of n (FULLNAT local
 * ports from w's residue class; per-worker traffic counters when n > 1);
 * only while e has no connections (-EBUSY), -EINVAL for bad w/n.
 * engine_group_join() makes the leader (worker 0) the handle the control
 * plane uses; when the leader joins itself (first) the group's steering
 * (engine_steer()) is fixed from the table's persistence granularity as it
 * is then and the leader's worker count, and stays so for the group's
 * life.  engine_set_services/_fib/_timeouts/_conn_cb on the leader
 * reach every member, engine_conn_import() files a connection with its
 * owner, engine_stats_total()/engine_conn_count() sum the members, and
 * engine_fold_stats() moves the members' traffic counters into the
 * table's dests and services (call it, with the workers stopped between
 * batches, before reading or changing them).  Workers running in parallel
 * share: connection counters of real servers (atomic), the overload flag
 * (atomic), the scheduler's state (a per-service lock around pick).
 * Everything else a worker touches is its own.  Control path only. */
int engine_set_worker(struct engine *e, unsigned worker, unsigned n_workers);
unsigned engine_worker(const struct engine *e);
int engine_group_join(struct engine *leader, struct engine *member);
/* The leader alone again (before the members are freed). */
void engine_group_reset(struct engine *leader);
const struct engine_params *engine_get_params(const struct engine *e);
unsigned engine_group_size(const struct engine *e);
/* The group's steering (the leader's); n == 1 outside a group. */
const struct steer_cfg *engine_steer(const struct engine *e);
struct engine *engine_group_member(struct engine *e, unsigned i);
void engine_fold_stats(struct engine *e);
const struct engine_stats *engine_stats_total(struct engine *e);
uint32_t engine_conn_count(struct engine *e);
void engine_stats_add(struct engine_stats *sum, const struct engine_stats *s);

struct conn_table *engine_conns(struct engine *e);
struct svc_table *engine_services(struct engine *e);
const char *drop_reason_name(enum drop_reason r);

#endif
