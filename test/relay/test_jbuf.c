/**
 * @file test_jbuf.c  Jitter buffer: order, loss, lateness, adaptation
 */
#include <string.h>
#include <re.h>
#include "../../media/rtp.h"
#include "../../media/jbuf.h"
#include "relaytest.h"


/* a packet whose payload is its sequence number */
static int put(struct jb *jb, uint16_t seq, uint32_t ssrc, bool marker)
{
	uint8_t payload[2] = {(uint8_t)(seq >> 8), (uint8_t)seq};
	struct rtp_hdr h;

	memset(&h, 0, sizeof(h));
	h.marker = marker;
	h.pt = 0;
	h.seq = seq;
	h.ts = (uint32_t)seq * 160;
	h.ssrc = ssrc;
	h.payload = payload;
	h.plen = sizeof(payload);

	return jb_put(jb, &h);
}


/* one playout step: the result, and the sequence number played (or
 * reported lost), checked against the payload */
static enum jb_res get(struct jb *jb, int *seq)
{
	uint8_t out[16];
	size_t len = sizeof(out);
	struct rtp_hdr h;
	enum jb_res r = jb_get(jb, out, &len, &h);

	*seq = -1;
	if (r == JB_OK && len == 2 && h.plen == 2 && h.payload == out &&
	    (out[0] << 8 | out[1]) == h.seq && h.ts == h.seq * 160u)
		*seq = h.seq;
	else if (r == JB_LOST)
		*seq = h.seq;

	return r;
}


static unsigned depth(const struct jb *jb)
{
	struct jb_stat st;

	jb_stats(jb, &st);

	return st.depth;
}


int test_jbuf_order(void)
{
	struct jb *jb = NULL, *jb6 = NULL;
	uint8_t big[65] = {0};
	struct jb_stat st;
	struct rtp_hdr h;
	uint16_t s;
	int seq, err = 0;

	TEST_EQUALS(EINVAL, jb_alloc(&jb, 3, 64));
	TEST_EQUALS(EINVAL, jb_alloc(&jb, 257, 64));
	TEST_EQUALS(EINVAL, jb_alloc(&jb, 16, 0));
	TEST_EQUALS(EINVAL, jb_alloc(&jb, 16, JB_ROOM_MAX + 1));
	TEST_CHECK(jb_alloc(&jb, 16, 64));

	memset(&h, 0, sizeof(h));
	h.payload = big;
	h.plen = sizeof(big);
	TEST_EQUALS(EMSGSIZE, jb_put(jb, &h));

	/* nothing until two are held */
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, 65534, 7, true));
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));

	/* reordered across the wrap, one twice: played in order, once */
	TEST_CHECK(put(jb, 0, 7, false));
	TEST_CHECK(put(jb, 65535, 7, false));
	TEST_CHECK(put(jb, 1, 7, false));
	TEST_EQUALS(EALREADY, put(jb, 1, 7, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(65534, seq);
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(65535, seq);
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(0, seq);
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(1, seq);
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));

	jb_stats(jb, &st);
	TEST_EQUALS(4, st.put);
	TEST_EQUALS(4, st.played);
	TEST_EQUALS(1, st.dup);
	TEST_EQUALS(0, st.lost);
	TEST_EQUALS(0, st.depth);

	/* a payload larger than the room given is not stuck: reported
	 * lost (to conceal), and gone (after running dry above, three
	 * are held before playing) */
	memset(&h, 0, sizeof(h));
	h.ssrc = 7;
	h.seq = 2;
	h.payload = big;
	h.plen = 17;
	TEST_CHECK(jb_put(jb, &h));
	TEST_CHECK(put(jb, 3, 7, false));
	TEST_CHECK(put(jb, 4, 7, false));
	TEST_EQUALS(JB_LOST, get(jb, &seq));
	TEST_EQUALS(2, seq);
	for (s = 3; s <= 4; s++) {
		TEST_EQUALS(JB_OK, get(jb, &seq));
		TEST_EQUALS(s, seq);
	}

	/* before playing, an earlier packet moves the start back */
	TEST_CHECK(put(jb, 500, 8, false));
	TEST_CHECK(put(jb, 498, 8, false));
	TEST_CHECK(put(jb, 499, 8, false));
	for (s = 498; s <= 500; s++) {
		TEST_EQUALS(JB_OK, get(jb, &seq));
		TEST_EQUALS(s, seq);
	}

	/* a ring of 6 (not a power of two) across the wrap: no false
	 * duplicates, all in order */
	TEST_CHECK(jb_alloc(&jb6, 6, 64));
	for (s = 65533; s != 3; s++)
		TEST_CHECK(put(jb6, s, 1, false));
	TEST_EQUALS(6, depth(jb6));
	for (s = 65533; s != 3; s++) {
		TEST_EQUALS(JB_OK, get(jb6, &seq));
		TEST_EQUALS(s, seq);
	}

 out:
	mem_deref(jb);
	mem_deref(jb6);

	return err;
}


/* a packet of seq whose payload is len bytes of its low byte */
static int put_sized(struct jb *jb, uint16_t seq, size_t len)
{
	uint8_t payload[128];
	struct rtp_hdr h;

	if (len > sizeof(payload))
		return EINVAL;

	memset(payload, seq & 0xff, len);
	memset(&h, 0, sizeof(h));
	h.seq = seq;
	h.ssrc = 9;
	h.payload = payload;
	h.plen = len;

	return jb_put(jb, &h);
}


/* the payloads share one room: many small ones, fewer large ones; a
 * packet finding no room is dropped, and the room is used again, round
 * and round, as packets are played */
int test_jbuf_room(void)
{
	struct jb *jb = NULL;
	struct jb_stat st;
	uint8_t out[64];
	struct rtp_hdr h;
	uint16_t s;
	size_t len, i;
	int err = 0;

	TEST_CHECK(jb_alloc(&jb, 16, 100));

	/* twelve of 8 bytes fit where four of 25 do */
	for (s = 0; s < 12; s++)
		TEST_CHECK(put_sized(jb, s, 8));
	jb_stats(jb, &st);
	TEST_EQUALS(12, st.depth);

	for (s = 0; s < 12; s++) {
		len = sizeof(out);
		TEST_EQUALS(JB_OK, jb_get(jb, out, &len, &h));
		TEST_EQUALS(s, h.seq);
		TEST_EQUALS(8, len);
	}

	/* 96 bytes were used: the next goes to the start again */
	for (s = 12; s < 16; s++)
		TEST_CHECK(put_sized(jb, s, 25));
	TEST_EQUALS(ENOBUFS, put_sized(jb, 16, 25));
	jb_stats(jb, &st);
	TEST_EQUALS(4, st.depth);
	TEST_EQUALS(1, st.dropped);

	/* played in turn, each with its own bytes, the room reused
	 * (some 50 rounds of it) */
	for (s = 12; s < 200; s++) {
		len = sizeof(out);
		TEST_EQUALS(JB_OK, jb_get(jb, out, &len, &h));
		TEST_EQUALS(s, h.seq);
		TEST_EQUALS(25, len);
		for (i = 0; i < len; i++)
			TEST_EQUALS(s & 0xff, out[i]);
		/* the one refused goes in now, then one a step behind
		 * (held two deeper than its target, the buffer would
		 * drop one to cut the delay) */
		if (s == 12)
			TEST_CHECK(put_sized(jb, 16, 25));
		else if (s >= 14)
			TEST_CHECK(put_sized(jb, (uint16_t)(s + 3), 25));
	}
	jb_stats(jb, &st);
	TEST_EQUALS(1, st.dropped);

	/* larger than the whole room */
	TEST_EQUALS(EMSGSIZE, put_sized(jb, 300, 101));

 out:
	mem_deref(jb);

	return err;
}


int test_jbuf_loss(void)
{
	const uint8_t *next;
	struct jb *jb = NULL;
	struct jb_stat st;
	uint16_t s;
	size_t len;
	int seq, err = 0;

	TEST_CHECK(jb_alloc(&jb, 16, 64));

	/* 11 is lost: reported once, when enough is held behind it */
	TEST_CHECK(put(jb, 10, 1, false));
	TEST_CHECK(put(jb, 12, 1, false));
	TEST_CHECK(put(jb, 13, 1, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(10, seq);
	TEST_EQUALS(JB_LOST, get(jb, &seq));
	TEST_EQUALS(11, seq);

	/* the one after the gap is there for Opus FEC */
	TEST_ASSERT(jb_peek(jb, &next, &len));
	TEST_EQUALS(2, len);
	TEST_EQUALS(12, next[0] << 8 | next[1]);
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(12, seq);

	/* a gap with too little behind it is waited for: it comes */
	TEST_CHECK(put(jb, 15, 1, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(13, seq);
	TEST_ASSERT(!jb_peek(jb, &next, &len));
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, 14, 1, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(14, seq);

	/* too late: already played; twice: a duplicate */
	TEST_EQUALS(EALREADY, put(jb, 12, 1, false));
	TEST_CHECK(put(jb, 17, 1, false));
	TEST_EQUALS(EALREADY, put(jb, 17, 1, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(15, seq);

	/* 16 goes at once (a target held behind it); 18-20 are waited
	 * for twice, then the whole run goes */
	TEST_CHECK(put(jb, 21, 1, false));
	TEST_EQUALS(JB_LOST, get(jb, &seq));
	TEST_EQUALS(16, seq);
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(17, seq);
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	for (s = 18; s <= 20; s++) {
		TEST_EQUALS(JB_LOST, get(jb, &seq));
		TEST_EQUALS(s, seq);
	}
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(21, seq);

	/* dry; a late packet then must not move playout back */
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_EQUALS(EALREADY, put(jb, 19, 1, false));
	for (s = 22; s <= 24; s++)
		TEST_CHECK(put(jb, s, 1, false));
	for (s = 22; s <= 24; s++) {
		TEST_EQUALS(JB_OK, get(jb, &seq));
		TEST_EQUALS(s, seq);
	}

	jb_stats(jb, &st);
	TEST_EQUALS(5, st.lost);
	TEST_EQUALS(2, st.late);
	TEST_EQUALS(1, st.dup);
	TEST_EQUALS(10, st.played);
	TEST_EQUALS(0, st.depth);

 out:
	mem_deref(jb);

	return err;
}


/* play n steps of a steady stream: one in, one out */
static int steady(struct jb *jb, uint16_t *s, unsigned n, uint32_t ssrc)
{
	int seq, err = 0;

	while (n--) {
		err = put(jb, (*s)++, ssrc, false);
		if (err)
			return err;
		(void)get(jb, &seq);
	}

	return 0;
}


/* play what is held until dry, then one more packet after the pause:
 * a talkspurt start (marker) or not */
static int run_dry(struct jb *jb, uint16_t *s, bool marker)
{
	int seq, n = 0;

	while (get(jb, &seq) != JB_EMPTY || depth(jb))
		if (++n > 32)
			return EINVAL;

	return put(jb, (*s)++, 3, marker);
}


int test_jbuf_adapt(void)
{
	struct jb *jb = NULL;
	struct jb_stat st;
	uint16_t s = 100, first;
	int seq, i, err = 0;

	TEST_CHECK(jb_alloc(&jb, 16, 64));

	/* one packet alone starts after as many steps as two would take */
	TEST_CHECK(put(jb, s++, 3, false));
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(100, seq);

	/* ran dry within a talkspurt: an underrun, three held from now */
	TEST_CHECK(run_dry(jb, &s, false));
	jb_stats(jb, &st);
	TEST_EQUALS(1, st.underruns);
	TEST_EQUALS(3, st.target);
	TEST_CHECK(put(jb, s++, 3, false));
	TEST_EQUALS(JB_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, s++, 3, false));
	TEST_EQUALS(JB_OK, get(jb, &seq));
	TEST_EQUALS(101, seq);

	/* a pause before a talkspurt (marker) is no underrun */
	TEST_CHECK(run_dry(jb, &s, true));
	jb_stats(jb, &st);
	TEST_EQUALS(1, st.underruns);
	TEST_EQUALS(3, st.target);

	/* growth stops at half the ring */
	for (i = 0; i < 10; i++)
		TEST_CHECK(run_dry(jb, &s, false));
	jb_stats(jb, &st);
	TEST_EQUALS(11, st.underruns);
	TEST_EQUALS(8, st.target);

	/* ten calm seconds bring the target down one; held one over it
	 * is no reason to drop */
	TEST_CHECK(steady(jb, &s, 600, 3));
	jb_stats(jb, &st);
	TEST_EQUALS(7, st.target);
	TEST_EQUALS(0, st.dropped);

	/* a new source starts afresh, with the first target */
	TEST_CHECK(put(jb, 40000, 4, false));
	jb_stats(jb, &st);
	TEST_EQUALS(1, st.resets);
	TEST_EQUALS(1, st.depth);
	TEST_EQUALS(2, st.target);

	/* held four deeper than the target for a second: one dropped */
	s = 40001;
	for (i = 0; i < 5; i++)
		TEST_CHECK(put(jb, s++, 4, false));
	first = 40000;
	for (i = 0; i < 60; i++) {
		TEST_CHECK(put(jb, s++, 4, false));
		TEST_EQUALS(JB_OK, get(jb, &seq));
		if (seq != first)
			break;
		++first;
	}
	TEST_EQUALS(49, i);
	TEST_EQUALS(first + 1, seq);
	jb_stats(jb, &st);
	TEST_EQUALS(1, st.dropped);

	/* a jump beyond the ring, or far back, starts afresh */
	TEST_CHECK(put(jb, (uint16_t)(s + 1000), 4, false));
	jb_stats(jb, &st);
	TEST_EQUALS(2, st.resets);
	TEST_EQUALS(1, st.depth);
	TEST_CHECK(put(jb, s, 4, false));
	jb_stats(jb, &st);
	TEST_EQUALS(3, st.resets);
	TEST_EQUALS(1, st.depth);
	TEST_EQUALS(2, st.target);

 out:
	mem_deref(jb);

	return err;
}
