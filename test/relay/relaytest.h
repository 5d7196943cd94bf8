/**
 * @file relaytest.h  sbrelay unit tests (the runner is relaytest.c)
 */
#ifndef RELAYTEST_H
#define RELAYTEST_H

#include "test.h"
#include "../../media/dtmf.h"

int test_sdptext_golden(void);
int test_sdptext_ipv6_relay(void);
int test_sdptext_edit(void);
int test_relay_conf(void);
int test_relay_legs(void);
double test_tone_amplitude(const int16_t *pcm, size_t n, double hz,
			   uint32_t srate);
void test_sine(int16_t *pcm, size_t n, double hz, uint32_t srate,
	       double amp, uint64_t *pos);
int test_session_offer(void);
int test_session_answer(void);
int test_session_transcode(void);
int test_session_srtp(void);
int test_session_play(void);
int test_session_record(void);
int test_sdes_parse(void);
int test_sdes_reject(void);
int test_sdes_truncated(void);
int test_sdes_make(void);
int test_sdes_choose(void);
int test_srtp_pair_roundtrip(void);
int test_srtp_pair_tamper(void);
int test_srtp_pair_relay(void);
int test_srtp_pair_mki(void);
void test_wav_pattern(int16_t *s, size_t n);
int  test_wav_file(char *path, size_t sz, const char *dir, const char *name,
		   uint32_t srate, const int16_t *s, size_t n, uint32_t size);
int  test_tmpdir_make(char *dir, size_t sz);
int  test_tmpdir_count(const char *dir);
void test_tmpdir_remove(const char *dir);
int test_wav_chunks(void);
int test_wav_unsupported(void);
int test_wav_truncated(void);
int test_wav_garbage(void);
int test_wav_play_rates(void);
int test_wav_play_truncated(void);
int test_wav_play_loop(void);
int test_wav_play_shared(void);
int test_wav_play_errors(void);
int test_wav_rec(void);
int test_wav_rec_empty(void);
int test_mix_minus(void);
int test_mix_saturation(void);
int test_mix_args(void);
int test_codec_roundtrip(void);
int test_codec_g711(void);
int test_codec_table(void);
int test_codec_fmtp(void);
int test_codec_conceal(void);
int test_codec_garbage(void);
int test_resamp(void);
int test_rtp_parse(void);
int test_rtcp_packet(void);
int test_rtcp_malformed(void);
int test_rtpstat_seq(void);
int test_rtpstat_jitter(void);
int test_rtpstat_rtcp(void);
int test_rtpstat_mos(void);
int test_report_block(void);
int test_report_rtt(void);
int test_report_srtcp(void);
int test_jbuf_order(void);
int test_jbuf_room(void);
int test_jbuf_loss(void);
int test_jbuf_adapt(void);
int test_dtmf_event_rx(void);
int test_dtmf_event_rx_long(void);
int test_dtmf_event_tx(void);
int test_dtmf_inband(void);
int test_dtmf_inband_talkoff(void);
int test_dtmf_xlate_tones(void);
int test_dtmf_xlate_events(void);
int test_tone(void);

/** Keys to play as in-band tones (test_keys_play) */
struct test_keys {
	const char *digits;       /**< The keys                       */
	uint32_t on_ms;           /**< Tone of each                   */
	uint32_t off_ms;          /**< Silence after each             */
	size_t key;               /**< The one playing                */
	size_t pos;               /**< Samples played of it           */
	struct dtmf_tone tone;    /**< Its tone                       */
};

size_t test_keys_play(struct test_keys *k, int16_t *pcm, size_t n);
int test_play_file(void);
int test_play_loop(void);
int test_play_tone(void);
int test_play_errors(void);
int test_rec_file_check(const char *path, uint32_t srate, size_t samples,
			double hz);
int test_rec_pcmu(void);
int test_rec_opus(void);
int test_rec_limits(void);
int test_mixer_codecs(void);

#endif
