/**
 * @file test_report.c  The relay's own RTCP reports: their content, the
 *                      round trip they measure, and SRTCP
 *
 * A fake clock throughout: "now" is given to every function, so the
 * LSR/DLSR arithmetic (RFC 3550 section 6.4.1) is checked to the unit.
 * The report block must say what the party's stream lost (fraction of
 * the interval, cumulative, extended highest sequence number), quote
 * the party's last SR with the delay since; a report from the party
 * quoting our SR, or one we relayed to it from the far party (whose
 * clock is not ours), must give the round trip on our clock alone.
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/rtp.h"
#include "relaytest.h"


enum {
	OURS   = 0xaaaa0001,      /**< Our stream to the party        */
	THEIRS = 0x5555aaaa,      /**< The party's stream             */
	FAR    = 0xbbbb0002,      /**< The far party's (relayed)      */
	HALF_S = 32768,           /**< 0.5 s in 1/65536 s             */
};

/* 1 s in NTP format, and a wall clock moment as the fake "now" */
static const uint64_t ntp_s = 1ull << 32;
static const uint64_t t0 = (2208988800ull + 1700000000ull) << 32;


/* the party's stream: 100 packets from seq 1000, 10 lost (the 6th of
 * each 10), in time (no jitter) */
static void party_talks(struct rtpstat *st)
{
	struct rtp_hdr h;
	unsigned i;

	memset(&h, 0, sizeof(h));
	h.ssrc = THEIRS;
	for (i = 0; i < 100; i++) {
		if (i % 10 == 5)
			continue;
		h.seq = (uint16_t)(1000 + i);
		h.ts = 160 * i;
		rtpstat_rx(st, &h, 20000ull * i);
	}
}


/* an RTCP compound from the party: SR (at ntp) or RR, one block */
static int party_rtcp(uint8_t *buf, size_t *len, uint64_t ntp,
		      const struct rtcp_report *rb)
{
	struct rtcp_sender sr = {THEIRS, ntp, 0, 10, 1600};
	struct rtcp_out o = {THEIRS, ntp ? &sr : NULL, rb, "phone", false};

	return rtcp_build(buf, len, &o);
}


int test_report_block(void)
{
	const struct rtcp_sender sr = {OURS, t0, 123456, 50, 8000};
	uint64_t their_sr = 0x0001020304050607ull;
	struct rtcp_info info;
	struct rtcp_pkt pkt;
	struct rtpstat st;
	struct leg leg;
	uint8_t buf[256];
	size_t len, off = 0;
	int err = 0;

	memset(&leg, 0, sizeof(leg));
	rtpstat_init(&leg.stat, 8000);

	/* nothing received yet: an RR without a block */
	len = sizeof(buf);
	TEST_CHECK(report_build(buf, &len, &leg.stat, OURS, NULL, "r@x",
				t0));
	TEST_CHECK(rtcp_read(&info, buf, len, THEIRS));
	TEST_ASSERT(!info.sr && !info.report);
	TEST_EQUALS(OURS, info.ssrc);

	/* the party's SR came 0.25 s before our report: quoted with the
	 * delay since (report_rx reads it as fwd.c does) */
	party_talks(&leg.stat);
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, their_sr, NULL));
	TEST_ASSERT(report_rx(&leg, buf, len, t0 - ntp_s / 4, &info.sender));
	TEST_EQUALS(their_sr, info.sender.ntp);

	len = sizeof(buf);
	TEST_CHECK(report_build(buf, &len, &leg.stat, OURS, &sr,
				"sbrelay-1@127.0.0.1", t0));

	/* as the party reads it: SR, the block on its stream, CNAME */
	TEST_CHECK(rtcp_read(&info, buf, len, THEIRS));
	TEST_ASSERT(info.sr && info.report && !info.bye);
	TEST_EQUALS(OURS, info.ssrc);
	TEST_EQUALS(t0, info.sender.ntp);
	TEST_EQUALS(123456, info.sender.rtp_ts);
	TEST_EQUALS(50, info.sender.packets);
	TEST_EQUALS(8000, info.sender.octets);
	TEST_EQUALS(10 * 256 / 100, info.rb.fraction);
	TEST_EQUALS(10, info.rb.lost);
	TEST_EQUALS(1099, info.rb.ext_seq);
	TEST_EQUALS(0, info.rb.jitter);
	TEST_EQUALS(0x02030405, info.rb.lsr);
	TEST_EQUALS(16384, info.rb.dlsr);
	TEST_CHECK(rtcp_next(&pkt, buf, len, &off));
	TEST_CHECK(rtcp_next(&pkt, buf, len, &off));
	TEST_EQUALS(RTCP_SDES, pkt.type);
	TEST_EQUALS(RTCP_SDES_CNAME, pkt.body[4]);
	TEST_EQUALS(19, pkt.body[5]);
	TEST_ASSERT(!memcmp(&pkt.body[6], "sbrelay-1@127.0.0.1", 19));

	/* the next interval lost nothing more */
	len = sizeof(buf);
	TEST_CHECK(report_build(buf, &len, &leg.stat, OURS, &sr, "r@x",
				t0 + 5 * ntp_s));
	TEST_CHECK(rtcp_read(&info, buf, len, THEIRS));
	TEST_EQUALS(0, info.rb.fraction);
	TEST_EQUALS(10, info.rb.lost);
	TEST_EQUALS(16384 + 5 * 65536, info.rb.dlsr);

	/* a report that does not fit */
	st = leg.stat;
	len = 40;
	TEST_EQUALS(ENOBUFS, report_build(buf, &len, &st, OURS, &sr, "r@x",
					  t0));

 out:
	return err;
}


int test_report_rtt(void)
{
	const struct rtcp_sender sr = {OURS, t0, 0, 1, 160};
	struct rtcp_report rb = {OURS, 64, 3, 2000, 80, 0, HALF_S};
	struct rtcp_sender relayed;
	struct rtpstat_sum sum;
	struct leg leg;
	uint8_t buf[256];
	size_t len;
	double mos;
	int err = 0;

	memset(&leg, 0, sizeof(leg));
	TEST_EQUALS(0, pthread_mutex_init(&leg.mtx, NULL));
	rtpstat_init(&leg.stat, 8000);
	party_talks(&leg.stat);
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(sum.rtt_ms < 0 && !sum.remote);
	mos = sum.mos;

	/* before we sent anything, its blocks are not read as ours */
	rb.lsr = (uint32_t)(t0 >> 16);
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0, &rb));
	TEST_ASSERT(!report_rx(&leg, buf, len, t0, &relayed));
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(!sum.remote);

	/* our SR at t0; its RR 0.6 s later, held 0.5 s: 100 ms; it lost
	 * 64/256 of ours, jitter 80 units (10 ms at 8 kHz) */
	len = sizeof(buf);
	TEST_CHECK(report_build(buf, &len, &leg.stat, OURS, &sr, "r@x", t0));
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0, &rb));
	TEST_ASSERT(!report_rx(&leg, buf, len, t0 + ntp_s * 6 / 10,
			       &relayed));
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(sum.rtt_ms > 99.9 && sum.rtt_ms < 100.1);
	TEST_ASSERT(sum.remote);
	TEST_ASSERT(sum.remote_loss_pct > 24.99 &&
		    sum.remote_loss_pct < 25.01);
	TEST_ASSERT(sum.remote_jitter_ms > 9.99 &&
		    sum.remote_jitter_ms < 10.01);

	/* half the round trip is delay: the MOS goes down */
	TEST_ASSERT(sum.mos < mos);

	/* relayed: the far party's SR, stamped with its own clock, went
	 * to the party at t0 + 10 s; its RR quoting it came 0.25 s after,
	 * held 0.2 s: 50 ms on our clock alone */
	relayed.ssrc = FAR;
	relayed.ntp = 0x0000123400000000ull;
	report_relayed(&leg, &relayed, t0 + 10 * ntp_s);
	rb.ssrc = FAR;
	rb.lsr = 0x00001234u << 16;
	rb.dlsr = 13107;                      /* 0.2 s */
	rb.fraction = 0;
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0, &rb));
	(void)report_rx(&leg, buf, len, t0 + 10 * ntp_s + ntp_s / 4,
			&relayed);
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(sum.rtt_ms > 49.9 && sum.rtt_ms < 50.1);
	TEST_ASSERT(sum.remote_loss_pct == 0);

	/* a report quoting another SR than our last measures nothing */
	rb.lsr = 0x00009999u << 16;
	rb.dlsr = 0;
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0, &rb));
	(void)report_rx(&leg, buf, len, t0 + 11 * ntp_s, &relayed);
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(sum.rtt_ms > 49.9 && sum.rtt_ms < 50.1);

	/* nor does one on another source than the one we sent */
	rb.ssrc = OURS;
	rb.lsr = 0x00001234u << 16;
	rb.fraction = 128;
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0, &rb));
	(void)report_rx(&leg, buf, len, t0 + 11 * ntp_s, &relayed);
	rtpstat_summary(&leg.stat, &sum);
	TEST_ASSERT(sum.remote_loss_pct == 0);

	/* the party's own SR is returned, for a relayed leg to note */
	len = sizeof(buf);
	TEST_CHECK(party_rtcp(buf, &len, 0x0000777700000000ull, NULL));
	TEST_ASSERT(report_rx(&leg, buf, len, t0, &relayed));
	TEST_EQUALS(THEIRS, relayed.ssrc);
	TEST_EQUALS(0x0000777700000000ull, relayed.ntp);

	/* garbage is no report */
	TEST_ASSERT(!report_rx(&leg, (const uint8_t *)"rtcp-from-a", 11, t0,
			       &relayed));

 out:
	pthread_mutex_destroy(&leg.mtx);

	return err;
}


int test_report_srtcp(void)
{
	const struct rtcp_sender sr = {OURS, t0, 99, 7, 1120};
	struct srtp_pair *relay = NULL, *phone = NULL;
	struct sdes_key ours, theirs;
	uint32_t buf32[64], plain32[64], copy32[64], bad32[64];
	uint8_t *buf = (uint8_t *)buf32, *plain = (uint8_t *)plain32;
	struct rtcp_info info;
	struct rtpstat st;
	size_t len = 200, plen, clen, blen;
	int err;

	rtpstat_init(&st, 8000);
	party_talks(&st);

	err  = sdes_make(&ours, 1, SDES_AES_CM_80);
	err |= sdes_make(&theirs, 1, SDES_AES_CM_80);
	TEST_CHECK(err);

	/* the leg's pair: unprotects with the party's key, protects with
	 * ours; the phone's the other way round */
	TEST_CHECK(srtp_pair_alloc(&relay, &theirs, &ours));
	TEST_CHECK(srtp_pair_alloc(&phone, &ours, &theirs));

	TEST_CHECK(report_build(buf, &len, &st, OURS, &sr, "r@x", t0));
	memcpy(plain, buf, len);
	plen = len;
	TEST_CHECK(srtp_pair_protect(relay, true, buf, &len,
				     sizeof(buf32)));
	TEST_ASSERT(len > plen);
	TEST_ASSERT(memcmp(buf, plain, plen));
	memcpy(copy32, buf32, sizeof(copy32));
	clen = len;

	/* a bit flipped: refused */
	memcpy(bad32, buf32, sizeof(bad32));
	((uint8_t *)bad32)[20] ^= 1;
	blen = len;
	TEST_EQUALS(EAUTH, srtp_pair_unprotect(phone, true,
					       (uint8_t *)bad32, &blen));

	TEST_CHECK(srtp_pair_unprotect(phone, true, buf, &len));
	TEST_EQUALS(plen, len);
	TEST_ASSERT(!memcmp(buf, plain, len));
	TEST_CHECK(rtcp_read(&info, buf, len, THEIRS));
	TEST_ASSERT(info.sr && info.report);
	TEST_EQUALS(t0, info.sender.ntp);
	TEST_EQUALS(10, info.rb.lost);

	/* the same protected packet again: a replay */
	TEST_EQUALS(EALREADY, srtp_pair_unprotect(phone, true,
						  (uint8_t *)copy32, &clen));

 out:
	mem_deref(relay);
	mem_deref(phone);

	return err;
}
