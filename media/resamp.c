/**
 * @file resamp.c  Mono resampling between 8, 16 and 48 kHz
 *
 * The ratios are whole numbers (2, 3, 6), so one low-pass filter at the
 * lower rate's Nyquist frequency serves both ways: going up, polyphase
 * (each output sample uses every L-th tap); going down, only the kept
 * output samples are computed. 32 taps per phase, Kaiser window (beta
 * 7): flat within 0.01 dB to 0.85 of the lower Nyquist frequency (3.4
 * kHz facing 8 kHz, 6.8 kHz facing 16 kHz), -6 dB at it, and images
 * and aliases below -70 dB from 1.15 of it (4.6 kHz, 9.2 kHz).
 *
 * librem 0.6.0's auresamp is not used: its 8 <-> 16 kHz filter takes
 * 45 dB or more off 2 to 3.8 kHz, and 8 -> 48 kHz loses 4 dB at 3 kHz.
 *
 * Input is filtered in chunks behind a history of the last input
 * samples, so frames of any length (going down, a multiple of the
 * ratio) join without clicks, and the buffers are sized once, in
 * resamp_alloc.
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include "resamp.h"


enum {
	TAPS_PER_PHASE = 32,
	CHUNK          = 480,     /**< Input per pass: 2, 3, 6 divide it */
};

static const double KAISER_BETA = 7.0;

/** A resampler */
struct resamp {
	unsigned ratio;           /**< 2, 3 or 6                      */
	bool up;                  /**< Interpolate, or decimate       */
	unsigned ntaps;           /**< TAPS_PER_PHASE * ratio         */
	unsigned nhist;           /**< Input samples kept             */
	float *taps;              /**< Going up: phase by phase       */
	float *work;              /**< History, then a chunk of input */
};


static void destructor(void *arg)
{
	struct resamp *rs = arg;

	mem_deref(rs->taps);
	mem_deref(rs->work);
}


static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 16000 || r == 48000;
}


/* modified Bessel function of the first kind, order 0 */
static double bessel_i0(double x)
{
	double sum = 1, term = 1;
	unsigned k;

	for (k = 1; k < 50 && term > 1e-12 * sum; k++) {
		term *= (x / (2 * k)) * (x / (2 * k));
		sum += term;
	}

	return sum;
}


/* windowed sinc into h[ntaps], cut at the lower rate's Nyquist */
static void design(double *h, unsigned ntaps, unsigned ratio)
{
	const double fc = 0.5 / ratio;   /* of the higher rate */
	const double mid = (ntaps - 1) / 2.0;
	unsigned i;

	for (i = 0; i < ntaps; i++) {
		double x = i - mid;
		double r = x / mid;
		double sinc = 2 * fc * (x == 0 ? 1 :
			sin(2 * M_PI * fc * x) / (2 * M_PI * fc * x));

		h[i] = sinc * bessel_i0(KAISER_BETA * sqrt(1 - r * r)) /
			bessel_i0(KAISER_BETA);
	}
}


/* the filter as the process loops read it, each phase of unit gain */
static void taps_set(struct resamp *rs, const double *h)
{
	unsigned p, k, n = rs->up ? rs->ratio : 1;
	unsigned per = rs->ntaps / n;

	/* phase p of the interpolator: taps p, p+L, ..., kept in
	 * reverse so that the loop walks the input forward */
	for (p = 0; p < n; p++) {
		float *t = &rs->taps[p * per];
		double sum = 0;

		for (k = 0; k < per; k++)
			sum += h[p + (per - 1 - k) * n];
		for (k = 0; k < per; k++)
			t[k] = (float)(h[p + (per - 1 - k) * n] / sum);
	}
}


/**
 * Make a resampler
 *
 * @param rsp      Returned resampler
 * @param in_rate  Input rate: 8000, 16000 or 48000
 * @param out_rate Output rate: 8000, 16000 or 48000, not in_rate
 *
 * @return 0 if success, ENOTSUP for another rate
 */
int resamp_alloc(struct resamp **rsp, uint32_t in_rate, uint32_t out_rate)
{
	struct resamp *rs;
	double *h = NULL;
	int err = 0;

	if (!rsp)
		return EINVAL;

	if (!rate_ok(in_rate) || !rate_ok(out_rate) || in_rate == out_rate)
		return ENOTSUP;

	rs = mem_zalloc(sizeof(*rs), destructor);
	if (!rs)
		return ENOMEM;

	rs->up = out_rate > in_rate;
	rs->ratio = rs->up ? out_rate / in_rate : in_rate / out_rate;
	rs->ntaps = TAPS_PER_PHASE * rs->ratio;
	rs->nhist = (rs->up ? TAPS_PER_PHASE : rs->ntaps) - 1;

	rs->taps = mem_zalloc(rs->ntaps * sizeof(*rs->taps), NULL);
	rs->work = mem_zalloc((rs->nhist + CHUNK) * sizeof(*rs->work), NULL);
	h = mem_zalloc(rs->ntaps * sizeof(*h), NULL);
	if (!rs->taps || !rs->work || !h) {
		err = ENOMEM;
		goto out;
	}

	design(h, rs->ntaps, rs->ratio);
	taps_set(rs, h);

 out:
	mem_deref(h);

	if (err)
		mem_deref(rs);
	else
		*rsp = rs;

	return err;
}


static int16_t saturate(float v)
{
	if (v > 32767.0f)
		return 32767;
	if (v < -32768.0f)
		return -32768;

	return (int16_t)lrintf(v);
}


/* n is a multiple of 4; four running sums, not one: twice as fast */
static float dot(const float *a, const float *b, unsigned n)
{
	float acc[4] = {0, 0, 0, 0};
	unsigned i;

	for (i = 0; i < n; i += 4) {
		acc[0] += a[i] * b[i];
		acc[1] += a[i + 1] * b[i + 1];
		acc[2] += a[i + 2] * b[i + 2];
		acc[3] += a[i + 3] * b[i + 3];
	}

	return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}


/* one chunk of n input samples, already behind the history in work */
static size_t chunk_run(struct resamp *rs, int16_t *out, size_t n)
{
	const unsigned L = rs->ratio;
	size_t i, m = 0;
	unsigned p;

	if (rs->up) {
		for (i = 0; i < n; i++) {
			for (p = 0; p < L; p++)
				out[m++] = saturate(
					dot(&rs->taps[p * TAPS_PER_PHASE],
					    &rs->work[i], TAPS_PER_PHASE));
		}
	}
	else {
		for (i = 0; i < n; i += L)
			out[m++] = saturate(dot(rs->taps, &rs->work[i],
						rs->ntaps));
	}

	memmove(rs->work, &rs->work[n], rs->nhist * sizeof(*rs->work));

	return m;
}


/**
 * Resample a frame (packet thread: no allocation)
 *
 * @param rs    Resampler
 * @param out   Samples out (not overlapping in)
 * @param out_n Capacity in, samples written out
 * @param in    Samples in
 * @param in_n  Number of them (going down: a multiple of the ratio)
 *
 * @return 0 if success, ENOBUFS if out is too small, EINVAL for a bad
 *         argument or input count
 */
int resamp_process(struct resamp *rs, int16_t *out, size_t *out_n,
		   const int16_t *in, size_t in_n)
{
	size_t need, done = 0, i;

	if (!rs || !out || !out_n || (!in && in_n) ||
	    (!rs->up && in_n % rs->ratio))
		return EINVAL;

	need = rs->up ? in_n * rs->ratio : in_n / rs->ratio;
	if (*out_n < need)
		return ENOBUFS;

	while (in_n) {
		size_t n = min(in_n, (size_t)CHUNK);

		for (i = 0; i < n; i++)
			rs->work[rs->nhist + i] = in[i];

		done += chunk_run(rs, &out[done], n);
		in += n;
		in_n -= n;
	}

	*out_n = done;

	return 0;
}
