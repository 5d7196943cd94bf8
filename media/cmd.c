/**
 * @file cmd.c  Control commands: one table, and their handlers
 *
 * RELAY_COMMANDS is the only definition of the commands: the enum, the
 * names on the wire, the handlers and whether hello must come first are
 * all made from it (docs/relay-protocol.md lists the same). Each
 * handler gets the request and a reply already holding "id" and
 * "result":"ok"; it adds its members, or returns an errno code with a
 * message in rq->error, and an error reply is sent instead.
 *
 * Control thread only.
 */
#include <string.h>
#include <re.h>
#include "relay.h"
#include "tone.h"
#include "wav.h"

#define DEBUG_MODULE "cmd"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** A request being answered */
struct req {
	struct conn *conn;        /**< Connection it came on          */
	const struct odict *msg;  /**< The request                    */
	struct odict *reply;      /**< Reply members so far           */
	char error[192];          /**< Why it failed                  */
	bool close;               /**< Close the connection after     */
};

typedef int (cmd_h)(struct req *rq);

/*     enum    wire name  handler      needs hello */
#define RELAY_COMMANDS(X)					\
	X(HELLO,  "hello",  cmd_hello,  false)			\
	X(OFFER,  "offer",  cmd_offer,  true)			\
	X(ANSWER, "answer", cmd_answer, true)			\
	X(DELETE, "delete", cmd_delete, true)			\
	X(QUERY,  "query",  cmd_query,  true)			\
	X(STATS,  "stats",  cmd_stats,  true)			\
	X(PING,   "ping",   cmd_ping,   true)			\
	X(PLAY,   "play",   cmd_play,   true)			\
	X(TONE,   "tone",   cmd_tone,   true)			\
	X(STOP,   "stop",   cmd_stop,   true)			\
	X(RECORD, "record", cmd_record, true)			\
	X(RECORD_STOP, "record_stop", cmd_record_stop, true)	\
	X(MIX,    "mix",    cmd_mix,    true)			\
	X(UNMIX,  "unmix",  cmd_unmix,  true)			\
	X(JOIN,   "join",   cmd_join,   true)			\
	X(LEAVE,  "leave",  cmd_leave,  true)

#define CMD_ENUM(e, name, h, hello)   CMD_##e,
#define CMD_DECL(e, name, h, hello)   static cmd_h h;
#define CMD_ENTRY(e, name, h, hello)  [CMD_##e] = {name, h, hello},

enum cmd_id { RELAY_COMMANDS(CMD_ENUM) CMD_COUNT };

RELAY_COMMANDS(CMD_DECL)

static const struct cmd {
	const char *name;         /**< Name on the wire               */
	cmd_h *h;                 /**< Handler                        */
	bool hello;               /**< Only after hello               */
} cmdv[CMD_COUNT] = { RELAY_COMMANDS(CMD_ENTRY) };


/* files are played and recorded under it, without its trailing slash
 * ("": anywhere) */
static char media_root[FILE_NAME_MAX + 1];


/* the codes of docs/relay-protocol.md, and what other errors become */
static const struct {
	int err;
	const char *code;
} codev[] = {
	{EINVAL, "EINVAL"}, {ENOENT, "ENOENT"}, {EEXIST, "EEXIST"},
	{ENOMEM, "ENOMEM"}, {EADDRINUSE, "EADDRINUSE"}, {EPROTO, "EPROTO"},
	{ENOTSUP, "ENOTSUP"}, {EACCES, "EACCES"},
	{EMFILE, "ENOMEM"}, {ENFILE, "ENOMEM"}, {ENOBUFS, "ENOMEM"},
};


static const char *code_name(int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codev); i++) {
		if (codev[i].err == err)
			return codev[i].code;
	}

	return "EPROTO";
}


static int fail(struct req *rq, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(rq->error, sizeof(rq->error), fmt, ap);
	va_end(ap);

	return err;
}


static int get_str(struct req *rq, const char *key, size_t max,
		   const char **vp)
{
	const struct odict_entry *e = odict_lookup(rq->msg, key);

	if (!e)
		return fail(rq, EINVAL, "missing '%s'", key);

	if (e->type != ODICT_STRING || !str_isset(e->u.str) ||
	    (max && strlen(e->u.str) > max))
		return fail(rq, EINVAL, "bad '%s'", key);

	*vp = e->u.str;

	return 0;
}


/* the members offer and answer share, checked */
struct media_req {
	const char *call;         /**< Call name                      */
	const char *from;         /**< Leg facing the sender          */
	const char *to;           /**< Leg facing the other party     */
	const char *sdp;          /**< Sender's description           */
	struct sa source;         /**< Sender's signalling IP         */
	struct sdptext st;        /**< What the description says      */
	enum srtp_mode srtp;      /**< Offer: SRTP toward the answerer */
};


/* "srtp": "off", "optional" or "required"; absent: as the offerer */
static int srtp_get(struct req *rq, enum srtp_mode *mode)
{
	static const char *namev[] = {
		[SRTP_OFF] = "off", [SRTP_OPTIONAL] = "optional",
		[SRTP_REQUIRED] = "required",
	};
	const struct odict_entry *e = odict_lookup(rq->msg, "srtp");
	size_t i;

	*mode = SRTP_MIRROR;
	if (!e)
		return 0;

	for (i = SRTP_OFF; e->type == ODICT_STRING && i < ARRAY_SIZE(namev);
	     i++) {
		if (!strcmp(e->u.str, namev[i])) {
			*mode = (enum srtp_mode)i;
			return 0;
		}
	}

	return fail(rq, EINVAL, "bad 'srtp': off, optional or required");
}


static int media_req_get(struct req *rq, struct media_req *m)
{
	const struct sa *local = ports_addr();
	const char *source;
	int err;

	err = get_str(rq, "call", CALL_NAME_MAX, &m->call);
	err = err ? err : get_str(rq, "from", LEG_NAME_MAX, &m->from);
	err = err ? err : get_str(rq, "to", LEG_NAME_MAX, &m->to);
	err = err ? err : get_str(rq, "source", 0, &source);
	err = err ? err : get_str(rq, "sdp", 0, &m->sdp);
	if (err)
		return err;

	if (!strcmp(m->from, m->to))
		return fail(rq, EINVAL, "bad 'to': same as 'from'");

	err = srtp_get(rq, &m->srtp);
	if (err)
		return err;

	if (sa_set_str(&m->source, source, 0) || sa_is_any(&m->source))
		return fail(rq, EINVAL, "bad 'source': not an IP address");

	if (sdptext_parse(&m->st, m->sdp, strlen(m->sdp)))
		return fail(rq, EINVAL, "bad 'sdp': no audio stream with"
			    " an IP address and port");

	if (sa_af(&m->source) != sa_af(local))
		return fail(rq, ENOTSUP, "'source' is IPv%d, the relay"
			    " IPv%d", sa_af(&m->source) == AF_INET6 ? 6 : 4,
			    sa_af(local) == AF_INET6 ? 6 : 4);

	if (sa_port(&m->st.rtp) && sa_af(&m->st.rtp) != sa_af(local))
		return fail(rq, ENOTSUP, "'sdp' address family differs"
			    " from the relay's");

	return 0;
}


/* the description to send on, through session.c, as the reply's "sdp" */
static int sdp_reply(struct req *rq, const struct media_req *m,
		     struct leg *from, struct leg *to, bool offer)
{
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(strlen(m->sdp) + 256);
	if (!mb)
		return ENOMEM;

	if (offer)
		err = session_offer(from, to, m->sdp, m->srtp, mb);
	else
		err = session_answer(from, to, m->sdp, sa_port(&m->st.rtp),
				     mb);
	err = err ? err : mbuf_write_u8(mb, 0);
	err = err ? err : odict_entry_add(rq->reply, "sdp", ODICT_STRING,
					  (const char *)mb->buf);

	mem_deref(mb);

	return err;
}


static int cmd_hello(struct req *rq)
{
	const struct odict_entry *e;

	e = odict_get_type(rq->msg, ODICT_INT, "protocol");
	if (!e)
		return fail(rq, EINVAL, "missing 'protocol'");

	if (e->u.integer != RELAY_PROTOCOL) {
		rq->close = true;
		return fail(rq, EPROTO, "protocol %lld not supported (%d)",
			    (long long)e->u.integer, RELAY_PROTOCOL);
	}

	conn_hello_set(rq->conn);

	return 0;
}


static int cmd_offer(struct req *rq)
{
	struct leg *a, *b, *new_a = NULL, *new_b = NULL;
	struct call *call;
	struct media_req m;
	bool created = false;
	int err;

	err = media_req_get(rq, &m);
	if (err)
		return err;

	call = call_find(conn_calls(rq->conn), m.call);
	if (!call) {
		err = call_alloc(&call, conn_calls(rq->conn), m.call,
				 rq->conn);
		if (err)
			return err;
		created = true;
	}

	/* a re-offer finds its legs; a new one makes them */
	a = call_leg(call, m.from);
	if (!a) {
		err = call_leg_add(call, m.from, &a);
		new_a = err ? NULL : a;
	}
	b = call_leg(call, m.to);
	if (!err && !b) {
		err = call_leg_add(call, m.to, &b);
		new_b = err ? NULL : b;
	}

	if (!err)
		err = sdp_reply(rq, &m, a, b, true);

	if (err) {
		if (created) {
			mem_deref(call);
		}
		else {
			leg_release(new_a);
			leg_release(new_b);
		}

		if (err == EADDRINUSE)
			return fail(rq, err, "no free port pair");
		if (err == ENOTSUP)
			return fail(rq, err, "offer needs SRTP with a key"
				    " suite the relay does not support");
		return fail(rq, err, "%m", err);
	}

	leg_set_remote(a, &m.source, &m.st);
	leg_bridge(a, b);

	return 0;
}


static int cmd_answer(struct req *rq)
{
	struct leg *a, *b;
	struct call *call;
	struct media_req m;
	int err;

	err = media_req_get(rq, &m);
	if (err)
		return err;

	call = call_find(conn_calls(rq->conn), m.call);
	if (!call)
		return fail(rq, ENOENT, "no call '%s'", m.call);

	a = call_leg(call, m.from);
	if (!a)
		return fail(rq, ENOENT, "no leg '%s' in call '%s'", m.from,
			    m.call);

	b = call_leg(call, m.to);
	if (!b)
		return fail(rq, ENOENT, "no leg '%s' in call '%s'", m.to,
			    m.call);

	err = sdp_reply(rq, &m, a, b, false);
	if (err == ENOTSUP)
		return fail(rq, err, "answer picks a format or key nobody"
			    " offered");
	if (err)
		return fail(rq, err, "%m", err);

	leg_set_remote(a, &m.source, &m.st);
	leg_bridge(a, b);

	/* a leg in a mixer stays there, in the codec chosen now */
	(void)mixer_update(a);
	(void)mixer_update(b);

	return 0;
}


static int call_get(struct req *rq, struct call **callp)
{
	const char *name;
	int err;

	err = get_str(rq, "call", CALL_NAME_MAX, &name);
	if (err)
		return err;

	*callp = call_find(conn_calls(rq->conn), name);
	if (!*callp)
		return fail(rq, ENOENT, "no call '%s'", name);

	return 0;
}


/* a recording of a leg (leg) or a mixer (m) that ends with it: the
 * core is told before the reply, with the file's duration */
static void rec_end(struct leg *leg, struct mixer *m)
{
	struct rec *r = m ? mixer_rec_take(m) : leg_rec_take(leg);
	uint64_t ms = 0;
	int err;

	if (!r)
		return;

	err = rec_close(r, &ms);
	if (m)
		event_mixer_recorded(m, rec_file(r), ms, err);
	else
		event_recorded(leg, rec_file(r), ms, err);
	mem_deref(r);
}


static bool leg_rec_end(struct leg *leg, void *arg)
{
	(void)arg;

	rec_end(leg, NULL);

	return false;
}


static int leg_get(struct req *rq, struct leg **legp);


/* delete with "leg": that leg and the one bridged to it (the pair its
 * offer made) go, out of their mixer, recordings ended; the call, its
 * other legs and its mixers stay (a call left with neither goes) */
static int pair_delete(struct req *rq)
{
	struct odict *arr = NULL, *lo = NULL;
	struct leg *legv[2];
	struct call *call;
	unsigned i, n = 0;
	int err;

	err = leg_get(rq, &legv[0]);
	if (err)
		return err;

	call = legv[0]->call;

	/* only the control thread writes peer */
	legv[1] = legv[0]->peer;

	err = odict_alloc(&arr, 2);
	for (i = 0; i < ARRAY_SIZE(legv) && legv[i] && !err; i++, n++) {
		char key[4];

		if (leg_mixer(legv[i]))
			(void)mixer_leave(legv[i]);
		rec_end(legv[i], NULL);

		(void)re_snprintf(key, sizeof(key), "%u", i);
		err = odict_alloc(&lo, 16);
		err = err ? err : leg_encode(lo, legv[i]);
		err = err ? err : odict_entry_add(arr, key, ODICT_OBJECT, lo);
		lo = mem_deref(lo);
	}

	if (!err)
		err = odict_entry_add(rq->reply, "legs", ODICT_ARRAY, arr);
	mem_deref(arr);

	for (i = 0; i < n; i++)
		leg_release(legv[i]);

	if (call_empty(call))
		mem_deref(call);

	return err;
}


static int cmd_delete(struct req *rq)
{
	struct call *call;
	struct le *le;
	int err;

	if (odict_lookup(rq->msg, "leg"))
		return pair_delete(rq);

	err = call_get(rq, &call);
	if (err)
		return err;

	(void)call_leg_apply(call, leg_rec_end, NULL);
	for (le = list_head(call_mixers(call)); le; le = le->next)
		rec_end(NULL, le->data);

	/* the last word on each leg: its counters and quality */
	err = call_encode_legs(rq->reply, call);
	mem_deref(call);

	return err;
}


static int cmd_query(struct req *rq)
{
	struct call *call;
	int err;

	err = call_get(rq, &call);
	err = err ? err : call_encode_legs(rq->reply, call);

	return err ? err : mixers_encode(rq->reply, call);
}


static int cmd_stats(struct req *rq)
{
	uint64_t packets, dropped;
	int err;

	workers_totals(&packets, &dropped);

	err  = odict_entry_add(rq->reply, "calls", ODICT_INT,
			       (int64_t)call_count());
	err |= odict_entry_add(rq->reply, "legs", ODICT_INT,
			       (int64_t)leg_count());
	err |= odict_entry_add(rq->reply, "packets", ODICT_INT,
			       (int64_t)packets);
	err |= odict_entry_add(rq->reply, "dropped", ODICT_INT,
			       (int64_t)dropped);

	return err;
}


static int cmd_ping(struct req *rq)
{
	(void)rq;

	return 0;
}


/* the call and leg a request names */
static int leg_get(struct req *rq, struct leg **legp)
{
	struct call *call;
	const char *name;
	int err;

	err = call_get(rq, &call);
	err = err ? err : get_str(rq, "leg", LEG_NAME_MAX, &name);
	if (err)
		return err;

	*legp = call_leg(call, name);
	if (!*legp)
		return fail(rq, ENOENT, "no leg '%s' in call '%s'", name,
			    call_name(call));

	return 0;
}


/* the mixer "mixer" of a call */
static int mixer_get(struct req *rq, struct call *call, struct mixer **mp)
{
	const char *name;
	int err;

	err = get_str(rq, "mixer", LEG_NAME_MAX, &name);
	if (err)
		return err;

	*mp = mixer_find(call, name);
	if (!*mp)
		return fail(rq, ENOENT, "no mixer '%s' in call '%s'", name,
			    call_name(call));

	return 0;
}


/** What play, tone, stop, record and record_stop act on */
struct target {
	struct leg *leg;          /**< The leg "leg", or NULL         */
	struct mixer *mixer;      /**< ... the mixer "mixer"          */
};


/* the call's leg or mixer the request names (one of them) */
static int target_get(struct req *rq, struct target *t)
{
	struct call *call;
	int err;

	memset(t, 0, sizeof(*t));

	if (!odict_lookup(rq->msg, "mixer"))
		return leg_get(rq, &t->leg);

	err = call_get(rq, &call);
	if (err)
		return err;

	if (odict_lookup(rq->msg, "leg"))
		return fail(rq, EINVAL, "bad 'mixer': with 'leg' (name"
			    " one of them)");

	return mixer_get(rq, call, &t->mixer);
}


/* "leg 'a'" or "mixer 'm'" in a message */
static const char *target_kind(const struct target *t)
{
	return t->mixer ? "mixer" : "leg";
}


static const char *target_name(const struct target *t)
{
	return t->mixer ? mixer_name(t->mixer) : t->leg->name;
}


/* the codec a player or recorder on the leg uses */
static int codec_get(struct req *rq, const struct leg *leg,
		     struct legcodec *lc)
{
	if (leg_codec(lc, leg))
		return fail(rq, ENOTSUP, "leg '%s' has no codec of the"
			    " relay's (no answer yet, or one relayed as is"
			    " that the relay does not have)", leg->name);

	return 0;
}


/**
 * Set the directory that played and recorded files must be under
 *
 * @param dir Absolute path; "/" allows any file
 *
 * @return 0 if success, otherwise errorcode
 */
int cmd_media_root(const char *dir)
{
	size_t len = str_len(dir);

	if (!len || dir[0] != '/' || strstr(dir, "..") ||
	    len >= sizeof(media_root))
		return EINVAL;

	/* kept without its trailing slashes: "/" becomes "" */
	while (len && dir[len - 1] == '/')
		--len;

	memcpy(media_root, dir, len);
	media_root[len] = '\0';

	return 0;
}


/* "file": an absolute path without ".." in it, under the media root
 * (the core names files in its own directories; a path climbing out of
 * them is refused) */
static int file_get(struct req *rq, const char **filep)
{
	size_t rlen = strlen(media_root);
	int err;

	err = get_str(rq, "file", FILE_NAME_MAX, filep);
	if (err)
		return err;

	if ((*filep)[0] != '/')
		return fail(rq, EINVAL, "bad 'file': not an absolute path");

	if (strstr(*filep, ".."))
		return fail(rq, EINVAL, "bad 'file': '..' in it");

	if (strncmp(*filep, media_root, rlen) || (*filep)[rlen] != '/')
		return fail(rq, EACCES, "bad 'file': not under %s/",
			    media_root);

	return 0;
}


/* an optional boolean member */
static int bool_get(struct req *rq, const char *key, bool *vp)
{
	const struct odict_entry *e = odict_lookup(rq->msg, key);

	if (!e)
		return 0;

	if (e->type != ODICT_BOOL)
		return fail(rq, EINVAL, "bad '%s': not true or false", key);

	*vp = e->u.boolean;

	return 0;
}


/* a WAV file that cannot be played: ENOENT if it cannot be read,
 * EINVAL if it is not what the relay plays */
static int file_fail(struct req *rq, int err, const char *file)
{
	switch (err) {

	case ENOMEM:
		return fail(rq, err, "%m", err);

	case EBADMSG:
		return fail(rq, EINVAL, "bad 'file': '%s' is not a WAV"
			    " file", file);

	case ENOTSUP:
		return fail(rq, EINVAL, "bad 'file': '%s' is not 16-bit"
			    " PCM mono at 8, 16 or 48 kHz", file);

	case EFBIG:
		return fail(rq, EINVAL, "bad 'file': '%s' is over %u bytes",
			    file, (unsigned)WAV_FILE_MAX);

	case EINVAL:
		return fail(rq, EINVAL, "bad 'file': '%s' is not a regular"
			    " file", file);

	default:
		return fail(rq, ENOENT, "cannot read '%s': %m", file, err);
	}
}


/* a made player on what it was made for */
static void target_play(const struct target *t, struct play *p)
{
	if (t->mixer)
		mixer_play(t->mixer, p);
	else
		leg_play(t->leg, p);
}


static int cmd_play(struct req *rq)
{
	struct play *p = NULL;
	struct legcodec lc;
	struct target t;
	const char *file;
	bool loop = false;
	int err;

	err = target_get(rq, &t);
	err = err ? err : file_get(rq, &file);
	err = err ? err : bool_get(rq, "loop", &loop);
	if (!err && t.leg)
		err = codec_get(rq, t.leg, &lc);
	if (err)
		return err;

	if (t.mixer)
		err = play_file_pcm(&p, mixer_srate(t.mixer), file, loop);
	else
		err = play_file(&p, &lc, file, loop);
	if (err)
		return file_fail(rq, err, file);

	target_play(&t, p);
	mem_deref(p);

	return 0;
}


static int cmd_tone(struct req *rq)
{
	const char *name, *set = "us";
	enum tone_kind kind;
	struct play *p = NULL;
	struct legcodec lc;
	struct target t;
	int err;

	err = target_get(rq, &t);
	err = err ? err : get_str(rq, "tone", 32, &name);
	if (!err && odict_lookup(rq->msg, "set"))
		err = get_str(rq, "set", 8, &set);
	if (err)
		return err;

	if (tone_kind_find(&kind, name))
		return fail(rq, EINVAL, "bad 'tone': ringback, busy,"
			    " congestion, beep, callwaiting or sine");

	if (t.leg) {
		err = codec_get(rq, t.leg, &lc);
		err = err ? err : play_tone(&p, &lc, set, kind);
	}
	else {
		err = play_tone_pcm(&p, mixer_srate(t.mixer), set, kind);
	}
	if (err == ENOENT)
		return fail(rq, EINVAL, "bad 'set': us or eu");
	if (err)
		return rq->error[0] ? err : fail(rq, err, "%m", err);

	target_play(&t, p);
	mem_deref(p);

	return 0;
}


static int cmd_stop(struct req *rq)
{
	struct target t;
	bool stopped;
	int err;

	err = target_get(rq, &t);
	if (err)
		return err;

	stopped = t.mixer ? mixer_play_stop(t.mixer) : leg_play_stop(t.leg);

	return odict_entry_add(rq->reply, "stopped", ODICT_BOOL, stopped);
}


static int cmd_record(struct req *rq)
{
	const struct rec *cur;
	struct rec *r = NULL;
	struct legcodec lc;
	struct target t;
	const char *file;
	int err;

	err = target_get(rq, &t);
	err = err ? err : file_get(rq, &file);
	if (err)
		return err;

	cur = t.mixer ? mixer_recording(t.mixer) : t.leg->rec;
	if (cur)
		return fail(rq, EEXIST, "%s '%s' is recording to '%s'",
			    target_kind(&t), target_name(&t), rec_file(cur));

	if (t.leg) {
		err = codec_get(rq, t.leg, &lc);
		if (err)
			return err;
		err = rec_alloc(&r, &lc, file);
	}
	else {
		err = rec_pcm_alloc(&r, mixer_srate(t.mixer), file);
	}

	if (err == ENOMEM)
		return fail(rq, err, "%m", err);
	if (err == ENOENT || err == ENOTDIR)
		return fail(rq, ENOENT, "cannot make '%s': %m", file, err);
	if (err)
		return fail(rq, EINVAL, "bad 'file': cannot make '%s': %m",
			    file, err);

	if (t.mixer)
		mixer_rec(t.mixer, r);
	else
		leg_rec(t.leg, r);
	mem_deref(r);

	return 0;
}


static int cmd_record_stop(struct req *rq)
{
	struct target t;
	struct rec *r;
	uint64_t ms = 0;
	int err;

	err = target_get(rq, &t);
	if (err)
		return err;

	r = t.mixer ? mixer_rec_take(t.mixer) : leg_rec_take(t.leg);
	if (!r)
		return fail(rq, ENOENT, "%s '%s' is not recording",
			    target_kind(&t), target_name(&t));

	err = rec_close(r, &ms);
	if (err) {
		/* the file is not there: gone as a missing file is */
		err = fail(rq, ENOENT, "recording '%s' lost: %m", rec_file(r),
			   err);
		goto out;
	}

	err  = odict_entry_add(rq->reply, "file", ODICT_STRING, rec_file(r));
	err |= odict_entry_add(rq->reply, "duration_ms", ODICT_INT,
			       (int64_t)ms);

 out:
	mem_deref(r);

	return err;
}


static int cmd_mix(struct req *rq)
{
	const struct odict_entry *e;
	struct mixer *m = NULL;
	struct call *call;
	const char *name;
	uint32_t rate = 8000;
	int err;

	err = call_get(rq, &call);
	err = err ? err : get_str(rq, "mixer", LEG_NAME_MAX, &name);
	if (err)
		return err;

	e = odict_lookup(rq->msg, "rate");
	if (e && (e->type != ODICT_INT ||
		  (e->u.integer != 8000 && e->u.integer != 16000)))
		return fail(rq, EINVAL, "bad 'rate': 8000 or 16000");
	if (e)
		rate = (uint32_t)e->u.integer;

	err = mixer_alloc(&m, call, name, rate);
	if (err == EEXIST)
		return fail(rq, err, "mixer '%s' exists in call '%s'", name,
			    call_name(call));

	return err ? fail(rq, err, "%m", err) : 0;
}


static int cmd_unmix(struct req *rq)
{
	struct mixer *m;
	struct call *call;
	int err;

	err = call_get(rq, &call);
	err = err ? err : mixer_get(rq, call, &m);
	if (err)
		return err;

	/* its recording ends, then its legs leave it; a call of whose
	 * legs all went goes with its last mixer */
	rec_end(NULL, m);
	mem_deref(m);
	if (call_empty(call))
		mem_deref(call);

	return 0;
}


static int cmd_join(struct req *rq)
{
	enum mixer_mode mode = MIXER_BOTH;
	const char *mode_name = NULL;
	struct legcodec lc;
	struct mixer *m;
	struct leg *leg;
	int err;

	err = leg_get(rq, &leg);
	err = err ? err : mixer_get(rq, leg->call, &m);
	if (!err && odict_lookup(rq->msg, "mode"))
		err = get_str(rq, "mode", 16, &mode_name);
	if (err)
		return err;

	if (mode_name && mixer_mode_find(&mode, mode_name))
		return fail(rq, EINVAL, "bad 'mode': both, listen or speak");

	if (leg_mixer(leg))
		return fail(rq, EEXIST, "leg '%s' is in mixer '%s'",
			    leg->name, mixer_name(leg_mixer(leg)));

	err = codec_get(rq, leg, &lc);
	if (err)
		return err;

	err = mixer_join(m, leg, mode);
	if (err == ENOSPC)
		return fail(rq, ENOMEM, "mixer '%s' is full", mixer_name(m));

	return err ? fail(rq, err, "%m", err) : 0;
}


static int cmd_leave(struct req *rq)
{
	struct mixer *m;
	struct leg *leg;
	int err;

	err = leg_get(rq, &leg);
	if (err)
		return err;

	m = leg_mixer(leg);
	if (!m)
		return fail(rq, ENOENT, "leg '%s' is in no mixer", leg->name);

	(void)mixer_leave(leg);

	return odict_entry_add(rq->reply, "mixer", ODICT_STRING,
			       mixer_name(m));
}


static const struct cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < CMD_COUNT; i++) {
		if (!strcmp(cmdv[i].name, name))
			return &cmdv[i];
	}

	return NULL;
}


static void reply_error(struct conn *conn, int64_t id, int err,
			const char *why)
{
	struct odict *o;

	if (odict_alloc(&o, 8))
		return;

	/* a request without a usable id gets a reply without one */
	if (id > 0)
		(void)odict_entry_add(o, "id", ODICT_INT, id);
	(void)odict_entry_add(o, "result", ODICT_STRING, "error");
	(void)odict_entry_add(o, "code", ODICT_STRING, code_name(err));
	(void)odict_entry_add(o, "error", ODICT_STRING, why);
	(void)ctrl_send(conn, o);

	mem_deref(o);
}


static void handle(struct req *rq, int64_t id)
{
	const struct cmd *cmd;
	const char *name;
	int err;

	name = odict_string(rq->msg, "command");
	if (!name) {
		reply_error(rq->conn, id, EINVAL, "missing 'command'");
		return;
	}

	cmd = cmd_find(name);
	if (cmd && cmd->hello && !conn_hello(rq->conn)) {
		reply_error(rq->conn, id, EPROTO, "hello first");
		return;
	}
	if (!cmd) {
		(void)re_snprintf(rq->error, sizeof(rq->error),
				  "unknown command '%s'", name);
		reply_error(rq->conn, id, EPROTO, rq->error);
		return;
	}

	err = odict_alloc(&rq->reply, 16);
	err = err ? err : odict_entry_add(rq->reply, "id", ODICT_INT, id);
	err = err ? err : odict_entry_add(rq->reply, "result", ODICT_STRING,
					  "ok");
	err = err ? err : cmd->h(rq);

	if (err) {
		if (!rq->error[0])
			(void)re_snprintf(rq->error, sizeof(rq->error), "%m",
					  err);
		DEBUG_INFO("%s #%lld: %s\n", name, (long long)id, rq->error);
		reply_error(rq->conn, id, err, rq->error);
	}
	else {
		(void)ctrl_send(rq->conn, rq->reply);
	}

	rq->reply = mem_deref(rq->reply);

	if (rq->close)
		conn_close_after_reply(rq->conn);
}


/**
 * Send an error that answers no request (a line that cannot be read)
 *
 * @param conn Connection
 * @param err  Error code
 * @param why  What was wrong
 */
void cmd_error(struct conn *conn, int err, const char *why)
{
	reply_error(conn, 0, err, why);
}


/**
 * Answer one request line
 *
 * @param conn Connection it came on
 * @param line The line, without its newline
 * @param len  Its length
 */
void cmd_dispatch(struct conn *conn, const char *line, size_t len)
{
	const struct odict_entry *e;
	struct odict *msg = NULL;
	struct req rq;
	int64_t id;

	if (!conn || !line)
		return;

	/* a blank line is no request */
	if (!len || (len == 1 && line[0] == '\r'))
		return;

	/* re's decoder takes a bare value, or nothing, as an empty
	 * object: a request must be an object */
	while (len && (*line == ' ' || *line == '\t')) {
		++line;
		--len;
	}
	if (!len || *line != '{' ||
	    json_decode_odict(&msg, 16, line, len, 8)) {
		reply_error(conn, 0, EINVAL, "not a JSON object");
		goto out;
	}

	e = odict_lookup(msg, "id");
	id = e && e->type == ODICT_INT ? e->u.integer : 0;
	if (id <= 0) {
		reply_error(conn, 0, EINVAL, e ? "bad 'id'" : "missing 'id'");
		goto out;
	}

	memset(&rq, 0, sizeof(rq));
	rq.conn = conn;
	rq.msg = msg;
	handle(&rq, id);

 out:
	mem_deref(msg);
}
