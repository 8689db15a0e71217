/* Building and querying the virtual service table (see service-t.h).
 * Return convention: 0 / -errno, or a pointer that is NULL when absent.
 * Builders run on the control thread on a table no worker sees yet. */
#ifndef ULVS_CORE_SERVICE_H
#define ULVS_CORE_SERVICE_H

#include "service-t.h"

/* Allocates a table (the only allocation; done off the packet path).
 * Returns NULL on ENOMEM.  svc_table_free() releases it and every
 * scheduler's data. */
struct svc_table *svc_table_new(void);
void svc_table_free(struct svc_table *t);

/* Add a service; *out gets it.  -EEXIST for a duplicate key, -ENOSPC when
 * full, -ENOENT for an unknown scheduler name.  sched_name NULL = "wlc". */
int svc_add(struct svc_table *t, const struct svc *tmpl, const char *sched_name,
	    struct svc **out);
/* svc_add() with the scheduler given by its ops table instead of its name
 * (tests use a fake scheduler; -EINVAL when ops is NULL). */
int svc_add_with_sched(struct svc_table *t, const struct svc *tmpl,
		       const struct sched_ops *ops, struct svc **out);
/* Add a real server to svc (copied from tmpl; id/svc_id/counters are set
 * here).  -EEXIST when (addr, port) is already there. */
int svc_add_dest(struct svc_table *t, struct svc *s, const struct dest *tmpl, struct dest **out);
/* The sorry server: a dest with DEST_F_SORRY, not in the scheduling set. */
int svc_set_sorry(struct svc_table *t, struct svc *s, const struct dest *tmpl);
int svc_add_laddr(struct svc *s, enum ulvs_af af, const union ulvs_addr *a, uint16_t iface);
int svc_add_mark_rule(struct svc_table *t, const struct mark_rule *r);
/* Call after the last add/change to a service: rebuilds its index entry and
 * its scheduler's state (sched->update).  Cost: O(dests) or the scheduler's. */
int svc_commit(struct svc_table *t, struct svc *s);

/* Hot path: find the service of a packet.  proto/af/daddr/dport in network
 * order; mark 0 = unmarked.  fwmark services win over ip:port services as in
 * IPVS.  O(1) expected. */
struct svc *svc_lookup(struct svc_table *t, enum ulvs_af af, uint8_t proto,
		       const union ulvs_addr *daddr, uint16_t dport, uint32_t mark);
/* Run the classification rules; returns the mark or 0.  O(rules). */
uint32_t svc_classify(const struct svc_table *t, enum ulvs_af af, uint8_t proto,
		      const union ulvs_addr *daddr, uint16_t dport);
/* Is addr a VIP or FULLNAT local address of any service? (to decide whether
 * a packet belongs to the engine at all) */
bool svc_owns_addr(const struct svc_table *t, enum ulvs_af af, const union ulvs_addr *addr);

static inline struct dest *svc_dest(struct svc_table *t, const struct svc *s, uint32_t i)
{
	return &t->dests[s->dests[i]];
}

/* Threshold rule of IPVS: overloaded at >= upper, stays so until < lower.
 * Call whenever a dest's connection counts change. */
void dest_update_overload(struct dest *d);

static inline bool dest_usable(const struct dest *d)
{
	return (d->flags & DEST_F_AVAILABLE) && !(d->flags & DEST_F_OVERLOAD) && d->weight > 0;
}

const char *fwd_method_name(enum fwd_method m);

/* ---- Runtime edits (control socket, reload) --------------------------------
 * These edit a live table between engine batches (control thread; the engine
 * runs on the same thread today).  Ids never move: a deleted real server or
 * service keeps its slot, marked *_F_TRASH and unavailable, for as long as a
 * connection or template still counts on it (IPVS's dest trash,
 * ip_vs_trash_get_dest / ip_vs_dest_trash_expire), so the engine's
 * id-based accounting stays right.  A trashed slot whose counts reached zero
 * is free and is reused by the next add.  Call svc_commit() on the service
 * after an edit, as after svc_add_dest(). */

static inline bool svc_live(const struct svc *s)
{
	return !(s->flags & SVC_F_TRASH);
}

/* The live service with key (af, proto, addr, port) or (af, fwmark) of k;
 * NULL when absent.  O(1) expected. */
struct svc *svc_find(struct svc_table *t, const struct svc *k);
/* The real server (af, addr, port) of s's scheduling set, or NULL. O(dests). */
struct dest *svc_find_dest(struct svc_table *t, const struct svc *s, uint8_t af,
			   const union ulvs_addr *addr, uint16_t port);
/* Delete a service: out of the index and the owned-address set, its real
 * servers (and sorry server) trashed, its scheduler state freed.  -ENOENT
 * when s is not a live service of t.  O(services + dests). */
int svc_del(struct svc_table *t, struct svc *s);
/* Take d out of s's scheduling set into the trash.  -ENOENT when d is not in
 * s's set.  O(dests). */
int svc_del_dest(struct svc_table *t, struct svc *s, struct dest *d);
/* ipvsadm -E: replace the non-key settings of s (flags in SVC_F_USER_MASK,
 * timeout, netmask, sched_param) from tmpl and, when sched_name is not NULL
 * and names another scheduler, switch scheduler (the new one's init runs
 * first; on its failure nothing changes).  -ENOENT unknown scheduler,
 * -ENOMEM. */
int svc_edit(struct svc_table *t, struct svc *s, const struct svc *tmpl, const char *sched_name);
/* ipvsadm -e: weight, thresholds and forwarding method of d from tmpl
 * (existing connections keep the method they started with).  -EINVAL for a
 * bad method, -ERANGE for a negative weight or l_threshold > u_threshold
 * (ip_vs_add_dest's checks). */
int dest_edit(struct svc_table *t, struct dest *d, const struct dest *tmpl);
/* Delete a FULLNAT local address of s; -ENOENT when absent.  Connections
 * through it keep their port until they end. */
int svc_del_laddr(struct svc_table *t, struct svc *s, enum ulvs_af af, const union ulvs_addr *a);
/* ipvsadm -Z: zero the counters of s and its real servers; s NULL: all. */
void svc_zero_stats(struct svc_table *t, struct svc *s);
/* Connections and templates still counting on d. */
static inline uint64_t dest_refs(const struct dest *d)
{
	return (uint64_t)d->activeconns + d->inactconns + d->persistconns;
}
/* Live services, and real servers in the trash (for listings and tests). */
uint32_t svc_count_live(const struct svc_table *t);
uint32_t svc_count_trash_dests(const struct svc_table *t);

#endif
