#!/bin/bash
# Boot the numaPTE kernel in QEMU on an emulated multi-socket NUMA machine and
# run a plan of guest steps.
#
#   SOCKETS=4 CORES=2 MEM=512M scripts/run-guest.sh --plan topology,coherence
#
# Environment:
#   SOCKETS  NUMA nodes, one socket each            (default 4, 1..16)
#   CORES    CPUs per socket                        (default 2, 1..32, total <= 64)
#   MEM      memory per node: N (MiB), NM or NG     (default 512M, >= 128M)
#   ACCEL    tcg (default) or kvm (only if you know KVM works here)
#   KERNEL   bzImage to boot (default build/obj/arch/x86/boot/bzImage)
#   INITRD   initramfs (default build/initramfs.cpio.gz)
#
# Options:
#   --plan STEPS     comma-separated guest steps (scripts/guest/plan.d/*)
#   --name NAME      run name; logs go to build/runs/NAME/ (default: plan + topology)
#   --append ARGS    extra kernel command line
#   --timeout SECS   hard limit for the guest (default 900)
#   --debug          boot the debug kernel (build/obj-debug)
#   --dry-run        validate and print the QEMU command line, boot nothing
#   --verbose        stream the serial console to stdout
#
# The guest's step output arrives on a second serial port (results.log), the
# kernel log on the first (console.log). Then scripts/parse-results.sh judges
# the run: only a guest that wrote "pass" to isa-debug-exit, finished every
# step, passed every test and left no kernel report in its log passes.
set -eu
. "$(dirname "$0")/lib.sh"

usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

bad() {
	echo "${0##*/}: $*" >&2
	exit 2
}

plan=
name=
append=
timeout=900
debug=0
dry=0
verbose=0
while [ $# -gt 0 ]; do
	case "$1" in
	--plan) [ $# -ge 2 ] || usage; plan=$2; shift ;;
	--name) [ $# -ge 2 ] || usage; name=$2; shift ;;
	--append) [ $# -ge 2 ] || usage; append=$2; shift ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift ;;
	--debug) debug=1 ;;
	--dry-run) dry=1 ;;
	--verbose) verbose=1 ;;
	-h|--help) usage ;;
	*) bad "unknown option '$1' (see --help)" ;;
	esac
	shift
done

SOCKETS=${SOCKETS:-4}
CORES=${CORES:-2}
MEM=${MEM:-512M}
ACCEL=${ACCEL:-tcg}

is_uint() {
	case "$1" in
	''|*[!0-9]*) return 1 ;;
	*) [ "${#1}" -le 6 ] ;;
	esac
}

# Validate the topology before anything is built or booted.
is_uint "$SOCKETS" || bad "SOCKETS='$SOCKETS' is not a positive integer"
is_uint "$CORES" || bad "CORES='$CORES' is not a positive integer"
[ "$SOCKETS" -ge 1 ] && [ "$SOCKETS" -le 16 ] ||
	bad "SOCKETS=$SOCKETS out of range: 1..16 NUMA nodes"
[ "$CORES" -ge 1 ] && [ "$CORES" -le 32 ] ||
	bad "CORES=$CORES out of range: 1..32 CPUs per socket"
ncpus=$((SOCKETS * CORES))
[ "$ncpus" -le 64 ] ||
	bad "SOCKETS*CORES=$ncpus CPUs, but the guest kernel supports at most 64 (CONFIG_NR_CPUS)"
case "$MEM" in
*[Gg]) mem_mib=${MEM%?}; unit=1024 ;;
*[Mm]) mem_mib=${MEM%?}; unit=1 ;;
*) mem_mib=$MEM; unit=1 ;;
esac
is_uint "$mem_mib" || bad "MEM='$MEM' is not a size (examples: 512, 512M, 1G)"
mem_mib=$((mem_mib * unit))
[ "$mem_mib" -ge 128 ] || bad "MEM=$MEM per node is too small: at least 128M"
total_mib=$((mem_mib * SOCKETS))
host_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$total_mib" -le $((host_mib * 3 / 4)) ] ||
	bad "MEM=$MEM x $SOCKETS nodes = ${total_mib}M exceeds 3/4 of this host's ${host_mib}M"
is_uint "$timeout" && [ "$timeout" -ge 10 ] || bad "--timeout '$timeout' must be >= 10 seconds"
[ -n "$plan" ] || bad "--plan is required (see --help)"
case "$plan" in
*[!A-Za-z0-9_:.,-]*|,*|*,|*,,*) bad "--plan '$plan': steps are [A-Za-z0-9_:.-] separated by single commas" ;;
esac
for step in $(echo "$plan" | tr , ' '); do
	[ -x "$NUMAPTE_ROOT/scripts/guest/plan.d/${step%%:*}" ] ||
		bad "--plan: unknown step '${step%%:*}' (see scripts/guest/plan.d/)"
done
case "$ACCEL" in
tcg) accel="-accel tcg,thread=multi -cpu max" ;;
kvm) accel="-accel kvm -cpu host" ;;
*) bad "ACCEL='$ACCEL': tcg or kvm" ;;
esac

if [ "$debug" = 1 ]; then
	KERNEL=${KERNEL:-$BUILD/obj-debug/arch/x86/boot/bzImage}
else
	KERNEL=${KERNEL:-$BUILD/obj/arch/x86/boot/bzImage}
fi
INITRD=${INITRD:-$BUILD/initramfs.cpio.gz}
name=${name:-$(echo "$plan" | tr ',:' '+-')-${SOCKETS}s${CORES}c}
RUNDIR=$BUILD/runs/$name

# One memory backend and one node per socket; CPUs numbered socket by socket.
numa_args() {
	n=0
	while [ "$n" -lt "$SOCKETS" ]; do
		first=$((n * CORES))
		last=$((first + CORES - 1))
		printf -- ' -object memory-backend-ram,id=m%d,size=%dM' "$n" "$mem_mib"
		printf -- ' -numa node,nodeid=%d,cpus=%d-%d,memdev=m%d' "$n" "$first" "$last" "$n"
		n=$((n + 1))
	done
}

# softlockup/hung-task/oops all panic; panic=-1 reboots at once, which
# -no-reboot turns into a QEMU exit with status 0: never read as a pass.
cmdline="console=ttyS0,115200 panic=-1 oops=panic softlockup_panic=1"
cmdline="$cmdline nplan=$plan ntopo=${SOCKETS}x$CORES $append"

qemu_cmd="qemu-system-x86_64 -M pc $accel -m ${total_mib}M"
qemu_cmd="$qemu_cmd -smp $ncpus,sockets=$SOCKETS,cores=$CORES,threads=1$(numa_args)"
qemu_cmd="$qemu_cmd -kernel $KERNEL -initrd $INITRD -nodefaults -display none"
qemu_cmd="$qemu_cmd -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04"
qemu_cmd="$qemu_cmd -chardev file,id=con,path=$RUNDIR/console.log"
qemu_cmd="$qemu_cmd -serial chardev:con -serial file:$RUNDIR/results.log"

if [ "$dry" = 1 ]; then
	echo "$qemu_cmd -append '$cmdline'"
	exit 0
fi

need_pkgs qemu-system-x86
[ -f "$KERNEL" ] || die "no kernel at $KERNEL (run: make kernel)"
[ -f "$INITRD" ] || die "no initramfs at $INITRD (run: make initramfs)"
rm -rf "$RUNDIR"
mkdir -p "$RUNDIR"
: >"$RUNDIR/console.log"
echo "$qemu_cmd -append '$cmdline'" >"$RUNDIR/qemu-cmdline"
note "booting $name: $SOCKETS sockets x $CORES cores, ${mem_mib}M per node, plan $plan (logs: $RUNDIR)"

tailpid=
if [ "$verbose" = 1 ]; then
	tail -f "$RUNDIR/console.log" &
	tailpid=$!
fi
start=$(date +%s)
status=0
# shellcheck disable=SC2086
timeout --kill-after=10 "$timeout" $qemu_cmd -append "$cmdline" \
	</dev/null >"$RUNDIR/qemu.log" 2>&1 || status=$?
[ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null || true
echo "$status" >"$RUNDIR/qemu-status"
note "$name: guest finished in $(($(date +%s) - start)) s, qemu status $status"

"$NUMAPTE_ROOT/scripts/parse-results.sh" --summary-only --name "$name" \
	--expect "$plan" --qemu-status "$status" \
	"$RUNDIR/results.log" "$RUNDIR/console.log"
