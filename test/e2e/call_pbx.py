#!/usr/bin/env python3
"""End-to-end test: real phones registered to Switchboard call each other.

One run, one switchboard (started here with its own config and store):

  1. baresip 1001 (1000 Hz) and 1002 (700 Hz) register with digest auth;
     1001 calls sip:1002@pbx.local, 1002 answers automatically, ~6 s, 1001
     hangs up; each must hear the other's tone and not its own; the CDR
     says ANSWERED.
  2. The same, but 1002 (the callee) hangs up.
  3. linphonec 1003 (1300 Hz) registers and calls 1001 (baresip, auto
     answer); audio checked both ways.
  4. Registrations survive a restart: SIGTERM switchboard, start it again
     on the same store, and without any phone re-registering 1002 calls
     1001 (answered, audio checked); GET /api/registrations lists them.
     Then SIGKILL, start again: the registrations are still listed and
     1001 can call 1002.
  5. A phone with a wrong password (on its own address 127.0.0.66, since
     libre retries a rejected REGISTER many times at once) gets
     REGISTER_FAIL 403.

Prints one line per step, ``ok ...`` or ``FAIL ...``.  Exit status 0 when
every step passed, 1 otherwise, 77 (skip) when baresip is not installed.
Runs itself inside a loopback-only network namespace (netns.sh) unless
SWITCHBOARD_E2E_NETNS is already set.

    test/e2e/call_pbx.py [--keep] [--log-level debug] [--sip-trace]

The switchboard binary is $top_builddir/switchboard (make check), else
./switchboard in the current directory, else the one at the top of the
source tree this script is in; --switchboard overrides.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, HERE)

import audio                                                    # noqa: E402
from phone import (BaresipPhone, LinphonePhone, PhoneError,     # noqa: E402
                   _die_with_parent, _tail)

DOMAIN = "pbx.local"
TOKEN = "e2etokene2etoken1234"
TONE = {"1001": 1000, "1002": 700, "1003": 1300, "1004": 1700}
PASSWORD = {n: "secret" + n for n in TONE}
BAD_ADDR = "127.0.0.66"

T0 = time.monotonic()


def log(msg):
    print("[call_pbx %6.2fs] %s" % (time.monotonic() - T0, msg), flush=True)


def find_baresip():
    path = shutil.which("baresip")
    if path:
        return path
    if os.access("/usr/bin/baresip", os.X_OK):
        return "/usr/bin/baresip"
    return None


def reexec_in_netns():
    """Run this script again inside netns.sh unless already under it."""
    if "SWITCHBOARD_E2E_NETNS" in os.environ:
        return
    netns = os.path.join(HERE, "netns.sh")
    os.execv("/bin/sh", ["/bin/sh", netns, sys.executable,
                         os.path.abspath(__file__)] + sys.argv[1:])


def find_switchboard(explicit):
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


# --------------------------------------------------------------------------
# the server

class Switchboard:
    """One switchboard process, stopped only by its own PID."""

    def __init__(self, binary, workdir, sip_port, api_port,
                 log_level="info"):
        self.binary = binary
        self.workdir = workdir
        self.sip_port = sip_port
        self.api_port = api_port
        self.conf = os.path.join(workdir, "switchboard.conf")
        self.store = os.path.join(workdir, "t.db")
        self.log_path = os.path.join(workdir, "switchboard.log")
        self.proc = None
        self.starts = 0
        with open(self.conf, "w") as f:
            f.write("sip_listen_udp 127.0.0.1:%d\n"
                    "sip_listen_tcp 127.0.0.1:%d\n"
                    "sip_listen_tls none\n"
                    "sip_domain %s\n"
                    "store_path %s\n"
                    "api_listen 127.0.0.1:%d\n"
                    "api_token %s\n"
                    "log_level %s\n"
                    "reg_keepalive_interval 30\n"
                    % (sip_port, sip_port, DOMAIN, self.store, api_port,
                       TOKEN, log_level))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=5):
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
                raise PhoneError("switchboard exited with %s at start; log:\n%s"
                                 % (self.proc.returncode, self.tail()))
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

    def kill(self):
        if self.alive():
            self.proc.kill()
        if self.proc:
            self.proc.wait(timeout=5)

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
        req.add_header("Authorization", "Bearer " + TOKEN)
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

    def tail(self, n=40):
        return _tail(self.log_path, n)


# --------------------------------------------------------------------------
# helpers

def no_proxy():
    # urllib honours *_proxy variables; everything here is on loopback
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        os.environ.pop(k, None)
    os.environ["no_proxy"] = "*"


def account_line(number, password, sip_port):
    return ('<sip:%s@%s;transport=udp>;auth_user=%s;auth_pass=%s;'
            'outbound="sip:127.0.0.1:%d;transport=udp";regint=300;'
            'answermode=auto;audio_codecs=pcmu'
            % (number, DOMAIN, number, password, sip_port))


def new_recordings(phone, before):
    return [p for p in phone.recordings() if p not in before]


def audio_check(rec, hear, own, min_tone_s):
    """audio.check with the phone's own tone as the 'must not hear' one."""
    return audio.check(rec, TONE[hear], [TONE[own]], min_tone_s=min_tone_s)


def numbers(r):
    return ("%d Hz %.0f%% of %.1f s, gap %.0f ms, own %.0f%%"
            % (r.expect_hz, 100 * r.fraction, r.duration_s,
               r.longest_gap_ms,
               100 * max(r.other_fraction.values() or [0])))


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


def settle_names():
    # sndfile names have one-second resolution: two calls of one phone
    # starting in the same second would share a file
    time.sleep(1.1)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-call-")
        os.makedirs(self.tmp, exist_ok=True)
        base = args.base_port
        self.sip_port = base
        self.api_port = base + 1
        self.sb = Switchboard(args.switchboard, self.tmp, base, base + 1,
                              args.log_level)
        self.tones = {n: audio.make_tone(os.path.join(self.tmp, "tone-%d.wav"
                                                      % hz), hz, 40)
                      for n, hz in TONE.items()}
        self.phones = {}
        for i, n in enumerate(("1001", "1002")):
            self.phones[n] = BaresipPhone(
                "p" + n, os.path.join(self.tmp, n), "127.0.0.1",
                sip_port=base + 10 + 10 * i, ctrl_port=base + 15 + 10 * i,
                rtp_ports=(base + 1000 + 20 * i, base + 1019 + 20 * i),
                tone_wav=self.tones[n], lifetime=120,
                sip_trace=args.sip_trace)
        self.lin = None
        if shutil.which("linphonec"):
            self.lin = LinphonePhone("p1003", os.path.join(self.tmp, "1003"),
                                     "127.0.0.1", sip_port=base + 30,
                                     rtp_port=base + 1040,
                                     tone_wav=self.tones["1003"])
        self.bad = BaresipPhone("p1004", os.path.join(self.tmp, "1004"),
                                BAD_ADDR, sip_port=base + 40,
                                ctrl_port=base + 45,
                                rtp_ports=(base + 1060, base + 1079),
                                tone_wav=self.tones["1004"], lifetime=120,
                                sip_trace=args.sip_trace)
        self.results = []
        self.ext_path = None

    # ---- bookkeeping ---------------------------------------------------

    def step(self, name, fn):
        t = time.monotonic()
        try:
            detail = fn()
        except (AssertionError, PhoneError, OSError, ValueError) as e:
            msg = str(e)
            if self.sb.proc is not None and not self.sb.alive():
                msg += " [switchboard exited with status %s]" \
                    % self.sb.proc.returncode
            print("FAIL %s: %s" % (name, msg), flush=True)
            self.results.append((name, False))
            if self.sb.proc is not None and not self.sb.alive():
                log("switchboard is gone (status %s); log tail:\n%s"
                    % (self.sb.proc.returncode, self.sb.tail()))
                try:
                    self.sb.start()
                    log("switchboard restarted for the next steps, pid %d"
                        % self.sb.pid)
                except PhoneError as e2:
                    log("cannot restart switchboard: %s" % e2)
            return False
        print("ok %s (%.1f s): %s" % (name, time.monotonic() - t, detail),
              flush=True)
        self.results.append((name, True))
        return True

    # ---- setup ----------------------------------------------------------

    def start_server(self):
        status = self.sb.start()
        return "pid %d, GET /api/status: %s" % (self.sb.pid,
                                                json.dumps(status))

    def add_extensions(self):
        """POST /api/extensions; fall back to sqlite rows with the server
        stopped if the API does not take them."""
        failed = []
        for n in TONE:
            if self.args.sqlite_extensions:
                failed.append("%s: not tried (--sqlite-extensions)" % n)
                continue
            code, body = self.sb.api("POST", "/api/extensions",
                                     {"number": n, "name": "Ext " + n,
                                      "password": PASSWORD[n]})
            if code not in (200, 201):
                failed.append("%s: HTTP %d %r" % (n, code, body))
        if not failed:
            self.ext_path = "HTTP API"
            return "4 extensions added through POST /api/extensions"
        log("API did not add extensions (%s); falling back to sqlite"
            % "; ".join(failed))
        import hashlib
        import sqlite3
        self.sb.terminate()
        db = sqlite3.connect(self.sb.store)
        try:
            for n in TONE:
                a1 = "%s:%s:%s" % (n, DOMAIN, PASSWORD[n])
                # vm_pin and auth_order keep their defaults ('', md5-first)
                db.execute("INSERT OR REPLACE INTO extensions(number, name, "
                           "ha1_md5, ha1_sha256) VALUES (?, ?, ?, ?)",
                           (n, "Ext " + n,
                            hashlib.md5(a1.encode()).hexdigest(),
                            hashlib.sha256(a1.encode()).hexdigest()))
            db.commit()
        finally:
            db.close()
        self.sb.start()
        self.ext_path = "sqlite fallback"
        return "4 extensions inserted with sqlite (API failed: %s)" \
            % "; ".join(failed)

    def register_md5_only(self):
        """baresip 1.0.0's libre gives up on a 401 that also offers
        SHA-256 (sip/auth.c returns ENOSYS instead of skipping that
        challenge), so its extensions use the per-extension auth_order
        md5-only; linphonec (1003) keeps the default, both challenges."""
        for n in ("1001", "1002", "1004"):
            code, body = self.sb.api("PUT", "/api/extensions/" + n,
                                     {"auth_order": "md5-only"})
            if code not in (200, 204):
                raise AssertionError("PUT /api/extensions/%s auth_order "
                                     "md5-only: HTTP %d %r" % (n, code, body))
        for n, p in self.phones.items():
            p.stop()
            self.phones[n] = p = BaresipPhone(
                p.name, p.workdir + "-md5", p.addr, sip_port=p.sip_port,
                ctrl_port=p.ctrl_port, rtp_ports=p.rtp_ports,
                tone_wav=p.tone_wav, lifetime=120,
                sip_trace=self.args.sip_trace)
            p.start(timeout=5)
            p.add_account(account_line(n, PASSWORD[n], self.sip_port))
        for n, p in self.phones.items():
            p.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        return ("auth_order md5-only set through PUT /api/extensions for "
                "1001, 1002, 1004; 1001, 1002 REGISTER_OK (digest auth, "
                "MD5, UDP)")

    # ---- one call between two baresip phones ----------------------------

    def baresip_call(self, caller, callee, hangup_by, seconds, min_tone_s,
                     live=False):
        a, b = self.phones[caller], self.phones[callee]
        before_a, before_b = a.recordings(), b.recordings()
        b.clear_events()
        a.dial("sip:%s@%s" % (callee, DOMAIN))
        ea = a.wait_event("CALL_ESTABLISHED", 8, fail_on="CALL_CLOSED")
        eb = b.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        t_est = time.monotonic()
        if live:
            live = self.live_quality(caller, callee, seconds - 0.3)
        time.sleep(max(0.0, seconds - (time.monotonic() - t_est)))
        for p in (a, b):
            if "(1)" not in p.listcalls():
                raise AssertionError("%s: call gone after %.1f s: %r"
                                     % (p.name, seconds, p.listcalls()))
        (a if hangup_by == caller else b).hangup()
        ca = a.wait_event("CALL_CLOSED", 5)
        cb = b.wait_event("CALL_CLOSED", 5)
        ra, rb = new_recordings(a, before_a), new_recordings(b, before_b)
        if len(ra) != 1 or len(rb) != 1:
            raise AssertionError("expected one new recording per phone, got "
                                 "%s=%r %s=%r" % (caller, ra, callee, rb))
        wait_recording_done(ra + rb)
        res_a = audio_check(ra[0], callee, caller, min_tone_s)
        res_b = audio_check(rb[0], caller, callee, min_tone_s)
        return {"ea": ea, "eb": eb, "ca": ca, "cb": cb, "res_a": res_a,
                "res_b": res_b, "live": live}

    def live_quality(self, caller, callee, within):
        """GET /api/calls during the call: the relay's measure of both
        parties is there (the core asks for it every 5 s)."""
        deadline = time.monotonic() + within
        seen = None
        while True:
            code, body = self.sb.api("GET", "/api/calls")
            if code != 200:
                raise AssertionError("GET /api/calls: HTTP %d %r"
                                     % (code, body))
            calls = [c for c in body.get("calls", [])
                     if caller in str(c.get("caller"))
                     and callee in str(c.get("callee"))]
            if calls:
                seen = calls[0].get("quality")
                q = seen or {}
                if all(isinstance(q.get(k), dict) and
                       q[k].get("mos", 0) >= 4.0 for k in ("caller",
                                                           "callee")):
                    return "live MOS %.2f/%.2f" % (q["caller"]["mos"],
                                                   q["callee"]["mos"])
            if time.monotonic() > deadline:
                raise AssertionError("GET /api/calls during the call: no "
                                     "quality of both parties with MOS >= "
                                     "4 after %.1f s: %r" % (within, seen))
            time.sleep(0.2)

    def cdr_for(self, call_ids, caller, callee, timeout=3):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            code, body = self.sb.api("GET", "/api/cdrs?limit=20")
            if code != 200 or not isinstance(body, dict):
                raise AssertionError("GET /api/cdrs: HTTP %d %r"
                                     % (code, body))
            cdrs = body.get("cdrs") or []
            last = cdrs[:3]
            match = [c for c in cdrs if c.get("call_id") in call_ids]
            how = "call_id"
            if not match:
                match = [c for c in cdrs if caller in str(c.get("caller"))
                         and callee in str(c.get("callee"))
                         and c.get("end_ms")]
                how = "caller/callee (no CDR with the phones' Call-IDs)"
            if match and match[0].get("end_ms"):
                c = match[0]
                if c.get("disposition") != "ANSWERED":
                    raise AssertionError("CDR disposition %r, want ANSWERED: "
                                         "%r" % (c.get("disposition"), c))
                if not c.get("answer_ms") or c["end_ms"] < c["answer_ms"]:
                    raise AssertionError("CDR times wrong: %r" % c)
                return c, how
            if time.monotonic() > deadline:
                raise AssertionError("no finished CDR for %s -> %s (call ids "
                                     "%s) within %.1fs; newest CDRs: %r"
                                     % (caller, callee, sorted(call_ids),
                                        timeout, last))
            time.sleep(0.2)

    def cdr_quality(self, cdr_id, timeout=3):
        """The media quality the relay measured, written into the CDR
        once it has freed the call's legs: on loopback, no loss, a MOS
        near the E-model's best."""
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.sb.api("GET", "/api/cdrs?limit=20")
            c = [c for c in (body or {}).get("cdrs", [])
                 if c.get("id") == cdr_id]
            q = c[0].get("quality") if c else None
            if q and q.get("caller") and q.get("callee"):
                break
            if time.monotonic() > deadline:
                raise AssertionError("CDR #%s has no media quality: %r"
                                     % (cdr_id, c))
            time.sleep(0.2)
        for side in ("caller", "callee"):
            if q[side]["mos"] < 4.0 or q[side]["loss_pct"] > 1.0:
                raise AssertionError("CDR #%s: %s media quality %r"
                                     % (cdr_id, side, q[side]))
        return q

    def call_step(self, caller, callee, hangup_by, seconds=4.0,
                  check_cdr=True, live=False):
        r = self.baresip_call(caller, callee, hangup_by, seconds, 2.5, live)
        out = ("%s hung up; closed: %s %r, %s %r; %s heard %s; %s heard "
               "%s; %s"
               % (hangup_by, caller, r["ca"].get("param"), callee,
                  r["cb"].get("param"), caller, numbers(r["res_a"]), callee,
                  numbers(r["res_b"]), r["live"] or "no live check"))
        if check_cdr:
            ids = {r["ea"].get("id"), r["eb"].get("id")} - {None}
            c, how = self.cdr_for(ids, caller, callee)
            q = self.cdr_quality(c["id"])
            out += ("; CDR #%s %s %s->%s talk %.1f s (matched by %s), "
                    "MOS %.2f/%.2f, loss %.1f/%.1f %%, jitter %.1f/%.1f ms"
                    % (c.get("id"), c.get("disposition"), c.get("caller"),
                       c.get("callee"),
                       (c["end_ms"] - c["answer_ms"]) / 1000.0, how,
                       q["caller"]["mos"], q["callee"]["mos"],
                       q["caller"]["loss_pct"], q["callee"]["loss_pct"],
                       q["caller"]["jitter_ms"], q["callee"]["jitter_ms"]))
        settle_names()
        return out

    # ---- steps ------------------------------------------------------------

    def step1(self):
        # long enough for the core's first quality query (at 5 s)
        return self.call_step("1001", "1002", hangup_by="1001", seconds=6.0,
                              live=True)

    def step2(self):
        return self.call_step("1001", "1002", hangup_by="1002")

    def step3(self):
        if self.lin is None:
            return "SKIPPED: linphonec not installed"
        a, lin = self.phones["1001"], self.lin
        lin.configure_account("1003", DOMAIN, PASSWORD["1003"],
                              proxy="127.0.0.1:%d" % self.sip_port)
        lin.start(timeout=10)           # waits until registered
        before_a = a.recordings()
        a.clear_events()
        cid = lin.dial("sip:1001@%s" % DOMAIN, timeout=10)
        est = [e for e in lin.events() if e["type"] == "CALL_ESTABLISHED"
               and e["id"] == cid][-1]
        a.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        time.sleep(4.0)
        if "(1)" not in a.listcalls():
            raise AssertionError("1001: call from linphonec gone after 4 s")
        lin.hangup(cid, timeout=5)
        ca = a.wait_event("CALL_CLOSED", 5)
        ra = new_recordings(a, before_a)
        rl = est.get("recording")
        if len(ra) != 1:
            raise AssertionError("1001: expected one new recording, got %r"
                                 % ra)
        wait_recording_done(ra + [rl])
        problems = []
        res_a = res_l = None
        try:
            res_a = audio_check(ra[0], "1003", "1001", 2.5)
        except AssertionError as e:
            problems.append("1001 (baresip) heard: %s" % e)
        try:
            if not rl or not os.path.exists(rl):
                raise AssertionError("no recording %r" % rl)
            res_l = audio_check(rl, "1001", "1003", 2.5)
        except AssertionError as e:
            problems.append("1003 (linphonec) heard: %s" % e)
        if problems:
            raise AssertionError("linphonec 1003 registered, call to 1001 "
                                 "answered, but: " + "; ".join(problems))
        settle_names()
        return ("linphonec 1003 registered (default auth_order md5-first), "
                "called 1001, answered, 1003 hung "
                "up (1001 closed %r); 1001 heard %s; 1003 heard %s"
                % (ca.get("param"), numbers(res_a), numbers(res_l)))

    def registrations(self):
        code, body = self.sb.api("GET", "/api/registrations")
        if code != 200 or not isinstance(body, dict):
            raise AssertionError("GET /api/registrations: HTTP %d %r"
                                 % (code, body))
        return body.get("registrations") or []

    def check_registrations(self, when):
        regs = self.registrations()
        want = ["1001", "1002"] + (["1003"] if self.lin and
                                   self.lin.running() else [])
        aors = [str(r.get("aor", "")) for r in regs]
        missing = [n for n in want
                   if not any(("sip:%s@" % n) in a or a == n for a in aors)]
        if missing:
            raise AssertionError("%s: GET /api/registrations lacks %s: %r"
                                 % (when, missing, regs))
        return "%d contacts listed (%s)" % (len(regs), ", ".join(
            "%s->%s" % (r.get("aor"), r.get("contact", r.get("uri", "?")))
            for r in regs))

    def reg_event_counts(self):
        return {n: sum(1 for e in p.events()
                       if e.get("type") in ("REGISTERING", "REGISTER_OK",
                                            "REGISTER_FAIL"))
                for n, p in self.phones.items()}

    def after_restart(self, label, caller, callee, seconds, min_tone_s):
        """After a restart: the call (the real proof that the contacts were
        reloaded) and GET /api/registrations; both are tried, every problem
        is reported."""
        notes, problems = [], []
        try:
            r = self.baresip_call(caller, callee, caller, seconds, min_tone_s)
            notes.append("%s called %s: answered, %s heard %s, %s heard %s"
                         % (caller, callee, caller, numbers(r["res_a"]),
                            callee, numbers(r["res_b"])))
        except (AssertionError, PhoneError) as e:
            problems.append("%s: call %s -> %s: %s" % (label, caller, callee,
                                                      e))
            for p in self.phones.values():      # no call left behind
                try:
                    if "(1)" in p.listcalls():
                        p.hangup()
                except PhoneError:
                    pass
        try:
            notes.append(self.check_registrations(label))
        except AssertionError as e:
            problems.append(str(e))
        settle_names()
        return notes, problems

    def step4(self):
        notes, problems = [], []
        regs0 = self.check_registrations("before restart")
        counts = self.reg_event_counts()
        t = time.monotonic()
        rc = self.sb.terminate(timeout=5)
        notes.append("SIGTERM: exit %s after %.2f s" % (rc, time.monotonic()
                                                         - t))
        if rc != 0:
            problems.append("switchboard exited with %s on SIGTERM" % rc)
        self.sb.start()
        n, p = self.after_restart("after SIGTERM restart", "1002", "1001",
                                  3.0, 1.5)
        notes += n
        problems += p
        self.sb.kill()
        notes.append("SIGKILL: status %s" % self.sb.proc.returncode)
        self.sb.start()
        n, p = self.after_restart("after SIGKILL restart", "1001", "1002",
                                  2.5, 1.2)
        notes += n
        problems += p
        after = self.reg_event_counts()
        if after != counts:
            problems.append("phones re-registered during the test (register "
                            "events before %r, after %r), so it proves "
                            "nothing" % (counts, after))
        else:
            notes.append("no phone re-registered")
        if problems:
            raise AssertionError("; ".join(problems) + " [what worked: %s]"
                                 % "; ".join(notes))
        return "before: %s; %s" % (regs0, "; ".join(notes))

    def step5(self):
        bad = self.bad
        bad.start(timeout=5)
        bad.add_account(account_line("1004", "wrong-password",
                                     self.sip_port))
        ev = bad.wait_event(("REGISTER_FAIL", "REGISTER_OK"), 10)
        if ev["type"] == "REGISTER_OK":
            raise AssertionError("1004 with a wrong password got REGISTER_OK")
        param = str(ev.get("param", ""))
        nreg = sum(1 for e in bad.events() if e.get("type") == "REGISTERING")
        bad.stop()
        if not param.startswith("403"):
            raise AssertionError("REGISTER_FAIL %r, want 403" % param)
        # the server is still there and 127.0.0.1 was not punished
        if not self.sb.alive():
            raise AssertionError("switchboard died")
        code, _ = self.sb.api("GET", "/api/status")
        if code != 200:
            raise AssertionError("GET /api/status after the bad phone: HTTP "
                                 "%d" % code)
        return ("1004 from %s with a wrong password: REGISTER_FAIL %r "
                "(REGISTERING events: %d)" % (BAD_ADDR, param, nreg))

    # ---- all --------------------------------------------------------------

    def run(self):
        log("work dir %s (netns: %s), switchboard %s"
            % (self.tmp, os.environ.get("SWITCHBOARD_E2E_NETNS", "?"),
               self.args.switchboard))
        ok = False
        try:
            if not self.step("start switchboard", self.start_server):
                return False
            if not self.step("create extensions", self.add_extensions):
                return False
            if not self.step("0: baresip 1001, 1002 register (auth_order "
                             "md5-only)", self.register_md5_only):
                return False
            self.step("1: 1001 calls 1002, 1001 hangs up", self.step1)
            self.step("2: 1001 calls 1002, 1002 hangs up", self.step2)
            self.step("3: linphonec 1003 calls 1001", self.step3)
            self.step("4: registrations survive restarts", self.step4)
            self.step("5: wrong password gets 403", self.step5)
            ok = all(r for _, r in self.results)
        finally:
            for p in list(self.phones.values()) + [self.lin, self.bad]:
                if p is not None:
                    p.stop()
            self.sb.stop()
            if not ok:
                self.dump_logs()
                log("work dir kept: %s" % self.tmp)
            elif not self.args.keep and not self.args.workdir:
                shutil.rmtree(self.tmp, ignore_errors=True)
        return ok

    def dump_logs(self):
        log("---- switchboard log tail (%s) ----\n%s"
            % (self.sb.log_path, self.sb.tail(60)))
        for p in list(self.phones.values()) + [self.bad]:
            if p.pid:
                log("---- %s log tail (%s) ----\n%s"
                    % (p.name, p.log_path, _tail(p.log_path, 25)))
        if self.lin is not None and self.lin.pid:
            log("---- linphonec output tail (%s) ----\n%s"
                % (self.lin.log_path, self.lin.output_tail(25)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--base-port", type=int, default=26400,
                    help="switchboard SIP port; API +1; phones +10..+45; "
                    "RTP +1000..+1079")
    ap.add_argument("--switchboard", help="the binary to test")
    ap.add_argument("--log-level", default="info",
                    help="switchboard log_level (debug logs SIP)")
    ap.add_argument("--sip-trace", action="store_true",
                    help="baresip -s (SIP trace in each baresip.log)")
    ap.add_argument("--sqlite-extensions", action="store_true",
                    help="create the extensions with sqlite3 (server "
                    "stopped) instead of POST /api/extensions")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    baresip = find_baresip()
    if not baresip:
        print("SKIP: baresip not installed", flush=True)
        return 77
    BaresipPhone.BARESIP = baresip
    reexec_in_netns()
    no_proxy()
    args.switchboard = find_switchboard(args.switchboard)
    if not os.access(args.switchboard, os.X_OK):
        print("FAIL: no switchboard binary at %s (build it first)"
              % args.switchboard, flush=True)
        return 1
    ok = Test(args).run()
    log("%s in %.1f s" % ("PASS" if ok else "FAIL", time.monotonic() - T0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
