/* TOA option build/parse/insert and the MSS clamp that makes room for it
 * (see toa.h for the wire format and why FULLNAT needs it).
 *
 * Insertion moves the headers, not the payload: the L2/L3/TCP fixed headers
 * (at most 14 + 4 + 40 + extension headers + 20 bytes) slide back into the
 * headroom the I/O layer reserves (ULVS_HEADROOM), which is cheaper than
 * moving a full-sized payload forward and needs no tailroom.  The option is
 * placed first in the options area, so an EOL in the client's own options
 * cannot hide it from the real server's parser.
 * Checksums are updated incrementally (RFC 1624): every change is a sum of
 * 16-bit words, read as they lie in memory, so no byte swapping is needed
 * except for a field at an odd offset (an MSS option after a lone NOP).
 */
#include "toa.h"

#include <errno.h>
#include <string.h>

#include "packet.h"

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* host-order value -> the 16-bit word as it lies in memory (network order) */
static inline uint16_t be16(uint16_t host)
{
	uint8_t b[2] = { (uint8_t)(host >> 8), (uint8_t)host };
	return get16(b);
}

/* RFC 1624 eqn. 3 with m = 0: add n bytes (n even, at an even offset of the
 * checksummed area) to a checksum. */
static uint16_t csum_add_bytes(uint16_t check, const uint8_t *b, unsigned n)
{
	uint32_t s = (uint16_t)~check;
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += get16(b + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

unsigned toa_build(uint8_t *opt, enum ulvs_af af, const union ulvs_addr *addr,
		   uint16_t port_be)
{
	unsigned n = toa_len(af);
	if (!n)
		return 0;
	opt[0] = TOA_KIND;
	opt[1] = (uint8_t)n;
	memcpy(opt + 2, &port_be, 2);
	memcpy(opt + 4, addr->b, n - 4);
	return n;
}

int toa_parse(const uint8_t *o, uint32_t len, enum ulvs_af *af, union ulvs_addr *addr,
	      uint16_t *port_be)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], l;
		if (kind == TCP_OPT_EOL_)
			return -ENOENT;
		if (kind == TCP_OPT_NOP_) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;
		l = o[i + 1];
		if (l < 2 || i + l > len)
			return -EINVAL;
		if (kind == TOA_KIND) {
			if (l != TOA_LEN_V4 && l != TOA_LEN_V6)
				return -EINVAL;
			*af = l == TOA_LEN_V4 ? ULVS_AF_INET : ULVS_AF_INET6;
			memset(addr, 0, sizeof(*addr));
			memcpy(addr->b, o + i + 4, l - 4u);
			memcpy(port_be, o + i + 2, 2);
			return 0;
		}
		i += l;
	}
	return -ENOENT;
}

int toa_insert(struct pkt *p, struct pkt_info *pi, enum ulvs_af af,
	       const union ulvs_addr *addr, uint16_t port_be)
{
	unsigned n = toa_len(af), hl, move;
	uint8_t *tcp, *l3, opt[TOA_LEN_V6];
	uint16_t check, old_w, new_w, old_len, new_len;

	/* A fragment cannot grow: the offsets of the following ones are fixed. */
	if (!n || pi->t.proto != IPPROTO_TCP_ || !(pi->flags & PKT_F_L4) ||
	    (pi->flags & PKT_F_FRAG))
		return -EINVAL;
	tcp = p->data + pi->l4_off;
	hl = (unsigned)(tcp[12] >> 4) * 4;
	if (hl - 20 + n > TCP_OPTS_MAX)
		return -ENOSPC;
	if ((uint32_t)(p->data - p->buf) < n)
		return -ENOBUFS;

	move = pi->l4_off + 20u;
	memmove(p->data - n, p->data, move);
	p->data -= n;
	tcp = p->data + pi->l4_off;
	l3 = p->data + pi->l3_off;
	toa_build(opt, af, addr, port_be);
	memcpy(tcp + 20, opt, n);

	/* TCP checksum: the option's words, the doff change and the pseudo-header
	 * length (RFC 9293 §3.1, RFC 8200 §8.1) all enter one incremental update. */
	check = get16(tcp + 16);
	check = csum_add_bytes(check, opt, n);
	old_w = get16(tcp + 12);
	tcp[12] = (uint8_t)((((hl + n) / 4) << 4) | (tcp[12] & 0x0f));
	new_w = get16(tcp + 12);
	check = csum_replace2(check, old_w, new_w);
	old_len = be16(pi->l4_len);
	new_len = be16((uint16_t)(pi->l4_len + n));
	check = csum_replace2(check, old_len, new_len);
	put16(tcp + 16, check);

	old_len = be16(pi->l3_len);
	new_len = be16((uint16_t)(pi->l3_len + n));
	if (pi->t.af == ULVS_AF_INET) {
		put16(l3 + 2, new_len);
		put16(l3 + 10, csum_replace2(get16(l3 + 10), old_len, new_len));
	} else {
		put16(l3 + 4, be16((uint16_t)(pi->l3_len + n - 40)));
	}
	pi->l3_len = (uint16_t)(pi->l3_len + n);
	pi->l4_len = (uint16_t)(pi->l4_len + n);
	/* Ethernet padding of a short frame is dropped: the NIC pads again. */
	p->len = (uint32_t)pi->l3_off + pi->l3_len;
	return 0;
}

unsigned toa_strip(struct pkt *p, const struct pkt_info *pi)
{
	uint8_t *tcp, *o;
	uint32_t i = 0, len;
	unsigned n = 0;

	if (pi->t.proto != IPPROTO_TCP_ || !(pi->flags & PKT_F_L4))
		return 0;
	tcp = p->data + pi->l4_off;
	len = (uint32_t)(tcp[12] >> 4) * 4 - 20;
	o = tcp + 20;
	while (i < len) {
		uint8_t kind = o[i], l;
		if (kind == TCP_OPT_EOL_)
			break;
		if (kind == TCP_OPT_NOP_) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		l = o[i + 1];
		if (l < 2 || i + l > len)
			break;
		if (kind == TOA_KIND) {
			/* Word by word over the option, so odd offsets need no swap. */
			uint32_t from = (20 + i) & ~1u, to = 20 + i + l;
			uint16_t check = get16(tcp + 16);
			for (uint32_t w = from; w < to; w += 2) {
				uint16_t old = get16(tcp + w);
				for (uint32_t b = w; b < w + 2; b++)
					if (b >= 20 + i && b < to)
						tcp[b] = TCP_OPT_NOP_;
				check = csum_replace2(check, old, get16(tcp + w));
			}
			put16(tcp + 16, check);
			n++;
		}
		i += l;
	}
	return n;
}

bool tcp_mss_clamp(struct pkt *p, const struct pkt_info *pi, uint16_t delta)
{
	uint8_t *tcp, *o;
	uint32_t i = 0, len;

	if (pi->t.proto != IPPROTO_TCP_ || !(pi->flags & PKT_F_L4))
		return false;
	tcp = p->data + pi->l4_off;
	len = (uint32_t)(tcp[12] >> 4) * 4 - 20;
	o = tcp + 20;
	while (i < len) {
		uint8_t kind = o[i], l;
		if (kind == TCP_OPT_EOL_)
			return false;
		if (kind == TCP_OPT_NOP_) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return false;
		l = o[i + 1];
		if (l < 2 || i + l > len)
			return false;
		if (kind == TCP_OPT_MSS_ && l == 4) {
			uint8_t *f = o + i + 2;
			uint16_t mss = (uint16_t)(f[0] << 8 | f[1]), old_raw, new_raw;
			if (mss <= delta)
				return false;
			old_raw = get16(f);
			mss = (uint16_t)(mss - delta);
			f[0] = (uint8_t)(mss >> 8);
			f[1] = (uint8_t)mss;
			new_raw = get16(f);
			/* A word at an odd offset of the segment sums byte-swapped. */
			if ((20 + i + 2) & 1) {
				old_raw = (uint16_t)(old_raw << 8 | old_raw >> 8);
				new_raw = (uint16_t)(new_raw << 8 | new_raw >> 8);
			}
			put16(tcp + 16, csum_replace2(get16(tcp + 16), old_raw, new_raw));
			return true;
		}
		i += l;
	}
	return false;
}
