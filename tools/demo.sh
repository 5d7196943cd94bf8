#!/bin/sh
# Install what is missing, build, and run switchboard in the foreground on
# loopback with demo extensions 1001-1004 (password: demo<number>).
set -e
cd "$(dirname "$0")/.."
sh tools/deps.sh
sh tools/build.sh

mkdir -p run
build/release/switchboard -f etc/demo.conf &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM

# the API takes the demo extensions once it is up
i=0
until build/release/sbctl -a 127.0.0.1:8080 -T run/demo.db.token status >/dev/null 2>&1
do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 $pid 2>/dev/null; then
		echo "switchboard did not start" >&2
		exit 1
	fi
	sleep 0.1
done

for n in 1001 1002 1003 1004; do
	build/release/sbctl -a 127.0.0.1:8080 -T run/demo.db.token ext show $n \
		>/dev/null 2>&1 ||
	build/release/sbctl -a 127.0.0.1:8080 -T run/demo.db.token ext add $n \
		--name "Demo $n" --password "demo$n" >/dev/null
done
echo "demo extensions 1001-1004 ready (password demo<number>)," \
	"domain pbx.local, SIP on 127.0.0.1:5060 (UDP/TCP) and 5061 (TLS)"
wait $pid
