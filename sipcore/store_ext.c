/**
 * @file store_ext.c  Extensions in the store, with a write-through cache
 *
 * Every REGISTER and call looks extensions up two or three times. One
 * daemon holds the store (store.c locks it) and every change comes
 * through here, so a cache of the extensions looked up is always right
 * (a hand edit with the sqlite3 shell is not seen until a restart: the
 * API is the way to change extensions). Unknown numbers
 * are not cached: a flood of made-up names cannot grow it.
 */
#include <string.h>
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"


/** A cached extension */
struct ext_entry {
	struct le he;       /**< In the store's cache */
	struct ext ext;     /**< The extension        */
};


static void entry_destructor(void *arg)
{
	struct ext_entry *e = arg;

	hash_unlink(&e->he);
}


static bool entry_cmp(struct le *le, void *arg)
{
	const struct ext_entry *e = le->data;

	return 0 == strcmp(e->ext.number, arg);
}


static struct ext_entry *cache_find(struct store *st, const char *number)
{
	return list_ledata(hash_lookup(store_ext_cache(st),
				       hash_joaat_str(number), entry_cmp,
				       (void *)number));
}


/* a failed allocation only costs a later lookup */
static void cache_put(struct store *st, const struct ext *ext)
{
	struct ext_entry *e = cache_find(st, ext->number);

	if (!e) {
		e = mem_zalloc(sizeof(*e), entry_destructor);
		if (!e)
			return;

		hash_append(store_ext_cache(st), hash_joaat_str(ext->number),
			    &e->he, e);
	}

	e->ext = *ext;
}


static void ext_read(struct ext *ext, sqlite3_stmt *stmt)
{
	store_text(ext->number, sizeof(ext->number), stmt, 0);
	store_text(ext->name, sizeof(ext->name), stmt, 1);
	store_text(ext->ha1_md5, sizeof(ext->ha1_md5), stmt, 2);
	store_text(ext->ha1_sha256, sizeof(ext->ha1_sha256), stmt, 3);
	store_text(ext->vm_pin, sizeof(ext->vm_pin), stmt, 4);
	ext->auth_order = sqlite3_column_int(stmt, 5);
	ext->srtp = sqlite3_column_int(stmt, 6);
}


/**
 * Look up an extension by number
 *
 * @param st     Store
 * @param number Extension number
 * @param ext    Filled on success
 *
 * @return 0 if found, ENOENT if not, otherwise errorcode
 */
int store_ext_get(struct store *st, const char *number, struct ext *ext)
{
	sqlite3_stmt *stmt;
	bool row;
	int err;

	const struct ext_entry *e;

	if (!st || !number || !ext)
		return EINVAL;

	e = cache_find(st, number);
	if (e) {
		*ext = e->ext;
		return 0;
	}

	stmt = store_stmt(st, STMT_EXT_GET);
	sqlite3_bind_text(stmt, 1, number, -1, SQLITE_STATIC);

	err = store_step(st, stmt, &row);
	if (err)
		return err;
	if (!row)
		return ENOENT;

	ext_read(ext, stmt);
	sqlite3_reset(stmt);
	cache_put(st, ext);

	/* the API answers once it is committed */
	return store_batch_commit(st);
}


/**
 * Add or change an extension
 *
 * @param st     Store
 * @param ext    Extension
 * @param create True to add (EEXIST if it exists), false to change
 *               (ENOENT if it does not)
 *
 * @return 0 if success, otherwise errorcode
 */
int store_ext_put(struct store *st, const struct ext *ext, bool create)
{
	sqlite3_stmt *stmt;
	int err;

	if (!st || !ext || !str_isset(ext->number))
		return EINVAL;

	stmt = store_stmt(st, create ? STMT_EXT_INSERT : STMT_EXT_UPDATE);
	sqlite3_bind_text(stmt, 1, ext->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, ext->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, ext->ha1_md5, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, ext->ha1_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, ext->vm_pin, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, ext->auth_order);
	sqlite3_bind_int(stmt, 7, ext->srtp);

	err = store_write(st, stmt);
	if (err)
		return err;

	if (!create && !sqlite3_changes(sqlite3_db_handle(stmt)))
		return ENOENT;

	cache_put(st, ext);

	/* the API answers once it is committed */
	return store_batch_commit(st);
}


/**
 * Remove an extension, and with it its contacts
 *
 * @param st     Store
 * @param number Extension number
 *
 * @return 0 if success, ENOENT if there is none, otherwise errorcode
 */
int store_ext_del(struct store *st, const char *number)
{
	sqlite3_stmt *stmt;
	int err;

	if (!st || !number)
		return EINVAL;

	stmt = store_stmt(st, STMT_EXT_DELETE);
	sqlite3_bind_text(stmt, 1, number, -1, SQLITE_STATIC);

	err = store_write(st, stmt);
	if (err)
		return err;

	mem_deref(cache_find(st, number));

	if (!sqlite3_changes(sqlite3_db_handle(stmt)))
		return ENOENT;

	return store_batch_commit(st);
}


/**
 * List all extensions in number order
 *
 * @param st  Store
 * @param h   Called for each; a non-zero return stops the walk
 * @param arg Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int store_ext_list(struct store *st, store_ext_h *h, void *arg)
{
	sqlite3_stmt *stmt;
	bool row;
	int err;

	if (!st || !h)
		return EINVAL;

	stmt = store_stmt(st, STMT_EXT_LIST);

	for (;;) {
		struct ext ext;

		err = store_step(st, stmt, &row);
		if (err || !row)
			break;

		ext_read(&ext, stmt);
		err = h(&ext, arg);
		if (err)
			break;
	}

	sqlite3_reset(stmt);

	return err;
}
