/**
 * @file conf.c  sbrelay's command-line options: one table, one parser
 *
 * Each option is declared once in optv, with its letter, long name,
 * limits and a line of help; the defaults are in conf_defaults. A bad
 * value stops start-up with a message naming the option.
 */
#include <stddef.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "conf"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum opt_type {
	OPT_PATH,     /**< String, at most max bytes          */
	OPT_HOSTPORT, /**< struct sa from "HOST:PORT"         */
	OPT_IP,       /**< struct sa from an IP literal       */
	OPT_RANGE,    /**< Two uint32 "MIN-MAX", within limits */
	OPT_U32,      /**< uint32 within limits               */
	OPT_HELP,     /**< Print usage and stop               */
};

struct opt {
	char letter;             /**< Short option                */
	const char *name;        /**< Long option                 */
	enum opt_type type;      /**< How the value is read       */
	size_t off;              /**< Offset in struct relay_conf */
	uint32_t min;            /**< Lowest value                */
	uint32_t max;            /**< Highest value or length     */
	const char *arg;         /**< Value name in the usage     */
	const char *help;        /**< One line of help            */
};

#define O(member) offsetof(struct relay_conf, member)
#define SZ(member) sizeof(((struct relay_conf *)0)->member)

/* OPT_RANGE writes two neighbours */
_Static_assert(O(port_max) == O(port_min) + sizeof(uint32_t),
	       "port_max must follow port_min");

static const struct opt optv[] = {
	{'l', "listen", OPT_PATH, O(listen), 1, SZ(listen) - 1, "PATH",
	 "UNIX control socket (./sbrelay.sock)"},
	{'t', "tcp", OPT_HOSTPORT, O(tcp), 0, 0, "HOST:PORT",
	 "listen on TCP instead of a UNIX socket"},
	{'a', "address", OPT_IP, O(addr), 0, 0, "IP",
	 "address of the RTP sockets and in SDP (127.0.0.1)"},
	{'p', "ports", OPT_RANGE, O(port_min), 1024, 65535, "MIN-MAX",
	 "RTP port range (30000-39999)"},
	{'T', "rtp-timeout", OPT_U32, O(rtp_timeout), 0, 86400, "SECONDS",
	 "RTP timeout, 0 = none (10)"},
	{'j', "threads", OPT_U32, O(threads), 1, 256, "THREADS",
	 "packet threads (number of CPUs)"},
	{'m', "media-root", OPT_PATH, O(media_root), 1, SZ(media_root) - 1,
	 "DIR", "play and record files under DIR only (/)"},
	{'d', "log-level", OPT_U32, O(log_level), 0, 7, "LEVEL",
	 "log level, 3 errors .. 7 debug (6)"},
	{'R', "rtcp-interval", OPT_U32, O(rtcp_interval), 100, 60000, "MS",
	 "RTCP of transcoded legs every MS (5000; less for tests)"},
	{'h', "help", OPT_HELP, 0, 0, 0, NULL, "this help"},
};


/**
 * Fill a configuration with the defaults
 *
 * @param cfg Configuration
 */
void conf_defaults(struct relay_conf *cfg)
{
	long ncpu;

	if (!cfg)
		return;

	memset(cfg, 0, sizeof(*cfg));
	str_ncpy(cfg->listen, "./sbrelay.sock", sizeof(cfg->listen));
	str_ncpy(cfg->media_root, "/", sizeof(cfg->media_root));
	(void)sa_set_str(&cfg->addr, "127.0.0.1", 0);
	cfg->port_min = 30000;
	cfg->port_max = 39999;
	cfg->rtp_timeout = 10;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (uint32_t)ncpu;
	cfg->log_level = DBG_INFO;
	cfg->rtcp_interval = 5000;
}


static int read_u32(uint32_t *v, const struct pl *pl, const struct opt *o)
{
	uint64_t u = 0;
	size_t i;

	if (!pl->l || pl->l > 10)
		return EINVAL;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
		u = u * 10 + (uint64_t)(pl->p[i] - '0');
	}

	if (u < o->min || u > o->max)
		return ERANGE;

	*v = (uint32_t)u;

	return 0;
}


static int set_value(struct relay_conf *cfg, const struct opt *o,
		     const char *val)
{
	void *p = (uint8_t *)cfg + o->off;
	struct pl pl, a, b;
	uint32_t *range;
	int err;

	pl_set_str(&pl, val);

	switch (o->type) {

	case OPT_PATH:
		if (!pl.l || pl.l > o->max)
			return EINVAL;
		str_ncpy(p, val, o->max + 1);
		return 0;

	case OPT_HOSTPORT:
		err = sa_decode(p, val, pl.l);
		if (!err && !sa_port(p))
			err = EINVAL;
		return err;

	case OPT_IP:
		err = sa_set_str(p, val, 0);
		if (!err && sa_is_any(p))
			err = EINVAL;
		return err;

	case OPT_RANGE:
		if (re_regex(pl.p, pl.l, "[0-9]+-[0-9]+", &a, &b))
			return EINVAL;
		range = p;
		err = read_u32(&range[0], &a, o);
		err = err ? err : read_u32(&range[1], &b, o);
		if (err)
			return err;
		/* the lowest port must start an even pair that fits */
		range[0] += range[0] & 1;
		if (range[0] + 1 > range[1])
			return ERANGE;
		return 0;

	case OPT_U32:
		return read_u32(p, &pl, o);

	default:
		return EINVAL;
	}
}


/**
 * Read the command line into a configuration
 *
 * @param cfg  Configuration, holding the defaults
 * @param argc Argument count
 * @param argv Arguments
 *
 * @return 0 if success, EALREADY if help was printed, otherwise errorcode
 */
int conf_parse(struct relay_conf *cfg, int argc, char *argv[])
{
	struct option longv[ARRAY_SIZE(optv) + 1];
	char shortv[ARRAY_SIZE(optv) * 2 + 2];
	size_t i, n = 0;
	int c;

	if (!cfg || !argv)
		return EINVAL;

	memset(longv, 0, sizeof(longv));
	shortv[n++] = ':';
	for (i = 0; i < ARRAY_SIZE(optv); i++) {
		bool arg = optv[i].type != OPT_HELP;

		longv[i].name = optv[i].name;
		longv[i].has_arg = arg ? required_argument : no_argument;
		longv[i].val = optv[i].letter;
		shortv[n++] = optv[i].letter;
		if (arg)
			shortv[n++] = ':';
	}
	shortv[n] = '\0';

	optind = 0;   /* GNU: start afresh, so that tests can parse again */
	opterr = 0;

	while ((c = getopt_long(argc, argv, shortv, longv, NULL)) != -1) {
		const struct opt *o = NULL;
		int err;

		for (i = 0; i < ARRAY_SIZE(optv); i++) {
			if (optv[i].letter == c)
				o = &optv[i];
		}

		if (!o) {
			DEBUG_WARNING("%s option '%s'\n", c == ':' ?
				      "missing value of" : "unknown",
				      argv[optind - 1]);
			return EINVAL;
		}

		if (o->type == OPT_HELP) {
			(void)re_printf("%H", conf_usage, NULL);
			return EALREADY;
		}

		err = set_value(cfg, o, optarg);
		if (err) {
			DEBUG_WARNING("-%c/--%s: bad value '%s' (%m)\n",
				      o->letter, o->name, optarg, err);
			return err;
		}
	}

	if (optind < argc) {
		DEBUG_WARNING("unexpected argument '%s'\n", argv[optind]);
		return EINVAL;
	}

	return 0;
}


/**
 * Print the usage, made from the option table
 *
 * @param pf     Print handler
 * @param unused Unused
 *
 * @return 0 if success, otherwise errorcode
 */
int conf_usage(struct re_printf *pf, void *unused)
{
	int err = 0;
	size_t i;
	(void)unused;

	err |= re_hprintf(pf, "usage: sbrelay [options]\n");
	for (i = 0; i < ARRAY_SIZE(optv); i++) {
		const struct opt *o = &optv[i];

		err |= re_hprintf(pf, "  -%c, --%-13s %-9s %s\n", o->letter,
				  o->name, o->arg ? o->arg : "", o->help);
	}

	return err;
}
