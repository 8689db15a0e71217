/* The checker state machine, real-server aggregate and quorum rule (see
 * check_fsm.h).  Pure: the event loop, sockets and scripts are elsewhere.
 */
#include "check/check_fsm.h"

void check_fsm_init(struct check_fsm *f, const struct check_fsm_cfg *cfg)
{
	f->up = !cfg->alpha;
	f->has_run = false;
	/* keepalived (check_api.c): "for non alpha mode, one failure is enough
	 * initially"; for alpha the checker is down already. */
	f->retry_it = cfg->retry;
}

/* xorshift64: a small deterministic generator; the seed must not be 0. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

uint64_t check_fsm_first_run(const struct check_fsm_cfg *cfg, uint64_t now_ns, uint64_t *rng)
{
	if (!cfg->warmup_ns)
		return now_ns;
	return now_ns + rng_next(rng) % (cfg->warmup_ns + 1);
}

struct check_fsm_out check_fsm_step(struct check_fsm *f, const struct check_fsm_cfg *cfg,
				    enum check_result r, uint64_t now_ns)
{
	struct check_fsm_out o = { 0 };
	bool ok = r == CHECK_RESULT_OK;

	if (!ok && f->retry_it < cfg->retry) {
		/* Still within the retry budget: look again sooner, say nothing.
		 * keepalived counts retries whether the checker is up or down, so
		 * a down checker also waits delay_before_retry between attempts. */
		f->retry_it++;
		o.retrying = true;
		o.next_ns = now_ns + cfg->delay_before_retry_ns;
		return o;
	}
	f->retry_it = 0;
	o.next_ns = now_ns + cfg->delay_loop_ns;
	if (f->up != ok) {
		f->up = ok;
		o.changed = true;
	} else if (!f->has_run && !ok) {
		/* keepalived's update_svr_checker_state: the first result of an
		 * alpha checker that stays down still fires notify_down once. */
		o.first = true;
	}
	f->has_run = true;
	return o;
}

uint64_t check_fsm_detect_bound(const struct check_fsm_cfg *cfg, uint64_t timeout_ns)
{
	return cfg->delay_loop_ns + (uint64_t)(cfg->retry + 1) * timeout_ns +
	       (uint64_t)cfg->retry * cfg->delay_before_retry_ns;
}

bool check_rs_update(struct check_rs_agg *a, bool was_up, bool now_up)
{
	bool before = check_rs_alive(a);

	if (was_up == now_up)
		return false;
	if (!now_up)
		a->n_failed++;
	else if (a->n_failed)
		a->n_failed--;
	return before != check_rs_alive(a);
}

bool check_quorum_initial(uint64_t weight_sum, uint32_t quorum, uint32_t hysteresis)
{
	return weight_sum >= (uint64_t)quorum + hysteresis;
}

enum check_quorum_change check_quorum_step(bool *up, uint64_t weight_sum, uint32_t quorum,
					   uint32_t hysteresis)
{
	if (!*up) {
		if (weight_sum >= (uint64_t)quorum + hysteresis) {
			*up = true;
			return CHECK_QUORUM_GAINED;
		}
		return CHECK_QUORUM_SAME;
	}
	/* threshold quorum - hysteresis may be negative: then only an empty
	 * pool loses the quorum (keepalived: "!weight_sum || sum < threshold") */
	int64_t threshold = (int64_t)quorum - (int64_t)hysteresis;
	if (!weight_sum || (int64_t)weight_sum < threshold) {
		*up = false;
		return CHECK_QUORUM_LOST;
	}
	return CHECK_QUORUM_SAME;
}
