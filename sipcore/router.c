/**
 * @file router.c  Dialled string to destination
 *
 * For now a dialled string is an extension number or nothing; ring
 * groups, menus, mailboxes and trunks add their kinds here.
 */
#include <re.h>
#include "sipcore.h"


static struct store *router_store;


/**
 * Start the router
 *
 * @param st Store with the extensions
 *
 * @return 0 if success, otherwise errorcode
 */
int router_init(struct store *st)
{
	if (!st)
		return EINVAL;

	router_store = st;

	return 0;
}


/**
 * Find where a dialled string goes
 *
 * @param rt      Filled with the destination
 * @param dialled What the caller dialled (Request-URI user)
 *
 * @return 0 if found, ENOENT if nothing answers to it, otherwise errorcode
 */
int router_lookup(struct route *rt, const struct pl *dialled)
{
	struct ext ext;
	char number[EXT_NUMBER_MAX];
	int err;

	if (!rt || !dialled)
		return EINVAL;

	rt->kind = ROUTE_NONE;

	if (!dialled->l || dialled->l >= sizeof(number))
		return ENOENT;

	(void)pl_strcpy(dialled, number, sizeof(number));

	err = store_ext_get(router_store, number, &ext);
	if (err)
		return err;

	rt->kind = ROUTE_EXTENSION;
	str_ncpy(rt->target, ext.number, sizeof(rt->target));

	return 0;
}
