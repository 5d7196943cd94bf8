/**
 * @file mixer.c  Mixers, seen from the control thread: make, find, join,
 *                leave, free
 *
 * A mixer belongs to a call, and only the call's legs may join it: so
 * the mixer and all its legs run on the call's one packet thread
 * (call_worker), which ticks the mixer every 20 ms from mixer_alloc
 * until it is freed (mixer_tick.c). A call without mixers costs
 * nothing.
 *
 * Joining leaves the leg's bridge as it is: while the leg is in the
 * mixer, what its party sends goes into the mix instead of to its
 * peer, and what the peer would send it is held back (leg->mixed, read
 * by the peer's side as it reads leg->playing). Leaving, the leg is
 * back in that bridge, as offers and answers left it meanwhile (a leg
 * that was in none, or whose peer moved on, hears silence until one
 * bridges it).
 *
 * Each member has its own decoding path (jitter buffer, concealment,
 * resampling to the mix's rate, in-band digits: path.c) and its own
 * RTP stream of the mix minus itself (a player without a source:
 * play.c), both in the leg's codec as the last answer chose it, and
 * made again when an answer changes that (mixer_update).
 */
#include <string.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "mixer.h"

#define DEBUG_MODULE "mixer"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static struct {
	struct list l;            /**< Every mixer, for reports by id */
	uint32_t next_id;         /**< Last id given                  */
} mixers;

/* the names of the modes on the wire */
static const char *modev[] = {
	[MIXER_BOTH] = "both", [MIXER_LISTEN] = "listen",
	[MIXER_SPEAK] = "speak",
};


static void member_destructor(void *arg)
{
	struct member *mb = arg;

	mem_deref(mb->in);
	mem_deref(mb->out);
}


/* once its leg and its mixer let go of it, no thread can reach it */
static void member_remove(struct member *mb)
{
	struct mixer *m = mb->mixer;
	struct leg *leg = mb->leg;

	pthread_mutex_lock(&leg->mtx);
	leg->member = NULL;
	pthread_mutex_unlock(&leg->mtx);
	atomic_store_explicit(&leg->mixed, false, memory_order_release);

	pthread_mutex_lock(&m->mtx);
	m->slotv[mb->slot] = NULL;
	pthread_mutex_unlock(&m->mtx);
	--m->nmembers;

	mem_deref(mb);
}


static void destructor(void *arg)
{
	struct mixer *m = arg;
	unsigned s;

	for (s = MIXER_SLOT_LEG; s < MIX_MEMBERS_MAX; s++) {
		if (m->slotv[s])
			member_remove(m->slotv[s]);
	}

	/* its thread does not tick it once this returns */
	worker_mixer_remove(m->worker, &m->wle);

	list_unlink(&m->le);
	list_unlink(&m->ale);

	/* a recording is kept whoever ends the mixer (a core that went
	 * away is not told) */
	if (m->rec)
		(void)rec_close(m->rec, NULL);

	mem_deref(m->rec);
	mem_deref(m->play);
	mem_deref(m->mix);

	if (m->mtx_ok)
		pthread_mutex_destroy(&m->mtx);
}


/**
 * Make a mixer in a call; its packet thread ticks it from now on
 *
 * @param mp    Returned mixer, owned by the call (mem_deref frees it:
 *              its legs leave it)
 * @param call  Call
 * @param name  Mixer name (1 .. LEG_NAME_MAX bytes), new in the call
 * @param srate The mix's rate: 8000 or 16000
 *
 * @return 0 if success, EEXIST if the call has a mixer of that name,
 *         otherwise errorcode
 */
int mixer_alloc(struct mixer **mp, struct call *call, const char *name,
		uint32_t srate)
{
	struct mixer *m;
	int err;

	if (!mp || !call || !str_isset(name) || strlen(name) > LEG_NAME_MAX ||
	    (srate != 8000 && srate != 16000))
		return EINVAL;

	if (mixer_find(call, name))
		return EEXIST;

	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;

	err = pthread_mutex_init(&m->mtx, NULL);
	if (err)
		goto out;
	m->mtx_ok = true;

	m->srate = srate;
	m->frame = srate * MIXER_TICK_MS / 1000;
	err = mix_alloc(&m->mix, MIX_MEMBERS_MAX, m->frame);
	if (err)
		goto out;

	m->call = call;
	str_ncpy(m->name, name, sizeof(m->name));
	if (++mixers.next_id == 0)
		++mixers.next_id;
	m->id = mixers.next_id;

	list_append(call_mixers(call), &m->le, m);
	list_append(&mixers.l, &m->ale, m);

	m->worker = call_worker(call);
	worker_mixer_add(m->worker, &m->wle, m);

 out:
	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


/**
 * Find a mixer of a call by name
 *
 * @param call Call
 * @param name Mixer name
 *
 * @return The mixer, or NULL
 */
struct mixer *mixer_find(struct call *call, const char *name)
{
	struct le *le;

	if (!name)
		return NULL;

	for (le = list_head(call_mixers(call)); le; le = le->next) {
		struct mixer *m = le->data;

		if (!strcmp(m->name, name))
			return m;
	}

	return NULL;
}


/**
 * Find a mixer by its id (a report from its packet thread)
 *
 * @param id Mixer id
 *
 * @return The mixer, or NULL if it is gone
 */
struct mixer *mixer_find_id(uint32_t id)
{
	struct le *le;

	for (le = list_head(&mixers.l); le; le = le->next) {
		struct mixer *m = le->data;

		if (m->id == id)
			return m;
	}

	return NULL;
}


/* the telephone-event type a leg's party sends, -1: none */
static int leg_te(const struct leg *leg)
{
	return leg->neg.te ? leg->neg.te_pt : -1;
}


/* a member's decoding path and stream, as its mode needs them, in the
 * codec lc (and with the leg's telephone-event te) */
static int member_media(struct member *mb, const struct legcodec *lc,
			int te, struct path **inp, struct play **outp)
{
	const struct mixer *m = mb->mixer;
	struct codec *dec = NULL;
	struct pl fmtp = PL_INIT;
	struct path_cfg cfg;
	int err = 0;

	if (mb->mode != MIXER_LISTEN) {
		/* Opus decodes at the mix's rate: nothing to resample */
		pl_set_str(&fmtp, lc->fmtp);
		err = codec_alloc(&dec, lc->codec, lc->codec == CODEC_OPUS ?
				  m->srate : codec_info(lc->codec)->srate,
				  &fmtp);

		memset(&cfg, 0, sizeof(cfg));
		cfg.dec = dec;
		cfg.pt_in = lc->pt;
		cfg.rate = m->srate;
		cfg.te_in = te;
		cfg.te_out = -1;
		cfg.leg_id = mb->leg->id;
		err = err ? err : path_alloc(inp, &cfg);
		mem_deref(dec);
	}

	if (!err && mb->mode != MIXER_SPEAK) {
		err = play_stream(outp, lc, m->srate);
		if (err)
			*inp = mem_deref(*inp);
	}

	return err;
}


/**
 * Put a leg of the mixer's call into the mixer
 *
 * @param m    Mixer
 * @param leg  Leg, in no mixer
 * @param mode Mixed in and hearing the others, listening only, or
 *             speaking only
 *
 * @return 0 if success, EEXIST if the leg is in a mixer, ENOTSUP if it
 *         has no codec of the relay's (no answer yet, or one relayed as
 *         is that the relay does not have), ENOSPC if the mixer is
 *         full, otherwise errorcode
 */
int mixer_join(struct mixer *m, struct leg *leg, enum mixer_mode mode)
{
	struct legcodec lc;
	struct member *mb;
	unsigned slot;
	int err;

	if (!m || !leg || leg->call != m->call || mode > MIXER_SPEAK)
		return EINVAL;

	/* only this thread writes it: reading it unlocked is safe */
	if (leg->member)
		return EEXIST;

	if (leg_codec(&lc, leg))
		return ENOTSUP;

	for (slot = MIXER_SLOT_LEG; slot < MIX_MEMBERS_MAX; slot++) {
		if (!m->slotv[slot])
			break;
	}
	if (slot == MIX_MEMBERS_MAX)
		return ENOSPC;

	mb = mem_zalloc(sizeof(*mb), member_destructor);
	if (!mb)
		return ENOMEM;

	mb->mixer = m;
	mb->leg = leg;
	mb->slot = slot;
	mb->mode = mode;
	mb->codec = lc.codec;
	mb->pt = lc.pt;
	mb->te = leg_te(leg);
	err = member_media(mb, &lc, mb->te, &mb->in, &mb->out);
	if (err) {
		mem_deref(mb);
		return err;
	}

	pthread_mutex_lock(&m->mtx);
	m->slotv[slot] = mb;
	pthread_mutex_unlock(&m->mtx);
	++m->nmembers;

	pthread_mutex_lock(&leg->mtx);
	leg->member = mb;
	pthread_mutex_unlock(&leg->mtx);
	atomic_store_explicit(&leg->mixed, true, memory_order_release);

	return 0;
}


/**
 * Take a leg out of its mixer: it is back in its bridge
 *
 * @param leg Leg
 *
 * @return True if it was in a mixer
 */
bool mixer_leave(struct leg *leg)
{
	if (!leg || !leg->member)
		return false;

	member_remove(leg->member);

	return true;
}


/**
 * After an answer: a leg in a mixer decodes and encodes with the codec
 * it chose from now on
 *
 * @param leg Leg, in a mixer or not
 *
 * @return 0 if success (or nothing changed); otherwise errorcode, and
 *         the leg has left its mixer (ENOTSUP: the answer chose a codec
 *         the relay does not have)
 */
int mixer_update(struct leg *leg)
{
	struct member *mb = leg ? leg->member : NULL;
	struct path *in = NULL, *old_in;
	struct play *out = NULL, *old_out;
	struct legcodec lc;
	int te, err;

	if (!mb)
		return 0;

	te = leg_te(leg);
	err = leg_codec(&lc, leg) ? ENOTSUP : 0;
	if (!err && lc.codec == mb->codec && lc.pt == mb->pt && te == mb->te)
		return 0;

	err = err ? err : member_media(mb, &lc, te, &in, &out);
	if (err) {
		DEBUG_WARNING("%s/%s: leaves mixer '%s': %m\n",
			      call_name(leg->call), leg->name,
			      mb->mixer->name, err);
		(void)mixer_leave(leg);
		return err;
	}

	pthread_mutex_lock(&leg->mtx);
	old_in = mb->in;
	mb->in = in;
	pthread_mutex_unlock(&leg->mtx);

	pthread_mutex_lock(&mb->mixer->mtx);
	old_out = mb->out;
	mb->out = out;
	pthread_mutex_unlock(&mb->mixer->mtx);

	mb->codec = lc.codec;
	mb->pt = lc.pt;
	mb->te = te;
	mem_deref(old_in);
	mem_deref(old_out);

	return 0;
}


/**
 * @param leg Leg
 *
 * @return The mixer it is in, or NULL (control thread)
 */
struct mixer *leg_mixer(const struct leg *leg)
{
	return leg && leg->member ? leg->member->mixer : NULL;
}


/** @return The mixer's name */
const char *mixer_name(const struct mixer *m)
{
	return m ? m->name : NULL;
}


/** @return The call the mixer belongs to */
struct call *mixer_call(const struct mixer *m)
{
	return m ? m->call : NULL;
}


/** @return The mix's PCM rate */
uint32_t mixer_srate(const struct mixer *m)
{
	return m ? m->srate : 0;
}


/** @return Its recorder, or NULL (control thread) */
const struct rec *mixer_recording(const struct mixer *m)
{
	return m ? m->rec : NULL;
}


/**
 * Find a mode by its name
 *
 * @param modep Returned mode
 * @param name  "both", "listen" or "speak"
 *
 * @return 0 if success, ENOENT if there is no such mode
 */
int mixer_mode_find(enum mixer_mode *modep, const char *name)
{
	size_t i;

	if (!modep || !name)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(modev); i++) {
		if (!strcmp(modev[i], name)) {
			*modep = (enum mixer_mode)i;
			return 0;
		}
	}

	return ENOENT;
}


/* an object for an entry of an array, keyed by its place */
static int entry_add(struct odict *arr, struct odict *entry)
{
	char key[16];

	(void)re_snprintf(key, sizeof(key), "%zu", odict_count(arr, false));

	return odict_entry_add(arr, key, ODICT_OBJECT, entry);
}


/* "legs": each member and how it is in */
static int members_encode(struct odict *o, const struct mixer *m)
{
	struct odict *arr = NULL;
	unsigned s;
	int err;

	err = odict_alloc(&arr, 8);

	for (s = MIXER_SLOT_LEG; s < MIX_MEMBERS_MAX && !err; s++) {
		const struct member *mb = m->slotv[s];
		struct odict *mo = NULL;

		if (!mb)
			continue;

		err = odict_alloc(&mo, 4);
		err = err ? err : odict_entry_add(mo, "leg", ODICT_STRING,
						  mb->leg->name);
		err = err ? err : odict_entry_add(mo, "mode", ODICT_STRING,
						  modev[mb->mode]);
		err = err ? err : entry_add(arr, mo);
		mem_deref(mo);
	}

	err = err ? err : odict_entry_add(o, "legs", ODICT_ARRAY, arr);
	mem_deref(arr);

	return err;
}


/* a mixer, for the "mixers" array */
static int mixer_encode(struct odict *arr, const struct mixer *m)
{
	struct odict *mo = NULL;
	int err;

	err = odict_alloc(&mo, 8);
	err = err ? err : odict_entry_add(mo, "mixer", ODICT_STRING, m->name);
	err = err ? err : odict_entry_add(mo, "rate", ODICT_INT,
					  (int64_t)m->srate);
	err = err ? err : members_encode(mo, m);
	if (!err && m->play)
		err = odict_entry_add(mo, "playing", ODICT_STRING,
				      play_name(m->play));
	if (!err && m->rec)
		err = odict_entry_add(mo, "recording", ODICT_STRING,
				      rec_file(m->rec));
	err = err ? err : entry_add(arr, mo);
	mem_deref(mo);

	return err;
}


/**
 * Add the "mixers" array of a query reply, if the call has any
 *
 * @param o    Reply
 * @param call Call
 *
 * @return 0 if success, otherwise errorcode
 */
int mixers_encode(struct odict *o, struct call *call)
{
	struct odict *arr = NULL;
	struct le *le = list_head(call_mixers(call));
	int err;

	if (!o)
		return EINVAL;

	/* a call without mixers is queried as it always was */
	if (!le)
		return 0;

	err = odict_alloc(&arr, 8);
	for (; le && !err; le = le->next)
		err = mixer_encode(arr, le->data);

	err = err ? err : odict_entry_add(o, "mixers", ODICT_ARRAY, arr);
	mem_deref(arr);

	return err;
}
