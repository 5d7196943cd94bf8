/**
 * @file test_timers.c  re's timers on our heap: order, ties, changes made
 *                      from inside handlers
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


enum { TIMERS = 300 };

struct fixture {
	struct tmr tmrv[TIMERS];
	uint64_t due[TIMERS];
	unsigned fired[TIMERS];
	unsigned order[TIMERS];
	unsigned count;
	bool out_of_order;
	uint64_t last_due;
};

static struct fixture fix;


static void timer_handler(void *arg)
{
	size_t i = (size_t)arg;

	if (tmr_isrunning(&fix.tmrv[i]))
		fix.out_of_order = true;    /* must be stopped by now */

	fix.order[fix.count++] = (unsigned)i;
	++fix.fired[i];

	if (fix.due[i] < fix.last_due)
		fix.out_of_order = true;
	fix.last_due = fix.due[i];

	/* from inside a handler: cancel one, restart another */
	if (i == 10)
		tmr_cancel(&fix.tmrv[11]);
	if (i == 12 && fix.fired[12] == 1) {
		tmr_start(&fix.tmrv[12], 5, timer_handler, (void *)i);
		fix.due[12] = fix.tmrv[12].jfs;
	}

	/* the guard is the last one left */
	if (timers_count() == 1)
		re_cancel();
}


static void guard_handler(void *arg)
{
	bool *expired = arg;

	*expired = true;
	re_cancel();
}


int test_timers(void)
{
	struct tmr guard;
	bool expired = false;
	size_t base = timers_count(), i;
	int err = 0;

	memset(&fix, 0, sizeof(fix));
	tmr_init(&guard);

	for (i = 0; i < TIMERS; i++) {
		uint64_t delay = (i * 7919) % 97;

		/* 10, 11, 12 are due together, in start order */
		if (i >= 10 && i <= 12)
			delay = 40;

		tmr_init(&fix.tmrv[i]);
		tmr_start(&fix.tmrv[i], delay, timer_handler, (void *)i);
		fix.due[i] = fix.tmrv[i].jfs;
	}
	TEST_EQUALS(base + TIMERS, timers_count());

	/* restarting moves; cancelling twice is harmless */
	tmr_start(&fix.tmrv[0], 120, timer_handler, (void *)0);
	fix.due[0] = fix.tmrv[0].jfs;
	tmr_cancel(&fix.tmrv[1]);
	tmr_cancel(&fix.tmrv[1]);
	TEST_ASSERT(!tmr_isrunning(&fix.tmrv[1]));
	TEST_ASSERT(tmr_get_expire(&fix.tmrv[0]) > 90);
	TEST_EQUALS(base + TIMERS - 1, timers_count());

	TEST_EQUALS(0, base);
	tmr_start(&guard, 3000, guard_handler, &expired);
	TEST_EQUALS(TIMERS, timers_count());

	err = re_main(NULL);
	TEST_ASSERT(!expired);
	TEST_CHECK(err);

	TEST_EQUALS(0, fix.fired[1]);
	TEST_EQUALS(0, fix.fired[11]);
	TEST_EQUALS(2, fix.fired[12]);
	TEST_EQUALS(1, fix.fired[0]);
	TEST_ASSERT(!fix.out_of_order);

	for (i = 0; i + 1 < fix.count; i++) {
		if (fix.order[i] == 10)
			TEST_EQUALS(12, fix.order[i + 1]);
	}

 out:
	tmr_cancel(&guard);
	for (i = 0; i < TIMERS; i++)
		tmr_cancel(&fix.tmrv[i]);
	return err;
}
