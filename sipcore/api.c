/**
 * @file api.c  Management API: HTTP server, token, routes and replies
 *
 * A small JSON API on re's HTTP server, on loopback by default. Every
 * request carries `Authorization: Bearer <token>`: the configured
 * api_token, or else one generated once and kept in the store. The token
 * is also written to `<store_path>.token` (mode 0600) for sbctl.
 *
 * Config keys (conf.c): api_listen (address, default 127.0.0.1:8080),
 * api_token (at least 16 characters; empty = generated).
 *
 * re's server hands over a request only once its whole body is in, and
 * drops a connection that buffers more than 512 KB; bodies above
 * API_BODY_MAX get a 413. re's JSON decoder is lenient, so bodies are
 * first checked here against RFC 8259.
 */
#include <string.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "sipcore.h"
#include "api.h"

#define DEBUG_MODULE "api"
#define DEBUG_LEVEL 7
#include <re_dbg.h>

#ifndef VERSION
#define VERSION "0.1.0"
#endif


enum {
	TOKEN_BYTES   = 16,    /* 32 hex characters */
	TOKEN_MAX     = 128,
	JSON_DEPTH    = 8,
	CDR_LIMIT     = 100,
	CDR_LIMIT_MAX = 1000,
	ODICT_HASH    = 8,
};

/** One route: a method and a path, or a path prefix when it ends in '/' */
struct api_route {
	const char *met;       /**< HTTP method                        */
	const char *path;      /**< Exact path, or prefix ending in '/' */
	api_route_h *h;        /**< Handler                            */
};

static int route_status(struct api_req *req);
static int route_registrations(struct api_req *req);
static int route_calls(struct api_req *req);
static int route_cdrs(struct api_req *req);

static const struct api_route routev[] = {
	{"GET",    "/api/status",        route_status},
	{"GET",    "/api/registrations", route_registrations},
	{"GET",    "/api/calls",         route_calls},
	{"GET",    "/api/cdrs",          route_cdrs},
	{"GET",    "/api/extensions",    api_ext_list},
	{"POST",   "/api/extensions",    api_ext_add},
	{"GET",    "/api/extensions/",   api_ext_show},
	{"PUT",    "/api/extensions/",   api_ext_set},
	{"DELETE", "/api/extensions/",   api_ext_del},
};

/** Status codes we send, with their reason phrases */
static const struct {
	uint16_t scode;
	const char *reason;
} reasonv[] = {
	{200, "OK"},
	{201, "Created"},
	{204, "No Content"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{409, "Conflict"},
	{413, "Payload Too Large"},
	{415, "Unsupported Media Type"},
	{500, "Internal Server Error"},
};

/** What a handler's errno code becomes */
static const struct {
	int err;
	uint16_t scode;
	const char *msg;
} errv[] = {
	{ENOENT, 404, "not found"},
	{EEXIST, 409, "already exists"},
	{EINVAL, 400, "invalid request"},
	{ENOMEM, 500, "out of memory"},
};

static struct {
	struct http_sock *sock;        /**< Listening socket              */
	struct store *st;              /**< Store (not owned)             */
	struct sb_conf cfg;            /**< Copy of the configuration     */
	char token[TOKEN_MAX + 1];     /**< Bearer token                  */
	uint16_t scode;                /**< Status of the last reply      */
} api;


static const char *reason_phrase(uint16_t scode)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reasonv); i++) {
		if (reasonv[i].scode == scode)
			return reasonv[i].reason;
	}

	return "Error";
}


static bool digits_only(const struct pl *pl)
{
	size_t i;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return pl->l > 0;
}


/* Length of the valid UTF-8 sequence at p, or 0 if it is not one */
static size_t utf8_len(const uint8_t *p, size_t left)
{
	uint32_t cp, min;
	size_t n, i;

	if (!left)
		return 0;

	if (p[0] < 0x80)
		return 1;
	else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 1; cp = p[0] & 0x1f; min = 0x80;
	}
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 2; cp = p[0] & 0x0f; min = 0x800;
	}
	else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 3; cp = p[0] & 0x07; min = 0x10000;
	}
	else
		return 0;

	if (left <= n)
		return 0;

	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}

	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;

	return n + 1;
}


/**
 * Print a C string as a quoted JSON string. Unlike re's utf8_encode it
 * replaces bytes that are not UTF-8 (a User-Agent may hold any), so the
 * reply is always valid JSON.
 *
 * @param pf  Print function
 * @param str String, NULL prints ""
 *
 * @return 0 if success, otherwise errorcode
 */
int api_json_str(struct re_printf *pf, const char *str)
{
	const uint8_t *p = (const uint8_t *)str, *run;
	size_t left = str ? strlen(str) : 0;
	int err;

	err = re_hprintf(pf, "\"");

	run = p;
	while (!err && left) {
		size_t n = utf8_len(p, left);
		char esc[8] = "";

		if (n == 1 && (*p == '"' || *p == '\\'))
			(void)re_snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (n == 1 && (*p < 0x20 || *p == 0x7f))
			(void)re_snprintf(esc, sizeof(esc), "\\u%04x", *p);
		else if (n == 0)
			str_ncpy(esc, "\\ufffd", sizeof(esc));

		if (!esc[0]) {
			p += n;
			left -= n;
			continue;
		}

		err = re_hprintf(pf, "%b%s", run, (size_t)(p - run), esc);
		n = n ? n : 1;
		p += n;
		left -= n;
		run = p;
	}

	if (!err)
		err = re_hprintf(pf, "%b\"", run, (size_t)(p - run));

	return err;
}


/*
 * A strict RFC 8259 syntax check. re's decoder takes `{"a":1,}`, a bare
 * string, or trailing garbage without complaint; this does not. It also
 * refuses \u0000, which a C string cannot hold.
 */
struct jscan {
	const uint8_t *p;
	const uint8_t *end;
	unsigned depth;
};

static int js_value(struct jscan *js);


static void js_ws(struct jscan *js)
{
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\t' ||
				   *js->p == '\n' || *js->p == '\r'))
		++js->p;
}


static bool js_eat(struct jscan *js, char c)
{
	if (js->p < js->end && *js->p == (uint8_t)c) {
		++js->p;
		return true;
	}

	return false;
}


static int js_hex4(struct jscan *js, uint32_t *v)
{
	int i;

	if (js->end - js->p < 4)
		return EBADMSG;

	*v = 0;
	for (i = 0; i < 4; i++) {
		const uint8_t c = *js->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return EBADMSG;
	}

	return 0;
}


static int js_escape(struct jscan *js)
{
	uint32_t u, lo;

	if (js->p >= js->end)
		return EBADMSG;

	if (strchr("\"\\/bfnrt", *js->p) && *js->p) {
		++js->p;
		return 0;
	}

	if (!js_eat(js, 'u') || js_hex4(js, &u) || u == 0)
		return EBADMSG;

	if (u >= 0xdc00 && u <= 0xdfff)
		return EBADMSG;

	if (u >= 0xd800 && u <= 0xdbff) {
		if (!js_eat(js, '\\') || !js_eat(js, 'u') ||
		    js_hex4(js, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return EBADMSG;
	}

	return 0;
}


static int js_string(struct jscan *js)
{
	if (!js_eat(js, '"'))
		return EBADMSG;

	while (js->p < js->end) {
		const uint8_t c = *js->p;
		size_t n;

		if (c == '"') {
			++js->p;
			return 0;
		}
		else if (c == '\\') {
			++js->p;
			if (js_escape(js))
				return EBADMSG;
			continue;
		}
		else if (c < 0x20)
			return EBADMSG;

		n = utf8_len(js->p, js->end - js->p);
		if (!n)
			return EBADMSG;
		js->p += n;
	}

	return EBADMSG;
}


static bool js_digits(struct jscan *js)
{
	const uint8_t *start = js->p;

	while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
		++js->p;

	return js->p > start;
}


static int js_number(struct jscan *js)
{
	(void)js_eat(js, '-');

	if (!js_eat(js, '0') && !js_digits(js))
		return EBADMSG;

	if (js_eat(js, '.') && !js_digits(js))
		return EBADMSG;

	if (js_eat(js, 'e') || js_eat(js, 'E')) {
		if (!js_eat(js, '+'))
			(void)js_eat(js, '-');
		if (!js_digits(js))
			return EBADMSG;
	}

	return 0;
}


static int js_literal(struct jscan *js, const char *word)
{
	const size_t n = strlen(word);

	if ((size_t)(js->end - js->p) < n || memcmp(js->p, word, n))
		return EBADMSG;

	js->p += n;

	return 0;
}


/* An object or an array: members, or values, between open and close */
static int js_container(struct jscan *js, char open, char close)
{
	int err;

	if (!js_eat(js, open) || ++js->depth > JSON_DEPTH)
		return EBADMSG;

	js_ws(js);
	if (js_eat(js, close))
		goto out;

	for (;;) {
		if (open == '{') {
			err = js_string(js);
			js_ws(js);
			if (err || !js_eat(js, ':'))
				return EBADMSG;
			js_ws(js);
		}

		err = js_value(js);
		if (err)
			return err;

		js_ws(js);
		if (js_eat(js, close))
			break;
		if (!js_eat(js, ','))
			return EBADMSG;
		js_ws(js);
	}

 out:
	--js->depth;

	return 0;
}


static int js_value(struct jscan *js)
{
	if (js->p >= js->end)
		return EBADMSG;

	switch (*js->p) {

	case '{': return js_container(js, '{', '}');
	case '[': return js_container(js, '[', ']');
	case '"': return js_string(js);
	case 't': return js_literal(js, "true");
	case 'f': return js_literal(js, "false");
	case 'n': return js_literal(js, "null");
	default:  return js_number(js);
	}
}


struct errbody {
	const char *field;
	const char *msg;
};


static int error_print(struct re_printf *pf, void *arg)
{
	const struct errbody *eb = arg;
	int err;

	err = re_hprintf(pf, "{\"error\":%H", api_json_str, eb->msg);
	if (eb->field)
		err |= re_hprintf(pf, ",\"field\":%H", api_json_str,
				  eb->field);
	err |= re_hprintf(pf, "}");

	return err;
}


static int reply_send(struct http_conn *conn, uint16_t scode,
		      const char *hdrs, re_printf_h *ph, void *arg)
{
	struct mbuf *mb = NULL;
	int err;

	api.scode = scode;

	if (!ph)
		return http_reply(conn, scode, reason_phrase(scode),
				  "%s"
				  "Content-Length: 0\r\n"
				  "\r\n",
				  hdrs ? hdrs : "");

	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "%H\n", ph, arg);
	if (err)
		goto out;

	err = http_reply(conn, scode, reason_phrase(scode),
			 "%s"
			 "Content-Type: application/json\r\n"
			 "Cache-Control: no-store\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%b",
			 hdrs ? hdrs : "", mb->end, mb->buf, mb->end);

 out:
	mem_deref(mb);

	return err;
}


static int error_send(struct http_conn *conn, uint16_t scode,
		      const char *hdrs, const char *field, const char *msg)
{
	struct errbody eb;

	eb.field = field;
	eb.msg = msg;

	return reply_send(conn, scode, hdrs, error_print, &eb);
}


/**
 * Send a JSON reply. If printing the body fails, a 500 goes instead.
 *
 * @param req   Request
 * @param scode Status code
 * @param hdrs  Extra header lines, each ending in CRLF, or NULL
 * @param ph    Prints the body; NULL for none (204)
 * @param arg   Print handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int api_reply(const struct api_req *req, uint16_t scode,
	      const char *hdrs, re_printf_h *ph, void *arg)
{
	int err;

	if (!req)
		return EINVAL;

	err = reply_send(req->conn, scode, hdrs, ph, arg);
	if (err && err != ENOTCONN) {
		DEBUG_WARNING("%r %r: reply failed (%m)\n",
			      &req->msg->met, &req->msg->path, err);
		err = error_send(req->conn, 500, NULL, NULL,
				 "internal error: reply failed");
	}

	return err;
}


/**
 * Send a JSON error reply: {"error":"...","field":"..."}
 *
 * @param req   Request
 * @param scode Status code
 * @param field Field the error is about, or NULL
 * @param fmt   Message format
 *
 * @return 0 if success, otherwise errorcode
 */
int api_error(const struct api_req *req, uint16_t scode,
	      const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!req || !fmt)
		return EINVAL;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	return error_send(req->conn, scode, NULL, field, msg);
}


static int errno_reply(const struct api_req *req, int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errv); i++) {
		if (errv[i].err == err)
			return api_error(req, errv[i].scode, NULL, "%s",
					 errv[i].msg);
	}

	DEBUG_WARNING("%r %r: %m\n", &req->msg->met, &req->msg->path,
		      err);

	return api_error(req, 500, NULL, "internal error: %m", err);
}


/* ---- token ---- */

static bool token_equal(const struct pl *got, const char *want)
{
	const size_t n = strlen(want);
	uint8_t diff = got->l != n;
	size_t i;

	/* Time depends on the expected length only, not on the match */
	for (i = 0; i < n; i++) {
		const uint8_t c = i < got->l ? (uint8_t)got->p[i] : 0;

		diff |= c ^ (uint8_t)want[i];
	}

	return diff == 0;
}


static bool authorized(const struct http_msg *msg)
{
	const struct http_hdr *hdr;
	struct pl scheme, cred;

	if (http_msg_hdr_count(msg, HTTP_HDR_AUTHORIZATION) != 1)
		return false;

	/* exactly "Bearer" SP+ token, and nothing after the token */
	hdr = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	if (re_regex(hdr->val.p, hdr->val.l, "[^ \t]+[ \t]+[^ \t]+",
		     &scheme, NULL, &cred) ||
	    scheme.p != hdr->val.p ||
	    cred.p + cred.l != hdr->val.p + hdr->val.l)
		return false;

	if (pl_strcasecmp(&scheme, "Bearer"))
		return false;

	return token_equal(&cred, api.token);
}


static void token_generate(char *buf, size_t sz)
{
	uint8_t b[TOKEN_BYTES];
	size_t i;

	rand_bytes(b, sizeof(b));

	for (i = 0; i < sizeof(b) && 2*i + 2 < sz; i++)
		(void)re_snprintf(buf + 2*i, 3, "%02x", b[i]);

	memset(b, 0, sizeof(b));
}


/* sbctl on this box reads the token from here; only the owner may */
static int token_file_write(const char *store_path, const char *token)
{
	char path[SB_PATH_MAX + 16], tmp[SB_PATH_MAX + 24];
	size_t len = strlen(token);
	int fd, err = 0;

	if (re_snprintf(path, sizeof(path), "%s.token", store_path) < 0 ||
	    re_snprintf(tmp, sizeof(tmp), "%s.token.tmp", store_path) < 0)
		return ENAMETOOLONG;

	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return errno;

	if (fchmod(fd, 0600) || write(fd, token, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1)
		err = errno ? errno : EIO;

	if (close(fd) && !err)
		err = errno;

	if (!err && rename(tmp, path))
		err = errno;

	if (err)
		(void)unlink(tmp);

	return err;
}


static int token_setup(struct store *st, const struct sb_conf *cfg)
{
	int err;

	if (str_isset(cfg->api_token)) {
		str_ncpy(api.token, cfg->api_token, sizeof(api.token));
	}
	else {
		err = store_setting_get(st, "api_token", api.token,
					sizeof(api.token));
		if (err && err != ENOENT)
			return err;

		if (err || strlen(api.token) < 2 * TOKEN_BYTES) {
			token_generate(api.token, sizeof(api.token));

			err = store_setting_put(st, "api_token", api.token);
			if (err)
				return err;

			DEBUG_INFO("generated a new token\n");
		}
	}

	if (!str_isset(cfg->store_path) ||
	    !str_cmp(cfg->store_path, ":memory:"))
		return 0;

	err = token_file_write(cfg->store_path, api.token);
	if (err)
		DEBUG_WARNING("cannot write %s.token: %m\n",
			      cfg->store_path, err);

	return 0;
}


/* ---- request handling ---- */

/* The route for the request, or NULL; allow lists the methods the path
   has, if any (for 405) */
static const struct api_route *route_find(const struct http_msg *msg,
				      struct pl *arg, char *allow,
				      size_t sz)
{
	const struct api_route *found = NULL;
	size_t i, used = 0;

	allow[0] = '\0';

	for (i = 0; i < ARRAY_SIZE(routev); i++) {
		const struct api_route *rt = &routev[i];
		const size_t plen = strlen(rt->path);
		struct pl rest;

		if (msg->path.l < plen ||
		    memcmp(msg->path.p, rt->path, plen))
			continue;

		rest.p = msg->path.p + plen;
		rest.l = msg->path.l - plen;

		if (rt->path[plen - 1] == '/') {
			if (!rest.l || pl_strchr(&rest, '/'))
				continue;
		}
		else if (rest.l) {
			continue;
		}

		if (!pl_strcmp(&msg->met, rt->met)) {
			*arg = rest;
			found = rt;
		}

		if (used < sz) {
			int n = re_snprintf(allow + used, sz - used, "%s%s",
					    used ? ", " : "", rt->met);
			if (n > 0)
				used += n;
		}
	}

	return found;
}


/* Check and decode a POST/PUT body. Replies and returns non-zero if it
   is not a JSON object. */
static int body_decode(struct api_req *req, struct odict **op)
{
	const struct http_msg *msg = req->msg;
	const uint8_t *p = mbuf_buf(msg->mb);
	const size_t len = mbuf_get_left(msg->mb);
	struct jscan js;
	int err;

	if (msg->clen > API_BODY_MAX) {
		(void)api_error(req, 413, NULL,
				"body: larger than %u bytes", API_BODY_MAX);
		return EMSGSIZE;
	}

	if (!http_msg_hdr(msg, HTTP_HDR_CONTENT_TYPE) ||
	    !msg_ctype_cmp(&msg->ctyp, "application", "json")) {
		(void)api_error(req, 415, NULL,
				"Content-Type must be application/json");
		return EPROTO;
	}

	js.p = p;
	js.end = p + len;
	js.depth = 0;

	js_ws(&js);
	if (js.p >= js.end || *js.p != '{') {
		(void)api_error(req, 400, NULL,
				"body: expected a JSON object");
		return EBADMSG;
	}

	err = js_value(&js);
	if (!err) {
		js_ws(&js);
		if (js.p != js.end)
			err = EBADMSG;
	}
	if (err) {
		(void)api_error(req, 400, NULL, "body: bad JSON at byte %zu",
				(size_t)(js.p - p));
		return err;
	}

	err = json_decode_odict(op, ODICT_HASH, (const char *)p, len,
				JSON_DEPTH + 1);
	if (err) {
		(void)api_error(req, 400, NULL, "body: bad JSON (%m)", err);
		return err;
	}

	return 0;
}


/* re reads a body by Content-Length only: anything else would be taken
   for the next request, so such a connection is closed after the reply */
static bool framing_bad(struct http_conn *conn, const struct http_msg *msg)
{
	const struct http_hdr *hdr;

	if (http_msg_hdr(msg, HTTP_HDR_TRANSFER_ENCODING)) {
		(void)error_send(conn, 400, "Connection: close\r\n", NULL,
				 "Transfer-Encoding is not supported; "
				 "send Content-Length");
		return true;
	}

	hdr = http_msg_hdr(msg, HTTP_HDR_CONTENT_LENGTH);
	if (!hdr)
		return false;

	if (http_msg_hdr_count(msg, HTTP_HDR_CONTENT_LENGTH) != 1 ||
	    !digits_only(&hdr->val)) {
		(void)error_send(conn, 400, "Connection: close\r\n", NULL,
				 "bad Content-Length");
		return true;
	}

	/* pl_u32 wraps: a longer number is too large anyway */
	if (hdr->val.l > 9) {
		(void)error_send(conn, 413, "Connection: close\r\n", NULL,
				 "body: too large");
		return true;
	}

	return false;
}


static void http_req_handler(struct http_conn *conn,
			     const struct http_msg *msg, void *arg)
{
	const struct api_route *rt;
	struct odict *body = NULL;
	struct api_req req;
	char allow[64], hdrs[96];
	int err;
	(void)arg;

	memset(&req, 0, sizeof(req));
	req.conn = conn;
	req.msg = msg;
	req.st = api.st;
	req.cfg = &api.cfg;
	api.scode = 0;

	if (framing_bad(conn, msg)) {
		DEBUG_NOTICE("%J: %r %r: bad framing, closing\n",
			     http_conn_peer(conn), &msg->met, &msg->path);
		http_conn_close(conn);
		return;
	}

	if (!authorized(msg)) {
		DEBUG_NOTICE("%J: %r %r: missing or wrong token\n",
			     http_conn_peer(conn), &msg->met, &msg->path);
		(void)error_send(conn, 401, "WWW-Authenticate: Bearer\r\n",
				 NULL, "missing or wrong token");
		return;
	}

	rt = route_find(msg, &req.arg, allow, sizeof(allow));
	if (!rt && allow[0]) {
		char why[128];

		(void)re_snprintf(hdrs, sizeof(hdrs), "Allow: %s\r\n", allow);
		(void)re_snprintf(why, sizeof(why), "%r is not allowed here; "
				  "use %s", &msg->met, allow);
		(void)error_send(conn, 405, hdrs, NULL, why);
		goto out;
	}
	else if (!rt) {
		(void)api_error(&req, 404, NULL, "no such resource: %r",
				&msg->path);
		goto out;
	}

	if (!str_cmp(rt->met, "POST") || !str_cmp(rt->met, "PUT")) {
		if (body_decode(&req, &body))
			goto out;
		req.body = body;
	}

	/* a handler that failed after replying has nothing more to say */
	err = rt->h(&req);
	if (err && !api.scode)
		(void)errno_reply(&req, err);

 out:
	mem_deref(body);

	/* changes are worth a line at info level; reads are not */
	if (pl_strcmp(&msg->met, "GET"))
		DEBUG_INFO("%J: %r %r: %u\n", http_conn_peer(conn),
			   &msg->met, &msg->path, api.scode);
	else
		DEBUG_PRINTF("%J: %r %r: %u\n", http_conn_peer(conn),
			     &msg->met, &msg->path, api.scode);
}


/* ---- status, registrations, calls, CDRs ---- */

static int ext_count_h(const struct ext *ext, void *arg)
{
	uint32_t *n = arg;
	(void)ext;

	++*n;

	return 0;
}


static int status_print(struct re_printf *pf, void *arg)
{
	uint32_t n = 0;
	int err;
	(void)arg;

	err = store_ext_list(api.st, ext_count_h, &n);
	if (err)
		return err;

	return re_hprintf(pf, "{\"version\":\"%s\",\"calls\":%u,"
			  "\"registrations\":%u,\"extensions\":%u,"
			  "\"relay\":\"%s\",\"relays\":%H}",
			  VERSION, callengine_count(),
			  location_count_all(), n,
			  relay_ready() ? "ready" : "down",
			  relay_status_json, NULL);
}


static int route_status(struct api_req *req)
{
	return api_reply(req, 200, NULL, status_print, NULL);
}


/** A walk that prints a JSON array, one element per call */
struct walk {
	struct re_printf *pf;          /**< Where to print                */
	unsigned n;                    /**< Elements printed              */
	int err;                       /**< First print error             */
};


static bool contact_print_h(const struct contact *c, void *arg)
{
	struct walk *w = arg;

	w->err = re_hprintf(w->pf, "%s{\"aor\":%H,\"uri\":%H,"
			    "\"received\":\"%J\",\"transport\":\"%s\","
			    "\"expires_in\":%u,\"reachable\":%s,"
			    "\"user_agent\":%H}",
			    w->n ? "," : "",
			    api_json_str, contact_aor(c),
			    api_json_str, contact_uri(c),
			    contact_received(c),
			    sip_transp_name(contact_transp(c)),
			    contact_expires_in(c),
			    contact_reachable(c) ? "true" : "false",
			    api_json_str, contact_user_agent(c));
	++w->n;

	return w->err != 0;
}


static int reg_ext_h(const struct ext *ext, void *arg)
{
	struct walk *w = arg;

	(void)location_apply(ext->number, false, contact_print_h, w);

	return w->err;
}


static int regs_print(struct re_printf *pf, void *arg)
{
	struct walk w = {pf, 0, 0};
	int err;
	(void)arg;

	err = re_hprintf(pf, "{\"registrations\":[");
	if (!err)
		err = store_ext_list(api.st, reg_ext_h, &w);
	if (!err)
		err = re_hprintf(pf, "]}");

	return err;
}


static int route_registrations(struct api_req *req)
{
	return api_reply(req, 200, NULL, regs_print, NULL);
}


static int calls_print(struct re_printf *pf, void *arg)
{
	int err;
	(void)arg;

	err = re_hprintf(pf, "{\"calls\":");
	if (!err)
		err = callengine_calls_json(pf);
	if (!err)
		err = re_hprintf(pf, "}");

	return err;
}


static int route_calls(struct api_req *req)
{
	return api_reply(req, 200, NULL, calls_print, NULL);
}


/** Query of GET /api/cdrs */
struct cdr_query {
	uint32_t limit;                /**< Rows at most                  */
	int64_t before;                /**< Rows with a smaller id; 0 all */
	int64_t last;                  /**< Id of the last row printed    */
	struct walk w;                 /**< Printing state                */
};


static int cdr_print_h(const struct cdr *cdr, void *arg)
{
	struct cdr_query *q = arg;
	struct walk *w = &q->w;

	w->err = re_hprintf(w->pf, "%s{\"id\":%lld,\"call_id\":%H,"
			    "\"caller\":%H,\"callee\":%H,"
			    "\"start_ms\":%lld,\"answer_ms\":%lld,"
			    "\"end_ms\":%lld,\"disposition\":%H,"
			    "\"cause\":%u,\"reason\":%H,"
			    "\"quality\":{\"caller\":%H,\"callee\":%H}}",
			    w->n ? "," : "",
			    (long long)cdr->id,
			    api_json_str, cdr->call_id,
			    api_json_str, cdr->caller,
			    api_json_str, cdr->callee,
			    (long long)cdr->start_ms,
			    (long long)cdr->answer_ms,
			    (long long)cdr->end_ms,
			    api_json_str, cdr->disposition,
			    cdr->cause,
			    api_json_str, cdr->reason,
			    quality_print, &cdr->q_caller,
			    quality_print, &cdr->q_callee);
	++w->n;
	q->last = cdr->id;

	return w->err;
}


static int cdrs_print(struct re_printf *pf, void *arg)
{
	struct cdr_query *q = arg;
	int err;

	q->w.pf = pf;

	err = re_hprintf(pf, "{\"cdrs\":[");
	if (!err)
		err = store_cdr_list(api.st, q->limit, q->before,
				     cdr_print_h, q);
	if (err)
		return err;

	/* a full page: the next one starts before its last row */
	if (q->w.n == q->limit)
		return re_hprintf(pf, "],\"next_before\":%lld}",
				  (long long)q->last);

	return re_hprintf(pf, "]}");
}


/* A decimal parameter value: 1..18 digits, so it fits in an int64 */
static bool param_num(const struct pl *val, uint64_t *num)
{
	if (val->l > 18 || !digits_only(val))
		return false;

	*num = pl_u64(val);

	return true;
}


static int route_cdrs(struct api_req *req)
{
	struct cdr_query q;
	struct pl prm = req->msg->prm, par, key, val;

	memset(&q, 0, sizeof(q));
	q.limit = CDR_LIMIT;

	if (prm.l && prm.p[0] == '?')
		pl_advance(&prm, 1);

	while (!re_regex(prm.p, prm.l, "[^&]+", &par)) {
		uint64_t num;

		pl_advance(&prm, par.p + par.l - prm.p);

		if (re_regex(par.p, par.l, "[^=]+=[^]*", &key, &val))
			key = par, val = pl_null;

		if (!pl_strcmp(&key, "limit")) {
			if (!param_num(&val, &num) || !num ||
			    num > CDR_LIMIT_MAX)
				return api_error(req, 400, "limit",
						 "limit: must be a number "
						 "from 1 to %u",
						 CDR_LIMIT_MAX);
			q.limit = (uint32_t)num;
		}
		else if (!pl_strcmp(&key, "before")) {
			if (!param_num(&val, &num) || !num)
				return api_error(req, 400, "before",
						 "before: must be a CDR id "
						 "(a positive number)");
			q.before = (int64_t)num;
		}
		else {
			char name[32];

			pl_strcpy(&key, name, sizeof(name));
			return api_error(req, 400, name,
					 "unknown parameter %r (expected "
					 "limit or before)", &key);
		}
	}

	return api_reply(req, 200, NULL, cdrs_print, &q);
}


/**
 * Start the management API
 *
 * @param st  Store (extensions, CDRs, the generated token)
 * @param cfg Configuration: api_listen, api_token, sip_domain, store_path
 *
 * @return 0 if success, otherwise errorcode
 */
int api_init(struct store *st, const struct sb_conf *cfg)
{
	int err;

	if (!st || !cfg)
		return EINVAL;

	if (api.sock)
		return EALREADY;

	api.st = st;
	api.cfg = *cfg;

	err = token_setup(st, cfg);
	if (err) {
		DEBUG_WARNING("token: %m\n", err);
		goto out;
	}

	err = http_listen(&api.sock, &cfg->api_listen, http_req_handler,
			  NULL);
	if (err) {
		DEBUG_WARNING("listen on %J: %m\n", &cfg->api_listen,
			      err);
		goto out;
	}

	if (!sa_is_loopback(&cfg->api_listen))
		DEBUG_WARNING("%J is not loopback: the token travels "
			      "in clear text\n", &cfg->api_listen);

	DEBUG_INFO("listening on http://%J/api/\n", &cfg->api_listen);

 out:
	if (err)
		api_close();

	return err;
}


/**
 * Stop the management API and close its connections
 */
void api_close(void)
{
	api.sock = mem_deref(api.sock);
	api.st = NULL;
	memset(api.token, 0, sizeof(api.token));
}
