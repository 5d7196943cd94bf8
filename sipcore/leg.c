/**
 * @file leg.c  Call legs: one SIP dialog each, on re's sipsess
 *
 * An incoming INVITE is held in a server transaction of our own, with
 * 100 Trying sent, until the first thing is said to the caller: sipsess
 * cannot accept with 100, and without a transaction INVITE
 * retransmissions and CANCEL would go unmatched. The transaction is then
 * handed to sipsess (accept), or ends with a final error reply.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "leg"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum { SESS_HASH_SIZE = 1024 };

/** One call leg */
struct leg {
	struct le le;                 /**< In legs.legl                */
	enum leg_state state;         /**< Where it is                 */
	bool incoming;                /**< We are the UAS              */
	struct sipsess *sess;         /**< Dialog, once there is one   */
	struct sip_strans *st;        /**< Incoming, before sess       */
	const struct sip_msg *msg;    /**< Incoming INVITE             */
	struct mbuf *rsdp;            /**< Last SDP from the far end   */
	struct mbuf *lsdp;            /**< Last SDP we sent            */
	struct sa source;             /**< Where the far end signals   */
	char *caller;                 /**< Calling extension           */
	char *caller_name;            /**< Its display name            */
	char *dialled;                /**< What was dialled            */
	char *peer;                   /**< Far-end URI                 */
	char *callid;                 /**< Call-ID of the dialog       */
	bool modifying;               /**< Our re-INVITE awaits answer */
	leg_event_h *eventh;          /**< Owner's event handler       */
	leg_offer_h *offerh;          /**< Owner's offer handler       */
	void *arg;                    /**< Owner's argument            */
	struct leg_media *media;      /**< Its place at the relay      */
	int64_t answer_ms;            /**< When answered, Unix ms; 0   */
};

static struct {
	struct sipsess_sock *sock;
	struct sip *sip;
	const char *domain;
	struct list legl;
	leg_incoming_h *incomingh;
	void *arg;
} legs;

static const char ctype_sdp[] = "application/sdp";


static void destructor(void *arg)
{
	struct leg *leg = arg;

	list_unlink(&leg->le);

	/* an unanswered incoming INVITE must get a final reply */
	if (leg->st)
		(void)sip_treply(&leg->st, legs.sip, leg->msg, 500,
				 "Server Internal Error");

	mem_deref(leg->st);
	mem_deref(leg->sess);
	mem_deref((void *)leg->msg);
	mem_deref(leg->rsdp);
	mem_deref(leg->lsdp);
	mem_deref(leg->caller);
	mem_deref(leg->caller_name);
	mem_deref(leg->dialled);
	mem_deref(leg->peer);
	mem_deref(leg->callid);
	mem_deref(leg->media);
}


static void event(struct leg *leg, enum leg_event ev, uint16_t scode,
		  const char *reason, const struct mbuf *sdp)
{
	struct leg_evinfo info = {scode, reason, sdp, 0};

	if (leg->eventh)
		leg->eventh(leg, ev, &info, leg->arg);
}


/* a copy that owns its bytes, positioned at the start */
static struct mbuf *sdp_copy(const uint8_t *p, size_t len)
{
	struct mbuf *mb = mbuf_alloc(len);

	if (!mb)
		return NULL;

	(void)mbuf_write_mem(mb, p, len);
	mb->pos = 0;

	return mb;
}


static void sdp_keep(struct leg *leg, const struct sip_msg *msg)
{
	if (!msg || !mbuf_get_left(msg->mb))
		return;

	mem_deref(leg->rsdp);
	leg->rsdp = sdp_copy(mbuf_buf(msg->mb), mbuf_get_left(msg->mb));
}


static void sdp_sent(struct leg *leg, const struct mbuf *sdp)
{
	if (!sdp)
		return;

	mem_deref(leg->lsdp);
	leg->lsdp = sdp_copy(sdp->buf, sdp->end);
}


static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct leg *leg = arg;
	struct mbuf *answer = NULL;
	int err;

	if (!leg->offerh || !mbuf_get_left(msg->mb))
		return EPROTO;

	sdp_keep(leg, msg);

	err = leg->offerh(leg, leg->rsdp, &answer, leg->arg);
	if (err)
		return err;

	sdp_sent(leg, answer);
	*descp = answer;

	return 0;
}


static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;

	sdp_keep(leg, msg);

	/* the answer to a re-INVITE of ours: the owner passes it on (the
	 * first answer comes with LEG_EV_ANSWERED) */
	if (leg->modifying && mbuf_get_left(msg->mb)) {
		leg->modifying = false;
		event(leg, LEG_EV_MODIFIED, msg->scode, "OK", leg->rsdp);
	}

	return 0;
}


static void progress_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	char reason[64];

	if (msg->scode <= 100)
		return;

	leg->state = LEG_EARLY;
	sdp_keep(leg, msg);
	(void)pl_strcpy(&msg->reason, reason, sizeof(reason));

	event(leg, LEG_EV_PROGRESS, msg->scode, reason,
	      mbuf_get_left(msg->mb) ? leg->rsdp : NULL);
}


static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;

	if (leg->state == LEG_ANSWERED)
		return;

	leg->state = LEG_ANSWERED;

	/* incoming legs are answered by us: the ACK needs no event */
	if (!leg->incoming)
		event(leg, LEG_EV_ANSWERED, msg ? msg->scode : 200, "OK",
		      leg->rsdp);
}


static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	bool early = leg->state != LEG_ANSWERED;
	uint16_t scode = 0;
	const char *reason;
	char rbuf[64];

	leg->state = LEG_CLOSED;

	/* sipsess 1.1.0 reports a CANCEL as ECONNRESET without a message */
	if (leg->incoming && early && err == ECONNRESET && !msg) {
		scode = 487;
		reason = "Cancelled";
	}
	else if (msg && !msg->req) {
		scode = msg->scode;
		(void)pl_strcpy(&msg->reason, rbuf, sizeof(rbuf));
		reason = rbuf;
	}
	else if (msg && !pl_strcmp(&msg->met, "CANCEL")) {
		scode = 487;
		reason = "Cancelled";
	}
	else if ((msg && !pl_strcmp(&msg->met, "BYE")) ||
		 (!early && err == ECONNRESET && !msg)) {
		/* a BYE; sipsess 1.1.0 reports it without the message too */
		reason = "BYE";
	}
	else if (err == ETIMEDOUT) {
		scode = 408;
		reason = "Request Timeout";
	}
	else {
		scode = err ? 503 : 0;
		(void)re_snprintf(rbuf, sizeof(rbuf), "%m", err);
		reason = rbuf;
	}

	event(leg, LEG_EV_CLOSED, scode, reason, NULL);
}


static int leg_alloc(struct leg **legp, bool incoming)
{
	struct leg *leg = mem_zalloc(sizeof(**legp), destructor);

	if (!leg)
		return ENOMEM;

	leg->incoming = incoming;
	list_append(&legs.legl, &leg->le, leg);
	*legp = leg;

	return 0;
}


/* CANCEL before we said anything but 100 */
static void pending_cancel_handler(void *arg)
{
	struct leg *leg = arg;

	(void)sip_treply(&leg->st, legs.sip, leg->msg, 487,
			 "Request Terminated");
	leg->st = mem_deref(leg->st);
	leg->state = LEG_CLOSED;

	event(leg, LEG_EV_CLOSED, 487, "Cancelled", NULL);
}


/* the transaction moves from us to sipsess */
static int accept_sess(struct leg *leg, uint16_t scode, const char *reason,
		       const struct mbuf *sdp)
{
	int err;

	leg->st = mem_deref(leg->st);

	err = sipsess_accept(&leg->sess, legs.sock, leg->msg, scode, reason,
			     leg->dialled, ctype_sdp, (struct mbuf *)sdp,
			     NULL, NULL, false, offer_handler, answer_handler,
			     estab_handler, NULL, NULL, close_handler, leg,
			     "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n");
	if (err) {
		DEBUG_WARNING("%s: accept: %m\n", leg->callid, err);
		(void)sip_treply(NULL, legs.sip, leg->msg, 500,
				 "Server Internal Error");
		leg->state = LEG_CLOSED;
	}

	return err;
}


/**
 * Set the owner's handlers of a leg
 *
 * @param leg    Leg
 * @param eventh Event handler
 * @param offerh Handler of offers in re-INVITEs (NULL: 488)
 * @param arg    Handler argument
 */
void leg_set_handlers(struct leg *leg, leg_event_h *eventh,
		      leg_offer_h *offerh, void *arg)
{
	if (!leg)
		return;

	leg->eventh = eventh;
	leg->offerh = offerh;
	leg->arg = arg;
}


/**
 * Send a provisional response on an incoming leg
 *
 * @param leg    Leg
 * @param scode  101..199
 * @param reason Reason phrase
 * @param sdp    Early media description, or NULL
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_progress(struct leg *leg, uint16_t scode, const char *reason,
		 const struct mbuf *sdp)
{
	int err;

	if (!leg || !leg->incoming || scode <= 100 || scode > 199)
		return EINVAL;

	switch (leg->state) {

	case LEG_NEW:
		err = accept_sess(leg, scode, reason, sdp);
		break;

	case LEG_EARLY:
		err = sipsess_progress(leg->sess, scode, reason,
				       (struct mbuf *)sdp, "");
		break;

	default:
		return EPROTO;
	}

	if (!err) {
		leg->state = LEG_EARLY;
		sdp_sent(leg, sdp);
	}

	return err;
}


/**
 * Answer an incoming leg with 200 OK
 *
 * @param leg Leg
 * @param sdp Answer
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_answer(struct leg *leg, const struct mbuf *sdp)
{
	int err;

	if (!leg || !leg->incoming)
		return EINVAL;

	switch (leg->state) {

	case LEG_NEW:
		err = accept_sess(leg, 200, "OK", sdp);
		break;

	case LEG_EARLY:
		err = sipsess_answer(leg->sess, 200, "OK", (struct mbuf *)sdp,
				     "");
		break;

	default:
		return EPROTO;
	}

	if (!err) {
		leg->state = LEG_ANSWERED;
		leg->answer_ms = sb_unixtime_ms();
		sdp_sent(leg, sdp);
	}

	return err;
}


/**
 * End a leg for a reason of ours (its media stopped, its relay went
 * away): as leg_hangup, and its owner hears LEG_EV_CLOSED
 *
 * @param leg    Leg
 * @param scode  Cause
 * @param reason Why
 */
void leg_end(struct leg *leg, uint16_t scode, const char *reason)
{
	struct leg_evinfo info = {scode, reason, NULL, 0};
	leg_event_h *eventh;
	void *arg;

	if (!leg || leg->state == LEG_CLOSED)
		return;

	eventh = leg->eventh;
	arg = leg->arg;
	leg_hangup(leg, scode >= 300 ? scode : 503, reason);

	if (eventh)
		eventh(leg, LEG_EV_CLOSED, &info, arg);
}


/**
 * @param leg Leg
 *
 * @return When it was answered (Unix time, ms), 0 if it was not
 */
int64_t leg_answer_time(const struct leg *leg)
{
	return leg ? leg->answer_ms : 0;
}


/**
 * End a leg: a final error reply, CANCEL or BYE, whichever fits. The
 * owner gets no event for it.
 *
 * @param leg    Leg
 * @param scode  Status for an unanswered incoming leg (>= 300)
 * @param reason Its reason phrase
 */
void leg_hangup(struct leg *leg, uint16_t scode, const char *reason)
{
	if (!leg || leg->state == LEG_CLOSED)
		return;

	if (scode < 300) {
		scode = 486;
		reason = "Busy Here";
	}

	if (leg->st) {
		(void)sip_treply(&leg->st, legs.sip, leg->msg, scode, reason);
		leg->st = mem_deref(leg->st);
	}
	else if (leg->sess && leg->incoming && leg->state == LEG_EARLY) {
		(void)sipsess_reject(leg->sess, scode, reason, "");
	}

	/* sipsess sends CANCEL or BYE as the state needs */
	leg->sess = mem_deref(leg->sess);
	leg->state = LEG_CLOSED;
	leg->eventh = NULL;
}


/**
 * Send a new offer to the far end (re-INVITE)
 *
 * @param leg Leg, answered
 * @param sdp Offer
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_modify(struct leg *leg, const struct mbuf *sdp)
{
	struct mbuf *mb;
	int err;

	if (!leg || !sdp || leg->state != LEG_ANSWERED)
		return EINVAL;

	mb = sdp_copy(sdp->buf, sdp->end);
	if (!mb)
		return ENOMEM;

	err = sipsess_modify(leg->sess, mb);
	if (!err) {
		sdp_sent(leg, mb);
		leg->modifying = true;
	}
	mem_deref(mb);

	return err;
}


/** @return The leg's state */
enum leg_state leg_state(const struct leg *leg)
{
	return leg ? leg->state : LEG_CLOSED;
}


/** @return The calling extension */
const char *leg_caller(const struct leg *leg)
{
	return leg ? leg->caller : NULL;
}


/** @return The dialled number */
const char *leg_dialled(const struct leg *leg)
{
	return leg ? leg->dialled : NULL;
}


/** @return The far end's URI */
const char *leg_peer(const struct leg *leg)
{
	return leg ? leg->peer : NULL;
}


/** @return The Call-ID of the leg's dialog */
const char *leg_callid(const struct leg *leg)
{
	return leg ? leg->callid : NULL;
}


/** @return The last session description we sent, or NULL */
const struct mbuf *leg_local_sdp(const struct leg *leg)
{
	return leg ? leg->lsdp : NULL;
}


/** @return The address the far end signals from (for media latching) */
const struct sa *leg_source(const struct leg *leg)
{
	return leg ? &leg->source : NULL;
}


/** @return The far end's last session description, or NULL */
const struct mbuf *leg_remote_sdp(const struct leg *leg)
{
	return leg ? leg->rsdp : NULL;
}


/**
 * Call a contact on behalf of a caller (outgoing leg)
 *
 * @param legp   Pointer to allocated leg
 * @param caller The incoming leg it is for (identity)
 * @param offer  Session description to offer
 * @param c      Contact to call, over its registered flow
 * @param eventh Event handler
 * @param arg    Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_connect(struct leg **legp, struct leg *caller,
		const struct mbuf *offer, const struct contact *c,
		leg_event_h *eventh, void *arg)
{
	char from[128], route[128];
	const char *routev[1];
	struct mbuf *desc = NULL;
	struct leg *leg;
	int err;

	if (!legp || !caller || !offer || !c)
		return EINVAL;

	err = leg_alloc(&leg, false);
	if (err)
		return err;

	leg->state = LEG_CALLING;
	leg->source = *contact_received(c);
	leg_set_handlers(leg, eventh, NULL, arg);
	err  = str_dup(&leg->caller, caller->caller);
	err |= str_dup(&leg->caller_name, caller->caller_name);
	err |= str_dup(&leg->dialled, caller->dialled);
	err |= str_dup(&leg->peer, contact_uri(c));
	err |= contact_route(c, route, sizeof(route));
	if (err)
		goto out;

	desc = sdp_copy(offer->buf, offer->end);
	if (!desc) {
		err = ENOMEM;
		goto out;
	}

	(void)re_snprintf(from, sizeof(from), "sip:%s@%s", caller->caller,
			  legs.domain);
	routev[0] = route;

	err = sipsess_connect(&leg->sess, legs.sock, contact_uri(c),
			      caller->caller_name, from, caller->caller,
			      routev, 1, ctype_sdp, desc, NULL, NULL, false,
			      offer_handler, answer_handler, progress_handler,
			      estab_handler, NULL, NULL, close_handler, leg,
			      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n");
	if (err)
		goto out;

	sdp_sent(leg, desc);
	err = str_dup(&leg->callid, sip_dialog_callid(
			      sipsess_dialog(leg->sess)));

 out:
	mem_deref(desc);
	if (err)
		mem_deref(leg);
	else
		*legp = leg;

	return err;
}


static void connect_handler(const struct sip_msg *msg, void *arg)
{
	struct ext ext;
	struct leg *leg = NULL;
	int err;
	(void)arg;

	if (auth_request(legs.sip, msg, true, &ext) != AUTH_OK)
		return;

	if (!mbuf_get_left(msg->mb)) {
		(void)sip_treplyf(NULL, NULL, legs.sip, msg, false, 488,
				  "Not Acceptable Here",
				  "Warning: 399 switchboard \"An INVITE"
				  " without SDP is not supported\"\r\n"
				  "Content-Length: 0\r\n\r\n");
		return;
	}

	err = leg_alloc(&leg, true);
	if (err)
		goto out;

	leg->msg = mem_ref((void *)msg);
	leg->source = msg->src;
	err  = str_dup(&leg->caller, ext.number);
	err |= str_dup(&leg->caller_name, str_isset(ext.name) ? ext.name :
		       ext.number);
	err |= re_sdprintf(&leg->dialled, "%H", uri_user_unescape,
			   &msg->uri.user);
	err |= pl_strdup(&leg->peer, &msg->from.auri);
	err |= pl_strdup(&leg->callid, &msg->callid);
	if (err)
		goto out;

	sdp_keep(leg, msg);

	err = sip_strans_alloc(&leg->st, legs.sip, msg,
			       pending_cancel_handler, leg);
	if (err)
		goto out;

	(void)sip_treply(&leg->st, legs.sip, msg, 100, "Trying");

	legs.incomingh(leg, legs.arg);
	return;

 out:
	DEBUG_WARNING("%J: incoming call: %m\n", &msg->src, err);
	if (leg && !leg->st)
		(void)sip_treply(NULL, legs.sip, msg, 500,
				 "Server Internal Error");
	mem_deref(leg);
}


/**
 * Take INVITEs: authenticate them and hand each to the call engine
 *
 * @param sip    SIP stack
 * @param domain SIP domain, for From URIs
 * @param h      Incoming-leg handler
 * @param arg    Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_listen(struct sip *sip, const char *domain, leg_incoming_h *h,
	       void *arg)
{
	if (!sip || !domain || !h)
		return EINVAL;

	legs.sip = sip;
	legs.domain = domain;
	legs.incomingh = h;
	legs.arg = arg;

	return sipsess_listen(&legs.sock, sip, SESS_HASH_SIZE,
			      connect_handler, NULL);
}


/**
 * Stop taking INVITEs
 */
void leg_unlisten(void)
{
	legs.sock = mem_deref(legs.sock);
}


/**
 * End every leg at once (shutdown): BYE, CANCEL or 503
 */
void leg_hangup_all(void)
{
	struct le *le;

	for (le = list_head(&legs.legl); le; le = le->next)
		leg_hangup(le->data, 503, "Service Unavailable");
}


/** @return The number of legs */
uint32_t leg_count(void)
{
	return list_count(&legs.legl);
}


/**
 * Report a key its party pressed (the relay heard it) to the leg's owner
 *
 * @param leg   Leg
 * @param digit '0'-'9', '*', '#', 'A'-'D'
 */
void leg_dtmf(struct leg *leg, char digit)
{
	struct leg_evinfo info = {0, NULL, NULL, digit};

	if (leg && leg->eventh)
		leg->eventh(leg, LEG_EV_DTMF, &info, leg->arg);
}


/**
 * Give a leg its place at the relay (leg_media.c), replacing any
 *
 * @param leg Leg
 * @param m   Its binding (the leg takes it), or NULL
 */
void leg_set_media(struct leg *leg, struct leg_media *m)
{
	if (!leg) {
		mem_deref(m);
		return;
	}

	mem_deref(leg->media);
	leg->media = m;
}


/**
 * @param leg Leg
 *
 * @return Its place at the relay, NULL if its media is not there
 */
struct leg_media *leg_media(const struct leg *leg)
{
	return leg ? leg->media : NULL;
}
