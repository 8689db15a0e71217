/* Small libbpf helpers ulvs-rs shares between tun and toa: opening the
 * embedded objects with libbpf's messages routed to our stderr only when
 * something fails, and summing per-CPU counters.
 */
#include "rs/rs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int rs_percpu_sum(int map_fd, uint64_t *values, unsigned n)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint32_t key = i;
		values[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, per))
			continue;
		for (int c = 0; c < ncpu; c++)
			values[i] += per[c];
	}
	free(per);
	return 0;
}
