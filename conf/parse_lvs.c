/* LVS keywords: virtual_server, virtual_server_group, real_server, the
 * health checkers, and the ulvs/DPVS extensions local_address_group and
 * fwmark_rule.
 *
 * Keyword names, argument shapes and value ranges follow keepalived 2.x
 * (check_parser.c, check_*.c) and DPVS's keepalived fork for FULLNAT.  These
 * handlers only record what was written and validate each value on its own;
 * defaults, inheritance (virtual server -> real server -> checker) and
 * cross-checks that need the whole block happen in conf_finalize().
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/service-t.h"
#include "internal.h"

#define LVS_MAX_TIMEOUT (86400u * 31)  /* keepalived's persistence_timeout cap */
#define IPVS_WEIGHT_LIMIT 65535        /* keepalived's real server weight cap */

static const char *const schedulers[] = {
	"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq",
	"fo", "ovf", "mh", "twos", NULL,
};

/* ---- checkers ---- */

void conf_checker_init(struct conf_checker *ck, enum conf_check_type t)
{
	ck->type = t;
	ck->connect_timeout_ms = CONF_UNSET;
	ck->retry = CONF_UNSET;
	ck->delay_before_retry_ms = CONF_UNSET;
	ck->warmup_ms = CONF_UNSET;
	ck->delay_loop_ms = CONF_UNSET;
	ck->misc_timeout_ms = CONF_UNSET;
}

#define CK(obj) ((struct conf_checker *)(obj))

static void ck_connect_ip(struct pctx *p, const struct cnode *n, void *o)
{
	rd_addr(p, &n->args[0], &CK(o)->connect_ip, "connect_ip address");
}
static void ck_connect_port(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 65535, &CK(o)->connect_port, "connect_port");
}
static void ck_bindto(struct pctx *p, const struct cnode *n, void *o)
{
	rd_addr(p, &n->args[0], &CK(o)->bindto, "bindto address");
}
static void ck_bind_port(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, 65535, &CK(o)->bind_port, "bind_port");
}
static void ck_bind_if(struct pctx *p, const struct cnode *n, void *o)
{
	char name[16];
	if (rd_ifname(p, &n->args[0], name))
		set_str(&CK(o)->bind_if, name);
}
static void ck_connect_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &CK(o)->connect_timeout_ms, "connect_timeout");
}
static void ck_fwmark(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX, &CK(o)->fwmark, "fwmark");
}
static void ck_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX - 1, &CK(o)->retry, "retry");
}
static void ck_delay_before_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &CK(o)->delay_before_retry_ms, "delay_before_retry");
}
static void ck_warmup(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &CK(o)->warmup_ms, "warmup");
}
static void ck_delay_loop(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &CK(o)->delay_loop_ms, "delay_loop");
}
static void ck_alpha(struct pctx *p, const struct cnode *n, void *o)
{
	if (rd_bool_opt(p, n, &CK(o)->alpha))
		CK(o)->set_ |= SET_ALPHA;
}
static void ck_log_all_failures(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &CK(o)->log_all_failures);
}

#define CK_COMMON \
	{ "retry", 1, 1, KB_NO, 0, ck_retry }, \
	{ "delay_before_retry", 1, 1, KB_NO, 0, ck_delay_before_retry }, \
	{ "warmup", 1, 1, KB_NO, 0, ck_warmup }, \
	{ "delay_loop", 1, 1, KB_NO, 0, ck_delay_loop }, \
	{ "alpha", 0, 1, KB_NO, 0, ck_alpha }, \
	{ "log_all_failures", 0, 1, KB_NO, 0, ck_log_all_failures }

#define CK_CONNECT \
	{ "connect_ip", 1, 1, KB_NO, 0, ck_connect_ip }, \
	{ "connect_port", 1, 1, KB_NO, 0, ck_connect_port }, \
	{ "bindto", 1, 1, KB_NO, 0, ck_bindto }, \
	{ "bind_port", 1, 1, KB_NO, 0, ck_bind_port }, \
	{ "bind_if", 1, 1, KB_NO, 0, ck_bind_if }, \
	{ "connect_timeout", 1, 1, KB_NO, 0, ck_connect_timeout }, \
	{ "fwmark", 1, 1, KB_NO, 0, ck_fwmark }, \
	/* keepalived 1.x HTTP_GET and DPVS's fork spell retry these ways */ \
	{ "nb_get_retry", 1, 1, KB_NO, KWF_DEPRECATED, ck_retry }, \
	{ "nb_sock_retry", 1, 1, KB_NO, KWF_DEPRECATED, ck_retry }

/* url { } */
#define URL(o) ((struct conf_url *)(o))
static void url_path(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&URL(o)->path, n->args[0].s);
}
static void url_digest(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	size_t l = strlen(s);
	bool hex = l == 32;
	for (size_t i = 0; hex && i < l; i++)
		hex = strchr("0123456789abcdefABCDEF", s[i]) != NULL;
	if (!hex) {
		cerr(p, &n->args[0], "invalid digest '%s' (expected 32 hex digits, an MD5 sum)", s);
		return;
	}
	set_str(&URL(o)->digest, s);
}
static void url_status_code(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_url *u = URL(o);
	for (unsigned i = 0; i < n->argc; i++) {
		const struct ctok *t = &n->args[i];
		char buf[32];
		snprintf(buf, sizeof(buf), "%s", t->s);
		char *dash = strchr(buf, '-');
		if (dash)
			*dash = 0;
		struct ctok lo = *t, hi = *t;
		lo.s = buf;
		hi.s = dash ? dash + 1 : buf;
		uint32_t a, b;
		if (!rd_u32(p, &lo, 100, 599, &a, "HTTP status code") ||
		    !rd_u32(p, &hi, 100, 599, &b, "HTTP status code"))
			continue;
		if (b < a) {
			cerr(p, t, "invalid status code range '%s'", t->s);
			continue;
		}
		if (u->n_status >= 16) {
			cerr(p, t, "too many status codes (at most 16 entries)");
			return;
		}
		u->status_lo[u->n_status] = (uint16_t)a;
		u->status_hi[u->n_status++] = (uint16_t)b;
	}
}
static void url_virtualhost(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&URL(o)->virtualhost, n->args[0].s);
}
static void url_regex(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&URL(o)->regex, n->args[0].s);
}
static void url_regex_no_match(struct pctx *p, const struct cnode *n, void *o)
{
	URL(o)->regex_no_match = true;
}

static const struct kw kw_url[] = {
	{ "path", 1, 1, KB_NO, 0, url_path },
	{ "digest", 1, 1, KB_NO, 0, url_digest },
	{ "status_code", 1, -1, KB_NO, 0, url_status_code },
	{ "virtualhost", 1, 1, KB_NO, 0, url_virtualhost },
	{ "regex", 1, 1, KB_NO, 0, url_regex },
	{ "regex_no_match", 0, 0, KB_NO, 0, url_regex_no_match },
	{ "regex_options", 1, -1, KB_NO, KWF_UNIMPL, NULL },
	{ "regex_min_offset", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "regex_max_offset", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "regex_stack", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_url(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_checker *ck = o;
	struct conf_url *u = VEC_PUSH(ck->urls, ck->n_urls);
	u->loc = n->kw->loc;
	parse_block(p, n->kids, n->n_kids, kw_url, u, "url");
	if (!u->path) {
		cwarn(p, n->kw, "url block without 'path'; ignored");
		free(u->digest);
		free(u->virtualhost);
		free(u->regex);
		ck->n_urls--;
	}
}
static void ck_virtualhost(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->virtualhost, n->args[0].s);
}
static void ck_http_protocol(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	if (strcmp(s, "1.0") && strcmp(s, "1.1") && strcmp(s, "1.0C") && strcmp(s, "1.0K")) {
		cerr(p, &n->args[0], "invalid http_protocol '%s' (expected 1.0, 1.0C, 1.0K or 1.1)",
		     s);
		return;
	}
	set_str(&CK(o)->http_protocol, s);
}
static void ck_enable_sni(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &CK(o)->enable_sni);
}
static void ck_fast_recovery(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &CK(o)->fast_recovery);
}

static const struct kw kw_http[] = {
	CK_CONNECT,
	CK_COMMON,
	{ "virtualhost", 1, 1, KB_NO, 0, ck_virtualhost },
	{ "http_protocol", 1, 1, KB_NO, 0, ck_http_protocol },
	{ "enable_sni", 0, 1, KB_NO, 0, ck_enable_sni },
	{ "fast_recovery", 0, 1, KB_NO, 0, ck_fast_recovery },
	{ "tls_compliant", 0, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "url", 0, 0, KB_YES, 0, ck_url },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_helo_name(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->helo_name, n->args[0].s);
}
static const struct kw kw_smtp[] = {
	CK_CONNECT,
	CK_COMMON,
	{ "helo_name", 1, 1, KB_NO, 0, ck_helo_name },
	/* keepalived 1.x: several hosts per SMTP_CHECK */
	{ "host", 0, 0, KB_YES, KWF_UNIMPL, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_dns_type(struct pctx *p, const struct cnode *n, void *o)
{
	static const char *const types[] = { "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA",
					     NULL };
	for (int i = 0; types[i]; i++)
		if (!strcasecmp(types[i], n->args[0].s)) {
			set_str(&CK(o)->dns_type, types[i]);
			return;
		}
	cerr(p, &n->args[0], "unknown DNS query type '%s' (expected A, NS, CNAME, SOA, MX, "
	     "TXT or AAAA)", n->args[0].s);
}
static void ck_dns_name(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->dns_name, n->args[0].s);
}
static const struct kw kw_dns[] = {
	CK_CONNECT,
	CK_COMMON,
	{ "type", 1, 1, KB_NO, 0, ck_dns_type },
	{ "name", 1, 1, KB_NO, 0, ck_dns_name },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_misc_path(struct pctx *p, const struct cnode *n, void *o)
{
	char *s = join_args(n, 0);
	free(CK(o)->misc_path);
	CK(o)->misc_path = s;
}
static void ck_misc_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &CK(o)->misc_timeout_ms, "misc_timeout");
}
static void ck_misc_dynamic(struct pctx *p, const struct cnode *n, void *o)
{
	CK(o)->misc_dynamic = true;
}
static void ck_user(struct pctx *p, const struct cnode *n, void *o)
{
	char *s = join_args_q(n, 0);
	free(CK(o)->user);
	CK(o)->user = s;
}
static const struct kw kw_misc[] = {
	CK_COMMON,
	{ "misc_path", 1, -1, KB_NO, 0, ck_misc_path },
	{ "misc_timeout", 1, 1, KB_NO, 0, ck_misc_timeout },
	{ "misc_dynamic", 0, 0, KB_NO, 0, ck_misc_dynamic },
	{ "user", 1, 2, KB_NO, 0, ck_user },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_payload(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->payload, n->args[0].s);
}
static void ck_require_reply(struct pctx *p, const struct cnode *n, void *o)
{
	CK(o)->require_reply = true;
	if (n->argc)
		set_str(&CK(o)->payload, n->args[0].s);
}
static void ck_min_reply(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, 65535, &CK(o)->min_reply_length, "min_reply_length");
}
static void ck_max_reply(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, 65535, &CK(o)->max_reply_length, "max_reply_length");
}
static const struct kw kw_udp[] = {
	CK_CONNECT,
	CK_COMMON,
	{ "payload", 1, 1, KB_NO, 0, ck_payload },
	{ "require_reply", 0, 1, KB_NO, 0, ck_require_reply },
	{ "min_reply_length", 1, 1, KB_NO, 0, ck_min_reply },
	{ "max_reply_length", 1, 1, KB_NO, 0, ck_max_reply },
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct kw kw_tcp[] = {
	CK_CONNECT,
	CK_COMMON,
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_track_file(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->track_file, n->args[0].s);
}
static void ck_file_weight(struct pctx *p, const struct cnode *n, void *o)
{
	rd_i32(p, &n->args[0], -254, 254, &CK(o)->file_weight, "FILE_CHECK weight");
	if (n->argc > 1) {
		if (strcmp(n->args[1].s, "reverse"))
			cerr(p, &n->args[1], "expected 'reverse' after the weight, not '%s'",
			     n->args[1].s);
		else
			CK(o)->reverse = true;
	}
}
static const struct kw kw_file[] = {
	CK_COMMON,
	{ "track_file", 1, 1, KB_NO, 0, ck_track_file },
	{ "file", 1, 1, KB_NO, KWF_DEPRECATED, ck_track_file },
	{ "weight", 1, 2, KB_NO, 0, ck_file_weight },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void ck_bfd_name(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&CK(o)->bfd_name, n->args[0].s);
}
static const struct kw kw_bfd[] = {
	CK_COMMON,
	{ "name", 1, 1, KB_NO, 0, ck_bfd_name },
	{ "weight", 1, 2, KB_NO, KWF_UNIMPL, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct {
	const char *name;
	const struct kw *tab;
} checker_kinds[CHECK_TYPE_MAX] = {
	[CHECK_TCP] = { "TCP_CHECK", kw_tcp },   [CHECK_HTTP] = { "HTTP_GET", kw_http },
	[CHECK_SSL] = { "SSL_GET", kw_http },    [CHECK_SMTP] = { "SMTP_CHECK", kw_smtp },
	[CHECK_DNS] = { "DNS_CHECK", kw_dns },   [CHECK_MISC] = { "MISC_CHECK", kw_misc },
	[CHECK_UDP] = { "UDP_CHECK", kw_udp },   [CHECK_PING] = { "PING_CHECK", kw_tcp },
	[CHECK_FILE] = { "FILE_CHECK", kw_file }, [CHECK_BFD] = { "BFD_CHECK", kw_bfd },
};

const char *conf_check_type_name(enum conf_check_type t)
{
	return t < CHECK_TYPE_MAX ? checker_kinds[t].name : "?";
}

static void rs_checker(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_rs *rs = o;
	enum conf_check_type t = CHECK_TCP;
	while (t < CHECK_TYPE_MAX && strcmp(checker_kinds[t].name, n->kw->s))
		t++;
	struct conf_checker *ck = VEC_PUSH(rs->checkers, rs->n_checkers);
	conf_checker_init(ck, t);
	ck->loc = n->kw->loc;
	parse_block(p, n->kids, n->n_kids, checker_kinds[t].tab, ck, n->kw->s);
	/* keepalived drops an incomplete checker with a message and runs on */
	const char *missing = t == CHECK_MISC && !ck->misc_path ? "misc_path"
			    : t == CHECK_FILE && !ck->track_file ? "track_file"
			    : t == CHECK_BFD && !ck->bfd_name ? "name"
			    : (t == CHECK_HTTP || t == CHECK_SSL) && !ck->n_urls ? "a url block"
			    : NULL;
	if (missing) {
		cwarn(p, n->kw, "%s without %s; checker ignored", n->kw->s, missing);
		conf_checker_free(ck);
		rs->n_checkers--;
	}
}

/* ---- real_server ---- */

void conf_rs_init(struct conf_rs *rs, const struct conf_vs *vs)
{
	rs->fwd = 0xff;
	rs->weight = 1;
	rs->smtp_alert = -1;
	rs->connect_timeout_ms = CONF_UNSET;
	rs->delay_loop_ms = CONF_UNSET;
	rs->delay_before_retry_ms = CONF_UNSET;
	rs->warmup_ms = CONF_UNSET;
	rs->retry = CONF_UNSET;
	(void)vs;
}

#define RS(o) ((struct conf_rs *)(o))

int parse_fwd(struct pctx *p, const struct cnode *n)
{
	const char *s = n->args[0].s;
	int fwd = -1;
	if (!strcasecmp(s, "NAT"))
		fwd = FWD_NAT;
	else if (!strcasecmp(s, "DR"))
		fwd = FWD_DR;
	else if (!strcasecmp(s, "TUN"))
		fwd = FWD_TUN;
	else if (!strcasecmp(s, "FNAT") || !strcasecmp(s, "FULLNAT"))
		fwd = FWD_FNAT;
	if (fwd < 0) {
		cerr(p, &n->args[0], "unknown %s '%s' (expected NAT, DR, TUN or FNAT)", n->kw->s, s);
		return -1;
	}
	if (n->argc > 1) {
		/* keepalived: "TUN type gue port N [csum|nocsum|remcsum]" */
		if (fwd == FWD_TUN)
			cwarn(p, &n->args[1], "tunnel options ('%s' ...) are not implemented by ulvs "
			      "yet; plain IP-in-IP is used", n->args[1].s);
		else
			cerr(p, &n->args[1], "'%s' takes no options after %s", n->kw->s, s);
	}
	return fwd;
}

static void rs_weight(struct pctx *p, const struct cnode *n, void *o)
{
	uint32_t w;
	if (rd_u32(p, &n->args[0], 0, IPVS_WEIGHT_LIMIT, &w, "real server weight")) {
		RS(o)->weight = (int32_t)w;
		RS(o)->set_ |= SET_WEIGHT;
	}
}
static void rs_lvs_method(struct pctx *p, const struct cnode *n, void *o)
{
	int fwd = parse_fwd(p, n);
	if (fwd >= 0) {
		RS(o)->fwd = (uint8_t)fwd;
		RS(o)->set_ |= SET_FWD;
	}
}
static void rs_uthreshold(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX, &RS(o)->uthreshold, "uthreshold");
}
static void rs_lthreshold(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX, &RS(o)->lthreshold, "lthreshold");
}
static void rs_inhibit(struct pctx *p, const struct cnode *n, void *o)
{
	if (rd_bool_opt(p, n, &RS(o)->inhibit_on_failure))
		RS(o)->set_ |= SET_INHIBIT;
}
static void rs_notify_up(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&RS(o)->notify_up, n->args[0].s);
	if (n->argc > 1)
		cwarn(p, &n->args[1], "running notify scripts as another user is not implemented "
		      "by ulvs yet");
}
static void rs_notify_down(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&RS(o)->notify_down, n->args[0].s);
	if (n->argc > 1)
		cwarn(p, &n->args[1], "running notify scripts as another user is not implemented "
		      "by ulvs yet");
}
static void rs_alpha(struct pctx *p, const struct cnode *n, void *o)
{
	if (rd_bool_opt(p, n, &RS(o)->alpha))
		RS(o)->set_ |= SET_ALPHA;
}
static void rs_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX - 1, &RS(o)->retry, "retry");
}
static void rs_delay_before_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &RS(o)->delay_before_retry_ms, "delay_before_retry");
}
static void rs_warmup(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &RS(o)->warmup_ms, "warmup");
}
static void rs_connect_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &RS(o)->connect_timeout_ms, "connect_timeout");
}
static void rs_delay_loop(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &RS(o)->delay_loop_ms, "delay_loop");
}
static void rs_smtp_alert(struct pctx *p, const struct cnode *n, void *o)
{
	bool b;
	if (rd_bool_opt(p, n, &b))
		RS(o)->smtp_alert = b;
}
static void rs_virtualhost(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&RS(o)->virtualhost, n->args[0].s);
}

static const struct kw kw_rs[] = {
	{ "weight", 1, 1, KB_NO, 0, rs_weight },
	{ "lvs_method", 1, -1, KB_NO, 0, rs_lvs_method },
	{ "lb_kind", 1, -1, KB_NO, KWF_DEPRECATED, rs_lvs_method },
	{ "uthreshold", 1, 1, KB_NO, 0, rs_uthreshold },
	{ "lthreshold", 1, 1, KB_NO, 0, rs_lthreshold },
	{ "inhibit_on_failure", 0, 1, KB_NO, 0, rs_inhibit },
	{ "notify_up", 1, 3, KB_NO, 0, rs_notify_up },
	{ "notify_down", 1, 3, KB_NO, 0, rs_notify_down },
	{ "alpha", 0, 1, KB_NO, 0, rs_alpha },
	{ "retry", 1, 1, KB_NO, 0, rs_retry },
	{ "delay_before_retry", 1, 1, KB_NO, 0, rs_delay_before_retry },
	{ "warmup", 1, 1, KB_NO, 0, rs_warmup },
	{ "connect_timeout", 1, 1, KB_NO, 0, rs_connect_timeout },
	{ "delay_loop", 1, 1, KB_NO, 0, rs_delay_loop },
	{ "smtp_alert", 0, 1, KB_NO, 0, rs_smtp_alert },
	{ "virtualhost", 1, 1, KB_NO, 0, rs_virtualhost },
	{ "snmp_name", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "TCP_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "HTTP_GET", 0, 0, KB_OPT, 0, rs_checker },
	{ "SSL_GET", 0, 0, KB_OPT, 0, rs_checker },
	{ "SMTP_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "DNS_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "MISC_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "UDP_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "PING_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "ICMP_CHECK", 0, 0, KB_OPT, KWF_UNIMPL, NULL },
	{ "FILE_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ "BFD_CHECK", 0, 0, KB_OPT, 0, rs_checker },
	{ NULL, 0, 0, 0, 0, NULL },
};

/* "ADDR [PORT]" of a real or sorry server.  A missing port is 0 (keepalived:
 * the virtual server's port is used where the method needs one). */
static bool rd_server(struct pctx *p, const struct cnode *n, struct conf_rs *rs)
{
	bool ok = rd_addr(p, &n->args[0], &rs->addr, "real server address");
	if (n->argc > 1 && rd_port(p, &n->args[1], &rs->port, "real server port"))
		rs->set_ |= SET_PORT;
	else if (n->argc > 1)
		ok = false;
	rs->loc = n->kw->loc;
	return ok;
}

/* ---- virtual_server ---- */

#define VS(o) ((struct conf_vs *)(o))

static void vs_ip_family(struct pctx *p, const struct cnode *n, void *o)
{
	if (!strcmp(n->args[0].s, "inet"))
		VS(o)->af = ULVS_AF_INET;
	else if (!strcmp(n->args[0].s, "inet6"))
		VS(o)->af = ULVS_AF_INET6;
	else {
		cerr(p, &n->args[0], "unknown ip_family '%s' (expected inet or inet6)", n->args[0].s);
		return;
	}
	VS(o)->set_ |= SET_FAMILY;
}
static void vs_delay_loop(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &VS(o)->delay_loop_ms, "delay_loop");
}
static void vs_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX - 1, &VS(o)->retry, "retry");
}
static void vs_delay_before_retry(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &VS(o)->delay_before_retry_ms, "delay_before_retry");
}
static void vs_warmup(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 0, &VS(o)->warmup_ms, "warmup");
}
static void vs_connect_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	rd_timer_ms(p, &n->args[0], 1, &VS(o)->connect_timeout_ms, "connect_timeout");
}
static void vs_inhibit(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &VS(o)->inhibit_on_failure);
}
static void vs_lb_algo(struct pctx *p, const struct cnode *n, void *o)
{
	for (int i = 0; schedulers[i]; i++)
		if (!strcmp(schedulers[i], n->args[0].s)) {
			snprintf(VS(o)->sched, sizeof(VS(o)->sched), "%s", schedulers[i]);
			VS(o)->set_ |= SET_SCHED;
			return;
		}
	cerr(p, &n->args[0], "unknown %s '%s' (expected rr, wrr, lc, wlc, lblc, lblcr, dh, sh, "
	     "sed, nq, fo, ovf, mh or twos)", n->kw->s, n->args[0].s);
}
static void vs_flag(struct pctx *p, const struct cnode *n, void *o)
{
	static const struct { const char *name; uint32_t flag; } flags[] = {
		{ "ops", CONF_SF_OPS },         { "hashed", CONF_SF_HASHED },
		{ "flag-1", CONF_SF_FLAG1 },    { "flag-2", CONF_SF_FLAG2 },
		{ "flag-3", CONF_SF_FLAG3 },    { "sh-port", CONF_SF_SH_PORT },
		{ "sh-fallback", CONF_SF_SH_FALLBACK }, { "mh-port", CONF_SF_MH_PORT },
		{ "mh-fallback", CONF_SF_MH_FALLBACK },
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(flags[i].name, n->kw->s))
			VS(o)->sched_flags |= flags[i].flag;
}
static void vs_lb_kind(struct pctx *p, const struct cnode *n, void *o)
{
	int fwd = parse_fwd(p, n);
	if (fwd >= 0) {
		VS(o)->fwd = (uint8_t)fwd;
		VS(o)->set_ |= SET_FWD;
	}
}
static void vs_persistence_timeout(struct pctx *p, const struct cnode *n, void *o)
{
	if (n->argc == 0) {
		VS(o)->persistence_timeout = 360; /* IPVS_SVC_PERSISTENT_TIMEOUT */
		return;
	}
	rd_u32(p, &n->args[0], 1, LVS_MAX_TIMEOUT, &VS(o)->persistence_timeout,
	       "persistence_timeout");
}
static void vs_persistence_granularity(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_vs *vs = o;
	const struct ctok *t = &n->args[0];
	if (strchr(t->s, '.')) {
		struct conf_addr m;
		if (!rd_addr(p, t, &m, "persistence_granularity netmask"))
			return;
		uint32_t h = ntohl(m.a.ip);
		unsigned plen = 0;
		while (plen < 32 && (h & (0x80000000u >> plen)))
			plen++;
		if (plen < 32 && (h << plen) != 0) {
			cerr(p, t, "persistence_granularity netmask '%s' is not contiguous", t->s);
			return;
		}
		vs->persistence_plen = (uint8_t)plen;
	} else {
		uint32_t plen;
		const char *s = t->s[0] == '/' ? t->s + 1 : t->s;
		struct ctok tt = *t;
		tt.s = (char *)s;
		if (!rd_u32(p, &tt, 1, 128, &plen, "persistence_granularity prefix length"))
			return;
		vs->persistence_plen = (uint8_t)plen;
	}
	vs->set_ |= SET_GRANULARITY;
	/* keepalived: a granularity makes the service persistent. */
	if (!vs->persistence_timeout)
		vs->persistence_timeout = 360;
}
static void vs_protocol(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	if (!strcasecmp(s, "TCP"))
		VS(o)->proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "UDP"))
		VS(o)->proto = IPPROTO_UDP;
	else if (!strcasecmp(s, "SCTP")) {
		cerr(p, &n->args[0], "SCTP virtual services are not supported by ulvs");
		return;
	} else {
		cerr(p, &n->args[0], "unknown protocol '%s' (expected TCP or UDP)", s);
		return;
	}
	VS(o)->set_ |= SET_PROTO;
}
static void vs_ha_suspend(struct pctx *p, const struct cnode *n, void *o)
{
	VS(o)->ha_suspend = true;
}
static void vs_smtp_alert(struct pctx *p, const struct cnode *n, void *o)
{
	bool b;
	if (rd_bool_opt(p, n, &b))
		VS(o)->smtp_alert = b;
}
static void vs_virtualhost(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&VS(o)->virtualhost, n->args[0].s);
}
static void vs_alpha(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &VS(o)->alpha);
}
static void vs_omega(struct pctx *p, const struct cnode *n, void *o)
{
	rd_bool_opt(p, n, &VS(o)->omega);
}
static void vs_quorum_up(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&VS(o)->quorum_up, n->args[0].s);
}
static void vs_quorum_down(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&VS(o)->quorum_down, n->args[0].s);
}
static void vs_quorum(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 1, UINT32_MAX, &VS(o)->quorum, "quorum");
}
static void vs_hysteresis(struct pctx *p, const struct cnode *n, void *o)
{
	rd_u32(p, &n->args[0], 0, UINT32_MAX, &VS(o)->hysteresis, "hysteresis");
}
static void vs_weight(struct pctx *p, const struct cnode *n, void *o)
{
	uint32_t w;
	if (rd_u32(p, &n->args[0], 1, IPVS_WEIGHT_LIMIT, &w, "virtual server weight"))
		VS(o)->weight = (int32_t)w;
}
static void vs_sorry_server(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_vs *vs = o;
	if (vs->has_sorry)
		cwarn(p, n->kw, "sorry_server given twice; the last one is used");
	uint8_t fwd = vs->has_sorry ? vs->sorry.fwd : 0xff;
	uint32_t set = vs->has_sorry ? (vs->sorry.set_ & SET_FWD) : 0;
	memset(&vs->sorry, 0, sizeof(vs->sorry));
	conf_rs_init(&vs->sorry, vs);
	vs->sorry.fwd = fwd;
	vs->sorry.set_ = set;
	vs->has_sorry = rd_server(p, n, &vs->sorry);
}
static void vs_sorry_inhibit(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_vs *vs = o;
	if (!vs->has_sorry) {
		cwarn(p, n->kw, "sorry_server_inhibit before or without sorry_server; ignored");
		return;
	}
	if (rd_bool_opt(p, n, &vs->sorry.inhibit_on_failure))
		vs->sorry.set_ |= SET_INHIBIT;
}
static void vs_sorry_method(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_vs *vs = o;
	if (!vs->has_sorry) {
		cwarn(p, n->kw, "sorry_server_lvs_method before or without sorry_server; ignored");
		return;
	}
	int fwd = parse_fwd(p, n);
	if (fwd >= 0) {
		vs->sorry.fwd = (uint8_t)fwd;
		vs->sorry.set_ |= SET_FWD;
	}
}
static void vs_real_server(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_vs *vs = o;
	struct conf_rs *rs = VEC_PUSH(vs->rs, vs->n_rs);
	conf_rs_init(rs, vs);
	bool ok = rd_server(p, n, rs);
	/* Walk the block even after a bad address so its errors show too. */
	parse_block(p, n->kids, n->n_kids, kw_rs, rs, "real_server");
	if (!ok) {
		conf_rs_free(rs);
		vs->n_rs--;
	}
}
static void vs_laddr_group(struct pctx *p, const struct cnode *n, void *o)
{
	set_str(&VS(o)->laddr_group, n->args[0].s);
}

static const struct kw kw_vs[] = {
	{ "ip_family", 1, 1, KB_NO, 0, vs_ip_family },
	{ "delay_loop", 1, 1, KB_NO, 0, vs_delay_loop },
	{ "retry", 1, 1, KB_NO, 0, vs_retry },
	{ "delay_before_retry", 1, 1, KB_NO, 0, vs_delay_before_retry },
	{ "warmup", 1, 1, KB_NO, 0, vs_warmup },
	{ "connect_timeout", 1, 1, KB_NO, 0, vs_connect_timeout },
	{ "inhibit_on_failure", 0, 1, KB_NO, 0, vs_inhibit },
	{ "lb_algo", 1, 1, KB_NO, 0, vs_lb_algo },
	{ "lvs_sched", 1, 1, KB_NO, 0, vs_lb_algo },
	{ "hashed", 0, 0, KB_NO, 0, vs_flag },
	{ "ops", 0, 0, KB_NO, 0, vs_flag },
	{ "flag-1", 0, 0, KB_NO, 0, vs_flag },
	{ "flag-2", 0, 0, KB_NO, 0, vs_flag },
	{ "flag-3", 0, 0, KB_NO, 0, vs_flag },
	{ "sh-port", 0, 0, KB_NO, 0, vs_flag },
	{ "sh-fallback", 0, 0, KB_NO, 0, vs_flag },
	{ "mh-port", 0, 0, KB_NO, 0, vs_flag },
	{ "mh-fallback", 0, 0, KB_NO, 0, vs_flag },
	{ "lb_kind", 1, -1, KB_NO, 0, vs_lb_kind },
	{ "lvs_method", 1, -1, KB_NO, 0, vs_lb_kind },
	{ "persistence_engine", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "persistence_timeout", 0, 1, KB_NO, 0, vs_persistence_timeout },
	{ "persistence_granularity", 1, 1, KB_NO, 0, vs_persistence_granularity },
	{ "protocol", 1, 1, KB_NO, 0, vs_protocol },
	{ "ha_suspend", 0, 0, KB_NO, 0, vs_ha_suspend },
	{ "smtp_alert", 0, 1, KB_NO, 0, vs_smtp_alert },
	{ "virtualhost", 1, 1, KB_NO, 0, vs_virtualhost },
	{ "snmp_name", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "alpha", 0, 1, KB_NO, 0, vs_alpha },
	{ "omega", 0, 1, KB_NO, 0, vs_omega },
	{ "quorum_up", 1, 3, KB_NO, 0, vs_quorum_up },
	{ "quorum_down", 1, 3, KB_NO, 0, vs_quorum_down },
	{ "quorum", 1, 1, KB_NO, 0, vs_quorum },
	{ "hysteresis", 1, 1, KB_NO, 0, vs_hysteresis },
	{ "weight", 1, 1, KB_NO, 0, vs_weight },
	{ "sorry_server", 1, 2, KB_NO, 0, vs_sorry_server },
	{ "sorry_server_inhibit", 0, 1, KB_NO, 0, vs_sorry_inhibit },
	{ "sorry_server_lvs_method", 1, -1, KB_NO, 0, vs_sorry_method },
	{ "real_server", 1, 2, KB_OPT, 0, vs_real_server },
	{ "nat_mask", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	/* DPVS's keepalived */
	{ "laddr_group_name", 1, 1, KB_NO, 0, vs_laddr_group },
	{ "syn_proxy", 0, 0, KB_NO, KWF_UNIMPL, NULL },
	{ "expire_quiescent_conn", 0, 0, KB_NO, KWF_UNIMPL, NULL },
	{ "est_timeout", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "bps", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "limit_proportion", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "blklst_group_name", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "whtlst_group_name", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "vip_bind_dev", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ "hash_target", 1, 1, KB_NO, KWF_UNIMPL, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void vs_init(struct conf_vs *vs)
{
	vs->vsg = -1;
	vs->lag = -1;
	vs->fwd = 0xff;
	vs->delay_loop_ms = 60000;
	vs->connect_timeout_ms = 5000;
	vs->delay_before_retry_ms = CONF_UNSET;
	vs->warmup_ms = CONF_UNSET;
	vs->retry = CONF_UNSET;
	vs->weight = 1;
	vs->quorum = 1;
	vs->smtp_alert = -1;
}

void h_virtual_server(struct pctx *p, const struct cnode *n, void *obj)
{
	struct conf *c = p->c;
	struct conf_vs *vs = VEC_PUSH(c->vs, c->n_vs);
	vs_init(vs);
	vs->loc = n->kw->loc;
	const struct ctok *a0 = &n->args[0];
	bool ok = true;
	if (!a0->quoted && !strcmp(a0->s, "fwmark")) {
		vs->kind = CONF_VS_FWMARK;
		if (n->argc < 2) {
			cerr(p, a0, "virtual_server fwmark needs a mark number");
			ok = false;
		} else {
			ok = rd_u32(p, &n->args[1], 1, UINT32_MAX, &vs->fwmark, "firewall mark");
		}
	} else if (!a0->quoted && !strcmp(a0->s, "group")) {
		vs->kind = CONF_VS_GROUP;
		if (n->argc < 2) {
			cerr(p, a0, "virtual_server group needs a group name");
			ok = false;
		} else {
			set_str(&vs->group, n->args[1].s);
		}
	} else {
		vs->kind = CONF_VS_ADDR;
		ok = rd_addr(p, a0, &vs->addr, "virtual server address");
		if (ok)
			vs->af = vs->addr.af;
		if (n->argc > 1 && !rd_port(p, &n->args[1], &vs->port, "virtual server port"))
			ok = false;
	}
	p->cur_vs = vs;
	parse_block(p, n->kids, n->n_kids, kw_vs, vs, "virtual_server");
	p->cur_vs = NULL;
	if (!ok) {
		/* Errors are already counted; keep the model consistent. */
		conf_vs_free(vs);
		c->n_vs--;
	}
}

/* ---- virtual_server_group ---- */

void h_virtual_server_group(struct pctx *p, const struct cnode *n, void *obj)
{
	struct conf *c = p->c;
	struct conf_vsg *g = VEC_PUSH(c->vsgs, c->n_vsgs);
	set_str(&g->name, n->args[0].s);
	g->loc = n->kw->loc;
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		struct conf_vsg_entry ent = { .loc = e->kw->loc };
		if (e->block)
			cerr(p, e->kw, "virtual_server_group entries take no block");
		if (!strcmp(e->kw->s, "fwmark")) {
			ent.is_fwmark = true;
			if (e->argc != 1) {
				cerr(p, e->kw, "expected 'fwmark NUMBER'");
				continue;
			}
			if (!rd_u32(p, &e->args[0], 1, UINT32_MAX, &ent.fwmark, "firewall mark"))
				continue;
		} else {
			if (!rd_addr_range(p, e->kw, &ent.first, &ent.count, "virtual server address"))
				continue;
			if (e->argc > 1)
				cwarn(p, &e->args[1], "extra arguments in virtual_server_group entry "
				      "ignored");
			if (e->argc > 0 && !rd_port(p, &e->args[0], &ent.port, "port"))
				continue;
		}
		*VEC_PUSH(g->entries, g->n_entries) = ent;
	}
	if (g->n_entries == 0)
		cwarn(p, n->kw, "virtual_server_group '%s' has no entries", g->name);
}

/* ---- local_address_group (DPVS) ---- */

void h_local_address_group(struct pctx *p, const struct cnode *n, void *obj)
{
	struct conf *c = p->c;
	struct conf_laddr_group *g = VEC_PUSH(c->lags, c->n_lags);
	set_str(&g->name, n->args[0].s);
	g->loc = n->kw->loc;
	for (unsigned i = 0; i < n->n_kids; i++) {
		const struct cnode *e = &n->kids[i];
		struct conf_laddr la = { .loc = e->kw->loc };
		if (e->block)
			cerr(p, e->kw, "local_address_group entries take no block");
		if (!rd_addr_range(p, e->kw, &la.first, &la.count, "local address"))
			continue;
		if (e->argc > 0 && !rd_ifname(p, &e->args[0], la.ifname))
			continue;
		if (e->argc > 1)
			cwarn(p, &e->args[1], "extra arguments in local_address_group entry ignored");
		*VEC_PUSH(g->entries, g->n_entries) = la;
	}
	if (g->n_entries == 0)
		cerr(p, n->kw, "local_address_group '%s' has no addresses", g->name);
}

/* ---- fwmark_rule (ulvs) ---- */

#define MR(o) ((struct conf_mark_rule *)(o))

static void mr_protocol(struct pctx *p, const struct cnode *n, void *o)
{
	const char *s = n->args[0].s;
	if (!strcasecmp(s, "TCP"))
		MR(o)->proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "UDP"))
		MR(o)->proto = IPPROTO_UDP;
	else if (!strcasecmp(s, "any"))
		MR(o)->proto = 0;
	else
		cerr(p, &n->args[0], "unknown protocol '%s' (expected TCP, UDP or any)", s);
}
static void mr_destination(struct pctx *p, const struct cnode *n, void *o)
{
	rd_prefix(p, &n->args[0], &MR(o)->dst, "destination prefix");
}
static void mr_port(struct pctx *p, const struct cnode *n, void *o)
{
	struct conf_mark_rule *r = o;
	/* "80,443,8000-8100" or the same split over several arguments */
	for (unsigned a = 0; a < n->argc; a++) {
		char *list = xstrdup(n->args[a].s), *save = NULL;
		for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
			char *dash = strchr(it, '-');
			if (dash)
				*dash = 0;
			struct ctok lo = n->args[a], hi = n->args[a];
			lo.s = it;
			hi.s = dash ? dash + 1 : it;
			uint32_t l, h;
			if (!rd_u32(p, &lo, 1, 65535, &l, "port") ||
			    !rd_u32(p, &hi, 1, 65535, &h, "port"))
				continue;
			if (h < l) {
				cerr(p, &n->args[a], "port range %u-%u is reversed", l, h);
				continue;
			}
			if (r->n_ports >= CONF_MAX_MARK_PORTS) {
				cerr(p, &n->args[a], "fwmark_rule takes at most %d ports or ranges",
				     CONF_MAX_MARK_PORTS);
				free(list);
				return;
			}
			r->port_lo[r->n_ports] = (uint16_t)l;
			r->port_hi[r->n_ports++] = (uint16_t)h;
		}
		free(list);
	}
}

static const struct kw kw_mark_rule[] = {
	{ "protocol", 1, 1, KB_NO, 0, mr_protocol },
	{ "destination", 1, 1, KB_NO, 0, mr_destination },
	{ "port", 1, -1, KB_NO, 0, mr_port },
	{ NULL, 0, 0, 0, 0, NULL },
};

void h_fwmark_rule(struct pctx *p, const struct cnode *n, void *obj)
{
	struct conf *c = p->c;
	struct conf_mark_rule r = { .loc = n->kw->loc };
	bool ok = rd_u32(p, &n->args[0], 1, UINT32_MAX, &r.mark, "firewall mark");
	int before = p->n_errors;
	parse_block(p, n->kids, n->n_kids, kw_mark_rule, &r, "fwmark_rule");
	if (!r.dst.af) {
		if (p->n_errors == before)
			cerr(p, n->kw, "fwmark_rule needs a destination prefix");
		ok = false;
	}
	if (ok && p->n_errors == before)
		*VEC_PUSH(c->marks, c->n_marks) = r;
}
