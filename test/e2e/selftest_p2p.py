#!/usr/bin/env python3
"""Self-test of the e2e harness, without the PBX.

Two baresip phones on loopback; A (1000 Hz) calls B (700 Hz, answermode=auto)
directly at sip:b@127.0.0.1:PORT, the call lasts ~4 s, A hangs up, then:
A must hear 700 Hz and not 1000 Hz, B must hear 1000 Hz and not 700 Hz.
Negative checks prove that the analysis can fail: silence, the wrong tone,
a tone with a gap and a tone mixed with the phone's own must all be
rejected by audio.check().

It runs itself inside a private loopback-only network namespace
(netns.sh) unless SWITCHBOARD_E2E_NETNS is already set:
    test/e2e/selftest_p2p.py        (or test/e2e/netns.sh python3 ...)
Exit status 0 on success, 1 with a message on failure, 77 (skip) when
baresip is not installed.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import audio                                    # noqa: E402
from phone import BaresipPhone, PhoneError      # noqa: E402

TONE_A, TONE_B = 1000, 700


def log(msg):
    print("[selftest %6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def expect_failure(what, fn):
    """fn() must raise AssertionError (the analysis must be able to fail)."""
    try:
        r = fn()
    except AssertionError as e:
        log("negative check OK (%s rejected): %s" % (what, e))
        return
    raise AssertionError("negative check FAILED: %s was accepted: %s"
                         % (what, r.summary() if r else r))


def negative_checks(tmp, rec_a, rec_b):
    silence = audio.make_wav(os.path.join(tmp, "silence.wav"),
                             [(None, 4.0)])
    expect_failure("silence", lambda: audio.check(silence, TONE_B, [TONE_A]))
    # wrong tone: B heard 1000 Hz, not 700 Hz; A heard 700, not 1000
    expect_failure("wrong tone in B's recording",
                   lambda: audio.check(rec_b, TONE_B, [TONE_A]))
    expect_failure("wrong tone in A's recording",
                   lambda: audio.check(rec_a, TONE_A, [TONE_B]))
    # own tone heard: B's recording, read as if it were A's (A's own = 1000)
    expect_failure("own tone heard",
                   lambda: audio.check(rec_b, TONE_B, [TONE_A],
                                       min_fraction=0.0))
    gappy = audio.make_wav(os.path.join(tmp, "gap.wav"),
                           [(TONE_B, 2.0), (None, 0.5), (TONE_B, 2.0)])
    expect_failure("500 ms gap", lambda: audio.check(gappy, TONE_B, [TONE_A]))
    mixed = os.path.join(tmp, "mixed.wav")
    _mix(mixed, TONE_B, TONE_A, 4.0)
    expect_failure("tone mixed with own tone",
                   lambda: audio.check(mixed, TONE_B, [TONE_A]))
    # and the analysis accepts a clean synthetic tone
    clean = audio.make_tone(os.path.join(tmp, "clean.wav"), TONE_B, 4.0,
                            rate=48000, channels=2)
    audio.check(clean, TONE_B, [TONE_A])
    log("positive control OK (clean 48 kHz stereo %d Hz accepted)" % TONE_B)


def _mix(path, f1, f2, seconds, rate=8000):
    import array
    import math
    import wave
    n = int(seconds * rate)
    a = array.array("h", (int(8000 * math.sin(2 * math.pi * f1 * i / rate)
                              + 8000 * math.sin(2 * math.pi * f2 * i / rate))
                          for i in range(n)))
    if sys.byteorder == "big":
        a.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(a.tobytes())


def run(args):
    tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-selftest-")
    os.makedirs(tmp, exist_ok=True)
    log("work dir %s (netns: %s)" % (tmp, os.environ.get(
        "SWITCHBOARD_E2E_NETNS", "unknown; use netns.sh")))
    tone_a = audio.make_tone(os.path.join(tmp, "tone-%d.wav" % TONE_A),
                             TONE_A, 30)
    tone_b = audio.make_tone(os.path.join(tmp, "tone-%d.wav" % TONE_B),
                             TONE_B, 30)
    base = args.base_port
    a = BaresipPhone("a", os.path.join(tmp, "a"), args.addr,
                     sip_port=base, ctrl_port=base + 5,
                     rtp_ports=(base + 1000, base + 1019), tone_wav=tone_a,
                     lifetime=60)
    b = BaresipPhone("b", os.path.join(tmp, "b"), args.addr,
                     sip_port=base + 10, ctrl_port=base + 15,
                     rtp_ports=(base + 1020, base + 1039), tone_wav=tone_b,
                     lifetime=60)
    ok = False
    try:
        a.start(timeout=5)
        b.start(timeout=5)
        log("started baresip a pid=%d, b pid=%d" % (a.pid, b.pid))
        a.add_account("<%s>;regint=0;audio_codecs=pcmu" % a.uri)
        b.add_account("<%s>;regint=0;answermode=auto;audio_codecs=pcmu"
                      % b.uri)
        a.dial(b.uri)
        ea = a.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        eb = b.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        log("call established: a->%s, b<-%s" % (ea.get("peeruri"),
                                               eb.get("peeruri")))
        time.sleep(args.seconds)
        calls = a.listcalls()
        if "(1)" not in calls:
            raise AssertionError("a: call not active after %.1fs: %r"
                                 % (args.seconds, calls))
        a.hangup()
        ca = a.wait_event("CALL_CLOSED", 5)
        cb = b.wait_event("CALL_CLOSED", 5)
        log("call closed: a %r, b %r" % (ca.get("param"), cb.get("param")))
        a.stop()
        b.stop()     # sndfile closes its WAVs with the call; stop anyway
        ra, rb = a.recordings(), b.recordings()
        if len(ra) != 1 or len(rb) != 1:
            raise AssertionError("expected one recording per phone, got a=%r "
                                 "b=%r" % (ra, rb))
        res_a = audio.check(ra[0], TONE_B, [TONE_A], min_tone_s=2.5)
        log("A heard: %s" % res_a.summary())
        res_b = audio.check(rb[0], TONE_A, [TONE_B], min_tone_s=2.5)
        log("B heard: %s" % res_b.summary())
        negative_checks(tmp, ra[0], rb[0])
        ok = True
    finally:
        a.stop()
        b.stop()
        if not ok:
            for p in (a, b):
                log("---- %s (pid %s) log tail ----\n%s"
                    % (p.name, p.pid, p.log()[-3000:]))
            log("work dir kept: %s" % tmp)
        elif not args.keep and not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--base-port", type=int, default=26070,
                    help="SIP ports base, base+10; ctrl +5; RTP base+1000..")
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="call duration")
    ap.add_argument("--workdir", help="keep everything here")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    baresip = shutil.which("baresip") or (
        "/usr/bin/baresip" if os.access("/usr/bin/baresip", os.X_OK)
        else None)
    if not baresip:
        log("SKIP: baresip not installed")
        return 77
    BaresipPhone.BARESIP = baresip
    if "SWITCHBOARD_E2E_NETNS" not in os.environ:
        # not yet in a loopback-only namespace: run again under netns.sh
        here = os.path.dirname(os.path.abspath(__file__))
        os.execv("/bin/sh", ["/bin/sh", os.path.join(here, "netns.sh"),
                             sys.executable, os.path.abspath(__file__)]
                 + sys.argv[1:])
    try:
        run(args)
    except (AssertionError, PhoneError) as e:
        log("FAIL: %s" % e)
        return 1
    log("PASS")
    return 0


T0 = time.monotonic()

if __name__ == "__main__":
    sys.exit(main())
