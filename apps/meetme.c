/**
 * @file meetme.c  Meet-me rooms (*8 and a room number): whoever dials
 *                 the same room talks with everyone in it
 *
 * The first caller opens the room, a mixer; each one after is answered
 * into it, and a beep tells everyone in it that someone came. A caller
 * who hangs up leaves; the last one out closes the room. Rooms are
 * numbered 0 to 9999 and need nothing set up: a plain conference bridge
 * for an office, the base the conference app will build on (PINs,
 * moderators, rooms kept in the store).
 */
#include <string.h>
#include <re.h>
#include "switchboard.h"
#include "apps.h"

#define DEBUG_MODULE "meetme"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum { ROOM_DIGITS_MAX = 4 };

/** An open room */
struct room {
	struct le le;                     /**< In rooms                 */
	char num[ROOM_DIGITS_MAX + 1];    /**< Its number               */
	struct mixer *m;                  /**< Its mix                  */
};

/** A caller in a room */
struct member {
	struct leg *leg;          /**< The caller's (the call holds it) */
	struct room *room;        /**< Its room (ref)                 */
	app_done_h *doneh;        /**< Ends the call                  */
	void *arg;                /**< Its argument                   */
};

static struct list rooms;


static void room_destructor(void *arg)
{
	struct room *r = arg;

	list_unlink(&r->le);
	mem_deref(r->m);
	DEBUG_INFO("room %s: closed\n", r->num);
}


static void member_destructor(void *arg)
{
	struct member *mb = arg;

	if (!mb->room)
		return;

	(void)mixer_leave(mb->room->m, mb->leg);
	mem_deref(mb->room);
}


/* the room of that number: the open one, or a new one */
static int room_get(struct room **rp, const char *num)
{
	struct room *r;
	struct le *le;
	int err;

	for (le = list_head(&rooms); le; le = le->next) {
		r = le->data;
		if (!str_cmp(r->num, num)) {
			*rp = mem_ref(r);
			return 0;
		}
	}

	r = mem_zalloc(sizeof(*r), room_destructor);
	if (!r)
		return ENOMEM;

	str_ncpy(r->num, num, sizeof(r->num));
	err = mixer_alloc(&r->m);
	if (err) {
		mem_deref(r);
		return err;
	}

	list_append(&rooms, &r->le, r);
	*rp = r;

	return 0;
}


/* the call ends: doneh frees us, so it comes last */
static void finish(struct member *mb, uint16_t cause, const char *why)
{
	app_done_h *doneh = mb->doneh;

	leg_hangup(mb->leg, cause, why);
	doneh(cause, why, mb->arg);
}


static void answered_handler(struct leg *leg, int err, uint32_t ms,
			     void *arg)
{
	struct member *mb = arg;
	(void)ms;

	if (err) {
		DEBUG_WARNING("%s: not into room %s: %m\n", leg_callid(leg),
			      mb->room->num, err);
		finish(mb, 503, "Media Relay Unavailable");
		return;
	}

	DEBUG_INFO("room %s: %s came in, %u in it\n", mb->room->num,
		   leg_caller(leg), mixer_count(mb->room->m));

	/* everyone hears that someone came */
	(void)mixer_play(mb->room->m, NULL, "beep", false, NULL, NULL);
}


static void event_handler(struct leg *leg, enum leg_event ev,
			  const struct leg_evinfo *info, void *arg)
{
	struct member *mb = arg;

	if (ev != LEG_EV_CLOSED)
		return;

	DEBUG_INFO("room %s: %s left\n", mb->room->num, leg_caller(leg));
	finish(mb, info->scode ? info->scode : 200,
	       info->scode && info->reason ? info->reason :
	       "caller hung up");
}


/* the room number after the code: 1 to ROOM_DIGITS_MAX digits */
static bool room_number(char *num, size_t sz, const char *dialled)
{
	const char *p = dialled + str_len(app_meetme.code);
	size_t n = str_len(p), i;

	if (!n || n > ROOM_DIGITS_MAX || n >= sz)
		return false;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
	}

	str_ncpy(num, p, sz);

	return true;
}


static int start(void **sessp, struct leg *leg, app_done_h *doneh,
		 void *arg)
{
	char num[ROOM_DIGITS_MAX + 1];
	struct member *mb;
	int err;

	if (!room_number(num, sizeof(num), leg_dialled(leg)))
		return ENOENT;

	mb = mem_zalloc(sizeof(*mb), member_destructor);
	if (!mb)
		return ENOMEM;

	mb->leg = leg;
	mb->doneh = doneh;
	mb->arg = arg;

	err = room_get(&mb->room, num);
	if (err) {
		mem_deref(mb);
		return err;
	}

	err = mixer_answer(mb->room->m, leg, MIXER_BOTH, answered_handler,
			   mb);
	if (err) {
		mem_deref(mb);
		return err;
	}

	leg_set_handlers(leg, event_handler, NULL, mb);
	*sessp = mb;

	return 0;
}


const struct app app_meetme = {
	"meet-me room",
	"*8",
	true,
	start,
};
