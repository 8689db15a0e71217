/* Health checking: keepalived's checkers on the control thread's event loop.
 *
 * check_start() creates one checker per TCP_CHECK / HTTP_GET / SSL_GET /
 * MISC_CHECK / UDP_CHECK / DNS_CHECK / PING_CHECK block of the director's
 * config, schedules them (first run after a random share of warmup), and
 * turns their verdicts into effects through daemon/director.h:
 *
 *   - a real server is alive while all of its checkers are up; when that
 *     changes, director_rs_set_up() takes it out of the scheduling set (or,
 *     with inhibit_on_failure, sets its weight to 0) or puts it back, and
 *     its notify_up / notify_down script runs (as written, no arguments
 *     added: keepalived's behaviour);
 *   - MISC_CHECK with misc_dynamic: exit 0 up, 1 down, 2..255 up with
 *     weight status-2 (director_rs_set_weight());
 *   - quorum: the sum of the weights of live servers against quorum with
 *     hysteresis; crossing it runs quorum_up / quorum_down.  When the quorum
 *     is lost and the service has a sorry_server, the servers still alive
 *     are taken out of the pool too (keepalived's perform_quorum_state), so
 *     the engine, finding no usable real server, sends new connections to
 *     the sorry server; they come back when the quorum is regained.  With
 *     the default quorum 1 this is the same as "sorry server when no real
 *     server is alive".
 *
 * Connections to a server that goes down (ulvs_defs expire_nodest_conn, as
 * the IPVS sysctl): by default its established connections are not moved:
 * their packets are dropped (counted as DROP_NO_DEST) until the client gives
 * up, and no new connection is scheduled to it.  With expire_nodest_conn on,
 * such a connection is expired at its next packet and that packet is
 * scheduled afresh to a live server (or the sorry server).  With
 * inhibit_on_failure the server stays in the table at weight 0, so its
 * established connections carry on and only new ones go elsewhere - the
 * choice for draining instead of cutting.
 *
 * Every state change (checker, real server, quorum) is logged once with its
 * reason on the director's log; check_status() prints the current state of
 * every checker (for ulvsadm's status view).
 * Threading: control thread only.  Return convention: NULL / 0 / -errno.
 */
#ifndef ULVS_CHECK_CHECK_H
#define ULVS_CHECK_CHECK_H

#include <stdio.h>

#include "conf/conf.h"
#include "daemon/director.h"

struct check;

/* Start checking every real server of c, which must be the director's own
 * config (director_conf(d)): checkers refer to its objects by address.
 * Real servers with alpha checkers are taken out of service at once.
 * Returns NULL on ENOMEM (nothing started) and logs the reason. */
struct check *check_start(struct director *d, const struct conf *c);

/* Stop every checker: sockets closed, transfers and timers cancelled,
 * running MISC scripts killed.  With omega on a virtual server, the
 * notify_down of each live real server and quorum_down run (keepalived's
 * shutdown notifiers).  The director's tables are left as they are. */
void check_stop(struct check *k);

/* Reload (keepalived's checker compare): move k onto c, the director's new
 * config, after director_reload().  A checker of the same virtual server
 * (same key), real server (address, port) and equal settings
 * (check_conf_equal) keeps its state - up/down, retries, counters, last
 * result - and its schedule, with no transition logged or notified; a run
 * in flight is aborted and started again at once.  Other checkers of c
 * start as at check_start() (alpha ones take their server out); checkers
 * no longer in c stop (no notify scripts).  A surviving real server keeps
 * its health and quorum state.  -ENOMEM: nothing changed, k still runs on
 * the previous config, which the caller must then keep alive.  The
 * previous config may be freed after a successful return. */
int check_reload(struct check *k, const struct conf *c);
/* Do two checker blocks check the same thing the same way? (every setting,
 * not the location) */
bool check_conf_equal(const struct conf_checker *a, const struct conf_checker *b);

/* One line per checker: service, real server, type, state, last result and
 * its reason, retries, counters.  Then one line per real server and per
 * virtual server (quorum).  Stable, greppable "key=value" text. */
void check_status(const struct check *k, FILE *out);

#endif
