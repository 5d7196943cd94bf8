/**
 * @file log.c  Log sink (re's debug output, time-stamped) and the clock
 *
 * re's dbg takes its own mutex around the print handler, so the packet
 * threads may log too (they do so only at start and stop).
 */
#include <stdio.h>
#include <time.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "log"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static void log_handler(int level, const char *p, size_t len, void *arg)
{
	static const char *namev[] = {"EMERG", "ALERT", "CRIT", "ERROR",
				      "WARN", "NOTICE", "INFO", "DEBUG"};
	struct timespec ts;
	struct tm tm;
	(void)arg;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);

	(void)fprintf(stderr, "%02d:%02d:%02d.%03ld sbrelay %-5s %.*s",
		      tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		      (level >= 0 && level < 8) ? namev[level] : "?",
		      (int)len, p);
}


/**
 * Send re's debug output, and ours, to the log sink
 *
 * @param level Highest level printed (DBG_ERR .. DBG_DEBUG)
 */
void log_init(int level)
{
	dbg_init(level, DBG_NONE);
	dbg_handler_set(log_handler, NULL);
}


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
