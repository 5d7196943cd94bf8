/**
 * @file call.c  Calls between extensions: route, dial, bridge, CDR
 *
 * The CDR row is written when the call is answered and completed when it
 * ends, so a kill after the 200 loses no answered call.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "call"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** One call: the caller's leg, the dial, then the bridge */
struct call {
	struct le le;           /**< In engine.calll                  */
	struct leg *in;         /**< Caller's leg                     */
	struct dial *dial;      /**< While ringing                    */
	struct leg *out;        /**< Answered callee leg              */
	struct bridge *br;      /**< While talking                    */
	struct cdr cdr;         /**< Its record                       */
};

static struct {
	struct list calll;
	struct store *store;
	const struct sb_conf *cfg;
	bool closing;
} engine;


static void destructor(void *arg)
{
	struct call *call = arg;

	list_unlink(&call->le);
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

	mem_deref(call);
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

	call->out = mem_ref(winner);

	err = leg_answer(call->in, leg_remote_sdp(winner));
	if (!err)
		err = bridge_alloc(&call->br, call->in, call->out,
				   bridge_end_handler, call);
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


static void incoming_handler(struct leg *leg, void *arg)
{
	struct call *call;
	struct route rt;
	struct pl dialled;
	const char *target;
	int err;
	(void)arg;

	if (engine.closing || list_count(&engine.calll) >=
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
	list_append(&engine.calll, &call->le, call);
	leg_set_handlers(leg, in_event_handler, NULL, call);

	str_ncpy(call->cdr.call_id, leg_callid(leg), sizeof(call->cdr.call_id));
	str_ncpy(call->cdr.caller, leg_caller(leg), sizeof(call->cdr.caller));
	str_ncpy(call->cdr.callee, leg_dialled(leg), sizeof(call->cdr.callee));
	call->cdr.start_ms = sb_unixtime_ms();

	pl_set_str(&dialled, leg_dialled(leg));

	if (router_lookup(&rt, &dialled) || rt.kind != ROUTE_EXTENSION) {
		leg_hangup(leg, 404, "Not Found");
		call_end(call, 404, "Not Found");
		return;
	}

	if (!location_count(rt.target)) {
		leg_hangup(leg, 480, "Temporarily Unavailable");
		call_end(call, 480, "no contact");
		return;
	}

	target = rt.target;
	err = dial_alloc(&call->dial, leg, &target, 1, DIAL_RING_ALL,
			 engine.cfg->call_noanswer_timeout, dial_handler,
			 call);
	if (err) {
		leg_hangup(leg, 500, "Server Internal Error");
		call_end(call, 500, "dial failed");
	}
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
	if (!sip || !st || !cfg)
		return EINVAL;

	engine.store = st;
	engine.cfg = cfg;
	engine.closing = false;

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
	return list_count(&engine.calll);
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

		err |= re_hprintf(pf, "%s{\"id\":\"%H\",\"caller\":\"%H\","
				  "\"callee\":\"%H\",\"state\":\"%s\","
				  "\"start_ms\":%lld,\"answer_ms\":%lld}",
				  le == list_head(&engine.calll) ? "" : ",",
				  utf8_encode, call->cdr.call_id,
				  utf8_encode, call->cdr.caller,
				  utf8_encode, call->cdr.callee,
				  call->br ? "talking" : "ringing",
				  (long long)call->cdr.start_ms,
				  (long long)call->cdr.answer_ms);
	}

	return err | re_hprintf(pf, "]");
}
