/* The control protocol between ulvsadm and ulvsd, over a unix stream socket.
 *
 * Every message is a 12-byte header (magic "ULVS", version, type, payload
 * length; all big-endian) and a payload of exactly that length.  Payloads
 * are fixed-layout records written field by field in network order, never
 * raw structs, so the decoder can check every byte: padding must be zero,
 * enums in range, IPv4 addresses clean in their upper bytes, strings
 * NUL-terminated and of the expected alphabet, and counts consistent with
 * the length before anything is allocated.  A request that fails any check
 * gets an error reply; nothing is applied from it.
 *
 * Request/reply, one at a time per connection: INFO, LIST (services, with an
 * optional one-service filter), CONNS (a page of the connection table from a
 * cursor), TIMEOUTS, CMD (a batch of ipvsadm commands applied all or
 * nothing).  Replies: OK, ERROR (errno + failing index + text), and one
 * reply type per query.  Added since, under the same version: STATUS (the
 * director's state as sections of key/value records, see below), DAEMON,
 * START_DAEMON and STOP_DAEMON (ipvsadm's sync daemon commands) and
 * CONNS_SVC (a CONNS page of one service's connections).
 * Return convention: decoders return 0 or -EBADMSG / -EPROTO / -E2BIG /
 * -ENOMEM; encoders return bytes written or -ENOSPC / -EINVAL.
 */
#ifndef ULVS_CTL_PROTO_H
#define ULVS_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define CTL_MAGIC 0x554c5653u      /* "ULVS" */
#define CTL_VERSION 1
#define CTL_HDR_LEN 12
#ifndef CTL_MAX_REQUEST
#define CTL_MAX_REQUEST (1u << 20)  /* largest request payload (a -R batch) */
#endif
#ifndef CTL_MAX_REPLY
#define CTL_MAX_REPLY (8u << 20)    /* largest reply payload (a full listing) */
#endif
#define CTL_MAX_BATCH 4096          /* commands in one CMD request */
#define CTL_SCHED_LEN 16            /* IP_VS_SCHEDNAME_MAXLEN */
#define CTL_IFNAME_LEN 16
#define CTL_MSG_LEN 256             /* error text */
#define CTL_MAX_TIMEOUT (86400u * 31) /* ipvsadm's MAX_TIMEOUT, seconds */
#define CTL_CONNS_PAGE 4096         /* connections per CONNS reply at most */

enum ctl_type {
	CTL_REQ_INFO = 1,
	CTL_REQ_LIST = 2,
	CTL_REQ_CONNS = 3,
	CTL_REQ_TIMEOUTS = 4,
	CTL_REQ_CMD = 5,
	/* Additions (same version: an older ulvsd answers EOPNOTSUPP). */
	CTL_REQ_STATUS = 6,         /* no payload: the director's status */
	CTL_REQ_DAEMON = 7,         /* no payload: the sync daemons (-L --daemon) */
	CTL_REQ_START_DAEMON = 8,   /* one ctl_daemon (--start-daemon) */
	CTL_REQ_STOP_DAEMON = 9,    /* state (--stop-daemon) */
	CTL_REQ_CONNS_SVC = 10,     /* CONNS of one service (-c -t|-u|-f) */
	CTL_REP_OK = 0x81,
	CTL_REP_ERROR = 0x82,
	CTL_REP_INFO = 0x83,
	CTL_REP_LIST = 0x84,
	CTL_REP_CONNS = 0x85,
	CTL_REP_TIMEOUTS = 0x86,
	CTL_REP_STATUS = 0x87,
	CTL_REP_DAEMON = 0x88,
};

enum ctl_op {
	CTL_OP_ADD_SVC = 1,   /* -A */
	CTL_OP_EDIT_SVC,      /* -E */
	CTL_OP_DEL_SVC,       /* -D */
	CTL_OP_FLUSH,         /* -C */
	CTL_OP_ADD_DEST,      /* -a */
	CTL_OP_EDIT_DEST,     /* -e */
	CTL_OP_DEL_DEST,      /* -d */
	CTL_OP_ZERO,          /* -Z (has_svc 0: every service) */
	CTL_OP_SET_TIMEOUT,   /* --set */
	CTL_OP_ADD_LADDR,     /* -P / --add-laddr (DPVS) */
	CTL_OP_DEL_LADDR,     /* -Q / --del-laddr (DPVS) */
	CTL_OP_MAX
};

struct ctl_hdr {
	uint32_t magic;
	uint16_t version, type;
	uint32_t len;
};

/* A virtual service key: (af, proto, addr, port) or (af, fwmark). */
struct ctl_svc_key {
	uint8_t af;                 /* enum ulvs_af */
	uint8_t proto;              /* 6, 17; 0 with fwmark */
	uint16_t port;              /* network order */
	union ulvs_addr addr;
	uint32_t fwmark;
};

/* One ipvsadm command.  Like ipvsadm, -E and -e carry every setting (the
 * defaults for what the user left out), not a difference. */
struct ctl_cmd {
	uint8_t op;                 /* enum ctl_op */
	uint8_t has_svc;
	struct ctl_svc_key svc;
	char sched[CTL_SCHED_LEN];  /* "" = wlc */
	uint32_t svc_flags;         /* SVC_F_USER_MASK bits */
	uint32_t timeout;           /* persistence, s */
	uint32_t netmask;           /* prefix length; 0 = host */
	uint8_t dest_af;
	uint8_t fwd;                /* enum fwd_method */
	uint16_t dest_port;         /* network order */
	union ulvs_addr dest_addr;
	int32_t weight;
	uint32_t u_threshold, l_threshold;
	uint8_t laddr_af;
	union ulvs_addr laddr;
	char ifname[CTL_IFNAME_LEN];
	uint32_t to_tcp, to_tcpfin, to_udp; /* --set, seconds; 0 = keep */
};

/* The five counters and five rates ipvsadm --stats / --rate show. */
struct ctl_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
	uint64_t cps, inpps, outpps, inbps, outbps;
};

struct ctl_dest_info {
	uint8_t af, fwd;
	uint16_t port;
	union ulvs_addr addr;
	int32_t weight;
	uint32_t u_threshold, l_threshold;
	uint32_t activeconns, inactconns, persistconns;
	uint32_t flags;             /* dest_flags */
	struct ctl_stats st;
};

struct ctl_laddr_info {
	uint8_t af;
	union ulvs_addr addr;
	char ifname[CTL_IFNAME_LEN];
	uint32_t conns;             /* connections through it */
};

struct ctl_svc_info {
	struct ctl_svc_key key;
	char sched[CTL_SCHED_LEN];
	uint32_t flags, timeout, netmask;
	struct ctl_stats st;
	uint32_t n_dests, n_laddrs;
	struct ctl_dest_info *dests;   /* decoder-allocated */
	struct ctl_laddr_info *laddrs;
};

struct ctl_list {
	uint32_t n;
	struct ctl_svc_info *svcs;
};

struct ctl_info {
	uint32_t version;           /* IPVS-style code: 1.2.1 = 0x010201 */
	uint32_t size;              /* connection table capacity */
	uint32_t n_svcs, n_conns;
	char daemon_version[32];
};

struct ctl_conn_info {
	uint8_t af, proto, state, fwd;
	uint16_t flags;             /* conn_flags */
	uint16_t cport, vport, dport, lport;
	union ulvs_addr caddr, vaddr, daddr, laddr;
	uint32_t expires_ms;
};

struct ctl_conns {
	uint32_t next;              /* cursor for the next page; UINT32_MAX: done */
	uint32_t n;
	struct ctl_conn_info *c;
};

struct ctl_timeouts {
	uint32_t tcp, tcpfin, udp;  /* seconds */
};

struct ctl_error {
	int32_t err;                /* positive errno */
	uint32_t index;             /* failing command of a batch */
	char msg[CTL_MSG_LEN];
};

/* ---- framing ---- */
void ctl_hdr_encode(uint8_t out[CTL_HDR_LEN], uint16_t type, uint32_t len);
/* Checks magic, version and len <= max; -EPROTO or -E2BIG. */
int ctl_hdr_decode(const uint8_t in[CTL_HDR_LEN], struct ctl_hdr *h, uint32_t max);

/* ---- a growable output buffer (encoders append to it) ---- */
struct ctl_buf {
	uint8_t *p;
	size_t len, cap, max;       /* max: refuse to grow past (-ENOSPC) */
	int err;                    /* first error; further puts are no-ops */
};
void ctl_buf_init(struct ctl_buf *b, size_t max);
void ctl_buf_free(struct ctl_buf *b);
/* Start a message (header with length to be patched) / finish it.
 * ctl_msg_end returns 0 or the buffer's error. */
size_t ctl_msg_begin(struct ctl_buf *b, uint16_t type);
int ctl_msg_end(struct ctl_buf *b, size_t start);

/* ---- payload encoders (append to b) ---- */
void ctl_put_cmds(struct ctl_buf *b, const struct ctl_cmd *c, uint32_t n);
void ctl_put_list_req(struct ctl_buf *b, const struct ctl_svc_key *filter);
void ctl_put_conns_req(struct ctl_buf *b, uint32_t cursor, uint32_t max);
void ctl_put_error(struct ctl_buf *b, const struct ctl_error *e);
void ctl_put_info(struct ctl_buf *b, const struct ctl_info *i);
void ctl_put_timeouts(struct ctl_buf *b, const struct ctl_timeouts *t);
/* A LIST reply is written incrementally: count first, then services. */
void ctl_put_u32(struct ctl_buf *b, uint32_t v);
void ctl_put_svc_info(struct ctl_buf *b, const struct ctl_svc_info *s);
void ctl_put_conn_info(struct ctl_buf *b, const struct ctl_conn_info *c);

/* ---- payload decoders (whole payload; trailing bytes are an error) ---- */
/* *out is malloc'd (free()); n in 1..CTL_MAX_BATCH. */
int ctl_get_cmds(const uint8_t *p, size_t len, struct ctl_cmd **out, uint32_t *n);
int ctl_get_list_req(const uint8_t *p, size_t len, struct ctl_svc_key *filter, bool *has);
int ctl_get_conns_req(const uint8_t *p, size_t len, uint32_t *cursor, uint32_t *max);
int ctl_get_error(const uint8_t *p, size_t len, struct ctl_error *e);
int ctl_get_info(const uint8_t *p, size_t len, struct ctl_info *i);
int ctl_get_timeouts(const uint8_t *p, size_t len, struct ctl_timeouts *t);
int ctl_get_list(const uint8_t *p, size_t len, struct ctl_list *l);
void ctl_list_free(struct ctl_list *l);
int ctl_get_conns(const uint8_t *p, size_t len, struct ctl_conns *c);
void ctl_conns_free(struct ctl_conns *c);

/* Checks of one command alone (the decoder runs it; the CLI may too). */
int ctl_cmd_check(const struct ctl_cmd *c);
bool ctl_svc_key_eq(const struct ctl_svc_key *a, const struct ctl_svc_key *b);

/* ---- sync daemon (ipvsadm --start-daemon / --stop-daemon / -L --daemon) ---- */

enum ctl_daemon_state {     /* IPVS's IP_VS_STATE_* */
	CTL_DAEMON_MASTER = 1,
	CTL_DAEMON_BACKUP = 2,
};

struct ctl_daemon {
	uint8_t state;              /* enum ctl_daemon_state */
	uint8_t syncid;             /* 0: every sync id (backup) */
	uint8_t ttl;                /* 0: default (1) */
	uint8_t group_af;           /* ULVS_AF_NONE: default group 224.0.0.81 */
	uint16_t port;              /* network order; 0: default 8848 */
	uint32_t maxlen;            /* datagram payload; 0: from the MTU */
	char ifname[CTL_IFNAME_LEN];
	union ulvs_addr group;      /* multicast group or unicast peer */
};

#define CTL_MAX_DAEMONS 2           /* a master and a backup, as IPVS */
struct ctl_daemons {
	uint32_t n;
	struct ctl_daemon d[CTL_MAX_DAEMONS];
};

void ctl_put_daemon(struct ctl_buf *b, const struct ctl_daemon *d);
int ctl_get_daemon(const uint8_t *p, size_t len, struct ctl_daemon *d);
void ctl_put_daemons(struct ctl_buf *b, const struct ctl_daemons *d);
int ctl_get_daemons(const uint8_t *p, size_t len, struct ctl_daemons *d);
void ctl_put_stop_daemon(struct ctl_buf *b, uint8_t state);
int ctl_get_stop_daemon(const uint8_t *p, size_t len, uint8_t *state);

/* CONNS_SVC request: a CONNS request plus the service whose connections
 * (and persistence templates) are wanted; the reply is a CONNS reply whose
 * cursor counts table positions, not returned entries. */
void ctl_put_conns_svc_req(struct ctl_buf *b, uint32_t cursor, uint32_t max,
			   const struct ctl_svc_key *svc);
int ctl_get_conns_svc_req(const uint8_t *p, size_t len, uint32_t *cursor, uint32_t *max,
			  struct ctl_svc_key *svc);

/* ---- status (ulvsadm --status) ----
 * A list of named sections ("dataplane", "drops", "vrrp", "checkers",
 * "sync", ...), each a list of records, each a list of typed key/value
 * pairs.  The daemon's subsystems fill sections without the protocol
 * knowing their types, and the CLI prints any section it does not know
 * generically, so either side can add keys without a version bump.
 * Keys and section names: [a-z0-9_], 1..CTL_STATUS_KEY-1 bytes.  String
 * values: printable ASCII, at most CTL_STATUS_STR bytes.
 * Wire: u8 nsec; per section u8 len, name, u32 nrec; per record u16 nkv;
 * per pair u8 len, key, u8 kind, then u64 (U64, I64 two's complement) or
 * u16 len + bytes (STR). */
#define CTL_STATUS_KEY 32
#define CTL_STATUS_STR 1024
#define CTL_STATUS_MAX_SECTIONS 64
#define CTL_STATUS_MAX_KVS 256      /* pairs in one record */

enum ctl_status_kind { CTL_SK_STR = 0, CTL_SK_U64 = 1, CTL_SK_I64 = 2, CTL_SK_MAX };

struct ctl_status_kv {
	char key[CTL_STATUS_KEY];
	uint8_t kind;               /* enum ctl_status_kind */
	uint64_t u;                 /* U64 */
	int64_t i;                  /* I64 */
	char *s;                    /* STR: malloc'd, NUL-terminated */
};

struct ctl_status_rec {
	uint32_t n, cap;
	struct ctl_status_kv *kv;
};

struct ctl_status_sec {
	char name[CTL_STATUS_KEY];
	uint32_t n, cap;
	struct ctl_status_rec *rec;
};

struct ctl_status {
	uint32_t n, cap;
	struct ctl_status_sec *sec;
	int err;                    /* first builder error (-ENOMEM, -EINVAL, -E2BIG) */
};

/* Builders: append to the last section / record.  Errors are sticky in
 * st->err (a bad key or name, too many items, no memory) and later calls
 * are no-ops; the caller checks st->err once.  Zero-initialise st first. */
void ctl_status_section(struct ctl_status *st, const char *name);
void ctl_status_record(struct ctl_status *st);
void ctl_status_str(struct ctl_status *st, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_status_u64(struct ctl_status *st, const char *key, uint64_t v);
void ctl_status_i64(struct ctl_status *st, const char *key, int64_t v);
void ctl_status_free(struct ctl_status *st);

void ctl_put_status(struct ctl_buf *b, const struct ctl_status *st);
/* st is filled (free with ctl_status_free, also on error). */
int ctl_get_status(const uint8_t *p, size_t len, struct ctl_status *st);

/* Readers for printing: NULL when absent. */
const struct ctl_status_sec *ctl_status_find(const struct ctl_status *st, const char *name);
const struct ctl_status_kv *ctl_status_get(const struct ctl_status_rec *r, const char *key);

#endif
