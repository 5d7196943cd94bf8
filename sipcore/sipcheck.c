/**
 * @file sipcheck.c  Sanity checks on SIP requests, and last-resort replies
 *
 * libre 1.1.0 hands requests to its listeners with little checking: no
 * essential-header check, numbers that wrap, no CSeq/method match. The
 * first listener runs sipcheck_request() on every request and answers
 * the bad ones itself; the last listener answers what nobody took. Before
 * all that, every message libre receives goes through a linear-time
 * screen (prescreen(), via our sip_msg_decode) that keeps libre's regexes
 * away from inputs on which they take quadratic time.
 *
 * What libre's own parser already drops (sip_msg_decode fails, so no
 * listener sees it and nothing is answered): a start line that is not
 * "METHOD SP URI SP SIP/2.0" exactly (a version other than SIP/2.0 is
 * read as a response with status 0; extra SP inside or at the end of the
 * line, or LWS in the URI, break the line), a Request-URI that uri_decode
 * refuses, a top Via without a branch parameter (RFC 2543 clients), an
 * unparseable To, From, CSeq, Via or Content-Type, a header line without
 * a colon, and over TCP a message without Content-Length (the connection
 * is closed). libre reads 8192 bytes of a UDP datagram at most: a longer
 * one arrives cut (dropped if its header block is cut, else a 400 for its
 * Content-Length). So the 505 and "Missing Via" cases
 * below cannot be reached through libre's transports (a branch that is
 * only the magic cookie can); they are kept for other callers.
 */
#include <dlfcn.h>
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "sipcheck"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	MAXFWD_MAX   = 255,
	CSEQ_MAX     = 0x7fffffff,
	CLEN_MAX     = 0x7fffffff,
	LOG_SLOTS    = 64,        /* sources remembered for rate limiting */
	LOG_INTERVAL = 10000,     /* ms between two lines for one source  */
	LOG_BURST    = 20,        /* lines per interval, all sources      */
	LOG_TEXT_MAX = 64,        /* bytes of method/URI quoted in a line */
	STARTLINE_MAX = 8192,     /* as libre's sip_msg_decode            */
};

/* Most a message's header block may cost libre's regexes, in "run
 * squared" units (see prescreen): about 20 ms of CPU */
static const uint64_t PRESCREEN_BUDGET = (uint64_t)1 << 22;

/** Why a request was refused; the index into failv[] */
enum check_fail {
	FAIL_NONE = 0,
	FAIL_VERSION,
	FAIL_METHOD,
	FAIL_NO_VIA,
	FAIL_NO_BRANCH,
	FAIL_NO_TO,
	FAIL_NO_FROM,
	FAIL_NO_CALLID,
	FAIL_NO_CSEQ,
	FAIL_MULTI_TO,
	FAIL_MULTI_FROM,
	FAIL_MULTI_CALLID,
	FAIL_MULTI_CSEQ,
	FAIL_MULTI_MAXFWD,
	FAIL_MULTI_CLEN,
	FAIL_MULTI_CTYPE,
	FAIL_TO,
	FAIL_FROM,
	FAIL_CALLID,
	FAIL_CSEQ,
	FAIL_CSEQ_METHOD,
	FAIL_MAXFWD,
	FAIL_CLEN,
	FAIL_CLEN_LARGE,
	FAIL_RURI,
	FAIL_REQUIRE,
	FAIL_HOPS,
	FAIL_SCHEME,
	FAIL_EXTENSION,
	FAIL_MEDIA,
	FAIL_ACCEPT,
	FAIL_COUNT
};

/** The status, reason and errno of each refusal */
static const struct {
	uint16_t scode;
	const char *reason;
	int err;
} failv[FAIL_COUNT] = {
	[FAIL_NONE]         = {0,   NULL,                          0},
	[FAIL_VERSION]      = {505, "Version Not Supported",       EBADMSG},
	[FAIL_METHOD]       = {400, "Malformed Method",            EBADMSG},
	[FAIL_NO_VIA]       = {400, "Missing Via",                 EBADMSG},
	[FAIL_NO_BRANCH]    = {400, "Missing Via branch",          EBADMSG},
	[FAIL_NO_TO]        = {400, "Missing To",                  EBADMSG},
	[FAIL_NO_FROM]      = {400, "Missing From",                EBADMSG},
	[FAIL_NO_CALLID]    = {400, "Missing Call-ID",             EBADMSG},
	[FAIL_NO_CSEQ]      = {400, "Missing CSeq",                EBADMSG},
	[FAIL_MULTI_TO]     = {400, "Multiple To",                 EBADMSG},
	[FAIL_MULTI_FROM]   = {400, "Multiple From",               EBADMSG},
	[FAIL_MULTI_CALLID] = {400, "Multiple Call-ID",            EBADMSG},
	[FAIL_MULTI_CSEQ]   = {400, "Multiple CSeq",               EBADMSG},
	[FAIL_MULTI_MAXFWD] = {400, "Multiple Max-Forwards",       EBADMSG},
	[FAIL_MULTI_CLEN]   = {400, "Multiple Content-Length",     EBADMSG},
	[FAIL_MULTI_CTYPE]  = {400, "Multiple Content-Type",       EBADMSG},
	[FAIL_TO]           = {400, "Malformed To",                EBADMSG},
	[FAIL_FROM]         = {400, "Malformed From",              EBADMSG},
	[FAIL_CALLID]       = {400, "Malformed Call-ID",           EBADMSG},
	[FAIL_CSEQ]         = {400, "Malformed CSeq",              EBADMSG},
	[FAIL_CSEQ_METHOD]  = {400, "CSeq method mismatch",        EBADMSG},
	[FAIL_MAXFWD]       = {400, "Malformed Max-Forwards",      EBADMSG},
	[FAIL_CLEN]         = {400, "Malformed Content-Length",    EBADMSG},
	[FAIL_CLEN_LARGE]   = {400, "Content-Length Too Large",    EBADMSG},
	[FAIL_RURI]         = {400, "Malformed Request-URI",       EBADMSG},
	[FAIL_REQUIRE]      = {400, "Malformed Require",           EBADMSG},
	[FAIL_HOPS]         = {483, "Too Many Hops",               EPROTO},
	[FAIL_SCHEME]       = {416, "Unsupported URI Scheme",      EPROTO},
	[FAIL_EXTENSION]    = {420, "Bad Extension",               EPROTO},
	[FAIL_MEDIA]        = {415, "Unsupported Media Type",      EPROTO},
	[FAIL_ACCEPT]       = {406, "Not Acceptable",              EPROTO},
};

static const char allow_hdr[] =
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n";

/** One remembered source for log rate limiting */
struct logslot {
	struct sa addr;      /**< Source address                  */
	uint64_t last;       /**< When it was last logged (ms)    */
	uint32_t suppressed; /**< Lines not printed since then    */
};

static struct {
	struct sip_lsnr *first;          /**< Check, before all others  */
	struct sip_lsnr *last;           /**< Fallback, after all       */
	struct sip_lsnr *last_resp;      /**< Stray responses, last     */
	struct logslot slotv[LOG_SLOTS]; /**< Per-source log state      */
	uint64_t burst_start;            /**< Start of the burst window */
	uint32_t burst_count;            /**< Lines in the window       */
} chk;


static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}


static inline bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


/* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" /
 * "`" / "'" / "~" */
static bool is_token(const struct pl *pl)
{
	size_t i;

	if (!pl_isset(pl))
		return false;

	for (i = 0; i < pl->l; i++) {
		const char c = pl->p[i];

		if (is_alpha(c) || is_digit(c))
			continue;

		if (c == '\0' || !strchr("-.!%*_+`'~", c))
			return false;
	}

	return true;
}


/* Digits only, no sign or blank; value at most max. pl_u32 would wrap
 * and take anything as 0, so this reads the text itself. */
static bool num_decode(const struct pl *pl, uint32_t max, uint32_t *valp)
{
	uint64_t v = 0;
	size_t i;

	if (!pl_isset(pl))
		return false;

	for (i = 0; i < pl->l; i++) {

		if (!is_digit(pl->p[i]))
			return false;

		v = v * 10 + (uint64_t)(pl->p[i] - '0');
		if (v > max)
			return false;
	}

	if (valp)
		*valp = (uint32_t)v;

	return true;
}


/* Strip leading and trailing LWS (folding included) */
static void pl_trim_lws(struct pl *pl)
{
	while (pl->l && is_lws(pl->p[0])) {
		++pl->p;
		--pl->l;
	}

	while (pl->l && is_lws(pl->p[pl->l - 1]))
		--pl->l;
}


static const struct pl *hdr_val(const struct sip_msg *msg,
				enum sip_hdrid id)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, id);

	return hdr ? &hdr->val : NULL;
}


/* CSeq = 1*DIGIT LWS Method, number below 2^31 (RFC 3261 8.1.1.5) */
static enum check_fail cseq_check(const struct sip_msg *msg)
{
	struct pl v, num, met;

	v = *hdr_val(msg, SIP_HDR_CSEQ);
	pl_trim_lws(&v);

	num.p = v.p;
	num.l = 0;
	while (num.l < v.l && is_digit(v.p[num.l]))
		++num.l;

	met.p = num.p + num.l;
	met.l = v.l - num.l;
	if (!met.l || !is_lws(met.p[0]))
		return FAIL_CSEQ;

	pl_trim_lws(&met);

	if (!num_decode(&num, CSEQ_MAX, NULL) || !is_token(&met))
		return FAIL_CSEQ;

	if (pl_cmp(&met, &msg->met))
		return FAIL_CSEQ_METHOD;

	return FAIL_NONE;
}


/* Call-ID = word ["@" word]: visible characters, nothing else */
static bool callid_valid(const struct pl *id)
{
	size_t i;

	if (!pl_isset(id))
		return false;

	for (i = 0; i < id->l; i++) {
		const uint8_t c = (uint8_t)id->p[i];

		if (c < 0x21 || c > 0x7e)
			return false;
	}

	return true;
}


/* name-addr = [ display-name ] "<" addr-spec ">", display-name =
 * *(token LWS) / quoted-string. libre finds the "<...>" anywhere in the
 * value and takes what it can as the display name, so an unquoted comma
 * or an unterminated quote (RFC 4475 3.1.2.6, 3.1.2.15) pass it. The
 * addr-spec form (no "<") was decoded by libre and is left to it. */
static bool nameaddr_valid(const struct pl *val)
{
	const char *p = val->p, *end = val->p + val->l;

	while (p < end && is_lws(*p))
		++p;

	if (!memchr(p, '<', end - p) && (p == end || *p != '"'))
		return true;

	if (p < end && *p == '"') {

		for (++p; p < end && *p != '"'; p++) {
			if (*p == '\\' && ++p == end)
				return false;
		}

		if (p == end)
			return false;

		for (++p; p < end && is_lws(*p); p++)
			;
	}
	else {
		for (; p < end && *p != '<'; p++) {
			const struct pl c = {p, 1};

			if (!is_lws(*p) && !is_token(&c))
				return false;
		}
	}

	if (p == end || *p != '<')
		return false;

	return memchr(p, '>', end - p) != NULL;
}


/* scheme ":" ... where scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
 */
static enum check_fail ruri_check(const struct sip_msg *msg)
{
	const struct pl *ruri = &msg->ruri;
	struct pl scheme;
	size_t i;

	if (!ruri->l || !is_alpha(ruri->p[0]))
		return FAIL_RURI;

	for (i = 1; i < ruri->l && ruri->p[i] != ':'; i++) {
		const char c = ruri->p[i];

		if (!is_alpha(c) && !is_digit(c) && !strchr("+-.", c))
			return FAIL_RURI;
	}

	if (i >= ruri->l)
		return FAIL_RURI;

	scheme.p = ruri->p;
	scheme.l = i;

	if (pl_strcasecmp(&scheme, "sip") && pl_strcasecmp(&scheme, "sips"))
		return FAIL_SCHEME;

	/* No escaped headers in a Request-URI (RFC 3261 19.1.1, Table 1;
	 * RFC 4475 3.1.2.11): never let them turn into real ones */
	if (!pl_isset(&msg->uri.host) || pl_isset(&msg->uri.headers))
		return FAIL_RURI;

	return FAIL_NONE;
}


/* Each Require/Proxy-Require value is one option tag (libre splits them
 * at commas); an empty value names nothing. */
static bool ext_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	enum check_fail *failp = arg;
	struct pl tag = hdr->val;
	(void)msg;

	pl_trim_lws(&tag);
	if (!tag.l)
		return false;

	if (!is_token(&tag)) {
		*failp = FAIL_REQUIRE;
		return true;
	}

	*failp = FAIL_EXTENSION;

	return false;
}


static enum check_fail require_check(const struct sip_msg *msg)
{
	enum check_fail fail = FAIL_NONE;

	/* RFC 3261 8.2.2.3: never refuse an ACK or CANCEL for it */
	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "CANCEL"))
		return FAIL_NONE;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, ext_handler,
				&fail);
	if (fail == FAIL_REQUIRE)
		return fail;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_PROXY_REQUIRE,
				ext_handler, &fail);

	return fail;
}


/* One Accept value: type "/" subtype *( ";" param ) */
static bool accept_handler(const struct sip_hdr *hdr,
			   const struct sip_msg *msg, void *arg)
{
	struct pl type, subtype;
	(void)msg;
	(void)arg;

	if (re_regex(hdr->val.p, hdr->val.l,
		     "[ \t\r\n]*[^ \t\r\n;/]+[ \t\r\n]*/"
		     "[ \t\r\n]*[^ \t\r\n;]+",
		     NULL, &type, NULL, NULL, &subtype))
		return false;

	if (!pl_strcmp(&type, "*") && !pl_strcmp(&subtype, "*"))
		return true;

	if (pl_strcasecmp(&type, "application"))
		return false;

	return !pl_strcmp(&subtype, "*") || !pl_strcasecmp(&subtype, "sdp");
}


/* Length of the body as the handlers will see it */
static size_t body_len(const struct sip_msg *msg)
{
	size_t left = msg->mb ? mbuf_get_left(msg->mb) : 0;
	uint32_t clen;

	if (pl_isset(&msg->clen) && num_decode(&msg->clen, CLEN_MAX, &clen))
		return MIN(left, clen);

	return left;
}


/* We only take SDP in an INVITE (RFC 3261 8.2.3), and answer with SDP,
 * so the caller must accept it. */
static enum check_fail invite_check(const struct sip_msg *msg)
{
	if (pl_strcmp(&msg->met, "INVITE"))
		return FAIL_NONE;

	if (sip_msg_hdr(msg, SIP_HDR_ACCEPT) &&
	    !sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT, accept_handler,
			       NULL))
		return FAIL_ACCEPT;

	if (body_len(msg) &&
	    (!sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE) ||
	     !msg_ctype_cmp(&msg->ctyp, "application", "sdp")))
		return FAIL_MEDIA;

	return FAIL_NONE;
}


static enum check_fail check(const struct sip_msg *msg)
{
	static const struct {
		enum sip_hdrid id;
		enum check_fail missing;
		enum check_fail multi;
	} hdrv[] = {
		{SIP_HDR_TO,             FAIL_NO_TO,     FAIL_MULTI_TO},
		{SIP_HDR_FROM,           FAIL_NO_FROM,   FAIL_MULTI_FROM},
		{SIP_HDR_CALL_ID,        FAIL_NO_CALLID, FAIL_MULTI_CALLID},
		{SIP_HDR_CSEQ,           FAIL_NO_CSEQ,   FAIL_MULTI_CSEQ},
		{SIP_HDR_MAX_FORWARDS,   FAIL_NONE,      FAIL_MULTI_MAXFWD},
		{SIP_HDR_CONTENT_LENGTH, FAIL_NONE,      FAIL_MULTI_CLEN},
		{SIP_HDR_CONTENT_TYPE,   FAIL_NONE,      FAIL_MULTI_CTYPE},
	};
	enum check_fail fail;
	uint32_t n, maxfwd, clen;
	size_t i;

	if (pl_strcmp(&msg->ver, "SIP/2.0"))
		return FAIL_VERSION;

	if (!is_token(&msg->met))
		return FAIL_METHOD;

	if (!sip_msg_hdr(msg, SIP_HDR_VIA) || !pl_isset(&msg->via.sentby))
		return FAIL_NO_VIA;

	/* The magic cookie alone identifies no transaction (RFC 4475
	 * 3.2.1); a branch without it is RFC 2543's, and libre keys on it */
	if (!pl_isset(&msg->via.branch) ||
	    !pl_strcasecmp(&msg->via.branch, "z9hG4bK"))
		return FAIL_NO_BRANCH;

	for (i = 0; i < ARRAY_SIZE(hdrv); i++) {

		n = sip_msg_hdr_count(msg, hdrv[i].id);

		if (!n && hdrv[i].missing != FAIL_NONE)
			return hdrv[i].missing;

		if (n > 1)
			return hdrv[i].multi;
	}

	if (!nameaddr_valid(hdr_val(msg, SIP_HDR_TO)))
		return FAIL_TO;

	if (!nameaddr_valid(hdr_val(msg, SIP_HDR_FROM)))
		return FAIL_FROM;

	if (!callid_valid(&msg->callid))
		return FAIL_CALLID;

	fail = cseq_check(msg);
	if (fail != FAIL_NONE)
		return fail;

	/* Absent in RFC 2543 requests: allowed */
	if (sip_msg_hdr(msg, SIP_HDR_MAX_FORWARDS)) {

		if (!num_decode(&msg->maxfwd, MAXFWD_MAX, &maxfwd))
			return FAIL_MAXFWD;
	}
	else {
		maxfwd = MAXFWD_MAX;
	}

	if (sip_msg_hdr(msg, SIP_HDR_CONTENT_LENGTH)) {

		if (!num_decode(&msg->clen, CLEN_MAX, &clen))
			return FAIL_CLEN;

		/* Over TCP libre cut the body at clen; in a datagram the
		 * body must hold at least clen bytes (RFC 3261 18.3) */
		if (clen > (msg->mb ? mbuf_get_left(msg->mb) : 0))
			return FAIL_CLEN_LARGE;
	}

	/* Max-Forwards 0: OPTIONS is for us (RFC 3261 11), ACK and CANCEL
	 * are hop by hop, and in-dialog requests end at us, the B2BUA */
	if (maxfwd == 0 && !pl_isset(&msg->to.tag) &&
	    pl_strcmp(&msg->met, "OPTIONS") && pl_strcmp(&msg->met, "ACK") &&
	    pl_strcmp(&msg->met, "CANCEL"))
		return FAIL_HOPS;

	fail = ruri_check(msg);
	if (fail != FAIL_NONE)
		return fail;

	fail = require_check(msg);
	if (fail != FAIL_NONE)
		return fail;

	return invite_check(msg);
}


/**
 * Check a decoded SIP request before any handler sees it
 *
 * Pure: looks at the message only. The caller answers with the status
 * and reason returned (420 also needs an Unsupported header, 415 an
 * Accept header; the listener of sipcheck_init adds them).
 *
 * @param msg    Decoded SIP request
 * @param scode  Status code to reply with, set on failure
 * @param reason Reason phrase to reply with, set on failure
 *
 * @return 0 if the request is fine, EBADMSG if it is malformed, EPROTO if
 *         it asks for something we do not do, EINVAL on bad arguments
 */
int sipcheck_request(const struct sip_msg *msg, uint16_t *scode,
		     const char **reason)
{
	enum check_fail fail;

	if (!msg || !msg->req || !scode || !reason)
		return EINVAL;

	fail = check(msg);
	if (fail == FAIL_NONE)
		return 0;

	*scode  = failv[fail].scode;
	*reason = failv[fail].reason;

	return failv[fail].err;
}


/* Does libre's start-line regex "[^ \t\r\n]+ [^ \t\r\n]+ [^\r\n]*[\r]*[\n]1"
 * match at the first byte? The same answer in linear time; the offset of
 * the first header is set when it does. */
static bool startline_match(const char *p, size_t len, size_t *hdrp)
{
	size_t i = 0;
	int tok;

	for (tok = 0; tok < 2; tok++) {
		const size_t start = i;

		while (i < len && !is_lws(p[i]))
			++i;

		if (i == start || i == len || p[i] != ' ')
			return false;

		++i;
	}

	while (i < len && p[i] != '\r' && p[i] != '\n')
		++i;

	while (i < len && p[i] == '\r')
		++i;

	if (i == len || p[i] != '\n')
		return false;

	*hdrp = i + 1;

	return true;
}


/* Screen a raw SIP message in linear time before libre decodes it.
 *
 * libre 1.1.0's re_regex takes time quadratic in the length of a run of
 * non-blank characters where its pattern fails to match: the start line,
 * and To, From, Contact (sip_addr_decode), Content-Type and CSeq values.
 * An 8 kB datagram cost 0.2-0.4 s and a 64 kB TCP message tens of
 * seconds of the one SIP thread. So a start line libre would refuse is
 * refused here with libre's own answer (ENODATA: wait for more; EBADMSG),
 * and a header block whose runs of non-blank characters, squared and
 * summed, exceed PRESCREEN_BUDGET is dropped (EBADMSG): one 2 kB token
 * fits, no real message comes near. */
static int prescreen(const struct mbuf *mb)
{
	uint64_t cost = 0, run = 0;
	bool lf = false;
	const char *p;
	size_t len, i;

	if (!mb)
		return EINVAL;

	p   = (const char *)mbuf_buf(mb);
	len = mbuf_get_left(mb);

	if (!startline_match(p, len, &i))
		return len > STARTLINE_MAX ? EBADMSG : ENODATA;

	for (; i < len; i++) {

		if (!is_lws(p[i])) {
			++run;
			lf = false;
			continue;
		}

		cost += run * run;
		run = 0;

		if (cost > PRESCREEN_BUDGET)
			return EBADMSG;

		if (p[i] == '\n') {
			if (lf)
				return 0;  /* end of the header block */
			lf = true;
		}
		else if (p[i] != '\r') {
			lf = false;
		}
	}

	cost += run * run;

	return cost > PRESCREEN_BUDGET ? EBADMSG : 0;
}


/**
 * libre's transports call sip_msg_decode through the PLT, so this
 * definition in the program comes before libre's own: every message is
 * screened by prescreen() above, then decoded by libre. Remove it and
 * the screen is off; nothing else changes.
 *
 * @param msgp Pointer to allocated SIP Message
 * @param mb   Buffer containing SIP Message
 *
 * @return 0 if success, otherwise errorcode
 */
int sip_msg_decode(struct sip_msg **msgp, struct mbuf *mb)
{
	static int (*decode)(struct sip_msg **msgp, struct mbuf *mb);
	int err;

	if (!msgp || !mb)
		return EINVAL;

	err = prescreen(mb);
	if (err)
		return err;

	if (!decode) {
		*(void **)&decode = dlsym(RTLD_NEXT, "sip_msg_decode");
		if (!decode)
			return ENOSYS;
	}

	return decode(msgp, mb);
}


/* Untrusted text for the log: at most LOG_TEXT_MAX bytes, and no control
 * characters that could forge log lines */
static int print_safe(struct re_printf *pf, void *arg)
{
	const struct pl *pl = arg;
	size_t i, n = MIN(pl->l, (size_t)LOG_TEXT_MAX);
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		const uint8_t c = (uint8_t)pl->p[i];

		err = re_hprintf(pf, "%c", (c < 0x20 || c > 0x7e) ? '?' : c);
	}

	if (!err && pl->l > n)
		err = re_hprintf(pf, "...");

	return err;
}


/* One line per source per LOG_INTERVAL, and at most LOG_BURST lines per
 * LOG_INTERVAL in all: a flood must not flood the log */
static void log_refusal(const struct sip_msg *msg, uint16_t scode,
			const char *reason)
{
	const uint64_t now = tmr_jiffies();
	struct logslot *slot;

	slot = &chk.slotv[sa_hash(&msg->src, SA_ADDR) % LOG_SLOTS];

	if (sa_cmp(&slot->addr, &msg->src, SA_ADDR) &&
	    now - slot->last < LOG_INTERVAL) {
		++slot->suppressed;
		return;
	}

	if (now - chk.burst_start >= LOG_INTERVAL) {
		chk.burst_start = now;
		chk.burst_count = 0;
	}

	if (chk.burst_count >= LOG_BURST)
		return;

	++chk.burst_count;

	if (!sa_cmp(&slot->addr, &msg->src, SA_ADDR))
		slot->suppressed = 0;

	DEBUG_NOTICE("%J (%s): refused '%H' '%H': %u %s"
		     " (%u suppressed before)\n",
		     &msg->src, sip_transp_name(msg->tp),
		     print_safe, (void *)&msg->met,
		     print_safe, (void *)&msg->ruri,
		     scode, reason, slot->suppressed);

	slot->addr = msg->src;
	slot->last = now;
	slot->suppressed = 0;
}


/* The option tags we refuse, for the Unsupported header of a 420 */
struct unsup {
	struct re_printf *pf;  /**< Where to print   */
	unsigned n;            /**< Tags printed     */
	int err;               /**< First error      */
};


static bool unsup_handler(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	struct unsup *u = arg;
	struct pl tag = hdr->val;
	(void)msg;

	pl_trim_lws(&tag);
	if (!tag.l)
		return false;

	u->err |= re_hprintf(u->pf, "%s%r", u->n++ ? ", " : "", &tag);

	return u->err != 0;
}


static int print_unsupported(struct re_printf *pf, void *arg)
{
	const struct sip_msg *msg = arg;
	struct unsup u = {pf, 0, 0};

	u.err = re_hprintf(pf, "Unsupported: ");
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, unsup_handler,
				&u);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_PROXY_REQUIRE,
				unsup_handler, &u);
	u.err |= re_hprintf(pf, "\r\n");

	return u.err;
}


/* Over UDP the body ends at Content-Length: octets after it are not
 * part of the message (RFC 3261 18.3, RFC 4475 3.1.1.8) */
static void body_trim(const struct sip_msg *msg)
{
	uint32_t clen;

	if (msg->tp != SIP_TRANSP_UDP || !msg->mb ||
	    !num_decode(&msg->clen, CLEN_MAX, &clen))
		return;

	if (mbuf_get_left(msg->mb) > clen)
		msg->mb->end = msg->mb->pos + clen;
}


/* First listener: refuse what is malformed before anyone parses it */
static bool check_handler(const struct sip_msg *msg, void *arg)
{
	struct sip *sip = arg;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	err = sipcheck_request(msg, &scode, &reason);
	if (!err) {
		body_trim(msg);
		return false;
	}

	log_refusal(msg, scode, reason);

	/* Never answer an ACK; a bad one is dropped */
	if (!pl_strcmp(&msg->met, "ACK"))
		return true;

	/* Stateless: a flood of bad requests must not create transactions;
	 * a retransmission is checked and answered again */
	switch (scode) {

	case 420:
		err = sip_replyf(sip, msg, scode, reason,
				 "%HContent-Length: 0\r\n\r\n",
				 print_unsupported, (void *)msg);
		break;

	case 415:
		err = sip_replyf(sip, msg, scode, reason,
				 "Accept: application/sdp\r\n"
				 "Content-Length: 0\r\n\r\n");
		break;

	default:
		err = sip_reply(sip, msg, scode, reason);
		break;
	}

	if (err)
		DEBUG_INFO("%J: reply %u failed (%m)\n", &msg->src, scode,
			   err);

	return true;
}


static bool method_allowed(const struct pl *met)
{
	static const char *metv[] = {"INVITE", "ACK", "CANCEL", "BYE",
				     "OPTIONS", "REGISTER"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(metv); i++) {
		if (!pl_strcmp(met, metv[i]))
			return true;
	}

	return false;
}


/* Last listener: what no handler took */
static bool fallback_handler(const struct sip_msg *msg, void *arg)
{
	struct sip *sip = arg;
	int err;

	if (!pl_strcmp(&msg->met, "ACK"))
		return true;

	if (!method_allowed(&msg->met)) {
		err = sip_replyf(sip, msg, 501, "Not Implemented",
				 "%sContent-Length: 0\r\n\r\n", allow_hdr);
	}
	else if (pl_isset(&msg->to.tag) ||
		 !pl_strcmp(&msg->met, "CANCEL") ||
		 !pl_strcmp(&msg->met, "BYE")) {
		err = sip_reply(sip, msg, 481,
				"Call/Transaction Does Not Exist");
	}
	else if (!pl_strcmp(&msg->met, "OPTIONS")) {
		err = sip_replyf(sip, msg, 200, "OK",
				 "%s"
				 "Accept: application/sdp\r\n"
				 "Supported: \r\n"
				 "Content-Length: 0\r\n\r\n", allow_hdr);
	}
	else {
		/* INVITE or REGISTER, and the service is not loaded */
		err = sip_reply(sip, msg, 503, "Service Unavailable");
	}

	if (err)
		DEBUG_INFO("%J: fallback reply failed (%m)\n", &msg->src, err);

	return true;
}


/* Last response listener: a response no transaction or session took is
 * stray (RFC 4475 3.1.1.12, 3.1.2.19, 3.3.10). Drop it quietly; libre
 * would print each one to stderr, unthrottled. */
static bool stray_handler(const struct sip_msg *msg, void *arg)
{
	(void)arg;

	DEBUG_INFO("%J: stray response %u dropped\n", &msg->src, msg->scode);

	return true;
}


/**
 * Register the request check; call it before any other sip_listen so that
 * its listener runs first
 *
 * @param sip SIP stack
 *
 * @return 0 if success, otherwise errorcode
 */
int sipcheck_init(struct sip *sip)
{
	if (!sip)
		return EINVAL;

	if (chk.first)
		return EALREADY;

	memset(chk.slotv, 0, sizeof(chk.slotv));
	chk.burst_start = 0;
	chk.burst_count = 0;

	return sip_listen(&chk.first, sip, true, check_handler, sip);
}


/**
 * Register the last-resort listener; call it after every other sip_listen.
 * It answers out-of-dialog OPTIONS (200), in-dialog requests nobody took
 * (481), methods we do not implement (501), and drops stray ACKs and
 * stray responses.
 *
 * @param sip SIP stack
 *
 * @return 0 if success, otherwise errorcode
 */
int sipcheck_fallback_init(struct sip *sip)
{
	int err;

	if (!sip)
		return EINVAL;

	if (chk.last || chk.last_resp)
		return EALREADY;

	err = sip_listen(&chk.last, sip, true, fallback_handler, sip);
	if (!err)
		err = sip_listen(&chk.last_resp, sip, false, stray_handler,
				 NULL);

	return err;
}


/**
 * Release the listeners of sipcheck_init and sipcheck_fallback_init
 */
void sipcheck_close(void)
{
	chk.first     = mem_deref(chk.first);
	chk.last      = mem_deref(chk.last);
	chk.last_resp = mem_deref(chk.last_resp);
}
