/* Connection sync wire format: encode and strictly validating decode.
 *
 * The format is the Linux kernel's IPVS sync protocol version 1
 * (net/netfilter/ipvs/ip_vs_sync.c), so a ulvs director and a kernel IPVS
 * director can back each other up for NAT, DR and TUN services.  Two
 * extensions ride in places a kernel ignores (docs/sync.md has the pictures):
 *   - FULLNAT connections carry their local address and port in a connection
 *     parameter of type SYNC_OPT_ULVS_FNAT, "mandatory" in IPVS terms, so a
 *     kernel skips such an entry instead of installing half of it;
 *   - control messages (resync request / start) are version-1 headers with
 *     no connections and a non-zero "spare" field, which a kernel treats as
 *     an empty version-0 message.
 * Pure functions over byte buffers: no allocation, no I/O, so the decoder is
 * unit-tested and fuzzed as it runs.  Addresses and ports stay in network
 * order; everything else is host order in the decoded structs.
 */
#ifndef ULVS_SYNC_SYNC_PROTO_H
#define ULVS_SYNC_SYNC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define SYNC_DEFAULT_GROUP 0xe0000051u  /* 224.0.0.81, host order (IPVS) */
#define SYNC_DEFAULT_PORT 8848
#define SYNC_PROTO_VERSION 1
#define SYNC_HDR_LEN 8
#define SYNC_CONN_V4_LEN 36
#define SYNC_CONN_V6_LEN 72
#define SYNC_MAX_CONNS 255              /* nr_conns is one byte */
#define SYNC_CTL_LEN (SYNC_HDR_LEN + 8)
#define SYNC_CTL_MAGIC 0x756c7673u      /* "ulvs" */

/* IPVS connection flags (include/uapi/linux/ip_vs.h) as they travel. */
#define SYNC_F_FWD_MASK 0x0007u
#define SYNC_F_MASQ 0x0000u
#define SYNC_F_LOCALNODE 0x0001u
#define SYNC_F_TUNNEL 0x0002u
#define SYNC_F_DROUTE 0x0003u
#define SYNC_F_FULLNAT 0x0005u          /* Alibaba FULLNAT patch and DPVS */
#define SYNC_F_SYNC 0x0020u
#define SYNC_F_HASHED 0x0040u
#define SYNC_F_NOOUTPUT 0x0080u
#define SYNC_F_INACTIVE 0x0100u
#define SYNC_F_SEQ_MASK 0x0600u
#define SYNC_F_NO_CPORT 0x0800u
#define SYNC_F_TEMPLATE 0x1000u
#define SYNC_F_ONE_PACKET 0x2000u

/* Connection parameters: type byte, length byte (1..255), data. */
#define SYNC_OPT_SEQ_DATA 1
#define SYNC_OPT_PE_DATA 2
#define SYNC_OPT_PE_NAME 3
#define SYNC_OPT_F_OPTIONAL 0x40        /* IPVS_OPT_F_PARAM: receivers may skip */
#define SYNC_OPT_ULVS_FNAT 0x20         /* ulvs: FULLNAT laddr/lport */
#define SYNC_SEQ_DATA_LEN 24
#define SYNC_PE_DATA_MAX 255
#define SYNC_PE_NAME_MAX 16             /* IP_VS_PENAME_MAXLEN */

/* Bits of the FULLNAT parameter's flags byte. */
#define SYNC_FNAT_OUT_NONSYN 0x01       /* real server past its SYN-ACK: no more TOA */
#define SYNC_FNAT_TOA_DONE 0x02

/* ulvs control messages: the header's spare field (non-zero). */
enum sync_ctl {
	SYNC_CTL_NONE = 0,
	SYNC_CTL_RESYNC_REQUEST = 1,    /* a (re)started backup asks for everything */
	SYNC_CTL_RESYNC_START = 2,      /* the master answers: a full walk begins */
	SYNC_CTL_MAX
};

/* IPVS TCP state numbers (IP_VS_TCP_S_*), which are also ours. */
#define SYNC_TCP_STATES 11

/* One connection entry as decoded (or to encode). */
struct sync_conn {
	uint8_t af;                     /* ULVS_AF_INET / _INET6 */
	uint8_t proto;
	uint16_t state;                 /* IPVS numbering */
	uint32_t flags;                 /* SYNC_F_* */
	uint16_t cport, vport, dport;   /* network order */
	uint32_t fwmark;
	uint32_t timeout_s;             /* 0: receiver uses the state's default */
	union ulvs_addr caddr, vaddr, daddr;
	bool has_fnat;
	uint8_t fnat_flags;             /* SYNC_FNAT_* */
	uint16_t lport;                 /* network order */
	union ulvs_addr laddr;
	bool has_seq;                   /* sequence adjust data (ignored by ulvs) */
	bool has_pe;                    /* persistence engine data (unsupported) */
};

/* Why a message or an entry was refused; one receive counter each. */
enum sync_err {
	SYNC_OK = 0,
	/* the whole (rest of the) message is dropped */
	SYNC_ERR_SHORT,                 /* shorter than a header */
	SYNC_ERR_SIZE,                  /* size field != datagram length */
	SYNC_ERR_VERSION,               /* version 0 or unknown header version */
	SYNC_ERR_TRUNC,                 /* an entry runs past the message */
	SYNC_ERR_CONN_VERSION,          /* entry version bits non-zero */
	SYNC_ERR_CONN_TYPE,             /* unknown entry type */
	SYNC_ERR_PARAM,                 /* malformed parameter (length, twice) */
	SYNC_ERR_PAD,                   /* non-zero padding or trailing bytes */
	SYNC_ERR_CTL,                   /* malformed control message */
	/* only this entry is skipped */
	SYNC_ERR_MANDATORY_PARAM,       /* unknown parameter we must understand */
	SYNC_ERR_PROTO,                 /* not TCP or UDP */
	SYNC_ERR_STATE,                 /* state out of range for the protocol */
	SYNC_ERR_PE,                    /* persistence engine data: unsupported */
	SYNC_ERR_MAX
};
const char *sync_err_name(enum sync_err e);

/* A validated message header. */
struct sync_msg {
	uint8_t syncid;
	uint8_t nr_conns;
	uint16_t ctl;                   /* enum sync_ctl; 0 for connection messages */
	uint32_t nonce;                 /* control messages */
	const uint8_t *buf;
	size_t len;
};

/* Validate the header of a datagram (and the body of a control message).
 * SYNC_OK fills m; the connections are read with sync_msg_next(). */
enum sync_err sync_msg_parse(const uint8_t *buf, size_t len, struct sync_msg *m);

/* Iterator over a connection message's entries. */
struct sync_iter {
	const struct sync_msg *m;
	size_t off;
	unsigned i;
};
void sync_iter_init(struct sync_iter *it, const struct sync_msg *m);
/* Next entry: returns 1 with *out filled and *err SYNC_OK, 1 with *err set
 * to an entry-level error (skip this entry, go on), 0 at the end, or -1 with
 * *err set when the rest of the message must be dropped (as the kernel's
 * "Dropping buffer").  The message must end with its last entry, padded
 * to 4 bytes with zeros or not. */
int sync_msg_next(struct sync_iter *it, struct sync_conn *out, enum sync_err *err);

/* Wire length of one entry without padding. */
size_t sync_conn_len(const struct sync_conn *c);

/* Message builder over a caller's buffer of cap bytes (>= SYNC_HDR_LEN). */
struct sync_writer {
	uint8_t *buf;
	size_t cap, len;
	unsigned n;
};
void sync_writer_init(struct sync_writer *w, uint8_t *buf, size_t cap, uint8_t syncid);
/* Append c (padding the previous entry to 4 bytes as the kernel does).
 * 0, or -ENOSPC when it does not fit or the message has 255 entries,
 * -EINVAL for an entry that cannot be encoded (bad af). */
int sync_writer_add(struct sync_writer *w, const struct sync_conn *c);
/* Bytes of the finished message (its size field is kept current). */
static inline size_t sync_writer_len(const struct sync_writer *w)
{
	return w->len;
}

/* Encode a control message into buf (>= SYNC_CTL_LEN); returns its length
 * or 0 when cap is too small or ctl is not a control type. */
size_t sync_ctl_encode(uint8_t *buf, size_t cap, uint8_t syncid, enum sync_ctl ctl,
		       uint32_t nonce);

/* Between the wire and the connection table (pure; both directions are
 * tested round trip).  From a connection: fwmark is its service's mark (0
 * for an ip:port service), remaining_ms its lifetime left, sent as whole
 * seconds rounded up (IPVS sends cp->timeout; the time left lets a backup
 * expire an idle connection when the master would).  Returns -EINVAL for
 * what the wire cannot carry (ICMP, an unknown method). */
struct conn;
int sync_conn_from_conn(struct sync_conn *out, const struct conn *c, uint32_t fwmark,
			uint32_t remaining_ms);
/* To a connection template for engine_conn_import(): fills *c (tuple, fwd,
 * state, flags) and *expire_ms (0 when the peer sent no timeout: the
 * receiver picks the state's default).  -EINVAL for forwarding methods ulvs
 * does not have (bypass) or FULLNAT without its parameter. */
int sync_conn_to_conn(const struct sync_conn *in, struct conn *c, uint32_t *expire_ms);

#endif
