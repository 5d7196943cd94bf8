#!/usr/bin/env python3
"""Self-test of the harness against a real registrar, without Switchboard.

kamailio (registrar-kamailio.cfg: digest auth, usrloc, lookup + relay)
stands in for the PBX.  A baresip phone (1001, 1000 Hz, answermode=auto) and
a linphonec phone (1003, 1300 Hz) register through it, then
  1. linphonec calls 1001, baresip answers automatically;
  2. baresip calls 1003, linphonec answers with ``answer``;
and in both calls each side must hear the other's tone and not its own.
This proves that BaresipPhone.add_account() / LinphonePhone.register() work
with digest auth and an outbound proxy, and that linphonec can place and
answer calls headless.

    test/e2e/netns.sh python3 test/e2e/selftest_registrar.py
Exits 0 on success, 1 on failure, 77 (skip) when kamailio is missing.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True       # keep the source tree clean
sys.path.insert(0, HERE)

import audio                                            # noqa: E402
from phone import (BaresipPhone, LinphonePhone, PhoneError,     # noqa: E402
                   _die_with_parent, _stop_process, _tail)

TONE_A, TONE_L = 1000, 1300
REALM = "pbx.local"


def log(msg):
    print("[selftest-reg %6.2fs] %s" % (time.monotonic() - T0, msg),
          flush=True)


class Kamailio:
    """kamailio in the foreground (-DD), stopped by its PID."""

    def __init__(self, workdir, addr, port):
        self.workdir = workdir
        self.addr, self.port = addr, port
        self.cfg = os.path.join(workdir, "kamailio.cfg")
        self.log_path = os.path.join(workdir, "kamailio.log")
        self.proc = None

    def start(self, timeout=5):
        os.makedirs(self.workdir, exist_ok=True)
        with open(os.path.join(HERE, "registrar-kamailio.cfg")) as f:
            cfg = f.read()
        cfg = cfg.replace("@LISTEN@", "udp:%s:%d" % (self.addr, self.port))
        cfg = cfg.replace("@REALM@", REALM)
        with open(self.cfg, "w") as f:
            f.write(cfg)
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                ["kamailio", "-f", self.cfg, "-DD", "-E", "-Y", self.workdir,
                 "-w", self.workdir],
                stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        # ready when it answers OPTIONS
        deadline = time.monotonic() + timeout
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.addr, 0))
        s.settimeout(0.2)
        lport = s.getsockname()[1]
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise PhoneError("kamailio exited with %s:\n%s"
                                     % (self.proc.returncode,
                                        _tail(self.log_path)))
                msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-probe%d\r\n"
                       "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=p\r\n"
                       "To: <sip:%s:%d>\r\nCall-ID: probe-%d@%s\r\n"
                       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                       % (self.addr, self.port, self.addr, lport,
                          int(time.monotonic() * 1000), self.addr,
                          self.addr, self.port, lport, self.addr))
                s.sendto(msg.encode(), (self.addr, self.port))
                try:
                    data = s.recv(4096)
                    if data.startswith(b"SIP/2.0 200"):
                        return self
                except OSError:
                    pass
            raise PhoneError("kamailio not answering OPTIONS on %s:%d "
                             "within %.1fs:\n%s" % (self.addr, self.port,
                                                    timeout,
                                                    _tail(self.log_path)))
        finally:
            s.close()

    def stop(self):
        _stop_process(self.proc, 3)




def run(args):
    tmp = args.workdir or tempfile.mkdtemp(prefix="sb-e2e-selftest-reg-")
    os.makedirs(tmp, exist_ok=True)
    log("work dir %s (netns: %s)" % (tmp, os.environ.get(
        "SWITCHBOARD_E2E_NETNS", "unknown; use netns.sh")))
    tone_a = audio.make_tone(os.path.join(tmp, "tone-%d.wav" % TONE_A),
                             TONE_A, 30)
    tone_l = audio.make_tone(os.path.join(tmp, "tone-%d.wav" % TONE_L),
                             TONE_L, 30)
    base = args.base_port
    kam = Kamailio(os.path.join(tmp, "kamailio"), args.addr, args.sip_port)
    a = BaresipPhone("a", os.path.join(tmp, "a"), args.addr,
                     sip_port=base, ctrl_port=base + 5,
                     rtp_ports=(base + 1000, base + 1019), tone_wav=tone_a,
                     lifetime=60)
    lin = LinphonePhone("l", os.path.join(tmp, "l"), args.addr,
                        sip_port=base + 20, rtp_port=base + 1040,
                        tone_wav=tone_l)
    ok = False
    try:
        kam.start()
        log("kamailio pid=%d on %s:%d" % (kam.proc.pid, args.addr,
                                          args.sip_port))
        proxy = "sip:%s:%d" % (args.addr, args.sip_port)
        a.start(timeout=5)
        lin.configure_account("1003", REALM, "pw-1003", proxy=proxy)
        lin.start(timeout=10)           # waits until registered
        log("baresip pid=%d, linphonec pid=%d (linphonec registered)"
            % (a.pid, lin.pid))
        line = ('<sip:1001@%s;transport=udp>;auth_user=1001;auth_pass=pw-1001;'
                'outbound="%s;transport=udp";regint=300;answermode=auto;'
                'audio_codecs=pcmu' % (REALM, proxy))
        a.add_account(line)
        a.wait_event("REGISTER_OK", 5, fail_on="REGISTER_FAIL")
        log("baresip registered: %s" % line)

        # 1. linphonec -> baresip (auto answer)
        cid = lin.dial("sip:1001@%s" % REALM, timeout=10)
        a.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        log("call 1 (linphonec -> baresip) established, id %d" % cid)
        time.sleep(args.seconds)
        lin.hangup(cid, timeout=5)
        a.wait_event("CALL_CLOSED", 5)
        log("call 1 closed")

        time.sleep(1.1)     # sndfile names have one-second resolution
        # 2. baresip -> linphonec (answer)
        a.dial("sip:1003@%s" % REALM)
        inc = lin.wait_incoming(10)
        lin.answer(inc["id"], timeout=5)
        a.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")
        log("call 2 (baresip -> linphonec) established, id %d" % inc["id"])
        time.sleep(args.seconds)
        a.hangup()
        a.wait_event("CALL_CLOSED", 5)
        lin.wait_ended(inc["id"], timeout=5)
        log("call 2 closed")
        a.stop()
        lin.stop()

        ra, rl = a.recordings(), lin.recordings()
        if len(ra) != 2 or len(rl) != 2:
            raise AssertionError("expected two recordings per phone, got "
                                 "baresip=%r linphonec=%r" % (ra, rl))
        for i in range(2):
            r = audio.check(ra[i], TONE_L, [TONE_A], min_tone_s=2.0)
            log("call %d baresip heard: %s" % (i + 1, r.summary()))
            r = audio.check(rl[i], TONE_A, [TONE_L], min_tone_s=2.0)
            log("call %d linphonec heard: %s" % (i + 1, r.summary()))
        ok = True
    finally:
        a.stop()
        lin.stop()
        kam.stop()
        if not ok:
            log("---- baresip log tail ----\n%s" % a.log()[-2500:])
            log("---- linphonec output tail ----\n%s" % lin.log()[-2500:])
            log("---- kamailio log tail ----\n%s" % _tail(kam.log_path, 30))
            log("work dir kept: %s" % tmp)
        elif not args.keep and not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--sip-port", type=int, default=5060,
                    help="kamailio's port")
    ap.add_argument("--base-port", type=int, default=26170)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not shutil.which("kamailio"):
        log("SKIP: kamailio not installed")
        return 77
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
