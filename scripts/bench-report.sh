#!/bin/bash
# Turn tlbbench CSV rows into the make-run table.
#   scripts/bench-report.sh RESULTS.csv [--json OUT.json]
# Baseline rows (numapte=na) give one block per case; rows measured with
# vm.numapte=0 and =1 give off and on side by side with the off/on ratio of
# the median latency (>1: numaPTE faster) and of IPIs per op.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ -f "$1" ] || die "usage: $0 RESULTS.csv [--json OUT.json]"
csv=$1
json=
[ "${2:-}" != --json ] || json=${3:?--json needs a file}

head -n 1 "$csv" | grep -q '^label,op,pattern,placement,mode,threads,size,iters,numapte,' ||
	die "$csv: not tlbbench CSV"

awk -F, '
NR == 1 { next }
{
	if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
	k = $1 SUBSEP $9
	med[k] = $11 / 1000; p99[k] = $12 / 1000; ipi[k] = $13
	node[k] = $14; pte[k] = $17; ctr[k] = $18; thr[$1] = $6; sz[$1] = $7
	if ($9 == "na") base = 1; else onoff = 1
}
function us(x) { return sprintf("%9.1f", x) }
# The numapte_counters field (a=1;b=2;...) as one readable line.
function repl(c,    n, kv, i, a, m) {
	if (c == "" || c == "na") return ""
	n = split(c, kv, ";")
	for (i = 1; i <= n; i++) { split(kv[i], a, "="); m[a[1]] = a[2] }
	return sprintf("fills %s, tables copied %s, replica pages +%s/-%s; process %s, %s replica pages", \
		m["numapte_fault"] + 0, m["numapte_table_copy"] + 0, m["numapte_page_alloc"] + 0, \
		m["numapte_page_free"] + 0, (m["process_replicated"] == 1 ? "replicated" : "not replicated"), \
		m["process_replica_pages"] + 0)
}
END {
	if (onoff) {
		printf "%-26s %3s %6s | %-27s | %-27s | %s\n", "", "", "", \
			"vm.numapte=0 (off)", "vm.numapte=1 (on)", "off/on"
		printf "%-26s %3s %6s | %9s %9s %7s | %9s %9s %7s | %6s %6s\n", "case", "thr", \
			"size", "med_us", "p99_us", "IPI/op", "med_us", "p99_us", "IPI/op", "lat", "IPI"
		for (i = 1; i <= n; i++) {
			l = order[i]; a = l SUBSEP "0"; b = l SUBSEP "1"
			r = med[b] > 0 ? sprintf("%6.2f", med[a] / med[b]) : "     -"
			q = ipi[b] > 0 ? sprintf("%6.2f", ipi[a] / ipi[b]) : "   inf"
			if (ipi[a] == 0 && ipi[b] == 0) q = "     -"
			printf "%-26s %3d %6s | %s %s %7.2f | %s %s %7.2f | %s %s\n", l, thr[l], \
				sz[l], us(med[a]), us(p99[a]), ipi[a], us(med[b]), us(p99[b]), \
				ipi[b], r, q
			if (repl(ctr[a]) != "") printf "%-26s  off: %s\n", "", repl(ctr[a])
			if (repl(ctr[b]) != "") printf "%-26s   on: %s\n", "", repl(ctr[b])
		}
	} else {
		printf "%-26s %3s %6s %9s %9s %7s  %-44s %s\n", "case", "thr", "size", \
			"med_us", "p99_us", "IPI/op", "IPIs received per op, by node", "VmPTE_kB"
		for (i = 1; i <= n; i++) {
			l = order[i]; k = l SUBSEP "na"; nd = node[k]; gsub(";", " ", nd)
			printf "%-26s %3d %6s %s %s %7.2f  %-44s %s\n", l, thr[l], sz[l], \
				us(med[k]), us(p99[k]), ipi[k], nd, pte[k]
		}
	}
}' "$csv"

[ -z "$json" ] || awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
{
	printf "{"
	for (i = 1; i <= NF; i++) {
		v = $i
		if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) v = "\"" v "\""
		printf "%s\"%s\":%s", (i > 1 ? "," : ""), h[i], v
	}
	print "}"
}' "$csv" >"$json"
