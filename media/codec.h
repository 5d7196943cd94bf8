/**
 * @file codec.h  Audio codecs of the transcode path
 *
 * A struct codec holds the encoder and the decoder of one leg's codec
 * at one PCM rate, mono. It is made on the control thread (codec_alloc)
 * and then used by one packet thread at a time: the per-frame functions
 * (encode, decode, conceal, samples, ts_step) never allocate.
 */
#ifndef MEDIA_CODEC_H
#define MEDIA_CODEC_H

/** The codecs the relay can decode and encode */
enum codec_id {
	CODEC_PCMU,
	CODEC_PCMA,
	CODEC_G722,
	CODEC_OPUS,
	CODEC_COUNT
};

/** A codec as SDP names it */
struct codec_info {
	enum codec_id id;         /**< Identifier                     */
	const char *name;         /**< rtpmap encoding name           */
	uint8_t pt;               /**< Static, or our dynamic, type   */
	uint32_t clock;           /**< rtpmap clock rate              */
	uint8_t channels;         /**< rtpmap channels                */
	uint32_t srate;           /**< Native PCM rate                */
	const char *fmtp;         /**< a=fmtp we offer, or NULL       */
};

struct codec;

const struct codec_info *codec_info(enum codec_id id);
const struct codec_info *codec_find(const struct pl *name, uint32_t clock);
const struct codec_info *codec_find_pt(uint8_t pt);
int  codec_alloc(struct codec **cp, enum codec_id id, uint32_t srate,
		 const struct pl *fmtp);
uint32_t codec_srate(const struct codec *c);
int  codec_encode(struct codec *c, uint8_t *buf, size_t *len,
		  const int16_t *pcm, size_t n);
int  codec_decode(struct codec *c, int16_t *pcm, size_t *n,
		  const uint8_t *buf, size_t len);
int  codec_conceal(struct codec *c, int16_t *pcm, size_t n,
		   const uint8_t *next, size_t next_len);
size_t   codec_samples(const struct codec *c, const uint8_t *buf,
		       size_t len);
uint32_t codec_ts_step(const struct codec *c, size_t n);


/*
 * The codec families behind struct codec, for codec.c only.
 * codec_g7xx.c: PCMU, PCMA and G.722 with SpanDSP's PLC;
 * codec_opus.c: libopus.
 */

struct codec_g7xx;

int  codec_g7xx_alloc(struct codec_g7xx **gp, enum codec_id id);
int  codec_g7xx_encode(struct codec_g7xx *g, uint8_t *buf, size_t *len,
		       const int16_t *pcm, size_t n);
int  codec_g7xx_decode(struct codec_g7xx *g, int16_t *pcm, size_t *n,
		       const uint8_t *buf, size_t len);
int  codec_g7xx_conceal(struct codec_g7xx *g, int16_t *pcm, size_t n);

struct codec_opus;

int  codec_opus_alloc(struct codec_opus **op, uint32_t srate,
		      const struct pl *fmtp);
int  codec_opus_encode(struct codec_opus *o, uint8_t *buf, size_t *len,
		       const int16_t *pcm, size_t n);
int  codec_opus_decode(struct codec_opus *o, int16_t *pcm, size_t *n,
		       const uint8_t *buf, size_t len);
int  codec_opus_conceal(struct codec_opus *o, int16_t *pcm, size_t n,
			const uint8_t *next, size_t next_len);
size_t codec_opus_samples(const struct codec_opus *o, const uint8_t *buf,
			  size_t len);

#endif
