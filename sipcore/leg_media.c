/**
 * @file leg_media.c  Prompts, tones and recordings on a leg: the call
 *                    engine's media API, over the leg's relay
 *
 * A leg an app answered is bound to its place at the relay: the call
 * there and the relay leg facing its party. With leg_answer_media the
 * leg gets a relay call of its own, whose other leg ("b") faces nobody
 * (the engine answers for it, sdp_local.c), and whose events come here:
 * keys, prompts ended, RTP timeout (the leg ends), the relay lost; in a
 * mixer it is a leg of the mixer's call (mixer.c). leg_play, leg_tone
 * and leg_record ask the relay; what ends them reaches the owner's
 * handler once (media_side.c). A leg that goes away takes its handlers
 * with it, unheard.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "legmedia"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** A leg's place at the relay */
struct leg_media {
	struct leg *leg;        /**< The leg (it holds us)            */
	struct relay_call *rc;  /**< The call's relay (ref)           */
	char *rid;              /**< The call's id there              */
	char *name;             /**< The relay leg facing the party   */
	bool own;               /**< The relay call is the leg's own  */
	struct media_answer *ans; /**< Answering it (own call)        */
	leg_media_h *answerh;   /**< Answered (leg_answer_media)      */
	void *answer_arg;       /**< Its argument                     */
	struct media_side play; /**< Prompt or tone                   */
	struct media_side rec;  /**< Recording                        */
};

static uint32_t next_rid;         /**< Own relay calls made          */


static void destructor(void *arg)
{
	struct leg_media *m = arg;

	media_side_reset(&m->play);
	media_side_reset(&m->rec);
	mem_deref(m->ans);

	/* the relay frees an own call's legs (and ends its recording) */
	if (m->own && m->rc)
		(void)relay_request(m->rc, NULL, NULL, NULL,
				    "\"command\":\"delete\",\"call\":\"%s\"",
				    m->rid);
	mem_deref(m->rc);
	mem_deref(m->rid);
	mem_deref(m->name);
}


static struct media_target target(const struct leg_media *m)
{
	struct media_target t = {m->rc, m->rid, "leg", m->name};

	return t;
}


/**
 * Bind a leg to its place at the relay (leg_answer_media, mixer.c)
 *
 * @param leg  Leg
 * @param rc   Its call's relay (NULL: set by the caller, then)
 * @param rid  The call's id at the relay
 * @param name The relay leg facing its party
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_media_bind(struct leg *leg, struct relay_call *rc, const char *rid,
		   const char *name)
{
	struct leg_media *m;
	int err;

	if (!leg || !rid || !name)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;

	m->leg = leg;
	m->rc = mem_ref(rc);
	media_side_init(&m->play, leg, false);
	media_side_init(&m->rec, leg, false);
	err  = str_dup(&m->rid, rid);
	err |= str_dup(&m->name, name);
	if (err) {
		mem_deref(m);
		return ENOMEM;
	}

	leg_set_media(leg, m);

	return 0;
}


/* answered, or not: the owner hears it */
static void answered_handler(int err, void *arg)
{
	struct leg_media *m = arg;
	leg_media_h *h = m->answerh;

	m->answerh = NULL;
	m->ans = mem_deref(m->ans);

	if (h)
		h(m->leg, err, 0, m->answer_arg);
}


static void own_event_handler(const char *event, const struct odict *msg,
			      void *arg)
{
	struct leg_media *m = arg;
	char digit;

	if (!str_cmp(event, "dtmf")) {
		digit = relay_event_digit(msg);
		if (digit)
			leg_dtmf(m->leg, digit);
	}
	else if (!str_cmp(event, "timeout") &&
		 !str_cmp(odict_string(msg, "leg"), m->name)) {
		DEBUG_NOTICE("%s: no media: hanging up\n",
			     leg_callid(m->leg));
		leg_end(m->leg, 408, "RTP timeout");
	}
	else {
		leg_media_event(m->leg, event, msg);
	}
}


static void own_down_handler(void *arg)
{
	struct leg_media *m = arg;

	m->rc = mem_deref(m->rc);
	leg_end(m->leg, 503, "Media Relay Failed");
}


/**
 * Answer an incoming leg with its media on a relay, facing the engine
 * (apps: prompts, recordings, digits). The party's codec is taken as it
 * offered it (nothing to transcode).
 *
 * @param leg     Incoming leg, not answered yet
 * @param answerh Told when it is answered (err 0), or why not: then
 *                the owner hangs it up
 * @param arg     Handler argument
 *
 * @return 0 if answering, ENOTCONN if no relay is ready, otherwise
 *         errorcode
 */
int leg_answer_media(struct leg *leg, leg_media_h *answerh, void *arg)
{
	struct leg_media *m;
	char rid[24];
	int err;

	if (!leg || leg_state(leg) == LEG_ANSWERED ||
	    leg_state(leg) == LEG_CLOSED || !leg_remote_sdp(leg))
		return EINVAL;

	(void)re_snprintf(rid, sizeof(rid), "m%u", ++next_rid);
	err = leg_media_bind(leg, NULL, rid, "a");
	if (err)
		return err;

	m = leg_media(leg);
	err = relay_attach(&m->rc, rid, own_event_handler, own_down_handler,
			   m);
	if (err)
		goto out;

	m->own = true;
	m->answerh = answerh;
	m->answer_arg = arg;
	err = media_answer(&m->ans, m->rc, rid, "a", "b", leg,
			   answered_handler, m);

 out:
	if (err)
		leg_set_media(leg, NULL);

	return err;
}


/* a play or a tone, in place of what plays */
static int play_start(struct leg *leg, bool tone, const char *what,
		      bool loop, leg_media_h *endh, void *arg)
{
	struct leg_media *m = leg_media(leg);
	union media_h h = {.leg = endh};
	struct media_target t;

	if (!m)
		return ENOTCONN;

	t = target(m);

	return media_side_play(&m->play, &t, tone, what, loop, h, arg);
}


/**
 * Play a WAV file to a leg's party, in place of what its peer sends
 *
 * @param leg  Leg, answered, its media on the relay
 * @param file WAV file (absolute: the relay reads it)
 * @param loop Start again at its end, until stopped
 * @param endh Told when it ended (not when looping), or NULL
 * @param arg  Handler argument
 *
 * @return 0 if asked for, ENOTCONN without media on the relay,
 *         otherwise errorcode
 */
int leg_play(struct leg *leg, const char *file, bool loop,
	     leg_media_h *endh, void *arg)
{
	return play_start(leg, false, file, loop, endh, arg);
}


/**
 * Play a tone to a leg's party: "beep" (ends by itself), "ringback",
 * "busy", "congestion", "callwaiting" (until stopped)
 *
 * @param leg  Leg, answered, its media on the relay
 * @param tone Its name
 * @param endh Told when it ended, or NULL
 * @param arg  Handler argument
 *
 * @return 0 if asked for, ENOTCONN without media on the relay,
 *         otherwise errorcode
 */
int leg_tone(struct leg *leg, const char *tone, leg_media_h *endh,
	     void *arg)
{
	return play_start(leg, true, tone, false, endh, arg);
}


/**
 * Stop what plays to a leg's party (its owner hears ECANCELED)
 *
 * @param leg Leg
 *
 * @return 0 if success, ENOENT if nothing plays, otherwise errorcode
 */
int leg_stop(struct leg *leg)
{
	struct leg_media *m = leg_media(leg);
	struct media_target t;

	if (!m)
		return ENOTCONN;

	t = target(m);

	return media_side_stop(&m->play, &t);
}


/**
 * Record what a leg's party sends to a WAV file (16-bit mono, at the
 * rate of its codec), until leg_record_stop or the call's end
 *
 * @param leg  Leg, answered, its media on the relay
 * @param file WAV file to make (absolute: the relay writes it)
 * @param endh Told when it ended, with its length, or NULL
 * @param arg  Handler argument
 *
 * @return 0 if asked for, EALREADY if the leg is being recorded,
 *         ENOTCONN without media on the relay, otherwise errorcode
 */
int leg_record(struct leg *leg, const char *file, leg_media_h *endh,
	       void *arg)
{
	struct leg_media *m = leg_media(leg);
	union media_h h = {.leg = endh};
	struct media_target t;

	if (!m)
		return ENOTCONN;

	t = target(m);

	return media_side_record(&m->rec, &t, file, h, arg);
}


/**
 * End a leg's recording: its owner hears of it, with the length, once
 * the file is in place
 *
 * @param leg Leg
 *
 * @return 0 if asked for, ENOENT if it is not being recorded,
 *         otherwise errorcode
 */
int leg_record_stop(struct leg *leg)
{
	struct leg_media *m = leg_media(leg);
	struct media_target t;

	if (!m)
		return ENOTCONN;

	t = target(m);

	return media_side_record_stop(&m->rec, &t);
}


/**
 * A played or recorded event of the relay for a leg (mixer.c)
 *
 * @param leg   Leg
 * @param event "played" or "recorded"
 * @param msg   The event
 */
void leg_media_event(struct leg *leg, const char *event,
		     const struct odict *msg)
{
	struct leg_media *m = leg_media(leg);

	if (m && !str_cmp(event, "played"))
		media_side_played(&m->play, msg);
	else if (m && !str_cmp(event, "recorded"))
		media_side_recorded(&m->rec, msg);
}


/**
 * @param leg Leg
 *
 * @return The id of the relay call its media is in, NULL if none
 */
const char *leg_media_rid(const struct leg *leg)
{
	const struct leg_media *m = leg_media(leg);

	return m ? m->rid : NULL;
}
