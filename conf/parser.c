/* Statement tree and keyword dispatch for keepalived.conf.
 *
 * The tree builder groups the token stream into statements (a keyword and the
 * words after it up to the end of line, `{` or `}`) and blocks.  As in
 * keepalived, a block's `{` may sit on the statement's line or on the next
 * one.  Brace errors are reported where they are (a stray `}` at its column,
 * a missing `}` at the `{` it should close) and parsing carries on.
 *
 * The dispatcher walks one block with one keyword table.  keepalived lets a
 * block be written on one line (`url { path / status_code 200 }`): when a
 * statement has more words than its keyword takes and a surplus word is a
 * keyword of the same block, the statement is split there.  Unknown keywords
 * are warnings (keepalived behaviour, so configs written for a newer
 * keepalived still load); recognised but unimplemented ones are warnings that
 * say so; wrong argument counts and bad values are errors.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

void *vec_push(void *arrp, unsigned *n, size_t elem)
{
	char **arr = arrp;
	unsigned cap = 4;
	while (cap < *n + 1)
		cap *= 2;
	/* Capacity is implied by n (powers of two from 4), so no cap field. */
	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		char *na = realloc(*arr, (size_t)cap * elem);
		if (!na)
			abort();
		*arr = na;
	}
	char *e = *arr + (size_t)*n * elem;
	memset(e, 0, elem);
	(*n)++;
	return e;
}

void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

/* A word as the lexer reads it back: quoted (with \" and \\) when needed. */
char *quote_word(const char *w)
{
	/* '@' only means something at the start of a line, '$' anywhere */
	if (*w && *w != '@' && !strpbrk(w, " \t\r\v\f#!{}\"\\$") && strcmp(w, "include"))
		return xstrdup(w);
	char *q = xcalloc(1, 2 * strlen(w) + 3), *o = q;
	*o++ = '"';
	for (; *w; w++) {
		if (*w == '"' || *w == '\\')
			*o++ = '\\';
		*o++ = *w;
	}
	*o++ = '"';
	return q;
}

static char *join_toks(const struct ctok *t, unsigned n, bool quote)
{
	size_t len = 1;
	char **w = xcalloc(n ? n : 1, sizeof(*w));
	for (unsigned i = 0; i < n; i++) {
		w[i] = quote ? quote_word(t[i].s) : xstrdup(t[i].s);
		len += strlen(w[i]) + 1;
	}
	char *s = xcalloc(1, len);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, w[i]);
		free(w[i]);
	}
	free(w);
	return s;
}

char *join_args(const struct cnode *n, unsigned from)
{
	return join_toks(n->args + from, from < n->argc ? n->argc - from : 0, false);
}

char *join_args_q(const struct cnode *n, unsigned from)
{
	return join_toks(n->args + from, from < n->argc ? n->argc - from : 0, true);
}

char *join_line_q(const struct cnode *n)
{
	char *kw = quote_word(n->kw->s), *rest = join_args_q(n, 0);
	size_t l = strlen(kw) + strlen(rest) + 2;
	char *s = xcalloc(1, l);
	snprintf(s, l, "%s%s%s", kw, *rest ? " " : "", rest);
	free(kw);
	free(rest);
	return s;
}

/* ---- tree ---- */

struct tb {
	struct pctx *p;
	unsigned pos;
};

static void skip_block(struct tb *b)
{
	int depth = 1;
	while (b->pos < b->p->n_toks && depth > 0) {
		uint8_t k = b->p->toks[b->pos++].kind;
		depth += k == T_LBRACE ? 1 : k == T_RBRACE ? -1 : 0;
	}
}

static struct cnode *tb_level(struct tb *b, const struct ctok *open, unsigned nesting,
			      unsigned *n_out)
{
	struct pctx *p = b->p;
	struct cnode *kids = NULL;
	unsigned n = 0;
	bool last_ended_by_eol = false;

	while (b->pos < p->n_toks) {
		const struct ctok *t = &p->toks[b->pos];
		if (t->kind == T_EOL) {
			b->pos++;
			continue;
		}
		if (t->kind == T_RBRACE) {
			b->pos++;
			if (open) {
				*n_out = n;
				return kids;
			}
			cerr(p, t, "unbalanced '}': no block is open here");
			last_ended_by_eol = false;
			continue;
		}
		struct cnode *target = NULL;
		if (t->kind == T_WORD) {
			struct cnode *nd = VEC_PUSH(kids, n);
			nd->kw = t;
			nd->args = t + 1;
			b->pos++;
			while (b->pos < p->n_toks && p->toks[b->pos].kind == T_WORD) {
				nd->argc++;
				b->pos++;
			}
			last_ended_by_eol = b->pos >= p->n_toks || p->toks[b->pos].kind == T_EOL;
			if (b->pos < p->n_toks && p->toks[b->pos].kind == T_LBRACE) {
				t = &p->toks[b->pos];
				target = nd;
			} else {
				continue;
			}
		} else {
			/* '{' starting a line: it opens the block of the statement on
			 * the line before, if that statement has none yet. */
			if (n > 0 && last_ended_by_eol && !kids[n - 1].block) {
				target = &kids[n - 1];
			} else {
				cerr(p, t, "'{' without a keyword before it");
			}
		}
		b->pos++; /* the '{' */
		last_ended_by_eol = false;
		if (nesting >= CONF_MAX_NESTING) {
			cerr(p, t, "blocks nested deeper than %d", CONF_MAX_NESTING);
			skip_block(b);
			continue;
		}
		unsigned nk = 0;
		struct cnode *sub = tb_level(b, t, nesting + 1, &nk);
		if (target) {
			target->block = true;
			target->kids = sub;
			target->n_kids = nk;
		} else {
			tree_free(sub, nk);
		}
	}
	if (open)
		cerr(p, open, "unbalanced '{': missing '}' before end of input");
	*n_out = n;
	return kids;
}

struct cnode *tree_build(struct pctx *p, unsigned *n_out)
{
	struct tb b = { p, 0 };
	return tb_level(&b, NULL, 0, n_out);
}

void tree_free(struct cnode *kids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tree_free(kids[i].kids, kids[i].n_kids);
	free(kids);
}

/* ---- dispatch ---- */

const struct kw *kw_find(const struct kw *tab, const char *name)
{
	for (; tab && tab->name; tab++)
		if (!strcmp(tab->name, name))
			return tab;
	return NULL;
}

static void dispatch(struct pctx *p, const struct cnode *n, const struct kw *tab, void *obj,
		     const char *where)
{
	const struct kw *k = n->kw->quoted ? NULL : kw_find(tab, n->kw->s);
	if (!k) {
		cwarn(p, n->kw, "unknown keyword '%s' in %s%s", n->kw->s, where,
		      n->block ? " (block skipped)" : "");
		return;
	}
	/* Split "kw a b other_kw c" written on one line: a surplus word (or,
	 * for keywords taking any number of words, any word past the required
	 * ones) that is itself a keyword of this block starts a new statement. */
	if (k->max < 0 || n->argc > (unsigned)k->max) {
		for (unsigned i = (unsigned)k->min; i < n->argc; i++) {
			if (k->max >= 0 && i > (unsigned)k->max)
				break;
			if (!n->args[i].quoted && kw_find(tab, n->args[i].s)) {
				struct cnode head = { n->kw, n->args, i, false, NULL, 0 };
				struct cnode tail = { &n->args[i], &n->args[i + 1], n->argc - i - 1,
						      n->block, n->kids, n->n_kids };
				dispatch(p, &head, tab, obj, where);
				dispatch(p, &tail, tab, obj, where);
				return;
			}
		}
	}
	if (k->flags & KWF_UNIMPL) {
		cwarn(p, n->kw, "'%s' is accepted but not implemented by ulvs yet; ignored",
		      k->name);
		return;
	}
	if (n->argc < (unsigned)k->min) {
		cerr(p, n->kw, "'%s' needs %s%d argument%s", k->name,
		     k->max == k->min ? "" : "at least ", k->min, k->min == 1 ? "" : "s");
		return;
	}
	if (k->max >= 0 && n->argc > (unsigned)k->max)
		cwarn(p, &n->args[k->max], "extra argument%s to '%s' ignored",
		      n->argc - (unsigned)k->max > 1 ? "s" : "", k->name);
	if (k->block == KB_YES && !n->block) {
		cerr(p, n->kw, "'%s' needs a { } block", k->name);
		return;
	}
	if (k->block == KB_NO && n->block) {
		cerr(p, n->kw, "'%s' does not take a block", k->name);
		return;
	}
	k->fn(p, n, obj);
}

void parse_block(struct pctx *p, const struct cnode *kids, unsigned n, const struct kw *tab,
		 void *obj, const char *where)
{
	for (unsigned i = 0; i < n; i++)
		dispatch(p, &kids[i], tab, obj, where);
}

/* ---- value readers ---- */

static bool txt_u64(const char *s, uint64_t *out, bool *neg)
{
	*neg = false;
	if (*s == '-') {
		*neg = true;
		s++;
	} else if (*s == '+') {
		s++;
	}
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (*e || errno)
		return false;
	*out = v;
	return true;
}

bool rd_u32(struct pctx *p, const struct ctok *t, uint32_t min, uint32_t max, uint32_t *out,
	    const char *what)
{
	uint64_t v;
	bool neg;
	if (!txt_u64(t->s, &v, &neg) || neg || v < min || v > max) {
		cerr(p, t, "invalid %s '%s' (expected %u..%u)", what, t->s, min, max);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool rd_i32(struct pctx *p, const struct ctok *t, int32_t min, int32_t max, int32_t *out,
	    const char *what)
{
	uint64_t v;
	bool neg;
	if (!txt_u64(t->s, &v, &neg) || v > (uint64_t)INT32_MAX + 1 ||
	    (neg ? -(int64_t)v : (int64_t)v) < min || (neg ? -(int64_t)v : (int64_t)v) > max) {
		cerr(p, t, "invalid %s '%s' (expected %d..%d)", what, t->s, min, max);
		return false;
	}
	*out = (int32_t)(neg ? -(int64_t)v : (int64_t)v);
	return true;
}

/* Decimal seconds with up to 6 fractional digits, into microseconds. */
static bool txt_timer_us(const char *s, uint64_t *out)
{
	uint64_t whole = 0, frac = 0;
	int fd = 0;
	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > 100000000ull)
			return false;
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			if (fd < 6) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				fd++;
			}
	}
	if (*s)
		return false;
	while (fd++ < 6)
		frac *= 10;
	*out = whole * 1000000ull + frac;
	return true;
}

bool txt_timer_ms(const char *s, uint64_t *out_ms)
{
	uint64_t us;
	if (!txt_timer_us(s, &us))
		return false;
	*out_ms = (us + 999) / 1000;
	return true;
}

bool rd_timer_ms(struct pctx *p, const struct ctok *t, uint32_t min_ms, uint32_t *out,
		 const char *what)
{
	uint64_t ms;
	if (t->s[0] == '-') {
		cerr(p, t, "%s cannot be negative ('%s')", what, t->s);
		return false;
	}
	if (!txt_timer_ms(t->s, &ms) || ms > UINT32_MAX - 1) {
		cerr(p, t, "invalid %s '%s' (expected seconds, e.g. 3 or 0.5)", what, t->s);
		return false;
	}
	if (ms < min_ms) {
		cerr(p, t, "%s '%s' is too small (minimum %u.%03u s)", what, t->s, min_ms / 1000,
		     min_ms % 1000);
		return false;
	}
	*out = (uint32_t)ms;
	return true;
}

bool rd_timer_us(struct pctx *p, const struct ctok *t, uint32_t *out, const char *what)
{
	uint64_t us;
	if (t->s[0] == '-') {
		cerr(p, t, "%s cannot be negative ('%s')", what, t->s);
		return false;
	}
	if (!txt_timer_us(t->s, &us) || us > UINT32_MAX) {
		cerr(p, t, "invalid %s '%s' (expected seconds, e.g. 0.001)", what, t->s);
		return false;
	}
	*out = (uint32_t)us;
	return true;
}

bool txt_addr(const char *s, struct conf_addr *out)
{
	struct conf_addr a = { 0 };
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.a.b) != 1)
			return false;
		a.af = ULVS_AF_INET6;
	} else {
		/* Strict dotted quad: inet_pton refuses "10.1" and leading junk. */
		if (inet_pton(AF_INET, s, &a.a.ip) != 1)
			return false;
		a.af = ULVS_AF_INET;
	}
	*out = a;
	return true;
}

bool rd_addr(struct pctx *p, const struct ctok *t, struct conf_addr *out, const char *what)
{
	if (!txt_addr(t->s, out)) {
		cerr(p, t, "invalid %s '%s'", what, t->s);
		return false;
	}
	return true;
}

bool rd_prefix(struct pctx *p, const struct ctok *t, struct conf_prefix *out, const char *what)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", t->s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	struct conf_addr a;
	if (!txt_addr(buf, &a)) {
		cerr(p, t, "invalid %s '%s'", what, t->s);
		return false;
	}
	unsigned max = a.af == ULVS_AF_INET ? 32 : 128;
	uint64_t plen = max;
	bool neg;
	if (slash && (!txt_u64(slash + 1, &plen, &neg) || neg || plen > max)) {
		cerr(p, t, "invalid prefix length in %s '%s' (expected 0..%u)", what, t->s, max);
		return false;
	}
	out->af = a.af;
	out->plen = (uint8_t)plen;
	out->a = a.a;
	return true;
}

bool rd_port(struct pctx *p, const struct ctok *t, uint32_t *out, const char *what)
{
	return rd_u32(p, t, 0, 65535, out, what);
}

bool rd_mac(struct pctx *p, const struct ctok *t, struct ulvs_mac *out)
{
	unsigned b[6];
	char tail;
	if (sscanf(t->s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(t->s) != 17) {
		cerr(p, t, "invalid MAC address '%s' (expected xx:xx:xx:xx:xx:xx)", t->s);
		return false;
	}
	for (int i = 0; i < 6; i++)
		out->b[i] = (uint8_t)b[i];
	return true;
}

bool rd_bool_opt(struct pctx *p, const struct cnode *n, bool *out)
{
	if (n->argc == 0) {
		*out = true;
		return true;
	}
	const char *s = n->args[0].s;
	static const char *const yes[] = { "on", "true", "yes" }, *const no[] = { "off", "false", "no" };
	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	cerr(p, &n->args[0], "invalid value '%s' for '%s' (expected on|off|true|false|yes|no)", s,
	     n->kw->s);
	return false;
}

bool rd_ifname(struct pctx *p, const struct ctok *t, char out[16])
{
	size_t l = strlen(t->s), ok = strspn(t->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						     "0123456789._-:");
	if (l == 0 || l > 15 || ok != l || !strcmp(t->s, "include")) {
		cerr(p, t, "invalid interface name '%s'", t->s);
		return false;
	}
	memcpy(out, t->s, l + 1);
	return true;
}

bool rd_addr_range(struct pctx *p, const struct ctok *t, struct conf_addr *first,
		   uint32_t *count, const char *what)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", t->s);
	char *dash = strrchr(buf, '-');
	if (dash)
		*dash = 0;
	if (!txt_addr(buf, first)) {
		cerr(p, t, "invalid %s '%s'", what, t->s);
		return false;
	}
	*count = 1;
	if (!dash)
		return true;
	/* keepalived/DPVS ranges vary the last byte (IPv4, decimal) or the
	 * last 16-bit group (IPv6, hex): 10.0.0.1-10, 2001:db8::1-ff. */
	char *e;
	errno = 0;
	unsigned long last = strtoul(dash + 1, &e, first->af == ULVS_AF_INET ? 10 : 16);
	unsigned cur = first->af == ULVS_AF_INET ? first->a.b[3]
						 : (unsigned)(first->a.b[14] << 8 | first->a.b[15]);
	unsigned lim = first->af == ULVS_AF_INET ? 255 : 65535;
	if (!dash[1] || *e || errno || last > lim || last < cur) {
		cerr(p, t, "invalid %s range '%s' (the part after '-' is the last %s, not below "
		     "the first)", what, t->s, first->af == ULVS_AF_INET ? "byte" : "group");
		return false;
	}
	*count = (uint32_t)(last - cur + 1);
	return true;
}
