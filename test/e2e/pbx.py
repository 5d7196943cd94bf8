"""Shared helpers for end-to-end tests that run a real Switchboard.

* Switchboard: one switchboard process (and the sbrelay it starts) with
  its own config and store, its HTTP API, the relay's PID and state.
* find_baresip, find_switchboard, reexec_in_netns, no_proxy: the set-up
  every e2e script does.
* account_line: a baresip 1.0.0 accounts line (codecs, SRTP, ...).
* RtpSniffer: AF_PACKET capture on lo (works as root and inside the
  user-namespace netns.sh makes): per-packet kernel time stamps of the
  RTP reaching each phone (so a gap in the *arrival* of packets is seen,
  which a recording cannot show: baresip's sndfile only writes what it
  decoded), and the SIP on the wire (so a failure can say which SDPs were
  offered and answered).
* tone_check: audio.analyse plus the checks a media test needs: the tone
  dominates, carries at least a share of the talk time, no gap longer
  than max_gap_ms in the middle, the other tones are not heard.
* ulaw_encode / ulaw_decode, Rtp packets, ScriptedUA: a minimal SIP user
  agent over UDP (REGISTER and INVITE with MD5 digest, ACK, BYE; answers
  OPTIONS and BYE) for calls whose media the test makes itself.

Python standard library only (plus test/sip/scenarios/sbtest.py for SIP
message parsing and digest).  Every wait is bounded; processes are
stopped by their own PID only.
"""

import array
import hashlib
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import audio                                                    # noqa: E402
from phone import PhoneError, _die_with_parent, _tail           # noqa: E402

_SIPDIR = os.path.join(os.environ["top_srcdir"], "test", "sip", "scenarios") \
    if os.environ.get("top_srcdir") else \
    os.path.join(HERE, "..", "sip", "scenarios")
sys.path.insert(0, os.path.abspath(_SIPDIR))
import sbtest                                                   # noqa: E402

DOMAIN = "pbx.local"
TOKEN = "e2etokene2etoken1234"


# --------------------------------------------------------------------------
# set-up

def find_baresip():
    path = shutil.which("baresip")
    if path:
        return path
    if os.access("/usr/bin/baresip", os.X_OK):
        return "/usr/bin/baresip"
    return None


def reexec_in_netns(script):
    """Run `script` again inside netns.sh unless already under it."""
    if "SWITCHBOARD_E2E_NETNS" in os.environ:
        return
    netns = os.path.join(HERE, "netns.sh")
    os.execv("/bin/sh", ["/bin/sh", netns, sys.executable,
                         os.path.abspath(script)] + sys.argv[1:])


def find_switchboard(explicit=None):
    """$top_builddir/switchboard, else ./switchboard, else the one at the
    top of this source tree."""
    if explicit:
        return os.path.abspath(explicit)
    cands = []
    if os.environ.get("top_builddir"):
        cands.append(os.path.join(os.environ["top_builddir"], "switchboard"))
    cands.append(os.path.join(os.getcwd(), "switchboard"))
    cands.append(os.path.join(HERE, "..", "..", "switchboard"))
    for c in cands:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    return os.path.abspath(cands[0])


def no_proxy():
    """urllib honours *_proxy variables; everything here is on loopback."""
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        os.environ.pop(k, None)
    os.environ["no_proxy"] = "*"


def account_line(number, password, sip_port, codecs=None, mediaenc=None,
                 answermode="auto", domain=DOMAIN, extra=""):
    """A baresip 1.0.0 account (for BaresipPhone.add_account).

    codecs: baresip's ``audio_codecs`` value, a comma-separated list of
    NAME[/RATE[/CHANNELS]] (e.g. 'PCMU/8000', 'opus/48000/2', 'G722',
    'PCMA/8000'); None offers every codec loaded.  mediaenc: 'srtp'
    (SDES offered, RTP/AVP), 'srtp-mand' (SDES required, RTP/AVP),
    'srtp-mandf' (SDES required, RTP/SAVPF), 'dtls_srtp'; needs srtp.so
    (or dtls_srtp.so) loaded."""
    line = ('<sip:%s@%s;transport=udp>;auth_user=%s;auth_pass=%s;'
            'outbound="sip:127.0.0.1:%d;transport=udp";regint=300;'
            'answermode=%s' % (number, domain, number, password, sip_port,
                               answermode))
    if codecs:
        line += ";audio_codecs=%s" % codecs
    if mediaenc:
        line += ";mediaenc=%s" % mediaenc
    if extra:
        line += ";" + extra.lstrip(";")
    return line


# --------------------------------------------------------------------------
# the server

def _children(pid):
    """PIDs of the children of `pid` (every thread's list)."""
    kids = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return kids
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def _alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


class Switchboard:
    """One switchboard process with its own config, store and API port;
    stopped only by its own PID.  `extra` adds config lines {key: value}.
    """

    def __init__(self, binary, workdir, sip_port, api_port,
                 log_level="info", extra=None, token=TOKEN, domain=DOMAIN):
        self.binary = binary
        self.workdir = workdir
        self.sip_port = sip_port
        self.api_port = api_port
        self.token = token
        self.domain = domain
        self.conf = os.path.join(workdir, "switchboard.conf")
        self.store = os.path.join(workdir, "t.db")
        self.log_path = os.path.join(workdir, "switchboard.log")
        self.proc = None
        self.starts = 0
        conf = [("sip_listen_udp", "127.0.0.1:%d" % sip_port),
                ("sip_listen_tcp", "127.0.0.1:%d" % sip_port),
                ("sip_listen_tls", "none"),
                ("sip_domain", domain),
                ("store_path", self.store),
                ("api_listen", "127.0.0.1:%d" % api_port),
                ("api_token", token),
                ("log_level", log_level),
                ("reg_keepalive_interval", "30")]
        for k, v in (extra or {}).items():
            conf = [(a, b) for a, b in conf if a != k] + [(k, str(v))]
        os.makedirs(workdir, exist_ok=True)
        with open(self.conf, "w") as f:
            for k, v in conf:
                f.write("%s %s\n" % (k, v))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=5):
        """Start and wait until GET /api/status answers; returns its body."""
        self.starts += 1
        logf = open(self.log_path, "ab")
        logf.write(b"==== start %d ====\n" % self.starts)
        logf.flush()
        try:
            self.proc = subprocess.Popen(
                [self.binary, "-f", self.conf], stdin=subprocess.DEVNULL,
                stdout=logf, stderr=subprocess.STDOUT, cwd=self.workdir,
                preexec_fn=_die_with_parent)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PhoneError("switchboard exited with %s at start; "
                                 "log:\n%s" % (self.proc.returncode,
                                               self.tail()))
            try:
                code, body = self.api("GET", "/api/status", timeout=1)
                if code == 200:
                    return body
                last = "HTTP %d %r" % (code, body)
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise PhoneError("switchboard API not answering within %.1fs (%s); "
                         "log:\n%s" % (timeout, last, self.tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=5):
        """SIGTERM and wait for the exit; returns the exit status."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("switchboard did not exit within %.1fs of "
                                 "SIGTERM (killed)" % timeout)

    def stop(self):
        if self.alive():
            try:
                self.terminate(3)
            except AssertionError:
                pass

    def api(self, method, path, body=None, timeout=3):
        """(status, parsed JSON or text)"""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.api_port, path), data=data,
            method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                code, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, raw = e.code, e.read()
        try:
            return code, json.loads(raw.decode() or "null")
        except ValueError:
            return code, raw.decode(errors="replace")

    def add_extension(self, number, password, auth_order=None, srtp=None):
        body = {"number": number, "name": "Ext " + number,
                "password": password}
        if auth_order:
            body["auth_order"] = auth_order
        if srtp:
            body["srtp"] = srtp
        code, resp = self.api("POST", "/api/extensions", body)
        if code not in (200, 201):
            raise AssertionError("POST /api/extensions %s: HTTP %d %r"
                                 % (number, code, resp))
        return resp

    # ---- the relay it started -------------------------------------------

    def relay_state(self):
        """'ready', 'down' or None (API not answering)."""
        try:
            code, body = self.api("GET", "/api/status", timeout=1)
        except OSError:
            return None
        if code != 200 or not isinstance(body, dict):
            return None
        return body.get("relay")

    def wait_relay(self, state="ready", timeout=10):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.relay_state()
            if last == state:
                return time.monotonic()
            time.sleep(0.05)
        raise AssertionError("relay not %r within %.1fs (GET /api/status "
                             "says relay=%r); log:\n%s"
                             % (state, timeout, last, self.tail(15)))

    def relay_pids(self):
        """Live children of switchboard (the sbrelay it started)."""
        if not self.alive():
            return []
        return [p for p in _children(self.pid) if _alive(p)]

    def relay_pid(self):
        kids = self.relay_pids()
        named = [p for p in kids if (_comm(p) or "").startswith("sbrelay")]
        kids = named or kids
        return kids[0] if len(kids) == 1 else None

    def tail(self, n=40):
        return _tail(self.log_path, n)


# --------------------------------------------------------------------------
# wire capture

_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SOL_PACKET = getattr(socket, "SOL_PACKET", 263)
_PACKET_STATISTICS = 6
_ETH_P_IP = 0x0800


class RtpSniffer:
    """Capture UDP on lo (AF_PACKET) in a thread.

    Keeps, for every RTP-looking packet: (t, src_ip, sport, dst_ip, dport,
    pt, seq, ts, ssrc, length) with t the kernel receive time; for every
    UDP packet to or from one of `sip_ports`: (t, sport, dport, text).
    start() raises OSError when capture is not permitted (no
    CAP_NET_RAW); callers then go without it."""

    def __init__(self, sip_ports=(), ifname="lo", max_packets=400000):
        self.ifname = ifname
        self.sip_ports = set(sip_ports)
        self.max_packets = max_packets
        self.rtp = []
        self.sip = []
        self.sock = None
        self._stop = False
        self._thread = None
        self._lock = threading.Lock()
        self.kernel_time = False
        self._drops = 0

    def start(self):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                          socket.htons(_ETH_P_IP))
        try:        # beyond rmem_max where permitted (CAP_NET_ADMIN)
            s.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 8 << 20)
        except OSError:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            except OSError:
                pass
        try:
            s.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            self.kernel_time = True
        except OSError:
            self.kernel_time = False
        s.bind((self.ifname, 0))
        s.settimeout(0.2)
        self.sock = s
        self._thread = threading.Thread(target=self._loop, name="sniffer",
                                        daemon=True)
        self._thread.start()
        return self

    def drops(self):
        """Packets the kernel dropped for this capture so far (a dropped
        packet would look like an arrival gap)."""
        if self.sock is not None:
            try:
                st = self.sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8)
                self._drops += struct.unpack("II", st)[1]  # read resets
            except OSError:
                pass
        return self._drops

    def stop(self):
        self._stop = True
        if self._thread:
            self._thread.join(2)
        if self.sock:
            self.sock.close()
            self.sock = None

    def _loop(self):
        s = self.sock
        while not self._stop:
            try:
                data, anc, _, addr = s.recvmsg(70000, 64)
            except socket.timeout:
                continue
            except OSError:
                break
            if addr[2] == socket.PACKET_OUTGOING:   # lo: each packet twice
                continue
            t = None
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == _SO_TIMESTAMPNS:
                    if len(val) >= 16:
                        sec, ns = struct.unpack("qq", val[:16])
                    else:
                        sec, ns = struct.unpack("ii", val[:8])
                    t = sec + ns / 1e9
            if t is None:
                t = time.time()
            self._packet(t, data)

    def _packet(self, t, frame):
        off = 14                    # lo carries a (zero) Ethernet header
        if len(frame) < off + 28:
            return
        vihl = frame[off]
        if vihl >> 4 != 4 or frame[off + 9] != 17:          # IPv4 UDP
            return
        ihl = (vihl & 15) * 4
        src = socket.inet_ntoa(frame[off + 12:off + 16])
        dst = socket.inet_ntoa(frame[off + 16:off + 20])
        u = off + ihl
        sport, dport, ulen = struct.unpack("!HHH", frame[u:u + 6])
        payload = frame[u + 8:u + ulen]
        with self._lock:
            if len(self.rtp) + len(self.sip) > self.max_packets:
                return
            if sport in self.sip_ports or dport in self.sip_ports:
                self.sip.append((t, sport, dport,
                                 payload.decode("utf-8", "replace")))
                return
            if len(payload) >= 12 and payload[0] >> 6 == 2 \
                    and not 192 <= payload[1] <= 223:       # not RTCP
                pt = payload[1] & 0x7F
                seq, ts, ssrc = struct.unpack("!HII", payload[2:12])
                self.rtp.append((t, src, sport, dst, dport, pt, seq, ts,
                                 ssrc, len(payload)))

    def now(self):
        """The sniffer's clock (kernel stamps are CLOCK_REALTIME)."""
        return time.time()

    def rtp_to(self, ports, t0=None, t1=None, src_ports=None,
               dst_ip=None):
        """RTP packets whose destination port is in `ports` (a range or a
        set), optionally from `src_ports` and within [t0, t1]."""
        with self._lock:
            pk = list(self.rtp)
        out = []
        for p in pk:
            if p[4] not in ports:
                continue
            if src_ports is not None and p[2] not in src_ports:
                continue
            if dst_ip is not None and p[3] != dst_ip:
                continue
            if t0 is not None and p[0] < t0:
                continue
            if t1 is not None and p[0] > t1:
                continue
            out.append(p)
        return out

    def sip_messages(self, t0=None, t1=None):
        with self._lock:
            m = list(self.sip)
        return [x for x in m if (t0 is None or x[0] >= t0) and
                (t1 is None or x[0] <= t1)]


def arrival_report(packets, t0=None, t1=None):
    """Arrival gaps of a list of sniffed RTP packets.  Returns a dict:
    count, first, last, longest gap in ms (between consecutive packets,
    also from t0 to the first and from the last to t1 when given), pts
    {pt: count}, ssrcs, sources."""
    times = sorted(p[0] for p in packets)
    r = {"count": len(times), "pts": {}, "ssrcs": set(), "sources": set(),
         "gap_ms": 0.0, "gap_at": None}
    for p in packets:
        r["pts"][p[5]] = r["pts"].get(p[5], 0) + 1
        r["ssrcs"].add(p[8])
        r["sources"].add("%s:%d" % (p[1], p[2]))
    if not times:
        if t0 is not None and t1 is not None:
            r["gap_ms"] = (t1 - t0) * 1000
        return r
    r["first"], r["last"] = times[0], times[-1]
    edges = list(times)
    if t0 is not None and t0 < times[0]:
        edges.insert(0, t0)
    if t1 is not None and t1 > times[-1]:
        edges.append(t1)
    for a, b in zip(edges, edges[1:]):
        if (b - a) * 1000 > r["gap_ms"]:
            r["gap_ms"] = (b - a) * 1000
            r["gap_at"] = a
    return r


# --------------------------------------------------------------------------
# SIP on the wire, summarised

def _sdp_summary(body):
    """'RTP/AVP PCMU/8000,telephone-event/8000 127.0.0.1:30000' (per m=
    line, ';'-joined), with crypto noted."""
    if not body or "m=" not in body:
        return "no SDP"
    out = []
    conn = None
    cur = None
    for line in body.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("c=") and cur is None:
            conn = line.split()[-1]
        elif line.startswith("m="):
            f = line[2:].split()
            cur = {"media": f[0], "port": f[1], "proto": f[2],
                   "pts": f[3:], "map": {}, "crypto": 0, "conn": conn,
                   "dir": ""}
            out.append(cur)
        elif cur is not None and line.startswith("c="):
            cur["conn"] = line.split()[-1]
        elif cur is not None and line.startswith("a=rtpmap:"):
            pt, _, enc = line[9:].partition(" ")
            cur["map"][pt] = enc
        elif cur is not None and line.startswith("a=crypto:"):
            cur["crypto"] += 1
        elif cur is not None and line in ("a=sendrecv", "a=sendonly",
                                          "a=recvonly", "a=inactive"):
            cur["dir"] = line[2:]
    s = []
    for m in out:
        static = {"0": "PCMU/8000", "8": "PCMA/8000", "9": "G722/8000",
                  "18": "G729/8000"}
        names = [m["map"].get(p, static.get(p, "pt" + p)) for p in m["pts"]]
        s.append("%s %s %s %s:%s%s%s" % (
            m["media"], m["proto"], ",".join(names), m["conn"], m["port"],
            " crypto x%d" % m["crypto"] if m["crypto"] else "",
            " " + m["dir"] if m["dir"] else ""))
    return "; ".join(s)


def sip_flow(msgs, ports, pbx_port):
    """Summarise the INVITE transactions between the phones on `ports`
    (their SIP ports) and the PBX: one line per INVITE and per final
    response, with the SDP's media summary."""
    out = []
    names = {pbx_port: "pbx"}
    names.update(ports)
    for t, sport, dport, text in msgs:
        if sport not in names or dport not in names:
            continue
        first = text.split("\r\n", 1)[0]
        msg = sbtest.parse_msg(text)
        cseq = sbtest.hdr(msg, "cseq") or ""
        if "INVITE" not in cseq:
            continue
        if msg["method"] == "INVITE":
            what = "INVITE"
        elif msg["code"] and msg["code"] >= 180:
            what = first.split(" ", 1)[1]
        else:
            continue
        body = msg["body"]
        out.append("%s->%s %s [%s]" % (names[sport], names[dport], what,
                                       _sdp_summary(body)))
    return out


# --------------------------------------------------------------------------
# audio checks

class MediaCheck(AssertionError):
    pass


def tone_check(path, expect_hz, other_hz=(), talk_s=None, min_share=0.8,
               max_gap_ms=200.0, wire=None, rate_hint=None):
    """Check a recording (WAV path or ToneResult) of what one side heard.

    * the expected tone dominates (audio.analyse's rules);
    * it is heard for at least `min_share` of `talk_s` (the wall-clock
      time the call was up), and for `min_share` of the recording;
    * no run of frames without it longer than `max_gap_ms` between its
      first and last frame (the middle of the call);
    * none of `other_hz` (own tone, a stranger's) is heard;
    * `wire`, an arrival_report() of the RTP that reached this phone during
      the call: no arrival gap longer than `max_gap_ms` (not checked when
      wire["capture_drops"] says the capture itself lost packets).
    Returns (ToneResult, text); raises MediaCheck with the numbers."""
    r = what = path
    if not isinstance(what, audio.ToneResult):
        r = audio.analyse(path, expect_hz, other_hz)
    problems = []
    if r.frames == 0:
        problems.append("recording is empty")
    if r.fraction < min_share:
        problems.append("%d Hz in only %.0f%% of the recording"
                        % (expect_hz, 100 * r.fraction))
    if talk_s and r.tone_s < min_share * talk_s:
        problems.append("%d Hz heard %.2f s, under %.0f%% of the %.2f s "
                        "talk time" % (expect_hz, r.tone_s, 100 * min_share,
                                       talk_s))
    if r.longest_gap_ms > max_gap_ms:
        problems.append("gap of %.0f ms in the %d Hz tone (max %.0f)"
                        % (r.longest_gap_ms, expect_hz, max_gap_ms))
    for h in r.other_heard:
        problems.append("%d Hz (must not be heard) in %.0f%% of frames"
                        % (h, 100 * r.other_fraction[h]))
    # what else is in it: the loudest of a few probe frequencies, so that
    # "heard 0 %" says what was heard instead
    text = ("%d Hz %.0f%% of %.1f s (%.1f s tone%s), gap %.0f ms"
            % (expect_hz, 100 * r.fraction, r.duration_s, r.tone_s,
               ", talk %.1f s" % talk_s if talk_s else "",
               r.longest_gap_ms))
    if other_hz:
        text += ", " + ", ".join("%d Hz %.0f%%" % (h, 100 * r.other_fraction
                                                   .get(h, 0.0))
                                 for h in other_hz)
    if wire is not None:
        text += ("; wire: %d pkts %s, arrival gap %.0f ms"
                 % (wire["count"], "/".join("pt%d" % p for p in
                                            sorted(wire["pts"])),
                    wire["gap_ms"]))
        if wire.get("capture_drops"):
            text += (" (NOTE: the capture dropped %d packets, so the arrival"
                     " gap is not checked)" % wire["capture_drops"])
        elif wire["gap_ms"] > max_gap_ms:
            problems.append("no RTP reached the phone for %.0f ms (max %.0f)"
                            % (wire["gap_ms"], max_gap_ms))
    if problems and r.frames:
        text += "; median level %.1f dBFS" % r.median_level_dbfs
        try:
            text += "; loudest: " + ", ".join(
                "%d Hz %.0f dBFS at %.1f s" % x for x in dominant_hz(r.path))
        except (OSError, ValueError):
            pass
    if problems:
        raise MediaCheck("%s [%s]" % ("; ".join(problems), text))
    return r, text


def dominant_hz(path, chunks=3, chunk_ms=100, step_hz=20, top_hz=4000):
    """The loudest frequency (a multiple of step_hz up to top_hz) in a few
    chunks spread over a recording: [(hz, dBFS, at_s)].  For failure
    messages: says what was heard instead of the expected tone."""
    rate, samples = audio.read_wav(path)
    n = int(rate * chunk_ms / 1000)
    if len(samples) < n:
        return []
    out = []
    for k in range(chunks):
        start = int((len(samples) - n) * (k + 1) / (chunks + 1))
        frame = samples[start:start + n]
        best = max(((audio.goertzel_amplitude(frame, hz, rate), hz)
                    for hz in range(step_hz, min(top_hz, rate // 2),
                                    step_hz)))
        out.append((best[1], 20 * math.log10(max(best[0], 1e-10)),
                    start / float(rate)))
    return out


# --------------------------------------------------------------------------
# G.711 mu-law, RTP

def _ulaw_enc_one(s):
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if s < 0 else 0
    if s < 0:
        s = -s
    if s > CLIP:
        s = CLIP
    s += BIAS
    exp = max(0, (s >> 7).bit_length() - 1)
    if exp > 7:
        exp = 7
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def _ulaw_dec_one(u):
    u = ~u & 0xFF
    sign, exp, mant = u & 0x80, (u >> 4) & 7, u & 0x0F
    s = (((mant << 3) + 0x84) << exp) - 0x84
    return -s if sign else s


_ULAW_DEC = [_ulaw_dec_one(u) for u in range(256)]


def ulaw_encode(samples):
    """16-bit ints -> mu-law bytes (G.711)."""
    return bytes(_ulaw_enc_one(int(s)) for s in samples)


def ulaw_decode(data):
    """mu-law bytes -> list of 16-bit ints."""
    return [_ULAW_DEC[b] for b in data]


def ulaw_tone(freq, seconds, rate=8000, amplitude=0.5):
    n = int(rate * seconds)
    peak = 32767 * amplitude
    w = 2 * math.pi * freq / rate
    return ulaw_encode(int(peak * math.sin(w * i)) for i in range(n))


def write_wav16(path, samples, rate=8000):
    a = array.array("h", (max(-32768, min(32767, int(s))) for s in samples))
    if sys.byteorder == "big":
        a.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(a.tobytes())
    return path


def rtp_packet(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt,
                       seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def rtp_parse(data):
    """(pt, seq, ts, ssrc, payload) or None."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    if 192 <= b1 <= 223:
        return None                                     # RTCP
    off = 12 + 4 * (b0 & 15)
    if b0 & 0x10:                                       # extension
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if b0 & 0x20 and end > off:                         # padding
        end -= data[-1]
    return b1 & 0x7F, seq, ts, ssrc, data[off:end]


class RtpStream:
    """One UDP socket that sends a PCMU stream (20 ms packets, paced in a
    thread) to a target that can change, and records what it receives:
    [(monotonic time, (ip, port), pt, seq, ts, ssrc, payload)]."""

    def __init__(self, addr, port, ulaw, pt=0, name="rtp"):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((addr, port))
        self.local = self.sock.getsockname()
        self.ulaw = ulaw
        self.pt = pt
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.target = None
        self.sending = False
        self.sent = 0
        self.received = []
        self._pos = 0
        self._stop = False
        self._lock = threading.Lock()
        self._threads = []

    def start_receiving(self):
        t = threading.Thread(target=self._rx, name=self.name + "-rx",
                             daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def send_to(self, target):
        """Start (or re-aim) sending to `target` (ip, port)."""
        self.target = target
        if not self.sending:
            self.sending = True
            t = threading.Thread(target=self._tx, name=self.name + "-tx",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def pause(self):
        self.sending = False

    def _rx(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, src = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            now = time.monotonic()
            p = rtp_parse(data)
            if p is None:
                continue
            with self._lock:
                self.received.append((now,) + (src,) + p)

    def _tx(self):
        first = True
        t = time.monotonic()
        while not self._stop and self.sending:
            chunk = self.ulaw[self._pos:self._pos + 160]
            if len(chunk) < 160:
                self._pos = 0
                chunk = self.ulaw[:160]
            self._pos += 160
            try:
                self.sock.sendto(rtp_packet(self.pt, self.seq, self.ts,
                                            self.ssrc, chunk, first),
                                 self.target)
                self.sent += 1
            except OSError:
                pass
            first = False
            self.seq += 1
            self.ts += 160
            t += 0.020
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.2:          # fell far behind: do not burst
                t = time.monotonic()

    def close(self):
        self._stop = True
        self.sending = False
        for t in self._threads:
            t.join(1)
        self.sock.close()

    def packets(self, t0=None, t1=None, src=None):
        with self._lock:
            r = list(self.received)
        return [p for p in r if (t0 is None or p[0] >= t0) and
                (t1 is None or p[0] <= t1) and (src is None or p[1] == src)]

    def recording(self, path, t0=None, t1=None, src=None):
        """The PCMU payloads received (in sequence order), as a WAV."""
        pk = [p for p in self.packets(t0, t1, src) if p[2] == 0]
        pk.sort(key=lambda p: p[0])
        samples = []
        for p in pk:
            samples.extend(ulaw_decode(p[6]))
        return write_wav16(path, samples)


# --------------------------------------------------------------------------
# a scripted SIP phone

def _digest(challenge, user, password, method, uri):
    """Authorization value for one MD5 challenge (qop=auth or none)."""
    p = sbtest.auth_params(challenge)
    alg = p.get("algorithm", "MD5")
    if alg.upper() != "MD5":
        raise AssertionError("challenge algorithm %s, want MD5" % alg)
    realm, nonce = p.get("realm", DOMAIN), p["nonce"]
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        return sbtest.digest_credentials("MD5", user, password, method, uri,
                                         nonce, realm=realm,
                                         opaque=p.get("opaque"))
    def md5(s):
        return hashlib.md5(s.encode()).hexdigest()
    resp = md5("%s:%s:%s" % (md5("%s:%s:%s" % (user, realm, password)),
                             nonce, md5("%s:%s" % (method, uri))))
    v = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
         'response="%s", algorithm=MD5' % (user, realm, nonce, uri, resp))
    if p.get("opaque"):
        v += ', opaque="%s"' % p["opaque"]
    return v


class ScriptedUA:
    """A minimal SIP UA over UDP on `addr`:`port`, all requests sent to
    the PBX at 127.0.0.1:`pbx_port` (outbound proxy).  A receive thread
    answers OPTIONS, BYE, NOTIFY with 200 and re-ACKs retransmitted 2xx
    to our INVITE.  register(), invite(), bye()."""

    def __init__(self, user, password, addr, port, pbx_port,
                 domain=DOMAIN):
        self.user = user
        self.password = password
        self.addr = addr
        self.domain = domain
        self.pbx = ("127.0.0.1", pbx_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, port))
        self.port = self.sock.getsockname()[1]
        self.tag = "sc%08x" % random.getrandbits(32)
        self.log = []               # (monotonic, 'sent'|'recv', text)
        self._cond = threading.Condition()
        self._responses = []        # parsed responses not yet taken
        self.bye_received = None
        self.dialog = None
        self._stop = False
        self._cseq = random.randint(1, 1000)
        self._thread = threading.Thread(target=self._rx, name="ua-" + user,
                                        daemon=True)
        self._thread.start()

    # ---- transport ------------------------------------------------------

    def _send(self, text):
        with self._cond:
            self.log.append((time.monotonic(), "sent", text))
        self.sock.sendto(text.encode(), self.pbx)

    def _rx(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            text = data.decode("utf-8", "replace")
            if not text.strip():
                continue            # CRLF keep-alive
            msg = sbtest.parse_msg(text)
            with self._cond:
                self.log.append((time.monotonic(), "recv", text))
            if msg["method"]:
                self._request(msg, src)
            else:
                self._response(msg)

    def _reply(self, req, code, reason, src, extra=()):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for name in ("via", "from", "to", "call-id", "cseq"):
            for v in sbtest.hdrs(req, name):
                if name == "to" and "tag=" not in v and code > 100:
                    v += ";tag=" + self.tag
                lines.append("%s: %s" % (name.title().replace("Id", "ID"),
                                         v))
        lines += list(extra) + ["Content-Length: 0"]
        text = "\r\n".join(lines) + "\r\n\r\n"
        with self._cond:
            self.log.append((time.monotonic(), "sent", text))
        self.sock.sendto(text.encode(), src)

    def _request(self, msg, src):
        m = msg["method"]
        if m == "ACK":
            return
        if m == "BYE":
            with self._cond:
                self.bye_received = (time.monotonic(), msg)
                self._cond.notify_all()
        self._reply(msg, 200 if m in ("OPTIONS", "BYE", "NOTIFY")
                    else 501, "OK" if m in ("OPTIONS", "BYE", "NOTIFY")
                    else "Not Implemented", src)

    def _response(self, msg):
        cseq = sbtest.hdr(msg, "cseq") or ""
        if "INVITE" in cseq and msg["code"] and 200 <= msg["code"] < 300 \
                and self.dialog is not None and self.dialog.get("acked") \
                and sbtest.hdr(msg, "call-id") == self.dialog["call_id"]:
            self._ack(msg)                  # retransmitted 2xx
            return
        with self._cond:
            self._responses.append(msg)
            self._cond.notify_all()

    def _wait_response(self, branch, timeout, provisional=False):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, r in enumerate(self._responses):
                    if branch in (sbtest.hdr(r, "via") or "") and \
                            (provisional or r["code"] >= 200):
                        del self._responses[i]
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def _transact(self, text, branch, timeout=5.0):
        """Send with UDP retransmission (T1 500 ms, doubling); return the
        final response (a dict from sbtest.parse_msg)."""
        deadline = time.monotonic() + timeout
        interval = 0.5
        got_prov = False
        while True:
            if not got_prov:
                self._send(text)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no final response within %.1fs to "
                                     "%s" % (self.user, timeout,
                                             text.split("\r\n")[0]))
            r = self._wait_response(branch, min(interval, left),
                                    provisional=True)
            if r is None:
                interval = min(interval * 2, 4.0)
                continue
            if r["code"] < 200:
                got_prov = True             # stop retransmitting INVITE
                continue
            return r

    # ---- requests -------------------------------------------------------

    def _branch(self):
        return "z9hG4bK-sc%016x" % random.getrandbits(64)

    def _via(self, branch):
        return "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.addr,
                                                          self.port, branch)

    def contact(self):
        return "<sip:%s@%s:%d>" % (self.user, self.addr, self.port)

    def register(self, expires=300, timeout=5.0):
        """REGISTER with MD5 digest.  Returns the 200 response."""
        call_id = "screg-%016x@%s" % (random.getrandbits(64), self.addr)
        auth = None
        uri = "sip:%s" % self.domain
        for attempt in range(2):
            self._cseq += 1
            branch = self._branch()
            lines = ["REGISTER %s SIP/2.0" % uri, self._via(branch),
                     "Max-Forwards: 70",
                     "From: <sip:%s@%s>;tag=%s" % (self.user, self.domain,
                                                   self.tag),
                     "To: <sip:%s@%s>" % (self.user, self.domain),
                     "Call-ID: %s" % call_id,
                     "CSeq: %d REGISTER" % self._cseq,
                     "Contact: %s" % self.contact(),
                     "Expires: %d" % expires]
            if auth:
                lines.append("Authorization: " + auth)
            lines += ["User-Agent: media_calls.py", "Content-Length: 0"]
            r = self._transact("\r\n".join(lines) + "\r\n\r\n", branch,
                               timeout)
            if r["code"] == 200:
                return r
            if r["code"] == 401 and auth is None:
                auth = _digest(sbtest.hdr(r, "www-authenticate"), self.user,
                               self.password, "REGISTER", uri)
                continue
            break
        raise AssertionError("%s: REGISTER got %d %s" % (self.user,
                                                         r["code"],
                                                         r["reason"]))

    def invite(self, target, sdp, timeout=10.0):
        """INVITE sip:target@domain with `sdp`, answer a 401/407 with MD5
        digest; on 2xx send the ACK and return the response (its body is
        the answer).  Non-2xx final: ACKed, AssertionError."""
        ruri = "sip:%s@%s" % (target, self.domain)
        call_id = "scinv-%016x@%s" % (random.getrandbits(64), self.addr)
        auth_hdr = None
        deadline = time.monotonic() + timeout
        for attempt in range(2):
            self._cseq += 1
            branch = self._branch()
            frm = "<sip:%s@%s>;tag=%s" % (self.user, self.domain, self.tag)
            to = "<%s>" % ruri
            lines = ["INVITE %s SIP/2.0" % ruri, self._via(branch),
                     "Max-Forwards: 70", "From: " + frm, "To: " + to,
                     "Call-ID: %s" % call_id,
                     "CSeq: %d INVITE" % self._cseq,
                     "Contact: %s" % self.contact()]
            if auth_hdr:
                lines.append(auth_hdr)
            lines += ["User-Agent: media_calls.py",
                      "Content-Type: application/sdp",
                      "Content-Length: %d" % len(sdp.encode())]
            text = "\r\n".join(lines) + "\r\n\r\n" + sdp
            self.dialog = {"call_id": call_id, "cseq": self._cseq,
                           "ruri": ruri, "from": frm, "acked": False}
            r = self._transact(text, branch, max(0.5, deadline
                                                 - time.monotonic()))
            if r["code"] >= 300:
                # ACK for a non-2xx: same branch, To from the response
                ack = ["ACK %s SIP/2.0" % ruri, self._via(branch),
                       "Max-Forwards: 70", "From: " + frm,
                       "To: " + (sbtest.hdr(r, "to") or to),
                       "Call-ID: %s" % call_id,
                       "CSeq: %d ACK" % self._cseq, "Content-Length: 0"]
                self._send("\r\n".join(ack) + "\r\n\r\n")
            if r["code"] in (401, 407) and auth_hdr is None:
                name = "www-authenticate" if r["code"] == 401 \
                    else "proxy-authenticate"
                val = _digest(sbtest.hdr(r, name), self.user, self.password,
                              "INVITE", ruri)
                auth_hdr = ("Authorization: " if r["code"] == 401
                            else "Proxy-Authorization: ") + val
                continue
            if r["code"] >= 300:
                self.dialog = None
                raise AssertionError("%s: INVITE %s got %d %s"
                                     % (self.user, ruri, r["code"],
                                        r["reason"]))
            break
        self.dialog.update(to=sbtest.hdr(r, "to"),
                           remote_target=(list(sbtest.contacts(r)) or
                                          [ruri])[0],
                           routes=list(reversed(
                               [x for v in sbtest.hdrs(r, "record-route")
                                for x in sbtest.split_commas(v)])))
        self._ack(r)
        self.dialog["acked"] = True
        return r

    def _in_dialog(self, method, cseq, branch):
        d = self.dialog
        lines = ["%s %s SIP/2.0" % (method, d["remote_target"]),
                 self._via(branch), "Max-Forwards: 70",
                 "From: " + d["from"], "To: " + d["to"],
                 "Call-ID: %s" % d["call_id"], "CSeq: %d %s" % (cseq, method)]
        for r in d["routes"]:
            lines.append("Route: " + r)
        lines.append("Content-Length: 0")
        return "\r\n".join(lines) + "\r\n\r\n"

    def _ack(self, resp):
        self._send(self._in_dialog("ACK", self.dialog["cseq"],
                                   self._branch()))

    def bye(self, timeout=5.0):
        """BYE the current dialog; returns the final response code (or
        None when there is no dialog)."""
        if self.dialog is None:
            return None
        self._cseq += 1
        branch = self._branch()
        r = self._transact(self._in_dialog("BYE", self._cseq, branch),
                           branch, timeout)
        self.dialog = None
        return r["code"]

    def wait_bye(self, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.bye_received is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self.bye_received

    def close(self):
        self._stop = True
        self._thread.join(1)
        self.sock.close()

    def trace(self):
        return "\n".join("---- %s %.3f\n%s" % (d, t, x)
                         for t, d, x in self.log)


def sdp_media(body):
    """(connection address, audio port, [payload types], {pt: rtpmap}) of
    the first audio m= line of an SDP body."""
    conn, port, pts, rtpmap = None, None, [], {}
    in_audio = False
    for line in body.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("c=") and (conn is None or in_audio):
            conn = line.split()[-1]
        elif line.startswith("m="):
            if port is not None:
                break
            f = line[2:].split()
            if f[0] == "audio":
                in_audio = True
                port, pts = int(f[1]), f[3:]
        elif in_audio and line.startswith("a=rtpmap:"):
            pt, _, enc = line[9:].partition(" ")
            rtpmap[pt] = enc
    return conn, port, pts, rtpmap
