/**
 * @file nonce.c  Server nonces: stateless to issue, replay-checked on use
 *
 * A nonce is base64url(stamp | random | mac), 43 characters: the issue
 * time in nanoseconds of a monotonic clock, made strictly increasing
 * (8 bytes, big-endian), 8 random bytes, and the first 16 bytes of
 * HMAC-SHA256 of those 16 bytes under a per-process secret. Issuing keeps
 * no state; only this process can verify its nonces, so after a restart
 * every old nonce is stale and phones retry silently.
 *
 * Nonces in use are kept in a table, nonce -> highest nc seen, ordered by
 * stamp. When the table is full the oldest entry is dropped and its stamp
 * becomes the floor: a nonce at or below the floor that is not in the
 * table is stale. So an evicted nonce can never be replayed, a new nonce
 * is never refused for want of room, and memory stays bounded by max.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include "sipcore.h"


enum {
	SECRET_LEN = 32,
	STAMP_LEN  = 8,
	RAND_LEN   = 8,
	ID_LEN     = STAMP_LEN + RAND_LEN, /* what the MAC covers       */
	MAC_LEN    = 16,
	BIN_LEN    = ID_LEN + MAC_LEN,
	B64_LEN    = (BIN_LEN * 8 + 5) / 6, /* 43, unpadded              */
	NC_LEN     = 8,
	PURGE_MAX  = 8,                     /* expired entries per check */
	BUCKET_MAX = 65536,
	NS_PER_S   = 1000000000,
};

/** Nonce issuer and replay table */
struct nonces {
	uint8_t secret[SECRET_LEN];    /**< HMAC key, per process         */
	uint64_t lifetime;             /**< Nanoseconds a nonce is fresh  */
	uint32_t max;                  /**< Table entries at most         */
	uint32_t count;                /**< Table entries now             */
	struct hash *ht;               /**< Entries by id                 */
	struct list entl;              /**< Entries by id, ascending      */
	uint8_t floor[ID_LEN];         /**< Highest id evicted            */
	uint64_t last;                 /**< Stamp of the last nonce made  */
	EVP_MAC_CTX *mac;              /**< HMAC-SHA256 keyed with secret */
	uint8_t pool[512];             /**< Random bytes not yet used     */
	size_t pool_left;              /**< ... the first pool_left       */
};

/** A nonce in use */
struct nent {
	struct le he;                  /**< Member of nonces.ht           */
	struct le le;                  /**< Member of nonces.entl         */
	uint8_t id[ID_LEN];            /**< Stamp and random part         */
	uint64_t stamp;                /**< Issue time, nanoseconds       */
	uint32_t nc;                   /**< Highest nc seen               */
};

/* No-qop use consumes the nonce: no nc can be above this one */
static const uint32_t NC_CONSUMED = 0xffffffff;

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/*
 * Nonces never outlive the process (the secret dies with it), so a
 * monotonic clock serves, and a step of the wall clock cannot make them
 * all stale or fresh for too long.
 */
static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return (uint64_t)time(NULL) * NS_PER_S;

	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}


static void nonces_destructor(void *arg)
{
	struct nonces *n = arg;

	list_flush(&n->entl);
	n->ht = mem_deref(n->ht);
	EVP_MAC_CTX_free(n->mac);
	OPENSSL_cleanse(n->secret, sizeof(n->secret));
	OPENSSL_cleanse(n->pool, sizeof(n->pool));
}


static void nent_destructor(void *arg)
{
	struct nent *e = arg;

	hash_unlink(&e->he);
	list_unlink(&e->le);
}


/* keyed once at start: a one-shot HMAC() looks the digest and the MAC
 * up again on every call, five times the work of the MAC itself */
static int mac(const struct nonces *n, const uint8_t *id, uint8_t *out)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	if (!EVP_MAC_init(n->mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(n->mac, id, ID_LEN) ||
	    !EVP_MAC_final(n->mac, md, &mdlen, sizeof(md)) ||
	    mdlen < MAC_LEN)
		return EPROTO;

	memcpy(out, md, MAC_LEN);

	return 0;
}


static int mac_setup(struct nonces *n)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256",
						 0),
		OSSL_PARAM_construct_end()
	};
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	int err = 0;

	n->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	if (!n->mac || !EVP_MAC_init(n->mac, n->secret, sizeof(n->secret),
				     params))
		err = EPROTO;

	EVP_MAC_free(hmac);

	return err;
}


/* the random part of nonces: RAND_bytes costs as much for 8 bytes as
 * for 512, so it is asked for in bulk */
static void random_part(struct nonces *n, uint8_t *out)
{
	if (n->pool_left < RAND_LEN) {
		rand_bytes(n->pool, sizeof(n->pool));
		n->pool_left = sizeof(n->pool);
	}

	n->pool_left -= RAND_LEN;
	memcpy(out, &n->pool[n->pool_left], RAND_LEN);
	OPENSSL_cleanse(&n->pool[n->pool_left], RAND_LEN);
}


static void b64url_encode(char *out, const uint8_t *in, size_t len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;

		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 0x3f];
		}
		acc &= (1u << bits) - 1;
	}

	if (bits)
		out[o++] = b64url[(acc << (6 - bits)) & 0x3f];

	out[o] = '\0';
}


static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;

	return -1;
}


/* Strict: exactly B64_LEN characters, unused trailing bits zero */
static bool b64url_decode(uint8_t *out, const struct pl *pl)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;

	if (pl->l != B64_LEN)
		return false;

	for (i = 0; i < pl->l; i++) {
		int v = b64url_val(pl->p[i]);

		if (v < 0)
			return false;

		acc = (acc << 6) | (uint32_t)v;
		bits += 6;

		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}

	return o == BIN_LEN && acc == 0;
}


static bool nc_decode(uint32_t *ncp, const struct pl *pl)
{
	uint32_t v = 0;
	size_t i;

	if (pl->l != NC_LEN)
		return false;

	for (i = 0; i < NC_LEN; i++) {
		char c = pl->p[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return false;

		v = (v << 4) | d;
	}

	*ncp = v;

	return true;
}


static bool nent_cmp(struct le *le, void *arg)
{
	const struct nent *e = le->data;

	return 0 == memcmp(e->id, arg, ID_LEN);
}


/* A stamp may be a little ahead of the clock: see nonce_make */
static bool expired(const struct nonces *n, uint64_t stamp, uint64_t now)
{
	return now > stamp && now - stamp > n->lifetime;
}


static void nent_remove(struct nonces *n, struct nent *e)
{
	mem_deref(e);
	--n->count;
}


/* The list is ordered by id, so by issue time: the head expires first */
static void purge(struct nonces *n, uint64_t now)
{
	unsigned i;

	for (i = 0; i < PURGE_MAX; i++) {
		struct nent *e = list_ledata(list_head(&n->entl));

		if (!e || !expired(n, e->stamp, now))
			break;

		nent_remove(n, e);
	}
}


static int insert(struct nonces *n, const uint8_t *id, uint64_t stamp,
		  uint32_t nc)
{
	struct nent *e;
	struct le *le;

	e = mem_zalloc(sizeof(*e), nent_destructor);
	if (!e)
		return ENOMEM;

	memcpy(e->id, id, ID_LEN);
	e->stamp = stamp;
	e->nc = nc;

	/* Nonces are mostly first used soon after they are issued */
	for (le = list_tail(&n->entl); le; le = le->prev) {
		const struct nent *x = le->data;

		if (memcmp(x->id, id, ID_LEN) < 0)
			break;
	}

	if (le)
		list_insert_after(&n->entl, le, &e->le, e);
	else
		list_prepend(&n->entl, &e->le, e);

	hash_append(n->ht, hash_joaat(id, ID_LEN), &e->he, e);
	++n->count;

	/*
	 * Drop the oldest, which may be the new one. The floor only rises:
	 * every id in the table is above it.
	 */
	while (n->count > n->max) {
		struct nent *low = list_ledata(list_head(&n->entl));

		if (!low)
			break;

		memcpy(n->floor, low->id, ID_LEN);
		nent_remove(n, low);
	}

	return 0;
}


/**
 * Allocate a nonce issuer with its own random secret
 *
 * @param np         Pointer to allocated object
 * @param lifetime_s Seconds a nonce stays fresh
 * @param max        Nonces in use remembered at most, for replay checks
 *
 * @return 0 if success, otherwise errorcode
 */
int nonces_alloc(struct nonces **np, uint32_t lifetime_s, uint32_t max)
{
	struct nonces *n;
	int err;

	if (!np || !lifetime_s || !max)
		return EINVAL;

	n = mem_zalloc(sizeof(*n), nonces_destructor);
	if (!n)
		return ENOMEM;

	n->lifetime = (uint64_t)lifetime_s * NS_PER_S;
	n->max = max;

	/* Not re's rand_bytes: that one cannot report a failure */
	if (RAND_bytes(n->secret, (int)sizeof(n->secret)) != 1) {
		err = EIO;
		goto out;
	}

	err = mac_setup(n);
	if (err)
		goto out;

	err = hash_alloc(&n->ht, hash_valid_size(min(max, BUCKET_MAX)));

 out:
	if (err)
		mem_deref(n);
	else
		*np = n;

	return err;
}


/**
 * Issue a new nonce
 *
 * @param n   Nonce issuer
 * @param buf Output buffer, NUL-terminated
 * @param sz  Size of buf, at least 44
 *
 * @return 0 if success, otherwise errorcode
 */
int nonce_make(struct nonces *n, char *buf, size_t sz)
{
	uint8_t bin[BIN_LEN];
	uint64_t stamp;
	size_t i;
	int err;

	if (!n || !buf || sz < B64_LEN + 1)
		return EINVAL;

	/* Strictly increasing, so that use order and issue order agree */
	stamp = now_ns();
	if (stamp <= n->last)
		stamp = n->last + 1;
	n->last = stamp;

	for (i = 0; i < STAMP_LEN; i++)
		bin[i] = (uint8_t)(stamp >> (8 * (STAMP_LEN - 1 - i)));

	random_part(n, &bin[STAMP_LEN]);

	err = mac(n, bin, &bin[ID_LEN]);
	if (err)
		return err;

	b64url_encode(buf, bin, sizeof(bin));

	return 0;
}


/**
 * Check a nonce from a request, and record its use
 *
 * @param n     Nonce issuer
 * @param nonce Nonce as received
 * @param nc    Nonce count, 8 hex digits; NULL or empty if the client
 *              sent no qop, and then the nonce is good for one use
 *
 * @return NONCE_OK; NONCE_STALE if the nonce is not ours (tampered,
 *         garbage, another process), expired, or older than one the
 *         full table dropped; NONCE_REPLAY if nc is malformed or not
 *         above the highest seen, or a nonce used without nc is reused
 */
enum nonce_state nonce_check(struct nonces *n, const struct pl *nonce,
			     const struct pl *nc)
{
	uint8_t bin[BIN_LEN], expect[MAC_LEN];
	uint64_t stamp = 0, now;
	struct nent *e;
	uint32_t ncv;
	size_t i;

	if (!n || !pl_isset(nonce) || !b64url_decode(bin, nonce))
		return NONCE_STALE;

	if (mac(n, bin, expect) ||
	    CRYPTO_memcmp(expect, &bin[ID_LEN], MAC_LEN))
		return NONCE_STALE;

	for (i = 0; i < STAMP_LEN; i++)
		stamp = (stamp << 8) | bin[i];

	now = now_ns();
	if (expired(n, stamp, now))
		return NONCE_STALE;

	if (pl_isset(nc)) {
		if (!nc_decode(&ncv, nc) || ncv == 0)
			return NONCE_REPLAY;
	}
	else {
		ncv = NC_CONSUMED;
	}

	purge(n, now);

	e = list_ledata(hash_lookup(n->ht, hash_joaat(bin, ID_LEN),
				    nent_cmp, bin));
	if (e) {
		if (!pl_isset(nc) || ncv <= e->nc)
			return NONCE_REPLAY;

		e->nc = ncv;
		return NONCE_OK;
	}

	/* Evicted, or never seen but no newer than an evicted one */
	if (memcmp(bin, n->floor, ID_LEN) <= 0)
		return NONCE_STALE;

	/* Without room to remember it, a nonce must not be accepted */
	if (insert(n, bin, stamp, ncv))
		return NONCE_STALE;

	return NONCE_OK;
}
