/**
 * @file codec.c  The codec table, and one interface over its codecs
 *
 * PCMU, PCMA and G.722 live in codec_g7xx.c, Opus in codec_opus.c; a
 * struct codec holds one of them and the rate it runs at.
 *
 * The RTP clock is not always the PCM rate: G.722's rtpmap says 8000
 * for its 16 kHz audio (an error kept for compatibility, RFC 3551
 * section 4.5.2), and Opus always counts 48000 a second whatever rate
 * it runs at (RFC 7587 section 4.1).
 */
#include <re.h>
#include "codec.h"


/*
 * Opus: we can use in-band FEC when we decode (useinbandfec=1). Mono
 * and variable bitrate are the defaults (RFC 7587 section 6.1), so
 * they are not spelled out. minptime, which some offer, is not an
 * RFC 7587 parameter.
 */
static const struct codec_info infov[CODEC_COUNT] = {
	{CODEC_PCMU, "PCMU",   0,  8000, 1,  8000, NULL},
	{CODEC_PCMA, "PCMA",   8,  8000, 1,  8000, NULL},
	{CODEC_G722, "G722",   9,  8000, 1, 16000, NULL},
	{CODEC_OPUS, "opus", 111, 48000, 2, 48000, "useinbandfec=1"},
};

/** Encoder and decoder of one leg's codec */
struct codec {
	const struct codec_info *info; /**< Which codec               */
	uint32_t srate;           /**< PCM rate                       */
	struct codec_g7xx *g7xx;  /**< PCMU, PCMA, G.722              */
	struct codec_opus *opus;  /**< Opus                           */
};


static void destructor(void *arg)
{
	struct codec *c = arg;

	mem_deref(c->g7xx);
	mem_deref(c->opus);
}


/**
 * A codec's description
 *
 * @param id Codec
 *
 * @return The description, NULL if id is out of range
 */
const struct codec_info *codec_info(enum codec_id id)
{
	if ((unsigned)id >= CODEC_COUNT)
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

	if (!pl_isset(name))
		return NULL;

	for (i = 0; i < ARRAY_SIZE(infov); i++) {
		if (infov[i].clock == clock &&
		    !pl_strcasecmp(name, infov[i].name))
			return &infov[i];
	}

	return NULL;
}


/**
 * The codec a static payload type stands for (a format with no rtpmap)
 *
 * @param pt Payload type
 *
 * @return The description, NULL for a dynamic type or one not ours
 */
const struct codec_info *codec_find_pt(uint8_t pt)
{
	size_t i;

	/* 96-127 mean nothing without an rtpmap (RFC 3551 section 6) */
	if (pt >= 96)
		return NULL;

	for (i = 0; i < ARRAY_SIZE(infov); i++) {
		if (infov[i].pt == pt)
			return &infov[i];
	}

	return NULL;
}


/**
 * Make the encoder and decoder of a codec
 *
 * @param cp    Returned codec
 * @param id    Codec
 * @param srate PCM rate on our side: the codec's own; Opus also 8000
 *              or 16000 (the rate of the other leg, so that nothing
 *              is resampled)
 * @param fmtp  The a=fmtp the leg's party gave for it (empty: none,
 *              so RFC 7587's defaults), NULL for no party (then as we
 *              would like to receive it); Opus honours useinbandfec,
 *              maxaveragebitrate, maxplaybackrate and cbr in it
 *
 * @return 0 if success, EINVAL for a bad argument, ENOTSUP for a rate
 *         the codec cannot run at
 */
int codec_alloc(struct codec **cp, enum codec_id id, uint32_t srate,
		const struct pl *fmtp)
{
	const struct codec_info *ci = codec_info(id);
	struct codec *c;
	int err;

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

	if (ci->id == CODEC_OPUS)
		err = codec_opus_alloc(&c->opus, srate, fmtp);
	else
		err = codec_g7xx_alloc(&c->g7xx, ci->id);

	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/**
 * @param c Codec
 *
 * @return Its PCM rate, 0 if c is NULL
 */
uint32_t codec_srate(const struct codec *c)
{
	return c ? c->srate : 0;
}


/**
 * Encode one frame (packet thread)
 *
 * @param c   Codec
 * @param buf Payload out
 * @param len Its capacity in, the payload's length out
 * @param pcm Samples at the codec's PCM rate
 * @param n   Number of samples: G.722 an even number, Opus 2.5, 5, 10,
 *            20, 40 or 60 ms
 *
 * @return 0 if success, EINVAL for a bad argument or frame size,
 *         ENOBUFS if buf is too small
 */
int codec_encode(struct codec *c, uint8_t *buf, size_t *len,
		 const int16_t *pcm, size_t n)
{
	if (!c || !buf || !len || !pcm)
		return EINVAL;

	return c->opus ? codec_opus_encode(c->opus, buf, len, pcm, n) :
		codec_g7xx_encode(c->g7xx, buf, len, pcm, n);
}


/**
 * Decode one payload (packet thread)
 *
 * @param c   Codec
 * @param pcm Samples out, at the codec's PCM rate
 * @param n   Capacity in samples in, samples decoded out
 * @param buf Payload
 * @param len Its length
 *
 * @return 0 if success, EBADMSG for a payload that does not decode
 *         (empty, or not Opus), ENOBUFS if pcm is too small for it
 */
int codec_decode(struct codec *c, int16_t *pcm, size_t *n,
		 const uint8_t *buf, size_t len)
{
	if (!c || !pcm || !n || !buf)
		return EINVAL;

	if (!len)
		return EBADMSG;

	return c->opus ? codec_opus_decode(c->opus, pcm, n, buf, len) :
		codec_g7xx_decode(c->g7xx, pcm, n, buf, len);
}


/**
 * Make up a lost frame (packet thread)
 *
 * Opus rebuilds it from the next packet's in-band FEC when that packet
 * is given and carries it (RFC 6716 section 2.1.7), else extrapolates;
 * the others repeat the last pitch period, fading (SpanDSP's PLC).
 *
 * @param c        Codec
 * @param pcm      Samples out
 * @param n        Number of samples lost (Opus: a multiple of 2.5 ms)
 * @param next     The next packet's payload if it is here, or NULL
 * @param next_len Its length
 *
 * @return 0 if success (pcm holds n samples), EINVAL for a bad
 *         argument; on another error pcm holds n samples of silence
 */
int codec_conceal(struct codec *c, int16_t *pcm, size_t n,
		  const uint8_t *next, size_t next_len)
{
	if (!c || !pcm || !n)
		return EINVAL;

	return c->opus ? codec_opus_conceal(c->opus, pcm, n, next, next_len) :
		codec_g7xx_conceal(c->g7xx, pcm, n);
}


/**
 * How many samples a payload decodes to, without decoding it
 *
 * @param c   Codec
 * @param buf Payload
 * @param len Its length
 *
 * @return Samples at the codec's PCM rate, 0 if the payload is invalid
 */
size_t codec_samples(const struct codec *c, const uint8_t *buf, size_t len)
{
	if (!c || !buf || !len)
		return 0;

	switch (c->info->id) {

	case CODEC_OPUS:
		return codec_opus_samples(c->opus, buf, len);

	case CODEC_G722:
		return 2 * len;

	default:
		return len;
	}
}


/**
 * How far the RTP timestamp moves for a number of samples
 *
 * @param c Codec
 * @param n Samples at the codec's PCM rate
 *
 * @return Timestamp increment, 0 if c is NULL
 */
uint32_t codec_ts_step(const struct codec *c, size_t n)
{
	if (!c)
		return 0;

	return (uint32_t)((uint64_t)n * c->info->clock / c->srate);
}
