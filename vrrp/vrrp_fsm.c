/* The VRRP state machine (see vrrp_fsm.h): RFC 5798 §6.4 with keepalived's
 * FAULT state, nopreempt and preempt_delay. */
#include "vrrp/vrrp_fsm.h"

#include <string.h>

#define NS_PER_CS 10000000ull

const char *vrrp_state_name(enum vrrp_state_id s)
{
	switch (s) {
	case VRRP_ST_INIT: return "INIT";
	case VRRP_ST_BACKUP: return "BACKUP";
	case VRRP_ST_MASTER: return "MASTER";
	case VRRP_ST_FAULT: return "FAULT";
	}
	return "?";
}

uint64_t vrrp_fsm_skew_ns(const struct vrrp_cfg *c, uint8_t prio, uint16_t adv_cs)
{
	if (c->version == 2)
		return (256u - prio) * 1000000000ull / 256u;      /* RFC 3768 §6.1 */
	return (256u - prio) * (uint64_t)adv_cs * NS_PER_CS / 256u; /* RFC 5798 §6.1 */
}

uint64_t vrrp_fsm_master_down_ns(const struct vrrp_cfg *c, uint8_t prio, uint16_t adv_cs)
{
	return 3ull * adv_cs * NS_PER_CS + vrrp_fsm_skew_ns(c, prio, adv_cs);
}

static uint64_t adv_ns(const struct vrrp_cfg *c)
{
	return (uint64_t)c->adv_int_cs * NS_PER_CS;
}

static void to_master(const struct vrrp_cfg *c, struct vrrp_state *s, struct vrrp_actions *a,
		      uint64_t now)
{
	/* RFC 5798 §6.4.1/§6.4.2: send an advert, broadcast gratuitous ARP,
	 * start the Adver_Timer, go MASTER. */
	s->st = VRRP_ST_MASTER;
	s->timer_at = now + adv_ns(c);
	s->preempt_at = 0;
	s->master = c->self;
	s->master_known = true;
	a->bits |= VRRP_ACT_SEND_ADVERT | VRRP_ACT_BECOME_MASTER;
	a->advert_prio = s->prio;
}

static void to_backup(const struct vrrp_cfg *c, struct vrrp_state *s, struct vrrp_actions *a,
		      uint64_t now)
{
	s->st = VRRP_ST_BACKUP;
	s->timer_at = now + vrrp_fsm_master_down_ns(c, s->prio, s->master_adv_cs);
	a->bits |= VRRP_ACT_BECOME_BACKUP;
}

/* Leaving MASTER for a state that does not want the address any more: tell
 * the backups with priority 0 so one takes over after Skew_Time instead of
 * Master_Down_Interval (RFC 5798 §6.4.3 "Shutdown"). */
static void resign(struct vrrp_state *s, struct vrrp_actions *a)
{
	if (s->st == VRRP_ST_MASTER) {
		a->bits |= VRRP_ACT_SEND_ADVERT;
		a->advert_prio = 0;
	}
}

/* After INIT (startup) or FAULT clears: §6.4.1. */
static void initialize(const struct vrrp_cfg *c, struct vrrp_state *s, struct vrrp_actions *a,
		       uint64_t now)
{
	s->master_adv_cs = c->adv_int_cs;
	s->master_known = false;
	s->preempt_at = 0;
	if (s->prio == 255 || (c->start_master && !c->nopreempt))
		to_master(c, s, a, now);
	else
		to_backup(c, s, a, now);
}

static void advert_backup(const struct vrrp_cfg *c, struct vrrp_state *s,
			  const struct vrrp_event *ev, struct vrrp_actions *a, uint64_t now)
{
	if (ev->prio == 0) {
		/* §6.4.2: master resigned; take over after Skew_Time. */
		s->timer_at = now + vrrp_fsm_skew_ns(c, s->prio, s->master_adv_cs);
		return;
	}
	bool accept = c->nopreempt || ev->prio >= s->prio;
	if (!accept && c->preempt_delay_ms) {
		/* keepalived: a lower-priority master is tolerated for
		 * preempt_delay from the first time we see it. */
		if (!s->preempt_at)
			s->preempt_at = now + (uint64_t)c->preempt_delay_ms * 1000000ull;
		accept = now < s->preempt_at;
	}
	if (!accept)
		return; /* §6.4.2: discard; Master_Down_Timer runs out and we preempt */
	if (c->version == 3)
		s->master_adv_cs = ev->adv_int_cs; /* §6.4.2: learn Master_Adver_Interval */
	s->master = ev->src;
	s->master_known = true;
	s->timer_at = now + vrrp_fsm_master_down_ns(c, s->prio, s->master_adv_cs);
}

static void advert_master(const struct vrrp_cfg *c, struct vrrp_state *s,
			  const struct vrrp_event *ev, struct vrrp_actions *a, uint64_t now)
{
	if (ev->prio == 0) {
		/* §6.4.3: another master stopped; assert ourselves at once. */
		a->bits |= VRRP_ACT_SEND_ADVERT;
		a->advert_prio = s->prio;
		s->timer_at = now + adv_ns(c);
		return;
	}
	/* §6.4.3: greater priority, or equal priority and greater primary
	 * address (compared as unsigned integers in network order). */
	int cmp = memcmp(ev->src.b, c->self.b, c->af == ULVS_AF_INET6 ? 16 : 4);
	if (ev->prio > s->prio || (ev->prio == s->prio && cmp > 0)) {
		if (c->version == 3)
			s->master_adv_cs = ev->adv_int_cs;
		s->master = ev->src;
		s->master_known = true;
		s->preempt_at = 0;
		to_backup(c, s, a, now);
	}
}

struct vrrp_actions vrrp_fsm_step(const struct vrrp_cfg *c, struct vrrp_state *s,
				  const struct vrrp_event *ev, uint64_t now)
{
	struct vrrp_actions a = { .bits = 0, .from = s->st };

	switch (ev->type) {
	case VRRP_EV_STARTUP:
		if (s->st != VRRP_ST_INIT)
			break;
		if (!s->prio)
			s->prio = c->base_prio;
		if (s->fault) {
			s->st = VRRP_ST_FAULT;
			s->timer_at = 0;
			a.bits |= VRRP_ACT_BECOME_FAULT;
		} else {
			initialize(c, s, &a, now);
		}
		break;
	case VRRP_EV_SHUTDOWN:
		if (s->st == VRRP_ST_INIT)
			break;
		resign(s, &a);
		s->st = VRRP_ST_INIT;
		s->timer_at = 0;
		a.bits |= VRRP_ACT_STOPPED;
		break;
	case VRRP_EV_TIMER:
		if (!s->timer_at || now < s->timer_at)
			break;
		if (s->st == VRRP_ST_MASTER) {
			/* §6.4.3: Adver_Timer fired */
			a.bits |= VRRP_ACT_SEND_ADVERT;
			a.advert_prio = s->prio;
			s->timer_at = now + adv_ns(c);
		} else if (s->st == VRRP_ST_BACKUP) {
			/* §6.4.2: Master_Down_Timer fired */
			to_master(c, s, &a, now);
		}
		break;
	case VRRP_EV_ADVERT:
		if (s->st == VRRP_ST_BACKUP)
			advert_backup(c, s, ev, &a, now);
		else if (s->st == VRRP_ST_MASTER)
			advert_master(c, s, ev, &a, now);
		break;
	case VRRP_EV_FAULT:
		s->fault = true;
		if (s->st == VRRP_ST_INIT || s->st == VRRP_ST_FAULT)
			break;
		resign(s, &a);
		s->st = VRRP_ST_FAULT;
		s->timer_at = 0;
		s->master_known = false;
		a.bits |= VRRP_ACT_BECOME_FAULT;
		break;
	case VRRP_EV_FAULT_CLEAR:
		s->fault = false;
		if (s->st == VRRP_ST_FAULT)
			initialize(c, s, &a, now);
		break;
	case VRRP_EV_PRIO_CHANGE:
		if (ev->prio == s->prio || ev->prio == 0)
			break;
		s->prio = ev->prio;
		if (s->st == VRRP_ST_MASTER) {
			/* Tell the backups now rather than at the next
			 * interval, so a higher backup preempts promptly. */
			a.bits |= VRRP_ACT_SEND_ADVERT;
			a.advert_prio = s->prio;
			s->timer_at = now + adv_ns(c);
		}
		/* BACKUP: the new priority takes effect at the next advert and
		 * in the next Master_Down_Interval (its skew). */
		break;
	case VRRP_EV_SYNC_MASTER:
		if (s->st == VRRP_ST_BACKUP)
			to_master(c, s, &a, now);
		break;
	case VRRP_EV_SYNC_BACKUP:
		if (s->st == VRRP_ST_MASTER) {
			s->preempt_at = 0;
			to_backup(c, s, &a, now);
		}
		break;
	}
	a.timer_at = s->timer_at;
	return a;
}

void vrrp_track_file_effect(int64_t value, int32_t weight, bool reverse, bool *fault, int *delta)
{
	*fault = false;
	*delta = 0;
	if (weight == 0) {
		*fault = reverse ? value == 0 : value != 0;
		return;
	}
	/* Saturate: a file may hold any number, the product must not wrap. */
	if (value > 1000000000)
		value = 1000000000;
	else if (value < -1000000000)
		value = -1000000000;
	int64_t d = value * weight;
	if (reverse)
		d = -d;
	if (d < -253) {
		*fault = true;
		return;
	}
	*delta = d > 253 ? 253 : (int)d;
}
