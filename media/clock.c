/**
 * @file clock.c  The relay's clock, the same in every thread
 */
#include <time.h>
#include <re.h>
#include "relay.h"


/**
 * Milliseconds of a monotonic clock, the same in every thread
 *
 * @return Milliseconds since an arbitrary start, never 0
 */
uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	/* 0 means "never" in the counters: the clock starts above it */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000
		+ 1;
}


/**
 * The monotonic clock in microseconds (packet arrival, for jitter)
 *
 * @return Microseconds since an arbitrary start
 */
uint64_t now_micro(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
