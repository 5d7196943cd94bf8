/**
 * @file codec_opus.c  Opus (RFC 6716, RTP: RFC 7587), mono, any of
 *                     8, 16 and 48 kHz
 *
 * The encoder is tuned for speech over a lossy network: VOIP
 * application, variable bitrate, 5 % loss expected (in-band FEC sized
 * for it, and less prediction across frames, so a loss heals sooner),
 * a bitrate for the rate it runs at, and a complexity for the leg it
 * faces. At 8 kHz (a G.711 party on the other side) complexity 2, the
 * lowest at which libopus 1.3 makes in-band FEC: on narrowband speech
 * a costlier search wins nothing measurable (log-spectral distance to
 * the input the same within 0.1 dB from complexity 0 to 10 at each
 * bitrate) and costs 0.65 of complexity 5 without FEC, 0.75 with it
 * (about 50 and 70 us a frame). What does tell is the bitrate, above
 * all with FEC, which takes a third of it: 24 kbit/s rather than 20
 * (distance 3.9 dB rather than 4.5 with FEC, 2.7 rather than 3.2
 * without). At 16 kHz (G.722) complexity 5, a third of the cost of
 * 10 (112 us); 48 kHz is Opus to Opus, at 10
 * (bench/relay/codeccost.c).
 *
 * What the party said in its a=fmtp about what it receives is
 * honoured: useinbandfec (FEC only if it can use it), maxaveragebitrate
 * (a cap), maxplaybackrate (no wider audio band than it can play) and
 * cbr. We always send mono, which every Opus decoder takes whatever
 * "stereo" says; the decoder mixes a stereo packet down to mono.
 * ptime, maxptime and usedtx are left to the caller (it frames by
 * 20 ms and sends every frame).
 */
#include <string.h>
#include <re.h>
#include <opus/opus.h>
#include "codec.h"

#define DEBUG_MODULE "codec"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	LOSS_PERC       = 5,      /**< Loss the FEC is sized for, %   */
	BITRATE_MIN     = 6000,   /**< RFC 7587's maxaveragebitrate floor */
	FRAME_MAX_MS    = 120,    /**< Longest packet a decoder meets */
	PAYLOAD_MAX     = 1275,   /**< Largest one-frame packet       */
};

/** How the encoder runs at one rate */
static const struct rate_cfg {
	uint32_t srate;           /**< PCM rate                       */
	int bitrate;              /**< Target, bit/s                  */
	int complexity;           /**< 0 .. 10                        */
} ratev[] = {
	{ 8000, 24000,  2},
	{16000, 24000,  5},
	{48000, 32000, 10},
};

/** Opus state of one leg */
struct codec_opus {
	uint32_t srate;           /**< PCM rate                       */
	OpusEncoder *enc;         /**< Encoder                        */
	OpusDecoder *dec;         /**< Decoder                        */
};

/** What the party asked for in its a=fmtp */
struct remote_prm {
	bool fec;                 /**< useinbandfec=1                 */
	bool cbr;                 /**< cbr=1                          */
	uint32_t maxbitrate;      /**< maxaveragebitrate, 0: none     */
	uint32_t maxplayback;     /**< maxplaybackrate, 0: none       */
};


static void destructor(void *arg)
{
	struct codec_opus *o = arg;

	if (o->enc)
		opus_encoder_destroy(o->enc);
	if (o->dec)
		opus_decoder_destroy(o->dec);
}


static int error_code(int r)
{
	switch (r) {

	case OPUS_BAD_ARG:          return EINVAL;
	case OPUS_BUFFER_TOO_SMALL: return ENOBUFS;
	case OPUS_INVALID_PACKET:   return EBADMSG;
	case OPUS_ALLOC_FAIL:       return ENOMEM;
	default:                    return EPROTO;
	}
}


static void prm_handler(const struct pl *name, const struct pl *val,
			void *arg)
{
	struct remote_prm *prm = arg;

	if (!pl_strcasecmp(name, "useinbandfec"))
		prm->fec = pl_u32(val) == 1;
	else if (!pl_strcasecmp(name, "cbr"))
		prm->cbr = pl_u32(val) == 1;
	else if (!pl_strcasecmp(name, "maxaveragebitrate"))
		prm->maxbitrate = pl_u32(val);
	else if (!pl_strcasecmp(name, "maxplaybackrate"))
		prm->maxplayback = pl_u32(val);
}


static int bandwidth(uint32_t maxplayback)
{
	if (maxplayback <= 8000)
		return OPUS_BANDWIDTH_NARROWBAND;
	if (maxplayback <= 12000)
		return OPUS_BANDWIDTH_MEDIUMBAND;
	if (maxplayback <= 16000)
		return OPUS_BANDWIDTH_WIDEBAND;
	if (maxplayback <= 24000)
		return OPUS_BANDWIDTH_SUPERWIDEBAND;

	return OPUS_BANDWIDTH_FULLBAND;
}


static int encoder_setup(struct codec_opus *o, const struct rate_cfg *rc,
			 const struct pl *fmtp)
{
	/* no party: as we would like to receive it */
	struct remote_prm prm = {true, false, 0, 0};
	int bitrate = rc->bitrate;
	int e = OPUS_OK;

	if (fmtp) {
		prm.fec = false;   /* RFC 7587's default */
		fmt_param_apply(fmtp, prm_handler, &prm);
	}

	if (prm.maxbitrate)
		bitrate = (int)min(max(prm.maxbitrate, (uint32_t)BITRATE_MIN),
				   (uint32_t)bitrate);

	e |= opus_encoder_ctl(o->enc, OPUS_SET_BITRATE(bitrate));
	e |= opus_encoder_ctl(o->enc, OPUS_SET_COMPLEXITY(rc->complexity));
	e |= opus_encoder_ctl(o->enc, OPUS_SET_VBR(prm.cbr ? 0 : 1));
	e |= opus_encoder_ctl(o->enc, OPUS_SET_INBAND_FEC(prm.fec ? 1 : 0));
	e |= opus_encoder_ctl(o->enc, OPUS_SET_PACKET_LOSS_PERC(LOSS_PERC));
	if (prm.maxplayback)
		e |= opus_encoder_ctl(o->enc, OPUS_SET_MAX_BANDWIDTH(
					      bandwidth(prm.maxplayback)));

	/* every ctl returns OPUS_OK (0) or a negative code */
	if (e != OPUS_OK) {
		DEBUG_WARNING("opus encoder: settings refused\n");
		return EPROTO;
	}

	return 0;
}


/**
 * Make an Opus encoder and decoder
 *
 * @param op    Returned state
 * @param srate PCM rate: 8000, 16000 or 48000
 * @param fmtp  The party's a=fmtp for Opus, NULL if unknown
 *
 * @return 0 if success, otherwise errorcode
 */
int codec_opus_alloc(struct codec_opus **op, uint32_t srate,
		     const struct pl *fmtp)
{
	const struct rate_cfg *rc = NULL;
	struct codec_opus *o;
	size_t i;
	int e, err = 0;

	if (!op)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(ratev); i++) {
		if (ratev[i].srate == srate)
			rc = &ratev[i];
	}

	if (!rc)
		return ENOTSUP;

	o = mem_zalloc(sizeof(*o), destructor);
	if (!o)
		return ENOMEM;

	o->srate = srate;

	o->enc = opus_encoder_create((opus_int32)srate, 1,
				     OPUS_APPLICATION_VOIP, &e);
	if (!o->enc) {
		DEBUG_WARNING("opus encoder: %s\n", opus_strerror(e));
		err = error_code(e);
		goto out;
	}

	o->dec = opus_decoder_create((opus_int32)srate, 1, &e);
	if (!o->dec) {
		DEBUG_WARNING("opus decoder: %s\n", opus_strerror(e));
		err = error_code(e);
		goto out;
	}

	err = encoder_setup(o, rc, fmtp);

 out:
	if (err)
		mem_deref(o);
	else
		*op = o;

	return err;
}


/**
 * Encode one frame
 *
 * @param o   State
 * @param buf Payload out
 * @param len Its capacity in, the payload's length out
 * @param pcm Samples
 * @param n   Number of them: 2.5, 5, 10, 20, 40 or 60 ms
 *
 * @return 0 if success, EINVAL for another frame size, ENOBUFS if buf
 *         is too small
 */
int codec_opus_encode(struct codec_opus *o, uint8_t *buf, size_t *len,
		      const int16_t *pcm, size_t n)
{
	int r;

	if (n > o->srate)
		return EINVAL;

	r = opus_encode(o->enc, pcm, (int)n, buf,
			(opus_int32)min(*len, (size_t)PAYLOAD_MAX));
	if (r < 0)
		return error_code(r);

	*len = (size_t)r;

	return 0;
}


/**
 * Decode one payload
 *
 * @param o   State
 * @param pcm Samples out
 * @param n   Capacity in, samples decoded out
 * @param buf Payload
 * @param len Its length, not 0 (0 would mean a lost packet to libopus)
 *
 * @return 0 if success, EBADMSG for a payload that is not Opus,
 *         ENOBUFS if pcm is too small for it
 */
int codec_opus_decode(struct codec_opus *o, int16_t *pcm, size_t *n,
		      const uint8_t *buf, size_t len)
{
	size_t cap = min(*n, (size_t)o->srate * FRAME_MAX_MS / 1000);
	int r;

	if (len > INT32_MAX)
		return EBADMSG;

	r = opus_decode(o->dec, buf, (opus_int32)len, pcm, (int)cap, 0);
	if (r < 0)
		return error_code(r);

	*n = (size_t)r;

	return 0;
}


/**
 * Make up a lost frame: from the FEC in the next packet if given,
 * else by extrapolation
 *
 * @param o        State
 * @param pcm      Samples out
 * @param n        Number of them: a multiple of 2.5 ms, at most 120 ms
 * @param next     The next packet's payload, or NULL
 * @param next_len Its length
 *
 * @return 0 if success, EINVAL for a bad n; on another error pcm holds
 *         n samples of silence
 */
int codec_opus_conceal(struct codec_opus *o, int16_t *pcm, size_t n,
		       const uint8_t *next, size_t next_len)
{
	int r = OPUS_INVALID_PACKET;

	/* libopus must be told exactly how much is missing */
	if (n % (o->srate / 400) || n > o->srate * FRAME_MAX_MS / 1000)
		return EINVAL;

	/* a packet without FEC data is concealed by libopus itself */
	if (next && next_len && next_len <= INT32_MAX)
		r = opus_decode(o->dec, next, (opus_int32)next_len, pcm,
				(int)n, 1);
	if (r < 0)
		r = opus_decode(o->dec, NULL, 0, pcm, (int)n, 0);
	if (r < 0) {
		memset(pcm, 0, n * sizeof(*pcm));
		return error_code(r);
	}

	return 0;
}


/**
 * How many samples a payload decodes to
 *
 * @param o   State
 * @param buf Payload
 * @param len Its length
 *
 * @return Samples at the PCM rate, 0 if the payload is not Opus
 */
size_t codec_opus_samples(const struct codec_opus *o, const uint8_t *buf,
			  size_t len)
{
	int r;

	if (len > INT32_MAX)
		return 0;

	r = opus_packet_get_nb_samples(buf, (opus_int32)len,
				       (opus_int32)o->srate);

	return r > 0 ? (size_t)r : 0;
}
