/**
 * @file sdes_suite.c  The SDES crypto suites the relay speaks, and
 *                     libsrtp2's start and stop
 *
 * One table: each suite's SDP name, libsrtp2 policies for SRTP and
 * SRTCP, master key + salt length and what protect adds. libsrtp2 is
 * started by the first sdes_init and stopped by the last sdes_close;
 * each srtp_pair holds one, so libsrtp2 outlives every session. A
 * suite counts as supported when libsrtp2 makes a session with it
 * (GCM needs libsrtp2 built with OpenSSL or NSS).
 *
 * Control thread only; the getters read what only sdes_init writes.
 */
#include <string.h>
#include <srtp2/srtp.h>
#include <re.h>
#include "sdes.h"

#define DEBUG_MODULE "srtp"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


typedef void (policy_set_h)(srtp_crypto_policy_t *p);

/** What the relay knows of a suite */
struct suite {
	const char *name;         /**< In the SDP                     */
	policy_set_h *rtp;        /**< libsrtp2 policy for SRTP       */
	policy_set_h *rtcp;       /**< ... and for SRTCP              */
	uint8_t keylen;           /**< Master key + salt, bytes       */
	uint8_t rtp_trailer;      /**< SRTP adds: the tag             */
	uint8_t rtcp_trailer;     /**< SRTCP adds: E+index, tag       */
};

/* the _32 suite keeps the 80-bit tag for SRTCP (RFC 4568 6.2.2);
 * GCM: 16-byte key, 12-byte salt, 16-byte tag (RFC 7714 14.2).
 * libsrtp2's ..._aes_cm_128_hmac_sha1_80 is a macro for rtp_default */
static const struct suite suitev[SDES_SUITE_COUNT] = {
	[SDES_AES_CM_80] = {"AES_CM_128_HMAC_SHA1_80",
		srtp_crypto_policy_set_rtp_default,
		srtp_crypto_policy_set_rtp_default, 30, 10, 14},
	[SDES_AES_CM_32] = {"AES_CM_128_HMAC_SHA1_32",
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
		srtp_crypto_policy_set_rtp_default, 30, 4, 14},
	[SDES_AEAD_GCM_128] = {"AEAD_AES_128_GCM",
		srtp_crypto_policy_set_aes_gcm_128_16_auth,
		srtp_crypto_policy_set_aes_gcm_128_16_auth, 28, 16, 20},
};

static unsigned users;                      /* sdes_init calls held  */
static bool supportedv[SDES_SUITE_COUNT];   /* by this libsrtp2 build */


static bool probe(enum sdes_suite suite)
{
	uint8_t key[SDES_KEY_MAX] = {0};
	srtp_policy_t p;
	srtp_t s = NULL;
	bool ok;

	memset(&p, 0, sizeof(p));
	sdes_policy(&p.rtp, &p.rtcp, suite);
	p.ssrc.type = ssrc_any_outbound;
	p.key = key;

	ok = srtp_create(&s, &p) == srtp_err_status_ok;
	if (s)
		(void)srtp_dealloc(s);

	return ok;
}


/**
 * Start libsrtp2 and find the suites it supports; each call needs a
 * sdes_close
 *
 * @return 0 if success, otherwise errorcode
 */
int sdes_init(void)
{
	srtp_err_status_t e;
	int i;

	if (users++)
		return 0;

	e = srtp_init();
	if (e != srtp_err_status_ok) {
		DEBUG_WARNING("srtp_init: libsrtp2 error %d\n", e);
		users = 0;
		return ENOSYS;
	}

	for (i = 0; i < SDES_SUITE_COUNT; i++) {
		supportedv[i] = probe((enum sdes_suite)i);
		if (!supportedv[i])
			DEBUG_INFO("%s: not in %s\n", suitev[i].name,
				   srtp_get_version_string());
	}

	return 0;
}


/**
 * Let go of libsrtp2; the last call stops it
 */
void sdes_close(void)
{
	if (!users || --users)
		return;

	memset(supportedv, 0, sizeof(supportedv));
	(void)srtp_shutdown();
}


/**
 * Tell whether this libsrtp2 does a suite (known after sdes_init)
 *
 * @param suite Suite
 *
 * @return true if it does
 */
bool sdes_suite_supported(enum sdes_suite suite)
{
	return (unsigned)suite < SDES_SUITE_COUNT && supportedv[suite];
}


/**
 * Name a suite
 *
 * @param suite Suite
 *
 * @return Its name in SDP, NULL if unknown
 */
const char *sdes_suite_name(enum sdes_suite suite)
{
	return (unsigned)suite < SDES_SUITE_COUNT ? suitev[suite].name : NULL;
}


/**
 * Say how long a suite's master key + salt is
 *
 * @param suite Suite
 *
 * @return Bytes, 0 if the suite is unknown
 */
size_t sdes_keylen(enum sdes_suite suite)
{
	return (unsigned)suite < SDES_SUITE_COUNT ? suitev[suite].keylen : 0;
}


/**
 * Say how much protecting a packet adds to it, without MKI
 *
 * @param suite Suite
 * @param rtcp  SRTCP (else SRTP)
 *
 * @return Bytes, 0 if the suite is unknown
 */
size_t sdes_trailer(enum sdes_suite suite, bool rtcp)
{
	if ((unsigned)suite >= SDES_SUITE_COUNT)
		return 0;

	return rtcp ? suitev[suite].rtcp_trailer : suitev[suite].rtp_trailer;
}


/**
 * Set the libsrtp2 crypto policies of a suite
 *
 * @param rtp   SRTP policy
 * @param rtcp  SRTCP policy
 * @param suite A known suite
 */
void sdes_policy(struct srtp_crypto_policy_t *rtp,
		 struct srtp_crypto_policy_t *rtcp, enum sdes_suite suite)
{
	if (!rtp || !rtcp || (unsigned)suite >= SDES_SUITE_COUNT)
		return;

	suitev[suite].rtp(rtp);
	suitev[suite].rtcp(rtcp);
}
