/**
 * @file main.c  The switchboard daemon: start-up, signals, shutdown
 */
#include <string.h>
#include <stdlib.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "main"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	FD_MAX          = 65536,
	SIP_HASH_SIZE   = 4096,
	SHUTDOWN_GRACE  = 2000,   /**< ms for BYEs to go out */
};

static struct {
	struct sb_conf cfg;
	struct store *store;
	struct sip *sip;
	struct tmr tmr_grace;
	bool stopping;
} sb;


static void usage(void)
{
	(void)re_fprintf(stderr,
			 "usage: switchboard [-f config] [-h]\n"
			 "  -f FILE  configuration (default: built-in"
			 " defaults, no file)\n");
}


/* as many descriptors as the system lets us have, for TCP phones */
static void fd_limit_raise(void)
{
	struct rlimit rl;
	rlim_t want = FD_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;

	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;

	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	(void)fd_setsize((int)want);
}


/* sbrelay is installed, and built, beside switchboard */
static void relay_binary_default(char *path, size_t sz)
{
	char self[SB_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0) {
		str_ncpy(path, "sbrelay", sz);
		return;
	}

	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';

	(void)re_snprintf(path, sz, "%s/sbrelay", self);
}


static void grace_handler(void *arg)
{
	(void)arg;
	re_cancel();
}


static void exit_handler(void *arg)
{
	(void)arg;
	re_cancel();
}


static void signal_handler(int sig)
{
	if (sb.stopping) {
		DEBUG_NOTICE("signal %d again: exiting now\n", sig);
		re_cancel();
		return;
	}

	DEBUG_NOTICE("signal %d: shutting down\n", sig);
	sb.stopping = true;

	/* hang up calls and let their BYEs leave, then stop */
	callengine_close();
	sip_close(sb.sip, false);
	tmr_start(&sb.tmr_grace, SHUTDOWN_GRACE, grace_handler, NULL);
}


static int sip_start(void)
{
	int err;

	err = sip_alloc(&sb.sip, NULL, SIP_HASH_SIZE, SIP_HASH_SIZE,
			SIP_HASH_SIZE, "switchboard/" VERSION, exit_handler,
			NULL);
	if (err) {
		DEBUG_WARNING("sip stack: %m\n", err);
		return err;
	}

	err = transport_init(sb.sip, &sb.cfg);
	if (err)
		return err;

	/* listeners run in the order they are added: checks first */
	err = sipcheck_init(sb.sip);
	if (!err)
		err = registrar_init(sb.sip, sb.store, &sb.cfg);
	if (!err)
		err = callengine_init(sb.sip, sb.store, &sb.cfg);
	if (!err)
		err = sipcheck_fallback_init(sb.sip);

	return err;
}


int main(int argc, char *argv[])
{
	const char *conf_path = NULL;
	int err, c;

	while ((c = getopt(argc, argv, "f:h")) != -1) {
		switch (c) {

		case 'f':
			conf_path = optarg;
			break;

		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}

	conf_defaults(&sb.cfg);
	if (conf_path && conf_load(&sb.cfg, conf_path)) {
		(void)re_fprintf(stderr, "switchboard: bad configuration,"
				 " not starting\n");
		return 1;
	}

	if (!str_isset(sb.cfg.relay_binary))
		relay_binary_default(sb.cfg.relay_binary,
				     sizeof(sb.cfg.relay_binary));

	err = libre_init();
	if (err) {
		(void)re_fprintf(stderr, "libre_init: %m\n", err);
		return 1;
	}

	log_init(sb.cfg.log_level, NULL);
	fd_limit_raise();
	(void)signal(SIGPIPE, SIG_IGN);

	err = store_open(&sb.store, sb.cfg.store_path);
	if (err) {
		DEBUG_WARNING("store %s: %m\n", sb.cfg.store_path, err);
		goto out;
	}

	err = auth_init(sb.store, &sb.cfg);
	if (!err)
		err = router_init(sb.store);
	if (!err)
		err = sip_start();
	if (!err)
		err = location_init(sb.sip, sb.store, &sb.cfg);
	if (!err)
		err = relay_init(&sb.cfg);
	if (!err)
		err = api_init(sb.store, &sb.cfg);
	if (err)
		goto out;

	DEBUG_NOTICE("switchboard " VERSION " ready, domain %s, store %s\n",
		     sb.cfg.sip_domain, sb.cfg.store_path);

	err = re_main(signal_handler);

 out:
	tmr_cancel(&sb.tmr_grace);
	api_close();
	relay_close();
	callengine_close();
	leg_unlisten();
	location_close();
	registrar_close();
	sipcheck_close();
	auth_close();
	sip_close(sb.sip, true);
	tcp_guard_close();
	sb.sip = mem_deref(sb.sip);
	sb.store = mem_deref(sb.store);

	libre_close();
	tmr_debug();
	mem_debug();

	return err ? 1 : 0;
}
