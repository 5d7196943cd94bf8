#!/bin/sh
# Compose Switchboard's own music on hold with sox synth: eight slow
# chords (a sine pad, a plucked arpeggio, a sine bass), 40 s, 16 kHz mono
# 16-bit, faded in and out so that it loops without a click, and set to
# -20 dBFS RMS (peaks kept under -1 dBFS): the prompts, peaks at -3 dBFS,
# measure -20 to -22 dBFS RMS, and music that never pauses sounds louder
# than speech at the same RMS, so it must not be higher. The same command
# always gives the same file.
#
#   sh sounds/moh.sh [FILE]         FILE defaults to sounds/moh/default.wav
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/moh/default.wav}
rate=48000      # sox plucks only at 44.1 or 48 kHz; 16 kHz at the end
beat=5          # seconds a chord
target=-20      # RMS, dBFS

if ! command -v sox >/dev/null 2>&1; then
	echo "moh.sh: sox is missing (apt-get install sox)" >&2
	exit 1
fi

mkdir -p "$(dirname "$out")"
part=$(dirname "$out")/.moh.part.wav
work=$(mktemp -d "${TMPDIR:-/tmp}/moh.XXXXXX")
trap 'rm -rf "$work" "$part"' EXIT
trap 'exit 1' HUP INT TERM

i=0
parts=
# Each chord: bass, then four pad notes, in semitones from A4 (440 Hz).
# Cmaj7 Am7 Fmaj7 G6 Em7 Am7 Dm7 Gsus4, voiced to move little.
while read -r bass a b c d; do
	i=$((i + 1))
	p=$work/chord$i

	# pad: four sines, a soft swell over the chord
	sox -R -c 4 -r $rate -n -c 1 "$p.pad.wav" \
		synth $beat sine "%$a" sine "%$b" sine "%$c" sine "%$d" \
		remix - fade h 1.2 $beat 1.2

	# bass, an octave above the root so phones still carry it
	sox -R -r $rate -n "$p.bass.wav" \
		synth $beat sine %$((bass + 12)) fade h 0.3 $beat 1

	# arpeggio an octave up: eight plucks half a second apart, each
	# faded out before the chord ends
	sox -R -c 8 -r $rate -n -c 1 "$p.arp.wav" \
		synth 1.5 pluck %$((a + 12)) pluck %$((b + 12)) \
		pluck %$((c + 12)) pluck %$((d + 12)) \
		pluck %$((a + 24)) pluck %$((d + 12)) \
		pluck %$((c + 12)) pluck %$((b + 12)) \
		fade q 0.01 1.5 1.2 \
		delay 0 0.5 1 1.5 2 2.5 3 3.5 remix -

	sox -R -m -v 0.5 "$p.pad.wav" -v 0.35 "$p.bass.wav" \
		-v 1 "$p.arp.wav" "$p.wav" trim 0 $beat
	parts="$parts $p.wav"
done <<CHORDS
-21 -9 -5 -2 2
-24 -12 -9 -5 -2
-28 -16 -12 -9 -5
-26 -14 -10 -7 -5
-29 -17 -14 -10 -7
-24 -12 -9 -5 -2
-31 -16 -12 -9 -7
-26 -14 -9 -7 -4
CHORDS

# the parts in a row ($parts split on purpose: the names have no
# blanks), 10 dB down first to give the reverb headroom
# shellcheck disable=SC2086
sox -R $parts "$work/all.wav" gain -10 highpass 100 lowpass 3800 \
	reverb 40 50 60 fade h 2 "$((beat * i))" 3 rate -v 16000

# level: RMS to the target unless the peaks would pass -1 dBFS
gain=$(sox "$work/all.wav" -n stats 2>&1 | awk -v t="$target" '
	/^Pk lev dB/ { pk = $4 } /^RMS lev dB/ { rms = $4 }
	END { g = t - rms; if (pk + g > -1) g = -1 - pk; print g }')

# written aside, then renamed: a relay never loads half a file
sox -R "$work/all.wav" -b 16 "$part" gain "$gain"
mv -f "$part" "$out"

sox "$out" -n stats 2>&1 | awk -v f="$out" '
	/^Pk lev dB/ { pk = $4 } /^RMS lev dB/ { rms = $4 }
	/^Length s/ { len = $3 }
	END { printf "moh.sh: %s: %.1f s, RMS %s dBFS, peak %s dBFS\n",
	      f, len, rms, pk }'
