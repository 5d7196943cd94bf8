/**
 * @file mix.h  Mix-minus: each member of a mixer hears all the others
 *
 * Made on the control thread (mix_alloc); then one packet thread runs
 * every tick in this order: mix_put for each member that has a frame,
 * mix_run once, mix_get for each member. None of them allocates.
 */
#ifndef MEDIA_MIX_H
#define MEDIA_MIX_H

enum {
	MIX_MEMBERS_MAX = 64,     /**< Members of one mixer           */
	MIX_FRAME_MAX   = 2880,   /**< Samples a tick (60 ms, 48 kHz) */
};

struct mix;

int  mix_alloc(struct mix **mp, unsigned members, size_t frame);
int  mix_put(struct mix *m, unsigned slot, const int16_t *pcm);
void mix_run(struct mix *m);
int  mix_get(const struct mix *m, unsigned slot, int16_t *out);

#endif
