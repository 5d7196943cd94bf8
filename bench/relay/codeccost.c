/**
 * @file codeccost.c  CPU and memory of sbrelay's codecs and resampler,
 *                    per 20 ms frame, one thread
 *
 * For each codec at each rate the relay runs it: encode and decode, and
 * the bytes codec_alloc takes from the heap. Then one direction of each
 * transcoding the relay does (decode, resample if the rates differ,
 * encode) and, as a call is both directions, how many calls one core
 * could carry doing nothing else: 1 s / (50 frames * (a->b + b->a)).
 *
 * The audio is speech from a mono 16-bit WAV file at 8, 16 or 48 kHz
 * (-f; e.g. linphone-common's hello16000.wav), else a voiced synthetic
 * signal (harmonics of a gliding pitch, in syllables and pauses). Times
 * are thread CPU time, frames looped for -d seconds per row.
 *
 *   codeccost [-f speech.wav] [-d SECS_PER_ROW] [-C CPU]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE               /* sched_setaffinity, mallinfo2, M_PI */
#endif
#include <sched.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include <rem.h>
#include "codec.h"
#include "resamp.h"


enum {
	FRAMES      = 500,        /**< 10 s of audio, looped          */
	PAYLOAD_MAX = 1500,
	PCM_MAX     = 960,        /**< 20 ms at 48 kHz                */
	RATES       = 3,
};

static const uint32_t ratev[RATES] = {8000, 16000, 48000};

/** One codec at one rate */
struct cfg {
	enum codec_id id;
	uint32_t srate;
	const char *label;
};

static const struct cfg cfgv[] = {
	{CODEC_PCMU,  8000, "PCMU"},
	{CODEC_PCMA,  8000, "PCMA"},
	{CODEC_G722, 16000, "G722"},
	{CODEC_OPUS,  8000, "opus 8k c2"},
	{CODEC_OPUS, 16000, "opus 16k c5"},
	{CODEC_OPUS, 48000, "opus 48k c10"},
};

/** Transcodings, as two indexes into cfgv */
static const struct pair {
	unsigned a, b;
} pairv[] = {
	{0, 3}, {0, 2}, {2, 4}, {0, 5},
};

/** The speech at every rate, and one codec's payloads of it */
static int16_t *speech[RATES];
static size_t heapv[ARRAY_SIZE(cfgv)];
static uint8_t payload[FRAMES][PAYLOAD_MAX];
static size_t paylen[FRAMES];
static double secs = 1.0;


static unsigned rate_idx(uint32_t srate)
{
	return srate == 8000 ? 0 : srate == 16000 ? 1 : 2;
}


static uint64_t cpu_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* voiced synthetic speech at 48 kHz: 110-190 Hz pitch, harmonics to
 * 7 kHz falling 6 dB an octave, syllables of 250 ms, every 4th silent */
static void synth(int16_t *pcm, size_t n)
{
	double phase = 0;
	size_t i;
	unsigned k;

	for (i = 0; i < n; i++) {
		double t = i / 48000.0, v = 0;
		double f0 = 150 + 40 * sin(2 * M_PI * 0.7 * t);
		double env = sin(M_PI * fmod(t, 0.25) / 0.25);

		if ((unsigned)(t / 0.25) % 4 == 3)
			env = 0;
		phase += 2 * M_PI * f0 / 48000.0;
		for (k = 1; k * f0 < 7000; k++)
			v += sin(k * phase) / k;
		pcm[i] = (int16_t)(6000 * env * v);
	}
}


/* speech from a WAV file into speech[*src] */
static int speech_read(const char *file, unsigned *src)
{
	struct aufile_prm prm;
	struct aufile *af = NULL;
	size_t sz, n, i;
	int err;

	err = aufile_open(&af, &prm, file, AUFILE_READ);
	if (err)
		(void)fprintf(stderr, "%s: %s\n", file, strerror(err));
	else if (prm.channels != 1 || prm.fmt != AUFMT_S16LE ||
		 (prm.srate != 8000 && prm.srate != 16000 &&
		  prm.srate != 48000)) {
		(void)fprintf(stderr, "%s: need a mono 16-bit WAV at 8, 16 or"
			      " 48 kHz\n", file);
		err = ENOTSUP;
	}
	if (err)
		goto out;

	*src = rate_idx(prm.srate);
	n = FRAMES * prm.srate / 50;
	sz = n * sizeof(int16_t);
	err = aufile_read(af, (uint8_t *)speech[*src], &sz);
	if (err)
		goto out;

	printf("speech: %s, %.1f s at %u Hz, looped\n", file,
	       sz / 2.0 / prm.srate, prm.srate);
	for (i = sz / 2; sz && i < n; i++)
		speech[*src][i] = speech[*src][i - sz / 2];

 out:
	mem_deref(af);

	return err;
}


/* speech[] at every rate, from a WAV file or made up */
static int speech_load(const char *file)
{
	unsigned src = 2, r;
	int err = 0;

	for (r = 0; r < RATES; r++) {
		speech[r] = mem_zalloc(FRAMES * ratev[r] / 50 *
				       sizeof(int16_t), NULL);
		if (!speech[r])
			return ENOMEM;
	}

	if (file) {
		err = speech_read(file, &src);
	}
	else {
		printf("speech: synthetic, voiced (-f FILE.wav: real)\n");
		synth(speech[2], FRAMES * 960);
	}

	for (r = 0; r < RATES && !err; r++) {
		struct resamp *rs = NULL;
		size_t n = FRAMES * ratev[r] / 50;

		if (r == src)
			continue;
		err = resamp_alloc(&rs, ratev[src], ratev[r]);
		if (!err)
			err = resamp_process(rs, speech[r], &n, speech[src],
					     FRAMES * ratev[src] / 50);
		mem_deref(rs);
	}

	return err;
}


/* heap bytes in use: re's, Opus's and SpanDSP's allocations alike */
static size_t heap_used(void)
{
	return mallinfo2().uordblks;
}


/* the payloads of the speech in codec c */
static int encode_all(struct codec *c, uint32_t srate)
{
	const size_t frame = srate / 50;
	size_t i;
	int err = 0;

	for (i = 0; i < FRAMES && !err; i++) {
		paylen[i] = PAYLOAD_MAX;
		err = codec_encode(c, payload[i], &paylen[i],
				   &speech[rate_idx(srate)][i * frame], frame);
	}

	return err;
}


/* microseconds per frame: encode, then decode */
static int cost_codec(const struct cfg *cf, double *enc_us, double *dec_us,
		      double *bytes, size_t *heap)
{
	const size_t frame = cf->srate / 50;
	const int16_t *pcm = speech[rate_idx(cf->srate)];
	struct codec *c = NULL;
	int16_t out[PCM_MAX];
	uint64_t t0, t, n = 0, total = 0;
	size_t h0 = heap_used();
	int err;

	err = codec_alloc(&c, cf->id, cf->srate, NULL);
	if (err)
		return err;
	*heap = heap_used() - h0;

	t0 = cpu_ns();
	do {
		uint8_t buf[PAYLOAD_MAX];
		size_t len = sizeof(buf);

		err = codec_encode(c, buf, &len, &pcm[n % FRAMES * frame],
				   frame);
		total += len;
		t = cpu_ns();
	} while (!err && (++n < 100 || t - t0 < secs * 1e9));
	*enc_us = (t - t0) / 1e3 / (double)n;
	*bytes = (double)total / (double)n;

	err = err ? err : encode_all(c, cf->srate);
	if (err)
		goto out;

	n = 0;
	t0 = cpu_ns();
	do {
		size_t on = ARRAY_SIZE(out);

		err = codec_decode(c, out, &on, payload[n % FRAMES],
				   paylen[n % FRAMES]);
		t = cpu_ns();
	} while (!err && (++n < 100 || t - t0 < secs * 1e9));
	*dec_us = (t - t0) / 1e3 / (double)n;

 out:
	mem_deref(c);

	return err;
}


/* microseconds per frame of one direction: decode a, resample, encode b;
 * and the heap its resampler takes */
static int cost_xcode(const struct cfg *a, const struct cfg *b, double *us,
		      size_t *rs_heap)
{
	struct codec *dec = NULL, *enc = NULL;
	struct resamp *rs = NULL;
	int16_t pcm[PCM_MAX], rpcm[PCM_MAX];
	uint64_t t0, t, n = 0;
	int err;

	err = codec_alloc(&dec, a->id, a->srate, NULL);
	err = err ? err : codec_alloc(&enc, b->id, b->srate, NULL);
	err = err ? err : encode_all(dec, a->srate);
	*rs_heap = heap_used();
	if (!err && a->srate != b->srate)
		err = resamp_alloc(&rs, a->srate, b->srate);
	*rs_heap = heap_used() - *rs_heap;
	if (err)
		goto out;

	t0 = cpu_ns();
	do {
		uint8_t buf[PAYLOAD_MAX];
		size_t len = sizeof(buf), pn = PCM_MAX, rn = PCM_MAX;
		const int16_t *src = pcm;

		err = codec_decode(dec, pcm, &pn, payload[n % FRAMES],
				   paylen[n % FRAMES]);
		if (!err && rs) {
			err = resamp_process(rs, rpcm, &rn, pcm, pn);
			src = rpcm;
			pn = rn;
		}
		if (!err)
			err = codec_encode(enc, buf, &len, src, pn);
		t = cpu_ns();
	} while (!err && (++n < 100 || t - t0 < secs * 1e9));
	*us = (t - t0) / 1e3 / (double)n;

 out:
	mem_deref(dec);
	mem_deref(enc);
	mem_deref(rs);

	return err;
}


static int run(void)
{
	double enc = 0, dec = 0, bytes = 0, ab = 0, ba = 0;
	size_t i, rs_ab = 0, rs_ba = 0;
	int err = 0;

	printf("\n%-14s %9s %9s %9s %9s\n", "codec", "encode", "decode",
	       "payload", "heap");
	for (i = 0; i < ARRAY_SIZE(cfgv) && !err; i++) {
		err = cost_codec(&cfgv[i], &enc, &dec, &bytes, &heapv[i]);
		if (!err)
			printf("%-14s %6.1f us %6.1f us %7.1f B %7zu B\n",
			       cfgv[i].label, enc, dec, bytes, heapv[i]);
	}

	/* a call holds both codecs and a resampler each way */
	printf("\n%-28s %9s %9s %10s %9s\n", "transcoding a <-> b", "a->b",
	       "b->a", "calls/core", "heap");
	for (i = 0; i < ARRAY_SIZE(pairv) && !err; i++) {
		const struct cfg *a = &cfgv[pairv[i].a];
		const struct cfg *b = &cfgv[pairv[i].b];

		err = cost_xcode(a, b, &ab, &rs_ab);
		err = err ? err : cost_xcode(b, a, &ba, &rs_ba);
		if (!err)
			printf("%-12s <-> %-12s %6.1f us %6.1f us %10.0f"
			       " %7zu B\n", a->label, b->label, ab, ba,
			       1e6 / (50 * (ab + ba)), heapv[pairv[i].a] +
			       heapv[pairv[i].b] + rs_ab + rs_ba);
	}

	printf("\n%-14s %9s %9s\n", "resampler", "frame", "heap");
	for (i = 0; i < RATES * RATES && !err; i++) {
		const unsigned ri = (unsigned)i / RATES;
		const unsigned ro = (unsigned)i % RATES;
		const size_t in_n = ratev[ri] / 50;
		struct resamp *rs = NULL;
		int16_t out[PCM_MAX];
		uint64_t t0, t, n = 0;
		size_t h0 = heap_used(), heap;

		if (ri == ro)
			continue;

		err = resamp_alloc(&rs, ratev[ri], ratev[ro]);
		heap = heap_used() - h0;

		t0 = cpu_ns();
		while (!err) {
			size_t on = ARRAY_SIZE(out);

			err = resamp_process(rs, out, &on,
					     &speech[ri][n % FRAMES * in_n],
					     in_n);
			t = cpu_ns();
			if (++n >= 100 && t - t0 >= secs / 4 * 1e9)
				break;
		}
		if (!err)
			printf("%2u -> %2u kHz   %6.1f us %7zu B\n",
			       ratev[ri] / 1000, ratev[ro] / 1000,
			       (t - t0) / 1e3 / (double)n, heap);
		mem_deref(rs);
	}

	return err;
}


int main(int argc, char *argv[])
{
	const char *file = NULL;
	int c, cpu = -1, err;
	unsigned r;

	/* without glibc's per-thread cache, mallinfo2 sees every block
	 * freed and taken again: run once more with it off */
	if (!getenv("GLIBC_TUNABLES")) {
		(void)setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0",
			     1);
		(void)execv("/proc/self/exe", argv);
	}

	while ((c = getopt(argc, argv, "f:d:C:h")) != -1) {
		switch (c) {

		case 'f': file = optarg; break;
		case 'd': secs = atof(optarg); break;
		case 'C': cpu = atoi(optarg); break;
		default:
			(void)fprintf(stderr, "usage: codeccost"
				      " [-f speech.wav] [-d SECS_PER_ROW]"
				      " [-C CPU]\n");
			return 2;
		}
	}

	if (!(secs > 0 && secs <= 60))
		return 2;

	if (cpu >= 0) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET(cpu, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs))
			perror("sched_setaffinity");
	}

	if (libre_init())
		return 1;

	err = speech_load(file);
	err = err ? err : run();
	if (err)
		(void)fprintf(stderr, "codeccost: %s\n", strerror(err));

	for (r = 0; r < RATES; r++)
		mem_deref(speech[r]);
	libre_close();

	return err ? 1 : 0;
}
