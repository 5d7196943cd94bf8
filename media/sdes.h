/**
 * @file sdes.h  SRTP keyed in the SDP (SDES, RFC 4568), via libsrtp2
 */
#ifndef MEDIA_SDES_H
#define MEDIA_SDES_H

enum {
	SDES_KEY_MAX  = 30,       /**< Master key + salt, bytes       */
	SDES_ATTR_MAX = 128,      /**< Our a=crypto value, bytes      */
	SDES_OVERHEAD = 64,       /**< Room protect may need          */
};

enum sdes_suite {
	SDES_AES_CM_80,           /**< AES_CM_128_HMAC_SHA1_80        */
	SDES_AES_CM_32,           /**< AES_CM_128_HMAC_SHA1_32        */
	SDES_AEAD_GCM_128,        /**< AEAD_AES_128_GCM (RFC 7714)    */
	SDES_SUITE_COUNT
};

/** One a=crypto value: a tag, a suite and its master key and salt */
struct sdes_key {
	uint32_t tag;             /**< Tag, 1 .. 999999999            */
	enum sdes_suite suite;    /**< Suite                          */
	uint8_t key[SDES_KEY_MAX];/**< Master key || salt             */
	size_t keylen;            /**< Its length                     */
};

struct srtp_pair;

int  sdes_init(void);
void sdes_close(void);
const char *sdes_suite_name(enum sdes_suite suite);
int  sdes_parse(struct sdes_key *k, const struct pl *val);
int  sdes_make(struct sdes_key *k, uint32_t tag, enum sdes_suite suite);
int  sdes_print(char *buf, size_t sz, const struct sdes_key *k);

int  srtp_pair_alloc(struct srtp_pair **spp, const struct sdes_key *rx,
		     const struct sdes_key *tx);
int  srtp_pair_unprotect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
			 size_t *len);
int  srtp_pair_protect(struct srtp_pair *sp, bool rtcp, uint8_t *pkt,
		       size_t *len, size_t cap);

#endif
