/**
 * @file call.c  Calls between extensions: route, dial, bridge, CDR
 *
 * Every call's media is anchored on the relay: the caller's offer goes
 * through the relay before the callee sees it, and every answer before
 * the caller sees it (relay legs "a", caller side, and "b", callee
 * side). The CDR row is written when the call is answered and completed
 * when it ends, so a kill after the 200 loses no answered call. A party
 * that holds the other puts it on music on hold (hold.c).
 *
 * A call to an app (a feature code) goes to the app at once, which
 * answers it (leg_answer_media, mixer_answer) and says when it is done;
 * its record is written then.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "call"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** One call: the caller's leg, the dial, then the bridge */
struct call {
	struct le le;           /**< In engine.calll                  */
	char rid[24];           /**< The call's id at the relay       */
	struct leg *in;         /**< Caller's leg                     */
	struct dial *dial;      /**< While ringing                    */
	struct leg *out;        /**< Answered callee leg              */
	struct bridge *br;      /**< While talking                    */
	struct hold *hold;      /**< Who holds whom, while talking    */
	struct relay_call *rc;  /**< Its place on its relay           */
	struct relay_req *req_offer;  /**< Offer at the relay         */
	struct relay_req *req_answer; /**< Answer at the relay        */
	struct leg *modify_to;  /**< Leg the pending offer goes to    */
	const struct app *app;  /**< The app that takes it, or NULL   */
	void *app_sess;         /**< Its session                      */
	struct tmr tmr_relay;   /**< Waiting for the relay            */
	unsigned relay_waits;   /**< Times waited                     */
	struct tmr tmr_quality; /**< Next query of the media quality  */
	struct relay_req *req_query;  /**< That query                 */
	struct cdr_quality quality[2]; /**< Caller's, callee's so far */
	bool early;             /**< 183 with SDP went to the caller  */
	bool relayed;           /**< The relay holds media for it     */
	struct cdr cdr;         /**< Its record                       */
};

enum {
	RELAY_WAITS   = 30,    /**< Waits for a relay that is starting */
	RELAY_WAIT_MS = 100,   /**< Each wait                          */
	QUALITY_MS    = 5000,  /**< Media quality asked this often     */
};

static struct {
	struct list calll;
	uint32_t ncalls;        /**< Entries in calll (call_max)      */
	struct store *store;
	const struct sb_conf *cfg;
	uint64_t next_rid;
	bool closing;
	char media_dir[SB_PATH_MAX];  /**< Apps' files (media_file)   */
} engine;


static void destructor(void *arg)
{
	struct call *call = arg;

	if (call->le.list) {
		list_unlink(&call->le);
		--engine.ncalls;
	}
	tmr_cancel(&call->tmr_relay);
	tmr_cancel(&call->tmr_quality);
	mem_deref(call->req_query);
	mem_deref(call->req_offer);
	mem_deref(call->req_answer);
	mem_deref(call->app_sess);
	mem_deref(call->hold);
	mem_deref(call->rc);
	mem_deref(call->br);
	mem_deref(call->dial);
	leg_hangup(call->out, 0, NULL);
	mem_deref(call->out);
	leg_hangup(call->in, 503, "Service Unavailable");
	mem_deref(call->in);
}


static void cdr_write(struct call *call)
{
	int err;

	if (call->cdr.id)
		err = store_cdr_update(engine.store, &call->cdr);
	else
		err = store_cdr_add(engine.store, &call->cdr);

	if (err)
		DEBUG_WARNING("%s: CDR not written: %m\n", call->cdr.call_id,
			      err);
}


/* the relay's last word on a call's legs: their quality, into the CDR */
static void delete_resp_handler(int err, const struct odict *reply,
				void *arg)
{
	int64_t *cdr_id = arg;
	struct cdr_quality qv[2];

	memset(qv, 0, sizeof(qv));
	if (!err)
		quality_from_reply(qv, reply);

	if ((qv[0].set || qv[1].set) &&
	    store_cdr_quality(engine.store, *cdr_id, &qv[0], &qv[1]))
		DEBUG_WARNING("CDR %lld: quality not written\n",
			      (long long)*cdr_id);

	mem_deref(cdr_id);
}


static void quality_tmr_handler(void *arg);


/* the relay's view of a call in progress, for the API's call view */
static void query_resp_handler(int err, const struct odict *reply,
			       void *arg)
{
	struct call *call = arg;

	call->req_query = mem_deref(call->req_query);

	if (!err)
		quality_from_reply(call->quality, reply);

	tmr_start(&call->tmr_quality, QUALITY_MS, quality_tmr_handler, call);
}


static void quality_tmr_handler(void *arg)
{
	struct call *call = arg;

	if (call->req_query)
		return;

	if (relay_request(call->rc, &call->req_query, query_resp_handler,
			  call, "\"command\":\"query\",\"call\":\"%s\"",
			  call->rid))
		tmr_start(&call->tmr_quality, QUALITY_MS,
			  quality_tmr_handler, call);
}


/* the relay frees the call's legs; an answered call's record gets the
 * media quality it measured */
static void relay_delete(struct call *call)
{
	int64_t *cdr_id = NULL;

	if (call->cdr.id && call->cdr.answer_ms) {
		cdr_id = mem_zalloc(sizeof(*cdr_id), NULL);
		if (cdr_id)
			*cdr_id = call->cdr.id;
	}

	if (relay_request(call->rc, NULL, cdr_id ? delete_resp_handler : NULL,
			  cdr_id, "\"command\":\"delete\",\"call\":\"%s\"",
			  call->rid))
		mem_deref(cdr_id);
}


/* the record says how it ended, then everything goes */
static void call_end(struct call *call, uint16_t cause, const char *reason)
{
	call->cdr.end_ms = sb_unixtime_ms();
	call->cdr.cause = cause;
	str_ncpy(call->cdr.reason, reason ? reason : "", sizeof(call->cdr.reason));
	str_ncpy(call->cdr.disposition,
		 cdr_disposition(cause, call->cdr.answer_ms != 0),
		 sizeof(call->cdr.disposition));
	cdr_write(call);

	DEBUG_INFO("%s: %s -> %s ended: %u %s\n", call->cdr.call_id,
		   call->cdr.caller, call->cdr.callee, cause, call->cdr.reason);

	if (call->relayed)
		relay_delete(call);

	mem_deref(call);
}


/* the SRTP an offer asks of the relay toward the party it goes to: that
 * extension's setting (keys already in use with a party are kept by the
 * relay whatever this says) */
static const char *offer_srtp(const struct call *call, const struct leg *to)
{
	struct ext ext;
	const char *number = to == call->in ? call->cdr.caller :
		call->cdr.callee;

	if (store_ext_get(engine.store, number, &ext))
		return "off";

	return ext_srtp_name(ext.srtp);
}


/* offer and answer at the relay: leg "a" faces the caller, "b" the
 * callee */
static int relay_sdp(struct relay_req **reqp, struct call *call,
		     const char *cmd, struct leg *from,
		     const struct mbuf *sdp, relay_resp_h *resph)
{
	bool caller = from == call->in;
	bool offer = !strcmp(cmd, "offer");

	return relay_request(call->rc, reqp, resph, call,
			     "\"command\":\"%s\",\"call\":\"%s\","
			     "\"from\":\"%s\",\"to\":\"%s\","
			     "\"source\":\"%j\",%s%s%s\"sdp\":\"%H\"",
			     cmd, call->rid, caller ? "a" : "b",
			     caller ? "b" : "a", leg_source(from),
			     offer ? "\"srtp\":\"" : "",
			     offer ? offer_srtp(call, caller ? call->out :
						call->in) : "",
			     offer ? "\"," : "",
			     sdp_json, sdp);
}


static void bridge_end_handler(struct bridge *br, struct leg *ended,
			       const struct leg_evinfo *info, void *arg)
{
	struct call *call = arg;
	(void)br;

	call_end(call, 200, ended == call->in ? "caller hung up" :
		 "callee hung up");
	(void)info;
}


static void relay_wait_handler(void *arg);


static void modify_resp_handler(int err, const struct odict *reply,
				void *arg)
{
	struct call *call = arg;
	struct mbuf *sdp = err ? NULL : sdp_of_reply(reply);

	call->req_offer = mem_deref(call->req_offer);

	if (!sdp || leg_modify(call->modify_to, sdp))
		DEBUG_WARNING("%s: re-INVITE not passed on: %m\n",
			      call->cdr.call_id, err ? err : EPROTO);

	mem_deref(sdp);
}


/* an offer in a re-INVITE goes through the relay to the other side;
 * one that holds or resumes starts or stops the other side's music,
 * sent after the offer so that the relay has the offer first */
static int bridge_offer_handler(struct bridge *br, struct leg *from,
				struct leg *to, const struct mbuf *offer,
				void *arg)
{
	struct call *call = arg;
	int err;
	(void)br;

	call->req_offer = mem_deref(call->req_offer);
	call->modify_to = to;

	err = relay_sdp(&call->req_offer, call, "offer", from, offer,
			modify_resp_handler);
	if (!err)
		hold_offer(call->hold, from == call->in ? HOLD_CALLER :
			   HOLD_CALLEE, offer);

	return err;
}


static void reanswer_resp_handler(int err, const struct odict *reply,
				  void *arg)
{
	struct call *call = arg;
	(void)reply;

	call->req_answer = mem_deref(call->req_answer);

	if (err)
		DEBUG_WARNING("%s: re-INVITE answer not taken by the relay:"
			      " %m\n", call->cdr.call_id, err);
}


/* the answer to a re-INVITE passed across: the relay learns the party's
 * (maybe new) address from it; the offerer was answered already */
static void bridge_answer_handler(struct bridge *br, struct leg *from,
				  const struct mbuf *answer, void *arg)
{
	struct call *call = arg;
	int err;
	(void)br;

	if (!call->relayed || !answer)
		return;

	call->req_answer = mem_deref(call->req_answer);

	err = relay_sdp(&call->req_answer, call, "answer", from, answer,
			reanswer_resp_handler);
	if (err)
		DEBUG_WARNING("%s: re-INVITE answer not sent to the relay:"
			      " %m\n", call->cdr.call_id, err);
}


static void answered_resp_handler(int err, const struct odict *reply,
				  void *arg)
{
	struct call *call = arg;
	struct mbuf *sdp = err ? NULL : sdp_of_reply(reply);

	call->req_answer = mem_deref(call->req_answer);

	if (!sdp) {
		leg_hangup(call->in, 503, "Media Relay Failed");
		call_end(call, 503, "relay answer failed");
		return;
	}

	err = leg_answer(call->in, sdp);
	if (!err)
		err = hold_alloc(&call->hold, call->rc, call->rid,
				 call->cdr.call_id);
	if (!err)
		err = bridge_alloc(&call->br, call->in, call->out,
				   bridge_offer_handler,
				   bridge_answer_handler, bridge_end_handler,
				   call);
	mem_deref(sdp);

	if (err) {
		DEBUG_WARNING("%s: cannot connect: %m\n", call->cdr.call_id,
			      err);
		call_end(call, 500, "answer failed");
		return;
	}

	call->cdr.answer_ms = sb_unixtime_ms();
	str_ncpy(call->cdr.disposition, "ANSWERED",
		 sizeof(call->cdr.disposition));
	cdr_write(call);

	if (call->relayed)
		tmr_start(&call->tmr_quality, QUALITY_MS,
			  quality_tmr_handler, call);
}


static void dial_handler(struct dial *dial, struct leg *winner,
			 uint16_t scode, const char *reason, void *arg)
{
	struct call *call = arg;
	int err;
	(void)dial;

	call->dial = mem_deref(call->dial);

	if (!winner) {
		leg_hangup(call->in, scode, reason);
		call_end(call, scode, reason);
		return;
	}

	/* the callee is answered; the caller is, once the relay says */
	call->out = mem_ref(winner);
	call->req_answer = mem_deref(call->req_answer);

	err = relay_sdp(&call->req_answer, call, "answer", winner,
			leg_remote_sdp(winner), answered_resp_handler);
	if (err) {
		leg_hangup(call->in, 503, "Media Relay Unavailable");
		call_end(call, 503, "relay unavailable");
	}
}


static void early_resp_handler(int err, const struct odict *reply,
			       void *arg)
{
	struct call *call = arg;
	struct mbuf *sdp = err ? NULL : sdp_of_reply(reply);

	call->req_answer = mem_deref(call->req_answer);

	if (sdp)
		(void)leg_progress(call->in, 183, "Session Progress", sdp);

	mem_deref(sdp);
}


static void dial_progress_handler(struct dial *dial, struct leg *fork,
				  uint16_t scode, const char *reason,
				  const struct mbuf *sdp, void *arg)
{
	struct call *call = arg;
	(void)dial;
	(void)scode;
	(void)reason;

	/* the first early media reaches the caller, through the relay */
	if (call->early)
		return;

	if (!sdp) {
		(void)leg_progress(call->in, 180, "Ringing", NULL);
		return;
	}

	call->early = true;
	if (relay_sdp(&call->req_answer, call, "answer", fork, sdp,
		      early_resp_handler))
		call->early = false;
}


static void offered_resp_handler(int err, const struct odict *reply,
				 void *arg)
{
	struct call *call = arg;
	struct mbuf *sdp = err ? NULL : sdp_of_reply(reply);
	struct route rt;
	struct pl dialled;
	const char *target;

	call->req_offer = mem_deref(call->req_offer);

	if (!sdp) {
		leg_hangup(call->in, 503, "Media Relay Failed");
		call_end(call, 503, "relay offer failed");
		return;
	}

	pl_set_str(&dialled, call->cdr.callee);
	if (router_lookup(&rt, &dialled)) {
		mem_deref(sdp);
		leg_hangup(call->in, 404, "Not Found");
		call_end(call, 404, "Not Found");
		return;
	}

	target = rt.target;
	err = dial_alloc(&call->dial, call->in, sdp, &target, 1,
			 DIAL_RING_ALL, engine.cfg->call_noanswer_timeout,
			 dial_progress_handler, dial_handler, call);
	mem_deref(sdp);
	if (err) {
		leg_hangup(call->in, 500, "Server Internal Error");
		call_end(call, 500, "dial failed");
	}
}


static void in_event_handler(struct leg *leg, enum leg_event ev,
			     const struct leg_evinfo *info, void *arg)
{
	struct call *call = arg;
	(void)leg;

	/* before the bridge, only the caller giving up matters here */
	if (ev == LEG_EV_CLOSED)
		call_end(call, info->scode ? info->scode : 487, info->reason);
}


static relay_event_h relay_event_handler;
static relay_down_h relay_down_handler;


/* The call takes a relay, and keeps it. Relays may be starting (or
 * starting again): a call waits for one a little, then gets 503 */
static void relay_offer(struct call *call)
{
	int err;

	if (relay_attach(&call->rc, call->rid, relay_event_handler,
			 relay_down_handler, call)) {
		if (call->relay_waits++ < RELAY_WAITS) {
			tmr_start(&call->tmr_relay, RELAY_WAIT_MS,
				  relay_wait_handler, call);
			return;
		}
		err = ENOTCONN;
	}
	else {
		/* from here the relay may hold legs for the call */
		call->relayed = true;
		err = relay_sdp(&call->req_offer, call, "offer", call->in,
				leg_remote_sdp(call->in),
				offered_resp_handler);
	}

	if (err) {
		call->relayed = false;
		leg_hangup(call->in, 503, "Media Relay Unavailable");
		call_end(call, 503, "relay unavailable");
	}
}


static void relay_wait_handler(void *arg)
{
	relay_offer(arg);
}


/* the app is done: its call ends, its record says when it was answered
 * (the session goes with the call) */
static void app_done_handler(uint16_t cause, const char *reason, void *arg)
{
	struct call *call = arg;

	call->cdr.answer_ms = leg_answer_time(call->in);
	call_end(call, cause, reason);
}


static void app_start(struct call *call, const struct app *app)
{
	int err;

	call->app = app;
	DEBUG_INFO("%s: %s -> %s: to the %s\n", call->cdr.call_id,
		   call->cdr.caller, call->cdr.callee, app->name);

	err = app->starth(&call->app_sess, call->in, app_done_handler, call);
	if (err == ENOENT) {
		leg_hangup(call->in, 404, "Not Found");
		call_end(call, 404, "Not Found");
	}
	else if (err) {
		DEBUG_WARNING("%s: the %s did not take the call: %m\n",
			      call->cdr.call_id, app->name, err);
		leg_hangup(call->in, err == ENOTCONN ? 503 : 500,
			   err == ENOTCONN ? "Media Relay Unavailable" :
			   "Server Internal Error");
		call_end(call, 500, "app failed");
	}
}


static void incoming_handler(struct leg *leg, void *arg)
{
	struct call *call;
	struct route rt;
	struct pl dialled;
	(void)arg;

	if (engine.closing || engine.ncalls >=
	    engine.cfg->call_max) {
		leg_hangup(leg, 503, "Service Unavailable");
		mem_deref(leg);
		return;
	}

	call = mem_zalloc(sizeof(*call), destructor);
	if (!call) {
		leg_hangup(leg, 500, "Server Internal Error");
		mem_deref(leg);
		return;
	}

	call->in = leg;
	tmr_init(&call->tmr_relay);
	tmr_init(&call->tmr_quality);
	list_append(&engine.calll, &call->le, call);
	++engine.ncalls;
	leg_set_handlers(leg, in_event_handler, NULL, call);

	str_ncpy(call->cdr.call_id, leg_callid(leg), sizeof(call->cdr.call_id));
	str_ncpy(call->cdr.caller, leg_caller(leg), sizeof(call->cdr.caller));
	str_ncpy(call->cdr.callee, leg_dialled(leg), sizeof(call->cdr.callee));
	call->cdr.start_ms = sb_unixtime_ms();

	pl_set_str(&dialled, leg_dialled(leg));

	if (router_lookup(&rt, &dialled) || rt.kind == ROUTE_NONE) {
		leg_hangup(leg, 404, "Not Found");
		call_end(call, 404, "Not Found");
		return;
	}

	if (rt.kind == ROUTE_APP) {
		app_start(call, rt.app);
		return;
	}

	if (!location_count(rt.target)) {
		leg_hangup(leg, 480, "Temporarily Unavailable");
		call_end(call, 480, "no contact");
		return;
	}

	(void)re_snprintf(call->rid, sizeof(call->rid), "c%llu",
			  (unsigned long long)++engine.next_rid);

	relay_offer(call);
}


/* an event of the call from its relay: a key pressed goes to the
 * other party; an answered call whose media stopped, and that is not on
 * hold, is hung up */
static void relay_event_handler(const char *event, const struct odict *msg,
				void *arg)
{
	struct call *call = arg;
	const char *leg;
	char digit;

	leg = odict_string(msg, "leg");

	if (!str_cmp(event, "dtmf")) {
		digit = relay_event_digit(msg);
		if (!digit)
			return;

		DEBUG_INFO("%s: %s pressed %c (%s)\n", call->cdr.call_id,
			   !str_cmp(leg, "a") ? "caller" : "callee", digit,
			   odict_string(msg, "source"));
		leg_dtmf(!str_cmp(leg, "a") ? call->in : call->out, digit);
		return;
	}

	if (str_cmp(event, "timeout") || !call->br)
		return;

	/* holding and held phones may both stop sending */
	if (hold_active(call->hold)) {
		DEBUG_INFO("%s: no media from leg %s: on hold, kept\n",
			   call->cdr.call_id, leg);
		return;
	}

	DEBUG_NOTICE("%s: no media from leg %s: hanging up\n",
		     call->cdr.call_id, leg);
	call_end(call, 200, "RTP timeout");
}


/* the call's relay went away, and its media with it; calls on other
 * relays go on */
static void relay_down_handler(void *arg)
{
	struct call *call = arg;

	call->relayed = false;
	leg_hangup(call->in, 503, "Media Relay Failed");
	call_end(call, 503, "relay failed");
}


/* the apps' files go beside the store, in media/ (the relay reads and
 * writes them there) */
static int media_dir_make(const char *store_path)
{
	const char *slash = strrchr(store_path, '/');
	char abs[PATH_MAX];
	int n;

	if (slash)
		n = re_snprintf(engine.media_dir, sizeof(engine.media_dir),
				"%b/media", store_path,
				(size_t)(slash - store_path));
	else
		n = re_snprintf(engine.media_dir, sizeof(engine.media_dir),
				"media");
	if (n < 0)
		return ENAMETOOLONG;

	if (mkdir(engine.media_dir, 0750) && errno != EEXIST) {
		DEBUG_WARNING("media directory %s: %m\n", engine.media_dir,
			      errno);
		return errno;
	}

	/* the relay takes absolute paths only */
	if (!realpath(engine.media_dir, abs)) {
		DEBUG_WARNING("media directory %s: %m\n", engine.media_dir,
			      errno);
		return errno;
	}

	if (str_len(abs) >= sizeof(engine.media_dir))
		return ENAMETOOLONG;

	str_ncpy(engine.media_dir, abs, sizeof(engine.media_dir));

	return 0;
}


/**
 * The path of an app's file in the engine's media directory (beside
 * the store), which the relay can read and write
 *
 * @param path Buffer for the path (absolute if the store's is)
 * @param sz   Its size
 * @param name The file's name, no '/' in it
 *
 * @return 0 if success, EINVAL for a bad name, ENAMETOOLONG
 */
int media_file(char *path, size_t sz, const char *name)
{
	if (!path || !str_isset(name) || strchr(name, '/') ||
	    !str_cmp(name, "..") || !str_cmp(name, "."))
		return EINVAL;

	return re_snprintf(path, sz, "%s/%s", engine.media_dir, name) < 0 ?
		ENAMETOOLONG : 0;
}


/**
 * Start the call engine: take INVITEs
 *
 * @param sip SIP stack
 * @param st  Store (CDRs)
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int callengine_init(struct sip *sip, struct store *st,
		    const struct sb_conf *cfg)
{
	int err;

	if (!sip || !st || !cfg)
		return EINVAL;

	engine.store = st;
	engine.cfg = cfg;
	engine.closing = false;
	hold_init(cfg->moh_file);
	media_answer_init(cfg);

	err = media_dir_make(cfg->store_path);
	if (err)
		return err;

	return leg_listen(sip, cfg->sip_domain, incoming_handler, NULL);
}


/**
 * Stop the call engine: every call ends (BYE, CANCEL or 503), with its
 * CDR written
 */
void callengine_close(void)
{
	struct le *le;

	engine.closing = true;

	le = list_head(&engine.calll);
	while (le) {
		struct call *call = le->data;

		le = le->next;
		call_end(call, 503, "shutdown");
	}

	leg_hangup_all();
}


/** @return The number of calls in progress */
uint32_t callengine_count(void)
{
	return engine.ncalls;
}


/**
 * Print the calls in progress as a JSON array
 *
 * @param pf Print function
 *
 * @return 0 if success, otherwise errorcode
 */
int callengine_calls_json(struct re_printf *pf)
{
	struct le *le;
	int err = re_hprintf(pf, "[");

	for (le = list_head(&engine.calll); le; le = le->next) {
		const struct call *call = le->data;
		const char *holder = hold_holder(call->hold);

		err |= re_hprintf(pf, "%s{\"id\":\"%H\",\"caller\":\"%H\","
				  "\"callee\":\"%H\",\"state\":\"%s\","
				  "\"start_ms\":%lld,\"answer_ms\":%lld,"
				  "\"hold\":%s%s%s,"
				  "\"quality\":{\"caller\":%H,\"callee\":%H}}",
				  le == list_head(&engine.calll) ? "" : ",",
				  utf8_encode, call->cdr.call_id,
				  utf8_encode, call->cdr.caller,
				  utf8_encode, call->cdr.callee,
				  call->br ? "talking" : "ringing",
				  (long long)call->cdr.start_ms,
				  (long long)call->cdr.answer_ms,
				  holder ? "\"" : "", holder ? holder : "null",
				  holder ? "\"" : "",
				  quality_print, &call->quality[0],
				  quality_print, &call->quality[1]);
	}

	return err | re_hprintf(pf, "]");
}
