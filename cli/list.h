/* ulvsadm's listings: ipvsadm 1.31's layouts byte for byte (-L, -S, -c,
 * --stats, --rate, --thresholds, --persistent-conn, --timeout), DPVS's
 * ipvsadm layout for local addresses (-G), and --json for each. */
#ifndef ULVS_CLI_LIST_H
#define ULVS_CLI_LIST_H

#include <stdio.h>

#include "ctl/ctl_proto.h"

/* ipvsadm's FMT_* bits, plus ours. */
enum {
	FMT_NUMERIC = 0x0001,
	FMT_RULE = 0x0002,
	FMT_STATS = 0x0004,
	FMT_RATE = 0x0008,
	FMT_THRESHOLDS = 0x0010,
	FMT_PERSISTENTCONN = 0x0020,
	FMT_NOSORT = 0x0040,
	FMT_EXACT = 0x0080,
	FMT_JSON = 0x1000,
};

/* addr:port as ipvsadm prints it ([v6]:port; names unless FMT_NUMERIC). */
void list_addrport(char *buf, size_t len, uint8_t af, const union ulvs_addr *a, uint16_t port,
		   uint8_t proto, unsigned format);
/* Sort as libipvs's ipvs_cmp_services / ipvs_cmp_dests do. */
void list_sort(struct ctl_list *l);
/* Whole table (with_header: the "IP Virtual Server version" line, as -L
 * without a service); one service is l with n == 1 and with_header false. */
void list_services(FILE *f, const struct ctl_list *l, const struct ctl_info *info,
		   unsigned format, int with_header);
void list_conns_header(FILE *f, unsigned format);
void list_conn(FILE *f, const struct ctl_conn_info *c, unsigned format);
void list_timeouts(FILE *f, const struct ctl_timeouts *t, unsigned format);
void list_laddrs(FILE *f, const struct ctl_list *l, unsigned format);
/* The JSON form of -c: the caller prints "[" ... "]" around entries. */
void list_conn_json(FILE *f, const struct ctl_conn_info *c, int first);
/* The -b flag names of svc flags for scheduler sched ("" when none). */
void list_sched_flags(char *buf, size_t len, const char *sched, uint32_t flags);

#endif
