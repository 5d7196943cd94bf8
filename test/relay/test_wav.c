/**
 * @file test_wav.c  WAV headers (wav_parse) on files built byte by byte,
 *                   and the helpers the player and recorder tests share
 *
 * Files are built here with little-endian fields written by hand, not
 * with the code under test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "../../media/wav.h"
#include "relaytest.h"


static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}


/* a chunk whose size field says size; len bytes follow, padded */
static int chunk(struct mbuf *mb, const char *id, uint32_t size,
		 const uint8_t *body, size_t len)
{
	uint8_t h[8];
	int err;

	memcpy(h, id, 4);
	put32(h + 4, size);
	err = mbuf_write_mem(mb, h, sizeof(h));
	if (!err && len)
		err = mbuf_write_mem(mb, body, len);
	if (!err && len & 1)
		err = mbuf_write_u8(mb, 0);

	return err;
}


static int fmt(struct mbuf *mb, uint16_t tag, uint16_t ch, uint32_t srate,
	       uint16_t bits)
{
	uint8_t b[16];

	put16(b, tag);
	put16(b + 2, ch);
	put32(b + 4, srate);
	put32(b + 8, srate * ch * bits / 8);
	put16(b + 12, (uint16_t)(ch * bits / 8));
	put16(b + 14, bits);

	return chunk(mb, "fmt ", sizeof(b), b, sizeof(b));
}


/* a data chunk of n samples whose size field says size bytes */
static int data(struct mbuf *mb, const int16_t *s, size_t n, uint32_t size)
{
	uint8_t b[2];
	size_t i;
	int err = chunk(mb, "data", size, NULL, 0);

	for (i = 0; i < n && !err; i++) {
		put16(b, (uint16_t)s[i]);
		err = mbuf_write_mem(mb, b, 2);
	}

	return err;
}


static struct mbuf *riff(void)
{
	struct mbuf *mb = mbuf_alloc(1024);

	if (mb && mbuf_write_mem(mb, (const uint8_t *)"RIFF\0\0\0\0WAVE", 12))
		mb = mem_deref(mb);

	return mb;
}


static int parse(struct wav_info *wi, struct mbuf *mb)
{
	if (mb->end >= 8)
		put32(mb->buf + 4, (uint32_t)mb->end - 8);

	return wav_parse(wi, mb->buf, mb->end, "test");
}


/**
 * Test samples: full scale, and the two bytes of each differ
 *
 * @param s Samples out
 * @param n Number of them
 */
void test_wav_pattern(int16_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = (int16_t)((int32_t)((i * 7919 + 258) % 65536) - 32768);
	if (n > 1) {
		s[0] = -32768;
		s[1] = 32767;
	}
}


/**
 * Write a plain WAV file, 16-bit mono
 *
 * @param path  Returned file name
 * @param sz    Its buffer's size
 * @param dir   Directory
 * @param name  Name in it
 * @param srate Rate it says
 * @param s     Samples
 * @param n     Number of them
 * @param size  Data size it says, bytes
 *
 * @return 0 if success, otherwise errorcode
 */
int test_wav_file(char *path, size_t sz, const char *dir, const char *name,
		  uint32_t srate, const int16_t *s, size_t n, uint32_t size)
{
	struct mbuf *mb = riff();
	FILE *f = NULL;
	int err;

	if (!mb)
		return ENOMEM;

	err = fmt(mb, 1, 1, srate, 16);
	if (!err)
		err = data(mb, s, n, size);
	if (err)
		goto out;

	put32(mb->buf + 4, (uint32_t)mb->end - 8);
	if (re_snprintf(path, sz, "%s/%s", dir, name) < 0) {
		err = ENAMETOOLONG;
		goto out;
	}

	f = fopen(path, "wb");
	if (!f) {
		err = errno;
		goto out;
	}

	if (fwrite(mb->buf, mb->end, 1, f) != 1)
		err = EIO;
	if (fclose(f) && !err)
		err = errno;

 out:
	mem_deref(mb);
	return err;
}


/**
 * Make an empty directory under /tmp
 *
 * @param dir Returned name
 * @param sz  Its buffer's size
 *
 * @return 0 if success, otherwise errorcode
 */
int test_tmpdir_make(char *dir, size_t sz)
{
	static const char tmpl[] = "/tmp/sbtest-XXXXXX";

	if (sz < sizeof(tmpl))
		return EINVAL;

	str_ncpy(dir, tmpl, sz);

	return mkdtemp(dir) ? 0 : errno;
}


/**
 * @param dir Directory
 *
 * @return Files in it, -1 if it cannot be read
 */
int test_tmpdir_count(const char *dir)
{
	struct dirent *e;
	int files = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;

	while ((e = readdir(d)))
		files += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");

	(void)closedir(d);

	return files;
}


/**
 * Remove a directory that test_tmpdir_make made, and its files
 *
 * @param dir Directory; an empty string is skipped
 */
void test_tmpdir_remove(const char *dir)
{
	char path[256];
	struct dirent *e;
	DIR *d;

	d = str_isset(dir) ? opendir(dir) : NULL;
	if (!d)
		return;

	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		(void)re_snprintf(path, sizeof(path), "%s/%s", dir,
				  e->d_name);
		(void)unlink(path);
	}

	(void)closedir(d);
	(void)rmdir(dir);
}


/* LIST (odd size, padded) first, fact between, data before fmt */
int test_wav_chunks(void)
{
	static const uint8_t info[7] = "INFOab";
	struct mbuf *mb = NULL;
	struct wav_info wi;
	uint8_t ext[40];
	int16_t s[300];
	int err = 0;

	test_wav_pattern(s, ARRAY_SIZE(s));

	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(chunk(mb, "LIST", sizeof(info), info, sizeof(info)));
	TEST_CHECK(data(mb, s, ARRAY_SIZE(s), sizeof(s)));
	TEST_CHECK(chunk(mb, "fact", 4, (const uint8_t *)"\0\0\0\0", 4));
	TEST_CHECK(fmt(mb, 1, 1, 16000, 16));
	TEST_CHECK(parse(&wi, mb));
	TEST_EQUALS(16000, wi.srate);
	TEST_EQUALS(ARRAY_SIZE(s), wi.n);
	TEST_EQUALS(12 + 8 + 8 + 8, wi.off);
	TEST_EQUALS(0x00, mb->buf[wi.off]);      /* -32768 little-endian */
	TEST_EQUALS(0x80, mb->buf[wi.off + 1]);
	mb = mem_deref(mb);

	/* WAVE_FORMAT_EXTENSIBLE: its sub-format decides */
	memset(ext, 0, sizeof(ext));
	put16(ext, 0xfffe);
	put16(ext + 2, 1);
	put32(ext + 4, 48000);
	put32(ext + 8, 96000);
	put16(ext + 12, 2);
	put16(ext + 14, 16);
	put16(ext + 16, 22);
	put16(ext + 24, 1);
	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(chunk(mb, "fmt ", sizeof(ext), ext, sizeof(ext)));
	TEST_CHECK(data(mb, s, 10, 20));
	TEST_CHECK(parse(&wi, mb));
	TEST_EQUALS(48000, wi.srate);
	TEST_EQUALS(10, wi.n);

	put16(&mb->buf[12 + 8 + 24], 3);
	TEST_EQUALS(ENOTSUP, parse(&wi, mb));

 out:
	mem_deref(mb);

	return err;
}


int test_wav_unsupported(void)
{
	static const struct {
		uint16_t tag, ch, bits;
		uint32_t srate;
	} v[] = {
		{1, 1,  8, 8000},     /* 8-bit */
		{1, 2, 16, 16000},    /* stereo */
		{1, 1, 16, 44100},    /* rate */
		{1, 1, 16, 0},
		{3, 1, 32, 16000},    /* float */
		{6, 1,  8, 8000},     /* A-law */
	};
	struct mbuf *mb = NULL;
	struct wav_info wi;
	int16_t s[64];
	size_t i;
	int err = 0;

	test_wav_pattern(s, ARRAY_SIZE(s));

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		mb = riff();
		TEST_ASSERT(mb != NULL);
		TEST_CHECK(fmt(mb, v[i].tag, v[i].ch, v[i].srate, v[i].bits));
		TEST_CHECK(data(mb, s, ARRAY_SIZE(s), sizeof(s)));
		TEST_EQUALS(ENOTSUP, parse(&wi, mb));
		mb = mem_deref(mb);
	}

 out:
	mem_deref(mb);

	return err;
}


/* sizes larger than the file: what is there, no more */
int test_wav_truncated(void)
{
	struct mbuf *mb = NULL;
	struct wav_info wi;
	int16_t s[100];
	int err = 0;

	test_wav_pattern(s, ARRAY_SIZE(s));

	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(fmt(mb, 1, 1, 8000, 16));
	TEST_CHECK(data(mb, s, ARRAY_SIZE(s), 200000));
	TEST_CHECK(parse(&wi, mb));
	TEST_EQUALS(ARRAY_SIZE(s), wi.n);
	TEST_EQUALS(mb->end, wi.off + 2 * wi.n);

	/* cut inside a sample: the half sample is dropped */
	TEST_CHECK(mbuf_write_u8(mb, 0x7f));
	TEST_CHECK(parse(&wi, mb));
	TEST_EQUALS(ARRAY_SIZE(s), wi.n);

	/* cut inside the fmt chunk */
	mb->end = mb->pos = 12 + 8 + 10;
	TEST_EQUALS(EBADMSG, parse(&wi, mb));

	/* cut inside the data chunk's header: no data */
	mb->end = mb->pos = 12;
	TEST_CHECK(fmt(mb, 1, 1, 8000, 16));
	TEST_CHECK(mbuf_write_mem(mb, (const uint8_t *)"data\x10", 5));
	TEST_EQUALS(EBADMSG, parse(&wi, mb));

 out:
	mem_deref(mb);

	return err;
}


int test_wav_garbage(void)
{
	const int16_t s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct mbuf *mb = NULL;
	struct wav_info wi;
	uint8_t junk[1000];
	int i, err = 0;

	TEST_EQUALS(EBADMSG, wav_parse(&wi, NULL, 0, "empty"));
	TEST_EQUALS(EBADMSG, wav_parse(&wi, (const uint8_t *)
				       "RIFF\4\0\0\0WAVX", 12, "wavx"));
	TEST_EQUALS(EINVAL, wav_parse(NULL, junk, sizeof(junk), "null"));

	/* random chunks after a good RIFF header: never read past them
	 * (the sanitizers would see it) and never taken for a file */
	for (i = 0; i < 50; i++) {
		mb = riff();
		TEST_ASSERT(mb != NULL);
		rand_bytes(junk, sizeof(junk));
		TEST_CHECK(mbuf_write_mem(mb, junk, (size_t)(i * 20)));
		TEST_EQUALS(EBADMSG, parse(&wi, mb));
		mb = mem_deref(mb);
	}

	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(fmt(mb, 1, 1, 8000, 16));
	TEST_EQUALS(EBADMSG, parse(&wi, mb));
	mb = mem_deref(mb);

	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(data(mb, s, ARRAY_SIZE(s), sizeof(s)));
	TEST_EQUALS(EBADMSG, parse(&wi, mb));
	mb = mem_deref(mb);

	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(chunk(mb, "fmt ", 8, (const uint8_t *)"\1\0\1\0@\37\0\0",
			 8));
	TEST_CHECK(data(mb, s, ARRAY_SIZE(s), sizeof(s)));
	TEST_EQUALS(EBADMSG, parse(&wi, mb));
	mb = mem_deref(mb);

	/* a chunk that says it runs 4 GB hides what follows */
	mb = riff();
	TEST_ASSERT(mb != NULL);
	TEST_CHECK(chunk(mb, "LIST", 0xfffffff0, NULL, 0));
	TEST_CHECK(fmt(mb, 1, 1, 8000, 16));
	TEST_CHECK(data(mb, s, ARRAY_SIZE(s), sizeof(s)));
	TEST_EQUALS(EBADMSG, parse(&wi, mb));

 out:
	mem_deref(mb);

	return err;
}
