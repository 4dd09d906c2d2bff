# SPDX-License-Identifier: GPL-2.0
#
# tools/gwakectl: gwakectl, which reads gwake.ko's generic netlink family
# (statistics, registered threads) through libnl-genl-3; included by the
# top-level Makefile.
#
#   make gwakectl                $(O)/tools/gwakectl (part of `make`)
#   make install                 also installs it in $(BINDIR)
#
# libnl comes from Debian's libnl-3-dev and libnl-genl-3-dev, found with
# pkg-config (tools/install-deps.sh installs all three); without pkg-config
# the Debian paths are assumed. Debian ships libnl's static archives, so
# STATIC=1 (the VM's tree) links gwakectl fully static like everything
# else there, with `pkg-config --static`. The static link prints glibc's
# warnings about getaddrinfo() and getprotobyname() in libnl-3.a's address
# helpers: gwakectl never calls them.
#
# One source file, compiled and linked in one step: $(O)/tools/gwakectl is
# the program, so it cannot also be the directory of an object file.

GWAKECTL	:= $(O)/tools/gwakectl
PKG_CONFIG	?= pkg-config
LIBNL_PC	:= libnl-genl-3.0
LIBNL_CFLAGS	:= $(or $(shell $(PKG_CONFIG) --cflags $(LIBNL_PC) 2>/dev/null),\
		     -I/usr/include/libnl3)
LIBNL_LIBS	:= $(or $(shell $(PKG_CONFIG) $(if $(filter 1,$(STATIC)),--static) \
			    --libs $(LIBNL_PC) 2>/dev/null),-lnl-genl-3 -lnl-3)

.PHONY: gwakectl
all: gwakectl
gwakectl: $(GWAKECTL)

$(GWAKECTL): tools/gwakectl/gwakectl.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(LIBNL_CFLAGS) $(CFLAGS) $(LDFLAGS) -MMD -MP -MT $@ \
		-MF $@.d -o $@ $< $(LIBNL_LIBS) $(LDLIBS)

.PHONY: install-gwakectl uninstall-gwakectl
install: install-gwakectl
uninstall: uninstall-gwakectl
install-gwakectl: $(GWAKECTL) | install-dirs
	install -m 755 $(GWAKECTL) $(DESTDIR)$(BINDIR)/

uninstall-gwakectl:
	rm -f $(DESTDIR)$(BINDIR)/gwakectl
