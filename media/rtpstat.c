/**
 * @file rtpstat.c  What a leg receives, what its party reports, the MOS
 *
 * Sequence numbers, loss and jitter as RFC 3550 appendix A.1, A.3 and
 * A.8 count them, with two choices of ours: the packets that pass a
 * new source's probation, or confirm a jump, are counted (A.1 drops
 * them), so a clean stream of n packets shows n received and none
 * lost; and the totals of earlier sources and jumps are kept for the
 * summary (the report blocks, as A.1 says, cover the current run).
 * Transit times are taken modulo 2^32, so a timestamp wrap is no jump.
 *
 * The MOS is the ITU-T G.107 E-model with its usual simplifications:
 * R = 93.2 - Id - Ie,eff, random loss (BurstR = 1), and a one-way
 * delay taken as 40 ms (packetization and the smallest jitter buffer)
 * plus twice the jitter (what an adaptive buffer adds) plus half the
 * round trip when RTCP measured one (the 40 ms are not the network's,
 * so they stay).
 *
 * The round trip is the relay's to the party: A - LSR - DLSR (RFC 3550
 * section 6.4.1) where LSR quotes the last SR the party got from us.
 * On a transcoded leg that SR is our own; on a relayed one it is the
 * far party's, stamped with that party's clock, so what counts is when
 * we relayed it (rtpstat_sent), on our clock: the party's delay since
 * (DLSR) taken from our time since, either way.
 */
#include <string.h>
#include <re.h>
#include "rtp.h"
#include "rtpstat.h"


enum {
	MAX_DROPOUT    = 3000,    /**< Largest gap still in sequence  */
	MAX_MISORDER   = 100,     /**< Furthest back still reordered  */
	MIN_SEQUENTIAL = 2,       /**< Probation of a new source      */
	SEQ_NONE       = 0x10000, /**< No jump awaiting confirmation  */
	LOST_MAX       = 0x7fffff,/**< Report's 24-bit signed field   */
	LOST_MIN       = -0x800000,
};

/** A codec's E-model values (ITU-T G.113 Appendix I where it has them) */
struct impairment {
	const char *name;         /**< rtpmap encoding name           */
	double ie;                /**< Equipment impairment           */
	double bpl;               /**< Packet-loss robustness         */
};

/*
 * G.711 with concealment: Ie 0, Bpl 25.1 (G.113 Appendix I); the
 * relay and the phones conceal G.711 loss. G.722: the narrowband
 * model cannot credit wideband speech (that is G.107.1's scale, up to
 * R 129), so it gets G.711's values, a floor. Opus: G.113 has no
 * values; at the rates phones use it is rated at or above G.711 (Ie
 * 0), and its concealment is taken a little less robust than G.711's
 * (Bpl 20, near G.729A's 19) because in-band FEC helps only when the
 * sender enables it and losses are single.
 */
static const struct impairment impairmentv[] = {
	{"PCMU", 0, 25.1},
	{"PCMA", 0, 25.1},
	{"G722", 0, 25.1},
	{"opus", 0, 20.0},
};


/**
 * Start counting a stream
 *
 * @param st    Statistics
 * @param clock RTP clock rate (0: 8000)
 */
void rtpstat_init(struct rtpstat *st, uint32_t clock)
{
	if (!st)
		return;

	memset(st, 0, sizeof(*st));
	st->clock = clock ? clock : 8000;
	st->ie = impairmentv[0].ie;
	st->bpl = impairmentv[0].bpl;
	st->bad_seq = SEQ_NONE;
}


/**
 * Set the codec the MOS is estimated for
 *
 * @param st   Statistics
 * @param name rtpmap encoding name (PCMU, PCMA, G722, opus)
 *
 * @return 0 if success, ENOENT if unknown (the values stay)
 */
int rtpstat_codec(struct rtpstat *st, const char *name)
{
	size_t i;

	if (!st || !name)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(impairmentv); i++) {
		if (!str_casecmp(name, impairmentv[i].name)) {
			st->ie = impairmentv[i].ie;
			st->bpl = impairmentv[i].bpl;
			return 0;
		}
	}

	return ENOENT;
}


static uint64_t expected(const struct rtpstat *st)
{
	if (!st->have)
		return 0;

	return (uint64_t)st->cycles + st->max_seq - st->base_seq + 1;
}


/* a new run that started n packets back and is at seq now: the old
 * run's counts go to the totals */
static void run_start(struct rtpstat *st, uint16_t seq, unsigned n)
{
	if (st->have) {
		st->received_before += st->received;
		st->expected_before += expected(st);
	}

	st->have = true;
	st->max_seq = seq;
	st->base_seq = (uint16_t)(seq - (n - 1));
	st->cycles = st->base_seq > seq ? 1u << 16 : 0;
	st->bad_seq = SEQ_NONE;
	st->received = n - 1;
	st->expected_prior = 0;
	st->received_prior = 0;
}


/* another source: true once it passed probation and is counted */
static bool probe(struct rtpstat *st, const struct rtp_hdr *h,
		  uint32_t transit)
{
	uint32_t prev = st->probe_transit;

	if (st->probing && h->ssrc == st->probe_ssrc &&
	    h->seq == (uint16_t)(st->probe_seq + 1)) {
		++st->probe_n;
	}
	else {
		st->probing = true;
		st->probe_ssrc = h->ssrc;
		st->probe_n = 1;
	}

	st->probe_seq = h->seq;
	st->probe_transit = transit;

	if (st->probe_n < MIN_SEQUENTIAL)
		return false;

	run_start(st, h->seq, MIN_SEQUENTIAL);
	st->ssrc = h->ssrc;
	st->transit = prev;
	st->jitter = 0;
	st->lsr = 0;

	return true;
}


/* the counted source's sequence number (A.1): false if it is a jump
 * not yet confirmed by the next one in sequence */
static bool seq_update(struct rtpstat *st, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - st->max_seq);

	if (udelta < MAX_DROPOUT) {
		if (seq < st->max_seq)
			st->cycles += 1u << 16;
		st->max_seq = seq;
	}
	else if (udelta <= 0x10000 - MAX_MISORDER) {
		if (seq != st->bad_seq) {
			st->bad_seq = (uint16_t)(seq + 1);
			return false;
		}
		run_start(st, seq, 2);
	}

	/* else late or duplicate: counted, as A.1 does */
	return true;
}


/* microseconds to clock units, modulo 2^32 like RTP timestamps */
static uint32_t clock_units(const struct rtpstat *st, uint64_t us)
{
	return (uint32_t)(us / 1000000 * st->clock +
			  us % 1000000 * st->clock / 1000000);
}


/**
 * Count a received RTP packet
 *
 * @param st         Statistics
 * @param h          Its header
 * @param arrival_us When it arrived, microseconds on a monotonic clock
 */
void rtpstat_rx(struct rtpstat *st, const struct rtp_hdr *h,
		uint64_t arrival_us)
{
	uint32_t transit, d;

	if (!st || !h)
		return;

	transit = clock_units(st, arrival_us) - h->ts;

	if (!st->have || h->ssrc != st->ssrc) {
		if (!probe(st, h, transit))
			return;
	}
	else if (!seq_update(st, h->seq)) {
		return;
	}

	++st->received;

	/* J += (|D| - J) / 16, kept scaled by 16 (A.8) */
	d = transit - st->transit;
	if (d & 0x80000000u)
		d = 0u - d;
	st->jitter += d - ((st->jitter + 8) >> 4);
	st->transit = transit;
}


/**
 * Make the report block on the counted source for an RTCP packet we
 * send, and start the next loss interval
 *
 * @param st      Statistics
 * @param rb      Report block out
 * @param now_ntp Now, NTP format (for DLSR)
 *
 * @return 0 if success, ENOENT if no source is counted yet
 */
int rtpstat_report(struct rtpstat *st, struct rtcp_report *rb,
		   uint64_t now_ntp)
{
	uint64_t exp, exp_int, rec_int;
	int64_t lost, lost_int;

	if (!st || !rb)
		return EINVAL;

	if (!st->have)
		return ENOENT;

	exp = expected(st);
	exp_int = exp - st->expected_prior;
	rec_int = st->received - st->received_prior;
	st->expected_prior = exp;
	st->received_prior = st->received;

	lost = (int64_t)exp - (int64_t)st->received;
	lost_int = (int64_t)exp_int - (int64_t)rec_int;

	rb->ssrc = st->ssrc;
	rb->fraction = 0;
	if (exp_int && lost_int > 0)
		rb->fraction = (uint8_t)min((uint64_t)lost_int * 256 / exp_int,
					    (uint64_t)255);
	rb->lost = (int32_t)(lost > LOST_MAX ? LOST_MAX :
			     lost < LOST_MIN ? LOST_MIN : lost);
	rb->ext_seq = st->cycles + st->max_seq;
	rb->jitter = (uint32_t)min(st->jitter >> 4, (uint64_t)UINT32_MAX);
	rb->lsr = st->lsr;
	rb->dlsr = 0;
	if (st->lsr && now_ntp > st->lsr_at)
		rb->dlsr = (uint32_t)min((now_ntp - st->lsr_at) >> 16,
					 (uint64_t)UINT32_MAX);

	return 0;
}


/**
 * Take what an RTCP compound from the leg's party said: its SR (quoted
 * back in our reports), and its report on our stream, with the round
 * trip when it quotes one of our SRs (RFC 3550 section 6.4.1)
 *
 * @param st      Statistics
 * @param info    What rtcp_read found
 * @param now_ntp When it came, NTP format, on our SRs' clock
 */
void rtpstat_rtcp(struct rtpstat *st, const struct rtcp_info *info,
		  uint64_t now_ntp)
{
	int32_t rtt;

	if (!st || !info)
		return;

	if (info->sr && st->have && info->sender.ssrc == st->ssrc) {
		st->lsr = (uint32_t)(info->sender.ntp >> 16);
		st->lsr_at = now_ntp;
	}

	if (!info->report)
		return;

	st->remote = true;
	st->remote_fraction = info->rb.fraction;
	st->remote_lost = info->rb.lost;
	st->remote_jitter = info->rb.jitter;

	if (!info->rb.lsr)
		return;

	/* A - LSR - DLSR, in 1/65536 s, LSR as the time our last SR went;
	 * an SR we have no record of: stamped with the clock of now_ntp;
	 * one that is not our last: no measure. Below zero: clocks
	 * disagree. */
	if (!st->out_at)
		rtt = (int32_t)((uint32_t)(now_ntp >> 16) - info->rb.lsr -
				info->rb.dlsr);
	else if (info->rb.lsr == st->out_lsr && now_ntp >= st->out_at)
		rtt = (int32_t)((uint32_t)((now_ntp - st->out_at) >> 16) -
				info->rb.dlsr);
	else
		return;

	if (rtt >= 0) {
		st->rtt = (uint32_t)rtt;
		st->have_rtt = true;
	}
}


/**
 * Note an RTCP packet the party got from us, made or relayed: its
 * reports on that source are ours to read, and a report quoting its SR
 * gives the round trip
 *
 * @param st      Statistics
 * @param ssrc    Its source (the SR's or RR's sender)
 * @param sr_ntp  The NTP time in its SR; 0: it was an RR
 * @param now_ntp When it went, NTP format, our clock
 */
void rtpstat_sent(struct rtpstat *st, uint32_t ssrc, uint64_t sr_ntp,
		  uint64_t now_ntp)
{
	if (!st)
		return;

	if (!st->out || ssrc != st->out_ssrc) {
		st->out_lsr = 0;
		st->out_at = 0;
	}

	st->out = true;
	st->out_ssrc = ssrc;

	if (!sr_ntp)
		return;

	st->out_lsr = (uint32_t)(sr_ntp >> 16);
	st->out_at = now_ntp;
}


/**
 * The estimated MOS (ITU-T G.107 E-model, simplified)
 *
 * @param ie       Codec's equipment impairment
 * @param bpl      Codec's packet-loss robustness
 * @param loss_pct Packet loss, %
 * @param delay_ms One-way delay, mouth to ear
 *
 * @return MOS, 1 .. 4.5
 */
double rtpstat_mos(double ie, double bpl, double loss_pct, double delay_ms)
{
	double id, ie_eff = ie, r, mos;

	if (!(loss_pct > 0))
		loss_pct = 0;
	else if (loss_pct > 100)
		loss_pct = 100;

	if (!(delay_ms > 0))
		delay_ms = 0;

	id = 0.024 * delay_ms +
		(delay_ms > 177.3 ? 0.11 * (delay_ms - 177.3) : 0);

	if (loss_pct + bpl > 0)
		ie_eff += (95 - ie) * loss_pct / (loss_pct + bpl);

	r = 93.2 - id - ie_eff;
	if (r <= 0)
		return 1;
	if (r >= 100)
		return 4.5;

	mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);

	return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}


static double delay(const struct rtpstat *st, double jitter_ms)
{
	double d = 40 + 2 * jitter_ms;

	return st->have_rtt ? d + st->rtt * 1000.0 / 65536 / 2 : d;
}


/**
 * Sum a stream up
 *
 * @param st  Statistics
 * @param sum Summary out
 */
void rtpstat_summary(const struct rtpstat *st, struct rtpstat_sum *sum)
{
	uint32_t clock;
	uint64_t exp;

	if (!st || !sum)
		return;

	memset(sum, 0, sizeof(*sum));
	clock = st->clock ? st->clock : 8000;

	exp = st->expected_before + expected(st);
	sum->packets = st->received_before + st->received;
	sum->lost = exp > sum->packets ? exp - sum->packets : 0;
	sum->loss_pct = exp ? 100.0 * (double)sum->lost / (double)exp : 0;
	sum->jitter_ms = (double)st->jitter / 16 * 1000 / clock;
	sum->mos = rtpstat_mos(st->ie, st->bpl, sum->loss_pct,
			       delay(st, sum->jitter_ms));
	sum->rtt_ms = st->have_rtt ? st->rtt * 1000.0 / 65536 : -1;

	if (!st->remote)
		return;

	sum->remote = true;
	sum->remote_loss_pct = st->remote_fraction * 100.0 / 256;
	sum->remote_jitter_ms = st->remote_jitter * 1000.0 / clock;
	sum->remote_mos = rtpstat_mos(st->ie, st->bpl, sum->remote_loss_pct,
				      delay(st, sum->remote_jitter_ms));
}


/**
 * Add a summary to a reply's "quality" object (control thread): what
 * the relay received; the round trip once measured; what the party
 * reported of our stream, once it did
 *
 * @param q   Object to add to
 * @param sum Summary
 *
 * @return 0 if success, otherwise errorcode
 */
int rtpstat_encode(struct odict *q, const struct rtpstat_sum *sum)
{
	struct odict *r = NULL;
	int err;

	if (!q || !sum)
		return EINVAL;

	err  = odict_entry_add(q, "packets", ODICT_INT, (int64_t)sum->packets);
	err |= odict_entry_add(q, "lost", ODICT_INT, (int64_t)sum->lost);
	err |= odict_entry_add(q, "loss_pct", ODICT_DOUBLE, sum->loss_pct);
	err |= odict_entry_add(q, "jitter_ms", ODICT_DOUBLE, sum->jitter_ms);
	err |= odict_entry_add(q, "mos", ODICT_DOUBLE, sum->mos);
	if (sum->rtt_ms >= 0)
		err |= odict_entry_add(q, "rtt_ms", ODICT_DOUBLE,
				       sum->rtt_ms);
	if (err || !sum->remote)
		return err;

	err = odict_alloc(&r, 4);
	if (err)
		return err;

	err  = odict_entry_add(r, "loss_pct", ODICT_DOUBLE,
			       sum->remote_loss_pct);
	err |= odict_entry_add(r, "jitter_ms", ODICT_DOUBLE,
			       sum->remote_jitter_ms);
	err |= odict_entry_add(r, "mos", ODICT_DOUBLE, sum->remote_mos);
	err |= odict_entry_add(q, "remote", ODICT_OBJECT, r);

	mem_deref(r);

	return err;
}
