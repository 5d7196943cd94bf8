/**
 * @file sdp_mirror.c  An answer made from a description we already have
 *
 * The bridge answers a re-INVITE at once (sipsess answers offers
 * synchronously) with the other side's last description. That one must
 * still answer the offer's direction (RFC 3264 6.1: sendonly is answered
 * recvonly, and so on) and carry a new o= version when it changes.
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"


static const char *dirv[] = {"sendrecv", "sendonly", "recvonly",
			     "inactive"};


static int dir_of(const struct pl *line)
{
	size_t i;

	if (line->l < 3 || line->p[0] != 'a' || line->p[1] != '=')
		return -1;

	for (i = 0; i < ARRAY_SIZE(dirv); i++) {
		if (line->l == 2 + strlen(dirv[i]) &&
		    !memcmp(line->p + 2, dirv[i], line->l - 2))
			return (int)i;
	}

	return -1;
}


/**
 * Take the next line of a session description
 *
 * @param rest What is left of the description; advanced past the line
 * @param line The line, without its line end
 *
 * @return false at the end
 */
bool sdp_line_next(struct pl *rest, struct pl *line)
{
	const char *nl;

	if (!rest->l)
		return false;

	nl = pl_strchr(rest, '\n');
	line->p = rest->p;
	line->l = nl ? (size_t)(nl - rest->p) : rest->l;
	pl_advance(rest, nl ? line->l + 1 : line->l);

	if (line->l && line->p[line->l - 1] == '\r')
		--line->l;

	return true;
}


static int offer_dir(const struct mbuf *offer)
{
	struct pl rest, line;

	rest.p = (const char *)offer->buf;
	rest.l = offer->end;

	while (sdp_line_next(&rest, &line)) {
		int d = dir_of(&line);

		if (d >= 0)
			return d;
	}

	return 0;
}


static int print_dir(struct mbuf *mb, int dir)
{
	/* sendrecv <-> sendrecv, sendonly <-> recvonly, inactive stays */
	static const int mirror[] = {0, 2, 1, 3};

	return mbuf_printf(mb, "a=%s\r\n", dirv[mirror[dir]]);
}


/**
 * Answer an offer with a known description, its direction mirrored
 *
 * @param answerp Pointer to the answer made
 * @param last    The description to answer with
 * @param offer   The offer
 * @param version o= version to use; raised so it always grows
 *
 * @return 0 if success, otherwise errorcode
 */
int sdp_mirror(struct mbuf **answerp, const struct mbuf *last,
	       const struct mbuf *offer, uint64_t *version)
{
	struct pl rest, line, user, id, ver, tail;
	struct mbuf *mb;
	bool media = false;
	int dir, err = 0;

	if (!answerp || !last || !offer || !version)
		return EINVAL;

	dir = offer_dir(offer);

	mb = mbuf_alloc(last->end + 32);
	if (!mb)
		return ENOMEM;

	rest.p = (const char *)last->buf;
	rest.l = last->end;

	while (!err && sdp_line_next(&rest, &line)) {

		if (!line.l || dir_of(&line) >= 0)
			continue;

		if (!re_regex(line.p, line.l, "o=[^ ]+ [^ ]+ [0-9]+ [^]+",
			      &user, &id, &ver, &tail)) {
			*version = max(*version, pl_u64(&ver)) + 1;
			err = mbuf_printf(mb, "o=%r %r %llu %r\r\n", &user, &id,
					  (unsigned long long)*version, &tail);
			continue;
		}

		/* a media section ends where the next one starts */
		if (line.l > 2 && !memcmp(line.p, "m=", 2)) {
			if (media)
				err |= print_dir(mb, dir);
			media = true;
		}

		err |= mbuf_printf(mb, "%r\r\n", &line);
	}

	if (media)
		err |= print_dir(mb, dir);

	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->pos = 0;
	*answerp = mb;

	return 0;
}
