/*
 * rtpload: RTP load generator and meter for the media-relay benchmark.
 *
 * Simulates N calls.  Each call has two endpoints, A (the caller) and B
 * (the callee); each sends 20 ms RTP packets (12-byte header + 160-byte
 * payload = 172 bytes for PCMU) at 50 packets/s to its side of the relay,
 * and receives what the relay forwards from the other side.  The sends of
 * all streams are spread evenly over the 20 ms period (packet k of a
 * thread is due at t0 + k * 20 ms / streams).  The thread wakes at most
 * every -q us (sleeping with 1 us timer slack, or busy-waiting with -S),
 * sends what is due in sendmmsg() batches of up to -b, and drains its
 * sockets with recvmmsg().  Each packet carries, at the start of its
 * payload, a magic number, its call, direction and sequence number, an
 * in-window flag and its send time (CLOCK_REALTIME ns, taken just before
 * the sendmmsg() that sends it).  One-way latency = the kernel's receive
 * timestamp (SO_TIMESTAMPNS: when the relay's send queued the packet on
 * the receiving socket) - the send time, so the generator's own delay in
 * reading its sockets is not in it (-R event: wake on every packet and
 * measure to the application instead).
 *
 *   -r none            baseline: endpoint to endpoint, no relay (the
 *                      generator's own latency floor)
 *   -r plain:FILE      through plainrelay: FILE has "CALL PORTA PORTB"
 *                      lines (A sends to PORTA, B to PORTB)
 *   -r sbrelay:SOCK    through sbrelay: speaks docs/relay-protocol.md v1
 *                      on the UNIX socket SOCK (hello; per call: offer
 *                      with A's SDP, answer with B's; stats and delete at
 *                      the end) and sends to the ports the relay returned
 *
 * Timeline: start, -w warm-up seconds (latching, caches), -d measured
 * seconds, then sending stops and it drains for -D seconds.  Only packets
 * sent inside the measured window count: loss = 1 - received/sent of
 * those; latency percentiles are of those received.
 *
 * Endpoints share sockets: -k sockets per side per thread (default 1), so
 * sends and receives batch (sendmmsg/recvmmsg) and the generator stays
 * cheaper than the relay it loads.  -k large gives each endpoint its own
 * socket, as real phones have.  The relay side is unchanged either way:
 * each leg is its own relay port.
 *
 * With -P PID it samples that process's CPU time (/proc/PID/stat) and RSS
 * over the measured window, with its own CPU (getrusage), the machine's
 * (/proc/stat: busy per CPU, softirq, steal), every other process's
 * (/proc/[pid]/stat: "other", kernel threads apart) and the UDP error
 * counters (/proc/net/snmp).  It checks it kept up: gen_behind=1 when it
 * sent < 99.9 % of what was due or its p99 send lag was over 2 ms.
 *
 * -G SECS: the stall probe instead: spin on this CPU (-C) and report how
 * much time it was taken away.
 *
 * Ready for what sbrelay does not do yet:
 *   -c pcmu|g722|opus  B's codec (A is always PCMU).  A transcoded packet
 *                      loses the stamp: it is then matched by RTP sequence
 *                      number (offset learnt from the first packet) to the
 *                      send time kept per stream.
 *   -e none|a|both     SRTP (SDES a=crypto) on leg A, or on both legs
 *                      (both: only for a relay that passes SRTP through,
 *                      like plainrelay: a self-test of the SRTP path).
 *   -s SUITE           AES_CM_128_HMAC_SHA1_80 (default), AEAD_AES_128_GCM
 *   -X 'JSON'          extra fields added to each offer/answer request.
 *
 * Prints one line "RESULT key=value ..." (see README.md) and exits 0; 1
 * when setup failed.  Every loop is bounded: by count, or by the run's
 * deadline (warm-up + duration + drain), control replies by -T seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>
#ifdef HAVE_OPUS
#include <opus.h>
#endif

#define PERIOD_NS 20000000ull
#define RING 64
#define MAGIC 0x53425242u /* "SBRB" */
#define SSRC_TAG 0x5B000000u
#define HDR 12
#define STAMP 24
#define PKTMAX 1500
#define BMAX 64
#define RBATCH 64
#define KMAX 4096
/* latency histogram: 1 us buckets to 2 ms, then 100 us buckets to 102 ms */
#define NB 3001

struct stream {
	uint32_t call;
	uint8_t dir;  /* 0: A->B, 1: B->A */
	uint8_t pt;
	uint8_t rx_pt; /* the payload type the receiving endpoint expects */
	uint8_t stamped; /* payload can carry the stamp */
	uint16_t seq;
	uint32_t ts, ts_step, ssrc;
	int txside, txk;  /* socket that sends */
	struct sockaddr_storage dst;
	socklen_t dstlen;
	srtp_t tx, rx;
	const unsigned char *payload;
	int paylen;
	uint64_t sent_win, recv_win;
	int off_known;
	uint16_t seq_off, seq_first; /* transcoded: first sent maps to first heard */
	uint16_t ring_seq[RING];
	uint8_t ring_win[RING];
	uint64_t ring_t[RING]; /* CLOCK_REALTIME send stamps */
};

struct pend {
	int n;
	struct stream *st[BMAX];
	uint64_t due[BMAX];
	unsigned char buf[BMAX][PKTMAX];
	struct iovec iov[BMAX];
	struct mmsghdr msg[BMAX];
};

struct gthr {
	int idx;
	pthread_t tid;
	int ncalls, M;
	struct stream *st; /* st[dir * ncalls + i], local call i = global call i * G + idx */
	int K;
	int fd[2][KMAX];
	struct sockaddr_storage addr[2][KMAX];
	socklen_t addrlen[2][KMAX];
	struct pend *pend[2]; /* one per socket */
	int ep;
	uint64_t t0, k;
	int32_t *portmap; /* relay source port -> stream index + 1 */
	/* receive buffers */
	unsigned char (*rbuf)[PKTMAX];
	struct mmsghdr rmsg[RBATCH];
	struct iovec riov[RBATCH];
	struct sockaddr_storage rsrc[RBATCH];
	char rctl[RBATCH][64];
	/* results */
	uint64_t lat[NB], lag[NB];
	uint64_t lat_max, lag_max, lat_n;
	double lat_sum;
	uint64_t sent_win, sent_total, send_err, recv_total, recv_win, unknown, misrouted,
		srtp_err, nomatch, recv_calls, wakeups, no_kts, busy_ns, pt_mismatch,
		stall_ns, stalls; /* -S: gaps in the busy-wait (CPU taken away) */
};

/* ---- options ---- */
static int ncalls = 100, nthreads = 1, K = 1, bmax = 8, quantum_us = 50;
static int rx_event; /* -R event: wake on receive, latency to the application */
static int spin;     /* -S: busy-poll between sends instead of sleeping */
static double probe_s; /* -G: only measure how often this CPU is taken away */
static double warm_s = 1.0, dur_s = 5.0, drain_s = 0.5, ctl_timeout = 10;
static const char *addr = "127.0.0.1", *relay = "none", *codec = "pcmu", *srtp_leg = "none",
		  *suite = "AES_CM_128_HMAC_SHA1_80", *extra = "", *label = "";
static int relay_pid = 0, cpu_pin = -1;
static int mode; /* 0 none, 1 plain, 2 sbrelay */
static int family = AF_INET;

static uint64_t win_start, win_end, send_end, run_end;
static struct gthr **thr;
static int ctl_fd = -1;
static unsigned ctl_id;
static unsigned char pcmu_payload[160], g722_payload[160], opus_payload[400];
static int opus_len;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rt_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void cleanup_ctl(void);

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rtpload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup_ctl();
	exit(1);
}

static void put16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	if (us < 2000)
		return (int)us;
	if (us < 102000)
		return 2000 + (int)((us - 2000) / 100);
	return NB - 1;
}

static double bucket_us(int b) /* upper edge */
{
	if (b < 2000)
		return b + 1;
	if (b < NB - 1)
		return 2000 + (b - 2000 + 1) * 100.0;
	return 1e9;
}

static double pct(const uint64_t *h, uint64_t n, double p)
{
	if (!n)
		return -1;
	uint64_t want = (uint64_t)((double)n * p / 100.0);
	if (want >= n)
		want = n - 1;
	uint64_t acc = 0;
	for (int b = 0; b < NB; b++) {
		acc += h[b];
		if (acc > want)
			return bucket_us(b);
	}
	return bucket_us(NB - 1);
}

static int is_loopback_sa(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

static int make_sa(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			return -1;
		*sl = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (void *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			return -1;
		*sl = sizeof *s4;
	}
	return 0;
}

static int sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* ---- SRTP ---- */

static int use_srtp_a, use_srtp_b;

static void b64(const unsigned char *in, int n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int o = 0;
	for (int i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n) v |= in[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

static int unb64(const char *in, unsigned char *out, int max)
{
	int o = 0, bits = 0;
	uint32_t v = 0;
	for (; *in && *in != '|' && !isspace((unsigned char)*in); in++) {
		const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		if (*in == '=')
			break;
		const char *p = strchr(t, *in);
		if (!p)
			return -1;
		v = v << 6 | (uint32_t)(p - t);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= max)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return o;
}

static int suite_keylen(void)
{
	return !strcmp(suite, "AEAD_AES_128_GCM") ? 28 : 30;
}

static void set_policy(srtp_policy_t *p)
{
	memset(p, 0, sizeof *p);
	if (!strcmp(suite, "AEAD_AES_128_GCM")) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&p->rtp);
		srtp_crypto_policy_set_rtcp_default(&p->rtcp);
	}
	p->window_size = 128;
}

static srtp_t srtp_session(const unsigned char *key, int inbound)
{
	srtp_policy_t p;
	set_policy(&p);
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = (unsigned char *)key;
	srtp_t s = NULL;
	if (srtp_create(&s, &p) != srtp_err_status_ok)
		die("srtp_create failed (suite %s)", suite);
	return s;
}

static void call_key(uint32_t call, int side, unsigned char *key)
{
	/* deterministic per call and side: a benchmark, not a phone */
	uint32_t x = call * 2654435761u ^ (uint32_t)side * 40503u ^ 0x9E3779B9u;
	for (int i = 0; i < 30; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		key[i] = (unsigned char)x;
	}
}

/* ---- sockets ---- */

static int udp_socket(struct sockaddr_storage *ss, socklen_t *sl)
{
	if (make_sa(addr, 0, ss, sl) < 0)
		die("bad address %s", addr);
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int sz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0)
		die("SO_TIMESTAMPNS: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)ss, *sl) < 0)
		die("bind %s: %s", addr, strerror(errno));
	*sl = sizeof *ss;
	getsockname(fd, (struct sockaddr *)ss, sl);
	return fd;
}

static struct stream *stream_of(struct gthr *t, uint32_t call, int dir)
{
	return &t->st[dir * t->ncalls + (int)(call / (uint32_t)nthreads)];
}

static void endpoint(uint32_t call, struct gthr **tp, int *kp)
{
	struct gthr *t = thr[call % (uint32_t)nthreads];
	*tp = t;
	*kp = (int)((call / (uint32_t)nthreads) % (uint32_t)t->K);
}

/* ---- sending ---- */

static uint64_t due_of(struct gthr *t, uint64_t k)
{
	return t->t0 + (k / (uint64_t)t->M) * PERIOD_NS + ((k % (uint64_t)t->M) * PERIOD_NS) / (uint64_t)t->M;
}

static void flush(struct gthr *t, int side, int k)
{
	struct pend *p = &t->pend[side][k];
	if (!p->n)
		return;
	uint64_t now = now_ns(), rt = rt_ns();
	int inwin = now >= win_start && now < win_end;
	for (int i = 0; i < p->n; i++) {
		struct stream *s = p->st[i];
		unsigned char *b = p->buf[i];
		int len = HDR + s->paylen;
		if (s->stamped) {
			put32(b + HDR + 8, (uint32_t)s->dir | (inwin ? 0x100u : 0));
			memcpy(b + HDR + 16, &rt, 8);
		}
		uint16_t seq = get16(b + 2);
		s->ring_seq[seq % RING] = seq;
		s->ring_win[seq % RING] = (uint8_t)inwin;
		s->ring_t[seq % RING] = rt;
		uint64_t lag = now > p->due[i] ? now - p->due[i] : 0;
		t->lag[bucket(lag)]++;
		if (lag > t->lag_max)
			t->lag_max = lag;
		if (s->tx) {
			int l = len;
			if (srtp_protect(s->tx, b, &l) != srtp_err_status_ok)
				t->srtp_err++;
			len = l;
		}
		p->iov[i].iov_base = b;
		p->iov[i].iov_len = (size_t)len;
		memset(&p->msg[i].msg_hdr, 0, sizeof p->msg[i].msg_hdr);
		p->msg[i].msg_hdr.msg_name = &s->dst;
		p->msg[i].msg_hdr.msg_namelen = s->dstlen;
		p->msg[i].msg_hdr.msg_iov = &p->iov[i];
		p->msg[i].msg_hdr.msg_iovlen = 1;
	}
	int done = 0;
	for (int tries = 0; done < p->n && tries < p->n + 2; tries++) {
		int r = sendmmsg(t->fd[side][k], p->msg + done, (unsigned)(p->n - done), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			t->send_err++; /* skip the one that failed */
			done++;
			continue;
		}
		for (int i = done; i < done + r; i++) {
			t->sent_total++;
			if (inwin) {
				t->sent_win++;
				p->st[i]->sent_win++;
			}
		}
		done += r;
	}
	p->n = 0;
}

static void queue_pkt(struct gthr *t, struct stream *s, uint64_t due)
{
	struct pend *p = &t->pend[s->txside][s->txk];
	if (p->n == bmax)
		flush(t, s->txside, s->txk);
	unsigned char *b = p->buf[p->n];
	b[0] = 0x80;
	b[1] = s->pt;
	put16(b + 2, s->seq);
	put32(b + 4, s->ts);
	put32(b + 8, s->ssrc);
	memcpy(b + HDR, s->payload, (size_t)s->paylen);
	if (s->stamped) {
		put32(b + HDR, MAGIC);
		put32(b + HDR + 4, s->call);
		put32(b + HDR + 8, s->dir);
		put32(b + HDR + 12, s->seq);
	}
	s->seq++;
	s->ts += s->ts_step;
	p->st[p->n] = s;
	p->due[p->n] = due;
	p->n++;
}

static void send_due(struct gthr *t, uint64_t now)
{
	for (int budget = 0; budget < 256; budget++) {
		uint64_t due = due_of(t, t->k);
		if (due > now || due >= send_end)
			break;
		queue_pkt(t, &t->st[t->k % (uint64_t)t->M], due);
		t->k++;
	}
	for (int side = 0; side < 2; side++)
		for (int k = 0; k < t->K; k++)
			flush(t, side, k);
}

/* ---- receiving ---- */

static void got(struct gthr *t, int side, unsigned char *b, int len,
		const struct sockaddr_storage *src, uint64_t now)
{
	if (len < HDR) {
		t->unknown++;
		return;
	}
	struct stream *s = NULL;
	uint32_t ssrc = get32(b + 8);
	if ((ssrc & 0xFF000000u) == SSRC_TAG) {
		uint32_t call = (ssrc >> 1) & 0x7FFFFFu;
		if (call < (uint32_t)ncalls && call % (uint32_t)nthreads == (uint32_t)t->idx)
			s = stream_of(t, call, (int)(ssrc & 1));
	}
	if (!s && t->portmap) {
		int32_t i = t->portmap[sa_port(src)];
		if (i > 0)
			s = &t->st[i - 1];
	}
	if (!s) {
		t->unknown++;
		return;
	}
	if (s->dir == side) { /* dir 0 (A->B) must arrive at side B (1) */
		t->misrouted++;
		return;
	}
	if (s->rx) {
		int l = len;
		if (srtp_unprotect(s->rx, b, &l) != srtp_err_status_ok) {
			t->srtp_err++;
			return;
		}
		len = l;
	}
	if ((b[1] & 0x7F) != s->rx_pt)
		t->pt_mismatch++; /* not transcoded: the relay passed the sender's codec through */
	uint64_t sent;
	int inwin;
	if (len >= HDR + STAMP && get32(b + HDR) == MAGIC) {
		memcpy(&sent, b + HDR + 16, 8);
		inwin = (get32(b + HDR + 8) & 0x100u) != 0;
	} else {
		uint16_t rseq = get16(b + 2);
		if (!s->off_known) {
			/* the relay's jitter buffer plays the first packet it got
			 * first, tens of ms after it came: not the latest sent */
			s->seq_off = (uint16_t)(rseq - s->seq_first);
			s->off_known = 1;
		}
		uint16_t q = (uint16_t)(rseq - s->seq_off);
		if (s->ring_seq[q % RING] != q || !s->ring_t[q % RING]) {
			t->nomatch++;
			return;
		}
		sent = s->ring_t[q % RING];
		inwin = s->ring_win[q % RING];
	}
	t->recv_total++;
	if (inwin) {
		t->recv_win++;
		s->recv_win++;
		uint64_t lat = now > sent ? now - sent : 0;
		t->lat[bucket(lat)]++;
		t->lat_n++;
		t->lat_sum += (double)lat;
		if (lat > t->lat_max)
			t->lat_max = lat;
	}
}

static void on_readable(struct gthr *t, int side, int k, int rounds)
{
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < RBATCH; i++) {
			t->riov[i].iov_base = t->rbuf[i];
			t->riov[i].iov_len = PKTMAX;
			memset(&t->rmsg[i].msg_hdr, 0, sizeof t->rmsg[i].msg_hdr);
			t->rmsg[i].msg_hdr.msg_name = &t->rsrc[i];
			t->rmsg[i].msg_hdr.msg_namelen = sizeof t->rsrc[i];
			t->rmsg[i].msg_hdr.msg_iov = &t->riov[i];
			t->rmsg[i].msg_hdr.msg_iovlen = 1;
			t->rmsg[i].msg_hdr.msg_control = t->rctl[i];
			t->rmsg[i].msg_hdr.msg_controllen = sizeof t->rctl[i];
		}
		int n = recvmmsg(t->fd[side][k], t->rmsg, RBATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		t->recv_calls++;
		uint64_t now = rt_ns();
		for (int i = 0; i < n; i++) {
			uint64_t at = now;
			if (!rx_event) { /* when the packet reached the socket */
				at = 0;
				for (struct cmsghdr *cm = CMSG_FIRSTHDR(&t->rmsg[i].msg_hdr); cm;
				     cm = CMSG_NXTHDR(&t->rmsg[i].msg_hdr, cm))
					if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
						struct timespec kts;
						memcpy(&kts, CMSG_DATA(cm), sizeof kts);
						at = (uint64_t)kts.tv_sec * 1000000000ull + (uint64_t)kts.tv_nsec;
					}
				if (!at) {
					t->no_kts++;
					at = now;
				}
			}
			got(t, side, t->rbuf[i], (int)t->rmsg[i].msg_len, &t->rsrc[i], at);
		}
		if (n < RBATCH)
			return;
	}
}

static void *worker(void *arg)
{
	struct gthr *t = arg;
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (cpu_pin >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(cpu_pin, &cs);
		pthread_setaffinity_np(pthread_self(), sizeof cs, &cs);
	}
	struct epoll_event ev[64];
	uint64_t q = (uint64_t)quantum_us * 1000;
	/* -R poll (default): one wake-up every quantum at most; it sends what
	 * is due and drains the receive sockets; latency is measured to the
	 * kernel's receive timestamp, so the generator's own wake-up delay is
	 * not in it.  -R event: also wakes on receive (epoll). */
	for (uint64_t iter = 0; iter < 100000000ull; iter++) {
		uint64_t now = now_ns(), woke = now;
		if (now >= run_end)
			break;
		uint64_t before = t->sent_total + t->recv_calls;
		if (now < send_end)
			send_due(t, now);
		if (!rx_event)
			for (int side = 0; side < 2; side++)
				for (int k = 0; k < t->K; k++)
					on_readable(t, side, k, 2); /* 128 at most: sends go on */
		if (t->sent_total + t->recv_calls != before) {
			uint64_t e = now_ns();
			if (now >= win_start && e < win_end)
				t->busy_ns += e - now;
		}
		uint64_t next = run_end;
		if (now < send_end) {
			uint64_t d = due_of(t, t->k);
			next = d < send_end ? d : send_end;
		} else if (!rx_event) {
			next = now + q; /* draining */
		}
		now = now_ns();
		if (next < woke + q)
			next = woke + q;
		if (next > run_end)
			next = run_end;
		t->wakeups++;
		if (rx_event) {
			uint64_t wait = next > now ? next - now : 0;
			struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
			int n = epoll_pwait2(t->ep, ev, 64, &ts, NULL);
			for (int i = 0; i < n; i++) {
				uint32_t v = (uint32_t)ev[i].data.u64;
				on_readable(t, (int)(v >> 16), (int)(v & 0xFFFF), 16);
			}
		} else if (spin) {
			/* busy-wait: no sleep/wake-up cost, still batches per quantum;
			 * a gap between two clock reads is time the CPU was taken
			 * away (a stall probe for free) */
			uint64_t prev = now_ns(), c;
			while ((c = now_ns()) < next) {
				if (c - prev > 100000 && c >= win_start && c < win_end) {
					t->stall_ns += c - prev;
					t->stalls++;
				}
				prev = c;
				__builtin_ia32_pause();
			}
		} else {
			struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
	}
	return NULL;
}

/* ---- sbrelay control (docs/relay-protocol.md v1) ---- */

static char ctl_buf[1 << 17];
static size_t ctl_have;

static void ctl_send(const char *s, size_t n)
{
	uint64_t end = now_ns() + (uint64_t)(ctl_timeout * 1e9);
	while (n) {
		ssize_t w = write(ctl_fd, s, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {ctl_fd, POLLOUT, 0};
			if (now_ns() > end)
				die("control socket: write timeout");
			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0)
			die("control socket: write: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/* one line (no '\n'), into out; 0 on timeout/EOF */
static int ctl_line(char *out, size_t max, uint64_t deadline)
{
	for (;;) {
		char *nl = memchr(ctl_buf, '\n', ctl_have);
		if (nl) {
			size_t l = (size_t)(nl - ctl_buf);
			if (l >= max)
				l = max - 1;
			memcpy(out, ctl_buf, l);
			out[l] = 0;
			size_t used = (size_t)(nl - ctl_buf) + 1;
			memmove(ctl_buf, ctl_buf + used, ctl_have - used);
			ctl_have -= used;
			return 1;
		}
		if (ctl_have == sizeof ctl_buf)
			die("control socket: line too long");
		uint64_t now = now_ns();
		if (now >= deadline)
			return 0;
		struct pollfd pfd = {ctl_fd, POLLIN, 0};
		int ms = (int)((deadline - now) / 1000000) + 1;
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		ssize_t r = read(ctl_fd, ctl_buf + ctl_have, sizeof ctl_buf - ctl_have);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return 0;
		}
		ctl_have += (size_t)r;
	}
}

static long json_int(const char *line, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return strtol(p, NULL, 10);
}

/* the string value of key, unescaped, into out */
static int json_str(const char *line, const char *key, char *out, size_t max)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != '"')
		return -1;
	p++;
	size_t o = 0;
	while (*p && *p != '"' && o + 1 < max) {
		if (*p == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'r': out[o++] = '\r'; break;
			case 'n': out[o++] = '\n'; break;
			case 't': out[o++] = '\t'; break;
			case 'u': {
				unsigned v = 0;
				sscanf(p + 1, "%4x", &v);
				out[o++] = v < 128 ? (char)v : '?';
				p += 4;
				break;
			}
			default: out[o++] = *p;
			}
			p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	return 0;
}

static int json_ok(const char *line)
{
	char v[16];
	return json_str(line, "result", v, sizeof v) == 0 && !strcmp(v, "ok");
}

static void json_esc(const char *in, char *out, size_t max)
{
	size_t o = 0;
	for (; *in && o + 7 < max; in++) {
		if (*in == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
		else if (*in == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
		else if (*in == '"' || *in == '\\') { out[o++] = '\\'; out[o++] = *in; }
		else out[o++] = *in;
	}
	out[o] = 0;
}

/* waits for the reply to id; returns it in out (skipping events) */
static void ctl_reply(unsigned id, char *out, size_t max)
{
	uint64_t deadline = now_ns() + (uint64_t)(ctl_timeout * 1e9);
	for (int lines = 0; lines < 1000000; lines++) {
		if (!ctl_line(out, max, deadline))
			die("control socket: no reply to request %u", id);
		if (strstr(out, "\"event\""))
			continue;
		long got_id = json_int(out, "id");
		if (got_id == (long)id)
			return;
	}
	die("control socket: no reply to request %u", id);
}

static void sdp_of(char *out, size_t max, int port, const char *cod, int srtp_side, uint32_t call)
{
	const char *ipv = family == AF_INET6 ? "IP6" : "IP4";
	const char *m, *rtpmap;
	if (!strcmp(cod, "opus")) {
		m = "111";
		rtpmap = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"; /* as linphone */
	} else if (!strcmp(cod, "g722")) {
		m = "9";
		rtpmap = "a=rtpmap:9 G722/8000\r\n";
	} else {
		m = "0";
		rtpmap = "a=rtpmap:0 PCMU/8000\r\n";
	}
	char crypto[160] = "";
	if (srtp_side >= 0) {
		unsigned char key[30];
		char k64[64];
		call_key(call, srtp_side, key);
		b64(key, suite_keylen(), k64);
		snprintf(crypto, sizeof crypto, "a=crypto:1 %s inline:%s\r\n", suite, k64);
	}
	snprintf(out, max,
		 "v=0\r\no=rtpload %u 1 IN %s %s\r\ns=rtpload\r\nc=IN %s %s\r\nt=0 0\r\n"
		 "m=audio %d %s %s\r\n%sa=ptime:20\r\na=sendrecv\r\n%s",
		 call + 1, ipv, addr, ipv, addr, port, srtp_side >= 0 ? "RTP/SAVP" : "RTP/AVP", m,
		 rtpmap, crypto);
}

/* address, port and (if any) crypto key of an SDP */
static void sdp_parse(const char *sdp, struct sockaddr_storage *ss, socklen_t *sl,
		      unsigned char *key, int *haskey)
{
	char ip[64] = "", *p;
	int port = -1;
	*haskey = 0;
	if ((p = strstr(sdp, "c=IN IP")))
		sscanf(p + 9, "%63[^\r\n ]", ip);
	if ((p = strstr(sdp, "m=audio ")))
		port = atoi(p + 8);
	if ((p = strstr(sdp, "a=crypto:")) && (p = strstr(p, "inline:"))) {
		if (unb64(p + 7, key, 30) >= suite_keylen())
			*haskey = 1;
	}
	if (!ip[0] || port <= 0 || port > 65535 || make_sa(ip, port, ss, sl) < 0)
		die("relay returned an SDP without a usable c=/m= line: %.200s", sdp);
	if (!is_loopback_sa(ss))
		die("relay returned a non-loopback address %s: refusing to send there", ip);
}

static char bench_tag[32];
static int calls_made;

static void cleanup_ctl(void)
{
	if (ctl_fd < 0)
		return;
	int fd = ctl_fd;
	/* delete what was set up; the relay also frees it when we disconnect */
	char req[512], line[4096];
	unsigned first = ctl_id + 1;
	for (int c = 0; c < calls_made; c++) {
		int n = snprintf(req, sizeof req, "{\"id\":%u,\"command\":\"delete\",\"call\":\"%s-%d\"}\n",
				 ++ctl_id, bench_tag, c);
		ctl_send(req, (size_t)n);
		if ((c & 63) == 63 || c == calls_made - 1) {
			uint64_t deadline = now_ns() + (uint64_t)(ctl_timeout * 1e9);
			while (first <= ctl_id && ctl_line(line, sizeof line, deadline))
				if (!strstr(line, "\"event\"") && json_int(line, "id") == (long)first)
					first++;
		}
	}
	calls_made = 0;
	ctl_fd = -1;
	close(fd);
}

static long relay_stats[2] = {-1, -1};

static void ctl_stats(void)
{
	char req[128], line[4096];
	int n = snprintf(req, sizeof req, "{\"id\":%u,\"command\":\"stats\"}\n", ++ctl_id);
	ctl_send(req, (size_t)n);
	ctl_reply(ctl_id, line, sizeof line);
	relay_stats[0] = json_int(line, "packets");
	relay_stats[1] = json_int(line, "dropped");
}

/* the relay's jitter-buffer counters, summed over every call's legs: a
 * concealed frame arrives like any other, only the relay knows it was
 * made up (transcoded runs) */
enum { JB_PLAYED, JB_CONCEALED, JB_LATE, JB_DROPPED, JB_UNDERRUNS, JB_N };
static const char *const jb_keys[JB_N] = {"played", "concealed", "late", "dropped", "underruns"};

static void ctl_jb(long long sum[JB_N])
{
	static char req[256], line[16384];
	memset(sum, 0, JB_N * sizeof sum[0]);
	for (int base = 0; base < calls_made; base += 64) {
		int cnt = calls_made - base < 64 ? calls_made - base : 64;
		unsigned first = ctl_id + 1;
		for (int c = base; c < base + cnt; c++) {
			int n = snprintf(req, sizeof req, "{\"id\":%u,\"command\":\"query\",\"call\":\"%s-%d\"}\n",
					 ++ctl_id, bench_tag, c);
			ctl_send(req, (size_t)n);
		}
		for (unsigned id = first; id <= ctl_id; id++) {
			ctl_reply(id, line, sizeof line);
			for (const char *p = line; (p = strstr(p, "\"jitter_buffer\":")); p++)
				for (int k = 0; k < JB_N; k++)
					sum[k] += json_int(p, jb_keys[k]);
		}
	}
}

#ifdef HAVE_OPUS
/* B's Opus frame, as a phone running libopus makes it: 48 kHz, in no
 * wider band than the relay said it plays (maxplaybackrate) */
static void opus_frame(long maxplayback)
{
	int err;
	OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (!enc)
		die("opus_encoder_create: %d", err);
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	if (maxplayback > 0)
		opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(maxplayback <= 8000 ? OPUS_BANDWIDTH_NARROWBAND :
							       maxplayback <= 12000 ? OPUS_BANDWIDTH_MEDIUMBAND :
							       maxplayback <= 16000 ? OPUS_BANDWIDTH_WIDEBAND :
							       maxplayback <= 24000 ? OPUS_BANDWIDTH_SUPERWIDEBAND :
							       OPUS_BANDWIDTH_FULLBAND));
	opus_int16 pcm[960];
	for (int i = 0; i < 960; i++)
		pcm[i] = (opus_int16)(8000 * ((i / 24) % 2 ? 1 : -1)); /* 1 kHz square */
	for (int r = 0; r < 5; r++) /* settle the encoder */
		opus_len = opus_encode(enc, pcm, 960, opus_payload, sizeof opus_payload);
	opus_encoder_destroy(enc);
	if (opus_len <= 0)
		die("opus_encode failed");
}
#endif

/* maxplaybackrate in the relay's offer to B, -1: none */
static long offer_maxplayback = -1;

static void setup_sbrelay(const char *path)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		die("socket path too long");
	strcpy(sun.sun_path, path);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint64_t deadline = now_ns() + (uint64_t)(ctl_timeout * 1e9);
	while (connect(ctl_fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		if (now_ns() > deadline)
			die("connect %s: %s", path, strerror(errno));
		usleep(50000);
	}
	fcntl(ctl_fd, F_SETFL, O_NONBLOCK);
	snprintf(bench_tag, sizeof bench_tag, "rtpload%d", (int)getpid());
	static char line[1 << 16], req[1 << 14], sdp[4096], esc[8192], rsdp[8192];
	if (!ctl_line(line, sizeof line, now_ns() + (uint64_t)(ctl_timeout * 1e9)))
		die("no hello from the relay");
	if (!strstr(line, "\"hello\""))
		die("relay spoke first with something else: %.200s", line);
	int n = snprintf(req, sizeof req, "{\"id\":%u,\"command\":\"hello\",\"protocol\":1}\n", ++ctl_id);
	ctl_send(req, (size_t)n);
	ctl_reply(ctl_id, line, sizeof line);
	if (!json_ok(line))
		die("hello refused: %.200s", line);

	const char *xsep = extra[0] ? "," : "";
	/* windows of up to 64 calls: offers, then answers (pipelined) */
	for (int base = 0; base < ncalls; base += 64) {
		int cnt = ncalls - base < 64 ? ncalls - base : 64;
		for (int phase = 0; phase < 2; phase++) {
			unsigned first = ctl_id + 1;
			for (int j = 0; j < cnt; j++) {
				uint32_t c = (uint32_t)(base + j);
				struct gthr *t;
				int k;
				int side = phase; /* offer from A, answer from B */
				endpoint(c, &t, &k);
				int srtp_side = (side == 0 && use_srtp_a) || (side == 1 && use_srtp_b) ? side : -1;
				sdp_of(sdp, sizeof sdp, sa_port(&t->addr[side][k]),
				       side == 0 ? "pcmu" : codec, srtp_side, c);
				json_esc(sdp, esc, sizeof esc);
				n = snprintf(req, sizeof req,
					     "{\"id\":%u,\"command\":\"%s\",\"call\":\"%s-%u\",\"from\":\"%s\","
					     "\"to\":\"%s\",\"source\":\"%s\",\"sdp\":\"%s\"%s%s}\n",
					     ++ctl_id, side == 0 ? "offer" : "answer", bench_tag, c,
					     side == 0 ? "a" : "b", side == 0 ? "b" : "a", addr, esc, xsep, extra);
				ctl_send(req, (size_t)n);
				if (phase == 0)
					calls_made = (int)c + 1;
			}
			for (int j = 0; j < cnt; j++) {
				uint32_t c = (uint32_t)(base + j);
				ctl_reply(first + (unsigned)j, line, sizeof line);
				if (!json_ok(line))
					die("%s for call %u refused: %.300s", phase ? "answer" : "offer", c, line);
				if (json_str(line, "sdp", rsdp, sizeof rsdp) < 0)
					die("reply without sdp: %.300s", line);
				struct gthr *t = thr[c % (uint32_t)nthreads];
				/* offer reply: leg b, where B sends (stream B->A, dir 1);
				 * answer reply: leg a, where A sends (stream A->B, dir 0) */
				struct stream *s = stream_of(t, c, phase == 0 ? 1 : 0);
				unsigned char key[30];
				int haskey;
				sdp_parse(rsdp, &s->dst, &s->dstlen, key, &haskey);
				if (phase == 0 && c == 0 && strstr(rsdp, "maxplaybackrate="))
					offer_maxplayback = atol(strstr(rsdp, "maxplaybackrate=") + 16);
				/* the relay sends stream dir 0 to B from leg b's port, dir 1 to A from leg a's */
				t->portmap[sa_port(&s->dst)] = (int32_t)((phase == 0 ? 0 : 1) * t->ncalls +
									 (int)(c / (uint32_t)nthreads)) + 1;
				/* SRTP towards a side: the key the relay's SDP gives that side */
				int rxside = phase == 0 ? 1 : 0; /* offer reply goes to B, answer reply to A */
				if ((rxside == 0 && use_srtp_a) || (rxside == 1 && use_srtp_b)) {
					if (!haskey)
						die("SRTP wanted on leg %c but the relay's SDP has no a=crypto",
						    rxside ? 'b' : 'a');
					struct stream *in = stream_of(t, c, rxside == 0 ? 1 : 0);
					in->rx = srtp_session(key, 1);
				}
			}
		}
	}
}

static void setup_plain(const char *file)
{
	FILE *f = NULL;
	uint64_t deadline = now_ns() + (uint64_t)(ctl_timeout * 1e9);
	while (!(f = fopen(file, "r"))) {
		if (now_ns() > deadline)
			die("no port file %s", file);
		usleep(20000);
	}
	int got = 0, c, pa, pb;
	while (got < ncalls && fscanf(f, "%d %d %d", &c, &pa, &pb) == 3) {
		if (c != got)
			die("port file %s: line %d names call %d", file, got + 1, c);
		struct gthr *t = thr[(uint32_t)c % (uint32_t)nthreads];
		struct stream *ab = stream_of(t, (uint32_t)c, 0), *ba = stream_of(t, (uint32_t)c, 1);
		make_sa(addr, pa, &ab->dst, &ab->dstlen);
		make_sa(addr, pb, &ba->dst, &ba->dstlen);
		t->portmap[pb] = (int32_t)(0 * t->ncalls + c / nthreads) + 1; /* B gets A's from PORTB */
		t->portmap[pa] = (int32_t)(1 * t->ncalls + c / nthreads) + 1;
		got++;
	}
	fclose(f);
	if (got < ncalls)
		die("port file %s has %d calls, %d wanted", file, got, ncalls);
	/* SRTP through a pass-through relay: each side decrypts with the other's key */
	for (int i = 0; i < ncalls; i++) {
		struct gthr *t = thr[i % nthreads];
		unsigned char key[30];
		if (use_srtp_a && use_srtp_b) {
			call_key((uint32_t)i, 0, key);
			stream_of(t, (uint32_t)i, 0)->rx = srtp_session(key, 1);
			call_key((uint32_t)i, 1, key);
			stream_of(t, (uint32_t)i, 1)->rx = srtp_session(key, 1);
		}
	}
}

static void setup_none(void)
{
	for (int c = 0; c < ncalls; c++) {
		struct gthr *ta, *tb;
		int ka, kb;
		endpoint((uint32_t)c, &ta, &ka);
		endpoint((uint32_t)c, &tb, &kb);
		struct stream *ab = stream_of(ta, (uint32_t)c, 0), *ba = stream_of(ta, (uint32_t)c, 1);
		ab->dst = tb->addr[1][kb];
		ab->dstlen = tb->addrlen[1][kb];
		ba->dst = ta->addr[0][ka];
		ba->dstlen = ta->addrlen[0][ka];
		unsigned char key[30];
		if (use_srtp_a && use_srtp_b) {
			call_key((uint32_t)c, 0, key);
			ab->rx = srtp_session(key, 1);
			call_key((uint32_t)c, 1, key);
			ba->rx = srtp_session(key, 1);
		}
	}
}

/* ---- measuring the machine ---- */

/* CPU ticks of every process but this one and the relay: user space
 * (PF_KTHREAD clear) and kernel threads (ksoftirqd may run our packets).
 * Children's times (cutime) are left out: a parent that reaps a child
 * that ran for minutes would count all of it now.  Processes that start
 * and end inside the window are missed here; the tick count of
 * /proc/stat catches them (see "other" below). */
#define PMAX 32768
struct pscan {
	int n;
	int pid[PMAX];
	long ticks[PMAX];
	unsigned char kthread[PMAX];
};

static void scan_procs(struct pscan *ps)
{
	ps->n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	int self = (int)getpid();
	while ((e = readdir(d)) && ps->n < PMAX) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == self || pid == relay_pid)
			continue;
		char path[64], buf[1024];
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		char *p = strrchr(buf, ')');
		if (!p)
			continue;
		unsigned long flags = 0;
		long ut = 0, st = 0;
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %ld %ld", &flags, &ut,
			   &st) != 3)
			continue;
		ps->pid[ps->n] = pid;
		ps->ticks[ps->n] = ut + st;
		ps->kthread[ps->n] = (flags & 0x00200000ul) != 0;
		ps->n++;
	}
	closedir(d);
}

/* ticks used between a and b by user processes (*user) and kernel threads (*kern) */
static void scan_delta(const struct pscan *a, const struct pscan *b, long *user, long *kern)
{
	*user = *kern = 0;
	int j = 0;
	for (int i = 0; i < b->n; i++) {
		/* readdir order is stable enough; fall back to a search */
		long before = 0;
		if (j < a->n && a->pid[j] == b->pid[i]) {
			before = a->ticks[j++];
		} else {
			for (int x = 0; x < a->n; x++)
				if (a->pid[x] == b->pid[i]) {
					before = a->ticks[x];
					j = x + 1;
					break;
				}
		}
		long dlt = b->ticks[i] - before;
		if (dlt < 0)
			dlt = 0;
		if (b->kthread[i])
			*kern += dlt;
		else
			*user += dlt;
	}
}

struct snap {
	uint64_t t;
	double self_cpu;
	long relay_ticks, relay_uticks, relay_sticks;
	unsigned long long cpu[10];
	unsigned long long pcpu[8][8]; /* per CPU: user nice system idle iowait irq softirq steal */
	unsigned long long udp_rcvbuf, udp_inerr, udp_sndbuf, udp6_rcvbuf, softnet_drop;
};

static void proc_ticks(int pid, long *u, long *s)
{
	*u = *s = -1;
	if (!pid)
		return;
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) == 2) {
		*u = ut;
		*s = st;
	}
}

static long proc_kb(int pid, const char *field)
{
	if (!pid)
		return -1;
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, fl) && line[fl] == ':')
			v = atol(line + fl + 1);
	fclose(f);
	return v;
}

static void take(struct snap *s)
{
	memset(s, 0, sizeof *s);
	s->t = now_ns();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	s->self_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	proc_ticks(relay_pid, &s->relay_uticks, &s->relay_sticks);
	s->relay_ticks = s->relay_uticks + s->relay_sticks;
	FILE *f = fopen("/proc/stat", "r");
	if (f) {
		fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &s->cpu[0], &s->cpu[1],
		       &s->cpu[2], &s->cpu[3], &s->cpu[4], &s->cpu[5], &s->cpu[6], &s->cpu[7]);
		fclose(f);
	}
	char line[2048];
	f = fopen("/proc/stat", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			int cpu;
			unsigned long long v[8];
			if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
				   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 && cpu >= 0 && cpu < 8)
				memcpy(s->pcpu[cpu], v, sizeof v);
		}
		fclose(f);
	}
	f = fopen("/proc/net/snmp", "r");
	if (f) {
		char hdr[2048] = "";
		while (fgets(line, sizeof line, f)) {
			if (!strncmp(line, "Udp: ", 5)) {
				if (!hdr[0]) {
					strcpy(hdr, line);
					continue;
				}
				/* match names to values */
				char *hs, *vs, *h = strtok_r(hdr + 5, " \n", &hs), *v = strtok_r(line + 5, " \n", &vs);
				while (h && v) {
					if (!strcmp(h, "RcvbufErrors")) s->udp_rcvbuf = strtoull(v, NULL, 10);
					if (!strcmp(h, "InErrors")) s->udp_inerr = strtoull(v, NULL, 10);
					if (!strcmp(h, "SndbufErrors")) s->udp_sndbuf = strtoull(v, NULL, 10);
					h = strtok_r(NULL, " \n", &hs);
					v = strtok_r(NULL, " \n", &vs);
				}
				break;
			}
		}
		fclose(f);
	}
	f = fopen("/proc/net/snmp6", "r");
	if (f) {
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "Udp6RcvbufErrors", 16))
				s->udp6_rcvbuf = strtoull(line + 16, NULL, 10);
		fclose(f);
	}
	f = fopen("/proc/net/softnet_stat", "r");
	if (f) {
		unsigned a, b;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "%x %x", &a, &b) == 2)
				s->softnet_drop += b;
		fclose(f);
	}
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: rtpload -n CALLS -d SECS [-r none|plain:PORTFILE|sbrelay:SOCKET]\n"
		"               [-w WARMUP] [-D DRAIN] [-t THREADS] [-k SOCKS] [-b BATCH]\n"
		"               [-q QUANTUM_US] [-a ADDR] [-P RELAY_PID] [-C CPU]\n"
		"               [-c pcmu|g722|opus] [-e none|a|both] [-s SUITE] [-X JSON]\n"
		"               [-T CTL_TIMEOUT] [-L LABEL] [-R poll|event] [-S]\n"
		"       rtpload -G SECS [-C CPU]   (stall probe: spin, report the gaps)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "n:d:r:w:D:t:k:b:q:a:P:C:c:e:s:X:T:L:R:SG:h")) != -1) {
		switch (c) {
		case 'n': ncalls = atoi(optarg); break;
		case 'd': dur_s = atof(optarg); break;
		case 'r': relay = optarg; break;
		case 'w': warm_s = atof(optarg); break;
		case 'D': drain_s = atof(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'k': K = atoi(optarg); break;
		case 'b': bmax = atoi(optarg); break;
		case 'q': quantum_us = atoi(optarg); break;
		case 'a': addr = optarg; break;
		case 'P': relay_pid = atoi(optarg); break;
		case 'C': cpu_pin = atoi(optarg); break;
		case 'c': codec = optarg; break;
		case 'e': srtp_leg = optarg; break;
		case 's': suite = optarg; break;
		case 'X': extra = optarg; break;
		case 'T': ctl_timeout = atof(optarg); break;
		case 'L': label = optarg; break;
		case 'S': spin = 1; break;
		case 'G': probe_s = atof(optarg); break;
		case 'R':
			if (!strcmp(optarg, "event")) rx_event = 1;
			else if (!strcmp(optarg, "poll")) rx_event = 0;
			else usage();
			break;
		default: usage();
		}
	}
	if (ncalls < 1 || ncalls > 4000000 || nthreads < 1 || nthreads > 64 || K < 1 || K > KMAX ||
	    bmax < 1 || bmax > BMAX || dur_s <= 0 || dur_s > 600 || warm_s < 0 || warm_s > 60 ||
	    drain_s < 0 || drain_s > 10 || quantum_us < 0 || quantum_us > 10000)
		usage();
	if (probe_s > 0) {
		/* Spin on one CPU and time the gaps between two clock reads: time the
		 * CPU was taken away (interrupts, other tasks, or the hypervisor
		 * running another guest, which the guest's own accounting may not
		 * show as steal). */
		if (probe_s > 60)
			usage();
		if (cpu_pin >= 0) {
			cpu_set_t cs;
			CPU_ZERO(&cs);
			CPU_SET(cpu_pin, &cs);
			sched_setaffinity(0, sizeof cs, &cs);
		}
		uint64_t s0 = now_ns(), prev = s0, t, lost = 0, nst = 0, big = 0, mx = 0;
		uint64_t end = s0 + (uint64_t)(probe_s * 1e9);
		while ((t = now_ns()) < end) {
			uint64_t g = t - prev;
			if (g > 50000) {
				lost += g;
				nst++;
				if (g > 500000)
					big++;
				if (g > mx)
					mx = g;
			}
			prev = t;
		}
		double el = (double)(now_ns() - s0) / 1e9;
		printf("STALLS cpu=%d secs=%.2f stalls_over_50us=%llu stalls_over_500us=%llu "
		       "stalled_pct=%.2f max_us=%.0f\n", cpu_pin, el, (unsigned long long)nst,
		       (unsigned long long)big, 100.0 * (double)lost / 1e9 / el, (double)mx / 1000.0);
		return 0;
	}
	if (nthreads > ncalls)
		nthreads = ncalls;
	if (!strcmp(relay, "none"))
		mode = 0;
	else if (!strncmp(relay, "plain:", 6))
		mode = 1;
	else if (!strncmp(relay, "sbrelay:", 8))
		mode = 2;
	else
		usage();
	if (strcmp(codec, "pcmu") && strcmp(codec, "g722") && strcmp(codec, "opus"))
		usage();
	if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") && strcmp(suite, "AEAD_AES_128_GCM"))
		usage();
	if (!strcmp(srtp_leg, "a"))
		use_srtp_a = 1;
	else if (!strcmp(srtp_leg, "both"))
		use_srtp_a = use_srtp_b = 1;
	else if (strcmp(srtp_leg, "none"))
		usage();
	if (spin && rx_event)
		die("-S (spin) and -R event do not go together");
	if (mode != 2 && strcmp(codec, "pcmu"))
		die("-c %s needs a transcoding relay (-r sbrelay:...)", codec);
	if (mode != 2 && use_srtp_a && !use_srtp_b)
		die("-e a needs a relay that terminates SRTP (-r sbrelay:...); use -e both");
	{
		struct sockaddr_storage ss;
		socklen_t sl;
		if (make_sa(addr, 0, &ss, &sl) < 0 || !is_loopback_sa(&ss))
			die("%s is not a loopback address", addr);
		family = ss.ss_family;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if (use_srtp_a && srtp_init() != srtp_err_status_ok)
		die("srtp_init failed");

	/* payloads */
	for (int i = 0; i < 160; i++) {
		pcmu_payload[i] = (unsigned char)(0x80 ^ (i * 37)); /* any byte is PCMU */
		g722_payload[i] = (unsigned char)(i * 73 + 11);   /* any byte is G.722 */
	}
	if (!strcmp(codec, "opus")) {
#ifndef HAVE_OPUS
		die("built without libopus: -c opus unavailable");
#endif
	}

	/* threads, streams, sockets */
	thr = calloc((size_t)nthreads, sizeof *thr);
	for (int g = 0; g < nthreads; g++) {
		struct gthr *t = calloc(1, sizeof *t);
		thr[g] = t;
		t->idx = g;
		t->ncalls = ncalls / nthreads + (g < ncalls % nthreads);
		t->M = 2 * t->ncalls;
		t->K = K < t->ncalls ? K : t->ncalls;
		t->st = calloc((size_t)t->M, sizeof *t->st);
		t->portmap = calloc(65536, sizeof *t->portmap);
		t->rbuf = malloc(sizeof(unsigned char[RBATCH][PKTMAX]));
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		if (!t->st || !t->portmap || !t->rbuf || t->ep < 0)
			die("out of memory");
		for (int side = 0; side < 2; side++) {
			t->pend[side] = calloc((size_t)t->K, sizeof(struct pend));
			if (!t->pend[side])
				die("out of memory");
			for (int k = 0; k < t->K; k++) {
				t->fd[side][k] = udp_socket(&t->addr[side][k], &t->addrlen[side][k]);
				struct epoll_event ev = {.events = EPOLLIN,
							 .data.u64 = (uint64_t)((uint32_t)side << 16 | (uint32_t)k)};
				if (rx_event)
					epoll_ctl(t->ep, EPOLL_CTL_ADD, t->fd[side][k], &ev);
			}
		}
		for (int i = 0; i < t->ncalls; i++) {
			uint32_t call = (uint32_t)(i * nthreads + g);
			for (int dir = 0; dir < 2; dir++) {
				struct stream *s = &t->st[dir * t->ncalls + i];
				s->call = call;
				s->dir = (uint8_t)dir;
				s->ssrc = SSRC_TAG | call << 1 | (uint32_t)dir;
				s->seq = (uint16_t)(call * 7919u + (uint32_t)dir * 30011u);
				s->seq_first = s->seq;
				s->ts = call * 2654435761u;
				s->txside = dir; /* A (0) sends A->B, B (1) sends B->A */
				s->txk = (int)((uint32_t)i % (uint32_t)t->K);
				const char *cod = dir == 0 ? "pcmu" : codec;
				if (!strcmp(cod, "opus")) {
					s->pt = 111;
					s->ts_step = 960;
					s->payload = opus_payload;
					s->paylen = opus_len;
					s->stamped = 0;
				} else {
					s->pt = !strcmp(cod, "g722") ? 9 : 0;
					s->ts_step = 160;
					s->payload = s->pt == 9 ? g722_payload : pcmu_payload;
					s->paylen = 160;
					s->stamped = 1;
				}
				{
					const char *rc = dir == 0 ? codec : "pcmu"; /* A->B lands at B */
					s->rx_pt = !strcmp(rc, "opus") ? 111 : !strcmp(rc, "g722") ? 9 : 0;
				}
				if ((dir == 0 && use_srtp_a) || (dir == 1 && use_srtp_b)) {
					unsigned char key[30];
					call_key(call, dir, key);
					s->tx = srtp_session(key, 0);
				}
			}
		}
	}
	uint64_t t_setup = now_ns();
	long rss_before = proc_kb(relay_pid, "VmRSS"), anon_before = proc_kb(relay_pid, "RssAnon");
	if (mode == 0)
		setup_none();
	else if (mode == 1)
		setup_plain(relay + 6);
	else
		setup_sbrelay(relay + 8);
	double setup_s = (double)(now_ns() - t_setup) / 1e9;
#ifdef HAVE_OPUS
	if (!strcmp(codec, "opus")) {
		opus_frame(offer_maxplayback);
		for (int g = 0; g < nthreads; g++)
			for (int i = 0; i < thr[g]->M; i++)
				if (thr[g]->st[i].pt == 111)
					thr[g]->st[i].paylen = opus_len;
	}
#endif
	for (int g = 0; g < nthreads; g++)
		for (int i = 0; i < thr[g]->M; i++)
			if (!thr[g]->st[i].dstlen || !is_loopback_sa(&thr[g]->st[i].dst))
				die("stream %d of thread %d has no loopback destination", i, g);

	uint64_t T0 = now_ns() + 20000000ull;
	win_start = T0 + (uint64_t)(warm_s * 1e9);
	win_end = win_start + (uint64_t)(dur_s * 1e9);
	send_end = win_end;
	run_end = win_end + (uint64_t)(drain_s * 1e9);
	for (int g = 0; g < nthreads; g++) {
		thr[g]->t0 = T0 + (uint64_t)g * PERIOD_NS / (uint64_t)(nthreads * thr[g]->M);
		pthread_create(&thr[g]->tid, NULL, worker, thr[g]);
	}
	struct snap a, b;
	static struct pscan pa, pb;
	struct timespec ts;
	ts.tv_sec = (time_t)(win_start / 1000000000ull);
	ts.tv_nsec = (long)(win_start % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	scan_procs(&pa);
	take(&a);
	int xcode = mode == 2 && strcmp(codec, "pcmu");
	long long jb_a[JB_N] = {0}, jb_b[JB_N] = {0};
	if (xcode)
		ctl_jb(jb_a);
	ts.tv_sec = (time_t)(win_end / 1000000000ull);
	ts.tv_nsec = (long)(win_end % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	take(&b);
	scan_procs(&pb);
	long rss = proc_kb(relay_pid, "VmRSS"), hwm = proc_kb(relay_pid, "VmHWM");
	/* the relay's own memory: RSS also counts the pages of libraries
	 * (libopus: about 1 MB with the first call), shared and not per call */
	long anon = proc_kb(relay_pid, "RssAnon");
	for (int g = 0; g < nthreads; g++)
		pthread_join(thr[g]->tid, NULL);
	if (xcode)
		ctl_jb(jb_b);
	if (mode == 2) {
		ctl_stats();
		cleanup_ctl();
	}

	/* merge */
	static uint64_t lat[NB], lag[NB];
	uint64_t lat_n = 0, lat_max = 0, lag_max = 0, sent_win = 0, sent_total = 0, send_err = 0,
		 recv_total = 0, recv_win = 0, unknown = 0, misrouted = 0, srtp_err = 0, nomatch = 0,
		 recv_calls = 0, wakeups = 0, lag_n = 0, no_kts = 0, busy_ns = 0, pt_mismatch = 0,
		 stall_ns = 0, stalls = 0;
	double lat_sum = 0;
	int streams_lossy = 0, streams_dead = 0;
	for (int g = 0; g < nthreads; g++) {
		struct gthr *t = thr[g];
		for (int i = 0; i < NB; i++) {
			lat[i] += t->lat[i];
			lag[i] += t->lag[i];
			lag_n += t->lag[i];
		}
		lat_n += t->lat_n;
		lat_sum += t->lat_sum;
		if (t->lat_max > lat_max) lat_max = t->lat_max;
		if (t->lag_max > lag_max) lag_max = t->lag_max;
		sent_win += t->sent_win;
		sent_total += t->sent_total;
		send_err += t->send_err;
		recv_total += t->recv_total;
		recv_win += t->recv_win;
		unknown += t->unknown;
		misrouted += t->misrouted;
		srtp_err += t->srtp_err;
		nomatch += t->nomatch;
		recv_calls += t->recv_calls;
		wakeups += t->wakeups;
		no_kts += t->no_kts;
		busy_ns += t->busy_ns;
		pt_mismatch += t->pt_mismatch;
		stall_ns += t->stall_ns;
		stalls += t->stalls;
		for (int i = 0; i < t->M; i++) {
			if (t->st[i].recv_win < t->st[i].sent_win)
				streams_lossy++;
			if (!t->st[i].recv_win)
				streams_dead++;
		}
	}
	double win = (double)(b.t - a.t) / 1e9;
	double expected = 2.0 * ncalls * 50.0 * dur_s;
	/* a frame the relay concealed arrives and matches its lost packet:
	 * it is lost all the same */
	long long jb[JB_N];
	for (int k = 0; k < JB_N; k++)
		jb[k] = jb_b[k] - jb_a[k];
	uint64_t missing = (sent_win > recv_win ? sent_win - recv_win : 0) + (uint64_t)jb[JB_CONCEALED];
	double loss = sent_win ? 100.0 * (double)missing / (double)sent_win : 100.0;
	double self_pct = 100.0 * (b.self_cpu - a.self_cpu) / win;
	long hz = sysconf(_SC_CLK_TCK);
	double relay_pct = -1, relay_usr = -1, relay_sys = -1;
	if (relay_pid && a.relay_ticks >= 0 && b.relay_ticks >= 0) {
		relay_pct = 100.0 * (double)(b.relay_ticks - a.relay_ticks) / (double)hz / win;
		relay_usr = 100.0 * (double)(b.relay_uticks - a.relay_uticks) / (double)hz / win;
		relay_sys = 100.0 * (double)(b.relay_sticks - a.relay_sticks) / (double)hz / win;
	}
	unsigned long long d[8];
	for (int i = 0; i < 8; i++)
		d[i] = b.cpu[i] - a.cpu[i];
	double busy_pct = 100.0 * (double)(d[0] + d[1] + d[2] + d[5] + d[6]) / (double)hz / win;
	double softirq_pct = 100.0 * (double)d[6] / (double)hz / win;
	double steal_pct = 100.0 * (double)d[7] / (double)hz / win;
	long o_user, o_kern;
	scan_delta(&pa, &pb, &o_user, &o_kern);
	double other = 100.0 * (double)o_user / (double)hz / win;
	double kthr = 100.0 * (double)o_kern / (double)hz / win;
	/* the machine's busy ticks minus ours also count what ran and ended
	 * inside the window (ticks miss some of what sleeps often: a floor) */
	double other_ticks = busy_pct - self_pct - (relay_pct > 0 ? relay_pct : 0) - kthr;
	if (other_ticks > other)
		other = other_ticks;
	double lag_p99 = pct(lag, lag_n, 99.0);
	/* per CPU busy % (user+nice+system+irq+softirq ticks) */
	char percpu[256] = "";
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 0; i < ncpu && i < 8; i++) {
		unsigned long long bz = 0;
		for (int f = 0; f < 8; f++)
			if (f != 3 && f != 4 && f != 7)
				bz += b.pcpu[i][f] - a.pcpu[i][f];
		size_t l = strlen(percpu);
		snprintf(percpu + l, sizeof percpu - l, " cpu%d_busy_pct=%.1f cpu%d_softirq_pct=%.1f", i,
			 100.0 * (double)bz / (double)hz / win, i,
			 100.0 * (double)(b.pcpu[i][6] - a.pcpu[i][6]) / (double)hz / win);
	}
	int behind = (double)sent_win < 0.999 * expected || lag_p99 > 2000;
	printf("RESULT label=%s mode=%s calls=%d threads=%d socks=%d codec=%s srtp=%s suite=%s "
	       "secs=%.2f setup_s=%.2f sent=%llu expected=%.0f recv=%llu loss_pct=%.4f "
	       "p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f mean_us=%.1f "
	       "pps_each_way=%.0f relay_pps=%.0f streams_lossy=%d streams_dead=%d "
	       "unknown=%llu misrouted=%llu pt_mismatch=%llu srtp_err=%llu nomatch=%llu send_err=%llu "
	       "lag_p99_us=%.0f lag_max_us=%.0f gen_behind=%d gen_cpu_pct=%.1f "
	       "gen_pkts_per_recv=%.2f gen_wakeups_per_s=%.0f gen_spin=%d gen_work_pct=%.1f "
	       "gen_stalls=%llu gen_stall_pct=%.2f "
	       "relay_cpu_pct=%.1f relay_usr_pct=%.1f relay_sys_pct=%.1f relay_rss_before_kb=%ld "
	       "relay_rss_kb=%ld relay_hwm_kb=%ld relay_anon_before_kb=%ld relay_anon_kb=%ld host_busy_pct=%.1f host_softirq_pct=%.1f "
	       "steal_pct=%.1f other_pct=%.1f kthreads_pct=%.1f rx=%s no_kts=%llu udp_rcvbuf_err=%llu udp_in_err=%llu "
	       "udp_sndbuf_err=%llu softnet_drop=%llu relay_stats_packets=%ld relay_stats_dropped=%ld "
	       "jb_played=%lld jb_concealed=%lld jb_late=%lld jb_dropped=%lld jb_underruns=%lld%s\n",
	       label[0] ? label : "-", mode == 0 ? "none" : mode == 1 ? "plain" : "sbrelay", ncalls,
	       nthreads, thr[0]->K, codec, srtp_leg, suite, win, setup_s, (unsigned long long)sent_win,
	       expected, (unsigned long long)recv_win, loss, pct(lat, lat_n, 50),
	       pct(lat, lat_n, 99), pct(lat, lat_n, 99.9), (double)lat_max / 1000.0,
	       lat_n ? lat_sum / (double)lat_n / 1000.0 : -1.0, (double)sent_win / 2.0 / win,
	       (double)recv_win / win, streams_lossy, streams_dead, (unsigned long long)unknown,
	       (unsigned long long)misrouted, (unsigned long long)pt_mismatch, (unsigned long long)srtp_err,
	       (unsigned long long)nomatch, (unsigned long long)send_err, lag_p99,
	       (double)lag_max / 1000.0, behind, self_pct,
	       recv_calls ? (double)recv_total / (double)recv_calls : 0.0, (double)wakeups / (win + warm_s + drain_s), spin, 100.0 * (double)busy_ns / 1e9 / win,
	       (unsigned long long)stalls, spin ? 100.0 * (double)stall_ns / 1e9 / win : -1.0,
	       relay_pct, relay_usr, relay_sys, rss_before, rss, hwm, anon_before, anon, busy_pct, softirq_pct,
	       steal_pct, other, kthr, rx_event ? "event" : "poll", (unsigned long long)no_kts, b.udp_rcvbuf - a.udp_rcvbuf + b.udp6_rcvbuf - a.udp6_rcvbuf,
	       b.udp_inerr - a.udp_inerr, b.udp_sndbuf - a.udp_sndbuf,
	       b.softnet_drop - a.softnet_drop, relay_stats[0], relay_stats[1],
	       jb[JB_PLAYED], jb[JB_CONCEALED], jb[JB_LATE], jb[JB_DROPPED], jb[JB_UNDERRUNS], percpu);
	fflush(stdout);
	return 0;
}
