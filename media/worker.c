/**
 * @file worker.c  Packet threads: one epoll set each, RTP timeouts
 *
 * Each packet thread waits on its own epoll set, which holds the RTP and
 * RTCP sockets of the legs given to it and an eventfd the control
 * thread writes to wake it. A leg is given to the thread with the
 * fewest legs, for life.
 *
 * The control thread adds and removes sockets with epoll_ctl, which is
 * safe while the thread waits, and links legs into the thread's list
 * (for the timeout scan) under worker->mtx. The end of each batch of
 * events is a quiescent point: the thread holds no leg pointer across
 * it. There it publishes the grace generation it has seen (grace.c)
 * and, when that changed, pushes MQ_GRACE so the control thread frees
 * what became safe to free.
 *
 * Transcoding and players: while a thread has legs with a transcode
 * path or a player it plays out one frame of each every 20 ms
 * (fwd_tick), and sends the RTCP reports of transcoded legs that are
 * due (report_tick). A player that has ended is reported as MQ_PLAYED.
 * The legs take turns in PHASES groups, one every 20 ms / PHASES (the
 * ticks are kept on a fixed grid, so the frames go out evenly): at a
 * hundred Opus calls a single 20 ms tick would encode for 10 ms at
 * once, while the packets it has to play next wait unread, and the
 * jitter buffers run dry. Mixers are ticked alike, in the first
 * group, while they exist (one in npaths each; MQ_MIXER_PLAYED for a
 * player that ended in one).
 *
 * RTP timeout: a thread scans its legs when the earliest possible
 * timeout is due (and sleeps otherwise; nothing polls when idle). A
 * latched leg silent for the timeout is reported once, as MQ_TIMEOUT
 * with the leg's id (never a pointer: the leg may be gone by the time
 * the control thread reads it).
 */
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <re.h>
#include "relay.h"

#define DEBUG_MODULE "worker"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	EVENTS_MAX   = 64,    /**< Events per epoll_wait           */
	RETRY_MS     = 20,    /**< Retry a full mqueue after       */
	TICK_MS      = 20,    /**< Transcode frame interval        */
	PHASES       = 4,     /**< Groups of legs ticked in turn   */
	PHASE_MS     = TICK_MS / PHASES, /**< Between two groups   */
};

enum mq_id {
	MQ_TIMEOUT = 1,       /**< data: id of a silent leg        */
	MQ_GRACE,             /**< a thread passed a generation    */
	MQ_PLAYED,            /**< data: id of a leg whose player
				   ended                           */
	MQ_MIXER_PLAYED,      /**< data: id of a mixer whose player
				   ended                           */
	MQ_DTMF      = 0x100, /**< + 0x80 if in-band + the digit;
				   data: id of the leg             */
};

/** One packet thread */
struct worker {
	unsigned idx;             /**< Index, for the log             */
	pthread_t tid;            /**< Thread                         */
	bool started;             /**< tid is valid                   */
	int epfd;                 /**< Its epoll set                  */
	int evfd;                 /**< eventfd: wake up               */
	struct fwd *fwd;          /**< Packet buffers                 */
	pthread_mutex_t mtx;      /**< Guards the leg list            */
	bool mtx_ok;              /**< mtx initialised                */
	struct leg *legs;         /**< Its legs (mtx)                 */
	struct list mixers;       /**< Its mixers (mtx)               */
	uint32_t nlegs;           /**< Its legs (control thread)      */
	_Atomic uint32_t seen;    /**< Grace generation passed        */
	_Atomic uint32_t npaths;  /**< Its legs with a transcode path
				       or a player, and its mixers
				       (ticked)                       */
	unsigned phase_next;      /**< Group of the next leg (mtx)    */
	unsigned phase;           /**< Thread only: group ticked next */
	uint64_t next_tick;       /**< Thread only: when              */
	uint64_t next_scan;       /**< Thread only: next timeout scan */
	bool retry;               /**< Thread only: mqueue was full   */
};

static struct {
	struct worker **v;        /**< Packet threads                 */
	unsigned n;               /**< Number of them                 */
	uint32_t timeout_ms;      /**< RTP timeout, 0 = none          */
	struct mqueue *mq;        /**< To the control thread          */
	atomic_bool stop;         /**< Threads must end               */
} pool;


static void worker_destructor(void *arg)
{
	struct worker *w = arg;

	if (w->epfd >= 0)
		(void)close(w->epfd);
	if (w->evfd >= 0)
		(void)close(w->evfd);
	if (w->mtx_ok)
		pthread_mutex_destroy(&w->mtx);

	mem_deref(w->fwd);
}


static void scan(struct worker *w, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct leg *leg;

	pthread_mutex_lock(&w->mtx);

	for (leg = w->legs; leg; leg = leg->wnext) {
		uint64_t last = atomic_load_explicit(&leg->last_rx,
						     memory_order_relaxed);
		bool latched;

		if (leg->timeout_sent || !last)
			continue;

		pthread_mutex_lock(&leg->mtx);
		latched = leg->rtp.latched || leg->rtcp.latched;
		pthread_mutex_unlock(&leg->mtx);

		if (!latched)
			continue;

		if (now - last < pool.timeout_ms) {
			next = min(next, last + pool.timeout_ms);
			continue;
		}

		if (mqueue_push(pool.mq, MQ_TIMEOUT,
				(void *)(uintptr_t)leg->id))
			next = min(next, now + RETRY_MS);
		else
			leg->timeout_sent = true;
	}

	pthread_mutex_unlock(&w->mtx);

	w->next_scan = next;
}


static void tick(struct worker *w, uint64_t now)
{
	unsigned phase = w->phase;
	struct leg *leg;
	struct le *le;

	/* late by more than a few ticks (a stall): start a new grid */
	w->next_tick += PHASE_MS;
	if (w->next_tick + 5 * TICK_MS < now)
		w->next_tick = now + PHASE_MS;
	w->phase = (phase + 1) % PHASES;

	pthread_mutex_lock(&w->mtx);

	for (leg = w->legs; leg; leg = leg->wnext) {
		if (leg->phase != phase)
			continue;
		fwd_tick(w->fwd, leg);
		report_tick(leg, now);
	}

	for (le = list_head(&w->mixers); le && !phase; le = le->next)
		mixer_tick(le->data, w->fwd);

	pthread_mutex_unlock(&w->mtx);
}


static int wait_ms(struct worker *w, uint64_t now)
{
	uint64_t next = w->next_scan;

	if (w->retry)
		return RETRY_MS;

	if (atomic_load_explicit(&w->npaths, memory_order_relaxed)) {
		if (!w->next_tick)
			w->next_tick = now + PHASE_MS;
		next = min(next, w->next_tick);
	}
	else {
		w->next_tick = 0;
	}

	if (next == UINT64_MAX)
		return -1;

	if (next <= now)
		return 0;

	return (int)min(next - now, (uint64_t)INT_MAX);
}


static void *worker_main(void *arg)
{
	struct epoll_event evv[EVENTS_MAX];
	struct worker *w = arg;
	uint64_t now = now_ms();

	w->next_scan = UINT64_MAX;

	while (!atomic_load(&pool.stop)) {
		uint32_t gen;
		int i, n;

		n = epoll_wait(w->epfd, evv, EVENTS_MAX, wait_ms(w, now));
		if (n < 0 && errno != EINTR) {
			DEBUG_WARNING("thread %u: epoll_wait: %m\n", w->idx,
				      errno);
			break;
		}

		now = now_ms();

		for (i = 0; i < n; i++) {
			struct rsock *rs = evv[i].data.ptr;
			uint64_t v;

			if (!rs) {
				if (read(w->evfd, &v, sizeof(v)) < 0)
					v = 0;
				continue;
			}

			if (fwd_recv(w->fwd, rs, now) && pool.timeout_ms)
				w->next_scan = min(w->next_scan,
						   now + pool.timeout_ms);
		}

		/* quiescent point: no leg pointer is held past here */
		gen = grace_current();
		if (w->retry || gen != atomic_load_explicit(&w->seen,
						memory_order_relaxed)) {
			atomic_store_explicit(&w->seen, gen,
					      memory_order_release);
			w->retry = mqueue_push(pool.mq, MQ_GRACE, NULL) != 0;
		}

		if (pool.timeout_ms && now >= w->next_scan)
			scan(w, now);

		if (w->next_tick && now >= w->next_tick)
			tick(w, now);
	}

	return NULL;
}


static void mqueue_handler(int id, void *data, void *arg)
{
	struct leg *leg;
	uint64_t idle;
	(void)arg;

	switch (id) {

	case MQ_TIMEOUT:
		/* gone, or alive again since: nothing to report */
		leg = leg_find((uint32_t)(uintptr_t)data);
		if (!leg)
			break;
		idle = now_ms() - atomic_load_explicit(&leg->last_rx,
						       memory_order_relaxed);
		if (idle >= pool.timeout_ms)
			event_timeout(leg, idle);
		break;

	case MQ_GRACE:
		grace_poll();
		break;

	case MQ_PLAYED:
		/* gone, or stopped since: nothing to report */
		leg = leg_find((uint32_t)(uintptr_t)data);
		if (leg)
			leg_play_ended(leg);
		break;

	case MQ_MIXER_PLAYED:
		mixer_played((uint32_t)(uintptr_t)data);
		break;

	default:
		if ((id & ~0xff) != MQ_DTMF)
			break;
		leg = leg_find((uint32_t)(uintptr_t)data);
		if (leg)
			event_dtmf(leg, (char)(id & 0x7f), id & 0x80);
		break;
	}
}


static int worker_alloc(struct worker **wp, unsigned idx)
{
	struct epoll_event ev;
	struct worker *w;
	int err;

	w = mem_zalloc(sizeof(*w), worker_destructor);
	if (!w)
		return ENOMEM;

	w->idx = idx;
	w->evfd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		err = errno;
		goto out;
	}

	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0) {
		err = errno;
		goto out;
	}

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev)) {
		err = errno;
		goto out;
	}

	err = pthread_mutex_init(&w->mtx, NULL);
	if (err)
		goto out;
	w->mtx_ok = true;

	err = fwd_alloc(&w->fwd);

 out:
	if (err)
		mem_deref(w);
	else
		*wp = w;

	return err;
}


/**
 * Start the packet threads and the queue back to the control thread
 *
 * @param n          Number of threads
 * @param timeout_ms RTP timeout, 0 for none
 *
 * @return 0 if success, otherwise errorcode
 */
int workers_start(unsigned n, uint32_t timeout_ms)
{
	sigset_t all, old;
	unsigned i;
	int err;

	if (!n || pool.v)
		return EINVAL;

	pool.timeout_ms = timeout_ms;
	atomic_store(&pool.stop, false);

	err = mqueue_alloc(&pool.mq, mqueue_handler, NULL);
	if (err)
		return err;

	pool.v = mem_zalloc(n * sizeof(*pool.v), NULL);
	if (!pool.v)
		return ENOMEM;

	for (i = 0; i < n; i++) {
		err = worker_alloc(&pool.v[i], i);
		if (err)
			return err;
		pool.n = i + 1;
	}

	/* signals go to the re_main thread, never to a packet thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);

	for (i = 0; i < n && !err; i++) {
		err = pthread_create(&pool.v[i]->tid, NULL, worker_main,
				     pool.v[i]);
		pool.v[i]->started = !err;
	}

	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (err)
		DEBUG_WARNING("packet thread: %m\n", err);
	else
		DEBUG_INFO("%u packet threads\n", n);

	return err;
}


/**
 * Wake every packet thread (a new grace generation is waiting)
 */
void workers_kick(void)
{
	const uint64_t one = 1;
	unsigned i;

	for (i = 0; i < pool.n; i++) {
		if (write(pool.v[i]->evfd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			DEBUG_WARNING("thread %u: wake: %m\n", i, errno);
	}
}


/**
 * Stop and join the packet threads; free them and the queue
 */
void workers_stop(void)
{
	unsigned i;

	atomic_store(&pool.stop, true);
	workers_kick();

	for (i = 0; i < pool.n; i++) {
		if (pool.v[i]->started)
			pthread_join(pool.v[i]->tid, NULL);
		mem_deref(pool.v[i]);
	}

	pool.v = mem_deref(pool.v);
	pool.n = 0;
	pool.mq = mem_deref(pool.mq);
}


/**
 * Have all packet threads passed a grace generation?
 *
 * @param gen Generation
 *
 * @return True if every thread has passed a quiescent point since
 */
bool workers_passed(uint32_t gen)
{
	unsigned i;

	for (i = 0; i < pool.n; i++) {
		uint32_t seen = atomic_load_explicit(&pool.v[i]->seen,
						     memory_order_acquire);

		if ((int32_t)(seen - gen) < 0)
			return false;
	}

	return true;
}


/** @return The packet thread with the fewest legs */
struct worker *worker_pick(void)
{
	struct worker *best = NULL;
	unsigned i;

	for (i = 0; i < pool.n; i++) {
		if (!best || pool.v[i]->nlegs < best->nlegs)
			best = pool.v[i];
	}

	return best;
}


/**
 * Give a leg's sockets to a packet thread. The leg must be complete:
 * from here on the thread reads it.
 *
 * @param w   Packet thread
 * @param leg Leg
 *
 * @return 0 if success, otherwise errorcode
 */
int worker_add(struct worker *w, struct leg *leg)
{
	struct epoll_event ev;

	if (!w || !leg)
		return EINVAL;

	pthread_mutex_lock(&w->mtx);
	leg->phase = w->phase_next++ % PHASES;
	leg->wprev = NULL;
	leg->wnext = w->legs;
	if (w->legs)
		w->legs->wprev = leg;
	w->legs = leg;
	pthread_mutex_unlock(&w->mtx);
	++w->nlegs;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &leg->rtp;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, leg->rtp.fd, &ev))
		return errno;

	ev.data.ptr = &leg->rtcp;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, leg->rtcp.fd, &ev))
		return errno;

	return 0;
}


/**
 * Take a leg's sockets from its packet thread (it may still be using
 * the leg in its current batch: see grace.c)
 *
 * @param w   Packet thread
 * @param leg Leg
 */
void worker_remove(struct worker *w, struct leg *leg)
{
	if (!w || !leg)
		return;

	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, leg->rtp.fd, NULL);
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, leg->rtcp.fd, NULL);

	pthread_mutex_lock(&w->mtx);
	if (leg->wprev)
		leg->wprev->wnext = leg->wnext;
	else if (w->legs == leg)
		w->legs = leg->wnext;
	if (leg->wnext)
		leg->wnext->wprev = leg->wprev;
	leg->wnext = leg->wprev = NULL;
	pthread_mutex_unlock(&w->mtx);
	--w->nlegs;
}


/**
 * Totals of all packet threads
 *
 * @param packets Packets accepted
 * @param dropped Packets refused
 */
void workers_totals(uint64_t *packets, uint64_t *dropped)
{
	unsigned i;

	if (!packets || !dropped)
		return;

	*packets = *dropped = 0;
	for (i = 0; i < pool.n; i++)
		fwd_totals(pool.v[i]->fwd, packets, dropped);
}


/**
 * Count a leg of a packet thread gaining or losing a transcode path or
 * a player: while it has any, the thread ticks every 20 ms
 *
 * @param w     Packet thread
 * @param delta +1 or -1
 */
void worker_paths(struct worker *w, int delta)
{
	if (!w)
		return;

	atomic_fetch_add_explicit(&w->npaths, (uint32_t)delta,
				  memory_order_relaxed);
	workers_kick();
}


/**
 * Report a digit to the control thread (any packet thread); a digit
 * that does not fit in the queue is lost, as on a congested line
 *
 * @param leg_id Leg it came from
 * @param digit  Digit
 * @param inband Heard in the audio
 */
void worker_dtmf(uint32_t leg_id, char digit, bool inband)
{
	(void)mqueue_push(pool.mq, MQ_DTMF | (inband ? 0x80 : 0) |
			  (digit & 0x7f), (void *)(uintptr_t)leg_id);
}


/**
 * Report that a leg's player has ended (any packet thread); a report
 * the queue has no room for is made again at the next tick
 *
 * @param leg_id Leg
 */
void worker_played(uint32_t leg_id)
{
	(void)mqueue_push(pool.mq, MQ_PLAYED, (void *)(uintptr_t)leg_id);
}


/**
 * Give a mixer to a packet thread: it is ticked every 20 ms, after the
 * thread's legs, until worker_mixer_remove
 *
 * @param w  Packet thread (its call's)
 * @param le The mixer's entry for the thread's list
 * @param m  Mixer
 */
void worker_mixer_add(struct worker *w, struct le *le, struct mixer *m)
{
	if (!w || !le || !m)
		return;

	pthread_mutex_lock(&w->mtx);
	list_append(&w->mixers, le, m);
	pthread_mutex_unlock(&w->mtx);

	worker_paths(w, 1);
}


/**
 * Take a mixer from its packet thread: once this returns, the thread
 * is not in its tick and does not reach it again
 *
 * @param w  Packet thread
 * @param le The mixer's entry (not in the list: nothing to do)
 */
void worker_mixer_remove(struct worker *w, struct le *le)
{
	if (!w || !le || !le->list)
		return;

	pthread_mutex_lock(&w->mtx);
	list_unlink(le);
	pthread_mutex_unlock(&w->mtx);

	worker_paths(w, -1);
}


/**
 * Report that the player of a mixer has ended (its packet thread); a
 * report the queue has no room for is made again at the next tick
 *
 * @param mixer_id Mixer
 */
void worker_mixer_played(uint32_t mixer_id)
{
	(void)mqueue_push(pool.mq, MQ_MIXER_PLAYED,
			  (void *)(uintptr_t)mixer_id);
}
