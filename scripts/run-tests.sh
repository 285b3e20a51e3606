#!/bin/bash
# make test: host-side tests of our scripts, then the guest suite on several
# topologies. Every part reports one "<name>: N passed, N failed, N skipped"
# line (scripts/parse-results.sh); this script adds them up and closes with
#   N passed, N failed
# It exits non-zero on any failure, kernel report, missing result or timeout.
#
# GUEST_RUNS restricts the guest matrix to the named runs (space separated).
set -eu
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/test-results
passed=0
failed=0
skipped=0

t0=$(date +%s)

phase() {
	echo "== $* (at $(($(date +%s) - t0)) s)"
}

closing() {
	echo
	echo "total time $(($(date +%s) - t0)) s"
	echo "$passed passed, $failed failed"
}
trap closing EXIT

# Add up one "<name>: N passed, N failed, N skipped" line.
account() {
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "ERROR $2: no result line"
		failed=$((failed + 1))
		return
	fi
	set -- $line
	passed=$((passed + $2))
	failed=$((failed + $4))
	skipped=$((skipped + $6))
}

# A host test prints TAP 13 on stdout; judge it with the same parser as the
# guest steps by framing it as a one-step run.
host_test() {
	t=$1
	name=host-$(basename "$t" .sh)
	rc=0
	"$t" >"$OUT/$name.tap" 2>"$OUT/$name.err" || rc=$?
	{
		echo "# numapte-step: $name"
		cat "$OUT/$name.tap"
		echo "# numapte-step-end: $name rc=$rc"
		echo "# numapte-done: pass"
	} >"$OUT/$name.results"
	: >"$OUT/$name.console"
	"$NUMAPTE_ROOT/scripts/parse-results.sh" --summary-only --name "$name" \
		--expect "$name" --qemu-status 33 \
		"$OUT/$name.results" "$OUT/$name.console" | tee "$OUT/$name.summary" || true
	[ "$rc" = 0 ] || sed 's/^/    /' "$OUT/$name.err"
	account "$OUT/$name.summary" "$name"
}

# name sockets cores timeout plan [extra run-guest.sh options]
# --debug runs boot the debug kernel (KASAN, lockdep, DEBUG_VM), built only
# when a selected run needs it.
GUEST_MATRIX="
s1 1 2 900 topology,kunit,coherence:0,coherence:1,benchsmoke,numapte
s2 2 2 1500 topology,kunit,coherence:0,coherence:1,coherence:2,benchsmoke,numapte,control,mmselftests:off,mmselftests:on
s4 4 2 1500 topology,kunit,coherence:0,coherence:1,coherence:2,coherence:toggle,benchsmoke,numapte,control,narrowing,torture:60
debug-s4 4 2 2400 topology,kunit,coherence:0,coherence:1,coherence:2,coherence:toggle,benchsmoke,numapte:200,control,torture:60 --debug
"

guest_run() {
	name=$1 sockets=$2 cores=$3 tmo=$4 plan=$5
	shift 5
	SOCKETS=$sockets CORES=$cores "$NUMAPTE_ROOT/scripts/run-guest.sh" \
		--name "test-$name" --timeout "$tmo" --plan "$plan" "$@" \
		| tee "$OUT/guest-$name.summary" || true
	account "$OUT/guest-$name.summary" "test-$name"
}

# build MAKE-ARGS...: a failed build is a failure and ends the run.
build() {
	if ! make -C "$NUMAPTE_ROOT" "$@" >"$OUT/build.log" 2>&1; then
		tail -n 40 "$OUT/build.log"
		echo "FAIL  build: make $* (log: $OUT/build.log)"
		failed=$((failed + 1))
		exit 1
	fi
}

main() {
	rm -rf "$OUT"
	mkdir -p "$OUT"
	phase host tests
	for t in "$NUMAPTE_ROOT"/tests/host/test-*.sh; do
		host_test "$t"
	done

	echo "$GUEST_MATRIX" | while read -r name rest; do
		[ -n "$name" ] || continue
		case " ${GUEST_RUNS:-$name} " in
		*" $name "*) echo "$name $rest" ;;
		esac
	done >"$OUT/matrix"

	phase "build (kernel, userspace, initramfs)"
	build all
	if grep -q -- '--debug' "$OUT/matrix"; then
		phase "build debug kernel"
		build kernel DEBUG=1
	fi

	phase guest tests
	while read -r line <&3; do
		# shellcheck disable=SC2086
		guest_run $line
	done 3<"$OUT/matrix"
	[ -s "$OUT/matrix" ] || { echo "ERROR no guest run selected"; failed=$((failed + 1)); }
	[ "$failed" = 0 ]
}

main
