/* keepalived.conf lexer: files in, one token stream out.
 *
 * keepalived's syntax is line oriented: a statement is a keyword and its
 * values on one line, `{` and `}` open and close blocks, and `#` or `!` start
 * a comment anywhere outside double quotes.  On top of that it has three
 * line-level preprocessor features, all handled here so the parser never sees
 * them: `include PATTERN` (glob, brace expansion, relative to the including
 * file's directory), conditional lines `@ID ...` / `@^ID ...` (kept when the
 * config-id matches / does not match), and `$NAME=VALUE` parameters with
 * `$NAME` / `${NAME}` substitution.  Each token keeps file, line and byte
 * column for diagnostics; end of line is a token because it ends a statement.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_SUBST_LEN 65536

const char *conf_intern_file(struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i], name))
			return c->files[i];
	char **slot = VEC_PUSH(c->files, c->n_files);
	*slot = xstrdup(name);
	return *slot;
}

static struct ctok *tok_push(struct pctx *p, uint8_t kind, const char *file, unsigned line,
			     unsigned col)
{
	if (p->n_toks == p->cap_toks) {
		unsigned cap = p->cap_toks ? p->cap_toks * 2 : 256;
		struct ctok *t = realloc(p->toks, cap * sizeof(*t));
		if (!t)
			abort();
		p->toks = t;
		p->cap_toks = cap;
	}
	struct ctok *t = &p->toks[p->n_toks++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->loc.file = file;
	t->loc.line = line;
	t->loc.col = col;
	t->loc.seq = ++p->seq;
	return t;
}

static const char *param_get(struct pctx *p, const char *name, size_t len)
{
	for (unsigned i = 0; i < p->n_params; i++)
		if (strlen(p->params[i].name) == len && !memcmp(p->params[i].name, name, len))
			return p->params[i].value;
	return NULL;
}

static bool is_name_char(char ch, bool first)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* One substitution pass; returns a new string or NULL when nothing changed.
 * keepalived: $NAME must be followed by white space or the end of line,
 * ${NAME} needs nothing after it; undefined names stay as written. */
static char *subst_once(struct pctx *p, const char *line)
{
	size_t cap = strlen(line) + 64, n = 0;
	char *out = malloc(cap);
	bool changed = false;
	if (!out)
		abort();
	for (const char *s = line; *s;) {
		const char *val = NULL;
		size_t skip = 0;
		if (s[0] == '$' && s[1] == '{') {
			const char *e = strchr(s + 2, '}');
			if (e && (val = param_get(p, s + 2, (size_t)(e - s - 2))))
				skip = (size_t)(e - s) + 1;
		} else if (s[0] == '$' && is_name_char(s[1], true)) {
			size_t l = 1;
			while (is_name_char(s[l], false))
				l++;
			if ((s[l] == 0 || s[l] == ' ' || s[l] == '\t') &&
			    (val = param_get(p, s + 1, l - 1)))
				skip = l;
		}
		const char *add = val ? val : s;
		size_t add_len = val ? strlen(val) : 1;
		if (n + add_len + 1 > cap) {
			cap = (n + add_len + 1) * 2;
			char *o = realloc(out, cap);
			if (!o)
				abort();
			out = o;
		}
		memcpy(out + n, add, add_len);
		n += add_len;
		s += val ? skip : 1;
		changed |= val != NULL;
	}
	out[n] = 0;
	if (!changed) {
		free(out);
		return NULL;
	}
	return out;
}

/* Returns the line with parameters replaced (malloc'd) or NULL if none. */
static char *subst(struct pctx *p, const char *line, const char *file, unsigned lineno)
{
	if (!p->n_params || !strchr(line, '$'))
		return NULL;
	char *cur = NULL;
	/* Replacement is recursive (a value may name another parameter);
	 * bound it so `$A=$A x` cannot loop forever. */
	for (int pass = 0; pass < 16; pass++) {
		char *next = subst_once(p, cur ? cur : line);
		if (!next)
			return cur;
		free(cur);
		cur = next;
		if (strlen(cur) > MAX_SUBST_LEN) {
			struct conf_loc at = { file, lineno, 1, p->seq };
			cerr_at(p, &at, "parameter substitution grows without bound");
			cur[0] = 0;
			return cur;
		}
	}
	return cur;
}

static void do_include(struct pctx *p, const char *file, const struct ctok *inc,
		       const struct ctok *pat);

/* Tokenize one logical line. */
static void lex_line(struct pctx *p, const char *file, unsigned lineno, char *line)
{
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;

	/* Conditional configuration: "@ID rest" / "@^ID rest". */
	if (*s == '@') {
		bool neg = s[1] == '^';
		char *id = s + 1 + neg, *e = id;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		bool match = (size_t)(e - id) == strlen(p->config_id) &&
			     !memcmp(id, p->config_id, (size_t)(e - id));
		if (match == neg)
			return;
		for (char *q = s; q < e; q++)
			*q = ' ';
		s = e;
		while (*s == ' ' || *s == '\t')
			s++;
	}

	/* Parameter definition "$NAME=VALUE" (nothing before the $). */
	if (*s == '$' && is_name_char(s[1], true)) {
		char *e = s + 1;
		while (is_name_char(*e, false))
			e++;
		if (*e == '=') {
			char *v = e + 1;
			size_t vl = strlen(v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				v[--vl] = 0;
			*e = 0;
			for (unsigned i = 0; i < p->n_params; i++)
				if (!strcmp(p->params[i].name, s + 1)) {
					set_str(&p->params[i].value, v);
					return;
				}
			struct cparam *np = VEC_PUSH(p->params, p->n_params);
			np->name = xstrdup(s + 1);
			np->value = xstrdup(v);
			return;
		}
	}

	char *subbed = subst(p, line, file, lineno);
	if (subbed)
		line = subbed;

	unsigned first_tok = p->n_toks;
	for (char *c = line; *c;) {
		unsigned col = (unsigned)(c - line) + 1;
		if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\v' || *c == '\f') {
			c++;
		} else if (*c == '#' || *c == '!') {
			break;
		} else if (*c == '{' || *c == '}') {
			tok_push(p, *c == '{' ? T_LBRACE : T_RBRACE, file, lineno, col);
			c++;
		} else if (*c == '"') {
			char *start = ++c, *w = c;
			while (*c && *c != '"') {
				if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
					c++;
				*w++ = *c++;
			}
			struct ctok *t = tok_push(p, T_WORD, file, lineno, col);
			t->quoted = true;
			if (!*c)
				cerr(p, t, "missing closing '\"'");
			else
				c++;
			*w = 0;
			t->s = xstrdup(start);
		} else {
			char *start = c;
			while (*c && !strchr(" \t\r\v\f{}#!\"", *c))
				c++;
			char save = *c;
			*c = 0;
			struct ctok *t = tok_push(p, T_WORD, file, lineno, col);
			t->s = xstrdup(start);
			*c = save;
		}
	}

	/* include is a line-level directive, wherever the line sits. */
	if (p->n_toks > first_tok && p->toks[first_tok].kind == T_WORD &&
	    !p->toks[first_tok].quoted && !strcmp(p->toks[first_tok].s, "include")) {
		unsigned n = p->n_toks - first_tok;
		struct ctok inc = p->toks[first_tok];
		struct ctok pat = n > 1 ? p->toks[first_tok + 1] : inc;
		bool ok = n == 2 && pat.kind == T_WORD;
		/* Take the directive out of the stream before reading the files. */
		p->n_toks = first_tok;
		if (!ok) {
			cerr(p, &inc, "include needs exactly one file name or pattern");
		} else {
			do_include(p, file, &inc, &pat);
		}
		free(inc.s);
		if (n > 1)
			free(pat.s);
		for (unsigned i = 2; i < n; i++)
			free(p->toks[first_tok + i].s);
	}
	if (p->n_toks > 0 && p->toks[p->n_toks - 1].kind != T_EOL)
		tok_push(p, T_EOL, file, lineno, (unsigned)strlen(line) + 1);
	free(subbed);
}

static void lex_text(struct pctx *p, const char *file, char *text, size_t len)
{
	unsigned lineno = 0;
	char *s = text, *end = text + len;
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *e = nl ? nl : end;
		*e = 0;
		lineno++;
		/* A NUL inside a line ends it for us: configs are text. */
		lex_line(p, file, lineno, s);
		s = e + 1;
	}
	/* Statements never run across files. */
	if (p->n_toks > 0 && p->toks[p->n_toks - 1].kind != T_EOL)
		tok_push(p, T_EOL, file, lineno + 1, 1);
}

void lex_buffer(struct pctx *p, const char *name, const char *data, size_t len)
{
	const char *file = conf_intern_file(p->c, name);
	char *text = malloc(len + 1);
	if (!text)
		abort();
	memcpy(text, data, len);
	text[len] = 0;
	lex_text(p, file, text, len);
	free(text);
}

static char *read_file(struct pctx *p, const char *path, const struct conf_loc *at,
		       size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "r");
	if (!f) {
		cerr_at(p, at, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		cerr_at(p, at, "'%s' is not a regular file", path);
		fclose(f);
		return NULL;
	}
	if ((uint64_t)st.st_size > CONF_MAX_FILE_SIZE) {
		cerr_at(p, at, "'%s' is larger than %u bytes", path, CONF_MAX_FILE_SIZE);
		fclose(f);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		abort();
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		cerr_at(p, at, "cannot read '%s': %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

void lex_file(struct pctx *p, const char *path, const struct ctok *include_at)
{
	struct conf_loc top = { path, 0, 0, p->seq };
	const struct conf_loc *at = include_at ? &include_at->loc : &top;
	char real[PATH_MAX];

	if (p->depth >= CONF_MAX_INCLUDE_DEPTH) {
		cerr_at(p, at, "includes nested deeper than %d", CONF_MAX_INCLUDE_DEPTH);
		return;
	}
	if (realpath(path, real)) {
		for (unsigned i = 0; i < p->depth; i++)
			if (!strcmp(p->incl_stack[i], real)) {
				cerr_at(p, at, "'%s' includes itself", path);
				return;
			}
	} else {
		snprintf(real, sizeof(real), "%s", path);
	}
	size_t len;
	char *text = read_file(p, path, at, &len);
	if (!text)
		return;
	p->incl_stack[p->depth++] = xstrdup(real);
	lex_text(p, conf_intern_file(p->c, path), text, len);
	free(p->incl_stack[--p->depth]);
	free(text);
}

static void do_include(struct pctx *p, const char *file, const struct ctok *inc,
		       const struct ctok *pat)
{
	if (p->opts && p->opts->no_include) {
		cerr(p, inc, "include is disabled here");
		return;
	}
	char full[PATH_MAX];
	if (pat->s[0] == '/') {
		snprintf(full, sizeof(full), "%s", pat->s);
	} else {
		/* keepalived: relative to the directory of the including file. */
		const char *slash = strrchr(file, '/');
		if (slash)
			snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - file), file, pat->s);
		else
			snprintf(full, sizeof(full), "%s", pat->s);
	}
	glob_t g;
	int r = glob(full, GLOB_BRACE | GLOB_TILDE, NULL, &g);
	if (r == GLOB_NOMATCH) {
		if (strpbrk(pat->s, "*?[{"))
			cwarn(p, pat, "include pattern '%s' matches no file", pat->s);
		else
			cerr(p, pat, "cannot open include file '%s': %s", pat->s, strerror(ENOENT));
		return;
	}
	if (r != 0) {
		cerr(p, pat, "cannot expand include pattern '%s'", pat->s);
		globfree(&g);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++)
		lex_file(p, g.gl_pathv[i], pat);
	globfree(&g);
}

void lex_free(struct pctx *p)
{
	for (unsigned i = 0; i < p->n_toks; i++)
		free(p->toks[i].s);
	free(p->toks);
	p->toks = NULL;
	p->n_toks = p->cap_toks = 0;
	for (unsigned i = 0; i < p->n_params; i++) {
		free(p->params[i].name);
		free(p->params[i].value);
	}
	free(p->params);
	p->params = NULL;
	p->n_params = 0;
}
