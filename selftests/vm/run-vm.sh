#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh: boot the gwake test VM and judge the run.
#
#   run-vm.sh --kernel VMLINUZ --initrd INITRD --dir DIR [--name LABEL]
#             [--timeout SECONDS] [--append "KERNEL ARGS"] [--mode check|shell|bench]
#             [--init-args "ARGS"] [--report FILE]
#
# check (the default): boots with no terminal (stdin from /dev/null, the
# console on qemu's stdout), streams the console to stdout and to
# DIR/console.log, keeps the kernel log /init dumps on the second serial
# port in DIR/dmesg.log, and exits non-zero, naming every cause, unless:
# the VM reached its result marker with rc=0, /init reported no error, it
# finished (module unloaded, checks done), and the console holds no line
# matching selftests/vm/kernel-problems.
#
# bench: the same verdict, with gwake-bench's exit status for the tests'
# (GWAKE-VM-RESULT) and no KTAP to check: /init runs gwake-bench with the
# kmod backend, then the user backend, each with --init-args (passed after
# " -- " on the kernel command line, so they reach /init as arguments, at
# most 31 words). On a pass the two reports, without the console's other
# lines, go to --report FILE (default DIR/bench.txt), and the result files
# /init sends on the third serial port (DIR/results.tar: results-kmod.json,
# .tsv, .txt and the same for user) are unpacked next to it. No number is
# judged.
#
# shell: the same VM, interactive (/init loads the module and starts a
# shell on the console). Ctrl-A X quits qemu, Ctrl-A C is its monitor.
#
# Environment: QEMU (default qemu-system-x86_64), VM_ACCEL (default: kvm
# when /dev/kvm is usable, falling back to tcg,thread=multi), VM_SMP (2),
# VM_MEM (1G).
set -uo pipefail
# $EPOCHREALTIME and awk must agree on the decimal point.
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
kernel='' initrd='' dir='' name=vm timeout=900 append='' mode=check
init_args='' report=''
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--init-args) init_args=$2; shift 2 ;;
	--report) report=$2; shift 2 ;;
	*) echo "run-vm.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ -z "$initrd" ] || [ -z "$dir" ]; then
	echo "run-vm.sh: --kernel, --initrd and --dir are required" >&2
	exit 2
fi
for f in "$kernel" "$initrd"; do
	[ -f "$f" ] || { echo "run-vm.sh: $f: not found" >&2; exit 1; }
done
case "$mode" in
check|shell|bench) ;;
*) echo "run-vm.sh: --mode check, shell or bench" >&2; exit 2 ;;
esac
mkdir -p "$dir"
log=$dir/console.log
dmesg_log=$dir/dmesg.log

# KVM when this machine can really use it: /dev/kvm read-write *and* the
# CPU has VMX or SVM. A /dev/kvm without them is a paravirtual KVM (this
# project's CI machines have "kvm-pvm", which only boots PVM-enabled guest
# kernels: Debian's hangs in early boot), so it is not usable here. qemu
# takes the first -accel that initialises, so KVM still falls back to TCG.
if [ -n "${VM_ACCEL:-}" ]; then
	accel=(-accel "$VM_ACCEL")
elif [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -q -w -E 'vmx|svm' /proc/cpuinfo; then
	accel=(-accel kvm -accel "tcg,thread=multi")
else
	accel=(-accel "tcg,thread=multi")
fi

# Kernel parameters (README.md explains the choice):
#   panic=-1          a panic reboots at once, and -no-reboot turns that into
#                     qemu exiting: a crash ends the run instead of hanging
#   oops=panic        after an Oops the kernel runs on with whatever the dead
#                     task held: stop there, the first report is the useful one
#   panic_on_warn=0   a WARN leaves the kernel consistent: keep going so the
#                     run shows which tests still pass; the scan fails it
#   loglevel=5        warnings and worse reach the console, interleaved with
#                     the KTAP output they belong to; info stays in dmesg.log
#   hung_task_timeout_secs=60   report a task stuck in D state well before
#                     the wall-clock timeout (default 120 s)
cmdline="console=ttyS0 panic=-1 oops=panic panic_on_warn=0 loglevel=5"
cmdline+=" sysctl.kernel.hung_task_timeout_secs=60 gwake_vm=$mode"
[ -n "$append" ] && cmdline+=" $append"
# Last: everything after "--" is /init's, not the kernel's.
[ -n "$init_args" ] && cmdline+=" -- $init_args"

# -nodefaults: no NIC (no iPXE ROM to load), no VGA, no default serial.
# -display none rather than -nographic: the same "no window", but SeaBIOS
# does not copy its screen (and terminal escape codes) to the serial port.
# ttyS0 is the console on stdio; ttyS1 receives the full kernel log.
# qemu before 8 (Debian 12's 7.2) can run a vCPU on a stale translation of
# kernel code another vCPU just patched, under multi-threaded TCG: loading
# gwake.ko (a static key in __schedule()) then soft-locks the VM now and
# then. tools/install-deps.sh installs qemu from bookworm-backports.
qv=$("${QEMU:-qemu-system-x86_64}" --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
if [ -n "$qv" ] && [ "$qv" -lt 8 ]; then
	echo "run-vm.sh: warning: qemu $qv: multi-threaded TCG may hang on kernel" \
	     "text patching; run tools/install-deps.sh as root (docs/testing.md)" >&2
fi
qemu=("${QEMU:-qemu-system-x86_64}" "${accel[@]}" -cpu max
      -smp "${VM_SMP:-2}" -m "${VM_MEM:-1G}"
      -nodefaults -display none -no-reboot
      -kernel "$kernel" -initrd "$initrd" -append "$cmdline")

if [ "$mode" = shell ]; then
	echo "run-vm.sh: $name: interactive VM; Ctrl-A X quits qemu, Ctrl-A C is its monitor" >&2
	exec "${qemu[@]}" -serial mon:stdio -serial "file:$dmesg_log"
fi

problems=$(grep -v -e '^#' -e '^$' "$here/kernel-problems")
[ "$mode" = bench ] && report=${report:-$dir/bench.txt}
rm -f "$log" "$dmesg_log" "$dir/.booted" ${report:+"$report"}
echo "run-vm.sh: $name: booting $(basename "$kernel") (${accel[*]}), timeout ${timeout}s"
echo "run-vm.sh: console log: $log"
start=$EPOCHREALTIME
booted='' interrupted=''
# Ctrl-C reaches qemu directly (same process group); note it for the verdict.
trap 'interrupted=1' INT TERM

# qemu never sees a terminal: stdin is /dev/null and stdout a pipe, so it
# neither needs a TTY nor leaves one in raw mode. --foreground keeps it in
# our process group, so Ctrl-C at a terminal stops it too. The loop drops
# the serial line's CRs, keeps the log, and notes when /init first spoke.
# In bench mode a third serial port carries /init's result files (a tar
# stream) to $data_tar.
data_serial=()
data_tar=$dir/results.tar
rm -f "$data_tar"
[ "$mode" = bench ] && data_serial=(-serial "file:$data_tar")
timeout --foreground -k 10 "$timeout" "${qemu[@]}" \
	-monitor none -serial stdio -serial "file:$dmesg_log" "${data_serial[@]}" \
	< /dev/null 2>&1 |
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	printf '%s\n' "$line"
	printf '%s\n' "$line" >> "$log"
	if [ -z "$booted" ] && [[ $line == "GWAKE-VM: booted"* ]]; then
		booted=1
		echo "$EPOCHREALTIME" > "$dir/.booted"
	fi
done
status=${PIPESTATUS[0]}
end=$EPOCHREALTIME
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
boot=- booted=''
if [ -f "$dir/.booted" ]; then
	booted=1
	boot=$(awk -v a="$start" -v b="$(cat "$dir/.booted")" 'BEGIN { printf "%.1f", b - a }')
	rm -f "$dir/.booted"
fi
touch "$log"

# The verdict: every cause, most fundamental first.
causes=()
cause() { causes+=("$*"); }
if [ -n "$interrupted" ]; then
	echo "run-vm.sh: $name: interrupted; console log: $log" >&2
	exit 130
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	knob=VM_TIMEOUT
	[ "$mode" = bench ] && knob=VM_BENCH_TIMEOUT
	cause "timed out after ${timeout}s (raise $knob if the run is just slow)"
elif [ "$status" -ne 0 ]; then
	cause "qemu exited with status $status"
fi
[ -n "$booted" ] || cause "/init never started (kernel or initramfs problem)"
while IFS= read -r l; do
	cause "in the VM: ${l#GWAKE-VM-ERROR }"
done < <(grep '^GWAKE-VM-ERROR ' "$log")

result=$(sed -n 's/^GWAKE-VM-RESULT rc=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -n "$booted" ] && [ -z "$result" ] && ! grep -q '^GWAKE-VM-ERROR ' "$log"; then
	cause "no GWAKE-VM-RESULT marker: the VM crashed, hung or powered off during the tests"
elif [ -n "$result" ] && [ "$result" -ne 0 ] && [ "$mode" = bench ]; then
	cause "gwake-bench failed:"$'\n'"$(grep '^GWAKE-VM-BENCH-END ' "$log")"
elif [ -n "$result" ] && [ "$result" -ne 0 ]; then
	cause "selftests failed: run_tests.sh exited with rc=$result"
fi
if [ "$mode" = bench ] && [ -n "$result" ]; then
	for b in kmod user; do
		grep -q "^GWAKE-VM-BENCH-END backend=$b " "$log" ||
			cause "no gwake-bench report for the $b backend"
	done
fi
# KTAP, at any nesting depth: a failure, or a SKIP (which --no-skip makes
# a failure too). "not ok ... # TODO" is an expected failure.
ktap_fail=$(grep -E '^[#[:space:]]*not ok [0-9]+' "$log" | grep -v -E '# *TODO')
ktap_skip=$(grep -E -i '^[#[:space:]]*ok [0-9]+.*# *SKIP' "$log")
[ -z "$ktap_fail" ] || cause "KTAP failures:"$'\n'"$ktap_fail"
[ -z "$ktap_skip" ] || cause "KTAP skips (a skip is not a pass):"$'\n'"$ktap_skip"
# The runner's own KTAP (not indented): a plan, and that many results. A
# run that printed no results ran no tests, whatever its status says.
if [ -n "$result" ] && [ "$mode" != bench ]; then
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log" | head -n 1)
	results=$(grep -c -E '^(not )?ok [0-9]+' "$log")
	if [ -z "$plan" ] || [ "$plan" -eq 0 ]; then
		cause "no tests ran: the runner printed no KTAP plan, or 1..0"
	elif [ "$results" -ne "$plan" ]; then
		cause "the runner planned $plan programs and reported $results"
	fi
fi
if [ -n "$result" ] && ! grep -q '^GWAKE-VM-DONE ' "$log"; then
	cause "/init did not finish after the tests (module unload or final checks)"
fi
# /init's GWAKE-VM-DMESG lines repeat what the console may already show.
found=$(grep -v -i 'command line' "$log" | grep -E -e "$problems" |
	sed 's/^GWAKE-VM-DMESG //' | sort -u)
[ -z "$found" ] || cause "kernel problems on the console:"$'\n'"$found"

ok=$(grep -c -E '^[#[:space:]]*ok [0-9]+' "$log")
notok=$(grep -c -E '^[#[:space:]]*not ok [0-9]+' "$log")
echo
if [ "$mode" = bench ]; then
	echo "run-vm.sh: $name: boot ${boot}s (qemu start to /init), total ${wall}s," \
	     "gwake-bench reports: $(grep -c '^GWAKE-VM-BENCH-END ' "$log")"
else
	echo "run-vm.sh: $name: boot ${boot}s (qemu start to /init), total ${wall}s," \
	     "KTAP result lines at any depth: $ok ok, $notok not ok"
fi
# The runner's own totals, if it printed them.
grep -E '^# (programs|tests): ' "$log" | sed "s/^# /run-vm.sh: $name: /"
if [ ${#causes[@]} -eq 0 ]; then
	if [ "$mode" = bench ]; then
		# The reports, as /init framed them, and where they came from.
		{
			echo "# run-vm.sh: $name: qemu ${accel[*]}, ${VM_SMP:-2} vCPUs," \
			     "${VM_MEM:-1G}; gwake-bench --backend kmod|user $init_args"
			awk '/^GWAKE-VM-BENCH-END /   { on = 0 }
			     on
			     /^GWAKE-VM-BENCH-BEGIN / { on = 1 }' "$log"
		} > "$report"
		echo "run-vm.sh: $name: report: $report"
		# The JSON, TSV and text of each backend's run, beside it.
		if [ -s "$data_tar" ] && tar -x -C "$(dirname "$report")" -f "$data_tar"; then
			echo "run-vm.sh: $name: result files in $(dirname "$report"):" \
			     $(tar -t -f "$data_tar" | sed 's|^\./||' | grep -v '^$')
		else
			echo "run-vm.sh: $name: FAIL: no result files from the VM ($data_tar)" >&2
			exit 1
		fi
	fi
	echo "run-vm.sh: $name: PASS"
	exit 0
fi
{
	echo "run-vm.sh: $name: FAIL"
	for c in "${causes[@]}"; do
		printf '  - %s\n' "${c//$'\n'/$'\n'      }"
	done
	echo "  console log: $log"
	[ -s "$dmesg_log" ] && echo "  full kernel log: $dmesg_log"
	if [ "$mode" = bench ]; then
		# The same initramfs, with a shell: gwake-bench is in /usr/bin.
		echo "  debug interactively: $0 --mode shell --kernel $kernel --initrd $initrd --dir $dir"
	else
		echo "  debug interactively: make vm-shell KERNEL_FLAVOR=... (selftests/vm/README.md)"
	fi
} >&2
exit 1
