/**
 * @file store_migrate.c  Schema migrations, applied in order at start
 *
 * PRAGMA user_version holds the number of migrations applied. Each
 * migration runs in its own transaction, so a failure leaves the store
 * at the last good version. Append new migrations; never edit old ones.
 */
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "store"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static const char *migrationv[] = {

	/* 1: extensions, contacts, CDRs, settings */
	"CREATE TABLE settings ("
	"  key   TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"CREATE TABLE extensions ("
	"  number     TEXT PRIMARY KEY,"
	"  name       TEXT NOT NULL DEFAULT '',"
	"  ha1_md5    TEXT NOT NULL,"
	"  ha1_sha256 TEXT NOT NULL,"
	"  vm_pin     TEXT NOT NULL DEFAULT '',"
	"  auth_order INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE contacts ("
	"  aor        TEXT NOT NULL REFERENCES extensions (number)"
	"             ON DELETE CASCADE,"
	"  uri        TEXT NOT NULL,"
	"  callid     TEXT NOT NULL,"
	"  cseq       INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  received   TEXT NOT NULL,"
	"  transport  TEXT NOT NULL,"
	"  user_agent TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (aor, uri));"
	"CREATE TABLE cdrs ("
	"  id          INTEGER PRIMARY KEY,"
	"  call_id     TEXT NOT NULL,"
	"  caller      TEXT NOT NULL,"
	"  callee      TEXT NOT NULL,"
	"  start_ms    INTEGER NOT NULL,"
	"  answer_ms   INTEGER NOT NULL,"
	"  end_ms      INTEGER NOT NULL,"
	"  disposition TEXT NOT NULL,"
	"  cause       INTEGER NOT NULL,"
	"  reason      TEXT NOT NULL);",

	/* 2: SRTP offered to an extension's phones (enum ext_srtp) */
	"ALTER TABLE extensions ADD COLUMN srtp INTEGER NOT NULL DEFAULT 0;",

	/* 3: media quality per call, from the relay (NULL: not measured) */
	"ALTER TABLE cdrs ADD COLUMN caller_mos REAL;"
	"ALTER TABLE cdrs ADD COLUMN caller_loss_pct REAL;"
	"ALTER TABLE cdrs ADD COLUMN caller_jitter_ms REAL;"
	"ALTER TABLE cdrs ADD COLUMN callee_mos REAL;"
	"ALTER TABLE cdrs ADD COLUMN callee_loss_pct REAL;"
	"ALTER TABLE cdrs ADD COLUMN callee_jitter_ms REAL;",
};


static int exec(sqlite3 *db, const char *path, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		DEBUG_WARNING("%s: migration: %s\n", path,
			      msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_BUSY ? EBUSY : EBADMSG;
	}

	return 0;
}


/**
 * Schema version of a database: the migrations it has had
 *
 * @param db Open database
 *
 * @return The version, or -1 on error
 */
int store_db_version(sqlite3 *db)
{
	sqlite3_stmt *stmt;
	int ver = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
			       NULL) != SQLITE_OK)
		return -1;

	if (sqlite3_step(stmt) == SQLITE_ROW)
		ver = sqlite3_column_int(stmt, 0);

	sqlite3_finalize(stmt);

	return ver;
}


/**
 * Apply the migrations a store has not had yet
 *
 * @param db   Open database
 * @param path File name, for messages
 *
 * @return 0 if success, otherwise errorcode
 */
int store_migrate(sqlite3 *db, const char *path)
{
	const int latest = (int)ARRAY_SIZE(migrationv);
	int ver = store_db_version(db), err;

	if (ver < 0)
		return EBADMSG;

	if (ver > latest) {
		DEBUG_WARNING("%s: schema version %d is newer than this"
			      " program's %d\n", path, ver, latest);
		return ENOTSUP;
	}

	for (; ver < latest; ver++) {
		char sql[64];

		err = exec(db, path, "BEGIN IMMEDIATE");
		if (err)
			return err;

		(void)re_snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
				  ver + 1);

		err = exec(db, path, migrationv[ver]);
		if (!err)
			err = exec(db, path, sql);
		if (!err)
			err = exec(db, path, "COMMIT");
		if (err) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}

		DEBUG_INFO("%s: schema now at version %d\n", path, ver + 1);
	}

	return 0;
}
