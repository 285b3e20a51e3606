#!/bin/bash
# Judge one numaPTE guest run from its two serial logs.
#
#   scripts/parse-results.sh [--name RUN] [--expect STEP1,STEP2,...]
#                            [--qemu-status N] [--summary-only]
#                            RESULTS_FILE CONSOLE_LOG
#
#   RESULTS_FILE  what the guest /init wrote to ttyS1: "# numapte-run: ...",
#                 then per plan step "# numapte-step: NAME", the step's output
#                 (kselftest TAP 13, KUnit KTAP, or free text/CSV), and
#                 "# numapte-step-end: NAME rc=N"; last "# numapte-done: pass|fail".
#   CONSOLE_LOG   the kernel console (ttyS0), scanned for kernel reports.
#   --name RUN    run name used in every output line (no whitespace); default:
#                 the results file's name without extension, or its directory's
#                 name when the file is called results.*.
#   --expect L    comma-separated plan steps that must each appear, and finish.
#   --qemu-status N  QEMU's exit status as the runner saw it: 33 = the guest
#                 wrote pass (0x10) to isa-debug-exit, 35 = it wrote fail (0x11),
#                 124/137 = the runner's timeout fired, anything else (0 is what
#                 a panic gives with -no-reboot) = the guest died. Omitted: not
#                 checked.
#   --summary-only   print only FAIL, ERROR and KERNEL lines and the final line.
#
# Output (stdout), one line per verdict:
#   PASS  RUN/STEP/TEST[/SUBTEST...]
#   FAIL  RUN/STEP/TEST[/SUBTEST...] [# reason]
#   SKIP  RUN/STEP/TEST[/SUBTEST...] # reason
#   ERROR RUN[/STEP]: structural problem (truncation, missing step, bad status...)
#   KERNEL RUN: first line of a kernel report  [(notes)]
# and always, as the very last line (STABLE INTERFACE: scripts/run-tests.sh
# adds these lines up; keep the format):
#   RUN: N passed, N failed, N skipped
# which matches ^[^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$ .
# "passed" is the number of PASS lines, "skipped" the number of SKIP lines and
# "failed" the number of FAIL + ERROR + KERNEL lines (--summary-only hides the
# PASS and SKIP lines but still counts them).
# Exit status: 0 iff failed is 0, else 1; 2 on a usage error (bad option,
# missing or unreadable file), with a message on stderr.
#
# Rules (a panic, a hang or a truncated log must never read as a pass):
# - A step that printed a TAP/KTAP version line, a plan or a result line is a
#   TAP step and counts its results; any other step counts as one result named
#   after the step: PASS if rc=0, else FAIL.
# - TAP: "not ok" is FAIL; "# SKIP" is SKIP with its reason; "# XFAIL" and
#   "not ok ... # TODO" are expected failures, counted as SKIP; "# XPASS" is
#   FAIL; "# TIMEOUT" and "# error" on a "not ok" are FAIL. Nested KTAP (KUnit
#   suites, parameterised cases) counts only the deepest results; a summary
#   "not ok" whose nested results all passed is one extra FAIL, and a summary
#   result with no nested results (a suite that failed to initialise) is a
#   result in its own right. A plan 1..N with fewer results counts each
#   missing one as FAIL; more results than planned, a "# Totals:" line
#   (kselftest or KUnit) that disagrees with the results, a harness
#   "# FAILED:" without a failing result and "Bail out!" are ERRORs.
#   A TAP step whose only output is "1..0 # SKIP reason" is one SKIP.
# - A TAP step with rc!=0 but no failing result is one extra FAIL, except
#   rc=4 (kselftest's KSFT_SKIP) when it reported skips.
# - ERROR: an expected step that never started; a step without its step-end
#   (the guest crashed, hung or the log is truncated); no numapte-done line;
#   numapte-done: fail (or qemu status 35) with nothing else failing; TAP
#   result lines outside any step.
# - KERNEL: every distinct kernel report in the console (WARNING:, BUG:,
#   kernel BUG at, Oops, general protection fault, Kernel panic, KASAN:,
#   UBSAN:, hung task, RCU stall, hard lockup, OOM kill, page allocation
#   failure, and a "Call Trace:" outside any of those), matched at the start
#   of the line after the printk timestamp (hard lockup, OOM and allocation
#   failure anywhere in it), so "RETBleed: WARNING: ..." or a user-space
#   "traps: ... general protection fault" is not a report. Lines of one
#   incident (BUG: -> Oops -> Kernel panic, Oops -> KASAN: null-ptr-deref, a
#   report's own Call Trace up to its "---[ end trace") are one report; a
#   panic within 400 lines of a report is noted on it, not counted again.
#   Identical report lines are counted once ("repeated N times").
set -eu

prog=${0##*/}

usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'
	exit 0
}

bad() {
	echo "$prog: $*" >&2
	echo "usage: $prog [--name RUN] [--expect STEPS] [--qemu-status N] [--summary-only] RESULTS_FILE CONSOLE_LOG" >&2
	exit 2
}

name=
expect=
qstatus=
summary=0
while [ $# -gt 0 ]; do
	case "$1" in
	--name|--expect|--qemu-status)
		[ $# -ge 2 ] || bad "option $1 needs an argument"
		opt=$1 val=$2
		shift 2
		;;
	--name=*|--expect=*|--qemu-status=*)
		opt=${1%%=*} val=${1#*=}
		shift
		;;
	--summary-only) summary=1; shift; continue ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-?*) bad "unknown option '$1'" ;;
	*) break ;;
	esac
	case "$opt" in
	--name) name=$val ;;
	--expect) expect=$val ;;
	--qemu-status) qstatus=$val ;;
	esac
done
[ $# -eq 2 ] || bad "expected RESULTS_FILE and CONSOLE_LOG, got $# argument(s)"
results=$1
console=$2
for f in "$results" "$console"; do
	[ -e "$f" ] || bad "no such file: $f"
	[ ! -d "$f" ] || bad "is a directory: $f"
	[ -r "$f" ] || bad "cannot read: $f"
done

if [ -z "$name" ]; then
	base=$(basename -- "$results")
	base=${base%.*}
	case "$base" in
	results|'') base=$(basename -- "$(cd "$(dirname -- "$results")" && pwd)") ;;
	esac
	name=$(printf '%s' "$base" | tr -s ' \t' '__')
fi
case "$name" in
''|*[[:space:]]*) bad "--name '$name': must be non-empty without whitespace" ;;
esac
case "$qstatus" in
*[!0-9]*) bad "--qemu-status '$qstatus' is not a non-negative integer" ;;
esac
case "$expect" in
*[[:space:]]*|,*|*,|*,,*) bad "--expect '$expect': step names separated by single commas" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parse-results.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Serial logs: CRLF line ends, the odd NUL byte. awk sees neither.
tr -d '\r\000' <"$results" >"$tmp/results"
tr -d '\r\000' <"$console" >"$tmp/console"

# The parser proper: POSIX awk (runs on mawk, gawk --posix, busybox awk).
cat >"$tmp/parse.awk" <<'AWK'
function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

# Drop a printk timestamp "[    1.234567] " (and a caller id "[    T1]").
function strip_ts(s) {
	if (match(s, /^\[ *[0-9]+\.[0-9]+\]/)) {
		s = substr(s, RLENGTH + 1)
		if (match(s, /^\[ *[TC][0-9]+\]/))
			s = substr(s, RLENGTH + 1)
		if (substr(s, 1, 1) == " ")
			s = substr(s, 2)
	}
	return s
}

# Every output line goes through here, so the counts always match the lines.
function emit(kind, text) {
	if (kind == "PASS")
		npass++
	else if (kind == "SKIP")
		nskip++
	else {
		nfail++
		if (instep)
			stepfail++
	}
	if (summary && (kind == "PASS" || kind == "SKIP"))
		return
	if (kind == "ERROR" || kind == "KERNEL")
		print kind " " text
	else
		print kind "  " text
}

function err(where, msg) {
	emit("ERROR", where ": " msg)
}

# One result of the current step (a TAP result, a missing one, or the step).
function result(kind, path, note) {
	steptot++
	if (kind == "PASS")
		steppass++
	else if (kind == "SKIP")
		stepskip++
	emit(kind, path (note != "" ? " # " note : ""))
}

# ---- TAP / KTAP nesting: a stack of levels, one per indentation ----------

function width(p,   i, w) {
	w = 0
	for (i = 1; i <= length(p); i++)
		w += (substr(p, i, 1) == "\t") ? 4 : 1
	return w
}

function push(w) {
	sp++
	L_ind[sp] = w
	L_plan[sp] = -1
	L_nres[sp] = 0
	L_name[sp] = ""
	L_run[sp] = ""
	# a finished nested block waiting for its parent's result line
	L_pend[sp] = 0
	L_pendf[sp] = 0
	L_pendt[sp] = 0
	L_pendname[sp] = ""
	# step failures/results before this level: its subtree is the difference
	L_bf[sp] = stepfail
	L_bt[sp] = steptot
	# leaf counters at this level's last result (for KUnit "# Totals:")
	L_lp[sp] = lp
	L_lf[sp] = lf
	L_ls[sp] = ls
	# this level's own results by kind (for kselftest "# Totals:")
	L_cpass[sp] = L_cfail[sp] = L_cxfail[sp] = 0
	L_cxpass[sp] = L_cskip[sp] = L_cerror[sp] = 0
}

function levpath(d,   p, i) {
	p = run "/" stepname
	for (i = 2; i <= d; i++)
		p = p "/" (L_name[i] != "" ? L_name[i] : "(" (L_nres[i - 1] + 1) ")")
	return p
}

# A level is complete (or the log ends): check its plan.
function finalize(d,   k, nm, why) {
	if (L_plan[d] < 0)
		return
	for (k = L_nres[d] + 1; k <= L_plan[d]; k++) {
		nm = "(" k ")"
		why = ""
		if (k == L_nres[d] + 1 && L_pend[d] && L_pendname[d] != "")
			nm = L_pendname[d]
		else if (k == L_nres[d] + 1 && L_run[d] != "") {
			nm = L_run[d]
			why = ", the test started but never reported"
		}
		result("FAIL", levpath(d) "/" nm, "missing result " k " of plan 1.." L_plan[d] why)
	}
	if (L_nres[d] > L_plan[d])
		err(levpath(d), L_nres[d] " results but the plan is 1.." L_plan[d] " (results after the end)")
}

# Close every level indented deeper than w; its results belong to the next
# result line of its parent.
function popto(w,   df, dt, nm) {
	carry = 0
	cf = ct = 0
	cname = ""
	while (sp > 0 && L_ind[sp] > w) {
		finalize(sp)
		df = stepfail - L_bf[sp]
		dt = steptot - L_bt[sp]
		nm = L_name[sp]
		sp--
		if (sp > 0) {
			L_pend[sp] = 1
			L_pendf[sp] += df
			L_pendt[sp] += dt
			L_pendname[sp] = nm
		} else {
			carry = 1
			cf += df
			ct += dt
			cname = nm
		}
	}
}

# Make sure the top level is at indentation w.
function ensure(w) {
	if (sp == 0 || L_ind[sp] < w) {
		push(w)
		if (carry) {
			L_pend[sp] = 1
			L_pendf[sp] = cf
			L_pendt[sp] = ct
			L_pendname[sp] = cname
			L_bf[sp] -= cf
			L_bt[sp] -= ct
		}
	}
	carry = 0
	return sp
}

# A new document starts at a level that already had one.
function restart(d,   w) {
	w = L_ind[d]
	finalize(d)
	sp = d - 1
	push(w)
}

# Deepest open level not indented deeper than w (0 if none).
function level_at(w,   d) {
	for (d = sp; d > 0 && L_ind[d] > w; d--)
		;
	return d
}

# "key:N" from a "# Totals:" line, -1 if absent.
function tval(s, key) {
	if (!match(s, "(^|[ \t])" key ":[0-9]+"))
		return -1
	s = substr(s, RSTART, RLENGTH)
	sub(/^[^:]*:/, "", s)
	return s + 0
}

function tap_result(w, body,   notok, rest, num, desc, cmt, dir, why, word, i, cls, verdict, note, d, nm, path) {
	notok = (substr(body, 1, 1) == "n")
	rest = substr(body, notok ? 8 : 4)
	match(rest, /^[0-9]+/)
	num = substr(rest, 1, RLENGTH)
	rest = substr(rest, RLENGTH + 1)
	sub(/^[ \t]+/, "", rest)
	if (substr(rest, 1, 2) == "- ")
		rest = substr(rest, 3)
	if (substr(rest, 1, 1) == "#") {
		desc = ""
		cmt = substr(rest, 2)
	} else if ((i = index(rest, " #")) > 0) {
		desc = substr(rest, 1, i - 1)
		cmt = substr(rest, i + 2)
	} else {
		desc = rest
		cmt = ""
	}
	desc = trim(desc)
	cmt = trim(cmt)
	dir = ""
	why = cmt
	if (match(cmt, /^[A-Za-z]+/)) {
		word = toupper(substr(cmt, 1, RLENGTH))
		if (word ~ /^SKIP/)
			dir = "SKIP"
		else if (word == "TODO" || word == "XFAIL" || word == "XPASS" || word == "TIMEOUT" || word == "ERROR")
			dir = word
		if (dir != "") {
			why = substr(cmt, RLENGTH + 1)
			sub(/^[: \t]+/, "", why)
		}
	}
	if (dir == "SKIP")
		cls = "skip"
	else if (!notok)
		cls = (dir == "XFAIL") ? "xfail" : (dir == "XPASS") ? "xpass" : "pass"
	else
		cls = (dir == "ERROR") ? "error" : (dir == "TODO" || dir == "XFAIL") ? "xfail" : "fail"

	if (cls == "pass") {
		verdict = "PASS"
		note = (dir == "TODO") ? cmt : ""
	} else if (cls == "skip") {
		verdict = "SKIP"
		note = (why != "") ? why : "no reason given"
	} else if (cls == "xfail") {
		verdict = "SKIP"
		note = "expected failure: " cmt
	} else if (cls == "xpass") {
		verdict = "FAIL"
		note = "XPASS: expected to fail but passed" (why != "" ? " (" why ")" : "")
	} else {
		verdict = "FAIL"
		note = cmt
	}

	popto(w)
	d = ensure(w)
	nm = (desc != "") ? desc : "(" num ")"
	path = levpath(d) "/" nm
	if (L_pend[d] && L_pendt[d] > 0) {
		# summary line of a nested block: its results were counted already
		if (verdict == "FAIL" && L_pendf[d] == 0)
			result("FAIL", path, "reported not ok, but none of its " L_pendt[d] \
			    " nested results failed" (cmt != "" ? " (" cmt ")" : ""))
	} else {
		result(verdict, path, note)
		if (verdict == "PASS")
			lp++
		else if (verdict == "SKIP")
			ls++
		else
			lf++
	}
	L_nres[d]++
	if (cls == "pass") L_cpass[d]++
	else if (cls == "fail") L_cfail[d]++
	else if (cls == "xfail") L_cxfail[d]++
	else if (cls == "xpass") L_cxpass[d]++
	else if (cls == "skip") L_cskip[d]++
	else L_cerror[d]++
	L_lp[d] = lp
	L_lf[d] = lf
	L_ls[d] = ls
	L_pend[d] = 0
	L_pendf[d] = L_pendt[d] = 0
	L_pendname[d] = ""
	L_run[d] = ""
}

function tap_totals(w, body,   d, p, f, s, x, xp, e) {
	d = level_at(w)
	if (d == 0)
		return
	p = tval(body, "pass")
	f = tval(body, "fail")
	s = tval(body, "skip")
	if (body ~ /xfail:/) {
		# kselftest: the counts of this document's own results
		x = tval(body, "xfail")
		xp = tval(body, "xpass")
		e = tval(body, "error")
		if (p != L_cpass[d] || f != L_cfail[d] || x != L_cxfail[d] ||
		    xp != L_cxpass[d] || s != L_cskip[d] || e != L_cerror[d])
			err(levpath(d), "'" body "' disagrees with the results parsed: pass:" \
			    L_cpass[d] " fail:" L_cfail[d] " xfail:" L_cxfail[d] " xpass:" \
			    L_cxpass[d] " skip:" L_cskip[d] " error:" L_cerror[d])
	} else if (body ~ /total:/) {
		# KUnit: the leaf results of the suite that just ended
		if (p != lp - L_lp[d] || f != lf - L_lf[d] || s != ls - L_ls[d])
			err(levpath(d) (sp > d && L_name[d + 1] != "" ? "/" L_name[d + 1] : ""), "'" body "' disagrees with the results parsed: pass:" \
			    (lp - L_lp[d]) " fail:" (lf - L_lf[d]) " skip:" (ls - L_ls[d]))
	}
}

function tap_line(s,   w, body, d, n, r, nm) {
	match(s, /^[ \t]*/)
	w = width(substr(s, 1, RLENGTH))
	body = substr(s, RLENGTH + 1)
	if (body ~ /^(not ok|ok) [0-9]+([ \t]|$)/) {
		hastap = 1
		tap_result(w, body)
	} else if (body ~ /^(KTAP|TAP) version [0-9]+/) {
		hastap = 1
		popto(w)
		if (sp > 0 && L_ind[sp] == w && (L_plan[sp] >= 0 || L_nres[sp] > 0 || L_pend[sp]))
			restart(sp)
		ensure(w)
	} else if (body ~ /^1\.\.[0-9]+/) {
		hastap = 1
		match(body, /^1\.\.[0-9]+/)
		n = substr(body, 4, RLENGTH - 3) + 0
		r = trim(substr(body, RLENGTH + 1))
		popto(w)
		if (sp > 0 && L_ind[sp] == w && L_plan[sp] >= 0)
			restart(sp)
		d = ensure(w)
		if (n > 100000)
			err(levpath(d), "implausible plan 1.." n " ignored")
		else
			L_plan[d] = n
		if (n == 0) {
			plan0 = 1
			sub(/^#[ \t]*/, "", r)
			if (toupper(substr(r, 1, 4)) == "SKIP") {
				r = substr(r, 5)
				sub(/^[: \t]+/, "", r)
			}
			if (r != "")
				plan0why = r
		}
	} else if (body ~ /^# Subtest: /) {
		hastap = 1
		nm = trim(substr(body, 12))
		popto(w)
		if (sp > 0 && L_ind[sp] == w && (L_plan[sp] >= 0 || L_nres[sp] > 0 || L_pend[sp] || L_name[sp] != ""))
			restart(sp)
		d = ensure(w)
		L_name[d] = nm
	} else if (body ~ /^# Totals: /) {
		tap_totals(w, body)
	} else if (body ~ /^Bail out!/) {
		hastap = 1
		err(sp > 0 ? levpath(sp) : run "/" stepname, "TAP " body)
	} else if (body ~ /^# +RUN +[^ ]/) {
		# kselftest harness: names the test that a crash leaves without result
		d = level_at(w)
		if (d > 0) {
			nm = body
			sub(/^# +RUN +/, "", nm)
			sub(/ \.\.\.$/, "", nm)
			L_run[d] = trim(nm)
		}
	} else if (body ~ /^# FAILED: [0-9]+ \/ [0-9]+ tests passed/) {
		d = level_at(w)
		if (d > 0 && stepfail - L_bf[d] == 0)
			err(levpath(d), "harness says '" body "' but no result failed")
	}
}

# ---- steps ----------------------------------------------------------------

function step_start(nm) {
	if (nm == "")
		nm = "(unnamed)"
	instep = 1
	stepname = nm
	started[nm]++
	nsteps++
	hastap = 0
	sp = 0
	carry = 0
	stepfail = steptot = steppass = stepskip = 0
	lp = lf = ls = 0
	plan0 = 0
	plan0why = ""
}

function step_end(rc,   where) {
	popto(-1)
	carry = 0
	where = run "/" stepname
	if (!hastap) {
		if (rc == 0)
			result("PASS", where, "")
		else
			result("FAIL", where, "step exited rc=" rc)
	} else if (steptot == 0 && stepfail == 0) {
		if (rc != 0 && rc != 4)
			result("FAIL", where, "step exited rc=" rc " without any TAP result")
		else if (plan0)
			result("SKIP", where, plan0why != "" ? plan0why : "plan 1..0, no tests to run")
		else
			err(where, "TAP output without a plan or any result")
	} else if (rc != 0 && stepfail == 0 && !(rc == 4 && stepskip > 0)) {
		result("FAIL", where, "step exited rc=" rc " although none of its TAP results failed")
	}
	instep = 0
}

function step_truncated(why) {
	popto(-1)
	carry = 0
	err(run "/" stepname, "no numapte-step-end: " why)
	instep = 0
}

function parse_results(f,   raw, s, r, nm, rc, v) {
	while ((r = (getline raw < f)) > 0) {
		s = strip_ts(raw)
		if (s ~ /^# numapte-step: /) {
			nm = trim(substr(s, 17))
			if (instep)
				step_truncated("step '" nm "' started before it ended")
			if (done_seen)
				err(run "/" nm, "step started after numapte-done")
			step_start(nm)
		} else if (s ~ /^# numapte-step-end:/) {
			s = trim(substr(s, 20))
			rc = -1
			if (match(s, /(^| )rc=[0-9]+$/)) {
				v = substr(s, RSTART, RLENGTH)
				sub(/^ ?rc=/, "", v)
				rc = v + 0
				nm = trim(substr(s, 1, RSTART - 1))
			} else {
				nm = s
				sub(/ rc=.*$/, "", nm)
			}
			if (!instep) {
				err(run "/" nm, "numapte-step-end without its numapte-step")
				continue
			}
			if (nm != stepname) {
				step_truncated("the next step-end names '" nm "'")
				continue
			}
			if (rc < 0) {
				err(run "/" nm, "step-end without a valid rc: '" s "'")
				rc = 0
			}
			step_end(rc)
		} else if (s ~ /^# numapte-done:/) {
			if (instep)
				step_truncated("numapte-done came first")
			if (done_seen)
				err(run, "more than one numapte-done line")
			done_seen = 1
			done = trim(substr(s, 16))
		} else if (instep) {
			tap_line(s)
		} else if (s ~ /^[ \t]*(not ok|ok) [0-9]+([ \t]|$)/) {
			if (!nstray++)
				strayfirst = trim(s)
		} else if (s ~ /^# numapte: /) {
			initmsg = substr(s, 3)
		}
	}
	if (r < 0)
		err(run, "cannot read the results log")
	if (instep)
		step_truncated("the results log ends inside this step (guest crashed, hung or was killed?)")
}

# ---- console: kernel reports ----------------------------------------------

function kind_of(s) {
	if (s ~ /^Kernel panic - not syncing/) return "panic"
	if (s ~ /^kernel BUG at /) return "kbug"
	if (s ~ /^(Internal error: )?Oops[: -]/) return "oops"
	if (s ~ /^general protection fault/) return "gpf"
	if (s ~ /^Unable to handle kernel /) return "unable"
	if (s ~ /^([A-Za-z0-9_-]+: )?BUG: /) return "bug"
	if (s ~ /^BUG [^ ]+ \(.*\): /) return "slub"
	if (s ~ /^WARNING: /) return "warn"
	if (s ~ /^KASAN: /) return "kasan"
	if (s ~ /^UBSAN: /) return "ubsan"
	if (s ~ /^INFO: task .* blocked for more than /) return "hung"
	if (s ~ /^(rcu: )?INFO: rcu_[a-z_]+ (self-)?detected /) return "rcu"
	if (s ~ /^INFO: trying to register non-static key/) return "lockdep"
	if (s ~ /Watchdog detected hard LOCKUP/) return "hardlockup"
	if (s ~ /invoked oom-killer: /) return "oom"
	if (s ~ /page allocation failure: order:/) return "allocfail"
	if (s ~ /^Call Trace:/) return "trace"
	return ""
}

function scan_console(f,   raw, s, r, n, k, i, j, last, near, openi, okind, traceok, ctx, when) {
	n = 0
	last = -1000000
	openi = 0
	traceok = 0
	when = ""
	while ((r = (getline raw < f)) > 0) {
		n++
		# the guest /init announces its steps on the console (no timestamp)
		if (raw ~ /^numapte: step /) {
			when = "during step " trim(substr(raw, 15))
			continue
		}
		if (raw ~ /^numapte: plan finished/) {
			when = "after the plan finished"
			continue
		}
		s = strip_ts(raw)
		ring[n % 8] = s
		if (s ~ /^---\[ end trace/) {
			traceok = 0
			continue
		}
		k = kind_of(s)
		if (k == "")
			continue
		near = (openi && n - last <= 400)
		if (k == "trace") {
			if (near && traceok) {
				last = n
				continue
			}
			# a stack dump that no report header announced
			ctx = ""
			for (j = n - 1; j >= 1 && j > n - 8; j--)
				if (ring[j % 8] ~ /^CPU: [0-9]+ /) {
					if (j > 1 && j - 1 > n - 8)
						ctx = ring[(j - 1) % 8]
					break
				}
			s = "Call Trace: stack dump without a report header" (ctx != "" ? ", after: " ctx : "")
		} else if (k == "panic" && near) {
			if (rep_then[openi] == "")
				rep_then[openi] = s
			last = n
			continue
		} else if (k == "oops" && openi && n - last <= 30 &&
		    (okind == "bug" || okind == "kbug" || okind == "unable")) {
			last = n
			continue
		} else if (k == "kasan" && openi && n - last <= 5 && (okind == "oops" || okind == "gpf")) {
			last = n
			continue
		}
		if (s in rep_idx) {
			i = rep_idx[s]
			rep_cnt[i]++
		} else {
			i = ++nrep
			rep_idx[s] = i
			rep_txt[i] = s
			rep_cnt[i] = 1
			rep_when[i] = when
			rep_then[i] = ""
		}
		openi = i
		okind = k
		last = n
		traceok = 1
	}
	if (r < 0)
		console_unreadable = 1
}

function print_reports(   i, notes) {
	for (i = 1; i <= nrep; i++) {
		notes = ""
		if (rep_cnt[i] > 1)
			notes = "repeated " rep_cnt[i] " times"
		if (rep_when[i] != "")
			notes = notes (notes != "" ? "; " : "") rep_when[i]
		if (rep_then[i] != "")
			notes = notes (notes != "" ? "; " : "") "then: " rep_then[i]
		emit("KERNEL", run ": " rep_txt[i] (notes != "" ? "  (" notes ")" : ""))
	}
}

# ---- the run ----------------------------------------------------------------

BEGIN {
	run = ENVIRON["PR_RUN"]
	summary = ENVIRON["PR_SUMMARY"] + 0
	expect = ENVIRON["PR_EXPECT"]
	qst = ENVIRON["PR_QEMU_STATUS"]
	npass = nfail = nskip = 0
	instep = 0
	nrep = 0

	scan_console(ENVIRON["PR_CONSOLE"])
	parse_results(ENVIRON["PR_RESULTS"])

	if (nstray)
		err(run, nstray " TAP result line(s) outside any numapte-step, first: '" strayfirst "'")
	if (expect != "") {
		ne = split(expect, ex, ",")
		for (i = 1; i <= ne; i++)
			if (!(ex[i] in started))
				err(run "/" ex[i], "expected step never started")
	} else if (nsteps == 0) {
		err(run, "no numapte-step in the results log (empty, or not a guest results log?)")
	}
	if (!done_seen)
		err(run, "no numapte-done line: the guest did not finish its plan")
	else if (done == "fail") {
		if (nfail + nrep == 0)
			err(run, "guest reported numapte-done: fail, but no step or test failed" \
			    (initmsg != "" ? " (last guest message: " initmsg ")" : ""))
	} else if (done != "pass")
		err(run, "unknown numapte-done status '" done "'")

	if (console_unreadable)
		err(run, "cannot read the console log")
	print_reports()

	if (qst != "") {
		q = qst + 0
		if (q == 33) {
			if (done_seen && done == "fail")
				err(run, "qemu status 33 (guest wrote pass) contradicts numapte-done: fail")
		} else if (q == 35) {
			if (nfail == 0)
				err(run, "guest reported failure (qemu status 35), but no failure was found in its logs")
		} else if (q == 124)
			err(run, "guest timed out: the runner's timeout fired (qemu status 124)")
		else if (q == 137)
			err(run, "guest timed out and QEMU had to be killed (qemu status 137)")
		else if (q == 0)
			err(run, "guest died without reporting a status (kernel panic?): qemu status 0")
		else if (q >= 125 && q <= 127)
			err(run, "QEMU could not be run: qemu status " q)
		else
			err(run, "guest died (panic?): qemu status " q)
	}

	printf "%s: %d passed, %d failed, %d skipped\n", run, npass, nfail, nskip
	exit (nfail > 0) ? 1 : 0
}
AWK

rc=0
PR_RUN=$name PR_SUMMARY=$summary PR_EXPECT=$expect PR_QEMU_STATUS=$qstatus \
	PR_RESULTS=$tmp/results PR_CONSOLE=$tmp/console \
	LC_ALL=C ${AWK:-awk} -f "$tmp/parse.awk" </dev/null || rc=$?
case "$rc" in
0|1) exit "$rc" ;;
esac
# awk itself failed: never let that read as a pass.
echo "ERROR $name: internal error in $prog (awk exit status $rc)"
echo "$name: 0 passed, 1 failed, 0 skipped"
exit 1
