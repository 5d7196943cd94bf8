/**
 * @file api_ext.c  Management API: the extension routes
 *
 * GET /api/extensions, GET|PUT|DELETE /api/extensions/<number> and
 * POST /api/extensions. Passwords are turned into HA1 values at once and
 * never kept; neither HA1s nor PINs are ever sent back. The store is the
 * only copy of an extension, so a change holds from the next request on.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "api.h"

#define DEBUG_MODULE "api"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	PASSWORD_MIN = 8,
	PASSWORD_MAX = 128,
	PIN_MIN      = 4,
};

/** The fields an extension body may have, one bit each */
enum ext_field {
	F_NUMBER   = 1 << 0,
	F_NAME     = 1 << 1,
	F_PASSWORD = 1 << 2,
	F_PIN      = 1 << 3,
	F_ORDER    = 1 << 4,
	F_SRTP     = 1 << 5,
};

/** A checked extension body; strings point into the request's odict */
struct ext_body {
	unsigned have;                 /**< Fields present (ext_field)    */
	const char *number;            /**< Extension number              */
	const char *name;              /**< Display name                  */
	const char *password;          /**< Plaintext password            */
	const char *pin;               /**< Voicemail PIN, "" = none      */
	enum auth_order order;         /**< Challenge order               */
	enum ext_srtp srtp;            /**< SRTP toward its phones        */
};

typedef bool (field_check_h)(const char *val, struct ext_body *b);

static bool number_ok(const char *val, struct ext_body *b);
static bool name_ok(const char *val, struct ext_body *b);
static bool password_ok(const char *val, struct ext_body *b);
static bool pin_ok(const char *val, struct ext_body *b);
static bool order_ok(const char *val, struct ext_body *b);
static bool srtp_ok(const char *val, struct ext_body *b);

/** Each field: its JSON name, its bit, its check, and what it must be */
static const struct field {
	const char *name;
	enum ext_field bit;
	field_check_h *check;
	const char *rule;
} fieldv[] = {
	{"number",     F_NUMBER,   number_ok,
	 "must be 1 to 31 digits (0-9) only"},
	{"name",       F_NAME,     name_ok,
	 "must be at most 63 bytes, without control characters"},
	{"password",   F_PASSWORD, password_ok,
	 "must be 8 to 128 characters"},
	{"vm_pin",     F_PIN,      pin_ok,
	 "must be 4 to 15 digits (0-9), or null for none"},
	{"auth_order", F_ORDER,    order_ok,
	 "must be md5-first, sha256-first, md5-only or sha256-only"},
	{"srtp",       F_SRTP,     srtp_ok,
	 "must be off, optional or required"},
};

/** Names of enum auth_order, in its order */
static const char *orderv[] = {
	"md5-first",
	"sha256-first",
	"md5-only",
	"sha256-only",
};

/** Names of enum ext_srtp, in its order (the relay's words too) */
static const char *srtpv[] = {
	"off",
	"optional",
	"required",
};


static bool digits_ok(const char *s, size_t min, size_t max)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9')
			return false;
	}

	return n >= min && n <= max;
}


static bool number_ok(const char *val, struct ext_body *b)
{
	b->number = val;

	return digits_ok(val, 1, EXT_NUMBER_MAX - 1);
}


static bool name_ok(const char *val, struct ext_body *b)
{
	const char *p;

	b->name = val;

	for (p = val; *p; p++) {
		if ((uint8_t)*p < 0x20 || *p == 0x7f)
			return false;
	}

	return strlen(val) < EXT_NAME_MAX;
}


static bool password_ok(const char *val, struct ext_body *b)
{
	size_t n = 0;
	const char *p;

	b->password = val;

	/* characters, not bytes: the body was checked to be UTF-8 */
	for (p = val; *p; p++) {
		if (((uint8_t)*p & 0xc0) != 0x80)
			++n;
	}

	return n >= PASSWORD_MIN && n <= PASSWORD_MAX;
}


static bool pin_ok(const char *val, struct ext_body *b)
{
	b->pin = val ? val : "";

	return !val || digits_ok(val, PIN_MIN, EXT_PIN_MAX - 1);
}


static bool order_ok(const char *val, struct ext_body *b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(orderv); i++) {
		if (!str_cmp(val, orderv[i])) {
			b->order = (enum auth_order)i;
			return true;
		}
	}

	return false;
}


static bool srtp_ok(const char *val, struct ext_body *b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(srtpv); i++) {
		if (!str_cmp(val, srtpv[i])) {
			b->srtp = (enum ext_srtp)i;
			return true;
		}
	}

	return false;
}


/**
 * The name of an extension's SRTP setting, as the API and the relay
 * protocol say it
 *
 * @param srtp Setting
 *
 * @return "off", "optional" or "required"
 */
const char *ext_srtp_name(enum ext_srtp srtp)
{
	return (unsigned)srtp < ARRAY_SIZE(srtpv) ? srtpv[srtp] : "off";
}


/*
 * Check the body's fields against fieldv. Replies 400 naming the field
 * and returns false at the first one that is unknown, not allowed here,
 * given twice, of the wrong type or against its rule.
 */
static bool body_check(struct api_req *req, struct ext_body *b,
		       unsigned allowed)
{
	struct le *le;

	memset(b, 0, sizeof(*b));

	for (le = list_head(&req->body->lst); le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct field *f = NULL;
		const char *val;
		size_t i;

		for (i = 0; i < ARRAY_SIZE(fieldv); i++) {
			if (!str_cmp(e->key, fieldv[i].name))
				f = &fieldv[i];
		}

		if (!f) {
			(void)api_error(req, 400, e->key,
					"%s: unknown field", e->key);
			return false;
		}

		if (!(allowed & f->bit)) {
			(void)api_error(req, 400, f->name,
					"%s: cannot be changed (delete the "
					"extension and add it again)",
					f->name);
			return false;
		}

		if (b->have & f->bit) {
			(void)api_error(req, 400, f->name,
					"%s: given twice", f->name);
			return false;
		}

		if (e->type == ODICT_STRING)
			val = e->u.str;
		else if (e->type == ODICT_NULL && f->bit == F_PIN)
			val = NULL;
		else {
			(void)api_error(req, 400, f->name,
					"%s: must be a JSON string%s",
					f->name, f->bit == F_PIN ?
					" or null" : "");
			return false;
		}

		if (!f->check(val, b)) {
			(void)api_error(req, 400, f->name, "%s: %s", f->name,
					f->rule);
			return false;
		}

		b->have |= f->bit;
	}

	return true;
}


/* The number in the path; replies 400 and returns false if it is bad */
static bool path_number(struct api_req *req, char *number, size_t sz)
{
	struct ext_body b;

	if (req->arg.l >= sz) {
		(void)api_error(req, 400, "number", "number: %s",
				fieldv[0].rule);
		return false;
	}

	pl_strcpy(&req->arg, number, sz);

	if (!number_ok(number, &b)) {
		(void)api_error(req, 400, "number", "number: %s",
				fieldv[0].rule);
		return false;
	}

	return true;
}


static int ha1_set(struct ext *ext, const struct sb_conf *cfg,
		   const char *password)
{
	int err;

	err = digest_ha1(ext->ha1_md5, sizeof(ext->ha1_md5), DIGEST_MD5,
			 ext->number, cfg->sip_domain, password);
	if (!err)
		err = digest_ha1(ext->ha1_sha256, sizeof(ext->ha1_sha256),
				 DIGEST_SHA256, ext->number, cfg->sip_domain,
				 password);

	/* the input was checked: a failure here is ours, a 500 */
	if (err) {
		DEBUG_WARNING("extension %s: HA1: %m\n", ext->number, err);
		return ENOTSUP;
	}

	return 0;
}


static const char *order_name(enum auth_order order)
{
	return (unsigned)order < ARRAY_SIZE(orderv) ? orderv[order] : "?";
}


/* An extension as the API shows it: no HA1s, no PIN */
static int ext_print(struct re_printf *pf, const struct ext *ext)
{
	return re_hprintf(pf, "{\"number\":%H,\"name\":%H,"
			  "\"auth_order\":\"%s\",\"srtp\":\"%s\","
			  "\"vm_pin_set\":%s,\"contacts\":%u}",
			  api_json_str, ext->number,
			  api_json_str, ext->name,
			  order_name(ext->auth_order),
			  ext_srtp_name(ext->srtp),
			  str_isset(ext->vm_pin) ? "true" : "false",
			  location_count(ext->number));
}


static int ext_print_h(struct re_printf *pf, void *arg)
{
	return ext_print(pf, arg);
}


/** A list being printed */
struct ext_walk {
	struct re_printf *pf;          /**< Where to print                */
	unsigned n;                    /**< Extensions printed            */
};


static int ext_list_h(const struct ext *ext, void *arg)
{
	struct ext_walk *w = arg;
	int err;

	err = re_hprintf(w->pf, "%s%H", w->n ? "," : "",
			 ext_print_h, ext);
	++w->n;

	return err;
}


static int ext_list_print(struct re_printf *pf, void *arg)
{
	struct ext_walk w = {pf, 0};
	struct store *st = arg;
	int err;

	err = re_hprintf(pf, "{\"extensions\":[");
	if (!err)
		err = store_ext_list(st, ext_list_h, &w);
	if (!err)
		err = re_hprintf(pf, "]}");

	return err;
}


/**
 * GET /api/extensions: all extensions, in number order
 *
 * @param req Request
 *
 * @return 0 if replied, otherwise errorcode
 */
int api_ext_list(struct api_req *req)
{
	return api_reply(req, 200, NULL, ext_list_print, req->st);
}


/**
 * GET /api/extensions/<number>
 *
 * @param req Request
 *
 * @return 0 if replied, otherwise errorcode
 */
int api_ext_show(struct api_req *req)
{
	char number[EXT_NUMBER_MAX];
	struct ext ext;
	int err;

	if (!path_number(req, number, sizeof(number)))
		return 0;

	err = store_ext_get(req->st, number, &ext);
	if (err == ENOENT)
		return api_error(req, 404, NULL, "no extension %s", number);
	else if (err)
		return err;

	return api_reply(req, 200, NULL, ext_print_h, &ext);
}


/**
 * POST /api/extensions {"number","name","password","vm_pin"?,
 * "auth_order"?}: add an extension; 201, or 409 if it exists
 *
 * @param req Request
 *
 * @return 0 if replied, otherwise errorcode
 */
int api_ext_add(struct api_req *req)
{
	const unsigned required = F_NUMBER | F_NAME | F_PASSWORD;
	char hdrs[EXT_NUMBER_MAX + 48];
	struct ext_body b;
	struct ext ext;
	size_t i;
	int err;

	if (!body_check(req, &b, F_NUMBER | F_NAME | F_PASSWORD | F_PIN |
			F_ORDER | F_SRTP))
		return 0;

	for (i = 0; i < ARRAY_SIZE(fieldv); i++) {
		const struct field *f = &fieldv[i];

		if ((required & f->bit) && !(b.have & f->bit))
			return api_error(req, 400, f->name,
					 "%s: required (it %s)", f->name,
					 f->rule);
	}

	/* an existing one must not lose its HA1s to a failed insert */
	if (!store_ext_get(req->st, b.number, &ext))
		return api_error(req, 409, "number",
				 "extension %s already exists", b.number);

	memset(&ext, 0, sizeof(ext));
	str_ncpy(ext.number, b.number, sizeof(ext.number));
	str_ncpy(ext.name, b.name, sizeof(ext.name));
	str_ncpy(ext.vm_pin, b.pin ? b.pin : "", sizeof(ext.vm_pin));
	ext.auth_order = (b.have & F_ORDER) ? b.order : AUTH_MD5_FIRST;
	ext.srtp = (b.have & F_SRTP) ? b.srtp : EXT_SRTP_OFF;

	err = ha1_set(&ext, req->cfg, b.password);
	if (err)
		return err;

	err = store_ext_put(req->st, &ext, true);
	if (err == EEXIST)
		return api_error(req, 409, "number",
				 "extension %s already exists", b.number);
	else if (err)
		return err;

	DEBUG_INFO("extension %s added\n", ext.number);

	(void)re_snprintf(hdrs, sizeof(hdrs),
			  "Location: /api/extensions/%s\r\n", ext.number);

	return api_reply(req, 201, hdrs, ext_print_h, &ext);
}


/**
 * PUT /api/extensions/<number> with any of name, password, vm_pin and
 * auth_order: change just those; 404 if there is no such extension
 *
 * @param req Request
 *
 * @return 0 if replied, otherwise errorcode
 */
int api_ext_set(struct api_req *req)
{
	char number[EXT_NUMBER_MAX];
	struct ext_body b;
	struct ext ext;
	int err;

	if (!path_number(req, number, sizeof(number)))
		return 0;

	if (!body_check(req, &b, F_NAME | F_PASSWORD | F_PIN | F_ORDER |
			F_SRTP))
		return 0;

	if (!b.have)
		return api_error(req, 400, NULL, "body: give at least one of "
				 "name, password, vm_pin, auth_order, srtp");

	err = store_ext_get(req->st, number, &ext);
	if (err == ENOENT)
		return api_error(req, 404, NULL, "no extension %s", number);
	else if (err)
		return err;

	if (b.have & F_NAME)
		str_ncpy(ext.name, b.name, sizeof(ext.name));
	if (b.have & F_PIN)
		str_ncpy(ext.vm_pin, b.pin, sizeof(ext.vm_pin));
	if (b.have & F_ORDER)
		ext.auth_order = b.order;
	if (b.have & F_SRTP)
		ext.srtp = b.srtp;
	if (b.have & F_PASSWORD) {
		err = ha1_set(&ext, req->cfg, b.password);
		if (err)
			return err;
	}

	err = store_ext_put(req->st, &ext, false);
	if (err == ENOENT)
		return api_error(req, 404, NULL, "no extension %s", number);
	else if (err)
		return err;

	DEBUG_INFO("extension %s changed\n", ext.number);

	return api_reply(req, 200, NULL, ext_print_h, &ext);
}


/**
 * DELETE /api/extensions/<number>: remove it and drop its phones' bindings
 * at once; 204, or 404 if there is no such extension
 *
 * @param req Request
 *
 * @return 0 if replied, otherwise errorcode
 */
int api_ext_del(struct api_req *req)
{
	char number[EXT_NUMBER_MAX];
	int err;

	if (!path_number(req, number, sizeof(number)))
		return 0;

	err = store_ext_del(req->st, number);
	if (err == ENOENT)
		return api_error(req, 404, NULL, "no extension %s", number);
	else if (err)
		return err;

	err = location_unbind_all(number);
	if (err && err != ENOENT)
		DEBUG_WARNING("extension %s: dropping contacts: %m\n", number,
			      err);

	DEBUG_INFO("extension %s deleted\n", number);

	return api_reply(req, 204, NULL, NULL, NULL);
}
