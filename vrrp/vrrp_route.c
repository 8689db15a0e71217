/* virtual_routes grammar (see vrrp_route.h).  The words and defaults are
 * those of ip-route(8), which keepalived's own parser follows: a prefix
 * without a length is a host route, `default` is the zero prefix of the
 * family, the scope is link for a route without a gateway and universe
 * otherwise (RT_SCOPE_* in rtnetlink.h), and the table is main. */
#include "vrrp/vrrp_route.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_MAX_WORDS 32

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool rd_num(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ADDR of the route's family (fixed by whichever address came first). */
static bool rd_addr(struct vrrp_route *r, const char *s, union ulvs_addr *a)
{
	enum ulvs_af af;
	if (addr_parse(s, &af, a) < 0)
		return false;
	if (r->af && r->af != (uint8_t)af)
		return false;
	r->af = (uint8_t)af;
	return true;
}

static bool rd_prefix(struct vrrp_route *r, const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint32_t plen;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!rd_addr(r, buf, &r->dst))
		return false;
	uint32_t max = r->af == ULVS_AF_INET ? 32 : 128;
	if (!slash)
		plen = max;
	else if (!rd_num(slash + 1, max, &plen))
		return false;
	r->plen = (uint8_t)plen;
	return true;
}

static const struct { const char *w; uint8_t type; } types[] = {
	{ "unicast", RTN_UNICAST }, { "blackhole", RTN_BLACKHOLE },
	{ "unreachable", RTN_UNREACHABLE }, { "prohibit", RTN_PROHIBIT }, { "throw", RTN_THROW },
};
static const struct { const char *w; uint32_t v; } scopes[] = {
	{ "host", RT_SCOPE_HOST }, { "link", RT_SCOPE_LINK }, { "global", RT_SCOPE_UNIVERSE },
	{ "universe", RT_SCOPE_UNIVERSE }, { "site", RT_SCOPE_SITE }, { "nowhere", RT_SCOPE_NOWHERE },
};
static const struct { const char *w; uint32_t v; } tables[] = {
	{ "main", RT_TABLE_MAIN }, { "local", RT_TABLE_LOCAL }, { "default", RT_TABLE_DEFAULT },
};
static const struct { const char *w; uint32_t v; } protos[] = {
	{ "boot", RTPROT_BOOT }, { "static", RTPROT_STATIC }, { "kernel", RTPROT_KERNEL },
	{ "keepalived", 18 },     /* RTPROT_KEEPALIVED in newer headers */
};

#define LOOKUP(tab, word, out) ({ bool f_ = false; \
	for (size_t i_ = 0; i_ < sizeof(tab) / sizeof(tab[0]) && !f_; i_++) \
		if (!strcmp(tab[i_].w, word)) { *(out) = tab[i_].v; f_ = true; } \
	f_; })

int vrrp_route_parse(const char *line, struct vrrp_route *r, char *err, size_t errlen)
{
	char copy[512];
	char *w[ROUTE_MAX_WORDS];
	unsigned n = 0;
	bool have_dst = false;

	memset(r, 0, sizeof(*r));
	r->type = RTN_UNICAST;
	r->scope = -1;
	r->table = RT_TABLE_MAIN;
	r->proto = RTPROT_BOOT;
	if (strlen(line) >= sizeof(copy))
		return fail(err, errlen, "route line too long");
	strcpy(copy, line);
	for (char *save = NULL, *t = strtok_r(copy, " \t\"", &save); t;
	     t = strtok_r(NULL, " \t\"", &save)) {
		if (n == ROUTE_MAX_WORDS)
			return fail(err, errlen, "too many words");
		w[n++] = t;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *k = w[i];
		const char *val = i + 1 < n ? w[i + 1] : NULL;
		uint32_t u;
		bool typed = false;

		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			if (!strcmp(k, types[t].w) && !have_dst) {
				r->type = types[t].type;
				typed = true;
			}
		if (typed)
			continue;
		if (!strcmp(k, "no_track") || !strcmp(k, "onlink")) {
			if (k[0] == 'o')
				r->onlink = true;
			continue;
		}
		bool takes = !strcmp(k, "src") || !strcmp(k, "to") || !strcmp(k, "via") ||
			     !strcmp(k, "gw") || !strcmp(k, "dev") || !strcmp(k, "scope") ||
			     !strcmp(k, "table") || !strcmp(k, "metric") ||
			     !strcmp(k, "priority") || !strcmp(k, "preference") ||
			     !strcmp(k, "protocol") || !strcmp(k, "proto");
		if (takes && !val)
			return fail(err, errlen, "'%s' needs a value", k);
		if (!strcmp(k, "src")) {
			if (!rd_addr(r, val, &r->src))
				return fail(err, errlen, "bad src address '%s'", val);
			r->has_src = true;
		} else if (!strcmp(k, "to")) {
			if (have_dst)
				return fail(err, errlen, "two destinations");
			if (strcmp(val, "default") && !rd_prefix(r, val))
				return fail(err, errlen, "bad destination '%s'", val);
			have_dst = true;
		} else if (!strcmp(k, "via") || !strcmp(k, "gw")) {
			if (!rd_addr(r, val, &r->gw))
				return fail(err, errlen, "bad gateway '%s'", val);
			r->has_gw = true;
		} else if (!strcmp(k, "dev")) {
			if (strlen(val) >= IF_NAMESIZE)
				return fail(err, errlen, "interface name '%s' too long", val);
			strcpy(r->dev, val);
		} else if (!strcmp(k, "scope")) {
			if (!LOOKUP(scopes, val, &u) && !rd_num(val, 255, &u))
				return fail(err, errlen, "bad scope '%s'", val);
			r->scope = (int16_t)u;
		} else if (!strcmp(k, "table")) {
			if (!LOOKUP(tables, val, &u) && !rd_num(val, UINT32_MAX, &u))
				return fail(err, errlen, "bad table '%s'", val);
			r->table = u;
		} else if (!strcmp(k, "metric") || !strcmp(k, "priority") ||
			   !strcmp(k, "preference")) {
			if (!rd_num(val, UINT32_MAX, &r->metric))
				return fail(err, errlen, "bad metric '%s'", val);
			r->has_metric = true;
		} else if (!strcmp(k, "protocol") || !strcmp(k, "proto")) {
			if (!LOOKUP(protos, val, &u) && !rd_num(val, 255, &u))
				return fail(err, errlen, "bad protocol '%s'", val);
			r->proto = (uint8_t)u;
		} else if (!have_dst) {
			if (strcmp(k, "default") && !rd_prefix(r, k))
				return fail(err, errlen, "'%s' is neither a destination nor an option "
					    "ulvs implements", k);
			have_dst = true;
			continue;
		} else {
			return fail(err, errlen, "'%s' is not implemented by ulvs", k);
		}
		i++;                  /* the value */
	}
	if (!have_dst)
		return fail(err, errlen, "no destination");
	if (!r->af) {
		/* "default" alone: IPv4, as ip(8) */
		r->af = ULVS_AF_INET;
	}
	if (r->type != RTN_UNICAST && r->has_gw)
		return fail(err, errlen, "only a unicast route has a gateway");
	if (r->scope < 0)
		r->scope = r->type != RTN_UNICAST ? RT_SCOPE_UNIVERSE :
			   r->has_gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	return 0;
}
