/**
 * @file wav_write.c  WAV recorders: written under a temporary name,
 *                    renamed once whole
 *
 * The file is made next to its final name (same file system, so the
 * rename is atomic) as "<final>.tmp.XXXXXX". Samples go, little-endian,
 * into the recorder's own buffer and out with pwrite(2) each time it
 * fills (a second at 16 kHz): no stdio, whose buffer is allocated on
 * first use, in the packet thread. The header goes first, with zero
 * sizes, so a recorder closed without a sample still leaves a valid
 * empty WAV. wav_rec_close writes the sizes, fsyncs, renames and
 * fsyncs the directory, so that after a crash the final name holds
 * the whole recording or does not exist. A recorder released without
 * wav_rec_close is dropped, its temporary file removed.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "wav.h"

#define DEBUG_MODULE "wav"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	HDR_SIZE   = 44,          /**< RIFF, fmt and data headers     */
	RIFF_EXTRA = 36,          /**< RIFF size minus data size      */
	BUF_SIZE   = 32768,       /**< Bytes written at once (even)   */
	FILE_MODE  = 0640,        /**< The core may read it by group  */
};

/** A WAV file being recorded */
struct wav_rec {
	char *path;               /**< Final name                     */
	char *tmp;                /**< Temporary name, while fd is open */
	int fd;                   /**< Temporary file, -1: closed     */
	uint32_t srate;           /**< Sample rate                    */
	uint32_t bytes;           /**< Data bytes taken               */
	off_t off;                /**< Where the buffer goes          */
	size_t fill;              /**< Bytes in buf                   */
	int err;                  /**< First write error              */
	uint8_t buf[BUF_SIZE];    /**< Little-endian samples          */
};


static void destructor(void *arg)
{
	struct wav_rec *r = arg;

	/* not closed: dropped */
	if (r->fd >= 0) {
		(void)close(r->fd);
		(void)unlink(r->tmp);
	}

	mem_deref(r->tmp);
	mem_deref(r->path);
}


static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 16000 || r == 48000;
}


static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}


static void hdr_encode(uint8_t *h, uint32_t srate, uint32_t bytes)
{
	memcpy(h, "RIFF", 4);
	put_le32(h + 4, RIFF_EXTRA + bytes);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);
	put_le16(h + 20, 1);              /* PCM */
	put_le16(h + 22, 1);              /* mono */
	put_le32(h + 24, srate);
	put_le32(h + 28, srate * 2);      /* bytes per second */
	put_le16(h + 32, 2);              /* bytes per frame */
	put_le16(h + 34, 16);             /* bits */
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, bytes);
}


static int write_at(int fd, const uint8_t *p, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;

		p += n;
		off += n;
		len -= (size_t)n;
	}

	return 0;
}


static int flush(struct wav_rec *r)
{
	int err = write_at(r->fd, r->buf, r->fill, r->off);

	if (err)
		return err;

	r->off += (off_t)r->fill;
	r->fill = 0;

	return 0;
}


/* makes the rename itself durable */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd, err = 0;

	if (!slash)
		err = str_dup(&dir, ".");
	else
		err = re_sdprintf(&dir, "%b", path,
				  slash == path ? (size_t)1 :
				  (size_t)(slash - path));
	if (err)
		goto out;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto out;
	}

	if (fsync(fd))
		err = errno;

	(void)close(fd);

 out:
	if (err)
		DEBUG_WARNING("%s: directory not synced: %m\n", path, err);

	mem_deref(dir);
}


/**
 * Start recording a WAV file (control thread)
 *
 * @param rp    Returned recorder
 * @param path  Final name; its directory must exist
 * @param srate Sample rate: 8000, 16000 or 48000
 *
 * @return 0 if success, ENOTSUP for another rate, otherwise errorcode
 */
int wav_rec_alloc(struct wav_rec **rp, const char *path, uint32_t srate)
{
	struct wav_rec *r;
	int err;

	if (!rp || !str_isset(path))
		return EINVAL;

	if (!rate_ok(srate))
		return ENOTSUP;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	r->fd = -1;
	r->srate = srate;

	err  = str_dup(&r->path, path);
	err |= re_sdprintf(&r->tmp, "%s.tmp.XXXXXX", path);
	if (err)
		goto out;

	r->fd = mkostemp(r->tmp, O_CLOEXEC);
	if (r->fd < 0) {
		err = errno;
		goto out;
	}

	if (fchmod(r->fd, FILE_MODE)) {
		err = errno;
		goto out;
	}

	hdr_encode(r->buf, srate, 0);
	r->fill = HDR_SIZE;

 out:
	if (err) {
		DEBUG_WARNING("%s: cannot record: %m\n", path, err);
		mem_deref(r);
	}
	else {
		*rp = r;
	}

	return err;
}


/**
 * Append samples (packet thread; no allocation)
 *
 * The recorder's buffer is written out when it fills. After a write
 * error nothing more is taken, and wav_rec_close reports it.
 *
 * @param r   Recorder
 * @param pcm Samples
 * @param n   Number of samples
 *
 * @return 0 if success; EFBIG once the file is at the 4 GB limit of
 *         WAV (the samples are dropped, the file stays good), otherwise
 *         the write error
 */
int wav_rec_write(struct wav_rec *r, const int16_t *pcm, size_t n)
{
	size_t i = 0;

	if (!r || (!pcm && n) || r->fd < 0)
		return EINVAL;

	if (r->err)
		return r->err;

	if ((uint64_t)r->bytes + 2 * (uint64_t)n > UINT32_MAX - RIFF_EXTRA)
		return EFBIG;

	while (i < n) {
		size_t k = min(n - i, (BUF_SIZE - r->fill) / 2);
		uint8_t *p = &r->buf[r->fill];

		r->fill += 2 * k;
		for (; k; k--, i++, p += 2)
			put_le16(p, (uint16_t)pcm[i]);

		if (r->fill == BUF_SIZE) {
			r->err = flush(r);
			if (r->err)
				return r->err;
		}
	}

	r->bytes += (uint32_t)(2 * n);

	return 0;
}


/**
 * Finish a recording (control thread, once no packet thread writes)
 *
 * Writes what is buffered and the sizes, syncs the file to disk and
 * renames it to its final name (it waits for the disk: milliseconds,
 * more on slow flash). On error the temporary file is removed and the
 * final name left alone. Release the recorder after.
 *
 * @param r Recorder
 *
 * @return 0 if the file is in place, EALREADY if closed before,
 *         otherwise errorcode
 */
int wav_rec_close(struct wav_rec *r)
{
	uint8_t hdr[HDR_SIZE];
	int err;

	if (!r)
		return EINVAL;

	if (r->fd < 0)
		return EALREADY;

	err = r->err;
	if (!err)
		err = flush(r);

	if (!err) {
		hdr_encode(hdr, r->srate, r->bytes);
		err = write_at(r->fd, hdr, sizeof(hdr), 0);
	}

	if (!err && fsync(r->fd))
		err = errno;

	if (close(r->fd) && !err)
		err = errno;
	r->fd = -1;

	if (!err && rename(r->tmp, r->path))
		err = errno;

	if (err) {
		DEBUG_WARNING("%s: recording lost: %m\n", r->path, err);
		(void)unlink(r->tmp);
	}
	else {
		sync_dir(r->path);
	}

	r->tmp = mem_deref(r->tmp);

	return err;
}
