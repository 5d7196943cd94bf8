/**
 * @file attach.c  Players and recorders on legs and mixers: attach,
 *                 detach, end
 *
 * Control thread. A player or recorder is made first (play.c, rec.c),
 * then put on its leg or mixer under that one's lock, where its packet
 * thread finds it: on a leg, a player at each 20 ms tick (fwd_tick), a
 * recorder with each packet the leg receives (fwd_recv); on a mixer,
 * both at its tick (mixer_tick). Taking one off is the same swap under
 * the lock; once it returns no packet thread can reach the object, so
 * it is freed (or its file finished) at once.
 *
 * While a player is on a leg, its "playing" flag tells the peer's side
 * (which holds the peer's lock, never this leg's) to hold back what it
 * would send the leg's party, and a mixer the leg is in to send it
 * nothing.
 */
#include <re.h>
#include "relay.h"
#include "mixer.h"


/* put a player where a lock guards it (NULL: none), with the flag
 * that says one is there, if any; returns the one it replaces (the
 * caller's reference) */
static struct play *play_put(pthread_mutex_t *mtx, struct play **slot,
			     struct play *p, atomic_bool *playing)
{
	struct play *old;

	pthread_mutex_lock(mtx);
	old = *slot;
	*slot = mem_ref(p);
	if (playing)
		atomic_store(playing, p != NULL);
	pthread_mutex_unlock(mtx);

	return old;
}


/* put a recorder where a lock guards it (NULL: none; the caller's
 * reference passes); returns the one that was there, whose reference
 * passes to the caller */
static struct rec *rec_put(pthread_mutex_t *mtx, struct rec **slot,
			   struct rec *r)
{
	struct rec *old;

	pthread_mutex_lock(mtx);
	old = *slot;
	*slot = r;
	pthread_mutex_unlock(mtx);

	return old;
}


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
	lc->fmtp = leg->neg.fmtp;

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

	old = play_put(&leg->mtx, &leg->play, p, &leg->playing);

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

	(void)rec_put(&leg->mtx, &leg->rec, mem_ref(r));
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
	if (!leg || !leg->rec)
		return NULL;

	return rec_put(&leg->mtx, &leg->rec, NULL);
}


/**
 * Play into a mixer: every member hears it (mixed in as one more
 * party), and it is recorded with the mix; replaces what played
 *
 * @param m Mixer
 * @param p Player made for the mixer's rate (play_file_pcm,
 *          play_tone_pcm; a reference is taken), NULL: none
 */
void mixer_play(struct mixer *m, struct play *p)
{
	if (m)
		mem_deref(play_put(&m->mtx, &m->play, p, NULL));
}


/**
 * End what plays into a mixer
 *
 * @param m Mixer
 *
 * @return True if something was playing
 */
bool mixer_play_stop(struct mixer *m)
{
	bool playing = m && m->play;

	if (playing)
		mixer_play(m, NULL);

	return playing;
}


/**
 * A packet thread saw the player of a mixer end: take it off, and tell
 * the core
 *
 * @param id Mixer id
 */
void mixer_played(uint32_t id)
{
	struct mixer *m = mixer_find_id(id);
	struct play *p = m ? m->play : NULL;

	/* gone, or stopped or replaced since: nothing to report */
	if (!play_ended(p))
		return;

	mem_ref(p);
	mixer_play(m, NULL);
	event_mixer_played(m, p);
	mem_deref(p);
}


/**
 * Record a mixer: everything its members hear, and what plays into it
 *
 * @param m Mixer, recording nothing
 * @param r Recorder made for the mixer's rate (rec_pcm_alloc; a
 *          reference is taken)
 */
void mixer_rec(struct mixer *m, struct rec *r)
{
	if (!m || !r || m->rec)
		return;

	(void)rec_put(&m->mtx, &m->rec, mem_ref(r));
}


/**
 * Take a mixer's recorder off it, as leg_rec_take does
 *
 * @param m Mixer
 *
 * @return The recorder (the caller's reference), NULL if none
 */
struct rec *mixer_rec_take(struct mixer *m)
{
	if (!m || !m->rec)
		return NULL;

	return rec_put(&m->mtx, &m->rec, NULL);
}
