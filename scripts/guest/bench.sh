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
