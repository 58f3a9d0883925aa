#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, in an instruction-counting boot (boot.sh --icount: the guest clock advances one
# nanosecond per guest instruction): loads the C baseline and the Rust benchmark in turn, then
# times edu interrupt round trips through the C baseline driver and the Rust sample in turn.
# Everything runs twice, in alternation, to show that the counts repeat.

for round in 1 2; do
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
	echo 10000 > "$dir/raise" || exit 1
	ns=$(cat "$dir/batch_ns")
	printf "irqsync-bench: %s edu_round_trip %d.%02d ns\n" "$side" \
		$((ns / 10000)) $(((ns / 100) % 100))
	rmmod "$module" || exit 1
}

for round in 1 2; do
	edu_round_trips c irqsync_edu_baseline
	edu_round_trips rust rust_irqsync_edu
done
