#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the busybox initramfs every boot uses: busybox, the project's modules (the samples
# and the out-of-tree module) and the guest scripts under scripts/guest/.
#
# Usage: scripts/mkinitramfs.sh KERNEL_BUILD_DIR OUTPUT

set -eu

kobj=$(realpath "$1")
out=$2
repo=$(realpath "$(dirname "$0")/..")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,scripts}
cp /bin/busybox "$root/bin/busybox"
cp "$repo/scripts/guest/init" "$root/init"
cp "$repo"/scripts/guest/*.sh "$root/scripts/"
chmod +x "$root/init" "$root"/scripts/*.sh
find "$kobj/samples" -name '*.ko' -exec cp {} "$root/modules/" \;
# The out-of-tree module, if scripts/build-oot.sh built it.
find "$(dirname "$kobj")/out-of-tree" -maxdepth 1 -name '*.ko' -exec cp {} "$root/modules/" \; \
	2>/dev/null || true

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
