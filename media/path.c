/**
 * @file path.c  The transcode path: what a leg receives, decoded,
 *               resampled and encoded for its peer
 *
 * A leg whose peer uses another codec gets a path. Its packet thread
 * puts what arrives into the jitter buffer (path_rx) and, every 20 ms,
 * takes the next frame out (path_tick): decoded, or concealed when it
 * was lost, resampled to the peer's rate, and once a whole 20 ms frame
 * is ready, encoded and sent from the peer's socket as the relay's own
 * RTP stream (own SSRC, sequence and timestamps).
 *
 * Digits: telephone-event packets cross to the peer when both use them
 * (restamped into our stream); a leg without them has its decoded audio
 * searched for in-band digits (at 8 kHz, SpanDSP's rate). Either way
 * each digit is reported (fwd.c reports events, digit_handler in-band
 * digits), once. When only one side uses events they are translated
 * (path_dtmf says how):
 *  - the leg's events, for a peer without: the key's tones take the
 *    place of the leg's audio for as long as the event lasts (at least
 *    40 ms), so the peer hears the key; while the event goes on its
 *    tone is held a little past the duration its last packet gave
 *    (TONE_SLACK_MS, for the 50 ms between updates and their jitter),
 *    and its end sets the length; made even when the leg sends no audio
 *    meanwhile, as some phones do;
 *  - the leg's in-band digits, for a peer with events: each digit found
 *    is also sent as an RFC 4733 event of DTMF_DURATION_MS in our
 *    stream, updated every DTMF_UPDATE_MS (on the 20 ms ticks: 60 and
 *    40 ms apart in turn) and ended with three end packets; the audio,
 *    tones and all, is not touched (the peer hears the key twice at
 *    worst; cutting the tones out would need the detector to see them
 *    before the peer does, i.e. more delay on every call).
 *
 * RTCP (report.c): the path counts what it sends, for the SRs made on
 * its stream (path_sender).
 *
 * A path belongs to its leg: the control thread sets or replaces it
 * under leg->mtx (leg_media), the packet thread uses it only under
 * that lock. The codec objects are shared by the two paths of a call
 * (one decodes with the codec of a leg, the other encodes with it);
 * both paths run on the call's one packet thread (call_worker), so a
 * codec is never used by two threads at once.
 */
#include <string.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "resamp.h"
#include "rtp.h"
#include "jbuf.h"
#include "dtmf.h"


enum {
	TICK_MS       = 20,     /**< Frame sent per tick            */
	PAYLOAD_MAX   = 1500,   /**< Largest payload in or out      */
	PCM_MAX       = 960,    /**< 60 ms at 16 kHz: the most the
				     PCM side runs at (Opus takes the
				     other leg's rate)              */
	FRAME_MAX_MS  = 60,     /**< Longest frame decoded (a=ptime
				     beyond: concealed)             */
	RESAMP_SLACK  = 8,      /**< A resampled frame's few samples
				     more or less                   */
	JB_SLOTS      = 10,     /**< Jitter buffer packets (its
				     delay grows to half of them)   */
	JB_ROOM       = 1920,   /**< Their payloads: twelve of 20 ms
				     G.711, four of 60 ms           */
	TONE_SLACK_MS = 120,    /**< A key's tone is held this long
				     past its event's last duration */
	TE_PKT_SIZE   = RTP_HDR_SIZE + DTMF_EVENT_SIZE,
};

/** What a leg receives, transcoded for its peer */
struct path {
	struct codec *dec;        /**< The leg's codec (decoding)     */
	struct codec *enc;        /**< The peer's codec (encoding)    */
	struct resamp *rs;        /**< Decoder rate to encoder rate   */
	struct jb *jb;            /**< Received, waiting to play      */
	uint8_t pt_in;            /**< The leg's payload type         */
	uint8_t pt_out;           /**< The peer's payload type        */
	int te_in;                /**< The leg's telephone-event, -1  */
	int te_out;               /**< The peer's, -1: not relayed    */
	uint32_t te_ts_in;        /**< Event being relayed: its ts ...*/
	uint32_t te_ts_out;       /**< ... and ours for it            */
	bool te_have;             /**< An event was relayed           */
	uint32_t leg_id;          /**< For digit events               */
	struct dtmf_inband_rx *inband; /**< Leg without telephone-event */
	struct resamp *rs8;       /**< Decoder rate to 8 kHz, for it  */

	uint32_t te_clock_in;     /**< The leg's events' clock, 0: its
				       codec's                        */
	struct dtmf_event_rx te_rx; /**< Its events, as tones (te_in set,
				       te_out not)                    */
	struct dtmf_tone tone;    /**< The key held down: ...         */
	bool tone_on;             /**< ... it sounds                  */
	uint32_t tone_played;     /**< ... samples played             */
	uint32_t tone_until;      /**< ... samples it lasts, so far   */

	struct dtmf_event_tx te_tx; /**< In-band digits as events to the
				       peer (te_in not set, te_out set) */
	uint32_t te_ms;           /**< Ticks played, ms: their pace   */
	uint32_t te_next;         /**< When the next update is due    */
	size_t te_len;            /**< An event packet of this tick is
				       in tick_te (path_event)        */

	uint32_t ssrc;            /**< Our stream to the peer         */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	bool sent;                /**< A packet went out (marker)     */
	uint32_t pkts;            /**< Packets sent (RTCP SR)         */
	uint32_t octets;          /**< Their payload octets           */
	size_t last_n;            /**< Samples of the last frame      */
	size_t frame_max;         /**< Most samples a frame decodes to */
	size_t fifo_n;            /**< Samples waiting to be encoded  */
	size_t fifo_max;          /**< Room: 20 ms, and a frame over  */
	uint32_t pcm_rate;        /**< Of the FIFO: the encoder's, or
				       without one the rate path_pcm
				       gives (a mixer's)              */
	int16_t fifo[];           /**< At the encoder's rate          */
};

/* the working buffers of a tick: one set per packet thread, not per
 * path (memory per call) */
static _Thread_local int16_t tick_pcm[PCM_MAX];   /* decoded frame  */
static _Thread_local int16_t tick_rpcm[PCM_MAX];  /* resampled      */
static _Thread_local int16_t tick_pcm8[PCM_MAX];  /* 8 kHz, in-band */
static _Thread_local uint8_t tick_pkt[12 + PAYLOAD_MAX]; /* to send */
static _Thread_local uint8_t tick_payload[JB_ROOM];      /* to decode */
static _Thread_local uint8_t tick_te[TE_PKT_SIZE];        /* event   */


static void destructor(void *arg)
{
	struct path *p = arg;

	mem_deref(p->dec);
	mem_deref(p->enc);
	mem_deref(p->rs);
	mem_deref(p->jb);
	mem_deref(p->inband);
	mem_deref(p->rs8);
}


/* a key heard in the leg's audio: reported, and sent as an event to
 * a peer that takes them */
static void digit_handler(char digit, void *arg)
{
	struct path *p = arg;

	worker_dtmf(p->leg_id, digit, true);

	if (p->te_out >= 0)
		(void)dtmf_event_tx_put(&p->te_tx, digit);
}


/**
 * Make the path from a leg to its peer
 *
 * @param pp  Returned path
 * @param cfg Codecs (references are taken), types, leg
 *
 * @return 0 if success, otherwise errorcode
 */
int path_alloc(struct path **pp, const struct path_cfg *cfg)
{
	uint32_t in_rate, out_rate;
	size_t frame_max, fifo_max;
	struct path *p;
	int err = 0;

	if (!pp || !cfg || !cfg->dec || (!cfg->enc && !cfg->rate))
		return EINVAL;

	/* the FIFO holds what is short of 20 ms, and a whole frame */
	in_rate = codec_srate(cfg->dec);
	out_rate = cfg->enc ? codec_srate(cfg->enc) : cfg->rate;
	frame_max = min((size_t)in_rate * FRAME_MAX_MS / 1000,
			(size_t)PCM_MAX);
	fifo_max = (size_t)out_rate * TICK_MS / 1000 +
		frame_max * out_rate / in_rate + RESAMP_SLACK;

	p = mem_zalloc(sizeof(*p) + fifo_max * sizeof(p->fifo[0]),
		       destructor);
	if (!p)
		return ENOMEM;

	p->dec = mem_ref(cfg->dec);
	p->enc = mem_ref(cfg->enc);
	p->pt_in = cfg->pt_in;
	p->pt_out = cfg->pt_out;
	p->te_in = cfg->te_in;
	p->te_out = cfg->te_out;
	p->leg_id = cfg->leg_id;
	p->ssrc = rand_u32();
	p->seq = rand_u16();
	p->ts = rand_u32();

	p->pcm_rate = out_rate;
	p->last_n = in_rate * TICK_MS / 1000;
	p->frame_max = frame_max;
	p->fifo_max = fifo_max;

	if (in_rate != out_rate)
		err = resamp_alloc(&p->rs, in_rate, out_rate);
	if (!err)
		err = jb_alloc(&p->jb, JB_SLOTS, JB_ROOM);
	if (!err && cfg->te_in < 0)
		err = dtmf_inband_rx_alloc(&p->inband, digit_handler, p);
	if (!err && cfg->te_in < 0 && in_rate != 8000)
		err = resamp_alloc(&p->rs8, in_rate, 8000);

	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


/* a telephone-event packet for the peer: our stream, the event's own
 * timestamp mapped to ours when it starts */
static int te_relay(struct path *p, const struct rtp_hdr *h, uint8_t *out,
		    size_t *out_len)
{
	int err;

	if (*out_len < RTP_HDR_SIZE + h->plen)
		return ENOBUFS;

	if (!p->te_have || h->ts != p->te_ts_in) {
		p->te_have = true;
		p->te_ts_in = h->ts;
		p->te_ts_out = p->ts;
	}

	err = rtp_build(out, *out_len, h->marker, (uint8_t)p->te_out,
			p->seq++, p->te_ts_out, p->ssrc);
	if (err)
		return err;

	memcpy(&out[RTP_HDR_SIZE], h->payload, h->plen);
	*out_len = RTP_HDR_SIZE + h->plen;
	++p->pkts;
	p->octets += (uint32_t)h->plen;

	return 0;
}


/* RTP clock units per second of a codec */
static uint32_t rtp_clock(const struct codec *c)
{
	return codec_ts_step(c, codec_srate(c));
}


/* event clock units to samples at the decoder's rate */
static uint32_t te_samples(const struct path *p, uint32_t units)
{
	uint32_t clock = p->te_clock_in ? p->te_clock_in : rtp_clock(p->dec);

	return (uint32_t)((uint64_t)units * codec_srate(p->dec) / clock);
}


/* a telephone-event packet for a peer without events: the key's tone
 * starts, goes on, or has its length set */
static void te_tone(struct path *p, const struct rtp_hdr *h)
{
	uint32_t rate = codec_srate(p->dec), dur;
	struct dtmf_event ev;

	if (dtmf_event_rx(&p->te_rx, &ev, h->payload, h->plen, h->ts,
			  h->marker))
		return;

	if (ev.start) {
		p->tone_on = ev.digit &&
			!dtmf_tone_start(&p->tone, ev.digit, rate);
		p->tone_played = 0;
		p->tone_until = 0;
	}
	else if (h->ts != p->te_rx.ts || (p->te_rx.ended && !ev.end)) {
		/* late, or a repeated end */
		return;
	}

	if (!p->tone_on)
		return;

	if (ev.end) {
		p->tone_until = max(te_samples(p, ev.duration),
				    rate * DTMF_TONE_MIN_MS / 1000);
		return;
	}

	dur = te_samples(p, p->te_rx.base +
			 ((uint32_t)h->payload[2] << 8 | h->payload[3]));
	p->tone_until = max(p->tone_until,
			    dur + rate * TONE_SLACK_MS / 1000);
}


/**
 * Take a packet the leg received (packet thread, under leg->mtx)
 *
 * @param p       Path
 * @param pkt     RTP packet
 * @param len     Its length
 * @param out     A telephone-event packet to send the peer now
 * @param out_len Its room in, its length out (0: none)
 *
 * @return 0 if taken, otherwise errorcode (not RTP, other payload)
 */
int path_rx(struct path *p, const uint8_t *pkt, size_t len,
	    uint8_t *out, size_t *out_len)
{
	struct rtp_hdr h;
	size_t room = *out_len;
	int err;

	*out_len = 0;

	err = rtp_parse(&h, pkt, len);
	if (err)
		return err;

	if (p->te_in >= 0 && h.pt == p->te_in) {
		if (p->te_out < 0) {
			te_tone(p, &h);
			return 0;
		}
		err = te_relay(p, &h, out, &room);
		if (!err)
			*out_len = room;
		return err;
	}

	if (h.pt != p->pt_in)
		return ENOTSUP;

	return jb_put(p->jb, &h);
}


/* in-band digits in a decoded frame, for a leg without events */
static void inband(struct path *p, const int16_t *pcm, size_t n)
{
	size_t n8 = PCM_MAX;

	if (p->rs8) {
		if (resamp_process(p->rs8, tick_pcm8, &n8, pcm, n))
			return;
		pcm = tick_pcm8;
		n = n8;
	}

	dtmf_inband_rx(p->inband, pcm, n);
}


/* the key's tone in place of the leg's audio, while it lasts */
static void tone_put(struct path *p, int16_t *pcm, size_t n)
{
	size_t k = 0;

	if (p->tone_until > p->tone_played)
		k = min(n, (size_t)(p->tone_until - p->tone_played));

	dtmf_tone_fill(&p->tone, pcm, k);
	p->tone_played += (uint32_t)k;

	if (p->tone_played >= p->tone_until)
		p->tone_on = false;
}


/* one frame from the jitter buffer into the FIFO; false: none yet */
static bool frame_pull(struct path *p)
{
	const uint8_t *next = NULL;
	size_t len = sizeof(tick_payload), n = p->frame_max, next_len = 0;
	size_t out_n = PCM_MAX;
	int16_t *src = tick_pcm;

	switch (jb_get(p->jb, tick_payload, &len, NULL)) {

	case JB_OK:
		if (codec_decode(p->dec, tick_pcm, &n, tick_payload, len) ||
		    !n) {
			n = p->last_n;
			(void)codec_conceal(p->dec, tick_pcm, n, NULL, 0);
		}
		else if (p->inband) {
			inband(p, tick_pcm, n);
		}
		p->last_n = n;
		break;

	case JB_LOST:
		n = p->last_n;
		(void)jb_peek(p->jb, &next, &next_len);
		(void)codec_conceal(p->dec, tick_pcm, n, next, next_len);
		break;

	default:
		/* a key is held without audio: its tone alone */
		if (!p->tone_on)
			return false;
		n = p->last_n;
		memset(tick_pcm, 0, n * sizeof(int16_t));
		break;
	}

	if (p->tone_on)
		tone_put(p, tick_pcm, n);

	if (p->rs) {
		if (resamp_process(p->rs, tick_rpcm, &out_n, tick_pcm, n))
			return true;
		src = tick_rpcm;
		n = out_n;
	}

	n = min(n, p->fifo_max - p->fifo_n);
	memcpy(&p->fifo[p->fifo_n], src, n * sizeof(int16_t));
	p->fifo_n += n;

	return true;
}


/* the update of an event made of in-band digits that is due this
 * tick, if any (one every DTMF_UPDATE_MS); made into tick_te when
 * send, else only used up (the peer's party hears a player); returns
 * its length, 0: none */
static size_t te_pace(struct path *p, bool send)
{
	uint8_t payload[DTMF_EVENT_SIZE];
	bool marker;
	uint32_t ts;

	p->te_ms += TICK_MS;

	if (p->te_in >= 0 || p->te_out < 0)
		return 0;

	/* an event starts at the tick its digit is found */
	if (!p->te_tx.busy) {
		if (!p->te_tx.count)
			return 0;
		p->te_next = p->te_ms;
	}

	if ((int32_t)(p->te_ms - p->te_next) < 0)
		return 0;

	p->te_next += DTMF_UPDATE_MS;

	if (!dtmf_event_tx(&p->te_tx, p->ts, payload, &marker, &ts) || !send)
		return 0;

	(void)rtp_build(tick_te, sizeof(tick_te), marker, (uint8_t)p->te_out,
			p->seq++, ts, p->ssrc);
	memcpy(&tick_te[RTP_HDR_SIZE], payload, DTMF_EVENT_SIZE);
	++p->pkts;
	p->octets += DTMF_EVENT_SIZE;

	return TE_PKT_SIZE;
}


/* one 20 ms frame for the peer, encoded (path_tick) */
static const uint8_t *audio_tick(struct path *p, size_t *len)
{
	size_t need = codec_srate(p->enc) * TICK_MS / 1000;
	size_t plen = PAYLOAD_MAX;

	*len = 0;

	while (p->fifo_n < need && frame_pull(p))
		;

	if (p->fifo_n < need)
		return NULL;

	if (codec_encode(p->enc, &tick_pkt[12], &plen, p->fifo, need))
		plen = 0;

	p->fifo_n -= need;
	memmove(p->fifo, &p->fifo[need], p->fifo_n * sizeof(int16_t));

	if (!plen)
		return NULL;

	(void)rtp_build(tick_pkt, 12, !p->sent, p->pt_out, p->seq, p->ts,
			p->ssrc);
	++p->seq;
	p->ts += codec_ts_step(p->enc, need);
	p->sent = true;
	++p->pkts;
	p->octets += (uint32_t)plen;
	*len = 12 + plen;

	return tick_pkt;
}


/**
 * Play out one tick: pull frames until 20 ms at the peer's rate are
 * ready, and encode them (packet thread, under leg->mtx); an event
 * update due this tick waits in path_event
 *
 * @param p   Path
 * @param len Returned length of the RTP packet to send, 0 for none
 *
 * @return The packet to send to the peer (valid until the next call)
 */
const uint8_t *path_tick(struct path *p, size_t *len)
{
	const uint8_t *pkt = audio_tick(p, len);

	p->te_len = te_pace(p, true);

	return pkt;
}


/**
 * The RFC 4733 packet to send the peer after this tick's audio, if any
 * (packet thread, under leg->mtx, after path_tick)
 *
 * @param p   Path
 * @param len Returned length of the packet, 0 for none
 *
 * @return The packet (valid until the next tick of any path)
 */
const uint8_t *path_event(struct path *p, size_t *len)
{
	*len = p->te_len;
	p->te_len = 0;

	return *len ? tick_te : NULL;
}


/**
 * Say how digits are translated between the leg's party and the peer's
 * (control thread, under leg->mtx). A leg with events (te_in) whose
 * peer does not take them (te_out -1) has them played as tones; a leg
 * without events has its in-band digits sent as events to a peer that
 * takes them at our stream's clock.
 *
 * @param p         Path
 * @param clock_in  Clock of the leg's events, 0: its codec's
 * @param pt_out    The peer's telephone-event type, -1: it has none
 * @param clock_out Its clock
 *
 * @return 0 if success, otherwise errorcode (nothing is translated)
 */
int path_dtmf(struct path *p, uint32_t clock_in, int pt_out,
	      uint32_t clock_out)
{
	int err;

	if (!p)
		return EINVAL;

	p->te_clock_in = clock_in;

	/* its events cross, or become tones */
	if (p->te_in >= 0)
		return 0;

	/* into a mixer (no encoder): its digits are only reported */
	if (!p->enc || pt_out < 0 || pt_out > 127 ||
	    clock_out != rtp_clock(p->enc)) {
		p->te_out = -1;
		return 0;
	}

	/* as it was: an event being sent goes on */
	if (p->te_out == pt_out)
		return 0;

	err = dtmf_event_tx_init(&p->te_tx, clock_out, DTMF_UPDATE_MS,
				 DTMF_DURATION_MS);
	p->te_out = err ? -1 : pt_out;

	return err;
}


/**
 * What an SR on the path's stream says, now (packet thread, under
 * leg->mtx); its RTP time is that of the frame of this tick
 *
 * @param p       Path
 * @param s       Returned sender info
 * @param now_ntp Now, NTP format
 *
 * @return True if the stream has sent a packet (an SR is due, else an
 *         RR with s->ssrc)
 */
bool path_sender(const struct path *p, struct rtcp_sender *s,
		 uint64_t now_ntp)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = p->ssrc;

	/* into a mixer (no encoder): the path sends nothing itself */
	if (!p->enc)
		return false;

	s->ntp = now_ntp;
	s->rtp_ts = p->ts - codec_ts_step(p->enc, codec_srate(p->enc) *
					  TICK_MS / 1000);
	s->packets = p->pkts;
	s->octets = p->octets;

	return p->pkts != 0;
}


/**
 * Read the counters of the path's jitter buffer (under leg->mtx)
 *
 * @param p  Path
 * @param st Counters out
 */
void path_jb_stats(const struct path *p, struct jb_stat *st)
{
	jb_stats(p->jb, st);
}


/**
 * Play out one tick that nobody hears, as the peer hears a player
 * instead (packet thread, under leg->mtx): frames are pulled, so the
 * jitter buffer keeps time and in-band digits are still heard, but not
 * encoded. The stream's timestamps move on, and its next packet has
 * the marker bit (a new talkspurt to the peer's jitter buffer). Event
 * updates due are used up unsent, as the audio is.
 *
 * @param p Path
 */
void path_idle(struct path *p)
{
	size_t need = codec_srate(p->enc) * TICK_MS / 1000;

	while (p->fifo_n < need && frame_pull(p))
		;

	if (p->fifo_n >= need) {
		p->fifo_n -= need;
		memmove(p->fifo, &p->fifo[need],
			p->fifo_n * sizeof(int16_t));
		p->ts += codec_ts_step(p->enc, need);
		p->sent = false;
	}

	(void)te_pace(p, false);
}


/**
 * Take 20 ms of what the leg received, decoded and resampled, as PCM:
 * a path made without an encoder, into a mixer (packet thread, under
 * leg->mtx)
 *
 * @param p   Path
 * @param pcm Room for 20 ms at the path's PCM rate (path_cfg.rate)
 *
 * @return 0 if success, ENODATA if there is nothing to play yet (the
 *         jitter buffer is filling, or the party is silent)
 */
int path_pcm(struct path *p, int16_t *pcm)
{
	size_t need;

	if (!p || !pcm)
		return EINVAL;

	need = p->pcm_rate * TICK_MS / 1000;

	while (p->fifo_n < need && frame_pull(p))
		;

	if (p->fifo_n < need)
		return ENODATA;

	memcpy(pcm, p->fifo, need * sizeof(*pcm));
	p->fifo_n -= need;
	memmove(p->fifo, &p->fifo[need], p->fifo_n * sizeof(int16_t));

	return 0;
}
