/**
 * @file test_resamp.c  The resampler between 8, 16 and 48 kHz
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include "../../media/resamp.h"
#include "relaytest.h"


enum {
	AMP    = 8000,
	FRAMES = 20,              /**< 20 ms frames put through       */
	KEPT   = 10,              /**< The last ones, measured        */
};


/* RMS of what is not the tone at hz, relative to AMP (dB) */
static double residue_db(const int16_t *pcm, size_t n, double hz,
			 uint32_t srate)
{
	double a = test_tone_amplitude(pcm, n, hz, srate), ms = 0;
	size_t i;

	for (i = 0; i < n; i++)
		ms += (double)pcm[i] * pcm[i];
	ms = fabs(ms / (double)n - a * a / 2);

	return 10 * log10(ms / (AMP * AMP / 2.0) + 1e-12);
}


/* a tone through one or two resamplers; out gets the last KEPT frames
 * at out_rate (via mid_rate, if not 0) */
static int resample(int16_t *out, uint32_t in_rate, uint32_t mid_rate,
		    uint32_t out_rate, double hz)
{
	struct resamp *a = NULL, *b = NULL;
	int16_t in[960], mid[960], early[960];
	size_t in_n = in_rate / 50, mid_n, n, got = 0, i;
	uint64_t pos = 0;
	int err;

	err = resamp_alloc(&a, in_rate, mid_rate ? mid_rate : out_rate);
	if (!err && mid_rate)
		err = resamp_alloc(&b, mid_rate, out_rate);
	if (err)
		goto out;

	for (i = 0; i < FRAMES; i++) {
		int16_t *dst = i >= FRAMES - KEPT ? &out[got] : early;

		test_sine(in, in_n, hz, in_rate, AMP, &pos);

		n = mid_n = ARRAY_SIZE(mid);
		if (b) {
			TEST_CHECK(resamp_process(a, mid, &mid_n, in, in_n));
			TEST_EQUALS(mid_rate / 50, mid_n);
			TEST_CHECK(resamp_process(b, dst, &n, mid, mid_n));
		}
		else {
			TEST_CHECK(resamp_process(a, dst, &n, in, in_n));
		}

		/* exact counts: 160 at 8 kHz are 960 at 48 kHz */
		TEST_EQUALS(out_rate / 50, n);
		if (dst != early)
			got += n;
	}

 out:
	mem_deref(a);
	mem_deref(b);

	return err;
}


/* a tone that must come through at its level (0.5 dB) and alone */
static int keeps(uint32_t in_rate, uint32_t mid_rate, uint32_t out_rate,
		 double hz)
{
	int16_t out[960 * KEPT];
	size_t n = out_rate / 50 * KEPT;
	double amp, rest;
	int err;

	err = resample(out, in_rate, mid_rate, out_rate, hz);
	if (err)
		return err;

	amp = test_tone_amplitude(out, n, hz, out_rate);
	rest = residue_db(out, n, hz, out_rate);
	if (amp < AMP * 0.944 || amp > AMP * 1.059 || rest > -60) {
		(void)re_fprintf(stderr, "resamp %u->%u->%u, %.0f Hz:"
				 " amplitude %.0f of %d, the rest %.1f dB\n",
				 in_rate, mid_rate, out_rate, hz, amp, AMP,
				 rest);
		return EINVAL;
	}

	return 0;
}


int test_resamp(void)
{
	static const uint32_t ratev[] = {8000, 16000, 48000};
	struct resamp *rs = NULL;
	int16_t in[480], out[960 * KEPT], whole[1440];
	uint64_t pos = 0;
	size_t i, k, n;
	int err = 0;

	/* every direction keeps 1 kHz, and 3 kHz with no image or alias */
	for (i = 0; i < ARRAY_SIZE(ratev); i++) {
		for (k = 0; k < ARRAY_SIZE(ratev); k++) {
			if (i == k)
				continue;
			TEST_CHECK(keeps(ratev[i], 0, ratev[k], 1000));
			TEST_CHECK(keeps(ratev[i], 0, ratev[k], 3000));
		}
	}
	TEST_CHECK(keeps(8000, 48000, 8000, 1000));
	TEST_CHECK(keeps(16000, 8000, 16000, 300));

	/* going down removes what the lower rate cannot carry: 6 kHz
	 * must not fold back to 2 kHz */
	TEST_CHECK(resample(out, 16000, 0, 8000, 6000));
	TEST_ASSERT(residue_db(out, 160 * KEPT, 2000, 8000) < -60);
	TEST_ASSERT(test_tone_amplitude(out, 160 * KEPT, 2000, 8000) < 8);
	TEST_CHECK(resample(out, 48000, 0, 16000, 10000));
	TEST_ASSERT(test_tone_amplitude(out, 320 * KEPT, 6000, 16000) < 8);

	/* a frame cut in two gives the same samples as whole */
	test_sine(in, 480, 700, 16000, AMP, &pos);
	TEST_CHECK(resamp_alloc(&rs, 16000, 48000));
	n = ARRAY_SIZE(whole);
	TEST_CHECK(resamp_process(rs, whole, &n, in, 480));
	rs = mem_deref(rs);
	TEST_CHECK(resamp_alloc(&rs, 16000, 48000));
	n = ARRAY_SIZE(out);
	TEST_CHECK(resamp_process(rs, out, &n, in, 100));
	TEST_EQUALS(300, n);
	n = ARRAY_SIZE(out) - 300;
	TEST_CHECK(resamp_process(rs, &out[300], &n, &in[100], 380));
	TEST_EQUALS(1140, n);
	TEST_ASSERT(!memcmp(out, whole, 1440 * sizeof(*out)));
	rs = mem_deref(rs);

	/* counts it cannot take */
	TEST_CHECK(resamp_alloc(&rs, 48000, 8000));
	n = ARRAY_SIZE(out);
	TEST_EQUALS(EINVAL, resamp_process(rs, out, &n, in, 100));
	n = 79;
	TEST_EQUALS(ENOBUFS, resamp_process(rs, out, &n, in, 480));
	rs = mem_deref(rs);

	TEST_EQUALS(ENOTSUP, resamp_alloc(&rs, 44100, 8000));
	TEST_EQUALS(ENOTSUP, resamp_alloc(&rs, 8000, 8000));
	TEST_ASSERT(rs == NULL);

 out:
	mem_deref(rs);

	return err;
}
