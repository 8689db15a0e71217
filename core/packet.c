/* Frame parser and Internet checksum helpers.
 *
 * pkt_parse() is the only code that reads a frame before it has been
 * validated, so it trusts nothing: every read is preceded by a bound check
 * against the frame length, and once the IP header is accepted every later
 * read is bounded by the IP total length instead (Ethernet padding past it is
 * ignored, never parsed).  Headers are read byte-wise or with memcpy, so the
 * frame may start at any alignment.  Result: the engine may use any offset in
 * struct pkt_info without checking it again.
 *
 * Checksum helpers work on raw memory order: 16-bit words are loaded from
 * memory as they lie, summed in one's complement and the result is returned
 * in the same order, ready to be stored with memcpy (or a uint16_t store)
 * straight into a header.  One's complement addition is byte-order
 * independent (RFC 1071 §2(B)), so this is correct on any host and needs no
 * byte swapping; it is also what csum_replace2/4 in packet.h expect of their
 * arguments (fields loaded from the packet without ntohs).
 */
#include "packet.h"

#include <string.h>

/* --- checksums ------------------------------------------------------------ */

static uint16_t fold16(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Chaining: calls may be chained by passing the previous result as sum, as
 * long as every chunk but the last has an even length (an odd chunk would
 * shift the byte pairing of the next one). */
uint32_t csum_partial(const void *data, uint32_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		s += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t a;
		memcpy(&a, p, 4);
		s += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071: an odd trailing byte is padded with a zero byte after it,
		 * in memory order. */
		uint8_t pad[2] = { p[0], 0 };
		uint16_t w;
		memcpy(&w, pad, 2);
		s += w;
	}
	return fold16(s);
}

/* Fold and complement, as the kernel's csum_fold(): the result is the value
 * to store in a checksum field.  A valid packet summed with its checksum
 * field in place folds to 0 here. */
uint16_t csum_fold(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

uint16_t csum_replace16(uint16_t check, const uint32_t old[4], const uint32_t new_[4])
{
	uint64_t s = (uint16_t)~check;

	for (int i = 0; i < 4; i++) {
		s += (uint16_t)~(old[i] & 0xffff);
		s += (uint16_t)~(old[i] >> 16);
		s += new_[i] & 0xffff;
		s += new_[i] >> 16;
	}
	return (uint16_t)~fold16(s);
}

/* The pseudo-header is summed as bytes laid out in network order, so its
 * words land in the same raw order as the rest of the packet.  IPv4 ICMP has
 * no pseudo-header (RFC 792); ICMPv6 has one (RFC 4443 §2.3).  For UDP a
 * computed 0 is returned as 0xffff (RFC 768, RFC 8200 §8.1): 0 on the wire
 * means "no checksum".  To verify a packet, zero its field and compare. */
uint16_t csum_l4(enum ulvs_af af, const union ulvs_addr *s, const union ulvs_addr *d,
		 uint8_t proto, const void *l4, uint32_t l4_len)
{
	uint32_t sum = 0;
	uint16_t c;

	if (af == ULVS_AF_INET6) {
		uint8_t ph[8] = { (uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16),
				  (uint8_t)(l4_len >> 8), (uint8_t)l4_len, 0, 0, 0, proto };
		sum = csum_partial(s->b, 16, sum);
		sum = csum_partial(d->b, 16, sum);
		sum = csum_partial(ph, 8, sum);
	} else if (proto != IPPROTO_ICMP_) {
		uint8_t ph[4] = { 0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
		sum = csum_partial(s->b, 4, sum);
		sum = csum_partial(d->b, 4, sum);
		sum = csum_partial(ph, 4, sum);
	}
	sum = csum_partial(l4, l4_len, sum);
	c = csum_fold(sum);
	if (proto == IPPROTO_UDP_ && c == 0)
		c = 0xffff;
	return c;
}

uint16_t csum_ip4_header(const void *ip, uint32_t hlen)
{
	const uint8_t *h = ip;
	uint32_t sum;

	if (hlen < 12)
		return csum_fold(csum_partial(h, hlen, 0));
	sum = csum_partial(h, 10, 0);
	sum = csum_partial(h + 12, hlen - 12, sum);
	return csum_fold(sum);
}

/* --- parser --------------------------------------------------------------- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Raw (network order) 16-bit field, as the tuple stores ports. */
static inline uint16_t rd16_raw(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* RFC 1122 §3.2.2: the ICMPv4 error messages; an error is never sent about
 * one of these. */
static bool icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* RFC 4443 §2.1: types 0-127 are errors. */
static bool icmp6_is_error(uint8_t type)
{
	return type < 128;
}

/* Errors whose quotation we parse and act on.  Source quench (deprecated by
 * RFC 6633) and redirect (we route nothing by it) are left as plain ICMP. */
static bool icmp_err_handled(uint8_t af, uint8_t type)
{
	if (af == ULVS_AF_INET)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

static bool icmp_is_echo(uint8_t af, uint8_t type)
{
	if (af == ULVS_AF_INET)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

#define IP6_MAX_EXT 8
#define IP6_NH_HOPOPTS 0
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_AH 51
#define IP6_NH_NONE 59
#define IP6_NH_DSTOPTS 60

struct ip6_walk {
	uint8_t proto;     /* upper-layer protocol (or the last next header) */
	uint32_t l4;       /* offset of it from the IPv6 header */
	uint32_t flags;    /* PKT_F_FRAG, PKT_F_FRAG_FIRST */
	bool l4_present;   /* false for non-first fragments and "no next header" */
};

/* Walk the extension header chain of the IPv6 header at ip, of which len
 * bytes may be read (payload included).  RFC 8200 §4.1: hop-by-hop options
 * only directly after the IPv6 header, each header at most once except
 * destination options (twice: before routing and before the upper layer).
 * A bounded walk: more than IP6_MAX_EXT headers is treated as an attack.
 * Returns false on a malformed or truncated chain. */
static bool ip6_walk(const uint8_t *ip, uint32_t len, struct ip6_walk *w)
{
	uint8_t nh = ip[6];
	uint32_t off = 40;
	unsigned n = 0, seen_dst = 0;
	uint32_t seen = 0;

	w->flags = 0;
	w->l4_present = true;
	for (;;) {
		uint32_t hlen;

		switch (nh) {
		case IP6_NH_HOPOPTS:
			if (n != 0)
				return false;
			break;
		case IP6_NH_ROUTING:
		case IP6_NH_FRAGMENT:
		case IP6_NH_AH:
			if (seen & (1u << (nh - 32)))
				return false;
			seen |= 1u << (nh - 32);
			break;
		case IP6_NH_DSTOPTS:
			if (++seen_dst > 2)
				return false;
			break;
		case IP6_NH_NONE:
			/* RFC 8200 §4.7: nothing follows, whatever the length says. */
			w->proto = nh;
			w->l4 = off;
			w->l4_present = false;
			return true;
		default:
			w->proto = nh;
			w->l4 = off;
			return true;
		}
		if (++n > IP6_MAX_EXT)
			return false;
		if (off + 8 > len) /* every extension header is at least 8 bytes */
			return false;
		if (nh == IP6_NH_FRAGMENT) {
			/* RFC 8200 §4.5: offset in 8-byte units in the top 13 bits, M in
			 * bit 0.  Offset 0 without M is an atomic fragment (RFC 6946):
			 * a whole packet, processed as if unfragmented. */
			uint16_t fo = rd16(ip + off + 2);
			uint16_t frag_off = fo & 0xfff8;
			bool more = fo & 1;

			if (frag_off || more) {
				w->flags |= PKT_F_FRAG;
				if (frag_off == 0) {
					w->flags |= PKT_F_FRAG_FIRST;
				} else {
					/* No transport header in this fragment. */
					w->proto = ip[off];
					w->l4 = off + 8;
					w->l4_present = false;
					return true;
				}
			}
			hlen = 8;
		} else if (nh == IP6_NH_AH) {
			hlen = ((uint32_t)ip[off + 1] + 2) * 4; /* RFC 4302 §2.2 */
		} else {
			hlen = ((uint32_t)ip[off + 1] + 1) * 8;
		}
		if (off + hlen > len)
			return false;
		nh = ip[off];
		off += hlen;
	}
}

/* The header of the packet an ICMP error quotes (RFC 792, RFC 4443 §3): an
 * IP header, complete, and at least 8 bytes of its transport header (what
 * RFC 792 guarantees; RFC 1812 §4.3.2.3 routers send more, never less).  The
 * quoted packet's total length is not checked against what is present: the
 * quotation is truncated by design. */
static enum parse_result parse_icmp_inner(const uint8_t *d, uint32_t off, uint32_t end,
					  struct pkt_info *pi)
{
	const uint8_t *ip = d + off;
	uint32_t avail = end - off, l4;
	uint8_t proto;
	bool l4_present = true;

	if (pi->t.af == ULVS_AF_INET) {
		uint32_t ihl;

		if (avail < 20 || (ip[0] >> 4) != 4)
			return PARSE_BAD_ICMP;
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > avail)
			return PARSE_BAD_ICMP;
		proto = ip[9];
		memcpy(&pi->inner.saddr.ip, ip + 12, 4);
		memcpy(&pi->inner.daddr.ip, ip + 16, 4);
		l4 = ihl;
		if (rd16(ip + 6) & 0x1fff)
			l4_present = false; /* quoted a non-first fragment: no ports */
	} else {
		struct ip6_walk w;

		if (avail < 40 || (ip[0] >> 4) != 6)
			return PARSE_BAD_ICMP;
		if (!ip6_walk(ip, avail, &w))
			return PARSE_BAD_ICMP;
		proto = w.proto;
		memcpy(pi->inner.saddr.b, ip + 8, 16);
		memcpy(pi->inner.daddr.b, ip + 24, 16);
		l4 = w.l4;
		l4_present = w.l4_present;
	}
	pi->inner.af = pi->t.af;
	pi->inner.proto = proto;
	pi->inner_l3_off = (uint16_t)off;
	pi->inner_l4_off = (uint16_t)(off + l4);
	if (!l4_present)
		return PARSE_OK;

	switch (proto) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		if (avail - l4 < 8)
			return PARSE_BAD_ICMP;
		pi->inner.sport = rd16_raw(ip + l4);
		pi->inner.dport = rd16_raw(ip + l4 + 2);
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		uint8_t type;

		if ((proto == IPPROTO_ICMP_) != (pi->t.af == ULVS_AF_INET))
			return PARSE_OK; /* ICMP of the other family: opaque */
		if (avail - l4 < 8)
			return PARSE_BAD_ICMP;
		type = ip[l4];
		/* RFC 1122 §3.2.2, RFC 4443 §2.4(e): no error about an error. */
		if (pi->t.af == ULVS_AF_INET ? icmp4_is_error(type) : icmp6_is_error(type))
			return PARSE_BAD_ICMP;
		if (icmp_is_echo(pi->t.af, type))
			pi->inner.sport = pi->inner.dport = rd16_raw(ip + l4 + 4);
		break;
	}
	default:
		return PARSE_OK; /* other protocols: addresses only */
	}
	pi->flags |= PKT_F_INNER_L4;
	return PARSE_OK;
}

/* Transport header at l4 (offset from the frame), bounded by end (the end of
 * the IP packet, not of the frame). */
static enum parse_result parse_l4(const uint8_t *d, uint32_t l4, uint32_t end,
				  struct pkt_info *pi)
{
	const uint8_t *h = d + l4;
	uint32_t len = end - l4;

	switch (pi->t.proto) {
	case IPPROTO_TCP_: {
		uint32_t doff;

		if (len < 20)
			return PARSE_TRUNC_L4;
		/* RFC 9293 §3.1: data offset counts 32-bit words, minimum 5.  A
		 * first fragment must carry the whole header too (RFC 1858 §3). */
		doff = (uint32_t)(h[12] >> 4) * 4;
		if (doff < 20 || doff > len)
			return PARSE_BAD_TCP_HLEN;
		pi->t.sport = rd16_raw(h);
		pi->t.dport = rd16_raw(h + 2);
		pi->tcp_flags = h[13];
		break;
	}
	case IPPROTO_UDP_: {
		uint32_t ulen;

		if (len < 8)
			return PARSE_TRUNC_L4;
		/* RFC 768: length covers header and data.  Shorter than the IP
		 * payload is accepted (the rest is ignored, as Linux trims it);
		 * longer is a lie, except in a first fragment where the datagram
		 * continues in later fragments. */
		ulen = rd16(h + 4);
		if (ulen < 8 || (ulen > len && !(pi->flags & PKT_F_FRAG_FIRST)))
			return PARSE_BAD_UDP_LEN;
		pi->t.sport = rd16_raw(h);
		pi->t.dport = rd16_raw(h + 2);
		break;
	}
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		uint8_t type;

		if ((pi->t.proto == IPPROTO_ICMP_) != (pi->t.af == ULVS_AF_INET))
			return PARSE_OK; /* ICMP of the other family: opaque */
		if (len < 8)
			return PARSE_TRUNC_L4;
		type = h[0];
		pi->icmp_type = type;
		pi->icmp_code = h[1];
		if (icmp_is_echo(pi->t.af, type)) {
			/* The identifier plays the port in both directions, so a reply
			 * finds the request's connection (as IPVS ICMP handling). */
			pi->t.sport = pi->t.dport = rd16_raw(h + 4);
		} else if (icmp_err_handled(pi->t.af, type)) {
			enum parse_result r;

			/* An error cannot be fragmented into pieces we could use
			 * (it must fit the minimum MTU); a fragmented one is bogus. */
			if (pi->flags & PKT_F_FRAG)
				return PARSE_BAD_ICMP;
			r = parse_icmp_inner(d, l4 + 8, end, pi);
			if (r != PARSE_OK)
				return r;
			pi->flags |= PKT_F_ICMP_ERR;
		}
		break;
	}
	default:
		return PARSE_OK;
	}
	pi->flags |= PKT_F_L4;
	return PARSE_OK;
}

enum parse_result pkt_parse(const struct pkt *p, struct pkt_info *pi)
{
	const uint8_t *d = p->data;
	uint32_t len = p->len, l3 = ETH_HLEN_, avail, l3_len, l4;
	uint16_t et;

	memset(pi, 0, sizeof(*pi));
	if (len < ETH_HLEN_)
		return PARSE_TRUNC_ETH;
	et = rd16(d + 12);
	if (et == ETHERTYPE_VLAN_) {
		if (len < ETH_HLEN_ + 4)
			return PARSE_TRUNC_VLAN;
		pi->flags |= PKT_F_VLAN;
		memcpy(&pi->vlan_tci, d + 14, 2);
		et = rd16(d + 16);
		l3 += 4;
	}
	/* QinQ and 802.3 length frames fall here too: one tag is all we carry. */
	if (et != ETHERTYPE_IPV4_ && et != ETHERTYPE_IPV6_)
		return PARSE_NOT_IP;
	pi->l3_off = (uint16_t)l3;
	avail = len - l3;
	const uint8_t *ip = d + l3;

	if (et == ETHERTYPE_IPV4_) {
		uint32_t ihl;
		uint16_t frag;

		if (avail < 20)
			return PARSE_TRUNC_IP;
		if ((ip[0] >> 4) != 4)
			return PARSE_BAD_IP_VERSION;
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		if (ihl < 20)
			return PARSE_BAD_IP_HLEN;
		if (ihl > avail)
			return PARSE_TRUNC_IP;
		l3_len = rd16(ip + 2);
		/* Shorter than the frame is fine: Ethernet pads to 60 bytes. */
		if (l3_len < ihl || l3_len > avail)
			return PARSE_BAD_IP_LEN;
		if (csum_fold(csum_partial(ip, ihl, 0)) != 0)
			return PARSE_BAD_IP_CSUM;
		if (ihl > 20)
			pi->flags |= PKT_F_IP_OPTS;
		pi->t.af = ULVS_AF_INET;
		pi->t.proto = ip[9];
		pi->ttl = ip[8];
		memcpy(&pi->t.saddr.ip, ip + 12, 4);
		memcpy(&pi->t.daddr.ip, ip + 16, 4);
		l4 = l3 + ihl;
		/* RFC 791: MF is 0x2000, the offset the low 13 bits. */
		frag = rd16(ip + 6);
		if (frag & 0x3fff) {
			pi->flags |= PKT_F_FRAG;
			if ((frag & 0x1fff) == 0)
				pi->flags |= PKT_F_FRAG_FIRST;
		}
	} else {
		struct ip6_walk w;

		if (avail < 40)
			return PARSE_TRUNC_IP;
		if ((ip[0] >> 4) != 6)
			return PARSE_BAD_IP_VERSION;
		/* A zero payload length with a jumbo option (RFC 2675) never fits
		 * an Ethernet frame; it is read as an empty payload. */
		l3_len = 40u + rd16(ip + 4);
		if (l3_len > avail)
			return PARSE_BAD_IP_LEN;
		pi->t.af = ULVS_AF_INET6;
		pi->ttl = ip[7];
		memcpy(pi->t.saddr.b, ip + 8, 16);
		memcpy(pi->t.daddr.b, ip + 24, 16);
		if (!ip6_walk(ip, l3_len, &w))
			return PARSE_BAD_IP6_EXT;
		pi->t.proto = w.proto;
		pi->flags |= w.flags;
		l4 = l3 + w.l4;
	}
	/* Offsets are 16 bits: a frame whose IP packet ends past 64 KiB (only
	 * possible with a buffer larger than any link MTU) cannot be described. */
	if (l3 + l3_len > 0xffff)
		return PARSE_BAD_IP_LEN;
	pi->l3_len = (uint16_t)l3_len;
	pi->l4_off = (uint16_t)l4;
	pi->l4_len = (uint16_t)(l3 + l3_len - l4);

	/* Non-first fragments carry no transport header. */
	if ((pi->flags & PKT_F_FRAG) && !(pi->flags & PKT_F_FRAG_FIRST))
		return PARSE_OK;
	if (pi->t.af == ULVS_AF_INET6 && pi->t.proto == IP6_NH_NONE)
		return PARSE_OK;
	return parse_l4(d, l4, l3 + l3_len, pi);
}

const char *parse_result_name(enum parse_result r)
{
	static const char *const names[PARSE_RESULT_MAX] = {
		[PARSE_OK] = "ok",
		[PARSE_NOT_IP] = "not_ip",
		[PARSE_TRUNC_ETH] = "trunc_eth",
		[PARSE_TRUNC_VLAN] = "trunc_vlan",
		[PARSE_TRUNC_IP] = "trunc_ip",
		[PARSE_BAD_IP_VERSION] = "bad_ip_version",
		[PARSE_BAD_IP_HLEN] = "bad_ip_hlen",
		[PARSE_BAD_IP_LEN] = "bad_ip_len",
		[PARSE_BAD_IP_CSUM] = "bad_ip_csum",
		[PARSE_BAD_IP6_EXT] = "bad_ip6_ext",
		[PARSE_TRUNC_L4] = "trunc_l4",
		[PARSE_BAD_TCP_HLEN] = "bad_tcp_hlen",
		[PARSE_BAD_UDP_LEN] = "bad_udp_len",
		[PARSE_BAD_ICMP] = "bad_icmp",
	};

	if ((unsigned)r >= PARSE_RESULT_MAX || !names[r])
		return "unknown";
	return names[r];
}
