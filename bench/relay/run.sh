#!/bin/bash
#
# Media-relay benchmark: a plain UDP relay (the ceiling) vs sbrelay.
#
#   bench/relay/run.sh [SBRELAY_BIN]
#
# In one run, on 127.0.0.1 only:
#   - the machine: CPU used by other processes, and how often each CPU is
#     taken away from a spinning thread (stall probe);
#   - srtpcost: libsrtp2's protect/unprotect cost per 172-byte packet;
#   - baseline: rtpload endpoint to endpoint (no relay), the generator's
#     own latency at each call count (run when a relay step first needs it);
#   - plainrelay -m recvfrom, then -m mmsg: step the number of G.711 calls
#     (50 packets/s each way) and find the most with < 0.1 % loss and
#     < 1 ms added p99 latency (relay p99 - baseline p99);
#   - sbrelay, if built: the same; then, if sbrelay accepts them, SRTP on
#     one leg and PCMU<->Opus / PCMU<->G.722 transcoding.
# and prints a table with ratios to the ceiling measured in this run,
# also written to bench/relay/results-latest.txt.  See README.md.
#
# The relay runs on one CPU (RELAY_CPU) with one thread, the generator on
# the other (GEN_CPU): numbers are per relay core.  Every load is bounded
# (rtpload has a duration and runs under timeout(1); plainrelay has -d);
# no new step starts after BUDGET seconds.  Only processes this script
# starts are stopped, by PID.
#
# Knobs (environment):
#   STEP_SECS=5     measured seconds per step (plus WARM_SECS=1 warm-up)
#   BASE_SECS=3     measured seconds per baseline step
#   CALLS="100 200 400 600 800 1000 1200 1400 1600 2000 2400 3000"
#   START=800       the ladder starts at this count: down from it while
#                   steps fail, else up until two counts in a row fail
#   REFINE=2        bisection steps between the last pass and first fail
#   RETRY=1         a failed step is run once more; it passes if that passes
#                   (a try that failed while other processes used more than
#                   NOISY=10 % of a core does not count: up to 5 tries)
#   QUIET_MAX=10 QUIET_WAIT=20   before each try, wait (at most QUIET_WAIT
#                   s) until other processes use < QUIET_MAX % of a core
#   LOSS_MAX=0.1    percent;  ADDED_P99_MAX_US=1000
#   XCODE_P99_MAX_US=80000   the same for transcoded calls: their jitter
#                   buffer (2 frames to start, more after underruns) and
#                   20 ms playout ticks add tens of ms by design
#   RELAY_CPU=1 GEN_CPU=0   taskset CPU lists ("" = no pinning)
#   RELAY_THREADS=1 plainrelay -t and sbrelay -j
#   GEN_OPTS="-S -q 50 -b 16"   rtpload: spin between sends (no sleep/wake
#                   cost), send every 50 us at most, batches of 16
#   SB_OPTS=""      more sbrelay options;  SB_PORTS=40000-49999
#   SB_EXTRA=""     more JSON fields for rtpload's offers (-X), e.g. to ask
#                   for transcoding once the protocol has a way
#   SB_VARIANTS="g711 srtp opus g722"   the sbrelay ladders to run (all
#                   but g711 first checked with 4 calls: skipped, with the
#                   reason, when sbrelay does not do them)
#   BUDGET=570      seconds; no new step starts after it
#   QUICK=1         smoke test: 2 s steps, few call counts (about 1 minute)
#   KEEP=1          keep the work directory (logs, every RESULT line)

set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
T_START=$(date +%s)

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	STEP_SECS=${STEP_SECS:-2}; BASE_SECS=${BASE_SECS:-1}; WARM_SECS=${WARM_SECS:-0.5}
	CALLS=${CALLS:-"200 800 1400 2000"}; REFINE=${REFINE:-0}; RETRY=${RETRY:-0}
fi
STEP_SECS=${STEP_SECS:-5}
BASE_SECS=${BASE_SECS:-3}
WARM_SECS=${WARM_SECS:-1}
CALLS=${CALLS:-"100 200 400 600 800 1000 1200 1400 1600 2000 2400 3000"}
REFINE=${REFINE:-2}
START=${START:-800}
RETRY=${RETRY:-1}
NOISY=${NOISY:-10}
QUIET_MAX=${QUIET_MAX:-10}
QUIET_WAIT=${QUIET_WAIT:-20}
LOSS_MAX=${LOSS_MAX:-0.1}
ADDED_P99_MAX_US=${ADDED_P99_MAX_US:-1000}
XCODE_P99_MAX_US=${XCODE_P99_MAX_US:-80000}
RELAY_CPU=${RELAY_CPU-1}
GEN_CPU=${GEN_CPU-0}
RELAY_THREADS=${RELAY_THREADS:-1}
GEN_OPTS=${GEN_OPTS:-"-S -q 50 -b 16"}
SB_OPTS=${SB_OPTS:-}
SB_PORTS=${SB_PORTS:-40000-49999}
SB_EXTRA=${SB_EXTRA:-}
SB_VARIANTS=${SB_VARIANTS-"g711 srtp opus g722"}
BUDGET=${BUDGET:-570}
KEEP=${KEEP:-0}
OUT="$HERE/results-latest.txt"

# sbrelay: argument, $SBRELAY_BIN, $top_builddir/sbrelay, the top of the tree
# (SBRELAY_BIN=none: the plain relay only)
SB=${1:-${SBRELAY_BIN:-}}
if [ "$SB" = none ]; then
	SB=""
elif [ -z "$SB" ]; then
	for c in "${top_builddir:-$TOP}/sbrelay" "$TOP/sbrelay" "$TOP/media/sbrelay"; do
		if [ -x "$c" ] && [ -f "$c" ]; then SB=$c; break; fi
	done
fi
[ -n "$SB" ] && [ ! -x "$SB" ] && { echo "run.sh: $SB is not executable" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sbrelaybench.XXXXXX)
LOG="$WORK/steps.log"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "$*" | tee -a "$LOG"; }
elapsed() { echo $(( $(date +%s) - T_START )); }
over_budget() { [ "$(elapsed)" -ge "$BUDGET" ]; }
pin() { [ -n "$1" ] && echo "taskset -c $1"; }

# stop one process we started: TERM, then KILL after 3 s
stop_pid() {
	local p=$1 i
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	local n=() x
	for x in "${PIDS[@]}"; do [ "$x" != "$p" ] && n+=("$x"); done
	PIDS=("${n[@]}")
}

host_busy_ticks() {  # all CPUs' busy time (not idle, not iowait, not steal), in ticks
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# ---- build ----
echo "building into $WORK/bin"
if ! make -s -C "$HERE" OUT="$WORK/bin" >"$WORK/build.log" 2>&1; then
	cat "$WORK/build.log" >&2
	echo "run.sh: build failed (needs cc, make, pkg-config, libsrtp2-dev; libopus-dev optional)" >&2
	exit 1
fi
BIN="$WORK/bin"
HZ=$(getconf CLK_TCK)
# a copy of sbrelay (an ELF one): a rebuild during the run does not change it
SB_SHOWN=${SB:-not built}
if [ -n "$SB" ] && [ "$(head -c 4 "$SB" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	cp "$SB" "$BIN/sbrelay" && SB="$BIN/sbrelay"
fi

# ---- the machine ----
b0=$(host_busy_ticks); sleep 2; b1=$(host_busy_ticks)
BG_LOAD=$(( (b1 - b0) * 100 / HZ / 2 ))
STALLS=""
for c in $(seq 0 $(( $(nproc) - 1 ))); do
	$BIN/rtpload -G 1 -C "$c" >"$WORK/stall.$c" &
	PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
for c in $(seq 0 $(( $(nproc) - 1 ))); do
	l=$(cat "$WORK/stall.$c")
	STALLS+="    cpu$c: $(echo "$l" | sed 's/^STALLS //')"$'\n'
done

# ---- results ----
declare -A R       # R[kind.key]
declare -A BASEP99 # baseline p99 by call count

parse_result() {  # parse_result PREFIX LINE -> R[PREFIX.key]=value
	local kv
	for kv in $2; do
		[ "$kv" = RESULT ] && continue
		R[$1.${kv%%=*}]=${kv#*=}
	done
}
get() { echo "${R[$1]:--}"; }

# rtpload with the generator's CPU, bounded
rtpload() {  # rtpload OUTFILE ARGS...
	local of=$1; shift
	local secs lim
	lim=$(awk -v s="$STEP_SECS" -v w="$WARM_SECS" 'BEGIN { printf "%d", s + w + 40 }')
	timeout -k 3 "$lim" $(pin "$GEN_CPU") "$BIN/rtpload" -w "$WARM_SECS" $GEN_OPTS "$@" \
		>"$of" 2>"$of.err"
}

baseline() {  # baseline N: generator alone; sets BASEP99[N]
	local n=$1 f="$WORK/base.$1"
	[ -n "${BASEP99[$n]:-}" ] && return
	rtpload "$f" -n "$n" -d "$BASE_SECS" -r none -L "base-$n"
	local line
	line=$(grep '^RESULT' "$f")
	if [ -z "$line" ]; then
		BASEP99[$n]=0
		say "  baseline $n calls: no result ($(head -c 200 "$f.err"))"
		return
	fi
	[ "${R[base$n.gen_behind]:-0}" = 1 ] && say "  (the generator alone could not keep up at $n calls: steps this large measure the machine, not the relay)"
	parse_result "base$n" "$line"
	BASEP99[$n]=${R[base$n.p99_us]}
	say "$(printf '  %-15s %5d calls %7.0f pps  loss %7.4f%%  p50 %5s p99 %5s p999 %6s us | gen work %5s%% behind %s | other %4s%%' \
		baseline "$n" "${R[base$n.relay_pps]}" "${R[base$n.loss_pct]}" "${R[base$n.p50_us]}" \
		"${R[base$n.p99_us]}" "${R[base$n.p999_us]}" "${R[base$n.gen_work_pct]}" \
		"${R[base$n.gen_behind]}" "${R[base$n.other_pct]}")"
}

# the baseline for N: that of the largest ladder count <= N (stricter);
# sets BP
base_for() {
	local n=$1 best="" c
	for c in $CALLS; do
		[ "$c" -le "$n" ] && best=$c
	done
	[ -z "$best" ] && best=$n
	baseline "$best"
	BP=${BASEP99[$best]}
}

PLAIN_RSS1=""
# start_relay KIND N: sets RPID and RARG (rtpload's -r)
start_relay() {
	local kind=$1 n=$2
	RPID=""; RARG=""
	case $kind in
	plain-*)
		local m=${kind#plain-} pf="$WORK/ports.$kind.$n"
		rm -f "$pf"
		local lim
		lim=$(awk -v s="$STEP_SECS" -v w="$WARM_SECS" 'BEGIN { printf "%d", s + w + 45 }')
		$(pin "$RELAY_CPU") "$BIN/plainrelay" -n "$n" -m "$m" -t "$RELAY_THREADS" -d "$lim" \
			-o "$pf" >"$WORK/relay.$kind.$n" 2>&1 &
		RPID=$!
		PIDS+=("$RPID")
		RARG="plain:$pf"
		;;
	sb-*)
		local sock="$WORK/sbrelay.sock"
		rm -f "$sock"
		$(pin "$RELAY_CPU") "$SB" -l "$sock" -a 127.0.0.1 -p "$SB_PORTS" -j "$RELAY_THREADS" \
			$SB_OPTS >"$WORK/relay.$kind.$n" 2>&1 &
		RPID=$!
		PIDS+=("$RPID")
		local i
		for i in $(seq 50); do
			[ -S "$sock" ] && break
			kill -0 "$RPID" 2>/dev/null || break
			sleep 0.1
		done
		RARG="sbrelay:$sock"
		;;
	esac
}

# step KIND N -> STEP_VERDICT pass|fail, R[KIND.N.*]
step() {
	local kind=$1 n=$2 try=${3:-1}
	local bp
	base_for "$n"
	bp=$BP
	start_relay "$kind" "$n"
	local extra=()
	case $kind in
	sb-srtp) extra=(-e a) ;;
	sb-opus) extra=(-c opus) ;;
	sb-g722) extra=(-c g722) ;;
	esac
	[ -n "$SB_EXTRA" ] && [ "${kind#sb-}" != "$kind" ] && extra+=(-X "$SB_EXTRA")
	local f="$WORK/step.$kind.$n.$try"
	rtpload "$f" -n "$n" -d "$STEP_SECS" -r "$RARG" -P "$RPID" -L "$kind-$n" "${extra[@]}"
	stop_pid "$RPID"
	cat "$WORK/relay.$kind.$n" >>"$f.relay" 2>/dev/null
	local line k="$kind.$n"
	line=$(grep '^RESULT' "$f")
	if [ -z "$line" ]; then
		STEP_VERDICT=fail
		STEP_WHY="no result: $(head -c 300 "$f.err" | tr '\n' ' ')"
		say "$(printf '  %-15s %5d calls  FAIL  %s' "$kind" "$n" "$STEP_WHY")"
		return
	fi
	parse_result "$k" "$line"
	local added
	added=$(awk -v a="${R[$k.p99_us]}" -v b="$bp" 'BEGIN { printf "%.0f", a - b }')
	# the histogram ends at 102 ms
	local added_disp="+$added"
	[ "${R[$k.p99_us]}" = 1000000000 ] && { R[$k.p99_us]=">102000"; added_disp="+>102000"; }
	[ "${R[$k.p999_us]}" = 1000000000 ] && R[$k.p999_us]=">102000"
	R[$k.added_p99_us]=$added
	R[$k.base_p99_us]=$bp
	STEP_WHY=""
	awk -v l="${R[$k.loss_pct]}" -v m="$LOSS_MAX" 'BEGIN { exit !(l >= m) }' && STEP_WHY+="loss "
	local p99_max=$ADDED_P99_MAX_US
	case $kind in sb-opus|sb-g722) p99_max=$XCODE_P99_MAX_US ;; esac
	[ "$added" -ge "$p99_max" ] && STEP_WHY+="p99 "
	[ "${R[$k.gen_behind]}" = 1 ] && STEP_WHY+="generator-behind "
	[ "${R[$k.pt_mismatch]}" != 0 ] && STEP_WHY+="not-transcoded "
	[ "${R[$k.srtp_err]}" != 0 ] && STEP_WHY+="srtp-errors "
	if [ -z "$STEP_WHY" ]; then STEP_VERDICT=pass; else STEP_VERDICT=fail; fi
	R[$k.verdict]=$STEP_VERDICT
	say "$(printf '  %-15s %5d calls %7.0f pps  loss %7.4f%%  p50 %5s p99 %5s (%s) p999 %6s us | cpu%%: relay %5s (sys %5s) gen work %5s stall %4s other %4s | rss %6s KiB | %s %s' \
		"$kind" "$n" "${R[$k.relay_pps]}" "${R[$k.loss_pct]}" "${R[$k.p50_us]}" "${R[$k.p99_us]}" \
		"$added_disp" "${R[$k.p999_us]}" "${R[$k.relay_cpu_pct]}" "${R[$k.relay_sys_pct]}" \
		"${R[$k.gen_work_pct]}" "${R[$k.gen_stall_pct]}" "${R[$k.other_pct]}" "${R[$k.relay_rss_kb]}" "$STEP_VERDICT" "$STEP_WHY")"
}

# wait until the other processes are quiet: < QUIET_MAX % of a core over
# half a second, for QUIET_WAIT seconds at most (none of ours runs now)
wait_quiet() {
	local i b0 b1 load waited=0
	for i in $(seq $(( QUIET_WAIT * 2 ))); do
		b0=$(host_busy_ticks); sleep 0.5; b1=$(host_busy_ticks)
		load=$(( (b1 - b0) * 200 / HZ ))
		[ "$load" -lt "$QUIET_MAX" ] && break
		waited=$(( waited + 1 ))
		over_budget && break
	done
	[ "$waited" -gt 0 ] && say "  (waited $(( waited / 2 )) s for other processes to quiet down: $load% of a core)"
}

# a step, run again when it fails: the machine is shared, and a hiccup of
# the host or another session's burst should not end a ladder.  A try
# that failed while others used more than NOISY % does not count.
step_retry() {
	local tries=0 counted=0 k="$1.$2" o
	while [ "$tries" -lt 5 ]; do
		[ "$tries" -gt 0 ] && over_budget && break
		wait_quiet
		tries=$(( tries + 1 ))
		step "$1" "$2" "$tries"
		[ "$STEP_VERDICT" = pass ] && break
		o=${R[$k.other_pct]:-0}
		# busy: others used the CPU, or the spinning generator lost its CPU
		# (to other tasks: gen_cpu_pct < 90; to the host: stalls > 3 %)
		if awk -v o="$o" -v m="$NOISY" -v s="${R[$k.gen_spin]:-0}" -v c="${R[$k.gen_cpu_pct]:-100}" \
			-v st="${R[$k.gen_stall_pct]:-0}" 'BEGIN { exit !(o > m || (s == 1 && (c < 90 || st > 3))) }'; then
			STEP_WHY+="busy(others ${o}%, generator cpu ${R[$k.gen_cpu_pct]:-?}% stalled ${R[$k.gen_stall_pct]:-?}%) "
		else
			counted=$(( counted + 1 ))
		fi
		[ "$counted" -gt "$RETRY" ] && break
	done
	[ "$STEP_VERDICT" = pass ] && [ "$tries" -gt 1 ] && STEP_WHY="passed on try $tries"
	R[$k.tries]=$tries
}

# The ladders of all the relay variants, interleaved: each round steps
# every variant that is not done, one after the other, so that they see
# the same machine (its noise changes from minute to minute).  Per
# variant: start at the largest count <= START; if it fails, down the
# ladder until one passes; if it passes, up until two counts in a row
# fail; then REFINE bisection steps (to 50 calls) between the largest
# count that passed and the next one above that failed.
# Sets BEST[KIND] (most calls that passed, 0: none) and R[KIND.failed].
declare -A BEST PHASE IDX NFAIL FAIL NREF
ladders() {
	local -a L=($CALLS)
	local k i s=0 n round mid active
	for i in "${!L[@]}"; do [ "${L[$i]}" -le "$START" ] && s=$i; done
	for k in "$@"; do
		BEST[$k]=0; FAIL[$k]=0; NFAIL[$k]=0; NREF[$k]=0; PHASE[$k]=start; IDX[$k]=$s
	done
	say ""
	say "== ladders, interleaved: $*"
	for round in $(seq 100); do
		active=0
		for k in "$@"; do
			[ "${PHASE[$k]}" = done ] && continue
			if over_budget; then
				say "  (budget of ${BUDGET}s reached: $k stops here)"
				PHASE[$k]=done
				continue
			fi
			# the count to try, or done
			case ${PHASE[$k]} in
			start|up|down) n=${L[${IDX[$k]}]} ;;
			refine)
				mid=$(( (BEST[$k] + FAIL[$k]) / 2 / 50 * 50 ))
				if [ "${FAIL[$k]}" = 0 ] || [ "$mid" -le "${BEST[$k]}" ] ||
				   [ "${NREF[$k]}" -ge "$REFINE" ]; then
					PHASE[$k]=done
					continue
				fi
				n=$mid
				NREF[$k]=$(( NREF[$k] + 1 ))
				;;
			esac
			active=1
			step_retry "$k" "$n"
			if [ "$STEP_VERDICT" = pass ]; then
				[ "$n" -gt "${BEST[$k]}" ] && BEST[$k]=$n
				# a failure below a pass was noise: forget it
				[ "${FAIL[$k]}" -le "$n" ] && FAIL[$k]=0
				NFAIL[$k]=0
			else
				if [ "${FAIL[$k]}" = 0 ] || [ "$n" -lt "${FAIL[$k]}" ]; then
					[ "$n" -gt "${BEST[$k]}" ] && { FAIL[$k]=$n; R[$k.fail_why]=$STEP_WHY; }
				fi
				NFAIL[$k]=$(( NFAIL[$k] + 1 ))
			fi
			case ${PHASE[$k]} in
			start)
				if [ "$STEP_VERDICT" = pass ]; then PHASE[$k]=up; IDX[$k]=$(( s + 1 ))
				else PHASE[$k]=down; IDX[$k]=$(( s - 1 )); fi
				;;
			up)
				IDX[$k]=$(( IDX[$k] + 1 ))
				;;
			down)
				[ "$STEP_VERDICT" = pass ] && PHASE[$k]=refine
				IDX[$k]=$(( IDX[$k] - 1 ))
				;;
			esac
			case ${PHASE[$k]} in
			up) { [ "${NFAIL[$k]}" -ge 2 ] || [ "${IDX[$k]}" -ge "${#L[@]}" ]; } && PHASE[$k]=refine ;;
			down) [ "${IDX[$k]}" -lt 0 ] && PHASE[$k]=done ;;
			esac
		done
		[ "$active" = 0 ] && break
	done
	for k in "$@"; do
		[ "${FAIL[$k]}" != 0 ] && R[$k.failed]="${FAIL[$k]}:$(echo "${R[$k.fail_why]:-}" | sed 's/ *$//; s/ /,/g')"
		if [ "${BEST[$k]}" = 0 ]; then
			say "  $k: no step passed"
		else
			say "  $k: most calls ${BEST[$k]} (first failing count above: $([ "${FAIL[$k]}" = 0 ] && echo none || echo "${FAIL[$k]}"))"
		fi
	done
}

# can sbrelay do KIND at all? one short step with 4 calls
probe() {
	local kind=$1 save_s=$STEP_SECS
	STEP_SECS=1
	start_relay "$kind" 4
	local extra=()
	case $kind in
	sb-srtp) extra=(-e a) ;;
	sb-opus) extra=(-c opus) ;;
	sb-g722) extra=(-c g722) ;;
	esac
	[ -n "$SB_EXTRA" ] && extra+=(-X "$SB_EXTRA")
	local f="$WORK/probe.$kind"
	rtpload "$f" -n 4 -d 1 -w 0.5 -r "$RARG" -P "$RPID" -L "probe-$kind" "${extra[@]}"
	stop_pid "$RPID"
	STEP_SECS=$save_s
	local line
	line=$(grep '^RESULT' "$f")
	PROBE_WHY=""
	if [ -z "$line" ]; then
		PROBE_WHY=$(head -c 200 "$f.err" | tr '\n' ' ')
		return 1
	fi
	parse_result "probe.$kind" "$line"
	[ "${R[probe.$kind.pt_mismatch]}" != 0 ] && { PROBE_WHY="codec passed through, not transcoded"; return 1; }
	[ "${R[probe.$kind.srtp_err]}" != 0 ] && { PROBE_WHY="SRTP errors"; return 1; }
	awk -v l="${R[probe.$kind.loss_pct]}" 'BEGIN { exit !(l >= 50) }' && { PROBE_WHY="packets do not get through"; return 1; }
	return 0
}

# ---- run ----
{
	echo "Media-relay benchmark -- $(date '+%Y-%m-%d %H:%M:%S')"
	echo "host: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)"
	echo "tree: $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$TOP" diff --quiet 2>/dev/null || echo ' (modified)')"
	echo "sbrelay: $SB_SHOWN$([ -n "$SB" ] && echo " ($(stat -c '%y' "$SB_SHOWN" 2>/dev/null | cut -d. -f1))")"
} >"$LOG"
cat "$LOG"
say "CPU used by other processes before the run: ${BG_LOAD}% of one core$([ "$BG_LOAD" -gt 20 ] && echo "  -- WARNING: machine not idle, numbers are noisy")"
say "stall probe (1 s spinning on each CPU: time the CPU was taken away):"
printf '%s' "$STALLS" | tee -a "$LOG"
say "relay on CPU ${RELAY_CPU:-any} (${RELAY_THREADS} thread), generator on CPU ${GEN_CPU:-any} (rtpload $GEN_OPTS)"
say "steps: ${STEP_SECS}s measured after ${WARM_SECS}s warm-up; pass = loss < ${LOSS_MAX}% and p99 - baseline p99 < ${ADDED_P99_MAX_US} us (transcoded: ${XCODE_P99_MAX_US} us) and the generator kept up"

say ""
say "== srtpcost (libsrtp2, 172-byte packets, one thread on CPU ${RELAY_CPU:-any})"
timeout -k 3 30 $(pin "$RELAY_CPU") "$BIN/srtpcost" -d 1.5 >"$WORK/srtpcost" 2>&1
while read -r l; do
	case $l in
	SRTPLIB*) R[srtp.lib]=$(echo "$l" | sed 's/.*version=//'); say "  ${R[srtp.lib]}" ;;
	"SRTP suite="*unavailable*) s=$(echo "$l" | sed 's/SRTP suite=\([^ ]*\).*/\1/'); R[srtp.$s.both_ns]=-; say "  $s: unavailable" ;;
	"SRTP suite="*)
		s=$(echo "$l" | sed 's/SRTP suite=\([^ ]*\).*/\1/')
		parse_result "srtp.$s" "${l#SRTP }"
		say "$(printf '  %-24s protect %5s ns  unprotect %5s ns  (+%s bytes)  %s packets' "$s" \
			"${R[srtp.$s.protect_ns]}" "${R[srtp.$s.unprotect_ns]}" "${R[srtp.$s.overhead_bytes]}" "${R[srtp.$s.packets]}")"
		;;
	esac
done <"$WORK/srtpcost"


KINDS="plain-recvfrom plain-mmsg"
SB_KINDS=""
if [ -n "$SB" ]; then
	say ""
	for kind in $(for v in $SB_VARIANTS; do echo "sb-$v"; done); do
		if [ "$kind" = sb-g711 ]; then
			SB_KINDS+=" sb-g711"
			continue
		fi
		if probe "$kind"; then
			say "== $kind: sbrelay does it (a 4-call check passed)"
			SB_KINDS+=" $kind"
		else
			R[$kind.skip]="not supported: $PROBE_WHY"
			say "== $kind: not supported by this sbrelay ($PROBE_WHY)"
		fi
	done
else
	say ""
	say "== sbrelay: not built"
fi
ladders $KINDS $SB_KINDS

# the G.711 variants at one count: the most sbrelay's fast path passed,
# for each plain variant that did not step there (one step each, tried
# again as a ladder step is), so that their CPU per packet compares
if [ "${BEST[sb-g711]:-0}" != 0 ]; then
	n=${BEST[sb-g711]}
	for k in $KINDS; do
		[ -n "${R[$k.$n.verdict]:-}" ] || over_budget && continue
		say "== equal load: $k at $n calls"
		step_retry "$k" "$n"
	done
fi

# ---- the table ----
# per kind at its best step: calls, pps, relay CPU %, per core figures
derive() {
	local kind=$1 n=${BEST[$1]:-0}
	local k="$kind.$n"
	if [ "$n" = 0 ] || [ -z "${R[$k.relay_pps]:-}" ]; then
		return
	fi
	R[$kind.calls]=$n
	R[$kind.pps]=${R[$k.relay_pps]}
	R[$kind.cpu]=${R[$k.relay_cpu_pct]}
	R[$kind.sys]=${R[$k.relay_sys_pct]}
	R[$kind.p50]=${R[$k.p50_us]}
	R[$kind.p99]=${R[$k.p99_us]}
	R[$kind.p999]=${R[$k.p999_us]}
	R[$kind.added]=${R[$k.added_p99_us]}
	R[$kind.loss]=${R[$k.loss_pct]}
	R[$kind.rss]=${R[$k.relay_rss_kb]}
	R[$kind.anon]=${R[$k.relay_anon_kb]}
	R[$kind.other]=${R[$k.other_pct]}
	R[$kind.gen]=${R[$k.gen_work_pct]}
	eval "$(awk -v K="$kind" -v n="$n" -v pps="${R[$k.relay_pps]}" -v cpu="${R[$k.relay_cpu_pct]}" \
		-v rss="${R[$k.relay_rss_kb]}" -v rss0="${R[$k.relay_rss_before_kb]}" \
		-v anon="${R[$k.relay_anon_kb]}" -v anon0="${R[$k.relay_anon_before_kb]}" 'BEGIN {
		c = cpu > 0 ? cpu / 100 : 0
		printf "R[%s.pps_core]=%.0f; ", K, c ? pps / c : 0
		printf "R[%s.calls_core]=%.0f; ", K, c ? n / c : 0
		printf "R[%s.ns_pkt]=%.0f; ", K, pps ? cpu / 100 * 1e9 / pps : 0
		printf "R[%s.us_call]=%.1f; ", K, n ? cpu / 100 * 1e6 / n : 0
		printf "R[%s.kib_call]=%.2f; ", K, n ? (rss - rss0) / n : 0
		printf "R[%s.anon_call]=%.2f; ", K, n ? (anon - anon0) / n : 0
	}')"
}
for kind in $KINDS $SB_KINDS; do derive "$kind"; done
# plainrelay's sockets exist before the generator measures "before":
# its memory per call is taken against a plainrelay with one call
if [ -n "${R[plain-recvfrom.calls]:-}" ]; then
	$BIN/plainrelay -n 1 -d 1 >/dev/null 2>&1 &
	p=$!; PIDS+=("$p"); sleep 0.3
	rss1=$(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null)
	anon1=$(awk '/^RssAnon:/ { print $2 }' /proc/$p/status 2>/dev/null)
	stop_pid "$p"
	for kind in $KINDS; do
		[ -z "${R[$kind.calls]:-}" ] && continue
		R[$kind.kib_call]=$(awk -v a="${R[$kind.rss]}" -v b="${rss1:-0}" -v n="${R[$kind.calls]}" 'BEGIN { printf "%.2f", (a - b) / n }')
		R[$kind.anon_call]=$(awk -v a="${R[$kind.anon]}" -v b="${anon1:-0}" -v n="${R[$kind.calls]}" 'BEGIN { printf "%.2f", (a - b) / n }')
	done
fi

# equal load: the largest ladder count that every G.711 variant passed
# (their steps ran within a minute of each other): CPU per packet there
# compares the variants' efficiency without the latency criterion's
# noise. SRTP and transcoded calls cost several times more: they never
# reach the G.711 counts, and are left out of it.
SAME_KINDS=$KINDS
case " $SB_KINDS " in *" sb-g711 "*) SAME_KINDS="$KINDS sb-g711" ;; esac
REF=""
REF_WHY="every G.711 variant passed it"
for n in $CALLS; do
	ok=1
	for k in $SAME_KINDS; do
		[ "${R[$k.$n.verdict]:-}" = pass ] || ok=0
	done
	[ "$ok" = 1 ] && REF=$n
done
# else: the largest count every variant ran without saturating (relay
# CPU < 90 %): its CPU per packet still compares, whatever the latency
if [ -z "$REF" ]; then
	for n in $CALLS; do
		ok=1
		for k in $SAME_KINDS; do
			awk -v c="${R[$k.$n.relay_cpu_pct]:-100}" 'BEGIN { exit !(c < 90) }' || ok=0
		done
		[ "$ok" = 1 ] && REF=$n
	done
	REF_WHY="not every G.711 variant passed it; none was saturated"
fi
if [ -n "$REF" ]; then
	for k in $SAME_KINDS; do
		eval "$(awk -v K="$k" -v n="$REF" -v pps="${R[$k.$REF.relay_pps]}" -v cpu="${R[$k.$REF.relay_cpu_pct]}" 'BEGIN {
			c = cpu / 100
			printf "R[%s.ref_cpu]=%.1f; ", K, cpu
			printf "R[%s.ref_ns]=%.0f; ", K, pps ? c * 1e9 / pps : 0
			printf "R[%s.ref_calls_core]=%.0f; ", K, c ? n / c : 0
		}')"
		R[$k.ref_p99]=${R[$k.$REF.p99_us]}
	done
fi

# the ceiling: the plain variant that costs less CPU per packet at equal
# load (or, without one, moves more packets per core at its limit)
CEIL=plain-recvfrom
if [ -n "$REF" ]; then
	[ "${R[plain-mmsg.ref_ns]}" -lt "${R[plain-recvfrom.ref_ns]}" ] && CEIL=plain-mmsg
elif [ -n "${R[plain-mmsg.pps_core]:-}" ] && [ -n "${R[plain-recvfrom.pps_core]:-}" ] &&
     [ "${R[plain-mmsg.pps_core]}" -gt "${R[plain-recvfrom.pps_core]}" ]; then
	CEIL=plain-mmsg
fi
[ -z "${R[plain-recvfrom.pps_core]:-}" ] && [ -n "${R[plain-mmsg.pps_core]:-}" ] && CEIL=plain-mmsg

ratio() {  # ratio A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

{
	head -n 4 "$LOG"
	echo "CPU used by other processes before the run: ${BG_LOAD}% of one core$([ "$BG_LOAD" -gt 20 ] && echo "  -- WARNING: machine not idle, numbers are noisy")"
	echo "stall probe (1 s spinning on each CPU):"
	printf '%s' "$STALLS"
	echo "relay: one thread on CPU ${RELAY_CPU:-any}; generator (rtpload $GEN_OPTS) on CPU ${GEN_CPU:-any}"
	echo "G.711 calls: 172-byte RTP packets, 50/s each way (100 packets/s relayed per call)"
	echo "most calls = most with loss < ${LOSS_MAX}% and p99 - baseline p99 < ${ADDED_P99_MAX_US} us (${STEP_SECS}s steps; a failed step tried again: $RETRY time(s), more if others were busy)"
	echo "per core = divided by the relay's CPU (1.00 = one core busy); ceiling = $CEIL (the plain variant with less CPU per packet at equal load)"
	echo ""
	cols="$KINDS $SB_KINDS"
	printf '%-34s' ""
	for c in $cols; do printf ' %14s' "$c"; done
	echo ""
	row() {  # row LABEL FIELD
		printf '%-34s' "$1"
		for c in $cols; do printf ' %14s' "${R[$c.$2]:--}"; done
		echo ""
	}
	row "most calls" calls
	row "  packets/s relayed" pps
	row "  relay CPU % (of one core)" cpu
	row "  relay CPU % in the kernel" sys
	row "  latency p50 us" p50
	row "  latency p99 us" p99
	row "  added p99 us (- baseline)" added
	row "  latency p99.9 us" p999
	row "  loss %" loss
	row "  generator CPU % (work)" gen
	row "  other processes' CPU %" other
	row "  first failing step: why" failed
	row "calls per relay core" calls_core
	row "packets/s per relay core" pps_core
	row "relay CPU ns per packet" ns_pkt
	row "relay CPU us per call-second" us_call
	row "relay RSS KiB at most calls" rss
	row "relay RSS KiB per call" kib_call
	row "relay private KiB per call" anon_call
	echo ""
	if [ -n "$REF" ]; then
		echo "at the same load, $REF calls ($(( REF * 100 )) packets/s; $REF_WHY):"
		row "  relay CPU %" ref_cpu
		row "  relay CPU ns per packet" ref_ns
		row "  calls per relay core" ref_calls_core
		row "  latency p99 us" ref_p99
	else
		echo "at the same load: no call count that every variant ran unsaturated"
	fi
	echo ""
	echo "ratios to the ceiling ($CEIL), same run:"
	printf '%-34s' ""
	for c in $cols; do printf ' %14s' "$c"; done
	echo ""
	printf '%-34s' "most calls"
	for c in $cols; do printf ' %14s' "$(ratio "${R[$c.calls]:-}" "${R[$CEIL.calls]:-}")"; done
	echo ""
	printf '%-34s' "calls per relay core at the limit"
	for c in $cols; do printf ' %14s' "$(ratio "${R[$c.calls_core]:-}" "${R[$CEIL.calls_core]:-}")"; done
	echo ""
	printf '%-34s' "packets per relay core, $REF calls"
	for c in $cols; do printf ' %14s' "$(ratio "${R[$CEIL.ref_ns]:-}" "${R[$c.ref_ns]:-}")"; done
	echo ""
	# sbrelay reads with recvmmsg/sendmmsg: plain-mmsg makes the same calls
	printf '%-34s' "  the same, to plain-mmsg"
	for c in $cols; do printf ' %14s' "$(ratio "${R[plain-mmsg.ref_ns]:-}" "${R[$c.ref_ns]:-}")"; done
	echo ""
	echo ""
	echo "libsrtp2 (${R[srtp.lib]:-?}), one thread, per 172-byte packet:"
	for s in AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_32 AEAD_AES_128_GCM; do
		[ -z "${R[srtp.$s.both_ns]:-}" ] && continue
		if [ "${R[srtp.$s.both_ns]}" = - ]; then printf '  %-24s unavailable\n' "$s"; continue; fi
		printf '  %-24s protect %5s ns  unprotect %5s ns  = %s x the ceiling'"'"'s CPU per packet (%s ns)\n' "$s" \
			"${R[srtp.$s.protect_ns]}" "${R[srtp.$s.unprotect_ns]}" \
			"$(ratio "${R[srtp.$s.protect_ns]}" "${R[$CEIL.ref_ns]:-${R[$CEIL.ns_pkt]:-}}")" "${R[$CEIL.ref_ns]:-${R[$CEIL.ns_pkt]:--}}"
	done
	echo "  (SRTP on one leg: every relayed packet is protected or unprotected once)"
	echo ""
	echo "targets:"
	if [ -n "${R[sb-g711.calls_core]:-}" ]; then
		echo "  sbrelay fast path per core: $(ratio "${R[$CEIL.ref_ns]:-}" "${R[sb-g711.ref_ns]:-}") x the plain relay in packets per CPU at $REF calls, $(ratio "${R[sb-g711.calls_core]}" "${R[$CEIL.calls_core]:-}") x in calls per core at each one's limit (target >= 0.7)"
		echo "  G.711 calls per relay core: ${R[sb-g711.calls_core]} (most calls / CPU), ${R[sb-g711.calls]} measured on one core (target about 800)"
	elif [ -n "$SB" ]; then
		echo "  sbrelay: no step passed"
	else
		echo "  sbrelay: not built (plain relay only: ${R[$CEIL.calls_core]:--} G.711 calls per core is the ceiling; 0.7 x = $(awk -v c="${R[$CEIL.calls_core]:-0}" 'BEGIN { printf "%.0f", c * 0.7 }'))"
	fi
	if [ -n "${R[sb-opus.calls]:-}" ]; then
		echo "  PCMU<->Opus calls per relay core: ${R[sb-opus.calls_core]} (most calls / CPU), ${R[sb-opus.calls]} measured on one core (target >= 150)"
	fi
	for kind in sb-g711 sb-opus; do
		[ -n "${R[$kind.calls]:-}" ] && echo "  $kind memory per call: ${R[$kind.anon_call]} KiB private (RssAnon), ${R[$kind.kib_call]} KiB RSS with the libraries' pages (target $([ $kind = sb-opus ] && echo 80 || echo 16) KB)"
	done
	for kind in sb-srtp sb-opus sb-g722; do
		[ -n "${R[$kind.skip]:-}" ] && echo "  $kind: ${R[$kind.skip]}"
	done
	[ "$BG_LOAD" -gt 20 ] && echo "  WARNING: the machine was not idle (${BG_LOAD}% of one core used by others before the run)"
	printf '%s' "$STALLS" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^stalled_pct=/) { v = substr($i, 13); if (v + 0 > 5) printf "  WARNING: %s was taken away %s%% of the time in the stall probe: latency numbers are noisy\n", $1, v } }' 
	awk -v o="$(for c in $cols; do echo "${R[$c.other]:-0}"; done | sort -n | tail -1)" 'BEGIN { if (o + 0 > 10) printf "  WARNING: other processes used up to %s%% of a core during a measured step\n", o }'
	echo ""
	echo "run took $(elapsed) s"
	echo ""
	echo "every step:"
	grep -E '^  (baseline|plain-|sb-|\(waited)' "$LOG"
} >"$WORK/table"
echo ""
echo "================================================================"
cat "$WORK/table"
echo ""
cp "$WORK/table" "$OUT"
echo "written to $OUT"
