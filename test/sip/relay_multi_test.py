#!/usr/bin/env python3
"""switchboard with several relays started by hand (relay_spawn 0, one
relay_connect line each): two sbrelay on TCP 127.0.0.1, plus one on
[::1] where nothing listens. New calls are spread over the ready relays;
a relay killed mid-call ends only its own calls (BYE to both sides, CDR
reason), the next call goes to the relay left, and the killed relay,
started again on its port, takes calls again. A bad relay_connect line
stops start-up with file, line and reason.

One line per check, `ok NAME` or `FAIL NAME: why`. Skips (77) without
sbrelay or sipp. Every wait is bounded; only processes started here are
stopped, by their PID. About 5 s.

  relay_multi_test.py [--keep]    (--keep: leave the logs)"""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.environ.get('top_srcdir', '.'),
                                'test', 'sip', 'scenarios'))
import sbtest  # noqa: E402
from sbtest import DOMAIN, HOST, Fail, free_port, hdr  # noqa: E402

BUILD = os.path.abspath(os.environ.get('top_builddir', '.'))
SCENDIR = os.path.abspath(os.path.join(os.environ.get('top_srcdir', '.'),
                                       'test', 'sip', 'scenarios'))
CALLER = '1001'
CALLEES = ['20%02d' % i for i in range(1, 9)]
CALL_TIMEOUT = 40          # sipp's own limit for a call left up


def pw(number):
    return 'pw-%s-secret' % number


def wait_for(what, fn, timeout=10.0):
    end = time.monotonic() + timeout
    got = None
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise Fail('%s: not within %.0f s (last: %r)' % (what, timeout, got))


class Relay:
    """One sbrelay started by hand on TCP 127.0.0.1:port."""

    def __init__(self, binary, workdir, name, ports):
        self.binary = binary
        self.name = name
        self.port = free_port()
        self.ports = ports               # (min, max) RTP
        self.logpath = os.path.join(workdir, 'relay-%s.log' % name)
        self.proc = None

    @property
    def address(self):
        return 'tcp:%s:%d' % (HOST, self.port)

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise Fail('sbrelay %s is running already' % self.name)
        with open(self.logpath, 'a') as log:
            self.proc = subprocess.Popen(
                [self.binary, '-t', '%s:%d' % (HOST, self.port),
                 '-a', HOST, '-p', '%d-%d' % self.ports, '-T', '0',
                 '-j', '1'], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        if not sbtest.wait_bound(self.port, 'tcp', self.proc):
            raise Fail('sbrelay %s not listening on %d' % (self.name,
                                                           self.port))

    def kill9(self):
        self.proc.kill()
        self.proc.wait(5)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def owns(self, port):
        return self.ports[0] <= port <= self.ports[1]

    def stats(self):
        """The relay's `stats`, over a control connection of our own
        (it creates no legs, so closing it frees nothing of the core's)."""
        with socket.create_connection((HOST, self.port), timeout=3) as s:
            f = s.makefile('rwb')

            def line():
                raw = f.readline(65536)
                if not raw:
                    raise Fail('relay %s closed the connection' % self.name)
                return json.loads(raw)

            if line().get('event') != 'hello':
                raise Fail('relay %s did not say hello' % self.name)
            for rid, cmd in ((1, {'command': 'hello', 'protocol': 1}),
                             (2, {'command': 'stats'})):
                cmd['id'] = rid
                f.write((json.dumps(cmd) + '\n').encode())
                f.flush()
                reply = line()
                while reply.get('id') != rid:
                    reply = line()
                if reply.get('result') != 'ok':
                    raise Fail('relay %s: %r' % (self.name, reply))
            return reply


class Call:
    """A caller sipp and a callee sipp that both wait for a BYE."""

    def __init__(self, ctx, callee):
        self.callee = callee
        self.port = None
        self.uas = self.uac = None
        port = free_port()
        contact = '<sip:%s@%s:%d;transport=udp>' % (callee, HOST, port)
        reg = ctx.sipp.run('reg', port, keys={'user': callee,
                                              'contact': contact,
                                              'expires': 300},
                           au=callee, ap=pw(callee),
                           extra=['-auth_uri', DOMAIN])
        last = reg.last_response()
        if not reg.ok() or not last or last['code'] != 200:
            raise Fail('REGISTER of %s: %s' % (callee, reg.summary()))
        self.uas = ctx.sipp.start('uas_answer', port,
                                  keys={'user': callee}, uas=True,
                                  timeout=CALL_TIMEOUT)
        ctx.calls.append(self)
        self.uac = ctx.sipp.start('uac_call_wait_bye', free_port(),
                                  keys={'user': CALLER, 'callee': callee},
                                  au=CALLER, ap=pw(CALLER),
                                  timeout=CALL_TIMEOUT,
                                  extra=['-auth_uri', '%s@%s' %
                                         (callee, DOMAIN)])

    def runs(self):
        return [r for r in (self.uac, self.uas) if r is not None]

    def running(self):
        return all(r.proc.poll() is None for r in self.runs())

    def media_port(self):
        """The audio port of the relay in the 200 the caller got."""
        for d, _, m in sbtest.parse_trace(self.uac.msgfile):
            if d == 'recv' and m['code'] == 200 and 'm=audio' in m['body']:
                g = re.search(r'^m=audio (\d+)', m['body'], re.M)
                if g:
                    return int(g.group(1))
        return None

    def answered(self):
        self.port = wait_for('the 200 of the call to %s' % self.callee,
                             self.media_port, 10)
        # the caller's ACK on its way
        time.sleep(0.2)
        return self.port

    def callid(self):
        for d, _, m in sbtest.parse_trace(self.uac.msgfile):
            if d == 'sent' and m['method'] == 'INVITE':
                return hdr(m, 'call-id')
        return None

    def wait(self):
        for r in self.runs():
            r.wait()

    def missing_bye(self):
        """The sides that got no BYE, or did not end well."""
        return [side for side, r in (('caller', self.uac),
                                     ('callee', self.uas))
                if not r.received(method='BYE') or not r.ok()]

    def kill(self):
        for r in self.runs():
            if r.proc.poll() is None:
                r.proc.kill()
            r.wait()


class Server(sbtest.Server):
    """A switchboard with one relay_connect line per relay."""

    def __init__(self, binary, workdir, extra, relays):
        super().__init__(binary, workdir, extra)
        self.relays = relays

    def write_conf(self):
        super().write_conf()
        with open(self.conf, 'a') as f:
            for address in self.relays:
                f.write('relay_connect %s\n' % address)


class Ctx:
    def __init__(self, work, srv):
        self.sipp = sbtest.Sipp(SCENDIR, work, srv)
        self.calls = []


def relays_status(srv):
    status, body = srv.api('GET', '/api/status')
    if status != 200 or not isinstance(body, dict):
        return {}
    return {r.get('address'): r for r in body.get('relays') or []}


def relay_state(srv, relay):
    return relays_status(srv).get(relay.address, {}).get('state')


def bad_config(binary, work):
    """A relay_connect that is no address stops start-up."""
    conf = os.path.join(work, 'bad.conf')
    with open(conf, 'w') as f:
        f.write('relay_spawn 0\nrelay_connect tcp:%s:%d\n'
                'relay_connect udp:%s:2224\n' % (HOST, free_port(), HOST))
    p = subprocess.run([binary, '-f', conf], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10, cwd=work)
    out = p.stdout.decode(errors='replace')
    if p.returncode == 0:
        raise Fail('started with a bad relay_connect: %s' % out)
    if "%s:3: relay_connect 'udp:%s:2224'" % (conf, HOST) not in out:
        raise Fail('no file:line and value in: %s' % out)


def main():
    relay_bin = os.path.join(BUILD, 'sbrelay')
    binary = os.path.join(BUILD, 'switchboard')
    if not os.access(relay_bin, os.X_OK) or not shutil.which('sipp'):
        print('# sbrelay or sipp missing: skipped')
        return 77

    work = tempfile.mkdtemp(prefix='sb-relaymulti-')
    failed = 0
    state = {}

    def check(name, fn):
        nonlocal failed
        try:
            fn()
            print('ok', name)
        except Exception as e:  # noqa: BLE001 - report any failure
            failed += 1
            print('FAIL %s: %s' % (name, str(e).replace('\n', ' ')))
        sys.stdout.flush()

    check('bad relay_connect stops start-up with file and line',
          lambda: bad_config(binary, work))

    base = random.randrange(46000, 58000, 400)
    ra = Relay(relay_bin, work, 'a', (base, base + 199))
    rb = Relay(relay_bin, work, 'b', (base + 200, base + 399))
    nobody = 'tcp:[::1]:%d' % free_port()
    srv = Server(binary, work, {'relay_spawn': '0',
                                'reg_keepalive_interval': '0'},
                 [ra.address, rb.address, nobody])
    ctx = Ctx(work, srv)
    code = None
    try:
        ra.start()
        rb.start()
        srv.start()
        srv.add_extensions({n: pw(n) for n in [CALLER] + CALLEES})
        wait_for('both relays ready', lambda: relay_state(srv, ra) ==
                 'ready' and relay_state(srv, rb) == 'ready')

        def spread():
            st = relays_status(srv)
            if sorted(st) != sorted([ra.address, rb.address, nobody]):
                raise Fail('status lists the relays %r' % sorted(st))
            if st[nobody].get('state') == 'ready':
                raise Fail('a relay nobody runs is ready: %r' % st)
            calls = [Call(ctx, CALLEES[i]) for i in range(4)]
            for c in calls:
                c.answered()
            on_a = [c for c in calls if ra.owns(c.port)]
            on_b = [c for c in calls if rb.owns(c.port)]
            if len(on_a) != 2 or len(on_b) != 2:
                raise Fail('audio ports %s: not 2 in %s and 2 in %s' %
                           ([c.port for c in calls], ra.ports, rb.ports))
            got = (ra.stats().get('calls'), rb.stats().get('calls'))
            if got != (2, 2):
                raise Fail('relays report %s calls, expected 2 and 2' %
                           (got,))
            st = relays_status(srv)
            got = tuple(st.get(r.address, {}).get('calls')
                        for r in (ra, rb))
            if got != (2, 2) or st.get(nobody, {}).get('calls') != 0:
                raise Fail('status: %r' % st)
            state['a'], state['b'] = on_a, on_b
        check('4 calls spread 2/2 over the ready relays', spread)

        def killed():
            if 'a' not in state:
                raise Fail('no calls up (previous check)')
            on_a, on_b = state['a'], state['b']
            rb.kill9()
            for c in on_b:
                c.wait()
                missing = c.missing_bye()
                if missing:
                    raise Fail('%s of the call to %s: no BYE or not ok: '
                               '%s' % (missing, c.callee,
                                       c.uac.summary()))
            _, rows = srv.cdrs()
            for c in on_b:
                cid = c.callid()
                row = [r for r in rows if r.get('call_id') == cid]
                if not row or row[0].get('reason') != 'relay failed' or \
                        row[0].get('cause') != 503 or \
                        row[0].get('disposition') != 'ANSWERED':
                    raise Fail('CDR of %s: %r' % (cid, row))
            for c in on_a:
                if not c.running():
                    raise Fail('a call on the relay left ended: %s' %
                               c.uac.summary())
            status, body = srv.api('GET', '/api/calls')
            if status != 200 or len(body.get('calls', [])) != 2:
                raise Fail('calls after the kill: %s %r' % (status, body))
            if ra.stats().get('calls') != 2:
                raise Fail('relay a lost calls')
            if relay_state(srv, rb) == 'ready':
                raise Fail('killed relay still ready')
        check('a killed relay ends only its calls (BYE, CDR)', killed)

        def next_call():
            c = Call(ctx, CALLEES[4])
            c.answered()
            if not ra.owns(c.port):
                raise Fail('audio port %d not of relay a' % c.port)
            if ra.stats().get('calls') != 3:
                raise Fail('relay a does not hold 3 calls')
        check('the next call goes to the relay left', next_call)

        def restarted():
            rb.start()
            wait_for('relay b ready again',
                     lambda: relay_state(srv, rb) == 'ready', 10)
            # relay a holds 3 calls, b none: the fewest calls win over
            # taking turns, so both go to b
            calls = [Call(ctx, CALLEES[i]) for i in (5, 6)]
            for c in calls:
                c.answered()
                if not rb.owns(c.port):
                    raise Fail('audio port %d not of relay b' % c.port)
            got = (ra.stats().get('calls'), rb.stats().get('calls'))
            if got != (3, 2):
                raise Fail('relays report %s calls, expected 3 and 2' %
                           (got,))
        check('a relay started again takes new calls, fewest first',
              restarted)
    except Fail as e:
        failed += 1
        print('FAIL setup: %s' % e)
    finally:
        left = [c for c in ctx.calls if c.running()]
        code = srv.stop()
        for c in left:
            c.wait()
        for c in ctx.calls:
            c.kill()
        ra.stop()
        rb.stop()

    def stopped():
        if code != 0:
            raise Fail('switchboard exit status %s' % code)
        for c in left:
            missing = c.missing_bye()
            if missing:
                raise Fail('%s of the call to %s: no BYE at shutdown' %
                           (missing, c.callee))
        log = srv.log_text()
        if any(s in log for s in ('AddressSanitizer', 'LeakSanitizer',
                                  'runtime error:')):
            raise Fail('sanitizer report in %s' % srv.logpath)
    check('switchboard stops, calls left get BYE', stopped)

    print('%d failed' % failed)
    if failed or '--keep' in sys.argv:
        print('# logs kept in %s' % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
