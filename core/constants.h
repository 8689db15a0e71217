/* Compile-time limits of the data plane, in one place.
 *
 * Every limit can be overridden at build time (-DULVS_MAX_SERVICES=...), so a
 * deployment that needs more services or a bigger connection table does not
 * need a patch.  Pools are sized from these at init; nothing grows per packet.
 */
#ifndef ULVS_CORE_CONSTANTS_H
#define ULVS_CORE_CONSTANTS_H

#ifndef ULVS_MAX_SERVICES
#define ULVS_MAX_SERVICES 1024          /* virtual services in one table */
#endif
#ifndef ULVS_MAX_DESTS
#define ULVS_MAX_DESTS 8192             /* real servers, all services together */
#endif
#ifndef ULVS_MAX_WORKERS
#define ULVS_MAX_WORKERS 64             /* data-plane worker threads */
#endif
#ifndef ULVS_MAX_IFACES
#define ULVS_MAX_IFACES 32              /* interfaces the engine can transmit on */
#endif
#ifndef ULVS_MAX_ROUTES
#define ULVS_MAX_ROUTES 1024
#endif
#ifndef ULVS_MAX_NEIGHS
#define ULVS_MAX_NEIGHS 4096
#endif
#ifndef ULVS_MAX_MARK_RULES
#define ULVS_MAX_MARK_RULES 256         /* firewall-mark classification rules */
#endif
#ifndef ULVS_MAX_LADDRS
#define ULVS_MAX_LADDRS 64              /* FULLNAT local addresses per service */
#endif
#ifndef ULVS_MAX_OWNED_ADDRS
#define ULVS_MAX_OWNED_ADDRS 4096       /* hash of VIPs + local addresses */
#endif
#ifndef ULVS_MAX_BATCH
#define ULVS_MAX_BATCH 64               /* packets per engine_process() call */
#endif
#ifndef ULVS_DEFAULT_CONNS
#define ULVS_DEFAULT_CONNS (1u << 20)   /* connection table capacity */
#endif
#ifndef ULVS_EXPIRE_SLICE
#define ULVS_EXPIRE_SLICE 256           /* max connections expired per batch */
#endif
/* From this many connections a batch prefetches its lookups' entries (and
 * the second node of each chain): below it the table sits in the caches
 * and the extra passes only cost (bench_engine: -8% at 1k connections,
 * 2x at 1M). */
#ifndef ULVS_PREFETCH_MIN_CONNS
#define ULVS_PREFETCH_MIN_CONNS 32768
#endif

/* FULLNAT local ports are taken from this range (DPVS uses the same idea:
 * keep clear of well-known ports so local services on the laddr still work). */
#ifndef ULVS_LPORT_MIN
#define ULVS_LPORT_MIN 1025
#endif
#ifndef ULVS_LPORT_MAX
#define ULVS_LPORT_MAX 65535
#endif

/* Headroom the I/O layer must leave in front of every frame so the engine can
 * prepend an outer IPv6 header (TUN) or grow the TCP header (TOA) in place. */
#define ULVS_HEADROOM 64

#endif
