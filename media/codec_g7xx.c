/**
 * @file codec_g7xx.c  PCMU, PCMA and G.722, with SpanDSP's loss concealment
 *
 * All from SpanDSP: its G.711 converters are the ITU-T G.711 tables in
 * code (and take -32768, which rem's table lookup cannot negate), its
 * G.722 codec runs at 64 kbit/s with 16 kHz audio.
 *
 * Loss: plc_rx keeps the tail of every decoded frame, plc_fillin
 * repeats its last pitch period, fading to silence within 60 ms (at
 * 16 kHz, 30 ms), and plc_rx blends the next good frame in. SpanDSP's
 * pitch search is sized for 8 kHz (66 to 200 Hz); at G.722's 16 kHz
 * it looks for 133 to 400 Hz, so a lower voice is repeated with a
 * wrong period: rougher, still better than silence for a frame or two.
 */
#include <limits.h>
#include <string.h>
#include <re.h>
#include <spandsp.h>
#include "codec.h"


/** G.711 or G.722 state of one leg */
struct codec_g7xx {
	enum codec_id id;         /**< PCMU, PCMA or G722             */
	g722_encode_state_t *enc; /**< G.722 encoder                  */
	g722_decode_state_t *dec; /**< G.722 decoder                  */
	plc_state_t plc;          /**< Concealment of the decoded     */
};


static void destructor(void *arg)
{
	struct codec_g7xx *g = arg;

	if (g->enc)
		g722_encode_free(g->enc);
	if (g->dec)
		g722_decode_free(g->dec);
}


/**
 * Make the state of a G.711 or G.722 codec
 *
 * @param gp Returned state
 * @param id CODEC_PCMU, CODEC_PCMA or CODEC_G722
 *
 * @return 0 if success, otherwise errorcode
 */
int codec_g7xx_alloc(struct codec_g7xx **gp, enum codec_id id)
{
	struct codec_g7xx *g;
	int err = 0;

	if (!gp || (id != CODEC_PCMU && id != CODEC_PCMA && id != CODEC_G722))
		return EINVAL;

	g = mem_zalloc(sizeof(*g), destructor);
	if (!g)
		return ENOMEM;

	g->id = id;
	(void)plc_init(&g->plc);

	if (id == CODEC_G722) {
		g->enc = g722_encode_init(NULL, 64000, 0);
		g->dec = g722_decode_init(NULL, 64000, 0);
		if (!g->enc || !g->dec)
			err = ENOMEM;
	}

	if (err)
		mem_deref(g);
	else
		*gp = g;

	return err;
}


/**
 * Encode one frame
 *
 * @param g   State
 * @param buf Payload out
 * @param len Its capacity in, the payload's length out
 * @param pcm Samples (8 kHz, G.722 16 kHz)
 * @param n   Number of them; G.722: even
 *
 * @return 0 if success, EINVAL for an odd G.722 frame, ENOBUFS if buf
 *         is too small
 */
int codec_g7xx_encode(struct codec_g7xx *g, uint8_t *buf, size_t *len,
		      const int16_t *pcm, size_t n)
{
	size_t i;

	switch (g->id) {

	case CODEC_G722:
		/* two samples a byte: an odd one would be read past n */
		if (n % 2 || n > INT_MAX)
			return EINVAL;
		if (*len < n / 2)
			return ENOBUFS;
		*len = (size_t)g722_encode(g->enc, buf, pcm, (int)n);
		return 0;

	case CODEC_PCMA:
		if (*len < n)
			return ENOBUFS;
		for (i = 0; i < n; i++)
			buf[i] = linear_to_alaw(pcm[i]);
		*len = n;
		return 0;

	default:
		if (*len < n)
			return ENOBUFS;
		for (i = 0; i < n; i++)
			buf[i] = linear_to_ulaw(pcm[i]);
		*len = n;
		return 0;
	}
}


/**
 * Decode one payload; its audio is kept for concealment
 *
 * @param g   State
 * @param pcm Samples out
 * @param n   Capacity in, samples decoded out
 * @param buf Payload (any bytes are valid)
 * @param len Its length, not 0
 *
 * @return 0 if success, ENOBUFS if pcm is too small
 */
int codec_g7xx_decode(struct codec_g7xx *g, int16_t *pcm, size_t *n,
		      const uint8_t *buf, size_t len)
{
	size_t i, samples = g->id == CODEC_G722 ? 2 * len : len;

	if (samples > *n || samples > INT_MAX)
		return ENOBUFS;

	switch (g->id) {

	case CODEC_G722:
		samples = (size_t)g722_decode(g->dec, pcm, buf, (int)len);
		break;

	case CODEC_PCMA:
		for (i = 0; i < len; i++)
			pcm[i] = alaw_to_linear(buf[i]);
		break;

	default:
		for (i = 0; i < len; i++)
			pcm[i] = ulaw_to_linear(buf[i]);
		break;
	}

	(void)plc_rx(&g->plc, pcm, (int)samples);
	*n = samples;

	return 0;
}


/*
 * SpanDSP 0.0.6 puts its history ring in order at the first lost frame
 * with a memcpy between overlapping halves (undefined; ASan stops on
 * it). Do the same rotation first, through a copy: it then finds
 * nothing to do.
 */
static void history_unroll(plc_state_t *plc)
{
	int16_t tmp[PLC_HISTORY_LEN];
	const size_t head = (size_t)plc->buf_ptr;

	if (plc->missing_samples || !head || head >= PLC_HISTORY_LEN)
		return;

	memcpy(tmp, &plc->history[head],
	       (PLC_HISTORY_LEN - head) * sizeof(*tmp));
	memcpy(&tmp[PLC_HISTORY_LEN - head], plc->history,
	       head * sizeof(*tmp));
	memcpy(plc->history, tmp, sizeof(tmp));
	plc->buf_ptr = 0;
}


/**
 * Make up a lost frame from the audio decoded before it
 *
 * @param g   State
 * @param pcm Samples out
 * @param n   Number of them
 *
 * @return 0 if success, EINVAL if n is too large
 */
int codec_g7xx_conceal(struct codec_g7xx *g, int16_t *pcm, size_t n)
{
	if (n > INT_MAX)
		return EINVAL;

	history_unroll(&g->plc);
	(void)plc_fillin(&g->plc, pcm, (int)n);

	return 0;
}
