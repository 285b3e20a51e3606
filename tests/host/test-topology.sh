#!/bin/bash
# Host test: scripts/run-guest.sh validates SOCKETS/CORES/MEM and its options
# before booting anything, and builds the QEMU NUMA topology it was asked for.
# Uses --dry-run: no kernel, no QEMU needed. Prints TAP 13.
set -eu
RUN=$(cd "$(dirname "$0")/../.." && pwd)/scripts/run-guest.sh
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

# rejects "DESC" "ENV..." "EXPECTED MESSAGE PART" [options]: must exit 2 with the message.
rejects() {
	desc=$1 envs=$2 msg=$3
	shift 3
	rc=0
	out=$(env -u SOCKETS -u CORES -u MEM -u ACCEL $envs "$RUN" --dry-run "$@" 2>&1) || rc=$?
	if [ "$rc" = 2 ] && printf '%s' "$out" | grep -qF -- "$msg"; then
		result 0 "rejects $desc"
	else
		result 1 "rejects $desc (rc=$rc, output: $out)"
	fi
}

# accepts "DESC" "ENV..." "EXPECTED QEMU ARGUMENT"...
accepts() {
	desc=$1 envs=$2
	shift 2
	rc=0
	out=$(env -u SOCKETS -u CORES -u MEM -u ACCEL $envs "$RUN" --dry-run --plan topology 2>&1) || rc=$?
	ok=$rc
	for want in "$@"; do
		printf '%s' "$out" | grep -qF -- "$want" || { ok=1; echo "# missing: $want"; }
	done
	[ "$ok" = 0 ] || echo "# output: $out"
	result "$ok" "accepts $desc"
}

echo "TAP version 13"
echo "1..17"
accepts "4 sockets x 2 cores x 512M" "SOCKETS=4 CORES=2 MEM=512M" \
	"-smp 8,sockets=4,cores=2,threads=1" "-m 2048M" \
	"-numa node,nodeid=0,cpus=0-1,memdev=m0" "-numa node,nodeid=3,cpus=6-7,memdev=m3" \
	"memory-backend-ram,id=m3,size=512M" "ntopo=4x2" "isa-debug-exit,iobase=0xf4"
accepts "1 socket x 1 core, MEM in MiB" "SOCKETS=1 CORES=1 MEM=256" \
	"-smp 1,sockets=1,cores=1" "-numa node,nodeid=0,cpus=0-0,memdev=m0" "size=256M"
accepts "8 sockets x 2 cores, MEM=1G" "SOCKETS=8 CORES=2 MEM=1G" \
	"-smp 16,sockets=8" "-numa node,nodeid=7,cpus=14-15,memdev=m7" "size=1024M"
accepts "defaults are 4 x 2 x 512M" "" "-smp 8,sockets=4,cores=2" "size=512M"
rejects "SOCKETS=0" "SOCKETS=0" "SOCKETS=0 out of range" --plan topology
rejects "SOCKETS=17" "SOCKETS=17" "out of range: 1..16" --plan topology
rejects "SOCKETS=two" "SOCKETS=two" "is not a positive integer" --plan topology
rejects "negative CORES" "CORES=-1" "is not a positive integer" --plan topology
rejects "CORES=0" "CORES=0" "CORES=0 out of range" --plan topology
rejects "more than 64 CPUs" "SOCKETS=16 CORES=8" "at most 64" --plan topology
rejects "MEM=64M (too small)" "MEM=64M" "too small" --plan topology
rejects "MEM=lots" "MEM=lots" "is not a size" --plan topology
rejects "more memory than the host" "SOCKETS=16 MEM=100G" "exceeds 3/4" --plan topology
rejects "a missing --plan" "" "--plan is required"
rejects "an unknown plan step" "" "unknown step 'nosuchstep'" --plan topology,nosuchstep
rejects "a malformed plan" "" "separated by single commas" --plan "topology,,coherence"
rejects "an unknown option" "" "unknown option '--frobnicate'" --plan topology --frobnicate
[ "$fails" = 0 ]
