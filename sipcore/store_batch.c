/**
 * @file store_batch.c  Group commit: the writes of a few milliseconds in
 *                      one transaction
 *
 * A transaction costs more than the statements in it (locks, the WAL
 * frame header, the wal-index). Under load the store's writes come
 * thousands a second, so each write joins the batch transaction that is
 * open, or opens one, and the batch commits BATCH_MS later, or at once
 * when BATCH_MAX writers wait for it. Whoever must not answer before its
 * write is safe (a REGISTER's 200) waits for the commit; a write that
 * must be committed on return (the API's) commits the batch itself.
 */
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "store"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	BATCH_MS  = 2,      /**< Longest a write waits for its commit  */
	BATCH_MAX = 256,    /**< Waiters that commit the batch at once */
};

/** The open batch transaction */
struct store_batch {
	struct store *st;
	struct tmr tmr;             /**< Commits the batch                */
	struct list waitl;          /**< struct batch_wait                */
	unsigned waitc;             /**< Entries in waitl                 */
	bool open;                  /**< A transaction is open            */
};

/** Someone waiting for the batch to commit */
struct batch_wait {
	struct le le;
	store_commit_h *h;
	void *arg;
};


static void commit_handler(void *arg)
{
	struct store_batch *b = arg;

	(void)store_batch_commit(b->st);
}


static void destructor(void *arg)
{
	struct store_batch *b = arg;

	tmr_cancel(&b->tmr);
	list_flush(&b->waitl);
}


/**
 * Allocate a store's batch state (store.c)
 *
 * @param bp Pointer to allocated batch state
 * @param st Store
 *
 * @return 0 if success, otherwise errorcode
 */
int store_batch_alloc(struct store_batch **bp, struct store *st)
{
	struct store_batch *b;

	if (!bp || !st)
		return EINVAL;

	b = mem_zalloc(sizeof(*b), destructor);
	if (!b)
		return ENOMEM;

	b->st = st;
	tmr_init(&b->tmr);
	*bp = b;

	return 0;
}


/**
 * Join the open batch transaction, or open one
 *
 * @param st Store
 *
 * @return 0 if success, otherwise errorcode
 */
int store_batch_join(struct store *st)
{
	struct store_batch *b = store_batch_get(st);
	int err;

	if (!b)
		return EINVAL;

	if (b->open)
		return 0;

	err = store_exec(st, STMT_BEGIN);
	if (err)
		return err;

	b->open = true;
	tmr_start(&b->tmr, BATCH_MS, commit_handler, b);

	return 0;
}


/**
 * Be told when the open batch has committed (or failed to)
 *
 * @param st  Store
 * @param h   Commit handler
 * @param arg Handler argument
 *
 * @return 0 if success, otherwise errorcode (then h is never called)
 */
int store_batch_wait(struct store *st, store_commit_h *h, void *arg)
{
	struct store_batch *b = store_batch_get(st);
	struct batch_wait *w;

	if (!b || !h)
		return EINVAL;

	if (!b->open)
		return EALREADY;

	w = mem_zalloc(sizeof(*w), NULL);
	if (!w)
		return ENOMEM;

	w->h = h;
	w->arg = arg;
	list_append(&b->waitl, &w->le, w);

	if (++b->waitc >= BATCH_MAX)
		tmr_start(&b->tmr, 0, commit_handler, b);

	return 0;
}


/**
 * Commit the open batch now, and tell those waiting for it
 *
 * @param st Store
 *
 * @return 0 if success (or nothing was open), otherwise errorcode
 */
int store_batch_commit(struct store *st)
{
	struct store_batch *b = store_batch_get(st);
	struct list waitl;
	int err;

	if (!b || !b->open)
		return 0;

	tmr_cancel(&b->tmr);
	b->open = false;

	err = store_exec(st, STMT_COMMIT);
	if (err) {
		DEBUG_WARNING("batch of %u writes not committed: %m\n",
			      b->waitc, err);
		(void)store_exec(st, STMT_ROLLBACK);
	}

	/* handlers may write again, and open the next batch */
	list_init(&waitl);
	while (b->waitl.head) {
		struct le *le = b->waitl.head;

		list_unlink(le);
		list_append(&waitl, le, le->data);
	}
	b->waitc = 0;

	while (waitl.head) {
		struct batch_wait *w = waitl.head->data;

		list_unlink(&w->le);
		w->h(err, w->arg);
		mem_deref(w);
	}

	return err;
}


/**
 * Start a part of the batch that takes effect whole or not at all
 *
 * @param st Store
 *
 * @return 0 if success, otherwise errorcode
 */
int store_batch_part(struct store *st)
{
	int err = store_batch_join(st);

	return err ? err : store_exec(st, STMT_SAVEPOINT);
}


/**
 * End the part started by store_batch_part
 *
 * @param st Store
 * @param ok Keep its writes; false: undo them
 *
 * @return 0 if success, otherwise errorcode
 */
int store_batch_part_end(struct store *st, bool ok)
{
	int err = 0;

	if (!ok)
		err = store_exec(st, STMT_ROLLBACK_TO);

	return err ? err : store_exec(st, STMT_RELEASE);
}
