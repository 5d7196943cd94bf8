/**
 * @file log.c  Log sink of both processes: re's debug output with a time
 *              stamp, to stderr. re's dbg takes its own mutex around the
 *              handler, so the relay's packet threads may log too.
 */
#include <stdio.h>
#include <time.h>
#include <re.h>
#include "sblog.h"

#define DEBUG_MODULE "log"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static void log_handler(int level, const char *p, size_t len, void *arg)
{
	static const char *namev[] = {"EMERG", "ALERT", "CRIT", "ERROR",
				      "WARN", "NOTICE", "INFO", "DEBUG"};
	const char *tag = arg;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);

	(void)fprintf(stderr, "%02d:%02d:%02d.%03ld %s%s%-5s %.*s",
		      tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		      tag ? tag : "", tag ? " " : "",
		      (level >= 0 && level < 8) ? namev[level] : "?",
		      (int)len, p);
}


/**
 * Send re's debug output, and ours, to the log sink
 *
 * @param level Highest level printed (DBG_ERR .. DBG_DEBUG)
 * @param tag   Process name before each line (the relay's, whose lines
 *              mix with switchboard's), or NULL
 */
void log_init(int level, const char *tag)
{
	dbg_init(level, DBG_NONE);
	dbg_handler_set(log_handler, (void *)tag);
}
