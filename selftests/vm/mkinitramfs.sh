#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh: pack the initramfs of the gwake test VM.
#
#   mkinitramfs.sh --out FILE.cpio.gz --busybox BUSYBOX --module GWAKE.KO \
#                  --modules-dir LIB/MODULES/RELEASE --run-tests RUN_TESTS.SH \
#                  [--tests-list FILE] [--bin PROGRAM]... [TEST_PROGRAM_OR_FILE...]
#
# Test programs are what vm-check runs; --bin adds a static program to
# /usr/bin instead (vm-bench: gwake-bench and its Go peer, which must sit
# side by side). With --bin, the tests and --run-tests may be left out.
#
# The result (cpio newc, gzip) holds:
#   /init                            selftests/vm/init
#   /bin/busybox + applet links      a static busybox (busybox-static)
#   /lib/modules/gwake/              GWAKE.KO, the modules it depends on,
#                                    and load-order (dependencies first)
#   /selftests/                      the test programs (static binaries)
#                                    and the runner's data (settings)
#   /usr/libexec/gwake/run_tests.sh  the runner, outside /selftests so it
#                                    does not run itself
#   /usr/bin/                        the --bin programs (and applet links)
#   /etc/gwake-vm/kernel-problems    the log patterns /init checks
#
# The archive is reproducible: sorted names, owner 0:0, every mtime
# $SOURCE_DATE_EPOCH (default 0), no name or time in the gzip header. The
# staging tree is kept next to FILE (initramfs/) to look at when a run
# misbehaves (not FILE.d: the top-level Makefile includes every *.d).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out='' busybox='' module='' modules_dir='' run_tests='' tests_list=''
tests=() bins=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--busybox) busybox=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--modules-dir) modules_dir=$2; shift 2 ;;
	--run-tests) run_tests=$2; shift 2 ;;
	--tests-list) tests_list=$2; shift 2 ;;
	--bin) bins+=("$2"); shift 2 ;;
	--) shift; tests+=("$@"); break ;;
	-*) echo "mkinitramfs.sh: unknown option $1" >&2; exit 2 ;;
	*) tests+=("$1"); shift ;;
	esac
done
die() { echo "mkinitramfs.sh: $*" >&2; exit 1; }
if [ -z "$out" ] || [ -z "$busybox" ] || [ -z "$module" ] ||
   { [ -z "$run_tests" ] && [ ${#bins[@]} -eq 0 ]; }; then
	die "usage: see the comment at the top of $0"
fi
[ -f "$module" ] || die "no module $module (did the kmod build run?)"
[ -z "$run_tests" ] || [ -f "$run_tests" ] || die "no test runner $run_tests"
[ -x "$busybox" ] || die "no busybox at $busybox"
if [ -n "$tests_list" ]; then
	while read -r t; do
		[ -n "$t" ] && tests+=("$t")
	done < "$tests_list"
fi
[ ${#tests[@]} -gt 0 ] || [ ${#bins[@]} -gt 0 ] || die "no test programs given"
[ ${#tests[@]} -eq 0 ] || [ -n "$run_tests" ] || die "test programs need --run-tests"

stage=$(dirname "$out")/initramfs
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc/gwake-vm} \
	 "$stage"/{lib/modules/gwake,selftests,usr/libexec/gwake}

install -m 755 "$here/init" "$stage/init"
install -m 755 "$busybox" "$stage/bin/busybox"
# The applet links, where the binary itself says they go.
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	mkdir -p "$stage/$(dirname "$applet")"
	ln -sf /bin/busybox "$stage/$applet"
done
install -m 644 "$here/kernel-problems" "$stage/etc/gwake-vm/kernel-problems"
[ -z "$run_tests" ] || install -m 755 "$run_tests" "$stage/usr/libexec/gwake/run_tests.sh"

# The module, after the in-tree modules it needs (modinfo's "depends"),
# found in the kernel image package's /lib/modules, depth first.
order=()
add_module() {
	local ko=$1 dep f seen
	for seen in "${order[@]}"; do
		[ "$seen" = "$(basename "$ko")" ] && return 0
	done
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		[ -n "$modules_dir" ] || die "$ko needs $dep, and no --modules-dir was given"
		f=$(find "$modules_dir" \( -name "$dep.ko" -o -name "${dep//_/-}.ko" \) -print -quit)
		[ -n "$f" ] || die "$ko needs $dep.ko, not found under $modules_dir"
		add_module "$f"
	done
	install -m 644 "$ko" "$stage/lib/modules/gwake/$(basename "$ko")"
	order+=("$(basename "$ko")")
}
command -v modinfo > /dev/null || die "modinfo not found (apt-get install kmod)"
add_module "$module"
printf '%s\n' "${order[@]}" > "$stage/lib/modules/gwake/load-order"

# A dynamic binary would fail in the VM with a baffling "not found".
check_static() {
	if command -v readelf > /dev/null && readelf -l "$1" 2>/dev/null | grep -q INTERP; then
		die "$1 is dynamically linked; the VM has no libc (build with STATIC=1)"
	fi
}

# Executables are test programs; anything else (the kselftest "settings"
# file) is data the runner reads beside them.
nprogs=0
for t in "${tests[@]}"; do
	[ -f "$t" ] || die "$t is missing (did the selftests build run?)"
	if [ ! -x "$t" ]; then
		install -m 644 "$t" "$stage/selftests/$(basename "$t")"
		continue
	fi
	check_static "$t"
	install -m 755 "$t" "$stage/selftests/$(basename "$t")"
	nprogs=$((nprogs + 1))
done
[ ${#tests[@]} -eq 0 ] || [ "$nprogs" -gt 0 ] || die "no test programs among: ${tests[*]}"
for b in "${bins[@]}"; do
	[ -f "$b" ] && [ -x "$b" ] || die "$b is missing or not executable"
	check_static "$b"
	install -m 755 "$b" "$stage/usr/bin/$(basename "$b")"
done

find "$stage" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -6 > "$out.tmp"
mv "$out.tmp" "$out"
bins_note=''
[ ${#bins[@]} -eq 0 ] || bins_note=", ${#bins[@]} program(s) in /usr/bin"
echo "mkinitramfs.sh: $out: $(du -h "$out" | cut -f1), $nprogs test program(s)$bins_note, modules: ${order[*]}" >&2
