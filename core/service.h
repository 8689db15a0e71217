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

#endif
