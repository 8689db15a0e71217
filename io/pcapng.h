/* A small pcapng writer and reader of our own.
 *
 * libpcap reads pcapng but hides which interface a packet belongs to, and
 * writes only classic pcap, which has no interface at all.  Replay needs
 * both: the ingress interface of every input frame and the egress interface
 * of every transmitted one.  The format is small (draft-ietf-opsawg-pcapng):
 * we write one Section Header Block, one Interface Description Block per
 * interface (if_name, if_MACaddr, if_tsresol = microseconds, Ethernet) and
 * one Enhanced Packet Block per frame, always little-endian, with no
 * wall-clock or host data, so the same frames give the same bytes on any
 * machine.  The reader understands every section/interface/packet block
 * (both byte orders, per-interface if_tsresol and if_tsoffset) and skips the
 * rest.  Return convention: 0 / -errno; readers return 1 for a packet.
 */
#ifndef ULVS_IO_PCAPNG_H
#define ULVS_IO_PCAPNG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/fib-t.h"

#define PCAPNG_LINKTYPE_ETHERNET 1

struct pcapng_writer;

/* Creates path and writes the section header and one interface description
 * per fib interface (interface id = fib interface id; at least one, named
 * "any", when the fib is empty).  NULL with errno set on failure. */
struct pcapng_writer *pcapng_writer_open(const char *path, const struct fib *f);
/* Appends one frame on interface iface with timestamp ts_ns (written with
 * microsecond resolution).  -EINVAL for an unknown interface; -errno on I/O
 * errors. */
int pcapng_write_packet(struct pcapng_writer *w, uint32_t iface, uint64_t ts_ns,
			const uint8_t *data, uint32_t len);
/* Flushes and closes; returns the first error seen while writing, if any. */
int pcapng_writer_close(struct pcapng_writer *w);

/* One packet as read: data points into the reader's buffer and stays valid
 * until the next read. */
struct pcapng_record {
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint32_t iface;          /* interface index within the current section */
	const char *if_name;     /* if_name option, "" when absent */
	uint16_t linktype;
	uint64_t ts_ns;          /* absolute, after if_tsresol and if_tsoffset */
};

struct pcapng_reader;

/* Takes ownership of fp (positioned at the start of the file).  NULL with
 * errno set: EINVAL when the file does not start with a section header. */
struct pcapng_reader *pcapng_reader_open(FILE *fp);
/* 1: *rec filled; 0: end of file; -EINVAL: malformed (pcapng_reader_error()
 * says where and why); -ENOMEM, -EIO. */
int pcapng_read_packet(struct pcapng_reader *r, struct pcapng_record *rec);
const char *pcapng_reader_error(const struct pcapng_reader *r);
void pcapng_reader_close(struct pcapng_reader *r);

/* true when the first four bytes are a pcapng Section Header Block type. */
bool pcapng_is_pcapng(const uint8_t magic[4]);

#endif
