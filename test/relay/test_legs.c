/**
 * @file test_legs.c  Legs with packet threads: relay, latch, deferred free
 *
 * Two packet threads, one call with two bridged legs, two local UDP
 * sockets as the phones. Checks that a packet crosses the relay both
 * ways, from the relay's ports, that a stranger is counted and not
 * relayed, and that released legs free their ports at once and their
 * memory once both threads have moved on (the runner checks for leaks).
 */
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include <re.h>
#include "../../media/relay.h"
#include "relaytest.h"


enum {
	PORT_MIN = 43100,
	PORT_MAX = 43107,
	WAIT_MS  = 2000,
};


static int udp_bind(int *fdp, const char *ip, uint16_t port)
{
	struct sa sa;
	int fd, err;

	err = sa_set_str(&sa, ip, port);
	if (err)
		return err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (bind(fd, &sa.u.sa, sa.len)) {
		err = errno;
		(void)close(fd);
		return err;
	}

	*fdp = fd;

	return 0;
}


static int send_to(int fd, const char *payload, const struct sa *dst)
{
	ssize_t n = sendto(fd, payload, strlen(payload), 0, &dst->u.sa,
			   dst->len);

	return n == (ssize_t)strlen(payload) ? 0 : errno;
}


/* read one datagram within WAIT_MS: its payload and sender */
static int recv_from(int fd, char *buf, size_t sz, struct sa *from)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&pfd, 1, WAIT_MS) != 1)
		return ETIMEDOUT;

	from->len = sizeof(from->u);
	n = recvfrom(fd, buf, sz - 1, 0, &from->u.sa, &from->len);
	if (n < 0)
		return errno;

	buf[n] = '\0';

	return 0;
}


static int local_port(int fd, struct sa *sa)
{
	sa->len = sizeof(sa->u);

	return getsockname(fd, &sa->u.sa, &sa->len) ? errno : 0;
}


int test_relay_legs(void)
{
	int pa = -1, pb = -1, stranger = -1, probe = -1;
	struct hash *calls = NULL;
	struct call *call = NULL;
	struct leg *a, *b;
	struct sdptext st;
	struct sa loopback, src, from;
	uint16_t pa_port, pb_port;
	char buf[64];
	bool latched;
	int i, err = 0;

	TEST_CHECK(sa_set_str(&loopback, "127.0.0.1", 0));
	TEST_CHECK(ports_init(&loopback, PORT_MIN, PORT_MAX));
	TEST_CHECK(legs_init());
	TEST_CHECK(workers_start(2, 0));
	TEST_CHECK(hash_alloc(&calls, 4));

	TEST_CHECK(udp_bind(&pa, "127.0.0.1", 0));
	TEST_CHECK(udp_bind(&pb, "127.0.0.1", 0));
	TEST_CHECK(local_port(pa, &src));
	pa_port = sa_port(&src);
	TEST_CHECK(local_port(pb, &src));
	pb_port = sa_port(&src);

	TEST_CHECK(call_alloc(&call, calls, "c1", NULL));
	TEST_CHECK(call_leg_add(call, "a", &a));
	TEST_CHECK(call_leg_add(call, "b", &b));
	TEST_EQUALS(EEXIST, call_leg_add(call, "a", &a));
	TEST_ASSERT(call_leg(call, "b") == b);
	TEST_ASSERT(sa_port(&a->rtp.local) != sa_port(&b->rtp.local));
	TEST_EQUALS(sa_port(&a->rtp.local) + 1, sa_port(&a->rtcp.local));
	TEST_EQUALS(0, sa_port(&a->rtp.local) & 1);

	/* phone A is where its SDP says; phone B said a wrong port */
	TEST_CHECK(sa_set_str(&src, "127.0.0.1", 0));
	TEST_CHECK(sa_set_str(&st.rtp, "127.0.0.1", pa_port));
	TEST_CHECK(sa_set_str(&st.rtcp, "127.0.0.1", pa_port + 1));
	leg_set_remote(a, &src, &st);
	TEST_CHECK(sa_set_str(&st.rtp, "127.0.0.1", 9));
	TEST_CHECK(sa_set_str(&st.rtcp, "127.0.0.1", 10));
	leg_set_remote(b, &src, &st);
	leg_bridge(a, b);
	TEST_ASSERT(a->peer == b && b->peer == a);

	/* B speaks first: latches, reaches A from leg a's port */
	TEST_CHECK(send_to(pb, "from-b", &b->rtp.local));
	TEST_CHECK(recv_from(pa, buf, sizeof(buf), &from));
	TEST_STRCMP("from-b", buf);
	TEST_ASSERT(sa_cmp(&from, &a->rtp.local, SA_ALL));

	/* A answers and reaches B at its latched port, from leg b's */
	TEST_CHECK(send_to(pa, "from-a", &a->rtp.local));
	TEST_CHECK(recv_from(pb, buf, sizeof(buf), &from));
	TEST_STRCMP("from-a", buf);
	TEST_ASSERT(sa_cmp(&from, &b->rtp.local, SA_ALL));
	pthread_mutex_lock(&b->mtx);
	latched = b->rtp.latched && sa_port(&b->rtp.remote) == pb_port;
	pthread_mutex_unlock(&b->mtx);
	TEST_ASSERT(latched);

	/* a stranger is counted and not relayed */
	TEST_CHECK(udp_bind(&stranger, "127.0.0.2", 0));
	TEST_CHECK(send_to(stranger, "stranger", &a->rtp.local));
	for (i = 0; i < 200 && !atomic_load(&a->dropped); i++)
		(void)usleep(5000);
	TEST_EQUALS(1, atomic_load(&a->dropped));
	TEST_EQUALS(1, atomic_load(&a->pkts_in));
	TEST_EQUALS(1, atomic_load(&b->pkts_out));

	/* released: ports free at once, memory after the grace period */
	call = mem_deref(call);
	TEST_EQUALS(0, leg_count());
	TEST_CHECK(udp_bind(&probe, "127.0.0.1", PORT_MIN));
	for (i = 0; i < 200; i++) {
		grace_poll();
		if (workers_passed(grace_current()))
			break;
		(void)usleep(5000);
	}
	TEST_ASSERT(workers_passed(grace_current()));
	grace_poll();

 out:
	mem_deref(call);
	mem_deref(calls);
	workers_stop();
	grace_flush();
	legs_close();
	ports_close();
	if (pa >= 0)
		(void)close(pa);
	if (pb >= 0)
		(void)close(pb);
	if (stranger >= 0)
		(void)close(stranger);
	if (probe >= 0)
		(void)close(probe);

	return err;
}
