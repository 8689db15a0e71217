/* VIPs on the loopback interface, over rtnetlink (libmnl).
 *
 * A DR or TUN real server must accept packets addressed to the VIP without
 * ever claiming it on the wire; a host address on lo does exactly that
 * (Linux is a weak-host stack: a local address is local on every
 * interface), with the ARP sysctls keeping it quiet.  IPv4 addresses get an
 * ifconfig-style label lo:N so `ip addr` and old tools show them as before;
 * IPv6 has no labels and needs no ND suppression (the kernel answers
 * neighbour solicitations only for addresses of the receiving interface).
 */
#include "rs/rs.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

struct lo_scan {
	unsigned ifindex;
	const struct rs_vip *want;
	bool found;
	uint64_t labels_used;   /* bit N: label lo:N exists */
};

static int lo_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lo_scan *s = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (ifa->ifa_index != s->ifindex)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		unsigned type = mnl_attr_get_type(a);
		if (type == IFA_LABEL) {
			const char *l = mnl_attr_get_str(a);
			char *end;
			if (!strncmp(l, "lo:", 3)) {
				unsigned long n = strtoul(l + 3, &end, 10);
				if (!*end && end != l + 3 && n < 64)
					s->labels_used |= 1ull << n;
			}
		} else if (type == IFA_LOCAL || (type == IFA_ADDRESS && ifa->ifa_family == AF_INET6)) {
			unsigned alen = ifa->ifa_family == AF_INET ? 4 : 16;
			if (s->want && ifa->ifa_family == (s->want->family == 4 ? AF_INET : AF_INET6) &&
			    mnl_attr_get_payload_len(a) >= alen &&
			    !memcmp(mnl_attr_get_payload(a), s->want->addr, alen))
				s->found = true;
		}
	}
	return MNL_CB_OK;
}

/* One request and its answer(s); cb may be NULL for plain ACKs. */
static int lo_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	unsigned portid, seq;
	int r;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		mnl_socket_close(nl);
		return r;
	}
	for (;;) {
		ssize_t got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (got < 0) {
			r = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)got, seq, portid, cb, data);
		if (r <= MNL_CB_STOP) {
			r = r < 0 ? -errno : 0;
			break;
		}
	}
	mnl_socket_close(nl);
	return r;
}

static int lo_scan(struct lo_scan *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	s->ifindex = if_nametoindex("lo");
	if (!s->ifindex)
		return -ENODEV;
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return lo_talk(nlh, lo_addr_cb, s);
}

int rs_lo_has(const struct rs_vip *v)
{
	struct lo_scan s = { .want = v };
	int r = lo_scan(&s);

	return r ? r : s.found;
}

static int lo_change(int type, const struct rs_vip *v, const char *label)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned alen = v->family == 4 ? 4 : 16;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = v->family == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)(alen * 8);
	ifa->ifa_scope = RT_SCOPE_HOST;
	/* No duplicate address detection on lo: the address would sit
	 * "tentative" and unusable for a second otherwise. */
	ifa->ifa_flags = v->family == 6 ? IFA_F_NODAD : 0;
	ifa->ifa_index = if_nametoindex("lo");
	if (!ifa->ifa_index)
		return -ENODEV;
	mnl_attr_put(nlh, IFA_LOCAL, alen, v->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, v->addr);
	if (label && v->family == 4)
		mnl_attr_put_strz(nlh, IFA_LABEL, label);
	return lo_talk(nlh, NULL, NULL);
}

int rs_lo_add(const struct rs_vip *v, char *label, size_t label_len)
{
	char l[IFNAMSIZ] = "";

	if (v->family == 4) {
		struct lo_scan s = { 0 };
		unsigned n = 0;
		int r = lo_scan(&s);
		if (r)
			return r;
		while (n < 64 && (s.labels_used & (1ull << n)))
			n++;
		if (n == 64)
			return -ENOSPC;
		snprintf(l, sizeof(l), "lo:%u", n);
	}
	if (label)
		snprintf(label, label_len, "%s", l);
	return lo_change(RTM_NEWADDR, v, v->family == 4 ? l : NULL);
}

int rs_lo_del(const struct rs_vip *v)
{
	return lo_change(RTM_DELADDR, v, NULL);
}
