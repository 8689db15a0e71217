/* One running director (see director.h): the config in force, the tables
 * built from it, the engine, and the health operations checkers use.
 *
 * The map from config real servers to data plane real servers is recorded
 * while the tables are built (build_opts.on_dest), so a checker talks about
 * "this real_server block" and every service a virtual_server_group fanned
 * out into follows.
 */
#include "daemon/director.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fib.h"
#include "core/service.h"
#include "daemon/build.h"

struct rs_map {
	const struct conf_vs *vs;
	const struct conf_rs *rs;
	uint32_t svc_id, dest_id;
	bool up;                  /* as the checkers last said */
	int32_t weight;           /* weight while up (configured or dynamic) */
};

struct change_sub {
	director_change_cb cb;
	void *arg;
};

#define DIRECTOR_MAX_SUBS 16

struct director {
	struct evloop *loop;
	struct director_opts o;
	struct conf *conf;
	struct svc_table *t;
	struct fib *fib;
	struct engine_params params;
	struct engine *engine;
	struct rs_map *map;
	unsigned n_map, cap_map;
	int map_err;
	struct change_sub subs[DIRECTOR_MAX_SUBS];
	unsigned n_subs;
};

struct director *director_new(struct evloop *l, const struct director_opts *o)
{
	struct director *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = l;
	if (o)
		d->o = *o;
	if (!d->o.log)
		d->o.log = stderr;
	return d;
}

void director_free(struct director *d)
{
	if (!d)
		return;
	engine_free(d->engine);
	svc_table_free(d->t);
	free(d->fib);
	free(d->map);
	conf_free(d->conf);
	free(d);
}

static void record_dest_cb(void *arg, const struct conf_vs *vs, const struct conf_rs *rs,
			   struct svc *s, struct dest *dst)
{
	struct director *d = arg;
	if (d->n_map == d->cap_map) {
		unsigned cap = d->cap_map ? 2 * d->cap_map : 64;
		struct rs_map *m = realloc(d->map, cap * sizeof(*m));
		if (!m) {
			d->map_err = -ENOMEM;
			return;
		}
		d->map = m;
		d->cap_map = cap;
	}
	d->map[d->n_map++] = (struct rs_map){ .vs = vs, .rs = rs, .svc_id = s->id,
					      .dest_id = dst->id, .up = true,
					      .weight = dst->weight };
}

int director_load(struct director *d, struct conf *c, uint64_t now_ns, FILE *err)
{
	struct build_opts bo = { .replay = d->o.replay, .all_healthy = true,
				 .on_dest = record_dest_cb, .on_dest_arg = d };
	struct svc_table *t;
	struct fib *f;
	struct engine_params p;
	struct engine *e;
	int rc;

	if (d->engine)
		return -EBUSY; /* reload goes through the reload path, not here */
	t = svc_table_new();
	f = calloc(1, sizeof(*f));
	if (!t || !f) {
		svc_table_free(t);
		free(f);
		return -ENOMEM;
	}
	memset(&p, 0, sizeof(p));
	d->n_map = 0;
	d->map_err = 0;
	rc = build_dataplane(c, &bo, t, f, &p, err);
	if (!rc && d->map_err)
		rc = d->map_err;
	if (rc) {
		svc_table_free(t);
		free(f);
		d->n_map = 0;
		return rc;
	}
	e = engine_new(&p, f, t, now_ns);
	if (!e) {
		svc_table_free(t);
		free(f);
		d->n_map = 0;
		return -ENOMEM;
	}
	d->conf = c;
	d->t = t;
	d->fib = f;
	d->params = p;
	d->engine = e;
	return 0;
}

const struct conf *director_conf(const struct director *d) { return d->conf; }
struct engine *director_engine(struct director *d) { return d->engine; }
struct svc_table *director_services(struct director *d) { return d->t; }
struct fib *director_fib(struct director *d) { return d->fib; }
struct engine_params *director_params(struct director *d) { return &d->params; }
struct evloop *director_loop(struct director *d) { return d->loop; }
FILE *director_log(struct director *d) { return d->o.log; }

unsigned director_foreach_dest(struct director *d, const struct conf_vs *vs,
			       const struct conf_rs *rs, director_dest_fn fn, void *arg)
{
	unsigned n = 0;
	for (unsigned i = 0; i < d->n_map; i++) {
		struct rs_map *m = &d->map[i];
		if (m->vs != vs || m->rs != rs)
			continue;
		n++;
		if (fn)
			fn(arg, &d->t->svcs[m->svc_id], &d->t->dests[m->dest_id]);
	}
	return n;
}

void director_notify(struct director *d, const char *why)
{
	for (unsigned i = 0; i < d->n_subs; i++)
		d->subs[i].cb(d->subs[i].arg, why);
}

/* Put one mapped real server in the state its checkers and weight say. */
static void apply(struct director *d, struct rs_map *m)
{
	struct svc *s = &d->t->svcs[m->svc_id];
	struct dest *dst = &d->t->dests[m->dest_id];

	/* Deleted at runtime (ulvsadm -d/-D): the slot drains or is reused by
	 * another server; a checker must not bring it back. */
	if ((dst->flags & DEST_F_TRASH) || !svc_live(s))
		return;
	if (m->up) {
		dst->flags |= DEST_F_AVAILABLE;
		dst->weight = m->weight;
	} else if (m->rs->inhibit_on_failure) {
		/* keepalived's inhibit_on_failure: weight 0, stays in the table, so
		 * established connections carry on and no new ones arrive */
		dst->flags |= DEST_F_AVAILABLE;
		dst->weight = 0;
	} else {
		dst->flags &= ~DEST_F_AVAILABLE;
	}
	svc_commit(d->t, s);
}

static int set_each(struct director *d, const struct conf_vs *vs, const struct conf_rs *rs,
		    const bool *up, const int32_t *weight, const char *why)
{
	unsigned n = 0;
	for (unsigned i = 0; i < d->n_map; i++) {
		struct rs_map *m = &d->map[i];
		if (m->vs != vs || m->rs != rs)
			continue;
		if (up)
			m->up = *up;
		if (weight)
			m->weight = *weight;
		apply(d, m);
		n++;
	}
	if (!n)
		return -ENOENT;
	director_notify(d, why);
	return 0;
}

int director_rs_set_up(struct director *d, const struct conf_vs *vs, const struct conf_rs *rs,
		       bool up)
{
	return set_each(d, vs, rs, &up, NULL, up ? "real server up" : "real server down");
}

int director_rs_set_weight(struct director *d, const struct conf_vs *vs,
			   const struct conf_rs *rs, int32_t weight)
{
	if (weight < 0)
		return -EINVAL;
	return set_each(d, vs, rs, NULL, &weight, "real server weight");
}

int director_reload(struct director *d, struct conf *c, const struct director_rs_ent *ents,
		    unsigned n, struct conf **old)
{
	struct rs_map *map = calloc(n ? n : 1, sizeof(*map));

	if (!map)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		const struct director_rs_ent *e = &ents[i];
		struct rs_map *m = &map[i];

		*m = (struct rs_map){ .vs = e->vs, .rs = e->rs, .svc_id = e->svc_id,
				      .dest_id = e->dest_id, .up = true, .weight = e->rs->weight };
		for (unsigned k = 0; k < d->n_map; k++) {
			const struct rs_map *o = &d->map[k];

			/* the same slot can hold another server after a delete
			 * and an add in one batch: compare the servers too */
			if (o->svc_id != e->svc_id || o->dest_id != e->dest_id ||
			    o->rs->addr.af != e->rs->addr.af || o->rs->port != e->rs->port ||
			    !addr_eq(&o->rs->addr.a, &e->rs->addr.a))
				continue;
			m->up = o->up;
			/* misc_dynamic's weight holds until the config says otherwise */
			if (o->rs->weight == e->rs->weight)
				m->weight = o->weight;
			break;
		}
	}
	free(d->map);
	d->map = map;
	d->n_map = d->cap_map = n;
	*old = d->conf;
	d->conf = c;
	for (unsigned i = 0; i < n; i++)
		apply(d, &d->map[i]);
	return 0;
}

static bool mark_covers(const struct svc_table *t, uint32_t mark, enum ulvs_af af,
			const union ulvs_addr *a)
{
	for (uint32_t i = 0; i < t->n_marks; i++) {
		const struct mark_rule *r = &t->marks[i];
		if (r->mark == mark && r->af == af && addr_prefix_match(af, &r->prefix, a, r->plen))
			return true;
	}
	return false;
}

unsigned director_set_vip_active(struct director *d, enum ulvs_af af, const union ulvs_addr *vip,
				 bool active)
{
	unsigned n = 0;

	if (!d->t)
		return 0;
	for (uint32_t i = 0; i < d->t->n_svcs; i++) {
		struct svc *s = &d->t->svcs[i];
		bool hit = s->af == af && svc_live(s) &&
			   (s->fwmark ? mark_covers(d->t, s->fwmark, af, vip) : addr_eq(&s->addr, vip));
		uint32_t want = active ? 0 : SVC_F_STANDBY;
		if (!hit || (s->flags & SVC_F_STANDBY) == want)
			continue;
		s->flags = (s->flags & ~SVC_F_STANDBY) | want;
		n++;
	}
	if (n)
		director_notify(d, active ? "VRRP master" : "VRRP backup");
	return n;
}

int director_on_change(struct director *d, director_change_cb cb, void *arg)
{
	if (!cb)
		return -EINVAL;
	if (d->n_subs == DIRECTOR_MAX_SUBS)
		return -ENOSPC;
	d->subs[d->n_subs++] = (struct change_sub){ cb, arg };
	return 0;
}
