#!/usr/bin/env python3
"""Transports under pressure: several hundred idle TCP connections and
stalled TLS handshakes must not stop phones from registering over UDP,
TCP, TLS and IPv6. Registers with SHA-256 digest over TLS (a client of
our own: sipp 3.6.1 has neither TLS nor SHA-256 here)."""
import os
import random
import resource
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get('top_srcdir', '.'),
                                'test', 'sip', 'scenarios'))
import sbtest  # noqa: E402

# more than the 1024 descriptors a process gets by default
IDLE_TCP = 1100
STALLED_TLS = 40


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


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE_TCP + STALLED_TLS + 200
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

        for _ in range(IDLE_TCP):
            s = socket.create_connection(('127.0.0.1', srv.sip_port), 3)
            idle.append(s)
        for i in range(STALLED_TLS):
            s = socket.create_connection(('127.0.0.1', tls_port), 3)
            if i % 2:
                # half a ClientHello, then silence
                s.sendall(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
            idle.append(s)
        print('# %d idle TCP and %d stalled TLS connections open'
              % (IDLE_TCP, STALLED_TLS))

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
