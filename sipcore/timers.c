/**
 * @file timers.c  re's timers on a binary heap instead of a sorted list
 *
 * libre 1.1.0 keeps each thread's timers in one sorted list and inserts
 * by walking it. Under load the list holds tens of thousands of 32 s
 * transaction timers, and every 500 ms retransmission timer walks past
 * all of them: two thirds of the CPU of a call. These definitions take
 * the place of re's own (libre calls them through its PLT, so the
 * executable's win) and keep the same contract: same struct tmr, same
 * order (due time, then start order), handlers called from re_main with
 * the timer already stopped. struct tmr's list element, which nothing
 * else touches, holds the heap position and the start sequence.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "sipcore.h"


/** One thread's timers, as re keeps them per thread */
struct theap {
	struct tmr **v;     /**< Min-heap on (jfs, seq)           */
	size_t n;           /**< Timers running                   */
	size_t size;        /**< Room in v                        */
	uintptr_t seq;      /**< Start counter, for FIFO on ties  */
};

static _Thread_local struct theap heap;


static size_t pos_get(const struct tmr *tmr)
{
	return (size_t)(uintptr_t)tmr->le.next;
}


static void pos_set(struct tmr *tmr, size_t pos)
{
	tmr->le.next = (struct le *)(uintptr_t)pos;
}


static bool before(const struct tmr *a, const struct tmr *b)
{
	if (a->jfs != b->jfs)
		return a->jfs < b->jfs;

	return (uintptr_t)a->le.prev < (uintptr_t)b->le.prev;
}


static void place(size_t i, struct tmr *tmr)
{
	heap.v[i] = tmr;
	pos_set(tmr, i + 1);
}


static void sift_up(size_t i)
{
	struct tmr *tmr = heap.v[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (!before(tmr, heap.v[parent]))
			break;

		place(i, heap.v[parent]);
		i = parent;
	}

	place(i, tmr);
}


static void sift_down(size_t i)
{
	struct tmr *tmr = heap.v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= heap.n)
			break;
		if (c + 1 < heap.n && before(heap.v[c + 1], heap.v[c]))
			++c;
		if (!before(heap.v[c], tmr))
			break;

		place(i, heap.v[c]);
		i = c;
	}

	place(i, tmr);
}


static void heap_remove(struct tmr *tmr)
{
	size_t i = pos_get(tmr) - 1;
	struct tmr *last = heap.v[--heap.n];

	pos_set(tmr, 0);

	if (i < heap.n) {
		place(i, last);
		sift_down(i);
		sift_up(pos_get(last) - 1);
	}

	if (!heap.n) {
		free(heap.v);
		heap.v = NULL;
		heap.size = 0;
	}
}


/* re's tmr_start cannot fail; without memory the timer cannot run, and
 * neither could re's own without its list, so this is the end */
static void heap_grow(void)
{
	size_t size = heap.size ? heap.size * 2 : 256;
	struct tmr **v = realloc(heap.v, size * sizeof(*v));

	if (!v)
		abort();

	heap.v = v;
	heap.size = size;
}


/**
 * Start a timer, or restart it; a NULL handler stops it
 *
 * @param tmr   Timer
 * @param delay Milliseconds from now
 * @param th    Handler
 * @param arg   Handler argument
 */
void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	if (!tmr)
		return;

	if (pos_get(tmr))
		heap_remove(tmr);

	tmr->th = th;
	tmr->arg = arg;

	if (!th)
		return;

	if (heap.n == heap.size)
		heap_grow();

	tmr->jfs = delay + tmr_jiffies();
	tmr->le.prev = (struct le *)++heap.seq;
	tmr->le.data = tmr;
	heap.v[heap.n] = tmr;
	pos_set(tmr, ++heap.n);
	sift_up(heap.n - 1);
}


/**
 * Stop a timer
 *
 * @param tmr Timer
 */
void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}


/**
 * Run the handlers of the timers that are due (called by re_main)
 *
 * @param tmrl re's list, unused: the heap replaces it
 */
void tmr_poll(struct list *tmrl)
{
	const uint64_t jfs = tmr_jiffies();
	(void)tmrl;

	while (heap.n && heap.v[0]->jfs <= jfs) {
		struct tmr *tmr = heap.v[0];
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		tmr->th = NULL;
		heap_remove(tmr);

		th(arg);
	}
}


/**
 * Milliseconds until the next timer is due (called by re_main)
 *
 * @param tmrl re's list, unused: the heap replaces it
 *
 * @return 0 if no timer runs, 1 if one is due, else the wait
 */
uint64_t tmr_next_timeout(struct list *tmrl)
{
	const uint64_t jfs = tmr_jiffies();
	(void)tmrl;

	if (!heap.n)
		return 0;

	return heap.v[0]->jfs <= jfs ? 1 : heap.v[0]->jfs - jfs;
}


/**
 * Milliseconds until a timer is due
 *
 * @param tmr Timer
 *
 * @return The wait, 0 if it is due or stopped
 */
uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t jfs;

	if (!tmr || !tmr->th)
		return 0;

	jfs = tmr_jiffies();

	return tmr->jfs > jfs ? tmr->jfs - jfs : 0;
}


/**
 * Print the running timers
 *
 * @param pf     Print function
 * @param unused Unused
 *
 * @return 0 if success, otherwise errorcode
 */
int tmr_status(struct re_printf *pf, void *unused)
{
	size_t i;
	int err;
	(void)unused;

	if (!heap.n)
		return 0;

	err = re_hprintf(pf, "Timers (%zu):\n", heap.n);

	for (i = 0; i < heap.n && i < 100; i++) {
		err |= re_hprintf(pf, "  %p: th=%p expire=%llums\n",
				  heap.v[i], heap.v[i]->th,
				  (unsigned long long)
				  tmr_get_expire(heap.v[i]));
	}

	return err;
}


/**
 * Print the running timers to stderr, if any (leak check at exit)
 */
void tmr_debug(void)
{
	if (heap.n)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}


/** @return The number of timers running in this thread */
size_t timers_count(void)
{
	return heap.n;
}
