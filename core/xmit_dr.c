/* DR forwarding (ipvsadm -g, lb_kind DR, "direct routing" / gatewaying).
 *
 * The packet leaves exactly as the client sent it, addressed to the VIP; only
 * the Ethernet destination changes, to the real server's MAC, which the
 * engine writes after resolving the real server as the next hop.  The real
 * server holds the VIP on a non-ARPing interface and answers the client
 * directly.  Since nothing above layer 2 is rewritten, the real server must
 * listen on the virtual port, and it must share the packet's family.
 */
#include "xmit.h"

enum drop_reason xmit_dr(struct pkt *p, struct pkt_info *pi, const struct conn *c)
{
	(void)p;
	if (pi->t.af != c->af)
		return DROP_UNSUPPORTED;
	/* ip_vs_dr_xmit cannot change the port either; ipvsadm forces
	 * rport = vport for -g, and a table saying otherwise is refused here. */
	if ((pi->flags & PKT_F_L4) && c->dport != c->vport)
		return DROP_DR_PORT_MISMATCH;
	return DROP_NONE;
}
