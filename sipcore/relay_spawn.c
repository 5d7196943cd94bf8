/**
 * @file relay_spawn.c  The relay we start ourselves, and start again
 *
 * One sbrelay child on a UNIX socket. Its connection (relay_conn.c)
 * checks on it before each connect attempt: a child that died is
 * started again, at once if it had run a while, else after a growing
 * pause (a missing or broken binary).
 */
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "relay"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	RETRY_MS       = 250,     /**< Pause after a quick death          */
	BACKOFF_MAX_MS = 10000,   /**< Longest pause; a longer run resets */
};

static struct {
	const struct sb_conf *cfg;
	char path[SB_UNIX_PATH_MAX];
	pid_t child;
	uint64_t started;        /**< tmr_jiffies() of the last start */
	uint32_t backoff;        /**< ms before the next start        */
} spawn;


static int child_start(void)
{
	char ports[32];
	pid_t pid;

	(void)re_snprintf(ports, sizeof(ports), "%u-%u",
			  spawn.cfg->relay_port_min,
			  spawn.cfg->relay_port_max);

	pid = fork();
	if (pid < 0)
		return errno;

	if (pid == 0) {
		/* no SIP socket of ours may outlive us in the relay, and
		 * the relay does not outlive us either */
		closefrom(STDERR_FILENO + 1);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(127);

		(void)execl(spawn.cfg->relay_binary, "sbrelay",
			    "-l", spawn.path, "-a", spawn.cfg->relay_address,
			    "-p", ports, (char *)NULL);
		_exit(127);
	}

	spawn.child = pid;
	spawn.started = tmr_jiffies();
	DEBUG_INFO("started %s (pid %d)\n", spawn.cfg->relay_binary, pid);

	return 0;
}


/**
 * Start sbrelay on a UNIX socket
 *
 * @param cfg  Configuration (binary, RTP address and ports); kept
 * @param path Control socket
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_spawn_start(const struct sb_conf *cfg, const char *path)
{
	int err;

	if (!cfg || !path)
		return EINVAL;

	spawn.cfg = cfg;
	spawn.child = 0;
	spawn.backoff = 0;
	str_ncpy(spawn.path, path, sizeof(spawn.path));

	err = child_start();
	if (err)
		DEBUG_WARNING("cannot start %s: %m\n", cfg->relay_binary, err);

	return err;
}


/**
 * Reap the relay if it died, and start it again when its pause is over
 */
void relay_spawn_check(void)
{
	int status;

	if (!spawn.cfg)
		return;

	if (spawn.child > 0) {
		if (waitpid(spawn.child, &status, WNOHANG) != spawn.child)
			return;

		DEBUG_WARNING("sbrelay (pid %d) exited (%s %d)\n",
			      spawn.child, WIFSIGNALED(status) ? "signal" :
			      "status", WIFSIGNALED(status) ?
			      WTERMSIG(status) : WEXITSTATUS(status));
		spawn.child = 0;

		if (tmr_jiffies() - spawn.started > BACKOFF_MAX_MS)
			spawn.backoff = 0;
		else
			spawn.backoff = min(max(spawn.backoff * 2, RETRY_MS),
					    (uint32_t)BACKOFF_MAX_MS);
	}

	if (spawn.child == 0 &&
	    tmr_jiffies() - spawn.started >= spawn.backoff && child_start())
		DEBUG_WARNING("cannot start %s\n", spawn.cfg->relay_binary);
}


/**
 * Stop the relay we started, and wait for it
 */
void relay_spawn_stop(void)
{
	if (spawn.child > 0) {
		(void)kill(spawn.child, SIGTERM);
		(void)waitpid(spawn.child, NULL, 0);
	}

	spawn.child = 0;
	spawn.cfg = NULL;
}
