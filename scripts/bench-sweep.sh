#!/bin/bash
# make bench: the socket sweep. Boots 1, 2, 4 and 8 sockets (CORES per socket,
# default 2), runs plan.d/sweep in each, and writes
#   build/bench/sweep.csv  (tlbbench CSV with a leading "sockets" column)
#   build/bench/sweep.png  (median latency and shootdown IPIs per op vs sockets)
#   build/bench/sweep.txt  (the table printed at the end)
set -eu
. "$(dirname "$0")/lib.sh"

CORES=${CORES:-2}
SWEEP=${SWEEP:-1 2 4 8}
out=$BUILD/bench
mkdir -p "$out"
csv=$out/sweep.csv
status=0
: >"$csv.tmp"
for s in $SWEEP; do
	name=bench-${s}s${CORES}c
	SOCKETS=$s CORES=$CORES "$NUMAPTE_ROOT/scripts/run-guest.sh" --name "$name" \
		--timeout "${TIMEOUT:-2400}" --plan sweep || status=1
	step_data "$BUILD/runs/$name/results.log" sweep | awk -v s="$s" -v first="$([ -s "$csv.tmp" ] && echo 0 || echo 1)" '
		NR == 1 { if (first == 1) print "sockets," $0; next }
		{ print s "," $0 }' >>"$csv.tmp"
done
mv "$csv.tmp" "$csv"
[ "$(wc -l <"$csv")" -ge 2 ] || die "no sweep results (see $BUILD/runs/bench-*)"

# One gnuplot data file per (case, setting): sockets, median us, IPIs/op.
rm -f "$out"/sweep-*.dat
awk -F, -v d="$out" 'NR > 1 {
	f = d "/sweep-" $2 "-" $10 ".dat"
	print $1, $12 / 1000, $14 > f
}' "$csv"

# One row per case and setting, one column per socket count.
{
	echo "socket sweep, $CORES cores per socket, QEMU TCG: median latency us / shootdown IPIs received per op"
	awk -F, -v socks="$SWEEP" 'NR > 1 {
		k = $2 ($10 == "na" ? "" : " numapte=" $10)
		if (!(k in seen)) { seen[k] = 1; o[++n] = k }
		v[k, $1] = sprintf("%10.1f / %5.2f", $12 / 1000, $14)
	}
	END {
		ns = split(socks, s, " ")
		printf "%-28s", "case"
		for (j = 1; j <= ns; j++) printf " %18s", s[j] " socket" (s[j] > 1 ? "s" : "")
		print ""
		for (i = 1; i <= n; i++) {
			printf "%-28s", o[i]
			for (j = 1; j <= ns; j++) printf " %18s", v[o[i], s[j]]
			print ""
		}
	}' "$csv"
} | tee "$out/sweep.txt"

need_pkgs gnuplot-nox
plots=
for f in "$out"/sweep-*.dat; do
	t=$(basename "$f" .dat)
	t=${t#sweep-}
	case "$t" in
	*-na) t=${t%-na} ;;
	*-0) t="${t%-0} off" ;;
	*-1) t="${t%-1} on" ;;
	esac
	plots="$plots${plots:+, }'$f' using 1:COL with linespoints title '$t'"
done
gnuplot <<GP
set terminal png size 1100,450
set output '$out/sweep.png'
set multiplot layout 1,2 title "numaPTE socket sweep ($CORES cores/socket, QEMU TCG)"
set xlabel 'sockets (NUMA nodes)'
set xtics (1, 2, 4, 8, 16)
set key top left
set logscale y
set ylabel 'median latency per op (us)'
plot ${plots//COL/2}
unset logscale y
set ylabel 'shootdown IPIs received per op'
plot ${plots//COL/3}
unset multiplot
GP
echo "plot: $out/sweep.png"
echo "csv: $csv"
exit "$status"
