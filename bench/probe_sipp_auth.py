#!/usr/bin/env python3
"""Probe which Digest challenges the installed sipp can answer.

A tiny UDP responder on 127.0.0.1 answers the first REGISTER of
sipp/reg_auth.xml with a 401 carrying the WWW-Authenticate header(s) of a
case, then checks the Authorization of the second REGISTER (algorithm,
nonce, response) and answers 200 or 403.  Each case runs one sipp call,
bounded by a timeout.  Loopback only; sipp is the only process started,
and it is waited for.

    python3 bench/probe_sipp_auth.py            # uses sipp from PATH
"""
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SCEN = os.path.join(HERE, "sipp", "reg_auth.xml")
REALM = "pbx.local"
USER, PW = "2000", "secret2000"

CASES = [
    ("MD5, qop=auth", ['Digest realm="%s", nonce="n1", qop="auth", algorithm=MD5']),
    ("no algorithm (MD5), qop=auth", ['Digest realm="%s", nonce="n1", qop="auth"']),
    ("MD5, no qop (RFC 2069)", ['Digest realm="%s", nonce="n1", algorithm=MD5']),
    ("MD5-sess, qop=auth", ['Digest realm="%s", nonce="n1", qop="auth", algorithm=MD5-sess']),
    ("SHA-256 only", ['Digest realm="%s", nonce="n1", qop="auth", algorithm=SHA-256']),
    ("SHA-256 then MD5 (2 headers)", ['Digest realm="%s", nonce="n1", qop="auth", algorithm=SHA-256',
                                      'Digest realm="%s", nonce="n2", qop="auth", algorithm=MD5']),
    ("MD5 then SHA-256 (2 headers)", ['Digest realm="%s", nonce="n2", qop="auth", algorithm=MD5',
                                      'Digest realm="%s", nonce="n1", qop="auth", algorithm=SHA-256']),
]


def h(alg, s):
    return hashlib.new("sha256" if alg.upper().startswith("SHA-256") else "md5",
                       s.encode()).hexdigest()


def params(hdr):
    return {k.lower(): (v1 if v1 else v2)
            for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', hdr)}


def check(msg, nonces):
    m = re.search(r"^Authorization:\s*(.*)$", msg, re.M | re.I)
    if not m:
        return False, "no Authorization"
    p = params(m.group(1))
    alg = p.get("algorithm", "MD5")
    ha1 = h(alg, "%s:%s:%s" % (p.get("username"), REALM, PW))
    if alg.lower().endswith("-sess"):
        ha1 = h(alg, "%s:%s:%s" % (ha1, p.get("nonce"), p.get("cnonce")))
    ha2 = h(alg, "REGISTER:%s" % p.get("uri"))
    if "qop" in p:
        exp = h(alg, ":".join([ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2]))
    else:
        exp = h(alg, ":".join([ha1, p["nonce"], ha2]))
    ok = exp == p.get("response") and p.get("nonce") in nonces
    verdict = "correct" if ok else "WRONG"
    if not ok and alg.lower().endswith("-sess"):
        # what sipp 3.6.1 does: the plain algorithm's response
        ha1 = h(alg, "%s:%s:%s" % (p.get("username"), REALM, PW))
        if h(alg, ":".join([ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2])) == p.get("response"):
            verdict = "WRONG (computed as plain %s)" % alg[:-5]
    return ok, "algorithm=%s nonce=%s uri=%s response %s" % (
        alg, p.get("nonce"), p.get("uri"), verdict)


def reply(req, code, extra):
    hdrs = [l for l in req.split("\r\n") if re.match(r"(Via|From|To|Call-ID|CSeq):", l, re.I)]
    hdrs = [l + (";tag=probe" if l.lower().startswith("to:") else "") for l in hdrs]
    return "\r\n".join(["SIP/2.0 %s" % code] + hdrs + extra + ["Content-Length: 0", "", ""])


def run_case(name, chals, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(5)
    result = {"verdict": "no second REGISTER"}
    nonces = [re.search(r'nonce="([^"]*)"', c).group(1) for c in chals]

    def serve():
        try:
            for _ in range(10):
                data, addr = sock.recvfrom(65535)
                msg = data.decode(errors="replace")
                if not msg.startswith("REGISTER"):
                    continue
                if "Authorization:" not in msg:
                    extra = ["WWW-Authenticate: " + (c % REALM) for c in chals]
                    sock.sendto(reply(msg, "401 Unauthorized", extra).encode(), addr)
                else:
                    ok, why = check(msg, nonces)
                    result["verdict"] = why
                    sock.sendto(reply(msg, "200 OK" if ok else "403 Forbidden", []).encode(), addr)
                    return
        except socket.timeout:
            pass

    t = threading.Thread(target=serve)
    t.start()
    with tempfile.TemporaryDirectory() as d:
        csv = os.path.join(d, "u.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n%s;%s;[authentication username=%s password=%s];\n" % (USER, PW, USER, PW))
        try:
            p = subprocess.run(["sipp", "-sf", SCEN, "-inf", csv, "-key", "domain", REALM,
                                "-auth_uri", REALM, "-i", "127.0.0.1", "-p", str(port + 1),
                                "127.0.0.1:%d" % port, "-m", "1", "-r", "1", "-nostdin",
                                "-timeout", "8s", "-trace_err"],
                               cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=15)
            rc = p.returncode
            err = ""
            for fn in os.listdir(d):
                if fn.endswith("_errors.log"):
                    with open(os.path.join(d, fn)) as f:
                        err = " ".join(l.split(": ", 1)[-1].strip() for l in f if "createAuth" in l)
        except subprocess.TimeoutExpired:
            rc, err = "timeout", ""
    t.join()
    sock.close()
    print("%-32s sipp rc=%-3s %s%s" % (name, rc, result["verdict"], ("  [" + err + "]") if err else ""))


def main():
    v = subprocess.run(["sipp", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("sipp:", " ".join(v.stdout.split()[:2]))
    port = 5096
    for name, chals in CASES:
        run_case(name, chals, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
