#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# plot.sh [--if-any] TSV OUT_PREFIX [TITLE]: the server scenario's latency against the
# number of clients, one line per mechanism, from gwake-bench --tsv
# output. Writes OUT_PREFIX.png and OUT_PREFIX.svg (gnuplot) and
# OUT_PREFIX.dat, the data plotted: one block per mechanism, its first line
# the mechanism's name, then "clients median p25 p75" rows.
#
# Exit status: 0 plotted, 1 error or nothing to plot (no server rows);
# with --if-any, a TSV without server rows (a run of -f handoff) is a
# message and status 0.
#
# Rows come from groups "server/<N>client(s)" (without co-runners: the
# /corunN groups are left out); a mechanism that was n/a
# for some N simply has no point there. Both axes are logarithmic: the
# mechanisms span three orders of magnitude.
set -eu

if_any=0
[ "${1:-}" = --if-any ] && { if_any=1; shift; }
tsv=$1
out=$2
title=${3:-gwake-bench server: ns per call against clients}

command -v gnuplot >/dev/null 2>&1 || {
	echo "plot.sh: no gnuplot (apt-get install gnuplot-nox): no plot" >&2
	exit 1
}
[ -r "$tsv" ] || { echo "plot.sh: $tsv: not readable" >&2; exit 1; }

# Columns of the TSV: group variant unit n median min p25 p75 ...
awk -F '\t' '
	$1 ~ /^server\/[0-9]+client/ && $1 !~ /\/corun/ && $4 > 0 {
		n = $1; sub(/^server\//, "", n); sub(/client.*/, "", n)
		if (!($2 in seen)) { seen[$2] = 1; order[++nv] = $2 }
		rows[$2] = rows[$2] sprintf("%d %s %s %s\n", n, $5, $7, $8)
	}
	END {
		for (i = 1; i <= nv; i++) {
			printf "\"%s\" 0 0 0\n%s\n\n", order[i], rows[order[i]]
		}
		if (!nv) exit 1
	}' "$tsv" > "$out.dat" || {
	echo "plot.sh: no server rows in $tsv: no plot" >&2
	rm -f "$out.dat" "$out.png" "$out.svg"	# no stale plot of another run
	[ $if_any = 1 ] && exit 0
	exit 1
}
blocks=$(grep -c '^"' "$out.dat")

for term in png svg; do
	case $term in
	png) setterm="set terminal pngcairo size 1000,640 font 'sans,10'" ;;
	svg) setterm="set terminal svg size 1000,640 dynamic font 'sans,10'" ;;
	esac
	gnuplot <<EOF
$setterm
set output '$out.$term'
set title "$title"
set xlabel 'clients (Gs or threads calling one server)'
set ylabel 'ns per call (median; bars: p25-p75)'
set logscale xy 2
set logscale y 10
set format y '%.0s%c'
set xtics (1, 2, 4, 8, 16, 32, 64)
set grid
# Twelve distinguishable lines: gnuplot's default cycle repeats after 8.
set linetype 1 lc rgb '#1f77b4' pt 7
set linetype 2 lc rgb '#ff7f0e' pt 5
set linetype 3 lc rgb '#2ca02c' pt 9
set linetype 4 lc rgb '#d62728' pt 7
set linetype 5 lc rgb '#9467bd' pt 5
set linetype 6 lc rgb '#8c564b' pt 9
set linetype 7 lc rgb '#e377c2' pt 11
set linetype 8 lc rgb '#7f7f7f' pt 13
set linetype 9 lc rgb '#bcbd22' pt 7 dt 2
set linetype 10 lc rgb '#17becf' pt 5 dt 2
set linetype 11 lc rgb '#000000' pt 9 dt 2
set linetype 12 lc rgb '#aec7e8' pt 11 dt 2
set key outside right top
set xrange [0.8:90]
plot for [i=0:$((blocks - 1))] '$out.dat' index i using 1:2:3:4 \
	with yerrorlines lt (i + 1) lw 2 ps 0.8 title columnheader(1)
EOF
done
echo "plot.sh: $out.png $out.svg"
