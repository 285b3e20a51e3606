#!/bin/bash
# Turn tlbbench CSV rows into the make-run table.
#   scripts/bench-report.sh RESULTS.csv [--json OUT.json]
# Baseline rows (numapte=na) give one block per case; rows measured with
# vm.numapte=0, 2 and 1 give off, eager and on demand side by side (median
# and p99 latency, IPIs per op, replica pages of the process) with the
# off/on-demand ratio of the median latency (>1: numaPTE faster) and of
# IPIs per op, and a line of numaPTE counters per replicating setting.
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
	have[k] = 1
	med[k] = $11 / 1000; p99[k] = $12 / 1000; ipi[k] = $13
	node[k] = $14; pte[k] = $17; ctr[k] = $18; thr[$1] = $6; sz[$1] = $7
	if ($9 == "na") base = 1; else cmp = 1
}
function us(x) { return sprintf("%9.1f", x) }
# The numapte_counters field (a=1;b=2;...) into m[].
function parse(c, m,    n, kv, i, a) {
	split("", m)
	n = split(c, kv, ";")
	for (i = 1; i <= n; i++) { split(kv[i], a, "="); m[a[1]] = a[2] }
	return n
}
function pages(k,    m) {
	if (!(k in have)) return "-"
	parse(ctr[k], m)
	return m["process_replica_pages"] + 0
}
# One setting: median, p99, IPIs per op, replica pages of the process.
function cell(k) {
	if (!(k in have)) return sprintf("%9s %9s %7s %6s", "-", "-", "-", "-")
	return sprintf("%s %s %7.2f %6s", us(med[k]), us(p99[k]), ipi[k], pages(k))
}
# What numaPTE did during one setting, as one readable line.
function detail(k,    m) {
	if (!(k in have) || ctr[k] == "" || ctr[k] == "na") return ""
	parse(ctr[k], m)
	return sprintf("fills %d, tables copied %d, replica pages +%d/-%d; flushes narrowed %d, broadcast %d, CPUs spared %d; process %s", \
		m["numapte_fault"], m["numapte_table_copy"], m["numapte_page_alloc"], \
		m["numapte_page_free"], m["numapte_flush_narrowed"], m["numapte_flush_broadcast"], \
		m["numapte_flush_cpus_spared"], \
		(m["process_replicated"] == 1 ? "replicated" : "not replicated"))
}
END {
	if (cmp) {
		printf "%-26s %3s %6s | %-34s | %-34s | %-34s | %s\n", "", "", "", \
			"off (vm.numapte=0)", "eager (vm.numapte=2)", \
			"on demand (vm.numapte=1)", "off/on demand"
		printf "%-26s %3s %6s |", "case", "thr", "size"
		for (j = 0; j < 3; j++)
			printf " %9s %9s %7s %6s |", "med_us", "p99_us", "IPI/op", "pages"
		printf " %6s %6s\n", "lat", "IPI"
		for (i = 1; i <= n; i++) {
			l = order[i]; a = l SUBSEP "0"; e = l SUBSEP "2"; b = l SUBSEP "1"
			r = (a in have) && (b in have) && med[b] > 0 ? \
				sprintf("%6.2f", med[a] / med[b]) : "     -"
			q = (a in have) && (b in have) && ipi[b] > 0 ? \
				sprintf("%6.2f", ipi[a] / ipi[b]) : "   inf"
			if (!(a in have) || !(b in have) || (ipi[a] == 0 && ipi[b] == 0))
				q = "     -"
			printf "%-26s %3d %6s | %s | %s | %s | %s %s\n", l, thr[l], sz[l], \
				cell(a), cell(e), cell(b), r, q
			if (detail(e) != "") printf "%-26s  eager: %s\n", "", detail(e)
			if (detail(b) != "") printf "%-26s     on: %s\n", "", detail(b)
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
