/**
 * @file store.c  The SQLite store: open, migrate, prepared statements
 *
 * One file in WAL mode. With synchronous=NORMAL a committed write survives
 * the process being killed (the WAL is in the OS cache), which is what
 * "SIGKILL loses no registration" needs; only power loss can cost the last
 * transactions. Checkpoints, the only fsyncs, run on a thread of their own
 * (store_ckpt.c), and a second daemon on the same store is refused at
 * start.
 */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "store"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** The store: one connection and its prepared statements */
struct store {
	sqlite3 *db;                         /**< Connection            */
	sqlite3_stmt *stmtv[STMT_COUNT];     /**< Prepared statements   */
	struct hash *ext_cache;              /**< store_ext.c's cache   */
	struct store_ckpt *ckpt;             /**< Checkpoint thread     */
	struct store_batch *batch;           /**< Group commit          */
	int lock_fd;                         /**< Holds the daemon lock */
	char *path;                          /**< File name             */
};

static const char *sqlv[STMT_COUNT] = {
	[STMT_BEGIN]    = "BEGIN IMMEDIATE",
	[STMT_COMMIT]   = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SAVEPOINT]   = "SAVEPOINT part",
	[STMT_RELEASE]     = "RELEASE part",
	[STMT_ROLLBACK_TO] = "ROLLBACK TO part",
	[STMT_EXT_GET]  =
		"SELECT number, name, ha1_md5, ha1_sha256, vm_pin,"
		" auth_order, srtp FROM extensions WHERE number = ?1",
	[STMT_EXT_INSERT] =
		"INSERT INTO extensions (number, name, ha1_md5, ha1_sha256,"
		" vm_pin, auth_order, srtp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_EXT_UPDATE] =
		"UPDATE extensions SET name = ?2, ha1_md5 = ?3,"
		" ha1_sha256 = ?4, vm_pin = ?5, auth_order = ?6, srtp = ?7"
		" WHERE number = ?1",
	[STMT_EXT_DELETE] = "DELETE FROM extensions WHERE number = ?1",
	[STMT_EXT_LIST] =
		"SELECT number, name, ha1_md5, ha1_sha256, vm_pin,"
		" auth_order, srtp FROM extensions ORDER BY number",
	[STMT_CONTACT_PUT] =
		"INSERT INTO contacts (aor, uri, callid, cseq, expires_at,"
		" received, transport, user_agent)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (aor, uri) DO UPDATE SET callid = ?3,"
		" cseq = ?4, expires_at = ?5, received = ?6,"
		" transport = ?7, user_agent = ?8",
	[STMT_CONTACT_DEL] =
		"DELETE FROM contacts WHERE aor = ?1 AND uri = ?2",
	[STMT_CONTACT_DEL_AOR] = "DELETE FROM contacts WHERE aor = ?1",
	[STMT_CONTACT_LIST] =
		"SELECT aor, uri, callid, cseq, expires_at, received,"
		" transport, user_agent FROM contacts",
	[STMT_CDR_ADD] =
		"INSERT INTO cdrs (call_id, caller, callee, start_ms,"
		" answer_ms, end_ms, disposition, cause, reason)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_CDR_UPDATE] =
		"UPDATE cdrs SET answer_ms = ?2, end_ms = ?3,"
		" disposition = ?4, cause = ?5, reason = ?6 WHERE id = ?1",
	[STMT_CDR_LIST] =
		"SELECT id, call_id, caller, callee, start_ms, answer_ms,"
		" end_ms, disposition, cause, reason, caller_mos,"
		" caller_loss_pct, caller_jitter_ms, callee_mos,"
		" callee_loss_pct, callee_jitter_ms FROM cdrs"
		" WHERE id < ?2 ORDER BY id DESC LIMIT ?1",
	[STMT_CDR_QUALITY] =
		"UPDATE cdrs SET caller_mos = ?2, caller_loss_pct = ?3,"
		" caller_jitter_ms = ?4, callee_mos = ?5,"
		" callee_loss_pct = ?6, callee_jitter_ms = ?7 WHERE id = ?1",
	[STMT_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
	[STMT_SETTING_PUT] =
		"INSERT INTO settings (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = ?2",
};


static void destructor(void *arg)
{
	struct store *st = arg;
	size_t i;

	hash_flush(st->ext_cache);
	mem_deref(st->ext_cache);

	if (st->batch)
		(void)store_batch_commit(st);
	st->batch = mem_deref(st->batch);

	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmtv[i]);

	st->ckpt = mem_deref(st->ckpt);

	if (st->db) {
		/* folds the WAL back so the file stands alone */
		if (sqlite3_close(st->db) != SQLITE_OK)
			DEBUG_WARNING("%s: close: %s\n", st->path,
				      sqlite3_errmsg(st->db));
	}

	/* only now: closing it earlier would drop SQLite's own locks */
	if (st->lock_fd >= 0)
		(void)close(st->lock_fd);

	mem_deref(st->path);
}


/**
 * Turn an SQLite result code into an errno code, logging why
 *
 * @param st   Store
 * @param rc   SQLite result code
 * @param what What was being done
 *
 * @return errno code (0 for SQLITE_OK/ROW/DONE)
 */
int store_errcode(struct store *st, int rc, const char *what)
{
	switch (rc & 0xff) {

	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;

	case SQLITE_CONSTRAINT:
		return EEXIST;

	default:
		break;
	}

	DEBUG_WARNING("%s: %s: %s\n", st ? st->path : "?", what,
		      st ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));

	switch (rc & 0xff) {

	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;

	case SQLITE_NOMEM:
		return ENOMEM;

	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return EBADMSG;

	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return EACCES;

	case SQLITE_FULL:
		return ENOSPC;

	default:
		return EIO;
	}
}


/**
 * Get a prepared statement, reset and with its bindings cleared
 *
 * @param st Store
 * @param id Statement
 *
 * @return The statement
 */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id)
{
	sqlite3_stmt *stmt;

	if (!st || id >= STMT_COUNT)
		return NULL;

	stmt = st->stmtv[id];
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);

	return stmt;
}


/**
 * Step a statement once
 *
 * @param st   Store
 * @param stmt Statement
 * @param row  Set to true if a row is ready (may be NULL)
 *
 * @return 0 if success, otherwise errorcode
 */
int store_step(struct store *st, sqlite3_stmt *stmt, bool *row)
{
	int rc = sqlite3_step(stmt);

	if (row)
		*row = (rc == SQLITE_ROW);

	if (rc != SQLITE_ROW)
		sqlite3_reset(stmt);

	return store_errcode(st, rc, sqlite3_sql(stmt));
}


/**
 * Step a statement that writes, in the batch transaction (store_batch.c)
 *
 * @param st   Store
 * @param stmt Statement
 *
 * @return 0 if success, otherwise errorcode
 */
int store_write(struct store *st, sqlite3_stmt *stmt)
{
	int err = store_batch_join(st);

	if (err) {
		sqlite3_reset(stmt);
		return err;
	}

	return store_step(st, stmt, NULL);
}


/**
 * Run a statement that takes no parameters and returns no rows
 *
 * @param st Store
 * @param id Statement
 *
 * @return 0 if success, otherwise errorcode
 */
int store_exec(struct store *st, enum store_stmt id)
{
	return store_step(st, store_stmt(st, id), NULL);
}


/**
 * Copy a text column into a buffer, truncating
 *
 * @param dst  Buffer
 * @param sz   Size of buffer
 * @param stmt Statement with a row
 * @param col  Column
 */
void store_text(char *dst, size_t sz, sqlite3_stmt *stmt, int col)
{
	const unsigned char *p = sqlite3_column_text(stmt, col);

	str_ncpy(dst, p ? (const char *)p : "", sz);
}


/* One daemon per store: its caches (extensions, contacts) would not see
 * another's writes. An advisory lock on the file itself, held while the
 * store is open; SQLite's own locks are per transaction. */
static int daemon_lock(struct store *st)
{
	st->lock_fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		int err = errno;

		DEBUG_WARNING("%s: cannot open: %m\n", st->path, err);
		return err;
	}

	if (flock(st->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? EBUSY : errno;

		DEBUG_WARNING("%s: store is locked (in use by another"
			      " switchboard?): %m\n", st->path, err);
		return err;
	}

	return 0;
}


static int pragma(struct store *st, const char *sql)
{
	return store_errcode(st, sqlite3_exec(st->db, sql, NULL, NULL, NULL),
			     sql);
}


/**
 * Open the store, creating it if need be, and bring its schema up to date
 *
 * @param stp  Pointer to allocated store
 * @param path File name
 *
 * @return 0 if success, otherwise errorcode (the reason is logged)
 */
int store_open(struct store **stp, const char *path)
{
	struct store *st;
	size_t i;
	int rc, err;

	if (!stp || !str_isset(path))
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;

	st->lock_fd = -1;

	err = str_dup(&st->path, path);
	if (err)
		goto out;

	err = daemon_lock(st);
	if (err)
		goto out;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_errcode(st, rc, "open");
		goto out;
	}

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 2000);

	/* the first statement reads the header: a file that is not a
	 * database, or one locked by another writer, fails here */
	err = pragma(st, "PRAGMA journal_mode = WAL");
	if (!err)
		err = pragma(st, "PRAGMA synchronous = NORMAL");
	if (!err)
		err = pragma(st, "PRAGMA foreign_keys = ON");
	if (err) {
		DEBUG_WARNING("%s: not a usable database"
			      " (corrupt, locked or not SQLite)\n", path);
		goto out;
	}

	err = store_migrate(st->db, path);
	if (err)
		goto out;

	for (i = 0; i < STMT_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, sqlv[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmtv[i], NULL);
		if (rc != SQLITE_OK) {
			err = store_errcode(st, rc, sqlv[i]);
			goto out;
		}
	}

	err = hash_alloc(&st->ext_cache, EXT_CACHE_BUCKETS);
	if (!err)
		err = store_batch_alloc(&st->batch, st);
	if (err)
		goto out;

	rc = sqlite3_exec(st->db, "PRAGMA quick_check", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = store_errcode(st, rc, "quick_check");
		goto out;
	}

	err = store_ckpt_alloc(&st->ckpt, st->db, path);
	if (err)
		DEBUG_WARNING("%s: cannot start the checkpoint thread: %m\n",
			      path, err);

 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


/**
 * The extension cache of a store (kept by store_ext.c)
 *
 * @param st Store
 *
 * @return Hash table of cached extensions
 */
struct hash *store_ext_cache(struct store *st)
{
	return st ? st->ext_cache : NULL;
}


/**
 * The group commit state of a store (kept by store_batch.c)
 *
 * @param st Store
 *
 * @return Batch state
 */
struct store_batch *store_batch_get(struct store *st)
{
	return st ? st->batch : NULL;
}


/**
 * Schema version of an open store
 *
 * @param st Store
 *
 * @return The version, or -1 on error
 */
int store_schema_version(struct store *st)
{
	return st ? store_db_version(st->db) : -1;
}
