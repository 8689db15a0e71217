/* Connection table: lookup, insert, state transitions, expiry.
 *
 * Return convention: pointers are NULL when absent; ints are 0 / -errno.
 * All functions are O(1) expected unless noted; owned by one worker thread.
 * Time is the engine clock in nanoseconds; the table keeps ms internally.
 */
#ifndef ULVS_CORE_CONN_H
#define ULVS_CORE_CONN_H

#include <stdbool.h>

#include "conn-t.h"

/* Called for every connection the table frees (expiry or conn_free), before
 * its slot is reused: the engine releases dest counters and FULLNAT ports. */
typedef void (*conn_release_cb)(void *ctx, struct conn *c);

/* Allocates the pool and hash for capacity connections (rounded up to a power
 * of two for the hash).  Returns NULL on ENOMEM.  now_ns is the clock origin. */
struct conn_table *conn_table_new(uint32_t capacity, uint64_t now_ns,
				  conn_release_cb release, void *ctx);
void conn_table_free(struct conn_table *ct);

/* Default IPVS timeouts (ip_vs_proto_tcp.c / _udp.c). */
void conn_timeouts_default(struct conn_timeouts *to);
void conn_table_set_timeouts(struct conn_table *ct, const struct conn_timeouts *to);
const struct conn_timeouts *conn_table_timeouts(const struct conn_table *ct);

/* Find the connection a packet with this tuple belongs to, in either
 * direction; *dir tells which key matched.  Templates never match here. */
struct conn *conn_lookup(struct conn_table *ct, uint8_t af, uint8_t proto,
			 const union ulvs_addr *saddr, uint16_t sport,
			 const union ulvs_addr *daddr, uint16_t dport, enum conn_dir *dir);

/* Insert a new connection filled from tmpl (tuple, dest, svc, fwd, state,
 * flags).  Both keys are hashed and the timer armed at now + the state's
 * timeout.  Returns NULL when the table is full (counted in stats) - existing
 * entries are never touched in that case. */
struct conn *conn_insert(struct conn_table *ct, const struct conn *tmpl, uint64_t now_ns);

/* Persistence templates: key (proto, caddr masked, cport or 0, vaddr or 0,
 * vport or fwmark).  Lookup refreshes nothing; insert arms timeout_ms. */
struct conn *conn_tmpl_lookup(struct conn_table *ct, uint8_t af, uint8_t proto,
			      const union ulvs_addr *caddr, uint16_t cport,
			      const union ulvs_addr *vaddr, uint16_t vport);
struct conn *conn_tmpl_insert(struct conn_table *ct, const struct conn *tmpl,
			      uint32_t timeout_ms, uint64_t now_ns);
/* Tie c to template t (IPVS ip_vs_control_add): t lives while c does. */
void conn_set_control(struct conn_table *ct, struct conn *c, struct conn *t);

/* TCP state machine (ip_vs_proto_tcp.c): next state for a segment with flags
 * seen in direction dir.  in_only: DR/TUN, where replies bypass us.  Pure. */
enum conn_state conn_tcp_next(enum conn_state cur, enum conn_dir dir, uint8_t tcp_flags,
			      bool in_only);
/* Apply a packet: state change, active/inactive bookkeeping via the returned
 * old state, timer refresh.  Returns the previous state. */
enum conn_state conn_update(struct conn_table *ct, struct conn *c, enum conn_dir dir,
			    uint8_t tcp_flags, uint64_t now_ns);
/* Refresh the timer with the current state's timeout (UDP, ICMP). */
void conn_touch(struct conn_table *ct, struct conn *c, uint64_t now_ns);

/* Expire at most max connections whose time has come; returns how many.
 * Templates with n_control > 0 are re-armed instead (IPVS semantics).
 * Bounded work: call once per batch. */
unsigned conn_expire(struct conn_table *ct, uint64_t now_ns, unsigned max);
/* Drop c now (flush, dest removed with expire_nodest_conn). */
void conn_free(struct conn_table *ct, struct conn *c);

/* Iteration for listings (ipvsadm -c) on a quiesced table; fn returns
 * non-zero to stop.  O(capacity). */
void conn_foreach(struct conn_table *ct, int (*fn)(void *arg, const struct conn *c), void *arg);
uint32_t conn_count(const struct conn_table *ct);
uint32_t conn_capacity(const struct conn_table *ct);
const struct conn_stats *conn_table_stats(const struct conn_table *ct);
/* Remaining lifetime of c in ms at now. */
uint32_t conn_remaining_ms(const struct conn_table *ct, const struct conn *c, uint64_t now_ns);
const char *conn_state_name(enum conn_state s);
/* Bytes of memory the table uses (pool + hash + wheel). */
size_t conn_table_memory(const struct conn_table *ct);

#endif
