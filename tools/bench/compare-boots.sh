#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# compare-boots.sh COMPARE.txt...: the kmod/user ratios of several
# `make vm-bench` boots (each boot's compare.txt, from compare.sh), row by
# row: the median ratio over the boots, the lowest and the highest.
#
# One boot is one sample: under TCG a row's ratio moves by +-30% from boot
# to boot, and the raw handoff rows, which nothing in the runtime touches,
# change by several "worse" marks between two boots of the same tree
# (docs/benchmarks.md). A verdict on a row ("above 1.10 x user") is read
# from the median of boots; the last line also counts the rows above 1.10
# in every boot, and those at or below 0.50 in every boot.
#
# Reports, never judges: exit status 0 unless an input is missing.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 COMPARE.txt..." >&2; exit 2; }
for f in "$@"; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done

awk '
# A row of compare.sh: group, variant (words), kmod ns, user ns, k/u, and
# a mark ("worse", "<=0.5") or none.
FNR == 1 { nb++; next }
/^[0-9]+ rows:/ { next }
{
	last = ($NF == "worse" || $NF == "<=0.5") ? NF - 1 : NF
	v = $2
	for (i = 3; i <= last - 3; i++)
		v = v " " $i
	key = $1 SUBSEP v
	if (!(key in n)) {
		order[nk++] = key
		grp[key] = $1
		var[key] = v
	}
	r[key, n[key]++] = $last + 0
}
END {
	printf "%-36s %-28s %5s %7s %7s %7s\n", "group", "variant", "boots", "median",
	       "lowest", "highest"
	for (k = 0; k < nk; k++) {
		key = order[k]
		c = n[key]
		for (i = 0; i < c; i++)
			s[i] = r[key, i]
		for (i = 1; i < c; i++)	# insertion sort: a few boots
			for (j = i; j > 0 && s[j - 1] > s[j]; j--) {
				t = s[j]; s[j] = s[j - 1]; s[j - 1] = t
			}
		med = c % 2 ? s[(c - 1) / 2] : (s[c / 2 - 1] + s[c / 2]) / 2
		mark = med > 1.10 ? "worse" : (med <= 0.50 ? "<=0.5" : "")
		printf "%-36s %-28s %5d %7.3f %7.3f %7.3f %s\n", grp[key], var[key], c,
		       med, s[0], s[c - 1], mark
		rows++
		if (med > 1.10) worse++
		if (med <= 0.50) half++
		if (s[0] > 1.10) allworse++
		if (s[c - 1] <= 0.50) allhalf++
	}
	printf "%d boots, %d rows: by the median of boots %d above 1.10 x user, %d at or below 0.50; in every boot %d above 1.10, %d at or below 0.50\n",
	       nb, rows, worse, half, allworse, allhalf
}' "$@"
