#!/usr/bin/env python3
"""switchboard starts sbrelay, talks to it, and starts it again when it
dies; it can also use a relay started by hand. Skips (77) when sbrelay
is not built."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get('top_srcdir', '.'),
                                'test', 'sip', 'scenarios'))
import sbtest  # noqa: E402

BUILD = os.path.abspath(os.environ.get('top_builddir', '.'))


def children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def relay_state(srv):
    status, body = srv.api('GET', '/api/status')
    return body.get('relay') if status == 200 else None


def wait_for(what, fn, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise sbtest.Fail('%s: not within %.0f s' % (what, timeout))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    with open('/proc/%d/stat' % pid) as f:
        return f.read().split(')')[-1].split()[0] != 'Z'


def main():
    relay_bin = os.path.join(BUILD, 'sbrelay')
    if not os.access(relay_bin, os.X_OK):
        print('# sbrelay not built: skipped')
        return 77

    failed = 0
    work = tempfile.mkdtemp(prefix='sb-relaysup-')
    binary = os.path.join(BUILD, 'switchboard')

    def check(name, fn):
        nonlocal failed
        try:
            fn()
            print('ok', name)
        except Exception as e:  # noqa: BLE001 - report any failure
            failed += 1
            print('FAIL %s: %s' % (name, e))

    # 1: started, restarted, stopped with switchboard
    srv = sbtest.Server(binary, work, {'relay_port_min': '41000',
                                       'relay_port_max': '41999'})
    state = {}
    try:
        srv.start()

        def started():
            wait_for('relay ready', lambda: relay_state(srv) == 'ready')
            kids = [p for p in children(srv.proc.pid) if alive(p)]
            if len(kids) != 1:
                raise sbtest.Fail('switchboard has children %s' % kids)
            state['first'] = kids[0]
        check('switchboard starts sbrelay and connects', started)

        def restarted():
            os.kill(state['first'], signal.SIGKILL)
            wait_for('relay down', lambda: relay_state(srv) == 'down', 5)
            wait_for('relay ready again',
                     lambda: relay_state(srv) == 'ready')
            kids = [p for p in children(srv.proc.pid) if alive(p)]
            if len(kids) != 1 or kids[0] == state['first']:
                raise sbtest.Fail('children after the kill: %s' % kids)
            state['second'] = kids[0]
        check('a killed sbrelay is started again', restarted)
    except sbtest.Fail as e:
        failed += 1
        print('FAIL setup: %s' % e)
    finally:
        code = srv.stop()

    def stopped():
        if code != 0:
            raise sbtest.Fail('switchboard exit status %s' % code)
        pid = state.get('second')
        if pid and alive(pid):
            raise sbtest.Fail('sbrelay %d outlived switchboard' % pid)
    check('sbrelay stops with switchboard', stopped)

    # 2: a relay started by hand
    sock = os.path.join(work, 'hand.sock')
    srv2 = sbtest.Server(binary, os.path.join(work, 'two'),
                         {'relay_spawn': '0', 'relay_socket': sock})
    os.makedirs(srv2.workdir)
    hand = None
    try:
        srv2.start()

        def by_hand():
            nonlocal hand
            time.sleep(0.5)
            if relay_state(srv2) != 'down':
                raise sbtest.Fail('ready with no relay running')
            if children(srv2.proc.pid):
                raise sbtest.Fail('relay_spawn 0 started a relay')
            hand = subprocess.Popen(
                [relay_bin, '-l', sock, '-a', '127.0.0.1',
                 '-p', '42000-42999'], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            wait_for('relay by hand ready',
                     lambda: relay_state(srv2) == 'ready')
        check('switchboard uses a relay started by hand', by_hand)
    except sbtest.Fail as e:
        failed += 1
        print('FAIL setup: %s' % e)
    finally:
        srv2.stop()
        if hand:
            hand.terminate()
            try:
                hand.wait(5)
            except subprocess.TimeoutExpired:
                hand.kill()
                hand.wait(5)

    print('%d failed' % failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
