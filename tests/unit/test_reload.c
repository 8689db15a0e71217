/* Unit tests of the reload diff (daemon/reload.c): configs are parsed and
 * built into tables as the daemon does it (replay build, no kernel), the
 * diff between a "live" table and a new config's is applied with
 * ctl_ops_apply(), and the result must be the new config's table - with the
 * connections' counters of surviving real servers untouched, things
 * ulvsadm added left alone, busy removed servers drained at weight 0, and
 * which parts need a restart named by reload_compare().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "core/sched/sched.h"
#include "core/service.h"
#include "ctl/ctl_ops.h"
#include "daemon/build.h"
#include "daemon/reload.h"

struct built {
	struct conf *c;
	struct svc_table *t;
	struct fib f;
	struct engine_params p;
};

static void build(struct built *b, const char *text)
{
	struct conf_load_opts o = { .config_id = "t", .no_include = true };
	struct build_opts bo = { .replay = true, .all_healthy = true };
	int ne = 0;

	b->c = conf_load_buffer("t.conf", text, strlen(text), &o, stderr, &ne, NULL);
	assert_non_null(b->c);
	b->t = svc_table_new();
	assert_non_null(b->t);
	assert_int_equal(build_dataplane(b->c, &bo, b->t, &b->f, &b->p, stderr), 0);
}

static void unbuild(struct built *b)
{
	svc_table_free(b->t);
	conf_free(b->c);
}

static struct svc *find(struct svc_table *t, const char *vip, uint16_t port)
{
	struct svc k;
	enum ulvs_af af;

	memset(&k, 0, sizeof(k));
	k.proto = 6;
	k.port = htons(port);
	assert_int_equal(addr_parse(vip, &af, &k.addr), 0);
	k.af = (uint8_t)af;
	return svc_find(t, &k);
}

static struct dest *dest(struct svc_table *t, struct svc *s, const char *ip, uint16_t port)
{
	union ulvs_addr a;
	enum ulvs_af af;

	assert_int_equal(addr_parse(ip, &af, &a), 0);
	return svc_find_dest(t, s, af, &a, htons(port));
}

/* Apply the diff live -> next (old: what live was built from). */
static uint32_t apply_diff(struct svc_table *live, struct svc_table *old, struct built *next,
			   bool drain)
{
	struct ctl_cmd *c = NULL;
	struct ctl_error ce;
	uint32_t n = 0;

	assert_int_equal(reload_diff(live, old, next->t, &next->f, drain, &c, &n), 0);
	if (n)
		assert_int_equal(ctl_ops_apply(live, NULL, &next->f, c, n, &ce), 0);
	free(c);
	return n;
}

#define HEAD "ulvs_defs {\n interface eth0 {\n  address 10.0.0.1/24\n }\n}\n"

static const char *A = HEAD
	"virtual_server 10.0.0.100 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
	" real_server 10.0.0.11 80 {\n  weight 1\n }\n"
	" real_server 10.0.0.12 80 {\n  weight 1\n }\n}\n"
	"virtual_server 10.0.0.100 81 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
	" real_server 10.0.0.11 80 {\n  weight 1\n }\n}\n";

static const char *B = HEAD
	"virtual_server 10.0.0.100 80 {\n lb_algo wlc\n lb_kind NAT\n protocol TCP\n"
	" real_server 10.0.0.12 80 {\n  weight 3\n }\n"
	" real_server 10.0.0.13 80 {\n  weight 1\n }\n}\n"
	"virtual_server 10.0.0.100 82 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
	" real_server 10.0.0.13 80 {\n  weight 1\n }\n}\n";

static void test_diff_turns_live_into_next(void **state)
{
	struct built a, b, live;
	struct svc *s;
	struct dest *d12;

	build(&a, A);
	build(&live, A);
	build(&b, B);
	s = find(live.t, "10.0.0.100", 80);
	d12 = dest(live.t, s, "10.0.0.12", 80);
	d12->activeconns = 5; /* a connection on a server that stays */
	d12->stats.conns = 7;

	/* del 81, del .11 (idle: no drain), edit svc 80 (wlc), edit .12, add .13,
	 * add 82 + its server */
	assert_int_equal(apply_diff(live.t, a.t, &b, true), 7);
	assert_null(find(live.t, "10.0.0.100", 81));
	s = find(live.t, "10.0.0.100", 80);
	assert_non_null(s);
	assert_string_equal(s->sched->name, "wlc");
	assert_int_equal(s->n_dests, 2);
	assert_null(dest(live.t, s, "10.0.0.11", 80));
	assert_ptr_equal(dest(live.t, s, "10.0.0.12", 80), d12); /* same slot */
	assert_int_equal(d12->weight, 3);
	assert_int_equal(d12->activeconns, 5);
	assert_int_equal(d12->stats.conns, 7);
	assert_non_null(dest(live.t, s, "10.0.0.13", 80));
	assert_non_null(find(live.t, "10.0.0.100", 82));

	/* now equal: an empty batch */
	assert_int_equal(apply_diff(live.t, b.t, &b, true), 0);
	unbuild(&a);
	unbuild(&b);
	unbuild(&live);
}

static void test_busy_removed_server_drains(void **state)
{
	struct built a, b, live;
	struct svc *s;
	struct dest *d11;

	build(&a, A);
	build(&live, A);
	build(&b, B);
	s = find(live.t, "10.0.0.100", 80);
	d11 = dest(live.t, s, "10.0.0.11", 80);
	d11->activeconns = 1;
	apply_diff(live.t, a.t, &b, true);
	/* still in the set, no new connections */
	assert_ptr_equal(dest(live.t, s, "10.0.0.11", 80), d11);
	assert_int_equal(d11->weight, 0);
	assert_true(d11->flags & DEST_F_AVAILABLE);
	/* without drain it goes to the trash at once */
	apply_diff(live.t, NULL, &b, false);
	assert_null(dest(live.t, s, "10.0.0.11", 80));
	assert_true(d11->flags & DEST_F_TRASH);
	unbuild(&a);
	unbuild(&b);
	unbuild(&live);
}

static void test_ulvsadm_additions_are_left_alone(void **state)
{
	struct built a, live;
	struct svc *s;
	struct svc tmpl;
	struct dest dt;

	build(&a, A);
	build(&live, A);
	/* ulvsadm -A -t 10.0.0.100:90 and -a -t :80 -r 10.0.0.50:80 */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.af = ULVS_AF_INET;
	tmpl.proto = 6;
	tmpl.port = htons(90);
	tmpl.addr = find(live.t, "10.0.0.100", 80)->addr;
	assert_int_equal(svc_add(live.t, &tmpl, "rr", &s), 0);
	svc_commit(live.t, s);
	s = find(live.t, "10.0.0.100", 80);
	memset(&dt, 0, sizeof(dt));
	dt = *dest(live.t, s, "10.0.0.11", 80);
	{
		enum ulvs_af af;

		assert_int_equal(addr_parse("10.0.0.50", &af, &dt.addr), 0);
	}
	assert_int_equal(svc_add_dest(live.t, s, &dt, NULL), 0);
	svc_commit(live.t, s);
	/* a checker holds .12 at weight 0 (inhibit_on_failure): not the
	 * config's change, so not reset */
	dest(live.t, s, "10.0.0.12", 80)->weight = 0;

	assert_int_equal(apply_diff(live.t, a.t, &a, true), 0);
	assert_non_null(find(live.t, "10.0.0.100", 90));
	assert_non_null(dest(live.t, s, "10.0.0.50", 80));
	assert_int_equal(dest(live.t, s, "10.0.0.12", 80)->weight, 0);
	/* with no old table everything not in the config goes */
	assert_int_equal(apply_diff(live.t, NULL, &a, true), 3);
	assert_null(find(live.t, "10.0.0.100", 90));
	assert_null(dest(live.t, s, "10.0.0.50", 80));
	assert_int_equal(dest(live.t, s, "10.0.0.12", 80)->weight, 1);
	unbuild(&a);
	unbuild(&live);
}

static void test_compare_names_restart_parts(void **state)
{
	struct built a, b, c, d;

	build(&a, A);
	build(&b, B);
	assert_int_equal(reload_compare(a.c, b.c), 0); /* services only */
	build(&c, "ulvs_defs {\n interface eth0 {\n  address 10.0.0.1/24\n }\n"
		  " conn_table_size 8192\n control_socket /tmp/x.sock\n}\n");
	assert_int_equal(reload_compare(a.c, c.c), RELOAD_RESTART_ENGINE | RELOAD_RESTART_LISTEN);
	build(&d, "ulvs_defs {\n interface eth1 {\n  address 10.0.0.1/24\n }\n}\n"
		  "vrrp_instance VI {\n interface eth1\n virtual_router_id 5\n"
		  " virtual_ipaddress {\n  10.0.0.100\n }\n}\n");
	assert_int_equal(reload_compare(a.c, d.c), RELOAD_RESTART_FIB | RELOAD_RESTART_VRRP);
	assert_int_equal(reload_compare(d.c, d.c), 0);
	unbuild(&a);
	unbuild(&b);
	unbuild(&c);
	unbuild(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_turns_live_into_next),
		cmocka_unit_test(test_busy_removed_server_drains),
		cmocka_unit_test(test_ulvsadm_additions_are_left_alone),
		cmocka_unit_test(test_compare_names_restart_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
