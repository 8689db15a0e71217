/* ulvsadm --simulate: preview a scheduler on synthetic traffic, in-process,
 * with the data plane's own scheduler code.  See simulate.c and ulvsadm(8). */
#ifndef ULVS_CLI_SIMULATE_H
#define ULVS_CLI_SIMULATE_H

/* argv as ulvsadm got it (containing --simulate).  Prints the report on
 * stdout, errors on stderr; returns the process exit code: 0, or 2 on a
 * usage error, 1 when the table cannot be built. */
int simulate_main(int argc, char **argv);

#endif
