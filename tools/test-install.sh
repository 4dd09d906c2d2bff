#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-install.sh: what `make install-check` runs. Installs gwake with
# PREFIX=/usr into a fresh temporary DESTDIR, checks the files a user of
# the library needs are there, builds a small program with nothing but
# `pkg-config --cflags --libs gwake` (pointed into the DESTDIR), shared and
# then fully static with `pkg-config --static`, runs both, and checks that
# `make uninstall` with the same variables leaves nothing behind but the
# DESTDIR's /usr (PREFIX itself is never removed). Then the same for
# install-udev and uninstall-udev.
#
# Environment (the Makefile sets them): MAKE, O (absolute build tree),
# GWAKE_VERSION (the version in include/gwake/gwake.h).
set -euo pipefail
# (No `cmd | grep -q`: with pipefail, grep -q's early exit can fail cmd with
# SIGPIPE; grep >/dev/null reads all of it.)

top=$(cd "$(dirname "$0")/.." && pwd)
make=${MAKE:-make}
version=${GWAKE_VERSION:?GWAKE_VERSION not set (run make install-check)}
O=${O:?O not set (run make install-check)}
prefix=/usr

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwake-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fail() {
	echo "install-check: $*" >&2
	exit 1
}

vars=(O="$O" PREFIX="$prefix" DESTDIR="$dest")
echo "install-check: make install ${vars[*]}"
"$make" -C "$top" --no-print-directory "${vars[@]}" install >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install failed"; }

# The library's directory, as the Makefile chose it (multiarch or not).
pc=$(find "$dest" -name gwake.pc)
if [ -z "$pc" ] || [ "$(wc -l <<<"$pc")" != 1 ]; then
	fail "not one gwake.pc installed: '$pc'"
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
case $libdir in
"$dest$prefix"/lib | "$dest$prefix"/lib/*-*-*) ;;
*) fail "libgwake installed in ${libdir#"$dest"}, not $prefix/lib[/triplet]" ;;
esac

for f in include/gwake/gwake.h include/gwake/rt.h include/linux/gwake.h \
	 bin/gwakectl bin/gwake-bench \
	 share/doc/gwake/COPYING share/doc/gwake/GPL-2.0 share/doc/gwake/LGPL-2.1; do
	[ -f "$dest$prefix/$f" ] || fail "$prefix/$f not installed"
done
if [ -f "$top/man/man.mk" ]; then
	for f in share/man/man3/gwake.3 share/man/man3/gwake_version.3 share/man/man8/gwakectl.8; do
		[ -f "$dest$prefix/$f" ] || fail "$prefix/$f not installed"
	done
fi
for f in libgwake.a "libgwake.so.1.${version#*.}"; do
	[ -f "$libdir/$f" ] || fail "${libdir#"$dest"}/$f not installed"
done
[ "$(readlink "$libdir/libgwake.so.1")" = "libgwake.so.1.${version#*.}" ] ||
	fail "libgwake.so.1 does not point to libgwake.so.1.${version#*.}"
[ "$(readlink "$libdir/libgwake.so")" = libgwake.so.1 ] ||
	fail "libgwake.so does not point to libgwake.so.1"
readelf -d "$libdir/libgwake.so.1" | grep 'SONAME.*\[libgwake\.so\.1\]' >/dev/null ||
	fail "libgwake.so.1 has no SONAME libgwake.so.1"
objdump -T "$libdir/libgwake.so.1" | grep -E '[[:space:]]GWAKE_1\.3[[:space:]]+gwake_version$' >/dev/null ||
	fail "libgwake.so.1 does not export gwake_version@@GWAKE_1.3"
"$dest$prefix/bin/gwake-bench" --version | grep -x "gwake-bench $version" >/dev/null ||
	fail "gwake-bench --version does not print 'gwake-bench $version'"

# pkg-config sees only the DESTDIR's gwake.pc and prefixes its paths with
# the DESTDIR. It drops -I/usr/include and -L/usr/lib/<triplet> as system
# directories, which here they are not.
export PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
[ "$(pkg-config --modversion gwake)" = "$version" ] ||
	fail "pkg-config --modversion gwake is '$(pkg-config --modversion gwake)', not $version"

# The wake word across two threads, the runtime (which a static link pulls
# in only when called, with what Libs.private lists) and the version of
# both the headers and the library.
cat >"$tmp/prog.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <gwake/gwake.h>
#include <gwake/rt.h>

static gwake_t waiter;
static int ran;

static void *waker(void *arg)
{
	(void)arg;
	gwake_wake(waiter);
	return NULL;
}

static void main_g(void *arg)
{
	(void)arg;
	ran = 1;
}

int main(void)
{
	struct grt_config cfg = { .nprocs = 2 };
	pthread_t t;

	if (strcmp(gwake_version(), GWAKE_VERSION)) {
		fprintf(stderr, "headers %s, library %s\n", GWAKE_VERSION, gwake_version());
		return 1;
	}
	if (gwake_self(&waiter) || pthread_create(&t, NULL, waker, NULL))
		return 1;
	while (gwake_block(-1) != 0)
		;
	pthread_join(t, NULL);
	if (grt_run(&cfg, main_g, NULL) || !ran)
		return 1;
	printf("gwake %s\n", gwake_version());
	return 0;
}
EOF
cc=${CC:-cc}
# shellcheck disable=SC2046 # pkg-config's output is a list of words
"$cc" -Wall -Werror -o "$tmp/prog-shared" "$tmp/prog.c" $(pkg-config --cflags --libs gwake) ||
	fail "shared build with pkg-config --cflags --libs gwake failed"
# shellcheck disable=SC2046
"$cc" -Wall -Werror -static -o "$tmp/prog-static" "$tmp/prog.c" \
	$(pkg-config --static --cflags --libs gwake) 2>"$tmp/static.log" ||
	{ cat "$tmp/static.log" >&2; fail "static build with pkg-config --static failed"; }

out=$(LD_LIBRARY_PATH=$libdir "$tmp/prog-shared") || fail "the shared program failed"
[ "$out" = "gwake $version" ] || fail "the shared program printed '$out'"
LD_LIBRARY_PATH=$libdir ldd "$tmp/prog-shared" | grep "=> $libdir/libgwake.so.1 " >/dev/null ||
	fail "the shared program does not load ${libdir#"$dest"}/libgwake.so.1"
echo "install-check: shared: $out"
out=$("$tmp/prog-static") || fail "the static program failed"
[ "$out" = "gwake $version" ] || fail "the static program printed '$out'"
file "$tmp/prog-static" | grep 'statically linked' >/dev/null || fail "prog-static is not static"
echo "install-check: static: $out"

echo "install-check: make uninstall ${vars[*]}"
"$make" -C "$top" --no-print-directory "${vars[@]}" uninstall >"$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log" >&2; fail "make uninstall failed"; }
left=$(cd "$dest" && find . -mindepth 1 ! -path ./usr)
[ -z "$left" ] || fail "make uninstall left behind in DESTDIR:"$'\n'"$left"

echo "install-check: make install-udev / uninstall-udev DESTDIR=$dest"
"$make" -C "$top" --no-print-directory "${vars[@]}" install-udev >/dev/null
[ -f "$dest/usr/lib/udev/rules.d/60-gwake.rules" ] || fail "60-gwake.rules not installed"
"$make" -C "$top" --no-print-directory "${vars[@]}" uninstall-udev >/dev/null
left=$(cd "$dest" && find . ! -type d)
[ -z "$left" ] || fail "make uninstall-udev left behind in DESTDIR:"$'\n'"$left"
echo "install-check: passed"
