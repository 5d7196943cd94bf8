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
 * port, that section's own c= and a=rtcp (RFC 3605), and on request its
 * formats and keys (sdpfmt.c). Rewritten: those same lines, with the
 * relay's address and ports; a rejected stream (port 0) stays rejected;
 * an edit (struct sdpedit) may replace the audio formats and protocol,
 * drop the rtpmap/fmtp lines of formats it leaves out and the keys, and
 * add lines at the end of the audio section. Every other line, and every
 * line ending (CRLF, LF, none at the end), is copied as it is.
 */
#include <string.h>
#include <re.h>
#include "relay.h"


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
	struct sdpaudio *au;      /**< Formats read here, or NULL     */
	const struct sdpedit *edit; /**< Changes to write, or NULL    */
	struct pl audio_eol;      /**< Line ending of the m=audio     */
	struct pl last_eol;       /**< Ending of the last line written */
};


static int port_decode(uint16_t *port, const struct pl *pl)
{
	uint32_t v;
	int err;

	err = sdp_num(&v, pl, 65535);
	if (!err)
		*port = (uint16_t)v;

	return err;
}


/* "IN IP4 192.0.2.1[/ttl]": the address, checked against its type */
static int addr_decode(struct sa *sa, struct pl *rest)
{
	struct pl net, type, addr;
	const char *slash;
	int err;

	if (!sdp_token_next(rest, &net) || !sdp_token_next(rest, &type) ||
	    !sdp_token_next(rest, &addr) || pl_strcmp(&net, "IN"))
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


static int c_line(struct walk *w, struct mbuf *mb, const struct sdp_line *ln,
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


/* the audio section ends: the edit's lines go last in it */
static int attrs_write(struct walk *w, struct mbuf *mb)
{
	static const struct pl crlf = PL("\r\n");
	const struct pl *eol = w->audio_eol.l &&
		w->audio_eol.p[w->audio_eol.l - 1] == '\n' ? &w->audio_eol :
		&crlf;
	struct pl rest, ln;
	int err = 0;

	if (!mb || !w->edit || !str_isset(w->edit->attrs))
		return 0;

	/* the text ended without a newline: end its last line first */
	if (!w->last_eol.l)
		err = mbuf_printf(mb, "%r", eol);
	else if (w->last_eol.p[w->last_eol.l - 1] != '\n')
		err = mbuf_write_u8(mb, '\n');

	pl_set_str(&rest, w->edit->attrs);
	while (!err && rest.l) {
		const char *nl = pl_strchr(&rest, '\n');

		ln.p = rest.p;
		ln.l = nl ? (size_t)(nl - rest.p) : rest.l;
		pl_advance(&rest, nl ? ln.l + 1 : ln.l);
		if (ln.l)
			err = mbuf_printf(mb, "%r%r", &ln, eol);
	}

	return err;
}


static int m_line(struct walk *w, struct mbuf *mb, const struct sdp_line *ln,
		  const struct pl *val, const struct sa *rtp)
{
	struct pl rest = *val, media, port, count = PL_INIT;
	const struct sdpedit *e = w->edit;
	const char *slash;
	int err;

	err = w->audio ? attrs_write(w, mb) : 0;
	if (err)
		return err;

	w->media = true;
	w->audio = false;

	if (w->seen_audio || !sdp_token_next(&rest, &media) ||
	    pl_strcmp(&media, "audio") || !sdp_token_next(&rest, &port))
		return mb ? mbuf_printf(mb, "%r%r", &ln->text, &ln->eol) : 0;

	/* "port/count": the count and the rest stay as they are */
	slash = pl_strchr(&port, '/');
	if (slash) {
		count.p = slash;
		count.l = port.l - (size_t)(slash - port.p);
		port.l = slash - port.p;
	}

	err = port_decode(&w->port, &port);
	if (!err && w->au)
		err = sdpfmt_formats(w->au, &rest);
	if (err)
		return err;

	w->audio = true;
	w->seen_audio = true;
	w->audio_eol = ln->eol;

	if (!mb)
		return 0;

	if (e && e->fmts) {
		struct pl proto;

		if (!sdp_token_next(&rest, &proto))
			return EINVAL;
		if (e->proto)
			pl_set_str(&proto, e->proto);

		return mbuf_printf(mb, "m=audio %u%r %r %s%r",
				   w->port ? sa_port(rtp) : 0, &count, &proto,
				   e->fmts, &ln->eol);
	}

	rest.p = port.p + port.l;
	rest.l = ln->text.l - (size_t)(rest.p - ln->text.p);

	return mbuf_printf(mb, "m=audio %u%r%r", w->port ? sa_port(rtp) : 0,
			   &rest, &ln->eol);
}


static int rtcp_line(struct walk *w, struct mbuf *mb, const struct sdp_line *ln,
		     const struct pl *val, const struct sa *rtcp)
{
	struct pl rest = *val, port;
	int err;

	if (w->rtcp)
		return mb ? mbuf_printf(mb, "%r%r", &ln->text, &ln->eol) : 0;

	if (!sdp_token_next(&rest, &port))
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
	struct sdp_line ln;
	int err = 0;

	rest.p = sdp;
	rest.l = len;

	while (!err && sdp_line_next(&rest, &ln)) {

		if (sdp_prefix(&ln.text, "m=", &val))
			err = m_line(w, mb, &ln, &val, rtp);
		else if (sdp_prefix(&ln.text, "c=", &val))
			err = c_line(w, mb, &ln, &val, rtp);
		else if (w->audio && sdp_prefix(&ln.text, "a=rtcp:", &val))
			err = rtcp_line(w, mb, &ln, &val, rtcp);
		else if (w->audio && w->au)
			err = sdpfmt_attr(w->au, &ln.text);
		else if (mb && w->audio && !sdpfmt_keep(w->edit, &ln.text))
			continue;
		else if (mb)
			err = mbuf_printf(mb, "%r%r", &ln.text, &ln.eol);

		/* what ends the text written so far (a dropped line
		 * writes nothing) */
		w->last_eol = ln.eol;
	}

	if (!err && w->audio)
		err = attrs_write(w, mb);

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

	memset(&w, 0, sizeof(w));
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
 * Read the formats and keys of a description's audio stream
 *
 * @param au  Result, pointing into the text
 * @param sdp Description text
 * @param len Its length
 *
 * @return 0 if success, EINVAL if it has no usable audio stream
 */
int sdptext_audio(struct sdpaudio *au, const char *sdp, size_t len)
{
	struct walk w;

	if (!au || !sdp)
		return EINVAL;

	memset(&w, 0, sizeof(w));
	memset(au, 0, sizeof(*au));
	w.au = au;

	return walk(&w, NULL, sdp, len, NULL, NULL);
}


/**
 * Write a session description with the relay's audio address instead,
 * and the audio stream's formats and keys changed as an edit says
 *
 * @param mb   Output
 * @param sdp  Description text
 * @param len  Its length
 * @param rtp  Relay's RTP address and port
 * @param rtcp Relay's RTCP address and port
 * @param edit Changes to the audio stream, NULL for none
 *
 * @return 0 if success, EINVAL if it has no usable audio stream
 */
int sdptext_rewrite(struct mbuf *mb, const char *sdp, size_t len,
		    const struct sa *rtp, const struct sa *rtcp,
		    const struct sdpedit *edit)
{
	struct walk w;

	if (!mb || !sdp || !rtp || !rtcp)
		return EINVAL;

	memset(&w, 0, sizeof(w));
	w.edit = edit;

	return walk(&w, mb, sdp, len, rtp, rtcp);
}
