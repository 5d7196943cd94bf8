/**
 * @file codec.c  PCMU, PCMA, G.722 and Opus behind one interface
 *
 * G.711 uses rem's tables, G.722 SpanDSP, Opus libopus. Loss is
 * concealed by Opus itself (from the next packet's in-band FEC when it
 * is there, RFC 6716 section 2.1.7); for the others the last good 20 ms
 * are repeated, fading out over five lost frames (SpanDSP 0.0.6's PLC
 * copies overlapping memory with memcpy, which the fuzzer caught).
 *
 * Opus runs at the rate of the other leg (a narrowband leg: 8 kHz, no
 * resampling) with complexity 5: the cost ceiling is 150
 * transcoded calls per core.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include <rem_g711.h>
#include <opus/opus.h>
#include <spandsp.h>
#include "codec.h"

#define DEBUG_MODULE "codec"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	OPUS_COMPLEXITY = 5,
	OPUS_LOSS_PERC  = 5,      /**< Loss the FEC is sized for, %   */
	OPUS_MAX_FRAME  = 5760,   /**< 120 ms at 48 kHz               */
	HIST_MAX        = 320,    /**< 20 ms at 16 kHz, repeated      */
	FADE_FRAMES     = 5,      /**< Lost frames to silence         */
};

static const struct codec_info infov[CODEC_COUNT] = {
	{CODEC_PCMU, "PCMU",  0,  8000, 1,  8000, NULL},
	{CODEC_PCMA, "PCMA",  8,  8000, 1,  8000, NULL},
	{CODEC_G722, "G722",  9,  8000, 1, 16000, NULL},
	{CODEC_OPUS, "opus", 111, 48000, 2, 48000, "useinbandfec=1"},
};

/** Encoder and decoder of one leg */
struct codec {
	const struct codec_info *info; /**< Which codec               */
	uint32_t srate;           /**< PCM rate                       */
	OpusEncoder *oenc;        /**< Opus                           */
	OpusDecoder *odec;        /**< Opus                           */
	g722_encode_state_t *genc;/**< G.722                          */
	g722_decode_state_t *gdec;/**< G.722                          */
	int16_t hist[HIST_MAX];   /**< Last good audio (not Opus)     */
	size_t hist_n;            /**< Samples in it                  */
	size_t hist_pos;          /**< Where repeating goes on        */
	unsigned lost;            /**< Frames made up in a row        */
};


static void destructor(void *arg)
{
	struct codec *c = arg;

	if (c->oenc)
		opus_encoder_destroy(c->oenc);
	if (c->odec)
		opus_decoder_destroy(c->odec);
	if (c->genc)
		g722_encode_free(c->genc);
	if (c->gdec)
		g722_decode_free(c->gdec);
}


/**
 * A codec's description
 *
 * @param id enum codec_id
 *
 * @return The description, NULL if id is out of range
 */
const struct codec_info *codec_info(int id)
{
	if (id < 0 || id >= CODEC_COUNT)
		return NULL;

	return &infov[id];
}


/**
 * The codec an rtpmap line names
 *
 * @param name  Encoding name (any case)
 * @param clock Clock rate
 *
 * @return The description, NULL if the relay has no such codec
 */
const struct codec_info *codec_find(const struct pl *name, uint32_t clock)
{
	size_t i;

	if (!name)
		return NULL;

	for (i = 0; i < ARRAY_SIZE(infov); i++) {
		if (!pl_strcasecmp(name, infov[i].name) &&
		    infov[i].clock == clock)
			return &infov[i];
	}

	return NULL;
}


static int opus_setup(struct codec *c)
{
	int e;

	c->oenc = opus_encoder_create((opus_int32)c->srate, 1,
				      OPUS_APPLICATION_VOIP, &e);
	if (!c->oenc) {
		DEBUG_WARNING("opus encoder: %s\n", opus_strerror(e));
		return ENOMEM;
	}

	c->odec = opus_decoder_create((opus_int32)c->srate, 1, &e);
	if (!c->odec) {
		DEBUG_WARNING("opus decoder: %s\n", opus_strerror(e));
		return ENOMEM;
	}

	(void)opus_encoder_ctl(c->oenc, OPUS_SET_COMPLEXITY(OPUS_COMPLEXITY));
	(void)opus_encoder_ctl(c->oenc, OPUS_SET_INBAND_FEC(1));
	(void)opus_encoder_ctl(c->oenc,
			       OPUS_SET_PACKET_LOSS_PERC(OPUS_LOSS_PERC));
	(void)opus_encoder_ctl(c->oenc, OPUS_SET_BITRATE(
				       c->srate <= 8000 ? 20000 :
				       c->srate <= 16000 ? 28000 : 32000));

	return 0;
}


/**
 * Make the encoder and decoder of a codec
 *
 * @param cp    Returned codec
 * @param id    enum codec_id
 * @param srate PCM rate: the codec's own; Opus also 8000 or 16000
 *
 * @return 0 if success, ENOTSUP for a rate the codec cannot run at
 */
int codec_alloc(struct codec **cp, int id, uint32_t srate)
{
	const struct codec_info *ci = codec_info(id);
	struct codec *c;
	int err = 0;

	if (!cp || !ci)
		return EINVAL;

	if (ci->id == CODEC_OPUS ? srate != 8000 && srate != 16000 &&
	    srate != 48000 : srate != ci->srate)
		return ENOTSUP;

	c = mem_zalloc(sizeof(*c), destructor);
	if (!c)
		return ENOMEM;

	c->info = ci;
	c->srate = srate;

	switch (ci->id) {

	case CODEC_OPUS:
		err = opus_setup(c);
		break;

	case CODEC_G722:
		c->genc = g722_encode_init(NULL, 64000, 0);
		c->gdec = g722_decode_init(NULL, 64000, 0);
		if (!c->genc || !c->gdec)
			err = ENOMEM;
		break;

	default:
		break;
	}

	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/**
 * @param c Codec
 *
 * @return Its PCM rate
 */
uint32_t codec_srate(const struct codec *c)
{
	return c ? c->srate : 0;
}


/**
 * Encode one frame
 *
 * @param c   Codec
 * @param buf Payload out
 * @param len Its capacity in, the payload's length out
 * @param pcm Samples at the codec's PCM rate
 * @param n   Number of samples (a whole frame)
 *
 * @return 0 if success, otherwise errorcode
 */
int codec_encode(struct codec *c, uint8_t *buf, size_t *len,
		 const int16_t *pcm, size_t n)
{
	size_t i;
	int r;

	if (!c || !buf || !len || !pcm)
		return EINVAL;

	switch (c->info->id) {

	case CODEC_PCMU:
	case CODEC_PCMA:
		if (*len < n)
			return ENOBUFS;
		for (i = 0; i < n; i++) {
			/* rem's tables cannot negate -32768 */
			int16_t s = pcm[i] == INT16_MIN ? -INT16_MAX : pcm[i];

			buf[i] = c->info->id == CODEC_PCMU ?
				g711_pcm2ulaw(s) : g711_pcm2alaw(s);
		}
		*len = n;
		return 0;

	case CODEC_G722:
		if (*len < n / 2)
			return ENOBUFS;
		*len = (size_t)g722_encode(c->genc, buf, pcm, (int)n);
		return 0;

	default:
		r = opus_encode(c->oenc, pcm, (int)n, buf,
				(opus_int32)min(*len, (size_t)INT32_MAX));
		if (r < 0)
			return EBADMSG;
		*len = (size_t)r;
		return 0;
	}
}


/**
 * Decode one payload
 *
 * @param c   Codec
 * @param pcm Samples out, at the codec's PCM rate
 * @param n   Capacity in samples in, samples decoded out
 * @param buf Payload
 * @param len Its length
 *
 * @return 0 if success, EBADMSG for a payload that does not decode
 */
int codec_decode(struct codec *c, int16_t *pcm, size_t *n,
		 const uint8_t *buf, size_t len)
{
	size_t i;
	int r;

	if (!c || !pcm || !n || !buf)
		return EINVAL;

	if (!len)
		return EBADMSG;

	switch (c->info->id) {

	case CODEC_PCMU:
	case CODEC_PCMA:
		len = min(len, *n);
		for (i = 0; i < len; i++)
			pcm[i] = c->info->id == CODEC_PCMU ?
				g711_ulaw2pcm(buf[i]) : g711_alaw2pcm(buf[i]);
		*n = len;
		break;

	case CODEC_G722:
		len = min(len, *n / 2);
		*n = (size_t)g722_decode(c->gdec, pcm, buf, (int)len);
		break;

	default:
		r = opus_decode(c->odec, buf, (opus_int32)len, pcm,
				(int)min(*n, (size_t)OPUS_MAX_FRAME), 0);
		if (r < 0)
			return EBADMSG;
		*n = (size_t)r;
		return 0;
	}

	/* the last 20 ms (or the frame, if shorter) for concealment */
	c->hist_n = min(*n, (size_t)(c->srate / 50));
	memcpy(c->hist, &pcm[*n - c->hist_n], c->hist_n * sizeof(*pcm));
	c->hist_pos = 0;
	c->lost = 0;

	return 0;
}


/* repeat the last good audio, fading out frame by frame */
static void conceal_repeat(struct codec *c, int16_t *pcm, size_t n)
{
	size_t i;

	if (!c->hist_n || c->lost >= FADE_FRAMES) {
		memset(pcm, 0, n * sizeof(*pcm));
		return;
	}

	for (i = 0; i < n; i++) {
		/* from this frame's level down to the next one's */
		int32_t gain = (int32_t)((FADE_FRAMES - c->lost) * n - i);

		pcm[i] = (int16_t)(c->hist[c->hist_pos] * gain /
				   (int32_t)(FADE_FRAMES * n));
		c->hist_pos = (c->hist_pos + 1) % c->hist_n;
	}

	++c->lost;
}


/**
 * Make up a lost frame
 *
 * @param c        Codec
 * @param pcm      Samples out
 * @param n        Number of samples to make
 * @param next     The next packet's payload if it is here (Opus FEC)
 * @param next_len Its length
 *
 * @return 0 if success, otherwise errorcode
 */
int codec_conceal(struct codec *c, int16_t *pcm, size_t n,
		  const uint8_t *next, size_t next_len)
{
	int r;

	if (!c || !pcm)
		return EINVAL;

	if (c->info->id != CODEC_OPUS) {
		conceal_repeat(c, pcm, n);
		return 0;
	}

	n = min(n, (size_t)OPUS_MAX_FRAME);
	r = opus_decode(c->odec, next, next ? (opus_int32)next_len : 0,
			pcm, (int)n, next ? 1 : 0);
	if (r < 0 && next)
		r = opus_decode(c->odec, NULL, 0, pcm, (int)n, 0);
	if (r < 0) {
		memset(pcm, 0, n * sizeof(*pcm));
		return EBADMSG;
	}

	return 0;
}


/**
 * How far the RTP timestamp moves for a number of samples
 *
 * @param c Codec
 * @param n Samples at the codec's PCM rate
 *
 * @return Timestamp increment
 */
uint32_t codec_ts_step(const struct codec *c, size_t n)
{
	if (!c || !c->srate)
		return 0;

	/* G.722's clock says 8000 for its 16 kHz audio (RFC 3551) */
	return (uint32_t)((uint64_t)n * c->info->clock / c->srate);
}
