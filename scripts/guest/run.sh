#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: loads the InterruptSync demo, which prints its account to the kernel log (and
# so to the console), then drives the edu sample driver on QEMU's edu device.

echo "irqsync-run: loading rust_irqsync_demo"
insmod /modules/rust_irqsync_demo.ko || exit 1
rmmod rust_irqsync_demo || exit 1
echo "irqsync-run: the demo ran and unloaded cleanly"

echo "irqsync-run: loading rust_irqsync_edu for the edu device (MSI)"
insmod /modules/rust_irqsync_edu.ko || exit 1
dir=$(echo /sys/kernel/debug/rust_irqsync_edu-*)
echo "irqsync-run: its debugfs files: $(cd "$dir" && echo *)"
echo 1000 > "$dir/raise" || exit 1
echo "irqsync-run: raised 1000 interrupts in $(($(cat "$dir/batch_ns") / 1000)) us:" \
	"$(cat "$dir/raised") raised, $(cat "$dir/handled") handled," \
	"$(cat "$dir/unhandled") unhandled, $(cat "$dir/spurious") spurious"
echo 10 > "$dir/factorial" || exit 1
echo "irqsync-run: 10! computed by the device, reported by interrupt: $(cat "$dir/factorial")"
echo 4095 > "$dir/dma" || exit 1
echo "irqsync-run: DMA round trip of 4095 bytes to the device and back: data identical"
grep rust_irqsync_edu /proc/interrupts | sed 's/^/irqsync-run: \/proc\/interrupts:/'
rmmod rust_irqsync_edu || exit 1
echo "irqsync-run: rust_irqsync_edu unbound and unloaded cleanly"

echo "irqsync-run: loading rust_irqsync_es1370 and playing a melody through it"
insmod /modules/rust_irqsync_es1370.ko || exit 1
sleep 1
aplay -q -D hw:0,0 --period-size=1024 --buffer-size=4096 /sounds/melody.wav || exit 1
echo "irqsync-run: $(grep rust_irqsync_es1370 /proc/interrupts | awk '{ print $2 + $3 }')" \
	"period interrupts serviced by InterruptSync for 4.5 s at 22050 Hz in periods of 1024 frames"
rmmod rust_irqsync_es1370 || exit 1
echo "irqsync-run: rust_irqsync_es1370 unloaded cleanly"
