/**
 * @file session.c  An offer or answer through the relay: read it,
 *                  choose codecs, write what goes on, set up the legs
 *
 * Control thread only.
 */
#include <string.h>
#include <re.h>
#include "relay.h"


/** Buffers of one rewrite */
struct rewrite {
	struct sdpaudio au;       /**< What the description says      */
	struct sdpedit e;         /**< Changes                        */
	struct mbuf *fmts;        /**< New format list                */
	struct mbuf *attrs;       /**< Lines added                    */
};


static void rewrite_close(struct rewrite *rw)
{
	rw->fmts = mem_deref(rw->fmts);
	rw->attrs = mem_deref(rw->attrs);
}


/* how a transcoding leg's path translates digits for its peer, as the
 * last offer and answer left the parties' telephone-events; a clock
 * the relay cannot send events at only leaves them untranslated */
static void dtmf_translate(struct leg *leg, const struct leg *peer)
{
	pthread_mutex_lock(&leg->mtx);
	if (leg->path)
		(void)path_dtmf(leg->path, leg->neg.te ? leg->neg.te_clock : 0,
				peer->neg.te ? peer->neg.te_pt : -1,
				peer->neg.te_clock);
	pthread_mutex_unlock(&leg->mtx);
}


static int rewrite_open(struct rewrite *rw, const char *sdp)
{
	int err;

	memset(rw, 0, sizeof(*rw));

	err = sdptext_audio(&rw->au, sdp, strlen(sdp));
	if (err)
		return err;

	rw->fmts = mbuf_alloc(128);
	rw->attrs = mbuf_alloc(256);

	return rw->fmts && rw->attrs ? 0 : ENOMEM;
}


/**
 * An offer from one leg's party: the description for the other's
 *
 * @param from Leg facing the offerer
 * @param to   Leg facing the answerer
 * @param sdp  The offer
 * @param mode SRTP toward the answerer
 * @param out  The offer to send on, with to's address
 *
 * @return 0 if success, ENOTSUP if it demands SRTP the relay cannot do,
 *         otherwise errorcode
 */
int session_offer(struct leg *from, struct leg *to, const char *sdp,
		  enum srtp_mode mode, struct mbuf *out)
{
	struct rewrite rw;
	int err;

	if (!from || !to || !sdp || !out)
		return EINVAL;

	err = rewrite_open(&rw, sdp);
	err = err ? err : negotiate_offer(from, to, &rw.au, mode, &rw.e,
					  rw.fmts, rw.attrs);
	err = err ? err : sdptext_rewrite(out, sdp, strlen(sdp),
					  &to->rtp.local, &to->rtcp.local,
					  &rw.e);

	/* the offerer may send with its (new) key before the answer */
	err = err ? err : leg_keys(from, to);

	rewrite_close(&rw);

	return err;
}


/**
 * An answer from one leg's party: the description for the offerer's,
 * and the legs relaying or transcoding as the answer chose (with digits
 * translated where only one party uses telephone-events)
 *
 * @param from Leg facing the answerer
 * @param to   Leg facing the offerer
 * @param sdp  The answer
 * @param port Its audio port (0: the stream is rejected)
 * @param out  The answer to send back, with to's address
 *
 * @return 0 if success, ENOTSUP if the answer picks a format nobody
 *         offered, otherwise errorcode
 */
int session_answer(struct leg *from, struct leg *to, const char *sdp,
		   uint16_t port, struct mbuf *out)
{
	struct xcode_cfg xc;
	struct rewrite rw;
	int err;

	if (!from || !to || !sdp || !out)
		return EINVAL;

	err = rewrite_open(&rw, sdp);
	err = err ? err : negotiate_answer(from, to, &rw.au, port, &rw.e,
					   &xc, rw.fmts, rw.attrs);
	err = err ? err : sdptext_rewrite(out, sdp, strlen(sdp),
					  &to->rtp.local, &to->rtcp.local,
					  &rw.e);
	err = err ? err : leg_keys(from, to);
	err = err ? err : leg_keys(to, from);
	err = err ? err : leg_media(to, from, &xc);
	if (!err) {
		dtmf_translate(to, from);
		dtmf_translate(from, to);
	}

	rewrite_close(&rw);

	return err;
}
