/* ulvs-rs: prepares a real server for DR, TUN and FULLNAT without kernel
 * modules (ARP suppression and VIP on lo, tc BPF tunnel decapsulation, TOA
 * read-out via BPF).  The subcommands arrive with the live data plane issue;
 * until then each says so plainly instead of pretending. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ulvs-rs dr|tun|toa start|stop [--vip VIP ...]\n"
		"       ulvs-rs -h | --help | -v | --version\n"
		"\n"
		"  dr   start|stop --vip VIP...  ARP suppression and VIP/32 on lo (DR)\n"
		"  tun  start|stop --vip VIP...  IP-in-IP decapsulation by tc BPF (TUN)\n"
		"  toa  start|stop               client address from the TOA option (FULLNAT)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
		printf("ulvs-rs %s\n", ULVS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "dr") || !strcmp(argv[1], "tun") || !strcmp(argv[1], "toa")) {
		fprintf(stderr, "ulvs-rs: %s: not yet implemented in this version\n", argv[1]);
		return 3;
	}
	fprintf(stderr, "ulvs-rs: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
