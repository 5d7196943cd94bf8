/**
 * @file fuzz_relay_ctrl.c  libFuzzer target: sbrelay's control protocol
 *
 * Each input is what one control connection sends: it is cut into lines
 * at '\n' the way ctrl.c's lines() does, and each complete line goes to
 * cmd_dispatch (JSON decode, id, hello state, the command table and the
 * handlers: offer and answer make real calls and legs, with real UDP
 * port pairs on 127.0.0.1 from a range of three, so "no free port pair"
 * is reachable). The connection is fresh for every input and is freed at
 * the end, as when a core hangs up.
 *
 * No sockets for the control side: this file defines the few functions
 * of ctrl.c that cmd.c calls (ctrl_send and the conn_* accessors) on a
 * connection object of its own, so ctrl.o is not linked. Nor packet
 * threads: the worker.c functions leg.c, grace.c and mixer.c call are
 * stubs (a leg or mixer is "added" to a dummy thread, and every thread
 * has always passed every grace generation, so a released leg is freed
 * at once).
 *
 * What must hold is checked after every line; a broken rule aborts:
 *  - a line that is not blank gets exactly one reply, a blank one none;
 *    each reply is one line of JSON that decodes again, "result" "ok"
 *    or "error", an error with a code of docs/relay-protocol.md;
 *  - the reply echoes the request's id when it is a positive integer,
 *    and has none otherwise;
 *  - before hello every other known command gets EPROTO; hello with
 *    protocol 1 succeeds, with another number gets EPROTO and closes;
 *  - a request that fails leaves the calls and legs as they were;
 *  - after an offer or answer that succeeds, "from" and "to" are legs of
 *    the call, bridged to each other, "from" latches on "source" and
 *    aims at what the SDP says; the reply's SDP parses and names the
 *    relay's address and the port of leg "to" (0 for a rejected stream);
 *  - delete removes the call, or with a leg one pair of its legs;
 *    stats counts what there is;
 *  - after mix, unmix, join or leave that succeed, the mixer exists or
 *    not, the leg is in it or in none; legs and calls stay as they
 *    were;
 *  - at every step bridges are symmetric and within one call, a leg in
 *    a mixer is in one of its own call's (and flagged as mixed, and
 *    only then), and call_count()/leg_count() match what the calls
 *    hold; once the connection is freed, both are 0 and no descriptor
 *    is left open.
 *
 * libre's JSON decoder prints what it cannot read to stdout (re_printf):
 * run with -close_fd_mask=1 to keep that out of the way.
 *
 * Build with configure --enable-fuzz CC=clang; seeds are in
 * test/fuzz/corpus/relay-ctrl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "../../media/relay.h"

#define DEBUG_MODULE "fuzz_relay_ctrl"
#define DEBUG_LEVEL 3
#include <re_dbg.h>


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


enum {
	PORT_MIN  = 47910,        /**< Three RTP/RTCP pairs           */
	PORT_MAX  = 47915,
	CALL_HASH = 16,
};

#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } \
	while (0)


/** The connection cmd.c answers on: ctrl.c's, without a socket */
struct conn {
	struct hash *calls;       /**< Its calls, by name             */
	bool hello;               /**< hello succeeded                */
	bool closing;             /**< Close after the reply          */
	unsigned replies;         /**< Replies sent for this line     */
	unsigned events;          /**< Events sent                    */
	struct odict *reply;      /**< The last reply, decoded again  */
};


/** A packet thread that is never there */
static struct {
	int dummy;
} fake_worker;

/* the relay's media root while fuzzing: fixed, so seeds can name it */
static const char media_dir[] = "/tmp/sbrelay-fuzz";
static struct sa relay_addr;
static int fd_free;               /**< Lowest free descriptor at start */


static void check_failed(const char *what, int line)
{
	(void)re_fprintf(stderr, "fuzz_relay_ctrl.c:%d: invariant broken:"
			 " %s\n", line, what);
	abort();
}


/* ---- ctrl.c, as cmd.c sees it ---- */


/**
 * Send one JSON object as a line: here, check it and keep it
 *
 * @param conn Connection
 * @param o    Object
 *
 * @return 0 if success, otherwise errorcode
 */
int ctrl_send(struct conn *conn, const struct odict *o)
{
	struct odict *msg = NULL;
	struct mbuf *mb;
	const uint8_t *nl;
	int err;

	if (!conn || !o)
		return EINVAL;

	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "%H\n", json_encode_odict, o);
	CHECK(err == 0);

	/* one line, and JSON again */
	nl = memchr(mb->buf, '\n', mb->end);
	CHECK(nl == mb->buf + mb->end - 1);

	err = json_decode_odict(&msg, 16, (const char *)mb->buf,
				mb->end - 1, 8);
	CHECK(err == 0);
	mem_deref(mb);

	/* events (a recording ended by delete) may come before a reply;
	 * they name themselves and carry no id */
	if (odict_lookup(msg, "event")) {
		CHECK(!odict_lookup(msg, "id"));
		++conn->events;
		mem_deref(msg);
		return 0;
	}

	++conn->replies;
	mem_deref(conn->reply);
	conn->reply = msg;

	return 0;
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
 * Read no more from the connection
 *
 * @param conn Connection
 */
void conn_close_after_reply(struct conn *conn)
{
	if (conn)
		conn->closing = true;
}


/* ---- worker.c, as leg.c, grace.c and cmd.c see it ---- */


/** @return The one (absent) packet thread */
struct worker *worker_pick(void)
{
	return (struct worker *)(void *)&fake_worker;
}


/**
 * Give a leg to a packet thread: nothing to do
 *
 * @param w   Packet thread
 * @param leg Leg
 *
 * @return 0 if success, otherwise errorcode
 */
int worker_add(struct worker *w, struct leg *leg)
{
	CHECK(w == worker_pick());
	CHECK(leg && leg->rtp.fd >= 0 && leg->rtcp.fd >= 0);

	return 0;
}


/**
 * Take a leg from its packet thread: nothing to do
 *
 * @param w   Packet thread
 * @param leg Leg
 */
void worker_remove(struct worker *w, struct leg *leg)
{
	CHECK(w == worker_pick());
	CHECK(leg != NULL);
}


/** Wake the packet threads: there are none */
void workers_kick(void)
{
}


/**
 * Have all packet threads passed a grace generation?
 *
 * @param gen Generation
 *
 * @return Always true: there are none
 */
bool workers_passed(uint32_t gen)
{
	(void)gen;

	return true;
}


/**
 * Totals of the packet threads: none
 *
 * @param packets Packets accepted
 * @param dropped Packets refused
 */
void workers_totals(uint64_t *packets, uint64_t *dropped)
{
	if (packets)
		*packets = 0;
	if (dropped)
		*dropped = 0;
}


/**
 * Count a transcode path: nothing ticks here
 *
 * @param w     Packet thread
 * @param delta +1 or -1
 */
void worker_paths(struct worker *w, int delta)
{
	CHECK(w == worker_pick());
	(void)delta;
}


/**
 * Give a mixer to a packet thread: nothing ticks here
 *
 * @param w  Packet thread
 * @param le The mixer's entry
 * @param m  Mixer
 */
void worker_mixer_add(struct worker *w, struct le *le, struct mixer *m)
{
	CHECK(w == worker_pick());
	CHECK(le && m);
}


/**
 * Take a mixer from its packet thread: nothing to do
 *
 * @param w  Packet thread
 * @param le The mixer's entry
 */
void worker_mixer_remove(struct worker *w, struct le *le)
{
	CHECK(w == worker_pick());
	CHECK(le != NULL);
}


/**
 * A digit from a packet thread: there are none
 *
 * @param leg_id Leg
 * @param digit  Digit
 * @param inband In-band
 */
void worker_dtmf(uint32_t leg_id, char digit, bool inband)
{
	(void)leg_id;
	(void)digit;
	(void)inband;
}


/* ---- set-up ---- */


/* a leaked socket shows as a higher lowest free descriptor */
static int lowest_free_fd(void)
{
	int fd = dup(2);

	if (fd >= 0)
		(void)close(fd);

	return fd;
}


/* a tenth of a second of a 1 kHz tone, 8 kHz mono: <media_dir>/tone.wav */
static int wav_sample_write(const char *dir)
{
	uint8_t wav[44 + 1600];
	char path[128];
	FILE *f;
	size_t i;
	int err = 0;

	memcpy(wav, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0"
	       "\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data", 40);
	wav[4] = (uint8_t)((sizeof(wav) - 8) & 0xff);
	wav[5] = (uint8_t)((sizeof(wav) - 8) >> 8);
	wav[6] = wav[7] = 0;
	wav[40] = (uint8_t)(1600 & 0xff);
	wav[41] = (uint8_t)(1600 >> 8);
	wav[42] = wav[43] = 0;
	for (i = 0; i < 800; i++) {
		static const int16_t cycle[8] = {0, 7071, 10000, 7071, 0,
						 -7071, -10000, -7071};
		uint16_t v = (uint16_t)cycle[i % 8];

		wav[44 + 2 * i] = (uint8_t)(v & 0xff);
		wav[45 + 2 * i] = (uint8_t)(v >> 8);
	}

	(void)re_snprintf(path, sizeof(path), "%s/tone.wav", dir);
	f = fopen(path, "wb");
	if (!f)
		return errno;
	if (fwrite(wav, sizeof(wav), 1, f) != 1)
		err = EIO;
	if (fclose(f) && !err)
		err = errno;

	return err;
}


/**
 * Set up libre, the port range and the leg table once for the run
 *
 * @param argc Argument count (unused)
 * @param argv Arguments (unused)
 *
 * @return 0 if success
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;
	(void)argc;
	(void)argv;

	err = libre_init();
	if (err)
		return err;

	/* warnings ("no free port pair") are expected: keep stderr quiet */
	dbg_init(DBG_ERR, DBG_NONE);

	/* play and record touch files under this directory only; a WAV
	 * there gives play something to load */
	if ((mkdir(media_dir, 0700) && errno != EEXIST) ||
	    wav_sample_write(media_dir))
		abort();

	err = cmd_media_root(media_dir);
	err = err ? err : sa_set_str(&relay_addr, "127.0.0.1", 0);
	err = err ? err : ports_init(&relay_addr, PORT_MIN, PORT_MAX);
	err = err ? err : legs_init();
	err = err ? err : sdes_init();
	if (err)
		abort();

	/* the random source may keep a descriptor from its first use: not
	 * a leak of ours */
	(void)rand_u32();

	fd_free = lowest_free_fd();

	return 0;
}


/* ---- checks ---- */


struct walk_state {
	const struct conn *conn;
	uint32_t calls;
	uint32_t legs;
};


/* every leg of a call: bridged symmetrically, within the call */
static bool call_check(struct le *le, void *arg)
{
	struct walk_state *ws = arg;
	const struct call *call = le->data;
	const struct odict_entry *arr;
	struct odict *o = NULL;
	struct le *ae;
	int err;

	++ws->calls;
	CHECK(call_find(ws->conn->calls, call_name(call)) == call);
	CHECK(call_conn(call) == ws->conn);

	err = odict_alloc(&o, 4);
	if (err)
		return false;

	err = call_encode_legs(o, call);
	if (err == ENOMEM)
		goto out;
	CHECK(err == 0);

	arr = odict_get_type(o, ODICT_ARRAY, "legs");
	CHECK(arr != NULL);

	/* a call lives only while it has a leg or a mixer */
	CHECK(odict_count(arr->u.odict, false) > 0 ||
	      list_head(call_mixers((struct call *)call)));

	for (ae = list_head(&arr->u.odict->lst); ae; ae = ae->next) {
		const struct odict_entry *e = ae->data;
		const char *name;
		struct leg *leg;

		CHECK(e->type == ODICT_OBJECT);
		name = odict_string(e->u.odict, "leg");
		CHECK(name != NULL);

		leg = call_leg(call, name);
		CHECK(leg != NULL);
		CHECK(leg->call == call);
		CHECK(leg_find(leg->id) == leg);
		CHECK(leg->worker == worker_pick());
		CHECK(sa_port(&leg->rtp.local) >= PORT_MIN &&
		      sa_port(&leg->rtp.local) < PORT_MAX &&
		      !(sa_port(&leg->rtp.local) & 1));
		CHECK(sa_port(&leg->rtcp.local) ==
		      sa_port(&leg->rtp.local) + 1);

		if (leg->peer) {
			CHECK(leg->peer != leg);
			CHECK(leg->peer->peer == leg);
			CHECK(leg->peer->call == call);
		}

		CHECK(atomic_load(&leg->mixed) == (leg->member != NULL));
		if (leg_mixer(leg))
			CHECK(mixer_find((struct call *)call,
					 mixer_name(leg_mixer(leg))) ==
			      leg_mixer(leg));

		++ws->legs;
	}

	for (ae = list_head(call_mixers((struct call *)call)); ae;
	     ae = ae->next)
		CHECK(mixer_call(ae->data) == call);

 out:
	mem_deref(o);

	return false;
}


static void state_check(const struct conn *conn)
{
	struct walk_state ws = {conn, 0, 0};

	(void)hash_apply(conn->calls, call_check, &ws);

	CHECK(ws.calls == call_count());
	CHECK(ws.legs == leg_count());
}


static const char *reply_str(const struct conn *conn, const char *key)
{
	return odict_string(conn->reply, key);
}


static bool reply_ok(const struct conn *conn)
{
	const char *result = reply_str(conn, "result");

	return result && !strcmp(result, "ok");
}


static bool reply_code(const struct conn *conn, const char *code)
{
	const char *c = reply_str(conn, "code");

	return c && !strcmp(c, code);
}


/* the reply as such: result, code, and the id of the request */
static void reply_check(const struct conn *conn, int64_t id)
{
	static const char *codev[] = {"EINVAL", "ENOENT", "EEXIST", "ENOMEM",
				      "EADDRINUSE", "EPROTO", "ENOTSUP",
				      "EACCES"};
	const struct odict_entry *e;
	const char *result, *code;
	bool known = false;
	size_t i;

	result = reply_str(conn, "result");
	CHECK(result != NULL);
	CHECK(!odict_lookup(conn->reply, "event"));

	e = odict_lookup(conn->reply, "id");
	if (id > 0)
		CHECK(e && e->type == ODICT_INT && e->u.integer == id);
	else
		CHECK(e == NULL);

	if (!strcmp(result, "ok"))
		return;

	CHECK(!strcmp(result, "error"));
	CHECK(reply_str(conn, "error") != NULL);

	code = reply_str(conn, "code");
	CHECK(code != NULL);
	for (i = 0; i < ARRAY_SIZE(codev); i++)
		known |= !strcmp(code, codev[i]);
	CHECK(known);
}


/* an offer or answer that succeeded: the legs, and the reply's SDP */
static void media_check(const struct conn *conn, const struct odict *req)
{
	const char *call_s = odict_string(req, "call");
	const char *from = odict_string(req, "from");
	const char *to = odict_string(req, "to");
	const char *source = odict_string(req, "source");
	const char *sdp = odict_string(req, "sdp");
	const char *rsdp = reply_str(conn, "sdp");
	struct sdptext in, out;
	struct call *call;
	struct leg *a, *b;
	struct sa src;

	CHECK(call_s && from && to && source && sdp);
	CHECK(strcmp(from, to) != 0);

	call = call_find(conn->calls, call_s);
	CHECK(call != NULL);
	a = call_leg(call, from);
	b = call_leg(call, to);
	CHECK(a && b);
	CHECK(a->peer == b && b->peer == a);

	CHECK(sa_set_str(&src, source, 0) == 0);
	CHECK(sa_cmp(&a->source, &src, SA_ADDR));

	CHECK(sdptext_parse(&in, sdp, strlen(sdp)) == 0);
	CHECK(sa_cmp(&a->sdp.rtp, &in.rtp, SA_ALL));
	CHECK(sa_cmp(&a->sdp.rtcp, &in.rtcp, SA_ALL));

	CHECK(rsdp != NULL);
	CHECK(sdptext_parse(&out, rsdp, strlen(rsdp)) == 0);
	CHECK(sa_cmp(&out.rtp, &relay_addr, SA_ADDR));
	if (sa_port(&in.rtp)) {
		CHECK(sa_port(&out.rtp) == sa_port(&b->rtp.local));
		CHECK(sa_cmp(&out.rtcp, &b->rtcp.local, SA_ALL));
	}
	else {
		CHECK(sa_port(&out.rtp) == 0);
	}
}


/* mix, unmix, join, leave that succeeded: the mixer and the leg as the
 * request asked, nothing made or freed but the mixer (and, at unmix, a
 * call left with nothing) */
static void mixer_check(const struct conn *conn, const struct odict *req,
			const char *cmd, uint32_t calls_before,
			uint32_t legs_before)
{
	struct call *call = call_find(conn->calls, odict_string(req, "call"));
	struct leg *leg = call_leg(call, odict_string(req, "leg"));
	struct mixer *m = mixer_find(call, odict_string(req, "mixer"));

	CHECK(leg_count() == legs_before);

	/* a call whose legs all went goes with its last mixer */
	if (!strcmp(cmd, "unmix")) {
		CHECK(odict_string(req, "mixer") && m == NULL);
		CHECK(call ? call_count() == calls_before :
		      call_count() + 1 == calls_before);
		return;
	}

	CHECK(call != NULL);
	CHECK(call_count() == calls_before);

	if (!strcmp(cmd, "mix")) {
		CHECK(m != NULL);
	}
	else if (!strcmp(cmd, "join")) {
		CHECK(leg && m && leg_mixer(leg) == m);
	}
	else {
		/* the mixer it left is still there */
		CHECK(leg && leg_mixer(leg) == NULL);
		CHECK(mixer_find(call, reply_str(conn, "mixer")) != NULL);
	}
}


/* the reply against what the request asked, and the state after it */
static void answer_check(const struct conn *conn, const struct odict *req,
			 bool hello_before, uint32_t calls_before,
			 uint32_t legs_before, bool call_existed)
{
	const char *cmd = odict_string(req, "command");
	bool ok = reply_ok(conn);

	/* a request that failed changed nothing */
	if (!ok) {
		CHECK(call_count() == calls_before);
		CHECK(leg_count() == legs_before);
	}

	if (!cmd)
		return;

	if (!strcmp(cmd, "hello")) {
		const struct odict_entry *p;

		p = odict_get_type(req, ODICT_INT, "protocol");
		if (!p) {
			CHECK(reply_code(conn, "EINVAL"));
			CHECK(conn->hello == hello_before);
		}
		else if (p->u.integer != RELAY_PROTOCOL) {
			CHECK(reply_code(conn, "EPROTO"));
			CHECK(conn->closing);
		}
		else {
			CHECK(ok && conn->hello);
		}
		return;
	}

	if (strcmp(cmd, "offer") && strcmp(cmd, "answer") &&
	    strcmp(cmd, "delete") && strcmp(cmd, "query") &&
	    strcmp(cmd, "stats") && strcmp(cmd, "ping") &&
	    strcmp(cmd, "play") && strcmp(cmd, "tone") &&
	    strcmp(cmd, "stop") && strcmp(cmd, "record") &&
	    strcmp(cmd, "record_stop") && strcmp(cmd, "mix") &&
	    strcmp(cmd, "unmix") && strcmp(cmd, "join") &&
	    strcmp(cmd, "leave")) {
		CHECK(reply_code(conn, "EPROTO"));
		return;
	}

	if (!hello_before) {
		CHECK(reply_code(conn, "EPROTO"));
		return;
	}

	if (!strcmp(cmd, "ping")) {
		CHECK(ok);
	}
	else if (!strcmp(cmd, "stats")) {
		const struct odict_entry *c, *l;

		CHECK(ok);
		c = odict_get_type(conn->reply, ODICT_INT, "calls");
		l = odict_get_type(conn->reply, ODICT_INT, "legs");
		CHECK(c && c->u.integer == (int64_t)call_count());
		CHECK(l && l->u.integer == (int64_t)leg_count());
	}
	else if (!strcmp(cmd, "delete") && odict_lookup(req, "leg")) {
		const char *name = odict_string(req, "call");

		/* one pair: one or two legs fewer, the call stays while
		 * anything is left of it */
		if (ok)
			CHECK(name && call_existed &&
			      leg_count() < legs_before &&
			      leg_count() + 2 >= legs_before);
	}
	else if (!strcmp(cmd, "delete")) {
		const char *name = odict_string(req, "call");

		if (ok)
			CHECK(name && call_existed &&
			      !call_find(conn->calls, name));
		else if (reply_code(conn, "ENOENT"))
			CHECK(!call_existed);
	}
	else if (!strcmp(cmd, "query")) {
		if (ok)
			CHECK(call_existed &&
			      odict_get_type(conn->reply, ODICT_ARRAY,
					     "legs"));
	}
	else if (!strcmp(cmd, "play") || !strcmp(cmd, "tone") ||
		 !strcmp(cmd, "stop") || !strcmp(cmd, "record") ||
		 !strcmp(cmd, "record_stop")) {
		const char *file = odict_string(req, "file");

		/* nothing in a call that does not exist, no file outside
		 * the media root */
		if (ok)
			CHECK(call_existed &&
			      call_count() == calls_before &&
			      leg_count() == legs_before);
		if (ok && (!strcmp(cmd, "play") || !strcmp(cmd, "record")))
			CHECK(file && !strncmp(file, media_dir,
					       strlen(media_dir)) &&
			      file[strlen(media_dir)] == '/');
	}
	else if (!strcmp(cmd, "mix") || !strcmp(cmd, "unmix") ||
		 !strcmp(cmd, "join") || !strcmp(cmd, "leave")) {
		if (ok)
			mixer_check(conn, req, cmd, calls_before,
				    legs_before);
	}
	else if (ok) {
		media_check(conn, req);
		if (!strcmp(cmd, "answer"))
			CHECK(call_existed && call_count() == calls_before &&
			      leg_count() == legs_before);
	}
}


/* one line, as lines() hands it to cmd_dispatch, and what must follow */
static void line_run(struct conn *conn, const char *line, size_t len)
{
	const struct odict_entry *e;
	struct odict *req = NULL;
	const char *p = line, *call_s;
	bool hello_before = conn->hello, call_existed = false;
	uint32_t calls_before = call_count(), legs_before = leg_count();
	size_t n = len;
	int64_t id = 0;
	bool blank;

	/* decode it as cmd_dispatch does, to know what to expect */
	blank = !len || (len == 1 && line[0] == '\r');
	while (n && (*p == ' ' || *p == '\t')) {
		++p;
		--n;
	}
	if (!blank && n && *p == '{' &&
	    !json_decode_odict(&req, 16, p, n, 8)) {
		e = odict_lookup(req, "id");
		id = e && e->type == ODICT_INT ? e->u.integer : 0;
		call_s = odict_string(req, "call");
		call_existed = call_s && call_find(conn->calls, call_s);
	}

	conn->replies = 0;
	conn->reply = mem_deref(conn->reply);

	cmd_dispatch(conn, line, len);

	CHECK(conn->replies == (blank ? 0u : 1u));

	if (!blank) {
		reply_check(conn, id > 0 ? id : 0);

		if (!req || id <= 0)
			CHECK(reply_code(conn, "EINVAL"));
		else
			answer_check(conn, req, hello_before, calls_before,
				     legs_before, call_existed);
	}

	state_check(conn);

	mem_deref(req);
}


/**
 * Run one connection's input through the command dispatch
 *
 * @param data Input bytes
 * @param size Number of bytes
 *
 * @return 0 (libFuzzer wants nothing else)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn conn;
	size_t start = 0;

	memset(&conn, 0, sizeof(conn));
	if (hash_alloc(&conn.calls, CALL_HASH))
		return 0;

	/* the same ports for the same input, run after run */
	if (ports_init(&relay_addr, PORT_MIN, PORT_MAX))
		abort();

	/* ctrl.c's lines(): complete lines only, stop once closing */
	while (!conn.closing && start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len;

		if (!nl)
			break;

		len = (size_t)(nl - (data + start));
		if (len > LINE_MAX_BYTES)
			break;

		line_run(&conn, (const char *)data + start, len);
		start += len + 1;
	}

	if (!conn.closing && size - start > LINE_MAX_BYTES) {
		conn.replies = 0;
		cmd_error(&conn, EINVAL, "line too long");
		CHECK(conn.replies == 1 && reply_code(&conn, "EINVAL"));
	}

	/* the core hangs up: every call and leg goes */
	hash_flush(conn.calls);
	mem_deref(conn.calls);
	mem_deref(conn.reply);

	CHECK(call_count() == 0);
	CHECK(leg_count() == 0);
	CHECK(lowest_free_fd() == fd_free);

	return 0;
}
