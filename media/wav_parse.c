/**
 * @file wav_parse.c  WAV headers: where the 16-bit mono PCM of a file is
 *
 * Works on the file's bytes in memory, so that it can be fuzzed alone.
 * Chunks may come in any order; unknown ones (LIST, fact, ...) are
 * skipped, odd sizes padded to even. Nothing is read past the buffer:
 * a data chunk that says it is longer than what is left is cut at the
 * end, any other such chunk ends the walk. Little-endian fields are
 * read byte by byte, so the host's byte order does not matter.
 */
#include <string.h>
#include <re.h>
#include "wav.h"

#define DEBUG_MODULE "wav"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	RIFF_HDR       = 12,      /**< "RIFF", size, "WAVE"           */
	CHUNK_HDR      = 8,       /**< Id and size                    */
	FMT_MIN        = 16,      /**< fmt chunk of plain PCM         */
	FMT_EXT        = 40,      /**< ... of WAVE_FORMAT_EXTENSIBLE  */
	FMT_SUBTYPE    = 24,      /**< Its sub-format's offset        */
	TAG_PCM        = 0x0001,
	TAG_EXTENSIBLE = 0xfffe,
};

/** What the fmt chunk says */
struct wavfmt {
	uint16_t tag;             /**< Format (extensible: sub-format) */
	uint16_t channels;        /**< Channels                       */
	uint32_t srate;           /**< Sample rate                    */
	uint16_t bits;            /**< Bits per sample                */
};


static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


static bool rate_ok(uint32_t r)
{
	return r == 8000 || r == 16000 || r == 48000;
}


static void fmt_decode(struct wavfmt *fmt, const uint8_t *p, size_t size)
{
	fmt->tag      = le16(p);
	fmt->channels = le16(p + 2);
	fmt->srate    = le32(p + 4);
	fmt->bits     = le16(p + 14);

	if (fmt->tag == TAG_EXTENSIBLE && size >= FMT_EXT)
		fmt->tag = le16(p + FMT_SUBTYPE);
}


/**
 * Find the samples of a WAV file
 *
 * @param wi   Returned rate and place of the samples
 * @param b    The whole file
 * @param len  Its length
 * @param name File name, for the log
 *
 * @return 0 if success; EBADMSG if it is not a WAV file, ENOTSUP if
 *         not 16-bit PCM mono at 8000, 16000 or 48000 Hz
 */
int wav_parse(struct wav_info *wi, const uint8_t *b, size_t len,
	      const char *name)
{
	bool have_fmt = false, have_data = false;
	struct wavfmt fmt = {0, 0, 0, 0};
	size_t off = RIFF_HDR, dlen = 0;

	if (!wi || (!b && len))
		return EINVAL;

	if (len < RIFF_HDR || memcmp(b, "RIFF", 4) ||
	    memcmp(b + 8, "WAVE", 4)) {
		DEBUG_WARNING("%s: not a RIFF/WAVE file\n", name);
		return EBADMSG;
	}

	while (len - off >= CHUNK_HDR && !(have_fmt && have_data)) {
		const uint8_t *id = &b[off];
		const size_t body = off + CHUNK_HDR;
		const size_t avail = len - body;
		size_t size = le32(&b[off + 4]);

		if (!have_fmt && !memcmp(id, "fmt ", 4)) {
			if (size < FMT_MIN || avail < FMT_MIN) {
				DEBUG_WARNING("%s: fmt chunk too short\n",
					      name);
				return EBADMSG;
			}
			fmt_decode(&fmt, &b[body], min(size, avail));
			have_fmt = true;
		}
		else if (!have_data && !memcmp(id, "data", 4)) {
			if (size > avail) {
				DEBUG_NOTICE("%s: data chunk of %zu bytes,"
					     " %zu in the file\n",
					     name, size, avail);
				size = avail;
			}
			wi->off = body;
			dlen = size;
			have_data = true;
		}

		if (size > avail || avail - size < (size & 1))
			break;

		off = body + size + (size & 1);
	}

	if (!have_fmt || !have_data) {
		DEBUG_WARNING("%s: no %s chunk\n", name,
			      have_fmt ? "data" : "fmt");
		return EBADMSG;
	}

	if (fmt.tag != TAG_PCM || fmt.channels != 1 || fmt.bits != 16 ||
	    !rate_ok(fmt.srate)) {
		DEBUG_WARNING("%s: format %u, %u channel(s), %u bits,"
			      " %u Hz; need PCM, 1 channel, 16 bits,"
			      " 8000/16000/48000 Hz\n", name,
			      (unsigned)fmt.tag, (unsigned)fmt.channels,
			      (unsigned)fmt.bits, fmt.srate);
		return ENOTSUP;
	}

	wi->srate = fmt.srate;
	wi->n = dlen / 2;

	return 0;
}
