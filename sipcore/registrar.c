/**
 * @file registrar.c  REGISTER: authenticate, bind contacts, reply
 *
 * RFC 3261 section 10.3. Every Contact of a request is checked before any
 * is applied, and all of them are written as one part of the store's
 * batch, so a request takes effect whole or not at all; the 200 goes out
 * once the batch has committed (store_batch.c). Replies are stateless, as
 * Kamailio's are: a server transaction would hold each REGISTER for 32 s
 * (10 KB each at thousands a second), and a retransmitted REGISTER is
 * simply handled again.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "registrar"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum { EXPIRES_DIGITS_MAX = 10 };

static struct {
	struct sip_lsnr *lsnr;
	struct sip *sip;
	struct store *store;
	const struct sb_conf *cfg;
} reg;

/** A REGISTER whose bindings wait for the batch to commit */
struct pending {
	struct sip_msg *msg;    /**< The request, answered then       */
	char aor[EXT_NUMBER_MAX];/**< Its extension                    */
};

/** State shared by the passes over the Contact headers */
struct binding {
	const struct sip_msg *msg;
	const char *aor;
	uint32_t dflt;          /**< From the Expires header          */
	bool star;              /**< Contact: * seen                  */
	unsigned count;         /**< Contact headers seen             */
	uint16_t scode;         /**< Error found, 0 if none           */
	const char *reason;     /**< Its reason phrase                */
	int err;                /**< Error while applying             */
};


/* Expires values are range-checked here: pl_u32 wraps */
static int expires_decode(uint32_t *val, const struct pl *pl)
{
	size_t i;

	if (!pl->l || pl->l > EXPIRES_DIGITS_MAX)
		return EINVAL;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
	}

	*val = (uint32_t)min(pl_u64(pl), (uint64_t)UINT32_MAX);

	return 0;
}


static int contact_expires(uint32_t *exp, const struct binding *b,
			   const struct sip_addr *addr)
{
	struct pl val;

	if (!msg_param_decode(&addr->params, "expires", &val))
		return expires_decode(exp, &val);

	*exp = b->dflt;

	return 0;
}


static bool check_handler(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	struct binding *b = arg;
	struct sip_addr addr;
	uint32_t exp;
	(void)msg;

	++b->count;

	if (!pl_strcmp(&hdr->val, "*")) {
		b->star = true;
		return false;
	}

	if (sip_addr_decode(&addr, &hdr->val)) {
		b->scode = 400;
		b->reason = "Bad Contact";
		return true;
	}

	if (pl_strcasecmp(&addr.uri.scheme, "sip") &&
	    pl_strcasecmp(&addr.uri.scheme, "sips")) {
		b->scode = 416;
		b->reason = "Unsupported URI Scheme";
		return true;
	}

	if (contact_expires(&exp, b, &addr)) {
		b->scode = 400;
		b->reason = "Bad Expires";
		return true;
	}

	if (exp && exp < reg.cfg->reg_min_expires) {
		b->scode = 423;
		b->reason = "Interval Too Brief";
		return true;
	}

	return false;
}


static bool apply_handler(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	struct binding *b = arg;
	struct sip_addr addr;
	uint32_t exp;

	if (sip_addr_decode(&addr, &hdr->val) ||
	    contact_expires(&exp, b, &addr))
		return false;

	if (exp) {
		exp = min(exp, reg.cfg->reg_max_expires);
		b->err = location_bind(b->aor, msg, &addr, exp);
	}
	else {
		b->err = location_unbind(b->aor, &addr.auri);
		if (b->err == ENOENT)
			b->err = 0;
	}

	return b->err != 0;
}


static void reply_error(const struct sip_msg *msg, uint16_t scode,
			const char *reason)
{
	if (scode == 423) {
		(void)sip_replyf(reg.sip, msg, scode, reason,
				 "Min-Expires: %u\r\n"
				 "Content-Length: 0\r\n\r\n",
				 reg.cfg->reg_min_expires);
		return;
	}

	(void)sip_reply(reg.sip, msg, scode, reason);
}


static int bind_all(struct binding *b)
{
	const struct sip_msg *msg = b->msg;
	bool part = b->count > 1;   /* one statement is all or nothing */
	int err;

	err = part ? store_batch_part(reg.store) : 0;
	if (err)
		return err;

	if (b->star) {
		err = location_unbind_all(b->aor);
	}
	else {
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					apply_handler, b);
		err = b->err;
	}

	if (part) {
		int err2 = store_batch_part_end(reg.store, !err);

		err = err ? err : err2;
	}

	return err;
}


static void reply_failure(const struct sip_msg *msg, const char *aor,
			  int err)
{
	DEBUG_WARNING("%s: binding failed: %m\n", aor, err);
	(void)sip_replyf(reg.sip, msg, 500, "Server Internal Error",
			 "Retry-After: 5\r\n"
			 "Content-Length: 0\r\n\r\n");
}


static void reply_ok(const struct sip_msg *msg, const char *aor)
{
	(void)sip_replyf(reg.sip, msg, 200, "OK",
			 "%H"
			 "Content-Length: 0\r\n\r\n",
			 location_reply_contacts, aor);
}


static void pending_destructor(void *arg)
{
	struct pending *p = arg;

	mem_deref(p->msg);
}


/* the bindings are in the store: now the phone may hear so */
static void commit_handler(int err, void *arg)
{
	struct pending *p = arg;

	if (err)
		reply_failure(p->msg, p->aor, err);
	else
		reply_ok(p->msg, p->aor);

	mem_deref(p);
}


static void reply_when_stored(const struct sip_msg *msg, const char *aor)
{
	struct pending *p;
	int err;

	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p) {
		reply_failure(msg, aor, ENOMEM);
		return;
	}

	p->msg = mem_ref((void *)msg);
	str_ncpy(p->aor, aor, sizeof(p->aor));

	err = store_batch_wait(reg.store, commit_handler, p);
	if (err) {
		mem_deref(p);
		if (err == EALREADY)
			reply_ok(msg, aor);
		else
			reply_failure(msg, aor, err);
	}
}


static void handle_register(const struct sip_msg *msg)
{
	struct binding b;
	struct ext ext;
	int err;

	if (pl_strcasecmp(&msg->to.uri.scheme, "sip") &&
	    pl_strcasecmp(&msg->to.uri.scheme, "sips")) {
		(void)sip_reply(reg.sip, msg, 404, "Not Found");
		return;
	}

	if (auth_request(reg.sip, msg, false, &ext) != AUTH_OK)
		return;

	/* an extension registers its own number, no other */
	if (pl_strcmp(&msg->to.uri.user, ext.number)) {
		DEBUG_NOTICE("%J: %s may not register '%r'\n", &msg->src,
			     ext.number, &msg->to.uri.user);
		(void)sip_reply(reg.sip, msg, 403,
				 "Forbidden For This AoR");
		return;
	}

	memset(&b, 0, sizeof(b));
	b.msg = msg;
	b.aor = ext.number;
	b.dflt = reg.cfg->reg_default_expires;

	if (pl_isset(&msg->expires) && expires_decode(&b.dflt, &msg->expires)) {
		(void)sip_reply(reg.sip, msg, 400, "Bad Expires");
		return;
	}

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, check_handler, &b);

	if (b.star && (b.count > 1 || b.dflt != 0)) {
		b.scode = 400;
		b.reason = "Contact * Needs Expires 0 Alone";
	}

	if (b.scode) {
		reply_error(msg, b.scode, b.reason);
		return;
	}

	if (!b.count) {
		reply_ok(msg, ext.number);
		return;
	}

	err = bind_all(&b);
	if (err) {
		reply_failure(msg, ext.number, err);
		return;
	}

	reply_when_stored(msg, ext.number);
}


static bool request_handler(const struct sip_msg *msg, void *arg)
{
	(void)arg;

	if (pl_strcmp(&msg->met, "REGISTER"))
		return false;

	handle_register(msg);

	return true;
}


/**
 * Start the registrar
 *
 * @param sip SIP stack
 * @param st  Store
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int registrar_init(struct sip *sip, struct store *st,
		   const struct sb_conf *cfg)
{
	if (!sip || !st || !cfg)
		return EINVAL;

	reg.sip = sip;
	reg.store = st;
	reg.cfg = cfg;

	return sip_listen(&reg.lsnr, sip, true, request_handler, NULL);
}


/**
 * Stop the registrar
 */
void registrar_close(void)
{
	/* the REGISTERs waiting for their commit get their answer while
	 * the SIP stack is still there */
	if (reg.store)
		(void)store_batch_commit(reg.store);

	reg.lsnr = mem_deref(reg.lsnr);
	reg.store = NULL;
}
