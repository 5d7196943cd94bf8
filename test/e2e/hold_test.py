#!/usr/bin/env python3
"""End-to-end hold test: a phone that holds puts the other on music on
hold, a resume gives it back its peer.

Two baresip phones call each other through Switchboard and sbrelay (PCMU);
the caller A sends a 1000 Hz tone, the callee B 700 Hz.  The relay runs
with a 2 s RTP timeout (through a relay_binary wrapper) so that a hold
outlasts it.  One call, in phases:

  talk     B hears A's tone
  A holds  GET /api/calls says hold "caller"; B hears music: energy over
           several frequencies, no strong peak at A's 1000 Hz, no 700 Hz;
           the call outlives the RTP timeout (the log says it was kept)
  B holds  hold "both"; A hears music too
  B resumes, then A resumes: hold "caller", then null
  talk     B hears A's tone again, and A hears B's
  A hangs up: both phones see the end; the CDR is ANSWERED, "caller hung up"

baresip 1.0.0's sndfile stops recording at the first re-INVITE that is
not sendrecv, so what a phone hears is taken from the wire: the RTP the
relay sends it, captured on lo (AF_PACKET: root, or the user namespace
netns.sh makes) and decoded from G.711.  Without capture the test fails:
it has nothing else to check the music with.

The music is the one built beside switchboard (sounds/moh/default.wav,
which `make` composes with sox) as switchboard finds it by default; if
there is none (no sox), a stand-in chord is written and set as moh_file.

Exit 0 on success, 1 on failure, 77 (skip) when baresip is missing.

    test/e2e/hold_test.py [--keep] [--base-port N] [--log-level debug]
                          [--sip-trace]
"""

import argparse
import math
import os
import shutil
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import audio                                                    # noqa: E402
import pbx                                                      # noqa: E402
from phone import BaresipPhone, PhoneError                      # noqa: E402

A_HZ, B_HZ = 1000, 700
RTP_TIMEOUT_S = 2         # the relay's, here; a hold lasts longer
MODULES = ("g711.so",)
PROBES = range(100, 3501, 50)   # Hz; 20 ms frames resolve 50 Hz

T0 = time.monotonic()


def log(msg):
    print("[hold_test %6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


class PayloadSniffer(pbx.RtpSniffer):
    """RtpSniffer that also keeps the G.711 payload of the RTP sent to
    some ports: (t, dport, seq, payload)."""

    def __init__(self, sip_ports, keep_ports):
        super().__init__(sip_ports=sip_ports)
        self.keep_ports = set(keep_ports)
        self.payloads = []

    def _packet(self, t, frame):
        super()._packet(t, frame)
        off = 14
        if len(frame) < off + 40 or frame[off] >> 4 != 4 or \
                frame[off + 9] != 17:
            return
        u = off + (frame[off] & 15) * 4
        dport, ulen = struct.unpack("!HH", frame[u + 2:u + 6])
        if dport not in self.keep_ports:
            return
        rtp = frame[u + 8:u + ulen]
        if len(rtp) < 12 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:
            return                          # PCMU only
        hdr = 12 + 4 * (rtp[0] & 15)
        if rtp[0] & 0x10 and len(rtp) >= hdr + 4:
            hdr += 4 + 4 * struct.unpack("!H", rtp[hdr + 2:hdr + 4])[0]
        seq = struct.unpack("!H", rtp[2:4])[0]
        with self._lock:
            self.payloads.append((t, dport, seq, bytes(rtp[hdr:])))

    def audio(self, ports, t0, t1):
        """What was sent to `ports` in [t0, t1], decoded, in arrival
        order: (samples in [-1, 1], packets)."""
        with self._lock:
            pk = [p for p in self.payloads
                  if p[1] in ports and t0 <= p[0] <= t1]
        pk.sort(key=lambda p: p[0])
        out = []
        for p in pk:
            out += pbx.ulaw_decode(p[3])
        return [s / 32768.0 for s in out], len(pk)


def spectrum(samples, rate=8000, frame=160):
    """Energy per probe frequency, summed over 20 ms frames."""
    acc = dict.fromkeys(PROBES, 0.0)
    for i in range(0, len(samples) - frame + 1, frame):
        f = samples[i:i + frame]
        for hz in PROBES:
            a = audio.goertzel_amplitude(f, hz, rate)
            acc[hz] += a * a
    return acc


def music_check(samples, npk, seconds, tones):
    """Music, not a tone: loud enough, its energy over at least three
    50 Hz bands (3 % each), none of `tones` with more than 10 %.
    Returns text; raises AssertionError with the numbers."""
    if npk < 40 * seconds:
        raise AssertionError("only %d packets in %.1f s" % (npk, seconds))
    rms = math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))
    dbfs = 20 * math.log10(max(rms, 1e-9))
    acc = spectrum(samples)
    total = sum(acc.values()) or 1e-30
    share = {hz: e / total for hz, e in acc.items()}
    bands = sorted((hz for hz in share if share[hz] >= 0.03),
                   key=lambda hz: -share[hz])
    text = ("%d pkts, %.1f dBFS, %d bands of 50 Hz with 3 %%+ (%s), %s"
            % (npk, dbfs, len(bands), " ".join(
                "%d:%.0f%%" % (hz, 100 * share[hz]) for hz in bands[:6]),
               ", ".join("%d Hz %.0f%%" % (hz, 100 * share[hz])
                         for hz in tones)))
    problems = []
    if dbfs < -45:
        problems.append("too quiet for music")
    if len(bands) < 3:
        problems.append("energy not spread over several frequencies")
    problems += ["%d Hz stands out" % hz for hz in tones if share[hz] > 0.1]
    if problems:
        raise AssertionError("%s [%s]" % ("; ".join(problems), text))
    return text


def chord_wav(path, seconds=20, rate=8000):
    """A stand-in for the music when none was built: a C major chord
    moving an octave every second."""
    out = []
    for i in range(int(seconds * rate)):
        k = 1 + (i // rate) % 2
        out.append(sum(0.12 * math.sin(2 * math.pi * k * f * i / rate)
                       for f in (261.6, 329.6, 392.0)) * 32767)
    return pbx.write_wav16(path, out, rate)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-hold-")
        os.makedirs(self.tmp, exist_ok=True)
        base = self.base = args.base_port
        self.relay_ports = (base + 1200, base + 1299)
        sbdir = os.path.dirname(args.switchboard)
        wrapper = os.path.join(self.tmp, "sbrelay-wrapper")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s -T %d \"$@\"\n"
                    % (os.path.join(sbdir, "sbrelay"), RTP_TIMEOUT_S))
        os.chmod(wrapper, 0o755)
        extra = {"relay_port_min": self.relay_ports[0],
                 "relay_port_max": self.relay_ports[1],
                 "relay_binary": wrapper}
        self.moh = os.path.join(sbdir, "sounds", "moh", "default.wav")
        self.moh_note = "the built music, found by default"
        if not os.path.exists(self.moh):
            self.moh = chord_wav(os.path.join(self.tmp, "chord.wav"))
            extra["moh_file"] = self.moh
            self.moh_note = ("NOTE: no %s (sox missing?): a stand-in chord"
                             % os.path.join(sbdir, "sounds", "moh",
                                            "default.wav"))
        self.sb = pbx.Switchboard(args.switchboard, self.tmp, base, base + 1,
                                  args.log_level, extra=extra)
        self.phones = {}
        self.sniffer = None

    def phone(self, number, i, hz):
        password = "secret-%s" % number
        self.sb.add_extension(number, password, auth_order="md5-only")
        b = self.base
        bp = BaresipPhone(
            "p%s" % number, os.path.join(self.tmp, number), "127.0.0.1",
            sip_port=b + 10 + 10 * i, ctrl_port=b + 15 + 10 * i,
            rtp_ports=(b + 1000 + 20 * i, b + 1019 + 20 * i),
            tone_wav=audio.make_tone(os.path.join(self.tmp, "tone-%d.wav"
                                                  % hz), hz, 60),
            modules=MODULES, lifetime=90, sip_trace=self.args.sip_trace)
        self.phones[number] = bp
        bp.start(timeout=5)
        bp.add_account(pbx.account_line(number, password, self.sb.sip_port,
                                        codecs="PCMU/8000"))
        bp.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        return bp

    def ports(self, bp):
        return range(bp.rtp_ports[0], bp.rtp_ports[1] + 1)

    def hold_state(self, want, timeout=3.0):
        """Wait until GET /api/calls shows one call with hold == want;
        returns the time it did."""
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.sb.api("GET", "/api/calls")
            calls = body.get("calls") if isinstance(body, dict) else None
            if code == 200 and calls and len(calls) == 1 and \
                    "hold" in calls[0] and calls[0]["hold"] == want:
                return time.time()
            if time.monotonic() > deadline:
                raise AssertionError("GET /api/calls: want hold %r, got "
                                     "HTTP %d %r" % (want, code, body))
            time.sleep(0.05)

    def up(self, what):
        for n, bp in self.phones.items():
            if "(1)" not in bp.listcalls():
                raise AssertionError("%s: %s's call is gone (events %r); "
                                     "log:\n%s" % (what, n, [
                                         (e.get("type"), e.get("param"))
                                         for e in bp.events()
                                         if e.get("class") == "call"][-6:],
                                         self.sb.tail(15)))

    def heard_tone(self, bp, hz, other, t0, t1):
        samples, npk = self.sniffer.audio(self.ports(bp), t0, t1)
        wav = pbx.write_wav16(os.path.join(
            self.tmp, "heard-%s-%d.wav" % (bp.name, int(t0))),
            [s * 32767 for s in samples])
        r, text = pbx.tone_check(wav, hz, [other], talk_s=t1 - t0,
                                 min_share=0.8, max_gap_ms=200)
        return "%s (%d pkts)" % (text, npk)

    def heard_music(self, bp, t0, t1):
        samples, npk = self.sniffer.audio(self.ports(bp), t0, t1)
        return music_check(samples, npk, t1 - t0, (A_HZ, B_HZ))

    def cdr(self, call_id, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.sb.api("GET", "/api/cdrs?limit=10")
            c = [c for c in (body or {}).get("cdrs", [])
                 if c.get("call_id") == call_id and c.get("end_ms")]
            if c:
                return c[0]
            if time.monotonic() > deadline:
                raise AssertionError("no finished CDR with Call-ID %s: %r"
                                     % (call_id, body))
            time.sleep(0.1)

    def run_call(self):
        a = self.phone("3001", 0, A_HZ)
        b = self.phone("3002", 1, B_HZ)
        notes, problems = [], []

        def check(label, fn, *args):
            try:
                notes.append("%s: %s" % (label, fn(*args)))
            except AssertionError as e:
                problems.append("%s: %s" % (label, e))

        b.clear_events()
        a.dial("sip:3002@%s" % pbx.DOMAIN)
        ea = a.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        b.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        t_est = time.time()
        self.hold_state(None)
        time.sleep(2.0)

        a.command("hold")
        t_hold = self.hold_state("caller")
        time.sleep(RTP_TIMEOUT_S + 2.5)
        self.up("on hold past the RTP timeout")
        t_bhold = time.time()
        b.command("hold")
        t_both = self.hold_state("both")
        time.sleep(2.0)
        t_bres = time.time()
        b.command("resume")
        self.hold_state("caller")
        time.sleep(0.5)
        a.command("resume")
        t_res = self.hold_state(None)
        time.sleep(2.5)
        self.up("after the resume")
        t_hang = time.time()
        a.hangup()
        a.wait_event("CALL_CLOSED", 5)
        b.wait_event("CALL_CLOSED", 5)

        check("B before the hold", self.heard_tone, b, A_HZ, B_HZ,
              t_est + 0.3, t_hold - 0.05)
        check("B held", self.heard_music, b, t_hold + 0.6, t_bhold)
        check("A held by B", self.heard_music, a, t_both + 0.6, t_bres)
        check("B after the resume", self.heard_tone, b, A_HZ, B_HZ,
              t_res + 0.6, t_hang - 0.05)
        check("A after the resume", self.heard_tone, a, B_HZ, A_HZ,
              t_res + 0.6, t_hang - 0.05)

        kept = [ln for ln in open(self.sb.log_path, errors="replace")
                if "on hold, kept" in ln]
        if not kept:
            problems.append("no RTP timeout was reported while on hold "
                            "(the log never says 'on hold, kept'): the "
                            "test did not outlast the relay's timeout")
        else:
            notes.append("RTP timeouts ignored on hold: %d" % len(kept))
        c = self.cdr(ea.get("id"))
        if c.get("disposition") != "ANSWERED" or \
                c.get("reason") != "caller hung up":
            problems.append("CDR %r" % c)
        else:
            notes.append("CDR %s, %s, %.1f s" % (
                c["disposition"], c["reason"],
                (c["end_ms"] - c["answer_ms"]) / 1000.0))
        if problems:
            raise AssertionError("; ".join(problems) + " [ok: %s]"
                                 % "; ".join(notes))
        return "; ".join(notes)

    def run(self):
        ok = False
        log("work dir %s (netns: %s), switchboard %s, music: %s"
            % (self.tmp, os.environ.get("SWITCHBOARD_E2E_NETNS", "?"),
               self.args.switchboard, self.moh_note))
        try:
            self.sb.start()
            self.sb.wait_relay("ready", 10)
            self.sniffer = PayloadSniffer(
                (self.sb.sip_port,),
                range(self.base + 1000, self.base + 1040))
            try:
                self.sniffer.start()
            except OSError as e:
                raise AssertionError("cannot capture on lo (%s): the music "
                                     "is checked on the wire" % e)
            t = time.monotonic()
            detail = self.run_call()
            print("ok hold and resume (%.1f s): %s"
                  % (time.monotonic() - t, detail), flush=True)
            ok = True
        except (AssertionError, PhoneError, OSError, ValueError) as e:
            print("FAIL hold and resume: %s" % e, flush=True)
        finally:
            for bp in self.phones.values():
                bp.stop()
            self.sb.stop()
            if self.sniffer is not None:
                self.sniffer.stop()
            if not ok:
                log("switchboard log tail (%s):\n%s"
                    % (self.sb.log_path, self.sb.tail(25)))
            if ok and not self.args.keep and not self.args.workdir:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log("work dir kept: %s" % self.tmp)
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--base-port", type=int, default=24400,
                    help="switchboard SIP port; API +1; phones +10..+35, "
                    "RTP +1000..+1039; relay +1200..+1299")
    ap.add_argument("--switchboard", help="the binary to test")
    ap.add_argument("--log-level", default="info",
                    help="switchboard log_level (debug logs SIP)")
    ap.add_argument("--sip-trace", action="store_true",
                    help="baresip -s (SIP trace in each baresip.log)")
    ap.add_argument("--workdir", help="use this work dir (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    baresip = pbx.find_baresip()
    if not baresip:
        print("SKIP: baresip not installed", flush=True)
        return 77
    BaresipPhone.BARESIP = baresip
    pbx.reexec_in_netns(__file__)
    pbx.no_proxy()
    args.switchboard = pbx.find_switchboard(args.switchboard)
    if not os.access(args.switchboard, os.X_OK):
        print("FAIL: no switchboard binary at %s (build it first)"
              % args.switchboard, flush=True)
        return 1
    ok = Test(args).run()
    log("%s in %.1f s" % ("PASS" if ok else "FAIL", time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
