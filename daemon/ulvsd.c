/* ulvsd: the director's entry point.
 *
 * Options follow keepalived's where they mean the same thing (-f, -t, -l,
 * -D, -n), so unit files and habits carry over.  Three ways to run:
 *   - config test (-t) and dump (--dump): load, validate, build, report;
 *   - replay (--replay IN --write OUT): the data plane over a capture with
 *     the capture's clock and every real server healthy (io/replay.h);
 *   - live: the data plane on the interfaces (io/live.h) until a signal.
 * ulvsd never forks (systemd's Type=simple is the supported way to run it);
 * -n is accepted so keepalived command lines keep working.
 * Exit codes (man/ulvsd.8): 0 ok, 1 invalid config, 2 usage, 3 runtime.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <syslog.h>

#include "check/check.h"
#include "conf/conf.h"
#include "core/engine.h"
#include "core/fib.h"
#include "core/service.h"
#include "ctl/ctl_server.h"
#include "daemon/build.h"
#include "daemon/director.h"
#include "daemon/evloop.h"
#include "daemon/reload.h"
#include "daemon/status.h"
#include "io/live.h"
#include "io/replay.h"
#include "metrics/metrics.h"
#include "sync/sync.h"
#include "vrrp/vrrp.h"

#define DEFAULT_CONF "/etc/keepalived/keepalived.conf"

enum exit_code {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
};

struct opts {
	const char *conf_path;
	const char *replay_in, *replay_out, *pass_out;
	const char *backend;
	const char *config_id;
	unsigned workers;
	uint16_t cpus[ULVS_MAX_WORKERS];  /* --cpus: worker i on cpus[i % n_cpus] */
	unsigned n_cpus;
	bool config_test, dump, log_console, log_detail;
};

enum {
	OPT_DUMP = 0x100,
	OPT_REPLAY,
	OPT_WRITE,
	OPT_WRITE_PASSED,
	OPT_BACKEND,
	OPT_WORKERS,
	OPT_CPUS,
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ulvsd [-f FILE] [-i ID] [-t] [--dump] [-l] [-D] [-n]\n"
		"             [--backend NAME] [--workers N] [--cpus LIST]\n"
		"       ulvsd [-f FILE] --replay IN --write OUT [--write-passed FILE]\n"
		"       ulvsd -h | --help | -v | --version\n"
		"\n"
		"  -f, --use-file FILE     configuration (default " DEFAULT_CONF ")\n"
		"  -i, --config-id ID      keepalived's config-id for @ID lines\n"
		"                          (default: the host name up to its first dot)\n"
		"  -t, --config-test       load and build the configuration, print\n"
		"                          diagnostics, exit 0 if valid, 1 if not\n"
		"      --dump              print the effective configuration\n"
		"      --replay IN         run the data plane over capture IN (pcap or\n"
		"                          pcapng) using its timestamps as the clock\n"
		"      --write OUT         write transmitted frames to OUT (pcapng,\n"
		"                          one interface per ulvs_defs interface)\n"
		"      --write-passed FILE write frames passed to the kernel to FILE\n"
		"      --backend NAME      live packet I/O: auto, afxdp, afpacket\n"
		"      --workers N         data-plane threads (default: one per CPU, or\n"
		"                          per --cpus entry; at most one per receive\n"
		"                          queue; AF_PACKET: 1)\n"
		"      --cpus LIST         pin worker i to the i-th CPU of LIST (e.g.\n"
		"                          2,3 or 0-3); default: not pinned\n"
		"  -l, --log-console       log to the console as well as syslog\n"
		"  -D, --log-detail        detailed logging\n"
		"  -n, --dont-fork         accepted for keepalived compatibility; ulvsd\n"
		"                          never forks\n"
		"  -h, --help              this help\n"
		"  -v, --version           print the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration\n"
		"without dropping connections.  Control socket: /run/ulvsd.sock, or\n"
		"ulvs_defs { control_socket PATH }, or $ULVS_CONTROL_SOCKET.\n"
		"\n"
		"Exit status: 0 ok, 1 configuration invalid, 2 usage error, 3 runtime error.\n");
}

/* --cpus: a list of CPU numbers and ranges ("2,3", "0-3,6"), in order,
 * each at most once, each one this process may run on.  0 or -EINVAL
 * after saying why. */
static int parse_cpus(const char *arg, struct opts *o)
{
	cpu_set_t allowed, seen;
	const char *p = arg;

	CPU_ZERO(&seen);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		CPU_ZERO(&allowed);
	o->n_cpus = 0;
	for (;;) {
		char *end;
		unsigned long lo, hi;

		errno = 0;
		lo = strtoul(p, &end, 10);
		if (errno || end == p || *p == '-' || *p == '+' || lo >= CPU_SETSIZE)
			goto syntax;
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (errno || end == p || *p == '-' || *p == '+' || hi >= CPU_SETSIZE ||
			    hi < lo)
				goto syntax;
		}
		for (unsigned long c = lo; c <= hi; c++) {
			if (!CPU_ISSET(c, &allowed)) {
				fprintf(stderr, "ulvsd: --cpus: CPU %lu is not one this process may "
					"run on (sched_getaffinity)\n", c);
				return -EINVAL;
			}
			if (CPU_ISSET(c, &seen)) {
				fprintf(stderr, "ulvsd: --cpus: CPU %lu is listed twice\n", c);
				return -EINVAL;
			}
			if (o->n_cpus == ULVS_MAX_WORKERS) {
				fprintf(stderr, "ulvsd: --cpus: more than %u CPUs\n",
					ULVS_MAX_WORKERS);
				return -EINVAL;
			}
			CPU_SET(c, &seen);
			o->cpus[o->n_cpus++] = (uint16_t)c;
		}
		if (*end == '\0')
			return 0;
		if (*end != ',')
			goto syntax;
		p = end + 1;
	}
syntax:
	fprintf(stderr, "ulvsd: --cpus takes a list of CPU numbers and ranges such as "
		"2,3 or 0-3, not '%s'\n", arg);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "use-file", required_argument, NULL, 'f' },
		{ "config-test", no_argument, NULL, 't' },
		{ "dump", no_argument, NULL, OPT_DUMP },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "write", required_argument, NULL, OPT_WRITE },
		{ "write-passed", required_argument, NULL, OPT_WRITE_PASSED },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "log-console", no_argument, NULL, 'l' },
		{ "log-detail", no_argument, NULL, 'D' },
		{ "dont-fork", no_argument, NULL, 'n' },
		{ "config-id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->conf_path = DEFAULT_CONF;
	o->backend = "auto";
	while ((c = getopt_long(argc, argv, "f:i:tlDnhv", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->conf_path = optarg; break;
		case 't': o->config_test = true; break;
		case OPT_DUMP: o->dump = true; break;
		case OPT_REPLAY: o->replay_in = optarg; break;
		case OPT_WRITE: o->replay_out = optarg; break;
		case OPT_WRITE_PASSED: o->pass_out = optarg; break;
		case OPT_BACKEND: o->backend = optarg; break;
		case OPT_WORKERS: {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || n < 1 ||
			    n > ULVS_MAX_WORKERS) {
				fprintf(stderr, "ulvsd: --workers takes a number from 1 to %u, not "
					"'%s'\n", ULVS_MAX_WORKERS, optarg);
				goto bad;
			}
			o->workers = (unsigned)n;
			break;
		}
		case OPT_CPUS:
			if (parse_cpus(optarg, o) < 0)
				goto bad;
			break;
		case 'l': o->log_console = true; break;
		case 'D': o->log_detail = true; break;
		case 'n': break;
		case 'i':
			o->config_id = optarg;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'v': printf("ulvsd %s\n", ULVS_VERSION); exit(EXIT_OK);
		default: goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ulvsd: unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	if (o->replay_in && !o->replay_out) {
		fprintf(stderr, "ulvsd: --replay needs --write OUT\n");
		goto bad;
	}
	if (!o->replay_in && (o->replay_out || o->pass_out)) {
		fprintf(stderr, "ulvsd: --write and --write-passed need --replay IN\n");
		goto bad;
	}
	if (strcmp(o->backend, "auto") && strcmp(o->backend, "afxdp") &&
	    strcmp(o->backend, "afpacket")) {
		fprintf(stderr, "ulvsd: --backend must be auto, afxdp or afpacket\n");
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "Try 'ulvsd --help'.\n");
	return -EINVAL;
}

/* --- logging ----------------------------------------------------------------
 * The live backends log to a FILE *; this one sends whole lines to syslog
 * (and to stderr with -l), so the backends need not know about syslog. */

struct log_sink {
	bool console;
	size_t len;
	char line[1024];
};

static void log_flush_line(struct log_sink *s)
{
	if (s->len == 0)
		return;
	s->line[s->len] = '\0';
	syslog(LOG_INFO, "%s", s->line);
	if (s->console)
		fprintf(stderr, "%s\n", s->line);
	s->len = 0;
}

static ssize_t log_write_cb(void *cookie, const char *buf, size_t size)
{
	struct log_sink *s = cookie;

	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || s->len == sizeof(s->line) - 1)
			log_flush_line(s);
		if (buf[i] != '\n')
			s->line[s->len++] = buf[i];
	}
	return (ssize_t)size;
}

static int log_close_cb(void *cookie)
{
	log_flush_line(cookie);
	return 0;
}

static FILE *log_open(struct log_sink *s, bool console)
{
	static const cookie_io_functions_t fns = {
		.write = log_write_cb,
		.close = log_close_cb,
	};
	FILE *fp;

	memset(s, 0, sizeof(*s));
	s->console = console;
	openlog("ulvsd", LOG_PID, LOG_DAEMON);
	fp = fopencookie(s, "w", fns);
	if (fp)
		setvbuf(fp, NULL, _IOLBF, 0);
	return fp ? fp : stderr;
}

/* --- the modes --------------------------------------------------------------- */

struct dataplane {
	struct conf *conf;
	struct svc_table *svcs;
	struct fib *fib;
	struct engine_params params;
};

static void dataplane_free(struct dataplane *d)
{
	svc_table_free(d->svcs);
	free(d->fib);
	conf_free(d->conf);
	memset(d, 0, sizeof(*d));
}

/* Load and (when build_opts is given) build; returns an exit code. */
static int dataplane_load(struct dataplane *d, const struct opts *o, const struct build_opts *bo)
{
	int errors = 0, warnings = 0, rc;

	memset(d, 0, sizeof(*d));
	struct conf_load_opts lo = { .config_id = o->config_id };
	d->conf = conf_load_opts(o->conf_path, &lo, stderr, &errors, &warnings);
	if (!d->conf && errors == 0) {
		fprintf(stderr, "ulvsd: %s: configuration could not be loaded\n", o->conf_path);
		return EXIT_CONFIG;
	}
	if (!d->conf) {
		fprintf(stderr, "ulvsd: %s: configuration invalid (%d error%s, %d warning%s)\n",
			o->conf_path, errors, errors == 1 ? "" : "s", warnings,
			warnings == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	if (!bo)
		return EXIT_OK;
	d->svcs = svc_table_new();
	d->fib = malloc(sizeof(*d->fib));
	if (!d->svcs || !d->fib) {
		fprintf(stderr, "ulvsd: out of memory building the data plane\n");
		return EXIT_RUNTIME;
	}
	fib_init(d->fib);
	rc = build_dataplane(d->conf, bo, d->svcs, d->fib, &d->params, stderr);
	if (rc) {
		fprintf(stderr, "ulvsd: %s: configuration cannot be applied: %s\n", o->conf_path,
			strerror(-rc));
		return rc == -ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
	}
	if (warnings && o->log_detail)
		fprintf(stderr, "ulvsd: %s: %d warning%s\n", o->conf_path, warnings,
			warnings == 1 ? "" : "s");
	return EXIT_OK;
}

static int dump(const struct dataplane *d, const struct opts *o)
{
	int rc = conf_dump(d->conf, stdout);

	if (rc == 0 && fflush(stdout) != 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, "ulvsd: cannot print the configuration: %s\n", strerror(-rc));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int run_check(const struct opts *o)
{
	/* Built as live mode would build it; replay adds only synthesized
	 * facts, so a config valid here is valid for replay too. */
	struct build_opts bo = { .replay = false, .all_healthy = true };
	struct dataplane d;
	int rc = dataplane_load(&d, o, o->config_test ? &bo : NULL);

	if (rc == EXIT_OK && o->dump)
		rc = dump(&d, o);
	if (rc == EXIT_OK && o->config_test)
		fprintf(stderr, "ulvsd: %s: configuration valid\n", o->conf_path);
	dataplane_free(&d);
	return rc;
}

static int run_replay(const struct opts *o)
{
	struct build_opts bo = { .replay = true, .all_healthy = true };
	struct replay_opts ro = {
		.in_path = o->replay_in,
		.out_path = o->replay_out,
		.pass_path = o->pass_out,
		.report = stderr,
		.err = stderr,
	};
	struct dataplane d;
	struct engine *e;
	uint64_t t0;
	int rc = dataplane_load(&d, o, &bo);

	if (rc != EXIT_OK)
		goto out;
	if (o->dump && (rc = dump(&d, o)) != EXIT_OK)
		goto out;
	if (o->config_test) {
		/* -t with --replay: check that the replay build works, run nothing. */
		fprintf(stderr, "ulvsd: %s: configuration valid for replay\n", o->conf_path);
		goto out;
	}
	if (replay_first_timestamp(o->replay_in, &t0, stderr) < 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	e = engine_new(&d.params, d.fib, d.svcs, t0);
	if (!e) {
		fprintf(stderr, "ulvsd: cannot create the engine (%u connections): %s\n",
			d.params.conn_capacity, strerror(ENOMEM));
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (replay_run(e, d.fib, &ro) < 0) {
		fprintf(stderr, "ulvsd: replay of %s failed\n", o->replay_in);
		rc = EXIT_RUNTIME;
	}
	engine_free(e);
out:
	dataplane_free(&d);
	return rc;
}

static void stop_cb(struct evloop *l, int signo, void *arg)
{
	FILE *log = arg;
	fprintf(log, "ulvsd: %s, stopping\n", strsignal(signo));
	ev_stop(l, EXIT_OK);
}

/* What the subsystems tell each other, on the one loop. */
static void workers_go(void *arg)
{
	live_resume(arg);
}

static void workers_hold(void *arg)
{
	live_pause(arg);
}

struct live_ctx {
	FILE *log;
	struct director *dir;
	const struct conf *conf;   /* the config VRRP and sync started with */
	struct live *live;
	struct sync *sync;
	struct reload *reload;
};

/* keepalived's reload signal: apply the file again without a restart
 * (daemon/reload.h); a bad file changes nothing. */
static void hup_cb(struct evloop *l, int signo, void *arg)
{
	struct live_ctx *x = arg;

	if (!x->reload) {
		fprintf(x->log, "ulvsd: SIGHUP while starting: ignored\n");
		return;
	}
	reload_run(x->reload);
}

static void tables_changed_cb(void *arg, const char *why)
{
	struct live_ctx *x = arg;
	live_tables_changed(x->live);
}

/* VRRP owns the VIPs: the data plane's steering follows at once. */
static void vrrp_vip_cb(void *arg, const struct conf_vrrp *inst, const struct conf_ipaddr *vip,
			bool up)
{
	struct live_ctx *x = arg;
	char a[64];

	unsigned n = director_set_vip_active(x->dir, (enum ulvs_af)vip->p.af, &vip->p.a, up);

	addr_format((enum ulvs_af)vip->p.af, &vip->p.a, a, sizeof(a));
	fprintf(x->log, "ulvsd: VRRP %s: VIP %s %s (%u service%s)\n", inst->name, a,
		up ? "ours: serving it" : "the master's: standing by", n, n == 1 ? "" : "s");
	live_tables_changed(x->live);
}

/* The connection sync role follows the VRRP instance lvs_sync_daemon
 * names: the master sends, everyone else receives (IPVS + keepalived). */
static void vrrp_state_cb(void *arg, const struct conf_vrrp *inst, enum vrrp_state_id from,
			  enum vrrp_state_id to)
{
	struct live_ctx *x = arg;
	const struct conf_global *g = &x->conf->global;

	if (!x->sync || !g->have_sync_daemon || !g->sync_daemon.instance ||
	    strcmp(g->sync_daemon.instance, inst->name) != 0)
		return;
	sync_set_role(x->sync, to == VRRP_ST_MASTER ? SYNC_ROLE_MASTER : SYNC_ROLE_BACKUP);
}

/* Live mode: data-plane workers (io/live.c) and one event loop carrying
 * every control-plane subsystem; each is started here in order and stopped
 * in reverse. */
static int run_live(const struct opts *o)
{
	struct log_sink sink;
	struct live_opts lo = { .backend = o->backend, .workers = o->workers,
				.cpus = o->cpus, .n_cpus = o->n_cpus,
				.verbose = o->log_detail };
	struct dataplane d;
	struct evloop *loop = NULL;
	struct director *dir = NULL;
	struct live *live = NULL;
	struct check *checks = NULL;
	struct ctl_server *ctl = NULL;
	struct status_ctx sx;
	struct metrics *metrics = NULL;
	struct vrrp *vrrp = NULL;
	struct live_ctx lx = { 0 };
	struct reload *reload = NULL;
	int rc = dataplane_load(&d, o, NULL);

	if (rc != EXIT_OK) {
		dataplane_free(&d);
		return rc;
	}
	lo.log = log_open(&sink, o->log_console);
	fprintf(lo.log, "ulvsd %s starting with %s\n", ULVS_VERSION, o->conf_path);
	loop = ev_new();
	struct director_opts dopts = { .replay = false, .log = lo.log };
	dir = loop ? director_new(loop, &dopts) : NULL;
	if (!dir) {
		fprintf(lo.log, "ulvsd: out of memory\n");
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = director_load(dir, d.conf, ev_now_ns(loop), stderr);
	if (rc) {
		fprintf(stderr, "ulvsd: %s: configuration cannot be applied: %s\n", o->conf_path,
			strerror(-rc));
		rc = rc == -ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
		goto out;
	}
	d.conf = NULL; /* the director owns it now */
	lx.log = lo.log;
	if (ev_signal(loop, SIGTERM, stop_cb, lo.log) < 0 ||
	    ev_signal(loop, SIGINT, stop_cb, lo.log) < 0 ||
	    ev_signal(loop, SIGHUP, hup_cb, &lx) < 0) {
		fprintf(lo.log, "ulvsd: cannot set up signal handling: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	live = live_start(loop, director_engine(dir), director_services(dir), director_fib(dir),
			  &lo);
	if (!live) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* The workers run while the control thread sleeps in its loop (or
	 * has let go around slow work, ev_release) and are paused whenever
	 * it runs: control code never races a packet. */
	ev_set_wait_hooks(loop, workers_go, workers_hold, live);
	lx = (struct live_ctx){ .log = lo.log, .dir = dir, .conf = director_conf(dir), .live = live };
	if (director_on_change(dir, tables_changed_cb, &lx) < 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Control-plane subsystems start here, after the data plane is up. */
	checks = check_start(dir, director_conf(dir));
	if (!checks) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* ulvsadm's socket: ulvs_defs { control_socket PATH }, else
	 * $ULVS_CONTROL_SOCKET, else /run/ulvsd.sock */
	{
		const char *cs = director_conf(dir)->ulvs.control_socket;
		if (!cs[0])
			cs = getenv("ULVS_CONTROL_SOCKET"); /* as ulvsadm reads it */
		if (cs && !cs[0])
			cs = NULL;
		ctl = ctl_server_start(dir, cs);
		if (!ctl) {
			fprintf(lo.log, "ulvsd: control socket %s: %s\n", cs ? cs : CTL_DEFAULT_PATH,
				strerror(errno));
			rc = EXIT_RUNTIME;
			goto out;
		}
		/* ulvsadm --status and the sync daemon commands */
		sx = (struct status_ctx){ .dir = dir, .live = &live, .backend_req = o->backend,
					  .checks = &checks, .vrrp = &vrrp, .sync = &lx.sync,
					  .log = lo.log };
		if (status_register(ctl, &sx) < 0) {
			fprintf(lo.log, "ulvsd: control socket: cannot register the status view\n");
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	/* Connection sync: global_defs lvs_sync_daemon (role from its VRRP
	 * instance's initial state until VRRP calls sync_set_role). */
	{
		struct sync_opts so;
		enum sync_role role;

		sync_opts_default(&so);
		so.log = lo.log;
		if (sync_opts_from_conf(&so, &role, director_conf(dir)) == 0) {
			/* lx.sync is the one slot: ulvsadm may stop and start it */
			lx.sync = sync_start(loop, director_engine(dir), &so, role);
			if (!lx.sync) {
				rc = EXIT_RUNTIME;
				goto out;
			}
		}
	}
	/* Prometheus endpoint: ulvs_defs metrics_listen (off by default). */
	if (director_conf(dir)->ulvs.have_metrics) {
		const struct conf_ulvs *u = &director_conf(dir)->ulvs;
		struct metrics_opts mo = {
			.af = u->metrics_addr.af,
			.addr = u->metrics_addr.a,
			.port = (uint16_t)u->metrics_port,
			.backend = live_backend_name(live),
			.workers = live_n_workers(live),
			.log = lo.log,
		};
		metrics = metrics_start(loop, director_engine(dir), &mo);
		if (!metrics) {
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	/* VRRP (vrrp_instance blocks) last: it may make us master, which
	 * needs everything above. */
	struct vrrp_hooks vh = { .arg = &lx, .vip_cb = vrrp_vip_cb, .state_cb = vrrp_state_cb };
	if (vrrp_start(loop, director_conf(dir), lo.log, &vh, &vrrp) < 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}

	reload = reload_new(dir, o->conf_path);
	if (!reload) {
		fprintf(lo.log, "ulvsd: out of memory\n");
		rc = EXIT_RUNTIME;
		goto out;
	}
	reload_set_config_id(reload, o->config_id);
	reload_set_check(reload, checks);
	reload_pin(reload, lx.conf);
	lx.reload = reload;

	rc = ev_run(loop);
	/* ...and stop here, in reverse order, before the data plane. */
	vrrp_stop(vrrp);          /* priority 0 advert, VIPs removed */
	vrrp = NULL;
	metrics_stop(metrics);
	metrics = NULL;
	sync_stop(lx.sync);
	lx.sync = NULL;
	ctl_server_stop(ctl);
	ctl = NULL;
	check_stop(checks);
	checks = NULL;

out:
	vrrp_stop(vrrp);
	metrics_stop(metrics);
	sync_stop(lx.sync);
	ctl_server_stop(ctl);
	check_stop(checks);
	ev_set_wait_hooks(loop, NULL, NULL, NULL);
	live_stop(live);
	fprintf(lo.log, "ulvsd stopped (exit %d)\n", rc);
	director_free(dir);
	reload_free(reload);        /* configs VRRP and sync read, kept past reloads */
	ev_free(loop);
	if (lo.log != stderr)
		fclose(lo.log);
	closelog();
	dataplane_free(&d);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;

	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	if (o.replay_in)
		return run_replay(&o);
	if (o.config_test || o.dump)
		return run_check(&o);
	return run_live(&o);
}
