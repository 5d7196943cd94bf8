/**
 * @file ports.c  RTP/RTCP socket pairs from the configured port range
 *
 * Control thread only. Pairs are handed out round-robin over the range,
 * so a port just freed is the last to be used again (late packets of an
 * old call do not reach a new one). Ports taken by someone else are
 * skipped.
 *
 * A released leg's sockets cannot be closed at once: a packet thread
 * may still be in the middle of a batch that names the descriptor, and
 * a closed number can be reused at once by the next socket we open.
 * ports_retire puts /dev/null in the socket's place (dup2 is atomic):
 * the port is free at once, the number stays taken until grace.c has
 * seen every packet thread pass, and a late recvmmsg or sendmmsg on it
 * fails harmlessly with ENOTSOCK.
 */
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "ports"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static struct {
	struct sa addr;           /**< Address to bind                */
	uint32_t min;             /**< First RTP port (even)          */
	uint32_t pairs;           /**< Pairs in the range             */
	uint32_t next;            /**< Next pair to try, 0-based      */
	int null_fd;              /**< /dev/null, for ports_retire    */
} ports = {.null_fd = -1};


/**
 * Set the address and port range to allocate from
 *
 * @param addr Local address (its port is ignored)
 * @param min  Lowest port (rounded up to even)
 * @param max  Highest port
 *
 * @return 0 if success, otherwise errorcode
 */
int ports_init(const struct sa *addr, uint32_t min, uint32_t max)
{
	if (!addr || max > 65535)
		return EINVAL;

	min += min & 1;
	if (min < 2 || min + 1 > max)
		return EINVAL;

	ports.addr = *addr;
	ports.min = min;
	ports.pairs = (max - min + 1) / 2;
	ports.next = 0;

	if (ports.null_fd < 0) {
		ports.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (ports.null_fd < 0)
			return errno;
	}

	return 0;
}


/**
 * Forget the range; close the helper descriptor
 */
void ports_close(void)
{
	if (ports.null_fd >= 0)
		(void)close(ports.null_fd);

	ports.null_fd = -1;
	ports.pairs = 0;
}


static int udp_open(int *fdp, uint16_t port)
{
	struct sa sa = ports.addr;
	int fd, err;

	sa_set_port(&sa, port);

	fd = socket(sa_af(&sa), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
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


/**
 * Open and bind an RTP socket on a free even port and RTCP on the next
 *
 * @param rtp_fd  Returned RTP socket (non-blocking)
 * @param rtcp_fd Returned RTCP socket (non-blocking)
 * @param port    Returned RTP port
 *
 * @return 0 if success, EADDRINUSE if every pair is taken
 */
int ports_open(int *rtp_fd, int *rtcp_fd, uint16_t *port)
{
	uint32_t i;

	if (!rtp_fd || !rtcp_fd || !port)
		return EINVAL;

	for (i = 0; i < ports.pairs; i++) {
		uint16_t p = (uint16_t)(ports.min + 2 * ports.next);
		int a, b, err;

		ports.next = (ports.next + 1) % ports.pairs;

		err = udp_open(&a, p);
		if (err == EADDRINUSE)
			continue;
		if (err)
			return err;

		err = udp_open(&b, p + 1);
		if (err) {
			(void)close(a);
			if (err == EADDRINUSE)
				continue;
			return err;
		}

		*rtp_fd = a;
		*rtcp_fd = b;
		*port = p;

		return 0;
	}

	DEBUG_WARNING("no free port pair in %u-%u\n", ports.min,
		      ports.min + 2 * ports.pairs - 1);

	return EADDRINUSE;
}


/** @return The address RTP sockets are bound to (port 0) */
const struct sa *ports_addr(void)
{
	return &ports.addr;
}


/** @return Port pairs in the range */
uint32_t ports_pairs(void)
{
	return ports.pairs;
}


/**
 * Free a socket's port now; its descriptor is closed later (close())
 *
 * @param fd Socket descriptor
 */
void ports_retire(int fd)
{
	if (fd < 0)
		return;

	if (ports.null_fd < 0 || dup2(ports.null_fd, fd) < 0)
		DEBUG_WARNING("retire fd %d: %m\n", fd, errno);
}
