/**
 * @file log.c  Log sink: re's debug output with a time stamp, to stderr
 */
#include <stdio.h>
#include <time.h>
#include <re.h>
#include "sipcore.h"

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

	(void)fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %.*s",
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
 * Change the log level at run time
 *
 * @param level Highest level printed
 */
void log_set_level(int level)
{
	dbg_init(level, DBG_NONE);
}
