/**
 * @file sdpline.c  SDP text in lines and tokens, without copying
 *
 * The relay edits descriptions line by line (sdptext.c) and reads the
 * audio formats from the same lines (sdpfmt.c); both cut the text with
 * these.
 */
#include <string.h>
#include <re.h>
#include "relay.h"


/**
 * Cut the next line off a text
 *
 * @param rest Text left; advanced past the line and its ending
 * @param ln   The line, and its ending ("\r\n", "\n" or empty)
 *
 * @return False when no text is left
 */
bool sdp_line_next(struct pl *rest, struct sdp_line *ln)
{
	const char *nl;

	if (!rest->l)
		return false;

	nl = pl_strchr(rest, '\n');
	ln->text.p = rest->p;
	ln->text.l = nl ? (size_t)(nl - rest->p) : rest->l;
	ln->eol.p = ln->text.p + ln->text.l;
	ln->eol.l = nl ? 1 : 0;

	if (ln->text.l && ln->text.p[ln->text.l - 1] == '\r') {
		--ln->text.l;
		--ln->eol.p;
		++ln->eol.l;
	}

	pl_advance(rest, ln->text.l + ln->eol.l);

	return true;
}


/**
 * Cut the next space-separated token off a text
 *
 * @param rest Text left; advanced past the token and one space
 * @param tok  The token
 *
 * @return False when there is none
 */
bool sdp_token_next(struct pl *rest, struct pl *tok)
{
	const char *sp;

	if (!rest->l)
		return false;

	sp = pl_strchr(rest, ' ');
	tok->p = rest->p;
	tok->l = sp ? (size_t)(sp - rest->p) : rest->l;
	pl_advance(rest, sp ? tok->l + 1 : tok->l);

	return tok->l > 0;
}


/**
 * Does a line start with a prefix?
 *
 * @param pl     Line
 * @param prefix Prefix, e.g. "a=rtpmap:"
 * @param val    What follows the prefix, if it does
 *
 * @return True if it does
 */
bool sdp_prefix(const struct pl *pl, const char *prefix, struct pl *val)
{
	size_t n = strlen(prefix);

	if (pl->l < n || memcmp(pl->p, prefix, n))
		return false;

	val->p = pl->p + n;
	val->l = pl->l - n;

	return true;
}


/**
 * Read a decimal number with a bound, digits only
 *
 * @param v   Result
 * @param pl  Text
 * @param max Largest value accepted
 *
 * @return 0 if success, EINVAL if not a number or above max
 */
int sdp_num(uint32_t *v, const struct pl *pl, uint32_t max)
{
	uint64_t n = 0;
	size_t i;

	if (!pl->l || pl->l > 10)
		return EINVAL;

	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
		n = n * 10 + (uint64_t)(pl->p[i] - '0');
	}

	if (n > max)
		return EINVAL;

	*v = (uint32_t)n;

	return 0;
}
