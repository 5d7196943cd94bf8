/**
 * @file test_mix.c  Mix-minus: each member hears the sum of the others
 */
#include <string.h>
#include <re.h>
#include "../../media/mix.h"
#include "relaytest.h"


enum { FRAME = 160 };


static void fill(int16_t *pcm, int16_t v)
{
	size_t i;

	for (i = 0; i < FRAME; i++)
		pcm[i] = v;
}


/* every sample of what slot hears is v */
static int hears(const struct mix *m, unsigned slot, int16_t v)
{
	int16_t out[FRAME];
	size_t i;
	int err = 0;

	memset(out, 0x55, sizeof(out));
	TEST_CHECK(mix_get(m, slot, out));
	for (i = 0; i < FRAME; i++) {
		if (out[i] != v) {
			(void)re_fprintf(stderr, "slot %u sample %zu: expected"
					 " %d, got %d\n", slot, i, v, out[i]);
			err = EINVAL;
			goto out;
		}
	}

 out:
	return err;
}


static int put(struct mix *m, unsigned slot, int16_t v)
{
	int16_t pcm[FRAME];

	fill(pcm, v);

	return mix_put(m, slot, pcm);
}


int test_mix_minus(void)
{
	struct mix *m = NULL;
	int16_t pcm[FRAME], out[FRAME];
	size_t i;
	int err = 0;

	TEST_CHECK(mix_alloc(&m, 4, FRAME));

	/* nothing mixed yet: silence */
	TEST_CHECK(hears(m, 0, 0));

	TEST_CHECK(put(m, 0, 100));
	TEST_CHECK(put(m, 1, 200));
	TEST_CHECK(put(m, 2, -300));
	mix_run(m);
	TEST_CHECK(hears(m, 0, -100));
	TEST_CHECK(hears(m, 1, -200));
	TEST_CHECK(hears(m, 2, 300));
	TEST_CHECK(hears(m, 3, 0));         /* silent member: everyone */

	/* a frame counts for its tick only; slot 3 put nothing */
	TEST_CHECK(put(m, 0, 1000));
	TEST_CHECK(put(m, 3, 7));
	mix_run(m);
	TEST_CHECK(hears(m, 0, 7));
	TEST_CHECK(hears(m, 1, 1007));
	TEST_CHECK(hears(m, 2, 1007));
	TEST_CHECK(hears(m, 3, 1000));

	/* sample by sample, not a frame average */
	for (i = 0; i < FRAME; i++)
		pcm[i] = (int16_t)(i * 100 - 8000);
	TEST_CHECK(mix_put(m, 1, pcm));
	TEST_CHECK(put(m, 2, 5));
	mix_run(m);
	TEST_CHECK(mix_get(m, 2, out));
	TEST_ASSERT(!memcmp(out, pcm, sizeof(out)));
	TEST_CHECK(mix_get(m, 0, out));
	for (i = 0; i < FRAME; i++)
		TEST_EQUALS(pcm[i] + 5, out[i]);

	/* nobody: silence */
	mix_run(m);
	TEST_CHECK(hears(m, 1, 0));

 out:
	mem_deref(m);

	return err;
}


int test_mix_saturation(void)
{
	struct mix *m = NULL;
	unsigned s;
	int err = 0;

	TEST_CHECK(mix_alloc(&m, 4, FRAME));

	TEST_CHECK(put(m, 0, 30000));
	TEST_CHECK(put(m, 1, 30000));
	TEST_CHECK(put(m, 2, -32768));
	mix_run(m);
	TEST_CHECK(hears(m, 2, 32767));
	TEST_CHECK(hears(m, 0, 30000 - 32768));   /* exact: no clip */
	TEST_CHECK(hears(m, 3, 30000 + 30000 - 32768));

	/* a silent member's mix is clipped too */
	TEST_CHECK(put(m, 0, 30000));
	TEST_CHECK(put(m, 1, 30000));
	mix_run(m);
	TEST_CHECK(hears(m, 3, 32767));
	TEST_CHECK(hears(m, 0, 30000));

	TEST_CHECK(put(m, 0, -30000));
	TEST_CHECK(put(m, 1, -30000));
	TEST_CHECK(put(m, 2, 32767));
	mix_run(m);
	TEST_CHECK(hears(m, 2, -32768));
	TEST_CHECK(hears(m, 1, -30000 + 32767));
	m = mem_deref(m);

	/* 64 members at full scale: clipped, never wrapped */
	TEST_CHECK(mix_alloc(&m, MIX_MEMBERS_MAX, FRAME));
	for (s = 0; s < MIX_MEMBERS_MAX; s++)
		TEST_CHECK(put(m, s, s ? -32768 : 32767));
	mix_run(m);
	TEST_CHECK(hears(m, 0, -32768));
	TEST_CHECK(hears(m, 1, -32768));
	m = mem_deref(m);

	/* partial sums far out of range, a result in it: exact */
	TEST_CHECK(mix_alloc(&m, MIX_MEMBERS_MAX, FRAME));
	TEST_CHECK(put(m, 0, 5));
	for (s = 1; s < MIX_MEMBERS_MAX; s++)
		TEST_CHECK(put(m, s, s <= 32 ? 32767 : -32768));
	mix_run(m);
	TEST_CHECK(hears(m, 0, 32 * 32767 - 31 * 32768));
	TEST_CHECK(hears(m, 1, 5 + 31 * 32767 - 31 * 32768));
	TEST_CHECK(hears(m, 63, 32767));

 out:
	mem_deref(m);

	return err;
}


int test_mix_args(void)
{
	struct mix *m = NULL;
	int16_t pcm[FRAME];
	int err = 0;

	fill(pcm, 1);

	TEST_EQUALS(EINVAL, mix_alloc(NULL, 2, FRAME));
	TEST_EQUALS(EINVAL, mix_alloc(&m, 0, FRAME));
	TEST_EQUALS(EINVAL, mix_alloc(&m, MIX_MEMBERS_MAX + 1, FRAME));
	TEST_EQUALS(EINVAL, mix_alloc(&m, 2, 0));
	TEST_EQUALS(EINVAL, mix_alloc(&m, 2, MIX_FRAME_MAX + 1));
	TEST_ASSERT(m == NULL);

	TEST_CHECK(mix_alloc(&m, 2, FRAME));
	TEST_EQUALS(EINVAL, mix_put(m, 2, pcm));
	TEST_EQUALS(EINVAL, mix_put(m, 0, NULL));
	TEST_EQUALS(EINVAL, mix_get(m, 2, pcm));
	TEST_EQUALS(EINVAL, mix_get(m, 0, NULL));

	/* a refused put adds nothing */
	mix_run(m);
	TEST_CHECK(hears(m, 0, 0));
	TEST_CHECK(hears(m, 1, 0));

 out:
	mem_deref(m);

	return err;
}
