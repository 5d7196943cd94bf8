/**
 * @file jbuf.c  Jitter buffer of the transcode path
 *
 * Packets wait in a ring of fixed slots, placed by their distance from
 * the next sequence number to play (wrap-safe for any ring size). The
 * payloads go one after another, as they come, into a byte room of
 * their own that wraps around, so a room a few large packets fill
 * holds many small ones (a buffer of 20 ms G.711 holds 160 bytes a
 * packet, one of Opus fewer): a put that would overwrite a payload
 * still held finds no room and the packet is dropped. The ring and the
 * room are one block from jb_alloc, so jb_put and jb_get (packet
 * thread) never allocate.
 *
 * Playout starts when `target` packets are held, or when one has waited
 * as many steps as that many would take. A missing packet is reported
 * lost once a full target is held behind it, or after it was waited for
 * twice (the rest of a run of lost packets then goes at once):
 * reordering within the target is repaired. Before anything is played,
 * an earlier packet moves the start back; after, it is late.
 *
 * Running dry is an underrun, which raises the target by one (up to
 * half the ring), unless the next packet starts a talkspurt (marker
 * bit): then it was a pause in the speech (VAD, DTX), and the buffer
 * simply fills again. The target falls back by one after 500 steps
 * without an underrun (ten seconds of 20 ms frames), and a buffer that
 * stays two packets deeper than its target for 50 steps drops one, so
 * the delay follows the network.
 * A new SSRC, or a sequence number too far from the expected one,
 * starts afresh (a new SSRC also with the initial target).
 */
#include <string.h>
#include <re.h>
#include "rtp.h"
#include "jbuf.h"


enum {
	TARGET_MIN   = 2,         /**< Packets before playing         */
	LOST_WAITS   = 2,         /**< Steps a gap is waited for      */
	SHRINK_AFTER = 50,        /**< Steps too deep before a drop   */
	DECAY_AFTER  = 500,       /**< Steps without underrun before
				       the target falls               */
	MAX_MISORDER = 100,       /**< Further back: a new sequence   */
};

/** One packet */
struct slot {
	bool used;                /**< Holds a packet                 */
	bool marker;              /**< Its marker bit                 */
	uint8_t pt;               /**< Payload type                   */
	uint16_t seq;             /**< Sequence number                */
	uint16_t len;             /**< Payload length                 */
	uint16_t off;             /**< Payload offset in the room     */
	uint32_t ts;              /**< Timestamp                      */
};

/** A jitter buffer: the ring, then the payloads' room, in one block */
struct jb {
	unsigned slots;           /**< Ring size                      */
	size_t room;              /**< Bytes of payload it holds      */
	size_t wpos;              /**< Where the next payload goes    */
	uint8_t *mem;             /**< The room, after the ring       */
	bool have;                /**< A source is set:               */
	uint32_t ssrc;            /**< ... that source                */
	uint16_t next;            /**< Sequence number to play next   */
	unsigned head;            /**< Its slot                       */
	uint16_t top;             /**< Highest sequence number held   */
	bool started;             /**< Something was played or lost   */
	bool playing;             /**< Playout running                */
	bool dry;                 /**< Ran dry: the next put tells an
				       underrun from a pause          */
	unsigned waits;           /**< Steps the next one was awaited */
	unsigned buffering;       /**< Steps buffered with one held   */
	unsigned deep;            /**< Steps held too deep            */
	unsigned calm;            /**< Steps since the last underrun  */
	unsigned target_max;      /**< Highest target                 */
	struct jb_stat st;        /**< Counters                       */
	struct slot slotv[];      /**< The ring                       */
};


/**
 * Make a jitter buffer (control thread)
 *
 * @param jbp   Returned buffer
 * @param slots Packets it can hold (4 .. 256)
 * @param room  Bytes of payload it can hold at once, whatever the
 *              packets' sizes (1 .. JB_ROOM_MAX); also the largest
 *              payload it takes
 *
 * @return 0 if success, otherwise errorcode
 */
int jb_alloc(struct jb **jbp, unsigned slots, size_t room)
{
	struct jb *jb;

	if (!jbp || slots < 4 || slots > 256 || !room || room > JB_ROOM_MAX)
		return EINVAL;

	/* nothing in it to release: no destructor */
	jb = mem_zalloc(sizeof(*jb) + slots * sizeof(struct slot) + room,
			NULL);
	if (!jb)
		return ENOMEM;

	jb->slots = slots;
	jb->room = room;
	jb->mem = (uint8_t *)&jb->slotv[slots];
	jb->target_max = slots / 2;
	jb->st.target = TARGET_MIN;
	*jbp = jb;

	return 0;
}


static uint8_t *slot_data(const struct jb *jb, unsigned i)
{
	return &jb->mem[jb->slotv[i].off];
}


/* where a payload of len bytes can go without overwriting one held:
 * after the last one put, else at the start of the room; -1: nowhere */
static int room_find(const struct jb *jb, size_t len)
{
	size_t off = jb->wpos + len <= jb->room ? jb->wpos : 0;
	unsigned i;

	for (i = 0; i < jb->slots && len; i++) {
		const struct slot *s = &jb->slotv[i];

		if (s->used && s->len && off < s->off + s->len &&
		    s->off < off + len)
			return -1;
	}

	return (int)off;
}


/* start again with seq as the next to play */
static void reset(struct jb *jb, uint16_t seq)
{
	unsigned i;

	for (i = 0; i < jb->slots; i++)
		jb->slotv[i].used = false;

	jb->st.depth = 0;
	jb->next = seq;
	jb->top = seq;
	jb->head = 0;
	jb->started = false;
	jb->playing = false;
	jb->dry = false;
	jb->waits = 0;
	jb->buffering = 0;
	jb->deep = 0;
}


/* a packet of the source before anything played: can the start move
 * back to it with all that is held still in the ring? */
static bool fits_before(const struct jb *jb, uint16_t seq)
{
	return !jb->started && (uint16_t)(jb->top - seq) < jb->slots;
}


/**
 * Store a received packet (packet thread)
 *
 * @param jb Jitter buffer
 * @param h  Its header and payload
 *
 * @return 0 if stored; EALREADY if late or a duplicate (counted),
 *         ENOBUFS if the room is full (counted as dropped), EMSGSIZE
 *         if the payload is larger than the whole room
 */
int jb_put(struct jb *jb, const struct rtp_hdr *h)
{
	struct slot *s;
	unsigned i;
	int d, off;

	if (!jb || !h || (!h->payload && h->plen))
		return EINVAL;

	if (h->plen > jb->room)
		return EMSGSIZE;

	if (!jb->have || h->ssrc != jb->ssrc) {
		if (jb->have)
			++jb->st.resets;
		reset(jb, h->seq);
		jb->have = true;
		jb->ssrc = h->ssrc;
		jb->st.target = TARGET_MIN;
	}

	d = (int16_t)(h->seq - jb->next);
	if (d < 0 && fits_before(jb, h->seq)) {
		jb->head = (jb->head + jb->slots - (unsigned)-d % jb->slots)
			% jb->slots;
		jb->next = h->seq;
		d = 0;
	}
	else if (d < 0 && d >= -MAX_MISORDER) {
		++jb->st.late;
		return EALREADY;
	}
	else if (d < 0 || d >= (int)jb->slots) {
		++jb->st.resets;
		reset(jb, h->seq);
		d = 0;
	}

	i = (jb->head + (unsigned)d) % jb->slots;
	s = &jb->slotv[i];
	if (s->used) {
		++jb->st.dup;
		return EALREADY;
	}

	off = room_find(jb, h->plen);
	if (off < 0) {
		++jb->st.dropped;
		return ENOBUFS;
	}

	if (jb->dry) {
		jb->dry = false;
		if (!h->marker) {
			++jb->st.underruns;
			jb->calm = 0;
			if (jb->st.target < jb->target_max)
				++jb->st.target;
		}
	}

	s->used = true;
	s->marker = h->marker;
	s->pt = h->pt;
	s->seq = h->seq;
	s->len = (uint16_t)h->plen;
	s->off = (uint16_t)off;
	s->ts = h->ts;
	if (h->plen)
		memcpy(slot_data(jb, i), h->payload, h->plen);
	jb->wpos = (size_t)off + h->plen;

	if ((int16_t)(h->seq - jb->top) > 0)
		jb->top = h->seq;

	++jb->st.depth;
	++jb->st.put;

	if (!jb->playing && jb->st.depth >= jb->st.target)
		jb->playing = true;

	return 0;
}


/* the next to play is gone (played, lost or dropped) */
static void advance(struct jb *jb)
{
	struct slot *s = &jb->slotv[jb->head];

	if (s->used) {
		s->used = false;
		--jb->st.depth;
	}

	jb->head = (jb->head + 1) % jb->slots;
	++jb->next;
	jb->started = true;
}


/* the header of the next to play, as far as a missing one has one */
static void hdr_out(const struct jb *jb, struct rtp_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->seq = jb->next;
	h->ssrc = jb->ssrc;
}


/* follow the network down: a lower target after a calm spell, and one
 * packet dropped when the buffer stays too deep */
static void adapt(struct jb *jb)
{
	if (++jb->calm >= DECAY_AFTER) {
		jb->calm = 0;
		if (jb->st.target > TARGET_MIN)
			--jb->st.target;
	}

	if (jb->st.depth < jb->st.target + 2) {
		jb->deep = 0;
		return;
	}

	if (++jb->deep < SHRINK_AFTER || !jb->slotv[jb->head].used)
		return;

	jb->deep = 0;
	advance(jb);
	++jb->st.dropped;
}


/**
 * Take the next packet out for playing, once per frame (packet thread)
 *
 * @param jb  Jitter buffer
 * @param out Payload out
 * @param len Its room in (at least the largest payload put), the
 *            payload's length out
 * @param h   Its header out (payload is out), or NULL; after JB_LOST
 *            only seq and ssrc are set, after JB_EMPTY nothing
 *
 * @return JB_OK with the payload; JB_LOST if it is missing (conceal a
 *         frame; a payload too large for out is reported so, too);
 *         JB_EMPTY if there is nothing to play
 */
enum jb_res jb_get(struct jb *jb, uint8_t *out, size_t *len,
		   struct rtp_hdr *h)
{
	const struct slot *s;

	if (!jb || !out || !len)
		return JB_EMPTY;

	if (!jb->playing) {
		if (!jb->st.depth || ++jb->buffering < jb->st.target)
			return JB_EMPTY;
		jb->playing = true;
	}

	adapt(jb);

	s = &jb->slotv[jb->head];
	if (s->used && s->len <= *len) {
		memcpy(out, slot_data(jb, jb->head), s->len);
		*len = s->len;
		if (h) {
			hdr_out(jb, h);
			h->marker = s->marker;
			h->pt = s->pt;
			h->ts = s->ts;
			h->payload = out;
			h->plen = s->len;
		}
		advance(jb);
		jb->waits = 0;
		++jb->st.played;
		return JB_OK;
	}

	if (!jb->st.depth) {
		jb->playing = false;
		jb->dry = true;
		jb->buffering = 0;
		return JB_EMPTY;
	}

	if (!s->used && jb->st.depth < jb->st.target &&
	    ++jb->waits <= LOST_WAITS)
		return JB_EMPTY;

	if (h)
		hdr_out(jb, h);
	advance(jb);
	++jb->st.lost;

	return JB_LOST;
}


/**
 * The packet to be played next, if it is here (after JB_LOST: the one
 * following the lost frame, whose Opus FEC can rebuild it)
 *
 * @param jb      Jitter buffer
 * @param payload Its payload
 * @param len     Its length
 *
 * @return True if it is here
 */
bool jb_peek(const struct jb *jb, const uint8_t **payload, size_t *len)
{
	const struct slot *s;

	if (!jb || !payload || !len)
		return false;

	s = &jb->slotv[jb->head];
	if (!s->used)
		return false;

	*payload = slot_data(jb, jb->head);
	*len = s->len;

	return true;
}


/**
 * Read the counters
 *
 * @param jb Jitter buffer
 * @param st Counters out
 */
void jb_stats(const struct jb *jb, struct jb_stat *st)
{
	if (jb && st)
		*st = jb->st;
}
