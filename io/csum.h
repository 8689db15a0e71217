/* RFC 1071 sums in wire (big-endian) word order, for the I/O backends that
 * finish checksums the kernel left partial (veth's TX offload): they work
 * on values as the wire reads them, unlike core/packet.h's memory-order
 * helpers meant for incremental updates. */
#ifndef ULVS_IO_CSUM_H
#define ULVS_IO_CSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t io_sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Folded to 16 bits, not inverted. */
static inline uint16_t io_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
