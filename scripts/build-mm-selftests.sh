#!/bin/bash
# Build the upstream mm selftests we run as numaPTE's peer suite, statically
# linked for the busybox initramfs, from the kernel tree we build ($KTREE):
#   scripts/build-mm-selftests.sh OUTDIR
#
# The programs are built by the upstream tools/testing/selftests/mm Makefile
# (explicit full-path targets, so only the chosen ones), against the UAPI
# headers of $KTREE exported by "make headers" into a private object dir
# ($BUILD/mm-selftests/kobj: host tools and headers only, never the kernel,
# and never the kernel's own object dir, which may be building concurrently).
# Incremental: with nothing changed nothing is rebuilt or rewritten.
# Like an in-tree selftests build, the upstream Makefile writes
# local_config.{h,mk} (its liburing probe) next to its sources in $KTREE.
# The guest step that runs them is scripts/guest/plan.d/mmselftests.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)

# The programs to build: those scripts/guest/plan.d/mmselftests runs (the
# 5th word of its "run" and "slow" lines).
plan=$NUMAPTE_ROOT/scripts/guest/plan.d/mmselftests
PROGS=$(awk '($1 == "run" || $1 == "slow") && NF >= 5 { print $5 }' "$plan" | sort -u)
[ -n "$PROGS" ] || die "no programs found in $plan"

# libcap-dev: memfd_secret and mlock-random-test link -lcap, libnuma-dev:
# migration and ksm_tests link -lnuma (both ship the static archives).
need_pkgs build-essential libnuma-dev libcap-dev
sel=$KTREE/tools/testing/selftests/mm
[ -f "$sel/Makefile" ] || die "no mm selftests in $KTREE (run: scripts/prepare-kernel.sh)"

# UAPI headers: "headers" needs no .config and builds only scripts/unifdef
# and the x86 syscall-table generators; it rewrites only changed headers.
kobj=$BUILD/mm-selftests/kobj
hdr=$kobj/usr/include
mkdir -p "$kobj"
make -s -C "$KTREE" O="$kobj" headers
[ -f "$hdr/linux/mman.h" ] || die "make headers produced no $hdr/linux/mman.h"
# The upstream Makefile does not track the UAPI headers: a changed header
# (a patch touching include/uapi) rebuilds every program.
stamp=$BUILD/mm-selftests/uapi-headers.stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$hdr" -newer "$stamp" -type f | head -n 1)" ]; then
	[ ! -f "$stamp" ] || note "UAPI headers changed: rebuilding all"
	for p in $PROGS; do rm -f "$out/$p"; done
	touch "$stamp"
fi

# mk [MAKE-ARGS] TARGETS: the upstream Makefile, with its own CFLAGS and
# LDLIBS. -static goes in EXTRA_CFLAGS, which every upstream link rule uses
# (the protection_keys_64 rule ignores LDFLAGS); KHDR_INCLUDES points it at
# our headers.
mk() {
	make --no-print-directory -C "$sel" OUTPUT="$out" \
		KHDR_INCLUDES="-isystem $hdr" "$@"
}
# build CFLAGS PROGS...: build what is stale, quietly when nothing is.
build() {
	cflags=$1
	shift
	targets=()
	for p in "$@"; do targets+=("$out/$p"); done
	mk -q EXTRA_CFLAGS="$cflags" "${targets[@]}" >/dev/null 2>&1 && return 0
	built=1
	# libnuma.a makes the linker warn about getaddrinfo: harmless.
	{ mk -k EXTRA_CFLAGS="$cflags" "${targets[@]}" 2>&1 || true; } | grep -v \
		-e "Using 'getaddrinfo' in statically linked" \
		-e 'libnuma.a(affinity.o): in function' -e ' is up to date\.$' || true
}
built=0
# 6.12.117's khugepaged.c returns KSFT_SKIP without including kselftest.h
# (a stable backport missed the include): it is built with the value.
! echo "$PROGS" | grep -qx khugepaged || build "-static -DKSFT_SKIP=4" khugepaged
# shellcheck disable=SC2046
build -static $(echo "$PROGS" | grep -vx khugepaged)
failed=
for p in $PROGS; do
	[ -x "$out/$p" ] || failed="$failed $p"
done
[ -z "$failed" ] || die "mm selftests failed to build:$failed"
[ "$built" = 1 ] || note "mm selftests up to date in $out"

# Only static executables of the list may reach the initramfs.
for f in "$out"/*; do
	if [ ! -f "$f" ] || [ ! -x "$f" ]; then
		continue
	fi
	if ! echo "$PROGS" | grep -qxF "${f##*/}"; then
		note "removing ${f##*/} (not in the list)"
		rm -f "$f"
		continue
	fi
	ldd "$f" >/dev/null 2>&1 && die "$f is dynamically linked"
done
note "$(echo "$PROGS" | wc -l) mm selftests in $out"
