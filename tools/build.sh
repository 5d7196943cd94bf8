#!/bin/sh
# Configure (once) and build out of tree, in build/release.
set -e
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
mkdir -p build/release
cd build/release
[ -f Makefile ] || ../../configure -q "$@"
make -j"$(nproc)" -s
