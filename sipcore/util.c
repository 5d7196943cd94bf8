/**
 * @file util.c  Wall-clock time for stored records
 */
#include <time.h>
#include <re.h>
#include "sipcore.h"


/**
 * Seconds since the Unix epoch
 *
 * @return Unix time
 */
int64_t sb_unixtime(void)
{
	return (int64_t)time(NULL);
}


/**
 * Milliseconds since the Unix epoch
 *
 * @return Unix time in ms
 */
int64_t sb_unixtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
