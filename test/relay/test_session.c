/**
 * @file test_session.c  Offer/answer through the relay: codecs offered,
 *                       answers relayed or transcoded, and real media
 *
 * One call, legs "a" (the offerer, phone A) and "b" (phone B), no
 * control connection. The descriptions are checked line by line; then
 * phones talk through the relay: PCMU with a 1 kHz tone into leg a
 * must reach phone B as Opus from leg b that decodes to the same tone,
 * SRTP must be ended at the relay, a player on a leg must be heard
 * instead of the peer (protected with the leg's key) and a recorder
 * must write what its leg's phone sends.
 */
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <math.h>
#include <sys/socket.h>
#include <re.h>
#include <rem.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "../../media/rtp.h"
#include "relaytest.h"


enum {
	PORT_MIN = 43120,
	PORT_MAX = 43131,
};

static const char offer_pcmu[] =
	"v=0\r\n"
	"o=- 1 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 4000 RTP/AVP 0 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=sendrecv\r\n";

static const char answer_opus[] =
	"v=0\r\n"
	"o=- 2 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 5000 RTP/AVP 111 101\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=fmtp:111 useinbandfec=1\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=sendrecv\r\n";

static const char answer_pcmu[] =
	"v=0\r\n"
	"o=- 2 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 5000 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n";

static const char offer_srtp[] =
	"v=0\r\n"
	"o=- 1 1 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.1\r\n"
	"t=0 0\r\n"
	"m=audio 4000 RTP/SAVP 0\r\n"
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";


struct fixture {
	struct hash *calls;
	struct call *call;
	struct leg *a;
	struct leg *b;
	struct mbuf *mb;
};


static int setup(struct fixture *f)
{
	struct sa loopback;
	int err;

	memset(f, 0, sizeof(*f));

	err = sa_set_str(&loopback, "127.0.0.1", 0);
	err = err ? err : ports_init(&loopback, PORT_MIN, PORT_MAX);
	err = err ? err : legs_init();
	err = err ? err : workers_start(1, 0);
	err = err ? err : hash_alloc(&f->calls, 4);
	err = err ? err : call_alloc(&f->call, f->calls, "c1", NULL);
	err = err ? err : call_leg_add(f->call, "a", &f->a);
	err = err ? err : call_leg_add(f->call, "b", &f->b);
	if (!err) {
		f->mb = mbuf_alloc(1024);
		err = f->mb ? 0 : ENOMEM;
	}

	return err;
}


static void teardown(struct fixture *f)
{
	mem_deref(f->call);
	mem_deref(f->calls);
	mem_deref(f->mb);
	workers_stop();
	grace_flush();
	legs_close();
	ports_close();
}


/* does the text hold a string? */
static bool has_text(struct mbuf *mb, const char *text)
{
	if (mbuf_write_u8(mb, 0))
		return false;
	--mb->end;

	return strstr((const char *)mb->buf, text) != NULL;
}


/* does the text hold a line? */
static bool has_line(struct mbuf *mb, const char *line)
{
	char want[256];

	(void)re_snprintf(want, sizeof(want), "%s\r\n", line);

	return has_text(mb, want);
}


static int offer(struct fixture *f, const char *sdp)
{
	mbuf_reset(f->mb);

	return session_offer(f->a, f->b, sdp, SRTP_MIRROR, f->mb);
}


static int answer(struct fixture *f, const char *sdp)
{
	mbuf_reset(f->mb);

	return session_answer(f->b, f->a, sdp, 5000, f->mb);
}


int test_session_offer(void)
{
	struct fixture f;
	char line[64];
	int err;

	err = setup(&f);
	if (err)
		goto out;

	/* A's formats first, untouched; then what the relay can reach */
	TEST_CHECK(offer(&f, offer_pcmu));
	(void)re_snprintf(line, sizeof(line), "m=audio %u RTP/AVP 0 101 8 9"
			  " 111", sa_port(&f.b->rtp.local));
	TEST_ASSERT(has_line(f.mb, line));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:0 PCMU/8000"));
	TEST_ASSERT(has_line(f.mb, "a=fmtp:101 0-15"));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:8 PCMA/8000"));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:9 G722/8000"));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:111 opus/48000/2"));
	TEST_ASSERT(has_line(f.mb, "a=sendrecv"));

	/* the Opus added is heard and fed by a narrowband party: B need
	 * not send a wider band */
	TEST_ASSERT(has_line(f.mb, "a=fmtp:111 useinbandfec=1;"
			     "maxplaybackrate=8000;sprop-maxcapturerate=8000"));

	/* ... by a wideband one: 16 kHz */
	TEST_CHECK(offer(&f, "v=0\r\nc=IN IP4 127.0.0.1\r\n"
			 "m=audio 4000 RTP/AVP 9\r\n"));
	TEST_ASSERT(has_line(f.mb, "a=fmtp:111 useinbandfec=1;"
			     "maxplaybackrate=16000;"
			     "sprop-maxcapturerate=16000"));

	/* SRTP ends at the relay: A's key stays here, B gets the relay's
	 * own keys, one per suite, in the profile A used */
	TEST_CHECK(offer(&f, offer_srtp));
	(void)re_snprintf(line, sizeof(line), "m=audio %u RTP/SAVP 0 8 9"
			  " 111", sa_port(&f.b->rtp.local));
	TEST_ASSERT(has_line(f.mb, line));
	TEST_ASSERT(!has_text(f.mb, "WVNfX19zZW1jdGwg"));
	TEST_ASSERT(has_text(f.mb,
			     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	TEST_ASSERT(has_text(f.mb,
			     "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"));

	/* the core may ask for plain RTP toward B */
	mbuf_reset(f.mb);
	TEST_CHECK(session_offer(f.a, f.b, offer_srtp, SRTP_OFF, f.mb));
	(void)re_snprintf(line, sizeof(line), "m=audio %u RTP/AVP 0 8 9"
			  " 111", sa_port(&f.b->rtp.local));
	TEST_ASSERT(has_line(f.mb, line));
	TEST_ASSERT(!has_text(f.mb, "a=crypto:"));

	/* RTP/SAVP with no key the relay can use */
	TEST_EQUALS(ENOTSUP, offer(&f, "v=0\r\nc=IN IP4 127.0.0.1\r\n"
				   "m=audio 4000 RTP/SAVP 0\r\n"
				   "a=crypto:1 F8_128_HMAC_SHA1_80 inline:"
				   "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
				   "\r\n"));

 out:
	teardown(&f);

	return err;
}


int test_session_answer(void)
{
	struct fixture f;
	char line[64];
	int err;

	err = setup(&f);
	if (err)
		goto out;

	/* B takes a codec A offered: relayed, A hears only its own */
	TEST_CHECK(offer(&f, offer_pcmu));
	TEST_CHECK(answer(&f, answer_pcmu));
	(void)re_snprintf(line, sizeof(line), "m=audio %u RTP/AVP 0 101",
			  sa_port(&f.a->rtp.local));
	TEST_ASSERT(has_line(f.mb, line));
	TEST_ASSERT(!has_line(f.mb, "a=rtpmap:8 PCMA/8000"));
	TEST_ASSERT(f.a->path == NULL && f.b->path == NULL);

	/* B takes one the relay added: transcoded, A gets its PCMU, and
	 * its telephone-event, as both use it at 8000 */
	TEST_CHECK(offer(&f, offer_pcmu));
	TEST_CHECK(answer(&f, answer_opus));
	(void)re_snprintf(line, sizeof(line), "m=audio %u RTP/AVP 0 101",
			  sa_port(&f.a->rtp.local));
	TEST_ASSERT(has_line(f.mb, line));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:0 PCMU/8000"));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:101 telephone-event/8000"));
	TEST_ASSERT(!has_line(f.mb, "a=rtpmap:111 opus/48000/2"));
	TEST_ASSERT(f.a->path != NULL && f.b->path != NULL);
	TEST_EQUALS(CODEC_PCMU, f.a->codec);
	TEST_EQUALS(CODEC_OPUS, f.b->codec);
	TEST_EQUALS(111, f.b->pt);

	/* each side's MOS counts its own codec's loss impairment */
	TEST_ASSERT(f.b->stat.bpl != f.a->stat.bpl);

	/* an Opus offerer answered in Opus for a PCMU answerer: told the
	 * band it will be heard in */
	TEST_CHECK(offer(&f, "v=0\r\nc=IN IP4 127.0.0.1\r\n"
			 "m=audio 4000 RTP/AVP 111\r\n"
			 "a=rtpmap:111 opus/48000/2\r\n"));
	TEST_CHECK(answer(&f, answer_pcmu));
	TEST_ASSERT(has_line(f.mb, "a=rtpmap:111 opus/48000/2"));
	TEST_ASSERT(has_line(f.mb, "a=fmtp:111 useinbandfec=1;"
			     "maxplaybackrate=8000;sprop-maxcapturerate=8000"));
	TEST_EQUALS(CODEC_OPUS, f.a->codec);
	TEST_EQUALS(CODEC_PCMU, f.b->codec);

	/* back to a common codec: the paths go */
	TEST_CHECK(offer(&f, offer_pcmu));
	TEST_CHECK(answer(&f, answer_pcmu));
	TEST_ASSERT(f.a->path == NULL && f.b->path == NULL);

	/* an answer with a format nobody offered */
	TEST_CHECK(offer(&f, offer_pcmu));
	TEST_EQUALS(ENOTSUP, answer(&f, "v=0\r\nc=IN IP4 127.0.0.1\r\n"
				    "m=audio 5000 RTP/AVP 97\r\n"
				    "a=rtpmap:97 iLBC/8000\r\n"));

 out:
	teardown(&f);

	return err;
}


static int udp_open(int *fdp, struct sa *local)
{
	int fd;

	if (sa_set_str(local, "127.0.0.1", 0))
		return EINVAL;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;

	local->len = sizeof(local->u.in);
	if (bind(fd, &local->u.sa, local->len) ||
	    getsockname(fd, &local->u.sa, &local->len)) {
		(void)close(fd);
		return errno;
	}

	*fdp = fd;

	return 0;
}


/* what one phone sends and hears */
struct phone {
	int fd;                   /**< Its socket                     */
	struct sa local;          /**< Its address                    */
	struct codec *codec;      /**< What it speaks                 */
	uint8_t pt;               /**< Its payload type               */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	uint64_t pos;             /**< Tone phase                     */
	int16_t heard[8000];      /**< Decoded, 1 s at 8 kHz          */
	size_t nheard;            /**< Samples in it                  */
	unsigned wrong_pt;        /**< Packets of another type        */
	struct srtp_pair *sp;     /**< Its SRTP, or NULL              */
	unsigned bad_srtp;        /**< Packets failing authentication */
};


static int phone_send(struct phone *ph, const struct sa *to, double hz)
{
	uint8_t pkt[400];
	int16_t pcm[160];
	size_t len = sizeof(pkt) - RTP_HDR_SIZE - SDES_OVERHEAD;
	int err;

	test_sine(pcm, 160, hz, 8000, 8000, &ph->pos);
	err = codec_encode(ph->codec, &pkt[RTP_HDR_SIZE], &len, pcm, 160);
	err = err ? err : rtp_build(pkt, sizeof(pkt), false, ph->pt,
				    ph->seq++, ph->ts, 0x1234);
	if (err)
		return err;

	ph->ts += codec_ts_step(ph->codec, 160);
	len += RTP_HDR_SIZE;

	if (ph->sp) {
		err = srtp_pair_protect(ph->sp, false, pkt, &len,
					sizeof(pkt));
		if (err)
			return err;
	}

	if (sendto(ph->fd, pkt, len, 0, &to->u.sa,
		   to->len) < 0)
		return errno;

	return 0;
}


static void phone_hear(struct phone *ph)
{
	uint8_t pkt[1500];
	struct rtp_hdr h;
	ssize_t n;

	while ((n = recv(ph->fd, pkt, sizeof(pkt), 0)) > 0) {
		size_t ns = ARRAY_SIZE(ph->heard) - ph->nheard;
		size_t len = (size_t)n;

		if (ph->sp && srtp_pair_unprotect(ph->sp, false, pkt, &len)) {
			++ph->bad_srtp;
			continue;
		}

		if (rtp_parse(&h, pkt, len))
			continue;
		if (h.pt != ph->pt) {
			++ph->wrong_pt;
			continue;
		}
		if (!codec_decode(ph->codec, &ph->heard[ph->nheard], &ns,
				  h.payload, h.plen))
			ph->nheard += ns;
	}
}


static int phone_sdp(char *buf, size_t sz, const struct phone *ph,
		     const char *tmpl)
{
	return re_snprintf(buf, sz, tmpl, sa_port(&ph->local)) > 0 ? 0 :
		ENOMEM;
}


static void phone_free(struct phone *ph)
{
	if (!ph)
		return;

	if (ph->fd >= 0)
		(void)close(ph->fd);
	mem_deref(ph->codec);
	mem_deref(ph->sp);
	mem_deref(ph);
}


static int phone_alloc(struct phone **php, int codec, uint8_t pt)
{
	struct phone *ph;
	int err;

	ph = mem_zalloc(sizeof(*ph), NULL);
	if (!ph)
		return ENOMEM;

	ph->fd = -1;
	ph->pt = pt;
	err = udp_open(&ph->fd, &ph->local);
	err = err ? err : codec_alloc(&ph->codec, codec, 8000, NULL);
	if (err)
		phone_free(ph);
	else
		*php = ph;

	return err;
}


/* one second of talk both ways, paced as phones do: each hears the
 * other's tone, in its own codec, nearly all of it (the jitter buffer
 * holds back two frames) */
static int talk(struct fixture *f, struct phone *pa, struct phone *pb)
{
	double amp_a, amp_b;
	int i, err = 0;

	leg_bridge(f->a, f->b);

	for (i = 0; i < 60; i++) {
		TEST_CHECK(phone_send(pa, &f->a->rtp.local, 1000));
		TEST_CHECK(phone_send(pb, &f->b->rtp.local, 600));
		(void)usleep(20000);
		phone_hear(pa);
		phone_hear(pb);
	}
	(void)usleep(100000);
	phone_hear(pa);
	phone_hear(pb);

	TEST_EQUALS(0, pa->wrong_pt + pb->wrong_pt);
	TEST_EQUALS(0, pa->bad_srtp + pb->bad_srtp);
	TEST_ASSERT(pa->nheard >= 8000 * 8 / 10);
	TEST_ASSERT(pb->nheard >= 8000 * 8 / 10);
	amp_a = test_tone_amplitude(&pa->heard[1600], pa->nheard - 1600,
				    600, 8000);
	amp_b = test_tone_amplitude(&pb->heard[1600], pb->nheard - 1600,
				    1000, 8000);
	if (amp_a < 5000 || amp_b < 5000) {
		(void)re_fprintf(stderr, "heard: A %zu samples, 600 Hz at"
				 " %.0f; B %zu samples, 1000 Hz at %.0f\n",
				 pa->nheard, amp_a, pb->nheard, amp_b);
		err = EINVAL;
	}

 out:
	return err;
}


/* A offers PCMU only, B answers Opus only: transcoded */
static int opus_call(struct fixture *f, struct phone *pa, struct phone *pb)
{
	static const char offer_tmpl[] =
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio %u RTP/AVP 0\r\n";
	static const char answer_tmpl[] =
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio %u RTP/AVP 111\r\n"
		"a=rtpmap:111 opus/48000/2\r\n";
	struct sdptext st;
	char sdp[256];
	int err;

	TEST_CHECK(phone_sdp(sdp, sizeof(sdp), pa, offer_tmpl));
	TEST_CHECK(offer(f, sdp));
	TEST_CHECK(sdptext_parse(&st, sdp, strlen(sdp)));
	leg_set_remote(f->a, &pa->local, &st);
	TEST_CHECK(phone_sdp(sdp, sizeof(sdp), pb, answer_tmpl));
	TEST_CHECK(answer(f, sdp));
	TEST_CHECK(sdptext_parse(&st, sdp, strlen(sdp)));
	leg_set_remote(f->b, &pb->local, &st);
	TEST_ASSERT(f->a->path && f->b->path);

 out:
	return err;
}


int test_session_transcode(void)
{
	struct phone *pa = NULL, *pb = NULL;
	struct fixture f;
	int err;

	err = setup(&f);
	if (err)
		goto out;

	TEST_CHECK(phone_alloc(&pa, CODEC_PCMU, 0));
	TEST_CHECK(phone_alloc(&pb, CODEC_OPUS, 111));
	TEST_CHECK(opus_call(&f, pa, pb));
	TEST_CHECK(talk(&f, pa, pb));

 out:
	phone_free(pa);
	phone_free(pb);
	teardown(&f);

	return err;
}


/* the key of the first a=crypto line of a description */
static int crypto_of(struct sdes_key *k, struct mbuf *mb)
{
	struct pl val;
	const char *p, *e;

	if (mbuf_write_u8(mb, 0))
		return ENOMEM;
	--mb->end;

	p = strstr((const char *)mb->buf, "a=crypto:");
	if (!p)
		return ENOENT;
	p += 9;
	e = strstr(p, "\r\n");
	val.p = p;
	val.l = e ? (size_t)(e - p) : strlen(p);

	return sdes_parse(k, &val);
}


/* A offers PCMU with SRTP, B answers plain PCMU: relayed as is, with
 * SRTP between A and the relay */
static int srtp_call(struct fixture *f, struct phone *pa, struct phone *pb)
{
	static const char offer_tmpl[] =
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio %u RTP/SAVP 0\r\n"
		"a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n";
	static const char answer_tmpl[] =
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio %u RTP/AVP 0\r\n";
	struct sdes_key ka, kr;
	char sdp[256], val[SDES_ATTR_MAX];
	const char *inline_key;
	struct sdptext st;
	int err;

	/* A offers SRTP with its key; B is asked for plain RTP */
	TEST_CHECK(sdes_make(&ka, 5, SDES_AES_CM_80));
	TEST_CHECK(sdes_print(val, sizeof(val), &ka));
	inline_key = strchr(strchr(val, ' ') + 1, ':') + 1;
	TEST_ASSERT(re_snprintf(sdp, sizeof(sdp), offer_tmpl,
				sa_port(&pa->local), inline_key) > 0);
	mbuf_reset(f->mb);
	TEST_CHECK(session_offer(f->a, f->b, sdp, SRTP_OFF, f->mb));
	TEST_ASSERT(!has_text(f->mb, "a=crypto:"));
	TEST_CHECK(sdptext_parse(&st, sdp, strlen(sdp)));
	leg_set_remote(f->a, &pa->local, &st);

	TEST_CHECK(phone_sdp(sdp, sizeof(sdp), pb, answer_tmpl));
	TEST_CHECK(answer(f, sdp));
	TEST_CHECK(sdptext_parse(&st, sdp, strlen(sdp)));
	leg_set_remote(f->b, &pb->local, &st);

	/* A's answer: RTP/SAVP, its tag and suite, the relay's key */
	TEST_ASSERT(has_text(f->mb, "RTP/SAVP 0\r\n"));
	TEST_CHECK(crypto_of(&kr, f->mb));
	TEST_EQUALS(5, kr.tag);
	TEST_EQUALS(SDES_AES_CM_80, kr.suite);
	TEST_ASSERT(memcmp(kr.key, ka.key, kr.keylen));
	TEST_ASSERT(f->a->path == NULL);

	/* A sends with its key and hears the relay's; B is plain */
	TEST_CHECK(srtp_pair_alloc(&pa->sp, &kr, &ka));

 out:
	return err;
}


int test_session_srtp(void)
{
	struct phone *pa = NULL, *pb = NULL;
	struct fixture f;
	int err;

	err = setup(&f);
	if (err)
		goto out;

	TEST_CHECK(phone_alloc(&pa, CODEC_PCMU, 0));
	TEST_CHECK(phone_alloc(&pb, CODEC_PCMU, 0));
	TEST_CHECK(srtp_call(&f, pa, pb));
	TEST_CHECK(talk(&f, pa, pb));

 out:
	phone_free(pa);
	phone_free(pb);
	teardown(&f);

	return err;
}


/* a tone played to A's leg of an SRTP call: A hears it, protected with
 * its key, and not B, who talks meanwhile; once stopped, they talk */
int test_session_play(void)
{
	struct phone *pa = NULL, *pb = NULL;
	struct play *p = NULL;
	struct legcodec lc;
	struct fixture f;
	double tone, peer;
	int i, err;

	err = setup(&f);
	if (err)
		goto out;

	TEST_CHECK(phone_alloc(&pa, CODEC_PCMU, 0));
	TEST_CHECK(phone_alloc(&pb, CODEC_PCMU, 0));
	TEST_CHECK(srtp_call(&f, pa, pb));
	leg_bridge(f.a, f.b);

	TEST_CHECK(leg_codec(&lc, f.a));
	TEST_EQUALS(CODEC_PCMU, lc.codec);
	TEST_EQUALS(0, lc.pt);
	TEST_CHECK(play_tone(&p, &lc, "us", TONE_SINE));
	leg_play(f.a, p);
	TEST_ASSERT(f.a->play == p);

	for (i = 0; i < 30; i++) {
		TEST_CHECK(phone_send(pb, &f.b->rtp.local, 600));
		(void)usleep(20000);
		phone_hear(pa);
	}
	(void)usleep(50000);
	phone_hear(pa);

	TEST_EQUALS(0, pa->bad_srtp + pa->wrong_pt);
	TEST_ASSERT(pa->nheard >= 25 * 160);
	tone = test_tone_amplitude(pa->heard, pa->nheard, 1004, 8000);
	peer = test_tone_amplitude(pa->heard, pa->nheard, 600, 8000);
	if (tone < 2000 || peer > 50) {
		(void)re_fprintf(stderr, "played: %zu samples, 1004 Hz at"
				 " %.0f, B's 600 Hz at %.0f\n", pa->nheard,
				 tone, peer);
		TEST_ERR(EINVAL);
	}

	TEST_ASSERT(leg_play_stop(f.a));
	TEST_ASSERT(!leg_play_stop(f.a));
	TEST_ASSERT(f.a->play == NULL);
	pa->nheard = pb->nheard = 0;
	TEST_CHECK(talk(&f, pa, pb));

 out:
	mem_deref(p);
	phone_free(pa);
	phone_free(pb);
	teardown(&f);

	return err;
}


/* both legs of a transcoded call recorded while their phones talk:
 * each file holds its phone's tone, at its codec's rate, as long as
 * what was sent */
int test_session_record(void)
{
	struct phone *pa = NULL, *pb = NULL;
	struct rec *ra = NULL, *rb = NULL, *r;
	char dir[256] = "", fa[300], fb[300];
	struct legcodec lc;
	struct fixture f;
	uint64_t ms_a = 0, ms_b = 0;
	int i, err;

	err = setup(&f);
	if (err)
		goto out;

	TEST_CHECK(test_tmpdir_make(dir, sizeof(dir)));
	(void)re_snprintf(fa, sizeof(fa), "%s/a.wav", dir);
	(void)re_snprintf(fb, sizeof(fb), "%s/b.wav", dir);

	TEST_CHECK(phone_alloc(&pa, CODEC_PCMU, 0));
	TEST_CHECK(phone_alloc(&pb, CODEC_OPUS, 111));

	/* no answer yet: no codec to record with */
	TEST_EQUALS(ENOTSUP, leg_codec(&lc, f.b));

	TEST_CHECK(opus_call(&f, pa, pb));
	leg_bridge(f.a, f.b);

	TEST_CHECK(leg_codec(&lc, f.a));
	TEST_CHECK(rec_alloc(&ra, &lc, fa));
	leg_rec(f.a, ra);
	TEST_CHECK(leg_codec(&lc, f.b));
	TEST_EQUALS(CODEC_OPUS, lc.codec);
	TEST_EQUALS(111, lc.pt);
	TEST_CHECK(rec_alloc(&rb, &lc, fb));
	leg_rec(f.b, rb);

	for (i = 0; i < 40; i++) {
		TEST_CHECK(phone_send(pa, &f.a->rtp.local, 1000));
		TEST_CHECK(phone_send(pb, &f.b->rtp.local, 600));
		(void)usleep(20000);
		phone_hear(pa);
		phone_hear(pb);
		if (i == 20) {
			rec_drain(ra);
			rec_drain(rb);
		}
	}
	(void)usleep(50000);

	/* each take hands over the leg's reference */
	r = leg_rec_take(f.a);
	mem_deref(r);
	TEST_ASSERT(r == ra);
	r = leg_rec_take(f.b);
	mem_deref(r);
	TEST_ASSERT(r == rb);
	TEST_ASSERT(leg_rec_take(f.b) == NULL);
	TEST_CHECK(rec_close(ra, &ms_a));
	TEST_CHECK(rec_close(rb, &ms_b));
	TEST_EQUALS(800, ms_a);
	TEST_EQUALS(800, ms_b);
	TEST_CHECK(test_rec_file_check(fa, 8000, 6400, 1000));
	TEST_CHECK(test_rec_file_check(fb, 48000, 38400, 600));

 out:
	mem_deref(ra);
	mem_deref(rb);
	phone_free(pa);
	phone_free(pb);
	teardown(&f);
	test_tmpdir_remove(dir);

	return err;
}
