/**
 * @file play.c  Players: a WAV file or a tone, encoded in a leg's codec
 *               as the relay's own RTP stream, or as PCM into a mixer
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
 *
 * Mixers use the two halves apart: a player into a mixer has no codec
 * and gives its 20 ms as PCM at the mixer's rate (play_pcm); a member
 * of a mixer hears the mix through a player without a source, which
 * encodes the PCM it is given each tick (play_stream, play_encode).
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

/** A source played to a leg's party or into a mixer */
struct play {
	struct wav_player *wav;   /**< The file, or NULL              */
	struct tone *tone;        /**< The tone, or NULL              */
	char *name;               /**< File path or tone name, NULL:
				       a stream                       */
	uint32_t src_rate;        /**< The source's rate              */
	uint32_t rate;            /**< The rate it makes              */
	struct resamp *rs;        /**< Source to that rate, or NULL   */
	struct codec *enc;        /**< The leg's codec (own instance),
				       NULL: PCM into a mixer         */
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


/* the encoder (none for PCM out: lc NULL), and a resampler if the
 * rates differ */
static int play_alloc(struct play **pp, const struct legcodec *lc,
		      uint32_t src_rate, uint32_t rate)
{
	struct play *p;
	struct pl fmtp = PL_INIT;
	int err = 0;

	p = mem_zalloc(sizeof(*p), destructor);
	if (!p)
		return ENOMEM;

	if (lc) {
		pl_set_str(&fmtp, lc->fmtp);
		err = codec_alloc(&p->enc, lc->codec, rate,
				  &fmtp);
		p->pt = lc->pt;
	}
	if (!err && src_rate != rate)
		err = resamp_alloc(&p->rs, src_rate, rate);
	if (err)
		goto out;

	p->src_rate = src_rate;
	p->rate = rate;
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


/* the rates PCM is mixed at: those the resampler takes */
static bool rate_ok(uint32_t rate)
{
	return rate == 8000 || rate == 16000 || rate == 48000;
}


/* a file, into a codec (lc), or as PCM at rate (lc NULL) */
static int file_player(struct play **pp, const struct legcodec *lc,
		       uint32_t rate, const char *file, bool loop)
{
	struct wav_player *wav = NULL;
	struct play *p = NULL;
	uint32_t srate;
	int err;

	err = wav_player_alloc(&wav, file, loop);
	if (err)
		return err;

	srate = wav_player_srate(wav);
	err = play_alloc(&p, lc, srate,
			 lc ? codec_rate(lc->codec, srate) : rate);
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
	if (!pp || !codec_ok(lc) || !str_isset(file))
		return EINVAL;

	return file_player(pp, lc, 0, file, loop);
}


/**
 * Make a player of a WAV file into a mixer: PCM, no codec (control
 * thread)
 *
 * @param pp   Returned player
 * @param rate The mixer's rate: 8000, 16000 or 48000
 * @param file WAV file, as for play_file
 * @param loop Start again after its end
 *
 * @return 0 if success, otherwise errorcode, as for play_file
 */
int play_file_pcm(struct play **pp, uint32_t rate, const char *file,
		  bool loop)
{
	if (!pp || !rate_ok(rate) || !str_isset(file))
		return EINVAL;

	return file_player(pp, NULL, rate, file, loop);
}


/* a tone made at the rate it is played at: never resampled */
static int tone_player(struct play **pp, const struct legcodec *lc,
		       uint32_t rate, const char *set, enum tone_kind kind)
{
	struct play *p = NULL;
	int err;

	err = play_alloc(&p, lc, rate, rate);
	err = err ? err : tone_alloc(&p->tone, set, kind, rate);
	err = err ? err : str_dup(&p->name, tone_name(kind));

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
	if (!pp || !codec_ok(lc) || !set)
		return EINVAL;

	return tone_player(pp, lc, codec_rate(lc->codec,
					      codec_info(lc->codec)->srate),
			   set, kind);
}


/**
 * Make a player of a tone into a mixer: PCM, no codec (control thread)
 *
 * @param pp   Returned player
 * @param rate The mixer's rate: 8000, 16000 or 48000
 * @param set  Tone set, as for play_tone
 * @param kind Which tone
 *
 * @return 0 if success, otherwise errorcode, as for play_tone
 */
int play_tone_pcm(struct play **pp, uint32_t rate, const char *set,
		  enum tone_kind kind)
{
	if (!pp || !rate_ok(rate) || !set)
		return EINVAL;

	return tone_player(pp, NULL, rate, set, kind);
}


/**
 * Make a player without a source, that encodes the PCM it is given:
 * what a member of a mixer hears, as the relay's own RTP stream in its
 * codec (control thread)
 *
 * @param pp   Returned player
 * @param lc   The leg's codec
 * @param rate The rate of the PCM it is given: 8000, 16000 or 48000
 *
 * @return 0 if success, otherwise errorcode
 */
int play_stream(struct play **pp, const struct legcodec *lc, uint32_t rate)
{
	if (!pp || !codec_ok(lc) || !rate_ok(rate))
		return EINVAL;

	return play_alloc(pp, lc, rate, codec_rate(lc->codec, rate));
}


/* 20 ms of source PCM to the rate the player makes: the PCM (in, or
 * buf with room for *n), and its samples in *n (0: the resampler
 * failed) */
static const int16_t *to_rate(struct play *p, const int16_t *in,
			      size_t in_n, int16_t *buf, size_t *n)
{
	if (!p->rs) {
		*n = in_n;
		return in;
	}

	if (resamp_process(p->rs, buf, n, in, in_n))
		*n = 0;

	return buf;
}


/* the next 20 ms of the source, at its own rate; false once it has
 * ended (then for good) */
static bool source_next(struct play *p, int16_t *pcm)
{
	size_t n = p->src_rate * TICK_MS / 1000;

	if (atomic_load_explicit(&p->ended, memory_order_relaxed))
		return false;

	if (p->wav && !wav_player_eof(p->wav)) {
		(void)wav_player_read(p->wav, pcm, n);
		return true;
	}

	if (p->tone && !tone_over(p->tone)) {
		tone_fill(p->tone, pcm, n);
		return true;
	}

	atomic_store_explicit(&p->ended, true, memory_order_release);

	return false;
}


/* n samples at the codec's rate into the next packet of the stream */
static int encode(struct play *p, const int16_t *pcm, size_t n,
		  uint8_t *pkt, size_t cap, size_t *len)
{
	size_t plen;
	int err;

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
 * Make the next 20 ms packet (packet thread, under the leg's lock)
 *
 * @param p   Player with a codec and a source
 * @param pkt Buffer for the RTP packet
 * @param cap Its size
 * @param len Returned packet length, 0: none this tick
 *
 * @return 0 if success (a packet, or none once ended), otherwise
 *         errorcode (this tick's frame is lost)
 */
int play_tick(struct play *p, uint8_t *pkt, size_t cap, size_t *len)
{
	int16_t src[FRAME_MAX], buf[FRAME_MAX];
	const int16_t *pcm;
	size_t n = FRAME_MAX;

	if (!p || !p->enc || !pkt || !len)
		return EINVAL;

	*len = 0;

	if (!source_next(p, src))
		return 0;

	pcm = to_rate(p, src, p->src_rate * TICK_MS / 1000, buf, &n);

	return encode(p, pcm, n, pkt, cap, len);
}


/**
 * The next 20 ms of a player as PCM at the rate it makes (packet
 * thread, under the lock of what it is on)
 *
 * @param p   Player with a source
 * @param pcm Buffer
 * @param n   Its room in samples in (20 ms at the rate at least),
 *            samples made out (0: none this tick, as once ended)
 *
 * @return 0 if success, otherwise errorcode
 */
int play_pcm(struct play *p, int16_t *pcm, size_t *n)
{
	int16_t src[FRAME_MAX];
	int16_t *in;

	if (!p || !pcm || !n || *n < p->rate * TICK_MS / 1000)
		return EINVAL;

	in = p->rs ? src : pcm;
	if (!source_next(p, in)) {
		*n = 0;
		return 0;
	}

	(void)to_rate(p, in, p->src_rate * TICK_MS / 1000, pcm, n);

	return 0;
}


/**
 * Encode 20 ms of PCM into the next packet of a player's stream
 * (packet thread, under the lock of what it is on)
 *
 * @param p   Player made by play_stream
 * @param pcm 20 ms at the rate it was made for; NULL: this frame is
 *            not sent (the party hears something else): the
 *            timestamps move on, and the next packet starts a
 *            talkspurt (marker bit)
 * @param pkt Buffer for the RTP packet
 * @param cap Its size
 * @param len Returned packet length, 0: none
 *
 * @return 0 if success, otherwise errorcode (this frame is lost)
 */
int play_encode(struct play *p, const int16_t *pcm, uint8_t *pkt,
		size_t cap, size_t *len)
{
	int16_t buf[FRAME_MAX];
	size_t n = FRAME_MAX;
	const int16_t *out;

	if (!p || !p->enc || !pkt || !len)
		return EINVAL;

	*len = 0;

	if (!pcm) {
		p->ts += codec_ts_step(p->enc, p->rate * TICK_MS / 1000);
		p->sent = false;
		return 0;
	}

	out = to_rate(p, pcm, p->src_rate * TICK_MS / 1000, buf, &n);

	return encode(p, out, n, pkt, cap, len);
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
