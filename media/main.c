/**
 * @file main.c  The sbrelay daemon: start-up, signals, shutdown
 *
 * Threads: this one runs re_main (control connections, calls, legs, the
 * mqueue from the packet threads); worker.c starts the packet threads.
 * relay.h describes who may touch what.
 */
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "main"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	FD_SPARE = 1024,   /**< Descriptors beyond the RTP sockets */
};


/* two sockets per port pair, and some to spare, as far as allowed */
static void fd_limit_raise(uint32_t pairs)
{
	rlim_t want = (rlim_t)pairs * 2 + FD_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;

	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		DEBUG_WARNING("descriptor limit %llu: not every port of the"
			      " range can be used\n",
			      (unsigned long long)rl.rlim_max);
		want = rl.rlim_max;
	}

	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			DEBUG_WARNING("setrlimit: %m\n", errno);
	}

	/* re indexes its handlers by descriptor number */
	(void)fd_setsize((int)want);
}


static void signal_handler(int sig)
{
	DEBUG_NOTICE("signal %d: stopping\n", sig);
	re_cancel();
}


int main(int argc, char *argv[])
{
	struct relay_conf cfg;
	int err;

	conf_defaults(&cfg);

	err = libre_init();
	if (err)
		return 1;

	log_init(DBG_INFO, "sbrelay");

	err = conf_parse(&cfg, argc, argv);
	if (err == EALREADY) {
		err = 0;
		goto out;
	}
	if (err) {
		(void)re_fprintf(stderr, "%H", conf_usage, NULL);
		goto out;
	}

	log_init((int)cfg.log_level, "sbrelay");
	(void)signal(SIGPIPE, SIG_IGN);

	err = ports_init(&cfg.addr, cfg.port_min, cfg.port_max);
	if (err) {
		DEBUG_WARNING("port range %u-%u: %m\n", cfg.port_min,
			      cfg.port_max, err);
		goto out;
	}

	fd_limit_raise(ports_pairs());

	err = cmd_media_root(cfg.media_root);
	if (err) {
		DEBUG_WARNING("media root '%s': must be an absolute path"
			      " without '..'\n", cfg.media_root);
		goto out;
	}

	report_interval(cfg.rtcp_interval);

	err = sdes_init();
	if (!err)
		err = legs_init();
	if (!err)
		err = workers_start(cfg.threads, cfg.rtp_timeout * 1000);
	if (!err)
		err = ctrl_listen(&cfg);
	if (err)
		goto out;

	DEBUG_NOTICE("relaying on %j ports %u-%u, rtp timeout %us\n",
		     &cfg.addr, cfg.port_min, cfg.port_max, cfg.rtp_timeout);

	err = re_main(signal_handler);

 out:
	/* connections free their legs, the threads let go of them, and
	 * only then is the graveyard emptied */
	ctrl_close();
	workers_stop();
	grace_flush();
	legs_close();
	ports_close();
	sdes_close();

	libre_close();
	tmr_debug();
	mem_debug();

	return err ? 1 : 0;
}
