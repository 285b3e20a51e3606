#!/bin/bash
# make run: boot SOCKETS x CORES (default 4 x 2), run the benchmark set
# (scripts/guest/plan.d/bench) and print the table. Results:
#   build/results/run-<S>s<C>c.{csv,json,txt} and the guest logs in build/runs/.
set -eu
. "$(dirname "$0")/lib.sh"

SOCKETS=${SOCKETS:-4}
CORES=${CORES:-2}
export SOCKETS CORES
name=run-${SOCKETS}s${CORES}c
res=$BUILD/results
mkdir -p "$res"

status=0
"$NUMAPTE_ROOT/scripts/run-guest.sh" --name "$name" --timeout "${TIMEOUT:-2400}" \
	--plan topology,bench || status=$?

csv=$res/$name.csv
step_data "$BUILD/runs/$name/results.log" bench >"$csv"
grep '^# vm.numapte' "$BUILD/runs/$name/results.log" | tr -d '\r' || true
if [ "$(wc -l <"$csv")" -lt 2 ]; then
	echo "no benchmark results (see $BUILD/runs/$name/)" >&2
	exit 1
fi
{
	echo "numaPTE microbenchmarks: $SOCKETS sockets x $CORES cores, QEMU TCG," \
		"kernel $(cat "$BUILD/obj/numapte-kernel-version" 2>/dev/null || echo unknown)"
	"$NUMAPTE_ROOT/scripts/bench-report.sh" "$csv" --json "$res/$name.json"
} | tee "$res/$name.txt"
echo "results: $csv $res/$name.json $res/$name.txt"
exit "$status"
