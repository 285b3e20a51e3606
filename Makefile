# numaPTE: kernel patchset + QEMU harness + benchmarks and tests.
#
#   make run     build what is missing, boot 4 sockets x 2 cores, run the
#                benchmark set, print the table (SOCKETS= CORES= MEM=)
#   make test    host tests + guest tests on several topologies;
#                closing line "N passed, N failed"
#   make bench   socket sweep (1, 2, 4, 8) -> build/bench/sweep.{csv,png}
#   make torture numapte_torture on 4x2, normal then debug kernel,
#                TORTURE_SECONDS (default 600) each
#   make kernel  [DEBUG=1]  make initramfs  make check  make clean
#
# Everything generated lives in build/ (ignored by git).

BUILD     := $(CURDIR)/build
KSRC      := $(BUILD)/src/linux
UBIN      := $(BUILD)/userspace
TBIN      := $(BUILD)/tests
MMBIN     := $(BUILD)/mm-selftests/bin
INITRAMFS := $(BUILD)/initramfs.cpio.gz
DEBUG     ?= 0

ifeq ($(DEBUG),1)
KERNEL_FLAGS := --debug
else
KERNEL_FLAGS :=
endif

.PHONY: all deps kernel prepare userspace guest-tests mm-selftests initramfs run \
	bench torture test check clean distclean

all: kernel initramfs

# Debian packages (installed when missing, as root).
deps:
	@scripts/install-deps.sh

# The build scripts are incremental themselves: always ask them.
prepare: deps
	scripts/prepare-kernel.sh

kernel: deps
	scripts/build-kernel.sh $(KERNEL_FLAGS)

userspace: deps
	$(MAKE) -C userspace OUT=$(UBIN)

guest-tests: prepare userspace
	$(MAKE) -C tests/guest KSRC=$(KSRC) OUT=$(TBIN) UBIN=$(UBIN)

# The upstream mm selftests (tools/testing/selftests/mm of the prepared
# tree) that plan.d/mmselftests runs.
mm-selftests: prepare
	scripts/build-mm-selftests.sh $(MMBIN)

GUEST_FILES := $(wildcard scripts/guest/* scripts/guest/plan.d/*)

initramfs: userspace guest-tests mm-selftests
	@if [ ! -f $(INITRAMFS) ] || [ -n "$$(find $(UBIN) $(TBIN) $(MMBIN) $(GUEST_FILES) \
		scripts/mkinitramfs.sh -newer $(INITRAMFS) 2>/dev/null | head -n 1)" ]; then \
		scripts/mkinitramfs.sh $(INITRAMFS) $(UBIN) $(TBIN) $(MMBIN); \
	fi

run: kernel initramfs
	scripts/run-bench.sh

bench: kernel initramfs
	scripts/bench-sweep.sh

torture: initramfs
	$(MAKE) kernel
	$(MAKE) kernel DEBUG=1
	scripts/run-torture.sh

test:
	scripts/run-tests.sh

check:
	scripts/check.sh

clean:
	rm -rf $(UBIN) $(TBIN) $(MMBIN) $(INITRAMFS) $(BUILD)/runs $(BUILD)/results $(BUILD)/torture \
		$(BUILD)/bench

# Also drops the unpacked kernel and its objects (a rebuild takes minutes).
distclean:
	rm -rf $(BUILD)
