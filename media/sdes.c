/**
 * @file sdes.c  a=crypto values (RFC 4568 section 9.1): read, make, write
 *
 * "<tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI:length]".
 * One inline key per line; a lifetime is accepted (the relay never
 * re-keys: phones renegotiate long before 2^31 packets); MKI and
 * session parameters are refused, so such a line is skipped and the
 * next one the offerer lists is tried.
 */
#include <string.h>
#include <openssl/rand.h>
#include <re.h>
#include "sdes.h"


static const struct {
	const char *name;
	size_t keylen;
} suitev[SDES_SUITE_COUNT] = {
	[SDES_AES_CM_80]    = {"AES_CM_128_HMAC_SHA1_80", 30},
	[SDES_AES_CM_32]    = {"AES_CM_128_HMAC_SHA1_32", 30},
	[SDES_AEAD_GCM_128] = {"AEAD_AES_128_GCM", 28},
};


/**
 * @param suite Suite
 *
 * @return Its name in SDP, NULL if unknown
 */
const char *sdes_suite_name(enum sdes_suite suite)
{
	return suite < SDES_SUITE_COUNT ? suitev[suite].name : NULL;
}


/**
 * Read an a=crypto value
 *
 * @param k   Result
 * @param val The value (what follows "a=crypto:")
 *
 * @return 0 if success, ENOTSUP for a suite, MKI or session parameter
 *         the relay does not do, EBADMSG if malformed
 */
int sdes_parse(struct sdes_key *k, const struct pl *val)
{
	struct pl tag, suite, b64, life, rest;
	size_t i, n;
	int s = -1;

	if (!k || !val)
		return EINVAL;

	if (re_regex(val->p, val->l, "[0-9]+[ \t]+[^ \t]+[ \t]+inline:[^|\t ]+"
		     "[^ \t]*", &tag, NULL, &suite, NULL, &b64, &life) ||
	    tag.p != val->p || tag.l > 9)
		return EBADMSG;

	rest.p = b64.p + b64.l + life.l;
	rest.l = val->l - (size_t)(rest.p - val->p);

	k->tag = pl_u32(&tag);
	if (!k->tag)
		return EBADMSG;

	for (i = 0; i < SDES_SUITE_COUNT; i++) {
		if (!pl_strcmp(&suite, suitev[i].name))
			s = (int)i;
	}
	if (s < 0)
		return ENOTSUP;

	/* "|2^31" or "|1000": a lifetime; anything else (MKI, a second
	 * key, session parameters) we do not do */
	if (life.l && (life.p[0] != '|' || pl_strchr(&life, ':') ||
		       memchr(life.p + 1, '|', life.l - 1)))
		return ENOTSUP;
	for (i = 0; i < rest.l; i++) {
		if (rest.p[i] != ' ' && rest.p[i] != '\t')
			return ENOTSUP;
	}

	n = sizeof(k->key);
	if (base64_decode(b64.p, b64.l, k->key, &n) ||
	    n != suitev[s].keylen)
		return EBADMSG;

	k->suite = (enum sdes_suite)s;
	k->keylen = n;

	return 0;
}


/**
 * Make a fresh key
 *
 * @param k     Result
 * @param tag   Tag to give it
 * @param suite Suite
 *
 * @return 0 if success, otherwise errorcode
 */
int sdes_make(struct sdes_key *k, uint32_t tag, enum sdes_suite suite)
{
	if (!k || !tag || suite >= SDES_SUITE_COUNT)
		return EINVAL;

	k->tag = tag;
	k->suite = suite;
	k->keylen = suitev[suite].keylen;

	return RAND_bytes(k->key, (int)k->keylen) == 1 ? 0 : EIO;
}


/**
 * Write an a=crypto value
 *
 * @param buf Output
 * @param sz  Its size (SDES_ATTR_MAX is enough)
 * @param k   Key
 *
 * @return 0 if success, otherwise errorcode
 */
int sdes_print(char *buf, size_t sz, const struct sdes_key *k)
{
	char b64[64];
	size_t n = sizeof(b64) - 1;
	int err;

	if (!buf || !k || k->suite >= SDES_SUITE_COUNT)
		return EINVAL;

	err = base64_encode(k->key, k->keylen, b64, &n);
	if (err)
		return err;
	b64[n] = '\0';

	return re_snprintf(buf, sz, "%u %s inline:%s", k->tag,
			   suitev[k->suite].name, b64) < 0 ? ENOMEM : 0;
}
