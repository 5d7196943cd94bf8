/**
 * @file jitter.h  Jitter buffer of the transcode path
 */
#ifndef MEDIA_JITTER_H
#define MEDIA_JITTER_H

struct rtp_hdr;

/** What a playout step got */
enum jitter_res {
	JITTER_OK,                  /**< The next packet, in order      */
	JITTER_LOST,                /**< It is missing: conceal it      */
	JITTER_EMPTY,               /**< Nothing to play (yet)          */
};

/** Counters */
struct jitter_stat {
	uint64_t put;             /**< Packets stored                 */
	uint64_t played;          /**< Packets played out             */
	uint64_t lost;            /**< Frames concealed               */
	uint64_t late;            /**< Arrived after their turn       */
	uint64_t dup;             /**< Arrived twice                  */
	uint64_t dropped;         /**< Dropped to shrink the delay    */
	uint64_t underruns;       /**< Ran dry while playing          */
	unsigned depth;           /**< Packets held now               */
	unsigned target;          /**< Packets held before playing    */
};

struct jitter;

int  jitter_alloc(struct jitter **jitp, unsigned slots, size_t max_payload);
int  jitter_put(struct jitter *jb, const struct rtp_hdr *h);
enum jitter_res jitter_get(struct jitter *jb, uint8_t *out, size_t *len);
bool jitter_peek_next(const struct jitter *jb, const uint8_t **payload,
		    size_t *len);
void jitter_stats(const struct jitter *jb, struct jitter_stat *st);

#endif
