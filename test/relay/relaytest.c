/**
 * @file relaytest.c  sbrelay unit test runner: each test, checked for leaks
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "relaytest.h"

#define DEBUG_MODULE "relaytest"
#define DEBUG_LEVEL 6
#include <re_dbg.h>

struct test {
	int (*fn)(void);
	const char *name;
};

#define TEST(fn) { fn, #fn }

static const struct test testv[] = {
	TEST(test_sdptext_golden),
	TEST(test_sdptext_ipv6_relay),
	TEST(test_sdptext_edit),
	TEST(test_relay_conf),
	TEST(test_relay_legs),
	TEST(test_session_offer),
	TEST(test_session_answer),
	TEST(test_session_transcode),
	TEST(test_session_srtp),
	TEST(test_session_play),
	TEST(test_session_record),
	TEST(test_sdes_parse),
	TEST(test_sdes_reject),
	TEST(test_sdes_truncated),
	TEST(test_sdes_make),
	TEST(test_sdes_choose),
	TEST(test_srtp_pair_roundtrip),
	TEST(test_srtp_pair_tamper),
	TEST(test_srtp_pair_relay),
	TEST(test_srtp_pair_mki),
	TEST(test_wav_chunks),
	TEST(test_wav_unsupported),
	TEST(test_wav_truncated),
	TEST(test_wav_garbage),
	TEST(test_wav_play_rates),
	TEST(test_wav_play_truncated),
	TEST(test_wav_play_loop),
	TEST(test_wav_play_shared),
	TEST(test_wav_play_errors),
	TEST(test_wav_rec),
	TEST(test_wav_rec_empty),
	TEST(test_mix_minus),
	TEST(test_mix_saturation),
	TEST(test_mix_args),
	TEST(test_codec_roundtrip),
	TEST(test_codec_g711),
	TEST(test_codec_table),
	TEST(test_codec_fmtp),
	TEST(test_codec_conceal),
	TEST(test_codec_garbage),
	TEST(test_resamp),
	TEST(test_rtp_parse),
	TEST(test_rtcp_packet),
	TEST(test_rtcp_malformed),
	TEST(test_rtpstat_seq),
	TEST(test_rtpstat_jitter),
	TEST(test_rtpstat_rtcp),
	TEST(test_rtpstat_mos),
	TEST(test_report_block),
	TEST(test_report_rtt),
	TEST(test_report_srtcp),
	TEST(test_jbuf_order),
	TEST(test_jbuf_room),
	TEST(test_jbuf_loss),
	TEST(test_jbuf_adapt),
	TEST(test_dtmf_event_rx),
	TEST(test_dtmf_event_rx_long),
	TEST(test_dtmf_event_tx),
	TEST(test_dtmf_inband),
	TEST(test_dtmf_inband_talkoff),
	TEST(test_dtmf_xlate_tones),
	TEST(test_dtmf_xlate_events),
	TEST(test_tone),
	TEST(test_play_file),
	TEST(test_play_loop),
	TEST(test_play_tone),
	TEST(test_play_errors),
	TEST(test_rec_pcmu),
	TEST(test_rec_opus),
	TEST(test_rec_limits),
	TEST(test_mixer_codecs),
};


static int run_one(const struct test *t)
{
	struct memstat before, after;
	bool counted;
	int err;

	/* a release build of libre keeps no counts: LeakSanitizer, in
	 * the sanitizer run, finds leaks there */
	counted = !mem_get_stat(&before);
	err = t->fn();
	counted = counted && !mem_get_stat(&after);

	if (!err && counted && after.blocks_cur != before.blocks_cur) {
		(void)re_fprintf(stderr, "%s: leaked %zu blocks\n", t->name,
				 after.blocks_cur - before.blocks_cur);
		mem_debug();
		err = ENOMEM;
	}

	return err;
}


int main(int argc, char *argv[])
{
	unsigned passed = 0, failed = 0;
	size_t i;

	if (libre_init())
		return 1;

	log_init(DBG_WARNING, "sbrelay");
	if (sdes_init())
		return 1;

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		const struct test *t = &testv[i];
		int err;

		if (argc > 1 && strcmp(argv[1], t->name))
			continue;

		err = run_one(t);
		(void)re_printf("%-28s %s\n", t->name, err ? "FAIL" : "ok");
		if (err)
			++failed;
		else
			++passed;
	}

	sdes_close();
	libre_close();
	(void)re_printf("%u passed, %u failed\n", passed, failed);

	return failed ? 1 : 0;
}


/**
 * Play keys as in-band tones, each on_ms of its two tones (the relay's
 * own key tone) then off_ms of silence, 8 kHz
 *
 * @param k   Keys and where they are; zeroed with digits and times set
 * @param pcm Samples returned
 * @param n   How many are wanted
 *
 * @return How many were written: fewer than n once the keys run out
 */
size_t test_keys_play(struct test_keys *k, int16_t *pcm, size_t n)
{
	const size_t on = 8 * k->on_ms, per = on + 8 * k->off_ms;
	size_t done = 0;

	while (done < n && k->digits[k->key]) {
		size_t at = k->pos % per, m;

		if (at == 0)
			(void)dtmf_tone_start(&k->tone, k->digits[k->key], 8000);

		m = min(n - done, (at < on ? on : per) - at);
		if (at < on)
			dtmf_tone_fill(&k->tone, &pcm[done], m);
		else
			memset(&pcm[done], 0, m * sizeof(*pcm));

		done += m;
		k->pos += m;
		if (k->pos % per == 0)
			++k->key;
	}

	return done;
}
