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
#
# Installing (the README's "Using the module on a real host"):
#   make install [PREFIX=/usr/local] [DESTDIR=]   headers, libgwake.so.1 and
#                     libgwake.a, gwake.pc, gwakectl, gwake-bench, licences,
#                     man pages; make uninstall removes exactly that
#   make modules_install [INSTALL_MOD_PATH=]       gwake.ko for $(KDIR)
#   make install-udev [UDEVDIR=]                   the /dev/gwake rule
#   make dkms-source [DKMS_SRCDIR=/usr/src]        the module's DKMS source
#   make install-check, make dkms-check             tests of the above

O		?= build
CACHE		?= $(CURDIR)/.cache
KERNEL_FLAVOR	?= generic
DESTDIR		?=

# Where make install puts things. LIBDIR has Debian's multiarch triplet
# (lib/x86_64-linux-gnu), where the dynamic linker and pkg-config look,
# when the toolchain knows one. All are recursive, so PREFIX=... on the
# command line moves every default; the triplet is computed once, on
# first use.
PREFIX		?= /usr/local
GWAKE_MULTIARCH	= $(eval GWAKE_MULTIARCH := $(shell \
			dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || \
			$(CC) -print-multiarch 2>/dev/null))$(GWAKE_MULTIARCH)
LIBDIR		?= $(PREFIX)/lib$(if $(GWAKE_MULTIARCH),/$(GWAKE_MULTIARCH))
INCLUDEDIR	?= $(PREFIX)/include
BINDIR		?= $(PREFIX)/bin
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/gwake
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
# udev reads its rules from /usr/lib and /etc only, whatever PREFIX is.
UDEVDIR		?= /usr/lib/udev/rules.d
DKMS_SRCDIR	?= /usr/src

# The version is written in one place, GWAKE_VERSION_MAJOR/MINOR/PATCH of
# include/gwake/gwake.h; everything else (gwake.pc, the shared object's
# file name, the DKMS source, gwake.ko's MODULE_VERSION through
# kmod/Kbuild, which reads it the same way) is derived from it.
GWAKE_VERSION	:= $(shell awk '$$1 ~ /^.define$$/ { v[$$2] = $$3 } END { \
		     a = v["GWAKE_VERSION_MAJOR"]; b = v["GWAKE_VERSION_MINOR"]; \
		     c = v["GWAKE_VERSION_PATCH"]; \
		     if (a ~ /^[0-9]+$$/ && b ~ /^[0-9]+$$/ && c ~ /^[0-9]+$$/) \
			print a "." b "." c }' include/gwake/gwake.h)
ifeq ($(GWAKE_VERSION),)
$(error no GWAKE_VERSION_MAJOR/MINOR/PATCH in include/gwake/gwake.h)
endif
GWAKE_VERSION_MAJOR := $(word 1,$(subst ., ,$(GWAKE_VERSION)))
GWAKE_VERSION_MINOR := $(word 2,$(subst ., ,$(GWAKE_VERSION)))
GWAKE_VERSION_PATCH := $(word 3,$(subst ., ,$(GWAKE_VERSION)))

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

.PHONY: all modules check vm-check clean install uninstall version FORCE
all:
FORCE:

# make -s version: the version, for scripts (dkms add gwake/$(make -s version)).
version:
	@echo $(GWAKE_VERSION)

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

# man/: the manual pages (install-man, uninstall-man, man-lint).
include man/man.mk
install: install-man
uninstall: uninstall-man
install-man: | install-dirs

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# The native run: the wake word's model (lib/wakeword.pml), every selftest, built with ASan and UBSan, on whatever
# backend this machine has (the userspace one on a host without the module;
# kmod variants then report SKIP and are not counted as passes). Then the
# same tests inside a VM with gwake.ko loaded.
check:
	$(MAKE) model-check
	$(MAKE) O=$(O)/san SAN=1 run-selftests
	$(MAKE) O=$(O)/san SAN=1 readme-check examples-check
	$(MAKE) install-check
	$(MAKE) dkms-check
	$(MAKE) man-lint
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

# Fragments add their own clean-up, install and uninstall steps as
# prerequisites.
clean:
	rm -rf $(O)

# make install: every fragment's install-* step (lib-install,
# install-gwakectl, install-bench, install-man) and the headers and
# licences below, into directories that install-dirs made first (man.mk's
# MAN_INSTALL_DIRS among them).
#
# make uninstall removes the same files, then the directories install made
# that are empty again, never $(PREFIX) itself nor a directory that was
# already there (/usr/local/bin, say). install-dirs knows which it made: it
# writes them to $(DOCDIR)/installed-dirs, which a later install extends
# and uninstall reads (and removes). Without that file (an install by an
# older tree), only gwake's own directories are removed.
GWAKE_INSTALL_DIRS = $(INCLUDEDIR)/gwake $(INCLUDEDIR)/linux $(LIBDIR) \
		     $(PKGCONFIGDIR) $(BINDIR) $(DOCDIR) $(MAN_INSTALL_DIRS)
GWAKE_DIRS_LIST	= $(DESTDIR)$(DOCDIR)/installed-dirs
GWAKE_HEADERS	:= $(notdir $(wildcard include/gwake/*.h))
GWAKE_LICENSES	:= COPYING LICENSES/GPL-2.0 LICENSES/LGPL-2.1

.PHONY: install-dirs install-headers install-docs
install: install-headers install-docs
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi

install-dirs:
	@set -e; made=; \
	for d in $(GWAKE_INSTALL_DIRS); do \
		while [ "$$d" != "$(PREFIX)" ] && [ "$$d" != / ] && [ "$$d" != . ] && \
		      [ ! -d "$(DESTDIR)$$d" ]; do \
			made="$$made $$d"; d=$$(dirname "$$d"); \
		done; \
	done; \
	for d in $(GWAKE_INSTALL_DIRS); do install -d "$(DESTDIR)$$d"; done; \
	if [ -n "$$made" ]; then \
		{ cat $(GWAKE_DIRS_LIST) 2>/dev/null || true; printf '%s\n' $$made; } | \
			sort -u > $(GWAKE_DIRS_LIST).tmp; \
		mv $(GWAKE_DIRS_LIST).tmp $(GWAKE_DIRS_LIST); \
	fi

install-headers: | install-dirs
	install -m 644 $(addprefix include/gwake/,$(GWAKE_HEADERS)) $(DESTDIR)$(INCLUDEDIR)/gwake/
	install -m 644 include/uapi/linux/gwake.h $(DESTDIR)$(INCLUDEDIR)/linux/

install-docs: | install-dirs
	install -m 644 $(GWAKE_LICENSES) $(DESTDIR)$(DOCDIR)/

# Directories deepest first (a path sorts after its parent), each removed
# only if empty; a sort -r of the list does that.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/gwake/,$(GWAKE_HEADERS)) \
	      $(DESTDIR)$(INCLUDEDIR)/linux/gwake.h \
	      $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(GWAKE_LICENSES)))
	@set -e; \
	if [ -f $(GWAKE_DIRS_LIST) ]; then \
		dirs=$$(sort -r $(GWAKE_DIRS_LIST)); rm -f $(GWAKE_DIRS_LIST); \
	else \
		dirs="$(DOCDIR) $(INCLUDEDIR)/gwake"; \
	fi; \
	for d in $$dirs; do \
		[ "$$d" = "$(PREFIX)" ] || rmdir "$(DESTDIR)$$d" 2>/dev/null || true; \
	done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi

# make install-check: tools/test-install.sh installs into a temporary
# DESTDIR with PREFIX=/usr, builds a program with nothing but
# `pkg-config --cflags --libs gwake` (shared, and static with --static),
# runs both, and checks that make uninstall leaves nothing behind.
.PHONY: install-check
install-check:
	MAKE="$(MAKE)" O="$(abspath $(O))" GWAKE_VERSION=$(GWAKE_VERSION) \
		tools/test-install.sh

# The /dev/gwake rule: not part of make install, which can run without
# root into $(PREFIX); udev reads only /usr/lib/udev/rules.d and
# /etc/udev/rules.d. It takes effect when the module is next loaded (or
# after `udevadm trigger --name-match=gwake`).
.PHONY: install-udev uninstall-udev
install-udev:
	install -d $(DESTDIR)$(UDEVDIR)
	install -m 644 udev/60-gwake.rules $(DESTDIR)$(UDEVDIR)/
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null; then \
		udevadm control --reload-rules 2>/dev/null || true; fi

uninstall-udev:
	rm -f $(DESTDIR)$(UDEVDIR)/60-gwake.rules

# make modules_install: Kbuild's own, for the kernel of $(KDIR), into
# $(INSTALL_MOD_PATH)/lib/modules/<release>/$(INSTALL_MOD_DIR) (Kbuild's
# default directory for external modules is extra/; the top-level Kbuild
# makes that extra/kmod/gwake.ko). Debian's headers have no System.map, so
# Kbuild skips depmod; it is run here, for the release the module was built
# for (its vermagic), so that modprobe finds the module. Needs no more than
# the headers; no running kernel.
# A kernel built with CONFIG_MODULE_SIG_ALL (Debian's) makes Kbuild try to
# sign with a key its headers do not ship: it says so and installs the
# module unsigned, which loads unless module.sig_enforce (Secure Boot).
INSTALL_MOD_PATH ?=
INSTALL_MOD_DIR	?=
.PHONY: modules_install
modules_install: modules
	$(KBUILD_MAKE) -C $(KDIR) M=$(CURDIR) \
		$(if $(INSTALL_MOD_PATH),INSTALL_MOD_PATH=$(abspath $(INSTALL_MOD_PATH))) \
		$(if $(INSTALL_MOD_DIR),INSTALL_MOD_DIR=$(INSTALL_MOD_DIR)) modules_install
	@release=$$(modinfo -F vermagic kmod/gwake.ko | cut -d' ' -f1); \
	if command -v depmod >/dev/null; then \
		echo "depmod $(if $(INSTALL_MOD_PATH),-b $(abspath $(INSTALL_MOD_PATH)) )$$release"; \
		depmod $(if $(INSTALL_MOD_PATH),-b $(abspath $(INSTALL_MOD_PATH))) $$release; \
	else \
		echo "modules_install: no depmod: run 'depmod -a $$release' before modprobe" >&2; \
	fi

# DKMS (dkms.conf at the top): make dkms-source copies what Kbuild needs to
# build gwake.ko (Kbuild, kmod/, the two headers) and the licences to
# $(DESTDIR)$(DKMS_SRCDIR)/gwake-$(GWAKE_VERSION), with dkms.conf's
# #MODULE_VERSION# replaced by the version (as Debian's dh_dkms does);
# then `dkms add gwake/$(GWAKE_VERSION)` and `dkms install
# gwake/$(GWAKE_VERSION)`. Copying the whole tree instead (dkms add .)
# would also copy build/ and .cache/.
DKMS_SRC	= $(DESTDIR)$(DKMS_SRCDIR)/gwake-$(GWAKE_VERSION)
DKMS_FILES	= Kbuild kmod/Kbuild $(KMOD_SRCS) include/uapi/linux/gwake.h \
		  include/gwake/gwake.h $(GWAKE_LICENSES)

.PHONY: dkms-source dkms-check
dkms-source:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	tar -cf - $(DKMS_FILES) | tar -xf - -C $(DKMS_SRC)
	sed 's/#MODULE_VERSION#/$(GWAKE_VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf

# make dkms-check: dkms add, build and remove the module for the VM's
# kernel ($(KERNEL_FLAVOR), headers fetched into $(CACHE)), with DKMS's
# trees under $(O)/dkms: nothing in /usr/src, /var/lib/dkms or /lib/modules,
# no running kernel's headers (tools/dkms-check.sh). The make that DKMS
# runs must not see our command line (O=, as kmod/kmod.mk explains).
DKMS_CHECK_DIR	= $(abspath $(O))/dkms
dkms-check:
	selftests/vm/fetch-kernel.sh $(KERNEL_FLAVOR) $(CACHE)
	rm -rf $(DKMS_CHECK_DIR)
	$(MAKE) --no-print-directory dkms-source DESTDIR= DKMS_SRCDIR=$(DKMS_CHECK_DIR)/src
	env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS \
		tools/dkms-check.sh $(GWAKE_VERSION) $(DKMS_CHECK_DIR) \
		$(CACHE)/kernel/$(KERNEL_FLAVOR)/headers \
		$$(cat $(CACHE)/kernel/$(KERNEL_FLAVOR)/release)
