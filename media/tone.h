/**
 * @file tone.h  Call-progress tones: ringback, busy, beep, ...
 *
 * Made on the control thread (tone_alloc); tone_fill runs in a packet
 * thread and never allocates.
 */
#ifndef MEDIA_TONE_H
#define MEDIA_TONE_H

/** The tones a set has */
enum tone_kind {
	TONE_RINGBACK,            /**< The far end rings              */
	TONE_BUSY,                /**< The far end is busy            */
	TONE_CONGESTION,          /**< No way through (reorder)       */
	TONE_BEEP,                /**< One short tone, then silence   */
	TONE_CALLWAIT,            /**< Another call is waiting        */
	TONE_SINE,                /**< 1004 Hz, steady (tests)        */
	TONE_COUNT
};

struct tone;

int  tone_kind_find(enum tone_kind *kindp, const char *name);
int  tone_alloc(struct tone **tp, const char *set, enum tone_kind kind,
		uint32_t srate);
const char *tone_name(enum tone_kind kind);
void tone_fill(struct tone *t, int16_t *pcm, size_t n);
bool tone_over(const struct tone *t);

#endif
