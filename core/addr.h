/* Addresses as the data plane stores them.
 *
 * One 16-byte union serves IPv4 and IPv6 so a connection or a real server has
 * one layout whatever its family; the family travels beside it (AF_INET = 4,
 * AF_INET6 = 6 in our own enum, so core/ needs no socket headers).  IPv4 lives
 * in .ip with the other 12 bytes zero, which keeps hashing and comparing
 * family-blind.  Everything is in network byte order, ports included, as in
 * the kernel's IPVS: the hot path never converts.
 */
#ifndef ULVS_CORE_ADDR_H
#define ULVS_CORE_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum ulvs_af { ULVS_AF_NONE = 0, ULVS_AF_INET = 4, ULVS_AF_INET6 = 6 };

union ulvs_addr {
	uint32_t ip;        /* IPv4, network order; ip6[1..3] must be zero */
	uint32_t ip6[4];
	uint8_t b[16];
	uint64_t q[2];
};

static inline bool addr_eq(const union ulvs_addr *a, const union ulvs_addr *b)
{
	return a->q[0] == b->q[0] && a->q[1] == b->q[1];
}

static inline bool addr_is_zero(const union ulvs_addr *a)
{
	return (a->q[0] | a->q[1]) == 0;
}

static inline union ulvs_addr addr_v4(uint32_t ip_be)
{
	union ulvs_addr a = { .q = { 0, 0 } };
	a.ip = ip_be;
	return a;
}

/* Keep the first plen bits of a (af decides whether plen counts of 32 or 128). */
union ulvs_addr addr_mask(enum ulvs_af af, const union ulvs_addr *a, unsigned plen);
/* true when a and b agree in their first plen bits. */
bool addr_prefix_match(enum ulvs_af af, const union ulvs_addr *a,
		       const union ulvs_addr *b, unsigned plen);
/* Text form; returns 0 or -EINVAL.  Accepts dotted quad and RFC 4291 text. */
int addr_parse(const char *s, enum ulvs_af *af, union ulvs_addr *out);
/* Writes a NUL-terminated text form into buf (at least 46 bytes); returns buf. */
char *addr_format(enum ulvs_af af, const union ulvs_addr *a, char *buf, unsigned len);

#define ULVS_MAC_LEN 6
struct ulvs_mac {
	uint8_t b[ULVS_MAC_LEN];
};

#endif
