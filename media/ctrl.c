/**
 * @file ctrl.c  Control server: connections, lines, replies and events
 *
 * docs/relay-protocol.md, version 1. Control thread only (re_main). One
 * listening socket, UNIX (default) or TCP; each connection gets the
 * hello event at once (event.c), then reads JSON lines (cmd.c answers
 * them) and writes replies and events, buffering what the socket does
 * not take.
 * A connection that ends frees every call it made, at once.
 *
 * A connection is never freed from inside a command: a write error
 * there marks it dead and a zero timer frees it, so the code up the
 * stack still has a live object.
 */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "ctrl"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	CONN_MAX      = 64,              /**< Connections at once       */
	CALL_HASH     = 256,             /**< Call hash buckets         */
	RECV_CHUNK    = 16384,           /**< Bytes per read            */
	TX_MAX        = 4 * 1024 * 1024, /**< Unsent output, then close */
};

/** One control connection */
struct conn {
	struct le le;             /**< In ctrl.connl                  */
	int fd;                   /**< Stream socket                  */
	struct mbuf *rx;          /**< Start of an incomplete line    */
	struct mbuf *tx;          /**< Output the socket did not take */
	struct hash *calls;       /**< Its calls, by name             */
	struct tmr tmr;           /**< Deferred free                  */
	bool hello;               /**< hello succeeded                */
	bool closing;             /**< Close once tx is sent          */
	bool dead;                /**< Closed, free pending           */
};

static struct {
	int fd;                   /**< Listening socket               */
	struct list connl;        /**< Connections                    */
	char path[108];           /**< UNIX socket to remove at close */
} ctrl = {.fd = -1};


static void conn_destructor(void *arg)
{
	struct conn *conn = arg;

	tmr_cancel(&conn->tmr);
	list_unlink(&conn->le);

	if (conn->fd >= 0) {
		fd_close(conn->fd);
		(void)close(conn->fd);
	}

	/* frees every call, and so every leg, of the connection */
	hash_flush(conn->calls);
	mem_deref(conn->calls);
	mem_deref(conn->rx);
	mem_deref(conn->tx);
}


static void free_handler(void *arg)
{
	mem_deref(arg);
}


/* stop talking; free the connection from the main loop */
static void conn_fail(struct conn *conn)
{
	if (conn->dead)
		return;

	conn->dead = true;
	fd_close(conn->fd);
	tmr_start(&conn->tmr, 0, free_handler, conn);
}


static void conn_handler(int flags, void *arg);


static int conn_write(struct conn *conn, const uint8_t *p, size_t len)
{
	ssize_t n = 0;
	size_t pos;
	int err;

	if (conn->dead)
		return EPIPE;

	if (!conn->tx || conn->tx->pos == conn->tx->end) {
		n = send(conn->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_fail(conn);
			return EPIPE;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return 0;
	}

	if (!conn->tx) {
		conn->tx = mbuf_alloc(len - n);
		if (!conn->tx)
			goto fail;
	}

	if (conn->tx->end + (len - n) > TX_MAX) {
		DEBUG_WARNING("connection %d: peer reads nothing\n", conn->fd);
		goto fail;
	}

	/* append; pos stays where the socket stopped taking */
	pos = conn->tx->pos;
	conn->tx->pos = conn->tx->end;
	err = mbuf_write_mem(conn->tx, p + n, len - n);
	conn->tx->pos = pos;
	if (err)
		goto fail;

	/* resume from where the socket stopped taking */
	if (fd_listen(conn->fd, FD_READ | FD_WRITE, conn_handler, conn))
		goto fail;

	return 0;

 fail:
	conn_fail(conn);
	return EPIPE;
}


/**
 * Send one JSON object as a line
 *
 * @param conn Connection
 * @param o    Object
 *
 * @return 0 if sent or queued, otherwise errorcode
 */
int ctrl_send(struct conn *conn, const struct odict *o)
{
	struct mbuf *mb;
	int err;

	if (!conn || !o)
		return EINVAL;

	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "%H\n", json_encode_odict, o);
	if (!err)
		err = conn_write(conn, mb->buf, mb->end);

	mem_deref(mb);

	return err;
}


static void flush(struct conn *conn)
{
	struct mbuf *tx = conn->tx;
	ssize_t n;

	if (!tx || tx->pos == tx->end)
		return;

	n = send(conn->fd, tx->buf + tx->pos, tx->end - tx->pos,
		 MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_fail(conn);
		return;
	}
	if (n > 0)
		tx->pos += n;

	if (tx->pos < tx->end)
		return;

	conn->tx = mem_deref(conn->tx);
	if (conn->closing)
		conn_fail(conn);
	else if (fd_listen(conn->fd, FD_READ, conn_handler, conn))
		conn_fail(conn);
}


static void lines(struct conn *conn)
{
	struct mbuf *rx = conn->rx;
	size_t start = 0;

	while (!conn->closing && !conn->dead) {
		uint8_t *nl = memchr(rx->buf + start, '\n', rx->end - start);
		size_t len;

		if (!nl)
			break;

		len = nl - (rx->buf + start);
		if (len > LINE_MAX_BYTES)
			break;

		cmd_dispatch(conn, (const char *)rx->buf + start, len);
		start += len + 1;
	}

	/* keep the incomplete line; the next read appends at pos */
	memmove(rx->buf, rx->buf + start, rx->end - start);
	rx->end -= start;
	rx->pos = rx->end;

	if (rx->end > LINE_MAX_BYTES && !conn->closing && !conn->dead) {
		DEBUG_WARNING("connection %d: line over %u bytes\n",
			      conn->fd, LINE_MAX_BYTES);
		cmd_error(conn, EINVAL, "line too long");
		conn_close_after_reply(conn);
	}
}


static void conn_handler(int flags, void *arg)
{
	struct conn *conn = arg;
	uint8_t buf[RECV_CHUNK];
	ssize_t n;

	if (flags & FD_WRITE)
		flush(conn);

	if (conn->dead || !(flags & (FD_READ | FD_EXCEPT)))
		return;

	n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;

	if (n <= 0) {
		DEBUG_INFO("connection %d closed: freeing its calls\n",
			   conn->fd);
		mem_deref(conn);
		return;
	}

	if (conn->closing)
		return;

	if (!conn->rx)
		conn->rx = mbuf_alloc(sizeof(buf));
	if (!conn->rx || mbuf_write_mem(conn->rx, buf, n)) {
		conn_fail(conn);
		return;
	}

	lines(conn);
}


static void accept_handler(int flags, void *arg)
{
	struct conn *conn;
	int fd, err;
	(void)flags;
	(void)arg;

	fd = accept4(ctrl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;

	if (list_count(&ctrl.connl) >= CONN_MAX) {
		DEBUG_WARNING("refusing connection: %u open\n", CONN_MAX);
		(void)close(fd);
		return;
	}

	conn = mem_zalloc(sizeof(*conn), conn_destructor);
	if (!conn) {
		(void)close(fd);
		return;
	}

	conn->fd = fd;
	tmr_init(&conn->tmr);
	list_append(&ctrl.connl, &conn->le, conn);

	err = hash_alloc(&conn->calls, CALL_HASH);
	if (!err)
		err = fd_listen(fd, FD_READ, conn_handler, conn);
	if (!err)
		err = event_hello(conn);
	if (err) {
		DEBUG_WARNING("connection %d: %m\n", fd, err);
		mem_deref(conn);
		return;
	}

	DEBUG_INFO("connection %d open\n", fd);
}


/* a socket file left by a relay that died is removed; a live relay's,
 * or a file that is not a socket, is not */
static int unix_stale_remove(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, err = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : errno;

	if (!S_ISSOCK(st.st_mode)) {
		DEBUG_WARNING("%s exists and is not a socket\n", path);
		return EEXIST;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	/* EAGAIN: alive, with a full backlog */
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    errno == EAGAIN) {
		DEBUG_WARNING("%s: another relay is listening\n", path);
		err = EADDRINUSE;
	}
	else if (unlink(path) && errno != ENOENT) {
		err = errno;
	}

	(void)close(fd);

	return err;
}


static int listen_unix(const char *path)
{
	struct sockaddr_un sun;
	int err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;

	err = unix_stale_remove(path);
	if (err)
		return err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_ncpy(sun.sun_path, path, sizeof(sun.sun_path));

	ctrl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (ctrl.fd < 0)
		return errno;

	if (bind(ctrl.fd, (struct sockaddr *)&sun, sizeof(sun)))
		return errno;

	str_ncpy(ctrl.path, path, sizeof(ctrl.path));

	return 0;
}


static int listen_tcp(const struct sa *sa)
{
	int on = 1;

	ctrl.fd = socket(sa_af(sa), SOCK_STREAM | SOCK_NONBLOCK |
			 SOCK_CLOEXEC, 0);
	if (ctrl.fd < 0)
		return errno;

	(void)setsockopt(ctrl.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));

	if (bind(ctrl.fd, &sa->u.sa, sa->len))
		return errno;

	return 0;
}


/**
 * Listen for control connections, on TCP if configured, else UNIX
 *
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int ctrl_listen(const struct relay_conf *cfg)
{
	bool tcp;
	int err;

	if (!cfg)
		return EINVAL;

	tcp = sa_af(&cfg->tcp) != AF_UNSPEC;
	err = tcp ? listen_tcp(&cfg->tcp) : listen_unix(cfg->listen);
	if (!err && listen(ctrl.fd, 16))
		err = errno;
	if (!err)
		err = fd_listen(ctrl.fd, FD_READ, accept_handler, NULL);

	if (err) {
		if (tcp)
			DEBUG_WARNING("listen on tcp %J: %m\n", &cfg->tcp,
				      err);
		else
			DEBUG_WARNING("listen on %s: %m\n", cfg->listen, err);
		ctrl_close();
		return err;
	}

	if (tcp)
		DEBUG_NOTICE("control on tcp %J\n", &cfg->tcp);
	else
		DEBUG_NOTICE("control on %s\n", cfg->listen);

	return 0;
}


/**
 * Close every connection (freeing their calls) and stop listening
 */
void ctrl_close(void)
{
	struct le *le;

	while ((le = list_head(&ctrl.connl)))
		mem_deref(le->data);

	if (ctrl.fd >= 0) {
		fd_close(ctrl.fd);
		(void)close(ctrl.fd);
		ctrl.fd = -1;
	}

	if (ctrl.path[0]) {
		(void)unlink(ctrl.path);
		ctrl.path[0] = '\0';
	}
}


/** @return The connection's calls, by name */
struct hash *conn_calls(const struct conn *conn)
{
	return conn ? conn->calls : NULL;
}


/** @return True once the connection's hello succeeded */
bool conn_hello(const struct conn *conn)
{
	return conn && conn->hello;
}


/**
 * Mark the connection's hello as done
 *
 * @param conn Connection
 */
void conn_hello_set(struct conn *conn)
{
	if (conn)
		conn->hello = true;
}


/**
 * Close the connection once what it was sent has left; read no more
 *
 * @param conn Connection
 */
void conn_close_after_reply(struct conn *conn)
{
	if (!conn || conn->dead)
		return;

	conn->closing = true;
	if (!conn->tx)
		conn_fail(conn);
}
