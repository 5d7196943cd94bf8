# lifecycle tests (owner: lifecycle test)
#
# test/sip/lifecycle_test.py starts $(top_builddir)/switchboard on free
# loopback ports (helpers from test/sip/scenarios/sbtest.py) and checks:
# OPTIONS keep-alives (reachable, unreachable and skipped by calls,
# reachable again), SIGTERM during an answered call (BYE to both sides,
# exit 0, CDR reason shutdown), kill -9 during a call (CDR and contacts
# survive), a second daemon on the same store refused, and bad
# configuration lines reported with file, line, key and reason. One line
# per case, `ok NAME` or `FAIL NAME: why`; exits 77 (skip) without sipp.
# About 20 s.

TESTS += test/sip/lifecycle_test.py
EXTRA_DIST += test/sip/lifecycle_test.py
