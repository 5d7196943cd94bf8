/**
 * @file codec.h  Audio codecs of the transcode path
 *
 * A struct codec holds the encoder and the decoder of one leg's codec
 * at one PCM rate. It is made on the control thread (codec_alloc) and
 * used by one packet thread: the per-frame functions never allocate.
 */
#ifndef MEDIA_CODEC_H
#define MEDIA_CODEC_H

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

const struct codec_info *codec_info(int id);
const struct codec_info *codec_find(const struct pl *name, uint32_t clock);
int  codec_alloc(struct codec **cp, int id, uint32_t srate);
uint32_t codec_srate(const struct codec *c);
int  codec_encode(struct codec *c, uint8_t *buf, size_t *len,
		  const int16_t *pcm, size_t n);
int  codec_decode(struct codec *c, int16_t *pcm, size_t *n,
		  const uint8_t *buf, size_t len);
int  codec_conceal(struct codec *c, int16_t *pcm, size_t n,
		   const uint8_t *next, size_t next_len);
uint32_t codec_ts_step(const struct codec *c, size_t n);

#endif
