/**
 * @file sdp_hold.c  Whether an offer puts the other party on hold
 *
 * A party holds the other by offering its audio sendonly or inactive
 * (RFC 3264 8.4), said in the audio section or, when that says nothing,
 * at session level; phones of the RFC 2543 days set the connection
 * address to 0.0.0.0 instead. Anything else takes the hold off:
 * sendrecv, no direction at all, and recvonly too (a party that only
 * wants to listen holds nobody). The first audio stream that is not
 * refused (port 0) decides; an offer without one holds nobody.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


/** What one part of a description (session or audio) says */
struct part {
	int holds;     /**< Direction: 1 sendonly/inactive, 0 other, -1 none */
	int zero;      /**< c= 0.0.0.0: 1, another address: 0, none: -1      */
};


/* a=<direction> and c= lines; others leave the part as it is */
static void part_read(struct part *part, const struct pl *text)
{
	struct pl addr, l = *text, *line = &l;

	/* "a=sendonly " is sendonly */
	while (l.l && (l.p[l.l - 1] == ' ' || l.p[l.l - 1] == '\t'))
		--l.l;

	if (!pl_strcmp(line, "a=sendonly") || !pl_strcmp(line, "a=inactive"))
		part->holds = 1;
	else if (!pl_strcmp(line, "a=sendrecv") ||
		 !pl_strcmp(line, "a=recvonly"))
		part->holds = 0;
	else if (line->l > 2 && !memcmp(line->p, "c=", 2) &&
		 !re_regex(line->p, line->l, "IN IP[46]1 [^ /]+", NULL, &addr))
		part->zero = !pl_strcmp(&addr, "0.0.0.0");
}


/* "m=audio <port> ..." with a port other than 0 */
static bool audio_line(const struct pl *line)
{
	struct pl media, port;

	if (re_regex(line->p, line->l, "m=[^ ]+ [0-9]+", &media, &port))
		return false;

	return !pl_strcasecmp(&media, "audio") && pl_u32(&port) != 0;
}


/**
 * Whether an offer puts the party it goes to on hold
 *
 * @param offer Session description
 *
 * @return True if it offers its audio sendonly or inactive, or on
 *         connection address 0.0.0.0
 */
bool sdp_holds(const struct mbuf *offer)
{
	struct part session = {-1, -1}, audio = {-1, -1};
	struct pl rest, line;
	bool in_session = true, found = false;

	if (!offer)
		return false;

	rest.p = (const char *)offer->buf;
	rest.l = offer->end;

	while (sdp_line_next(&rest, &line)) {

		if (line.l > 2 && !memcmp(line.p, "m=", 2)) {
			if (found)
				break;
			in_session = false;
			found = audio_line(&line);
			continue;
		}

		if (in_session)
			part_read(&session, &line);
		else if (found)
			part_read(&audio, &line);
	}

	if (!found)
		return false;

	/* the audio section says it, or else the session does */
	if (audio.holds < 0)
		audio.holds = session.holds;
	if (audio.zero < 0)
		audio.zero = session.zero;

	return audio.holds == 1 || audio.zero == 1;
}
