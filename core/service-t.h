/* Virtual services, real servers (IPVS calls them destinations), FULLNAT
 * local address pools and firewall-mark classification rules.
 *
 * A struct svc_table is built whole by the control thread and published to
 * workers by pointer swap; the engine reads it and only touches the counters
 * marked "owned by the worker".  Real servers are referenced by index (uint32)
 * from connections so a connection stays small and tables can be rebuilt.
 */
#ifndef ULVS_CORE_SERVICE_T_H
#define ULVS_CORE_SERVICE_T_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "constants.h"

enum fwd_method {
	FWD_NAT = 0,   /* ipvsadm -m, lb_kind NAT */
	FWD_DR,        /* ipvsadm -g, lb_kind DR (gatewaying) */
	FWD_TUN,       /* ipvsadm -i, lb_kind TUN */
	FWD_FNAT,      /* DPVS lb_kind FNAT */
	FWD_LOCAL,     /* sorry server on the director itself: pass to the kernel */
	FWD_MAX
};

enum dest_flags {
	DEST_F_AVAILABLE = 1u << 0, /* in service (health checks pass) */
	DEST_F_OVERLOAD = 1u << 1,  /* conns >= upper threshold, until < lower */
	DEST_F_SORRY = 1u << 2,     /* this is the service's sorry server */
	DEST_F_TRASH = 1u << 3,     /* removed at runtime: in no service's set,
				     * kept until its connections are gone
				     * (IPVS's dest trash); free once they are */
};

/* Per-real-server counters, as ipvsadm --stats shows them. */
struct dest_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};

struct dest {
	union ulvs_addr addr;
	uint16_t port;            /* network order */
	uint8_t af;
	uint8_t fwd;              /* enum fwd_method */
	int32_t weight;           /* 0: quiesced, no new connections */
	uint32_t u_threshold;     /* 0: no limit */
	uint32_t l_threshold;     /* 0 with u_threshold set: 3/4 of upper */
	uint32_t flags;           /* enum dest_flags */
	uint32_t id;              /* index in svc_table.dests */
	uint32_t svc_id;          /* owning service */
	/* Owned by the worker; do not touch from the control thread. */
	uint32_t activeconns, inactconns, persistconns;
	struct dest_stats stats;
	/* Scheduler scratch (lblc/lblcr/mh keep more in svc->sched_data). */
	uint32_t sched_aux;
};

/* A real server's connection counters, read while workers move them
 * (atomically, engine.c): a relaxed atomic load each. */
static inline uint32_t dest_active(const struct dest *d)
{
	return __atomic_load_n(&d->activeconns, __ATOMIC_RELAXED);
}

static inline uint32_t dest_inact(const struct dest *d)
{
	return __atomic_load_n(&d->inactconns, __ATOMIC_RELAXED);
}

enum svc_flags {
	SVC_F_PERSISTENT = 1u << 0,  /* ipvsadm -p */
	SVC_F_ONEPACKET = 1u << 1,   /* ipvsadm -o: UDP, no connection kept */
	SVC_F_SCHED1 = 1u << 2,      /* -b flag-1: sh-fallback / mh-fallback */
	SVC_F_SCHED2 = 1u << 3,      /* -b flag-2: sh-port / mh-port */
	SVC_F_SCHED3 = 1u << 4,      /* -b flag-3 */
	SVC_F_SYNPROXY = 1u << 5,    /* reserved */
	SVC_F_STANDBY = 1u << 7,     /* VRRP backup for this VIP: not ours to serve */
	SVC_F_TRASH = 1u << 6,       /* deleted at runtime: not in the index,
				      * slot kept while connections use it */
};

/* The flags ipvsadm sets and shows (everything but SVC_F_TRASH). */
#define SVC_F_USER_MASK (SVC_F_PERSISTENT | SVC_F_ONEPACKET | SVC_F_SCHED1 | SVC_F_SCHED2 | \
			 SVC_F_SCHED3 | SVC_F_SYNPROXY)

struct laddr {
	union ulvs_addr addr;
	uint8_t af;
	uint16_t iface;            /* where replies to it arrive / we send from */
};

struct sched_ops;

struct svc_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
};

struct svc {
	uint32_t id;
	uint8_t af;
	uint8_t proto;             /* IPPROTO_TCP / IPPROTO_UDP; 0 for fwmark (any) */
	uint16_t port;             /* network order; 0 for fwmark services */
	union ulvs_addr addr;      /* VIP; zero for fwmark services */
	uint32_t fwmark;           /* non-zero: a firewall-mark service */
	uint32_t flags;            /* enum svc_flags */
	uint32_t timeout;          /* persistence timeout, seconds */
	uint32_t netmask;          /* persistence granularity: prefix length */
	const struct sched_ops *sched;
	void *sched_data;          /* owned by the scheduler */
	uint32_t sched_param;      /* scheduler tunable, 0 = default: mh lookup
				    * table size (a prime <= 65521, default 4093);
				    * lblc/lblcr cache expiration in seconds
				    * (default 86400, the kernel's sysctl) */
	uint32_t *dests;           /* ids into svc_table.dests */
	uint32_t n_dests;
	int32_t sorry_dest;        /* id of the sorry server, -1: none */
	struct laddr laddrs[ULVS_MAX_LADDRS];
	uint32_t n_laddrs;
	/* Owned by the worker. */
	struct svc_stats stats;
	uint32_t sched_cursor;     /* rr position and similar */
	uint32_t sched_lock;       /* workers pick one at a time (engine.c) */
};

/* A classification rule: packets matching it get mark (the ipvsadm -f world,
 * done here because ulvs sees packets before netfilter could mark them). */
struct mark_rule {
	uint8_t af;
	uint8_t proto;             /* 0: any */
	uint8_t plen;
	union ulvs_addr prefix;    /* destination prefix */
	uint16_t port_lo[8], port_hi[8]; /* host order ranges; n_ports 0: any port */
	uint8_t n_ports;
	uint32_t mark;
};

/* One entry of the set svc_owns_addr() consults (VIPs and local addresses). */
struct svc_owned_addr {
	union ulvs_addr addr;
	uint8_t af, used;
};

struct svc_table {
	struct svc svcs[ULVS_MAX_SERVICES];
	uint32_t n_svcs;
	struct dest *dests;        /* ULVS_MAX_DESTS entries, allocated at init */
	uint32_t n_dests;
	uint32_t dest_ids[ULVS_MAX_DESTS]; /* backing store for svc.dests */
	struct mark_rule marks[ULVS_MAX_MARK_RULES];
	uint32_t n_marks;
	/* Open-addressed index (proto, af, addr, port) and (fwmark) -> svc id. */
	uint32_t index[2 * ULVS_MAX_SERVICES];
	/* Open-addressed set of every VIP and local address, filled by
	 * svc_commit(); when it would pass 3/4 full, owned_overflow is set and
	 * svc_owns_addr() scans the services instead. */
	struct svc_owned_addr owned[ULVS_MAX_OWNED_ADDRS];
	uint32_t n_owned;
	bool owned_overflow;
};

#endif
