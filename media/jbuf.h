/**
 * @file jbuf.h  Jitter buffer of the transcode path
 *
 * Its functions are jb_*: libre 1.1.0 already has a struct jbuf and
 * jbuf_alloc/put/get (re_jbuf.h, included by re.h).
 */
#ifndef MEDIA_JBUF_H
#define MEDIA_JBUF_H

struct rtp_hdr;

enum {
	JB_ROOM_MAX = 16384,      /**< Largest room for payloads      */
};

/** What a playout step got */
enum jb_res {
	JB_OK,                    /**< The next packet, in order      */
	JB_LOST,                  /**< It is missing: conceal a frame */
	JB_EMPTY,                 /**< Nothing to play (yet)          */
};

/** Counters */
struct jb_stat {
	uint64_t put;             /**< Packets stored                 */
	uint64_t played;          /**< Packets played out             */
	uint64_t lost;            /**< Frames reported lost           */
	uint64_t late;            /**< Came after their turn, dropped */
	uint64_t dup;             /**< Came twice, dropped            */
	uint64_t dropped;         /**< Dropped to cut the delay, or
				       for want of room               */
	uint64_t underruns;       /**< Ran dry within a talkspurt     */
	uint64_t resets;          /**< New source or sequence jump    */
	unsigned depth;           /**< Packets held now               */
	unsigned target;          /**< Packets held before playing    */
};

struct jb;

int  jb_alloc(struct jb **jbp, unsigned slots, size_t room);
int  jb_put(struct jb *jb, const struct rtp_hdr *h);
enum jb_res jb_get(struct jb *jb, uint8_t *out, size_t *len,
		   struct rtp_hdr *h);
bool jb_peek(const struct jb *jb, const uint8_t **payload, size_t *len);
void jb_stats(const struct jb *jb, struct jb_stat *st);

#endif
