/* Frame builders and fixtures shared by the in-process benchmarks: plain
 * code independent of core/packet.c, so a bug there cannot hide itself.
 * Include after defining IP(), DIRECTOR, GATEWAY, their MACs and RS_IP/RS_MAC. */
#ifndef ULVS_BENCH_BENCHUTIL_H
#define ULVS_BENCH_BENCHUTIL_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/addr.h"
#include "core/fib.h"
#include "core/packet.h"

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint16_t csum_bytes(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static inline uint32_t build_tcp(uint8_t *f, const uint8_t *smac, const uint8_t *dmac, uint32_t sip,
			  uint16_t sport, uint32_t dip, uint16_t dport, uint8_t flags)
{
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12];
	unsigned thl = (flags & TCP_F_SYN) ? 24 : 20;
	uint32_t sum = 0;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	wr16(f + 12, ETHERTYPE_IPV4_);
	memset(ip, 0, 20 + thl);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + thl));
	wr16(ip + 4, (uint16_t)(sport ^ dport));
	wr16(ip + 6, 0x4000);                  /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	wr32(ip + 12, sip);
	wr32(ip + 16, dip);
	wr16(ip + 10, csum_bytes(ip, 20, 0));
	wr16(tcp, sport);
	wr16(tcp + 2, dport);
	wr32(tcp + 4, 1000);
	wr32(tcp + 8, (flags & TCP_F_ACK) ? 2000 : 0);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = flags;
	wr16(tcp + 14, 65535);
	if (thl == 24) {
		tcp[20] = 2;
		tcp[21] = 4;
		wr16(tcp + 22, 1460);
	}
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP_;
	wr16(pseudo + 10, (uint16_t)thl);
	for (unsigned i = 0; i < 12; i += 2)
		sum += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
	wr16(tcp + 16, csum_bytes(tcp, thl, sum));
	return 14 + 20 + thl;
}

static inline union ulvs_addr a4(uint32_t host)
{
	return addr_v4(__builtin_bswap32(host));
}

static inline struct ulvs_mac mac_of(const uint8_t *b)
{
	struct ulvs_mac m;
	memcpy(m.b, b, 6);
	return m;
}

static inline int setup_fib(struct fib *f)
{
	struct ulvs_mac m = mac_of(DIRECTOR_MAC), gm = mac_of(GATEWAY_MAC);
	union ulvs_addr any = a4(0), net = a4(IP(10, 0, 0, 0)), gw = a4(GATEWAY);
	int id;

	fib_init(f);
	id = fib_add_iface(f, "eth0", &m, 1500, 0);
	if (id < 0)
		return id;
	f->ifaces[id].addr4 = a4(DIRECTOR);
	f->ifaces[id].has_addr4 = 1;
	if (fib_add_route(f, ULVS_AF_INET, &net, 24, &any, (uint16_t)id) ||
	    fib_add_route(f, ULVS_AF_INET, &any, 0, &gw, (uint16_t)id) ||
	    fib_add_neigh(f, ULVS_AF_INET, &gw, &gm, (uint16_t)id))
		return -EINVAL;
	for (unsigned i = 0; i < 2; i++) {
		union ulvs_addr r = a4(RS_IP[i]);
		struct ulvs_mac rm = mac_of(RS_MAC[i]);
		if (fib_add_neigh(f, ULVS_AF_INET, &r, &rm, (uint16_t)id))
			return -EINVAL;
	}
	return 0;
}

#endif
