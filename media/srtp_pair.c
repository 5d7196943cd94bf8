/**
 * @file srtp_pair.c  The SRTP contexts of one leg: what its party sends
 *                    (unprotected with its key), what we send it
 *                    (protected with ours)
 *
 * Two libsrtp2 sessions, so receiving and sending share nothing. A pair
 * is made on the control thread and used by the call's packet thread.
 */
#include <string.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <re.h>
#include "sdes.h"

#define DEBUG_MODULE "srtp"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	REPLAY_WINDOW = 128,
};

/** SRTP contexts of a leg */
struct srtp_pair {
	srtp_t rx;                /**< Unprotect what the party sends */
	srtp_t tx;                /**< Protect what we send it        */
};

static bool inited;


/**
 * Start libsrtp2 (once, before any pair is made)
 *
 * @return 0 if success, otherwise errorcode
 */
int sdes_init(void)
{
	srtp_err_status_t e;

	if (inited)
		return 0;

	e = srtp_init();
	if (e != srtp_err_status_ok) {
		DEBUG_WARNING("srtp_init: error %d\n", e);
		return ENOSYS;
	}

	inited = true;

	return 0;
}


/**
 * Stop libsrtp2 (no pair may be left)
 */
void sdes_close(void)
{
	if (inited)
		(void)srtp_shutdown();

	inited = false;
}


static void destructor(void *arg)
{
	struct srtp_pair *sp = arg;

	if (sp->rx)
		(void)srtp_dealloc(sp->rx);
	if (sp->tx)
		(void)srtp_dealloc(sp->tx);
}


static void policy_set(srtp_crypto_policy_t *p, enum sdes_suite suite)
{
	switch (suite) {

	case SDES_AES_CM_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(p);
		break;

	case SDES_AEAD_GCM_128:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(p);
		break;

	default:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
		break;
	}
}


static int session(srtp_t *s, const struct sdes_key *k, bool inbound)
{
	uint8_t key[SDES_KEY_MAX];
	srtp_policy_t p;

	memset(&p, 0, sizeof(p));
	policy_set(&p.rtp, k->suite);
	policy_set(&p.rtcp, k->suite);

	/* RTCP of the _32 suite keeps the 80-bit tag (RFC 4568 6.2) */
	if (k->suite == SDES_AES_CM_32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);

	memcpy(key, k->key, k->keylen);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = key;
	p.window_size = REPLAY_WINDOW;

	return srtp_create(s, &p) == srtp_err_status_ok ? 0 : ENOTSUP;
}


/**
 * Make the contexts of a leg
 *
 * @param spp Returned pair
 * @param rx  The party's key (what it sends), NULL: it sends plain RTP
 * @param tx  Our key (what we send it), NULL: we send plain RTP
 *
 * @return 0 if success, otherwise errorcode
 */
int srtp_pair_alloc(struct srtp_pair **spp, const struct sdes_key *rx,
		    const struct sdes_key *tx)
{
	struct srtp_pair *sp;
	int err = 0;

	if (!spp || !inited)
		return EINVAL;

	sp = mem_zalloc(sizeof(*sp), destructor);
	if (!sp)
		return ENOMEM;

	if (rx)
		err = session(&sp->rx, rx, true);
	if (!err && tx)
		err = session(&sp->tx, tx, false);

	if (err)
		mem_deref(sp);
	else
		*spp = sp;

	return err;
}


/**
 * Unprotect a packet the party sent, in place (packet thread)
 *
 * @param sp   Pair
 * @param rtcp RTCP (else RTP)
 * @param pkt  Packet
 * @param len  Its length, made shorter
 *
 * @return 0 if success (or the party sends plain), EBADMSG if it fails
 *         authentication or replays
 */
int srtp_pair_unprotect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
			size_t *len)
{
	int n = (int)*len;
	srtp_err_status_t e;

	if (!sp->rx)
		return 0;

	e = rtcp ? srtp_unprotect_rtcp(sp->rx, pkt, &n) :
		srtp_unprotect(sp->rx, pkt, &n);
	if (e != srtp_err_status_ok)
		return EBADMSG;

	*len = (size_t)n;

	return 0;
}


/**
 * Protect a packet for the party, in place (packet thread)
 *
 * @param sp   Pair
 * @param rtcp RTCP (else RTP)
 * @param pkt  Packet
 * @param len  Its length, made longer
 * @param cap  Room in pkt (at least len + SDES_OVERHEAD)
 *
 * @return 0 if success (or the party takes plain), otherwise errorcode
 */
int srtp_pair_protect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
		      size_t *len, size_t cap)
{
	int n = (int)*len;
	srtp_err_status_t e;

	if (!sp->tx)
		return 0;

	if (*len + SDES_OVERHEAD > cap)
		return ENOBUFS;

	e = rtcp ? srtp_protect_rtcp(sp->tx, pkt, &n) :
		srtp_protect(sp->tx, pkt, &n);
	if (e != srtp_err_status_ok)
		return EBADMSG;

	*len = (size_t)n;

	return 0;
}
