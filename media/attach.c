/**
 * @file attach.c  Players and recorders on legs: attach, detach, end
 *
 * Control thread. A player or recorder is made first (play.c, rec.c),
 * then put on its leg under the leg's lock, where the leg's packet
 * thread finds it: a player at each 20 ms tick (fwd_tick), a recorder
 * with each packet the leg receives (fwd_recv). Taking one off is the
 * same swap under the lock; once it returns no packet thread can reach
 * the object, so it is freed (or its file finished) at once.
 *
 * While a player is on a leg, its "playing" flag tells the peer's side
 * (which holds the peer's lock, never this leg's) to hold back what it
 * would send the leg's party.
 */
#include <re.h>
#include "relay.h"


/**
 * The codec a leg's party takes, as the last answer chose it
 *
 * @param lc  Returned codec, payload type and a=fmtp (pointing into
 *            the leg: valid while it is not renegotiated)
 * @param leg Leg
 *
 * @return 0 if success, ENOTSUP if the leg has no answer yet or its
 *         party takes a codec the relay does not have
 */
int leg_codec(struct legcodec *lc, const struct leg *leg)
{
	if (!lc || !leg)
		return EINVAL;

	if (leg->codec >= 0) {
		lc->codec = leg->codec;
		lc->pt = leg->pt;
	}
	else if (leg->relay_codec >= 0) {
		lc->codec = leg->relay_codec;
		lc->pt = leg->relay_pt;
	}
	else {
		return ENOTSUP;
	}

	/* the a=fmtp its party gave for the codec it uses (relayed as
	 * is, an offerer's may be that of its first codec: only Opus
	 * reads it, and only its own parameters) */
	lc->fmtp = leg->neg.fmtp[0] ? leg->neg.fmtp : NULL;

	return 0;
}


/**
 * Play to a leg's party instead of its peer, replacing what played
 *
 * @param leg Leg
 * @param p   Player (a reference is taken), NULL: back to the peer
 */
void leg_play(struct leg *leg, struct play *p)
{
	struct play *old;

	if (!leg)
		return;

	pthread_mutex_lock(&leg->mtx);
	old = leg->play;
	leg->play = mem_ref(p);
	atomic_store(&leg->playing, p != NULL);
	pthread_mutex_unlock(&leg->mtx);

	/* a player is played out on the 20 ms ticks, as a path is */
	if (!old != !p)
		worker_paths(leg->worker, p ? 1 : -1);

	mem_deref(old);
}


/**
 * End what plays to a leg's party: it hears its peer again
 *
 * @param leg Leg
 *
 * @return True if something was playing
 */
bool leg_play_stop(struct leg *leg)
{
	bool playing = leg && leg->play;

	if (playing)
		leg_play(leg, NULL);

	return playing;
}


/**
 * A packet thread saw a leg's player end: take it off, and tell the
 * core. A player that replaced it meanwhile, or none, is left alone.
 *
 * @param leg Leg
 */
void leg_play_ended(struct leg *leg)
{
	struct play *p;

	if (!leg || !play_ended(leg->play))
		return;

	p = mem_ref(leg->play);
	leg_play(leg, NULL);
	event_played(leg, p);
	mem_deref(p);
}


/**
 * Record what a leg's party sends
 *
 * @param leg Leg, recording nothing
 * @param r   Recorder (a reference is taken)
 */
void leg_rec(struct leg *leg, struct rec *r)
{
	if (!leg || !r || leg->rec)
		return;

	pthread_mutex_lock(&leg->mtx);
	leg->rec = mem_ref(r);
	pthread_mutex_unlock(&leg->mtx);
}


/**
 * Take a leg's recorder off it: no packet thread reaches it after
 *
 * @param leg Leg
 *
 * @return The recorder (the caller's reference: close it with
 *         rec_close, then release it), NULL if none
 */
struct rec *leg_rec_take(struct leg *leg)
{
	struct rec *r;

	if (!leg || !leg->rec)
		return NULL;

	pthread_mutex_lock(&leg->mtx);
	r = leg->rec;
	leg->rec = NULL;
	pthread_mutex_unlock(&leg->mtx);

	return r;
}
