check_PROGRAMS += test/unit/unittest
test_unit_unittest_SOURCES = \
	test/unit/test.h \
	test/unit/main.c \
	test/unit/test_conf.c \
	test/unit/test_digest.c \
	test/unit/test_nonce.c \
	test/unit/test_store.c \
	test/unit/test_router.c \
	test/unit/test_sipcheck.c \
	test/unit/test_timers.c \
	test/unit/test_sdp_mirror.c \
	test/unit/test_hold.c \
	test/unit/test_tcp_guard.c
test_unit_unittest_LDADD = $(CORE_LIBS)
TESTS += test/unit/unittest
