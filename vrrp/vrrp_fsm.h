/* The VRRP state machine of one virtual router, as a pure function.
 *
 * vrrp_fsm_step(cfg, state, event, now) -> actions.  No clock, no sockets,
 * no allocation: the runtime (vrrp.c) feeds it events and performs the
 * actions it returns, and the unit tests drive it with virtual time.  The
 * states and transitions are RFC 5798 §6.4 (which RFC 3768 §6.4 matches for
 * v2), plus keepalived's FAULT state, nopreempt and preempt_delay.
 *
 * Timers are absolute deadlines in ns on the caller's monotonic clock; the
 * state holds at most one pending deadline (Adver_Timer in MASTER,
 * Master_Down_Timer in BACKUP, nothing in INIT/FAULT) and the returned
 * actions say when the caller should deliver VRRP_EV_TIMER next.
 */
#ifndef ULVS_VRRP_VRRP_FSM_H
#define ULVS_VRRP_VRRP_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"

enum vrrp_state_id {
	VRRP_ST_INIT = 0,
	VRRP_ST_BACKUP,
	VRRP_ST_MASTER,
	VRRP_ST_FAULT,
};

const char *vrrp_state_name(enum vrrp_state_id s);

/* Configuration the machine needs; built by the runtime from conf_vrrp. */
struct vrrp_cfg {
	uint8_t version;            /* 2 or 3 */
	uint8_t vrid;
	uint8_t base_prio;          /* 1..255; 255: address owner */
	uint16_t adv_int_cs;        /* our Advertisement_Interval, centiseconds */
	bool nopreempt;             /* Preempt_Mode false */
	bool start_master;          /* keepalived `state MASTER`: take over at start */
	uint32_t preempt_delay_ms;
	uint8_t af;
	union ulvs_addr self;       /* our primary address: §6.4.3 tie-break */
};

struct vrrp_state {
	enum vrrp_state_id st;
	uint8_t prio;               /* effective priority (base +/- tracking) */
	uint16_t master_adv_cs;     /* v3: learned from the master (§6.4.2) */
	uint64_t timer_at;          /* 0: none */
	uint64_t preempt_at;        /* preempt_delay: lower-prio master tolerated until */
	union ulvs_addr master;     /* source of the last accepted advert */
	bool master_known;
	bool fault;                 /* FAULT persists until FAULT_CLEAR */
};

enum vrrp_ev_type {
	VRRP_EV_STARTUP = 0,
	VRRP_EV_SHUTDOWN,
	VRRP_EV_TIMER,
	VRRP_EV_ADVERT,
	VRRP_EV_FAULT,
	VRRP_EV_FAULT_CLEAR,
	VRRP_EV_PRIO_CHANGE,
	VRRP_EV_SYNC_MASTER,        /* a sync group member became master */
	VRRP_EV_SYNC_BACKUP,        /* ... left master for backup */
};

struct vrrp_event {
	enum vrrp_ev_type type;
	uint8_t prio;               /* ADVERT: its priority; PRIO_CHANGE: the new one */
	uint16_t adv_int_cs;        /* ADVERT: its interval (v3) */
	union ulvs_addr src;        /* ADVERT: its source */
};

enum vrrp_action_bits {
	VRRP_ACT_SEND_ADVERT = 1u << 0,    /* with priority act.advert_prio */
	VRRP_ACT_BECOME_MASTER = 1u << 1,  /* add VIPs, gratuitous ARP / NA, notify */
	VRRP_ACT_BECOME_BACKUP = 1u << 2,  /* remove VIPs if held, notify */
	VRRP_ACT_BECOME_FAULT = 1u << 3,   /* remove VIPs if held, notify */
	VRRP_ACT_STOPPED = 1u << 4,        /* back in INIT: remove VIPs, notify stop */
};

struct vrrp_actions {
	uint32_t bits;
	uint8_t advert_prio;
	enum vrrp_state_id from;    /* state before the step */
	uint64_t timer_at;          /* deadline to arm (0: none); == state->timer_at */
};

/* Advance s by one event at time now (ns).  Never fails: events that make
 * no sense in a state are ignored (no bits set). */
struct vrrp_actions vrrp_fsm_step(const struct vrrp_cfg *c, struct vrrp_state *s,
				  const struct vrrp_event *ev, uint64_t now);

/* Skew_Time and Master_Down_Interval in ns for priority prio and master
 * interval adv_cs: v2 (RFC 3768 §6.1) skew = (256-prio)/256 s; v3 (RFC 5798
 * §6.1) skew = ((256-prio) * adv)/256 centiseconds; down = 3 * adv + skew. */
uint64_t vrrp_fsm_skew_ns(const struct vrrp_cfg *c, uint8_t prio, uint16_t adv_cs);
uint64_t vrrp_fsm_master_down_ns(const struct vrrp_cfg *c, uint8_t prio, uint16_t adv_cs);

/* keepalived's track_file rule for one tracker of a file holding value:
 * weight 0 means fault while the value is non-zero (zero with reverse);
 * otherwise value * weight (negated by reverse) is added to the priority,
 * and a sum below -253 is a fault.  *delta is 0 when *fault. */
void vrrp_track_file_effect(int64_t value, int32_t weight, bool reverse, bool *fault,
			    int *delta);

#endif
