#!/bin/sh
# Render sounds/prompts.txt with espeak-ng and sox into <dir>/<id>.wav,
# 16 kHz mono 16-bit (the relay resamples for 8 and 48 kHz legs), peaks
# at -3 dBFS, 50 ms of silence before and 150 ms after so that prompts
# played in a row ("you have" "3" "new messages") flow. A prompt whose
# WAV is newer than prompts.txt is kept (remove DIR to render them all
# again, e.g. with another voice).
#
#   sh sounds/render.sh [DIR]       DIR defaults to sounds/en
#
# VOICE (espeak-ng voice, default en-us) and SPEED (words a minute,
# default 150) may be set in the environment.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
list=$here/prompts.txt
out=${1:-$here/en}
voice=${VOICE:-en-us}
speed=${SPEED:-150}

for tool in espeak-ng sox; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "render.sh: $tool is missing (apt-get install $tool)" >&2
		exit 1
	fi
done

mkdir -p "$out"
raw=$(mktemp "${TMPDIR:-/tmp}/render.XXXXXX")
trap 'rm -f "$raw" "$out"/.*.part.wav' EXIT
trap 'exit 1' HUP INT TERM

rendered=0
kept=0
line_no=0
# shellcheck disable=SC2094 # find only compares its time
while IFS= read -r line || [ -n "$line" ]; do
	line_no=$((line_no + 1))
	case $line in
	'' | '#'*) continue ;;
	esac

	id=${line%%[ 	]*}
	text=${line#"$id"}
	text=${text#"${text%%[! 	]*}"}
	case $id in
	*[!a-z0-9_]*)
		echo "render.sh: prompts.txt:$line_no: bad id '$id'" >&2
		exit 1 ;;
	esac
	if [ -z "$text" ]; then
		echo "render.sh: prompts.txt:$line_no: $id has no text" >&2
		exit 1
	fi

	wav=$out/$id.wav
	if [ -f "$wav" ] && [ -n "$(find "$wav" -prune -newer "$list")" ]
	then
		kept=$((kept + 1))
		continue
	fi

	# espeak-ng writes 22.05 kHz; written aside, then renamed, so a
	# relay loading the prompt meanwhile never sees half a file
	espeak-ng -v "$voice" -s "$speed" -w "$raw" -- "$text"
	sox -R "$raw" -r 16000 -c 1 -b 16 -e signed-integer \
		"$out/.$id.part.wav" rate -v \
		silence 1 0.02 -55d reverse silence 1 0.02 -55d reverse \
		norm -3 pad 0.05 0.15
	mv -f "$out/.$id.part.wav" "$wav"
	echo "rendered $id"
	rendered=$((rendered + 1))
done <"$list"

echo "render.sh: $rendered rendered, $kept up to date, in $out"
