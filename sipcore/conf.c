/**
 * @file conf.c  Configuration: defaults, and a `key value` file on top
 *
 * re's conf API cannot say on which line a value stands, so the file is
 * read here line by line: a bad line stops start-up with file, line and
 * reason.
 */
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "conf"
#define DEBUG_LEVEL 5
#include <re_dbg.h>


enum opt_type {
	OPT_LISTEN,
	OPT_ADDR,
	OPT_STR,
	OPT_U32,
	OPT_LOGLEVEL,
	OPT_RELAY,     /**< Repeatable: each line adds one relay */
};

/** One option: its key, where it goes, its limits and what it is */
struct opt {
	const char *key;
	enum opt_type type;
	size_t off;
	size_t size;
	uint32_t min;
	uint32_t max;
	const char *desc;
};

#define O(f) offsetof(struct sb_conf, f), sizeof(((struct sb_conf *)0)->f)

static const struct opt optv[] = {
	{"sip_listen_udp", OPT_LISTEN, O(sip_udp), 0, 0,
	 "UDP listen addresses"},
	{"sip_listen_tcp", OPT_LISTEN, O(sip_tcp), 0, 0,
	 "TCP listen addresses"},
	{"sip_listen_tls", OPT_LISTEN, O(sip_tls), 0, 0,
	 "TLS listen addresses"},
	{"sip_domain", OPT_STR, O(sip_domain), 1, 0,
	 "SIP domain, also the digest realm"},
	{"sip_tls_cert", OPT_STR, O(sip_tls_cert), 0, 0,
	 "PEM file with certificate and key"},
	{"sip_max_conn_per_ip", OPT_U32, O(sip_max_conn_per_ip), 0, 100000,
	 "TCP/TLS connections from one address, 0 no cap"},
	{"store_path", OPT_STR, O(store_path), 1, 0,
	 "SQLite database file"},
	{"log_level", OPT_LOGLEVEL, O(log_level), 0, 0,
	 "error, warn, info or debug"},
	{"call_noanswer_timeout", OPT_U32, O(call_noanswer_timeout), 5, 600,
	 "seconds a call rings before 480"},
	{"call_max", OPT_U32, O(call_max), 1, 100000,
	 "concurrent calls"},
	{"reg_min_expires", OPT_U32, O(reg_min_expires), 10, 86400,
	 "shortest registration, seconds"},
	{"reg_max_expires", OPT_U32, O(reg_max_expires), 10, 604800,
	 "longest registration, seconds"},
	{"reg_default_expires", OPT_U32, O(reg_default_expires), 10, 604800,
	 "registration when none is asked, seconds"},
	{"reg_max_contacts", OPT_U32, O(reg_max_contacts), 1, 100,
	 "contacts per extension"},
	{"reg_keepalive_interval", OPT_U32, O(reg_keepalive_interval), 0,
	 3600, "seconds between OPTIONS pings, 0 off"},
	{"auth_nonce_lifetime", OPT_U32, O(auth_nonce_lifetime), 10, 3600,
	 "seconds a digest nonce stays fresh"},
	{"api_listen", OPT_ADDR, O(api_listen), 0, 0,
	 "HTTP API address"},
	{"api_token", OPT_STR, O(api_token), 16, 0,
	 "HTTP API bearer token (at least 16 characters)"},
	{"relay_spawn", OPT_U32, O(relay_spawn), 0, 1,
	 "1: start sbrelay and restart it; 0: connect to one"},
	{"relay_binary", OPT_STR, O(relay_binary), 1, 0,
	 "sbrelay program (default: beside switchboard)"},
	{"relay_socket", OPT_STR, O(relay_socket), 1, 0,
	 "relay control socket (default: <store_path>.relay.sock)"},
	{"relay_connect", OPT_RELAY, O(relay_connect), 0, 0,
	 "a relay started by hand, one per line"},
	{"relay_address", OPT_STR, O(relay_address), 1, 0,
	 "IP address of the relay's RTP sockets"},
	{"relay_port_min", OPT_U32, O(relay_port_min), 1024, 65534,
	 "lowest RTP port"},
	{"relay_port_max", OPT_U32, O(relay_port_max), 1025, 65535,
	 "highest RTP port"},
	{"moh_file", OPT_STR, O(moh_file), 0, 0,
	 "music on hold, a WAV file the relay reads; empty: none"},
};


/**
 * Fill a configuration with the defaults: loopback only, sane limits
 *
 * @param cfg Configuration
 */
void conf_defaults(struct sb_conf *cfg)
{
	if (!cfg)
		return;

	memset(cfg, 0, sizeof(*cfg));

	(void)sa_set_str(&cfg->sip_udp.addrv[0], "127.0.0.1", 5060);
	(void)sa_set_str(&cfg->sip_udp.addrv[1], "::1", 5060);
	cfg->sip_udp.addrc = 2;
	cfg->sip_tcp = cfg->sip_udp;
	(void)sa_set_str(&cfg->sip_tls.addrv[0], "127.0.0.1", 5061);
	(void)sa_set_str(&cfg->sip_tls.addrv[1], "::1", 5061);
	cfg->sip_tls.addrc = 2;

	str_ncpy(cfg->sip_domain, "pbx.local", sizeof(cfg->sip_domain));
	cfg->sip_max_conn_per_ip = 64;
	str_ncpy(cfg->store_path, "switchboard.db", sizeof(cfg->store_path));
	cfg->log_level = DBG_INFO;
	cfg->call_noanswer_timeout = 30;
	cfg->call_max = 1000;
	cfg->reg_min_expires = 60;
	cfg->reg_max_expires = 3600;
	cfg->reg_default_expires = 600;
	cfg->reg_max_contacts = 10;
	cfg->reg_keepalive_interval = 30;
	cfg->auth_nonce_lifetime = 300;
	(void)sa_set_str(&cfg->api_listen, "127.0.0.1", 8080);
	cfg->relay_spawn = 1;
	str_ncpy(cfg->relay_address, "127.0.0.1",
		 sizeof(cfg->relay_address));
	cfg->relay_port_min = 30000;
	cfg->relay_port_max = 39999;
	(void)sound_find(cfg->moh_file, sizeof(cfg->moh_file),
			 "sounds/moh/default.wav");
}


static int parse_addr(struct sa *sa, const struct pl *val)
{
	int err = sa_decode(sa, val->p, val->l);

	if (!err && !sa_port(sa))
		err = EINVAL;

	return err;
}


static int parse_listen(struct sb_listen *lsn, const struct pl *val,
			const char **why)
{
	struct pl rest = *val, word;

	lsn->addrc = 0;

	/* "none" turns a transport off */
	if (!pl_strcasecmp(val, "none"))
		return 0;

	while (!re_regex(rest.p, rest.l, "[^ \t,]+", &word)) {

		if (lsn->addrc >= SB_ADDR_MAX) {
			*why = "too many addresses";
			return E2BIG;
		}

		if (parse_addr(&lsn->addrv[lsn->addrc], &word)) {
			*why = "expected ip:port, [ipv6]:port or none";
			return EINVAL;
		}

		++lsn->addrc;
		rest.l -= word.p + word.l - rest.p;
		rest.p  = word.p + word.l;
	}

	if (!lsn->addrc) {
		*why = "no address";
		return EINVAL;
	}

	return 0;
}


/* "unix:PATH" or "tcp:IP:PORT" ("tcp:[IPv6]:PORT"), added to the list */
static int parse_relay(struct sb_relays *relays, const struct pl *val,
		       const char **why)
{
	struct sb_relay_addr addr;
	struct pl rest;
	size_t i;

	memset(&addr, 0, sizeof(addr));
	*why = "expected unix:PATH, tcp:IP:PORT or tcp:[IPv6]:PORT";

	rest = *val;

	if (val->l > 4 && !memcmp(val->p, "tcp:", 4)) {
		pl_advance(&rest, 4);
		if (parse_addr(&addr.tcp, &rest) || sa_is_any(&addr.tcp))
			return EINVAL;
	}
	else if (val->l > 5 && !memcmp(val->p, "unix:", 5)) {
		pl_advance(&rest, 5);
		if (rest.l >= sizeof(addr.path)) {
			*why = "socket path too long";
			return E2BIG;
		}
		for (i = 0; i < rest.l; i++) {
			if ((uint8_t)rest.p[i] < 0x20) {
				*why = "control character in path";
				return EINVAL;
			}
		}
		(void)pl_strcpy(&rest, addr.path, sizeof(addr.path));
	}
	else {
		return EINVAL;
	}

	for (i = 0; i < relays->addrc; i++) {
		const struct sb_relay_addr *a = &relays->addrv[i];

		if (sa_isset(&addr.tcp, SA_ADDR) ?
		    sa_cmp(&a->tcp, &addr.tcp, SA_ALL) :
		    !sa_isset(&a->tcp, SA_ADDR) &&
		    !str_cmp(a->path, addr.path)) {
			*why = "relay listed twice";
			return EEXIST;
		}
	}

	if (relays->addrc >= SB_RELAY_MAX) {
		*why = "too many relays";
		return E2BIG;
	}

	relays->addrv[relays->addrc++] = addr;

	return 0;
}


static int parse_loglevel(int *level, const struct pl *val)
{
	static const struct {
		const char *name;
		int level;
	} levelv[] = {
		{"error", DBG_ERR}, {"warn", DBG_WARNING},
		{"info", DBG_INFO}, {"debug", DBG_DEBUG},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(levelv); i++) {
		if (!pl_strcasecmp(val, levelv[i].name)) {
			*level = levelv[i].level;
			return 0;
		}
	}

	return EINVAL;
}


static int apply(struct sb_conf *cfg, const struct opt *o,
		 const struct pl *val, const char **why)
{
	void *field = (uint8_t *)cfg + o->off;
	uint64_t num;
	size_t i;

	switch (o->type) {

	case OPT_LISTEN:
		return parse_listen(field, val, why);

	case OPT_ADDR:
		if (parse_addr(field, val)) {
			*why = "expected ip:port or [ipv6]:port";
			return EINVAL;
		}
		return 0;

	case OPT_STR:
		if (val->l >= o->size) {
			*why = "value too long";
			return E2BIG;
		}
		if (o->min && val->l < o->min) {
			*why = "value too short";
			return EINVAL;
		}
		for (i = 0; i < val->l; i++) {
			if ((uint8_t)val->p[i] < 0x20) {
				*why = "control character in value";
				return EINVAL;
			}
		}
		(void)pl_strcpy(val, field, o->size);
		return 0;

	case OPT_U32:
		if (!val->l || val->l > 10) {
			*why = "expected a number";
			return EINVAL;
		}
		for (i = 0; i < val->l; i++) {
			if (val->p[i] < '0' || val->p[i] > '9') {
				*why = "expected a number";
				return EINVAL;
			}
		}
		num = pl_u64(val);
		if (num < o->min || num > o->max) {
			*why = "number out of range";
			return ERANGE;
		}
		*(uint32_t *)field = (uint32_t)num;
		return 0;

	case OPT_LOGLEVEL:
		if (parse_loglevel(field, val)) {
			*why = "expected error, warn, info or debug";
			return EINVAL;
		}
		return 0;

	case OPT_RELAY:
		return parse_relay(field, val, why);
	}

	return EINVAL;
}


static const struct opt *opt_find(const struct pl *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(optv); i++) {
		if (!pl_strcmp(key, optv[i].key))
			return &optv[i];
	}

	return NULL;
}


static int check(const struct sb_conf *cfg, const char *name)
{
	struct sa relay_ip;

	if (cfg->reg_min_expires > cfg->reg_max_expires) {
		DEBUG_WARNING("%s: reg_min_expires (%u) is above"
			      " reg_max_expires (%u)\n", name,
			      cfg->reg_min_expires, cfg->reg_max_expires);
		return EINVAL;
	}

	if (cfg->reg_default_expires < cfg->reg_min_expires ||
	    cfg->reg_default_expires > cfg->reg_max_expires) {
		DEBUG_WARNING("%s: reg_default_expires (%u) is outside"
			      " reg_min_expires..reg_max_expires\n", name,
			      cfg->reg_default_expires);
		return EINVAL;
	}

	if (sa_set_str(&relay_ip, cfg->relay_address, 0) ||
	    sa_is_any(&relay_ip)) {
		DEBUG_WARNING("%s: relay_address '%s' is not an IP address"
			      " phones can send to\n", name,
			      cfg->relay_address);
		return EINVAL;
	}

	if (cfg->relay_port_min + 2 > cfg->relay_port_max) {
		DEBUG_WARNING("%s: relay_port_min (%u) must be below"
			      " relay_port_max (%u)\n", name,
			      cfg->relay_port_min, cfg->relay_port_max);
		return EINVAL;
	}

	/* the relay plays only absolute paths */
	if (str_isset(cfg->moh_file) && cfg->moh_file[0] != '/') {
		DEBUG_WARNING("%s: moh_file '%s' is not an absolute path\n",
			      name, cfg->moh_file);
		return EINVAL;
	}

	if (!cfg->sip_udp.addrc && !cfg->sip_tcp.addrc &&
	    !cfg->sip_tls.addrc) {
		DEBUG_WARNING("%s: every SIP transport is off\n", name);
		return EINVAL;
	}

	return 0;
}


/**
 * Parse configuration text: one `key value` per line, `#` comments
 *
 * @param cfg  Configuration to overwrite
 * @param buf  Text
 * @param len  Length of text
 * @param name Name of the source, for messages
 *
 * @return 0 if success, otherwise errorcode (the reason is logged)
 */
int conf_parse(struct sb_conf *cfg, const char *buf, size_t len,
	       const char *name)
{
	struct pl text;
	unsigned lineno = 0;

	if (!cfg || !buf || !name)
		return EINVAL;

	text.p = buf;
	text.l = len;

	while (text.l) {
		struct pl line, key, val;
		const struct opt *o;
		const char *why = NULL;
		const char *nl = pl_strchr(&text, '\n');
		int err;

		++lineno;

		line.p = text.p;
		line.l = nl ? (size_t)(nl - text.p) : text.l;
		pl_advance(&text, nl ? line.l + 1 : line.l);

		/* strip comment, CR and surrounding blanks */
		if (pl_strchr(&line, '#'))
			line.l = pl_strchr(&line, '#') - line.p;
		while (line.l && strchr(" \t\r", line.p[line.l - 1]))
			--line.l;
		while (line.l && strchr(" \t", line.p[0]))
			pl_advance(&line, 1);
		if (!line.l)
			continue;

		/* a key alone is an empty value, which some options take
		 * (moh_file: no music) */
		if (re_regex(line.p, line.l, "[^ \t]+[ \t]+[^]+", &key, NULL,
			     &val)) {
			key = line;
			pl_set_str(&val, "");
		}

		o = opt_find(&key);
		if (!o) {
			DEBUG_WARNING("%s:%u: unknown option '%r'\n", name,
				      lineno, &key);
			return ENOENT;
		}

		if (!val.l && (o->type != OPT_STR || o->min)) {
			DEBUG_WARNING("%s:%u: '%r' has no value\n", name,
				      lineno, &line);
			return EINVAL;
		}

		err = apply(cfg, o, &val, &why);
		if (err) {
			DEBUG_WARNING("%s:%u: %s '%r': %s (%s)\n", name,
				      lineno, o->key, &val, why, o->desc);
			return err;
		}
	}

	return check(cfg, name);
}


/**
 * Load a configuration file over the current values
 *
 * @param cfg  Configuration
 * @param path File name
 *
 * @return 0 if success, otherwise errorcode (the reason is logged)
 */
int conf_load(struct sb_conf *cfg, const char *path)
{
	struct mbuf *mb;
	FILE *f;
	int err = 0;

	if (!cfg || !path)
		return EINVAL;

	f = fopen(path, "r");
	if (!f) {
		err = errno;
		DEBUG_WARNING("%s: cannot open: %m\n", path, err);
		return err;
	}

	mb = mbuf_alloc(4096);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	for (;;) {
		uint8_t buf[4096];
		size_t n = fread(buf, 1, sizeof(buf), f);

		if (n)
			err = mbuf_write_mem(mb, buf, n);
		if (err || n < sizeof(buf))
			break;
	}

	if (ferror(f)) {
		err = EIO;
		DEBUG_WARNING("%s: read error\n", path);
	}

	if (!err)
		err = conf_parse(cfg, (char *)mb->buf, mb->end, path);

 out:
	mem_deref(mb);
	fclose(f);
	return err;
}
