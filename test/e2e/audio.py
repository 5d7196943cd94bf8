"""Tones in, tones out: make test tones and check what a phone recorded.

Each phone sends its own tone (multiples of 20 Hz, none a harmonic of
another: 1000, 700, 1300, 1700 Hz).  analyse() runs a Goertzel filter over
50 ms frames of a recording and says for how much of it the expected tone
dominates, the longest gap in it, and whether another tone (e.g. the
phone's own) was heard.  check() turns that into an AssertionError with the
numbers.

Pure Python standard library.  WAV files are read by a small RIFF parser
(PCM 8/16/24/32 bit, IEEE float, WAVE_FORMAT_EXTENSIBLE, any channel count,
any rate; a header left unfinished by a killed writer is tolerated).
"""

import array
import math
import os
import struct
import sys
import wave

__all__ = ["make_tone", "make_wav", "read_wav", "goertzel_amplitude",
           "ToneResult", "analyse", "check"]


# --------------------------------------------------------------------------
# writing

def make_wav(path, segments, rate=8000, amplitude=0.5, channels=1):
    """Write a 16-bit PCM WAV made of segments [(freq_hz or None, seconds)],
    None meaning silence.  Phase is continuous across tone segments."""
    frames = array.array("h")
    phase = 0.0
    peak = int(32767 * amplitude)
    for freq, seconds in segments:
        n = int(round(seconds * rate))
        if not freq:
            frames.extend([0] * (n * channels))
            continue
        step = 2 * math.pi * freq / rate
        sin = math.sin
        for i in range(n):
            v = int(peak * sin(phase + step * i))
            if channels == 1:
                frames.append(v)
            else:
                frames.extend([v] * channels)
        phase = (phase + step * n) % (2 * math.pi)
    if sys.byteorder == "big":
        frames.byteswap()
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return path


def make_tone(path, freq_hz, seconds, rate=8000, amplitude=0.5, channels=1):
    """Write a sine tone (16-bit PCM WAV, -6 dBFS by default).  For a
    baresip aufile source the rate/channels must match ausrc_srate /
    ausrc_channels, and it must outlast the call: aufile ends the call at
    the end of the file."""
    return make_wav(path, [(freq_hz, seconds)], rate, amplitude, channels)


# --------------------------------------------------------------------------
# reading

_FMT_PCM, _FMT_FLOAT, _FMT_EXT = 1, 3, 0xFFFE


def read_wav(path):
    """Return (rate, samples) with samples a list of floats in [-1, 1],
    channels averaged to mono."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") \
            or data[8:12] != b"WAVE":
        raise ValueError("%s: not a RIFF/WAVE file" % path)
    big = data[:4] == b"RIFX"
    e = ">" if big else "<"
    pos = 12
    fmt = None
    pcm = None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack(e + "I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            tag, nch, rate, _, _, bits = struct.unpack(
                e + "HHIIHH", data[body:body + 16])
            if tag == _FMT_EXT and size >= 40:
                tag = struct.unpack(e + "H", data[body + 24:body + 26])[0]
            fmt = (tag, nch, rate, bits)
        elif cid == b"data":
            end = body + size
            # a writer killed before closing leaves size 0 or garbage
            if size == 0 or size == 0xFFFFFFFF or end > len(data):
                end = len(data)
            pcm = data[body:end]
            break
        pos = body + size + (size & 1)
    if fmt is None or pcm is None:
        raise ValueError("%s: no fmt or data chunk" % path)
    tag, nch, rate, bits = fmt
    width = (bits + 7) // 8
    usable = len(pcm) - len(pcm) % (width * nch)
    pcm = pcm[:usable]
    need_swap = (sys.byteorder == "little") == big
    if tag == _FMT_PCM and width == 1:
        vals = [(b - 128) / 128.0 for b in pcm]
    elif tag == _FMT_PCM and width == 2:
        a = array.array("h", pcm)
        if need_swap:
            a.byteswap()
        vals = [v / 32768.0 for v in a]
    elif tag == _FMT_PCM and width == 3:
        order = "big" if big else "little"
        vals = [int.from_bytes(pcm[i:i + 3], order, signed=True) / 8388608.0
                for i in range(0, len(pcm), 3)]
    elif tag == _FMT_PCM and width == 4:
        a = array.array("i", pcm)
        if need_swap:
            a.byteswap()
        vals = [v / 2147483648.0 for v in a]
    elif tag == _FMT_FLOAT and width in (4, 8):
        a = array.array("f" if width == 4 else "d", pcm)
        if need_swap:
            a.byteswap()
        vals = list(a)
    else:
        raise ValueError("%s: unsupported WAV format tag %d, %d bits"
                         % (path, tag, bits))
    if nch > 1:
        vals = [sum(vals[i:i + nch]) / nch for i in range(0, len(vals), nch)]
    return rate, vals


# --------------------------------------------------------------------------
# analysis

def goertzel_amplitude(frame, freq, rate):
    """Amplitude (0..1 full scale) of the `freq` component of `frame`.
    Exact for a sine with a whole number of cycles in the frame (50 ms
    frames: multiples of 20 Hz)."""
    n = len(frame)
    if n == 0:
        return 0.0
    w = 2.0 * math.pi * freq / rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in frame:
        s0 = x + coeff * s1 - s2
        s2 = s1
        s1 = s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * math.sqrt(max(power, 0.0)) / n


def _db(x):
    return max(-200.0, 20.0 * math.log10(x)) if x > 0 else -200.0


class ToneResult:
    """What analyse() found.  Times in ms unless named _s."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "ToneResult(%s)" % self.summary()

    def summary(self):
        others = ", ".join("%d Hz in %.0f%% of frames%s"
                           % (hz, 100 * fr, " (HEARD)" if hz in
                              self.other_heard else "")
                           for hz, fr in sorted(self.other_fraction.items()))
        return ("%s: %d Hz dominates %.0f%% of %d frames (%.2f s of %.2f s), "
                "first at %s, longest gap %.0f ms, median level %.1f dBFS"
                "%s" % (os.path.basename(self.path), self.expect_hz,
                        100 * self.fraction, self.frames, self.tone_s,
                        self.duration_s,
                        "%.0f ms" % self.first_tone_ms
                        if self.first_tone_ms is not None else "never",
                        self.longest_gap_ms, self.median_level_dbfs,
                        "; others: " + others if others else ""))


def analyse(path, expect_hz, other_hz_list=(), frame_ms=50, floor_dbfs=-40.0,
            dominance_db=10.0, min_share=0.5, other_share=0.1,
            other_max_fraction=0.02):
    """Analyse a recording in frames of `frame_ms`.

    A frame has the expected tone when its amplitude is above `floor_dbfs`,
    at least `dominance_db` above each tone of other_hz_list, and it carries
    at least `min_share` of the frame's energy (so noise or speech is not
    taken for it).  Another tone is present in a frame when its amplitude is
    above the floor and it carries at least `other_share` of the energy; it
    counts as heard when present in more than `other_max_fraction` of the
    frames (and in at least 2 frames).

    Returns a ToneResult with: fraction (frames with the tone / all frames),
    longest_gap_ms (longest run without the tone between its first and its
    last frame), tone_s (seconds with the tone), first_tone_ms,
    last_tone_ms, duration_s, other_fraction {hz: fraction},
    other_heard [hz...], own_heard (bool), frames, rate, levels.
    """
    rate, samples = read_wav(path)
    n = max(1, int(rate * frame_ms / 1000))
    nframes = len(samples) // n
    others = [int(h) for h in other_hz_list if h and h != expect_hz]
    floor = 10 ** (floor_dbfs / 20.0)
    dom = 10 ** (dominance_db / 20.0)
    present = []
    other_count = {h: 0 for h in others}
    levels = []
    for k in range(nframes):
        frame = samples[k * n:(k + 1) * n]
        ms = sum(x * x for x in frame) / n         # mean square
        a = goertzel_amplitude(frame, expect_hz, rate)
        levels.append(_db(a))
        oa = {h: goertzel_amplitude(frame, h, rate) for h in others}
        ok = (a > floor and ms > 0 and (a * a / 2) / ms >= min_share
              and all(a >= dom * v for v in oa.values()))
        present.append(ok)
        for h, v in oa.items():
            if v > floor and ms > 0 and (v * v / 2) / ms >= other_share:
                other_count[h] += 1
    idx = [i for i, p in enumerate(present) if p]
    longest = 0
    if idx:
        run = 0
        for p in present[idx[0]:idx[-1] + 1]:
            run = 0 if p else run + 1
            longest = max(longest, run)
    fraction = (len(idx) / nframes) if nframes else 0.0
    other_fraction = {h: (c / nframes if nframes else 0.0)
                      for h, c in other_count.items()}
    other_heard = [h for h, c in other_count.items()
                   if c >= 2 and c > other_max_fraction * nframes]
    sl = sorted(levels)
    return ToneResult(
        path=path, expect_hz=expect_hz, other_hz=others, rate=rate,
        frame_ms=frame_ms, frames=nframes, duration_s=nframes * n / rate,
        tone_frames=len(idx), fraction=fraction,
        tone_s=len(idx) * n / rate,
        first_tone_ms=idx[0] * n * 1000.0 / rate if idx else None,
        last_tone_ms=(idx[-1] + 1) * n * 1000.0 / rate if idx else None,
        longest_gap_ms=longest * n * 1000.0 / rate,
        other_fraction=other_fraction, other_heard=other_heard,
        own_heard=bool(other_heard),
        median_level_dbfs=sl[len(sl) // 2] if sl else -200.0,
        present=present)


def check(what, expect_hz=None, other_hz_list=(), min_fraction=0.8,
          max_gap_ms=300.0, min_tone_s=0.0, **analyse_kw):
    """Assert that a recording carries the expected tone.

    `what` is a WAV path (analysed with expect_hz/other_hz_list) or a
    ToneResult.  Raises AssertionError with the numbers when the tone
    dominates less than `min_fraction` of the frames, when it has a gap
    longer than `max_gap_ms`, when it lasts less than `min_tone_s`, or when
    any tone of other_hz_list (e.g. the phone's own) is heard.  Returns the
    ToneResult."""
    if isinstance(what, ToneResult):
        r = what
    else:
        if expect_hz is None:
            raise ValueError("check(path) needs expect_hz")
        r = analyse(what, expect_hz, other_hz_list, **analyse_kw)
    problems = []
    if r.frames == 0:
        problems.append("recording is empty")
    if r.fraction < min_fraction:
        problems.append("%d Hz dominates only %.0f%% of frames (need %.0f%%)"
                        % (r.expect_hz, 100 * r.fraction, 100 * min_fraction))
    if r.longest_gap_ms > max_gap_ms:
        problems.append("gap of %.0f ms in the %d Hz tone (max %.0f ms)"
                        % (r.longest_gap_ms, r.expect_hz, max_gap_ms))
    if r.tone_s < min_tone_s:
        problems.append("%d Hz heard for %.2f s only (need %.2f s)"
                        % (r.expect_hz, r.tone_s, min_tone_s))
    for h in r.other_heard:
        problems.append("%d Hz (must not be heard) present in %.0f%% of frames"
                        % (h, 100 * r.other_fraction[h]))
    if problems:
        raise AssertionError("audio check failed: %s [%s]"
                             % ("; ".join(problems), r.summary()))
    return r


if __name__ == "__main__":
    # python3 audio.py FILE.wav EXPECT_HZ [OTHER_HZ...]
    import argparse
    ap = argparse.ArgumentParser(description="Goertzel tone check of a WAV")
    ap.add_argument("wav")
    ap.add_argument("expect_hz", type=int)
    ap.add_argument("other_hz", type=int, nargs="*")
    a = ap.parse_args()
    res = analyse(a.wav, a.expect_hz, a.other_hz)
    print(res.summary())
    try:
        check(res)
        print("OK")
    except AssertionError as ex:
        print(ex)
        sys.exit(1)
