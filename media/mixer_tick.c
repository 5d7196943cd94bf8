/**
 * @file mixer_tick.c  Mixers on their packet thread: what members send
 *                     in, and the 20 ms tick
 *
 * Packet thread only: no allocation, no re objects (mixer.h says what
 * is guarded by what). What a member's party sends goes into its
 * decoding path as it arrives (mixer_rx, from fwd_recv); each tick
 * takes 20 ms out of every path and of the player, mixes them, hands
 * the whole mix to the recorder, and sends each listening member the
 * mix minus itself as its own RTP stream, from its leg's socket (SRTP
 * when the leg uses it). A member that says nothing this tick adds
 * silence; a leg that hears a player of its own meanwhile is sent
 * nothing (its stream keeps time).
 */
#include <re.h>
#include "relay.h"
#include "mixer.h"


enum {
	PKT_MAX = RTP_HDR_SIZE + 1500 + SDES_OVERHEAD, /**< A packet out */
};

/* the working buffers of a tick: one set per packet thread */
static _Thread_local int16_t tick_pcm[MIX_FRAME_MAX];
static _Thread_local uint8_t tick_pkt[PKT_MAX];


/**
 * Take an RTP packet a member's party sent (packet thread, under the
 * leg's lock)
 *
 * @param mb  The leg's member
 * @param pkt RTP packet
 * @param len Its length
 */
void mixer_rx(struct member *mb, const uint8_t *pkt, size_t len)
{
	uint8_t none[1];
	size_t n = 0;

	/* listening only: what it says goes nowhere */
	if (!mb || !mb->in)
		return;

	/* no telephone-event crosses into a mix (te_out is -1): digits
	 * are reported by fwd_recv and the path's in-band detector */
	(void)path_rx(mb->in, pkt, len, none, &n);
}


/* a member's 20 ms into the mix, if its party said something */
static void member_put(struct mixer *m, struct member *mb)
{
	struct leg *leg = mb->leg;
	int err = ENODATA;

	pthread_mutex_lock(&leg->mtx);
	if (mb->in)
		err = path_pcm(mb->in, tick_pcm);
	pthread_mutex_unlock(&leg->mtx);

	if (!err)
		(void)mix_put(m->mix, mb->slot, tick_pcm);
}


/* the mix minus the member, to its party */
static void member_send(struct fwd *fwd, struct mixer *m,
			struct member *mb)
{
	struct leg *leg = mb->leg;
	bool held;
	size_t len = 0;

	held = atomic_load_explicit(&leg->playing, memory_order_acquire);
	if (!held && mix_get(m->mix, mb->slot, tick_pcm))
		return;

	if (play_encode(mb->out, held ? NULL : tick_pcm, tick_pkt,
			sizeof(tick_pkt) - SDES_OVERHEAD, &len) || !len)
		return;

	/* protected as a player's packets are: with the leg's own pair */
	pthread_mutex_lock(&leg->mtx);
	if (leg->srtp_in && srtp_pair_protect(leg->srtp_in, false, tick_pkt,
					      &len, sizeof(tick_pkt)))
		len = 0;
	pthread_mutex_unlock(&leg->mtx);

	if (len)
		fwd_send(fwd, &leg->rtp, tick_pkt, len);
}


/**
 * Play out one tick of a mixer (its packet thread, every 20 ms)
 *
 * @param m   Mixer
 * @param fwd Buffers of the calling packet thread
 */
void mixer_tick(struct mixer *m, struct fwd *fwd)
{
	bool ended = false;
	unsigned s;

	if (!m || !fwd)
		return;

	pthread_mutex_lock(&m->mtx);

	for (s = MIXER_SLOT_LEG; s < MIX_MEMBERS_MAX; s++) {
		if (m->slotv[s] && m->slotv[s]->mode != MIXER_LISTEN)
			member_put(m, m->slotv[s]);
	}

	if (m->play) {
		size_t n = MIX_FRAME_MAX;

		if (!play_pcm(m->play, tick_pcm, &n) && n == m->frame)
			(void)mix_put(m->mix, MIXER_SLOT_PLAY, tick_pcm);
		ended = play_ended(m->play);
	}

	mix_run(m->mix);

	if (m->rec && !mix_get(m->mix, MIXER_SLOT_ALL, tick_pcm))
		rec_pcm(m->rec, tick_pcm, m->frame);

	for (s = MIXER_SLOT_LEG; s < MIX_MEMBERS_MAX; s++) {
		if (m->slotv[s] && m->slotv[s]->mode != MIXER_SPEAK)
			member_send(fwd, m, m->slotv[s]);
	}

	pthread_mutex_unlock(&m->mtx);

	/* told each tick until the control thread takes the player off:
	 * a report the full queue refused is made again */
	if (ended)
		worker_mixer_played(m->id);
}
