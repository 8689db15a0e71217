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

/* Allocates the pool, hash and timer wheel for capacity connections (1 ..
 * 2^30; templates count against it).  The hash has a power-of-two number of
 * buckets between 2/3 and 4/3 of capacity, so with the 120-byte struct conn
 * the table costs at most 128 bytes per connection once capacity >= 4096
 * (conn_table_memory()).  Nothing is allocated after this call.
 * Returns NULL on ENOMEM or a capacity out of range.  now_ns is the clock
 * origin: the table keeps ms since then in uint32 (wraps after 49 days;
 * every comparison is a signed difference, so only spans under 24 days
 * matter).  The release callback must not call back into the table. */
struct conn_table *conn_table_new(uint32_t capacity, uint64_t now_ns,
				  conn_release_cb release, void *ctx);
void conn_table_free(struct conn_table *ct);
/* Key the hash with 64 bits of secret (the daemon passes getrandom() bytes;
 * core/ makes no syscalls, so the default seed only mixes the clock and the
 * heap address).  Only while the table is empty: returns 0 or -EBUSY. */
int conn_table_seed(struct conn_table *ct, uint64_t seed);

/* Default IPVS timeouts (ip_vs_proto_tcp.c / _udp.c).  set_timeouts copies
 * every non-zero entry (0 keeps the current value, as ipvsadm --set does);
 * connections pick a new value up at their next update or touch, as in
 * IPVS where cp->timeout is reloaded on each state transition. */
void conn_timeouts_default(struct conn_timeouts *to);
void conn_table_set_timeouts(struct conn_table *ct, const struct conn_timeouts *to);
const struct conn_timeouts *conn_table_timeouts(const struct conn_table *ct);

/* Find the connection a packet with this tuple belongs to, in either
 * direction; *dir tells which key matched (dir may be NULL).  The in key is
 * (proto, af, caddr, cport, vaddr, vport), the out key (proto, af, daddr,
 * dport, laddr, lport); one hash of the wire tuple finds both.  Templates
 * never match here. */
struct conn *conn_lookup(struct conn_table *ct, uint8_t af, uint8_t proto,
			 const union ulvs_addr *saddr, uint16_t sport,
			 const union ulvs_addr *daddr, uint16_t dport, enum conn_dir *dir);

/* Batch prefetch, to overlap the cache misses of a batch's lookups (the
 * table is far larger than the caches at 1M connections): call
 * conn_prefetch_bucket for every packet of a batch, then
 * conn_prefetch_entry with the returned bucket for every packet, then do
 * the lookups.  Hints only: the table may change in between. */
uint32_t conn_prefetch_bucket(const struct conn_table *ct, uint8_t af, uint8_t proto,
			      const union ulvs_addr *saddr, uint16_t sport,
			      const union ulvs_addr *daddr, uint16_t dport);
void conn_prefetch_entry(const struct conn_table *ct, uint32_t bucket);
void conn_prefetch_next(const struct conn_table *ct, uint32_t bucket);

/* Insert a new connection filled from tmpl (tuple, dest, svc, fwd, state,
 * flags).  Both keys are hashed and the timer armed at now + the state's
 * timeout.  Returns NULL when the table is full (counted in stats) - existing
 * entries are never touched in that case.  The caller has looked the tuple
 * up first: duplicate keys are not detected.  CONN_F_TEMPLATE and
 * CONN_F_HASHED in tmpl are ignored; CONN_F_INACTIVE is set by the table
 * from the state (see "Active and inactive" below). */
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
/* Apply a packet: state change, CONN_F_INACTIVE, timer refresh.  Returns
 * the previous state.  A reply (dir OUT) sets CONN_F_OUT_SEEN; DR, TUN and
 * LOCAL connections use the INPUT-ONLY table until one is seen (IPVS's
 * IP_VS_CONN_F_NOOUTPUT).  Non-TCP connections and templates: conn_touch.
 *
 * Active and inactive, as IPVS counts them (ip_vs_conn.c ip_vs_bind_dest /
 * ip_vs_unbind_dest, ip_vs_proto_tcp.c set_tcp_state):
 *  - a template counts in dest->persistconns, never in active/inactive;
 *  - a connection counts in dest->inactconns while CONN_F_INACTIVE is set
 *    and in dest->activeconns otherwise.  IPVS binds every new connection
 *    inactive and flips the flag only when TCP enters or leaves
 *    ESTABLISHED, so the table keeps CONN_F_INACTIVE set exactly when
 *    state != CS_ESTABLISHED (UDP and ICMP are always inactive, which is
 *    what ipvsadm -L shows for them);
 *  - the engine counts a connection by its flag right after conn_insert,
 *    mirrors the change after each conn_update with conn_active_delta(),
 *    and uncounts it by its flag in the release callback.
 *  lc/wlc weigh activeconns * 256 + inactconns (ip_vs_dest_conn_overhead);
 *  sed/nq count activeconns only. */
enum conn_state conn_update(struct conn_table *ct, struct conn *c, enum conn_dir dir,
			    uint8_t tcp_flags, uint64_t now_ns);

/* After `uint16_t before = c->flags; conn_update(...)`: +1 when c moved from
 * inactconns to activeconns, -1 for the reverse, 0 when neither. */
static inline int conn_active_delta(uint16_t flags_before, const struct conn *c)
{
	if ((flags_before ^ c->flags) & CONN_F_INACTIVE)
		return (c->flags & CONN_F_INACTIVE) ? -1 : 1;
	return 0;
}
/* Refresh the timer with the current state's timeout (UDP, ICMP); a
 * template is refreshed with its own timeout (IPVS ip_vs_conn_put). */
void conn_touch(struct conn_table *ct, struct conn *c, uint64_t now_ns);

/* Connection sync, backup side: put c in state s as the master reported it
 * (CONN_F_INACTIVE follows the state as in conn_update; the caller mirrors
 * the active/inactive move on the dest with conn_active_delta()) and arm its
 * expiry at now + expire_ms, the lifetime the master had left.  The state's
 * own timeout is reloaded for the next update.  Templates keep their state
 * and persistence timeout; only the expiry moves.  Returns the old state. */
enum conn_state conn_sync_state(struct conn_table *ct, struct conn *c, enum conn_state s,
				uint32_t expire_ms, uint64_t now_ns);

/* Expire at most max connections whose time has come; returns how many
 * (a template freed together with its last controlled connection counts
 * too, so the figure can pass max by the number of such templates).
 * Templates with n_control > 0 are re-armed for their own timeout instead
 * (IPVS ip_vs_conn_expire's expire_later; the kernel re-arms for 60 s).  Bounded work: at most
 * max frees, 4 * max + 64 connection visits and CONN_EXPIRE_STEPS wheel
 * slots per call; what is left continues next call.  Call once per batch. */
unsigned conn_expire(struct conn_table *ct, uint64_t now_ns, unsigned max);
/* true when conn_expire() stopped on its budget before reaching now_ns. */
bool conn_expire_backlog(const struct conn_table *ct, uint64_t now_ns);
/* Drop c now (flush, dest removed with expire_nodest_conn): the release
 * callback runs before this returns.  A template that still controls
 * connections is only unhashed (no new connection finds it) and goes with
 * its last controlled connection, as IPVS keeps such a template alive. */
void conn_free(struct conn_table *ct, struct conn *c);

/* Iteration for listings (ipvsadm -c) on a quiesced table; fn returns
 * non-zero to stop.  O(capacity). */
void conn_foreach(struct conn_table *ct, int (*fn)(void *arg, const struct conn *c), void *arg);
/* Resumable conn_foreach (connection sync's paced refresh): visit at most
 * max_slots pool slots from *cursor (start at 0), calling fn on the live
 * ones; fn returns non-zero to pause after that connection.  *cursor is left
 * where to resume; returns true when the walk reached the end of the table
 * (then *cursor is 0 again).  O(max_slots). */
bool conn_walk(struct conn_table *ct, uint32_t *cursor, uint32_t max_slots,
	       int (*fn)(void *arg, const struct conn *c), void *arg);
uint32_t conn_count(const struct conn_table *ct);
uint32_t conn_capacity(const struct conn_table *ct);
const struct conn_stats *conn_table_stats(const struct conn_table *ct);
/* Remaining lifetime of c in ms at now. */
uint32_t conn_remaining_ms(const struct conn_table *ct, const struct conn *c, uint64_t now_ns);
const char *conn_state_name(enum conn_state s);
/* Bytes of memory the table uses (pool + hash + wheel + header). */
size_t conn_table_memory(const struct conn_table *ct);

#endif
