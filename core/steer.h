/* Which data-plane worker owns a packet.
 *
 * With several workers (one per RX queue), both directions of a connection
 * must meet the worker whose connection table holds it, whatever queue the
 * NIC (or veth) delivered them on.  Ownership is a pure function of the
 * packet, the same on every worker:
 *
 *   to a virtual service (VIP:port, port-0 or fwmark rule)  hash(client address)
 *   NAT reply (real server -> client, not to an owned address)  hash(destination)
 *   FULLNAT reply (to a local address, not a service)        local port % n
 *   ICMP error                    the quoted packet, reversed, by the rules above
 *
 * The client address is masked with the coarsest persistence granularity
 * of the table's persistent services, so all of a client network's
 * connections and its persistence template live on one worker.  A FULLNAT
 * worker allocates local ports only from its own residue class
 * (lport_pool_new_part), so the reply's port names it.  Anything that does
 * not parse stays where it arrived.  No state, no syscalls.
 */
#ifndef ULVS_CORE_STEER_H
#define ULVS_CORE_STEER_H

#include <stdint.h>

#include "conn-t.h"
#include "packet-t.h"
#include "service-t.h"

struct steer_cfg {
	unsigned n;          /* workers, >= 1 */
	uint8_t plen4, plen6;/* client address prefix hashed (persistence) */
};

/* Derives the masks from t's persistent services.  O(services); call on
 * every table change. */
void steer_cfg_init(struct steer_cfg *c, const struct svc_table *t, unsigned n_workers);

/* The owner of frame p (0..c->n - 1); self when it does not parse or is
 * not IP.  Reads t only (lookups), O(1) expected plus O(mark rules). */
unsigned steer_frame(const struct steer_cfg *c, struct svc_table *t, const struct pkt *p,
		     unsigned self);

/* The owner of a connection or template (connection sync import): by its
 * client address (caddr; a template's masked client network). */
unsigned steer_conn(const struct steer_cfg *c, const struct conn *k);

/* The owner of a client address (exposed for tests and benchmarks). */
unsigned steer_client(const struct steer_cfg *c, uint8_t af, const union ulvs_addr *a);

#endif
