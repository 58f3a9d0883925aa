#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the built kernel with the initramfs under QEMU (TCG, 2 vCPUs) and runs the guest
# script of a mode. The guest reboots when done, which ends QEMU; a boot that takes longer
# than the timeout is killed and fails.
#
# Usage: scripts/boot.sh --mode MODE --log FILE [--timeout SECONDS] [--append ARGS]
#                        [--quiet] [--icount] [-- QEMU_ARGS...]
# --icount boots one vCPU whose clock advances one nanosecond per guest instruction
# (-icount shift=0,sleep=off), so that guest-side timings count instructions, with an RTC that
# follows that clock from a fixed date: the host's time of day is the one input that would
# otherwise make two boots differ.
# The kernel is build/kernel's, or $IRQSYNC_KERNEL; the initramfs build/initramfs.cpio.gz, or
# $IRQSYNC_INITRD.

set -eu

repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
mode=
log=
timeout=600
append=
quiet=
cpus=(-accel tcg,thread=multi -smp 2)

while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--icount) cpus=(-accel tcg -icount shift=0,sleep=off -smp 1 -rtc base=2026-01-01T00:00:00,clock=vm); shift ;;
	--) shift; break ;;
	*) echo "boot: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$mode" ] && [ -n "$log" ] || { echo "boot: --mode and --log are required" >&2; exit 2; }

kunit=kunit.enable=0
[ "$mode" = check ] && kunit=kunit.enable=1

# No network unless the caller asks for one: never QEMU's default user-mode NIC.
network=(-nic none)
for arg in "$@"; do
	case "$arg" in
	-netdev|-nic|-net) network=() ;;
	esac
done

cmd=(qemu-system-x86_64 -M pc "${cpus[@]}" -m 1G
	-bios /usr/share/qemu/qboot.rom -display none -no-reboot -serial stdio
	-kernel "${IRQSYNC_KERNEL:-$build/kernel/arch/x86/boot/bzImage}" -initrd "${IRQSYNC_INITRD:-$build/initramfs.cpio.gz}"
	-append "console=ttyS0 panic=-1 $kunit irqsync.mode=$mode $append" "${network[@]}" "$@")

mkdir -p "$(dirname "$log")"
start=$(date +%s)
set +e
if [ -n "$quiet" ]; then
	timeout "$timeout" "${cmd[@]}" < /dev/null > "$log" 2>&1
else
	timeout "$timeout" "${cmd[@]}" < /dev/null 2>&1 | tee "$log"
fi
status=${PIPESTATUS[0]}
set -e
seconds=$(($(date +%s) - start))

if [ "$status" -eq 124 ]; then
	echo "boot: QEMU did not finish within ${timeout}s (log: $log)" >&2
	exit 1
fi
if ! grep -q "irqsync-guest: $mode finished" "$log"; then
	echo "boot: the guest did not finish mode $mode (QEMU status $status, log: $log)" >&2
	exit 1
fi
[ -n "$quiet" ] || echo "boot: $mode done in ${seconds}s (log: $log)"
exit 0
