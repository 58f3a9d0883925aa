#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: on the benchmark kernel (build/kernel-bench: the project without the debug
# options of the test kernel), compares InterruptSync and the samples with C baselines, each
# pair in one boot:
#  - in instruction-counting boots (boot.sh --icount: one vCPU whose clock advances 1 ns per
#    guest instruction, so the figures repeat exactly): the InterruptSync micro benchmarks, the
#    edu interrupt round trip, and the e1000 family samples against the kernel's C e1000 and
#    e1000e drivers, with two NICs on a QEMU hub in one guest;
#  - in real-time boots, for what only real time shows: the ES1370's period rate and jitter,
#    and e1000 throughput between two guests.
# Prints one table (also in build/bench.txt) and plots its counted rows, Rust / C against the
# target (build/bench.png). A benchmark, not a test: it fails only if a boot or a module fails,
# or a count does not repeat.

set -euo pipefail

repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
kbench=$build/kernel-bench
logs=$build/logs
export IRQSYNC_KERNEL=$kbench/arch/x86/boot/bzImage IRQSYNC_INITRD=$build/initramfs-bench.cpio.gz

step() {
	echo "  BENCH   $*"
}

mkdir -p "$build/sounds"
python3 "$repo/scripts/audio.py" generate "$build/sounds"
"$repo/scripts/bench-initramfs.sh" "$IRQSYNC_INITRD" || exit 1

step "counted: InterruptSync and edu round trips, C and Rust ($logs/bench.log)"
"$repo/scripts/boot.sh" --mode bench --log "$logs/bench.log" --timeout 900 --quiet --icount -- \
	-device edu
step "counted: two e1000s on a hub, C e1000 and Rust sample ($logs/bench_net.log)"
"$repo/scripts/boot.sh" --mode bench_net --log "$logs/bench_net.log" --timeout 900 --quiet \
	--icount -- \
	-netdev hubport,id=wire_a,hubid=0 -device e1000,netdev=wire_a,mac=52:54:00:00:00:0a \
	-netdev hubport,id=wire_b,hubid=0 -device e1000,netdev=wire_b,mac=52:54:00:00:00:0b
step "counted: two 82574Ls on a hub, C e1000e and Rust sample on MSI-X ($logs/bench_net_e1000e.log)"
"$repo/scripts/boot.sh" --mode bench_net --log "$logs/bench_net_e1000e.log" --timeout 900 \
	--quiet --icount --append irqsync.nic=e1000e -- \
	-netdev hubport,id=wire_a,hubid=0 -device e1000e,netdev=wire_a,mac=52:54:00:00:00:0a \
	-netdev hubport,id=wire_b,hubid=0 -device e1000e,netdev=wire_b,mac=52:54:00:00:00:0b
step "real time: ES1370 period interrupts ($logs/bench_audio.log)"
"$repo/scripts/boot.sh" --mode bench_audio --log "$logs/bench_audio.log" --timeout 600 --quiet -- \
	-smp 1 -audiodev "wav,id=snd0,path=$logs/bench-audio.wav" -device ES1370,audiodev=snd0
step "real time: two guests, e1000 throughput ($logs/net_bench-a.log)"
# One vCPU each, so that the two QEMUs fit the host's cores.
"$repo/scripts/net-boot.sh" net_bench "$logs" 900 -smp 1 ||
	{ echo "bench: a network guest failed, see $logs/net_bench-a.log" >&2; exit 1; }

if grep -h 'irqsync-bench: .* expected' "$logs/bench.log" "$logs/bench_net.log" \
	"$logs/bench_net_e1000e.log" "$logs/bench_audio.log" "$logs/net_bench-a.log" >&2; then
	exit 1
fi
python3 "$repo/scripts/bench_report.py" --data "$build/bench.dat" "$logs/bench.log" \
	"$logs/bench_net.log" "$logs/bench_net_e1000e.log" --real-time "$logs/bench_audio.log" "$logs/net_bench-a.log" |
	tee "$build/bench.txt"
gnuplot -c "$repo/scripts/bench-plot.gp" "$build/bench.dat" "$build/bench.png"
echo "  Rust / C per counted operation, against its target: $build/bench.png"
