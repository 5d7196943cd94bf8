# libFuzzer target for the SIP request path (owner: torture helper)
#
#   ./configure --enable-fuzz CC=clang && make test/fuzz/fuzz_sip
#   test/fuzz/fuzz_sip -max_total_time=60 corpus/ \
#	../shared/sip-torture/pjproject-fuzz-seeds/fuzz-sip_seed_corpus \
#	../shared/sip-torture/rfc4475
#
# sipcheck.c is compiled into the target again, with coverage, so the
# fuzzer sees its branches; libsipcore.a supplies the rest. libre itself
# comes from the system, uninstrumented.

if FUZZ
noinst_PROGRAMS += test/fuzz/fuzz_sip
test_fuzz_fuzz_sip_SOURCES = test/fuzz/fuzz_sip.c sipcore/sipcheck.c
test_fuzz_fuzz_sip_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
test_fuzz_fuzz_sip_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined
test_fuzz_fuzz_sip_LDADD = $(CORE_LIBS)
endif

EXTRA_DIST += test/fuzz/fuzz_sip.c
include test/fuzz/fuzz_relay.mk
