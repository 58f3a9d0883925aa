#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, ES1370 part, in a real-time boot (the ES1370's periods follow QEMU's audio
# timer): the rate of period interrupts achieved against the rate asked for, and their jitter,
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
