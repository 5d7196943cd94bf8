/**
 * @file rtpstat.c  What a leg receives: packets, loss, jitter, MOS
 *
 * Loss and jitter as RFC 3550 appendix A.3 and A.8 count them (a new
 * SSRC continues the totals), kept by the packet thread under the
 * leg's lock. The MOS is the ITU-T G.107 E-model with its usual
 * simplifications: R = 93.2 - Id - Ie,eff, with a one-way delay taken
 * as 40 ms plus twice the jitter (what a jitter buffer adds), and the
 * loss impairment of G.711 with concealment (Ie = 0, Bpl = 25.1; the
 * other codecs' published values are close, and a relayed leg's codec
 * is not always known).
 */
#include <string.h>
#include <math.h>
#include <re.h>
#include "rtp.h"
#include "rtpstat.h"


enum {
	MAX_DROPOUT = 3000,       /**< Jump that restarts counting    */
};


/**
 * Start counting a stream
 *
 * @param st    Statistics
 * @param clock RTP clock rate (jitter in ms)
 */
void rtpstat_init(struct rtpstat *st, uint32_t clock)
{
	if (!st)
		return;

	memset(st, 0, sizeof(*st));
	st->clock = clock ? clock : 8000;
}


static uint64_t expected(const struct rtpstat *st)
{
	if (!st->have)
		return 0;

	return (uint64_t)(st->cycles + st->max_seq) - st->base_seq + 1;
}


/**
 * Count a received packet
 *
 * @param st         Statistics
 * @param h          Its header
 * @param arrival_us When it arrived, microseconds on any clock
 */
void rtpstat_rx(struct rtpstat *st, const struct rtp_hdr *h,
		uint64_t arrival_us)
{
	int64_t arrival, transit, d;
	uint16_t udelta;

	if (!st || !h)
		return;

	if (!st->have || h->ssrc != st->ssrc) {
		if (st->have) {
			st->received_before += st->received;
			st->expected_before += expected(st);
		}
		st->have = true;
		st->ssrc = h->ssrc;
		st->base_seq = h->seq;
		st->max_seq = h->seq;
		st->cycles = 0;
		st->received = 0;
		st->transit = 0;
		st->jitter = 0;
	}

	udelta = (uint16_t)(h->seq - st->max_seq);
	if (udelta < MAX_DROPOUT) {
		if (h->seq < st->max_seq)
			st->cycles += 1u << 16;
		st->max_seq = h->seq;
	}
	else if (udelta > 0xffff - 100) {
		/* late or duplicate: counted, no jump */
	}
	else {
		/* a jump: count from here */
		st->received_before += st->received;
		st->expected_before += expected(st);
		st->base_seq = h->seq;
		st->max_seq = h->seq;
		st->cycles = 0;
		st->received = 0;
	}

	++st->received;

	arrival = (int64_t)(arrival_us * st->clock / 1000000);
	transit = arrival - (int64_t)h->ts;
	if (st->received > 1) {
		d = transit - st->transit;
		if (d < 0)
			d = -d;
		/* J += (|D| - J) / 16, kept scaled by 16 */
		st->jitter += (uint64_t)d - ((st->jitter + 8) >> 4);
	}
	st->transit = transit;
}


/**
 * The estimated MOS of a stream
 *
 * @param loss_pct  Packet loss, %
 * @param jitter_ms Interarrival jitter
 *
 * @return MOS, 1 .. 4.5
 */
double rtpstat_mos(double loss_pct, double jitter_ms)
{
	const double ie = 0, bpl = 25.1;
	double d = 40 + 2 * jitter_ms, id, ie_eff, r, mos;

	id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
	ie_eff = ie + (95 - ie) * loss_pct / (loss_pct + bpl);
	r = 93.2 - id - ie_eff;

	if (r <= 0)
		return 1;

	mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);

	return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}


/**
 * Sum a stream up
 *
 * @param st  Statistics
 * @param sum Summary out
 */
void rtpstat_summary(const struct rtpstat *st, struct rtpstat_sum *sum)
{
	uint64_t exp;

	if (!st || !sum)
		return;

	exp = st->expected_before + expected(st);
	sum->packets = st->received_before + st->received;
	sum->lost = exp > sum->packets ? exp - sum->packets : 0;
	sum->loss_pct = exp ? 100.0 * (double)sum->lost / (double)exp : 0;
	sum->jitter_ms = (double)(st->jitter >> 4) * 1000.0 /
		(st->clock ? st->clock : 8000);
	sum->mos = rtpstat_mos(sum->loss_pct, sum->jitter_ms);
}
