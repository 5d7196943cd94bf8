/**
 * @file test_sdes.c  a=crypto values: read, refused, made, chosen
 *
 * Tests that need the suites libsrtp2 supports hold their own
 * sdes_init reference, so each runs alone too; a suite this libsrtp2
 * lacks is checked to be refused, not skipped.
 */
#include <string.h>
#include <re.h>
#include "../../media/sdes.h"
#include "relaytest.h"


/* bytes 0, 1, 2 ...: 30 of them, and 28 for GCM */
static const char key30[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
static const char key28[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==";


static int parse(struct sdes_key *k, const char *val)
{
	struct pl pl;

	pl_set_str(&pl, val);

	return sdes_parse(k, &pl);
}


static bool key_is_count(const struct sdes_key *k, size_t len)
{
	size_t i;

	if (k->keylen != len)
		return false;

	for (i = 0; i < len; i++) {
		if (k->key[i] != i)
			return false;
	}

	return true;
}


int test_sdes_parse(void)
{
	static const struct {
		const char *val;
		enum sdes_suite suite;
		uint32_t tag;
		size_t keylen;
	} goodv[] = {
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s", SDES_AES_CM_80,
		 1, 30},
		{"2 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31", SDES_AES_CM_80,
		 2, 30},
		{"999999999 AES_CM_128_HMAC_SHA1_32 inline:%s|1048576",
		 SDES_AES_CM_32, 999999999, 30},
		{"3 AES_CM_128_HMAC_SHA1_32\tinline:%s", SDES_AES_CM_32,
		 3, 30},
		{"4 AEAD_AES_128_GCM inline:%s", SDES_AEAD_GCM_128, 4, 28},
		{"5 AEAD_AES_128_GCM inline:%s|2^48", SDES_AEAD_GCM_128,
		 5, 28},
	};
	char line[SDES_ATTR_MAX];
	struct sdes_key k;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(goodv); i++) {
		(void)re_snprintf(line, sizeof(line), goodv[i].val,
				  goodv[i].keylen == 30 ? key30 : key28);
		memset(&k, 0xff, sizeof(k));
		TEST_CHECK(parse(&k, line));
		TEST_EQUALS(goodv[i].tag, k.tag);
		TEST_EQUALS(goodv[i].suite, k.suite);
		TEST_ASSERT(key_is_count(&k, goodv[i].keylen));
		TEST_EQUALS(0, k.mkilen);
	}

	/* RFC 4568's own example: lifetime and a 32-bit MKI */
	TEST_CHECK(parse(&k, "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeC"
			 "FCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"));
	TEST_EQUALS(0x3d, k.key[0]);
	TEST_EQUALS(0x51, k.key[29]);
	TEST_EQUALS(4, k.mkilen);
	TEST_ASSERT(!memcmp(k.mki, "\x00\x00\x00\x01", 4));

	(void)re_snprintf(line, sizeof(line),
			  "6 AES_CM_128_HMAC_SHA1_80 inline:%s|258:2", key30);
	TEST_CHECK(parse(&k, line));
	TEST_EQUALS(2, k.mkilen);
	TEST_ASSERT(!memcmp(k.mki, "\x01\x02", 2));
	TEST_ASSERT(key_is_count(&k, 30));

 out:
	return err;
}


/* %s is a good key of 30 bytes (wrong for GCM) */
int test_sdes_reject(void)
{
	static const struct {
		const char *val;
		int err;
	} badv[] = {
		{"1 F8_128_HMAC_SHA1_80 inline:%s", ENOTSUP},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:%s", ENOTSUP},
		{"1 aes_cm_128_hmac_sha1_80 inline:%s", ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s;inline:%s", ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s UNENCRYPTED_SRTP",
		 ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s KDR=1", ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s WSH=128", ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|1:5", ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|1:0", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|1:129", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|256:1", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|1:", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|1:4|2^31", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|2^31", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|1:4|", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|x", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%s|", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:%sA", EBADMSG},
		{"1 AEAD_AES_128_GCM inline:%s", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:"
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:"
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:"
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx*d", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:"
		 "AAECAwQFBgcICQoLDA0ODxAREh=UFRYXGBkaGxwd", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:"
		 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:", EBADMSG},
		{"0 AES_CM_128_HMAC_SHA1_80 inline:%s", EBADMSG},
		{"1000000000 AES_CM_128_HMAC_SHA1_80 inline:%s", EBADMSG},
		{"-1 AES_CM_128_HMAC_SHA1_80 inline:%s", EBADMSG},
		{"1a AES_CM_128_HMAC_SHA1_80 inline:%s", EBADMSG},
		{" 1 AES_CM_128_HMAC_SHA1_80 inline:%s", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 %s", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:%s", EBADMSG},
		{"1 AES_CM_128_HMAC_SHA1_80", EBADMSG},
		{"1", EBADMSG},
		{"", EBADMSG},
		{"garbage", EBADMSG},
	};
	struct sdes_key k, before;
	char line[SDES_ATTR_MAX];
	size_t i;
	int err = 0, e;

	memset(&before, 0x5a, sizeof(before));

	for (i = 0; i < ARRAY_SIZE(badv); i++) {
		(void)re_snprintf(line, sizeof(line), badv[i].val, key30,
				  key30);
		k = before;
		e = parse(&k, line);
		if (e != badv[i].err) {
			(void)re_fprintf(stderr, "'%s': %m\n", line, e);
			TEST_EQUALS(badv[i].err, e);
		}
		TEST_ASSERT(!memcmp(&k, &before, sizeof(k)));
	}

	TEST_EQUALS(EINVAL, sdes_parse(NULL, &(struct pl)PL("1")));
	TEST_EQUALS(EINVAL, sdes_parse(&k, NULL));

 out:
	return err;
}


/* every prefix of a good value, in a buffer of exactly that size:
 * no read past its end (ASan), and only the expected ones taken */
int test_sdes_truncated(void)
{
	char line[SDES_ATTR_MAX];
	struct sdes_key k;
	size_t n, len, good = 0;
	char *buf = NULL;
	int err = 0, e;

	(void)re_snprintf(line, sizeof(line),
			  "12 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|7:1",
			  key30);
	len = strlen(line);

	for (n = 0; n <= len; n++) {
		struct pl pl;

		buf = mem_alloc(n ? n : 1, NULL);
		if (!buf)
			TEST_ERR(ENOMEM);
		memcpy(buf, line, n);
		pl.p = buf;
		pl.l = n;

		e = sdes_parse(&k, &pl);
		TEST_ASSERT(e == 0 || e == EBADMSG || e == ENOTSUP);
		if (!e)
			++good;
		buf = mem_deref(buf);
	}

	/* ...inline:KEY, |2, |2^3, |2^31 and |2^31|7:1 */
	TEST_EQUALS(5, good);
	TEST_EQUALS(7, k.mki[0]);

 out:
	mem_deref(buf);

	return err;
}


int test_sdes_make(void)
{
	char line[SDES_ATTR_MAX], line2[SDES_ATTR_MAX];
	struct sdes_key k, k2, back;
	bool lib = false;
	int err = 0, s;

	TEST_CHECK(sdes_init());
	lib = true;

	TEST_ASSERT(sdes_suite_supported(SDES_AES_CM_80));
	TEST_ASSERT(sdes_suite_supported(SDES_AES_CM_32));
	TEST_ASSERT(!sdes_suite_supported(SDES_SUITE_COUNT));

	for (s = 0; s < SDES_SUITE_COUNT; s++) {
		enum sdes_suite suite = (enum sdes_suite)s;
		char head[64];

		if (!sdes_suite_supported(suite)) {
			TEST_EQUALS(ENOTSUP, sdes_make(&k, 1, suite));
			continue;
		}

		TEST_CHECK(sdes_make(&k, 7, suite));
		TEST_CHECK(sdes_print(line, sizeof(line), &k));
		(void)re_snprintf(head, sizeof(head), "7 %s inline:",
				  sdes_suite_name(suite));
		TEST_ASSERT(!strncmp(line, head, strlen(head)));
		TEST_EQUALS(strlen(head) + (k.keylen + 2) / 3 * 4,
			    strlen(line));

		TEST_CHECK(parse(&back, line));
		TEST_ASSERT(!memcmp(&back, &k, sizeof(k)));

		/* fresh keys: 240 random bits twice the same is a bug */
		TEST_CHECK(sdes_make(&k2, 7, suite));
		TEST_CHECK(sdes_print(line2, sizeof(line2), &k2));
		TEST_ASSERT(memcmp(k.key, k2.key, k.keylen));
		TEST_ASSERT(strcmp(line, line2));
	}

	/* a key read with an MKI is written with it */
	(void)re_snprintf(line, sizeof(line),
			  "9 AES_CM_128_HMAC_SHA1_32 inline:%s|2^31|70000:3",
			  key30);
	TEST_CHECK(parse(&k, line));
	TEST_CHECK(sdes_print(line2, sizeof(line2), &k));
	(void)re_snprintf(line, sizeof(line),
			  "9 AES_CM_128_HMAC_SHA1_32 inline:%s|70000:3",
			  key30);
	TEST_STRCMP(line, line2);

	TEST_EQUALS(EOVERFLOW, sdes_print(line, 20, &k));
	TEST_EQUALS(EINVAL, sdes_make(&k, 0, SDES_AES_CM_80));
	TEST_EQUALS(EINVAL, sdes_make(&k, 1000000000, SDES_AES_CM_80));
	TEST_EQUALS(EINVAL, sdes_make(&k, 1, SDES_SUITE_COUNT));
	TEST_ASSERT(sdes_suite_name(SDES_SUITE_COUNT) == NULL);

 out:
	if (lib)
		sdes_close();

	return err;
}


int test_sdes_choose(void)
{
	struct pl offerv[5];
	char linev[5][SDES_ATTR_MAX];
	struct sdes_key k, before;
	bool lib = false;
	int err = 0;

	TEST_CHECK(sdes_init());
	lib = true;

	/* not ours, not acceptable, GCM, then two we take */
	(void)re_snprintf(linev[0], sizeof(linev[0]),
			  "1 AES_256_CM_HMAC_SHA1_80 inline:%s", key30);
	(void)re_snprintf(linev[1], sizeof(linev[1]),
			  "2 AES_CM_128_HMAC_SHA1_80 inline:%s "
			  "UNENCRYPTED_SRTP", key30);
	(void)re_snprintf(linev[2], sizeof(linev[2]),
			  "3 AEAD_AES_128_GCM inline:%s", key28);
	(void)re_snprintf(linev[3], sizeof(linev[3]),
			  "14 AES_CM_128_HMAC_SHA1_32 inline:%s", key30);
	(void)re_snprintf(linev[4], sizeof(linev[4]),
			  "15 AES_CM_128_HMAC_SHA1_80 inline:%s", key30);
	pl_set_str(&offerv[0], linev[0]);
	pl_set_str(&offerv[1], linev[1]);
	pl_set_str(&offerv[2], linev[2]);
	pl_set_str(&offerv[3], linev[3]);
	pl_set_str(&offerv[4], linev[4]);

	TEST_CHECK(sdes_choose(&k, offerv, 5));
	if (sdes_suite_supported(SDES_AEAD_GCM_128)) {
		TEST_EQUALS(3, k.tag);
		TEST_EQUALS(SDES_AEAD_GCM_128, k.suite);
		TEST_ASSERT(key_is_count(&k, 28));
	}
	else {
		TEST_EQUALS(14, k.tag);
		TEST_EQUALS(SDES_AES_CM_32, k.suite);
	}

	/* the answerer keeps the offerer's order, not its own */
	TEST_CHECK(sdes_choose(&k, &offerv[3], 2));
	TEST_EQUALS(14, k.tag);
	TEST_EQUALS(SDES_AES_CM_32, k.suite);
	TEST_ASSERT(key_is_count(&k, 30));

	memset(&before, 0x5a, sizeof(before));
	k = before;
	TEST_EQUALS(ENOTSUP, sdes_choose(&k, offerv, 2));
	TEST_EQUALS(ENOTSUP, sdes_choose(&k, NULL, 0));
	TEST_ASSERT(!memcmp(&k, &before, sizeof(k)));

 out:
	if (lib)
		sdes_close();

	return err;
}
