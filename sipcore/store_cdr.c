/**
 * @file store_cdr.c  Call detail records and settings in the store
 */
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"


/**
 * Add a call detail record
 *
 * @param st  Store
 * @param cdr Record; its id is set on success
 *
 * @return 0 if success, otherwise errorcode
 */
int store_cdr_add(struct store *st, struct cdr *cdr)
{
	sqlite3_stmt *stmt;
	int err;

	if (!st || !cdr)
		return EINVAL;

	stmt = store_stmt(st, STMT_CDR_ADD);
	sqlite3_bind_text(stmt, 1, cdr->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cdr->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, cdr->callee, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, cdr->start_ms);
	sqlite3_bind_int64(stmt, 5, cdr->answer_ms);
	sqlite3_bind_int64(stmt, 6, cdr->end_ms);
	sqlite3_bind_text(stmt, 7, cdr->disposition, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 8, cdr->cause);
	sqlite3_bind_text(stmt, 9, cdr->reason, -1, SQLITE_STATIC);

	err = store_write(st, stmt);
	if (!err)
		cdr->id = sqlite3_last_insert_rowid(sqlite3_db_handle(stmt));

	return err;
}


/**
 * Update a call detail record written earlier (at answer)
 *
 * @param st  Store
 * @param cdr Record with its id
 *
 * @return 0 if success, otherwise errorcode
 */
int store_cdr_update(struct store *st, const struct cdr *cdr)
{
	sqlite3_stmt *stmt;

	if (!st || !cdr || !cdr->id)
		return EINVAL;

	stmt = store_stmt(st, STMT_CDR_UPDATE);
	sqlite3_bind_int64(stmt, 1, cdr->id);
	sqlite3_bind_int64(stmt, 2, cdr->answer_ms);
	sqlite3_bind_int64(stmt, 3, cdr->end_ms);
	sqlite3_bind_text(stmt, 4, cdr->disposition, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, cdr->cause);
	sqlite3_bind_text(stmt, 6, cdr->reason, -1, SQLITE_STATIC);

	return store_write(st, stmt);
}


static void quality_bind(sqlite3_stmt *stmt, int col,
			 const struct cdr_quality *q)
{
	if (!q || !q->set) {
		sqlite3_bind_null(stmt, col);
		sqlite3_bind_null(stmt, col + 1);
		sqlite3_bind_null(stmt, col + 2);
		return;
	}

	sqlite3_bind_double(stmt, col, q->mos);
	sqlite3_bind_double(stmt, col + 1, q->loss_pct);
	sqlite3_bind_double(stmt, col + 2, q->jitter_ms);
}


static void quality_read(struct cdr_quality *q, sqlite3_stmt *stmt,
			 int col)
{
	q->set = sqlite3_column_type(stmt, col) != SQLITE_NULL;
	q->mos = sqlite3_column_double(stmt, col);
	q->loss_pct = sqlite3_column_double(stmt, col + 1);
	q->jitter_ms = sqlite3_column_double(stmt, col + 2);
}


/**
 * Record the media quality of a call (the relay measures it to the end)
 *
 * @param st     Store
 * @param id     CDR row id
 * @param caller What came from the caller, NULL: not measured
 * @param callee What came from the callee, NULL: not measured
 *
 * @return 0 if success, otherwise errorcode
 */
int store_cdr_quality(struct store *st, int64_t id,
		      const struct cdr_quality *caller,
		      const struct cdr_quality *callee)
{
	sqlite3_stmt *stmt;

	if (!st || !id)
		return EINVAL;

	stmt = store_stmt(st, STMT_CDR_QUALITY);
	sqlite3_bind_int64(stmt, 1, id);
	quality_bind(stmt, 2, caller);
	quality_bind(stmt, 5, callee);

	return store_write(st, stmt);
}


/**
 * List call detail records, newest first
 *
 * @param st        Store
 * @param limit     Most rows to list
 * @param before_id List rows with a smaller id (0 = from the newest)
 * @param h         Called for each; a non-zero return stops the walk
 * @param arg       Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int store_cdr_list(struct store *st, uint32_t limit, int64_t before_id,
		   store_cdr_h *h, void *arg)
{
	sqlite3_stmt *stmt;
	bool row;
	int err;

	if (!st || !h)
		return EINVAL;

	stmt = store_stmt(st, STMT_CDR_LIST);
	sqlite3_bind_int64(stmt, 1, limit);
	sqlite3_bind_int64(stmt, 2, before_id > 0 ? before_id : INT64_MAX);

	for (;;) {
		struct cdr cdr;

		err = store_step(st, stmt, &row);
		if (err || !row)
			break;

		cdr.id = sqlite3_column_int64(stmt, 0);
		store_text(cdr.call_id, sizeof(cdr.call_id), stmt, 1);
		store_text(cdr.caller, sizeof(cdr.caller), stmt, 2);
		store_text(cdr.callee, sizeof(cdr.callee), stmt, 3);
		cdr.start_ms = sqlite3_column_int64(stmt, 4);
		cdr.answer_ms = sqlite3_column_int64(stmt, 5);
		cdr.end_ms = sqlite3_column_int64(stmt, 6);
		store_text(cdr.disposition, sizeof(cdr.disposition), stmt, 7);
		cdr.cause = (uint16_t)sqlite3_column_int(stmt, 8);
		store_text(cdr.reason, sizeof(cdr.reason), stmt, 9);
		quality_read(&cdr.q_caller, stmt, 10);
		quality_read(&cdr.q_callee, stmt, 13);

		err = h(&cdr, arg);
		if (err)
			break;
	}

	sqlite3_reset(stmt);

	return err;
}


/**
 * Read a setting
 *
 * @param st  Store
 * @param key Setting name
 * @param val Buffer for the value
 * @param sz  Size of buffer
 *
 * @return 0 if found, ENOENT if not, otherwise errorcode
 */
int store_setting_get(struct store *st, const char *key, char *val,
		      size_t sz)
{
	sqlite3_stmt *stmt;
	bool row;
	int err;

	if (!st || !key || !val || !sz)
		return EINVAL;

	stmt = store_stmt(st, STMT_SETTING_GET);
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);

	err = store_step(st, stmt, &row);
	if (err)
		return err;
	if (!row)
		return ENOENT;

	store_text(val, sz, stmt, 0);
	sqlite3_reset(stmt);

	return 0;
}


/**
 * Write a setting
 *
 * @param st  Store
 * @param key Setting name
 * @param val Value
 *
 * @return 0 if success, otherwise errorcode
 */
int store_setting_put(struct store *st, const char *key, const char *val)
{
	sqlite3_stmt *stmt;
	int err;

	if (!st || !key || !val)
		return EINVAL;

	stmt = store_stmt(st, STMT_SETTING_PUT);
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, val, -1, SQLITE_STATIC);

	err = store_write(st, stmt);

	return err ? err : store_batch_commit(st);
}
