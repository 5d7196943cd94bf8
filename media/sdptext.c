/**
 * @file sdptext.c  SDP as text: find the audio address, rewrite it
 *
 * The relay must hand on a description byte for byte except for the
 * address and ports it replaces, so it works on lines, not on re's sdp
 * module (which rebuilds the text from what it decoded). One walk over
 * the lines serves both reading and rewriting, so both agree on what
 * the description says.
 *
 * Read: the session c= (before the first m=), the first m=audio line's
 * port, that section's own c= and a=rtcp (RFC 3605). Rewritten: those
 * same lines, with the relay's address and ports; a rejected stream
 * (port 0) stays rejected. Every other line, and every line ending
 * (CRLF, LF, none at the end), is copied as it is.
 */
#include <string.h>
#include <re.h>
#include "relay.h"


/** A line, and what ends it */
struct line {
	struct pl text;           /**< Without its line ending        */
	struct pl eol;            /**< "\r\n", "\n" or empty          */
};

/** Walk state */
struct walk {
	bool media;               /**< Past the first m= line         */
	bool audio;               /**< In the first m=audio section   */
	bool seen_audio;          /**< The first m=audio was found    */
	bool sess_c;              /**< Session c= found               */
	bool audio_c;             /**< Audio section's c= found       */
	bool rtcp;                /**< a=rtcp found                   */
	bool rtcp_addr;           /**< a=rtcp names an address        */
	struct sa sess_addr;      /**< Session c= address             */
	struct sa audio_addr;     /**< Audio section's c= address     */
	struct sa rtcp_sa;        /**< a=rtcp address                 */
	uint16_t port;            /**< m=audio port                   */
	uint16_t rtcp_port;       /**< a=rtcp port                    */
};


static bool line_next(struct pl *rest, struct line *ln)
{
	const char *nl;

	if (!rest->l)
		return false;

	nl = pl_strchr(rest, '\n');
	ln->text.p = rest->p;
	ln->text.l = nl ? (size_t)(nl - rest->p) : rest->l;
	ln->eol.p = ln->text.p + ln->text.l;
	ln->eol.l = nl ? 1 : 0;

	if (ln->text.l && ln->text.p[ln->text.l - 1] == '\r') {
		--ln->text.l;
		--ln->eol.p;
		++ln->eol.l;
	}

	pl_advance(rest, ln->text.l + ln->eol.l);

	return true;
}


/* the next space-separated token; false when there is none */
static bool token_next(struct pl *rest, struct pl *tok)
{
	const char *sp;

	if (!rest->l)
		return false;

	sp = pl_strchr(rest, ' ');
	tok->p = rest->p;
	tok->l = sp ? (size_t)(sp - rest->p) : rest->l;
	pl_advance(rest, sp ? tok->l + 1 : tok->l);

	return tok->l > 0;
}


static bool has_prefix(const struct pl *pl, const char *prefix, struct pl *val)
{
	size_t n = strlen(prefix);

	if (pl->l < n || memcmp(pl->p, prefix, n))
		return false;

	val->p = pl->p + n;
	val->l = pl->l - n;

	return true;
}


static int port_decode(uint16_t *port, const struct pl *pl)
{
	uint32_t v = 0;
	size_t i;

	if (!pl->l || pl->l > 5)
		return EINVAL;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
		v = v * 10 + (uint32_t)(pl->p[i] - '0');
	}

	if (v > 65535)
		return EINVAL;

	*port = (uint16_t)v;

	return 0;
}


/* "IN IP4 192.0.2.1[/ttl]": the address, checked against its type */
static int addr_decode(struct sa *sa, struct pl *rest)
{
	struct pl net, type, addr;
	const char *slash;
	int err;

	if (!token_next(rest, &net) || !token_next(rest, &type) ||
	    !token_next(rest, &addr) || pl_strcmp(&net, "IN"))
		return EINVAL;

	slash = pl_strchr(&addr, '/');
	if (slash)
		addr.l = slash - addr.p;

	err = sa_set(sa, &addr, 0);
	if (err)
		return EINVAL;

	if (!pl_strcmp(&type, "IP4"))
		return sa_af(sa) == AF_INET ? 0 : EINVAL;
	if (!pl_strcmp(&type, "IP6"))
		return sa_af(sa) == AF_INET6 ? 0 : EINVAL;

	return EINVAL;
}


static int print_addr(struct re_printf *pf, const struct sa *sa)
{
	return re_hprintf(pf, "IN %s %j", sa_af(sa) == AF_INET6 ? "IP6" :
			  "IP4", sa);
}


static int c_line(struct walk *w, struct mbuf *mb, const struct line *ln,
		  const struct pl *val, const struct sa *rtp)
{
	struct pl rest = *val;
	struct sa *sa;
	int err;

	if (w->audio && !w->audio_c) {
		sa = &w->audio_addr;
		w->audio_c = true;
	}
	else if (!w->media && !w->sess_c) {
		sa = &w->sess_addr;
		w->sess_c = true;
	}
	else {
		/* another stream's, or a repeat: not ours */
		return mb ? mbuf_printf(mb, "%r%r", &ln->text, &ln->eol) : 0;
	}

	err = addr_decode(sa, &rest);
	if (err || !mb)
		return err;

	return mbuf_printf(mb, "c=%H%r", print_addr, rtp, &ln->eol);
}


static int m_line(struct walk *w, struct mbuf *mb, const struct line *ln,
		  const struct pl *val, const struct sa *rtp)
{
	struct pl rest = *val, media, port;
	const char *slash;
	int err;

	w->media = true;
	w->audio = false;

	if (w->seen_audio || !token_next(&rest, &media) ||
	    pl_strcmp(&media, "audio") || !token_next(&rest, &port))
		return mb ? mbuf_printf(mb, "%r%r", &ln->text, &ln->eol) : 0;

	/* "port/count": the count and the rest stay as they are */
	slash = pl_strchr(&port, '/');
	if (slash)
		port.l = slash - port.p;

	err = port_decode(&w->port, &port);
	if (err)
		return err;

	w->audio = true;
	w->seen_audio = true;

	if (!mb)
		return 0;

	rest.p = port.p + port.l;
	rest.l = ln->text.l - (size_t)(rest.p - ln->text.p);

	return mbuf_printf(mb, "m=audio %u%r%r", w->port ? sa_port(rtp) : 0,
			   &rest, &ln->eol);
}


static int rtcp_line(struct walk *w, struct mbuf *mb, const struct line *ln,
		     const struct pl *val, const struct sa *rtcp)
{
	struct pl rest = *val, port;
	int err;

	if (w->rtcp)
		return mb ? mbuf_printf(mb, "%r%r", &ln->text, &ln->eol) : 0;

	if (!token_next(&rest, &port))
		return EINVAL;

	err = port_decode(&w->rtcp_port, &port);
	if (err)
		return err;

	w->rtcp = true;
	if (rest.l) {
		err = addr_decode(&w->rtcp_sa, &rest);
		if (err)
			return err;
		w->rtcp_addr = true;
	}

	if (!mb)
		return 0;

	if (!w->rtcp_addr)
		return mbuf_printf(mb, "a=rtcp:%u%r", sa_port(rtcp), &ln->eol);

	return mbuf_printf(mb, "a=rtcp:%u %H%r", sa_port(rtcp), print_addr,
			   rtcp, &ln->eol);
}


static int walk(struct walk *w, struct mbuf *mb, const char *sdp, size_t len,
		const struct sa *rtp, const struct sa *rtcp)
{
	struct pl rest, val;
	struct line ln;
	int err = 0;

	memset(w, 0, sizeof(*w));
	rest.p = sdp;
	rest.l = len;

	while (!err && line_next(&rest, &ln)) {

		if (has_prefix(&ln.text, "m=", &val))
			err = m_line(w, mb, &ln, &val, rtp);
		else if (has_prefix(&ln.text, "c=", &val))
			err = c_line(w, mb, &ln, &val, rtp);
		else if (w->audio && has_prefix(&ln.text, "a=rtcp:", &val))
			err = rtcp_line(w, mb, &ln, &val, rtcp);
		else if (mb)
			err = mbuf_printf(mb, "%r%r", &ln.text, &ln.eol);
	}

	if (err)
		return err;

	if (!w->seen_audio || (!w->sess_c && !w->audio_c))
		return EINVAL;

	return 0;
}


/**
 * Read the remote audio address of a session description
 *
 * @param st  Result: remote RTP and RTCP addresses (port 0: none)
 * @param sdp Description text
 * @param len Its length
 *
 * @return 0 if success, EINVAL if it has no usable audio stream
 */
int sdptext_parse(struct sdptext *st, const char *sdp, size_t len)
{
	struct walk w;
	int err;

	if (!st || !sdp)
		return EINVAL;

	err = walk(&w, NULL, sdp, len, NULL, NULL);
	if (err)
		return err;

	st->rtp = w.audio_c ? w.audio_addr : w.sess_addr;
	sa_set_port(&st->rtp, w.port);

	if (!w.port) {
		st->rtcp = st->rtp;
	}
	else if (w.rtcp) {
		st->rtcp = w.rtcp_addr ? w.rtcp_sa : st->rtp;
		sa_set_port(&st->rtcp, w.rtcp_port);
	}
	else {
		st->rtcp = st->rtp;
		sa_set_port(&st->rtcp, w.port < 65535 ? w.port + 1 : 0);
	}

	return 0;
}


/**
 * Write a session description with the relay's audio address instead
 *
 * @param mb   Output
 * @param sdp  Description text
 * @param len  Its length
 * @param rtp  Relay's RTP address and port
 * @param rtcp Relay's RTCP address and port
 *
 * @return 0 if success, EINVAL if it has no usable audio stream
 */
int sdptext_rewrite(struct mbuf *mb, const char *sdp, size_t len,
		    const struct sa *rtp, const struct sa *rtcp)
{
	struct walk w;

	if (!mb || !sdp || !rtp || !rtcp)
		return EINVAL;

	return walk(&w, mb, sdp, len, rtp, rtcp);
}
