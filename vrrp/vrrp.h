/* VRRP on the daemon's event loop: every vrrp_instance of the config.
 *
 * For each instance: a raw IPPROTO_VRRP socket per (interface, family)
 * shared by the instances on it, multicast (224.0.0.18 / ff02::12 or the
 * configured vrrp_mcast_group4/6) or unicast (unicast_src_ip, unicast_peer);
 * the state machine of vrrp_fsm.h; VIPs added and removed over rtnetlink
 * with their `dev` and `label`, and virtual_routes with them; gratuitous
 * ARP / unsolicited NA on becoming master (garp_master_delay,
 * garp_master_repeat, garp_master_refresh); vrrp_script trackers run with
 * ev_spawn, track_script / track_interface weights and faults, track_file
 * values polled every second; notify scripts with keepalived's arguments; sync
 * groups whose members move together.  Nothing here blocks the loop except
 * rtnetlink address requests, which the kernel answers at once.
 *
 * Control thread only.  Return convention: 0 / -errno.
 */
#ifndef ULVS_VRRP_VRRP_H
#define ULVS_VRRP_VRRP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "daemon/evloop.h"
#include "vrrp/vrrp_fsm.h"
#include "vrrp/vrrp_pkt.h"

struct vrrp;

/* What the director hears about.  Every member may be NULL. */
struct vrrp_hooks {
	void *arg;
	/* One VIP (virtual_ipaddress or _excluded) became ours (up: after it
	 * was added to the interface) or stopped being ours (before removal):
	 * enable / disable the data plane for it. */
	void (*vip_cb)(void *arg, const struct conf_vrrp *inst, const struct conf_ipaddr *vip,
		       bool up);
	/* An instance changed state (after its VIPs were handled). */
	void (*state_cb)(void *arg, const struct conf_vrrp *inst, enum vrrp_state_id from,
			 enum vrrp_state_id to);
};

/* Start every vrrp_instance of c on loop l.  c must outlive the returned
 * object (it keeps pointers into the model).  log: NULL for stderr.
 * Configuration problems the parser cannot see (unknown interface, no
 * address to send from) are reported to log and fail the start; nothing is
 * left running then.  *out is NULL when c has no vrrp_instance. */
int vrrp_start(struct evloop *l, const struct conf *c, FILE *log, const struct vrrp_hooks *h,
	       struct vrrp **out);

/* Leave: a master sends priority 0 (RFC 5798 §6.4.3) so a backup takes
 * over after Skew_Time, VIPs are removed, notify_stop runs, sockets close.
 * Frees v.  NULL is fine. */
void vrrp_stop(struct vrrp *v);

struct vrrp_status {
	const char *name;
	const char *interface;
	uint8_t vrid, version, af;
	uint8_t base_prio, prio;
	enum vrrp_state_id state;
	bool master_known;
	union ulvs_addr master;       /* current master (ourselves when MASTER) */
	uint16_t adv_int_cs, master_adv_cs;
	uint64_t adverts_rx, adverts_tx, transitions, became_master;
	uint64_t drops[VRRP_DROP_MAX];
};

/* Fill up to max entries (one per instance, config order); returns how
 * many instances there are.  Pointers stay valid until vrrp_stop(). */
unsigned vrrp_status(const struct vrrp *v, struct vrrp_status *out, unsigned max);
/* Drops seen before a packet could be matched to an instance (short,
 * bad checksum, unknown VRID...), summed over interfaces. */
void vrrp_status_drops(const struct vrrp *v, uint64_t drops[VRRP_DROP_MAX]);
/* Human-readable status, one block per instance (ulvsadm, logs). */
void vrrp_status_print(const struct vrrp *v, FILE *out);

#endif
