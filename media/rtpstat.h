/**
 * @file rtpstat.h  What a leg receives: packets, loss, jitter, MOS
 */
#ifndef MEDIA_RTPSTAT_H
#define MEDIA_RTPSTAT_H

struct rtp_hdr;

/** Receive statistics of one stream (RFC 3550 appendix A.1, A.8) */
struct rtpstat {
	bool have;                /**< A packet was counted           */
	uint32_t ssrc;            /**< Source counted                 */
	uint16_t max_seq;         /**< Highest sequence number        */
	uint32_t cycles;          /**< Sequence wraps, << 16          */
	uint32_t base_seq;        /**< First sequence number          */
	uint64_t received;        /**< Packets counted                */
	uint64_t received_before; /**< ... by earlier sources         */
	uint64_t expected_before; /**< Expected of earlier sources    */
	int64_t transit;          /**< Last transit, clock units      */
	uint64_t jitter;          /**< Interarrival jitter, << 4      */
	uint32_t clock;           /**< RTP clock rate                 */
};

/** A summary for the core */
struct rtpstat_sum {
	uint64_t packets;         /**< Received                       */
	uint64_t lost;            /**< Expected and not received      */
	double loss_pct;          /**< lost / expected, %             */
	double jitter_ms;         /**< Interarrival jitter            */
	double mos;               /**< Estimated MOS, 1 .. 4.5        */
};

void rtpstat_init(struct rtpstat *st, uint32_t clock);
void rtpstat_rx(struct rtpstat *st, const struct rtp_hdr *h,
		uint64_t arrival_us);
void rtpstat_summary(const struct rtpstat *st, struct rtpstat_sum *sum);
double rtpstat_mos(double loss_pct, double jitter_ms);

#endif
