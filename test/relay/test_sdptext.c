/**
 * @file test_sdptext.c  SDP rewriting against golden input/output pairs
 *
 * test/relay/sdp/NAME.in is what a phone sent; NAME.out, when there is
 * one, is exactly what the relay must send on, with its address
 * 203.0.113.7, RTP port 30000 and RTCP port 30001. A case without .out
 * must be refused (EINVAL). The table below says what the relay must
 * read from each accepted input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "relaytest.h"


static const struct golden {
	const char *name;   /**< File name without .in/.out       */
	const char *rtp;    /**< Expected remote RTP, NULL: refused */
	const char *rtcp;   /**< Expected remote RTCP              */
} goldenv[] = {
	{"basic",        "192.0.2.10:49170",   "192.0.2.10:49171"},
	{"media_c",      "192.0.2.21:4000",    "192.0.2.21:4001"},
	{"video",        "198.51.100.5:5004",  "198.51.100.5:5005"},
	{"video_first",  "192.0.2.10:5004",    "192.0.2.10:5005"},
	{"rtcp_port",    "192.0.2.10:49170",   "192.0.2.10:53020"},
	{"rtcp_addr",    "192.0.2.10:49170",   "126.16.64.4:53020"},
	{"rejected",     "192.0.2.10:0",       "192.0.2.10:0"},
	{"lf_only",      "192.0.2.10:49170",   "192.0.2.10:49171"},
	{"hold",         "0.0.0.0:49170",      "0.0.0.0:49171"},
	{"two_audio",    "192.0.2.10:6000",    "192.0.2.10:6001"},
	{"ipv6",         "[2001:db8::1]:7078", "[2001:db8::1]:7079"},
	{"bad_no_audio", NULL, NULL},
	{"bad_no_c",     NULL, NULL},
	{"bad_port",     NULL, NULL},
	{"bad_addr",     NULL, NULL},
	{"bad_type",     NULL, NULL},
	{"bad_empty",    NULL, NULL},
};


static int load(struct mbuf **mbp, const char *name, const char *ext)
{
	const char *top = getenv("top_srcdir");
	char path[512];
	uint8_t buf[4096];
	struct mbuf *mb;
	size_t n;
	FILE *f;
	int err = 0;

	(void)re_snprintf(path, sizeof(path), "%s/test/relay/sdp/%s.%s",
			  top ? top : ".", name, ext);

	f = fopen(path, "rb");
	if (!f)
		return errno;

	mb = mbuf_alloc(sizeof(buf));
	if (!mb) {
		(void)fclose(f);
		return ENOMEM;
	}

	while (!err && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		err = mbuf_write_mem(mb, buf, n);

	(void)fclose(f);

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


static int check_sa(const char *name, const char *what, const char *exp,
		    const struct sa *sa)
{
	char buf[64];

	(void)re_snprintf(buf, sizeof(buf), "%J", sa);
	if (strcmp(exp, buf)) {
		(void)re_fprintf(stderr, "%s: %s: expected %s, got %s\n",
				 name, what, exp, buf);
		return EINVAL;
	}

	return 0;
}


static int one(const struct golden *g, const struct sa *rtp,
	       const struct sa *rtcp)
{
	struct mbuf *in = NULL, *exp = NULL, *out = NULL;
	struct sdptext st;
	int err;

	err = load(&in, g->name, "in");
	if (err) {
		(void)re_fprintf(stderr, "%s.in: %m\n", g->name, err);
		goto out;
	}

	out = mbuf_alloc(512);
	TEST_ASSERT(out != NULL);

	if (!g->rtp) {
		TEST_EQUALS(EINVAL, sdptext_parse(&st, (char *)in->buf,
						  in->end));
		TEST_EQUALS(EINVAL, sdptext_rewrite(out, (char *)in->buf,
						    in->end, rtp, rtcp, NULL));
		goto out;
	}

	err = load(&exp, g->name, "out");
	if (err) {
		(void)re_fprintf(stderr, "%s.out: %m\n", g->name, err);
		goto out;
	}

	TEST_CHECK(sdptext_parse(&st, (char *)in->buf, in->end));
	TEST_CHECK(check_sa(g->name, "rtp", g->rtp, &st.rtp));
	TEST_CHECK(check_sa(g->name, "rtcp", g->rtcp, &st.rtcp));

	TEST_CHECK(sdptext_rewrite(out, (char *)in->buf, in->end, rtp,
				   rtcp, NULL));
	if (out->end != exp->end || memcmp(out->buf, exp->buf, out->end)) {
		(void)re_fprintf(stderr, "%s: expected\n%b\ngot\n%b\n",
				 g->name, exp->buf, exp->end, out->buf,
				 out->end);
		err = EINVAL;
	}

 out:
	mem_deref(in);
	mem_deref(exp);
	mem_deref(out);

	return err;
}


int test_sdptext_golden(void)
{
	struct sa rtp, rtcp;
	size_t i;
	int err = 0;

	TEST_CHECK(sa_set_str(&rtp, "203.0.113.7", 30000));
	TEST_CHECK(sa_set_str(&rtcp, "203.0.113.7", 30001));

	for (i = 0; i < ARRAY_SIZE(goldenv); i++) {
		int e = one(&goldenv[i], &rtp, &rtcp);

		if (e) {
			(void)re_fprintf(stderr, "golden case %s failed\n",
					 goldenv[i].name);
			err = e;
		}
	}

 out:
	return err;
}


int test_sdptext_ipv6_relay(void)
{
	static const char in[] =
		"v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.10\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.10\r\n"
		"t=0 0\r\n"
		"m=audio 49170 RTP/AVP 0\r\n"
		"a=rtcp:49171 IN IP4 192.0.2.10\r\n";
	static const char exp[] =
		"v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.10\r\n"
		"s=-\r\n"
		"c=IN IP6 2001:db8::7\r\n"
		"t=0 0\r\n"
		"m=audio 31000 RTP/AVP 0\r\n"
		"a=rtcp:31001 IN IP6 2001:db8::7\r\n";
	struct mbuf *out = mbuf_alloc(256);
	struct sa rtp, rtcp;
	int err = 0;

	TEST_ASSERT(out != NULL);
	TEST_CHECK(sa_set_str(&rtp, "2001:db8::7", 31000));
	TEST_CHECK(sa_set_str(&rtcp, "2001:db8::7", 31001));
	TEST_CHECK(sdptext_rewrite(out, in, strlen(in), &rtp, &rtcp, NULL));
	TEST_EQUALS(strlen(exp), out->end);
	TEST_ASSERT(!memcmp(exp, out->buf, out->end));

 out:
	mem_deref(out);
	return err;
}


/* an edit on texts that end oddly: the added lines stay lines */
int test_sdptext_edit(void)
{
	static const char dropped_last[] =
		"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x";
	static const char *inv[] = {
		"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0",
		"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r",
		dropped_last,
	};
	static const char exp[] =
		"v=0\r\nc=IN IP4 203.0.113.7\r\nm=audio 30000 RTP/SAVP 0 8\r\n"
		"a=rtpmap:8 PCMA/8000\r\n";
	struct sdpedit e;
	struct sa rtp, rtcp;
	struct mbuf *out = NULL;
	struct sdpaudio au;
	size_t i;
	int err = 0;

	TEST_CHECK(sa_set_str(&rtp, "203.0.113.7", 30000));
	TEST_CHECK(sa_set_str(&rtcp, "203.0.113.7", 30001));

	memset(&e, 0, sizeof(e));
	e.fmts = "0 8";
	e.proto = "RTP/SAVP";
	e.drop_crypto = true;
	e.attrs = "a=rtpmap:8 PCMA/8000\n";
	sdpedit_keep(&e, 0);

	for (i = 0; i < ARRAY_SIZE(inv); i++) {
		out = mem_deref(out);
		out = mbuf_alloc(256);
		TEST_ASSERT(out != NULL);
		err = sdptext_rewrite(out, inv[i], strlen(inv[i]), &rtp, &rtcp,
				      &e);
		if (err)
			(void)re_fprintf(stderr, "edit %zu: %m\n", i, err);
		TEST_CHECK(err);
		if (out->end != strlen(exp) || memcmp(out->buf, exp,
						      out->end)) {
			(void)re_fprintf(stderr, "edit %zu: got '%b'\n", i,
					 out->buf, out->end);
			TEST_ERR(EINVAL);
		}

		/* and it reads back */
		TEST_CHECK(sdptext_audio(&au, (char *)out->buf, out->end));
		TEST_EQUALS(2, au.fmtc);
		TEST_EQUALS(8, au.fmtv[1].pt);
		TEST_EQUALS(8000, au.fmtv[1].clock);
		TEST_ASSERT(!pl_strcmp(&au.proto, "RTP/SAVP"));
	}

 out:
	mem_deref(out);

	return err;
}
