/**
 * @file call.c  Calls: named sets of legs, owned by a control connection
 *
 * Control thread only. A call lives in the hash of the connection that
 * made it, so two cores (or a core and sbctl) never see each other's
 * call names, and a connection that ends takes its calls with it.
 */
#include <string.h>
#include <re.h>
#include "relay.h"


/** A call: legs named by the core */
struct call {
	struct le le;                  /**< In its connection's hash   */
	struct list legl;              /**< Its legs                   */
	struct list mixl;              /**< Its mixers (mixer.c)       */
	struct conn *conn;             /**< Connection that made it    */
	struct worker *worker;         /**< Packet thread of its legs  */
	char name[CALL_NAME_MAX + 1];  /**< Name chosen by the core    */
};

static uint32_t ncalls;


static void destructor(void *arg)
{
	struct call *call = arg;
	struct le *le;

	hash_unlink(&call->le);

	/* mixers first: their members are legs of the call */
	list_flush(&call->mixl);

	while ((le = list_head(&call->legl)))
		leg_release(le->data);

	--ncalls;
}


/**
 * Make an empty call
 *
 * @param callp Returned call, owned by the hash (mem_deref frees it
 *              and releases its legs)
 * @param ht    The connection's call hash
 * @param name  Call name (1 .. CALL_NAME_MAX bytes)
 * @param conn  Owning connection
 *
 * @return 0 if success, otherwise errorcode
 */
int call_alloc(struct call **callp, struct hash *ht, const char *name,
	       struct conn *conn)
{
	struct call *call;

	if (!callp || !ht || !str_isset(name) ||
	    strlen(name) > CALL_NAME_MAX)
		return EINVAL;

	call = mem_zalloc(sizeof(*call), destructor);
	if (!call)
		return ENOMEM;

	++ncalls;
	str_ncpy(call->name, name, sizeof(call->name));
	call->conn = conn;
	hash_append(ht, hash_joaat_str(name), &call->le, call);

	*callp = call;

	return 0;
}


static bool name_cmp(struct le *le, void *arg)
{
	const struct call *call = le->data;

	return !strcmp(call->name, arg);
}


/**
 * Find a call by name
 *
 * @param ht   The connection's call hash
 * @param name Call name
 *
 * @return The call, or NULL
 */
struct call *call_find(const struct hash *ht, const char *name)
{
	if (!ht || !name)
		return NULL;

	return list_ledata(hash_lookup(ht, hash_joaat_str(name), name_cmp,
				       (void *)name));
}


/**
 * Find a leg of a call by name
 *
 * @param call Call
 * @param name Leg name
 *
 * @return The leg, or NULL
 */
struct leg *call_leg(const struct call *call, const char *name)
{
	struct le *le;

	if (!call || !name)
		return NULL;

	for (le = list_head(&call->legl); le; le = le->next) {
		struct leg *leg = le->data;

		if (!strcmp(leg->name, name))
			return leg;
	}

	return NULL;
}


/**
 * Add a new leg to a call
 *
 * @param call Call
 * @param name Leg name (1 .. LEG_NAME_MAX bytes), not yet in the call
 * @param legp Returned leg, owned by the call
 *
 * @return 0 if success, otherwise errorcode
 */
int call_leg_add(struct call *call, const char *name, struct leg **legp)
{
	struct leg *leg;
	int err;

	if (!call || !str_isset(name) || strlen(name) > LEG_NAME_MAX ||
	    !legp)
		return EINVAL;

	if (call_leg(call, name))
		return EEXIST;

	err = leg_alloc(&leg, call, name);
	if (err)
		return err;

	list_append(&call->legl, &leg->le, leg);
	*legp = leg;

	return 0;
}


/**
 * Add the "legs" array of a query reply
 *
 * @param o    Reply
 * @param call Call
 *
 * @return 0 if success, otherwise errorcode
 */
int call_encode_legs(struct odict *o, const struct call *call)
{
	struct odict *arr = NULL;
	struct le *le;
	unsigned i = 0;
	int err;

	if (!o || !call)
		return EINVAL;

	err = odict_alloc(&arr, 8);
	if (err)
		return err;

	for (le = list_head(&call->legl); le && !err; le = le->next) {
		struct odict *lo = NULL;
		char key[16];

		(void)re_snprintf(key, sizeof(key), "%u", i++);

		err = odict_alloc(&lo, 16);
		if (!err)
			err = leg_encode(lo, le->data);
		if (!err)
			err = odict_entry_add(arr, key, ODICT_OBJECT, lo);

		mem_deref(lo);
	}

	if (!err)
		err = odict_entry_add(o, "legs", ODICT_ARRAY, arr);

	mem_deref(arr);

	return err;
}


/**
 * Call a handler for each leg of a call, in order, until it returns true
 *
 * @param call Call
 * @param h    Handler; it may take its leg's players and recorders
 *             off, not release the leg
 * @param arg  Its argument
 *
 * @return The leg it stopped at, or NULL
 */
struct leg *call_leg_apply(const struct call *call, call_leg_h *h,
			   void *arg)
{
	struct le *le;

	if (!call || !h)
		return NULL;

	for (le = list_head(&call->legl); le; le = le->next) {
		if (h(le->data, arg))
			return le->data;
	}

	return NULL;
}


/** @return The call's name */
const char *call_name(const struct call *call)
{
	return call ? call->name : NULL;
}


/** @return The connection that made the call */
struct conn *call_conn(const struct call *call)
{
	return call ? call->conn : NULL;
}


/** @return The call's mixers (mixer.c keeps them) */
struct list *call_mixers(struct call *call)
{
	return call ? &call->mixl : NULL;
}


/**
 * @param call Call
 *
 * @return True if it has neither legs nor mixers (nothing left of it)
 */
bool call_empty(const struct call *call)
{
	return !call || (!list_head(&call->legl) && !list_head(&call->mixl));
}


/** @return Calls in service, over all connections */
uint32_t call_count(void)
{
	return ncalls;
}


/**
 * The packet thread of a call's legs: all of a call's media is handled
 * by one thread, so the state its legs share (codecs, SRTP contexts)
 * is never used by two threads at once
 *
 * @param call Call
 *
 * @return Packet thread (picked when the first leg is made)
 */
struct worker *call_worker(struct call *call)
{
	if (!call)
		return NULL;

	if (!call->worker)
		call->worker = worker_pick();

	return call->worker;
}
