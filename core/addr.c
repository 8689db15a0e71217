/* Prefix arithmetic and text conversion for struct ulvs_addr.
 *
 * Prefixes are handled byte by byte over the network-order bytes, so the
 * same code serves IPv4 (the first 4 bytes) and IPv6 (all 16) and never
 * depends on host endianness.  The text helpers sit on inet_pton/inet_ntop:
 * they are libc string routines, not syscalls, so core/ stays I/O free.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

static unsigned af_bytes(enum ulvs_af af)
{
	return af == ULVS_AF_INET6 ? 16 : 4;
}

union ulvs_addr addr_mask(enum ulvs_af af, const union ulvs_addr *a, unsigned plen)
{
	union ulvs_addr m = { .q = { 0, 0 } };
	unsigned nb = af_bytes(af), full;

	if (plen > nb * 8)
		plen = nb * 8;
	full = plen / 8;
	memcpy(m.b, a->b, full);
	if (plen % 8)
		m.b[full] = (uint8_t)(a->b[full] & (0xffu << (8 - plen % 8)));
	return m;
}

bool addr_prefix_match(enum ulvs_af af, const union ulvs_addr *a, const union ulvs_addr *b,
		       unsigned plen)
{
	unsigned nb = af_bytes(af), full;

	if (plen > nb * 8)
		plen = nb * 8;
	full = plen / 8;
	if (memcmp(a->b, b->b, full) != 0)
		return false;
	if (plen % 8) {
		uint8_t mask = (uint8_t)(0xffu << (8 - plen % 8));
		return ((a->b[full] ^ b->b[full]) & mask) == 0;
	}
	return true;
}

int addr_parse(const char *s, enum ulvs_af *af, union ulvs_addr *out)
{
	union ulvs_addr a = { .q = { 0, 0 } };

	if (!s || !af || !out)
		return -EINVAL;
	/* A colon can only be IPv6 text; anything else must be a dotted quad
	 * (inet_pton(AF_INET) refuses the historic "10.1" short forms, which is
	 * what we want for a config file). */
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.b) != 1)
			return -EINVAL;
		*af = ULVS_AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, &a.ip) != 1)
			return -EINVAL;
		*af = ULVS_AF_INET;
	}
	*out = a;
	return 0;
}

char *addr_format(enum ulvs_af af, const union ulvs_addr *a, char *buf, unsigned len)
{
	if (!buf || len == 0)
		return buf;
	if ((af != ULVS_AF_INET && af != ULVS_AF_INET6) ||
	    !inet_ntop(af == ULVS_AF_INET6 ? AF_INET6 : AF_INET, a->b, buf, len))
		snprintf(buf, len, "?");
	return buf;
}
