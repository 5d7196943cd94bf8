/**
 * @file test_tqueue.c  Timer queue tests: order, moves, cancels
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


enum { ENTRIES = 200 };

struct fixture {
	struct tqueue *tq;
	struct tq_entry entryv[ENTRIES];
	uint64_t due[ENTRIES];
	unsigned fired[ENTRIES];
	uint64_t last_due;
	unsigned count;
	bool out_of_order;
};

static struct fixture fix;


static void entry_handler(void *arg)
{
	size_t i = (size_t)arg;

	++fix.fired[i];
	++fix.count;

	if (fix.due[i] < fix.last_due)
		fix.out_of_order = true;
	fix.last_due = fix.due[i];

	/* the last one stops the loop */
	if (!tqueue_count(fix.tq))
		re_cancel();
}


static void guard_handler(void *arg)
{
	bool *expired = arg;

	*expired = true;
	re_cancel();
}


int test_tqueue(void)
{
	struct tmr guard;
	bool expired = false;
	size_t i;
	int err;

	tmr_init(&guard);

	memset(&fix, 0, sizeof(fix));
	TEST_CHECK(tqueue_alloc(&fix.tq));

	for (i = 0; i < ENTRIES; i++) {
		uint64_t delay = (i * 7919) % 97;

		TEST_CHECK(tqueue_start(fix.tq, &fix.entryv[i], delay,
					entry_handler, (void *)i));
		fix.due[i] = fix.entryv[i].due;
	}
	TEST_EQUALS(ENTRIES, tqueue_count(fix.tq));

	/* moving an entry reorders it; cancelling drops it */
	TEST_CHECK(tqueue_start(fix.tq, &fix.entryv[0], 120, entry_handler,
				(void *)0));
	fix.due[0] = fix.entryv[0].due;
	tqueue_cancel(fix.tq, &fix.entryv[1]);
	tqueue_cancel(fix.tq, &fix.entryv[1]);
	TEST_EQUALS(ENTRIES - 1, tqueue_count(fix.tq));

	tmr_start(&guard, 2000, guard_handler, &expired);
	TEST_CHECK(re_main(NULL));
	TEST_ASSERT(!expired);

	TEST_EQUALS(ENTRIES - 1, fix.count);
	TEST_EQUALS(0, fix.fired[1]);
	TEST_EQUALS(1, fix.fired[0]);
	TEST_ASSERT(!fix.out_of_order);
	TEST_EQUALS(0, tqueue_count(fix.tq));

 out:
	tmr_cancel(&guard);
	fix.tq = mem_deref(fix.tq);
	return err;
}
