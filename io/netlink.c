/* rtnetlink reader: links, addresses, routes and neighbours into struct fib.
 *
 * Two sockets: one for dumps and requests (synchronous, sequence-numbered),
 * one bound to the neighbour multicast group so a MAC the kernel learns
 * (an ARP request from a client, the answer to our NTF_USE probe) reaches
 * the engine within the same poll round instead of at the next one-second
 * re-dump.  Only the main routing table is read: policy routing is not
 * mirrored, the engine routes by longest prefix over one table.
 */
#include "io/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "core/fib.h"
#include "core/service.h"

struct nl_addr {
	uint32_t ifindex;
	uint8_t af;
	union ulvs_addr a;
};

struct nl_key {
	uint8_t af;
	union ulvs_addr a;
};

struct nl_ctx {
	struct mnl_socket *req, *ev;
	uint32_t req_portid, seq;
	FILE *log;
	/* Local addresses seen by the last fill (to find a VIP's link). */
	struct nl_addr *addrs;
	unsigned n_addrs, cap_addrs;
	/* Neighbours the config declared: never overwritten from the kernel. */
	struct nl_key *fixed;
	unsigned n_fixed;
	/* Interfaces whose source addresses the config declared. */
	uint8_t fixed_addr4[ULVS_MAX_IFACES], fixed_addr6[ULVS_MAX_IFACES];
	/* Neighbour entries a collecting dump found different from the fib,
	 * for nl_neigh_apply(). */
	struct nl_neigh_change {
		uint8_t af;
		uint16_t iface;
		union ulvs_addr a;
		struct ulvs_mac mac;
	} *pending;
	unsigned n_pending, cap_pending;
	bool collect;
	int collect_err;
	/* Scratch for one parse pass. */
	struct fib *f;
	const struct svc_table *t;
	int changed;
	bool have_primary4[ULVS_MAX_IFACES], have_primary6[ULVS_MAX_IFACES];
};

static char nl_buf[1 << 16] __attribute__((aligned(8)));

static int af_of(int family)
{
	return family == AF_INET ? ULVS_AF_INET : family == AF_INET6 ? ULVS_AF_INET6 : 0;
}

static bool attr_addr(const struct nlattr *a, enum ulvs_af af, union ulvs_addr *out)
{
	unsigned need = af == ULVS_AF_INET ? 4 : 16;

	if (!a || mnl_attr_get_payload_len(a) < need)
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out->b, mnl_attr_get_payload(a), need);
	return true;
}

int nl_fib_iface(const struct fib *f, uint32_t os_ifindex)
{
	for (unsigned i = 0; i < f->n_ifaces; i++)
		if (f->ifaces[i].os_ifindex == os_ifindex)
			return (int)i;
	return -1;
}

static int fib_iface_by_name(const struct fib *f, const char *name)
{
	for (unsigned i = 0; i < f->n_ifaces; i++)
		if (strncmp(f->ifaces[i].name, name, sizeof(f->ifaces[i].name)) == 0)
			return (int)i;
	return -1;
}

static struct nl_ctx *open_fail(struct nl_ctx *nl)
{
	int e = errno;

	nl_close(nl);
	errno = e;
	return NULL;
}

struct nl_ctx *nl_open(FILE *log)
{
	struct nl_ctx *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return NULL;
	nl->log = log;
	nl->seq = (uint32_t)time(NULL);
	nl->req = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->req || mnl_socket_bind(nl->req, 0, MNL_SOCKET_AUTOPID) < 0)
		return open_fail(nl);
	nl->req_portid = mnl_socket_get_portid(nl->req);
	nl->ev = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->ev || mnl_socket_bind(nl->ev, RTMGRP_NEIGH, MNL_SOCKET_AUTOPID) < 0)
		return open_fail(nl);
	int fd = mnl_socket_get_fd(nl->ev);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return open_fail(nl);
	return nl;
}

void nl_close(struct nl_ctx *nl)
{
	if (!nl)
		return;
	if (nl->req)
		mnl_socket_close(nl->req);
	if (nl->ev)
		mnl_socket_close(nl->ev);
	free(nl->addrs);
	free(nl->fixed);
	free(nl->pending);
	free(nl);
}

int nl_event_fd(const struct nl_ctx *nl)
{
	return mnl_socket_get_fd(nl->ev);
}

/* Sends one request and runs cb over every answer until NLMSG_DONE/ACK. */
static int nl_request(struct nl_ctx *nl, struct nlmsghdr *nlh, mnl_cb_t cb)
{
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl->req, nl_buf, sizeof(nl_buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(nl_buf, (size_t)ret, seq, nl->req_portid, cb, nl);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int nl_dump(struct nl_ctx *nl, int type, int family, mnl_cb_t cb)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++nl->seq;
	/* Each request carries its own family header (ifinfomsg, rtmsg...);
	 * all of them start with the family byte and are zero otherwise. */
	size_t hlen = type == RTM_GETLINK ? sizeof(struct ifinfomsg) :
		      type == RTM_GETADDR ? sizeof(struct ifaddrmsg) :
		      type == RTM_GETROUTE ? sizeof(struct rtmsg) : sizeof(struct ndmsg);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, hlen);
	g->rtgen_family = (unsigned char)family;
	return nl_request(nl, nlh, cb);
}

/* --- links ---------------------------------------------------------------- */

struct attrs {
	const struct nlattr *tb[64];
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	unsigned type = mnl_attr_get_type(a);

	if (type < 64)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_ctx *nl = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { { 0 } };

	/* Only Ethernet-framed links: the engine writes Ethernet headers. */
	if ((ifi->ifi_flags & IFF_LOOPBACK) || ifi->ifi_type != ARPHRD_ETHER)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at);
	if (!at.tb[IFLA_IFNAME] || !at.tb[IFLA_ADDRESS] ||
	    mnl_attr_get_payload_len(at.tb[IFLA_ADDRESS]) != ULVS_MAC_LEN)
		return MNL_CB_OK;
	const char *name = mnl_attr_get_str(at.tb[IFLA_IFNAME]);
	struct ulvs_mac mac;
	memcpy(mac.b, mnl_attr_get_payload(at.tb[IFLA_ADDRESS]), ULVS_MAC_LEN);
	uint32_t mtu = at.tb[IFLA_MTU] ? mnl_attr_get_u32(at.tb[IFLA_MTU]) : 1500;
	if (mtu > 65535)
		mtu = 65535;

	int id = fib_iface_by_name(nl->f, name);
	if (id >= 0) {
		/* Declared by the config: its MAC and MTU stand, but the
		 * kernel is the only one who knows the ifindex. */
		if (nl->f->ifaces[id].os_ifindex == 0)
			nl->f->ifaces[id].os_ifindex = (uint32_t)ifi->ifi_index;
		return MNL_CB_OK;
	}
	id = fib_add_iface(nl->f, name, &mac, (uint16_t)mtu, (uint32_t)ifi->ifi_index);
	if (id < 0 && nl->log)
		fprintf(nl->log, "netlink: interface %s not added: %s\n", name, strerror(-id));
	return MNL_CB_OK;
}

/* --- addresses ------------------------------------------------------------ */

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_ctx *nl = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { { 0 } };
	enum ulvs_af af = af_of(ifa->ifa_family);
	union ulvs_addr a;

	if (!af)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &at);
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on
	 * point-to-point links and equal to it elsewhere. */
	if (!attr_addr(at.tb[IFA_LOCAL] ? at.tb[IFA_LOCAL] : at.tb[IFA_ADDRESS], af, &a))
		return MNL_CB_OK;

	if (nl->n_addrs == nl->cap_addrs) {
		unsigned cap = nl->cap_addrs ? 2 * nl->cap_addrs : 32;
		struct nl_addr *n = realloc(nl->addrs, cap * sizeof(*n));
		if (!n)
			return MNL_CB_ERROR;
		nl->addrs = n;
		nl->cap_addrs = cap;
	}
	nl->addrs[nl->n_addrs++] = (struct nl_addr){ ifa->ifa_index, (uint8_t)af, a };

	int id = nl_fib_iface(nl->f, ifa->ifa_index);
	if (id < 0)
		return MNL_CB_OK;
	/* A VIP or FULLNAT local address is not the director's own source:
	 * TUN outer headers and ICMP errors must not leave from a VIP that
	 * VRRP may move away. */
	if (nl->t && svc_owns_addr(nl->t, af, &a))
		return MNL_CB_OK;
	struct fib_iface *fi = &nl->f->ifaces[id];
	uint32_t flags = at.tb[IFA_FLAGS] ? mnl_attr_get_u32(at.tb[IFA_FLAGS]) : ifa->ifa_flags;
	bool secondary = flags & IFA_F_SECONDARY;
	if (af == ULVS_AF_INET && !nl->fixed_addr4[id]) {
		if (!fi->has_addr4 || (!secondary && !nl->have_primary4[id])) {
			fi->addr4 = a;
			fi->has_addr4 = 1;
			nl->have_primary4[id] = !secondary;
		}
	} else if (af == ULVS_AF_INET6 && !nl->fixed_addr6[id]) {
		/* Global scope only: link-local cannot source a routed packet. */
		if (ifa->ifa_scope == RT_SCOPE_UNIVERSE && !(flags & IFA_F_TENTATIVE) &&
		    (!fi->has_addr6 || (!(flags & IFA_F_DEPRECATED) && !nl->have_primary6[id]))) {
			fi->addr6 = a;
			fi->has_addr6 = 1;
			nl->have_primary6[id] = !(flags & IFA_F_DEPRECATED);
		}
	}
	return MNL_CB_OK;
}

uint32_t nl_addr_ifindex(const struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *addr)
{
	for (unsigned i = 0; i < nl->n_addrs; i++)
		if (nl->addrs[i].af == af && addr_eq(&nl->addrs[i].a, addr))
			return nl->addrs[i].ifindex;
	return 0;
}

/* --- routes --------------------------------------------------------------- */

static bool fib_has_route(const struct fib *f, enum ulvs_af af, const union ulvs_addr *p,
			  unsigned plen)
{
	for (unsigned i = 0; i < f->n_routes; i++)
		if (f->routes[i].af == af && f->routes[i].plen == plen &&
		    addr_eq(&f->routes[i].prefix, p))
			return true;
	return false;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_ctx *nl = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { { 0 } };
	enum ulvs_af af = af_of(rtm->rtm_family);
	union ulvs_addr prefix = { .q = { 0, 0 } }, gw = { .q = { 0, 0 } };
	uint32_t oif = 0;

	if (!af || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &at);
	uint32_t table = at.tb[RTA_TABLE] ? mnl_attr_get_u32(at.tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	if (at.tb[RTA_DST] && !attr_addr(at.tb[RTA_DST], af, &prefix))
		return MNL_CB_OK;
	if (at.tb[RTA_OIF])
		oif = mnl_attr_get_u32(at.tb[RTA_OIF]);
	if (at.tb[RTA_GATEWAY])
		attr_addr(at.tb[RTA_GATEWAY], af, &gw);
	if (!oif && at.tb[RTA_MULTIPATH]) {
		/* ECMP: the engine has one next hop per prefix; take the
		 * first (the kernel would hash flows over all of them). */
		const struct rtnexthop *nh = mnl_attr_get_payload(at.tb[RTA_MULTIPATH]);
		if (mnl_attr_get_payload_len(at.tb[RTA_MULTIPATH]) >= sizeof(*nh) &&
		    nh->rtnh_len >= sizeof(*nh)) {
			oif = (uint32_t)nh->rtnh_ifindex;
			const struct nlattr *a = (const void *)((const char *)nh + RTNH_ALIGN(sizeof(*nh)));
			const char *end = (const char *)nh + nh->rtnh_len;
			while ((const char *)a + sizeof(*a) <= end && a->nla_len >= sizeof(*a) &&
			       (const char *)a + a->nla_len <= end) {
				if (mnl_attr_get_type(a) == RTA_GATEWAY)
					attr_addr(a, af, &gw);
				a = (const void *)((const char *)a + MNL_ALIGN(a->nla_len));
			}
		}
	}
	int id = nl_fib_iface(nl->f, oif);
	if (id < 0)
		return MNL_CB_OK;
	if (fib_has_route(nl->f, af, &prefix, rtm->rtm_dst_len))
		return MNL_CB_OK;   /* the config's, or a duplicate metric */
	int r = fib_add_route(nl->f, af, &prefix, rtm->rtm_dst_len, &gw, (uint16_t)id);
	if (r < 0 && nl->log) {
		char b[64];
		fprintf(nl->log, "netlink: route %s/%u not added: %s\n",
			addr_format(af, &prefix, b, sizeof(b)), rtm->rtm_dst_len, strerror(-r));
	}
	return MNL_CB_OK;
}

/* --- neighbours ----------------------------------------------------------- */

static bool neigh_fixed(const struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *a)
{
	for (unsigned i = 0; i < nl->n_fixed; i++)
		if (nl->fixed[i].af == af && addr_eq(&nl->fixed[i].a, a))
			return true;
	return false;
}

static int neigh_keep(struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *a,
		      const struct ulvs_mac *mac, uint16_t iface)
{
	if (nl->n_pending == nl->cap_pending) {
		unsigned cap = nl->cap_pending ? 2 * nl->cap_pending : 16;
		void *p = reallocarray(nl->pending, cap, sizeof(*nl->pending));
		if (!p) {
			nl->collect_err = -ENOMEM;
			return MNL_CB_OK;
		}
		nl->pending = p;
		nl->cap_pending = cap;
	}
	nl->pending[nl->n_pending++] =
		(struct nl_neigh_change){ .af = (uint8_t)af, .iface = iface, .a = *a, .mac = *mac };
	return MNL_CB_OK;
}

static int neigh_msg(struct nl_ctx *nl, const struct nlmsghdr *nlh)
{
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct attrs at = { { 0 } };
	enum ulvs_af af = af_of(ndm->ndm_family);
	union ulvs_addr a;

	if (!af || nlh->nlmsg_type != RTM_NEWNEIGH || (ndm->ndm_flags & NTF_PROXY))
		return MNL_CB_OK;
	/* INCOMPLETE/FAILED carry no usable MAC; PROBE and DELAY still do
	 * (the kernel is only re-confirming it). */
	if (!(ndm->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
				NUD_NOARP)))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ndm), attr_cb, &at);
	if (!attr_addr(at.tb[NDA_DST], af, &a) || !at.tb[NDA_LLADDR] ||
	    mnl_attr_get_payload_len(at.tb[NDA_LLADDR]) != ULVS_MAC_LEN)
		return MNL_CB_OK;
	int id = nl_fib_iface(nl->f, (uint32_t)ndm->ndm_ifindex);
	if (id < 0 || neigh_fixed(nl, af, &a))
		return MNL_CB_OK;
	struct ulvs_mac mac;
	memcpy(mac.b, mnl_attr_get_payload(at.tb[NDA_LLADDR]), ULVS_MAC_LEN);
	const struct fib_neigh *old = fib_find_neigh(nl->f, af, &a);
	if (old && old->iface == id && memcmp(old->mac.b, mac.b, ULVS_MAC_LEN) == 0)
		return MNL_CB_OK;
	if (nl->collect)
		return neigh_keep(nl, af, &a, &mac, (uint16_t)id);
	int r = fib_add_neigh(nl->f, af, &a, &mac, (uint16_t)id);
	if (r == 0)
		nl->changed++;
	else if (nl->log)
		fprintf(nl->log, "netlink: neighbour not added: %s\n", strerror(-r));
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	return neigh_msg(data, nlh);
}

int nl_neigh_collect(struct nl_ctx *nl, const struct fib *f)
{
	/* Collecting only reads the fib: neigh_msg() keeps instead of
	 * writing. */
	nl->f = (struct fib *)f;
	nl->n_pending = 0;
	nl->collect = true;
	nl->collect_err = 0;
	int r = nl_dump(nl, RTM_GETNEIGH, AF_UNSPEC, neigh_cb);
	nl->collect = false;
	if (r == 0)
		r = nl->collect_err;
	return r < 0 ? r : (int)nl->n_pending;
}

int nl_neigh_apply(struct nl_ctx *nl, struct fib *f)
{
	int changed = 0;

	for (unsigned i = 0; i < nl->n_pending; i++) {
		const struct nl_neigh_change *c = &nl->pending[i];
		int r = fib_add_neigh(f, c->af, &c->a, &c->mac, c->iface);
		if (r == 0)
			changed++;
		else if (nl->log)
			fprintf(nl->log, "netlink: neighbour not added: %s\n", strerror(-r));
	}
	nl->n_pending = 0;
	return changed;
}

int nl_neigh_refresh(struct nl_ctx *nl, struct fib *f)
{
	int r = nl_neigh_collect(nl, f);

	if (r < 0)
		nl->n_pending = 0;
	return r < 0 ? r : nl_neigh_apply(nl, f);
}

int nl_events(struct nl_ctx *nl, struct fib *f)
{
	int total = 0;

	nl->f = f;
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = mnl_socket_recvfrom(nl->ev, nl_buf, sizeof(nl_buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* Overrun: notifications were lost; a dump
				 * gives the whole truth again. */
				int r = nl_neigh_refresh(nl, f);
				if (r > 0)
					total += r;
				continue;
			}
			return -errno;
		}
		nl->changed = 0;
		mnl_cb_run(nl_buf, (size_t)n, 0, 0, neigh_cb, nl);
		total += nl->changed;
	}
	return total;
}

int nl_neigh_resolve(struct nl_ctx *nl, enum ulvs_af af, const union ulvs_addr *addr,
		     uint32_t os_ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = af == ULVS_AF_INET ? AF_INET : AF_INET6;
	ndm->ndm_ifindex = (int)os_ifindex;
	/* NTF_USE makes neigh_add() call neigh_event_send() instead of
	 * updating the entry: the kernel starts its own resolution, exactly
	 * as if it had a packet to send there (net/core/neighbour.c). */
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, af == ULVS_AF_INET ? 4 : 16, addr->b);
	return nl_request(nl, nlh, NULL);
}

/* --- whole fill ----------------------------------------------------------- */

int nl_fib_fill(struct nl_ctx *nl, struct fib *f, const struct svc_table *t)
{
	int r;

	nl->f = f;
	nl->t = t;
	free(nl->fixed);
	nl->fixed = NULL;
	nl->n_fixed = 0;
	if (f->n_neighs) {
		nl->fixed = calloc(f->n_neighs, sizeof(*nl->fixed));
		if (!nl->fixed)
			return -ENOMEM;
		for (unsigned i = 0; i < ULVS_MAX_NEIGHS && nl->n_fixed < f->n_neighs; i++)
			if (f->neighs[i].valid)
				nl->fixed[nl->n_fixed++] = (struct nl_key){ f->neighs[i].af,
									    f->neighs[i].addr };
	}
	memset(nl->fixed_addr4, 0, sizeof(nl->fixed_addr4));
	memset(nl->fixed_addr6, 0, sizeof(nl->fixed_addr6));
	memset(nl->have_primary4, 0, sizeof(nl->have_primary4));
	memset(nl->have_primary6, 0, sizeof(nl->have_primary6));
	for (unsigned i = 0; i < f->n_ifaces && i < ULVS_MAX_IFACES; i++) {
		nl->fixed_addr4[i] = f->ifaces[i].has_addr4;
		nl->fixed_addr6[i] = f->ifaces[i].has_addr6;
	}
	nl->n_addrs = 0;

	if ((r = nl_dump(nl, RTM_GETLINK, AF_UNSPEC, link_cb)) < 0)
		return r;
	if ((r = nl_dump(nl, RTM_GETADDR, AF_UNSPEC, addr_cb)) < 0)
		return r;
	if ((r = nl_dump(nl, RTM_GETROUTE, AF_INET, route_cb)) < 0)
		return r;
	if ((r = nl_dump(nl, RTM_GETROUTE, AF_INET6, route_cb)) < 0)
		return r;
	r = nl_neigh_refresh(nl, f);
	return r < 0 ? r : 0;
}
