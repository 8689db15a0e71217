/* Encoding and strict decoding of control messages (see ctl_proto.h).
 *
 * The reader is a cursor with a sticky failure bit: every get checks the
 * remaining length, and a payload is accepted only if the cursor never
 * failed, every field passed its check and the cursor ends exactly at the
 * payload's end.  Counts are checked against the bytes left (times the
 * smallest record) before any allocation, so a hostile length can make us
 * allocate no more than the message itself justifies.
 */
#include "ctl/ctl_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/service-t.h"

/* ---- framing ---------------------------------------------------------------- */

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ctl_hdr_encode(uint8_t out[CTL_HDR_LEN], uint16_t type, uint32_t len)
{
	wr32(out, CTL_MAGIC);
	wr16(out + 4, CTL_VERSION);
	wr16(out + 6, type);
	wr32(out + 8, len);
}

int ctl_hdr_decode(const uint8_t in[CTL_HDR_LEN], struct ctl_hdr *h, uint32_t max)
{
	h->magic = rd32(in);
	h->version = rd16(in + 4);
	h->type = rd16(in + 6);
	h->len = rd32(in + 8);
	if (h->magic != CTL_MAGIC || h->version != CTL_VERSION)
		return -EPROTO;
	if (h->len > max)
		return -E2BIG;
	return 0;
}

/* ---- output buffer ---------------------------------------------------------- */

void ctl_buf_init(struct ctl_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static uint8_t *buf_room(struct ctl_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (b->len + n > b->max) {
		b->err = -ENOSPC;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

static void put8(struct ctl_buf *b, uint8_t v)
{
	uint8_t *p = buf_room(b, 1);
	if (p)
		*p = v;
}

static void put16(struct ctl_buf *b, uint16_t v)
{
	uint8_t *p = buf_room(b, 2);
	if (p)
		wr16(p, v);
}

void ctl_put_u32(struct ctl_buf *b, uint32_t v)
{
	uint8_t *p = buf_room(b, 4);
	if (p)
		wr32(p, v);
}

static void put64(struct ctl_buf *b, uint64_t v)
{
	ctl_put_u32(b, (uint32_t)(v >> 32));
	ctl_put_u32(b, (uint32_t)v);
}

static void putbytes(struct ctl_buf *b, const void *v, size_t n)
{
	uint8_t *p = buf_room(b, n);
	if (p)
		memcpy(p, v, n);
}

/* Fixed-width string field: the bytes after the string are zero. */
static void putstr(struct ctl_buf *b, const char *s, size_t width)
{
	uint8_t *p = buf_room(b, width);
	size_t n;

	if (!p)
		return;
	n = strnlen(s, width - 1);
	memset(p, 0, width);
	memcpy(p, s, n);
}

size_t ctl_msg_begin(struct ctl_buf *b, uint16_t type)
{
	size_t start = b->len;
	uint8_t *p = buf_room(b, CTL_HDR_LEN);

	if (p)
		ctl_hdr_encode(p, type, 0);
	return start;
}

int ctl_msg_end(struct ctl_buf *b, size_t start)
{
	if (b->err)
		return b->err;
	wr32(b->p + start + 8, (uint32_t)(b->len - start - CTL_HDR_LEN));
	return 0;
}

/* ---- reader ------------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t get8(struct rd *r)
{
	const uint8_t *p = take(r, 1);
	return p ? *p : 0;
}

static uint16_t get16(struct rd *r)
{
	const uint8_t *p = take(r, 2);
	return p ? rd16(p) : 0;
}

static uint32_t get32(struct rd *r)
{
	const uint8_t *p = take(r, 4);
	return p ? rd32(p) : 0;
}

static uint64_t get64(struct rd *r)
{
	uint64_t hi = get32(r);
	return hi << 32 | get32(r);
}

static void getbytes(struct rd *r, void *out, size_t n)
{
	const uint8_t *p = take(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

/* Padding must be zero: a sender that fills it is not speaking our version. */
static void getpad(struct rd *r, size_t n)
{
	const uint8_t *p = take(r, n);
	for (size_t i = 0; p && i < n; i++)
		if (p[i])
			r->bad = true;
}

/* A fixed-width string: NUL inside the field, zeros after it, and only
 * characters from the field's alphabet. */
static void getstr(struct rd *r, char *out, size_t width, bool (*ok)(int c))
{
	const uint8_t *p = take(r, width);
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	n = strnlen((const char *)p, width);
	if (n == width) {
		r->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!ok(p[i])) {
			r->bad = true;
			return;
		}
	for (size_t i = n; i < width; i++)
		if (p[i]) {
			r->bad = true;
			return;
		}
	memcpy(out, p, n + 1);
}

static bool sched_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool ifname_char(int c)
{
	return c > ' ' && c < 0x7f && c != '/';
}

static bool text_char(int c)
{
	return (c >= ' ' && c < 0x7f) || c == '\n' || c == '\t';
}

static int rd_end(const struct rd *r)
{
	return (r->bad || r->off != r->len) ? -EBADMSG : 0;
}

/* ---- addresses and keys -------------------------------------------------------- */

static bool af_ok(uint8_t af, bool none_ok)
{
	return af == ULVS_AF_INET || af == ULVS_AF_INET6 || (none_ok && af == ULVS_AF_NONE);
}

static bool addr_ok(uint8_t af, const union ulvs_addr *a)
{
	if (af == ULVS_AF_NONE)
		return addr_is_zero(a);
	return af == ULVS_AF_INET6 || (a->ip6[1] | a->ip6[2] | a->ip6[3]) == 0;
}

/* Ports are network order in the structs and big-endian on the wire: ntohs
 * on the way out, htons on the way in, whatever the host. */
static void put_key(struct ctl_buf *b, const struct ctl_svc_key *k)
{
	put8(b, k->af);
	put8(b, k->proto);
	put16(b, ntohs(k->port));
	putbytes(b, k->addr.b, 16);
	ctl_put_u32(b, k->fwmark);
}

static void get_key(struct rd *r, struct ctl_svc_key *k)
{
	k->af = get8(r);
	k->proto = get8(r);
	k->port = htons(get16(r));
	getbytes(r, k->addr.b, 16);
	k->fwmark = get32(r);
}


static bool key_ok(const struct ctl_svc_key *k)
{
	if (!af_ok(k->af, false) || !addr_ok(k->af, &k->addr))
		return false;
	if (k->fwmark)
		return k->proto == 0 && k->port == 0 && addr_is_zero(&k->addr);
	return k->proto == 6 || k->proto == 17;
}

static bool key_zero(const struct ctl_svc_key *k)
{
	return !k->af && !k->proto && !k->port && !k->fwmark && addr_is_zero(&k->addr);
}

bool ctl_svc_key_eq(const struct ctl_svc_key *a, const struct ctl_svc_key *b)
{
	if (a->af != b->af || a->fwmark != b->fwmark)
		return false;
	if (a->fwmark)
		return true;
	return a->proto == b->proto && a->port == b->port && addr_eq(&a->addr, &b->addr);
}

/* ---- commands ------------------------------------------------------------------- */

#define KEY_WIRE_LEN 24
#define CMD_WIRE_LEN (4 + KEY_WIRE_LEN + CTL_SCHED_LEN + 12 + 4 + 16 + 12 + 4 + 16 + CTL_IFNAME_LEN + 12)

static void put_cmd(struct ctl_buf *b, const struct ctl_cmd *c)
{
	put8(b, c->op);
	put8(b, c->has_svc);
	put8(b, c->dest_af);
	put8(b, c->fwd);
	put_key(b, &c->svc);
	putstr(b, c->sched, CTL_SCHED_LEN);
	ctl_put_u32(b, c->svc_flags);
	ctl_put_u32(b, c->timeout);
	ctl_put_u32(b, c->netmask);
	put16(b, ntohs(c->dest_port));
	put16(b, 0);
	putbytes(b, c->dest_addr.b, 16);
	ctl_put_u32(b, (uint32_t)c->weight);
	ctl_put_u32(b, c->u_threshold);
	ctl_put_u32(b, c->l_threshold);
	put8(b, c->laddr_af);
	put8(b, 0);
	put16(b, 0);
	putbytes(b, c->laddr.b, 16);
	putstr(b, c->ifname, CTL_IFNAME_LEN);
	ctl_put_u32(b, c->to_tcp);
	ctl_put_u32(b, c->to_tcpfin);
	ctl_put_u32(b, c->to_udp);
}

static void get_cmd(struct rd *r, struct ctl_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->op = get8(r);
	c->has_svc = get8(r);
	c->dest_af = get8(r);
	c->fwd = get8(r);
	get_key(r, &c->svc);
	getstr(r, c->sched, CTL_SCHED_LEN, sched_char);
	c->svc_flags = get32(r);
	c->timeout = get32(r);
	c->netmask = get32(r);
	c->dest_port = htons(get16(r));
	getpad(r, 2);
	getbytes(r, c->dest_addr.b, 16);
	c->weight = (int32_t)get32(r);
	c->u_threshold = get32(r);
	c->l_threshold = get32(r);
	c->laddr_af = get8(r);
	getpad(r, 3);
	getbytes(r, c->laddr.b, 16);
	getstr(r, c->ifname, CTL_IFNAME_LEN, ifname_char);
	c->to_tcp = get32(r);
	c->to_tcpfin = get32(r);
	c->to_udp = get32(r);
}

int ctl_cmd_check(const struct ctl_cmd *c)
{
	bool svc_op, dest_op, laddr_op;

	if (c->op == 0 || c->op >= CTL_OP_MAX || c->has_svc > 1)
		return -EBADMSG;
	/* Field ranges hold whatever the op. */
	if (c->has_svc ? !key_ok(&c->svc) : !key_zero(&c->svc))
		return -EBADMSG;
	if (!af_ok(c->dest_af, true) || !addr_ok(c->dest_af, &c->dest_addr) ||
	    !af_ok(c->laddr_af, true) || !addr_ok(c->laddr_af, &c->laddr))
		return -EBADMSG;
	if (c->svc_flags & ~(uint32_t)SVC_F_USER_MASK)
		return -EBADMSG;
	if (c->timeout > CTL_MAX_TIMEOUT || c->netmask > 128 ||
	    (c->svc.af == ULVS_AF_INET && c->netmask > 32))
		return -EBADMSG;
	if (c->fwd >= FWD_MAX || c->weight < 0 || c->weight > 65535 ||
	    c->u_threshold > INT32_MAX || c->l_threshold > INT32_MAX)
		return -EBADMSG;
	if (c->to_tcp > CTL_MAX_TIMEOUT || c->to_tcpfin > CTL_MAX_TIMEOUT ||
	    c->to_udp > CTL_MAX_TIMEOUT)
		return -EBADMSG;
	/* What each op needs. */
	svc_op = c->op != CTL_OP_FLUSH && c->op != CTL_OP_SET_TIMEOUT && c->op != CTL_OP_ZERO;
	dest_op = c->op == CTL_OP_ADD_DEST || c->op == CTL_OP_EDIT_DEST || c->op == CTL_OP_DEL_DEST;
	laddr_op = c->op == CTL_OP_ADD_LADDR || c->op == CTL_OP_DEL_LADDR;
	if (svc_op && !c->has_svc)
		return -EBADMSG;
	if (!svc_op && c->op != CTL_OP_ZERO && c->has_svc)
		return -EBADMSG;
	if (dest_op != (c->dest_af != ULVS_AF_NONE))
		return -EBADMSG;
	if (laddr_op != (c->laddr_af != ULVS_AF_NONE))
		return -EBADMSG;
	return 0;
}

void ctl_put_cmds(struct ctl_buf *b, const struct ctl_cmd *c, uint32_t n)
{
	ctl_put_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		put_cmd(b, &c[i]);
}

int ctl_get_cmds(const uint8_t *p, size_t len, struct ctl_cmd **out, uint32_t *n)
{
	struct rd r = { .p = p, .len = len };
	struct ctl_cmd *c;
	uint32_t cnt = get32(&r);

	*out = NULL;
	*n = 0;
	if (r.bad || cnt == 0 || cnt > CTL_MAX_BATCH || (len - 4) != (size_t)cnt * CMD_WIRE_LEN)
		return -EBADMSG;
	c = calloc(cnt, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (uint32_t i = 0; i < cnt; i++) {
		get_cmd(&r, &c[i]);
		if (r.bad || ctl_cmd_check(&c[i])) {
			free(c);
			return -EBADMSG;
		}
	}
	if (rd_end(&r)) {
		free(c);
		return -EBADMSG;
	}
	*out = c;
	*n = cnt;
	return 0;
}

/* ---- small requests and replies -------------------------------------------------- */

void ctl_put_list_req(struct ctl_buf *b, const struct ctl_svc_key *filter)
{
	static const struct ctl_svc_key zero;

	put8(b, filter != NULL);
	putbytes(b, "\0\0\0", 3);
	put_key(b, filter ? filter : &zero);
}

int ctl_get_list_req(const uint8_t *p, size_t len, struct ctl_svc_key *filter, bool *has)
{
	struct rd r = { .p = p, .len = len };
	uint8_t h = get8(&r);

	getpad(&r, 3);
	get_key(&r, filter);
	if (h > 1 || (h ? !key_ok(filter) : !key_zero(filter)))
		return -EBADMSG;
	*has = h;
	return rd_end(&r);
}

void ctl_put_conns_req(struct ctl_buf *b, uint32_t cursor, uint32_t max)
{
	ctl_put_u32(b, cursor);
	ctl_put_u32(b, max);
}

int ctl_get_conns_req(const uint8_t *p, size_t len, uint32_t *cursor, uint32_t *max)
{
	struct rd r = { .p = p, .len = len };

	*cursor = get32(&r);
	*max = get32(&r);
	if (*max == 0 || *max > CTL_CONNS_PAGE)
		return -EBADMSG;
	return rd_end(&r);
}

void ctl_put_error(struct ctl_buf *b, const struct ctl_error *e)
{
	ctl_put_u32(b, (uint32_t)e->err);
	ctl_put_u32(b, e->index);
	putstr(b, e->msg, CTL_MSG_LEN);
}

int ctl_get_error(const uint8_t *p, size_t len, struct ctl_error *e)
{
	struct rd r = { .p = p, .len = len };

	e->err = (int32_t)get32(&r);
	e->index = get32(&r);
	getstr(&r, e->msg, CTL_MSG_LEN, text_char);
	if (e->err <= 0 || e->err > 4095)
		return -EBADMSG;
	return rd_end(&r);
}

static bool version_char(int c)
{
	return c > ' ' && c < 0x7f;
}

void ctl_put_info(struct ctl_buf *b, const struct ctl_info *i)
{
	ctl_put_u32(b, i->version);
	ctl_put_u32(b, i->size);
	ctl_put_u32(b, i->n_svcs);
	ctl_put_u32(b, i->n_conns);
	putstr(b, i->daemon_version, sizeof(i->daemon_version));
}

int ctl_get_info(const uint8_t *p, size_t len, struct ctl_info *i)
{
	struct rd r = { .p = p, .len = len };

	i->version = get32(&r);
	i->size = get32(&r);
	i->n_svcs = get32(&r);
	i->n_conns = get32(&r);
	getstr(&r, i->daemon_version, sizeof(i->daemon_version), version_char);
	return rd_end(&r);
}

void ctl_put_timeouts(struct ctl_buf *b, const struct ctl_timeouts *t)
{
	ctl_put_u32(b, t->tcp);
	ctl_put_u32(b, t->tcpfin);
	ctl_put_u32(b, t->udp);
}

int ctl_get_timeouts(const uint8_t *p, size_t len, struct ctl_timeouts *t)
{
	struct rd r = { .p = p, .len = len };

	t->tcp = get32(&r);
	t->tcpfin = get32(&r);
	t->udp = get32(&r);
	return rd_end(&r);
}

/* ---- listings ------------------------------------------------------------------- */

#define STATS_WIRE_LEN 80
#define DEST_WIRE_LEN (4 + 16 + 4 + 8 + 12 + 4 + STATS_WIRE_LEN)
#define LADDR_WIRE_LEN (4 + 16 + CTL_IFNAME_LEN + 4)
#define SVC_WIRE_MIN (KEY_WIRE_LEN + CTL_SCHED_LEN + 12 + STATS_WIRE_LEN + 8)
#define CONN_WIRE_LEN (4 + 4 + 8 + 64 + 4)

static void put_stats(struct ctl_buf *b, const struct ctl_stats *s)
{
	put64(b, s->conns);
	put64(b, s->inpkts);
	put64(b, s->outpkts);
	put64(b, s->inbytes);
	put64(b, s->outbytes);
	put64(b, s->cps);
	put64(b, s->inpps);
	put64(b, s->outpps);
	put64(b, s->inbps);
	put64(b, s->outbps);
}

static void get_stats(struct rd *r, struct ctl_stats *s)
{
	s->conns = get64(r);
	s->inpkts = get64(r);
	s->outpkts = get64(r);
	s->inbytes = get64(r);
	s->outbytes = get64(r);
	s->cps = get64(r);
	s->inpps = get64(r);
	s->outpps = get64(r);
	s->inbps = get64(r);
	s->outbps = get64(r);
}

void ctl_put_svc_info(struct ctl_buf *b, const struct ctl_svc_info *s)
{
	put_key(b, &s->key);
	putstr(b, s->sched, CTL_SCHED_LEN);
	ctl_put_u32(b, s->flags);
	ctl_put_u32(b, s->timeout);
	ctl_put_u32(b, s->netmask);
	put_stats(b, &s->st);
	ctl_put_u32(b, s->n_dests);
	ctl_put_u32(b, s->n_laddrs);
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct ctl_dest_info *d = &s->dests[i];

		put8(b, d->af);
		put8(b, d->fwd);
		put16(b, ntohs(d->port));
		putbytes(b, d->addr.b, 16);
		ctl_put_u32(b, (uint32_t)d->weight);
		ctl_put_u32(b, d->u_threshold);
		ctl_put_u32(b, d->l_threshold);
		ctl_put_u32(b, d->activeconns);
		ctl_put_u32(b, d->inactconns);
		ctl_put_u32(b, d->persistconns);
		ctl_put_u32(b, d->flags);
		put_stats(b, &d->st);
	}
	for (uint32_t i = 0; i < s->n_laddrs; i++) {
		const struct ctl_laddr_info *l = &s->laddrs[i];

		put8(b, l->af);
		putbytes(b, "\0\0\0", 3);
		putbytes(b, l->addr.b, 16);
		putstr(b, l->ifname, CTL_IFNAME_LEN);
		ctl_put_u32(b, l->conns);
	}
}

static bool ifname_or_empty_char(int c)
{
	return ifname_char(c);
}

static int get_svc_info(struct rd *r, struct ctl_svc_info *s)
{
	get_key(r, &s->key);
	getstr(r, s->sched, CTL_SCHED_LEN, sched_char);
	s->flags = get32(r);
	s->timeout = get32(r);
	s->netmask = get32(r);
	get_stats(r, &s->st);
	s->n_dests = get32(r);
	s->n_laddrs = get32(r);
	if (r->bad || !key_ok(&s->key) || (s->flags & ~(uint32_t)SVC_F_USER_MASK))
		return -EBADMSG;
	/* Enough bytes left for what the counts announce, before allocating. */
	if ((uint64_t)s->n_dests * DEST_WIRE_LEN + (uint64_t)s->n_laddrs * LADDR_WIRE_LEN >
	    r->len - r->off)
		return -EBADMSG;
	if (s->n_dests && !(s->dests = calloc(s->n_dests, sizeof(*s->dests))))
		return -ENOMEM;
	if (s->n_laddrs && !(s->laddrs = calloc(s->n_laddrs, sizeof(*s->laddrs))))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct ctl_dest_info *d = &s->dests[i];

		d->af = get8(r);
		d->fwd = get8(r);
		d->port = htons(get16(r));
		getbytes(r, d->addr.b, 16);
		d->weight = (int32_t)get32(r);
		d->u_threshold = get32(r);
		d->l_threshold = get32(r);
		d->activeconns = get32(r);
		d->inactconns = get32(r);
		d->persistconns = get32(r);
		d->flags = get32(r);
		get_stats(r, &d->st);
		if (!af_ok(d->af, false) || !addr_ok(d->af, &d->addr) || d->fwd >= FWD_MAX)
			return -EBADMSG;
	}
	for (uint32_t i = 0; i < s->n_laddrs; i++) {
		struct ctl_laddr_info *l = &s->laddrs[i];

		l->af = get8(r);
		getpad(r, 3);
		getbytes(r, l->addr.b, 16);
		getstr(r, l->ifname, CTL_IFNAME_LEN, ifname_or_empty_char);
		l->conns = get32(r);
		if (!af_ok(l->af, false) || !addr_ok(l->af, &l->addr))
			return -EBADMSG;
	}
	return r->bad ? -EBADMSG : 0;
}

void ctl_list_free(struct ctl_list *l)
{
	for (uint32_t i = 0; l->svcs && i < l->n; i++) {
		free(l->svcs[i].dests);
		free(l->svcs[i].laddrs);
	}
	free(l->svcs);
	l->svcs = NULL;
	l->n = 0;
}

int ctl_get_list(const uint8_t *p, size_t len, struct ctl_list *l)
{
	struct rd r = { .p = p, .len = len };
	uint32_t n = get32(&r);
	int err;

	memset(l, 0, sizeof(*l));
	if (r.bad || (uint64_t)n * SVC_WIRE_MIN > len - 4)
		return -EBADMSG;
	if (n && !(l->svcs = calloc(n, sizeof(*l->svcs))))
		return -ENOMEM;
	l->n = n;
	for (uint32_t i = 0; i < n; i++) {
		err = get_svc_info(&r, &l->svcs[i]);
		if (err) {
			ctl_list_free(l);
			return err;
		}
	}
	err = rd_end(&r);
	if (err)
		ctl_list_free(l);
	return err;
}

void ctl_put_conn_info(struct ctl_buf *b, const struct ctl_conn_info *c)
{
	put8(b, c->af);
	put8(b, c->proto);
	put8(b, c->state);
	put8(b, c->fwd);
	put16(b, c->flags);
	put16(b, 0);
	put16(b, ntohs(c->cport));
	put16(b, ntohs(c->vport));
	put16(b, ntohs(c->dport));
	put16(b, ntohs(c->lport));
	putbytes(b, c->caddr.b, 16);
	putbytes(b, c->vaddr.b, 16);
	putbytes(b, c->daddr.b, 16);
	putbytes(b, c->laddr.b, 16);
	ctl_put_u32(b, c->expires_ms);
}

void ctl_conns_free(struct ctl_conns *c)
{
	free(c->c);
	c->c = NULL;
	c->n = 0;
}

int ctl_get_conns(const uint8_t *p, size_t len, struct ctl_conns *out)
{
	struct rd r = { .p = p, .len = len };

	memset(out, 0, sizeof(*out));
	out->next = get32(&r);
	out->n = get32(&r);
	if (r.bad || out->n > CTL_CONNS_PAGE || (size_t)out->n * CONN_WIRE_LEN != len - 8)
		return -EBADMSG;
	if (out->n && !(out->c = calloc(out->n, sizeof(*out->c))))
		return -ENOMEM;
	for (uint32_t i = 0; i < out->n; i++) {
		struct ctl_conn_info *c = &out->c[i];

		c->af = get8(&r);
		c->proto = get8(&r);
		c->state = get8(&r);
		c->fwd = get8(&r);
		c->flags = get16(&r);
		getpad(&r, 2);
		c->cport = htons(get16(&r));
		c->vport = htons(get16(&r));
		c->dport = htons(get16(&r));
		c->lport = htons(get16(&r));
		getbytes(&r, c->caddr.b, 16);
		getbytes(&r, c->vaddr.b, 16);
		getbytes(&r, c->daddr.b, 16);
		getbytes(&r, c->laddr.b, 16);
		c->expires_ms = get32(&r);
		if (!af_ok(c->af, false) || c->state >= 32 || c->fwd >= FWD_MAX ||
		    !addr_ok(c->af, &c->caddr) || !addr_ok(c->af, &c->daddr)) {
			ctl_conns_free(out);
			return -EBADMSG;
		}
	}
	if (rd_end(&r)) {
		ctl_conns_free(out);
		return -EBADMSG;
	}
	return 0;
}

/* ---- sync daemon -------------------------------------------------------------- */

#define DAEMON_WIRE_LEN (4 + 2 + 2 + 4 + CTL_IFNAME_LEN + 16)

static void put_daemon(struct ctl_buf *b, const struct ctl_daemon *d)
{
	put8(b, d->state);
	put8(b, d->syncid);
	put8(b, d->ttl);
	put8(b, d->group_af);
	put16(b, ntohs(d->port));
	put16(b, 0);
	ctl_put_u32(b, d->maxlen);
	putstr(b, d->ifname, CTL_IFNAME_LEN);
	putbytes(b, d->group.b, 16);
}

static void get_daemon(struct rd *r, struct ctl_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->state = get8(r);
	d->syncid = get8(r);
	d->ttl = get8(r);
	d->group_af = get8(r);
	d->port = htons(get16(r));
	getpad(r, 2);
	d->maxlen = get32(r);
	getstr(r, d->ifname, CTL_IFNAME_LEN, ifname_char);
	getbytes(r, d->group.b, 16);
	if (d->state != CTL_DAEMON_MASTER && d->state != CTL_DAEMON_BACKUP)
		r->bad = true;
	if (!af_ok(d->group_af, true) || !addr_ok(d->group_af, &d->group))
		r->bad = true;
	/* maxlen must fit a UDP datagram (ttl 0 means the default, 1) */
	if (d->maxlen > 65507)
		r->bad = true;
}

void ctl_put_daemon(struct ctl_buf *b, const struct ctl_daemon *d)
{
	put_daemon(b, d);
}

int ctl_get_daemon(const uint8_t *p, size_t len, struct ctl_daemon *d)
{
	struct rd r = { .p = p, .len = len };

	get_daemon(&r, d);
	return rd_end(&r);
}

void ctl_put_daemons(struct ctl_buf *b, const struct ctl_daemons *d)
{
	ctl_put_u32(b, d->n);
	for (uint32_t i = 0; i < d->n && i < CTL_MAX_DAEMONS; i++)
		put_daemon(b, &d->d[i]);
}

int ctl_get_daemons(const uint8_t *p, size_t len, struct ctl_daemons *d)
{
	struct rd r = { .p = p, .len = len };

	memset(d, 0, sizeof(*d));
	d->n = get32(&r);
	if (d->n > CTL_MAX_DAEMONS)
		return -EBADMSG;
	for (uint32_t i = 0; i < d->n; i++)
		get_daemon(&r, &d->d[i]);
	/* one of each role at most */
	if (d->n == 2 && d->d[0].state == d->d[1].state)
		return -EBADMSG;
	return rd_end(&r);
}

void ctl_put_stop_daemon(struct ctl_buf *b, uint8_t state)
{
	put8(b, state);
	putbytes(b, "\0\0\0", 3);
}

int ctl_get_stop_daemon(const uint8_t *p, size_t len, uint8_t *state)
{
	struct rd r = { .p = p, .len = len };

	*state = get8(&r);
	getpad(&r, 3);
	if (*state != CTL_DAEMON_MASTER && *state != CTL_DAEMON_BACKUP)
		return -EBADMSG;
	return rd_end(&r);
}

void ctl_put_conns_svc_req(struct ctl_buf *b, uint32_t cursor, uint32_t max,
			   const struct ctl_svc_key *svc)
{
	ctl_put_conns_req(b, cursor, max);
	put_key(b, svc);
}

int ctl_get_conns_svc_req(const uint8_t *p, size_t len, uint32_t *cursor, uint32_t *max,
			  struct ctl_svc_key *svc)
{
	struct rd r = { .p = p, .len = len };

	if (len < 8)
		return -EBADMSG;
	if (ctl_get_conns_req(p, 8, cursor, max))
		return -EBADMSG;
	r.off = 8;
	get_key(&r, svc);
	if (r.bad || !key_ok(svc))
		return -EBADMSG;
	return rd_end(&r);
}

/* ---- status ---------------------------------------------------------------------- */

static bool key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool status_key_ok(const char *k, size_t n)
{
	if (n == 0 || n >= CTL_STATUS_KEY)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char((unsigned char)k[i]))
			return false;
	return true;
}

static bool status_text_ok(const char *s, size_t n)
{
	if (n > CTL_STATUS_STR)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Grow *arr (of *cap elements of size sz) to hold n + 1. */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 8;
	p = realloc(*arr, (size_t)nc * sz);
	if (!p)
		return -ENOMEM;
	memset((uint8_t *)p + (size_t)*cap * sz, 0, (size_t)(nc - *cap) * sz);
	*arr = p;
	*cap = nc;
	return 0;
}

void ctl_status_section(struct ctl_status *st, const char *name)
{
	struct ctl_status_sec *sec;
	size_t n = strlen(name);

	if (st->err)
		return;
	if (!status_key_ok(name, n)) {
		st->err = -EINVAL;
		return;
	}
	if (st->n == CTL_STATUS_MAX_SECTIONS) {
		st->err = -E2BIG;
		return;
	}
	if ((st->err = grow((void **)&st->sec, &st->cap, st->n, sizeof(*st->sec))))
		return;
	sec = &st->sec[st->n++];
	memcpy(sec->name, name, n + 1);
}

void ctl_status_record(struct ctl_status *st)
{
	struct ctl_status_sec *sec;

	if (st->err)
		return;
	if (!st->n) {
		st->err = -EINVAL;
		return;
	}
	sec = &st->sec[st->n - 1];
	if (sec->n == UINT32_MAX / 2) {
		st->err = -E2BIG;
		return;
	}
	if ((st->err = grow((void **)&sec->rec, &sec->cap, sec->n, sizeof(*sec->rec))))
		return;
	sec->n++;
}

static struct ctl_status_kv *status_kv(struct ctl_status *st, const char *key)
{
	struct ctl_status_rec *r;
	size_t n = strlen(key);

	if (st->err)
		return NULL;
	if (!st->n || !st->sec[st->n - 1].n || !status_key_ok(key, n)) {
		st->err = -EINVAL;
		return NULL;
	}
	r = &st->sec[st->n - 1].rec[st->sec[st->n - 1].n - 1];
	if (r->n == CTL_STATUS_MAX_KVS) {
		st->err = -E2BIG;
		return NULL;
	}
	if ((st->err = grow((void **)&r->kv, &r->cap, r->n, sizeof(*r->kv))))
		return NULL;
	memcpy(r->kv[r->n].key, key, n + 1);
	return &r->kv[r->n++];
}

/* Text values are made printable here rather than refused: they come from
 * configs, scripts and kernel messages the daemon does not control. */
void ctl_status_str(struct ctl_status *st, const char *key, const char *fmt, ...)
{
	struct ctl_status_kv *kv = status_kv(st, key);
	char buf[CTL_STATUS_STR + 1];
	va_list ap;
	size_t n;

	if (!kv)
		return;
	kv->kind = CTL_SK_STR;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < ' ' || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	kv->s = strdup(buf);
	if (!kv->s)
		st->err = -ENOMEM;
}

void ctl_status_u64(struct ctl_status *st, const char *key, uint64_t v)
{
	struct ctl_status_kv *kv = status_kv(st, key);

	if (kv) {
		kv->kind = CTL_SK_U64;
		kv->u = v;
	}
}

void ctl_status_i64(struct ctl_status *st, const char *key, int64_t v)
{
	struct ctl_status_kv *kv = status_kv(st, key);

	if (kv) {
		kv->kind = CTL_SK_I64;
		kv->i = v;
	}
}

void ctl_status_free(struct ctl_status *st)
{
	for (uint32_t i = 0; i < st->n; i++) {
		struct ctl_status_sec *sec = &st->sec[i];

		for (uint32_t j = 0; j < sec->n; j++) {
			for (uint32_t k = 0; k < sec->rec[j].n; k++)
				free(sec->rec[j].kv[k].s);
			free(sec->rec[j].kv);
		}
		free(sec->rec);
	}
	free(st->sec);
	memset(st, 0, sizeof(*st));
}

static void put_name(struct ctl_buf *b, const char *s)
{
	size_t n = strlen(s);

	put8(b, (uint8_t)n);
	putbytes(b, s, n);
}

void ctl_put_status(struct ctl_buf *b, const struct ctl_status *st)
{
	put8(b, (uint8_t)st->n);
	for (uint32_t i = 0; i < st->n; i++) {
		const struct ctl_status_sec *sec = &st->sec[i];

		put_name(b, sec->name);
		ctl_put_u32(b, sec->n);
		for (uint32_t j = 0; j < sec->n; j++) {
			const struct ctl_status_rec *r = &sec->rec[j];

			put16(b, (uint16_t)r->n);
			for (uint32_t k = 0; k < r->n; k++) {
				const struct ctl_status_kv *kv = &r->kv[k];

				put_name(b, kv->key);
				put8(b, kv->kind);
				if (kv->kind == CTL_SK_STR) {
					size_t n = strlen(kv->s);

					put16(b, (uint16_t)n);
					putbytes(b, kv->s, n);
				} else {
					put64(b, kv->kind == CTL_SK_U64 ? kv->u : (uint64_t)kv->i);
				}
			}
		}
	}
}

static void get_name(struct rd *r, char out[CTL_STATUS_KEY])
{
	uint8_t n = get8(r);
	const uint8_t *p = take(r, n);

	out[0] = '\0';
	if (!p || !status_key_ok((const char *)p, n)) {
		r->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Smallest encodings, to bound counts by the bytes left before allocating. */
#define STATUS_SEC_MIN (1 + 1 + 4)
#define STATUS_REC_MIN 2
#define STATUS_KV_MIN (1 + 1 + 1 + 2)

int ctl_get_status(const uint8_t *p, size_t len, struct ctl_status *st)
{
	struct rd r = { .p = p, .len = len };
	uint32_t nsec;

	memset(st, 0, sizeof(*st));
	nsec = get8(&r);
	if (nsec > CTL_STATUS_MAX_SECTIONS || (size_t)nsec * STATUS_SEC_MIN > len - r.off)
		return -EBADMSG;
	if (nsec && !(st->sec = calloc(nsec, sizeof(*st->sec))))
		return -ENOMEM;
	st->cap = nsec;
	for (uint32_t i = 0; i < nsec && !r.bad; i++) {
		struct ctl_status_sec *sec = &st->sec[st->n++];
		uint32_t nrec;

		get_name(&r, sec->name);
		nrec = get32(&r);
		if (r.bad || (uint64_t)nrec * STATUS_REC_MIN > len - r.off)
			goto bad;
		for (uint32_t q = 0; q + 1 < st->n; q++)
			if (!strcmp(st->sec[q].name, sec->name))
				goto bad;
		if (nrec && !(sec->rec = calloc(nrec, sizeof(*sec->rec))))
			goto nomem;
		sec->cap = nrec;
		for (uint32_t j = 0; j < nrec && !r.bad; j++) {
			struct ctl_status_rec *rec = &sec->rec[sec->n++];
			uint32_t nkv = get16(&r);

			if (r.bad || nkv > CTL_STATUS_MAX_KVS ||
			    (uint64_t)nkv * STATUS_KV_MIN > len - r.off)
				goto bad;
			if (nkv && !(rec->kv = calloc(nkv, sizeof(*rec->kv))))
				goto nomem;
			rec->cap = nkv;
			for (uint32_t k = 0; k < nkv && !r.bad; k++) {
				struct ctl_status_kv *kv = &rec->kv[rec->n++];
				const uint8_t *s;
				uint16_t n;

				get_name(&r, kv->key);
				kv->kind = get8(&r);
				switch (kv->kind) {
				case CTL_SK_U64: kv->u = get64(&r); break;
				case CTL_SK_I64: kv->i = (int64_t)get64(&r); break;
				case CTL_SK_STR:
					n = get16(&r);
					s = take(&r, n);
					if (!s || !status_text_ok((const char *)s, n))
						goto bad;
					if (!(kv->s = malloc((size_t)n + 1)))
						goto nomem;
					memcpy(kv->s, s, n);
					kv->s[n] = '\0';
					break;
				default:
					goto bad;
				}
			}
		}
	}
	if (rd_end(&r))
		goto bad;
	return 0;
bad:
	ctl_status_free(st);
	return -EBADMSG;
nomem:
	ctl_status_free(st);
	return -ENOMEM;
}

const struct ctl_status_sec *ctl_status_find(const struct ctl_status *st, const char *name)
{
	for (uint32_t i = 0; i < st->n; i++)
		if (!strcmp(st->sec[i].name, name))
			return &st->sec[i];
	return NULL;
}

const struct ctl_status_kv *ctl_status_get(const struct ctl_status_rec *r, const char *key)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return &r->kv[i];
	return NULL;
}
