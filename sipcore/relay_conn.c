/**
 * @file relay_conn.c  One relay: its control connection, the calls on it
 *
 * docs/relay-protocol.md, version 1: one JSON object per line over a
 * UNIX or TCP stream. Each connection reconnects on its own, with a
 * growing pause while its relay stays away. A call sticks to the relay
 * it was attached to: its requests go there, its events come from
 * there, and when that relay is lost only the calls on it hear so.
 */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "relay"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	PROTOCOL        = 1,
	RELAY_LINE_MAX  = 65536,
	RETRY_MS        = 250,    /**< First pause before reconnecting   */
	RETRY_MAX_MS    = 2000,   /**< Longest pause                     */
	HELLO_TIMEOUT   = 5000,   /**< Connect and hello, at most        */
	REQUEST_TIMEOUT = 5000,   /**< A reply, at most                  */
};

/** A connection to one relay */
struct relay_conn {
	struct le le;             /**< In the relays' list (relay.c)     */
	char name[SB_UNIX_PATH_MAX + 8]; /**< unix:PATH or tcp:IP:PORT   */
	struct sb_relay_addr addr;/**< Where the relay listens          */
	bool spawned;             /**< Ours: supervised on each retry    */
	int fd;                   /**< Control socket, or -1             */
	bool ready;               /**< Said hello in our version         */
	bool quiet;               /**< This outage is logged already     */
	struct mbuf *rx;          /**< Received, up to a whole line      */
	struct list reql;         /**< Requests waiting, oldest first    */
	struct list calll;        /**< struct relay_call on this relay   */
	uint32_t ncalls;          /**< Entries in calll: picks are by it */
	struct tmr tmr_retry;     /**< Next connect attempt              */
	struct tmr tmr_hello;     /**< Connect and hello deadline        */
	struct tmr tmr_reply;     /**< Oldest request's deadline         */
	struct tmr tmr_lost;      /**< Disconnect from the main loop     */
	uint32_t backoff;         /**< ms before the next attempt        */
	uint64_t next_id;         /**< Last request id                   */
};

/** A call's place on a relay */
struct relay_call {
	struct le le;             /**< In relay_conn.calll               */
	struct relay_conn *conn;  /**< Its relay; NULL once lost         */
	char *rid;                /**< The call's id at the relay        */
	relay_event_h *eventh;    /**< Events of the call                */
	relay_down_h *downh;      /**< Its relay was lost                */
	void *arg;                /**< Handler argument                  */
};

/** A request waiting for its reply */
struct relay_req {
	struct le le;             /**< In relay_conn.reql                */
	uint64_t id;              /**< Request id                        */
	uint64_t sent;            /**< tmr_jiffies() when sent           */
	relay_resp_h *resph;      /**< Reply handler                     */
	void *arg;                /**< Handler argument                  */
	bool detached;            /**< Nobody holds it but the list      */
};


static void connect_attempt(void *arg);


static void req_destructor(void *arg)
{
	struct relay_req *req = arg;

	list_unlink(&req->le);
}


/* a call leaves its relay's list */
static void call_detach(struct relay_call *rc)
{
	if (!rc->conn)
		return;

	list_unlink(&rc->le);
	--rc->conn->ncalls;
	rc->conn = NULL;
}


static void call_destructor(void *arg)
{
	struct relay_call *rc = arg;

	call_detach(rc);
	mem_deref(rc->rid);
}


static void sock_close(struct relay_conn *conn)
{
	if (conn->fd < 0)
		return;

	fd_close(conn->fd);
	(void)close(conn->fd);
	conn->fd = -1;
}


/* take a request off the list and answer it; the handler may free
 * anything, the request included */
static void req_finish(struct relay_req *req, int err,
		       const struct odict *reply)
{
	relay_resp_h *resph = req->resph;
	void *arg = req->arg;

	list_unlink(&req->le);
	req->resph = NULL;

	if (req->detached)
		mem_deref(req);

	if (resph)
		resph(err, reply, arg);
}


/* At shutdown the calls are not told (the call engine ends them), but
 * every request is still answered once: its handler may own its
 * argument. The calls are detached first, so that what the handlers
 * send fails at once */
static void conn_destructor(void *arg)
{
	struct relay_conn *conn = arg;
	struct le *le;

	list_unlink(&conn->le);
	tmr_cancel(&conn->tmr_retry);
	tmr_cancel(&conn->tmr_hello);
	tmr_cancel(&conn->tmr_reply);
	tmr_cancel(&conn->tmr_lost);
	sock_close(conn);
	conn->ready = false;
	conn->rx = mem_deref(conn->rx);

	while ((le = list_head(&conn->calll)))
		call_detach(le->data);

	while ((le = list_head(&conn->reql)))
		req_finish(le->data, ECONNRESET, NULL);
}


static void retry_later(struct relay_conn *conn)
{
	tmr_start(&conn->tmr_retry, conn->backoff, connect_attempt, conn);

	/* ours is restarted at its own pace (relay_spawn.c), and checked
	 * on each attempt */
	if (!conn->spawned)
		conn->backoff = min(conn->backoff * 2, (uint32_t)RETRY_MAX_MS);
}


/* Every request fails, then every call on the relay hears it is gone;
 * the handlers may end calls and send requests (which fail at once) */
static void disconnect(struct relay_conn *conn, const char *why, int err)
{
	bool was = conn->ready;
	struct le *le;

	sock_close(conn);
	conn->ready = false;
	conn->rx = mem_deref(conn->rx);
	tmr_cancel(&conn->tmr_hello);
	tmr_cancel(&conn->tmr_reply);
	tmr_cancel(&conn->tmr_lost);

	if (was && err)
		DEBUG_WARNING("%s: relay lost: %s: %m\n", conn->name, why,
			      err);
	else if (was)
		DEBUG_WARNING("%s: relay lost: %s\n", conn->name, why);
	else if (!conn->quiet && err)
		DEBUG_NOTICE("%s: %s: %m (retrying)\n", conn->name, why, err);
	else if (!conn->quiet)
		DEBUG_NOTICE("%s: %s (retrying)\n", conn->name, why);
	conn->quiet = true;

	while ((le = list_head(&conn->reql)))
		req_finish(le->data, ECONNRESET, NULL);

	while ((le = list_head(&conn->calll))) {
		struct relay_call *rc = le->data;

		call_detach(rc);
		if (rc->downh)
			rc->downh(rc->arg);
	}

	retry_later(conn);
}


static int send_line(struct relay_conn *conn, const char *fmt, ...)
{
	struct mbuf *mb = mbuf_alloc(512);
	va_list ap;
	ssize_t n;
	int err;

	if (!mb)
		return ENOMEM;

	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);
	err |= mbuf_write_u8(mb, '\n');
	if (err)
		goto out;

	/* control messages are small: a short write means the relay, or
	 * the path to it, is wedged, which we treat as gone */
	n = send(conn->fd, mb->buf, mb->end, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)mb->end)
		err = n < 0 ? errno : EPIPE;

 out:
	mem_deref(mb);
	return err;
}


static void lost_handler(void *arg)
{
	struct relay_conn *conn = arg;

	disconnect(conn, "write failed", 0);
}


static void reply_timeout(void *arg)
{
	struct relay_conn *conn = arg;
	struct relay_req *req = list_ledata(list_head(&conn->reql));
	uint64_t age;

	if (!req)
		return;

	/* a relay that stops answering is as good as gone */
	age = tmr_jiffies() - req->sent;
	if (age >= REQUEST_TIMEOUT) {
		disconnect(conn, "no reply in time", 0);
		return;
	}

	tmr_start(&conn->tmr_reply, REQUEST_TIMEOUT - age, reply_timeout,
		  conn);
}


static int vrequest(struct relay_conn *conn, struct relay_req **reqp,
		    relay_resp_h *resph, void *arg, const char *fmt,
		    va_list ap)
{
	struct relay_req *req;
	struct mbuf *mb;
	int err;

	if (conn->fd < 0)
		return ENOTCONN;

	mb = mbuf_alloc(512);
	req = mem_zalloc(sizeof(*req), req_destructor);
	if (!mb || !req) {
		err = ENOMEM;
		goto out;
	}

	req->id = ++conn->next_id;
	req->resph = resph;
	req->arg = arg;
	req->detached = !reqp;

	err = mbuf_vprintf(mb, fmt, ap);
	err |= mbuf_write_u8(mb, 0);
	if (err)
		goto out;

	err = send_line(conn, "{\"id\":%llu,%s}",
			(unsigned long long)req->id, (char *)mb->buf);
	if (err)
		goto out;

	req->sent = tmr_jiffies();
	list_append(&conn->reql, &req->le, req);
	if (!tmr_isrunning(&conn->tmr_reply))
		tmr_start(&conn->tmr_reply, REQUEST_TIMEOUT, reply_timeout,
			  conn);

	if (reqp)
		*reqp = req;

 out:
	mem_deref(mb);
	if (err) {
		mem_deref(req);

		/* not from in here: the caller is in the middle of
		 * something, and disconnecting calls handlers */
		if (err != ENOMEM)
			tmr_start(&conn->tmr_lost, 0, lost_handler, conn);
	}

	return err;
}


static int request(struct relay_conn *conn, relay_resp_h *resph,
		   const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vrequest(conn, NULL, resph, conn, fmt, ap);
	va_end(ap);

	return err;
}


static void hello_resp_handler(int err, const struct odict *reply,
			       void *arg)
{
	struct relay_conn *conn = arg;
	(void)reply;

	/* a reset connection is already being dealt with */
	if (err == ECONNRESET)
		return;

	if (err) {
		disconnect(conn, "relay refused our protocol", err);
		return;
	}

	conn->ready = true;
	conn->quiet = false;
	conn->backoff = RETRY_MS;
	tmr_cancel(&conn->tmr_hello);
	DEBUG_INFO("%s: relay ready\n", conn->name);
}


static int reply_err(const struct odict *reply)
{
	static const struct {
		const char *name;
		int err;
	} codev[] = {
		{"EINVAL", EINVAL}, {"ENOENT", ENOENT}, {"EEXIST", EEXIST},
		{"ENOMEM", ENOMEM}, {"EADDRINUSE", EADDRINUSE},
		{"EPROTO", EPROTO}, {"ENOTSUP", ENOTSUP},
	};
	const char *result = odict_string(reply, "result");
	const char *code = odict_string(reply, "code");
	size_t i;

	if (!str_cmp(result, "ok"))
		return 0;

	for (i = 0; code && i < ARRAY_SIZE(codev); i++) {
		if (!str_cmp(code, codev[i].name))
			return codev[i].err;
	}

	return EPROTO;
}


static struct relay_req *req_find(const struct relay_conn *conn,
				  uint64_t id)
{
	struct le *le;

	for (le = list_head(&conn->reql); le; le = le->next) {
		struct relay_req *req = le->data;

		if (req->id == id)
			return req;
	}

	return NULL;
}


/* events name the call: only a call on this relay gets them */
static void event_dispatch(struct relay_conn *conn, const char *event,
			   const struct odict *msg)
{
	const char *rid = odict_string(msg, "call");
	struct le *le;

	for (le = list_head(&conn->calll); rid && le; le = le->next) {
		struct relay_call *rc = le->data;

		if (!str_cmp(rc->rid, rid)) {
			if (rc->eventh)
				rc->eventh(event, msg, rc->arg);
			return;
		}
	}
}


static void handle_message(struct relay_conn *conn, const struct odict *msg)
{
	const char *event = odict_string(msg, "event");
	struct relay_req *req;
	uint64_t id, proto;
	int err;

	if (event && !str_cmp(event, "hello")) {
		if (!odict_get_number(msg, &proto, "protocol") ||
		    proto != PROTOCOL) {
			disconnect(conn, "relay speaks another protocol", 0);
			return;
		}
		err = request(conn, hello_resp_handler,
			      "\"command\":\"hello\",\"protocol\":%d",
			      PROTOCOL);
		if (err)
			DEBUG_WARNING("%s: hello not sent: %m\n", conn->name,
				      err);
		return;
	}

	if (event) {
		event_dispatch(conn, event, msg);
		return;
	}

	if (!odict_get_number(msg, &id, "id"))
		return;

	req = req_find(conn, id);
	if (!req)
		return;

	err = reply_err(msg);
	if (err)
		DEBUG_NOTICE("%s: request %llu: %s: %s\n", conn->name,
			     (unsigned long long)id,
			     odict_string(msg, "code"),
			     odict_string(msg, "error"));

	req_finish(req, err, msg);
}


static void recv_handler(int flags, void *arg)
{
	struct relay_conn *conn = arg;
	uint8_t buf[8192];
	ssize_t n;
	(void)flags;

	n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		disconnect(conn, n == 0 ? "closed" : "read error",
			   n == 0 ? 0 : errno);
		return;
	}
	if (n < 0)
		return;

	if (!conn->rx)
		conn->rx = mbuf_alloc(sizeof(buf));
	if (!conn->rx || mbuf_write_mem(conn->rx, buf, n)) {
		disconnect(conn, "out of memory", ENOMEM);
		return;
	}

	for (;;) {
		struct odict *msg = NULL;
		uint8_t *start = conn->rx->buf;
		uint8_t *nl = memchr(start, '\n', conn->rx->end);
		size_t len;

		if (!nl) {
			if (conn->rx->end > RELAY_LINE_MAX)
				disconnect(conn, "line too long", 0);
			return;
		}

		len = nl - start;
		if (!json_decode_odict(&msg, 16, (char *)start, len, 8))
			handle_message(conn, msg);
		mem_deref(msg);

		/* the handler may have dropped the connection */
		if (!conn->rx)
			return;

		memmove(start, nl + 1, conn->rx->end - len - 1);
		conn->rx->end -= len + 1;
		conn->rx->pos = 0;
	}
}


static void connected(struct relay_conn *conn)
{
	int err = fd_listen(conn->fd, FD_READ, recv_handler, conn);

	if (err) {
		disconnect(conn, "fd_listen", err);
		return;
	}

	DEBUG_INFO("%s: connected, waiting for hello\n", conn->name);
}


/* a TCP connect finished, one way or the other */
static void connect_handler(int flags, void *arg)
{
	struct relay_conn *conn = arg;
	socklen_t len = sizeof(int);
	int err = 0;
	(void)flags;

	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;

	if (err) {
		disconnect(conn, "cannot connect", err);
		return;
	}

	connected(conn);
}


static void hello_timeout(void *arg)
{
	struct relay_conn *conn = arg;

	disconnect(conn, "no hello in time", 0);
}


static void connect_attempt(void *arg)
{
	struct relay_conn *conn = arg;
	bool tcp = sa_isset(&conn->addr.tcp, SA_ADDR);
	struct sockaddr_un sun;
	const struct sockaddr *sa;
	socklen_t salen;
	int on = 1;
	int err;

	if (conn->spawned)
		relay_spawn_check();

	if (tcp) {
		sa = &conn->addr.tcp.u.sa;
		salen = conn->addr.tcp.len;
	}
	else {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		str_ncpy(sun.sun_path, conn->addr.path, sizeof(sun.sun_path));
		sa = (struct sockaddr *)&sun;
		salen = sizeof(sun);
	}

	conn->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC |
			  SOCK_NONBLOCK, 0);
	if (conn->fd < 0) {
		disconnect(conn, "socket", errno);
		return;
	}

	/* a remote relay that never answers must not hold us up */
	tmr_start(&conn->tmr_hello, HELLO_TIMEOUT, hello_timeout, conn);

	/* requests are single lines that wait for their reply */
	if (tcp)
		(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &on,
				 sizeof(on));

	if (!connect(conn->fd, sa, salen)) {
		connected(conn);
		return;
	}

	err = errno;
	if (err != EINPROGRESS) {
		disconnect(conn, "cannot connect", err);
		return;
	}

	err = fd_listen(conn->fd, FD_WRITE, connect_handler, conn);
	if (err)
		disconnect(conn, "fd_listen", err);
}


/**
 * Add a relay: its connection tries to connect at once, and again
 * whenever it is lost
 *
 * @param connl   List the connection joins (freed with the list)
 * @param addr    The relay's control address
 * @param spawned True for the relay we start and supervise
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_conn_alloc(struct list *connl, const struct sb_relay_addr *addr,
		     bool spawned)
{
	struct relay_conn *conn;

	if (!connl || !addr)
		return EINVAL;

	conn = mem_zalloc(sizeof(*conn), conn_destructor);
	if (!conn)
		return ENOMEM;

	conn->addr = *addr;
	conn->spawned = spawned;
	/* ours is not listening yet, and relay_spawn.c says if it fails */
	conn->quiet = spawned;
	conn->fd = -1;
	conn->backoff = RETRY_MS;
	tmr_init(&conn->tmr_retry);
	tmr_init(&conn->tmr_hello);
	tmr_init(&conn->tmr_reply);
	tmr_init(&conn->tmr_lost);

	if (sa_isset(&addr->tcp, SA_ADDR))
		(void)re_snprintf(conn->name, sizeof(conn->name), "tcp:%J",
				  &addr->tcp);
	else
		(void)re_snprintf(conn->name, sizeof(conn->name), "unix:%s",
				  addr->path);

	list_append(connl, &conn->le, conn);

	/* ours needs a moment to listen */
	tmr_start(&conn->tmr_retry, spawned ? 50 : 0, connect_attempt, conn);

	return 0;
}


/**
 * Whether a relay takes calls
 *
 * @param conn Relay connection
 *
 * @return True when connected and the relay said hello in our version
 */
bool relay_conn_ready(const struct relay_conn *conn)
{
	return conn && conn->ready;
}


/**
 * Count the calls on a relay
 *
 * @param conn Relay connection
 *
 * @return The number of our calls attached to it
 */
uint32_t relay_conn_calls(const struct relay_conn *conn)
{
	return conn ? conn->ncalls : 0;
}


/**
 * Print a relay's address, state and calls as a JSON object
 *
 * @param pf   Print function
 * @param conn Relay connection
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_conn_json(struct re_printf *pf, const struct relay_conn *conn)
{
	if (!conn)
		return EINVAL;

	return re_hprintf(pf, "{\"address\":\"%H\",\"state\":\"%s\","
			  "\"calls\":%u}", utf8_encode, conn->name,
			  conn->ready ? "ready" : conn->fd >= 0 ?
			  "connecting" : "down",
			  conn->ncalls);
}


/**
 * Attach a call to a ready relay: its requests go there, and its
 * handlers hear of that relay only
 *
 * @param rcp    The call's place on the relay; mem_deref to leave
 * @param conn   Relay connection
 * @param rid    The call's id at the relay
 * @param eventh Handler of the call's events
 * @param downh  Called once if the relay is lost while attached
 * @param arg    Handler argument
 *
 * @return 0 if success, ENOTCONN if the relay is not ready, otherwise
 *         errorcode
 */
int relay_conn_attach(struct relay_call **rcp, struct relay_conn *conn,
		      const char *rid, relay_event_h *eventh,
		      relay_down_h *downh, void *arg)
{
	struct relay_call *rc;
	int err;

	if (!rcp || !conn || !rid)
		return EINVAL;

	if (!conn->ready)
		return ENOTCONN;

	rc = mem_zalloc(sizeof(*rc), call_destructor);
	if (!rc)
		return ENOMEM;

	err = str_dup(&rc->rid, rid);
	if (err) {
		mem_deref(rc);
		return err;
	}

	rc->conn = conn;
	rc->eventh = eventh;
	rc->downh = downh;
	rc->arg = arg;
	list_append(&conn->calll, &rc->le, rc);
	++conn->ncalls;

	*rcp = rc;

	return 0;
}


/**
 * Send a request to a call's relay; its reply goes to resph, once
 *
 * @param rc    The call's place on a relay
 * @param reqp  Optional: the request; mem_deref drops its handler. If
 *              NULL the request lives until its reply
 * @param resph Reply handler (err, reply)
 * @param arg   Handler argument
 * @param fmt   JSON members after "id", printf style
 *
 * @return 0 if sent, otherwise errorcode (ENOTCONN once its relay is
 *         lost)
 */
int relay_request(struct relay_call *rc, struct relay_req **reqp,
		  relay_resp_h *resph, void *arg, const char *fmt, ...)
{
	va_list ap;
	int err;

	if (!rc || !fmt)
		return EINVAL;

	if (!rc->conn || !rc->conn->ready)
		return ENOTCONN;

	va_start(ap, fmt);
	err = vrequest(rc->conn, reqp, resph, arg, fmt, ap);
	va_end(ap);

	return err;
}
