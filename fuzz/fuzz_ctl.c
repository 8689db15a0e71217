/* libFuzzer harness for the control protocol decoders (ctl/ctl_proto.c).
 *
 * The first byte picks a decoder, the rest is its payload: the header, a
 * command batch, the small requests and replies, a service listing, a
 * connection page.  Beyond not crashing (ASan/UBSan catch the rest), what a
 * decoder accepts must be valid and stable: every accepted command passes
 * ctl_cmd_check, and re-encoding what was decoded gives back the very bytes
 * that went in (the layout has no slack, so two encodings of one message
 * would be a hole a hostile client could use).  A violation aborts.
 *   meson setup build-fuzz -Dfuzz=true (CC=clang); build-fuzz/fuzz/fuzz_ctl
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_die(const struct ctl_buf *b, const uint8_t *p, size_t len)
{
	if (b->err || b->len != len || memcmp(b->p, p, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_buf b;
	const uint8_t *p;
	size_t len;

	if (size < 1)
		return 0;
	p = data + 1;
	len = size - 1;
	ctl_buf_init(&b, 1u << 24);
	switch (data[0] % 9) {
	case 0: {
		struct ctl_hdr h;

		if (len >= CTL_HDR_LEN && !ctl_hdr_decode(p, &h, CTL_MAX_REQUEST)) {
			uint8_t again[CTL_HDR_LEN];

			ctl_hdr_encode(again, h.type, h.len);
			if (memcmp(again, p, CTL_HDR_LEN) || h.len > CTL_MAX_REQUEST)
				abort();
		}
		break;
	}
	case 1: {
		struct ctl_cmd *c;
		uint32_t n;

		if (!ctl_get_cmds(p, len, &c, &n)) {
			for (uint32_t i = 0; i < n; i++)
				if (ctl_cmd_check(&c[i]))
					abort();
			ctl_put_cmds(&b, c, n);
			same_or_die(&b, p, len);
			free(c);
		}
		break;
	}
	case 2: {
		struct ctl_svc_key k;
		bool has;

		if (!ctl_get_list_req(p, len, &k, &has)) {
			ctl_put_list_req(&b, has ? &k : NULL);
			same_or_die(&b, p, len);
		}
		break;
	}
	case 3: {
		uint32_t cur, max;

		if (!ctl_get_conns_req(p, len, &cur, &max)) {
			ctl_put_conns_req(&b, cur, max);
			same_or_die(&b, p, len);
		}
		break;
	}
	case 4: {
		struct ctl_error e;

		if (!ctl_get_error(p, len, &e)) {
			ctl_put_error(&b, &e);
			same_or_die(&b, p, len);
		}
		break;
	}
	case 5: {
		struct ctl_info i;

		memset(&i, 0, sizeof(i));
		if (!ctl_get_info(p, len, &i)) {
			ctl_put_info(&b, &i);
			same_or_die(&b, p, len);
		}
		break;
	}
	case 6: {
		struct ctl_timeouts t;

		if (!ctl_get_timeouts(p, len, &t)) {
			ctl_put_timeouts(&b, &t);
			same_or_die(&b, p, len);
		}
		break;
	}
	case 7: {
		struct ctl_list l;

		if (!ctl_get_list(p, len, &l)) {
			ctl_put_u32(&b, l.n);
			for (uint32_t i = 0; i < l.n; i++)
				ctl_put_svc_info(&b, &l.svcs[i]);
			same_or_die(&b, p, len);
			ctl_list_free(&l);
		}
		break;
	}
	case 8: {
		struct ctl_conns c;

		if (!ctl_get_conns(p, len, &c)) {
			ctl_put_u32(&b, c.next);
			ctl_put_u32(&b, c.n);
			for (uint32_t i = 0; i < c.n; i++)
				ctl_put_conn_info(&b, &c.c[i]);
			same_or_die(&b, p, len);
			ctl_conns_free(&c);
		}
		break;
	}
	}
	ctl_buf_free(&b);
	return 0;
}
