#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the out-of-tree module of out-of-tree/ against a built kernel, the way a user builds
# their own: make -C $KDIR M=$PWD LLVM=1. The sources are copied to OUTPUT_DIR first, so that
# the build leaves no objects in the repository.
#
# Usage: scripts/build-oot.sh KERNEL_BUILD_DIR OUTPUT_DIR

set -eu

kobj=$(realpath "$1")
out=$2
repo=$(realpath "$(dirname "$0")/..")

rm -rf "$out"
mkdir -p "$out"
cp "$repo"/out-of-tree/* "$out/"
echo "  OOT     $(ls "$repo"/out-of-tree/*.rs | xargs -n1 basename) against $kobj"
make -s -C "$out" KDIR="$kobj"
