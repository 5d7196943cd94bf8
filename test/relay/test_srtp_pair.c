/**
 * @file test_srtp_pair.c  The SRTP sessions of a leg: round trips per
 *                         suite, tampering, replays, a relayed call, MKI
 *
 * Each test holds its own sdes_init reference, so it runs alone too.
 */
#include <string.h>
#include <re.h>
#include "../../media/sdes.h"
#include "../../media/rtp.h"
#include "relaytest.h"


enum {
	PKT_ROOM = 256,           /**< Packet buffer                  */
	RTP_LEN  = 172,           /**< 20 ms of PCMU                  */
	RTCP_LEN = 32,            /**< Receiver report, one block     */
};

/** A packet buffer, aligned as libsrtp2 wants */
struct pkt {
	_Alignas(8) uint8_t b[PKT_ROOM];
	size_t len;
};


static int rtp_make(struct pkt *p, uint16_t seq, uint32_t ssrc)
{
	memset(p->b, (uint8_t)(0x40 + seq), sizeof(p->b));
	p->len = RTP_LEN;

	return rtp_build(p->b, sizeof(p->b), false, 0, seq, 160u * seq,
			 ssrc);
}


/* RR: V=2, RC=1, PT=201, length 7 words, sender, one report block */
static void rtcp_make(struct pkt *p, uint32_t ssrc, uint8_t fill)
{
	memset(p->b, fill, sizeof(p->b));
	p->b[0] = 0x81;
	p->b[1] = 201;
	p->b[2] = 0;
	p->b[3] = RTCP_LEN / 4 - 1;
	p->b[4] = (uint8_t)(ssrc >> 24);
	p->b[5] = (uint8_t)(ssrc >> 16);
	p->b[6] = (uint8_t)(ssrc >> 8);
	p->b[7] = (uint8_t)ssrc;
	p->len = RTCP_LEN;
}


/* a phone sending with k, the relay receiving with it */
static int roundtrip(enum sdes_suite suite)
{
	struct srtp_pair *phone = NULL, *relay = NULL;
	struct pkt p, orig;
	struct sdes_key k;
	uint16_t seq;
	int err = 0;

	TEST_CHECK(sdes_make(&k, 1, suite));
	TEST_CHECK(srtp_pair_alloc(&phone, NULL, &k));
	TEST_CHECK(srtp_pair_alloc(&relay, &k, NULL));

	for (seq = 100; seq < 110; seq++) {
		TEST_CHECK(rtp_make(&p, seq, 0x1234));
		orig = p;
		TEST_CHECK(srtp_pair_protect(phone, false, p.b, &p.len,
					     sizeof(p.b)));
		TEST_EQUALS(RTP_LEN + sdes_trailer(suite, false), p.len);
		TEST_ASSERT(sdes_trailer(suite, false) <= SDES_OVERHEAD);
		TEST_ASSERT(!memcmp(p.b, orig.b, RTP_HDR_SIZE));
		TEST_ASSERT(memcmp(&p.b[RTP_HDR_SIZE], &orig.b[RTP_HDR_SIZE],
				   RTP_LEN - RTP_HDR_SIZE));

		TEST_CHECK(srtp_pair_unprotect(relay, false, p.b, &p.len));
		TEST_EQUALS(RTP_LEN, p.len);
		TEST_ASSERT(!memcmp(p.b, orig.b, RTP_LEN));
	}

	rtcp_make(&p, 0x1234, 0x33);
	orig = p;
	TEST_CHECK(srtp_pair_protect(phone, true, p.b, &p.len, sizeof(p.b)));
	TEST_EQUALS(RTCP_LEN + sdes_trailer(suite, true), p.len);
	TEST_ASSERT(sdes_trailer(suite, true) <= SDES_OVERHEAD);
	TEST_ASSERT(memcmp(&p.b[8], &orig.b[8], RTCP_LEN - 8));
	TEST_CHECK(srtp_pair_unprotect(relay, true, p.b, &p.len));
	TEST_EQUALS(RTCP_LEN, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, RTCP_LEN));

	/* the room protect needs, exactly */
	TEST_CHECK(rtp_make(&p, 200, 0x1234));
	TEST_EQUALS(ENOBUFS, srtp_pair_protect(phone, false, p.b, &p.len,
			RTP_LEN + sdes_trailer(suite, false) - 1));
	TEST_EQUALS(RTP_LEN, p.len);
	TEST_CHECK(srtp_pair_protect(phone, false, p.b, &p.len,
				     RTP_LEN + sdes_trailer(suite, false)));
	rtcp_make(&p, 0x1234, 0x44);
	TEST_EQUALS(ENOBUFS, srtp_pair_protect(phone, true, p.b, &p.len,
			RTCP_LEN + sdes_trailer(suite, true) - 1));
	TEST_CHECK(srtp_pair_protect(phone, true, p.b, &p.len,
				     RTCP_LEN + sdes_trailer(suite, true)));

	/* a direction without a key passes packets untouched */
	TEST_CHECK(rtp_make(&p, 300, 0x1234));
	orig = p;
	TEST_CHECK(srtp_pair_protect(relay, false, p.b, &p.len, p.len));
	TEST_CHECK(srtp_pair_unprotect(phone, false, p.b, &p.len));
	TEST_CHECK(srtp_pair_protect(NULL, false, p.b, &p.len, p.len));
	TEST_EQUALS(RTP_LEN, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, RTP_LEN));

 out:
	mem_deref(phone);
	mem_deref(relay);

	return err;
}


int test_srtp_pair_roundtrip(void)
{
	struct srtp_pair *sp = NULL;
	struct sdes_key k;
	bool lib = false;
	int err = 0, s;

	TEST_CHECK(sdes_init());
	lib = true;

	for (s = 0; s < SDES_SUITE_COUNT; s++) {
		if (sdes_suite_supported((enum sdes_suite)s))
			TEST_CHECK(roundtrip((enum sdes_suite)s));
	}

	TEST_EQUALS(EINVAL, srtp_pair_alloc(&sp, NULL, NULL));
	TEST_CHECK(sdes_make(&k, 1, SDES_AES_CM_80));
	k.keylen = 0;
	TEST_EQUALS(EINVAL, srtp_pair_alloc(&sp, &k, NULL));
	TEST_ASSERT(sp == NULL);

 out:
	mem_deref(sp);
	if (lib)
		sdes_close();

	return err;
}


static int tamper(enum sdes_suite suite)
{
	struct srtp_pair *phone = NULL, *relay = NULL, *wrong = NULL;
	struct pkt p, keep, bad;
	struct sdes_key k, k2;
	size_t n, i;
	int err = 0;

	TEST_CHECK(sdes_make(&k, 1, suite));
	TEST_CHECK(sdes_make(&k2, 1, suite));
	TEST_CHECK(srtp_pair_alloc(&phone, NULL, &k));
	TEST_CHECK(srtp_pair_alloc(&relay, &k, NULL));
	TEST_CHECK(srtp_pair_alloc(&wrong, &k2, NULL));

	/* one bit anywhere: in the header, the payload or the tag */
	TEST_CHECK(rtp_make(&p, 1, 0x99));
	TEST_CHECK(srtp_pair_protect(phone, false, p.b, &p.len, sizeof(p.b)));
	keep = p;
	for (i = 3; i < keep.len; i += 40) {
		bad = keep;
		bad.b[i] ^= 0x10;
		TEST_EQUALS(EAUTH, srtp_pair_unprotect(relay, false, bad.b,
						       &bad.len));
	}
	bad = keep;
	bad.b[bad.len - 1] ^= 0x01;
	TEST_EQUALS(EAUTH, srtp_pair_unprotect(relay, false, bad.b,
					       &bad.len));
	bad = keep;
	TEST_EQUALS(EAUTH, srtp_pair_unprotect(wrong, false, bad.b,
					       &bad.len));

	/* failures leave no mark: the real one passes, once */
	p = keep;
	TEST_CHECK(srtp_pair_unprotect(relay, false, p.b, &p.len));
	p = keep;
	TEST_EQUALS(EALREADY, srtp_pair_unprotect(relay, false, p.b, &p.len));

	/* older than the replay window */
	TEST_CHECK(rtp_make(&keep, 2, 0x99));
	TEST_CHECK(srtp_pair_protect(phone, false, keep.b, &keep.len,
				     sizeof(keep.b)));
	TEST_CHECK(rtp_make(&p, 1000, 0x99));
	TEST_CHECK(srtp_pair_protect(phone, false, p.b, &p.len, sizeof(p.b)));
	TEST_CHECK(srtp_pair_unprotect(relay, false, p.b, &p.len));
	TEST_EQUALS(EALREADY, srtp_pair_unprotect(relay, false, keep.b,
						  &keep.len));

	/* RTCP: flipped, then replayed */
	rtcp_make(&p, 0x99, 0x21);
	TEST_CHECK(srtp_pair_protect(phone, true, p.b, &p.len, sizeof(p.b)));
	keep = p;
	bad = keep;
	bad.b[12] ^= 0x80;
	TEST_EQUALS(EAUTH, srtp_pair_unprotect(relay, true, bad.b, &bad.len));
	TEST_CHECK(srtp_pair_unprotect(relay, true, p.b, &p.len));
	p = keep;
	TEST_EQUALS(EALREADY, srtp_pair_unprotect(relay, true, p.b, &p.len));

	/* cut short: refused, never read past the length */
	for (n = 0; n < keep.len; n++) {
		bad = keep;
		bad.len = n;
		TEST_ASSERT(srtp_pair_unprotect(relay, false, bad.b,
						&bad.len) != 0);
		bad = keep;
		bad.len = n;
		TEST_ASSERT(srtp_pair_unprotect(relay, true, bad.b,
						&bad.len) != 0);
	}

 out:
	mem_deref(phone);
	mem_deref(relay);
	mem_deref(wrong);

	return err;
}


int test_srtp_pair_tamper(void)
{
	bool lib = false;
	int err = 0, s;

	TEST_CHECK(sdes_init());
	lib = true;

	for (s = 0; s < SDES_SUITE_COUNT; s++) {
		if (sdes_suite_supported((enum sdes_suite)s))
			TEST_CHECK(tamper((enum sdes_suite)s));
	}

 out:
	if (lib)
		sdes_close();

	return err;
}


/* one packet from a phone's pair to another's, through the relay's
 * two legs: unprotected by the first, protected by the second */
static int cross(struct srtp_pair *from, struct srtp_pair *leg_in,
		 struct srtp_pair *leg_out, struct srtp_pair *to, bool rtcp,
		 uint16_t seq)
{
	struct pkt p, orig;
	int err = 0;

	if (rtcp)
		rtcp_make(&p, 0xabc0 + seq, (uint8_t)seq);
	else
		TEST_CHECK(rtp_make(&p, seq, 0xabc0));
	orig = p;

	TEST_CHECK(srtp_pair_protect(from, rtcp, p.b, &p.len, sizeof(p.b)));
	TEST_CHECK(srtp_pair_unprotect(leg_in, rtcp, p.b, &p.len));
	TEST_EQUALS(orig.len, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, p.len));
	TEST_CHECK(srtp_pair_protect(leg_out, rtcp, p.b, &p.len,
				     sizeof(p.b)));
	TEST_CHECK(srtp_pair_unprotect(to, rtcp, p.b, &p.len));
	TEST_EQUALS(orig.len, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, p.len));

 out:
	return err;
}


/* an SRTP phone (a), the relay's legs a and b, and phone b: plain RTP,
 * then SRTP with another suite */
int test_srtp_pair_relay(void)
{
	struct srtp_pair *pa = NULL, *la = NULL, *lb = NULL, *pb = NULL;
	struct sdes_key a, ra, b, rb;
	bool lib = false;
	uint16_t seq;
	int err = 0;

	TEST_CHECK(sdes_init());
	lib = true;

	/* a: the phone's key; ra: the relay's toward it */
	TEST_CHECK(sdes_make(&a, 1, SDES_AES_CM_80));
	TEST_CHECK(sdes_make(&ra, 1, SDES_AES_CM_80));
	TEST_CHECK(srtp_pair_alloc(&pa, &ra, &a));
	TEST_CHECK(srtp_pair_alloc(&la, &a, &ra));

	for (seq = 1; seq <= 5; seq++) {
		TEST_CHECK(cross(pa, la, NULL, NULL, false, seq));
		TEST_CHECK(cross(NULL, NULL, la, pa, false, seq));
		TEST_CHECK(cross(pa, la, NULL, NULL, true, seq));
		TEST_CHECK(cross(NULL, NULL, la, pa, true, seq));
	}

	TEST_CHECK(sdes_make(&b, 2, SDES_AES_CM_32));
	TEST_CHECK(sdes_make(&rb, 2, SDES_AES_CM_32));
	if (sdes_suite_supported(SDES_AEAD_GCM_128)) {
		TEST_CHECK(sdes_make(&b, 2, SDES_AEAD_GCM_128));
		TEST_CHECK(sdes_make(&rb, 2, SDES_AEAD_GCM_128));
	}
	TEST_CHECK(srtp_pair_alloc(&pb, &rb, &b));
	TEST_CHECK(srtp_pair_alloc(&lb, &b, &rb));

	for (seq = 10; seq <= 15; seq++) {
		TEST_CHECK(cross(pa, la, lb, pb, false, seq));
		TEST_CHECK(cross(pb, lb, la, pa, false, seq));
		TEST_CHECK(cross(pa, la, lb, pb, true, seq));
		TEST_CHECK(cross(pb, lb, la, pa, true, seq));
	}

 out:
	mem_deref(pa);
	mem_deref(la);
	mem_deref(lb);
	mem_deref(pb);
	if (lib)
		sdes_close();

	return err;
}


/* a party whose key has an MKI puts it in each packet, before the tag */
int test_srtp_pair_mki(void)
{
	struct srtp_pair *phone = NULL, *relay = NULL, *plain = NULL;
	char line[SDES_ATTR_MAX], made[SDES_ATTR_MAX];
	struct sdes_key k, nomki;
	struct pkt p, orig, keep;
	struct pl val;
	bool lib = false;
	int err = 0;

	TEST_CHECK(sdes_init());
	lib = true;

	TEST_CHECK(sdes_make(&k, 1, SDES_AES_CM_80));
	TEST_CHECK(sdes_print(made, sizeof(made), &k));
	(void)re_snprintf(line, sizeof(line), "%s|2^31|1:4", made);
	pl_set_str(&val, line);
	TEST_CHECK(sdes_parse(&k, &val));
	TEST_EQUALS(4, k.mkilen);
	nomki = k;
	nomki.mkilen = 0;
	memset(nomki.mki, 0, sizeof(nomki.mki));

	TEST_CHECK(srtp_pair_alloc(&phone, NULL, &k));
	TEST_CHECK(srtp_pair_alloc(&relay, &k, NULL));
	TEST_CHECK(srtp_pair_alloc(&plain, &nomki, NULL));

	TEST_CHECK(rtp_make(&p, 7, 0x77));
	orig = p;
	TEST_EQUALS(ENOBUFS, srtp_pair_protect(phone, false, p.b, &p.len,
					       RTP_LEN + 10 + 3));
	TEST_CHECK(srtp_pair_protect(phone, false, p.b, &p.len,
				     RTP_LEN + 10 + 4));
	TEST_EQUALS(RTP_LEN + 4 + 10, p.len);
	TEST_ASSERT(!memcmp(&p.b[RTP_LEN], "\x00\x00\x00\x01", 4));
	keep = p;

	TEST_ASSERT(srtp_pair_unprotect(plain, false, p.b, &p.len) != 0);
	p = keep;
	p.b[RTP_LEN + 3] = 2;
	TEST_ASSERT(srtp_pair_unprotect(relay, false, p.b, &p.len) != 0);
	p = keep;
	TEST_CHECK(srtp_pair_unprotect(relay, false, p.b, &p.len));
	TEST_EQUALS(RTP_LEN, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, RTP_LEN));

	rtcp_make(&p, 0x77, 0x12);
	orig = p;
	TEST_CHECK(srtp_pair_protect(phone, true, p.b, &p.len, sizeof(p.b)));
	TEST_EQUALS(RTCP_LEN + 4 + 4 + 10, p.len);
	TEST_CHECK(srtp_pair_unprotect(relay, true, p.b, &p.len));
	TEST_EQUALS(RTCP_LEN, p.len);
	TEST_ASSERT(!memcmp(p.b, orig.b, RTCP_LEN));

 out:
	mem_deref(phone);
	mem_deref(relay);
	mem_deref(plain);
	if (lib)
		sdes_close();

	return err;
}
