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
 * each digit is reported.
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
	FIFO_MAX      = PCM_MAX + 640, /**< A frame, and 20 ms over */
	JB_SLOTS      = 10,     /**< Jitter buffer packets (its
				     delay grows to half of them)   */
	JB_PAYLOAD    = 480,    /**< Largest payload: 60 ms G.711   */
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
	uint32_t ssrc;            /**< Our stream to the peer         */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	bool sent;                /**< A packet went out (marker)     */
	size_t last_n;            /**< Samples of the last frame      */
	size_t fifo_n;            /**< Samples waiting to be encoded  */
	int16_t fifo[FIFO_MAX];   /**< At the encoder's rate          */
};

/* the working buffers of a tick: one set per packet thread, not per
 * path (memory per call) */
static _Thread_local int16_t tick_pcm[PCM_MAX];   /* decoded frame  */
static _Thread_local int16_t tick_rpcm[PCM_MAX];  /* resampled      */
static _Thread_local int16_t tick_pcm8[PCM_MAX];  /* 8 kHz, in-band */
static _Thread_local uint8_t tick_pkt[12 + PAYLOAD_MAX]; /* to send */


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


/* a key heard in the leg's audio */
static void digit_handler(char digit, void *arg)
{
	struct path *p = arg;

	worker_dtmf(p->leg_id, digit, true);
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
	struct path *p;
	int err = 0;

	if (!pp || !cfg || !cfg->dec || !cfg->enc)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), destructor);
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

	in_rate = codec_srate(cfg->dec);
	out_rate = codec_srate(cfg->enc);
	p->last_n = in_rate * TICK_MS / 1000;

	if (in_rate != out_rate)
		err = resamp_alloc(&p->rs, in_rate, out_rate);
	if (!err)
		err = jb_alloc(&p->jb, JB_SLOTS, JB_PAYLOAD);
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

	return 0;
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
		if (p->te_out < 0)
			return 0;
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


/* one frame from the jitter buffer into the FIFO; false: none yet */
static bool frame_pull(struct path *p)
{
	uint8_t payload[JB_PAYLOAD];
	const uint8_t *next = NULL;
	size_t len = sizeof(payload), n = PCM_MAX, next_len = 0;
	size_t out_n = PCM_MAX;
	int16_t *src = tick_pcm;

	switch (jb_get(p->jb, payload, &len, NULL)) {

	case JB_OK:
		if (codec_decode(p->dec, tick_pcm, &n, payload, len) || !n) {
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
		return false;
	}

	if (p->rs) {
		if (resamp_process(p->rs, tick_rpcm, &out_n, tick_pcm, n))
			return true;
		src = tick_rpcm;
		n = out_n;
	}

	n = min(n, (size_t)FIFO_MAX - p->fifo_n);
	memcpy(&p->fifo[p->fifo_n], src, n * sizeof(int16_t));
	p->fifo_n += n;

	return true;
}


/**
 * Play out one tick: pull frames until 20 ms at the peer's rate are
 * ready, and encode them (packet thread, under leg->mtx)
 *
 * @param p   Path
 * @param len Returned length of the RTP packet to send, 0 for none
 *
 * @return The packet to send to the peer (valid until the next call)
 */
const uint8_t *path_tick(struct path *p, size_t *len)
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
	*len = 12 + plen;

	return tick_pkt;
}


/**
 * Play out one tick that nobody hears, as the peer hears a player
 * instead (packet thread, under leg->mtx): frames are pulled, so the
 * jitter buffer keeps time and in-band digits are still heard, but not
 * encoded. The stream's timestamps move on, and its next packet has
 * the marker bit (a new talkspurt to the peer's jitter buffer).
 *
 * @param p Path
 */
void path_idle(struct path *p)
{
	size_t need = codec_srate(p->enc) * TICK_MS / 1000;

	while (p->fifo_n < need && frame_pull(p))
		;

	if (p->fifo_n < need)
		return;

	p->fifo_n -= need;
	memmove(p->fifo, &p->fifo[need], p->fifo_n * sizeof(int16_t));
	p->ts += codec_ts_step(p->enc, need);
	p->sent = false;
}
