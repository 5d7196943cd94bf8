/**
 * @file test_jitter.c  Jitter buffer: order, loss, lateness, adaptation
 */
#include <string.h>
#include <re.h>
#include "../../media/rtp.h"
#include "../../media/jitter.h"
#include "relaytest.h"


static int put(struct jitter *jb, uint16_t seq, uint32_t ssrc)
{
	uint8_t payload[2] = {(uint8_t)(seq >> 8), (uint8_t)seq};
	struct rtp_hdr h;

	memset(&h, 0, sizeof(h));
	h.seq = seq;
	h.ts = (uint32_t)seq * 160;
	h.ssrc = ssrc;
	h.payload = payload;
	h.plen = sizeof(payload);

	return jitter_put(jb, &h);
}


/* one playout step: the result, and the sequence number played */
static enum jitter_res get(struct jitter *jb, int *seq)
{
	uint8_t out[16];
	size_t len = sizeof(out);
	enum jitter_res r = jitter_get(jb, out, &len);

	*seq = r == JITTER_OK && len == 2 ? out[0] << 8 | out[1] : -1;

	return r;
}


int test_jitter_order(void)
{
	struct jitter *jb = NULL;
	struct jitter_stat st;
	int seq, i, err = 0;

	TEST_CHECK(jitter_alloc(&jb, 16, 64));

	/* nothing until two are held */
	TEST_EQUALS(JITTER_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, 65534, 7));
	TEST_EQUALS(JITTER_EMPTY, get(jb, &seq));

	/* reordered across the wrap: played in order */
	TEST_CHECK(put(jb, 0, 7));
	TEST_CHECK(put(jb, 65535, 7));
	TEST_CHECK(put(jb, 1, 7));
	TEST_EQUALS(EALREADY, put(jb, 1, 7));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(65534, seq);
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(65535, seq);
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(0, seq);

	/* late: its turn has passed */
	TEST_EQUALS(EALREADY, put(jb, 65535, 7));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(1, seq);

	jitter_stats(jb, &st);
	TEST_EQUALS(1, st.late);
	TEST_EQUALS(1, st.dup);
	TEST_EQUALS(4, st.played);

	/* a new source starts afresh */
	for (i = 500; i < 503; i++)
		TEST_CHECK(put(jb, (uint16_t)i, 8));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(500, seq);

 out:
	mem_deref(jb);

	return err;
}


int test_jitter_loss(void)
{
	const uint8_t *next;
	struct jitter *jb = NULL;
	struct jitter_stat st;
	size_t len;
	int seq, err = 0;

	TEST_CHECK(jitter_alloc(&jb, 16, 64));

	/* 11 is lost: reported once, when enough is held behind it */
	TEST_CHECK(put(jb, 10, 1));
	TEST_CHECK(put(jb, 12, 1));
	TEST_CHECK(put(jb, 13, 1));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(10, seq);
	TEST_EQUALS(JITTER_LOST, get(jb, &seq));

	/* the one after the gap is there for Opus FEC */
	TEST_ASSERT(jitter_peek_next(jb, &next, &len));
	TEST_EQUALS(2, len);
	TEST_EQUALS(12, next[0] << 8 | next[1]);
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(12, seq);

	/* a gap with too little behind it is waited for: it comes */
	TEST_CHECK(put(jb, 15, 1));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(13, seq);
	TEST_EQUALS(JITTER_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, 14, 1));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(14, seq);
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(15, seq);

	jitter_stats(jb, &st);
	TEST_EQUALS(1, st.lost);
	TEST_EQUALS(0, st.depth);

 out:
	mem_deref(jb);

	return err;
}


int test_jitter_adapt(void)
{
	struct jitter *jb = NULL;
	struct jitter_stat st;
	uint16_t s = 100;
	int seq, i, err = 0;

	TEST_CHECK(jitter_alloc(&jb, 16, 64));

	TEST_CHECK(put(jb, s++, 3));
	TEST_CHECK(put(jb, s++, 3));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));

	/* ran dry: it waits for three from now on */
	TEST_EQUALS(JITTER_EMPTY, get(jb, &seq));
	jitter_stats(jb, &st);
	TEST_EQUALS(1, st.underruns);
	TEST_EQUALS(3, st.target);
	TEST_CHECK(put(jb, s++, 3));
	TEST_CHECK(put(jb, s++, 3));
	TEST_EQUALS(JITTER_EMPTY, get(jb, &seq));
	TEST_CHECK(put(jb, s++, 3));
	TEST_EQUALS(JITTER_OK, get(jb, &seq));
	TEST_EQUALS(102, seq);

	/* a burst held for a second is trimmed, and the target drops */
	for (i = 0; i < 8; i++)
		TEST_CHECK(put(jb, s++, 3));
	for (i = 0; i < 60; i++) {
		TEST_CHECK(put(jb, s++, 3));
		(void)get(jb, &seq);
	}
	jitter_stats(jb, &st);
	TEST_EQUALS(1, st.dropped);
	TEST_EQUALS(2, st.target);

	/* a jump beyond the ring starts afresh instead of waiting */
	TEST_CHECK(put(jb, (uint16_t)(s + 1000), 3));
	jitter_stats(jb, &st);
	TEST_EQUALS(1, st.depth);

 out:
	mem_deref(jb);

	return err;
}
