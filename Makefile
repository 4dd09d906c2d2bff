# SPDX-License-Identifier: GPL-2.0
#
# gwake: the userspace half of the build, and wrappers for the module half.
#
# The module is built by Kbuild (the file Kbuild next to this one) with
#   make -C $(KDIR) M=$(CURDIR)
# which `make modules` runs for you. Everything else (libgwake, the tools,
# the selftests) is built here, out of tree under $(O), one fragment per
# directory (lib/lib.mk, tools/tools.mk, selftests/selftests.mk, ...).
#
# Build variants are separate output trees driven by sub-makes:
#   make                      $(O)=build          -O2, shared and static lib
#   make SAN=1 O=build/san    ASan + UBSan        (native selftests)
#   make STATIC=1 O=build/vm  fully static        (selftests run in the VM)
#
# Downloads (Debian packages: kernel images and headers, linux-source for
# the kselftest harness and checkpatch.pl) go to $(CACHE), never into git.

O		?= build
CACHE		?= $(CURDIR)/.cache
KERNEL_FLAVOR	?= generic
PREFIX		?= /usr/local
DESTDIR		?=

CC		?= gcc
CFLAGS		?= -O2 -g
WERROR		?= 1
SAN		?=
STATIC		?=

# Where `make modules` builds against: the running kernel's headers if they
# are installed, else Debian's headers for $(KERNEL_FLAVOR) fetched into
# $(CACHE) by selftests/vm/fetch-kernel.sh.
ifeq ($(origin KDIR),undefined)
KDIR := $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(CACHE)/kernel/$(KERNEL_FLAVOR)/headers)
endif

override CFLAGS += -std=gnu11 -pthread -Wall -Wextra -Wshadow \
		   -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
override CPPFLAGS += -D_GNU_SOURCE -I$(CURDIR)/include -I$(CURDIR)/include/uapi \
		     -I$(CURDIR)/lib
LDLIBS		+= -pthread

ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(STATIC),1)
override LDFLAGS += -static
endif

.PHONY: all modules check vm-check clean install
all:

# Generic compile rule for every fragment: $(O)/path/x.o from path/x.c or .S.
$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

include lib/lib.mk
include tools/tools.mk
include tools/gwakectl/gwakectl.mk
include selftests/selftests.mk
include selftests/vm/vm.mk
include kmod/kmod.mk

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# The native run: the wake word's model (lib/wakeword.pml), every selftest, built with ASan and UBSan, on whatever
# backend this machine has (the userspace one on a host without the module;
# kmod variants then report SKIP and are not counted as passes). Then the
# same tests inside a VM with gwake.ko loaded.
check:
	$(MAKE) model-check
	$(MAKE) O=$(O)/san SAN=1 run-selftests
	$(MAKE) O=$(O)/san SAN=1 readme-check examples-check
	$(MAKE) vm-check

# The README's C examples must compile and run: each ```c block of
# README.md becomes $(O)/readme/exN.c, built against libgwake and run.
.PHONY: readme-check
readme-check: $(LIBGWAKE_A)
	@rm -rf $(O)/readme && mkdir -p $(O)/readme
	awk '/^```c$$/ { n++; f = sprintf("$(O)/readme/ex%d.c", n); on = 1; next } \
	     /^```$$/ { on = 0 } on { print > f }' README.md
	@set -e; n=0; for src in $(O)/readme/ex*.c; do \
		n=$$((n + 1)); exe=$${src%.c}; \
		$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $$exe $$src $(LIBGWAKE_A) \
			$(LIBGWAKE_LDLIBS) $(LDLIBS) -pthread; \
		echo "readme-check: $$src:"; ./$$exe > $$exe.out; sed 's/^/  /' $$exe.out; \
	done; [ $$n -ge 2 ] || { echo "readme-check: no C examples found" >&2; exit 1; }

# Fragments add their own clean-up and install steps as prerequisites.
clean:
	rm -rf $(O)

install: all
	install -d $(DESTDIR)$(PREFIX)/include/gwake $(DESTDIR)$(PREFIX)/include/linux
	install -m 644 include/gwake/*.h $(DESTDIR)$(PREFIX)/include/gwake/
	install -m 644 include/uapi/linux/gwake.h $(DESTDIR)$(PREFIX)/include/linux/
