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

edu_round_trips() {
	local side=$1 module=$2 dir=/sys/kernel/debug/$2-$edu ns
	insmod "/modules/$module.ko" || exit 1
	echo 1000 > "$dir/raise" || exit 1
	for run in 1 2 3; do
		echo 20000 > "$dir/raise" || exit 1
		ns=$(cat "$dir/batch_ns")
		echo "irqsync-bench: $side edu_round_trip $((ns / 20000)).$(( (ns / 200) % 100 )) ns"
	done
	rmmod "$module" || exit 1
}

for round in 1 2 3; do
	edu_round_trips c irqsync_edu_baseline
	edu_round_trips rust rust_irqsync_edu
done
