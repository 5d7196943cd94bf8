/**
 * @file mixer.c  Mixers: legs that hear each other (conferences,
 *                paging), the call engine's API over a relay's mixer
 *
 * A mixer is one call at the relay, with one mixer in it ("mix"). Each
 * leg an app answers into it is a pair of relay legs made by the leg's
 * offer (docs/relay-protocol.md, "Conferences and paging"): pN facing
 * the party, joined to the mixer, and pN-m facing nobody. The legs are
 * bound to pN for the media API (prompts to one party, its keys as
 * LEG_EV_DTMF); mixer_play and mixer_record work on the mix itself.
 *
 * A leg that leaves takes its relay leg pair with it (delete of one
 * pair: out of the mix, ports closed).
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "mixer"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum { PART_NAME_MAX = 16 };

/** One leg in a mixer */
struct part {
	struct le le;             /**< In the mixer's list            */
	struct mixer *m;          /**< Its mixer                      */
	struct leg *leg;          /**< The leg (ref)                  */
	char name[PART_NAME_MAX]; /**< Relay leg facing its party     */
	enum mixer_mode mode;     /**< How it takes part              */
	struct media_answer *ans; /**< Being answered                 */
	struct relay_req *req;    /**< Its join                       */
	leg_media_h *h;           /**< Answered and joined, or not    */
	void *arg;                /**< Its argument                   */
};

/** A mixer */
struct mixer {
	struct relay_call *rc;    /**< Its relay call                 */
	char rid[24];             /**< The call's id there            */
	struct list partl;        /**< Legs in it                     */
	uint32_t nparts;          /**< Legs ever answered into it     */
	bool mixed;               /**< "mix" was sent                 */
	struct media_side play;   /**< Prompt or tone to all          */
	struct media_side rec;    /**< Recording of the mix           */
};

static const char * const modev[] = {"both", "listen", "speak"};
static const char mixer_name[] = "room";
static uint32_t next_rid;


static struct media_target target(const struct mixer *m, const char *leg)
{
	struct media_target t = {m->rc, m->rid, leg ? "leg" : "mixer",
				 leg ? leg : mixer_name};

	return t;
}


static void part_destructor(void *arg)
{
	struct part *p = arg;

	list_unlink(&p->le);
	mem_deref(p->ans);
	mem_deref(p->req);

	/* its prompts and keys were through this mixer */
	if (leg_media_rid(p->leg) && !str_cmp(leg_media_rid(p->leg),
					       p->m->rid))
		leg_set_media(p->leg, NULL);
	mem_deref(p->leg);
}


static void destructor(void *arg)
{
	struct mixer *m = arg;

	list_flush(&m->partl);
	media_side_reset(&m->play);
	media_side_reset(&m->rec);

	/* the relay frees the legs and ends the mix's recording */
	if (m->rc)
		(void)relay_request(m->rc, NULL, NULL, NULL,
				    "\"command\":\"delete\",\"call\":\"%s\"",
				    m->rid);
	mem_deref(m->rc);
}


static struct part *part_find(const struct mixer *m, const char *name,
			      const struct leg *leg)
{
	struct le *le;

	for (le = list_head(&m->partl); le; le = le->next) {
		struct part *p = le->data;

		if ((name && !str_cmp(p->name, name)) ||
		    (leg && p->leg == leg))
			return p;
	}

	return NULL;
}


static void event_handler(const char *event, const struct odict *msg,
			  void *arg)
{
	struct mixer *m = arg;
	const char *leg = odict_string(msg, "leg");
	struct part *p = leg ? part_find(m, leg, NULL) : NULL;
	char digit;

	if (p && !str_cmp(event, "dtmf")) {
		digit = relay_event_digit(msg);
		if (digit)
			leg_dtmf(p->leg, digit);
	}
	else if (p && !str_cmp(event, "timeout")) {
		DEBUG_NOTICE("%s: no media: hanging up\n",
			     leg_callid(p->leg));
		leg_end(p->leg, 408, "RTP timeout");
	}
	else if (p) {
		leg_media_event(p->leg, event, msg);
	}
	else if (!leg && !str_cmp(event, "played")) {
		media_side_played(&m->play, msg);
	}
	else if (!leg && !str_cmp(event, "recorded")) {
		media_side_recorded(&m->rec, msg);
	}
}


/* the relay went away with the mix: every party is hung up (their
 * owners hear it) */
static void down_handler(void *arg)
{
	struct mixer *m = mem_ref(arg);
	struct le *le = list_head(&m->partl);

	m->rc = mem_deref(m->rc);

	/* an owner takes its leg out (mixer_leave), or lets the mixer go:
	 * held here until the end of the list */
	while (le) {
		struct part *p = le->data;

		le = le->next;
		leg_end(p->leg, 503, "Media Relay Failed");
	}

	mem_deref(m);
}


/**
 * Make a mixer, on the relay with the fewest calls
 *
 * @param mp Returned mixer (mem_deref ends it: its legs leave)
 *
 * @return 0 if success, ENOTCONN if no relay is ready, otherwise
 *         errorcode
 */
int mixer_alloc(struct mixer **mp)
{
	struct mixer *m;
	int err;

	if (!mp)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;

	media_side_init(&m->play, m, true);
	media_side_init(&m->rec, m, true);
	(void)re_snprintf(m->rid, sizeof(m->rid), "r%u", ++next_rid);
	err = relay_attach(&m->rc, m->rid, event_handler, down_handler, m);
	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


static void part_done(struct part *p, int err)
{
	leg_media_h *h = p->h;

	p->h = NULL;

	if (err) {
		DEBUG_WARNING("%s: not into the mix: %m\n",
			      leg_callid(p->leg), err);
		/* the owner hangs the leg up; it is out of the mix */
		list_unlink(&p->le);
	}

	if (h)
		h(p->leg, err, 0, p->arg);

	if (err)
		mem_deref(p);
}


static void join_resp_handler(int err, const struct odict *reply,
			      void *arg)
{
	struct part *p = arg;
	(void)reply;

	p->req = mem_deref(p->req);
	part_done(p, err);
}


/* answered: bound for the media API, then into the mix (made with the
 * first) */
static void answered_handler(int err, void *arg)
{
	struct part *p = arg;
	struct mixer *m = p->m;

	p->ans = mem_deref(p->ans);

	if (!err)
		err = leg_media_bind(p->leg, m->rc, m->rid, p->name);
	if (!err && !m->mixed) {
		err = relay_request(m->rc, NULL, NULL, NULL,
				    "\"command\":\"mix\",\"call\":\"%s\","
				    "\"mixer\":\"%s\"", m->rid, mixer_name);
		m->mixed = !err;
	}
	if (!err)
		err = relay_request(m->rc, &p->req, join_resp_handler, p,
				    "\"command\":\"join\",\"call\":\"%s\","
				    "\"leg\":\"%s\",\"mixer\":\"%s\","
				    "\"mode\":\"%s\"", m->rid, p->name,
				    mixer_name, modev[p->mode]);
	if (err)
		part_done(p, err);
}


/**
 * Answer an incoming leg into the mix
 *
 * @param m       Mixer
 * @param leg     Incoming leg, not answered yet
 * @param mode    How it takes part
 * @param answerh Told when it is answered and in the mix (err 0), or
 *                why not (then the owner hangs it up)
 * @param arg     Handler argument
 *
 * @return 0 if asked for, ENOTCONN if the mixer's relay is gone,
 *         otherwise errorcode
 */
int mixer_answer(struct mixer *m, struct leg *leg, enum mixer_mode mode,
		 leg_media_h *answerh, void *arg)
{
	char nobody[PART_NAME_MAX + 2];
	struct part *p;
	int err;

	if (!m || !leg || (unsigned)mode >= ARRAY_SIZE(modev) ||
	    part_find(m, NULL, leg))
		return EINVAL;

	if (!m->rc)
		return ENOTCONN;

	p = mem_zalloc(sizeof(*p), part_destructor);
	if (!p)
		return ENOMEM;

	p->m = m;
	p->leg = mem_ref(leg);
	p->mode = mode;
	p->h = answerh;
	p->arg = arg;
	(void)re_snprintf(p->name, sizeof(p->name), "p%u", ++m->nparts);
	(void)re_snprintf(nobody, sizeof(nobody), "%s-m", p->name);
	list_append(&m->partl, &p->le, p);

	err = media_answer(&p->ans, m->rc, m->rid, p->name, nobody, leg,
			   answered_handler, p);
	if (err)
		mem_deref(p);

	return err;
}


/**
 * Take a leg out of the mix (it is not hung up)
 *
 * @param m   Mixer
 * @param leg A leg answered into it
 *
 * @return 0 if success, ENOENT if it is not in it
 */
int mixer_leave(struct mixer *m, struct leg *leg)
{
	struct part *p = m ? part_find(m, NULL, leg) : NULL;

	if (!p)
		return ENOENT;

	/* its offer made the pair, answered or not */
	if (m->rc) {
		struct media_target t = target(m, p->name);

		(void)media_req_simple(&t, NULL, NULL, NULL, "delete");
	}

	mem_deref(p);

	return 0;
}


/** @return The legs in the mix, or being answered into it */
uint32_t mixer_count(const struct mixer *m)
{
	return m ? list_count(&m->partl) : 0;
}


/**
 * Play a WAV file, or a tone ("beep"...), to everyone in the mix
 *
 * @param m    Mixer, with a leg in it
 * @param file WAV file (absolute), or NULL for a tone
 * @param tone The tone's name when file is NULL
 * @param loop Start the file again at its end, until stopped
 * @param endh Told when it ended (ECANCELED: replaced), or NULL
 * @param arg  Handler argument
 *
 * @return 0 if asked for, otherwise errorcode
 */
int mixer_play(struct mixer *m, const char *file, const char *tone,
	       bool loop, mixer_media_h *endh, void *arg)
{
	union media_h h = {.mixer = endh};
	struct media_target t;

	if (!m)
		return EINVAL;

	if (!m->rc || !m->mixed)
		return ENOTCONN;

	t = target(m, NULL);

	return media_side_play(&m->play, &t, !file, file ? file : tone, loop,
			       h, arg);
}


/**
 * Record the mix (what everyone says) to a WAV file, at the mixer's
 * rate, until mixer_record_stop or the mixer's end
 *
 * @param m    Mixer, with a leg in it
 * @param file WAV file to make (absolute)
 * @param endh Told when it ended, with its length, or NULL
 * @param arg  Handler argument
 *
 * @return 0 if asked for, EALREADY if it is being recorded, otherwise
 *         errorcode
 */
int mixer_record(struct mixer *m, const char *file, mixer_media_h *endh,
		 void *arg)
{
	union media_h h = {.mixer = endh};
	struct media_target t;

	if (!m)
		return EINVAL;

	if (!m->rc || !m->mixed)
		return ENOTCONN;

	t = target(m, NULL);

	return media_side_record(&m->rec, &t, file, h, arg);
}


/**
 * End the mix's recording: its owner hears of it once the file is in
 * place
 *
 * @param m Mixer
 *
 * @return 0 if asked for, ENOENT if it is not being recorded
 */
int mixer_record_stop(struct mixer *m)
{
	struct media_target t;

	if (!m || !m->rc)
		return ENOENT;

	t = target(m, NULL);

	return media_side_record_stop(&m->rec, &t);
}
