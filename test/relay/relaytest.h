/**
 * @file relaytest.h  sbrelay unit tests (the runner is relaytest.c)
 */
#ifndef RELAYTEST_H
#define RELAYTEST_H

#include "test.h"

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
int test_sdes_parse(void);
int test_sdes_srtp(void);
int test_rtpstat(void);
int test_codec_roundtrip(void);
int test_codec_g711(void);
int test_codec_table(void);
int test_codec_fmtp(void);
int test_codec_conceal(void);
int test_codec_garbage(void);
int test_resamp(void);
int test_rtp_parse(void);
int test_jitter_order(void);
int test_jitter_loss(void);
int test_jitter_adapt(void);

#endif
