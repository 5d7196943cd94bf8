/*
 * plainrelay: the ceiling for the media-relay benchmark.
 *
 * The simplest useful UDP relay: N calls, each two UDP sockets (legs) on
 * one address.  A packet received on one leg is sent out of the other
 * leg to that leg's peer.  A leg's peer is the source of the first packet
 * it receives (symmetric RTP latching); later packets from another source
 * are dropped.  A packet whose other leg has not latched yet is dropped.
 *
 * One thread per core by default, each with its own epoll set and its
 * own calls (both legs of a call belong to one thread: no locks, no
 * shared state).  Two I/O variants:
 *
 *   -m recvfrom   one recvfrom() + one sendto() per packet (level-
 *                 triggered epoll, one packet per readiness event)
 *   -m mmsg       recvmmsg() of up to -B packets per ready socket, then
 *                 one sendmmsg() of what was received
 *
 * It writes its ports to -o FILE ("CALL PORT_A PORT_B" a line, written to
 * FILE.tmp then renamed, so a reader sees all of it or nothing) and runs
 * until SIGINT/SIGTERM or -d seconds, then prints what it moved:
 *
 *   plainrelay: mode=recvfrom threads=1 calls=800 secs=... rx=... tx=...
 *     active_secs=... pps=... (packets forwarded per second while traffic
 *     flowed) cpu_user=... cpu_sys=... cpu_pct=... maxrss_kb=...
 *
 * Bounded: every loop has a count or a deadline; -d defaults to 600 s.
 * Loopback only: -a must be a loopback address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXPKT 2048
#define MAXEV 256
#define MAXBATCH 64

struct leg {
	int fd;
	int latched;
	socklen_t peerlen;
	struct sockaddr_storage peer;
	struct leg *other;
};

struct thr {
	pthread_t tid;
	int idx;
	int ep;
	struct leg *legs;      /* 2 per call, this thread's calls */
	int nlegs;
	/* counters, written by this thread only */
	uint64_t rx, tx, drop_stranger, drop_unlatched, send_err, rx_calls;
	uint64_t first_ns, last_ns;
	char pad[64];
};

static volatile sig_atomic_t stop;
static int mode_mmsg;
static int batch = 32;
static int cpu_base = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static inline void stamp(struct thr *t)
{
	uint64_t n = now_ns();
	if (!t->first_ns)
		t->first_ns = n;
	t->last_ns = n;
}

static void one_recvfrom(struct thr *t, struct leg *l, unsigned char *buf)
{
	struct sockaddr_storage src;
	socklen_t sl = sizeof src;
	ssize_t n = recvfrom(l->fd, buf, MAXPKT, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
	if (n < 0)
		return;
	t->rx_calls++;
	t->rx++;
	if (!l->latched) {
		l->peer = src;
		l->peerlen = sl;
		l->latched = 1;
	} else if (!same_addr(&src, &l->peer)) {
		t->drop_stranger++;
		return;
	}
	struct leg *o = l->other;
	if (!o->latched) {
		t->drop_unlatched++;
		return;
	}
	if (sendto(o->fd, buf, (size_t)n, 0, (struct sockaddr *)&o->peer, o->peerlen) < 0)
		t->send_err++;
	else
		t->tx++;
	stamp(t);
}

static void one_mmsg(struct thr *t, struct leg *l, unsigned char (*bufs)[MAXPKT],
		     struct mmsghdr *in, struct iovec *iov, struct sockaddr_storage *srcs,
		     struct mmsghdr *out)
{
	for (int i = 0; i < batch; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = MAXPKT;
		memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
		in[i].msg_hdr.msg_name = &srcs[i];
		in[i].msg_hdr.msg_namelen = sizeof srcs[i];
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	int n = recvmmsg(l->fd, in, (unsigned)batch, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	t->rx_calls++;
	t->rx += (uint64_t)n;
	struct leg *o = l->other;
	int k = 0;
	struct iovec oiov[MAXBATCH];
	for (int i = 0; i < n; i++) {
		if (!l->latched) {
			l->peer = srcs[i];
			l->peerlen = in[i].msg_hdr.msg_namelen;
			l->latched = 1;
		} else if (!same_addr(&srcs[i], &l->peer)) {
			t->drop_stranger++;
			continue;
		}
		if (!o->latched) {
			t->drop_unlatched++;
			continue;
		}
		oiov[k].iov_base = bufs[i];
		oiov[k].iov_len = in[i].msg_len;
		memset(&out[k].msg_hdr, 0, sizeof out[k].msg_hdr);
		out[k].msg_hdr.msg_name = &o->peer;
		out[k].msg_hdr.msg_namelen = o->peerlen;
		out[k].msg_hdr.msg_iov = &oiov[k];
		out[k].msg_hdr.msg_iovlen = 1;
		k++;
	}
	int sent = 0;
	for (int tries = 0; sent < k && tries < 4; tries++) {
		int r = sendmmsg(o->fd, out + sent, (unsigned)(k - sent), 0);
		if (r <= 0) {
			t->send_err += (uint64_t)(k - sent);
			break;
		}
		sent += r;
	}
	t->tx += (uint64_t)sent;
	if (sent)
		stamp(t);
}

static void *run(void *arg)
{
	struct thr *t = arg;
	if (cpu_base >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(cpu_base + t->idx, &cs);
		pthread_setaffinity_np(pthread_self(), sizeof cs, &cs);
	}
	struct epoll_event ev[MAXEV];
	unsigned char (*bufs)[MAXPKT] = malloc(sizeof(unsigned char[MAXBATCH][MAXPKT]));
	struct mmsghdr *in = calloc(MAXBATCH, sizeof *in), *out = calloc(MAXBATCH, sizeof *out);
	struct iovec *iov = calloc(MAXBATCH, sizeof *iov);
	struct sockaddr_storage *srcs = calloc(MAXBATCH, sizeof *srcs);
	if (!bufs || !in || !out || !iov || !srcs)
		return NULL;
	while (!stop) {
		int n = epoll_wait(t->ep, ev, MAXEV, 100);
		for (int i = 0; i < n; i++) {
			struct leg *l = ev[i].data.ptr;
			if (mode_mmsg)
				one_mmsg(t, l, bufs, in, iov, srcs, out);
			else
				one_recvfrom(t, l, bufs[0]);
		}
	}
	free(bufs);
	free(in);
	free(out);
	free(iov);
	free(srcs);
	return NULL;
}

static int is_loopback(const char *a)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, a, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, a, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	return 0;
}

static int bind_udp(const char *addr, int port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	int fam;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		sl = sizeof *s6;
		fam = AF_INET6;
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		sl = sizeof *s4;
		fam = AF_INET;
	}
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: plainrelay -n CALLS [-m recvfrom|mmsg] [-t THREADS] [-a ADDR]\n"
		"                  [-p BASEPORT] [-o PORTFILE] [-d SECS] [-B BATCH]\n"
		"                  [-c FIRSTCPU] [-r RCVBUF]\n"
		"  -n  calls (2 UDP sockets each)            -m  I/O variant (recvfrom)\n"
		"  -t  threads (default: online CPUs)        -a  loopback address (127.0.0.1)\n"
		"  -p  first port (0: any free ports)        -o  write 'CALL PORTA PORTB' lines\n"
		"  -d  stop after SECS (600)                 -B  recvmmsg batch (32, max 64)\n"
		"  -c  pin thread i to CPU FIRSTCPU+i        -r  SO_RCVBUF per socket (default)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int calls = 0, nthr = (int)sysconf(_SC_NPROCESSORS_ONLN), baseport = 0, rcvbuf = 0;
	double maxsecs = 600;
	const char *addr = "127.0.0.1", *portfile = NULL;
	int c;
	while ((c = getopt(argc, argv, "n:m:t:a:p:o:d:B:c:r:h")) != -1) {
		switch (c) {
		case 'n': calls = atoi(optarg); break;
		case 'm':
			if (!strcmp(optarg, "mmsg")) mode_mmsg = 1;
			else if (!strcmp(optarg, "recvfrom")) mode_mmsg = 0;
			else usage();
			break;
		case 't': nthr = atoi(optarg); break;
		case 'a': addr = optarg; break;
		case 'p': baseport = atoi(optarg); break;
		case 'o': portfile = optarg; break;
		case 'd': maxsecs = atof(optarg); break;
		case 'B': batch = atoi(optarg); break;
		case 'c': cpu_base = atoi(optarg); break;
		case 'r': rcvbuf = atoi(optarg); break;
		default: usage();
		}
	}
	if (calls <= 0 || nthr <= 0 || nthr > 64 || batch < 1 || batch > MAXBATCH ||
	    maxsecs <= 0 || maxsecs > 3600)
		usage();
	if (!is_loopback(addr)) {
		fprintf(stderr, "plainrelay: %s is not a loopback address\n", addr);
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (nthr > calls)
		nthr = calls;

	struct leg *legs = calloc((size_t)calls * 2, sizeof *legs);
	struct thr *thr = calloc((size_t)nthr, sizeof *thr);
	if (!legs || !thr) {
		perror("calloc");
		return 1;
	}
	/* calls are split into contiguous blocks, one per thread */
	for (int i = 0; i < calls; i++) {
		for (int s = 0; s < 2; s++) {
			int port = baseport ? baseport + 2 * i + s : 0;
			int fd = bind_udp(addr, port, rcvbuf);
			if (fd < 0) {
				fprintf(stderr, "plainrelay: bind %s:%d: %s\n", addr, port, strerror(errno));
				return 1;
			}
			legs[2 * i + s].fd = fd;
		}
		legs[2 * i].other = &legs[2 * i + 1];
		legs[2 * i + 1].other = &legs[2 * i];
	}
	int per = calls / nthr, extra = calls % nthr, at = 0;
	for (int t = 0; t < nthr; t++) {
		int k = per + (t < extra);
		thr[t].idx = t;
		thr[t].legs = &legs[2 * at];
		thr[t].nlegs = 2 * k;
		thr[t].ep = epoll_create1(EPOLL_CLOEXEC);
		for (int j = 0; j < 2 * k; j++) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &thr[t].legs[j]};
			if (epoll_ctl(thr[t].ep, EPOLL_CTL_ADD, thr[t].legs[j].fd, &ev) < 0) {
				perror("epoll_ctl");
				return 1;
			}
		}
		at += k;
	}
	if (portfile) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		if (!f) {
			perror(tmp);
			return 1;
		}
		for (int i = 0; i < calls; i++)
			fprintf(f, "%d %d %d\n", i, local_port(legs[2 * i].fd), local_port(legs[2 * i + 1].fd));
		if (fclose(f) != 0 || rename(tmp, portfile) != 0) {
			perror(portfile);
			return 1;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	uint64_t t0 = now_ns();
	for (int t = 0; t < nthr; t++)
		pthread_create(&thr[t].tid, NULL, run, &thr[t]);
	fprintf(stderr, "plainrelay: ready: %d calls on %s, %d thread(s), mode %s\n", calls, addr,
		nthr, mode_mmsg ? "mmsg" : "recvfrom");
	/* the main thread only watches the clock */
	uint64_t deadline = t0 + (uint64_t)(maxsecs * 1e9);
	while (!stop && now_ns() < deadline) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	stop = 1;
	for (int t = 0; t < nthr; t++)
		pthread_join(thr[t].tid, NULL);
	uint64_t t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);

	uint64_t rx = 0, tx = 0, ds = 0, du = 0, se = 0, rc = 0, first = UINT64_MAX, last = 0;
	for (int t = 0; t < nthr; t++) {
		rx += thr[t].rx;
		tx += thr[t].tx;
		ds += thr[t].drop_stranger;
		du += thr[t].drop_unlatched;
		se += thr[t].send_err;
		rc += thr[t].rx_calls;
		if (thr[t].first_ns && thr[t].first_ns < first)
			first = thr[t].first_ns;
		if (thr[t].last_ns > last)
			last = thr[t].last_ns;
	}
	double secs = (double)(t1 - t0) / 1e9;
	double active = last > first ? (double)(last - first) / 1e9 : 0;
	double us = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	double sy = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("plainrelay: mode=%s threads=%d calls=%d secs=%.2f rx=%llu tx=%llu "
	       "drop_stranger=%llu drop_unlatched=%llu send_err=%llu pkts_per_rx_call=%.2f "
	       "active_secs=%.2f pps=%.0f cpu_user=%.2f cpu_sys=%.2f cpu_pct=%.1f "
	       "maxrss_kb=%ld\n",
	       mode_mmsg ? "mmsg" : "recvfrom", nthr, calls, secs, (unsigned long long)rx,
	       (unsigned long long)tx, (unsigned long long)ds, (unsigned long long)du,
	       (unsigned long long)se, rc ? (double)rx / (double)rc : 0.0, active,
	       active > 0 ? (double)tx / active : 0.0, us, sy, 100.0 * (us + sy) / secs,
	       ru1.ru_maxrss);
	fflush(stdout);
	return 0;
}
