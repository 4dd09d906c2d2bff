#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [--no-skip] [--timeout SECS] DIR [NAME...]
#
# Runs every gwake selftest program in DIR (the executables named *_test,
# or only the NAMEs given), each under a timeout, and prints KTAP: one
# result line per program, with the program's own KTAP nested under it as
# "# " lines, then a summary of every test that failed or was skipped.
#
# Exit status: 0 if every program ran to its end, printed all the results
# it planned and none of them failed; 1 otherwise (a failed test, a crash,
# a timeout, a missing or short result list, a non-zero exit). Skipped
# tests are reported as skips, never counted as passes; with --no-skip
# (or GWAKE_SELFTESTS_NO_SKIP=1) any skip is a failure, for runs where
# everything must execute (the VM, with gwake.ko loaded).
#
# The timeout per program is --timeout, else "timeout=" from DIR/settings,
# else from the settings file next to this script, else 45 s (kselftest's
# default); it needs a timeout(1), which busybox and coreutils both have.
#
# Works with busybox sh (the VM has nothing else) and bash.

usage() {
	echo "usage: $0 [--no-skip] [--timeout SECS] DIR [NAME...]" >&2
	exit 2
}

no_skip=${GWAKE_SELFTESTS_NO_SKIP:-0}
timeout_s=
while [ $# -gt 0 ]; do
	case $1 in
	--no-skip) no_skip=1 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift ;;
	--timeout=*) timeout_s=${1#--timeout=} ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || usage
dir=$1
shift
[ -d "$dir" ] || { echo "$0: $dir: not a directory" >&2; exit 2; }

settings_timeout() {
	[ -r "$1" ] || return 1
	sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1
}
if [ -z "$timeout_s" ]; then
	timeout_s=$(settings_timeout "$dir/settings")
	[ -n "$timeout_s" ] || timeout_s=$(settings_timeout "$(dirname "$0")/settings")
	[ -n "$timeout_s" ] || timeout_s=45
fi
case $timeout_s in
''|*[!0-9]*) echo "$0: bad timeout '$timeout_s'" >&2; exit 2 ;;
esac
if command -v timeout >/dev/null 2>&1; then
	run_with_timeout="timeout -s TERM -k 10 $timeout_s"
else
	echo "# run_tests.sh: no timeout(1): programs run without a time limit" >&2
	run_with_timeout=
fi

# The programs, in name order (the glob sorts).
progs=
if [ $# -gt 0 ]; then
	for name in "$@"; do
		progs="$progs $dir/$name"
	done
else
	for f in "$dir"/*_test; do
		[ -f "$f" ] && [ -x "$f" ] && progs="$progs $f"
	done
fi
nprogs=0
for f in $progs; do
	nprogs=$((nprogs + 1))
done
if [ "$nprogs" -eq 0 ]; then
	echo "$0: no *_test programs in $dir" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gwake-selftests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: > "$tmp/problems"

echo "TAP version 13"
echo "1..$nprogs"

n=0 progs_ok=0 progs_bad=0 progs_skip=0
all_pass=0 all_fail=0 all_skip=0
for f in $progs; do
	n=$((n + 1))
	name=${f##*/}
	echo "# selftest: gwake: $name"
	start=$(date +%s)
	if [ ! -x "$f" ]; then
		echo "not executable" > "$tmp/out"
		echo 127 > "$tmp/rc"
	else
		# The program's KTAP, nested one level; its exit status via a file
		# (a pipeline's status is the last command's).
		{ $run_with_timeout "$f" 2>&1; echo $? > "$tmp/rc"; } |
			tee "$tmp/out" | sed 's/^/# /'
	fi
	rc=$(cat "$tmp/rc")
	secs=$(( $(date +%s) - start ))

	plan= pass=0 fail=0 skip=0 first_skip=
	while IFS= read -r line; do
		case $line in
		1..*)
			plan=${line#1..}
			plan=${plan%% *}
			;;
		"not ok "*)
			fail=$((fail + 1))
			echo "FAIL $name: $line" >> "$tmp/problems"
			;;
		"ok "*"# SKIP"*|"ok "*"# skip"*)
			skip=$((skip + 1))
			# Each one where skips count as failures, else the first.
			if [ "$no_skip" = 1 ]; then
				echo "SKIP $name: $line" >> "$tmp/problems"
			elif [ "$skip" -eq 1 ]; then
				first_skip=${line#*# [Ss][Kk][Ii][Pp]}
			fi
			;;
		"ok "*)
			pass=$((pass + 1))
			;;
		esac
	done < "$tmp/out"
	if [ "$no_skip" != 1 ] && [ "$skip" -gt 0 ]; then
		echo "SKIP $name: $skip tests, the first because:$first_skip" >> "$tmp/problems"
	fi
	all_pass=$((all_pass + pass))
	all_fail=$((all_fail + fail))
	all_skip=$((all_skip + skip))

	# The verdict: the first thing that went wrong, else ok or SKIP.
	why=
	if [ -n "$run_with_timeout" ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]; }; then
		why="TIMEOUT after $timeout_s s (exit $rc)"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ -z "$plan" ]; then
		why="printed no test plan (exit $rc)"
	elif [ $((pass + fail + skip)) -ne "$plan" ]; then
		why="printed $((pass + fail + skip)) of $plan results (exit $rc)"
	elif [ "$fail" -gt 0 ]; then
		why="$fail of $plan tests failed"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; then
		why="exit $rc"
	elif [ "$rc" -eq 4 ] && [ "$no_skip" = 1 ]; then
		why="the program skipped itself (--no-skip)"
	elif [ "$skip" -gt 0 ] && [ "$no_skip" = 1 ]; then
		why="$skip of $plan tests skipped (--no-skip)"
	fi
	if [ -n "$why" ]; then
		echo "not ok $n selftests: gwake: $name # $why"
		echo "FAIL $name: $why" >> "$tmp/problems"
		progs_bad=$((progs_bad + 1))
	elif [ "$rc" -eq 4 ] && [ "$pass" -eq 0 ]; then
		echo "ok $n selftests: gwake: $name # SKIP the program skipped itself"
		progs_skip=$((progs_skip + 1))
	elif [ "$pass" -eq 0 ]; then
		echo "ok $n selftests: gwake: $name # SKIP all $skip tests skipped"
		progs_skip=$((progs_skip + 1))
	else
		echo "ok $n selftests: gwake: $name # $pass passed, $skip skipped, ${secs}s"
		progs_ok=$((progs_ok + 1))
	fi
done

echo "# ---- gwake selftests summary ----"
while IFS= read -r line; do
	echo "# $line"
done < "$tmp/problems"
echo "# programs: $nprogs, ok $progs_ok, skipped $progs_skip, FAILED $progs_bad"
echo "# tests: pass $all_pass, fail $all_fail, skip $all_skip"
if [ "$progs_bad" -gt 0 ]; then
	echo "# RESULT: FAIL"
	exit 1
fi
if [ "$all_skip" -gt 0 ]; then
	echo "# RESULT: PASS, with $all_skip tests skipped (not run)"
else
	echo "# RESULT: PASS"
fi
exit 0
