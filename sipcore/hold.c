/**
 * @file hold.c  Hold: which party of a call holds the other, and the
 *               music the held one hears
 *
 * A party holds the other with an offer (sdp_hold.c). The offer still
 * goes across, so the held phone shows the hold and answers recvonly,
 * and the relay plays the music on hold, looping, to the leg facing the
 * held party in place of what the holder sends; a resume stops it.
 *
 * Each party's hold is its own: a party hears music exactly while the
 * other holds it. So when both hold each other both hear music, and a
 * resume stops the music only of the party it resumes: the one who
 * still holds goes on holding the other, who goes on hearing music.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "hold"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** One party of a call, as hold sees it */
struct party {
	struct hold *hold;      /**< Its call's hold                  */
	struct relay_req *req;  /**< The last play or stop, in flight */
	bool held;              /**< The other party holds it         */
	bool playing;           /**< Music was asked for it           */
};

/** Hold state of one call */
struct hold {
	struct relay_call *rc;  /**< The call's relay (ref)           */
	char *rid;              /**< The call's id at the relay       */
	char *name;             /**< The call, for the log            */
	struct party partyv[2]; /**< By enum hold_party               */
};

static struct {
	const char *music;      /**< File, or "" for none (config)    */
	bool warned;            /**< Its absence was logged           */
} moh = {"", false};

/* the relay legs facing caller and callee, as call.c makes them */
static const char * const legv[2] = {"a", "b"};
static const char * const partyname[2] = {"caller", "callee"};


static void destructor(void *arg)
{
	struct hold *h = arg;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(h->partyv); i++)
		mem_deref(h->partyv[i].req);
	mem_deref(h->rc);
	mem_deref(h->rid);
	mem_deref(h->name);
}


static enum hold_party party_index(const struct party *p)
{
	return p == &p->hold->partyv[HOLD_CALLER] ? HOLD_CALLER :
		HOLD_CALLEE;
}


/* a failed play or stop costs the music, never the call */
static void music_resp_handler(int err, const struct odict *reply,
			       void *arg)
{
	struct party *p = arg;
	const char *why = reply ? odict_string(reply, "error") : NULL;

	p->req = mem_deref(p->req);

	if (err)
		DEBUG_WARNING("%s: music on hold for the %s: %m (%s)\n",
			      p->hold->name, partyname[party_index(p)], err,
			      why ? why : "no reply");
}


/* the music file is there to play; its absence is logged once (until
 * it is back) and the held party hears silence */
static bool music_ready(void)
{
	if (!str_isset(moh.music))
		return false;

	if (access(moh.music, R_OK)) {
		if (!moh.warned)
			DEBUG_WARNING("music on hold %s: %m: held parties"
				      " hear silence\n", moh.music, errno);
		moh.warned = true;
		return false;
	}

	moh.warned = false;

	return true;
}


static void music_start(struct party *p)
{
	struct hold *h = p->hold;
	int err;

	if (!music_ready())
		return;

	p->req = mem_deref(p->req);
	err = relay_request(h->rc, &p->req, music_resp_handler, p,
			    "\"command\":\"play\",\"call\":\"%s\","
			    "\"leg\":\"%s\",\"file\":\"%H\",\"loop\":true",
			    h->rid, legv[party_index(p)], utf8_encode,
			    moh.music);
	if (err)
		DEBUG_WARNING("%s: music on hold for the %s: %m\n", h->name,
			      partyname[party_index(p)], err);
	else
		p->playing = true;
}


static void music_stop(struct party *p)
{
	struct hold *h = p->hold;
	int err;

	if (!p->playing)
		return;

	p->playing = false;
	p->req = mem_deref(p->req);
	err = relay_request(h->rc, &p->req, music_resp_handler, p,
			    "\"command\":\"stop\",\"call\":\"%s\","
			    "\"leg\":\"%s\"", h->rid, legv[party_index(p)]);
	if (err)
		DEBUG_WARNING("%s: music on hold for the %s not stopped:"
			      " %m\n", h->name, partyname[party_index(p)],
			      err);
}


/**
 * Set the music held parties hear, and say at once if it is missing
 *
 * @param music WAV file (absolute, the relay reads it), "" for none
 */
void hold_init(const char *music)
{
	moh.music = music ? music : "";
	moh.warned = false;

	if (str_isset(moh.music) && music_ready())
		DEBUG_INFO("music on hold: %s\n", moh.music);
}


/**
 * Start keeping the hold state of a call
 *
 * @param hp   Pointer to the allocated hold state
 * @param rc   The call's place on its relay
 * @param rid  The call's id at the relay
 * @param name The call, for the log
 *
 * @return 0 if success, otherwise errorcode
 */
int hold_alloc(struct hold **hp, struct relay_call *rc, const char *rid,
	       const char *name)
{
	struct hold *h;
	size_t i;
	int err;

	if (!hp || !rc || !rid || !name)
		return EINVAL;

	h = mem_zalloc(sizeof(*h), destructor);
	if (!h)
		return ENOMEM;

	h->rc = mem_ref(rc);
	for (i = 0; i < ARRAY_SIZE(h->partyv); i++)
		h->partyv[i].hold = h;

	err = str_dup(&h->rid, rid);
	err |= str_dup(&h->name, name);
	if (err)
		mem_deref(h);
	else
		*hp = h;

	return err;
}


/**
 * An offer from one party reached the relay: it holds the other party,
 * who then hears music, or takes the hold off
 *
 * @param h     Hold state of the call
 * @param from  The party that offers
 * @param offer Its offer
 */
void hold_offer(struct hold *h, enum hold_party from,
		const struct mbuf *offer)
{
	struct party *p;
	bool holds = sdp_holds(offer);

	if (!h)
		return;

	p = &h->partyv[from == HOLD_CALLER ? HOLD_CALLEE : HOLD_CALLER];
	if (p->held == holds)
		return;

	p->held = holds;
	DEBUG_INFO("%s: %s %s the %s\n", h->name, partyname[from],
		   holds ? "holds" : "resumes", partyname[party_index(p)]);

	if (holds)
		music_start(p);
	else
		music_stop(p);
}


/**
 * Whether either party holds the other: silence is then expected
 *
 * @param h Hold state of the call, or NULL
 *
 * @return True if on hold
 */
bool hold_active(const struct hold *h)
{
	return h && (h->partyv[HOLD_CALLER].held ||
		     h->partyv[HOLD_CALLEE].held);
}


/**
 * Who holds in a call, as the API says it
 *
 * @param h Hold state of the call, or NULL
 *
 * @return "caller", "callee", "both", or NULL if nobody holds
 */
const char *hold_holder(const struct hold *h)
{
	bool caller, callee;

	if (!h)
		return NULL;

	caller = h->partyv[HOLD_CALLEE].held;
	callee = h->partyv[HOLD_CALLER].held;

	if (caller && callee)
		return "both";

	return caller ? "caller" : callee ? "callee" : NULL;
}
