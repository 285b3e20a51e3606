# shellcheck shell=sh
# Minimal TAP 13 writer for guest steps and host tests written in sh.
tap_n=0
tap_failed=0

tap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

# tap_check DESC CMD... : ok when CMD succeeds.
tap_check() {
	desc=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@"; then
		echo "ok $tap_n $desc"
	else
		echo "not ok $tap_n $desc"
		tap_failed=$((tap_failed + 1))
	fi
}

tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n $1 # SKIP $2"
}

tap_exit() {
	[ "$tap_failed" = 0 ]
	exit $?
}
