#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-linux-source.sh CACHE: extract the few kernel files the build uses
# from Debian's linux-source-6.1 package into CACHE/linux-source, keeping
# their paths:
#
#   tools/testing/selftests/kselftest_harness.h, kselftest.h   (selftests)
#   scripts/checkpatch.pl, spelling.txt, const_structs.checkpatch (kmod lint)
#
# These files are GPL-2.0 kernel sources; they are used at build time and
# never committed. Needs apt's package lists (apt-get update). Idempotent.
set -euo pipefail

cache=${1:?usage: fetch-linux-source.sh CACHE}
dir=$cache/linux-source
files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

have_all() {
	local f
	for f in "${files[@]}"; do [ -e "$dir/$f" ] || return 1; done
}
have_all && exit 0

version=$(apt-cache policy linux-source-6.1 | awk '$1 == "Candidate:" { print $2 }')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	echo "fetch-linux-source.sh: apt knows no linux-source-6.1; run apt-get update" >&2
	exit 1
fi
echo "fetch-linux-source.sh: linux-source-6.1 $version" >&2

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/linux-source.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q linux-source-6.1 2>&1 |
	grep -v '^W: Download is performed unsandboxed' >&2 || true)
deb=$(ls "$tmp"/linux-source-6.1_*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/src/linux-source-6.1.tar.xz
mkdir -p "$dir"
tar -xJf "$tmp/usr/src/linux-source-6.1.tar.xz" -C "$tmp" \
	"${files[@]/#/linux-source-6.1/}"
for f in "${files[@]}"; do
	mkdir -p "$dir/$(dirname "$f")"
	mv "$tmp/linux-source-6.1/$f" "$dir/$f"
done
echo "$version" > "$dir/version"
