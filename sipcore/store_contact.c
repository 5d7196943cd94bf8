/**
 * @file store_contact.c  Registered contacts in the store
 */
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"


/**
 * Save a contact binding (insert or refresh)
 *
 * @param st  Store
 * @param rec Contact
 *
 * @return 0 if success, otherwise errorcode
 */
int store_contact_put(struct store *st, const struct contact_rec *rec)
{
	sqlite3_stmt *stmt;
	char received[64];

	if (!st || !rec)
		return EINVAL;

	(void)re_snprintf(received, sizeof(received), "%J", &rec->received);

	stmt = store_stmt(st, STMT_CONTACT_PUT);
	sqlite3_bind_text(stmt, 1, rec->aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, rec->uri, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, rec->callid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, rec->cseq);
	sqlite3_bind_int64(stmt, 5, rec->expires_at);
	sqlite3_bind_text(stmt, 6, received, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, sip_transp_name(rec->tp), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, rec->user_agent, -1, SQLITE_STATIC);

	return store_write(st, stmt);
}


/**
 * Remove one contact binding
 *
 * @param st  Store
 * @param aor Extension number
 * @param uri Contact URI
 *
 * @return 0 if success, otherwise errorcode
 */
int store_contact_del(struct store *st, const char *aor, const char *uri)
{
	sqlite3_stmt *stmt;

	if (!st || !aor || !uri)
		return EINVAL;

	stmt = store_stmt(st, STMT_CONTACT_DEL);
	sqlite3_bind_text(stmt, 1, aor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, uri, -1, SQLITE_STATIC);

	return store_write(st, stmt);
}


/**
 * Remove every contact binding of an extension
 *
 * @param st  Store
 * @param aor Extension number
 *
 * @return 0 if success, otherwise errorcode
 */
int store_contact_del_aor(struct store *st, const char *aor)
{
	sqlite3_stmt *stmt;

	if (!st || !aor)
		return EINVAL;

	stmt = store_stmt(st, STMT_CONTACT_DEL_AOR);
	sqlite3_bind_text(stmt, 1, aor, -1, SQLITE_STATIC);

	return store_write(st, stmt);
}


static enum sip_transp transp_decode(const char *name)
{
	enum sip_transp tp;

	for (tp = SIP_TRANSP_UDP; tp < SIP_TRANSPC; tp++) {
		if (!str_casecmp(name, sip_transp_name(tp)))
			return tp;
	}

	return SIP_TRANSP_NONE;
}


/**
 * List all stored contact bindings; rows that cannot be read are skipped
 *
 * @param st  Store
 * @param h   Called for each; a non-zero return stops the walk
 * @param arg Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int store_contact_list(struct store *st, store_contact_h *h, void *arg)
{
	sqlite3_stmt *stmt;
	bool row;
	int err;

	if (!st || !h)
		return EINVAL;

	stmt = store_stmt(st, STMT_CONTACT_LIST);

	for (;;) {
		struct contact_rec rec;
		char received[64], tp[8];

		err = store_step(st, stmt, &row);
		if (err || !row)
			break;

		store_text(rec.aor, sizeof(rec.aor), stmt, 0);
		store_text(rec.uri, sizeof(rec.uri), stmt, 1);
		store_text(rec.callid, sizeof(rec.callid), stmt, 2);
		rec.cseq = (uint32_t)sqlite3_column_int64(stmt, 3);
		rec.expires_at = sqlite3_column_int64(stmt, 4);
		store_text(received, sizeof(received), stmt, 5);
		store_text(tp, sizeof(tp), stmt, 6);
		store_text(rec.user_agent, sizeof(rec.user_agent), stmt, 7);

		rec.tp = transp_decode(tp);
		if (rec.tp == SIP_TRANSP_NONE ||
		    sa_decode(&rec.received, received, str_len(received)))
			continue;

		err = h(&rec, arg);
		if (err)
			break;
	}

	sqlite3_reset(stmt);

	return err;
}
