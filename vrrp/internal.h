/* Internals shared by vrrp.c (instances, tracking, scripts) and vrrp_net.c
 * (sockets, interfaces, rtnetlink, gratuitous ARP / NA).  Not for use
 * outside vrrp/. */
#ifndef ULVS_VRRP_INTERNAL_H
#define ULVS_VRRP_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "vrrp/vrrp_pkt.h"
#include "vrrp/vrrp_route.h"

struct mnl_socket;

/* One network interface we send, receive or track on. */
struct vrrp_if {
	char name[IF_NAMESIZE];
	unsigned ifindex;
	struct ulvs_mac mac;
	bool up;                      /* IFF_UP and IFF_RUNNING */
	int fd4, fd6;                 /* raw IPPROTO_VRRP sockets, -1: none */
	int fd4ah;                    /* raw IPPROTO_AH (AH-authenticated v2), -1 */
	bool joined4, joined6, joined4ah;
	union ulvs_addr primary4;     /* first IPv4 address (not a VIP) */
	union ulvs_addr linklocal6;   /* fe80::/10 address */
	bool has_primary4, has_linklocal6;
	uint64_t drops[VRRP_DROP_MAX];
	struct vrrp_if *next;
};

struct vrrp_net {
	FILE *log;
	struct mnl_socket *nl;        /* requests (address add/delete) */
	struct mnl_socket *mon;       /* RTMGRP_LINK notifications */
	uint32_t nl_seq;
	unsigned mon_changed;         /* set by the monitor callback */
	int pkt_fd;                   /* AF_PACKET, for gratuitous ARP */
	int icmp6_fd;                 /* raw ICMPv6, for unsolicited NA */
	struct vrrp_if *ifs;
};

int vnet_open(struct vrrp_net *n, FILE *log);
void vnet_close(struct vrrp_net *n);

/* The interface by name, created and read from the kernel on first use
 * (index, MAC, flags, addresses).  NULL with errno when it does not exist. */
struct vrrp_if *vnet_if_get(struct vrrp_net *n, const char *name);
struct vrrp_if *vnet_if_by_index(struct vrrp_net *n, unsigned ifindex);

/* Opens the interface's raw VRRP socket of family af (idempotent) and
 * joins group (multicast; NULL: unicast only). */
int vnet_if_socket(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af,
		   const union ulvs_addr *group);

/* Opens the interface's raw IPv4 IPPROTO_AH socket (idempotent), which
 * receives AH-authenticated adverts, and joins group (NULL: unicast).
 * They are sent through fd4: with IP_HDRINCL the header names the protocol. */
int vnet_if_socket_ah(struct vrrp_net *n, struct vrrp_if *ifp, const union ulvs_addr *group);

/* Receive one IPv4 datagram from the AH socket.  -EAGAIN when empty. */
int vnet_recv_ah(struct vrrp_if *ifp, void *buf, size_t cap);

/* Send one encoded VRRP message (v6) or IPv4 datagram (v4, header built). */
int vnet_send(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af, const union ulvs_addr *src,
	      const union ulvs_addr *dst, const void *buf, size_t len);

/* Receive one packet: buf gets the IPv4 datagram (v4) or the VRRP message
 * (v6, meta filled from the socket).  Returns length, -EAGAIN when empty. */
int vnet_recv(struct vrrp_if *ifp, uint8_t af, void *buf, size_t cap, struct vrrp_rx_meta *meta);

/* rtnetlink address add (add=true) / delete of a/plen on ifindex, with an
 * optional IPv4 label.  Already there / already gone are success. */
int vnet_addr(struct vrrp_net *n, bool add, unsigned ifindex, uint8_t af,
	      const union ulvs_addr *a, uint8_t plen, const char *label, uint8_t scope);

/* rtnetlink route add / delete of one virtual_routes entry; oif: the
 * `dev` resolved by the caller, 0 for none.  Already there / already gone
 * are success. */
int vnet_route(struct vrrp_net *n, bool add, const struct vrrp_route *rt, unsigned oif);

/* Gratuitous ARP request (IPv4) or unsolicited NA with Override (IPv6)
 * announcing a from ifp. */
int vnet_announce(struct vrrp_net *n, struct vrrp_if *ifp, uint8_t af, const union ulvs_addr *a);

/* Link-state monitor fd; vnet_mon_read() drains it, updating ifp->up, and
 * returns how many tracked interfaces changed. */
int vnet_mon_fd(const struct vrrp_net *n);
int vnet_mon_read(struct vrrp_net *n);

#endif
