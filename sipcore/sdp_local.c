/**
 * @file sdp_local.c  The engine's own answer, for a call an app answers
 *
 * The relay's leg facing the callee ("b") faces nobody when an app takes
 * the call: the engine answers the relay's offer for it itself, on the
 * hold address 0.0.0.0 (the relay sends nothing there), with the first
 * codec of the offer the relay has: the caller's own first one, when
 * the relay knows it (relayed as is, nothing to transcode). It takes
 * telephone-event when offered, so that the caller's keys come as
 * events.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/** A format of the offer */
struct fmt {
	struct pl pt;             /**< Payload type                   */
	struct pl name;           /**< Encoding name (rtpmap), or none */
	struct pl clock;          /**< Clock rate (rtpmap)            */
	struct pl rest;           /**< /channels, if any              */
};

enum { FMT_MAX = 32 };


/* the relay's codecs: by rtpmap name, or by static type without one */
static bool relay_has(const struct fmt *f)
{
	static const char * const namev[] = {"PCMU", "PCMA", "G722", "opus"};
	size_t i;

	if (!f->name.l)
		return !pl_strcmp(&f->pt, "0") || !pl_strcmp(&f->pt, "8") ||
			!pl_strcmp(&f->pt, "9");

	for (i = 0; i < ARRAY_SIZE(namev); i++) {
		if (!pl_strcasecmp(&f->name, namev[i]))
			return true;
	}

	return false;
}


static struct fmt *fmt_find(struct fmt *fv, size_t n, const struct pl *pt)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!pl_cmp(&fv[i].pt, pt))
			return &fv[i];
	}

	return NULL;
}


/* the formats of the offer's audio stream, with their rtpmap */
static size_t fmts_read(struct fmt *fv, const struct mbuf *offer)
{
	struct pl rest, line, list, pt, name, clock, chans;
	size_t n = 0;
	struct fmt *f;

	rest.p = (const char *)offer->buf;
	rest.l = offer->end;

	while (sdp_line_next(&rest, &line)) {
		if (!re_regex(line.p, line.l, "m=audio [0-9]+ [^ ]+ [0-9 ]+",
			      NULL, NULL, &list)) {
			while (n < FMT_MAX &&
			       !re_regex(list.p, list.l, "[0-9]+", &pt)) {
				memset(&fv[n], 0, sizeof(fv[n]));
				fv[n++].pt = pt;
				pl_advance(&list, (size_t)(pt.p + pt.l -
							   list.p));
			}
		}
		else if (!re_regex(line.p, line.l,
				   "a=rtpmap:[0-9]+ [^/]+/[0-9]+[/0-9]*", &pt,
				   &name, &clock, &chans) &&
			 (f = fmt_find(fv, n, &pt))) {
			f->name = name;
			f->clock = clock;
			f->rest = chans;
		}
	}

	return n;
}


/**
 * The engine's answer to the relay's offer, for a leg facing nobody
 *
 * @param answerp Returned answer
 * @param offer   The relay's offer
 *
 * @return 0 if success, ENOTSUP if it has no codec the relay has,
 *         otherwise errorcode
 */
int sdp_local_answer(struct mbuf **answerp, const struct mbuf *offer)
{
	struct fmt fv[FMT_MAX];
	const struct fmt *codec = NULL, *te = NULL;
	struct mbuf *mb;
	size_t i, n;
	int err;

	if (!answerp || !offer)
		return EINVAL;

	n = fmts_read(fv, offer);
	for (i = 0; i < n; i++) {
		if (!codec && relay_has(&fv[i]))
			codec = &fv[i];
		else if (!te && !pl_strcasecmp(&fv[i].name,
					       "telephone-event"))
			te = &fv[i];
	}

	if (!codec)
		return ENOTSUP;

	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"
			  "c=IN IP4 0.0.0.0\r\nt=0 0\r\n"
			  "m=audio 9 RTP/AVP %r", &codec->pt);
	if (!err && te)
		err = mbuf_printf(mb, " %r", &te->pt);
	err = err ? err : mbuf_write_str(mb, "\r\n");
	if (!err && codec->name.l)
		err = mbuf_printf(mb, "a=rtpmap:%r %r/%r%r\r\n", &codec->pt,
				  &codec->name, &codec->clock, &codec->rest);
	if (!err && te)
		err = mbuf_printf(mb, "a=rtpmap:%r %r/%r\r\n"
				  "a=fmtp:%r 0-15\r\n", &te->pt, &te->name,
				  &te->clock, &te->pt);
	err = err ? err : mbuf_write_str(mb, "a=sendrecv\r\n");

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*answerp = mb;

	return 0;
}
