# sbrelay tests: the C unit tests (SDP golden pairs in test/relay/sdp,
# options, legs with packet threads) and the black-box protocol test.
check_PROGRAMS += test/relay/relaytest
test_relay_relaytest_SOURCES = \
	test/relay/relaytest.h \
	test/relay/relaytest.c \
	test/relay/test_sdptext.c \
	test/relay/test_conf.c \
	test/relay/test_legs.c \
	test/relay/test_session.c \
	test/relay/test_codec.c \
	test/relay/test_codec_loss.c \
	test/relay/test_resamp.c \
	test/relay/test_rtp.c \
	test/relay/test_jbuf.c \
	test/relay/test_sdes.c \
	test/relay/test_srtp_pair.c \
	test/relay/test_wav.c \
	test/relay/test_wav_play.c \
	test/relay/test_wav_rec.c \
	test/relay/test_mix.c \
	test/relay/test_dtmf.c \
	test/relay/test_dtmf_inband.c \
	test/relay/test_dtmf_xlate.c \
	test/relay/test_report.c \
	test/relay/test_tone.c \
	test/relay/test_play.c \
	test/relay/test_rec.c \
	test/relay/test_mixer.c
test_relay_relaytest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/test/unit
test_relay_relaytest_LDADD = $(RELAY_LIBS)
TESTS += test/relay/relaytest

# Starts $(top_builddir)/sbrelay on a temporary UNIX socket (needs python3)
TESTS += test/relay/relay_test.py
EXTRA_DIST += test/relay/relay_test.py test/relay/sdp
