/**
 * @file rec.c  Recorders: what a leg's party sends, decoded, to a WAV file
 *
 * The leg's packet thread hands each RTP packet of the leg's codec to
 * the recorder (rec_rx, under the leg's lock), which decodes it with a
 * decoder of its own (so it works alike on the fast path, where nothing
 * else decodes, and across a re-answer that replaces the transcode
 * path) into a ring of samples. The control thread alone touches the
 * disk: a timer, running only while some recorder exists, drains every
 * ring into its WAV file (wav_write.c) every DRAIN_MS. The ring holds
 * RING_MS, room for the control thread to be late (a recording closing
 * waits for fsync); what does not fit is dropped and counted.
 *
 * Packets are taken in arrival order, not through a jitter buffer: a
 * recording is not played out live, so it has no use for the delay. A
 * gap in sequence numbers (up to LOSS_MAX frames) is filled by the
 * codec's concealment, so the recording keeps time; a packet older
 * than one already taken is dropped, as is a jump further ahead (a
 * new source), where nothing is filled in.
 *
 * The ring has one writer (the packet thread: head) and one reader (the
 * control thread: tail), each index written by one side only.
 *
 * A mixer's recorder has no codec: its packet thread hands it the
 * whole mix as PCM each tick (rec_pcm), into the same ring.
 */
#include <string.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "wav.h"

#define DEBUG_MODULE "rec"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	DRAIN_MS  = 100,          /**< Rings emptied to disk this often */
	RING_MS   = 1000,         /**< A ring holds this much          */
	LOSS_MAX  = 25,           /**< Most frames concealed at once   */
	PCM_MAX   = 5760,         /**< A packet's samples: 120 ms at
				       48 kHz                          */
};

/** A recording of one leg or mixer */
struct rec {
	struct le le;             /**< In recs.l (control thread)     */
	struct wav_rec *wav;      /**< The file                       */
	char *file;               /**< Its final name                 */
	struct codec *dec;        /**< The leg's codec (own instance),
				       NULL: a mixer's, PCM in        */
	uint8_t pt;               /**< Its payload type               */
	uint32_t srate;           /**< Its PCM rate: the file's       */
	bool started;             /**< A packet was taken (packet thread) */
	uint16_t seq_next;        /**< Sequence expected next (packet
				       thread)                         */
	size_t last_n;            /**< Samples of the last frame (packet
				       thread)                         */
	int16_t *ring;            /**< Decoded samples                */
	size_t size;              /**< Ring size, samples             */
	_Atomic size_t head;      /**< Written up to (packet thread)  */
	_Atomic size_t tail;      /**< Read up to (control thread)    */
	_Atomic uint64_t lost;    /**< Samples the ring had no room for */
	uint64_t samples;         /**< Written to the file            */
	bool full;                /**< At the 4 GB of WAV: no more    */
	int err;                  /**< First write error: the file is
				       lost                            */
};

static struct {
	struct list l;            /**< Recorders (control thread)     */
	struct tmr tmr;           /**< Drains them while there are any */
} recs;

static _Thread_local int16_t rx_pcm[PCM_MAX];    /* a decoded packet */


static void destructor(void *arg)
{
	struct rec *r = arg;

	list_unlink(&r->le);
	if (!list_head(&recs.l))
		tmr_cancel(&recs.tmr);

	/* not closed (rec_close): the temporary file goes */
	mem_deref(r->wav);
	mem_deref(r->file);
	mem_deref(r->dec);
	mem_deref(r->ring);
}


static void drain_timer(void *arg)
{
	struct le *le;
	(void)arg;

	for (le = list_head(&recs.l); le; le = le->next)
		rec_drain(le->data);

	if (list_head(&recs.l))
		tmr_start(&recs.tmr, DRAIN_MS, drain_timer, NULL);
}


/* the rate a codec's audio is recorded at: the codec's own */
static uint32_t rec_rate(enum codec_id id)
{
	return codec_info(id)->srate;
}


/* a recorder at srate; with the leg's codec lc, or for PCM (NULL) */
static int rec_make(struct rec **rp, const struct legcodec *lc,
		    uint32_t srate, const char *file)
{
	struct pl fmtp = PL_INIT;
	struct rec *r;
	int err = 0;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	r->srate = srate;
	r->size = r->srate * RING_MS / 1000;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->lost, 0);

	if (lc) {
		r->pt = lc->pt;
		pl_set_str(&fmtp, lc->fmtp);
		err = codec_alloc(&r->dec, lc->codec, r->srate,
				  &fmtp);
	}
	err = err ? err : str_dup(&r->file, file);
	if (err)
		goto out;

	r->ring = mem_alloc(r->size * sizeof(*r->ring), NULL);
	if (!r->ring) {
		err = ENOMEM;
		goto out;
	}

	err = wav_rec_alloc(&r->wav, file, r->srate);
	if (err)
		goto out;

	if (!list_head(&recs.l))
		tmr_start(&recs.tmr, DRAIN_MS, drain_timer, NULL);
	list_append(&recs.l, &r->le, r);

 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


/**
 * Start recording to a WAV file (control thread)
 *
 * The file is written under a temporary name next to its final one
 * and renamed by rec_close (wav_write.c).
 *
 * @param rp   Returned recorder
 * @param lc   The leg's codec; the file has its PCM rate
 * @param file Final name; its directory must exist
 *
 * @return 0 if success, otherwise the error of wav_rec_alloc (the file
 *         cannot be made)
 */
int rec_alloc(struct rec **rp, const struct legcodec *lc, const char *file)
{
	if (!rp || !lc || !codec_info(lc->codec) || !str_isset(file))
		return EINVAL;

	return rec_make(rp, lc, rec_rate(lc->codec), file);
}


/**
 * Start recording PCM (a mixer's) to a WAV file (control thread), as
 * rec_alloc does
 *
 * @param rp    Returned recorder
 * @param srate The PCM's rate, and the file's: 8000, 16000 or 48000
 * @param file  Final name; its directory must exist
 *
 * @return 0 if success, otherwise errorcode, as for rec_alloc
 */
int rec_pcm_alloc(struct rec **rp, uint32_t srate, const char *file)
{
	if (!rp || (srate != 8000 && srate != 16000 && srate != 48000) ||
	    !str_isset(file))
		return EINVAL;

	return rec_make(rp, NULL, srate, file);
}


/* samples into the ring, as many as fit (packet thread) */
static void ring_put(struct rec *r, const int16_t *pcm, size_t n)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t room = r->size - (head - tail), i;

	if (n > room) {
		atomic_fetch_add_explicit(&r->lost, n - room,
					  memory_order_relaxed);
		n = room;
	}

	for (i = 0; i < n; i++)
		r->ring[(head + i) % r->size] = pcm[i];

	atomic_store_explicit(&r->head, head + n, memory_order_release);
}


/**
 * Take an RTP packet the leg's party sent (packet thread, under the
 * leg's lock; no allocation, no I/O)
 *
 * @param r Recorder
 * @param h The packet, parsed; other payload types are ignored
 */
void rec_rx(struct rec *r, const struct rtp_hdr *h)
{
	size_t n = PCM_MAX;
	int16_t ahead;

	if (!r || !r->dec || !h || h->pt != r->pt)
		return;

	ahead = (int16_t)(uint16_t)(h->seq - r->seq_next);
	if (r->started && ahead < 0)
		return;

	/* lost frames, made up so that the recording keeps time */
	if (r->started && ahead > 0 && ahead <= LOSS_MAX) {
		/* Opus: the packet's FEC rebuilds the frame just
		 * before it only */
		for (; ahead > 0; ahead--) {
			(void)codec_conceal(r->dec, rx_pcm, r->last_n,
					    ahead == 1 ? h->payload : NULL,
					    ahead == 1 ? h->plen : 0);
			ring_put(r, rx_pcm, r->last_n);
		}
	}

	if (codec_decode(r->dec, rx_pcm, &n, h->payload, h->plen) || !n)
		return;

	ring_put(r, rx_pcm, n);
	r->started = true;
	r->seq_next = (uint16_t)(h->seq + 1);
	r->last_n = n;
}


/**
 * Take PCM to record (packet thread; no allocation, no I/O)
 *
 * @param r   Recorder made by rec_pcm_alloc
 * @param pcm Samples at its rate
 * @param n   How many
 */
void rec_pcm(struct rec *r, const int16_t *pcm, size_t n)
{
	if (!r || r->dec || !pcm)
		return;

	ring_put(r, pcm, n);
}


/**
 * Write what the ring holds to the file (control thread)
 *
 * @param r Recorder
 */
void rec_drain(struct rec *r)
{
	size_t head, tail;

	if (!r || !r->wav)
		return;

	head = atomic_load_explicit(&r->head, memory_order_acquire);
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	while (tail != head) {
		size_t off = tail % r->size;
		size_t k = min(head - tail, r->size - off);

		if (!r->err && !r->full) {
			int err = wav_rec_write(r->wav, &r->ring[off], k);

			if (!err)
				r->samples += k;
			else if (err == EFBIG)
				r->full = true;
			else
				r->err = err;

			if (err)
				DEBUG_WARNING("%s: %m\n", r->file, err);
		}

		tail += k;
	}

	atomic_store_explicit(&r->tail, tail, memory_order_release);
}


/**
 * Finish a recording (control thread, once no packet thread can reach
 * the recorder): the ring is drained, the file written and renamed to
 * its final name. Release the recorder after.
 *
 * @param r  Recorder
 * @param ms Returned duration of the file, in ms; may be NULL
 *
 * @return 0 if the file is in place, otherwise errorcode (it is not)
 */
int rec_close(struct rec *r, uint64_t *ms)
{
	uint64_t lost;
	int err;

	if (!r || !r->wav)
		return EINVAL;

	rec_drain(r);

	lost = atomic_load_explicit(&r->lost, memory_order_relaxed);
	if (lost)
		DEBUG_WARNING("%s: %llu samples lost (the disk was late)\n",
			      r->file, (unsigned long long)lost);

	/* after a write error, it removes the file and says why */
	err = wav_rec_close(r->wav);
	r->wav = mem_deref(r->wav);

	/* nothing left to drain */
	list_unlink(&r->le);
	if (!list_head(&recs.l))
		tmr_cancel(&recs.tmr);

	if (ms)
		*ms = r->samples * 1000 / r->srate;

	return err;
}


/**
 * @param r Recorder
 *
 * @return The final name of its file
 */
const char *rec_file(const struct rec *r)
{
	return r ? r->file : NULL;
}


/**
 * @param r Recorder
 *
 * @return The sample rate it records at
 */
uint32_t rec_srate(const struct rec *r)
{
	return r ? r->srate : 0;
}
