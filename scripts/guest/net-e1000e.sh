#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network tests of the 82574L driver only (irqsync.nic=e1000e), sourced by net_a.sh on guest A:
# its three MSI-X vectors, each counting the interrupts of its own causes, and its fallback to
# MSI and to the legacy line. Guest B answers pings meanwhile.

# Prints, for each line of the driver in /proc/interrupts in line order (receive, transmit,
# other: their vectors are allocated in that order), its name and its interrupts on all CPUs.
vector_counts() {
	awk -v driver="$DRIVER" '
		NR == 1 { cpus = NF; next }
		$NF ~ "^" driver {
			n = 0
			for (i = 2; i <= cpus + 1; i++)
				n += $i
			print $NF, n
		}' /proc/interrupts
}

# Prints what /proc/interrupts says of the driver's lines: each line's chip and name.
line_chips() {
	awk -v driver="$DRIVER" 'NR == 1 { cpus = NF; next }
		$NF ~ "^" driver { print $(cpus + 2), $NF }' /proc/interrupts
}

# Prints field $1 (1: receive, 2: transmit, 3: other) of the counts $2, as vector_counts
# prints them.
vector_count() {
	echo "$2" | awk -v n="$1" 'NR == n { print $2 }'
}

# The three vectors, named after their causes with one object each, or after the driver for
# a group; A's link has gone down and up since $1 was taken (counts of vector_counts).
msix_tests() {
	local before=$1 counts names after rx tx other
	counts=$(vector_counts)
	names=$(echo "$counts" | awk '{ printf "%s ", $1 }')
	note "vectors: $(line_chips | tr '\n' ' ')"
	case "$NIC_PARAMS" in
	*group_sync=1*) expected="$DRIVER $DRIVER $DRIVER " ;;
	*) expected="$DRIVER-rx $DRIVER-tx $DRIVER-other " ;;
	esac
	[ "$names" = "$expected" ] && [ "$(line_chips | grep -c PCI-MSIX)" = 3 ]
	result $? msix_three_vectors "lines: $(line_chips | tr '\n' ' ')"

	# The link went down and up: the other vector counted it.
	other=$(($(vector_count 3 "$counts") - $(vector_count 3 "$before")))
	[ "$other" -ge 2 ]
	result $? msix_other_vector_counts_link_changes "$other interrupts on the other vector"

	# Pings: the receive and transmit vectors count, the other does not.
	ping_all $NET_B 200
	after=$(vector_counts)
	rx=$(($(vector_count 1 "$after") - $(vector_count 1 "$counts")))
	tx=$(($(vector_count 2 "$after") - $(vector_count 2 "$counts")))
	other=$(($(vector_count 3 "$after") - $(vector_count 3 "$counts")))
	note "200 pings: $rx receive, $tx transmit and $other other interrupts"
	[ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] && [ "$other" -eq 0 ]
	result $? msix_vectors_count_their_causes "$rx receive, $tx transmit, $other other interrupts"
}

# Loads the driver again with interrupt_type=1 (MSI), then 2 (the legacy line): one line, of
# the right chip, carries the traffic; interrupt_type=7 is refused. Then loads it as the
# command line says, with MSI-X.
# irqsync-expect: fallback_to_msi fallback_to_legacy_line
fallback_tests() {
	local type name chip counts
	for type in 1 2; do
		case $type in
		1) name=fallback_to_msi chip=PCI-MSI- ;;
		2) name=fallback_to_legacy_line chip=IO-APIC ;;
		esac
		rmmod "$DRIVER" &&
			net_up $NET_A $NET_B $MAC_B "interrupt_type=$type" &&
			wait_peer $NET_B 20 && ping_all $NET_B 100
		status=$?
		counts=$(vector_counts)
		note "interrupt_type=$type: $(line_chips | tr '\n' ' '), $(echo "$counts" | tr '\n' ' ')"
		[ $status -eq 0 ] && [ "$(echo "$counts" | wc -l)" = 1 ] &&
			[ "$(echo "$counts" | awk '{ print $2 }')" -gt 0 ] &&
			line_chips | grep -q "^$chip"
		result $? $name "$(line_chips | tr '\n' ' ') $(echo "$counts" | tr '\n' ' ')"
	done
	# A type that does not exist: the probe refuses it, and says why.
	rmmod "$DRIVER" && insmod "/modules/$DRIVER.ko" interrupt_type=7 && sleep 1 &&
		[ ! -e /sys/class/net/$IF ] && dmesg | grep -q "interrupt_type=7 is none of" &&
		rmmod "$DRIVER"
	result $? bad_interrupt_type_refused "$(dmesg | grep interrupt_type= | tail -1)"
	net_up $NET_A $NET_B $MAC_B && wait_peer $NET_B 20
	result $? reload_with_msix "the interface did not come up again"
}
