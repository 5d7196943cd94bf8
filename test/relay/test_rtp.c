/**
 * @file test_rtp.c  RTP and RTCP packets, receive statistics and MOS
 *
 * Expected values are worked out by hand in the comments: jitter with
 * RFC 3550 A.8's integer update, MOS with G.107's formulas.
 */
#include <string.h>
#include <re.h>
#include "../../media/rtp.h"
#include "../../media/rtpstat.h"
#include "relaytest.h"


/* 12 + 2 CSRCs + extension (4 + 4) + "abcd" + 3 bytes of padding */
static const uint8_t pkt_full[] = {
	0xb2, 0x80, 0x12, 0x34,  0x11, 0x22, 0x33, 0x44,
	0xde, 0xad, 0xbe, 0xef,  0x01, 0x02, 0x03, 0x04,
	0x05, 0x06, 0x07, 0x08,  0xbe, 0xde, 0x00, 0x01,
	0xaa, 0xbb, 0xcc, 0xdd,  'a', 'b', 'c', 'd',
	0x00, 0x00, 0x03,
};

/** A malformed RTP packet */
static const struct bad_rtp {
	const char *why;
	uint8_t pkt[24];
	size_t len;
} bad_rtpv[] = {
	{"short",        {0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 11},
	{"version 1",    {0x40, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12},
	{"version 0",    {0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 12},
	{"CSRCs past end", {0x83, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
			    0, 0, 0, 2, 0, 0, 0, 3}, 20},
	{"no extension header", {0x90, 0x00, 0, 1, 0, 0, 0, 0,
				 0, 0, 0, 1, 0xbe, 0xde}, 14},
	{"extension past end", {0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
				0xbe, 0xde, 0, 2, 1, 2, 3, 4}, 20},
	{"padding 0",    {0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
			  'x', 0}, 14},
	{"padding past payload", {0xa0, 0x00, 0, 1, 0, 0, 0, 0,
				  0, 0, 0, 1, 'x', 'y', 'z', 5}, 16},
	{"padding, no payload", {0xa0, 0x00, 0, 1, 0, 0, 0, 0,
				 0, 0, 0, 1}, 12},
};


int test_rtp_parse(void)
{
	uint8_t buf[64], pad[14] = {0xa0, 0x60, 0, 9, 0, 0, 0, 0,
				    0, 0, 0, 1, 0, 2};
	struct rtp_hdr h;
	size_t i;
	int err = 0;

	TEST_CHECK(rtp_parse(&h, pkt_full, sizeof(pkt_full)));
	TEST_ASSERT(h.marker);
	TEST_EQUALS(0, h.pt);
	TEST_EQUALS(0x1234, h.seq);
	TEST_EQUALS(0x11223344, h.ts);
	TEST_EQUALS(0xdeadbeef, h.ssrc);
	TEST_EQUALS(2, h.cc);
	TEST_ASSERT(!memcmp(h.csrc, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
	TEST_ASSERT(h.ext);
	TEST_EQUALS(3, h.pad);
	TEST_EQUALS(4, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "abcd", 4));

	/* padding that is the whole payload leaves an empty one */
	TEST_CHECK(rtp_parse(&h, pad, sizeof(pad)));
	TEST_EQUALS(0, h.plen);
	TEST_EQUALS(96, h.pt);
	TEST_ASSERT(!h.marker && !h.ext && !h.cc);

	for (i = 0; i < ARRAY_SIZE(bad_rtpv); i++) {
		err = rtp_parse(&h, bad_rtpv[i].pkt, bad_rtpv[i].len);
		if (err != EBADMSG) {
			(void)re_fprintf(stderr, "rtp: %s: %m\n",
					 bad_rtpv[i].why, err);
			TEST_ERR(EINVAL);
		}
	}
	err = 0;

	/* build, then read back */
	TEST_EQUALS(ENOBUFS, rtp_build(buf, RTP_HDR_SIZE - 1, false, 0, 0,
				       0, 0));
	TEST_CHECK(rtp_build(buf, sizeof(buf), true, 0xff, 65535,
			     0xfffffffe, 0x01020304));
	memcpy(&buf[RTP_HDR_SIZE], "pcm", 3);
	TEST_CHECK(rtp_parse(&h, buf, RTP_HDR_SIZE + 3));
	TEST_ASSERT(h.marker);
	TEST_EQUALS(127, h.pt);
	TEST_EQUALS(65535, h.seq);
	TEST_EQUALS(0xfffffffe, h.ts);
	TEST_EQUALS(0x01020304, h.ssrc);
	TEST_EQUALS(3, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "pcm", 3));
	TEST_CHECK(rtp_build(buf, sizeof(buf), false, 8, 7, 160, 9));
	TEST_CHECK(rtp_parse(&h, buf, RTP_HDR_SIZE));
	TEST_ASSERT(!h.marker);
	TEST_EQUALS(8, h.pt);
	TEST_EQUALS(0, h.plen);

	/* RFC 5761: 64-95 after the marker bit is RTCP */
	TEST_ASSERT(rtp_is_rtcp((const uint8_t *)"\x80\xc8", 2));
	TEST_ASSERT(rtp_is_rtcp((const uint8_t *)"\x80\xc9", 2));
	TEST_ASSERT(rtp_is_rtcp((const uint8_t *)"\x80\x40", 2));
	TEST_ASSERT(rtp_is_rtcp((const uint8_t *)"\x80\xdf", 2));
	TEST_ASSERT(!rtp_is_rtcp((const uint8_t *)"\x80\x3f", 2));
	TEST_ASSERT(!rtp_is_rtcp((const uint8_t *)"\x80\xe0", 2));
	TEST_ASSERT(!rtp_is_rtcp((const uint8_t *)"\x80\x00", 2));
	TEST_ASSERT(!rtp_is_rtcp((const uint8_t *)"\x80", 1));

 out:
	return err;
}


int test_rtcp_packet(void)
{
	const struct rtcp_sender sr = {0x11111111, 0x0102030405060708ull,
				       1000, 50, 8000};
	struct rtcp_report rb = {0x22222222, 12, -5, 0x1ffff, 31,
				 0xabcd0000, 0x8000};
	struct rtcp_out o = {0x11111111, &sr, &rb, "relay@203.0.113.7",
			     true};
	char cname[RTCP_CNAME_MAX + 2];
	struct rtcp_sender s;
	struct rtcp_report r;
	struct rtcp_info info;
	struct rtcp_pkt p;
	uint8_t buf[128];
	size_t len = sizeof(buf), off = 0;
	int err = 0;

	/* SR 4+24+24, SDES 4+4+20 (2+17 bytes, a zero, 1 byte to 32 bits),
	 * BYE 4+4 */
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_EQUALS(52 + 28 + 8, len);

	TEST_CHECK(rtcp_next(&p, buf, len, &off));
	TEST_EQUALS(RTCP_SR, p.type);
	TEST_EQUALS(1, p.count);
	TEST_ASSERT(!p.last);
	TEST_CHECK(rtcp_sender_read(&s, &p));
	TEST_EQUALS(0x11111111, s.ssrc);
	TEST_EQUALS(sr.ntp, s.ntp);
	TEST_EQUALS(1000, s.rtp_ts);
	TEST_EQUALS(50, s.packets);
	TEST_EQUALS(8000, s.octets);
	TEST_CHECK(rtcp_report_read(&r, &p, 0));
	TEST_EQUALS(0x22222222, r.ssrc);
	TEST_EQUALS(12, r.fraction);
	TEST_EQUALS(-5, r.lost);
	TEST_EQUALS(0x1ffff, r.ext_seq);
	TEST_EQUALS(31, r.jitter);
	TEST_EQUALS(0xabcd0000, r.lsr);
	TEST_EQUALS(0x8000, r.dlsr);
	TEST_EQUALS(ENOENT, rtcp_report_read(&r, &p, 1));

	TEST_CHECK(rtcp_next(&p, buf, len, &off));
	TEST_EQUALS(RTCP_SDES, p.type);
	TEST_EQUALS(24, p.blen);
	TEST_EQUALS(RTCP_SDES_CNAME, p.body[4]);
	TEST_EQUALS(17, p.body[5]);
	TEST_ASSERT(!memcmp(&p.body[6], "relay@203.0.113.7", 17));
	TEST_EQUALS(EPROTO, rtcp_sender_read(&s, &p));

	TEST_CHECK(rtcp_next(&p, buf, len, &off));
	TEST_EQUALS(RTCP_BYE, p.type);
	TEST_ASSERT(p.last);
	TEST_EQUALS(ENOENT, rtcp_next(&p, buf, len, &off));

	TEST_CHECK(rtcp_read(&info, buf, len, 0x22222222));
	TEST_EQUALS(0x11111111, info.ssrc);
	TEST_ASSERT(info.sr && info.report && info.bye);
	TEST_EQUALS(0x0102030405060708ull, info.sender.ntp);
	TEST_EQUALS(-5, info.rb.lost);
	TEST_CHECK(rtcp_read(&info, buf, len, 0x33333333));
	TEST_ASSERT(!info.report);

	len = 87;
	TEST_EQUALS(ENOBUFS, rtcp_build(buf, &len, &o));

	/* an RR with nothing to report, and lost clamped to 24 bits */
	o.sr = NULL;
	o.rb = NULL;
	o.bye = false;
	len = sizeof(buf);
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_EQUALS(8 + 28, len);
	TEST_CHECK(rtcp_read(&info, buf, len, 0x22222222));
	TEST_ASSERT(!info.sr && !info.report && !info.bye);
	TEST_EQUALS(0x11111111, info.ssrc);

	o.rb = &rb;
	rb.lost = -10000000;
	len = sizeof(buf);
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_CHECK(rtcp_read(&info, buf, len, 0x22222222));
	TEST_EQUALS(-0x800000, info.rb.lost);
	rb.lost = 10000000;
	len = sizeof(buf);
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_CHECK(rtcp_read(&info, buf, len, 0x22222222));
	TEST_EQUALS(0x7fffff, info.rb.lost);

	o.cname = "";
	TEST_EQUALS(EINVAL, rtcp_build(buf, &len, &o));
	memset(cname, 'x', sizeof(cname) - 1);
	cname[sizeof(cname) - 1] = '\0';
	o.cname = cname;
	TEST_EQUALS(EINVAL, rtcp_build(buf, &len, &o));

	TEST_EQUALS(2208988800ull << 32, rtcp_ntp(0));
	TEST_EQUALS((2208988801ull << 32) | 0x80000000u, rtcp_ntp(1500000));

 out:
	return err;
}


/** A malformed RTCP compound */
static const struct bad_rtcp {
	const char *why;
	uint8_t pkt[40];
	size_t len;
} bad_rtcpv[] = {
	{"empty", {0}, 0},
	{"short header", {0x80, 0xc9, 0x00}, 3},
	{"version 1", {0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 1}, 8},
	{"length past end", {0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1}, 8},
	{"RR blocks past length", {0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1}, 8},
	{"SR too short", {0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1}, 8},
	{"BYE sources past length", {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1,
				     0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1}, 16},
	{"padding not last", {0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1,
			      0, 0, 0, 4,
			      0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 1}, 20},
	{"padding past body", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 5}, 8},
	{"first not SR or RR", {0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 1}, 8},
	{"trailing bytes", {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1,
			    0x80, 0xc9, 0x00}, 11},
};


int test_rtcp_malformed(void)
{
	static const uint8_t padded_rr[] = {0xa0, 0xc9, 0x00, 0x02,
					    0, 0, 0, 7,  0, 0, 0, 4};
	struct rtcp_info info;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(bad_rtcpv); i++) {
		err = rtcp_read(&info, bad_rtcpv[i].pkt, bad_rtcpv[i].len,
				1);
		if (err != EBADMSG) {
			(void)re_fprintf(stderr, "rtcp: %s: %m\n",
					 bad_rtcpv[i].why, err);
			TEST_ERR(EINVAL);
		}
	}
	err = 0;

	/* padding on the last packet is allowed and taken off */
	TEST_CHECK(rtcp_read(&info, padded_rr, sizeof(padded_rr), 1));
	TEST_EQUALS(7, info.ssrc);

 out:
	return err;
}


static void feed(struct rtpstat *st, uint16_t seq, uint32_t ts,
		 uint64_t at_us, uint32_t ssrc)
{
	struct rtp_hdr h;

	memset(&h, 0, sizeof(h));
	h.seq = seq;
	h.ts = ts;
	h.ssrc = ssrc;
	rtpstat_rx(st, &h, at_us);
}


/* n packets of 20 ms at 8 kHz from seq, evenly spaced */
static void feed_run(struct rtpstat *st, uint16_t seq, unsigned n,
		     uint32_t ssrc)
{
	unsigned i;

	for (i = 0; i < n; i++)
		feed(st, (uint16_t)(seq + i), i * 160, i * 20000ull, ssrc);
}


int test_rtpstat_seq(void)
{
	struct rtpstat st;
	struct rtpstat_sum sum;
	struct rtcp_report rb;
	unsigned i;
	int err = 0;

	/* nothing counted yet: no report */
	rtpstat_init(&st, 8000);
	TEST_EQUALS(ENOENT, rtpstat_report(&st, &rb, 0));

	/* 100 packets, 5 missing: 5 lost, fraction 5 * 256 / 100 */
	for (i = 0; i < 100; i++) {
		if (i % 20 == 10)
			continue;
		feed(&st, (uint16_t)(1000 + i), i * 160, i * 20000ull, 7);
	}
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(7, rb.ssrc);
	TEST_EQUALS(5, rb.lost);
	TEST_EQUALS(12, rb.fraction);
	TEST_EQUALS(1099, rb.ext_seq);
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(95, sum.packets);
	TEST_EQUALS(5, sum.lost);
	TEST_ASSERT(sum.loss_pct > 4.99 && sum.loss_pct < 5.01);

	/* the next interval lost nothing; the total stays */
	feed_run(&st, 1100, 10, 7);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(0, rb.fraction);
	TEST_EQUALS(5, rb.lost);

	/* reordered: no loss; a duplicate: lost -1 in the report, 0 in
	 * the summary */
	rtpstat_init(&st, 8000);
	feed(&st, 0, 0, 0, 1);
	feed(&st, 1, 160, 20000, 1);
	feed(&st, 3, 480, 60000, 1);
	feed(&st, 2, 320, 61000, 1);
	feed(&st, 4, 640, 80000, 1);
	feed(&st, 4, 640, 81000, 1);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(-1, rb.lost);
	TEST_EQUALS(4, rb.ext_seq);
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(6, sum.packets);
	TEST_EQUALS(0, sum.lost);

	/* across the wrap, from probation at 65535 on */
	rtpstat_init(&st, 8000);
	feed_run(&st, 65535, 12, 2);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(65536 + 10, rb.ext_seq);
	TEST_EQUALS(0, rb.lost);

	/* a stray packet of another source is not counted; two in
	 * sequence are, and the report turns to them */
	rtpstat_init(&st, 8000);
	feed_run(&st, 100, 10, 0xa);
	feed(&st, 7000, 0, 300000, 0xb);
	feed(&st, 110, 1600, 400000, 0xa);
	feed(&st, 9000, 0, 410000, 0xb);
	feed(&st, 111, 1760, 420000, 0xa);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(0xa, rb.ssrc);
	TEST_EQUALS(111, rb.ext_seq);
	feed(&st, 9001, 160, 430000, 0xb);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(0xb, rb.ssrc);
	TEST_EQUALS(9001, rb.ext_seq);
	TEST_EQUALS(0, rb.lost);
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(14, sum.packets);
	TEST_EQUALS(0, sum.lost);

	/* one packet far ahead is ignored; a second in sequence after it
	 * restarts the count there */
	rtpstat_init(&st, 8000);
	feed_run(&st, 0, 10, 3);
	feed(&st, 30000, 0, 200000, 3);
	feed(&st, 10, 1600, 220000, 3);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(10, rb.ext_seq);
	feed(&st, 20000, 0, 240000, 3);
	feed(&st, 20001, 160, 260000, 3);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(20001, rb.ext_seq);
	TEST_EQUALS(0, rb.lost);
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(13, sum.packets);
	TEST_EQUALS(0, sum.lost);

 out:
	return err;
}


int test_rtpstat_jitter(void)
{
	struct rtpstat st;
	struct rtpstat_sum sum;
	struct rtcp_report rb;
	unsigned i;
	int err = 0;

	/* even spacing, across a timestamp wrap: none */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 50; i++)
		feed(&st, (uint16_t)i, 0xffffff00u + i * 160, i * 20000ull,
		     1);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(0, rb.jitter);

	/* every other packet 4 ms (32 units) late: |D| = 32 each time.
	 * Scaled by 16, J += 32 - ((J + 8) >> 4): 32, 62, 90 after the
	 * first three, so 90 >> 4 = 5 is reported */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 4; i++)
		feed(&st, (uint16_t)i, i * 160,
		     i * 20000ull + (i % 2 ? 4000 : 0), 1);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(5, rb.jitter);

	/* ... and it settles where (J + 8) >> 4 = 32 is first reached,
	 * J = 504: 31 reported, 504 / 16 / 8 = 3.9375 ms */
	for (; i < 400; i++)
		feed(&st, (uint16_t)i, i * 160,
		     i * 20000ull + (i % 2 ? 4000 : 0), 1);
	TEST_CHECK(rtpstat_report(&st, &rb, 0));
	TEST_EQUALS(31, rb.jitter);
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.jitter_ms > 3.9374 && sum.jitter_ms < 3.9376);

 out:
	return err;
}


int test_rtpstat_rtcp(void)
{
	const uint64_t t = rtcp_ntp(1700000000ull * 1000000);
	const uint64_t now = t + (40960ull << 16);   /* 0.625 s later */
	struct rtcp_sender sr = {0, 0x0001020304050607ull, 0, 0, 0};
	struct rtcp_report rb = {0x5555, 64, 10, 1000, 80,
				 (uint32_t)(t >> 16), 32768};
	struct rtcp_out o = {0xaaaa, &sr, &rb, "phone", false};
	struct rtpstat_sum sum;
	struct rtcp_report mine;
	struct rtcp_info info;
	struct rtpstat st;
	uint8_t buf[128];
	size_t len = sizeof(buf);
	double mos;
	int err = 0;

	rtpstat_init(&st, 8000);
	feed_run(&st, 1, 50, 0xaaaa);
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(!sum.remote);
	TEST_ASSERT(sum.rtt_ms < 0);
	mos = sum.mos;

	/* its SR quotes ours of 0.625 s ago, held 0.5 s: RTT 0.125 s;
	 * it lost 64/256 of ours, jitter 80 units = 10 ms */
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_CHECK(rtcp_read(&info, buf, len, 0x5555));
	rtpstat_rtcp(&st, &info, now);
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.rtt_ms > 124.99 && sum.rtt_ms < 125.01);
	TEST_ASSERT(sum.remote);
	TEST_ASSERT(sum.remote_loss_pct > 24.99 &&
		    sum.remote_loss_pct < 25.01);
	TEST_ASSERT(sum.remote_jitter_ms > 9.99 &&
		    sum.remote_jitter_ms < 10.01);
	TEST_ASSERT(sum.remote_mos < sum.mos);

	/* half the round trip adds to the delay: 40 + 62.5 ms, R 90.74,
	 * MOS 4.3567 */
	TEST_ASSERT(sum.mos > 4.3562 && sum.mos < 4.3572 && sum.mos < mos);

	/* our next report quotes its SR, 0.25 s after it came */
	TEST_CHECK(rtpstat_report(&st, &mine, now + (16384ull << 16)));
	TEST_EQUALS(0x02030405, mine.lsr);
	TEST_EQUALS(16384, mine.dlsr);

	/* an SR of another source is not quoted; a report whose delay
	 * exceeds the time since our SR measures nothing */
	o.ssrc = 0xbbbb;
	sr.ntp = 0x0009000000000000ull;
	rb.dlsr = 50000;
	len = sizeof(buf);
	TEST_CHECK(rtcp_build(buf, &len, &o));
	TEST_CHECK(rtcp_read(&info, buf, len, 0x5555));
	rtpstat_rtcp(&st, &info, now);
	TEST_CHECK(rtpstat_report(&st, &mine, now));
	TEST_EQUALS(0x02030405, mine.lsr);
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.rtt_ms > 124.99 && sum.rtt_ms < 125.01);

	/* a new source's report quotes none of the old one's SRs */
	feed_run(&st, 60000, 2, 0xbbbb);
	TEST_CHECK(rtpstat_report(&st, &mine, now));
	TEST_EQUALS(0xbbbb, mine.ssrc);
	TEST_EQUALS(0, mine.lsr);
	TEST_EQUALS(0, mine.dlsr);

 out:
	return err;
}


int test_rtpstat_mos(void)
{
	const double loss[] = {0, 1, 2, 5, 10, 20, 50};
	struct rtpstat_sum sum;
	struct rtpstat st;
	double g711;
	size_t i;
	int err = 0;

	/* G.711, no loss, 40 ms: R = 93.2 - 0.96 = 92.24, MOS 4.3899 */
	g711 = rtpstat_mos(0, 25.1, 0, 40);
	TEST_ASSERT(g711 > 4.3894 && g711 < 4.3904);

	/* 5 %: Ie,eff = 95 * 5 / 30.1 = 15.78, R = 76.46, MOS 3.8835 */
	g711 = rtpstat_mos(0, 25.1, 5, 40);
	TEST_ASSERT(g711 > 3.8830 && g711 < 3.8840);

	for (i = 1; i < ARRAY_SIZE(loss); i++)
		TEST_ASSERT(rtpstat_mos(0, 25.1, loss[i], 40) <
			    rtpstat_mos(0, 25.1, loss[i - 1], 40));

	TEST_ASSERT(rtpstat_mos(0, 20, 5, 40) < g711);
	TEST_ASSERT(rtpstat_mos(0, 25.1, 0, 300) <
		    rtpstat_mos(0, 25.1, 0, 100));
	TEST_ASSERT(rtpstat_mos(0, 25.1, 100, 1000) == 1);

	/* the summary uses the leg's codec */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 100; i++) {
		if (i % 10 != 5)
			feed(&st, (uint16_t)i, (uint32_t)i * 160,
			     i * 20000ull, 1);
	}
	rtpstat_summary(&st, &sum);
	g711 = sum.mos;
	TEST_ASSERT(g711 < 4.0 && g711 > 3.0);
	TEST_CHECK(rtpstat_codec(&st, "OPUS"));
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.mos < g711);
	TEST_EQUALS(ENOENT, rtpstat_codec(&st, "GSM"));
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.mos < g711);

 out:
	return err;
}
