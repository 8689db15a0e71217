/* PING_CHECK: one ICMP (v6) echo request to connect_ip; up when the matching
 * echo reply arrives within connect_timeout (keepalived's check_ping.c).
 *
 * An unprivileged ping socket (SOCK_DGRAM/IPPROTO_ICMP, allowed by
 * net.ipv4.ping_group_range) is tried first: the kernel then owns the echo
 * id and hands us only our replies.  Without it, a raw socket (needs
 * CAP_NET_RAW); on IPv4 raw sockets deliver the IP header too, and every
 * ICMP packet from the peer, so replies are matched on id and sequence.
 * Both are connect()ed, so only the target's packets arrive.
 */
#include "check/internal.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PING_DATA 16

struct ping_state {
	int fd;
	bool raw, v6;
	uint16_t id, seq;
	struct ev_timer *timer;
};

static void ping_close(struct checker *c)
{
	struct ping_state *p = c->priv;
	if (p->timer)
		ev_timer_cancel(c->k->loop, p->timer);
	p->timer = NULL;
	if (p->fd >= 0) {
		ev_fd_del(c->k->loop, p->fd);
		close(p->fd);
	}
	p->fd = -1;
}

/* RFC 1071 Internet checksum. */
static uint16_t inet_csum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void ping_timeout_cb(struct evloop *l, void *arg)
{
	struct checker *c = arg;
	struct ping_state *p = c->priv;

	p->timer = NULL;
	ping_close(c);
	check_report(c, CHECK_RESULT_TIMEOUT, "no echo reply within %u ms", c->cc->connect_timeout_ms);
}

static void ping_io_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct checker *c = arg;
	struct ping_state *p = c->priv;
	uint8_t buf[1500];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const uint8_t *h = buf;

		if (n < 0) {
			int e = errno;
			if (e == EAGAIN || e == EINTR)
				return;
			ping_close(c);
			check_report(c, CHECK_RESULT_FAIL, "%s", strerror(e));
			return;
		}
		if (p->raw && !p->v6) {
			size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
			if ((size_t)n < ihl + 8)
				continue;
			h += ihl;
			n -= (ssize_t)ihl;
		}
		if (n < 8)
			continue;
		uint8_t want = p->v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
		uint16_t id = (uint16_t)(h[4] << 8 | h[5]), seq = (uint16_t)(h[6] << 8 | h[7]);
		if (h[0] != want || seq != p->seq || (p->raw && id != p->id))
			continue;
		ping_close(c);
		check_report(c, CHECK_RESULT_OK, "echo reply seq %u", seq);
		return;
	}
}

static int ping_init(struct checker *c)
{
	struct ping_state *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->v6 = c->cc->connect_ip.af == ULVS_AF_INET6;
	p->id = (uint16_t)(getpid() ^ (uintptr_t)c);
	c->priv = p;
	return 0;
}

static void ping_run(struct checker *c)
{
	struct ping_state *p = c->priv;
	int proto = p->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	struct sockaddr_storage ss;
	socklen_t sl = check_sockaddr(&c->cc->connect_ip, 0, &ss);
	uint8_t pkt[8 + PING_DATA];
	int fd, r;

	fd = check_socket(c, SOCK_DGRAM, proto);
	p->raw = false;
	if (fd < 0) {
		fd = check_socket(c, SOCK_RAW, proto);
		p->raw = true;
	}
	if (fd < 0) {
		check_report(c, CHECK_RESULT_FAIL, "no ping or raw ICMP socket: %s", strerror(-fd));
		return;
	}
	p->fd = fd;
	p->seq++;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = p->v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[4] = (uint8_t)(p->id >> 8);
	pkt[5] = (uint8_t)p->id;
	pkt[6] = (uint8_t)(p->seq >> 8);
	pkt[7] = (uint8_t)p->seq;
	memcpy(pkt + 8, "ulvs-ping-check!", PING_DATA);
	if (!p->v6) {
		/* ICMPv6 checksums include a pseudo-header; the kernel fills them */
		uint16_t s = inet_csum(pkt, sizeof(pkt));
		pkt[2] = (uint8_t)(s >> 8);
		pkt[3] = (uint8_t)s;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || send(fd, pkt, sizeof(pkt), 0) < 0) {
		r = errno;
		ping_close(c);
		check_report(c, CHECK_RESULT_FAIL, "send: %s", strerror(r));
		return;
	}
	r = ev_fd_add(c->k->loop, fd, EV_READ, ping_io_cb, c);
	if (r == 0) {
		p->timer = ev_timer_add(c->k->loop, check_time_left_ms(c, c->cc->connect_timeout_ms),
					ping_timeout_cb, c);
		if (!p->timer)
			r = -ENOMEM;
	}
	if (r < 0) {
		ping_close(c);
		check_report(c, CHECK_RESULT_FAIL, "event loop: %s", strerror(-r));
	}
}

static void ping_abort(struct checker *c)
{
	ping_close(c);
}

static void ping_fini(struct checker *c)
{
	if (!c->priv)
		return;
	ping_close(c);
	free(c->priv);
	c->priv = NULL;
}

const struct check_ops check_ping_ops = {
	.type = CHECK_PING,
	.init = ping_init,
	.run = ping_run,
	.abort = ping_abort,
	.fini = ping_fini,
};
