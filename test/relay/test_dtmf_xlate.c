/**
 * @file test_dtmf_xlate.c  Digits translated on the transcode path, when
 *                          only one party uses telephone-events
 *
 * A path from a leg to its peer, driven as its packet thread would (a
 * packet in, a tick out, every 20 ms), without sockets:
 *  - the leg sends RFC 4733 events, the peer has none: what the path
 *    sends must carry the key's tones for as long as each event lasts,
 *    found by SpanDSP's detector once per event, with audio from the
 *    leg around them and also without (a phone that sends events only);
 *  - the leg sends in-band digits, the peer takes events: each digit
 *    must come out as one event (marker first, three end packets,
 *    updates 40-60 ms apart, 50 ms on average), the audio still going.
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "../../media/rtp.h"
#include "relaytest.h"


enum {
	FRAME   = 160,            /**< 20 ms at 8 kHz                 */
	TE_PT   = 101,            /**< telephone-event type           */
	TICKS   = 100,            /**< 2 s                            */
	PKT_MAX = 256,
};

/** What the detector reported */
struct found {
	char digits[16];          /**< In order, 0-terminated         */
	size_t n;                 /**< How many                       */
};


static void digit_handler(char digit, void *arg)
{
	struct found *f = arg;

	if (f->n + 1 < sizeof(f->digits))
		f->digits[f->n++] = digit;
}


static int path_make(struct path **pp, int te_in)
{
	struct codec *dec = NULL, *enc = NULL;
	struct path_cfg cfg;
	int err;

	err  = codec_alloc(&dec, CODEC_PCMU, 8000, NULL);
	err |= codec_alloc(&enc, CODEC_PCMU, 8000, NULL);
	if (err)
		goto out;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dec = dec;
	cfg.enc = enc;
	cfg.te_in = te_in;
	cfg.te_out = -1;
	err = path_alloc(pp, &cfg);

 out:
	mem_deref(dec);
	mem_deref(enc);

	return err;
}


static int audio_in(struct path *p, struct codec *c, uint16_t seq,
		    const int16_t *pcm)
{
	uint8_t pkt[PKT_MAX], out[PKT_MAX];
	size_t plen = sizeof(pkt) - RTP_HDR_SIZE, olen = sizeof(out);
	int err;

	err = codec_encode(c, &pkt[RTP_HDR_SIZE], &plen, pcm, FRAME);
	err = err ? err : rtp_build(pkt, sizeof(pkt), false, 0, seq,
				    (uint32_t)seq * FRAME, 0x1111);

	return err ? err : path_rx(p, pkt, RTP_HDR_SIZE + plen, out, &olen);
}


static int event_in(struct path *p, uint16_t seq, uint32_t ts, uint8_t code,
		    bool end, uint16_t duration)
{
	uint8_t pkt[RTP_HDR_SIZE + DTMF_EVENT_SIZE], out[PKT_MAX];
	size_t olen = sizeof(out);
	int err;

	err = rtp_build(pkt, sizeof(pkt), false, TE_PT, seq, ts, 0x1111);
	if (err)
		return err;

	pkt[12] = code;
	pkt[13] = (uint8_t)((end ? 0x80 : 0) | 10);
	pkt[14] = (uint8_t)(duration >> 8);
	pkt[15] = (uint8_t)duration;

	err = path_rx(p, pkt, sizeof(pkt), out, &olen);

	return err ? err : olen ? EPROTO : 0;
}


int test_dtmf_xlate_tones(void)
{
	static const int16_t silence[FRAME];
	struct dtmf_inband_rx *rx = NULL;
	struct codec *phone = NULL;
	struct path *p = NULL;
	struct found f;
	int16_t pcm[FRAME * 3];
	unsigned k, on7 = 0, onh = 0, frames = 0;
	int err;

	memset(&f, 0, sizeof(f));
	TEST_CHECK(path_make(&p, TE_PT));
	TEST_CHECK(path_dtmf(p, 8000, -1, 0));
	TEST_CHECK(codec_alloc(&phone, CODEC_PCMU, 8000, NULL));
	TEST_CHECK(dtmf_inband_rx_alloc(&rx, digit_handler, &f));

	for (k = 0; k < TICKS; k++) {
		const uint8_t *out;
		struct rtp_hdr h;
		size_t len, n = sizeof(pcm) / sizeof(pcm[0]);
		bool k7, kh;

		/* audio, but for 0.5 s where the phone sends events only */
		if (k < 40 || k >= 65)
			TEST_CHECK(audio_in(p, phone, (uint16_t)k, silence));

		/* '7' from tick 10 for 200 ms, updates every 20 ms; then
		 * its end three times */
		if (k >= 10 && k < 20)
			TEST_CHECK(event_in(p, (uint16_t)(1000 + k), 1600, 7,
					    false, (uint16_t)(160 * (k - 9))));
		if (k >= 20 && k < 23)
			TEST_CHECK(event_in(p, (uint16_t)(1000 + k), 1600, 7,
					    true, 1600));

		/* '#' (code 11) from tick 45 for 100 ms, updates every
		 * 50 ms (the end's first packet lost), no audio */
		if (k == 45 || k == 47)
			TEST_CHECK(event_in(p, (uint16_t)(1000 + k), 7200, 11,
					    false, k == 45 ? 400 : 800));
		if (k == 50 || k == 51)
			TEST_CHECK(event_in(p, (uint16_t)(1000 + k), 7200, 11,
					    true, 800));

		out = path_tick(p, &len);
		if (!out)
			continue;

		++frames;
		TEST_CHECK(rtp_parse(&h, out, len));
		TEST_CHECK(codec_decode(phone, pcm, &n, h.payload, h.plen));
		dtmf_inband_rx(rx, pcm, n);

		k7 = test_tone_amplitude(pcm, n, 852, 8000) > 1000 &&
			test_tone_amplitude(pcm, n, 1209, 8000) > 1000;
		kh = test_tone_amplitude(pcm, n, 941, 8000) > 1000 &&
			test_tone_amplitude(pcm, n, 1477, 8000) > 1000;
		on7 += k7;
		onh += kh;
	}

	dtmf_inband_rx(rx, silence, FRAME);

	/* once each, as long as each event lasted (a frame either way:
	 * the tone starts within a frame) */
	TEST_STRCMP("7#", f.digits);
	if (on7 < 10 || on7 > 11 || onh < 5 || onh > 6) {
		(void)re_fprintf(stderr, "tone frames: '7' %u, '#' %u of %u\n",
				 on7, onh, frames);
		TEST_ERR(EINVAL);
	}

 out:
	mem_deref(rx);
	mem_deref(phone);
	mem_deref(p);

	return err;
}


/** An event packet the path sent */
struct sent_ev {
	unsigned tick;            /**< When                           */
	bool marker;              /**< Marker bit                     */
	uint32_t ts;              /**< Timestamp                      */
	uint8_t code;             /**< Event                          */
	bool end;                 /**< E bit                          */
	uint16_t duration;        /**< Duration                       */
};


static int events_check(const struct sent_ev *v, unsigned n)
{
	unsigned i, d;
	int err = 0;

	/* '3' then '*': one update, three ends each */
	TEST_EQUALS(8, n);
	for (i = 0; i < n; i++) {
		const struct sent_ev *e = &v[i];

		TEST_EQUALS(i < 4 ? 3 : 10, e->code);
		TEST_EQUALS(i % 4 == 0, e->marker);
		TEST_EQUALS(i % 4 != 0, e->end);
		TEST_EQUALS(i % 4 == 0 ? 400 : 800, e->duration);
		TEST_EQUALS(v[i - i % 4].ts, e->ts);
		if (i % 4 == 0)
			continue;
		d = e->tick - v[i - 1].tick;
		TEST_ASSERT(d == 2 || d == 3);
	}
	TEST_EQUALS(8, v[3].tick - v[0].tick);
	TEST_ASSERT(v[4].ts != v[0].ts);

 out:
	return err;
}


int test_dtmf_xlate_events(void)
{
	struct test_keys keys = {"3*", 100, 400, 0, 0, {0}};
	struct codec *phone = NULL;
	struct path *p = NULL;
	struct sent_ev evv[16];
	struct rtcp_sender s;
	int16_t pcm[FRAME];
	unsigned k, nev = 0, naudio = 0;
	int err;

	TEST_CHECK(path_make(&p, -1));
	TEST_CHECK(codec_alloc(&phone, CODEC_PCMU, 8000, NULL));

	/* a peer whose events are at another clock than our stream's
	 * gets none; at ours, it does */
	TEST_CHECK(path_dtmf(p, 0, TE_PT, 48000));
	TEST_ASSERT(!path_sender(p, &s, 1));
	TEST_CHECK(path_dtmf(p, 0, TE_PT, 8000));

	for (k = 0; k < TICKS; k++) {
		const uint8_t *out;
		struct rtp_hdr h;
		size_t len, n;

		memset(pcm, 0, sizeof(pcm));
		if (k >= 10)
			(void)test_keys_play(&keys, pcm, FRAME);
		TEST_CHECK(audio_in(p, phone, (uint16_t)k, pcm));

		out = path_tick(p, &len);
		if (out) {
			TEST_CHECK(rtp_parse(&h, out, len));
			TEST_EQUALS(0, h.pt);
			++naudio;
		}

		out = path_event(p, &len);
		if (!out)
			continue;

		TEST_ASSERT(nev < ARRAY_SIZE(evv));
		TEST_CHECK(rtp_parse(&h, out, len));
		TEST_EQUALS(TE_PT, h.pt);
		TEST_EQUALS(DTMF_EVENT_SIZE, h.plen);
		n = nev++;
		evv[n].tick = k;
		evv[n].marker = h.marker;
		evv[n].ts = h.ts;
		evv[n].code = h.payload[0];
		evv[n].end = (h.payload[1] & 0x80) != 0;
		evv[n].duration = (uint16_t)(h.payload[2] << 8 |
					     h.payload[3]);
	}

	TEST_CHECK(events_check(evv, nev));

	/* the audio went on meanwhile, every tick once the jitter buffer
	 * had filled; the SR counts both */
	TEST_ASSERT(naudio > TICKS - 10);
	TEST_ASSERT(path_sender(p, &s, 1));
	TEST_EQUALS(naudio + nev, s.packets);
	TEST_EQUALS(naudio * FRAME + nev * DTMF_EVENT_SIZE, s.octets);

 out:
	mem_deref(phone);
	mem_deref(p);

	return err;
}
