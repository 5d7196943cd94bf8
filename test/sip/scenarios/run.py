#!/usr/bin/env python3
"""Black-box SIP tests of switchboard with sipp: registrar, calls,
re-INVITEs (hold and resume from either side), early media, and requests
the server must refuse (unknown methods, Max-Forwards: 0, unknown
dialogs).

Starts a switchboard on free loopback ports with a store in a temporary
folder, creates extensions, runs each case with bounded timeouts and
prints one line per case, `ok NAME` or `FAIL NAME: why`.  Exits non-zero
when a case failed.  Finds the binary at $top_builddir/switchboard and
the scenarios beside this file (or under $top_srcdir/test/sip/scenarios).

  run.py [-k SUBSTRING] [--keep]
"""

import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import sbtest  # noqa: E402
from sbtest import (DOMAIN, HOST, Fail, UdpClient, challenges,  # noqa: E402
                    contacts, digest_credentials, free_port, hdr, hdrs,
                    uri_equal)

MIN_EXPIRES = 30
MAX_EXPIRES = 300
NOANSWER = 5
NONCE_LIFETIME = 10

CONF = {
    'reg_min_expires': MIN_EXPIRES,
    'reg_max_expires': MAX_EXPIRES,
    'reg_default_expires': 120,
    'reg_keepalive_interval': 0,
    'call_noanswer_timeout': NOANSWER,
    'auth_nonce_lifetime': NONCE_LIFETIME,
}

CALLER = '1001'
NO_CONTACT = '1003'
UNKNOWN = '1999'


def pw(number):
    return 'pw-%s-secret' % number


# extensions: 1001 caller, 1003 never registers, 20xx callees, 30xx for
# the registrar cases (one each, so that no case sees another's contacts)
EXTS = {n: pw(n) for n in
        [CALLER, NO_CONTACT] + ['20%02d' % i for i in range(1, 19)] +
        ['30%02d' % i for i in range(1, 31)]}


class Ctx:
    def __init__(self, server, sipp):
        self.server = server
        self.sipp = sipp
        self.results = []
        self.notes = []
        self.shared = {}


# ---------------------------------------------------------------- helpers

def branch_of(msg):
    via = hdr(msg, 'via') or ''
    m = re.search(r'branch=([^;,\s]+)', via)
    return m.group(1) if m else None


def check_acks(run):
    """Our own scenarios: an ACK to a non-2xx final response must carry
    the branch of its INVITE (RFC 3261 17.1.1.3), or the server's
    transaction would never see it."""
    invites = {}
    for d, _, m in run.msgs:
        cseq = (hdr(m, 'cseq') or '').split()
        if d == 'sent' and m['method'] == 'INVITE':
            invites[cseq[0]] = [branch_of(m), None]
        elif d == 'recv' and m['code'] and m['code'] >= 200 and \
                cseq[1:] == ['INVITE'] and cseq[0] in invites:
            invites[cseq[0]][1] = m['code']
        elif d == 'sent' and m['method'] == 'ACK':
            inv = invites.get(cseq[0] if cseq else None)
            if inv and inv[1] and inv[1] >= 300 and \
                    branch_of(m) != inv[0]:
                raise Fail('scenario error in %s: ACK to %d has branch %s, '
                           'its INVITE %s' % (run.name, inv[1],
                                              branch_of(m), inv[0]))


def need(run, what):
    if not run.ok():
        raise Fail('%s: %s' % (what, run.summary()))
    check_acks(run)


def expect_final(run, code):
    r = run.last_response()
    if r is None or r['code'] != code:
        raise Fail('expected %d, got %s: %s' %
                   (code, r['first'] if r else 'nothing', run.summary()))
    return r


def contact_uri(ext, port, transport='udp', tag=None):
    uri = 'sip:%s@%s:%d;transport=%s' % (ext, HOST, port, transport)
    if tag:
        uri += ';line=%s' % tag
    return uri


def reg(ctx, ext, contact, expires, port=None, transport='udp', pw_=None,
        scenario='reg', au=None, **keys):
    """Run a REGISTER scenario as ext; returns the sipp run."""
    port = port or free_port()
    keys.update(user=ext, contact=contact, expires=expires)
    return ctx.sipp.run(scenario, port, keys=keys, au=au or ext,
                        ap=pw_ or pw(ext), transport=transport,
                        extra=['-auth_uri', DOMAIN])


def reg_ok(ctx, ext, contact, expires, **kw):
    run = reg(ctx, ext, contact, expires, **kw)
    need(run, 'REGISTER %s %s' % (ext, contact))
    return expect_final(run, 200)


def query(ctx, ext, transport='udp'):
    run = ctx.sipp.run('reg_query', free_port(), keys={'user': ext},
                       au=ext, ap=pw(ext), transport=transport,
                       extra=['-auth_uri', DOMAIN])
    need(run, 'REGISTER %s without Contact' % ext)
    return expect_final(run, 200)


def check_bindings(resp, want, slack=3):
    """want: {uri: expires}; the 200 must list exactly these, each with
    expires in [N - slack, N]."""
    got = contacts(resp)
    for uri, exp in want.items():
        match = [u for u in got if uri_equal(u, uri)]
        if not match:
            raise Fail('200 does not list %s; its contacts: %s' %
                       (uri, got or 'none'))
        val = got[match[0]]
        if val is None:
            raise Fail('200 lists %s without ;expires=' % uri)
        if not exp - slack <= val <= exp:
            raise Fail('200 lists %s with expires=%d, expected %d' %
                       (uri, val, exp))
    extra = [u for u in got if not any(uri_equal(u, w) for w in want)]
    if extra:
        raise Fail('200 lists contacts that should not be there: %s '
                   '(expected only %s)' % (extra, list(want) or 'none'))


def check_challenges(msg, header, stale=False):
    """Two Digest challenges: MD5 then SHA-256, both qop auth, realm the
    domain, one nonce."""
    ch = challenges(msg, header)
    algs = [a.upper() for a, _ in ch]
    if algs != ['MD5', 'SHA-256']:
        raise Fail('%d %s: %d %s headers with algorithms %s, expected MD5 '
                   'then SHA-256' % (msg['code'], msg['reason'], len(ch),
                                     header, algs))
    for alg, p in ch:
        qops = [q.strip() for q in p.get('qop', '').split(',')]
        if 'auth' not in qops:
            raise Fail('%s challenge without qop="auth": %s' % (alg, p))
        if p.get('realm') != DOMAIN:
            raise Fail('%s challenge realm %r, expected %r' %
                       (alg, p.get('realm'), DOMAIN))
        if not p.get('nonce'):
            raise Fail('%s challenge without nonce' % alg)
        if stale and p.get('stale', '').lower() != 'true':
            raise Fail('%s challenge without stale=true: %s %s' %
                       (alg, msg['first'], hdrs(msg, header)))
    return ch


def py_register(ctx, client, ext, call_id, cseq, nonce, alg='MD5',
                nc='00000001', cnonce=None, contact=None, expires=60,
                password=None):
    auth = digest_credentials(alg, ext, password or pw(ext), 'REGISTER',
                              'sip:' + DOMAIN, nonce, nc=nc, cnonce=cnonce)
    return client.register(ext, call_id, cseq, contact=contact,
                           expires=expires, authorization=auth), auth


def new_callid():
    return 'py-%016x@%s' % (random.getrandbits(64), HOST)


def client_log(client):
    return ' / '.join(('> ' if d == 'sent' else '< ') +
                      t.split('\r\n')[0] for d, t in client.log)


# ---------------------------------------------------------------- register

def case_register_401_two_challenges(ctx):
    ext = '3001'
    run = reg(ctx, ext, '<%s>' % contact_uri(ext, 5901), 60)
    need(run, 'REGISTER')
    r401 = run.received(401)
    if not r401:
        raise Fail('no 401: ' + run.summary())
    check_challenges(r401[0], 'www-authenticate')


def case_register_md5_200_lists_contacts(ctx):
    ext = '3002'
    c1, c2 = contact_uri(ext, 5901), contact_uri(ext, 5902)
    r = reg_ok(ctx, ext, '<%s>' % c1, 60)
    check_bindings(r, {c1: 60})
    r = reg_ok(ctx, ext, '<%s>' % c2, 120)
    check_bindings(r, {c1: 60, c2: 120})


def case_register_wrong_password_403(ctx):
    ext = '3003'
    run = reg(ctx, ext, '<%s>' % contact_uri(ext, 5901), 60,
              scenario='reg_403', pw_='not-the-password')
    need(run, 'REGISTER with a wrong password, expecting 403')
    ctx.shared['403_wrong'] = run.last_response()
    # and nothing was bound
    check_bindings(query(ctx, ext), {})


def case_register_unknown_user_403(ctx):
    run = reg(ctx, UNKNOWN, '<%s>' % contact_uri(UNKNOWN, 5901), 60,
              scenario='reg_403', pw_='whatever-password')
    need(run, 'REGISTER as an unknown user, expecting 403')
    r401 = run.received(401)
    if r401:
        # an unknown user is challenged like a known one
        check_challenges(r401[0], 'www-authenticate')
    wrong = ctx.shared.get('403_wrong')
    got = run.last_response()
    if wrong is not None and got['first'] != wrong['first']:
        raise Fail('unknown user got "%s", wrong password got "%s": the '
                   'replies tell them apart' % (got['first'],
                                                 wrong['first']))


def case_register_foreign_aor_403(ctx):
    # authenticates as 3005 (right password) but registers 3006
    me, other = '3005', '3006'
    run = reg(ctx, other, '<%s>' % contact_uri(other, 5901), 60,
              scenario='reg_403', au=me, pw_=pw(me))
    need(run, 'REGISTER To 3006 with the credentials of 3005, '
              'expecting 403')
    check_bindings(query(ctx, other), {})
    check_bindings(query(ctx, me), {})


def case_register_made_up_nonce_stale(ctx):
    ext = '3007'
    cl = UdpClient(ctx.server.sip_port)
    try:
        cid = new_callid()
        fake = 'madeup%016xnonce' % random.getrandbits(64)
        r, _ = py_register(ctx, cl, ext, cid, 1, fake,
                           contact='<%s>' % contact_uri(ext, cl.port))
        if r['code'] != 401:
            raise Fail('REGISTER with a made-up nonce (response right for '
                       'it): got "%s", expected 401 stale=true' % r['first'])
        ch = check_challenges(r, 'www-authenticate', stale=True)
        # a phone answers the fresh nonce without asking anyone
        r, _ = py_register(ctx, cl, ext, cid, 2, ch[0][1]['nonce'],
                           contact='<%s>' % contact_uri(ext, cl.port))
        if r['code'] != 200:
            raise Fail('answer to the stale challenge: "%s", expected 200'
                       % r['first'])
    finally:
        cl.close()


def case_register_nc_replay_stale(ctx):
    ext = '3008'
    cl = UdpClient(ctx.server.sip_port)
    try:
        cid = new_callid()
        contact = '<%s>' % contact_uri(ext, cl.port)
        r = cl.register(ext, cid, 1, contact=contact, expires=60)
        if r['code'] != 401:
            raise Fail('first REGISTER: "%s", expected 401' % r['first'])
        nonce = challenges(r)[0][1]['nonce']
        cnonce = '0a4f113b%08x' % random.getrandbits(32)
        r, auth = py_register(ctx, cl, ext, cid, 2, nonce, cnonce=cnonce,
                              contact=contact)
        if r['code'] != 200:
            raise Fail('REGISTER nc=00000001: "%s", expected 200' %
                       r['first'])
        # the very same credentials again, in a new transaction
        r = cl.register(ext, cid, 3, contact=contact, expires=60,
                        authorization=auth)
        if r['code'] == 200:
            raise Fail('replayed nonce-count nc=00000001 accepted with 200')
        if r['code'] != 401:
            raise Fail('replayed nc: "%s", expected 401 stale=true' %
                       r['first'])
        check_challenges(r, 'www-authenticate', stale=True)
        # the next count of the same nonce is fine
        r, _ = py_register(ctx, cl, ext, cid, 4, nonce, nc='00000002',
                           contact=contact)
        if r['code'] != 200:
            raise Fail('REGISTER nc=00000002 on the same nonce: "%s", '
                       'expected 200' % r['first'])
    finally:
        cl.close()


def case_register_nonce_for_expiry(ctx):
    """Take two nonces, one used once, for register_expired_nonce_stale
    later in the run."""
    ext = '3022'
    cl = UdpClient(ctx.server.sip_port)
    try:
        cid = new_callid()
        contact = '<%s>' % contact_uri(ext, cl.port)
        r1 = cl.register(ext, cid, 1, contact=contact, expires=60)
        r2 = cl.register(ext, cid, 2, contact=contact, expires=60)
        if r1['code'] != 401 or r2['code'] != 401:
            raise Fail('REGISTER without credentials: "%s", "%s", expected '
                       '401' % (r1['first'], r2['first']))
        unused = challenges(r1)[0][1]['nonce']
        used = challenges(r2)[0][1]['nonce']
        r, _ = py_register(ctx, cl, ext, cid, 3, used, contact=contact)
        if r['code'] != 200:
            raise Fail('REGISTER nc=00000001: "%s"' % r['first'])
        ctx.shared['expiring'] = (time.monotonic(), unused, used, cid)
    finally:
        cl.close()


def case_register_expired_nonce_stale(ctx):
    if 'expiring' not in ctx.shared:
        raise Fail('no nonces were taken earlier')
    t0, unused, used, cid = ctx.shared['expiring']
    wait = t0 + NONCE_LIFETIME + 1.5 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    ext = '3022'
    cl = UdpClient(ctx.server.sip_port)
    try:
        contact = '<%s>' % contact_uri(ext, cl.port)
        for cseq, nonce, nc, what in (
                (10, unused, '00000001', 'a nonce never used'),
                (11, used, '00000002', 'the next nc of a used nonce')):
            r, _ = py_register(ctx, cl, ext, cid, cseq, nonce, nc=nc,
                               contact=contact)
            if r['code'] != 401:
                raise Fail('%s, %ds old (lifetime %ds): "%s", expected 401 '
                           'stale=true' % (what, time.monotonic() - t0,
                                           NONCE_LIFETIME, r['first']))
            ch = check_challenges(r, 'www-authenticate', stale=True)
            r, _ = py_register(ctx, cl, ext, cid, cseq + 10,
                               ch[0][1]['nonce'], contact=contact)
            if r['code'] != 200:
                raise Fail('answer to the stale challenge: "%s"' %
                           r['first'])
    finally:
        cl.close()


def case_register_sha256(ctx):
    ext = '3009'
    cl = UdpClient(ctx.server.sip_port)
    try:
        cid = new_callid()
        contact = contact_uri(ext, cl.port)
        r = cl.register(ext, cid, 1, contact='<%s>' % contact, expires=90)
        if r['code'] != 401:
            raise Fail('first REGISTER: "%s", expected 401' % r['first'])
        sha = [p for a, p in challenges(r) if a.upper() == 'SHA-256']
        if not sha:
            raise Fail('401 offers no SHA-256 challenge: %s' %
                       hdrs(r, 'www-authenticate'))
        r, _ = py_register(ctx, cl, ext, cid, 2, sha[0]['nonce'],
                           alg='SHA-256', contact='<%s>' % contact,
                           expires=90)
        if r['code'] != 200:
            raise Fail('REGISTER with SHA-256 digest: "%s", expected 200'
                       % r['first'])
        check_bindings(r, {contact: 90})
        # and a wrong SHA-256 password is refused
        r, _ = py_register(ctx, cl, ext, cid, 3, sha[0]['nonce'],
                           alg='SHA-256', nc='00000002',
                           contact='<%s>' % contact, expires=90,
                           password='wrong-password')
        if r['code'] != 403:
            raise Fail('SHA-256 digest with a wrong password: "%s", '
                       'expected 403' % r['first'])
    finally:
        cl.close()


def case_register_two_contacts_own_expiry(ctx):
    # one request, two contacts: one with ;expires=, one taking the
    # Expires header
    ext = '3010'
    c1, c2 = contact_uri(ext, 5901, tag='a'), contact_uri(ext, 5902,
                                                          tag='b')
    run = reg(ctx, ext, '<%s>;expires=90' % c1, 150, scenario='reg_two',
              contact2='<%s>' % c2)
    need(run, 'REGISTER with two contacts')
    check_bindings(expect_final(run, 200), {c1: 90, c2: 150})


def case_register_expires_header(ctx):
    ext = '3011'
    c1 = contact_uri(ext, 5901)
    check_bindings(reg_ok(ctx, ext, '<%s>' % c1, 75), {c1: 75})


def case_register_refresh_same_contact(ctx):
    # a refresh of a bound contact changes its expiry, adds nothing
    ext = '3017'
    c1 = contact_uri(ext, 5901)
    check_bindings(reg_ok(ctx, ext, '<%s>' % c1, 60), {c1: 60})
    check_bindings(reg_ok(ctx, ext, '<%s>' % c1, 200), {c1: 200})
    check_bindings(reg_ok(ctx, ext, '<%s>' % c1, 40), {c1: 40})


def case_register_below_min_423(ctx):
    ext = '3012'
    for contact, expires, how in (
            ('<%s>' % contact_uri(ext, 5901), 10, 'Expires: 10'),
            ('<%s>;expires=5' % contact_uri(ext, 5902), 60,
             'Contact ;expires=5')):
        run = reg(ctx, ext, contact, expires, scenario='reg_423')
        need(run, 'REGISTER with %s, expecting 423' % how)
        r = expect_final(run, 423)
        if (hdr(r, 'min-expires') or '').strip() != str(MIN_EXPIRES):
            raise Fail('423 for %s has Min-Expires %r, expected %d' %
                       (how, hdr(r, 'min-expires'), MIN_EXPIRES))
    check_bindings(query(ctx, ext), {})


def case_register_above_max_clamped(ctx):
    ext = '3013'
    c1 = contact_uri(ext, 5901)
    check_bindings(reg_ok(ctx, ext, '<%s>' % c1, 3600), {c1: MAX_EXPIRES})


def case_register_expires_0_removes_one(ctx):
    ext = '3014'
    c1, c2 = contact_uri(ext, 5901), contact_uri(ext, 5902)
    run = reg(ctx, ext, '<%s>' % c1, 100, scenario='reg_two',
              contact2='<%s>' % c2)
    need(run, 'REGISTER two contacts')
    check_bindings(expect_final(run, 200), {c1: 100, c2: 100})
    # by its ;expires=0 parameter
    check_bindings(reg_ok(ctx, ext, '<%s>;expires=0' % c1, 100),
                   {c2: 100})
    check_bindings(query(ctx, ext), {c2: 100})
    # by an Expires: 0 header
    check_bindings(reg_ok(ctx, ext, '<%s>' % c2, 0), {})
    check_bindings(query(ctx, ext), {})


def case_register_star_removes_all(ctx):
    ext = '3015'
    c1, c2 = contact_uri(ext, 5901), contact_uri(ext, 5902)
    run = reg(ctx, ext, '<%s>' % c1, 100, scenario='reg_two',
              contact2='<%s>' % c2)
    need(run, 'REGISTER two contacts')
    check_bindings(expect_final(run, 200), {c1: 100, c2: 100})
    check_bindings(reg_ok(ctx, ext, '*', 0), {})
    check_bindings(query(ctx, ext), {})


def case_register_tcp(ctx):
    ext = '3016'
    port = free_port()
    c1 = contact_uri(ext, port, 'tcp')
    r = reg_ok(ctx, ext, '<%s>' % c1, 60, port=port, transport='tcp')
    check_bindings(r, {c1: 60})
    check_bindings(query(ctx, ext, transport='tcp'), {c1: 60})


def case_options_200(ctx):
    for transport in ('udp', 'tcp'):
        run = ctx.sipp.run('options', free_port(), transport=transport)
        need(run, 'OPTIONS over %s' % transport.upper())


# ---------------------------------------------------------------- calls

def register_callee(ctx, ext, port, transport='udp'):
    c = contact_uri(ext, port, transport)
    run = reg(ctx, ext, '<%s>' % c, 120, port=port, transport=transport)
    need(run, 'REGISTER of callee %s' % ext)
    return c


def call(ctx, uac, callee, uas_list, transport='udp', timeout=15):
    """Start the callee sipps (scenario, port), run the caller, wait for
    all; returns (caller run, [callee runs])."""
    uas_runs = []
    try:
        for scen, port in uas_list:
            uas_runs.append(ctx.sipp.start(scen, port, keys={'user': callee},
                                           transport=transport,
                                           timeout=timeout, uas=True))
        caller = ctx.sipp.run(uac, free_port(),
                              keys={'user': CALLER, 'callee': callee},
                              au=CALLER, ap=pw(CALLER), transport=transport,
                              timeout=timeout,
                              extra=['-auth_uri',
                                     '%s@%s' % (callee, DOMAIN)])
    finally:
        for u in uas_runs:
            u.wait()
    return caller, uas_runs


def call_case(ctx, callee, uac, uas_scens, transport='udp', timeout=15,
              key=None, answered=False):
    ports = []
    for _ in uas_scens:
        port = free_port()
        register_callee(ctx, callee, port, transport)
        ports.append(port)
    caller, callees = call(ctx, uac, callee, list(zip(uas_scens, ports)),
                           transport, timeout)
    if key:
        note_call(ctx, key, caller, callee, answered)
    need(caller, 'caller')
    for c in callees:
        need(c, 'callee')
    return caller, callees


def check_407(caller):
    r407 = caller.received(407)
    if not r407:
        raise Fail('the first INVITE was not challenged with 407: ' +
                   caller.summary())
    check_challenges(r407[0], 'proxy-authenticate')


def case_call_answered_caller_hangs_up(ctx):
    caller, _ = call_case(ctx, '2001', 'uac_call', ['uas_answer'],
                          key='answered', answered=True)
    check_407(caller)
    ctx.shared['answered'] = caller


def case_call_ack_to_407_absorbed(ctx):
    caller = ctx.shared.get('answered')
    if caller is None:
        raise Fail('no answered call to look at')
    invites = caller.sent('INVITE')
    acks = caller.sent('ACK')
    b_inv = (hdr(invites[0], 'via') or '').split('branch=')[-1]
    b_ack = (hdr(acks[0], 'via') or '').split('branch=')[-1]
    if b_inv != b_ack:
        raise Fail('scenario error: ACK branch %s != INVITE branch %s' %
                   (b_ack, b_inv))
    n = len(caller.received(407))
    if n != 1:
        raise Fail('407 received %d times: the ACK (same branch) did not '
                   'stop its retransmission' % n)


def case_call_180_reaches_caller(ctx):
    caller = ctx.shared.get('answered')
    if caller is None:
        raise Fail('no answered call to look at')
    if not caller.received(180):
        raise Fail('caller got no 180: ' + caller.summary())


def case_call_callee_hangs_up(ctx):
    call_case(ctx, '2002', 'uac_call_wait_bye', ['uas_answer_bye'],
              key='callee_hangs_up', answered=True)


def case_call_busy_486(ctx):
    call_case(ctx, '2003', 'uac_call_486', ['uas_busy'], key='busy')


def case_call_cancel_487(ctx):
    call_case(ctx, '2004', 'uac_call_cancel', ['uas_ring'], key='cancel')


def case_call_no_answer(ctx):
    caller, _ = call_case(ctx, '2005', 'uac_call_noanswer', ['uas_ring'],
                          timeout=NOANSWER + 15, key='no_answer')
    final = caller.last_response()
    if final['code'] not in (480, 408):
        raise Fail('caller got "%s", expected 480 or 408' % final['first'])
    t_inv = [t for d, t, m in caller.msgs if d == 'sent' and
             m['method'] == 'INVITE'][-1]
    t_fin = [t for d, t, m in caller.msgs if d == 'recv' and
             m['code'] == final['code']][0]
    if not NOANSWER - 0.5 <= t_fin - t_inv <= NOANSWER + 4:
        raise Fail('%d came %.1fs after the INVITE, expected about %ds' %
                   (final['code'], t_fin - t_inv, NOANSWER))


def case_call_unknown_number_404(ctx):
    caller = ctx.sipp.run('uac_call_404', free_port(),
                          keys={'user': CALLER, 'callee': '1888'},
                          au=CALLER, ap=pw(CALLER),
                          extra=['-auth_uri', '1888@' + DOMAIN])
    note_call(ctx, 'unknown_number', caller, '1888', False)
    need(caller, 'caller dialling 1888 (no such number)')


def case_call_no_contact_480(ctx):
    caller = ctx.sipp.run('uac_call_480', free_port(),
                          keys={'user': CALLER, 'callee': NO_CONTACT},
                          au=CALLER, ap=pw(CALLER),
                          extra=['-auth_uri', NO_CONTACT + '@' + DOMAIN])
    note_call(ctx, 'no_contact', caller, NO_CONTACT, False)
    need(caller, 'caller dialling %s (no contact)' % NO_CONTACT)


def case_call_fork_first_200_wins(ctx):
    caller, callees = call_case(ctx, '2008', 'uac_call',
                                ['uas_answer', 'uas_ring'], key='fork',
                                answered=True)
    if len(caller.received(200, None)) < 1:
        raise Fail('caller got no 200')
    invs = [c.received(method='INVITE') for c in callees]
    if not all(invs):
        raise Fail('not every contact was rung: %s' %
                   [c.summary() for c in callees])


DISPOSITION = {486: 'BUSY', 600: 'BUSY', 408: 'NOANSWER', 480: 'NOANSWER',
               487: 'CANCELLED', 404: 'UNKNOWN', 604: 'UNKNOWN'}


def note_call(ctx, key, caller, callee, answered):
    """Remember a call for the CDR checks: its Call-ID, the callee and
    the final status the caller saw."""
    inv = caller.sent('INVITE')
    final = [m for m in caller.received() if m['code'] and
             m['code'] >= 200 and 'INVITE' in (hdr(m, 'cseq') or '') and
             m['code'] != 407]
    ctx.shared.setdefault('calls', {})[key] = (
        hdr(inv[0], 'call-id') if inv else None, callee,
        None if answered else (final[-1]['code'] if final else None))


def check_cdr(ctx, key):
    if key not in ctx.shared.get('calls', {}):
        raise Fail('the call %s did not run' % key)
    callid, callee, code = ctx.shared['calls'][key]
    deadline = time.monotonic() + 5
    while True:
        how, rows = ctx.server.cdrs()
        row = [r for r in rows if r.get('call_id') == callid]
        # an ended call has its end time
        if (row and row[0].get('end_ms')) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not row:
        raise Fail('no CDR with call_id %s (%s; %d rows)' %
                   (callid, how, len(rows)))
    r = row[0]
    ctx.notes.append('CDRs read through ' + how)
    if r.get('caller') != CALLER or r.get('callee') != callee:
        raise Fail('CDR caller/callee %r/%r, expected %s/%s' %
                   (r.get('caller'), r.get('callee'), CALLER, callee))
    if not r.get('end_ms'):
        raise Fail('CDR has no end time: %r' % r)
    if code is None:
        if not r.get('answer_ms') or r['end_ms'] < r['answer_ms']:
            raise Fail('answered call, CDR times wrong: %r' % r)
        want = 'ANSWERED'
    else:
        if r.get('answer_ms'):
            raise Fail('unanswered call (%d), CDR has an answer time: %r' %
                       (code, r))
        want = DISPOSITION.get(code, 'FAILED')
    got = str(r.get('disposition', ''))
    if got.upper() != want or (code is not None and r.get('cause') != code):
        raise Fail('caller got %s, CDR says disposition %s cause %s '
                   '(%r), expected %s%s' % (
                       code or 200, got, r.get('cause'), r.get('reason'),
                       want, '' if code is None else ' cause %d' % code))


def cdr_case(key):
    def case(ctx):
        check_cdr(ctx, key)
    case.__name__ = 'case_cdr_' + key
    return case


def case_call_tcp(ctx):
    caller, _ = call_case(ctx, '2010', 'uac_call', ['uas_answer'],
                          transport='tcp')
    check_407(caller)


def case_call_tcp_callee_hangs_up(ctx):
    call_case(ctx, '2011', 'uac_call_wait_bye', ['uas_answer_bye'],
              transport='tcp')


def case_call_tcp_cancel_487(ctx):
    call_case(ctx, '2012', 'uac_call_cancel', ['uas_ring'],
              transport='tcp', key='tcp_cancel')


# ---------------------------------------------------------------- mid-call

# o= session versions in the scenarios: 2353687637 in the first offer or
# answer, +1 for hold, +2 for resume
HOLD_V, RESUME_V = '2353687638', '2353687639'


def sdp_direction(body):
    """The last a=sendrecv/sendonly/recvonly/inactive of an SDP body (the
    scenarios have one media line), or None."""
    d = re.findall(r'^a=(sendrecv|sendonly|recvonly|inactive)\s*$', body,
                   re.M)
    return d[-1] if d else None


def sdp_origin(body):
    """(username, session version) of the o= line, or None."""
    m = re.search(r'^o=(\S+) \S+ (\S+) ', body, re.M)
    return (m.group(1), m.group(2)) if m else None


def sdp_desc(msg):
    """A message's SDP in a few words, for failure messages and notes."""
    body = msg['body']
    if 'm=audio' not in body:
        return 'no SDP'
    o = sdp_origin(body)
    return 'SDP o=%s version %s, %s' % (
        o[0] if o else '?', o[1] if o else '?',
        'a=' + sdp_direction(body) if sdp_direction(body)
        else 'no direction attribute (sendrecv)')


def final_to(run, cseq, method='INVITE'):
    """The first final response run received to its request CSeq cseq."""
    r = [m for m in run.received() if m['code'] and m['code'] >= 200 and
         (hdr(m, 'cseq') or '').split() == [str(cseq), method]]
    return r[0] if r else None


def requests_got(run, method):
    """The distinct requests of a method run received (no
    retransmissions), in order."""
    seen, out = set(), []
    for m in run.received(method=method):
        key = (hdr(m, 'cseq'), branch_of(m))
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def check_offer_answered(run, cseq, what, who):
    """run's re-INVITE CSeq cseq got 200 with SDP; returns the 200."""
    r = final_to(run, cseq)
    if r is None:
        raise Fail('%s re-INVITE (%s, CSeq %d) got no final response: %s' %
                   (who, what, cseq, run.summary()))
    if r['code'] != 200 or 'm=audio' not in r['body']:
        raise Fail('%s re-INVITE (%s, CSeq %d) got "%s" with %s, expected '
                   '200 with SDP' % (who, what, cseq, r['first'],
                                     sdp_desc(r)))
    return r


def check_offer_relayed(run, msg, what, who, user, direction, version):
    """A re-INVITE the far side (run) got carries the offer as sent."""
    if msg is None:
        raise Fail('%s got no %s re-INVITE: %s' % (who, what,
                                                    run.summary()))
    body = msg['body']
    if (sdp_direction(body) != direction or
            sdp_origin(body) != (user, version)):
        raise Fail('%s got a %s re-INVITE with %s, expected a=%s and '
                   'o=%s version %s: %s' % (who, what, sdp_desc(msg),
                                            direction, user, version,
                                            run.summary()))


def check_mirrored(answer, direction, after, what):
    """An answer made at once must mirror the offer's direction and carry
    an o= version above the one the side saw before (RFC 3264)."""
    body = answer['body']
    got = sdp_direction(body) or 'sendrecv'
    o = sdp_origin(body)
    if got != direction or not o or int(o[1]) <= int(after):
        raise Fail('%s: answered with %s, expected a=%s and o= version '
                   'above %s' % (what, sdp_desc(answer), direction, after))
    return int(o[1])


def case_reinvite_hold(ctx):
    callee = '2016'
    port = free_port()
    register_callee(ctx, callee, port)
    caller, (uas,) = call(ctx, 'uac_call_reinvite', callee,
                          [('uas_answer_reinvite', port)])
    steps = ((3, 'hold', 'sendonly', HOLD_V),
             (4, 'resume', 'sendrecv', RESUME_V))
    got = requests_got(uas, 'INVITE')[1:]
    answers = []
    for i, (cseq, what, direction, version) in enumerate(steps):
        answers.append(check_offer_answered(
            caller, cseq, '%s, a=%s' % (what, direction), "the caller's"))
        check_offer_relayed(uas, got[i] if i < len(got) else None, what,
                            'the callee', 'caller', direction, version)
    seen = check_mirrored(answers[0], 'recvonly', int(HOLD_V) - 1,
                          'hold from the caller')
    check_mirrored(answers[1], 'sendrecv', seen, 'resume from the caller')
    need(caller, 'caller')
    need(uas, 'callee')
    ctx.notes.append(
        'reinvite_hold: the caller got at once, as the answer to hold '
        '(a=sendonly): %s; to resume (a=sendrecv): %s. The callee had '
        'answered them a=recvonly and a=sendrecv' % (
            sdp_desc(answers[0]), sdp_desc(answers[1])))


def case_reinvite_from_callee(ctx):
    callee = '2017'
    port = free_port()
    register_callee(ctx, callee, port)
    caller, (uas,) = call(ctx, 'uac_call_answer_reinvite', callee,
                          [('uas_answer_hold', port)])
    if not uas.sent('INVITE'):
        raise Fail('the callee never got to send its re-INVITE: ' +
                   uas.summary())
    answer = check_offer_answered(uas, 1, 'hold, a=sendonly',
                                  "the callee's")
    got = requests_got(caller, 'INVITE')
    check_offer_relayed(caller, got[0] if got else None, 'hold',
                        'the caller', 'callee', 'sendonly', HOLD_V)
    check_mirrored(answer, 'recvonly', int(HOLD_V) - 1, 'hold from the callee')
    need(caller, 'caller')
    need(uas, 'callee')
    ctx.notes.append(
        'reinvite_from_callee: the callee got at once, as the answer to '
        'hold (a=sendonly): %s. The caller had answered it a=recvonly' %
        sdp_desc(answer))


def case_early_media(ctx):
    callee = '2018'
    port = free_port()
    register_callee(ctx, callee, port)
    caller, (uas,) = call(ctx, 'uac_call_early', callee,
                          [('uas_early_media', port)])
    if not [m for d, _, m in uas.msgs if d == 'sent' and m['code'] == 183]:
        raise Fail('the callee never sent its 183: ' + uas.summary())
    r183 = caller.received(183)
    if not r183:
        raise Fail('the callee sent 183 with SDP, the caller got no 183: '
                   '%s' % caller.summary())
    if (sdp_origin(r183[0]['body']) or ('',))[0] != 'callee-early':
        raise Fail('183 reached the caller with %s, expected the callee\'s '
                   'early SDP (o=callee-early)' % sdp_desc(r183[0]))
    order = [m['code'] for m in caller.received() if m['code'] in
             (183, 200) and 'INVITE' in (hdr(m, 'cseq') or '')]
    if 200 not in order or order.index(200) < order.index(183):
        raise Fail('the caller got %s, expected 183 then 200: %s' %
                   (order, caller.summary()))
    need(caller, 'caller')
    need(uas, 'callee')


# ---------------------------------------------------------------- odd requests

PROBE_SDP = ('v=0\r\no=probe 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\n'
             't=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
             % (HOST, HOST))


def check_allow(resp, what):
    allow = ', '.join(hdrs(resp, 'allow'))
    if not allow:
        raise Fail('%s: "%s" without an Allow header' % (what,
                                                         resp['first']))
    methods = set(m.strip().upper() for m in allow.split(',') if m.strip())
    missing = set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS']) - methods
    if missing:
        raise Fail('%s: Allow: %s lacks %s' % (what, allow,
                                               ', '.join(sorted(missing))))
    return methods


def case_unknown_method(ctx):
    ruri = 'sip:%s@%s' % (CALLER, DOMAIN)
    cl = UdpClient(ctx.server.sip_port)
    try:
        r = cl.request('FOO', ruri, new_callid())
        if r['code'] != 501:
            raise Fail('FOO %s out of dialog: "%s", expected 501' %
                       (ruri, r['first']))
        if 'FOO' in check_allow(r, '501 to FOO'):
            raise Fail('501 to FOO, yet Allow: %s' %
                       ', '.join(hdrs(r, 'allow')))
        what = 'MESSAGE %s out of dialog' % ruri
        try:
            r = cl.request('MESSAGE', ruri, new_callid(), body='hello',
                           ctype='text/plain')
        except Fail:
            raise Fail('%s: no final response in 4s' % what)
        ctx.notes.append('unknown_method: %s got "%s"%s' % (
            what, r['first'], (' (Allow: %s)' % ', '.join(hdrs(r, 'allow')))
            if hdrs(r, 'allow') else ''))
        if r['code'] >= 500 and r['code'] != 501:
            raise Fail('%s: "%s"' % (what, r['first']))
        if r['code'] == 501:
            check_allow(r, '501 to MESSAGE')
    finally:
        cl.close()


def case_max_forwards_zero(ctx):
    cl = UdpClient(ctx.server.sip_port)
    try:
        ruri = 'sip:2001@%s' % DOMAIN
        r = cl.request('INVITE', ruri, new_callid(), max_forwards=0,
                       body=PROBE_SDP)
        if r['code'] != 483:
            raise Fail('INVITE %s with Max-Forwards: 0: "%s", expected 483'
                       % (ruri, r['first']))
        ruri = 'sip:%s' % DOMAIN
        r = cl.request('OPTIONS', ruri, new_callid(), max_forwards=0)
        if r['code'] != 200:
            raise Fail('OPTIONS %s with Max-Forwards: 0: "%s", expected 200'
                       % (ruri, r['first']))
        check_allow(r, '200 to OPTIONS')
    finally:
        cl.close()


def case_in_dialog_unknown(ctx):
    cl = UdpClient(ctx.server.sip_port)
    try:
        # as if to the server's Contact in a call that never was
        ruri = 'sip:%s@%s:%d' % (CALLER, HOST, ctx.server.sip_port)
        for method, body in (('BYE', ''), ('INVITE', PROBE_SDP),
                             ('OPTIONS', '')):
            r = cl.request(method, ruri, new_callid(), cseq=7,
                           from_tag='madeup%08x' % random.getrandbits(32),
                           to_tag='madeup%08x' % random.getrandbits(32),
                           body=body)
            if r['code'] != 481:
                raise Fail('%s with a made-up Call-ID and tags: "%s", '
                           'expected 481' % (method, r['first']))
    finally:
        cl.close()


# ---------------------------------------------------------------- restart

def case_register_survives_restart(ctx):
    ext = '3020'
    c1, c2 = contact_uri(ext, 5901), contact_uri(ext, 5902, 'tcp')
    run = reg(ctx, ext, '<%s>' % c1, 200, scenario='reg_two',
              contact2='<%s>;expires=250' % c2)
    need(run, 'REGISTER two contacts')
    check_bindings(expect_final(run, 200), {c1: 200, c2: 250})
    # a nonce handed out before the restart, for the next case
    cl = UdpClient(ctx.server.sip_port)
    try:
        r = cl.register('3021', new_callid(), 1,
                        contact='<%s>' % contact_uri('3021', cl.port),
                        expires=60)
        if r['code'] == 401:
            ctx.shared['old_nonce'] = challenges(r)[0][1]['nonce']
    finally:
        cl.close()
    t0 = time.monotonic()
    ctx.server.restart()
    slack = 3 + int(time.monotonic() - t0)
    check_bindings(query(ctx, ext), {c1: 200, c2: 250}, slack=slack)


def case_register_nonce_from_before_restart_stale(ctx):
    nonce = ctx.shared.get('old_nonce')
    if not nonce:
        raise Fail('no nonce was got before the restart')
    ext = '3021'
    cl = UdpClient(ctx.server.sip_port)
    try:
        cid = new_callid()
        contact = '<%s>' % contact_uri(ext, cl.port)
        r, _ = py_register(ctx, cl, ext, cid, 1, nonce, contact=contact)
        if r['code'] != 401:
            raise Fail('REGISTER with a nonce from before the restart: '
                       '"%s", expected 401 stale=true' % r['first'])
        ch = check_challenges(r, 'www-authenticate', stale=True)
        r, _ = py_register(ctx, cl, ext, cid, 2, ch[0][1]['nonce'],
                           contact=contact)
        if r['code'] != 200:
            raise Fail('answer to the stale challenge: "%s"' % r['first'])
    finally:
        cl.close()


def case_call_after_restart(ctx):
    # a callee registered before the restart is still reachable
    callee = '2013'
    port = free_port()
    register_callee(ctx, callee, port)
    ctx.server.restart()
    caller, callees = call(ctx, 'uac_call', callee, [('uas_answer', port)])
    need(caller, 'caller')
    need(callees[0], 'callee')


CASES = [
    case_options_200,
    case_register_401_two_challenges,
    case_register_md5_200_lists_contacts,
    case_register_wrong_password_403,
    case_register_unknown_user_403,
    case_register_foreign_aor_403,
    case_register_made_up_nonce_stale,
    case_register_nc_replay_stale,
    case_register_sha256,
    case_register_nonce_for_expiry,
    case_register_two_contacts_own_expiry,
    case_register_expires_header,
    case_register_refresh_same_contact,
    case_register_below_min_423,
    case_register_above_max_clamped,
    case_register_expires_0_removes_one,
    case_register_star_removes_all,
    case_register_tcp,
    case_call_answered_caller_hangs_up,
    case_call_ack_to_407_absorbed,
    case_call_180_reaches_caller,
    case_call_callee_hangs_up,
    case_call_busy_486,
    case_call_cancel_487,
    case_call_no_answer,
    case_call_unknown_number_404,
    case_call_no_contact_480,
    case_call_fork_first_200_wins,
    case_call_tcp,
    case_call_tcp_callee_hangs_up,
    case_call_tcp_cancel_487,
    case_reinvite_hold,
    case_reinvite_from_callee,
    case_early_media,
    case_unknown_method,
    case_max_forwards_zero,
    case_in_dialog_unknown,
    cdr_case('answered'),
    cdr_case('callee_hangs_up'),
    cdr_case('busy'),
    cdr_case('cancel'),
    cdr_case('no_answer'),
    cdr_case('unknown_number'),
    cdr_case('no_contact'),
    cdr_case('fork'),
    cdr_case('tcp_cancel'),
    case_register_expired_nonce_stale,
    case_register_survives_restart,
    case_register_nonce_from_before_restart_stale,
    case_call_after_restart,
]


def find_binary():
    b = os.environ.get('top_builddir')
    if b:
        return os.path.abspath(os.path.join(b, 'switchboard')) \
            if os.access(os.path.join(b, 'switchboard'), os.X_OK) else None
    # make check runs the tests from the top of the build tree
    cands = [os.path.join(os.getcwd(), 'switchboard'),
             os.path.join(HERE, '..', '..', '..', 'switchboard')]
    for c in cands:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def find_scendir():
    s = os.environ.get('top_srcdir')
    if s and os.path.exists(os.path.join(s, 'test/sip/scenarios/reg.xml')):
        return os.path.abspath(os.path.join(s, 'test/sip/scenarios'))
    return HERE


def main(argv):
    only = None
    keep = '--keep' in argv
    if '-k' in argv:
        only = argv[argv.index('-k') + 1]
    if not shutil.which('sipp'):
        print('SKIP: sipp is not installed (apt-get install sip-tester)')
        return 77
    binary = find_binary()
    if not binary:
        print('FAIL setup: no switchboard binary (set top_builddir)')
        return 1
    work = tempfile.mkdtemp(prefix='sb-scenarios-')
    server = sbtest.Server(binary, work, CONF)
    ctx = Ctx(server, sbtest.Sipp(find_scendir(), work, server))
    failed = passed = 0
    t_start = time.monotonic()
    print('switchboard %s, work dir %s' % (binary, work))
    try:
        server.start()
        how = server.add_extensions(EXTS)
        print('# extensions created through the %s' %
              ('HTTP API' if how == 'api' else 'SQLite store (API did not '
               'answer)'))
        for case in CASES:
            name = case.__name__[len('case_'):]
            if only and only not in name:
                continue
            if not server.alive():
                print('# server not running before %s; restarting it' % name)
                try:
                    server.start()
                except Fail as e:
                    print('FAIL %s: server could not be restarted: %s' %
                          (name, e))
                    failed += 1
                    continue
            t0 = time.monotonic()
            try:
                case(ctx)
                if not server.alive():
                    raise Fail('switchboard died: ' + server.log_tail(15))
                print('ok %s (%.1fs)' % (name, time.monotonic() - t0))
                passed += 1
            except Fail as e:
                why = str(e).replace('\n', ' ')
                if not server.alive():
                    why += ' [switchboard died: %s]' % server.log_tail(15)
                print('FAIL %s: %s' % (name, why))
                failed += 1
            except Exception:  # a bug in the test itself
                print('FAIL %s: test error: %s' % (
                    name, traceback.format_exc().replace('\n', ' | ')))
                failed += 1
            sys.stdout.flush()
    except Fail as e:
        print('FAIL setup: %s' % e)
        failed += 1
    finally:
        rc = server.stop()
        log = server.log_text()
        if any(s in log for s in ('AddressSanitizer', 'LeakSanitizer',
                                  'runtime error:')):
            print('FAIL sanitizer: report in %s' % server.logpath)
            failed += 1
        elif rc not in (0, None):
            print('FAIL shutdown: switchboard exited with %s on SIGTERM' % rc)
            failed += 1
        for n in sorted(set(ctx.notes)):
            print('# ' + n)
        print('# %.1fs' % (time.monotonic() - t_start))
        print('%d passed, %d failed' % (passed, failed))
        if failed or keep:
            print('# logs kept in %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
