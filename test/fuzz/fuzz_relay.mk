# libFuzzer targets for sbrelay's network inputs (docs/relay-protocol.md)
#
#   ./configure --enable-fuzz CC=clang
#   make test/fuzz/fuzz_relay_sdp test/fuzz/fuzz_relay_ctrl
#   make test/fuzz/fuzz_relay_rtp
#   test/fuzz/fuzz_relay_rtp  -max_total_time=60 corpus-rtp/ \
#	test/fuzz/corpus/relay-rtp
#   test/fuzz/fuzz_relay_sdp  -max_total_time=60 corpus-sdp/ \
#	test/fuzz/corpus/relay-sdp
#   test/fuzz/fuzz_relay_ctrl -max_total_time=60 -close_fd_mask=1 \
#	-print_funcs=0 corpus-ctrl/ test/fuzz/corpus/relay-ctrl
#
# (the first directory collects what the fuzzer finds; the seeds stay as
# they are). fuzz_relay_ctrl runs with -close_fd_mask=1 (libre's JSON
# decoder prints what it cannot read to stdout) and -print_funcs=0 (it
# checks that no descriptor is left open after each input, and printing
# a newly covered function starts llvm-symbolizer on a pipe that stays
# open), and binds real UDP ports,
# 47910-47915 on 127.0.0.1: instances run side by side (-jobs) share the
# range and simply see "no free port pair" more often.
#
# As for fuzz_sip, the media/ files a target exercises are compiled into
# it again, with coverage; libsbrelay.a supplies the rest (its copies of
# those files are not pulled in: their symbols are already defined).
# fuzz_relay_ctrl defines ctrl.c's and worker.c's functions itself (a
# connection without a socket, no packet threads), so ctrl.o and
# worker.o are never linked into it. There is no packet path target:
# fwd_recv reads its packets from a socket (recvmmsg) and its checks are
# static, so it cannot be fed bytes and an address without live sockets.

if FUZZ
RELAY_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined

noinst_PROGRAMS += test/fuzz/fuzz_relay_sdp test/fuzz/fuzz_relay_ctrl \
	test/fuzz/fuzz_relay_rtp

test_fuzz_fuzz_relay_sdp_SOURCES = test/fuzz/fuzz_relay_sdp.c \
	media/sdptext.c
test_fuzz_fuzz_relay_sdp_CFLAGS = $(AM_CFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_sdp_LDFLAGS = $(AM_LDFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_sdp_LDADD = $(RELAY_LIBS)

test_fuzz_fuzz_relay_ctrl_SOURCES = test/fuzz/fuzz_relay_ctrl.c \
	media/cmd.c media/call.c media/leg.c media/grace.c \
	media/ports.c media/sdptext.c
test_fuzz_fuzz_relay_ctrl_CFLAGS = $(AM_CFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_ctrl_LDFLAGS = $(AM_LDFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_ctrl_LDADD = $(RELAY_LIBS)

test_fuzz_fuzz_relay_rtp_SOURCES = test/fuzz/fuzz_relay_rtp.c \
	media/rtp.c media/rtcp.c media/rtpstat.c media/jbuf.c media/path.c \
	media/codec.c media/codec_g7xx.c media/codec_opus.c media/resamp.c \
	media/dtmf_event.c media/dtmf_inband.c media/srtp_pair.c
test_fuzz_fuzz_relay_rtp_CFLAGS = $(AM_CFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_rtp_LDFLAGS = $(AM_LDFLAGS) $(RELAY_FUZZ_FLAGS)
test_fuzz_fuzz_relay_rtp_LDADD = $(RELAY_LIBS)
endif

EXTRA_DIST += test/fuzz/fuzz_relay_sdp.c test/fuzz/fuzz_relay_ctrl.c \
	test/fuzz/fuzz_relay_rtp.c test/fuzz/corpus/relay-sdp \
	test/fuzz/corpus/relay-ctrl test/fuzz/corpus/relay-rtp
