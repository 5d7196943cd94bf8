#!/usr/bin/env python3
"""End-to-end media test: real phones call each other through Switchboard
and sbrelay, and what each side hears is checked.

Each call: the caller sends a 1000 Hz tone, the callee 700 Hz; the far
side's recording must carry that tone for at least 80 % of the talk time,
with no run of frames without it longer than 200 ms in the middle of the
call and without the phone's own tone; and (when packets can be captured
on lo) the RTP that reached each phone must have no arrival gap longer
than 200 ms.

  1   PCMU <-> PCMU
  2a  PCMU caller -> Opus callee (no common codec: the relay transcodes)
  2b  Opus caller -> PCMU callee
  3   G.722 caller -> PCMA callee
  4a  SRTP (SDES, mandatory) caller -> plain RTP callee, PCMU
  4b  plain RTP caller -> SRTP callee, PCMU
  4c  SRTP <-> SRTP, PCMU
  5   NAT latching: a scripted SIP phone (REGISTER, INVITE with MD5 digest)
      whose SDP names a port it does not send from sends a 1300 Hz PCMU
      tone from another port and must get the baresip's tone back there;
      then a stranger on 127.0.0.77 sends 1700 Hz to the same relay port:
      baresip must not hear it and the phone's tone must keep arriving
  6   sbrelay killed (SIGKILL) mid-call: both phones get BYE within a few
      seconds, switchboard starts the relay again, the next call has audio
      both ways
  7a  DTMF: the caller's baresip sends 1 and #, the callee's 9 (RFC 4733);
      the core logs each digit once as an event of the right party
  7b  in-band DTMF: a scripted PCMU phone without telephone-event calls an
      Opus phone (transcoded) and sends the tones of 4 and 7 in its audio;
      the relay detects them and the core logs each once

Prints one line per step, ``ok ...`` or ``FAIL ...`` with the numbers
found.  Exit 0 when every step run passed, 1 otherwise, 77 (skip) when
baresip is not installed.  Runs itself inside a loopback-only network
namespace (netns.sh) unless SWITCHBOARD_E2E_NETNS is set.

    test/e2e/media_calls.py [--only STEP[,STEP]] [--keep] [--sip-trace]
                            [--log-level debug] [--base-port N]
                            [--relay-binary PATH] [--nat-sdp-addr IP]
                            [--stranger-addr IP]

--only takes step ids or prefixes (``--only 2`` runs 2a and 2b).  The
switchboard binary is $top_builddir/switchboard, else ./switchboard, else
the one at the top of this source tree; --switchboard overrides, and
--relay-binary sets its relay_binary.  The work directory (configs, logs,
recordings, sip-trace.txt of the SIP captured on lo, script-ua.log) is
kept on failure or with --keep.

Why a capture: baresip's sndfile writes only what it decoded, so packets
that do not arrive leave no silence in the recording (a relay frozen for
400 ms gives a recording with "gap 0 ms").  The RTP reaching each phone is
therefore also captured on lo (AF_PACKET, kernel time stamps; root or the
user namespace netns.sh makes) and checked for arrival gaps; the same
capture checks that each phone offered exactly what it was set up for
(a HARNESS failure otherwise) and puts the INVITE/answer SDPs into every
failure message.  Without CAP_NET_RAW these wire checks are skipped, with
a note in the setup line.
"""

import argparse
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, HERE)

import audio                                                    # noqa: E402
import pbx                                                      # noqa: E402
from phone import BaresipPhone, PhoneError                      # noqa: E402

CALLER_HZ, CALLEE_HZ, SCRIPT_HZ, STRANGER_HZ = 1000, 700, 1300, 1700
TALK_S = 3.0            # seconds each call is up before the hang-up
MAX_GAP_MS = 200.0      # no longer run without the tone / without packets
MIN_SHARE = 0.8         # of the talk time that must carry the tone
MODULES = ("g711.so", "g722.so", "opus.so", "srtp.so")

# baresip 1.0.0 audio_codecs values, checked against the SDP it sends.
# NOTE: 'G722' and 'G722/8000' do not match (the codec is registered as
# G722/16000/1); an unmatched entry only logs "account: audio codec not
# found" and the account then offers every codec loaded.
CODECS = {"pcmu": "PCMU/8000", "pcma": "PCMA/8000", "g722": "G722/16000",
          "opus": "opus/48000/2"}
SDP_NAME = {"pcmu": "pcmu/8000", "pcma": "pcma/8000", "g722": "g722/8000",
            "opus": "opus/48000/2"}

T0 = time.monotonic()


def log(msg):
    print("[media_calls %6.2fs] %s" % (time.monotonic() - T0, msg),
          flush=True)


def wall(mono):
    """A time.monotonic() value on the wall clock (the sniffer's)."""
    return mono + (time.time() - time.monotonic())


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


class Phone:
    """A registered baresip phone: its extension and what it offers."""

    def __init__(self, number, label, codec, mediaenc, tone_hz, bp):
        self.number = number
        self.label = label
        self.codec = codec
        self.mediaenc = mediaenc
        self.tone_hz = tone_hz
        self.bp = bp
        self.rtp = range(bp.rtp_ports[0], bp.rtp_ports[1] + 1)

    @property
    def name(self):
        return "%s(%s)" % (self.number, self.label)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-media-")
        os.makedirs(self.tmp, exist_ok=True)
        self.base = base = args.base_port
        self.relay_ports = (base + 2200, base + 2399)
        extra = {"relay_port_min": self.relay_ports[0],
                 "relay_port_max": self.relay_ports[1]}
        if args.relay_binary:
            extra["relay_binary"] = os.path.abspath(args.relay_binary)
        self.sb = pbx.Switchboard(args.switchboard, self.tmp, base, base + 1,
                                  args.log_level, extra=extra)
        self.tones = {}
        self.slot = 0
        self.phones = []            # every Phone started, for clean-up
        self.sniffer = None
        self.sniff_note = ""
        self.drops0 = 0             # capture drops before the step
        self.results = []
        self.ports = {base: "pbx"}  # SIP port -> name, for the trace

    # ---- bookkeeping ---------------------------------------------------

    def tone(self, hz):
        if hz not in self.tones:
            self.tones[hz] = audio.make_tone(
                os.path.join(self.tmp, "tone-%d.wav" % hz), hz, 60)
        return self.tones[hz]

    def step(self, name, fn):
        t = time.monotonic()
        if self.sniffer is not None:
            self.drops0 = self.sniffer.drops()
        try:
            try:
                detail = fn()
            except (AssertionError, PhoneError, OSError, ValueError):
                raise
            except Exception:
                raise AssertionError("HARNESS ERROR: %s"
                                     % traceback.format_exc())
        except (AssertionError, PhoneError, OSError, ValueError) as e:
            msg = " ".join(str(e).split("\n")[:1]) if isinstance(
                e, PhoneError) and not isinstance(e, AssertionError) \
                else str(e)
            if not self.sb.alive():
                msg += " [switchboard exited with status %s]" \
                    % (self.sb.proc.returncode if self.sb.proc else None)
            print("FAIL %s (%.1f s): %s" % (name, time.monotonic() - t, msg),
                  flush=True)
            self.results.append((name, False))
            if self.sb.proc is not None and not self.sb.alive():
                log("switchboard is gone; log tail:\n%s" % self.sb.tail())
                try:
                    self.sb.start()
                    self.sb.wait_relay("ready", 10)
                    log("switchboard restarted for the next steps")
                except (PhoneError, AssertionError) as e2:
                    log("cannot restart switchboard: %s" % e2)
            return False
        finally:
            self.stop_phones()
        print("ok %s (%.1f s): %s" % (name, time.monotonic() - t, detail),
              flush=True)
        self.results.append((name, True))
        return True

    def stop_phones(self):
        for p in self.phones:
            p.bp.stop()
        self.phones = []

    # ---- set-up ----------------------------------------------------------

    def setup(self):
        status = self.sb.start()
        t = time.monotonic()
        self.sb.wait_relay("ready", 10)
        rpid = self.sb.relay_pid()
        self.sniffer = pbx.RtpSniffer(sip_ports=(self.sb.sip_port,))
        try:
            self.sniffer.start()
            self.sniff_note = "capturing on lo (%s time stamps)" % (
                "kernel" if self.sniffer.kernel_time else "user")
        except OSError as e:
            self.sniffer = None
            self.sniff_note = ("NO capture on lo (%s): wire checks (arrival "
                               "gaps, SDPs on the wire) skipped" % e)
        return ("switchboard pid %d, version %s, relay ready after %.1f s "
                "(sbrelay pid %s, ports %d-%d); %s"
                % (self.sb.pid, status.get("version"), time.monotonic() - t,
                   rpid, self.relay_ports[0], self.relay_ports[1],
                   self.sniff_note))

    def new_phone(self, label, codec, tone_hz, mediaenc=None):
        """Create an extension (md5-only: baresip 1.0.0 cannot answer a
        challenge list with SHA-256), start a baresip that offers only
        `codec` (and SDES-SRTP if mediaenc), register it."""
        i = self.slot
        if i > 30:
            raise AssertionError("HARNESS: more than 31 phones: their RTP "
                                 "ports would reach the scripted phone's")
        self.slot += 1
        number = str(2001 + i)
        password = "secret-%s" % number
        # an SRTP-only phone's extension says so: the relay then offers
        # it RTP/SAVP with its own keys when calling it
        self.sb.add_extension(number, password, auth_order="md5-only",
                              srtp="required" if mediaenc == "srtp-mand"
                              else None)
        b = self.base
        bp = BaresipPhone(
            "p%s" % number, os.path.join(self.tmp, "%s-%s" % (number, label)),
            "127.0.0.1", sip_port=b + 10 + 10 * i, ctrl_port=b + 15 + 10 * i,
            rtp_ports=(b + 1000 + 20 * i, b + 1019 + 20 * i),
            tone_wav=self.tone(tone_hz), modules=MODULES, lifetime=120,
            sip_trace=self.args.sip_trace)
        ph = Phone(number, label, codec, mediaenc, tone_hz, bp)
        self.phones.append(ph)
        self.ports[bp.sip_port] = ph.name
        bp.start(timeout=5)
        bp.add_account(pbx.account_line(number, password, self.sb.sip_port,
                                        codecs=CODECS[codec],
                                        mediaenc=mediaenc))
        bp.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        # e.g. "account: audio codec not found: G722/8000/1", "account:
        # mediaenc not found: 'srtp-mand'": baresip then goes on without
        bad = [ln.strip("\x1b[;m31") for ln in bp.log().splitlines()
               if "account:" in ln and "not found" in ln]
        if bad:
            raise AssertionError("HARNESS: baresip %s did not take its "
                                 "account parameters: %s" % (ph.name, bad))
        return ph

    # ---- SIP on the wire ---------------------------------------------------

    def flow(self, t0, extra_ports=None):
        if self.sniffer is None:
            return "(no capture)"
        ports = dict(self.ports)
        ports.update(extra_ports or {})
        lines = pbx.sip_flow(self.sniffer.sip_messages(t0), ports,
                             self.sb.sip_port)
        return " | ".join(lines) if lines else "(no INVITE seen)"

    def check_offers(self, t0, phones):
        """HARNESS check: every SDP a phone sent carries only its codec
        (plus telephone-event) and RTP/SAVP with a=crypto exactly when it
        is an SRTP phone."""
        if self.sniffer is None:
            return
        by_port = {p.bp.sip_port: p for p in phones}
        for t, sport, dport, text in self.sniffer.sip_messages(t0):
            p = by_port.get(sport)
            if p is None or "\r\n\r\nv=0" not in text:
                continue
            body = text.split("\r\n\r\n", 1)[1]
            conn, port, pts, rtpmap = pbx.sdp_media(body)
            names = {rtpmap.get(pt, {"0": "PCMU/8000", "8": "PCMA/8000",
                                     "9": "G722/8000"}.get(pt, pt)).lower()
                     for pt in pts}
            names.discard("telephone-event/8000")
            proto = "RTP/SAVP" if "RTP/SAVP " in body else "RTP/AVP"
            crypto = "a=crypto:" in body
            want_proto = "RTP/SAVP" if p.mediaenc == "srtp-mand" \
                else "RTP/AVP"
            if names != {SDP_NAME[p.codec]} or proto != want_proto or \
                    crypto != bool(p.mediaenc):
                raise AssertionError(
                    "HARNESS: %s sent an SDP with %s %s%s, not what it was "
                    "set up for (%s %s%s)" % (
                        p.name, proto, sorted(names),
                        " crypto" if crypto else "", want_proto,
                        SDP_NAME[p.codec], " crypto" if p.mediaenc else ""))

    # ---- one call between two baresip phones ----------------------------

    def establish(self, a, b):
        """a dials b; both CALL_ESTABLISHED.  Returns the call context."""
        ctx = {"a": a, "b": b, "ra0": a.bp.recordings(),
               "rb0": b.bp.recordings(), "t_dial": time.time(),
               "m_dial": time.monotonic()}
        b.bp.clear_events()
        a.bp.dial("sip:%s@%s" % (b.number, pbx.DOMAIN))
        try:
            ea = a.bp.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
            eb = b.bp.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        except PhoneError as e:
            time.sleep(0.3)         # the other side's CALL_CLOSED too
            closed = ["%s CALL_CLOSED %r" % (p.name, ev.get("param"))
                      for p in (a, b) for ev in self.events_since(
                          p, ctx["m_dial"], "CALL_CLOSED")]
            why = "; ".join(closed) if closed else \
                str(e).split("; events seen")[0]
            self.hangup_all()
            try:
                self.check_offers(ctx["t_dial"], (a, b))
            except AssertionError as h:
                why += "; " + str(h)
            raise AssertionError("call %s -> %s not established: %s; SIP: %s"
                                 % (a.name, b.name, why,
                                    self.flow(ctx["t_dial"])))
        ctx["est_a"], ctx["est_b"] = wall(ea["_t"]), wall(eb["_t"])
        ctx["ea"], ctx["eb"] = ea, eb
        return ctx

    @staticmethod
    def events_since(ph, t, type):
        return [e for e in ph.bp.events()
                if e.get("type") == type and e.get("_t", 0) >= t]

    def hangup_all(self):
        for p in self.phones:
            try:
                if p.bp.running() and "(1)" in p.bp.listcalls():
                    p.bp.hangup()
            except PhoneError:
                pass

    def talk_and_hangup(self, ctx, talk_s):
        a, b = ctx["a"], ctx["b"]
        time.sleep(talk_s)
        for p in (a, b):
            if "(1)" not in p.bp.listcalls():
                closed = [e.get("param") for e in self.events_since(
                    p, ctx["m_dial"], "CALL_CLOSED")]
                self.hangup_all()
                raise AssertionError("%s: call gone after %.1f s of talk "
                                     "(CALL_CLOSED %r)" % (p.name, talk_s,
                                                           closed))
        ctx["t_hang"] = time.time()
        a.bp.hangup()
        a.bp.wait_event("CALL_CLOSED", 5)
        b.bp.wait_event("CALL_CLOSED", 5)
        return ctx

    def recordings(self, ctx):
        a, b = ctx["a"], ctx["b"]
        ra = [p for p in a.bp.recordings() if p not in ctx["ra0"]]
        rb = [p for p in b.bp.recordings() if p not in ctx["rb0"]]
        if len(ra) != 1 or len(rb) != 1:
            raise AssertionError("expected one new recording per phone, got "
                                 "%s=%r %s=%r" % (a.name, ra, b.name, rb))
        wait_recording_done(ra + rb)
        return ra[0], rb[0]

    def wire(self, ph, t0, t1):
        if self.sniffer is None:
            return None
        pk = self.sniffer.rtp_to(ph.rtp, t0 - 0.5, t1 + 0.5)
        inwin = [p for p in pk if t0 <= p[0] <= t1]
        r = pbx.arrival_report(inwin, t0, t1)
        r["lens"] = sorted({p[9] for p in inwin})
        r["capture_drops"] = self.sniffer.drops() - self.drops0
        return r

    def hear(self, ph, rec, from_hz, own_hz, talk_s, t0, t1):
        """Check what `ph` heard; returns text, raises MediaCheck."""
        w = self.wire(ph, t0, t1)
        r, text = pbx.tone_check(rec, from_hz, [own_hz], talk_s=talk_s,
                                 min_share=MIN_SHARE, max_gap_ms=MAX_GAP_MS,
                                 wire=w)
        if w is not None:
            text += ", len %s" % "/".join(str(x) for x in w["lens"])
        return text

    def both_ways(self, ctx):
        """Audio checks in both directions; every problem reported."""
        a, b = ctx["a"], ctx["b"]
        rec_a, rec_b = self.recordings(ctx)
        t0 = max(ctx["est_a"], ctx["est_b"]) + 0.3
        t1 = ctx["t_hang"] - 0.05
        notes, problems = [], []
        for ph, rec, other, est in ((a, rec_a, b, ctx["est_a"]),
                                    (b, rec_b, a, ctx["est_b"])):
            try:
                notes.append("%s heard %s" % (ph.name, self.hear(
                    ph, rec, other.tone_hz, ph.tone_hz,
                    ctx["t_hang"] - est, t0, t1)))
            except AssertionError as e:
                problems.append("%s heard: %s" % (ph.name, e))
        return notes, problems

    def srtp_note(self, t0, phones):
        """Does the relay terminate SRTP (its own SDES keys toward each
        phone) or pass the phones' keys through end to end?"""
        if self.sniffer is None or not any(p.mediaenc for p in phones):
            return None
        ports = {p.bp.sip_port for p in phones}
        mine, pbxs = set(), set()
        for t, sport, dport, text in self.sniffer.sip_messages(t0):
            keys = set(re.findall(r"a=crypto:\S+ \S+ inline:([^|\s]+)",
                                  text))
            if sport in ports:
                mine |= keys
            elif sport == self.sb.sip_port and dport in ports:
                pbxs |= keys
        if not pbxs:
            return None
        if pbxs & mine:
            return ("NOTE: the phones' SRTP keys are passed through end to "
                    "end (the relay does not terminate SRTP)")
        return "the relay sends its own SRTP keys on each leg"

    def call_step(self, a, b, talk_s=TALK_S):
        ctx = self.establish(a, b)
        self.talk_and_hangup(ctx, talk_s)
        notes, problems = self.both_ways(ctx)
        note = self.srtp_note(ctx["t_dial"], (a, b))
        if note:
            notes.append(note)
        try:
            self.check_offers(ctx["t_dial"], (a, b))
        except AssertionError as e:
            problems.append(str(e))
        if problems:
            raise AssertionError("; ".join(problems) + " [ok: %s] SIP: %s"
                                 % ("; ".join(notes) or "-",
                                    self.flow(ctx["t_dial"])))
        return "; ".join(notes)

    # ---- steps ------------------------------------------------------------

    def pair(self, ca, cb, ea=None, eb=None):
        a = self.new_phone("%s%s" % (ca, "-srtp" if ea else ""), ca,
                           CALLER_HZ, ea)
        b = self.new_phone("%s%s" % (cb, "-srtp" if eb else ""), cb,
                           CALLEE_HZ, eb)
        return a, b

    def step1(self):
        return self.call_step(*self.pair("pcmu", "pcmu"))

    def step2a(self):
        return self.call_step(*self.pair("pcmu", "opus"))

    def step2b(self):
        return self.call_step(*self.pair("opus", "pcmu"))

    def step3(self):
        return self.call_step(*self.pair("g722", "pcma"))

    def step4a(self):
        return self.call_step(*self.pair("pcmu", "pcmu", "srtp-mand", None))

    def step4b(self):
        return self.call_step(*self.pair("pcmu", "pcmu", None, "srtp-mand"))

    def step4c(self):
        return self.call_step(*self.pair("pcmu", "pcmu", "srtp-mand",
                                         "srtp-mand"))

    # ---- 5: NAT latching ---------------------------------------------------

    def step5(self):
        b = self.new_phone("pcmu", "pcmu", CALLEE_HZ)
        number = str(2001 + self.slot)
        self.slot += 1
        password = "secret-%s" % number
        self.sb.add_extension(number, password, auth_order="md5-only")
        base = self.base
        sdp_port, media_port, stranger_port = (base + 1700, base + 1702,
                                               base + 1704)
        ua = decoy = media = stranger = None
        try:
            ua = pbx.ScriptedUA(number, password, "127.0.0.1", base + 400,
                                self.sb.sip_port)
            self.ports[ua.port] = "%s(script)" % number
            decoy = pbx.RtpStream("127.0.0.1", sdp_port, b"",
                                  name="decoy").start_receiving()
            media = pbx.RtpStream("127.0.0.1", media_port,
                                  pbx.ulaw_tone(SCRIPT_HZ, 10),
                                  name="script").start_receiving()
            stranger = pbx.RtpStream(self.args.stranger_addr, stranger_port,
                                     pbx.ulaw_tone(STRANGER_HZ, 4),
                                     name="stranger").start_receiving()
            return self._step5(b, number, ua, decoy, media, stranger,
                               sdp_port)
        finally:
            for x in (media, stranger, decoy):
                if x is not None:
                    x.close()
            if ua is not None:
                if ua.dialog is not None:
                    try:
                        ua.bye(2)
                    except AssertionError:
                        pass
                with open(os.path.join(self.tmp, "script-ua.log"), "w") as f:
                    f.write(ua.trace())
                ua.close()

    def _step5(self, b, number, ua, decoy, media, stranger, sdp_port):
        ua.register()
        addr = self.args.nat_sdp_addr
        sdp = ("v=0\r\no=script 1 1 IN IP4 %s\r\ns=media_calls\r\n"
               "c=IN IP4 %s\r\nt=0 0\r\n"
               "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
               "a=ptime:20\r\na=sendrecv\r\n" % (addr, addr, sdp_port))
        rb0 = b.bp.recordings()
        b.bp.clear_events()
        t_dial = time.time()
        try:
            resp = ua.invite(b.number, sdp, timeout=10)
        except AssertionError as e:
            raise AssertionError("%s; SIP: %s" % (e, self.flow(t_dial)))
        eb = b.bp.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        conn, rport, pts, _ = pbx.sdp_media(resp["body"])
        if not conn or not rport:
            raise AssertionError("no audio in the 200's SDP: %r"
                                 % resp["body"])
        relay = (conn, rport)
        notes, problems = [], []
        if not self.relay_ports[0] <= rport <= self.relay_ports[1]:
            problems.append("the answer names %s:%d, not a relay port "
                            "(%d-%d): media not anchored" % (
                                conn, rport, self.relay_ports[0],
                                self.relay_ports[1]))
        # the phone's RTP comes from media_port, not the port in its SDP;
        # it starts a little after the answer, so that the relay has
        # something to send before it can latch
        time.sleep(0.4)
        t_latch = time.monotonic()
        media.send_to(relay)
        time.sleep(1.5)
        t_s0 = time.monotonic()
        stranger.send_to(relay)
        time.sleep(1.5)
        stranger.pause()
        t_s1 = time.monotonic()
        time.sleep(1.0)
        if "(1)" not in b.bp.listcalls():
            raise AssertionError("%s: call gone during the stranger's "
                                 "packets" % b.name)
        t_bye = time.monotonic()
        code = ua.bye()
        media.pause()
        b.bp.wait_event("CALL_CLOSED", 5)
        if code != 200:
            problems.append("BYE got %s" % code)

        # baresip heard the phone's tone, never the stranger's
        rb = [p for p in b.bp.recordings() if p not in rb0]
        if len(rb) != 1:
            raise AssertionError("%s: expected one new recording, got %r"
                                 % (b.name, rb))
        wait_recording_done(rb)
        w0, w1 = wall(max(t_latch, eb["_t"])) + 0.3, wall(t_bye) - 0.05
        try:
            r, text = pbx.tone_check(
                rb[0], SCRIPT_HZ, [CALLEE_HZ, STRANGER_HZ],
                talk_s=t_bye - max(t_latch, eb["_t"]), min_share=MIN_SHARE,
                max_gap_ms=MAX_GAP_MS, wire=self.wire(b, w0, w1))
            notes.append("%s heard %s" % (b.name, text))
        except AssertionError as e:
            problems.append("%s heard: %s" % (b.name, e))
        if self.sniffer is not None:
            to_b = self.sniffer.rtp_to(b.rtp, wall(t_s0), wall(t_s1))
            foreign = [p for p in to_b if p[8] == stranger.ssrc]
            rate = len(to_b) / max(0.1, t_s1 - t_s0)
            if foreign:
                problems.append("relay forwarded %d of the stranger's packets "
                                "(its SSRC) to %s" % (len(foreign), b.name))
            if rate > 75:
                problems.append("%s got %.0f packets/s while the stranger "
                                "sent (50 expected)" % (b.name, rate))
            notes.append("while the stranger sent: %d pkts to %s, none with "
                         "its SSRC" % (len(to_b), b.name)
                         if not foreign else "")

        # the phone got the baresip's tone back on the port it sends from
        got = media.packets(t_latch, t_bye + 0.1)
        from_relay = [p for p in got if p[1] == relay]
        others = sorted({"%s:%d" % p[1] for p in got if p[1] != relay})
        if others:
            problems.append("the phone's port got packets from %s" % others)
        wav = media.recording(os.path.join(self.tmp, "script-heard.wav"),
                              t_latch, t_bye + 0.1, relay)
        if not from_relay:
            problems.append("the phone's sending port %d got nothing back "
                            "from the relay %s:%d (no latching?); decoy "
                            "(SDP) port %d got %d packets" % (
                                media.local[1], conn, rport, sdp_port,
                                len(decoy.packets())))
        else:
            first = from_relay[0][0]
            sniff = [(wall(p[0]), p[1][0], p[1][1], "127.0.0.1",
                      media.local[1], p[2], p[3], p[4], p[5], len(p[6]) + 12)
                     for p in from_relay]
            wrep = pbx.arrival_report(
                [s for s in sniff if wall(first) + 0.3 <= s[0]],
                wall(first) + 0.3, wall(t_bye) - 0.05)
            try:
                r, text = pbx.tone_check(
                    wav, CALLEE_HZ, [SCRIPT_HZ, STRANGER_HZ],
                    talk_s=t_bye - first, min_share=MIN_SHARE,
                    max_gap_ms=MAX_GAP_MS, wire=wrep)
                notes.append("script heard %s (from %s:%d, first %.0f ms "
                             "after it started sending)"
                             % (text, conn, rport, 1000 * (first - t_latch)))
            except AssertionError as e:
                problems.append("script heard: %s" % e)
            during = [p for p in from_relay if t_s0 <= p[0] <= t_s1]
            if len(during) < 0.8 * 50 * (t_s1 - t_s0):
                problems.append("only %d packets reached the phone while the "
                                "stranger sent (%.1f s)" % (len(during),
                                                           t_s1 - t_s0))

        # the SDP address: used at most until latching
        dec = decoy.packets()
        late = [p for p in dec if p[0] > t_latch + 0.25]
        if late:
            problems.append("relay still sent %d packets to the SDP address "
                            "127.0.0.1:%d after latching to port %d"
                            % (len(late), sdp_port, media.local[1]))
        if self.args.nat_sdp_addr == "127.0.0.1":
            notes.append("SDP address 127.0.0.1:%d got %d packets before "
                         "latching%s, %d after" % (
                             sdp_port, len(dec) - len(late),
                             "" if len(dec) > len(late) else
                             " (NOTE: docs/relay-protocol.md says the relay "
                             "sends there until the first packet)",
                             len(late)))
        sgot = stranger.packets()
        if sgot:
            problems.append("the stranger %s:%d got %d packets from %s"
                            % (self.args.stranger_addr, stranger.local[1],
                               len(sgot),
                               sorted({"%s:%d" % p[1] for p in sgot})))
        notes.append("stranger %s sent %d packets of %d Hz, got %d back"
                     % (self.args.stranger_addr, stranger.sent, STRANGER_HZ,
                        len(sgot)))
        notes = [n for n in notes if n]
        if problems:
            raise AssertionError("; ".join(problems) + " [ok: %s] SIP: %s"
                                 % ("; ".join(notes),
                                    self.flow(t_dial)))
        return ("script %s (SDP c=%s m=audio %d, sends from 127.0.0.1:%d) "
                "-> %s, relay %s:%d; %s" % (number, self.args.nat_sdp_addr,
                                            sdp_port, media.local[1],
                                            b.name, conn, rport,
                                            "; ".join(notes)))

    # ---- 6: relay killed ---------------------------------------------------

    def step6(self):
        a, b = self.pair("pcmu", "pcmu")
        ctx = self.establish(a, b)
        time.sleep(1.5)
        notes, problems = [], []
        if self.sniffer is not None:
            now = time.time()
            for ph in (a, b):
                n = len(self.sniffer.rtp_to(ph.rtp, now - 1.0, now))
                if n < 30:
                    problems.append("before the kill only %d RTP packets/s "
                                    "reached %s" % (n, ph.name))
        old = self.sb.relay_pid()
        if not old:
            raise AssertionError("no sbrelay child of switchboard pid %d "
                                 "(children %r)" % (self.sb.pid,
                                                    self.sb.relay_pids()))
        t_kill = time.monotonic()
        os.kill(old, signal.SIGKILL)
        closed = {}
        for ph in (a, b):
            try:
                ev = ph.bp.wait_event("CALL_CLOSED", max(
                    0.5, 5.0 - (time.monotonic() - t_kill)))
                closed[ph.name] = (ev["_t"] - t_kill, ev.get("param"))
            except PhoneError:
                problems.append("%s: no CALL_CLOSED within 5 s of the kill"
                                % ph.name)
        if self.sniffer is not None:
            time.sleep(0.1)
            bye_to = {dp for t, sp, dp, text in
                      self.sniffer.sip_messages(wall(t_kill) - 0.05)
                      if sp == self.sb.sip_port and text.startswith("BYE ")}
            for ph in (a, b):
                if ph.bp.sip_port not in bye_to:
                    problems.append("no BYE from the PBX to %s on the wire"
                                    % ph.name)
        if problems:
            self.hangup_all()
        notes.append("SIGKILL sbrelay pid %d; %s" % (old, ", ".join(
            "%s CALL_CLOSED %r after %.1f s" % (n, p, t)
            for n, (t, p) in sorted(closed.items()))))
        # what they heard before the kill (for the record)
        try:
            ctx["t_hang"] = wall(t_kill)
            n, p = self.both_ways(ctx)
            notes += ["before the kill: " + x for x in n + p]
        except AssertionError as e:
            notes.append("before the kill: %s" % e)
        t_ready = self.sb.wait_relay("ready", 10)
        new = self.sb.relay_pid()
        if not new or new == old:
            problems.append("relay pid after restart %r (was %d)"
                            % (new, old))
        notes.append("relay ready again %.1f s after the kill, pid %s"
                     % (t_ready - t_kill, new))
        if problems:
            raise AssertionError("; ".join(problems) + " [%s]"
                                 % "; ".join(notes))
        time.sleep(1.1)         # sndfile names have one-second resolution
        try:
            notes.append("next call: " + self.call_step(a, b))
        except AssertionError as e:
            raise AssertionError("next call after the relay restart: %s [%s]"
                                 % (e, "; ".join(notes)))
        return "; ".join(notes)

    # ---- 7: DTMF reaches the core --------------------------------------

    def pressed(self, since, want):
        """The core's log lines for digits ("caller pressed 1 (rfc4733)")
        after byte offset `since`; fails unless each of `want`, a list of
        (party, digit, source), is there exactly once."""
        deadline = time.monotonic() + 3.0
        while True:
            with open(self.sb.log_path, errors="replace") as f:
                f.seek(since)
                text = f.read()
            got = re.findall(r"(caller|callee) pressed (\S) \((\w+)\)",
                             text)
            if all(got.count(w) == 1 for w in want) and \
                    len(got) == len(want):
                return "core got %s" % " ".join(
                    "%s:%s/%s" % w for w in got)
            if time.monotonic() > deadline:
                raise AssertionError("core's digit events %r, expected %r "
                                     "once each" % (got, want))
            time.sleep(0.2)

    def step7a(self):
        a, b = self.pair("pcmu", "pcmu")
        ctx = self.establish(a, b)
        since = os.path.getsize(self.sb.log_path)
        time.sleep(0.5)
        for digit in "1#":
            a.bp.send_dtmf(digit)
            time.sleep(0.4)
        b.bp.send_dtmf("9")
        time.sleep(0.4)
        self.talk_and_hangup(ctx, 0.2)
        return self.pressed(since, [("caller", "1", "rfc4733"),
                                    ("caller", "#", "rfc4733"),
                                    ("callee", "9", "rfc4733")])

    @staticmethod
    def dtmf_ulaw(digits, lead_s=0.6, on_s=0.15, off_s=0.15, tail_s=10):
        """PCMU audio: silence, then each digit's two tones (-10 dBFS
        each), then silence long enough not to loop during a step."""
        low = {"1": 697, "2": 697, "3": 697, "4": 770, "5": 770, "6": 770,
               "7": 852, "8": 852, "9": 852, "*": 941, "0": 941, "#": 941}
        high = {"1": 1209, "2": 1336, "3": 1477, "4": 1209, "5": 1336,
                "6": 1477, "7": 1209, "8": 1336, "9": 1477, "*": 1209,
                "0": 1336, "#": 1477}
        rate, amp = 8000, 32767 * 0.3
        out = [0] * int(lead_s * rate)
        for d in digits:
            w1 = 2 * math.pi * low[d] / rate
            w2 = 2 * math.pi * high[d] / rate
            out += [amp * (math.sin(w1 * i) + math.sin(w2 * i))
                    for i in range(int(on_s * rate))]
            out += [0] * int(off_s * rate)
        out += [0] * int(tail_s * rate)
        return pbx.ulaw_encode(out)

    def step7b(self):
        """In-band digits from a phone without telephone-event: the call
        is transcoded (PCMU caller, Opus callee), the relay listens."""
        b = self.new_phone("opus", "opus", CALLEE_HZ)
        number = str(2001 + self.slot)
        self.slot += 1
        password = "secret-%s" % number
        self.sb.add_extension(number, password, auth_order="md5-only")
        port = self.base + 1710
        ua = media = None
        try:
            ua = pbx.ScriptedUA(number, password, "127.0.0.1",
                                self.base + 402, self.sb.sip_port)
            self.ports[ua.port] = "%s(script)" % number
            media = pbx.RtpStream("127.0.0.1", port,
                                  self.dtmf_ulaw("47"),
                                  name="dtmf").start_receiving()
            ua.register()
            sdp = ("v=0\r\no=script 1 1 IN IP4 127.0.0.1\r\n"
                   "s=media_calls\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                   "a=sendrecv\r\n" % port)
            b.bp.clear_events()
            resp = ua.invite(b.number, sdp, timeout=10)
            b.bp.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
            conn, rport, _, _ = pbx.sdp_media(resp["body"])
            if not conn or not rport:
                raise AssertionError("no audio in the 200's SDP: %r"
                                     % resp["body"])
            since = os.path.getsize(self.sb.log_path)
            media.send_to((conn, rport))
            time.sleep(1.6)
            note = self.pressed(since, [("caller", "4", "inband"),
                                        ("caller", "7", "inband")])
            code = ua.bye()
            media.pause()
            b.bp.wait_event("CALL_CLOSED", 5)
            if code != 200:
                raise AssertionError("BYE got %s" % code)
            return note
        finally:
            if media is not None:
                media.close()
            if ua is not None:
                if ua.dialog is not None:
                    try:
                        ua.bye(2)
                    except AssertionError:
                        pass
                ua.close()

    # ---- all --------------------------------------------------------------

    STEPS = [
        ("1", "PCMU <-> PCMU", "step1"),
        ("2a", "PCMU caller -> Opus callee (relay transcodes)", "step2a"),
        ("2b", "Opus caller -> PCMU callee (relay transcodes)", "step2b"),
        ("3", "G.722 caller -> PCMA callee (relay transcodes)", "step3"),
        ("4a", "SRTP caller -> plain RTP callee, PCMU", "step4a"),
        ("4b", "plain RTP caller -> SRTP callee, PCMU", "step4b"),
        ("4c", "SRTP <-> SRTP, PCMU", "step4c"),
        ("5", "NAT latching, stranger dropped", "step5"),
        ("6", "sbrelay killed mid-call", "step6"),
        ("7a", "DTMF RFC 4733 from both phones reaches the core", "step7a"),
        ("7b", "in-band DTMF (transcoded call) reaches the core", "step7b"),
    ]

    def selected(self):
        only = [s.strip() for s in (self.args.only or "").split(",")
                if s.strip()]
        if not only:
            return self.STEPS
        out = [s for s in self.STEPS
               if any(s[0] == o or s[0].startswith(o) for o in only)]
        if not out:
            raise SystemExit("--only %s: no such step (steps: %s)"
                             % (self.args.only,
                                " ".join(s[0] for s in self.STEPS)))
        return out

    def run(self):
        steps = self.selected()
        log("work dir %s (netns: %s), switchboard %s"
            % (self.tmp, os.environ.get("SWITCHBOARD_E2E_NETNS", "?"),
               self.args.switchboard))
        ok = False
        try:
            if not self.step("setup", self.setup):
                return False
            for sid, title, fn in steps:
                self.step("%s: %s" % (sid, title), getattr(self, fn))
            ok = all(r for _, r in self.results)
        finally:
            self.stop_phones()
            self.sb.stop()
            if self.sniffer is not None:
                self.sniffer.stop()
                self.save_sip_trace()
            if not ok:
                log("switchboard log tail (%s):\n%s"
                    % (self.sb.log_path, self.sb.tail(25)))
                log("work dir kept: %s" % self.tmp)
            elif not self.args.keep and not self.args.workdir:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log("work dir kept: %s" % self.tmp)
        return ok

    def save_sip_trace(self):
        try:
            with open(os.path.join(self.tmp, "sip-trace.txt"), "w") as f:
                for t, sp, dp, text in self.sniffer.sip_messages():
                    f.write("---- %.6f %s -> %s\n%s\n" % (
                        t, self.ports.get(sp, sp), self.ports.get(dp, dp),
                        text))
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--only", help="step ids or prefixes, comma-separated "
                    "(1 2a 2b 3 4a 4b 4c 5 6)")
    ap.add_argument("--base-port", type=int, default=26800,
                    help="switchboard SIP port; API +1; baresip phones "
                    "+10..+199, RTP +1000..+1399; scripted phone +400, RTP "
                    "+1700..+1704; relay +2200..+2399")
    ap.add_argument("--switchboard", help="the binary to test")
    ap.add_argument("--relay-binary", help="sbrelay to use (switchboard's "
                    "relay_binary; default: the one beside switchboard)")
    ap.add_argument("--log-level", default="info",
                    help="switchboard log_level (debug logs SIP)")
    ap.add_argument("--sip-trace", action="store_true",
                    help="baresip -s (SIP trace in each baresip.log)")
    ap.add_argument("--nat-sdp-addr", default="127.0.0.1",
                    help="step 5: the address the scripted phone's SDP "
                    "names (it always sends from 127.0.0.1), e.g. the "
                    "unreachable 192.0.2.1")
    ap.add_argument("--stranger-addr", default="127.0.0.77",
                    help="step 5: where the stranger sends from")
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
