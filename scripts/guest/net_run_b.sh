#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`, network part, guest B (192.0.2.2): brings up the 82574L driver, pings guest A,
# receives A's 4 MiB and tells A its checksum.

. /scripts/net-lib.sh

say() {
	echo "irqsync-run: B: $*"
}

net_up $NET_B $NET_A $MAC_A || exit 1
say "eth0 up, $(cat /sys/class/net/$IF/address)"
wait_peer $NET_A 120 || exit 1
barrier_b ping
say "ping A:"
ping -c 5 $NET_A | sed 's/^/irqsync-run: B:   /'
receive 5001 > /tmp/in
say "received $(wc -c < /tmp/in) bytes from A"
barrier_b done 'md5sum < /tmp/in | cut -d" " -f1'
say "counters: rx $(stat rx_packets) frames $(stat rx_bytes) bytes, tx $(stat tx_packets) frames $(stat tx_bytes) bytes"
rmmod $DRIVER && say "$DRIVER unloaded cleanly"
