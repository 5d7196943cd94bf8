/**
 * @file play.c  Players: a WAV file or a tone, encoded in a leg's codec
 *               as the relay's own RTP stream
 *
 * A player is made on the control thread (the file is loaded then, or
 * shared with the players that have it already: wav_read.c) and then
 * ticked by the leg's packet thread every 20 ms (play_tick), under the
 * leg's lock. Each tick takes 20 ms of the source, resamples it to the
 * rate the codec runs at, encodes it and makes it an RTP packet with
 * the player's own SSRC, sequence and timestamps (a new source to the
 * party: the marker bit on the first packet).
 *
 * The player has its own codec, not the transcode path's: the path
 * toward the leg keeps its encoder's state for when the bridge comes
 * back. Opus runs at the file's rate up to 16 kHz (a 48 kHz file is
 * taken down): Opus at 48 kHz costs several times as much a frame
 * (bench/relay/codeccost.c), and music on hold is played to many legs
 * at once. A tone is made at the codec's rate (Opus: 16 kHz), so that
 * it is never resampled.
 *
 * A file that does not loop ends after its last sample (the last frame
 * is padded with silence), a beep after its cadence; play_ended then
 * says so to any thread, and play_tick makes no more packets.
 */
#include <string.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "resamp.h"
#include "wav.h"
#include "tone.h"


enum {
	TICK_MS     = 20,         /**< A packet's audio               */
	FRAME_MAX   = 960,        /**< 20 ms at 48 kHz                */
	OPUS_RATE   = 16000,      /**< Highest rate Opus is fed       */
};

/** A source played to a leg's party */
struct play {
	struct wav_player *wav;   /**< The file, or NULL              */
	struct tone *tone;        /**< The tone, or NULL              */
	char *name;               /**< File path or tone name         */
	uint32_t src_rate;        /**< The source's rate              */
	struct resamp *rs;        /**< Source to codec rate, or NULL  */
	struct codec *enc;        /**< The leg's codec (own instance) */
	uint8_t pt;               /**< Its payload type               */
	uint32_t ssrc;            /**< Our stream                     */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	bool sent;                /**< A packet went out (marker)     */
	atomic_bool ended;        /**< Played to the end              */
};


static void destructor(void *arg)
{
	struct play *p = arg;

	mem_deref(p->wav);
	mem_deref(p->tone);
	mem_deref(p->name);
	mem_deref(p->rs);
	mem_deref(p->enc);
}


/* the PCM rate the leg's codec runs at for a source of src_rate */
static uint32_t codec_rate(enum codec_id id, uint32_t src_rate)
{
	if (id == CODEC_OPUS)
		return min(src_rate, (uint32_t)OPUS_RATE);

	return codec_info(id)->srate;
}


/* the encoder, and a resampler if the rates differ */
static int play_alloc(struct play **pp, const struct legcodec *lc,
		      uint32_t src_rate, uint32_t rate)
{
	struct play *p;
	struct pl fmtp = PL_INIT;
	int err;

	p = mem_zalloc(sizeof(*p), destructor);
	if (!p)
		return ENOMEM;

	pl_set_str(&fmtp, lc->fmtp);
	err = codec_alloc(&p->enc, lc->codec, rate, fmtp.l ? &fmtp : NULL);
	if (!err && src_rate != rate)
		err = resamp_alloc(&p->rs, src_rate, rate);
	if (err)
		goto out;

	p->src_rate = src_rate;
	p->pt = lc->pt;
	p->ssrc = rand_u32();
	p->seq = rand_u16();
	p->ts = rand_u32();
	atomic_init(&p->ended, false);

 out:
	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


static bool codec_ok(const struct legcodec *lc)
{
	return lc && codec_info(lc->codec);
}


/**
 * Make a player of a WAV file (control thread)
 *
 * @param pp   Returned player
 * @param lc   The leg's codec
 * @param file WAV file: 16-bit PCM mono at 8, 16 or 48 kHz
 * @param loop Start again after its end (music on hold)
 *
 * @return 0 if success, otherwise the error of wav_player_alloc (the
 *         file cannot be read, or is not such a WAV file)
 */
int play_file(struct play **pp, const struct legcodec *lc,
	      const char *file, bool loop)
{
	struct wav_player *wav = NULL;
	struct play *p = NULL;
	uint32_t srate;
	int err;

	if (!pp || !codec_ok(lc) || !str_isset(file))
		return EINVAL;

	err = wav_player_alloc(&wav, file, loop);
	if (err)
		return err;

	srate = wav_player_srate(wav);
	err = play_alloc(&p, lc, srate, codec_rate(lc->codec, srate));
	err = err ? err : str_dup(&p->name, file);
	if (err)
		goto out;

	p->wav = mem_ref(wav);

 out:
	mem_deref(wav);

	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/**
 * Make a player of a tone (control thread)
 *
 * @param pp   Returned player
 * @param lc   The leg's codec
 * @param set  Tone set: "us" or "eu"
 * @param kind Which tone; a beep ends after its cadence, the others
 *             go on until stopped
 *
 * @return 0 if success, ENOENT if there is no such set, otherwise
 *         errorcode
 */
int play_tone(struct play **pp, const struct legcodec *lc,
	      const char *set, enum tone_kind kind)
{
	struct play *p = NULL;
	uint32_t rate;
	int err;

	if (!pp || !codec_ok(lc) || !set)
		return EINVAL;

	rate = codec_rate(lc->codec, codec_info(lc->codec)->srate);
	err = play_alloc(&p, lc, rate, rate);
	err = err ? err : tone_alloc(&p->tone, set, kind, rate);
	err = err ? err : str_dup(&p->name, tone_name(kind));

	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/* 20 ms of the source at the codec's rate; false: it has ended */
static bool source_read(struct play *p, int16_t *pcm, size_t *n)
{
	int16_t src[FRAME_MAX];
	size_t src_n = p->src_rate * TICK_MS / 1000;

	if (p->wav) {
		if (wav_player_eof(p->wav))
			return false;
		(void)wav_player_read(p->wav, p->rs ? src : pcm, src_n);
	}
	else {
		if (tone_over(p->tone))
			return false;
		tone_fill(p->tone, p->rs ? src : pcm, src_n);
	}

	if (!p->rs) {
		*n = src_n;
		return true;
	}

	if (resamp_process(p->rs, pcm, n, src, src_n))
		*n = 0;

	return true;
}


/**
 * Make the next 20 ms packet (packet thread, under the leg's lock)
 *
 * @param p   Player
 * @param pkt Buffer for the RTP packet
 * @param cap Its size
 * @param len Returned packet length, 0: none this tick
 *
 * @return 0 if success (a packet, or none once ended), otherwise
 *         errorcode (this tick's frame is lost)
 */
int play_tick(struct play *p, uint8_t *pkt, size_t cap, size_t *len)
{
	int16_t pcm[FRAME_MAX];
	size_t n = FRAME_MAX, plen;
	int err;

	if (!p || !pkt || !len)
		return EINVAL;

	*len = 0;

	if (atomic_load_explicit(&p->ended, memory_order_relaxed))
		return 0;

	if (!source_read(p, pcm, &n)) {
		atomic_store_explicit(&p->ended, true, memory_order_release);
		return 0;
	}

	if (cap <= RTP_HDR_SIZE)
		return ENOBUFS;

	plen = cap - RTP_HDR_SIZE;
	err = codec_encode(p->enc, &pkt[RTP_HDR_SIZE], &plen, pcm, n);
	err = err ? err : rtp_build(pkt, cap, !p->sent, p->pt, p->seq,
				    p->ts, p->ssrc);

	/* the timestamps keep time whether or not this frame went out;
	 * the sequence counts packets sent */
	p->ts += codec_ts_step(p->enc, n);
	if (err)
		return err;

	++p->seq;
	p->sent = true;
	*len = RTP_HDR_SIZE + plen;

	return 0;
}


/**
 * Has a player played everything (any thread)?
 *
 * @param p Player
 *
 * @return True once a file that does not loop, or a beep, has ended
 */
bool play_ended(struct play *p)
{
	return p && atomic_load_explicit(&p->ended, memory_order_acquire);
}


/**
 * @param p Player
 *
 * @return Its file's path or its tone's name
 */
const char *play_name(const struct play *p)
{
	return p ? p->name : NULL;
}


/**
 * @param p Player
 *
 * @return True if it plays a tone (else a file)
 */
bool play_is_tone(const struct play *p)
{
	return p && p->tone;
}
