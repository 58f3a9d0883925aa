#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, network part, in one instruction-counting guest (boot.sh --icount): two e1000s
# (or, with irqsync.nic=e1000e, two 82574Ls) joined by a QEMU hub, driven by the Rust sample and
# by the kernel's C driver in turn. QEMU 7.2's 82574L turns TSO into IPv4 fragments, so the
# Rust e1000e sample has none, and the C e1000e runs without it too.
# A (MAC 52:54:00:00:00:0a) stays in the initial network namespace; B (52:54:00:00:00:0b) is
# moved into a namespace of its own, so that traffic between them crosses the wire.
#
#  - pktgen: A sends 100000 frames of 64 bytes to a MAC nobody has (the hub drops them): the
#    sending path alone, in guest instructions per frame;
#  - TCP bulk: A sends 32 MiB to B over TCP: both ends, in guest instructions per MiB.
#
# Under -icount shift=0 the guest clock advances one nanosecond per instruction, so pktgen's
# microseconds and /proc/timer_list's nanoseconds count instructions. Each driver runs twice,
# in alternation, to show that the counts repeat.

. /scripts/net-lib.sh

PKTGEN=/proc/net/pktgen
FRAMES=100000
BULK_MIB=32
NOBODY_MAC=02:00:00:00:00:99

# The interface whose MAC is $1.
interface_of() {
	local dev
	for dev in /sys/class/net/*; do
		[ "$(cat "$dev/address")" = "$1" ] && { basename "$dev"; return 0; }
	done
	return 1
}

# The guest clock, in nanoseconds (under -icount, instructions).
now_ns() {
	sed -n 's/^now at \([0-9]*\) nsecs$/\1/p' /proc/timer_list | head -1
}

# Runs $@ in B's network namespace.
in_b() {
	nsenter -t "$namespace" -n "$@"
}

# Loads driver module $1 and brings A up here and B up in its namespace.
drivers_up() {
	local if_a if_b
	insmod "$1" || return 1
	if_a=$(interface_of $MAC_A) && if_b=$(interface_of $MAC_B) || return 1
	ip link set "$if_b" netns "$namespace" || return 1
	ip link set "$if_a" up && ip addr add $NET_A/24 dev "$if_a" || return 1
	arp -i "$if_a" -s $NET_B $MAC_B || return 1
	in_b ip link set "$if_b" up && in_b ip addr add $NET_B/24 dev "$if_b" || return 1
	in_b arp -i "$if_b" -s $NET_A $MAC_A || return 1
	if [ "$NIC" = e1000e ]; then
		ethtool -K "$if_a" tso off 2> /dev/null
		in_b ethtool -K "$if_b" tso off 2> /dev/null
	fi
	IF=$if_a wait_carrier 1 20 || return 1
	wait_peer $NET_B 30
}

# The interrupts of the NICs so far (the PCI lines and MSI/MSI-X vectors: the other IO-APIC
# lines are the timer, the serial port, ACPI and the keyboard controller).
nic_interrupts() {
	awk '/IO-APIC|PCI-MSI/ && !/timer|ttyS|acpi|i8042|rtc/ { sum += $2 } END { print sum + 0 }' \
		/proc/interrupts
}

# Prints the instructions per frame of pktgen's 64-byte frames, in hundredths.
pktgen_run() {
	local usec
	echo "rem_device_all" > $PKTGEN/kpktgend_0
	echo "add_device $1" > $PKTGEN/kpktgend_0
	echo "count $FRAMES" > $PKTGEN/$1
	echo "pkt_size 64" > $PKTGEN/$1
	echo "clone_skb 0" > $PKTGEN/$1
	echo "delay 0" > $PKTGEN/$1
	echo "dst 192.0.2.99" > $PKTGEN/$1
	echo "dst_mac $NOBODY_MAC" > $PKTGEN/$1
	echo "start" > $PKTGEN/pgctrl
	usec=$(sed -n 's/^Result: OK: \([0-9]*\)(.*/\1/p' $PKTGEN/$1)
	[ -n "$usec" ] && echo $((usec * 1000 * 100 / FRAMES))
}

# Prints the instructions per MiB of a TCP stream from A to B.
bulk_run() {
	local start end sink
	in_b sh -c '. /scripts/net-lib.sh; receive 5001' > /dev/null &
	sink=$!
	sleep 1
	start=$(now_ns)
	dd if=/dev/zero bs=64k count=$((BULK_MIB * 16)) 2> /dev/null | nc $NET_B 5001 || return 1
	end=$(now_ns)
	wait $sink
	echo $(((end - start) / BULK_MIB))
}

# make profile (irqsync.profile=rust or c): one driver, the TCP stream only, between two
# `sync`s, which the instruction-counting plugin takes as the start and the end; then the
# driver's symbols, to name its code.
profile() {
	local name=$NIC
	[ "$1" = rust ] && name=$DRIVER
	drivers_up /modules/$name.ko || { echo "irqsync-profile: $name did not come up"; exit 1; }
	sync
	mib=$(bulk_run)
	sync
	echo "irqsync-profile: $1 ${NIC}_tcp_mib $mib"
	grep "\[$name\]" /proc/kallsyms | sed 's/^/irqsync-profile-symbol: /'
}

insmod /modules/pktgen.ko || { echo "irqsync-bench: no pktgen, expected one"; exit 1; }
[ -f /modules/$NIC.ko ] || { echo "irqsync-bench: no C $NIC module, expected one"; exit 1; }
unshare -n sleep 100000 &
namespace=$!
sleep 1

side=$(sed -n 's/.*irqsync\.profile=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ -n "$side" ]; then
	profile "$side"
	kill $namespace
	exit 0
fi

for round in 1 2; do
	sides="rust c"
	[ $round = 2 ] && sides="c rust"
	for side in $sides; do
		if [ $side = rust ]; then
			name=$DRIVER
		else
			name=$NIC
		fi
		module=/modules/$name.ko
		drivers_up $module || { echo "irqsync-bench: $name did not come up, expected it to"; exit 1; }
		irqs=$(nic_interrupts)
		frame=$(pktgen_run "$(interface_of $MAC_A)")
		irqs_frames=$(($(nic_interrupts) - irqs))
		irqs=$(nic_interrupts)
		mib=$(bulk_run)
		irqs_bulk=$(($(nic_interrupts) - irqs))
		[ -n "$frame" ] && [ -n "$mib" ] ||
			{ echo "irqsync-bench: $name gave no result, expected one"; exit 1; }
		echo "irqsync-bench: $side ${NIC}_pktgen_frame $((frame / 100)).$(printf %02d $((frame % 100))) ns"
		echo "irqsync-bench: $side ${NIC}_tcp_mib $mib.00 ns"
		echo "irqsync-bench-info: $side: $irqs_frames interrupts for $FRAMES frames," \
			"$irqs_bulk for $BULK_MIB MiB of TCP"
		rmmod $name || exit 1
	done
done
kill $namespace
