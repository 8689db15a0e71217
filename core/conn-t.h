/* Connection table types.
 *
 * One struct conn per connection (and per persistence template), taken from a
 * pool preallocated at init and referred to by 32-bit index, so the table has
 * no pointers to fix up and a connection fits in 120 bytes.  Each connection
 * is hashed twice in one table: its "in" key (client -> VIP, as the client
 * sends) and its "out" key (real server -> client or -> FULLNAT local address,
 * as replies arrive), so one lookup answers for both directions.
 * Owned by one worker; do not touch from other threads.
 */
#ifndef ULVS_CORE_CONN_T_H
#define ULVS_CORE_CONN_T_H

#include <stdint.h>

#include "addr.h"

#define CONN_NONE UINT32_MAX

/* IPVS TCP states, same order and names as ip_vs_proto_tcp.c so ipvsadm -c
 * output reads the same. */
enum conn_state {
	CS_NONE = 0,
	CS_ESTABLISHED,
	CS_SYN_SENT,
	CS_SYN_RECV,
	CS_FIN_WAIT,
	CS_TIME_WAIT,
	CS_CLOSE,
	CS_CLOSE_WAIT,
	CS_LAST_ACK,
	CS_LISTEN,
	CS_SYNACK,
	CS_UDP,          /* UDP and other protocols: one state */
	CS_ICMP,
	CS_MAX
};

enum conn_flags {
	CONN_F_TEMPLATE = 1u << 0,  /* persistence template, not a flow */
	CONN_F_INACTIVE = 1u << 1,  /* counted in dest->inactconns */
	CONN_F_NO_CPORT = 1u << 2,  /* template with client port wildcard */
	CONN_F_TOA_DONE = 1u << 3,  /* TOA already inserted (FULLNAT) */
	CONN_F_OUT_SEEN = 1u << 4,  /* a reply went through us */
	CONN_F_HASHED = 1u << 5,
	CONN_F_FWMARK = 1u << 6,    /* template keyed by fwmark (in vport/vaddr) */
	CONN_F_SORRY = 1u << 7,     /* scheduled to the sorry server */
	CONN_F_OUT_NONSYN = 1u << 8, /* a reply without SYN went through (set by the
	                              * engine: FULLNAT stops adding TOA) */
};

enum conn_dir { CONN_DIR_IN = 0, CONN_DIR_OUT = 1 };

struct conn {
	union ulvs_addr caddr;   /* client */
	union ulvs_addr vaddr;   /* virtual address (template of fwmark svc: 0) */
	union ulvs_addr daddr;   /* real server */
	union ulvs_addr laddr;   /* FULLNAT local address; = caddr otherwise */
	uint16_t cport, vport, dport, lport; /* network order */
	uint32_t dest_id;        /* svc_table dest index */
	uint32_t svc_id;
	uint32_t hnext[2];       /* hash chain links for the in/out nodes */
	uint32_t tnext;          /* timer wheel slot list */
	uint32_t tprev;          /* back link: conn index, or wheel head (conn.c) */
	uint32_t expires;        /* ms on the table clock (wraps; compare signed) */
	uint32_t timeout;        /* ms, current state's timeout */
	uint32_t control;        /* template controlling us, CONN_NONE */
	uint32_t n_control;      /* templates: how many conns we control */
	uint16_t flags;          /* enum conn_flags */
	uint8_t af, proto;
	uint8_t state;           /* enum conn_state */
	uint8_t fwd;             /* enum fwd_method */
	uint8_t laddr_idx;       /* FULLNAT: index into svc->laddrs */
	uint8_t pad_;
};

/* Per-state timeouts in ms; ipvsadm --set changes ESTABLISHED (tcp),
 * FIN_WAIT (tcpfin) and UDP (udp). */
struct conn_timeouts {
	uint32_t ms[CS_MAX];
};

struct conn_stats {
	uint64_t created, expired, table_full;
	uint64_t templates_created;
};

struct conn_table;

#endif
