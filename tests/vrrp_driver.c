/* ulvs-vrrp-test: the config's VRRP instances alone on an event loop.
 *
 * For the VRRP integration tests (tests/integration/test_vrrp.py) until
 * ulvsd runs VRRP itself, and for debugging VRRP without a data plane.
 * Usage: ulvs-vrrp-test -f keepalived.conf.  SIGTERM/SIGINT: leave (priority
 * 0 advert, VIPs removed) and exit 0; SIGUSR1: print status to stdout.
 * Exit codes as ulvsd's: 1 invalid config, 2 usage, 3 runtime.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/evloop.h"
#include "vrrp/vrrp.h"

static struct vrrp *vr;

static void sig_cb(struct evloop *l, int signo, void *arg)
{
	if (signo == SIGUSR1) {
		vrrp_status_print(vr, stdout);
		fflush(stdout);
		return;
	}
	vrrp_status_print(vr, stdout);
	fflush(stdout);
	vrrp_stop(vr);
	vr = NULL;
	ev_stop(l, 0);
}

static void state_cb(void *arg, const struct conf_vrrp *inst, enum vrrp_state_id from,
		     enum vrrp_state_id to)
{
	printf("state %s %s -> %s\n", inst->name, vrrp_state_name(from), vrrp_state_name(to));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int opt, nerr = 0;

	while ((opt = getopt(argc, argv, "f:")) != -1) {
		if (opt == 'f')
			path = optarg;
		else
			return 2;
	}
	if (!path) {
		fprintf(stderr, "usage: %s -f FILE\n", argv[0]);
		return 2;
	}
	struct conf *c = conf_load(path, stderr, &nerr, NULL);
	if (!c)
		return 1;
	struct evloop *l = ev_new();
	if (!l)
		return 3;
	ev_signal(l, SIGTERM, sig_cb, NULL);
	ev_signal(l, SIGINT, sig_cb, NULL);
	ev_signal(l, SIGUSR1, sig_cb, NULL);
	struct vrrp_hooks h = { .state_cb = state_cb };
	int r = vrrp_start(l, c, stdout, &h, &vr);
	if (r < 0) {
		fprintf(stderr, "vrrp_start: %s\n", strerror(-r));
		return 3;
	}
	r = ev_run(l);
	vrrp_stop(vr);
	ev_free(l);
	conf_free(c);
	return r ? 3 : 0;
}
