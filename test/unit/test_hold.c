/**
 * @file test_hold.c  Hold: what an offer says, who holds whom, moh_file
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


static const char head[] = "v=0\r\no=al 1 2 IN IP4 192.0.2.1\r\ns=-\r\n";


/* sdp_holds() of head + text */
static int holds(bool *resp, const char *text)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "%s%s", head, text);
	mb->pos = 0;
	if (!err)
		*resp = sdp_holds(mb);

	mem_deref(mb);

	return err;
}


int test_hold_sdp(void)
{
	static const struct {
		const char *sdp;
		bool holds;
	} testv[] = {
		/* the audio's direction */
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=sendonly\r\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=inactive\r\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=recvonly\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=sendrecv\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=rtpmap:0 PCMU/8000\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=sendonlyx\r\n", false},

		/* said at session level, unless the audio says otherwise */
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendonly\r\n"
		 "m=audio 5000 RTP/AVP 0\r\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\na=inactive\r\n"
		 "m=audio 5000 RTP/AVP 0\r\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendonly\r\n"
		 "m=audio 5000 RTP/AVP 0\r\na=sendrecv\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendrecv\r\n"
		 "m=audio 5000 RTP/AVP 0\r\na=inactive\r\n", true},

		/* RFC 2543: connection address 0.0.0.0, either level */
		{"c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n",
		 true},
		{"t=0 0\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n",
		 true},
		{"c=IN IP4 0.0.0.0/127\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n",
		 true},
		{"c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "c=IN IP4 192.0.2.1\r\n", false},
		{"c=IN IP4 0.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n",
		 false},
		{"c=IN IP6 ::1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=x-note:c=IN IP4 0.0.0.0\r\n", false},

		/* the first audio stream in use decides */
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"
		 "a=sendonly\r\nm=audio 5002 RTP/AVP 0\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n"
		 "a=sendonly\r\nm=audio 5000 RTP/AVP 0\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=sendonly\r\nm=video 5004 RTP/AVP 96\r\n"
		 "a=sendrecv\r\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "m=audio 5002 RTP/AVP 0\r\na=sendonly\r\n", false},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n"
		 "a=sendonly\r\n", false},
		{"c=IN IP4 0.0.0.0\r\nt=0 0\r\na=inactive\r\n", false},

		/* bare LF, blanks at line ends, no final line end */
		{"c=IN IP4 192.0.2.1\nt=0 0\nm=audio 5000 RTP/AVP 0\n"
		 "a=sendonly \t\n", true},
		{"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
		 "a=inactive", true},
	};
	size_t i;
	bool res = false;
	int err = 0;

	TEST_ASSERT(!sdp_holds(NULL));

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		TEST_CHECK(holds(&res, testv[i].sdp));
		if (res != testv[i].holds) {
			(void)re_fprintf(stderr, "case %zu: holds %d: %s\n",
					 i, res, testv[i].sdp);
			TEST_ERR(EINVAL);
		}
	}

 out:
	return err;
}


static struct mbuf *sdp_dir(const char *dir)
{
	struct mbuf *mb = mbuf_alloc(256);

	if (mb) {
		(void)mbuf_printf(mb, "%sc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
				  "m=audio 5000 RTP/AVP 0\r\na=%s\r\n", head,
				  dir);
		mb->pos = 0;
	}

	return mb;
}


/* who holds whom, with no music: nothing then goes to the relay, so a
 * stand-in for the call's relay place does (it is only referenced) */
int test_hold_state(void)
{
	struct hold *h = NULL;
	struct mbuf *hold = sdp_dir("sendonly"), *idle = sdp_dir("inactive");
	struct mbuf *resume = sdp_dir("sendrecv"), *listen = NULL;
	void *rc = mem_zalloc(1, NULL);
	int err = 0;

	listen = sdp_dir("recvonly");
	TEST_ASSERT(hold && idle && resume && listen && rc);

	hold_init("");
	TEST_ASSERT(!hold_active(NULL));
	TEST_ASSERT(hold_holder(NULL) == NULL);
	TEST_EQUALS(EINVAL, hold_alloc(&h, NULL, "c1", "call-1"));

	TEST_CHECK(hold_alloc(&h, rc, "c1", "call-1"));
	TEST_ASSERT(!hold_active(h));
	TEST_ASSERT(hold_holder(h) == NULL);

	/* the caller holds, says it again, then the callee holds too */
	hold_offer(h, HOLD_CALLER, hold);
	TEST_ASSERT(hold_active(h));
	TEST_STRCMP("caller", hold_holder(h));
	hold_offer(h, HOLD_CALLER, idle);
	TEST_STRCMP("caller", hold_holder(h));
	hold_offer(h, HOLD_CALLEE, idle);
	TEST_STRCMP("both", hold_holder(h));

	/* a resume lets go of its own hold only */
	hold_offer(h, HOLD_CALLER, resume);
	TEST_STRCMP("callee", hold_holder(h));
	TEST_ASSERT(hold_active(h));

	/* recvonly holds nobody */
	hold_offer(h, HOLD_CALLEE, listen);
	TEST_ASSERT(hold_holder(h) == NULL);
	TEST_ASSERT(!hold_active(h));

 out:
	mem_deref(h);
	mem_deref(rc);
	mem_deref(hold);
	mem_deref(idle);
	mem_deref(resume);
	mem_deref(listen);

	return err;
}


static int parse(struct sb_conf *cfg, const char *text)
{
	conf_defaults(cfg);

	return conf_parse(cfg, text, strlen(text), "test.conf");
}


int test_hold_conf(void)
{
	struct sb_conf cfg;
	int err = 0;

	/* by default, the music built beside us, or the installed one */
	conf_defaults(&cfg);
	TEST_ASSERT(cfg.moh_file[0] == '/');
	TEST_ASSERT(strstr(cfg.moh_file, "/sounds/moh/default.wav"));

	TEST_CHECK(parse(&cfg, "moh_file /srv/moh/jazz.wav\n"));
	TEST_STRCMP("/srv/moh/jazz.wav", cfg.moh_file);

	/* a key alone: no music */
	TEST_CHECK(parse(&cfg, "moh_file\n"));
	TEST_STRCMP("", cfg.moh_file);
	TEST_CHECK(parse(&cfg, "moh_file   # none\n"));
	TEST_STRCMP("", cfg.moh_file);

	/* the relay plays absolute paths only; other keys still need a
	 * value */
	TEST_ASSERT(parse(&cfg, "moh_file sounds/moh.wav\n") != 0);
	TEST_ASSERT(parse(&cfg, "relay_port_min\n") != 0);
	TEST_ASSERT(parse(&cfg, "relay_address\n") != 0);

 out:
	return err;
}
