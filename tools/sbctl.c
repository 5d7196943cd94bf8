/**
 * @file sbctl.c  Command-line client of the switchboard management API
 *
 * One request per run, on re's HTTP client. Exits 0 on a 2xx reply, 1 on
 * an HTTP or connection error, 2 on a usage error. The token comes from
 * -t, -T FILE, $SB_TOKEN_FILE or ./switchboard.db.token, in that order.
 *
 * re 1.1.0's client takes IPv4 literals only (its URI pattern has no room
 * for "[::1]"), and its DNS client has no servers here: -a wants an IPv4
 * address, or "localhost".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <re.h>


enum {
	EXIT_HTTP    = 1,
	EXIT_USAGE   = 2,
	TOKEN_MAX    = 256,
	PATH_MAX_LEN = 512,
	TIMEOUT_MS   = 15000,
};

static const char *default_addr = "127.0.0.1:8080";
static const char *default_token_file = "switchboard.db.token";

/** The one request of this run and its outcome */
struct ctl {
	char uri[PATH_MAX_LEN + 64];   /**< http://addr/path              */
	char token[TOKEN_MAX];         /**< Bearer token                  */
	const char *met;               /**< HTTP method                   */
	char path[PATH_MAX_LEN];       /**< Request path and query        */
	struct mbuf *body;             /**< JSON body, or NULL            */
	struct tmr tmr;                /**< Overall timeout               */
	int status;                    /**< Exit status                   */
	bool list;                     /**< The reply is a list           */
};


static void usage(void)
{
	(void)fprintf(stderr,
	"usage: sbctl [-a ADDR:PORT] [-t TOKEN | -T TOKENFILE] COMMAND\n"
	"\n"
	"commands:\n"
	"  status\n"
	"  ext list\n"
	"  ext show N\n"
	"  ext add N --name NAME --password PW [--pin P] "
	"[--auth-order X] [--srtp S]\n"
	"  ext set N [--name NAME] [--password PW] [--pin P | --no-pin]\n"
	"            [--auth-order X] [--srtp S]\n"
	"  ext del N\n"
	"  reg list\n"
	"  calls\n"
	"  cdr [--limit N] [--before ID]\n"
	"\n"
	"  ADDR defaults to %s; the token file to $SB_TOKEN_FILE or\n"
	"  ./%s. --password - reads the password from stdin.\n"
	"  auth orders: md5-first, sha256-first, md5-only, sha256-only\n"
	"  srtp (offered to the extension's phones): off, optional,"
	" required\n",
	default_addr, default_token_file);
}


static int token_read(char *token, size_t sz, const char *path)
{
	FILE *f;
	size_t n;

	f = fopen(path, "r");
	if (!f)
		return errno;

	if (!fgets(token, (int)sz, f))
		token[0] = '\0';
	(void)fclose(f);

	n = strlen(token);
	while (n && (token[n-1] == '\n' || token[n-1] == '\r' ||
		     token[n-1] == ' ' || token[n-1] == '\t'))
		token[--n] = '\0';

	return n ? 0 : EINVAL;
}


/* Copy s into the path, percent-encoding all but [A-Za-z0-9._~-] */
static int path_append_escaped(char *path, size_t sz, const char *s)
{
	size_t n = strlen(path);

	for (; *s; s++) {
		const unsigned char c = (unsigned char)*s;
		int w;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._~-", c))
			w = re_snprintf(path + n, sz - n, "%c", c);
		else
			w = re_snprintf(path + n, sz - n, "%%%02X", c);

		if (w <= 0)
			return ENAMETOOLONG;
		n += w;
	}

	return 0;
}


static int password_stdin(char *buf, size_t sz)
{
	size_t n;

	if (!fgets(buf, (int)sz, stdin))
		return EINVAL;

	n = strlen(buf);
	while (n && (buf[n-1] == '\n' || buf[n-1] == '\r'))
		buf[--n] = '\0';

	return 0;
}


/* Options of "ext add" and "ext set", as JSON members after number */
static int ext_body(struct ctl *ctl, const char *number, int argc,
		    char *argv[])
{
	static char pw[512];
	bool first = true;
	int i, err = 0;

	ctl->body = mbuf_alloc(256);
	if (!ctl->body)
		return ENOMEM;

	err = mbuf_printf(ctl->body, "{");
	if (number) {
		err |= mbuf_printf(ctl->body, "\"number\":\"%H\"",
				   utf8_encode, number);
		first = false;
	}

	for (i = 0; i < argc && !err; i++) {
		const char *opt = argv[i], *key, *val;

		if (!strcmp(opt, "--no-pin")) {
			err = mbuf_printf(ctl->body, "%s\"vm_pin\":null",
					  first ? "" : ",");
			first = false;
			continue;
		}

		if (!strcmp(opt, "--name"))
			key = "name";
		else if (!strcmp(opt, "--password"))
			key = "password";
		else if (!strcmp(opt, "--pin"))
			key = "vm_pin";
		else if (!strcmp(opt, "--auth-order"))
			key = "auth_order";
		else if (!strcmp(opt, "--srtp"))
			key = "srtp";
		else {
			(void)fprintf(stderr, "sbctl: unknown option %s\n",
				      opt);
			return EINVAL;
		}

		if (i + 1 >= argc) {
			(void)fprintf(stderr, "sbctl: %s needs a value\n",
				      opt);
			return EINVAL;
		}

		val = argv[++i];
		if (!strcmp(key, "password") && !strcmp(val, "-")) {
			if (password_stdin(pw, sizeof(pw))) {
				(void)fprintf(stderr, "sbctl: no password "
					      "on stdin\n");
				return EINVAL;
			}
			val = pw;
		}

		err = mbuf_printf(ctl->body, "%s\"%s\":\"%H\"",
				  first ? "" : ",", key, utf8_encode, val);
		first = false;
	}

	err |= mbuf_printf(ctl->body, "}");
	memset(pw, 0, sizeof(pw));

	return err;
}


/* Turn the command line into a method, a path and maybe a body */
static int command_parse(struct ctl *ctl, int argc, char *argv[])
{
	const char *cmd = argc > 0 ? argv[0] : "";
	const char *sub = argc > 1 ? argv[1] : "";
	char *path = ctl->path;
	const size_t sz = sizeof(ctl->path);
	int i;

	ctl->met = "GET";

	if (!strcmp(cmd, "status") && argc == 1) {
		str_ncpy(path, "/api/status", sz);
	}
	else if (!strcmp(cmd, "calls") && argc == 1) {
		str_ncpy(path, "/api/calls", sz);
		ctl->list = true;
	}
	else if (!strcmp(cmd, "reg") && !strcmp(sub, "list") && argc == 2) {
		str_ncpy(path, "/api/registrations", sz);
		ctl->list = true;
	}
	else if (!strcmp(cmd, "cdr")) {
		char sep = '?';

		str_ncpy(path, "/api/cdrs", sz);
		ctl->list = true;

		for (i = 1; i < argc; i++) {
			const char *key;
			size_t n = strlen(path);

			if (!strcmp(argv[i], "--limit"))
				key = "limit";
			else if (!strcmp(argv[i], "--before"))
				key = "before";
			else
				return EINVAL;

			if (++i >= argc)
				return EINVAL;

			(void)re_snprintf(path + n, sz - n, "%c%s=", sep, key);
			sep = '&';
			if (path_append_escaped(path, sz, argv[i]))
				return EINVAL;
		}
	}
	else if (!strcmp(cmd, "ext") && !strcmp(sub, "list") && argc == 2) {
		str_ncpy(path, "/api/extensions", sz);
		ctl->list = true;
	}
	else if (!strcmp(cmd, "ext") && argc >= 3 &&
		 (!strcmp(sub, "show") || !strcmp(sub, "set") ||
		  !strcmp(sub, "del"))) {

		str_ncpy(path, "/api/extensions/", sz);
		if (path_append_escaped(path, sz, argv[2]))
			return EINVAL;

		if (!strcmp(sub, "show") && argc == 3)
			ctl->met = "GET";
		else if (!strcmp(sub, "del") && argc == 3)
			ctl->met = "DELETE";
		else if (!strcmp(sub, "set")) {
			ctl->met = "PUT";
			return ext_body(ctl, NULL, argc - 3, argv + 3);
		}
		else
			return EINVAL;
	}
	else if (!strcmp(cmd, "ext") && !strcmp(sub, "add") && argc >= 3) {
		str_ncpy(path, "/api/extensions", sz);
		ctl->met = "POST";
		return ext_body(ctl, argv[2], argc - 3, argv + 3);
	}
	else {
		return EINVAL;
	}

	return 0;
}


static void line_print(const char *p, size_t n)
{
	while (n && strchr(" \t\r\n", *p)) {
		++p;
		--n;
	}
	while (n && strchr(" \t\r\n", p[n-1]))
		--n;

	if (n)
		(void)printf("%.*s\n", (int)n, p);
}


/*
 * A list reply is an object whose first array member holds the list:
 * print its elements one per line. Returns false if there is no such
 * array, and the body is to be printed as it is.
 */
static bool list_print(const char *p, size_t n)
{
	const char *el = NULL;
	bool inq = false, esc = false, found = false, inarr = false;
	int depth = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char c = p[i];

		if (inq) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				inq = false;
			continue;
		}

		switch (c) {

		case '"':
			inq = true;
			break;

		case '{':
		case '[':
			++depth;
			if (depth == 2 && c == '[' && !found) {
				found = inarr = true;
				el = p + i + 1;
			}
			break;

		case '}':
		case ']':
			if (depth == 2 && inarr) {
				line_print(el, p + i - el);
				inarr = false;
			}
			--depth;
			break;

		case ',':
			if (depth == 2 && inarr) {
				line_print(el, p + i - el);
				el = p + i + 1;
			}
			break;

		default:
			break;
		}
	}

	return found;
}


static void reply_print(const struct http_msg *msg, bool list)
{
	const char *p = (const char *)mbuf_buf(msg->mb);
	const size_t n = mbuf_get_left(msg->mb);
	struct odict *o = NULL;
	uint64_t next;

	if (!n)
		return;

	if (!list || !list_print(p, n)) {
		line_print(p, n);
		return;
	}

	if (!json_decode_odict(&o, 8, p, n, 8) &&
	    odict_get_number(o, &next, "next_before"))
		(void)fprintf(stderr, "sbctl: more: sbctl cdr --before "
			      "%llu\n", (unsigned long long)next);

	mem_deref(o);
}


static void error_print(const struct http_msg *msg)
{
	const char *p = (const char *)mbuf_buf(msg->mb);
	const size_t n = mbuf_get_left(msg->mb);
	struct odict *o = NULL;
	const char *error = NULL, *field = NULL;

	if (n && !json_decode_odict(&o, 8, p, n, 8)) {
		error = odict_string(o, "error");
		field = odict_string(o, "field");
	}

	(void)re_fprintf(stderr, "sbctl: %u %r", msg->scode, &msg->reason);
	if (error)
		(void)fprintf(stderr, ": %s", error);
	if (field)
		(void)fprintf(stderr, " (field: %s)", field);
	(void)fprintf(stderr, "\n");

	mem_deref(o);
}


static void resp_handler(int err, const struct http_msg *msg, void *arg)
{
	struct ctl *ctl = arg;

	tmr_cancel(&ctl->tmr);

	if (err || !msg) {
		(void)re_fprintf(stderr, "sbctl: %s: %m\n", ctl->uri,
				 err ? err : EPROTO);
		ctl->status = EXIT_HTTP;
	}
	else if (msg->scode >= 200 && msg->scode < 300) {
		reply_print(msg, ctl->list);
		ctl->status = 0;
	}
	else {
		error_print(msg);
		ctl->status = EXIT_HTTP;
	}

	re_cancel();
}


static void timeout_handler(void *arg)
{
	struct ctl *ctl = arg;

	(void)fprintf(stderr, "sbctl: %s: no reply in %d s\n", ctl->uri,
		      TIMEOUT_MS / 1000);
	ctl->status = EXIT_HTTP;

	re_cancel();
}


static int run(struct ctl *ctl, const char *addr)
{
	struct dnsc *dnsc = NULL;
	struct http_cli *cli = NULL;
	struct http_req *req = NULL;
	int err;

	ctl->status = EXIT_HTTP;
	(void)re_snprintf(ctl->uri, sizeof(ctl->uri), "http://%s%s", addr,
			  ctl->path);

	err = dnsc_alloc(&dnsc, NULL, NULL, 0);
	if (err) {
		(void)re_fprintf(stderr, "sbctl: dns client: %m\n", err);
		goto out;
	}

	err = http_client_alloc(&cli, dnsc);
	if (err) {
		(void)re_fprintf(stderr, "sbctl: http client: %m\n", err);
		goto out;
	}

	if (ctl->body)
		err = http_request(&req, cli, ctl->met, ctl->uri,
				   resp_handler, NULL, ctl,
				   "Authorization: Bearer %s\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: %zu\r\n"
				   "\r\n"
				   "%b",
				   ctl->token, ctl->body->end,
				   ctl->body->buf, ctl->body->end);
	else
		err = http_request(&req, cli, ctl->met, ctl->uri,
				   resp_handler, NULL, ctl,
				   "Authorization: Bearer %s\r\n"
				   "\r\n",
				   ctl->token);
	if (err) {
		(void)re_fprintf(stderr, "sbctl: %s: %m\n", ctl->uri, err);
		goto out;
	}

	tmr_start(&ctl->tmr, TIMEOUT_MS, timeout_handler, ctl);

	err = re_main(NULL);

 out:
	tmr_cancel(&ctl->tmr);
	mem_deref(req);
	mem_deref(cli);
	mem_deref(dnsc);

	return err;
}


/* -a: an IPv4 literal with a port; "localhost" means 127.0.0.1 */
static int addr_check(char *buf, size_t sz, const char *addr)
{
	struct sa sa;

	if (!strncmp(addr, "localhost:", 10)) {
		(void)re_snprintf(buf, sz, "127.0.0.1:%s", addr + 10);
		addr = buf;
	}

	if (sa_decode(&sa, addr, strlen(addr)) || !sa_port(&sa)) {
		(void)fprintf(stderr, "sbctl: -a %s: want ADDRESS:PORT\n",
			      addr);
		return EINVAL;
	}

	if (sa_af(&sa) != AF_INET) {
		(void)fprintf(stderr, "sbctl: -a %s: only IPv4 addresses "
			      "(re 1.1.0's HTTP client)\n", addr);
		return EINVAL;
	}

	(void)re_snprintf(buf, sz, "%J", &sa);

	return 0;
}


/**
 * sbctl: one API request from the command line
 *
 * @param argc Argument count
 * @param argv Arguments
 *
 * @return 0 on 2xx, 1 on an HTTP error, 2 on a usage error
 */
int main(int argc, char *argv[])
{
	const char *addr = default_addr, *token = NULL, *token_file = NULL;
	static struct ctl ctl;
	char addrbuf[64];
	int c, err;

	while ((c = getopt(argc, argv, "+a:t:T:h")) != -1) {

		switch (c) {

		case 'a':
			addr = optarg;
			break;

		case 't':
			token = optarg;
			break;

		case 'T':
			token_file = optarg;
			break;

		case 'h':
			usage();
			return 0;

		default:
			usage();
			return EXIT_USAGE;
		}
	}

	if (addr_check(addrbuf, sizeof(addrbuf), addr))
		return EXIT_USAGE;

	if (command_parse(&ctl, argc - optind, argv + optind)) {
		ctl.body = mem_deref(ctl.body);
		usage();
		return EXIT_USAGE;
	}

	if (token) {
		str_ncpy(ctl.token, token, sizeof(ctl.token));
	}
	else {
		if (!token_file)
			token_file = getenv("SB_TOKEN_FILE");
		if (!token_file || !*token_file)
			token_file = default_token_file;

		err = token_read(ctl.token, sizeof(ctl.token), token_file);
		if (err) {
			(void)re_fprintf(stderr, "sbctl: token file %s: %m "
					 "(use -t or -T)\n", token_file,
					 err == EINVAL ? ENODATA : err);
			ctl.body = mem_deref(ctl.body);
			return EXIT_USAGE;
		}
	}

	err = libre_init();
	if (err) {
		(void)re_fprintf(stderr, "sbctl: libre_init: %m\n", err);
		ctl.body = mem_deref(ctl.body);
		return EXIT_HTTP;
	}

	(void)run(&ctl, addrbuf);

	ctl.body = mem_deref(ctl.body);
	memset(ctl.token, 0, sizeof(ctl.token));

	libre_close();

	return ctl.status;
}
