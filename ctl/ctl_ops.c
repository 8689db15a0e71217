/* The control socket's operations on the live tables (see ctl_ops.h).
 *
 * All or nothing without copying the tables: a batch is first run against a
 * model that holds only what IPVS's checks look at - which service keys
 * exist, their real-server and local-address keys, and how many slots are
 * left - and only a batch the model accepts touches the real tables.  The
 * same checks in the same order as ip_vs_ctl.c give the same errno for the
 * same mistake, so ulvsadm can word it as ipvsadm does.
 */
#include "ctl/ctl_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/sched/sched.h"
#include "core/service.h"

/* ---- rate estimator ----------------------------------------------------------- */

enum { EST_CONNS, EST_INPKTS, EST_OUTPKTS, EST_INBYTES, EST_OUTBYTES, EST_N };

struct est_one {
	uint64_t last[EST_N];
	int64_t avg[EST_N];         /* scaled as in ip_vs_est.c */
	bool primed;
};

struct ctl_est {
	struct est_one svc[ULVS_MAX_SERVICES];
	struct est_one dest[ULVS_MAX_DESTS];
	/* what each slot measured: a reused slot starts over */
	uint32_t dest_owner[ULVS_MAX_DESTS];
};

struct ctl_est *ctl_est_new(void)
{
	return calloc(1, sizeof(struct ctl_est));
}

void ctl_est_free(struct ctl_est *e)
{
	free(e);
}

/* ip_vs_estimation_timer's arithmetic over a 2 s period: a delta << 9
 * (conns, packets) or << 4 (bytes) is 2^10 resp. 2^5 times the per-second
 * rate; the average moves 1/4 (1/8 for bytes) of the way to it. */
static void est_update(struct est_one *o, const uint64_t cur[EST_N])
{
	if (!o->primed) {
		memcpy(o->last, cur, sizeof(o->last));
		memset(o->avg, 0, sizeof(o->avg));
		o->primed = true;
		return;
	}
	for (int i = 0; i < EST_N; i++) {
		/* counters zeroed (-Z) or slot reused: restart from here */
		uint64_t delta = cur[i] >= o->last[i] ? cur[i] - o->last[i] : 0;
		bool bytes = i >= EST_INBYTES;
		int64_t rate = (int64_t)(delta << (bytes ? 4 : 9));

		o->avg[i] += (rate - o->avg[i]) >> (bytes ? 3 : 2);
		o->last[i] = cur[i];
	}
}

static uint64_t est_read(const struct est_one *o, int i)
{
	bool bytes = i >= EST_INBYTES;
	int64_t v = o->avg[i];

	if (v <= 0)
		return 0;
	return bytes ? (uint64_t)(v + 0xF) >> 5 : (uint64_t)(v + 0x1FF) >> 10;
}

void ctl_est_tick(struct ctl_est *e, const struct svc_table *t)
{
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		uint64_t cur[EST_N] = { s->stats.conns, s->stats.inpkts, s->stats.outpkts,
					s->stats.inbytes, s->stats.outbytes };

		if (!svc_live(s)) {
			e->svc[i].primed = false;
			continue;
		}
		est_update(&e->svc[i], cur);
	}
	for (uint32_t i = 0; i < t->n_dests; i++) {
		const struct dest *d = &t->dests[i];
		uint64_t cur[EST_N] = { d->stats.conns, d->stats.inpkts, d->stats.outpkts,
					d->stats.inbytes, d->stats.outbytes };

		if (e->dest_owner[i] != d->svc_id + 1u) {
			e->dest_owner[i] = d->svc_id + 1u;
			e->dest[i].primed = false;
		}
		est_update(&e->dest[i], cur);
	}
}

static void est_fill(const struct est_one *o, struct ctl_stats *st)
{
	if (!o)
		return;
	st->cps = est_read(o, EST_CONNS);
	st->inpps = est_read(o, EST_INPKTS);
	st->outpps = est_read(o, EST_OUTPKTS);
	st->inbps = est_read(o, EST_INBYTES);
	st->outbps = est_read(o, EST_OUTBYTES);
}

/* ---- keys ---------------------------------------------------------------------- */

void ctl_key_of(const struct svc *s, struct ctl_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = s->af;
	if (s->fwmark) {
		k->fwmark = s->fwmark;
		return;
	}
	k->proto = s->proto;
	k->port = s->port;
	k->addr = s->addr;
}

static void svc_tmpl_of(const struct ctl_cmd *c, struct svc *tmpl)
{
	memset(tmpl, 0, sizeof(*tmpl));
	tmpl->af = c->svc.af;
	tmpl->proto = c->svc.proto;
	tmpl->port = c->svc.port;
	tmpl->addr = c->svc.addr;
	tmpl->fwmark = c->svc.fwmark;
	tmpl->flags = c->svc_flags;
	tmpl->timeout = c->timeout;
	tmpl->netmask = c->netmask;
}

static struct svc *find_svc(struct svc_table *t, const struct ctl_svc_key *k)
{
	struct svc tmpl;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = k->af;
	tmpl.proto = k->proto;
	tmpl.port = k->port;
	tmpl.addr = k->addr;
	tmpl.fwmark = k->fwmark;
	return svc_find(t, &tmpl);
}

static const char *sched_of(const struct ctl_cmd *c)
{
	return c->sched[0] ? c->sched : "wlc";
}

/* ---- the model a batch is checked against ---------------------------------------- */

struct m_dest {
	uint8_t af;
	uint16_t port;
	union ulvs_addr addr;
};

struct m_svc {
	struct ctl_svc_key key;
	bool live;
	struct m_dest *dests;
	uint32_t n_dests, cap_dests;
	struct m_dest *laddrs;     /* port unused */
	uint32_t n_laddrs;
};

struct model {
	struct m_svc *svcs;
	uint32_t n, cap;
	uint32_t svc_slots_held;   /* trashed services still referenced */
	uint32_t dests_used;       /* slots of live + referenced trashed dests */
	uint32_t dest_ids_used;
};

static void model_free(struct model *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		free(m->svcs[i].dests);
		free(m->svcs[i].laddrs);
	}
	free(m->svcs);
}

static struct m_svc *model_find(struct model *m, const struct ctl_svc_key *k)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->svcs[i].live && ctl_svc_key_eq(&m->svcs[i].key, k))
			return &m->svcs[i];
	return NULL;
}

static struct m_svc *model_new_svc(struct model *m, const struct ctl_svc_key *k)
{
	struct m_svc *s;

	if (m->n == m->cap) {
		uint32_t cap = m->cap ? 2 * m->cap : 64;
		struct m_svc *n = realloc(m->svcs, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->svcs = n;
		m->cap = cap;
	}
	s = &m->svcs[m->n++];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->live = true;
	s->laddrs = calloc(ULVS_MAX_LADDRS, sizeof(*s->laddrs));
	if (!s->laddrs) {
		m->n--;
		return NULL;
	}
	return s;
}

static int model_add_dest(struct m_svc *s, uint8_t af, const union ulvs_addr *a, uint16_t port)
{
	if (s->n_dests == s->cap_dests) {
		uint32_t cap = s->cap_dests ? 2 * s->cap_dests : 8;
		struct m_dest *n = realloc(s->dests, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->dests = n;
		s->cap_dests = cap;
	}
	s->dests[s->n_dests++] = (struct m_dest){ .af = af, .port = port, .addr = *a };
	return 0;
}

static int64_t model_find_dest(const struct m_svc *s, uint8_t af, const union ulvs_addr *a,
			       uint16_t port)
{
	for (uint32_t i = 0; i < s->n_dests; i++)
		if (s->dests[i].af == af && s->dests[i].port == port && addr_eq(&s->dests[i].addr, a))
			return i;
	return -1;
}

static int64_t model_find_laddr(const struct m_svc *s, uint8_t af, const union ulvs_addr *a)
{
	for (uint32_t i = 0; i < s->n_laddrs; i++)
		if (s->laddrs[i].af == af && addr_eq(&s->laddrs[i].addr, a))
			return i;
	return -1;
}

static int model_build(struct model *m, struct svc_table *t)
{
	memset(m, 0, sizeof(*m));
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		struct svc *s = &t->svcs[i];
		struct ctl_svc_key k;
		struct m_svc *ms;

		if (!svc_live(s)) {
			m->svc_slots_held++;
			continue;
		}
		ctl_key_of(s, &k);
		ms = model_new_svc(m, &k);
		if (!ms)
			return -ENOMEM;
		for (uint32_t j = 0; j < s->n_dests; j++) {
			const struct dest *d = svc_dest(t, s, j);

			if (model_add_dest(ms, d->af, &d->addr, d->port))
				return -ENOMEM;
		}
		for (uint32_t j = 0; j < s->n_laddrs; j++) {
			ms->laddrs[j].af = s->laddrs[j].af;
			ms->laddrs[j].addr = s->laddrs[j].addr;
		}
		ms->n_laddrs = s->n_laddrs;
		m->dest_ids_used += s->n_dests;
	}
	/* Slots a new service or server can count on: the table's free ones
	 * are reused, so what is held is what is live or still referenced. */
	for (uint32_t i = 0; i < t->n_dests; i++) {
		const struct dest *d = &t->dests[i];

		if (!(d->flags & DEST_F_TRASH) || dest_refs(d))
			m->dests_used++;
	}
	m->svc_slots_held = 0;
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		const struct svc *s = &t->svcs[i];
		bool held = false;

		if (svc_live(s))
			continue;
		for (uint32_t j = 0; j < t->n_dests && !held; j++)
			held = t->dests[j].svc_id == s->id && dest_refs(&t->dests[j]);
		m->svc_slots_held += held;
	}
	return 0;
}

static uint32_t model_live(const struct model *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->n; i++)
		n += m->svcs[i].live;
	return n;
}

static int fib_iface_id(const struct fib *fib, const char *name, uint16_t *id)
{
	*id = 0;
	if (!name[0] || !fib)
		return 0;
	for (unsigned i = 0; i < fib->n_ifaces; i++)
		if (!strncmp(fib->ifaces[i].name, name, sizeof(fib->ifaces[i].name))) {
			*id = fib->ifaces[i].id;
			return 0;
		}
	return -ENODEV;
}

/* One command against the model: the errno ip_vs_ctl.c would give, or 0. */
static int model_step(struct model *m, const struct fib *fib, const struct ctl_cmd *c)
{
	struct m_svc *s = c->has_svc ? model_find(m, &c->svc) : NULL;
	int64_t i;
	uint16_t ifid;

	switch (c->op) {
	case CTL_OP_FLUSH:
		/* the trashed real servers keep their slots: dests_used stays */
		for (uint32_t k = 0; k < m->n; k++)
			m->svcs[k].live = false;
		m->dest_ids_used = 0;
		return 0;
	case CTL_OP_ADD_SVC:
		if (s)
			return -EEXIST;
		if (!sched_find(sched_of(c)))
			return -ENOENT;
		if (model_live(m) + m->svc_slots_held >= ULVS_MAX_SERVICES)
			return -ENOSPC;
		return model_new_svc(m, &c->svc) ? 0 : -ENOMEM;
	case CTL_OP_EDIT_SVC:
		if (!s)
			return -ESRCH;
		return sched_find(sched_of(c)) ? 0 : -ENOENT;
	case CTL_OP_DEL_SVC:
		if (!s)
			return -ESRCH;
		s->live = false;
		m->dest_ids_used -= s->n_dests;
		return 0;
	case CTL_OP_ZERO:
		return (c->has_svc && !s) ? -ESRCH : 0;
	case CTL_OP_SET_TIMEOUT:
		return 0;
	case CTL_OP_ADD_DEST:
	case CTL_OP_EDIT_DEST:
	case CTL_OP_DEL_DEST:
		if (!s)
			return -ESRCH;
		i = model_find_dest(s, c->dest_af, &c->dest_addr, c->dest_port);
		if (c->op == CTL_OP_DEL_DEST) {
			if (i < 0)
				return -ENOENT;
			s->dests[i] = s->dests[--s->n_dests];
			m->dest_ids_used--;
			return 0;
		}
		/* ip_vs_add_dest / ip_vs_edit_dest check the values first */
		if (c->weight < 0 || (c->u_threshold && c->l_threshold > c->u_threshold))
			return -ERANGE;
		if (c->op == CTL_OP_EDIT_DEST)
			return i < 0 ? -ENOENT : 0;
		if (i >= 0)
			return -EEXIST;
		if (m->dests_used >= ULVS_MAX_DESTS || m->dest_ids_used >= ULVS_MAX_DESTS)
			return -ENOSPC;
		m->dests_used++;
		m->dest_ids_used++;
		return model_add_dest(s, c->dest_af, &c->dest_addr, c->dest_port);
	case CTL_OP_ADD_LADDR:
	case CTL_OP_DEL_LADDR:
		if (!s)
			return -ESRCH;
		i = model_find_laddr(s, c->laddr_af, &c->laddr);
		if (c->op == CTL_OP_DEL_LADDR) {
			if (i < 0)
				return -ENOENT;
			s->laddrs[i] = s->laddrs[--s->n_laddrs];
			return 0;
		}
		if (i >= 0)
			return -EEXIST;
		if (s->n_laddrs >= ULVS_MAX_LADDRS)
			return -ENOSPC;
		if (fib_iface_id(fib, c->ifname, &ifid))
			return -ENODEV;
		s->laddrs[s->n_laddrs].af = c->laddr_af;
		s->laddrs[s->n_laddrs].addr = c->laddr;
		s->n_laddrs++;
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- applying for real ------------------------------------------------------------ */

static int apply_one(struct svc_table *t, struct engine *e, const struct fib *fib,
		     const struct ctl_cmd *c, bool *laddrs_changed)
{
	struct svc *s = c->has_svc ? find_svc(t, &c->svc) : NULL;
	struct svc tmpl;
	struct dest dt, *d;
	uint16_t ifid;
	int err;

	switch (c->op) {
	case CTL_OP_FLUSH:
		for (uint32_t i = 0; i < t->n_svcs; i++)
			if (svc_live(&t->svcs[i]))
				svc_del(t, &t->svcs[i]);
		return 0;
	case CTL_OP_ADD_SVC:
		svc_tmpl_of(c, &tmpl);
		err = svc_add(t, &tmpl, sched_of(c), &s);
		return err ? err : svc_commit(t, s);
	case CTL_OP_EDIT_SVC:
		if (!s)
			return -ESRCH;
		svc_tmpl_of(c, &tmpl);
		err = svc_edit(t, s, &tmpl, sched_of(c));
		return err ? err : svc_commit(t, s);
	case CTL_OP_DEL_SVC:
		return s ? svc_del(t, s) : -ESRCH;
	case CTL_OP_ZERO:
		if (c->has_svc && !s)
			return -ESRCH;
		svc_zero_stats(t, s);
		return 0;
	case CTL_OP_SET_TIMEOUT: {
		struct conn_timeouts to;

		/* ipvsadm --set: 0 keeps the current value */
		memset(&to, 0, sizeof(to));
		to.ms[CS_ESTABLISHED] = c->to_tcp * 1000u;
		to.ms[CS_FIN_WAIT] = c->to_tcpfin * 1000u;
		to.ms[CS_UDP] = c->to_udp * 1000u;
		if (e)
			engine_set_timeouts(e, &to);
		return 0;
	}
	case CTL_OP_ADD_DEST:
		if (!s)
			return -ESRCH;
		memset(&dt, 0, sizeof(dt));
		dt.af = c->dest_af;
		dt.addr = c->dest_addr;
		dt.port = c->dest_port;
		dt.fwd = c->fwd;
		dt.weight = c->weight;
		dt.u_threshold = c->u_threshold;
		dt.l_threshold = c->l_threshold;
		dt.flags = DEST_F_AVAILABLE;
		err = svc_add_dest(t, s, &dt, NULL);
		return err ? err : svc_commit(t, s);
	case CTL_OP_EDIT_DEST:
	case CTL_OP_DEL_DEST:
		if (!s)
			return -ESRCH;
		d = svc_find_dest(t, s, c->dest_af, &c->dest_addr, c->dest_port);
		if (!d)
			return -ENOENT;
		if (c->op == CTL_OP_DEL_DEST) {
			err = svc_del_dest(t, s, d);
		} else {
			dt = *d;
			dt.fwd = c->fwd;
			dt.weight = c->weight;
			dt.u_threshold = c->u_threshold;
			dt.l_threshold = c->l_threshold;
			err = dest_edit(t, d, &dt);
		}
		return err ? err : svc_commit(t, s);
	case CTL_OP_ADD_LADDR:
		if (!s)
			return -ESRCH;
		if (fib_iface_id(fib, c->ifname, &ifid))
			return -ENODEV;
		err = svc_add_laddr(s, (enum ulvs_af)c->laddr_af, &c->laddr, ifid);
		*laddrs_changed = true;
		return err ? err : svc_commit(t, s);
	case CTL_OP_DEL_LADDR:
		if (!s)
			return -ESRCH;
		*laddrs_changed = true;
		return svc_del_laddr(t, s, (enum ulvs_af)c->laddr_af, &c->laddr);
	default:
		return -EINVAL;
	}
}

int ctl_ops_apply(struct svc_table *t, struct engine *e, const struct fib *fib,
		  const struct ctl_cmd *c, uint32_t n, struct ctl_error *err)
{
	struct model m;
	bool laddrs = false;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = model_build(&m, t);
	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = model_step(&m, fib, &c[i]);
		if (rc) {
			err->index = i;
			err->err = -rc;
			snprintf(err->msg, sizeof(err->msg), "%s", ctl_strerror(c[i].op, -rc));
		}
	}
	model_free(&m);
	if (rc) {
		if (!err->err) {
			err->err = -rc;
			snprintf(err->msg, sizeof(err->msg), "%s", ctl_strerror(0, -rc));
		}
		return rc;
	}
	for (uint32_t i = 0; i < n; i++) {
		rc = apply_one(t, e, fib, &c[i], &laddrs);
		if (rc) {
			err->index = i;
			err->err = -rc;
			snprintf(err->msg, sizeof(err->msg), "%s (applied up to command %u)",
				 ctl_strerror(c[i].op, -rc), i);
			break;
		}
	}
	/* New local addresses need their port pools in the engine. */
	if (laddrs && e)
		engine_set_services(e, t);
	return rc;
}

/* libipvs's ipvs_strerror table: the words ipvsadm users know. */
const char *ctl_strerror(uint8_t op, int err)
{
	switch (err) {
	case EEXIST:
		if (op == CTL_OP_ADD_SVC)
			return "Service already exists";
		if (op == CTL_OP_ADD_DEST)
			return "Destination already exists";
		if (op == CTL_OP_ADD_LADDR)
			return "Local address already exists";
		break;
	case ENOENT:
		if (op == CTL_OP_ADD_SVC || op == CTL_OP_EDIT_SVC)
			return "Scheduler or persistence engine not found";
		if (op == CTL_OP_EDIT_DEST || op == CTL_OP_DEL_DEST)
			return "No such destination";
		if (op == CTL_OP_DEL_LADDR)
			return "No such local address";
		break;
	case ESRCH:
		if (op == CTL_OP_EDIT_SVC || op == CTL_OP_DEL_SVC || op == CTL_OP_ZERO)
			return "No such service";
		if (op == CTL_OP_ADD_DEST || op == CTL_OP_EDIT_DEST || op == CTL_OP_DEL_DEST ||
		    op == CTL_OP_ADD_LADDR || op == CTL_OP_DEL_LADDR)
			return "Service not defined";
		break;
	case EPERM:
		return "Permission denied (you must be root)";
	case EINVAL:
		return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
	case ENOPROTOOPT:
		return "Protocol not available";
	case ENOMEM:
		return "Memory allocation problem";
	case EOPNOTSUPP:
		return "Operation not supported with IPv6";
	case EAFNOSUPPORT:
		return "Operation not supported with specified address family";
	case EMSGSIZE:
		return "Module is wrong version";
	default:
		break;
	}
	return strerror(err);
}

/* ---- listings ----------------------------------------------------------------------- */

static void stats_of(struct ctl_stats *st, uint64_t conns, uint64_t inpkts, uint64_t outpkts,
		     uint64_t inbytes, uint64_t outbytes)
{
	memset(st, 0, sizeof(*st));
	st->conns = conns;
	st->inpkts = inpkts;
	st->outpkts = outpkts;
	st->inbytes = inbytes;
	st->outbytes = outbytes;
}

struct laddr_count {
	const struct svc *s;
	uint32_t *n;
};

static int laddr_count_cb(void *arg, const struct conn *c)
{
	struct laddr_count *lc = arg;

	if (c->svc_id != lc->s->id || c->fwd != FWD_FNAT || (c->flags & CONN_F_TEMPLATE))
		return 0;
	for (uint32_t i = 0; i < lc->s->n_laddrs; i++)
		if (lc->s->laddrs[i].af == c->af && addr_eq(&lc->s->laddrs[i].addr, &c->laddr)) {
			lc->n[i]++;
			break;
		}
	return 0;
}

static int put_svc(struct ctl_buf *b, struct svc_table *t, struct engine *e,
		   const struct fib *fib, const struct ctl_est *est, struct svc *s)
{
	struct ctl_svc_info si;
	struct ctl_dest_info *di = NULL;
	struct ctl_laddr_info *li = NULL;

	memset(&si, 0, sizeof(si));
	ctl_key_of(s, &si.key);
	snprintf(si.sched, sizeof(si.sched), "%s", s->sched ? s->sched->name : "");
	si.flags = s->flags & SVC_F_USER_MASK;
	si.timeout = s->timeout;
	si.netmask = s->netmask;
	stats_of(&si.st, s->stats.conns, s->stats.inpkts, s->stats.outpkts, s->stats.inbytes,
		 s->stats.outbytes);
	if (est)
		est_fill(&est->svc[s->id], &si.st);
	si.n_dests = s->n_dests;
	si.n_laddrs = s->n_laddrs;
	if (s->n_dests && !(di = calloc(s->n_dests, sizeof(*di))))
		return -ENOMEM;
	if (s->n_laddrs && !(li = calloc(s->n_laddrs, sizeof(*li)))) {
		free(di);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct dest *d = svc_dest(t, s, i);

		di[i].af = d->af;
		di[i].fwd = d->fwd;
		di[i].port = d->port;
		di[i].addr = d->addr;
		di[i].weight = d->weight;
		di[i].u_threshold = d->u_threshold;
		di[i].l_threshold = d->l_threshold;
		di[i].activeconns = d->activeconns;
		di[i].inactconns = d->inactconns;
		di[i].persistconns = d->persistconns;
		di[i].flags = d->flags;
		stats_of(&di[i].st, d->stats.conns, d->stats.inpkts, d->stats.outpkts,
			 d->stats.inbytes, d->stats.outbytes);
		if (est)
			est_fill(&est->dest[d->id], &di[i].st);
	}
	if (s->n_laddrs && e) {
		uint32_t n[ULVS_MAX_LADDRS] = { 0 };
		struct laddr_count lc = { .s = s, .n = n };

		/* O(connections): only services with local addresses pay it */
		for (unsigned m = 0; m < engine_group_size(e); m++)
			conn_foreach(engine_conns(engine_group_member(e, m)), laddr_count_cb, &lc);
		for (uint32_t i = 0; i < s->n_laddrs; i++)
			li[i].conns = n[i];
	}
	for (uint32_t i = 0; i < s->n_laddrs; i++) {
		li[i].af = s->laddrs[i].af;
		li[i].addr = s->laddrs[i].addr;
		if (fib && s->laddrs[i].iface < fib->n_ifaces)
			snprintf(li[i].ifname, sizeof(li[i].ifname), "%.15s",
				 fib->ifaces[s->laddrs[i].iface].name);
	}
	si.dests = di;
	si.laddrs = li;
	ctl_put_svc_info(b, &si);
	free(di);
	free(li);
	return b->err;
}

int ctl_ops_list(struct ctl_buf *b, struct svc_table *t, struct engine *e,
		 const struct fib *fib, const struct ctl_est *est, const struct ctl_svc_key *filter)
{
	if (filter) {
		struct svc *s = find_svc(t, filter);

		if (!s)
			return -ESRCH;
		ctl_put_u32(b, 1);
		return put_svc(b, t, e, fib, est, s);
	}
	ctl_put_u32(b, svc_count_live(t));
	for (uint32_t i = 0; i < t->n_svcs; i++) {
		int err;

		if (!svc_live(&t->svcs[i]))
			continue;
		err = put_svc(b, t, e, fib, est, &t->svcs[i]);
		if (err)
			return err;
	}
	return b->err;
}

struct conns_walk {
	struct ctl_buf *b;
	struct conn_table *ct;
	uint64_t now;
	uint32_t skip, max, seen, n;
	size_t count_at;
	bool filter;              /* only connections of service svc_id */
	uint32_t svc_id;
	uint32_t next;            /* CONNS_SVC: table position to resume at */
	bool stopped;             /* a page is full */
};

static int conns_cb(void *arg, const struct conn *c);

/* Every worker's table in turn; a position counts across all of them. */
static void conns_walk_all(struct engine *e, struct conns_walk *w)
{
	for (unsigned m = 0; m < engine_group_size(e) && !w->stopped; m++) {
		w->ct = engine_conns(engine_group_member(e, m));
		conn_foreach(w->ct, conns_cb, w);
	}
}

static int conns_cb(void *arg, const struct conn *c)
{
	struct conns_walk *w = arg;
	struct ctl_conn_info ci;

	if (w->stopped)
		return 1;
	if (w->seen++ < w->skip)
		return 0;
	if (w->filter && c->svc_id != w->svc_id)
		return 0;
	if (w->n == w->max) {
		w->next = w->seen - 1;
		w->stopped = true;
		return 1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.af = c->af;
	ci.proto = c->proto;
	ci.state = c->state;
	ci.fwd = c->fwd;
	ci.flags = c->flags;
	ci.cport = c->cport;
	ci.vport = c->vport;
	ci.dport = c->dport;
	ci.lport = c->lport;
	ci.caddr = c->caddr;
	ci.vaddr = c->vaddr;
	ci.daddr = c->daddr;
	ci.laddr = c->laddr;
	ci.expires_ms = conn_remaining_ms(w->ct, c, w->now);
	ctl_put_conn_info(w->b, &ci);
	w->n++;
	return 0;
}

int ctl_ops_conns(struct ctl_buf *b, struct engine *e, uint64_t now_ns, uint32_t cursor,
		  uint32_t max)
{
	struct conns_walk w = { .b = b, .ct = engine_conns(e), .now = now_ns, .skip = cursor,
				.max = max };
	size_t at = b->len;

	ctl_put_u32(b, 0); /* next, patched below */
	ctl_put_u32(b, 0); /* n */
	if (b->err)
		return b->err;
	conns_walk_all(e, &w);
	if (b->err)
		return b->err;
	{
		/* a full page may have more behind it */
		uint32_t next = w.n == max ? cursor + w.n : UINT32_MAX;
		uint8_t *p = b->p + at;

		p[0] = (uint8_t)(next >> 24), p[1] = (uint8_t)(next >> 16);
		p[2] = (uint8_t)(next >> 8), p[3] = (uint8_t)next;
		p[4] = (uint8_t)(w.n >> 24), p[5] = (uint8_t)(w.n >> 16);
		p[6] = (uint8_t)(w.n >> 8), p[7] = (uint8_t)w.n;
	}
	return 0;
}

int ctl_ops_conns_svc(struct ctl_buf *b, struct svc_table *t, struct engine *e, uint64_t now_ns,
		      uint32_t cursor, uint32_t max, const struct ctl_svc_key *svc)
{
	struct conns_walk w = { .b = b, .ct = engine_conns(e), .now = now_ns, .skip = cursor,
				.max = max, .filter = true, .next = UINT32_MAX };
	struct svc *s = find_svc(t, svc);
	size_t at = b->len;
	uint8_t *p;

	if (!s || !svc_live(s))
		return -ESRCH;
	w.svc_id = s->id;
	ctl_put_u32(b, 0); /* next, patched below */
	ctl_put_u32(b, 0); /* n */
	if (b->err)
		return b->err;
	conns_walk_all(e, &w);
	if (b->err)
		return b->err;
	/* The cursor is a table position: entries of other services between
	 * pages are skipped again on the next call, never returned. */
	p = b->p + at;
	p[0] = (uint8_t)(w.next >> 24), p[1] = (uint8_t)(w.next >> 16);
	p[2] = (uint8_t)(w.next >> 8), p[3] = (uint8_t)w.next;
	p[4] = (uint8_t)(w.n >> 24), p[5] = (uint8_t)(w.n >> 16);
	p[6] = (uint8_t)(w.n >> 8), p[7] = (uint8_t)w.n;
	return 0;
}

void ctl_ops_timeouts(struct engine *e, struct ctl_timeouts *to)
{
	const struct conn_timeouts *ct = conn_table_timeouts(engine_conns(e));

	to->tcp = ct->ms[CS_ESTABLISHED] / 1000;
	to->tcpfin = ct->ms[CS_FIN_WAIT] / 1000;
	to->udp = ct->ms[CS_UDP] / 1000;
}

void ctl_ops_info(struct svc_table *t, struct engine *e, struct ctl_info *i)
{
	memset(i, 0, sizeof(*i));
	i->version = 0x010201; /* the IPVS ipvsadm expects: 1.2.1 */
	i->size = 0;
	for (unsigned m = 0; e && m < engine_group_size(e); m++)
		i->size += conn_capacity(engine_conns(engine_group_member(e, m)));
	i->n_svcs = svc_count_live(t);
	i->n_conns = e ? engine_conn_count(e) : 0;
	snprintf(i->daemon_version, sizeof(i->daemon_version), "%s", ULVS_VERSION);
}
