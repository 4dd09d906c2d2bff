# SPDX-License-Identifier: GPL-2.0
#
# libgwake: the wake word library (lib/*.c) and the G-M-P runtime
# (lib/rt/, whose fragment lib/rt/rt.mk appends RT_SRCS and may add
# LIBGWAKE_LDLIBS), built as
#
#   $(LIBGWAKE_A)    $(O)/lib/libgwake.a         what tests, tools and the VM
#                                                link: $(LIBGWAKE_A)
#                                                $(LIBGWAKE_LDLIBS) -pthread
#   $(LIBGWAKE_SO)   $(O)/lib/libgwake.so.1.M.P  soname libgwake.so.1, symbol
#                                                versions from lib/libgwake.map
#                                                (M.P: GWAKE_VERSION's minor
#                                                and patch numbers)
#   $(LIBGWAKE_PC)   $(O)/gwake.pc               pkg-config file for the
#                                                install paths (Makefile)
#
# The archive uses the ordinary objects, $(O)/lib/...o from the generic
# rules (position independent only as far as the compiler's default PIE
# makes them, and with the cheapest TLS model). The shared object needs
# -fPIC, so it gets its own tree of objects, $(O)/pic/lib/...o, compiled
# from the same sources with -fPIC added: twice the compile time of a
# small library, no PIC cost in static links. STATIC=1 (the VM's fully
# static binaries) skips the shared object and its tree.

LIBGWAKE_SRCS := lib/backend.c lib/kmod.c lib/slots.c lib/spin.c lib/user.c \
		 lib/version.c
LIBGWAKE_LDLIBS :=
RT_SRCS :=
-include lib/rt/rt.mk

LIBGWAKE_ALL_SRCS := $(sort $(LIBGWAKE_SRCS) $(RT_SRCS))
LIBGWAKE_OBJS := $(addprefix $(O)/,$(addsuffix .o,$(basename $(LIBGWAKE_ALL_SRCS))))
LIBGWAKE_PIC_OBJS := $(addprefix $(O)/pic/,$(addsuffix .o,$(basename $(LIBGWAKE_ALL_SRCS))))

LIBGWAKE_A := $(O)/lib/libgwake.a
LIBGWAKE_SONAME := libgwake.so.1
LIBGWAKE_SO := $(O)/lib/$(LIBGWAKE_SONAME).$(GWAKE_VERSION_MINOR).$(GWAKE_VERSION_PATCH)
LIBGWAKE_PC := $(O)/gwake.pc
LIBGWAKE_MAP := lib/libgwake.map

# -z defs catches a missing LIBGWAKE_LDLIBS at link time; the sanitizers'
# runtime symbols are resolved by the executable, so not with SAN=1.
LIBGWAKE_SO_LDFLAGS := -shared -Wl,-soname,$(LIBGWAKE_SONAME) \
		       -Wl,--version-script=$(LIBGWAKE_MAP)
ifneq ($(SAN),1)
LIBGWAKE_SO_LDFLAGS += -Wl,-z,defs
endif

.PHONY: lib lib-install lib-uninstall
all: lib
install: lib-install
uninstall: lib-uninstall

ifeq ($(STATIC),1)
lib: $(LIBGWAKE_A) $(LIBGWAKE_PC)
else
lib: $(LIBGWAKE_A) $(O)/lib/libgwake.so $(LIBGWAKE_PC)
endif

$(LIBGWAKE_A): $(LIBGWAKE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(O)/pic/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(LIBGWAKE_SO): $(LIBGWAKE_PIC_OBJS) $(LIBGWAKE_MAP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC $(LDFLAGS) $(LIBGWAKE_SO_LDFLAGS) -o $@ \
		$(LIBGWAKE_PIC_OBJS) $(LIBGWAKE_LDLIBS) -pthread

$(O)/lib/$(LIBGWAKE_SONAME): $(LIBGWAKE_SO)
	ln -sf $(notdir $<) $@

$(O)/lib/libgwake.so: $(O)/lib/$(LIBGWAKE_SONAME)
	ln -sf $(notdir $<) $@

# gwake.pc: Libs.private is what a static link against libgwake.a needs
# beyond -lgwake, that is $(LIBGWAKE_LDLIBS) and -pthread. liburcu's
# wfcqueue, which the runtime uses, is header-only here (_LGPL_SOURCE: its
# functions are inlined), so neither the archive nor the shared object
# needs a liburcu library, and neither do programs: the installed headers
# do not include liburcu's. The file is rewritten on every make (it is
# tiny) because PREFIX and the directories may change without any file
# changing; make install takes it from here.
GWAKE_PC_PREFIX = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

$(LIBGWAKE_PC): gwake.pc.in FORCE
	@mkdir -p $(@D)
	@sed -e '/^##/d' -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(call GWAKE_PC_PREFIX,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call GWAKE_PC_PREFIX,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(GWAKE_VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(strip $(LIBGWAKE_LDLIBS) -pthread)|' \
	    gwake.pc.in > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# The shared object is installed under its full name with the soname link
# (what ldconfig would make) and the link for -lgwake; STATIC=1 builds no
# shared object, so installs only the archive.
lib-install: lib | install-dirs
	install -m 644 $(LIBGWAKE_A) $(DESTDIR)$(LIBDIR)/
ifneq ($(STATIC),1)
	install -m 755 $(LIBGWAKE_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBGWAKE_SO)) $(DESTDIR)$(LIBDIR)/$(LIBGWAKE_SONAME)
	ln -sf $(LIBGWAKE_SONAME) $(DESTDIR)$(LIBDIR)/libgwake.so
endif
	install -m 644 $(LIBGWAKE_PC) $(DESTDIR)$(PKGCONFIGDIR)/gwake.pc

lib-uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libgwake.a $(DESTDIR)$(LIBDIR)/libgwake.so \
	      $(DESTDIR)$(LIBDIR)/$(LIBGWAKE_SONAME) \
	      $(DESTDIR)$(LIBDIR)/$(notdir $(LIBGWAKE_SO)) \
	      $(DESTDIR)$(PKGCONFIGDIR)/gwake.pc

# Models spin explores exhaustively (safety; a few seconds each). Needs
# Debian's spin. lib/wakeword.pml: the wake word, one owner and two wakers
# over a reused slot. lib/rt/tcallidle.pml: a thread-call server's idle
# mark against the deadlock check. lib/rt/idlegq.pml: an M going idle
# against a readier that uses the global queue. The last two are also
# built with the code they replaced (-DOLD_ORDER, -DNO_RECHECK), and spin
# must find the bug there: a model that stopped seeing its race would not
# pass unnoticed.
MODELS := lib/wakeword.pml lib/rt/tcallidle.pml lib/rt/idlegq.pml

# $(call model_run,model,spin flags,want): want is pass or fail.
define model_run
	(cd $(O)/model && rm -f pan pan.c pan.out && \
	spin -a $(2) $(CURDIR)/$(1) >/dev/null && \
	$(CC) -O2 -DSAFETY -w -o pan pan.c && ./pan > pan.out; \
	rc=$$?; echo "$(strip $(1) $(2)): $$(grep -oE 'errors: [0-9]+' pan.out) (want $(3))"; \
	if [ $$rc -ne 0 ] || ! grep -q 'errors: 0' pan.out; then r=fail; else r=pass; fi; \
	if [ $$r != $(3) ]; then cat pan.out; \
		echo "model-check: $(strip $(1) $(2)): expected $(3), got $$r" >&2; exit 1; fi)
endef

.PHONY: model-check
model-check:
	@mkdir -p $(O)/model
	@$(foreach m,$(MODELS),$(call model_run,$(m),,pass) &&) true
	@$(call model_run,lib/rt/tcallidle.pml,-DOLD_ORDER,fail)
	@$(call model_run,lib/rt/idlegq.pml,-DNO_RECHECK,fail)
