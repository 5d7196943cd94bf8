/**
 * @file tone.c  Call-progress tones: ringback, busy, beep, ...
 *
 * Each tone is one or two frequencies on a cadence of up to four
 * segments (on, off, on, off), repeated or played once. Two sets:
 * "us" (ANSI/Telcordia, as Asterisk's indications.conf has them) and
 * "eu" (the ETSI/ITU-T E.180 values most of Europe uses; its call
 * waiting, two 200 ms bursts every 5 s, varies most by country). The
 * beep is the 1400 Hz that both use to say that a call is recorded.
 *
 * SpanDSP's tone_gen has the cadences but runs at 8 kHz only, so the
 * samples come from its DDS (a phase accumulator on a sine table, all
 * else 55 dB down) stepped for the rate asked for. Each frequency
 * is at -13 dBm0; every on segment starts at phase 0, so that it does
 * not click in.
 */
#include <string.h>
#include <re.h>
#include <spandsp.h>
#include "tone.h"


enum {
	SEGMENTS_MAX = 4,         /**< On, off, on, off               */
	LEVEL_DBM0   = -13,       /**< Level of each frequency        */
	SRATE_MIN    = 8000,      /**< Rates made for                 */
	SRATE_MAX    = 48000,
};

/** A tone as a set defines it */
struct tone_def {
	uint16_t f1;              /**< Frequency, Hz                  */
	uint16_t f2;              /**< Second one, 0: none            */
	uint16_t cadence[SEGMENTS_MAX]; /**< ms from on, 0 ends; none:
					     steady                   */
	bool once;                /**< Silence after one cadence      */
};

/** A named set of tones */
struct tone_set {
	const char *name;         /**< As the control protocol has it */
	struct tone_def defv[TONE_COUNT]; /**< By enum tone_kind      */
};

static const char * const kindv[TONE_COUNT] = {
	[TONE_RINGBACK]   = "ringback",
	[TONE_BUSY]       = "busy",
	[TONE_CONGESTION] = "congestion",
	[TONE_BEEP]       = "beep",
	[TONE_CALLWAIT]   = "callwaiting",
	[TONE_SINE]       = "sine",
};

static const struct tone_set setv[] = {
	{"us", {
		[TONE_RINGBACK]   = {440, 480, {2000, 4000}, false},
		[TONE_BUSY]       = {480, 620, {500, 500}, false},
		[TONE_CONGESTION] = {480, 620, {250, 250}, false},
		[TONE_BEEP]       = {1400, 0, {500}, true},
		[TONE_CALLWAIT]   = {440, 0, {300, 10000}, false},
		[TONE_SINE]       = {1004, 0, {0}, false},
	}},
	{"eu", {
		[TONE_RINGBACK]   = {425, 0, {1000, 4000}, false},
		[TONE_BUSY]       = {425, 0, {500, 500}, false},
		[TONE_CONGESTION] = {425, 0, {250, 250}, false},
		[TONE_BEEP]       = {1400, 0, {500}, true},
		[TONE_CALLWAIT]   = {425, 0, {200, 200, 200, 4400}, false},
		[TONE_SINE]       = {1004, 0, {0}, false},
	}},
};

/** A tone being played */
struct tone {
	int32_t step1;            /**< Phase step of f1               */
	int32_t step2;            /**< Phase step of f2, 0: none      */
	uint32_t phase1;          /**< Phase of f1                    */
	uint32_t phase2;          /**< Phase of f2                    */
	int16_t scale;            /**< Amplitude of each              */
	uint32_t segv[SEGMENTS_MAX]; /**< Cadence, samples            */
	unsigned segc;            /**< Segments, 0: steady            */
	bool once;                /**< Silence after one cadence      */
	unsigned seg;             /**< Segment playing                */
	uint32_t left;            /**< Samples left in it             */
	bool over;                /**< A tone played once has ended   */
};


/**
 * Find a tone by its name
 *
 * @param kindp Returned kind
 * @param name  "ringback", "busy", "congestion", "beep", "callwaiting"
 *              or "sine"
 *
 * @return 0 if success, ENOENT if there is no such tone, otherwise
 *         errorcode
 */
int tone_kind_find(enum tone_kind *kindp, const char *name)
{
	int i;

	if (!kindp || !name)
		return EINVAL;

	for (i = 0; i < TONE_COUNT; i++) {
		if (!str_cmp(kindv[i], name)) {
			*kindp = (enum tone_kind)i;
			return 0;
		}
	}

	return ENOENT;
}


/**
 * The name of a tone
 *
 * @param kind Which tone
 *
 * @return Its name, as tone_kind_find takes it; NULL if out of range
 */
const char *tone_name(enum tone_kind kind)
{
	if ((unsigned)kind >= TONE_COUNT)
		return NULL;

	return kindv[kind];
}


/* phase step of DDS for hz at srate (2^32 is a whole turn) */
static int32_t phase_step(uint16_t hz, uint32_t srate)
{
	return (int32_t)(((uint64_t)hz << 32) / srate);
}


/**
 * Make a tone to play
 *
 * @param tp    Returned tone
 * @param set   Tone set: "us" or "eu"
 * @param kind  Which tone
 * @param srate Sample rate (8000 - 48000)
 *
 * @return 0 if success, ENOENT if there is no such set, otherwise
 *         errorcode
 */
int tone_alloc(struct tone **tp, const char *set, enum tone_kind kind,
	       uint32_t srate)
{
	const struct tone_def *def = NULL;
	struct tone *t;
	size_t i;

	if (!tp || !set || (unsigned)kind >= TONE_COUNT ||
	    srate < SRATE_MIN || srate > SRATE_MAX)
		return EINVAL;

	for (i = 0; i < ARRAY_SIZE(setv) && !def; i++) {
		if (!str_cmp(setv[i].name, set))
			def = &setv[i].defv[kind];
	}

	if (!def)
		return ENOENT;

	t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return ENOMEM;

	t->step1 = phase_step(def->f1, srate);
	t->step2 = def->f2 ? phase_step(def->f2, srate) : 0;
	t->scale = dds_scaling_dbm0(LEVEL_DBM0);
	t->once = def->once;

	while (t->segc < SEGMENTS_MAX && def->cadence[t->segc]) {
		t->segv[t->segc] = (uint32_t)((uint64_t)def->cadence[t->segc] *
					      srate / 1000);
		++t->segc;
	}

	t->left = t->segv[0];
	*tp = t;

	return 0;
}


static void play(struct tone *t, int16_t *pcm, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int s = dds_mod(&t->phase1, t->step1, t->scale, 0);

		if (t->step2)
			s += dds_mod(&t->phase2, t->step2, t->scale, 0);

		pcm[i] = (int16_t)s;
	}
}


/* on to the next segment; an on segment starts at phase 0 */
static void segment_next(struct tone *t)
{
	if (++t->seg == t->segc) {
		t->seg = 0;
		t->over = t->once;
	}

	t->left = t->segv[t->seg];
	t->phase1 = 0;
	t->phase2 = 0;
}


/**
 * Play the tone on (packet thread): continues the cadence where the
 * last call left it
 *
 * @param t   Tone
 * @param pcm Returned samples, at the tone's rate
 * @param n   Number of them
 */
void tone_fill(struct tone *t, int16_t *pcm, size_t n)
{
	if (!t || !pcm)
		return;

	if (!t->segc) {
		play(t, pcm, n);
		return;
	}

	while (n) {
		size_t k = min(n, (size_t)t->left);

		if (t->over) {
			memset(pcm, 0, n * sizeof(*pcm));
			return;
		}

		if (t->seg % 2)
			memset(pcm, 0, k * sizeof(*pcm));
		else
			play(t, pcm, k);

		pcm += k;
		n -= k;
		t->left -= (uint32_t)k;

		if (!t->left)
			segment_next(t);
	}
}


/**
 * Has a tone that plays once (a beep) played its cadence?
 *
 * @param t Tone
 *
 * @return True once it is over; never for a repeating tone
 */
bool tone_over(const struct tone *t)
{
	return t && t->over;
}
