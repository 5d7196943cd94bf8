/*
 * srtpcost: libsrtp2's per-packet cost, single thread.
 *
 * For each suite, one outbound and one inbound session with the same key;
 * 172-byte RTP packets (12-byte header + 160-byte PCMU payload), in
 * chunks of 1024: srtp_protect() every packet of the chunk, then
 * srtp_unprotect() them in order (the replay window sees a normal
 * stream), checking the plaintext comes back.  Times are thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID: a descheduled thread is not charged) and wall
 * time.  Prints one line per suite:
 *
 *   SRTP suite=AES_CM_128_HMAC_SHA1_80 packets=... protect_ns=... unprotect_ns=...
 *        both_ns=... wall_both_ns=... overhead_bytes=10 pps_per_core=...
 *
 * pps_per_core = 1e9 / both_ns: packets one core could protect and
 * unprotect per second, doing nothing else (a relay terminating SRTP on
 * one leg does one of the two per packet that crosses it).
 *
 *   srtpcost [-d SECS_PER_SUITE] [-n PACKETS_PER_CHUNK] [-C CPU]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#define PKT 172
#define ROOM 64

static uint64_t clk(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct suite {
	const char *name;
	void (*set)(srtp_crypto_policy_t *);
	int keylen;
};

static void set_cm80(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p); }
static void set_cm32(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(p); }
static void set_gcm(srtp_crypto_policy_t *p) { srtp_crypto_policy_set_aes_gcm_128_16_auth(p); }

static int session(srtp_t *s, const struct suite *su, unsigned char *key, int inbound)
{
	srtp_policy_t p;
	memset(&p, 0, sizeof p);
	su->set(&p.rtp);
	su->set(&p.rtcp);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = key;
	p.window_size = 128;
	return srtp_create(s, &p) == srtp_err_status_ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	double secs = 2.0;
	int chunk = 1024, cpu = -1, c;
	while ((c = getopt(argc, argv, "d:n:C:h")) != -1) {
		switch (c) {
		case 'd': secs = atof(optarg); break;
		case 'n': chunk = atoi(optarg); break;
		case 'C': cpu = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: srtpcost [-d SECS_PER_SUITE] [-n CHUNK] [-C CPU]\n");
			return 2;
		}
	}
	if (secs <= 0 || secs > 60 || chunk < 1 || chunk > 65536)
		return 2;
	if (cpu >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(cpu, &cs);
		sched_setaffinity(0, sizeof cs, &cs);
	}
	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtpcost: srtp_init failed\n");
		return 1;
	}
	printf("SRTPLIB version=%s\n", srtp_get_version_string());
	static const struct suite suites[] = {
		{"AES_CM_128_HMAC_SHA1_80", set_cm80, 30},
		{"AES_CM_128_HMAC_SHA1_32", set_cm32, 30},
		{"AEAD_AES_128_GCM", set_gcm, 28},
	};
	unsigned char (*pk)[PKT + ROOM] = malloc((size_t)chunk * (PKT + ROOM));
	int *len = malloc((size_t)chunk * sizeof *len);
	if (!pk || !len)
		return 1;
	int rc = 0;
	for (size_t si = 0; si < sizeof suites / sizeof suites[0]; si++) {
		const struct suite *su = &suites[si];
		unsigned char key[32];
		for (int i = 0; i < 32; i++)
			key[i] = (unsigned char)(i * 29 + 7);
		srtp_t tx, rx;
		if (session(&tx, su, key, 0) || session(&rx, su, key, 1)) {
			printf("SRTP suite=%s unavailable\n", su->name);
			continue;
		}
		uint16_t seq = 1;
		uint32_t ts = 0;
		uint64_t n = 0, t_prot = 0, t_unprot = 0, w_both = 0, bad = 0;
		int overhead = 0;
		uint64_t wall_end = clk(CLOCK_MONOTONIC) + (uint64_t)(secs * 1e9);
		for (int rounds = 0; rounds < 1000000 && clk(CLOCK_MONOTONIC) < wall_end; rounds++) {
			for (int i = 0; i < chunk; i++) {
				unsigned char *b = pk[i];
				b[0] = 0x80;
				b[1] = 0;
				b[2] = (unsigned char)(seq >> 8);
				b[3] = (unsigned char)seq;
				b[4] = (unsigned char)(ts >> 24);
				b[5] = (unsigned char)(ts >> 16);
				b[6] = (unsigned char)(ts >> 8);
				b[7] = (unsigned char)ts;
				b[8] = 0x12; b[9] = 0x34; b[10] = 0x56; b[11] = 0x78;
				memset(b + 12, (int)(seq & 0xFF), PKT - 12);
				len[i] = PKT;
				seq++;
				ts += 160;
			}
			uint64_t w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
			for (int i = 0; i < chunk; i++)
				if (srtp_protect(tx, pk[i], &len[i]) != srtp_err_status_ok)
					bad++;
			uint64_t c1 = clk(CLOCK_THREAD_CPUTIME_ID);
			overhead = len[0] - PKT;
			for (int i = 0; i < chunk; i++)
				if (srtp_unprotect(rx, pk[i], &len[i]) != srtp_err_status_ok || len[i] != PKT)
					bad++;
			uint64_t c2 = clk(CLOCK_THREAD_CPUTIME_ID), w1 = clk(CLOCK_MONOTONIC);
			t_prot += c1 - c0;
			t_unprot += c2 - c1;
			w_both += w1 - w0;
			n += (uint64_t)chunk;
			/* the plaintext must come back */
			if (pk[chunk - 1][12] != (unsigned char)((seq - 1) & 0xFF))
				bad++;
		}
		srtp_dealloc(tx);
		srtp_dealloc(rx);
		double p = (double)t_prot / (double)n, u = (double)t_unprot / (double)n;
		printf("SRTP suite=%s packets=%llu bytes=%d overhead_bytes=%d protect_ns=%.0f "
		       "unprotect_ns=%.0f both_ns=%.0f wall_both_ns=%.0f pps_per_core=%.0f errors=%llu\n",
		       su->name, (unsigned long long)n, PKT, overhead, p, u, p + u,
		       (double)w_both / (double)n, 1e9 / (p + u), (unsigned long long)bad);
		if (bad)
			rc = 1;
	}
	srtp_shutdown();
	free(pk);
	free(len);
	return rc;
}
