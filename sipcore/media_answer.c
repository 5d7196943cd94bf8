/**
 * @file media_answer.c  Answering a leg with the relay as its far end
 *
 * Apps answer calls themselves. The leg's offer goes to the relay, from
 * the relay leg facing the party to one facing nobody; the engine
 * answers for that one itself (sdp_local.c: the hold address, the
 * party's codec), and the relay's answer for the party answers the leg.
 * Two requests in a row; mem_deref of the exchange drops it, unheard.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/** One leg being answered */
struct media_answer {
	struct relay_call *rc;    /**< The relay call (ref)           */
	char *rid;                /**< Its id                         */
	char *party;              /**< Relay leg facing the party     */
	char *nobody;             /**< Relay leg facing nobody        */
	struct leg *leg;          /**< The leg (ref)                  */
	struct relay_req *req;    /**< Offer, then answer             */
	media_answer_h *h;        /**< Told once                      */
	void *arg;                /**< Its argument                   */
};

static const char *relay_source;  /**< The nobody leg's "source"     */


static void destructor(void *arg)
{
	struct media_answer *ma = arg;

	mem_deref(ma->req);
	mem_deref(ma->rc);
	mem_deref(ma->rid);
	mem_deref(ma->party);
	mem_deref(ma->nobody);
	mem_deref(ma->leg);
}


/**
 * Set the address the legs facing nobody name as their source (the
 * relay's own: nothing comes from it)
 *
 * @param cfg Configuration (kept)
 */
void media_answer_init(const struct sb_conf *cfg)
{
	relay_source = cfg->relay_address;
}


static void done(struct media_answer *ma, int err)
{
	media_answer_h *h = ma->h;

	ma->h = NULL;
	ma->req = mem_deref(ma->req);

	if (h)
		h(err, ma->arg);
}


static void answer_resp_handler(int err, const struct odict *reply,
				void *arg)
{
	struct media_answer *ma = arg;
	struct mbuf *sdp = err ? NULL : sdp_of_reply(reply);

	if (!err && !sdp)
		err = EPROTO;
	if (!err)
		err = leg_answer(ma->leg, sdp);

	mem_deref(sdp);
	done(ma, err);
}


static void offer_resp_handler(int err, const struct odict *reply,
			       void *arg)
{
	struct media_answer *ma = arg;
	struct mbuf *offer = err ? NULL : sdp_of_reply(reply);
	struct mbuf *answer = NULL;

	ma->req = mem_deref(ma->req);

	if (!err && !offer)
		err = EPROTO;
	if (!err)
		err = sdp_local_answer(&answer, offer);
	if (!err)
		err = relay_request(ma->rc, &ma->req, answer_resp_handler, ma,
				    "\"command\":\"answer\",\"call\":\"%s\","
				    "\"from\":\"%s\",\"to\":\"%s\","
				    "\"source\":\"%s\",\"sdp\":\"%H\"", ma->rid,
				    ma->nobody, ma->party, relay_source,
				    sdp_json, answer);

	mem_deref(offer);
	mem_deref(answer);

	if (err)
		done(ma, err);
}


/**
 * Answer an incoming leg, its media on the relay facing nobody
 *
 * @param map    Returned exchange (mem_deref drops it)
 * @param rc     The relay call
 * @param rid    Its id
 * @param party  Name of the relay leg to face the party
 * @param nobody Name of the one to face nobody
 * @param leg    Incoming leg, not answered yet, with its offer
 * @param h      Told once: answered (0) or why not
 * @param arg    Handler argument
 *
 * @return 0 if asked for, otherwise errorcode
 */
int media_answer(struct media_answer **map, struct relay_call *rc,
		 const char *rid, const char *party, const char *nobody,
		 struct leg *leg, media_answer_h *h, void *arg)
{
	struct media_answer *ma;
	int err;

	if (!map || !rc || !rid || !party || !nobody || !leg ||
	    !leg_remote_sdp(leg) || !relay_source)
		return EINVAL;

	if (leg_state(leg) == LEG_ANSWERED || leg_state(leg) == LEG_CLOSED)
		return EINVAL;

	ma = mem_zalloc(sizeof(*ma), destructor);
	if (!ma)
		return ENOMEM;

	ma->rc = mem_ref(rc);
	ma->leg = mem_ref(leg);
	ma->h = h;
	ma->arg = arg;
	err  = str_dup(&ma->rid, rid);
	err |= str_dup(&ma->party, party);
	err |= str_dup(&ma->nobody, nobody);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	err = relay_request(rc, &ma->req, offer_resp_handler, ma,
			    "\"command\":\"offer\",\"call\":\"%s\","
			    "\"from\":\"%s\",\"to\":\"%s\",\"source\":\"%j\","
			    "\"sdp\":\"%H\"", rid, party, nobody,
			    leg_source(leg), sdp_json, leg_remote_sdp(leg));

 out:
	if (err)
		mem_deref(ma);
	else
		*map = ma;

	return err;
}
