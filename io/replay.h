/* pcap replay: the engine over a capture, deterministically.
 *
 * replay_run() reads IN (pcap or pcapng, via libpcap), feeds frames to the
 * engine in batches using the capture timestamps as the clock, and writes
 * every transmitted frame to OUT as pcapng with one interface description
 * block per fib interface and each packet's egress interface id.  Dropped
 * and passed frames are counted and summarised on the report stream.
 * Same input, same config -> same output bytes.  Returns 0 or -errno.
 */
#ifndef ULVS_IO_REPLAY_H
#define ULVS_IO_REPLAY_H

#include <stdio.h>

#include "core/engine.h"

struct replay_opts {
	const char *in_path, *out_path;
	const char *pass_path;   /* optional: frames passed to the kernel */
	FILE *report;            /* summary (counters); NULL: none */
};

int replay_run(struct engine *e, const struct fib *f, const struct replay_opts *o);

#endif
