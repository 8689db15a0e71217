/* Printing of --status and -L --daemon (see status_view.h).
 *
 * The status text is deliberately regular - "key=value" per record, the
 * keys the daemon sent - so it reads well and greps well, and a section or
 * key added in ulvsd shows up here without a new ulvsadm.  Known sections
 * only get a readable heading, and the drop counters, mostly zero, are
 * folded to the non-zero ones.
 */
#include "cli/status_view.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

static const struct {
	const char *name, *title;
} titles[] = {
	{ "dataplane", "Data plane" },
	{ "drops", "Drops by reason" },
	{ "workers", "Workers" },
	{ "vrrp", "VRRP instances" },
	{ "checkers", "Health checkers" },
	{ "realservers", "Real servers" },
	{ "virtualservers", "Virtual servers (quorum)" },
	{ "sync", "Connection sync" },
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void kv_text(FILE *f, const struct ctl_status_kv *kv)
{
	switch (kv->kind) {
	case CTL_SK_U64: fprintf(f, "%s=%" PRIu64, kv->key, kv->u); break;
	case CTL_SK_I64: fprintf(f, "%s=%" PRId64, kv->key, kv->i); break;
	default:
		if (!kv->s[0] || strpbrk(kv->s, " \t\"="))
			fprintf(f, "%s=\"%s\"", kv->key, kv->s);
		else
			fprintf(f, "%s=%s", kv->key, kv->s);
		break;
	}
}

static void kv_json(FILE *f, const struct ctl_status_kv *kv)
{
	json_str(f, kv->key);
	fputc(':', f);
	switch (kv->kind) {
	case CTL_SK_U64: fprintf(f, "%" PRIu64, kv->u); break;
	case CTL_SK_I64: fprintf(f, "%" PRId64, kv->i); break;
	default: json_str(f, kv->s); break;
	}
}

static void print_drops(FILE *f, const struct ctl_status_sec *sec)
{
	bool any = false;

	fputs(" ", f);
	for (uint32_t i = 0; i < sec->n; i++) {
		const struct ctl_status_kv *r = ctl_status_get(&sec->rec[i], "reason");
		const struct ctl_status_kv *n = ctl_status_get(&sec->rec[i], "packets");

		if (!r || !n || r->kind != CTL_SK_STR || n->kind != CTL_SK_U64 || !n->u)
			continue;
		fprintf(f, " %s=%" PRIu64, r->s, n->u);
		any = true;
	}
	fputs(any ? "\n" : " none\n", f);
}

static void print_text(FILE *f, const struct ctl_status *st)
{
	const struct ctl_status_sec *u = ctl_status_find(st, "ulvsd");

	if (u && u->n) {
		const struct ctl_status_kv *v = ctl_status_get(&u->rec[0], "version");

		fprintf(f, "ulvsd %s:", v && v->kind == CTL_SK_STR ? v->s : "?");
		for (uint32_t k = 0; k < u->rec[0].n; k++)
			if (strcmp(u->rec[0].kv[k].key, "version")) {
				fputc(' ', f);
				kv_text(f, &u->rec[0].kv[k]);
			}
		fputc('\n', f);
	}
	for (uint32_t i = 0; i < st->n; i++) {
		const struct ctl_status_sec *sec = &st->sec[i];
		const char *title = sec->name;

		if (sec == u)
			continue;
		for (size_t t = 0; t < sizeof(titles) / sizeof(titles[0]); t++)
			if (!strcmp(titles[t].name, sec->name))
				title = titles[t].title;
		fprintf(f, "%s:\n", title);
		if (!strcmp(sec->name, "drops")) {
			print_drops(f, sec);
			continue;
		}
		if (!sec->n)
			fputs("  none\n", f);
		for (uint32_t j = 0; j < sec->n; j++) {
			fputs(" ", f);
			for (uint32_t k = 0; k < sec->rec[j].n; k++) {
				fputc(' ', f);
				kv_text(f, &sec->rec[j].kv[k]);
			}
			fputc('\n', f);
		}
	}
}

static void print_json(FILE *f, const struct ctl_status *st)
{
	fputc('{', f);
	for (uint32_t i = 0; i < st->n; i++) {
		const struct ctl_status_sec *sec = &st->sec[i];

		if (i)
			fputc(',', f);
		json_str(f, sec->name);
		fputs(":[", f);
		for (uint32_t j = 0; j < sec->n; j++) {
			fputs(j ? ",{" : "{", f);
			for (uint32_t k = 0; k < sec->rec[j].n; k++) {
				if (k)
					fputc(',', f);
				kv_json(f, &sec->rec[j].kv[k]);
			}
			fputc('}', f);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
}

void status_view_print(FILE *f, const struct ctl_status *st, bool json)
{
	if (json)
		print_json(f, st);
	else
		print_text(f, st);
}

static void group_text(const struct ctl_daemon *d, char *buf, size_t len)
{
	addr_format((enum ulvs_af)d->group_af, &d->group, buf, len);
}

void status_view_daemons(FILE *f, const struct ctl_daemons *ds, bool json)
{
	char g[64];

	if (json)
		fputc('[', f);
	for (uint32_t i = 0; i < ds->n; i++) {
		const struct ctl_daemon *d = &ds->d[i];
		const char *role = d->state == CTL_DAEMON_MASTER ? "master" : "backup";

		g[0] = '\0';
		if (d->group_af)
			group_text(d, g, sizeof(g));
		if (json) {
			fprintf(f, "%s{\"state\":\"%s\",\"mcast_interface\":", i ? "," : "", role);
			json_str(f, d->ifname);
			fprintf(f, ",\"syncid\":%u,\"maxlen\":%u,\"group\":", d->syncid, d->maxlen);
			json_str(f, g);
			fprintf(f, ",\"port\":%u,\"ttl\":%u}", ntohs(d->port), d->ttl);
			continue;
		}
		/* ipvsadm 1.29+: the sync v2 parameters follow when set */
		fprintf(f, "%s sync daemon (mcast=%s, syncid=%d", role, d->ifname, d->syncid);
		if (d->maxlen)
			fprintf(f, ", maxlen=%u", d->maxlen);
		if (g[0])
			fprintf(f, ", group=%s", g);
		if (d->port)
			fprintf(f, ", port=%u", ntohs(d->port));
		if (d->ttl)
			fprintf(f, ", ttl=%u", d->ttl);
		fputs(")\n", f);
	}
	if (json)
		fputs("]\n", f);
}
