#!/bin/bash
# Prepare the numaPTE kernel tree in build/src/linux:
#   Debian's linux-source-6.12 tarball (unpacked once into build/src/pristine)
#   + patches/series applied in order + kernel/ copied over + Kconfig.numapte.
#
# The tree is never patched in place. The patched result is built in a small
# staging tree holding only the files the series touches, and then synced into
# build/src/linux file by file, rewriting only files whose content changed.
# So:
#  - nothing changed            -> nothing is written, nothing rebuilds;
#  - a patch changed            -> only the files whose result differs get a
#                                  new mtime, and kbuild rebuilds only those;
#  - a patch no longer applies  -> the tree is left exactly as it was;
#  - a file dropped from the series is restored from the pristine copy.
set -eu
. "$(dirname "$0")/lib.sh"

# Where patches/, kernel/ and Kconfig.numapte come from (the host test points
# it at a fixture).
SRC=${NUMAPTE_SRC:-$NUMAPTE_ROOT}
STAGE=$BUILD/src/stage
STAMP=$KTREE/.numapte-prepared
FILELIST=$KTREE/.numapte-files

ensure_tarball() {
	[ -f "$KERNEL_TARBALL" ] || need_pkgs "$KERNEL_PKG"
	[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL not found after installing $KERNEL_PKG"
}

# Identity of the kernel source: Debian package version plus tarball size and
# mtime, so a package upgrade forces a fresh unpack and a full rebuild.
tarball_id() {
	ver=$(dpkg-query -W -f='${Version}' "$KERNEL_PKG" 2>/dev/null || echo unknown)
	echo "$KERNEL_PKG $ver $(stat -c '%s %Y' "$KERNEL_TARBALL")"
}

unpack_pristine() {
	id=$(tarball_id)
	if [ -f "$PRISTINE/.numapte-source" ] &&
	   [ "$(cat "$PRISTINE/.numapte-source")" = "$id" ]; then
		return 0
	fi
	note "unpacking $KERNEL_TARBALL ($id)"
	# Objects built from another source version would look newer than the
	# unpacked files (tar keeps the archive's mtimes): start clean.
	rm -rf "$PRISTINE" "$KTREE" "$STAGE" "$BUILD"/obj "$BUILD"/obj-debug "$BUILD/src/.unpack"
	mkdir -p "$BUILD/src/.unpack"
	tar -xJf "$KERNEL_TARBALL" -C "$BUILD/src/.unpack"
	top=$(find "$BUILD/src/.unpack" -mindepth 1 -maxdepth 1 -type d)
	[ -f "$top/Makefile" ] || die "unexpected layout in $KERNEL_TARBALL"
	mv "$top" "$PRISTINE"
	rmdir "$BUILD/src/.unpack"
	echo "$id" >"$PRISTINE/.numapte-source"
}

series_patches() {
	[ -f "$SRC/patches/series" ] || return 0
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$SRC/patches/series" |
		grep -v '^$' || true
}

# Kernel-relative paths of new files: kernel/mm/numapte.c -> mm/numapte.c.
new_files() {
	[ -d "$SRC/kernel" ] || return 0
	(cd "$SRC/kernel" && find . -type f | sed 's|^\./||' | sort)
}

# Everything that decides the prepared tree's content.
inputs_hash() {
	{
		tarball_id
		series_patches
		for p in $(series_patches); do
			sha256sum "$SRC/patches/$p"
		done
		for f in $(new_files); do
			echo "$f $(sha256sum <"$SRC/kernel/$f")"
		done
		[ ! -f "$SRC/Kconfig.numapte" ] ||
			sha256sum <"$SRC/Kconfig.numapte"
	} | sha256sum | cut -d' ' -f1
}

# Files a patch creates, modifies or deletes.
patch_targets() {
	sed -n -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' \
	       -e 's|^--- a/\([^[:space:]]*\).*|\1|p' "$1" | sort -u
}

build_stage() {
	rm -rf "$STAGE"
	mkdir -p "$STAGE"
	: >"$STAGE.files"
	for p in $(series_patches); do
		pf=$SRC/patches/$p
		[ -f "$pf" ] || die "patches/series lists $p, which does not exist"
		patch_targets "$pf" >>"$STAGE.files"
	done
	for f in $(sort -u "$STAGE.files"); do
		if [ -f "$PRISTINE/$f" ]; then
			mkdir -p "$STAGE/$(dirname "$f")"
			cp "$PRISTINE/$f" "$STAGE/$f"
		fi
	done
	for p in $(series_patches); do
		if ! patch -d "$STAGE" -p1 --batch --forward --fuzz=0 \
		     --no-backup-if-mismatch -r - -s \
		     <"$SRC/patches/$p" >"$STAGE.log" 2>&1; then
			cat "$STAGE.log" >&2
			die "patches/$p does not apply (tree left unchanged)"
		fi
	done
	for f in $(new_files); do
		[ ! -e "$PRISTINE/$f" ] ||
			die "kernel/$f would overwrite an existing kernel file; change it with a patch"
		mkdir -p "$STAGE/$(dirname "$f")"
		cp "$SRC/kernel/$f" "$STAGE/$f"
		echo "$f" >>"$STAGE.files"
	done
	if [ -f "$SRC/Kconfig.numapte" ]; then
		cp "$SRC/Kconfig.numapte" "$STAGE/mm/Kconfig.numapte"
		echo mm/Kconfig.numapte >>"$STAGE.files"
	fi
	sort -u -o "$STAGE.files" "$STAGE.files"
}

# Make $KTREE/$1 equal to $2 (a file, or "" for absent). Rewrites only on a
# content change, with a fresh mtime so that kbuild notices.
sync_file() {
	dst=$KTREE/$1
	if [ -z "$2" ]; then
		[ ! -e "$dst" ] || { rm -f "$dst"; changed=$((changed + 1)); }
	elif ! cmp -s "$2" "$dst"; then
		mkdir -p "$(dirname "$dst")"
		rm -f "$dst"
		cp "$2" "$dst"
		changed=$((changed + 1))
	fi
}

sync_tree() {
	changed=0
	touch "$FILELIST"
	for f in $(sort -u "$FILELIST" "$STAGE.files"); do
		if grep -qxF "$f" "$STAGE.files"; then
			src=$STAGE/$f
		else
			src=$PRISTINE/$f
		fi
		[ -f "$src" ] || src=
		sync_file "$f" "$src"
	done
	cp "$STAGE.files" "$FILELIST"
}

main() {
	ensure_tarball
	unpack_pristine
	if [ ! -f "$KTREE/Makefile" ]; then
		note "copying pristine tree to $KTREE"
		rm -rf "$KTREE"
		cp -a "$PRISTINE" "$KTREE"
	fi
	hash=$(inputs_hash)
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ]; then
		note "kernel tree up to date ($(cat "$PRISTINE/.numapte-source"))"
		return 0
	fi
	build_stage
	rm -f "$STAMP"
	sync_tree
	echo "$hash" >"$STAMP"
	rm -rf "$STAGE" "$STAGE.files" "$STAGE.log"
	note "prepared $KTREE: $(series_patches | wc -l) patches, $(new_files | wc -l) new files, $changed files rewritten"
}

main "$@"
