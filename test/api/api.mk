# Black-box test of the management API and sbctl (needs python3)
TESTS += test/api/api_test.py
dist_noinst_SCRIPTS += test/api/api_test.py
