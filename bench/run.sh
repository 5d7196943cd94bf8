#!/bin/bash
#
# Switchboard benchmark: Kamailio 5.6 (reference) vs switchboard.
#
#   bench/run.sh [SWITCHBOARD_BIN]
#
# Measures, against each server, on 127.0.0.1 only:
#   (a) REGISTER with digest auth (MD5, qop=auth): highest rate with
#       < 0.1 % failures, server CPU and memory at that rate;
#   (b) calls (INVITE/100/180/200/ACK/pause/BYE/200, sipp UAC -> server ->
#       sipp UAS): highest rate with < 0.1 % failures, CPU, memory;
#   (c) memory with 1,000 registered contacts.
# and prints a table with the ratios switchboard/kamailio, also written
# to bench/results-latest.txt.  See bench/README.md.
#
# SWITCHBOARD_BIN defaults to $SWITCHBOARD_BIN, then to ./switchboard at
# the top of the tree; if there is none, only Kamailio is measured.
#
# Every load is bounded: each sipp run has a call count (-m), a sipp
# -timeout and an outer timeout(1); the whole run checks a time budget
# (BUDGET seconds, default 570).  Only processes this script starts are
# stopped, by PID.
#
# Knobs (environment):
#   STEP_SECS=5          length of one rate step, seconds of load
#   REG_RATES="500 1000 2000 4000 8000 12000 16000 20000"
#   CALL_RATES="100 250 500 1000 2000 3000 4000 6000"
#   REFINE=2             bisection steps between last pass and first fail
#                        (or halvings, if the lowest rate fails)
#   CALL_HOLD_MS=1000    the pause between ACK and BYE
#   KAM_CHILDREN=2       Kamailio UDP workers (-n)
#   MEM_USERS=1000       contacts registered for (c)
#   BUDGET=570           seconds; no new step starts after it
#   ONLY=kamailio|switchboard   measure one server only (no ratios)
#   SB_CALL_MAX=100000   switchboard's call_max in the config it is given
#   QUICK=1              smoke test: 2 s steps, few rates
#   KEEP=1               keep the work directory (logs, sipp stats)

set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SCEN=$HERE/sipp
RESULTS=$HERE/results-latest.txt

STEP_SECS=${STEP_SECS:-5}
REG_RATES=${REG_RATES:-"500 1000 2000 4000 8000 12000 16000 20000"}
CALL_RATES=${CALL_RATES:-"100 250 500 1000 2000 3000 4000 6000"}
REFINE=${REFINE:-2}
CALL_HOLD_MS=${CALL_HOLD_MS:-1000}
KAM_CHILDREN=${KAM_CHILDREN:-2}
MEM_USERS=${MEM_USERS:-1000}
BUDGET=${BUDGET:-570}
if [ "${QUICK:-0}" = 1 ]; then
	STEP_SECS=2
	REG_RATES="1000 4000"
	CALL_RATES="200 1000"
	REFINE=0
fi

DOMAIN=pbx.local
HOST=127.0.0.1
KAM_PORT=5070
SB_PORT=5080
SB_TLS_PORT=5081
SB_API=127.0.0.1:8089
SB_TOKEN=${SB_TOKEN:-benchtoken-switchboard}   # switchboard wants >= 16 characters
# switchboard refuses calls beyond call_max concurrent ones (default 1000):
# 1,000 calls/s held 1 s is already more; Kamailio (a proxy) has no such limit
SB_CALL_MAX=${SB_CALL_MAX:-100000}
P_UAS=5090   # sipp UAS (registers as 1002 from this port first)
P_UAC=5091   # sipp UAC
P_REG=5092   # sipp REGISTER load
FAIL_LIMIT_PPM=1000   # < 0.1 % failures
SIPP_BUF=4194304
CLK_TCK=$(getconf CLK_TCK)
DEADLINE=$((SECONDS + BUDGET))
CALL_LABEL=call
CALL_SCEN=uac.xml

WORK=$(mktemp -d /tmp/sbbench.XXXXXX)
LOG=$WORK/run.log
: > "$LOG"

# ---------------------------------------------------------------- helpers

say() { echo "$*" | tee -a "$LOG"; }
now() { date +%s.%N; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b == 0) print "-"; else printf f, a / b }'; }

STARTED=()   # PIDs this script started (timeout(1) wrappers or servers)

stop_pid() {  # stop_pid PID: TERM, wait up to 5 s, then KILL; only our own PIDs
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local p
	for p in "${STARTED[@]}"; do stop_pid "$p"; done
	STARTED=()
	if [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

forget_pid() {  # forget_pid PID: drop it from STARTED
	local p keep=()
	for p in "${STARTED[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	STARTED=("${keep[@]}")
}

proc_tree() {  # proc_tree PID: PID and all its descendants
	local p c
	for p in "$@"; do
		[ -d /proc/$p ] || continue
		echo "$p"
		for c in $(pgrep -P "$p" 2>/dev/null); do proc_tree "$c"; done
	done
}

cpu_ticks() {  # cpu_ticks PID: utime+stime of PID's process tree, in ticks
	local t=0 p s
	for p in $(proc_tree "$1"); do
		s=$(cut -d')' -f2- /proc/$p/stat 2>/dev/null) || continue
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo $t
}

mem_kb() {  # mem_kb PID: "RSS_KB PSS_KB", sums over PID's process tree
	local rss=0 pss=0 p r q
	for p in $(proc_tree "$1"); do
		r=$(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null)
		q=$(awk '/^Pss:/ { print $2 }' /proc/$p/smaps_rollup 2>/dev/null)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${q:-0}))
	done
	echo "$rss $pss"
}

host_busy_ticks() {  # all CPUs' busy time (not idle, not iowait), in ticks
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

host_other_pct() {  # host_other_pct SECS: CPU % (of one core) the machine uses meanwhile
	local a b
	a=$(host_busy_ticks); sleep "$1"; b=$(host_busy_ticks)
	awk -v c=$((b - a)) -v k=$CLK_TCK -v w="$1" 'BEGIN { printf "%.0f", 100 * c / k / w }'
}

wait_quiet() {  # wait_quiet PID: until the server uses < 5 % CPU over 0.5 s (max 8 s)
	local i a b
	for i in $(seq 16); do
		a=$(cpu_ticks "$1"); sleep 0.5; b=$(cpu_ticks "$1")
		[ $((b - a)) -le $((CLK_TCK / 40 + 1)) ] && return 0
	done
	return 0
}

port_free() {  # port_free PORT: nothing on 127.0.0.1:PORT (udp or tcp)
	! ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . &&
	! ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}

wait_udp() {  # wait_udp PORT PID SECS: until PORT is bound, while PID lives
	local i
	for i in $(seq $(($3 * 10))); do
		kill -0 "$2" 2>/dev/null || return 1
		ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# run_sipp NAME TIMEOUT_S SIPP_ARGS...: one bounded sipp run in $WORK;
# stats in $WORK/NAME.csv, errors in NAME.err, CPU in NAME.time
run_sipp() {
	local name=$1 tmo=$2
	shift 2
	( cd "$WORK" &&
	  /usr/bin/time -f "%U %S %e" -o "$WORK/$name.time" \
		timeout -k 3 $((tmo + 5)) sipp "$@" -nostdin -buff_size $SIPP_BUF \
		-timeout "${tmo}s" -trace_stat -stf "$WORK/$name.csv" -fd 3600 \
		-trace_err -error_file "$WORK/$name.err" \
		> "$WORK/$name.out" 2>&1 )
}

# sipp_stats FILE: "created successful failed retransmissions" (last row)
sipp_stats() {
	awk -F';' '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ last = $0 }
		END {
			if (last == "") { print "0 0 0 0"; exit }
			n = split(last, f, ";")
			print f[c["TotalCallCreated"]] + 0, f[c["SuccessfulCall(C)"]] + 0,
			      f[c["FailedCall(C)"]] + 0, f[c["Retransmissions(C)"]] + 0
		}' "$1" 2>/dev/null || echo "0 0 0 0"
}

sipp_cpu_pct() {  # sipp_cpu_pct NAME: sipp's CPU % of one core over its run
	tail -1 "$WORK/$1.time" 2>/dev/null |
		awk '{ if ($3 > 0) printf "%.0f", 100 * ($1 + $2) / $3; else print "-" }' 
}

# ------------------------------------------------------------- one step
#
# step KIND RATE: runs one bounded load step against $SERVER_ADDR,
# measuring $SPID; sets S_* and returns 0 if it passed:
# failures (calls not successful, of the N planned) < 0.1 % and the
# step finished in time (no more than 5 % + 0.5 s late, so the rate
# really was sustained).

step() {
	local kind=$1 rate=$2 n tmo tail_ms name c0 c1 u0=0 u1=0 h0 h1 t0 t1 wall created succ failed retr mem
	n=$((rate * STEP_SECS))
	case $kind in
	reg)
		tail_ms=0
		tmo=$((STEP_SECS * 3 + 5))
		name=${SRV}_reg_$rate
		set -- -sf "$SCEN/reg_auth.xml" -inf "$WORK/users.csv" \
			-key domain $DOMAIN -auth_uri $DOMAIN
		;;
	call)
		tail_ms=$((CALL_HOLD_MS + 100))   # the pause, and the late-180 wait
		tmo=$((STEP_SECS * 3 + CALL_HOLD_MS / 1000 + 10))
		name=${SRV}_${CALL_LABEL}_$rate
		set -- -sf "$SCEN/$CALL_SCEN" -s 1002 -key domain $DOMAIN -key caller 1001 \
			-au 1001 -ap secret1001 -auth_uri 1002@$DOMAIN -d $CALL_HOLD_MS
		;;
	esac
	local port=$P_REG
	[ "$kind" = call ] && port=$P_UAC
	[ -n "$UAS_PID" ] && u0=$(cpu_ticks $UAS_PID)
	h0=$(host_busy_ticks); c0=$(cpu_ticks $SPID); t0=$(now)
	run_sipp "$name" $tmo "$@" -i $HOST -p $port "$SERVER_ADDR" -r $rate -m $n
	t1=$(now); c1=$(cpu_ticks $SPID); h1=$(host_busy_ticks)
	[ -n "$UAS_PID" ] && u1=$(cpu_ticks $UAS_PID)
	mem=$(mem_kb $SPID)
	read created succ failed retr < <(sipp_stats "$WORK/$name.csv")
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	pct() { awk -v c="$1" -v k=$CLK_TCK -v w="$wall" 'BEGIN { printf "%.0f", 100 * c / k / w }'; }
	S_RATE=$rate
	S_FAIL=$((n - succ))
	S_ACH=$(awk -v s="$succ" -v w="$wall" -v t="$tail_ms" 'BEGIN { d = w - t / 1000; if (d <= 0) d = w; printf "%.0f", s / d }')
	S_CPU=$(pct $((c1 - c0)))
	S_US=$(awk -v c=$((c1 - c0)) -v k=$CLK_TCK -v s="$succ" 'BEGIN { if (s > 0) printf "%.1f", 1e6 * c / k / s; else print "-" }')
	S_RSS=${mem% *}
	S_PSS=${mem#* }
	S_SIPP=$(sipp_cpu_pct "$name")
	S_UAS=-
	[ -n "$UAS_PID" ] && S_UAS=$(pct $((u1 - u0)))
	S_HOST=$(pct $((h1 - h0)))
	# CPU used by everything else on the machine meanwhile
	S_OTHER=$(awk -v h=$S_HOST -v c=$S_CPU -v s="$S_SIPP" -v u="$S_UAS" 'BEGIN { o = h - c - s - u; if (o < 0) o = 0; printf "%.0f", o }')
	S_RETR=$retr
	local late ok=0 verdict
	late=$(awk -v w="$wall" -v n=$n -v r=$rate -v t="$tail_ms" 'BEGIN { print (w > 1.05 * n / r + t / 1000 + 0.5) ? 1 : 0 }')
	if [ $((S_FAIL * 1000000)) -lt $((n * FAIL_LIMIT_PPM)) ] && [ "$late" = 0 ] && kill -0 $SPID 2>/dev/null; then
		verdict=pass
	else
		verdict=FAIL
		ok=1
		[ "$late" = 1 ] && verdict="FAIL(late)"
		kill -0 $SPID 2>/dev/null || verdict="FAIL(server died)"
	fi
	say "$(printf '  %-4s %-8s %6d/s n %6d ok %6d fail %6d retr %6d %5.1fs got %6d/s | cpu%%: srv %3s uac %3s uas %3s other %3s | %6s us/op pss %6d rss %6d KiB | %s' \
		"$SRV" "${kind/call/$CALL_LABEL}" $rate $n $succ $S_FAIL $retr $wall $S_ACH "$S_CPU" "$S_SIPP" "$S_UAS" "$S_OTHER" "$S_US" $S_PSS $S_RSS "$verdict")"
	if [ $ok != 0 ]; then
		# the next step starts from a fresh server (and UAS): nothing
		# left over from this overload (transactions, retransmissions)
		restart_after_fail "$kind"
	else
		wait_quiet $SPID
	fi
	return $ok
}

reset_best() {
	B_RATE=0; B_ACH=0; B_CPU=-; B_US=-; B_RSS=-; B_PSS=-; B_SIPP=-; B_UAS=-; B_OTHER=-; B_NOTE=""
}
keep_best() {
	B_RATE=$S_RATE; B_ACH=$S_ACH; B_CPU=$S_CPU; B_US=$S_US; B_RSS=$S_RSS; B_PSS=$S_PSS
	B_SIPP=$S_SIPP; B_UAS=$S_UAS; B_OTHER=$S_OTHER
}

# search KIND "RATES": step up through RATES until one fails, then bisect
# REFINE times between the last pass and the first fail.
# Sets B_* (best passing step; B_RATE=0 if none) and B_NOTE.
search() {
	local kind=$1 rates=$2 r pass=0 fail=0 i mid
	reset_best
	for r in $rates; do
		if [ $SECONDS -ge $DEADLINE ]; then B_NOTE="time budget"; break; fi
		kill -0 $SPID 2>/dev/null || { B_NOTE="server died"; break; }
		if step "$kind" "$r"; then pass=$r; keep_best; else fail=$r; break; fi
	done
	if [ $pass = 0 ] && [ $fail != 0 ]; then
		# even the lowest rate failed: try lower ones
		for i in $(seq "$REFINE"); do
			[ $SECONDS -ge $DEADLINE ] && { B_NOTE="time budget"; break; }
			kill -0 $SPID 2>/dev/null || break
			fail=$((fail / 4))
			[ $fail -lt 10 ] && break
			if step "$kind" "$fail"; then keep_best; break; fi
		done
		[ "$B_RATE" = 0 ] && [ -z "$B_NOTE" ] && B_NOTE="failed at the lowest rate tried"
	fi
	if [ $fail = 0 ] && [ $pass != 0 ] && [ -z "$B_NOTE" ]; then
		B_NOTE=">= (top step passed)"
	fi
	if [ $fail != 0 ] && [ $pass != 0 ]; then
		for i in $(seq "$REFINE"); do
			[ $SECONDS -ge $DEADLINE ] && { B_NOTE="time budget"; break; }
			kill -0 $SPID 2>/dev/null || break
			mid=$(( (pass + fail) / 2 / 50 * 50 ))
			[ $mid -le $pass ] && break
			if step "$kind" "$mid"; then pass=$mid; keep_best; else fail=$mid; fi
		done
	fi
	[ "$B_SIPP" != - ] && [ "$B_SIPP" -ge 90 ] 2>/dev/null && B_NOTE="$B_NOTE sipp-bound?"
	return 0
}

# register_users NAME CSV RATE PORT: one REGISTER per line of CSV; prints "ok total"
register_users() {
	local name=$1 csv=$2 rate=$3 port=$4 total created succ failed retr
	total=$(($(wc -l < "$csv") - 1))
	run_sipp "$name" $((total / rate + 15)) -sf "$SCEN/reg_auth.xml" -inf "$csv" \
		-key domain $DOMAIN -auth_uri $DOMAIN -i $HOST -p $port "$SERVER_ADDR" \
		-r $rate -m $total
	read created succ failed retr < <(sipp_stats "$WORK/$name.csv")
	echo "$succ $total"
}

# memory phase (c): RSS before/after MEM_USERS distinct registrations
mem_phase() {
	local ok total before after
	sleep 1
	before=$(mem_kb $SPID)
	read ok total < <(register_users ${SRV}_mem "$WORK/memusers.csv" 500 $P_REG)
	sleep 1
	wait_quiet $SPID
	after=$(mem_kb $SPID)
	M_BEFORE_RSS=${before% *}; M_BEFORE_PSS=${before#* }
	M_AFTER_RSS=${after% *};   M_AFTER_PSS=${after#* }
	M_OK=$ok
	M_PER=$(awk -v a=$M_AFTER_PSS -v b=$M_BEFORE_PSS -v n=$ok 'BEGIN { if (n > 0) printf "%.0f", (a - b) * 1024 / n; else print "-" }')
	say "  $SRV mem: $ok/$total contacts registered; PSS $M_BEFORE_PSS -> $M_AFTER_PSS KiB ($M_PER bytes/contact), RSS $M_BEFORE_RSS -> $M_AFTER_RSS KiB"
}

UAS_N=0
start_uas() {  # (re)start the sipp UAS on P_UAS, bounded by the budget
	if [ -n "$UAS_PID" ]; then
		stop_pid $UAS_PID; forget_pid $UAS_PID; UAS_PID=
	fi
	UAS_N=$((UAS_N + 1))
	local name=${SRV}_uas$UAS_N
	( cd "$WORK" && exec timeout -k 3 $((BUDGET + 60)) sipp -sf "$SCEN/uas.xml" -i $HOST -p $P_UAS \
		-nostdin -buff_size $SIPP_BUF -trace_err -error_file "$WORK/$name.err" \
		-trace_stat -stf "$WORK/$name.csv" -fd 3600 > "$WORK/$name.out" 2>&1 ) &
	UAS_PID=$!
	STARTED+=($UAS_PID)
	if ! wait_udp $P_UAS $UAS_PID 5; then
		say "  $SRV: sipp UAS did not start"
		return 1
	fi
	return 0
}

# restart_after_fail KIND: restart the server under test, and for calls
# re-register and restart the UAS
restart_after_fail() {
	if [ -n "$UAS_PID" ]; then
		stop_pid $UAS_PID; forget_pid $UAS_PID; UAS_PID=
	fi
	case $SRV in
	kam)
		kam_stop
		kam_start "${KAM_ARGS[@]}" || return 1
		;;
	sb)
		sb_stop
		{ sb_start && sb_add_extension 1001 "B 1001" secret1001 &&
		  sb_add_extension 1002 "B 1002" secret1002; } || return 1
		;;
	esac
	if [ "$1" = call ]; then
		local ok total
		read ok total < <(register_users ${SRV}_uasreg "$WORK/uas.csv" 10 $P_UAS)
		[ "$ok" = 1 ] || say "  $SRV: re-registering the UAS failed"
		start_uas
	fi
	return 0
}

# calls phase (b): register the UAS as 1002 from its port, start it,
# then search the call rate. CALL_SCEN/CALL_LABEL set by the caller.
UAS_PID=
calls_phase() {
	local ok total
	reset_best
	read ok total < <(register_users ${SRV}_uasreg "$WORK/uas.csv" 10 $P_UAS)
	if [ "$ok" != 1 ]; then
		say "  $SRV: registering the UAS as 1002 failed; no call test (see $WORK/${SRV}_uasreg.err)"
		B_NOTE="UAS not registered"
		return 1
	fi
	start_uas || { B_NOTE="UAS did not start"; return 1; }
	search call "$CALL_RATES"
	stop_pid $UAS_PID; forget_pid $UAS_PID; UAS_PID=
	return 0
}

# ------------------------------------------------------------ kamailio

KAM_CFG=$HERE/kamailio/kamailio.cfg
KAM_PID=

KAM_ARGS=()
kam_start() {  # kam_start [-A DEFINE]...
	KAM_ARGS=("$@")
	port_free $KAM_PORT || { say "port $KAM_PORT is in use: not starting kamailio"; return 1; }
	mkdir -p "$WORK/kamrun"
	kamailio -f "$KAM_CFG" "$@" -DD -E -n $KAM_CHILDREN -m 256 -M 16 \
		-P "$WORK/kamailio.pid" -Y "$WORK/kamrun" >> "$WORK/kamailio.log" 2>&1 &
	KAM_PID=$!
	STARTED+=($KAM_PID)
	if ! wait_udp $KAM_PORT $KAM_PID 10; then
		say "kamailio did not start (see $WORK/kamailio.log)"
		return 1
	fi
	sleep 0.5
	SPID=$KAM_PID
	SERVER_ADDR=$HOST:$KAM_PORT
	return 0
}

kam_stop() {
	[ -n "$KAM_PID" ] && { stop_pid $KAM_PID; forget_pid $KAM_PID; }
	KAM_PID=
}

# ---------------------------------------------------------- switchboard

SB_BIN=${1:-${SWITCHBOARD_BIN:-$ROOT/switchboard}}
SB_PID=

sb_write_conf() {  # sb_write_conf DIR: the config file switchboard is started with
	mkdir -p "$1"
	cat > "$1/switchboard.conf" <<EOF
sip_listen_udp $HOST:$SB_PORT
sip_listen_tcp $HOST:$SB_PORT
sip_listen_tls $HOST:$SB_TLS_PORT
sip_domain $DOMAIN
store_path $1/bench.db
log_level warn
api_listen $SB_API
api_token $SB_TOKEN
call_max $SB_CALL_MAX
EOF
}

sb_api_code() {  # sb_api_code: HTTP status of GET /api/extensions (000 = no answer)
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		-H "Authorization: Bearer $SB_TOKEN" "http://$SB_API/api/extensions"
}

# sb_add_extension NUMBER NAME PASSWORD: create one extension through the
# HTTP API; 0 if it was created (or already exists)
sb_add_extension() {
	local code
	code=$(curl -s -o "$WORK/sb/api.out" -w '%{http_code}' --max-time 5 \
		-H "Authorization: Bearer $SB_TOKEN" -H 'Content-Type: application/json' \
		-X POST "http://$SB_API/api/extensions" \
		-d "{\"number\":\"$1\",\"name\":\"$2\",\"password\":\"$3\"}")
	case $code in
	2??|409) return 0 ;;
	*) echo "$code" > "$WORK/sb/api.lastcode"; return 1 ;;
	esac
}

# sb_add_users: 1001, 1002 and the MEM_USERS users of (c), password "secret<number>" (switchboard wants >= 8 characters)
sb_add_users() {
	local u n=0 bad=0
	for u in 1001 1002 $(seq 2000 $((2000 + MEM_USERS - 1))); do
		if sb_add_extension "$u" "B $u" "secret$u"; then
			n=$((n + 1))
		else
			bad=$((bad + 1))
			if [ $n = 0 ] && [ $bad -ge 3 ]; then
				say "  switchboard: POST /api/extensions fails (HTTP $(cat "$WORK/sb/api.lastcode")): $(head -c 200 "$WORK/sb/api.out")"
				return 1
			fi
		fi
	done
	say "  switchboard: $n extensions created through the API ($bad failed)"
	[ $bad = 0 ]
}

sb_start() {
	local i code
	for i in $SB_PORT $SB_TLS_PORT ${SB_API#*:}; do
		port_free $i || { say "port $i is in use: not starting switchboard"; return 1; }
	done
	sb_write_conf "$WORK/sb"
	"$SB_BIN" -f "$WORK/sb/switchboard.conf" > "$WORK/sb/switchboard.log" 2>&1 &
	SB_PID=$!
	STARTED+=($SB_PID)
	if ! wait_udp $SB_PORT $SB_PID 15; then
		say "switchboard did not start (see $WORK/sb/switchboard.log):"
		tail -5 "$WORK/sb/switchboard.log" | sed 's/^/    /' | tee -a "$LOG"
		return 1
	fi
	for i in $(seq 50); do
		code=$(sb_api_code)
		[ "$code" != 000 ] && break
		sleep 0.2
	done
	if [ "$code" = 000 ]; then
		say "switchboard: no HTTP API on $SB_API"
		return 1
	fi
	SPID=$SB_PID
	SERVER_ADDR=$HOST:$SB_PORT
	return 0
}

sb_stop() {
	[ -n "$SB_PID" ] && { stop_pid $SB_PID; forget_pid $SB_PID; }
	SB_PID=
}

# --------------------------------------------------------------- report

declare -A R   # R[server.metric]

save_best() {  # save_best SERVER PREFIX
	R[$1.$2_rate]=$B_ACH; R[$1.$2_step]=$B_RATE; R[$1.$2_cpu]=$B_CPU; R[$1.$2_us]=$B_US
	R[$1.$2_rss]=$B_RSS; R[$1.$2_pss]=$B_PSS; R[$1.$2_sipp]=$B_SIPP; R[$1.$2_note]=$B_NOTE
	R[$1.$2_uas]=$B_UAS; R[$1.$2_other]=$B_OTHER
}
save_mem() {
	R[$1.mem_before]=$M_BEFORE_RSS; R[$1.mem_after]=$M_AFTER_RSS
	R[$1.pss_before]=$M_BEFORE_PSS; R[$1.pss_after]=$M_AFTER_PSS
	R[$1.mem_per]=$M_PER; R[$1.mem_ok]=$M_OK
}

get() { echo "${R[$1]:--}"; }

ratio() {  # ratio SB KAM
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b + 0 == 0 || a ~ /\// || b ~ /\//) print "-"; else printf "%.2f", a / b }'
}

row() {  # row LABEL KAM SB [better]; no ratio for the "other" rows
	local r
	r=$(ratio "$3" "$2")
	case $1 in *other*) r=- ;; esac
	printf '%-44s %14s %14s %10s  %s\n' "$1" "$2" "$3" "$r" "${4:-}"
}

report() {
	local k=kam s=sb kib
	{
	echo "Switchboard benchmark -- $(date '+%Y-%m-%d %H:%M:%S')"
	echo "host: $(nproc) CPUs, $(uname -sr); $(kamailio -v 2>/dev/null | head -1 | sed 's/version: //'); $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1)"
	echo "switchboard: $SB_STATUS"
	echo "CPU used by other processes before the run: ${BG_LOAD}% of one core$( [ "$BG_LOAD" -gt 20 ] && echo "  -- WARNING: machine not idle, numbers are noisy")"
	echo "steps of ${STEP_SECS}s; failures < 0.1 % and finished in time; calls hold ${CALL_HOLD_MS} ms; kamailio -n $KAM_CHILDREN"
	echo "CPU % is of one core (200 % = both cores); us/op = server CPU time per REGISTER or per call"
	echo "memory: PSS summed over the server's processes (kamailio: main + workers + timers share memory)"
	echo
	printf '%-44s %14s %14s %10s\n' "" "kamailio" "switchboard" "sb/kam"
	echo "(a) REGISTER, digest MD5 qop=auth (reg_auth.xml)"
	row "    max REGISTER/s (< 0.1 % fail)" "$(get $k.reg_rate)" "$(get $s.reg_rate)" "higher is better"
	row "    server CPU % at that rate" "$(get $k.reg_cpu)" "$(get $s.reg_cpu)"
	row "    server CPU us per REGISTER" "$(get $k.reg_us)" "$(get $s.reg_us)" "lower is better"
	row "    server memory (PSS) KiB at that rate" "$(get $k.reg_pss)" "$(get $s.reg_pss)" "lower is better"
	row "    server RSS (VmRSS summed) KiB" "$(get $k.reg_rss)" "$(get $s.reg_rss)"
	row "    sipp CPU % at that rate" "$(get $k.reg_sipp)" "$(get $s.reg_sipp)"
	row "    other processes' CPU % meanwhile" "$(get $k.reg_other)" "$(get $s.reg_other)"
	echo "(b) calls with 407: INVITE 407 ACK INVITE 100 180 200 ACK pause BYE 200 (uac_auth.xml)"
	row "    max calls/s (< 0.1 % fail)" "$(get $k.calla_rate)" "$(get $s.calla_rate)" "higher is better"
	row "    server CPU % at that rate" "$(get $k.calla_cpu)" "$(get $s.calla_cpu)"
	row "    server CPU us per call" "$(get $k.calla_us)" "$(get $s.calla_us)" "lower is better"
	row "    server memory (PSS) KiB at that rate" "$(get $k.calla_pss)" "$(get $s.calla_pss)" "lower is better"
	row "    server RSS (VmRSS summed) KiB" "$(get $k.calla_rss)" "$(get $s.calla_rss)"
	row "    sipp UAC / UAS CPU % at that rate" "$(get $k.calla_sipp) / $(get $k.calla_uas)" "$(get $s.calla_sipp) / $(get $s.calla_uas)"
	row "    other processes' CPU % meanwhile" "$(get $k.calla_other)" "$(get $s.calla_other)"
	echo "(b') kamailio calls without auth (uac.xml), against switchboard's (b)"
	row "    max calls/s (< 0.1 % fail)" "$(get $k.calln_rate)" "$(get $s.calla_rate)" "higher is better"
	row "    server CPU % at that rate" "$(get $k.calln_cpu)" "$(get $s.calla_cpu)"
	row "    server CPU us per call" "$(get $k.calln_us)" "$(get $s.calla_us)" "lower is better"
	row "    server memory (PSS) KiB at that rate" "$(get $k.calln_pss)" "$(get $s.calla_pss)" "lower is better"
	row "    sipp UAC / UAS CPU % at that rate" "$(get $k.calln_sipp) / $(get $k.calln_uas)" "$(get $s.calla_sipp) / $(get $s.calla_uas)"
	row "    other processes' CPU % meanwhile" "$(get $k.calln_other)" "$(get $s.calla_other)"
	echo "(c) memory, $MEM_USERS contacts registered once each (users 2000..)"
	row "    PSS KiB idle (no users, no contacts)" "$(get $k.pss_idle)" "$(get $s.pss_idle)"
	row "    PSS KiB before (users, no contacts)" "$(get $k.pss_before)" "$(get $s.pss_before)"
	row "    PSS KiB with the contacts" "$(get $k.pss_after)" "$(get $s.pss_after)" "lower is better"
	row "    PSS bytes per contact" "$(get $k.mem_per)" "$(get $s.mem_per)" "lower is better"
	row "    RSS (VmRSS summed) KiB before" "$(get $k.mem_before)" "$(get $s.mem_before)"
	row "    RSS (VmRSS summed) KiB with contacts" "$(get $k.mem_after)" "$(get $s.mem_after)"
	echo
	for x in reg calla calln; do
		for srv in kam sb; do
			[ -n "${R[$srv.${x}_note]:-}" ] && echo "note: $srv $x: ${R[$srv.${x}_note]}"
		done
	done
	echo
	echo "steps:"
	cat "$LOG"
	} > "$RESULTS.tmp"
	mv "$RESULTS.tmp" "$RESULTS"
	sed '/^steps:$/,$d' "$RESULTS"
	echo "(full log with every step: $RESULTS)"
}

# ----------------------------------------------------------------- main

for t in kamailio sipp curl ss awk; do
	command -v $t > /dev/null || { echo "missing: $t" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "missing: /usr/bin/time" >&2; exit 1; }

"$HERE/gen_users.sh" 2000 "$MEM_USERS" > "$WORK/memusers.csv"
"$HERE/gen_users.sh" 2000 "$MEM_USERS" > "$WORK/users.csv"
"$HERE/gen_users.sh" 1002 1 > "$WORK/uas.csv"

if [ -x "$SB_BIN" ] && [ -f "$SB_BIN" ]; then
	SB_STATUS="$SB_BIN"
else
	SB_STATUS="not built"
fi

say "work dir $WORK; budget ${BUDGET}s"
BG_LOAD=$(host_other_pct 2)
say "machine CPU use before starting anything: ${BG_LOAD}% of one core (of $(( $(nproc) * 100 ))%)"
if [ "$BG_LOAD" -gt 20 ]; then
	say "WARNING: other processes are using the CPU: absolute numbers are low and noisy; see the 'other' column"
fi

# Kamailio: (c), (a), (b') without INVITE auth; then (b) with it
SRV=kam
ONLY=${ONLY:-}
if [ "$ONLY" = switchboard ]; then
	say "kamailio: skipped (ONLY=switchboard)"
else
say "kamailio: registrar + stateful proxy, $KAM_CFG"
if kam_start; then
	sleep 1
	idle=$(mem_kb $SPID)
	R[kam.pss_idle]=${idle#* }; R[kam.rss_idle]=${idle% *}
	mem_phase; save_mem kam
	search reg "$REG_RATES"; save_best kam reg
	kam_stop
fi
# a fresh server for the calls, whatever the REGISTER overload left
if kam_start; then
	CALL_SCEN=uac.xml; CALL_LABEL=call
	calls_phase; save_best kam calln
	kam_stop
fi
if kam_start -A WITH_INVITE_AUTH; then
	CALL_SCEN=uac_auth.xml; CALL_LABEL=call407
	calls_phase; save_best kam calla
	kam_stop
fi
fi

SRV=sb
if [ "$ONLY" = kamailio ]; then
	say "switchboard: skipped (ONLY=kamailio)"
	SB_STATUS="skipped (ONLY=kamailio)"
elif [ "$SB_STATUS" = "not built" ]; then
	say "switchboard: not built"
else
	say "switchboard: $SB_BIN"
	if sb_start; then
		sleep 1
		idle=$(mem_kb $SPID)
		R[sb.pss_idle]=${idle#* }; R[sb.rss_idle]=${idle% *}
		if sb_add_users; then
			mem_phase; save_mem sb
			search reg "$REG_RATES"; save_best sb reg
			# a fresh server for the calls, whatever the REGISTER
			# overload left (extensions persist in store_path)
			sb_stop
			if sb_start && sb_add_extension 1001 "B 1001" secret1001 &&
			   sb_add_extension 1002 "B 1002" secret1002; then
				CALL_SCEN=uac_auth.xml; CALL_LABEL=call407
				calls_phase; save_best sb calla
			else
				say "  switchboard: restart before the calls failed"
			fi
		else
			SB_STATUS="$SB_BIN (users could not be added: not measured)"
		fi
		sb_stop
	else
		SB_STATUS="$SB_BIN (did not start: not measured)"
	fi
fi

say "total ${SECONDS}s"
report
[ "${KEEP:-0}" = 1 ] && echo "work dir kept: $WORK"
exit 0
