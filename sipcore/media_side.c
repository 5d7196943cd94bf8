/**
 * @file media_side.c  What plays, and what records, on a leg or a
 *                     mixer: the relay's requests, the one in flight
 *                     and the owner's handler, told once
 *
 * A play or tone replaces what plays (ECANCELED to its owner, after the
 * new one is asked for); a stop ends it (ECANCELED); the relay refusing
 * ends it with its error; a played event naming what plays ends it
 * (0: the relay sends none for what a stop or a new play ended, but one
 * may cross a new play on the wire). A recording ends with the reply
 * to record_stop or a recorded event naming its file: 0 and its
 * length, or EIO.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/**
 * Ask the relay to play a file or a tone
 *
 * @param t    Where: a leg or a mixer
 * @param reqp The request (mem_deref drops its reply)
 * @param h    Reply handler
 * @param arg  Its argument
 * @param tone True: what is a tone's name, else a file
 * @param what The file or the tone
 * @param loop A file starts again at its end
 *
 * @return 0 if sent, otherwise errorcode
 */
static int req_play(const struct media_target *t, struct relay_req **reqp,
		    relay_resp_h *h, void *arg, bool tone, const char *what,
		    bool loop)
{
	if (tone)
		return relay_request(t->rc, reqp, h, arg,
				     "\"command\":\"tone\",\"call\":\"%s\","
				     "\"%s\":\"%s\",\"tone\":\"%H\"", t->rid,
				     t->kind, t->name, utf8_encode, what);

	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"play\",\"call\":\"%s\","
			     "\"%s\":\"%s\",\"file\":\"%H\",\"loop\":%s",
			     t->rid, t->kind, t->name, utf8_encode, what,
			     loop ? "true" : "false");
}


/**
 * Ask the relay for a command with no more than its target: stop,
 * record_stop, delete (of a leg pair)
 *
 * @param t       Where: a leg or a mixer
 * @param reqp    The request, or NULL (then it lives until its reply)
 * @param h       Reply handler, or NULL
 * @param arg     Its argument
 * @param command The command
 *
 * @return 0 if sent, otherwise errorcode
 */
int media_req_simple(const struct media_target *t, struct relay_req **reqp,
		     relay_resp_h *h, void *arg, const char *command)
{
	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"%s\",\"call\":\"%s\","
			     "\"%s\":\"%s\"", command, t->rid, t->kind,
			     t->name);
}


/**
 * Ask the relay to record to a file
 *
 * @param t    Where: a leg or a mixer
 * @param reqp The request (mem_deref drops its reply)
 * @param h    Reply handler
 * @param arg  Its argument
 * @param file The WAV file to make
 *
 * @return 0 if sent, otherwise errorcode
 */
static int req_record(const struct media_target *t,
		      struct relay_req **reqp, relay_resp_h *h, void *arg,
		      const char *file)
{
	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"record\",\"call\":\"%s\","
			     "\"%s\":\"%s\",\"file\":\"%H\"", t->rid, t->kind,
			     t->name, utf8_encode, file);
}


/**
 * Does a played event end what plays? A new play may cross the event
 * of the one it replaced: it must name the file or tone playing now.
 *
 * @param msg  The event
 * @param what The file or tone that plays, NULL if none
 *
 * @return True if it ended
 */
static bool played(const struct odict *msg, const char *what)
{
	const char *ended = odict_string(msg, "file");

	if (!ended)
		ended = odict_string(msg, "tone");

	return what && !str_cmp(ended, what);
}


/**
 * The length a recorded event or record_stop reply gives
 *
 * @param msg The event or reply
 * @param ms  Its length out
 *
 * @return 0 if the file is there, EIO if it could not be written,
 *         EPROTO if the length is missing
 */
static int recorded(const struct odict *msg, uint32_t *ms)
{
	uint64_t n = 0;

	*ms = 0;
	if (odict_string(msg, "error"))
		return EIO;

	if (!odict_get_number(msg, &n, "duration_ms"))
		return EPROTO;

	*ms = (uint32_t)n;

	return 0;
}


/**
 * Set whose side it is (once, before use)
 *
 * @param s     Side
 * @param owner The leg, or the mixer, its handlers get
 * @param mixer True if owner is a mixer
 */
void media_side_init(struct media_side *s, void *owner, bool mixer)
{
	memset(s, 0, sizeof(*s));
	s->owner = owner;
	s->mixer = mixer;
}


/**
 * Forget what the side does, unheard
 *
 * @param s Side
 */
void media_side_reset(struct media_side *s)
{
	s->req = mem_deref(s->req);
	s->what = mem_deref(s->what);
	memset(&s->h, 0, sizeof(s->h));
	s->arg = NULL;
}


static void call_handler(const struct media_side *s, union media_h h,
			 void *arg, int err, uint32_t ms)
{
	if (s->mixer && h.mixer)
		h.mixer(s->owner, err, ms, arg);
	else if (!s->mixer && h.leg)
		h.leg(s->owner, err, ms, arg);
}


/* over: the owner hears it, once; its handler may start the next */
static void side_end(struct media_side *s, int err, uint32_t ms)
{
	union media_h h = s->h;
	void *arg = s->arg;

	media_side_reset(s);
	call_handler(s, h, arg, err, ms);
}


static void play_resp_handler(int err, const struct odict *reply,
			      void *arg)
{
	struct media_side *s = arg;
	(void)reply;

	s->req = mem_deref(s->req);

	if (err)
		side_end(s, err, 0);
}


/**
 * Play a file or a tone, in place of what plays
 *
 * @param s    Side
 * @param t    Where at the relay
 * @param tone True: what is a tone's name, else a file
 * @param what The file or the tone
 * @param loop A file starts again at its end
 * @param h    Told when it ended, or none
 * @param arg  Handler argument
 *
 * @return 0 if asked for, otherwise errorcode (what played goes on)
 */
int media_side_play(struct media_side *s, const struct media_target *t,
		    bool tone, const char *what, bool loop, union media_h h,
		    void *arg)
{
	struct media_side old = *s;
	int err;

	if (!str_isset(what))
		return EINVAL;

	s->req = NULL;
	s->what = NULL;
	err = str_dup(&s->what, what);
	if (!err)
		err = req_play(t, &s->req, play_resp_handler, s, tone,
				     what, loop);
	if (err) {
		mem_deref(s->what);
		*s = old;
		return err;
	}

	s->h = h;
	s->arg = arg;

	mem_deref(old.req);
	mem_deref(old.what);
	call_handler(&old, old.h, old.arg, ECANCELED, 0);

	return 0;
}


/**
 * Stop what plays (its owner hears ECANCELED)
 *
 * @param s Side
 * @param t Where at the relay
 *
 * @return 0 if success, ENOENT if nothing plays, otherwise errorcode
 */
int media_side_stop(struct media_side *s, const struct media_target *t)
{
	int err;

	if (!s->what)
		return ENOENT;

	err = media_req_simple(t, NULL, NULL, NULL, "stop");
	side_end(s, ECANCELED, 0);

	return err;
}


/* the reply to record (nothing, or an error) or to record_stop (the
 * file and its length) */
static void rec_resp_handler(int err, const struct odict *reply, void *arg)
{
	struct media_side *s = arg;
	uint32_t ms = 0;

	s->req = mem_deref(s->req);

	if (!err) {
		err = recorded(reply, &ms);
		if (err == EPROTO)
			return;
	}

	side_end(s, err, ms);
}


/**
 * Record to a file
 *
 * @param s    Side
 * @param t    Where at the relay
 * @param file The WAV file to make
 * @param h    Told when it ended, or none
 * @param arg  Handler argument
 *
 * @return 0 if asked for, EALREADY if it records, otherwise errorcode
 */
int media_side_record(struct media_side *s, const struct media_target *t,
		      const char *file, union media_h h, void *arg)
{
	int err;

	if (!str_isset(file))
		return EINVAL;

	if (s->what)
		return EALREADY;

	err = str_dup(&s->what, file);
	if (!err)
		err = req_record(t, &s->req, rec_resp_handler, s, file);
	if (err) {
		media_side_reset(s);
		return err;
	}

	s->h = h;
	s->arg = arg;

	return 0;
}


/**
 * End the recording: its owner hears of it once the file is in place
 *
 * @param s Side
 * @param t Where at the relay
 *
 * @return 0 if asked for, ENOENT if it does not record
 */
int media_side_record_stop(struct media_side *s,
			   const struct media_target *t)
{
	if (!s->what)
		return ENOENT;

	/* the record request's own reply is of no interest any more */
	s->req = mem_deref(s->req);

	return media_req_simple(t, &s->req, rec_resp_handler, s,
				"record_stop");
}


/**
 * A played event for the side's leg or mixer
 *
 * @param s   Side that plays
 * @param msg The event
 */
void media_side_played(struct media_side *s, const struct odict *msg)
{
	if (played(msg, s->what))
		side_end(s, 0, 0);
}


/**
 * A recorded event for the side's leg or mixer
 *
 * @param s   Side that records
 * @param msg The event
 */
void media_side_recorded(struct media_side *s, const struct odict *msg)
{
	uint32_t ms;
	int err;

	if (!s->what || str_cmp(odict_string(msg, "file"), s->what))
		return;

	err = recorded(msg, &ms);
	side_end(s, err, ms);
}
