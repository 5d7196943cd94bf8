/**
 * @file mix.c  Mix-minus: each member of a mixer hears all the others
 *
 * mix_run adds every frame put this tick once, in 32 bits (64 members
 * at full scale need 22); mix_get takes the member's own frame back
 * out of that sum and saturates to 16 bits. A tick costs O(members x
 * frame), not members squared, and a member's sample is clipped only
 * in what it hears, never inside the sum. A member that
 * put nothing this tick adds silence and hears everyone. Frames are
 * stamped with the tick they were put in, so nothing is cleared
 * between ticks.
 */
#include <string.h>
#include <re.h>
#include <rem_dsp.h>
#include "mix.h"


/** A mixer */
struct mix {
	unsigned members;         /**< Slots                          */
	size_t frame;             /**< Samples a tick                 */
	uint64_t tick;            /**< Tick that mix_put fills        */
	uint64_t mixed;           /**< Tick in sum, 0: none yet       */
	uint64_t *stamp;          /**< Per slot: tick of its frame    */
	int16_t *in;              /**< Per slot: its frame            */
	int32_t *sum;             /**< All frames of tick `mixed`     */
};


static void destructor(void *arg)
{
	struct mix *m = arg;

	mem_deref(m->stamp);
	mem_deref(m->in);
	mem_deref(m->sum);
}


/**
 * Make a mixer
 *
 * @param mp      Returned mixer
 * @param members Slots (1 .. MIX_MEMBERS_MAX)
 * @param frame   Samples each member puts and gets a tick, all at one
 *                rate (1 .. MIX_FRAME_MAX)
 *
 * @return 0 if success, otherwise errorcode
 */
int mix_alloc(struct mix **mp, unsigned members, size_t frame)
{
	struct mix *m;
	int err = 0;

	if (!mp || !members || members > MIX_MEMBERS_MAX || !frame ||
	    frame > MIX_FRAME_MAX)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;

	m->members = members;
	m->frame = frame;
	m->tick = 1;
	m->stamp = mem_zalloc(members * sizeof(*m->stamp), NULL);
	m->in = mem_zalloc(members * frame * sizeof(*m->in), NULL);
	m->sum = mem_zalloc(frame * sizeof(*m->sum), NULL);
	if (!m->stamp || !m->in || !m->sum)
		err = ENOMEM;

	if (err)
		mem_deref(m);
	else
		*mp = m;

	return err;
}


/**
 * Give a member's frame of this tick
 *
 * @param m    Mixer
 * @param slot Member
 * @param pcm  Its frame (the mixer's frame size), copied
 *
 * @return 0 if success, otherwise errorcode
 */
int mix_put(struct mix *m, unsigned slot, const int16_t *pcm)
{
	if (!m || slot >= m->members || !pcm)
		return EINVAL;

	memcpy(&m->in[slot * m->frame], pcm, m->frame * sizeof(*pcm));
	m->stamp[slot] = m->tick;

	return 0;
}


/**
 * Add up the frames put this tick, and start the next tick
 *
 * @param m Mixer
 */
void mix_run(struct mix *m)
{
	unsigned s;
	size_t i;

	if (!m)
		return;

	memset(m->sum, 0, m->frame * sizeof(*m->sum));

	for (s = 0; s < m->members; s++) {
		const int16_t *in = &m->in[s * m->frame];

		if (m->stamp[s] != m->tick)
			continue;

		for (i = 0; i < m->frame; i++)
			m->sum[i] += in[i];
	}

	m->mixed = m->tick++;
}


/**
 * What a member hears: the last mix_run's sum without its own frame
 *
 * @param m    Mixer
 * @param slot Member
 * @param out  Its frame (the mixer's frame size)
 *
 * @return 0 if success, otherwise errorcode
 */
int mix_get(const struct mix *m, unsigned slot, int16_t *out)
{
	const int16_t *own;
	size_t i;

	if (!m || slot >= m->members || !out)
		return EINVAL;

	if (m->stamp[slot] != m->mixed) {
		for (i = 0; i < m->frame; i++)
			out[i] = saturate_s16(m->sum[i]);
		return 0;
	}

	own = &m->in[slot * m->frame];
	for (i = 0; i < m->frame; i++)
		out[i] = saturate_sub16(m->sum[i], own[i]);

	return 0;
}
