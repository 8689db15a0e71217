/* pcapng writer and reader (see pcapng.h for why we have our own).
 *
 * Block layouts follow draft-ietf-opsawg-pcapng (§4.1 SHB, §4.2 IDB, §4.3
 * EPB, §4.4 SPB, Appendix A obsolete Packet Block).  Every block is
 * {type, total length, body padded to 32 bits, total length again}; options
 * are {code, length, value padded to 32 bits} ended by opt_endofopt.
 */
#include "pcapng.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u     /* obsolete Packet Block (Appendix A) */
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define OPT_ENDOFOPT 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_MACADDR 6
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

/* Frames grow in the engine (TUN adds 40 bytes, TOA 20); 256 KiB is what
 * tcpdump uses and what readers expect as "unlimited". */
#define WRITE_SNAPLEN 262144u
/* A block larger than this is a corrupt length field, not a packet. */
#define MAX_BLOCK (16u << 20)

#ifndef ULVS_VERSION
#define ULVS_VERSION "dev"
#endif

bool pcapng_is_pcapng(const uint8_t magic[4])
{
	/* The SHB type is a palindrome, the same in both byte orders. */
	return magic[0] == 0x0A && magic[1] == 0x0D && magic[2] == 0x0D && magic[3] == 0x0A;
}

/* --- writer --------------------------------------------------------------- */

struct pcapng_writer {
	FILE *fp;
	uint32_t n_ifaces;
	int err;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Appends option {code, len, value} at off in blk; returns the new offset. */
static size_t put_opt(uint8_t *blk, size_t off, uint16_t code, const void *val, uint16_t len)
{
	put16(blk + off, code);
	put16(blk + off + 2, len);
	if (len)
		memcpy(blk + off + 4, val, len);
	memset(blk + off + 4 + len, 0, pad4(len) - len);
	return off + 4 + pad4(len);
}

/* blk holds the body from offset 8; fills in type and both lengths. */
static void write_block(struct pcapng_writer *w, uint8_t *blk, uint32_t type, size_t end)
{
	uint32_t total = (uint32_t)end + 4;
	put32(blk, type);
	put32(blk + 4, total);
	put32(blk + end, total);
	if (fwrite(blk, 1, total, w->fp) != total && !w->err)
		w->err = errno ? -errno : -EIO;
}

static void write_idb(struct pcapng_writer *w, const char *name, const struct ulvs_mac *mac)
{
	uint8_t blk[128];
	uint8_t tsresol = 6;   /* 10^-6 s, also the default; explicit for readers */
	size_t off = 8, nlen = strnlen(name, 15);

	put16(blk + off, PCAPNG_LINKTYPE_ETHERNET);
	put16(blk + off + 2, 0);
	put32(blk + off + 4, WRITE_SNAPLEN);
	off += 8;
	off = put_opt(blk, off, OPT_IF_NAME, name, (uint16_t)nlen);
	if (mac)
		off = put_opt(blk, off, OPT_IF_MACADDR, mac->b, ULVS_MAC_LEN);
	off = put_opt(blk, off, OPT_IF_TSRESOL, &tsresol, 1);
	off = put_opt(blk, off, OPT_ENDOFOPT, NULL, 0);
	write_block(w, blk, BT_IDB, off);
}

struct pcapng_writer *pcapng_writer_open(const char *path, const struct fib *f)
{
	static const char appl[] = "ulvsd " ULVS_VERSION;
	struct pcapng_writer *w = calloc(1, sizeof(*w));
	uint8_t blk[128];
	size_t off = 8;

	if (!w)
		return NULL;
	w->fp = fopen(path, "wb");
	if (!w->fp) {
		int e = errno;
		free(w);
		errno = e;
		return NULL;
	}
	put32(blk + off, BYTE_ORDER_MAGIC);
	put16(blk + off + 4, 1);             /* major */
	put16(blk + off + 6, 0);             /* minor */
	put32(blk + off + 8, 0xffffffffu);   /* section length: not given */
	put32(blk + off + 12, 0xffffffffu);
	off += 16;
	off = put_opt(blk, off, OPT_SHB_USERAPPL, appl, sizeof(appl) - 1);
	off = put_opt(blk, off, OPT_ENDOFOPT, NULL, 0);
	write_block(w, blk, BT_SHB, off);

	if (!f || f->n_ifaces == 0) {
		write_idb(w, "any", NULL);
		w->n_ifaces = 1;
	} else {
		for (unsigned i = 0; i < f->n_ifaces; i++)
			write_idb(w, f->ifaces[i].name, &f->ifaces[i].mac);
		w->n_ifaces = f->n_ifaces;
	}
	if (w->err) {
		int e = w->err;
		fclose(w->fp);
		free(w);
		errno = -e;
		return NULL;
	}
	return w;
}

int pcapng_write_packet(struct pcapng_writer *w, uint32_t iface, uint64_t ts_ns,
			const uint8_t *data, uint32_t len)
{
	static const uint8_t zero[4];
	uint8_t hdr[28], trailer[4];
	uint64_t us = ts_ns / 1000;
	uint32_t total = 28 + (uint32_t)pad4(len) + 4;

	if (iface >= w->n_ifaces)
		return -EINVAL;
	if (len > WRITE_SNAPLEN)
		return -EMSGSIZE;
	put32(hdr, BT_EPB);
	put32(hdr + 4, total);
	put32(hdr + 8, iface);
	put32(hdr + 12, (uint32_t)(us >> 32));
	put32(hdr + 16, (uint32_t)us);
	put32(hdr + 20, len);
	put32(hdr + 24, len);
	put32(trailer, total);
	if (fwrite(hdr, 1, sizeof(hdr), w->fp) != sizeof(hdr) ||
	    fwrite(data, 1, len, w->fp) != len ||
	    fwrite(zero, 1, pad4(len) - len, w->fp) != pad4(len) - len ||
	    fwrite(trailer, 1, sizeof(trailer), w->fp) != sizeof(trailer)) {
		if (!w->err)
			w->err = errno ? -errno : -EIO;
		return w->err;
	}
	return 0;
}

int pcapng_writer_close(struct pcapng_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = w->err;
	if (fclose(w->fp) != 0 && !err)
		err = errno ? -errno : -EIO;
	free(w);
	return err;
}

/* --- reader --------------------------------------------------------------- */

struct ng_iface {
	uint16_t linktype;
	uint8_t tsresol;
	int64_t tsoffset;        /* seconds */
	uint32_t snaplen;
	char name[64];
};

struct pcapng_reader {
	FILE *fp;
	bool swap;               /* section written in the other byte order */
	uint64_t off;            /* file offset of the block being read */
	struct ng_iface *ifs;
	uint32_t n_ifs, cap_ifs;
	uint8_t *buf;
	size_t buf_cap;
	uint64_t last_ts;
	char err[192];
};

static uint16_t rd16(const struct pcapng_reader *r, const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

static uint32_t rd32(const struct pcapng_reader *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint64_t rd64(const struct pcapng_reader *r, const uint8_t *p)
{
	/* §4.1: 64-bit values are in the section's byte order as a whole. */
	uint64_t v;
	memcpy(&v, p, 8);
	return r->swap ? __builtin_bswap64(v) : v;
}

__attribute__((format(printf, 2, 3)))
static int bad(struct pcapng_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "offset %llu: ", (unsigned long long)r->off);

	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

struct pcapng_reader *pcapng_reader_open(FILE *fp)
{
	struct pcapng_reader *r;
	uint8_t m[4];

	if (fread(m, 1, 4, fp) != 4 || !pcapng_is_pcapng(m)) {
		errno = EINVAL;
		return NULL;
	}
	rewind(fp);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fp = fp;
	return r;
}

void pcapng_reader_close(struct pcapng_reader *r)
{
	if (!r)
		return;
	fclose(r->fp);
	free(r->ifs);
	free(r->buf);
	free(r);
}

const char *pcapng_reader_error(const struct pcapng_reader *r)
{
	return r->err;
}

static uint64_t pow10u(unsigned e)
{
	uint64_t v = 1;
	while (e--)
		v *= 10;
	return v;
}

/* §4.2 if_tsresol: bit 7 clear -> units of 10^-v s, set -> 2^-v s. */
static uint64_t ts_to_ns(uint64_t t, uint8_t res)
{
	unsigned e = res & 0x7f;

	if (res & 0x80)
		return (uint64_t)(((unsigned __int128)t * 1000000000u) >> e);
	if (e <= 9)
		return t * pow10u(9 - e);
	if (e > 19)
		return 0;
	return t / pow10u(e - 9);
}

/* Reads the IDB options we use; -EINVAL when one overruns the block. */
static int parse_idb_opts(struct pcapng_reader *r, struct ng_iface *ifc, const uint8_t *p,
			  size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint16_t code = rd16(r, p + off), olen = rd16(r, p + off + 2);
		const uint8_t *v = p + off + 4;

		if (code == OPT_ENDOFOPT)
			return 0;
		if (off + 4 + pad4(olen) > len)
			return bad(r, "interface option %u overruns its block", code);
		if (code == OPT_IF_NAME) {
			size_t n = olen < sizeof(ifc->name) - 1 ? olen : sizeof(ifc->name) - 1;
			memcpy(ifc->name, v, n);   /* UTF-8, not necessarily NUL-ended */
			ifc->name[n] = '\0';
		} else if (code == OPT_IF_TSRESOL && olen >= 1) {
			ifc->tsresol = v[0];
		} else if (code == OPT_IF_TSOFFSET && olen >= 8) {
			ifc->tsoffset = (int64_t)rd64(r, v);
		}
		off += 4 + pad4(olen);
	}
	return 0;
}

static int read_exact(struct pcapng_reader *r, void *dst, size_t n, const char *what)
{
	if (fread(dst, 1, n, r->fp) == n)
		return 0;
	if (ferror(r->fp))
		return -EIO;
	return bad(r, "file ends inside a %s", what);
}

static int add_iface(struct pcapng_reader *r, const uint8_t *body, size_t len)
{
	struct ng_iface ifc = { .tsresol = 6 };
	int rc;

	if (len < 8)
		return bad(r, "interface description block too short");
	if (r->n_ifs == r->cap_ifs) {
		uint32_t cap = r->cap_ifs ? 2 * r->cap_ifs : 8;
		struct ng_iface *n = realloc(r->ifs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->ifs = n;
		r->cap_ifs = cap;
	}
	ifc.linktype = rd16(r, body);
	ifc.snaplen = rd32(r, body + 4);
	rc = parse_idb_opts(r, &ifc, body + 8, len - 8);
	if (rc)
		return rc;
	r->ifs[r->n_ifs++] = ifc;
	return 0;
}

static int fill_record(struct pcapng_reader *r, struct pcapng_record *rec, uint32_t iface,
		       uint64_t ts, const uint8_t *data, uint32_t caplen, uint32_t origlen)
{
	const struct ng_iface *ifc;

	if (iface >= r->n_ifs)
		return bad(r, "packet on interface %u, but the section describes %u", iface,
			   r->n_ifs);
	ifc = &r->ifs[iface];
	rec->data = data;
	rec->caplen = caplen;
	rec->origlen = origlen;
	rec->iface = iface;
	rec->if_name = ifc->name;
	rec->linktype = ifc->linktype;
	rec->ts_ns = ts_to_ns(ts, ifc->tsresol) + (uint64_t)(ifc->tsoffset * 1000000000);
	r->last_ts = rec->ts_ns;
	return 1;
}

int pcapng_read_packet(struct pcapng_reader *r, struct pcapng_record *rec)
{
	for (;;) {
		uint8_t hdr[12];
		uint32_t type, total, trail;
		size_t n, blen;
		const uint8_t *b;
		int rc;

		r->off = (uint64_t)ftello(r->fp);
		n = fread(hdr, 1, 8, r->fp);
		if (n == 0 && feof(r->fp))
			return 0;
		if (n != 8)
			return ferror(r->fp) ? -EIO : bad(r, "file ends inside a block header");
		memcpy(&type, hdr, 4);
		if (type == BT_SHB) {
			/* The byte-order magic decides how to read everything
			 * from here on, including this block's length. */
			uint32_t bom;
			rc = read_exact(r, hdr + 8, 4, "section header");
			if (rc)
				return rc;
			memcpy(&bom, hdr + 8, 4);
			if (bom == BYTE_ORDER_MAGIC)
				r->swap = false;
			else if (bom == __builtin_bswap32(BYTE_ORDER_MAGIC))
				r->swap = true;
			else
				return bad(r, "section header with a bad byte-order magic");
			r->n_ifs = 0;   /* interface ids restart in each section */
		} else if (r->off == 0) {
			return bad(r, "file does not start with a section header");
		}
		type = rd32(r, hdr);
		total = rd32(r, hdr + 4);
		if (total < 12 || total % 4 || total > MAX_BLOCK)
			return bad(r, "block type 0x%08x has an invalid length %u", type, total);
		if (r->buf_cap < total) {
			uint8_t *nb = realloc(r->buf, total);
			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			r->buf_cap = total;
		}
		/* Body plus trailing length; for the SHB the magic is already in hdr. */
		memcpy(r->buf, hdr, type == BT_SHB ? 12 : 8);
		n = type == BT_SHB ? 12 : 8;
		if (total < n + 4)
			return bad(r, "block type 0x%08x too short", type);
		rc = read_exact(r, r->buf + n, total - n, "block");
		if (rc)
			return rc;
		trail = rd32(r, r->buf + total - 4);
		if (trail != total)
			return bad(r, "block lengths disagree (%u at the start, %u at the end)",
				   total, trail);
		b = r->buf + 8;
		blen = total - 12;

		switch (type) {
		case BT_SHB:
			if (blen < 16 || rd16(r, b + 4) != 1)
				return bad(r, "unsupported section header (major version %u)",
					   blen >= 6 ? rd16(r, b + 4) : 0);
			break;
		case BT_IDB:
			rc = add_iface(r, b, blen);
			if (rc)
				return rc;
			break;
		case BT_EPB: {
			uint32_t caplen, origlen;
			uint64_t ts;
			if (blen < 20)
				return bad(r, "enhanced packet block too short");
			caplen = rd32(r, b + 12);
			origlen = rd32(r, b + 16);
			if (caplen > blen - 20)
				return bad(r, "captured length %u overruns its block", caplen);
			ts = ((uint64_t)rd32(r, b + 4) << 32) | rd32(r, b + 8);
			return fill_record(r, rec, rd32(r, b), ts, b + 20, caplen, origlen);
		}
		case BT_PB: {
			uint32_t caplen, origlen;
			uint64_t ts;
			if (blen < 20)
				return bad(r, "packet block too short");
			caplen = rd32(r, b + 12);
			origlen = rd32(r, b + 16);
			if (caplen > blen - 20)
				return bad(r, "captured length %u overruns its block", caplen);
			ts = ((uint64_t)rd32(r, b + 4) << 32) | rd32(r, b + 8);
			return fill_record(r, rec, rd16(r, b), ts, b + 20, caplen, origlen);
		}
		case BT_SPB: {
			/* §4.4: interface 0, no timestamp (we keep the last one),
			 * captured length = min(original, snaplen, block room). */
			uint32_t origlen, caplen;
			if (blen < 4)
				return bad(r, "simple packet block too short");
			if (r->n_ifs == 0)
				return bad(r, "simple packet block before any interface");
			origlen = rd32(r, b);
			caplen = origlen;
			if (r->ifs[0].snaplen && caplen > r->ifs[0].snaplen)
				caplen = r->ifs[0].snaplen;
			if (caplen > blen - 4)
				caplen = (uint32_t)(blen - 4);
			{
				uint64_t last = r->last_ts;
				rc = fill_record(r, rec, 0, 0, b + 4, caplen, origlen);
				rec->ts_ns = r->last_ts = last;
			}
			return rc;
		}
		default:
			break;   /* name resolution, statistics, custom: not ours */
		}
	}
}
