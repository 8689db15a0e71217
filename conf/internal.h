/* Internals shared by the files of conf/: tokens, the statement tree, the
 * parse context with its diagnostics, keyword tables and value readers.
 *
 * Loading runs in three passes over one struct pctx: the lexer turns files
 * (following includes) into one token stream; the tree builder groups tokens
 * into statements and { } blocks, reporting brace errors; the keyword pass
 * walks the tree with one table per block kind and fills struct conf.  Then
 * conf_finalize() applies keepalived's defaults and cross-checks.  Every
 * diagnostic is collected with its stream position and printed sorted, so
 * the output reads top to bottom even though the passes run one after another.
 */
#ifndef ULVS_CONF_INTERNAL_H
#define ULVS_CONF_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

#ifndef CONF_MAX_INCLUDE_DEPTH
#define CONF_MAX_INCLUDE_DEPTH 16
#endif
#ifndef CONF_MAX_FILE_SIZE
#define CONF_MAX_FILE_SIZE (16u << 20)
#endif
#ifndef CONF_MAX_NESTING
#define CONF_MAX_NESTING 32
#endif

enum ctok_kind { T_WORD = 0, T_LBRACE, T_RBRACE, T_EOL };

struct ctok {
	char *s;                   /* word text (quotes removed); NULL otherwise */
	struct conf_loc loc;
	uint8_t kind;              /* enum ctok_kind */
	bool quoted;
};

/* A statement: a keyword, its arguments, and the block that follows it. */
struct cnode {
	const struct ctok *kw;
	const struct ctok *args;   /* argc consecutive words */
	unsigned argc;
	bool block;
	struct cnode *kids;
	unsigned n_kids;
};

struct cdiag {
	unsigned seq, order;
	char *text;
};

struct cparam {
	char *name, *value;
};

struct pctx {
	struct conf *c;
	const struct conf_load_opts *opts;
	char config_id[64];
	/* lexer */
	struct ctok *toks;
	unsigned n_toks, cap_toks;
	unsigned seq;
	struct cparam *params;
	unsigned n_params;
	char *incl_stack[CONF_MAX_INCLUDE_DEPTH + 1];
	unsigned depth;
	/* diagnostics */
	struct cdiag *diags;
	unsigned n_diags, cap_diags;
	int n_errors, n_warnings;
	/* keyword pass: the virtual server being parsed (real servers and
	 * checkers inherit from it) */
	struct conf_vs *cur_vs;
	struct conf_rs *cur_rs;
};

/* ---- diagnostics (model.c) ---- */
void cerr_at(struct pctx *p, const struct conf_loc *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cwarn_at(struct pctx *p, const struct conf_loc *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define cerr(p, tok, ...) cerr_at((p), &(tok)->loc, __VA_ARGS__)
#define cwarn(p, tok, ...) cwarn_at((p), &(tok)->loc, __VA_ARGS__)

/* ---- lexer (lexer.c) ---- */
/* Append the tokens of a file / buffer; include_at is the include statement
 * (NULL for the top file).  Errors are reported, never fatal. */
void lex_file(struct pctx *p, const char *path, const struct ctok *include_at);
void lex_buffer(struct pctx *p, const char *name, const char *data, size_t len);
void lex_free(struct pctx *p);
/* Interns a file name in the model; returns the stored copy. */
const char *conf_intern_file(struct conf *c, const char *name);

/* ---- tree and keyword dispatch (parser.c) ---- */
enum kw_block { KB_NO = 0, KB_YES, KB_OPT };
enum kw_flags {
	KWF_UNIMPL = 1u << 0,      /* recognised, not implemented: warn, skip */
	KWF_DEPRECATED = 1u << 1,  /* accepted alias; no warning (keepalived doesn't) */
};

struct kw {
	const char *name;
	int8_t min, max;           /* argument count; max -1: any number */
	uint8_t block;             /* enum kw_block */
	uint8_t flags;
	void (*fn)(struct pctx *p, const struct cnode *n, void *obj);
};

/* Walk the statements of a block with table tab; obj is passed to handlers.
 * where names the block in messages ("virtual_server"). */
void parse_block(struct pctx *p, const struct cnode *kids, unsigned n, const struct kw *tab,
		 void *obj, const char *where);
const struct kw *kw_find(const struct kw *tab, const char *name);
/* Build the tree of the whole token stream; returns top-level statements. */
struct cnode *tree_build(struct pctx *p, unsigned *n_out);
void tree_free(struct cnode *kids, unsigned n);
/* The top-level table (parse_misc.c); LVS block handlers (parse_lvs.c). */
extern const struct kw kw_top[];
void h_virtual_server(struct pctx *p, const struct cnode *n, void *obj);
void h_virtual_server_group(struct pctx *p, const struct cnode *n, void *obj);
void h_local_address_group(struct pctx *p, const struct cnode *n, void *obj);
void h_fwmark_rule(struct pctx *p, const struct cnode *n, void *obj);
/* lb_kind / lvs_method value; -1 (after an error) when unknown. */
int parse_fwd(struct pctx *p, const struct cnode *n);

/* ---- value readers (parser.c): each reports its own error and returns
 * false on bad input, leaving *out untouched ---- */
bool rd_u32(struct pctx *p, const struct ctok *t, uint32_t min, uint32_t max, uint32_t *out,
	    const char *what);
bool rd_i32(struct pctx *p, const struct ctok *t, int32_t min, int32_t max, int32_t *out,
	    const char *what);
/* Decimal seconds ("3", "0.5") to ms; negative, garbage or > max is an error. */
bool rd_timer_ms(struct pctx *p, const struct ctok *t, uint32_t min_ms, uint32_t *out,
		 const char *what);
bool rd_timer_us(struct pctx *p, const struct ctok *t, uint32_t *out, const char *what);
bool rd_addr(struct pctx *p, const struct ctok *t, struct conf_addr *out, const char *what);
/* ADDR or ADDR/LEN; plen defaults to the full length. */
bool rd_prefix(struct pctx *p, const struct ctok *t, struct conf_prefix *out, const char *what);
bool rd_port(struct pctx *p, const struct ctok *t, uint32_t *out, const char *what);
bool rd_mac(struct pctx *p, const struct ctok *t, struct ulvs_mac *out);
/* Optional <BOOL> argument (on|off|true|false|yes|no), absent = true. */
bool rd_bool_opt(struct pctx *p, const struct cnode *n, bool *out);
bool rd_ifname(struct pctx *p, const struct ctok *t, char out[16]);
void set_str(char **dst, const char *src);
/* "ADDR" / "ADDR-LAST" (last byte of IPv4, last group of IPv6). */
bool rd_addr_range(struct pctx *p, const struct ctok *t, struct conf_addr *first,
		   uint32_t *count, const char *what);
/* Joins args[from..] with spaces (malloc'd): _q quotes words that need it,
 * for values printed back as several words; the plain form is for one
 * command string, printed back as one quoted word. */
char *join_args(const struct cnode *n, unsigned from);
char *join_args_q(const struct cnode *n, unsigned from);
/* The keyword and its arguments, quoted where needed. */
char *join_line_q(const struct cnode *n);
char *quote_word(const char *w);

/* Plain text helpers without diagnostics. */
bool txt_addr(const char *s, struct conf_addr *out);
bool txt_timer_ms(const char *s, uint64_t *out_ms);

/* Grow an array of struct by one zeroed element; returns it (aborts on ENOMEM:
 * the control plane has no sane way to continue without memory). */
void *vec_push(void *arrp, unsigned *n, size_t elem);
#define VEC_PUSH(arr, n) ((__typeof__(arr))vec_push(&(arr), &(n), sizeof(*(arr))))
void *xcalloc(size_t n, size_t sz);
char *xstrdup(const char *s);

/* ---- model (model.c) ---- */
void conf_init_defaults(struct conf *c);
void conf_finalize(struct pctx *p);
void conf_rs_init(struct conf_rs *rs, const struct conf_vs *vs);
void conf_rs_free(struct conf_rs *rs);
void conf_checker_free(struct conf_checker *ck);
void conf_vs_free(struct conf_vs *vs);
void conf_checker_init(struct conf_checker *ck, enum conf_check_type t);
/* Unset markers for inherited settings. */
#define CONF_UNSET UINT32_MAX

/* Bits of conf_vs.set_ / conf_rs.set_: what the config wrote explicitly. */
enum {
	SET_FWD = 1u << 0,
	SET_WEIGHT = 1u << 1,
	SET_INHIBIT = 1u << 2,
	SET_ALPHA = 1u << 3,
	SET_CONNECT_TIMEOUT = 1u << 4,
	SET_DELAY_LOOP = 1u << 5,
	SET_PROTO = 1u << 6,
	SET_SCHED = 1u << 7,
	SET_PORT = 1u << 8,
	SET_SORRY_FWD = 1u << 9,
	SET_FAMILY = 1u << 10,
	SET_GRANULARITY = 1u << 11,
};

#endif
