/* keepalived.conf-compatible configuration: load, validate, dump.
 *
 * conf_load() reads a file (following `include` globs), parses it into an
 * immutable model and validates it whole.  Diagnostics go to err as
 * "file:line:col: error: message" / "file:line:col: warning: message"; every
 * error in the file is reported in one run.  The model is opaque outside
 * conf/; the daemon turns it into data plane tables with build_dataplane()
 * (daemon/build.h).
 */
#ifndef ULVS_CONF_CONF_H
#define ULVS_CONF_CONF_H

#include <stdio.h>

struct conf;

/* Returns the model, or NULL when there was at least one error (then
 * *n_errors > 0).  *n_warnings counts warnings (unknown keywords, keywords
 * ulvs accepts but does not implement yet).  Either counter may be NULL. */
struct conf *conf_load(const char *path, FILE *err, int *n_errors, int *n_warnings);
void conf_free(struct conf *c);
/* Prints the effective configuration (defaults filled in) in
 * keepalived.conf syntax; 0 or -errno. */
int conf_dump(const struct conf *c, FILE *out);

#endif
