#!/usr/bin/env bash
# The whole ulvs test suite, from a fresh Debian 12 machine as root:
#   unit tests (cmocka) -> the same under ASan+UBSan -> replay tests (pcap in,
#   engine, pcapng out, checked with scapy and tshark) -> integration tests
#   (network namespaces, real nginx and curl) -> a short run of every fuzz
#   target.  Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export CI=${CI:-}

scripts/deps.sh || { echo "test.sh: dependency install failed"; exit 1; }

passed=0 failed=0 failures=()
step() {   # step NAME CMD...: run, count, remember failures
	local name=$1; shift
	echo "=== $name: $*"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

# Warnings are errors in CI (Makefile turns WERROR on when CI is set).
step build make all
step unit make unit
step asan make asan
step replay "$PY" -m pytest -q -p no:cacheprovider tests/replay
if [ -d tests/integration ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
	step integration "$PY" -m pytest -q -p no:cacheprovider tests/integration
fi
fuzz_smoke() {   # every libFuzzer target, FUZZ_SECONDS each, seeded
	make fuzz >/dev/null || return 1
	local f name work rc=0
	work=$(mktemp -d /tmp/ulvs-fuzz.XXXXXX)
	mkdir -p "$work/fuzz_engine" "$work/fuzz_conf"
	"$PY" fuzz/engine_seeds.py "$work/fuzz_engine" >/dev/null || rc=1
	cp tests/conf/good/*.conf "$work/fuzz_conf/" 2>/dev/null
	for f in build-fuzz/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		mkdir -p "$work/$name"
		echo "--- $name for ${FUZZ_SECONDS}s"
		if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$work/$name" \
			>"$work/$name.log" 2>&1; then
			rc=1; tail -40 "$work/$name.log"
		else
			grep -E "^(Done|stat::number_of_executed_units|.*cov:)" "$work/$name.log" | tail -2
		fi
	done
	rm -rf "$work"
	return $rc
}
step fuzz fuzz_smoke

echo
[ ${#failures[@]} -gt 0 ] && echo "failed steps: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
