#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh: install the Debian 12 packages gwake's build, tests,
# benchmarks and VM need. Idempotent and quiet when everything is present;
# run as root (it is a no-op for a non-root user who already has them).
#
# apt's package lists are refreshed every time it runs as root even when
# nothing is missing: the VM and the selftests fetch Debian's kernel
# packages and linux-source with `apt-get download`, which needs them.
# With --if-missing (make bench) it does nothing at all when every package
# is there.
set -euo pipefail

if_missing=0
[ "${1:-}" = --if-missing ] && if_missing=1

pkgs=(
	build-essential		# gcc, make, libc headers
	ca-certificates
	dpkg-dev		# dpkg-deb for the kernel/linux-source extracts
	cpio gzip xz-utils	# initramfs, linux-source tarball
	qemu-system-x86		# the VM that loads gwake.ko (>= 8: see below)
	busybox-static		# the VM's userland
	kmod			# insmod/rmmod (inside the VM, busybox's are used)
	liburcu-dev		# wfcqueue for the runtime's queues
	libnl-3-dev libnl-genl-3-dev pkg-config	# gwakectl (static archives included)
	golang-go		# the Go peer benchmarks
	gnuplot-nox		# make bench's plot
	perl			# checkpatch.pl
	spin			# make model-check (lib/wakeword.pml)
	bc flex bison libelf-dev	# Kbuild's host tools
	mandoc			# make man-lint: the man pages, mandoc -Tlint
	dkms			# make dkms-check: dkms.conf builds the module
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

# qemu 8 or later, from bookworm-backports on Debian 12 (10.0 there). Debian
# 12's own qemu 7.2 runs the VM's multi-threaded TCG with a cross-modifying
# code bug: after text_poke_bp() patched __schedule() on one vCPU (the
# static key that gwake.ko's preempt notifiers enable at load), another
# vCPU kept executing a stale translation with the int3, for ever, though
# memory held the final instruction (docs/testing.md). The VM soft-locked
# in 2 of 3 runs of module_test, whose every load flips that key; with
# 10.0, in none of 10.
qemu_new_enough() {
	local v
	v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null) &&
		dpkg --compare-versions "$v" ge 1:8
}
backports=0
if ! qemu_new_enough; then
	# shellcheck source=/dev/null
	if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
		backports=1
	fi
	[[ " ${missing[*]} " = *" qemu-system-x86 "* ]] || missing+=(qemu-system-x86)
fi

[ $if_missing = 1 ] && [ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	if [ ${#missing[@]} -gt 0 ]; then
		echo "install-deps.sh: missing packages (run as root): ${missing[*]}" >&2
		exit 1
	fi
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ $backports = 1 ]; then
	# Backports are pinned at priority 100: nothing else comes from there
	# unless asked for by name, as qemu is below.
	list=/etc/apt/sources.list.d/gwake-bookworm-backports.list
	[ -f "$list" ] ||
		echo "deb http://deb.debian.org/debian bookworm-backports main" > "$list"
fi
apt-get update -qq
if [ $backports = 1 ]; then
	# Not twice: qemu comes from backports alone, below.
	rest=()
	for p in "${missing[@]}"; do
		[ "$p" = qemu-system-x86 ] || rest+=("$p")
	done
	missing=("${rest[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}" >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $backports = 1 ]; then
	echo "install-deps.sh: installing qemu-system-x86 from bookworm-backports" >&2
	apt-get install -y -qq --no-install-recommends -t bookworm-backports \
		qemu-system-x86 >/dev/null
fi
if ! qemu_new_enough; then
	echo "install-deps.sh: qemu-system-x86 >= 8 is needed for the VM (have:" \
	     "$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || echo none))" >&2
	exit 1
fi
