#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: loads the C baseline and the Rust benchmark in turn, three times each, so that
# both are measured in the same boot under the same conditions.

for round in 1 2 3; do
	insmod /modules/irqsync_bench_baseline.ko || exit 1
	rmmod irqsync_bench_baseline || exit 1
	insmod /modules/rust_irqsync_bench.ko || exit 1
	rmmod rust_irqsync_bench || exit 1
done

# Interrupt round trips on the edu device: raise, service routine, acknowledge, seen by the
# waiting process. Both drivers run N round trips and report how long they took in batch_ns.
edu=
for dev in /sys/bus/pci/devices/*; do
	[ "$(cat "$dev/vendor")" = 0x1234 ] && [ "$(cat "$dev/device")" = 0x11e8 ] && edu=$(basename "$dev")
done
[ -n "$edu" ] || { echo "irqsync-bench: no edu device, expected one"; exit 1; }

# The interrupt and the waiting writer are both put on CPU 0, so that every round trip, C or
# Rust, takes the same path through QEMU (no cross-CPU wake-up).
edu_round_trips() {
	local side=$1 module=$2 dir=/sys/kernel/debug/$2-$edu ns irq
	insmod "/modules/$module.ko" || exit 1
	irq=$(grep "$module" /proc/interrupts | sed 's/^ *\([0-9]*\):.*/\1/')
	echo 1 > "/proc/irq/$irq/smp_affinity" || exit 1
	taskset 1 sh -c "echo 1000 > $dir/raise" || exit 1
	for run in 1 2; do
		taskset 1 sh -c "echo 10000 > $dir/raise" || exit 1
		ns=$(cat "$dir/batch_ns")
		printf "irqsync-bench: %s edu_round_trip %d.%02d ns\n" "$side" \
			$((ns / 10000)) $(((ns / 100) % 100))
	done
	rmmod "$module" || exit 1
}

# Alternate which side goes first, so that drift over the boot favours neither.
# How fast a loaded module runs under TCG varies from one load to the next (where its code
# lands), so each side is loaded many times.
for round in $(seq 12); do
	if [ $((round % 2)) -eq 1 ]; then
		edu_round_trips c irqsync_edu_baseline
		edu_round_trips rust rust_irqsync_edu
	else
		edu_round_trips rust rust_irqsync_edu
		edu_round_trips c irqsync_edu_baseline
	fi
done

# ES1370 period interrupts: the rate achieved against the rate asked for, and their jitter,
# which the driver measures in its service routine and logs when the stream stops.
insmod /modules/rust_irqsync_es1370.ko || exit 1
sleep 1
for spec in "44100 1024" "22050 512" "11025 256"; do
	set -- $spec
	aplay -q -D hw:0,0 --period-size="$2" --buffer-size=$(($2 * 4)) "/sounds/tones-$1.wav" ||
		exit 1
	echo "irqsync-bench: audio period $2 frames, $(dmesg | grep "stopped at $1 Hz" | tail -1 |
		sed 's/.*rust_irqsync_es1370: //')"
done
rmmod rust_irqsync_es1370 || exit 1
