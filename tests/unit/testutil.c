/* Frame builder and checksum verifier for the unit tests (see testutil.h).
 * Written independently of core/packet.c so a bug there cannot hide itself. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/constants.h"

union ulvs_addr taddr(const char *s)
{
	union ulvs_addr a;
	memset(&a, 0, sizeof(a));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.b) != 1)
			abort();
	} else if (inet_pton(AF_INET, s, &a.ip) != 1) {
		abort();
	}
	return a;
}

struct ulvs_mac tmac(const char *s)
{
	struct ulvs_mac m;
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		m.b[i] = (uint8_t)v[i];
	return m;
}

uint32_t tcsum_add(const uint8_t *d, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	return s;
}

uint16_t tcsum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t l4sum(int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      const uint8_t *l4, size_t n)
{
	uint32_t s = 0;
	s = tcsum_add(src, v6 ? 16 : 4, s);
	s = tcsum_add(dst, v6 ? 16 : 4, s);
	s += proto;
	s += (uint32_t)n;
	s = tcsum_add(l4, n, s);
	return tcsum_fold(s);
}

size_t tpkt_build(struct pkt *p, uint8_t *buf, size_t buf_size, const struct tpkt *s)
{
	uint8_t *f = buf + ULVS_HEADROOM, *ip, *l4;
	int v6 = strchr(s->src, ':') != NULL;
	union ulvs_addr sa = taddr(s->src), da = taddr(s->dst);
	size_t off = 0, l4len, optlen = (s->tcp_opts_len + 3u) & ~3u;

	memset(buf, 0, buf_size);
	memcpy(f, s->dmac.b, 6);
	memcpy(f + 6, s->smac.b, 6);
	off = 12;
	if (s->vlan) {
		f[off] = 0x81, f[off + 1] = 0x00;
		f[off + 2] = (uint8_t)(s->vlan >> 8), f[off + 3] = (uint8_t)s->vlan;
		off += 4;
	}
	f[off] = v6 ? 0x86 : 0x08, f[off + 1] = v6 ? 0xdd : 0x00;
	off += 2;
	ip = f + off;
	off += v6 ? 40 : 20;
	l4 = f + off;
	switch (s->proto) {
	case 6:
		l4len = 20 + optlen + s->payload_len;
		l4[0] = (uint8_t)(s->sport >> 8), l4[1] = (uint8_t)s->sport;
		l4[2] = (uint8_t)(s->dport >> 8), l4[3] = (uint8_t)s->dport;
		l4[4] = (uint8_t)(s->seq >> 24), l4[5] = (uint8_t)(s->seq >> 16);
		l4[6] = (uint8_t)(s->seq >> 8), l4[7] = (uint8_t)s->seq;
		l4[8] = (uint8_t)(s->ack >> 24), l4[9] = (uint8_t)(s->ack >> 16);
		l4[10] = (uint8_t)(s->ack >> 8), l4[11] = (uint8_t)s->ack;
		l4[12] = (uint8_t)(((20 + optlen) / 4) << 4);
		l4[13] = s->tcp_flags;
		l4[14] = 0xfa, l4[15] = 0xf0;
		if (s->tcp_opts_len) {
			memcpy(l4 + 20, s->tcp_opts, s->tcp_opts_len);
			/* pad with NOP (1) then end */
			for (size_t i = s->tcp_opts_len; i < optlen; i++)
				l4[20 + i] = 1;
		}
		for (size_t i = 0; i < s->payload_len; i++)
			l4[20 + optlen + i] = (uint8_t)('a' + i % 26);
		break;
	case 17:
		l4len = 8 + s->payload_len;
		l4[0] = (uint8_t)(s->sport >> 8), l4[1] = (uint8_t)s->sport;
		l4[2] = (uint8_t)(s->dport >> 8), l4[3] = (uint8_t)s->dport;
		l4[4] = (uint8_t)(l4len >> 8), l4[5] = (uint8_t)l4len;
		for (size_t i = 0; i < s->payload_len; i++)
			l4[8 + i] = (uint8_t)('a' + i % 26);
		break;
	default: /* ICMP/ICMPv6 echo request with sport as id */
		l4len = 8 + s->payload_len;
		l4[0] = s->proto == 58 ? 128 : 8;
		l4[4] = (uint8_t)(s->sport >> 8), l4[5] = (uint8_t)s->sport;
		for (size_t i = 0; i < s->payload_len; i++)
			l4[8 + i] = (uint8_t)i;
		break;
	}
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (uint8_t)(l4len >> 8), ip[5] = (uint8_t)l4len;
		ip[6] = s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, sa.b, 16);
		memcpy(ip + 24, da.b, 16);
	} else {
		size_t tot = 20 + l4len;
		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(s->ip_id >> 8), ip[5] = (uint8_t)s->ip_id;
		ip[6] = (uint8_t)(s->frag >> 8), ip[7] = (uint8_t)s->frag;
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		memcpy(ip + 12, &sa.ip, 4);
		memcpy(ip + 16, &da.ip, 4);
		uint16_t c = tcsum_fold(tcsum_add(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	}
	{
		uint16_t c;
		int ck = s->proto == 6 ? 16 : s->proto == 17 ? 6 : 2;
		if (s->proto == 1)
			c = tcsum_fold(tcsum_add(l4, l4len, 0));
		else
			c = l4sum(v6, v6 ? ip + 8 : ip + 12, v6 ? ip + 24 : ip + 16, s->proto, l4, l4len);
		if (s->proto == 17 && c == 0)
			c = 0xffff;
		l4[ck] = (uint8_t)(c >> 8), l4[ck + 1] = (uint8_t)c;
	}
	p->buf = buf;
	p->data = f;
	p->len = (uint32_t)(off + l4len);
	p->buf_size = (uint32_t)buf_size;
	p->ifindex = 0;
	p->mark = 0;
	return p->len;
}

static int verify_ip(const uint8_t *ip, size_t len, int depth)
{
	int v6 = (ip[0] >> 4) == 6;
	size_t hl, tot;
	uint8_t proto;
	const uint8_t *l4;

	if (depth > 2)
		return 0;
	if (v6) {
		if (len < 40)
			return -1;
		hl = 40;
		tot = 40 + (size_t)(ip[4] << 8 | ip[5]);
		proto = ip[6];
	} else {
		if (len < 20)
			return -1;
		hl = (size_t)(ip[0] & 15) * 4;
		tot = (size_t)(ip[2] << 8 | ip[3]);
		proto = ip[9];
		if (tcsum_fold(tcsum_add(ip, hl, 0)) != 0)
			return -2;
		if ((ip[6] & 0x1f) || ip[7])
			return 0; /* non-first fragment: nothing more to check */
	}
	if (tot > len)
		return -3;
	l4 = ip + hl;
	switch (proto) {
	case 4:
	case 41:
		return verify_ip(l4, tot - hl, depth + 1);
	case 6:
	case 17:
	case 58:
		if (proto == 17 && l4[6] == 0 && l4[7] == 0 && !v6)
			return 0;
		if (l4sum(v6, v6 ? ip + 8 : ip + 12, v6 ? ip + 24 : ip + 16, proto, l4, tot - hl) != 0)
			return proto == 6 ? -4 : proto == 17 ? -5 : -6;
		return 0;
	case 1:
		return tcsum_fold(tcsum_add(l4, tot - hl, 0)) == 0 ? 0 : -7;
	default:
		return 0;
	}
}

int tpkt_verify_csums(const uint8_t *data, size_t len)
{
	size_t off = 12;
	if (len < 14)
		return -1;
	if (data[12] == 0x81 && data[13] == 0x00)
		off += 4;
	return verify_ip(data + off + 2, len - off - 2, 0);
}
