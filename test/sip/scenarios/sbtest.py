"""Helpers for the sipp scenario tests of switchboard.

Starts and stops a switchboard on free loopback ports, creates
extensions (HTTP API, or the SQLite store when the API does not answer),
runs sipp with bounded timeouts and reads its -trace_msg logs, and has a
small SIP-over-UDP client for what sipp 3.6.1 cannot do (SHA-256 digest,
made-up or replayed nonces, requests whose reply is not known ahead).

Python standard library only.  Every wait is bounded; every process
started here is stopped here, by its PID.
"""

import hashlib
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

TOKEN = 'scenariotoken12345'
DOMAIN = 'pbx.local'
HOST = '127.0.0.1'


class Fail(Exception):
    """A check did not hold; the message says why."""


# ---------------------------------------------------------------- ports

_handed_out = set()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (bind to port 0)."""
    for _ in range(500):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((HOST, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if port in _handed_out:
                continue
            t.bind((HOST, port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        _handed_out.add(port)
        return port
    raise Fail('no free port found')


def _proc_net_ports(kind):
    """Local ports in use in /proc/net/<kind> (TCP: listening only)."""
    ports = set()
    for name in (kind, kind + '6'):
        try:
            with open('/proc/net/' + name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    port = int(fields[1].rsplit(':', 1)[1], 16)
                    if kind == 'tcp' and fields[3] != '0A':
                        continue
                    ports.add(port)
        except OSError:
            pass
    return ports


def wait_bound(port, transport, proc=None, timeout=5.0):
    """Wait until something listens on port (checked in /proc/net)."""
    kind = 'tcp' if transport == 'tcp' else 'udp'
    end = time.monotonic() + timeout
    while True:
        if port in _proc_net_ports(kind):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


# ---------------------------------------------------------------- server

class Server:
    """One switchboard process with its configuration and store."""

    def __init__(self, binary, workdir, extra=None):
        self.binary = binary
        self.workdir = workdir
        self.sip_port = free_port()
        self.api_port = free_port()
        self.conf = os.path.join(workdir, 'switchboard.conf')
        self.store = os.path.join(workdir, 't.db')
        self.logpath = os.path.join(workdir, 'switchboard.log')
        self.extra = extra or {}
        self.proc = None
        self.starts = 0
        self.exit_codes = []

    def write_conf(self):
        lines = {
            'sip_listen_udp': '%s:%d' % (HOST, self.sip_port),
            'sip_listen_tcp': '%s:%d' % (HOST, self.sip_port),
            'sip_listen_tls': 'none',
            'sip_domain': DOMAIN,
            'store_path': self.store,
            'api_listen': '%s:%d' % (HOST, self.api_port),
            'api_token': TOKEN,
            'log_level': 'info',
        }
        lines.update(self.extra)
        with open(self.conf, 'w') as f:
            for k, v in lines.items():
                f.write('%s %s\n' % (k, v))

    def log_text(self):
        try:
            with open(self.logpath, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=20.0):
        self.write_conf()
        with open(self.logpath, 'a') as log:
            log.write('==== start %d\n' % (self.starts + 1))
            log.flush()
            self.proc = subprocess.Popen(
                [self.binary, '-f', self.conf], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.starts += 1
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise Fail('switchboard exited at start (%d): %s' %
                           (self.proc.returncode, self.log_tail(10)))
            if (wait_bound(self.sip_port, 'udp', timeout=0) and
                    wait_bound(self.sip_port, 'tcp', timeout=0) and
                    ' ready' in self.log_text().split('==== start')[-1]):
                return
            time.sleep(0.05)
        raise Fail('switchboard not ready after %.0fs: %s' %
                   (timeout, self.log_tail(10)))

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL if it does not go; returns its status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.exit_codes.append('killed: no exit %.0fs after '
                                       'SIGTERM' % timeout)
                self.proc = None
                return 'killed'
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        self.proc = None
        return rc

    def restart(self):
        self.stop()
        self.start()

    def log_tail(self, n=20):
        return ' | '.join(self.log_text().splitlines()[-n:])

    # ------------------------------------------------------------ API

    def api(self, method, path, body=None, timeout=5.0):
        """(HTTP status, decoded JSON or text); status 0 if unreachable."""
        url = 'http://%s:%d%s' % (HOST, self.api_port, path)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header('Authorization', 'Bearer ' + TOKEN)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError, ValueError):
            return 0, None
        try:
            return status, json.loads(raw.decode() or 'null')
        except ValueError:
            return status, raw.decode(errors='replace')

    def add_extensions(self, exts):
        """Create extensions {number: password}; returns 'api' or
        'sqlite', whichever was used."""
        items = sorted(exts.items())
        first = items[0]
        status, body = self.api('POST', '/api/extensions',
                                {'number': first[0],
                                 'name': 'Ext ' + first[0],
                                 'password': first[1]})
        ok = (200, 201, 409)
        # no API (yet): unreachable, or no such route
        absent = (0, 404, 405, 501)
        if status not in ok + absent:
            # the API is there but refused: worth knowing, not working round
            raise Fail('POST /api/extensions %s: %s %s' %
                       (first[0], status, body))
        if status in ok:
            for number, pw in items[1:]:
                status, body = self.api(
                    'POST', '/api/extensions',
                    {'number': number, 'name': 'Ext ' + number,
                     'password': pw})
                if status not in ok:
                    raise Fail('POST /api/extensions %s: %s %s' %
                               (number, status, body))
            return 'api'
        # fallback: write the rows while the server is stopped
        self.stop()
        db = sqlite3.connect(self.store, timeout=10)
        try:
            for number, pw in items:
                a1 = '%s:%s:%s' % (number, DOMAIN, pw)
                db.execute(
                    'INSERT OR REPLACE INTO extensions (number, name, '
                    'ha1_md5, ha1_sha256, vm_pin, auth_order) '
                    'VALUES (?, ?, ?, ?, ?, 0)',
                    (number, 'Ext ' + number,
                     hashlib.md5(a1.encode()).hexdigest(),
                     hashlib.sha256(a1.encode()).hexdigest(), ''))
            db.commit()
        finally:
            db.close()
        self.start()
        return 'sqlite'

    def cdrs(self):
        """CDR rows as dicts: from the API, else from the store."""
        status, body = self.api('GET', '/api/cdrs')
        if status == 200 and body is not None:
            if isinstance(body, dict):
                for key in ('cdrs', 'items', 'records'):
                    if isinstance(body.get(key), list):
                        return 'api', body[key]
            if isinstance(body, list):
                return 'api', body
        db = sqlite3.connect('file:%s?mode=ro' % self.store, uri=True,
                             timeout=10)
        try:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute('SELECT * FROM cdrs')]
        finally:
            db.close()
        return 'sqlite', rows


# ---------------------------------------------------------------- SIP text

def parse_msg(text):
    """A SIP message as a dict: first, code, reason, method, headers
    (list of (lower-case name, value) in order), body."""
    head, _, body = text.replace('\r\n', '\n').partition('\n\n')
    lines = head.split('\n')
    while lines and not lines[0].strip():
        lines.pop(0)
    first = lines[0].strip() if lines else ''
    msg = {'first': first, 'code': None, 'reason': '', 'method': None,
           'headers': [], 'body': body, 'text': text}
    m = re.match(r'SIP/2\.0\s+(\d{3})\s*(.*)', first)
    if m:
        msg['code'] = int(m.group(1))
        msg['reason'] = m.group(2)
    else:
        msg['method'] = first.split(' ', 1)[0]
    compact = {'v': 'via', 'f': 'from', 't': 'to', 'i': 'call-id',
               'm': 'contact', 'l': 'content-length', 'c': 'content-type'}
    for line in lines[1:]:
        if line[:1] in (' ', '\t') and msg['headers']:
            name, val = msg['headers'][-1]
            msg['headers'][-1] = (name, val + ' ' + line.strip())
            continue
        name, sep, val = line.partition(':')
        if not sep:
            continue
        name = name.strip().lower()
        msg['headers'].append((compact.get(name, name), val.strip()))
    return msg


def hdrs(msg, name):
    return [v for n, v in msg['headers'] if n == name.lower()]


def hdr(msg, name):
    vals = hdrs(msg, name)
    return vals[0] if vals else None


def split_commas(value):
    """Split a header value at commas outside <> and quotes."""
    out, cur, depth, quote = [], '', 0, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif not quote and ch == '<':
            depth += 1
        elif not quote and ch == '>':
            depth -= 1
        if ch == ',' and not quote and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def contacts(msg):
    """{uri: expires or None} of the Contact headers of a message."""
    out = {}
    for val in hdrs(msg, 'contact'):
        for c in split_commas(val):
            m = re.match(r'\s*(?:"[^"]*"\s*)?<([^>]*)>(.*)', c)
            if m:
                uri, params = m.group(1), m.group(2)
            else:
                uri, _, params = c.partition(';')
                params = ';' + params
            e = re.search(r';\s*expires\s*=\s*(\d+)', params, re.I)
            out[uri.strip()] = int(e.group(1)) if e else None
    return out


def auth_params(value):
    """The parameters of a Digest challenge or credentials, lower-case
    names; quotes removed."""
    value = re.sub(r'^\s*Digest\s+', '', value, flags=re.I)
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("([^"]*)"|[^,\s]+)',
                         value):
        params[m.group(1).lower()] = (m.group(3) if m.group(3) is not None
                                      else m.group(2))
    return params


def uri_equal(a, b):
    """Loose SIP URI comparison: scheme, user, host, port, transport."""
    def norm(u):
        u = u.strip().strip('<>')
        base, _, params = u.partition(';')
        p = dict(x.split('=', 1) if '=' in x else (x, '')
                 for x in params.split(';') if x)
        return (base.lower(), p.get('transport', 'udp').lower())
    return norm(a) == norm(b)


# ---------------------------------------------------------------- digest

def _h(alg, s):
    if alg.upper().startswith('SHA-256'):
        return hashlib.sha256(s.encode()).hexdigest()
    return hashlib.md5(s.encode()).hexdigest()


def digest_credentials(alg, user, password, method, uri, nonce, nc='00000001',
                       cnonce=None, realm=DOMAIN, qop='auth', opaque=None):
    """An Authorization / Proxy-Authorization value (RFC 7616 / 8760)."""
    cnonce = cnonce or '%016x' % random.getrandbits(64)
    ha1 = _h(alg, '%s:%s:%s' % (user, realm, password))
    ha2 = _h(alg, '%s:%s' % (method, uri))
    resp = _h(alg, '%s:%s:%s:%s:%s:%s' % (ha1, nonce, nc, cnonce, qop, ha2))
    val = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
           'response="%s", algorithm=%s, qop=%s, nc=%s, cnonce="%s"' %
           (user, realm, nonce, uri, resp, alg, qop, nc, cnonce))
    if opaque:
        val += ', opaque="%s"' % opaque
    return val


# ---------------------------------------------------------------- a client

class UdpClient:
    """A bare SIP user agent over UDP for REGISTER tests and one-off
    requests."""

    def __init__(self, server_port):
        self.server = (HOST, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.log = []

    def close(self):
        self.sock.close()

    def register(self, user, call_id, cseq, contact=None, expires=None,
                 authorization=None, to_user=None, extra=''):
        branch = 'z9hG4bK-py%016x' % random.getrandbits(64)
        lines = [
            'REGISTER sip:%s SIP/2.0' % DOMAIN,
            'Via: SIP/2.0/UDP %s:%d;branch=%s;rport' % (HOST, self.port,
                                                       branch),
            'Max-Forwards: 70',
            'From: <sip:%s@%s>;tag=py%d' % (user, DOMAIN, abs(hash(call_id))
                                             % 100000000),
            'To: <sip:%s@%s>' % (to_user or user, DOMAIN),
            'Call-ID: %s' % call_id,
            'CSeq: %d REGISTER' % cseq,
        ]
        if contact is not None:
            lines.append('Contact: %s' % contact)
        if expires is not None:
            lines.append('Expires: %d' % expires)
        if authorization:
            lines.append('Authorization: %s' % authorization)
        lines.append('User-Agent: sbtest.py')
        if extra:
            lines.append(extra)
        lines.append('Content-Length: 0')
        text = '\r\n'.join(lines) + '\r\n\r\n'
        return self.transact(text, branch)

    def request(self, method, ruri, call_id, cseq=1, from_tag=None,
                to_tag=None, max_forwards=70, body='',
                ctype='application/sdp', extra='', timeout=4.0):
        """Send any request and return its parsed final response.  With
        to_tag it claims to be in a dialog (made up or not).  An INVITE's
        final response is ACKed with the INVITE's branch (RFC 3261
        17.1.1.3; meant for the non-2xx these tests expect)."""
        branch = 'z9hG4bK-py%016x' % random.getrandbits(64)
        from_tag = from_tag or 'py%08x' % random.getrandbits(32)
        head = [
            'Via: SIP/2.0/UDP %s:%d;branch=%s;rport' % (HOST, self.port,
                                                       branch),
            'Max-Forwards: %d' % max_forwards,
            'From: <sip:probe@%s>;tag=%s' % (DOMAIN, from_tag),
            'To: <%s>%s' % (ruri, (';tag=' + to_tag) if to_tag else ''),
            'Call-ID: %s' % call_id,
        ]
        lines = ['%s %s SIP/2.0' % (method, ruri)] + head + [
            'CSeq: %d %s' % (cseq, method),
            'Contact: <sip:probe@%s:%d>' % (HOST, self.port),
        ]
        if body:
            lines.append('Content-Type: ' + ctype)
        if extra:
            lines.append(extra)
        lines += ['User-Agent: sbtest.py',
                  'Content-Length: %d' % len(body.encode())]
        text = '\r\n'.join(lines) + '\r\n\r\n' + body
        resp = self.transact(text, branch, timeout)
        if method == 'INVITE':
            to = hdr(resp, 'to') or head[3][4:]
            ack = ['ACK %s SIP/2.0' % ruri] + head[:3] + [
                'To: %s' % to, head[4], 'CSeq: %d ACK' % cseq,
                'Content-Length: 0']
            ack = '\r\n'.join(ack) + '\r\n\r\n'
            self.log.append(('sent', ack))
            self.sock.sendto(ack.encode(), self.server)
        return resp

    def transact(self, text, branch, timeout=4.0):
        """Send a non-INVITE request (UDP retransmits every 500 ms) and
        return the parsed final response."""
        data = text.encode()
        self.log.append(('sent', text))
        end = time.monotonic() + timeout
        next_tx = 0.0
        while True:
            now = time.monotonic()
            if now >= end:
                raise Fail('no final response within %.0fs to:\n%s' %
                           (timeout, text.split('\r\n')[0]))
            if now >= next_tx:
                self.sock.sendto(data, self.server)
                next_tx = now + 0.5
            self.sock.settimeout(max(0.01, min(next_tx, end) - now))
            try:
                raw, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            rtext = raw.decode(errors='replace')
            self.log.append(('recv', rtext))
            msg = parse_msg(rtext)
            if msg['code'] is None or msg['code'] < 200:
                continue
            via = hdr(msg, 'via') or ''
            if branch not in via:
                continue
            return msg


def challenges(msg, name='www-authenticate'):
    """[(algorithm, params)] of the Digest challenges, in order."""
    out = []
    for val in hdrs(msg, name):
        p = auth_params(val)
        out.append((p.get('algorithm', 'MD5'), p))
    return out


# ---------------------------------------------------------------- sipp

_TRACE_SPLIT = re.compile(r'^-{10,} \d{4}-\d\d-\d\d [\d:.]+\s*$', re.M)
_TRACE_HEAD = re.compile(
    r'^\s*(UDP|TCP|TLS|SCTP) message (sent|received)[^\n]*\n', re.S)


def parse_trace(path):
    """[(direction 'sent'|'recv', timestamp seconds, parsed message)] from
    a sipp -trace_msg file."""
    try:
        with open(path, errors='replace') as f:
            text = f.read()
    except OSError:
        return []
    out = []
    stamps = _TRACE_SPLIT.findall(text)
    parts = _TRACE_SPLIT.split(text)[1:]
    for stamp, part in zip(stamps, parts):
        m = _TRACE_HEAD.match(part)
        if not m:
            continue
        body = part[m.end():].lstrip('\n')
        try:
            t = time.mktime(time.strptime(stamp.strip('- \n')[:19],
                                          '%Y-%m-%d %H:%M:%S'))
            t += float('0.' + stamp.strip().rsplit('.', 1)[1])
        except (ValueError, IndexError):
            t = 0.0
        out.append(('sent' if m.group(2) == 'sent' else 'recv', t,
                    parse_msg(body)))
    return out


class SippRun:
    """One sipp process: its exit status and what it sent and got."""

    def __init__(self, name, proc, msgfile, errfile, outfile, timeout):
        self.name = name
        self.proc = proc
        self.msgfile = msgfile
        self.errfile = errfile
        self.outfile = outfile
        self.timeout = timeout
        self.rc = None
        self.msgs = []

    def wait(self):
        try:
            self.rc = self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            self.rc = 'killed after %.0fs' % self.timeout
        self.msgs = parse_trace(self.msgfile)
        return self

    def received(self, code=None, method=None):
        return [m for d, _, m in self.msgs if d == 'recv' and
                (code is None or m['code'] == code) and
                (method is None or m['method'] == method)]

    def sent(self, method=None):
        return [m for d, _, m in self.msgs if d == 'sent' and
                (method is None or m['method'] == method)]

    def last_response(self):
        r = [m for d, _, m in self.msgs if d == 'recv' and m['code']]
        return r[-1] if r else None

    def summary(self):
        """What went on, for a failure message."""
        seq = []
        for d, _, m in self.msgs:
            seq.append(('>' if d == 'sent' else '<') +
                       (str(m['code']) if m['code'] else m['method'] or '?'))
        err = ''
        try:
            with open(self.errfile, errors='replace') as f:
                lines = [l.strip() for l in f if l.strip()]
            err = ' | '.join(lines[-4:])
        except OSError:
            pass
        return 'sipp %s rc=%s msgs=[%s]%s' % (
            self.name, self.rc, ' '.join(seq), (' errors: ' + err) if err
            else '')

    def ok(self):
        return self.rc == 0


class Sipp:
    """Runs sipp scenarios from the scenario folder against a server."""

    def __init__(self, scendir, workdir, server):
        self.scendir = scendir
        self.workdir = workdir
        self.server = server
        self.count = 0

    def start(self, scenario, port, keys=None, au=None, ap=None,
              transport='udp', timeout=15, uas=False, extra=()):
        self.count += 1
        tag = '%02d-%s-%d' % (self.count, scenario, port)
        msgfile = os.path.join(self.workdir, tag + '.msg')
        errfile = os.path.join(self.workdir, tag + '.err')
        outfile = os.path.join(self.workdir, tag + '.out')
        cmd = ['sipp', '-sf', os.path.join(self.scendir, scenario + '.xml'),
               '-i', HOST, '-p', str(port), '-m', '1', '-l', '1',
               '-t', 't1' if transport == 'tcp' else 'u1', '-nostdin',
               '-timeout', '%ds' % timeout, '-timeout_error',
               '-trace_msg', '-message_file', msgfile,
               '-trace_err', '-error_file', errfile]
        keys = dict(keys or {})
        keys.setdefault('domain', DOMAIN)
        for k, v in keys.items():
            cmd += ['-key', k, str(v)]
        if au:
            cmd += ['-au', au, '-ap', ap]
        cmd += list(extra)
        if not uas:
            cmd.append('%s:%d' % (HOST, self.server.sip_port))
        with open(outfile, 'w') as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.workdir)
        run = SippRun(tag, proc, msgfile, errfile, outfile, timeout + 10)
        if uas and not wait_bound(port, transport, proc):
            run.wait()
            raise Fail('sipp %s did not start listening on %d: %s' %
                       (scenario, port, run.summary()))
        return run

    def run(self, *args, **kw):
        return self.start(*args, **kw).wait()
