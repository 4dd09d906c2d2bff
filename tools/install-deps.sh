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
	qemu-system-x86		# the VM that loads gwake.ko
	busybox-static		# the VM's userland
	kmod			# insmod/rmmod (inside the VM, busybox's are used)
	liburcu-dev		# wfcqueue for the runtime's queues
	libnl-3-dev libnl-genl-3-dev pkg-config	# gwakectl (static archives included)
	golang-go		# the Go peer benchmarks
	gnuplot-nox		# make bench's plot
	perl			# checkpatch.pl
	spin			# make model-check (lib/wakeword.pml)
	bc flex bison libelf-dev	# Kbuild's host tools
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

[ $if_missing = 1 ] && [ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	if [ ${#missing[@]} -gt 0 ]; then
		echo "install-deps.sh: missing packages (run as root): ${missing[*]}" >&2
		exit 1
	fi
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}" >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
