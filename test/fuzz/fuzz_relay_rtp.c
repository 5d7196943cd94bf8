/**
 * @file fuzz_relay_rtp.c  libFuzzer target: what phones send to sbrelay
 *
 * One input is a series of packets (each: a length byte, a kind byte,
 * then the bytes). Every packet goes where the packet threads put what
 * arrives on a leg: SRTP/SRTCP unprotect with a fixed key, the RTP
 * header reader, the receive statistics, the RFC 4733 receiver, and two
 * transcode paths (PCMU -> Opus and G.722 -> PCMA, with jitter buffer,
 * decoding, concealment, resampling and in-band digit search), played
 * out a tick after each packet. Nothing may crash, leak or trip UBSan;
 * what comes out must be a well-formed RTP packet of the peer's type.
 *
 *   ./configure --enable-fuzz CC=clang && make test/fuzz/fuzz_relay_rtp
 *   test/fuzz/fuzz_relay_rtp -max_total_time=60 corpus-rtp/ \
 *	test/fuzz/corpus/relay-rtp
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "../../media/codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** The paths and contexts every input goes through */
static struct {
	struct path *pcmu_opus;   /**< PCMU in, Opus (8 kHz) out      */
	struct path *g722_pcma;   /**< G.722 in, PCMA out: resampling */
	struct srtp_pair *srtp;   /**< Fixed key, rx                  */
} fz;


/* the packet threads' digit report: nobody to tell here */
void worker_dtmf(uint32_t leg_id, char digit, bool inband)
{
	(void)leg_id;
	(void)inband;

	if (!strchr("0123456789*#ABCD", digit))
		abort();
}


static struct path *path_make(int in, uint8_t pt_in, int out,
			      uint8_t pt_out, int te_in, int te_out)
{
	struct codec *dec = NULL, *enc = NULL;
	uint32_t rate = codec_info(in)->srate;
	struct path_cfg cfg;
	struct path *p = NULL;

	if (codec_alloc(&dec, in, rate, NULL) ||
	    codec_alloc(&enc, out, out == CODEC_OPUS ? rate :
			codec_info(out)->srate, NULL))
		abort();

	cfg.dec = dec;
	cfg.pt_in = pt_in;
	cfg.enc = enc;
	cfg.pt_out = pt_out;
	cfg.te_in = te_in;
	cfg.te_out = te_out;
	cfg.leg_id = 1;
	if (path_alloc(&p, &cfg))
		abort();

	mem_deref(dec);
	mem_deref(enc);

	return p;
}


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sdes_key k;
	(void)argc;
	(void)argv;

	if (libre_init() || sdes_init())
		abort();

	memset(&k, 0, sizeof(k));
	k.tag = 1;
	k.suite = SDES_AES_CM_80;
	k.keylen = 30;
	memset(k.key, 0x42, k.keylen);
	if (srtp_pair_alloc(&fz.srtp, &k, NULL))
		abort();

	fz.pcmu_opus = path_make(CODEC_PCMU, 0, CODEC_OPUS, 111, 101, 101);
	fz.g722_pcma = path_make(CODEC_G722, 9, CODEC_PCMA, 8, -1, -1);

	return 0;
}


static void out_check(const uint8_t *pkt, size_t len, uint8_t pt)
{
	struct rtp_hdr h;

	if (rtp_parse(&h, pkt, len) || (h.pt != pt && h.pt != 101))
		abort();
}


static void one(const uint8_t *p, size_t len, uint8_t kind)
{
	static struct dtmf_event_rx ev;
	static struct rtpstat st;
	struct dtmf_event dev;
	uint8_t buf[2048], te[128];
	struct rtp_hdr h;
	size_t n = len, tlen = sizeof(te);
	const uint8_t *out;

	memcpy(buf, p, len);

	switch (kind % 4) {

	case 0:
		(void)srtp_pair_unprotect(fz.srtp, false, buf, &n);
		break;

	case 1:
		(void)srtp_pair_unprotect(fz.srtp, true, buf, &n);
		return;

	default:
		break;
	}

	if (!rtp_parse(&h, buf, n)) {
		if (!st.clock)
			rtpstat_init(&st, 8000);
		rtpstat_rx(&st, &h, (uint64_t)h.seq * 20000);
		(void)dtmf_event_rx(&ev, &dev, h.payload, h.plen, h.ts,
				    h.marker);
	}

	if (!path_rx(fz.pcmu_opus, buf, n, te, &tlen) && tlen)
		out_check(te, tlen, 111);
	tlen = sizeof(te);
	(void)path_rx(fz.g722_pcma, buf, n, te, &tlen);

	out = path_tick(fz.pcmu_opus, &n);
	if (out)
		out_check(out, n, 111);
	out = path_tick(fz.g722_pcma, &n);
	if (out)
		out_check(out, n, 8);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtpstat_sum sum;
	struct rtpstat st;

	while (size >= 2) {
		size_t len = data[0];
		uint8_t kind = data[1];

		data += 2;
		size -= 2;
		len = len < size ? len : size;
		one(data, len, kind);
		data += len;
		size -= len;
	}

	rtpstat_init(&st, 8000);
	rtpstat_summary(&st, &sum);
	if (sum.packets || sum.mos < 1 || sum.mos > 4.5)
		abort();

	return 0;
}
