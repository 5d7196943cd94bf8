"""Real SIP phones for Switchboard's end-to-end tests.

BaresipPhone drives one ``baresip`` 1.0.0 process headless through its
``ctrl_tcp`` module (netstrings carrying JSON).  LinphonePhone drives one
``linphonec`` 5.1 process over stdin/stdout.

Both write everything (config, logs, recordings) below a working directory
given by the caller, start exactly one child process, remember its PID and
stop only that process.  Every wait is bounded by a timeout; a timeout raises
PhoneTimeout with what was seen so far.

Only the Python standard library is used.
"""

import atexit
import ctypes
import glob
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

__all__ = ["PhoneError", "PhoneTimeout", "BaresipPhone", "LinphonePhone"]


class PhoneError(Exception):
    """A phone could not be started or refused a command."""


class PhoneTimeout(PhoneError, AssertionError):
    """A bounded wait ran out.  Also an AssertionError, so tests fail on it."""


# --------------------------------------------------------------------------
# process helpers

_live = set()           # phones with a running child, stopped at exit


def _stop_all_at_exit():
    for ph in list(_live):
        try:
            ph.stop(timeout=2)
        except Exception:
            pass


atexit.register(_stop_all_at_exit)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when this Python process dies,
    so a crashed or killed test cannot leave phones behind (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _stop_process(proc, timeout):
    """Stop one child by its PID: SIGTERM, then SIGKILL after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def _check_free(name, addr, ports):
    """Raise PhoneError if any (socktype, port, what) is already bound."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for typ, port, what in ports:
        s = socket.socket(fam, typ)
        try:
            if typ == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
        except OSError as e:
            raise PhoneError("%s: %s port %s:%d is not free (%s); pick other "
                             "base ports" % (name, what, addr, port, e))
        finally:
            s.close()


_NOISE = re.compile(r"^\s*(\[\d+:\d\d:\d\d\] audio=.*)?$")


def _tail(path, nlines=25):
    """Last lines of a log, without blank lines and baresip's '\\r[0:00:01]
    audio=0/0 (bit/s)' status lines."""
    try:
        with open(path, "r", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return "(no log: %s)" % e
    lines = [ln for ln in re.split(r"[\r\n]+", text) if not _NOISE.match(ln)]
    return "\n".join(lines[-nlines:])


# --------------------------------------------------------------------------
# baresip

class BaresipPhone:
    """One headless baresip 1.0.0 phone.

    phone = BaresipPhone("alice", "/tmp/x/alice", "127.0.0.1", sip_port=26070,
                         ctrl_port=26075, rtp_ports=(27700, 27799),
                         tone_wav="/tmp/x/tone-1000.wav")
    phone.start()
    phone.add_account("<sip:1001@pbx.local;transport=udp>;auth_pass=...")
    phone.wait_event("REGISTER_OK", 5)
    phone.dial("sip:1002@pbx.local")
    phone.wait_event("CALL_ESTABLISHED", 5)
    ...
    phone.hangup(); phone.wait_event("CALL_CLOSED", 5)
    phone.stop()
    phone.recordings()     # what it heard: [.../rec/dump-...-dec.wav]

    The TLS listener takes sip_port+1, so leave that port free too.
    Usable as a context manager (stops on exit).
    """

    BARESIP = "baresip"
    MODULE_PATH = "/usr/lib/baresip/modules"

    def __init__(self, name, workdir, addr="127.0.0.1", sip_port=26070,
                 ctrl_port=26075, rtp_ports=(27700, 27799), tone_wav=None,
                 srate=8000, channels=1, modules=("g711.so", "g722.so",
                                                  "opus.so"),
                 extra_config="", lifetime=300, sip_trace=False,
                 verbose=False):
        self.name = name
        self.workdir = os.path.abspath(workdir)
        self.addr = addr
        self.sip_port = int(sip_port)
        self.ctrl_port = int(ctrl_port)
        self.rtp_ports = (int(rtp_ports[0]), int(rtp_ports[1]))
        self.tone_wav = os.path.abspath(tone_wav) if tone_wav else None
        self.srate = srate
        self.channels = channels
        self.modules = list(modules)
        self.extra_config = extra_config
        self.lifetime = lifetime        # baresip -t: a last-resort self-stop
        self.sip_trace = sip_trace
        self.verbose = verbose
        self.rec_dir = os.path.join(self.workdir, "rec")
        self.log_path = os.path.join(self.workdir, "baresip.log")
        self.events_path = os.path.join(self.workdir, "events.jsonl")
        self.proc = None
        self.pid = None
        self._sock = None
        self._reader = None
        self._cond = threading.Condition()
        self._events = []           # every event, in arrival order
        self._consumed = set()      # indexes of events returned by wait_event
        self._responses = {}        # token -> response dict
        self._token = 0
        self._closed = False
        self._send_lock = threading.Lock()

    # ---- setup ----------------------------------------------------------

    @property
    def uri(self):
        """Where this phone can be reached directly (no registrar)."""
        return "sip:%s@%s:%d" % (self.name, self.addr, self.sip_port)

    def write_config(self):
        os.makedirs(self.rec_dir, exist_ok=True)
        if not self.tone_wav:
            raise ValueError("%s: tone_wav is required (aufile source)"
                             % self.name)
        source = "aufile,%s" % self.tone_wav
        lines = [
            "poll_method        epoll",
            "sip_listen         %s:%d" % (self._hostport_addr(),
                                          self.sip_port),
            "net_interface      %s" % self.addr,
            "dns_server         127.0.0.1:53",
            "audio_player       none,nil",
            "audio_source       %s" % source,
            "audio_alert        none,nil",
            "ausrc_srate        %d" % self.srate,
            "ausrc_channels     %d" % self.channels,
            "rtp_ports          %d-%d" % self.rtp_ports,
            "module_path        %s" % self.MODULE_PATH,
        ]
        for m in self.modules:
            lines.append("module             %s" % m)
        lines += [
            "module             aufile.so",
            "module             sndfile.so",
            "module_tmp         uuid.so",
            "module_app         menu.so",
            "module_app         ctrl_tcp.so",
            "ctrl_tcp_listen    %s:%d" % (self._hostport_addr(),
                                          self.ctrl_port),
            "snd_path           %s" % self.rec_dir,
            "ringback_disabled  yes",
        ]
        if self.extra_config:
            lines.append(self.extra_config.rstrip("\n"))
        with open(os.path.join(self.workdir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n")
        # Accounts are created over ctrl_tcp (uanew) so that the events
        # (REGISTER_OK...) reach our connection.  An empty file keeps baresip
        # from writing its template.
        with open(os.path.join(self.workdir, "accounts"), "w") as f:
            f.write("")
        with open(os.path.join(self.workdir, "contacts"), "w") as f:
            f.write("")

    def _hostport_addr(self):
        return "[%s]" % self.addr if ":" in self.addr else self.addr

    def start(self, timeout=10):
        """Write the config, start baresip and connect to ctrl_tcp."""
        if self.proc is not None:
            raise PhoneError("%s: already started" % self.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.write_config()
        # A ctrl port already taken would connect us to someone else's
        # baresip; refuse early with a clear message instead.
        _check_free(self.name, self.addr, [
            (socket.SOCK_STREAM, self.ctrl_port, "ctrl_tcp"),
            (socket.SOCK_DGRAM, self.sip_port, "SIP/UDP"),
            (socket.SOCK_STREAM, self.sip_port, "SIP/TCP"),
            (socket.SOCK_STREAM, self.sip_port + 1, "SIP/TLS")])
        cmd = [self.BARESIP, "-f", self.workdir, "-t", str(int(self.lifetime))]
        if ":" in self.addr:
            cmd.append("-6")
        if self.sip_trace:
            cmd.append("-s")
        if self.verbose:
            cmd.append("-v")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.workdir,
                preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.pid = self.proc.pid
        _live.add(self)
        try:
            self._connect(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _connect(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PhoneError("%s: baresip exited with %s at start; log:\n%s"
                                 % (self.name, self.proc.returncode,
                                    _tail(self.log_path)))
            try:
                s = socket.create_connection((self.addr, self.ctrl_port),
                                             timeout=1)
                break
            except OSError as e:
                last = e
                time.sleep(0.05)
        else:
            raise PhoneTimeout("%s: ctrl_tcp %s:%d not reachable within %.1fs "
                               "(%s); log:\n%s" % (self.name, self.addr,
                                                   self.ctrl_port, timeout,
                                                   last, _tail(self.log_path)))
        s.settimeout(None)
        self._sock = s
        self._reader = threading.Thread(target=self._read_loop,
                                        name="ctrl-%s" % self.name,
                                        daemon=True)
        self._reader.start()
        # ctrl_tcp accepts before the UA stack is fully up: one round trip
        # makes sure commands are being processed.
        self.command("listcalls", timeout=timeout)

    def stop(self, timeout=3):
        """Ask baresip to quit, then SIGTERM, then SIGKILL (this PID only)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None and self._sock is not None:
            try:
                self._send({"command": "quit", "token": "quit"})
                proc.wait(timeout=timeout)
            except Exception:
                pass
        _stop_process(proc, timeout)
        self._close_sock()
        _live.discard(self)

    def _close_sock(self):
        self._closed = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _status(self):
        if self.proc is None:
            return "never started"
        rc = self.proc.poll()
        return "running" if rc is None else "exit status %s" % rc

    # ---- ctrl_tcp -------------------------------------------------------

    def _send(self, obj):
        data = json.dumps(obj).encode()
        frame = str(len(data)).encode() + b":" + data + b","
        with self._send_lock:
            if self._sock is None:
                raise PhoneError("%s: not connected" % self.name)
            self._sock.sendall(frame)

    def _read_loop(self):
        buf = b""
        sock = self._sock
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    colon = buf.find(b":")
                    if colon < 0:
                        break
                    try:
                        n = int(buf[:colon])
                    except ValueError:
                        self._note_garbage(buf)
                        buf = b""
                        break
                    if len(buf) < colon + 1 + n + 1:
                        break
                    payload = buf[colon + 1:colon + 1 + n]
                    buf = buf[colon + 1 + n + 1:]     # drop the ','
                    self._dispatch(payload)
        except OSError:
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _note_garbage(self, data):
        with self._cond:
            self._events.append({"event": True, "type": "HARNESS_GARBAGE",
                                 "data": data[:200].decode(errors="replace")})
            self._cond.notify_all()

    def _dispatch(self, payload):
        try:
            msg = json.loads(payload.decode("utf-8", errors="replace"))
        except ValueError:
            self._note_garbage(payload)
            return
        with self._cond:
            if msg.get("event"):
                msg["_t"] = time.monotonic()
                self._events.append(msg)
                try:
                    with open(self.events_path, "a") as f:
                        f.write(json.dumps(msg) + "\n")
                except OSError:
                    pass
            elif msg.get("response"):
                self._responses[str(msg.get("token"))] = msg
            self._cond.notify_all()

    def command(self, command, params=None, timeout=5, check=True):
        """Run one ctrl_tcp command; return its response dict
        ({"response":true,"ok":bool,"data":str,"token":..})."""
        with self._cond:
            self._token += 1
            token = "%s-%d" % (self.name, self._token)
        msg = {"command": command, "token": token}
        if params is not None:
            msg["params"] = params
        self._send(msg)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise PhoneTimeout(
                        "%s: no response to %r %r within %.1fs%s; events: %s; "
                        "log:\n%s" % (self.name, command, params, timeout,
                                      " (connection closed)" if self._closed
                                      else "", self._event_summary(),
                                      _tail(self.log_path)))
                self._cond.wait(left)
            resp = self._responses.pop(token)
        if check and not resp.get("ok", False):
            raise PhoneError("%s: command %r %r failed: %r"
                             % (self.name, command, params, resp.get("data")))
        return resp

    # ---- events ---------------------------------------------------------

    def events(self):
        """A copy of every event seen so far."""
        with self._cond:
            return list(self._events)

    def _event_summary(self):
        out = []
        for e in self._events:
            s = e.get("type", "?")
            if e.get("param"):
                s += "(%s)" % e["param"]
            out.append(s)
        return "[" + ", ".join(out) + "]" if out else "[none]"

    def wait_event(self, type, timeout=10, match=None, fail_on=()):
        """Wait for the oldest not yet returned event of `type` (a string or
        a tuple of strings); `match` is an optional predicate on the event
        dict.  If an event whose type is in `fail_on` arrives first, raise
        PhoneError at once.  Returns the event dict."""
        types = (type,) if isinstance(type, str) else tuple(type)
        fail_on = (fail_on,) if isinstance(fail_on, str) else tuple(fail_on)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, e in enumerate(self._events):
                    if i in self._consumed:
                        continue
                    t = e.get("type")
                    if t in types and (match is None or match(e)):
                        self._consumed.add(i)
                        return e
                    if t in fail_on:
                        self._consumed.add(i)
                        raise PhoneError(
                            "%s: got %s%s while waiting for %s; events seen: "
                            "%s" % (self.name, t,
                                    "(%s)" % e.get("param", ""),
                                    "/".join(types), self._event_summary()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PhoneTimeout(
                        "%s: no %s event within %.1fs; events seen: %s%s; "
                        "log tail:\n%s" % (
                            self.name, "/".join(types), timeout,
                            self._event_summary(),
                            "" if self.running() else
                            " (baresip not running: %s)" % self._status(),
                            _tail(self.log_path)))
                if self._closed and not self.running():
                    # socket drained and process gone: nothing more to come
                    raise PhoneError(
                        "%s: baresip not running (%s) before a %s event; "
                        "events seen: %s; log tail:\n%s" % (
                            self.name, self._status(), "/".join(types),
                            self._event_summary(), _tail(self.log_path)))
                self._cond.wait(min(left, 0.5))

    def clear_events(self):
        """Mark every event seen so far as consumed."""
        with self._cond:
            self._consumed.update(range(len(self._events)))

    # ---- commands -------------------------------------------------------

    def add_account(self, aor_line, timeout=5):
        """Create a user agent (``uanew``).  aor_line is a baresip accounts
        line, e.g. '<sip:1001@pbx.local;transport=udp>;auth_pass=secret;
        outbound="sip:127.0.0.1:5060;transport=udp";regint=300;
        answermode=auto;audio_codecs=pcmu' (one line, no spaces needed)."""
        resp = self.command("uanew", aor_line, timeout=timeout)
        data = resp.get("data", "")
        if "could not" in data.lower() or "error" in data.lower():
            raise PhoneError("%s: uanew %r failed: %s"
                             % (self.name, aor_line, data))
        return resp

    def dial(self, uri, timeout=5, clear=True):
        """``dial`` uri.  With `clear` (default) every event seen so far is
        marked consumed first, so that later waits see only this call's
        events (baresip's events of a stale earlier call would match
        too)."""
        if clear:
            self.clear_events()
        return self.command("dial", uri, timeout=timeout)

    def accept(self, timeout=5):
        """Answer the current incoming call (when answermode is manual)."""
        return self.command("accept", timeout=timeout)

    def hangup(self, timeout=5):
        return self.command("hangup", timeout=timeout)

    def listcalls(self, timeout=5):
        """Return the text of ``listcalls``."""
        return self.command("listcalls", timeout=timeout).get("data", "")

    def send_dtmf(self, digits, timeout=5):
        return self.command("sndcode", digits, timeout=timeout)

    def recordings(self):
        """What this phone heard: snd_path/dump-*-dec.wav, oldest first."""
        return sorted(glob.glob(os.path.join(self.rec_dir, "dump-*-dec.wav")),
                      key=lambda p: (os.path.getmtime(p), p))

    def log(self):
        """baresip's output so far, without the status-line noise."""
        return _tail(self.log_path, 10 ** 6)

    def __repr__(self):
        return "<BaresipPhone %s pid=%s %s>" % (self.name, self.pid, self.uri)


# --------------------------------------------------------------------------
# linphonec

_LINPHONE_EVENTS = [
    ("CALL_INCOMING", re.compile(
        r"Receiving new incoming call from (?P<uri>\S+), assigned id "
        r"(?P<id>\d+)")),
    ("CALL_OUTGOING", re.compile(
        r"Establishing call id to (?P<uri>\S+), assigned id (?P<id>\d+)")),
    ("CALL_PROGRESS", re.compile(
        r"Call (?P<id>\d+) to (?P<uri>\S+) in progress\.")),
    ("CALL_RINGING", re.compile(
        r"Call (?P<id>\d+) to (?P<uri>\S+) ringing\.")),
    ("CALL_EARLY_MEDIA", re.compile(
        r"Call (?P<id>\d+) with (?P<uri>\S+) early media\.")),
    ("CALL_ESTABLISHED", re.compile(
        r"Call (?P<id>\d+) with (?P<uri>\S+) connected\.")),
    ("CALL_MEDIA", re.compile(
        r"Media streams established with (?P<uri>\S+) for call (?P<id>\d+)")),
    ("CALL_CLOSED", re.compile(
        r"Call (?P<id>\d+) with (?P<uri>\S+) ended \((?P<param>.*)\)\.")),
    ("CALL_ERROR", re.compile(
        r"Call (?P<id>\d+) with (?P<uri>\S+) error\.")),
    ("CALL_PAUSED", re.compile(
        r"Call (?P<id>\d+) with (?P<uri>\S+) is now paused\.")),
    ("CALL_PAUSED_BY_REMOTE", re.compile(
        r"Call (?P<id>\d+) has been paused by (?P<uri>\S+)")),
    ("CALL_RESUMING", re.compile(
        r"Resuming call (?P<id>\d+) with (?P<uri>\S+)")),
    ("CALL_TRANSFERRED", re.compile(
        r"The distant endpoint (?P<uri>\S+) of call (?P<id>\d+) has been "
        r"transfered")),
]


class LinphonePhone:
    """One linphonec 5.1 phone driven over stdin/stdout.

    phone = LinphonePhone("carol", "/tmp/x/carol", "127.0.0.1", sip_port=5072,
                          rtp_port=7078, tone_wav="/tmp/x/tone-1300.wav")
    phone.configure_account("1003", "pbx.local", "secret",
                            proxy="127.0.0.1:5060")
    phone.start()                                   # waits until registered
    cid = phone.dial("sip:1001@pbx.local")        # waits until connected
    ...
    phone.hangup(cid)
    phone.stop()
    phone.recordings()      # [.../rec/heard-1.wav, ...]: one per call

    linphonec's call messages are parsed into events shaped like baresip's
    ({"type": "CALL_ESTABLISHED", "id": 1, "peeruri": ..., "param": ...,
    "recording": path}); see _LINPHONE_EVENTS for the types.  Raw output
    lines are available through wait_output().

    Files: workdir/linphonerc, workdir/home (HOME, XDG_RUNTIME_DIR=home/run),
    workdir/linphonec.log (all output; '>>> ' marks what we typed),
    workdir/rec/heard-N.wav (what it heard: a fresh file is armed with
    ``record`` at start and after every call end, so each call gets its own).
    Audio: ``soundcard use files``; ``play tone_wav`` is the microphone.
    RTP uses rtp_port (and rtp_port+1 for RTCP).
    """

    LINPHONEC = "linphonec"

    def __init__(self, name, workdir, addr="127.0.0.1", sip_port=5070,
                 rtp_port=7078, tone_wav=None, extra_rc="", verbose=False):
        self.name = name
        self.workdir = os.path.abspath(workdir)
        self.addr = addr
        self.sip_port = int(sip_port)
        self.rtp_port = int(rtp_port)
        self.tone_wav = os.path.abspath(tone_wav) if tone_wav else None
        self.extra_rc = extra_rc
        self.verbose = verbose
        self.home = os.path.join(self.workdir, "home")
        self.rec_dir = os.path.join(self.workdir, "rec")
        self.rc_path = os.path.join(self.workdir, "linphonerc")
        self.log_path = os.path.join(self.workdir, "linphonec.log")
        self.proc = None
        self.pid = None
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._lines = []            # every output line, in order
        self._pos = 0               # wait_output scans from here
        self._typed = []            # commands whose echo is still due
        self._events = []
        self._consumed = set()
        self._closed = False
        self._nrec = 0
        self.current_recording = None
        self._log = None
        self.account = None
        self._stopping = False

    @property
    def uri(self):
        """Where this phone can be reached directly (no registrar)."""
        return "sip:%s@%s:%d" % (self.name, self.addr, self.sip_port)

    def configure_account(self, user, domain, password, proxy=None,
                          expires=300, register=True, transport="udp"):
        """Before start(): put a proxy account into linphonerc with the
        proxy also as outbound route, so that calls to sip:x@domain go
        through it (``register`` on the command line sets no route, and
        liblinphone then resolves `domain` itself).  start() waits until
        it is registered when `register` is true.  `proxy` is 'host:port'
        or 'sip:host:port' (default: domain)."""
        if self.proc is not None:
            raise PhoneError("%s: configure_account() must precede start()"
                             % self.name)
        proxy = proxy or domain
        if proxy.startswith("sip:"):
            proxy = proxy[4:]
        self.account = {"user": user, "domain": domain, "password": password,
                        "proxy": proxy, "expires": int(expires),
                        "register": bool(register), "transport": transport}

    def write_config(self):
        # liblinphone does not listen at all unless this exists
        os.makedirs(os.path.join(self.home, ".local", "share", "linphone"),
                    exist_ok=True)
        os.makedirs(os.path.join(self.home, "run"), exist_ok=True)
        os.makedirs(self.rec_dir, exist_ok=True)
        rc = """\
[sip]
sip_port=%(sip)d
sip_tcp_port=0
sip_tls_port=0
bind_address=%(addr)s
use_ipv6=0
ipv6_migration_done=1
guess_hostname=0
contact=sip:%(name)s@%(addr)s:%(sip)d
register_only_when_network_is_up=0
auto_net_state_mon=0
inc_timeout=60
in_call_timeout=0
delayed_timeout=4
ping_with_options=0
media_encryption=none
[net]
mtu=1300
ipv6_migration_done=1
firewall_policy=0
[rtp]
audio_rtp_port=%(rtp)d
video_rtp_port=%(vrtp)d
bind_address=%(addr)s
audio_jitt_comp=60
nortp_timeout=30
rtcp_mux=0
[sound]
echocancellation=0
agc=0
[video]
enabled=0
capture=0
display=0
automatically_initiate=0
automatically_accept=0
[misc]
version_check_url_root=
[audio_codec_0]
mime=PCMU
rate=8000
channels=1
enabled=1
[audio_codec_1]
mime=PCMA
rate=8000
channels=1
enabled=1
""" % {"sip": self.sip_port, "addr": self.addr, "name": self.name,
       "rtp": self.rtp_port, "vrtp": self.rtp_port + 2}
        others = [("opus", 48000), ("speex", 8000), ("speex", 16000),
                  ("speex", 32000), ("G722", 8000), ("GSM", 8000),
                  ("iLBC", 8000), ("BV16", 8000), ("L16", 44100),
                  ("G729", 8000), ("AMR", 8000), ("AMR-WB", 16000)]
        for i, (mime, rate) in enumerate(others):
            rc += ("[audio_codec_%d]\nmime=%s\nrate=%d\nchannels=1\n"
                   "enabled=0\n" % (i + 2, mime, rate))
        if self.account:
            a = self.account
            rc += ("[proxy_0]\n"
                   "reg_proxy=<sip:%(proxy)s;transport=%(transport)s>\n"
                   "reg_route=<sip:%(proxy)s;transport=%(transport)s;lr>\n"
                   "reg_identity=sip:%(user)s@%(domain)s\n"
                   "reg_expires=%(expires)d\n"
                   "reg_sendregister=%(reg)d\n"
                   "publish=0\n"
                   "dial_escape_plus=0\n"
                   "[auth_info_0]\n"
                   "username=%(user)s\n"
                   "userid=%(user)s\n"
                   "passwd=%(password)s\n"
                   "domain=%(domain)s\n"
                   % dict(a, reg=1 if a["register"] else 0))
            rc = rc.replace("[sip]\n", "[sip]\ndefault_proxy=0\n", 1)
        if self.extra_rc:
            rc += self.extra_rc.rstrip("\n") + "\n"
        with open(self.rc_path, "w") as f:
            f.write(rc)

    # linphonec loads its plugins for seconds on a busy machine (CI
    # runs the sanitizer build while other jobs compile)
    def start(self, timeout=20):
        if self.proc is not None:
            raise PhoneError("%s: already started" % self.name)
        os.makedirs(self.workdir, exist_ok=True)
        self.write_config()
        _check_free(self.name, self.addr, [
            (socket.SOCK_DGRAM, self.sip_port, "SIP/UDP"),
            (socket.SOCK_DGRAM, self.rtp_port, "RTP"),
            (socket.SOCK_DGRAM, self.rtp_port + 1, "RTCP")])
        env = dict(os.environ)
        env["HOME"] = self.home
        env["XDG_RUNTIME_DIR"] = os.path.join(self.home, "run")
        env.pop("DISPLAY", None)
        env.pop("XDG_DATA_HOME", None)
        env.pop("XDG_CONFIG_HOME", None)
        cmd = [self.LINPHONEC, "-c", self.rc_path, "-d",
               "6" if self.verbose else "0"]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=self.workdir, env=env,
            preexec_fn=_die_with_parent, bufsize=0)
        self.pid = self.proc.pid
        _live.add(self)
        threading.Thread(target=self._read_loop, name="linphonec-%s"
                         % self.name, daemon=True).start()
        try:
            # one round trip: the command loop runs
            self.send("soundcard use files")
            self.wait_output(r"^Using wav files instead of soundcard", timeout)
            if self.tone_wav:
                self.send("play %s" % self.tone_wav)
            self._arm_recording()
            self.autoanswer(False)
            if self.account and self.account["register"]:
                self.wait_registered(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _read_loop(self):
        fd = self.proc.stdout.fileno()
        buf = b""
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                parts = re.split(rb"\r?\n|linphonec> ", buf)
                buf = parts.pop()
                for p in parts:
                    self._line(p.decode(errors="replace"))
        except (OSError, ValueError):
            pass
        finally:
            if buf.strip():
                self._line(buf.decode(errors="replace"))
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _line(self, line):
        if not line.strip():
            return
        ev = None
        for typ, rx in _LINPHONE_EVENTS:
            m = rx.search(line)
            if m:
                d = m.groupdict()
                ev = {"event": True, "type": typ, "id": int(d["id"]),
                      "peeruri": d.get("uri"), "param": d.get("param", ""),
                      "recording": self.current_recording,
                      "_t": time.monotonic()}
                break
        with self._cond:
            self._lines.append(line)
            if self._log:
                self._log.write(line + "\n")
                self._log.flush()
            if ev:
                self._events.append(ev)
            self._cond.notify_all()
        if ev and ev["type"] in ("CALL_CLOSED", "CALL_ERROR") \
                and not self._stopping:
            # a fresh file for the next call (record only applies to calls
            # that start later)
            try:
                self._arm_recording()
            except Exception:
                pass

    def _arm_recording(self):
        self._nrec += 1
        path = os.path.join(self.rec_dir, "heard-%d.wav" % self._nrec)
        self.current_recording = path
        self.send("record %s" % path)
        return path

    def send(self, line):
        """Type one command line."""
        if self.proc is None or self.proc.poll() is not None:
            raise PhoneError("%s: linphonec not running; output:\n%s"
                             % (self.name, self.output_tail()))
        with self._send_lock:
            with self._cond:
                self._lines.append(">>> " + line)
                if self._log:
                    self._log.write(">>> " + line + "\n")
                    self._log.flush()
            try:
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError) as e:
                raise PhoneError("%s: linphonec stdin closed (%s)"
                                 % (self.name, e))

    def output_tail(self, n=30):
        with self._cond:
            return "\n".join(self._lines[-n:])

    def log(self):
        with self._cond:
            return "\n".join(self._lines)

    def wait_output(self, regex, timeout=10, fail=None):
        """Wait for an output line, after the last one this returned,
        matching `regex` (what we typed and linphonec's echo of it are
        skipped); a line matching `fail` first raises.  Returns the match."""
        rx = re.compile(regex)
        frx = re.compile(fail) if fail else None
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self._pos < len(self._lines):
                    line = self._lines[self._pos]
                    self._pos += 1
                    if line.startswith(">>> "):
                        self._typed.append(line[4:].strip())
                        continue
                    if line.strip() in self._typed:     # linphonec's echo
                        self._typed.remove(line.strip())
                        continue
                    m = rx.search(line)
                    if m:
                        return m
                    if frx and frx.search(line):
                        raise PhoneError("%s: %r while waiting for %r; "
                                         "output:\n%s" % (self.name, line,
                                                          regex,
                                                          self.output_tail()))
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise PhoneTimeout(
                        "%s: no output matching %r within %.1fs%s; output:\n%s"
                        % (self.name, regex, timeout,
                           " (linphonec exited)" if self._closed else "",
                           self.output_tail()))
                self._cond.wait(left)

    # ---- events ---------------------------------------------------------

    def events(self):
        with self._cond:
            return list(self._events)

    def _event_summary(self):
        out = ["%s#%s%s" % (e["type"], e["id"],
                            "(%s)" % e["param"] if e.get("param") else "")
               for e in self._events]
        return "[" + ", ".join(out) + "]" if out else "[none]"

    def wait_event(self, type, timeout=10, call_id=None, fail_on=()):
        """Like BaresipPhone.wait_event: the oldest not yet returned event of
        `type` (str or tuple), optionally for one call id; an event in
        `fail_on` (for that call) arriving first raises PhoneError."""
        types = (type,) if isinstance(type, str) else tuple(type)
        fail_on = (fail_on,) if isinstance(fail_on, str) else tuple(fail_on)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, e in enumerate(self._events):
                    if i in self._consumed:
                        continue
                    if call_id is not None and e["id"] != call_id:
                        continue
                    if e["type"] in types:
                        self._consumed.add(i)
                        return e
                    if e["type"] in fail_on:
                        self._consumed.add(i)
                        raise PhoneError(
                            "%s: got %s while waiting for %s; events seen: %s"
                            "; output:\n%s" % (self.name, e["type"],
                                               "/".join(types),
                                               self._event_summary(),
                                               self.output_tail()))
                left = deadline - time.monotonic()
                if left <= 0 or (self._closed and not self.running()):
                    raise PhoneTimeout(
                        "%s: no %s event%s within %.1fs%s; events seen: %s; "
                        "output:\n%s" % (
                            self.name, "/".join(types),
                            "" if call_id is None else " for call %d"
                            % call_id, timeout,
                            " (linphonec exited)" if self._closed else "",
                            self._event_summary(), self.output_tail()))
                self._cond.wait(min(left, 0.5))

    def clear_events(self):
        with self._cond:
            self._consumed.update(range(len(self._events)))

    # ---- commands -------------------------------------------------------

    def register(self, user, domain, password, proxy=None, timeout=10):
        """At run time: ``register sip:user@domain PROXY PASSWORD`` and wait
        until registered.  NOTE: this sets no outbound route, so later
        calls to sip:x@domain are sent to `domain` as resolved by DNS (in a
        loopback-only namespace: use an IP literal as domain, or use
        configure_account() before start() instead).  Returns the status
        line."""
        proxy = proxy or "sip:%s" % domain
        if not proxy.startswith("sip:"):
            proxy = "sip:" + proxy
        self.send("register sip:%s@%s %s %s" % (user, domain, proxy,
                                                password))
        return self.wait_registered(timeout, "sip:%s@%s" % (user, domain))

    def wait_registered(self, timeout=10, identity=None):
        """Poll ``status register`` until the default proxy (the only one
        ``status register`` reports on) is registered, as `identity` if
        given.  Returns 'registered, identity=sip:... duration=N'."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.send("status register")
            # On 401/403 with the stored password linphonec prompts
            # "Password for USER on REALM: " and eats the next input line.
            try:
                m = self.wait_output(r"^(registered|unregistered)(.*)", 5,
                                     fail=r"Password for \S+ on \S+:")
            except PhoneTimeout:
                raise
            except PhoneError as e:
                raise PhoneError("%s: registration%s rejected (linphonec asks "
                                 "for a password, so the one given was "
                                 "refused): %s" % (self.name, " of " +
                                                   identity if identity
                                                   else "", e))
            last = m.group(0)
            if last.startswith("registered, identity=") and (
                    identity is None or
                    last.startswith("registered, identity=%s " % identity)):
                return last
            if time.monotonic() > deadline:
                raise PhoneTimeout("%s: not registered within %.1fs (last "
                                   "status: %r); output:\n%s"
                                   % (self.name, timeout, last,
                                      self.output_tail()))
            time.sleep(0.2)

    def autoanswer(self, on=True):
        self.send("autoanswer %s" % ("enable" if on else "disable"))
        self.wait_output(r"^Auto answer %s\." % ("enabled" if on
                                                 else "disabled"), 5)

    def dial(self, uri, timeout=10):
        """Place a call and wait until it is connected.  Returns its id."""
        self.send("call %s" % uri)
        ev = self.wait_event("CALL_OUTGOING", 5)
        self.wait_event("CALL_ESTABLISHED", timeout, call_id=ev["id"],
                        fail_on=("CALL_CLOSED", "CALL_ERROR"))
        return ev["id"]

    def wait_incoming(self, timeout=10):
        """Wait for an incoming call; returns its event (id, peeruri)."""
        return self.wait_event("CALL_INCOMING", timeout)

    def answer(self, call_id=None, timeout=10):
        """Answer an incoming call (the only one, or `call_id`) and wait
        until it is connected."""
        self.send("answer" if call_id is None else "answer %d" % call_id)
        return self.wait_event("CALL_ESTABLISHED", timeout, call_id=call_id,
                               fail_on=("CALL_CLOSED", "CALL_ERROR"))

    def hangup(self, call_id=None, timeout=10):
        """``terminate`` the current call (or `call_id`) and wait for its
        end.  Returns the CALL_CLOSED event."""
        self.send("terminate" if call_id is None else "terminate %d"
                  % call_id)
        return self.wait_event("CALL_CLOSED", timeout, call_id=call_id)

    def wait_ended(self, call_id=None, timeout=10):
        return self.wait_event("CALL_CLOSED", timeout, call_id=call_id)

    def calls(self, timeout=5):
        """Text of the ``calls`` table (best effort)."""
        self.send("calls")
        m = self.wait_output(r"^(Call states|No active call)", timeout)
        time.sleep(0.2)
        return m.group(0) + "\n" + self.output_tail(8)

    def recordings(self):
        """What it heard, one WAV per call, oldest first (only files that
        were actually written)."""
        files = [p for p in glob.glob(os.path.join(self.rec_dir,
                                                   "heard-*.wav"))
                 if os.path.getsize(p) > 44]
        return sorted(files, key=lambda p: int(re.search(r"heard-(\d+)",
                                                         p).group(1)))

    def stop(self, timeout=3):
        """``quit``, then SIGTERM, then SIGKILL (this PID only)."""
        proc = self.proc
        if proc is None:
            return
        self._stopping = True
        if proc.poll() is None:
            try:
                self.send("quit")
                proc.wait(timeout=timeout)
            except Exception:
                pass
        _stop_process(proc, timeout)
        try:
            proc.stdin.close()
        except Exception:
            pass
        _live.discard(self)
        deadline = time.monotonic() + 1
        with self._cond:
            while not self._closed and time.monotonic() < deadline:
                self._cond.wait(0.1)
            if self._log:
                self._log.close()
                self._log = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<LinphonePhone %s pid=%s %s>" % (self.name, self.pid, self.uri)
