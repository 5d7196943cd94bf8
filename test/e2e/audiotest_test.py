#!/usr/bin/env python3
"""End-to-end test of the audio test app (feature code *43): a caller
hears a prompt and a beep, what it says is recorded until '#', played back
to it, and the PBX hangs up.

One baresip phone (PCMU) that sends a continuous 700 Hz tone dials *43 and
presses '#' (RFC 4733) 2.5 s after the beep should have ended (answer +
length of the built prompt sounds/en/audio_test.wav + 0.6 s + 2.5 s).
Nothing else ever sends 700 Hz to that phone (there is no echo path), so
700 Hz after the beep can only be the recording played back.  Checks:

  1  the call is answered (200 OK) with media on sbrelay: the answer's SDP
     names a relay port and the RTP reaching the phone comes from one
  2  the prompt comes first: the beep starts about the prompt's length
     after the answer (at once when no prompt WAV was built), with sound
     before it
  3  the beep: 1400 Hz for about 0.5 s: 0.4..0.65 s of packets on the
     wire; 0.25..0.8 s in the recording, where baresip loses the beep's
     last ~0.1 s (its jitter buffer still holds them when the relay stops
     sending during the recording, and drops them when RTP resumes)
  4  the playback: 700 Hz for at least 1.5 s after the beep, none before
     it; on the wire (when lo can be captured): it starts within 1.5 s of
     the '#', and no 700 Hz reaches the phone while it is recorded
  5  the PBX hangs up by itself (CALL_CLOSED "Connection reset by peer")
     within 20 s of the dial; on the wire, after the playback and when
     sounds/en/goodbye.wav was built, sound for at least half its length
  6  a recording file appeared in <store dir>/media while recording, and
     the media directory is empty again after the call
  7  a second phone dials *43 and hangs up in the middle of the recording
     (before '#'): the recording being made is not left behind
  8  the PBX stays up: switchboard and its relay are there, and a third
     call to *43 is answered; its '#' 1 s into the prompt ends the prompt:
     on the wire the beep comes within 0.8 s of it (hung up 1.5 s later,
     while recorded; still no file left)

What the phone heard is taken from its sndfile recording (audio.analyse,
50 ms frames); when packets can be captured on lo (AF_PACKET: root or the
user namespace netns.sh makes), the RTP reaching the phone is decoded too
and gives the timeline (printed with check 4) and the timing checks.

Prints ``ok N: ...`` or ``not ok N: ...`` per check.  Exit 0 when all
pass, 1 otherwise, 77 (skip) when baresip is missing.  Runs itself inside
a loopback-only network namespace (netns.sh) unless SWITCHBOARD_E2E_NETNS
is set.  ~35 s with the built prompts.

    test/e2e/audiotest_test.py [--keep] [--base-port N]
                               [--log-level debug] [--sip-trace]
"""

import argparse
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import audio                                                    # noqa: E402
import pbx                                                      # noqa: E402
from phone import BaresipPhone, PhoneError                      # noqa: E402

FEATURE = "*43"
TONE_HZ = 700             # what the phones send
BEEP_HZ = 1400            # the app's beep, 500 ms
BEEP_S = 0.5
BEEP_MIN_S, BEEP_MAX_S = 0.4, 0.65     # on the wire, 20 ms packets
REC_BEEP_MIN_S = 0.25     # in the phone's recording (see heard())
HASH_AFTER_BEEP_S = 2.5   # '#' this long after the beep should have ended
MIN_PLAYBACK_S = 1.5
CALL_TIMEOUT_S = 20.0     # dial to the PBX's BYE
MODULES = ("g711.so",)
FRAME_S = 0.05            # audio.analyse frames
SILENCE_DBFS = -45.0

T0 = time.monotonic()


def log(msg):
    print("[audiotest %6.2fs] %s" % (time.monotonic() - T0, msg),
          flush=True)


def wall(mono):
    """A time.monotonic() value on the wall clock (the sniffer's)."""
    return mono + (time.time() - time.monotonic())


def wav_seconds(path):
    """Length of a WAV file in seconds, or None if there is none."""
    if not os.path.exists(path):
        return None
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


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


def runs(flags):
    """[(start index, length)] of the runs of True in `flags`."""
    out, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - start))
            start = None
    return out


def classify(frame, rate=8000):
    """'beep', 'tone' (700 Hz), 'silence' or 'sound' for one frame of
    samples in [-1, 1], by audio.analyse's rules: the tone is above
    -40 dBFS, carries half the frame's energy and is 10 dB above the
    other."""
    n = len(frame)
    ms = sum(x * x for x in frame) / max(1, n)
    if ms <= 0 or 10 * math.log10(ms) < SILENCE_DBFS:
        return "silence"
    a7 = audio.goertzel_amplitude(frame, TONE_HZ, rate)
    a14 = audio.goertzel_amplitude(frame, BEEP_HZ, rate)
    floor, dom = 10 ** (-40 / 20.0), 10 ** (10 / 20.0)
    for a, b, name in ((a14, a7, "beep"), (a7, a14, "tone")):
        if a > floor and (a * a / 2) / ms >= 0.5 and a >= dom * b:
            return name
    return "sound"


def segments(items, pkt_s=0.02):
    """[(t, class)] in time order -> [(class, t_start, t_end)], merged;
    speech ('sound' with pauses under 0.3 s) becomes one 'speech'."""
    out = []
    for t, c in items:
        if out and out[-1][0] == c and t - out[-1][2] < 0.2:
            out[-1][2] = t + pkt_s
        else:
            out.append([c, t, t + pkt_s])
    merged = []
    for seg in out:
        c = "speech" if seg[0] == "sound" else seg[0]
        short_pause = seg[0] == "silence" and seg[2] - seg[1] < 0.3
        if merged and merged[-1][0] == "speech" and \
                (c == "speech" or short_pause) and \
                seg[1] - merged[-1][2] < 0.2:
            merged[-1][2] = seg[2]
        else:
            merged.append([c, seg[1], seg[2]])
    return [tuple(x) for x in merged]


class PayloadSniffer(pbx.RtpSniffer):
    """RtpSniffer that also keeps the PCMU payload of the RTP sent to some
    ports: (t, src port, dport, payload)."""

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
        sport, dport, ulen = struct.unpack("!HHH", frame[u:u + 6])
        if dport not in self.keep_ports:
            return
        rtp = frame[u + 8:u + ulen]
        if len(rtp) < 12 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:
            return                          # PCMU only
        hdr = 12 + 4 * (rtp[0] & 15)
        if rtp[0] & 0x10 and len(rtp) >= hdr + 4:
            hdr += 4 + 4 * struct.unpack("!H", rtp[hdr + 2:hdr + 4])[0]
        with self._lock:
            self.payloads.append((t, sport, dport, bytes(rtp[hdr:])))

    def heard(self, ports, t0, t1):
        """[(t, class)] of the PCMU packets sent to `ports` in [t0, t1],
        one per packet, in arrival order; and their source ports."""
        with self._lock:
            pk = [p for p in self.payloads
                  if p[2] in ports and t0 <= p[0] <= t1]
        pk.sort(key=lambda p: p[0])
        out = [(p[0], classify([s / 32768.0 for s in
                                pbx.ulaw_decode(p[3])])) for p in pk]
        return out, sorted({p[1] for p in pk})


class Check:
    """Outcome of one numbered check."""

    def __init__(self, n, title):
        self.n, self.title = n, title
        self.ok = None
        self.detail = ""

    def passed(self, detail):
        self.ok, self.detail = True, detail

    def failed(self, detail):
        self.ok, self.detail = False, detail

    def line(self):
        return "%s %d: %s: %s" % ("ok" if self.ok else "not ok", self.n,
                                  self.title, self.detail)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-atest-")
        os.makedirs(self.tmp, exist_ok=True)
        base = self.base = args.base_port
        self.relay_ports = (base + 1200, base + 1299)
        extra = {"relay_port_min": self.relay_ports[0],
                 "relay_port_max": self.relay_ports[1]}
        self.sb = pbx.Switchboard(args.switchboard, self.tmp, base, base + 1,
                                  args.log_level, extra=extra)
        self.media_dir = os.path.join(os.path.dirname(self.sb.store),
                                      "media")
        sounds = os.path.join(os.path.dirname(args.switchboard), "sounds",
                              "en")
        self.prompt_path = os.path.join(sounds, "audio_test.wav")
        self.goodbye_path = os.path.join(sounds, "goodbye.wav")
        self.prompt_s = wav_seconds(self.prompt_path)
        self.goodbye_s = wav_seconds(self.goodbye_path)
        self.tone = audio.make_tone(os.path.join(self.tmp, "tone-%d.wav"
                                                 % TONE_HZ), TONE_HZ, 60)
        self.phones = []
        self.sniffer = None
        self.sniff_note = ""
        self.baseline = set()
        self.checks = [Check(1, "*43 answered, media on sbrelay"),
                       Check(2, "the prompt comes before the beep"),
                       Check(3, "beep 1400 Hz ~0.5 s"),
                       Check(4, "the recording is played back"),
                       Check(5, "the PBX hangs up by itself"),
                       Check(6, "no recording left in the media directory"),
                       Check(7, "hang-up while recording leaves no file"),
                       Check(8, "the PBX stays up, *43 answers again, "
                             "'#' skips the prompt")]

    def check(self, n):
        return self.checks[n - 1]

    # ---- set-up ----------------------------------------------------------

    def phone(self, number, i):
        password = "secret-%s" % number
        self.sb.add_extension(number, password, auth_order="md5-only")
        b = self.base
        bp = BaresipPhone(
            "p%s" % number, os.path.join(self.tmp, "phone-%s" % number),
            "127.0.0.1", sip_port=b + 10 + 10 * i, ctrl_port=b + 15 + 10 * i,
            rtp_ports=(b + 1000 + 20 * i, b + 1019 + 20 * i),
            tone_wav=self.tone, modules=MODULES, lifetime=120,
            sip_trace=self.args.sip_trace)
        self.phones.append(bp)
        bp.start(timeout=5)
        bp.add_account(pbx.account_line(number, password, self.sb.sip_port,
                                        codecs="PCMU/8000"))
        bp.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        return bp

    def ports(self, bp):
        return range(bp.rtp_ports[0], bp.rtp_ports[1] + 1)

    # ---- files -----------------------------------------------------------

    def media_files(self):
        """Files under the media directory (relative paths, with sizes)."""
        out = {}
        for d, _, names in os.walk(self.media_dir):
            for nm in names:
                p = os.path.join(d, nm)
                try:
                    out[os.path.relpath(p, self.media_dir)] = \
                        os.path.getsize(p)
                except OSError:
                    pass
        return out

    def all_files(self):
        """Files of the work dir outside the phones' and our own dirs,
        the store and the logs: where a recording could be put."""
        out = set()
        skip = {os.path.join(self.tmp, "analysis")} | \
            {bp.workdir for bp in self.phones}
        store = os.path.basename(self.sb.store)
        for d, dirs, names in os.walk(self.tmp):
            dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
            for nm in names:
                if nm.startswith(store) or nm.endswith(".log"):
                    continue
                out.add(os.path.relpath(os.path.join(d, nm), self.tmp))
        return out

    def recording_files(self):
        """What looks like a recording in progress: the media dir's files,
        and new files anywhere else in the work dir (named relative to
        the work dir)."""
        media = {os.path.join("media", k) for k in self.media_files()}
        return media | (self.all_files() - self.baseline)

    def wait_media_empty(self, seen, timeout=3.0):
        """Wait (bounded) until the media dir holds no file and none of
        `seen` exists; returns what is left ({} when clean)."""
        deadline = time.monotonic() + timeout
        while True:
            left = {os.path.join("media", k): v
                    for k, v in self.media_files().items()}
            for s in seen:
                p = os.path.join(self.tmp, s)
                if os.path.exists(p):
                    left[s] = os.path.getsize(p)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    # ---- diagnostics -------------------------------------------------------

    def log_excerpt(self, since=0, n=40):
        """Lines of switchboard.log (and the relay's, which shares it)
        after byte `since` that speak of the app, recordings, plays,
        digits or errors."""
        pat = re.compile(r"audio.?test|\*43|%2a43|record|play|tone|beep|"
                         r"dtmf|pressed|digit|media|error|warn|fail|"
                         r"assert|abort|crash", re.I)
        try:
            with open(self.sb.log_path, errors="replace") as f:
                f.seek(since)
                lines = [ln.rstrip() for ln in f if pat.search(ln)]
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:]) if lines else "(nothing relevant)"

    def flow(self, t0, bp):
        if self.sniffer is None:
            return "(no capture)"
        lines = pbx.sip_flow(self.sniffer.sip_messages(t0),
                             {bp.sip_port: bp.name}, self.sb.sip_port)
        return " | ".join(lines) if lines else "(no INVITE seen)"

    def closed_events(self, bp, since):
        return [e.get("param") for e in bp.events()
                if e.get("type") == "CALL_CLOSED" and e.get("_t", 0) >= since]

    # ---- the SIP answer ----------------------------------------------------

    def answer_sdp(self, t0, bp):
        """(relay address, port) of the 200 OK to the phone's INVITE."""
        for t, sport, dport, text in self.sniffer.sip_messages(t0):
            if sport != self.sb.sip_port or dport != bp.sip_port:
                continue
            if not text.startswith("SIP/2.0 200") or \
                    not re.search(r"(?im)^cseq:\s*\d+\s+INVITE", text) or \
                    "\r\n\r\nv=0" not in text:
                continue
            conn, port, _, _ = pbx.sdp_media(text.split("\r\n\r\n", 1)[1])
            return conn, port
        return None, None

    # ---- 1..6: the full call ----------------------------------------------

    def full_call(self, a):
        c1, c2, c3, c4, c5, c6 = (self.check(i) for i in range(1, 7))
        rec0 = a.recordings()
        since = os.path.getsize(self.sb.log_path)
        m_dial = time.monotonic()
        t_dial = time.time()
        a.dial("sip:%s@%s" % (FEATURE, pbx.DOMAIN))
        try:
            ev = a.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        except PhoneError as e:
            time.sleep(0.3)
            why = "; ".join("CALL_CLOSED %r" % p for p in
                            self.closed_events(a, m_dial)) or \
                str(e).split("; events seen")[0]
            c1.failed("%s not answered: %s; SIP: %s; log:\n%s"
                      % (FEATURE, why, self.flow(t_dial, a),
                         self.log_excerpt(since)))
            for c in (c2, c3, c4, c5, c6):
                c.failed("not checked: the call was not answered")
            return
        m_ans = ev["_t"]
        prompt = self.prompt_s or 0.0
        m_beep_end = m_ans + prompt + BEEP_S          # expected
        m_probe = m_beep_end + 0.1 + HASH_AFTER_BEEP_S - 1.0
        m_hash = m_beep_end + 0.1 + HASH_AFTER_BEEP_S

        # while recording: which file is being written
        time.sleep(max(0.0, m_probe - time.monotonic()))
        seen = self.recording_files()
        up_at_hash = True
        time.sleep(max(0.0, m_hash - time.monotonic()))
        if "(1)" not in a.listcalls():
            up_at_hash = False
        m_hash = time.monotonic()
        if up_at_hash:
            a.send_dtmf("#")

        # the PBX plays it back, says goodbye and hangs up
        closed = None
        try:
            closed = a.wait_event("CALL_CLOSED",
                                  max(0.1, m_dial + CALL_TIMEOUT_S
                                      - time.monotonic()))
        except PhoneError:
            pass
        m_end = time.monotonic()
        if closed is None:
            try:
                a.hangup()
                a.wait_event("CALL_CLOSED", 5)
            except PhoneError:
                pass

        wire = self.wire_timeline(m_ans, m_hash, m_end)

        # 1: answered, media on the relay
        notes = ["answered %.2f s after the dial" % (m_ans - m_dial)]
        problems = []
        if self.sniffer is not None:
            conn, port = self.answer_sdp(t_dial, a)
            if port is None:
                problems.append("no 200 OK with SDP to the phone seen on "
                                "the wire; SIP: %s" % self.flow(t_dial, a))
            elif not self.relay_ports[0] <= port <= self.relay_ports[1]:
                problems.append("the answer's SDP names %s:%s, not a relay "
                                "port (%d-%d)" % (conn, port,
                                                  *self.relay_ports))
            else:
                notes.append("answer SDP %s:%d (relay)" % (conn, port))
            _, srcs = self.sniffer.heard(self.ports(a), wall(m_ans),
                                         wall(m_end))
            bad = [p for p in srcs if not self.relay_ports[0] <= p <=
                   self.relay_ports[1]]
            if not srcs:
                problems.append("no PCMU RTP reached the phone")
            elif bad:
                problems.append("RTP reached the phone from ports %s, not "
                                "the relay's" % bad)
            else:
                notes.append("RTP from relay port %s"
                             % ",".join(map(str, srcs)))
        else:
            notes.append("SDP/RTP sources not checked (%s)"
                         % self.sniff_note)
        if problems:
            c1.failed("; ".join(problems + notes))
        else:
            c1.passed("; ".join(notes))

        # 5: the PBX hung up, in time
        if closed is None:
            c5.failed("no CALL_CLOSED within %.0f s of the dial (we hung "
                      "up); '#' sent %.1f s after the answer%s"
                      % (CALL_TIMEOUT_S, m_hash - m_ans,
                         "" if up_at_hash else " -- NOT sent: the call was "
                         "already gone"))
        elif "peer" not in (closed.get("param") or "").lower():
            c5.failed("CALL_CLOSED %r (not the PBX's BYE) %.1f s after the "
                      "answer" % (closed.get("param"), closed["_t"] - m_ans))
        elif not up_at_hash:
            c5.failed("the PBX hung up %.1f s after the answer, before the "
                      "'#' was due (%.1f s)" % (closed["_t"] - m_ans,
                                                m_hash - m_ans))
        elif wire and self.goodbye_s and \
                wire["speech_after"] < 0.5 * self.goodbye_s:
            c5.failed("CALL_CLOSED %r, but only %.2f s of sound reached "
                      "the phone after the playback, the goodbye is %.2f s; "
                      "heard: %s" % (closed.get("param"),
                                     wire["speech_after"], self.goodbye_s,
                                     wire["text"]))
        else:
            bye = ""
            if wire and self.goodbye_s:
                bye += ", %.2f s of sound after the playback (goodbye %.2f " \
                    "s)" % (wire["speech_after"], self.goodbye_s)
            if self.sniffer is not None:
                byes = [t for t, sp, dp, txt in self.sniffer.sip_messages(
                    t_dial) if sp == self.sb.sip_port and dp == a.sip_port
                    and txt.startswith("BYE ")]
                bye += (", BYE on the wire %.2f s after the answer"
                        % (byes[0] - wall(m_ans))) if byes else \
                    ", (no BYE from the PBX seen on the wire)"
            c5.passed("CALL_CLOSED %r %.1f s after the dial, %.1f s after "
                      "the '#'%s" % (closed.get("param"),
                                     closed["_t"] - m_dial,
                                     closed["_t"] - m_hash, bye))

        # 6: the recording was in the media dir and is gone
        left = self.wait_media_empty(seen)
        in_media = sorted(s for s in seen if s.startswith("media" + os.sep))
        if not seen:
            c6.failed("no recording file appeared under %s while recording "
                      "(%.1f s after the beep should have ended); media dir "
                      "%s" % (self.tmp, m_probe - m_beep_end,
                              "exists" if os.path.isdir(self.media_dir)
                              else "does not exist"))
        elif left:
            c6.failed("left after the call: %s (seen while recording: %s)"
                      % (left, sorted(seen)))
        elif not in_media:
            c6.failed("the recording was not in %s but %s (gone after the "
                      "call)" % (self.media_dir, sorted(seen)))
        else:
            c6.passed("while recording: %s; after the call: media dir empty"
                      % ", ".join(in_media))

        # 2, 3, 4: what the phone heard
        rec = [p for p in a.recordings() if p not in rec0]
        if len(rec) != 1:
            for c in (c2, c3, c4):
                c.failed("expected one new recording of the phone, got %r"
                         % rec)
            return
        wait_recording_done(rec)
        self.heard(rec[0], wire, c2, c3, c4)

    def heard(self, rec, wire, c2, c3, c4):
        r14 = audio.analyse(rec, BEEP_HZ, [TONE_HZ])
        r7 = audio.analyse(rec, TONE_HZ, [BEEP_HZ])
        rate, samples = audio.read_wav(rec)
        n = int(rate * FRAME_S)
        loud = []
        for k in range(len(samples) // n):
            f = samples[k * n:(k + 1) * n]
            ms = sum(x * x for x in f) / n
            loud.append(ms > 0 and 10 * math.log10(ms) > SILENCE_DBFS)
        rec_note = "recording %.1f s" % r14.duration_s
        timeline = wire["text"] if wire else "(no capture)"

        beep_runs = runs(r14.present)
        if not beep_runs:
            for c in (c2, c3):
                c.failed("no %d Hz frame in the recording (%s); heard: %s"
                         % (BEEP_HZ, rec_note, timeline))
            beep = None
        else:
            beep = max(beep_runs, key=lambda r: r[1])
            b0, blen = beep[0] * FRAME_S, beep[1] * FRAME_S
            others = sum(r[1] for r in beep_runs if r != beep) * FRAME_S
            # 3: the beep
            text = ("%d Hz for %.2f s at %.2f s of the recording (other "
                    "%d Hz frames: %.2f s)" % (BEEP_HZ, blen, b0, BEEP_HZ,
                                               others))
            problems = []
            if not REC_BEEP_MIN_S <= blen <= BEEP_MAX_S:
                problems.append("%.2f s in the recording, want %.2f..%.2f s"
                                % (blen, REC_BEEP_MIN_S, BEEP_MAX_S))
            if wire:
                text += "; wire: %.2f s" % wire["beep_s"]
                if not BEEP_MIN_S <= wire["beep_s"] <= BEEP_MAX_S:
                    problems.append("%.2f s on the wire, want %.2f..%.2f s"
                                    % (wire["beep_s"], BEEP_MIN_S,
                                       BEEP_MAX_S))
            else:
                text += "; wire not checked (%s)" % self.sniff_note
            if problems:
                c3.failed("%s [%s]; heard: %s" % ("; ".join(problems), text,
                                                  timeline))
            else:
                c3.passed(text)
            # 2: the prompt before it
            sound = sum(loud[:beep[0]]) * FRAME_S
            if self.prompt_s:
                lo, hi = self.prompt_s - 1.0, self.prompt_s + 1.0
                text = ("beep at %.2f s, the prompt is %.2f s; sound in "
                        "%.2f s before the beep" % (b0, self.prompt_s,
                                                    sound))
                if not lo <= b0 <= hi:
                    c2.failed("%s: want the beep at %.1f..%.1f s; heard: %s"
                              % (text, lo, hi, timeline))
                elif sound < 0.4 * self.prompt_s:
                    c2.failed("%s: want sound in at least %.1f s; heard: %s"
                              % (text, 0.4 * self.prompt_s, timeline))
                else:
                    c2.passed(text)
            else:
                text = ("NOTE: no %s: no prompt expected; beep at %.2f s"
                        % (self.prompt_path, b0))
                if b0 <= 1.5:
                    c2.passed(text)
                else:
                    c2.failed("%s, want it within 1.5 s; heard: %s"
                              % (text, timeline))

        # 4: the playback
        problems = []
        if beep is None:
            problems.append("no beep to measure from")
            after = sum(r7.present) * FRAME_S
            before = 0.0
        else:
            after = sum(r7.present[beep[0] + beep[1]:]) * FRAME_S
            before = sum(r7.present[:beep[0]]) * FRAME_S
        text = ("%d Hz for %.2f s after the beep, %.2f s before it"
                % (TONE_HZ, after, before))
        if after < MIN_PLAYBACK_S:
            problems.append("%d Hz heard %.2f s after the beep, want %.1f s"
                            % (TONE_HZ, after, MIN_PLAYBACK_S))
        if before > 0.25:
            problems.append("%d Hz heard %.2f s before the beep: the "
                            "caller's own audio came back live"
                            % (TONE_HZ, before))
        if wire:
            w_after, w_first, w_during = (wire["tone_after"],
                                          wire["first_after"],
                                          wire["during"])
            text += ("; wire: %.2f s of %d Hz after the '#', first %s, "
                     "%.2f s while recording"
                     % (w_after, TONE_HZ, "%.2f s after it" % w_first
                        if w_first is not None else "never", w_during))
            if w_after < MIN_PLAYBACK_S:
                problems.append("on the wire only %.2f s of %d Hz after "
                                "the '#'" % (w_after, TONE_HZ))
            elif w_first is None or w_first > 1.5:
                problems.append("the playback started %s after the '#'"
                                % ("%.2f s" % w_first if w_first is not None
                                   else "never"))
            if w_during > 0.25:
                problems.append("%.2f s of %d Hz reached the phone while it "
                                "was recorded (before the '#')"
                                % (w_during, TONE_HZ))
        else:
            text += "; wire not checked (%s)" % self.sniff_note
        text += "; heard: " + timeline
        if problems:
            c4.failed("; ".join(problems) + " [%s; %s]" % (text, rec_note))
        else:
            c4.passed(text)

    def wire_timeline(self, m_ans, m_hash, m_end):
        """From the capture, what reached phone A between the answer and
        the end: a dict with the timeline text (seconds after the answer),
        beep_s (the longest run of 1400 Hz packets), tone_after (seconds
        of 700 Hz after the '#'), first_after (delay of its first packet
        after the '#'), during (seconds of 700 Hz between the end of the
        beep and the '#'); None without capture."""
        if self.sniffer is None:
            return None
        a = self.phones[0]
        items, _ = self.sniffer.heard(self.ports(a), wall(m_ans) - 0.1,
                                      wall(m_end) + 0.2)
        t_ans, t_hash = wall(m_ans), wall(m_hash)
        times = [t for t, _ in items]
        parts = ["%s %.1f-%.1f" % (c, t1 - t_ans, t2 - t_ans)
                 for c, t1, t2 in segments(items)
                 if t2 - t1 >= 0.06 or c in ("beep", "tone")]
        gaps = ["%.1f-%.1f" % (x - t_ans, y - t_ans)
                for x, y in zip(times, times[1:]) if y - x > 0.2]
        text = "[wire, s after the answer: %s; '#' at %.1f; no RTP %s]" % (
            ", ".join(parts) or "no PCMU", t_hash - t_ans,
            ", ".join(gaps) or "never over 0.2 s")
        beep_s, t_beep_end = 0.0, t_ans
        for c, t1, t2 in segments(items):
            if c == "beep" and t2 - t1 > beep_s:
                beep_s, t_beep_end = t2 - t1, t2
        tone_after = [t for t, c in items if c == "tone" and t >= t_hash]
        during = [t for t, c in items if c == "tone" and
                  t_beep_end <= t < t_hash]
        t_last_tone = tone_after[-1] if tone_after else t_hash
        return {"text": text, "beep_s": beep_s,
                "speech_after": 0.02 * len([t for t, c in items
                                            if c == "sound" and
                                            t > t_last_tone]),
                "tone_after": 0.02 * len(tone_after),
                "first_after": (tone_after[0] - t_hash) if tone_after
                else None,
                "during": 0.02 * len(during)}

    # ---- 7: hang up while recording ---------------------------------------

    def abandoned_call(self, b):
        c7 = self.check(7)
        since = os.path.getsize(self.sb.log_path)
        m_dial = time.monotonic()
        t_dial = time.time()
        b.dial("sip:%s@%s" % (FEATURE, pbx.DOMAIN))
        try:
            ev = b.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        except PhoneError as e:
            c7.failed("%s not answered: %s; SIP: %s; log:\n%s" % (
                FEATURE, str(e).split("; events seen")[0],
                self.flow(t_dial, b), self.log_excerpt(since)))
            return
        m_ans = ev["_t"]
        m_hang = m_ans + (self.prompt_s or 0.0) + BEEP_S + 0.1 + 1.2
        time.sleep(max(0.0, m_hang - time.monotonic()))
        seen = self.recording_files()
        if "(1)" not in b.listcalls():
            c7.failed("the call was gone %.1f s after the answer, before "
                      "our hang-up (CALL_CLOSED %r)" % (
                          time.monotonic() - m_ans,
                          self.closed_events(b, m_dial)))
            return
        b.hangup()
        b.wait_event("CALL_CLOSED", 5)
        m_closed = time.monotonic()
        left = self.wait_media_empty(seen)
        gone_after = time.monotonic() - m_closed
        if not seen:
            c7.failed("no recording file was being written when we hung up "
                      "(%.1f s after the beep should have ended)"
                      % (m_hang - m_ans - (self.prompt_s or 0.0) - BEEP_S))
        elif left:
            c7.failed("left after hanging up while recording: %s (seen "
                      "while recording: %s); log:\n%s"
                      % (left, sorted(seen), self.log_excerpt(since)))
        elif not self.sb.alive():
            c7.failed("switchboard exited (status %s)"
                      % self.sb.proc.returncode)
        else:
            c7.passed("hung up %.1f s after the answer while %s was being "
                      "written; gone %.1f s after the hang-up"
                      % (m_hang - m_ans, ", ".join(sorted(seen)),
                         gone_after))

    # ---- 8: still up -------------------------------------------------------

    def still_up(self, a):
        c8 = self.check(8)
        if not self.sb.alive():
            c8.failed("switchboard exited (status %s)"
                      % self.sb.proc.returncode)
            return
        state = self.sb.relay_state()
        if state != "ready":
            c8.failed("GET /api/status says relay=%r" % state)
            return
        since = os.path.getsize(self.sb.log_path)
        m_dial = time.monotonic()
        t_dial = time.time()
        a.dial("sip:%s@%s" % (FEATURE, pbx.DOMAIN))
        try:
            ev = a.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        except PhoneError as e:
            c8.failed("%s not answered: %s; SIP: %s; log:\n%s" % (
                FEATURE, str(e).split("; events seen")[0],
                self.flow(t_dial, a), self.log_excerpt(since)))
            return
        # '#' 1 s into the prompt: the beep at once, not at its end
        m_ans = ev["_t"]
        time.sleep(max(0.0, m_ans + 1.0 - time.monotonic()))
        m_hash = time.monotonic()
        a.send_dtmf("#")
        time.sleep(1.5)
        a.hangup()
        a.wait_event("CALL_CLOSED", 5)
        m_end = time.monotonic()
        left = self.wait_media_empty(set())
        skip = ""
        if self.sniffer is not None and self.prompt_s:
            items, _ = self.sniffer.heard(self.ports(a), wall(m_ans),
                                          wall(m_end))
            beeps = [t - wall(m_hash) for t, c in items if c == "beep"]
            if not beeps or not 0.0 <= beeps[0] <= 0.8:
                c8.failed("'#' 1.0 s into the %.1f s prompt: no beep within "
                          "0.8 s of it (beep packets at %s s after the '#')"
                          % (self.prompt_s, [round(x, 2) for x in beeps[:3]]))
                return
            skip = ", '#' 1.0 s into the %.1f s prompt: beep %.2f s after " \
                "it" % (self.prompt_s, beeps[0])
        elif self.prompt_s:
            skip = ", prompt skip not checked (%s)" % self.sniff_note
        if left:
            c8.failed("answered, but left in the media dir: %s" % left)
        elif not self.sb.alive():
            c8.failed("switchboard exited after the call (status %s)"
                      % self.sb.proc.returncode)
        else:
            c8.passed("switchboard pid %d up, relay ready, %s answered "
                      "again in %.2f s%s, hung up while recording, media "
                      "dir empty" % (self.sb.pid, FEATURE,
                                     ev["_t"] - m_dial, skip))

    # ---- all ---------------------------------------------------------------

    def run(self):
        log("work dir %s (netns: %s), switchboard %s, prompt %s, goodbye %s"
            % (self.tmp, os.environ.get("SWITCHBOARD_E2E_NETNS", "?"),
               self.args.switchboard,
               "%.2f s" % self.prompt_s if self.prompt_s is not None
               else "NOT BUILT (%s)" % self.prompt_path,
               "%.2f s" % self.goodbye_s if self.goodbye_s is not None
               else "not built"))
        fatal = None
        try:
            self.sb.start()
            self.sb.wait_relay("ready", 10)
            a_rtp = range(self.base + 1000, self.base + 1040)
            self.sniffer = PayloadSniffer((self.sb.sip_port,), a_rtp)
            try:
                self.sniffer.start()
                self.sniff_note = "capturing on lo"
            except OSError as e:
                self.sniffer = None
                self.sniff_note = "NO capture on lo (%s)" % e
            log(self.sniff_note)
            a = self.phone("4301", 0)
            b = self.phone("4302", 1)
            self.baseline = self.all_files()
            self.full_call(a)
            for c in self.checks[:6]:
                print(c.line(), flush=True)
            self.abandoned_call(b)
            print(self.check(7).line(), flush=True)
            time.sleep(1.1)     # sndfile names have one-second resolution
            self.still_up(a)
            print(self.check(8).line(), flush=True)
        except (AssertionError, PhoneError, OSError, ValueError) as e:
            fatal = e
            alive = self.sb.alive() if self.sb.proc else None
            for c in self.checks:
                if c.ok is None:
                    c.failed("not reached: %s%s" % (
                        e, "" if alive in (None, True) else
                        " [switchboard exited with status %s]"
                        % self.sb.proc.returncode))
                    print(c.line(), flush=True)
        finally:
            for bp in self.phones:
                bp.stop()
            self.sb.stop()
            if self.sniffer is not None:
                self.sniffer.stop()
                self.save_sip_trace()
        ok = fatal is None and all(c.ok for c in self.checks)
        if not ok:
            log("switchboard log, relevant lines (%s):\n%s"
                % (self.sb.log_path, self.log_excerpt()))
            log("switchboard log tail:\n%s" % self.sb.tail(25))
        if ok and not self.args.keep and not self.args.workdir:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log("work dir kept: %s" % self.tmp)
        return ok

    def save_sip_trace(self):
        names = {self.sb.sip_port: "pbx"}
        names.update({bp.sip_port: bp.name for bp in self.phones})
        try:
            with open(os.path.join(self.tmp, "sip-trace.txt"), "w") as f:
                for t, sp, dp, text in self.sniffer.sip_messages():
                    f.write("---- %.6f %s -> %s\n%s\n" % (
                        t, names.get(sp, sp), names.get(dp, dp), text))
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--base-port", type=int, default=25400,
                    help="switchboard SIP port; API +1; phones +10..+26, "
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
        print("not ok 1: no switchboard binary at %s (build it first)"
              % args.switchboard, flush=True)
        return 1
    ok = Test(args).run()
    log("%s in %.1f s" % ("PASS" if ok else "FAIL", time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
