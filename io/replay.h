/* pcap replay: the engine over a capture, deterministically.
 *
 * replay_run() reads IN (classic pcap via libpcap; pcapng with our own
 * reader, because libpcap hides the interface a packet arrived on), feeds
 * frames to the engine in batches using the capture timestamps as the
 * clock, and writes every transmitted frame to OUT as pcapng with one
 * interface description block per fib interface and each packet's egress
 * interface id.  Dropped and passed frames are counted and summarised on
 * the report stream.
 * Same input, same config -> same output bytes.  Returns 0 or -errno.
 */
#ifndef ULVS_IO_REPLAY_H
#define ULVS_IO_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "core/engine.h"

struct replay_opts {
	const char *in_path, *out_path;
	const char *pass_path;   /* optional: frames passed to the kernel */
	FILE *report;            /* summary (counters); NULL: none */
	FILE *err;               /* error messages; NULL: stderr */
};

int replay_run(struct engine *e, const struct fib *f, const struct replay_opts *o);

/* Timestamp (ns since the epoch) of the first frame of path, to be the
 * engine's clock origin; 0 for an empty capture.  Returns 0 or -errno with
 * a message on err (NULL: stderr). */
int replay_first_timestamp(const char *path, uint64_t *ts_ns, FILE *err);

#endif
