/**
 * @file dial.c  Dialling: fork a caller to the contacts of its targets
 *
 * Ring all: every reachable contact of every target at once, one timeout
 * for all. In order (hunt): the targets one after another, each with the
 * timeout. The first 200 wins; the other forks get CANCEL. Ringing and
 * early media go to the owner as they come.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "dial"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


/** A dial in progress */
struct dial {
	struct leg *caller;          /**< Incoming leg (not owned)     */
	struct list forkl;           /**< struct fork                  */
	char **targetv;              /**< Extension numbers            */
	size_t targetc;              /**< Number of targets            */
	size_t next;                 /**< Next target to ring          */
	enum dial_strategy strategy; /**< How                          */
	uint32_t timeout_s;          /**< No-answer timeout            */
	struct tmr tmr;              /**< Timeout, or deferred result  */
	unsigned tried;              /**< Forks started in all         */
	unsigned busy;               /**< Forks that said busy         */
	unsigned notacc;             /**< Forks that refused the media */
	uint16_t scode6xx;           /**< A global failure, if any     */
	struct mbuf *offer;          /**< What the forks offer         */
	dial_progress_h *progressh;  /**< 18x handler                  */
	dial_h *dialh;               /**< Result handler               */
	void *arg;                   /**< Handler argument             */
};

/** One outgoing leg of a dial */
struct fork {
	struct le le;                /**< In dial->forkl               */
	struct dial *dial;           /**< Owner                        */
	struct leg *leg;             /**< Outgoing leg                 */
};


static void fork_destructor(void *arg)
{
	struct fork *f = arg;

	list_unlink(&f->le);
	leg_hangup(f->leg, 487, "Request Terminated");
	mem_deref(f->leg);
}


static void destructor(void *arg)
{
	struct dial *d = arg;
	size_t i;

	tmr_cancel(&d->tmr);
	list_flush(&d->forkl);

	for (i = 0; i < d->targetc; i++)
		mem_deref(d->targetv[i]);
	mem_deref(d->targetv);
	mem_deref(d->offer);
}


/* the handler may free the dial: touch nothing after it */
static void finish(struct dial *d, struct leg *winner, uint16_t scode,
		   const char *reason)
{
	dial_h *dialh = d->dialh;

	tmr_cancel(&d->tmr);
	list_flush(&d->forkl);
	d->dialh = NULL;

	if (dialh)
		dialh(d, winner, scode, reason, d->arg);
}


static void fail(struct dial *d)
{
	if (d->scode6xx)
		finish(d, NULL, d->scode6xx, "Declined");
	else if (!d->tried)
		finish(d, NULL, 480, "Temporarily Unavailable");
	else if (d->busy == d->tried)
		finish(d, NULL, 486, "Busy Here");
	else if (d->notacc == d->tried)
		finish(d, NULL, 488, "Not Acceptable Here");
	else
		finish(d, NULL, 480, "No Answer");
}


static bool ring_next(struct dial *d);


static void fork_event_handler(struct leg *leg, enum leg_event ev,
			       const struct leg_evinfo *info, void *arg)
{
	struct fork *f = arg;
	struct dial *d = f->dial;
	(void)leg;

	switch (ev) {

	case LEG_EV_PROGRESS:
		if (d->progressh)
			d->progressh(d, f->leg, info->scode, info->reason,
				     info->sdp, d->arg);
		break;

	case LEG_EV_ANSWERED: {
		struct leg *winner = f->leg;

		leg_set_handlers(winner, NULL, NULL, NULL);
		f->leg = NULL;
		mem_deref(f);
		finish(d, winner, 200, "OK");
		mem_deref(winner);
		break;
	}

	case LEG_EV_CLOSED:
		if (info->scode == 486 || info->scode == 600)
			++d->busy;
		else if (info->scode == 488 || info->scode == 606)
			++d->notacc;
		else if (info->scode >= 600)
			d->scode6xx = info->scode;

		DEBUG_INFO("fork %s ended: %u %s\n", leg_peer(f->leg),
			   info->scode, info->reason);

		mem_deref(f);

		if (list_isempty(&d->forkl) && !ring_next(d))
			fail(d);
		break;

	default:
		break;
	}
}


static bool fork_handler(const struct contact *c, void *arg)
{
	struct dial *d = arg;
	struct fork *f;
	int err;

	f = mem_zalloc(sizeof(*f), fork_destructor);
	if (!f)
		return false;

	f->dial = d;
	list_append(&d->forkl, &f->le, f);

	err = leg_connect(&f->leg, d->caller, d->offer, c,
			  fork_event_handler, f);
	if (err) {
		DEBUG_WARNING("calling %H: %m\n", contact_debug, c, err);
		mem_deref(f);
		return false;
	}

	++d->tried;

	return false;
}


static void timeout_handler(void *arg)
{
	struct dial *d = arg;

	DEBUG_INFO("no answer after %us\n", d->timeout_s);
	list_flush(&d->forkl);

	if (d->strategy == DIAL_RING_ALL || !ring_next(d))
		finish(d, NULL, 480, "No Answer");
}


/* start the next step; false when there is nothing left to ring */
static bool ring_next(struct dial *d)
{
	while (d->next < d->targetc) {

		if (d->strategy == DIAL_RING_ALL) {
			for (; d->next < d->targetc; d->next++)
				(void)location_apply(d->targetv[d->next], true,
						     fork_handler, d);
		}
		else {
			(void)location_apply(d->targetv[d->next++], true,
					     fork_handler, d);
		}

		if (!list_isempty(&d->forkl)) {
			tmr_start(&d->tmr, d->timeout_s * 1000ULL,
				  timeout_handler, d);
			return true;
		}
	}

	return false;
}


static void nothing_handler(void *arg)
{
	fail(arg);
}


/**
 * Dial one or many targets for a caller
 *
 * @param dialp     Pointer to allocated dial; mem_deref cancels it
 * @param caller    Incoming leg (identity; not owned)
 * @param offer     Session description the forks offer
 * @param targetv   Extension numbers
 * @param targetc   Number of targets
 * @param strategy  Ring all at once, or in order
 * @param timeout_s No-answer timeout (per target when in order)
 * @param progressh Handler of 18x responses (optional)
 * @param dialh     Result handler, called once
 * @param arg       Handler argument
 *
 * @return 0 if success, otherwise errorcode
 */
int dial_alloc(struct dial **dialp, struct leg *caller,
	       const struct mbuf *offer, const char * const *targetv,
	       size_t targetc, enum dial_strategy strategy,
	       uint32_t timeout_s, dial_progress_h *progressh,
	       dial_h *dialh, void *arg)
{
	struct dial *d;
	size_t i;
	int err = 0;

	if (!dialp || !caller || !offer || !targetv || !targetc ||
	    !timeout_s || !dialh)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;

	d->targetv = mem_zalloc(targetc * sizeof(char *), NULL);
	if (!d->targetv) {
		err = ENOMEM;
		goto out;
	}

	for (i = 0; i < targetc && !err; i++) {
		err = str_dup(&d->targetv[i], targetv[i]);
		if (!err)
			++d->targetc;
	}
	if (err)
		goto out;

	d->offer = mbuf_alloc(offer->end);
	if (!d->offer) {
		err = ENOMEM;
		goto out;
	}
	(void)mbuf_write_mem(d->offer, offer->buf, offer->end);
	d->offer->pos = 0;

	d->caller = caller;
	d->progressh = progressh;
	d->strategy = strategy;
	d->timeout_s = timeout_s;
	d->dialh = dialh;
	d->arg = arg;
	tmr_init(&d->tmr);

	/* the result goes out from the main loop, never from in here */
	if (!ring_next(d))
		tmr_start(&d->tmr, 0, nothing_handler, d);

 out:
	if (err)
		mem_deref(d);
	else
		*dialp = d;

	return err;
}
