#!/bin/sh
# Install what is missing, build with gcc and run every test, then build
# with clang, AddressSanitizer and UndefinedBehaviorSanitizer and run
# them again. Ends with the line "N passed, M failed".
cd "$(dirname "$0")/.." || exit 2
sh tools/deps.sh || exit 2
top=$(pwd)
passed=0
failed=0

# count the results of one `make check` from its test-suite.log
tally() {
	p=$(grep -c '^PASS: ' "$1/test-suite.summary" 2>/dev/null)
	f=$(grep -cE '^(FAIL|XPASS|ERROR): ' "$1/test-suite.summary" \
		2>/dev/null)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

run_suite() {
	dir=$1
	shift
	echo "== $dir: configure $*"
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" && make -j"$(nproc)" -s) ||
		{ failed=$((failed + 1)); return; }
	(cd "$dir" && make -s check) >"$dir/check.out" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP):' "$dir/check.out" |
		tee "$dir/test-suite.summary"
	for log in $(find "$dir" -name '*.log' ! -name config.log \
		! -name test-suite.log); do
		if grep -q '^:test-result: FAIL' "${log%.log}.trs" 2>/dev/null
		then
			echo "---- $log"
			tail -40 "$log"
		fi
	done
	# a check program that does not build runs no test: count it
	if [ $rc -ne 0 ] &&
		! grep -qE '^(FAIL|XPASS|ERROR):' "$dir/test-suite.summary"
	then
		echo "---- make check failed (exit $rc) in $dir:"
		tail -30 "$dir/check.out"
		failed=$((failed + 1))
	fi
	tally "$dir"
}

[ -x configure ] || autoreconf -fi || exit 2
run_suite build/plain
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build/asan --enable-sanitizers CC=clang

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
