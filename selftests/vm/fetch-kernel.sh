#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh FLAVOR CACHE: fetch Debian's kernel image and headers for
# one flavour (generic, rt, cloud) into CACHE/kernel/FLAVOR without
# installing anything system-wide (no initramfs generation, no dpkg state).
# FLAVOR debug is not Debian's: build-debug-kernel.sh builds it.
#
# Leaves:
#   CACHE/kernel/FLAVOR/vmlinuz    the kernel image to boot in QEMU
#   CACHE/kernel/FLAVOR/headers    a usable KDIR for out-of-tree modules
#   CACHE/kernel/FLAVOR/release    the kernel release (uname -r)
#
# Needs apt's package lists (apt-get update) and dpkg-deb. Idempotent: a
# second run with the same candidate version does nothing.
set -euo pipefail

flavor=${1:?usage: fetch-kernel.sh generic|rt|cloud|debug CACHE}
cache=${2:?usage: fetch-kernel.sh generic|rt|cloud|debug CACHE}

case "$flavor" in
generic) suffix=amd64 ;;
rt)      suffix=rt-amd64 ;;
cloud)   suffix=cloud-amd64 ;;
# Not a Debian package: built from linux-source-6.1 with the checkers on.
debug)   exec "$(dirname "$0")/build-debug-kernel.sh" "$cache" ;;
*) echo "fetch-kernel.sh: unknown flavour '$flavor' (generic, rt, cloud, debug)" >&2; exit 2 ;;
esac

# The meta package names the current ABI: linux-image-6.1.0-NN-<suffix>.
dep_of() {
	apt-cache depends "$1" 2>/dev/null |
		awk -v pat="$2" '$1 == "Depends:" && $2 ~ pat { print $2; exit }'
}
image=$(dep_of "linux-image-$suffix" "^linux-image-")
if [ -z "$image" ]; then
	echo "fetch-kernel.sh: apt knows no linux-image-$suffix; run apt-get update" >&2
	exit 1
fi
release=${image#linux-image-}
headers=linux-headers-$release
common=$(dep_of "$headers" "^linux-headers-.*-common")
kbuild=$(dep_of "$headers" "^linux-kbuild-")
version=$(apt-cache policy "$image" | awk '$1 == "Candidate:" { print $2 }')

dir=$cache/kernel/$flavor
stamp="$release $version"
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ] &&
   [ -e "$dir/vmlinuz" ] && [ -d "$dir/headers/" ]; then
	exit 0
fi

echo "fetch-kernel.sh: $flavor: $image $version" >&2
rm -rf "$dir"
mkdir -p "$dir/debs" "$dir/root"
(cd "$dir/debs" && apt-get download -q "$image" "$headers" "$common" "$kbuild" 2>&1 |
	grep -v '^W: Download is performed unsandboxed' >&2 || true)
for deb in "$dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir/root"
done
rm -rf "$dir/debs"

root=$(cd "$dir/root" && pwd)
hdr=$root/usr/src/$headers
[ -f "$root/boot/vmlinuz-$release" ] || { echo "fetch-kernel.sh: no vmlinuz in $image" >&2; exit 1; }
[ -d "$hdr" ] || { echo "fetch-kernel.sh: no $hdr" >&2; exit 1; }

# The flavour's Makefile includes the common headers by absolute path, and
# its scripts/ and tools/ are links into /usr/lib/linux-kbuild-6.1: point
# both into the extracted tree instead.
sed -i "s|/usr/src/|$root/usr/src/|g" "$hdr/Makefile"
for l in "$hdr"/scripts "$hdr"/tools "$root"/usr/src/"$common"/scripts "$root"/usr/src/"$common"/tools; do
	[ -L "$l" ] || continue
	target=$(readlink "$l")
	case "$target" in
	/*) ln -sfn "$root$target" "$l" ;;
	esac
done

ln -sfn "root/boot/vmlinuz-$release" "$dir/vmlinuz"
ln -sfn "root/usr/src/$headers" "$dir/headers"
echo "$release" > "$dir/release"
echo "$stamp" > "$dir/stamp"
