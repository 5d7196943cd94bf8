/**
 * @file mixer.h  Mixers inside: what mixer.c and attach.c (control
 *                thread) share with mixer_tick.c (its packet thread)
 *
 * Who may touch what:
 *  - control only: the list entries, name, call, nmembers, and each
 *    member's codec, pt and te; set before the mixer is given to its
 *    thread and never changed after: id, srate, frame, mix, worker;
 *  - mixer->mtx: slotv, play, rec, and each member's out (the tick
 *    holds it throughout; control takes it to change them);
 *  - the member's leg->mtx: its in (fwd_recv feeds it, the tick reads
 *    it), as leg->member says which member that is.
 * The tick takes a member's leg lock inside mixer->mtx, never the
 * other way round, and never two leg locks at once.
 */
#ifndef MEDIA_MIXER_H
#define MEDIA_MIXER_H

#include "mix.h"


enum {
	MIXER_TICK_MS   = 20,     /**< A tick's audio                 */
	MIXER_SLOT_ALL  = 0,      /**< Never put: hears the whole mix
				       (the recorder)                 */
	MIXER_SLOT_PLAY = 1,      /**< The player's frame             */
	MIXER_SLOT_LEG  = 2,      /**< The first member's             */
	MIXER_LEGS_MAX  = MIX_MEMBERS_MAX - MIXER_SLOT_LEG, /**< Members */
};

/** N legs of one call, each hearing the others */
struct mixer {
	struct le le;             /**< In its call's mixers           */
	struct le ale;            /**< In the list of every mixer     */
	struct le wle;            /**< In its thread's (worker mtx)   */
	struct call *call;        /**< Owning call                    */
	char name[LEG_NAME_MAX + 1]; /**< Name within the call        */
	uint32_t id;              /**< Relay-wide id, for reports     */
	uint32_t srate;           /**< The mix's PCM rate             */
	size_t frame;             /**< Samples a tick                 */
	struct worker *worker;    /**< The call's packet thread       */
	struct mix *mix;          /**< Mix-minus (the tick only)      */
	pthread_mutex_t mtx;      /**< Guards slotv, play, rec, outs  */
	bool mtx_ok;              /**< mtx initialised                */
	struct member *slotv[MIX_MEMBERS_MAX]; /**< Members by slot   */
	unsigned nmembers;        /**< Members (control)              */
	struct play *play;        /**< Heard by all, or NULL          */
	struct rec *rec;          /**< Records the mix, or NULL       */
};

/** A leg's place in a mixer */
struct member {
	struct mixer *mixer;      /**< Its mixer                      */
	struct leg *leg;          /**< Its leg                        */
	unsigned slot;            /**< Its slot in the mix            */
	enum mixer_mode mode;     /**< Both ways, listen or speak     */
	struct path *in;          /**< What its party sends, decoded
				       at the mix's rate; NULL when
				       listening only (leg->mtx)      */
	struct play *out;         /**< The mix minus itself in its
				       codec; NULL when speaking only
				       (mixer->mtx)                   */
	int codec;                /**< The codec they were made for   */
	uint8_t pt;               /**< ... its payload type           */
	int te;                   /**< ... and telephone-event, -1    */
};


struct mixer *mixer_find_id(uint32_t id);

#endif
