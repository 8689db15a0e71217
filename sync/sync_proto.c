/* Connection sync wire format (see sync_proto.h and docs/sync.md).
 *
 * The decoder accepts exactly what the kernel's ip_vs_process_message()
 * accepts for version 1, with the same split between errors that drop the
 * rest of a datagram (a length that cannot be trusted) and errors that skip
 * one entry (an entry we understand the framing of but cannot use), and is
 * stricter in three places a kernel is lenient: the entry type must be 0 or
 * 1, padding must be zero, and nothing may follow the last entry.  Every
 * read is bounds-checked against the datagram length before it happens.
 */
#include "sync/sync_proto.h"

#include "core/conn-t.h"
#include "core/packet.h"
#include "core/service-t.h"

#include <errno.h>
#include <string.h>

static const char *const err_names[SYNC_ERR_MAX] = {
	[SYNC_OK] = "ok",
	[SYNC_ERR_SHORT] = "short",
	[SYNC_ERR_SIZE] = "bad_size",
	[SYNC_ERR_VERSION] = "bad_version",
	[SYNC_ERR_TRUNC] = "truncated",
	[SYNC_ERR_CONN_VERSION] = "bad_conn_version",
	[SYNC_ERR_CONN_TYPE] = "bad_conn_type",
	[SYNC_ERR_PARAM] = "bad_param",
	[SYNC_ERR_PAD] = "bad_padding",
	[SYNC_ERR_CTL] = "bad_control",
	[SYNC_ERR_MANDATORY_PARAM] = "unknown_mandatory_param",
	[SYNC_ERR_PROTO] = "unsupported_protocol",
	[SYNC_ERR_STATE] = "bad_state",
	[SYNC_ERR_PE] = "persistence_engine",
};

const char *sync_err_name(enum sync_err e)
{
	if ((unsigned)e >= SYNC_ERR_MAX)
		return "unknown";
	return err_names[e];
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* --- header -------------------------------------------------------------- */

/* Version 1 header: reserved (0), syncid, size, nr_conns, version (1),
 * spare (0 in the kernel's messages; our control type otherwise). */
enum sync_err sync_msg_parse(const uint8_t *buf, size_t len, struct sync_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < SYNC_HDR_LEN)
		return SYNC_ERR_SHORT;
	if (rd16(buf + 2) != len)
		return SYNC_ERR_SIZE;
	/* reserved != 0 is a version 0 message (its first byte is nr_conns):
	 * IPVS has sent version 1 by default since 2.6.39, and v0 cannot carry
	 * IPv6, fwmarks or timeouts, so it is refused and counted. */
	if (buf[0] != 0 || buf[5] != SYNC_PROTO_VERSION)
		return SYNC_ERR_VERSION;
	m->syncid = buf[1];
	m->nr_conns = buf[4];
	m->ctl = rd16(buf + 6);
	m->buf = buf;
	m->len = len;
	if (m->ctl == SYNC_CTL_NONE)
		return SYNC_OK;
	if (m->ctl >= SYNC_CTL_MAX || m->nr_conns != 0 || len != SYNC_CTL_LEN ||
	    rd32(buf + SYNC_HDR_LEN) != SYNC_CTL_MAGIC)
		return SYNC_ERR_CTL;
	m->nonce = rd32(buf + SYNC_HDR_LEN + 4);
	return SYNC_OK;
}

/* --- entries ------------------------------------------------------------- */

void sync_iter_init(struct sync_iter *it, const struct sync_msg *m)
{
	it->m = m;
	it->off = SYNC_HDR_LEN;
	it->i = 0;
}

static bool zeros(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Parameters of one entry, [p, end).  Returns SYNC_OK, a message-level
 * error, or SYNC_ERR_MANDATORY_PARAM (entry-level). */
static enum sync_err parse_params(const uint8_t *p, const uint8_t *end, struct sync_conn *c)
{
	bool seen_pe_data = false, seen_pe_name = false;

	while (p < end) {
		unsigned type, plen;

		if (end - p < 2)
			return SYNC_ERR_PARAM;
		type = p[0];
		plen = p[1];
		p += 2;
		if (!plen || (size_t)(end - p) < plen)
			return SYNC_ERR_PARAM;
		switch (type & ~(unsigned)SYNC_OPT_F_OPTIONAL) {
		case SYNC_OPT_SEQ_DATA:
			if (plen != SYNC_SEQ_DATA_LEN || c->has_seq)
				return SYNC_ERR_PARAM;
			c->has_seq = true;
			break;
		case SYNC_OPT_PE_DATA:
			if (seen_pe_data)
				return SYNC_ERR_PARAM;
			seen_pe_data = true;
			break;
		case SYNC_OPT_PE_NAME:
			if (plen > SYNC_PE_NAME_MAX || seen_pe_name)
				return SYNC_ERR_PARAM;
			seen_pe_name = true;
			break;
		case SYNC_OPT_ULVS_FNAT: {
			unsigned alen = c->af == ULVS_AF_INET ? 4 : 16;
			if (plen != 4 + alen || c->has_fnat || p[1] != 0)
				return SYNC_ERR_PARAM;
			c->has_fnat = true;
			c->fnat_flags = p[0];
			memcpy(&c->lport, p + 2, 2);
			memset(&c->laddr, 0, sizeof(c->laddr));
			memcpy(c->laddr.b, p + 4, alen);
			break;
		}
		default:
			/* ip_vs_proc_sync_conn: an unknown parameter without the
			 * optional bit makes the entry unusable, not the message. */
			if (!(type & SYNC_OPT_F_OPTIONAL))
				return SYNC_ERR_MANDATORY_PARAM;
			break;
		}
		p += plen;
	}
	c->has_pe = seen_pe_data || seen_pe_name;
	return SYNC_OK;
}

int sync_msg_next(struct sync_iter *it, struct sync_conn *c, enum sync_err *err)
{
	const uint8_t *buf = it->m->buf;
	size_t len = it->m->len, off = it->off, base, size, end;
	const uint8_t *p;
	enum sync_err e;
	uint16_t vs;

	*err = SYNC_OK;
	if (it->i >= it->m->nr_conns) {
		/* The message ends with its last entry (or that entry's zero
		 * padding, already checked); nothing may follow. */
		if (off != len) {
			*err = SYNC_ERR_PAD;
			return -1;
		}
		return 0;
	}
	if (off > len || len - off < SYNC_CONN_V4_LEN) {
		*err = SYNC_ERR_TRUNC;
		return -1;
	}
	p = buf + off;
	vs = rd16(p + 2);
	if (vs >> 12) {
		*err = SYNC_ERR_CONN_VERSION;
		return -1;
	}
	size = vs & 0x0fff;
	if (size > len - off) {
		*err = SYNC_ERR_TRUNC;
		return -1;
	}
	if (p[0] == 0) {
		base = SYNC_CONN_V4_LEN;
	} else if (p[0] == 1) {
		base = SYNC_CONN_V6_LEN;
	} else {
		*err = SYNC_ERR_CONN_TYPE;
		return -1;
	}
	if (size < base) {
		*err = SYNC_ERR_TRUNC;
		return -1;
	}
	end = off + size;

	memset(c, 0, sizeof(*c));
	c->af = p[0] ? ULVS_AF_INET6 : ULVS_AF_INET;
	c->proto = p[1];
	c->flags = rd32(p + 4);
	c->state = rd16(p + 8);
	memcpy(&c->cport, p + 10, 2);
	memcpy(&c->vport, p + 12, 2);
	memcpy(&c->dport, p + 14, 2);
	c->fwmark = rd32(p + 16);
	c->timeout_s = rd32(p + 20);
	if (c->af == ULVS_AF_INET) {
		memcpy(&c->caddr.ip, p + 24, 4);
		memcpy(&c->vaddr.ip, p + 28, 4);
		memcpy(&c->daddr.ip, p + 32, 4);
	} else {
		memcpy(c->caddr.b, p + 24, 16);
		memcpy(c->vaddr.b, p + 40, 16);
		memcpy(c->daddr.b, p + 56, 16);
	}
	e = parse_params(p + base, buf + end, c);
	if (e != SYNC_OK && e != SYNC_ERR_MANDATORY_PARAM) {
		*err = e;
		return -1;
	}

	/* Advance first: whatever is wrong with this entry, the next one
	 * starts at its 32-bit aligned end (ip_vs_process_message). */
	it->i++;
	it->off = off + ((size + 3) & ~(size_t)3);
	if (it->off > len) {
		/* only allowed for the last entry, checked on the next call */
		if (it->i < it->m->nr_conns) {
			*err = SYNC_ERR_TRUNC;
			return -1;
		}
		it->off = end;
	} else if (!zeros(buf + end, it->off - end)) {
		*err = SYNC_ERR_PAD;
		return -1;
	}

	if (e != SYNC_OK) {
		*err = e;
		return 1;
	}
	if (!(c->flags & SYNC_F_TEMPLATE)) {
		if (c->proto == 6) {
			if (c->state >= SYNC_TCP_STATES)
				*err = SYNC_ERR_STATE;
		} else if (c->proto == 17) {
			if (c->state != 0)
				*err = SYNC_ERR_STATE;
		} else {
			*err = SYNC_ERR_PROTO;
		}
	}
	if (*err == SYNC_OK && c->has_pe)
		*err = SYNC_ERR_PE;
	return 1;
}

/* --- encoding ------------------------------------------------------------ */

size_t sync_conn_len(const struct sync_conn *c)
{
	size_t n = c->af == ULVS_AF_INET6 ? SYNC_CONN_V6_LEN : SYNC_CONN_V4_LEN;

	if (c->has_fnat)
		n += 2 + 4 + (c->af == ULVS_AF_INET6 ? 16 : 4);
	return n;
}

void sync_writer_init(struct sync_writer *w, uint8_t *buf, size_t cap, uint8_t syncid)
{
	w->buf = buf;
	w->cap = cap;
	w->len = SYNC_HDR_LEN;
	w->n = 0;
	memset(buf, 0, SYNC_HDR_LEN);
	buf[1] = syncid;
	wr16(buf + 2, SYNC_HDR_LEN);
	buf[5] = SYNC_PROTO_VERSION;
}

int sync_writer_add(struct sync_writer *w, const struct sync_conn *c)
{
	size_t n, pad, alen;
	uint8_t *p;

	if (c->af != ULVS_AF_INET && c->af != ULVS_AF_INET6)
		return -EINVAL;
	n = sync_conn_len(c);
	pad = (4 - (w->len & 3)) & 3;
	if (w->n >= SYNC_MAX_CONNS || w->len + pad + n > w->cap || w->len + pad + n > 0xffff)
		return -ENOSPC;
	p = w->buf + w->len;
	memset(p, 0, pad + n);
	p += pad;
	alen = c->af == ULVS_AF_INET ? 4 : 16;
	p[0] = c->af == ULVS_AF_INET6 ? 1 : 0;
	p[1] = c->proto;
	wr16(p + 2, (uint16_t)n);     /* entry version 0 in the top 4 bits */
	wr32(p + 4, c->flags & ~SYNC_F_HASHED);
	wr16(p + 8, c->state);
	memcpy(p + 10, &c->cport, 2);
	memcpy(p + 12, &c->vport, 2);
	memcpy(p + 14, &c->dport, 2);
	wr32(p + 16, c->fwmark);
	wr32(p + 20, c->timeout_s);
	memcpy(p + 24, c->caddr.b, alen);
	memcpy(p + 24 + alen, c->vaddr.b, alen);
	memcpy(p + 24 + 2 * alen, c->daddr.b, alen);
	if (c->has_fnat) {
		uint8_t *o = p + 24 + 3 * alen;
		o[0] = SYNC_OPT_ULVS_FNAT;
		o[1] = (uint8_t)(4 + alen);
		o[2] = c->fnat_flags;
		o[3] = 0;
		memcpy(o + 4, &c->lport, 2);
		memcpy(o + 6, c->laddr.b, alen);
	}
	w->len += pad + n;
	w->n++;
	w->buf[4] = (uint8_t)w->n;
	wr16(w->buf + 2, (uint16_t)w->len);
	return 0;
}

size_t sync_ctl_encode(uint8_t *buf, size_t cap, uint8_t syncid, enum sync_ctl ctl,
		       uint32_t nonce)
{
	if (cap < SYNC_CTL_LEN || ctl <= SYNC_CTL_NONE || ctl >= SYNC_CTL_MAX)
		return 0;
	memset(buf, 0, SYNC_CTL_LEN);
	buf[1] = syncid;
	wr16(buf + 2, SYNC_CTL_LEN);
	buf[5] = SYNC_PROTO_VERSION;
	wr16(buf + 6, (uint16_t)ctl);
	wr32(buf + SYNC_HDR_LEN, SYNC_CTL_MAGIC);
	wr32(buf + SYNC_HDR_LEN + 4, nonce);
	return SYNC_CTL_LEN;
}

/* --- connections --------------------------------------------------------- */

static const uint8_t fwd_to_wire[FWD_MAX] = {
	[FWD_NAT] = SYNC_F_MASQ,
	[FWD_DR] = SYNC_F_DROUTE,
	[FWD_TUN] = SYNC_F_TUNNEL,
	[FWD_FNAT] = SYNC_F_FULLNAT,
	[FWD_LOCAL] = SYNC_F_LOCALNODE,
};

int sync_conn_from_conn(struct sync_conn *o, const struct conn *c, uint32_t fwmark,
			uint32_t remaining_ms)
{
	bool tmpl = c->flags & CONN_F_TEMPLATE;

	memset(o, 0, sizeof(*o));
	if ((c->af != ULVS_AF_INET && c->af != ULVS_AF_INET6) || c->fwd >= FWD_MAX)
		return -EINVAL;
	if (!tmpl && c->proto != IPPROTO_TCP_ && c->proto != IPPROTO_UDP_)
		return -EINVAL;
	o->af = c->af;
	o->proto = c->proto;
	o->flags = fwd_to_wire[c->fwd];
	if (c->flags & CONN_F_INACTIVE)
		o->flags |= SYNC_F_INACTIVE;
	/* IPVS sets NOOUTPUT on every method but masquerading until a reply
	 * is seen (__ip_vs_update_dest). */
	if (c->fwd != FWD_NAT && c->fwd != FWD_FNAT && !(c->flags & CONN_F_OUT_SEEN))
		o->flags |= SYNC_F_NOOUTPUT;
	if (tmpl) {
		o->flags |= SYNC_F_TEMPLATE;
		if (c->flags & CONN_F_NO_CPORT)
			o->flags |= SYNC_F_NO_CPORT;
		if (c->flags & CONN_F_FWMARK) {
			const uint8_t *m = c->vaddr.b;
			fwmark = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		}
		o->state = 0;
	} else {
		o->state = c->proto == IPPROTO_TCP_ && c->state < SYNC_TCP_STATES ? c->state : 0;
	}
	o->cport = c->cport;
	o->vport = c->vport;
	o->dport = c->dport;
	o->fwmark = fwmark;
	o->timeout_s = remaining_ms / 1000 + (remaining_ms % 1000 != 0);
	if (!o->timeout_s)
		o->timeout_s = 1; /* 0 would mean "the state's default" */
	o->caddr = c->caddr;
	o->vaddr = c->vaddr;
	o->daddr = c->daddr;
	if (c->fwd == FWD_FNAT && !tmpl) {
		o->has_fnat = true;
		o->laddr = c->laddr;
		o->lport = c->lport;
		if (c->flags & CONN_F_OUT_NONSYN)
			o->fnat_flags |= SYNC_FNAT_OUT_NONSYN;
		if (c->flags & CONN_F_TOA_DONE)
			o->fnat_flags |= SYNC_FNAT_TOA_DONE;
	}
	return 0;
}

int sync_conn_to_conn(const struct sync_conn *in, struct conn *c, uint32_t *expire_ms)
{
	bool tmpl = in->flags & SYNC_F_TEMPLATE;

	memset(c, 0, sizeof(*c));
	switch (in->flags & SYNC_F_FWD_MASK) {
	case SYNC_F_MASQ: c->fwd = FWD_NAT; break;
	case SYNC_F_DROUTE: c->fwd = FWD_DR; break;
	case SYNC_F_TUNNEL: c->fwd = FWD_TUN; break;
	case SYNC_F_LOCALNODE: c->fwd = FWD_LOCAL; break;
	case SYNC_F_FULLNAT:
		if (!tmpl && !in->has_fnat)
			return -EINVAL;
		c->fwd = FWD_FNAT;
		break;
	default:
		return -EINVAL;
	}
	c->af = in->af;
	c->proto = in->proto;
	c->caddr = in->caddr;
	c->vaddr = in->vaddr;
	c->daddr = in->daddr;
	c->cport = in->cport;
	c->vport = in->vport;
	c->dport = in->dport;
	c->laddr = in->caddr;
	c->lport = in->cport;
	c->control = CONN_NONE;
	if (tmpl) {
		c->flags = CONN_F_TEMPLATE;
		if (in->flags & SYNC_F_NO_CPORT)
			c->flags |= CONN_F_NO_CPORT;
		/* ip_vs_sched_persist: a fwmark template has protocol 0 and
		 * the mark as its virtual address. */
		if (in->proto == 0)
			c->flags |= CONN_F_FWMARK;
		c->state = CS_NONE;
	} else {
		if (in->proto == IPPROTO_TCP_ && in->state < SYNC_TCP_STATES)
			c->state = (uint8_t)in->state;
		else if (in->proto == IPPROTO_UDP_)
			c->state = CS_UDP;
		else
			return -EINVAL;
		if (in->flags & SYNC_F_INACTIVE)
			c->flags |= CONN_F_INACTIVE;
		if (c->fwd != FWD_NAT && c->fwd != FWD_FNAT && !(in->flags & SYNC_F_NOOUTPUT))
			c->flags |= CONN_F_OUT_SEEN;
		if (c->fwd == FWD_FNAT) {
			c->laddr = in->laddr;
			c->lport = in->lport;
			if (in->fnat_flags & SYNC_FNAT_OUT_NONSYN)
				c->flags |= CONN_F_OUT_NONSYN;
			if (in->fnat_flags & SYNC_FNAT_TOA_DONE)
				c->flags |= CONN_F_TOA_DONE;
		}
	}
	*expire_ms = in->timeout_s > 1000000u ? 1000000000u : in->timeout_s * 1000u;
	return 0;
}
