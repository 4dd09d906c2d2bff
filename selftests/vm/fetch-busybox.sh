#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-busybox.sh CACHE: print the path of a static busybox for the VM.
#
# Debian's busybox-static if it is installed (/bin/busybox), else the same
# package fetched with apt-get download and extracted into
# CACHE/busybox-static (no system-wide install; needs apt-get update once).
# Idempotent: a second run with the same candidate version downloads
# nothing.
set -euo pipefail

cache=${1:?usage: fetch-busybox.sh CACHE}
pkg=busybox-static

is_static() {
	# No program interpreter means no dynamic loader to look for in the VM.
	[ -x "$1" ] && ! readelf -l "$1" 2>/dev/null | grep -q INTERP
}

if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] &&
   is_static /bin/busybox; then
	echo /bin/busybox
	exit 0
fi

version=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	echo "fetch-busybox.sh: apt knows no $pkg; run apt-get update" >&2
	exit 1
fi
dir=$cache/$pkg
if [ ! -f "$dir/stamp" ] || [ "$(cat "$dir/stamp")" != "$version" ] ||
   ! is_static "$dir/root/bin/busybox"; then
	echo "fetch-busybox.sh: $pkg $version" >&2
	rm -rf "$dir"
	mkdir -p "$dir/deb" "$dir/root"
	# apt warns when it cannot drop privileges to _apt for a download into
	# a root-owned directory: expected here, and noise in the CI log.
	if ! (cd "$dir/deb" && apt-get download -q "$pkg" 2>&1) |
		{ grep -v '^W: Download is performed unsandboxed' >&2 || true; }; then
		echo "fetch-busybox.sh: apt-get download $pkg failed" >&2
		exit 1
	fi
	for deb in "$dir"/deb/*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done
	rm -rf "$dir/deb"
	is_static "$dir/root/bin/busybox" ||
		{ echo "fetch-busybox.sh: no static busybox in $pkg $version" >&2; exit 1; }
	echo "$version" > "$dir/stamp"
fi
echo "$dir/root/bin/busybox"
