#!/bin/bash
# Host test: scripts/prepare-kernel.sh on a tiny fake kernel tarball.
# A re-run with nothing changed writes nothing; a changed patch rewrites only
# the files whose result changed; a patch that does not apply leaves the tree
# exactly as it was; a patch dropped from the series restores pristine files;
# kernel/ may add files but never overwrite one. Prints TAP 13.
set -eu
PREP=$(cd "$(dirname "$0")/../.." && pwd)/scripts/prepare-kernel.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../../scripts/guest/tap.sh"

# The fake kernel source: a tarball with one top-level directory.
mkdir -p "$T/k/linux-fake/mm" "$T/k/linux-fake/include"
printf 'obj-y += memory.o\n' >"$T/k/linux-fake/mm/Makefile"
printf 'config MMU\n\tbool\n' >"$T/k/linux-fake/mm/Kconfig"
printf 'int a;\nint b;\nint c;\n' >"$T/k/linux-fake/mm/memory.c"
printf '#define X 1\n' >"$T/k/linux-fake/include/x.h"
printf 'VERSION = 6\n' >"$T/k/linux-fake/Makefile"
tar -cJf "$T/fake.tar.xz" -C "$T/k" linux-fake

export KERNEL_TARBALL=$T/fake.tar.xz KERNEL_PKG=numapte-no-such-package
export BUILD=$T/build NUMAPTE_SRC=$T/repo
TREE=$BUILD/src/linux
mkdir -p "$T/repo/patches" "$T/repo/kernel/mm"

write_patches() {
	cat >"$T/repo/patches/0001-memory.patch" <<EOF
Subject: [PATCH] mm: change b

--- a/mm/memory.c
+++ b/mm/memory.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int $1;
 int c;
EOF
	cat >"$T/repo/patches/0002-makefile.patch" <<'EOF'
Subject: [PATCH] mm: build numapte.o

--- a/mm/Makefile
+++ b/mm/Makefile
@@ -1 +1,2 @@
 obj-y += memory.o
+obj-y += numapte.o
EOF
}

prep() {
	"$PREP" >"$T/out" 2>&1
}

mtime() {
	stat -c %Y.%y "$TREE/$1"
}

# Sets the mtime of every tree file into the past so a rewrite is visible.
age_tree() {
	find "$TREE" -type f -exec touch -d '2000-01-01' {} +
}

tap_plan 16
write_patches b2
printf '0001-memory.patch\n# a comment\n0002-makefile.patch\n' >"$T/repo/patches/series"
printf 'int numapte;\n' >"$T/repo/kernel/mm/numapte.c"
printf 'config NUMAPTE\n\tbool\n' >"$T/repo/Kconfig.numapte"

tap_check "first run unpacks and prepares" prep
tap_check "patch 0001 applied" grep -qx 'int b2;' "$TREE/mm/memory.c"
tap_check "patch 0002 applied" grep -qx 'obj-y += numapte.o' "$TREE/mm/Makefile"
tap_check "kernel/ file copied" grep -qx 'int numapte;' "$TREE/mm/numapte.c"
tap_check "Kconfig.numapte copied to mm/" test -f "$TREE/mm/Kconfig.numapte"
tap_check "pristine copy untouched" grep -qx 'int b;' "$BUILD/src/pristine/mm/memory.c"

age_tree
before=$(mtime mm/memory.c)
tap_check "re-run with nothing changed says up to date" \
	sh -c "'$PREP' 2>&1 | grep -q 'up to date'"
tap_check "re-run rewrote nothing" test "$(find "$TREE" -type f -newermt 2001-01-01 | wc -l)" = 0

write_patches b3
prep
tap_check "changed patch applied" grep -qx 'int b3;' "$TREE/mm/memory.c"
tap_check "only the changed file was rewritten" \
	test "$(find "$TREE" -type f -newermt 2001-01-01 ! -name '.numapte-*' | sed "s|$TREE/||")" = mm/memory.c

age_tree
before=$(mtime mm/memory.c)
sed -i 's/^ int c;$/ int zzz;/' "$T/repo/patches/0001-memory.patch"
rc=0
prep || rc=$?
tap_check "a patch that does not apply fails with a message" \
	sh -c "[ $rc != 0 ] && grep -q '0001-memory.patch does not apply' '$T/out'"
tap_check "the failed run left the tree as it was" \
	sh -c "[ '$(mtime mm/memory.c)' = '$before' ] && grep -qx 'int b3;' '$TREE/mm/memory.c'"

write_patches b3
printf '0002-makefile.patch\n' >"$T/repo/patches/series"
prep
tap_check "a patch dropped from the series: file restored from pristine" \
	grep -qx 'int b;' "$TREE/mm/memory.c"
tap_check "the other patch still applied" grep -qx 'obj-y += numapte.o' "$TREE/mm/Makefile"

rm "$T/repo/kernel/mm/numapte.c"
prep
tap_check "a file removed from kernel/ is removed from the tree" test ! -e "$TREE/mm/numapte.c"

mkdir -p "$T/repo/kernel/include"
printf '#define X 2\n' >"$T/repo/kernel/include/x.h"
rc=0
prep || rc=$?
tap_check "kernel/ may not overwrite an existing kernel file" \
	sh -c "[ $rc != 0 ] && grep -q 'would overwrite an existing kernel file' '$T/out' && grep -qx '#define X 1' '$TREE/include/x.h'"
tap_exit
