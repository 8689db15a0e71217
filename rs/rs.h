/* ulvs-rs internals: what the dr, tun and toa subcommands share.
 *
 * Every change ulvs-rs makes to a host is recorded before or as it is made
 * in a small text file under the state directory (/run/ulvs-rs/netns-COOKIE,
 * one per network namespace, because sysctls, lo and tc filters are per
 * namespace while /run is not), so that `stop` undoes exactly that and
 * nothing else, and `status` can say what is set up.  Return convention
 * throughout: 0 or -errno; messages for the user go to stderr from the
 * function that knows the detail, prefixed "ulvs-rs: ".
 */
#ifndef ULVS_RS_RS_H
#define ULVS_RS_RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RS_MAX_VIPS 64
#define RS_STATE_ROOT "/run/ulvs-rs"
#define RS_BPFFS "/sys/fs/bpf"
#define RS_CGROUP_ROOT "/sys/fs/cgroup/unified"

/* Exit codes (documented in ulvs-rs(8)). */
enum rs_exit {
	RS_EXIT_OK = 0,
	RS_EXIT_FAIL = 1,       /* the kernel or the file system refused */
	RS_EXIT_USAGE = 2,      /* bad command line */
	RS_EXIT_STATE = 3,      /* start while started */
	RS_EXIT_UNSUPPORTED = 4 /* the kernel lacks what the mode needs */
};

struct rs_vip {
	int family;             /* 4 or 6 */
	uint8_t addr[16];       /* IPv4 in the first 4 bytes */
	char text[48];          /* as the user wrote it, normalised */
};

__attribute__((format(printf, 1, 2)))
void rs_err(const char *fmt, ...);

/* "10.0.0.1", "10.0.0.1/32", "2001:db8::1", "2001:db8::1/128".  Any other
 * prefix length is refused: a VIP on lo is a host address. */
int rs_vip_parse(const char *s, struct rs_vip *v);

/* The state directory of the current network namespace, created (0700)
 * when create is set.  buf gets the path. */
int rs_state_dir(char *buf, size_t n, bool create);
/* path of file name inside the state directory. */
int rs_state_path(char *buf, size_t n, const char *name, bool create);
bool rs_state_exists(const char *name);
/* Replaces the file with text atomically (write, fsync, rename). */
int rs_state_write(const char *name, const char *text);
/* Reads the whole file into a malloc'ed string in *text (caller frees). */
int rs_state_read(const char *name, char **text);
int rs_state_remove(const char *name);

/* /proc/sys/<path> read (trailing newline stripped) and write. */
int rs_sysctl_read(const char *path, char *val, size_t n);
int rs_sysctl_write(const char *path, const char *val);

/* Sysctls shared by several modes (the ARP ones for dr and tun): user
 * claims settings {path, value}; the first claim of a path records its
 * original value.  rs_sysctl_release() restores the originals when the last
 * user goes and returns how many could not be restored. */
struct rs_setting {
	const char *path;
	const char *value;
};
int rs_sysctl_claim(const char *user, const struct rs_setting *s, unsigned n);
int rs_sysctl_release(const char *user);
/* Prints the recorded users and original values (status). */
void rs_sysctl_show(FILE *out);

/* VIP on lo: rs_lo_has() is 1/0/-errno; rs_lo_add() picks the first free
 * label lo:N for IPv4 and writes it to label (may be NULL). */
int rs_lo_has(const struct rs_vip *v);
int rs_lo_add(const struct rs_vip *v, char *label, size_t label_len);
int rs_lo_del(const struct rs_vip *v);

/* VIPs on lo for a mode, shared by dr and tun: adds the missing ones and
 * appends "vip ADDR added|present LABEL" lines to state (a buffer of cap
 * bytes).  rs_vips_remove() takes them off again except those another
 * mode's state file (other) still lists. */
int rs_vips_add(const struct rs_vip *v, unsigned n, char *state, size_t cap);
int rs_vips_remove(const char *state, const char *other);
/* Prints the VIP lines of a state file, each checked against lo now. */
void rs_vips_show(FILE *out, const char *state);

/* The ARP settings of dr_vip_conf.sh: answer ARP only for addresses of the
 * receiving interface (arp_ignore=1) and always use the best local source
 * address in requests (arp_announce=2), on "all" and "lo". */
extern const struct rs_setting rs_arp_settings[4];

/* Embedded BPF objects (generated from bpf/ by rs/embed.py). */
extern const unsigned char rs_toa_obj[];
extern const size_t rs_toa_obj_len;
extern const unsigned char rs_tun_decap_obj[];
extern const size_t rs_tun_decap_obj_len;

/* Sum of a per-CPU array's slots; values gets n sums. */
int rs_percpu_sum(int map_fd, uint64_t *values, unsigned n);

/* The subcommands return an exit code (enum rs_exit), having said why on
 * stderr; status functions print and cannot fail. */
int rs_dr_start(const struct rs_vip *v, unsigned n);
int rs_dr_stop(void);
void rs_dr_status(FILE *out);

int rs_tun_start(const struct rs_vip *v, unsigned n, const char *dev);
int rs_tun_stop(void);
void rs_tun_status(FILE *out);

int rs_toa_start(const char *cgroup);
int rs_toa_stop(const char *cgroup);
void rs_toa_status(FILE *out);

#endif
