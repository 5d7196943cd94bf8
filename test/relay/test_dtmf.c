/**
 * @file test_dtmf.c  DTMF digits: RFC 4733 events, received and sent
 *
 * Packet sequences as phones send them (and lose and repeat them) go
 * into the receiver, which must report each key press once; what the
 * sender makes must read back through the receiver as the same digit
 * and length. In-band digits are in test_dtmf_inband.c.
 */
#include <string.h>
#include <re.h>
#include "../../media/dtmf.h"
#include "relaytest.h"


enum { END = 0x80 };

/** Key presses and ends a receiver reported */
struct seen {
	char digits[32];          /**< Digits reported at starts      */
	size_t starts;            /**< How many                       */
	size_t ends;              /**< Ends reported                  */
	uint32_t duration;        /**< Duration of the last end       */
	uint8_t code;             /**< Code of the last start         */
};


/* one packet into the receiver, what it reported added to seen */
static int feed(struct dtmf_event_rx *rx, struct seen *seen, uint8_t code,
		uint8_t flags, uint16_t duration, uint32_t ts, bool marker)
{
	uint8_t p[4] = {code, (uint8_t)(flags | 10), (uint8_t)(duration >> 8),
			(uint8_t)duration};
	struct dtmf_event ev;
	int err;

	err = dtmf_event_rx(rx, &ev, p, sizeof(p), ts, marker);
	if (err)
		return err;

	if (ev.start) {
		if (seen->starts + 1 < sizeof(seen->digits))
			seen->digits[seen->starts] = ev.digit;
		++seen->starts;
		seen->code = ev.code;
	}

	if (ev.end) {
		++seen->ends;
		seen->duration = ev.duration;
	}

	return 0;
}


/* a whole event as a phone sends it: start with marker, continuations
 * every step, then three ends; first: packets of it lost at its start */
static int event(struct dtmf_event_rx *rx, struct seen *seen, uint8_t code,
		 uint32_t ts, uint16_t step, unsigned first)
{
	unsigned i;
	int err = 0;

	for (i = first; i < 5 && !err; i++)
		err = feed(rx, seen, code, 0, (uint16_t)(step * (i + 1)), ts,
			   i == 0);

	for (i = 0; i < 3 && !err; i++)
		err = feed(rx, seen, code, END, (uint16_t)(step * 6), ts,
			   false);

	return err;
}


int test_dtmf_event_rx(void)
{
	struct dtmf_event_rx rx;
	struct dtmf_event ev;
	struct seen seen;
	uint8_t p[4] = {5, 10, 0, 160};
	int i, err = 0;

	memset(&rx, 0, sizeof(rx));
	memset(&seen, 0, sizeof(seen));

	/* start, 4 continuations, 3 ends: once, with the length */
	TEST_CHECK(event(&rx, &seen, 5, 1000, 160, 0));
	TEST_EQUALS(1, seen.starts);
	TEST_EQUALS('5', seen.digits[0]);
	TEST_EQUALS(1, seen.ends);
	TEST_EQUALS(960, seen.duration);

	/* all but the ends lost: still once */
	TEST_CHECK(event(&rx, &seen, 9, 3000, 160, 5));
	TEST_EQUALS(2, seen.starts);
	TEST_EQUALS('9', seen.digits[1]);
	TEST_EQUALS(2, seen.ends);

	/* the same key twice: two events */
	TEST_CHECK(event(&rx, &seen, 11, 5000, 160, 0));
	TEST_CHECK(event(&rx, &seen, 11, 6600, 160, 1));
	TEST_EQUALS(4, seen.starts);
	TEST_EQUALS(0, memcmp(seen.digits, "59##", 4));

	/* the start repeated with its marker: one press */
	for (i = 0; i < 3; i++)
		TEST_CHECK(feed(&rx, &seen, 0, 0, 0, 8000, true));
	TEST_EQUALS(5, seen.starts);

	/* an end of the old event, late, after the next one started */
	TEST_CHECK(feed(&rx, &seen, 14, 0, 160, 9600, true));
	TEST_CHECK(feed(&rx, &seen, 0, END, 960, 8000, false));
	TEST_CHECK(feed(&rx, &seen, 0, END, 960, 8000, true));
	TEST_EQUALS(6, seen.starts);
	TEST_EQUALS(4, seen.ends);
	TEST_CHECK(feed(&rx, &seen, 14, END, 800, 9600, false));
	TEST_EQUALS(5, seen.ends);
	TEST_EQUALS(800, seen.duration);
	TEST_EQUALS(0, memcmp(seen.digits, "59##0C", 6));

	/* flash: a code, no digit */
	TEST_CHECK(event(&rx, &seen, 16, 12000, 160, 0));
	TEST_EQUALS(7, seen.starts);
	TEST_EQUALS(16, seen.code);
	TEST_EQUALS(0, seen.digits[6]);

	/* short payloads are refused and change nothing */
	TEST_EQUALS(EBADMSG, dtmf_event_rx(&rx, &ev, p, 3, 20000, true));
	TEST_EQUALS(EBADMSG, dtmf_event_rx(&rx, &ev, p, 0, 20000, true));
	TEST_ASSERT(!ev.start && !ev.end);
	TEST_CHECK(dtmf_event_rx(&rx, &ev, p, 4, 20000, true));
	TEST_ASSERT(ev.start && ev.digit == '5');
	TEST_EQUALS(EINVAL, dtmf_event_rx(NULL, &ev, p, 4, 20000, true));

 out:
	return err;
}


/* a key held past the 16-bit duration (48 kHz: 1.37 s) comes in
 * segments; and a stream restarted far back in time still reports */
int test_dtmf_event_rx_long(void)
{
	struct dtmf_event_rx rx;
	struct seen seen;
	uint32_t ts = 0xfffff000, d;
	int err = 0;

	memset(&rx, 0, sizeof(rx));
	memset(&seen, 0, sizeof(seen));

	for (d = 960; d <= 0xffff; d += 960)
		TEST_CHECK(feed(&rx, &seen, 2, 0, (uint16_t)d, ts, d == 960));
	TEST_CHECK(feed(&rx, &seen, 2, 0, 0xffff, ts, false));

	ts += 0xffff;
	for (d = 960; d < 20000; d += 960)
		TEST_CHECK(feed(&rx, &seen, 2, 0, (uint16_t)d, ts, false));
	TEST_CHECK(feed(&rx, &seen, 2, END, 20000, ts, false));
	TEST_CHECK(feed(&rx, &seen, 2, END, 20000, ts, false));

	TEST_EQUALS(1, seen.starts);
	TEST_EQUALS('2', seen.digits[0]);
	TEST_EQUALS(1, seen.ends);
	TEST_EQUALS(0xffff + 20000, seen.duration);

	/* new SSRCs, random timestamps: far ahead or far behind are new
	 * events, also with their start lost */
	TEST_CHECK(event(&rx, &seen, 3, 0x90000000, 960, 0));
	TEST_CHECK(event(&rx, &seen, 4, 0x10000000, 960, 0));
	TEST_CHECK(event(&rx, &seen, 6, 0x0f000000, 960, 2));
	TEST_CHECK(event(&rx, &seen, 7, 0x0f000000 + 7000, 960, 2));
	TEST_EQUALS(5, seen.starts);
	TEST_EQUALS(0, memcmp(seen.digits, "23467", 5));
	TEST_EQUALS(5, seen.ends);

 out:
	return err;
}


/* the sender's packets for one digit, checked and read back */
static int send_one(struct dtmf_event_tx *tx, struct dtmf_event_rx *rx,
		    struct seen *seen, uint32_t *now, uint32_t step,
		    uint32_t length)
{
	uint32_t ts0 = *now, ts, last = 0;
	unsigned packets = 0, ends = 0;
	uint8_t p[DTMF_EVENT_SIZE];
	bool marker;
	int err = 0;

	while (dtmf_event_tx(tx, *now, p, &marker, &ts)) {
		uint32_t d = (uint32_t)p[2] << 8 | p[3];

		*now += step;
		TEST_EQUALS(packets == 0, marker);
		TEST_EQUALS(ts0, ts);
		TEST_EQUALS(10, p[1] & 0x3f);

		if (p[1] & END) {
			++ends;
			TEST_EQUALS(length, d);
		}
		else {
			TEST_EQUALS(0, ends);
			TEST_EQUALS(last + step, d);
		}

		last = d;
		++packets;
		TEST_CHECK(feed(rx, seen, p[0], p[1] & END, (uint16_t)d, ts,
				marker));
		if (ends == 3)
			break;
	}

	TEST_EQUALS(3, ends);
	TEST_EQUALS(length / step + 2, packets);

 out:
	return err;
}


int test_dtmf_event_tx(void)
{
	static const uint32_t clockv[] = {8000, 16000, 48000};
	struct dtmf_event_tx tx;
	struct dtmf_event_rx rx;
	struct seen seen;
	uint8_t p[DTMF_EVENT_SIZE];
	uint32_t now, ts, step;
	bool marker;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(clockv); i++) {
		step = clockv[i] / 50;
		now = 0xffffff00;
		memset(&rx, 0, sizeof(rx));
		memset(&seen, 0, sizeof(seen));

		TEST_CHECK(dtmf_event_tx_init(&tx, clockv[i], DTMF_PTIME_MS,
					      DTMF_DURATION_MS));
		TEST_ASSERT(!dtmf_event_tx(&tx, now, p, &marker, &ts));

		TEST_CHECK(dtmf_event_tx_put(&tx, '7'));
		TEST_CHECK(send_one(&tx, &rx, &seen, &now, step, 5 * step));
		TEST_ASSERT(!dtmf_event_tx(&tx, now, p, &marker, &ts));

		/* queued digits go one after the other, each its own */
		TEST_CHECK(dtmf_event_tx_put(&tx, '#'));
		TEST_CHECK(dtmf_event_tx_put(&tx, 'b'));
		TEST_CHECK(send_one(&tx, &rx, &seen, &now, step, 5 * step));
		TEST_CHECK(send_one(&tx, &rx, &seen, &now, step, 5 * step));
		TEST_ASSERT(!dtmf_event_tx(&tx, now, p, &marker, &ts));

		TEST_EQUALS(3, seen.starts);
		TEST_EQUALS(0, memcmp(seen.digits, "7#B", 3));
		TEST_EQUALS(3, seen.ends);
		TEST_EQUALS(clockv[i] / 10, seen.duration);
	}

	/* 100 ms in 30 ms packets: rounded up to 120 ms */
	TEST_CHECK(dtmf_event_tx_init(&tx, 8000, 30, 100));
	TEST_CHECK(dtmf_event_tx_put(&tx, '1'));
	TEST_CHECK(send_one(&tx, &rx, &seen, &now, 240, 960));

	for (i = 0; i < DTMF_QUEUE_MAX; i++)
		TEST_CHECK(dtmf_event_tx_put(&tx, '0'));
	TEST_EQUALS(ENOSPC, dtmf_event_tx_put(&tx, '0'));
	TEST_EQUALS(EINVAL, dtmf_event_tx_put(&tx, 'x'));
	TEST_EQUALS(EINVAL, dtmf_event_tx_init(&tx, 44100, 20, 100));
	TEST_EQUALS(EINVAL, dtmf_event_tx_init(&tx, 8000, 0, 100));
	TEST_EQUALS(EINVAL, dtmf_event_tx_init(&tx, 8000, 20, 20));

	memset(&tx, 0, sizeof(tx));
	TEST_EQUALS(EINVAL, dtmf_event_tx_put(&tx, '1'));

	TEST_EQUALS(-1, dtmf_event_code('E'));
	TEST_EQUALS(12, dtmf_event_code('a'));
	TEST_EQUALS('*', dtmf_event_digit(10));

 out:
	return err;
}
