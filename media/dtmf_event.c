/**
 * @file dtmf_event.c  RFC 4733 telephone-events: received and sent
 *
 * Receiving. An event is known by its RTP timestamp: the first packet
 * seen with a new one starts it, whether or not it has the marker bit
 * (the start may be lost; even its first packet seen may be an end),
 * and everything else with that timestamp only continues or ends it.
 * A marker on the current timestamp is a repeated start, not a new
 * key press: some phones send their first packet three times. A
 * packet a little older than the current event is a late repeat of
 * an earlier one and is dropped; "a little" is LATE_MAX, so that a
 * stream that restarts with a random timestamp (new SSRC after a
 * re-INVITE) is not taken for one late packet after another. A key
 * held longer than the 16-bit duration field allows comes as segments
 * (section 2.5.1.3): the same event, no marker, a timestamp moved on
 * by the segment's length; they continue the press. Codes 0-15 are
 * the DTMF keys; the others (16 is flash) are given as a code with no
 * digit, for the caller to ignore or use.
 *
 * Sending. Digits wait in a ring; the caller asks for one payload per
 * packet time, giving its stream's timestamp of the moment, which an
 * event takes as its own when it starts. The first packet has the
 * marker, the duration grows by a packet time, and the last is sent
 * three times with the E bit (section 2.5.1.4), which also leaves two
 * packet times between two events. The default length (100 ms) is
 * above what any in-band regenerator downstream needs (ITU-T Q.24:
 * 40 ms is always accepted; Asterisk plays at least 80 ms) and short
 * enough, with the end packets, for seven digits a second.
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include "dtmf.h"


enum {
	END_BIT       = 0x80,     /**< E: the event has ended         */
	VOLUME        = 10,       /**< -10 dBm0, as DTMF is sent      */
	END_REPEAT    = 3,        /**< End packets sent               */
	LATE_MAX      = 0x20000,  /**< Behind the current event by at
				       most this: a late packet (a full
				       segment and 1.3 s at 48 kHz)   */
	CLOCK_MIN     = 8000,     /**< Telephone-event clock rates    */
	CLOCK_MAX     = 48000,
	PTIME_MIN     = 10,       /**< Packet times, ms               */
	PTIME_MAX     = 60,
	DURATION_MIN  = 40,       /**< Event lengths, ms (Q.24 min.)  */
	DURATION_MAX  = 1000,
};

static const char keyv[16] = "0123456789*#ABCD";


/**
 * Find the RFC 4733 event code of a DTMF key
 *
 * @param digit '0'-'9', '*', '#', 'A'-'D' or 'a'-'d'
 *
 * @return The code (0-15), or -1 if it is not a key
 */
int dtmf_event_code(char digit)
{
	char key = (char)toupper((unsigned char)digit);
	int i;

	for (i = 0; i < (int)sizeof(keyv); i++) {
		if (keyv[i] == key)
			return i;
	}

	return -1;
}


/**
 * Find the DTMF key of an RFC 4733 event code
 *
 * @param code Event code
 *
 * @return '0'-'9', '*', '#' or 'A'-'D', or 0 if it is no key
 */
char dtmf_event_digit(uint8_t code)
{
	return code < sizeof(keyv) ? keyv[code] : 0;
}


/* the next segment of a held key: same event, not ended, the timestamp
 * moved on by no more than one segment */
static bool next_segment(const struct dtmf_event_rx *rx, uint8_t code,
			 uint32_t ts)
{
	return code == rx->code && !rx->ended && ts - rx->ts <= 0xffff;
}


/**
 * Take a telephone-event payload (packet thread)
 *
 * @param rx      Receiver of the stream
 * @param ev      Returned: what the packet told; start is set exactly
 *                once per event, end once with its duration
 * @param payload Payload (RFC 4733 section 2.3)
 * @param len     Its length
 * @param ts      The packet's RTP timestamp
 * @param marker  The packet's marker bit
 *
 * @return 0 if success, EBADMSG if the payload is short, otherwise
 *         errorcode
 */
int dtmf_event_rx(struct dtmf_event_rx *rx, struct dtmf_event *ev,
		  const uint8_t *payload, size_t len, uint32_t ts,
		  bool marker)
{
	uint32_t duration, behind;
	uint8_t code;

	if (!rx || !ev || !payload)
		return EINVAL;

	memset(ev, 0, sizeof(*ev));

	if (len < DTMF_EVENT_SIZE)
		return EBADMSG;

	code = payload[0];
	duration = (uint32_t)payload[2] << 8 | payload[3];

	behind = rx->ts - ts;
	if (rx->have && behind && behind <= LATE_MAX)
		return 0;

	ev->code = code;
	ev->digit = dtmf_event_digit(code);

	if (!rx->have || (ts != rx->ts &&
			  (marker || !next_segment(rx, code, ts)))) {
		rx->have = true;
		rx->ended = false;
		rx->code = code;
		rx->base = 0;
		ev->start = true;
	}
	else if (ts != rx->ts) {
		rx->base += ts - rx->ts;
	}

	rx->ts = ts;

	if ((payload[1] & END_BIT) && !rx->ended) {
		rx->ended = true;
		ev->end = true;
		ev->duration = rx->base + duration;
	}

	return 0;
}


/**
 * Make a sender ready (control thread, before use)
 *
 * @param tx          Sender
 * @param clock       The event's clock rate, that of the stream's
 *                    codec (8000 - 48000, whole kHz)
 * @param ptime_ms    Packet time (10 - 60), e.g. DTMF_PTIME_MS
 * @param duration_ms Event length (40 - 1000), rounded up to whole
 *                    packets, e.g. DTMF_DURATION_MS
 *
 * @return 0 if success, otherwise errorcode
 */
int dtmf_event_tx_init(struct dtmf_event_tx *tx, uint32_t clock,
		       uint32_t ptime_ms, uint32_t duration_ms)
{
	if (!tx || clock < CLOCK_MIN || clock > CLOCK_MAX || clock % 1000 ||
	    ptime_ms < PTIME_MIN || ptime_ms > PTIME_MAX ||
	    duration_ms < DURATION_MIN || duration_ms > DURATION_MAX)
		return EINVAL;

	memset(tx, 0, sizeof(*tx));
	tx->step = clock / 1000 * ptime_ms;
	tx->length = (duration_ms + ptime_ms - 1) / ptime_ms;

	return 0;
}


/**
 * Queue a digit to send (packet thread)
 *
 * @param tx    Sender
 * @param digit '0'-'9', '*', '#', 'A'-'D' or 'a'-'d'
 *
 * @return 0 if success, ENOSPC if DTMF_QUEUE_MAX digits wait,
 *         otherwise errorcode
 */
int dtmf_event_tx_put(struct dtmf_event_tx *tx, char digit)
{
	int code = dtmf_event_code(digit);

	if (!tx || !tx->step || code < 0)
		return EINVAL;

	if (tx->count == DTMF_QUEUE_MAX)
		return ENOSPC;

	tx->queue[(tx->head + tx->count++) % DTMF_QUEUE_MAX] = (uint8_t)code;

	return 0;
}


/**
 * Make the payload to send this packet time, if any (packet thread)
 *
 * @param tx      Sender
 * @param now     The stream's RTP timestamp now
 * @param payload Returned payload
 * @param marker  Returned marker bit
 * @param ts      Returned RTP timestamp (the event's)
 *
 * @return True if a packet is to be sent
 */
bool dtmf_event_tx(struct dtmf_event_tx *tx, uint32_t now,
		   uint8_t payload[DTMF_EVENT_SIZE], bool *marker,
		   uint32_t *ts)
{
	uint32_t end;

	if (!tx || !payload || !marker || !ts)
		return false;

	if (!tx->busy) {
		if (!tx->count)
			return false;

		tx->busy = true;
		tx->code = tx->queue[tx->head];
		tx->head = (tx->head + 1) % DTMF_QUEUE_MAX;
		--tx->count;
		tx->ts = now;
		tx->elapsed = 0;
		tx->ends = 0;
	}

	end = tx->length * tx->step;
	*marker = tx->elapsed == 0;
	if (tx->elapsed < end)
		tx->elapsed += tx->step;

	payload[0] = tx->code;
	payload[1] = VOLUME;
	payload[2] = (uint8_t)(tx->elapsed >> 8);
	payload[3] = (uint8_t)tx->elapsed;
	*ts = tx->ts;

	if (tx->elapsed == end) {
		payload[1] |= END_BIT;
		if (++tx->ends == END_REPEAT)
			tx->busy = false;
	}

	return true;
}
