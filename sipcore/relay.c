/**
 * @file relay.c  The relays the core uses, and which one a call gets
 *
 * By default one relay: sbrelay, started (and restarted) by us on a
 * UNIX socket. relay_spawn 0 without relay_connect uses one started by
 * hand on relay_socket; each relay_connect line adds a relay started by
 * hand, on this host or another. A call takes the ready relay with the
 * fewest of our calls (equals take turns) when it first needs media,
 * and keeps it to the end (relay_conn.c).
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"

#define DEBUG_MODULE "relay"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


static struct {
	struct list connl;       /**< struct relay_conn, config order  */
	struct le *last;         /**< Picked last: equals go on from it */
	bool spawned;            /**< We started a relay               */
} relays;


/* ours, or the one started by hand on relay_socket */
static int local_add(const struct sb_conf *cfg)
{
	struct sb_relay_addr addr;
	int n;

	memset(&addr, 0, sizeof(addr));
	if (str_isset(cfg->relay_socket))
		n = re_snprintf(addr.path, sizeof(addr.path), "%s",
				cfg->relay_socket);
	else
		n = re_snprintf(addr.path, sizeof(addr.path),
				"%s.relay.sock", cfg->store_path);

	if (n < 0 || (size_t)n >= sizeof(addr.path) - 1) {
		DEBUG_WARNING("relay socket path longer than %zu bytes"
			      " (set relay_socket)\n", sizeof(addr.path) - 1);
		return ENAMETOOLONG;
	}

	if (cfg->relay_spawn) {
		int err = relay_spawn_start(cfg, addr.path);

		if (err)
			return err;
		relays.spawned = true;
	}

	return relay_conn_alloc(&relays.connl, &addr, cfg->relay_spawn);
}


/**
 * Start the relay clients (and our relay, unless configured otherwise)
 *
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_init(const struct sb_conf *cfg)
{
	size_t i;
	int err = 0;

	if (!cfg)
		return EINVAL;

	list_init(&relays.connl);
	relays.last = NULL;
	relays.spawned = false;

	if (cfg->relay_spawn || !cfg->relay_connect.addrc)
		err = local_add(cfg);

	for (i = 0; !err && i < cfg->relay_connect.addrc; i++)
		err = relay_conn_alloc(&relays.connl,
				       &cfg->relay_connect.addrv[i], false);

	if (err)
		relay_close();

	return err;
}


/**
 * Stop the relay clients, and our relay if we started it; calls still
 * attached are not told (their owner ends them)
 */
void relay_close(void)
{
	struct le *le;

	/* one at a time: the list stays whole for what their request
	 * handlers do */
	while ((le = list_head(&relays.connl)))
		mem_deref(le->data);
	relays.last = NULL;

	if (relays.spawned)
		relay_spawn_stop();
	relays.spawned = false;
}


/** @return True when at least one relay takes calls */
bool relay_ready(void)
{
	struct le *le;

	for (le = list_head(&relays.connl); le; le = le->next) {
		if (relay_conn_ready(le->data))
			return true;
	}

	return false;
}


/**
 * Attach a call to the ready relay with the fewest of our calls; among
 * equals, the one after the relay picked last
 *
 * @param rcp    The call's place on the relay; mem_deref to leave
 * @param rid    The call's id at the relay
 * @param eventh Handler of the call's events
 * @param downh  Called once if that relay is lost
 * @param arg    Handler argument
 *
 * @return 0 if success, ENOTCONN if no relay is ready, otherwise
 *         errorcode
 */
int relay_attach(struct relay_call **rcp, const char *rid,
		 relay_event_h *eventh, relay_down_h *downh, void *arg)
{
	struct le *le, *best = NULL;
	uint32_t best_calls = 0;
	uint32_t i, n = list_count(&relays.connl);

	if (!rcp || !rid)
		return EINVAL;

	le = relays.last && relays.last->next ? relays.last->next :
		list_head(&relays.connl);

	for (i = 0; i < n; i++) {
		uint32_t calls;

		if (relay_conn_ready(le->data)) {
			calls = relay_conn_calls(le->data);
			if (!best || calls < best_calls) {
				best = le;
				best_calls = calls;
			}
		}

		le = le->next ? le->next : list_head(&relays.connl);
	}

	if (!best)
		return ENOTCONN;

	relays.last = best;

	return relay_conn_attach(rcp, best->data, rid, eventh, downh, arg);
}


/**
 * Print every relay's address, state and calls as a JSON array
 *
 * @param pf     Print function
 * @param unused Unused (a %H handler)
 *
 * @return 0 if success, otherwise errorcode
 */
int relay_status_json(struct re_printf *pf, void *unused)
{
	struct le *le;
	int err = re_hprintf(pf, "[");
	(void)unused;

	for (le = list_head(&relays.connl); le; le = le->next) {
		if (le != list_head(&relays.connl))
			err |= re_hprintf(pf, ",");
		err |= relay_conn_json(pf, le->data);
	}

	return err | re_hprintf(pf, "]");
}


/**
 * Print SDP as a JSON string's contents (a %H handler)
 *
 * @param pf  Print function
 * @param sdp The SDP, or NULL for none
 *
 * @return 0 if success, otherwise errorcode
 */
int sdp_json(struct re_printf *pf, const struct mbuf *sdp)
{
	char *str;
	int err;

	if (!sdp)
		return 0;

	str = mem_alloc(sdp->end + 1, NULL);
	if (!str)
		return ENOMEM;

	memcpy(str, sdp->buf, sdp->end);
	str[sdp->end] = '\0';
	err = utf8_encode(pf, str);
	mem_deref(str);

	return err;
}


/**
 * The SDP of a relay's reply
 *
 * @param reply The reply
 *
 * @return Its "sdp", NULL if none (or out of memory)
 */
struct mbuf *sdp_of_reply(const struct odict *reply)
{
	const char *str = odict_string(reply, "sdp");
	struct mbuf *mb;

	if (!str)
		return NULL;

	mb = mbuf_alloc(str_len(str));
	if (mb) {
		(void)mbuf_write_str(mb, str);
		mb->pos = 0;
	}

	return mb;
}


/**
 * The key of a relay's dtmf event
 *
 * @param msg The event
 *
 * @return '0'-'9', '*', '#', 'A'-'D', or 0 if it names none
 */
char relay_event_digit(const struct odict *msg)
{
	const char *digit = odict_string(msg, "digit");

	if (!digit || strlen(digit) != 1 || !digit[0] ||
	    !strchr("0123456789*#ABCD", digit[0]))
		return 0;

	return digit[0];
}
