/**
 * @file jitter.c  Jitter buffer of the transcode path
 *
 * Packets are kept by sequence number in a ring of fixed slots (no
 * allocation after jitter_alloc). Playout starts once `target` packets
 * are held. A missing packet is declared lost when the buffer holds a
 * full target behind it, or after it was waited for twice: reordering
 * within the target depth is repaired, loss costs at most two frames
 * of extra delay. Running dry raises the target by one (up to half the
 * slots) and buffers again; a second of holding more than needed drops
 * one packet and lowers it, so the delay follows the network's jitter.
 * A new SSRC or a jump of more than the ring starts afresh.
 */
#include <string.h>
#include <re.h>
#include "rtp.h"
#include "jitter.h"


enum {
	TARGET_MIN  = 2,          /**< Packets before playing         */
	LOST_WAITS  = 2,          /**< Steps a gap is waited for      */
	SHRINK_AFTER = 50,        /**< Steps too deep before shrinking */
};

/** One packet */
struct slot {
	bool used;                /**< Holds a packet                 */
	uint16_t seq;             /**< Its sequence number            */
	size_t len;               /**< Payload length                 */
	uint8_t *data;            /**< Payload (max_payload bytes)    */
};

/** A jitter buffer */
struct jitter {
	struct slot *slotv;       /**< The ring                       */
	uint8_t *mem;             /**< Payload memory                 */
	unsigned slots;           /**< Ring size                      */
	size_t max_payload;       /**< Largest payload kept           */
	bool have_ssrc;           /**< ssrc is set                    */
	uint32_t ssrc;            /**< Source played                  */
	bool have_next;           /**< next is set                    */
	uint16_t next;            /**< Sequence number to play next   */
	bool playing;             /**< Playout started                */
	unsigned waits;           /**< Steps the next one was awaited */
	unsigned deep;            /**< Steps held more than target    */
	struct jitter_stat st;      /**< Counters                       */
};


static void destructor(void *arg)
{
	struct jitter *jb = arg;

	mem_deref(jb->slotv);
	mem_deref(jb->mem);
}


/**
 * Make a jitter buffer
 *
 * @param jitp         Returned buffer
 * @param slots       Packets it can hold (4 .. 256)
 * @param max_payload Largest payload kept (larger ones are refused)
 *
 * @return 0 if success, otherwise errorcode
 */
int jitter_alloc(struct jitter **jitp, unsigned slots, size_t max_payload)
{
	struct jitter *jb;
	unsigned i;

	if (!jitp || slots < 4 || slots > 256 || !max_payload)
		return EINVAL;

	jb = mem_zalloc(sizeof(*jb), destructor);
	if (!jb)
		return ENOMEM;

	jb->slotv = mem_zalloc(slots * sizeof(*jb->slotv), NULL);
	jb->mem = mem_alloc(slots * max_payload, NULL);
	if (!jb->slotv || !jb->mem) {
		mem_deref(jb);
		return ENOMEM;
	}

	for (i = 0; i < slots; i++)
		jb->slotv[i].data = &jb->mem[i * max_payload];

	jb->slots = slots;
	jb->max_payload = max_payload;
	jb->st.target = TARGET_MIN;
	*jitp = jb;

	return 0;
}


static void flush(struct jitter *jb)
{
	unsigned i;

	for (i = 0; i < jb->slots; i++)
		jb->slotv[i].used = false;

	jb->st.depth = 0;
	jb->have_next = false;
	jb->playing = false;
	jb->waits = 0;
	jb->deep = 0;
}


/**
 * Store a received packet
 *
 * @param jb Jitter buffer
 * @param h  Its header and payload
 *
 * @return 0 if stored; EALREADY if late or a duplicate, EMSGSIZE if
 *         the payload is too large
 */
int jitter_put(struct jitter *jb, const struct rtp_hdr *h)
{
	struct slot *s;
	int16_t d;

	if (!jb || !h)
		return EINVAL;

	if (h->plen > jb->max_payload)
		return EMSGSIZE;

	if (!jb->have_ssrc || h->ssrc != jb->ssrc) {
		flush(jb);
		jb->have_ssrc = true;
		jb->ssrc = h->ssrc;
	}

	if (jb->have_next) {
		d = (int16_t)(h->seq - jb->next);
		if (d < 0 && jb->playing) {
			++jb->st.late;
			return EALREADY;
		}
		if (d >= (int)jb->slots || d <= -(int)jb->slots)
			flush(jb);
		else if (d < 0)
			jb->next = h->seq;
	}

	if (!jb->have_next) {
		jb->have_next = true;
		jb->next = h->seq;
	}

	s = &jb->slotv[h->seq % jb->slots];
	if (s->used) {
		++jb->st.dup;
		return EALREADY;
	}

	s->used = true;
	s->seq = h->seq;
	s->len = h->plen;
	memcpy(s->data, h->payload, h->plen);
	++jb->st.depth;
	++jb->st.put;

	if (!jb->playing && jb->st.depth >= jb->st.target)
		jb->playing = true;

	return 0;
}


static struct slot *next_slot(const struct jitter *jb)
{
	struct slot *s = &jb->slotv[jb->next % jb->slots];

	return s->used && s->seq == jb->next ? s : NULL;
}


/* held too deep for a second: drop the oldest, aim lower */
static void shrink(struct jitter *jb)
{
	struct slot *s;

	if (jb->st.depth <= jb->st.target + 1) {
		jb->deep = 0;
		return;
	}

	if (++jb->deep < SHRINK_AFTER)
		return;

	jb->deep = 0;
	s = next_slot(jb);
	if (!s)
		return;

	s->used = false;
	--jb->st.depth;
	++jb->next;
	++jb->st.dropped;
	if (jb->st.target > TARGET_MIN)
		--jb->st.target;
}


/**
 * Take the next packet out for playing (once per frame)
 *
 * @param jb  Jitter buffer
 * @param out Payload out
 * @param len Its capacity in, the payload's length out
 *
 * @return JITTER_OK with the payload, JITTER_LOST if it is missing (conceal
 *         a frame), JITTER_EMPTY if there is nothing to play
 */
enum jitter_res jitter_get(struct jitter *jb, uint8_t *out, size_t *len)
{
	struct slot *s;

	if (!jb || !out || !len || !jb->playing)
		return JITTER_EMPTY;

	shrink(jb);

	s = next_slot(jb);
	if (s) {
		if (s->len > *len)
			return JITTER_EMPTY;
		memcpy(out, s->data, s->len);
		*len = s->len;
		s->used = false;
		--jb->st.depth;
		++jb->next;
		++jb->st.played;
		jb->waits = 0;
		return JITTER_OK;
	}

	if (!jb->st.depth) {
		/* dry: wait for more, and keep more from now on */
		++jb->st.underruns;
		jb->playing = false;
		if (jb->st.target < jb->slots / 2)
			++jb->st.target;
		return JITTER_EMPTY;
	}

	if (jb->st.depth < jb->st.target && ++jb->waits <= LOST_WAITS)
		return JITTER_EMPTY;

	jb->waits = 0;
	++jb->next;
	++jb->st.lost;

	return JITTER_LOST;
}


/**
 * The packet to be played next, if it is here (after JITTER_LOST: the one
 * following the lost frame, whose Opus FEC can rebuild it)
 *
 * @param jb      Jitter buffer
 * @param payload Its payload
 * @param len     Its length
 *
 * @return True if it is here
 */
bool jitter_peek_next(const struct jitter *jb, const uint8_t **payload,
		    size_t *len)
{
	const struct slot *s;

	if (!jb || !payload || !len || !jb->have_next)
		return false;

	s = next_slot(jb);
	if (!s)
		return false;

	*payload = s->data;
	*len = s->len;

	return true;
}


/**
 * Read the counters
 *
 * @param jb Jitter buffer
 * @param st Counters out
 */
void jitter_stats(const struct jitter *jb, struct jitter_stat *st)
{
	if (jb && st)
		*st = jb->st;
}
