/**
 * @file audiotest.c  The audio test (*43): hear yourself through the PBX
 *
 * A phone dials *43: it hears how to use it (the audio_test prompt; the
 * pound key skips it), a beep, then what its party says is recorded
 * until the pound key (or
 * RECORD_MAX_S), played back, and after "goodbye" the PBX hangs up. It
 * tests a phone's microphone, speaker and codec through the relay, and
 * the way there, the way an office checks a new phone.
 *
 * The recording is a file in the engine's media directory, deleted when
 * the call ends; a caller who hangs up while recorded has the recording
 * ended first, so that the relay has put the file in place (and it is
 * deleted) before the call goes.
 */
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "switchboard.h"
#include "apps.h"

#define DEBUG_MODULE "audiotest"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	RECORD_MAX_S = 10,        /**< Longest recording              */
	PATH_SIZE    = 512,
};

/** One call to the audio test */
struct audiotest {
	struct leg *leg;          /**< The caller's (the call holds it) */
	app_done_h *doneh;        /**< Ends the call                  */
	void *arg;                /**< Its argument                   */
	struct tmr tmr;           /**< Recording limit                */
	char file[PATH_SIZE];     /**< The recording                  */
	bool intro;               /**< The prompt plays               */
	bool recording;           /**< Being recorded                 */
	bool hungup;              /**< The caller hung up meanwhile   */
};


static void destructor(void *arg)
{
	struct audiotest *at = arg;

	tmr_cancel(&at->tmr);
	if (at->file[0])
		(void)unlink(at->file);
}


/* the call ends, with the BYE if the caller is still there: doneh
 * frees us, so it comes last */
static void finish(struct audiotest *at, uint16_t cause, const char *why)
{
	app_done_h *doneh = at->doneh;

	leg_hangup(at->leg, cause, why);
	doneh(cause, why, at->arg);
}


static void bye_end_handler(struct leg *leg, int err, uint32_t ms, void *arg)
{
	(void)leg;
	(void)err;
	(void)ms;

	finish(arg, 200, "audio test done");
}


static void goodbye(struct audiotest *at)
{
	char path[PATH_SIZE];

	if (prompt_path(path, sizeof(path), "goodbye") ||
	    leg_play(at->leg, path, false, bye_end_handler, at))
		finish(at, 200, "audio test done");
}


static void playback_end_handler(struct leg *leg, int err, uint32_t ms,
				 void *arg)
{
	(void)leg;
	(void)err;
	(void)ms;

	goodbye(arg);
}


static void rec_end_handler(struct leg *leg, int err, uint32_t ms,
			    void *arg)
{
	struct audiotest *at = arg;

	at->recording = false;
	tmr_cancel(&at->tmr);

	if (at->hungup) {
		finish(at, 200, "caller hung up");
		return;
	}

	if (err || !ms) {
		DEBUG_WARNING("%s: nothing recorded: %m\n", leg_callid(leg),
			      err);
		goodbye(at);
		return;
	}

	DEBUG_INFO("%s: recorded %u ms, played back\n", leg_callid(leg), ms);

	if (leg_play(leg, at->file, false, playback_end_handler, at))
		goodbye(at);
}


static void limit_handler(void *arg)
{
	struct audiotest *at = arg;

	if (leg_record_stop(at->leg))
		rec_end_handler(at->leg, EIO, 0, at);
}


static void beep_end_handler(struct leg *leg, int err, uint32_t ms,
			     void *arg)
{
	struct audiotest *at = arg;
	char name[40];
	(void)ms;

	if (err) {
		DEBUG_WARNING("%s: beep: %m\n", leg_callid(leg), err);
		goodbye(at);
		return;
	}

	(void)re_snprintf(name, sizeof(name), "audiotest-%08x%08x.wav",
			  rand_u32(), rand_u32());
	err = media_file(at->file, sizeof(at->file), name);
	err = err ? err : leg_record(leg, at->file, rec_end_handler, at);
	if (err) {
		DEBUG_WARNING("%s: cannot record: %m\n", leg_callid(leg), err);
		at->file[0] = '\0';
		goodbye(at);
		return;
	}

	at->recording = true;
	tmr_start(&at->tmr, RECORD_MAX_S * 1000, limit_handler, at);
}


static void intro_end_handler(struct leg *leg, int err, uint32_t ms,
			      void *arg)
{
	struct audiotest *at = arg;
	(void)ms;
	(void)err;

	at->intro = false;
	if (leg_tone(leg, "beep", beep_end_handler, at))
		goodbye(at);
}


static void event_handler(struct leg *leg, enum leg_event ev,
			  const struct leg_evinfo *info, void *arg)
{
	struct audiotest *at = arg;

	/* the pound key ends the prompt (then the beep), or the
	 * recording */
	if (ev == LEG_EV_DTMF && info->digit == '#' && at->intro) {
		(void)leg_stop(leg);
		return;
	}

	if (ev == LEG_EV_DTMF && info->digit == '#' && at->recording) {
		if (leg_record_stop(leg))
			rec_end_handler(leg, EIO, 0, at);
		return;
	}

	if (ev != LEG_EV_CLOSED)
		return;

	/* the file in place first, then gone with us */
	at->hungup = true;
	if (!at->recording || leg_record_stop(leg))
		finish(at, info->scode ? info->scode : 200,
		       info->scode && info->reason ? info->reason :
		       "caller hung up");
}


/* answered: how it works, then the beep */
static void answered_handler(struct leg *leg, int err, uint32_t ms,
			     void *arg)
{
	struct audiotest *at = arg;
	char path[PATH_SIZE];
	(void)ms;

	if (err) {
		DEBUG_WARNING("%s: not answered: %m\n", leg_callid(leg), err);
		finish(at, 503, "Media Relay Unavailable");
		return;
	}

	at->intro = !prompt_path(path, sizeof(path), "audio_test");
	if (at->intro)
		err = leg_play(leg, path, false, intro_end_handler, at);
	else
		err = leg_tone(leg, "beep", beep_end_handler, at);

	if (err) {
		at->intro = false;
		goodbye(at);
	}
}


static int start(void **sessp, struct leg *leg, app_done_h *doneh,
		 void *arg)
{
	struct audiotest *at;
	int err;

	at = mem_zalloc(sizeof(*at), destructor);
	if (!at)
		return ENOMEM;

	at->leg = leg;
	at->doneh = doneh;
	at->arg = arg;
	tmr_init(&at->tmr);

	err = leg_answer_media(leg, answered_handler, at);
	if (err) {
		mem_deref(at);
		return err;
	}

	leg_set_handlers(leg, event_handler, NULL, at);
	*sessp = at;

	return 0;
}


const struct app app_audiotest = {
	"audio test",
	"*43",
	false,
	start,
};
