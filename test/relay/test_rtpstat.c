/**
 * @file test_rtpstat.c  Loss, jitter and MOS of a received stream
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "relaytest.h"


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


int test_rtpstat(void)
{
	struct rtpstat st;
	struct rtpstat_sum sum;
	double clean;
	int i, err = 0;

	/* 100 packets across the sequence wrap, 5 lost, evenly spaced */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 100; i++) {
		if (i % 20 == 7)
			continue;
		feed(&st, (uint16_t)(65500 + i), (uint32_t)i * 160,
		     (uint64_t)i * 20000, 1);
	}
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(95, sum.packets);
	TEST_EQUALS(5, sum.lost);
	TEST_ASSERT(sum.loss_pct > 4.9 && sum.loss_pct < 5.1);
	TEST_ASSERT(sum.jitter_ms < 0.01);
	TEST_ASSERT(sum.mos < 4.0);

	/* no loss, no jitter: near the E-model's best for G.711 */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 50; i++)
		feed(&st, (uint16_t)i, (uint32_t)i * 160, (uint64_t)i * 20000,
		     2);
	rtpstat_summary(&st, &sum);
	clean = sum.mos;
	TEST_EQUALS(0, sum.lost);
	TEST_ASSERT(clean > 4.3 && clean <= 4.5);

	/* arrivals alternately 4 ms late: D = 32 clock units each time,
	 * J converges on 32 units = 4 ms */
	rtpstat_init(&st, 8000);
	for (i = 0; i < 400; i++)
		feed(&st, (uint16_t)i, (uint32_t)i * 160,
		     (uint64_t)i * 20000 + (i % 2 ? 4000 : 0), 3);
	rtpstat_summary(&st, &sum);
	TEST_ASSERT(sum.jitter_ms > 3.8 && sum.jitter_ms < 4.1);
	TEST_ASSERT(sum.mos < clean);

	/* a new source continues the totals; duplicates add no loss */
	feed(&st, 7000, 0, 9000000, 4);
	feed(&st, 7001, 160, 9020000, 4);
	feed(&st, 7001, 160, 9021000, 4);
	rtpstat_summary(&st, &sum);
	TEST_EQUALS(403, sum.packets);
	TEST_EQUALS(0, sum.lost);

	/* the E-model falls with loss */
	TEST_ASSERT(rtpstat_mos(0, 0) > rtpstat_mos(1, 0));
	TEST_ASSERT(rtpstat_mos(1, 0) > rtpstat_mos(10, 0));
	TEST_ASSERT(rtpstat_mos(50, 0) < 2.0);

 out:
	return err;
}
