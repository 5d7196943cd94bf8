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
 * Digits: an offerer's telephone-event stays in the answer it gets
 * whenever the legs transcode: its events cross when the answerer
 * takes them too at the same clock, else the relay plays them to the
 * answerer as tones and sends the answerer's in-band keys to it as
 * events (path.c). A call that could be relayed as is but where only
 * the offerer uses events is transcoded, codec to itself, for that
 * translation: relayed, the answerer would never hear the offerer's
 * keys (nor would the core hear the answerer's: in-band digits are
 * only found on decoded audio). Decoding and encoding G.711 costs
 * next to nothing; a jitter buffer's delay is the price. (Only the
 * offerer can be the one with events: an answer may not add them.)
 *
 * SRTP (SDES) ends at the relay, leg by leg: a party's keys never go to
 * the other party. Each leg gets the relay's own keys: in an offer, one
 * per suite, as RTP/SAVP (required) or best effort in RTP/AVP
 * (optional), as the core asks or as the offerer did; in an answer, the
 * suite and tag of the first offered key the relay supports.
 *
 * Control thread only.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "sdes.h"


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
	const struct codec_info *ci = f->name.l ?
		codec_find(&f->name, f->clock) : codec_find_pt(f->pt);

	return ci ? (int)ci->id : -1;
}


/* the telephone-event type a party sends with, if any, and the clock
 * of its first codec (for jitter) */
static void te_keep(struct legneg *neg, const struct sdpaudio *au)
{
	unsigned i;

	neg->te = false;
	neg->clock = 0;
	for (i = 0; i < au->fmtc; i++) {
		if (is_dtmf(&au->fmtv[i]) && !neg->te) {
			neg->te = true;
			neg->te_pt = au->fmtv[i].pt;
			neg->te_clock = au->fmtv[i].clock;
		}
		else if (!is_dtmf(&au->fmtv[i]) && !neg->clock) {
			neg->clock = au->fmtv[i].clock ? au->fmtv[i].clock :
				8000;
		}
	}
}


static void fmtp_keep(struct legneg *neg, const struct sdpfmt *f)
{
	neg->fmtp[0] = '\0';
	if (f->fmtp.l)
		(void)pl_strcpy(&f->fmtp, neg->fmtp, sizeof(neg->fmtp));
}


static void fmts_keep(struct legneg *neg, const struct sdpaudio *au)
{
	bool fmtp = false;
	unsigned i;

	neg->fmtc = 0;
	neg->fmtp[0] = '\0';
	for (i = 0; i < au->fmtc; i++) {
		struct legfmt *lf = &neg->fmtv[neg->fmtc++];

		lf->pt = au->fmtv[i].pt;
		lf->codec = fmt_codec(&au->fmtv[i]);
		lf->dtmf = is_dtmf(&au->fmtv[i]);

		/* the codec a transcoding would use with this party */
		if (!fmtp && lf->codec >= 0 && !lf->dtmf) {
			fmtp_keep(neg, &au->fmtv[i]);
			fmtp = true;
		}
	}

	te_keep(neg, au);
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


/* a codec we transcode to, facing one of rate `partner` on the other
 * side: Opus says it plays and captures no wider band than that
 * (RFC 7587 maxplaybackrate, sprop-maxcapturerate), so that the
 * party's encoder spends no bits, and we no decoding, on audio the
 * other party cannot hear */
static int rtpmap_print(struct mbuf *mb, const struct codec_info *ci,
			uint8_t pt, uint32_t partner)
{
	int err;

	err = mbuf_printf(mb, "a=rtpmap:%u %s/%u", pt, ci->name, ci->clock);
	if (!err && ci->channels > 1)
		err = mbuf_printf(mb, "/%u", ci->channels);
	err = err ? err : mbuf_write_u8(mb, '\n');
	if (err || !ci->fmtp)
		return err;

	err = mbuf_printf(mb, "a=fmtp:%u %s", pt, ci->fmtp);
	if (!err && ci->id == CODEC_OPUS && partner < ci->srate)
		err = mbuf_printf(mb, ";maxplaybackrate=%u"
				  ";sprop-maxcapturerate=%u", partner, partner);

	return err ? err : mbuf_write_u8(mb, '\n');
}


/* the PCM rate of a codec of ours */
static uint32_t codec_srate_of(int codec)
{
	return codec_info((enum codec_id)codec)->srate;
}


/* the offerer's first key the relay supports; RTP/SAVP needs one */
static int keys_take(struct legneg *on, const struct sdpaudio *au)
{
	on->rkey_set = !sdes_choose(&on->rkey, au->cryptov, au->cryptoc);

	return on->savp && !on->rkey_set ? ENOTSUP : 0;
}


static int keys_offer(struct legneg *tn, enum srtp_mode mode,
		      struct mbuf *attrs)
{
	static const enum sdes_suite suites[SDES_OFFER_MAX] = {
		SDES_AES_CM_80, SDES_AES_CM_32
	};
	char val[SDES_ATTR_MAX];
	unsigned i;
	int err = 0;

	tn->offerc = 0;
	if (mode != SRTP_OPTIONAL && mode != SRTP_REQUIRED)
		return 0;

	/* a re-offer keeps the key in use: the core does not bring the
	 * answer to a re-INVITE back to the relay */
	if (tn->tkey_set) {
		tn->offerv[0] = tn->tkey;
		tn->offerc = 1;
		err = sdes_print(val, sizeof(val), &tn->tkey);
		return err ? err : mbuf_printf(attrs, "a=crypto:%s\n", val);
	}

	for (i = 0; i < SDES_OFFER_MAX && !err; i++) {
		err = sdes_make(&tn->offerv[i], i + 1, suites[i]);
		err = err ? err : sdes_print(val, sizeof(val),
					     &tn->offerv[i]);
		err = err ? err : mbuf_printf(attrs, "a=crypto:%s\n", val);
		tn->offerc = err ? i : i + 1;
	}

	return err;
}


static bool proto_is(const struct pl *proto, const char *name)
{
	return !pl_strcasecmp(proto, name);
}


/**
 * Note an offer and say how it goes on to the other party
 *
 * @param from  Leg facing the offerer
 * @param to    Leg facing the answerer
 * @param au    The offer's audio stream
 * @param mode  SRTP toward the answerer
 * @param e     Edit for the offer sent on (points into buf)
 * @param fmts  Buffer for the new format list
 * @param attrs Buffer for the lines added
 *
 * @return 0 if success, ENOTSUP if it demands SRTP with no key the
 *         relay supports, otherwise errorcode
 */
int negotiate_offer(struct leg *from, struct leg *to,
		    const struct sdpaudio *au, enum srtp_mode mode,
		    struct sdpedit *e, struct mbuf *fmts, struct mbuf *attrs)
{
	const struct legfmt *mine;
	struct legneg *on, *tn;
	unsigned i;
	int err;

	if (!from || !to || !au || !e || !fmts || !attrs)
		return EINVAL;

	on = &from->neg;
	tn = &to->neg;
	memset(e, 0, sizeof(*e));
	fmts_keep(on, au);
	tn->addc = 0;
	on->savp = proto_is(&au->proto, "RTP/SAVP");
	on->avp = proto_is(&au->proto, "RTP/AVP");

	/* a profile the relay does not speak (DTLS, AVPF) goes on as is */
	if (!on->savp && !on->avp)
		return 0;

	err = keys_take(on, au);
	if (err)
		return err;

	if (mode == SRTP_MIRROR)
		mode = on->savp ? SRTP_REQUIRED : on->rkey_set ?
			SRTP_OPTIONAL : SRTP_OFF;

	/* keys in use with the answerer stay, as does its profile */
	if (tn->used != SRTP_OFF)
		mode = tn->used;
	tn->offered = mode;

	for (i = 0; i < au->fmtc && !err; i++) {
		err = mbuf_printf(fmts, "%s%u", i ? " " : "",
				  au->fmtv[i].pt);
		sdpedit_keep(e, au->fmtv[i].pt);
	}

	/* what is added is transcoded from the offerer's first codec */
	mine = first_decodable(on);
	for (i = 0; i < ARRAY_SIZE(addv) && mine && !err; i++) {
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
		err = err ? err : rtpmap_print(attrs, ci, (uint8_t)pt,
					       codec_srate_of(mine->codec));
	}

	err = err ? err : keys_offer(tn, mode, attrs);
	err = err ? err : mbuf_write_u8(fmts, 0);
	err = err ? err : mbuf_write_u8(attrs, 0);
	if (err)
		return err;

	e->fmts = (const char *)fmts->buf;
	e->attrs = (const char *)attrs->buf;
	e->proto = mode == SRTP_REQUIRED ? "RTP/SAVP" : "RTP/AVP";
	e->drop_crypto = true;

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


/* only the offerer uses telephone-event and the answer's codec is one
 * it listed and the relay decodes: the offerer's format of it (the legs
 * transcode it to itself, to translate digits), else NULL */
static const struct legfmt *te_translated(const struct legneg *on,
					  const struct legneg *an,
					  const struct sdpfmt *f)
{
	const struct legfmt *lf = neg_find(on->fmtv, on->fmtc, f->pt);

	if (!on->te || an->te || !lf || lf->codec < 0 || lf->dtmf)
		return NULL;

	return lf;
}


/* the answerer's key answers one of ours, by tag */
static int keys_answered(struct legneg *an, const struct sdpaudio *au)
{
	unsigned i;

	an->rkey_set = an->tkey_set = false;
	an->used = SRTP_OFF;
	if (!au->cryptoc || !an->offerc)
		return 0;

	if (sdes_parse(&an->rkey, &au->cryptov[0]))
		return ENOTSUP;

	for (i = 0; i < an->offerc; i++) {
		if (an->offerv[i].tag == an->rkey.tag &&
		    an->offerv[i].suite == an->rkey.suite) {
			an->tkey = an->offerv[i];
			an->rkey_set = an->tkey_set = true;
			an->used = an->offered;
			return 0;
		}
	}

	return ENOTSUP;
}


/* our key for the offerer: its suite and tag, our key */
static int keys_answer(struct legneg *on, struct mbuf *attrs)
{
	char val[SDES_ATTR_MAX];
	int err;

	on->tkey_set = false;
	on->used = SRTP_OFF;
	if (!on->rkey_set)
		return 0;

	on->used = on->savp ? SRTP_REQUIRED : SRTP_OPTIONAL;
	err = sdes_make(&on->tkey, on->rkey.tag, on->rkey.suite);
	err = err ? err : sdes_print(val, sizeof(val), &on->tkey);
	err = err ? err : mbuf_printf(attrs, "a=crypto:%s\n", val);
	on->tkey_set = !err;

	return err;
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
 *              (then codec_relayed is the codec both parties take)
 * @param fmts  Buffer for the new format list
 * @param attrs Buffer for the lines added
 *
 * @return 0 if success, ENOTSUP if the answer picks a format or a key
 *         nobody offered
 */
int negotiate_answer(struct leg *from, struct leg *to,
		     const struct sdpaudio *au, uint16_t port,
		     struct sdpedit *e, struct xcode_cfg *xc,
		     struct mbuf *fmts, struct mbuf *attrs)
{
	const struct legfmt *mine, *theirs, *same;
	struct legneg *on, *an;
	const struct sdpfmt *f;
	unsigned i, n = 0;
	int err = 0;

	if (!from || !to || !au || !e || !xc || !fmts || !attrs)
		return EINVAL;

	on = &to->neg;
	an = &from->neg;
	memset(e, 0, sizeof(*e));
	memset(xc, 0, sizeof(*xc));
	xc->codec_offerer = xc->codec_answerer = xc->codec_relayed = -1;

	f = first_codec(au);
	if (!port || !f || (!on->savp && !on->avp))
		return 0;

	err = keys_answered(an, au);
	if (err)
		return err;

	te_keep(an, au);
	same = te_translated(on, an, f);

	if (!same && neg_find(on->fmtv, on->fmtc, f->pt)) {
		/* both parties take this codec: a player or recorder on
		 * either leg uses it */
		xc->codec_relayed = fmt_codec(f);
		xc->pt_relayed = f->pt;
		fmtp_keep(an, f);

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
		theirs = same ? same : neg_find(an->addv, an->addc, f->pt);
		mine = same ? same : first_decodable(on);
		if (!theirs || !mine)
			return ENOTSUP;

		xc->codec_answerer = theirs->codec;
		xc->pt_answerer = theirs->pt;
		fmtp_keep(an, f);
		xc->codec_offerer = mine->codec;
		xc->pt_offerer = mine->pt;

		/* the offerer's kept fmtp is its first codec's */
		if (same && same != first_decodable(on))
			fmtp_keep(on, f);

		/* events cross when both sides send them at one clock */
		xc->te = on->te && an->te && on->te_clock == an->te_clock;

		/* the offerer keeps its events: crossing or translated */
		err = mbuf_printf(fmts, "%u", mine->pt);
		err = err ? err : rtpmap_print(attrs, codec_info(mine->codec),
					       mine->pt,
					       codec_srate_of(theirs->codec));
		if (!err && on->te)
			err = mbuf_printf(fmts, " %u", on->te_pt);
		if (!err && on->te)
			err = mbuf_printf(attrs, "a=rtpmap:%u telephone-event"
					  "/%u\na=fmtp:%u 0-15\n", on->te_pt,
					  on->te_clock, on->te_pt);
	}

	err = err ? err : keys_answer(on, attrs);
	err = err ? err : mbuf_write_u8(fmts, 0);
	err = err ? err : mbuf_write_u8(attrs, 0);
	if (err)
		return err;

	e->fmts = (const char *)fmts->buf;
	e->attrs = (const char *)attrs->buf;
	e->proto = on->savp ? "RTP/SAVP" : "RTP/AVP";
	e->drop_crypto = true;

	return 0;
}
