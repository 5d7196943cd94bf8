/**
 * @file leg.c  Legs, seen from the control thread: make, aim, bridge, free
 *
 * A leg is published to its packet thread by worker_add (epoll_ctl ADD)
 * once every field a packet thread reads without the leg's lock is set;
 * those fields (fds, local addresses, id) then stay fixed. What changes
 * while packets flow (source, peer, remote addresses, latched flags) is
 * written under leg->mtx here and read under it in fwd.c. A released
 * leg goes to grace.c, which frees it once no packet thread can still
 * hold a pointer to it; the destructor then closes its descriptors.
 *
 * Bridges are symmetric (a->peer == b exactly when b->peer == a) and a
 * leg has at most one. A transcoding bridge or a mixer will sit between
 * a leg and its peer later; the relay path here is the same-codec case.
 */
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "relay.h"
#include "codec.h"
#include "jbuf.h"

#define DEBUG_MODULE "leg"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	LEG_HASH_SIZE = 1024,
};

static struct {
	struct hash *ht;          /**< Legs in service, by id         */
	uint32_t next_id;         /**< Last id given                  */
	uint32_t count;           /**< Legs in service                */
} legs;


static void destructor(void *arg)
{
	struct leg *leg = arg;

	list_unlink(&leg->le);
	hash_unlink(&leg->he);
	list_unlink(&leg->gle);

	if (leg->rtp.fd >= 0)
		(void)close(leg->rtp.fd);
	if (leg->rtcp.fd >= 0)
		(void)close(leg->rtcp.fd);

	if (leg->mtx_ok)
		pthread_mutex_destroy(&leg->mtx);

	mem_deref(leg->path);
	mem_deref(leg->play);
	mem_deref(leg->rec);
	mem_deref(leg->srtp_in);
	mem_deref(leg->srtp_out);
}


/**
 * Set up the table of legs
 *
 * @return 0 if success, otherwise errorcode
 */
int legs_init(void)
{
	if (legs.ht)
		return 0;

	return hash_alloc(&legs.ht, LEG_HASH_SIZE);
}


/**
 * Free the table of legs (all legs must be released)
 */
void legs_close(void)
{
	legs.ht = mem_deref(legs.ht);
}


/**
 * Make a leg: a free RTP/RTCP port pair, handed to a packet thread
 *
 * @param legp Returned leg (the caller's reference; free it with
 *             leg_release, never mem_deref)
 * @param call Owning call
 * @param name Leg name
 *
 * @return 0 if success, otherwise errorcode (EADDRINUSE: no free port)
 */
int leg_alloc(struct leg **legp, struct call *call, const char *name)
{
	struct leg *leg;
	uint16_t port;
	int err;

	if (!legp || !call || !name || !legs.ht)
		return EINVAL;

	leg = mem_zalloc(sizeof(*leg), destructor);
	if (!leg)
		return ENOMEM;

	leg->rtp.fd = leg->rtcp.fd = -1;
	leg->codec = -1;
	leg->relay_codec = -1;
	leg->dtmf_pt = -1;
	rtpstat_init(&leg->stat, 8000);
	err = pthread_mutex_init(&leg->mtx, NULL);
	if (err)
		goto out;
	leg->mtx_ok = true;

	err = ports_open(&leg->rtp.fd, &leg->rtcp.fd, &port);
	if (err)
		goto out;

	leg->call = call;
	str_ncpy(leg->name, name, sizeof(leg->name));
	if (++legs.next_id == 0)
		++legs.next_id;
	leg->id = legs.next_id;

	leg->rtp.leg = leg->rtcp.leg = leg;
	leg->rtcp.rtcp = true;
	leg->rtp.local = leg->rtcp.local = *ports_addr();
	sa_set_port(&leg->rtp.local, port);
	sa_set_port(&leg->rtcp.local, port + 1);
	sa_init(&leg->source, AF_UNSPEC);
	sa_init(&leg->rtp.remote, AF_UNSPEC);
	sa_init(&leg->rtcp.remote, AF_UNSPEC);

	hash_append(legs.ht, leg->id, &leg->he, leg);
	++legs.count;

	leg->worker = call_worker(call);
	err = worker_add(leg->worker, leg);
	if (err) {
		/* a packet thread may have seen one socket already */
		leg_release(leg);
		return err;
	}

 out:
	if (err)
		mem_deref(leg);
	else
		*legp = leg;

	return err;
}


static void unbridge(struct leg *leg)
{
	struct leg *peer;

	/* only this thread writes peer: reading it unlocked is safe */
	peer = leg->peer;
	if (!peer)
		return;

	pthread_mutex_lock(&leg->mtx);
	leg->peer = NULL;
	pthread_mutex_unlock(&leg->mtx);

	pthread_mutex_lock(&peer->mtx);
	if (peer->peer == leg)
		peer->peer = NULL;
	pthread_mutex_unlock(&peer->mtx);
}


/* the packet thread sees the new path at its next packet or tick; the
 * old one is freed here, as it only uses a path under the lock */
static void path_set(struct leg *leg, struct path *p)
{
	struct path *old;

	pthread_mutex_lock(&leg->mtx);
	old = leg->path;
	leg->path = p;
	pthread_mutex_unlock(&leg->mtx);

	if (!old != !p)
		worker_paths(leg->worker, p ? 1 : -1);

	mem_deref(old);
}


/* under the lock, as path_set: in, the leg's pair; out, its peer's */
static void srtp_set(struct leg *leg, struct srtp_pair *in,
		     struct srtp_pair *out)
{
	struct srtp_pair *old_in, *old_out;

	pthread_mutex_lock(&leg->mtx);
	old_in = leg->srtp_in;
	old_out = leg->srtp_out;
	leg->srtp_in = mem_ref(in);
	leg->srtp_out = mem_ref(out);
	pthread_mutex_unlock(&leg->mtx);

	mem_deref(old_in);
	mem_deref(old_out);
}


/**
 * Make a leg's SRTP contexts from the keys its party and the relay
 * chose (legneg), when they changed: the leg unprotects with them, its
 * peer protects what it sends the leg
 *
 * @param leg  Leg
 * @param peer Its peer
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_keys(struct leg *leg, struct leg *peer)
{
	const struct legneg *n;
	struct srtp_pair *sp = NULL;
	int err = 0;

	if (!leg || !peer)
		return EINVAL;

	n = &leg->neg;
	if (leg->keys_set[0] == n->rkey_set && leg->keys_set[1] ==
	    n->tkey_set && (!n->rkey_set || !memcmp(&leg->keys[0], &n->rkey,
						     sizeof(n->rkey))) &&
	    (!n->tkey_set || !memcmp(&leg->keys[1], &n->tkey,
				     sizeof(n->tkey))))
		return 0;

	if (n->rkey_set || n->tkey_set)
		err = srtp_pair_alloc(&sp, n->rkey_set ? &n->rkey : NULL,
				      n->tkey_set ? &n->tkey : NULL);
	if (err)
		return err;

	srtp_set(leg, sp, leg->srtp_out);
	srtp_set(peer, peer->srtp_in, sp);
	mem_deref(sp);

	leg->keys[0] = n->rkey;
	leg->keys[1] = n->tkey;
	leg->keys_set[0] = n->rkey_set;
	leg->keys_set[1] = n->tkey_set;

	return 0;
}


/**
 * Take a leg out of service and free it once no packet thread can
 * touch it. Its ports are free when this returns.
 *
 * @param leg Leg
 */
void leg_release(struct leg *leg)
{
	struct rec *rec;

	if (!leg)
		return;

	/* a recording is kept whoever ends the call, even a core that
	 * went away (nobody is told then) */
	rec = leg_rec_take(leg);
	if (rec)
		(void)rec_close(rec, NULL);
	mem_deref(rec);

	(void)leg_play_stop(leg);
	unbridge(leg);
	path_set(leg, NULL);
	srtp_set(leg, NULL, NULL);

	if (leg->worker) {
		worker_remove(leg->worker, leg);
		leg->worker = NULL;
	}

	ports_retire(leg->rtp.fd);
	ports_retire(leg->rtcp.fd);

	list_unlink(&leg->le);
	hash_unlink(&leg->he);
	--legs.count;

	grace_defer(leg);
}


static bool id_cmp(struct le *le, void *arg)
{
	const struct leg *leg = le->data;

	return leg->id == *(uint32_t *)arg;
}


/**
 * Find a leg in service by its id
 *
 * @param id Leg id
 *
 * @return The leg, or NULL
 */
struct leg *leg_find(uint32_t id)
{
	return list_ledata(hash_lookup(legs.ht, id, id_cmp, &id));
}


/**
 * Aim a leg at the party a session description names
 *
 * The latching source IP and the addresses from the description are
 * set; a latched remote is kept while neither changes (a re-INVITE that
 * changes nothing keeps the media flowing where it flows).
 *
 * @param leg    Leg
 * @param source Accept packets from this IP only
 * @param st     Remote addresses from the description
 */
void leg_set_remote(struct leg *leg, const struct sa *source,
		    const struct sdptext *st)
{
	bool same;

	if (!leg || !source || !st)
		return;

	same = sa_cmp(source, &leg->source, SA_ADDR) &&
		sa_cmp(&st->rtp, &leg->sdp.rtp, SA_ALL) &&
		sa_cmp(&st->rtcp, &leg->sdp.rtcp, SA_ALL);

	pthread_mutex_lock(&leg->mtx);
	leg->source = *source;
	if (!same) {
		leg->rtp.remote = st->rtp;
		leg->rtcp.remote = st->rtcp;
		leg->rtp.latched = false;
		leg->rtcp.latched = false;
	}
	pthread_mutex_unlock(&leg->mtx);

	leg->sdp = *st;
}


/**
 * Bridge two legs: what one receives, the other sends. Each leaves the
 * bridge it was in.
 *
 * @param a A leg
 * @param b Another leg
 */
void leg_bridge(struct leg *a, struct leg *b)
{
	if (!a || !b || a == b || (a->peer == b && b->peer == a))
		return;

	unbridge(a);
	unbridge(b);

	pthread_mutex_lock(&a->mtx);
	a->peer = b;
	pthread_mutex_unlock(&a->mtx);

	pthread_mutex_lock(&b->mtx);
	b->peer = a;
	pthread_mutex_unlock(&b->mtx);
}


/* the telephone-event type the leg's party sends with, for digits, and
 * its codec's clock, for jitter */
static void dtmf_set(struct leg *leg)
{
	pthread_mutex_lock(&leg->mtx);
	leg->dtmf_pt = leg->neg.te ? leg->neg.te_pt : -1;
	if (leg->neg.clock && leg->neg.clock != leg->stat.clock)
		rtpstat_init(&leg->stat, leg->neg.clock);
	pthread_mutex_unlock(&leg->mtx);
}


/* a transcoded leg's MOS uses its codec's loss impairment */
static void stat_codec(struct leg *leg, int codec)
{
	pthread_mutex_lock(&leg->mtx);
	(void)rtpstat_codec(&leg->stat, codec_info(codec)->name);
	pthread_mutex_unlock(&leg->mtx);
}


/* the PCM rate of a codec facing another: Opus runs at the other's */
static uint32_t codec_rate(int codec, int other)
{
	if (codec == CODEC_OPUS)
		return codec_info(other)->srate;

	return codec_info(codec)->srate;
}



/* the path of what leg receives (in codec dec, payload type pt_in),
 * transcoded for its peer (codec enc, pt_out); events cross when both
 * use them (te) */
static int path_toward(struct path **pp, const struct leg *leg,
		       struct codec *dec, uint8_t pt_in,
		       const struct leg *peer, struct codec *enc,
		       uint8_t pt_out, bool te)
{
	struct path_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dec = dec;
	cfg.pt_in = pt_in;
	cfg.enc = enc;
	cfg.pt_out = pt_out;
	cfg.te_in = leg->neg.te ? leg->neg.te_pt : -1;
	cfg.te_out = te ? peer->neg.te_pt : -1;
	cfg.leg_id = leg->id;

	return path_alloc(pp, &cfg);
}


/**
 * Relay or transcode between the legs of an offer/answer, as the answer
 * chose (a transcoding already in place with the same codecs is kept)
 *
 * @param offerer  Leg facing the offerer
 * @param answerer Leg facing the answerer
 * @param xc       Codecs chosen; codec_offerer -1: relay as is
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_media(struct leg *offerer, struct leg *answerer,
	      const struct xcode_cfg *xc)
{
	struct codec *co = NULL, *ca = NULL;
	struct path *po = NULL, *pa = NULL;
	struct pl fo, fa;
	int err;

	if (!offerer || !answerer || !xc)
		return EINVAL;

	dtmf_set(offerer);
	dtmf_set(answerer);

	if (xc->codec_offerer < 0) {
		path_set(offerer, NULL);
		path_set(answerer, NULL);
		offerer->codec = answerer->codec = -1;
		offerer->relay_codec = answerer->relay_codec =
			xc->codec_relayed;
		offerer->relay_pt = answerer->relay_pt = xc->pt_relayed;
		return 0;
	}

	offerer->relay_codec = answerer->relay_codec = -1;

	if (offerer->path && answerer->path &&
	    offerer->codec == xc->codec_offerer &&
	    offerer->pt == xc->pt_offerer &&
	    answerer->codec == xc->codec_answerer &&
	    answerer->pt == xc->pt_answerer)
		return 0;

	/* each codec as its party asked for it (Opus: FEC, bitrate) */
	pl_set_str(&fo, offerer->neg.fmtp);
	pl_set_str(&fa, answerer->neg.fmtp);
	err = codec_alloc(&co, xc->codec_offerer,
			  codec_rate(xc->codec_offerer, xc->codec_answerer),
			  &fo);
	err = err ? err : codec_alloc(&ca, xc->codec_answerer,
			  codec_rate(xc->codec_answerer, xc->codec_offerer),
			  &fa);
	if (err)
		goto out;

	err = path_toward(&po, offerer, co, xc->pt_offerer, answerer, ca,
			  xc->pt_answerer, xc->te);
	err = err ? err : path_toward(&pa, answerer, ca, xc->pt_answerer,
				      offerer, co, xc->pt_offerer, xc->te);
	if (err)
		goto out;

	path_set(offerer, po);
	path_set(answerer, pa);
	stat_codec(offerer, xc->codec_offerer);
	stat_codec(answerer, xc->codec_answerer);
	offerer->codec = xc->codec_offerer;
	offerer->pt = xc->pt_offerer;
	answerer->codec = xc->codec_answerer;
	answerer->pt = xc->pt_answerer;

 out:
	if (err) {
		mem_deref(po);
		mem_deref(pa);
	}
	mem_deref(co);
	mem_deref(ca);

	return err;
}


/**
 * Add a leg's state and counters to a query reply entry
 *
 * @param o   Object to add to
 * @param leg Leg
 *
 * @return 0 if success, otherwise errorcode
 */
int leg_encode(struct odict *o, const struct leg *leg)
{
	struct leg *l = (struct leg *)leg;  /* the mutex is not const */
	char local[64], remote[64];
	uint64_t last, now = now_ms();
	struct rtpstat_sum sum;
	struct odict *q = NULL, *jo = NULL;
	struct jb_stat jst;
	struct sa rem;
	bool latched, transcoded;
	int err;

	if (!o || !leg)
		return EINVAL;

	pthread_mutex_lock(&l->mtx);
	rem = l->rtp.remote;
	latched = l->rtp.latched;
	rtpstat_summary(&l->stat, &sum);
	transcoded = l->path != NULL;
	if (transcoded)
		path_jb_stats(l->path, &jst);
	pthread_mutex_unlock(&l->mtx);

	last = atomic_load_explicit(&l->last_rx, memory_order_relaxed);

	(void)re_snprintf(local, sizeof(local), "%J", &leg->rtp.local);
	(void)re_snprintf(remote, sizeof(remote), "%J", &rem);

	err  = odict_entry_add(o, "leg", ODICT_STRING, leg->name);
	err |= odict_entry_add(o, "local", ODICT_STRING, local);
	if (sa_isset(&rem, SA_ALL))
		err |= odict_entry_add(o, "remote", ODICT_STRING, remote);
	else
		err |= odict_entry_add(o, "remote", ODICT_NULL);
	err |= odict_entry_add(o, "latched", ODICT_BOOL, latched);
	err |= odict_entry_add(o, "packets_in", ODICT_INT, (int64_t)
			       atomic_load_explicit(&l->pkts_in,
						    memory_order_relaxed));
	err |= odict_entry_add(o, "packets_out", ODICT_INT, (int64_t)
			       atomic_load_explicit(&l->pkts_out,
						    memory_order_relaxed));
	err |= odict_entry_add(o, "bytes_in", ODICT_INT, (int64_t)
			       atomic_load_explicit(&l->bytes_in,
						    memory_order_relaxed));
	err |= odict_entry_add(o, "bytes_out", ODICT_INT, (int64_t)
			       atomic_load_explicit(&l->bytes_out,
						    memory_order_relaxed));
	err |= odict_entry_add(o, "dropped", ODICT_INT, (int64_t)
			       atomic_load_explicit(&l->dropped,
						    memory_order_relaxed));
	err |= odict_entry_add(o, "last_packet_ms", ODICT_INT,
			       last ? (int64_t)(now - last) : (int64_t)-1);
	if (leg->codec >= 0)
		err |= odict_entry_add(o, "codec", ODICT_STRING,
				       codec_info(leg->codec)->name);
	if (leg->play)
		err |= odict_entry_add(o, "playing", ODICT_STRING,
				       play_name(leg->play));
	if (leg->rec)
		err |= odict_entry_add(o, "recording", ODICT_STRING,
				       rec_file(leg->rec));

	/* what the relay received from the party, and what it reported */
	err |= odict_alloc(&q, 8);
	if (err)
		goto out;
	err  = rtpstat_encode(q, &sum);
	err |= odict_entry_add(o, "quality", ODICT_OBJECT, q);
	if (err || !transcoded)
		goto out;

	/* what the party's audio went through before the peer heard it */
	err = odict_alloc(&jo, 8);
	if (err)
		goto out;
	err  = odict_entry_add(jo, "played", ODICT_INT, (int64_t)jst.played);
	err |= odict_entry_add(jo, "concealed", ODICT_INT, (int64_t)jst.lost);
	err |= odict_entry_add(jo, "late", ODICT_INT, (int64_t)jst.late);
	err |= odict_entry_add(jo, "dropped", ODICT_INT,
			       (int64_t)jst.dropped);
	err |= odict_entry_add(jo, "underruns", ODICT_INT,
			       (int64_t)jst.underruns);
	err |= odict_entry_add(jo, "depth", ODICT_INT, (int64_t)jst.depth);
	err |= odict_entry_add(jo, "target", ODICT_INT, (int64_t)jst.target);
	err |= odict_entry_add(o, "jitter_buffer", ODICT_OBJECT, jo);

 out:
	mem_deref(jo);
	mem_deref(q);

	return err;
}


/** @return Legs in service */
uint32_t leg_count(void)
{
	return legs.count;
}
