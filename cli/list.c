/* ulvsadm's listings (see list.h).  Widths, truncations, number scaling and
 * sort order follow ipvsadm 1.31 and libipvs exactly, including the
 * comparison by wrapped integer difference libipvs uses (two addresses more
 * than 2^31 apart sort "backwards" there, so they do here) - scripts that
 * diff `ipvsadm -Ln` output must see the same bytes. */
#include "cli/list.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/conn-t.h"
#include "core/service.h"

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 132:
		return "SCTP";
	case 1:
		return "ICMP";
	default:
		return "IP";
	}
}

static int sys_af(uint8_t af)
{
	return af == ULVS_AF_INET6 ? AF_INET6 : AF_INET;
}

void list_addrport(char *buf, size_t len, uint8_t af, const union ulvs_addr *a, uint16_t port,
		   uint8_t proto, unsigned format)
{
	char host[NI_MAXHOST], pbuf[INET6_ADDRSTRLEN];
	const char *h, *ps = NULL;
	const char *open = af == ULVS_AF_INET6 ? "[" : "", *close = af == ULVS_AF_INET6 ? "]" : "";

	inet_ntop(sys_af(af), a->b, pbuf, sizeof(pbuf));
	if (format & FMT_NUMERIC) {
		snprintf(buf, len, "%s%s%s:%u", open, pbuf, close, ntohs(port));
		return;
	}
	h = pbuf;
	if (af == ULVS_AF_INET6) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

		memcpy(&s6.sin6_addr, a->b, 16);
		if (!getnameinfo((struct sockaddr *)&s6, sizeof(s6), host, sizeof(host), NULL, 0,
				 NI_NAMEREQD))
			h = host;
	} else {
		struct sockaddr_in s4 = { .sin_family = AF_INET };

		memcpy(&s4.sin_addr, a->b, 4);
		if (!getnameinfo((struct sockaddr *)&s4, sizeof(s4), host, sizeof(host), NULL, 0,
				 NI_NAMEREQD))
			h = host;
	}
	if (proto == 6 || proto == 17) {
		struct servent *se = getservbyport(port, proto == 6 ? "tcp" : "udp");

		if (se)
			ps = se->s_name;
	}
	if (ps)
		snprintf(buf, len, "%s%s%s:%s", open, h, close, ps);
	else
		snprintf(buf, len, "%s%s%s:%u", open, h, close, ntohs(port));
}

/* ---- sorting ---------------------------------------------------------------- */

static int addr_cmp(uint8_t af, const union ulvs_addr *a, const union ulvs_addr *b)
{
	int r = 0;

	if (af == ULVS_AF_INET6) {
		for (int i = 0; !r && i < 4; i++)
			r = (int)(ntohl(a->ip6[i]) - ntohl(b->ip6[i]));
		return r;
	}
	return (int)(ntohl(a->ip) - ntohl(b->ip));
}

static int svc_cmp(const void *x, const void *y)
{
	const struct ctl_svc_key *a = &((const struct ctl_svc_info *)x)->key;
	const struct ctl_svc_key *b = &((const struct ctl_svc_info *)y)->key;
	int r = (int)(a->fwmark - b->fwmark);

	if (r)
		return r;
	if ((r = (int)a->af - (int)b->af))
		return r;
	if ((r = (int)a->proto - (int)b->proto))
		return r;
	if ((r = addr_cmp(a->af, &a->addr, &b->addr)))
		return r;
	return (int)ntohs(a->port) - (int)ntohs(b->port);
}

static int dest_cmp(const void *x, const void *y)
{
	const struct ctl_dest_info *a = x, *b = y;
	int r = (int)a->af - (int)b->af;

	if (r)
		return r;
	if ((r = addr_cmp(a->af, &a->addr, &b->addr)))
		return r;
	return (int)ntohs(a->port) - (int)ntohs(b->port);
}

void list_sort(struct ctl_list *l)
{
	if (l->n > 1)
		qsort(l->svcs, l->n, sizeof(*l->svcs), svc_cmp);
	for (uint32_t i = 0; i < l->n; i++)
		if (l->svcs[i].n_dests > 1)
			qsort(l->svcs[i].dests, l->svcs[i].n_dests, sizeof(struct ctl_dest_info),
			      dest_cmp);
}

/* ---- ipvsadm layouts ---------------------------------------------------------- */

static void largenum(FILE *f, uint64_t i, unsigned format)
{
	if (format & FMT_EXACT) {
		char tmp[32];
		int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)i);

		fprintf(f, "%*llu", len <= 8 ? 9 : len + 1, (unsigned long long)i);
		return;
	}
	if (i < 100000000ULL)
		fprintf(f, "%9llu", (unsigned long long)i);
	else if (i < 1000000000ULL)
		fprintf(f, "%8lluK", (unsigned long long)(i / 1000));
	else if (i < 100000000000ULL)
		fprintf(f, "%8lluM", (unsigned long long)(i / 1000000));
	else if (i < 100000000000000ULL)
		fprintf(f, "%8lluG", (unsigned long long)(i / 1000000000ULL));
	else
		fprintf(f, "%8lluT", (unsigned long long)(i / 1000000000000ULL));
}

static void title(FILE *f, unsigned format)
{
	if (format & FMT_STATS)
		fprintf(f, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
	else if (format & FMT_RATE)
		fprintf(f, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
	else if (format & FMT_THRESHOLDS)
		fprintf(f, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn",
			"InActConn");
	else if (format & FMT_PERSISTENTCONN)
		fprintf(f, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn");
	else if (!(format & FMT_RULE))
		fprintf(f, "Prot LocalAddress:Port Scheduler Flags\n"
			   "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
}

void list_sched_flags(char *buf, size_t len, const char *sched, uint32_t flags)
{
	const char *n1 = "flag-1", *n2 = "flag-2";
	size_t o = 0;

	buf[0] = '\0';
	if (!strcmp(sched, "sh"))
		n1 = "sh-fallback", n2 = "sh-port";
	else if (!strcmp(sched, "mh"))
		n1 = "mh-fallback", n2 = "mh-port";
	if ((flags & SVC_F_SCHED1) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", n1);
	if ((flags & SVC_F_SCHED2) && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", n2);
	if ((flags & SVC_F_SCHED3) && o < len)
		snprintf(buf + o, len - o, "%s%s", o ? "," : "", "flag-3");
}

/* The persistence mask: ipvsadm keeps a dotted mask for IPv4 (shown when
 * not /32) and a prefix length for IPv6 (shown when not 128); ulvs keeps a
 * prefix length for both, 0 meaning the host. */
static bool mask_shown(const struct ctl_svc_info *s, char *buf, size_t len)
{
	unsigned plen = s->netmask;

	if (s->key.af == ULVS_AF_INET6) {
		if (!plen || plen == 128)
			return false;
		snprintf(buf, len, "%u", plen);
		return true;
	}
	if (!plen || plen >= 32)
		return false;
	{
		uint32_t m = plen ? ~0u << (32 - plen) : 0;
		struct in_addr ia = { .s_addr = htonl(m) };

		snprintf(buf, len, "%s", inet_ntoa(ia));
	}
	return true;
}


static const char *fwd_switch(uint8_t fwd)
{
	switch (fwd) {
	case FWD_NAT:
		return "-m";
	case FWD_TUN:
		return "-i";
	case FWD_FNAT:
		return "--fullnat";
	default:
		return "-g";
	}
}

static void svc_name(char *buf, size_t len, const struct ctl_svc_info *s, unsigned format)
{
	char v[128];

	if (s->key.fwmark) {
		if (format & FMT_RULE)
			snprintf(buf, len, "-f %u%s", s->key.fwmark,
				 s->key.af == ULVS_AF_INET6 ? " -6" : "");
		else
			snprintf(buf, len, "FWM  %u%s", s->key.fwmark,
				 s->key.af == ULVS_AF_INET6 ? " IPv6" : "");
		return;
	}
	list_addrport(v, sizeof(v), s->key.af, &s->key.addr, s->key.port, s->key.proto, format);
	if (format & FMT_RULE) {
		snprintf(buf, len, "%s %s", s->key.proto == 6 ? "-t" : "-u", v);
		return;
	}
	snprintf(buf, len, "%-4s %s", proto_name(s->key.proto), v);
	/* ipvsadm cuts IPv4 service names at 33 characters */
	if (s->key.af != ULVS_AF_INET6 && len > 33)
		buf[33] = '\0';
}

static void print_svc(FILE *f, const struct ctl_svc_info *s, unsigned format)
{
	char name[192], flags[64], mask[32];

	svc_name(name, sizeof(name), s, format);
	list_sched_flags(flags, sizeof(flags), s->sched, s->flags);
	if (format & FMT_RULE) {
		fprintf(f, "-A %s -s %s", name, s->sched);
		if (s->flags & SVC_F_PERSISTENT) {
			fprintf(f, " -p %u", s->timeout);
			if (mask_shown(s, mask, sizeof(mask)))
				fprintf(f, " -M %s", mask);
		}
		if (s->flags & SVC_F_ONEPACKET)
			fprintf(f, " -o");
		if (flags[0])
			fprintf(f, " -b %s", flags);
	} else if (format & (FMT_STATS | FMT_RATE)) {
		bool st = format & FMT_STATS;

		fprintf(f, "%-33s", name);
		largenum(f, st ? s->st.conns : s->st.cps, format);
		largenum(f, st ? s->st.inpkts : s->st.inpps, format);
		largenum(f, st ? s->st.outpkts : s->st.outpps, format);
		largenum(f, st ? s->st.inbytes : s->st.inbps, format);
		largenum(f, st ? s->st.outbytes : s->st.outbps, format);
	} else {
		fprintf(f, "%s %s", name, s->sched);
		if (flags[0])
			fprintf(f, " (%s)", flags);
		if (s->flags & SVC_F_PERSISTENT) {
			fprintf(f, " persistent %u", s->timeout);
			if (mask_shown(s, mask, sizeof(mask)))
				fprintf(f, " mask %s", mask);
		}
		if (s->flags & SVC_F_ONEPACKET)
			fprintf(f, " ops");
	}
	fputc('\n', f);

	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct ctl_dest_info *d = &s->dests[i];
		char dn[128];

		/* A server its checkers took out is not in the kernel's table
		 * under keepalived, so ipvsadm's listing and -S never show it;
		 * --json lists it with "available": false. */
		if (!(d->flags & DEST_F_AVAILABLE))
			continue;
		list_addrport(dn, sizeof(dn), d->af, &d->addr, d->port, s->key.proto, format);
		if (!(format & FMT_RULE) && s->key.af != ULVS_AF_INET6)
			dn[28] = '\0';
		if (format & FMT_RULE) {
			/* ipvsadm saves no thresholds, and neither do we: the
			 * layout is ipvsadm's (man/ulvsadm.8 says so) */
			fprintf(f, "-a %s -r %s %s -w %d\n", name, dn, fwd_switch(d->fwd), d->weight);
		} else if (format & FMT_STATS) {
			fprintf(f, "  -> %-28s", dn);
			largenum(f, d->st.conns, format);
			largenum(f, d->st.inpkts, format);
			largenum(f, d->st.outpkts, format);
			largenum(f, d->st.inbytes, format);
			largenum(f, d->st.outbytes, format);
			fputc('\n', f);
		} else if (format & FMT_RATE) {
			fprintf(f, "  -> %-28s %8llu %8llu %8llu", dn, (unsigned long long)d->st.cps,
				(unsigned long long)d->st.inpps, (unsigned long long)d->st.outpps);
			largenum(f, d->st.inbps, format);
			largenum(f, d->st.outbps, format);
			fputc('\n', f);
		} else if (format & FMT_THRESHOLDS) {
			fprintf(f, "  -> %-28s %-10u %-10u %-10u %-10u\n", dn, d->u_threshold,
				d->l_threshold, d->activeconns, d->inactconns);
		} else if (format & FMT_PERSISTENTCONN) {
			fprintf(f, "  -> %-28s %-9u %-11u %-10u %-10u\n", dn, (unsigned)d->weight,
				d->persistconns, d->activeconns, d->inactconns);
		} else {
			fprintf(f, "  -> %-28s %-7s %-6d %-10u %-10u\n", dn, fwd_method_name((enum fwd_method)d->fwd), d->weight,
				d->activeconns, d->inactconns);
		}
	}
}

/* ---- JSON ------------------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void jaddr(FILE *f, uint8_t af, const union ulvs_addr *a)
{
	char b[INET6_ADDRSTRLEN];

	inet_ntop(sys_af(af), a->b, b, sizeof(b));
	jstr(f, b);
}

static void jstats(FILE *f, const struct ctl_stats *s)
{
	fprintf(f,
		"\"stats\":{\"conns\":%llu,\"inpkts\":%llu,\"outpkts\":%llu,\"inbytes\":%llu,"
		"\"outbytes\":%llu},\"rates\":{\"cps\":%llu,\"inpps\":%llu,\"outpps\":%llu,"
		"\"inbps\":%llu,\"outbps\":%llu}",
		(unsigned long long)s->conns, (unsigned long long)s->inpkts,
		(unsigned long long)s->outpkts, (unsigned long long)s->inbytes,
		(unsigned long long)s->outbytes, (unsigned long long)s->cps,
		(unsigned long long)s->inpps, (unsigned long long)s->outpps,
		(unsigned long long)s->inbps, (unsigned long long)s->outbps);
}

static void json_svc(FILE *f, const struct ctl_svc_info *s)
{
	char flags[64];

	list_sched_flags(flags, sizeof(flags), s->sched, s->flags);
	fprintf(f, "{\"af\":\"%s\",", s->key.af == ULVS_AF_INET6 ? "inet6" : "inet");
	if (s->key.fwmark) {
		fprintf(f, "\"fwmark\":%u,", s->key.fwmark);
	} else {
		fprintf(f, "\"protocol\":\"%s\",\"address\":", proto_name(s->key.proto));
		jaddr(f, s->key.af, &s->key.addr);
		fprintf(f, ",\"port\":%u,", ntohs(s->key.port));
	}
	fprintf(f, "\"scheduler\":");
	jstr(f, s->sched);
	fprintf(f, ",\"sched_flags\":");
	jstr(f, flags);
	fprintf(f, ",\"persistent\":%s,\"timeout\":%u,\"netmask\":%u,\"ops\":%s,",
		(s->flags & SVC_F_PERSISTENT) ? "true" : "false", s->timeout, s->netmask,
		(s->flags & SVC_F_ONEPACKET) ? "true" : "false");
	jstats(f, &s->st);
	fprintf(f, ",\"local_addresses\":[");
	for (uint32_t i = 0; i < s->n_laddrs; i++) {
		fprintf(f, "%s{\"address\":", i ? "," : "");
		jaddr(f, s->laddrs[i].af, &s->laddrs[i].addr);
		fprintf(f, ",\"ifname\":");
		jstr(f, s->laddrs[i].ifname);
		fprintf(f, ",\"conns\":%u}", s->laddrs[i].conns);
	}
	fprintf(f, "],\"real_servers\":[");
	for (uint32_t i = 0; i < s->n_dests; i++) {
		const struct ctl_dest_info *d = &s->dests[i];

		fprintf(f, "%s{\"address\":", i ? "," : "");
		jaddr(f, d->af, &d->addr);
		fprintf(f,
			",\"port\":%u,\"forward\":\"%s\",\"weight\":%d,\"u_threshold\":%u,"
			"\"l_threshold\":%u,\"active_conns\":%u,\"inactive_conns\":%u,"
			"\"persistent_conns\":%u,\"available\":%s,\"overloaded\":%s,",
			ntohs(d->port), fwd_method_name((enum fwd_method)d->fwd), d->weight, d->u_threshold, d->l_threshold,
			d->activeconns, d->inactconns, d->persistconns,
			(d->flags & DEST_F_AVAILABLE) ? "true" : "false",
			(d->flags & DEST_F_OVERLOAD) ? "true" : "false");
		jstats(f, &d->st);
		fputc('}', f);
	}
	fprintf(f, "]}");
}

void list_services(FILE *f, const struct ctl_list *l, const struct ctl_info *info,
		   unsigned format, int with_header)
{
	if (format & FMT_JSON) {
		fputc('{', f);
		if (info)
			fprintf(f, "\"version\":\"%u.%u.%u\",\"size\":%u,",
				(info->version >> 16) & 0xff, (info->version >> 8) & 0xff,
				info->version & 0xff, info->size);
		fprintf(f, "\"services\":[");
		for (uint32_t i = 0; i < l->n; i++) {
			if (i)
				fputc(',', f);
			json_svc(f, &l->svcs[i]);
		}
		fprintf(f, "]}\n");
		return;
	}
	if (with_header && info && !(format & FMT_RULE))
		fprintf(f, "IP Virtual Server version %u.%u.%u (size=%u)\n",
			(info->version >> 16) & 0xff, (info->version >> 8) & 0xff,
			info->version & 0xff, info->size);
	title(f, format);
	for (uint32_t i = 0; i < l->n; i++)
		print_svc(f, &l->svcs[i], format);
}

void list_conns_header(FILE *f, unsigned format)
{
	fprintf(f, "IPVS connection entries\n");
	if (format & FMT_PERSISTENTCONN)
		fprintf(f, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source",
			"virtual", "destination", "pe name", "pe_data");
	else
		fprintf(f, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual",
			"destination");
}

static const char *state_name(const struct ctl_conn_info *c)
{
	static const char *const n[] = {
		"NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE",
		"CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK", "UDP", "ICMP",
	};
	return c->state < sizeof(n) / sizeof(n[0]) ? n[c->state] : "ERR!";
}

/* A fwmark template keeps the mark where the virtual address goes (as
 * IPVS does), so it is shown as the address IPVS would show. */
void list_conn(FILE *f, const struct ctl_conn_info *c, unsigned format)
{
	char cn[128], vn[128], dn[128], exp[16];
	unsigned s = c->expires_ms / 1000;

	list_addrport(cn, sizeof(cn), c->af, &c->caddr, c->cport, c->proto, format);
	list_addrport(vn, sizeof(vn), c->af, &c->vaddr, c->vport, c->proto, format);
	list_addrport(dn, sizeof(dn), c->af, &c->daddr, c->dport, c->proto, format);
	snprintf(exp, sizeof(exp), "%02u:%02u", s / 60, s % 60);
	if (format & FMT_PERSISTENTCONN)
		fprintf(f, "%-3s %-6s %-11s %-18s %-18s %-18s %-16s %s\n", proto_name(c->proto), exp,
			state_name(c), cn, vn, dn, "", "");
	else
		fprintf(f, "%-3s %-6s %-11s %-18s %-18s %s\n", proto_name(c->proto), exp,
			state_name(c), cn, vn, dn);
}

void list_conn_json(FILE *f, const struct ctl_conn_info *c, int first)
{
	fprintf(f, "%s{\"protocol\":\"%s\",\"state\":\"%s\",\"expires_ms\":%u,\"template\":%s,",
		first ? "" : ",", proto_name(c->proto), state_name(c), c->expires_ms,
		(c->flags & CONN_F_TEMPLATE) ? "true" : "false");
	fprintf(f, "\"forward\":\"%s\",\"client\":", fwd_method_name((enum fwd_method)c->fwd));
	jaddr(f, c->af, &c->caddr);
	fprintf(f, ",\"client_port\":%u,\"virtual\":", ntohs(c->cport));
	jaddr(f, c->af, &c->vaddr);
	fprintf(f, ",\"virtual_port\":%u,\"destination\":", ntohs(c->vport));
	jaddr(f, c->af, &c->daddr);
	fprintf(f, ",\"destination_port\":%u", ntohs(c->dport));
	if (c->fwd == FWD_FNAT) {
		fprintf(f, ",\"local\":");
		jaddr(f, c->af, &c->laddr);
		fprintf(f, ",\"local_port\":%u", ntohs(c->lport));
	}
	fputc('}', f);
}

void list_timeouts(FILE *f, const struct ctl_timeouts *t, unsigned format)
{
	if (format & FMT_JSON)
		fprintf(f, "{\"tcp\":%u,\"tcpfin\":%u,\"udp\":%u}\n", t->tcp, t->tcpfin, t->udp);
	else
		fprintf(f, "Timeout (tcp tcpfin udp): %u %u %u\n", t->tcp, t->tcpfin, t->udp);
}

/* DPVS ipvsadm -G: a title, then each service with its local addresses. */
void list_laddrs(FILE *f, const struct ctl_list *l, unsigned format)
{
	if (format & FMT_JSON) {
		list_services(f, l, NULL, format, 0);
		return;
	}
	fprintf(f, "%-20s %-8s %-20s %-10s %-10s\n", "VIP:VPORT", "TOTAL", "LADDR", "CONFLICTS",
		"CONNS");
	for (uint32_t i = 0; i < l->n; i++) {
		const struct ctl_svc_info *s = &l->svcs[i];
		char v[128];

		if (s->key.fwmark)
			snprintf(v, sizeof(v), "FWM %u", s->key.fwmark);
		else
			list_addrport(v, sizeof(v), s->key.af, &s->key.addr, s->key.port,
				      s->key.proto, FMT_NUMERIC);
		fprintf(f, "%-20s %-8u \n", v, s->n_laddrs);
		for (uint32_t j = 0; j < s->n_laddrs; j++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(sys_af(s->laddrs[j].af), s->laddrs[j].addr.b, a, sizeof(a));
			/* CONFLICTS: DPVS counts local-port allocation clashes;
			 * ulvs's per-address port pools cannot clash, so 0 */
			fprintf(f, "%-20s %-8s %-20s %-10lu %-10u\n", "", "", a, 0ul,
				s->laddrs[j].conns);
		}
	}
}
