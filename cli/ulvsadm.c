/* ulvsadm: the administration command of ulvs, option-compatible with
 * ipvsadm(8) so existing scripts and muscle memory carry over.
 *
 * Today it answers -h, -v and --simulate (a scheduler preview that runs in
 * this process, see simulate.c).  Every ipvsadm command that changes or
 * lists the virtual server table needs the daemon's control socket, which
 * does not exist yet; those commands say so plainly and exit 2 rather than
 * pretend to work.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/simulate.h"
#include "core/sched/sched.h"

#ifndef ULVS_VERSION
#define ULVS_VERSION "dev"
#endif

/* ipvsadm's commands: a line that holds one of these asks the daemon to do
 * something.  -L is also what ipvsadm does with no command at all. */
static const char *const ipvsadm_commands[] = {
	"-A", "--add-service", "-E", "--edit-service", "-D", "--delete-service",
	"-C", "--clear", "-R", "--restore", "-S", "--save",
	"-a", "--add-server", "-e", "--edit-server", "-d", "--delete-server",
	"-L", "-l", "--list", "-Z", "--zero", "--set",
	"--start-daemon", "--stop-daemon", NULL,
};

/* ipvsadm's other options (parameters of the commands above). */
static const char *const ipvsadm_params[] = {
	"-t", "--tcp-service", "-u", "--udp-service", "--sctp-service", "-f", "--fwmark-service",
	"-s", "--scheduler", "-b", "--sched-flags", "-p", "--persistent", "-M", "--netmask",
	"--pe", "-r", "--real-server", "-g", "--gatewaying", "-i", "--ipip", "-m", "--masquerading",
	"-w", "--weight", "-x", "--u-threshold", "-y", "--l-threshold", "--mcast-interface",
	"--syncid", "-c", "--connection", "--timeout", "--daemon", "--stats", "--rate",
	"--thresholds", "--persistent-conn", "--nosort", "--sort", "-n", "--numeric",
	"--exact", "-6", "--ipv6", "-o", "--ops", "--tun-type", "--tun-port", "--tun-nocsum",
	"--tun-csum", "--tun-remcsum", NULL,
};

/* One line each on when to choose a scheduler (also in ulvsadm(8)). */
static const struct {
	const char *name, *when;
} sched_help[] = {
	{ "rr", "round robin: equal servers, short similar requests" },
	{ "wrr", "weighted round robin: servers of different capacity, even request cost" },
	{ "lc", "least connection: equal servers, requests of very different length" },
	{ "wlc", "weighted least connection (default): different capacity and request length" },
	{ "sed", "shortest expected delay: like wlc, favours big servers even when idle" },
	{ "nq", "never queue: an idle server first, else sed; keeps every server busy" },
	{ "lblc", "locality-based lc: cache clusters, one server per destination address" },
	{ "lblcr", "lblc with replication: cache clusters with hot destinations" },
	{ "dh", "destination hashing: static destination -> server map (cache, firewall)" },
	{ "sh", "source hashing: client affinity without persistence templates" },
	{ "mh", "Maglev hashing: client affinity that survives server changes" },
	{ "fo", "weighted fail over: all to the heaviest available server, others standby" },
	{ "ovf", "overflow: fill the heaviest server up to its weight in conns, then next" },
	{ "twos", "power of two choices: near-wlc balance at lower cost, large pools" },
};

static bool in_list(const char *arg, const char *const *list)
{
	/* "--opt=value" matches "--opt" */
	size_t len = strcspn(arg, "=");

	for (unsigned i = 0; list[i]; i++)
		if (strlen(list[i]) == len && strncmp(arg, list[i], len) == 0)
			return true;
	return false;
}

static void usage(FILE *f)
{
	const struct sched_ops *const *all = sched_all();

	fprintf(f,
		"ulvsadm " ULVS_VERSION " - administer ulvs, the userspace Linux Virtual Server\n"
		"\n"
		"Available now:\n"
		"  ulvsadm -h | --help       this text\n"
		"  ulvsadm -v | --version    version\n"
		"  ulvsadm --simulate -s SCHEDULER -r RIP:PORT:WEIGHT ... [-b FLAGS] [-p TIMEOUT]\n"
		"          [--clients N] [--conns M] [--seed S]  (ulvsadm --simulate -h for all)\n"
		"      run a scheduler over synthetic traffic and print each real server's\n"
		"      share and peak active connections\n"
		"\n"
		"Not yet implemented (they need the ulvsd control socket):\n"
		"  the ipvsadm commands -A -E -D -C -R -S -a -e -d -L -Z --set --start-daemon\n"
		"  --stop-daemon and their options; they exit with status 2 for now.\n"
		"\n"
		"Schedulers (-s):\n");
	for (unsigned i = 0; all[i]; i++) {
		const char *when = "";

		for (unsigned j = 0; j < sizeof(sched_help) / sizeof(sched_help[0]); j++)
			if (!strcmp(sched_help[j].name, all[i]->name))
				when = sched_help[j].when;
		fprintf(f, "  %-6s %s\n", all[i]->name, when);
	}
	fprintf(f, "\nScheduler flags (-b): sh-fallback, sh-port, mh-fallback, mh-port,\n"
		   "  flag-1, flag-2, flag-3 (comma-separated)\n");
}

int main(int argc, char **argv)
{
	const char *cmd = NULL;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--simulate"))
			return simulate_main(argc, argv);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
			printf("ulvsadm " ULVS_VERSION " (ipvsadm-compatible command line)\n");
			return 0;
		}
	}
	for (int i = 1; i < argc && !cmd; i++) {
		if (in_list(argv[i], ipvsadm_commands))
			cmd = argv[i];
		else if (argv[i][0] == '-' && !in_list(argv[i], ipvsadm_params)) {
			fprintf(stderr, "ulvsadm: unknown option %s\nTry 'ulvsadm -h'.\n", argv[i]);
			return 2;
		}
	}
	/* like ipvsadm, no command means "list" */
	fprintf(stderr, "ulvsadm: %.*s: not yet implemented (needs the control socket)\n",
		cmd ? (int)strcspn(cmd, "=") : 2, cmd ? cmd : "-L");
	return 2;
}
