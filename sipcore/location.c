/**
 * @file location.c  Where each extension's phones are: contacts
 *
 * Each contact is kept in memory for lookups and in the store so that a
 * restart, or a kill, loses none. A contact is reached over the flow it
 * registered on: its source address and transport become the route of
 * every request to it, which also reuses its TCP/TLS connection. OPTIONS
 * keep NAT bindings open and find phones that went away.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "location"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	AOR_HASH_SIZE   = 1024,
	KEEPALIVE_FAILS = 2,   /**< Failed pings before unreachable */
};

/** The contacts of one extension */
struct aor {
	struct le he;            /**< In location.ht                 */
	char *number;            /**< Extension number               */
	struct list contactl;    /**< struct contact                 */
};

/** One registered contact */
struct contact {
	struct le le;            /**< In aor->contactl               */
	struct aor *aor;         /**< Owner                          */
	char *uri;               /**< Contact URI                    */
	char *callid;            /**< Call-ID of its REGISTER        */
	char *user_agent;        /**< User-Agent, for the API        */
	char route[96];          /**< sip:addr;transport=x           */
	struct sa received;      /**< Flow source address            */
	enum sip_transp tp;      /**< Flow transport                 */
	uint32_t cseq;           /**< CSeq of its REGISTER           */
	int64_t expires_at;      /**< Unix time                      */
	struct tmr tmr_expire;   /**< Ends the binding               */
	struct tmr tmr_ping;     /**< Next keep-alive                */
	struct sip_request *ping;/**< Keep-alive in flight           */
	unsigned fails;          /**< Keep-alives unanswered in a row*/
	bool reachable;          /**< Answered its last keep-alive   */
};

static struct {
	struct hash *ht;
	struct sip *sip;
	struct store *store;
	const struct sb_conf *cfg;
	uint32_t count;
} loc;


static void contact_destructor(void *arg)
{
	struct contact *c = arg;

	tmr_cancel(&c->tmr_expire);
	tmr_cancel(&c->tmr_ping);
	mem_deref(c->ping);
	list_unlink(&c->le);
	mem_deref(c->uri);
	mem_deref(c->callid);
	mem_deref(c->user_agent);
	--loc.count;
}


static void aor_destructor(void *arg)
{
	struct aor *aor = arg;

	hash_unlink(&aor->he);
	list_flush(&aor->contactl);
	mem_deref(aor->number);
}


static bool aor_cmp(struct le *le, void *arg)
{
	const struct aor *aor = le->data;

	return 0 == str_cmp(aor->number, arg);
}


static struct aor *aor_find(const char *number)
{
	return list_ledata(hash_lookup(loc.ht, hash_joaat_str(number),
				       aor_cmp, (void *)number));
}


static int aor_get(struct aor **aorp, const char *number)
{
	struct aor *aor = aor_find(number);
	int err;

	if (aor) {
		*aorp = aor;
		return 0;
	}

	aor = mem_zalloc(sizeof(*aor), aor_destructor);
	if (!aor)
		return ENOMEM;

	err = str_dup(&aor->number, number);
	if (err) {
		mem_deref(aor);
		return err;
	}

	hash_append(loc.ht, hash_joaat_str(number), &aor->he, aor);
	*aorp = aor;

	return 0;
}


/* the last contact of an AoR takes the AoR with it */
static void contact_remove(struct contact *c, bool unstore)
{
	struct aor *aor = c->aor;

	if (unstore)
		(void)store_contact_del(loc.store, aor->number, c->uri);

	mem_deref(c);

	if (list_isempty(&aor->contactl))
		mem_deref(aor);
}


static void expire_handler(void *arg)
{
	struct contact *c = arg;

	DEBUG_INFO("%s: contact %s expired\n", c->aor->number, c->uri);
	contact_remove(c, true);
}


static void ping_start(struct contact *c, uint32_t delay_ms);


static void ping_result(struct contact *c, bool answered)
{
	bool was = c->reachable;

	if (answered) {
		c->fails = 0;
		c->reachable = true;
	}
	else if (++c->fails >= KEEPALIVE_FAILS) {
		c->reachable = false;
	}

	if (was != c->reachable)
		DEBUG_NOTICE("%s: contact %s is %s\n", c->aor->number, c->uri,
			     c->reachable ? "reachable again" :
			     "unreachable");
}


static void ping_resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct contact *c = arg;

	c->ping = mem_deref(c->ping);

	/* any response, even an error, proves the flow works */
	ping_result(c, !err && msg);
}


/* Each interval sends a ping; one still unanswered when the next is due
 * counts as failed, so a phone that went away is found after
 * KEEPALIVE_FAILS intervals, not after the 32 s transaction timeouts. */
static void ping_handler(void *arg)
{
	struct contact *c = arg;
	struct uri route;
	struct pl rpl;
	char tag[16];
	int err;

	if (c->ping) {
		c->ping = mem_deref(c->ping);
		ping_result(c, false);
	}

	ping_start(c, loc.cfg->reg_keepalive_interval * 1000);

	pl_set_str(&rpl, c->route);
	rand_str(tag, sizeof(tag));

	err = uri_decode(&route, &rpl);
	if (!err) {
		err = sip_requestf(&c->ping, loc.sip, true, "OPTIONS", c->uri,
				   &route, NULL, NULL, ping_resp_handler, c,
				   "To: <%s>\r\n"
				   "From: <sip:keepalive@%s>;tag=%s\r\n"
				   "Call-ID: %x\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "Max-Forwards: 70\r\n"
				   "Content-Length: 0\r\n\r\n",
				   c->uri, loc.cfg->sip_domain, tag,
				   rand_u64());
	}

	if (err) {
		DEBUG_WARNING("%s: keep-alive to %s: %m\n", c->aor->number,
			      c->uri, err);
		ping_result(c, false);
	}
}


static void ping_start(struct contact *c, uint32_t delay_ms)
{
	if (!loc.cfg->reg_keepalive_interval)
		return;

	tmr_start(&c->tmr_ping, delay_ms, ping_handler, c);
}


static struct contact *contact_find(struct aor *aor, const struct pl *uri)
{
	struct le *le;

	for (le = list_head(&aor->contactl); le; le = le->next) {
		struct contact *c = le->data;

		if (!pl_strcmp(uri, c->uri))
			return c;
	}

	return NULL;
}


static int contact_new(struct contact **cp, struct aor *aor,
		       const char *uri)
{
	struct contact *c;
	int err;

	c = mem_zalloc(sizeof(*c), contact_destructor);
	if (!c)
		return ENOMEM;

	++loc.count;
	c->aor = aor;
	c->reachable = true;
	list_append(&aor->contactl, &c->le, c);

	err = str_dup(&c->uri, uri);
	if (err) {
		mem_deref(c);
		return err;
	}

	*cp = c;

	return 0;
}


/* apply a binding to a contact and arm its timers */
static void contact_update(struct contact *c, const struct contact_rec *rec)
{
	int64_t left = rec->expires_at - sb_unixtime();

	c->received = rec->received;
	c->tp = rec->tp;
	c->cseq = rec->cseq;
	c->expires_at = rec->expires_at;
	c->reachable = true;
	c->fails = 0;

	c->callid = mem_deref(c->callid);
	c->user_agent = mem_deref(c->user_agent);
	(void)str_dup(&c->callid, rec->callid);
	(void)str_dup(&c->user_agent, rec->user_agent);

	(void)re_snprintf(c->route, sizeof(c->route), "sip:%J%s",
			  &c->received, sip_transp_param(c->tp));

	tmr_start(&c->tmr_expire, left > 0 ? (uint64_t)left * 1000 : 0,
		  expire_handler, c);

	/* spread pings so that a restart does not send them all at once;
	 * the spread need not be secret, only even, and a random number
	 * per REGISTER cost more than the rest of this function */
	ping_start(c, loc.cfg->reg_keepalive_interval * 500 +
		   (hash_joaat_str(c->uri) ^ (uint32_t)c->expires_at) %
		   (loc.cfg->reg_keepalive_interval * 500 + 1));
}


/* the one closest to its end makes room for a new one */
static struct contact *contact_oldest(struct aor *aor)
{
	struct contact *oldest = NULL;
	struct le *le;

	for (le = list_head(&aor->contactl); le; le = le->next) {
		struct contact *c = le->data;

		if (!oldest || c->expires_at < oldest->expires_at)
			oldest = c;
	}

	return oldest;
}


/**
 * Bind or refresh a contact of an extension, in memory and in the store
 *
 * @param aor     Extension number
 * @param msg     The REGISTER (source, transport, Call-ID, CSeq, UA)
 * @param addr    The decoded Contact
 * @param expires Seconds the binding lasts (> 0)
 *
 * @return 0 if success, otherwise errorcode
 */
int location_bind(const char *aor, const struct sip_msg *msg,
		  const struct sip_addr *addr, uint32_t expires)
{
	const struct sip_hdr *ua;
	struct contact_rec rec;
	struct contact *c;
	struct aor *a;
	int err;

	if (!aor || !msg || !addr || !expires)
		return EINVAL;

	if (addr->auri.l >= sizeof(rec.uri) ||
	    msg->callid.l >= sizeof(rec.callid))
		return E2BIG;

	memset(&rec, 0, sizeof(rec));
	str_ncpy(rec.aor, aor, sizeof(rec.aor));
	(void)pl_strcpy(&addr->auri, rec.uri, sizeof(rec.uri));
	(void)pl_strcpy(&msg->callid, rec.callid, sizeof(rec.callid));
	rec.cseq = msg->cseq.num;
	rec.expires_at = sb_unixtime() + expires;
	rec.received = msg->src;
	rec.tp = msg->tp;

	ua = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
	if (ua)
		(void)pl_strcpy(&ua->val, rec.user_agent,
				sizeof(rec.user_agent));

	err = store_contact_put(loc.store, &rec);
	if (err)
		return err;

	err = aor_get(&a, aor);
	if (err)
		return err;

	c = contact_find(a, &addr->auri);
	if (!c) {
		if (list_count(&a->contactl) >= loc.cfg->reg_max_contacts) {
			struct contact *old = contact_oldest(a);

			DEBUG_NOTICE("%s: too many contacts, dropping %s\n",
				     aor, old->uri);
			(void)store_contact_del(loc.store, aor, old->uri);
			mem_deref(old);
		}

		err = contact_new(&c, a, rec.uri);
		if (err)
			return err;
	}

	contact_update(c, &rec);

	return 0;
}


/**
 * Remove one contact of an extension
 *
 * @param aor Extension number
 * @param uri Contact URI
 *
 * @return 0 if success, ENOENT if not bound, otherwise errorcode
 */
int location_unbind(const char *aor, const struct pl *uri)
{
	struct contact *c;
	struct aor *a;

	if (!aor || !uri)
		return EINVAL;

	a = aor_find(aor);
	c = a ? contact_find(a, uri) : NULL;
	if (!c)
		return ENOENT;

	contact_remove(c, true);

	return 0;
}


/**
 * Remove every contact of an extension
 *
 * @param aor Extension number
 *
 * @return 0 if success, otherwise errorcode
 */
int location_unbind_all(const char *aor)
{
	if (!aor)
		return EINVAL;

	mem_deref(aor_find(aor));

	return store_contact_del_aor(loc.store, aor);
}


/**
 * Number of contacts of an extension
 *
 * @param aor Extension number
 *
 * @return Count
 */
uint32_t location_count(const char *aor)
{
	struct aor *a = aor ? aor_find(aor) : NULL;

	return a ? list_count(&a->contactl) : 0;
}


/**
 * Number of contacts of all extensions
 *
 * @return Count
 */
uint32_t location_count_all(void)
{
	return loc.count;
}


/**
 * Walk the contacts of an extension
 *
 * @param aor            Extension number
 * @param reachable_only Skip contacts that stopped answering keep-alives
 * @param h              Handler; returning true stops the walk
 * @param arg            Handler argument
 *
 * @return The contact the walk stopped at, or NULL
 */
const struct contact *location_apply(const char *aor, bool reachable_only,
				     location_h *h, void *arg)
{
	struct aor *a = aor ? aor_find(aor) : NULL;
	struct le *le;

	if (!a || !h)
		return NULL;

	for (le = list_head(&a->contactl); le; ) {
		const struct contact *c = le->data;

		le = le->next;

		if (reachable_only && !c->reachable)
			continue;

		if (h(c, arg))
			return c;
	}

	return NULL;
}


/**
 * Print the Contact headers of a 200 to REGISTER
 *
 * @param pf  Print function
 * @param aor Extension number
 *
 * @return 0 if success, otherwise errorcode
 */
int location_reply_contacts(struct re_printf *pf, const char *aor)
{
	struct aor *a = aor ? aor_find(aor) : NULL;
	struct le *le;
	int err = 0;

	if (!a)
		return 0;

	for (le = list_head(&a->contactl); le; le = le->next) {
		const struct contact *c = le->data;

		err |= re_hprintf(pf, "Contact: <%s>;expires=%u\r\n", c->uri,
				  contact_expires_in(c));
	}

	return err;
}


/**
 * Print a contact for debugging
 *
 * @param pf Print function
 * @param c  Contact
 *
 * @return 0 if success, otherwise errorcode
 */
int contact_debug(struct re_printf *pf, const struct contact *c)
{
	if (!c)
		return 0;

	return re_hprintf(pf, "%s %s via %s %J expires in %us%s",
			  c->aor->number, c->uri, sip_transp_name(c->tp),
			  &c->received, contact_expires_in(c),
			  c->reachable ? "" : " (unreachable)");
}


/** @return The contact URI */
const char *contact_uri(const struct contact *c)
{
	return c ? c->uri : NULL;
}


/** @return The extension number the contact belongs to */
const char *contact_aor(const struct contact *c)
{
	return c ? c->aor->number : NULL;
}


/**
 * Route to a contact over the flow it registered on
 *
 * @param c   Contact
 * @param buf Buffer for "sip:addr;transport=x" (a loose route)
 * @param sz  Size of buffer
 *
 * @return 0 if success, otherwise errorcode
 */
int contact_route(const struct contact *c, char *buf, size_t sz)
{
	if (!c || !buf)
		return EINVAL;

	if (str_len(c->route) >= sz)
		return E2BIG;

	str_ncpy(buf, c->route, sz);

	return 0;
}


/** @return True if the contact answered its last keep-alive */
bool contact_reachable(const struct contact *c)
{
	return c ? c->reachable : false;
}


/** @return Seconds until the binding ends */
uint32_t contact_expires_in(const struct contact *c)
{
	int64_t left;

	if (!c)
		return 0;

	left = c->expires_at - sb_unixtime();

	return left > 0 ? (uint32_t)left : 0;
}


/** @return The source address of the contact's flow */
const struct sa *contact_received(const struct contact *c)
{
	return c ? &c->received : NULL;
}


/** @return The transport of the contact's flow */
enum sip_transp contact_transp(const struct contact *c)
{
	return c ? c->tp : SIP_TRANSP_NONE;
}


/** @return The phone's User-Agent */
const char *contact_user_agent(const struct contact *c)
{
	return c ? c->user_agent : NULL;
}


static int load_handler(const struct contact_rec *rec, void *arg)
{
	struct contact *c;
	struct aor *a;
	struct pl uri;
	int err;
	(void)arg;

	if (rec->expires_at <= sb_unixtime()) {
		(void)store_contact_del(loc.store, rec->aor, rec->uri);
		return 0;
	}

	err = aor_get(&a, rec->aor);
	if (err)
		return err;

	pl_set_str(&uri, rec->uri);
	c = contact_find(a, &uri);
	if (!c) {
		err = contact_new(&c, a, rec->uri);
		if (err)
			return err;
	}

	contact_update(c, rec);

	return 0;
}


/**
 * Start the location service and load the stored contacts
 *
 * @param sip SIP stack
 * @param st  Store
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int location_init(struct sip *sip, struct store *st,
		  const struct sb_conf *cfg)
{
	int err;

	if (!sip || !st || !cfg)
		return EINVAL;

	loc.sip = sip;
	loc.store = st;
	loc.cfg = cfg;

	err = hash_alloc(&loc.ht, AOR_HASH_SIZE);
	if (err)
		return err;

	err = store_contact_list(st, load_handler, NULL);
	if (err)
		return err;

	DEBUG_INFO("%u contacts loaded from the store\n", loc.count);

	return 0;
}


/**
 * Stop the location service; the store keeps the contacts
 */
void location_close(void)
{
	hash_flush(loc.ht);
	loc.ht = mem_deref(loc.ht);
}
