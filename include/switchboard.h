/**
 * @file switchboard.h  Call engine API: what apps use to handle calls
 *
 * A call is a set of legs, each one SIP dialog. Apps answer, ring and hang
 * up legs, dial one or many targets with a strategy and a timeout, and
 * bridge two legs; they learn what happens through leg and dial events.
 */
#ifndef SWITCHBOARD_H
#define SWITCHBOARD_H

struct leg;
struct dial;
struct bridge;

/** State of a leg */
enum leg_state {
	LEG_NEW = 0,      /**< Incoming, nothing but 100 sent yet  */
	LEG_CALLING,      /**< Outgoing, INVITE sent               */
	LEG_EARLY,        /**< Provisional response sent/received  */
	LEG_ANSWERED,     /**< 2xx sent/received                   */
	LEG_CLOSED,       /**< Ended                               */
};

/** Events a leg reports to its owner */
enum leg_event {
	LEG_EV_PROGRESS,  /**< Far end sent 18x (sdp maybe set)    */
	LEG_EV_ANSWERED,  /**< Far end answered (sdp set)          */
	LEG_EV_CLOSED,    /**< Leg ended (scode and reason set)    */
	LEG_EV_DTMF,      /**< Its party pressed a key (digit set) */
	LEG_EV_MODIFIED,  /**< Far end answered our re-INVITE (sdp) */
};

/** Details of a leg event */
struct leg_evinfo {
	uint16_t scode;              /**< SIP status, or cause of close  */
	const char *reason;          /**< Reason phrase or why it ended  */
	const struct mbuf *sdp;      /**< Session description, or NULL   */
	char digit;                  /**< '0'-'9', '*', '#', 'A'-'D'     */
};

typedef void (leg_event_h)(struct leg *leg, enum leg_event ev,
			   const struct leg_evinfo *info, void *arg);

/**
 * A re-INVITE or UPDATE with a new offer arrived on a leg. The handler
 * fills *answerp with the answer to send, or returns an error (488).
 */
typedef int (leg_offer_h)(struct leg *leg, const struct mbuf *offer,
			  struct mbuf **answerp, void *arg);

void leg_set_handlers(struct leg *leg, leg_event_h *eventh,
		      leg_offer_h *offerh, void *arg);
int  leg_progress(struct leg *leg, uint16_t scode, const char *reason,
		  const struct mbuf *sdp);
int  leg_answer(struct leg *leg, const struct mbuf *sdp);
void leg_hangup(struct leg *leg, uint16_t scode, const char *reason);
void leg_dtmf(struct leg *leg, char digit);
int  leg_modify(struct leg *leg, const struct mbuf *sdp);
enum leg_state leg_state(const struct leg *leg);
const char *leg_caller(const struct leg *leg);
const char *leg_dialled(const struct leg *leg);
const char *leg_peer(const struct leg *leg);
const char *leg_callid(const struct leg *leg);
const struct mbuf *leg_remote_sdp(const struct leg *leg);
const struct mbuf *leg_local_sdp(const struct leg *leg);
const struct sa *leg_source(const struct leg *leg);


/*
 * Media on a leg an app answered (leg_answer_media, mixer_answer):
 * prompts, tones and recordings, made by the relay that anchors the
 * leg's media. The keys its party presses come as LEG_EV_DTMF, RFC 4733
 * and in-band alike.
 */

/**
 * A prompt, tone or recording on a leg ended: err 0 when it ran to its
 * end (a recording: stopped, then its file is in place), ECANCELED when
 * stopped or replaced, else why it failed; ms is a recording's length
 */
typedef void (leg_media_h)(struct leg *leg, int err, uint32_t ms,
			   void *arg);

int  leg_play(struct leg *leg, const char *file, bool loop,
	      leg_media_h *endh, void *arg);
int  leg_tone(struct leg *leg, const char *tone, leg_media_h *endh,
	      void *arg);
int  leg_stop(struct leg *leg);
int  leg_record(struct leg *leg, const char *file, leg_media_h *endh,
		void *arg);
int  leg_record_stop(struct leg *leg);
int  leg_answer_media(struct leg *leg, leg_media_h *answerh, void *arg);



/*
 * Mixers: legs that hear each other (conferences, paging). An app
 * answers incoming legs into a mixer; each hears the others' mix, as
 * its mode says; prompts and recordings on one leg work as above, and
 * on the whole mix with mixer_play and mixer_record.
 */
struct mixer;

/** How a leg takes part in a mixer */
enum mixer_mode {
	MIXER_BOTH = 0,   /**< Hears the others and is heard        */
	MIXER_LISTEN,     /**< Hears, is not heard (a paged phone)  */
	MIXER_SPEAK,      /**< Is heard, hears nothing (the pager)  */
};

/** A prompt, tone or recording of a mixer ended (as leg_media_h) */
typedef void (mixer_media_h)(struct mixer *m, int err, uint32_t ms,
			     void *arg);

int  mixer_alloc(struct mixer **mp);
int  mixer_answer(struct mixer *m, struct leg *leg, enum mixer_mode mode,
		  leg_media_h *answerh, void *arg);
int  mixer_leave(struct mixer *m, struct leg *leg);
uint32_t mixer_count(const struct mixer *m);
int  mixer_play(struct mixer *m, const char *file, const char *tone,
		bool loop, mixer_media_h *endh, void *arg);
int  mixer_record(struct mixer *m, const char *file, mixer_media_h *endh,
		  void *arg);
int  mixer_record_stop(struct mixer *m);

int  prompt_path(char *path, size_t sz, const char *id);
int  media_file(char *path, size_t sz, const char *name);


/*
 * Apps: destinations the engine answers itself (a feature code for now;
 * menus, mailboxes and conferences to come)
 */

/** The app is done with its call: the engine ends it (CDR: cause) */
typedef void (app_done_h)(uint16_t cause, const char *reason, void *arg);

/**
 * An app takes a call: leg is the caller's, not answered yet (the app
 * answers it: leg_answer_media, mixer_answer). The app owns the leg's
 * handlers from here (leg_set_handlers), and calls doneh once, after it
 * hung up or when the caller did (then not again); doneh frees the
 * session, so the app returns at once. *sessp, set to a mem object or
 * left NULL, goes with the call.
 */
typedef int (app_start_h)(void **sessp, struct leg *leg, app_done_h *doneh,
			  void *arg);

/** An app, as the router finds it */
struct app {
	const char *name;         /**< For the log                    */
	const char *code;         /**< Feature code that reaches it   */
	bool prefix;              /**< Also with more after it (the
				       app reads leg_dialled)         */
	app_start_h *starth;      /**< Takes a call                   */
};


/** How a dial rings its targets */
enum dial_strategy {
	DIAL_RING_ALL = 0,  /**< Every contact of every target at once  */
	DIAL_IN_ORDER,      /**< One target after another (hunt)        */
};

/**
 * A dial ended. On success winner is the answered outgoing leg: mem_ref
 * it to keep it (bridge it), or it is hung up when the handler returns.
 * Otherwise scode says why (480, 486, 6xx...).
 */
typedef void (dial_h)(struct dial *dial, struct leg *winner, uint16_t scode,
		      const char *reason, void *arg);

/** A fork rang (180) or sent early media (183 with sdp) */
typedef void (dial_progress_h)(struct dial *dial, struct leg *fork,
			       uint16_t scode, const char *reason,
			       const struct mbuf *sdp, void *arg);

int  dial_alloc(struct dial **dialp, struct leg *caller,
		const struct mbuf *offer, const char * const *targetv,
		size_t targetc, enum dial_strategy strategy,
		uint32_t timeout_s, dial_progress_h *progressh,
		dial_h *dialh, void *arg);


/** A bridge ended because one of its legs did */
typedef void (bridge_end_h)(struct bridge *br, struct leg *ended,
			    const struct leg_evinfo *info, void *arg);

/** An offer from one leg is to reach the other: send it (leg_modify) */
typedef int (bridge_offer_h)(struct bridge *br, struct leg *from,
			     struct leg *to, const struct mbuf *offer,
			     void *arg);

/** The leg an offer was sent on to answered it */
typedef void (bridge_answer_h)(struct bridge *br, struct leg *from,
			       const struct mbuf *answer, void *arg);

int  bridge_alloc(struct bridge **brp, struct leg *a, struct leg *b,
		  bridge_offer_h *offerh, bridge_answer_h *answerh,
		  bridge_end_h *endh, void *arg);

#endif
