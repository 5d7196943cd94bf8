/**
 * @file test_sdp_mirror.c  Answers made from a known description
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


static struct mbuf *text(const char *s)
{
	struct mbuf *mb = mbuf_alloc(strlen(s));

	if (mb) {
		(void)mbuf_write_str(mb, s);
		mb->pos = 0;
	}

	return mb;
}


static bool has(const struct mbuf *mb, const char *s)
{
	struct pl pl;

	pl.p = (const char *)mb->buf;
	pl.l = mb->end;

	return 0 == re_regex(pl.p, pl.l, s);
}


int test_sdp_mirror(void)
{
	struct mbuf *last = NULL, *hold = NULL, *resume = NULL;
	struct mbuf *ans = NULL, *ans2 = NULL;
	uint64_t ver = 0;
	int err;

	last = text("v=0\r\n"
		    "o=bob 42 7 IN IP4 192.0.2.2\r\n"
		    "s=-\r\n"
		    "c=IN IP4 192.0.2.2\r\n"
		    "t=0 0\r\n"
		    "m=audio 4000 RTP/AVP 0\r\n"
		    "a=rtpmap:0 PCMU/8000\r\n"
		    "a=recvonly\r\n");
	hold = text("v=0\r\no=al 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
		    "m=audio 5000 RTP/AVP 0\r\na=sendonly\r\n");
	resume = text("v=0\r\no=al 1 3 IN IP4 192.0.2.1\r\ns=-\r\n"
		      "m=audio 5000 RTP/AVP 0\r\n");
	TEST_ASSERT(last && hold && resume);

	/* sendonly is answered recvonly, with a newer version */
	TEST_CHECK(sdp_mirror(&ans, last, hold, &ver));
	TEST_EQUALS(8, ver);
	TEST_ASSERT(has(ans, "o=bob 42 8 IN IP4 192.0.2.2\r\n"));
	TEST_ASSERT(has(ans, "a=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"));
	TEST_ASSERT(!has(ans, "sendonly"));
	TEST_ASSERT(!has(ans, "sendrecv"));

	/* no direction means sendrecv; the version keeps growing */
	TEST_CHECK(sdp_mirror(&ans2, last, resume, &ver));
	TEST_EQUALS(9, ver);
	TEST_ASSERT(has(ans2, "o=bob 42 9 "));
	TEST_ASSERT(has(ans2, "a=sendrecv\r\n"));
	TEST_ASSERT(!has(ans2, "recvonly"));

	TEST_EQUALS(EINVAL, sdp_mirror(NULL, last, hold, &ver));

 out:
	mem_deref(last);
	mem_deref(hold);
	mem_deref(resume);
	mem_deref(ans);
	mem_deref(ans2);
	return err;
}


/* the engine's own answer for a leg facing nobody (an app's call) */
int test_sdp_local(void)
{
	struct mbuf *offer = NULL, *ans = NULL;
	int err;

	/* the caller's first codec the relay has, and its events */
	offer = text("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		     "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		     "m=audio 30000 RTP/AVP 18 96 0 101 8\r\n"
		     "a=rtpmap:18 G729/8000\r\n"
		     "a=rtpmap:96 opus/48000/2\r\n"
		     "a=fmtp:96 useinbandfec=1\r\n"
		     "a=rtpmap:101 telephone-event/8000\r\n"
		     "a=rtpmap:8 PCMA/8000\r\n");
	TEST_ASSERT(offer);
	TEST_CHECK(sdp_local_answer(&ans, offer));
	TEST_ASSERT(has(ans, "c=IN IP4 0.0.0.0\r\n"));
	TEST_ASSERT(has(ans, "m=audio 9 RTP/AVP 96 101\r\n"));
	TEST_ASSERT(has(ans, "a=rtpmap:96 opus/48000/2\r\n"));
	TEST_ASSERT(has(ans, "a=rtpmap:101 telephone-event/8000\r\n"));
	TEST_ASSERT(!has(ans, "PCMA"));
	ans = mem_deref(ans);
	offer = mem_deref(offer);

	/* a static type without rtpmap; no events offered, none taken */
	offer = text("v=0\r\nc=IN IP4 127.0.0.1\r\n"
		     "m=audio 30000 RTP/AVP 0\r\n");
	TEST_ASSERT(offer);
	TEST_CHECK(sdp_local_answer(&ans, offer));
	TEST_ASSERT(has(ans, "m=audio 9 RTP/AVP 0\r\n"));
	TEST_ASSERT(!has(ans, "telephone-event"));
	ans = mem_deref(ans);
	offer = mem_deref(offer);

	/* nothing the relay has */
	offer = text("v=0\r\nm=audio 30000 RTP/AVP 18\r\n"
		     "a=rtpmap:18 G729/8000\r\n");
	TEST_ASSERT(offer);
	TEST_EQUALS(ENOTSUP, sdp_local_answer(&ans, offer));
	TEST_ASSERT(ans == NULL);

 out:
	mem_deref(offer);
	mem_deref(ans);

	return err;
}
