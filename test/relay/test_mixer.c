/**
 * @file test_mixer.c  Mixers with a packet thread: legs of three codecs
 *                     in one mix, through the path code
 *
 * One call, one packet thread, a 16 kHz mixer; local UDP sockets are
 * the phones. A (PCMU, with SRTP) sends 600 Hz, B (G.722) 1000 Hz,
 * C (Opus) 1400 Hz, and D (PCMU), in the mixer listening only, 2000 Hz.
 * Each must hear the others' tones in its own codec, from its leg's
 * port, and not its own; nobody hears D. Then D's answer changes its
 * codec to PCMA (mixer_update), a speaking-only member is heard and
 * hears nothing, and a tone played into the mixer reaches everyone
 * who listens. Leaving and freeing the mixer give the legs back.
 */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"
#include "relaytest.h"


enum {
	PORT_MIN  = 43140,
	PORT_MAX  = 43155,
	MIX_RATE  = 16000,        /**< The mixer's rate               */
	TALK_MS   = 1000,         /**< Each phase                     */
	SKIP_MS   = 300,          /**< Jitter buffers filling         */
	AMP       = 6000,         /**< Of each tone sent              */
	HEARD_MAX = 16000 * 2,    /**< 2 s at 16 kHz, decoded         */
	NPHONES   = 5,
};

/** A phone: its leg, socket, codec and tone, and what it hears */
struct phone {
	const char *name;         /**< Its leg's name                 */
	struct leg *leg;          /**< Its leg                        */
	int fd;                   /**< Its socket                     */
	struct sa addr;           /**< Its address                    */
	struct codec *enc;        /**< What it speaks                 */
	struct codec *dec;        /**< What it hears                  */
	uint8_t pt;               /**< Its payload type               */
	uint32_t srate;           /**< The PCM rate of its codec here */
	double hz;                /**< The tone it sends, 0: none     */
	uint64_t pos;             /**< Its phase                      */
	uint16_t seq;             /**< Next sequence number           */
	uint32_t ts;              /**< Next timestamp                 */
	struct srtp_pair *sp;     /**< Its SRTP, or NULL              */
	int16_t *heard;           /**< Decoded                        */
	size_t n;                 /**< Samples in heard               */
	unsigned strange;         /**< Packets from elsewhere, of
				       another type, or failing SRTP  */
};


static void phone_close(struct phone *ph)
{
	if (ph->fd >= 0)
		(void)close(ph->fd);
	ph->fd = -1;
	ph->enc = mem_deref(ph->enc);
	ph->dec = mem_deref(ph->dec);
	ph->sp = mem_deref(ph->sp);
	ph->heard = mem_deref(ph->heard);
}


/* its socket, codec and leg; the leg takes the codec as an answer
 * relaying it as is would set it */
static int phone_open(struct phone *ph, struct call *call, int codec,
		      uint8_t pt, double hz)
{
	struct sdptext st;
	int err;

	ph->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (ph->fd < 0)
		return errno;

	err = sa_set_str(&ph->addr, "127.0.0.1", 0);
	if (err)
		return err;
	if (bind(ph->fd, &ph->addr.u.sa, ph->addr.len) ||
	    getsockname(ph->fd, &ph->addr.u.sa, &ph->addr.len))
		return errno;

	ph->pt = pt;
	ph->hz = hz;
	ph->srate = codec == CODEC_OPUS ? MIX_RATE : codec_info(codec)->srate;
	ph->heard = mem_zalloc(HEARD_MAX * sizeof(*ph->heard), NULL);
	if (!ph->heard)
		return ENOMEM;

	err = codec_alloc(&ph->enc, codec, ph->srate, NULL);
	err = err ? err : codec_alloc(&ph->dec, codec, ph->srate, NULL);
	err = err ? err : call_leg_add(call, ph->name, &ph->leg);
	if (err)
		return err;

	ph->leg->relay_codec = codec;
	ph->leg->relay_pt = pt;
	st.rtp = ph->addr;
	sa_init(&st.rtcp, AF_UNSPEC);
	leg_set_remote(ph->leg, &ph->addr, &st);

	return 0;
}


/* A's SRTP: the leg unprotects with A's key and protects with ours */
static int phone_srtp(struct phone *ph)
{
	struct srtp_pair *in = NULL;
	struct sdes_key kp, kr;
	int err;

	err = sdes_make(&kp, 1, SDES_AES_CM_80);
	err = err ? err : sdes_make(&kr, 1, SDES_AES_CM_80);
	err = err ? err : srtp_pair_alloc(&in, &kp, &kr);
	err = err ? err : srtp_pair_alloc(&ph->sp, &kr, &kp);
	if (err)
		return err;

	pthread_mutex_lock(&ph->leg->mtx);
	ph->leg->srtp_in = in;
	pthread_mutex_unlock(&ph->leg->mtx);

	return 0;
}


/* 20 ms of its tone, or nothing */
static int phone_talk(struct phone *ph)
{
	uint8_t pkt[RTP_HDR_SIZE + 1500 + SDES_OVERHEAD];
	int16_t pcm[960];
	size_t n = ph->srate / 50, len = 1500;
	int err;

	if (!ph->hz)
		return 0;

	test_sine(pcm, n, ph->hz, ph->srate, AMP, &ph->pos);
	err = codec_encode(ph->enc, &pkt[RTP_HDR_SIZE], &len, pcm, n);
	err = err ? err : rtp_build(pkt, sizeof(pkt), ph->seq == 0, ph->pt,
				    ph->seq, ph->ts, 0xc0ffee);
	len += RTP_HDR_SIZE;
	if (!err && ph->sp)
		err = srtp_pair_protect(ph->sp, false, pkt, &len, sizeof(pkt));
	if (err)
		return err;

	++ph->seq;
	ph->ts += codec_ts_step(ph->enc, n);

	return sendto(ph->fd, pkt, len, 0, &ph->leg->rtp.local.u.sa,
		      ph->leg->rtp.local.len) < 0 ? errno : 0;
}


/* everything that arrived: from its leg's port, in its codec */
static void phone_listen(struct phone *ph)
{
	uint8_t pkt[1600];
	struct rtp_hdr h;
	struct sa from;
	ssize_t got;

	for (;;) {
		size_t len, n = HEARD_MAX - ph->n;

		from.len = sizeof(from.u);
		got = recvfrom(ph->fd, pkt, sizeof(pkt), 0, &from.u.sa,
			       &from.len);
		if (got < 0)
			break;

		len = (size_t)got;
		if (!sa_cmp(&from, &ph->leg->rtp.local, SA_ALL) ||
		    (ph->sp && srtp_pair_unprotect(ph->sp, false, pkt,
						   &len)) ||
		    rtp_parse(&h, pkt, len) || h.pt != ph->pt ||
		    codec_decode(ph->dec, &ph->heard[ph->n], &n, h.payload,
				 h.plen)) {
			++ph->strange;
			continue;
		}

		ph->n += n;
	}
}


/* every phone talks and listens for ms, at 20 ms a frame */
static int run(struct phone *phv, unsigned ms)
{
	unsigned t, i;
	int err = 0;

	for (i = 0; i < NPHONES; i++)
		phv[i].n = 0;

	for (t = 0; t < ms / 20; t++) {
		for (i = 0; i < NPHONES; i++)
			TEST_CHECK(phone_talk(&phv[i]));
		(void)usleep(20000);
		for (i = 0; i < NPHONES; i++)
			phone_listen(&phv[i]);
	}

 out:
	return err;
}


/* what a phone heard: each tone in want loud, each in quiet not */
static int hears(const struct phone *ph, const double *want, size_t nw,
		 const double *quiet, size_t nq)
{
	size_t skip = ph->srate * SKIP_MS / 1000, i;
	const int16_t *pcm = &ph->heard[skip];
	size_t n = ph->n > skip ? ph->n - skip : 0;
	int err = 0;

	/* nearly all of it arrived: one stream, every 20 ms */
	if (ph->n < ph->srate * (TALK_MS - 100) / 1000 || ph->strange)
		err = EINVAL;

	for (i = 0; i < nw; i++) {
		if (test_tone_amplitude(pcm, n, want[i], ph->srate) < AMP / 2)
			err = EINVAL;
	}
	for (i = 0; i < nq; i++) {
		if (test_tone_amplitude(pcm, n, quiet[i], ph->srate) > 400)
			err = EINVAL;
	}

	if (err) {
		(void)re_fprintf(stderr, "%s: %zu samples, %u strange:",
				 ph->name, ph->n, ph->strange);
		for (i = 0; i < nw + nq; i++) {
			double hz = i < nw ? want[i] : quiet[i - nw];

			(void)re_fprintf(stderr, " %d Hz at %d", (int)hz,
					 (int)test_tone_amplitude(pcm, n, hz,
								  ph->srate));
		}
		(void)re_fprintf(stderr, "\n");
	}

	return err;
}


int test_mixer_codecs(void)
{
	static const double bc[] = {1000, 1400}, ac[] = {600, 1400},
		ab[] = {600, 1000}, abc[] = {600, 1000, 1400},
		not_a[] = {600, 2000}, not_b[] = {1000, 2000},
		not_c[] = {1400, 2000}, not_d[] = {2000},
		played[] = {1004, 600};
	struct phone phv[NPHONES] = {
		{.name = "a", .fd = -1}, {.name = "b", .fd = -1},
		{.name = "c", .fd = -1}, {.name = "d", .fd = -1},
		{.name = "e", .fd = -1},
	};
	struct phone *a = &phv[0], *b = &phv[1], *c = &phv[2], *d = &phv[3],
		*e = &phv[4];
	struct hash *calls = NULL;
	struct call *call = NULL;
	struct mixer *m = NULL;
	struct play *p = NULL;
	struct sa loopback;
	size_t i;
	int err;

	err = sa_set_str(&loopback, "127.0.0.1", 0);
	err = err ? err : ports_init(&loopback, PORT_MIN, PORT_MAX);
	err = err ? err : legs_init();
	err = err ? err : workers_start(1, 0);
	err = err ? err : hash_alloc(&calls, 4);
	err = err ? err : call_alloc(&call, calls, "conf", NULL);
	if (err)
		goto out;

	TEST_CHECK(phone_open(a, call, CODEC_PCMU, 0, 600));
	TEST_CHECK(phone_open(b, call, CODEC_G722, 9, 1000));
	TEST_CHECK(phone_open(c, call, CODEC_OPUS, 111, 1400));
	TEST_CHECK(phone_open(d, call, CODEC_PCMU, 0, 2000));
	TEST_CHECK(phone_open(e, call, CODEC_PCMU, 0, 0));
	TEST_CHECK(phone_srtp(a));

	TEST_EQUALS(EINVAL, mixer_alloc(&m, call, "m", 11025));
	TEST_CHECK(mixer_alloc(&m, call, "m", MIX_RATE));
	TEST_EQUALS(EEXIST, mixer_alloc(&m, call, "m", 8000));
	TEST_ASSERT(mixer_find(call, "m") == m);
	TEST_CHECK(mixer_join(m, a->leg, MIXER_BOTH));
	TEST_CHECK(mixer_join(m, b->leg, MIXER_BOTH));
	TEST_CHECK(mixer_join(m, c->leg, MIXER_BOTH));
	TEST_CHECK(mixer_join(m, d->leg, MIXER_LISTEN));
	TEST_EQUALS(EEXIST, mixer_join(m, d->leg, MIXER_BOTH));
	TEST_ASSERT(leg_mixer(d->leg) == m);

	TEST_CHECK(run(phv, TALK_MS));
	TEST_CHECK(hears(a, bc, 2, not_a, 2));
	TEST_CHECK(hears(b, ac, 2, not_b, 2));
	TEST_CHECK(hears(c, ab, 2, not_c, 2));
	TEST_CHECK(hears(d, abc, 3, not_d, 1));
	TEST_EQUALS(0, e->n);

	/* D's codec changes with an answer; E only speaks; A, B and C
	 * fall silent and a tone plays into the mixer */
	d->leg->relay_codec = CODEC_PCMA;
	d->leg->relay_pt = 8;
	d->pt = 8;
	d->dec = mem_deref(d->dec);
	TEST_CHECK(codec_alloc(&d->dec, CODEC_PCMA, 8000, NULL));
	TEST_CHECK(mixer_update(d->leg));
	a->hz = b->hz = c->hz = 0;
	e->hz = 600;
	TEST_CHECK(mixer_join(m, e->leg, MIXER_SPEAK));
	TEST_CHECK(play_tone_pcm(&p, MIX_RATE, "us", TONE_SINE));
	mixer_play(m, p);

	TEST_CHECK(run(phv, TALK_MS));
	for (i = 0; i < 4; i++)
		TEST_CHECK(hears(&phv[i], played, 2, not_d, 1));
	TEST_EQUALS(0, e->n);
	TEST_ASSERT(mixer_play_stop(m));
	TEST_ASSERT(!mixer_play_stop(m));

	/* an answer with a codec the relay lacks: D leaves */
	d->leg->relay_codec = -1;
	TEST_EQUALS(ENOTSUP, mixer_update(d->leg));
	TEST_ASSERT(leg_mixer(d->leg) == NULL && !d->leg->member);
	TEST_ASSERT(mixer_leave(a->leg));
	TEST_ASSERT(!mixer_leave(a->leg));
	TEST_ASSERT(!atomic_load(&a->leg->mixed));

	/* freed: the others leave */
	m = mem_deref(m);
	TEST_ASSERT(mixer_find(call, "m") == NULL);
	TEST_ASSERT(!b->leg->member && !c->leg->member && !e->leg->member);

 out:
	mem_deref(p);
	mem_deref(m);
	mem_deref(call);
	mem_deref(calls);
	for (i = 0; i < NPHONES; i++)
		phone_close(&phv[i]);
	workers_stop();
	grace_flush();
	legs_close();
	ports_close();

	return err;
}
