/* UDP_CHECK and DNS_CHECK: one datagram out on a connected UDP socket, then
 * wait for a reply, an ICMP error (the kernel reports port unreachable on a
 * connected socket as ECONNREFUSED) or connect_timeout.
 *
 * UDP_CHECK (keepalived's check_udp.c): payload is sent (hex as keepalived
 * writes it, else the text itself); an ICMP error is a failure; with
 * require_reply a reply of min_reply_length..max_reply_length bytes must
 * arrive in time, without it silence counts as success.
 * DNS_CHECK (check_dns.c): a query for name/type with RD set (RFC 1035
 * §4.1); success is a response (QR) with our id and RCODE 0.  Replies with
 * another id are ignored, as a resolver does.
 */
#include "check/internal.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DGRAM_MAX 4096

struct udp_state {
	int fd;
	struct ev_timer *timer;
	uint8_t *out;              /* datagram to send */
	size_t out_len;
	uint16_t dns_id;
	uint16_t dns_type;
	bool dns;
};

static void dgram_close(struct checker *c)
{
	struct udp_state *u = c->priv;
	if (u->timer)
		ev_timer_cancel(c->k->loop, u->timer);
	u->timer = NULL;
	if (u->fd >= 0) {
		ev_fd_del(c->k->loop, u->fd);
		close(u->fd);
	}
	u->fd = -1;
}

/* ---- DNS wire format (RFC 1035 §4.1) ------------------------------------ */

static const struct {
	const char *name;
	uint16_t type;
} dns_types[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 },
};

static uint16_t dns_type_code(const char *name)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (!strcasecmp(name, dns_types[i].name))
			return dns_types[i].type;
	return 0;
}

/* Encode a query into buf; returns its length or -EINVAL (bad name). */
static int dns_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type)
{
	size_t o = 12;
	const char *s = name;

	if (cap < 12 + 255 + 4)
		return -EINVAL;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01;             /* RD: a recursor answers with what it knows */
	buf[5] = 1;                /* QDCOUNT */
	if (!strcmp(s, "."))
		s++;               /* the root: no label at all */
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63)  /* empty label ("a..b") or too long (§2.3.4) */
			return -EINVAL;
		if (o + 1 + n > 12 + 254)
			return -EINVAL;
		buf[o++] = (uint8_t)n;
		memcpy(buf + o, s, n);
		o += n;
		s += n;
		if (*s == '.')
			s++;
	}
	buf[o++] = 0;              /* root */
	buf[o++] = (uint8_t)(type >> 8);
	buf[o++] = (uint8_t)type;
	buf[o++] = 0;
	buf[o++] = 1;              /* class IN */
	return (int)o;
}

static const char *rcode_name(unsigned rc)
{
	static const char *const n[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					 "NOTIMP", "REFUSED" };
	return rc < sizeof(n) / sizeof(n[0]) ? n[rc] : "rcode";
}

/* ---- reply handling ----------------------------------------------------- */

static void dgram_timeout_cb(struct evloop *l, void *arg)
{
	struct checker *c = arg;
	struct udp_state *u = c->priv;

	u->timer = NULL;
	dgram_close(c);
	if (!u->dns && !c->cc->require_reply)
		check_report(c, CHECK_RESULT_OK, "no ICMP error within %u ms",
			     c->cc->connect_timeout_ms);
	else
		check_report(c, CHECK_RESULT_TIMEOUT, "no reply within %u ms",
			     c->cc->connect_timeout_ms);
}

static void dgram_io_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct checker *c = arg;
	struct udp_state *u = c->priv;
	const struct conf_checker *cc = c->cc;
	uint8_t buf[DGRAM_MAX];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			int e = errno;
			if (e == EAGAIN || e == EINTR)
				return;
			dgram_close(c);
			check_report(c, CHECK_RESULT_FAIL, "%s",
				     e == ECONNREFUSED ? "ICMP port unreachable" : strerror(e));
			return;
		}
		if (!u->dns) {
			dgram_close(c);
			if (cc->require_reply &&
			    ((uint32_t)n < cc->min_reply_length ||
			     (cc->max_reply_length && (uint32_t)n > cc->max_reply_length)))
				check_report(c, CHECK_RESULT_FAIL, "reply of %zd bytes outside %u..%u", n,
					     cc->min_reply_length, cc->max_reply_length);
			else
				check_report(c, CHECK_RESULT_OK, "reply of %zd bytes", n);
			return;
		}
		/* DNS: not a response to our query: keep waiting */
		if (n < 12 || ((buf[0] << 8) | buf[1]) != u->dns_id || !(buf[2] & 0x80))
			continue;
		unsigned rc = buf[3] & 0x0f;
		unsigned an = (unsigned)(buf[6] << 8 | buf[7]);
		dgram_close(c);
		if (rc)
			check_report(c, CHECK_RESULT_FAIL, "DNS %s %s: %s (%u)", cc->dns_name,
				     cc->dns_type, rcode_name(rc), rc);
		else
			check_report(c, CHECK_RESULT_OK, "DNS %s %s: NOERROR, %u answer%s",
				     cc->dns_name, cc->dns_type, an, an == 1 ? "" : "s");
		return;
	}
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int udp_init_common(struct checker *c, bool dns)
{
	struct udp_state *u = calloc(1, sizeof(*u));
	const char *p = c->cc->payload;

	if (!u)
		return -ENOMEM;
	u->fd = -1;
	u->dns = dns;
	c->priv = u;
	if (dns) {
		u->dns_type = dns_type_code(c->cc->dns_type ? c->cc->dns_type : "SOA");
		if (!u->dns_type)
			return -EINVAL;
		u->out = malloc(512);
		if (!u->out)
			return -ENOMEM;
		/* validate the name once; the id changes per run */
		int r = dns_build_query(u->out, 512, 0, c->cc->dns_name ? c->cc->dns_name : ".",
					u->dns_type);
		if (r < 0)
			return r;
		u->out_len = (size_t)r;
		return 0;
	}
	if (p && *p) {
		size_t len = strlen(p);
		bool hex = len % 2 == 0;
		for (size_t i = 0; hex && i < len; i++)
			hex = hexval((unsigned char)p[i]) >= 0;
		u->out = malloc(len);
		if (!u->out)
			return -ENOMEM;
		if (hex) {
			for (size_t i = 0; i < len / 2; i++)
				u->out[i] = (uint8_t)(hexval((unsigned char)p[2 * i]) << 4 |
						      hexval((unsigned char)p[2 * i + 1]));
			u->out_len = len / 2;
		} else {
			memcpy(u->out, p, len);
			u->out_len = len;
		}
	}
	return 0;
}

static int udp_init(struct checker *c)
{
	return udp_init_common(c, false);
}

static int dns_init(struct checker *c)
{
	return udp_init_common(c, true);
}

static void dgram_run(struct checker *c)
{
	struct udp_state *u = c->priv;
	struct sockaddr_storage ss;
	socklen_t sl = check_sockaddr(&c->cc->connect_ip, c->cc->connect_port, &ss);
	int fd = check_socket(c, SOCK_DGRAM, IPPROTO_UDP), r;

	if (fd < 0) {
		check_report(c, CHECK_RESULT_FAIL, "socket/bind: %s", strerror(-fd));
		return;
	}
	u->fd = fd;
	if (u->dns) {
		c->k->rng ^= c->k->rng << 13;
		c->k->rng ^= c->k->rng >> 7;
		c->k->rng ^= c->k->rng << 17;
		u->dns_id = (uint16_t)c->k->rng;
		u->out[0] = (uint8_t)(u->dns_id >> 8);
		u->out[1] = (uint8_t)u->dns_id;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(fd, u->out ? (const void *)u->out : "", u->out_len, 0) < 0) {
		r = errno;
		dgram_close(c);
		check_report(c, CHECK_RESULT_FAIL, "send: %s", strerror(r));
		return;
	}
	r = ev_fd_add(c->k->loop, fd, EV_READ, dgram_io_cb, c);
	if (r == 0) {
		u->timer = ev_timer_add(c->k->loop, check_time_left_ms(c, c->cc->connect_timeout_ms),
					dgram_timeout_cb, c);
		if (!u->timer)
			r = -ENOMEM;
	}
	if (r < 0) {
		dgram_close(c);
		check_report(c, CHECK_RESULT_FAIL, "event loop: %s", strerror(-r));
	}
}

static void dgram_abort(struct checker *c)
{
	dgram_close(c);
}

static void dgram_fini(struct checker *c)
{
	struct udp_state *u = c->priv;
	if (!u)
		return;
	dgram_close(c);
	free(u->out);
	free(u);
	c->priv = NULL;
}

const struct check_ops check_udp_ops = {
	.type = CHECK_UDP,
	.init = udp_init,
	.run = dgram_run,
	.abort = dgram_abort,
	.fini = dgram_fini,
};

const struct check_ops check_dns_ops = {
	.type = CHECK_DNS,
	.init = dns_init,
	.run = dgram_run,
	.abort = dgram_abort,
	.fini = dgram_fini,
};
