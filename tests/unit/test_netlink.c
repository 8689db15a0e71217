/* rtnetlink reader (io/netlink.c) against a real kernel: the test moves
 * itself into a network namespace of its own, makes a veth pair and
 * neighbour entries with ip(8), and checks what the fib gets.  Covered: the
 * whole fill (interfaces, addresses, routes, neighbours), the two-step
 * refresh the live loop runs while the workers forward (collect reads the
 * fib and changes nothing; apply writes what collect found), notifications,
 * and a resolution request.  Skipped, with the reason, where the process
 * cannot have a namespace of its own (not root). */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fib.h"
#include "io/netlink.h"
#include "testutil.h"

static bool have_netns;

static void ip(const char *cmd)
{
	char line[256];

	snprintf(line, sizeof(line), "ip %s", cmd);
	if (system(line) != 0)
		fail_msg("'%s' failed", line);
}

static int group_setup(void **state)
{
	if (unshare(CLONE_NEWNET) < 0) {
		print_message("no network namespace of our own (%s): netlink tests skipped\n",
			      strerror(errno));
		return 0;
	}
	have_netns = true;
	/* IPv4 only: IPv6 would add link-local neighbours of its own
	 * whenever the links come up, and the counts below are exact. */
	if (system("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
		   "net.ipv6.conf.default.disable_ipv6=1 && "
		   "ip link add v0 type veth peer name v1 && ip link set v0 up && "
		   "ip link set v1 up && ip addr add 10.77.0.1/24 dev v0 && "
		   "ip neigh add 10.77.0.2 lladdr 02:00:00:00:00:02 dev v0 nud permanent") != 0) {
		print_message("cannot build the test links: netlink tests skipped\n");
		have_netns = false;
	}
	return 0;
}

/* Each test: a netlink context and a fib filled from the namespace. */
struct world {
	struct nl_ctx *nl;
	struct fib *f;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	*state = w;
	if (!have_netns)
		return 0;
	w->nl = nl_open(NULL);
	w->f = calloc(1, sizeof(*w->f));
	assert_non_null(w->nl);
	assert_non_null(w->f);
	fib_init(w->f);
	assert_int_equal(nl_fib_fill(w->nl, w->f, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	nl_close(w->nl);
	free(w->f);
	free(w);
	return 0;
}

static const struct fib_neigh *neigh(const struct fib *f, const char *a)
{
	union ulvs_addr x = taddr(a);

	return fib_find_neigh(f, ULVS_AF_INET, &x);
}

static void assert_mac(const struct fib_neigh *n, const char *mac)
{
	struct ulvs_mac m = tmac(mac);

	assert_non_null(n);
	assert_memory_equal(n->mac.b, m.b, ULVS_MAC_LEN);
}

static int iface_named(const struct fib *f, const char *name)
{
	for (unsigned i = 0; i < f->n_ifaces; i++)
		if (strcmp(f->ifaces[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void test_fill(void **state)
{
	if (!have_netns)
		skip();
	struct fib *f = ((struct world *)*state)->f;
	int v0 = iface_named(f, "v0");
	assert_true(v0 >= 0);
	assert_true(iface_named(f, "v1") >= 0);
	assert_int_equal(iface_named(f, "lo"), -1);   /* loopback is never ours */
	assert_true(f->ifaces[v0].has_addr4);
	union ulvs_addr own = taddr("10.77.0.1");
	assert_true(addr_eq(&f->ifaces[v0].addr4, &own));

	union ulvs_addr dst = taddr("10.77.0.2");
	struct fib_nexthop nh;
	assert_int_equal(fib_resolve(f, ULVS_AF_INET, &dst, &nh), 0);
	assert_int_equal(nh.iface, v0);
	struct ulvs_mac want = tmac("02:00:00:00:00:02");
	assert_memory_equal(nh.dst.b, want.b, ULVS_MAC_LEN);
	union ulvs_addr far = taddr("192.0.2.1");
	assert_int_equal(fib_resolve(f, ULVS_AF_INET, &far, &nh), -ENETUNREACH);
}

/* Collect only reads: the fib is byte for byte what it was until apply. */
static void test_collect_then_apply(void **state)
{
	if (!have_netns)
		skip();
	struct world *w = *state;
	struct nl_ctx *nl = w->nl;
	struct fib *f = w->f, *before = malloc(sizeof(*f));

	assert_non_null(before);
	assert_int_equal(nl_neigh_collect(nl, f), 0);  /* nothing new */

	ip("neigh replace 10.77.0.2 lladdr 02:00:00:00:00:22 dev v0 nud permanent");
	ip("neigh add 10.77.0.3 lladdr 02:00:00:00:00:03 dev v0 nud permanent");
	memcpy(before, f, sizeof(*f));
	assert_int_equal(nl_neigh_collect(nl, f), 2);
	assert_memory_equal(before, f, sizeof(*f));
	assert_mac(neigh(f, "10.77.0.2"), "02:00:00:00:00:02");
	assert_null(neigh(f, "10.77.0.3"));

	assert_int_equal(nl_neigh_apply(nl, f), 2);
	assert_mac(neigh(f, "10.77.0.2"), "02:00:00:00:00:22");
	assert_mac(neigh(f, "10.77.0.3"), "02:00:00:00:00:03");
	assert_int_equal(nl_neigh_apply(nl, f), 0);    /* applied once */
	assert_int_equal(nl_neigh_collect(nl, f), 0);

	/* the one-step refresh is the two steps */
	ip("neigh replace 10.77.0.3 lladdr 02:00:00:00:00:33 dev v0 nud permanent");
	assert_int_equal(nl_neigh_refresh(nl, f), 1);
	assert_mac(neigh(f, "10.77.0.3"), "02:00:00:00:00:33");
	ip("neigh del 10.77.0.3 dev v0");
	free(before);
}

/* A MAC the kernel learns reaches the fib through the notification
 * socket, without a dump. */
static void test_notifications(void **state)
{
	if (!have_netns)
		skip();
	struct world *w = *state;
	struct nl_ctx *nl = w->nl;
	struct fib *f = w->f;

	while (nl_events(nl, f) > 0)
		;                                        /* earlier tests' news */
	ip("neigh add 10.77.0.4 lladdr 02:00:00:00:00:04 dev v0 nud permanent");
	int got = 0;
	for (int i = 0; i < 100 && !got; i++) {
		got = nl_events(nl, f);
		if (!got)
			nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	assert_int_equal(got, 1);
	assert_mac(neigh(f, "10.77.0.4"), "02:00:00:00:00:04");
	ip("neigh del 10.77.0.4 dev v0");
}

/* A resolution request makes the kernel start resolving: an entry it did
 * not have appears (incomplete until someone answers). */
static void test_resolve_request(void **state)
{
	if (!have_netns)
		skip();
	struct world *w = *state;
	struct nl_ctx *nl = w->nl;
	struct fib *f = w->f;

	union ulvs_addr a = taddr("10.77.0.9");
	assert_int_equal(nl_neigh_resolve(nl, ULVS_AF_INET, &a, f->ifaces[iface_named(f, "v0")].os_ifindex), 0);
	assert_int_equal(system("ip neigh show 10.77.0.9 dev v0 nud all | grep -q 10.77.0.9"), 0);
	/* no MAC yet: nothing for the fib */
	assert_int_equal(nl_neigh_refresh(nl, f), 0);
	assert_null(neigh(f, "10.77.0.9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collect_then_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_request, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
