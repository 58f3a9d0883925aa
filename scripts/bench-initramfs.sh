#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's initramfs: the kernel's C e1000 and e1000e drivers built against the
# benchmark kernel, as external modules (scripts/build-e1000-baseline.sh), beside the Rust
# samples. make bench and make profile boot it; the test initramfs never has the C drivers.
#
# Usage: scripts/bench-initramfs.sh OUTPUT
#   Logs go to build/logs/DRIVER-baseline-build.log and build/logs/bench-initramfs.log.

set -e
output=$1
repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
kbench=$build/kernel-bench
logs=$build/logs
mkdir -p "$logs"

for driver in e1000 e1000e; do
	"$repo/scripts/build-e1000-baseline.sh" "$build/linux" "$kbench" "$build/$driver-baseline" \
		"$driver" > "$logs/$driver-baseline-build.log" 2>&1 ||
		{ echo "the C $driver baseline did not build, see $logs/$driver-baseline-build.log" >&2
		  exit 1; }
done
"$repo/scripts/mkinitramfs.sh" "$kbench" "$output" "$build/e1000-baseline/e1000.ko" \
	"$build/e1000e-baseline/e1000e.ko" > "$logs/bench-initramfs.log" 2>&1 ||
	{ echo "the benchmark initramfs did not build, see $logs/bench-initramfs.log" >&2; exit 1; }
