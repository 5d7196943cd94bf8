/**
 * @file test_digest.c  Digest arithmetic against the RFC 2617/7616 vectors
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


/* RFC 2617 section 3.5 */
static const char rfc2617_ha1[] = "939e7578ed9e3c518a452acee763bce9";
static const char rfc2617_resp[] = "6629fae49393a05397450978507c4ef1";

/* RFC 7616 section 3.9.1 */
static const char rfc7616_nonce[] =
	"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
static const char rfc7616_cnonce[] =
	"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
static const char rfc7616_ha1_sha256[] =
	"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232";
static const char rfc7616_resp_sha256[] =
	"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";
static const char rfc7616_resp_md5[] = "8ca523f5e9506fed4657c9700eebdbec";


static int test_alg(void)
{
	static const struct {
		const char *name;
		int err;
		enum digest_alg alg;
	} testv[] = {
		{"MD5",         0,       DIGEST_MD5},
		{"md5",         0,       DIGEST_MD5},
		{"",            0,       DIGEST_MD5},
		{"SHA-256",     0,       DIGEST_SHA256},
		{"sha-256",     0,       DIGEST_SHA256},
		{"Sha-256",     0,       DIGEST_SHA256},
		{"MD5-sess",    ENOTSUP, DIGEST_MD5},
		{"SHA-256-sess", ENOTSUP, DIGEST_MD5},
		{"SHA256",      ENOTSUP, DIGEST_MD5},
		{"SHA-512-256", ENOTSUP, DIGEST_MD5},
		{"MD",          ENOTSUP, DIGEST_MD5},
	};
	enum digest_alg alg;
	struct pl pl;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		pl_set_str(&pl, testv[i].name);
		alg = (enum digest_alg)-1;

		TEST_EQUALS(testv[i].err, digest_alg_decode(&alg, &pl));
		if (!testv[i].err)
			TEST_EQUALS(testv[i].alg, alg);
	}

	/* Absent parameter */
	alg = DIGEST_SHA256;
	TEST_CHECK(digest_alg_decode(&alg, NULL));
	TEST_EQUALS(DIGEST_MD5, alg);

	TEST_EQUALS(EINVAL, digest_alg_decode(NULL, &pl));

	TEST_STRCMP("MD5", digest_alg_name(DIGEST_MD5));
	TEST_STRCMP("SHA-256", digest_alg_name(DIGEST_SHA256));

 out:
	return err;
}


static int test_equal(void)
{
	struct pl pl;
	int err = 0;

	pl_set_str(&pl, rfc2617_resp);
	TEST_ASSERT(digest_equal(rfc2617_resp, &pl));

	pl_set_str(&pl, "6629FAE49393A05397450978507C4EF1");
	TEST_ASSERT(digest_equal(rfc2617_resp, &pl));
	TEST_ASSERT(digest_equal("6629FAE49393A05397450978507C4EF1",
				 &(struct pl)PL("6629fae49393a05397450978"
						"507c4ef1")));

	/* Last digit differs */
	pl_set_str(&pl, "6629fae49393a05397450978507c4ef2");
	TEST_ASSERT(!digest_equal(rfc2617_resp, &pl));

	/* First digit differs */
	pl_set_str(&pl, "7629fae49393a05397450978507c4ef1");
	TEST_ASSERT(!digest_equal(rfc2617_resp, &pl));

	/* Folding is for letters only: '@' is not '`', '[' is not '{' */
	TEST_ASSERT(!digest_equal("@", &(struct pl)PL("`")));
	TEST_ASSERT(!digest_equal("[", &(struct pl)PL("{")));
	TEST_ASSERT(!digest_equal("{", &(struct pl)PL("[")));
	TEST_ASSERT(!digest_equal("_", &(struct pl)PL("\x7f")));
	TEST_ASSERT(digest_equal("Z", &(struct pl)PL("z")));

	/* Prefix, and longer */
	pl_set_str(&pl, "6629fae49393a05397450978507c4ef");
	TEST_ASSERT(!digest_equal(rfc2617_resp, &pl));
	pl_set_str(&pl, "6629fae49393a05397450978507c4ef10");
	TEST_ASSERT(!digest_equal(rfc2617_resp, &pl));

	/* Empty and missing never match */
	pl_set_str(&pl, "");
	TEST_ASSERT(!digest_equal("", &pl));
	TEST_ASSERT(!digest_equal(rfc2617_resp, &pl));
	TEST_ASSERT(!digest_equal(NULL, &pl));
	TEST_ASSERT(!digest_equal(rfc2617_resp, NULL));

 out:
	return err;
}


static int test_rfc2617(void)
{
	const struct pl nonce = PL("dcd98b7102dd2f0e8b11d0f600bfb0c093");
	const struct pl nc = PL("00000001");
	const struct pl cnonce = PL("0a4f113b");
	const struct pl qop = PL("auth");
	const struct pl method = PL("GET");
	const struct pl uri = PL("/dir/index.html");
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX], upper[33];
	struct pl pl;
	size_t i;
	int err = 0;

	TEST_CHECK(digest_ha1(ha1, 33, DIGEST_MD5, "Mufasa",
			      "testrealm@host.com", "Circle Of Life"));
	TEST_STRCMP(rfc2617_ha1, ha1);

	TEST_CHECK(digest_response(resp, 33, DIGEST_MD5, ha1, &nonce, &nc,
				   &cnonce, &qop, &method, &uri));
	TEST_STRCMP(rfc2617_resp, resp);

	/* A stored HA1 in upper case gives the same answer */
	for (i = 0; i < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)rfc2617_ha1[i]);
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5, upper,
				   &nonce, &nc, &cnonce, &qop, &method,
				   &uri));
	TEST_STRCMP(rfc2617_resp, resp);

	/* Wrong password */
	TEST_CHECK(digest_ha1(ha1, sizeof(ha1), DIGEST_MD5, "Mufasa",
			      "testrealm@host.com", "Circle of Life"));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5, ha1,
				   &nonce, &nc, &cnonce, &qop, &method,
				   &uri));
	pl_set_str(&pl, rfc2617_resp);
	TEST_ASSERT(!digest_equal(resp, &pl));

	/* Other nc, cnonce, method and uri all change the response */
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5,
				   rfc2617_ha1, &nonce, &(struct pl)PL("2"),
				   &cnonce, &qop, &method, &uri));
	TEST_ASSERT(!digest_equal(resp, &pl));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5,
				   rfc2617_ha1, &nonce, &nc,
				   &(struct pl)PL("0a4f113c"), &qop, &method,
				   &uri));
	TEST_ASSERT(!digest_equal(resp, &pl));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5,
				   rfc2617_ha1, &nonce, &nc, &cnonce, &qop,
				   &(struct pl)PL("PUT"), &uri));
	TEST_ASSERT(!digest_equal(resp, &pl));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5,
				   rfc2617_ha1, &nonce, &nc, &cnonce, &qop,
				   &method, &(struct pl)PL("/dir/index.htm")));
	TEST_ASSERT(!digest_equal(resp, &pl));

	/* Buffer too small, by one */
	TEST_EQUALS(EINVAL, digest_ha1(ha1, 32, DIGEST_MD5, "Mufasa",
				       "testrealm@host.com",
				       "Circle Of Life"));
	TEST_EQUALS(EINVAL, digest_response(resp, 32, DIGEST_MD5,
					    rfc2617_ha1, &nonce, &nc,
					    &cnonce, &qop, &method, &uri));

	/* qop=auth-int is not done; unknown qop neither */
	TEST_EQUALS(ENOTSUP, digest_response(resp, sizeof(resp), DIGEST_MD5,
					     rfc2617_ha1, &nonce, &nc,
					     &cnonce,
					     &(struct pl)PL("auth-int"),
					     &method, &uri));
	TEST_EQUALS(ENOTSUP, digest_response(resp, sizeof(resp), DIGEST_MD5,
					     rfc2617_ha1, &nonce, &nc,
					     &cnonce, &(struct pl)PL("xyz"),
					     &method, &uri));

	/* qop=auth needs nc and cnonce */
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    rfc2617_ha1, &nonce, NULL,
					    &cnonce, &qop, &method, &uri));
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    rfc2617_ha1, &nonce, &nc,
					    &(struct pl)PL(""), &qop,
					    &method, &uri));

	/* HA1 of the wrong length or not hex */
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    "939e7578ed9e3c518a452acee763bce",
					    &nonce, &nc, &cnonce, &qop,
					    &method, &uri));
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    "939e7578ed9e3c518a452acee763bcex",
					    &nonce, &nc, &cnonce, &qop,
					    &method, &uri));

	TEST_EQUALS(EINVAL, digest_ha1(NULL, 33, DIGEST_MD5, "a", "b", "c"));
	TEST_EQUALS(EINVAL, digest_ha1(ha1, 33, DIGEST_MD5, "a", NULL, "c"));
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    rfc2617_ha1, NULL, &nc, &cnonce,
					    &qop, &method, &uri));

 out:
	return err;
}


/* RFC 2069 style, no qop: H(HA1:nonce:H(method:uri)) */
static int test_rfc2069(void)
{
	const struct pl nonce = PL("dcd98b7102dd2f0e8b11d0f600bfb0c093");
	const struct pl method = PL("GET");
	const struct pl uri = PL("/dir/index.html");
	const struct pl nc = PL("00000001");
	const struct pl cnonce = PL("0a4f113b");
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	int err = 0;

	/* RFC 2069 section 2.4 credentials; value checked with md5sum */
	TEST_CHECK(digest_ha1(ha1, sizeof(ha1), DIGEST_MD5, "Mufasa",
			      "testrealm@host.com", "CircleOfLife"));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5, ha1,
				   &nonce, NULL, NULL, NULL, &method, &uri));
	TEST_STRCMP("1949323746fe6a43ef61f9606e7febea", resp);

	/* An empty qop is no qop, and nc/cnonce are then ignored */
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5, ha1,
				   &nonce, &nc, &cnonce, &(struct pl)PL(""),
				   &method, &uri));
	TEST_STRCMP("1949323746fe6a43ef61f9606e7febea", resp);

 out:
	return err;
}


/**
 * Test MD5 digest arithmetic, algorithm names and the comparison
 *
 * @return 0 if success, otherwise errorcode
 */
int test_digest(void)
{
	int err;

	err = test_alg();
	if (err)
		return err;

	err = test_equal();
	if (err)
		return err;

	err = test_rfc2617();
	if (err)
		return err;

	return test_rfc2069();
}


/**
 * Test SHA-256 digest (RFC 7616 example, as used by RFC 8760 for SIP)
 *
 * @return 0 if success, otherwise errorcode
 */
int test_digest_rfc8760(void)
{
	const struct pl nonce = PL(rfc7616_nonce);
	const struct pl cnonce = PL(rfc7616_cnonce);
	const struct pl nc = PL("00000001");
	const struct pl qop = PL("auth");
	const struct pl method = PL("GET");
	const struct pl uri = PL("/dir/index.html");
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	char md5_ha1[DIGEST_HEX_MAX];
	struct pl pl;
	enum digest_alg alg;
	int err = 0;

	TEST_CHECK(digest_alg_decode(&alg, &(struct pl)PL("SHA-256")));
	TEST_EQUALS(DIGEST_SHA256, alg);

	TEST_CHECK(digest_ha1(ha1, 65, alg, "Mufasa", "http-auth@example.org",
			      "Circle of Life"));
	TEST_STRCMP(rfc7616_ha1_sha256, ha1);
	TEST_EQUALS(64, strlen(ha1));

	TEST_CHECK(digest_response(resp, 65, alg, ha1, &nonce, &nc, &cnonce,
				   &qop, &method, &uri));
	TEST_STRCMP(rfc7616_resp_sha256, resp);

	pl_set_str(&pl, rfc7616_resp_sha256);
	TEST_ASSERT(digest_equal(resp, &pl));

	/* The same example's MD5 response */
	TEST_CHECK(digest_ha1(md5_ha1, sizeof(md5_ha1), DIGEST_MD5, "Mufasa",
			      "http-auth@example.org", "Circle of Life"));
	TEST_EQUALS(32, strlen(md5_ha1));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_MD5, md5_ha1,
				   &nonce, &nc, &cnonce, &qop, &method,
				   &uri));
	TEST_STRCMP(rfc7616_resp_md5, resp);

	/* Wrong password */
	TEST_CHECK(digest_ha1(ha1, sizeof(ha1), DIGEST_SHA256, "Mufasa",
			      "http-auth@example.org", "Circle Of Life"));
	TEST_CHECK(digest_response(resp, sizeof(resp), DIGEST_SHA256, ha1,
				   &nonce, &nc, &cnonce, &qop, &method,
				   &uri));
	TEST_ASSERT(!digest_equal(resp, &pl));

	/* An MD5 response never matches a SHA-256 one */
	pl_set_str(&pl, rfc7616_resp_md5);
	TEST_ASSERT(!digest_equal(rfc7616_resp_sha256, &pl));

	/* Buffer too small for SHA-256, though right for MD5 */
	TEST_EQUALS(EINVAL, digest_ha1(ha1, 64, DIGEST_SHA256, "Mufasa",
				       "http-auth@example.org",
				       "Circle of Life"));
	TEST_EQUALS(EINVAL, digest_ha1(ha1, 33, DIGEST_SHA256, "Mufasa",
				       "http-auth@example.org",
				       "Circle of Life"));
	TEST_EQUALS(EINVAL, digest_response(resp, 64, DIGEST_SHA256,
					    rfc7616_ha1_sha256, &nonce, &nc,
					    &cnonce, &qop, &method, &uri));

	/* An HA1 of the other algorithm */
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp),
					    DIGEST_SHA256, md5_ha1, &nonce,
					    &nc, &cnonce, &qop, &method,
					    &uri));
	TEST_EQUALS(EINVAL, digest_response(resp, sizeof(resp), DIGEST_MD5,
					    rfc7616_ha1_sha256, &nonce, &nc,
					    &cnonce, &qop, &method, &uri));

	/* Unknown algorithm value */
	TEST_EQUALS(ENOTSUP, digest_ha1(ha1, sizeof(ha1),
					(enum digest_alg)7, "a", "b", "c"));

 out:
	return err;
}
