/**
 * @file relay.h  sbrelay internals, shared by the files of media/
 *
 * Threading model. The re_main thread (the "control thread") owns every
 * re object: the control connections, calls, legs (mem_zalloc'd), the
 * hashes and lists they sit in, and the mqueue. N packet threads
 * (worker.c) each run their own epoll set over plain UDP sockets and
 * never call into re's object system (no mem_*, no tmr, no fd_listen);
 * they only read and write the fields of struct leg marked below, and
 * talk back through re's mqueue (a pipe: thread-safe by design), which
 * carries integers only, never pointers.
 *
 * Who may touch what in a leg:
 *  - control only: list and hash entries, names, the call, sdp_*;
 *  - set before the leg is published (epoll_ctl ADD) and never changed
 *    while a packet thread may see it: fds, local addresses, id, worker;
 *  - leg->mtx: source, peer, path, play, rec, member, and each socket's
 *    remote and latched flag (both sides take it; no code ever holds two leg
 *    locks at once);
 *  - atomics: the counters and last_rx (written by packet threads, read
 *    by the control thread with relaxed ordering: statistics only), and
 *    playing and mixed (written by the control thread, read by the
 *    peer's side without the leg's lock);
 *  - owning packet thread only: timeout_sent, rtcp_due; worker->mtx:
 *    wnext/wprev.
 *
 * A released leg is not freed at once: see grace.c.
 */
#ifndef MEDIA_RELAY_H
#define MEDIA_RELAY_H

#include "sblog.h"
#include "sdes.h"
#include "dtmf.h"
#include "rtp.h"
#include "rtpstat.h"
#include "tone.h"
#include <pthread.h>
#include <stdatomic.h>


enum {
	RELAY_PROTOCOL  = 1,      /**< Control protocol version       */
	CALL_NAME_MAX   = 127,    /**< Longest call name, bytes       */
	LEG_NAME_MAX    = 63,     /**< Longest leg name, bytes        */
	LINE_MAX_BYTES  = 65536,  /**< Longest control line           */
	FILE_NAME_MAX   = 1023,   /**< Longest file path, bytes       */
};


/* ---- configuration (conf.c) ---- */

/** Start-up options; conf_parse overwrites the defaults */
struct relay_conf {
	char listen[108];         /**< UNIX socket path               */
	char media_root[256];     /**< Files played/recorded under it */
	struct sa tcp;            /**< TCP listen address, if set     */
	struct sa addr;           /**< RTP sockets and SDP (port 0)   */
	uint32_t port_min;        /**< Lowest RTP port (even)         */
	uint32_t port_max;        /**< Highest RTCP port              */
	uint32_t rtp_timeout;     /**< Seconds of silence, 0 = off    */
	uint32_t threads;         /**< Packet threads                 */
	uint32_t log_level;       /**< DBG_ERR .. DBG_DEBUG           */
	uint32_t rtcp_interval;   /**< RTCP of transcoded legs, ms    */
};

void conf_defaults(struct relay_conf *cfg);
int  conf_parse(struct relay_conf *cfg, int argc, char *argv[]);
int  conf_usage(struct re_printf *pf, void *unused);


/* ---- log sink (log.c) ---- */



/* ---- time ---- */

uint64_t now_ms(void);
uint64_t now_micro(void);


/* ---- SDP text (sdptext.c) ---- */

/** What the relay needs to know of a session description */
struct sdptext {
	struct sa rtp;            /**< Remote RTP; port 0: none       */
	struct sa rtcp;           /**< Remote RTCP; port 0: none      */
};

enum {
	SDP_FMT_MAX    = 32,      /**< Payload types read per stream  */
	SDP_CRYPTO_MAX = 8,       /**< a=crypto lines read per stream */
};

/** One payload type of the audio stream (text points into the SDP) */
struct sdpfmt {
	uint8_t pt;               /**< Payload type                   */
	struct pl name;           /**< rtpmap encoding name, or empty */
	uint32_t clock;           /**< rtpmap clock rate, 0: none     */
	uint8_t channels;         /**< rtpmap channels                */
	struct pl fmtp;           /**< a=fmtp parameters              */
};

/** The audio stream's formats and keys (text points into the SDP) */
struct sdpaudio {
	struct pl proto;          /**< "RTP/AVP", "RTP/SAVP", ...     */
	struct sdpfmt fmtv[SDP_FMT_MAX]; /**< In the m= line's order  */
	unsigned fmtc;            /**< Number of formats              */
	struct pl cryptov[SDP_CRYPTO_MAX]; /**< a=crypto values       */
	unsigned cryptoc;         /**< Number of a=crypto lines       */
};

/** Changes to the audio stream when rewriting a description */
struct sdpedit {
	const char *fmts;         /**< New m= format list, NULL: keep */
	const char *proto;        /**< New protocol (with fmts only)  */
	uint8_t keep[16];         /**< With fmts: types whose rtpmap
				       and fmtp lines stay (bitmap)   */
	bool drop_crypto;         /**< Drop the a=crypto lines        */
	const char *attrs;        /**< Lines to add, '\n'-separated   */
};

struct sdp_line {
	struct pl text;           /**< Without its line ending        */
	struct pl eol;            /**< "\r\n", "\n" or empty           */
};

bool sdp_line_next(struct pl *rest, struct sdp_line *ln);
bool sdp_token_next(struct pl *rest, struct pl *tok);
bool sdp_prefix(const struct pl *pl, const char *prefix, struct pl *val);
int  sdp_num(uint32_t *v, const struct pl *pl, uint32_t max);

int  sdptext_parse(struct sdptext *st, const char *sdp, size_t len);
int  sdptext_audio(struct sdpaudio *au, const char *sdp, size_t len);
int  sdptext_rewrite(struct mbuf *mb, const char *sdp, size_t len,
		     const struct sa *rtp, const struct sa *rtcp,
		     const struct sdpedit *edit);
int  sdpfmt_formats(struct sdpaudio *au, const struct pl *rest);
int  sdpfmt_attr(struct sdpaudio *au, const struct pl *line);
bool sdpfmt_keep(const struct sdpedit *e, const struct pl *line);
void sdpedit_keep(struct sdpedit *e, uint8_t pt);


/* ---- RTP port pairs (ports.c) ---- */

int  ports_init(const struct sa *addr, uint32_t min, uint32_t max);
int  ports_open(int *rtp_fd, int *rtcp_fd, uint16_t *port);
const struct sa *ports_addr(void);
uint32_t ports_pairs(void);
void ports_close(void);
void ports_retire(int fd);


/* ---- codec choice (negotiate.c) ---- */

/** A format a party listed, as the relay keeps it */
struct legfmt {
	uint8_t pt;               /**< Payload type                   */
	int codec;                /**< enum codec_id, -1: not ours    */
	bool dtmf;                /**< telephone-event                */
};

/** SRTP toward a leg's party, as the core asks in an offer */
enum srtp_mode {
	SRTP_OFF,                 /**< Plain RTP                      */
	SRTP_OPTIONAL,            /**< RTP/AVP with a=crypto keys     */
	SRTP_REQUIRED,            /**< RTP/SAVP                       */
	SRTP_MIRROR,              /**< As the offerer on the other leg */
};

enum { SDES_OFFER_MAX = 2 };

/** What the relay knows of the formats and keys of a leg's party */
struct legneg {
	struct legfmt fmtv[SDP_FMT_MAX]; /**< Its last offer          */
	unsigned fmtc;            /**< Formats in it                  */
	struct legfmt addv[8];    /**< Added to our offer to it       */
	unsigned addc;            /**< Formats added                  */
	bool savp;                /**< Its last offer was RTP/SAVP    */
	bool avp;                 /**< ... or RTP/AVP                 */
	struct sdes_key offerv[SDES_OFFER_MAX]; /**< Our keys offered */
	unsigned offerc;          /**< Keys offered                   */
	struct sdes_key rkey;     /**< Its key (it sends with it)     */
	bool rkey_set;            /**< rkey is valid                  */
	struct sdes_key tkey;     /**< Our key (we send with it)      */
	bool tkey_set;            /**< tkey is valid                  */
	bool te;                  /**< It uses telephone-event ...    */
	uint8_t te_pt;            /**< ... with this payload type     */
	uint32_t te_clock;        /**< ... and clock rate             */
	uint32_t clock;           /**< Clock of its first codec       */
	char fmtp[96];            /**< a=fmtp of the codec it uses    */
	enum srtp_mode offered;   /**< What our last offer to it was  */
	enum srtp_mode used;      /**< SRTP in use with it, SRTP_OFF  */
};

/** A transcoding chosen by an answer */
struct xcode_cfg {
	int codec_offerer;        /**< Offerer's codec, -1: relay     */
	uint8_t pt_offerer;       /**< Its payload type               */
	int codec_answerer;       /**< Answerer's codec               */
	uint8_t pt_answerer;      /**< Its payload type               */
	bool te;                  /**< Events cross (both use them)   */
	int codec_relayed;        /**< Relayed as is: the answer's
				       codec, -1: none of ours        */
	uint8_t pt_relayed;       /**< Its payload type               */
};

struct leg;

int negotiate_offer(struct leg *from, struct leg *to,
		    const struct sdpaudio *au, enum srtp_mode mode,
		    struct sdpedit *e, struct mbuf *fmts, struct mbuf *attrs);
int negotiate_answer(struct leg *from, struct leg *to,
		     const struct sdpaudio *au, uint16_t port,
		     struct sdpedit *e, struct xcode_cfg *xc,
		     struct mbuf *fmts, struct mbuf *attrs);


/* ---- offer and answer (session.c) ---- */

int session_offer(struct leg *from, struct leg *to, const char *sdp,
		  enum srtp_mode mode, struct mbuf *out);
int session_answer(struct leg *from, struct leg *to, const char *sdp,
		   uint16_t port, struct mbuf *out);


/* ---- legs (leg.c, fwd.c) ---- */

struct worker;
struct call;
struct mixer;
struct member;

/** One UDP socket of a leg: what an epoll event points at */
struct rsock {
	struct leg *leg;          /**< Owner (immutable)              */
	int fd;                   /**< Socket (immutable)             */
	bool rtcp;                /**< RTCP socket (immutable)        */
	struct sa local;          /**< Our address (immutable)        */
	struct sa remote;         /**< Send here (leg->mtx)           */
	bool latched;             /**< Remote port latched (leg->mtx) */
};

/** One media stream with one remote party */
struct leg {
	struct le le;             /**< In call's leg list (control)   */
	struct le he;             /**< In the id hash (control)       */
	struct le gle;            /**< In the graveyard (control)     */
	struct call *call;        /**< Owning call (control)          */
	char name[LEG_NAME_MAX+1];/**< Name within the call           */
	uint32_t id;              /**< Relay-wide id (immutable)      */
	uint32_t gen;             /**< Grace generation when released */
	struct worker *worker;    /**< Owning packet thread           */
	struct sdptext sdp;       /**< Remote from the last SDP       */
	struct legneg neg;        /**< Its party's formats (control)  */

	struct rsock rtp;         /**< RTP socket                     */
	struct rsock rtcp;        /**< RTCP socket (RTP port + 1)     */

	pthread_mutex_t mtx;      /**< Guards source, peer, remotes   */
	bool mtx_ok;              /**< mtx initialised                */
	struct sa source;         /**< Accept from this IP only       */
	struct leg *peer;         /**< Bridged leg, or NULL           */
	struct path *path;        /**< Transcode path, NULL: relay    */
	int dtmf_pt;              /**< telephone-event type it sends  */
	struct dtmf_event_rx dtmf_ev; /**< Owning packet thread only  */
	struct rtpstat stat;      /**< What it receives (leg->mtx)    */
	struct srtp_pair *srtp_in;  /**< Its own (unprotect), or NULL  */
	struct srtp_pair *srtp_out; /**< Its peer's (protect), or NULL */
	struct sdes_key keys[2];  /**< Keys srtp_in was made with     */
	bool keys_set[2];         /**< ... and which are set (control) */
	int codec;                /**< Its codec when transcoding, -1 */
	uint8_t pt;               /**< Its payload type then          */
	int relay_codec;          /**< Its codec when relayed as is, -1:
				       none of ours (control)         */
	uint8_t relay_pt;         /**< Its payload type then          */
	struct play *play;        /**< Heard instead of the peer, or
				       NULL (leg->mtx)                */
	struct rec *rec;          /**< Records what it receives, or
				       NULL (leg->mtx)                */
	atomic_bool playing;      /**< play is set: the peer's media to
				       it is held back                */
	struct member *member;    /**< Its place in a mixer, or NULL
				       (leg->mtx; mixer.c)            */
	atomic_bool mixed;        /**< member is set: the peer's media to
				       it is held back                */

	_Atomic uint64_t pkts_in;    /**< Packets accepted            */
	_Atomic uint64_t bytes_in;   /**< Bytes accepted              */
	_Atomic uint64_t pkts_out;   /**< Packets sent to remote      */
	_Atomic uint64_t bytes_out;  /**< Bytes sent to remote        */
	_Atomic uint64_t dropped;    /**< Packets not accepted        */
	_Atomic uint64_t last_rx;    /**< now_ms() of last, 0: none   */

	unsigned phase;           /**< Its ticks' turn (worker mtx)   */
	struct leg *wnext;        /**< Worker's leg list (worker mtx) */
	struct leg *wprev;        /**< Worker's leg list (worker mtx) */
	bool timeout_sent;        /**< Owning packet thread only      */
	uint64_t rtcp_due;        /**< Next RTCP report, now_ms(); 0:
				       none planned (packet thread)   */
};

int  legs_init(void);
void legs_close(void);
int  leg_alloc(struct leg **legp, struct call *call, const char *name);
void leg_release(struct leg *leg);
struct leg *leg_find(uint32_t id);
void leg_set_remote(struct leg *leg, const struct sa *source,
		    const struct sdptext *st);
void leg_bridge(struct leg *a, struct leg *b);
int  leg_media(struct leg *offerer, struct leg *answerer,
	       const struct xcode_cfg *xc);
int  leg_keys(struct leg *leg, struct leg *peer);
int  leg_encode(struct odict *o, const struct leg *leg);
uint32_t leg_count(void);

/** Packet buffers of one packet thread */
struct fwd;

int  fwd_alloc(struct fwd **fwdp);
bool fwd_recv(struct fwd *fwd, struct rsock *rs, uint64_t now);
void fwd_tick(struct fwd *fwd, struct leg *leg);
void fwd_send(struct fwd *fwd, struct rsock *out, uint8_t *pkt, size_t len);


/* ---- players and recorders (play.c, rec.c, attach.c) ---- */

struct play;
struct rec;

/** The codec a leg's party takes, as a player or recorder uses it */
struct legcodec {
	int codec;                /**< enum codec_id                  */
	uint8_t pt;               /**< Its payload type               */
	const char *fmtp;         /**< Its party's a=fmtp ("": none) */
};

int  play_file(struct play **pp, const struct legcodec *lc,
	       const char *file, bool loop);
int  play_tone(struct play **pp, const struct legcodec *lc,
	       const char *set, enum tone_kind kind);
int  play_tick(struct play *p, uint8_t *pkt, size_t cap, size_t *len);
bool play_ended(struct play *p);
const char *play_name(const struct play *p);
bool play_is_tone(const struct play *p);
int  play_file_pcm(struct play **pp, uint32_t rate, const char *file,
		   bool loop);
int  play_tone_pcm(struct play **pp, uint32_t rate, const char *set,
		   enum tone_kind kind);
int  play_pcm(struct play *p, int16_t *pcm, size_t *n);
int  play_stream(struct play **pp, const struct legcodec *lc,
		 uint32_t rate);
int  play_encode(struct play *p, const int16_t *pcm, uint8_t *pkt,
		 size_t cap, size_t *len);

int  rec_alloc(struct rec **rp, const struct legcodec *lc,
	       const char *file);
void rec_rx(struct rec *r, const struct rtp_hdr *h);
void rec_drain(struct rec *r);
int  rec_close(struct rec *r, uint64_t *ms);
const char *rec_file(const struct rec *r);
uint32_t rec_srate(const struct rec *r);
int  rec_pcm_alloc(struct rec **rp, uint32_t srate, const char *file);
void rec_pcm(struct rec *r, const int16_t *pcm, size_t n);

int  leg_codec(struct legcodec *lc, const struct leg *leg);
void leg_play(struct leg *leg, struct play *p);
bool leg_play_stop(struct leg *leg);
void leg_play_ended(struct leg *leg);
void leg_rec(struct leg *leg, struct rec *r);
struct rec *leg_rec_take(struct leg *leg);


/* ---- transcode path (path.c) ---- */

struct path;
struct codec;
struct jb_stat;

/** What a transcode path is made of */
struct path_cfg {
	struct codec *dec;        /**< The leg's codec                */
	uint8_t pt_in;            /**< Its payload type               */
	struct codec *enc;        /**< The peer's codec               */
	uint8_t pt_out;           /**< Its payload type               */
	int te_in;                /**< The leg's telephone-event, -1  */
	int te_out;               /**< The peer's, -1: not relayed    */
	uint32_t leg_id;          /**< For digit events               */
	uint32_t rate;            /**< No enc: the PCM rate path_pcm
				       gives (a mixer's)              */
};

int  path_alloc(struct path **pp, const struct path_cfg *cfg);
int  path_rx(struct path *p, const uint8_t *pkt, size_t len,
	     uint8_t *out, size_t *out_len);
const uint8_t *path_tick(struct path *p, size_t *len);
const uint8_t *path_event(struct path *p, size_t *len);
void path_idle(struct path *p);
int  path_pcm(struct path *p, int16_t *pcm);
int  path_dtmf(struct path *p, uint32_t clock_in, int pt_out,
	       uint32_t clock_out);
bool path_sender(const struct path *p, struct rtcp_sender *s,
		 uint64_t now_ntp);
void path_jb_stats(const struct path *p, struct jb_stat *st);
void fwd_totals(const struct fwd *fwd, uint64_t *packets, uint64_t *dropped);


/* ---- RTCP of a leg's party (report.c) ---- */

void report_interval(uint32_t ms);
uint64_t report_ntp(void);
int  report_build(uint8_t *buf, size_t *len, struct rtpstat *st,
		  uint32_t ssrc, const struct rtcp_sender *sr,
		  const char *cname, uint64_t now_ntp);
bool report_rx(struct leg *leg, const uint8_t *pkt, size_t len,
	       uint64_t now_ntp, struct rtcp_sender *sr);
void report_relayed(struct leg *leg, const struct rtcp_sender *sr,
		    uint64_t now_ntp);
void report_tick(struct leg *leg, uint64_t now);


/* ---- packet threads (worker.c) ---- */

int  workers_start(unsigned n, uint32_t timeout_ms);
void workers_stop(void);
struct worker *worker_pick(void);
void worker_paths(struct worker *w, int delta);
void worker_dtmf(uint32_t leg_id, char digit, bool inband);
void worker_played(uint32_t leg_id);
void worker_mixer_add(struct worker *w, struct le *le, struct mixer *m);
void worker_mixer_remove(struct worker *w, struct le *le);
void worker_mixer_played(uint32_t mixer_id);
int  worker_add(struct worker *w, struct leg *leg);
void worker_remove(struct worker *w, struct leg *leg);
void workers_kick(void);
bool workers_passed(uint32_t gen);
void workers_totals(uint64_t *packets, uint64_t *dropped);


/* ---- deferred free (grace.c) ---- */

uint32_t grace_current(void);
void grace_defer(struct leg *leg);
void grace_poll(void);
void grace_flush(void);


/* ---- calls (call.c) ---- */

struct conn;

int  call_alloc(struct call **callp, struct hash *ht, const char *name,
		struct conn *conn);
struct call *call_find(const struct hash *ht, const char *name);
struct leg *call_leg(const struct call *call, const char *name);
int  call_leg_add(struct call *call, const char *name, struct leg **legp);
const char *call_name(const struct call *call);
struct worker *call_worker(struct call *call);
struct conn *call_conn(const struct call *call);
int  call_encode_legs(struct odict *o, const struct call *call);
typedef bool (call_leg_h)(struct leg *leg, void *arg);
struct leg *call_leg_apply(const struct call *call, call_leg_h *h,
			   void *arg);
uint32_t call_count(void);
struct list *call_mixers(struct call *call);
bool call_empty(const struct call *call);


/* ---- mixers (mixer.c, mixer_tick.c, attach.c) ---- */

/** How a leg is in a mixer */
enum mixer_mode {
	MIXER_BOTH,               /**< Mixed in, hears the others     */
	MIXER_LISTEN,             /**< Hears the mix, not mixed in    */
	MIXER_SPEAK,              /**< Mixed in, hears nothing        */
};

int  mixer_alloc(struct mixer **mp, struct call *call, const char *name,
		 uint32_t srate);
struct mixer *mixer_find(struct call *call, const char *name);
int  mixer_mode_find(enum mixer_mode *modep, const char *name);
int  mixer_join(struct mixer *m, struct leg *leg, enum mixer_mode mode);
bool mixer_leave(struct leg *leg);
int  mixer_update(struct leg *leg);
struct mixer *leg_mixer(const struct leg *leg);
const char *mixer_name(const struct mixer *m);
struct call *mixer_call(const struct mixer *m);
uint32_t mixer_srate(const struct mixer *m);
const struct rec *mixer_recording(const struct mixer *m);
int  mixers_encode(struct odict *o, struct call *call);
void mixer_play(struct mixer *m, struct play *p);
bool mixer_play_stop(struct mixer *m);
void mixer_played(uint32_t id);
void mixer_rec(struct mixer *m, struct rec *r);
struct rec *mixer_rec_take(struct mixer *m);
void mixer_rx(struct member *mb, const uint8_t *pkt, size_t len);
void mixer_tick(struct mixer *m, struct fwd *fwd);


/* ---- control connections (ctrl.c) ---- */

int  ctrl_listen(const struct relay_conf *cfg);
void ctrl_close(void);
int  ctrl_send(struct conn *conn, const struct odict *o);
struct hash *conn_calls(const struct conn *conn);
bool conn_hello(const struct conn *conn);
void conn_hello_set(struct conn *conn);
void conn_close_after_reply(struct conn *conn);


/* ---- events (event.c) ---- */

int  event_hello(struct conn *conn);
void event_timeout(const struct leg *leg, uint64_t idle_ms);
void event_dtmf(const struct leg *leg, char digit, bool inband);
void event_played(const struct leg *leg, const struct play *p);
void event_recorded(const struct leg *leg, const char *file,
		    uint64_t ms, int err);
void event_mixer_played(const struct mixer *m, const struct play *p);
void event_mixer_recorded(const struct mixer *m, const char *file,
			  uint64_t ms, int err);


/* ---- commands (cmd.c) ---- */

void cmd_dispatch(struct conn *conn, const char *line, size_t len);
int  cmd_media_root(const char *dir);
void cmd_error(struct conn *conn, int err, const char *why);

#endif
