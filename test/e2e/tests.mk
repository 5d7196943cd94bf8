# End-to-end tests with real phones (baresip, linphonec); see
# test/e2e/README.md.  Each script re-runs itself inside a loopback-only
# network namespace (test/e2e/netns.sh) unless SWITCHBOARD_E2E_NETNS is set,
# and exits 77 (skip) when baresip is not installed.  call_pbx.py runs
# $top_builddir/switchboard (else ./switchboard); selftest_p2p.py checks the
# harness itself, without the PBX.
TESTS += \
	test/e2e/selftest_p2p.py \
	test/e2e/call_pbx.py \
	test/e2e/media_calls.py \
	test/e2e/hold_test.py \
	test/e2e/meetme_test.py \
	test/e2e/audiotest_test.py

EXTRA_DIST += \
	test/e2e/README.md \
	test/e2e/audio.py \
	test/e2e/phone.py \
	test/e2e/netns.sh \
	test/e2e/registrar-kamailio.cfg \
	test/e2e/selftest_p2p.py \
	test/e2e/selftest_registrar.py \
	test/e2e/call_pbx.py \
	test/e2e/media_calls.py \
	test/e2e/hold_test.py \
	test/e2e/audiotest_test.py \
	test/e2e/meetme_test.py \
	test/e2e/pbx.py
