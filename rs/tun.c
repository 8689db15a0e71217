/* ulvs-rs tun: a real server for IP tunnelling (LVS TUN) with no ipip module.
 *
 * The director wraps the client's packet in IP-in-IP (or IPv6-in-IP) to the
 * real server.  Where the kernel has the ipip module one would bring up
 * tunl0; here a tc BPF program (bpf/rs_tun_decap.bpf.c) on the ingress of
 * the interface the tunnel arrives on strips the outer header of packets
 * whose inner destination is a VIP, and the kernel delivers the inner packet
 * to the VIP on lo as it would a DR packet.  Hence the rest is dr's: VIP on
 * lo, ARP suppression.  Reverse-path filtering sees the inner packet (client
 * source) arriving on the interface; strict mode (1) is relaxed to loose (2)
 * on all and the interface, so a client routed elsewhere is not dropped.
 *
 * The filter stays in the kernel after we exit (tc owns it); `stop` finds it
 * again by interface, handle and priority, and `status` reads its maps
 * through the program's id, so no bpffs pin is needed (and `ip netns exec`,
 * which remounts /sys, does not get in the way).
 */
#include "rs/rs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include "rs/rs-bpf.h"

#define TUN_STATE "tun"
#define TUN_HANDLE 0x7273       /* "rs" */
#define TUN_PRIO 0x7273

static const char *const tun_stat_names[RS_TUN_STAT_MAX] = {
	[RS_TUN_DECAP_IPIP] = "decap_ipv4_inner",
	[RS_TUN_DECAP_IP6] = "decap_ipv6_inner",
	[RS_TUN_PASS_NOT_VIP] = "pass_not_vip",
	[RS_TUN_DROP_FRAGMENT] = "drop_fragment",
	[RS_TUN_DROP_TRUNCATED] = "drop_truncated",
	[RS_TUN_DROP_ECN] = "drop_ecn",
	[RS_TUN_DROP_ADJUST] = "drop_adjust_room",
};

/* The interface of the IPv4 default route, from /proc/net/route. */
static int default_dev(char *dev, size_t n)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256], ifname[IFNAMSIZ + 1];
	unsigned dst, flags;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %*x %x", ifname, &dst, &flags) == 3 && dst == 0 &&
		    (flags & 1)) {
			snprintf(dev, n, "%s", ifname);
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

static void tun_hook(struct bpf_tc_hook *h, int ifindex)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = BPF_TC_INGRESS;
}

static void tun_opts(struct bpf_tc_opts *o, int prog_fd)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = TUN_HANDLE;
	o->priority = TUN_PRIO;
	o->prog_fd = prog_fd;
}

/* Checks on a crafted IP-in-IP frame to the first VIP that this kernel's
 * bpf_skb_adjust_room() decapsulates as we expect.  0, or -EOPNOTSUPP with
 * the reason printed. */
static int tun_selftest(int prog_fd, int stats_fd, const struct rs_vip *v)
{
	unsigned char in[14 + 20 + 20 + 8] = { 0 }, out[128];
	struct iphdr o = { 0 }, i = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = sizeof(in),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	in[12] = 0x08;
	o.version = i.version = 4;
	o.ihl = i.ihl = 5;
	o.ttl = i.ttl = 64;
	o.protocol = IPPROTO_IPIP;
	o.tot_len = htons(48);
	i.protocol = IPPROTO_UDP;
	i.tot_len = htons(28);
	o.saddr = htonl(0xc0000201);
	o.daddr = htonl(0xc0000202);
	i.saddr = htonl(0xc0000263);
	memcpy(&i.daddr, v->addr, 4);
	/* Headers built aside and copied: at offset 14 they are misaligned. */
	memcpy(in + 14, &o, sizeof(o));
	memcpy(in + 34, &i, sizeof(i));
	if (bpf_prog_test_run_opts(prog_fd, &t) < 0) {
		rs_err("tun: BPF_PROG_TEST_RUN failed (%s); cannot check decapsulation",
		       strerror(errno));
		return -EOPNOTSUPP;
	}
	uint32_t zero_key = RS_TUN_DECAP_IPIP;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *zeros = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*zeros));
	if (zeros) {
		/* The probe is not traffic: its count goes. */
		for (uint32_t k = 0; k < RS_TUN_STAT_MAX; k++) {
			zero_key = k;
			bpf_map_update_elem(stats_fd, &zero_key, zeros, BPF_ANY);
		}
		free(zeros);
	}
	if (t.retval != TC_ACT_OK || t.data_size_out != sizeof(in) - 20 ||
	    memcmp(out + 14, in + 34, sizeof(in) - 34)) {
		rs_err("tun: this kernel's bpf_skb_adjust_room() does not strip an outer IPv4"
		       " header at BPF_ADJ_ROOM_MAC (verdict %u, %u bytes out)",
		       t.retval, t.data_size_out);
		return -EOPNOTSUPP;
	}
	return 0;
}

int rs_tun_start(const struct rs_vip *v, unsigned n, const char *dev_arg)
{
	char dev[IFNAMSIZ + 1], state[RS_MAX_VIPS * 96 + 256], path[128], val[32];
	struct bpf_object *obj = NULL;
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	bool qdisc_created = false, attached = false;
	int ifindex, prog_fd, vips_fd, stats_fd, r, ret = RS_EXIT_FAIL;
	if (rs_state_exists(TUN_STATE)) {
		rs_err("tun: already started in this network namespace (ulvs-rs status; ulvs-rs tun stop)");
		return RS_EXIT_STATE;
	}
	if (dev_arg)
		snprintf(dev, sizeof(dev), "%s", dev_arg);
	else if (default_dev(dev, sizeof(dev))) {
		rs_err("tun: no IPv4 default route to take the interface from; give --dev IFACE");
		return RS_EXIT_USAGE;
	}
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex) {
		rs_err("tun: no interface %s", dev);
		return RS_EXIT_USAGE;
	}

	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "rs_tun_decap");
	obj = bpf_object__open_mem(rs_tun_decap_obj, rs_tun_decap_obj_len, &oo);
	if (!obj) {
		rs_err("tun: cannot open the embedded BPF object: %s", strerror(errno));
		return RS_EXIT_FAIL;
	}
	r = bpf_object__load(obj);
	if (r) {
		rs_err("tun: the kernel refused the tc decapsulation program: %s", strerror(-r));
		bpf_object__close(obj);
		return RS_EXIT_UNSUPPORTED;
	}
	prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "rs_tun_decap"));
	vips_fd = bpf_object__find_map_fd_by_name(obj, "rs_tun_vips");
	stats_fd = bpf_object__find_map_fd_by_name(obj, "rs_tun_stats");
	for (unsigned i = 0; i < n; i++) {
		struct rs_vip_key k = { .family = (uint32_t)v[i].family };
		uint8_t one = 1;
		memcpy(k.addr, v[i].addr, 16);
		if (bpf_map_update_elem(vips_fd, &k, &one, BPF_ANY)) {
			rs_err("tun: cannot add %s to the VIP map: %s", v[i].text, strerror(errno));
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (v[i].family == 4) {
			if (tun_selftest(prog_fd, stats_fd, &v[i])) {
				ret = RS_EXIT_UNSUPPORTED;
				goto out;
			}
			break;
		}

	tun_hook(&hook, ifindex);
	r = bpf_tc_hook_create(&hook);
	if (r && r != -EEXIST) {
		rs_err("tun: cannot add a clsact qdisc to %s: %s", dev, strerror(-r));
		goto out;
	}
	qdisc_created = r == 0;
	tun_opts(&opts, prog_fd);
	r = bpf_tc_attach(&hook, &opts);
	if (r) {
		rs_err("tun: cannot attach the decapsulation filter to %s ingress: %s%s", dev,
		       strerror(-r), r == -EEXIST ? " (a filter with our handle is already there)" : "");
		ret = r == -EEXIST ? RS_EXIT_STATE : RS_EXIT_FAIL;
		goto out;
	}
	attached = true;

	snprintf(state, sizeof(state),
				"mode tun\ndev %s %d qdisc %s prog %u\n", dev, ifindex,
				qdisc_created ? "created" : "present", opts.prog_id);
	r = rs_state_write(TUN_STATE, state);
	if (r) {
		rs_err("tun: cannot write state: %s", strerror(-r));
		goto out;
	}
	/* Loose reverse-path filtering where it is strict (RFC 3704 §2.4
	 * "feasible path"): the effective value is max(all, dev). */
	struct rs_setting rp[2];
	char rp_all[] = "net/ipv4/conf/all/rp_filter";
	unsigned n_rp = 0;
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", dev);
	if (rs_sysctl_read(rp_all, val, sizeof(val)) == 0 && !strcmp(val, "1"))
		rp[n_rp++] = (struct rs_setting){ rp_all, "2" };
	if (rs_sysctl_read(path, val, sizeof(val)) == 0 && !strcmp(val, "1"))
		rp[n_rp++] = (struct rs_setting){ path, "2" };
	if (rs_sysctl_claim("tun", rs_arp_settings, 4) || (n_rp && rs_sysctl_claim("tun", rp, n_rp)))
		goto undo_state;
	r = rs_vips_add(v, n, state, sizeof(state));
	if (rs_state_write(TUN_STATE, state) || r)
		goto undo_vips;
	printf("tun: decapsulating on %s ingress (tc handle %#x prio %u, prog id %u)\n", dev,
	       TUN_HANDLE, TUN_PRIO, opts.prog_id);
	for (unsigned i = 0; i < n; i++)
		printf("tun: %s on lo\n", v[i].text);
	bpf_object__close(obj);
	return RS_EXIT_OK;

undo_vips:
	rs_vips_remove(state, "dr");
undo_state:
	rs_sysctl_release("tun");
	rs_state_remove(TUN_STATE);
out:
	if (attached) {
		tun_opts(&opts, 0);
		bpf_tc_detach(&hook, &opts);
	}
	if (qdisc_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	bpf_object__close(obj);
	return ret;
}

int rs_tun_stop(void)
{
	char *state, dev[IFNAMSIZ + 1], how[16];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int ifindex, failed = 0, r;
	const char *l;

	if (rs_state_read(TUN_STATE, &state)) {
		fprintf(stderr, "ulvs-rs: tun: not started in this network namespace; nothing to stop\n");
		return RS_EXIT_OK;
	}
	l = strstr(state, "\ndev ");
	if (l && sscanf(l, "\ndev %16s %d qdisc %15s", dev, &ifindex, how) == 3) {
		/* By name: an interface deleted and re-created gets a new index. */
		int now = (int)if_nametoindex(dev);
		if (!now) {
			fprintf(stderr, "ulvs-rs: tun: %s is gone; its filter went with it\n", dev);
		} else {
			tun_hook(&hook, now);
			tun_opts(&opts, 0);
			r = bpf_tc_detach(&hook, &opts);
			if (r && r != -ENOENT) {
				rs_err("tun: cannot detach the filter from %s: %s", dev, strerror(-r));
				failed++;
			}
			if (!strcmp(how, "created")) {
				/* Both directions named: libbpf then deletes the
				 * clsact qdisc itself, not just the ingress filters. */
				hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				r = bpf_tc_hook_destroy(&hook);
				if (r && r != -ENOENT && r != -EINVAL) {
					rs_err("tun: cannot remove the clsact qdisc of %s: %s", dev,
					       strerror(-r));
					failed++;
				}
			}
		}
	}
	failed += rs_vips_remove(state, "dr");
	failed += rs_sysctl_release("tun");
	free(state);
	rs_state_remove(TUN_STATE);
	return failed ? RS_EXIT_FAIL : RS_EXIT_OK;
}

void rs_tun_status(FILE *out)
{
	char *state, dev[IFNAMSIZ + 1], how[16];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int ifindex;
	const char *l;

	if (rs_state_read(TUN_STATE, &state)) {
		fprintf(out, "tun: not started\n");
		return;
	}
	l = strstr(state, "\ndev ");
	if (!l || sscanf(l, "\ndev %16s %d qdisc %15s", dev, &ifindex, how) != 3) {
		fprintf(out, "tun: started, state file unreadable\n");
		free(state);
		return;
	}
	tun_hook(&hook, (int)if_nametoindex(dev));
	tun_opts(&opts, 0);
	if (!hook.ifindex || bpf_tc_query(&hook, &opts)) {
		fprintf(out, "tun: started on %s, but the tc filter is GONE\n", dev);
		rs_vips_show(out, state);
		free(state);
		return;
	}
	fprintf(out, "tun: decapsulating on %s ingress (tc handle %#x prio %u, prog id %u)\n", dev,
		TUN_HANDLE, TUN_PRIO, opts.prog_id);
	rs_vips_show(out, state);
	free(state);

	/* Counters straight from the running program's map. */
	int pfd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (pfd < 0)
		return;
	uint32_t ids[8];
	struct bpf_prog_info pi = { .nr_map_ids = 8, .map_ids = (uint64_t)(uintptr_t)ids };
	uint32_t len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len) == 0) {
		for (uint32_t i = 0; i < pi.nr_map_ids && i < 8; i++) {
			int mfd = bpf_map_get_fd_by_id(ids[i]);
			struct bpf_map_info mi = { 0 };
			uint32_t mlen = sizeof(mi);
			if (mfd < 0)
				continue;
			if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen) == 0 &&
			    !strcmp(mi.name, "rs_tun_stats")) {
				uint64_t s[RS_TUN_STAT_MAX];
				if (rs_percpu_sum(mfd, s, RS_TUN_STAT_MAX) == 0)
					for (unsigned k = 0; k < RS_TUN_STAT_MAX; k++)
						fprintf(out, "  %s %llu\n", tun_stat_names[k],
							(unsigned long long)s[k]);
			}
			close(mfd);
		}
	}
	close(pfd);
}
