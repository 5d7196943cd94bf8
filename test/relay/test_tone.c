/**
 * @file test_tone.c  Call-progress tones
 *
 * Every tone of both sets at 8, 16 and 48 kHz, made in chunks of odd
 * sizes: the on and off times measured in the signal must be those of
 * the set's definition (written out again here) within 5 ms, two
 * periods long; in the first on time each frequency must be at -13
 * dBm0 within 1 dB, and the tone's frequencies must hold 99 % of its
 * power, with no other frequency of any set (or of DTMF) above -40 dB.
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include "../../media/tone.h"
#include "relaytest.h"


enum {
	RUNS_MAX  = 16,           /**< On and off times measured      */
	WINDOW_MS = 200,          /**< Frequencies measured over      */
};

/** A tone as its set defines it */
struct expect {
	const char *set;          /**< "us" or "eu"                   */
	enum tone_kind kind;      /**< Which                          */
	double f1, f2;            /**< Frequencies, f2 0: one         */
	uint32_t cadence[4];      /**< ms on, off, ...; none: steady  */
	bool once;                /**< Cadence played once            */
};

static const struct expect expectv[] = {
	{"us", TONE_RINGBACK,   440, 480, {2000, 4000}, false},
	{"us", TONE_BUSY,       480, 620, {500, 500}, false},
	{"us", TONE_CONGESTION, 480, 620, {250, 250}, false},
	{"us", TONE_BEEP,      1400,   0, {500}, true},
	{"us", TONE_CALLWAIT,   440,   0, {300, 10000}, false},
	{"us", TONE_SINE,      1004,   0, {0}, false},
	{"eu", TONE_RINGBACK,   425,   0, {1000, 4000}, false},
	{"eu", TONE_BUSY,       425,   0, {500, 500}, false},
	{"eu", TONE_CONGESTION, 425,   0, {250, 250}, false},
	{"eu", TONE_BEEP,      1400,   0, {500}, true},
	{"eu", TONE_CALLWAIT,   425,   0, {200, 200, 200, 4400}, false},
	{"eu", TONE_SINE,      1004,   0, {0}, false},
};

/* must not be there: the other tones' and DTMF's frequencies */
static const double otherv[] = {
	350, 425, 440, 480, 620, 697, 770, 852, 941, 1004, 1209, 1336,
	1400, 1477, 1633,
};


/* Hann window of n, at i */
static double hann(size_t i, size_t n)
{
	return 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
}


/* amplitude of hz in pcm (Goertzel, Hann window) */
static double level(const int16_t *pcm, size_t n, double hz, uint32_t srate)
{
	double coef = 2 * cos(2 * M_PI * hz / srate), q0, q1 = 0, q2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		q0 = coef * q1 - q2 + pcm[i] * hann(i, n);
		q2 = q1;
		q1 = q0;
	}

	/* |X| is a * n / 2, and the window halves it */
	return 4 * sqrt(q1 * q1 + q2 * q2 - coef * q1 * q2) / (double)n;
}


/* power of pcm under the same window, as tones of amplitude a have
 * a * a / 2 * 3 / 8 */
static double power(const int16_t *pcm, size_t n)
{
	double p = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double w = hann(i, n);

		p += pcm[i] * w * pcm[i] * w;
	}

	return p / (double)n;
}


/* on and off times, in samples: off is at least 1 ms of zeros; the
 * last run, still going at the end, is not counted */
static unsigned runs(const int16_t *pcm, size_t n, uint32_t srate,
		     size_t *runv)
{
	size_t i, start = 0, zeros = 0;
	unsigned c = 0;
	bool on = true;

	for (i = 0; i < n && c < RUNS_MAX; i++) {
		if (pcm[i]) {
			if (!on) {
				runv[c++] = i - start;
				start = i;
				on = true;
			}
			zeros = 0;
		}
		else if (++zeros == srate / 1000 && on) {
			runv[c++] = i + 1 - zeros - start;
			start = i + 1 - zeros;
			on = false;
		}
	}

	return c;
}


static int cadence_check(const struct expect *e, const int16_t *pcm,
			 size_t n, uint32_t srate)
{
	size_t runv[RUNS_MAX];
	unsigned segc = 0, c, i;
	int err = 0;

	while (segc < 4 && e->cadence[segc])
		++segc;

	c = runs(pcm, n, srate, runv);

	/* steady: one run; once: on, then off to the end; else 2 periods */
	TEST_EQUALS(segc ? (e->once ? 1 : 2 * segc) : 0, c);

	for (i = 0; i < c; i++) {
		double ms = (double)runv[i] * 1000 / srate;

		if (fabs(ms - e->cadence[i % segc]) > 5) {
			(void)re_fprintf(stderr, "%s %d at %u Hz: run %u is"
					 " %.1f ms\n", e->set, e->kind, srate,
					 i, ms);
			TEST_ERR(EINVAL);
		}
	}

 out:
	return err;
}


static int spectrum_check(const struct expect *e, const int16_t *pcm,
			  uint32_t srate)
{
	const double amp = 32767 * pow(10, (-13 - 3.14) / 20);
	size_t n = srate / 1000 * WINDOW_MS, i;
	double held = 0, a;
	int err = 0;

	for (i = 0; i < 2 && (i == 0 || e->f2); i++) {
		a = level(pcm, n, i ? e->f2 : e->f1, srate);
		TEST_ASSERT(a > amp * 0.891 && a < amp * 1.122);
		held += a * a / 2 * 3 / 8;
	}

	TEST_ASSERT(held / power(pcm, n) > 0.99);

	for (i = 0; i < ARRAY_SIZE(otherv); i++) {
		if (fabs(otherv[i] - e->f1) < 40 ||
		    (e->f2 && fabs(otherv[i] - e->f2) < 40))
			continue;

		if (level(pcm, n, otherv[i], srate) > amp / 100) {
			(void)re_fprintf(stderr, "%s %d at %u Hz: %.0f Hz"
					 " present\n", e->set, e->kind,
					 srate, otherv[i]);
			TEST_ERR(EINVAL);
		}
	}

 out:
	return err;
}


static int one(const struct expect *e, uint32_t srate)
{
	struct tone *t = NULL;
	uint32_t period = 0;
	int16_t *pcm = NULL;
	size_t n, done = 0, chunk = 1;
	int err, i;

	for (i = 0; i < 4; i++)
		period += e->cadence[i];

	/* two periods and a bit; once and steady: two seconds */
	n = (size_t)srate * (e->once || !period ? 2000 : 2 * period + 100) /
		1000;

	err = tone_alloc(&t, e->set, e->kind, srate);
	if (err)
		return err;

	pcm = mem_alloc(n * sizeof(*pcm), NULL);
	TEST_ASSERT(pcm != NULL);

	while (done < n) {
		chunk = min(chunk * 3 % 997 + 1, n - done);
		tone_fill(t, &pcm[done], chunk);
		done += chunk;
	}

	TEST_CHECK(cadence_check(e, pcm, n, srate));
	TEST_CHECK(spectrum_check(e, pcm, srate));

 out:
	if (err)
		(void)re_fprintf(stderr, "tone %s %d at %u Hz\n", e->set,
				 e->kind, srate);
	mem_deref(pcm);
	mem_deref(t);

	return err;
}


int test_tone(void)
{
	static const uint32_t sratev[] = {8000, 16000, 48000};
	enum tone_kind kind;
	struct tone *t = NULL;
	size_t i, j;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(expectv); i++) {
		for (j = 0; j < ARRAY_SIZE(sratev); j++)
			TEST_CHECK(one(&expectv[i], sratev[j]));
	}

	TEST_EQUALS(ENOENT, tone_alloc(&t, "xx", TONE_BUSY, 8000));
	TEST_EQUALS(EINVAL, tone_alloc(&t, "us", TONE_COUNT, 8000));
	TEST_EQUALS(EINVAL, tone_alloc(&t, "us", TONE_BUSY, 4000));
	TEST_ASSERT(t == NULL);

	TEST_CHECK(tone_kind_find(&kind, "callwaiting"));
	TEST_EQUALS(TONE_CALLWAIT, kind);
	TEST_CHECK(tone_kind_find(&kind, "ringback"));
	TEST_EQUALS(TONE_RINGBACK, kind);
	TEST_EQUALS(ENOENT, tone_kind_find(&kind, "dial"));

 out:
	mem_deref(t);

	return err;
}
