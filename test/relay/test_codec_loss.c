/**
 * @file test_codec_loss.c  Codecs facing a bad network: lost frames and
 *                          payloads that are not what they claim
 */
#include <string.h>
#include <re.h>
#include "../../media/codec.h"
#include "relaytest.h"


enum {
	AMP   = 8000,
	GUARD = 16,               /**< Samples past a frame, untouched */
	FILL  = 0x5a5a,           /**< What the guard holds           */
};

/** The codecs, at the rates the relay runs them */
static const struct run {
	enum codec_id id;
	uint32_t srate;
} runv[] = {
	{CODEC_PCMU, 8000}, {CODEC_PCMA, 8000}, {CODEC_G722, 16000},
	{CODEC_OPUS, 8000}, {CODEC_OPUS, 16000}, {CODEC_OPUS, 48000},
};


/* conceal one frame into out[frame + GUARD]; the guard must hold */
static int conceal(struct codec *c, int16_t *out, size_t frame,
		   const uint8_t *next, size_t next_len)
{
	size_t i;
	int err = 0;

	for (i = 0; i < frame + GUARD; i++)
		out[i] = FILL;

	TEST_CHECK(codec_conceal(c, out, frame, next, next_len));
	for (i = frame; i < frame + GUARD; i++)
		TEST_EQUALS(FILL, out[i]);

 out:
	return err;
}


/* a tone; frame 8 lost with nothing after it, frame 18 lost with the
 * next at hand: both made up, the tone goes on; ten frames later it
 * is back at its level (SILK takes that long to settle after a loss) */
static int tone_loss(const struct run *r)
{
	const size_t frame = r->srate / 50;
	uint8_t pay[30][400];
	size_t len[30], i, n, got = 0;
	int16_t in[960], out[960 + GUARD], tail[960 * 2];
	struct codec *c = NULL;
	uint64_t pos = 0;
	int err;

	err = codec_alloc(&c, r->id, r->srate, NULL);
	if (err)
		return err;

	for (i = 0; i < ARRAY_SIZE(pay); i++) {
		len[i] = sizeof(pay[i]);
		test_sine(in, frame, 1000, r->srate, AMP, &pos);
		TEST_CHECK(codec_encode(c, pay[i], &len[i], in, frame));
	}

	for (i = 0; i < ARRAY_SIZE(pay); i++) {
		if (i == 8 || i == 18) {
			TEST_CHECK(conceal(c, out, frame, i == 18 ?
					   pay[i + 1] : NULL, len[i + 1]));
			TEST_ASSERT(test_tone_amplitude(out, frame, 1000,
							r->srate) > AMP / 4);
			continue;
		}

		n = ARRAY_SIZE(out);
		TEST_CHECK(codec_decode(c, out, &n, pay[i], len[i]));
		TEST_EQUALS(frame, n);
		if (i >= ARRAY_SIZE(pay) - 2) {
			memcpy(&tail[got], out, n * sizeof(*out));
			got += n;
		}
	}

	TEST_ASSERT(test_tone_amplitude(tail, got, 1000, r->srate) > AMP / 2);

	/* a garbage next packet: still a whole frame */
	TEST_CHECK(conceal(c, out, frame, (const uint8_t *)"\xff\xff\xff", 3));

 out:
	mem_deref(c);

	return err;
}


/* silence, then a tone that starts in a lost frame: only the next
 * packet's FEC can bring it back, and only if the encoder sent it */
static int fec_onset(const char *fmtp, double *amp)
{
	uint8_t pay[2][400];
	size_t len[2], i, n;
	int16_t in[160], out[160 + GUARD];
	struct codec *c = NULL;
	uint64_t pos = 0;
	struct pl pl;
	int err;

	pl_set_str(&pl, fmtp);
	err = codec_alloc(&c, CODEC_OPUS, 8000, &pl);
	if (err)
		return err;

	memset(in, 0, sizeof(in));
	for (i = 0; i < 20; i++) {
		len[0] = sizeof(pay[0]);
		TEST_CHECK(codec_encode(c, pay[0], &len[0], in, 160));
		n = ARRAY_SIZE(out);
		TEST_CHECK(codec_decode(c, out, &n, pay[0], len[0]));
	}

	for (i = 0; i < ARRAY_SIZE(pay); i++) {
		len[i] = sizeof(pay[i]);
		test_sine(in, 160, 1000, 8000, AMP, &pos);
		TEST_CHECK(codec_encode(c, pay[i], &len[i], in, 160));
	}

	/* pay[0] is lost; pay[1] holds its FEC */
	TEST_CHECK(conceal(c, out, 160, pay[1], len[1]));
	*amp = test_tone_amplitude(out, 160, 1000, 8000);

 out:
	mem_deref(c);

	return err;
}


/* PCMU: a loss after 1 to 7 good frames, so that it meets SpanDSP's
 * history ring at each place a 20 ms frame leaves it */
static int loss_after(size_t good)
{
	int16_t in[160], out[160 + GUARD];
	struct codec *c = NULL;
	uint8_t pay[160];
	uint64_t pos = 0;
	size_t i, n, len;
	int err;

	err = codec_alloc(&c, CODEC_PCMU, 8000, NULL);
	if (err)
		return err;

	for (i = 0; i < good; i++) {
		len = sizeof(pay);
		test_sine(in, 160, 1000, 8000, AMP, &pos);
		TEST_CHECK(codec_encode(c, pay, &len, in, 160));
		n = ARRAY_SIZE(out);
		TEST_CHECK(codec_decode(c, out, &n, pay, len));
	}

	TEST_CHECK(conceal(c, out, 160, NULL, 0));
	TEST_ASSERT(test_tone_amplitude(out, 160, 1000, 8000) > AMP / 4);

 out:
	mem_deref(c);

	return err;
}


int test_codec_conceal(void)
{
	struct codec *c = NULL;
	int16_t out[960];
	double with, without;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(runv); i++) {
		err = tone_loss(&runv[i]);
		if (err) {
			(void)re_fprintf(stderr, "conceal: %s at %u Hz\n",
					 codec_info(runv[i].id)->name,
					 runv[i].srate);
			goto out;
		}
	}

	for (i = 1; i <= 7; i++)
		TEST_CHECK(loss_after(i));

	TEST_CHECK(fec_onset("useinbandfec=1", &with));
	TEST_CHECK(fec_onset("useinbandfec=0", &without));
	TEST_ASSERT(with > AMP / 4 && without < with / 4);

	/* a party that said nothing takes none (RFC 7587's default) */
	TEST_CHECK(fec_onset("", &without));
	TEST_ASSERT(without < with / 4);

	/* libopus must be told a whole number of 2.5 ms */
	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 8000, NULL));
	TEST_EQUALS(EINVAL, codec_conceal(c, out, 150, NULL, 0));
	TEST_EQUALS(EINVAL, codec_conceal(c, out, 0, NULL, 0));

 out:
	mem_deref(c);

	return err;
}


/* xorshift32: the same garbage every run */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;

	return *s;
}


/* random payloads: decoded within bounds or refused, never a crash;
 * then a real frame still decodes */
static int garbage(const struct run *r, uint32_t *seed)
{
	const size_t frame = r->srate / 50;
	int16_t pcm[5760], in[960];
	uint8_t buf[1500];
	struct codec *c = NULL;
	uint64_t pos = 0;
	size_t i, k, n, len;
	int err;

	err = codec_alloc(&c, r->id, r->srate, NULL);
	if (err)
		return err;

	for (k = 0; k < 1000; k++) {
		len = 1 + next_rand(seed) % (k % 4 ? 64 : sizeof(buf));
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)next_rand(seed);

		n = ARRAY_SIZE(pcm);
		err = codec_decode(c, pcm, &n, buf, len);
		if (err == EBADMSG || err == ENOBUFS) {
			err = 0;
			continue;
		}
		TEST_CHECK(err);
		TEST_ASSERT(n > 0);
		TEST_EQUALS(codec_samples(c, buf, len), n);
	}

	len = sizeof(buf);
	test_sine(in, frame, 1000, r->srate, AMP, &pos);
	TEST_CHECK(codec_encode(c, buf, &len, in, frame));
	n = ARRAY_SIZE(pcm);
	TEST_CHECK(codec_decode(c, pcm, &n, buf, len));
	TEST_EQUALS(frame, n);

	/* nothing, or no room for it */
	n = ARRAY_SIZE(pcm);
	TEST_EQUALS(EBADMSG, codec_decode(c, pcm, &n, buf, 0));
	n = frame / 2;
	TEST_EQUALS(ENOBUFS, codec_decode(c, pcm, &n, buf, len));
	TEST_EQUALS(0, codec_samples(c, buf, 0));

 out:
	mem_deref(c);

	return err;
}


int test_codec_garbage(void)
{
	uint32_t seed = 0x2545f491;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(runv); i++)
		TEST_CHECK(garbage(&runv[i], &seed));

 out:
	return err;
}
