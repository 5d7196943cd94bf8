/**
 * @file rtpstat.h  What a leg receives (packets, loss, jitter), what its
 *                  party reports of what we send it, and the MOS
 *
 * One struct rtpstat per leg, in the leg (no allocation), kept by the
 * packet thread under leg->mtx:
 *  - rtpstat_init when the leg's clock is known, rtpstat_codec for the
 *    E-model (init resets it to G.711);
 *  - rtpstat_rx for each RTP media packet received;
 *  - rtpstat_rtcp for each RTCP compound received (rtcp_read with the
 *    SSRC of what the party gets from us: out_ssrc), rtpstat_report
 *    for the report block of each RTCP packet we send it, rtpstat_sent
 *    for each RTCP packet it gets from us, made or relayed (all take
 *    "now" in NTP format, from the clock our SRs are stamped with);
 *  - rtpstat_summary for the core (query, CDR), rtpstat_encode to put
 *    it in a reply (control thread).
 */
#ifndef MEDIA_RTPSTAT_H
#define MEDIA_RTPSTAT_H

struct rtp_hdr;
struct rtcp_info;
struct rtcp_report;

/** Receive statistics of one stream (RFC 3550 appendix A.1, A.3, A.8) */
struct rtpstat {
	uint32_t clock;           /**< RTP clock rate                 */
	double ie;                /**< Codec's E-model impairment ... */
	double bpl;               /**< ... and its loss robustness    */

	bool have;                /**< A source is counted:           */
	uint32_t ssrc;            /**< ... that source                */
	uint16_t max_seq;         /**< Highest sequence number        */
	uint32_t cycles;          /**< Sequence wraps, << 16          */
	uint32_t base_seq;        /**< First sequence number          */
	uint32_t bad_seq;         /**< After a jump, the sequence number
				       that confirms it; > 0xffff: none */
	uint64_t received;        /**< Packets of this run            */
	uint64_t expected_prior;  /**< Expected at the last report    */
	uint64_t received_prior;  /**< Received at the last report    */
	uint64_t received_before; /**< Received in earlier runs       */
	uint64_t expected_before; /**< Expected in earlier runs       */
	uint32_t transit;         /**< Last transit, clock units      */
	uint64_t jitter;          /**< Interarrival jitter, << 4      */

	bool probing;             /**< Last other source seen (on
				       probation until counted):      */
	uint32_t probe_ssrc;      /**< ... its SSRC                   */
	uint16_t probe_seq;       /**< ... its last sequence number   */
	unsigned probe_n;         /**< ... packets in sequence        */
	uint32_t probe_transit;   /**< ... its last transit           */

	uint32_t lsr;             /**< Its last SR, middle 32 bits of
				       the NTP time; 0: none          */
	uint64_t lsr_at;          /**< When that SR came, NTP format  */

	bool remote;              /**< It reported on our stream:     */
	uint8_t remote_fraction;  /**< ... loss in its last interval  */
	int32_t remote_lost;      /**< ... cumulative lost            */
	uint32_t remote_jitter;   /**< ... jitter, clock units        */
	bool have_rtt;            /**< A round trip was measured:     */
	uint32_t rtt;             /**< ... the last, 1/65536 s        */

	bool out;                 /**< RTCP went to the party:        */
	uint32_t out_ssrc;        /**< ... on this source of ours (or
				       relayed), its reports name it  */
	uint32_t out_lsr;         /**< ... the last SR's NTP time,
				       middle 32 bits, as it quotes it */
	uint64_t out_at;          /**< ... when that SR went, NTP
				       format, our clock; 0: no SR    */
};

/** A summary for the core */
struct rtpstat_sum {
	uint64_t packets;         /**< Received                       */
	uint64_t lost;            /**< Expected and not received      */
	double loss_pct;          /**< lost / expected, %             */
	double jitter_ms;         /**< Interarrival jitter            */
	double mos;               /**< Estimated MOS of it, 1 .. 4.5  */
	double rtt_ms;            /**< Round trip, -1: not known      */
	bool remote;              /**< Its party reported on ours:    */
	double remote_loss_pct;   /**< ... loss in its last interval  */
	double remote_jitter_ms;  /**< ... jitter                     */
	double remote_mos;        /**< ... estimated MOS, 1 .. 4.5    */
};

void rtpstat_init(struct rtpstat *st, uint32_t clock);
int  rtpstat_codec(struct rtpstat *st, const char *name);
void rtpstat_rx(struct rtpstat *st, const struct rtp_hdr *h,
		uint64_t arrival_us);
int  rtpstat_report(struct rtpstat *st, struct rtcp_report *rb,
		    uint64_t now_ntp);
void rtpstat_rtcp(struct rtpstat *st, const struct rtcp_info *info,
		  uint64_t now_ntp);
void rtpstat_sent(struct rtpstat *st, uint32_t ssrc, uint64_t sr_ntp,
		  uint64_t now_ntp);
void rtpstat_summary(const struct rtpstat *st, struct rtpstat_sum *sum);
double rtpstat_mos(double ie, double bpl, double loss_pct,
		   double delay_ms);

struct odict;

int  rtpstat_encode(struct odict *q, const struct rtpstat_sum *sum);

#endif
