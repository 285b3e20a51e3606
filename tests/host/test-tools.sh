#!/bin/bash
# Host test: the guest tools that need no numaPTE kernel, built from source
# here. numapte-run: usage errors exit 2 with the usage, --help exits 0,
# and on this (non-numaPTE) kernel setting a mode exits 1 with a message
# and runs nothing. numapte_torture: bad options exit 2; a clean run
# passes; with --break-mprotect (the model believes mprotect() calls that
# were not made) the checker must fail, and print the seed. Prints TAP 13.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}

# expect RC "DESC" "OUTPUT PART" CMD...: CMD exits RC and prints the part.
expect() {
	want=$1 desc=$2 part=$3
	shift 3
	rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qF -- "$part"; then
		result 0 "$desc"
	else
		result 1 "$desc (rc=$rc, output: $(printf '%s' "$out" | head -n 3))"
	fi
}

echo "TAP version 13"
echo "1..12"
cflags="-std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread"
if ! gcc $cflags -I"$ROOT/userspace/lib" -o "$tmp/numapte-run" \
	"$ROOT/userspace/numapte-run.c" 2>"$tmp/cc.log" ||
	! gcc $cflags -o "$tmp/numapte_torture" "$ROOT/tests/guest/numapte_torture.c" \
		-lnuma 2>>"$tmp/cc.log"; then
	sed 's/^/# /' "$tmp/cc.log"
	for i in $(seq 12); do result 1 "build the tools"; done
	exit 1
fi
run=$tmp/numapte-run
tor=$tmp/numapte_torture

expect 2 "numapte-run: no arguments" "usage: numapte-run" "$run"
expect 2 "numapte-run: unknown option" "invalid option '--bogus'" "$run" --bogus -- true
expect 2 "numapte-run: two modes" "give one of" "$run" --always --never -- true
expect 2 "numapte-run: no command" "no command given" "$run" --never
expect 0 "numapte-run: --help" "usage: numapte-run" "$run" --help
expect 1 "numapte-run: a kernel without numaPTE refuses the mode, runs nothing" \
	"kernel without numaPTE" "$run" --never -- sh -c 'echo RAN'
if "$run" --never -- sh -c 'echo RAN' 2>/dev/null | grep -q RAN; then
	result 1 "numapte-run: the command did not run after a refused mode"
else
	result 0 "numapte-run: the command did not run after a refused mode"
fi
expect 2 "numapte_torture: --threads 0" "is not in 1..256" "$tor" --threads 0
expect 2 "numapte_torture: stray argument" "unexpected argument" "$tor" extra
expect 2 "numapte_torture: --seed 0" "not a non-zero number" "$tor" --seed 0
expect 0 "numapte_torture: a clean 3 s run passes" "PASS seed=0x1234" \
	"$tor" --seconds 3 --threads 4 --seed 0x1234 --quiet
expect 1 "numapte_torture: --break-mprotect is caught, with the seed" \
	"replay with --seed 0x1234" "$tor" --seconds 3 --threads 4 --seed 0x1234 \
	--quiet --break-mprotect
[ "$fails" = 0 ]
