# SPDX-License-Identifier: GPL-2.0
#
# selftests/vm: every selftest inside a QEMU VM with gwake.ko loaded.
#
#   make vm-check  [KERNEL_FLAVOR=generic|rt|cloud|debug] [VM_TIMEOUT=2400]
#                  [VM_APPEND="extra kernel parameters"]
#                  [VM_TESTS="exit_test torture_test"]   (only these)
#   make vm-check-all            generic, rt and cloud in turn
#   make vm-shell                the same VM with an interactive shell
#   make vm-initrd               stop after packing the initramfs
#   make vm-bench  [KERNEL_FLAVOR=...] [VM_BENCH_FLAGS="gwake-bench options"]
#                  [VM_BENCH_TIMEOUT=1200] [VM_BENCH_BOOTS=1]
#                                gwake-bench in the VM, --backend kmod then
#                                --backend user; the reports in
#                                $(O)/vm/$(KERNEL_FLAVOR)/bench.txt, with
#                                results-{kmod,user}.{json,tsv,txt} and the
#                                plots server-{kmod,user}.{png,svg}; with
#                                VM_BENCH_BOOTS=N, N boots in turn, each
#                                boot's files also in boot-I/, and the
#                                kmod/user ratios over the boots in
#                                compare-boots.txt
#
# vm-initrd runs four steps, each in the script or fragment that owns it:
#   1. Debian's kernel image and headers for the flavour into
#      $(CACHE)/kernel/$(KERNEL_FLAVOR) (fetch-kernel.sh);
#   2. $(KMOD_KO) (kmod/kmod.mk) against those headers;
#   3. the selftests, fully static, in their own tree:
#      $(MAKE) O=$(O)/vm STATIC=1 selftests (no sanitizers: ASan cannot
#      link statically);
#   4. the initramfs: busybox-static, the module, the test programs,
#      run_tests.sh and /init (mkinitramfs.sh).
# vm-check then boots it and judges the console (run-vm.sh); the logs are
# in $(O)/vm/$(KERNEL_FLAVOR)/. selftests/vm/README.md has the details.
#
# The steps are sub-makes in sequence, not prerequisites: the module's rule
# and the test list come from fragments included after this one, the module
# must not start building before its headers exist (even under -j), and the
# static tests live in their own O= tree. Each sub-make is incremental.
#
# vm-bench-initrd follows the same steps with gwake-bench (and its Go
# peer, a static cgo-free binary, when Go is installed) in /usr/bin instead
# of the selftests, in an initramfs of its own under $(VM_BENCH_DIR), so
# that vm-check and vm-bench never overwrite each other's files.

comma		:= ,
space		:= $(subst ,, )
VM_DIR		= $(O)/vm/$(KERNEL_FLAVOR)
VM_KERNEL_DIR	= $(CACHE)/kernel/$(KERNEL_FLAVOR)
VM_INITRD	= $(VM_DIR)/initrd.cpio.gz
VM_STATIC_O	= $(O)/vm
VM_RUN_TESTS	?= selftests/run_tests.sh
VM_TIMEOUT	?= 2400
VM_APPEND	?=
VM_TESTS	?=
VM_FLAVORS	:= generic rt cloud

# The wake-word groups, short enough that one VM run (both backends) takes
# about 8 minutes under TCG on 2 quiet vCPUs (docs/benchmarks.md: measured).
# Ratios within a run are what to read; raise -r for tighter spreads.
VM_BENCH_FLAGS	?= handoff server idle-wake block-handoff wake-many -r 5 -t 100
VM_BENCH_TIMEOUT ?= 1200
# One boot is one sample of the VM's noise (docs/benchmarks.md): ratios
# are read from the median of several.
VM_BENCH_BOOTS	?= 1
VM_BENCH_DIR	= $(VM_DIR)/bench
VM_BENCH_INITRD	= $(VM_BENCH_DIR)/initrd.cpio.gz
VM_BENCH_BINS	= $(VM_STATIC_O)/tools/gwake-bench \
		  $(if $(HAVE_GO),$(VM_STATIC_O)/tools/gwake-bench-go)

VM_RUN = selftests/vm/run-vm.sh --name "$(KERNEL_FLAVOR)" \
	--kernel $(VM_KERNEL_DIR)/vmlinuz --initrd $(VM_INITRD) \
	--dir $(VM_DIR) --timeout $(VM_TIMEOUT) \
	--append "$(VM_APPEND)$(if $(VM_TESTS), GWAKE_VM_TESTS=$(subst $(space),$(comma),$(strip $(VM_TESTS))))"

.PHONY: vm-check vm-check-all vm-shell vm-initrd vm-list-tests
.PHONY: vm-bench vm-bench-initrd

vm-check: vm-initrd
	$(VM_RUN)

vm-shell: vm-initrd
	$(VM_RUN) --mode shell

vm-check-all:
	@rc=0; for f in $(VM_FLAVORS); do \
		$(MAKE) --no-print-directory KERNEL_FLAVOR=$$f vm-check || rc=1; \
	done; exit $$rc

vm-initrd:
	selftests/vm/fetch-kernel.sh $(KERNEL_FLAVOR) $(CACHE)
	$(MAKE) --no-print-directory KERNEL_FLAVOR=$(KERNEL_FLAVOR) $(KMOD_KO)
	$(MAKE) --no-print-directory O=$(VM_STATIC_O) STATIC=1 SAN= selftests
	@mkdir -p $(VM_DIR)
	@$(MAKE) -s --no-print-directory O=$(VM_STATIC_O) STATIC=1 SAN= \
		vm-list-tests > $(VM_DIR)/tests.list
	busybox=$$(selftests/vm/fetch-busybox.sh $(CACHE)) && \
	selftests/vm/mkinitramfs.sh --out $(VM_INITRD) --busybox "$$busybox" \
		--module $(KMOD_KO) --run-tests $(VM_RUN_TESTS) \
		--modules-dir $(VM_KERNEL_DIR)/root/lib/modules/$$(cat $(VM_KERNEL_DIR)/release) \
		--tests-list $(VM_DIR)/tests.list

# What goes into the VM's /selftests, one path a line: the programs of
# TEST_GEN_PROGS (a name without a directory is taken to be in
# $(O)/selftests), and the files the runner reads beside them (the
# kselftest "settings" file with the per-program timeout, TEST_FILES).
# Run in the sub-make that built them, so the list matches that tree.
VM_TEST_PATHS = $(foreach p,$(TEST_GEN_PROGS) $(TEST_FILES),\
		  $(if $(findstring /,$(p)),$(p),$(O)/selftests/$(p)))
vm-list-tests:
	@printf '%s\n' $(VM_TEST_PATHS) $(wildcard $(O)/selftests/settings)

# Not part of make check: numbers, not a verdict on them. It fails only
# when the VM does (kernel problems, a timeout, gwake-bench exiting
# non-zero, /init not finishing); run-vm.sh writes the reports to
# bench.txt on a pass.
vm-bench: vm-bench-initrd
	@rm -rf $(VM_DIR)/boot-* $(VM_DIR)/compare-boots.txt
	@i=1; while [ $$i -le $(VM_BENCH_BOOTS) ]; do \
		selftests/vm/run-vm.sh --name "$(KERNEL_FLAVOR) bench" --mode bench \
			--kernel $(VM_KERNEL_DIR)/vmlinuz --initrd $(VM_BENCH_INITRD) \
			--dir $(VM_BENCH_DIR) --timeout $(VM_BENCH_TIMEOUT) \
			--append "$(VM_APPEND)" --init-args "$(VM_BENCH_FLAGS)" \
			--report $(VM_DIR)/bench.txt || exit; \
		for b in kmod user; do \
			tools/bench/plot.sh --if-any $(VM_DIR)/results-$$b.tsv $(VM_DIR)/server-$$b \
				"gwake-bench server in the VM ($(KERNEL_FLAVOR), $$b backend): ns per call" || exit; \
		done; \
		echo "== kmod against user, row by row ($(VM_DIR)/compare.txt)"; \
		tools/bench/compare.sh $(VM_DIR)/results-kmod.tsv $(VM_DIR)/results-user.tsv \
			> $(VM_DIR)/compare.txt || exit; \
		cat $(VM_DIR)/compare.txt; \
		if [ $(VM_BENCH_BOOTS) -gt 1 ]; then \
			mkdir -p $(VM_DIR)/boot-$$i && \
			cp $(VM_DIR)/bench.txt $(VM_DIR)/compare.txt $(VM_DIR)/results-*.* \
				$(VM_DIR)/boot-$$i/ || exit; \
		fi; \
		i=$$((i + 1)); \
	done
	@if [ $(VM_BENCH_BOOTS) -gt 1 ]; then \
		echo "== kmod against user over $(VM_BENCH_BOOTS) boots ($(VM_DIR)/compare-boots.txt)"; \
		tools/bench/compare-boots.sh $(VM_DIR)/boot-*/compare.txt | \
			tee $(VM_DIR)/compare-boots.txt; \
	fi

vm-bench-initrd:
	selftests/vm/fetch-kernel.sh $(KERNEL_FLAVOR) $(CACHE)
	$(MAKE) --no-print-directory KERNEL_FLAVOR=$(KERNEL_FLAVOR) $(KMOD_KO)
	$(MAKE) --no-print-directory O=$(VM_STATIC_O) STATIC=1 SAN= $(VM_BENCH_BINS)
	@mkdir -p $(VM_BENCH_DIR)
	busybox=$$(selftests/vm/fetch-busybox.sh $(CACHE)) && \
	selftests/vm/mkinitramfs.sh --out $(VM_BENCH_INITRD) --busybox "$$busybox" \
		--module $(KMOD_KO) \
		--modules-dir $(VM_KERNEL_DIR)/root/lib/modules/$$(cat $(VM_KERNEL_DIR)/release) \
		$(addprefix --bin ,$(VM_BENCH_BINS))
