#!/bin/bash
# make check: checkpatch --strict on every patch of the series and every new
# kernel file, and a syntax check of our shell scripts.
set -eu
. "$(dirname "$0")/lib.sh"

"$NUMAPTE_ROOT/scripts/prepare-kernel.sh"
cp_pl="perl $KTREE/scripts/checkpatch.pl --strict --no-tree --show-types --color=never"
# Patches only: mm/Kconfig's 'source "mm/Kconfig.numapte"' line names a file
# that starts with the patched file's name, which checkpatch takes for the
# file naming itself (EMBEDDED_FILENAME).
cp_patch="$cp_pl --ignore EMBEDDED_FILENAME"
fail=0
count=0
for p in $(sed -e 's/#.*//' "$NUMAPTE_ROOT/patches/series"); do
	count=$((count + 1))
	$cp_patch "$NUMAPTE_ROOT/patches/$p" >"$BUILD/checkpatch.log" 2>&1 ||
		{ cat "$BUILD/checkpatch.log"; fail=1; }
	echo "checkpatch: patches/$p: $(tail -n 2 "$BUILD/checkpatch.log" | head -n 1)"
done
while read -r f; do
	[ -n "$f" ] || continue
	count=$((count + 1))
	$cp_pl -f "$f" >"$BUILD/checkpatch.log" 2>&1 ||
		{ cat "$BUILD/checkpatch.log"; fail=1; }
	echo "checkpatch: ${f#"$NUMAPTE_ROOT"/}: $(grep -E '^total:' "$BUILD/checkpatch.log")"
done <<EOT
$( { find "$NUMAPTE_ROOT/kernel" -type f 2>/dev/null; ls "$NUMAPTE_ROOT/Kconfig.numapte" 2>/dev/null; } | sort)
EOT
[ "$count" -gt 0 ] || echo "checkpatch: no patches or kernel files yet"
for s in "$NUMAPTE_ROOT"/scripts/*.sh "$NUMAPTE_ROOT"/scripts/guest/init \
	"$NUMAPTE_ROOT"/scripts/guest/plan.d/* "$NUMAPTE_ROOT"/tests/host/*.sh "$NUMAPTE_ROOT"/.ci/run; do
	[ -f "$s" ] || continue
	case "$(head -n 1 "$s")" in
	*bash*) bash -n "$s" ;;
	*) sh -n "$s" ;;
	esac || { echo "syntax error: $s"; fail=1; }
done
[ "$fail" = 0 ] && echo "check: clean"
exit "$fail"
