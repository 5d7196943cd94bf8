/**
 * @file store_ckpt.c  WAL checkpoints off the SIP thread
 *
 * In WAL mode a commit only appends to the WAL (write(), no fsync with
 * synchronous=NORMAL); the checkpoint that copies the WAL back into the
 * database fsyncs both files. Run on the re_main thread, those fsyncs
 * stalled it for tens of milliseconds several times a second under load:
 * long enough for the UDP receive queue to overflow and phones to
 * retransmit. So automatic checkpoints are off and a thread of its own,
 * with a connection of its own, checkpoints when the WAL has grown past
 * CKPT_FRAMES. A PASSIVE checkpoint never blocks the writer: the main
 * connection goes on committing meanwhile and restarts the WAL from its
 * beginning on the first commit after a complete checkpoint.
 *
 * The thread touches no re object: only its own SQLite connection and
 * the fields below under mtx.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "store"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	CKPT_FRAMES    = 1000,   /* WAL growth (4 KiB pages) between runs */
	WAL_FRAMES_MAX = 16384,  /* past this, wait for the writer      */
};

/** The checkpointer: its thread and its connection */
struct store_ckpt {
	pthread_t thread;
	bool thread_ok;                /**< thread was started            */
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool due;                      /**< WAL grew CKPT_FRAMES (mtx)    */
	int frames;                    /**< WAL pages when due (mtx)      */
	bool stop;                     /**< Thread to end (mtx)           */
	int rc;                        /**< Last failure, SQLITE_OK (mtx) */
	sqlite3 *db;                   /**< The thread's own connection   */
	sqlite3 *main;                 /**< The store's, hooked           */
	int frames_last;               /**< WAL pages at the last signal  */
};


static void *ckpt_main(void *arg)
{
	struct store_ckpt *ck = arg;

	pthread_mutex_lock(&ck->mtx);

	for (;;) {
		int rc, mode;

		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->mtx);

		if (ck->stop)
			break;

		ck->due = false;

		/* a WAL that never got a quiet moment to restart in: wait
		 * for the writer this once, and cut the file back */
		mode = ck->frames >= WAL_FRAMES_MAX ?
			SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE;

		pthread_mutex_unlock(&ck->mtx);

		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, mode, NULL, NULL);

		pthread_mutex_lock(&ck->mtx);
		if (rc != SQLITE_OK)
			ck->rc = rc;
	}

	pthread_mutex_unlock(&ck->mtx);

	return NULL;
}


static void destructor(void *arg)
{
	struct store_ckpt *ck = arg;

	if (ck->main)
		sqlite3_wal_hook(ck->main, NULL, NULL);

	if (ck->thread_ok) {
		pthread_mutex_lock(&ck->mtx);
		ck->stop = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->mtx);
		pthread_join(ck->thread, NULL);
	}

	sqlite3_close(ck->db);
	pthread_cond_destroy(&ck->cond);
	pthread_mutex_destroy(&ck->mtx);
}


/* called by SQLite on the main connection (re_main thread) after each
 * commit: the thread's failures are logged from here */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_ckpt *ck = arg;
	int rc;
	(void)db;
	(void)name;

	/* the WAL restarted from its beginning since the last run */
	if (frames < ck->frames_last)
		ck->frames_last = 0;

	if (frames < ck->frames_last + CKPT_FRAMES)
		return SQLITE_OK;

	ck->frames_last = frames;

	pthread_mutex_lock(&ck->mtx);
	rc = ck->rc;
	ck->rc = SQLITE_OK;
	ck->frames = frames;
	if (!ck->due) {
		ck->due = true;
		pthread_cond_signal(&ck->cond);
	}
	pthread_mutex_unlock(&ck->mtx);

	if (rc != SQLITE_OK)
		DEBUG_WARNING("checkpoint failed: %s (WAL at %d pages)\n",
			      sqlite3_errstr(rc), frames);

	return SQLITE_OK;
}


/**
 * Take over the checkpoints of a store's main connection
 *
 * @param ckp  Pointer to allocated checkpointer
 * @param main The store's main connection (WAL mode)
 * @param path The database file
 *
 * @return 0 if success, otherwise errorcode
 */
int store_ckpt_alloc(struct store_ckpt **ckp, sqlite3 *main,
		     const char *path)
{
	struct store_ckpt *ck;
	int rc, err;

	if (!ckp || !main || !path)
		return EINVAL;

	ck = mem_zalloc(sizeof(*ck), destructor);
	if (!ck)
		return ENOMEM;

	pthread_mutex_init(&ck->mtx, NULL);
	pthread_cond_init(&ck->cond, NULL);

	rc = sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = EIO;
		goto out;
	}

	sqlite3_busy_timeout(ck->db, 1000);

	/* a connection learns the file is in WAL mode on its first read;
	 * until then a checkpoint on it does nothing */
	rc = sqlite3_exec(ck->db, "SELECT count(*) FROM sqlite_master",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = EIO;
		goto out;
	}

	err = pthread_create(&ck->thread, NULL, ckpt_main, ck);
	if (err)
		goto out;

	ck->thread_ok = true;

	/* from now on no commit on main runs a checkpoint itself */
	sqlite3_wal_autocheckpoint(main, 0);
	sqlite3_wal_hook(main, wal_hook, ck);
	ck->main = main;

 out:
	if (err)
		mem_deref(ck);
	else
		*ckp = ck;

	return err;
}
