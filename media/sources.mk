# sbrelay, the media relay (docs/relay-protocol.md). Everything but
# main.c goes into libsbrelay.a so that test/relay/relaytest can link it.
noinst_LIBRARIES += libsbrelay.a
libsbrelay_a_SOURCES = \
	media/relay.h \
	media/conf.c \
	media/clock.c \
	sipcore/log.c \
	media/sdpline.c \
	media/sdptext.c \
	media/sdpfmt.c \
	media/negotiate.c \
	media/session.c \
	media/codec.h \
	media/codec.c \
	media/codec_g7xx.c \
	media/codec_opus.c \
	media/resamp.h \
	media/resamp.c \
	media/rtp.h \
	media/rtp.c \
	media/rtcp.c \
	media/jbuf.h \
	media/jbuf.c \
	media/path.c \
	media/sdes.h \
	media/sdes.c \
	media/sdes_suite.c \
	media/srtp_pair.c \
	media/dtmf.h \
	media/dtmf_event.c \
	media/dtmf_inband.c \
	media/tone.h \
	media/tone.c \
	media/rtpstat.h \
	media/rtpstat.c \
	media/report.c \
	media/wav.h \
	media/wav_parse.c \
	media/wav_read.c \
	media/wav_write.c \
	media/mix.h \
	media/mix.c \
	media/play.c \
	media/rec.c \
	media/attach.c \
	media/mixer.h \
	media/mixer.c \
	media/mixer_tick.c \
	media/ports.c \
	media/leg.c \
	media/fwd.c \
	media/worker.c \
	media/grace.c \
	media/call.c \
	media/ctrl.c \
	media/event.c \
	media/cmd.c

# SpanDSP before librem: both export goertzel_init/_reset/_result, and
# SpanDSP's DTMF detector must get its own (media/dtmf_inband.c)
RELAY_LIBS = libsbrelay.a $(SPANDSP_LIBS) $(REM_LIBS) $(RE_LIBS) $(OPUS_LIBS) \
	$(SRTP_LIBS) $(OPENSSL_LIBS) -lpthread -lm

bin_PROGRAMS += sbrelay
sbrelay_SOURCES = media/main.c
sbrelay_LDADD = $(RELAY_LIBS)
