/* ulvs-rs: prepares a real server for DR, TUN and FULLNAT without kernel
 * modules - ARP suppression and VIP on lo (dr), tc BPF tunnel
 * decapsulation (tun), TOA read-out by sock_ops + cgroup getpeername hooks
 * (toa) - and undoes it again.  This file is the command line; each mode
 * lives in its own file (dr.c, tun.c, toa.c), the bookkeeping in state.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "rs/rs.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ulvs-rs dr start --vip VIP [--vip VIP ...]\n"
		"       ulvs-rs tun start --vip VIP [--vip VIP ...] [--dev IFACE]\n"
		"       ulvs-rs toa start [--cgroup PATH]\n"
		"       ulvs-rs dr|tun stop\n"
		"       ulvs-rs toa stop [--cgroup PATH]\n"
		"       ulvs-rs status\n"
		"       ulvs-rs -h | --help | -v | --version\n"
		"\n"
		"  dr    VIP/32 (/128) on lo, arp_ignore=1 arp_announce=2 (LVS DR real server)\n"
		"  tun   dr's setup plus IP-in-IP / IPv6-in-IP decapsulation by a tc BPF\n"
		"        program on IFACE's ingress (default: the default route's interface)\n"
		"  toa   getpeername()/accept() report the client from the FULLNAT TOA option,\n"
		"        for every process in cgroup v2 PATH (default %s)\n"
		"  stop  undoes exactly what start did; status shows what is set up\n"
		"\n"
		"VIPs may be given as --vip A --vip B, --vip A,B or as extra arguments.\n"
		"Exit: 0 done, 1 failed, 2 usage, 3 already started, 4 kernel lacks a feature.\n",
		RS_CGROUP_ROOT);
}

/* libbpf's chatter (the verifier log on a refused program) is worth
 * showing only when something goes wrong, which it reports as warnings. */
static int libbpf_print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int add_vips(char *arg, struct rs_vip *v, unsigned *n)
{
	char *save = NULL;

	for (char *s = strtok_r(arg, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (*n >= RS_MAX_VIPS) {
			rs_err("at most %d VIPs", RS_MAX_VIPS);
			return -1;
		}
		if (rs_vip_parse(s, &v[*n])) {
			rs_err("'%s' is not an IPv4 or IPv6 host address (ADDR, ADDR/32 or ADDR/128)", s);
			return -1;
		}
		for (unsigned i = 0; i < *n; i++)
			if (v[i].family == v[*n].family && !memcmp(v[i].addr, v[*n].addr, 16)) {
				rs_err("VIP %s given twice", v[*n].text);
				return -1;
			}
		(*n)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vip", required_argument, NULL, 'V' },
		{ "dev", required_argument, NULL, 'd' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rs_vip vips[RS_MAX_VIPS];
	unsigned n_vips = 0;
	const char *dev = NULL, *cgroup = NULL, *mode, *action;
	int c;

	if (argc < 2) {
		usage(stderr);
		return RS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RS_EXIT_OK;
	}
	if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
		printf("ulvs-rs %s\n", ULVS_VERSION);
		return RS_EXIT_OK;
	}
	mode = argv[1];
	if (!strcmp(mode, "status")) {
		if (argc > 2) {
			rs_err("status takes no arguments");
			return RS_EXIT_USAGE;
		}
		rs_dr_status(stdout);
		rs_tun_status(stdout);
		rs_sysctl_show(stdout);
		rs_toa_status(stdout);
		return RS_EXIT_OK;
	}
	if (strcmp(mode, "dr") && strcmp(mode, "tun") && strcmp(mode, "toa")) {
		rs_err("unknown command '%s'", mode);
		usage(stderr);
		return RS_EXIT_USAGE;
	}
	if (argc < 3 || (strcmp(argv[2], "start") && strcmp(argv[2], "stop"))) {
		rs_err("%s: expected start or stop", mode);
		return RS_EXIT_USAGE;
	}
	action = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			if (add_vips(optarg, vips, &n_vips))
				return RS_EXIT_USAGE;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'c':
			cgroup = optarg;
			break;
		case 'h':
			usage(stdout);
			return RS_EXIT_OK;
		default:
			return RS_EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++)
		if (add_vips(argv[optind], vips, &n_vips))
			return RS_EXIT_USAGE;

	bool start = !strcmp(action, "start");
	bool is_toa = !strcmp(mode, "toa"), is_tun = !strcmp(mode, "tun");
	if (is_toa && n_vips) {
		rs_err("toa takes no VIPs");
		return RS_EXIT_USAGE;
	}
	if (!is_toa && cgroup) {
		rs_err("--cgroup is for toa");
		return RS_EXIT_USAGE;
	}
	if (!is_tun && dev) {
		rs_err("--dev is for tun");
		return RS_EXIT_USAGE;
	}
	if (!is_toa && start && !n_vips) {
		rs_err("%s start: give at least one --vip", mode);
		return RS_EXIT_USAGE;
	}
	if (!start && (n_vips || dev)) {
		rs_err("%s stop takes no VIPs or device: it undoes what start recorded", mode);
		return RS_EXIT_USAGE;
	}
	if (geteuid() != 0)
		fprintf(stderr, "ulvs-rs: warning: not root; the kernel will likely refuse\n");
	libbpf_set_print(libbpf_print_cb);

	if (is_toa)
		return start ? rs_toa_start(cgroup) : rs_toa_stop(cgroup);
	if (is_tun)
		return start ? rs_tun_start(vips, n_vips, dev) : rs_tun_stop();
	return start ? rs_dr_start(vips, n_vips) : rs_dr_stop();
}
