#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# compare.sh KMOD.tsv USER.tsv: the module's backend against the userspace
# one, row by row, from the two gwake-bench runs of one `make vm-bench` boot
# (results-kmod.tsv, results-user.tsv).
#
#  - handoff groups: both backends run in the same process, interleaved, in
#    each run; the rows compared are "gwake wake+block, kmod" against
#    "gwake wake+block, user" (and swap) of the kmod run, then of the user run.
#  - runtime groups (server, idle-wake): the runtime sits on one backend per
#    process, so the same variant ("grt thread call", ...) of the kmod run is
#    compared with the user run's. The two runs follow each other, and a
#    VM's speed drifts between them (2x has been seen), so each is first
#    divided by a reference that does not use gwake, measured in the same
#    group of the same run: "C threads, futex" for server. k/u is then
#    (kmod / its reference) / (user / its reference); the raw medians are
#    printed too. Groups without such a reference are compared raw.
#
# Prints median ns of each and k/u; a row above 1.10 is marked "worse",
# one at or below 0.50 "<=0.5". Reports, never judges: exit status 0 unless
# an input is missing.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 KMOD.tsv USER.tsv" >&2; exit 2; }
for f in "$1" "$2"; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done

awk -F'\t' -v REF="C threads, futex" '
function row(g, v, k, u, kref, uref,   r, mark) {
	if (k <= 0 || u <= 0)
		return
	r = kref > 0 && uref > 0 ? (k / kref) / (u / uref) : k / u
	mark = r > 1.10 ? "worse" : (r <= 0.50 ? "<=0.5" : "")
	printf "%-36s %-26s %12.0f %12.0f %7.3f %s\n", g, v, k, u, r, mark
	n++; if (r > 1.10) worse++; if (r <= 0.50) half++
}
FNR == 1 { file++; next }
# Columns: group variant unit n median ...
$4 > 0 {
	med[file, $1, $2] = $5
	if (!(($1) in seen)) { seen[$1] = 1; order[ng++] = $1 }
}
END {
	printf "%-36s %-26s %12s %12s %7s\n", "group", "variant", "kmod ns", "user ns", "k/u"
	for (i = 0; i < ng; i++) {
		g = order[i]
		if (g ~ /^handoff\//) {
			for (f = 1; f <= 2; f++)
				for (m = 0; m < 2; m++) {
					v = m ? "swap" : "wake+block"
					row(g, v (f == 1 ? " (kmod run)" : " (user run)"),
					    med[f, g, "gwake " v ", kmod"],
					    med[f, g, "gwake " v ", user"], 0, 0)
				}
			continue
		}
		for (key in med) {
			split(key, p, SUBSEP)
			if (p[1] != 1 || p[2] != g || p[3] !~ /^grt /)
				continue
			row(g, p[3], med[1, g, p[3]], med[2, g, p[3]],
			    med[1, g, REF], med[2, g, REF])
		}
	}
	printf "%d rows: %d above 1.10 x user, %d at or below 0.50 x user\n", n, worse, half
}' "$1" "$2"
