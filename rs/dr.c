/* ulvs-rs dr: a real server for direct routing (LVS DR).
 *
 * The director forwards the client's packet unchanged except for the
 * destination MAC, so the real server must accept a packet to the VIP and
 * answer from it, yet never answer ARP for it (the director owns the VIP on
 * the segment).  What the classic dr_vip_conf.sh does: VIP/32 on lo:N,
 * arp_ignore=1 and arp_announce=2 on all and lo - here reversibly, with
 * the previous values kept in the state file "dr" and the shared "sysctl".
 */
#include "rs/rs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DR_STATE "dr"

int rs_dr_start(const struct rs_vip *v, unsigned n)
{
	char state[RS_MAX_VIPS * 96 + 64] = "mode dr\n";
	int r;

	if (rs_state_exists(DR_STATE)) {
		rs_err("dr: already started in this network namespace (ulvs-rs status; ulvs-rs dr stop)");
		return RS_EXIT_STATE;
	}
	/* Quiet ARP first: a VIP on lo before arp_ignore would be announced. */
	r = rs_sysctl_claim("dr", rs_arp_settings, 4);
	if (r) {
		rs_sysctl_release("dr");
		return RS_EXIT_FAIL;
	}
	r = rs_vips_add(v, n, state, sizeof(state));
	/* Written even on failure so stop can take off what did get added. */
	if (rs_state_write(DR_STATE, state) || r) {
		if (!r)
			rs_err("dr: cannot write state");
		rs_vips_remove(state, "tun");
		rs_state_remove(DR_STATE);
		rs_sysctl_release("dr");
		return RS_EXIT_FAIL;
	}
	for (unsigned i = 0; i < n; i++)
		printf("dr: %s on lo\n", v[i].text);
	return RS_EXIT_OK;
}

int rs_dr_stop(void)
{
	char *state;
	int failed;

	if (rs_state_read(DR_STATE, &state)) {
		fprintf(stderr, "ulvs-rs: dr: not started in this network namespace; nothing to stop\n");
		return RS_EXIT_OK;
	}
	failed = rs_vips_remove(state, "tun");
	failed += rs_sysctl_release("dr");
	free(state);
	rs_state_remove(DR_STATE);
	return failed ? RS_EXIT_FAIL : RS_EXIT_OK;
}

void rs_vips_show(FILE *out, const char *state)
{
	char *copy = strdup(state), *save = NULL;

	if (!copy)
		return;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char a[64], how[16], label[16];
		struct rs_vip v;
		if (sscanf(line, "vip %63s %15s %15s", a, how, label) != 3 || rs_vip_parse(a, &v))
			continue;
		int has = rs_lo_has(&v);
		fprintf(out, "  vip %s on lo%s%s (%s by ulvs-rs)%s\n", a,
			strcmp(label, "-") ? " as " : "", strcmp(label, "-") ? label : "",
			!strcmp(how, "added") ? "added" : "already there, kept",
			has == 1 ? "" : "  MISSING NOW");
	}
	free(copy);
}

void rs_dr_status(FILE *out)
{
	char *state;

	if (rs_state_read(DR_STATE, &state)) {
		fprintf(out, "dr: not started\n");
		return;
	}
	fprintf(out, "dr: started\n");
	rs_vips_show(out, state);
	free(state);
}
