#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, network part, guest A: sends through the Rust e1000 sample and through the
# kernel's C e1000 driver in turn, in the same boot, to guest B (which runs the sample):
# pktgen's 64-byte frames (packets per second), then a 32 MiB TCP stream (throughput).
# Each round loads each driver in turn, the Rust one first in odd rounds and the C one first in
# even rounds, so that neither always follows the other's bulk transfer.

. /scripts/net-lib.sh

PKTGEN=/proc/net/pktgen

pktgen_run() {
	echo "rem_device_all" > $PKTGEN/kpktgend_0
	echo "add_device $IF" > $PKTGEN/kpktgend_0
	echo "count 100000" > $PKTGEN/$IF
	echo "pkt_size 64" > $PKTGEN/$IF
	echo "clone_skb 0" > $PKTGEN/$IF
	echo "delay 0" > $PKTGEN/$IF
	echo "dst $NET_B" > $PKTGEN/$IF
	echo "dst_mac $MAC_B" > $PKTGEN/$IF
	echo "start" > $PKTGEN/pgctrl
	sed -n 's/^ *\([0-9]*\)pps.*/\1/p' $PKTGEN/$IF
}

# The interrupts of the e1000's line so far.
interrupts() {
	sed -n 's/^ *11: *\([0-9]*\) .*/\1/p' /proc/interrupts
}

# The CPU's busy and idle time so far, in ticks.
cpu_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat
}

# The share of the CPU that was busy between two cpu_ticks lines $1 and $2, in percent.
busy_percent() {
	set -- $1 $2
	echo $(((($3 - $1) * 100) / (($3 - $1) + ($4 - $2) + 1)))
}

# Seconds since boot, in hundredths.
now() {
	sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime
}

bulk_run() {
	local start end
	start=$(now)
	dd if=/dev/zero bs=64k count=512 2> /dev/null | nc $NET_B 5001 || return 1
	end=$(now)
	# 32 MiB in (end - start) hundredths of a second, in kB/s.
	echo $((32 * 1024 * 100 / (end - start)))
}

driver_up() {
	insmod "$1" || return 1
	ip link set $IF up || return 1
	ip addr add $NET_A/24 dev $IF || return 1
	arp -i $IF -s $NET_B $MAC_B || return 1
	wait_carrier 1 20 || return 1
	wait_peer $NET_B 120
}

insmod /modules/pktgen.ko || { echo "irqsync-bench: no pktgen, expected one"; exit 1; }
[ -f /modules/e1000.ko ] || { echo "irqsync-bench: no C e1000 module, expected one"; exit 1; }
for round in $(seq 5); do
	sides="rust c"
	[ $((round % 2)) = 0 ] && sides="c rust"
	for side in $sides; do
		if [ $side = rust ]; then
			module=/modules/rust_irqsync_e1000.ko name=rust_irqsync_e1000
		else
			module=/modules/e1000.ko name=e1000
		fi
		driver_up $module || { echo "irqsync-bench: $name did not come up, expected it to"; exit 1; }
		irqs=$(interrupts)
		pps=$(pktgen_run)
		irqs=$(($(interrupts) - irqs))
		sleep 1
		bulk_irqs=$(interrupts)
		ticks=$(cpu_ticks)
		kbps=$(bulk_run)
		busy=$(busy_percent "$ticks" "$(cpu_ticks)")
		bulk_irqs=$(($(interrupts) - bulk_irqs))
		echo "irqsync-bench: net $side round $round pktgen64 ${pps:-0} pps bulk ${kbps:-0} kB/s" \
			"($irqs interrupts for 100000 frames; $bulk_irqs for 32 MiB, CPU $busy% busy)"
		rmmod $name || exit 1
	done
done
net_up $NET_A $NET_B $MAC_B || exit 1
echo end | nc $NET_B 7001
