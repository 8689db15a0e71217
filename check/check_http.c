/* HTTP_GET and SSL_GET through libcurl's multi interface on the event loop.
 *
 * One curl multi handle per struct check; curl tells us which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION), so transfers never block the loop.  A run GETs
 * each url in order on a fresh connection; the run fails at the first url
 * that fails.  Per url, as keepalived's check_http.c: status_code ranges (any
 * 2xx when none given), digest (MD5 of the body in hex, what genhash
 * prints), regex on the body; virtualhost as the Host header, or with
 * enable_sni also as the TLS server name (the URL names the virtual host and
 * CURLOPT_CONNECT_TO sends it to the real server).  SSL_GET does not verify
 * the certificate (keepalived does not either: the checker asks "is it
 * serving", not "is it who it claims").  connect_timeout bounds each request.
 */
#include "check/internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"

#define HTTP_REGEX_MAX_BODY (64 * 1024)

struct http_multi {
	CURLM *m;
	struct check *k;
	struct ev_timer *timer;
	unsigned users;
};

struct http_state {
	CURL *e;
	bool ssl, active;
	unsigned url;              /* index of the url being fetched */
	EVP_MD_CTX *md;
	char *body;                /* kept only for regex, capped */
	size_t body_len;
	size_t body_total;
	struct curl_slist *hdrs, *connect_to;
	regex_t *re;               /* per url; NULL entries when no regex */
	bool *re_ok;
	char err[CURL_ERROR_SIZE];
};

static void http_drain(struct http_multi *hm);

/* ---- the multi handle on the event loop ---------------------------------- */

/* curl's I/O, TLS handshakes included, with the data-plane workers
 * released (ev_release): what curl calls back meanwhile (sockets and
 * timers on the loop, bodies into the checker's own buffers) touches
 * nothing they use.  Finished transfers are judged once they are held
 * again, since a verdict changes the service table. */
static void multi_action(struct http_multi *hm, curl_socket_t fd, int flags)
{
	int running;

	ev_release(hm->k->loop);
	curl_multi_socket_action(hm->m, fd, flags, &running);
	ev_reacquire(hm->k->loop);
	http_drain(hm);
}

static void multi_fd_cb(struct evloop *l, int fd, uint32_t events, void *arg)
{
	struct http_multi *hm = arg;
	int flags = 0;

	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	if (events & EV_ERROR)
		flags |= CURL_CSELECT_ERR;
	multi_action(hm, fd, flags);
}

static int multi_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_multi *hm = userp;
	struct evloop *l = hm->k->loop;
	uint32_t ev = 0;

	if (what == CURL_POLL_REMOVE) {
		ev_fd_del(l, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (!socketp) {
		if (ev_fd_add(l, s, ev, multi_fd_cb, hm) < 0 && ev_fd_mod(l, s, ev) < 0)
			return -1;
		curl_multi_assign(hm->m, s, hm);
	} else {
		ev_fd_mod(l, s, ev);
	}
	return 0;
}

static void multi_timeout_cb(struct evloop *l, void *arg)
{
	struct http_multi *hm = arg;

	hm->timer = NULL;
	multi_action(hm, CURL_SOCKET_TIMEOUT, 0);
}

static int multi_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http_multi *hm = userp;

	if (hm->timer)
		ev_timer_cancel(hm->k->loop, hm->timer);
	hm->timer = NULL;
	if (timeout_ms >= 0) {
		hm->timer = ev_timer_add(hm->k->loop, (uint64_t)timeout_ms, multi_timeout_cb, hm);
		if (!hm->timer)
			return -1;
	}
	return 0;
}

static struct http_multi *multi_get(struct check *k)
{
	struct http_multi *hm = k->http;

	if (hm) {
		hm->users++;
		return hm;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	hm = calloc(1, sizeof(*hm));
	if (!hm)
		return NULL;
	hm->m = curl_multi_init();
	if (!hm->m) {
		free(hm);
		return NULL;
	}
	hm->k = k;
	hm->users = 1;
	curl_multi_setopt(hm->m, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(hm->m, CURLMOPT_SOCKETDATA, hm);
	curl_multi_setopt(hm->m, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(hm->m, CURLMOPT_TIMERDATA, hm);
	k->http = hm;
	return hm;
}

static void multi_put(struct check *k)
{
	struct http_multi *hm = k->http;

	if (!hm || --hm->users)
		return;
	if (hm->timer)
		ev_timer_cancel(k->loop, hm->timer);
	curl_multi_cleanup(hm->m);
	free(hm);
	k->http = NULL;
}

/* ---- one request -------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct checker *c = arg;
	struct http_state *h = c->priv;
	size_t len = size * n;

	h->body_total += len;
	if (h->md)
		EVP_DigestUpdate(h->md, ptr, len);
	if (h->re_ok[h->url] && h->body_len < HTTP_REGEX_MAX_BODY) {
		size_t take = HTTP_REGEX_MAX_BODY - h->body_len;
		if (take > len)
			take = len;
		memcpy(h->body + h->body_len, ptr, take);
		h->body_len += take;
		h->body[h->body_len] = 0;
	}
	return len;
}

static int sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	const struct checker *c = arg;

	if (c->cc->fwmark) {
		int mark = (int)c->cc->fwmark;
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return CURL_SOCKOPT_ERROR;
	}
	if (c->cc->bind_if && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->cc->bind_if,
					 (socklen_t)strlen(c->cc->bind_if)) < 0)
		return CURL_SOCKOPT_ERROR;
	return CURL_SOCKOPT_OK;
}

static const char *url_vhost(const struct checker *c, const struct conf_url *u)
{
	if (u->virtualhost && *u->virtualhost)
		return u->virtualhost;
	if (c->cc->virtualhost && *c->cc->virtualhost)
		return c->cc->virtualhost;
	return NULL;
}

static int http_start_url(struct checker *c)
{
	struct http_state *h = c->priv;
	const struct conf_checker *cc = c->cc;
	const struct conf_url *u = &cc->urls[h->url];
	const char *vhost = url_vhost(c, u);
	const char *path = u->path && *u->path ? u->path : "/";
	const char *proto = cc->http_protocol ? cc->http_protocol : "1.0";
	char ip[64], url[1024], line[512];
	struct http_multi *hm = c->k->http;
	bool sni = h->ssl && cc->enable_sni && vhost;

	curl_easy_reset(h->e);
	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	h->hdrs = h->connect_to = NULL;
	h->body_len = h->body_total = 0;
	if (h->body)
		h->body[0] = 0;
	if (h->md)
		EVP_MD_CTX_free(h->md);
	h->md = NULL;
	if (u->digest) {
		h->md = EVP_MD_CTX_new();
		if (!h->md || !EVP_DigestInit_ex(h->md, EVP_md5(), NULL))
			return -ENOMEM;
	}

	addr_format((enum ulvs_af)cc->connect_ip.af, &cc->connect_ip.a, ip, sizeof(ip));
	if (sni) {
		/* the URL names the virtual host, so curl sends it as SNI and
		 * Host; CONNECT_TO takes the connection to the real server */
		snprintf(url, sizeof(url), "https://%s:%u%s", vhost, cc->connect_port, path);
		if (cc->connect_ip.af == ULVS_AF_INET6)
			snprintf(line, sizeof(line), "%s:%u:[%s]:%u", vhost, cc->connect_port, ip,
				 cc->connect_port);
		else
			snprintf(line, sizeof(line), "%s:%u:%s:%u", vhost, cc->connect_port, ip,
				 cc->connect_port);
		h->connect_to = curl_slist_append(NULL, line);
		if (!h->connect_to)
			return -ENOMEM;
		curl_easy_setopt(h->e, CURLOPT_CONNECT_TO, h->connect_to);
	} else {
		snprintf(url, sizeof(url), "%s://%s%s%s:%u%s", h->ssl ? "https" : "http",
			 cc->connect_ip.af == ULVS_AF_INET6 ? "[" : "", ip,
			 cc->connect_ip.af == ULVS_AF_INET6 ? "]" : "", cc->connect_port, path);
		if (vhost) {
			snprintf(line, sizeof(line), "Host: %s", vhost);
			h->hdrs = curl_slist_append(h->hdrs, line);
		}
	}
	/* keepalived's http_protocol: 1.0 (default), 1.0C / 1.1 also ask the
	 * server to close; every check uses a fresh connection anyway. */
	if (strchr(proto, 'C') || strchr(proto, 'c') || !strncmp(proto, "1.1", 3))
		h->hdrs = curl_slist_append(h->hdrs, "Connection: close");
	h->hdrs = curl_slist_append(h->hdrs, "User-Agent: ulvs-check/" ULVS_VERSION);
	if (!h->hdrs)
		return -ENOMEM;

	curl_easy_setopt(h->e, CURLOPT_URL, url);
	curl_easy_setopt(h->e, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->e, CURLOPT_HTTP_VERSION, !strncmp(proto, "1.1", 3)
			 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_1_0);
	curl_easy_setopt(h->e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(h->e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h->e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h->e, CURLOPT_ERRORBUFFER, h->err);
	curl_easy_setopt(h->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h->e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h->e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->e, CURLOPT_PROXY, "");
	curl_easy_setopt(h->e, CURLOPT_TIMEOUT_MS, (long)cc->connect_timeout_ms);
	curl_easy_setopt(h->e, CURLOPT_CONNECTTIMEOUT_MS, (long)cc->connect_timeout_ms);
	curl_easy_setopt(h->e, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(h->e, CURLOPT_SOCKOPTDATA, c);
	if (cc->bindto.af) {
		char bind[80];
		addr_format((enum ulvs_af)cc->bindto.af, &cc->bindto.a, ip, sizeof(ip));
		snprintf(bind, sizeof(bind), "host!%s", ip);
		curl_easy_setopt(h->e, CURLOPT_INTERFACE, bind);
	}
	if (cc->bind_port)
		curl_easy_setopt(h->e, CURLOPT_LOCALPORT, (long)cc->bind_port);
	if (h->ssl) {
		curl_easy_setopt(h->e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h->e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	h->err[0] = 0;
	if (curl_multi_add_handle(hm->m, h->e) != CURLM_OK)
		return -EIO;
	h->active = true;
	return 0;
}

static bool status_ok(const struct conf_url *u, long code)
{
	if (!u->n_status)
		return code >= 200 && code <= 299;
	for (unsigned i = 0; i < u->n_status; i++)
		if (code >= u->status_lo[i] && code <= u->status_hi[i])
			return true;
	return false;
}

/* One url finished; judge it, then fetch the next or end the run. */
static void http_url_done(struct checker *c, CURLcode res)
{
	struct http_state *h = c->priv;
	const struct conf_url *u = &c->cc->urls[h->url];
	const char *path = u->path ? u->path : "/";
	long code = 0;
	int r;

	if (res == CURLE_OPERATION_TIMEDOUT) {
		check_report(c, CHECK_RESULT_TIMEOUT, "GET %s: timed out after %u ms", path,
			     c->cc->connect_timeout_ms);
		return;
	}
	if (res != CURLE_OK) {
		check_report(c, CHECK_RESULT_FAIL, "GET %s: %s", path,
			     h->err[0] ? h->err : curl_easy_strerror(res));
		return;
	}
	curl_easy_getinfo(h->e, CURLINFO_RESPONSE_CODE, &code);
	if (!status_ok(u, code)) {
		check_report(c, CHECK_RESULT_FAIL, "GET %s: status %ld", path, code);
		return;
	}
	if (u->digest) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];

		EVP_DigestFinal_ex(h->md, md, &mdlen);
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		hex[2 * mdlen] = 0;
		if (strcasecmp(hex, u->digest)) {
			check_report(c, CHECK_RESULT_FAIL, "GET %s: digest %s, want %s", path, hex,
				     u->digest);
			return;
		}
	}
	if (h->re_ok[h->url]) {
		bool match = regexec(&h->re[h->url], h->body ? h->body : "", 0, NULL, 0) == 0;
		if (match == u->regex_no_match) {
			check_report(c, CHECK_RESULT_FAIL, "GET %s: body %s regex", path,
				     match ? "matches" : "does not match");
			return;
		}
	}
	if (++h->url < c->cc->n_urls) {
		r = http_start_url(c);
		if (r < 0)
			check_report(c, CHECK_RESULT_FAIL, "cannot start request: %s", strerror(-r));
		return;
	}
	check_report(c, CHECK_RESULT_OK, "GET %s: status %ld%s", path, code,
		     c->cc->n_urls > 1 ? " (all urls)" : "");
}

static void http_drain(struct http_multi *hm)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(hm->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		CURLcode res = msg->data.result;
		struct checker *c = NULL;

		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
		curl_multi_remove_handle(hm->m, e);
		if (!c)
			continue;
		((struct http_state *)c->priv)->active = false;
		http_url_done(c, res);
	}
}

/* ---- ops ------------------------------------------------------------------ */

static void http_fini(struct checker *c);

static int http_init_common(struct checker *c, bool ssl)
{
	struct http_state *h;
	const struct conf_checker *cc = c->cc;

	if (!cc->n_urls)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	c->priv = h;
	h->ssl = ssl;
	h->re = calloc(cc->n_urls, sizeof(*h->re));
	h->re_ok = calloc(cc->n_urls, sizeof(*h->re_ok));
	if (!h->re || !h->re_ok || !multi_get(c->k)) {
		free(h->re);
		free(h->re_ok);
		free(h);
		c->priv = NULL;
		return -ENOMEM;
	}
	h->e = curl_easy_init();
	if (!h->e) {
		http_fini(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cc->n_urls; i++) {
		if (!cc->urls[i].regex)
			continue;
		if (regcomp(&h->re[i], cc->urls[i].regex, REG_EXTENDED | REG_NOSUB)) {
			http_fini(c);
			return -EINVAL;
		}
		h->re_ok[i] = true;
		if (!h->body && !(h->body = malloc(HTTP_REGEX_MAX_BODY + 1))) {
			http_fini(c);
			return -ENOMEM;
		}
	}
	return 0;
}

static int http_init(struct checker *c)
{
	return http_init_common(c, false);
}

static int ssl_init(struct checker *c)
{
	return http_init_common(c, true);
}

static void http_run(struct checker *c)
{
	struct http_state *h = c->priv;
	int r;

	h->url = 0;
	r = http_start_url(c);
	if (r < 0)
		check_report(c, CHECK_RESULT_FAIL, "cannot start request: %s", strerror(-r));
}

static void http_abort(struct checker *c)
{
	struct http_state *h = c->priv;
	struct http_multi *hm = c->k->http;

	if (h && h->active && hm)
		curl_multi_remove_handle(hm->m, h->e);
	if (h)
		h->active = false;
}

static void http_fini(struct checker *c)
{
	struct http_state *h = c->priv;

	if (!h)
		return;
	http_abort(c);
	if (h->e)
		curl_easy_cleanup(h->e);
	curl_slist_free_all(h->hdrs);
	curl_slist_free_all(h->connect_to);
	if (h->md)
		EVP_MD_CTX_free(h->md);
	for (unsigned i = 0; i < c->cc->n_urls; i++)
		if (h->re_ok[i])
			regfree(&h->re[i]);
	free(h->re);
	free(h->re_ok);
	free(h->body);
	free(h);
	c->priv = NULL;
	multi_put(c->k);
}

const struct check_ops check_http_ops = {
	.type = CHECK_HTTP,
	.init = http_init,
	.run = http_run,
	.abort = http_abort,
	.fini = http_fini,
};

const struct check_ops check_ssl_ops = {
	.type = CHECK_SSL,
	.init = ssl_init,
	.run = http_run,
	.abort = http_abort,
	.fini = http_fini,
};
