/**
 * @file test_codec.c  Codecs, resampler and RTP headers of the
 *                     transcode path
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "../../media/resamp.h"
#include "../../media/rtp.h"
#include "relaytest.h"


/**
 * Amplitude of one frequency in a signal (a single DFT bin)
 *
 * @param pcm   Samples
 * @param n     Number of them
 * @param hz    Frequency
 * @param srate Sample rate
 *
 * @return Amplitude, in sample units
 */
double test_tone_amplitude(const int16_t *pcm, size_t n, double hz,
			   uint32_t srate)
{
	double re = 0, im = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double w = 2 * M_PI * hz * (double)i / srate;

		re += pcm[i] * cos(w);
		im += pcm[i] * sin(w);
	}

	return n ? 2 * sqrt(re * re + im * im) / (double)n : 0;
}


/**
 * Fill a buffer with a sine, continuing its phase
 *
 * @param pcm   Samples out
 * @param n     Number of them
 * @param hz    Frequency
 * @param srate Sample rate
 * @param amp   Amplitude
 * @param pos   Sample position, advanced
 */
void test_sine(int16_t *pcm, size_t n, double hz, uint32_t srate,
	       double amp, uint64_t *pos)
{
	size_t i;

	for (i = 0; i < n; i++, ++*pos)
		pcm[i] = (int16_t)(amp * sin(2 * M_PI * hz * (double)*pos /
					     srate));
}


/* 30 frames of a tone through a codec; the last 10 are checked */
static int roundtrip(int id, uint32_t srate, double hz)
{
	int16_t in[960], out[960 * 10], dec[2880];
	size_t frame = srate / 50, got = 0, n;
	struct codec *c = NULL;
	uint8_t buf[1500];
	uint64_t pos = 0;
	double amp;
	int i, err;

	err = codec_alloc(&c, id, srate);
	if (err)
		return err;

	for (i = 0; i < 30; i++) {
		size_t len = sizeof(buf);

		test_sine(in, frame, hz, srate, 8000, &pos);
		TEST_CHECK(codec_encode(c, buf, &len, in, frame));
		TEST_ASSERT(len > 0 && len < 400);

		n = ARRAY_SIZE(dec);
		TEST_CHECK(codec_decode(c, dec, &n, buf, len));
		TEST_EQUALS(frame, n);

		if (i >= 20) {
			memcpy(&out[got], dec, n * sizeof(*dec));
			got += n;
		}
	}

	amp = test_tone_amplitude(out, got, hz, srate);
	if (amp < 8000 * 0.7 || amp > 8000 * 1.3) {
		(void)re_fprintf(stderr, "codec %d at %u Hz, %.0f Hz tone:"
				 " amplitude %.0f of 8000\n", id, srate, hz,
				 amp);
		err = EINVAL;
	}

 out:
	mem_deref(c);

	return err;
}


int test_codec_roundtrip(void)
{
	const struct codec_info *ci;
	struct codec *c = NULL;
	struct pl name;
	int err = 0;

	TEST_CHECK(roundtrip(CODEC_PCMU, 8000, 1000));
	TEST_CHECK(roundtrip(CODEC_PCMU, 8000, 300));
	TEST_CHECK(roundtrip(CODEC_PCMA, 8000, 1000));
	TEST_CHECK(roundtrip(CODEC_G722, 16000, 1000));
	TEST_CHECK(roundtrip(CODEC_G722, 16000, 5000));
	TEST_CHECK(roundtrip(CODEC_OPUS, 8000, 1000));
	TEST_CHECK(roundtrip(CODEC_OPUS, 16000, 300));
	TEST_CHECK(roundtrip(CODEC_OPUS, 48000, 1000));

	/* rates a codec cannot run at */
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_PCMU, 16000));
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_G722, 8000));
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_OPUS, 44100));
	TEST_EQUALS(EINVAL, codec_alloc(&c, CODEC_COUNT, 8000));

	/* rtpmap names, any case, with their clock */
	pl_set_str(&name, "OPUS");
	ci = codec_find(&name, 48000);
	TEST_ASSERT(ci && ci->id == CODEC_OPUS);
	pl_set_str(&name, "pcma");
	ci = codec_find(&name, 8000);
	TEST_ASSERT(ci && ci->id == CODEC_PCMA && ci->pt == 8);
	TEST_ASSERT(codec_find(&name, 16000) == NULL);
	pl_set_str(&name, "G729");
	TEST_ASSERT(codec_find(&name, 8000) == NULL);

	/* known G.711 values (ITU-T G.711 tables) */
	TEST_CHECK(codec_alloc(&c, CODEC_PCMU, 8000));
	{
		const int16_t pcm[4] = {0, 32767, -32768, 1000};
		const uint8_t exp[4] = {0xff, 0x80, 0x00, 0xce};
		uint8_t enc[4];
		size_t len = sizeof(enc);

		TEST_CHECK(codec_encode(c, enc, &len, pcm, 4));
		TEST_EQUALS(4, len);
		TEST_ASSERT(!memcmp(enc, exp, 4));
	}

	/* timestamp steps of 20 ms */
	TEST_EQUALS(160, codec_ts_step(c, 160));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_G722, 16000));
	TEST_EQUALS(160, codec_ts_step(c, 320));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 8000));
	TEST_EQUALS(960, codec_ts_step(c, 160));

 out:
	mem_deref(c);

	return err;
}


int test_codec_conceal(void)
{
	static const int idv[] = {CODEC_PCMU, CODEC_G722, CODEC_OPUS};
	static const uint32_t ratev[] = {8000, 16000, 8000};
	struct codec *c = NULL;
	int16_t in[320], out[320];
	uint8_t buf[400];
	uint64_t pos = 0;
	size_t i, k;
	int err = 0;

	for (k = 0; k < ARRAY_SIZE(idv); k++) {
		size_t frame = ratev[k] / 50, len = 0;

		TEST_CHECK(codec_alloc(&c, idv[k], ratev[k]));

		for (i = 0; i < 10; i++) {
			size_t n = ARRAY_SIZE(out);

			len = sizeof(buf);
			test_sine(in, frame, 1000, ratev[k], 8000, &pos);
			TEST_CHECK(codec_encode(c, buf, &len, in, frame));
			TEST_CHECK(codec_decode(c, out, &n, buf, len));
		}

		/* a lost frame is made up from what came before: the tone
		 * goes on, not silence */
		memset(out, 0, sizeof(out));
		TEST_CHECK(codec_conceal(c, out, frame, NULL, 0));
		TEST_ASSERT(test_tone_amplitude(out, frame, 1000, ratev[k])
			    > 2000);

		/* with the next packet (Opus: its FEC) */
		TEST_CHECK(codec_conceal(c, out, frame, buf, len));

		c = mem_deref(c);
	}

 out:
	mem_deref(c);

	return err;
}


int test_codec_garbage(void)
{
	struct codec *c = NULL;
	int16_t pcm[5760];
	uint8_t buf[300];
	size_t i, k, n;
	int err = 0;

	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 8000));

	/* the network sends anything: decoded or refused, never a crash */
	for (k = 0; k < 500; k++) {
		size_t len = 1 + rand_u16() % sizeof(buf);

		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_u16();
		n = ARRAY_SIZE(pcm);
		if (!codec_decode(c, pcm, &n, buf, len))
			TEST_ASSERT(n <= 960);
	}

	n = ARRAY_SIZE(pcm);
	TEST_EQUALS(EBADMSG, codec_decode(c, pcm, &n, buf, 0));

 out:
	mem_deref(c);

	return err;
}


static int resample(uint32_t in_rate, uint32_t out_rate, double hz,
		    double *amp)
{
	struct resamp *rs = NULL;
	int16_t in[960], out[2880 * 10];
	size_t in_n = in_rate / 50, got = 0, i;
	uint64_t pos = 0;
	int err = 0;

	TEST_CHECK(resamp_alloc(&rs, in_rate, out_rate));

	for (i = 0; i < 20; i++) {
		size_t n = 2880;

		test_sine(in, in_n, hz, in_rate, 8000, &pos);
		TEST_CHECK(resamp_process(rs, &out[i >= 10 ? got : 0], &n,
					  in, in_n));
		TEST_EQUALS(out_rate / 50, n);
		if (i >= 10)
			got += n;
	}

	*amp = test_tone_amplitude(out, got, hz, out_rate);

 out:
	mem_deref(rs);

	return err;
}


int test_resamp(void)
{
	static const uint32_t ratev[] = {8000, 16000, 48000};
	struct resamp *rs = NULL;
	double amp;
	size_t i, k;
	int err = 0;

	/* every direction keeps a 1 kHz tone, with exact counts */
	for (i = 0; i < ARRAY_SIZE(ratev); i++) {
		for (k = 0; k < ARRAY_SIZE(ratev); k++) {
			if (i == k)
				continue;
			TEST_CHECK(resample(ratev[i], ratev[k], 1000, &amp));
			TEST_ASSERT(amp > 8000 * 0.7 && amp < 8000 * 1.3);
		}
	}

	/* going down filters what the lower rate cannot carry: a 6 kHz
	 * tone must not fold back to 2 kHz at 8 kHz */
	{
		double folded;
		struct resamp *r2 = NULL;
		int16_t in[320], out[160];
		uint64_t pos = 0;
		size_t n, j;

		TEST_CHECK(resamp_alloc(&r2, 16000, 8000));
		for (j = 0; j < 10; j++) {
			n = ARRAY_SIZE(out);
			test_sine(in, 320, 6000, 16000, 8000, &pos);
			err = resamp_process(r2, out, &n, in, 320);
			if (err)
				break;
		}
		mem_deref(r2);
		TEST_CHECK(err);
		folded = test_tone_amplitude(out, 160, 2000, 8000);
		TEST_ASSERT(folded < 8000 * 0.1);
	}

	TEST_EQUALS(ENOTSUP, resamp_alloc(&rs, 44100, 8000));

 out:
	mem_deref(rs);

	return err;
}


int test_rtp_parse(void)
{
	uint8_t pkt[64];
	struct rtp_hdr h;
	int err = 0;

	TEST_CHECK(rtp_build(pkt, sizeof(pkt), true, 111, 65535, 0xdeadbeef,
			     0x01020304));
	memcpy(&pkt[12], "abcd", 4);
	TEST_CHECK(rtp_parse(&h, pkt, 16));
	TEST_ASSERT(h.marker);
	TEST_EQUALS(111, h.pt);
	TEST_EQUALS(65535, h.seq);
	TEST_EQUALS(0xdeadbeef, h.ts);
	TEST_EQUALS(0x01020304, h.ssrc);
	TEST_EQUALS(4, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "abcd", 4));

	/* a CSRC and an extension of one word before the payload */
	pkt[0] = 0x80 | 0x10 | 1;
	memset(&pkt[12], 0, 4);
	pkt[16] = 0xbe; pkt[17] = 0xde; pkt[18] = 0; pkt[19] = 1;
	memcpy(&pkt[24], "xy", 2);
	TEST_CHECK(rtp_parse(&h, pkt, 26));
	TEST_EQUALS(2, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "xy", 2));

	/* what a packet claims beyond its end */
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 23));
	pkt[0] = 0x80 | 15;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 26));
	pkt[0] = 0x80 | 0x20;
	pkt[15] = 9;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 16));
	pkt[15] = 2;
	TEST_CHECK(rtp_parse(&h, pkt, 16));
	TEST_EQUALS(2, h.plen);
	pkt[0] = 0x40;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 16));
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 11));
	TEST_EQUALS(ENOBUFS, rtp_build(pkt, 11, false, 0, 0, 0, 0));

 out:
	return err;
}
