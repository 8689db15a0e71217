/* virtual_routes lines in keepalived's syntax, parsed into what one
 * rtnetlink RTM_NEWROUTE / RTM_DELROUTE needs.  Pure (no sockets), so the
 * grammar is unit-tested; vrrp_net.c sends the result and vrrp.c adds the
 * routes on becoming master and removes them on leaving it.
 *
 * Accepted: [src ADDR] [to] PREFIX|default [via|gw ADDR] [dev IFNAME]
 * [scope host|link|global|site|nowhere|N] [table main|local|default|N]
 * [metric|priority|preference N] [protocol boot|static|kernel|N] [onlink]
 * [no_track], optionally led by a route type (unicast, blackhole,
 * unreachable, prohibit, throw).  Anything else (multipath `nexthop`,
 * `or`, metrics like mtu) is refused with a message naming the word, so a
 * route is never installed differently from what keepalived would do.
 */
#ifndef ULVS_VRRP_ROUTE_H
#define ULVS_VRRP_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

struct vrrp_route {
	uint8_t af;                   /* ULVS_AF_INET / ULVS_AF_INET6 */
	uint8_t type;                 /* RTN_* */
	uint8_t plen;
	uint8_t proto;                /* RTPROT_*, default RTPROT_BOOT as ip(8) */
	int16_t scope;                /* RT_SCOPE_*, -1: by type and gateway */
	bool has_src, has_gw, has_metric, onlink;
	union ulvs_addr dst, src, gw;
	char dev[IF_NAMESIZE];        /* "" when not given */
	uint32_t table;               /* RT_TABLE_MAIN unless given */
	uint32_t metric;
};

/* Parse one line.  0, or -EINVAL with a one-line reason in err. */
int vrrp_route_parse(const char *line, struct vrrp_route *r, char *err, size_t errlen);

#endif
