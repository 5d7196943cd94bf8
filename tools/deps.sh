#!/bin/sh
# Install the Debian 12 packages switchboard needs, only those missing.
set -e

PKGS="build-essential autoconf automake libtool pkg-config clang
libclang-rt-14-dev
libre-dev librem-dev libspandsp-dev libopus-dev libsrtp2-dev
libsqlite3-dev libssl-dev sqlite3 python3 curl
sip-tester baresip-core linphone-cli sox espeak-ng kamailio iproute2"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
