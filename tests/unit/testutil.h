/* Helpers for unit tests: build valid frames from a short description, so a
 * golden test reads as {what goes in, what must come out}. */
#ifndef ULVS_TESTS_TESTUTIL_H
#define ULVS_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/packet-t.h"

struct tpkt {
	const char *src, *dst;       /* "10.0.0.1" or "2001:db8::1" */
	uint8_t proto;               /* 6, 17, 1, 58 */
	uint16_t sport, dport;       /* host order */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	const uint8_t *tcp_opts;     /* raw options, padded by the builder */
	uint8_t tcp_opts_len;
	uint16_t payload_len;        /* filled with a byte pattern */
	uint8_t ttl;                 /* 0: 64 */
	uint16_t vlan;               /* 0: untagged */
	struct ulvs_mac smac, dmac;
	uint16_t ip_id;
	uint16_t frag;               /* IPv4 frag field (host order, flags|offset) */
};

/* Writes an Ethernet frame with correct checksums into buf (at offset
 * ULVS_HEADROOM) and points p at it.  Returns the frame length. */
size_t tpkt_build(struct pkt *p, uint8_t *buf, size_t buf_size, const struct tpkt *s);
union ulvs_addr taddr(const char *s);
struct ulvs_mac tmac(const char *s);
/* Verify every checksum (IPv4 header, TCP/UDP/ICMP incl. pseudo-header) of
 * the frame at data/len, descending into IP-in-IP.  Returns 0 when all are
 * valid, else a negative code naming the first bad one. */
int tpkt_verify_csums(const uint8_t *data, size_t len);
/* RFC 1071 by the book, independent of core/packet.c: add n bytes of d
 * (big-endian 16-bit words) to s; fold s and complement it. */
uint32_t tcsum_add(const uint8_t *d, size_t n, uint32_t s);
uint16_t tcsum_fold(uint32_t s);

#endif
