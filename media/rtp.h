/**
 * @file rtp.h  RTP and RTCP packets (RFC 3550), read and written in place
 *
 * Packet-thread code (rtp.c, rtcp.c): nothing here allocates, packets
 * are the caller's buffers. Include <re.h> first: its enum rtcp_type
 * (RTCP_SR, RTCP_RR, ...) names the values of rtcp_pkt.type. (re's
 * own RTP and RTCP code decodes into allocated objects and is tied to
 * its sockets.)
 */
#ifndef MEDIA_RTP_H
#define MEDIA_RTP_H

enum {
	RTP_HDR_SIZE   = 12,      /**< Fixed RTP header               */
	RTCP_HDR_SIZE  = 4,       /**< Common RTCP header             */
	RTCP_BLOCK_SIZE = 24,     /**< A report block                 */
	RTCP_CNAME_MAX = 255,     /**< Longest SDES item              */
};

/** An RTP packet's header; csrc and payload point into the packet */
struct rtp_hdr {
	bool marker;              /**< Marker bit                     */
	uint8_t pt;               /**< Payload type                   */
	uint16_t seq;             /**< Sequence number                */
	uint32_t ts;              /**< Timestamp                      */
	uint32_t ssrc;            /**< Source                         */
	uint8_t cc;               /**< CSRC count                     */
	const uint8_t *csrc;      /**< cc sources, 4 bytes each (BE)  */
	bool ext;                 /**< A header extension was skipped */
	uint8_t pad;              /**< Padding bytes removed          */
	const uint8_t *payload;   /**< Payload                        */
	size_t plen;              /**< Its length                     */
};

int  rtp_parse(struct rtp_hdr *h, const uint8_t *pkt, size_t len);
int  rtp_build(uint8_t *buf, size_t cap, bool marker, uint8_t pt,
	       uint16_t seq, uint32_t ts, uint32_t ssrc);
bool rtp_is_rtcp(const uint8_t *pkt, size_t len);


/** One packet of a compound RTCP packet; body points into it */
struct rtcp_pkt {
	uint8_t type;             /**< Packet type, enum rtcp_type    */
	uint8_t count;            /**< Report or source count         */
	bool last;                /**< Last of the compound           */
	const uint8_t *body;      /**< What follows its 4-byte header */
	size_t blen;              /**< Its length, without padding    */
};

/** An SR's sender info */
struct rtcp_sender {
	uint32_t ssrc;            /**< Sender (rtcp_build: o->ssrc)   */
	uint64_t ntp;             /**< Wallclock, NTP 32.32 format    */
	uint32_t rtp_ts;          /**< The same instant, RTP units    */
	uint32_t packets;         /**< Packets sent                   */
	uint32_t octets;          /**< Payload octets sent            */
};

/** A report block: what a receiver saw of one source */
struct rtcp_report {
	uint32_t ssrc;            /**< Source reported on             */
	uint8_t fraction;         /**< Lost since the last report/256 */
	int32_t lost;             /**< Cumulative lost, 24-bit signed */
	uint32_t ext_seq;         /**< Extended highest sequence no.  */
	uint32_t jitter;          /**< Interarrival jitter, RTP units */
	uint32_t lsr;             /**< Middle 32 bits of the last SR's
				       NTP time, 0: no SR yet         */
	uint32_t dlsr;            /**< Since that SR, 1/65536 s       */
};

/** What a compound packet tells the sender of one stream */
struct rtcp_info {
	uint32_t ssrc;            /**< Who sent it (first packet)     */
	bool sr;                  /**< It is a sender:                */
	struct rtcp_sender sender;/**< ... its sender info            */
	bool report;              /**< It reported on our stream:     */
	struct rtcp_report rb;    /**< ... that report block          */
	bool bye;                 /**< It said goodbye                */
};

/** A compound packet to send: SR or RR, SDES CNAME, maybe BYE */
struct rtcp_out {
	uint32_t ssrc;            /**< Our source                     */
	const struct rtcp_sender *sr; /**< Sender info; NULL: an RR   */
	const struct rtcp_report *rb; /**< On what we receive, or NULL */
	const char *cname;        /**< SDES CNAME, 1..255 bytes       */
	bool bye;                 /**< End with a BYE for ssrc        */
};

int  rtcp_next(struct rtcp_pkt *pkt, const uint8_t *buf, size_t len,
	       size_t *off);
int  rtcp_sender_read(struct rtcp_sender *s, const struct rtcp_pkt *pkt);
int  rtcp_report_read(struct rtcp_report *rb, const struct rtcp_pkt *pkt,
		      unsigned i);
int  rtcp_read(struct rtcp_info *info, const uint8_t *buf, size_t len,
	       uint32_t ssrc);
int  rtcp_build(uint8_t *buf, size_t *len, const struct rtcp_out *o);
uint64_t rtcp_ntp(uint64_t unix_us);

#endif
