/* pcap replay: the engine over a capture (see replay.h).
 *
 * This is the I/O layer a test or a user debugging a config puts around the
 * engine instead of NIC rings.  Classic pcap is read with libpcap (nanosecond
 * precision asked for, so both pcap flavours give the same clock); pcapng is
 * read by io/pcapng.c so each frame keeps the interface it was captured on:
 * an interface whose if_name names a fib interface maps to it, an unnamed
 * one maps by position, anything else to fib interface 0.  Only Ethernet
 * frames are fed to the engine; frames of other link types in a pcapng file
 * are skipped and counted.
 *
 * Frames are copied into ULVS_MAX_BATCH slot buffers with ULVS_HEADROOM in
 * front (the engine rewrites in place and may grow a frame backwards).  A
 * batch never spans more than a millisecond of capture time, the resolution
 * of the connection table's clock, and runs at its first frame's timestamp,
 * so timeouts and persistence see the capture's time as they would see the
 * wall clock live (including the expiry that live mode's idle timer does
 * between packets).  The clock never runs backwards: a frame stamped earlier
 * than the one before it runs at the later time.  Output frames carry the
 * timestamp of the input frame they came from, which makes OUT a pure
 * function of IN and the config.
 */
#include "replay.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/constants.h"
#include "core/packet.h"
#include "pcapng.h"

/* Largest frame we copy; longer captured frames (none on an Ethernet with a
 * sane MTU) are truncated and counted. */
#define SLOT_DATA 65536u
/* One millisecond: the connection table keeps time in ms. */
#define BATCH_SPAN_NS 1000000ull
/* The period of live mode's idle timer (io/live.c), emulated between
 * frames. */
#define TICK_NS (100 * 1000 * 1000ull)

struct src {
	const char *path;
	FILE *err;
	pcap_t *pc;
	struct pcapng_reader *ng;
};

struct frame {
	const uint8_t *data;
	uint32_t caplen, origlen;
	uint64_t ts_ns;
	uint16_t linktype;
	uint32_t in_iface;       /* pcapng interface index; 0 for pcap */
	const char *if_name;     /* "" when unknown */
};

struct slot {
	uint8_t *buf;
	uint64_t ts_ns;          /* capture timestamp, for the output */
};

struct replay_counters {
	uint64_t frames, skipped_linktype, truncated, iface_default;
	uint64_t tx_written, pass_written;
};

static int src_open(struct src *s, const char *path, FILE *err)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	uint8_t m[4] = { 0 };
	FILE *fp;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->err = err;
	fp = fopen(path, "rb");
	if (!fp) {
		int e = errno;
		fprintf(err, "%s: cannot open capture: %s\n", path, strerror(e));
		return -e;
	}
	if (fread(m, 1, 4, fp) == 4 && pcapng_is_pcapng(m)) {
		rewind(fp);
		s->ng = pcapng_reader_open(fp);
		if (!s->ng) {
			int e = errno;
			fclose(fp);
			fprintf(err, "%s: cannot read capture: %s\n", path, strerror(e));
			return -e;
		}
		return 0;
	}
	rewind(fp);
	ebuf[0] = '\0';
	s->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!s->pc) {
		fclose(fp);
		fprintf(err, "%s: not a readable pcap or pcapng capture: %s\n", path, ebuf);
		return -EINVAL;
	}
	if (pcap_datalink(s->pc) != DLT_EN10MB) {
		const char *n = pcap_datalink_val_to_name(pcap_datalink(s->pc));
		fprintf(err,
			"%s: link type %s is not supported: replay needs Ethernet frames "
			"(capture on the interface itself, not on \"any\")\n",
			path, n ? n : "unknown");
		pcap_close(s->pc);
		s->pc = NULL;
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static void src_close(struct src *s)
{
	if (s->pc)
		pcap_close(s->pc);
	if (s->ng)
		pcapng_reader_close(s->ng);
	memset(s, 0, sizeof(*s));
}

/* 1: a frame; 0: end of capture; -errno after printing why. */
static int src_next(struct src *s, struct frame *fr)
{
	if (s->ng) {
		struct pcapng_record rec;
		int rc = pcapng_read_packet(s->ng, &rec);
		if (rc == -EINVAL) {
			fprintf(s->err, "%s: malformed pcapng: %s\n", s->path,
				pcapng_reader_error(s->ng));
			return rc;
		}
		if (rc < 0) {
			fprintf(s->err, "%s: cannot read capture: %s\n", s->path, strerror(-rc));
			return rc;
		}
		if (rc == 0)
			return 0;
		fr->data = rec.data;
		fr->caplen = rec.caplen;
		fr->origlen = rec.origlen;
		fr->ts_ns = rec.ts_ns;
		fr->linktype = rec.linktype;
		fr->in_iface = rec.iface;
		fr->if_name = rec.if_name;
		return 1;
	}
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *d;
		int rc = pcap_next_ex(s->pc, &h, &d);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc == PCAP_ERROR) {
			fprintf(s->err, "%s: malformed capture: %s\n", s->path, pcap_geterr(s->pc));
			return -EINVAL;
		}
		if (rc != 1)
			continue;
		fr->data = d;
		fr->caplen = h->caplen;
		fr->origlen = h->len;
		/* Opened with nanosecond precision: tv_usec holds nanoseconds. */
		fr->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		fr->linktype = PCAPNG_LINKTYPE_ETHERNET;
		fr->in_iface = 0;
		fr->if_name = "";
		return 1;
	}
}

int replay_first_timestamp(const char *path, uint64_t *ts_ns, FILE *err)
{
	struct src s;
	struct frame fr;
	int rc;

	if (!err)
		err = stderr;
	*ts_ns = 0;
	rc = src_open(&s, path, err);
	if (rc)
		return rc;
	rc = src_next(&s, &fr);
	if (rc == 1)
		*ts_ns = fr.ts_ns;
	src_close(&s);
	return rc < 0 ? rc : 0;
}

static uint16_t map_iface(const struct fib *f, const struct frame *fr, bool *defaulted)
{
	*defaulted = false;
	if (fr->if_name[0]) {
		for (unsigned i = 0; i < f->n_ifaces; i++)
			if (!strncmp(f->ifaces[i].name, fr->if_name, sizeof(f->ifaces[i].name)))
				return (uint16_t)i;
	}
	if (fr->in_iface < f->n_ifaces && !fr->if_name[0])
		return (uint16_t)fr->in_iface;
	*defaulted = fr->in_iface != 0 || fr->if_name[0];
	return 0;
}

struct run {
	struct engine *e;
	const struct fib *f;
	const struct replay_opts *o;
	FILE *err;
	struct pcapng_writer *out, *pass;
	struct slot slots[ULVS_MAX_BATCH];
	struct pkt pkts[ULVS_MAX_BATCH];
	struct verdict v[ULVS_MAX_BATCH];
	struct replay_counters c;
	uint64_t clock_ns;
	uint64_t tick_ns;        /* time of the last expiry tick */
	bool ticked;
};

static int write_frame(struct run *r, struct pcapng_writer *w, const char *path, uint32_t iface,
		       uint64_t ts, const struct pkt *p)
{
	int rc = pcapng_write_packet(w, iface, ts, p->data, p->len);

	if (rc == -EINVAL)
		fprintf(r->err, "%s: frame for interface %u, but only %u are configured "
			"(engine bug)\n", path, iface, r->f->n_ifaces ? r->f->n_ifaces : 1);
	else if (rc)
		fprintf(r->err, "%s: write failed: %s\n", path, strerror(-rc));
	return rc;
}

/* Live, a timer runs the engine with no packets every TICK_NS, so expiry
 * keeps up with the clock however quiet the link is.  A capture jumps over
 * its quiet spells; replay runs the ticks those spells would have had, each
 * one to the end of what is due.  Ticking (rather than one pass at the new
 * time) matters: IPVS re-arms a template that still controls connections
 * for another timeout from the moment it is looked at, so a single late
 * pass would keep templates alive far longer than live mode does.  An empty
 * table has nothing to tick for, so long idle captures cost nothing. */
static void catch_up(struct run *r, uint64_t now)
{
	struct conn_table *ct = engine_conns(r->e);

	if (!r->ticked) {
		r->tick_ns = now;
		r->ticked = true;
	}
	while (r->tick_ns + TICK_NS <= now && conn_count(ct) > 0) {
		r->tick_ns += TICK_NS;
		do
			engine_process(r->e, r->pkts, r->v, 0, r->tick_ns);
		while (conn_expire_backlog(ct, r->tick_ns));
	}
	if (r->tick_ns < now)
		r->tick_ns = now;
	while (conn_expire_backlog(ct, now))
		engine_process(r->e, r->pkts, r->v, 0, now);
}

static int run_batch(struct run *r, unsigned n, uint64_t now)
{
	int rc;

	if (n == 0)
		return 0;
	catch_up(r, now);
	engine_process(r->e, r->pkts, r->v, n, now);
	for (unsigned i = 0; i < n; i++) {
		const struct verdict *v = &r->v[i];
		if (v->kind == VERDICT_TX) {
			rc = write_frame(r, r->out, r->o->out_path, v->iface, r->slots[i].ts_ns,
					 &r->pkts[i]);
			if (rc)
				return rc;
			r->c.tx_written++;
		} else if (v->kind == VERDICT_PASS && r->pass) {
			rc = write_frame(r, r->pass, r->o->pass_path, r->pkts[i].ifindex,
					 r->slots[i].ts_ns, &r->pkts[i]);
			if (rc)
				return rc;
			r->c.pass_written++;
		}
	}
	return 0;
}

static void load_slot(struct run *r, unsigned i, const struct frame *fr, uint16_t ifindex)
{
	struct pkt *p = &r->pkts[i];
	uint32_t len = fr->caplen;

	if (len > SLOT_DATA) {
		len = SLOT_DATA;
		r->c.truncated++;
	} else if (fr->caplen < fr->origlen) {
		/* Cut by the capture's snaplen: the engine will see an IP
		 * length longer than the frame and count the drop. */
		r->c.truncated++;
	}
	memcpy(r->slots[i].buf + ULVS_HEADROOM, fr->data, len);
	r->slots[i].ts_ns = fr->ts_ns;
	p->buf = r->slots[i].buf;
	p->data = p->buf + ULVS_HEADROOM;
	p->len = len;
	p->buf_size = ULVS_HEADROOM + SLOT_DATA;
	p->ifindex = ifindex;
	p->mark = 0;
}

static void swap_slot(struct run *r, unsigned a, unsigned b)
{
	struct slot ts = r->slots[a];
	struct pkt tp = r->pkts[a];
	r->slots[a] = r->slots[b];
	r->pkts[a] = r->pkts[b];
	r->slots[b] = ts;
	r->pkts[b] = tp;
}

static int replay_loop(struct run *r, struct src *s)
{
	uint64_t batch_ts = 0;
	unsigned n = 0;
	struct frame fr;
	int rc;

	while ((rc = src_next(s, &fr)) == 1) {
		bool defaulted;
		uint16_t ifindex;
		uint64_t t;

		r->c.frames++;
		if (fr.linktype != PCAPNG_LINKTYPE_ETHERNET) {
			r->c.skipped_linktype++;
			continue;
		}
		ifindex = map_iface(r->f, &fr, &defaulted);
		r->c.iface_default += defaulted;
		t = fr.ts_ns > r->clock_ns ? fr.ts_ns : r->clock_ns;
		r->clock_ns = t;
		/* Slot n is free; when this frame is too late for the batch,
		 * the batch runs without it and it moves to the front. */
		load_slot(r, n, &fr, ifindex);
		if (n > 0 && t - batch_ts >= BATCH_SPAN_NS) {
			rc = run_batch(r, n, batch_ts);
			if (rc)
				return rc;
			swap_slot(r, 0, n);
			n = 0;
		}
		if (n == 0)
			batch_ts = t;
		if (++n == ULVS_MAX_BATCH) {
			rc = run_batch(r, n, batch_ts);
			if (rc)
				return rc;
			n = 0;
		}
	}
	if (rc < 0)
		return rc;
	return run_batch(r, n, batch_ts);
}

static void print_report(const struct run *r, struct engine *e, FILE *out)
{
	const struct engine_stats *st = engine_stats(e);
	const struct conn_table *ct = engine_conns(e);
	const struct conn_stats *cs = conn_table_stats(ct);

	fprintf(out, "replay: %s -> %s\n", r->o->in_path, r->o->out_path);
	fprintf(out, "  frames read          %llu\n", (unsigned long long)r->c.frames);
	if (r->c.skipped_linktype)
		fprintf(out, "  skipped (not Ethernet) %llu\n",
			(unsigned long long)r->c.skipped_linktype);
	if (r->c.truncated)
		fprintf(out, "  truncated in capture %llu\n", (unsigned long long)r->c.truncated);
	if (r->c.iface_default)
		fprintf(out, "  unknown interface -> %s  %llu\n",
			r->f->n_ifaces ? r->f->ifaces[0].name : "0",
			(unsigned long long)r->c.iface_default);
	fprintf(out, "  packets in           %llu\n", (unsigned long long)st->rx);
	fprintf(out, "  transmitted          %llu\n", (unsigned long long)st->tx);
	fprintf(out, "  passed to kernel     %llu%s\n", (unsigned long long)st->pass,
		r->pass ? "" : " (not written; see --write-passed)");
	fprintf(out, "  dropped              %llu\n", (unsigned long long)st->drop);
	for (unsigned i = 1; i < DROP_REASON_MAX; i++)
		if (st->drops[i])
			fprintf(out, "    %-24s %llu\n", drop_reason_name((enum drop_reason)i),
				(unsigned long long)st->drops[i]);
	for (unsigned i = 1; i < PARSE_RESULT_MAX; i++)
		if (st->parse[i])
			fprintf(out, "  parse %-22s %llu\n",
				parse_result_name((enum parse_result)i),
				(unsigned long long)st->parse[i]);
	fprintf(out, "  connections created  %llu\n", (unsigned long long)st->new_conns);
	fprintf(out, "  templates created    %llu\n", (unsigned long long)cs->templates_created);
	fprintf(out, "  connections expired  %llu\n", (unsigned long long)cs->expired);
	fprintf(out, "  connections live     %u\n", conn_count(ct));
	if (cs->table_full)
		fprintf(out, "  table full           %llu\n", (unsigned long long)cs->table_full);
	if (st->sorry_used)
		fprintf(out, "  sorry server used    %llu\n", (unsigned long long)st->sorry_used);
	if (st->toa_inserted)
		fprintf(out, "  TOA inserted         %llu\n", (unsigned long long)st->toa_inserted);
	if (st->toa_no_room)
		fprintf(out, "  TOA no room          %llu\n", (unsigned long long)st->toa_no_room);
	if (st->mss_clamped)
		fprintf(out, "  MSS clamped          %llu\n", (unsigned long long)st->mss_clamped);
	if (st->icmp_translated)
		fprintf(out, "  ICMP translated      %llu\n", (unsigned long long)st->icmp_translated);
	if (st->icmp_too_big_sent)
		fprintf(out, "  ICMP too-big sent    %llu\n",
			(unsigned long long)st->icmp_too_big_sent);
}

/* Only a regular file can be a half-written result: OUT may also be a
 * FIFO or a device (/dev/stdout), which must survive a failed run. */
static void remove_output(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		unlink(path);
}

int replay_run(struct engine *e, const struct fib *f, const struct replay_opts *o)
{
	struct run *r = calloc(1, sizeof(*r));
	struct src s;
	int rc, rc2;

	if (!r)
		return -ENOMEM;
	r->e = e;
	r->f = f;
	r->o = o;
	r->err = o->err ? o->err : stderr;
	for (unsigned i = 0; i < ULVS_MAX_BATCH; i++) {
		r->slots[i].buf = malloc(ULVS_HEADROOM + SLOT_DATA);
		if (!r->slots[i].buf) {
			rc = -ENOMEM;
			goto out_free;
		}
	}
	rc = src_open(&s, o->in_path, r->err);
	if (rc)
		goto out_free;
	r->out = pcapng_writer_open(o->out_path, f);
	if (!r->out) {
		rc = -errno;
		fprintf(r->err, "%s: cannot create: %s\n", o->out_path, strerror(errno));
		goto out_src;
	}
	if (o->pass_path) {
		r->pass = pcapng_writer_open(o->pass_path, f);
		if (!r->pass) {
			rc = -errno;
			fprintf(r->err, "%s: cannot create: %s\n", o->pass_path, strerror(errno));
			goto out_writers;
		}
	}
	rc = replay_loop(r, &s);
out_writers:
	rc2 = pcapng_writer_close(r->out);
	if (rc2 && !rc) {
		fprintf(r->err, "%s: write failed: %s\n", o->out_path, strerror(-rc2));
		rc = rc2;
	}
	rc2 = pcapng_writer_close(r->pass);
	if (rc2 && !rc) {
		fprintf(r->err, "%s: write failed: %s\n", o->pass_path, strerror(-rc2));
		rc = rc2;
	}
	if (rc) {
		/* Never leave a half-written capture that looks like a result. */
		remove_output(o->out_path);
		if (r->pass)
			remove_output(o->pass_path);
	} else if (o->report) {
		print_report(r, e, o->report);
	}
out_src:
	src_close(&s);
out_free:
	for (unsigned i = 0; i < ULVS_MAX_BATCH; i++)
		free(r->slots[i].buf);
	free(r);
	return rc;
}
