/* Unit tests of the keepalived.conf parser (conf/) and of build_dataplane().
 *
 * Three kinds: the corpus in tests/conf/ (good configs must load with no
 * error and round-trip through conf_dump(); each bad config must give
 * exactly the errors its .expect file lists, at those lines and columns),
 * targeted checks of keepalived's defaults and of every error kind written
 * inline, and the model -> data plane translation checked on the resulting
 * svc_table and fib.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "core/conn.h"
#include "core/fib.h"
#include "core/service.h"
#include "daemon/build.h"
#include "testutil.h"

static char srcdir[PATH_MAX + 32];

/* tests/conf, found from the environment or from where this file was compiled */
static const char *corpus_dir(void)
{
	if (srcdir[0])
		return srcdir;
	const char *env = getenv("ULVS_SRCDIR");
	if (env) {
		snprintf(srcdir, sizeof(srcdir), "%s/tests/conf", env);
		return srcdir;
	}
	char f[PATH_MAX - 32];
	snprintf(f, sizeof(f), "%s", __FILE__);
	char *slash = strrchr(f, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(f, sizeof(f), ".");
	snprintf(srcdir, sizeof(srcdir), "%s/../conf", f);
	return srcdir;
}

struct loaded {
	struct conf *c;
	int ne, nw;
	char *diag;
	size_t diag_len;
};

static void load_file(struct loaded *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	FILE *err = open_memstream(&l->diag, &l->diag_len);
	assert_non_null(err);
	l->c = conf_load(path, err, &l->ne, &l->nw);
	fclose(err);
}

static void load_text(struct loaded *l, const char *text)
{
	memset(l, 0, sizeof(*l));
	FILE *err = open_memstream(&l->diag, &l->diag_len);
	assert_non_null(err);
	struct conf_load_opts o = { .config_id = "lb1", .no_include = false };
	l->c = conf_load_buffer("t.conf", text, strlen(text), &o, err, &l->ne, &l->nw);
	fclose(err);
}

static void unload(struct loaded *l)
{
	conf_free(l->c);
	free(l->diag);
	memset(l, 0, sizeof(*l));
}

static void expect_diag(const struct loaded *l, const char *line)
{
	if (!strstr(l->diag, line))
		fail_msg("expected diagnostic '%s' in:\n%s", line, l->diag);
}

static char *dump_str(const struct conf *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	assert_non_null(f);
	assert_int_equal(conf_dump(c, f), 0);
	fclose(f);
	return s;
}

/* dump(load(x)) must load without errors and dump to the same text */
static void check_roundtrip(const struct conf *c, const char *what)
{
	char *d1 = dump_str(c);
	struct loaded l2;
	load_text(&l2, d1);
	if (l2.ne)
		fail_msg("%s: the dump does not load:\n%s\n%s", what, l2.diag, d1);
	char *d2 = dump_str(l2.c);
	if (strcmp(d1, d2))
		fail_msg("%s: dump of dump differs:\n--- first\n%s\n--- second\n%s", what, d1, d2);
	free(d1);
	free(d2);
	unload(&l2);
}

/* ---- corpus ---- */

static void test_good_corpus(void **state)
{
	char pat[PATH_MAX * 2];
	glob_t g;
	const char *pats[] = { "good/*.conf", "good/*/keepalived.conf" };
	unsigned n = 0;
	for (int k = 0; k < 2; k++) {
		snprintf(pat, sizeof(pat), "%s/%s", corpus_dir(), pats[k]);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct loaded l;
			load_file(&l, g.gl_pathv[i]);
			if (l.ne || !l.c)
				fail_msg("%s:\n%s", g.gl_pathv[i], l.diag);
			check_roundtrip(l.c, g.gl_pathv[i]);
			unload(&l);
			n++;
		}
		globfree(&g);
	}
	assert_true(n >= 12);
}

static void test_bad_corpus(void **state)
{
	char pat[PATH_MAX * 2];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/bad/*.conf", corpus_dir());
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 4);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		char exp_path[PATH_MAX];
		snprintf(exp_path, sizeof(exp_path), "%.*s.expect", (int)(strlen(path) - 5), path);
		FILE *ef = fopen(exp_path, "r");
		assert_non_null(ef);
		struct loaded l;
		load_file(&l, path);
		assert_null(l.c);
		char line[1024];
		int n_expected = 0;
		while (fgets(line, sizeof(line), ef)) {
			char want[PATH_MAX + 1200];
			snprintf(want, sizeof(want), "%s:%s", path, line);
			expect_diag(&l, want);
			n_expected++;
		}
		fclose(ef);
		if (l.ne != n_expected)
			fail_msg("%s: %d errors, expected %d:\n%s", path, l.ne, n_expected, l.diag);
		unload(&l);
	}
	globfree(&g);
}

/* ---- the seed configs ---- */

static void test_seed_master(void **state)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/good/seed001-master/keepalived.conf", corpus_dir());
	struct loaded l;
	load_file(&l, path);
	assert_non_null(l.c);
	/* notify_* written after the vrrp_instance's closing brace: warned */
	expect_diag(&l, "conf.d/vip_nginx.conf:15:1: warning: unknown keyword 'notify_master'");
	assert_int_equal(l.nw, 3);
	const struct conf *c = l.c;
	assert_string_equal(c->global.router_id, "node1.qinglin.com");
	assert_int_equal(c->global.n_notification_email, 3);
	assert_int_equal(c->global.vrrp_mcast_group4.a.b[0], 233);
	assert_true(c->global.vrrp_skip_check_adv_addr);
	assert_int_equal(c->n_vrrps, 1);
	assert_int_equal(c->vrrps[0].vrid, 50);
	assert_int_equal(c->vrrps[0].state, VRRP_STATE_MASTER);
	assert_string_equal(c->vrrps[0].auth_pass, "1111");
	assert_int_equal(c->vrrps[0].vips[0].p.plen, 24);
	assert_string_equal(c->vrrps[0].vips[0].label, "eth0:1");
	assert_null(c->vrrps[0].notify_master);
	assert_int_equal(c->n_vs, 1);
	const struct conf_vs *vs = &c->vs[0];
	assert_string_equal(vs->sched, "rr");
	assert_int_equal(vs->fwd, FWD_DR);
	assert_int_equal(vs->proto, IPPROTO_TCP);
	assert_int_equal(vs->delay_loop_ms, 3000);
	assert_true(vs->has_sorry);
	assert_int_equal(vs->sorry.port, 80);
	assert_int_equal(vs->n_rs, 2);
	const struct conf_checker *ck = &vs->rs[1].checkers[0];
	assert_int_equal(ck->type, CHECK_HTTP);
	assert_int_equal(ck->retry, 3);             /* nb_get_retry */
	assert_int_equal(ck->connect_timeout_ms, 1000);
	assert_int_equal(ck->delay_before_retry_ms, 1000);
	assert_int_equal(ck->connect_port, 80);
	assert_string_equal(ck->urls[0].path, "/index.html");
	assert_int_equal(ck->urls[0].status_lo[0], 200);
	unload(&l);
}

static void test_seed_backup_typo(void **state)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/good/seed001-backup/keepalived.conf", corpus_dir());
	struct loaded l;
	load_file(&l, path);
	assert_non_null(l.c);
	expect_diag(&l, "seed001-backup/conf.d/vip_nginx.conf:2:7: warning: unknown state 'BAKCUP'");
	assert_int_equal(l.c->vrrps[0].state, VRRP_STATE_BACKUP);
	assert_int_equal(l.c->vrrps[0].priority, 80);
	assert_string_equal(l.c->vrrps[0].notify_fault, "/etc/keepalived/notify.sh fault");
	unload(&l);
}

static void test_seed_fwmark(void **state)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/good/seed001-fwmark/keepalived.conf", corpus_dir());
	struct loaded l;
	load_file(&l, path);
	assert_non_null(l.c);
	const struct conf_vs *vs = &l.c->vs[0];
	assert_int_equal(vs->kind, CONF_VS_FWMARK);
	assert_int_equal(vs->fwmark, 50);
	assert_int_equal(vs->proto, 0);
	assert_int_equal(vs->rs[0].port, 0);                   /* DR on a mark: port kept */
	assert_int_equal(vs->rs[0].checkers[0].connect_port, 80); /* checks still use 80 */
	assert_int_equal(l.c->n_marks, 1);
	assert_int_equal(l.c->marks[0].n_ports, 2);
	assert_int_equal(l.c->marks[0].port_hi[1], 443);
	unload(&l);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct loaded l;
	load_text(&l, "virtual_server 10.0.0.1 80 {\n"
		      "  persistence_timeout\n"
		      "  real_server 10.0.0.2 80 {\n"
		      "    TCP_CHECK\n"
		      "    HTTP_GET { url { path / } }\n"
		      "    DNS_CHECK\n"
		      "    MISC_CHECK { misc_path /bin/true }\n"
		      "  }\n"
		      "}\n");
	assert_non_null(l.c);
	expect_diag(&l, "t.conf:1:1: warning: virtual server has no protocol; using UDP");
	expect_diag(&l, "t.conf:1:1: warning: virtual server has no lb_algo; using wlc");
	expect_diag(&l, "t.conf:1:1: warning: virtual server has no lb_kind; using NAT");
	const struct conf_vs *vs = &l.c->vs[0];
	assert_int_equal(vs->proto, IPPROTO_UDP);
	assert_string_equal(vs->sched, "wlc");
	assert_int_equal(vs->fwd, FWD_NAT);
	assert_int_equal(vs->persistence_timeout, 360);
	assert_int_equal(vs->persistence_plen, 32);
	assert_int_equal(vs->delay_loop_ms, 60000);
	assert_int_equal(vs->connect_timeout_ms, 5000);
	assert_int_equal(vs->quorum, 1);
	assert_int_equal(vs->hysteresis, 0);
	const struct conf_rs *rs = &vs->rs[0];
	assert_int_equal(rs->weight, 1);
	assert_int_equal(rs->fwd, FWD_NAT);
	const struct conf_checker *tcp = &rs->checkers[0], *http = &rs->checkers[1],
				  *dns = &rs->checkers[2], *misc = &rs->checkers[3];
	assert_int_equal(tcp->retry, 1);
	assert_int_equal(tcp->delay_before_retry_ms, 1000);
	assert_int_equal(tcp->connect_timeout_ms, 5000);
	assert_int_equal(tcp->warmup_ms, 60000);
	assert_int_equal(tcp->connect_port, 80);
	assert_int_equal(http->delay_before_retry_ms, 3000);
	assert_int_equal(dns->retry, 3);
	assert_int_equal(dns->delay_before_retry_ms, 60000);
	assert_string_equal(dns->dns_type, "SOA");
	assert_string_equal(dns->dns_name, ".");
	assert_int_equal(misc->retry, 0);
	assert_int_equal(misc->misc_timeout_ms, 60000);
	/* global_defs defaults */
	assert_int_equal(l.c->global.vrrp_version, 2);
	assert_int_equal(l.c->global.vrrp_mcast_group4.a.b[0], 224);
	assert_int_equal(l.c->global.smtp_connect_timeout_ms, 30000);
	assert_true(l.c->ulvs.conn_reuse_mode);
	assert_false(l.c->ulvs.expire_nodest_conn);
	unload(&l);

	/* inheritance: virtual server -> real server -> checker */
	load_text(&l, "virtual_server 10.0.0.1 80 { protocol TCP lb_algo rr lb_kind DR\n"
		      "  connect_timeout 7 delay_loop 9 inhibit_on_failure weight 3\n"
		      "  real_server 10.0.0.2 81 { TCP_CHECK { } }\n"
		      "  real_server 10.0.0.3 80 { delay_loop 4 weight 0 TCP_CHECK { delay_loop 2 } }\n"
		      "}\n");
	assert_non_null(l.c);
	vs = &l.c->vs[0];
	assert_int_equal(vs->rs[0].port, 80); /* DR: reset to the virtual port, with a warning */
	expect_diag(&l, "t.conf:3:3: warning: real server port 81 differs");
	assert_int_equal(vs->rs[0].checkers[0].connect_port, 81);
	assert_int_equal(vs->rs[0].weight, 3);
	assert_true(vs->rs[0].inhibit_on_failure);
	assert_int_equal(vs->rs[0].checkers[0].connect_timeout_ms, 7000);
	assert_int_equal(vs->rs[0].checkers[0].delay_loop_ms, 9000);
	assert_int_equal(vs->rs[1].weight, 0);
	assert_int_equal(vs->rs[1].checkers[0].delay_loop_ms, 2000);
	assert_int_equal(vs->rs[1].checkers[0].warmup_ms, 2000);
	unload(&l);
}

/* ---- errors ---- */

struct err_case {
	const char *text, *diag;
};

static void test_error_kinds(void **state)
{
	static const struct err_case cases[] = {
		{ "virtual_server 10.1.2 80 {\n}\n", "t.conf:1:16: error: invalid virtual server address '10.1.2'" },
		{ "virtual_server 10.1.2.3 65536 {\n}\n", "t.conf:1:25: error: invalid virtual server port '65536'" },
		{ "virtual_server 10.1.2.3 80 {\n  lb_algo xx\n}\n", "t.conf:2:11: error: unknown lb_algo 'xx'" },
		{ "virtual_server 10.1.2.3 80 {\n lvs_method ROUTE\n}\n", "t.conf:2:13: error: unknown lvs_method 'ROUTE'" },
		{ "virtual_server 10.1.2.3 80 {\n", "t.conf:1:28: error: unbalanced '{'" },
		{ "}\n", "t.conf:1:1: error: unbalanced '}'" },
		{ "vrrp_instance X {\n priority 256\n virtual_router_id 1\n}\n", "t.conf:2:11: error: invalid priority '256' (expected 1..255)" },
		{ "vrrp_instance X {\n virtual_router_id 0\n}\n", "t.conf:2:20: error: invalid virtual_router_id '0' (expected 1..255)" },
		{ "virtual_server 1.1.1.1 80 {\n real_server 2.2.2.2 80 {\n  weight -1\n }\n}\n", "t.conf:3:10: error: invalid real server weight '-1'" },
		{ "vrrp_script s {\n script x\n weight 254\n}\n", "t.conf:3:9: error: invalid vrrp_script weight '254' (expected -253..253)" },
		{ "virtual_server 1.1.1.1 80 {\n delay_before_retry -2\n}\n", "t.conf:2:21: error: delay_before_retry cannot be negative ('-2')" },
		{ "global_defs {\n lvs_timeouts udp -5\n}\n", "t.conf:2:19: error: LVS timeout cannot be negative ('-5')" },
		{ "virtual_server 1.1.1.1 80 {\n protocol SCTP\n}\n", "t.conf:2:11: error: SCTP virtual services are not supported" },
		{ "fwmark_rule 3 {\n port 1,2,3,4,5,6,7,8,9\n}\n", "t.conf:2:7: error: fwmark_rule takes at most 8 ports" },
		{ "fwmark_rule 3 {\n protocol TCP\n}\n", "t.conf:1:1: error: fwmark_rule needs a destination prefix" },
		{ "ulvs_defs {\n interface eth0 { mac 02:00:00:00:00 }\n}\n", "t.conf:2:23: error: invalid MAC address" },
		{ "ulvs_defs {\n route 10.0.0.0/33 dev eth0\n}\n", "t.conf:2:8: error: invalid prefix length" },
		{ "local_address_group g {\n 10.0.0.9-3\n}\n", "t.conf:2:2: error: invalid local address range '10.0.0.9-3'" },
		{ "vrrp_instance X {\n virtual_router_id 1\n state MASTER\n}\nvrrp_instance X {\n virtual_router_id 2\n}\n", "t.conf:5:15: error: vrrp_instance 'X' defined twice" },
		{ "include /nonexistent/ulvs-test.conf\n", "t.conf:1:9: error: cannot open include file '/nonexistent/ulvs-test.conf'" },
		{ "virtual_server 1.1.1.1 80 {\n sorry_server 1.1.1.1\n real_server \"1.1.1.2\n}\n", "t.conf:3:14: error: missing closing '\"'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded l;
		load_text(&l, cases[i].text);
		if (l.c || l.ne == 0)
			fail_msg("case %zu loaded without error:\n%s", i, cases[i].text);
		expect_diag(&l, cases[i].diag);
		unload(&l);
	}
}

static void test_all_errors_in_one_run(void **state)
{
	struct loaded l;
	load_text(&l, "virtual_server 10.0.0.1 80 {\n"
		      "  lb_algo nope\n"
		      "  real_server 10.0.0.2 80 { weight 100000 }\n"
		      "  real_server 10.0.0.3 80 { TCP_CHECK { connect_timeout -1 } }\n"
		      "}\n"
		      "vrrp_instance A { virtual_router_id 300 priority 0 }\n"
		      "}\n");
	assert_null(l.c);
	assert_int_equal(l.ne, 6);
	expect_diag(&l, "t.conf:2:11: error");
	expect_diag(&l, "t.conf:3:36: error");
	expect_diag(&l, "t.conf:4:57: error");
	expect_diag(&l, "t.conf:6:37: error");
	expect_diag(&l, "t.conf:6:50: error");
	expect_diag(&l, "t.conf:7:1: error");
	/* diagnostics come out in file order whatever pass found them */
	const char *a = strstr(l.diag, "t.conf:2:11"), *b = strstr(l.diag, "t.conf:7:1");
	assert_true(a && b && a < b);
	unload(&l);
}

static void test_unknown_and_unimplemented_warn(void **state)
{
	struct loaded l;
	load_text(&l, "global_defs {\n  frobnicate 3\n  enable_snmp_checker\n}\n"
		      "mystery_block {\n  a b\n}\n"
		      "vrrp_instance V { virtual_router_id 4 use_vmac vrrp4 }\n");
	assert_non_null(l.c);
	assert_int_equal(l.ne, 0);
	expect_diag(&l, "t.conf:2:3: warning: unknown keyword 'frobnicate' in global_defs");
	expect_diag(&l, "t.conf:3:3: warning: 'enable_snmp_checker' is accepted but not implemented");
	expect_diag(&l, "t.conf:5:1: warning: unknown keyword 'mystery_block' in the top level (block skipped)");
	expect_diag(&l, "t.conf:8:39: warning: 'use_vmac' is accepted but not implemented");
	assert_int_equal(l.nw, 4);
	unload(&l);
}

/* ---- lexer features ---- */

static void test_syntax_forms(void **state)
{
	struct loaded l;
	/* one-line blocks, brace on the next line, comments anywhere, quotes */
	load_text(&l, "virtual_server 192.0.2.1 80 ! comment\n"
		      "{ # comment after the brace\n"
		      "  lb_algo rr lb_kind DR protocol TCP\n"
		      "  real_server 10.0.0.1 80 { weight 2 HTTP_GET { url { path \"/a b#c\" status_code 200 } } }\n"
		      "  quorum_up \"/bin/echo up\" #中文注释\n"
		      "}\n");
	assert_non_null(l.c);
	assert_int_equal(l.ne, 0);
	const struct conf_vs *vs = &l.c->vs[0];
	assert_string_equal(vs->sched, "rr");
	assert_int_equal(vs->fwd, FWD_DR);
	assert_int_equal(vs->rs[0].weight, 2);
	assert_string_equal(vs->rs[0].checkers[0].urls[0].path, "/a b#c");
	assert_string_equal(vs->quorum_up, "/bin/echo up");
	unload(&l);

	/* conditional lines and parameters (config-id "lb1" in load_text) */
	load_text(&l, "$P=120\n@lb1 $Q=7\n@^lb1 $Q=8\n"
		      "@lb2 vrrp_instance NOT { virtual_router_id 1 }\n"
		      "vrrp_instance V { virtual_router_id $Q priority ${P} }\n");
	assert_non_null(l.c);
	assert_int_equal(l.c->n_vrrps, 1);
	assert_int_equal(l.c->vrrps[0].vrid, 7);
	assert_int_equal(l.c->vrrps[0].priority, 120);
	unload(&l);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_includes(void **state)
{
	char dir[] = "/tmp/ulvs-conf-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/deeper", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/main.conf", dir);
	write_file(p, "include sub/*.conf\ninclude sub/none-*.conf\n");
	snprintf(p, sizeof(p), "%s/sub/a.conf", dir);
	/* relative to sub/, the including file's directory */
	write_file(p, "virtual_server 10.0.0.1 80 { protocol TCP lb_algo rr lb_kind NAT\n"
		      "  include deeper/rs.conf\n}\n");
	snprintf(p, sizeof(p), "%s/sub/b.conf", dir);
	write_file(p, "virtual_server 10.0.0.2 80 { protocol TCP lb_algo rr lb_kind NAT\n"
		      "  real_server 10.0.0.9 80 { weight x }\n}\n");
	snprintf(p, sizeof(p), "%s/sub/deeper/rs.conf", dir);
	write_file(p, "real_server 10.0.0.3 80 { weight 5 }\n");
	snprintf(p, sizeof(p), "%s/main.conf", dir);
	struct loaded l;
	load_file(&l, p);
	assert_null(l.c);
	assert_int_equal(l.ne, 1);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "%s/sub/b.conf:2:36: error: invalid real server weight 'x'", dir);
	expect_diag(&l, want);
	snprintf(want, sizeof(want), "%s/main.conf:2:9: warning: include pattern 'sub/none-*.conf' "
		 "matches no file", dir);
	expect_diag(&l, want);
	unload(&l);

	snprintf(p, sizeof(p), "%s/sub/b.conf", dir);
	write_file(p, "# fixed\n");
	snprintf(p, sizeof(p), "%s/main.conf", dir);
	load_file(&l, p);
	assert_non_null(l.c);
	assert_int_equal(l.c->n_vs, 1);
	assert_int_equal(l.c->vs[0].n_rs, 1);
	assert_int_equal(l.c->vs[0].rs[0].weight, 5);
	unload(&l);

	/* a file including itself is an error, not a hang */
	snprintf(p, sizeof(p), "%s/loop.conf", dir);
	write_file(p, "include loop.conf\n");
	load_file(&l, p);
	assert_null(l.c);
	expect_diag(&l, "includes itself");
	unload(&l);

	const char *rm[] = { "sub/deeper/rs.conf", "sub/a.conf", "sub/b.conf", "main.conf",
			     "loop.conf", "sub/deeper", "sub", "" };
	for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, rm[i]);
		remove(p);
	}
}

static void test_extensions(void **state)
{
	struct loaded l;
	load_text(&l, "local_address_group L { 192.168.0.10-12 eth1\n 2001:db8::a-c }\n"
		      "fwmark_rule 9 { protocol UDP destination 2001:db8::/64 port 53 5353-5355 }\n"
		      "ulvs_defs {\n"
		      "  interface eth1 { mac 02:aa:bb:cc:dd:ee address 192.168.0.2/24 address 2001:db8::2/64 mtu 9000 }\n"
		      "  route 0.0.0.0/0 via 192.168.0.1\n"
		      "  route 10.0.0.0/8 dev eth1\n"
		      "  neighbor 192.168.0.1 lladdr 02:00:00:00:00:fe dev eth1\n"
		      "  conn_table_size 4096\n  expire_nodest_conn on\n}\n");
	assert_non_null(l.c);
	const struct conf *c = l.c;
	assert_int_equal(c->lags[0].n_entries, 2);
	assert_int_equal(c->lags[0].entries[0].count, 3);
	assert_string_equal(c->lags[0].entries[0].ifname, "eth1");
	assert_int_equal(c->lags[0].entries[1].count, 3);
	assert_int_equal(c->marks[0].proto, IPPROTO_UDP);
	assert_int_equal(c->marks[0].dst.plen, 64);
	assert_int_equal(c->marks[0].n_ports, 2);
	assert_int_equal(c->marks[0].port_lo[1], 5353);
	assert_int_equal(c->ulvs.ifaces[0].mtu, 9000);
	assert_int_equal(c->ulvs.ifaces[0].n_addrs, 2);
	assert_int_equal(c->ulvs.ifaces[0].mac.b[5], 0xee);
	assert_int_equal(c->ulvs.n_routes, 2);
	assert_int_equal(c->ulvs.conn_table_size, 4096);
	assert_true(c->ulvs.expire_nodest_conn);
	/* an unused mark is worth a warning */
	expect_diag(&l, "t.conf:3:1: warning: no virtual server uses mark 9");
	check_roundtrip(c, "extensions");
	unload(&l);
}

/* ---- build_dataplane ---- */

static const char build_conf[] =
	"global_defs { lvs_timeouts tcp 7200 tcpfin 30 udp 60 }\n"
	"local_address_group LG { 10.9.0.1-2 }\n"
	"fwmark_rule 50 { protocol TCP destination 10.0.0.100/32 port 80,443 }\n"
	"virtual_server 10.0.0.100 80 {\n"
	"  protocol TCP lb_algo rr lb_kind DR\n"
	"  persistence_timeout 600 persistence_granularity 255.255.255.0\n"
	"  sorry_server 127.0.0.1 80\n"
	"  real_server 10.0.0.10 80 { weight 2 uthreshold 100 lthreshold 50 }\n"
	"  real_server 10.0.0.20 80 { weight 1 lvs_method TUN }\n"
	"}\n"
	"virtual_server fwmark 50 { lb_algo sh sh-port lb_kind DR\n"
	"  real_server 10.0.0.10 0 }\n"
	"virtual_server 10.0.0.101 443 { protocol TCP lb_algo wlc lb_kind FNAT\n"
	"  laddr_group_name LG real_server 10.1.0.5 8443 }\n"
	"virtual_server_group G { 10.0.0.110-111 53 }\n"
	"virtual_server group G { protocol UDP lb_algo rr lb_kind NAT ops\n"
	"  real_server 10.1.0.53 5353 }\n"
	"ulvs_defs { conn_table_size 8192 expire_nodest_conn on }\n";

static void test_build_replay(void **state)
{
	struct loaded l;
	load_text(&l, build_conf);
	if (!l.c)
		fail_msg("%s", l.diag);
	struct svc_table *t = svc_table_new();
	assert_non_null(t);
	struct fib *f = calloc(1, sizeof(*f));
	struct engine_params ep;
	struct build_opts o = { .replay = true, .all_healthy = true };
	char *e = NULL;
	size_t el = 0;
	FILE *err = open_memstream(&e, &el);
	int rc = build_dataplane(l.c, &o, t, f, &ep, err);
	fclose(err);
	if (rc)
		fail_msg("build failed %d:\n%s", rc, e);
	free(e);

	/* engine parameters */
	struct conn_timeouts def;
	conn_timeouts_default(&def);
	assert_int_equal(ep.conn_capacity, 8192);
	assert_true(ep.expire_nodest_conn);
	assert_int_equal(ep.timeouts.ms[CS_ESTABLISHED], 7200000);
	assert_int_equal(ep.timeouts.ms[CS_FIN_WAIT], 30000);
	assert_int_equal(ep.timeouts.ms[CS_UDP], 60000);
	assert_int_equal(ep.timeouts.ms[CS_SYN_RECV], def.ms[CS_SYN_RECV]);

	/* services: 1 + 1 fwmark + 1 FNAT + 2 from the group's range */
	assert_int_equal(t->n_svcs, 5);
	union ulvs_addr vip = taddr("10.0.0.100");
	struct svc *s = svc_lookup(t, ULVS_AF_INET, IPPROTO_TCP, &vip, htons(80), 0);
	assert_non_null(s);
	assert_true(s->flags & SVC_F_PERSISTENT);
	assert_int_equal(s->timeout, 600);
	assert_int_equal(s->netmask, 24);
	assert_int_equal(s->n_dests, 2);
	struct dest *d0 = svc_dest(t, s, 0), *d1 = svc_dest(t, s, 1);
	assert_int_equal(d0->fwd, FWD_DR);
	assert_int_equal(d0->weight, 2);
	assert_int_equal(d0->u_threshold, 100);
	assert_int_equal(d0->l_threshold, 50);
	assert_true(d0->flags & DEST_F_AVAILABLE);
	assert_int_equal(d1->fwd, FWD_TUN);
	assert_true(s->sorry_dest >= 0);
	assert_int_equal(t->dests[s->sorry_dest].fwd, FWD_LOCAL);   /* 127.0.0.1 */
	assert_int_equal(t->dests[s->sorry_dest].port, htons(80));

	/* the mark rule classifies, the fwmark service gets sh-port = flag-2 */
	assert_int_equal(svc_classify(t, ULVS_AF_INET, IPPROTO_TCP, &vip, htons(443)), 50);
	assert_int_equal(svc_classify(t, ULVS_AF_INET, IPPROTO_TCP, &vip, htons(22)), 0);
	struct svc *m = svc_lookup(t, ULVS_AF_INET, IPPROTO_TCP, &vip, htons(443), 50);
	assert_non_null(m);
	assert_int_equal(m->fwmark, 50);
	assert_true(m->flags & SVC_F_SCHED2);
	assert_int_equal(svc_dest(t, m, 0)->port, 0);

	/* FULLNAT pool */
	union ulvs_addr vip2 = taddr("10.0.0.101");
	struct svc *fn = svc_lookup(t, ULVS_AF_INET, IPPROTO_TCP, &vip2, htons(443), 0);
	assert_non_null(fn);
	assert_int_equal(fn->n_laddrs, 2);
	assert_int_equal(fn->laddrs[1].addr.b[3], 2);
	assert_int_equal(svc_dest(t, fn, 0)->fwd, FWD_FNAT);
	assert_int_equal(svc_dest(t, fn, 0)->port, htons(8443));

	/* the group's range became two UDP one-packet services */
	union ulvs_addr g1 = taddr("10.0.0.111");
	struct svc *gs = svc_lookup(t, ULVS_AF_INET, IPPROTO_UDP, &g1, htons(53), 0);
	assert_non_null(gs);
	assert_true(gs->flags & SVC_F_ONEPACKET);
	assert_int_equal(svc_dest(t, gs, 0)->port, htons(5353));

	/* replay fib: eth0, default routes, synthesized neighbours */
	assert_int_equal(f->n_ifaces, 1);
	assert_string_equal(f->ifaces[0].name, "eth0");
	assert_int_equal(f->ifaces[0].mac.b[5], 1);
	assert_int_equal(f->ifaces[0].mtu, 1500);
	struct fib_nexthop nh;
	union ulvs_addr rs = taddr("10.0.0.10");
	assert_int_equal(fib_resolve(f, ULVS_AF_INET, &rs, &nh), 0);
	const uint8_t want[6] = { 0x02, 0x00, 10, 0, 0, 10 };
	assert_memory_equal(nh.dst.b, want, 6);
	union ulvs_addr lo = taddr("127.0.0.1");
	assert_null(fib_find_neigh(f, ULVS_AF_INET, &lo)); /* local sorry server: no MAC */

	free(f);
	svc_table_free(t);
	unload(&l);
}

static void test_build_declared_fib(void **state)
{
	struct loaded l;
	load_text(&l, "ulvs_defs {\n"
		      "  interface eth0 { mac 02:00:00:00:00:aa address 10.0.0.200/24 }\n"
		      "  interface eth1 { mac 02:00:00:00:00:bb address 172.16.0.2/16 }\n"
		      "  route 0.0.0.0/0 via 10.0.0.1\n"
		      "  route 192.168.0.0/16 via 172.16.0.1 dev eth1\n"
		      "  neighbor 10.0.0.1 lladdr 02:00:00:00:00:01 dev eth0\n"
		      "}\n"
		      "virtual_server 10.0.0.100 80 { protocol TCP lb_algo rr lb_kind NAT\n"
		      "  sorry_server 10.0.0.200 8080\n"
		      "  real_server 192.168.1.5 80 }\n");
	if (!l.c)
		fail_msg("%s", l.diag);
	struct svc_table *t = svc_table_new();
	struct fib *f = calloc(1, sizeof(*f));
	struct engine_params ep;
	struct build_opts o = { .replay = true, .all_healthy = true };
	assert_int_equal(build_dataplane(l.c, &o, t, f, &ep, stderr), 0);
	assert_int_equal(f->n_ifaces, 2);
	assert_true(f->ifaces[0].has_addr4);
	/* the real server is behind 172.16.0.1 on eth1, whose MAC is made up */
	struct fib_nexthop nh;
	union ulvs_addr rs = taddr("192.168.1.5");
	assert_int_equal(fib_resolve(f, ULVS_AF_INET, &rs, &nh), 0);
	assert_int_equal(nh.iface, 1);
	const uint8_t want[6] = { 0x02, 0x00, 172, 16, 0, 1 };
	assert_memory_equal(nh.dst.b, want, 6);
	/* the declared neighbour keeps its MAC */
	union ulvs_addr gw = taddr("8.8.8.8");
	assert_int_equal(fib_resolve(f, ULVS_AF_INET, &gw, &nh), 0);
	assert_int_equal(nh.dst.b[5], 0x01);
	assert_int_equal(nh.src.b[5], 0xaa);
	/* sorry server on a director address: passed to the kernel */
	union ulvs_addr vip = taddr("10.0.0.100");
	struct svc *s = svc_lookup(t, ULVS_AF_INET, IPPROTO_TCP, &vip, htons(80), 0);
	assert_non_null(s);
	assert_int_equal(t->dests[s->sorry_dest].fwd, FWD_LOCAL);
	assert_int_equal(ep.conn_capacity, 0);
	free(f);
	svc_table_free(t);
	unload(&l);
}

static void test_build_errors(void **state)
{
	/* 70 local addresses for one service: more than ULVS_MAX_LADDRS */
	struct loaded l;
	load_text(&l, "local_address_group LG { 10.9.0.1-70 }\n"
		      "virtual_server 10.0.0.1 80 { protocol TCP lb_algo rr lb_kind FNAT\n"
		      "  laddr_group_name LG real_server 10.1.0.5 80 }\n");
	assert_non_null(l.c);
	struct svc_table *t = svc_table_new();
	struct fib *f = calloc(1, sizeof(*f));
	struct engine_params ep;
	char *e = NULL;
	size_t el = 0;
	FILE *err = open_memstream(&e, &el);
	int rc = build_dataplane(l.c, NULL, t, f, &ep, err);
	fclose(err);
	assert_int_equal(rc, -ENOSPC);
	if (!strstr(e, "t.conf:1:26: error: more than"))
		fail_msg("%s", e);
	free(e);
	free(f);
	svc_table_free(t);
	unload(&l);
}

static void test_fuzz_inputs(void **state)
{
	/* shapes that once looked dangerous: deep nesting, NULs, junk */
	char deep[400];
	memset(deep, '{', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0;
	struct loaded l;
	load_text(&l, deep);
	assert_null(l.c);
	expect_diag(&l, "blocks nested deeper than");
	unload(&l);
	static const char nul[] = "virtual_server 1.1.1.1 80 {\0}\n";
	FILE *err = fopen("/dev/null", "w");
	struct conf_load_opts o = { .no_include = true };
	int ne;
	struct conf *c = conf_load_buffer("n.conf", nul, sizeof(nul) - 1, &o, err, &ne, NULL);
	assert_null(c);
	c = conf_load_buffer("i.conf", "include /etc/passwd\n", 20, &o, err, &ne, NULL);
	assert_null(c);
	assert_int_equal(ne, 1);
	fclose(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_corpus),
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_seed_master),
		cmocka_unit_test(test_seed_backup_typo),
		cmocka_unit_test(test_seed_fwmark),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_error_kinds),
		cmocka_unit_test(test_all_errors_in_one_run),
		cmocka_unit_test(test_unknown_and_unimplemented_warn),
		cmocka_unit_test(test_syntax_forms),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_build_replay),
		cmocka_unit_test(test_build_declared_fib),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_fuzz_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
