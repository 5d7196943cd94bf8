#!/bin/sh
# Run all 4527 PROTOS c07-sip cases against a fresh ./switchboard, with an
# OPTIONS liveness probe after each; cases too big for UDP go over TCP.
# Usage: bench/protos-all.sh [torture.py options, e.g. -v --keep]
# Run from the top of the built tree (where ./switchboard is).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
: "${top_srcdir:=$top}"
: "${top_builddir:=$(pwd)}"
export top_srcdir top_builddir

if [ ! -x "$top_builddir/switchboard" ]; then
	echo "protos-all: no $top_builddir/switchboard; build it first" >&2
	exit 2
fi

# About 1 s per case at worst: give it 3 hours before giving up
exec python3 "$top_srcdir/test/sip/torture.py" --no-rfc4475 --protos-all \
	--deadline 10800 "$@"
