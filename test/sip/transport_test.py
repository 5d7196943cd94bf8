#!/usr/bin/env python3
"""Transports under pressure: several hundred idle TCP connections and
stalled TLS handshakes must not stop phones from registering over UDP,
TCP, TLS and IPv6, and one host may hold only sip_max_conn_per_ip SIP
TCP/TLS connections at once (hosts are loopback addresses: all of 127/8
is loopback on Linux). Registers with SHA-256 digest over TLS (a client
of our own: sipp 3.6.1 has neither TLS nor SHA-256 here)."""
import os
import random
import resource
import select
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get('top_srcdir', '.'),
                                'test', 'sip', 'scenarios'))
import sbtest  # noqa: E402

# more than the 1024 descriptors a process gets by default, from hosts
# that each stay within the cap
IDLE_TCP = 1100
STALLED_TLS = 40
CAP = 20
# one host tries this many: CAP stay, the rest are reset at once
GREEDY = 60
GREEDY_HOST = '127.0.0.2'
OTHER_HOST = '127.0.0.3'
PROBE_WAIT = 2.0
BATCH = 4


def request(user, transport, via_host, port, nonce=None, password=None,
            alg='MD5'):
    """A REGISTER; with nonce, carrying credentials."""
    branch = 'z9hG4bK-tt%016x' % random.getrandbits(64)
    lines = [
        'REGISTER sip:%s SIP/2.0' % sbtest.DOMAIN,
        'Via: SIP/2.0/%s %s:%d;branch=%s;rport' % (transport, via_host,
                                                   port, branch),
        'Max-Forwards: 70',
        'From: <sip:%s@%s>;tag=tt1' % (user, sbtest.DOMAIN),
        'To: <sip:%s@%s>' % (user, sbtest.DOMAIN),
        'Call-ID: tt-%s-%s' % (transport, user),
        'CSeq: %d REGISTER' % (2 if nonce else 1),
        'Contact: <sip:%s@%s:%d;transport=%s>' % (user, via_host, port,
                                                  transport.lower()),
        'Expires: 300',
    ]
    if nonce:
        lines.append('Authorization: ' + sbtest.digest_credentials(
            alg, user, password, 'REGISTER', 'sip:' + sbtest.DOMAIN, nonce))
    lines.append('Content-Length: 0')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def read_response(sock, timeout=3.0):
    sock.settimeout(timeout)
    data = b''
    end = time.monotonic() + timeout
    while b'\r\n\r\n' not in data:
        if time.monotonic() > end:
            raise sbtest.Fail('no response on stream')
        chunk = sock.recv(65535)
        if not chunk:
            raise sbtest.Fail('connection closed by server')
        data += chunk
    return sbtest.parse_msg(data.decode(errors='replace'))


def register_stream(sock, transport, user, password, alg):
    host, port = sock.getsockname()[:2]
    sock.sendall(request(user, transport, host, port))
    chal = read_response(sock)
    if chal['code'] != 401:
        raise sbtest.Fail('%s: expected 401, got %s' % (transport,
                                                        chal['code']))
    nonce = dict(sbtest.challenges(chal))[alg]['nonce']
    sock.sendall(request(user, transport, host, port, nonce, password, alg))
    resp = read_response(sock)
    if resp['code'] != 200:
        raise sbtest.Fail('%s %s: expected 200, got %s' % (
            transport, alg, resp['code']))


def register_udp(family, addr, port, user, password):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((addr, 0))
    lport = sock.getsockname()[1]
    host = '[%s]' % addr if family == socket.AF_INET6 else addr
    try:
        for attempt in (None, 'auth'):
            nonce = None
            if attempt:
                nonce = dict(sbtest.challenges(chal))['MD5']['nonce']
            sock.sendto(request(user, 'UDP', host, lport, nonce, password),
                        (addr, port))
            sock.settimeout(3.0)
            chal = sbtest.parse_msg(sock.recv(65535).decode())
        if chal['code'] != 200:
            raise sbtest.Fail('UDP %s: expected 200, got %s' % (
                addr, chal['code']))
    finally:
        sock.close()


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(('::1', 0))
        s.close()
        return True
    except OSError:
        return False


def connect_from(host, port, count):
    """count connections to the server from the loopback address host;
    one the server resets before connect() returns is among them."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.settimeout(3)
            s.bind((host, 0))
            try:
                s.connect(('127.0.0.1', port))
            except ConnectionResetError:
                pass
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def probe(socks):
    """Ping each connection with a CRLF keep-alive (RFC 5626): libre
    answers one it serves, a refused one is reset. Returns (kept, reset);
    one that does neither in PROBE_WAIT seconds fails."""
    pending, reset = {}, []
    for s in socks:
        try:
            s.sendall(b'\r\n\r\n')
            pending[s.fileno()] = s
        except OSError:
            reset.append(s)
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    kept = []
    end = time.monotonic() + PROBE_WAIT
    while pending:
        left = end - time.monotonic()
        if left <= 0:
            raise sbtest.Fail('%d connections neither answered nor reset'
                              % len(pending))
        for fd, _ in poller.poll(left * 1000):
            s = pending.pop(fd)
            poller.unregister(fd)
            try:
                (kept if s.recv(2, socket.MSG_DONTWAIT) else
                 reset).append(s)
            except OSError:
                reset.append(s)     # ECONNRESET
    return kept, reset


def open_probed(host, port, count):
    """count connections from host, BATCH at a time: libre listens with
    a backlog of 5, and a SYN it drops costs a 1 s retry. Returns the
    kept ones and how many were reset (those are closed here)."""
    kept, nreset = [], 0
    for i in range(0, count, BATCH):
        k, r = probe(connect_from(host, port, min(BATCH, count - i)))
        kept += k
        nreset += len(r)
        for s in r:
            s.close()
    return kept, nreset


def probe_tls(raw):
    """A TLS handshake and a CRLF ping on raw: True if answered, False if
    the server reset or closed the connection; closes raw."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw.settimeout(PROBE_WAIT)
    try:
        with ctx.wrap_socket(raw) as s:
            s.sendall(b'\r\n\r\n')
            return s.recv(2) == b'\r\n'
    except socket.timeout:
        raise sbtest.Fail('TLS: neither answered nor reset')
    except OSError:
        return False
    finally:
        raw.close()


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE_TCP + STALLED_TLS + GREEDY + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def main():
    raise_fd_limit()
    binary = os.path.abspath(os.path.join(
        os.environ.get('top_builddir', '.'), 'switchboard'))
    work = tempfile.mkdtemp(prefix='sb-transport-')
    tls_port = sbtest.free_port()
    v6 = ipv6_available()
    srv = sbtest.Server(binary, work)
    extra = {'sip_listen_tls': '127.0.0.1:%d' % tls_port,
             'sip_max_conn_per_ip': str(CAP),
             'reg_keepalive_interval': '0'}
    if v6:
        extra['sip_listen_udp'] = '127.0.0.1:%d [::1]:%d' % (srv.sip_port,
                                                             srv.sip_port)
    srv.extra = extra
    idle = []
    failed = 0

    def check(name, fn):
        nonlocal failed
        try:
            fn()
            print('ok', name)
        except Exception as e:  # noqa: BLE001 - report any failure
            failed += 1
            print('FAIL %s: %s' % (name, e))

    try:
        srv.start()
        srv.add_extensions({'4001': 'secret4001', '4002': 'secret4002',
                            '4003': 'secret4003', '4004': 'secret4004'})

        # idle but for one keep-alive, which paces the flood: CAP per
        # host from 127.0.1.1 on
        nreset = 0
        for i in range(0, IDLE_TCP, CAP):
            host = '127.0.1.%d' % (1 + i // CAP)
            kept, n = open_probed(host, srv.sip_port, min(CAP, IDLE_TCP - i))
            idle += kept
            nreset += n
        for i in range(STALLED_TLS):
            s = connect_from('127.0.2.%d' % (1 + i // CAP), tls_port, 1)[0]
            idle.append(s)
            if i % 2:
                # half a ClientHello, then silence
                s.sendall(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
        print('# %d idle TCP and %d stalled TLS connections open, at most'
              ' %d per host' % (IDLE_TCP - nreset, STALLED_TLS, CAP))

        def flood_kept():
            if nreset:
                raise sbtest.Fail('%d reset' % nreset)
        check('%d TCP connections from %d hosts, all within the cap, kept'
              % (IDLE_TCP, IDLE_TCP // CAP), flood_kept)

        admitted = []

        def capped():
            kept, n = open_probed(GREEDY_HOST, srv.sip_port, GREEDY)
            admitted.extend(kept)
            idle.extend(kept)
            if len(kept) != CAP or n != GREEDY - CAP:
                raise sbtest.Fail('%d kept and %d reset' % (len(kept), n))
            # the ones kept are served: a challenge, no binding made
            host, port = kept[0].getsockname()[:2]
            kept[0].sendall(request('4001', 'TCP', host, port))
            resp = read_response(kept[0])
            if resp['code'] != 401:
                raise sbtest.Fail('expected 401, got %s' % resp['code'])
        check('%s: %d of %d TCP connections kept, the rest reset'
              % (GREEDY_HOST, CAP, GREEDY), capped)

        def capped_tls():
            if probe_tls(connect_from(GREEDY_HOST, tls_port, 1)[0]):
                raise sbtest.Fail('TLS connection served')
        check('%s: TLS shares the TCP count: reset' % GREEDY_HOST,
              capped_tls)

        def other_host():
            kept, n = open_probed(OTHER_HOST, srv.sip_port, BATCH)
            idle.extend(kept)
            if n:
                raise sbtest.Fail('%d TCP reset' % n)
            if not probe_tls(connect_from(OTHER_HOST, tls_port, 1)[0]):
                raise sbtest.Fail('TLS reset')
        check('%s: TCP and TLS connections kept' % OTHER_HOST, other_host)

        def logged_once():
            lines = [ln for ln in srv.log_text().splitlines()
                     if GREEDY_HOST + ':' in ln and 'refused' in ln]
            if len(lines) != 1:
                raise sbtest.Fail('%d log lines for %s: %s'
                                  % (len(lines), GREEDY_HOST, lines))
        check('one log line for %d refusals' % (GREEDY - CAP + 1),
              logged_once)

        check('UDP REGISTER while flooded',
              lambda: register_udp(socket.AF_INET, '127.0.0.1',
                                   srv.sip_port, '4001', 'secret4001'))

        def tcp():
            with socket.create_connection(('127.0.0.1', srv.sip_port),
                                          3) as s:
                register_stream(s, 'TCP', '4002', 'secret4002', 'MD5')
        check('TCP REGISTER while flooded', tcp)

        def tls():
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = socket.create_connection(('127.0.0.1', tls_port), 3)
            with ctx.wrap_socket(raw) as s:
                cert = s.getpeercert(binary_form=True)
                if not cert:
                    raise sbtest.Fail('no server certificate')
                register_stream(s, 'TLS', '4003', 'secret4003', 'SHA-256')
        check('TLS REGISTER (SHA-256) while flooded', tls)

        if v6:
            check('IPv6 UDP REGISTER',
                  lambda: register_udp(socket.AF_INET6, '::1', srv.sip_port,
                                       '4004', 'secret4004'))
        else:
            print('# no ::1 here: IPv6 case not run')

        def bindings():
            status, body = srv.api('GET', '/api/registrations')
            got = sorted({r['aor'] + '/' + r['transport']
                          for r in body['registrations']})
            want = ['4001/UDP', '4002/TCP', '4003/TLS'] + (
                ['4004/UDP'] if v6 else [])
            if status != 200 or got != want:
                raise sbtest.Fail('registrations %s, want %s' % (got, want))
        check('registrations listed with their transports', bindings)

        def room_again():
            if len(admitted) < 5:
                raise sbtest.Fail('not enough kept connections to close')
            # our FIN, then the server's: it has closed its socket
            for s in admitted[:5]:
                s.shutdown(socket.SHUT_WR)
                s.settimeout(PROBE_WAIT)
                if s.recv(1):
                    raise sbtest.Fail('data, not the end of stream')
            kept, n = open_probed(GREEDY_HOST, srv.sip_port, 6)
            idle.extend(kept)
            if len(kept) != 5 or n != 1:
                raise sbtest.Fail('%d kept and %d reset' % (len(kept), n))
        check('%s: 5 closed, 5 more kept, the 6th reset' % GREEDY_HOST,
              room_again)

        if not srv.alive():
            failed += 1
            print('FAIL server died: %s' % srv.log_tail(20))
    except sbtest.Fail as e:
        failed += 1
        print('FAIL setup: %s' % e)
    finally:
        for s in idle:
            s.close()
        code = srv.stop()
        if code not in (0, None):
            failed += 1
            print('FAIL switchboard exit status %s: %s'
                  % (code, srv.log_tail(20)))
    print('%d failed' % failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
