/**
 * @file quality.c  Media quality of a call's parties, as the relay
 *                  measures it: read from its replies, printed as JSON
 */
#include <re.h>
#include "sipcore.h"


/* a number of a quality object, whether JSON wrote it as int or not */
static double quality_num(const struct odict *q, const char *key)
{
	const struct odict_entry *e = odict_lookup(q, key);

	if (!e)
		return 0;

	return e->type == ODICT_DOUBLE ? e->u.dbl :
		e->type == ODICT_INT ? (double)e->u.integer : 0;
}


/**
 * Read the quality of the caller's and the callee's legs ("a" and "b")
 * from a relay reply that lists legs (query, delete)
 *
 * @param qv    Caller's and callee's quality; a leg that received
 *              nothing yet stays unset
 * @param reply The reply
 */
void quality_from_reply(struct cdr_quality qv[2], const struct odict *reply)
{
	const struct odict_entry *legs;
	struct le *le;

	legs = odict_get_type(reply, ODICT_ARRAY, "legs");

	for (le = legs ? list_head(&legs->u.odict->lst) : NULL; le;
	     le = le->next) {
		const struct odict_entry *leg = le->data, *q;
		const char *name;
		int i;

		if (leg->type != ODICT_OBJECT)
			continue;

		name = odict_string(leg->u.odict, "leg");
		q = odict_get_type(leg->u.odict, ODICT_OBJECT, "quality");
		i = !str_cmp(name, "a") ? 0 : !str_cmp(name, "b") ? 1 : -1;
		if (i < 0 || !q || !quality_num(q->u.odict, "packets"))
			continue;

		qv[i].set = true;
		qv[i].mos = quality_num(q->u.odict, "mos");
		qv[i].loss_pct = quality_num(q->u.odict, "loss_pct");
		qv[i].jitter_ms = quality_num(q->u.odict, "jitter_ms");
	}
}


/**
 * Print one party's quality as JSON, null when not measured
 *
 * @param pf Print handler
 * @param q  Quality
 *
 * @return 0 if success, otherwise errorcode
 */
int quality_print(struct re_printf *pf, const struct cdr_quality *q)
{
	if (!q || !q->set)
		return re_hprintf(pf, "null");

	return re_hprintf(pf, "{\"mos\":%.2f,\"loss_pct\":%.2f,"
			  "\"jitter_ms\":%.1f}", q->mos, q->loss_pct,
			  q->jitter_ms);
}
