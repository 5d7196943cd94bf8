/**
 * @file test_wav_play.c  WAV players on files written here
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "../../media/wav.h"
#include "relaytest.h"


enum { PATH_LEN = 256 };


/* a plain WAV of s in dir, and a player of it */
static int play(struct wav_player **pp, const char *dir, const char *name,
		uint32_t srate, const int16_t *s, size_t n, bool loop)
{
	char path[PATH_LEN];
	int err;

	err = test_wav_file(path, sizeof(path), dir, name, srate, s, n,
			    (uint32_t)(2 * n));

	return err ? err : wav_player_alloc(pp, path, loop);
}


/* every sample back, exact, frame by frame, at each rate */
int test_wav_play_rates(void)
{
	static const uint32_t ratev[] = {8000, 16000, 48000};
	struct wav_player *p = NULL;
	char dir[PATH_LEN] = "";
	int16_t s[2000], out[160];
	size_t i, k, got;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	for (i = 0; i < ARRAY_SIZE(ratev); i++) {
		TEST_CHECK(play(&p, dir, "rate.wav", ratev[i], s,
				ARRAY_SIZE(s), false));
		TEST_EQUALS(ratev[i], wav_player_srate(p));
		TEST_EQUALS(ARRAY_SIZE(s), wav_player_samples(p));

		for (got = 0; got < ARRAY_SIZE(s); got += k) {
			TEST_ASSERT(!wav_player_eof(p));
			k = wav_player_read(p, out, ARRAY_SIZE(out));
			TEST_EQUALS(min(ARRAY_SIZE(out),
					ARRAY_SIZE(s) - got), k);
			TEST_ASSERT(!memcmp(out, &s[got], k * sizeof(*s)));
		}

		TEST_ASSERT(wav_player_eof(p));
		p = mem_deref(p);
	}

 out:
	mem_deref(p);
	test_tmpdir_remove(dir);

	return err;
}


/* a data size larger than the file: what is there, no more */
int test_wav_play_truncated(void)
{
	struct wav_player *p = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	int16_t s[100], out[160];
	size_t j;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	TEST_CHECK(test_wav_file(path, sizeof(path), dir, "cut.wav", 8000,
				 s, ARRAY_SIZE(s), 200000));
	TEST_CHECK(wav_player_alloc(&p, path, false));
	TEST_EQUALS(ARRAY_SIZE(s), wav_player_samples(p));

	memset(out, 0x55, sizeof(out));
	TEST_EQUALS(ARRAY_SIZE(s), wav_player_read(p, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, s, sizeof(s)));
	for (j = ARRAY_SIZE(s); j < ARRAY_SIZE(out); j++)
		TEST_EQUALS(0, out[j]);
	TEST_ASSERT(wav_player_eof(p));

 out:
	mem_deref(p);
	test_tmpdir_remove(dir);

	return err;
}


int test_wav_play_loop(void)
{
	struct wav_player *p = NULL;
	char dir[PATH_LEN] = "";
	int16_t s[250], out[160];
	size_t f, j;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	/* the sample after the last is the first, frame after frame */
	TEST_CHECK(play(&p, dir, "loop.wav", 16000, s, ARRAY_SIZE(s), true));
	for (f = 0; f < 5; f++) {
		TEST_EQUALS(ARRAY_SIZE(out),
			    wav_player_read(p, out, ARRAY_SIZE(out)));
		for (j = 0; j < ARRAY_SIZE(out); j++)
			TEST_EQUALS(s[(f * ARRAY_SIZE(out) + j) %
				      ARRAY_SIZE(s)], out[j]);
		TEST_ASSERT(!wav_player_eof(p));
	}
	p = mem_deref(p);

	/* without loop: the end, then silence */
	TEST_CHECK(play(&p, dir, "once.wav", 16000, s, ARRAY_SIZE(s),
			false));
	TEST_EQUALS(160, wav_player_read(p, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!wav_player_eof(p));
	memset(out, 0x55, sizeof(out));
	TEST_EQUALS(90, wav_player_read(p, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, &s[160], 90 * sizeof(*s)));
	for (j = 90; j < ARRAY_SIZE(out); j++)
		TEST_EQUALS(0, out[j]);
	TEST_ASSERT(wav_player_eof(p));
	memset(out, 0x55, sizeof(out));
	TEST_EQUALS(0, wav_player_read(p, out, ARRAY_SIZE(out)));
	for (j = 0; j < ARRAY_SIZE(out); j++)
		TEST_EQUALS(0, out[j]);
	p = mem_deref(p);

	/* an empty file that loops ends at once */
	TEST_CHECK(play(&p, dir, "empty.wav", 8000, s, 0, true));
	TEST_EQUALS(0, wav_player_read(p, out, ARRAY_SIZE(out)));
	TEST_ASSERT(wav_player_eof(p));

 out:
	mem_deref(p);
	test_tmpdir_remove(dir);

	return err;
}


/* players of one file share its samples; a new file is loaded anew */
int test_wav_play_shared(void)
{
	struct wav_player *p1 = NULL, *p2 = NULL, *p3 = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN], path2[PATH_LEN];
	int16_t s[1000], out[10];
	size_t bytes0, bytes;
	uint32_t loaded0;
	int err = 0;

	loaded0 = wav_loaded(&bytes0);
	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	TEST_CHECK(test_wav_file(path, sizeof(path), dir, "moh.wav", 16000,
				 s, ARRAY_SIZE(s), sizeof(s)));
	TEST_CHECK(wav_player_alloc(&p1, path, true));
	TEST_CHECK(wav_player_alloc(&p2, path, true));
	TEST_EQUALS(loaded0 + 1, wav_loaded(&bytes));
	TEST_EQUALS(bytes0 + sizeof(s), bytes);

	/* each has its own position */
	TEST_EQUALS(10, wav_player_read(p1, out, ARRAY_SIZE(out)));
	TEST_EQUALS(10, wav_player_read(p1, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, &s[10], sizeof(out)));
	TEST_EQUALS(10, wav_player_read(p2, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, s, sizeof(out)));

	/* re-rendered: a new player gets it, the old ones keep theirs */
	TEST_CHECK(test_wav_file(path2, sizeof(path2), dir, "new.wav", 16000,
				 &s[500], 500, 1000));
	TEST_ASSERT(!rename(path2, path));
	TEST_CHECK(wav_player_alloc(&p3, path, true));
	TEST_EQUALS(500, wav_player_samples(p3));
	TEST_EQUALS(1000, wav_player_samples(p1));
	TEST_EQUALS(loaded0 + 2, wav_loaded(NULL));
	TEST_EQUALS(10, wav_player_read(p3, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, &s[500], sizeof(out)));
	TEST_EQUALS(10, wav_player_read(p1, out, ARRAY_SIZE(out)));
	TEST_ASSERT(!memcmp(out, &s[20], sizeof(out)));

	p1 = mem_deref(p1);
	TEST_EQUALS(loaded0 + 2, wav_loaded(NULL));
	p2 = mem_deref(p2);
	TEST_EQUALS(loaded0 + 1, wav_loaded(NULL));
	p3 = mem_deref(p3);
	TEST_EQUALS(loaded0, wav_loaded(NULL));

 out:
	mem_deref(p1);
	mem_deref(p2);
	mem_deref(p3);
	test_tmpdir_remove(dir);

	return err;
}


/* what cannot be played is refused, and nothing stays loaded */
int test_wav_play_errors(void)
{
	const uint32_t loaded0 = wav_loaded(NULL);
	struct wav_player *p = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	int16_t s[64];
	FILE *f;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	(void)re_snprintf(path, sizeof(path), "%s/none.wav", dir);
	TEST_EQUALS(ENOENT, wav_player_alloc(&p, path, false));
	TEST_EQUALS(EINVAL, wav_player_alloc(&p, dir, false));
	TEST_EQUALS(EINVAL, wav_player_alloc(&p, NULL, false));
	TEST_EQUALS(EINVAL, wav_player_alloc(NULL, path, false));

	f = fopen(path, "wb");
	TEST_ASSERT(f != NULL);
	TEST_ASSERT(fclose(f) == 0);
	TEST_EQUALS(EBADMSG, wav_player_alloc(&p, path, false));

	TEST_CHECK(test_wav_file(path, sizeof(path), dir, "cd.wav", 44100,
				 s, ARRAY_SIZE(s), sizeof(s)));
	TEST_EQUALS(ENOTSUP, wav_player_alloc(&p, path, false));

	TEST_ASSERT(p == NULL);
	TEST_EQUALS(loaded0, wav_loaded(NULL));

	/* a missing player reads nothing and has ended */
	TEST_EQUALS(0, wav_player_read(NULL, s, ARRAY_SIZE(s)));
	TEST_ASSERT(wav_player_eof(NULL));

 out:
	mem_deref(p);
	test_tmpdir_remove(dir);

	return err;
}
