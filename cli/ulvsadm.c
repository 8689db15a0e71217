/* ulvsadm: the administration command of ulvs, option-compatible with
 * ipvsadm(8) 1.31 so existing scripts and muscle memory carry over.
 *
 * The command line is parsed the way ipvsadm parses it - the command comes
 * first, the same table of legal command/option pairs, the same defaults
 * (weight 1, gatewaying, wlc, persistence 360 s) and the same error words
 * and exit codes (2 for a usage error, 255 when the table refuses a change)
 * - and the request goes to ulvsd over its control socket (ctl/ctl_proto.h)
 * instead of the kernel.  Listings print ipvsadm's layouts (list.c).
 * ulvs additions: --json for every listing, --fullnat and DPVS's
 * local-address commands (-P/-Q/-G with -z and -F), --simulate (a scheduler
 * preview that runs in this process, simulate.c) and --socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/list.h"
#include "cli/simulate.h"
#include "cli/status_view.h"
#include "core/sched/sched.h"
#include "core/service-t.h"
#include "ctl/ctl_proto.h"

#ifndef ULVS_VERSION
#define ULVS_VERSION "dev"
#endif

#define EXIT_REFUSED 255          /* ipvsadm returns -1 from main */
#define DEF_PERSISTENT_TIMEOUT 360 /* IPVS_SVC_PERSISTENT_TIMEOUT */

enum cmd {
	CMD_NONE = 0,
	CMD_ADD, CMD_EDIT, CMD_DEL, CMD_FLUSH, CMD_LIST, CMD_ADDDEST, CMD_DELDEST,
	CMD_EDITDEST, CMD_TIMEOUT, CMD_STARTDAEMON, CMD_STOPDAEMON, CMD_RESTORE, CMD_SAVE,
	CMD_ZERO,
	/* DPVS's ipvsadm */
	CMD_ADDLADDR, CMD_DELLADDR, CMD_GETLADDR,
	/* ulvs */
	CMD_STATUS,
	CMD_N
};

static const char *const cmdnames[CMD_N] = {
	"", "add-service", "edit-service", "delete-service", "flush", "list", "add-server",
	"delete-server", "edit-server", "set", "start-daemon", "stop-daemon", "restore", "save",
	"zero", "add-laddr", "del-laddr", "get-laddr", "status",
};

enum opt {
	O_NUMERIC, O_CONNECTION, O_SERVICE, O_SCHEDULER, O_PERSISTENT, O_NETMASK, O_SERVER,
	O_FORWARD, O_WEIGHT, O_UTHRESHOLD, O_LTHRESHOLD, O_MCAST, O_TIMEOUT, O_DAEMON, O_STATS,
	O_RATE, O_THRESHOLDS, O_PERSISTENTCONN, O_NOSORT, O_SYNCID, O_EXACT, O_ONEPACKET, O_PE,
	O_SCHED_FLAGS, O_MCAST_GROUP, O_MCAST_PORT, O_MCAST_TTL, O_SYNC_MAXLEN, O_TUN_INFO,
	O_TUN_TYPE, O_TUN_PORT, O_TUN_NOCSUM, O_TUN_CSUM, O_TUN_REMCSUM,
	O_LADDR,                  /* ulvs/DPVS: -z */
	O_N
};

static const char *const optnames[O_N] = {
	"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
	"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
	"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds", "persistent-conn",
	"nosort", "syncid", "exact", "ops", "pe", "sched-flags", "mcast-group", "mcast-port",
	"mcast-ttl", "sync-maxlen", "tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum",
	"tun-remcsum", "laddr",
};

/* ipvsadm 1.31's table of legal combinations, one row per command, one
 * column per option above: '+' required, 'x' illegal, '1' at most one of
 * the '1's, ' ' optional.  The last column (laddr) and rows are ulvs's. */
static const char *const legal[CMD_N] = {
	[CMD_ADD] =         "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	[CMD_EDIT] =        "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	[CMD_DEL] =         "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_FLUSH] =       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_LIST] =        " 1 xxxxxxxxx11       xxxxxxx xxxxxx",
	[CMD_ADDDEST] =     "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	[CMD_DELDEST] =     "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_EDITDEST] =    "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	[CMD_TIMEOUT] =     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_STARTDAEMON] = "xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx",
	[CMD_STOPDAEMON] =  "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx",
	[CMD_RESTORE] =     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_SAVE] =        " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_ZERO] =        "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_ADDLADDR] =    "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+",
	[CMD_DELLADDR] =    "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+",
	[CMD_GETLADDR] =    "  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[CMD_STATUS] =      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
};

/* What one command line asks for. */
struct ce {
	enum cmd cmd;
	uint64_t options;
	unsigned format;
	struct ctl_cmd c;
	char sched_flags[128];
	bool json;
	const char *socket;
	struct ctl_daemon daemon;     /* --start-daemon / --stop-daemon */
};

static const char *prog = "ulvsadm";

static void __attribute__((noreturn, format(printf, 2, 3))) fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void __attribute__((noreturn)) tryhelp_exit(void)
{
	fprintf(stderr, "Try `%s -h' or '%s --help' for more information.\n", prog, prog);
	exit(EXIT_REFUSED);
}

/* ---- help ------------------------------------------------------------------ */

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

static void version(FILE *f)
{
	fprintf(f, "ulvsadm v%s (ipvsadm v1.31 compatible, IPVS v1.2.1)\n", ULVS_VERSION);
}

static void usage_exit(int code)
{
	FILE *f = code ? stderr : stdout;
	const struct sched_ops *const *all = sched_all();
	char scheds[256] = "";

	for (unsigned i = 0; all[i]; i++) {
		size_t o = strlen(scheds);
		snprintf(scheds + o, sizeof(scheds) - o, "%s%s", i ? "|" : "", all[i]->name);
	}
	version(f);
	fprintf(f,
		"Usage:\n"
		"  %1$s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags]\n"
		"  %1$s -D virtual-service\n"
		"  %1$s -C\n"
		"  %1$s -R\n"
		"  %1$s -S [-n]\n"
		"  %1$s -a|e virtual-service -r server-address [options]\n"
		"  %1$s -d virtual-service -r server-address\n"
		"  %1$s -L|l [virtual-service] [options]\n"
		"  %1$s -Z [virtual-service]\n"
		"  %1$s --set tcp tcpfin udp\n"
		"  %1$s --start-daemon {master|backup} [daemon-options]\n"
		"  %1$s --stop-daemon {master|backup}\n"
		"  %1$s --status [--json]\n"
		"  %1$s -P|Q virtual-service -z local-address [-F ifname]\n"
		"  %1$s -G [virtual-service]\n"
		"  %1$s --simulate -s scheduler -r rip:port:weight ...   (%1$s --simulate -h)\n"
		"  %1$s -h\n\n",
		prog);
	fprintf(f,
		"Commands:\n"
		"Either long or short options are allowed.\n"
		"  --add-service     -A        add virtual service with options\n"
		"  --edit-service    -E        edit virtual service with options\n"
		"  --delete-service  -D        delete virtual service\n"
		"  --clear           -C        clear the whole table\n"
		"  --restore         -R        restore rules from stdin\n"
		"  --save            -S        save rules to stdout\n"
		"  --add-server      -a        add real server with options\n"
		"  --edit-server     -e        edit real server with options\n"
		"  --delete-server   -d        delete real server\n"
		"  --list            -L|-l     list the table\n"
		"  --zero            -Z        zero counters in a service or all services\n"
		"  --set tcp tcpfin udp        set connection timeout values\n"
		"  --start-daemon              start connection sync daemon\n"
		"  --stop-daemon               stop connection sync daemon\n"
		"  --status                    show the director's state (data plane, VRRP,\n"
		"                              checkers, sync)\n"
		"  --add-laddr       -P        add a FULLNAT local address to a service\n"
		"  --del-laddr       -Q        delete a FULLNAT local address\n"
		"  --get-laddr       -G        list FULLNAT local addresses\n"
		"  --simulate                  preview a scheduler on synthetic traffic\n"
		"  --help            -h        display this help message\n\n");
	fprintf(f,
		"virtual-service:\n"
		"  --tcp-service|-t  service-address   service-address is host[:port]\n"
		"  --udp-service|-u  service-address   service-address is host[:port]\n"
		"  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n"
		"\n");
	fprintf(f,
		"Options:\n"
		"  --ipv6         -6                   fwmark entry uses IPv6\n"
		"  --scheduler    -s scheduler         one of %s,\n"
		"                                      the default scheduler is wlc.\n"
		"  --persistent   -p [timeout]         persistent service\n"
		"  --netmask      -M netmask           persistent granularity mask\n"
		"  --real-server  -r server-address    server-address is host (and port)\n"
		"  --gatewaying   -g                   gatewaying (direct routing) (default)\n"
		"  --ipip         -i                   ipip encapsulation (tunneling)\n"
		"  --masquerading -m                   masquerading (NAT)\n"
		"  --fullnat                           full NAT (DPVS FNAT): needs local addresses\n"
		"  --weight       -w weight            capacity of real server\n"
		"  --u-threshold  -x uthreshold        upper threshold of connections\n"
		"  --l-threshold  -y lthreshold        lower threshold of connections\n"
		"  --connection   -c                   output of current IPVS connections\n"
		"                                      (of one service with -t|-u|-f)\n"
		"  --timeout                           output of timeout (tcp tcpfin udp)\n"
		"  --daemon                            output of daemon information\n"
		"  --mcast-interface interface         multicast interface for connection sync\n"
		"  --syncid sid                        syncid for connection sync (default 0:\n"
		"                                      a backup accepts every sync id)\n"
		"  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81),\n"
		"                                      or a unicast peer (ulvs)\n"
		"  --mcast-port port                   UDP port (default=8848)\n"
		"  --mcast-ttl ttl                     multicast TTL (default=1)\n"
		"  --sync-maxlen length                max sync message length (default: from\n"
		"                                      the interface MTU)\n"
		"  --stats                             output of statistics information\n"
		"  --rate                              output of rate information\n"
		"  --exact                             expand numbers (display exact values)\n"
		"  --thresholds                        output of thresholds information\n"
		"  --persistent-conn                   output of persistent connection info\n"
		"  --nosort                            disable sorting output of service/server entries\n"
		"  --sort                              does nothing, for backwards compatibility\n"
		"  --ops          -o                   one-packet scheduling\n"
		"  --numeric      -n                   numeric output of addresses and ports\n"
		"  --sched-flags  -b flags             scheduler flags (comma-separated)\n"
		"  --laddr        -z local-address     FULLNAT local address (with -P, -Q)\n"
		"  --ifname       -F ifname            interface of the local address\n"
		"  --json                              listings as JSON\n"
		"  --socket path                       ulvsd's control socket (default %s,\n"
		"                                      or $ULVS_CONTROL_SOCKET)\n",
		scheds, "/run/ulvsd.sock");
	fprintf(f, "\nSchedulers (-s):\n");
	for (unsigned i = 0; all[i]; i++) {
		const char *when = "";

		for (unsigned j = 0; j < sizeof(sched_help) / sizeof(sched_help[0]); j++)
			if (!strcmp(sched_help[j].name, all[i]->name))
				when = sched_help[j].when;
		fprintf(f, "  %-6s %s\n", all[i]->name, when);
	}
	fprintf(f, "\nScheduler flags (-b): sh-fallback, sh-port, mh-fallback, mh-port,\n"
		   "  flag-1, flag-2, flag-3 (comma-separated)\n");
	exit(code);
}

/* ---- argument parsers (ipvsadm's) -------------------------------------------- */

static long string_to_number(const char *s, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*end == '\0' && end != s && errno != ERANGE && n >= min && n <= max)
		return n;
	return -1;
}

static bool str_is_digit(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

enum { SERVICE_NONE = 0, SERVICE_ADDR = 1, SERVICE_PORT = 2 };

/* host[:port] or [v6]:port; port by number or by name for the protocol. */
static int parse_service(const char *arg, uint8_t proto, uint8_t *af, union ulvs_addr *a,
			 uint16_t *port)
{
	char buf[256], *portp = NULL, *host = buf;
	struct in6_addr a6;
	struct in_addr a4;
	int r = SERVICE_NONE;

	if (!arg || str_is_digit(arg) || strlen(arg) >= sizeof(buf))
		return SERVICE_NONE;
	strcpy(buf, arg);
	memset(a, 0, sizeof(*a));
	if (buf[0] == '[') {
		host = buf + 1;
		portp = strchr(host, ']');
		if (!portp)
			return SERVICE_NONE;
		*portp++ = '\0';
		if (*portp != ':')
			return SERVICE_NONE;
	}
	if (inet_pton(AF_INET6, host, &a6) > 0) {
		memcpy(a->b, &a6, 16);
		*af = ULVS_AF_INET6;
	} else {
		if (!portp) {
			portp = strrchr(host, ':');
			if (portp)
				*portp = '\0';
		}
		if (inet_aton(host, &a4)) {
			a->ip = a4.s_addr;
		} else {
			struct hostent *h = gethostbyname(host);

			if (!h || h->h_addrtype != AF_INET || h->h_length != 4)
				return SERVICE_NONE;
			memcpy(&a->ip, h->h_addr_list[0], 4);
		}
		*af = ULVS_AF_INET;
	}
	r |= SERVICE_ADDR;
	if (portp) {
		long n;

		r |= SERVICE_PORT;
		if ((n = string_to_number(portp + 1, 0, 65535)) != -1) {
			*port = htons((uint16_t)n);
		} else {
			struct servent *se =
				proto == 17 ? getservbyname(portp + 1, "udp") : getservbyname(portp + 1, "tcp");

			if (!se)
				return SERVICE_NONE;
			*port = (uint16_t)se->s_port;
		}
	}
	return r;
}

static uint32_t parse_timeout(const char *s, long min, long max)
{
	long n;

	if (!s)
		return DEF_PERSISTENT_TIMEOUT;
	n = string_to_number(s, min, max);
	if (n == -1)
		fail(2, "invalid timeout value `%s' specified", s);
	return (uint32_t)n;
}

static uint32_t parse_fwmark(const char *s)
{
	char *end;
	unsigned long l;

	errno = 0;
	l = strtoul(s, &end, 10);
	if (*end || end == s || errno == ERANGE || l == 0 || l > UINT32_MAX || s[0] == '-')
		fail(2, "invalid fwmark value `%s' specified", s);
	return (uint32_t)l;
}

static uint32_t parse_sched_flags(const char *sched, char *arg)
{
	uint32_t flags = 0;
	char *save = NULL;

	if (!sched[0])
		sched = "wlc";
	for (char *f = strtok_r(arg, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (!strcmp(f, "flag-1")) {
			flags |= SVC_F_SCHED1;
		} else if (!strcmp(f, "flag-2")) {
			flags |= SVC_F_SCHED2;
		} else if (!strcmp(f, "flag-3")) {
			flags |= SVC_F_SCHED3;
		} else if (!strcmp(f, "sh-fallback") || !strcmp(f, "mh-fallback")) {
			if (strncmp(sched, f, 2))
				fail(2, "incompatible scheduler flag `%s'", f);
			flags |= SVC_F_SCHED1;
		} else if (!strcmp(f, "sh-port") || !strcmp(f, "mh-port")) {
			if (strncmp(sched, f, 2))
				fail(2, "incompatible scheduler flag `%s'", f);
			flags |= SVC_F_SCHED2;
		} else {
			fail(2, "invalid scheduler flag `%s'", f);
		}
	}
	return flags;
}

static void set_command(struct ce *ce, enum cmd c)
{
	if (ce->cmd != CMD_NONE)
		fail(2, "multiple commands specified");
	ce->cmd = c;
}

static void set_option(struct ce *ce, enum opt o)
{
	if (ce->options & (1ull << o))
		fail(2, "multiple '%s' options specified", optnames[o]);
	ce->options |= 1ull << o;
}

static void generic_opt_check(enum cmd cmd, uint64_t options)
{
	int last = -1;

	for (int j = 0; j < O_N; j++) {
		char t = legal[cmd][j];

		if (!(options & (1ull << j))) {
			if (t == '+')
				fail(2, "You need to supply the '%s' option for the '%s' command",
				     optnames[j], cmdnames[cmd]);
			continue;
		}
		if (t == 'x')
			fail(2, "Illegal '%s' option with the '%s' command", optnames[j],
			     cmdnames[cmd]);
		if (t == '1') {
			if (last < 0) {
				last = j;
				continue;
			}
			fail(2, "The option '%s' conflicts with the '%s' option in the '%s' command",
			     optnames[j], optnames[last], cmdnames[cmd]);
		}
	}
}

enum {
	T_SET = 256, T_START_DAEMON, T_STOP_DAEMON, T_MCAST_IFACE, T_TIMEOUT, T_DAEMON, T_STATS,
	T_RATE, T_THRESHOLDS, T_PERSISTENTCONN, T_SORT, T_NOSORT, T_SYNCID, T_PE, T_MCAST_GROUP,
	T_MCAST_PORT, T_MCAST_TTL, T_SYNC_MAXLEN, T_TUN_INFO, T_TUN_TYPE, T_TUN_PORT,
	T_TUN_NOCSUM, T_TUN_CSUM, T_TUN_REMCSUM, T_SCTP, T_JSON, T_FULLNAT, T_SOCKET,
	T_STATUS,
};

static const struct option long_opts[] = {
	{ "add-service", no_argument, NULL, 'A' },
	{ "edit-service", no_argument, NULL, 'E' },
	{ "delete-service", no_argument, NULL, 'D' },
	{ "clear", no_argument, NULL, 'C' },
	{ "list", no_argument, NULL, 'L' },
	{ "zero", no_argument, NULL, 'Z' },
	{ "add-server", no_argument, NULL, 'a' },
	{ "edit-server", no_argument, NULL, 'e' },
	{ "delete-server", no_argument, NULL, 'd' },
	{ "set", no_argument, NULL, T_SET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ "restore", no_argument, NULL, 'R' },
	{ "save", no_argument, NULL, 'S' },
	{ "start-daemon", required_argument, NULL, T_START_DAEMON },
	{ "stop-daemon", required_argument, NULL, T_STOP_DAEMON },
	{ "add-laddr", no_argument, NULL, 'P' },
	{ "del-laddr", no_argument, NULL, 'Q' },
	{ "get-laddr", no_argument, NULL, 'G' },
	{ "tcp-service", required_argument, NULL, 't' },
	{ "udp-service", required_argument, NULL, 'u' },
	{ "sctp-service", required_argument, NULL, T_SCTP },
	{ "fwmark-service", required_argument, NULL, 'f' },
	{ "scheduler", required_argument, NULL, 's' },
	{ "persistent", optional_argument, NULL, 'p' },
	{ "netmask", required_argument, NULL, 'M' },
	{ "real-server", required_argument, NULL, 'r' },
	{ "masquerading", no_argument, NULL, 'm' },
	{ "ipip", no_argument, NULL, 'i' },
	{ "gatewaying", no_argument, NULL, 'g' },
	{ "fullnat", no_argument, NULL, T_FULLNAT },
	{ "weight", required_argument, NULL, 'w' },
	{ "u-threshold", required_argument, NULL, 'x' },
	{ "l-threshold", required_argument, NULL, 'y' },
	{ "numeric", no_argument, NULL, 'n' },
	{ "connection", no_argument, NULL, 'c' },
	{ "mcast-interface", required_argument, NULL, T_MCAST_IFACE },
	{ "syncid", required_argument, NULL, T_SYNCID },
	{ "timeout", no_argument, NULL, T_TIMEOUT },
	{ "daemon", no_argument, NULL, T_DAEMON },
	{ "stats", no_argument, NULL, T_STATS },
	{ "rate", no_argument, NULL, T_RATE },
	{ "thresholds", no_argument, NULL, T_THRESHOLDS },
	{ "persistent-conn", no_argument, NULL, T_PERSISTENTCONN },
	{ "nosort", no_argument, NULL, T_NOSORT },
	{ "sort", no_argument, NULL, T_SORT },
	{ "exact", no_argument, NULL, 'X' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "ops", no_argument, NULL, 'o' },
	{ "pe", required_argument, NULL, T_PE },
	{ "sched-flags", required_argument, NULL, 'b' },
	{ "mcast-group", required_argument, NULL, T_MCAST_GROUP },
	{ "mcast-port", required_argument, NULL, T_MCAST_PORT },
	{ "mcast-ttl", required_argument, NULL, T_MCAST_TTL },
	{ "sync-maxlen", required_argument, NULL, T_SYNC_MAXLEN },
	{ "tun-info", no_argument, NULL, T_TUN_INFO },
	{ "tun-type", required_argument, NULL, T_TUN_TYPE },
	{ "tun-port", required_argument, NULL, T_TUN_PORT },
	{ "tun-nocsum", no_argument, NULL, T_TUN_NOCSUM },
	{ "tun-csum", no_argument, NULL, T_TUN_CSUM },
	{ "tun-remcsum", no_argument, NULL, T_TUN_REMCSUM },
	{ "laddr", required_argument, NULL, 'z' },
	{ "ifname", required_argument, NULL, 'F' },
	{ "json", no_argument, NULL, T_JSON },
	{ "socket", required_argument, NULL, T_SOCKET },
	{ "status", no_argument, NULL, T_STATUS },
	{ NULL, 0, NULL, 0 },
};

static bool is_command(int c)
{
	if (c == T_SET || c == T_START_DAEMON || c == T_STOP_DAEMON || c == T_STATUS)
		return true;
	return c > 0 && c < 128 && strchr("AEDCLlZaedhvRSPQG", c);
}

/* Parse one command line (argv[0] is the program) into ce.  Exits with
 * ipvsadm's message on any error, as ipvsadm does. */
static void parse_options(int argc, char **argv, struct ce *ce)
{
	bool first = true;
	int c;

	memset(ce, 0, sizeof(*ce));
	ce->c.weight = 1;                 /* ipvsadm's defaults */
	ce->c.fwd = FWD_DR;
	optind = 0;                       /* glibc: rescan from the start */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-AEDCLlZaedhvRSPQGt:u:f:s:p::M:r:migw:x:y:nc6ob:Xz:F:",
				long_opts, NULL)) != -1) {
		const char *oa = optarg;
		long n;

		if (c == 1) {
			/* positional: only --set takes them; kept for later */
			continue;
		}
		if (c == '?' || c == ':') {
			if (first)
				tryhelp_exit();
			if (optopt && optopt < 256)
				fprintf(stderr, "-%c: %s\n", optopt,
					strchr("tufsMrwxybzF", optopt) ? "missing argument" : "unknown option");
			else
				fprintf(stderr, "%s: unknown option\n", argv[optind - 1]);
			exit(EXIT_REFUSED);
		}
		/* ipvsadm wants the command first; ulvs's --socket and --json
		 * may stand anywhere */
		if (c != T_SOCKET && c != T_JSON) {
			if (first && !is_command(c))
				tryhelp_exit();
			first = false;
		}
		switch (c) {
		case 'A': set_command(ce, CMD_ADD); break;
		case 'E': set_command(ce, CMD_EDIT); break;
		case 'D': set_command(ce, CMD_DEL); break;
		case 'a': set_command(ce, CMD_ADDDEST); break;
		case 'e': set_command(ce, CMD_EDITDEST); break;
		case 'd': set_command(ce, CMD_DELDEST); break;
		case 'C': set_command(ce, CMD_FLUSH); break;
		case 'L': case 'l': set_command(ce, CMD_LIST); break;
		case 'Z': set_command(ce, CMD_ZERO); break;
		case T_SET: set_command(ce, CMD_TIMEOUT); break;
		case 'R': set_command(ce, CMD_RESTORE); break;
		case 'S': set_command(ce, CMD_SAVE); break;
		case 'P': set_command(ce, CMD_ADDLADDR); break;
		case 'Q': set_command(ce, CMD_DELLADDR); break;
		case 'G': set_command(ce, CMD_GETLADDR); break;
		case T_START_DAEMON:
		case T_STOP_DAEMON:
			set_command(ce, c == T_START_DAEMON ? CMD_STARTDAEMON : CMD_STOPDAEMON);
			if (strcmp(oa, "master") && strcmp(oa, "backup"))
				fail(2, c == T_START_DAEMON ? "illegal start-daemon parameter specified"
							    : "illegal start_daemon specified");
			ce->daemon.state = strcmp(oa, "master") ? CTL_DAEMON_BACKUP : CTL_DAEMON_MASTER;
			break;
		case T_STATUS: set_command(ce, CMD_STATUS); break;
		case 'h': usage_exit(0); break;
		case 'v': version(stdout); exit(0);
		case 't':
		case 'u':
			set_option(ce, O_SERVICE);
			ce->c.has_svc = 1;
			ce->c.svc.proto = c == 't' ? 6 : 17;
			if (!(parse_service(oa, ce->c.svc.proto, &ce->c.svc.af, &ce->c.svc.addr,
					    &ce->c.svc.port) & SERVICE_ADDR))
				fail(2, "illegal virtual server address[:port] specified");
			if (ce->c.svc.af == ULVS_AF_INET6 && !ce->c.netmask)
				ce->c.netmask = 128;
			break;
		case T_SCTP:
			set_option(ce, O_SERVICE);
			fail(2, "%s", "Protocol not available");
		case 'f':
			set_option(ce, O_SERVICE);
			ce->c.has_svc = 1;
			ce->c.svc.af = ULVS_AF_INET;
			ce->c.svc.fwmark = parse_fwmark(oa);
			break;
		case '6':
			if (!ce->c.svc.fwmark)
				fail(2, "-6 used before -f\n");
			ce->c.svc.af = ULVS_AF_INET6;
			ce->c.netmask = 128;
			break;
		case 's':
			set_option(ce, O_SCHEDULER);
			snprintf(ce->c.sched, sizeof(ce->c.sched), "%s", oa);
			break;
		case 'p':
			set_option(ce, O_PERSISTENT);
			/* popt's optional argument: the next word unless it is an option */
			if (!oa && optind < argc && argv[optind][0] != '-')
				oa = argv[optind++];
			ce->c.svc_flags |= SVC_F_PERSISTENT;
			ce->c.timeout = parse_timeout(oa, 1, CTL_MAX_TIMEOUT);
			break;
		case 'M':
			set_option(ce, O_NETMASK);
			if (ce->c.svc.af != ULVS_AF_INET6) {
				struct in_addr m;
				uint32_t h;
				unsigned plen = 0;

				if (!inet_aton(oa, &m))
					fail(2, "illegal virtual server persistent mask specified");
				h = ntohl(m.s_addr);
				while (plen < 32 && (h & (0x80000000u >> plen)))
					plen++;
				/* ulvs keeps a prefix length: the mask must be contiguous */
				if (plen < 32 && (h << plen))
					fail(2, "illegal virtual server persistent mask specified");
				ce->c.netmask = plen == 32 ? 0 : plen;
			} else {
				n = atoi(oa);
				if (n < 1 || n > 128)
					fail(2, "illegal ipv6 netmask specified");
				ce->c.netmask = (uint32_t)n;
			}
			break;
		case 'r': {
			uint16_t port = ce->c.svc.port;
			int r;

			set_option(ce, O_SERVER);
			r = parse_service(oa, ce->c.svc.proto, &ce->c.dest_af, &ce->c.dest_addr, &port);
			if (!(r & SERVICE_ADDR))
				fail(2, "illegal real server address[:port] specified");
			/* no port given: the service's */
			ce->c.dest_port = r == SERVICE_ADDR ? ce->c.svc.port : port;
			break;
		}
		case 'i': set_option(ce, O_FORWARD); ce->c.fwd = FWD_TUN; break;
		case 'g': set_option(ce, O_FORWARD); ce->c.fwd = FWD_DR; break;
		case 'm': set_option(ce, O_FORWARD); ce->c.fwd = FWD_NAT; break;
		case T_FULLNAT: set_option(ce, O_FORWARD); ce->c.fwd = FWD_FNAT; break;
		case 'w':
			set_option(ce, O_WEIGHT);
			if ((n = string_to_number(oa, 0, 65535)) == -1)
				fail(2, "illegal weight specified");
			ce->c.weight = (int32_t)n;
			break;
		case 'x':
			set_option(ce, O_UTHRESHOLD);
			if ((n = string_to_number(oa, 0, INT_MAX)) == -1)
				fail(2, "illegal u_threshold specified");
			ce->c.u_threshold = (uint32_t)n;
			break;
		case 'y':
			set_option(ce, O_LTHRESHOLD);
			if ((n = string_to_number(oa, 0, INT_MAX)) == -1)
				fail(2, "illegal l_threshold specified");
			ce->c.l_threshold = (uint32_t)n;
			break;
		case 'c': set_option(ce, O_CONNECTION); break;
		case 'n': set_option(ce, O_NUMERIC); ce->format |= FMT_NUMERIC; break;
		case T_MCAST_IFACE:
			set_option(ce, O_MCAST);
			if (strlen(oa) >= sizeof(ce->daemon.ifname))
				fail(2, "illegal mcast-interface specified");
			snprintf(ce->daemon.ifname, sizeof(ce->daemon.ifname), "%s", oa);
			break;
		case T_SYNCID:
			set_option(ce, O_SYNCID);
			if ((n = string_to_number(oa, 0, 255)) == -1)
				fail(2, "illegal syncid specified");
			ce->daemon.syncid = (uint8_t)n;
			break;
		case T_TIMEOUT: set_option(ce, O_TIMEOUT); break;
		case T_DAEMON: set_option(ce, O_DAEMON); break;
		case T_STATS: set_option(ce, O_STATS); ce->format |= FMT_STATS; break;
		case T_RATE: set_option(ce, O_RATE); ce->format |= FMT_RATE; break;
		case T_THRESHOLDS: set_option(ce, O_THRESHOLDS); ce->format |= FMT_THRESHOLDS; break;
		case T_PERSISTENTCONN:
			set_option(ce, O_PERSISTENTCONN);
			ce->format |= FMT_PERSISTENTCONN;
			break;
		case T_NOSORT: set_option(ce, O_NOSORT); ce->format |= FMT_NOSORT; break;
		case T_SORT: break; /* the default; ipvsadm accepts it for compatibility */
		case 'X': set_option(ce, O_EXACT); ce->format |= FMT_EXACT; break;
		case 'o': set_option(ce, O_ONEPACKET); ce->c.svc_flags |= SVC_F_ONEPACKET; break;
		case T_PE:
			set_option(ce, O_PE);
			fail(2, "Scheduler or persistence engine not found");
		case 'b':
			set_option(ce, O_SCHED_FLAGS);
			snprintf(ce->sched_flags, sizeof(ce->sched_flags), "%s", oa);
			break;
		case T_MCAST_GROUP: {
			uint16_t port = 0;

			set_option(ce, O_MCAST_GROUP);
			if (parse_service(oa, 17, &ce->daemon.group_af, &ce->daemon.group, &port) !=
			    SERVICE_ADDR)
				fail(2, "invalid mcast-group specified");
			break;
		}
		case T_MCAST_PORT:
			set_option(ce, O_MCAST_PORT);
			if ((n = string_to_number(oa, 1, 65535)) == -1)
				fail(2, "illegal mcast-port specified");
			ce->daemon.port = htons((uint16_t)n);
			break;
		case T_MCAST_TTL:
			set_option(ce, O_MCAST_TTL);
			if ((n = string_to_number(oa, 1, 255)) == -1)
				fail(2, "illegal mcast-ttl specified");
			ce->daemon.ttl = (uint8_t)n;
			break;
		case T_SYNC_MAXLEN:
			set_option(ce, O_SYNC_MAXLEN);
			/* IPVS: at most a 64 KiB datagram less the IP and UDP headers */
			if ((n = string_to_number(oa, 1, 65535 - 20 - 8)) == -1)
				fail(2, "illegal sync-maxlen specified");
			ce->daemon.maxlen = (uint32_t)n;
			break;
		case T_TUN_INFO: set_option(ce, O_TUN_INFO); break;
		case T_TUN_TYPE:
			set_option(ce, O_TUN_TYPE);
			/* ulvs encapsulates in IPIP only */
			if (strcmp(oa, "ipip"))
				fail(2, "illegal tunnel type specified");
			break;
		case T_TUN_PORT: set_option(ce, O_TUN_PORT); break;
		case T_TUN_NOCSUM: set_option(ce, O_TUN_NOCSUM); break;
		case T_TUN_CSUM: set_option(ce, O_TUN_CSUM); break;
		case T_TUN_REMCSUM: set_option(ce, O_TUN_REMCSUM); break;
		case 'z': {
			uint16_t port = 0;

			set_option(ce, O_LADDR);
			if (parse_service(oa, 0, &ce->c.laddr_af, &ce->c.laddr, &port) != SERVICE_ADDR)
				fail(2, "illegal local address specified");
			break;
		}
		case 'F':
			if (strlen(oa) >= sizeof(ce->c.ifname))
				fail(2, "illegal interface name specified");
			snprintf(ce->c.ifname, sizeof(ce->c.ifname), "%s", oa);
			break;
		case T_JSON: ce->json = true; ce->format |= FMT_JSON; break;
		case T_SOCKET: ce->socket = oa; break;
		default:
			tryhelp_exit();
		}
	}
	if (ce->cmd == CMD_NONE)
		tryhelp_exit();
}

/* Positional words of a command line that no option consumed (getopt's "-"
 * mode hands them to us as option 1 in order). */
static int positionals(int argc, char **argv, const char **out, int max)
{
	int k = 0, c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-AEDCLlZaedhvRSPQGt:u:f:s:p::M:r:migw:x:y:nc6ob:Xz:F:",
				long_opts, NULL)) != -1) {
		if (c == 'p' && !optarg && optind < argc && argv[optind][0] != '-')
			optind++;
		else if (c == 1 && k < max)
			out[k++] = optarg;
		else if (c == 1)
			k++;
	}
	return k;
}

/* The checks ipvsadm makes after parsing, and the request this becomes. */
static void finish(int argc, char **argv, struct ce *ce)
{
	const char *pos[4];
	int npos = positionals(argc, argv, pos, 4);

	if (ce->cmd == CMD_TIMEOUT) {
		if (npos != 3)
			fail(2, "--set option requires 3 timeout values");
		ce->c.to_tcp = parse_timeout(pos[0], 0, CTL_MAX_TIMEOUT);
		ce->c.to_tcpfin = parse_timeout(pos[1], 0, CTL_MAX_TIMEOUT);
		ce->c.to_udp = parse_timeout(pos[2], 0, CTL_MAX_TIMEOUT);
	} else if (npos > 0) {
		fail(2, "unexpected argument %s", pos[0]);
	}
	generic_opt_check(ce->cmd, ce->options);
	/* ipvsadm lists one service or the connections, never both; ulvs lets
	 * a service narrow -c, and keeps the other exclusions */
	if (ce->cmd == CMD_LIST && (ce->options & (1ull << O_SERVICE))) {
		if (ce->options & (1ull << O_TIMEOUT))
			fail(2, "The option '%s' conflicts with the '%s' option in the '%s' command",
			     optnames[O_TIMEOUT], optnames[O_SERVICE], cmdnames[CMD_LIST]);
		if (ce->options & (1ull << O_DAEMON))
			fail(2, "The option '%s' conflicts with the '%s' option in the '%s' command",
			     optnames[O_DAEMON], optnames[O_SERVICE], cmdnames[CMD_LIST]);
	}
	if (ce->cmd == CMD_ADD || ce->cmd == CMD_EDIT) {
		if (!ce->c.svc.fwmark && !ce->c.svc.port && !(ce->c.svc_flags & SVC_F_PERSISTENT))
			fail(2, "Zero port specified for non-persistent service");
		if ((ce->c.svc_flags & SVC_F_ONEPACKET) && !ce->c.svc.fwmark && ce->c.svc.proto != 17)
			fail(2, "One-Packet Scheduling is only for UDP virtual services");
		if (ce->sched_flags[0])
			ce->c.svc_flags |= parse_sched_flags(ce->c.sched, ce->sched_flags);
		if (!ce->c.sched[0])
			snprintf(ce->c.sched, sizeof(ce->c.sched), "wlc");
		if (!(ce->c.svc_flags & SVC_F_PERSISTENT))
			ce->c.netmask = 0;
		if (ce->c.netmask == 128 && ce->c.svc.af == ULVS_AF_INET6)
			ce->c.netmask = 0;
	} else {
		ce->c.svc_flags = 0;
		ce->c.timeout = 0;
		ce->c.netmask = 0;
		ce->c.sched[0] = '\0';
	}
	if (ce->cmd == CMD_ADDDEST || ce->cmd == CMD_EDITDEST) {
		/* DR and TUN keep the virtual port (ipvsadm forces it too) */
		if (!ce->c.svc.fwmark && (ce->c.fwd == FWD_TUN || ce->c.fwd == FWD_DR))
			ce->c.dest_port = ce->c.svc.port;
		if (ce->c.dest_af != ce->c.svc.af && ce->c.fwd != FWD_TUN && !ce->c.svc.fwmark)
			fail(2, "Different address family is allowed only for tunneling servers");
	}
	if (ce->cmd != CMD_ADDDEST && ce->cmd != CMD_EDITDEST && ce->cmd != CMD_DELDEST) {
		ce->c.dest_af = 0;
		memset(&ce->c.dest_addr, 0, sizeof(ce->c.dest_addr));
		ce->c.dest_port = 0;
		ce->c.fwd = 0;
		ce->c.weight = 0;
		ce->c.u_threshold = ce->c.l_threshold = 0;
	} else if (ce->cmd == CMD_DELDEST) {
		ce->c.fwd = 0;
		ce->c.weight = 0;
	}
	if (ce->cmd != CMD_ADDLADDR && ce->cmd != CMD_DELLADDR) {
		ce->c.laddr_af = 0;
		memset(&ce->c.laddr, 0, sizeof(ce->c.laddr));
		ce->c.ifname[0] = '\0';
	}
	if (ce->json && ce->cmd != CMD_LIST && ce->cmd != CMD_GETLADDR && ce->cmd != CMD_STATUS)
		fail(2, "Illegal 'json' option with the '%s' command", cmdnames[ce->cmd]);
	if (ce->cmd == CMD_LIST && (ce->options & ((1ull << O_CONNECTION) | (1ull << O_TIMEOUT) |
						   (1ull << O_DAEMON))) &&
	    (ce->options & ((1ull << O_STATS) | (1ull << O_PERSISTENTCONN) | (1ull << O_RATE) |
			    (1ull << O_THRESHOLDS))))
		fail(2, "options conflicts in the list command");
	switch (ce->cmd) {
	case CMD_ADD: ce->c.op = CTL_OP_ADD_SVC; break;
	case CMD_EDIT: ce->c.op = CTL_OP_EDIT_SVC; break;
	case CMD_DEL: ce->c.op = CTL_OP_DEL_SVC; break;
	case CMD_FLUSH: ce->c.op = CTL_OP_FLUSH; break;
	case CMD_ADDDEST: ce->c.op = CTL_OP_ADD_DEST; break;
	case CMD_EDITDEST: ce->c.op = CTL_OP_EDIT_DEST; break;
	case CMD_DELDEST: ce->c.op = CTL_OP_DEL_DEST; break;
	case CMD_ZERO: ce->c.op = CTL_OP_ZERO; break;
	case CMD_TIMEOUT: ce->c.op = CTL_OP_SET_TIMEOUT; break;
	case CMD_ADDLADDR: ce->c.op = CTL_OP_ADD_LADDR; break;
	case CMD_DELLADDR: ce->c.op = CTL_OP_DEL_LADDR; break;
	default: ce->c.op = 0; break;
	}
}

/* ---- talking to ulvsd ---------------------------------------------------------- */

static struct ctl_client_conn conn = { .fd = -1 };

static void connect_or_fail(const char *path)
{
	int err;

	if (!path)
		path = getenv("ULVS_CONTROL_SOCKET");
	if (!path || !path[0])
		path = "/run/ulvsd.sock";
	err = cli_connect(&conn, path);
	if (err)
		fail(2, "Can't initialize ipvs: %s\nAre you sure that ulvsd is running and "
			"listening on %s?", err == -EACCES ? "Permission denied (you must be root)"
							   : strerror(-err), path);
}

/* One request; returns the payload of a reply of type want, or prints the
 * daemon's error words and exits with ipvsadm's status. */
static uint8_t *call(struct ctl_buf *req, uint16_t want, uint32_t *len)
{
	uint16_t type;
	uint8_t *p;
	int err = cli_call(&conn, req, &type, &p, len);

	if (err)
		fail(2, "ulvsd control socket: %s", strerror(-err));
	if (type == CTL_REP_ERROR) {
		struct ctl_error e;

		if (ctl_get_error(p, *len, &e))
			fail(2, "ulvsd sent a malformed error reply");
		fprintf(stderr, "%s\n", e.msg);
		free(p);
		exit(EXIT_REFUSED);
	}
	if (type != want)
		fail(2, "ulvsd sent an unexpected reply (type %u)", type);
	return p;
}

static void simple_request(uint16_t type, struct ctl_buf *b)
{
	ctl_buf_init(b, CTL_HDR_LEN + CTL_MAX_REQUEST);
	ctl_msg_end(b, ctl_msg_begin(b, type));
}

static void get_info(struct ctl_info *i)
{
	struct ctl_buf b;
	uint32_t len;
	uint8_t *p;

	simple_request(CTL_REQ_INFO, &b);
	p = call(&b, CTL_REP_INFO, &len);
	ctl_buf_free(&b);
	if (ctl_get_info(p, len, i))
		fail(2, "ulvsd sent a malformed reply");
	free(p);
}

static void get_list(const struct ctl_svc_key *filter, struct ctl_list *l)
{
	struct ctl_buf b;
	uint32_t len;
	uint8_t *p;
	size_t at;

	ctl_buf_init(&b, CTL_HDR_LEN + CTL_MAX_REQUEST);
	at = ctl_msg_begin(&b, CTL_REQ_LIST);
	ctl_put_list_req(&b, filter);
	ctl_msg_end(&b, at);
	p = call(&b, CTL_REP_LIST, &len);
	ctl_buf_free(&b);
	if (ctl_get_list(p, len, l))
		fail(2, "ulvsd sent a malformed reply");
	free(p);
}

static int send_cmds(const struct ctl_cmd *c, uint32_t n)
{
	struct ctl_buf b;
	uint32_t len;
	uint8_t *p;
	size_t at;

	ctl_buf_init(&b, CTL_HDR_LEN + CTL_MAX_REQUEST);
	at = ctl_msg_begin(&b, CTL_REQ_CMD);
	ctl_put_cmds(&b, c, n);
	if (ctl_msg_end(&b, at))
		fail(2, "too many commands for one request");
	p = call(&b, CTL_REP_OK, &len);
	ctl_buf_free(&b);
	free(p);
	return 0;
}

/* -c, of every service or (svc not NULL) of one. */
static void list_conns(unsigned format, const struct ctl_svc_key *svc)
{
	uint32_t cursor = 0;
	int first = 1;

	if (format & FMT_JSON)
		printf("{\"connections\":[");
	else
		list_conns_header(stdout, format);
	for (;;) {
		struct ctl_buf b;
		struct ctl_conns cs;
		uint32_t len;
		uint8_t *p;
		size_t at;

		ctl_buf_init(&b, CTL_HDR_LEN + CTL_MAX_REQUEST);
		at = ctl_msg_begin(&b, svc ? CTL_REQ_CONNS_SVC : CTL_REQ_CONNS);
		if (svc)
			ctl_put_conns_svc_req(&b, cursor, CTL_CONNS_PAGE, svc);
		else
			ctl_put_conns_req(&b, cursor, CTL_CONNS_PAGE);
		ctl_msg_end(&b, at);
		p = call(&b, CTL_REP_CONNS, &len);
		ctl_buf_free(&b);
		if (ctl_get_conns(p, len, &cs))
			fail(2, "ulvsd sent a malformed reply");
		free(p);
		for (uint32_t i = 0; i < cs.n; i++) {
			if (format & FMT_JSON)
				list_conn_json(stdout, &cs.c[i], first);
			else
				list_conn(stdout, &cs.c[i], format);
			first = 0;
		}
		ctl_conns_free(&cs);
		if (cs.next == UINT32_MAX || cs.next <= cursor)
			break;
		cursor = cs.next;
	}
	if (format & FMT_JSON)
		printf("]}\n");
}

/* ---- -R: ipvsadm's restore, as one all-or-nothing batch ----------------------- */

/* Split a line into words (whitespace; '...' and "..." quote). */
static int split_words(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	while (*p) {
		char q = 0, *o;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		w[n++] = o = p;
		while (*p && (q || (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'))) {
			if (!q && (*p == '\'' || *p == '"'))
				q = *p++;
			else if (q && *p == q)
				q = 0, p++;
			else
				*o++ = *p++;
		}
		if (*p)
			p++;
		*o = '\0';
	}
	return n;
}

static int restore(const char *sock)
{
	struct ctl_cmd *cmds = NULL;
	uint32_t n = 0, cap = 0;
	char line[4096];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), stdin)) {
		char *w[129];
		struct ce ce;
		int argc;

		lineno++;
		w[0] = (char *)prog;
		argc = split_words(line, w + 1, 127);
		if (argc < 0)
			fail(2, "%s: -R: line %u: too many words", prog, lineno);
		if (argc == 0 || w[1][0] == '#')
			continue;
		argc++;
		w[argc] = NULL;
		parse_options(argc, w, &ce);
		finish(argc, w, &ce);
		if (!ce.c.op)
			fail(2, "%s: -R: line %u: only commands that change the table can be "
				"restored", prog, lineno);
		if (n == cap) {
			struct ctl_cmd *nc;

			cap = cap ? 2 * cap : 64;
			nc = realloc(cmds, cap * sizeof(*nc));
			if (!nc)
				fail(2, "Memory allocation problem");
			cmds = nc;
		}
		cmds[n++] = ce.c;
	}
	if (!n) {
		free(cmds);
		return 0;
	}
	if (n > CTL_MAX_BATCH)
		fail(2, "%s: -R: more than %u commands", prog, CTL_MAX_BATCH);
	connect_or_fail(sock);
	send_cmds(cmds, n);
	free(cmds);
	return 0;
}

int main(int argc, char **argv)
{
	struct ce ce;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--simulate"))
			return simulate_main(argc, argv);
	if (argc == 1) {
		/* like ipvsadm: no argument lists the table */
		static char *list_argv[] = { "ulvsadm", "-L", NULL };

		return main(2, list_argv);
	}
	parse_options(argc, argv, &ce);
	finish(argc, argv, &ce);

	switch (ce.cmd) {
	case CMD_RESTORE:
		return restore(ce.socket);
	default:
		break;
	}
	connect_or_fail(ce.socket);
	switch (ce.cmd) {
	case CMD_LIST:
		if (ce.options & (1ull << O_CONNECTION)) {
			list_conns(ce.format,
				   (ce.options & (1ull << O_SERVICE)) ? &ce.c.svc : NULL);
		} else if (ce.options & (1ull << O_TIMEOUT)) {
			struct ctl_buf b;
			struct ctl_timeouts to;
			uint32_t len;
			uint8_t *p;

			simple_request(CTL_REQ_TIMEOUTS, &b);
			p = call(&b, CTL_REP_TIMEOUTS, &len);
			ctl_buf_free(&b);
			if (ctl_get_timeouts(p, len, &to))
				fail(2, "ulvsd sent a malformed reply");
			free(p);
			list_timeouts(stdout, &to, ce.format);
		} else if (ce.options & (1ull << O_DAEMON)) {
			struct ctl_daemons ds;
			struct ctl_buf b;
			uint32_t len;
			uint8_t *p;

			/* no sync daemon runs: ipvsadm prints nothing then */
			simple_request(CTL_REQ_DAEMON, &b);
			p = call(&b, CTL_REP_DAEMON, &len);
			ctl_buf_free(&b);
			if (ctl_get_daemons(p, len, &ds))
				fail(2, "ulvsd sent a malformed reply");
			free(p);
			status_view_daemons(stdout, &ds, ce.json);
		} else {
			struct ctl_info info;
			struct ctl_list l;
			bool one = ce.options & (1ull << O_SERVICE);

			get_info(&info);
			get_list(one ? &ce.c.svc : NULL, &l);
			if (!(ce.format & FMT_NOSORT))
				list_sort(&l);
			list_services(stdout, &l, &info, ce.format, !one);
			ctl_list_free(&l);
		}
		break;
	case CMD_SAVE:
	case CMD_GETLADDR: {
		struct ctl_list l;
		bool one = ce.options & (1ull << O_SERVICE);

		get_list(one ? &ce.c.svc : NULL, &l);
		if (!(ce.format & FMT_NOSORT))
			list_sort(&l);
		if (ce.cmd == CMD_SAVE)
			list_services(stdout, &l, NULL, ce.format | FMT_RULE, 0);
		else
			list_laddrs(stdout, &l, ce.format);
		ctl_list_free(&l);
		break;
	}
	case CMD_STARTDAEMON:
	case CMD_STOPDAEMON: {
		struct ctl_buf b;
		uint32_t len;
		size_t at;

		ctl_buf_init(&b, CTL_HDR_LEN + CTL_MAX_REQUEST);
		if (ce.cmd == CMD_STARTDAEMON) {
			at = ctl_msg_begin(&b, CTL_REQ_START_DAEMON);
			ctl_put_daemon(&b, &ce.daemon);
		} else {
			at = ctl_msg_begin(&b, CTL_REQ_STOP_DAEMON);
			ctl_put_stop_daemon(&b, ce.daemon.state);
		}
		ctl_msg_end(&b, at);
		free(call(&b, CTL_REP_OK, &len));
		ctl_buf_free(&b);
		break;
	}
	case CMD_STATUS: {
		struct ctl_status st;
		struct ctl_buf b;
		uint32_t len;
		uint8_t *p;

		simple_request(CTL_REQ_STATUS, &b);
		p = call(&b, CTL_REP_STATUS, &len);
		ctl_buf_free(&b);
		if (ctl_get_status(p, len, &st))
			fail(2, "ulvsd sent a malformed reply");
		free(p);
		status_view_print(stdout, &st, ce.json);
		ctl_status_free(&st);
		break;
	}
	default:
		send_cmds(&ce.c, 1);
		break;
	}
	cli_close(&conn);
	return 0;
}
