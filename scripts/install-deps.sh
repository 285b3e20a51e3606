#!/bin/bash
# Install the Debian packages the build, the guest runs and the tests need
# (as root; otherwise print the apt-get line). Quick when all are present.
set -eu
. "$(dirname "$0")/lib.sh"

need_pkgs build-essential flex bison bc libelf-dev libssl-dev cpio kmod \
	xz-utils perl "$KERNEL_PKG" qemu-system-x86 busybox-static libnuma-dev libcap-dev
