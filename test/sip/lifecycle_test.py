#!/usr/bin/env python3
"""Lifecycle of switchboard, black box, loopback only.

keepalive: OPTIONS keep-alives (reg_keepalive_interval 2) keep a phone
that answers them reachable, mark one that stops answering unreachable
(API, log), calls skip it (480, nothing sent to it), and a phone that
answers again is reachable again.
graceful shutdown: SIGTERM during an answered call sends BYE to both
sides, exits 0 within a few seconds, the CDR says reason 'shutdown'.
kill -9 during an answered call: the CDR row and the registrations are in
the store after a restart.
store lock: a second switchboard on the same store refuses to start, the
first keeps working.
bad config: an unknown key or a bad value stops start-up at once, naming
the file, the line, the key and the reason.

One line per case, `ok NAME` or `FAIL NAME: why`; exit 1 if one failed,
77 without sipp. Every wait is bounded; every process started here is
stopped here, by its PID.

  lifecycle_test.py [-k SUBSTRING] [--keep]
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get('top_srcdir', ''), 'test',
                                'sip', 'scenarios')
                if os.environ.get('top_srcdir')
                else os.path.join(HERE, 'scenarios'))

import sbtest  # noqa: E402
from sbtest import (DOMAIN, HOST, Fail, challenges,  # noqa: E402
                    contacts, digest_credentials, free_port, hdr, hdrs,
                    parse_msg, uri_equal)

KEEPALIVE = 2
# seconds a phone that stops answering may stay reachable: a few periods
UNREACHABLE_WAIT = 12.0


def pw(number):
    return 'pw-%s-secret' % number


def new_callid():
    return 'lc-%016x@%s' % (random.getrandbits(64), HOST)


def find_binary():
    b = os.environ.get('top_builddir')
    if b:
        path = os.path.abspath(os.path.join(b, 'switchboard'))
        return path if os.access(path, os.X_OK) else None
    for c in (os.path.join(os.getcwd(), 'switchboard'),
              os.path.join(HERE, '..', '..', 'switchboard')):
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def find_scendir():
    s = os.environ.get('top_srcdir')
    if s and os.path.exists(os.path.join(s, 'test/sip/scenarios/reg.xml')):
        return os.path.abspath(os.path.join(s, 'test/sip/scenarios'))
    return os.path.join(HERE, 'scenarios')


# ---------------------------------------------------------------- a phone

class Phone:
    """A SIP endpoint on its own UDP socket. A thread reads everything
    that arrives and keeps it; when answering, it replies 200 to OPTIONS
    (and BYE). register() does the digest round over the same socket, so
    the contact's flow is this socket."""

    def __init__(self, server_port, port=0, answer=True):
        self.server = (HOST, server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, port))
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.got = []              # (monotonic time, source, parsed msg)
        self.sent = []             # (monotonic time, first line)
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()

    def _send(self, text, addr):
        self.sock.sendto(text.encode(), addr)
        with self.lock:
            self.sent.append((time.monotonic(), text.split('\r\n')[0]))

    def _loop(self):
        self.sock.settimeout(0.1)
        while not self.stopping:
            try:
                raw, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = parse_msg(raw.decode(errors='replace'))
            with self.lock:
                self.got.append((time.monotonic(), src, msg))
            if msg['method'] in ('OPTIONS', 'BYE') and self.answer:
                self._reply(msg, src, 200, 'OK')

    def _reply(self, req, src, code, reason):
        lines = ['SIP/2.0 %d %s' % (code, reason)]
        lines += ['Via: %s' % v for v in hdrs(req, 'via')]
        to = hdr(req, 'to') or ''
        if ';tag=' not in to:
            to += ';tag=ph%d' % self.port
        lines += ['From: %s' % hdr(req, 'from'), 'To: %s' % to,
                  'Call-ID: %s' % hdr(req, 'call-id'),
                  'CSeq: %s' % hdr(req, 'cseq'), 'Content-Length: 0']
        self._send('\r\n'.join(lines) + '\r\n\r\n', src)

    def requests(self, method, since=0.0):
        with self.lock:
            return [(t, m) for t, _, m in self.got
                    if m['method'] == method and t >= since]

    def contact(self, ext):
        return 'sip:%s@%s:%d;transport=udp' % (ext, HOST, self.port)

    def _transact(self, text, branch, timeout=4.0):
        start = time.monotonic()
        end = start + timeout
        next_tx = 0.0
        seen = 0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_tx:
                self._send(text, self.server)
                next_tx = now + 0.5
            with self.lock:
                new = self.got[seen:]
                seen = len(self.got)
            for _, _, m in new:
                if m['code'] and m['code'] >= 200 and \
                        branch in (hdr(m, 'via') or ''):
                    return m
            time.sleep(0.02)
        raise Fail('no final response within %.0fs to: %s' %
                   (timeout, text.split('\r\n')[0]))

    def register(self, ext, password, expires=120, with_contact=True):
        """REGISTER, 401, REGISTER with MD5 digest: the final response."""
        callid = new_callid()
        auth = None
        for cseq in (1, 2):
            branch = 'z9hG4bK-lc%016x' % random.getrandbits(64)
            lines = [
                'REGISTER sip:%s SIP/2.0' % DOMAIN,
                'Via: SIP/2.0/UDP %s:%d;branch=%s;rport' % (HOST, self.port,
                                                           branch),
                'Max-Forwards: 70',
                'From: <sip:%s@%s>;tag=lc%d' % (ext, DOMAIN, self.port),
                'To: <sip:%s@%s>' % (ext, DOMAIN),
                'Call-ID: %s' % callid,
                'CSeq: %d REGISTER' % cseq]
            if with_contact:
                lines += ['Contact: <%s>' % self.contact(ext),
                          'Expires: %d' % expires]
            if auth:
                lines.append('Authorization: ' + auth)
            lines += ['User-Agent: lifecycle_test.py', 'Content-Length: 0']
            r = self._transact('\r\n'.join(lines) + '\r\n\r\n', branch)
            if r['code'] != 401 or auth:
                return r
            md5 = [p for a, p in challenges(r) if a.upper() == 'MD5']
            if not md5:
                raise Fail('401 without an MD5 challenge: %s' %
                           hdrs(r, 'www-authenticate'))
            auth = digest_credentials('MD5', ext, password, 'REGISTER',
                                      'sip:' + DOMAIN, md5[0]['nonce'])
        return r

    def options(self, timeout=4.0):
        branch = 'z9hG4bK-lco%016x' % random.getrandbits(64)
        text = '\r\n'.join([
            'OPTIONS sip:%s SIP/2.0' % DOMAIN,
            'Via: SIP/2.0/UDP %s:%d;branch=%s;rport' % (HOST, self.port,
                                                       branch),
            'Max-Forwards: 70',
            'From: <sip:probe@%s>;tag=lco%d' % (DOMAIN, self.port),
            'To: <sip:%s>' % DOMAIN,
            'Call-ID: %s' % new_callid(),
            'CSeq: 1 OPTIONS',
            'Content-Length: 0']) + '\r\n\r\n'
        return self._transact(text, branch, timeout)


def register_ok(phone, ext):
    r = phone.register(ext, pw(ext))
    if r['code'] != 200:
        raise Fail('REGISTER %s from port %d: "%s", expected 200' %
                   (ext, phone.port, r['first']))
    return r


# ---------------------------------------------------------------- helpers

def registration(server, ext, port):
    """The API's entry for ext's contact on port, or None."""
    status, body = server.api('GET', '/api/registrations')
    if status != 200 or not isinstance(body, dict):
        raise Fail('GET /api/registrations: %s %s' % (status, body))
    for r in body.get('registrations', []):
        if r.get('aor') == ext and (':%d' % port) in (r.get('uri') or ''):
            return r
    return None


def log_lines(server, *words):
    return [l for l in server.log_text().splitlines()
            if all(w in l for w in words)]


def wait_answered(server, timeout=10.0):
    """Wait for one call in GET /api/calls with an answer time."""
    end = time.monotonic() + timeout
    calls = None
    while time.monotonic() < end:
        status, body = server.api('GET', '/api/calls')
        if status == 200 and isinstance(body, dict):
            calls = body.get('calls')
            if any(c.get('answer_ms') for c in calls or []):
                return calls
        time.sleep(0.1)
    raise Fail('no answered call in GET /api/calls within %.0fs: %s' %
               (timeout, calls))


def answered_call(ctx, server, callee, caller_ext):
    """Register callee with sipp, run uas_answer on its port and a
    uac_call_wait_bye caller: both wait for a BYE. Returns (caller run,
    callee run, its Call-ID in GET /api/calls) once it is answered."""
    sipp = sbtest.Sipp(ctx.scendir, server.workdir, server)
    port = free_port()
    c = 'sip:%s@%s:%d;transport=udp' % (callee, HOST, port)
    run = sipp.run('reg', port, keys={'user': callee, 'contact': '<%s>' % c,
                                      'expires': 120},
                   au=callee, ap=pw(callee), extra=['-auth_uri', DOMAIN])
    if not run.ok() or not run.last_response() or \
            run.last_response()['code'] != 200:
        raise Fail('REGISTER of callee %s: %s' % (callee, run.summary()))
    uas = sipp.start('uas_answer', port, keys={'user': callee}, uas=True,
                     timeout=10)
    uac = sipp.start('uac_call_wait_bye', free_port(),
                     keys={'user': caller_ext, 'callee': callee},
                     au=caller_ext, ap=pw(caller_ext), timeout=10,
                     extra=['-auth_uri', '%s@%s' % (callee, DOMAIN)])
    ctx.sipps += [uas, uac]
    try:
        calls = wait_answered(server)
    except Fail:
        for r in (uac, uas):
            if r.proc.poll() is None:
                r.proc.kill()
            r.wait()
        raise Fail('call %s -> %s not answered: %s; %s' % (
            caller_ext, callee, uac.summary(), uas.summary()))
    # the callee's ACK on its way
    time.sleep(0.7)
    return uac, uas, [c.get('id') for c in calls if c.get('answer_ms')][0]


def stop_sipp(run):
    if run.proc.poll() is None:
        run.proc.kill()
    run.wait()


def cdr_of(server, callid):
    how, rows = server.cdrs()
    row = [r for r in rows if r.get('call_id') == callid]
    return how, rows, (row[0] if row else None)


def invite_callid(run):
    inv = run.sent('INVITE')
    return hdr(inv[0], 'call-id') if inv else None


def new_server(ctx, name, extra=None):
    work = os.path.join(ctx.work, name)
    os.makedirs(work, exist_ok=True)
    conf = {'reg_keepalive_interval': 0, 'reg_min_expires': 30,
            'call_noanswer_timeout': 8}
    conf.update(extra or {})
    srv = sbtest.Server(ctx.binary, work, conf)
    ctx.servers.append(srv)
    srv.start()
    srv.add_extensions({n: pw(n) for n in ('1001', '1002', '1003')})
    return srv


# ---------------------------------------------------------------- cases

def case_keepalive(ctx, report):
    """Several results: keepalive_reachable, keepalive_unreachable,
    keepalive_call_skips_unreachable, keepalive_reachable_again."""
    srv = new_server(ctx, 'keepalive',
                     {'reg_keepalive_interval': KEEPALIVE})
    a = Phone(srv.sip_port, answer=True)
    b = Phone(srv.sip_port, answer=False)
    ctx.phones += [a, b]
    register_ok(a, '1001')
    register_ok(b, '1002')
    t_reg = time.monotonic()

    # A answers every OPTIONS; B never does. Watch both.
    a_checked = b_down = None
    a_why = None
    while time.monotonic() - t_reg < UNREACHABLE_WAIT:
        el = time.monotonic() - t_reg
        ra = registration(srv, '1001', a.port)
        rb = registration(srv, '1002', b.port)
        if a_checked is None and el >= 5.0:
            a_checked = el
            pings = a.requests('OPTIONS')
            if ra is None:
                a_why = 'contact of 1001 gone from GET /api/registrations'
            elif ra.get('reachable') is not True:
                a_why = ('%.1fs after REGISTER, answering every OPTIONS '
                         '(%d got): reachable=%r' %
                         (el, len(pings), ra.get('reachable')))
            elif len(pings) < 2:
                a_why = ('%.1fs after REGISTER with keep-alive every %ds: '
                         '%d OPTIONS reached the phone, expected 2 or more'
                         % (el, KEEPALIVE, len(pings)))
        if rb is not None and rb.get('reachable') is False and \
                b_down is None:
            b_down = el
        if a_checked is not None and b_down is not None:
            break
        time.sleep(0.25)
    report('keepalive_reachable', a_why)

    b_pings = b.requests('OPTIONS')
    notice = log_lines(srv, '1002', 'unreachable')
    if b_down is None:
        rb = registration(srv, '1002', b.port)
        report('keepalive_unreachable',
               '1002 stopped answering OPTIONS (its socket is silent): '
               'still reachable=%r in GET /api/registrations %.0fs after '
               'REGISTER; it got %d OPTIONS (%s); log lines with '
               '"unreachable": %s' % (
                   rb and rb.get('reachable'), time.monotonic() - t_reg,
                   len(b_pings), ', '.join(
                       '%.1fs %s' % (t - t_reg, hdr(m, 'call-id'))
                       for t, m in b_pings), notice or 'none'))
        for name in ('keepalive_call_skips_unreachable',
                     'keepalive_reachable_again'):
            report(name, 'not tried: 1002 never became unreachable')
        return
    if not notice:
        report('keepalive_unreachable',
               'API says unreachable after %.1fs but the log has no '
               'notice naming 1002 and "unreachable"' % b_down)
    elif not b_pings:
        report('keepalive_unreachable', 'unreachable after %.1fs though '
               'no OPTIONS reached it' % b_down)
    else:
        report('keepalive_unreachable', None)

    # a call to 1002 skips its only, unreachable, contact: 480
    sipp = sbtest.Sipp(ctx.scendir, srv.workdir, srv)
    t_call = time.monotonic()
    run = sipp.run('uac_call_480', free_port(),
                   keys={'user': '1003', 'callee': '1002'}, au='1003',
                   ap=pw('1003'), timeout=12,
                   extra=['-auth_uri', '1002@' + DOMAIN])
    why = None
    final = [m for m in run.received() if m['code'] and m['code'] >= 200
             and m['code'] != 407]
    invs = b.requests('INVITE', since=t_call)
    if invs:
        why = '%d INVITE reached the unreachable contact of 1002 (%s)' % (
            len(invs), invs[0][1]['first'])
    elif not final or final[-1]['code'] != 480:
        why = 'caller got %s, expected 480: %s' % (
            final[-1]['first'] if final else 'no final response',
            run.summary())
    elif not run.ok():
        why = run.summary()
    report('keepalive_call_skips_unreachable', why)

    # B comes back on the same port and answers
    b.close()
    b2 = Phone(srv.sip_port, port=b.port, answer=True)
    ctx.phones.append(b2)
    t_back = time.monotonic()
    back = None
    while time.monotonic() - t_back < 10.0:
        rb = registration(srv, '1002', b2.port)
        if rb is not None and rb.get('reachable') is True:
            back = time.monotonic() - t_back
            break
        time.sleep(0.25)
    if back is None:
        report('keepalive_reachable_again',
               'answering OPTIONS again on port %d: still %r after 10s; '
               'it got %d OPTIONS since' % (
                   b2.port, registration(srv, '1002', b2.port),
                   len(b2.requests('OPTIONS'))))
    elif not b2.requests('OPTIONS'):
        report('keepalive_reachable_again', 'reachable again after %.1fs '
               'without an OPTIONS answered' % back)
    elif not log_lines(srv, '1002', 'reachable again'):
        report('keepalive_reachable_again', 'reachable again in the API '
               'but no "reachable again" notice in the log')
    else:
        report('keepalive_reachable_again', None)


def case_graceful_shutdown(ctx):
    srv = new_server(ctx, 'shutdown')
    uac, uas, api_callid = answered_call(ctx, srv, '1002', '1001')
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(8)
    except subprocess.TimeoutExpired:
        rc = None
    t_exit_wall = time.time()
    took = time.monotonic() - t0
    if rc is None:
        srv.proc.kill()
        srv.proc.wait(5)
    for r in (uac, uas):
        r.wait()
    callid = invite_callid(uac) or api_callid
    problems = []
    if rc is None:
        problems.append('still running 8s after SIGTERM (killed)')
    elif rc != 0:
        problems.append('exit status %d after SIGTERM' % rc)
    elif took > 5:
        problems.append('exit took %.1fs after SIGTERM' % took)
    for side, run in (('caller', uac), ('callee', uas)):
        byes = [(t, m) for d, t, m in run.msgs
                if d == 'recv' and m['method'] == 'BYE']
        if not byes:
            problems.append('%s got no BYE: %s' % (side, run.summary()))
        elif byes[0][0] > t_exit_wall + 0.05:
            problems.append('%s got its BYE %.2fs after the server exited'
                            % (side, byes[0][0] - t_exit_wall))
        elif not run.ok():
            problems.append('%s: %s' % (side, run.summary()))
    if problems:
        raise Fail('; '.join(problems) + ' | log: ' + srv.log_tail(6))

    srv.start()
    how, rows, row = cdr_of(srv, callid)
    if row is None:
        raise Fail('after restart no CDR with call_id %s (%s, %d rows)' %
                   (callid, how, len(rows)))
    bad = []
    if str(row.get('disposition', '')).upper() != 'ANSWERED':
        bad.append('disposition %r' % row.get('disposition'))
    if not row.get('answer_ms'):
        bad.append('no answer time')
    if not row.get('end_ms') or row['end_ms'] < (row.get('answer_ms') or 0):
        bad.append('end time %r' % row.get('end_ms'))
    if row.get('reason') != 'shutdown':
        bad.append('reason %r, expected \'shutdown\'' % row.get('reason'))
    if bad:
        raise Fail('CDR after SIGTERM: %s: %r' % (', '.join(bad), row))


def relay_pid(server):
    """The sbrelay the server started (its one child), or None."""
    pid = server.proc.pid
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return None
    return kids[0] if len(kids) == 1 else None


def relay_ready(server, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status, body = server.api('GET', '/api/status')
        if status == 200 and body.get('relay') == 'ready':
            return True
        time.sleep(0.05)
    return False


def case_relay_killed(ctx):
    """Kill sbrelay mid-call: both phones get BYE, the CDR says why, the
    relay comes back and the next call is answered."""
    srv = new_server(ctx, 'relaykill')
    if not relay_ready(srv):
        raise Fail('relay not ready: ' + srv.log_tail(6))
    uac, uas, callid = answered_call(ctx, srv, '1002', '1001')
    pid = relay_pid(srv)
    if not pid:
        raise Fail('no sbrelay child of switchboard')
    os.kill(pid, signal.SIGKILL)
    for r in (uac, uas):
        r.wait()
    problems = []
    for side, run in (('caller', uac), ('callee', uas)):
        if not [m for d, t, m in run.msgs
                if d == 'recv' and m['method'] == 'BYE']:
            problems.append('%s got no BYE: %s' % (side, run.summary()))
    how, rows, row = cdr_of(srv, invite_callid(uac) or callid)
    if row is None or row.get('reason') != 'relay failed':
        problems.append('CDR %r, expected reason relay failed' % row)
    if not relay_ready(srv):
        problems.append('relay not back: ' + srv.log_tail(6))
    if problems:
        raise Fail('; '.join(problems))
    uac2, uas2, _ = answered_call(ctx, srv, '1003', '1001')
    for r in (uac2, uas2):
        stop_sipp(r)


def case_kill9_keeps_state(ctx):
    srv = new_server(ctx, 'kill9')
    uac, uas, callid = answered_call(ctx, srv, '1002', '1001')
    srv.proc.kill()                  # SIGKILL, this server's PID only
    srv.proc.wait(5)
    srv.proc = None
    for r in (uac, uas):
        stop_sipp(r)
    srv.start()
    how, rows, row = cdr_of(srv, callid)
    if row is None:
        raise Fail('after kill -9 and restart no CDR with call_id %s (%s, '
                   '%d rows: %s)' % (callid, how, len(rows), rows[-3:]))
    if str(row.get('disposition', '')).upper() != 'ANSWERED' or \
            not row.get('answer_ms'):
        raise Fail('CDR of the call answered before kill -9: disposition '
                   '%r answer_ms %r: %r' % (row.get('disposition'),
                                            row.get('answer_ms'), row))
    # the callee's binding, asked with a REGISTER without Contact
    callee_port = int(re.search(r'-(\d+)$', uas.name).group(1))
    want = 'sip:1002@%s:%d;transport=udp' % (HOST, callee_port)
    q = Phone(srv.sip_port, answer=False)
    ctx.phones.append(q)
    try:
        r = q.register('1002', pw('1002'), with_contact=False)
    finally:
        q.close()
    if r['code'] != 200:
        raise Fail('REGISTER without Contact after kill -9: "%s"' %
                   r['first'])
    got = contacts(r)
    if not any(uri_equal(u, want) for u in got):
        raise Fail('after kill -9 the 200 to REGISTER lists %s, not %s' %
                   (got or 'no contacts', want))


def case_store_lock(ctx):
    srv = new_server(ctx, 'lock')
    second = sbtest.Server(ctx.binary, os.path.join(ctx.work, 'lock2'),
                           dict(srv.extra))
    os.makedirs(second.workdir, exist_ok=True)
    second.store = srv.store          # the same store_path
    second.write_conf()
    errpath = os.path.join(second.workdir, 'stderr')
    t0 = time.monotonic()
    with open(second.logpath, 'w') as out, open(errpath, 'w') as err:
        proc = subprocess.Popen([ctx.binary, '-f', second.conf],
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, cwd=second.workdir)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        rc = None
    took = time.monotonic() - t0
    with open(errpath, errors='replace') as f:
        text = f.read()
    with open(second.logpath, errors='replace') as f:
        text += f.read()
    said = ' | '.join(l for l in text.splitlines() if l.strip())[-400:]
    if rc is None:
        raise Fail('second switchboard on %s still running after 10s '
                   '(killed): %s' % (srv.store, said))
    if rc == 0:
        raise Fail('second switchboard on the same store exited 0: %s' %
                   said)
    if not re.search(r'busy|lock', text, re.I):
        raise Fail('second switchboard exited %d after %.1fs without '
                   'saying the store is busy/locked: %s' % (rc, took, said))
    # the first keeps working: OPTIONS, a REGISTER (a store write), API
    if not srv.alive():
        raise Fail('the first switchboard died: ' + srv.log_tail(8))
    p = Phone(srv.sip_port, answer=True)
    ctx.phones.append(p)
    r = p.options()
    if r['code'] != 200:
        raise Fail('OPTIONS to the first: "%s"' % r['first'])
    register_ok(p, '1003')
    if registration(srv, '1003', p.port) is None:
        raise Fail('first switchboard: REGISTER 200 but no binding in the '
                   'API')


def bad_config(ctx, name, lines):
    work = os.path.join(ctx.work, name)
    os.makedirs(work, exist_ok=True)
    conf = os.path.join(work, 'bad.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    t0 = time.monotonic()
    proc = subprocess.Popen([ctx.binary, '-f', conf],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=work)
    try:
        out, _ = proc.communicate(timeout=5)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
        rc = None
    return conf, rc, time.monotonic() - t0, out.decode(errors='replace')


def config_lines(ctx):
    return ['sip_listen_udp %s:%d' % (HOST, free_port()),
            'sip_listen_tcp %s:%d' % (HOST, free_port()),
            'sip_listen_tls none',
            'store_path %s' % os.path.join(ctx.work, 'badconf.db'),
            'api_listen %s:%d' % (HOST, free_port())]


def check_refused(rc, took, out):
    if rc is None:
        raise Fail('still running 5s after start (killed): %s' %
                   out.strip()[-300:])
    if rc == 0:
        raise Fail('exit status 0: %s' % out.strip()[-300:])
    if took > 2:
        raise Fail('exited %d only after %.1fs' % (rc, took))


def case_config_unknown_key(ctx):
    lines = config_lines(ctx)
    lines.insert(2, 'frobnicate_level 7')        # line 3
    conf, rc, took, out = bad_config(ctx, 'conf_unknown', lines)
    check_refused(rc, took, out)
    said = out.strip().replace('\n', ' | ')
    if conf not in out:
        raise Fail('output does not name the file %s: %s' % (conf, said))
    if not re.search(r'(:3\b|line 3\b)', out):
        raise Fail('output does not name line 3: %s' % said)
    if 'frobnicate_level' not in out:
        raise Fail('output does not name the key: %s' % said)
    if os.path.exists(os.path.join(ctx.work, 'badconf.db')):
        raise Fail('a store was created for a bad configuration')


def case_config_bad_value(ctx):
    lines = config_lines(ctx)
    lines.insert(1, 'reg_min_expires abc')       # line 2
    conf, rc, took, out = bad_config(ctx, 'conf_value', lines)
    check_refused(rc, took, out)
    said = out.strip().replace('\n', ' | ')
    line = [l for l in out.splitlines() if 'reg_min_expires' in l]
    if not line:
        raise Fail('output does not name reg_min_expires: %s' % said)
    rest = line[0].split('reg_min_expires', 1)[1]
    if not re.search(r'number|integer|numeric|digit|expected|range|'
                     r'invalid|not a', rest, re.I):
        raise Fail('no reason given after the option name: %s' % said)
    if conf not in out or not re.search(r'(:2\b|line 2\b)', out):
        raise Fail('output does not name the file and line 2: %s' % said)


# ---------------------------------------------------------------- main

class Ctx:
    def __init__(self, binary, scendir, work):
        self.binary = binary
        self.scendir = scendir
        self.work = work
        self.servers = []
        self.phones = []
        self.sipps = []

    def cleanup(self):
        for r in self.sipps:
            if r.proc.poll() is None:
                r.proc.kill()
                try:
                    r.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        for p in self.phones:
            if not p.stopping:
                p.close()
        self.phones = []
        rcs = []
        for s in self.servers:
            rcs.append((s, s.stop()))
        self.servers = []
        return rcs


CASES = [
    ('keepalive', case_keepalive, True),
    ('graceful_shutdown', case_graceful_shutdown, False),
    ('kill9_keeps_cdr_and_registrations', case_kill9_keeps_state, False),
    ('relay_killed_mid_call', case_relay_killed, False),
    ('store_lock_second_instance_refused', case_store_lock, False),
    ('config_unknown_key', case_config_unknown_key, False),
    ('config_bad_value', case_config_bad_value, False),
]


def main(argv):
    only = argv[argv.index('-k') + 1] if '-k' in argv else None
    keep = '--keep' in argv
    if not shutil.which('sipp'):
        print('SKIP: sipp is not installed (apt-get install sip-tester)')
        return 77
    binary = find_binary()
    if not binary:
        print('FAIL setup: no switchboard binary (set top_builddir)')
        return 1
    work = tempfile.mkdtemp(prefix='sb-lifecycle-')
    print('# switchboard %s, work dir %s' % (binary, work))
    results = {'ok': 0, 'fail': 0}
    t_start = time.monotonic()

    def report(name, why):
        if why is None:
            print('ok %s' % name)
            results['ok'] += 1
        else:
            print('FAIL %s: %s' % (name, str(why).replace('\n', ' ')))
            results['fail'] += 1
        sys.stdout.flush()

    for name, fn, multi in CASES:
        if only and only not in name:
            continue
        ctx = Ctx(binary, find_scendir(), os.path.join(work, name))
        os.makedirs(ctx.work, exist_ok=True)
        t0 = time.monotonic()
        try:
            if multi:
                fn(ctx, report)
            else:
                fn(ctx)
                report(name, None)
        except Fail as e:
            report(name, e)
        except Exception:  # a bug in the test itself
            report(name, 'test error: ' +
                   traceback.format_exc().replace('\n', ' | '))
        finally:
            for srv, rc in ctx.cleanup():
                log = srv.log_text()
                if any(s in log for s in ('AddressSanitizer',
                                          'LeakSanitizer',
                                          'runtime error:')):
                    report(name + '_sanitizer', 'report in %s' %
                           srv.logpath)
                elif rc not in (0, None):
                    report(name + '_exit', 'switchboard exited with %s on '
                           'SIGTERM: %s' % (rc, srv.log_tail(5)))
        print('# %s: %.1fs' % (name, time.monotonic() - t0))
    print('# %.1fs' % (time.monotonic() - t_start))
    print('%d passed, %d failed' % (results['ok'], results['fail']))
    if results['fail'] or keep:
        print('# logs kept in %s' % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if results['fail'] else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
