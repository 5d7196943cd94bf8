/**
 * @file auth.c  Digest authentication of SIP requests (MD5 and SHA-256)
 *
 * Checked against the HA1 values in the store. An unknown user and a wrong
 * password get the same 403, so the replies do not tell which users exist.
 * An expired or unknown nonce (one from before a restart) and a replayed
 * nonce-count get a fresh challenge with stale=true, which phones answer
 * without asking the user.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "auth"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum { NONCES_MAX = 65536 };

static struct {
	struct store *store;
	struct nonces *nonces;
	const char *realm;
} auth;

/** Credentials found in a request */
struct creds {
	struct httpauth_digest_resp resp;  /**< Decoded fields           */
	struct pl alg;                     /**< algorithm=, if any       */
	bool found;                        /**< Digest for our realm     */
};


static bool creds_handler(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	struct creds *cr = arg;
	struct httpauth_digest_resp resp;
	(void)msg;

	if (httpauth_digest_response_decode(&resp, &hdr->val))
		return false;

	if (pl_strcmp(&resp.realm, auth.realm))
		return false;

	cr->resp = resp;
	cr->found = true;

	if (re_regex(hdr->val.p, hdr->val.l, "algorithm=[~ \t\r\n,]+",
		     &cr->alg))
		cr->alg = pl_null;

	return true;
}


static int challenge(struct sip *sip, const struct sip_msg *msg,
		     bool proxy, bool stale)
{
	const char *hname = proxy ? "Proxy-Authenticate" :
		"WWW-Authenticate";
	enum digest_alg algv[2] = {DIGEST_MD5, DIGEST_SHA256};
	size_t algc = 2, i;
	struct ext ext;
	char nonce[128], user[EXT_NUMBER_MAX];
	struct mbuf *mb;
	int err;

	/* the order follows the extension the request names */
	(void)pl_strcpy(proxy ? &msg->from.uri.user : &msg->to.uri.user,
			user, sizeof(user));
	if (!store_ext_get(auth.store, user, &ext)) {
		switch (ext.auth_order) {

		case AUTH_SHA256_FIRST:
			algv[0] = DIGEST_SHA256;
			algv[1] = DIGEST_MD5;
			break;

		case AUTH_MD5_ONLY:
			algc = 1;
			break;

		case AUTH_SHA256_ONLY:
			algv[0] = DIGEST_SHA256;
			algc = 1;
			break;

		default:
			break;
		}
	}

	err = nonce_make(auth.nonces, nonce, sizeof(nonce));
	if (err)
		return err;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;

	for (i = 0; i < algc; i++) {
		err |= mbuf_printf(mb, "%s: Digest realm=\"%s\", nonce=\"%s\","
				   " qop=\"auth\", algorithm=%s%s\r\n", hname,
				   auth.realm, nonce,
				   digest_alg_name(algv[i]),
				   stale ? ", stale=true" : "");
	}

	if (!err) {
		/* stateless: a challenge holds no transaction for 32 s */
		err = sip_replyf(sip, msg, proxy ? 407 : 401,
				 proxy ? "Proxy Authentication Required" :
				 "Unauthorized", "%b"
				 "Content-Length: 0\r\n\r\n",
				 mb->buf, mb->end);
	}

	mem_deref(mb);

	return err;
}


static bool creds_valid(const struct creds *cr, const struct sip_msg *msg,
			struct ext *ext)
{
	enum digest_alg alg;
	char user[EXT_NUMBER_MAX], expect[DIGEST_HEX_MAX];
	const char *ha1;
	bool known;

	if (digest_alg_decode(&alg, &cr->alg))
		return false;

	/* RFC 3261 requires qop when the challenge offers it */
	if (pl_strcasecmp(&cr->resp.qop, "auth") || !pl_isset(&cr->resp.nc) ||
	    !pl_isset(&cr->resp.cnonce))
		return false;

	if (cr->resp.username.l >= sizeof(user))
		return false;
	(void)pl_strcpy(&cr->resp.username, user, sizeof(user));

	known = !store_ext_get(auth.store, user, ext);
	if (!known) {
		/* the same work as for a known user: no timing tell */
		memset(ext, 0, sizeof(*ext));
		str_ncpy(ext->ha1_sha256, "0", sizeof(ext->ha1_sha256));
		str_ncpy(ext->ha1_md5, "0", sizeof(ext->ha1_md5));
	}

	switch (ext->auth_order) {

	case AUTH_MD5_ONLY:
		if (alg != DIGEST_MD5)
			return false;
		break;

	case AUTH_SHA256_ONLY:
		if (alg != DIGEST_SHA256)
			return false;
		break;

	default:
		break;
	}

	ha1 = alg == DIGEST_MD5 ? ext->ha1_md5 : ext->ha1_sha256;

	if (digest_response(expect, sizeof(expect), alg, ha1,
			    &cr->resp.nonce, &cr->resp.nc, &cr->resp.cnonce,
			    &cr->resp.qop, &msg->met, &cr->resp.uri))
		return false;

	return digest_equal(expect, &cr->resp.response) && known;
}


/**
 * Authenticate a request, replying with a challenge or 403 if need be
 *
 * @param sip   SIP stack
 * @param msg   Request
 * @param proxy True for 407/Proxy-Authorization (calls), false for
 *              401/Authorization (REGISTER)
 * @param ext   Filled with the authenticated extension on AUTH_OK
 *
 * @return What was found; on anything but AUTH_OK a reply has been sent
 */
enum auth_result auth_request(struct sip *sip, const struct sip_msg *msg,
			      bool proxy, struct ext *ext)
{
	struct creds cr;

	if (!sip || !msg || !ext)
		return AUTH_FAILED;

	memset(&cr, 0, sizeof(cr));
	(void)sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				: SIP_HDR_AUTHORIZATION, creds_handler, &cr);

	if (!cr.found) {
		(void)challenge(sip, msg, proxy, false);
		return AUTH_CHALLENGE;
	}

	/* the response first: only a valid one may use up a nonce-count,
	 * so a stranger cannot burn the nonces of real phones */
	if (!creds_valid(&cr, msg, ext)) {
		DEBUG_NOTICE("%J: authentication failed for '%r'\n",
			     &msg->src, &cr.resp.username);
		(void)sip_reply(sip, msg, 403, "Forbidden");
		return AUTH_FAILED;
	}

	switch (nonce_check(auth.nonces, &cr.resp.nonce, &cr.resp.nc)) {

	case NONCE_OK:
		break;

	case NONCE_REPLAY:
		DEBUG_NOTICE("%J: nonce-count replayed by '%r'\n", &msg->src,
			     &cr.resp.username);
		(void)challenge(sip, msg, proxy, true);
		return AUTH_CHALLENGE;

	default:
		(void)challenge(sip, msg, proxy, true);
		return AUTH_CHALLENGE;
	}

	return AUTH_OK;
}


/**
 * Start digest authentication
 *
 * @param st  Store with the extensions
 * @param cfg Configuration (realm, nonce lifetime)
 *
 * @return 0 if success, otherwise errorcode
 */
int auth_init(struct store *st, const struct sb_conf *cfg)
{
	if (!st || !cfg)
		return EINVAL;

	auth.store = st;
	auth.realm = cfg->sip_domain;

	return nonces_alloc(&auth.nonces, cfg->auth_nonce_lifetime,
			    NONCES_MAX);
}


/**
 * Stop digest authentication
 */
void auth_close(void)
{
	auth.nonces = mem_deref(auth.nonces);
	auth.store = NULL;
}
