# sipp scenario tests (owner: scenarios helper)
#
# test/sip/scenarios/run.py starts $(top_builddir)/switchboard on free
# loopback ports with its own config and store in a temp dir, creates
# extensions (HTTP API, or the SQLite store if the API does not answer)
# and drives sipp with the scenarios beside it: REGISTER (digest MD5 with
# sipp; SHA-256, made-up, expired and replayed nonces with a small Python
# client), contacts and expiries, restart; calls answered, busy,
# cancelled, unanswered, forked, 404/480, CDRs; over UDP and TCP;
# re-INVITE hold/resume from the caller and from the callee, 183 early
# media; FOO/MESSAGE (501), Max-Forwards: 0 (483, OPTIONS 200), requests
# in unknown dialogs (481). One line per case, `ok NAME` or
# `FAIL NAME: why`; exits 77 (skip) without sipp. About 25 s.

TESTS += test/sip/scenarios/run.py
EXTRA_DIST += test/sip/scenarios/run.py \
	test/sip/scenarios/sbtest.py \
	test/sip/scenarios/options.xml \
	test/sip/scenarios/reg.xml \
	test/sip/scenarios/reg_403.xml \
	test/sip/scenarios/reg_423.xml \
	test/sip/scenarios/reg_query.xml \
	test/sip/scenarios/reg_two.xml \
	test/sip/scenarios/uac_call.xml \
	test/sip/scenarios/uac_call_404.xml \
	test/sip/scenarios/uac_call_480.xml \
	test/sip/scenarios/uac_call_486.xml \
	test/sip/scenarios/uac_call_answer_reinvite.xml \
	test/sip/scenarios/uac_call_cancel.xml \
	test/sip/scenarios/uac_call_early.xml \
	test/sip/scenarios/uac_call_noanswer.xml \
	test/sip/scenarios/uac_call_reinvite.xml \
	test/sip/scenarios/uac_call_wait_bye.xml \
	test/sip/scenarios/uas_answer.xml \
	test/sip/scenarios/uas_answer_bye.xml \
	test/sip/scenarios/uas_answer_hold.xml \
	test/sip/scenarios/uas_answer_reinvite.xml \
	test/sip/scenarios/uas_busy.xml \
	test/sip/scenarios/uas_early_media.xml \
	test/sip/scenarios/uas_ring.xml
