/**
 * @file test_nonce.c  Server nonces: freshness, forgery, replay, eviction
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


enum { NONCE_SZ = 64, EVICT_MAX = 4, EVICT_USED = 20 };

static const struct pl nc1 = PL("00000001");
static const struct pl nc2 = PL("00000002");


static enum nonce_state check(struct nonces *n, const char *nonce,
			      const char *nc)
{
	struct pl pl_nonce, pl_nc;

	pl_set_str(&pl_nonce, nonce);
	if (!nc)
		return nonce_check(n, &pl_nonce, NULL);

	pl_set_str(&pl_nc, nc);

	return nonce_check(n, &pl_nonce, &pl_nc);
}


static int test_nc(struct nonces *n)
{
	static const char *badv[] = {
		"1", "0000001", "000000001", "0000000g", "0000000 ",
		" 0000002", "+0000002", "0x000002",
	};
	char nonce[NONCE_SZ], other[NONCE_SZ];
	size_t i;
	int err = 0;

	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	TEST_CHECK(nonce_make(n, other, sizeof(other)));
	TEST_ASSERT(strlen(nonce) >= 32);
	TEST_ASSERT(strcmp(nonce, other) != 0);

	/* Safe in a quoted-string and in a token */
	for (i = 0; nonce[i]; i++)
		TEST_ASSERT(isalnum((unsigned char)nonce[i]) ||
			    nonce[i] == '-' || nonce[i] == '_');

	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000001"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "00000001"));
	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000002"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "00000002"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "00000001"));

	/* Gaps are fine; case is not a new value */
	TEST_EQUALS(NONCE_OK, check(n, nonce, "0000000a"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "0000000A"));
	TEST_EQUALS(NONCE_OK, check(n, nonce, "0000000B"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "0000000b"));

	/* Malformed nc, on a used and on an unused nonce */
	for (i = 0; i < ARRAY_SIZE(badv); i++) {
		TEST_EQUALS(NONCE_REPLAY, check(n, nonce, badv[i]));
		TEST_EQUALS(NONCE_REPLAY, check(n, other, badv[i]));
	}

	/* nc starts at 1 */
	TEST_EQUALS(NONCE_REPLAY, check(n, other, "00000000"));
	TEST_EQUALS(NONCE_OK, check(n, other, "00000001"));
	TEST_EQUALS(NONCE_OK, check(n, other, "ffffffff"));
	TEST_EQUALS(NONCE_REPLAY, check(n, other, "ffffffff"));

	/* The first nonce is still at nc b */
	TEST_EQUALS(NONCE_OK, check(n, nonce, "0000000c"));

	TEST_EQUALS(EINVAL, nonce_make(n, nonce, 43));
	TEST_CHECK(nonce_make(n, nonce, 44));
	TEST_EQUALS(43, strlen(nonce));
	TEST_EQUALS(EINVAL, nonce_make(NULL, nonce, sizeof(nonce)));
	TEST_EQUALS(EINVAL, nonce_make(n, NULL, sizeof(nonce)));

 out:
	return err;
}


/* RFC 2069 clients send no qop and no nc: one use per nonce */
static int test_noqop(struct nonces *n)
{
	char nonce[NONCE_SZ];
	int err = 0;

	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	TEST_EQUALS(NONCE_OK, check(n, nonce, NULL));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, NULL));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, ""));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "00000001"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, "fffffffe"));

	/* An empty nc is the same as none */
	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	TEST_EQUALS(NONCE_OK, check(n, nonce, ""));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, NULL));

	/* Used with nc first, then without */
	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000001"));
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce, NULL));

 out:
	return err;
}


static char other_char(char c)
{
	return c == 'A' ? 'B' : 'A';
}


/* The base64url character one above c, for c a multiple of 4 */
static char b64url_next(char c)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = strchr(alpha, c);

	return p && p[1] ? p[1] : c;
}


static int test_forged(struct nonces *n)
{
	static const char *garbagev[] = {
		"",
		"abc",
		"dcd98b7102dd2f0e8b11d0f600bfb0c093",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"____________________________________________",
		"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	struct nonces *n2 = NULL;
	char nonce[NONCE_SZ], tampered[NONCE_SZ];
	struct pl pl;
	size_t i, len;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(garbagev); i++)
		TEST_EQUALS(NONCE_STALE, check(n, garbagev[i], "00000001"));

	TEST_EQUALS(NONCE_STALE, nonce_check(n, NULL, &nc1));
	TEST_EQUALS(NONCE_STALE, nonce_check(NULL, &nc1, &nc1));

	/* Any one character changed */
	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	len = strlen(nonce);
	for (i = 0; i < len; i++) {
		memcpy(tampered, nonce, len + 1);
		tampered[i] = other_char(tampered[i]);
		TEST_EQUALS(NONCE_STALE, check(n, tampered, "00000001"));
	}

	/* Truncated, extended, and the same bytes in standard base64 */
	pl_set_str(&pl, nonce);
	pl.l--;
	TEST_EQUALS(NONCE_STALE, nonce_check(n, &pl, &nc1));
	memcpy(tampered, nonce, len);
	tampered[len] = 'A';
	tampered[len + 1] = '\0';
	TEST_EQUALS(NONCE_STALE, check(n, tampered, "00000001"));

	/* The original was not spoilt by the forgeries */
	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000001"));

	/*
	 * The last character carries 4 bits and 2 zero bits: setting one
	 * of those spells the same bytes another way, which is refused.
	 */
	memcpy(tampered, nonce, len + 1);
	tampered[len - 1] = b64url_next(tampered[len - 1]);
	TEST_EQUALS(NONCE_STALE, check(n, tampered, "00000002"));
	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000002"));

	/* Another issuer has another secret */
	TEST_CHECK(nonces_alloc(&n2, 60, 16));
	TEST_CHECK(nonce_make(n2, nonce, sizeof(nonce)));
	TEST_EQUALS(NONCE_STALE, check(n, nonce, "00000001"));
	TEST_EQUALS(NONCE_OK, check(n2, nonce, "00000001"));
	TEST_CHECK(nonce_make(n, nonce, sizeof(nonce)));
	TEST_EQUALS(NONCE_STALE, check(n2, nonce, "00000001"));
	TEST_EQUALS(NONCE_OK, check(n, nonce, "00000001"));

 out:
	mem_deref(n2);
	return err;
}


static int test_evict(void)
{
	struct nonces *n = NULL, *n2 = NULL;
	char nonce[EVICT_USED][NONCE_SZ], old[NONCE_SZ];
	struct memstat before, after;
	bool have_stat;
	size_t i;
	int err = 0;

	TEST_CHECK(nonces_alloc(&n, 60, EVICT_MAX));

	for (i = 0; i < EVICT_USED; i++)
		TEST_CHECK(nonce_make(n, nonce[i], sizeof(nonce[i])));

	/* Used in the order made: each fits, evicting the oldest */
	for (i = 0; i < EVICT_USED; i++)
		TEST_EQUALS(NONCE_OK, check(n, nonce[i], "00000001"));

	/* The newest max are remembered; the evicted are stale, not new */
	for (i = 0; i < EVICT_USED; i++) {
		enum nonce_state st = check(n, nonce[i], "00000001");

		if (i < EVICT_USED - EVICT_MAX)
			TEST_EQUALS(NONCE_STALE, st);
		else
			TEST_EQUALS(NONCE_REPLAY, st);
	}

	/* Memory stays flat however many more are used */
	have_stat = 0 == mem_get_stat(&before);
	for (i = 0; i < 200; i++) {
		TEST_CHECK(nonce_make(n, nonce[0], sizeof(nonce[0])));
		TEST_EQUALS(NONCE_OK, check(n, nonce[0], "00000001"));
	}
	if (have_stat) {
		TEST_CHECK(mem_get_stat(&after));
		TEST_EQUALS(before.blocks_cur, after.blocks_cur);
	}

	/* The last one is held; all earlier ones were evicted */
	TEST_EQUALS(NONCE_REPLAY, check(n, nonce[0], "00000001"));
	TEST_EQUALS(NONCE_OK, check(n, nonce[0], "00000002"));
	for (i = 1; i < EVICT_USED; i++)
		TEST_EQUALS(NONCE_STALE, check(n, nonce[i], "00000009"));

	/* A nonce made before the evicted ones, never used, is stale too */
	TEST_CHECK(nonces_alloc(&n2, 60, EVICT_MAX));
	TEST_CHECK(nonce_make(n2, old, sizeof(old)));
	for (i = 0; i <= EVICT_MAX; i++) {
		TEST_CHECK(nonce_make(n2, nonce[i], sizeof(nonce[i])));
		TEST_EQUALS(NONCE_OK, check(n2, nonce[i], "00000001"));
	}
	TEST_EQUALS(NONCE_STALE, check(n2, old, "00000001"));

	/* But one made before and used before the table fills is fine */
	n2 = mem_deref(n2);
	TEST_CHECK(nonces_alloc(&n2, 60, EVICT_MAX));
	TEST_CHECK(nonce_make(n2, old, sizeof(old)));
	for (i = 0; i < EVICT_MAX - 1; i++) {
		TEST_CHECK(nonce_make(n2, nonce[i], sizeof(nonce[i])));
		TEST_EQUALS(NONCE_OK, check(n2, nonce[i], "00000001"));
	}
	TEST_EQUALS(NONCE_OK, check(n2, old, "00000001"));
	TEST_EQUALS(NONCE_REPLAY, check(n2, old, "00000001"));

 out:
	mem_deref(n2);
	mem_deref(n);
	return err;
}


static int test_expire(void)
{
	struct nonces *n = NULL;
	char used[NONCE_SZ], unused[NONCE_SZ], fresh[NONCE_SZ];
	int err = 0;

	TEST_CHECK(nonces_alloc(&n, 1, 8));
	TEST_CHECK(nonce_make(n, used, sizeof(used)));
	TEST_CHECK(nonce_make(n, unused, sizeof(unused)));
	TEST_EQUALS(NONCE_OK, check(n, used, "00000001"));

	sys_msleep(2100);

	TEST_EQUALS(NONCE_STALE, check(n, used, "00000002"));
	TEST_EQUALS(NONCE_STALE, check(n, unused, "00000001"));
	TEST_EQUALS(NONCE_STALE, check(n, unused, NULL));

	TEST_CHECK(nonce_make(n, fresh, sizeof(fresh)));
	TEST_EQUALS(NONCE_OK, check(n, fresh, "00000001"));
	TEST_EQUALS(NONCE_OK, check(n, fresh, "00000002"));

 out:
	mem_deref(n);
	return err;
}


/**
 * Test server nonces: issue, check, replay, forgery, eviction, expiry
 *
 * @return 0 if success, otherwise errorcode
 */
int test_nonce(void)
{
	struct nonces *n = NULL;
	int err = 0;

	TEST_EQUALS(EINVAL, nonces_alloc(NULL, 60, 16));
	TEST_EQUALS(EINVAL, nonces_alloc(&n, 0, 16));
	TEST_EQUALS(EINVAL, nonces_alloc(&n, 60, 0));
	TEST_ASSERT(n == NULL);

	TEST_CHECK(nonces_alloc(&n, 60, 64));
	TEST_CHECK(test_nc(n));
	TEST_CHECK(test_noqop(n));
	TEST_CHECK(test_forged(n));

	/* A pl with nc given but the nonce count from another */
	TEST_EQUALS(NONCE_STALE, nonce_check(n, &nc2, &nc2));

	TEST_CHECK(test_evict());
	TEST_CHECK(test_expire());

 out:
	mem_deref(n);
	return err;
}
