/* VRRP advertisements on the wire: encode, decode, validate.
 *
 * VRRPv2 (RFC 3768 §5) over IPv4 with authentication NONE, PASS or AH, and
 * VRRPv3 (RFC 5798 §5) over IPv4 and IPv6.
 *
 * AH (RFC 2338 §5.3.6.3, dropped by RFC 3768 but kept by keepalived) puts an
 * IPsec Authentication Header (RFC 2402) between the IPv4 header and the
 * advert, with no SA negotiation, as keepalived does it: SPI = the sender's
 * IPv4 address, a sequence number the receiver requires to increase, and an
 * ICV of HMAC-MD5-96 (RFC 2404) keyed with the 8-byte NUL-padded password
 * over the whole datagram with TOS, flags/fragment offset and the header
 * checksum zeroed (and TTL too when unicast); the advert's own auth data is
 * zeros.  The IP ID is covered, so the sender must choose a non-zero one.  Pure functions over buffers,
 * no syscalls, so the decoder can be unit-tested and fuzzed in-process.
 *
 * Validation is split in two, as a receiver meets it: vrrp_pkt_decode()
 * checks what any VRRP receiver checks (length, version, type, TTL/hop
 * limit, checksum) before it knows which instance the packet is for;
 * vrrp_pkt_check() then checks it against one instance (VRID, version,
 * address list, authentication, advertisement interval).  Each rejection
 * has a name (enum vrrp_drop) so the runtime counts every one of them.
 *
 * Checksums of v3 over IPv4: RFC 5798 §5.2.8 includes the pseudo-header and
 * keepalived does so by default; keepalived's `v3_checksum_as_v2` (and RFC
 * 9568, and many routers) sum the VRRP message alone.  The decoder computes
 * both and records which matched; the instance decides which it requires.
 *
 * Addresses are network order (union ulvs_addr); intervals are centiseconds.
 */
#ifndef ULVS_VRRP_VRRP_PKT_H
#define ULVS_VRRP_VRRP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define VRRP_PROTO 112          /* IANA, RFC 5798 §5.1.1.4 */
#define VRRP_TTL 255            /* RFC 5798 §5.1.1.3 / §5.1.2.3 */
#define VRRP_TYPE_ADVERT 1
#define VRRP_HDR_LEN 8
#define VRRP_AUTH_LEN 8         /* v2 only (RFC 3768 §5.3.10) */
#define VRRP_PRIO_STOP 0        /* RFC 5798 §5.2.4: master stopping */
#define VRRP_PRIO_OWNER 255
#define VRRP_MAX_ADDRS 255      /* "Count IPvX Addr" is 8 bits */
#define VRRP_V3_MAX_ADV_CS 4095 /* 12 bits of centiseconds */
#define VRRP_IP4_HDR_LEN 20
#define VRRP_AH_PROTO 51        /* IPPROTO_AH */
#define VRRP_AH_LEN 24          /* RFC 2402 §2: 12 bytes + 96-bit ICV */
#define VRRP_AH_PLEN 4          /* Payload Len: AH length in words minus 2 */
#define VRRP_AH_ICV_LEN 12      /* HMAC-MD5-96, RFC 2404 §2 */
#define VRRP_AH_SEQ_MAX 0xfffffffdu /* keepalived stops sending beyond it */
#define VRRP_PKT_MAX (VRRP_IP4_HDR_LEN + VRRP_HDR_LEN + VRRP_MAX_ADDRS * 16 + VRRP_AUTH_LEN)

enum vrrp_auth_type {           /* RFC 3768 §5.3.6 (2 is deprecated AH) */
	VRRP_AUTHT_NONE = 0,
	VRRP_AUTHT_PASS = 1,
	VRRP_AUTHT_AH = 2,
};

/* Why a received packet was not accepted.  Names read as sentences. */
enum vrrp_drop {
	VRRP_OK = 0,
	VRRP_DROP_SHORT,            /* shorter than the header or its address list */
	VRRP_DROP_BAD_IP,           /* IPv4 header malformed, not protocol 112, fragment */
	VRRP_DROP_BAD_TTL,          /* TTL / hop limit not 255 (§7.1 / §7.1) */
	VRRP_DROP_BAD_VERSION,      /* not 2 or 3, or v2 over IPv6 */
	VRRP_DROP_BAD_TYPE,         /* not ADVERTISEMENT */
	VRRP_DROP_BAD_CSUM,
	VRRP_DROP_UNKNOWN_VRID,     /* no instance for this VRID on the interface */
	VRRP_DROP_VERSION_MISMATCH, /* version differs from the instance's */
	VRRP_DROP_ADDR_COUNT,       /* count differs from our VIP list */
	VRRP_DROP_ADDR_MISMATCH,    /* an address not in our VIP list */
	VRRP_DROP_AUTH_TYPE,        /* v2 auth type differs from ours */
	VRRP_DROP_AUTH_PASS,        /* v2 PASS data differs */
	VRRP_DROP_ADV_INT,          /* v2 interval differs (RFC 3768 §7.1); v3 zero */
	VRRP_DROP_OWN,              /* our own advertisement, looped back */
	VRRP_DROP_OWNER_CONFLICT,   /* priority 255 from someone else while we own */
	VRRP_DROP_UNICAST_SRC,      /* unicast source not one of our peers */
	VRRP_DROP_AH_ICV,           /* AH: HMAC-MD5-96 does not match (bad password) */
	VRRP_DROP_AH_SPI,           /* AH: SPI is not the source address */
	VRRP_DROP_AH_REPLAY,        /* AH: sequence number not above the last seen */
	VRRP_DROP_MAX
};

const char *vrrp_drop_name(enum vrrp_drop d);

enum vrrp_csum_mode {
	VRRP_CSUM_PSEUDO = 0,       /* RFC 5798 §5.2.8: with the pseudo-header (v3) */
	VRRP_CSUM_PLAIN,            /* message only: v2, and v3 `v3_checksum_as_v2` */
};

/* What the decoder saw of a checksum: which of the two sums matched. */
enum { VRRP_CSUM_OK_PSEUDO = 1u << 0, VRRP_CSUM_OK_PLAIN = 1u << 1 };

/* One advertisement, decoded or to encode. */
struct vrrp_pkt {
	uint8_t version;            /* 2 or 3 */
	uint8_t type;
	uint8_t vrid;
	uint8_t prio;
	uint8_t naddr;
	uint8_t af;                 /* enum ulvs_af of the carrying IP and of addrs */
	uint8_t auth_type;          /* v2 */
	uint8_t csum_ok;            /* decode: VRRP_CSUM_OK_* */
	uint16_t adv_int_cs;        /* v2: seconds * 100; v3: the 12-bit field */
	uint16_t csum;              /* as on the wire (network order) */
	bool ah;                    /* decode_ip4: it came behind an AH header */
	uint32_t ah_spi;            /* network order, as on the wire */
	uint32_t ah_seq;            /* host order */
	uint8_t auth[VRRP_AUTH_LEN]; /* v2 PASS: the password, NUL padded */
	union ulvs_addr addrs[VRRP_MAX_ADDRS];
};

/* What the IP layer said about a received packet. */
struct vrrp_rx_meta {
	uint8_t af;
	uint8_t ttl;                /* TTL or hop limit */
	union ulvs_addr src, dst;
};

/* Decode the VRRP message buf[0..len) carried as meta says.  Checks length
 * against the address count, version (v2 only over IPv4), type, TTL 255 and
 * the checksum (v2: plain; v3: either form, recorded in p->csum_ok).
 * Returns VRRP_OK or the reason; p is filled as far as it got. */
enum vrrp_drop vrrp_pkt_decode(const void *buf, size_t len, const struct vrrp_rx_meta *meta,
			       struct vrrp_pkt *p);

/* An IPv4 datagram as a raw IPPROTO_VRRP or IPPROTO_AH socket delivers it
 * (header included): check the header (and the AH header's framing: next
 * header VRRP, length; p->ah, ah_spi, ah_seq), fill meta, decode the
 * payload.  The ICV is vrrp_ah_verify()'s business. */
enum vrrp_drop vrrp_pkt_decode_ip4(const void *buf, size_t len, struct vrrp_rx_meta *meta,
				   struct vrrp_pkt *p);

/* What one instance expects of the adverts it accepts. */
struct vrrp_pkt_expect {
	uint8_t version, vrid, af;
	enum vrrp_csum_mode csum;   /* v3 over IPv4 only; otherwise implied */
	uint8_t auth_type;          /* v2 */
	uint8_t auth[VRRP_AUTH_LEN];
	uint16_t adv_int_cs;        /* v2: must match */
	bool skip_addr_check;       /* vrrp_skip_check_adv_addr */
	const union ulvs_addr *addrs; /* our VIPs of family af, in any order */
	unsigned naddr;
};

/* Instance-level validation of a decoded advert.  Auth data is compared in
 * constant time.  Cost: O(naddr^2) address matching (naddr is small). */
enum vrrp_drop vrrp_pkt_check(const struct vrrp_pkt *p, const struct vrrp_pkt_expect *e);

/* Encode p's VRRP message into buf (cap bytes) with its checksum, computed
 * over the pseudo-header of src -> dst when mode says so and p->version is
 * 3.  Returns the length, or -EINVAL (bad field) / -ENOSPC. */
int vrrp_pkt_encode(const struct vrrp_pkt *p, const union ulvs_addr *src,
		    const union ulvs_addr *dst, enum vrrp_csum_mode mode, void *buf, size_t cap);

/* The same behind an IPv4 header (TTL 255, protocol 112, TOS internetwork
 * control as keepalived sends, DF clear), for an IP_HDRINCL socket. */
int vrrp_pkt_encode_ip4(const struct vrrp_pkt *p, const union ulvs_addr *src,
			const union ulvs_addr *dst, enum vrrp_csum_mode mode, uint16_t ip_id,
			void *buf, size_t cap);

/* The AH form of vrrp_pkt_encode_ip4 for a v2 advert with auth_type AH:
 * IPv4 (protocol 51) + AH (SPI = src, sequence seq, ICV keyed with key) +
 * the advert.  ip_id must not be 0: the kernel would fill it in after the
 * ICV was computed over it.  unicast: TTL is left out of the ICV as
 * keepalived does for unicast peers.  Returns the length or -errno. */
int vrrp_pkt_encode_ip4_ah(const struct vrrp_pkt *p, const union ulvs_addr *src,
			   const union ulvs_addr *dst, uint16_t ip_id, uint32_t seq,
			   const uint8_t key[VRRP_AUTH_LEN], bool unicast, void *buf, size_t cap);

/* The ICV of the AH-carried IPv4 datagram buf[0..len) (its ICV field is
 * taken as zero).  Returns 0, or -EINVAL when it is not one. */
int vrrp_ah_icv(const void *buf, size_t len, const uint8_t key[VRRP_AUTH_LEN], bool unicast,
		uint8_t icv[VRRP_AH_ICV_LEN]);

/* Authenticate a received AH datagram that vrrp_pkt_decode_ip4() accepted:
 * ICV compared in constant time first (nothing else in it is trusted
 * before), then SPI == source address.  VRRP_OK, VRRP_DROP_AH_ICV or
 * VRRP_DROP_AH_SPI. */
enum vrrp_drop vrrp_ah_verify(const void *buf, size_t len, const uint8_t key[VRRP_AUTH_LEN],
			      bool unicast);

/* Anti-replay as keepalived applies it (one counter per instance, no
 * window): accept seq only if above *last, then remember it. */
bool vrrp_ah_seq_accept(uint32_t *last, uint32_t seq);

/* v2 intervals are whole seconds, v3 centiseconds (§5.2.7). */
static inline uint16_t vrrp_ms_to_cs(uint32_t ms)
{
	uint32_t cs = ms / 10;
	return cs > 0xffff ? 0xffff : (uint16_t)cs;
}

#endif
