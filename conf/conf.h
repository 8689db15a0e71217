/* keepalived.conf-compatible configuration: load, validate, dump.
 *
 * conf_load() reads a file (following `include` globs), parses it into an
 * immutable model and validates it whole.  Diagnostics go to err as
 * "file:line:col: error: message" / "file:line:col: warning: message"; every
 * error in the file is reported in one run.  The model (conf-t.h) is
 * read-only outside conf/; the daemon turns it into data plane tables with
 * build_dataplane() (daemon/build.h).  Control thread only; no global state,
 * so two configs (old and new, on reload) can live side by side.
 */
#ifndef ULVS_CONF_CONF_H
#define ULVS_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf-t.h"   /* the model: read-only outside conf/ */

struct conf;

/* Returns the model, or NULL when there was at least one error (then
 * *n_errors > 0).  *n_warnings counts warnings (unknown keywords, keywords
 * ulvs accepts but does not implement yet).  Either counter may be NULL. */
struct conf *conf_load(const char *path, FILE *err, int *n_errors, int *n_warnings);
void conf_free(struct conf *c);

struct conf_load_opts {
	/* keepalived's config-id for `@ID` conditional lines; NULL: the host
	 * name up to its first dot (keepalived's default). */
	const char *config_id;
	/* Refuse `include` (an error at its location): for fuzzing, where an
	 * input must not make the parser read arbitrary files. */
	bool no_include;
};

/* The same as conf_load() on text in memory; name is what diagnostics call
 * it and relative includes resolve against its directory.  o may be NULL.
 * For the fuzzer and for tests; data need not be NUL-terminated. */
struct conf *conf_load_buffer(const char *name, const char *data, size_t len,
			      const struct conf_load_opts *o, FILE *err, int *n_errors,
			      int *n_warnings);
/* conf_load() with options. */
struct conf *conf_load_opts(const char *path, const struct conf_load_opts *o, FILE *err,
			    int *n_errors, int *n_warnings);

/* Names as the config spells them ("HTTP_GET", "NAT", ...). */
const char *conf_check_type_name(enum conf_check_type t);
const char *conf_fwd_name(unsigned fwd);
/* Prints the effective configuration (defaults filled in) in
 * keepalived.conf syntax; 0 or -errno. */
int conf_dump(const struct conf *c, FILE *out);

#endif
