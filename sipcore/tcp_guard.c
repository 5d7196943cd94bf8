/**
 * @file tcp_guard.c  At most N SIP TCP/TLS connections per source address
 *
 * One host must not use up our descriptors, nor so stop other phones
 * from registering: libre keeps an idle connection 32 s, and one that
 * sent a message 15 minutes. But libre 1.1.0 owns the SIP listening
 * sockets: its tcp_conn_handler calls accept() and the SIP stack takes
 * every connection, with no hook in between. So this file defines
 * accept() itself. As with timers.c, the executable's definition takes
 * the place of the C library's for libre, which calls it through its
 * PLT (the linker exports ours because libre.so refers to it; clang's
 * static ASan runtime has only a weak alias there, which ours
 * replaces). It accepts with accept4() and, when the listening socket
 * is bound to a configured SIP TCP or TLS address (getsockname), admits
 * the connection or resets it at once and fails with ECONNABORTED,
 * which accept(2) allows and libre ignores. Other listeners (the HTTP
 * API) pass untouched. TCP and TLS share one count per address.
 *
 * Counting needs no close hook: we keep, per source, the descriptors we
 * admitted with their socket's inode; one that is closed, or reused for
 * another file, no longer matches and is stale. A source at the cap is
 * pruned before a connection is refused, so the count is exact where
 * it decides. All sources are swept when the records have doubled since
 * the last sweep: memory stays within twice the connections open then,
 * at O(1) amortised cost per accept. Nothing runs between accepts.
 *
 * A refusal is logged once a minute per source at most, with how many
 * were refused, so that a flood of connections is not a flood of log.
 * Only libre, on the re_main thread, accepts on SIP listeners.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "tcp_guard"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	SOURCES_HASH  = 256,
	SWEEP_MIN     = 256,     /**< Records before the first full sweep */
	REFUSE_LOG_MS = 60000,   /**< One refusal line per source this often */
};

/** A source address and the connections admitted from it */
struct source {
	struct le he;          /**< In guard.sources, keyed by address     */
	struct sa addr;        /**< Peer address; its port is not used     */
	struct list conns;     /**< struct admitted, stale ones included   */
	uint32_t n;            /**< Entries in conns                       */
	uint32_t refused;      /**< Refused since the last log line        */
	uint64_t logged;       /**< Jiffies of the last log line           */
	bool has_logged;       /**< A log line was written for it          */
};

/** One admitted connection, known by its descriptor and socket inode */
struct admitted {
	struct le le;          /**< In source.conns                        */
	struct source *src;    /**< Its source, which owns it              */
	int fd;                /**< Descriptor accept() returned           */
	dev_t dev;             /**< fstat() of fd when admitted            */
	ino_t ino;             /**< fstat() of fd when admitted            */
};

static struct {
	struct hash *sources;  /**< struct source; NULL: no cap            */
	struct sa laddrv[2 * SB_ADDR_MAX]; /**< SIP TCP and TLS listeners  */
	size_t laddrc;         /**< Entries in laddrv                      */
	uint32_t max;          /**< Connections per source at most         */
	uint32_t recs;         /**< Records in all sources, stale included */
	uint32_t sweep_at;     /**< Sweep every source at this many recs   */
} guard;


static void admitted_destructor(void *arg)
{
	struct admitted *a = arg;

	list_unlink(&a->le);
	--a->src->n;
	--guard.recs;
}


static void source_destructor(void *arg)
{
	struct source *src = arg;

	hash_unlink(&src->he);
	list_flush(&src->conns);
}


static bool admitted_is_open(const struct admitted *a)
{
	struct stat st;

	return !fstat(a->fd, &st) && st.st_dev == a->dev &&
		st.st_ino == a->ino;
}


static void source_prune(struct source *src)
{
	struct le *le = list_head(&src->conns);

	while (le) {
		struct admitted *a = le->data;

		le = le->next;

		if (!admitted_is_open(a))
			mem_deref(a);
	}
}


/* an empty source stays while its last log line is recent: forgetting
 * it would let a host that comes back log again at once */
static bool source_sweep(struct le *le, void *arg)
{
	struct source *src = le->data;
	const uint64_t *now = arg;

	source_prune(src);

	if (!src->n && (!src->has_logged ||
			*now - src->logged >= REFUSE_LOG_MS))
		mem_deref(src);

	return false;
}


static void sweep(void)
{
	uint64_t now = tmr_jiffies();

	(void)hash_apply(guard.sources, source_sweep, &now);

	guard.sweep_at = guard.recs * 2 > SWEEP_MIN ? guard.recs * 2
						    : SWEEP_MIN;
}


static bool source_cmp(struct le *le, void *arg)
{
	const struct source *src = le->data;

	return sa_cmp(&src->addr, arg, SA_ADDR);
}


static struct source *source_get(const struct sa *peer)
{
	uint32_t key = sa_hash(peer, SA_ADDR);
	struct source *src;
	struct le *le;

	le = hash_lookup(guard.sources, key, source_cmp, (void *)peer);
	if (le)
		return le->data;

	src = mem_zalloc(sizeof(*src), source_destructor);
	if (!src)
		return NULL;

	src->addr = *peer;
	hash_append(guard.sources, key, &src->he, src);

	return src;
}


static void refusal_log(struct source *src)
{
	uint64_t now = tmr_jiffies();

	++src->refused;

	if (src->has_logged && now - src->logged < REFUSE_LOG_MS)
		return;

	DEBUG_WARNING("%j: at the cap of %u SIP TCP/TLS connections;"
		      " %u refused since last reported\n",
		      &src->addr, guard.max, src->refused);

	src->logged = now;
	src->has_logged = true;
	src->refused = 0;
}


/* true: fd is counted against peer; false: peer is at the cap, or the
 * connection cannot be counted */
static bool admit(int fd, const struct sa *peer)
{
	struct source *src;
	struct admitted *a;
	struct stat st;

	if (fstat(fd, &st))
		return false;

	src = source_get(peer);
	if (!src)
		return false;

	if (src->n >= guard.max)
		source_prune(src);

	if (src->n >= guard.max) {
		refusal_log(src);
		return false;
	}

	a = mem_zalloc(sizeof(*a), admitted_destructor);
	if (!a)
		return false;

	a->src = src;
	a->fd  = fd;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	list_append(&src->conns, &a->le, a);
	++src->n;

	if (++guard.recs >= guard.sweep_at)
		sweep();

	return true;
}


static bool is_sip_listener(int fd)
{
	struct sa laddr;
	size_t i;

	sa_init(&laddr, AF_UNSPEC);
	if (getsockname(fd, &laddr.u.sa, &laddr.len))
		return false;

	for (i = 0; i < guard.laddrc; i++) {
		if (sa_cmp(&laddr, &guard.laddrv[i], SA_ALL))
			return true;
	}

	return false;
}


/* a reset rather than a FIN: no FIN_WAIT or TIME_WAIT state is left
 * behind for a host that is being turned away */
static void refuse(int fd)
{
	const struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)close(fd);
}


/**
 * accept(2), with the cap on connections per source for SIP listeners
 *
 * @param fd   Listening socket
 * @param addr Peer address, returned
 * @param len  Size of addr; returned: size of the peer address
 *
 * @return New socket, or -1 with errno set (ECONNABORTED when refused)
 */
int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	struct sa peer;
	int cfd;

	cfd = accept4(fd, addr, len, 0);
	if (cfd < 0 || !guard.sources || !is_sip_listener(fd))
		return cfd;

	sa_init(&peer, AF_UNSPEC);
	if (!getpeername(cfd, &peer.u.sa, &peer.len) && admit(cfd, &peer))
		return cfd;

	refuse(cfd);
	errno = ECONNABORTED;

	return -1;
}


/**
 * Cap the connections each address may hold on the SIP TCP and TLS
 * listeners, to sip_max_conn_per_ip (0: no cap)
 *
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int tcp_guard_init(const struct sb_conf *cfg)
{
	struct hash *sources;
	size_t i;
	int err;

	if (!cfg)
		return EINVAL;

	tcp_guard_close();

	if (!cfg->sip_max_conn_per_ip)
		return 0;

	for (i = 0; i < cfg->sip_tcp.addrc; i++)
		guard.laddrv[guard.laddrc++] = cfg->sip_tcp.addrv[i];
	for (i = 0; i < cfg->sip_tls.addrc; i++)
		guard.laddrv[guard.laddrc++] = cfg->sip_tls.addrv[i];

	guard.max = cfg->sip_max_conn_per_ip;
	guard.sweep_at = SWEEP_MIN;

	err = hash_alloc(&sources, SOURCES_HASH);
	if (err)
		return err;

	/* last: accept() caps from here on */
	guard.sources = sources;

	DEBUG_INFO("at most %u SIP TCP/TLS connections per address\n",
		   guard.max);

	return 0;
}


/**
 * Stop capping and forget every count
 */
void tcp_guard_close(void)
{
	struct hash *sources = guard.sources;

	guard.sources = NULL;
	hash_flush(sources);
	mem_deref(sources);

	memset(&guard, 0, sizeof(guard));
}
