/* ulvsadm's views of the director that ipvsadm has no layout for:
 * --status (sections of key/value records from ulvsd, ctl_proto.h) as text
 * or JSON, and the sync daemon list of -L --daemon (ipvsadm's layout, or
 * JSON). */
#ifndef ULVS_CLI_STATUS_VIEW_H
#define ULVS_CLI_STATUS_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "ctl/ctl_proto.h"

/* Text: a heading per section and one line of key=value per record
 * (values with spaces quoted; drops only where non-zero).  JSON: one
 * object, a member per section holding an array of objects. */
void status_view_print(FILE *f, const struct ctl_status *st, bool json);
/* ipvsadm -L --daemon: "master sync daemon (mcast=IF, syncid=N, ...)". */
void status_view_daemons(FILE *f, const struct ctl_daemons *d, bool json);

#endif
