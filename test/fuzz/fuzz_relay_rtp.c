/**
 * @file fuzz_relay_rtp.c  libFuzzer target: what phones send to sbrelay
 *
 * One input is a series of packets (each: a length byte, a kind byte,
 * then the bytes). The kind says where a packet goes, as the packet
 * threads would take it: 0 SRTP unprotect with a fixed key, then RTP;
 * 1 SRTCP unprotect, then RTCP; 2 plain, RTP or RTCP as RFC 5761 tells
 * them apart; 3 plain, through both readers. RTP goes to the header
 * reader, the receive statistics, the RFC 4733 receiver, a jitter
 * buffer of an odd size (played out 0-3 steps per packet, as bit 2-3 of
 * the kind say) and two transcode paths (PCMU -> Opus and G.722 ->
 * PCMA, with their own jitter buffers, decoding, concealment,
 * resampling and in-band digit search), played out a tick after each
 * packet. RTCP goes to the compound walker, the SR, RR and BYE readers
 * and the statistics; each time, the report we would send back is built
 * and must read back as it was made.
 *
 * Nothing may crash, leak or trip UBSan; the MOS must stay in 1..4.5;
 * the jitter buffer must play in order within a source and hold no
 * more than its ring; what a path sends must be a well-formed RTP
 * packet of the peer's type.
 *
 *   ./configure --enable-fuzz CC=clang && make test/fuzz/fuzz_relay_rtp
 *   test/fuzz/fuzz_relay_rtp -max_total_time=60 corpus-rtp/ \
 *	test/fuzz/corpus/relay-rtp
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "../../media/jbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	OUR_SSRC  = 0x5eed,       /**< Our stream, as reports name it */
	RING      = 7,            /**< Jitter buffer: not a power of two
				       (wrap cases), target up to 3   */
	ROOM      = 160,          /**< Payload bytes it holds, shared:
				       a few large packets fill it    */
};

/** The paths and contexts every input goes through */
static struct {
	struct path *pcmu_opus;   /**< PCMU in, Opus (8 kHz) out      */
	struct path *g722_pcma;   /**< G.722 in, PCMA out: resampling */
	struct srtp_pair *srtp;   /**< Fixed key, rx                  */
} fz;

/** What one input builds up */
struct state {
	struct rtpstat st;        /**< Receive statistics             */
	struct dtmf_event_rx ev;  /**< RFC 4733 receiver              */
	struct jb *jb;            /**< Jitter buffer                  */
	uint64_t resets;          /**< jb resets at the last play     */
	bool played;              /**< last_seq is set                */
	uint16_t last_seq;        /**< Last played or lost            */
	uint64_t now_us;          /**< Arrival clock                  */
};


/* the packet threads' digit report: nobody to tell here */
void worker_dtmf(uint32_t leg_id, char digit, bool inband)
{
	(void)leg_id;
	(void)inband;

	if (!strchr("0123456789*#ABCD", digit))
		abort();
}


static struct path *path_make(int in, uint8_t pt_in, int out,
			      uint8_t pt_out, int te_in, int te_out)
{
	struct codec *dec = NULL, *enc = NULL;
	uint32_t rate = codec_info(in)->srate;
	struct path_cfg cfg;
	struct path *p = NULL;

	if (codec_alloc(&dec, in, rate, NULL) ||
	    codec_alloc(&enc, out, out == CODEC_OPUS ? rate :
			codec_info(out)->srate, NULL))
		abort();

	cfg.dec = dec;
	cfg.pt_in = pt_in;
	cfg.enc = enc;
	cfg.pt_out = pt_out;
	cfg.te_in = te_in;
	cfg.te_out = te_out;
	cfg.leg_id = 1;
	if (path_alloc(&p, &cfg))
		abort();

	mem_deref(dec);
	mem_deref(enc);

	return p;
}


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sdes_key k;
	(void)argc;
	(void)argv;

	if (libre_init() || sdes_init())
		abort();

	memset(&k, 0, sizeof(k));
	k.tag = 1;
	k.suite = SDES_AES_CM_80;
	k.keylen = 30;
	memset(k.key, 0x42, k.keylen);
	if (srtp_pair_alloc(&fz.srtp, &k, NULL))
		abort();

	fz.pcmu_opus = path_make(CODEC_PCMU, 0, CODEC_OPUS, 111, 101, 101);
	fz.g722_pcma = path_make(CODEC_G722, 9, CODEC_PCMA, 8, -1, -1);

	return 0;
}


static void out_check(const uint8_t *pkt, size_t len, uint8_t pt)
{
	struct rtp_hdr h;

	if (rtp_parse(&h, pkt, len) || (h.pt != pt && h.pt != 101))
		abort();
}


static void mos_check(const struct rtpstat *st)
{
	struct rtpstat_sum sum;

	rtpstat_summary(st, &sum);
	if (sum.mos < 1 || sum.mos > 4.5 || sum.loss_pct < 0 ||
	    sum.loss_pct > 100 ||
	    (sum.remote && (sum.remote_mos < 1 || sum.remote_mos > 4.5)))
		abort();
}


/* play out a few steps: in order within a source, never over-full */
static void jb_play(struct state *s, unsigned steps)
{
	uint8_t out[ROOM];
	struct jb_stat js;
	struct rtp_hdr h;
	size_t len;

	while (steps--) {
		enum jb_res r;

		len = sizeof(out);
		r = jb_get(s->jb, out, &len, &h);
		jb_stats(s->jb, &js);

		if (js.depth > RING || js.target < 2 || js.target > RING / 2 ||
		    len > sizeof(out))
			abort();

		if (r == JB_EMPTY)
			continue;

		if (s->played && js.resets == s->resets &&
		    (int16_t)(h.seq - s->last_seq) <= 0)
			abort();

		s->played = true;
		s->last_seq = h.seq;
		s->resets = js.resets;
	}
}


/* a report block on what we receive must survive the round trip */
static void report_check(struct state *s, uint64_t now_ntp)
{
	const struct rtcp_sender sr = {OUR_SSRC, now_ntp, 0, 1, 160};
	struct rtcp_out o = {OUR_SSRC, &sr, NULL, "fuzz@relay", true};
	struct rtcp_report rb;
	struct rtcp_info info;
	uint8_t buf[160];
	size_t len = sizeof(buf);

	if (rtpstat_report(&s->st, &rb, now_ntp))
		return;

	o.rb = &rb;
	if (rtcp_build(buf, &len, &o) ||
	    rtcp_read(&info, buf, len, rb.ssrc))
		abort();

	if (!info.sr || !info.report || !info.bye ||
	    info.ssrc != OUR_SSRC || info.sender.ntp != now_ntp ||
	    info.rb.fraction != rb.fraction || info.rb.lost != rb.lost ||
	    info.rb.ext_seq != rb.ext_seq || info.rb.jitter != rb.jitter ||
	    info.rb.lsr != rb.lsr || info.rb.dlsr != rb.dlsr)
		abort();
}


static void rtcp_in(struct state *s, const uint8_t *buf, size_t n)
{
	uint64_t now_ntp = rtcp_ntp(1700000000000000ull + s->now_us);
	struct rtcp_sender sender;
	struct rtcp_report rb;
	struct rtcp_info info;
	struct rtcp_pkt pkt;
	size_t off = 0;
	unsigned i;

	/* every packet the walker gives must lie within the buffer */
	while (!rtcp_next(&pkt, buf, n, &off)) {
		if (pkt.body < buf || pkt.body + pkt.blen > buf + n ||
		    off > n)
			abort();
		(void)rtcp_sender_read(&sender, &pkt);
		for (i = 0; !rtcp_report_read(&rb, &pkt, i); i++)
			;
	}

	if (!rtcp_read(&info, buf, n, OUR_SSRC))
		rtpstat_rtcp(&s->st, &info, now_ntp);

	report_check(s, now_ntp);
	mos_check(&s->st);
}


static void rtp_in(struct state *s, const uint8_t *buf, size_t n,
		   unsigned steps)
{
	struct dtmf_event dev;
	struct rtp_hdr h;

	if (rtp_parse(&h, buf, n))
		return;

	if (h.payload < buf || h.payload + h.plen > buf + n ||
	    h.csrc + 4 * (size_t)h.cc > h.payload)
		abort();

	rtpstat_rx(&s->st, &h, s->now_us);
	mos_check(&s->st);
	(void)dtmf_event_rx(&s->ev, &dev, h.payload, h.plen, h.ts, h.marker);

	(void)jb_put(s->jb, &h);
	jb_play(s, steps);
}


static void paths(const uint8_t *buf, size_t n)
{
	uint8_t te[128];
	size_t tlen = sizeof(te);
	const uint8_t *out;

	if (!path_rx(fz.pcmu_opus, buf, n, te, &tlen) && tlen)
		out_check(te, tlen, 111);
	tlen = sizeof(te);
	(void)path_rx(fz.g722_pcma, buf, n, te, &tlen);

	out = path_tick(fz.pcmu_opus, &n);
	if (out)
		out_check(out, n, 111);
	out = path_tick(fz.g722_pcma, &n);
	if (out)
		out_check(out, n, 8);
}


static void one(struct state *s, const uint8_t *p, size_t len,
		uint8_t kind)
{
	uint8_t buf[2048];
	size_t n = len;
	unsigned steps = (kind >> 2) & 3;

	memcpy(buf, p, len);
	s->now_us += 20000;

	switch (kind % 4) {

	case 0:
		(void)srtp_pair_unprotect(fz.srtp, false, buf, &n);
		break;

	case 1:
		if (!srtp_pair_unprotect(fz.srtp, true, buf, &n))
			rtcp_in(s, buf, n);
		return;

	case 2:
		if (rtp_is_rtcp(buf, n)) {
			rtcp_in(s, buf, n);
			return;
		}
		break;

	default:
		rtcp_in(s, buf, n);
		break;
	}

	rtp_in(s, buf, n, steps);
	paths(buf, n);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;

	memset(&s, 0, sizeof(s));
	rtpstat_init(&s.st, 8000);
	if (jb_alloc(&s.jb, RING, ROOM))
		abort();

	while (size >= 2) {
		size_t len = data[0];
		uint8_t kind = data[1];

		data += 2;
		size -= 2;
		len = len < size ? len : size;
		one(&s, data, len, kind);
		data += len;
		size -= len;
	}

	mem_deref(s.jb);

	return 0;
}
