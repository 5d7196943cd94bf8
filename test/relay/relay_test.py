#!/usr/bin/env python3
"""Black-box test of sbrelay and its control protocol (version 1).

Starts $top_builddir/sbrelay (else ./sbrelay) on a temporary UNIX socket
(left stale on purpose, as by a relay that died), its own RTP port range
and an RTP timeout of 1 s, then talks docs/relay-protocol.md to it, with
UDP sockets of its own as the phones (127.0.0.1; a stranger on
127.0.0.2):

 * EPROTO before hello; hello; the documented error codes (missing field:
   EINVAL naming it; unknown call or leg: ENOENT; unknown command: EPROTO;
   a wrong protocol version: EPROTO and the connection closes);
 * offer/answer: SDPs rewritten to the relay's address and ports, every
   other byte kept; a re-offer keeps the ports;
 * RTP and RTCP from phone A reach phone B from the relay's ports, and
   back, payloads intact; counters in `query` and `stats`;
 * latching: a phone whose SDP names a wrong port gets audio once it has
   sent; a stranger's packets are not relayed and count as dropped;
 * the timeout event after 1 s of silence, once per silence;
 * players, tones and recorders: a WAV file played into a leg reaches its
   phone as the relay's own PCMU stream of the file's tone (one SSRC,
   marker, sequence, 20 ms timestamps), the peer's packets held back
   until `played` or `stop`; a transcoded call's legs get it in their
   own codecs (Opus checked by payload type and timestamps); a busy tone
   keeps its cadence; a beep ends with `played`; a recorded leg's WAV
   has the phone's tone and the length it sent; bad paths, calls, legs
   and fields are refused with the documented codes;
 * RTCP: on a transcoded call (PCMU-G.722) each phone gets the relay's
   own SRs (every ~1 s here: --rtcp-interval) with a report block on
   its stream; an RR from a phone gives `query` the round trip and the
   loss and jitter it saw; on a relayed call the same from an RR quoting
   the far phone's SR, which crosses as it is;
 * DTMF translation: a phone with telephone-event and one without: the
   events come out as tones, the tones as events, each digit reported
   once;
 * `delete` frees the ports at once; closing a control connection frees
   its calls; no descriptor is left open; SIGTERM ends the relay cleanly
   (exit 0, which under ASan also means no leak) and removes its socket.

Loopback only, every wait bounded; only the relay this script started is
stopped, by its PID. Exit status 0 if every check passed.
"""

import json
import math
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

PORT_MIN = 44200          # the relay's range; test_legs.c uses 43100-
PORT_MAX = 44263
TIMEOUT_S = 1             # the relay's -T
WAIT_S = 5                # longest wait for anything
RELAY_IP = "127.0.0.1"
STRANGER_IP = "127.0.0.2"

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: %s" % what, flush=True)
    return cond


def relay_binary():
    top = os.environ.get("top_builddir")
    return os.path.join(top if top else os.getcwd(), "sbrelay")


class Ctl:
    """One control connection: requests by id, events kept aside."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT_S)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.next_id = 0
        self.closed = False

    def close(self):
        self.sock.close()

    def read_msg(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                self.closed = True
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, line):
        self.sock.sendall(line if line.endswith(b"\n") else line + b"\n")

    def request(self, command, **members):
        self.next_id += 1
        msg = {"id": self.next_id, "command": command}
        msg.update(members)
        self.send_raw(json.dumps(msg).encode())
        return self.reply(self.next_id)

    def reply(self, rid):
        deadline = time.monotonic() + WAIT_S
        while True:
            msg = self.read_msg(deadline)
            if msg is None:
                return None
            if "event" in msg:
                self.events.append(msg)
            elif msg.get("id") == rid:
                return msg

    def next_reply(self):
        """The next message that is not an event (for id-less errors)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            msg = self.read_msg(deadline)
            if msg is None or "event" not in msg:
                return msg
            self.events.append(msg)

    def wait_event(self, pred, wait_s):
        deadline = time.monotonic() + wait_s
        while True:
            for ev in self.events:
                if pred(ev):
                    self.events.remove(ev)
                    return ev
            msg = self.read_msg(deadline)
            if msg is None:
                return None
            if "event" in msg:
                self.events.append(msg)


class Phone:
    """An RTP and an RTCP socket on an even/odd port pair."""

    def __init__(self, ip=RELAY_IP):
        for _ in range(100):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind((ip, 0))
            port = rtp.getsockname()[1]
            if port % 2 == 0 and port + 1 < 65536:
                rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    rtcp.bind((ip, port + 1))
                    self.rtp, self.rtcp, self.port = rtp, rtcp, port
                    return
                except OSError:
                    rtcp.close()
            rtp.close()
        raise RuntimeError("no free port pair")

    def close(self):
        self.rtp.close()
        self.rtcp.close()

    def sdp(self, port=None, origin="phone"):
        return phone_sdp(port or self.port, origin)


def phone_sdp(port, origin="phone"):
    return ("v=0\r\n"
            "o=%s 42 1 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            "m=audio %d RTP/AVP 0 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=sendrecv\r\n" % (origin, port))


def recv_all(sock, count, wait_s=2.0):
    """Up to count datagrams within wait_s: [(payload, sender)]."""
    got = []
    deadline = time.monotonic() + wait_s
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            got.append(sock.recvfrom(4096))
        except socket.timeout:
            break
    return got


def rtp_packet(seq, tag):
    # RTP header (V=2, PT 0), then a payload that names the packet
    hdr = bytes([0x80, 0x00, (seq >> 8) & 0xff, seq & 0xff,
                 0, 0, 0, seq & 0xff, 0x12, 0x34, 0x56, 0x78])
    return hdr + ("%s-%04d-" % (tag, seq)).encode() + bytes(range(160))


def sdp_port(sdp):
    for line in sdp.split("\r\n"):
        if line.startswith("m=audio "):
            return int(line.split()[1])
    return None


def can_bind(port):
    for p in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((RELAY_IP, p))
        except OSError:
            return False
        finally:
            s.close()
    return True


def wait_until(pred, wait_s=WAIT_S):
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def leg_of(reply, name):
    for leg in (reply or {}).get("legs", []):
        if leg.get("leg") == name:
            return leg
    return {}


def test_errors(ctl):
    base = {"call": "e1", "from": "a", "to": "b", "source": RELAY_IP,
            "sdp": phone_sdp(4000)}
    for field in ("call", "from", "to", "source", "sdp"):
        req = dict(base)
        del req[field]
        r = ctl.request("offer", **req)
        check(r and r.get("code") == "EINVAL" and
              ("'%s'" % field) in r.get("error", ""),
              "offer without '%s': EINVAL naming it (%s)" % (field, r))
    r = ctl.request("offer", **dict(base, source="phone.example"))
    check(r and r.get("code") == "EINVAL" and "source" in r.get("error"),
          "offer with a bad source: EINVAL naming it")
    r = ctl.request("offer", **dict(base, sdp="v=0\r\ns=-\r\n"))
    check(r and r.get("code") == "EINVAL" and "sdp" in r.get("error"),
          "offer with an SDP without audio: EINVAL naming sdp")
    r = ctl.request("query", call="nope")
    check(r and r.get("code") == "ENOENT", "query of no call: ENOENT")
    r = ctl.request("delete", call="nope")
    check(r and r.get("code") == "ENOENT", "delete of no call: ENOENT")
    r = ctl.request("answer", **dict(base, call="nope"))
    check(r and r.get("code") == "ENOENT", "answer on no call: ENOENT")
    r = ctl.request("dance")
    check(r and r.get("code") == "EPROTO", "unknown command: EPROTO")
    ctl.send_raw(b"this is not json")
    r = ctl.next_reply()
    check(r and r.get("code") == "EINVAL" and "id" not in r,
          "a line that is not JSON: EINVAL without id")
    ctl.send_raw(b'{"command":"ping"}')
    r = ctl.next_reply()
    check(r and r.get("code") == "EINVAL" and "id" in r.get("error", ""),
          "a request without id: EINVAL naming it")
    r = ctl.request("stats")
    check(r and r.get("calls") == 0 and r.get("legs") == 0,
          "failed requests left no call or leg (%s)" % r)


def test_relay(ctl):
    a, b = Phone(), Phone()
    offer = a.sdp(origin="alice")
    r = ctl.request("offer", call="c1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=offer)
    check(r and r.get("result") == "ok", "offer: ok (%s)" % r)
    pb = sdp_port(r["sdp"])
    check(pb and PORT_MIN <= pb <= PORT_MAX and pb % 2 == 0,
          "offer: SDP names an even relay port (%s)" % pb)
    added = ("a=rtpmap:8 PCMA/8000\r\n"
             "a=rtpmap:9 G722/8000\r\n"
             "a=rtpmap:111 opus/48000/2\r\n"
             "a=fmtp:111 useinbandfec=1;maxplaybackrate=8000;"
             "sprop-maxcapturerate=8000\r\n")
    check(r["sdp"] == offer.replace("m=audio %d RTP/AVP 0 101" % a.port,
                                    "m=audio %d RTP/AVP 0 101 8 9 111" % pb)
          + added,
          "offer: the audio port changed and the codecs the relay can"
          " transcode to added; every other byte kept")

    r2 = ctl.request("offer", call="c1", **{"from": "a", "to": "b"},
                     source=RELAY_IP, sdp=offer)
    check(r2 and sdp_port(r2.get("sdp", "")) == pb,
          "re-offer: the same port")

    answer = b.sdp(origin="bob")
    r = ctl.request("answer", call="c1", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    check(r and r.get("result") == "ok", "answer: ok (%s)" % r)
    pa = sdp_port(r["sdp"])
    check(pa and pa != pb and PORT_MIN <= pa <= PORT_MAX,
          "answer: SDP names another relay port (%s)" % pa)

    r = ctl.request("answer", call="c1", **{"from": "x", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    check(r and r.get("code") == "ENOENT" and "'x'" in r.get("error"),
          "answer from an unknown leg: ENOENT naming it")

    # A -> relay port a -> B, seen from relay port b; and back
    n = 50
    for i in range(n):
        a.rtp.sendto(rtp_packet(i, "A"), (RELAY_IP, pa))
    got = recv_all(b.rtp, n)
    check(len(got) == n, "A to B: %d of %d packets" % (len(got), n))
    check(all(src == (RELAY_IP, pb) for _, src in got),
          "A to B: sent from the relay's port b")
    check([p for p, _ in got] == [rtp_packet(i, "A") for i in range(n)],
          "A to B: payloads intact, in order")
    for i in range(n):
        b.rtp.sendto(rtp_packet(i, "B"), (RELAY_IP, pb))
    got = recv_all(a.rtp, n)
    check(len(got) == n and all(src == (RELAY_IP, pa) for _, src in got)
          and [p for p, _ in got] == [rtp_packet(i, "B") for i in range(n)],
          "B to A: %d of %d packets, from port a, intact" % (len(got), n))

    a.rtcp.sendto(b"rtcp-from-a", (RELAY_IP, pa + 1))
    got = recv_all(b.rtcp, 1)
    check(got == [(b"rtcp-from-a", (RELAY_IP, pb + 1))],
          "RTCP A to B, from the relay's RTCP port (%s)" % got)

    # a stranger on another loopback address
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((STRANGER_IP, 0))
    stranger.sendto(b"stranger", (RELAY_IP, pa))
    got = recv_all(b.rtp, 1, 0.5)
    check(not got, "a stranger's packet is not relayed")
    stranger.close()

    q = ctl.request("query", call="c1")
    la, lb = leg_of(q, "a"), leg_of(q, "b")
    check(la.get("local") == "%s:%d" % (RELAY_IP, pa) and
          lb.get("local") == "%s:%d" % (RELAY_IP, pb),
          "query: local addresses (%s)" % q)
    check(la.get("remote") == "%s:%d" % (RELAY_IP, a.port) and
          la.get("latched") is True, "query: a latched to phone A")
    check(la.get("packets_in") == n + 1 and lb.get("packets_out") == n + 1,
          "query: a in %s, b out %s (%d)" % (la.get("packets_in"),
                                            lb.get("packets_out"), n + 1))
    check(la.get("dropped") == 1, "query: the stranger dropped on a (%s)"
          % la.get("dropped"))
    check(lb.get("bytes_out") == la.get("bytes_in") > 0,
          "query: bytes out of b = bytes into a")
    check(0 <= la.get("last_packet_ms", -1) < 5000,
          "query: last_packet_ms of a")
    s = ctl.request("stats")
    check(s and s.get("calls") == 1 and s.get("legs") == 2 and
          s.get("packets") >= 2 * n + 1 and s.get("dropped") >= 1,
          "stats: %s" % s)

    # silence: one timeout per leg, once
    t0 = time.monotonic()
    ev = ctl.wait_event(lambda e: e.get("event") == "timeout" and
                        e.get("leg") == "a", TIMEOUT_S + 3)
    check(ev and ev.get("call") == "c1" and
          ev.get("idle_ms", 0) >= TIMEOUT_S * 1000,
          "timeout event for leg a (%s)" % ev)
    check(time.monotonic() - t0 < TIMEOUT_S + 2.5, "timeout in time")
    ev = ctl.wait_event(lambda e: e.get("event") == "timeout" and
                        e.get("leg") == "b", 2)
    check(ev is not None, "timeout event for leg b")
    ev = ctl.wait_event(lambda e: e.get("event") == "timeout",
                        TIMEOUT_S + 0.5)
    check(ev is None, "one timeout event per silence (%s)" % ev)
    a.rtp.sendto(rtp_packet(99, "A"), (RELAY_IP, pa))
    ev = ctl.wait_event(lambda e: e.get("event") == "timeout" and
                        e.get("leg") == "a", TIMEOUT_S + 3)
    check(ev is not None, "a new silence, a new timeout event")

    r = ctl.request("delete", call="c1")
    check(r and r.get("result") == "ok", "delete: ok")
    check(can_bind(pa) and can_bind(pb),
          "delete: the relay's ports can be bound at once")
    r = ctl.request("query", call="c1")
    check(r and r.get("code") == "ENOENT", "deleted call: ENOENT")
    a.close()
    b.close()


def te_packet(seq, ts, event, end, duration, marker=False):
    hdr = bytes([0x80, (0x80 if marker else 0) | 101, (seq >> 8) & 0xff,
                 seq & 0xff]) + ts.to_bytes(4, "big") + \
        bytes([0x12, 0x34, 0x56, 0x78])
    return hdr + bytes([event, (0x80 if end else 0) | 10,
                        (duration >> 8) & 0xff, duration & 0xff])


def ulaw(sample):
    """G.711 mu-law of one 16-bit sample (ITU-T G.711)."""
    sign = 0x80 if sample < 0 else 0
    s = min(abs(sample), 32635) + 0x84
    exp = max(0, s.bit_length() - 8)
    return ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f)) & 0xff


def dtmf_pcmu(digit, ms):
    """A DTMF key as 8 kHz mu-law: its two tones, -10 dBFS each."""
    low = {"1": 697, "5": 770, "9": 852, "#": 941}[digit]
    high = {"1": 1209, "5": 1336, "9": 1477, "#": 1477}[digit]
    n = 8 * ms
    return bytes(ulaw(int(5000 * (math.sin(2 * math.pi * low * i / 8000) +
                                  math.sin(2 * math.pi * high * i / 8000))))
                 for i in range(n))


def test_dtmf(ctl):
    """Digits reach the core: RFC 4733 events on a relayed call, each
    once however often its end is repeated; in-band tones on a transcoded
    leg whose phone has no telephone-event."""
    a, b = Phone(), Phone()
    r = ctl.request("offer", call="d1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=a.sdp())
    pb = sdp_port(r["sdp"])
    r = ctl.request("answer", call="d1", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=b.sdp())
    pa = sdp_port(r["sdp"])
    ts = 8000
    for seq, (end, dur) in enumerate([(False, 160), (False, 320),
                                      (True, 480), (True, 480),
                                      (True, 480)]):
        a.rtp.sendto(te_packet(seq, ts, 5, end, dur, seq == 0),
                     (RELAY_IP, pa))
    ev = ctl.wait_event(lambda e: e.get("event") == "dtmf", 2)
    check(ev and ev.get("call") == "d1" and ev.get("leg") == "a" and
          ev.get("digit") == "5" and ev.get("source") == "rfc4733",
          "RFC 4733 digit 5 on leg a (%s)" % ev)
    # the same digit again: a new event, a new timestamp
    a.rtp.sendto(te_packet(9, ts + 1600, 5, True, 480), (RELAY_IP, pa))
    ev2 = ctl.wait_event(lambda e: e.get("event") == "dtmf", 2)
    check(ev2 and ev2.get("digit") == "5", "a second press: %s" % ev2)
    ev3 = ctl.wait_event(lambda e: e.get("event") == "dtmf", 0.5)
    check(ev3 is None, "repeated end packets give no more digits (%s)"
          % ev3)
    ctl.request("delete", call="d1")

    # in-band: A has no telephone-event, B answers Opus: transcoded
    offer = a.sdp().replace(" 0 101\r\n", " 0\r\n").replace(
        "a=rtpmap:101 telephone-event/8000\r\n", "")
    r = ctl.request("offer", call="d2", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=offer)
    answer = b.sdp().replace(" 0 101\r\n", " 111\r\n").replace(
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2")
    r = ctl.request("answer", call="d2", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    check(r and r.get("result") == "ok", "transcoded answer: %s" % r)
    pa = sdp_port(r["sdp"])
    audio = bytes([0xff]) * 1600 + dtmf_pcmu("9", 120) + \
        bytes([0xff]) * 1600 + dtmf_pcmu("#", 120) + bytes([0xff]) * 1600
    for k in range(len(audio) // 160):
        hdr = bytes([0x80, 0x00, 0, k & 0xff]) + \
            (k * 160).to_bytes(4, "big") + bytes([1, 2, 3, 4])
        a.rtp.sendto(hdr + audio[k * 160:(k + 1) * 160], (RELAY_IP, pa))
        time.sleep(0.02)
    got = []
    while True:
        ev = ctl.wait_event(lambda e: e.get("event") == "dtmf", 1)
        if ev is None:
            break
        got.append((ev.get("digit"), ev.get("source"), ev.get("leg")))
    check(got == [("9", "inband", "a"), ("#", "inband", "a")],
          "in-band digits 9 and # on leg a, once each (%s)" % got)
    ctl.request("delete", call="d2")
    a.close()
    b.close()


SSRC_B = 0x12345678        # what rtp_packet() sends with


def ulaw_decode(byte):
    """One G.711 mu-law byte to a 16-bit sample."""
    byte = ~byte & 0xff
    mag = ((((byte & 0x0f) << 3) + 0x84) << ((byte >> 4) & 7)) - 0x84
    return -mag if byte & 0x80 else mag


def sine(hz, n, rate=8000, amp=8000):
    return [int(amp * math.sin(2 * math.pi * hz * i / rate))
            for i in range(n)]


def write_wav(path, rate, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))


def crossing_hz(samples, rate):
    """Frequency from the zero crossings of a steady tone."""
    ups = [i for i in range(1, len(samples))
           if samples[i - 1] < 0 <= samples[i]]
    if len(ups) < 2:
        return 0
    return (len(ups) - 1) * rate / (ups[-1] - ups[0])


def goertzel(samples, hz, rate=8000):
    """Amplitude of one frequency in samples."""
    coef = 2 * math.cos(2 * math.pi * hz / rate)
    q1 = q2 = 0.0
    for x in samples:
        q1, q2 = coef * q1 - q2 + x, q1
    n = max(len(samples), 1)
    return 2 * math.sqrt(max(q1 * q1 + q2 * q2 - coef * q1 * q2, 0)) / n


def rtp_fields(pkt):
    """(marker, pt, seq, ts, ssrc, payload) of a plain RTP packet."""
    b1, seq, ts, ssrc = struct.unpack("!xBHII", pkt[:12])
    return (bool(b1 & 0x80), b1 & 0x7f, seq, ts, ssrc, pkt[12:])


def pcmu_packet(seq, samples):
    hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xffff, seq * 160, SSRC_B)
    return hdr + bytes(ulaw(x) for x in samples)


def pump_many(socks, seconds, send=None):
    """What each socket receives for seconds, {sock: [(payload,
    sender)]}; send(i) called every 20 ms."""
    got = {s: [] for s in socks}
    t0 = time.monotonic()
    end = t0 + seconds
    slot, i = t0, 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if send and now >= slot:
            send(i)
            i += 1
            slot += 0.02
        left = max(0.0, min(slot if send else end, end) - time.monotonic())
        ready, _, _ = select.select(socks, [], [], left)
        for s in ready:
            got[s].append(s.recvfrom(4096))
    return got


def pump(listen, seconds, send=None):
    """What listen receives for seconds; send(i) called every 20 ms."""
    return pump_many([listen], seconds, send)[listen]


def stream_ok(pkts, pt, ts_step):
    """One RTP stream: one SSRC, marker on the first packet only,
    sequence numbers one apart, timestamps ts_step apart."""
    f = [rtp_fields(p) for p in pkts]
    return (len(f) > 0 and all(x[1] == pt for x in f) and
            len({x[4] for x in f}) == 1 and
            [x[0] for x in f] == [True] + [False] * (len(f) - 1) and
            all((f[i][2] - f[i - 1][2]) & 0xffff == 1 and
                (f[i][3] - f[i - 1][3]) & 0xffffffff == ts_step
                for i in range(1, len(f))))


def pcmu_call(ctl, name):
    """Phones A and B on a call relayed as is (PCMU)."""
    a, b = Phone(), Phone()
    r = ctl.request("offer", call=name, **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=a.sdp())
    pb = sdp_port(r["sdp"])
    r = ctl.request("answer", call=name, **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=b.sdp())
    pa = sdp_port(r["sdp"])
    return a, b, pa, pb


def test_media_errors(ctl, tmp):
    wav = os.path.join(tmp, "e.wav")
    write_wav(wav, 8000, sine(1000, 800))
    junk = os.path.join(tmp, "junk.wav")
    with open(junk, "w") as f:
        f.write("not a wav file at all, not at all")
    odd = os.path.join(tmp, "odd.wav")
    write_wav(odd, 11025, sine(1000, 800, 11025))
    a, b, pa, pb = pcmu_call(ctl, "m0")
    cases = [
        ("play", {"leg": "a", "file": wav, "call": "nope"}, "ENOENT",
         "'nope'"),
        ("play", {"call": "m0", "leg": "x", "file": wav}, "ENOENT", "'x'"),
        ("play", {"call": "m0", "file": wav}, "EINVAL", "'leg'"),
        ("play", {"call": "m0", "leg": "a"}, "EINVAL", "'file'"),
        ("play", {"call": "m0", "leg": "a", "file": "e.wav"}, "EINVAL",
         "'file'"),
        ("play", {"call": "m0", "leg": "a",
                  "file": tmp + "/../" + os.path.basename(tmp) + "/e.wav"},
         "EINVAL", "'file'"),
        ("play", {"call": "m0", "leg": "a", "file": tmp + "/none.wav"},
         "ENOENT", "none.wav"),
        ("play", {"call": "m0", "leg": "a", "file": tmp + "x/e.wav"},
         "EACCES", "not under"),
        ("record", {"call": "m0", "leg": "b", "file": "/tmp/out.wav"},
         "EACCES", "not under"),
        ("play", {"call": "m0", "leg": "a", "file": junk}, "EINVAL",
         "'file'"),
        ("play", {"call": "m0", "leg": "a", "file": odd}, "EINVAL",
         "'file'"),
        ("play", {"call": "m0", "leg": "a", "file": wav, "loop": "yes"},
         "EINVAL", "'loop'"),
        ("tone", {"call": "m0", "leg": "a", "tone": "dance"}, "EINVAL",
         "'tone'"),
        ("tone", {"call": "m0", "leg": "a", "tone": "busy", "set": "xx"},
         "EINVAL", "'set'"),
        ("stop", {"call": "m0", "leg": "z"}, "ENOENT", "'z'"),
        ("record", {"call": "m0", "leg": "b", "file": "r.wav"}, "EINVAL",
         "'file'"),
        ("record", {"call": "m0", "leg": "b",
                    "file": tmp + "/no/dir/r.wav"}, "ENOENT", "r.wav"),
        ("record_stop", {"call": "m0", "leg": "b"}, "ENOENT", "'b'"),
    ]
    for cmd, members, code, says in cases:
        r = ctl.request(cmd, **members)
        check(r and r.get("code") == code and says in r.get("error", ""),
              "%s %s: %s naming %s (%s)" % (cmd, members, code, says, r))
    r = ctl.request("stop", call="m0", leg="a")
    check(r and r.get("result") == "ok" and r.get("stopped") is False,
          "stop with nothing playing: ok, stopped false (%s)" % r)

    rec = os.path.join(tmp, "twice.wav")
    r = ctl.request("record", call="m0", leg="b", file=rec)
    check(r and r.get("result") == "ok", "record: ok (%s)" % r)
    r = ctl.request("record", call="m0", leg="b", file=rec)
    check(r and r.get("code") == "EEXIST", "record twice: EEXIST (%s)" % r)
    ctl.request("delete", call="m0")
    ev = ctl.wait_event(lambda e: e.get("event") == "recorded", 1)
    check(ev and ev.get("leg") == "b" and ev.get("file") == rec and
          ev.get("duration_ms") == 0 and os.path.exists(rec),
          "delete ends a recording: recorded event, empty WAV (%s)" % ev)

    # no answer yet: no codec to play in
    r = ctl.request("offer", call="m1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=a.sdp())
    r = ctl.request("play", call="m1", leg="b", file=wav)
    check(r and r.get("code") == "ENOTSUP",
          "play before the answer: ENOTSUP (%s)" % r)
    ctl.request("delete", call="m1")
    a.close()
    b.close()


def test_play(ctl, tmp):
    """A file played into leg a of a relayed call: A hears it, not B,
    until it ends; then B again."""
    wav = os.path.join(tmp, "tone1k.wav")
    write_wav(wav, 8000, sine(1000, 4800))           # 600 ms
    a, b, pa, pb = pcmu_call(ctl, "p1")
    sent_b = []

    def b_talks(i):
        p = rtp_packet(i, "B")
        sent_b.append(p)
        b.rtp.sendto(p, (RELAY_IP, pb))

    r = ctl.request("play", call="p1", leg="a", file=wav)
    check(r and r.get("result") == "ok", "play: ok (%s)" % r)
    q = ctl.request("query", call="p1")
    check(leg_of(q, "a").get("playing") == wav,
          "query: leg a plays the file (%s)" % leg_of(q, "a"))
    got = pump(a.rtp, 0.5, b_talks) + pump(a.rtp, 0.4)
    ev = ctl.wait_event(lambda e: e.get("event") == "played", 1)
    check(ev == {"event": "played", "call": "p1", "leg": "a",
                 "file": wav}, "played event (%s)" % ev)
    pkts = [p for p, _ in got]
    check(all(src == (RELAY_IP, pa) for _, src in got),
          "played: from the relay's port of leg a")
    check(not [p for p in pkts if rtp_fields(p)[4] == SSRC_B],
          "B's %d packets are held back while A hears the file"
          % len(sent_b))
    check(len(pkts) == 30 and stream_ok(pkts, 0, 160),
          "played: 30 packets of 20 ms, one PCMU stream (%d)" % len(pkts))
    check(rtp_fields(pkts[0])[4] != SSRC_B if pkts else False,
          "played: the relay's own SSRC")
    pcm = [ulaw_decode(x) for p in pkts for x in rtp_fields(p)[5]]
    hz = crossing_hz(pcm[400:], 8000)
    amp = goertzel(pcm[400:], 1000)
    check(len(pcm) == 4800 and abs(hz - 1000) < 10 and
          6400 < amp < 9600,
          "played: 600 ms of 1 kHz (%d samples, %.1f Hz, amplitude %.0f)"
          % (len(pcm), hz, amp))

    # ended: the bridge is back
    for i in range(5):
        b.rtp.sendto(rtp_packet(100 + i, "B"), (RELAY_IP, pb))
    got = recv_all(a.rtp, 5)
    check([p for p, _ in got] == [rtp_packet(100 + i, "B")
                                  for i in range(5)],
          "after played: B's packets reach A again, intact")

    # a loop of 100 ms, stopped
    short = os.path.join(tmp, "short.wav")
    write_wav(short, 8000, sine(1000, 800))
    r = ctl.request("play", call="p1", leg="a", file=short, loop=True)
    got = pump(a.rtp, 0.5)
    check(len(got) >= 20 and stream_ok([p for p, _ in got], 0, 160),
          "a loop plays on past the file's end (%d packets)" % len(got))
    r = ctl.request("stop", call="p1", leg="a")
    check(r and r.get("stopped") is True, "stop: stopped (%s)" % r)
    pump(a.rtp, 0.1)
    for i in range(5):
        b.rtp.sendto(rtp_packet(200 + i, "B"), (RELAY_IP, pb))
    got = recv_all(a.rtp, 6, 0.5)
    check([p for p, _ in got] == [rtp_packet(200 + i, "B")
                                  for i in range(5)],
          "after stop: nothing played, B reaches A (%d)" % len(got))
    ev = ctl.wait_event(lambda e: e.get("event") == "played", 0.1)
    check(ev is None, "a stopped play sends no played event (%s)" % ev)

    # us busy: 500 ms on, 500 ms off
    r = ctl.request("tone", call="p1", leg="a", tone="busy", set="us")
    check(r and r.get("result") == "ok", "tone busy: ok (%s)" % r)
    got = pump(a.rtp, 1.3)
    ctl.request("stop", call="p1", leg="a")
    pkts = [p for p, _ in got]
    on = [sum(abs(ulaw_decode(x)) for x in rtp_fields(p)[5]) > 160 * 500
          for p in pkts]
    pcm = [ulaw_decode(x) for p in pkts[2:23] for x in rtp_fields(p)[5]]
    check(stream_ok(pkts, 0, 160) and len(on) >= 60 and
          on[:25] == [True] * 25 and on[25:50] == [False] * 25 and
          on[50:60] == [True] * 10,
          "busy: 25 frames on, 25 off, on again (%s)"
          % "".join("#" if x else "." for x in on))
    check(goertzel(pcm, 480) > 1000 and goertzel(pcm, 620) > 1000 and
          goertzel(pcm, 425) < 300,
          "busy (us): 480 and 620 Hz")

    # a beep ends by itself (a busy packet sent just before the stop may
    # still be on its way: not the beep's)
    pump(a.rtp, 0.1)
    r = ctl.request("tone", call="p1", leg="a", tone="beep", set="eu")
    got = pump(a.rtp, 0.7)
    ev = ctl.wait_event(lambda e: e.get("event") == "played", 1)
    check(ev == {"event": "played", "call": "p1", "leg": "a",
                 "tone": "beep"} and len(got) == 25,
          "beep: 25 packets, then played (%d, %s)" % (len(got), ev))
    ctl.request("delete", call="p1")
    a.close()
    b.close()


def test_play_transcoded(ctl, tmp):
    """A PCMU phone and an Opus phone: a file played to each leg comes
    in that leg's codec."""
    wav = os.path.join(tmp, "tone16k.wav")
    write_wav(wav, 16000, sine(1000, 6400, 16000))   # 400 ms
    a, b = Phone(), Phone()
    r = ctl.request("offer", call="t1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=a.sdp())
    answer = b.sdp().replace(" 0 101\r\n", " 111\r\n").replace(
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2")
    r = ctl.request("answer", call="t1", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    check(r and r.get("result") == "ok", "transcoded call (%s)" % r)
    r1 = ctl.request("play", call="t1", leg="a", file=wav)
    r2 = ctl.request("play", call="t1", leg="b", file=wav)
    check(r1.get("result") == "ok" and r2.get("result") == "ok",
          "play into both legs: ok (%s, %s)" % (r1, r2))
    got_b = pump(b.rtp, 0.6)
    got_a = recv_all(a.rtp, 100, 0.1)
    evs = [ctl.wait_event(lambda e: e.get("event") == "played", 1)
           for _ in range(2)]
    check(sorted((e or {}).get("leg", "") for e in evs) == ["a", "b"],
          "played on both legs (%s)" % evs)
    pkts = [p for p, _ in got_b]
    check(len(pkts) == 20 and stream_ok(pkts, 111, 960),
          "Opus leg: 20 packets, type 111, 960 apart (%d)" % len(pkts))
    pkts = [p for p, _ in got_a]
    pcm = [ulaw_decode(x) for p in pkts for x in rtp_fields(p)[5]]
    hz = crossing_hz(pcm[400:], 8000)
    check(len(pkts) == 20 and stream_ok(pkts, 0, 160) and
          abs(hz - 1000) < 10,
          "PCMU leg: 20 packets of the 16 kHz file at 1 kHz (%d, %.1f Hz)"
          % (len(pkts), hz))
    ctl.request("delete", call="t1")
    a.close()
    b.close()


def test_record(ctl, tmp):
    """B's PCMU tone recorded on leg b; leg a's recording ends with the
    call."""
    rec_b = os.path.join(tmp, "rec-b.wav")
    rec_a = os.path.join(tmp, "rec-a.wav")
    a, b, pa, pb = pcmu_call(ctl, "r1")
    r = ctl.request("record", call="r1", leg="b", file=rec_b)
    check(r and r.get("result") == "ok", "record: ok (%s)" % r)
    r = ctl.request("record", call="r1", leg="a", file=rec_a)
    tone = sine(1000, 8000)
    for i in range(50):
        b.rtp.sendto(pcmu_packet(i, tone[i * 160:(i + 1) * 160]),
                     (RELAY_IP, pb))
        time.sleep(0.005)
    for i in range(10):
        a.rtp.sendto(pcmu_packet(i, tone[:160]), (RELAY_IP, pa))
    got = recv_all(a.rtp, 50)
    check(len(got) == 50 and len(recv_all(b.rtp, 10)) == 10,
          "recorded packets are relayed too (%d)" % len(got))
    q = ctl.request("query", call="r1")
    check(leg_of(q, "b").get("recording") == rec_b,
          "query: leg b records (%s)" % leg_of(q, "b"))
    r = ctl.request("record_stop", call="r1", leg="b")
    check(r and r.get("file") == rec_b and r.get("duration_ms") == 1000,
          "record_stop: the file, 1000 ms (%s)" % r)
    try:
        with wave.open(rec_b, "rb") as w:
            rate, n = w.getframerate(), w.getnframes()
            pcm = list(struct.unpack("<%dh" % n, w.readframes(n)))
    except (OSError, wave.Error, struct.error) as e:
        rate, n, pcm = 0, 0, []
        check(False, "recording readable (%s)" % e)
    hz = crossing_hz(pcm[800:], 8000)
    check(rate == 8000 and n == 8000 and abs(hz - 1000) < 10 and
          6400 < goertzel(pcm[800:], 1000) < 9600,
          "recording: 8 kHz, 8000 samples, 1 kHz (%d, %d, %.1f Hz)"
          % (rate, n, hz))
    check(not [f for f in os.listdir(tmp) if ".tmp." in f and "rec-b" in f],
          "no temporary file left of the recording")

    ctl.request("delete", call="r1")
    ev = ctl.wait_event(lambda e: e.get("event") == "recorded", 1)
    check(ev == {"event": "recorded", "call": "r1", "leg": "a",
                 "file": rec_a, "duration_ms": 200} and
          os.path.exists(rec_a),
          "delete ends leg a's recording: recorded, 200 ms (%s)" % ev)
    a.close()
    b.close()


RTCP_INTERVAL_MS = 1000   # the relay's --rtcp-interval (5000 in service)
SSRC_A = 0x0a0a0a0a
SSRC_B2 = 0x0b0b0b0b


def rtcp_parse(pkt):
    """[(type, count, body)] of a compound RTCP packet, None if bad."""
    out, off = [], 0
    while off + 4 <= len(pkt):
        b0, pt, words = struct.unpack("!BBH", pkt[off:off + 4])
        size = 4 * (words + 1)
        if b0 >> 6 != 2 or off + size > len(pkt):
            return None
        out.append((pt, b0 & 0x1f, pkt[off + 4:off + size]))
        off += size
    return out if out and off == len(pkt) else None


def rtcp_block(body):
    """(ssrc, fraction, lost, ext_seq, jitter, lsr, dlsr) of a report
    block."""
    ssrc, fl, ext_seq, jitter, lsr, dlsr = struct.unpack("!IIIIII",
                                                         body[:24])
    return ssrc, fl >> 24, fl & 0xffffff, ext_seq, jitter, lsr, dlsr


def rtcp_sr(ssrc, ntp, rtp_ts, packets, octets):
    return struct.pack("!BBHIQIII", 0x80, 200, 6, ssrc, ntp, rtp_ts,
                       packets, octets)


def rtcp_rr(ssrc, about, fraction, lost, ext_seq, jitter, lsr, dlsr):
    """An RR with one report block, and SDES CNAME."""
    rr = struct.pack("!BBHIIIIIII", 0x81, 201, 7, ssrc, about,
                     fraction << 24 | lost, ext_seq, jitter, lsr, dlsr)
    item = struct.pack("!I", ssrc) + bytes([1, 5]) + b"phone" + b"\0"
    item += b"\0" * (-len(item) % 4)
    return rr + struct.pack("!BBH", 0x81, 202, len(item) // 4) + item


def rtcp_wait_sr(sock, wait_s):
    """The next SR on sock: (parsed, when it came), or (None, None)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(4096)
        except socket.timeout:
            return None, None
        parts = rtcp_parse(data)
        if parts and parts[0][0] == 200:
            return parts, time.monotonic()


def drop_events(ctl, call):
    """Forget the events of a call (e.g. digits in noise)."""
    ctl.events = [e for e in ctl.events if e.get("call") != call]


def test_rtcp_transcoded(ctl):
    """A PCMU phone and a G.722 phone: the relay reports to each with
    an SR of its own, a block on what the phone sends and a CNAME; an RR
    from a phone gives `query` the round trip and the loss it sees."""
    a, b = Phone(), Phone()
    offer = a.sdp().replace(" 0 101\r\n", " 0\r\n").replace(
        "a=rtpmap:101 telephone-event/8000\r\n", "")
    r = ctl.request("offer", call="q1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=offer)
    pb = sdp_port(r["sdp"])
    answer = b.sdp().replace(" 0 101\r\n", " 9\r\n").replace(
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:9 G722/8000").replace(
        "a=rtpmap:101 telephone-event/8000\r\n", "")
    r = ctl.request("answer", call="q1", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    check(r and r.get("result") == "ok", "PCMU-G.722 call (%s)" % r)
    pa = sdp_port(r["sdp"])
    sent = []

    def talk(i):
        # A loses the 6th packet of each 10 on the way
        if i % 10 != 5:
            hdr = struct.pack("!BBHII", 0x80, 0, i, 160 * i, SSRC_A)
            a.rtp.sendto(hdr + bytes([0xff]) * 160, (RELAY_IP, pa))
            sent.append(i)
        hdr = struct.pack("!BBHII", 0x80, 9, i, 160 * i, SSRC_B2)
        b.rtp.sendto(hdr + bytes(160), (RELAY_IP, pb))

    got = pump(a.rtcp, 2.0, talk)
    heard = recv_all(a.rtp, 200, 0.1)
    srs = [(rtcp_parse(p), src) for p, src in got]
    srs = [(p, src) for p, src in srs if p and p[0][0] == 200]
    check(len(srs) >= 1 and all(src == (RELAY_IP, pa + 1)
                                for _, src in srs),
          "A gets SRs from the relay's RTCP port within 2 s (%d)"
          % len(srs))
    if srs:
        parts = srs[-1][0]
        sr = parts[0]
        ssrc, _ntp, _ts, packets, octets = struct.unpack("!IQIII",
                                                         sr[2][:24])
        relay_ssrcs = {rtp_fields(p)[4] for p, _ in heard}
        check(relay_ssrcs == {ssrc} and 0 < packets and
              octets == 160 * packets,
              "SR: the relay's stream to A, %d packets of 160 octets"
              " (%s, %s)" % (packets, relay_ssrcs, ssrc))
        check(sr[1] == 1, "SR: one report block")
        if sr[1] == 1:
            src, frac, lost, ext, jit, _lsr, _dlsr = rtcp_block(sr[2][24:])
            skipped = len([i for i in range(ext + 1) if i % 10 == 5])
            check(src == SSRC_A and 15 <= frac <= 40 and ext in sent and
                  ext >= 10 and lost == skipped and jit < 80,
                  "SR block on A's stream: 10%% lost (fraction %d,"
                  " lost %d of %d up to %d, jitter %d)"
                  % (frac, lost, skipped, ext, jit))
        check(len(parts) > 1 and parts[1][0] == 202 and
              b"sbrelay-" in parts[1][2], "SR: then SDES CNAME")
    b_sr, _ = rtcp_wait_sr(b.rtcp, 2)
    check(b_sr and b_sr[0][1] == 1 and
          rtcp_block(b_sr[0][2][24:])[0] == SSRC_B2,
          "B gets an SR too, with a block on its stream")

    # A holds the relay's next SR 0.3 s and says it held it 0.25 s: a
    # round trip of 50 ms and what loopback and a loaded machine add
    # (300 ms or more if the hold were not taken off); it lost 64/256,
    # jitter 80 units (10 ms)
    sr, when = rtcp_wait_sr(a.rtcp, RTCP_INTERVAL_MS * 2 / 1000)
    check(sr is not None, "another SR to A")
    if sr:
        ssrc = struct.unpack("!I", sr[0][2][:4])[0]
        ntp = struct.unpack("!Q", sr[0][2][4:12])[0]
        time.sleep(max(0, when + 0.3 - time.monotonic()))
        a.rtcp.sendto(rtcp_rr(SSRC_A, ssrc, 64, 3, 1000, 80,
                              (ntp >> 16) & 0xffffffff, 16384),
                      (RELAY_IP, pa + 1))
        time.sleep(0.05)
    q = ctl.request("query", call="q1")
    qa = leg_of(q, "a").get("quality", {})
    rtt = qa.get("rtt_ms", -1)
    check(45 <= rtt <= 250 and
          qa.get("remote") == {"loss_pct": 25.0, "jitter_ms": 10.0,
                               "mos": qa["remote"]["mos"]} and
          1 <= qa["remote"]["mos"] < qa.get("mos", 0),
          "query: A's round trip 50 ms, remote loss 25%%, jitter 10 ms"
          " (%s)" % qa)
    check("rtt_ms" not in leg_of(q, "b").get("quality", {"rtt_ms": 0}),
          "query: no round trip for B, which sent no report")
    # A's 6th packet of each 10 never came: each was concealed once
    # (the buffer has long run dry: nothing is pending)
    ja = leg_of(q, "a").get("jitter_buffer", {})
    jb = leg_of(q, "b").get("jitter_buffer", {})
    gaps = len([i for i in range(max(sent) + 1) if i not in sent])
    check(ja.get("concealed") == gaps and ja.get("played") == len(sent) and
          ja.get("late") == 0 and ja.get("depth") == 0,
          "query: A's jitter buffer played %d and concealed the %d"
          " missing (%s)" % (len(sent), gaps, ja))
    check(jb.get("concealed") == 0 and jb.get("played", 0) >= 90,
          "query: B's jitter buffer played all, concealed none (%s)" % jb)
    r = ctl.request("delete", call="q1")
    check("rtt_ms" in leg_of(r, "a").get("quality", {}),
          "delete: the legs' quality has the round trip too")
    drop_events(ctl, "q1")
    a.close()
    b.close()


def test_rtcp_relayed(ctl):
    """Relayed as is: B's SR reaches A untouched; A's RR quoting it
    gives the relay's round trip to A, on the relay's clock alone."""
    a, b, pa, pb = pcmu_call(ctl, "q2")
    foreign = 0x0000123456789abc      # B's clock is not the relay's
    b.rtcp.sendto(rtcp_sr(SSRC_B2, foreign, 1, 2, 3), (RELAY_IP, pb + 1))
    got = recv_all(a.rtcp, 1)
    check(got == [(rtcp_sr(SSRC_B2, foreign, 1, 2, 3), (RELAY_IP, pa + 1))],
          "B's SR reaches A as it was (%s)" % got)
    time.sleep(0.3)
    a.rtcp.sendto(rtcp_rr(SSRC_A, SSRC_B2, 128, 7, 1000, 160,
                          (foreign >> 16) & 0xffffffff, 16384),
                  (RELAY_IP, pa + 1))
    got = recv_all(b.rtcp, 1)
    check(len(got) == 1, "A's RR reaches B")
    q = ctl.request("query", call="q2")
    qa = leg_of(q, "a").get("quality", {})
    check(45 <= qa.get("rtt_ms", -1) <= 250 and
          qa.get("remote", {}).get("loss_pct") == 50.0 and
          qa.get("remote", {}).get("jitter_ms") == 20.0,
          "query: A's round trip 50 ms and what it lost of B (%s)" % qa)
    ctl.request("delete", call="q2")
    a.close()
    b.close()


DTMF_FREQ = {"1": (697, 1209), "9": (852, 1477)}


def test_dtmf_translate(ctl):
    """A uses telephone-event, B does not (same codec): transcoded so
    that A's events reach B as tones and B's tones reach A as events,
    each digit reported once."""
    a, b = Phone(), Phone()
    r = ctl.request("offer", call="x1", **{"from": "a", "to": "b"},
                    source=RELAY_IP, sdp=a.sdp())
    pb = sdp_port(r["sdp"])
    answer = b.sdp().replace(" 0 101\r\n", " 0\r\n").replace(
        "a=rtpmap:101 telephone-event/8000\r\n", "")
    r = ctl.request("answer", call="x1", **{"from": "b", "to": "a"},
                    source=RELAY_IP, sdp=answer)
    pa = sdp_port(r["sdp"]) if r and "sdp" in r else None
    check(r and ("m=audio %d RTP/AVP 0 101\r\n" % pa) in r["sdp"] and
          "a=rtpmap:101 telephone-event/8000\r\n" in r["sdp"],
          "the answer to A keeps its telephone-event (%s)" % r)
    q = ctl.request("query", call="x1")
    check(leg_of(q, "a").get("codec") == "PCMU" and
          leg_of(q, "b").get("codec") == "PCMU",
          "PCMU both sides, transcoded to translate digits")

    # A: audio every 20 ms, key 1 for 200 ms from the 10th packet
    def a_talks(i):
        a.rtp.sendto(pcmu_packet(i, [0] * 160), (RELAY_IP, pa))
        if 10 <= i < 20 and i % 2 == 0:
            a.rtp.sendto(te_packet(500 + i, 1600, 1, False,
                                   160 * (i - 9), i == 10),
                         (RELAY_IP, pa))
        elif 20 <= i < 23:
            a.rtp.sendto(te_packet(500 + i, 1600, 1, True, 1600),
                         (RELAY_IP, pa))

    got = [rtp_fields(p) for p, _ in pump(b.rtp, 1.0, a_talks)]
    lo, hi = DTMF_FREQ["1"]
    on = [goertzel(pcm, lo) > 1000 and goertzel(pcm, hi) > 1000
          for pcm in ([ulaw_decode(x) for x in f[5]] for f in got)]
    check(got and all(f[1] == 0 for f in got) and 9 <= sum(on) <= 12 and
          "".join("#" if x else "." for x in on).strip(".").count(".")
          == 0,
          "B hears key 1 in its PCMU for 200 ms, no events (%s)"
          % "".join("#" if x else "." for x in on))

    # B: key 9 in-band, 120 ms
    audio = bytes([0xff]) * 1600 + dtmf_pcmu("9", 120) + \
        bytes([0xff]) * 4000

    def b_talks(i):
        if i * 160 < len(audio):
            hdr = struct.pack("!BBHII", 0x80, 0, i, 160 * i, SSRC_B2)
            b.rtp.sendto(hdr + audio[i * 160:(i + 1) * 160],
                         (RELAY_IP, pb))

    got = [rtp_fields(p) for p, _ in pump(a.rtp, 1.2, b_talks)]
    evs = [f for f in got if f[1] == 101]
    check(len([f for f in got if f[1] == 0]) > 40,
          "A hears B's audio meanwhile")
    check([(f[0], f[5][0], f[5][1] >> 7, f[5][2] << 8 | f[5][3])
           for f in evs] == [(True, 9, 0, 400), (False, 9, 1, 800),
                             (False, 9, 1, 800), (False, 9, 1, 800)] and
          len({f[3] for f in evs}) == 1 and
          len({f[4] for f in evs + [f for f in got if f[1] == 0]}) == 1,
          "A gets key 9 as one event in the relay's stream: an update,"
          " three ends (%s)" % [(f[0], f[2], f[3], f[5].hex())
                                for f in evs])
    digits = []
    while True:
        ev = ctl.wait_event(lambda e: e.get("event") == "dtmf" and
                            e.get("call") == "x1", 0.5)
        if ev is None:
            break
        digits.append((ev.get("digit"), ev.get("source"), ev.get("leg")))
    check(digits == [("1", "rfc4733", "a"), ("9", "inband", "b")],
          "each digit reported once (%s)" % digits)
    ctl.request("delete", call="x1")
    a.close()
    b.close()


# what the core answers for a conference leg's "to" leg: the codec the
# mixer is to use, at the hold address (the relay sends nothing there)
MIXER_SIDE_SDP = ("v=0\r\n"
                  "o=mixer 1 1 IN IP4 0.0.0.0\r\n"
                  "s=-\r\n"
                  "c=IN IP4 0.0.0.0\r\n"
                  "t=0 0\r\n"
                  "m=audio 9 RTP/AVP 0\r\n"
                  "a=rtpmap:0 PCMU/8000\r\n")


def conference_leg(ctl, call, name, phone):
    """A phone in a conference call: its offer makes legs name and
    name-m, the core answers for name-m; the relay's port of leg name."""
    ctl.request("offer", call=call, **{"from": name, "to": name + "-m"},
                source=RELAY_IP, sdp=phone.sdp())
    r = ctl.request("answer", call=call, **{"from": name + "-m", "to": name},
                    source=RELAY_IP, sdp=MIXER_SIDE_SDP)
    return sdp_port(r["sdp"]) if r and "sdp" in r else None


def pcmu_of(got):
    """Decoded PCMU of [(payload, sender)]."""
    return [ulaw_decode(x) for p, _ in got for x in rtp_fields(p)[5]]


def one_stream(got, pt=0, ts_step=160):
    """[(payload, sender)]: packets of one RTP stream, in order (the
    marker is not checked: the stream may have started before)."""
    f = [rtp_fields(p) for p, _ in got]
    return (len(f) > 1 and all(x[1] == pt for x in f) and
            len({x[4] for x in f}) == 1 and
            all((f[k][2] - f[k - 1][2]) & 0xffff == 1 and
                (f[k][3] - f[k - 1][3]) & 0xffffffff == ts_step
                for k in range(1, len(f))))


def tones(pcm, hzs):
    """Goertzel amplitude of each frequency, past the first 200 ms (the
    jitter buffers fill)."""
    return {hz: round(goertzel(pcm[1600:], hz)) for hz in hzs}


def windowed_max(pcm, hz, n=1600):
    return max([goertzel(pcm[k:k + n], hz)
                for k in range(0, max(len(pcm) - n, 1), n // 2)] or [0])


def test_mixer(ctl, tmp):
    """A conference: phones A, B, C in a mixer, D listening only; A
    sends 600 Hz, B 1000 Hz, C silence, D 1400 Hz: each hears the
    others, not itself, and nobody hears D; a file played into the
    mixer is heard by all; the recording of the mixer has both tones;
    leave and unmix."""
    phones = {n: Phone() for n in "abcd"}
    port = {n: conference_leg(ctl, "k1", n, ph) for n, ph in phones.items()}
    check(all(port.values()), "conference: four phones' legs in one call"
          " (%s)" % port)
    r = ctl.request("mix", call="k1", mixer="m", rate=8000)
    check(r == {"id": ctl.next_id, "result": "ok"}, "mix: ok (%s)" % r)
    rec = os.path.join(tmp, "conf.wav")
    r = ctl.request("record", call="k1", mixer="m", file=rec)
    check(r and r.get("result") == "ok", "record the mixer: ok (%s)" % r)
    for n in "abc":
        r = ctl.request("join", call="k1", leg=n, mixer="m")
        check(r and r.get("result") == "ok", "join %s: ok (%s)" % (n, r))
    r = ctl.request("join", call="k1", leg="d", mixer="m", mode="listen")
    check(r and r.get("result") == "ok", "join d listening: ok (%s)" % r)
    q = ctl.request("query", call="k1")
    mixers = (q or {}).get("mixers", [])
    check(len(mixers) == 1 and mixers[0].get("mixer") == "m" and
          mixers[0].get("rate") == 8000 and
          mixers[0].get("recording") == rec and
          [(x.get("leg"), x.get("mode")) for x in mixers[0].get("legs", [])]
          == [("a", "both"), ("b", "both"), ("c", "both"),
              ("d", "listen")], "query: the mixer and its legs (%s)"
          % mixers)

    n = 50
    sent = {"a": sine(600, 160 * n), "b": sine(1000, 160 * n),
            "c": [0] * (160 * n), "d": sine(1400, 160 * n)}

    def talk(i):
        for name in "abcd" if i < n else "":
            phones[name].rtp.sendto(
                pcmu_packet(i, sent[name][i * 160:(i + 1) * 160]),
                (RELAY_IP, port[name]))

    socks = [phones[x].rtp for x in "abcd"]
    got = pump_many(socks, 1.1, talk)
    heard = {x: pcmu_of(got[phones[x].rtp]) for x in "abcd"}
    amp = {x: tones(heard[x], (600, 1000, 1400)) for x in "abcd"}
    check(all(one_stream(got[phones[x].rtp]) for x in "abcd") and
          all(len(heard[x]) >= 160 * 45 for x in "abcd"),
          "each phone gets one PCMU stream of the mix (%s samples)"
          % {x: len(heard[x]) for x in "abcd"})
    check(amp["a"][1000] > 4000 and amp["a"][600] < 400 and
          amp["a"][1400] < 400, "A hears B's 1000 Hz, not itself (%s)"
          % amp["a"])
    check(amp["b"][600] > 4000 and amp["b"][1000] < 400 and
          amp["b"][1400] < 400, "B hears A's 600 Hz only (%s)" % amp["b"])
    check(amp["c"][600] > 4000 and amp["c"][1000] > 4000 and
          amp["c"][1400] < 400, "C hears both (%s)" % amp["c"])
    check(amp["d"][600] > 4000 and amp["d"][1000] > 4000 and
          amp["d"][1400] < 400, "D, listening only, hears both; nobody"
          " hears D (%s)" % amp["d"])

    wav = os.path.join(tmp, "conf400.wav")
    write_wav(wav, 8000, sine(400, 3200))            # 400 ms
    r = ctl.request("play", call="k1", mixer="m", file=wav)
    check(r and r.get("result") == "ok", "play into the mixer: ok (%s)" % r)
    got = pump_many(socks, 0.5)
    ev = ctl.wait_event(lambda e: e.get("event") == "played", 1)
    check(ev == {"event": "played", "call": "k1", "mixer": "m",
                 "file": wav}, "played event of the mixer (%s)" % ev)
    amp = {x: round(goertzel(pcmu_of(got[phones[x].rtp])[400:2800], 400))
           for x in "abcd"}
    check(all(v > 4000 for v in amp.values()),
          "the file is heard by all four (%s)" % amp)

    r = ctl.request("record_stop", call="k1", mixer="m")
    check(r and r.get("file") == rec and r.get("duration_ms", 0) >= 1500,
          "record_stop of the mixer: the file, its length (%s)" % r)
    try:
        with wave.open(rec, "rb") as w:
            rate, count = w.getframerate(), w.getnframes()
            pcm = list(struct.unpack("<%dh" % count, w.readframes(count)))
    except (OSError, wave.Error, struct.error) as e:
        rate, pcm = 0, []
        check(False, "mixer recording readable (%s)" % e)
    amp = {hz: round(windowed_max(pcm, hz)) for hz in (400, 600, 1000,
                                                       1400)}
    check(rate == 8000 and amp[600] > 4000 and amp[1000] > 4000 and
          amp[400] > 4000 and amp[1400] < 400,
          "the mixer's recording: 600 and 1000 Hz, the file, not D (%d Hz,"
          " %s)" % (rate, amp))

    # B leaves: back in its bridge (with b-m, which sends nothing)
    r = ctl.request("leave", call="k1", leg="b")
    check(r and r.get("mixer") == "m", "leave b: ok (%s)" % r)
    r = ctl.request("leave", call="k1", leg="b")
    check(r and r.get("code") == "ENOENT", "leave twice: ENOENT (%s)" % r)
    pump_many(socks, 0.1)

    def b_talks(i):
        if i < 20:
            phones["b"].rtp.sendto(
                pcmu_packet(100 + i, sent["b"][i * 160:(i + 1) * 160]),
                (RELAY_IP, port["b"]))

    got = pump_many(socks, 0.5, b_talks)
    amp_a = goertzel(pcmu_of(got[phones["a"].rtp]), 1000)
    check(len(got[phones["a"].rtp]) >= 20 and amp_a < 400 and
          not got[phones["b"].rtp],
          "after leave: A hears the mix without B (1000 Hz at %.0f), B"
          " hears nothing (%d packets)" % (amp_a,
                                          len(got[phones["b"].rtp])))

    # C hangs up: its pair goes, the others stay in the mix
    r = ctl.request("delete", call="k1", leg="c")
    check(r and [x.get("leg") for x in r.get("legs", [])] == ["c", "c-m"],
          "delete c: its pair's last state (%s)" % r)
    q = ctl.request("query", call="k1")
    legs = [x.get("leg") for x in (q or {}).get("legs", [])]
    members = [x.get("leg") for x in
               ((q or {}).get("mixers") or [{}])[0].get("legs", [])]
    check("c" not in legs and "c-m" not in legs and "a" in legs and
          "b-m" in legs and members == ["a", "d"],
          "query: c and c-m gone, a and d still mixed (%s, %s)"
          % (legs, members))
    r = ctl.request("delete", call="k1", leg="c")
    check(r and r.get("code") == "ENOENT", "delete c twice: ENOENT (%s)"
          % r)
    got = pump_many(socks, 0.5, lambda i: i < 20 and phones["a"].rtp.sendto(
        pcmu_packet(200 + i, sent["a"][i * 160:(i + 1) * 160]),
        (RELAY_IP, port["a"])))
    amp_d = goertzel(pcmu_of(got[phones["d"].rtp]), 600)
    check(amp_d > 4000, "after c went: D still hears A (600 Hz at %.0f)"
          % amp_d)

    r = ctl.request("unmix", call="k1", mixer="m")
    check(r and r.get("result") == "ok", "unmix: ok (%s)" % r)
    pump_many(socks, 0.1)
    got = pump_many(socks, 0.3)
    q = ctl.request("query", call="k1")
    check(not any(got.values()) and q and "mixers" not in q,
          "unmix: nobody gets the mix, query has no mixers (%s)"
          % {x: len(got[phones[x].rtp]) for x in "abcd"})
    ctl.request("delete", call="k1")
    ev = ctl.wait_event(lambda e: e.get("event") == "recorded", 0.2)
    check(ev is None, "no recorded event for a stopped recording (%s)"
          % ev)
    for ph in phones.values():
        ph.close()


def test_mixer_errors(ctl, tmp):
    """Unknown mixers, legs of another call, joining twice, bad fields;
    a recording ended by unmix is reported."""
    a, z, y = Phone(), Phone(), Phone()
    conference_leg(ctl, "k2", "a", a)
    conference_leg(ctl, "k3", "z", z)
    ctl.request("offer", call="k2", **{"from": "y", "to": "y-m"},
                source=RELAY_IP, sdp=y.sdp())
    r = ctl.request("mix", call="k2", mixer="m", rate=16000)
    check(r and r.get("result") == "ok", "mix at 16 kHz: ok (%s)" % r)
    cases = [
        ("mix", {"call": "k2", "mixer": "m"}, "EEXIST", "'m'"),
        ("mix", {"call": "k2", "mixer": "n", "rate": 11025}, "EINVAL",
         "'rate'"),
        ("mix", {"call": "k2", "mixer": "n", "rate": "8000"}, "EINVAL",
         "'rate'"),
        ("mix", {"call": "k2"}, "EINVAL", "'mixer'"),
        ("mix", {"call": "nope", "mixer": "m"}, "ENOENT", "'nope'"),
        ("join", {"call": "k2", "leg": "a", "mixer": "nope"}, "ENOENT",
         "'nope'"),
        ("join", {"call": "k2", "leg": "z", "mixer": "m"}, "ENOENT",
         "'z'"),
        ("join", {"call": "k3", "leg": "z", "mixer": "m"}, "ENOENT",
         "'m'"),
        ("join", {"call": "k2", "leg": "a", "mixer": "m",
                  "mode": "shout"}, "EINVAL", "'mode'"),
        ("join", {"call": "k2", "leg": "y", "mixer": "m"}, "ENOTSUP",
         "'y'"),
        ("join", {"call": "k2", "leg": "a"}, "EINVAL", "'mixer'"),
        ("leave", {"call": "k2", "leg": "a"}, "ENOENT", "'a'"),
        ("unmix", {"call": "k2", "mixer": "nope"}, "ENOENT", "'nope'"),
        ("play", {"call": "k2", "mixer": "nope", "file": tmp + "/x.wav"},
         "ENOENT", "'nope'"),
        ("play", {"call": "k2", "mixer": "m", "leg": "a",
                  "file": tmp + "/x.wav"}, "EINVAL", "'mixer'"),
        ("tone", {"call": "k2", "mixer": "m", "tone": "dance"}, "EINVAL",
         "'tone'"),
        ("stop", {"call": "k3", "mixer": "m"}, "ENOENT", "'m'"),
        ("record_stop", {"call": "k2", "mixer": "m"}, "ENOENT", "'m'"),
    ]
    for cmd, members, code, says in cases:
        r = ctl.request(cmd, **members)
        check(r and r.get("code") == code and says in r.get("error", ""),
              "%s %s: %s naming %s (%s)" % (cmd, members, code, says, r))
    r = ctl.request("join", call="k2", leg="a", mixer="m", mode="speak")
    check(r and r.get("result") == "ok", "join speaking: ok (%s)" % r)
    r = ctl.request("join", call="k2", leg="a", mixer="m")
    check(r and r.get("code") == "EEXIST" and "'m'" in r.get("error", ""),
          "join twice: EEXIST naming the mixer (%s)" % r)
    r = ctl.request("tone", call="k2", mixer="m", tone="beep")
    check(r and r.get("result") == "ok", "a beep into the mixer (%s)" % r)
    got = recv_all(a.rtp, 10, 0.3)
    check(not got, "speaking only: a hears nothing, not even the beep"
          " (%d packets)" % len(got))
    ev = ctl.wait_event(lambda e: e.get("event") == "played", 1)
    check(ev == {"event": "played", "call": "k2", "mixer": "m",
                 "tone": "beep"}, "the beep ends: played (%s)" % ev)
    r = ctl.request("stop", call="k2", mixer="m")
    check(r and r.get("stopped") is False, "stop after: nothing played"
          " (%s)" % r)

    rec = os.path.join(tmp, "k2.wav")
    r = ctl.request("record", call="k2", mixer="m", file=rec)
    check(r and r.get("result") == "ok", "record the mixer (%s)" % r)
    r = ctl.request("record", call="k2", mixer="m", file=rec)
    check(r and r.get("code") == "EEXIST", "record twice: EEXIST (%s)" % r)
    r = ctl.request("unmix", call="k2", mixer="m")
    ev = ctl.wait_event(lambda e: e.get("event") == "recorded", 1)
    check(r and r.get("result") == "ok" and ev and ev.get("mixer") == "m"
          and ev.get("file") == rec and "duration_ms" in ev and
          os.path.exists(rec), "unmix ends the recording: recorded (%s)"
          % ev)
    r = ctl.request("leave", call="k2", leg="a")
    check(r and r.get("code") == "ENOENT", "unmix took a out (%s)" % r)
    ctl.request("delete", call="k2")
    ctl.request("delete", call="k3")
    for ph in (a, z, y):
        ph.close()


def test_mixer_conn_close(path, ctl, tmp):
    """A core that goes away with a mixer in use: its legs and ports
    are freed, and the mixer's recording is kept."""
    other = Ctl(path)
    other.read_msg(time.monotonic() + WAIT_S)
    other.request("hello", protocol=1)
    p = Phone()
    port = conference_leg(other, "k9", "p", p)
    rec = os.path.join(tmp, "gone.wav")
    rv = [other.request("mix", call="k9", mixer="m"),
          other.request("join", call="k9", leg="p", mixer="m"),
          other.request("record", call="k9", mixer="m", file=rec)]
    check(port and all(r and r.get("result") == "ok" for r in rv),
          "second connection: a mixer, a leg in it, a recording (%s)" % rv)
    got = recv_all(p.rtp, 3, 0.5)
    check(len(got) == 3, "the leg gets the mix (%d packets)" % len(got))
    other.close()
    check(wait_until(lambda: (ctl.request("stats") or {}).get("legs") == 0),
          "closing the connection freed the mixer's legs")
    check(port and wait_until(lambda: can_bind(port)),
          "closing the connection freed their ports")
    check(os.path.exists(rec), "the mixer's recording is kept")
    p.close()


def test_latching(ctl):
    c, d = Phone(), Phone()
    wrong = Phone()
    wrong_port = wrong.port
    wrong.close()
    r = ctl.request("offer", call="c2", **{"from": "c", "to": "d"},
                    source=RELAY_IP, sdp=c.sdp(port=wrong_port))
    pd = sdp_port(r["sdp"]) if r and "sdp" in r else None
    r = ctl.request("answer", call="c2", **{"from": "d", "to": "c"},
                    source=RELAY_IP, sdp=d.sdp())
    pc = sdp_port(r["sdp"]) if r and "sdp" in r else None
    check(pc and pd, "latching call set up")
    if not (pc and pd):
        return

    d.rtp.sendto(b"early", (RELAY_IP, pd))
    check(not recv_all(c.rtp, 1, 0.3),
          "before it sends, C gets nothing (its SDP port is wrong)")
    c.rtp.sendto(b"hello-from-c", (RELAY_IP, pc))
    got = recv_all(d.rtp, 1)
    check(got == [(b"hello-from-c", (RELAY_IP, pd))], "C reaches D")
    d.rtp.sendto(b"audio-for-c", (RELAY_IP, pd))
    got = recv_all(c.rtp, 1)
    check(got == [(b"audio-for-c", (RELAY_IP, pc))],
          "once C has sent, D's audio reaches C at its real port (%s)"
          % got)
    q = ctl.request("query", call="c2")
    check(leg_of(q, "c").get("remote") == "%s:%d" % (RELAY_IP, c.port),
          "query: c latched to C's real port")

    # after latching, another port of C's own IP is a stranger too
    same_ip = Phone()
    same_ip.rtp.sendto(b"injected", (RELAY_IP, pc))
    got = recv_all(d.rtp, 1, 0.3)
    check(not got, "a stranger on C's IP but another port is not relayed"
          " (%s)" % got)
    same_ip.close()
    q = ctl.request("query", call="c2")
    check(leg_of(q, "c").get("dropped") == 1 and
          leg_of(q, "c").get("remote") == "%s:%d" % (RELAY_IP, c.port),
          "query: it is dropped, the latch stays (%s)" % leg_of(q, "c"))
    ctl.request("delete", call="c2")
    c.close()
    d.close()


def test_slow_reader(path):
    """A core that does not read for a while still gets every reply."""
    ctl = Ctl(path)
    ctl.read_msg(time.monotonic() + WAIT_S)
    ctl.request("hello", protocol=1)
    p = Phone()
    ctl.request("offer", call="big" * 40, **{"from": "a", "to": "b"},
                source=RELAY_IP, sdp=p.sdp())
    n = 3000
    req = b"".join(json.dumps({"id": 100 + i, "command": "query",
                               "call": "big" * 40}).encode() + b"\n"
                   for i in range(n))
    ctl.sock.settimeout(WAIT_S)
    ctl.sock.sendall(req)
    time.sleep(0.3)     # the relay's socket buffer fills up meanwhile
    ids = []
    deadline = time.monotonic() + WAIT_S
    while len(ids) < n:
        msg = ctl.read_msg(deadline)
        if msg is None:
            break
        if msg.get("result") == "ok" and len(msg.get("legs", [])) == 2:
            ids.append(msg["id"])
    check(ids == list(range(100, 100 + n)),
          "slow reader: %d of %d replies, whole and in order"
          % (len(ids), n))
    r = ctl.request("ping")
    check(r and r.get("result") == "ok", "slow reader: still served")

    ctl.sock.sendall(b'{"id":1,"command":"ping","pad":"' +
                     b"x" * 70000 + b'"}\n')
    msg = ctl.next_reply()
    check(msg and msg.get("code") == "EINVAL" and
          ctl.read_msg(time.monotonic() + WAIT_S) is None and ctl.closed,
          "a line over 64 KiB: EINVAL, then the connection closes")
    ctl.close()
    p.close()


def test_hello(path):
    ctl = Ctl(path)
    ev = ctl.read_msg(time.monotonic() + WAIT_S)
    check(ev and ev.get("event") == "hello" and ev.get("protocol") == 1,
          "the relay speaks first: hello, protocol 1 (%s)" % ev)
    r = ctl.request("ping")
    check(r and r.get("code") == "EPROTO", "ping before hello: EPROTO")
    r = ctl.request("offer", call="x")
    check(r and r.get("code") == "EPROTO", "offer before hello: EPROTO")
    r = ctl.request("hello", protocol=2)
    check(r and r.get("result") == "error" and r.get("code") == "EPROTO",
          "hello with protocol 2: EPROTO")
    check(ctl.read_msg(time.monotonic() + WAIT_S) is None and ctl.closed,
          "hello with protocol 2: the relay closes the connection")
    ctl.close()


def test_conn_close(path, ctl):
    other = Ctl(path)
    other.read_msg(time.monotonic() + WAIT_S)
    other.request("hello", protocol=1)
    p = Phone()
    r = other.request("offer", call="c1", **{"from": "a", "to": "b"},
                      source=RELAY_IP, sdp=p.sdp())
    port = sdp_port(r["sdp"]) if r and "sdp" in r else None
    check(port is not None, "second connection: offer ok")
    s = ctl.request("stats")
    check(s and s.get("calls") == 1, "its call exists (%s)" % s)
    r = ctl.request("query", call="c1")
    check(r and r.get("code") == "ENOENT",
          "calls of one connection are not seen from another")
    other.close()
    check(wait_until(lambda: (ctl.request("stats") or {}).get("legs") == 0),
          "closing the connection freed its legs")
    check(port and wait_until(lambda: can_bind(port)),
          "closing the connection freed its ports")
    p.close()


def main():
    binary = relay_binary()
    if not os.access(binary, os.X_OK):
        print("FAIL setup: no sbrelay at %s" % binary)
        return 1

    tmp = tempfile.mkdtemp(prefix="relaytest.")
    path = os.path.join(tmp, "relay.sock")

    # a socket file left behind by a relay that died
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()

    log = open(os.path.join(tmp, "sbrelay.log"), "w+")
    proc = subprocess.Popen([binary, "-l", path, "-a", RELAY_IP,
                             "-p", "%d-%d" % (PORT_MIN, PORT_MAX),
                             "-T", str(TIMEOUT_S), "-j", "2",
                             "--rtcp-interval", str(RTCP_INTERVAL_MS),
                             "--media-root", tmp + "/"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        check(wait_until(lambda: connectable(path)),
              "sbrelay listens on a stale socket path")
        test_hello(path)

        ctl = Ctl(path)
        ctl.read_msg(time.monotonic() + WAIT_S)
        r = ctl.request("hello", protocol=1)
        check(r == {"id": 1, "result": "ok"}, "hello: ok (%s)" % r)
        r = ctl.request("ping")
        check(r == {"id": 2, "result": "ok"}, "ping: ok")
        fds = fd_count(proc.pid)

        test_errors(ctl)
        test_relay(ctl)
        test_latching(ctl)
        test_dtmf(ctl)
        test_media_errors(ctl, tmp)
        test_play(ctl, tmp)
        test_play_transcoded(ctl, tmp)
        test_record(ctl, tmp)
        test_mixer(ctl, tmp)
        test_mixer_errors(ctl, tmp)
        test_rtcp_transcoded(ctl)
        test_rtcp_relayed(ctl)
        test_dtmf_translate(ctl)
        test_conn_close(path, ctl)
        test_mixer_conn_close(path, ctl, tmp)
        test_slow_reader(path)

        check(wait_until(lambda: fd_count(proc.pid) == fds),
              "no descriptor left open (%d, was %d)"
              % (fd_count(proc.pid), fds))
        ctl.close()

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM: clean exit (status %s)" % rc)
        check(not os.path.exists(path), "socket file removed at exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT_S)
        log.seek(0)
        out = log.read()
        log.close()
        if failures:
            print("---- sbrelay log\n" + out[-6000:])
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)

    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


def connectable(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
