/**
 * @file event.c  Unsolicited messages to the core: hello, timeout, dtmf
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


/* an event about a leg, to the connection that made its call: the
 * members every such event has, then add() puts in its own */
static int leg_event(const struct leg *leg, const char *name,
		     int (*add)(struct odict *o, const void *arg),
		     const void *arg)
{
	struct conn *conn;
	struct odict *o;
	int err;

	if (!leg)
		return EINVAL;

	conn = call_conn(leg->call);
	if (!conn)
		return ENOTCONN;

	err = odict_alloc(&o, 8);
	if (err)
		return err;

	err  = odict_entry_add(o, "event", ODICT_STRING, name);
	err |= odict_entry_add(o, "call", ODICT_STRING, call_name(leg->call));
	err |= odict_entry_add(o, "leg", ODICT_STRING, leg->name);
	err = err ? err : add(o, arg);
	err = err ? err : ctrl_send(conn, o);

	if (err)
		DEBUG_WARNING("%s/%s: %s event: %m\n", call_name(leg->call),
			      leg->name, name, err);

	mem_deref(o);

	return err;
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
