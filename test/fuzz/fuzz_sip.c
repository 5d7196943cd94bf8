/**
 * @file fuzz_sip.c  libFuzzer target: libre's SIP decoder, then our checks
 *
 * Feeds each input to sip_msg_decode as one datagram would arrive (that
 * is sipcheck.c's screen, then libre's decoder), and a decoded request to
 * sipcheck_request: the path every request takes before a handler sees
 * it. Build with configure --enable-fuzz CC=clang; seeds are
 * ../shared/sip-torture/pjproject-fuzz-seeds/fuzz-sip_seed_corpus and
 * ../shared/sip-torture/rfc4475.
 */
#include <stdlib.h>
#include <re.h>
#include "sipcore.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/**
 * Set up libre once for the whole run
 *
 * @param argc Argument count (unused)
 * @param argv Arguments (unused)
 *
 * @return 0
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;

	return libre_init();
}


/**
 * Decode one input and check it if it is a request
 *
 * @param data Input bytes
 * @param size Number of bytes
 *
 * @return 0 (libFuzzer wants nothing else)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg *msg = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	struct mbuf *mb;

	mb = mbuf_alloc(size ? size : 1);
	if (!mb)
		return 0;

	if (mbuf_write_mem(mb, data, size))
		goto out;

	mb->pos = 0;

	if (sip_msg_decode(&msg, mb))
		goto out;

	if (msg->req && sipcheck_request(msg, &scode, &reason)) {
		/* Whatever failed must come with a status to send */
		if (scode < 400 || scode > 599 || !reason)
			abort();
	}

 out:
	mem_deref(msg);
	mem_deref(mb);

	return 0;
}
