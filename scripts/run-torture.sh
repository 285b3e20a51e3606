#!/bin/bash
# make torture: numapte_torture (scripts/guest/plan.d/torture) on 4 sockets
# x 2 cores, on the normal kernel and then on the debug kernel (KASAN,
# lockdep, DEBUG_VM), TORTURE_SECONDS each (default 600, in three phases:
# on demand; eager with replica allocations failing; vm.numapte toggling).
# Closes with "N passed, N failed" and exits non-zero on any failure,
# kernel report, missing result or guest timeout.
set -eu
. "$(dirname "$0")/lib.sh"
secs=${TORTURE_SECONDS:-600}
case "$secs" in
'' | *[!0-9]* | 0) die "TORTURE_SECONDS='$secs': a positive number of seconds" ;;
esac
OUT=$BUILD/torture
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0
failed=0
for kernel in normal debug; do
	flag=
	[ "$kernel" = normal ] || flag=--debug
	# Boot, three phases and the runner's margins; the debug kernel boots slower.
	SOCKETS=4 CORES=2 "$NUMAPTE_ROOT/scripts/run-guest.sh" --name "torture-$kernel" \
		--timeout $((secs + 900)) --plan "topology,torture:$secs" $flag |
		tee "$OUT/$kernel.summary" || true
	line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
		"$OUT/$kernel.summary" | tail -n 1)
	if [ -z "$line" ]; then
		echo "ERROR torture-$kernel: no result line"
		failed=$((failed + 1))
		continue
	fi
	set -- $line
	passed=$((passed + $2))
	failed=$((failed + $4))
	grep '^# numapte_torture: \|^ok \|^not ok ' "$BUILD/runs/torture-$kernel/results.log" |
		sed "s/^/torture-$kernel: /" || true
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
