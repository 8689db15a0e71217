/* The XDP steering program's decisions, golden-table style: each frame goes
 * through the real program (BPF_PROG_TEST_RUN via afxdp_probe(), maps
 * filled from a service table by the real loader) and must be owned under
 * the expected reason or left to the kernel.  Needs CAP_BPF; skipped
 * without it (or when the kernel refuses BPF_PROG_TEST_RUN).  The director's own addresses come from getifaddrs(), and
 * 127.0.0.1 is always one of them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bpf/xdp_steer.h"
#include "core/constants.h"
#include "core/service.h"
#include "io/afxdp.h"
#include "testutil.h"

#define KERNEL AFXDP_PROBE_KERNEL

static struct svc_table *T;
static struct afxdp *A;

static uint16_t be16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

static struct svc *add_svc(const char *vip, uint8_t proto, uint16_t port, uint32_t fwmark,
			   enum ulvs_af af)
{
	struct svc s, *out;

	memset(&s, 0, sizeof(s));
	s.af = (uint8_t)af;
	s.proto = proto;
	s.port = be16(port);
	if (vip)
		s.addr = taddr(vip);
	s.fwmark = fwmark;
	assert_int_equal(svc_add(T, &s, "rr", &out), 0);
	return out;
}

static void add_rs(struct svc *s, const char *ip, uint16_t port, enum fwd_method fwd)
{
	struct dest d;

	memset(&d, 0, sizeof(d));
	d.af = strchr(ip, ':') ? ULVS_AF_INET6 : ULVS_AF_INET;
	d.addr = taddr(ip);
	d.port = be16(port);
	d.weight = 1;
	d.flags = DEST_F_AVAILABLE;
	d.fwd = (uint8_t)fwd;
	assert_int_equal(svc_add_dest(T, s, &d, NULL), 0);
}

static void add_mark(const char *prefix, uint8_t plen, uint8_t proto, uint32_t mark,
		     uint16_t lo0, uint16_t hi0, uint16_t lo1, uint16_t hi1)
{
	struct mark_rule r;

	memset(&r, 0, sizeof(r));
	r.af = ULVS_AF_INET;
	r.prefix = taddr(prefix);
	r.plen = plen;
	r.proto = proto;
	r.mark = mark;
	r.port_lo[0] = lo0;
	r.port_hi[0] = hi0;
	r.port_lo[1] = lo1;
	r.port_hi[1] = hi1;
	r.n_ports = lo1 ? 2 : 1;
	assert_int_equal(svc_add_mark_rule(T, &r), 0);
}

static int setup(void **state)
{
	T = svc_table_new();
	A = afxdp_new(NULL);
	assert_non_null(T);
	assert_non_null(A);
	/* NAT: TCP 80 and UDP 53 on a VIP; one real server also in DR. */
	struct svc *s = add_svc("10.0.0.100", 6, 80, 0, ULVS_AF_INET);
	add_rs(s, "10.1.0.11", 8080, FWD_NAT);
	add_rs(s, "10.1.0.12", 80, FWD_DR);
	assert_int_equal(svc_commit(T, s), 0);
	s = add_svc("10.0.0.100", 17, 53, 0, ULVS_AF_INET);
	add_rs(s, "10.1.0.11", 53, FWD_NAT);
	assert_int_equal(svc_commit(T, s), 0);
	/* FULLNAT with a local address. */
	s = add_svc("10.0.0.101", 6, 443, 0, ULVS_AF_INET);
	add_rs(s, "10.1.0.21", 443, FWD_FNAT);
	union ulvs_addr la = taddr("10.2.0.5");
	assert_int_equal(svc_add_laddr(s, ULVS_AF_INET, &la, 0), 0);
	assert_int_equal(svc_commit(T, s), 0);
	/* IPv6 VIP. */
	s = add_svc("2001:db8::100", 6, 80, 0, ULVS_AF_INET6);
	add_rs(s, "2001:db8:1::11", 80, FWD_NAT);
	assert_int_equal(svc_commit(T, s), 0);
	/* fwmark 7: 10.3.0.0/16 TCP 80 and 443; fwmark 8: 10.3.1.0/24 UDP
	 * 8000-8100 (a longer prefix inside 7's); mark 9 has no service. */
	s = add_svc(NULL, 0, 0, 7, ULVS_AF_INET);
	add_rs(s, "10.1.0.31", 0, FWD_DR);
	assert_int_equal(svc_commit(T, s), 0);
	s = add_svc(NULL, 0, 0, 8, ULVS_AF_INET);
	add_rs(s, "10.1.0.32", 0, FWD_DR);
	assert_int_equal(svc_commit(T, s), 0);
	add_mark("10.3.0.0", 16, 6, 7, 80, 80, 443, 443);
	add_mark("10.3.1.0", 24, 17, 8, 8000, 8100, 0, 0);
	add_mark("10.4.0.0", 16, 0, 9, 1, 65535, 0, 0);
	return 0;
}

static int teardown(void **state)
{
	afxdp_free(A);
	svc_table_free(T);
	return 0;
}

struct golden {
	const char *what;
	struct tpkt in;
	int icmp_type;    /* > 0: rewrite the ICMP type byte after building */
	int want;         /* enum steer_counter or KERNEL */
};

static const struct golden cases[] = {
	{ "TCP to VIP:80", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 6,
	  .sport = 40000, .dport = 80, .tcp_flags = 0x02 }, 0, STEER_C_VIP },
	{ "TCP to VIP:81 (no such service)", { .src = "198.51.100.7", .dst = "10.0.0.100",
	  .proto = 6, .sport = 40000, .dport = 81, .tcp_flags = 0x02 }, 0, KERNEL },
	{ "UDP to VIP:80 (service is TCP)", { .src = "198.51.100.7", .dst = "10.0.0.100",
	  .proto = 17, .sport = 40000, .dport = 80 }, 0, KERNEL },
	{ "UDP to VIP:53", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 17,
	  .sport = 40000, .dport = 53 }, 0, STEER_C_VIP },
	{ "VLAN-tagged TCP to VIP:80", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 6,
	  .sport = 40000, .dport = 80, .tcp_flags = 0x10, .vlan = 42 }, 0, STEER_C_VIP },
	{ "first fragment to VIP:80", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 6,
	  .sport = 40000, .dport = 80, .tcp_flags = 0x10, .frag = 0x2000 }, 0, STEER_C_VIP },
	{ "non-first fragment to VIP", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 17,
	  .sport = 1, .dport = 1, .frag = 0x0010 }, 0, STEER_C_FRAG },
	{ "non-first fragment to elsewhere", { .src = "198.51.100.7", .dst = "10.9.9.9",
	  .proto = 17, .sport = 1, .dport = 1, .frag = 0x0010 }, 0, KERNEL },
	{ "NAT reply from RS:8080 to a client", { .src = "10.1.0.11", .dst = "198.51.100.7",
	  .proto = 6, .sport = 8080, .dport = 40000, .tcp_flags = 0x12 }, 0, STEER_C_NAT_REPLY },
	{ "NAT UDP reply from RS:53", { .src = "10.1.0.11", .dst = "198.51.100.7", .proto = 17,
	  .sport = 53, .dport = 40000 }, 0, STEER_C_NAT_REPLY },
	{ "RS:8080 answering the director itself (health check)", { .src = "10.1.0.11",
	  .dst = "127.0.0.1", .proto = 6, .sport = 8080, .dport = 40000, .tcp_flags = 0x12 },
	  0, KERNEL },
	{ "RS from another port (its own traffic)", { .src = "10.1.0.11", .dst = "198.51.100.7",
	  .proto = 6, .sport = 22, .dport = 40000, .tcp_flags = 0x12 }, 0, KERNEL },
	{ "DR real server's traffic", { .src = "10.1.0.12", .dst = "198.51.100.7", .proto = 6,
	  .sport = 80, .dport = 40000, .tcp_flags = 0x12 }, 0, KERNEL },
	{ "FULLNAT reply to laddr, local port range", { .src = "10.1.0.21", .dst = "10.2.0.5",
	  .proto = 6, .sport = 443, .dport = 30000, .tcp_flags = 0x12 }, 0, STEER_C_LADDR },
	{ "to laddr below the local port range", { .src = "10.1.0.21", .dst = "10.2.0.5",
	  .proto = 6, .sport = 443, .dport = 22, .tcp_flags = 0x02 }, 0, KERNEL },
	{ "fwmark /16 TCP 443", { .src = "198.51.100.7", .dst = "10.3.5.5", .proto = 6,
	  .sport = 40000, .dport = 443, .tcp_flags = 0x02 }, 0, STEER_C_MARK },
	{ "fwmark /16 TCP 22", { .src = "198.51.100.7", .dst = "10.3.5.5", .proto = 6,
	  .sport = 40000, .dport = 22, .tcp_flags = 0x02 }, 0, KERNEL },
	{ "fwmark /16 UDP 80 (rule is TCP)", { .src = "198.51.100.7", .dst = "10.3.5.5",
	  .proto = 17, .sport = 40000, .dport = 80 }, 0, KERNEL },
	{ "fwmark /24 UDP 8050", { .src = "198.51.100.7", .dst = "10.3.1.9", .proto = 17,
	  .sport = 40000, .dport = 8050 }, 0, STEER_C_MARK },
	{ "inside the /24, the covering /16's TCP 80", { .src = "198.51.100.7", .dst = "10.3.1.9",
	  .proto = 6, .sport = 40000, .dport = 80, .tcp_flags = 0x02 }, 0, STEER_C_MARK },
	{ "inside the /24, UDP 80 matches neither", { .src = "198.51.100.7", .dst = "10.3.1.9",
	  .proto = 17, .sport = 40000, .dport = 80 }, 0, KERNEL },
	{ "mark rule without a service", { .src = "198.51.100.7", .dst = "10.4.0.1", .proto = 6,
	  .sport = 40000, .dport = 80, .tcp_flags = 0x02 }, 0, KERNEL },
	{ "IPv6 TCP to [VIP]:80", { .src = "2001:db8:9::7", .dst = "2001:db8::100", .proto = 6,
	  .sport = 40000, .dport = 80, .tcp_flags = 0x02 }, 0, STEER_C_VIP },
	{ "IPv6 NAT reply", { .src = "2001:db8:1::11", .dst = "2001:db8:9::7", .proto = 6,
	  .sport = 80, .dport = 40000, .tcp_flags = 0x12 }, 0, STEER_C_NAT_REPLY },
	{ "ICMP echo to VIP (the kernel answers)", { .src = "198.51.100.7", .dst = "10.0.0.100",
	  .proto = 1 }, 0, KERNEL },
	{ "ICMP unreachable to VIP", { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 1 },
	  3, STEER_C_ICMP },
	{ "ICMP time exceeded from a NAT RS to a client", { .src = "10.1.0.11",
	  .dst = "198.51.100.7", .proto = 1 }, 11, STEER_C_ICMP },
	{ "ICMP unreachable from a NAT RS to the director", { .src = "10.1.0.11",
	  .dst = "127.0.0.1", .proto = 1 }, 3, KERNEL },
	{ "ICMPv6 packet too big to [VIP]", { .src = "2001:db8:9::7", .dst = "2001:db8::100",
	  .proto = 58 }, 2, STEER_C_ICMP },
};

static void test_golden(void **state)
{
	uint8_t buf[ULVS_HEADROOM + 2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct golden *g = &cases[i];
		struct pkt p;
		size_t len = tpkt_build(&p, buf, sizeof(buf), &g->in);
		assert_true(len > 0);
		if (g->icmp_type) {
			uint32_t l4 = 14 + (g->in.vlan ? 4 : 0) +
				      (strchr(g->in.dst, ':') ? 40 : (uint32_t)(p.data[14] & 15) * 4);
			p.data[l4] = (uint8_t)g->icmp_type;
		}
		int r = afxdp_probe(A, T, p.data, p.len);
		if (r == -EPERM || r == -EACCES)
			skip();
		if (r != g->want)
			fail_msg("%s: got %d, want %d", g->what, r, g->want);
	}
}

static void test_arp_and_short_frames_pass(void **state)
{
	uint8_t arp[42] = { [12] = 0x08, [13] = 0x06 };
	uint8_t runt[20] = { [12] = 0x08, [13] = 0x00, [14] = 0x45 };

	int r = afxdp_probe(A, T, arp, sizeof(arp));
	if (r == -EPERM || r == -EACCES)
		skip();
	assert_int_equal(r, KERNEL);
	assert_int_equal(afxdp_probe(A, T, runt, sizeof(runt)), KERNEL);
}

static void test_table_change_follows(void **state)
{
	uint8_t buf[ULVS_HEADROOM + 2048];
	struct pkt p;
	const struct tpkt to81 = { .src = "198.51.100.7", .dst = "10.0.0.100", .proto = 6,
				   .sport = 40000, .dport = 81, .tcp_flags = 0x02 };
	tpkt_build(&p, buf, sizeof(buf), &to81);
	int r = afxdp_probe(A, T, p.data, p.len);
	if (r == -EPERM || r == -EACCES)
		skip();
	assert_int_equal(r, KERNEL);
	/* A new service appears: the next sync owns its port; a new table
	 * without it: the key goes again. */
	struct svc_table *t2 = svc_table_new();
	assert_non_null(t2);
	struct svc s, *out;
	memset(&s, 0, sizeof(s));
	s.af = ULVS_AF_INET;
	s.proto = 6;
	s.port = be16(81);
	s.addr = taddr("10.0.0.100");
	assert_int_equal(svc_add(t2, &s, "rr", &out), 0);
	assert_int_equal(svc_commit(t2, out), 0);
	assert_int_equal(afxdp_probe(A, t2, p.data, p.len), STEER_C_VIP);
	assert_int_equal(afxdp_probe(A, T, p.data, p.len), KERNEL);
	svc_table_free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_arp_and_short_frames_pass),
		cmocka_unit_test(test_table_change_follows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
