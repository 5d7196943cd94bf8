#!/usr/bin/env python3
"""Black-box test of the management API and of sbctl.

Starts ./switchboard with a temporary config and store, then drives every
route both through sbctl and through raw HTTP (urllib; a plain socket for
the framing cases): create, list, show, change and delete extensions, each
validation error (status and the field named), a missing or wrong token
(401), unknown routes (404), wrong methods (405), bad JSON (400), a wrong
Content-Type (415) and an oversized body (413). It checks that a change
holds at once, by REGISTERing over UDP with the old and the new password,
and that the extensions survive a restart. A second run without api_token
checks the generated token: 32 hex characters, in <store>.token (0600),
the same after a restart.

Binaries: $SWITCHBOARD and $SBCTL, else ./switchboard and ./sbctl (run
from the build directory, as `make check` does). Only the server this
script starts is stopped, by its PID. Exit status 0 if all checks pass.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

TOKEN = "apitesttokenapitest"
DOMAIN = "pbx.local"
WAIT_S = 10          # longest wait for the server to start or stop
HTTP_TIMEOUT_S = 5

SWITCHBOARD = os.environ.get("SWITCHBOARD",
                             os.path.join(os.getcwd(), "switchboard"))
SBCTL = os.environ.get("SBCTL", os.path.join(os.getcwd(), "sbctl"))

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: %s" % what, flush=True)
    return cond


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
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
    """One switchboard process with its own config and store."""

    def __init__(self, tmp, token):
        self.tmp = tmp
        self.sip_port = free_port()
        self.api_port = free_port()
        self.db = os.path.join(tmp, "t.db")
        self.conf = os.path.join(tmp, "switchboard.conf")
        self.log = os.path.join(tmp, "switchboard.log")
        lines = [
            "sip_listen_udp 127.0.0.1:%d" % self.sip_port,
            "sip_listen_tcp 127.0.0.1:%d" % self.sip_port,
            "sip_listen_tls none",
            "store_path %s" % self.db,
            "api_listen 127.0.0.1:%d" % self.api_port,
            "log_level warn",
        ]
        if token:
            lines.append("api_token %s" % token)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.token = token

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.api_port

    def start(self):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([SWITCHBOARD, "-f", self.conf],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     cwd=self.tmp)
        logf.close()
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("switchboard exited with %d"
                                   % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.api_port),
                                              timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("switchboard API did not come up in %d s"
                           % WAIT_S)

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            print("switchboard did not stop on SIGTERM: killing PID %d"
                  % self.proc.pid)
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)
            check(False, "server stops on SIGTERM")
            return
        check(self.proc.returncode == 0, "server exit status %d"
              % self.proc.returncode)
        with open(self.log, errors="replace") as f:
            text = f.read()
        check("Sanitizer" not in text and "runtime error" not in text,
              "no sanitizer reports in the server log")

    def dump_log(self):
        try:
            with open(self.log) as f:
                sys.stdout.write("---- switchboard log ----\n" + f.read())
        except OSError:
            pass


# ---- raw HTTP ----

def http(srv, method, path, body=None, token=None, ctype="application/json",
         headers=None):
    """One request; returns (status, headers, parsed JSON or raw bytes)."""
    if token is None:
        token = srv.token
    hdrs = dict(headers or {})
    if token is not False:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else \
            json.dumps(body).encode()
        if ctype:
            hdrs["Content-Type"] = ctype
    req = urllib.request.Request("http://%s%s" % (srv.addr, path),
                                 data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            status, rh, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, rh, raw = e.code, e.headers, e.read()
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError):
        parsed = raw
    return status, rh, parsed


def raw_http(srv, request):
    """Send bytes as they are; return the status code and the reply."""
    with socket.create_connection(("127.0.0.1", srv.api_port),
                                  timeout=HTTP_TIMEOUT_S) as s:
        s.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data or not reply_complete(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    m = re.match(rb"HTTP/1\.1 (\d+)", data)
    return (int(m.group(1)) if m else 0), data


def reply_complete(data):
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"Content-Length: (\d+)", head, re.I)
    return m is not None and len(body) >= int(m.group(1))


def expect_error(srv, what, status, field, method, path, body=None, **kw):
    st, _, js = http(srv, method, path, body, **kw)
    ok = check(st == status, "%s: status %s, want %d (%r)"
               % (what, st, status, js))
    if not isinstance(js, dict) or "error" not in js:
        check(False, "%s: no JSON error object: %r" % (what, js))
        return
    if field is None:
        check("field" not in js, "%s: names field %r, want none"
              % (what, js.get("field")))
    else:
        check(js.get("field") == field, "%s: field %r, want %r (%s)"
              % (what, js.get("field"), field, js.get("error")))
    if ok:
        print("ok: %s -> %d %s" % (what, st, js["error"]))


# ---- sbctl ----

def sbctl(srv, *args, token=None, env=None):
    cmd = [SBCTL, "-a", srv.addr]
    if token is not False:
        cmd += ["-t", token or srv.token]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=HTTP_TIMEOUT_S * 3, env=env)
    return p.returncode, p.stdout, p.stderr


def sbctl_lines(srv, *args):
    rc, out, err = sbctl(srv, *args)
    check(rc == 0, "sbctl %s: exit %d (%s)" % (" ".join(args), rc, err))
    objs = []
    for line in out.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            check(False, "sbctl %s: not JSON: %r" % (" ".join(args), line))
    return objs


# ---- SIP REGISTER with digest ----

def sip_register(srv, user, password, alg="MD5", expires=600):
    """REGISTER user over UDP; returns the final status code."""
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]

    def H(s):
        return h(s.encode()).hexdigest()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    lport = s.getsockname()[1]
    callid = uuid.uuid4().hex
    ruri = "sip:%s" % DOMAIN

    def send(cseq, auth=None):
        msg = ("REGISTER %s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:%s@%s>;tag=%s\r\n"
               "To: <sip:%s@%s>\r\n"
               "Call-ID: %s\r\n"
               "CSeq: %d REGISTER\r\n"
               "Contact: <sip:%s@127.0.0.1:%d>\r\n"
               "Expires: %d\r\n"
               "User-Agent: api-test/1.0\r\n"
               "%s"
               "Content-Length: 0\r\n\r\n"
               % (ruri, lport, uuid.uuid4().hex[:16], user, DOMAIN,
                  callid[:8], user, DOMAIN, callid, cseq, user, lport,
                  expires, ("Authorization: %s\r\n" % auth) if auth else ""))
        s.sendto(msg.encode(), ("127.0.0.1", srv.sip_port))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            data = s.recv(65535).decode("utf-8", "replace")
            m = re.match(r"SIP/2\.0 (\d+)", data)
            if m and int(m.group(1)) >= 200:
                return int(m.group(1)), data
        return 0, ""

    try:
        code, data = send(1)
        if code != 401:
            return code
        chal = None
        for line in data.split("\r\n"):
            if line.lower().startswith("www-authenticate:") and \
               re.search(r"algorithm=%s\b" % re.escape(alg), line):
                chal = line
                break
        if not chal:
            return -1      # algorithm not offered
        realm = re.search(r'realm="([^"]*)"', chal).group(1)
        nonce = re.search(r'nonce="([^"]*)"', chal).group(1)
        cnonce, nc, qop = uuid.uuid4().hex[:12], "00000001", "auth"
        ha1 = H("%s:%s:%s" % (user, realm, password))
        ha2 = H("REGISTER:%s" % ruri)
        resp = H("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
        auth = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=%s, qop=%s, nc=%s, cnonce="%s"'
                % (user, realm, nonce, ruri, resp, alg, qop, nc, cnonce))
        code, _ = send(2, auth)
        return code
    except socket.timeout:
        return 0
    finally:
        s.close()


# ---- the checks ----

def test_auth(srv):
    for what, kw in [("no token", {"token": False}),
                     ("wrong token", {"token": "x" * len(TOKEN)}),
                     ("token prefix", {"token": TOKEN[:-1]}),
                     ("token plus suffix", {"token": TOKEN + "x"}),
                     ("token then junk", {"token": TOKEN + " junk"})]:
        st, hdrs, js = http(srv, "GET", "/api/status", **kw)
        check(st == 401, "%s: status %s, want 401" % (what, st))
        check(isinstance(js, dict) and "error" in js,
              "%s: JSON error body: %r" % (what, js))
        check((hdrs.get("WWW-Authenticate") or "").startswith("Bearer"),
              "%s: WWW-Authenticate Bearer" % what)
    st, _, _ = http(srv, "GET", "/api/status", token=False,
                    headers={"Authorization": "Basic " + TOKEN})
    check(st == 401, "Basic scheme: status %s, want 401" % st)
    st, _, _ = http(srv, "GET", "/api/status", token=False,
                    headers={"Authorization": "bearer " + TOKEN})
    check(st == 200, "scheme is case-insensitive: status %s" % st)
    # a 401 comes before routing: unknown paths do not leak either
    st, _, _ = http(srv, "GET", "/api/nope", token=False)
    check(st == 401, "unknown path without token: %s, want 401" % st)

    rc, _, err = sbctl(srv, "status", token="wrongwrongwrongwrong")
    check(rc == 1 and "401" in err, "sbctl wrong token: exit %d, %r"
          % (rc, err))
    print("ok: token checks")


def test_routes(srv):
    expect_error(srv, "unknown route", 404, None, "GET", "/api/nope")
    expect_error(srv, "root", 404, None, "GET", "/")
    expect_error(srv, "sub-path of an extension", 404, None, "GET",
                 "/api/extensions/101/contacts")
    expect_error(srv, "trailing slash", 404, None, "GET",
                 "/api/extensions/")
    st, hdrs, js = http(srv, "DELETE", "/api/status")
    check(st == 405 and hdrs.get("Allow") == "GET",
          "DELETE /api/status: %s Allow %r" % (st, hdrs.get("Allow")))
    st, hdrs, js = http(srv, "POST", "/api/extensions/101", {"name": "x"})
    check(st == 405 and hdrs.get("Allow") == "GET, PUT, DELETE",
          "POST /api/extensions/101: %s Allow %r" % (st, hdrs.get("Allow")))
    st, hdrs, js = http(srv, "PUT", "/api/extensions", {"name": "x"})
    check(st == 405 and hdrs.get("Allow") == "GET, POST",
          "PUT /api/extensions: %s Allow %r" % (st, hdrs.get("Allow")))

    st, _, js = http(srv, "GET", "/api/status")
    check(st == 200 and js.get("version") and
          all(isinstance(js.get(k), int)
              for k in ("calls", "registrations", "extensions")),
          "status: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/calls")
    check(st == 200 and isinstance(js.get("calls"), list),
          "calls: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/registrations")
    check(st == 200 and js == {"registrations": []},
          "registrations: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/cdrs")
    check(st == 200 and js.get("cdrs") == [], "cdrs: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/cdrs?limit=1000&before=5")
    check(st == 200, "cdrs limit=1000&before=5: %s %r" % (st, js))
    for q, field in [("limit=0", "limit"), ("limit=1001", "limit"),
                     ("limit=abc", "limit"), ("limit=", "limit"),
                     ("limit=-1", "limit"), ("before=0", "before"),
                     ("before=x", "before"), ("bogus=1", "bogus")]:
        expect_error(srv, "cdrs ?" + q, 400, field, "GET", "/api/cdrs?" + q)

    rc, out, err = sbctl(srv, "status")
    check(rc == 0 and json.loads(out).get("version"),
          "sbctl status: %d %r %r" % (rc, out, err))
    check(sbctl_lines(srv, "calls") == [], "sbctl calls: empty")
    check(sbctl_lines(srv, "reg", "list") == [], "sbctl reg list: empty")
    check(sbctl_lines(srv, "cdr", "--limit", "5") == [], "sbctl cdr")
    rc, _, err = sbctl(srv, "cdr", "--limit", "0")
    check(rc == 1 and "limit" in err, "sbctl cdr --limit 0: %d %r"
          % (rc, err))
    print("ok: routes")


def test_body_errors(srv):
    good = {"number": "150", "name": "N", "password": "password1"}
    post = "/api/extensions"
    for what, body in [("truncated JSON", b'{"number":"1"'),
                       ("trailing comma", b'{"number":"150",}'),
                       ("trailing garbage", b'{"number":"150"} x'),
                       ("single quotes", b"{'number':'150'}"),
                       ("bare word", b'{"number":abc}'),
                       ("array", b'["150"]'),
                       ("string", b'"150"'),
                       ("empty body", b""),
                       ("invalid UTF-8", b'{"name":"\xff\xfe"}'),
                       ("NUL escape", b'{"name":"a\\u0000b"}'),
                       ("lone surrogate", b'{"name":"\\ud800"}'),
                       ("raw control char", b'{"name":"a\x01b"}'),
                       ("too deep", b'{"a":' * 20 + b'1' + b'}' * 20)]:
        expect_error(srv, "bad JSON: " + what, 400, None, "POST", post,
                     body)

    expect_error(srv, "text/plain body", 415, None, "POST", post, good,
                 ctype="text/plain")
    expect_error(srv, "no Content-Type", 415, None, "POST", post, good,
                 ctype=None)
    expect_error(srv, "PUT text/plain", 415, None, "PUT",
                 "/api/extensions/150", {"name": "x"}, ctype="text/plain")
    st, _, _ = http(srv, "POST", post, good,
                    ctype="application/json; charset=utf-8")
    check(st == 201, "charset parameter is fine: %s" % st)
    http(srv, "DELETE", "/api/extensions/150")

    big = dict(good, name="x" * 70000)
    expect_error(srv, "70 KB body", 413, None, "POST", post, big)

    # framing re's server cannot read: answered, then the connection closes
    st, data = raw_http(srv, (
        "POST /api/extensions HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "2\r\n{}\r\n0\r\n\r\n" % TOKEN).encode())
    check(st == 400, "chunked body: %s %r" % (st, data[:200]))
    # 2^32 + 2: re's pl_u32 wraps it to 2, so the request reaches us
    # (a length that does not wrap small is re's to time out)
    st, data = raw_http(srv, (
        "POST /api/extensions HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
        "Content-Length: 4294967298\r\n\r\n{}" % TOKEN).encode())
    check(st == 413, "wrapping Content-Length: %s %r" % (st, data[:200]))
    st, data = raw_http(srv, (
        "POST /api/extensions HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
        "Content-Length: 2x\r\n\r\n{}" % TOKEN).encode())
    check(st == 400, "bad Content-Length: %s %r" % (st, data[:200]))
    st, data = raw_http(srv, (
        "GET /api/status HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer %s\r\n\r\n" % TOKEN).encode())
    check(st == 200, "server still answers after bad framing: %s" % st)
    print("ok: body errors")


def test_validation(srv):
    post = "/api/extensions"
    base = {"number": "160", "name": "Val", "password": "password1"}

    def with_(**kw):
        b = dict(base)
        for k, v in kw.items():
            if v is KeyError:
                b.pop(k)
            else:
                b[k] = v
        return b

    cases = [
        ("number letters", with_(number="12a"), "number"),
        ("number empty", with_(number=""), "number"),
        ("number 32 digits", with_(number="1" * 32), "number"),
        ("number as JSON int", with_(number=160), "number"),
        ("number with plus", with_(number="+160"), "number"),
        ("number missing", with_(number=KeyError), "number"),
        ("name 64 bytes", with_(name="n" * 64), "name"),
        ("name 32 two-byte chars", with_(name="\u00e9" * 32), "name"),
        ("name control char", with_(name="a\u0001b"), "name"),
        ("name newline", with_(name="a\nb"), "name"),
        ("name DEL", with_(name="a\u007fb"), "name"),
        ("name not a string", with_(name=["x"]), "name"),
        ("name missing", with_(name=KeyError), "name"),
        ("password 7 chars", with_(password="1234567"), "password"),
        ("password 129 chars", with_(password="p" * 129), "password"),
        ("password null", with_(password=None), "password"),
        ("password missing", with_(password=KeyError), "password"),
        ("vm_pin 3 digits", with_(vm_pin="123"), "vm_pin"),
        ("vm_pin 16 digits", with_(vm_pin="1" * 16), "vm_pin"),
        ("vm_pin letters", with_(vm_pin="12ab"), "vm_pin"),
        ("vm_pin as int", with_(vm_pin=1234), "vm_pin"),
        ("auth_order bogus", with_(auth_order="sha1-first"), "auth_order"),
        ("auth_order case", with_(auth_order="MD5-first"), "auth_order"),
        ("srtp bogus", with_(srtp="sdes"), "srtp"),
        ("srtp as bool", with_(srtp=True), "srtp"),
        ("unknown field", with_(pasword="password1"), "pasword"),
    ]
    for what, body, field in cases:
        expect_error(srv, "POST " + what, 400, field, "POST", post, body)

    expect_error(srv, "POST duplicate key", 400, "name", "POST", post,
                 b'{"number":"160","name":"a","name":"b",'
                 b'"password":"password1"}')

    st, _, js = http(srv, "GET", "/api/extensions/160")
    check(st == 404, "no failed POST created 160: %s" % st)

    # the edges that are fine
    for what, body in [("name 63 bytes, 31 digits, 128-char password, "
                        "15-digit pin",
                        with_(number="1" * 31, name="n" * 63,
                              password="\u00e9" * 128, vm_pin="1" * 15)),
                       ("8-char password, 4-digit pin, empty name",
                        with_(number="161", name="", password="12345678",
                              vm_pin="0000"))]:
        st, _, js = http(srv, "POST", post, body)
        check(st == 201, "POST %s: %s %r" % (what, st, js))
        if st == 201:
            http(srv, "DELETE", "/api/extensions/" + body["number"])

    # path numbers
    expect_error(srv, "GET bad number", 400, "number", "GET",
                 "/api/extensions/12a")
    expect_error(srv, "DELETE bad number", 400, "number", "DELETE",
                 "/api/extensions/" + "1" * 40)
    expect_error(srv, "PUT bad number", 400, "number", "PUT",
                 "/api/extensions/%31", {"name": "x"})
    expect_error(srv, "GET missing", 404, None, "GET", "/api/extensions/9")
    expect_error(srv, "PUT missing", 404, None, "PUT", "/api/extensions/9",
                 {"name": "x"})
    expect_error(srv, "DELETE missing", 404, None, "DELETE",
                 "/api/extensions/9")
    print("ok: validation")


def no_secrets(js, what):
    text = json.dumps(js)
    check("ha1" not in text.lower() and "4321" not in text and
          "secret-101" not in text and "pin\":\"" not in text,
          "%s shows no HA1, PIN or password: %s" % (what, text))


def test_extensions(srv):
    # create: one by raw HTTP, one by sbctl
    st, hdrs, js = http(srv, "POST", "/api/extensions",
                        {"number": "101", "name": "Alice",
                         "password": "secret-101", "vm_pin": "4321"})
    check(st == 201, "POST 101: %s %r" % (st, js))
    check(hdrs.get("Location") == "/api/extensions/101",
          "POST 101 Location: %r" % hdrs.get("Location"))
    check(js == {"number": "101", "name": "Alice", "auth_order": "md5-first",
                 "srtp": "off", "vm_pin_set": True, "contacts": 0},
          "POST 101 reply: %r" % js)
    no_secrets(js, "POST reply")

    rc, out, err = sbctl(srv, "ext", "add", "102", "--name", "Bob \"B\" /",
                         "--password", "secret-102", "--auth-order",
                         "sha256-only")
    check(rc == 0, "sbctl ext add 102: %d %r" % (rc, err))
    check(json.loads(out or "{}").get("name") == "Bob \"B\" /",
          "sbctl ext add 102 prints it: %r" % out)

    expect_error(srv, "POST 101 again", 409, "number", "POST",
                 "/api/extensions",
                 {"number": "101", "name": "A2", "password": "password2"})
    rc, _, err = sbctl(srv, "ext", "add", "101", "--name", "A",
                       "--password", "password2")
    check(rc == 1 and "409" in err and "number" in err,
          "sbctl ext add 101 again: %d %r" % (rc, err))
    check(sip_register(srv, "101", "secret-101") == 200,
          "the 409 left 101's password alone")

    # list
    st, _, js = http(srv, "GET", "/api/extensions")
    nums = [e["number"] for e in js.get("extensions", [])]
    check(st == 200 and nums == ["101", "102"], "GET list: %s %r"
          % (st, js))
    no_secrets(js, "list")
    lines = sbctl_lines(srv, "ext", "list")
    check([e.get("number") for e in lines] == ["101", "102"],
          "sbctl ext list, one per line: %r" % lines)
    check(lines and lines[1].get("auth_order") == "sha256-only",
          "sbctl ext list auth_order: %r" % lines)

    # show
    st, _, js = http(srv, "GET", "/api/extensions/102")
    check(st == 200 and js.get("name") == "Bob \"B\" /" and
          js.get("vm_pin_set") is False, "GET 102: %s %r" % (st, js))
    rc, out, err = sbctl(srv, "ext", "show", "101")
    check(rc == 0 and json.loads(out).get("vm_pin_set") is True,
          "sbctl ext show 101: %d %r %r" % (rc, out, err))
    rc, _, err = sbctl(srv, "ext", "show", "999")
    check(rc == 1 and "404" in err, "sbctl ext show 999: %d %r"
          % (rc, err))

    # change: partial
    st, _, js = http(srv, "PUT", "/api/extensions/101",
                     {"name": "Alice Smith"})
    check(st == 200 and js.get("name") == "Alice Smith" and
          js.get("vm_pin_set") is True and js.get("auth_order") ==
          "md5-first", "PUT 101 name: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/extensions/101")
    check(js.get("name") == "Alice Smith", "name changed at once: %r" % js)
    st, _, js = http(srv, "PUT", "/api/extensions/101", {"vm_pin": None})
    check(st == 200 and js.get("vm_pin_set") is False,
          "PUT vm_pin null clears it: %s %r" % (st, js))
    rc, out, err = sbctl(srv, "ext", "set", "101", "--pin", "9876",
                         "--auth-order", "sha256-first")
    check(rc == 0 and json.loads(out).get("auth_order") == "sha256-first"
          and json.loads(out).get("vm_pin_set") is True,
          "sbctl ext set 101: %d %r %r" % (rc, out, err))
    expect_error(srv, "PUT number", 400, "number", "PUT",
                 "/api/extensions/101", {"number": "105"})
    expect_error(srv, "PUT empty", 400, None, "PUT", "/api/extensions/101",
                 {})
    expect_error(srv, "PUT bad password", 400, "password", "PUT",
                 "/api/extensions/101", {"password": "short"})
    expect_error(srv, "PUT bad auth_order", 400, "auth_order", "PUT",
                 "/api/extensions/101", {"auth_order": "none"})
    expect_error(srv, "PUT bad srtp", 400, "srtp", "PUT",
                 "/api/extensions/101", {"srtp": "maybe"})
    st, _, js = http(srv, "PUT", "/api/extensions/101", {"srtp": "required"})
    check(st == 200 and js.get("srtp") == "required",
          "PUT srtp required: %s %r" % (st, js))
    st, _, js = http(srv, "GET", "/api/extensions/101")
    check(st == 200 and js.get("srtp") == "required",
          "GET after PUT srtp: %s %r" % (st, js))
    st, _, js = http(srv, "PUT", "/api/extensions/101", {"srtp": "off"})
    check(st == 200 and js.get("srtp") == "off", "PUT srtp off")
    rc, _, err = sbctl(srv, "ext", "set", "101", "--pin", "12")
    check(rc == 1 and "vm_pin" in err, "sbctl ext set bad pin: %d %r"
          % (rc, err))
    print("ok: extensions")


def test_takes_effect(srv):
    """Passwords, auth order and deletion hold from the next request."""
    check(sip_register(srv, "101", "secret-101", alg="MD5") == 200,
          "REGISTER 101 with its password")
    check(sip_register(srv, "102", "secret-102", alg="MD5") == -1,
          "102 is sha256-only: no MD5 challenge")
    check(sip_register(srv, "102", "secret-102", alg="SHA-256") == 200,
          "REGISTER 102 with SHA-256")

    st, _, js = http(srv, "GET", "/api/registrations")
    regs = js.get("registrations", []) if isinstance(js, dict) else []
    # 101 registered twice, from two ports: two contacts
    check(st == 200 and sorted(r.get("aor") for r in regs) ==
          ["101", "101", "102"], "registrations: %r" % js)
    r = next((r for r in regs if r.get("aor") == "102"), {})
    check(r.get("transport") == "UDP" and
          r.get("received", "").startswith("127.0.0.1:") and
          r.get("user_agent") == "api-test/1.0" and
          0 < r.get("expires_in", 0) <= 600 and r.get("reachable") is True
          and r.get("uri", "").startswith("sip:102@"),
          "registration fields: %r" % r)
    lines = sbctl_lines(srv, "reg", "list")
    check(len(lines) == len(regs), "sbctl reg list: %r" % lines)
    st, _, js = http(srv, "GET", "/api/status")
    check(js.get("registrations") == len(regs) and
          js.get("extensions") == 2, "status counts: %r" % js)
    st, _, js = http(srv, "GET", "/api/extensions/102")
    check(js.get("contacts") == 1, "102 shows 1 contact: %r" % js)

    # a new password works at once, and the old one no longer does
    rc, _, err = sbctl(srv, "ext", "set", "101", "--password",
                       "new-secret-101", "--auth-order", "md5-first")
    check(rc == 0, "sbctl ext set 101 --password: %d %r" % (rc, err))
    check(sip_register(srv, "101", "secret-101") == 403,
          "old password refused at once")
    check(sip_register(srv, "101", "new-secret-101") == 200,
          "new password accepted at once")

    # the auth order, too
    st, _, _ = http(srv, "PUT", "/api/extensions/101",
                    {"auth_order": "sha256-only"})
    check(st == 200, "PUT auth_order sha256-only")
    check(sip_register(srv, "101", "new-secret-101", alg="MD5") == -1,
          "MD5 no longer offered to 101")
    check(sip_register(srv, "101", "new-secret-101", alg="SHA-256") == 200,
          "SHA-256 accepted for 101")

    # deleting drops the phones at once
    st, _, _ = http(srv, "DELETE", "/api/extensions/102")
    check(st == 204, "DELETE 102: %s" % st)
    st, _, js = http(srv, "GET", "/api/registrations")
    check(all(r.get("aor") != "102" for r in js.get("registrations", [])),
          "102's registrations gone at once: %r" % js)
    check(sip_register(srv, "102", "secret-102", alg="SHA-256") == 403,
          "deleted 102 cannot register")
    expect_error(srv, "GET deleted 102", 404, None, "GET",
                 "/api/extensions/102")
    rc, out, err = sbctl(srv, "ext", "del", "101")
    check(rc == 0 and out == "", "sbctl ext del 101: %d %r %r"
          % (rc, out, err))
    rc, _, err = sbctl(srv, "ext", "del", "101")
    check(rc == 1 and "404" in err, "sbctl ext del 101 again: %d %r"
          % (rc, err))
    st, _, js = http(srv, "GET", "/api/status")
    check(js.get("registrations") == 0 and js.get("extensions") == 0,
          "status after deletes: %r" % js)
    print("ok: changes take effect at once")


def test_sbctl_usage(srv, tmp):
    for args in [(), ("bogus",), ("ext",), ("ext", "show"),
                 ("ext", "add", "103", "--bogus", "x"),
                 ("ext", "add", "103", "--name"), ("cdr", "--limit"),
                 ("reg",), ("status", "extra")]:
        rc, _, err = sbctl(srv, *args)
        check(rc == 2, "sbctl %r: exit %d, want 2" % (args, rc))
    for addr in ("nonsense", "[::1]:8080", "127.0.0.1"):
        rc = subprocess.run([SBCTL, "-a", addr, "-t", TOKEN, "status"],
                            capture_output=True, timeout=5).returncode
        check(rc == 2, "sbctl -a %s: exit %d, want 2" % (addr, rc))

    # -T, and $SB_TOKEN_FILE
    tf = os.path.join(tmp, "tok")
    with open(tf, "w") as f:
        f.write(TOKEN + "\n")
    p = subprocess.run([SBCTL, "-a", srv.addr, "-T", tf, "status"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 0, "sbctl -T: %d %r" % (p.returncode, p.stderr))
    env = dict(os.environ, SB_TOKEN_FILE=tf)
    rc, _, err = sbctl(srv, "status", token=False, env=env)
    check(rc == 0, "sbctl with $SB_TOKEN_FILE: %d %r" % (rc, err))
    env = dict(os.environ, SB_TOKEN_FILE=os.path.join(tmp, "missing"))
    rc, _, err = sbctl(srv, "status", token=False, env=env)
    check(rc == 2, "sbctl without a token file: %d %r" % (rc, err))

    # the configured token is in <store>.token too, owner-only
    try:
        st = os.stat(srv.db + ".token")
        with open(srv.db + ".token") as f:
            check(f.read().strip() == TOKEN, "token file holds the token")
        check(stat.S_IMODE(st.st_mode) == 0o600, "token file mode %o"
              % stat.S_IMODE(st.st_mode))
    except OSError as e:
        check(False, "token file: %s" % e)

    # a password from stdin
    p = subprocess.run([SBCTL, "-a", srv.addr, "-t", TOKEN, "ext", "add",
                        "170", "--name", "Stdin", "--password", "-"],
                       input="from-stdin-pw\n", capture_output=True,
                       text=True, timeout=10)
    check(p.returncode == 0, "sbctl --password -: %d %r"
          % (p.returncode, p.stderr))
    check(sip_register(srv, "170", "from-stdin-pw") == 200,
          "password read from stdin works")
    print("ok: sbctl usage")


def test_restart(srv):
    st, _, _ = http(srv, "POST", "/api/extensions",
                    {"number": "201", "name": "Kept", "password": "kept-pass",
                     "auth_order": "sha256-first", "vm_pin": "5555"})
    check(st == 201, "POST 201 before restart: %s" % st)
    def exts():
        js = http(srv, "GET", "/api/extensions")[2]
        return [(e["number"], e["name"], e["auth_order"], e["vm_pin_set"])
                for e in js["extensions"]]

    before = exts()
    check(len(before) == 2, "two extensions before the restart: %r"
          % before)
    srv.stop()
    add_cdrs(srv.db, 5)
    srv.start()
    after = exts()
    check(after == before, "extensions survive a restart: %r vs %r"
          % (before, after))
    after = http(srv, "GET", "/api/extensions")[2]
    e = next((e for e in after["extensions"] if e["number"] == "201"), {})
    check(e.get("name") == "Kept" and e.get("auth_order") == "sha256-first"
          and e.get("vm_pin_set") is True, "201 intact: %r" % e)
    check(sip_register(srv, "201", "kept-pass", alg="SHA-256") == 200,
          "201's password still works after the restart")
    print("ok: restart")

    # CDRs, newest first, in pages
    st, _, js = http(srv, "GET", "/api/cdrs?limit=2")
    ids = [c["id"] for c in js.get("cdrs", [])]
    check(st == 200 and len(ids) == 2 and ids[0] > ids[1] and
          js.get("next_before") == ids[1], "cdrs page 1: %r" % js)
    c = js["cdrs"][0] if ids else {}
    check(set(c) == {"id", "call_id", "caller", "callee", "start_ms",
                     "answer_ms", "end_ms", "disposition", "cause",
                     "reason", "quality"} and c.get("cause") == 480 and
          c.get("quality") == {"caller": None, "callee": None} and
          c.get("reason") == 'no "answer" \u0001\ufffd',
          "cdr fields, escaping: %r" % c)
    st, _, js = http(srv, "GET", "/api/cdrs?limit=2&before=%d" % ids[-1])
    ids2 = [c["id"] for c in js.get("cdrs", [])]
    check(len(ids2) == 2 and ids2[0] < ids[-1], "cdrs page 2: %r" % js)
    lines = sbctl_lines(srv, "cdr", "--limit", "3", "--before",
                        str(ids[0]))
    check([c.get("id") for c in lines] == [ids[0] - 1, ids[0] - 2,
                                          ids[0] - 3],
          "sbctl cdr --limit --before: %r" % lines)
    st, _, js = http(srv, "GET", "/api/cdrs")
    check(len(js.get("cdrs", [])) == 5 and "next_before" not in js,
          "all 5 cdrs, no next page: %r" % js)
    print("ok: cdrs")


def add_cdrs(db, n):
    """CDRs come from calls; with the server stopped, write a few."""
    con = sqlite3.connect(db)
    with con:
        for i in range(n):
            con.execute("INSERT INTO cdrs (call_id, caller, callee, "
                        "start_ms, answer_ms, end_ms, disposition, cause, "
                        "reason) VALUES (?, '101', ?, ?, 0, ?, "
                        "'NOANSWER', 480, ?)",
                        ("call-%d" % i, "20%d" % i, 1700000000000 + i,
                         1700000005000 + i,
                         b'no "answer" \x01\xff'))   # not UTF-8
    con.close()


def test_generated_token(tmp):
    """No api_token: one is made, kept in the store, and written out."""
    srv = Server(tmp, None)
    try:
        srv.start()
        path = srv.db + ".token"
        with open(path) as f:
            tok = f.read().strip()
        check(re.fullmatch(r"[0-9a-f]{32}", tok) is not None,
              "generated token is 32 hex chars: %r" % tok)
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600,
              "generated token file is 0600")
        srv.token = tok
        st, _, _ = http(srv, "GET", "/api/status")
        check(st == 200, "generated token works: %s" % st)
        st, _, _ = http(srv, "GET", "/api/status", token=TOKEN)
        check(st == 401, "another token does not: %s" % st)
        env = dict(os.environ, SB_TOKEN_FILE=path)
        rc, _, err = sbctl(srv, "status", token=False, env=env)
        check(rc == 0, "sbctl reads the generated token file: %d %r"
              % (rc, err))
        os.unlink(path)
        srv.stop()
        srv.start()
        with open(path) as f:
            check(f.read().strip() == tok,
                  "the same token after a restart, file rewritten")
        st, _, _ = http(srv, "GET", "/api/status")
        check(st == 200, "generated token works after restart: %s" % st)
        print("ok: generated token")
    finally:
        srv.stop()
        if failures:
            srv.dump_log()


def main():
    for b in (SWITCHBOARD, SBCTL):
        if not os.access(b, os.X_OK):
            print("missing %s" % b)
            return 1

    tmp = tempfile.mkdtemp(prefix="sb-api-")
    os.mkdir(os.path.join(tmp, "a"))
    srv = Server(os.path.join(tmp, "a"), TOKEN)
    try:
        srv.start()
        test_auth(srv)
        test_routes(srv)
        test_body_errors(srv)
        test_validation(srv)
        test_extensions(srv)
        test_takes_effect(srv)
        test_sbctl_usage(srv, tmp)
        test_restart(srv)
        running = srv.proc.poll() is None
        check(running, "server still running after all checks")
    except Exception as e:           # report, then clean up
        check(False, "exception: %r" % e)
    finally:
        srv.stop()
        if failures:
            srv.dump_log()

    os.mkdir(os.path.join(tmp, "b"))
    try:
        test_generated_token(os.path.join(tmp, "b"))
    except Exception as e:
        check(False, "generated token: exception %r" % e)

    shutil.rmtree(tmp, ignore_errors=True)
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
