#!/usr/bin/env python3
"""End-to-end test of the meet-me rooms (*8 and a room number of 1-4
digits): callers of one room hear each other (mix minus themselves) in a
mixer on sbrelay, a beep (1400 Hz, 500 ms) tells the room that someone
came in, the last one out closes the room.

Four baresip phones (PCMU), each sending its own continuous tone the whole
call: A 600 Hz, B 940 Hz, C 1660 Hz (*81: room 1), D 2200 Hz (*82: room
2; the room number is what follows the code *8, and the log names it so).
The tones are chosen so that no sum, difference, harmonic or third-order
product of any two of them lands on a third one or on the beep: a phone's
own frequency in what it hears can only be its own signal coming back.
A, B and C dial *81 about 1.2 s apart, D dials *82 1.2 s after C; the
room runs ~3.5 s more, C hangs up, A and B talk on for ~2.5 s; C then
dials three numbers that must be refused; A, B, D hang up.  Checks:

  1  room 1 with all three in (the last ~3 s before C hangs up, >1.5 s
     after the last join beep): each phone hears the two others' tones in
     at least 90 % of 50 ms frames, no run of 200 ms without them, its
     own tone in at most 5 % of the frames at 10 % (-20 dB) of the weaker
     other tone or more, D's tone never; the RTP reaching it has no
     arrival gap over 200 ms; its baresip recording of that window agrees
  2  join beeps: A hears 1400 Hz for 0.3..0.75 s within 1.5 s after B
     came in, and again after C came in; B and C hear C's join beep too
  3  C hangs up: over 2 s after that, A and B hear each other's tone (as
     in 1) and C's tone is gone (below -20 dB of the other and -40 dBFS)
  4  *82 is another room: D hears its own join beep, then silence
     (below -40 dBFS, none of room 1's tones) while room 1 talks; room 1
     hears no beep when D joins room 2, and never D's tone
  5  *812345 (5 digits), *8 (no digits) and *81x (not a digit) are
     refused with 404, and room 1 hears no beep meanwhile
  6  after everyone hung up: switchboard and its relay are up, GET
     /api/status says no calls and no relay calls, and the log says
     "room 1: closed" and "room 2: closed" once each

What a phone heard is taken from the wire: the PCMU the relay sends to
its RTP ports, captured on lo (AF_PACKET: root, or the user namespace
netns.sh makes), decoded, with kernel time stamps; each phone's sndfile
recording is checked as well for the window of check 1.  Without capture
the recordings alone are used (their first sample taken as the call's
start), with a note.

Prints ``ok N: ...`` or ``not ok N: ...`` per check.  Exit 0 when all
pass, 1 otherwise, 77 (skip) when baresip is missing.  Runs itself inside
a loopback-only network namespace (netns.sh) unless SWITCHBOARD_E2E_NETNS
is set.  ~13 s.

    test/e2e/meetme_test.py [--keep] [--base-port N] [--log-level debug]
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

CODE = "*8"
ROOM, OTHER_ROOM = "1", "2"           # dialled as *81, *82
TONES = {"A": 600, "B": 940, "C": 1660, "D": 2200}
BEEP_HZ = 1400
BEEP_MIN_S, BEEP_MAX_S = 0.3, 0.75     # 500 ms in 50 ms frames
BAD_ROOMS = ("*812345", "*8", "*81x")
AMPLITUDE = 0.25          # -12 dBFS each: two summed do not clip
MODULES = ("g711.so",)
FRAME_S = 0.05            # analysis frames (multiples of 20 Hz are exact)
PRESENT_DBFS = -30.0      # a tone heard (sent at -12 dBFS)
ABSENT_DBFS = -40.0       # a tone not heard
OWN_RATIO = 0.1           # own tone at most this of the weaker other one
MIN_SHARE = 0.9           # of the frames with the others' tones
MAX_GAP_MS = 200.0
SPACING_S = 1.2           # between the joins (a beep lasts 0.5 s)
ALL_IN_S = 3.5            # after the last join (room 82) until C leaves
AFTER_S = 2.5             # after C left

T0 = time.monotonic()


def log(msg):
    print("[meetme_test %6.2fs] %s" % (time.monotonic() - T0, msg),
          flush=True)


def wall(mono):
    """A time.monotonic() value on the wall clock (the sniffer's)."""
    return mono + (time.time() - time.monotonic())


def dbfs(a):
    return 20 * math.log10(a) if a > 1e-10 else -200.0


def wait_recording_done(paths, timeout=2.0):
    """sndfile finalises the WAV when the call closes; wait until the sizes
    stop changing (bounded)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        sizes = [os.path.getsize(p) if os.path.exists(p) else -1
                 for p in paths]
        if sizes == last:
            return
        last = sizes
        time.sleep(0.2)


class PayloadSniffer(pbx.RtpSniffer):
    """RtpSniffer that also keeps the PCMU payload of the RTP sent to some
    ports: (t, dport, seq, payload)."""

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
        r = pbx.rtp_parse(frame[u + 8:u + ulen])
        if r is None or r[0] != 0:
            return                          # PCMU only
        with self._lock:
            self.payloads.append((t, dport, r[1], r[4]))

    def audio(self, ports, t0, t1):
        """What was sent to `ports` in [t0, t1], decoded, in arrival
        order: (samples in [-1, 1], the arrival time of each sample's
        packet, packets)."""
        with self._lock:
            pk = [p for p in self.payloads
                  if p[1] in ports and t0 <= p[0] <= t1]
        pk.sort(key=lambda p: p[0])
        out, times = [], []
        for p in pk:
            d = pbx.ulaw_decode(p[3])
            out += d
            times += [p[0]] * len(d)
        return [s / 32768.0 for s in out], times, len(pk)

    def first(self, ports, t0):
        """Arrival time of the first PCMU packet to `ports` after t0."""
        with self._lock:
            ts = [p[0] for p in self.payloads if p[1] in ports and
                  p[0] >= t0]
        return min(ts) if ts else None


class Frames:
    """Goertzel amplitudes of some frequencies in 50 ms frames of a
    stretch of audio, and its RMS per frame."""

    def __init__(self, samples, freqs, rate=8000, label="", expect_s=None,
                 times=None):
        n = int(rate * FRAME_S)
        self.label = label
        # when each frame was heard: its first packet's arrival (wire), or
        # from the first sample on
        self.times = [times[i] if times else i / float(rate)
                      for i in range(0, len(samples) - n + 1, n)]
        self.seconds = len(samples) / float(rate)
        self.expect_s = self.seconds if expect_s is None else expect_s
        self.amp = {hz: [] for hz in freqs}
        self.rms = []
        for i in range(0, len(samples) - n + 1, n):
            f = samples[i:i + n]
            self.rms.append(math.sqrt(sum(x * x for x in f) / n))
            for hz in freqs:
                self.amp[hz].append(audio.goertzel_amplitude(f, hz, rate))

    def __len__(self):
        return len(self.rms)

    def median_db(self, hz):
        v = sorted(self.amp[hz])
        return dbfs(v[len(v) // 2]) if v else -200.0

    def runs(self, flags):
        """[(start frame, length)] of the runs of True."""
        out, start = [], None
        for i, f in enumerate(list(flags) + [False]):
            if f and start is None:
                start = i
            elif not f and start is not None:
                out.append((start, i - start))
                start = None
        return out


def hears(fr, want, own, absent):
    """Check a Frames: each of `want` present (PRESENT_DBFS) in MIN_SHARE
    of the frames with no run without them over MAX_GAP_MS; `own` at most
    OWN_RATIO of the weaker wanted tone (in 95 % of the frames); each of
    `absent` below ABSENT_DBFS and below OWN_RATIO of the weaker wanted
    tone (in 98 %).  Returns text; raises AssertionError with it."""
    nf = len(fr)
    floor = 10 ** (PRESENT_DBFS / 20)
    problems = []
    if nf < 10 or nf * FRAME_S < 0.8 * fr.expect_s:
        problems.append("only %.2f s of audio in %.2f s" % (nf * FRAME_S,
                                                            fr.expect_s))
    parts = []
    both = [all(fr.amp[hz][i] > floor for hz in want) for i in range(nf)]
    for hz in want:
        k = sum(1 for a in fr.amp[hz] if a > floor)
        parts.append("%d Hz %.0f%% (%.1f dBFS)" % (hz, 100.0 * k / max(1, nf),
                                                 fr.median_db(hz)))
        if k < MIN_SHARE * nf:
            problems.append("%d Hz in only %.0f%% of the frames"
                            % (hz, 100.0 * k / max(1, nf)))
    gaps = [ln for s, ln in fr.runs([not b for b in both])]
    gap_ms = max(gaps) * FRAME_S * 1000 if gaps else 0.0
    if gap_ms > MAX_GAP_MS:
        problems.append("%.0f ms without %s" % (gap_ms, " + ".join(
            "%d Hz" % hz for hz in want)))
    parts.append("gap %.0f ms" % gap_ms)

    # the level the others are heard at: the median of the weaker one
    ref = max(floor, min(sorted(fr.amp[hz])[nf // 2] for hz in want)
              if nf else 0.0)
    lim = 10 ** (ABSENT_DBFS / 20)
    for hz, limit, what in ([(own, 0.05, "own")] if own else []) + \
            [(h, 0.02, "absent") for h in absent]:
        if what == "own":
            bad = [i for i in range(nf) if fr.amp[hz][i] >= OWN_RATIO * ref]
        else:
            bad = [i for i in range(nf) if fr.amp[hz][i] >= lim or
                   fr.amp[hz][i] >= OWN_RATIO * ref]
        peak = max(fr.amp[hz], default=0.0)
        parts.append("%s %d Hz in %d%% (median %.1f dBFS, peak %.0f%% of "
                     "the others)" % (what, hz, round(100.0 * len(bad)
                                                      / max(1, nf)),
                                      fr.median_db(hz),
                                      100 * peak / max(ref, 1e-9)))
        if len(bad) > limit * nf:
            problems.append("%s %d Hz heard in %.0f%% of the frames"
                            % ("its own" if what == "own" else "the",
                               hz, 100.0 * len(bad) / max(1, nf)))
    text = "%s%.1f s: %s" % (fr.label + " " if fr.label else "", fr.seconds,
                            ", ".join(parts))
    if problems:
        raise AssertionError("%s [%s]" % ("; ".join(problems), text))
    return text


def beeps(fr, t0):
    """[(start in s since t0, length in s)] of the 1400 Hz runs in a
    Frames."""
    floor = 10 ** (PRESENT_DBFS / 20)
    return [(fr.times[s] - t0, ln * FRAME_S)
            for s, ln in fr.runs([a > floor for a in fr.amp[BEEP_HZ]])]


def beep_text(found):
    return ", ".join("%.2f s of %d Hz at %+.2f s" % (ln, BEEP_HZ, s)
                     for s, ln in found) or "no beep"


class Check:
    TITLES = {
        1: "*8%s, all three in: each hears the two others, not itself"
           % ROOM,
        2: "join beeps (%d Hz) when the second and the third came in"
           % BEEP_HZ,
        3: "one hangs up: the two left hear each other, not it",
        4: "*8%s is another room" % OTHER_ROOM,
        5: "bad room numbers get 404",
        6: "the rooms close: no calls left, PBX and relay up",
    }

    def __init__(self, n):
        self.n = n
        self.ok = True
        self.notes = []
        self.problems = []

    def note(self, text):
        self.notes.append(text)

    def failed(self, text):
        self.ok = False
        self.problems.append(text)

    def run(self, label, fn, *args):
        try:
            self.note("%s: %s" % (label, fn(*args)))
        except AssertionError as e:
            self.failed("%s: %s" % (label, e))

    def line(self):
        text = "; ".join(self.problems) if self.problems else \
            "; ".join(self.notes)
        if self.problems and self.notes:
            text += " [ok: %s]" % "; ".join(self.notes)
        return "%s %d: %s: %s" % ("ok" if self.ok else "not ok", self.n,
                                  self.TITLES[self.n], text)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-meetme-")
        os.makedirs(self.tmp, exist_ok=True)
        base = self.base = args.base_port
        self.relay_ports = (base + 1200, base + 1299)
        extra = {"relay_port_min": self.relay_ports[0],
                 "relay_port_max": self.relay_ports[1]}
        self.sb = pbx.Switchboard(args.switchboard, self.tmp, base, base + 1,
                                  args.log_level, extra=extra)
        self.phones = {}
        self.sniffer = None
        self.sniff_note = ""
        self.checks = {n: Check(n) for n in range(1, 7)}
        self.t = {}                 # wall-clock times of the timeline
        self.rec0 = {}

    # ---- phones -----------------------------------------------------------

    def phone(self, key, i):
        number = str(4001 + i)
        password = "secret-%s" % number
        self.sb.add_extension(number, password, auth_order="md5-only")
        b = self.base
        hz = TONES[key]
        bp = BaresipPhone(
            "p%s" % number, os.path.join(self.tmp, "%s-%s" % (key, number)),
            "127.0.0.1", sip_port=b + 10 + 10 * i, ctrl_port=b + 15 + 10 * i,
            rtp_ports=(b + 1000 + 20 * i, b + 1019 + 20 * i),
            tone_wav=audio.make_tone(os.path.join(
                self.tmp, "tone-%d.wav" % hz), hz, 60, amplitude=AMPLITUDE),
            modules=MODULES, lifetime=90, sip_trace=self.args.sip_trace)
        bp.key, bp.hz, bp.number = key, hz, number
        bp.rtp = range(bp.rtp_ports[0], bp.rtp_ports[1] + 1)
        self.phones[key] = bp
        bp.start(timeout=5)
        bp.add_account(pbx.account_line(number, password, self.sb.sip_port,
                                        codecs="PCMU/8000"))
        bp.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        return bp

    def join(self, bp, dialled):
        """bp dials `dialled`; returns the wall time it was established."""
        self.rec0[bp.key] = bp.recordings()
        t = time.time()
        bp.dial("sip:%s@%s" % (dialled, pbx.DOMAIN))
        try:
            ev = bp.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        except PhoneError as e:
            raise AssertionError("%s (%s) dialling %s: %s; SIP: %s"
                                 % (bp.key, bp.number, dialled,
                                    str(e).split("; events seen")[0],
                                    self.flow(t)))
        return wall(ev["_t"])

    def up(self, keys, what):
        for k in keys:
            bp = self.phones[k]
            if "(1)" not in bp.listcalls():
                raise AssertionError("%s: %s's call is gone (events %r)"
                                     % (what, k, [(e.get("type"),
                                                   e.get("param"))
                                                  for e in bp.events()
                                                  if e.get("class") ==
                                                  "call"][-6:]))

    def hangup(self, bp):
        t = time.time()
        bp.hangup()
        bp.wait_event("CALL_CLOSED", 5)
        return t

    def flow(self, t0):
        if self.sniffer is None:
            return "(no capture)"
        ports = {bp.sip_port: k for k, bp in self.phones.items()}
        lines = pbx.sip_flow(self.sniffer.sip_messages(t0), ports,
                             self.sb.sip_port)
        return " | ".join(lines) if lines else "(no INVITE seen)"

    # ---- what a phone heard ----------------------------------------------

    def recording(self, bp):
        new = [p for p in bp.recordings() if p not in self.rec0[bp.key]]
        if len(new) != 1:
            raise AssertionError("%s: want one new recording, got %r"
                                 % (bp.key, new))
        return new[0]

    def rec_samples(self, bp, t0, t1):
        """The stretch [t0, t1] of bp's sndfile recording, its first
        sample taken as the first RTP packet that reached the phone (or,
        without capture, as the call's establishment); returns (samples,
        the time of the first one)."""
        path = self.recording(bp)
        start = None
        if self.sniffer is not None:
            start = self.sniffer.first(bp.rtp, self.t["dial_" + bp.key])
        if start is None:
            start = self.t["est_" + bp.key]
        rate, samples = audio.read_wav(path)
        t0 = max(t0, start)
        a = int((t0 - start) * rate)
        b = min(len(samples), int((t1 - start) * rate))
        if b - a < rate * (t1 - t0) * 0.8:
            raise AssertionError("%s: recording %s has %.2f s, too short for "
                                 "%.1f..%.1f s after its start"
                                 % (bp.key, os.path.basename(path),
                                    len(samples) / float(rate), t0 - start,
                                    t1 - start))
        return samples[a:b], t0

    def heard(self, bp, t0, t1, freqs, label=None):
        """Frames of what bp heard in [t0, t1]: from the wire, else from
        its recording."""
        if self.sniffer is not None:
            samples, times, npk = self.sniffer.audio(bp.rtp, t0, t1)
            return Frames(samples, freqs, label=label or "wire %d pkts" % npk,
                          expect_s=t1 - t0, times=times)
        samples, t0 = self.rec_samples(bp, t0, t1)
        fr = Frames(samples, freqs, label=label or "recording",
                    expect_s=t1 - t0)
        fr.times = [t0 + x for x in fr.times]
        return fr

    def arrival(self, bp, t0, t1):
        if self.sniffer is None:
            return ""
        pk = [p for p in self.sniffer.rtp_to(bp.rtp, t0, t1)]
        r = pbx.arrival_report(pk, t0, t1)
        text = ", arrival gap %.0f ms" % r["gap_ms"]
        if r["gap_at"] is not None and r["gap_ms"] > 60:
            text += " at %+.2f s from D's join" % (r["gap_at"]
                                                   - self.t["est_D"])
        if r["gap_ms"] > MAX_GAP_MS:
            raise AssertionError("no RTP reached %s for %.0f ms%s" %
                                 (bp.key, r["gap_ms"], text))
        return text

    def all_freqs(self):
        return sorted(set(TONES.values()) | {BEEP_HZ})

    # ---- the run -------------------------------------------------------

    def scenario(self):
        A, B, C, D = (self.phone(k, i) for i, k in enumerate("ABCD"))
        t = self.t
        for bp, room in ((A, ROOM), (B, ROOM), (C, ROOM), (D, OTHER_ROOM)):
            if bp is not A:
                time.sleep(SPACING_S)
            t["dial_" + bp.key] = time.time()
            t["est_" + bp.key] = self.join(bp, CODE + room)
            log("%s (%s, %d Hz) in room %s (%s%s)" % (
                bp.key, bp.number, bp.hz, room, CODE, room))
        time.sleep(ALL_IN_S)
        self.up("ABCD", "all in")
        t["hang_C"] = self.hangup(C)
        time.sleep(AFTER_S)
        self.up("ABD", "after C left")
        t["bad0"] = time.time()
        for dialled in BAD_ROOMS:
            self.bad_room(C, dialled)
        t["bad1"] = time.time()
        time.sleep(1.0)
        self.up("ABD", "after the bad rooms")
        t["hang_A"] = self.hangup(A)
        t["hang_B"] = self.hangup(B)
        t["hang_D"] = self.hangup(D)
        wait_recording_done([r for bp in (A, B, C, D)
                             for r in bp.recordings()])

    def bad_room(self, bp, dialled):
        c = self.checks[5]
        t = time.time()
        bp.dial("sip:%s@%s" % (dialled, pbx.DOMAIN))
        try:
            ev = bp.wait_event(("CALL_CLOSED", "CALL_ESTABLISHED"), 8)
        except PhoneError as e:
            c.failed("%s: no answer within 8 s (%s)"
                     % (dialled, str(e).split("; events seen")[0]))
            return
        if ev.get("type") == "CALL_ESTABLISHED":
            c.failed("%s was answered" % dialled)
            bp.hangup()
            bp.wait_event("CALL_CLOSED", 5)
            return
        param = ev.get("param") or ""
        if "404" not in param:
            c.failed("%s: call closed with %r, not 404; SIP: %s"
                     % (dialled, param, self.flow(t)))
            return
        wire = [ln.split(" [")[0] for ln in self.flow(t).split(" | ")
                if ln.startswith("pbx->")] if self.sniffer else []
        c.note("%s: %s%s" % (dialled, param, " (on the wire: %s)"
                             % ", ".join(wire) if wire else ""))

    def analyse(self):
        for n, fn in ((1, self.analyse1), (2, self.analyse2),
                      (3, self.analyse3), (4, self.analyse4),
                      (5, self.analyse5)):
            try:
                fn(*(self.phones[k] for k in "ABCD"), self.t,
                   self.all_freqs())
            except (AssertionError, OSError, ValueError) as e:
                self.checks[n].failed("cannot analyse: %s" % e)

    def analyse1(self, A, B, C, D, t, freqs):
        # 1: all three in room 1, >1.5 s after C's join beep
        c = self.checks[1]
        w0, w1 = max(t["est_D"] + 0.5, t["est_C"] + 1.5), t["hang_C"] - 0.1
        for bp in (A, B, C):
            others = [p.hz for p in (A, B, C) if p is not bp]
            c.run(bp.key, lambda bp=bp, others=others: hears(
                self.heard(bp, w0, w1, freqs), others, bp.hz, [D.hz])
                + self.arrival(bp, w0, w1))
            if self.sniffer is not None:
                c.run(bp.key + " recording", lambda bp=bp, others=others:
                      hears(Frames(self.rec_samples(bp, w0 + 0.2,
                                                    w1 - 0.2)[0],
                                   freqs, label="recording"),
                            others, bp.hz, [D.hz]))

    def analyse2(self, A, B, C, D, t, freqs):
        c = self.checks[2]
        for who, came, nxt in ((A, B, C), (A, C, D), (B, C, D), (C, C, D)):
            est = t["est_" + came.key]
            fr = self.heard(who, est - 0.3, min(est + 1.5,
                                                t["dial_" + nxt.key]),
                            [BEEP_HZ])
            found = beeps(fr, est)
            text = "%s heard %s when %s came in" % (who.key, beep_text(found),
                                                    came.key)
            if len(found) == 1 and BEEP_MIN_S <= found[0][1] <= BEEP_MAX_S:
                c.note(text)
            else:
                c.failed("%s (want one beep of %.2f..%.2f s)"
                         % (text, BEEP_MIN_S, BEEP_MAX_S))

    def analyse3(self, A, B, C, D, t, freqs):
        c = self.checks[3]
        w0, w1 = t["hang_C"] + 0.5, t["hang_C"] + 0.5 + 2.0
        for bp, other in ((A, B), (B, A)):
            c.run(bp.key, lambda bp=bp, other=other: hears(
                self.heard(bp, w0, w1, freqs), [other.hz], bp.hz,
                [C.hz, D.hz]) + self.arrival(bp, w0, w1))

    def analyse4(self, A, B, C, D, t, freqs):
        c = self.checks[4]
        fr = self.heard(D, t["est_D"] - 0.5, t["est_D"] + 1.5, [BEEP_HZ])
        found = beeps(fr, t["est_D"])
        text = "D heard %s when it came in" % beep_text(found)
        if len(found) == 1 and BEEP_MIN_S <= found[0][1] <= BEEP_MAX_S:
            c.note(text)
        else:
            c.failed(text)
        w0, w1 = t["est_D"] + 1.0, t["hang_C"] + AFTER_S
        fr = self.heard(D, w0, w1, freqs)
        room1 = [A.hz, B.hz, C.hz]
        c.run("D, %.1f s while room %s talked" % (w1 - w0, ROOM),
              lambda: self.silence(fr, room1 + [D.hz, BEEP_HZ]))
        for bp in (A, B, C):
            fr = self.heard(bp, t["est_D"] - 0.3, t["est_D"] + 1.5,
                            [BEEP_HZ])
            found = beeps(fr, t["est_D"])
            if found:
                c.failed("%s (room %s) heard %d Hz when D came into room %s:"
                         " %s" % (bp.key, ROOM, BEEP_HZ, OTHER_ROOM, found))
        if c.ok:
            c.note("no beep in room %s when D came in (D's %d Hz is checked "
                   "absent in 1 and 3)" % (ROOM, D.hz))

    def analyse5(self, A, B, C, D, t, freqs):
        # nobody came in while the bad numbers were dialled
        c = self.checks[5]
        for bp in (A, B):
            fr = self.heard(bp, t["bad0"], t["bad1"] + 0.6, [BEEP_HZ])
            found = beeps(fr, t["bad0"])
            if found:
                c.failed("%s heard %d Hz meanwhile: %s" % (bp.key, BEEP_HZ,
                                                           found))
        if c.ok:
            c.note("no beep in room %s meanwhile (%.1f s)"
                   % (ROOM, t["bad1"] + 0.6 - t["bad0"]))

    def silence(self, fr, absent):
        lim = 10 ** (ABSENT_DBFS / 20)
        loud = [i for i in range(len(fr)) if fr.rms[i] >= lim]
        parts = ["%d frames, %d over %.0f dBFS (loudest %.1f dBFS)"
                 % (len(fr), len(loud), ABSENT_DBFS,
                    dbfs(max(fr.rms, default=0.0)))]
        problems = []
        if len(fr) < 10:
            problems.append("only %d frames" % len(fr))
        if len(loud) > 0.02 * len(fr):
            problems.append("sound in %d frames" % len(loud))
        for hz in absent:
            k = sum(1 for a in fr.amp[hz] if a >= lim)
            if k:
                problems.append("%d Hz in %d frames" % (hz, k))
        text = "%s: %s" % (fr.label, ", ".join(parts))
        if problems:
            raise AssertionError("%s [%s]" % ("; ".join(problems), text))
        return text

    def closed(self):
        c = self.checks[6]
        deadline = time.monotonic() + 5
        while True:
            code, body = self.sb.api("GET", "/api/status")
            relays = body.get("relays") if isinstance(body, dict) else None
            if code == 200 and body.get("calls") == 0 and relays and \
                    all(r.get("calls") == 0 for r in relays) and \
                    body.get("relay") == "ready":
                c.note("GET /api/status: calls 0, relay ready, relays %s"
                       % ", ".join("%s %s calls %d" % (r.get("address"),
                                                       r.get("state"),
                                                       r.get("calls"))
                                   for r in relays))
                break
            if time.monotonic() > deadline:
                c.failed("GET /api/status 5 s after the last hang-up: HTTP "
                         "%d %r" % (code, body))
                break
            time.sleep(0.1)
        if not self.sb.alive():
            c.failed("switchboard exited with %s" % self.sb.proc.returncode)
        rpid = self.sb.relay_pid()
        if rpid is None:
            c.failed("no sbrelay under switchboard (%r)"
                     % self.sb.relay_pids())
        elif rpid != self.relay_pid0:
            c.failed("sbrelay pid %d, not %s as at the start: it was "
                     "restarted" % (rpid, self.relay_pid0))
        else:
            c.note("switchboard pid %d, sbrelay pid %d" % (self.sb.pid,
                                                           rpid))
        with open(self.sb.log_path, errors="replace") as f:
            text = f.read()
        for room in (ROOM, OTHER_ROOM):
            n = text.count("room %s: closed" % room)
            if n != 1:
                c.failed("the log says 'room %s: closed' %d times" % (room,
                                                                     n))
        if c.ok:
            c.note("log: 'room %s: closed', 'room %s: closed'"
                   % (ROOM, OTHER_ROOM))

    def run(self):
        ok = False
        log("work dir %s (netns: %s), switchboard %s"
            % (self.tmp, os.environ.get("SWITCHBOARD_E2E_NETNS", "?"),
               self.args.switchboard))
        try:
            self.sb.start()
            self.sb.wait_relay("ready", 10)
            self.relay_pid0 = self.sb.relay_pid()
            self.sniffer = PayloadSniffer(
                (self.sb.sip_port,),
                range(self.base + 1000, self.base + 1080))
            try:
                self.sniffer.start()
                self.sniff_note = "capturing on lo"
            except OSError as e:
                self.sniffer = None
                self.sniff_note = ("NOTE: no capture on lo (%s): the "
                                   "recordings alone are analysed" % e)
            log(self.sniff_note)
            try:
                self.scenario()
            except (AssertionError, PhoneError, OSError, ValueError) as e:
                print("not ok 1: %s: scenario broke off: %s"
                      % (Check.TITLES[1], e), flush=True)
                return False
            finally:
                for bp in self.phones.values():
                    bp.stop()
            self.analyse()
            self.closed()
            for n in sorted(self.checks):
                print(self.checks[n].line(), flush=True)
            ok = all(c.ok for c in self.checks.values())
        except (AssertionError, PhoneError, OSError, ValueError) as e:
            print("not ok 1: set-up: %s" % e, flush=True)
        finally:
            for bp in self.phones.values():
                bp.stop()
            self.sb.stop()
            if self.sniffer is not None:
                self.sniffer.stop()
            if not ok:
                log("switchboard log tail (%s):\n%s"
                    % (self.sb.log_path, self.sb.tail(40)))
            if ok and not self.args.keep and not self.args.workdir:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log("work dir kept: %s" % self.tmp)
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--base-port", type=int, default=23400,
                    help="switchboard SIP port; API +1; phones +10..+45, "
                    "RTP +1000..+1079; relay +1200..+1299")
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
        print("not ok 1: no switchboard binary at %s (build it first)"
              % args.switchboard, flush=True)
        return 1
    ok = Test(args).run()
    log("%s in %.1f s" % ("PASS" if ok else "FAIL", time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
