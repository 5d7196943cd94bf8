/**
 * @file rand_pool.c  re's rand_u32 drawing on a pool of random bytes
 *
 * libre 1.1.0 takes a random number for every message it decodes (its
 * to-tag seed), every branch, tag and Call-ID, and asks OpenSSL's
 * RAND_bytes for each one: 0.6 us a call, whatever the size, some 6 %
 * of the CPU of a call through the B2BUA. This definition takes the
 * place of re's (libre calls it through its PLT, as timers.c relies on
 * too, and rand_u16/rand_u64 call it) and hands out 4 bytes at a time
 * from a per-thread pool filled by RAND_bytes 256 bytes at once: the
 * same generator, asked 64 times less often.
 */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <re.h>
#include "sipcore.h"


enum { POOL_SIZE = 256 };

/** One thread's random bytes not yet handed out */
static _Thread_local struct {
	uint8_t buf[POOL_SIZE];
	size_t left;            /**< The first `left` bytes of buf */
} pool;


/**
 * A random 32-bit number, from OpenSSL's generator
 *
 * @return The number (0 if the generator failed, as re's does)
 */
uint32_t rand_u32(void)
{
	uint32_t v = 0;

	if (pool.left < sizeof(v)) {
		if (RAND_bytes(pool.buf, sizeof(pool.buf)) != 1)
			return 0;
		pool.left = sizeof(pool.buf);
	}

	pool.left -= sizeof(v);
	memcpy(&v, &pool.buf[pool.left], sizeof(v));
	OPENSSL_cleanse(&pool.buf[pool.left], sizeof(v));

	return v;
}
