/* ulvs-rs toa: make a FULLNAT real server's applications see the client.
 *
 * FULLNAT hides the client behind the director's local address; the
 * director tells the real server who the client was in the TOA option
 * (core/toa.h).  Alibaba's answer was a kernel module patching
 * inet_getname(); here the BPF programs of bpf/rs_toa.bpf.c do the same
 * from a cgroup v2 directory: sock_ops stores the option's address per
 * socket, cgroup/getpeername4/6 answer with it.  Every process in the cgroup
 * or below it is covered (the root: the whole host), with no change to the
 * application: nginx's $remote_addr, Apache's %a, getpeername() in a
 * script all show the client.
 *
 * The three attachments are bpf_links pinned under
 * /sys/fs/bpf/ulvs-rs/toa-CGID (CGID: the cgroup directory's inode, which
 * is the kernel's cgroup id) - mounting bpffs there first if nothing is -
 * so they outlive this process and `stop` can drop them: unpinning the last
 * reference to a link detaches it.  The cgroup's path is remembered in
 * /run/ulvs-rs/toa-CGID for status.  Cgroup hooks are not per network
 * namespace; run toa from a shell whose /sys shows the cgroup and bpffs
 * mounts (`ip netns exec` remounts /sys and hides them).
 */
#include "rs/rs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "rs/rs-bpf.h"

#define TOA_PIN_ROOT RS_BPFFS "/ulvs-rs"

static const char *const toa_stat_names[RS_TOA_STAT_MAX] = {
	[RS_TOA_FOUND_V4] = "found_ipv4",
	[RS_TOA_FOUND_V6] = "found_ipv6",
	[RS_TOA_ABSENT] = "absent",
	[RS_TOA_MALFORMED] = "malformed",
	[RS_TOA_NO_STORAGE] = "no_storage",
	[RS_TOA_REWRITTEN] = "rewritten",
};

static const char *const toa_progs[] = {
	"rs_toa_sockops", "rs_toa_getpeername4", "rs_toa_getpeername6",
};

static int toa_cgroup(const char *path, char *real, unsigned long *id)
{
	struct statfs sf;
	struct stat st;

	if (!realpath(path, real)) {
		rs_err("toa: %s: %s", path, strerror(errno));
		return -errno;
	}
	if (statfs(real, &sf) < 0 || stat(real, &st) < 0) {
		rs_err("toa: %s: %s", real, strerror(errno));
		return -errno;
	}
	if (sf.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		rs_err("toa: %s is not a cgroup v2 directory (cgroup2 is usually mounted at %s"
		       " or /sys/fs/cgroup)", real, RS_CGROUP_ROOT);
		return -ENOTDIR;
	}
	*id = (unsigned long)st.st_ino;
	return 0;
}

static bool bpffs_mounted(void)
{
	struct statfs sf;

	return statfs(RS_BPFFS, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

static void toa_paths(unsigned long id, char *pins, size_t pn, char *state, size_t sn)
{
	const char *root = getenv("ULVS_RS_STATE_DIR");

	snprintf(pins, pn, "%s/toa-%lu", TOA_PIN_ROOT, id);
	snprintf(state, sn, "%s/toa-%lu", root && *root ? root : RS_STATE_ROOT, id);
}

static int toa_unpin(const char *pins)
{
	DIR *d = opendir(pins);
	struct dirent *e;
	int failed = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", pins, e->d_name);
		if (unlink(p) < 0) {
			rs_err("toa: cannot unpin %s: %s", p, strerror(errno));
			failed++;
		}
	}
	closedir(d);
	if (rmdir(pins) < 0 && errno != ENOENT)
		failed++;
	return failed ? -EBUSY : 0;
}

int rs_toa_start(const char *cgroup)
{
	char real[PATH_MAX], pins[PATH_MAX], state[PATH_MAX], p[PATH_MAX + 32];
	struct bpf_object *obj;
	unsigned long id;
	int cg_fd, r, ret = RS_EXIT_FAIL;

	if (toa_cgroup(cgroup ? cgroup : RS_CGROUP_ROOT, real, &id))
		return RS_EXIT_USAGE;
	if (!bpffs_mounted()) {
		if (mount("bpf", RS_BPFFS, "bpf", 0, "mode=0700") < 0) {
			rs_err("toa: bpffs is not mounted at %s and mounting it failed: %s",
			       RS_BPFFS, strerror(errno));
			return RS_EXIT_FAIL;
		}
		fprintf(stderr, "ulvs-rs: toa: mounted bpffs at %s\n", RS_BPFFS);
	}
	toa_paths(id, pins, sizeof(pins), state, sizeof(state));
	if (mkdir(TOA_PIN_ROOT, 0700) < 0 && errno != EEXIST) {
		rs_err("toa: cannot create %s: %s", TOA_PIN_ROOT, strerror(errno));
		return RS_EXIT_FAIL;
	}
	if (mkdir(pins, 0700) < 0) {
		if (errno == EEXIST) {
			rs_err("toa: already started on %s (ulvs-rs status; ulvs-rs toa stop --cgroup %s)",
			       real, real);
			return RS_EXIT_STATE;
		}
		rs_err("toa: cannot create %s: %s", pins, strerror(errno));
		return RS_EXIT_FAIL;
	}

	cg_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		rs_err("toa: %s: %s", real, strerror(errno));
		rmdir(pins);
		return RS_EXIT_FAIL;
	}
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "rs_toa");
	obj = bpf_object__open_mem(rs_toa_obj, rs_toa_obj_len, &oo);
	if (!obj) {
		rs_err("toa: cannot open the embedded BPF object: %s", strerror(errno));
		goto out;
	}
	r = bpf_object__load(obj);
	if (r) {
		rs_err("toa: the kernel refused the sock_ops/getpeername programs: %s"
		       " (needs sk_storage in sock_ops and cgroup sock_addr, kernel >= 5.10)",
		       strerror(-r));
		ret = RS_EXIT_UNSUPPORTED;
		goto out;
	}
	for (unsigned i = 0; i < sizeof(toa_progs) / sizeof(toa_progs[0]); i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, toa_progs[i]);
		struct bpf_link *link = bpf_program__attach_cgroup(prog, cg_fd);
		if (!link) {
			rs_err("toa: cannot attach %s to %s: %s", toa_progs[i], real, strerror(errno));
			ret = errno == EINVAL || errno == EOPNOTSUPP ? RS_EXIT_UNSUPPORTED : RS_EXIT_FAIL;
			goto out;
		}
		snprintf(p, sizeof(p), "%s/%s", pins, toa_progs[i] + 7);
		r = bpf_link__pin(link, p);
		if (r) {
			rs_err("toa: cannot pin %s: %s", p, strerror(-r));
			bpf_link__destroy(link);
			goto out;
		}
		/* The pin holds the link; our handle can go. */
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
	}
	snprintf(p, sizeof(p), "%s/stats", pins);
	r = bpf_map__pin(bpf_object__find_map_by_name(obj, "rs_toa_stats"), p);
	if (r) {
		rs_err("toa: cannot pin %s: %s", p, strerror(-r));
		goto out;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", state);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	FILE *f = fopen(state, "we");
	if (!f || fprintf(f, "cgroup %s\npins %s\n", real, pins) < 0 || fclose(f)) {
		rs_err("toa: cannot write %s: %s", state, strerror(errno));
		goto out;
	}
	printf("toa: getpeername()/accept() in %s and below report the TOA client"
	       " (links pinned in %s)\n", real, pins);
	ret = RS_EXIT_OK;
out:
	if (ret != RS_EXIT_OK)
		toa_unpin(pins);
	bpf_object__close(obj);
	close(cg_fd);
	return ret;
}

int rs_toa_stop(const char *cgroup)
{
	char real[PATH_MAX], pins[PATH_MAX], state[PATH_MAX];
	unsigned long id;
	int r;

	if (toa_cgroup(cgroup ? cgroup : RS_CGROUP_ROOT, real, &id))
		return RS_EXIT_USAGE;
	toa_paths(id, pins, sizeof(pins), state, sizeof(state));
	if (!bpffs_mounted() || access(pins, F_OK) < 0) {
		fprintf(stderr, "ulvs-rs: toa: not started on %s; nothing to stop\n", real);
		unlink(state);
		return RS_EXIT_OK;
	}
	r = toa_unpin(pins);
	unlink(state);
	return r ? RS_EXIT_FAIL : RS_EXIT_OK;
}

void rs_toa_status(FILE *out)
{
	DIR *d = bpffs_mounted() ? opendir(TOA_PIN_ROOT) : NULL;
	struct dirent *e;
	bool any = false;

	while (d && (e = readdir(d))) {
		char pins[PATH_MAX], state[PATH_MAX], p[PATH_MAX + 16], cg[PATH_MAX] = "?";
		unsigned long id;
		char *end;
		if (strncmp(e->d_name, "toa-", 4))
			continue;
		id = strtoul(e->d_name + 4, &end, 10);
		if (*end)
			continue;
		toa_paths(id, pins, sizeof(pins), state, sizeof(state));
		FILE *f = fopen(state, "re");
		if (f) {
			if (fscanf(f, "cgroup %4095s", cg) != 1)
				snprintf(cg, sizeof(cg), "?");
			fclose(f);
		}
		fprintf(out, "toa: attached to cgroup %s (id %lu, pins in %s)\n", cg, id, pins);
		any = true;
		for (unsigned i = 0; i < sizeof(toa_progs) / sizeof(toa_progs[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", pins, toa_progs[i] + 7);
			int fd = bpf_obj_get(p);
			fprintf(out, "  %s %s\n", toa_progs[i] + 7, fd >= 0 ? "attached" : "MISSING");
			if (fd >= 0)
				close(fd);
		}
		snprintf(p, sizeof(p), "%s/stats", pins);
		int mfd = bpf_obj_get(p);
		uint64_t s[RS_TOA_STAT_MAX];
		if (mfd >= 0 && rs_percpu_sum(mfd, s, RS_TOA_STAT_MAX) == 0)
			for (unsigned k = 0; k < RS_TOA_STAT_MAX; k++)
				fprintf(out, "  %s %llu\n", toa_stat_names[k], (unsigned long long)s[k]);
		if (mfd >= 0)
			close(mfd);
	}
	if (d)
		closedir(d);
	if (!any)
		fprintf(out, "toa: not started%s\n",
			bpffs_mounted() ? "" : " (no bpffs at " RS_BPFFS " in this mount namespace)");
}
