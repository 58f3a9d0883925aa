#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds one of the kernel's own C drivers of the e1000 family, e1000 (82540EM) or e1000e
# (82574L), as an external module against the built kernel, for `make bench` only: the test
# configuration keeps CONFIG_E1000 and CONFIG_E1000E off, so that a C driver is never built
# alongside the Rust samples, and the benchmark loads one or the other.
#
# Usage: scripts/build-e1000-baseline.sh KERNEL_SOURCE KERNEL_BUILD OUTPUT_DIR [DRIVER]
#   DRIVER is e1000 (the default) or e1000e; the module is OUTPUT_DIR/DRIVER.ko.

set -eu

ksrc=$(realpath "$1")
kobj=$(realpath "$2")
out=$3
driver=${4:-e1000}
case "$driver" in
e1000) symbol=CONFIG_E1000 ;;
e1000e) symbol=CONFIG_E1000E ;;
*) echo "build-e1000-baseline: no such driver: $driver" >&2; exit 2 ;;
esac

rm -rf "$out"
mkdir -p "$out"
cp "$ksrc/drivers/net/ethernet/intel/$driver"/*.[ch] \
	"$ksrc/drivers/net/ethernet/intel/$driver/Makefile" "$out/"
out=$(realpath "$out")
make -s -C "$ksrc" O="$kobj" ARCH=x86_64 LLVM=1 M="$out" "$symbol=m" modules
[ -f "$out/$driver.ko" ]
