/**
 * @file srtp_pair.c  The SRTP sessions of one leg: what its party sends
 *                    (unprotected with its key) and what we send it
 *                    (protected with ours)
 *
 * Two libsrtp2 sessions, so that receiving and sending share nothing;
 * either may be absent (that direction is plain RTP). The receiving
 * one takes any SSRC the party sends (ssrc_any_inbound); the sending
 * one any SSRC we relay to it (ssrc_any_outbound), which is the far
 * party's, since relayed packets keep theirs.
 *
 * A pair is made and freed on the control thread; protect and
 * unprotect run on one packet thread at a time. They allocate nothing
 * of re's, but libsrtp2 callocs a stream the first time it sees an SSRC
 * (after authenticating it, inbound). Packets must be 32-bit aligned.
 */
#include <string.h>
#include <srtp2/srtp.h>
#include <re.h>
#include "sdes.h"

#define DEBUG_MODULE "srtp"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	REPLAY_WINDOW = 128,      /**< Packets; libsrtp2 wants >= 64  */
	RTP_MIN       = 12,       /**< RTP fixed header               */
	RTCP_MIN      = 8,        /**< RTCP header and sender SSRC    */
	PKT_MAX       = 65535,    /**< Largest UDP payload            */
};

/** The SRTP sessions of a leg */
struct srtp_pair {
	srtp_t rx;                /**< Unprotect what the party sends */
	srtp_t tx;                /**< Protect what we send it        */
	bool rx_mki;              /**< The party's packets carry MKI  */
	bool tx_mki;              /**< Ours do                        */
	size_t rtp_room;          /**< SRTP protect adds this         */
	size_t rtcp_room;         /**< SRTCP protect adds this        */
};


static void destructor(void *arg)
{
	struct srtp_pair *sp = arg;

	if (sp->rx)
		(void)srtp_dealloc(sp->rx);
	if (sp->tx)
		(void)srtp_dealloc(sp->tx);

	sdes_close();
}


static int session(srtp_t *s, const struct sdes_key *k, bool inbound)
{
	uint8_t key[SDES_KEY_MAX], mki[SDES_MKI_MAX];
	srtp_master_key_t mk, *mkv[1] = {&mk};
	srtp_err_status_t e;
	srtp_policy_t p;

	if ((unsigned)k->suite >= SDES_SUITE_COUNT || !k->keylen ||
	    k->keylen > sizeof(key) || k->mkilen > sizeof(mki))
		return EINVAL;

	memset(&p, 0, sizeof(p));
	sdes_policy(&p.rtp, &p.rtcp, k->suite);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.window_size = REPLAY_WINDOW;

	/* libsrtp2 takes non-const keys; it copies them */
	memcpy(key, k->key, k->keylen);
	if (k->mkilen) {
		memcpy(mki, k->mki, k->mkilen);
		mk.key = key;
		mk.mki_id = mki;
		mk.mki_size = k->mkilen;
		p.keys = mkv;
		p.num_master_keys = 1;
	}
	else {
		p.key = key;
	}

	e = srtp_create(s, &p);
	if (e != srtp_err_status_ok) {
		DEBUG_WARNING("%s: srtp_create: libsrtp2 error %d\n",
			      sdes_suite_name(k->suite), e);
		*s = NULL;
		return ENOTSUP;
	}

	return 0;
}


/**
 * Make the sessions of a leg (takes an sdes_init reference)
 *
 * @param spp Returned pair
 * @param rx  The party's key (what it sends), NULL: it sends plain RTP
 * @param tx  Our key (what we send it), NULL: we send it plain RTP
 *
 * @return 0 if success, ENOTSUP if libsrtp2 refuses a key, otherwise
 *         errorcode
 */
int srtp_pair_alloc(struct srtp_pair **spp, const struct sdes_key *rx,
		    const struct sdes_key *tx)
{
	struct srtp_pair *sp;
	int err;

	if (!spp || (!rx && !tx))
		return EINVAL;

	err = sdes_init();
	if (err)
		return err;

	sp = mem_zalloc(sizeof(*sp), destructor);
	if (!sp) {
		sdes_close();
		return ENOMEM;
	}

	if (rx) {
		err = session(&sp->rx, rx, true);
		if (err)
			goto out;
		sp->rx_mki = rx->mkilen > 0;
	}

	if (tx) {
		err = session(&sp->tx, tx, false);
		if (err)
			goto out;
		sp->tx_mki = tx->mkilen > 0;
		sp->rtp_room = sdes_trailer(tx->suite, false) + tx->mkilen;
		sp->rtcp_room = sdes_trailer(tx->suite, true) + tx->mkilen;
	}

 out:
	if (err)
		mem_deref(sp);
	else
		*spp = sp;

	return err;
}


static int status_err(srtp_err_status_t e)
{
	switch (e) {

	case srtp_err_status_ok:
		return 0;

	case srtp_err_status_auth_fail:
		return EAUTH;

	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return EALREADY;

	default:
		return EBADMSG;
	}
}


/**
 * Unprotect a packet the party sent, in place (packet thread)
 *
 * @param sp   Pair, NULL: the party sends plain RTP
 * @param rtcp SRTCP (else SRTP)
 * @param pkt  Packet, 32-bit aligned
 * @param len  Its length, made shorter
 *
 * @return 0 if success or plain, EAUTH if it fails authentication,
 *         EALREADY if it is a replay, EBADMSG if malformed
 */
int srtp_pair_unprotect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
			size_t *len)
{
	srtp_err_status_t e;
	int n;

	if (!sp || !sp->rx)
		return 0;

	if (!pkt || !len)
		return EINVAL;

	if (*len < (rtcp ? RTCP_MIN : RTP_MIN) || *len > PKT_MAX)
		return EBADMSG;

	n = (int)*len;
	e = rtcp ? srtp_unprotect_rtcp_mki(sp->rx, pkt, &n, sp->rx_mki) :
		srtp_unprotect_mki(sp->rx, pkt, &n, sp->rx_mki);
	if (e != srtp_err_status_ok)
		return status_err(e);

	*len = (size_t)n;

	return 0;
}


/**
 * Protect a packet for the party, in place (packet thread)
 *
 * @param sp   Pair, NULL: the party takes plain RTP
 * @param rtcp SRTCP (else SRTP)
 * @param pkt  Packet, 32-bit aligned
 * @param len  Its length, made longer
 * @param cap  Room in pkt: len + SDES_OVERHEAD (+ MKI) is enough
 *
 * @return 0 if success or plain, ENOBUFS if cap is too small,
 *         EALREADY if the packet repeats an index already sent, EBADMSG
 *         if malformed
 */
int srtp_pair_protect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
		      size_t *len, size_t cap)
{
	srtp_err_status_t e;
	int n;

	if (!sp || !sp->tx)
		return 0;

	if (!pkt || !len)
		return EINVAL;

	if (*len < (rtcp ? RTCP_MIN : RTP_MIN) || *len > PKT_MAX)
		return EBADMSG;

	/* libsrtp2 writes the trailer without knowing the buffer */
	if (cap < *len + (rtcp ? sp->rtcp_room : sp->rtp_room))
		return ENOBUFS;

	n = (int)*len;
	e = rtcp ? srtp_protect_rtcp_mki(sp->tx, pkt, &n, sp->tx_mki, 0) :
		srtp_protect_mki(sp->tx, pkt, &n, sp->tx_mki, 0);
	if (e != srtp_err_status_ok)
		return status_err(e);

	*len = (size_t)n;

	return 0;
}
