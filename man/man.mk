# SPDX-License-Identifier: GPL-2.0
#
# man/: the manual pages, included by the top-level Makefile (it also
# works alone: make -f man/man.mk man-lint).
#
#   make man-lint        mandoc -Tlint -Wwarning on every page, failing on
#                        any warning; and every public function declared in
#                        include/gwake/gwake.h and include/gwake/rt.h must
#                        have a page or an alias page naming it, so that the
#                        pages cannot fall behind the headers
#   make install-man     every page into $(DESTDIR)$(MANDIR)/manN/, mode 644
#   make uninstall-man   remove exactly the files install-man installs
#
# Pages are man(7) source in the style of liburing's: one per function or
# small group (man3), the device (man4), the tools (man1, man8), and an
# overview of each API (gwake.3, grt.3). The second name of a group is an
# alias page of one line, ".so man3/<group>.3", installed as a file like
# any page. man-db and mandoc resolve .so from the root of the manual tree,
# so the lint runs from man/. mandoc warns about every .so ("fragile");
# that one message is the only one the lint accepts, and only from an
# alias page, which must consist of that one line and name a real page
# whose NAME line lists the alias. mandoc comes from tools/install-deps.sh.
#
# MAN_INSTALL_DIRS lists the manN directories install-man fills, for the
# top-level install-dirs/uninstall bookkeeping of directories it made.
# Guarded, so that `make -f Makefile -f man/man.mk` (the Makefile includes
# this file already) defines every target once.

ifndef GWAKE_MAN_MK
GWAKE_MAN_MK	:= 1

MAN_DIR		:= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
MAN_TOP		:= $(patsubst %/,%,$(dir $(MAN_DIR)))
MAN_PAGES	:= $(sort $(wildcard $(MAN_DIR)/man[1-9]/*))
MAN_HEADERS	:= $(MAN_TOP)/include/gwake/gwake.h $(MAN_TOP)/include/gwake/rt.h
MAN_SECTIONS	:= $(sort $(notdir $(patsubst %/,%,$(dir $(MAN_PAGES)))))

PREFIX		?= /usr/local
MANDIR		?= $(PREFIX)/share/man
MANDOC		?= mandoc
MAN_INSTALL_DIRS = $(addprefix $(MANDIR)/,$(MAN_SECTIONS))

.PHONY: man-lint install-man uninstall-man

# The public functions of the two headers: prototypes that start a line,
# "type name(" or "name(" (a return type on the line before); names with
# a double underscore (grt__*) are private.
MAN_FUNCS_CMD	= sed -n -E \
		  -e 's/^[a-z][a-z0-9_ ]*[ *](g(wake|rt)_[a-z0-9_]+)\(.*/\1/p' \
		  -e 's/^(g(wake|rt)_[a-z0-9_]+)\(.*/\1/p' $(MAN_HEADERS) | \
		  grep -v -E '^g(wake|rt)__' | sort -u

man-lint:
	@command -v $(MANDOC) >/dev/null || \
		{ echo "man-lint: $(MANDOC) not found (tools/install-deps.sh installs it)" >&2; exit 1; }
	@set -e; cd $(MAN_DIR); fail=0; pages=; aliases=; \
	for p in $(patsubst $(MAN_DIR)/%,%,$(MAN_PAGES)); do \
		if head -n 1 "$$p" | grep -q '^\.so '; then \
			aliases="$$aliases $$p"; else pages="$$pages $$p"; fi; \
	done; \
	[ -n "$$pages" ] || { echo "man-lint: no pages under $(MAN_DIR)/" >&2; exit 1; }; \
	$(MANDOC) -Tlint -Wwarning $$pages || fail=1; \
	for a in $$aliases; do \
		t=$$(sed -n -E '1s/^\.so (man[1-9]\/[A-Za-z0-9_.-]+\.[1-9])$$/\1/p' "$$a"); \
		if [ "$$(wc -l < "$$a")" -ne 1 ] || [ -z "$$t" ] || [ ! -f "$$t" ] || \
		   head -n 1 "$$t" | grep -q '^\.so '; then \
			echo "man-lint: $$a: an alias page is one line, .so manN/page.N, naming a real page" >&2; \
			fail=1; continue; \
		fi; \
		out=$$($(MANDOC) -Tlint -Wwarning "$$a" 2>&1 | grep -v 'WARNING: \.so is fragile' || true); \
		if [ -n "$$out" ]; then echo "$$out" >&2; fail=1; fi; \
	done; \
	exit $$fail
	@set -e; funcs=$$($(MAN_FUNCS_CMD)); fail=0; \
	[ -n "$$funcs" ] || { echo "man-lint: no function found in $(MAN_HEADERS)" >&2; exit 1; }; \
	for f in $$funcs; do \
		p=$(MAN_DIR)/man3/$$f.3; \
		if [ ! -f "$$p" ]; then \
			echo "man-lint: $$f() has no page: add $$p (or an alias: .so man3/<group>.3)" >&2; \
			fail=1; continue; \
		fi; \
		t=$$(sed -n -E '1s/^\.so (man[1-9]\/.+)$$/\1/p' "$$p"); \
		[ -z "$$t" ] || p=$(MAN_DIR)/$$t; \
		if ! sed -n '/^\.SH NAME/{n;p;q;}' "$$p" | grep -q -w -- "$$f"; then \
			echo "man-lint: $$f() is not in the NAME line of $$p" >&2; fail=1; \
		fi; \
	done; \
	[ $$fail = 0 ] && echo "man-lint: $(words $(MAN_PAGES)) pages, $$(echo $$funcs | wc -w) functions: OK"; \
	exit $$fail

install-man:
	@set -e; for p in $(MAN_PAGES); do \
		d="$(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$p))"; \
		echo "install -m 644 $$p $$d/"; \
		install -d "$$d"; install -m 644 "$$p" "$$d/"; \
	done

uninstall-man:
	@for p in $(MAN_PAGES); do \
		f="$(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$p))/$$(basename $$p)"; \
		echo "rm -f $$f"; rm -f "$$f"; \
	done

endif # GWAKE_MAN_MK
