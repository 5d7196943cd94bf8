/**
 * @file dtmf_inband.c  In-band DTMF: SpanDSP's detector, and key tones
 *
 * The detector works on 8 kHz linear audio only (SpanDSP's filters are
 * made for that rate); callers resample first. The detector reports a key once,
 * when SpanDSP has seen the pair for its confirmation time, and again
 * only after the pair has stopped (its own debouncing, Q.24 timing);
 * it has good talk-off but no DC tolerance, which decoded audio never
 * has. A key tone (dtmf_tone) is one key held for as long as the
 * caller asks, at any rate, for a key whose length is only known when
 * it ends (an RFC 4733 event played in-band): SpanDSP's DDS, at the
 * level of SpanDSP's generator (-10 dBm0 each), whose queue and fixed
 * timing suit no use here.
 *
 * Link order matters: librem exports goertzel_init, goertzel_reset and
 * goertzel_result too, with other arguments and state. Where librem
 * comes first, SpanDSP's detector calls rem's, which write past its
 * filter states and find wrong digits (mostly 'D', none at all for
 * most keys). So no detector is made until a digit of SpanDSP's own
 * has come back through one.
 */
#include <limits.h>
#include <string.h>
#include <re.h>
#include <spandsp.h>
#include "dtmf.h"

#define DEBUG_MODULE "dtmf"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	PROBE_N  = 1200,          /**< Link check: 100 ms of '5' and
				       50 ms of silence               */
	TONE_DBM0 = -10,          /**< Key tone level, each frequency
				       (SpanDSP's generator's default) */
	SRATE_MIN = 8000,         /**< Key tone rates                 */
	SRATE_MAX = 48000,
};

/* the keypad, row by row, and the frequencies of its rows and columns */
static const char keypad[16] = "123A456B789C*0#D";
static const uint16_t row_hz[4] = {697, 770, 852, 941};
static const uint16_t col_hz[4] = {1209, 1336, 1477, 1633};

/** In-band detector */
struct dtmf_inband_rx {
	dtmf_rx_state_t *dsp;     /**< SpanDSP's detector             */
	dtmf_digit_h *digith;     /**< Digit handler                  */
	void *arg;                /**< Its argument                   */
};

static void rx_destructor(void *arg)
{
	struct dtmf_inband_rx *rx = arg;

	if (rx->dsp)
		dtmf_rx_free(rx->dsp);
}


/* SpanDSP hands over what it found during one dtmf_rx() call */
static void digits_handler(void *arg, const char *digits, int len)
{
	struct dtmf_inband_rx *rx = arg;
	int i;

	for (i = 0; i < len; i++)
		rx->digith(digits[i], rx->arg);
}


/* SpanDSP's detector finds SpanDSP's '5' (it does not, with rem's
 * goertzel_*); once it has, it always will (control thread only) */
static int link_check(void)
{
	static bool linked_right;
	dtmf_tx_state_t *tx;
	dtmf_rx_state_t *rx;
	int16_t pcm[PROBE_N] = {0};
	char digit = 0;
	int err = 0;

	if (linked_right)
		return 0;

	tx = dtmf_tx_init(NULL);
	rx = dtmf_rx_init(NULL, NULL, NULL);
	if (!tx || !rx) {
		err = ENOMEM;
		goto out;
	}

	dtmf_tx_set_timing(tx, 100, 0);
	(void)dtmf_tx_put(tx, "5", 1);
	(void)dtmf_tx(tx, pcm, PROBE_N);
	(void)dtmf_rx(rx, pcm, PROBE_N);
	(void)dtmf_rx_get(rx, &digit, 1);

	linked_right = digit == '5';
	if (!linked_right) {
		DEBUG_WARNING("SpanDSP's detector calls another library's"
			      " goertzel_* functions: link -lspandsp before"
			      " -lrem\n");
		err = ENOTSUP;
	}

 out:
	if (tx)
		dtmf_tx_free(tx);
	if (rx)
		dtmf_rx_free(rx);

	return err;
}


/**
 * Make an in-band detector
 *
 * @param rxp    Returned detector
 * @param digith Called with each digit found
 * @param arg    Handler argument
 *
 * @return 0 if success, ENOTSUP if SpanDSP is linked after librem
 *         (see above), otherwise errorcode
 */
int dtmf_inband_rx_alloc(struct dtmf_inband_rx **rxp, dtmf_digit_h *digith,
			 void *arg)
{
	struct dtmf_inband_rx *rx;
	int err;

	if (!rxp || !digith)
		return EINVAL;

	err = link_check();
	if (err)
		return err;

	rx = mem_zalloc(sizeof(*rx), rx_destructor);
	if (!rx)
		return ENOMEM;

	rx->digith = digith;
	rx->arg = arg;
	rx->dsp = dtmf_rx_init(NULL, digits_handler, rx);
	if (!rx->dsp)
		err = ENOMEM;

	if (err)
		mem_deref(rx);
	else
		*rxp = rx;

	return err;
}


/**
 * Search audio for digits (packet thread); the handler is called
 * before this returns
 *
 * @param rx  Detector
 * @param pcm Samples, 8 kHz, following those of the last call
 * @param n   Number of them
 */
void dtmf_inband_rx(struct dtmf_inband_rx *rx, const int16_t *pcm, size_t n)
{
	if (!rx || !pcm || n > INT_MAX)
		return;

	(void)dtmf_rx(rx->dsp, pcm, (int)n);
}


/* phase step of SpanDSP's DDS for hz at srate (2^32 is a whole turn) */
static int32_t phase_step(uint16_t hz, uint32_t srate)
{
	return (int32_t)(((uint64_t)hz << 32) / srate);
}


/**
 * Start a key tone (any thread; no allocation)
 *
 * @param t     Tone
 * @param digit '0'-'9', '*', '#', 'A'-'D' or 'a'-'d'
 * @param srate Sample rate (8000 - 48000)
 *
 * @return 0 if success, EINVAL if it is no key or no rate of ours
 */
int dtmf_tone_start(struct dtmf_tone *t, char digit, uint32_t srate)
{
	int code = dtmf_event_code(digit);
	const char *k;

	if (!t || code < 0 || srate < SRATE_MIN || srate > SRATE_MAX)
		return EINVAL;

	k = memchr(keypad, dtmf_event_digit((uint8_t)code), sizeof(keypad));
	if (!k)
		return EINVAL;

	t->step_lo = phase_step(row_hz[(k - keypad) / 4], srate);
	t->step_hi = phase_step(col_hz[(k - keypad) % 4], srate);
	t->phase_lo = 0;
	t->phase_hi = 0;
	t->scale = dds_scaling_dbm0(TONE_DBM0);

	return 0;
}


/**
 * Play a key tone on (packet thread): continues where the last call
 * left it
 *
 * @param t   Tone, started
 * @param pcm Returned samples, at the tone's rate
 * @param n   Number of them
 */
void dtmf_tone_fill(struct dtmf_tone *t, int16_t *pcm, size_t n)
{
	size_t i;

	if (!t || !pcm)
		return;

	for (i = 0; i < n; i++) {
		pcm[i] = (int16_t)(dds_mod(&t->phase_lo, t->step_lo,
					   t->scale, 0) +
				   dds_mod(&t->phase_hi, t->step_hi,
					   t->scale, 0));
	}
}
