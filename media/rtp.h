/**
 * @file rtp.h  RTP headers (RFC 3550), read and written in place
 */
#ifndef MEDIA_RTP_H
#define MEDIA_RTP_H

enum { RTP_HDR_SIZE = 12 };

/** An RTP packet's header; payload points into the packet */
struct rtp_hdr {
	bool marker;              /**< Marker bit                     */
	uint8_t pt;               /**< Payload type                   */
	uint16_t seq;             /**< Sequence number                */
	uint32_t ts;              /**< Timestamp                      */
	uint32_t ssrc;            /**< Source                         */
	const uint8_t *payload;   /**< Payload                        */
	size_t plen;              /**< Its length                     */
};

int  rtp_parse(struct rtp_hdr *h, const uint8_t *pkt, size_t len);
int  rtp_build(uint8_t *buf, size_t cap, bool marker, uint8_t pt,
	       uint16_t seq, uint32_t ts, uint32_t ssrc);

#endif
