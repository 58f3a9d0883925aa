#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile [NIC=e1000|e1000e]: where the instructions of the counted TCP stream go, function
# by function, with the Rust sample and with the C driver (build/profile/NIC.txt).
#
# The benchmark kernel boots twice in an instruction-counting guest (boot.sh --icount), once per
# driver, with scripts/qemu-plugins/tb_count.c loaded into QEMU: the guest runs the 32 MiB TCP
# stream of make bench between two `sync`s, and the plugin counts the instructions of every
# kernel block that ran between them. scripts/tb_profile.py names the blocks with System.map
# and the modules' symbols the guest printed, and lists the functions whose counts differ most.
#
# Usage: scripts/profile.sh [e1000|e1000e]

set -e
nic=${1:-e1000}
case $nic in
e1000 | e1000e) ;;
*) echo "profile: NIC is e1000 or e1000e, not '$nic'" >&2; exit 1 ;;
esac

repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
kbench=$build/kernel-bench
logs=$build/logs
out=$build/profile
mkdir -p "$out" "$logs"

"$repo/scripts/bench-initramfs.sh" "$out/initramfs.cpio.gz"
gcc -shared -fPIC -O2 -Wall -fvisibility=hidden -o "$out/tb_count.so" \
	"$repo/scripts/qemu-plugins/tb_count.c"
marker=$(awk '$3 == "ksys_sync" { print $1 }' "$kbench/System.map")
[ -n "$marker" ] || { echo "profile: no ksys_sync in $kbench/System.map" >&2; exit 1; }

export IRQSYNC_KERNEL=$kbench/arch/x86/boot/bzImage IRQSYNC_INITRD=$out/initramfs.cpio.gz
for side in rust c; do
	echo "  PROFILE $nic, $side driver ($logs/profile-$nic-$side.log)"
	rm -f "$out/$nic-$side.counts"
	"$repo/scripts/boot.sh" --mode bench_net --log "$logs/profile-$nic-$side.log" --timeout 900 \
		--quiet --icount --append "irqsync.nic=$nic irqsync.profile=$side" -- \
		-plugin "$out/tb_count.so,out=$out/$nic-$side.counts,marker=$marker" \
		-netdev hubport,id=wire_a,hubid=0 -device "$nic,netdev=wire_a,mac=52:54:00:00:00:0a" \
		-netdev hubport,id=wire_b,hubid=0 -device "$nic,netdev=wire_b,mac=52:54:00:00:00:0b"
	[ -s "$out/$nic-$side.counts" ] ||
		{ echo "profile: no counts for the $side driver, see $logs/profile-$nic-$side.log" >&2; exit 1; }
done
python3 "$repo/scripts/tb_profile.py" "$kbench/System.map" \
	"$logs/profile-$nic-rust.log" "$out/$nic-rust.counts" \
	"$logs/profile-$nic-c.log" "$out/$nic-c.counts" | tee "$out/$nic.txt"
