/**
 * @file dtmf.c  DTMF digits: RFC 4733 events and in-band tones
 *
 * An RFC 4733 event is one RTP timestamp: its first packet (whichever
 * arrives first: the start may be lost) gives the digit, and the
 * packets that continue it or repeat its end give nothing. An older
 * event's late repeat is ignored too.
 *
 * In-band digits are found by rem's Goertzel DTMF decoder, at the
 * decoder's own rate. (SpanDSP 0.0.6's dtmf_rx, tried first, reported
 * 852+1477 Hz and 941+1477 Hz tones as 'D' depending on their phase.)
 */
#include <string.h>
#include <re.h>
#include <rem_dtmf.h>
#include "dtmf.h"


enum {
	DIGITS_MAX = 8,           /**< Digits waiting to be taken     */
};

static const char eventv[16] = "0123456789*#ABCD";

/** In-band receiver */
struct dtmf_inband {
	struct dtmf_dec *dec;     /**< rem's decoder                  */
	char digits[DIGITS_MAX];  /**< Found, not yet taken           */
	size_t n;                 /**< How many                       */
};


/**
 * Take a telephone-event payload
 *
 * @param rx      Receiver of the stream
 * @param payload Payload (RFC 4733 section 2.3)
 * @param len     Its length
 * @param ts      The packet's RTP timestamp
 *
 * @return The digit ('0'-'9', '*', '#', 'A'-'D') when a new event
 *         starts, else 0
 */
char dtmf_event_rx(struct dtmf_event_rx *rx, const uint8_t *payload,
		   size_t len, uint32_t ts)
{
	if (!rx || !payload || len < 4)
		return 0;

	if (rx->have && (int32_t)(ts - rx->ts) <= 0)
		return 0;

	rx->have = true;
	rx->ts = ts;

	return payload[0] < sizeof(eventv) ? eventv[payload[0]] : 0;
}


static void destructor(void *arg)
{
	struct dtmf_inband *d = arg;

	mem_deref(d->dec);
}


static void digit_handler(char digit, void *arg)
{
	struct dtmf_inband *d = arg;

	if (d->n < DIGITS_MAX)
		d->digits[d->n++] = digit;
}


/**
 * Make an in-band receiver
 *
 * @param dp    Returned receiver
 * @param srate Sample rate of the audio it will get
 *
 * @return 0 if success, otherwise errorcode
 */
int dtmf_inband_alloc(struct dtmf_inband **dp, uint32_t srate)
{
	struct dtmf_inband *d;
	int err;

	if (!dp || !srate)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;

	err = dtmf_dec_alloc(&d->dec, srate, 1, digit_handler, d);
	if (err)
		mem_deref(d);
	else
		*dp = d;

	return err;
}


/**
 * Look for digits in audio
 *
 * @param d   Receiver
 * @param pcm Samples
 * @param n   Number of them
 *
 * @return A digit found (the first, if several), else 0
 */
char dtmf_inband_rx(struct dtmf_inband *d, const int16_t *pcm, size_t n)
{
	char digit;

	if (!d || !pcm)
		return 0;

	dtmf_dec_probe(d->dec, pcm, n);
	if (!d->n)
		return 0;

	digit = d->digits[0];
	memmove(d->digits, &d->digits[1], --d->n);

	return digit;
}
