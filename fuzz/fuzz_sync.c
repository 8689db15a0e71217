/* libFuzzer harness for the connection sync decoder (sync/sync_proto.c):
 * any datagram is parsed and walked; every entry accepted is converted to a
 * connection and re-encoded, and the re-encoding must decode to the same
 * entry (what a backup takes from a master it would send on as a master). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn-t.h"
#include "sync/sync_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_msg m;
	struct sync_iter it;
	struct sync_conn c, c2;
	enum sync_err e;
	int r;

	if (sync_msg_parse(data, size, &m) != SYNC_OK || m.ctl != SYNC_CTL_NONE)
		return 0;
	sync_iter_init(&it, &m);
	while ((r = sync_msg_next(&it, &c, &e)) > 0) {
		uint8_t buf[256];
		struct sync_writer w;
		struct sync_msg m2;
		struct sync_iter it2;
		struct conn k;
		uint32_t exp;

		if (e != SYNC_OK)
			continue;
		(void)sync_conn_to_conn(&c, &k, &exp);
		c.has_seq = false; /* not re-encoded: ulvs does no sequence adjust */
		sync_writer_init(&w, buf, sizeof(buf), m.syncid);
		if (sync_writer_add(&w, &c))
			abort();
		if (sync_msg_parse(buf, sync_writer_len(&w), &m2) != SYNC_OK)
			abort();
		sync_iter_init(&it2, &m2);
		if (sync_msg_next(&it2, &c2, &e) != 1 || e != SYNC_OK)
			abort();
		c.flags &= ~SYNC_F_HASHED;
		if (c2.af != c.af || c2.proto != c.proto || c2.flags != c.flags ||
		    c2.state != c.state || c2.cport != c.cport || c2.vport != c.vport ||
		    c2.dport != c.dport || c2.fwmark != c.fwmark || c2.timeout_s != c.timeout_s ||
		    memcmp(&c2.caddr, &c.caddr, sizeof(c.caddr)) ||
		    memcmp(&c2.daddr, &c.daddr, sizeof(c.daddr)) || c2.has_fnat != c.has_fnat ||
		    (c.has_fnat && (c2.lport != c.lport || c2.fnat_flags != c.fnat_flags ||
				    memcmp(&c2.laddr, &c.laddr, sizeof(c.laddr)))))
			abort();
	}
	return 0;
}
