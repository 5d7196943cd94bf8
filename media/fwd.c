/**
 * @file fwd.c  The packet path: receive a batch, latch, relay to the peer
 *
 * Runs in a packet thread only, on buffers that thread owns (struct fwd,
 * allocated once before the thread starts): no allocation, no re calls.
 *
 * One call handles one readable socket: recvmmsg reads up to BATCH
 * packets; under the leg's lock each is checked against the latching
 * source (the IP the core named; the first accepted packet fixes the
 * remote port: symmetric RTP, as in RFC 4961; after that only that
 * address and port is the party, so nothing else on its IP is heard); the peer pointer is read under
 * the same lock, then the peer's remote under the peer's lock (never
 * both at once), and sendmmsg sends the accepted packets from the
 * peer's socket, so the far party sees the port it was given. The peer
 * stays allocated while we use it: grace.c frees a released leg only
 * after every packet thread has finished the batch it was in.
 */
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "relay.h"
#include "rtp.h"


enum {
	BATCH   = 32,     /**< Packets per recvmmsg/sendmmsg  */
	PKT_MAX = 2048,   /**< Largest packet relayed         */
	TE_MAX  = 128,    /**< Largest event packet made      */
};

/** Buffers and totals of one packet thread */
struct fwd {
	struct mmsghdr rx[BATCH];           /**< recvmmsg vector    */
	struct mmsghdr tx[BATCH];           /**< sendmmsg vector    */
	struct iovec rxiov[BATCH];          /**< Whole buffers      */
	struct iovec txiov[BATCH];          /**< Accepted packets   */
	struct sockaddr_storage from[BATCH];/**< Senders            */
	uint8_t buf[BATCH][PKT_MAX];        /**< Packets            */
	uint8_t te[BATCH][TE_MAX];          /**< Events made anew   */
	_Atomic uint64_t packets;           /**< Accepted, in all   */
	_Atomic uint64_t dropped;           /**< Refused, in all    */
};


/**
 * Allocate the packet buffers of one packet thread
 *
 * @param fwdp Returned buffers
 *
 * @return 0 if success, otherwise errorcode
 */
int fwd_alloc(struct fwd **fwdp)
{
	struct fwd *fwd;
	unsigned i;

	if (!fwdp)
		return EINVAL;

	fwd = mem_zalloc(sizeof(*fwd), NULL);
	if (!fwd)
		return ENOMEM;

	for (i = 0; i < BATCH; i++) {
		fwd->rxiov[i].iov_base = fwd->buf[i];
		fwd->rxiov[i].iov_len = sizeof(fwd->buf[i]);
		fwd->rx[i].msg_hdr.msg_iov = &fwd->rxiov[i];
		fwd->rx[i].msg_hdr.msg_iovlen = 1;
		fwd->rx[i].msg_hdr.msg_name = &fwd->from[i];
		fwd->tx[i].msg_hdr.msg_iov = &fwd->txiov[i];
		fwd->tx[i].msg_hdr.msg_iovlen = 1;
	}

	*fwdp = fwd;

	return 0;
}


/**
 * Totals of packets accepted and refused by one packet thread
 *
 * @param fwd     Buffers of the thread
 * @param packets Added to: packets accepted
 * @param dropped Added to: packets refused
 */
void fwd_totals(const struct fwd *fwd, uint64_t *packets, uint64_t *dropped)
{
	if (!fwd)
		return;

	*packets += atomic_load_explicit(&fwd->packets, memory_order_relaxed);
	*dropped += atomic_load_explicit(&fwd->dropped, memory_order_relaxed);
}


static bool ip_equal(const struct sockaddr_storage *ss, const struct sa *sa)
{
	if (ss->ss_family != sa->u.sa.sa_family)
		return false;

	switch (ss->ss_family) {

	case AF_INET:
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
			sa->u.in.sin_addr.s_addr;

	case AF_INET6:
		return !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
			       &sa->u.in6.sin6_addr, 16);

	default:
		return false;
	}
}


/* once latched, only the latched port of that IP is the party */
static bool port_equal(const struct sockaddr_storage *ss, const struct sa *sa)
{
	switch (ss->ss_family) {

	case AF_INET:
		return ((const struct sockaddr_in *)ss)->sin_port ==
			sa->u.in.sin_port;

	case AF_INET6:
		return ((const struct sockaddr_in6 *)ss)->sin6_port ==
			sa->u.in6.sin6_port;

	default:
		return false;
	}
}


/* an address we may send to: not unset, not 0.0.0.0 (hold), not port 0 */
static bool sendable(const struct sa *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	switch (sa->u.sa.sa_family) {

	case AF_INET:
		return sa->u.in.sin_port && sa->u.in.sin_addr.s_addr;

	case AF_INET6:
		return sa->u.in6.sin6_port &&
			memcmp(&sa->u.in6.sin6_addr, &any6, sizeof(any6));

	default:
		return false;
	}
}


static void relay(struct fwd *fwd, struct rsock *out, unsigned n)
{
	struct leg *peer = out->leg;
	uint64_t bytes = 0;
	struct sa dst;
	unsigned i;
	int sent;

	pthread_mutex_lock(&peer->mtx);
	dst = out->remote;
	pthread_mutex_unlock(&peer->mtx);

	if (!sendable(&dst))
		return;

	for (i = 0; i < n; i++) {
		fwd->tx[i].msg_hdr.msg_name = &dst.u;
		fwd->tx[i].msg_hdr.msg_namelen = dst.len;
	}

	/* a full socket buffer drops the rest, as the network would */
	sent = sendmmsg(out->fd, fwd->tx, n, MSG_DONTWAIT);
	if (sent <= 0)
		return;

	for (i = 0; i < (unsigned)sent; i++)
		bytes += fwd->txiov[i].iov_len;

	atomic_fetch_add_explicit(&peer->pkts_out, (uint64_t)sent,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&peer->bytes_out, bytes,
				  memory_order_relaxed);
}


/* an RTP packet accepted (under leg->mtx): counted and recorded, or if
 * it is an RFC 4733 event, a key pressed */
static void rtp_seen(struct leg *leg, const uint8_t *pkt, size_t len,
		     uint64_t now_us)
{
	struct dtmf_event ev;
	struct rtp_hdr h;

	if (rtp_parse(&h, pkt, len))
		return;

	if (h.pt != leg->dtmf_pt) {
		rtpstat_rx(&leg->stat, &h, now_us);
		rec_rx(leg->rec, &h);
		return;
	}

	if (!dtmf_event_rx(&leg->dtmf_ev, &ev, h.payload, h.plen, h.ts,
			   h.marker) && ev.start && ev.digit)
		worker_dtmf(leg->id, ev.digit, false);
}


/**
 * Read what a socket has (one batch), latch, and relay it to the peer
 *
 * @param fwd Buffers of the calling packet thread
 * @param rs  Readable socket
 * @param now now_ms()
 *
 * @return True if a packet was accepted (the leg is latched and alive)
 */
bool fwd_recv(struct fwd *fwd, struct rsock *rs, uint64_t now)
{
	struct leg *leg = rs->leg, *peer;
	unsigned i, nacc = 0, ndrop = 0, ntc = 0;
	uint64_t now_us, now_ntp = 0;
	uint64_t bytes = 0;
	struct rtcp_sender sr;
	bool sr_seen = false;
	int n;

	for (i = 0; i < BATCH; i++)
		fwd->rx[i].msg_hdr.msg_namelen = sizeof(fwd->from[i]);

	n = recvmmsg(rs->fd, fwd->rx, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return false;

	now_us = now_micro();
	if (rs->rtcp)
		now_ntp = report_ntp();

	pthread_mutex_lock(&leg->mtx);

	for (i = 0; i < (unsigned)n; i++) {
		const struct msghdr *h = &fwd->rx[i].msg_hdr;
		size_t len = fwd->rx[i].msg_len;

		if ((h->msg_flags & MSG_TRUNC) ||
		    h->msg_namelen > sizeof(rs->remote.u) ||
		    !ip_equal(&fwd->from[i], &leg->source) ||
		    (rs->latched && !port_equal(&fwd->from[i], &rs->remote)) ||
		    (leg->srtp_in && srtp_pair_unprotect(leg->srtp_in,
					rs->rtcp, fwd->buf[i], &len))) {
			++ndrop;
			continue;
		}

		if (!rs->latched) {
			memcpy(&rs->remote.u, &fwd->from[i], h->msg_namelen);
			rs->remote.len = h->msg_namelen;
			rs->latched = true;
		}

		bytes += fwd->rx[i].msg_len;

		if (!rs->rtcp)
			rtp_seen(leg, fwd->buf[i], len, now_us);
		else if (report_rx(leg, fwd->buf[i], len, now_ntp, &sr))
			sr_seen = true;

		/* in a mixer: RTP goes into the mix, RTCP (read above)
		 * ends here, nothing goes to the peer */
		if (leg->member) {
			if (!rs->rtcp)
				mixer_rx(leg->member, fwd->buf[i], len);
			++ntc;
			continue;
		}

		/* transcoded: RTP waits in the path (events may cross at
		 * once), RTCP (read above) ends here */
		if (leg->path) {
			uint8_t *out = fwd->te[nacc];
			size_t olen = TE_MAX;

			if (rs->rtcp || path_rx(leg->path, fwd->buf[i], len,
						out, &olen) || !olen ||
			    (leg->srtp_out && srtp_pair_protect(leg->srtp_out,
					false, out, &olen, TE_MAX))) {
				++ntc;
				continue;
			}

			fwd->txiov[nacc].iov_base = out;
			fwd->txiov[nacc].iov_len = olen;
			++nacc;
			continue;
		}

		if (leg->srtp_out && srtp_pair_protect(leg->srtp_out,
					rs->rtcp, fwd->buf[i], &len,
					sizeof(fwd->buf[i]))) {
			++ntc;
			continue;
		}

		fwd->txiov[nacc].iov_base = fwd->buf[i];
		fwd->txiov[nacc].iov_len = len;
		++nacc;
	}

	peer = leg->peer;

	pthread_mutex_unlock(&leg->mtx);

	/* the peer's party hears a player: its RTP is held back here (the
	 * RTCP goes on: its reports on the peer's own stream hold) */
	if (peer && !rs->rtcp &&
	    atomic_load_explicit(&peer->playing, memory_order_acquire))
		peer = NULL;

	/* the peer is in a mixer: its party hears the mix (and its
	 * reports are on the mix's stream), nothing of ours */
	if (peer && atomic_load_explicit(&peer->mixed, memory_order_acquire))
		peer = NULL;

	if (ndrop) {
		atomic_fetch_add_explicit(&leg->dropped, ndrop,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&fwd->dropped, ndrop,
					  memory_order_relaxed);
	}

	nacc += ntc;
	if (!nacc)
		return false;

	atomic_fetch_add_explicit(&leg->pkts_in, nacc, memory_order_relaxed);
	atomic_fetch_add_explicit(&leg->bytes_in, bytes,
				  memory_order_relaxed);
	atomic_store_explicit(&leg->last_rx, now, memory_order_relaxed);
	atomic_fetch_add_explicit(&fwd->packets, nacc, memory_order_relaxed);
	leg->timeout_sent = false;

	if (peer && nacc > ntc)
		relay(fwd, rs->rtcp ? &peer->rtcp : &peer->rtp, nacc - ntc);

	/* an SR relayed as is: the peer's party's reports quote it */
	if (peer && nacc > ntc && sr_seen)
		report_relayed(peer, &sr, now_ntp);

	return true;
}


/* one packet out of a socket (the leg's lock not held) */
static void send_one(struct fwd *fwd, struct rsock *out, uint8_t *pkt,
		     size_t len)
{
	fwd->txiov[0].iov_base = pkt;
	fwd->txiov[0].iov_len = len;
	relay(fwd, out, 1);
}


/**
 * Send one packet from a leg's socket to its party (a packet thread,
 * the leg's lock not held): what a mixer makes for a member
 *
 * @param fwd Buffers of the calling packet thread
 * @param out The leg's socket
 * @param pkt Packet
 * @param len Its length
 */
void fwd_send(struct fwd *fwd, struct rsock *out, uint8_t *pkt, size_t len)
{
	if (fwd && out && pkt)
		send_one(fwd, out, pkt, len);
}


/* the player's next packet to the leg's own party (under leg->mtx),
 * protected with the leg's own SRTP pair, whose sending side is the
 * one its peer protects with; 0: none */
static size_t play_out(struct fwd *fwd, struct leg *leg)
{
	size_t len = 0;

	if (play_tick(leg->play, fwd->buf[1],
		      sizeof(fwd->buf[1]) - SDES_OVERHEAD, &len) || !len)
		return 0;

	if (leg->srtp_in && srtp_pair_protect(leg->srtp_in, false,
					      fwd->buf[1], &len,
					      sizeof(fwd->buf[1])))
		return 0;

	return len;
}


/**
 * Play out one tick of a leg: its player's frame goes to its own party,
 * its transcode path's to the peer (unless the peer's party hears a
 * player or a mixer: then the path runs without sending)
 *
 * @param fwd Buffers of the calling packet thread
 * @param leg Leg (its path and player, if any, are used under its lock)
 */
void fwd_tick(struct fwd *fwd, struct leg *leg)
{
	const uint8_t *pkt = NULL, *ev = NULL;
	struct leg *peer = NULL;
	size_t len = 0, own = 0, elen = 0;
	bool ended = false;

	pthread_mutex_lock(&leg->mtx);

	if (leg->play) {
		own = play_out(fwd, leg);
		ended = play_ended(leg->play);
	}

	if (leg->path && leg->peer &&
	    (atomic_load_explicit(&leg->peer->playing, memory_order_acquire) ||
	     atomic_load_explicit(&leg->peer->mixed, memory_order_acquire))) {
		path_idle(leg->path);
	}
	else if (leg->path && leg->peer) {
		pkt = path_tick(leg->path, &len);
		peer = leg->peer;
		if (len > sizeof(fwd->buf[0]) - SDES_OVERHEAD)
			pkt = NULL;
		if (pkt) {
			memcpy(fwd->buf[0], pkt, len);
			if (leg->srtp_out &&
			    srtp_pair_protect(leg->srtp_out, false,
					      fwd->buf[0], &len,
					      sizeof(fwd->buf[0])))
				pkt = NULL;
		}

		/* a digit heard in-band, as an event (after the audio) */
		ev = path_event(leg->path, &elen);
		if (ev) {
			memcpy(fwd->buf[2], ev, elen);
			if (leg->srtp_out &&
			    srtp_pair_protect(leg->srtp_out, false,
					      fwd->buf[2], &elen,
					      sizeof(fwd->buf[2])))
				ev = NULL;
		}
	}

	pthread_mutex_unlock(&leg->mtx);

	/* told each tick until the control thread takes the player off:
	 * a message the full queue refused is sent again */
	if (ended)
		worker_played(leg->id);

	if (own)
		send_one(fwd, &leg->rtp, fwd->buf[1], own);

	if (pkt)
		send_one(fwd, &peer->rtp, fwd->buf[0], len);

	if (ev)
		send_one(fwd, &peer->rtp, fwd->buf[2], elen);
}
