/* Prometheus endpoint: exposition text (families, labels, escaping, counters
 * that follow the engine), the registration API, and one real HTTP/1.0
 * exchange over loopback on the event loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/engine.h"
#include "core/fib.h"
#include "core/packet.h"
#include "core/service.h"
#include "daemon/evloop.h"
#include "metrics/metrics.h"
#include "testutil.h"

static uint16_t be16(uint16_t h)
{
	return (uint16_t)(h << 8 | h >> 8);
}

struct world {
	struct fib fib;
	struct svc_table *t;
	struct engine *e;
	struct evloop *l;
	struct metrics *m;
};

static int setup(void **st)
{
	struct world *w = calloc(1, sizeof(*w));
	struct svc tmpl = { 0 }, *s;
	struct dest dt = { 0 }, *d;
	struct ulvs_mac mac = tmac("02:00:00:00:00:01");
	struct metrics_opts mo = { .backend = "afpacket", .workers = 1 };
	union ulvs_addr gw = { 0 }, p = taddr("192.168.1.0");

	fib_init(&w->fib);
	fib_add_iface(&w->fib, "eth0", &mac, 1500, 0);
	fib_add_route(&w->fib, ULVS_AF_INET, &p, 24, &gw, 0);
	p = taddr("192.168.1.11");
	fib_add_neigh(&w->fib, ULVS_AF_INET, &p, &mac, 0);
	w->t = svc_table_new();
	tmpl.af = ULVS_AF_INET;
	tmpl.addr = taddr("10.0.0.100");
	tmpl.proto = IPPROTO_TCP_;
	tmpl.port = be16(80);
	tmpl.sorry_dest = -1;
	assert_int_equal(svc_add(w->t, &tmpl, "rr", &s), 0);
	dt.af = ULVS_AF_INET;
	dt.addr = taddr("192.168.1.11");
	dt.port = be16(80);
	dt.weight = 3;
	dt.flags = DEST_F_AVAILABLE;
	assert_int_equal(svc_add_dest(w->t, s, &dt, &d), 0);
	assert_int_equal(svc_commit(w->t, s), 0);
	w->e = engine_new(&(struct engine_params){ .conn_capacity = 1024 }, &w->fib, w->t, 0);
	w->l = ev_new();
	w->m = metrics_start(w->l, w->e, &mo);
	assert_non_null(w->m);
	*st = w;
	return 0;
}

static int teardown(void **st)
{
	struct world *w = *st;

	metrics_stop(w->m);
	ev_free(w->l);
	engine_free(w->e);
	svc_table_free(w->t);
	free(w);
	return 0;
}

static double value_of(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -12345;
}

static void producer_cb(void *arg, struct metrics_out *o)
{
	metrics_family(o, "ulvs_test_state", "gauge", "A test family.\nSecond line.");
	metrics_sample(o, "ulvs_test_state", 2, "instance", "a\"b\\c\nd", NULL);
}

static void test_render(void **st)
{
	struct world *w = *st;
	uint8_t buf[2048];
	struct pkt p;
	struct verdict v;
	struct tpkt syn = { .src = "10.1.0.5", .dst = "10.0.0.100", .proto = 6, .sport = 40000,
			    .dport = 80, .tcp_flags = TCP_F_SYN };
	char *text;

	text = metrics_render(w->m, NULL);
	assert_non_null(text);
	assert_true(value_of(text, "ulvs_service_connections_total{service=\"TCP 10.0.0.100:80\"}") == 0);
	assert_true(value_of(text, "ulvs_realserver_weight{service=\"TCP 10.0.0.100:80\",server=\"192.168.1.11:80\"}") == 3);
	assert_true(value_of(text, "ulvs_dataplane_info{backend=\"afpacket\"}") == 1);
	assert_non_null(strstr(text, "# TYPE ulvs_dropped_packets_total counter\n"));
	free(text);

	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, 1);
	syn.dst = "10.0.0.99"; /* not ours: passed */
	syn.dport = 81;
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, 1);
	syn.dst = "10.0.0.100"; /* ACK for an unknown connection: not_syn drop */
	syn.dport = 80;
	syn.sport = 1;
	syn.tcp_flags = TCP_F_ACK;
	tpkt_build(&p, buf, sizeof(buf), &syn);
	engine_process(w->e, &p, &v, 1, 1);

	assert_int_equal(metrics_register("test", producer_cb, NULL), 0);
	assert_int_equal(metrics_register("test", producer_cb, NULL), -EEXIST);
	text = metrics_render(w->m, NULL);
	assert_true(value_of(text, "ulvs_service_connections_total{service=\"TCP 10.0.0.100:80\"}") == 1);
	assert_true(value_of(text, "ulvs_service_inactive_connections{service=\"TCP 10.0.0.100:80\"}") == 1);
	assert_true(value_of(text, "ulvs_service_packets_total{service=\"TCP 10.0.0.100:80\",direction=\"in\"}") == 1);
	assert_true(value_of(text, "ulvs_dropped_packets_total{reason=\"not_syn\"}") == 1);
	assert_true(value_of(text, "ulvs_passed_packets_total") == 1);
	assert_true(value_of(text, "ulvs_connections") == 1);
	assert_non_null(strstr(text, "# HELP ulvs_test_state A test family.\\nSecond line.\n"));
	assert_true(value_of(text, "ulvs_test_state{instance=\"a\\\"b\\\\c\\nd\"}") == 2);
	free(text);
	assert_int_equal(metrics_unregister("test"), 0);
	assert_int_equal(metrics_unregister("test"), -ENOENT);
	text = metrics_render(w->m, NULL);
	assert_null(strstr(text, "ulvs_test_state"));
	free(text);
}

static void stop_cb(struct evloop *l, void *arg)
{
	ev_stop(l, 0);
}

static char *http(struct world *w, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(metrics_port(w->m)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	static char resp[1 << 20];
	size_t got = 0;
	ssize_t n;

	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	ev_timer_add(w->l, 300, stop_cb, NULL);
	ev_run(w->l);
	while ((n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	return resp;
}

static void test_http(void **st)
{
	struct world *w = *st;
	char *r = http(w, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");

	assert_true(strncmp(r, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(r, "\r\n\r\n# HELP ulvs_build_info"));
	r = http(w, "GET /nope HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 404", 12) == 0);
	r = http(w, "POST /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 405", 12) == 0);
	r = http(w, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_true(strncmp(r, "HTTP/1.0 200", 12) == 0);
	assert_null(strstr(r, "# HELP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
