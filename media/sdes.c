/**
 * @file sdes.c  a=crypto values (RFC 4568 9.1): read, choose, make, write
 *
 * "<tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI:length]
 *  [session parameters]". What the relay takes:
 *  - one inline key; several (";inline:...") are refused (ENOTSUP);
 *  - a lifetime, "2^31" or decimal, read and not enforced: the relay
 *    never re-keys, and libsrtp2 itself stops a key at its SRTP and
 *    SRTCP limits;
 *  - an MKI of 1 to SDES_MKI_MAX bytes on that one key (libsrtp2 reads
 *    and checks it on each packet); longer ones are refused (ENOTSUP);
 *  - no session parameter (UNENCRYPTED_SRTP, KDR, WSH, FEC_*...):
 *    a line with one is refused (ENOTSUP), so the answerer takes the
 *    offerer's next line.
 * A malformed value is EBADMSG. Nothing here allocates.
 */
#include <stddef.h>
#include <string.h>
#include <openssl/rand.h>
#include <re.h>
#include "sdes.h"

#define DEBUG_MODULE "srtp"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	TAG_MAX          = 999999999, /**< RFC 4568: tag 1 .. this    */
	TAG_DIGITS       = 9,     /**< ... its digits                 */
	LIFETIME_DIGITS  = 20,    /**< Longest decimal lifetime       */
	MKI_VALUE_DIGITS = 10,    /**< MKI value fits 32 bits         */
	MKI_LEN_MAX      = 128,   /**< RFC 4568: MKI length 1 .. 128  */
};

_Static_assert(sizeof(struct sdes_key) ==
	       offsetof(struct sdes_key, mki) + SDES_MKI_MAX,
	       "struct sdes_key must have no padding (compared by memcmp)");


static bool token_next(struct pl *rest, struct pl *tok)
{
	const char *p = rest->p, *end = rest->p + rest->l;

	while (p < end && (*p == ' ' || *p == '\t'))
		++p;

	tok->p = p;
	while (p < end && *p != ' ' && *p != '\t')
		++p;

	tok->l = (size_t)(p - tok->p);
	rest->p = p;
	rest->l = (size_t)(end - p);

	return tok->l > 0;
}


static bool digits(const struct pl *pl, size_t max)
{
	size_t i;

	if (!pl->l || pl->l > max)
		return false;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return true;
}


static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/';
}


/* re's base64_decode reads a character it does not know as zero and
 * drops a short last group: check the text before */
static int key_decode(uint8_t *key, size_t keylen, const struct pl *b64)
{
	uint8_t buf[SDES_KEY_MAX];
	size_t i, pad = 0, n = sizeof(buf);

	if (b64->l % 4)
		return EBADMSG;

	for (i = 0; i < b64->l; i++) {
		if (b64->p[i] == '=' && i + 2 >= b64->l)
			++pad;
		else if (pad || !b64_char(b64->p[i]))
			return EBADMSG;
	}

	if (base64_decode(b64->p, b64->l, buf, &n) || n != keylen)
		return EBADMSG;

	memcpy(key, buf, keylen);

	return 0;
}


static int lifetime_check(const struct pl *pl)
{
	struct pl num = *pl;

	if (num.l > 2 && num.p[0] == '2' && num.p[1] == '^')
		pl_advance(&num, 2);

	return digits(&num, LIFETIME_DIGITS) ? 0 : EBADMSG;
}


/* "value:length", the value big-endian in length bytes */
static int mki_read(struct sdes_key *k, const struct pl *pl)
{
	const char *colon = pl_strchr(pl, ':');
	struct pl val, len;
	uint64_t v;
	uint32_t n, i;

	if (!colon)
		return EBADMSG;

	val.p = pl->p;
	val.l = (size_t)(colon - pl->p);
	len.p = colon + 1;
	len.l = pl->l - val.l - 1;

	if (!digits(&val, MKI_VALUE_DIGITS) || !digits(&len, 3))
		return EBADMSG;

	v = pl_u64(&val);
	n = pl_u32(&len);
	if (!n || n > MKI_LEN_MAX || v > UINT32_MAX)
		return EBADMSG;
	if (n > SDES_MKI_MAX)
		return ENOTSUP;
	if (n < 4 && v >> (8 * n))
		return EBADMSG;

	k->mkilen = (uint8_t)n;
	for (i = 0; i < n; i++)
		k->mki[i] = (uint8_t)(v >> (8 * (n - 1 - i)));

	return 0;
}


/* "inline:key[|lifetime][|MKI:length]" */
static int key_params(struct sdes_key *k, const struct pl *tok)
{
	struct pl rest = *tok, fieldv[3];
	const char *bar;
	size_t n, i = 1;
	int err;

	if (rest.l < 7 || memcmp(rest.p, "inline:", 7))
		return EBADMSG;
	pl_advance(&rest, 7);

	if (pl_strchr(&rest, ';'))
		return ENOTSUP;

	for (n = 0; n < ARRAY_SIZE(fieldv); n++) {
		bar = pl_strchr(&rest, '|');
		fieldv[n].p = rest.p;
		fieldv[n].l = bar ? (size_t)(bar - rest.p) : rest.l;
		if (!bar)
			break;
		pl_advance(&rest, (ssize_t)fieldv[n].l + 1);
	}
	if (n == ARRAY_SIZE(fieldv))
		return EBADMSG;
	++n;

	err = key_decode(k->key, sdes_keylen(k->suite), &fieldv[0]);
	if (err)
		return err;
	k->keylen = (uint8_t)sdes_keylen(k->suite);

	if (i < n && !pl_strchr(&fieldv[i], ':')) {
		err = lifetime_check(&fieldv[i]);
		if (err)
			return err;
		++i;
	}

	if (i < n) {
		err = mki_read(k, &fieldv[i]);
		if (err)
			return err;
		++i;
	}

	return i < n ? EBADMSG : 0;
}


/**
 * Read an a=crypto value
 *
 * @param k   Result, unchanged on error
 * @param val The value (what follows "a=crypto:", no line ending)
 *
 * @return 0 if success, ENOTSUP for a suite, MKI, second key or
 *         session parameter the relay does not take, EBADMSG if
 *         malformed
 */
int sdes_parse(struct sdes_key *k, const struct pl *val)
{
	struct pl rest, tag, suite, params, extra;
	struct sdes_key nk;
	int i, err;

	if (!k || !val || !val->p)
		return EINVAL;

	memset(&nk, 0, sizeof(nk));
	rest = *val;

	if (!token_next(&rest, &tag) || !token_next(&rest, &suite) ||
	    !token_next(&rest, &params))
		return EBADMSG;

	if (!digits(&tag, TAG_DIGITS) || tag.p != val->p)
		return EBADMSG;
	nk.tag = pl_u32(&tag);
	if (!nk.tag)
		return EBADMSG;

	for (i = 0; i < SDES_SUITE_COUNT; i++) {
		if (!pl_strcmp(&suite, sdes_suite_name((enum sdes_suite)i)))
			break;
	}
	if (i == SDES_SUITE_COUNT)
		return ENOTSUP;
	nk.suite = (enum sdes_suite)i;

	err = key_params(&nk, &params);
	if (err)
		return err;

	if (token_next(&rest, &extra))
		return ENOTSUP;

	*k = nk;

	return 0;
}


/**
 * Choose the key to answer an offer with: the first the relay takes
 * (the offerer lists its keys in its order of preference, RFC 4568)
 *
 * @param k    The offerer's key; answer with its tag and suite
 * @param valv The offer's a=crypto values, in order
 * @param valc How many
 *
 * @return 0 if success, ENOTSUP if none is acceptable
 */
int sdes_choose(struct sdes_key *k, const struct pl *valv, unsigned valc)
{
	struct sdes_key nk;
	unsigned i;

	if (!k || (valc && !valv))
		return EINVAL;

	for (i = 0; i < valc; i++) {
		if (!sdes_parse(&nk, &valv[i]) &&
		    sdes_suite_supported(nk.suite)) {
			*k = nk;
			return 0;
		}
	}

	return ENOTSUP;
}


/**
 * Make a fresh key (after sdes_init)
 *
 * @param k     Result
 * @param tag   Its tag
 * @param suite Its suite
 *
 * @return 0 if success, ENOTSUP if libsrtp2 lacks the suite,
 *         otherwise errorcode
 */
int sdes_make(struct sdes_key *k, uint32_t tag, enum sdes_suite suite)
{
	if (!k || !tag || tag > TAG_MAX ||
	    (unsigned)suite >= SDES_SUITE_COUNT)
		return EINVAL;

	if (!sdes_suite_supported(suite))
		return ENOTSUP;

	memset(k, 0, sizeof(*k));
	k->tag = tag;
	k->suite = suite;
	k->keylen = (uint8_t)sdes_keylen(suite);

	if (RAND_bytes(k->key, k->keylen) != 1) {
		DEBUG_WARNING("RAND_bytes failed\n");
		return EIO;
	}

	return 0;
}


/**
 * Write an a=crypto value: "<tag> <suite> inline:<key>[|MKI:length]"
 *
 * @param buf Output
 * @param sz  Its size (SDES_ATTR_MAX is enough)
 * @param k   Key
 *
 * @return 0 if success, otherwise errorcode
 */
int sdes_print(char *buf, size_t sz, const struct sdes_key *k)
{
	char b64[(SDES_KEY_MAX + 2) / 3 * 4 + 1];
	size_t n = sizeof(b64) - 1;
	const char *name;
	uint32_t mki = 0;
	int i, r, err;

	if (!buf || !sz || !k || (unsigned)k->suite >= SDES_SUITE_COUNT ||
	    k->keylen != sdes_keylen(k->suite) || k->mkilen > SDES_MKI_MAX)
		return EINVAL;

	name = sdes_suite_name(k->suite);
	err = base64_encode(k->key, k->keylen, b64, &n);
	if (err)
		return err;
	b64[n] = '\0';

	for (i = 0; i < k->mkilen; i++)
		mki = mki << 8 | k->mki[i];

	if (k->mkilen)
		r = re_snprintf(buf, sz, "%u %s inline:%s|%u:%u", k->tag,
				name, b64, mki, k->mkilen);
	else
		r = re_snprintf(buf, sz, "%u %s inline:%s", k->tag, name,
				b64);

	return r < 0 ? EOVERFLOW : 0;
}
