/**
 * @file grace.c  Deferred free of legs: after every packet thread moved on
 *
 * A packet thread may hold a pointer to a leg for the length of one
 * batch: the leg whose socket was readable (from its epoll event) and
 * that leg's peer. Freeing a released leg waits for a grace period, the
 * idea of RCU without its library:
 *
 *  1. leg_release cuts every path to the leg first: its peer's pointer
 *     to it (under the peer's lock), its sockets from the epoll set, its
 *     entry in the thread's timeout list (under the thread's lock);
 *  2. grace_defer stamps it with a new generation, publishes that
 *     generation (release) and wakes every packet thread;
 *  3. each thread, at the end of a batch, reads the generation
 *     (acquire) and stores it as seen: any pointer it took before is
 *     dropped, and any it takes later cannot reach the leg;
 *  4. grace_poll, on the control thread, frees the legs whose generation
 *     every thread has seen.
 *
 * Control thread only, except grace_current.
 */
#include <re.h>
#include "relay.h"


static struct {
	struct list graves;       /**< Released legs, oldest first    */
	_Atomic uint32_t gen;     /**< Newest generation              */
} grace;


/**
 * The newest grace generation (any thread)
 *
 * @return Generation
 */
uint32_t grace_current(void)
{
	return atomic_load_explicit(&grace.gen, memory_order_acquire);
}


/**
 * Free a released leg once no packet thread can hold it
 *
 * @param leg Leg, out of every list, epoll set and bridge; the caller's
 *            reference passes to the graveyard
 */
void grace_defer(struct leg *leg)
{
	uint32_t gen;

	if (!leg)
		return;

	/* the control thread is the only writer */
	gen = atomic_load_explicit(&grace.gen, memory_order_relaxed) + 1;

	leg->gen = gen;
	list_append(&grace.graves, &leg->gle, leg);

	atomic_store_explicit(&grace.gen, gen, memory_order_release);
	workers_kick();

	/* no packet threads (unit tests): free at once */
	grace_poll();
}


/**
 * Free the released legs every packet thread has moved past
 */
void grace_poll(void)
{
	struct le *le;

	while ((le = list_head(&grace.graves))) {
		struct leg *leg = le->data;

		if (!workers_passed(leg->gen))
			break;

		list_unlink(&leg->gle);
		mem_deref(leg);
	}
}


/**
 * Free every released leg (the packet threads must have stopped)
 */
void grace_flush(void)
{
	struct le *le;

	while ((le = list_head(&grace.graves))) {
		struct leg *leg = le->data;

		list_unlink(&leg->gle);
		mem_deref(leg);
	}
}
