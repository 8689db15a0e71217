/* VRRP advertisement encode/decode/validation (see vrrp_pkt.h).
 *
 * Layouts, RFC 3768 §5.1 (v2) and RFC 5798 §5.1 (v3):
 *   0: version(4) type(4) | VRID | priority | count
 *   4: v2: auth type | adver int (s)      v3: rsvd(4) max adver int(12, cs)
 *   6: checksum
 *   8: addresses (4 or 16 bytes each), then v2's 8 bytes of auth data.
 * The checksum sum uses core/'s RFC 1071 helpers.
 *
 * AH (see vrrp_pkt.h), RFC 2402 §2 as keepalived lays it out:
 *   0: next header (112) | payload len (4) | reserved (2)
 *   4: SPI (sender's IPv4 address)   8: sequence number   12: ICV (12 bytes)
 * HMAC-MD5 is libcrypto's.
 */
#include "vrrp/vrrp_pkt.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/packet.h"

static const char *const drop_names[VRRP_DROP_MAX] = {
	[VRRP_OK] = "ok",
	[VRRP_DROP_SHORT] = "short",
	[VRRP_DROP_BAD_IP] = "bad_ip",
	[VRRP_DROP_BAD_TTL] = "bad_ttl",
	[VRRP_DROP_BAD_VERSION] = "bad_version",
	[VRRP_DROP_BAD_TYPE] = "bad_type",
	[VRRP_DROP_BAD_CSUM] = "bad_checksum",
	[VRRP_DROP_UNKNOWN_VRID] = "unknown_vrid",
	[VRRP_DROP_VERSION_MISMATCH] = "version_mismatch",
	[VRRP_DROP_ADDR_COUNT] = "addr_count",
	[VRRP_DROP_ADDR_MISMATCH] = "addr_mismatch",
	[VRRP_DROP_AUTH_TYPE] = "auth_type",
	[VRRP_DROP_AUTH_PASS] = "auth_pass",
	[VRRP_DROP_ADV_INT] = "advert_interval",
	[VRRP_DROP_OWN] = "own_advert",
	[VRRP_DROP_OWNER_CONFLICT] = "owner_conflict",
	[VRRP_DROP_UNICAST_SRC] = "unicast_src",
	[VRRP_DROP_AH_ICV] = "ah_icv",
	[VRRP_DROP_AH_SPI] = "ah_spi",
	[VRRP_DROP_AH_REPLAY] = "ah_replay",
};

const char *vrrp_drop_name(enum vrrp_drop d)
{
	return (unsigned)d < VRRP_DROP_MAX && drop_names[d] ? drop_names[d] : "?";
}

static unsigned addr_len(uint8_t af)
{
	return af == ULVS_AF_INET6 ? 16 : 4;
}

/* Checksum over buf as it stands (checksum field included): 0 when valid,
 * or the value to store when the field is zero. */
static uint16_t sum_msg(const void *buf, size_t len, bool pseudo, uint8_t af,
			const union ulvs_addr *src, const union ulvs_addr *dst)
{
	if (pseudo)
		return csum_l4(af, src, dst, VRRP_PROTO, buf, (uint32_t)len);
	return csum_fold(csum_partial(buf, (uint32_t)len, 0));
}

enum vrrp_drop vrrp_pkt_decode(const void *buf, size_t len, const struct vrrp_rx_meta *meta,
			       struct vrrp_pkt *p)
{
	const uint8_t *b = buf;

	memset(p, 0, offsetof(struct vrrp_pkt, addrs));
	p->af = meta->af;
	if (len < VRRP_HDR_LEN)
		return VRRP_DROP_SHORT;
	p->version = b[0] >> 4;
	p->type = b[0] & 0x0f;
	p->vrid = b[1];
	p->prio = b[2];
	p->naddr = b[3];
	memcpy(&p->csum, b + 6, 2);
	/* RFC 5798 §7.1 / RFC 3768 §7.1: the TTL check comes first. */
	if (meta->ttl != VRRP_TTL)
		return VRRP_DROP_BAD_TTL;
	if (p->version == 2) {
		if (meta->af != ULVS_AF_INET)
			return VRRP_DROP_BAD_VERSION; /* v2 is IPv4 only */
		p->auth_type = b[4];
		p->adv_int_cs = (uint16_t)(b[5] * 100u);
	} else if (p->version == 3) {
		p->adv_int_cs = (uint16_t)(((b[4] & 0x0f) << 8) | b[5]);
	} else {
		return VRRP_DROP_BAD_VERSION;
	}
	if (p->type != VRRP_TYPE_ADVERT)
		return VRRP_DROP_BAD_TYPE;
	size_t need = VRRP_HDR_LEN + (size_t)p->naddr * addr_len(meta->af) +
		      (p->version == 2 ? VRRP_AUTH_LEN : 0);
	if (len < need)
		return VRRP_DROP_SHORT;
	/* The checksum covers the whole message as the IP layer delimits it. */
	if (p->version == 2) {
		if (sum_msg(buf, len, false, meta->af, NULL, NULL) == 0)
			p->csum_ok = VRRP_CSUM_OK_PLAIN;
	} else {
		if (sum_msg(buf, len, true, meta->af, &meta->src, &meta->dst) == 0)
			p->csum_ok |= VRRP_CSUM_OK_PSEUDO;
		/* Only IPv4 has the message-only variant; IPv6 always uses the
		 * pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1). */
		if (meta->af == ULVS_AF_INET && sum_msg(buf, len, false, meta->af, NULL, NULL) == 0)
			p->csum_ok |= VRRP_CSUM_OK_PLAIN;
	}
	if (!p->csum_ok)
		return VRRP_DROP_BAD_CSUM;
	const uint8_t *a = b + VRRP_HDR_LEN;
	for (unsigned i = 0; i < p->naddr; i++, a += addr_len(meta->af)) {
		memset(&p->addrs[i], 0, sizeof(p->addrs[i]));
		memcpy(p->addrs[i].b, a, addr_len(meta->af));
	}
	if (p->version == 2)
		memcpy(p->auth, a, VRRP_AUTH_LEN);
	return VRRP_OK;
}

enum vrrp_drop vrrp_pkt_decode_ip4(const void *buf, size_t len, struct vrrp_rx_meta *meta,
				   struct vrrp_pkt *p)
{
	const uint8_t *b = buf;

	memset(meta, 0, sizeof(*meta));
	meta->af = ULVS_AF_INET;
	memset(p, 0, offsetof(struct vrrp_pkt, addrs));
	if (len < VRRP_IP4_HDR_LEN)
		return VRRP_DROP_SHORT;
	unsigned ihl = (b[0] & 0x0f) * 4u;
	unsigned tot = (unsigned)b[2] << 8 | b[3];
	bool ah = b[9] == VRRP_AH_PROTO;
	if ((b[0] >> 4) != 4 || ihl < VRRP_IP4_HDR_LEN || ihl > len || (b[9] != VRRP_PROTO && !ah))
		return VRRP_DROP_BAD_IP;
	/* A fragment of an advert cannot be checked on its own; adverts are far
	 * below any MTU, so nobody fragments them. */
	if ((b[6] & 0x3f) || b[7])
		return VRRP_DROP_BAD_IP;
	if (tot < ihl || tot > len)
		return VRRP_DROP_SHORT;
	meta->ttl = b[8];
	memcpy(&meta->src.ip, b + 12, 4);
	memcpy(&meta->dst.ip, b + 16, 4);
	if (!ah)
		return vrrp_pkt_decode(b + ihl, tot - ihl, meta, p);
	if (tot < ihl + VRRP_AH_LEN)
		return VRRP_DROP_SHORT;
	const uint8_t *a = b + ihl;
	/* Only the one shape keepalived sends: AH directly carrying VRRP
	 * with a 96-bit ICV. */
	if (a[0] != VRRP_PROTO || a[1] != VRRP_AH_PLEN)
		return VRRP_DROP_BAD_IP;
	enum vrrp_drop d = vrrp_pkt_decode(a + VRRP_AH_LEN, tot - ihl - VRRP_AH_LEN, meta, p);
	p->ah = true;
	memcpy(&p->ah_spi, a + 4, 4);
	p->ah_seq = (uint32_t)a[8] << 24 | (uint32_t)a[9] << 16 | (uint32_t)a[10] << 8 | a[11];
	return d;
}

/* Constant-time comparison of secrets (OpenBSD carp's timingsafe_bcmp). */
static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

enum vrrp_drop vrrp_pkt_check(const struct vrrp_pkt *p, const struct vrrp_pkt_expect *e)
{
	if (p->vrid != e->vrid)
		return VRRP_DROP_UNKNOWN_VRID;
	if (p->version != e->version || p->af != e->af)
		return VRRP_DROP_VERSION_MISMATCH;
	if (p->version == 3 && p->af == ULVS_AF_INET) {
		unsigned want = e->csum == VRRP_CSUM_PLAIN ? VRRP_CSUM_OK_PLAIN : VRRP_CSUM_OK_PSEUDO;
		if (!(p->csum_ok & want))
			return VRRP_DROP_BAD_CSUM;
	}
	if (p->version == 2) {
		/* RFC 3768 §7.1: auth type must match ours; PASS data must match.
		 * An AH header must come exactly with auth type AH, as
		 * keepalived requires (its ICV is checked by vrrp_ah_verify). */
		if (p->auth_type != e->auth_type || p->ah != (p->auth_type == VRRP_AUTHT_AH))
			return VRRP_DROP_AUTH_TYPE;
		if (p->auth_type == VRRP_AUTHT_PASS && !ct_equal(p->auth, e->auth, VRRP_AUTH_LEN))
			return VRRP_DROP_AUTH_PASS;
		/* RFC 3768 §7.1: the interval must be the locally configured one. */
		if (p->adv_int_cs != e->adv_int_cs)
			return VRRP_DROP_ADV_INT;
	} else if (p->ah) {
		return VRRP_DROP_AUTH_TYPE; /* v3 has no authentication */
	} else if (p->adv_int_cs == 0) {
		/* A zero interval would make Master_Down_Interval the skew alone. */
		return VRRP_DROP_ADV_INT;
	}
	/* RFC 5798 §7.1: MAY verify the address list; keepalived does unless
	 * vrrp_skip_check_adv_addr.  A priority-0 advert still counts. */
	if (!e->skip_addr_check) {
		if (p->naddr != e->naddr)
			return VRRP_DROP_ADDR_COUNT;
		for (unsigned i = 0; i < p->naddr; i++) {
			bool found = false;
			for (unsigned j = 0; j < e->naddr && !found; j++)
				found = addr_eq(&p->addrs[i], &e->addrs[j]);
			if (!found)
				return VRRP_DROP_ADDR_MISMATCH;
		}
	}
	return VRRP_OK;
}

int vrrp_pkt_encode(const struct vrrp_pkt *p, const union ulvs_addr *src,
		    const union ulvs_addr *dst, enum vrrp_csum_mode mode, void *buf, size_t cap)
{
	uint8_t *b = buf;
	unsigned al = addr_len(p->af);

	if ((p->version != 2 && p->version != 3) || (p->version == 2 && p->af != ULVS_AF_INET) ||
	    (p->af != ULVS_AF_INET && p->af != ULVS_AF_INET6) || p->vrid == 0)
		return -EINVAL;
	if (p->version == 3 && (p->adv_int_cs == 0 || p->adv_int_cs > VRRP_V3_MAX_ADV_CS))
		return -EINVAL;
	if (p->version == 2 && (p->adv_int_cs < 100 || p->adv_int_cs > 25500))
		return -EINVAL;
	size_t len = VRRP_HDR_LEN + (size_t)p->naddr * al + (p->version == 2 ? VRRP_AUTH_LEN : 0);
	if (len > cap)
		return -ENOSPC;
	b[0] = (uint8_t)(p->version << 4 | VRRP_TYPE_ADVERT);
	b[1] = p->vrid;
	b[2] = p->prio;
	b[3] = p->naddr;
	if (p->version == 2) {
		b[4] = p->auth_type;
		b[5] = (uint8_t)(p->adv_int_cs / 100);
	} else {
		b[4] = (uint8_t)(p->adv_int_cs >> 8);
		b[5] = (uint8_t)p->adv_int_cs;
	}
	b[6] = b[7] = 0;
	uint8_t *a = b + VRRP_HDR_LEN;
	for (unsigned i = 0; i < p->naddr; i++, a += al)
		memcpy(a, p->addrs[i].b, al);
	if (p->version == 2) {
		/* RFC 3768 §5.3.10: NONE sends zeros; PASS the password, NUL padded. */
		if (p->auth_type == VRRP_AUTHT_PASS)
			memcpy(a, p->auth, VRRP_AUTH_LEN);
		else
			memset(a, 0, VRRP_AUTH_LEN);
	}
	bool pseudo = p->version == 3 && (p->af == ULVS_AF_INET6 || mode == VRRP_CSUM_PSEUDO);
	uint16_t c = sum_msg(b, len, pseudo, p->af, src, dst);
	memcpy(b + 6, &c, 2);
	return (int)len;
}

int vrrp_pkt_encode_ip4(const struct vrrp_pkt *p, const union ulvs_addr *src,
			const union ulvs_addr *dst, enum vrrp_csum_mode mode, uint16_t ip_id,
			void *buf, size_t cap)
{
	uint8_t *b = buf;

	if (p->af != ULVS_AF_INET)
		return -EINVAL;
	if (cap < VRRP_IP4_HDR_LEN)
		return -ENOSPC;
	int n = vrrp_pkt_encode(p, src, dst, mode, b + VRRP_IP4_HDR_LEN, cap - VRRP_IP4_HDR_LEN);
	if (n < 0)
		return n;
	unsigned tot = VRRP_IP4_HDR_LEN + (unsigned)n;
	b[0] = 0x45;
	b[1] = 0xc0;                /* IPTOS_PREC_INTERNETCONTROL, as keepalived */
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[4] = (uint8_t)(ip_id >> 8);
	b[5] = (uint8_t)ip_id;
	b[6] = b[7] = 0;
	b[8] = VRRP_TTL;
	b[9] = VRRP_PROTO;
	b[10] = b[11] = 0;
	memcpy(b + 12, &src->ip, 4);
	memcpy(b + 16, &dst->ip, 4);
	uint16_t c = csum_ip4_header(b, VRRP_IP4_HDR_LEN);
	memcpy(b + 10, &c, 2);
	return (int)tot;
}

int vrrp_ah_icv(const void *buf, size_t len, const uint8_t key[VRRP_AUTH_LEN], bool unicast,
		uint8_t icv[VRRP_AH_ICV_LEN])
{
	uint8_t t[60 + VRRP_AH_LEN + VRRP_HDR_LEN + VRRP_MAX_ADDRS * 4 + VRRP_AUTH_LEN];
	const uint8_t *b = buf;

	if (len < VRRP_IP4_HDR_LEN)
		return -EINVAL;
	size_t ihl = (b[0] & 0x0f) * 4u;
	size_t tot = (size_t)b[2] << 8 | b[3];
	if (ihl < VRRP_IP4_HDR_LEN || tot > len || tot < ihl + VRRP_AH_LEN || tot > sizeof(t) ||
	    b[9] != VRRP_AH_PROTO)
		return -EINVAL;
	memcpy(t, b, tot);
	/* RFC 2402 §3.3.3.1.1.1: mutable fields count as zero.  keepalived
	 * zeroes TOS, flags/fragment offset and checksum, and TTL only for
	 * unicast; the ID stays in. */
	t[1] = 0;
	t[6] = t[7] = 0;
	t[10] = t[11] = 0;
	if (unicast)
		t[8] = 0;
	memset(t + ihl + 12, 0, VRRP_AH_ICV_LEN);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!HMAC(EVP_md5(), key, VRRP_AUTH_LEN, t, tot, md, &mdlen) || mdlen < VRRP_AH_ICV_LEN)
		return -EIO;
	memcpy(icv, md, VRRP_AH_ICV_LEN); /* RFC 2404 §2: the leftmost 96 bits */
	return 0;
}

enum vrrp_drop vrrp_ah_verify(const void *buf, size_t len, const uint8_t key[VRRP_AUTH_LEN],
			      bool unicast)
{
	const uint8_t *b = buf;
	uint8_t icv[VRRP_AH_ICV_LEN];

	if (vrrp_ah_icv(buf, len, key, unicast, icv) < 0)
		return VRRP_DROP_AH_ICV;
	size_t ihl = (b[0] & 0x0f) * 4u;
	if (CRYPTO_memcmp(icv, b + ihl + 12, VRRP_AH_ICV_LEN))   /* constant time */
		return VRRP_DROP_AH_ICV;
	/* keepalived's SA rule: the SPI is the sender's address. */
	if (memcmp(b + ihl + 4, b + 12, 4))
		return VRRP_DROP_AH_SPI;
	return VRRP_OK;
}

bool vrrp_ah_seq_accept(uint32_t *last, uint32_t seq)
{
	if (seq <= *last)
		return false;
	*last = seq;
	return true;
}

int vrrp_pkt_encode_ip4_ah(const struct vrrp_pkt *p, const union ulvs_addr *src,
			   const union ulvs_addr *dst, uint16_t ip_id, uint32_t seq,
			   const uint8_t key[VRRP_AUTH_LEN], bool unicast, void *buf, size_t cap)
{
	uint8_t *b = buf;
	const size_t hl = VRRP_IP4_HDR_LEN + VRRP_AH_LEN;

	if (p->af != ULVS_AF_INET || p->version != 2 || p->auth_type != VRRP_AUTHT_AH || ip_id == 0)
		return -EINVAL;
	if (cap < hl)
		return -ENOSPC;
	int n = vrrp_pkt_encode(p, src, dst, VRRP_CSUM_PLAIN, b + hl, cap - hl);
	if (n < 0)
		return n;
	unsigned tot = (unsigned)(hl + (size_t)n);
	b[0] = 0x45;
	b[1] = 0xc0;                /* IPTOS_PREC_INTERNETCONTROL, as keepalived */
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[4] = (uint8_t)(ip_id >> 8);
	b[5] = (uint8_t)ip_id;
	b[6] = b[7] = 0;
	b[8] = VRRP_TTL;
	b[9] = VRRP_AH_PROTO;
	b[10] = b[11] = 0;
	memcpy(b + 12, &src->ip, 4);
	memcpy(b + 16, &dst->ip, 4);
	uint8_t *a = b + VRRP_IP4_HDR_LEN;
	a[0] = VRRP_PROTO;
	a[1] = VRRP_AH_PLEN;
	a[2] = a[3] = 0;
	memcpy(a + 4, &src->ip, 4);
	a[8] = (uint8_t)(seq >> 24);
	a[9] = (uint8_t)(seq >> 16);
	a[10] = (uint8_t)(seq >> 8);
	a[11] = (uint8_t)seq;
	int r = vrrp_ah_icv(b, tot, key, unicast, a + 12);
	if (r < 0)
		return r;
	uint16_t c = csum_ip4_header(b, VRRP_IP4_HDR_LEN);
	memcpy(b + 10, &c, 2);
	return (int)tot;
}
