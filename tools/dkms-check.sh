#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh VERSION DIR KDIR RELEASE: what `make dkms-check` runs after
# `make dkms-source` has put the module's DKMS source in
# DIR/src/gwake-VERSION. dkms adds it, builds gwake.ko for kernel RELEASE
# against the headers in KDIR, installs it and removes it again, with
# DKMS's source, build and module trees inside DIR (--sourcetree,
# --dkmstree, --installtree; --no-depmod, since depmod would work on
# /lib/modules): nothing is written to /usr/src, /var/lib/dkms or
# /lib/modules, and the running kernel's headers are not needed. DIR is
# removed on success.
set -euo pipefail
# (No `cmd | grep -q`: with pipefail, grep -q's early exit can fail cmd with
# SIGPIPE; grep >/dev/null reads all of it.)

version=${1:?usage: dkms-check.sh VERSION DIR KDIR RELEASE}
dir=${2:?usage: dkms-check.sh VERSION DIR KDIR RELEASE}
kdir=${3:?usage: dkms-check.sh VERSION DIR KDIR RELEASE}
release=${4:?usage: dkms-check.sh VERSION DIR KDIR RELEASE}
arch=$(uname -m)

fail() {
	echo "dkms-check: $*" >&2
	exit 1
}
dkms_bin=$(command -v dkms) || fail "no dkms (apt-get install dkms)"
[ -f "$dir/src/gwake-$version/dkms.conf" ] || fail "no $dir/src/gwake-$version/dkms.conf"
grep -qx "PACKAGE_VERSION=\"$version\"" "$dir/src/gwake-$version/dkms.conf" ||
	fail "dkms.conf's PACKAGE_VERSION is not $version"

mkdir -p "$dir/tree" "$dir/modules/$release"
# Our own trees on every call; signing material, should this machine have
# Debian's sign-file for the kernel (linux-kbuild-6.1), goes to DIR too
# rather than to /var/lib/dkms/mok.* (dkms reads these from the
# environment when /etc/dkms/framework.conf does not set them).
dkms() {
	env mok_signing_key="$dir/mok.key" mok_certificate="$dir/mok.pub" \
		"$dkms_bin" "$@" --sourcetree "$dir/src" --dkmstree "$dir/tree" \
		--installtree "$dir/modules" --no-depmod
}
cleanup() {
	dkms remove -m gwake -v "$version" --all >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "dkms-check: dkms add gwake/$version"
dkms add -m gwake -v "$version"
echo "dkms-check: dkms build gwake/$version -k $release --kernelsourcedir $kdir"
if ! dkms build -m gwake -v "$version" -k "$release" --kernelsourcedir "$kdir"; then
	cat "$dir/tree/gwake/$version/build/make.log" >&2 2>/dev/null || true
	fail "dkms build failed"
fi
ko=$(find "$dir/tree/gwake/$version/$release/$arch/module" -name 'gwake.ko*' | head -1)
[ -n "$ko" ] || fail "dkms built no gwake.ko"
log=$dir/tree/gwake/$version/$release/$arch/log/make.log
if grep -qi 'warning' "$log"; then
	cat "$log" >&2
	fail "warnings building gwake.ko with DKMS"
fi
[ "$(modinfo -F version "$ko")" = "$version" ] || fail "$ko: version '$(modinfo -F version "$ko")', not $version"
modinfo -F vermagic "$ko" | grep "^$release " >/dev/null || fail "$ko: vermagic is not $release"
dkms status -m gwake -v "$version" | grep "gwake/$version, $release, $arch: built" >/dev/null ||
	fail "dkms status does not say built: $(dkms status -m gwake -v "$version")"
echo "dkms-check: $(dkms status -m gwake -v "$version"): $(basename "$ko") version $version"

echo "dkms-check: dkms install gwake/$version -k $release (into $dir/modules)"
dkms install -m gwake -v "$version" -k "$release" --kernelsourcedir "$kdir"
[ -f "$dir/modules/$release/updates/dkms/gwake.ko" ] ||
	fail "dkms install did not put gwake.ko in /lib/modules/$release/updates/dkms"
dkms status -m gwake -v "$version" | grep "gwake/$version, $release, $arch: installed" >/dev/null ||
	fail "dkms status does not say installed: $(dkms status -m gwake -v "$version")"

echo "dkms-check: dkms remove gwake/$version --all"
dkms remove -m gwake -v "$version" --all
trap - EXIT
[ -z "$(ls -A "$dir/tree")" ] || fail "dkms remove left $(ls -A "$dir/tree") in its tree"
[ -z "$(find "$dir/modules" -type f)" ] || fail "dkms remove left $(find "$dir/modules" -type f)"
rm -rf "$dir"
echo "dkms-check: passed"
