#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel's own C e1000 driver as an external module against the built kernel, for
# `make bench` only: the test configuration keeps CONFIG_E1000 off, so that the C driver is
# never built alongside the Rust sample, and the benchmark loads one or the other.
#
# Usage: scripts/build-e1000-baseline.sh KERNEL_SOURCE KERNEL_BUILD OUTPUT_DIR

set -eu

ksrc=$(realpath "$1")
kobj=$(realpath "$2")
out=$3

rm -rf "$out"
mkdir -p "$out"
cp "$ksrc"/drivers/net/ethernet/intel/e1000/*.[ch] "$ksrc"/drivers/net/ethernet/intel/e1000/Makefile "$out/"
out=$(realpath "$out")
make -s -C "$ksrc" O="$kobj" ARCH=x86_64 LLVM=1 M="$out" CONFIG_E1000=m modules
[ -f "$out/e1000.ko" ]
