#!/bin/bash
# Build the guest initramfs: busybox-static, our /init and plan steps, and
# the statically linked benchmarks and tests, and optionally the upstream mm
# selftests (scripts/build-mm-selftests.sh), which go to /mm-selftests/.
#   scripts/mkinitramfs.sh OUT.cpio.gz USERSPACE_BIN_DIR TEST_BIN_DIR [MM_SELFTESTS_DIR]
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || [ $# -eq 4 ] ||
	die "usage: $0 OUT.cpio.gz USERSPACE_BIN_DIR TEST_BIN_DIR [MM_SELFTESTS_DIR]"
out=$1
ubin=$2
tbin=$3
mmbin=${4:-}
[ -z "$mmbin" ] || [ -d "$mmbin" ] || die "no such directory: $mmbin"
need_pkgs busybox-static cpio
bb=/bin/busybox
ldd "$bb" >/dev/null 2>&1 && die "$bb is dynamically linked: install busybox-static"

root=$(mktemp -d "$BUILD/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/proc "$root"/sys \
	"$root"/dev "$root"/tmp "$root"/tests "$root"/lib/numapte "$root"/plan.d \
	"$root"/mm-selftests
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
g=$NUMAPTE_ROOT/scripts/guest
install -m 755 "$g/init" "$root/init"
install -m 644 "$g/tap.sh" "$root/lib/numapte/tap.sh"
install -m 755 "$g"/plan.d/* "$root/plan.d/"
for f in "$ubin"/*; do
	[ -x "$f" ] && [ -f "$f" ] && install -m 755 "$f" "$root/usr/bin/"
done
for f in "$tbin"/*; do
	[ -x "$f" ] && [ -f "$f" ] && install -m 755 "$f" "$root/tests/"
done
if [ -n "$mmbin" ]; then
	for f in "$mmbin"/*; do
		[ -x "$f" ] && [ -f "$f" ] && install -m 755 "$f" "$root/mm-selftests/"
	done
fi
for f in "$root"/usr/bin/* "$root"/tests/* "$root"/mm-selftests/*; do
	[ -e "$f" ] || continue
	ldd "$f" >/dev/null 2>&1 && die "${f#"$root"} is dynamically linked; guest binaries must be static"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
note "wrote $out ($(du -k "$out" | cut -f1) KiB)"
