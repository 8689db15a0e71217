/* The health checker state machine, the real-server aggregate and the
 * quorum rule, as pure functions of (state, event, now).
 *
 * Everything keepalived decides about timing and up/down lives here, apart
 * from the I/O of each checker type, so it can be tested with virtual time
 * (tests/unit/test_check.c) and so every checker type (TCP, HTTP, MISC...)
 * shares one reading of delay_loop, retry, delay_before_retry, warmup and
 * alpha.  The semantics follow keepalived's checkers (check_tcp.c and kin): a failure while
 * retries remain reschedules after delay_before_retry; the last one marks
 * the checker down and reschedules after delay_loop; a success marks it up
 * and resets the retry count.  At start-up a single failure is enough
 * (keepalived sets retry_it = retry before the first run), because a server
 * assumed up has shown no evidence yet.
 * No I/O, no allocation, no clock reads: times are passed in, in ns.
 */
#ifndef ULVS_CHECK_CHECK_FSM_H
#define ULVS_CHECK_CHECK_FSM_H

#include <stdbool.h>
#include <stdint.h>

enum check_result {
	CHECK_RESULT_OK = 0,
	CHECK_RESULT_FAIL,         /* the check ran and said no (refused, bad status...) */
	CHECK_RESULT_TIMEOUT,      /* no answer within connect_timeout / misc_timeout */
};

struct check_fsm_cfg {
	uint64_t delay_loop_ns;
	uint64_t delay_before_retry_ns;
	uint64_t warmup_ns;        /* first run after a random delay in [0, warmup] */
	uint32_t retry;            /* failures tolerated before down (nb_get_retry) */
	bool alpha;                /* start down; first success brings it up */
};

struct check_fsm {
	bool up;
	bool has_run;              /* a result has been seen since start */
	uint32_t retry_it;         /* failures so far in the current run of failures */
};

/* What the caller must do after a step. */
struct check_fsm_out {
	uint64_t next_ns;          /* absolute time of the next check */
	bool changed;              /* up flipped: report to the real server */
	bool first;                /* first result confirmed the initial state and
				    * keepalived notifies it anyway (alpha start
				    * that failed: notify_down runs once) */
	bool retrying;             /* a failure absorbed by the retry budget */
};

/* Start state: down with alpha, else up; one failure is enough initially. */
void check_fsm_init(struct check_fsm *f, const struct check_fsm_cfg *cfg);

/* The time of the first check: now + a pseudo-random share of warmup, drawn
 * from *rng (a xorshift state the caller seeds; deterministic for tests).
 * keepalived staggers checkers this way so they do not all fire together. */
uint64_t check_fsm_first_run(const struct check_fsm_cfg *cfg, uint64_t now_ns, uint64_t *rng);

/* One check finished at now with result r. */
struct check_fsm_out check_fsm_step(struct check_fsm *f, const struct check_fsm_cfg *cfg,
				    enum check_result r, uint64_t now_ns);

/* Worst-case time from a server failing just after a successful check to
 * the checker going down: the next check is at most delay_loop away, then
 * retry+1 attempts each taking up to timeout_ns, separated by retry waits of
 * delay_before_retry. */
uint64_t check_fsm_detect_bound(const struct check_fsm_cfg *cfg, uint64_t timeout_ns);

/* ---- a real server: up while all of its checkers are up -------------- */

struct check_rs_agg {
	uint32_t n_checkers;
	uint32_t n_failed;         /* checkers currently down */
};

static inline bool check_rs_alive(const struct check_rs_agg *a)
{
	return a->n_failed == 0;
}

/* A checker of this server went from was_up to now_up; returns true when
 * that changed whether the server is alive (keepalived's
 * num_failed_checkers). */
bool check_rs_update(struct check_rs_agg *a, bool was_up, bool now_up);

/* ---- quorum with hysteresis (keepalived's update_quorum_state) ------- */

enum check_quorum_change { CHECK_QUORUM_SAME = 0, CHECK_QUORUM_GAINED, CHECK_QUORUM_LOST };

/* The state at start: up when the live weight reaches quorum + hysteresis. */
bool check_quorum_initial(uint64_t weight_sum, uint32_t quorum, uint32_t hysteresis);
/* The live weight is now weight_sum: gained when it reaches
 * quorum + hysteresis while down, lost when it falls below
 * quorum - hysteresis (or to zero) while up. */
enum check_quorum_change check_quorum_step(bool *up, uint64_t weight_sum, uint32_t quorum,
					   uint32_t hysteresis);

#endif
