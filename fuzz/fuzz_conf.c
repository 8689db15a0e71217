/* libFuzzer harness for the keepalived.conf parser.
 *
 * Each input is a config text, loaded from memory with includes refused (an
 * input must not make the parser read files).  A config that loads must also
 * hold the dump invariant: its dump loads without error and dumps to the same
 * text; and it must build into data plane tables in replay mode.  Any
 * violation aborts, which libFuzzer reports as a crash.
 *   meson setup build-fuzz -Dfuzz=true (CC=clang); build-fuzz/fuzz/fuzz_conf tests/conf/good
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/fib.h"
#include "core/service.h"
#include "daemon/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static struct svc_table *table;
static struct fib *fib;

static char *dump(const struct conf *c, size_t *len)
{
	char *s = NULL;
	FILE *f = open_memstream(&s, len);
	if (!f || conf_dump(c, f) != 0)
		abort();
	fclose(f);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct conf_load_opts o = { .config_id = "fuzz", .no_include = true };
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		fib = calloc(1, sizeof(*fib));
		if (!devnull || !fib)
			abort();
	}
	if (size > 1 << 16)
		return 0;
	int ne = 0;
	struct conf *c = conf_load_buffer("fuzz.conf", (const char *)data, size, &o, devnull, &ne,
					  NULL);
	if (!c)
		return 0;
	size_t l1, l2;
	char *d1 = dump(c, &l1);
	struct conf *c2 = conf_load_buffer("dump.conf", d1, l1, &o, devnull, &ne, NULL);
	if (!c2)
		abort(); /* the dump of a valid config must be valid */
	char *d2 = dump(c2, &l2);
	if (l1 != l2 || memcmp(d1, d2, l1))
		abort(); /* dumping the dump must give the same text */

	table = svc_table_new();
	if (!table)
		abort();
	struct engine_params ep;
	struct build_opts bo = { .replay = true, .all_healthy = true };
	build_dataplane(c, &bo, table, fib, &ep, devnull);
	svc_table_free(table);

	free(d1);
	free(d2);
	conf_free(c2);
	conf_free(c);
	return 0;
}
