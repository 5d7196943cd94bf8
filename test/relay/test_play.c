/**
 * @file test_play.c  Players: WAV files and tones as a leg's RTP stream
 *
 * A 1 kHz WAV at each of 8, 16 and 48 kHz is played into each codec;
 * the packets must be one RTP stream (one SSRC, the marker on the first
 * packet only, sequence numbers one apart, timestamps one frame apart
 * at the codec's RTP clock), as many as the file has 20 ms frames, and
 * decode to the 1 kHz tone; then the player says it has ended and makes
 * no more. A looping file never ends; a busy tone keeps its cadence
 * through the codec; a beep ends after its 500 ms.
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "relaytest.h"


enum {
	PATH_LEN  = 256,
	PKT_SIZE  = 1500,
	PCM_MAX   = 960,          /**< 20 ms at 48 kHz                */
	FILE_MS   = 400,          /**< Length of the test file        */
	TONE_HZ   = 1000,
	AMP       = 8000,
};

/** What a player sent, decoded */
struct heard {
	struct codec *dec;        /**< The leg's codec, decoding      */
	unsigned packets;         /**< Packets                        */
	uint32_t ssrc;            /**< Their SSRC                     */
	uint16_t seq;             /**< Last sequence number           */
	uint32_t ts;              /**< Last timestamp                 */
	unsigned markers;         /**< Packets with the marker bit    */
	bool bad;                 /**< A packet broke the stream      */
	int16_t *pcm;             /**< Decoded, at the codec's rate   */
	size_t n;                 /**< Samples in it                  */
	size_t cap;               /**< Its room                       */
};


static void heard_close(struct heard *h)
{
	h->dec = mem_deref(h->dec);
	h->pcm = mem_deref(h->pcm);
}


static int heard_open(struct heard *h, enum codec_id id, uint32_t srate,
		      size_t cap)
{
	memset(h, 0, sizeof(*h));
	h->cap = cap;
	h->pcm = mem_zalloc(cap * sizeof(*h->pcm), NULL);
	if (!h->pcm)
		return ENOMEM;

	return codec_alloc(&h->dec, id, srate, NULL);
}


/* one packet: in the stream, decoded onto the end of pcm */
static int heard_add(struct heard *h, const uint8_t *pkt, size_t len,
		     uint8_t pt, uint32_t ts_step)
{
	struct rtp_hdr r;
	size_t n;
	int err;

	err = rtp_parse(&r, pkt, len);
	if (err)
		return err;

	if (h->packets) {
		h->bad |= r.ssrc != h->ssrc;
		h->bad |= r.seq != (uint16_t)(h->seq + 1);
		h->bad |= r.ts != h->ts + ts_step;
	}
	h->bad |= r.pt != pt;

	h->ssrc = r.ssrc;
	h->seq = r.seq;
	h->ts = r.ts;
	h->markers += r.marker;
	++h->packets;

	n = h->cap - h->n;
	err = codec_decode(h->dec, &h->pcm[h->n], &n, r.payload, r.plen);
	if (err)
		return err;

	h->n += n;

	return 0;
}


/* the player's packets until it has ended, or at most max_ticks */
static int play_all(struct play *p, struct heard *h, uint8_t pt,
		    uint32_t ts_step, unsigned max_ticks, unsigned *ticks)
{
	uint8_t pkt[PKT_SIZE];
	unsigned i;
	int err = 0;

	for (i = 0; i < max_ticks && !play_ended(p); i++) {
		size_t len;

		TEST_CHECK(play_tick(p, pkt, sizeof(pkt), &len));
		if (len)
			TEST_CHECK(heard_add(h, pkt, len, pt, ts_step));
	}

	*ticks = i;

 out:
	return err;
}


static int sine_file(char *path, size_t sz, const char *dir,
		     uint32_t srate, size_t n)
{
	int16_t *s;
	uint64_t pos = 0;
	int err;

	s = mem_alloc(n * sizeof(*s), NULL);
	if (!s)
		return ENOMEM;

	test_sine(s, n, TONE_HZ, srate, AMP, &pos);
	err = test_wav_file(path, sz, dir, "sine.wav", srate, s, n,
			    (uint32_t)(2 * n));
	mem_deref(s);

	return err;
}


/* a file into a codec: the whole file as one stream, the tone heard */
static int file_into(const char *dir, uint32_t file_rate, enum codec_id id,
		     uint8_t pt)
{
	const struct codec_info *ci = codec_info(id);
	const struct legcodec lc = {id, pt, NULL};
	uint32_t dec_rate = id == CODEC_OPUS ? 48000 : ci->srate;
	size_t frames = FILE_MS / 20, frame = dec_rate / 50;
	struct play *p = NULL;
	char path[PATH_LEN];
	struct heard h;
	unsigned ticks = 0;
	uint8_t pkt[PKT_SIZE];
	size_t len = 1;
	double amp;
	int err;

	err = heard_open(&h, id, dec_rate, frames * frame + frame);
	if (err)
		goto out;

	TEST_CHECK(sine_file(path, sizeof(path), dir, file_rate,
			     file_rate * FILE_MS / 1000));
	TEST_CHECK(play_file(&p, &lc, path, false));
	TEST_STRCMP(path, play_name(p));
	TEST_ASSERT(!play_is_tone(p));

	TEST_CHECK(play_all(p, &h, pt, ci->clock / 50, 100, &ticks));
	TEST_ASSERT(play_ended(p));
	TEST_EQUALS(frames, h.packets);
	TEST_EQUALS(frames + 1, ticks);
	TEST_EQUALS(1, h.markers);
	TEST_ASSERT(!h.bad);
	TEST_EQUALS(frames * frame, h.n);

	/* ended: nothing more */
	TEST_CHECK(play_tick(p, pkt, sizeof(pkt), &len));
	TEST_EQUALS(0, len);

	/* the tone, past the codec's and resampler's start */
	amp = test_tone_amplitude(&h.pcm[h.n / 2], h.n / 2, TONE_HZ,
				  dec_rate);
	if (amp < AMP * 0.7 || amp > AMP * 1.3) {
		(void)re_fprintf(stderr, "%s from %u Hz: 1 kHz at %.0f\n",
				 ci->name, file_rate, amp);
		TEST_ERR(EINVAL);
	}

 out:
	mem_deref(p);
	heard_close(&h);

	return err;
}


int test_play_file(void)
{
	static const uint32_t ratev[] = {8000, 16000, 48000};
	static const struct {
		enum codec_id id;
		uint8_t pt;
	} codecv[] = {
		{CODEC_PCMU, 0}, {CODEC_PCMA, 8}, {CODEC_G722, 9},
		{CODEC_OPUS, 111},
	};
	char dir[PATH_LEN] = "";
	size_t i, k;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));

	for (i = 0; i < ARRAY_SIZE(ratev); i++) {
		for (k = 0; k < ARRAY_SIZE(codecv); k++)
			TEST_CHECK(file_into(dir, ratev[i], codecv[k].id,
					     codecv[k].pt));
	}

 out:
	test_tmpdir_remove(dir);

	return err;
}


int test_play_loop(void)
{
	const struct legcodec lc = {CODEC_PCMU, 0, NULL};
	struct play *p = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	struct heard h;
	unsigned ticks = 0;
	int err;

	err = heard_open(&h, CODEC_PCMU, 8000, 160 * 50);
	if (err)
		goto out;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));

	/* 50 ms: a partial frame at each turn, joined without a gap */
	TEST_CHECK(sine_file(path, sizeof(path), dir, 8000, 400));
	TEST_CHECK(play_file(&p, &lc, path, true));
	TEST_CHECK(play_all(p, &h, 0, 160, 50, &ticks));
	TEST_EQUALS(50, ticks);
	TEST_EQUALS(50, h.packets);
	TEST_ASSERT(!play_ended(p));
	TEST_ASSERT(!h.bad);

 out:
	mem_deref(p);
	heard_close(&h);
	test_tmpdir_remove(dir);

	return err;
}


/* power of 20 ms frame i of pcm */
static double frame_power(const int16_t *pcm, size_t frame, size_t i)
{
	double p = 0;
	size_t k;

	for (k = 0; k < frame; k++)
		p += (double)pcm[i * frame + k] * pcm[i * frame + k];

	return p / (double)frame;
}


int test_play_tone(void)
{
	const struct legcodec pcmu = {CODEC_PCMU, 0, NULL};
	const struct legcodec g722 = {CODEC_G722, 9, NULL};
	struct play *p = NULL;
	struct heard h;
	unsigned ticks = 0, i;
	int err;

	memset(&h, 0, sizeof(h));

	/* us busy: 500 ms on, 500 ms off, on and on */
	err = heard_open(&h, CODEC_PCMU, 8000, 160 * 100);
	if (err)
		goto out;

	TEST_ASSERT(play_tone(&p, &pcmu, "xx", TONE_BUSY) == ENOENT);
	TEST_CHECK(play_tone(&p, &pcmu, "us", TONE_BUSY));
	TEST_STRCMP("busy", play_name(p));
	TEST_ASSERT(play_is_tone(p));
	TEST_CHECK(play_all(p, &h, 0, 160, 100, &ticks));
	TEST_EQUALS(100, h.packets);
	TEST_ASSERT(!play_ended(p) && !h.bad && h.markers == 1);

	for (i = 0; i < 100; i++) {
		bool on = (i / 25) % 2 == 0;
		double pw = frame_power(h.pcm, 160, i);

		if (on ? pw < 1e5 : pw > 10) {
			(void)re_fprintf(stderr, "busy frame %u: power %.0f\n",
					 i, pw);
			TEST_ERR(EINVAL);
		}
	}

	p = mem_deref(p);
	heard_close(&h);

	/* a beep: 500 ms, then the player ends */
	err = heard_open(&h, CODEC_G722, 16000, 320 * 100);
	if (err)
		goto out;

	TEST_CHECK(play_tone(&p, &g722, "eu", TONE_BEEP));
	TEST_CHECK(play_all(p, &h, 9, 160, 100, &ticks));
	TEST_ASSERT(play_ended(p));
	TEST_EQUALS(25, h.packets);
	TEST_ASSERT(test_tone_amplitude(&h.pcm[1600], 4800, 1400, 16000) >
		    1000);

 out:
	mem_deref(p);
	heard_close(&h);

	return err;
}


int test_play_errors(void)
{
	const struct legcodec lc = {CODEC_PCMU, 0, NULL};
	const struct legcodec none = {-1, 0, NULL};
	struct play *p = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	int16_t s[160];
	int err = 0;

	memset(s, 0, sizeof(s));
	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));

	TEST_EQUALS(ENOENT, play_file(&p, &lc, "/nonexistent/x.wav", false));
	TEST_EQUALS(EINVAL, play_file(&p, &none, "/x.wav", false));
	TEST_EQUALS(EINVAL, play_file(&p, &lc, dir, false));

	/* 11025 Hz: not a rate of the relay's */
	TEST_CHECK(test_wav_file(path, sizeof(path), dir, "odd.wav", 11025,
				 s, ARRAY_SIZE(s), sizeof(s)));
	TEST_EQUALS(ENOTSUP, play_file(&p, &lc, path, false));
	TEST_ASSERT(p == NULL);

 out:
	mem_deref(p);
	test_tmpdir_remove(dir);

	return err;
}
