# shellcheck shell=sh
# Shared settings for the numaPTE scripts. Sourced, never executed.

NUMAPTE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$NUMAPTE_ROOT/build}
KERNEL_PKG=${KERNEL_PKG:-linux-source-6.12}
KERNEL_TARBALL=${KERNEL_TARBALL:-/usr/src/$KERNEL_PKG.tar.xz}
PRISTINE=$BUILD/src/pristine
KTREE=$BUILD/src/linux

die() {
	echo "${0##*/}: error: $*" >&2
	exit 1
}

note() {
	echo "${0##*/}: $*" >&2
}

# Install Debian packages that are missing, or say exactly what to install.
need_pkgs() {
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
		awk '/ install ok installed$/ { print $1 }')
	missing=
	for p in "$@"; do
		echo "$installed" | grep -qxF "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages:$missing (run: sudo apt-get install$missing)"
	fi
	note "installing:$missing"
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >/dev/null
}

# step_data RESULTS.log STEP: the data lines (not comments) a guest step printed.
step_data() {
	tr -d '\r' <"$1" | awk -v s="$2" '
		$0 == "# numapte-step: " s { on = 1; next }
		index($0, "# numapte-step-end: " s " ") == 1 { on = 0 }
		on && !/^#/ && NF'
}
