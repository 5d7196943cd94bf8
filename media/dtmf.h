/**
 * @file dtmf.h  DTMF digits: RFC 4733 events and in-band tones
 *
 * Receivers and senders of both kinds, for the packet threads: none of
 * the per-packet or per-frame functions allocates. The RFC 4733 ones
 * are plain structs that the caller embeds (all zeros is a receiver
 * that has seen nothing); the in-band detector holds SpanDSP state and
 * is made on the control thread (dtmf_inband_rx_alloc); it hears 8 kHz
 * linear audio: callers resample first. In-band tones are key tones
 * (dtmf_tone, an embedded struct), made at any rate.
 */
#ifndef MEDIA_DTMF_H
#define MEDIA_DTMF_H

enum {
	DTMF_EVENT_SIZE   = 4,    /**< Telephone-event payload bytes  */
	DTMF_QUEUE_MAX    = 16,   /**< Digits an event sender holds   */
	DTMF_DURATION_MS  = 100,  /**< Default event length           */
	DTMF_PTIME_MS     = 20,   /**< Default packet interval        */
	DTMF_UPDATE_MS    = 50,   /**< Interval of the updates of an
				       event the relay makes (4733 2.5.1.2) */
	DTMF_TONE_MIN_MS  = 40,   /**< Shortest key tone (Q.24)       */
};

int  dtmf_event_code(char digit);
char dtmf_event_digit(uint8_t code);


/* ---- RFC 4733 (dtmf_event.c) ---- */

/** What one telephone-event packet told */
struct dtmf_event {
	uint8_t code;             /**< Event code (RFC 4733 3.2)      */
	char digit;               /**< Its key, 0: no key (flash ...) */
	bool start;               /**< A new key press: report it     */
	bool end;                 /**< Its end, the first time seen   */
	uint32_t duration;        /**< With end: length, clock ticks  */
};

/** RFC 4733 receiver of one stream (embedded; zeros to start) */
struct dtmf_event_rx {
	bool have;                /**< An event was seen              */
	bool ended;               /**< Its end was seen               */
	uint8_t code;             /**< Its code                       */
	uint32_t ts;              /**< Its (segment's) RTP timestamp  */
	uint32_t base;            /**< Length of its earlier segments */
};

/** RFC 4733 sender toward one stream (embedded) */
struct dtmf_event_tx {
	uint32_t step;            /**< Clock ticks per packet         */
	uint32_t length;          /**< Event length, whole packets    */
	bool busy;                /**< An event is being sent         */
	uint8_t code;             /**< Its code                       */
	uint32_t ts;              /**< Its RTP timestamp              */
	uint32_t elapsed;         /**< Duration sent so far           */
	unsigned ends;            /**< End packets sent               */
	uint8_t queue[DTMF_QUEUE_MAX]; /**< Codes waiting (ring)      */
	unsigned head;            /**< Oldest waiting                 */
	unsigned count;           /**< How many wait                  */
};

int  dtmf_event_rx(struct dtmf_event_rx *rx, struct dtmf_event *ev,
		   const uint8_t *payload, size_t len, uint32_t ts,
		   bool marker);
int  dtmf_event_tx_init(struct dtmf_event_tx *tx, uint32_t clock,
			uint32_t ptime_ms, uint32_t duration_ms);
int  dtmf_event_tx_put(struct dtmf_event_tx *tx, char digit);
bool dtmf_event_tx(struct dtmf_event_tx *tx, uint32_t now,
		   uint8_t payload[DTMF_EVENT_SIZE], bool *marker,
		   uint32_t *ts);


/* ---- in-band, SpanDSP (dtmf_inband.c) ---- */

/**
 * Called for each digit found in-band, once per key press, in the
 * thread that called dtmf_inband_rx
 *
 * @param digit '0'-'9', '*', '#' or 'A'-'D'
 * @param arg   Handler argument
 */
typedef void (dtmf_digit_h)(char digit, void *arg);

struct dtmf_inband_rx;
/** One key's two tones, steady, at any rate (embedded; for as long as
 *  the caller asks) */
struct dtmf_tone {
	int32_t step_lo;          /**< Phase step of the row tone     */
	int32_t step_hi;          /**< ... of the column tone         */
	uint32_t phase_lo;        /**< Phase of the row tone          */
	uint32_t phase_hi;        /**< ... of the column tone         */
	int16_t scale;            /**< Amplitude of each              */
};

int    dtmf_inband_rx_alloc(struct dtmf_inband_rx **rxp,
			    dtmf_digit_h *digith, void *arg);
void   dtmf_inband_rx(struct dtmf_inband_rx *rx, const int16_t *pcm,
		      size_t n);
int    dtmf_tone_start(struct dtmf_tone *t, char digit, uint32_t srate);
void   dtmf_tone_fill(struct dtmf_tone *t, int16_t *pcm, size_t n);

#endif
