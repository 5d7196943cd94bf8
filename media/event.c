/**
 * @file event.c  Unsolicited messages to the core: hello, timeout, dtmf,
 *                played, recorded (of a leg, or of a mixer)
 */
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "event"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/**
 * Greet a new connection with the protocol we speak
 *
 * @param conn Connection
 *
 * @return 0 if success, otherwise errorcode
 */
int event_hello(struct conn *conn)
{
	struct odict *o;
	int err;

	err = odict_alloc(&o, 4);
	if (err)
		return err;

	err  = odict_entry_add(o, "event", ODICT_STRING, "hello");
	err |= odict_entry_add(o, "protocol", ODICT_INT,
			       (int64_t)RELAY_PROTOCOL);
	err |= odict_entry_add(o, "relay", ODICT_STRING, "sbrelay " VERSION);
	if (!err)
		err = ctrl_send(conn, o);

	mem_deref(o);

	return err;
}


typedef int (event_add_h)(struct odict *o, const void *arg);

/* an event about a leg or a mixer of a call, to the connection that
 * made the call: the members every such event has ("call", then kind,
 * "leg" or "mixer", naming it), then add() puts in its own */
static int call_event(const struct call *call, const char *kind,
		      const char *obj, const char *name, event_add_h *add,
		      const void *arg)
{
	struct conn *conn;
	struct odict *o;
	int err;

	conn = call_conn(call);
	if (!conn)
		return ENOTCONN;

	err = odict_alloc(&o, 8);
	if (err)
		return err;

	err  = odict_entry_add(o, "event", ODICT_STRING, name);
	err |= odict_entry_add(o, "call", ODICT_STRING, call_name(call));
	err |= odict_entry_add(o, kind, ODICT_STRING, obj);
	err = err ? err : add(o, arg);
	err = err ? err : ctrl_send(conn, o);

	if (err)
		DEBUG_WARNING("%s/%s: %s event: %m\n", call_name(call), obj,
			      name, err);

	mem_deref(o);

	return err;
}


static int leg_event(const struct leg *leg, const char *name,
		     event_add_h *add, const void *arg)
{
	if (!leg)
		return EINVAL;

	return call_event(leg->call, "leg", leg->name, name, add, arg);
}


static int mixer_event(const struct mixer *m, const char *name,
		       event_add_h *add, const void *arg)
{
	if (!m)
		return EINVAL;

	return call_event(mixer_call(m), "mixer", mixer_name(m), name, add,
			  arg);
}


static int timeout_add(struct odict *o, const void *arg)
{
	return odict_entry_add(o, "idle_ms", ODICT_INT,
			       (int64_t)*(const uint64_t *)arg);
}


/**
 * Tell the core that a latched leg has gone silent
 *
 * @param leg     Leg
 * @param idle_ms Milliseconds since its last packet
 */
void event_timeout(const struct leg *leg, uint64_t idle_ms)
{
	if (!leg_event(leg, "timeout", timeout_add, &idle_ms))
		DEBUG_INFO("%s/%s: silent for %llu ms\n",
			   call_name(leg->call), leg->name,
			   (unsigned long long)idle_ms);
}


/** A digit and where it was found */
struct dtmf_info {
	char digit[2];            /**< The digit, as a string         */
	bool inband;              /**< Heard in the audio             */
};


static int dtmf_add(struct odict *o, const void *arg)
{
	const struct dtmf_info *d = arg;
	int err;

	err  = odict_entry_add(o, "digit", ODICT_STRING, d->digit);
	err |= odict_entry_add(o, "source", ODICT_STRING,
			       d->inband ? "inband" : "rfc4733");

	return err;
}


/**
 * Tell the core that a leg's party pressed a key
 *
 * @param leg    Leg
 * @param digit  '0'-'9', '*', '#', 'A'-'D'
 * @param inband Heard in the audio (else an RFC 4733 event)
 */
void event_dtmf(const struct leg *leg, char digit, bool inband)
{
	const struct dtmf_info d = {{digit, '\0'}, inband};

	(void)leg_event(leg, "dtmf", dtmf_add, &d);
}


static int played_add(struct odict *o, const void *arg)
{
	const struct play *p = arg;

	return odict_entry_add(o, play_is_tone(p) ? "tone" : "file",
			       ODICT_STRING, play_name(p));
}


/**
 * Tell the core that a player on a leg has ended by itself (a file
 * that does not loop, a beep); the leg hears its peer again
 *
 * @param leg Leg
 * @param p   The player
 */
void event_played(const struct leg *leg, const struct play *p)
{
	(void)leg_event(leg, "played", played_add, p);
}


/** How a recording ended */
struct rec_info {
	const char *file;         /**< Its file                       */
	uint64_t ms;              /**< Its duration                   */
	int err;                  /**< 0, or why the file is lost     */
};


static int recorded_add(struct odict *o, const void *arg)
{
	const struct rec_info *ri = arg;
	char why[128];
	int err;

	err = odict_entry_add(o, "file", ODICT_STRING, ri->file);
	if (err)
		return err;

	if (!ri->err)
		return odict_entry_add(o, "duration_ms", ODICT_INT,
				       (int64_t)ri->ms);

	(void)re_snprintf(why, sizeof(why), "%m", ri->err);

	return odict_entry_add(o, "error", ODICT_STRING, why);
}


/**
 * Tell the core that a recording ended without record_stop (its call
 * was deleted)
 *
 * @param leg  Leg
 * @param file The recording's file
 * @param ms   Its duration
 * @param err  0 if the file is in place, otherwise why it is not
 */
void event_recorded(const struct leg *leg, const char *file, uint64_t ms,
		    int err)
{
	const struct rec_info ri = {file, ms, err};

	(void)leg_event(leg, "recorded", recorded_add, &ri);
}


/**
 * Tell the core that the player of a mixer has ended by itself
 *
 * @param m Mixer
 * @param p The player
 */
void event_mixer_played(const struct mixer *m, const struct play *p)
{
	(void)mixer_event(m, "played", played_add, p);
}


/**
 * Tell the core that a recording of a mixer ended without record_stop
 * (unmix, or its call was deleted)
 *
 * @param m    Mixer
 * @param file The recording's file
 * @param ms   Its duration
 * @param err  0 if the file is in place, otherwise why it is not
 */
void event_mixer_recorded(const struct mixer *m, const char *file,
			  uint64_t ms, int err)
{
	const struct rec_info ri = {file, ms, err};

	(void)mixer_event(m, "recorded", recorded_add, &ri);
}
