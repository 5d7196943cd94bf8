/**
 * @file test_tcp_guard.c  accept() caps connections per source address
 *                         on the SIP listeners only, and counts again
 *                         once a connection is closed
 */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


enum { CAP = 3, FDS = 16, RESET_WAIT_MS = 1000 };

/** Every descriptor the test opens, closed at the end */
struct fdset {
	int v[FDS];
	size_t n;
};


static int keep(struct fdset *fs, int fd)
{
	if (fd >= 0 && fs->n < FDS)
		fs->v[fs->n++] = fd;

	return fd;
}


/* a non-blocking listener on 127.0.0.1, port chosen by the system */
static int listener(struct fdset *fs, struct sa *laddr)
{
	int fd = keep(fs, socket(AF_INET, SOCK_STREAM, 0));

	(void)sa_set_str(laddr, "127.0.0.1", 0);
	if (fd < 0 || bind(fd, &laddr->u.sa, laddr->len) ||
	    listen(fd, FDS) || fcntl(fd, F_SETFL, O_NONBLOCK) ||
	    getsockname(fd, &laddr->u.sa, &laddr->len))
		return -1;

	return fd;
}


/* all of 127/8 is loopback: a connection from another host, here */
static int connect_from(struct fdset *fs, const char *src,
			const struct sa *dst)
{
	int fd = keep(fs, socket(AF_INET, SOCK_STREAM, 0));
	struct sa laddr;

	(void)sa_set_str(&laddr, src, 0);
	if (fd < 0 || bind(fd, &laddr.u.sa, laddr.len) ||
	    connect(fd, &dst->u.sa, dst->len))
		return -1;

	return fd;
}


/* the connection is admitted if the peer is handed back, with its
 * address, as libre expects */
static bool admitted(struct fdset *fs, int lfd, const char *src)
{
	struct sa peer, want;
	int fd;

	sa_init(&peer, AF_UNSPEC);
	fd = keep(fs, accept(lfd, &peer.u.sa, &peer.len));
	(void)sa_set_str(&want, src, 0);

	return fd >= 0 && sa_cmp(&peer, &want, SA_ADDR);
}


static bool refused(int lfd)
{
	struct sa peer;

	sa_init(&peer, AF_UNSPEC);

	return accept(lfd, &peer.u.sa, &peer.len) < 0 &&
		errno == ECONNABORTED;
}


/* the client of a refused connection learns it at once */
static bool reset_seen(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&pfd, 1, RESET_WAIT_MS) != 1)
		return false;

	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == ECONNRESET;
}


static bool quiet(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 0;
}


int test_tcp_guard(void)
{
	struct fdset fs = {.n = 0};
	struct sa sip_tcp, sip_tls, api;
	struct sb_conf cfg;
	int ltcp, ltls, lapi, c;
	size_t i, closed;
	int err = 0;

	ltcp = listener(&fs, &sip_tcp);
	ltls = listener(&fs, &sip_tls);
	lapi = listener(&fs, &api);
	TEST_ASSERT(ltcp >= 0 && ltls >= 0 && lapi >= 0);

	conf_defaults(&cfg);
	cfg.sip_max_conn_per_ip = CAP;
	cfg.sip_tcp.addrv[0] = sip_tcp;
	cfg.sip_tcp.addrc = 1;
	cfg.sip_tls.addrv[0] = sip_tls;
	cfg.sip_tls.addrc = 1;
	TEST_CHECK(tcp_guard_init(&cfg));

	/* nothing waiting: accept's own error, not a refusal */
	TEST_ASSERT(accept(ltcp, NULL, NULL) < 0 && errno == EAGAIN);

	for (i = 0; i < CAP; i++) {
		TEST_ASSERT(connect_from(&fs, "127.0.0.2", &sip_tcp) >= 0);
		TEST_ASSERT(admitted(&fs, ltcp, "127.0.0.2"));
	}
	closed = fs.n - 1;

	/* TCP and TLS listeners share the count */
	c = connect_from(&fs, "127.0.0.2", &sip_tls);
	TEST_ASSERT(c >= 0);
	TEST_ASSERT(refused(ltls));
	TEST_ASSERT(reset_seen(c));

	/* another host, and a listener that is not SIP, are not capped */
	c = connect_from(&fs, "127.0.0.3", &sip_tcp);
	TEST_ASSERT(c >= 0 && admitted(&fs, ltcp, "127.0.0.3"));
	TEST_ASSERT(quiet(c));
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(connect_from(&fs, "127.0.0.2", &api) >= 0);
		TEST_ASSERT(admitted(&fs, lapi, "127.0.0.2"));
	}

	/* one closed: room for one more. The next socket, the client's,
	 * reuses its descriptor: that must not count as the closed one */
	TEST_ASSERT(close(fs.v[closed]) == 0);
	fs.v[closed] = -1;
	c = connect_from(&fs, "127.0.0.2", &sip_tcp);
	TEST_ASSERT(c >= 0 && admitted(&fs, ltcp, "127.0.0.2"));
	TEST_ASSERT(quiet(c));
	c = connect_from(&fs, "127.0.0.2", &sip_tcp);
	TEST_ASSERT(c >= 0 && refused(ltcp) && reset_seen(c));

	/* 0: no cap */
	cfg.sip_max_conn_per_ip = 0;
	TEST_CHECK(tcp_guard_init(&cfg));
	TEST_ASSERT(connect_from(&fs, "127.0.0.2", &sip_tcp) >= 0);
	TEST_ASSERT(admitted(&fs, ltcp, "127.0.0.2"));

 out:
	tcp_guard_close();
	for (i = 0; i < fs.n; i++) {
		if (fs.v[i] >= 0)
			(void)close(fs.v[i]);
	}

	return err;
}
