/**
 * @file relaytest.h  sbrelay unit tests (the runner is relaytest.c)
 */
#ifndef RELAYTEST_H
#define RELAYTEST_H

#include "test.h"

int test_sdptext_golden(void);
int test_sdptext_ipv6_relay(void);
int test_relay_conf(void);
int test_relay_legs(void);

#endif
