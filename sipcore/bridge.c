/**
 * @file bridge.c  Two answered legs joined: offers and hang-ups cross
 *
 * An offer from one side goes to the other as a re-INVITE (through the
 * owner's offer handler, which may rewrite it) and is answered at once
 * with the description this side last got from us, its direction
 * mirroring the offer's (sipsess answers offers synchronously). The
 * other side's own answer, when it comes, goes to the owner's answer
 * handler (the relay learns the party's new address from it).
 */
#include <re.h>
#include "sipcore.h"


/** Two joined legs */
struct bridge {
	struct leg *a;          /**< One side (ref)                  */
	struct leg *b;          /**< The other side (ref)            */
	bridge_offer_h *offerh; /**< Sends an offer on, or NULL      */
	bridge_answer_h *answerh; /**< Its answer came, or NULL      */
	bridge_end_h *endh;     /**< Called when either side ends    */
	void *arg;              /**< Handler argument                */
	uint64_t ver_a;         /**< o= version of our answers to a  */
	uint64_t ver_b;         /**< o= version of our answers to b  */
};


static void destructor(void *arg)
{
	struct bridge *br = arg;

	leg_set_handlers(br->a, NULL, NULL, NULL);
	leg_set_handlers(br->b, NULL, NULL, NULL);
	mem_deref(br->a);
	mem_deref(br->b);
}


static struct leg *other(const struct bridge *br, const struct leg *leg)
{
	return leg == br->a ? br->b : br->a;
}


static void event_handler(struct leg *leg, enum leg_event ev,
			  const struct leg_evinfo *info, void *arg)
{
	struct bridge *br = arg;

	if (ev == LEG_EV_MODIFIED && br->answerh) {
		br->answerh(br, leg, info->sdp, br->arg);
		return;
	}

	if (ev != LEG_EV_CLOSED)
		return;

	leg_hangup(other(br, leg), 0, NULL);

	if (br->endh)
		br->endh(br, leg, info, br->arg);
}


static int offer_handler(struct leg *leg, const struct mbuf *offer,
			 struct mbuf **answerp, void *arg)
{
	struct bridge *br = arg;
	struct leg *peer = other(br, leg);
	const struct mbuf *last = leg_local_sdp(leg);
	int err;

	if (!last)
		return EPROTO;

	if (br->offerh)
		err = br->offerh(br, leg, peer, offer, br->arg);
	else
		err = leg_modify(peer, offer);
	if (err)
		return err;

	return sdp_mirror(answerp, last, offer,
			  leg == br->a ? &br->ver_a : &br->ver_b);
}


/**
 * Join two answered legs
 *
 * @param brp  Pointer to allocated bridge; mem_deref unjoins (no hang-up)
 * @param a      One leg
 * @param b      The other leg
 * @param offerh Sends an offer from one leg on to the other (NULL: as
 *               it is)
 * @param answerh Told of the answer to an offer sent on (may be NULL)
 * @param endh   Called when either leg ends (the other is hung up)
 * @param arg    Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int bridge_alloc(struct bridge **brp, struct leg *a, struct leg *b,
		 bridge_offer_h *offerh, bridge_answer_h *answerh,
		 bridge_end_h *endh, void *arg)
{
	struct bridge *br;

	if (!brp || !a || !b || a == b)
		return EINVAL;

	br = mem_zalloc(sizeof(*br), destructor);
	if (!br)
		return ENOMEM;

	br->a = mem_ref(a);
	br->b = mem_ref(b);
	br->offerh = offerh;
	br->answerh = answerh;
	br->endh = endh;
	br->arg = arg;

	leg_set_handlers(a, event_handler, offer_handler, br);
	leg_set_handlers(b, event_handler, offer_handler, br);

	*brp = br;

	return 0;
}
