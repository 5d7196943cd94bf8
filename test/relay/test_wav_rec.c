/**
 * @file test_wav_rec.c  WAV recorders: the bytes written, and when the
 *                       file appears under its name
 */
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "../../media/wav.h"
#include "relaytest.h"


enum {
	PATH_LEN = 256,
	SAMPLES  = 40007,         /**< Several buffers, a partial frame */
	HDR      = 44,
};


static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}


static int load(uint8_t *buf, size_t sz, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return errno;

	*len = fread(buf, 1, sz, f);
	(void)fclose(f);

	return 0;
}


static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}


/* the header a 16-bit mono file of `bytes` data must have */
static int check_header(const uint8_t *h, uint32_t srate, uint32_t bytes)
{
	int err = 0;

	TEST_ASSERT(!memcmp(h, "RIFF", 4));
	TEST_EQUALS(36 + bytes, get32(h + 4));
	TEST_ASSERT(!memcmp(h + 8, "WAVEfmt ", 8));
	TEST_EQUALS(16, get32(h + 16));
	TEST_EQUALS(1, get16(h + 20));
	TEST_EQUALS(1, get16(h + 22));
	TEST_EQUALS(srate, get32(h + 24));
	TEST_EQUALS(2 * srate, get32(h + 28));
	TEST_EQUALS(2, get16(h + 32));
	TEST_EQUALS(16, get16(h + 34));
	TEST_ASSERT(!memcmp(h + 36, "data", 4));
	TEST_EQUALS(bytes, get32(h + 40));

 out:
	return err;
}


int test_wav_rec(void)
{
	static int16_t s[SAMPLES], back[SAMPLES];
	static uint8_t raw[HDR + 2 * SAMPLES + 16];
	struct wav_player *p = NULL;
	struct wav_rec *r = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	struct stat st;
	size_t i, k, len = 0;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));
	(void)re_snprintf(path, sizeof(path), "%s/msg.wav", dir);

	TEST_CHECK(wav_rec_alloc(&r, path, 16000));
	TEST_ASSERT(!exists(path));
	TEST_EQUALS(1, test_tmpdir_count(dir));

	for (i = 0; i < ARRAY_SIZE(s); i += k) {
		k = min(ARRAY_SIZE(s) - i, (size_t)320);
		TEST_CHECK(wav_rec_write(r, &s[i], k));
		TEST_ASSERT(!exists(path));
	}

	TEST_CHECK(wav_rec_close(r));
	TEST_EQUALS(EALREADY, wav_rec_close(r));
	TEST_EQUALS(EINVAL, wav_rec_write(r, s, 1));
	r = mem_deref(r);
	TEST_EQUALS(1, test_tmpdir_count(dir));
	TEST_EQUALS(0, stat(path, &st));
	TEST_EQUALS(0640, st.st_mode & 0777);

	/* the bytes themselves: little-endian whatever the host */
	TEST_CHECK(load(raw, sizeof(raw), &len, path));
	TEST_EQUALS(HDR + 2 * SAMPLES, len);
	TEST_CHECK(check_header(raw, 16000, 2 * SAMPLES));
	for (i = 0; i < ARRAY_SIZE(s); i++)
		TEST_EQUALS((uint16_t)s[i], get16(&raw[HDR + 2 * i]));

	TEST_CHECK(wav_player_alloc(&p, path, false));
	TEST_EQUALS(16000, wav_player_srate(p));
	TEST_EQUALS(SAMPLES, wav_player_read(p, back, ARRAY_SIZE(back)));
	TEST_ASSERT(!memcmp(back, s, sizeof(s)));

 out:
	mem_deref(p);
	mem_deref(r);
	test_tmpdir_remove(dir);

	return err;
}


/* no sample: a valid empty file; never closed: no file at all */
int test_wav_rec_empty(void)
{
	struct wav_player *p = NULL;
	struct wav_rec *r = NULL;
	char dir[PATH_LEN] = "", path[PATH_LEN];
	uint8_t raw[64];
	int16_t s[160];
	size_t len = 0;
	int err = 0;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	test_wav_pattern(s, ARRAY_SIZE(s));

	(void)re_snprintf(path, sizeof(path), "%s/empty.wav", dir);
	TEST_CHECK(wav_rec_alloc(&r, path, 8000));
	TEST_CHECK(wav_rec_write(r, s, 0));
	TEST_CHECK(wav_rec_close(r));
	r = mem_deref(r);

	TEST_CHECK(load(raw, sizeof(raw), &len, path));
	TEST_EQUALS(HDR, len);
	TEST_CHECK(check_header(raw, 8000, 0));
	TEST_CHECK(wav_player_alloc(&p, path, false));
	TEST_EQUALS(0, wav_player_samples(p));
	TEST_ASSERT(wav_player_eof(p));

	(void)re_snprintf(path, sizeof(path), "%s/dropped.wav", dir);
	TEST_CHECK(wav_rec_alloc(&r, path, 48000));
	TEST_CHECK(wav_rec_write(r, s, ARRAY_SIZE(s)));
	TEST_EQUALS(2, test_tmpdir_count(dir));
	r = mem_deref(r);
	TEST_ASSERT(!exists(path));
	TEST_EQUALS(1, test_tmpdir_count(dir));

	TEST_EQUALS(ENOTSUP, wav_rec_alloc(&r, path, 44100));
	TEST_EQUALS(EINVAL, wav_rec_alloc(&r, NULL, 8000));
	(void)re_snprintf(path, sizeof(path), "%s/no/such.wav", dir);
	TEST_EQUALS(ENOENT, wav_rec_alloc(&r, path, 8000));
	TEST_ASSERT(r == NULL);
	TEST_EQUALS(1, test_tmpdir_count(dir));

 out:
	mem_deref(p);
	mem_deref(r);
	test_tmpdir_remove(dir);

	return err;
}
