/**
 * @file resamp.h  Mono resampling between 8, 16 and 48 kHz
 *
 * Made on the control thread (resamp_alloc); resamp_process runs in a
 * packet thread and never allocates.
 */
#ifndef MEDIA_RESAMP_H
#define MEDIA_RESAMP_H

struct resamp;

int resamp_alloc(struct resamp **rsp, uint32_t in_rate, uint32_t out_rate);
int resamp_process(struct resamp *rs, int16_t *out, size_t *out_n,
		   const int16_t *in, size_t in_n);

#endif
