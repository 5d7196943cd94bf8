/**
 * @file negotiate.c  Codec choice across a bridge: what to offer, how
 *                    to answer, and whether to transcode
 *
 * The relay sits between two offer/answer exchanges (RFC 3264). An
 * offer from one party goes on to the other with every format the
 * offerer listed (so a common codec takes the fast path, untouched)
 * plus each codec the relay can reach from one of the offerer's by
 * transcoding. The answer decides: the answerer's first format, if the
 * offerer listed it, means relaying as is; if it is one the relay added,
 * the relay transcodes between it and the offerer's first decodable
 * codec, and answers the offerer with that codec alone.
 *
 * SRTP keys are end to end until the relay terminates SRTP: an offer
 * carrying a=crypto goes on as it is, without added codecs.
 *
 * Control thread only.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "relay.h"
#include "codec.h"


/* the codecs the relay adds to an offer, cheapest first */
static const enum codec_id addv[] = {
	CODEC_PCMU, CODEC_PCMA, CODEC_G722, CODEC_OPUS
};


static bool is_dtmf(const struct sdpfmt *f)
{
	return !pl_strcasecmp(&f->name, "telephone-event");
}


/* the codec a format names: by rtpmap, else by static payload type */
static int fmt_codec(const struct sdpfmt *f)
{
	const struct codec_info *ci;
	int i;

	if (f->name.l) {
		ci = codec_find(&f->name, f->clock);
		return ci ? (int)ci->id : -1;
	}

	for (i = 0; i < CODEC_COUNT; i++) {
		ci = codec_info(i);
		if (ci->pt < 96 && ci->pt == f->pt)
			return i;
	}

	return -1;
}


static void fmts_keep(struct legneg *neg, const struct sdpaudio *au)
{
	unsigned i;

	neg->fmtc = 0;
	for (i = 0; i < au->fmtc; i++) {
		struct legfmt *lf = &neg->fmtv[neg->fmtc++];

		lf->pt = au->fmtv[i].pt;
		lf->codec = fmt_codec(&au->fmtv[i]);
		lf->dtmf = is_dtmf(&au->fmtv[i]);
	}
}


static const struct legfmt *neg_find(const struct legfmt *v, unsigned n,
				     uint8_t pt)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (v[i].pt == pt)
			return &v[i];
	}

	return NULL;
}


static bool codec_listed(const struct legneg *neg, int codec)
{
	unsigned i;

	for (i = 0; i < neg->fmtc; i++) {
		if (neg->fmtv[i].codec == codec)
			return true;
	}

	return false;
}


static bool decodable(const struct legneg *neg)
{
	unsigned i;

	for (i = 0; i < neg->fmtc; i++) {
		if (neg->fmtv[i].codec >= 0)
			return true;
	}

	return false;
}


/* a payload type for an added codec: its static one, or a free one */
static int free_pt(const struct legneg *offerer, const struct legneg *to,
		   const struct codec_info *ci)
{
	uint8_t pt;

	if (ci->pt < 96)
		return neg_find(offerer->fmtv, offerer->fmtc, ci->pt) ?
			-1 : ci->pt;

	for (pt = ci->pt; pt <= 127; pt = pt == 127 ? 96 : pt + 1) {
		if (!neg_find(offerer->fmtv, offerer->fmtc, pt) &&
		    !neg_find(to->addv, to->addc, pt))
			return pt;
		if (pt == ci->pt - 1)
			break;
	}

	return -1;
}


static int rtpmap_print(struct mbuf *mb, const struct codec_info *ci,
			uint8_t pt)
{
	int err;

	err = mbuf_printf(mb, "a=rtpmap:%u %s/%u", pt, ci->name, ci->clock);
	if (!err && ci->channels > 1)
		err = mbuf_printf(mb, "/%u", ci->channels);
	err = err ? err : mbuf_write_u8(mb, '\n');
	if (!err && ci->fmtp)
		err = mbuf_printf(mb, "a=fmtp:%u %s\n", pt, ci->fmtp);

	return err;
}


/**
 * Note an offer and say how it goes on to the other party
 *
 * @param from  Leg facing the offerer
 * @param to    Leg facing the answerer
 * @param au    The offer's audio stream
 * @param e     Edit for the offer sent on (points into buf)
 * @param fmts  Buffer for the new format list
 * @param attrs Buffer for the lines added
 *
 * @return 0 if success, otherwise errorcode
 */
int negotiate_offer(struct leg *from, struct leg *to,
		    const struct sdpaudio *au, struct sdpedit *e,
		    struct mbuf *fmts, struct mbuf *attrs)
{
	struct legneg *on = &from->neg, *tn = &to->neg;
	unsigned i;
	int err = 0;

	if (!from || !to || !au || !e || !fmts || !attrs)
		return EINVAL;

	memset(e, 0, sizeof(*e));
	fmts_keep(on, au);
	tn->addc = 0;
	on->keys = au->cryptoc > 0;

	if (on->keys || !decodable(on))
		return 0;

	for (i = 0; i < au->fmtc && !err; i++) {
		err = mbuf_printf(fmts, "%s%u", i ? " " : "",
				  au->fmtv[i].pt);
		sdpedit_keep(e, au->fmtv[i].pt);
	}

	for (i = 0; i < ARRAY_SIZE(addv) && !err; i++) {
		const struct codec_info *ci = codec_info(addv[i]);
		struct legfmt *lf;
		int pt;

		if (codec_listed(on, addv[i]))
			continue;

		pt = free_pt(on, tn, ci);
		if (pt < 0)
			continue;

		lf = &tn->addv[tn->addc++];
		lf->pt = (uint8_t)pt;
		lf->codec = addv[i];
		lf->dtmf = false;

		err = mbuf_printf(fmts, " %u", pt);
		err = err ? err : rtpmap_print(attrs, ci, (uint8_t)pt);
	}

	err = err ? err : mbuf_write_u8(fmts, 0);
	err = err ? err : mbuf_write_u8(attrs, 0);
	if (err)
		return err;

	e->fmts = (const char *)fmts->buf;
	e->attrs = (const char *)attrs->buf;

	return 0;
}


/* the answer's first format that is not telephone-event */
static const struct sdpfmt *first_codec(const struct sdpaudio *au)
{
	unsigned i;

	for (i = 0; i < au->fmtc; i++) {
		if (!is_dtmf(&au->fmtv[i]))
			return &au->fmtv[i];
	}

	return NULL;
}


/* the offerer's preferred codec the relay can decode */
static const struct legfmt *first_decodable(const struct legneg *neg)
{
	unsigned i;

	for (i = 0; i < neg->fmtc; i++) {
		if (neg->fmtv[i].codec >= 0 && !neg->fmtv[i].dtmf)
			return &neg->fmtv[i];
	}

	return NULL;
}


/**
 * Take an answer: choose relaying or transcoding, and say how the
 * answer goes back to the offerer
 *
 * @param from  Leg facing the answerer
 * @param to    Leg facing the offerer
 * @param au    The answer's audio stream
 * @param port  The answer's audio port (0: stream rejected)
 * @param e     Edit for the answer sent back (points into the buffers)
 * @param xc    Result: the transcoding to set up, or codec -1 for none
 * @param fmts  Buffer for the new format list
 * @param attrs Buffer for the lines added
 *
 * @return 0 if success, ENOTSUP if the answer picks a format nobody
 *         offered
 */
int negotiate_answer(struct leg *from, struct leg *to,
		     const struct sdpaudio *au, uint16_t port,
		     struct sdpedit *e, struct xcode_cfg *xc,
		     struct mbuf *fmts, struct mbuf *attrs)
{
	const struct legneg *on = &to->neg, *an = &from->neg;
	const struct legfmt *mine, *theirs;
	const struct sdpfmt *f;
	unsigned i, n = 0;
	int err = 0;

	if (!from || !to || !au || !e || !xc || !fmts || !attrs)
		return EINVAL;

	memset(e, 0, sizeof(*e));
	xc->codec_offerer = xc->codec_answerer = -1;

	f = first_codec(au);
	if (!port || !f || on->keys)
		return 0;

	if (neg_find(on->fmtv, on->fmtc, f->pt)) {
		/* relayed as is: the offerer hears only what it offered */
		for (i = 0; i < au->fmtc && !err; i++) {
			if (!neg_find(on->fmtv, on->fmtc, au->fmtv[i].pt))
				continue;
			err = mbuf_printf(fmts, "%s%u", n++ ? " " : "",
					  au->fmtv[i].pt);
			sdpedit_keep(e, au->fmtv[i].pt);
		}
	}
	else {
		theirs = neg_find(an->addv, an->addc, f->pt);
		mine = first_decodable(on);
		if (!theirs || !mine)
			return ENOTSUP;

		xc->codec_answerer = theirs->codec;
		xc->pt_answerer = theirs->pt;
		xc->codec_offerer = mine->codec;
		xc->pt_offerer = mine->pt;

		err = mbuf_printf(fmts, "%u", mine->pt);
		err = err ? err : rtpmap_print(attrs, codec_info(mine->codec),
					       mine->pt);
	}

	err = err ? err : mbuf_write_u8(fmts, 0);
	err = err ? err : mbuf_write_u8(attrs, 0);
	if (err)
		return err;

	e->fmts = (const char *)fmts->buf;
	e->attrs = (const char *)attrs->buf;

	return 0;
}
