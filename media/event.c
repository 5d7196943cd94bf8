/**
 * @file event.c  Unsolicited messages to the core: hello, timeout
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


/**
 * Tell the core that a latched leg has gone silent
 *
 * @param leg     Leg
 * @param idle_ms Milliseconds since its last packet
 */
void event_timeout(const struct leg *leg, uint64_t idle_ms)
{
	struct conn *conn;
	struct odict *o;
	int err;

	if (!leg)
		return;

	conn = call_conn(leg->call);
	if (!conn)
		return;

	err = odict_alloc(&o, 8);
	if (err)
		return;

	err  = odict_entry_add(o, "event", ODICT_STRING, "timeout");
	err |= odict_entry_add(o, "call", ODICT_STRING, call_name(leg->call));
	err |= odict_entry_add(o, "leg", ODICT_STRING, leg->name);
	err |= odict_entry_add(o, "idle_ms", ODICT_INT, (int64_t)idle_ms);
	if (!err)
		err = ctrl_send(conn, o);

	if (err)
		DEBUG_WARNING("%s/%s: timeout event: %m\n",
			      call_name(leg->call), leg->name, err);
	else
		DEBUG_INFO("%s/%s: silent for %llu ms\n",
			   call_name(leg->call), leg->name,
			   (unsigned long long)idle_ms);

	mem_deref(o);
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
	char d[2] = {digit, '\0'};
	struct conn *conn;
	struct odict *o;
	int err;

	if (!leg)
		return;

	conn = call_conn(leg->call);
	if (!conn)
		return;

	err = odict_alloc(&o, 8);
	if (err)
		return;

	err  = odict_entry_add(o, "event", ODICT_STRING, "dtmf");
	err |= odict_entry_add(o, "call", ODICT_STRING, call_name(leg->call));
	err |= odict_entry_add(o, "leg", ODICT_STRING, leg->name);
	err |= odict_entry_add(o, "digit", ODICT_STRING, d);
	err |= odict_entry_add(o, "source", ODICT_STRING,
			       inband ? "inband" : "rfc4733");
	if (!err)
		err = ctrl_send(conn, o);

	if (err)
		DEBUG_WARNING("%s/%s: dtmf event: %m\n",
			      call_name(leg->call), leg->name, err);

	mem_deref(o);
}
