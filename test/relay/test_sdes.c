/**
 * @file test_sdes.c  a=crypto values and the SRTP contexts of a leg
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/rtp.h"
#include "relaytest.h"


static int parse(struct sdes_key *k, const char *val)
{
	struct pl pl;

	pl_set_str(&pl, val);

	return sdes_parse(k, &pl);
}


int test_sdes_parse(void)
{
	static const char key30[] = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
	char line[SDES_ATTR_MAX], line2[SDES_ATTR_MAX];
	struct sdes_key k, k2;
	int err = 0;

	(void)re_snprintf(line, sizeof(line),
			  "1 AES_CM_128_HMAC_SHA1_80 inline:%s", key30);
	TEST_CHECK(parse(&k, line));
	TEST_EQUALS(1, k.tag);
	TEST_EQUALS(SDES_AES_CM_80, k.suite);
	TEST_EQUALS(30, k.keylen);

	(void)re_snprintf(line, sizeof(line),
			  "7 AES_CM_128_HMAC_SHA1_32 inline:%s|2^31", key30);
	TEST_CHECK(parse(&k, line));
	TEST_EQUALS(7, k.tag);
	TEST_EQUALS(SDES_AES_CM_32, k.suite);

	/* GCM: 16-byte key and 12-byte salt */
	TEST_CHECK(parse(&k, "3 AEAD_AES_128_GCM inline:"
			 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="));
	TEST_EQUALS(28, k.keylen);

	/* what is refused */
	TEST_EQUALS(ENOTSUP, parse(&k, "1 F8_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"));
	TEST_EQUALS(EBADMSG, parse(&k, "1 AES_CM_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwg"));
	TEST_EQUALS(EBADMSG, parse(&k, "0 AES_CM_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"));
	TEST_EQUALS(EBADMSG, parse(&k, "1234567890 AES_CM_128_HMAC_SHA1_80"
				   " inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9"
				   "CnVubGVz"));
	TEST_EQUALS(EBADMSG, parse(&k, "1 AES_CM_128_HMAC_SHA1_80 "
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"));
	TEST_EQUALS(ENOTSUP, parse(&k, "1 AES_CM_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
				   "|2^20|1:4"));
	TEST_EQUALS(ENOTSUP, parse(&k, "1 AES_CM_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
				   " UNENCRYPTED_SRTP"));
	TEST_EQUALS(EBADMSG, parse(&k, "garbage"));

	/* ours read back, and fresh each time */
	TEST_CHECK(sdes_make(&k, 2, SDES_AES_CM_80));
	TEST_CHECK(sdes_print(line, sizeof(line), &k));
	TEST_CHECK(parse(&k2, line));
	TEST_ASSERT(k2.tag == 2 && k2.keylen == 30 &&
		    !memcmp(k.key, k2.key, 30));
	TEST_CHECK(sdes_make(&k2, 2, SDES_AES_CM_80));
	TEST_CHECK(sdes_print(line2, sizeof(line2), &k2));
	TEST_ASSERT(strcmp(line, line2));

 out:
	return err;
}


/* what a relay does: one side's tx key is the other side's rx key */
static int roundtrip(enum sdes_suite suite)
{
	struct srtp_pair *phone = NULL, *relay = NULL;
	uint8_t pkt[256], orig[172], prot[256];
	struct sdes_key k;
	size_t len, plen;
	int err = 0, i;

	TEST_CHECK(sdes_make(&k, 1, suite));
	TEST_CHECK(srtp_pair_alloc(&phone, NULL, &k));
	TEST_CHECK(srtp_pair_alloc(&relay, &k, NULL));

	for (i = 0; i < 3; i++) {
		TEST_CHECK(rtp_build(orig, sizeof(orig), false, 0,
				     (uint16_t)(100 + i), 160u * i, 0x55));
		memset(&orig[12], 0xa5 + i, sizeof(orig) - 12);
		memcpy(pkt, orig, sizeof(orig));
		len = sizeof(orig);
		TEST_CHECK(srtp_pair_protect(phone, false, pkt, &len,
					     sizeof(pkt)));
		TEST_ASSERT(len > sizeof(orig));
		TEST_ASSERT(memcmp(&pkt[12], &orig[12], 16));
		TEST_CHECK(srtp_pair_unprotect(relay, false, pkt, &len));
		TEST_EQUALS(sizeof(orig), len);
		TEST_ASSERT(!memcmp(pkt, orig, len));
	}

	/* a replay, then a flipped bit */
	memcpy(pkt, orig, sizeof(orig));
	pkt[3] = 200;
	len = sizeof(orig);
	TEST_CHECK(srtp_pair_protect(phone, false, pkt, &len, sizeof(pkt)));
	memcpy(prot, pkt, len);
	plen = len;
	TEST_CHECK(srtp_pair_unprotect(relay, false, pkt, &len));
	TEST_EQUALS(EBADMSG, srtp_pair_unprotect(relay, false, prot, &plen));
	memcpy(pkt, orig, sizeof(orig));
	pkt[3] = 201;
	len = sizeof(orig);
	TEST_CHECK(srtp_pair_protect(phone, false, pkt, &len, sizeof(pkt)));
	pkt[40] ^= 1;
	TEST_EQUALS(EBADMSG, srtp_pair_unprotect(relay, false, pkt, &len));

	/* RTCP: a receiver report */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 201;
	pkt[3] = 1;
	pkt[7] = 0x55;
	memcpy(orig, pkt, 8);
	len = 8;
	TEST_CHECK(srtp_pair_protect(phone, true, pkt, &len, sizeof(pkt)));
	TEST_CHECK(srtp_pair_unprotect(relay, true, pkt, &len));
	TEST_EQUALS(8, len);
	TEST_ASSERT(!memcmp(pkt, orig, 8));

	/* no room for the tag */
	len = sizeof(orig);
	TEST_EQUALS(ENOBUFS, srtp_pair_protect(phone, false, pkt, &len,
					       len + 4));

 out:
	mem_deref(phone);
	mem_deref(relay);

	return err;
}


int test_sdes_srtp(void)
{
	int err = 0;

	TEST_CHECK(roundtrip(SDES_AES_CM_80));
	TEST_CHECK(roundtrip(SDES_AES_CM_32));
	TEST_CHECK(roundtrip(SDES_AEAD_GCM_128));

 out:
	return err;
}
