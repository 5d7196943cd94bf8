/**
 * @file test_dtmf_inband.c  In-band DTMF: SpanDSP's detector and generator
 *
 * The generator's digits must come back out of the detector exactly,
 * also after G.711, in frames of any size; music and a voice-like
 * signal must give no digit, and a digit played over the music must
 * still be found (so that "no digit" means something).
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include <spandsp.h>
#include "../../media/dtmf.h"
#include "relaytest.h"


enum {
	SRATE     = 8000,
	TALK_SECS = 6,            /**< Music, then voice, seconds     */
};

/** What the detector reported */
struct found {
	char digits[64];          /**< In order, 0-terminated         */
	size_t n;                 /**< How many                       */
};

/** How audio reaches the detector */
enum line {
	LINE_LINEAR,
	LINE_ULAW,
	LINE_ALAW,
};


static void digit_handler(char digit, void *arg)
{
	struct found *f = arg;

	if (f->n + 1 < sizeof(f->digits))
		f->digits[f->n++] = digit;
}


/* through G.711 and back, as a phone's audio would come */
static void line_pass(int16_t *pcm, size_t n, enum line line)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (line == LINE_ULAW)
			pcm[i] = ulaw_to_linear(linear_to_ulaw(pcm[i]));
		else if (line == LINE_ALAW)
			pcm[i] = alaw_to_linear(linear_to_alaw(pcm[i]));
	}
}


/* digits played and detected, in frames of 1 to 331 samples, with
 * 200 ms of silence after; the detector's findings in f */
static int play(const char *digits, uint32_t on_ms, enum line line,
		struct found *f)
{
	struct test_keys keys = {digits, on_ms, 50, 0, 0, {0}};
	struct dtmf_inband_rx *rx = NULL;
	int16_t pcm[331];
	size_t frame = 1, n, tail = 0;
	int err;

	memset(f, 0, sizeof(*f));

	err = dtmf_inband_rx_alloc(&rx, digit_handler, f);
	if (err)
		goto out;

	while (tail < SRATE / 5) {
		n = test_keys_play(&keys, pcm, frame);
		TEST_ASSERT(n <= frame);
		memset(&pcm[n], 0, (frame - n) * sizeof(*pcm));
		if (n < frame)
			tail += frame - n;

		line_pass(pcm, frame, line);
		dtmf_inband_rx(rx, pcm, frame);
		frame = frame * 7 % ARRAY_SIZE(pcm) + 1;
	}

 out:
	mem_deref(rx);

	return err;
}


int test_dtmf_inband(void)
{
	static const char all[] = "0123456789*#ABCD";
	struct test_keys keys = {"123", 80, 50, 0, 0, {0}};
	struct dtmf_inband_rx *rx = NULL;
	struct found f;
	int16_t many[4000];
	int err = 0;

	TEST_CHECK(play(all, 80, LINE_LINEAR, &f));
	TEST_STRCMP(all, f.digits);
	TEST_CHECK(play(all, 80, LINE_ULAW, &f));
	TEST_STRCMP(all, f.digits);
	TEST_CHECK(play(all, 80, LINE_ALAW, &f));
	TEST_STRCMP(all, f.digits);

	/* a long press is one digit, the same key twice two */
	TEST_CHECK(play("5", 1000, LINE_ULAW, &f));
	TEST_STRCMP("5", f.digits);
	TEST_CHECK(play("99d", 80, LINE_ULAW, &f));
	TEST_STRCMP("99D", f.digits);

	/* several digits in one call: each reported */
	memset(&f, 0, sizeof(f));
	TEST_CHECK(dtmf_inband_rx_alloc(&rx, digit_handler, &f));
	memset(many, 0, sizeof(many));
	TEST_EQUALS(3 * 8 * (80 + 50), test_keys_play(&keys, many,
						       ARRAY_SIZE(many)));
	dtmf_inband_rx(rx, many, ARRAY_SIZE(many));
	TEST_STRCMP("123", f.digits);

	TEST_EQUALS(EINVAL, dtmf_inband_rx_alloc(&rx, NULL, NULL));

 out:
	mem_deref(rx);

	return err;
}


/* a reproducible noise sample, -1 .. 1 */
static double hiss(uint32_t *seed)
{
	*seed = *seed * 1664525 + 1013904223;

	return (double)(int32_t)*seed / 2147483648.0;
}


/* music: chords of four notes with three harmonics each, a new chord
 * every 400 ms, and some noise */
static double music(size_t i, uint32_t *seed)
{
	static const double chordv[][4] = {
		{261.63, 329.63, 392.00, 523.25},   /* C  */
		{220.00, 261.63, 329.63, 440.00},   /* Am */
		{174.61, 220.00, 261.63, 349.23},   /* F  */
		{196.00, 246.94, 293.66, 392.00},   /* G  */
		{293.66, 369.99, 440.00, 587.33},   /* D  */
		{164.81, 207.65, 246.94, 329.63},   /* E  */
	};
	const double *chord = chordv[i / (SRATE * 2 / 5) % 6];
	double t = (double)i / SRATE, s = 0;
	int k, h;

	for (k = 0; k < 4; k++) {
		for (h = 1; h <= 3; h++)
			s += 1800.0 / h * sin(2 * M_PI * chord[k] * h * t);
	}

	return s + 300 * hiss(seed);
}


/* voice-like: a glottal buzz (pitch gliding 90 - 250 Hz) with vowel
 * formants, in syllables of 200 ms */
static double voice(size_t i)
{
	static const double formantv[][3] = {
		{700, 1220, 2600}, {300, 2300, 3000}, {500, 900, 2400},
		{400, 2000, 2550}, {650, 1700, 2500},
	};
	const double *fm = formantv[i / (SRATE / 5) % 5];
	double t = (double)i / SRATE;
	double f0 = 170 + 80 * sin(2 * M_PI * 0.7 * t);
	double env = sin(M_PI * (double)(i % (SRATE / 5)) / (SRATE / 5));
	double phase = 2 * M_PI * (170 * t - 80 / (2 * M_PI * 0.7) *
				   (cos(2 * M_PI * 0.7 * t) - 1));
	double s = 0;
	int h, j;

	for (h = 1; h * f0 < 3400; h++) {
		double a = 0;

		for (j = 0; j < 3; j++)
			a += 1 / (1 + pow((h * f0 - fm[j]) / 120, 2));

		s += a / h * sin(h * phase);
	}

	return 6000 * env * s;
}


int test_dtmf_inband_talkoff(void)
{
	struct test_keys keys = {"8", 100, 50, 0, 0, {0}};
	struct dtmf_inband_rx *rx = NULL;
	int16_t pcm[160], dig[160];
	uint32_t seed = 1;
	struct found f;
	size_t i, j, n;
	int err = 0;

	memset(&f, 0, sizeof(f));
	TEST_CHECK(dtmf_inband_rx_alloc(&rx, digit_handler, &f));

	for (i = 0; i < (size_t)SRATE * TALK_SECS; i += ARRAY_SIZE(pcm)) {
		for (j = 0; j < ARRAY_SIZE(pcm); j++) {
			double s = i < SRATE * TALK_SECS / 2 ?
				music(i + j, &seed) : voice(i + j);

			pcm[j] = (int16_t)max(min(s, 32767.0), -32768.0);
		}

		line_pass(pcm, ARRAY_SIZE(pcm), LINE_ULAW);
		dtmf_inband_rx(rx, pcm, ARRAY_SIZE(pcm));
	}

	TEST_EQUALS(0, f.n);

	/* the same music with a digit over it */
	for (i = 0; i < SRATE; i += ARRAY_SIZE(pcm)) {
		n = test_keys_play(&keys, dig, ARRAY_SIZE(dig));
		for (j = 0; j < ARRAY_SIZE(pcm); j++) {
			double s = music(i + j, &seed) / 4;

			pcm[j] = (int16_t)(s + (j < n ? dig[j] : 0));
		}
		dtmf_inband_rx(rx, pcm, ARRAY_SIZE(pcm));
	}

	TEST_STRCMP("8", f.digits);

 out:
	mem_deref(rx);

	return err;
}
