/**
 * @file fuzz_relay_sdp.c  libFuzzer target: sbrelay's SDP reader/rewriter
 *
 * Each input is a session description as the core hands it on in an
 * offer or answer. It goes through sdptext_parse, then sdptext_rewrite
 * twice (an IPv4 relay and an IPv6 relay, fixed addresses, RTCP port =
 * RTP port + 1), and what must hold is checked; a broken rule aborts:
 *
 *  - parse and rewrite accept exactly the same inputs (one walk);
 *  - a parse that succeeds names an IPv4 or IPv6 address, and with port
 *    0 (a rejected stream) the same RTCP as RTP;
 *  - the output has the same lines and line endings as the input, and
 *    only m=, c= and a=rtcp: lines may differ;
 *  - the output parses again, names the relay's address, the relay's
 *    RTP port (0 stays 0) and, for a live stream, the relay's RTCP;
 *  - rewriting the output again changes nothing.
 *
 * Build with configure --enable-fuzz CC=clang; seeds are in
 * test/fuzz/corpus/relay-sdp.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "../../media/relay.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


enum {
	RELAY_RTP  = 30000,
	RELAY_RTCP = 30001,
};

/** A relay address to rewrite with */
struct relay {
	struct sa rtp;
	struct sa rtcp;
};

static struct relay relayv[2];


#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } \
	while (0)


static void check_failed(const char *what, int line)
{
	(void)re_fprintf(stderr, "fuzz_relay_sdp.c:%d: invariant broken: %s\n",
			 line, what);
	abort();
}


/**
 * Set up libre and the relay addresses once for the whole run
 *
 * @param argc Argument count (unused)
 * @param argv Arguments (unused)
 *
 * @return 0 if success
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *addrv[2] = {"203.0.113.7", "2001:db8::7"};
	size_t i;
	int err;
	(void)argc;
	(void)argv;

	err = libre_init();
	if (err)
		return err;

	for (i = 0; i < 2; i++) {
		err  = sa_set_str(&relayv[i].rtp, addrv[i], RELAY_RTP);
		err |= sa_set_str(&relayv[i].rtcp, addrv[i], RELAY_RTCP);
		if (err)
			abort();
	}

	return 0;
}


/* the same split as sdptext.c: text, then "\r\n", "\n", "\r" or "" */
static bool next_line(struct pl *rest, struct pl *text, struct pl *eol)
{
	const char *nl;

	if (!rest->l)
		return false;

	nl = memchr(rest->p, '\n', rest->l);
	text->p = rest->p;
	text->l = nl ? (size_t)(nl - rest->p) : rest->l;
	eol->p = text->p + text->l;
	eol->l = nl ? 1 : 0;

	if (text->l && text->p[text->l - 1] == '\r') {
		--text->l;
		--eol->p;
		++eol->l;
	}

	rest->p += text->l + eol->l;
	rest->l -= text->l + eol->l;

	return true;
}


static bool starts(const struct pl *pl, const char *prefix)
{
	size_t n = strlen(prefix);

	return pl->l >= n && !memcmp(pl->p, prefix, n);
}


static bool pl_same(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (!a->l || !memcmp(a->p, b->p, a->l));
}


/* every line is kept, with its ending; only the rewritable may change */
static void check_lines(const uint8_t *in, size_t inlen,
			const struct mbuf *out)
{
	struct pl a = {(const char *)in, inlen};
	struct pl b = {(const char *)out->buf, out->end};
	struct pl at, ae, bt, be;

	for (;;) {
		bool more_a = next_line(&a, &at, &ae);
		bool more_b = next_line(&b, &bt, &be);

		CHECK(more_a == more_b);
		if (!more_a)
			break;

		CHECK(pl_same(&ae, &be));

		if (pl_same(&at, &bt))
			continue;

		CHECK(starts(&at, "m=") || starts(&at, "c=") ||
		      starts(&at, "a=rtcp:"));
		CHECK(starts(&bt, "m=audio ") || starts(&bt, "c=IN IP") ||
		      starts(&bt, "a=rtcp:"));
	}
}


static void check_rewrite(const uint8_t *data, size_t size,
			  const struct sdptext *in, const struct relay *r)
{
	struct mbuf *mb = NULL, *mb2 = NULL;
	struct sdptext out;
	int err;

	mb = mbuf_alloc(size + 64);
	mb2 = mbuf_alloc(size + 64);
	if (!mb || !mb2)
		goto out;

	err = sdptext_rewrite(mb, (const char *)data, size, &r->rtp,
			      &r->rtcp, NULL);
	if (err == ENOMEM)
		goto out;

	/* one walk: rewrite accepts what parse accepts */
	CHECK((in != NULL) == (err == 0));
	if (err)
		goto out;

	check_lines(data, size, mb);

	/* what the relay sends on must be readable, and name the relay */
	err = sdptext_parse(&out, (const char *)mb->buf, mb->end);
	CHECK(err == 0);
	CHECK(sa_cmp(&out.rtp, &r->rtp, SA_ADDR));

	if (sa_port(&in->rtp)) {
		CHECK(sa_port(&out.rtp) == RELAY_RTP);
		CHECK(sa_cmp(&out.rtcp, &r->rtcp, SA_ALL));
	}
	else {
		CHECK(sa_port(&out.rtp) == 0);
	}

	/* the rewrite is a fixed point */
	err = sdptext_rewrite(mb2, (const char *)mb->buf, mb->end, &r->rtp,
			      &r->rtcp, NULL);
	if (err == ENOMEM)
		goto out;
	CHECK(err == 0);
	CHECK(mb2->end == mb->end && !memcmp(mb2->buf, mb->buf, mb->end));

 out:
	mem_deref(mb2);
	mem_deref(mb);
}


/**
 * Read, rewrite, re-read and rewrite again one session description
 *
 * @param data Input bytes
 * @param size Number of bytes
 *
 * @return 0 (libFuzzer wants nothing else)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdptext st;
	bool ok;
	size_t i;

	/* sdptext_parse refuses a NULL text; libFuzzer may pass one */
	if (!data)
		data = (const uint8_t *)"";

	memset(&st, 0, sizeof(st));
	ok = sdptext_parse(&st, (const char *)data, size) == 0;

	if (ok) {
		CHECK(sa_af(&st.rtp) == AF_INET || sa_af(&st.rtp) == AF_INET6);
		CHECK(sa_af(&st.rtcp) == AF_INET ||
		      sa_af(&st.rtcp) == AF_INET6);
		if (!sa_port(&st.rtp))
			CHECK(sa_cmp(&st.rtcp, &st.rtp, SA_ALL));
	}

	for (i = 0; i < ARRAY_SIZE(relayv); i++)
		check_rewrite(data, size, ok ? &st : NULL, &relayv[i]);

	return 0;
}
