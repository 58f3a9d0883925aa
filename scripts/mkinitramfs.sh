#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the busybox initramfs every boot uses: busybox, the project's modules (the samples
# and the out-of-tree module) and the guest scripts under scripts/guest/.
#
# Usage: scripts/mkinitramfs.sh KERNEL_BUILD_DIR OUTPUT [EXTRA_MODULE...]
#   EXTRA_MODULEs (make bench: the C e1000 baseline) go to /modules too.

set -eu

kobj=$(realpath "$1")
out=$2
shift 2
repo=$(realpath "$(dirname "$0")/..")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,scripts}
cp /bin/busybox "$root/bin/busybox"
cp "$repo/scripts/guest/init" "$root/init"
cp "$repo"/scripts/guest/*.sh "$root/scripts/"
chmod +x "$root/init" "$root"/scripts/*.sh
find "$kobj/samples" -name '*.ko' -exec cp {} "$root/modules/" \;
# pktgen, for make bench.
[ -f "$kobj/net/core/pktgen.ko" ] && cp "$kobj/net/core/pktgen.ko" "$root/modules/"
for module in "$@"; do
	cp "$module" "$root/modules/"
done
# The out-of-tree module, if scripts/build-oot.sh built it.
find "$(dirname "$kobj")/out-of-tree" -maxdepth 1 -name '*.ko' -exec cp {} "$root/modules/" \; \
	2>/dev/null || true

# aplay, its libraries and the ALSA configuration it reads, for the audio tests.
copy_program() {
	local lib
	mkdir -p "$root$(dirname "$1")"
	cp -L "$1" "$root$1"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
if [ -x /usr/bin/aplay ]; then
	copy_program /usr/bin/aplay
	mkdir -p "$root/usr/share/alsa"
	cp -r /usr/share/alsa/alsa.conf /usr/share/alsa/cards /usr/share/alsa/pcm \
		"$root/usr/share/alsa/"
fi
# ethtool, mcjoin to join a multicast group, and regpoke to stop a transmitter behind its
# driver's back, for the network tests.
[ -x /usr/sbin/ethtool ] && copy_program /usr/sbin/ethtool
gcc -O2 -Wall -o "$root/bin/mcjoin" "$repo/scripts/guest-tools/mcjoin.c"
gcc -O2 -Wall -o "$root/bin/regpoke" "$repo/scripts/guest-tools/regpoke.c"
# pcm_check, the PCM checks aplay cannot script, built here against the same libasound.
if [ -f /usr/include/alsa/asoundlib.h ]; then
	gcc -O2 -Wall -o "$root/bin/pcm_check" "$repo/scripts/guest-tools/pcm_check.c" -lasound -lm
fi
# Test sounds, made by scripts/audio.py on the host.
if [ -d "$(dirname "$kobj")/sounds" ]; then
	cp -r "$(dirname "$kobj")/sounds" "$root/sounds"
fi

# The same files give the same archive, byte for byte (fixed dates, order and inode numbers, no
# gzip time stamp): make bench's instruction-counting boots then repeat exactly.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio -o -0 -H newc --quiet --reproducible | gzip -1 -n) > "$out.tmp"
mv "$out.tmp" "$out"
