/* The virtual service table: building it (control thread) and looking a
 * packet's service up in it (packet path).
 *
 * Services live in a fixed array and are found through one open-addressed
 * index (linear probing, 2x the service capacity so the load stays <= 1/2)
 * holding service id + 1, 0 meaning empty.  Both kinds of key share it:
 * (af, proto, VIP, port) and (af, fwmark); a slot's owner is compared field by
 * field, so the two kinds can never be confused.  Tables are built once and
 * replaced whole, never edited under readers, so the index needs no deletion.
 *
 * Real servers of all services sit in one dests array; each service sees its
 * own as a contiguous slice of dest_ids, kept contiguous however the builder
 * interleaves svc_add_dest() calls (later slices shift up by one).  Sorry
 * servers are in dests but in no slice, so no scheduler can pick one.
 *
 * Runtime edits (svc_del & co.) keep every id in place: connections name
 * their service and real server by id, so a deleted one stays in its slot,
 * trashed, until nothing counts on it (IPVS's dest trash).  Deleting from
 * the index and the owned set rebuilds both whole: an edit is rare and
 * O(services), and rebuilding keeps the probe sequences free of tombstones.
 */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched.h"

#define SVC_INDEX_SIZE (2 * ULVS_MAX_SERVICES)

static bool af_valid(unsigned af)
{
	return af == ULVS_AF_INET || af == ULVS_AF_INET6;
}

/* An IPv4 address must leave the other 12 bytes zero (addr.h), or hashing
 * and comparing would see two different addresses. */
static bool addr_valid(unsigned af, const union ulvs_addr *a)
{
	return af == ULVS_AF_INET6 || (a->ip6[1] | a->ip6[2] | a->ip6[3]) == 0;
}

static inline uint16_t be16_host(uint16_t be)
{
	const uint8_t *b = (const uint8_t *)&be;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static unsigned key_slot(uint8_t af, uint8_t proto, const union ulvs_addr *a, uint16_t port,
			 uint32_t mark)
{
	uint64_t h;

	if (mark)
		h = mix64(((uint64_t)mark << 8 | af) ^ 0x5bd1e9955bd1e995ull);
	else
		h = mix64(a->q[0] ^ mix64(a->q[1] ^ ((uint64_t)port << 16 | (uint64_t)proto << 8 | af)));
	return (unsigned)(h % SVC_INDEX_SIZE);
}

static unsigned svc_slot(const struct svc *s)
{
	return key_slot(s->af, s->proto, &s->addr, s->port, s->fwmark);
}

static struct svc *index_find_ipport(const struct svc_table *t, uint8_t af, uint8_t proto,
				     const union ulvs_addr *a, uint16_t port)
{
	unsigned i = key_slot(af, proto, a, port, 0);

	for (unsigned n = 0; n < SVC_INDEX_SIZE; n++) {
		uint32_t v = t->index[i];
		const struct svc *s;

		if (!v)
			return NULL;
		s = &t->svcs[v - 1];
		if (!s->fwmark && s->af == af && s->proto == proto && s->port == port &&
		    addr_eq(&s->addr, a))
			return (struct svc *)s;
		if (++i == SVC_INDEX_SIZE)
			i = 0;
	}
	return NULL;
}

static struct svc *index_find_fwm(const struct svc_table *t, uint8_t af, uint32_t mark)
{
	unsigned i = key_slot(af, 0, NULL, 0, mark);

	for (unsigned n = 0; n < SVC_INDEX_SIZE; n++) {
		uint32_t v = t->index[i];
		const struct svc *s;

		if (!v)
			return NULL;
		s = &t->svcs[v - 1];
		if (s->fwmark == mark && s->af == af)
			return (struct svc *)s;
		if (++i == SVC_INDEX_SIZE)
			i = 0;
	}
	return NULL;
}

static struct svc *index_find_svc_key(const struct svc_table *t, const struct svc *k)
{
	if (k->fwmark)
		return index_find_fwm(t, k->af, k->fwmark);
	return index_find_ipport(t, k->af, k->proto, &k->addr, k->port);
}

/* The caller has checked the key is absent; the index has twice the slots of
 * the service array, so a free slot always exists. */
static void index_insert(struct svc_table *t, const struct svc *s)
{
	unsigned i = svc_slot(s);

	while (t->index[i])
		if (++i == SVC_INDEX_SIZE)
			i = 0;
	t->index[i] = s->id + 1;
}

static bool svc_in_table(const struct svc_table *t, const struct svc *s)
{
	return s >= t->svcs && s < t->svcs + t->n_svcs && svc_live(s);
}

/* A trashed service slot is free once no real server of it is counted on. */
static bool svc_slot_free(const struct svc_table *t, const struct svc *s)
{
	if (svc_live(s))
		return false;
	for (uint32_t i = 0; i < t->n_dests; i++) {
		const struct dest *d = &t->dests[i];

		if (d->svc_id == s->id && dest_refs(d))
			return false;
	}
	return true;
}

static bool dest_slot_free(const struct dest *d)
{
	return (d->flags & DEST_F_TRASH) && !dest_refs(d);
}

/* A free dest slot to reuse, else a new one; -1 when the array is full. */
static int64_t dest_slot_get(struct svc_table *t)
{
	for (uint32_t i = 0; i < t->n_dests; i++)
		if (dest_slot_free(&t->dests[i]))
			return i;
	if (t->n_dests >= ULVS_MAX_DESTS)
		return -1;
	return t->n_dests++;
}

struct svc_table *svc_table_new(void)
{
	struct svc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->dests = calloc(ULVS_MAX_DESTS, sizeof(*t->dests));
	if (!t->dests) {
		free(t);
		return NULL;
	}
	return t;
}

void svc_table_free(struct svc_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		struct svc *s = &t->svcs[i];

		if (s->sched && s->sched->done)
			s->sched->done(t, s);
	}
	free(t->dests);
	free(t);
}

static uint32_t dest_ids_used(const struct svc_table *t)
{
	uint32_t used = 0;

	for (uint32_t i = 0; i < t->n_svcs; i++)
		used += t->svcs[i].n_dests;
	return used;
}

/* An empty trashed slot (what a reused slot returns to on failure). */
static void svc_mark_trash(struct svc *s, uint32_t id)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->flags = SVC_F_TRASH;
	s->sorry_dest = -1;
}

int svc_add_with_sched(struct svc_table *t, const struct svc *tmpl, const struct sched_ops *ops,
		       struct svc **out)
{
	struct svc *s;
	uint32_t id;
	int err;

	if (!ops || !af_valid(tmpl->af) || tmpl->n_laddrs > ULVS_MAX_LADDRS)
		return -EINVAL;
	if (!tmpl->fwmark && (tmpl->proto == 0 || !addr_valid(tmpl->af, &tmpl->addr)))
		return -EINVAL;
	if (svc_find(t, tmpl))
		return -EEXIST;
	s = NULL;
	for (uint32_t i = 0; i < t->n_svcs && !s; i++)
		if (svc_slot_free(t, &t->svcs[i]))
			s = &t->svcs[i];
	if (!s) {
		if (t->n_svcs >= ULVS_MAX_SERVICES)
			return -ENOSPC;
		s = &t->svcs[t->n_svcs];
	}
	id = (uint32_t)(s - t->svcs);
	*s = *tmpl;
	s->flags &= ~(uint32_t)SVC_F_TRASH;
	if (s->fwmark) {
		/* IPVS matches a fwmark service on (af, mark) alone. */
		s->proto = 0;
		s->port = 0;
		memset(&s->addr, 0, sizeof(s->addr));
	}
	s->id = id;
	s->sched = ops;
	s->sched_data = NULL;
	s->n_dests = 0;
	s->dests = t->dest_ids + dest_ids_used(t);
	s->sorry_dest = -1;
	memset(&s->stats, 0, sizeof(s->stats));
	s->sched_cursor = 0;
	if (ops->init) {
		err = ops->init(t, s);
		if (err) {
			if (id == t->n_svcs)
				memset(s, 0, sizeof(*s));
			else
				svc_mark_trash(s, id);
			return err;
		}
	}
	if (id == t->n_svcs)
		t->n_svcs++;
	index_insert(t, s);
	if (out)
		*out = s;
	return 0;
}

int svc_add(struct svc_table *t, const struct svc *tmpl, const char *sched_name,
	    struct svc **out)
{
	const struct sched_ops *ops = sched_find(sched_name ? sched_name : "wlc");

	if (!ops)
		return -ENOENT;
	return svc_add_with_sched(t, tmpl, ops, out);
}

static void dest_init(struct dest *d, const struct dest *tmpl, uint32_t id, uint32_t svc_id)
{
	*d = *tmpl;
	d->id = id;
	d->svc_id = svc_id;
	/* Availability comes from the caller (health checks); overload is ours
	 * to compute from live counts, which start at zero. */
	d->flags &= ~(uint32_t)(DEST_F_OVERLOAD | DEST_F_SORRY | DEST_F_TRASH);
	d->activeconns = d->inactconns = d->persistconns = 0;
	memset(&d->stats, 0, sizeof(d->stats));
	d->sched_aux = 0;
}

int svc_add_dest(struct svc_table *t, struct svc *s, const struct dest *tmpl, struct dest **out)
{
	uint32_t pos, used, id;

	if (!svc_in_table(t, s) || !af_valid(tmpl->af) || !addr_valid(tmpl->af, &tmpl->addr) ||
	    tmpl->fwd >= FWD_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = svc_dest(t, s, i);

		if (d->af == tmpl->af && d->port == tmpl->port && addr_eq(&d->addr, &tmpl->addr))
			return -EEXIST;
	}
	used = dest_ids_used(t);
	if (used >= ULVS_MAX_DESTS)
		return -ENOSPC;

	/* ip_vs_trash_get_dest: the same server added back while its old
	 * connections live gets its old slot, counters and all, so those
	 * connections are its own again. */
	id = UINT32_MAX;
	for (uint32_t i = 0; i < t->n_dests; i++) {
		struct dest *o = &t->dests[i];

		if ((o->flags & DEST_F_TRASH) && !(o->flags & DEST_F_SORRY) && o->svc_id == s->id &&
		    dest_refs(o) && o->af == tmpl->af && o->port == tmpl->port &&
		    addr_eq(&o->addr, &tmpl->addr)) {
			id = i;
			break;
		}
	}
	if (id != UINT32_MAX) {
		struct dest *o = &t->dests[id];
		uint32_t overload = o->flags & DEST_F_OVERLOAD;

		o->fwd = tmpl->fwd;
		o->weight = tmpl->weight;
		o->u_threshold = tmpl->u_threshold;
		o->l_threshold = tmpl->l_threshold;
		o->flags = (tmpl->flags & ~(uint32_t)(DEST_F_OVERLOAD | DEST_F_SORRY | DEST_F_TRASH)) |
			   overload;
		dest_update_overload(o);
	} else {
		int64_t slot = dest_slot_get(t);

		if (slot < 0)
			return -ENOSPC;
		id = (uint32_t)slot;
		dest_init(&t->dests[id], tmpl, id, s->id);
	}

	/* Open a hole at the end of s's slice; every slice starting at or after
	 * it moves up one (empty slices there too, they are harmless to move). */
	pos = (uint32_t)(s->dests - t->dest_ids) + s->n_dests;
	memmove(&t->dest_ids[pos + 1], &t->dest_ids[pos], (used - pos) * sizeof(uint32_t));
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		struct svc *o = &t->svcs[i];

		if (o != s && (uint32_t)(o->dests - t->dest_ids) >= pos)
			o->dests++;
	}
	t->dest_ids[pos] = id;
	s->n_dests++;
	if (out)
		*out = &t->dests[id];
	return 0;
}

/* keepalived has one sorry_server per virtual server: a second call
 * replaces the first in place (same id). */
int svc_set_sorry(struct svc_table *t, struct svc *s, const struct dest *tmpl)
{
	uint32_t id;

	if (!svc_in_table(t, s) || !af_valid(tmpl->af) || !addr_valid(tmpl->af, &tmpl->addr) ||
	    tmpl->fwd >= FWD_MAX)
		return -EINVAL;
	if (s->sorry_dest >= 0) {
		id = (uint32_t)s->sorry_dest;
	} else {
		int64_t slot = dest_slot_get(t);

		if (slot < 0)
			return -ENOSPC;
		id = (uint32_t)slot;
	}
	dest_init(&t->dests[id], tmpl, id, s->id);
	t->dests[id].flags |= DEST_F_SORRY;
	s->sorry_dest = (int32_t)id;
	return 0;
}

int svc_add_laddr(struct svc *s, enum ulvs_af af, const union ulvs_addr *a, uint16_t iface)
{
	if (!af_valid(af) || !addr_valid(af, a))
		return -EINVAL;
	for (uint32_t i = 0; i < s->n_laddrs; i++)
		if (s->laddrs[i].af == af && addr_eq(&s->laddrs[i].addr, a))
			return -EEXIST;
	if (s->n_laddrs >= ULVS_MAX_LADDRS)
		return -ENOSPC;
	s->laddrs[s->n_laddrs].addr = *a;
	s->laddrs[s->n_laddrs].af = (uint8_t)af;
	s->laddrs[s->n_laddrs].iface = iface;
	s->n_laddrs++;
	return 0;
}

int svc_add_mark_rule(struct svc_table *t, const struct mark_rule *r)
{
	struct mark_rule *m;

	if (!af_valid(r->af) || r->mark == 0 || r->n_ports > 8 ||
	    r->plen > (r->af == ULVS_AF_INET6 ? 128 : 32))
		return -EINVAL;
	for (unsigned i = 0; i < r->n_ports; i++)
		if (r->port_lo[i] > r->port_hi[i])
			return -EINVAL;
	if (t->n_marks >= ULVS_MAX_MARK_RULES)
		return -ENOSPC;
	m = &t->marks[t->n_marks++];
	*m = *r;
	m->prefix = addr_mask(r->af, &r->prefix, r->plen);
	return 0;
}

static unsigned owned_slot(uint8_t af, const union ulvs_addr *a)
{
	return (unsigned)(mix64(a->q[0] ^ mix64(a->q[1] ^ af)) % ULVS_MAX_OWNED_ADDRS);
}

static void owned_add(struct svc_table *t, uint8_t af, const union ulvs_addr *a)
{
	unsigned i = owned_slot(af, a);

	if (t->owned_overflow)
		return;
	for (;;) {
		struct svc_owned_addr *e = &t->owned[i];

		if (!e->used)
			break;
		if (e->af == af && addr_eq(&e->addr, a))
			return;
		if (++i == ULVS_MAX_OWNED_ADDRS)
			i = 0;
	}
	/* Keep probe runs short; past 3/4 the scan fallback is the better deal. */
	if ((t->n_owned + 1) * 4 > (uint32_t)ULVS_MAX_OWNED_ADDRS * 3) {
		t->owned_overflow = true;
		return;
	}
	t->owned[i].addr = *a;
	t->owned[i].af = af;
	t->owned[i].used = 1;
	t->n_owned++;
}

/* The key fields (af, proto, addr, port, fwmark) are fixed by svc_add():
 * -EINVAL when they were changed since, the index would lie otherwise. */
int svc_commit(struct svc_table *t, struct svc *s)
{
	if (!svc_in_table(t, s) || index_find_svc_key(t, s) != s)
		return -EINVAL;
	if (!s->fwmark)
		owned_add(t, s->af, &s->addr);
	for (uint32_t i = 0; i < s->n_laddrs; i++)
		owned_add(t, s->laddrs[i].af, &s->laddrs[i].addr);
	if (s->sched && s->sched->update)
		return s->sched->update(t, s);
	return 0;
}

/* ip_vs_service_find(): the fwmark table first, then the exact
 * <proto, addr, port> entry, then a port-zero service of that VIP (IPVS's
 * catch-all, used for persistent "all ports" services).  IPVS's FTP data
 * special case has no equivalent here: ulvs has no FTP helper. */
struct svc *svc_lookup(struct svc_table *t, enum ulvs_af af, uint8_t proto,
		       const union ulvs_addr *daddr, uint16_t dport, uint32_t mark)
{
	struct svc *s;

	if (mark) {
		s = index_find_fwm(t, (uint8_t)af, mark);
		if (s)
			return s;
	}
	s = index_find_ipport(t, (uint8_t)af, proto, daddr, dport);
	if (!s && dport)
		s = index_find_ipport(t, (uint8_t)af, proto, daddr, 0);
	return s;
}

static bool mark_rule_match(const struct mark_rule *r, enum ulvs_af af, uint8_t proto,
			    const union ulvs_addr *daddr, uint16_t dport)
{
	uint16_t port;

	if (r->af != af || (r->proto && r->proto != proto) ||
	    !addr_prefix_match(af, &r->prefix, daddr, r->plen))
		return false;
	if (!r->n_ports)
		return true;
	port = be16_host(dport);
	for (unsigned i = 0; i < r->n_ports; i++)
		if (port >= r->port_lo[i] && port <= r->port_hi[i])
			return true;
	return false;
}

uint32_t svc_classify(const struct svc_table *t, enum ulvs_af af, uint8_t proto,
		      const union ulvs_addr *daddr, uint16_t dport)
{
	for (uint32_t i = 0; i < t->n_marks; i++)
		if (mark_rule_match(&t->marks[i], af, proto, daddr, dport))
			return t->marks[i].mark;
	return 0;
}

/* O(1) expected for VIPs and local addresses (O(services x laddrs) only when
 * the owned set overflowed), plus O(mark rules) for their prefixes. */
bool svc_owns_addr(const struct svc_table *t, enum ulvs_af af, const union ulvs_addr *addr)
{
	if (!t->owned_overflow) {
		unsigned i = owned_slot((uint8_t)af, addr);

		for (unsigned n = 0; n < ULVS_MAX_OWNED_ADDRS; n++) {
			const struct svc_owned_addr *e = &t->owned[i];

			if (!e->used)
				break;
			if (e->af == af && addr_eq(&e->addr, addr))
				return true;
			if (++i == ULVS_MAX_OWNED_ADDRS)
				i = 0;
		}
	} else {
		for (uint32_t i = 0; i < t->n_svcs; i++) {
			const struct svc *s = &t->svcs[i];

			if (!svc_live(s))
				continue;
			if (!s->fwmark && s->af == af && addr_eq(&s->addr, addr))
				return true;
			for (uint32_t j = 0; j < s->n_laddrs; j++)
				if (s->laddrs[j].af == af && addr_eq(&s->laddrs[j].addr, addr))
					return true;
		}
	}
	for (uint32_t i = 0; i < t->n_marks; i++) {
		const struct mark_rule *r = &t->marks[i];

		if (r->af == af && addr_prefix_match(af, &r->prefix, addr, r->plen))
			return true;
	}
	return false;
}

/* ip_vs_bind_dest()/ip_vs_unbind_dest() in ip_vs_conn.c: overloaded once
 * activeconns + inactconns reach u_threshold; cleared only below
 * l_threshold, or when that is 0 below 3/4 of u_threshold, computed as
 * conns * 4 < u * 3 (so the bound rounds up, as the kernel's).  Persistence
 * templates do not count.  No upper threshold: never overloaded. */
void dest_update_overload(struct dest *d)
{
	uint64_t conns = (uint64_t)__atomic_load_n(&d->activeconns, __ATOMIC_RELAXED) +
			 __atomic_load_n(&d->inactconns, __ATOMIC_RELAXED);
	bool over = __atomic_load_n(&d->flags, __ATOMIC_RELAXED) & DEST_F_OVERLOAD;
	bool clear;

	/* Workers call this in parallel: the flag moves by atomic or/and. */
	if (d->u_threshold && conns >= d->u_threshold) {
		if (!over)
			__atomic_fetch_or(&d->flags, (uint32_t)DEST_F_OVERLOAD, __ATOMIC_RELAXED);
		return;
	}
	if (!over)
		return;
	if (d->l_threshold)
		clear = conns < d->l_threshold;
	else if (d->u_threshold)
		clear = conns * 4 < (uint64_t)d->u_threshold * 3;
	else
		clear = true;
	if (clear)
		__atomic_fetch_and(&d->flags, ~(uint32_t)DEST_F_OVERLOAD, __ATOMIC_RELAXED);
}

/* The names of ipvsadm's "Forward" column, so listings read the same;
 * FULLNAT as DPVS's ipvsadm shows it. */
const char *fwd_method_name(enum fwd_method m)
{
	switch (m) {
	case FWD_NAT:
		return "Masq";
	case FWD_DR:
		return "Route";
	case FWD_TUN:
		return "Tunnel";
	case FWD_FNAT:
		return "FullNat";
	case FWD_LOCAL:
		return "Local";
	default:
		return "?";
	}
}

/* ---- runtime edits -------------------------------------------------------- */

struct svc *svc_find(struct svc_table *t, const struct svc *k)
{
	return index_find_svc_key(t, k);
}

struct dest *svc_find_dest(struct svc_table *t, const struct svc *s, uint8_t af,
			   const union ulvs_addr *addr, uint16_t port)
{
	for (uint32_t i = 0; i < s->n_dests; i++) {
		struct dest *d = svc_dest(t, s, i);

		if (d->af == af && d->port == port && addr_eq(&d->addr, addr))
			return d;
	}
	return NULL;
}

static void index_rebuild(struct svc_table *t)
{
	memset(t->index, 0, sizeof(t->index));
	for (uint32_t i = 0; i < t->n_svcs; i++)
		if (svc_live(&t->svcs[i]))
			index_insert(t, &t->svcs[i]);
}

static void owned_rebuild(struct svc_table *t)
{
	memset(t->owned, 0, sizeof(t->owned));
	t->n_owned = 0;
	t->owned_overflow = false;
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];

		if (!svc_live(s))
			continue;
		if (!s->fwmark)
			owned_add(t, s->af, &s->addr);
		for (uint32_t j = 0; j < s->n_laddrs; j++)
			owned_add(t, s->laddrs[j].af, &s->laddrs[j].addr);
	}
}

/* __ip_vs_unlink_dest: out of the scheduling set, no new connection, and
 * the packets of its connections are dropped (ip_vs_in checks AVAILABLE). */
static void dest_trash(struct dest *d)
{
	d->flags &= ~(uint32_t)DEST_F_AVAILABLE;
	d->flags |= DEST_F_TRASH;
}

/* Remove slice entry i of s; later slices move down one. */
static void slice_remove(struct svc_table *t, struct svc *s, uint32_t i)
{
	uint32_t used = dest_ids_used(t);
	uint32_t pos = (uint32_t)(s->dests - t->dest_ids) + i;

	memmove(&t->dest_ids[pos], &t->dest_ids[pos + 1], (used - pos - 1) * sizeof(uint32_t));
	s->n_dests--;
	for (uint32_t k = 0; k < t->n_svcs; k++) {
		struct svc *o = &t->svcs[k];

		if (o != s && (uint32_t)(o->dests - t->dest_ids) > pos)
			o->dests--;
	}
}

int svc_del(struct svc_table *t, struct svc *s)
{
	if (!svc_in_table(t, s))
		return -ENOENT;
	while (s->n_dests) {
		dest_trash(svc_dest(t, s, s->n_dests - 1));
		slice_remove(t, s, s->n_dests - 1);
	}
	if (s->sorry_dest >= 0)
		dest_trash(&t->dests[s->sorry_dest]);
	if (s->sched && s->sched->done)
		s->sched->done(t, s);
	s->sched = NULL;
	s->sched_data = NULL;
	s->flags |= SVC_F_TRASH;
	index_rebuild(t);
	owned_rebuild(t);
	return 0;
}

int svc_del_dest(struct svc_table *t, struct svc *s, struct dest *d)
{
	if (!svc_in_table(t, s))
		return -ENOENT;
	for (uint32_t i = 0; i < s->n_dests; i++) {
		if (svc_dest(t, s, i) != d)
			continue;
		dest_trash(d);
		slice_remove(t, s, i);
		return 0;
	}
	return -ENOENT;
}

int svc_edit(struct svc_table *t, struct svc *s, const struct svc *tmpl, const char *sched_name)
{
	const struct sched_ops *ops = s->sched;

	if (!svc_in_table(t, s))
		return -ENOENT;
	if (sched_name) {
		ops = sched_find(sched_name);
		if (!ops)
			return -ENOENT;
	}
	if (ops != s->sched) {
		/* ip_vs_edit_service: bind the new scheduler first, so a
		 * failure leaves the old one in place. */
		struct svc old = *s;
		int err = 0;

		s->sched = ops;
		s->sched_data = NULL;
		s->sched_cursor = 0;
		if (ops->init)
			err = ops->init(t, s);
		if (err) {
			s->sched = old.sched;
			s->sched_data = old.sched_data;
			s->sched_cursor = old.sched_cursor;
			return err;
		}
		if (old.sched && old.sched->done)
			old.sched->done(t, &old);
	}
	s->flags = (s->flags & ~(uint32_t)SVC_F_USER_MASK) | (tmpl->flags & SVC_F_USER_MASK);
	s->timeout = tmpl->timeout;
	s->netmask = tmpl->netmask;
	s->sched_param = tmpl->sched_param;
	return 0;
}

int dest_edit(struct svc_table *t, struct dest *d, const struct dest *tmpl)
{
	if (tmpl->fwd >= FWD_MAX)
		return -EINVAL;
	if (tmpl->weight < 0 || (tmpl->u_threshold && tmpl->l_threshold > tmpl->u_threshold))
		return -ERANGE;
	d->fwd = tmpl->fwd;
	d->weight = tmpl->weight;
	d->u_threshold = tmpl->u_threshold;
	d->l_threshold = tmpl->l_threshold;
	/* Thresholds changed: the overload bit follows the new ones now, not
	 * at the next connection (__ip_vs_update_dest clears it too). */
	d->flags &= ~(uint32_t)DEST_F_OVERLOAD;
	dest_update_overload(d);
	return 0;
}

int svc_del_laddr(struct svc_table *t, struct svc *s, enum ulvs_af af, const union ulvs_addr *a)
{
	for (uint32_t i = 0; i < s->n_laddrs; i++) {
		if (s->laddrs[i].af != af || !addr_eq(&s->laddrs[i].addr, a))
			continue;
		memmove(&s->laddrs[i], &s->laddrs[i + 1],
			(s->n_laddrs - i - 1) * sizeof(s->laddrs[0]));
		s->n_laddrs--;
		owned_rebuild(t);
		return 0;
	}
	return -ENOENT;
}

static void zero_one(struct svc_table *t, struct svc *s)
{
	memset(&s->stats, 0, sizeof(s->stats));
	for (uint32_t i = 0; i < s->n_dests; i++)
		memset(&svc_dest(t, s, i)->stats, 0, sizeof(struct dest_stats));
	if (s->sorry_dest >= 0)
		memset(&t->dests[s->sorry_dest].stats, 0, sizeof(struct dest_stats));
}

void svc_zero_stats(struct svc_table *t, struct svc *s)
{
	if (s) {
		zero_one(t, s);
		return;
	}
	for (uint32_t i = 0; i < t->n_svcs; i++)
		if (svc_live(&t->svcs[i]))
			zero_one(t, &t->svcs[i]);
}

uint32_t svc_count_live(const struct svc_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->n_svcs; i++)
		n += svc_live(&t->svcs[i]);
	return n;
}

uint32_t svc_count_trash_dests(const struct svc_table *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->n_dests; i++)
		n += dest_slot_free(&t->dests[i]) ? 0 : !!(t->dests[i].flags & DEST_F_TRASH);
	return n;
}
