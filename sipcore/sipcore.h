/**
 * @file sipcore.h  Internal interfaces of the switchboard SIP core
 */
#ifndef SIPCORE_H
#define SIPCORE_H

#include "switchboard.h"


/* ---- configuration (conf.c) ---- */

enum { SB_ADDR_MAX = 8, SB_PATH_MAX = 256 };

/** Listen addresses of one SIP transport */
struct sb_listen {
	struct sa addrv[SB_ADDR_MAX];  /**< Addresses, in config order     */
	size_t addrc;                  /**< Number of addresses           */
};

/* a relay's UNIX socket path fits Linux's sun_path with its NUL */
enum { SB_RELAY_MAX = 16, SB_UNIX_PATH_MAX = 108 };

/** Control address of one relay: TCP if tcp is set, else UNIX */
struct sb_relay_addr {
	struct sa tcp;                 /**< TCP ip:port, or unset         */
	char path[SB_UNIX_PATH_MAX];   /**< UNIX socket when not TCP      */
};

/** Relays started by hand: one relay_connect line each */
struct sb_relays {
	struct sb_relay_addr addrv[SB_RELAY_MAX]; /**< In config order   */
	size_t addrc;                  /**< Number of relays              */
};

/** Daemon configuration: defaults, then overwritten by the config file */
struct sb_conf {
	struct sb_listen sip_udp;      /**< sip_listen_udp                */
	struct sb_listen sip_tcp;      /**< sip_listen_tcp                */
	struct sb_listen sip_tls;      /**< sip_listen_tls                */
	char sip_domain[128];          /**< SIP domain and digest realm   */
	char sip_tls_cert[SB_PATH_MAX];/**< PEM cert+key, or "" = own     */
	uint32_t sip_max_conn_per_ip;  /**< TCP/TLS connections per source*/
	char store_path[SB_PATH_MAX];  /**< SQLite database file          */
	int log_level;                 /**< DBG_ERR .. DBG_DEBUG          */
	uint32_t call_noanswer_timeout;/**< Seconds before 480            */
	uint32_t call_max;             /**< Concurrent calls at most      */
	uint32_t reg_min_expires;      /**< Seconds, 423 below            */
	uint32_t reg_max_expires;      /**< Seconds, clamped above        */
	uint32_t reg_default_expires;  /**< Seconds when none is asked    */
	uint32_t reg_max_contacts;     /**< Contacts per extension        */
	uint32_t reg_keepalive_interval; /**< OPTIONS period, 0 = off     */
	uint32_t auth_nonce_lifetime;  /**< Seconds a nonce is fresh      */
	struct sa api_listen;          /**< HTTP API address              */
	char api_token[128];           /**< Bearer token, "" = generated  */
	uint32_t relay_spawn;          /**< 1: start sbrelay ourselves    */
	char relay_binary[SB_PATH_MAX];/**< sbrelay, "" = beside us       */
	char relay_socket[SB_PATH_MAX];/**< "" = <store_path>.relay.sock  */
	struct sb_relays relay_connect;/**< Relays started by hand        */
	char relay_address[64];        /**< IP for RTP sockets and SDP    */
	uint32_t relay_port_min;       /**< RTP port range                */
	uint32_t relay_port_max;       /**< RTP port range                */
	char moh_file[SB_PATH_MAX];    /**< Music on hold, "" = none      */
};

void conf_defaults(struct sb_conf *cfg);
int  conf_load(struct sb_conf *cfg, const char *path);
int  conf_parse(struct sb_conf *cfg, const char *buf, size_t len,
		const char *name);


/* ---- logging (log.c) ---- */

#include "sblog.h"


/* ---- store (store*.c) ---- */

struct store;

enum {
	EXT_NUMBER_MAX = 32,
	EXT_NAME_MAX   = 64,
	EXT_PIN_MAX    = 16,
};

/** Order of the digest challenges sent to an extension */
enum auth_order {
	AUTH_MD5_FIRST = 0,
	AUTH_SHA256_FIRST,
	AUTH_MD5_ONLY,
	AUTH_SHA256_ONLY,
};

/** SRTP the relay offers an extension's phones when calling them */
enum ext_srtp {
	EXT_SRTP_OFF = 0,              /**< Plain RTP                     */
	EXT_SRTP_OPTIONAL,             /**< RTP/AVP with SDES keys        */
	EXT_SRTP_REQUIRED,             /**< RTP/SAVP                      */
};

/** An extension as stored: never the plaintext password */
struct ext {
	char number[EXT_NUMBER_MAX];   /**< Dialled number, also username */
	char name[EXT_NAME_MAX];       /**< Display name                  */
	char ha1_md5[33];              /**< MD5(user:realm:password), hex */
	char ha1_sha256[65];           /**< SHA-256 of the same, hex      */
	char vm_pin[EXT_PIN_MAX];      /**< Voicemail PIN (placeholder)   */
	enum auth_order auth_order;    /**< Challenge order               */
	enum ext_srtp srtp;            /**< SRTP toward its phones        */
};

const char *ext_srtp_name(enum ext_srtp srtp);

/** A registered contact as stored */
struct contact_rec {
	char aor[EXT_NUMBER_MAX];      /**< Extension number              */
	char uri[512];                 /**< Contact URI                   */
	char callid[256];              /**< Call-ID of the REGISTER       */
	uint32_t cseq;                 /**< CSeq of the REGISTER          */
	int64_t expires_at;            /**< Unix time                     */
	struct sa received;            /**< Source address of the flow    */
	enum sip_transp tp;            /**< Transport of the flow         */
	char user_agent[128];          /**< User-Agent header             */
};

/** A call detail record */
/** Media quality of what the relay received from one party */
struct cdr_quality {
	bool set;                      /**< Measured                      */
	double mos;                    /**< Estimated MOS                 */
	double loss_pct;               /**< Packet loss, %                */
	double jitter_ms;              /**< Interarrival jitter           */
};

struct cdr {
	int64_t id;                    /**< Row id (read only)            */
	char call_id[128];             /**< Our call id                   */
	char caller[EXT_NUMBER_MAX];   /**< Authenticated caller          */
	char callee[64];               /**< Dialled number                */
	int64_t start_ms;              /**< INVITE received, unix ms      */
	int64_t answer_ms;             /**< 200 sent, 0 if never          */
	int64_t end_ms;                /**< Call ended, unix ms           */
	char disposition[16];          /**< ANSWERED, BUSY, NOANSWER, ... */
	uint16_t cause;                /**< Final SIP status              */
	char reason[64];               /**< Why it ended                  */
	struct cdr_quality q_caller;   /**< From the caller (list only)   */
	struct cdr_quality q_callee;   /**< From the callee (list only)   */
};

typedef int (store_ext_h)(const struct ext *ext, void *arg);
typedef int (store_contact_h)(const struct contact_rec *rec, void *arg);
typedef int (store_cdr_h)(const struct cdr *cdr, void *arg);

/** Prepared statements; their SQL is listed once in store.c */
enum store_stmt {
	STMT_BEGIN = 0,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SAVEPOINT,
	STMT_RELEASE,
	STMT_ROLLBACK_TO,
	STMT_EXT_GET,
	STMT_EXT_INSERT,
	STMT_EXT_UPDATE,
	STMT_EXT_DELETE,
	STMT_EXT_LIST,
	STMT_CONTACT_PUT,
	STMT_CONTACT_DEL,
	STMT_CONTACT_DEL_AOR,
	STMT_CONTACT_LIST,
	STMT_CDR_ADD,
	STMT_CDR_UPDATE,
	STMT_CDR_LIST,
	STMT_CDR_QUALITY,
	STMT_SETTING_GET,
	STMT_SETTING_PUT,
	STMT_COUNT
};

struct sqlite3_stmt;
struct sqlite3;

enum { EXT_CACHE_BUCKETS = 1024 };

int  store_open(struct store **stp, const char *path);
struct store_ckpt;
int  store_ckpt_alloc(struct store_ckpt **ckp, struct sqlite3 *main,
		      const char *path);
struct hash *store_ext_cache(struct store *st);
struct store_batch;
typedef void (store_commit_h)(int err, void *arg);
int  store_batch_alloc(struct store_batch **bp, struct store *st);
struct store_batch *store_batch_get(struct store *st);
int  store_batch_join(struct store *st);
int  store_batch_wait(struct store *st, store_commit_h *h, void *arg);
int  store_batch_commit(struct store *st);
int  store_batch_part(struct store *st);
int  store_batch_part_end(struct store *st, bool ok);
struct sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id);
int  store_step(struct store *st, struct sqlite3_stmt *stmt, bool *row);
int  store_write(struct store *st, struct sqlite3_stmt *stmt);
int  store_exec(struct store *st, enum store_stmt id);
int  store_migrate(struct sqlite3 *db, const char *path);
int  store_db_version(struct sqlite3 *db);
int  store_errcode(struct store *st, int rc, const char *what);
void store_text(char *dst, size_t sz, struct sqlite3_stmt *stmt, int col);
int  store_schema_version(struct store *st);
int  store_ext_get(struct store *st, const char *number, struct ext *ext);
int  store_ext_put(struct store *st, const struct ext *ext, bool create);
int  store_ext_del(struct store *st, const char *number);
int  store_ext_list(struct store *st, store_ext_h *h, void *arg);
int  store_contact_put(struct store *st, const struct contact_rec *rec);
int  store_contact_del(struct store *st, const char *aor, const char *uri);
int  store_contact_del_aor(struct store *st, const char *aor);
int  store_contact_list(struct store *st, store_contact_h *h, void *arg);
int  store_cdr_add(struct store *st, struct cdr *cdr);
int  store_cdr_update(struct store *st, const struct cdr *cdr);
void quality_from_reply(struct cdr_quality qv[2], const struct odict *reply);
int  quality_print(struct re_printf *pf, const struct cdr_quality *q);
int  store_cdr_quality(struct store *st, int64_t id,
		       const struct cdr_quality *caller,
		       const struct cdr_quality *callee);
int  store_cdr_list(struct store *st, uint32_t limit, int64_t before_id,
		    store_cdr_h *h, void *arg);
int  store_setting_get(struct store *st, const char *key, char *val,
		       size_t sz);
int  store_setting_put(struct store *st, const char *key, const char *val);


/* ---- digest (digest.c): RFC 2617/7616/8760 arithmetic ---- */

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
};

enum { DIGEST_HEX_MAX = 65 };

const char *digest_alg_name(enum digest_alg alg);
int  digest_alg_decode(enum digest_alg *algp, const struct pl *name);
int  digest_ha1(char *hex, size_t sz, enum digest_alg alg,
		const char *user, const char *realm, const char *password);
int  digest_response(char *hex, size_t sz, enum digest_alg alg,
		     const char *ha1, const struct pl *nonce,
		     const struct pl *nc, const struct pl *cnonce,
		     const struct pl *qop, const struct pl *method,
		     const struct pl *uri);
bool digest_equal(const char *a, const struct pl *b);


/* ---- nonces (nonce.c) ---- */

struct nonces;

/** What a nonce check found */
enum nonce_state {
	NONCE_OK = 0,     /**< Fresh, and nc advances           */
	NONCE_STALE,      /**< Expired, or not one of ours      */
	NONCE_REPLAY,     /**< nc not above the last one seen   */
};

int  nonces_alloc(struct nonces **np, uint32_t lifetime_s, uint32_t max);
int  nonce_make(struct nonces *n, char *buf, size_t sz);
enum nonce_state nonce_check(struct nonces *n, const struct pl *nonce,
			     const struct pl *nc);


/* ---- auth (auth.c): digest challenges for SIP requests ---- */

/** Outcome of authenticating a request */
enum auth_result {
	AUTH_OK = 0,      /**< Credentials valid; ext is filled  */
	AUTH_CHALLENGE,   /**< Replied 401/407; stop             */
	AUTH_FAILED,      /**< Replied 403; stop                 */
};

int  auth_init(struct store *st, const struct sb_conf *cfg);
void auth_close(void);
enum auth_result auth_request(struct sip *sip, const struct sip_msg *msg,
			      bool proxy, struct ext *ext);


/* ---- SIP stack (sip.c, sipcheck.c, transport.c) ---- */

int  transport_init(struct sip *sip, const struct sb_conf *cfg);
int  sipcheck_init(struct sip *sip);
int  sipcheck_fallback_init(struct sip *sip);
void sipcheck_close(void);
int  sipcheck_request(const struct sip_msg *msg, uint16_t *scode,
		      const char **reason);


/* ---- SIP TCP/TLS connections per source address (tcp_guard.c) ---- */

int  tcp_guard_init(const struct sb_conf *cfg);
void tcp_guard_close(void);


/* ---- registrar and location (registrar.c, location.c) ---- */

int  registrar_init(struct sip *sip, struct store *st,
		    const struct sb_conf *cfg);
void registrar_close(void);

struct contact;

typedef bool (location_h)(const struct contact *c, void *arg);

int  location_init(struct sip *sip, struct store *st,
		   const struct sb_conf *cfg);
void location_close(void);
int  location_bind(const char *aor, const struct sip_msg *msg,
		   const struct sip_addr *addr, uint32_t expires);
int  location_unbind(const char *aor, const struct pl *uri);
int  location_unbind_all(const char *aor);
uint32_t location_count(const char *aor);
uint32_t location_count_all(void);
const struct contact *location_apply(const char *aor, bool reachable_only,
				     location_h *h, void *arg);
int  location_reply_contacts(struct re_printf *pf, const char *aor);
int  contact_debug(struct re_printf *pf, const struct contact *c);
const char *contact_uri(const struct contact *c);
const char *contact_aor(const struct contact *c);
int  contact_route(const struct contact *c, char *buf, size_t sz);
bool contact_reachable(const struct contact *c);
uint32_t contact_expires_in(const struct contact *c);
const struct sa *contact_received(const struct contact *c);
enum sip_transp contact_transp(const struct contact *c);
const char *contact_user_agent(const struct contact *c);


/* ---- router (router.c) ---- */

/** What a dialled string resolves to */
enum route_kind {
	ROUTE_NONE = 0,    /**< Nothing: 404                    */
	ROUTE_EXTENSION,   /**< A local extension               */
	ROUTE_APP,         /**< An app (feature code)           */
};

/** A resolved destination */
struct route {
	enum route_kind kind;          /**< Destination kind              */
	char target[EXT_NUMBER_MAX];   /**< Extension number etc.         */
	const struct app *app;         /**< ROUTE_APP: which              */
};

int  router_init(struct store *st);
int  router_lookup(struct route *rt, const struct pl *dialled);


/* ---- call engine internals (leg.c, dial.c, bridge.c, call.c) ---- */

struct odict;

/** An authenticated INVITE arrived; the handler now owns the leg */
typedef void (leg_incoming_h)(struct leg *leg, void *arg);

int  leg_listen(struct sip *sip, const char *domain, leg_incoming_h *h,
		void *arg);
void leg_unlisten(void);
int  leg_connect(struct leg **legp, struct leg *caller,
		 const struct mbuf *offer, const struct contact *c,
		 leg_event_h *eventh, void *arg);
void leg_hangup_all(void);
uint32_t leg_count(void);

struct leg_media;
struct relay_call;

void leg_set_media(struct leg *leg, struct leg_media *m);
struct leg_media *leg_media(const struct leg *leg);
int  leg_media_bind(struct leg *leg, struct relay_call *rc, const char *rid,
		    const char *name);
void leg_end(struct leg *leg, uint16_t scode, const char *reason);
int64_t leg_answer_time(const struct leg *leg);
void leg_media_event(struct leg *leg, const char *event,
		     const struct odict *msg);
const char *leg_media_rid(const struct leg *leg);

int  callengine_init(struct sip *sip, struct store *st,
		     const struct sb_conf *cfg);
void callengine_close(void);
uint32_t callengine_count(void);
int  callengine_calls_json(struct re_printf *pf);


bool sdp_line_next(struct pl *rest, struct pl *line);
int  sdp_local_answer(struct mbuf **answerp, const struct mbuf *offer);
int  sdp_mirror(struct mbuf **answerp, const struct mbuf *last,
		const struct mbuf *offer, uint64_t *version);


/* ---- sounds (sounds.c) ---- */

int  sound_find(char *path, size_t sz, const char *rel);


/* ---- hold and music on hold (sdp_hold.c, hold.c) ---- */

/** The parties of a call */
enum hold_party {
	HOLD_CALLER = 0,
	HOLD_CALLEE,
};

struct hold;
struct relay_call;

bool sdp_holds(const struct mbuf *offer);
void hold_init(const char *music);
int  hold_alloc(struct hold **hp, struct relay_call *rc, const char *rid,
		const char *name);
void hold_offer(struct hold *h, enum hold_party from,
		const struct mbuf *offer);
bool hold_active(const struct hold *h);
const char *hold_holder(const struct hold *h);


/* ---- relay client: the relays (relay.c), one relay's connection and
 * the calls on it (relay_conn.c), the relay we start (relay_spawn.c) ---- */

struct relay_conn;
struct relay_call;
struct relay_req;
struct odict;

typedef void (relay_resp_h)(int err, const struct odict *reply, void *arg);
typedef void (relay_event_h)(const char *event, const struct odict *msg,
			     void *arg);
typedef void (relay_down_h)(void *arg);

char relay_event_digit(const struct odict *msg);
int  sdp_json(struct re_printf *pf, const struct mbuf *sdp);
struct mbuf *sdp_of_reply(const struct odict *reply);

/** Where the relay plays or records: a leg or a mixer of a call */
struct media_target {
	struct relay_call *rc;         /**< The call's relay              */
	const char *rid;               /**< The call's id                 */
	const char *kind;              /**< "leg" or "mixer"              */
	const char *name;              /**< Its name                      */
};

/** The owner's handler of a media side */
union media_h {
	leg_media_h *leg;              /**< Of a leg                      */
	mixer_media_h *mixer;          /**< Of a mixer                    */
};

/** What plays, or records, on a leg or a mixer (media_side.c) */
struct media_side {
	void *owner;                   /**< The leg or the mixer          */
	bool mixer;                    /**< ... which                     */
	struct relay_req *req;         /**< In flight                     */
	union media_h h;               /**< Told once when it ends        */
	void *arg;                     /**< Its argument                  */
	char *what;                    /**< File or tone, NULL: idle      */
};

int  media_req_simple(const struct media_target *t, struct relay_req **reqp,
		      relay_resp_h *h, void *arg, const char *command);
void media_side_init(struct media_side *s, void *owner, bool mixer);
void media_side_reset(struct media_side *s);
int  media_side_play(struct media_side *s, const struct media_target *t,
		     bool tone, const char *what, bool loop, union media_h h,
		     void *arg);
int  media_side_stop(struct media_side *s, const struct media_target *t);
int  media_side_record(struct media_side *s, const struct media_target *t,
		       const char *file, union media_h h, void *arg);
int  media_side_record_stop(struct media_side *s,
			    const struct media_target *t);
void media_side_played(struct media_side *s, const struct odict *msg);
void media_side_recorded(struct media_side *s, const struct odict *msg);

struct media_answer;
typedef void (media_answer_h)(int err, void *arg);

void media_answer_init(const struct sb_conf *cfg);
int  media_answer(struct media_answer **map, struct relay_call *rc,
		  const char *rid, const char *party, const char *nobody,
		  struct leg *leg, media_answer_h *h, void *arg);

int  relay_init(const struct sb_conf *cfg);
void relay_close(void);
bool relay_ready(void);
int  relay_attach(struct relay_call **rcp, const char *rid,
		  relay_event_h *eventh, relay_down_h *downh, void *arg);
int  relay_status_json(struct re_printf *pf, void *unused);

int  relay_conn_alloc(struct list *connl, const struct sb_relay_addr *addr,
		      bool spawned);
bool relay_conn_ready(const struct relay_conn *conn);
uint32_t relay_conn_calls(const struct relay_conn *conn);
int  relay_conn_json(struct re_printf *pf, const struct relay_conn *conn);
int  relay_conn_attach(struct relay_call **rcp, struct relay_conn *conn,
		       const char *rid, relay_event_h *eventh,
		       relay_down_h *downh, void *arg);
int  relay_request(struct relay_call *rc, struct relay_req **reqp,
		   relay_resp_h *resph, void *arg, const char *fmt, ...);

int  relay_spawn_start(const struct sb_conf *cfg, const char *path);
void relay_spawn_check(void);
void relay_spawn_stop(void);


/* ---- CDRs (cdr.c) ---- */

const char *cdr_disposition(uint16_t scode, bool answered);


/* ---- HTTP API (api*.c) ---- */

int  api_init(struct store *st, const struct sb_conf *cfg);
void api_close(void);


/* ---- timers (timers.c): re's tmr_* on a heap ---- */

size_t timers_count(void);


/* ---- time helpers ---- */

int64_t sb_unixtime(void);
int64_t sb_unixtime_ms(void);

#endif
