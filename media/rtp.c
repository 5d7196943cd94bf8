/**
 * @file rtp.c  RTP headers (RFC 3550), read and written in place
 *
 * Packet-thread code: no allocation. Whatever a packet claims (CSRC
 * count, extension length, padding) is checked against its length.
 */
#include <string.h>
#include <re.h>
#include "rtp.h"


enum {
	PT_RTCP_MIN = 64,         /**< RFC 5761: SR and RR (200, 201) */
	PT_RTCP_MAX = 95,         /**< ... lose their top bit here    */
};


static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


/**
 * Read an RTP packet's header
 *
 * @param h   Result
 * @param pkt Packet
 * @param len Its length
 *
 * @return 0 if success, EBADMSG if it is not a well-formed RTP packet
 */
int rtp_parse(struct rtp_hdr *h, const uint8_t *pkt, size_t len)
{
	size_t off, pad = 0;
	uint8_t cc;

	if (!h || !pkt)
		return EINVAL;

	if (len < RTP_HDR_SIZE || (pkt[0] >> 6) != 2)
		return EBADMSG;

	cc = pkt[0] & 0x0f;
	off = RTP_HDR_SIZE + 4 * (size_t)cc;
	if (off > len)
		return EBADMSG;

	if (pkt[0] & 0x10) {
		if (off + 4 > len)
			return EBADMSG;
		off += 4 + 4 * (size_t)get16(&pkt[off + 2]);
		if (off > len)
			return EBADMSG;
	}

	/* the last byte counts the padding, itself included */
	if (pkt[0] & 0x20) {
		pad = pkt[len - 1];
		if (!pad || pad > len - off)
			return EBADMSG;
	}

	h->marker = pkt[1] >> 7;
	h->pt = pkt[1] & 0x7f;
	h->seq = get16(&pkt[2]);
	h->ts = get32(&pkt[4]);
	h->ssrc = get32(&pkt[8]);
	h->cc = cc;
	h->csrc = &pkt[RTP_HDR_SIZE];
	h->ext = (pkt[0] & 0x10) != 0;
	h->pad = (uint8_t)pad;
	h->payload = &pkt[off];
	h->plen = len - off - pad;

	return 0;
}


/**
 * Write a plain 12-byte RTP header
 *
 * @param buf    Output
 * @param cap    Its size
 * @param marker Marker bit
 * @param pt     Payload type
 * @param seq    Sequence number
 * @param ts     Timestamp
 * @param ssrc   Source
 *
 * @return 0 if success, ENOBUFS if it does not fit
 */
int rtp_build(uint8_t *buf, size_t cap, bool marker, uint8_t pt,
	      uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	if (!buf)
		return EINVAL;

	if (cap < RTP_HDR_SIZE)
		return ENOBUFS;

	buf[0] = 0x80;
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[4] = (uint8_t)(ts >> 24);
	buf[5] = (uint8_t)(ts >> 16);
	buf[6] = (uint8_t)(ts >> 8);
	buf[7] = (uint8_t)ts;
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;

	return 0;
}


/**
 * Tell RTCP from RTP on a port that carries both (RFC 5761 section 4:
 * RTP avoids payload types 64-95, where RTCP's SR and RR types fall
 * once the marker bit is masked)
 *
 * @param pkt Packet
 * @param len Its length
 *
 * @return True if it is to be read as RTCP
 */
bool rtp_is_rtcp(const uint8_t *pkt, size_t len)
{
	uint8_t pt;

	if (!pkt || len < 2)
		return false;

	pt = pkt[1] & 0x7f;

	return pt >= PT_RTCP_MIN && pt <= PT_RTCP_MAX;
}
