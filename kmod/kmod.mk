# SPDX-License-Identifier: GPL-2.0
#
# kmod/: gwake.ko, included by the top-level Makefile.
#
#   make modules           build in the source tree against $(KDIR)
#   make $(KMOD_KO)        build for $(KERNEL_FLAVOR) (generic, rt, cloud)
#                          out of the source tree, with W=1, failing on any
#                          compiler or modpost warning; what the VM tests load
#   make kmod-all          the same for all three flavours
#   make checkpatch        checkpatch.pl --strict on the module and the ABI
#   make kmod-clean        remove Kbuild outputs from the source tree
#
# Debian's kernel headers and linux-source are fetched into $(CACHE) on
# first use (selftests/vm/fetch-kernel.sh, tools/fetch-linux-source.sh).

KMOD_FLAVORS	:= generic rt cloud
KMOD_SRCS	:= $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)
KMOD_DIR	:= $(O)/kmod/$(KERNEL_FLAVOR)
KMOD_KO		:= $(KMOD_DIR)/gwake.ko
KMOD_KDIR	:= $(CACHE)/kernel/$(KERNEL_FLAVOR)/headers
CHECKPATCH	:= $(CACHE)/linux-source/scripts/checkpatch.pl

# The kernel's make runs with none of our command-line variables: make
# passes them down in MAKEFLAGS, and Kbuild would take ours for its own
# (O= becomes its output directory, CC= or CFLAGS= its compiler flags).
KBUILD_MAKE	:= env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS $(MAKE)

.PHONY: modules kmod-all checkpatch kmod-clean
clean: kmod-clean

modules:
ifneq ($(filter $(CACHE)/%,$(KDIR)),)
	selftests/vm/fetch-kernel.sh $(KERNEL_FLAVOR) $(CACHE)
endif
	$(KBUILD_MAKE) -C $(KDIR) M=$(CURDIR) modules

# The build tree mirrors the source tree (kmod/ beside include/uapi/ and
# include/gwake/), so kmod/Kbuild finds <linux/gwake.h>, and the version in
# gwake.h, the same way in both. cp -p keeps the
# sources' times, so Kbuild rebuilds only what changed. Each flavour has its
# own tree: objects are never shared between kernels. A failed build leaves
# no $(KMOD_KO) behind, so nothing can load a stale module, and a build with
# warnings also drops its objects, so the next run compiles (and warns)
# again instead of finding them up to date.
$(KMOD_KO): $(KMOD_SRCS) kmod/Kbuild include/uapi/linux/gwake.h \
	    include/gwake/gwake.h kmod/kmod.mk
	@rm -f $@
	selftests/vm/fetch-kernel.sh $(KERNEL_FLAVOR) $(CACHE)
	@mkdir -p $(KMOD_DIR)/kmod $(KMOD_DIR)/include/uapi/linux $(KMOD_DIR)/include/gwake
	cp -p $(KMOD_SRCS) kmod/Kbuild $(KMOD_DIR)/kmod/
	cp -p include/uapi/linux/gwake.h $(KMOD_DIR)/include/uapi/linux/
	cp -p include/gwake/gwake.h $(KMOD_DIR)/include/gwake/
	@$(KBUILD_MAKE) -C $(KMOD_KDIR) M=$(abspath $(KMOD_DIR)/kmod) W=1 modules \
		> $(KMOD_DIR)/build.log 2>&1; rc=$$?; cat $(KMOD_DIR)/build.log; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; \
	if grep -qi 'warning' $(KMOD_DIR)/build.log; then \
		echo "kmod: warnings building gwake.ko for $(KERNEL_FLAVOR) (see above)" >&2; \
		rm -rf $(KMOD_DIR)/kmod; \
		exit 1; \
	fi
	cp $(KMOD_DIR)/kmod/gwake.ko $@

kmod-all:
	+$(foreach f,$(KMOD_FLAVORS),$(MAKE) KERNEL_FLAVOR=$(f) $(O)/kmod/$(f)/gwake.ko &&) true

checkpatch:
	tools/fetch-linux-source.sh $(CACHE)
	$(CHECKPATCH) --strict --no-tree --quiet -f $(KMOD_SRCS) include/uapi/linux/gwake.h

# What `make modules` (Kbuild in this tree) leaves behind, here and at the top.
kmod-clean:
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd \
	      kmod/modules.order kmod/Module.symvers
	rm -f modules.order Module.symvers .modules.order.cmd .Module.symvers.cmd
