/**
 * @file digest.c  Digest auth arithmetic: MD5 and SHA-256 (RFC 2617/7616)
 */
#include <string.h>
#include <re.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "sipcore.h"

#define DEBUG_MODULE "digest"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum {
	MD5_LEN    = 16,
	SHA256_LEN = 32,
	PARTS_MAX  = 6,
};


static size_t alg_len(enum digest_alg alg)
{
	switch (alg) {

	case DIGEST_MD5:    return MD5_LEN;
	case DIGEST_SHA256: return SHA256_LEN;
	default:            return 0;
	}
}


static const EVP_MD *alg_md(enum digest_alg alg)
{
	switch (alg) {

	case DIGEST_MD5:    return EVP_md5();
	case DIGEST_SHA256: return EVP_sha256();
	default:            return NULL;
	}
}


static void hex_encode(char *hex, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2*i]   = digits[p[i] >> 4];
		hex[2*i+1] = digits[p[i] & 0x0f];
	}

	hex[2*len] = '\0';
}


static void log_openssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	DEBUG_WARNING("digest: %s: %s\n", what, buf);
	ERR_clear_error();
}


/*
 * Hash the parts joined by ':' and write the lowercase hex digest. The
 * caller has checked that hex holds 2 * alg_len(alg) + 1 bytes.
 */
static int hash_hex(char *hex, enum digest_alg alg,
		    const struct pl *partv, size_t partc)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	const EVP_MD *type = alg_md(alg);
	size_t i;
	int err = 0;

	if (!type)
		return ENOTSUP;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return ENOMEM;

	if (!EVP_DigestInit_ex(ctx, type, NULL)) {
		log_openssl("init");
		err = ENOTSUP;
		goto out;
	}

	for (i = 0; i < partc; i++) {

		if (i && !EVP_DigestUpdate(ctx, ":", 1)) {
			err = EPROTO;
			break;
		}

		if (partv[i].l &&
		    !EVP_DigestUpdate(ctx, partv[i].p, partv[i].l)) {
			err = EPROTO;
			break;
		}
	}

	if (!err && !EVP_DigestFinal_ex(ctx, md, &mdlen))
		err = EPROTO;

	if (!err && mdlen != alg_len(alg))
		err = EPROTO;

	if (err) {
		log_openssl("hash");
		goto out;
	}

	hex_encode(hex, md, mdlen);

 out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(md, sizeof(md));

	return err;
}


/**
 * Get the name of a digest algorithm as used in the algorithm parameter
 *
 * @param alg Digest algorithm
 *
 * @return "MD5", "SHA-256", or "?" if unknown
 */
const char *digest_alg_name(enum digest_alg alg)
{
	switch (alg) {

	case DIGEST_MD5:    return "MD5";
	case DIGEST_SHA256: return "SHA-256";
	default:            return "?";
	}
}


/**
 * Decode the algorithm parameter of a digest header
 *
 * @param algp Where to store the algorithm
 * @param name Parameter value, case-insensitive; NULL or empty means MD5
 *
 * @return 0 if success, ENOTSUP for other algorithms (also the -sess
 *         variants), EINVAL for bad arguments
 */
int digest_alg_decode(enum digest_alg *algp, const struct pl *name)
{
	if (!algp)
		return EINVAL;

	if (!pl_isset(name) || !pl_strcasecmp(name, "MD5"))
		*algp = DIGEST_MD5;
	else if (!pl_strcasecmp(name, "SHA-256"))
		*algp = DIGEST_SHA256;
	else
		return ENOTSUP;

	return 0;
}


/**
 * Compute HA1 = H(user:realm:password) as lowercase hex
 *
 * @param hex      Output buffer
 * @param sz       Size of hex; at least 33 (MD5) or 65 (SHA-256)
 * @param alg      Digest algorithm
 * @param user     Username
 * @param realm    Realm
 * @param password Plaintext password
 *
 * @return 0 if success, otherwise errorcode
 */
int digest_ha1(char *hex, size_t sz, enum digest_alg alg,
	       const char *user, const char *realm, const char *password)
{
	struct pl partv[3];
	size_t len = alg_len(alg);

	if (!hex || !user || !realm || !password)
		return EINVAL;

	if (!len)
		return ENOTSUP;

	if (sz < 2 * len + 1)
		return EINVAL;

	pl_set_str(&partv[0], user);
	pl_set_str(&partv[1], realm);
	pl_set_str(&partv[2], password);

	return hash_hex(hex, alg, partv, ARRAY_SIZE(partv));
}


/**
 * Compute the response a client must send for a digest challenge
 *
 * With qop=auth: H(HA1:nonce:nc:cnonce:qop:H(method:uri)); without qop
 * (RFC 2069): H(HA1:nonce:H(method:uri)), and nc and cnonce are ignored.
 *
 * @param hex    Output buffer, lowercase hex
 * @param sz     Size of hex; at least 33 (MD5) or 65 (SHA-256)
 * @param alg    Digest algorithm
 * @param ha1    HA1 of the same algorithm as hex (either case)
 * @param nonce  Server nonce
 * @param nc     Nonce count (with qop)
 * @param cnonce Client nonce (with qop)
 * @param qop    Quality of protection, "auth", or NULL/empty for none
 * @param method Request method
 * @param uri    Digest URI, as the client sent it
 *
 * @return 0 if success, ENOTSUP for auth-int or an unknown qop, EINVAL
 *         for a bad argument or an HA1 of the wrong length
 */
int digest_response(char *hex, size_t sz, enum digest_alg alg,
		    const char *ha1, const struct pl *nonce,
		    const struct pl *nc, const struct pl *cnonce,
		    const struct pl *qop, const struct pl *method,
		    const struct pl *uri)
{
	char ha1_lc[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX];
	struct pl partv[PARTS_MAX];
	size_t len = alg_len(alg);
	size_t i, partc = 0;
	int err;

	if (!hex || !ha1 || !pl_isset(nonce) || !pl_isset(method) ||
	    !pl_isset(uri))
		return EINVAL;

	if (!len)
		return ENOTSUP;

	if (sz < 2 * len + 1 || strlen(ha1) != 2 * len)
		return EINVAL;

	if (pl_isset(qop)) {
		if (pl_strcasecmp(qop, "auth"))
			return ENOTSUP;

		if (!pl_isset(nc) || !pl_isset(cnonce))
			return EINVAL;
	}

	/* The HA1 is hashed as text: it must be lowercase to match */
	for (i = 0; i < 2 * len; i++) {
		char c = ha1[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			err = EINVAL;
			goto out;
		}

		ha1_lc[i] = c;
	}
	ha1_lc[2 * len] = '\0';

	partv[0] = *method;
	partv[1] = *uri;
	err = hash_hex(ha2, alg, partv, 2);
	if (err)
		goto out;

	pl_set_str(&partv[partc++], ha1_lc);
	partv[partc++] = *nonce;
	if (pl_isset(qop)) {
		partv[partc++] = *nc;
		partv[partc++] = *cnonce;
		partv[partc++] = *qop;
	}
	pl_set_str(&partv[partc++], ha2);

	err = hash_hex(hex, alg, partv, partc);

 out:
	OPENSSL_cleanse(ha1_lc, sizeof(ha1_lc));

	return err;
}


/**
 * Compare a hex digest with a received one, ignoring case, in time that
 * does not depend on where they differ
 *
 * @param a Expected digest
 * @param b Received digest
 *
 * @return true if equal; false if either is missing or empty, or the
 *         lengths differ
 */
bool digest_equal(const char *a, const struct pl *b)
{
	unsigned diff = 0;
	size_t i, len;

	if (!a || !b || !b->p)
		return false;

	len = strlen(a);
	if (!len || len != b->l)
		return false;

	for (i = 0; i < len; i++) {
		unsigned x = (unsigned char)a[i];
		unsigned y = (unsigned char)b->p[i];

		/* Fold A-Z to a-z without branching on the content */
		x |= (unsigned)((x - 'A') < 26u) << 5;
		y |= (unsigned)((y - 'A') < 26u) << 5;

		diff |= x ^ y;
	}

	return diff == 0;
}
