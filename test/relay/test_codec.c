/**
 * @file test_codec.c  Codecs and resampler of the transcode path
 *
 * Tones go through each codec and the resampler; what comes out is
 * measured with a Goertzel filter: its level at the tone, and the share
 * of its power that the tone holds (so a wrong frequency, noise or an
 * alias fails).
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include <opus/opus.h>
#include "../../media/codec.h"
#include "../../media/resamp.h"
#include "relaytest.h"


enum { AMP = 8000 };


/**
 * Amplitude of one frequency in a signal (Goertzel)
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
	double coef = 2 * cos(2 * M_PI * hz / srate), q0, q1 = 0, q2 = 0;
	size_t i;

	if (!n)
		return 0;

	/* not rem's goertzel_*: the binary links SpanDSP's functions of
	 * the same names (media/dtmf_inband.c) */
	for (i = 0; i < n; i++) {
		q0 = coef * q1 - q2 + pcm[i];
		q2 = q1;
		q1 = q0;
	}

	/* |X| is the amplitude times n / 2 */
	return 2 * sqrt(q1 * q1 + q2 * q2 - coef * q1 * q2) / (double)n;
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


/* share of the signal's power in the tone at hz, 0 .. 1 */
static double purity(const int16_t *pcm, size_t n, double hz,
		     uint32_t srate)
{
	double a = test_tone_amplitude(pcm, n, hz, srate), ms = 0;
	size_t i;

	for (i = 0; i < n; i++)
		ms += (double)pcm[i] * pcm[i];

	return ms > 0 ? a * a / 2 / (ms / (double)n) : 0;
}


/* a tone of AMP through a codec for 50 frames of 20 ms; the last 25
 * must hold it within 1 dB and for 98 % of their power */
static int roundtrip(enum codec_id id, uint32_t srate, double hz)
{
	int16_t in[960], dec[960], out[960 * 25];
	size_t frame = srate / 50, got = 0, n;
	struct codec *c = NULL;
	uint8_t buf[1500];
	uint64_t pos = 0;
	double amp, pur;
	int i, err;

	err = codec_alloc(&c, id, srate, NULL);
	if (err)
		return err;

	for (i = 0; i < 50; i++) {
		size_t len = sizeof(buf);

		test_sine(in, frame, hz, srate, AMP, &pos);
		TEST_CHECK(codec_encode(c, buf, &len, in, frame));
		TEST_ASSERT(len > 0 && len <= frame);
		TEST_EQUALS(frame, codec_samples(c, buf, len));

		n = ARRAY_SIZE(dec);
		TEST_CHECK(codec_decode(c, dec, &n, buf, len));
		TEST_EQUALS(frame, n);

		if (i >= 25) {
			memcpy(&out[got], dec, n * sizeof(*dec));
			got += n;
		}
	}

	amp = test_tone_amplitude(out, got, hz, srate);
	pur = purity(out, got, hz, srate);
	if (amp < AMP * 0.891 || amp > AMP * 1.122 || pur < 0.98) {
		(void)re_fprintf(stderr, "%s at %u Hz, %.0f Hz tone: amplitude"
				 " %.0f of %d, %.1f %% of the power\n",
				 codec_info(id)->name, srate, hz, amp, AMP,
				 100 * pur);
		err = EINVAL;
	}

 out:
	mem_deref(c);

	return err;
}


int test_codec_roundtrip(void)
{
	static const struct {
		enum codec_id id;
		uint32_t srate;
	} runv[] = {
		{CODEC_PCMU, 8000}, {CODEC_PCMA, 8000}, {CODEC_G722, 16000},
		{CODEC_OPUS, 8000}, {CODEC_OPUS, 16000}, {CODEC_OPUS, 48000},
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(runv); i++) {
		TEST_CHECK(roundtrip(runv[i].id, runv[i].srate, 1000));
		TEST_CHECK(roundtrip(runv[i].id, runv[i].srate, 300));
	}

	/* G.722 carries what G.711 cannot */
	TEST_CHECK(roundtrip(CODEC_G722, 16000, 5000));

 out:
	return err;
}


/* ITU-T G.711 tables, at 16-bit scale */
int test_codec_g711(void)
{
	static const int16_t pcm[] = {0, -1, 1000, 32767, -32768};
	static const uint8_t ulaw[] = {0xff, 0x7f, 0xce, 0x80, 0x00};
	static const uint8_t alaw[] = {0xd5, 0x55, 0xfa, 0xaa, 0x2a};
	static const uint8_t dec_in[] = {0xff, 0x7f, 0x00, 0x80, 0xce};
	static const int16_t dec_u[] = {0, 0, -32124, 32124, 988};
	static const int16_t dec_a[] = {8, -8, 1008, 32256, -32256};
	struct codec *u = NULL, *a = NULL;
	uint8_t buf[8];
	int16_t out[8];
	size_t len, n;
	int err = 0;

	TEST_CHECK(codec_alloc(&u, CODEC_PCMU, 8000, NULL));
	TEST_CHECK(codec_alloc(&a, CODEC_PCMA, 8000, NULL));

	len = sizeof(buf);
	TEST_CHECK(codec_encode(u, buf, &len, pcm, ARRAY_SIZE(pcm)));
	TEST_EQUALS(ARRAY_SIZE(ulaw), len);
	TEST_ASSERT(!memcmp(buf, ulaw, len));

	len = sizeof(buf);
	TEST_CHECK(codec_encode(a, buf, &len, pcm, ARRAY_SIZE(pcm)));
	TEST_ASSERT(!memcmp(buf, alaw, sizeof(alaw)));

	n = ARRAY_SIZE(out);
	TEST_CHECK(codec_decode(u, out, &n, dec_in, sizeof(dec_in)));
	TEST_EQUALS(ARRAY_SIZE(dec_u), n);
	TEST_ASSERT(!memcmp(out, dec_u, sizeof(dec_u)));

	n = ARRAY_SIZE(out);
	TEST_CHECK(codec_decode(a, out, &n, alaw, sizeof(alaw)));
	TEST_EQUALS(ARRAY_SIZE(dec_a), n);
	TEST_ASSERT(!memcmp(out, dec_a, sizeof(dec_a)));

	/* too small a buffer either way */
	len = 4;
	TEST_EQUALS(ENOBUFS, codec_encode(u, buf, &len, pcm, 5));
	n = 2;
	TEST_EQUALS(ENOBUFS, codec_decode(u, out, &n, dec_in, 5));

 out:
	mem_deref(u);
	mem_deref(a);

	return err;
}


int test_codec_table(void)
{
	static const uint8_t buf[160];
	const struct codec_info *ci;
	struct codec *c = NULL;
	struct pl name;
	int err = 0;

	pl_set_str(&name, "OPUS");
	ci = codec_find(&name, 48000);
	TEST_ASSERT(ci && ci->id == CODEC_OPUS && ci->channels == 2);
	pl_set_str(&name, "pcma");
	ci = codec_find(&name, 8000);
	TEST_ASSERT(ci && ci->id == CODEC_PCMA && ci->pt == 8);
	TEST_ASSERT(codec_find(&name, 16000) == NULL);
	pl_set_str(&name, "g722");
	ci = codec_find(&name, 8000);
	TEST_ASSERT(ci && ci->pt == 9 && ci->srate == 16000);
	pl_set_str(&name, "G729");
	TEST_ASSERT(codec_find(&name, 8000) == NULL);
	pl_set_str(&name, "PCM");
	TEST_ASSERT(codec_find(&name, 8000) == NULL);
	TEST_ASSERT(codec_find(&pl_null, 8000) == NULL);

	TEST_EQUALS(CODEC_PCMU, codec_find_pt(0)->id);
	TEST_EQUALS(CODEC_G722, codec_find_pt(9)->id);
	TEST_ASSERT(codec_find_pt(3) == NULL);     /* GSM: not ours */
	TEST_ASSERT(codec_find_pt(111) == NULL);   /* dynamic */
	TEST_ASSERT(codec_info(CODEC_COUNT) == NULL);

	/* rates a codec cannot run at, and no such codec */
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_PCMU, 16000, NULL));
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_G722, 8000, NULL));
	TEST_EQUALS(ENOTSUP, codec_alloc(&c, CODEC_OPUS, 44100, NULL));
	TEST_EQUALS(EINVAL, codec_alloc(&c, CODEC_COUNT, 8000, NULL));
	TEST_ASSERT(c == NULL);

	/* 20 ms in RTP clock units: G.722's clock is half its rate, Opus
	 * counts 48 kHz at any rate */
	TEST_CHECK(codec_alloc(&c, CODEC_PCMU, 8000, NULL));
	TEST_EQUALS(160, codec_ts_step(c, 160));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_G722, 16000, NULL));
	TEST_EQUALS(160, codec_ts_step(c, 320));
	TEST_EQUALS(320, codec_samples(c, buf, 160));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 8000, NULL));
	TEST_EQUALS(960, codec_ts_step(c, 160));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 16000, NULL));
	TEST_EQUALS(960, codec_ts_step(c, 320));
	c = mem_deref(c);
	TEST_CHECK(codec_alloc(&c, CODEC_OPUS, 48000, NULL));
	TEST_EQUALS(960, codec_ts_step(c, 960));

 out:
	mem_deref(c);

	return err;
}


/* 150 frames of a 1 kHz tone at srate: the mean payload of the last
 * 100 (VBR takes a second to settle), whether they were all as long,
 * the bandwidth of the last */
static int opus_sizes(const char *fmtp, uint32_t srate, double *mean,
		      bool *constant, int *bw)
{
	struct codec *c = NULL;
	int16_t in[960];
	uint8_t buf[1500];
	size_t total = 0, first = 0, frame = srate / 50;
	uint64_t pos = 0;
	struct pl pl;
	int i, err;

	pl_set_str(&pl, fmtp);
	err = codec_alloc(&c, CODEC_OPUS, srate, &pl);
	if (err)
		return err;

	*constant = true;
	for (i = 0; i < 150; i++) {
		size_t len = sizeof(buf);

		test_sine(in, frame, 1000, srate, AMP, &pos);
		TEST_CHECK(codec_encode(c, buf, &len, in, frame));
		if (i == 50)
			first = len;
		if (i >= 50) {
			total += len;
			*constant = *constant && len == first;
		}
	}

	*mean = total / 100.0;
	*bw = opus_packet_get_bandwidth(buf);

 out:
	mem_deref(c);

	return err;
}


/* what the party's a=fmtp asks of our Opus encoder */
int test_codec_fmtp(void)
{
	double mean, capped;
	bool constant;
	int bw, err = 0;

	TEST_CHECK(opus_sizes("", 16000, &mean, &constant, &bw));
	TEST_ASSERT(!constant);
	TEST_EQUALS(OPUS_BANDWIDTH_WIDEBAND, bw);

	TEST_CHECK(opus_sizes("cbr=1", 16000, &mean, &constant, &bw));
	TEST_ASSERT(constant);

	/* 8000 bit/s is 20 bytes a frame */
	TEST_CHECK(opus_sizes("maxaveragebitrate=8000;useinbandfec=1", 16000,
			      &capped, &constant, &bw));
	TEST_ASSERT(capped < 22 && capped < mean * 0.6);

	TEST_CHECK(opus_sizes("stereo=1; maxplaybackrate=8000", 48000, &mean,
			      &constant, &bw));
	TEST_EQUALS(OPUS_BANDWIDTH_NARROWBAND, bw);

 out:
	return err;
}
