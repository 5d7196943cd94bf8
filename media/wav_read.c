/**
 * @file wav_read.c  WAV players: each file loaded once, shared, read by frame
 *
 * A file is read whole when its first player is made, converted to
 * host-order samples and shared by all its players, each of which has
 * only a position. A prompt is a few seconds (100 kB at 16 kHz), a
 * minute of music on hold 1.9 MB: one copy per file, however many calls
 * play it, and a packet thread never waits for the disk (reading as it
 * plays would cost a descriptor and a buffer per player, and a stalled
 * disk would stall every call of that thread). A file is known again
 * by device, inode, size and modification time, so a re-rendered prompt
 * is loaded afresh while calls still playing the old one keep theirs.
 *
 * librem 0.6.0's aufile is not used: it wants "fmt " as the first chunk,
 * takes an odd-sized chunk's pad byte for the next chunk's id, refuses a
 * truncated file, returns EPERM for a short read, and its stdio buffer
 * is allocated on the first read, which would be in a packet thread.
 * The header is read by wav_parse.c.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <re.h>
#include "wav.h"

#define DEBUG_MODULE "wav"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** A file's samples, shared by its players */
struct clip {
	struct le le;             /**< In clips (control thread)      */
	dev_t dev;                /**< File's device                  */
	ino_t ino;                /**< File's inode                   */
	off_t size;               /**< File's size                    */
	struct timespec mtime;    /**< File's modification time       */
	uint32_t srate;           /**< Sample rate                    */
	size_t n;                 /**< Samples                        */
	int16_t *pcm;             /**< Host order, read-only once loaded */
};

/** A position in a clip */
struct wav_player {
	struct clip *clip;        /**< What it plays                  */
	size_t pos;               /**< Next sample (packet thread)    */
	bool loop;                /**< Wrap to the start at the end   */
};

static struct list clips;         /* loaded files; control thread only */


static int16_t le16s(const uint8_t *p)
{
	int32_t v = p[0] | p[1] << 8;

	/* two's complement by arithmetic: no implementation-defined cast */
	return (int16_t)(v >= 0x8000 ? v - 0x10000 : v);
}


static void clip_destructor(void *arg)
{
	struct clip *c = arg;

	list_unlink(&c->le);
	mem_deref(c->pcm);
}


static void player_destructor(void *arg)
{
	struct wav_player *p = arg;

	mem_deref(p->clip);
}


static bool same_file(const struct clip *c, const struct stat *st)
{
	return c->dev == st->st_dev && c->ino == st->st_ino &&
		c->size == st->st_size &&
		c->mtime.tv_sec == st->st_mtim.tv_sec &&
		c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}


static struct clip *clip_find(const struct stat *st)
{
	struct le *le;

	for (le = clips.head; le; le = le->next) {
		if (same_file(le->data, st))
			return le->data;
	}

	return NULL;
}


/* the whole file, and its identity */
static int read_file(uint8_t **bufp, size_t *lenp, struct stat *st,
		     const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;

	if (fstat(fd, st)) {
		err = errno;
		goto out;
	}

	if (!S_ISREG(st->st_mode)) {
		err = EINVAL;
		goto out;
	}

	if (st->st_size > WAV_FILE_MAX) {
		err = EFBIG;
		goto out;
	}

	buf = mem_alloc((size_t)st->st_size + 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}

	/* up to the size fstat gave: a file growing meanwhile is cut */
	while (len < (size_t)st->st_size) {
		ssize_t r = read(fd, &buf[len], (size_t)st->st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}

 out:
	(void)close(fd);

	if (err) {
		mem_deref(buf);
	}
	else {
		*bufp = buf;
		*lenp = len;
	}

	return err;
}


static int clip_load(struct clip **cp, const char *path)
{
	struct wav_info wi;
	struct clip *c = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, i;
	struct stat st;
	int err;

	err = read_file(&buf, &len, &st, path);
	if (err) {
		DEBUG_WARNING("%s: %m\n", path, err);
		goto out;
	}

	err = wav_parse(&wi, buf, len, path);
	if (err)
		goto out;

	c = mem_zalloc(sizeof(*c), clip_destructor);
	if (!c) {
		err = ENOMEM;
		goto out;
	}

	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->srate = wi.srate;
	c->n = wi.n;
	c->pcm = mem_alloc((c->n ? c->n : 1) * sizeof(*c->pcm), NULL);
	if (!c->pcm) {
		err = ENOMEM;
		goto out;
	}

	for (i = 0; i < c->n; i++)
		c->pcm[i] = le16s(&buf[wi.off + 2 * i]);

	list_append(&clips, &c->le, c);

 out:
	mem_deref(buf);

	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/**
 * Open a WAV file for playing (control thread)
 *
 * The file is loaded at once, or shared with the players that already
 * have it unchanged.
 *
 * @param pp   Returned player
 * @param path File: 16-bit PCM mono at 8000, 16000 or 48000 Hz
 * @param loop Start again after the last sample (music on hold)
 *
 * @return 0 if success; ENOTSUP for another format, EBADMSG if it is
 *         not a WAV file, EFBIG if larger than WAV_FILE_MAX, otherwise
 *         errorcode
 */
int wav_player_alloc(struct wav_player **pp, const char *path, bool loop)
{
	struct wav_player *p;
	struct stat st;
	int err = 0;

	if (!pp || !str_isset(path))
		return EINVAL;

	p = mem_zalloc(sizeof(*p), player_destructor);
	if (!p)
		return ENOMEM;

	p->loop = loop;

	if (stat(path, &st)) {
		err = errno;
		DEBUG_WARNING("%s: %m\n", path, err);
		goto out;
	}

	p->clip = mem_ref(clip_find(&st));
	if (!p->clip)
		err = clip_load(&p->clip, path);

 out:
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/**
 * Read the next samples (packet thread; no allocation, no I/O)
 *
 * A looping player wraps to the first sample after the last one; any
 * other stops at the end, and the rest of pcm is filled with silence.
 *
 * @param p   Player
 * @param pcm Samples out
 * @param n   Samples wanted
 *
 * @return Samples of the file read: n, or fewer at its end
 */
size_t wav_player_read(struct wav_player *p, int16_t *pcm, size_t n)
{
	const struct clip *c;
	size_t done = 0;

	if (!p || !pcm)
		return 0;

	c = p->clip;

	while (done < n) {
		size_t k;

		if (p->pos == c->n) {
			if (!p->loop || !c->n)
				break;
			p->pos = 0;
		}

		k = min(n - done, c->n - p->pos);
		memcpy(&pcm[done], &c->pcm[p->pos], k * sizeof(*pcm));
		p->pos += k;
		done += k;
	}

	memset(&pcm[done], 0, (n - done) * sizeof(*pcm));

	return done;
}


/**
 * Has a player played everything (end of playback)?
 *
 * @param p Player
 *
 * @return True after the last sample of a player that does not loop,
 *         or at once for an empty file
 */
bool wav_player_eof(const struct wav_player *p)
{
	if (!p)
		return true;

	return p->pos == p->clip->n && (!p->loop || !p->clip->n);
}


/**
 * @param p Player
 *
 * @return Its file's sample rate, 0 if p is NULL
 */
uint32_t wav_player_srate(const struct wav_player *p)
{
	return p ? p->clip->srate : 0;
}


/**
 * @param p Player
 *
 * @return Samples in its file (its length), 0 if p is NULL
 */
size_t wav_player_samples(const struct wav_player *p)
{
	return p ? p->clip->n : 0;
}


/**
 * Files loaded now, each shared by its players (control thread)
 *
 * @param bytes Returned memory their samples take, may be NULL
 *
 * @return Number of files
 */
uint32_t wav_loaded(size_t *bytes)
{
	size_t sum = 0;
	struct le *le;

	for (le = clips.head; le; le = le->next) {
		const struct clip *c = le->data;

		sum += c->n * sizeof(*c->pcm);
	}

	if (bytes)
		*bytes = sum;

	return list_count(&clips);
}
