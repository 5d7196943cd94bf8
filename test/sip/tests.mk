include test/sip/torture.mk
include test/sip/scenarios.mk
TESTS += test/sip/transport_test.py
EXTRA_DIST += test/sip/transport_test.py
include test/sip/lifecycle.mk
TESTS += test/sip/relay_supervise_test.py
EXTRA_DIST += test/sip/relay_supervise_test.py
TESTS += test/sip/relay_multi_test.py
EXTRA_DIST += test/sip/relay_multi_test.py
