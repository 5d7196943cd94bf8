/**
 * @file resamp.c  Mono resampling between 8, 16 and 48 kHz
 *
 * The ratios are whole numbers (2, 3, 6), so one windowed-sinc low-pass
 * filter at the lower rate's Nyquist frequency serves both ways: going
 * up, polyphase (each output sample uses every L-th tap); going down,
 * filtered then decimated. 16 taps per phase and a Blackman window keep
 * images and aliases near -70 dB. The last input samples stay in a
 * history so frames join without clicks. (librem 0.6.0's auresamp
 * reports the input count as its output when it decimates.)
 */
#include <string.h>
#include <math.h>
#include <stddef.h>
#include <re.h>
#include "resamp.h"


enum {
	TAPS_PER_PHASE = 16,
	IN_MAX         = 2880,    /**< 60 ms at 48 kHz per call       */
};

/** A resampler */
struct resamp {
	unsigned ratio;           /**< 2, 3 or 6                      */
	bool up;                  /**< Up (interpolate) or down       */
	unsigned ntaps;           /**< TAPS_PER_PHASE * ratio         */
	unsigned nhist;           /**< Input samples kept             */
	float *taps;              /**< Filter                         */
	float *work;              /**< History, then the new input    */
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


static void design(struct resamp *rs)
{
	const double fc = 0.5 / rs->ratio;   /* of the higher rate */
	const double mid = (rs->ntaps - 1) / 2.0;
	double sum = 0;
	unsigned i;

	for (i = 0; i < rs->ntaps; i++) {
		double x = i - mid;
		double sinc = x == 0 ? 2 * fc :
			sin(2 * M_PI * fc * x) / (M_PI * x);
		double w = 0.42 - 0.5 * cos(2 * M_PI * i / (rs->ntaps - 1)) +
			0.08 * cos(4 * M_PI * i / (rs->ntaps - 1));

		rs->taps[i] = (float)(sinc * w);
		sum += rs->taps[i];
	}

	/* unity gain; going up, each phase sees 1/L of the taps */
	for (i = 0; i < rs->ntaps; i++)
		rs->taps[i] = (float)(rs->taps[i] / sum *
				      (rs->up ? rs->ratio : 1));
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
	rs->nhist = rs->up ? TAPS_PER_PHASE : rs->ntaps;
	rs->taps = mem_zalloc(rs->ntaps * sizeof(float), NULL);
	rs->work = mem_zalloc((rs->nhist + IN_MAX) * sizeof(float), NULL);
	if (!rs->taps || !rs->work) {
		mem_deref(rs);
		return ENOMEM;
	}

	design(rs);
	*rsp = rs;

	return 0;
}


static int16_t saturate(float v)
{
	if (v > 32767.0f)
		return 32767;
	if (v < -32768.0f)
		return -32768;

	return (int16_t)lrintf(v);
}


/**
 * Resample a frame
 *
 * @param rs    Resampler
 * @param out   Samples out
 * @param out_n Capacity in, samples written out
 * @param in    Samples in (at most 60 ms at 48 kHz)
 * @param in_n  Number of them (going down: a multiple of the ratio)
 *
 * @return 0 if success, ENOBUFS if out is too small, EINVAL for a bad
 *         input count
 */
int resamp_process(struct resamp *rs, int16_t *out, size_t *out_n,
		   const int16_t *in, size_t in_n)
{
	const float *x;
	size_t i, n, need;
	unsigned j, p;

	if (!rs || !out || !out_n || !in || in_n > IN_MAX ||
	    (!rs->up && in_n % rs->ratio))
		return EINVAL;

	need = rs->up ? in_n * rs->ratio : in_n / rs->ratio;
	if (*out_n < need)
		return ENOBUFS;

	for (i = 0; i < in_n; i++)
		rs->work[rs->nhist + i] = in[i];

	/* x[k] is input sample k of this frame; x[-1].. the history */
	x = &rs->work[rs->nhist];

	if (rs->up) {
		for (n = 0; n < in_n; n++) {
			for (p = 0; p < rs->ratio; p++) {
				float acc = 0;

				for (j = 0; j < TAPS_PER_PHASE; j++)
					acc += rs->taps[p + j * rs->ratio] *
						x[(ptrdiff_t)n - j];
				out[n * rs->ratio + p] = saturate(acc);
			}
		}
	}
	else {
		for (n = 0; n < need; n++) {
			const float *xn = &x[n * rs->ratio];
			float acc = 0;

			for (j = 0; j < rs->ntaps; j++)
				acc += rs->taps[j] * xn[-(ptrdiff_t)j];
			out[n] = saturate(acc);
		}
	}

	memmove(rs->work, &rs->work[in_n], rs->nhist * sizeof(float));
	*out_n = need;

	return 0;
}
