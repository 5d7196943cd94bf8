/**
 * @file tqueue.c  Many timers on one: a binary heap of deadlines
 *
 * re 1.1.0 keeps its timers in one sorted list and inserts by walking
 * it, so thousands of long timers (one per contact) would make every
 * transaction timer cost O(contacts). A heap of our own costs O(log n)
 * and puts a single timer on re's list, armed for the earliest deadline.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/** A queue of deadlines */
struct tqueue {
	struct tq_entry **heap;   /**< Min-heap on due time              */
	size_t n;                 /**< Entries queued                    */
	size_t size;              /**< Room in heap                      */
	struct tmr tmr;           /**< Armed for heap[0]                 */
};


static void destructor(void *arg)
{
	struct tqueue *tq = arg;
	size_t i;

	tmr_cancel(&tq->tmr);

	for (i = 0; i < tq->n; i++)
		tq->heap[i]->idx = 0;

	mem_deref(tq->heap);
}


static void place(struct tqueue *tq, size_t i, struct tq_entry *e)
{
	tq->heap[i] = e;
	e->idx = i + 1;
}


static void sift_up(struct tqueue *tq, size_t i)
{
	struct tq_entry *e = tq->heap[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (tq->heap[parent]->due <= e->due)
			break;

		place(tq, i, tq->heap[parent]);
		i = parent;
	}

	place(tq, i, e);
}


static void sift_down(struct tqueue *tq, size_t i)
{
	struct tq_entry *e = tq->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= tq->n)
			break;
		if (c + 1 < tq->n && tq->heap[c + 1]->due < tq->heap[c]->due)
			++c;
		if (e->due <= tq->heap[c]->due)
			break;

		place(tq, i, tq->heap[c]);
		i = c;
	}

	place(tq, i, e);
}


static void remove_at(struct tqueue *tq, size_t i)
{
	struct tq_entry *last = tq->heap[--tq->n];

	tq->heap[i]->idx = 0;

	if (i == tq->n)
		return;

	place(tq, i, last);
	sift_down(tq, i);
	sift_up(tq, last->idx - 1);
}


static void tmr_handler(void *arg);


static void rearm(struct tqueue *tq)
{
	uint64_t now = tmr_jiffies();

	if (!tq->n) {
		tmr_cancel(&tq->tmr);
		return;
	}

	tmr_start(&tq->tmr, tq->heap[0]->due > now ? tq->heap[0]->due - now
		  : 0, tmr_handler, tq);
}


static void tmr_handler(void *arg)
{
	struct tqueue *tq = arg;
	uint64_t now = tmr_jiffies();

	/* a handler may queue or cancel entries, this one included */
	while (tq->n && tq->heap[0]->due <= now) {
		struct tq_entry *e = tq->heap[0];

		remove_at(tq, 0);
		e->h(e->arg);
	}

	rearm(tq);
}


/**
 * Make a timer queue
 *
 * @param tqp Pointer to allocated queue
 *
 * @return 0 if success, otherwise errorcode
 */
int tqueue_alloc(struct tqueue **tqp)
{
	struct tqueue *tq;

	if (!tqp)
		return EINVAL;

	tq = mem_zalloc(sizeof(*tq), destructor);
	if (!tq)
		return ENOMEM;

	tmr_init(&tq->tmr);
	*tqp = tq;

	return 0;
}


/**
 * Queue an entry, or move it if it is queued already
 *
 * @param tq    Queue
 * @param e     Entry, embedded in its owner
 * @param delay Milliseconds from now
 * @param h     Called when due
 * @param arg   Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int tqueue_start(struct tqueue *tq, struct tq_entry *e, uint64_t delay,
		 tq_h *h, void *arg)
{
	if (!tq || !e || !h)
		return EINVAL;

	if (e->idx)
		remove_at(tq, e->idx - 1);

	if (tq->n == tq->size) {
		size_t size = tq->size ? tq->size * 2 : 64;
		struct tq_entry **heap;

		/* mem_realloc() of NULL fails in re 1.1.0 */
		heap = tq->heap ? mem_realloc(tq->heap, size * sizeof(*heap))
			: mem_alloc(size * sizeof(*heap), NULL);
		if (!heap)
			return ENOMEM;

		tq->heap = heap;
		tq->size = size;
	}

	e->due = tmr_jiffies() + delay;
	e->h = h;
	e->arg = arg;
	tq->heap[tq->n] = e;
	e->idx = ++tq->n;
	sift_up(tq, tq->n - 1);

	if (e->idx == 1)
		rearm(tq);

	return 0;
}


/**
 * Take an entry off the queue (no-op if it is not queued)
 *
 * @param tq Queue
 * @param e  Entry
 */
void tqueue_cancel(struct tqueue *tq, struct tq_entry *e)
{
	bool first;

	if (!tq || !e || !e->idx)
		return;

	first = e->idx == 1;
	remove_at(tq, e->idx - 1);

	if (first)
		rearm(tq);
}


/** @return The number of entries queued */
size_t tqueue_count(const struct tqueue *tq)
{
	return tq ? tq->n : 0;
}
