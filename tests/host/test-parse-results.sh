#!/bin/bash
# Host test: scripts/parse-results.sh judges the fixture logs in
# tests/host/fixtures/ (CRLF serial logs, printk timestamps) correctly: exit
# status, the exact final "RUN: N passed, N failed, N skipped" line, and the
# lines that explain each failure. A parser that reads a panic, a hang, a
# truncated log or a kernel WARNING as a pass turns this test red.
# Prints TAP 13 on stdout; exits 1 if any check fails.
#
#   PARSER=/path/to/parse-results.sh tests/host/test-parse-results.sh
# tests another copy of the parser (used to check that this test catches
# deliberately broken parsers).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PARSER=${PARSER:-$HERE/../../scripts/parse-results.sh}
FIX=$HERE/fixtures
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test-parse-results.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

n=0
fails=0
: >"$TMP/tap"

# result STATUS DESC [DIAG_FILE]: record one TAP line (STATUS 0 = ok).
# A "#" in DESC is escaped: unescaped, "# SKIP" would be a TAP directive.
result() {
	n=$((n + 1))
	d=$(printf '%s' "$2" | sed 's/#/\\#/g')
	if [ "$1" = 0 ]; then
		echo "ok $n - $d" >>"$TMP/tap"
	else
		echo "not ok $n - $d" >>"$TMP/tap"
		fails=$((fails + 1))
		[ -z "${3:-}" ] || sed 's/^/#   /' "$3" >>"$TMP/tap"
	fi
}

# parse ARGS...: run the parser; stdout in $TMP/out, stderr in $TMP/err, status in $rc.
parse() {
	rc=0
	"$PARSER" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
}

diag() {
	{
		echo "$1"
		echo "--- parser stdout:"
		cat "$TMP/out"
		echo "--- parser stderr:"
		cat "$TMP/err"
	} >"$TMP/diag"
}

# run DESC WANT_RC "WANT_FINAL_LINE" PARSER_ARGS...
# Checks the exit status, the final line, that no CR leaks into the output,
# and (without --summary-only) that the counts equal the PASS / FAIL+ERROR+
# KERNEL / SKIP lines printed.
run() {
	desc=$1 want_rc=$2 want_final=$3
	shift 3
	parse "$@"
	final=$(tail -n 1 "$TMP/out")
	why=
	[ "$rc" = "$want_rc" ] || why="exit status $rc, want $want_rc"
	[ "$final" = "$want_final" ] || why="$why; final line '$final', want '$want_final'"
	! grep -q "$(printf '\r')" "$TMP/out" || why="$why; CR in the output"
	case " $* " in
	*" --summary-only "*) ;;
	*)
		p=$(grep -c '^PASS  ' "$TMP/out" || true)
		f=$(grep -cE '^(FAIL  |ERROR |KERNEL )' "$TMP/out" || true)
		s=$(grep -c '^SKIP  ' "$TMP/out" || true)
		case "$final" in
		*": $p passed, $f failed, $s skipped") ;;
		*) why="$why; lines say $p passed, $f failed, $s skipped" ;;
		esac
		;;
	esac
	if [ -z "$why" ]; then
		result 0 "$desc"
	else
		diag "${why#; }"
		result 1 "$desc" "$TMP/diag"
	fi
}

# has DESC LINE: the last parser output contains exactly this line.
has() {
	if grep -qxF -- "$2" "$TMP/out"; then
		result 0 "$1"
	else
		diag "missing line: $2"
		result 1 "$1" "$TMP/diag"
	fi
}

# lacks DESC LINE: the last parser output does not contain this line.
lacks() {
	if grep -qxF -- "$2" "$TMP/out"; then
		diag "unexpected line: $2"
		result 1 "$1" "$TMP/diag"
	else
		result 0 "$1"
	fi
}

# count DESC ERE N: exactly N lines of the last parser output match ERE.
count() {
	c=$(grep -cE -- "$2" "$TMP/out" || true)
	if [ "$c" = "$3" ]; then
		result 0 "$1"
	else
		diag "$c lines match '$2', want $3"
		result 1 "$1" "$TMP/diag"
	fi
}

# usage DESC ARGS...: a usage error: exit 2, a message on stderr, nothing on stdout.
usage() {
	desc=$1
	shift
	parse "$@"
	if [ "$rc" = 2 ] && [ -s "$TMP/err" ] && [ ! -s "$TMP/out" ]; then
		result 0 "$desc"
	else
		diag "exit status $rc, want 2 with a message on stderr only"
		result 1 "$desc" "$TMP/diag"
	fi
}

cd "$FIX"
c_clean=console-clean.log

# --- the cases every parser must get right ---------------------------------

run "all passing: kselftest, nested KUnit with parameters, a CSV step" \
	0 "allpass: 13 passed, 0 failed, 0 skipped" \
	--name allpass --expect kselftest-mm,kunit,bench --qemu-status 33 \
	results-allpass.log "$c_clean"
has "allpass: a parameterised KUnit case is named suite/case/param" \
	"PASS  allpass/kunit/numapte_pte/numapte_pte_sync/node0+node1"
lacks "allpass: a KUnit suite summary line is not a result of its own" \
	"PASS  allpass/kunit/numapte_pte"
lacks "allpass: a KUnit case summary over its parameters is not a result" \
	"PASS  allpass/kunit/numapte_pte/numapte_pte_sync"
has "allpass: a step without TAP and rc=0 is one passed result" "PASS  allpass/bench"

run "one failing kselftest: exit 1, 3 passed 1 failed" \
	1 "onefail: 3 passed, 1 failed, 0 skipped" \
	--name onefail --expect kselftest-mm --qemu-status 35 results-onefail.log "$c_clean"
has "onefail: the failing test is named" \
	"FAIL  onefail/kselftest-mm/migrate.move_pages_keeps_replicas"
count "onefail: rc=1, done: fail and qemu status 35 are explained, no extra ERROR" '^ERROR ' 0

run "skips: SKIP, XFAIL and a whole-program skip plan 1..0 with rc=4 are not failures" \
	0 "skips: 4 passed, 0 failed, 5 skipped" \
	--name skips --expect kselftest-mm,thp,kunit --qemu-status 33 results-skips.log "$c_clean"
has "skips: kselftest SKIP keeps its reason" \
	"SKIP  skips/kselftest-mm/replica.remote_node_fault # needs at least 2 NUMA nodes"
has "skips: XFAIL is an expected failure, skipped" \
	"SKIP  skips/kselftest-mm/migrate.move_pages_keeps_replicas # expected failure: XFAIL replicas dropped on migration (known, see patch 7)"
has "skips: a skip plan 1..0 counts the step as one skip with the reason" \
	"SKIP  skips/thp # transparent hugepages not enabled (CONFIG_TRANSPARENT_HUGEPAGE=n)"
has "skips: KUnit read back from dmesg (timestamps), a skipped parameter" \
	"SKIP  skips/kunit/numapte_pte/numapte_pte_sync/node1 # node 1 is memoryless"

run "truncated: plan 1..5 with 3 results, no step-end, no done" \
	1 "truncated: 3 passed, 5 failed, 0 skipped" \
	--name truncated --expect coherence,bench results-truncated.log "$c_clean"
has "truncated: the test that started but never reported is named" \
	"FAIL  truncated/coherence/coherence.mremap # missing result 4 of plan 1..5, the test started but never reported"
has "truncated: the second missing result counts too" \
	"FAIL  truncated/coherence/(5) # missing result 5 of plan 1..5"
has "truncated: the missing step-end is an error" \
	"ERROR truncated/coherence: no numapte-step-end: the results log ends inside this step (guest crashed, hung or was killed?)"
has "truncated: the missing numapte-done is an error" \
	"ERROR truncated: no numapte-done line: the guest did not finish its plan"
has "truncated: the expected step that never ran is an error" \
	"ERROR truncated/bench: expected step never started"

run "panic: oops in a step, Kernel panic on the console, qemu status 0" \
	1 "panic: 4 passed, 6 failed, 0 skipped" \
	--name panic --expect topology,coherence --qemu-status 0 results-panic.log console-panic.log
has "panic: the report's first line, with the panic that followed" \
	"KERNEL panic: BUG: kernel NULL pointer dereference, address: 0000000000000008  (during step coherence; then: Kernel panic - not syncing: Fatal exception)"
count "panic: BUG, Oops and Kernel panic of one incident are one report" '^KERNEL ' 1
has "panic: qemu status 0 says the guest died" \
	"ERROR panic: guest died without reporting a status (kernel panic?): qemu status 0"

run "WARNING on the console fails a run whose tests all passed" \
	1 "warning: 13 passed, 1 failed, 0 skipped" \
	--name warning --expect kselftest-mm,kunit,bench --qemu-status 33 \
	results-allpass.log console-warning.log
has "warning: the WARNING line is printed" \
	"KERNEL warning: WARNING: CPU: 2 PID: 74 at mm/numapte.c:211 numapte_free_replica+0x7c/0xa0  (during step kselftest-mm)"

run "timeout: a benchmark step hung, qemu status 124" \
	1 "timeout: 3 passed, 3 failed, 0 skipped" \
	--name timeout --expect topology,bench --qemu-status 124 results-hang.log console-hang.log
has "timeout: status 124 is reported as a timeout" \
	"ERROR timeout: guest timed out: the runner's timeout fired (qemu status 124)"
lacks "timeout: an unfinished step without TAP is not a pass" "PASS  timeout/bench"
has "timeout: the unfinished step is an error" \
	"ERROR timeout/bench: no numapte-step-end: the results log ends inside this step (guest crashed, hung or was killed?)"

run "missing expected step" \
	1 "missingstep: 3 passed, 1 failed, 0 skipped" \
	--name missingstep --expect topology,coherence,bench --qemu-status 33 \
	results-missingstep.log "$c_clean"
has "missingstep: the step is named" "ERROR missingstep/coherence: expected step never started"

run "KTAP suite-level not ok: init failure, and not ok over passing cases" \
	1 "suite-notok: 2 passed, 2 failed, 0 skipped" \
	--name suite-notok --expect kunit --qemu-status 33 results-suite-notok.log "$c_clean"
has "suite-notok: a suite without cases that reports not ok fails" \
	"FAIL  suite-notok/kunit/numapte_pte"
has "suite-notok: a not ok suite whose cases passed is one extra failure" \
	"FAIL  suite-notok/kunit/numapte_tlb # reported not ok, but none of its 2 nested results failed"

run "a failing KUnit parameter counts once, not again for its case and suite" \
	1 "kunitfail: 4 passed, 2 failed, 0 skipped" \
	--name kunitfail --expect kunit,selftests --qemu-status 35 results-kunitfail.log "$c_clean"
has "kunitfail: the failing parameter is the failure" \
	"FAIL  kunitfail/kunit/numapte_pte/numapte_pte_sync/node1"
has "kunitfail: a second KUnit module's KTAP document in the same step" \
	"PASS  kunitfail/kunit/numapte_tlb/flush"
has "kunitfail: run_kselftest.sh output counts its top-level results" \
	"FAIL  kunitfail/selftests/selftests: mm: numapte_replica # exit=1"

run "steps without TAP: rc=0 passes, rc=1 fails" \
	1 "nontap: 1 passed, 1 failed, 0 skipped" \
	--name nontap --expect bench,sweep --qemu-status 35 results-nontap.log "$c_clean"
has "nontap: rc=0 step passes" "PASS  nontap/bench"
has "nontap: rc=1 step fails with its rc" "FAIL  nontap/sweep # step exited rc=1"

run "rc!=0 with all TAP results ok is one extra failure" \
	1 "rcfail: 2 passed, 1 failed, 0 skipped" \
	--name rcfail --expect topology --qemu-status 35 results-rcfail.log "$c_clean"
has "rcfail: the step's rc is reported" \
	"FAIL  rcfail/topology # step exited rc=2 although none of its TAP results failed"

run "rc=4 (kselftest skip) is accepted only from a step that reported skips" \
	1 "rc4: 1 passed, 1 failed, 2 skipped" \
	--name rc4 --expect kselftest-numa,topology --qemu-status 35 results-rc4.log "$c_clean"
lacks "rc4: a skipping kselftest may exit 4" \
	"FAIL  rc4/kselftest-numa # step exited rc=4 although none of its TAP results failed"
has "rc4: rc=4 from a step without skips is a failure" \
	"FAIL  rc4/topology # step exited rc=4 although none of its TAP results failed"

# --- consistency checks ------------------------------------------------------

run "Totals lines that disagree with the results are errors" \
	1 "totals: 6 passed, 2 failed, 0 skipped" \
	--name totals --qemu-status 33 results-totals.log "$c_clean"
has "totals: kselftest Totals mismatch" \
	"ERROR totals/kselftest-mm: '# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0' disagrees with the results parsed: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0"
has "totals: KUnit Totals catches a lost parameter result" \
	"ERROR totals/kunit/numapte_pte: '# Totals: pass:5 fail:0 skip:0 total:5' disagrees with the results parsed: pass:4 fail:0 skip:0"

run "structural: results after the plan, Bail out!, FAILED summary, stray results" \
	1 "structural: 5 passed, 6 failed, 0 skipped" \
	--name structural --qemu-status 35 results-structural.log "$c_clean"
has "structural: more results than planned" \
	"ERROR structural/overplan: 3 results but the plan is 1..2 (results after the end)"
has "structural: Bail out!" \
	"ERROR structural/bailout: TAP Bail out! cannot mbind to node 1: Invalid argument"
has "structural: the results a bail-out left out count as missing" \
	"FAIL  structural/bailout/(3) # missing result 3 of plan 1..3"
has "structural: harness FAILED with no failing result" \
	"ERROR structural/harness: harness says '# FAILED: 0 / 1 tests passed.' but no result failed"
has "structural: a result outside any step" \
	"ERROR structural: 1 TAP result line(s) outside any numapte-step, first: 'ok 1 stray result between steps'"

run "numapte-done: fail with nothing failing is an error" \
	1 "donefail: 2 passed, 1 failed, 0 skipped" \
	--name donefail --qemu-status 35 results-donefail.log "$c_clean"
has "donefail: explained" \
	"ERROR donefail: guest reported numapte-done: fail, but no step or test failed"

# --- kernel reports ------------------------------------------------------------

run "debug-kernel reports: each distinct report counts once" \
	1 "reports: 13 passed, 7 failed, 0 skipped" \
	--name reports --qemu-status 33 results-allpass.log console-reports.log
count "reports: 7 KERNEL lines" '^KERNEL ' 7
has "reports: KASAN" \
	"KERNEL reports: BUG: KASAN: slab-use-after-free in numapte_sync_replicas+0x1b4/0x2a0  (during step coherence)"
has "reports: lockdep" \
	"KERNEL reports: WARNING: possible circular locking dependency detected  (during step coherence)"
has "reports: an identical WARNING twice is one report" \
	"KERNEL reports: WARNING: CPU: 1 PID: 80 at mm/numapte.c:340 numapte_check_replicas+0x51/0x90  (repeated 2 times; during step coherence)"
has "reports: UBSAN" "KERNEL reports: UBSAN: shift-out-of-bounds in mm/numapte.c:97:23  (during step coherence)"
has "reports: RCU stall" "KERNEL reports: rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:  (during step coherence)"
has "reports: a stack dump without a header" \
	"KERNEL reports: Call Trace: stack dump without a report header, after: numapte: node 1 replica of pte 00007f3a5c200000 differs from node 0  (during step coherence)"
has "reports: GPF oops with its KASAN line and the panic as one report" \
	"KERNEL reports: Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN NOPTI  (during step coherence; then: Kernel panic - not syncing: Fatal exception)"
count "reports: boot-time WARNING: mid-line, user-space segfault/GPF and kasan init are not reports" \
	'RETBleed|traps:|segfault|KernelAddressSanitizer' 0

run "a panic with no report before it (init exited) is a report" \
	1 "initexit: 13 passed, 2 failed, 0 skipped" \
	--name initexit --qemu-status 0 results-allpass.log console-initexit.log
has "initexit: the panic line" \
	"KERNEL initexit: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100  (during step coherence)"

# --- QEMU exit status ---------------------------------------------------------

all="results-allpass.log $c_clean"
# shellcheck disable=SC2086
{
	run "qemu status not given: not checked" 0 "q: 13 passed, 0 failed, 0 skipped" --name q $all
	run "qemu status 35 with no failure in the logs" 1 "q: 13 passed, 1 failed, 0 skipped" \
		--name q --qemu-status 35 $all
	has "status 35: explained" \
		"ERROR q: guest reported failure (qemu status 35), but no failure was found in its logs"
	run "qemu status 137: timeout, QEMU killed" 1 "q: 13 passed, 1 failed, 0 skipped" \
		--name q --qemu-status 137 $all
	has "status 137: explained" "ERROR q: guest timed out and QEMU had to be killed (qemu status 137)"
	run "qemu status 0 after a complete plan: the guest died" 1 "q: 13 passed, 1 failed, 0 skipped" \
		--name q --qemu-status 0 $all
	run "qemu status 1: the guest died" 1 "q: 13 passed, 1 failed, 0 skipped" \
		--name q --qemu-status 1 $all
	has "status 1: explained" "ERROR q: guest died (panic?): qemu status 1"
}
run "qemu status 33 contradicting numapte-done: fail" 1 "q: 2 passed, 2 failed, 0 skipped" \
	--name q --qemu-status 33 results-donefail.log "$c_clean"
has "status 33 vs done fail: explained" \
	"ERROR q: qemu status 33 (guest wrote pass) contradicts numapte-done: fail"

# --- input handling -------------------------------------------------------------

: >"$TMP/empty"
run "an empty results log is not a pass" 1 "empty: 0 passed, 3 failed, 0 skipped" \
	--name empty --expect topology,coherence --qemu-status 33 "$TMP/empty" "$TMP/empty"
run "an empty results log without --expect is not a pass" 1 "empty: 0 passed, 2 failed, 0 skipped" \
	--name empty --qemu-status 33 "$TMP/empty" "$TMP/empty"

parse --name allpass --qemu-status 33 results-allpass.log "$c_clean"
cp "$TMP/out" "$TMP/crlf.out"
tr -d '\r' <results-allpass.log >"$TMP/lf-results.log"
tr -d '\r' <"$c_clean" >"$TMP/lf-console.log"
parse --name allpass --qemu-status 33 "$TMP/lf-results.log" "$TMP/lf-console.log"
if cmp -s "$TMP/crlf.out" "$TMP/out"; then
	result 0 "CRLF and LF logs give the same verdicts"
else
	diff "$TMP/crlf.out" "$TMP/out" >"$TMP/diag" || true
	result 1 "CRLF and LF logs give the same verdicts" "$TMP/diag"
fi

parse --summary-only --name onefail --qemu-status 35 results-onefail.log "$c_clean"
printf '%s\n' "FAIL  onefail/kselftest-mm/migrate.move_pages_keeps_replicas" \
	"onefail: 3 passed, 1 failed, 0 skipped" >"$TMP/want"
if cmp -s "$TMP/want" "$TMP/out" && [ "$rc" = 1 ]; then
	result 0 "--summary-only prints only FAIL/ERROR/KERNEL lines and the final line"
else
	diff "$TMP/want" "$TMP/out" >"$TMP/diag" || true
	result 1 "--summary-only prints only FAIL/ERROR/KERNEL lines and the final line" "$TMP/diag"
fi
run "--summary-only of a passing run is the final line alone" 0 "skips: 4 passed, 0 failed, 5 skipped" \
	--summary-only --name skips --qemu-status 33 results-skips.log "$c_clean"
count "--summary-only: one line" '.' 1

mkdir -p "$TMP/runs/s2x2"
cp results-allpass.log "$TMP/runs/s2x2/results.log"
run "without --name the run is named after the run directory" 0 "s2x2: 13 passed, 0 failed, 0 skipped" \
	"$TMP/runs/s2x2/results.log" "$c_clean"

# How scripts/run-tests.sh judges a host test: its TAP framed as one step,
# an empty console, qemu status 33.
host_frame() { # NAME RC TAPFILE
	{
		echo "# numapte-step: $1"
		cat "$3"
		echo "# numapte-step-end: $1 rc=$2"
		echo "# numapte-done: pass"
	} >"$TMP/$1.results"
}
printf '%s\n' "ok 1 - rejects SOCKETS=0" "ok 2 - accepts defaults" >"$TMP/plain.tap"
host_frame host-plain 0 "$TMP/plain.tap"
run "host test framing: bare ok lines, no header or plan" 0 "host-plain: 2 passed, 0 failed, 0 skipped" \
	--summary-only --name host-plain --expect host-plain --qemu-status 33 \
	"$TMP/host-plain.results" "$TMP/empty"
printf '%s\n' "TAP version 13" "ok 1 - a" "not ok 2 - b" "#   detail" "1..2" >"$TMP/fail.tap"
host_frame host-fail 1 "$TMP/fail.tap"
run "host test framing: a failing host test, trailing plan" 1 "host-fail: 1 passed, 1 failed, 0 skipped" \
	--name host-fail --expect host-fail --qemu-status 33 "$TMP/host-fail.results" "$TMP/empty"
printf '%s\n' "TAP version 13" "1..3" "ok 1 - a" >"$TMP/short.tap"
host_frame host-short 1 "$TMP/short.tap"
run "host test framing: a host test that died after 1 of 3" 1 "host-short: 1 passed, 2 failed, 0 skipped" \
	--name host-short --expect host-short --qemu-status 33 "$TMP/host-short.results" "$TMP/empty"

# --- usage errors -----------------------------------------------------------------

usage "usage: missing results file" --name x "$TMP/no-such-file" "$c_clean"
usage "usage: missing console log" --name x results-allpass.log "$TMP/no-such-file"
usage "usage: unknown option" --frobnicate results-allpass.log "$c_clean"
usage "usage: one file only" results-allpass.log
usage "usage: --qemu-status not a number" --qemu-status panic results-allpass.log "$c_clean"
usage "usage: --qemu-status without a value" results-allpass.log "$c_clean" --qemu-status
usage "usage: --name with a space" --name "two words" results-allpass.log "$c_clean"
usage "usage: --expect with an empty step" --expect "a,,b" results-allpass.log "$c_clean"

echo "TAP version 13"
echo "1..$n"
cat "$TMP/tap"
[ "$fails" = 0 ]
