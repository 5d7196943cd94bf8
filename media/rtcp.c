/**
 * @file rtcp.c  RTCP packets (RFC 3550 section 6), read and written in place
 *
 * Packet-thread code: no allocation. A compound packet is walked one
 * packet at a time, each length checked against what is left and
 * against what its type and count need, so that the readers of SR,
 * RR and BYE bodies can trust them. What the relay sends is one
 * compound packet: SR or RR with at most one report block (it reports
 * on the one stream it receives from a leg), SDES with the CNAME, and
 * a BYE when it leaves.
 */
#include <string.h>
#include <re.h>
#include "rtp.h"


enum {
	SENDER_SIZE   = 20,       /**< SR sender info after the SSRC  */
	LOST_MAX      = 0x7fffff, /**< Cumulative lost, 24-bit signed */
	LOST_MIN      = -0x800000,
};

/* seconds from 1900 (NTP) to 1970 (Unix): too large for an enum */
static const uint64_t ntp_unix_diff = 2208988800u;


static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}


static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}


/* where an SR's or RR's report blocks start in its body */
static size_t blocks_off(uint8_t type)
{
	return type == RTCP_SR ? 4 + SENDER_SIZE : 4;
}


/* the least body a packet's type and count need */
static size_t body_min(uint8_t type, uint8_t count)
{
	switch (type) {

	case RTCP_SR:
	case RTCP_RR:
		return blocks_off(type) + RTCP_BLOCK_SIZE * (size_t)count;

	case RTCP_BYE:
		return 4 * (size_t)count;

	default:
		return 0;
	}
}


/**
 * Take the next packet of a compound RTCP packet
 *
 * @param pkt The packet
 * @param buf Compound packet
 * @param len Its length
 * @param off Where the next packet starts (0 first); moved past it
 *
 * @return 0 if success, ENOENT after the last, EBADMSG if malformed
 */
int rtcp_next(struct rtcp_pkt *pkt, const uint8_t *buf, size_t len,
	      size_t *off)
{
	const uint8_t *p;
	size_t left, size, pad = 0;

	if (!pkt || !buf || !off)
		return EINVAL;

	if (*off >= len)
		return ENOENT;

	p = &buf[*off];
	left = len - *off;

	if (left < RTCP_HDR_SIZE || (p[0] >> 6) != 2)
		return EBADMSG;

	size = 4 * ((size_t)get16(&p[2]) + 1);
	if (size > left)
		return EBADMSG;

	/* only the last packet of a compound may be padded (A.2) */
	pkt->last = size == left;
	if (p[0] & 0x20) {
		pad = p[size - 1];
		if (!pkt->last || !pad || pad > size - RTCP_HDR_SIZE)
			return EBADMSG;
	}

	pkt->type = p[1];
	pkt->count = p[0] & 0x1f;
	pkt->body = &p[RTCP_HDR_SIZE];
	pkt->blen = size - RTCP_HDR_SIZE - pad;

	if (pkt->blen < body_min(pkt->type, pkt->count))
		return EBADMSG;

	*off += size;

	return 0;
}


/**
 * Read an SR's sender info
 *
 * @param s   Sender info out
 * @param pkt An SR from rtcp_next
 *
 * @return 0 if success, EPROTO if it is not an SR
 */
int rtcp_sender_read(struct rtcp_sender *s, const struct rtcp_pkt *pkt)
{
	const uint8_t *b;

	if (!s || !pkt || !pkt->body)
		return EINVAL;

	if (pkt->type != RTCP_SR)
		return EPROTO;

	if (pkt->blen < 4 + SENDER_SIZE)
		return EBADMSG;

	b = pkt->body;
	s->ssrc = get32(&b[0]);
	s->ntp = (uint64_t)get32(&b[4]) << 32 | get32(&b[8]);
	s->rtp_ts = get32(&b[12]);
	s->packets = get32(&b[16]);
	s->octets = get32(&b[20]);

	return 0;
}


/**
 * Read one report block of an SR or RR
 *
 * @param rb  Report block out
 * @param pkt An SR or RR from rtcp_next
 * @param i   Which block, below pkt->count
 *
 * @return 0 if success, ENOENT if there is no such block, EPROTO if it
 *         is not an SR or RR
 */
int rtcp_report_read(struct rtcp_report *rb, const struct rtcp_pkt *pkt,
		     unsigned i)
{
	const uint8_t *b;
	size_t off;
	uint32_t lost;

	if (!rb || !pkt || !pkt->body)
		return EINVAL;

	if (pkt->type != RTCP_SR && pkt->type != RTCP_RR)
		return EPROTO;

	if (i >= pkt->count)
		return ENOENT;

	off = blocks_off(pkt->type) + RTCP_BLOCK_SIZE * (size_t)i;
	if (off + RTCP_BLOCK_SIZE > pkt->blen)
		return EBADMSG;

	b = &pkt->body[off];
	lost = get32(&b[4]) & 0xffffff;

	rb->ssrc = get32(&b[0]);
	rb->fraction = b[4];
	rb->lost = lost & 0x800000 ? (int32_t)lost - 0x1000000 :
		(int32_t)lost;
	rb->ext_seq = get32(&b[8]);
	rb->jitter = get32(&b[12]);
	rb->lsr = get32(&b[16]);
	rb->dlsr = get32(&b[20]);

	return 0;
}


/**
 * Read what a compound packet from the party of one of our streams
 * says: its sender info, its report on our stream, its BYE
 *
 * @param info Result
 * @param buf  Compound packet
 * @param len  Its length
 * @param ssrc Our stream's source (the report block looked for)
 *
 * @return 0 if success, EBADMSG if malformed (the first packet must be
 *         an SR or RR, RFC 3550 A.2)
 */
int rtcp_read(struct rtcp_info *info, const uint8_t *buf, size_t len,
	      uint32_t ssrc)
{
	struct rtcp_report rb;
	struct rtcp_pkt pkt;
	size_t off = 0;
	unsigned i, n = 0;
	int err;

	if (!info || !buf)
		return EINVAL;

	memset(info, 0, sizeof(*info));

	while (!(err = rtcp_next(&pkt, buf, len, &off))) {

		if (!n++) {
			if (pkt.type != RTCP_SR && pkt.type != RTCP_RR)
				return EBADMSG;
			info->ssrc = get32(pkt.body);
		}

		if (pkt.type == RTCP_BYE) {
			info->bye = true;
			continue;
		}

		if (pkt.type == RTCP_SR && !info->sr)
			info->sr = !rtcp_sender_read(&info->sender, &pkt);

		for (i = 0; !rtcp_report_read(&rb, &pkt, i); i++) {
			if (rb.ssrc == ssrc) {
				info->rb = rb;
				info->report = true;
			}
		}
	}

	if (err != ENOENT)
		return err;

	/* an empty buffer holds no packet at all */
	return n ? 0 : EBADMSG;
}


static size_t sdes_size(size_t cname_len)
{
	/* SSRC, type, length, text, then 1-4 zero bytes to 32 bits */
	return RTCP_HDR_SIZE + 4 + ((2 + cname_len + 1 + 3) & ~(size_t)3);
}


static uint8_t *hdr_put(uint8_t *p, uint8_t count, uint8_t type,
			size_t size)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = type;
	put16(&p[2], (uint16_t)(size / 4 - 1));

	return &p[RTCP_HDR_SIZE];
}


static uint8_t *block_put(uint8_t *p, const struct rtcp_report *rb)
{
	int32_t lost = rb->lost > LOST_MAX ? LOST_MAX :
		rb->lost < LOST_MIN ? LOST_MIN : rb->lost;

	put32(&p[0], rb->ssrc);
	put32(&p[4], (uint32_t)rb->fraction << 24 |
	      ((uint32_t)lost & 0xffffff));
	put32(&p[8], rb->ext_seq);
	put32(&p[12], rb->jitter);
	put32(&p[16], rb->lsr);
	put32(&p[20], rb->dlsr);

	return &p[RTCP_BLOCK_SIZE];
}


/**
 * Write a compound packet: SR (or RR) with a report block on the
 * stream we receive, if any, SDES with our CNAME, and a BYE if asked
 *
 * @param buf Output
 * @param len Its size in, the packet's length out
 * @param o   What to say
 *
 * @return 0 if success, ENOBUFS if it does not fit, EINVAL if the CNAME
 *         is empty or longer than 255 bytes
 */
int rtcp_build(uint8_t *buf, size_t *len, const struct rtcp_out *o)
{
	size_t cname_len, report_size, sdes, need;
	uint8_t count, *p;

	if (!buf || !len || !o || !o->cname)
		return EINVAL;

	cname_len = strlen(o->cname);
	if (!cname_len || cname_len > RTCP_CNAME_MAX)
		return EINVAL;

	count = o->rb ? 1 : 0;
	report_size = RTCP_HDR_SIZE + body_min(o->sr ? RTCP_SR : RTCP_RR,
					       count);
	sdes = sdes_size(cname_len);
	need = report_size + sdes + (o->bye ? RTCP_HDR_SIZE + 4 : 0);
	if (need > *len)
		return ENOBUFS;

	p = hdr_put(buf, count, o->sr ? RTCP_SR : RTCP_RR, report_size);
	put32(p, o->ssrc);
	p += 4;
	if (o->sr) {
		put32(&p[0], (uint32_t)(o->sr->ntp >> 32));
		put32(&p[4], (uint32_t)o->sr->ntp);
		put32(&p[8], o->sr->rtp_ts);
		put32(&p[12], o->sr->packets);
		put32(&p[16], o->sr->octets);
		p += SENDER_SIZE;
	}
	if (o->rb)
		p = block_put(p, o->rb);

	p = hdr_put(p, 1, RTCP_SDES, sdes);
	memset(p, 0, sdes - RTCP_HDR_SIZE);
	put32(p, o->ssrc);
	p[4] = RTCP_SDES_CNAME;
	p[5] = (uint8_t)cname_len;
	memcpy(&p[6], o->cname, cname_len);
	p += sdes - RTCP_HDR_SIZE;

	if (o->bye) {
		p = hdr_put(p, 1, RTCP_BYE, RTCP_HDR_SIZE + 4);
		put32(p, o->ssrc);
	}

	*len = need;

	return 0;
}


/**
 * Wallclock time in NTP format, as SRs carry it and LSR quotes it
 *
 * @param unix_us Microseconds since 1970 (CLOCK_REALTIME)
 *
 * @return Seconds since 1900 in the top 32 bits, fraction below
 */
uint64_t rtcp_ntp(uint64_t unix_us)
{
	uint64_t sec = unix_us / 1000000 + ntp_unix_diff;
	uint64_t frac = ((unix_us % 1000000) << 32) / 1000000;

	return sec << 32 | frac;
}
