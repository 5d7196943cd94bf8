/**
 * @file relay.c  The core's side of the relay control protocol
 *
 * docs/relay-protocol.md, version 1: one JSON object per line over a
 * UNIX socket. The core starts sbrelay itself unless told not to, and
 * starts it again when it dies; while the relay is away every request
 * fails at once, and the owner learns through the down handler that the
 * calls the relay carried are gone.
 */
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "relay"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	PROTOCOL       = 1,
	RELAY_LINE_MAX       = 65536,
	RETRY_MS       = 250,
	BACKOFF_MAX_MS = 10000,
	REQUEST_TIMEOUT = 5000,
};

/** A request waiting for its reply */
struct relay_req {
	struct le le;            /**< In relay.reql                  */
	uint64_t id;             /**< Request id                     */
	relay_resp_h *resph;     /**< Reply handler                  */
	void *arg;               /**< Handler argument               */
	bool detached;           /**< Nobody holds it but the list   */
};

static struct {
	const struct sb_conf *cfg;
	char path[SB_PATH_MAX + 16];
	int fd;
	pid_t child;
	struct mbuf *rx;
	struct list reql;
	struct tmr tmr_retry;
	struct tmr tmr_timeout;
	uint64_t next_id;
	uint64_t started;        /**< tmr_jiffies() of the last start */
	uint32_t backoff;        /**< ms before the next start        */
	bool ready;
	relay_event_h *eventh;
	relay_down_h *downh;
	void *arg;
} relay = {.fd = -1};


static void req_destructor(void *arg)
{
	struct relay_req *req = arg;

	list_unlink(&req->le);
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


static void fail_all(int err)
{
	while (!list_isempty(&relay.reql))
		req_finish(list_ledata(list_head(&relay.reql)), err, NULL);
}


static void connect_retry(void *arg);


static void disconnect(const char *why)
{
	bool was = relay.ready;

	if (relay.fd >= 0) {
		fd_close(relay.fd);
		(void)close(relay.fd);
		relay.fd = -1;
	}

	relay.ready = false;
	relay.rx = mem_deref(relay.rx);
	tmr_cancel(&relay.tmr_timeout);

	if (was)
		DEBUG_WARNING("relay lost: %s\n", why);

	fail_all(ECONNRESET);

	if (was && relay.downh)
		relay.downh(relay.arg);

	tmr_start(&relay.tmr_retry, RETRY_MS, connect_retry, NULL);
}


static int send_line(const char *fmt, ...)
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

	/* control messages are small and the socket is local: a short
	 * write means the relay is wedged, which we treat as gone */
	n = send(relay.fd, mb->buf, mb->end, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)mb->end)
		err = n < 0 ? errno : EPIPE;

 out:
	mem_deref(mb);
	return err;
}


static struct relay_req *req_find(uint64_t id)
{
	struct le *le;

	for (le = list_head(&relay.reql); le; le = le->next) {
		struct relay_req *req = le->data;

		if (req->id == id)
			return req;
	}

	return NULL;
}


static void hello_resp_handler(int err, const struct odict *reply, void *arg)
{
	(void)reply;
	(void)arg;

	if (err) {
		DEBUG_WARNING("relay refused protocol %d: %m\n", PROTOCOL,
			      err);
		return;
	}

	relay.ready = true;
	DEBUG_INFO("relay ready at %s\n", relay.path);
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


static void handle_message(const struct odict *msg)
{
	const char *event = odict_string(msg, "event");
	struct relay_req *req;
	uint64_t id, proto;
	int err;

	if (event && !str_cmp(event, "hello")) {
		if (!odict_get_number(msg, &proto, "protocol") ||
		    proto != PROTOCOL) {
			disconnect("relay speaks another protocol");
			return;
		}
		err = relay_request(NULL, hello_resp_handler, NULL,
				    "\"command\":\"hello\",\"protocol\":%d",
				    PROTOCOL);
		if (err)
			disconnect("hello not sent");
		return;
	}

	if (event) {
		if (relay.eventh)
			relay.eventh(event, msg, relay.arg);
		return;
	}

	if (!odict_get_number(msg, &id, "id"))
		return;

	req = req_find(id);
	if (!req)
		return;

	err = reply_err(msg);
	if (err)
		DEBUG_NOTICE("request %llu: %s: %s\n", (unsigned long long)id,
			     odict_string(msg, "code"),
			     odict_string(msg, "error"));

	req_finish(req, err, msg);
}


static void recv_handler(int flags, void *arg)
{
	uint8_t buf[8192];
	ssize_t n;
	(void)flags;
	(void)arg;

	n = recv(relay.fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		disconnect(n == 0 ? "closed" : "read error");
		return;
	}
	if (n < 0)
		return;

	if (!relay.rx)
		relay.rx = mbuf_alloc(sizeof(buf));
	if (!relay.rx || mbuf_write_mem(relay.rx, buf, n)) {
		disconnect("out of memory");
		return;
	}

	for (;;) {
		struct odict *msg = NULL;
		uint8_t *start = relay.rx->buf;
		uint8_t *nl = memchr(start, '\n', relay.rx->end);
		size_t len;

		if (!nl) {
			if (relay.rx->end > RELAY_LINE_MAX)
				disconnect("line too long");
			return;
		}

		len = nl - start;
		if (!json_decode_odict(&msg, 16, (char *)start, len, 8))
			handle_message(msg);
		mem_deref(msg);

		/* the handler may have dropped the connection */
		if (!relay.rx)
			return;

		memmove(start, nl + 1, relay.rx->end - len - 1);
		relay.rx->end -= len + 1;
		relay.rx->pos = 0;
	}
}


static int spawn(void)
{
	char ports[32];
	pid_t pid;

	(void)re_snprintf(ports, sizeof(ports), "%u-%u",
			  relay.cfg->relay_port_min, relay.cfg->relay_port_max);

	pid = fork();
	if (pid < 0)
		return errno;

	if (pid == 0) {
		/* no SIP socket of ours may outlive us in the relay, and
		 * the relay does not outlive us either */
		closefrom(STDERR_FILENO + 1);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(127);

		(void)execl(relay.cfg->relay_binary, "sbrelay",
			    "-l", relay.path, "-a", relay.cfg->relay_address,
			    "-p", ports, (char *)NULL);
		_exit(127);
	}

	relay.child = pid;
	relay.started = tmr_jiffies();
	DEBUG_INFO("started %s (pid %d)\n", relay.cfg->relay_binary, pid);

	return 0;
}


/* A child that died is started again, at once if it had run a while,
 * else after a growing pause (a missing or broken binary) */
static void child_check(void)
{
	int status;

	if (relay.child > 0) {
		if (waitpid(relay.child, &status, WNOHANG) != relay.child)
			return;

		DEBUG_WARNING("sbrelay (pid %d) exited (%s %d)\n",
			      relay.child, WIFSIGNALED(status) ? "signal" :
			      "status", WIFSIGNALED(status) ?
			      WTERMSIG(status) : WEXITSTATUS(status));
		relay.child = 0;

		if (tmr_jiffies() - relay.started > BACKOFF_MAX_MS)
			relay.backoff = 0;
		else
			relay.backoff = min(max(relay.backoff * 2, RETRY_MS),
					    (uint32_t)BACKOFF_MAX_MS);
	}

	if (relay.child == 0 &&
	    tmr_jiffies() - relay.started >= relay.backoff && spawn())
		DEBUG_WARNING("cannot start %s\n", relay.cfg->relay_binary);
}


static void connect_retry(void *arg)
{
	struct sockaddr_un sun;
	int fd;
	(void)arg;

	if (relay.cfg->relay_spawn)
		child_check();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	str_ncpy(sun.sun_path, relay.path, sizeof(sun.sun_path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto retry;

	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		(void)close(fd);
		goto retry;
	}

	relay.fd = fd;
	if (fd_listen(fd, FD_READ, recv_handler, NULL)) {
		disconnect("fd_listen");
		return;
	}

	DEBUG_INFO("connected to relay at %s\n", relay.path);
	return;

 retry:
	tmr_start(&relay.tmr_retry, RETRY_MS, connect_retry, NULL);
}


static void lost_handler(void *arg)
{
	(void)arg;
	disconnect("write failed");
}


static void timeout_handler(void *arg)
{
	(void)arg;

	/* a relay that stops answering is as good as gone */
	if (!list_isempty(&relay.reql))
		disconnect("no reply in time");
}


/**
 * Send a request; its reply goes to resph, once
 *
 * @param reqp  Optional: the request; mem_deref drops its handler. If
 *              NULL the request lives until its reply
 * @param resph Reply handler (err, reply)
 * @param arg   Handler argument
 * @param fmt   JSON members after "id", printf style
 *
 * @return 0 if sent, otherwise errorcode (ENOTCONN without a relay)
 */
int relay_request(struct relay_req **reqp, relay_resp_h *resph, void *arg,
		  const char *fmt, ...)
{
	struct relay_req *req;
	struct mbuf *mb;
	va_list ap;
	int err;

	if (!fmt)
		return EINVAL;

	if (relay.fd < 0)
		return ENOTCONN;

	mb = mbuf_alloc(512);
	req = mem_zalloc(sizeof(*req), req_destructor);
	if (!mb || !req) {
		err = ENOMEM;
		goto out;
	}

	req->id = ++relay.next_id;
	req->resph = resph;
	req->arg = arg;
	req->detached = !reqp;

	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);
	err |= mbuf_write_u8(mb, 0);
	if (err)
		goto out;

	err = send_line("{\"id\":%llu,%s}", (unsigned long long)req->id,
			(char *)mb->buf);
	if (err)
		goto out;

	list_append(&relay.reql, &req->le, req);
	tmr_start(&relay.tmr_timeout, REQUEST_TIMEOUT, timeout_handler, NULL);

	if (reqp)
		*reqp = req;

 out:
	mem_deref(mb);
	if (err) {
		mem_deref(req);

		/* not from in here: the caller is in the middle of
		 * something, and disconnecting calls handlers */
		if (err != ENOMEM)
			tmr_start(&relay.tmr_timeout, 0, lost_handler, NULL);
	}

	return err;
}


/** @return True when the relay is connected and has said hello */
bool relay_ready(void)
{
	return relay.ready;
}


/**
 * Start the relay client (and the relay, unless configured otherwise)
 *
 * @param cfg    Configuration
 * @param eventh Handler of relay events
 * @param downh  Called when a ready relay is lost
 * @param arg    Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_init(const struct sb_conf *cfg, relay_event_h *eventh,
	       relay_down_h *downh, void *arg)
{
	if (!cfg)
		return EINVAL;

	relay.cfg = cfg;
	relay.eventh = eventh;
	relay.downh = downh;
	relay.arg = arg;
	relay.fd = -1;
	tmr_init(&relay.tmr_retry);
	tmr_init(&relay.tmr_timeout);

	if (str_isset(cfg->relay_socket))
		str_ncpy(relay.path, cfg->relay_socket, sizeof(relay.path));
	else
		(void)re_snprintf(relay.path, sizeof(relay.path),
				  "%s.relay.sock", cfg->store_path);

	if (cfg->relay_spawn) {
		int err = spawn();

		if (err) {
			DEBUG_WARNING("cannot start %s: %m\n",
				      cfg->relay_binary, err);
			return err;
		}
	}

	tmr_start(&relay.tmr_retry, cfg->relay_spawn ? 50 : 0,
		  connect_retry, NULL);

	return 0;
}


/**
 * Stop the relay client, and the relay if we started it
 */
void relay_close(void)
{
	tmr_cancel(&relay.tmr_retry);
	relay.downh = NULL;
	relay.eventh = NULL;

	if (relay.fd >= 0) {
		fd_close(relay.fd);
		(void)close(relay.fd);
		relay.fd = -1;
	}

	relay.ready = false;
	relay.rx = mem_deref(relay.rx);
	tmr_cancel(&relay.tmr_timeout);
	fail_all(ECONNRESET);

	if (relay.child > 0) {
		(void)kill(relay.child, SIGTERM);
		(void)waitpid(relay.child, NULL, 0);
		relay.child = 0;
	}
}
