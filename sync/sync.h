/* Connection sync between directors (IPVS's sync daemon, in ulvs).
 *
 * The master streams connection creations and state changes to its backups
 * over UDP (multicast 224.0.0.81:8848 by default, like IPVS; a unicast peer
 * address works too), batched into datagrams of at most maxlen bytes and sent
 * within flush_ms, at no more than max_rate bytes per second.  Because
 * datagrams get lost and a backup may start late, the master also walks its
 * whole table every refresh_ms (paced by the same budget) and resends every
 * connection with the time it has left, and walks it at once when a backup
 * asks (resync request, sent by a backup when it starts).  A backup inserts
 * or updates what it hears in its own engine, reserving FULLNAT local ports,
 * so that when the VIP moves to it the connections carry on.  Wire format:
 * sync_proto.h and docs/sync.md.
 *
 * Everything runs on the control thread's event loop; the engine hook only
 * copies into a preallocated buffer.  Return convention: 0 / -errno, NULL.
 */
#ifndef ULVS_SYNC_SYNC_H
#define ULVS_SYNC_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "sync/sync_proto.h"

struct conf;
struct engine;
struct evloop;
struct sync;

enum sync_role { SYNC_ROLE_NONE = 0, SYNC_ROLE_MASTER, SYNC_ROLE_BACKUP };

struct sync_opts {
	char ifname[16];           /* interface to send and receive on */
	uint8_t syncid;            /* 0: accept every sync id (IPVS) */
	uint8_t ttl;               /* multicast TTL, default 1 */
	uint16_t port;             /* host order, default 8848 */
	uint8_t group_af;          /* 0: 224.0.0.81 */
	union ulvs_addr group;     /* multicast group, or the peer's unicast address */
	uint32_t maxlen;           /* datagram payload; 0: interface MTU - 28 */
	uint32_t flush_ms;         /* longest a change waits in a batch; default 20 */
	uint32_t refresh_ms;       /* full table refresh period; default 30000 */
	uint64_t max_rate;         /* bytes per second; default 8 MiB/s */
	uint32_t resync_retry_ms;  /* backup: resend the request; default 1000 */
	FILE *log;                 /* NULL: stderr */
};

struct sync_stats {
	uint64_t tx_msgs, tx_bytes, tx_conns, tx_errors;
	uint64_t tx_dropped;       /* changes not sent: queue full */
	uint64_t refresh_walks, resync_requests_rx, resync_requests_tx;
	uint64_t rx_msgs, rx_bytes, rx_conns;
	uint64_t rx_imported;      /* inserted or updated */
	uint64_t rx_ignored;       /* syncid filtered, or we are master */
	uint64_t rx_errors[SYNC_ERR_MAX]; /* by wire error */
	uint64_t rx_no_service;    /* no such service / real server here */
	uint64_t rx_lport_busy;    /* FULLNAT port taken by another connection */
	uint64_t rx_rejected;      /* other import failures (table full, ...) */
	uint64_t last_rx_ns;       /* loop clock of the last message from the master */
};

/* Defaults filled in, then global_defs lvs_sync_daemon applied.  *role is
 * the initial state of the VRRP instance it names (BACKUP when unknown);
 * VRRP moves it later with sync_set_role().  -ENOENT when c has no
 * lvs_sync_daemon. */
void sync_opts_default(struct sync_opts *o);
int sync_opts_from_conf(struct sync_opts *o, enum sync_role *role, const struct conf *c);

/* Open the socket (joining the group on the interface), register on loop
 * and hook engine e.  NULL after logging why.  o is copied. */
struct sync *sync_start(struct evloop *l, struct engine *e, const struct sync_opts *o,
			enum sync_role role);
/* Master: send, answer resync requests, ignore connection messages.
 * Backup: import, ask for a resync (now and until answered).  Logged once. */
int sync_set_role(struct sync *s, enum sync_role role);
enum sync_role sync_role(const struct sync *s);
const struct sync_stats *sync_stats(const struct sync *s);
/* The options in force: defaults filled in, maxlen as used (ulvsadm -L
 * --daemon, the status view). */
const struct sync_opts *sync_options(const struct sync *s);
const char *sync_role_name(enum sync_role r);
/* Unhook from the engine, unregister, close.  Pending batches are sent
 * first when the rate allows. */
void sync_stop(struct sync *s);

#endif
