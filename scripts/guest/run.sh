#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: loads the InterruptSync demo, which prints its account to the kernel log (and
# so to the console), then unloads it.

echo "irqsync-run: loading rust_irqsync_demo"
insmod /modules/rust_irqsync_demo.ko || exit 1
rmmod rust_irqsync_demo || exit 1
echo "irqsync-run: the demo ran and unloaded cleanly"
