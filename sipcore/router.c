/**
 * @file router.c  Dialled string to destination
 *
 * A dialled string is an app's feature code, an extension number, or
 * nothing; ring groups, menus, mailboxes and trunks add their kinds
 * here.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "../apps/apps.h"


/* the apps that own a feature code */
static const struct app * const appv[] = {
	&app_audiotest,
	&app_meetme,
};


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
	size_t i;
	int err;

	if (!rt || !dialled)
		return EINVAL;

	rt->kind = ROUTE_NONE;
	rt->app = NULL;

	/* as dialled, escapes undone (a phone may send *43 as %2A43) */
	if (!dialled->l || dialled->l >= sizeof(number) ||
	    re_snprintf(number, sizeof(number), "%H", uri_user_unescape,
			dialled) < 0)
		return ENOENT;

	for (i = 0; i < ARRAY_SIZE(appv); i++) {
		size_t n = str_len(appv[i]->code);

		if (appv[i]->prefix ? !strncmp(number, appv[i]->code, n) :
		    !str_cmp(number, appv[i]->code)) {
			rt->kind = ROUTE_APP;
			rt->app = appv[i];
			str_ncpy(rt->target, number, sizeof(rt->target));
			return 0;
		}
	}

	err = store_ext_get(router_store, number, &ext);
	if (err)
		return err;

	rt->kind = ROUTE_EXTENSION;
	str_ncpy(rt->target, ext.number, sizeof(rt->target));

	return 0;
}
