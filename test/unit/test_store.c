/**
 * @file test_store.c  Store tests: schema, extensions, contacts, CDRs
 */
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sqlite3.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


static void tmp_path(char *buf, size_t sz, const char *name)
{
	(void)re_snprintf(buf, sz, "/tmp/sbtest-%d-%s.db", (int)getpid(),
			  name);
}


static void tmp_remove(const char *path)
{
	char aux[300];

	(void)unlink(path);
	(void)re_snprintf(aux, sizeof(aux), "%s-wal", path);
	(void)unlink(aux);
	(void)re_snprintf(aux, sizeof(aux), "%s-shm", path);
	(void)unlink(aux);
}


static int count_ext(const struct ext *ext, void *arg)
{
	unsigned *n = arg;
	(void)ext;

	++*n;

	return 0;
}


static int find_contact(const struct contact_rec *rec, void *arg)
{
	struct contact_rec *out = arg;

	*out = *rec;

	return 0;
}


static int last_cdr(const struct cdr *cdr, void *arg)
{
	struct cdr *out = arg;

	*out = *cdr;

	return 0;
}


int test_store(void)
{
	struct store *st = NULL;
	struct ext ext, got;
	struct contact_rec rec, back;
	struct cdr cdr, cdr2;
	char path[256], val[64];
	unsigned n = 0;
	int err;

	tmp_path(path, sizeof(path), "store");
	tmp_remove(path);

	TEST_CHECK(store_open(&st, path));
	TEST_EQUALS(3, store_schema_version(st));

	memset(&ext, 0, sizeof(ext));
	str_ncpy(ext.number, "1001", sizeof(ext.number));
	str_ncpy(ext.name, "Alice", sizeof(ext.name));
	str_ncpy(ext.ha1_md5, "00112233445566778899aabbccddeeff",
		 sizeof(ext.ha1_md5));
	str_ncpy(ext.ha1_sha256, "ab", sizeof(ext.ha1_sha256));
	ext.auth_order = AUTH_SHA256_FIRST;
	ext.srtp = EXT_SRTP_REQUIRED;

	TEST_CHECK(store_ext_put(st, &ext, true));
	TEST_EQUALS(EEXIST, store_ext_put(st, &ext, true));
	TEST_CHECK(store_ext_get(st, "1001", &got));
	TEST_STRCMP("Alice", got.name);
	TEST_STRCMP(ext.ha1_md5, got.ha1_md5);
	TEST_EQUALS(AUTH_SHA256_FIRST, got.auth_order);
	TEST_EQUALS(EXT_SRTP_REQUIRED, got.srtp);
	TEST_EQUALS(ENOENT, store_ext_get(st, "1002", &got));

	str_ncpy(ext.name, "Alice B", sizeof(ext.name));
	TEST_CHECK(store_ext_put(st, &ext, false));
	TEST_CHECK(store_ext_get(st, "1001", &got));
	TEST_STRCMP("Alice B", got.name);

	str_ncpy(ext.number, "1009", sizeof(ext.number));
	TEST_EQUALS(ENOENT, store_ext_put(st, &ext, false));

	TEST_CHECK(store_ext_list(st, count_ext, &n));
	TEST_EQUALS(1, n);

	/* a contact, kept across a reopen */
	memset(&rec, 0, sizeof(rec));
	str_ncpy(rec.aor, "1001", sizeof(rec.aor));
	str_ncpy(rec.uri, "sip:1001@192.0.2.1:5062", sizeof(rec.uri));
	str_ncpy(rec.callid, "abc", sizeof(rec.callid));
	rec.cseq = 7;
	rec.expires_at = 2000000000;
	rec.tp = SIP_TRANSP_TCP;
	TEST_CHECK(sa_set_str(&rec.received, "::1", 5999));
	TEST_CHECK(store_contact_put(st, &rec));
	rec.cseq = 8;
	TEST_CHECK(store_contact_put(st, &rec));

	memset(&cdr, 0, sizeof(cdr));
	str_ncpy(cdr.call_id, "c1", sizeof(cdr.call_id));
	str_ncpy(cdr.caller, "1001", sizeof(cdr.caller));
	str_ncpy(cdr.callee, "1002", sizeof(cdr.callee));
	str_ncpy(cdr.disposition, "ANSWERED", sizeof(cdr.disposition));
	cdr.start_ms = 1;
	cdr.answer_ms = 2;
	TEST_CHECK(store_cdr_add(st, &cdr));
	TEST_ASSERT(cdr.id > 0);
	cdr.end_ms = 3;
	cdr.cause = 200;
	TEST_CHECK(store_cdr_update(st, &cdr));
	{
		const struct cdr_quality qa = {true, 4.3, 0.5, 2.5};

		/* only the caller's side measured */
		TEST_CHECK(store_cdr_quality(st, cdr.id, &qa, NULL));
	}

	TEST_CHECK(store_setting_put(st, "k", "v1"));
	TEST_CHECK(store_setting_put(st, "k", "v2"));

	st = mem_deref(st);
	TEST_CHECK(store_open(&st, path));

	memset(&back, 0, sizeof(back));
	TEST_CHECK(store_contact_list(st, find_contact, &back));
	TEST_STRCMP(rec.uri, back.uri);
	TEST_EQUALS(8, back.cseq);
	TEST_EQUALS(SIP_TRANSP_TCP, back.tp);
	TEST_ASSERT(sa_cmp(&rec.received, &back.received, SA_ALL));

	TEST_CHECK(store_cdr_list(st, 10, 0, last_cdr, &cdr2));
	TEST_EQUALS(3, cdr2.end_ms);
	TEST_EQUALS(200, cdr2.cause);
	TEST_STRCMP("ANSWERED", cdr2.disposition);
	TEST_ASSERT(cdr2.q_caller.set && !cdr2.q_callee.set);
	TEST_ASSERT(cdr2.q_caller.mos == 4.3 && cdr2.q_caller.loss_pct == 0.5
		    && cdr2.q_caller.jitter_ms == 2.5);

	TEST_CHECK(store_setting_get(st, "k", val, sizeof(val)));
	TEST_STRCMP("v2", val);
	TEST_EQUALS(ENOENT, store_setting_get(st, "nokey", val, sizeof(val)));

	/* removing an extension removes its contacts */
	TEST_CHECK(store_ext_get(st, "1001", &got));
	TEST_CHECK(store_ext_del(st, "1001"));
	TEST_EQUALS(ENOENT, store_ext_get(st, "1001", &got));
	TEST_EQUALS(ENOENT, store_ext_del(st, "1001"));
	memset(&back, 0, sizeof(back));
	TEST_CHECK(store_contact_list(st, find_contact, &back));
	TEST_STRCMP("", back.uri);

 out:
	mem_deref(st);
	tmp_remove(path);
	return err;
}


int test_store_migrate(void)
{
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char path[256];
	int err;

	tmp_path(path, sizeof(path), "migrate");
	tmp_remove(path);

	/* a store from a newer program is refused, not damaged */
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
	TEST_ASSERT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL,
				 NULL) == SQLITE_OK);
	sqlite3_close(db);
	db = NULL;

	TEST_EQUALS(ENOTSUP, store_open(&st, path));
	tmp_remove(path);

	/* migrating twice is a no-op */
	TEST_CHECK(store_open(&st, path));
	st = mem_deref(st);
	TEST_CHECK(store_open(&st, path));
	TEST_EQUALS(3, store_schema_version(st));
	st = mem_deref(st);
	tmp_remove(path);

	/* a version 1 store keeps its extensions; they get SRTP off (a
	 * version 1 file is made from a new one: the new columns dropped) */
	{
		struct ext ext, got;

		memset(&ext, 0, sizeof(ext));
		str_ncpy(ext.number, "1001", sizeof(ext.number));
		str_ncpy(ext.name, "Old", sizeof(ext.name));
		str_ncpy(ext.vm_pin, "1234", sizeof(ext.vm_pin));
		ext.auth_order = AUTH_MD5_ONLY;
		ext.srtp = EXT_SRTP_OPTIONAL;
		TEST_CHECK(store_open(&st, path));
		TEST_CHECK(store_ext_put(st, &ext, true));
		st = mem_deref(st);

		TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
		TEST_ASSERT(sqlite3_exec(db,
			"ALTER TABLE extensions DROP COLUMN srtp;"
			"ALTER TABLE cdrs DROP COLUMN caller_mos;"
			"ALTER TABLE cdrs DROP COLUMN caller_loss_pct;"
			"ALTER TABLE cdrs DROP COLUMN caller_jitter_ms;"
			"ALTER TABLE cdrs DROP COLUMN callee_mos;"
			"ALTER TABLE cdrs DROP COLUMN callee_loss_pct;"
			"ALTER TABLE cdrs DROP COLUMN callee_jitter_ms;"
			"PRAGMA user_version = 1", NULL, NULL, NULL) ==
			    SQLITE_OK);
		sqlite3_close(db);
		db = NULL;

		TEST_CHECK(store_open(&st, path));
		TEST_EQUALS(3, store_schema_version(st));
		TEST_CHECK(store_ext_get(st, "1001", &got));
		TEST_STRCMP("Old", got.name);
		TEST_STRCMP("1234", got.vm_pin);
		TEST_EQUALS(AUTH_MD5_ONLY, got.auth_order);
		TEST_EQUALS(EXT_SRTP_OFF, got.srtp);
	}

 out:
	if (db)
		sqlite3_close(db);
	mem_deref(st);
	tmp_remove(path);
	return err;
}


int test_store_corrupt(void)
{
	struct store *st = NULL, *st2 = NULL;
	sqlite3 *db = NULL;
	char path[256];
	FILE *f;
	int err = 0, r;

	tmp_path(path, sizeof(path), "corrupt");
	tmp_remove(path);

	f = fopen(path, "w");
	TEST_ASSERT(f != NULL);
	(void)fputs("this is not an SQLite database, but it is long enough"
		    " to have a header of sorts..................\n", f);
	fclose(f);

	r = store_open(&st, path);
	TEST_EQUALS(EBADMSG, r);
	tmp_remove(path);

	/* one daemon per store: a second gets a clear EBUSY, not a hang
	 * or a corrupt file */
	TEST_CHECK(store_open(&st, path));
	TEST_CHECK(store_setting_put(st, "k", "v"));
	r = store_open(&st2, path);
	TEST_EQUALS(EBUSY, r);

	/* a writer holding the file's write lock (the sqlite3 shell, say)
	 * makes a write fail after the busy timeout, without harm */
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
	TEST_ASSERT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)
		    == SQLITE_OK);
	TEST_EQUALS(EBUSY, store_setting_put(st, "k", "w"));
	TEST_ASSERT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL)
		    == SQLITE_OK);
	TEST_CHECK(store_setting_put(st, "k", "w"));

	/* and once the daemon is gone, the store opens again */
	sqlite3_close(db);
	db = NULL;
	st = mem_deref(st);
	TEST_CHECK(store_open(&st, path));

 out:
	if (db)
		sqlite3_close(db);
	mem_deref(st2);
	mem_deref(st);
	tmp_remove(path);
	return err;
}


/** What a batch test saw of the commits */
struct commits {
	unsigned n;                /**< Handlers called              */
	int err;                   /**< Error of the last            */
	unsigned order[4];         /**< Tags, in calling order       */
};

struct commit_arg {
	struct commits *c;
	unsigned tag;
};


static void commit_seen(int err, void *arg)
{
	struct commit_arg *a = arg;

	if (a->c->n < ARRAY_SIZE(a->c->order))
		a->c->order[a->c->n] = a->tag;
	++a->c->n;
	a->c->err = err;
}


/* rows of contacts another connection sees (committed ones only) */
static int committed_contacts(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int n = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM contacts", -1,
			       &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);

	sqlite3_finalize(stmt);
	sqlite3_close(db);

	return n;
}


static void contact_set(struct contact_rec *rec, const char *uri)
{
	memset(rec, 0, sizeof(*rec));
	str_ncpy(rec->aor, "1001", sizeof(rec->aor));
	str_ncpy(rec->uri, uri, sizeof(rec->uri));
	str_ncpy(rec->callid, "cid", sizeof(rec->callid));
	rec->expires_at = 2000000000;
	rec->tp = SIP_TRANSP_UDP;
	(void)sa_set_str(&rec->received, "192.0.2.1", 5060);
}


int test_store_batch(void)
{
	struct store *st = NULL;
	struct ext ext;
	struct contact_rec rec;
	struct commits c;
	struct commit_arg a1, a2;
	char path[256];
	int err;

	memset(&c, 0, sizeof(c));
	a1.c = a2.c = &c;
	a1.tag = 1;
	a2.tag = 2;

	tmp_path(path, sizeof(path), "batch");
	tmp_remove(path);
	TEST_CHECK(store_open(&st, path));

	memset(&ext, 0, sizeof(ext));
	str_ncpy(ext.number, "1001", sizeof(ext.number));
	TEST_CHECK(store_ext_put(st, &ext, true));

	/* nothing open: nothing to wait for */
	TEST_EQUALS(EALREADY, store_batch_wait(st, commit_seen, &a1));

	/* writes join one transaction; others see them at its commit, and
	 * those waiting hear of it in order */
	contact_set(&rec, "sip:a@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_wait(st, commit_seen, &a1));
	contact_set(&rec, "sip:b@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_wait(st, commit_seen, &a2));
	TEST_EQUALS(0, committed_contacts(path));
	TEST_EQUALS(0, c.n);

	TEST_CHECK(store_batch_commit(st));
	TEST_EQUALS(2, committed_contacts(path));
	TEST_EQUALS(2, c.n);
	TEST_EQUALS(0, c.err);
	TEST_EQUALS(1, c.order[0]);
	TEST_EQUALS(2, c.order[1]);

	/* a part undone leaves the rest of the batch */
	contact_set(&rec, "sip:c@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_part(st));
	contact_set(&rec, "sip:d@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_part_end(st, false));
	TEST_CHECK(store_batch_part(st));
	contact_set(&rec, "sip:e@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_part_end(st, true));
	TEST_CHECK(store_batch_commit(st));
	TEST_EQUALS(4, committed_contacts(path));

	/* a write of the API commits at once, with what was pending */
	contact_set(&rec, "sip:f@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	TEST_CHECK(store_batch_wait(st, commit_seen, &a1));
	TEST_CHECK(store_setting_put(st, "k", "v"));
	TEST_EQUALS(5, committed_contacts(path));
	TEST_EQUALS(3, c.n);

	/* closing the store commits what is open */
	contact_set(&rec, "sip:g@192.0.2.1");
	TEST_CHECK(store_contact_put(st, &rec));
	st = mem_deref(st);
	TEST_EQUALS(6, committed_contacts(path));

 out:
	mem_deref(st);
	tmp_remove(path);
	return err;
}
