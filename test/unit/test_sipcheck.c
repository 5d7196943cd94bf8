/**
 * @file test_sipcheck.c  Request checks against the RFC 4475 torture tests
 *
 * Each RFC 4475 message goes through libre's sip_msg_decode, then, if it
 * is a request, through sipcheck_request. The table says what we expect
 * of each, following ../shared/sip-torture/rfc4475/MANIFEST.tsv. Where we
 * differ from MANIFEST:
 *
 * - NODEC: libre 1.1.0 drops the message before any handler (no reply).
 *   badinv01, inv2543, longreq, ltgtruri: top Via without branch (the
 *   RFC wants 400 for badinv01 and acceptance for inv2543 and longreq);
 *   badvers: "SIP/7.0" is read as a response (RFC: 505); lwsruri,
 *   lwsstart, trws: the start line does not split in three (RFC: 400 or
 *   liberal acceptance); unksm2: an http: From does not decode (RFC:
 *   4xx from the registrar); baddn: resiprocate's copy ends without the
 *   empty line, so the header block is incomplete (the php-sip copy,
 *   which has it, gets 400).
 * - PASS then the handlers decide: intmeth, esc02 (unknown methods: 501
 *   from the fallback listener), mpart01 (MESSAGE: 501, we do no
 *   MESSAGE), regaut01, regbadct, regescrt, cparam01/02, escnull (the
 *   registrar's), zeromf (OPTIONS with Max-Forwards 0 is for us: 200),
 *   badaspec (spaces inside <>: liberal acceptance, as the RFC allows),
 *   baddate (Date is ignored).
 * - mismatch02: 400 (the RFC prefers 501, accepts 400).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


enum {
	NODEC = -1,     /* sip_msg_decode fails: no handler sees it */
	RESP  = -2,     /* a response: not ours to check            */
	PASS  = 0,      /* a request that passes                    */
	FILE_MAX = 70000,
};

static const struct {
	const char *file;
	int exp;         /* NODEC, RESP, PASS or the status code */
} torturev[] = {
	{"rfc4475/wsinv.dat",      PASS},
	{"rfc4475/intmeth.dat",    PASS},
	{"rfc4475/esc01.dat",      PASS},
	{"rfc4475/escnull.dat",    PASS},
	{"rfc4475/esc02.dat",      PASS},
	{"rfc4475/lwsdisp.dat",    PASS},
	{"rfc4475/longreq.dat",    NODEC},
	{"rfc4475/dblreq.dat",     PASS},
	{"rfc4475/semiuri.dat",    PASS},
	{"rfc4475/transports.dat", PASS},
	{"rfc4475/mpart01.dat",    PASS},
	{"rfc4475/unreason.dat",   RESP},
	{"rfc4475/noreason.dat",   RESP},
	{"rfc4475/badinv01.dat",   NODEC},
	{"rfc4475/clerr.dat",      400},
	{"rfc4475/ncl.dat",        400},
	{"rfc4475/scalar02.dat",   400},
	{"rfc4475/scalarlg.dat",   RESP},
	{"rfc4475/quotbal.dat",    400},
	{"rfc4475/ltgtruri.dat",   NODEC},
	{"rfc4475/lwsruri.dat",    NODEC},
	{"rfc4475/lwsstart.dat",   NODEC},
	{"rfc4475/trws.dat",       NODEC},
	{"rfc4475/escruri.dat",    400},
	{"rfc4475/baddate.dat",    PASS},
	{"rfc4475/regbadct.dat",   PASS},
	{"rfc4475/badaspec.dat",   PASS},
	{"rfc4475/baddn.dat",      NODEC},
	{"variants/baddn.php-sip.dat", 400},
	{"rfc4475/badvers.dat",    NODEC},
	{"rfc4475/mismatch01.dat", 400},
	{"rfc4475/mismatch02.dat", 400},
	{"rfc4475/bigcode.dat",    RESP},
	{"rfc4475/badbranch.dat",  400},
	{"rfc4475/insuf.dat",      400},
	{"rfc4475/unkscm.dat",     416},
	{"rfc4475/novelsc.dat",    416},
	{"rfc4475/unksm2.dat",     NODEC},
	{"rfc4475/bext01.dat",     420},
	{"rfc4475/invut.dat",      415},
	{"rfc4475/regaut01.dat",   PASS},
	{"rfc4475/multi01.dat",    400},
	{"rfc4475/mcl01.dat",      400},
	{"rfc4475/bcast.dat",      RESP},
	{"rfc4475/zeromf.dat",     PASS},
	{"rfc4475/cparam01.dat",   PASS},
	{"rfc4475/cparam02.dat",   PASS},
	{"rfc4475/regescrt.dat",   PASS},
	{"rfc4475/sdp01.dat",      406},
	{"rfc4475/inv2543.dat",    NODEC},
};


/* Decode buf and check it: NODEC, RESP, PASS or the status code */
static int check_buf(int *res, const char *reason_exp, const uint8_t *buf,
		     size_t len)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	mb = mbuf_alloc(len ? len : 1);
	if (!mb)
		return ENOMEM;

	err = mbuf_write_mem(mb, buf, len);
	if (err)
		goto out;

	mb->pos = 0;

	if (sip_msg_decode(&msg, mb)) {
		*res = NODEC;
		goto out;
	}

	if (!msg->req) {
		*res = RESP;
		TEST_EQUALS(EINVAL, sipcheck_request(msg, &scode, &reason));
		goto out;
	}

	err = sipcheck_request(msg, &scode, &reason);
	if (!err) {
		*res = PASS;
		goto out;
	}

	TEST_ASSERT(err == EBADMSG || err == EPROTO);
	TEST_ASSERT(scode >= 400 && scode <= 599 && reason != NULL);
	if (reason_exp)
		TEST_STRCMP(reason_exp, reason);

	*res = scode;
	err = 0;

 out:
	mem_deref(msg);
	mem_deref(mb);

	return err;
}


static int read_file(uint8_t *buf, size_t sz, size_t *lenp,
		     const char *path)
{
	FILE *f;

	f = fopen(path, "rb");
	if (!f) {
		(void)re_fprintf(stderr, "%s: %m\n", path, errno);
		return errno;
	}

	*lenp = fread(buf, 1, sz, f);
	(void)fclose(f);

	return *lenp < sz ? 0 : EFBIG;
}


static int test_torture(void)
{
	const char *top = getenv("top_srcdir");
	char path[512];
	uint8_t *buf;
	size_t i, len = 0;
	int err = 0;

	buf = mem_alloc(FILE_MAX, NULL);
	if (!buf)
		return ENOMEM;

	if (!top)
		top = ".";

	for (i = 0; i < ARRAY_SIZE(torturev); i++) {
		int res = 0;

		if (re_snprintf(path, sizeof(path),
				"%s/../shared/sip-torture/%s",
				top, torturev[i].file) < 0) {
			err = ENAMETOOLONG;
			goto out;
		}

		TEST_CHECK(read_file(buf, FILE_MAX, &len, path));
		TEST_CHECK(check_buf(&res, NULL, buf, len));

		if (res != torturev[i].exp) {
			(void)re_fprintf(stderr, "%s: expected %d, got %d\n",
					 torturev[i].file, torturev[i].exp,
					 res);
			err = EINVAL;
		}
	}

 out:
	mem_deref(buf);

	return err;
}


#define HDRS(met, extra)						\
	met " sip:1001@example.com SIP/2.0\r\n"				\
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"		\
	"From: <sip:1002@example.com>;tag=1\r\n"			\
	"Call-ID: a84b4c76e66710\r\n"					\
	extra								\
	"\r\n"

#define REQ(met, extra)							\
	HDRS(met, "To: <sip:1001@example.com>\r\n"			\
	     "CSeq: 1 " met "\r\n" extra)


/* What the RFC 4475 messages leave out */
static int test_synthetic(void)
{
	static const struct {
		const char *msg;
		int exp;
		const char *reason;
	} testv[] = {
		{REQ("INVITE", "Max-Forwards: 70\r\n"), PASS, NULL},
		{REQ("INVITE", ""), PASS, NULL},
		{REQ("INVITE", "Max-Forwards: 255\r\n"), PASS, NULL},
		{REQ("INVITE", "Max-Forwards: 256\r\n"), 400,
		 "Malformed Max-Forwards"},
		{REQ("INVITE", "Max-Forwards: 4294967366\r\n"), 400, NULL},
		{REQ("INVITE", "Max-Forwards: 7x\r\n"), 400, NULL},
		{REQ("INVITE", "Max-Forwards: -1\r\n"), 400, NULL},
		{REQ("INVITE", "Max-Forwards:\r\n"), 400, NULL},
		{REQ("INVITE", "Max-Forwards: 1\r\nMax-Forwards: 1\r\n"),
		 400, "Multiple Max-Forwards"},
		{REQ("INVITE", "Max-Forwards: 0\r\n"), 483, "Too Many Hops"},
		{REQ("REGISTER", "Max-Forwards: 0\r\n"), 483, NULL},
		{REQ("OPTIONS", "Max-Forwards: 0\r\n"), PASS, NULL},
		{REQ("ACK", "Max-Forwards: 0\r\n"), PASS, NULL},
		{REQ("CANCEL", "Max-Forwards: 0\r\n"), PASS, NULL},
		{HDRS("BYE", "To: <sip:1001@example.com>;tag=9\r\n"
		      "CSeq: 2 BYE\r\nMax-Forwards: 0\r\n"), PASS, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: 2147483647 INVITE\r\n"), PASS, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: 2147483648 INVITE\r\n"), 400, "Malformed CSeq"},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: 4294967297 INVITE\r\n"), 400, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: x1 INVITE\r\n"), 400, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: x 1 INVITE\r\n"), 400, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE x\r\n"), 400, NULL},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "CSeq: 1 invite\r\n"), 400, "CSeq method mismatch"},
		{HDRS("INVITE", "CSeq: 1 INVITE\r\n"), 400, "Missing To"},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"), 400,
		 "Missing CSeq"},
		{"INVITE sip:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 400, "Missing Call-ID"},
		{"INVITE sip:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 400, "Missing From"},
		{"INVITE sip:1001@example.com SIP/2.0\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 400, "Missing Via"},
		{REQ("INVITE", "Call-ID: b\r\n"), 400, "Multiple Call-ID"},
		{HDRS("INVITE", "To: <sip:1001@example.com>\r\n"
		      "To: <sip:1001@example.com>\r\nCSeq: 1 INVITE\r\n"),
		 400, "Multiple To"},
		{REQ("INVITE", "Content-Length: 0\r\n"), PASS, NULL},
		{REQ("INVITE", "Content-Length: 00\r\n"), PASS, NULL},
		{REQ("INVITE", "Content-Length: 1\r\n"), 400,
		 "Content-Length Too Large"},
		{REQ("INVITE", "Content-Length: 4294967296\r\n"), 400,
		 "Malformed Content-Length"},
		{REQ("INVITE", "Content-Length: 0x0\r\n"), 400, NULL},
		{REQ("INVITE", "Content-Length: 0\r\nl: 0\r\n"), 400,
		 "Multiple Content-Length"},
		{REQ("INVITE", "Content-Type: application/sdp\r\n"
		     "c: application/sdp\r\n"), 400, "Multiple Content-Type"},
		{REQ("OPTIONS", "Content-Length: 3\r\n\r\nabcdef"), PASS,
		 NULL},
		{REQ("INVITE", "Content-Length: 3\r\n\r\nabc"), 415,
		 "Unsupported Media Type"},
		{REQ("INVITE", "Content-Type: application/SDP\r\n"
		     "Content-Length: 3\r\n\r\nabc"), PASS, NULL},
		{REQ("INVITE", "Content-Type: text/plain\r\n"
		     "Content-Length: 0\r\n"), PASS, NULL},
		{REQ("INVITE", "Accept: application/*\r\n"), PASS, NULL},
		{REQ("INVITE", "Accept: */*\r\n"), PASS, NULL},
		{REQ("INVITE", "Accept: text/html,"
		     " application/sdp;level=1\r\n"), PASS, NULL},
		{REQ("INVITE", "Accept: text/html\r\n"), 406,
		 "Not Acceptable"},
		{REQ("OPTIONS", "Accept: text/html\r\n"), PASS, NULL},
		{REQ("INVITE", "Require: 100rel\r\n"), 420, "Bad Extension"},
		{REQ("INVITE", "Proxy-Require: foo\r\n"), 420, NULL},
		{REQ("INVITE", "Require:\r\n"), PASS, NULL},
		{REQ("INVITE", "Require: a b\r\n"), 400, "Malformed Require"},
		{REQ("ACK", "Require: 100rel\r\n"), PASS, NULL},
		{REQ("CANCEL", "Require: 100rel\r\n"), PASS, NULL},
		{"INVITE tel:+15551234 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 416, "Unsupported URI Scheme"},
		{"INVITE SIPS:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", PASS, NULL},
		{"INVITE 1sip:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 400, "Malformed Request-URI"},
		{"INV\x01TE sip:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710\r\n"
		 "CSeq: 1 INV\x01TE\r\n\r\n", 400, "Malformed Method"},
		{HDRS("INVITE", "To: \"a\\\"b\" <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE\r\n"), PASS, NULL},
		{HDRS("INVITE", "To: a b <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE\r\n"), PASS, NULL},
		{HDRS("INVITE", "To: a;b <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE\r\n"), 400, "Malformed To"},
		{HDRS("INVITE", "To: \"ab <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE\r\n"), 400, NULL},
		{HDRS("INVITE", "To: \"ab\\\" <sip:1001@example.com>\r\n"
		      "CSeq: 1 INVITE\r\n"), 400, NULL},
		{"INVITE sip:1001@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		 "From: <sip:1002@example.com>;tag=1\r\n"
		 "To: <sip:1001@example.com>\r\n"
		 "Call-ID: a84b4c76e66710 x\r\n"
		 "CSeq: 1 INVITE\r\n\r\n", 400, "Malformed Call-ID"},
	};
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		int res = 0;

		err = check_buf(&res, testv[i].reason,
				(const uint8_t *)testv[i].msg,
				strlen(testv[i].msg));
		if (err) {
			(void)re_fprintf(stderr, "synthetic %zu\n", i);
			goto out;
		}

		if (res != testv[i].exp) {
			(void)re_fprintf(stderr, "synthetic %zu: expected %d,"
					 " got %d\n", i, testv[i].exp, res);
			err = EINVAL;
			goto out;
		}
	}

	/* Arguments */
	TEST_EQUALS(EINVAL, sipcheck_request(NULL, NULL, NULL));

 out:
	return err;
}


/* Build "prefix" + n times c + "suffix" in a new buffer */
static int make_msg(struct mbuf **mbp, const char *prefix, char c, size_t n,
		    const char *suffix)
{
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(n + 512);
	if (!mb)
		return ENOMEM;

	err = mbuf_write_str(mb, prefix);
	if (n)
		err |= mbuf_fill(mb, (uint8_t)c, n);
	err |= mbuf_write_str(mb, suffix);
	mb->pos = 0;

	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


/* sipcheck.c screens every message before libre's decoder, whose regexes
 * take quadratic time on long runs of non-blank characters. These pass
 * libre alone (or fail it only after seconds): the screen must drop them
 * at once. Also proves the screen is linked in front of libre. */
static int test_prescreen(void)
{
	static const char hdrs[] =
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776\r\n"
		"To: <sip:1001@example.com>\r\n"
		"Call-ID: a84b4c76e66710\r\n"
		"CSeq: 1 OPTIONS\r\n";
	static const struct {
		const char *prefix;
		char c;
		size_t n;
		const char *suffix;
		int err;
	} testv[] = {
		/* start line: libre's answer, without its regex */
		{"", 'a', 100, "\r\n\r\n", ENODATA},
		{"", 'a', 9000, "\r\n\r\n", EBADMSG},
		{"OPTIONS ", 'a', 9000, "\r\n\r\n", EBADMSG},
		{"OPTIONS sip:a SIP/2.0", ' ', 1, "", ENODATA},
		{" OPTIONS sip:a SIP/2.0\r\n", ' ', 0, "\r\n", ENODATA},
		{"OPTIONS\tsip:a SIP/2.0\r\n", ' ', 0, "\r\n", ENODATA},
		{"OPTIONS sip:a SIP/2.0\rx\r\n", ' ', 0, "\r\n", ENODATA},
		/* a 1500-byte token is fine, 3000 is over the budget */
		{"OPTIONS sip:1001@example.com SIP/2.0\r\nFrom: ", 'a', 1500,
		 " x <sip:a@b>;tag=1\r\n", 0},
		{"OPTIONS sip:1001@example.com SIP/2.0\r\nFrom: ", 'a', 3000,
		 " x <sip:a@b>;tag=1\r\n", EBADMSG},
		{"OPTIONS sip:1001@example.com SIP/2.0\r\nFrom: ", ':', 60000,
		 " x <sip:a@b>;tag=1\r\n", EBADMSG},
		{"OPTIONS sip:1001@example.com SIP/2.0\r\n"
		 "Content-Type: ", 'a', 60000, " x\r\n", EBADMSG},
		/* the body is not screened */
		{"OPTIONS sip:1001@example.com SIP/2.0\r\n"
		 "From: <sip:a@b>;tag=1\r\n\r\n", 'a', 60000, "", 0},
	};
	struct sip_msg *msg = NULL;
	struct mbuf *mb = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(testv); i++) {
		const bool body = strstr(testv[i].prefix, "\r\n\r\n") != NULL;
		int e;

		err = make_msg(&mb, testv[i].prefix, testv[i].c, testv[i].n,
			       testv[i].suffix);
		if (err)
			goto out;

		/* complete the header block of the header tests */
		if (!body && strstr(testv[i].prefix, "From: ")) {
			mb->pos = mb->end;
			err = mbuf_printf(mb, "%s\r\n", hdrs);
			mb->pos = 0;
			if (err)
				goto out;
		}

		e = sip_msg_decode(&msg, mb);
		if (e != testv[i].err) {
			(void)re_fprintf(stderr, "prescreen %zu: expected %m,"
					 " got %m\n", i, testv[i].err, e);
			err = EINVAL;
			goto out;
		}

		msg = mem_deref(msg);
		mb = mem_deref(mb);
	}

 out:
	mem_deref(msg);
	mem_deref(mb);

	return err;
}


/**
 * Test the SIP request checks
 *
 * @return 0 if success, otherwise errorcode
 */
int test_sipcheck(void)
{
	int err;

	err = test_torture();
	if (err)
		return err;

	err = test_synthetic();
	if (err)
		return err;

	return test_prescreen();
}
