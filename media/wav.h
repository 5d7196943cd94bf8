/**
 * @file wav.h  WAV files: players of prompts and music on hold, recorders
 *
 * Only 16-bit PCM mono at 8, 16 or 48 kHz, the relay's rates.
 *
 * A player is made on the control thread (wav_player_alloc): the whole
 * file is loaded then, so a packet thread never waits for the disk.
 * The samples are shared, read-only, by every player of the same file
 * (one music on hold for all the calls on hold); each player has only
 * its position. One packet thread at a time may read a player.
 *
 * A recorder is made and closed on the control thread; in between one
 * packet thread appends to it (wav_rec_write), which only fills a
 * buffer and, when it is full, writes it out. The file is written
 * under a temporary name and renamed by wav_rec_close, so the final
 * name holds a whole WAV file or nothing.
 */
#ifndef MEDIA_WAV_H
#define MEDIA_WAV_H

enum {
	WAV_FILE_MAX = 32 * 1024 * 1024, /**< Largest file played, bytes */
};


/* ---- headers (wav_parse.c) ---- */

/** Where a WAV file's samples are */
struct wav_info {
	uint32_t srate;           /**< Sample rate                    */
	size_t off;               /**< Offset of the first sample     */
	size_t n;                 /**< Samples there (clamped)        */
};

int wav_parse(struct wav_info *wi, const uint8_t *b, size_t len,
	      const char *name);


/* ---- players (wav_read.c) ---- */

struct wav_player;

int    wav_player_alloc(struct wav_player **pp, const char *path, bool loop);
size_t wav_player_read(struct wav_player *p, int16_t *pcm, size_t n);
bool   wav_player_eof(const struct wav_player *p);
uint32_t wav_player_srate(const struct wav_player *p);
size_t wav_player_samples(const struct wav_player *p);
uint32_t wav_loaded(size_t *bytes);


/* ---- recorders (wav_write.c) ---- */

struct wav_rec;

int  wav_rec_alloc(struct wav_rec **rp, const char *path, uint32_t srate);
int  wav_rec_write(struct wav_rec *r, const int16_t *pcm, size_t n);
int  wav_rec_close(struct wav_rec *r);

#endif
