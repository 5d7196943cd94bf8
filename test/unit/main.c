/**
 * @file main.c  Unit test runner: runs each test, checks it for leaks
 */
#include <string.h>
#include <re.h>
#include "test.h"

struct test {
	int (*fn)(void);
	const char *name;
};

#define TEST(fn) { fn, #fn }

static const struct test testv[] = {
	TEST(test_conf),
	TEST(test_digest),
	TEST(test_digest_rfc8760),
	TEST(test_nonce),
	TEST(test_store),
	TEST(test_store_migrate),
	TEST(test_store_corrupt),
	TEST(test_store_batch),
	TEST(test_router),
	TEST(test_sipcheck),
	TEST(test_timers),
	TEST(test_sdp_mirror),
	TEST(test_sdp_local),
	TEST(test_hold_sdp),
	TEST(test_hold_state),
	TEST(test_hold_conf),
	TEST(test_tcp_guard),
};


static int run_one(const struct test *t)
{
	struct memstat before, after;
	bool counted;
	int err;

	/* a release build of libre keeps no counts: LeakSanitizer, in
	 * the sanitizer run, finds leaks there */
	counted = !mem_get_stat(&before);
	err = t->fn();
	counted = counted && !mem_get_stat(&after);

	if (!err && counted && after.blocks_cur != before.blocks_cur) {
		(void)re_fprintf(stderr, "%s: leaked %zu blocks\n", t->name,
				 after.blocks_cur - before.blocks_cur);
		mem_debug();
		err = ENOMEM;
	}

	return err;
}


int main(int argc, char *argv[])
{
	unsigned passed = 0, failed = 0;
	size_t i;

	if (libre_init())
		return 1;

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		const struct test *t = &testv[i];
		int err;

		if (argc > 1 && strcmp(argv[1], t->name))
			continue;

		err = run_one(t);
		(void)re_printf("%-28s %s\n", t->name, err ? "FAIL" : "ok");
		if (err)
			++failed;
		else
			++passed;
	}

	libre_close();
	(void)re_printf("%u passed, %u failed\n", passed, failed);

	return failed ? 1 : 0;
}
