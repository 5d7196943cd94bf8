/**
 * @file test_rec.c  Recorders: RTP packets of a leg's codec to a WAV file
 *
 * Packets of a 1 kHz tone go in as a packet thread hands them over
 * (across the sequence number wrap, with two lost, one repeated, one
 * late and a telephone-event among them), the ring drained now and
 * then as the control thread's timer would: the file must appear under
 * its name only when closed, keep time (the lost frames concealed, so
 * it is as long as what was sent), hold the tone, and be at the codec's
 * rate. A ring the control thread does not drain drops what does not
 * fit (the file is one ring long); a recorder released without closing
 * leaves no file.
 */
#include <sys/stat.h>
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "../../media/wav.h"
#include "relaytest.h"


enum {
	PATH_LEN = 256,
	TONE_HZ  = 1000,
	AMP      = 8000,
	PCM_MAX  = 960,
};

/** A phone sending a tone in one codec */
struct sender {
	struct codec *enc;        /**< Its codec                      */
	uint32_t srate;           /**< Its PCM rate                   */
	uint8_t pt;               /**< Its payload type               */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	uint64_t pos;             /**< Samples of the tone made       */
	uint8_t pkt[1500];        /**< The last packet                */
	size_t len;               /**< Its length                     */
};


/* the next 20 ms packet of the tone */
static int sender_next(struct sender *s)
{
	int16_t pcm[PCM_MAX];
	size_t n = s->srate / 50, plen = sizeof(s->pkt) - RTP_HDR_SIZE;
	int err;

	test_sine(pcm, n, TONE_HZ, s->srate, AMP, &s->pos);
	err = codec_encode(s->enc, &s->pkt[RTP_HDR_SIZE], &plen, pcm, n);
	err = err ? err : rtp_build(s->pkt, sizeof(s->pkt), false, s->pt,
				    s->seq++, s->ts, 0x11223344);
	s->ts += codec_ts_step(s->enc, n);
	s->len = RTP_HDR_SIZE + plen;

	return err;
}


/* the last packet again, as rec_rx gets it */
static void resend(struct rec *r, const struct sender *s)
{
	struct rtp_hdr h;

	if (!rtp_parse(&h, s->pkt, s->len))
		rec_rx(r, &h);
}


static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}


/**
 * Check a recording: its rate, its length, and a tone in its second half
 *
 * @param path    File
 * @param srate   Rate it must have
 * @param samples Samples it must have
 * @param hz      The tone's frequency (amplitude 8000, within 30 %)
 *
 * @return 0 if it is so, otherwise errorcode
 */
int test_rec_file_check(const char *path, uint32_t srate, size_t samples,
			double hz)
{
	struct wav_player *p = NULL;
	int16_t *pcm = NULL;
	double amp;
	int err;

	TEST_CHECK(wav_player_alloc(&p, path, false));
	TEST_EQUALS(srate, wav_player_srate(p));
	TEST_EQUALS(samples, wav_player_samples(p));

	pcm = mem_alloc(samples * sizeof(*pcm), NULL);
	TEST_ASSERT(pcm != NULL);
	TEST_EQUALS(samples, wav_player_read(p, pcm, samples));

	amp = test_tone_amplitude(&pcm[samples / 2], samples / 2, hz, srate);
	if (amp < AMP * 0.7 || amp > AMP * 1.3) {
		(void)re_fprintf(stderr, "%s: 1 kHz at %.0f\n", path, amp);
		TEST_ERR(EINVAL);
	}

 out:
	mem_deref(pcm);
	mem_deref(p);

	return err;
}


int test_rec_pcmu(void)
{
	const struct legcodec lc = {CODEC_PCMU, 0, NULL};
	struct sender s = {NULL, 8000, 0, 65525, 1000, 0, {0}, 0};
	char dir[PATH_LEN] = "", path[PATH_LEN];
	struct rec *r = NULL;
	uint8_t te[16], old[sizeof(s.pkt)];
	size_t old_len = 0;
	struct rtp_hdr h;
	uint64_t ms = 0;
	unsigned i;
	int err;

	err = codec_alloc(&s.enc, CODEC_PCMU, 8000, NULL);
	TEST_CHECK(err);
	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	(void)re_snprintf(path, sizeof(path), "%s/msg.wav", dir);

	TEST_CHECK(rec_alloc(&r, &lc, path));
	TEST_STRCMP(path, rec_file(r));
	TEST_EQUALS(8000, rec_srate(r));

	/* an RFC 4733 event is no audio */
	TEST_CHECK(rtp_build(te, sizeof(te), true, 101, 1, 0, 0x11223344));
	TEST_CHECK(rtp_parse(&h, te, sizeof(te)));
	rec_rx(r, &h);

	for (i = 0; i < 50; i++) {
		TEST_CHECK(sender_next(&s));

		/* 10 and 11 lost, across the wrap (65535, 0) */
		if (i == 10 || i == 11)
			continue;
		resend(r, &s);

		/* a packet twice, and one two packets late */
		if (i == 20)
			resend(r, &s);
		if (i == 28) {
			memcpy(old, s.pkt, s.len);
			old_len = s.len;
		}
		if (i == 30 && !rtp_parse(&h, old, old_len))
			rec_rx(r, &h);

		if (i == 25)
			rec_drain(r);
	}

	/* the file is there once closed, not before */
	TEST_ASSERT(!exists(path));
	TEST_CHECK(rec_close(r, &ms));
	TEST_EQUALS(1000, ms);
	TEST_CHECK(test_rec_file_check(path, 8000, 8000, TONE_HZ));

 out:
	mem_deref(r);
	mem_deref(s.enc);
	test_tmpdir_remove(dir);

	return err;
}


int test_rec_opus(void)
{
	const struct legcodec lc = {CODEC_OPUS, 111, "useinbandfec=1"};
	struct sender s = {NULL, 16000, 111, 7, 0, 0, {0}, 0};
	char dir[PATH_LEN] = "", path[PATH_LEN];
	struct rec *r = NULL;
	uint64_t ms = 0;
	unsigned i;
	int err;

	err = codec_alloc(&s.enc, CODEC_OPUS, 16000, NULL);
	TEST_CHECK(err);
	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	(void)re_snprintf(path, sizeof(path), "%s/opus.wav", dir);

	/* Opus is recorded at its own rate, whatever the phone sends */
	TEST_CHECK(rec_alloc(&r, &lc, path));
	TEST_EQUALS(48000, rec_srate(r));

	for (i = 0; i < 20; i++) {
		TEST_CHECK(sender_next(&s));
		resend(r, &s);
	}

	TEST_CHECK(rec_close(r, &ms));
	TEST_EQUALS(400, ms);
	TEST_CHECK(test_rec_file_check(path, 48000, 19200, TONE_HZ));

 out:
	mem_deref(r);
	mem_deref(s.enc);
	test_tmpdir_remove(dir);

	return err;
}


int test_rec_limits(void)
{
	const struct legcodec lc = {CODEC_PCMU, 0, NULL};
	const struct legcodec none = {-1, 0, NULL};
	struct sender s = {NULL, 8000, 0, 1, 0, 0, {0}, 0};
	char dir[PATH_LEN] = "", path[PATH_LEN];
	struct rec *r = NULL;
	uint64_t ms = 0;
	unsigned i;
	int err;

	err = codec_alloc(&s.enc, CODEC_PCMU, 8000, NULL);
	TEST_CHECK(err);
	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	(void)re_snprintf(path, sizeof(path), "%s/full.wav", dir);

	TEST_EQUALS(ENOENT, rec_alloc(&r, &lc, "/nonexistent/dir/x.wav"));
	TEST_EQUALS(EINVAL, rec_alloc(&r, &none, path));
	TEST_ASSERT(r == NULL);

	/* 1.5 s, never drained: one second (the ring) is kept */
	TEST_CHECK(rec_alloc(&r, &lc, path));
	for (i = 0; i < 75; i++) {
		TEST_CHECK(sender_next(&s));
		resend(r, &s);
	}
	TEST_CHECK(rec_close(r, &ms));
	TEST_EQUALS(1000, ms);
	TEST_CHECK(test_rec_file_check(path, 8000, 8000, TONE_HZ));
	r = mem_deref(r);

	/* released without closing: no file, no temporary file */
	TEST_CHECK(rec_alloc(&r, &lc, path));
	for (i = 0; i < 10; i++) {
		TEST_CHECK(sender_next(&s));
		resend(r, &s);
	}
	rec_drain(r);
	r = mem_deref(r);
	TEST_EQUALS(1, test_tmpdir_count(dir));

 out:
	mem_deref(r);
	mem_deref(s.enc);
	test_tmpdir_remove(dir);

	return err;
}
