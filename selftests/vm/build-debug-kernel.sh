#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh CACHE: the debug kernel of KERNEL_FLAVOR=debug,
# built from Debian's linux-source-6.1 with selftests/vm/debug.config
# (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS, DEBUG_LIST, UBSAN,
# KMEMLEAK, full preemption) merged onto `make tinyconfig`.
#
# Leaves, as fetch-kernel.sh does for Debian's flavours:
#   CACHE/kernel/debug/vmlinuz    the kernel image to boot in QEMU
#   CACHE/kernel/debug/headers    a usable KDIR for out-of-tree modules
#                                 (the kernel's build tree)
#   CACHE/kernel/debug/release    the kernel release (uname -r)
#   CACHE/kernel/debug/root/lib/modules/RELEASE   (empty: all built in)
#
# The build itself lives outside the clone, in $GWAKE_DEBUG_KERNEL_CACHE
# (default /var/cache/gwake/debug-kernel), under a key made of the config
# fragment, this script, the linux-source-6.1 version and the compiler:
# a CI run on the same machine, or another clone, reuses it, and it is
# rebuilt only when one of those changes (older builds are removed then).
# Concurrent runs wait for each other (flock). From scratch on a 2-CPU
# machine: about 8 minutes (docs/testing.md). Needs apt's package lists,
# dpkg-deb and the kernel's build tools (tools/install-deps.sh).
set -euo pipefail

cache=${1:?usage: build-debug-kernel.sh CACHE}
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/debug.config
store=${GWAKE_DEBUG_KERNEL_CACHE:-/var/cache/gwake/debug-kernel}
jobs=${GWAKE_DEBUG_KERNEL_JOBS:-$(nproc)}

say() { echo "build-debug-kernel.sh: $*" >&2; }

version=$(apt-cache policy linux-source-6.1 | awk '$1 == "Candidate:" { print $2 }')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	say "apt knows no linux-source-6.1; run apt-get update"
	exit 1
fi
cc_version=$(${CC:-gcc} --version | head -n 1)
key=$( { cat "$fragment" "$0"; echo "$version"; echo "$cc_version"; } |
	sha256sum | cut -c1-16)
build=$store/$key

mkdir -p "$store"
exec 9> "$store/.lock"
flock 9

if [ ! -f "$build/done" ]; then
	start=$(date +%s)
	# One build kept: a new key replaces the old ones.
	find "$store" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	mkdir -p "$build/dl"
	say "linux-source-6.1 $version, $cc_version, $jobs jobs, into $build"
	(cd "$build/dl" && apt-get download -q linux-source-6.1 2>&1 |
		grep -v '^W: Download is performed unsandboxed' >&2 || true)
	deb=$(ls "$build"/dl/linux-source-6.1_*.deb)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -O ./usr/src/linux-source-6.1.tar.xz | tar -xJ -C "$build"
	rm -rf "$build/dl"
	src=$build/linux-source-6.1
	obj=$build/obj
	make -s -C "$src" O="$obj" tinyconfig > /dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment" > /dev/null
	make -s -C "$src" O="$obj" olddefconfig > /dev/null
	# Every option of the fragment, as written: a typo or an unmet
	# dependency would otherwise drop a checker silently.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want=$line ;;
		"# CONFIG_"*" is not set") want=$line ;;
		*) continue ;;
		esac
		if ! grep -qxF "$want" "$obj/.config"; then
			opt=${want#\# }
			opt=${opt%%[= ]*}
			say "debug.config: '$want' did not hold; .config has:" \
			    "$(grep -E "^$opt=|^# $opt is not set" "$obj/.config" || echo nothing)"
			bad=1
		fi
	done < "$fragment"
	[ "$bad" -eq 0 ] || exit 1
	make -s -C "$src" O="$obj" -j"$jobs" all > "$build/build.log" 2>&1 || {
		tail -n 40 "$build/build.log" >&2
		say "the kernel build failed (log: $build/build.log)"
		exit 1
	}
	echo "$(( $(date +%s) - start ))" > "$build/seconds"
	touch "$build/done"
	say "built in $(cat "$build/seconds") s"
fi

obj=$build/obj
release=$(cat "$obj/include/config/kernel.release")
dir=$cache/kernel/debug
rm -rf "$dir"
mkdir -p "$dir/root/lib/modules/$release"
ln -sfn "$obj/arch/x86/boot/bzImage" "$dir/vmlinuz"
ln -sfn "$obj" "$dir/headers"
echo "$release" > "$dir/release"
echo "$key" > "$dir/stamp"
