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
