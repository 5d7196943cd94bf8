/**
 * @file sdpfmt.c  The audio stream's formats and keys, read and filtered
 *
 * What the relay needs to choose codecs and SRTP keys (negotiate.c):
 * the m=audio protocol and payload types, each type's a=rtpmap and
 * a=fmtp, and the a=crypto lines (RFC 4568), all as pointers into the
 * description. sdptext.c calls these for the lines of the first audio
 * section, so reading and rewriting see the same section.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "relay.h"


static struct sdpfmt *fmt_find(struct sdpaudio *au, uint32_t pt)
{
	unsigned i;

	for (i = 0; i < au->fmtc; i++) {
		if (au->fmtv[i].pt == pt)
			return &au->fmtv[i];
	}

	return NULL;
}


/**
 * Read the protocol and payload types of an m=audio line
 *
 * @param au   Audio stream
 * @param rest What follows the port: "RTP/AVP 0 8 101"
 *
 * @return 0 if success, EINVAL if malformed
 */
int sdpfmt_formats(struct sdpaudio *au, const struct pl *rest)
{
	struct pl r = *rest, tok;
	uint32_t pt;

	if (!sdp_token_next(&r, &au->proto))
		return EINVAL;

	/* only RTP profiles carry payload types */
	if (au->proto.l < 4 || strncasecmp(au->proto.p, "RTP/", 4))
		return 0;

	while (sdp_token_next(&r, &tok)) {

		if (sdp_num(&pt, &tok, 127))
			return EINVAL;

		if (au->fmtc == SDP_FMT_MAX || fmt_find(au, pt))
			continue;

		au->fmtv[au->fmtc++].pt = (uint8_t)pt;
	}

	return 0;
}


/* "<pt> <name>/<clock>[/<channels>]" */
static int rtpmap_decode(struct sdpaudio *au, const struct pl *val)
{
	struct pl r = *val, tok, name, clock, ch;
	struct sdpfmt *f;
	uint32_t pt, v;

	if (!sdp_token_next(&r, &tok) || sdp_num(&pt, &tok, 127))
		return EINVAL;

	f = fmt_find(au, pt);
	if (!f)
		return 0;

	if (re_regex(r.p, r.l, "[^/]+/[0-9]+[/]*[0-9]*", &name, &clock,
		     NULL, &ch))
		return EINVAL;

	if (sdp_num(&v, &clock, 1000000) || !v)
		return EINVAL;
	f->clock = v;
	f->name = name;

	if (ch.l && (sdp_num(&v, &ch, 8) || !v))
		return EINVAL;
	f->channels = ch.l ? (uint8_t)v : 1;

	return 0;
}


/* "<pt> <parameters>" */
static int fmtp_decode(struct sdpaudio *au, const struct pl *val)
{
	struct pl r = *val, tok;
	struct sdpfmt *f;
	uint32_t pt;

	if (!sdp_token_next(&r, &tok) || sdp_num(&pt, &tok, 127))
		return EINVAL;

	f = fmt_find(au, pt);
	if (f)
		f->fmtp = r;

	return 0;
}


/**
 * Read one attribute line of the audio section
 *
 * @param au   Audio stream
 * @param line The line, "a=..."
 *
 * @return 0 if success (an attribute we do not use included), EINVAL if
 *         an rtpmap or fmtp line is malformed
 */
int sdpfmt_attr(struct sdpaudio *au, const struct pl *line)
{
	struct pl val;

	if (sdp_prefix(line, "a=rtpmap:", &val))
		return rtpmap_decode(au, &val);

	if (sdp_prefix(line, "a=fmtp:", &val))
		return fmtp_decode(au, &val);

	if (sdp_prefix(line, "a=crypto:", &val) &&
	    au->cryptoc < SDP_CRYPTO_MAX)
		au->cryptov[au->cryptoc++] = val;

	return 0;
}


static bool pt_kept(const struct sdpedit *e, const struct pl *val)
{
	struct pl r = *val, tok;
	uint32_t pt;

	if (!sdp_token_next(&r, &tok) || sdp_num(&pt, &tok, 127))
		return false;

	return (e->keep[pt / 8] >> (pt % 8)) & 1;
}


/**
 * Does an attribute line of the audio section stay in the rewrite?
 *
 * @param e    Edit, or NULL (everything stays)
 * @param line The line
 *
 * @return True if it stays
 */
bool sdpfmt_keep(const struct sdpedit *e, const struct pl *line)
{
	struct pl val;

	if (!e)
		return true;

	if (sdp_prefix(line, "a=crypto:", &val))
		return !e->drop_crypto;

	if (!e->fmts)
		return true;

	if (sdp_prefix(line, "a=rtpmap:", &val) ||
	    sdp_prefix(line, "a=fmtp:", &val))
		return pt_kept(e, &val);

	return true;
}


/**
 * Mark a payload type whose rtpmap and fmtp lines stay
 *
 * @param e  Edit
 * @param pt Payload type
 */
void sdpedit_keep(struct sdpedit *e, uint8_t pt)
{
	if (e && pt < 128)
		e->keep[pt / 8] |= (uint8_t)(1u << (pt % 8));
}
