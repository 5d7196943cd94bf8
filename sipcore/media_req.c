/**
 * @file media_req.c  The relay requests of prompts, tones and
 *                    recordings, for a leg or a mixer alike
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/**
 * Ask the relay to play a file or a tone
 *
 * @param t    Where: a leg or a mixer
 * @param reqp The request (mem_deref drops its reply)
 * @param h    Reply handler
 * @param arg  Its argument
 * @param tone True: what is a tone's name, else a file
 * @param what The file or the tone
 * @param loop A file starts again at its end
 *
 * @return 0 if sent, otherwise errorcode
 */
int media_req_play(const struct media_target *t, struct relay_req **reqp,
		   relay_resp_h *h, void *arg, bool tone, const char *what,
		   bool loop)
{
	if (tone)
		return relay_request(t->rc, reqp, h, arg,
				     "\"command\":\"tone\",\"call\":\"%s\","
				     "\"%s\":\"%s\",\"tone\":\"%H\"", t->rid,
				     t->kind, t->name, utf8_encode, what);

	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"play\",\"call\":\"%s\","
			     "\"%s\":\"%s\",\"file\":\"%H\",\"loop\":%s",
			     t->rid, t->kind, t->name, utf8_encode, what,
			     loop ? "true" : "false");
}


/**
 * Ask the relay for a command with no more than its target: stop,
 * record_stop, delete (of a leg pair)
 *
 * @param t       Where: a leg or a mixer
 * @param reqp    The request, or NULL (then it lives until its reply)
 * @param h       Reply handler, or NULL
 * @param arg     Its argument
 * @param command The command
 *
 * @return 0 if sent, otherwise errorcode
 */
int media_req_simple(const struct media_target *t, struct relay_req **reqp,
		     relay_resp_h *h, void *arg, const char *command)
{
	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"%s\",\"call\":\"%s\","
			     "\"%s\":\"%s\"", command, t->rid, t->kind,
			     t->name);
}


/**
 * Ask the relay to record to a file
 *
 * @param t    Where: a leg or a mixer
 * @param reqp The request (mem_deref drops its reply)
 * @param h    Reply handler
 * @param arg  Its argument
 * @param file The WAV file to make
 *
 * @return 0 if sent, otherwise errorcode
 */
int media_req_record(const struct media_target *t, struct relay_req **reqp,
		     relay_resp_h *h, void *arg, const char *file)
{
	return relay_request(t->rc, reqp, h, arg,
			     "\"command\":\"record\",\"call\":\"%s\","
			     "\"%s\":\"%s\",\"file\":\"%H\"", t->rid, t->kind,
			     t->name, utf8_encode, file);
}


/**
 * Does a played event end what plays? A new play may cross the event
 * of the one it replaced: it must name the file or tone playing now.
 *
 * @param msg  The event
 * @param what The file or tone that plays, NULL if none
 *
 * @return True if it ended
 */
bool media_played(const struct odict *msg, const char *what)
{
	const char *ended = odict_string(msg, "file");

	if (!ended)
		ended = odict_string(msg, "tone");

	return what && !str_cmp(ended, what);
}


/**
 * The length a recorded event or record_stop reply gives
 *
 * @param msg The event or reply
 * @param ms  Its length out
 *
 * @return 0 if the file is there, EIO if it could not be written,
 *         EPROTO if the length is missing
 */
int media_recorded(const struct odict *msg, uint32_t *ms)
{
	uint64_t n = 0;

	*ms = 0;
	if (odict_string(msg, "error"))
		return EIO;

	if (!odict_get_number(msg, &n, "duration_ms"))
		return EPROTO;

	*ms = (uint32_t)n;

	return 0;
}
