/* The kernel side of VRRP: raw IPPROTO_VRRP sockets, interface facts,
 * VIP add/delete over rtnetlink (libmnl), link-state notifications, and
 * gratuitous ARP / unsolicited neighbour advertisements.
 *
 * IPv4 adverts are sent with IP_HDRINCL so that the source address - which
 * the v3 checksum's pseudo-header covers - is exactly the one we summed,
 * whatever address the kernel would have picked once VIPs sit on the same
 * interface.  IPv6 adverts name their source per packet with IPV6_PKTINFO
 * for the same reason.  AH-authenticated v2 adverts arrive as IP protocol
 * 51, on a second raw socket per interface; they leave through the VRRP one
 * (with IP_HDRINCL the header we write names the protocol).  No xfrm state
 * is involved: raw sockets see the datagram before the kernel's AH handler,
 * which has no SA for it.  All sockets are close-on-exec: scripts are
 * forked from this process.
 */
#include "vrrp/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int vnet_open(struct vrrp_net *n, FILE *log)
{
	memset(n, 0, sizeof(*n));
	n->log = log;
	n->pkt_fd = n->icmp6_fd = -1;
	n->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	n->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!n->mon || mnl_socket_bind(n->mon, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	n->nl_seq = (uint32_t)time(NULL);
	return 0;
fail:;
	int e = errno ? errno : EIO;
	vnet_close(n);
	return -e;
}

void vnet_close(struct vrrp_net *n)
{
	struct vrrp_if *ifp, *nx;

	for (ifp = n->ifs; ifp; ifp = nx) {
		nx = ifp->next;
		if (ifp->fd4 >= 0)
			close(ifp->fd4);
		if (ifp->fd6 >= 0)
			close(ifp->fd6);
		if (ifp->fd4ah >= 0)
			close(ifp->fd4ah);
		free(ifp);
	}
	n->ifs = NULL;
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->mon)
		mnl_socket_close(n->mon);
	n->nl = n->mon = NULL;
	if (n->pkt_fd >= 0)
		close(n->pkt_fd);
	if (n->icmp6_fd >= 0)
		close(n->icmp6_fd);
	n->pkt_fd = n->icmp6_fd = -1;
}

static bool flags_up(unsigned flags)
{
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

/* Index, MAC, flags and the addresses we may send from, read once: the
 * primary IPv4 address is taken before any VIP is added. */
static int if_read(struct vrrp_if *ifp)
{
	struct ifreq ifr;
	struct ifaddrs *ifa, *i;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifp->name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	ifp->ifindex = (unsigned)ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(ifp->mac.b, ifr.ifr_hwaddr.sa_data, ULVS_MAC_LEN);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		ifp->up = flags_up((unsigned)ifr.ifr_flags);
	close(fd);
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifp->name))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !ifp->has_primary4) {
			ifp->primary4 = addr_v4(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
			ifp->has_primary4 = true;
		} else if (i->ifa_addr->sa_family == AF_INET6 && !ifp->has_linklocal6) {
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a6)) {
				memcpy(ifp->linklocal6.b, a6, 16);
				ifp->has_linklocal6 = true;
			}
		}
	}
	freeifaddrs(ifa);
	return 0;
}

struct vrrp_if *vnet_if_get(struct vrrp_net *n, const char *name)
{
	struct vrrp_if *ifp;
	int r;

	for (ifp = n->ifs; ifp; ifp = ifp->next)
		if (!strcmp(ifp->name, name))
			return ifp;
	if (strlen(name) >= IF_NAMESIZE) {
		errno = EINVAL;
		return NULL;
	}
	ifp = calloc(1, sizeof(*ifp));
	if (!ifp)
		return NULL;
	snprintf(ifp->name, sizeof(ifp->name), "%s", name);
	ifp->fd4 = ifp->fd6 = ifp->fd4ah = -1;
	r = if_read(ifp);
	if (r < 0) {
		free(ifp);
		errno = -r;
		return NULL;
	}
	ifp->next = n->ifs;
	n->ifs = ifp;
	return ifp;
}

struct vrrp_if *vnet_if_by_index(struct vrrp_net *n, unsigned ifindex)
{
	for (struct vrrp_if *ifp = n->ifs; ifp; ifp = ifp->next)
		if (ifp->ifindex == ifindex)
			return ifp;
	return NULL;
}

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int open4(struct vrrp_if *ifp, int proto, int *out)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	int r;

	if (fd < 0)
		return -errno;
	/* Only this interface's adverts; sends leave by it whatever the route. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifp->name, (socklen_t)strlen(ifp->name)) < 0 ||
	    (r = set_int(fd, IPPROTO_IP, IP_HDRINCL, 1)) < 0 ||
	    (r = set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	struct ip_mreqn m = { .imr_ifindex = (int)ifp->ifindex };
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
	*out = fd;
	return 0;
}

static int join4(int fd, struct vrrp_if *ifp, const union ulvs_addr *group)
{
	struct ip_mreqn m = { .imr_ifindex = (int)ifp->ifindex };
	m.imr_multiaddr.s_addr = group->ip;
	return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) < 0 ? -errno : 0;
}

int vnet_if_socket_ah(struct vrrp_net *n, struct vrrp_if *ifp, const union ulvs_addr *group)
{
	int r;

	if (ifp->fd4ah < 0 && (r = open4(ifp, VRRP_AH_PROTO, &ifp->fd4ah)) < 0)
		return r;
	if (group && !ifp->joined4ah) {
		if ((r = join4(ifp->fd4ah, ifp, group)) < 0)
			return r;
		ifp->joined4ah = true;
	}
	return 0;
}

int vnet_recv_ah(struct vrrp_if *ifp, void *buf, size_t cap)
{
	ssize_t r = recv(ifp->fd4ah, buf, cap, 0);
	return r < 0 ? -errno : (int)r;
}

static int open6(struct vrrp_if *ifp)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, VRRP_PROTO);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifp->name, (socklen_t)strlen(ifp->name)) < 0)
		r = -errno;
	/* RFC 5798 §5.1.2.3: hop limit 255, checked by the receiver. */
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL);
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifp->ifindex);
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
	if (!r)
		r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	if (r) {
		close(fd);
		return r;
	}
	ifp->fd6 = fd;
	return 0;
}

int vnet_if_socket(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af,
		   const union ulvs_addr *group)
{
	int r;

	if (af == ULVS_AF_INET) {
		if (ifp->fd4 < 0 && (r = open4(ifp, VRRP_PROTO, &ifp->fd4)) < 0)
			return r;
		if (group && !ifp->joined4) {
			if ((r = join4(ifp->fd4, ifp, group)) < 0)
				return r;
			ifp->joined4 = true;
		}
	} else {
		if (ifp->fd6 < 0 && (r = open6(ifp)) < 0)
			return r;
		if (group && !ifp->joined6) {
			struct ipv6_mreq m = { .ipv6mr_interface = ifp->ifindex };
			memcpy(&m.ipv6mr_multiaddr, group->b, 16);
			if (setsockopt(ifp->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)) < 0)
				return -errno;
			ifp->joined6 = true;
		}
	}
	return 0;
}

int vnet_send(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af, const union ulvs_addr *src,
	      const union ulvs_addr *dst, const void *buf, size_t len)
{
	ssize_t w;

	if (af == ULVS_AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = dst->ip };
		w = sendto(ifp->fd4, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_scope_id = ifp->ifindex };
		memcpy(&sin6.sin6_addr, dst->b, 16);
		union {
			char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} cb;
		memset(&cb, 0, sizeof(cb));
		struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr mh = { .msg_name = &sin6, .msg_namelen = sizeof(sin6), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cb.b,
				     .msg_controllen = sizeof(cb.b) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		struct in6_pktinfo pi = { .ipi6_ifindex = ifp->ifindex };
		memcpy(&pi.ipi6_addr, src->b, 16);
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		w = sendmsg(ifp->fd6, &mh, 0);
	}
	if (w < 0)
		return -errno;
	return 0;
}

int vnet_recv(struct vrrp_if *ifp, uint8_t af, void *buf, size_t cap, struct vrrp_rx_meta *meta)
{
	ssize_t r;

	if (af == ULVS_AF_INET) {
		r = recv(ifp->fd4, buf, cap, 0);
		return r < 0 ? -errno : (int)r;
	}
	struct sockaddr_in6 from;
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	r = recvmsg(ifp->fd6, &mh, 0);
	if (r < 0)
		return -errno;
	memset(meta, 0, sizeof(*meta));
	meta->af = ULVS_AF_INET6;
	memcpy(meta->src.b, &from.sin6_addr, 16);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_HOPLIMIT) {
			int hl;
			memcpy(&hl, CMSG_DATA(cm), sizeof(hl));
			meta->ttl = (uint8_t)hl;
		} else if (cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			memcpy(meta->dst.b, &pi.ipi6_addr, 16);
		}
	}
	return (int)r;
}

int vnet_addr(struct vrrp_net *n, bool add, unsigned ifindex, uint8_t af,
	      const union ulvs_addr *a, uint8_t plen, const char *label, uint8_t scope)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint32_t seq = ++n->nl_seq;
	int alen = af == ULVS_AF_INET6 ? 16 : 4;

	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = af == ULVS_AF_INET6 ? AF_INET6 : AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = scope;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, (size_t)alen, a->b);
	mnl_attr_put(nlh, IFA_ADDRESS, (size_t)alen, a->b);
	if (af == ULVS_AF_INET && label && *label)
		mnl_attr_put_strz(nlh, IFA_LABEL, label);
	if (af == ULVS_AF_INET6 && add) {
		/* Duplicate address detection would hold the VIP "tentative"
		 * for a second; VRRP itself arbitrates ownership (keepalived
		 * adds VIPs with nodad too). */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		if (r < 0)
			return -errno;
		int cr = mnl_cb_run(buf, (size_t)r, seq, mnl_socket_get_portid(n->nl), NULL, NULL);
		if (cr >= 0)
			return 0; /* the ACK (an error message with error 0) */
		{
			int e = errno;
			if (e == ESRCH)  /* stale reply of an earlier request */
				continue;
			if (add && e == EEXIST)
				return 0;
			if (!add && (e == EADDRNOTAVAIL || e == ENOENT || e == ENODEV))
				return 0;
			return -e;
		}
	}
}

/* Send one request and wait for its ACK, matching the reply by sequence
 * number itself: route deletion reports a missing route as ESRCH, which
 * mnl_cb_run() also uses for "not my sequence number". */
static int nl_request(struct vrrp_net *n, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nlh->nlmsg_seq;

	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		if (r < 0)
			return -errno;
		size_t len = (size_t)r;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, (int)len);
		     m = mnl_nlmsg_next(m, (int *)&len)) {
			if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
			return e->error;
		}
	}
}

int vnet_route(struct vrrp_net *n, bool add, const struct vrrp_route *rt, unsigned oif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen = rt->af == ULVS_AF_INET6 ? 16 : 4;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* REPLACE: a route left by a crashed run, or a keepalived one, is
	 * taken over rather than failing the transition. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	nlh->nlmsg_seq = ++n->nl_seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = rt->af == ULVS_AF_INET6 ? AF_INET6 : AF_INET;
	rtm->rtm_dst_len = rt->plen;
	rtm->rtm_type = rt->type;
	rtm->rtm_protocol = rt->proto;
	rtm->rtm_scope = (uint8_t)rt->scope;
	rtm->rtm_table = rt->table < 256 ? (uint8_t)rt->table : RT_TABLE_UNSPEC;
	if (rt->table >= 256)
		mnl_attr_put_u32(nlh, RTA_TABLE, rt->table);
	if (rt->onlink)
		rtm->rtm_flags |= RTNH_F_ONLINK;
	if (rt->plen)
		mnl_attr_put(nlh, RTA_DST, alen, rt->dst.b);
	if (rt->has_src)
		mnl_attr_put(nlh, RTA_PREFSRC, alen, rt->src.b);
	if (rt->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, rt->gw.b);
	if (oif)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	if (rt->has_metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
	int e = nl_request(n, nlh);
	if (add && e == -EEXIST)
		return 0;
	if (!add && (e == -ESRCH || e == -ENOENT || e == -ENODEV))
		return 0;             /* already gone, or its device went */
	return e;
}

static int mon_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vrrp_net *n = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct vrrp_if *ifp = vnet_if_by_index(n, (unsigned)ifi->ifi_index);

	if (!ifp || (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK))
		return MNL_CB_OK;
	bool up = nlh->nlmsg_type == RTM_NEWLINK && flags_up(ifi->ifi_flags);
	if (up != ifp->up) {
		ifp->up = up;
		n->mon_changed++;
	}
	return MNL_CB_OK;
}

int vnet_mon_fd(const struct vrrp_net *n)
{
	return mnl_socket_get_fd(n->mon);
}

int vnet_mon_read(struct vrrp_net *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int changed = 0;

	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->mon, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS)
				continue; /* overrun: later notifications still tell us */
			return -errno;
		}
		mnl_cb_run(buf, (size_t)r, 0, 0, mon_link_cb, n);
	}
	changed = (int)n->mon_changed;
	n->mon_changed = 0;
	return changed;
}

/* RFC 5227 §3 / RFC 5944 §4.6: an ARP request whose sender and target
 * protocol addresses are both the announced address, broadcast. */
static int send_garp(struct vrrp_net *n, struct vrrp_if *ifp, const union ulvs_addr *a)
{
	uint8_t f[42];

	if (n->pkt_fd < 0) {
		n->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (n->pkt_fd < 0)
			return -errno;
	}
	memset(f, 0xff, 6);
	memcpy(f + 6, ifp->mac.b, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	uint8_t *arp = f + 14;
	arp[0] = 0; arp[1] = 1;           /* Ethernet */
	arp[2] = 0x08; arp[3] = 0x00;     /* IPv4 */
	arp[4] = 6; arp[5] = 4;
	arp[6] = 0; arp[7] = 1;           /* request */
	memcpy(arp + 8, ifp->mac.b, 6);
	memcpy(arp + 14, &a->ip, 4);
	memset(arp + 18, 0, 6);
	memcpy(arp + 24, &a->ip, 4);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				   .sll_ifindex = (int)ifp->ifindex, .sll_halen = 6 };
	memset(sll.sll_addr, 0xff, 6);
	if (sendto(n->pkt_fd, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

/* RFC 4861 §7.2.6: unsolicited NA to all-nodes, Override set, with our
 * link-layer address; the kernel fills the ICMPv6 checksum. */
static int send_na(struct vrrp_net *n, struct vrrp_if *ifp, const union ulvs_addr *a)
{
	uint8_t m[32];

	if (n->icmp6_fd < 0) {
		n->icmp6_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
		if (n->icmp6_fd < 0)
			return -errno;
		/* RFC 4861 §7.1.2: receivers drop NAs with hop limit != 255. */
		set_int(n->icmp6_fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
		set_int(n->icmp6_fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
	}
	memset(m, 0, sizeof(m));
	m[0] = ND_NEIGHBOR_ADVERT;
	m[4] = 0x20;                      /* Override */
	memcpy(m + 8, a->b, 16);
	m[24] = ND_OPT_TARGET_LINKADDR;
	m[25] = 1;
	memcpy(m + 26, ifp->mac.b, 6);
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_scope_id = ifp->ifindex };
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cb;
	memset(&cb, 0, sizeof(cb));
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
	struct in6_pktinfo pi = { .ipi6_ifindex = ifp->ifindex };
	if (ifp->has_linklocal6)
		memcpy(&pi.ipi6_addr, ifp->linklocal6.b, 16);
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	if (sendmsg(n->icmp6_fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

int vnet_announce(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af, const union ulvs_addr *a)
{
	return af == ULVS_AF_INET6 ? send_na(n, ifp, a) : send_garp(n, ifp, a);
}
