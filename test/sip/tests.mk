include test/sip/torture.mk
include test/sip/scenarios.mk
