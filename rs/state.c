/* ulvs-rs state files, sysctls and the bookkeeping that makes stop exact.
 *
 * State lives in /run/ulvs-rs/netns-COOKIE where COOKIE identifies the
 * network namespace (SO_NETNS_COOKIE; net-INODE on kernels without it):
 * `ip netns exec` gives each namespace its own sysctls and lo but shares
 * /run, and two real servers simulated on one host must not undo each
 * other.  ULVS_RS_STATE_DIR overrides the root (for
 * tests).  Files are small "key value..." line lists, replaced atomically.
 */
#include "rs/rs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

const struct rs_setting rs_arp_settings[4] = {
	{ "net/ipv4/conf/all/arp_ignore", "1" },
	{ "net/ipv4/conf/all/arp_announce", "2" },
	{ "net/ipv4/conf/lo/arp_ignore", "1" },
	{ "net/ipv4/conf/lo/arp_announce", "2" },
};

void rs_err(const char *fmt, ...)
{
	va_list ap;

	fputs("ulvs-rs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int rs_vip_parse(const char *s, struct rs_vip *v)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	memset(v, 0, sizeof(*v));
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, v->addr) == 1)
		v->family = 4;
	else if (inet_pton(AF_INET6, buf, v->addr) == 1)
		v->family = 6;
	else
		return -EINVAL;
	if (slash) {
		char *endp;
		long plen = strtol(slash + 1, &endp, 10);
		if (*endp || endp == slash + 1 || plen != (v->family == 4 ? 32 : 128))
			return -EINVAL;
	}
	inet_ntop(v->family == 4 ? AF_INET : AF_INET6, v->addr, v->text, sizeof(v->text));
	return 0;
}

int rs_state_dir(char *buf, size_t n, bool create)
{
	const char *root = getenv("ULVS_RS_STATE_DIR");
	struct stat st;

	if (!root || !*root)
		root = RS_STATE_ROOT;
	/* The namespace's cookie (kernel >= 5.14) is never reused while the
	 * system runs; its inode number is, as soon as the namespace is gone,
	 * and a new namespace would inherit a dead one's state. */
	uint64_t cookie = 0;
	socklen_t clen = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &clen) < 0)
			cookie = 0;
		close(fd);
	}
	if (cookie) {
		if ((size_t)snprintf(buf, n, "%s/netns-%llu", root, (unsigned long long)cookie) >= n)
			return -ENAMETOOLONG;
	} else {
		if (stat("/proc/self/ns/net", &st) < 0)
			return -errno;
		if ((size_t)snprintf(buf, n, "%s/net-%lu", root, (unsigned long)st.st_ino) >= n)
			return -ENAMETOOLONG;
	}
	if (create) {
		if (mkdir(root, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int rs_state_path(char *buf, size_t n, const char *name, bool create)
{
	char dir[256];
	int r = rs_state_dir(dir, sizeof(dir), create);

	if (r)
		return r;
	if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n)
		return -ENAMETOOLONG;
	return 0;
}

bool rs_state_exists(const char *name)
{
	char p[320];

	return rs_state_path(p, sizeof(p), name, false) == 0 && access(p, F_OK) == 0;
}

int rs_state_write(const char *name, const char *text)
{
	char p[320], tmp[340];
	int r = rs_state_path(p, sizeof(p), name, true), fd;
	size_t len = strlen(text), done = 0;

	if (r)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0) {
			r = -errno;
			close(fd);
			unlink(tmp);
			return r;
		}
		done += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, p) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

int rs_state_read(const char *name, char **text)
{
	char p[320];
	int r = rs_state_path(p, sizeof(p), name, false);
	FILE *f;
	long len;

	*text = NULL;
	if (r)
		return r;
	f = fopen(p, "re");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		r = -errno;
		fclose(f);
		return r;
	}
	*text = calloc(1, (size_t)len + 1);
	if (!*text) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(*text, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -EIO;
	}
	fclose(f);
	return 0;
}

int rs_state_remove(const char *name)
{
	char p[320], dir[256];
	int r = rs_state_path(p, sizeof(p), name, false);

	if (r)
		return r;
	if (unlink(p) < 0 && errno != ENOENT)
		return -errno;
	/* The directory goes with its last file; failure just means others remain. */
	if (rs_state_dir(dir, sizeof(dir), false) == 0)
		rmdir(dir);
	return 0;
}

int rs_sysctl_read(const char *path, char *val, size_t n)
{
	char p[256];
	int fd, r;
	ssize_t got;

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, val, n - 1);
	r = got < 0 ? -errno : 0;
	close(fd);
	if (r)
		return r;
	val[got] = '\0';
	while (got > 0 && (val[got - 1] == '\n' || val[got - 1] == ' '))
		val[--got] = '\0';
	return 0;
}

int rs_sysctl_write(const char *path, const char *val)
{
	char p[256];
	int fd, r = 0;
	size_t len = strlen(val);

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

/* --- shared sysctls ------------------------------------------------------- */

#define SYSCTL_FILE "sysctl"
#define MAX_LINES 128

struct sysctl_rec {
	char users[4][16];
	unsigned n_users;
	char path[MAX_LINES][96];
	char orig[MAX_LINES][32];
	unsigned n;
};

static void sysctl_load(struct sysctl_rec *rec)
{
	char *text, *save = NULL;

	memset(rec, 0, sizeof(*rec));
	if (rs_state_read(SYSCTL_FILE, &text))
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[96], b[32], u[16];
		if (sscanf(line, "user %15s", u) == 1 && rec->n_users < 4)
			memcpy(rec->users[rec->n_users++], u, sizeof(u));
		else if (sscanf(line, "orig %95s %31s", a, b) == 2 && rec->n < MAX_LINES) {
			snprintf(rec->path[rec->n], sizeof(rec->path[0]), "%s", a);
			snprintf(rec->orig[rec->n++], sizeof(rec->orig[0]), "%s", b);
		}
	}
	free(text);
}

static int sysctl_save(const struct sysctl_rec *rec)
{
	char buf[MAX_LINES * 140 + 128];
	size_t used = 0;

	if (!rec->n_users)
		return rs_state_remove(SYSCTL_FILE);
	for (unsigned i = 0; i < rec->n_users; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "user %s\n", rec->users[i]);
	for (unsigned i = 0; i < rec->n; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "orig %s %s\n",
					 rec->path[i], rec->orig[i]);
	return rs_state_write(SYSCTL_FILE, buf);
}

int rs_sysctl_claim(const char *user, const struct rs_setting *s, unsigned n)
{
	struct sysctl_rec rec;
	bool have_user = false;
	int r;

	sysctl_load(&rec);
	for (unsigned i = 0; i < rec.n_users; i++)
		have_user |= !strcmp(rec.users[i], user);
	if (!have_user && rec.n_users < 4)
		snprintf(rec.users[rec.n_users++], sizeof(rec.users[0]), "%s", user);
	for (unsigned i = 0; i < n; i++) {
		bool known = false;
		for (unsigned j = 0; j < rec.n; j++)
			known |= !strcmp(rec.path[j], s[i].path);
		if (known || rec.n >= MAX_LINES)
			continue;
		r = rs_sysctl_read(s[i].path, rec.orig[rec.n], sizeof(rec.orig[0]));
		if (r) {
			rs_err("cannot read /proc/sys/%s: %s", s[i].path, strerror(-r));
			return r;
		}
		snprintf(rec.path[rec.n++], sizeof(rec.path[0]), "%s", s[i].path);
	}
	/* Originals are on disk before anything changes: a crash half way
	 * still leaves stop able to put everything back. */
	r = sysctl_save(&rec);
	if (r) {
		rs_err("cannot write state: %s", strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < n; i++) {
		r = rs_sysctl_write(s[i].path, s[i].value);
		if (r) {
			rs_err("cannot set %s=%s: %s", s[i].path, s[i].value, strerror(-r));
			return r;
		}
	}
	return 0;
}

int rs_sysctl_release(const char *user)
{
	struct sysctl_rec rec;
	unsigned k = 0;
	int failed = 0;

	sysctl_load(&rec);
	for (unsigned i = 0; i < rec.n_users; i++)
		if (strcmp(rec.users[i], user))
			memmove(rec.users[k++], rec.users[i], sizeof(rec.users[0]));
	rec.n_users = k;
	if (!rec.n_users) {
		for (unsigned i = 0; i < rec.n; i++) {
			int r = rs_sysctl_write(rec.path[i], rec.orig[i]);
			if (r) {
				rs_err("cannot restore %s=%s: %s", rec.path[i], rec.orig[i],
				       strerror(-r));
				failed++;
			}
		}
	}
	sysctl_save(&rec);
	return failed;
}

void rs_sysctl_show(FILE *out)
{
	struct sysctl_rec rec;

	sysctl_load(&rec);
	if (!rec.n_users)
		return;
	fprintf(out, "sysctl: held by");
	for (unsigned i = 0; i < rec.n_users; i++)
		fprintf(out, " %s", rec.users[i]);
	fputc('\n', out);
	for (unsigned i = 0; i < rec.n; i++) {
		char now[32] = "?";
		rs_sysctl_read(rec.path[i], now, sizeof(now));
		fprintf(out, "  %s = %s (was %s)\n", rec.path[i], now, rec.orig[i]);
	}
}

/* --- VIPs on lo, shared by dr and tun ------------------------------------- */

int rs_vips_add(const struct rs_vip *v, unsigned n, char *state, size_t cap)
{
	size_t used = strlen(state);

	for (unsigned i = 0; i < n; i++) {
		char label[16] = "-";
		int has = rs_lo_has(&v[i]);
		if (has < 0) {
			rs_err("cannot list addresses of lo: %s", strerror(-has));
			return has;
		}
		if (!has) {
			int r = rs_lo_add(&v[i], label, sizeof(label));
			if (r) {
				rs_err("cannot add %s to lo: %s", v[i].text, strerror(-r));
				return r;
			}
			if (!label[0])
				snprintf(label, sizeof(label), "-");
		}
		used += (size_t)snprintf(state + used, cap - used, "vip %s %s %s\n", v[i].text,
					 has ? "present" : "added", label);
		if (used >= cap)
			return -ENOSPC;
	}
	return 0;
}

static bool state_lists_vip(const char *other, const char *vip)
{
	char *text, *save = NULL;
	bool found = false;

	if (rs_state_read(other, &text))
		return false;
	for (char *line = strtok_r(text, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[64];
		found = sscanf(line, "vip %63s", a) == 1 && !strcmp(a, vip);
	}
	free(text);
	return found;
}

/* Marks vip as added in state file name ("present" -> "added"). */
static void state_adopt_vip(const char *name, const char *vip)
{
	char *text, *out, *save = NULL;
	size_t used = 0, cap;

	if (rs_state_read(name, &text))
		return;
	cap = strlen(text) + 64;
	out = calloc(1, cap);
	if (!out) {
		free(text);
		return;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[64], how[16], label[16];
		if (sscanf(line, "vip %63s %15s %15s", a, how, label) == 3 && !strcmp(a, vip))
			used += (size_t)snprintf(out + used, cap - used, "vip %s added %s\n", a, label);
		else
			used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	}
	rs_state_write(name, out);
	free(out);
	free(text);
}

int rs_vips_remove(const char *state, const char *other)
{
	char *copy = strdup(state), *save = NULL;
	int failed = 0;

	if (!copy)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[64], how[16];
		struct rs_vip v;
		if (sscanf(line, "vip %63s %15s", a, how) != 2 || strcmp(how, "added"))
			continue;
		if (rs_vip_parse(a, &v))
			continue;
		if (state_lists_vip(other, a)) {
			/* The other mode now owns it and takes it off when it stops. */
			state_adopt_vip(other, a);
			fprintf(stderr, "ulvs-rs: keeping %s on lo: %s still uses it\n", a, other);
			continue;
		}
		int r = rs_lo_del(&v);
		if (r && r != -EADDRNOTAVAIL && r != -ENOENT) {
			rs_err("cannot remove %s from lo: %s", a, strerror(-r));
			failed++;
		}
	}
	free(copy);
	return failed;
}
