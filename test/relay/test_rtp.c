/**
 * @file test_rtp.c  RTP headers of the transcode path
 */
#include <string.h>
#include <re.h>
#include "../../media/rtp.h"
#include "relaytest.h"


int test_rtp_parse(void)
{
	uint8_t pkt[64];
	struct rtp_hdr h;
	int err = 0;

	TEST_CHECK(rtp_build(pkt, sizeof(pkt), true, 111, 65535, 0xdeadbeef,
			     0x01020304));
	memcpy(&pkt[12], "abcd", 4);
	TEST_CHECK(rtp_parse(&h, pkt, 16));
	TEST_ASSERT(h.marker);
	TEST_EQUALS(111, h.pt);
	TEST_EQUALS(65535, h.seq);
	TEST_EQUALS(0xdeadbeef, h.ts);
	TEST_EQUALS(0x01020304, h.ssrc);
	TEST_EQUALS(4, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "abcd", 4));

	/* a CSRC and an extension of one word before the payload */
	pkt[0] = 0x80 | 0x10 | 1;
	memset(&pkt[12], 0, 4);
	pkt[16] = 0xbe; pkt[17] = 0xde; pkt[18] = 0; pkt[19] = 1;
	memcpy(&pkt[24], "xy", 2);
	TEST_CHECK(rtp_parse(&h, pkt, 26));
	TEST_EQUALS(2, h.plen);
	TEST_ASSERT(!memcmp(h.payload, "xy", 2));

	/* what a packet claims beyond its end */
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 23));
	pkt[0] = 0x80 | 15;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 26));
	pkt[0] = 0x80 | 0x20;
	pkt[15] = 9;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 16));
	pkt[15] = 2;
	TEST_CHECK(rtp_parse(&h, pkt, 16));
	TEST_EQUALS(2, h.plen);
	pkt[0] = 0x40;
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 16));
	TEST_EQUALS(EBADMSG, rtp_parse(&h, pkt, 11));
	TEST_EQUALS(ENOBUFS, rtp_build(pkt, 11, false, 0, 0, 0, 0));

 out:
	return err;
}
