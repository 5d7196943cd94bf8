# SIP torture tests (owner: torture helper)
#
# test/sip/torture.py starts ./switchboard on free ports with its own
# config in a temp dir, sends RFC 4475 over UDP and TCP and a PROTOS
# c07-sip sample over UDP (data in ../shared/sip-torture), probing with
# OPTIONS after each. bench/protos-all.sh runs all 4527 PROTOS cases.
#
# The tests find the sources and the binary through these two variables;
# the unit tests use top_srcdir too. AM_TESTS_ENVIRONMENT is global: it is
# defined here, once.

AM_TESTS_ENVIRONMENT = top_srcdir=$(top_srcdir) \
	top_builddir=$(top_builddir); export top_srcdir top_builddir;

TESTS += test/sip/torture.py
EXTRA_DIST += test/sip/torture.py bench/protos-all.sh
