/* Connection table: a preallocated pool of struct conn, one hash indexing
 * every connection under its in key and its out key, the IPVS TCP state
 * machine, and a timing wheel that expires connections in bounded slices.
 *
 * Why this shape: the data plane must not allocate per packet and must not
 * stall a worker on a long sweep.  The pool hands out 32-bit indices, so hash
 * chains and timer lists are 4-byte links inside struct conn and the whole
 * table stays at about 124 bytes per connection.  Timers are lazy: a packet
 * only moves c->expires forward; the wheel finds out when it visits the
 * connection and files it again.  Only a shortened timer (ESTABLISHED ->
 * CLOSE and friends) relinks at once, in O(1) through tprev.
 */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "service-t.h"

static_assert(sizeof(struct conn) == 120, "struct conn must stay 120 bytes");

#ifndef CONN_EXPIRE_STEPS
#define CONN_EXPIRE_STEPS 4096      /* wheel slots one conn_expire() may step */
#endif
#define CONN_WHEEL_MIN 1024u
#define CONN_WHEEL_MAX 65536u       /* 1 ms slots: one turn is 65.5 s */
#define CONN_CAPACITY_MAX (1u << 30)
#define CONN_TIMEOUT_MAX (1u << 30) /* ms; keeps signed differences valid */

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10
#define PROTO_TCP 6

/* tprev of the first connection of a wheel list: this bit plus the slot. */
#define WHEEL_HEAD 0x80000000u
/* state of a slot on the free list (never a valid enum conn_state). */
#define STATE_FREE 0xff
/* Folded into the hashed proto/af word so template keys live in a key space
 * of their own and can never collide with a flow's key by construction. */
#define KEY_TEMPLATE 0x10000u

struct conn_table {
	struct conn *pool;
	uint32_t *bucket;           /* (index << 1 | dir) chain heads */
	uint32_t *wheel;            /* nwheel list heads + the one being expired */
	uint32_t capacity;
	uint32_t used_hw;           /* pool[0 .. used_hw) have ever been handed out */
	uint32_t free_head;         /* free list, linked through tnext */
	uint32_t count;
	uint32_t bucket_mask;
	uint32_t nwheel, wheel_mask;
	uint32_t cursor;            /* next wheel slot, in table ms */
	uint64_t origin_ns;
	uint64_t seed[5];
	conn_release_cb release;
	void *ctx;
	struct conn_timeouts to;
	struct conn_stats stats;
};

/* ---- clock -------------------------------------------------------------- */

static inline uint32_t table_ms(const struct conn_table *ct, uint64_t now_ns)
{
	return (uint32_t)(int64_t)((int64_t)(now_ns - ct->origin_ns) / 1000000);
}

static inline bool ms_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* ---- hashing ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 64x64 -> 128 multiply folded back to 64 bits: every input bit reaches
 * every output bit, and with secret per-table keys an attacker cannot aim
 * tuples at one bucket (the reason IPVS keys its jhash with a random). */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint32_t key_hash(const struct conn_table *ct, uint32_t kind,
				const union ulvs_addr *s, uint16_t sport,
				const union ulvs_addr *d, uint16_t dport)
{
	uint64_t h, w;

	h = fold_mul(s->q[0] ^ ct->seed[0], s->q[1] ^ ct->seed[1]);
	h ^= fold_mul(d->q[0] ^ ct->seed[2], d->q[1] ^ ct->seed[3]);
	w = (uint64_t)sport << 48 | (uint64_t)dport << 32 | kind;
	h = fold_mul(h ^ w ^ ct->seed[4], 0x9fb21c651e98df25ull);
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t kind_of(uint8_t af, uint8_t proto)
{
	return (uint32_t)af | (uint32_t)proto << 8;
}

static uint32_t conn_key_hash(const struct conn_table *ct, const struct conn *c,
			      unsigned dir)
{
	if (c->flags & CONN_F_TEMPLATE)
		return key_hash(ct, kind_of(c->af, c->proto) | KEY_TEMPLATE,
				&c->caddr, c->cport, &c->vaddr, c->vport);
	if (dir == CONN_DIR_IN)
		return key_hash(ct, kind_of(c->af, c->proto),
				&c->caddr, c->cport, &c->vaddr, c->vport);
	return key_hash(ct, kind_of(c->af, c->proto),
			&c->daddr, c->dport, &c->laddr, c->lport);
}

static inline uint32_t conn_idx(const struct conn_table *ct, const struct conn *c)
{
	return (uint32_t)(c - ct->pool);
}

static void hash_link(struct conn_table *ct, struct conn *c, unsigned dir)
{
	uint32_t *head = &ct->bucket[conn_key_hash(ct, c, dir) & ct->bucket_mask];

	c->hnext[dir] = *head;
	*head = conn_idx(ct, c) << 1 | dir;
}

/* O(chain): the buckets outnumber 2/3 of the entries, so chains are short. */
static void hash_unlink(struct conn_table *ct, struct conn *c, unsigned dir)
{
	uint32_t want = conn_idx(ct, c) << 1 | dir;
	uint32_t *link = &ct->bucket[conn_key_hash(ct, c, dir) & ct->bucket_mask];

	while (*link != CONN_NONE) {
		if (*link == want) {
			*link = c->hnext[dir];
			return;
		}
		link = &ct->pool[*link >> 1].hnext[*link & 1];
	}
	assert(!"conn not in its hash chain");
}

static void conn_hash(struct conn_table *ct, struct conn *c)
{
	hash_link(ct, c, CONN_DIR_IN);
	if (c->flags & CONN_F_TEMPLATE)
		c->hnext[CONN_DIR_OUT] = CONN_NONE;
	else
		hash_link(ct, c, CONN_DIR_OUT);
	c->flags |= CONN_F_HASHED;
}

static void conn_unhash(struct conn_table *ct, struct conn *c)
{
	if (!(c->flags & CONN_F_HASHED))
		return;
	hash_unlink(ct, c, CONN_DIR_IN);
	if (!(c->flags & CONN_F_TEMPLATE))
		hash_unlink(ct, c, CONN_DIR_OUT);
	c->flags &= ~CONN_F_HASHED;
}

/* ---- timing wheel ------------------------------------------------------- */

/* Slot = the ms at which c is due, so visiting a slot when its ms has come
 * frees exactly on time.  A slot the cursor has passed would wait a whole
 * turn, so anything due earlier is filed at the cursor.  A timer past one
 * turn lands on its slot modulo the wheel and is filed again when visited. */
static void wheel_link(struct conn_table *ct, struct conn *c)
{
	uint32_t slot = ms_before(c->expires, ct->cursor) ? ct->cursor : c->expires;
	uint32_t pos = slot & ct->wheel_mask;
	uint32_t idx = conn_idx(ct, c);
	uint32_t head = ct->wheel[pos];

	c->tnext = head;
	c->tprev = WHEEL_HEAD | pos;
	if (head != CONN_NONE)
		ct->pool[head].tprev = idx;
	ct->wheel[pos] = idx;
}

static void wheel_unlink(struct conn_table *ct, struct conn *c)
{
	if (c->tprev & WHEEL_HEAD)
		ct->wheel[c->tprev & ~WHEEL_HEAD] = c->tnext;
	else
		ct->pool[c->tprev].tnext = c->tnext;
	if (c->tnext != CONN_NONE)
		ct->pool[c->tnext].tprev = c->tprev;
}

/* New expiry now + c->timeout.  Later than before: just store it, the wheel
 * catches up lazily.  Earlier: relink now, or it would wait for the old slot. */
static void conn_rearm(struct conn_table *ct, struct conn *c, uint32_t now)
{
	uint32_t e = now + c->timeout;

	if (ms_before(e, c->expires)) {
		wheel_unlink(ct, c);
		c->expires = e;
		wheel_link(ct, c);
	} else {
		c->expires = e;
	}
}

/* ---- pool --------------------------------------------------------------- */

static struct conn *conn_alloc(struct conn_table *ct)
{
	uint32_t idx;

	if (ct->free_head != CONN_NONE) {
		idx = ct->free_head;
		ct->free_head = ct->pool[idx].tnext;
	} else if (ct->used_hw < ct->capacity) {
		idx = ct->used_hw++;
	} else {
		return NULL;
	}
	ct->count++;
	return &ct->pool[idx];
}

/* Free c, then any unhashed template (conn_free'd while it controlled
 * connections) whose last controlled connection c was. */
static unsigned conn_release(struct conn_table *ct, struct conn *c)
{
	unsigned n = 0;

	for (;;) {
		uint32_t parent = c->control;
		struct conn *t;

		if (ct->release)
			ct->release(ct->ctx, c);
		conn_unhash(ct, c);
		wheel_unlink(ct, c);
		c->state = STATE_FREE;
		c->flags = 0;
		c->control = CONN_NONE;
		c->n_control = 0;
		c->tnext = ct->free_head;
		ct->free_head = conn_idx(ct, c);
		ct->count--;
		n++;
		if (parent == CONN_NONE)
			return n;
		t = &ct->pool[parent];
		if (t->n_control)
			t->n_control--;
		if (t->n_control || (t->flags & CONN_F_HASHED))
			return n;
		c = t;
	}
}

/* ---- table -------------------------------------------------------------- */

static uint32_t pow2_floor(uint64_t x)
{
	uint32_t p = 1;

	while ((uint64_t)p * 2 <= x && p < (1u << 31))
		p *= 2;
	return p;
}

struct conn_table *conn_table_new(uint32_t capacity, uint64_t now_ns,
				  conn_release_cb release, void *ctx)
{
	struct conn_table *ct;
	uint32_t nb, nw;

	if (capacity == 0 || capacity > CONN_CAPACITY_MAX)
		return NULL;
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return NULL;
	/* 2 entries per conn over 2/3..4/3 * capacity buckets: 1.5 to 3 per
	 * chain, never more than 6 bytes of buckets per conn. */
	nb = pow2_floor((uint64_t)capacity + capacity / 2);
	if (nb < 16)
		nb = 16;
	nw = pow2_floor(capacity / 16);
	if (nw < CONN_WHEEL_MIN)
		nw = CONN_WHEEL_MIN;
	if (nw > CONN_WHEEL_MAX)
		nw = CONN_WHEEL_MAX;
	/* malloc, not calloc: the pool is handed out from used_hw, so pages
	 * of a big table are only touched as connections arrive. */
	ct->pool = malloc((size_t)capacity * sizeof(struct conn));
	ct->bucket = malloc((size_t)nb * sizeof(uint32_t));
	ct->wheel = malloc(((size_t)nw + 1) * sizeof(uint32_t));
	if (!ct->pool || !ct->bucket || !ct->wheel) {
		conn_table_free(ct);
		return NULL;
	}
	memset(ct->bucket, 0xff, (size_t)nb * sizeof(uint32_t));
	memset(ct->wheel, 0xff, ((size_t)nw + 1) * sizeof(uint32_t));
	ct->capacity = capacity;
	ct->free_head = CONN_NONE;
	ct->bucket_mask = nb - 1;
	ct->nwheel = nw;
	ct->wheel_mask = nw - 1;
	ct->origin_ns = now_ns;
	ct->release = release;
	ct->ctx = ctx;
	conn_timeouts_default(&ct->to);
	conn_table_seed(ct, now_ns ^ (uint64_t)(uintptr_t)ct);
	return ct;
}

void conn_table_free(struct conn_table *ct)
{
	if (!ct)
		return;
	free(ct->pool);
	free(ct->bucket);
	free(ct->wheel);
	free(ct);
}

int conn_table_seed(struct conn_table *ct, uint64_t seed)
{
	if (ct->count)
		return -EBUSY;
	for (unsigned i = 0; i < 5; i++)
		ct->seed[i] = splitmix64(&seed);
	return 0;
}

void conn_timeouts_default(struct conn_timeouts *to)
{
	static const uint32_t sec[CS_MAX] = {
		[CS_NONE] = 2, [CS_ESTABLISHED] = 15 * 60, [CS_SYN_SENT] = 2 * 60,
		[CS_SYN_RECV] = 60, [CS_FIN_WAIT] = 2 * 60, [CS_TIME_WAIT] = 2 * 60,
		[CS_CLOSE] = 10, [CS_CLOSE_WAIT] = 60, [CS_LAST_ACK] = 30,
		[CS_LISTEN] = 2 * 60, [CS_SYNACK] = 120,
		[CS_UDP] = 5 * 60,      /* ip_vs_proto_udp.c IP_VS_UDP_S_NORMAL */
		[CS_ICMP] = 60,         /* ICMP entries in IPVS' proto table */
	};

	for (unsigned i = 0; i < CS_MAX; i++)
		to->ms[i] = sec[i] * 1000;
}

void conn_table_set_timeouts(struct conn_table *ct, const struct conn_timeouts *to)
{
	for (unsigned i = 0; i < CS_MAX; i++)
		if (to->ms[i])
			ct->to.ms[i] = to->ms[i] < CONN_TIMEOUT_MAX ? to->ms[i] : CONN_TIMEOUT_MAX;
}

const struct conn_timeouts *conn_table_timeouts(const struct conn_table *ct)
{
	return &ct->to;
}

/* ---- lookup ------------------------------------------------------------- */

uint32_t conn_prefetch_bucket(const struct conn_table *ct, uint8_t af, uint8_t proto,
			      const union ulvs_addr *saddr, uint16_t sport,
			      const union ulvs_addr *daddr, uint16_t dport)
{
	uint32_t b = key_hash(ct, kind_of(af, proto), saddr, sport, daddr, dport) & ct->bucket_mask;
	__builtin_prefetch(&ct->bucket[b]);
	return b;
}

/* Every cache line of chain node e's entry: it spans two or three (sizeof
 * is not a multiple of 64) and a lookup reads both ends of it, the
 * addresses at the start, ports, flags and chain links further on. */
static inline void prefetch_node(const struct conn_table *ct, uint32_t e)
{
	const char *c = (const char *)&ct->pool[e >> 1];

	__builtin_prefetch(c);
	__builtin_prefetch(c + 64);
	__builtin_prefetch(c + sizeof(struct conn) - 1);
}

void conn_prefetch_entry(const struct conn_table *ct, uint32_t bucket)
{
	uint32_t e = ct->bucket[bucket & ct->bucket_mask];
	if (e != CONN_NONE)
		prefetch_node(ct, e);
}

void conn_prefetch_next(const struct conn_table *ct, uint32_t bucket)
{
	uint32_t e = ct->bucket[bucket & ct->bucket_mask];
	if (e == CONN_NONE)
		return;
	e = ct->pool[e >> 1].hnext[e & 1];
	if (e != CONN_NONE)
		prefetch_node(ct, e);
}

struct conn *conn_lookup(struct conn_table *ct, uint8_t af, uint8_t proto,
			 const union ulvs_addr *saddr, uint16_t sport,
			 const union ulvs_addr *daddr, uint16_t dport, enum conn_dir *dir)
{
	uint32_t e = ct->bucket[key_hash(ct, kind_of(af, proto), saddr, sport, daddr, dport)
				& ct->bucket_mask];

	while (e != CONN_NONE) {
		struct conn *c = &ct->pool[e >> 1];
		unsigned d = e & 1;

		if (c->proto == proto && c->af == af && !(c->flags & CONN_F_TEMPLATE)) {
			bool hit = d == CONN_DIR_IN
				? c->cport == sport && c->vport == dport &&
				  addr_eq(&c->caddr, saddr) && addr_eq(&c->vaddr, daddr)
				: c->dport == sport && c->lport == dport &&
				  addr_eq(&c->daddr, saddr) && addr_eq(&c->laddr, daddr);
			if (hit) {
				if (dir)
					*dir = (enum conn_dir)d;
				return c;
			}
		}
		e = c->hnext[d];
	}
	return NULL;
}

struct conn *conn_tmpl_lookup(struct conn_table *ct, uint8_t af, uint8_t proto,
			      const union ulvs_addr *caddr, uint16_t cport,
			      const union ulvs_addr *vaddr, uint16_t vport)
{
	uint32_t e = ct->bucket[key_hash(ct, kind_of(af, proto) | KEY_TEMPLATE,
					 caddr, cport, vaddr, vport) & ct->bucket_mask];

	while (e != CONN_NONE) {
		struct conn *c = &ct->pool[e >> 1];

		if ((c->flags & CONN_F_TEMPLATE) && c->proto == proto && c->af == af &&
		    c->cport == cport && c->vport == vport &&
		    addr_eq(&c->caddr, caddr) && addr_eq(&c->vaddr, vaddr))
			return c;
		e = c->hnext[e & 1];
	}
	return NULL;
}

/* ---- insert ------------------------------------------------------------- */

static struct conn *conn_fill(struct conn_table *ct, const struct conn *tmpl,
			      uint16_t flags, uint32_t timeout, uint32_t now)
{
	struct conn *c = conn_alloc(ct);

	if (!c) {
		ct->stats.table_full++;
		return NULL;
	}
	*c = *tmpl;
	c->flags = flags;
	c->control = CONN_NONE;
	c->n_control = 0;
	c->timeout = timeout < CONN_TIMEOUT_MAX ? timeout : CONN_TIMEOUT_MAX;
	c->expires = now + c->timeout;
	conn_hash(ct, c);
	wheel_link(ct, c);
	return c;
}

struct conn *conn_insert(struct conn_table *ct, const struct conn *tmpl, uint64_t now_ns)
{
	uint16_t flags = tmpl->flags & ~(CONN_F_TEMPLATE | CONN_F_HASHED | CONN_F_INACTIVE);
	uint8_t state = tmpl->state < CS_MAX ? tmpl->state : CS_NONE;
	struct conn *c;

	/* IPVS binds every new connection inactive (the dest's conn_flags
	 * carry IP_VS_CONN_F_INACTIVE); a synced ESTABLISHED one is active. */
	if (state != CS_ESTABLISHED)
		flags |= CONN_F_INACTIVE;
	c = conn_fill(ct, tmpl, flags, ct->to.ms[state], table_ms(ct, now_ns));
	if (c) {
		c->state = state;
		ct->stats.created++;
	}
	return c;
}

struct conn *conn_tmpl_insert(struct conn_table *ct, const struct conn *tmpl,
			      uint32_t timeout_ms, uint64_t now_ns)
{
	uint16_t flags = (tmpl->flags & ~(CONN_F_HASHED | CONN_F_INACTIVE)) | CONN_F_TEMPLATE;
	struct conn *c = conn_fill(ct, tmpl, flags, timeout_ms, table_ms(ct, now_ns));

	if (c) {
		if (c->state >= CS_MAX)
			c->state = CS_NONE;
		ct->stats.templates_created++;
	}
	return c;
}

void conn_set_control(struct conn_table *ct, struct conn *c, struct conn *t)
{
	if (c->control != CONN_NONE) {
		struct conn *old = &ct->pool[c->control];

		c->control = CONN_NONE;
		if (old->n_control)
			old->n_control--;
		if (!old->n_control && !(old->flags & CONN_F_HASHED))
			conn_release(ct, old);
	}
	if (t) {
		c->control = conn_idx(ct, t);
		t->n_control++;
	}
}

/* ---- state machine ------------------------------------------------------ */

/* ip_vs_proto_tcp.c tcp_states[], one row per (table, event), one column
 * per current state.  Events in the kernel's row order: syn, fin, ack, rst. */
enum { EV_SYN, EV_FIN, EV_ACK, EV_RST, EV_MAX };
enum { TBL_INPUT, TBL_OUTPUT, TBL_INPUT_ONLY, TBL_MAX };

#define NO CS_NONE
#define ES CS_ESTABLISHED
#define SS CS_SYN_SENT
#define SR CS_SYN_RECV
#define FW CS_FIN_WAIT
#define TW CS_TIME_WAIT
#define CL CS_CLOSE
#define CW CS_CLOSE_WAIT
#define LA CS_LAST_ACK
#define LI CS_LISTEN
#define SA CS_SYNACK

static const uint8_t tcp_next[TBL_MAX][EV_MAX][CS_SYNACK + 1] = {
	[TBL_INPUT] = {
		/*          NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA */
		[EV_SYN] = { SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR },
		[EV_FIN] = { CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW },
		[EV_ACK] = { CL, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES },
		[EV_RST] = { CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR },
	},
	[TBL_OUTPUT] = {
		[EV_SYN] = { SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR },
		[EV_FIN] = { TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW },
		[EV_ACK] = { ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES },
		[EV_RST] = { CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL },
	},
	/* DR/TUN: only the client's half is seen, so its FIN moves an
	 * ESTABLISHED connection to FIN_WAIT rather than CLOSE_WAIT. */
	[TBL_INPUT_ONLY] = {
		[EV_SYN] = { SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR },
		[EV_FIN] = { CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW },
		[EV_ACK] = { CL, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES },
		[EV_RST] = { CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL },
	},
};

#undef NO
#undef ES
#undef SS
#undef SR
#undef FW
#undef TW
#undef CL
#undef CW
#undef LA
#undef LI
#undef SA

enum conn_state conn_tcp_next(enum conn_state cur, enum conn_dir dir, uint8_t tcp_flags,
			      bool in_only)
{
	unsigned tbl = dir == CONN_DIR_OUT ? TBL_OUTPUT : in_only ? TBL_INPUT_ONLY : TBL_INPUT;
	unsigned ev;

	if ((unsigned)cur > CS_SYNACK)
		return cur;
	/* tcp_state_idx(): RST beats SYN beats FIN beats ACK; a segment with
	 * none of them sends the connection to CLOSE (set_tcp_state's default). */
	if (tcp_flags & TCPF_RST)
		ev = EV_RST;
	else if (tcp_flags & TCPF_SYN)
		ev = EV_SYN;
	else if (tcp_flags & TCPF_FIN)
		ev = EV_FIN;
	else if (tcp_flags & TCPF_ACK)
		ev = EV_ACK;
	else
		return CS_CLOSE;
	return (enum conn_state)tcp_next[tbl][ev][cur];
}

void conn_touch(struct conn_table *ct, struct conn *c, uint64_t now_ns)
{
	if (!(c->flags & CONN_F_TEMPLATE) && c->state < CS_MAX)
		c->timeout = ct->to.ms[c->state];
	conn_rearm(ct, c, table_ms(ct, now_ns));
}

enum conn_state conn_update(struct conn_table *ct, struct conn *c, enum conn_dir dir,
			    uint8_t tcp_flags, uint64_t now_ns)
{
	enum conn_state old = (enum conn_state)c->state;
	enum conn_state next;
	bool in_only = false;

	if (c->proto != PROTO_TCP || (c->flags & CONN_F_TEMPLATE)) {
		conn_touch(ct, c, now_ns);
		return old;
	}
	/* set_tcp_state: IP_VS_CONN_F_NOOUTPUT is set for every forwarding
	 * method but masquerading and cleared by the first reply we see. */
	if (dir == CONN_DIR_OUT)
		c->flags |= CONN_F_OUT_SEEN;
	else if (c->fwd != FWD_NAT && c->fwd != FWD_FNAT && !(c->flags & CONN_F_OUT_SEEN))
		in_only = true;
	next = conn_tcp_next(old, dir, tcp_flags, in_only);
	if (next != CS_ESTABLISHED)
		c->flags |= CONN_F_INACTIVE;
	else
		c->flags &= ~CONN_F_INACTIVE;
	c->state = next;
	c->timeout = ct->to.ms[next];
	conn_rearm(ct, c, table_ms(ct, now_ns));
	return old;
}

enum conn_state conn_sync_state(struct conn_table *ct, struct conn *c, enum conn_state s,
				uint32_t expire_ms, uint64_t now_ns)
{
	enum conn_state old = (enum conn_state)c->state;
	uint32_t now = table_ms(ct, now_ns);
	uint32_t e;

	if (!(c->flags & CONN_F_TEMPLATE)) {
		if ((unsigned)s >= CS_MAX)
			s = CS_NONE;
		if (s != CS_ESTABLISHED)
			c->flags |= CONN_F_INACTIVE;
		else
			c->flags &= ~CONN_F_INACTIVE;
		c->state = (uint8_t)s;
		c->timeout = ct->to.ms[s];
	}
	if (expire_ms > CONN_TIMEOUT_MAX)
		expire_ms = CONN_TIMEOUT_MAX;
	/* conn_rearm with an explicit lifetime: the peer's remaining time, not
	 * this state's full timeout. */
	e = now + expire_ms;
	if (ms_before(e, c->expires)) {
		wheel_unlink(ct, c);
		c->expires = e;
		wheel_link(ct, c);
	} else {
		c->expires = e;
	}
	return old;
}

/* ---- expiry ------------------------------------------------------------- */

unsigned conn_expire(struct conn_table *ct, uint64_t now_ns, unsigned max)
{
	uint32_t now = table_ms(ct, now_ns);
	uint32_t *pending = &ct->wheel[ct->nwheel];
	unsigned freed = 0, visits = 0, steps = 0;
	unsigned max_visits = 4 * max + 64;

	if (!max)
		return 0;
	/* After a long pause one turn of the wheel visits every list once;
	 * anything due in a skipped slot sits at the same position. */
	if ((int32_t)(now - ct->cursor) >= (int32_t)ct->nwheel)
		ct->cursor = now - ct->nwheel + 1;
	for (;;) {
		if (*pending == CONN_NONE) {
			uint32_t pos;

			if (ms_before(now, ct->cursor) || steps++ >= CONN_EXPIRE_STEPS)
				break;
			pos = ct->cursor & ct->wheel_mask;
			ct->cursor++;
			if (ct->wheel[pos] == CONN_NONE)
				continue;
			/* Detach the slot: what we file again may land on the
			 * same position (a turn later) and must not be seen twice. */
			*pending = ct->wheel[pos];
			ct->wheel[pos] = CONN_NONE;
			ct->pool[*pending].tprev = WHEEL_HEAD | ct->nwheel;
		}
		while (*pending != CONN_NONE) {
			struct conn *c = &ct->pool[*pending];
			unsigned n;

			if (freed >= max || visits >= max_visits)
				return freed;
			visits++;
			if (ms_before(now, c->expires)) {
				/* refreshed since it was filed */
				wheel_unlink(ct, c);
				wheel_link(ct, c);
			} else if ((c->flags & CONN_F_TEMPLATE) && c->n_control) {
				/* ip_vs_conn_expire: "do I control anybody?" */
				wheel_unlink(ct, c);
				c->expires = now + c->timeout;
				wheel_link(ct, c);
			} else {
				n = conn_release(ct, c);
				ct->stats.expired += n;
				freed += n;
			}
		}
	}
	return freed;
}

bool conn_expire_backlog(const struct conn_table *ct, uint64_t now_ns)
{
	return ct->wheel[ct->nwheel] != CONN_NONE ||
	       !ms_before(table_ms(ct, now_ns), ct->cursor);
}

void conn_free(struct conn_table *ct, struct conn *c)
{
	if (c->state == STATE_FREE)
		return;
	if ((c->flags & CONN_F_TEMPLATE) && c->n_control) {
		conn_unhash(ct, c);
		return;
	}
	conn_release(ct, c);
}

/* ---- listing ------------------------------------------------------------ */

void conn_foreach(struct conn_table *ct, int (*fn)(void *arg, const struct conn *c), void *arg)
{
	for (uint32_t i = 0; i < ct->used_hw; i++)
		if (ct->pool[i].state != STATE_FREE && fn(arg, &ct->pool[i]))
			return;
}

bool conn_walk(struct conn_table *ct, uint32_t *cursor, uint32_t max_slots,
	       int (*fn)(void *arg, const struct conn *c), void *arg)
{
	uint32_t i = *cursor;

	for (uint32_t n = 0; i < ct->used_hw && n < max_slots; i++, n++)
		if (ct->pool[i].state != STATE_FREE && fn(arg, &ct->pool[i])) {
			*cursor = i + 1;
			return *cursor >= ct->used_hw ? (*cursor = 0, true) : false;
		}
	if (i >= ct->used_hw) {
		*cursor = 0;
		return true;
	}
	*cursor = i;
	return false;
}

uint32_t conn_count(const struct conn_table *ct)
{
	return ct->count;
}

uint32_t conn_capacity(const struct conn_table *ct)
{
	return ct->capacity;
}

const struct conn_stats *conn_table_stats(const struct conn_table *ct)
{
	return &ct->stats;
}

uint32_t conn_remaining_ms(const struct conn_table *ct, const struct conn *c, uint64_t now_ns)
{
	int32_t d = (int32_t)(c->expires - table_ms(ct, now_ns));

	return d > 0 ? (uint32_t)d : 0;
}

const char *conn_state_name(enum conn_state s)
{
	static const char *const names[CS_MAX] = {
		[CS_NONE] = "NONE", [CS_ESTABLISHED] = "ESTABLISHED",
		[CS_SYN_SENT] = "SYN_SENT", [CS_SYN_RECV] = "SYN_RECV",
		[CS_FIN_WAIT] = "FIN_WAIT", [CS_TIME_WAIT] = "TIME_WAIT",
		[CS_CLOSE] = "CLOSE", [CS_CLOSE_WAIT] = "CLOSE_WAIT",
		[CS_LAST_ACK] = "LAST_ACK", [CS_LISTEN] = "LISTEN",
		[CS_SYNACK] = "SYNACK", [CS_UDP] = "UDP", [CS_ICMP] = "ICMP",
	};

	return (unsigned)s < CS_MAX ? names[s] : "ERR!";
}

size_t conn_table_memory(const struct conn_table *ct)
{
	return sizeof(*ct) + (size_t)ct->capacity * sizeof(struct conn) +
	       ((size_t)ct->bucket_mask + 1) * sizeof(uint32_t) +
	       ((size_t)ct->nwheel + 1) * sizeof(uint32_t);
}
