#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`, network part, guest A (192.0.2.1): brings up the 82574L driver, pings guest B,
# sends it 4 MiB and shows the interface's counters and the interrupts of each MSI-X vector.
# See net_run_b.sh.

. /scripts/net-lib.sh
. /scripts/net-e1000e.sh

say() {
	echo "irqsync-run: A: $*"
}

net_up $NET_A $NET_B $MAC_B || exit 1
say "eth0 up, $(cat /sys/class/net/$IF/address), driver $(basename "$(readlink /sys/class/net/$IF/device/driver)")"
wait_peer $NET_B 120 || exit 1
barrier_a > /dev/null
say "ping B:"
ping -c 5 $NET_B | sed 's/^/irqsync-run: A:   /'
dd if=/dev/urandom of=/tmp/out bs=1M count=4 2> /dev/null
say "sending 4 MiB to B, md5 $(md5sum < /tmp/out | cut -d' ' -f1)"
for i in $(seq 50); do
	nc $NET_B 5001 < /tmp/out > /dev/null 2>&1 && break
	usleep 200000
done
b=$(barrier_a)
say "B received md5 ${b#* }"
say "counters: rx $(stat rx_packets) frames $(stat rx_bytes) bytes, tx $(stat tx_packets) frames $(stat tx_bytes) bytes"
say "interrupts per MSI-X vector, each serviced by its own InterruptSync:"
vector_counts | while read -r name count; do
	say "  $name: $count"
done
rmmod $DRIVER && say "$DRIVER unloaded cleanly"
