#!/bin/bash
# Host test: scripts/bench-report.sh turns tlbbench CSV into the make-run
# table: baseline rows one per case; vm.numapte=0/2/1 rows side by side with
# the off/on-demand ratios; JSON with one object per row. Prints TAP 13.
set -eu
REPORT=$(cd "$(dirname "$0")/../.." && pwd)/scripts/bench-report.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../../scripts/guest/tap.sh"

H=label,op,pattern,placement,mode,threads,size,iters,numapte,ops,median_ns,p99_ns,tlb_ipi_per_op,tlb_ipi_per_node_per_op,remote_flush_per_op,remote_flush_received_per_op,vmpte_kb,numapte_counters
cat >"$T/base.csv" <<EOF
$H
mprotect-observer,mprotect,private,spread,observer,8,4096,60,na,120,32160000,95704900,7.000,n0=1.000;n1=2.000;n2=2.000;n3=2.000,1.000,7.000,72,
munmap-private-node0,munmap,private,node:0,workers,2,4096,60,na,120,13800,68700,0.000,n0=0.000;n1=0.000,1.000,0.000,56,
EOF
cat >"$T/onoff.csv" <<EOF
$H
mprotect-observer,mprotect,private,spread,observer,8,4096,60,0,120,32000000,90000000,7.000,n0=1.000;n1=2.000;n2=2.000;n3=2.000,1.000,7.000,72,
mprotect-observer,mprotect,private,spread,observer,8,4096,60,2,120,30000000,80000000,7.000,n0=1.000;n1=2.000;n2=2.000;n3=2.000,1.000,7.000,88,numapte_fault=40;numapte_table_copy=12;numapte_page_alloc=36;numapte_page_free=0;numapte_flush_narrowed=0;numapte_flush_broadcast=120;numapte_flush_cpus_spared=0;process_replicated=1;process_replica_pages=72
mprotect-observer,mprotect,private,spread,observer,8,4096,60,1,120,8000000,20000000,1.000,n0=1.000;n1=0.000;n2=0.000;n3=0.000,1.000,1.000,88,numapte_fault=12;numapte_table_copy=3;numapte_page_alloc=9;numapte_page_free=2;numapte_flush_narrowed=120;numapte_flush_broadcast=0;numapte_flush_cpus_spared=720;process_replicated=1;process_replica_pages=24
munmap-shared,munmap,shared,spread,workers,8,4096,60,0,480,50000,90000,0.000,n0=0.000,1.000,0.000,72,
munmap-shared,munmap,shared,spread,workers,8,4096,60,1,480,50000,90000,0.000,n0=0.000,1.000,0.000,72,
EOF
printf 'not,a,benchmark\n1,2,3\n' >"$T/bad.csv"

tap_plan 10
"$REPORT" "$T/base.csv" --json "$T/base.json" >"$T/base.out"
tap_check "baseline: per-node column" grep -q 'IPIs received per op, by node' "$T/base.out"
tap_check "baseline: observer row in us with IPIs and nodes" \
	grep -Eq '^mprotect-observer +8 +4096 +32160\.0 +95704\.9 +7\.00 +n0=1\.000 n1=2\.000 n2=2\.000 n3=2\.000 +72$' "$T/base.out"
tap_check "baseline: one line per case plus header" test "$(wc -l <"$T/base.out")" = 3
tap_check "baseline: JSON has one object per row" test "$(grep -c '^{"label":' "$T/base.json")" = 2
tap_check "baseline: JSON numbers unquoted, strings quoted" \
	grep -q '"threads":8,"size":4096,"iters":60,"numapte":"na"' "$T/base.json"

"$REPORT" "$T/onoff.csv" >"$T/onoff.out"
tap_check "off/eager/on: side-by-side header" \
	grep -q 'off (vm.numapte=0).*eager (vm.numapte=2).*on demand (vm.numapte=1).*off/on demand' "$T/onoff.out"
tap_check "off/eager/on: three settings with replica pages, ratios 4.00 and 7.00" \
	grep -Eq '^mprotect-observer +8 +4096 \| +32000\.0 +90000\.0 +7\.00 +0 \| +30000\.0 +80000\.0 +7\.00 +72 \| +8000\.0 +20000\.0 +1\.00 +24 \| +4\.00 +7\.00$' "$T/onoff.out"
tap_check "off/eager/on: counters of the on-demand run shown" \
	grep -q 'on: fills 12, tables copied 3, replica pages +9/-2; flushes narrowed 120, broadcast 0, CPUs spared 720; process replicated' "$T/onoff.out"
tap_check "off/eager/on: no IPI ratio when neither setting sent any; missing eager shown as -" \
	grep -Eq '^munmap-shared .*\| +- +- +- +- \| .*\| +1\.00 +-$' "$T/onoff.out"
rc=0
"$REPORT" "$T/bad.csv" >"$T/bad.out" 2>&1 || rc=$?
tap_check "rejects a file that is not tlbbench CSV" \
	sh -c "[ $rc != 0 ] && grep -q 'not tlbbench CSV' '$T/bad.out'"
tap_exit
