#!/usr/bin/env python3
"""Black-box SIP torture test against a switchboard it starts itself.

1. Every RFC 4475 message (../shared/sip-torture/rfc4475), over UDP and
   over TCP, each followed by an OPTIONS liveness probe. The reply's status
   is checked against EXPECT below (the same decisions as
   test/unit/test_sipcheck.c). Before sending, the top Via's sent-by is
   rewritten to 127.0.0.1:<our port>;rport so replies come back to us and
   nowhere else; nothing else is touched (wsinv keeps its folded,
   spaced-out Via; badinv01 its ";;,;,,"; bcast its broadcast second Via).
2. A PROTOS c07-sip sample (every 20th case; --protos-all: all 4527), over
   UDP, each followed by an OPTIONS probe. Only liveness is checked.

Fails if the server dies, stops answering, or answers an RFC 4475 message
unexpectedly. Prints one line per failure and a summary. Exit status: 0
pass, 1 fail, 77 skip (no torture data), 99 hard error (no server).

Environment: top_srcdir, top_builddir (set by make check).
"""

import argparse
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOKEN = "torturetokentorture"
UDP_MAX = 65000

# Final status codes an INVITE that passes our checks may get from the
# call engine (challenge, refusal, nobody there) and a REGISTER from the
# registrar (never 200: we send no credentials).
CALL = {401, 403, 404, 407, 480, 484, 488, 503}
REG = {401, 403, 404}
NONE = set()        # no reply at all

# file: (expected final codes over UDP, over TCP, why). NONE = no reply.
# Deviations from MANIFEST.tsv are marked "DEV".
EXPECT = {
    "wsinv.dat": ({481}, {481}, "in-dialog INVITE, dialog unknown"),
    "intmeth.dat": ({501}, {501}, "unknown method"),
    "esc01.dat": (CALL, CALL, "valid INVITE"),
    "escnull.dat": (REG, REG, "REGISTER, %00 in user"),
    "esc02.dat": ({501}, {501}, "unknown method RE%47IST%45R"),
    "lwsdisp.dat": ({200}, {200}, "OPTIONS"),
    "longreq.dat": (NONE, NONE,
                    "DEV: libre drops it (top Via has no branch)"),
    "dblreq.dat": (REG, REG, "REGISTER; trailing INVITE ignored on UDP,"
                   " a second message on TCP"),
    "semiuri.dat": ({200}, {200}, "OPTIONS"),
    "transports.dat": ({200}, {200}, "OPTIONS, odd Via transports"),
    "mpart01.dat": ({501}, {501}, "DEV: MESSAGE is not implemented"),
    "unreason.dat": (NONE, NONE, "stray response"),
    "noreason.dat": (NONE, NONE, "stray response"),
    "badinv01.dat": (NONE, NONE,
                     "DEV: libre drops it (no branch), RFC says 400"),
    "clerr.dat": ({400}, NONE, "UDP: 400; TCP: waits for the body"),
    "ncl.dat": ({400}, {400}, "negative Content-Length"),
    "scalar02.dat": ({400}, {400}, "CSeq overflow"),
    "scalarlg.dat": (NONE, NONE, "stray response"),
    "quotbal.dat": ({400}, {400}, "unterminated quote"),
    "ltgtruri.dat": (NONE, NONE,
                     "DEV: libre drops it (no branch), RFC says 400"),
    "lwsruri.dat": (NONE, NONE, "DEV: libre drops it (start line)"),
    "lwsstart.dat": (NONE, NONE, "DEV: libre drops it (start line)"),
    "trws.dat": (NONE, NONE, "DEV: libre drops it (start line)"),
    "escruri.dat": ({400}, {400}, "headers in Request-URI"),
    "baddate.dat": (CALL, CALL, "Date ignored"),
    "regbadct.dat": (REG | {400}, REG | {400}, "registrar decides"),
    "badaspec.dat": ({200}, {200}, "liberal: spaces inside <>"),
    "baddn.dat": (NONE, NONE,
                  "DEV: no end of headers, libre waits/drops"),
    "badvers.dat": (NONE, NONE,
                    "DEV: libre drops it (read as response), RFC 505"),
    "mismatch01.dat": ({400}, {400}, "CSeq method mismatch"),
    "mismatch02.dat": ({400, 501}, {400, 501}, "400 acceptable"),
    "bigcode.dat": (NONE, NONE, "stray response"),
    "badbranch.dat": ({400}, {400}, "branch is the bare cookie"),
    "insuf.dat": ({400}, {400}, "missing headers"),
    "unkscm.dat": ({416}, {416}, "unknown scheme"),
    "novelsc.dat": ({416}, {416}, "soap.beep scheme"),
    "unksm2.dat": (NONE, NONE,
                   "DEV: libre drops it (http: From), RFC 4xx"),
    "bext01.dat": ({420}, {420}, "Require/Proxy-Require"),
    "invut.dat": ({415}, {415}, "unknown Content-Type"),
    "regaut01.dat": (REG, REG, "unknown auth scheme: challenge"),
    "multi01.dat": ({400}, {400}, "duplicate single-value headers"),
    "mcl01.dat": ({400}, {400}, "two Content-Length"),
    "bcast.dat": (NONE, NONE, "stray response, broadcast Via"),
    "zeromf.dat": ({200}, {200}, "OPTIONS with Max-Forwards 0"),
    "cparam01.dat": (REG, REG, "registrar"),
    "cparam02.dat": (REG, REG, "registrar"),
    "regescrt.dat": (REG | {400}, REG | {400}, "registrar decides"),
    "sdp01.dat": ({406}, {406}, "Accept without SDP"),
    "inv2543.dat": (NONE, NONE,
                    "DEV: libre drops it (no branch), RFC accepts"),
    "baddn.php-sip.dat": ({400}, {400}, "unquoted comma in display name"),
}

# Headers a reply with this status must carry, by header name
NEED_HDRS = {
    420: ("unsupported",),
    415: ("accept",),
    501: ("allow",),
}

COMPACT = {"i": "call-id", "v": "via", "t": "to", "f": "from",
           "l": "content-length", "c": "content-type", "m": "contact",
           "k": "supported"}


class Failures:
    def __init__(self):
        self.lines = []

    def add(self, what):
        self.lines.append(what)
        print("FAIL " + what, flush=True)


# ---- SIP message helpers ----

def split_msg(data):
    """(start line, [(name, value)], body) of one message, folding undone"""
    end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[:end], data[end + 4:])
    lines = head.split(b"\r\n")
    hdrs = []
    for ln in lines[1:]:
        if ln[:1] in (b" ", b"\t") and hdrs:
            n, v = hdrs[-1]
            hdrs[-1] = (n, v + b" " + ln.strip())
            continue
        n, _, v = ln.partition(b":")
        n = n.strip().decode("latin-1").lower()
        hdrs.append((COMPACT.get(n, n), v.strip()))
    return lines[0], hdrs, body


def hdr(hdrs, name):
    for n, v in hdrs:
        if n == name:
            return v
    return None


class Response:
    def __init__(self, data):
        self.raw = data
        start, self.hdrs, self.body = split_msg(data)
        parts = start.split(b" ", 2)
        self.code = int(parts[1]) if len(parts) > 1 and \
            parts[1].isdigit() else 0

    def get(self, name):
        return hdr(self.hdrs, name)


def take_messages(buf):
    """Split complete messages off a stream buffer: (msgs, rest)"""
    msgs = []
    while True:
        while buf.startswith(b"\r\n"):
            buf = buf[2:]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return msgs, buf
        _, hdrs, _ = split_msg(buf[:end + 4])
        clen = hdr(hdrs, "content-length")
        n = int(clen) if clen and clen.isdigit() else 0
        if len(buf) < end + 4 + n:
            return msgs, buf
        msgs.append(buf[:end + 4 + n])
        buf = buf[end + 4 + n:]


VIA_NAME = re.compile(rb"(?im)^(via|v)[ \t]*:")
VIA_SENTBY = re.compile(rb"[A-Za-z]+\s*/\s*[0-9.]+\s*/\s*[^\s;,]+\s+"
                        rb"([^\s;,]+)")


def rewrite_via(data, port):
    """Top Via's sent-by -> 127.0.0.1:port, ;rport added if missing."""
    end = data.find(b"\r\n\r\n")
    head_end = len(data) if end < 0 else end
    m = VIA_NAME.search(data, 0, head_end)
    if not m:
        return data
    # the header value runs to the first CRLF not followed by SP/HT
    v_start = m.end()
    v_end = v_start
    while True:
        nl = data.find(b"\r\n", v_end, head_end)
        if nl < 0:
            v_end = head_end
            break
        if data[nl + 2:nl + 3] in (b" ", b"\t"):
            v_end = nl + 2
            continue
        v_end = nl
        break
    s = VIA_SENTBY.search(data, v_start, v_end)
    if not s:
        return data
    first = data[s.end(1):v_end].split(b",", 1)[0]
    rport = b"" if re.search(rb";\s*rport\b", first) else b";rport"
    new = b"127.0.0.1:%d" % port + rport
    return data[:s.start(1)] + new + data[s.end(1):]


def request_line(data):
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return parts[0], (parts[1] if len(parts) > 1 else b"")


def request_callid(data):
    _, hdrs, _ = split_msg(data)
    return hdr(hdrs, "call-id")


def ack_for(ruri, resp):
    """ACK for a non-2xx final response to an INVITE (RFC 3261 17.1.1.3)"""
    via = resp.get("via") or b""
    cseq = (resp.get("cseq") or b"1").split()[0]
    return (b"ACK " + ruri + b" SIP/2.0\r\n"
            b"Via: " + via + b"\r\n"
            b"From: " + (resp.get("from") or b"") + b"\r\n"
            b"To: " + (resp.get("to") or b"") + b"\r\n"
            b"Call-ID: " + (resp.get("call-id") or b"") + b"\r\n"
            b"CSeq: " + cseq + b" ACK\r\n"
            b"Max-Forwards: 70\r\n"
            b"Content-Length: 0\r\n\r\n")


def options_probe(port, sport, transport, tag):
    return ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/%s 127.0.0.1:%d;rport;branch=z9hG4bK-probe-%s\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:probe@127.0.0.1>;tag=%s\r\n"
            "To: <sip:127.0.0.1:%d>\r\n"
            "Call-ID: probe-%s@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
            % (port, transport, sport, tag, tag, port, tag)).encode()


# ---- transports: one fresh socket or connection per message ----

class UdpClient:
    def __init__(self, server):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.closed = False

    def send(self, data):
        self.sock.sendto(data, self.server)

    def recv(self, timeout):
        """One response, or None after timeout"""
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return None
        data, _ = self.sock.recvfrom(70000)
        return data

    def close(self):
        self.sock.close()


class TcpClient:
    def __init__(self, server):
        self.sock = socket.create_connection(server, timeout=3)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.buf = b""
        self.queue = []
        self.closed = False

    def send(self, data):
        self.sock.setblocking(True)
        self.sock.settimeout(3)
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True
        self.sock.setblocking(False)

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.queue and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                break
            try:
                chunk = self.sock.recv(70000)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                break
            msgs, self.buf = take_messages(self.buf + chunk)
            self.queue.extend(msgs)
        return self.queue.pop(0) if self.queue else None

    def close(self):
        self.sock.close()


def exchange(client, data, final_wait, quiet_wait):
    """Send data, gather responses to it: (final response or None,
    [all responses]). Responses with another Call-ID than ours (a second
    message in the same TCP stream) are not ours."""
    callid = request_callid(data)
    client.send(data)
    got = []
    final = None
    deadline = time.monotonic() + quiet_wait
    while time.monotonic() < deadline:
        raw = client.recv(deadline - time.monotonic())
        if raw is None:
            break
        resp = Response(raw)
        if callid is not None and resp.get("call-id") is not None and \
                resp.get("call-id") != callid:
            continue
        got.append(resp)
        if resp.code >= 200:
            final = resp
            break
        deadline = time.monotonic() + final_wait   # 1xx: wait for final
    return final, got


# ---- the server ----

def free_port(both=True):
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        if not both:
            t.close()
            return port
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


class Server:
    def __init__(self, binary, tmp):
        self.binary = binary
        self.tmp = tmp
        self.proc = None
        self.port = free_port()
        self.api_port = free_port(both=False)
        self.log_path = os.path.join(tmp, "server.log")
        self.conf = os.path.join(tmp, "switchboard.conf")
        with open(self.conf, "w") as f:
            f.write("sip_listen_udp 127.0.0.1:%d\n" % self.port)
            f.write("sip_listen_tcp 127.0.0.1:%d\n" % self.port)
            f.write("sip_listen_tls none\n")
            f.write("store_path %s\n" % os.path.join(tmp, "t.db"))
            f.write("api_listen 127.0.0.1:%d\n" % self.api_port)
            f.write("log_level warn\n")
            f.write("api_token %s\n" % TOKEN)
        self.starts = 0

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def start(self):
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(b"==== start %d\n" % self.starts)
        log.flush()
        self.proc = subprocess.Popen([self.binary, "-f", self.conf],
                                     stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL,
                                     cwd=self.tmp)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if probe(self, "UDP", timeout=0.3):
                return True
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Stop the server we started, by its PID: SIGTERM, then again,
        then SIGKILL, each wait bounded. Returns the exit status."""
        if self.proc is None:
            return None
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGTERM, 3),
                          (signal.SIGKILL, 3)):
            if self.proc.poll() is not None:
                break
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        rc = self.proc.poll()
        self.proc = None
        return rc

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    | " + ln for ln in lines[-n:])

    def sanitizer_errors(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        pat = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer"
                         r"|runtime error:")
        return [ln for ln in text.splitlines() if pat.search(ln)]


def probe(server, transport, timeout=1.0, tries=3):
    """OPTIONS -> 200, a few tries"""
    for i in range(tries):
        try:
            cli = UdpClient(server.addr) if transport == "UDP" \
                else TcpClient(server.addr)
        except OSError:
            time.sleep(timeout)
            continue
        try:
            tag = "%08x" % random.getrandbits(32)
            final, _ = exchange(cli, options_probe(server.port, cli.port,
                                                   transport, tag),
                                timeout, timeout)
            if final is not None and final.code == 200:
                return True
        finally:
            cli.close()
    return False


def check_alive(server, fails, what, transport):
    """After a message: the server must still run and answer OPTIONS.
    A dead server is restarted so the run goes on."""
    if server.alive() and probe(server, transport):
        return True
    if server.alive():
        fails.add("%s: server stopped answering OPTIONS" % what)
    else:
        fails.add("%s: server died (status %s)"
                  % (what, server.proc.returncode))
    print(server.log_tail(), flush=True)
    server.stop()
    if server.starts >= 6 or not server.start():
        raise SystemExit("server cannot be restarted; giving up")
    return False


# ---- part 1: RFC 4475 ----

def rfc4475_files(shared):
    d = os.path.join(shared, "rfc4475")
    files = sorted(f for f in os.listdir(d) if f.endswith(".dat"))
    out = [(f, os.path.join(d, f)) for f in files]
    v = os.path.join(shared, "variants", "baddn.php-sip.dat")
    if os.path.exists(v):
        out.append(("baddn.php-sip.dat", v))
    return out


def run_rfc4475(server, shared, transport, fails, verbose, only):
    n = ok = 0
    for name, path in rfc4475_files(shared):
        if only and name not in only:
            continue
        if name not in EXPECT:
            fails.add("%s: no expectation in the table" % name)
            continue
        exp_udp, exp_tcp, why = EXPECT[name]
        exp = exp_udp if transport == "UDP" else exp_tcp
        with open(path, "rb") as f:
            data = f.read()
        n += 1
        what = "%s/%s" % (name, transport)
        try:
            cli = UdpClient(server.addr) if transport == "UDP" \
                else TcpClient(server.addr)
        except OSError as e:
            fails.add("%s: cannot connect: %s" % (what, e))
            check_alive(server, fails, what, transport)
            continue
        msg = rewrite_via(data, cli.port)
        quiet = 1.0 if not exp else 3.0
        final, got = exchange(cli, msg, 4.0, quiet)
        method, ruri = request_line(data)
        if final is not None and method == b"INVITE" and \
                request_callid(data) == final.get("call-id"):
            cli.send(ack_for(ruri, final))
        cli.close()

        code = final.code if final else None
        good = (code in exp) if exp else not got
        if good and code in NEED_HDRS:
            for h in NEED_HDRS[code]:
                if final.get(h) is None:
                    good = False
                    why = "reply lacks %s" % h
        if good and code == 200 and method == b"OPTIONS" and \
                final.get("allow") is None:
            good = False
            why = "200 to OPTIONS lacks Allow"
        if good and code == 420:
            uns = final.get("unsupported") or b""
            if b"nothingSupportsThis" not in uns or \
                    b"norDoAnyProxiesSupportThis" not in uns:
                good = False
                why = "Unsupported does not list the tags: %r" % uns
        got_s = ",".join(str(r.code) for r in got) or "no reply"
        exp_s = "/".join(str(c) for c in sorted(exp)) or "no reply"
        if good:
            ok += 1
            if verbose:
                print("ok   %-22s %-9s (%s)" % (what, got_s, why))
        else:
            fails.add("%s: expected %s, got %s (%s)"
                      % (what, exp_s, got_s, why))
        check_alive(server, fails, what, transport)
    return n, ok


# ---- part 2: PROTOS c07-sip ----

PROTOS_LEN = re.compile(rb"(\d+) ")


def protos_templates(data):
    """(INVITE template, teardown template) of a case file"""
    out = []
    pos = 0
    for _ in range(2):
        m = PROTOS_LEN.match(data, pos)
        if not m:
            break
        n = int(m.group(1))
        out.append(data[m.end():m.end() + n])
        pos = m.end() + n
    while len(out) < 2:
        out.append(b"")
    return out


def protos_fill(tmpl, case, port, ids, teardown=b"CANCEL"):
    """Fill a PROTOS template; ids = (branch, call-id) shared by the
    INVITE and its teardown. Content-Length is the body's length."""
    subst = {
        b"<To>": b"1001@127.0.0.1",
        b"<From>": b"protos@127.0.0.1",
        b"<From-Address>": b"127.0.0.1",
        b"<From-IP>": b"127.0.0.1",
        b"<Local-Port>": b"%d" % port,
        b"<Branch-ID>": ids[0],
        b"<Call-ID>": ids[1],
        b"<CSeq>": b"%d" % (case + 1),
        b"<Teardown-Method>": teardown,
    }
    for k, v in subst.items():
        tmpl = tmpl.replace(k, v)
    end = tmpl.find(b"\r\n\r\n")
    clen = len(tmpl) - end - 4 if end >= 0 else 0
    return tmpl.replace(b"<Content-Length>", b"%d" % clen)


def run_protos(server, shared, step, big_tcp, fails, verbose, stats):
    d = os.path.join(shared, "protos-c07-sip", "cases")
    cases = sorted(int(f) for f in os.listdir(d) if f.isdigit())
    n = skipped = 0
    for case in cases:
        if case % step:
            continue
        path = os.path.join(d, "%07d" % case)
        with open(path, "rb") as f:
            data = f.read()
        invite, teardown = protos_templates(data)
        transport = "UDP"
        if len(data) > UDP_MAX:
            if not big_tcp:
                skipped += 1
                continue
            transport = "TCP"
        what = "protos %07d/%s" % (case, transport)
        try:
            cli = UdpClient(server.addr) if transport == "UDP" \
                else TcpClient(server.addr)
        except OSError as e:
            fails.add("%s: cannot connect: %s" % (what, e))
            check_alive(server, fails, what, "UDP")
            continue
        ids = (b"-%d-%08x" % (case, random.getrandbits(32)),
               b"protos-%d-%08x" % (case, random.getrandbits(32)))
        msg = protos_fill(invite, case, cli.port, ids)
        if transport == "UDP" and len(msg) > UDP_MAX:
            skipped += 1
            cli.close()
            continue
        n += 1
        try:
            final, got = exchange(cli, msg, 2.0, 0.5)
            code = final.code if final else (got[-1].code if got else 0)
            stats[code] = stats.get(code, 0) + 1
            if final is not None:
                cli.send(protos_fill(teardown, case, cli.port, ids, b"ACK"))
            else:
                # CANCEL; then ACK the INVITE's final answer (487)
                cli.send(protos_fill(teardown, case, cli.port, ids))
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    raw = cli.recv(deadline - time.monotonic())
                    if raw is None:
                        break
                    r = Response(raw)
                    if r.code >= 200 and \
                            (r.get("cseq") or b"").endswith(b"INVITE"):
                        cli.send(protos_fill(teardown, case, cli.port, ids,
                                             b"ACK"))
                        break
        except OSError:
            pass
        cli.close()
        if verbose:
            print("     %s -> %s" % (what, code or "no reply"))
        check_alive(server, fails, what, "UDP")
    return n, skipped


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", help="switchboard binary "
                    "(default $top_builddir/switchboard)")
    ap.add_argument("--shared", help="sip-torture directory "
                    "(default $top_srcdir/../shared/sip-torture)")
    ap.add_argument("--protos-all", action="store_true",
                    help="all PROTOS cases, big ones over TCP")
    ap.add_argument("--protos-step", type=int, default=20,
                    help="every Nth PROTOS case (default 20)")
    ap.add_argument("--no-rfc4475", action="store_true")
    ap.add_argument("--no-protos", action="store_true")
    ap.add_argument("--only", action="append",
                    help="only this RFC 4475 file (repeatable)")
    ap.add_argument("--deadline", type=int, default=1200,
                    help="give up after this many seconds")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (config, db, server.log)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    top_src = os.environ.get("top_srcdir") or os.path.join(here, "..", "..")
    top_build = os.environ.get("top_builddir") or "."
    binary = os.path.abspath(args.binary or
                             os.path.join(top_build, "switchboard"))
    shared = os.path.abspath(args.shared or
                             os.path.join(top_src, "..", "shared",
                                          "sip-torture"))
    if not os.path.isdir(os.path.join(shared, "rfc4475")):
        print("SKIP: no torture data at %s" % shared)
        return 77
    if not os.access(binary, os.X_OK):
        print("ERROR: no server binary at %s" % binary)
        return 99

    def on_alarm(signum, frame):
        raise TimeoutError("deadline of %d s passed" % args.deadline)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.deadline)

    tmp = tempfile.mkdtemp(prefix="sb-torture-")
    server = Server(binary, tmp)
    fails = Failures()
    summary = []
    rc = 0
    try:
        if not server.start():
            print("ERROR: server did not start or answer OPTIONS")
            print(server.log_tail())
            return 99
        if not args.no_rfc4475:
            # TCP first: libre keeps a UDP server transaction 32 s after
            # its final answer, and would take the same request arriving
            # again over TCP (new sent-by) for a merged one: 482
            for tp in ("TCP", "UDP"):
                n, ok = run_rfc4475(server, shared, tp, fails,
                                    args.verbose, args.only)
                summary.append("RFC 4475 over %s: %d/%d as expected"
                               % (tp, ok, n))
        if not args.no_protos and not args.only:
            stats = {}
            step = 1 if args.protos_all else max(args.protos_step, 1)
            n, skipped = run_protos(server, shared, step, args.protos_all,
                                    fails, args.verbose, stats)
            codes = ", ".join("%s: %d" % (c or "none", stats[c])
                              for c in sorted(stats))
            summary.append("PROTOS: %d cases sent, %d skipped (> %d"
                           " bytes); replies %s"
                           % (n, skipped, UDP_MAX, codes or "-"))
    except TimeoutError as e:
        fails.add(str(e))
    finally:
        signal.alarm(0)
        status = server.stop()
        if status not in (0, None, -signal.SIGTERM):
            summary.append("server exit status %s" % status)
        for ln in server.sanitizer_errors():
            fails.add("sanitizer: %s" % ln.strip())
        if server.starts > 1:
            summary.append("server restarted %d times" % (server.starts - 1))
        if args.keep or fails.lines:
            summary.append("server log kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for s in summary:
        print(s)
    print("%s: %d failure(s)" % ("FAIL" if fails.lines else "PASS",
                                 len(fails.lines)))
    if fails.lines:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
