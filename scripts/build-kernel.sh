#!/bin/bash
# Build the numaPTE guest kernel out of tree.
#   scripts/build-kernel.sh          -> build/obj/arch/x86/boot/bzImage
#   scripts/build-kernel.sh --debug  -> build/obj-debug/... (KASAN, lockdep, DEBUG_VM)
#
# The .config is tinyconfig + scripts/config/guest.config (+ debug.config),
# regenerated only when a fragment or a Kconfig file of ours changed, and
# checked symbol by symbol afterwards. Uses ccache when installed
# (CCACHE_DIR outside the repo); NUMAPTE_CCACHE=0 disables it.
set -eu
. "$(dirname "$0")/lib.sh"

debug=0
case "${1:-}" in
--debug) debug=1 ;;
"") ;;
*) die "usage: $0 [--debug]" ;;
esac

CFGDIR=$NUMAPTE_ROOT/scripts/config
if [ "$debug" = 1 ]; then
	OBJ=$BUILD/obj-debug
	fragments="$CFGDIR/guest.config $CFGDIR/debug.config"
else
	OBJ=$BUILD/obj
	fragments="$CFGDIR/guest.config"
fi

need_pkgs build-essential flex bison bc libelf-dev libssl-dev cpio kmod
"$NUMAPTE_ROOT/scripts/prepare-kernel.sh"

makeargs=(-C "$KTREE" O="$OBJ" -j"$(nproc)")
if [ "${NUMAPTE_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null; then
	makeargs+=(CC="ccache gcc")
	export CCACHE_DIR=${CCACHE_DIR:-/var/cache/numapte-ccache}
	# Hash paths relative to the checkout so that another clone on the same
	# machine (CI) hits the cache a developer's build filled.
	export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$NUMAPTE_ROOT}
	mkdir -p "$CCACHE_DIR"
fi

kmake() {
	make "${makeargs[@]}" "$@"
}

# Hash of what decides the .config: the fragments and every Kconfig file the
# patch series or Kconfig.numapte brings in.
config_hash() {
	{
		cat $fragments
		grep '/Kconfig' "$KTREE/.numapte-files" 2>/dev/null |
			while read -r f; do cat "$KTREE/$f"; done
		cat "$PRISTINE/.numapte-source"
	} | sha256sum | cut -d' ' -f1
}

# Each CONFIG_X=v / "# CONFIG_X is not set" line of the fragments must hold.
verify_config() {
	bad=
	for f in $fragments; do
		while read -r line; do
			case "$line" in
			CONFIG_*=*)
				grep -qxF "$line" "$OBJ/.config" || bad="$bad\n  want $line"
				;;
			"# CONFIG_"*" is not set")
				sym=${line#\# }
				sym=${sym%% *}
				! grep -q "^$sym=" "$OBJ/.config" || bad="$bad\n  want $line"
				;;
			esac
		done <"$f"
	done
	if [ -n "$bad" ]; then
		printf '%s: .config does not match the fragments:%b\n' "${0##*/}" "$bad" >&2
		exit 1
	fi
}

make_config() {
	hash=$(config_hash)
	if [ -f "$OBJ/.config" ] && [ -f "$OBJ/.numapte-config" ] &&
	   [ "$(cat "$OBJ/.numapte-config")" = "$hash" ]; then
		return 0
	fi
	note "generating $OBJ/.config"
	mkdir -p "$OBJ"
	rm -f "$OBJ/.numapte-config"
	kmake -s tinyconfig >/dev/null
	# shellcheck disable=SC2086
	KCONFIG_CONFIG=$OBJ/.config "$KTREE/scripts/kconfig/merge_config.sh" \
		-m -O "$OBJ" "$OBJ/.config" $fragments >"$OBJ/merge_config.log"
	kmake -s olddefconfig >/dev/null
	verify_config
	echo "$hash" >"$OBJ/.numapte-config"
}

make_config
start=$(date +%s)
kmake -s bzImage
ver=$(kmake -s kernelrelease)
src="Debian $(cut -d" " -f1,2 "$PRISTINE/.numapte-source")"
echo "$ver ($src)" >"$OBJ/numapte-kernel-version"
note "built $OBJ/arch/x86/boot/bzImage: $ver from $src in $(($(date +%s) - start)) s"
