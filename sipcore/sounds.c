/**
 * @file sounds.c  Where the sounds are: prompts and music on hold
 *
 * A build tree has them beside the programs (make renders them there),
 * an installed switchboard in its data directory; the build tree wins,
 * so that tests and a `make` without install play what they built.
 */
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "sipcore.h"

/* the build sets it from configure's datadir */
#ifndef SB_DATADIR
#define SB_DATADIR "/usr/local/share/switchboard"
#endif


/**
 * The path of a sound
 *
 * @param path Buffer for it: beside the program if there, else in the
 *             data directory
 * @param sz   Its size
 * @param rel  Its name under either, e.g. "sounds/moh/default.wav"
 *
 * @return 0 if the file is there, ENOENT if not (path still names the
 *         installed place)
 */
int sound_find(char *path, size_t sz, const char *rel)
{
	char self[SB_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';

		if (re_snprintf(path, sz, "%s/%s", self, rel) > 0 &&
		    !access(path, R_OK))
			return 0;
	}

	if (re_snprintf(path, sz, "%s/%s", SB_DATADIR, rel) < 0)
		return ENAMETOOLONG;

	return access(path, R_OK) ? ENOENT : 0;
}


/**
 * The WAV file of a prompt (sounds/prompts.txt names them)
 *
 * @param path Buffer for its path
 * @param sz   Its size
 * @param id   The prompt's id, e.g. "goodbye"
 *
 * @return 0 if it is there, ENOENT if it was not rendered
 */
int prompt_path(char *path, size_t sz, const char *id)
{
	char rel[96];

	if (!path || !id || re_snprintf(rel, sizeof(rel), "sounds/en/%s.wav",
					 id) < 0)
		return EINVAL;

	return sound_find(path, sz, rel);
}
