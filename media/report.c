/**
 * @file report.c  RTCP with a leg's party: what it sends is read, and a
 *                 transcoded leg gets the relay's own reports
 *
 * Relayed legs: the parties' RTCP crosses as it is and is read on the
 * way (report_rx). A party's report block on what it gets (the far
 * party's stream) gives the loss and jitter it sees; quoting an SR we
 * relayed to it (report_relayed notes when), the round trip from the
 * relay to it, on our clock alone.
 *
 * Transcoded legs: RTCP ends at the relay, both ways. What the party
 * sends is read and not relayed (the far party knows none of the
 * streams it speaks of), and the relay reports to it itself, about
 * every interval (5 s; RFC 3550 section 6.2's randomisation to 0.5 -
 * 1.5 of it, the first after half of that): an SR on the stream we send
 * it (the peer's path's; an RR before it sent anything) with a report
 * block on the party's stream, and SDES CNAME, protected with the
 * leg's SRTP key if it has one. report_tick runs in the packet thread's
 * 20 ms tick, which runs only while the thread has a transcoded leg or
 * a player: RTCP adds no timer and no wake-up of its own.
 *
 * The NTP clock of the SRs is the wall clock; round trips are
 * differences on it, taken within seconds.
 *
 * Packet threads, but report_interval (at start, before the threads)
 * and report_build (no state of its own).
 */
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <re.h>
#include "relay.h"
#include "rtp.h"


enum {
	INTERVAL_MS  = 5000,      /**< RFC 3550's minimum interval    */
	RTCP_MAX     = 256,       /**< What we make, SRTCP trailer too */
	CNAME_MAX    = 80,        /**< "sbrelay-<id>@<IPv6 address>"  */
};

/* written before the packet threads start, read-only after */
static uint32_t interval_ms = INTERVAL_MS;

/* randomisation state of each packet thread (rand_u32 is not meant for
 * other threads than re_main's) */
static _Thread_local uint32_t seed;


/**
 * Set the RTCP interval of transcoded legs (before the packet threads
 * start)
 *
 * @param ms Interval, 0: the default of 5 s
 */
void report_interval(uint32_t ms)
{
	interval_ms = ms ? ms : INTERVAL_MS;
}


/**
 * The wall clock in NTP format, as our SRs carry it
 *
 * @return Now, seconds since 1900 in the top 32 bits
 */
uint64_t report_ntp(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return rtcp_ntp((uint64_t)ts.tv_sec * 1000000 +
			(uint64_t)ts.tv_nsec / 1000);
}


/* the interval, randomised to 0.5 - 1.5 of it (xorshift32) */
static uint64_t interval_next(void)
{
	if (!seed)
		seed = (uint32_t)now_micro() | 1;

	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;

	return interval_ms / 2 + seed % (interval_ms + 1);
}


/**
 * Make the compound RTCP packet we send a leg's party: SR on our
 * stream (or RR), a report block on its stream if one is counted, SDES
 * CNAME; the report's loss interval ends, and the packet is noted as
 * sent (rtpstat_sent)
 *
 * @param buf     Output
 * @param len     Its size in, the packet's length out
 * @param st      What the leg receives
 * @param ssrc    Our stream to the party
 * @param sr      Its sender info, NULL: an RR
 * @param cname   Our CNAME
 * @param now_ntp Now, NTP format
 *
 * @return 0 if success, otherwise errorcode
 */
int report_build(uint8_t *buf, size_t *len, struct rtpstat *st,
		 uint32_t ssrc, const struct rtcp_sender *sr,
		 const char *cname, uint64_t now_ntp)
{
	struct rtcp_report rb;
	struct rtcp_out o;
	int err;

	if (!buf || !len || !st || !cname)
		return EINVAL;

	memset(&o, 0, sizeof(o));
	o.ssrc = ssrc;
	o.sr = sr;
	o.rb = rtpstat_report(st, &rb, now_ntp) ? NULL : &rb;
	o.cname = cname;

	err = rtcp_build(buf, len, &o);
	if (err)
		return err;

	rtpstat_sent(st, ssrc, sr ? sr->ntp : 0, now_ntp);

	return 0;
}


/**
 * Read an RTCP compound packet from a leg's party (packet thread, under
 * leg->mtx), on either path
 *
 * @param leg     Leg it came to
 * @param pkt     Packet, unprotected
 * @param len     Its length
 * @param now_ntp When it came, NTP format (report_ntp)
 * @param sr      Returned: its sender info, if it had an SR
 *
 * @return True if it had an SR (which a relayed leg passes on)
 */
bool report_rx(struct leg *leg, const uint8_t *pkt, size_t len,
	       uint64_t now_ntp, struct rtcp_sender *sr)
{
	struct rtcp_info info;

	if (!leg || !pkt || !sr ||
	    rtcp_read(&info, pkt, len, leg->stat.out_ssrc))
		return false;

	/* its blocks are on our stream only once it knows one */
	if (!leg->stat.out)
		info.report = false;

	rtpstat_rtcp(&leg->stat, &info, now_ntp);

	if (!info.sr)
		return false;

	*sr = info.sender;

	return true;
}


/**
 * Note an SR relayed to a leg's party (packet thread; takes leg->mtx):
 * its reports quoting it give the round trip
 *
 * @param leg     Leg whose party it went to
 * @param sr      Its sender info
 * @param now_ntp When, NTP format
 */
void report_relayed(struct leg *leg, const struct rtcp_sender *sr,
		    uint64_t now_ntp)
{
	if (!leg || !sr)
		return;

	pthread_mutex_lock(&leg->mtx);
	rtpstat_sent(&leg->stat, sr->ssrc, sr->ntp, now_ntp);
	pthread_mutex_unlock(&leg->mtx);
}


/**
 * Send a transcoded leg's party our report when one is due (packet
 * thread, each tick; takes the leg's and then its peer's lock, never
 * both)
 *
 * @param leg Leg
 * @param now now_ms()
 */
void report_tick(struct leg *leg, uint64_t now)
{
	static _Thread_local uint32_t buf32[RTCP_MAX / 4]; /* aligned */
	uint8_t *buf = (uint8_t *)buf32;
	size_t len = RTCP_MAX - SDES_OVERHEAD - SDES_MKI_MAX;
	char cname[CNAME_MAX];
	struct rtcp_sender s;
	struct leg *peer;
	bool have = false, sr = false, made;
	struct sa dst;
	uint64_t ntp;

	if (!leg || leg->rtcp_due > now)
		return;

	pthread_mutex_lock(&leg->mtx);
	peer = leg->path ? leg->peer : NULL;
	pthread_mutex_unlock(&leg->mtx);

	/* relayed (its party's RTCP crosses) or alone: nothing planned */
	if (!peer) {
		leg->rtcp_due = 0;
		return;
	}

	if (!leg->rtcp_due) {
		leg->rtcp_due = now + interval_next() / 2;
		return;
	}

	leg->rtcp_due = now + interval_next();
	ntp = report_ntp();

	/* our stream to the party is what the peer's path makes */
	pthread_mutex_lock(&peer->mtx);
	if (peer->path) {
		sr = path_sender(peer->path, &s, ntp);
		have = true;
	}
	pthread_mutex_unlock(&peer->mtx);

	if (!have)
		return;

	(void)re_snprintf(cname, sizeof(cname), "sbrelay-%u@%j", leg->id,
			  &leg->rtp.local);

	pthread_mutex_lock(&leg->mtx);
	dst = leg->rtcp.remote;
	made = !report_build(buf, &len, &leg->stat, s.ssrc, sr ? &s : NULL,
			     cname, ntp) &&
		!srtp_pair_protect(leg->srtp_in, true, buf, &len, RTCP_MAX);
	pthread_mutex_unlock(&leg->mtx);

	if (!made || !sa_isset(&dst, SA_ALL))
		return;

	if (sendto(leg->rtcp.fd, buf, len, MSG_DONTWAIT, &dst.u.sa,
		   dst.len) < 0)
		return;

	atomic_fetch_add_explicit(&leg->pkts_out, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&leg->bytes_out, len, memory_order_relaxed);
}
