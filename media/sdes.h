/**
 * @file sdes.h  SRTP keyed in the SDP (SDES, RFC 4568), via libsrtp2
 *
 * sdes_suite.c: the suites and libsrtp2's start and stop; sdes.c:
 * a=crypto values; srtp_pair.c: the libsrtp2 sessions of one leg.
 * Include <re.h> first.
 */
#ifndef MEDIA_SDES_H
#define MEDIA_SDES_H

enum {
	SDES_KEY_MAX  = 30,       /**< Master key + salt, bytes       */
	SDES_MKI_MAX  = 4,        /**< Longest MKI we take, bytes     */
	SDES_ATTR_MAX = 128,      /**< An a=crypto value, with '\0'   */
	SDES_OVERHEAD = 20,       /**< Most protect adds (SRTCP, GCM:
				       index 4 + tag 16), without MKI */
};

/** The suites the relay speaks, in the order it prefers them */
enum sdes_suite {
	SDES_AES_CM_80,           /**< AES_CM_128_HMAC_SHA1_80        */
	SDES_AES_CM_32,           /**< AES_CM_128_HMAC_SHA1_32        */
	SDES_AEAD_GCM_128,        /**< AEAD_AES_128_GCM (RFC 7714)    */
	SDES_SUITE_COUNT
};

/** One a=crypto value: tag, suite, master key and salt (no padding:
 *  keys are compared with memcmp) */
struct sdes_key {
	uint32_t tag;             /**< Tag, 1 .. 999999999            */
	enum sdes_suite suite;    /**< Suite                          */
	uint8_t key[SDES_KEY_MAX];/**< Master key || salt             */
	uint8_t keylen;           /**< Its length                     */
	uint8_t mkilen;           /**< MKI length, 0: no MKI          */
	uint8_t mki[SDES_MKI_MAX];/**< MKI, big-endian                */
};

struct srtp_crypto_policy_t;

int  sdes_init(void);
void sdes_close(void);
bool sdes_suite_supported(enum sdes_suite suite);
const char *sdes_suite_name(enum sdes_suite suite);
size_t sdes_keylen(enum sdes_suite suite);
size_t sdes_trailer(enum sdes_suite suite, bool rtcp);
void sdes_policy(struct srtp_crypto_policy_t *rtp,
		 struct srtp_crypto_policy_t *rtcp, enum sdes_suite suite);

int  sdes_parse(struct sdes_key *k, const struct pl *val);
int  sdes_choose(struct sdes_key *k, const struct pl *valv, unsigned valc);
int  sdes_make(struct sdes_key *k, uint32_t tag, enum sdes_suite suite);
int  sdes_print(char *buf, size_t sz, const struct sdes_key *k);

struct srtp_pair;

int  srtp_pair_alloc(struct srtp_pair **spp, const struct sdes_key *rx,
		     const struct sdes_key *tx);
int  srtp_pair_unprotect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
			 size_t *len);
int  srtp_pair_protect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
		       size_t *len, size_t cap);

#endif
