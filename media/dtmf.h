/**
 * @file dtmf.h  DTMF digits: RFC 4733 events and in-band tones
 */
#ifndef MEDIA_DTMF_H
#define MEDIA_DTMF_H

/** RFC 4733 receiver of one stream (embedded; packet thread) */
struct dtmf_event_rx {
	bool have;                /**< An event was seen              */
	uint32_t ts;              /**< Its RTP timestamp              */
};

char dtmf_event_rx(struct dtmf_event_rx *rx, const uint8_t *payload,
		   size_t len, uint32_t ts);

struct dtmf_inband;

int  dtmf_inband_alloc(struct dtmf_inband **dp, uint32_t srate);
char dtmf_inband_rx(struct dtmf_inband *d, const int16_t *pcm, size_t n);

#endif
