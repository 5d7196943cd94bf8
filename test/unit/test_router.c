/**
 * @file test_router.c  Router tests
 */
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


int test_router(void)
{
	struct store *st = NULL;
	struct route rt;
	struct ext ext;
	struct pl pl;
	char path[256];
	int err;

	(void)re_snprintf(path, sizeof(path), "/tmp/sbtest-%d-router.db",
			  (int)getpid());
	(void)unlink(path);

	TEST_CHECK(store_open(&st, path));
	TEST_CHECK(router_init(st));

	memset(&ext, 0, sizeof(ext));
	str_ncpy(ext.number, "1002", sizeof(ext.number));
	TEST_CHECK(store_ext_put(st, &ext, true));

	pl_set_str(&pl, "1002");
	TEST_CHECK(router_lookup(&rt, &pl));
	TEST_EQUALS(ROUTE_EXTENSION, rt.kind);
	TEST_STRCMP("1002", rt.target);

	pl_set_str(&pl, "1003");
	TEST_EQUALS(ENOENT, router_lookup(&rt, &pl));
	TEST_EQUALS(ROUTE_NONE, rt.kind);

	/* a feature code reaches its app, escaped or not */
	pl_set_str(&pl, "*43");
	TEST_CHECK(router_lookup(&rt, &pl));
	TEST_EQUALS(ROUTE_APP, rt.kind);
	TEST_ASSERT(rt.app != NULL);
	TEST_STRCMP("*43", rt.app->code);
	pl_set_str(&pl, "%2A43");
	TEST_CHECK(router_lookup(&rt, &pl));
	TEST_EQUALS(ROUTE_APP, rt.kind);
	pl_set_str(&pl, "*44");
	TEST_EQUALS(ENOENT, router_lookup(&rt, &pl));

	pl_set_str(&pl, "");
	TEST_EQUALS(ENOENT, router_lookup(&rt, &pl));

	pl_set_str(&pl, "1234567890123456789012345678901234567890");
	TEST_EQUALS(ENOENT, router_lookup(&rt, &pl));

 out:
	mem_deref(st);
	(void)unlink(path);
	(void)re_snprintf(path, sizeof(path), "/tmp/sbtest-%d-router.db-wal",
			  (int)getpid());
	(void)unlink(path);
	(void)re_snprintf(path, sizeof(path), "/tmp/sbtest-%d-router.db-shm",
			  (int)getpid());
	(void)unlink(path);
	return err;
}
