#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What the two guests of the network tests share: bringing up the driver of the e1000 family
# under test, barriers between the guests, and reading interface counters. Sourced by
# net_a.sh and net_b.sh.
#
# Guest A is 192.0.2.1 (MAC 52:54:00:00:00:0a) and guest B 192.0.2.2 (52:54:00:00:00:0b),
# joined by QEMU's stream netdev over a unix socket. Neighbours are static, so that the only
# frames on the wire are the tests' own.

# The NIC QEMU gave (irqsync.nic=e1000 or e1000e on the command line) names the driver, which
# is loaded with the module parameters of irqsync.nic_params= (comma-separated).
NIC=$(sed -n 's/.*irqsync\.nic=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
NIC=${NIC:-e1000}
DRIVER=rust_irqsync_$NIC
NIC_PARAMS=$(sed -n 's/.*irqsync\.nic_params=\([a-z0-9_=,]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
NET_A=192.0.2.1
NET_B=192.0.2.2
MAC_A=52:54:00:00:00:0a
MAC_B=52:54:00:00:00:0b
BARRIER_PORT=7000
IF=eth0

. /scripts/ktap.sh

note() {
	echo "irqsync-net: $*"
}

# Loads the driver, with the parameters $4 if given instead of those of the command line, and
# configures the interface with address $1, peer $2 and its MAC $3.
net_up() {
	insmod "/modules/$DRIVER.ko" ${4-$NIC_PARAMS} || return 1
	net_configure "$1" "$2" "$3"
}

# Configures the interface of a loaded driver as net_up does.
net_configure() {
	local address=$1 peer=$2 peer_mac=$3
	ip link set "$IF" up || return 1
	ip addr add "$address/24" dev "$IF" || return 1
	arp -i "$IF" -s "$peer" "$peer_mac" || return 1
	wait_carrier 1 20
}

# Loads the driver of the PCI device $1 as udev would: modprobe of the device's modalias,
# which the module's alias lines match (busybox's depmod indexes them), with the parameters of
# the command line.
load_by_modalias() {
	local modules
	modules=/lib/modules/$(uname -r)
	if [ ! -e "$modules/modules.alias" ]; then
		mkdir -p "$modules" && cp /modules/*.ko "$modules/" && depmod || return 1
	fi
	modprobe "$(cat "/sys/bus/pci/devices/$1/modalias")" $NIC_PARAMS &&
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" = "$DRIVER" ]
}

# Waits up to $2 seconds for the carrier of the interface to be $1.
wait_carrier() {
	local i
	for i in $(seq $(($2 * 10))); do
		[ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = "$1" ] && return 0
		usleep 100000
	done
	return 1
}

# Waits up to $2 seconds for $1 to answer a ping.
wait_peer() {
	local i
	for i in $(seq "$2"); do
		ping -c 1 -W 1 "$1" > /dev/null 2>&1 && return 0
	done
	return 1
}

# A barrier named $1 between the guests, which also carries a line of data from B to A:
# A listens and prints what B sends; B connects, retrying for up to 300 s, and sends "$1" and
# the output of the command $2, run at each attempt. Both return once both have arrived.
barrier_a() {
	receive $BARRIER_PORT
}

barrier_b() {
	local i
	for i in $(seq 1500); do
		echo "$1 $(eval "${2:-true}")" | nc $NET_A $BARRIER_PORT > /dev/null 2>&1 && return 0
		usleep 200000
	done
	note "barrier $1: A never answered"
	return 1
}

# Receives one TCP connection on port $1 and prints what it brings. The listener's input stays
# open (busybox nc stops reading the connection at the end of its input) and sends nothing.
receive() {
	{
		sleep 900 &
		echo $! > /tmp/receive-$1.pid
	} | nc -l -p "$1"
	kill "$(cat /tmp/receive-$1.pid)" 2> /dev/null
}

# Prints the counters of the interface: rx_packets tx_packets rx_bytes tx_bytes.
counters() {
	local s=/sys/class/net/$IF/statistics
	echo "$(cat $s/rx_packets) $(cat $s/tx_packets) $(cat $s/rx_bytes) $(cat $s/tx_bytes)"
}

# Prints what the IPv4 stack counted (/proc/net/snmp): echo requests and replies sent, TCP
# segments sent (first transmissions and retransmissions), echo requests and replies received,
# and TCP segments received.
stack_counters() {
	awk '$1 == "Icmp:" || $1 == "Tcp:" {
		if (!seen[$1]) {
			seen[$1] = 1
			for (i = 2; i <= NF; i++)
				name[$1 i] = $i
			next
		}
		for (i = 2; i <= NF; i++)
			value[$1 name[$1 i]] = $i
	}
	END {
		print value["Icmp:OutEchos"] + 0, value["Icmp:OutEchoReps"] + 0,
			value["Tcp:OutSegs"] + value["Tcp:RetransSegs"],
			value["Icmp:InEchos"] + 0, value["Icmp:InEchoReps"] + 0, value["Tcp:InSegs"] + 0
	}' /proc/net/snmp
}

# Prints the difference of two lines of counters $1 and $2, field by field.
counters_delta() {
	echo "$1 $2" | awk '{
		n = NF / 2
		for (i = 1; i <= n; i++)
			printf "%s%.0f", (i > 1 ? " " : ""), $(i + n) - $i
		print ""
	}'
}

stat() {
	cat /sys/class/net/$IF/statistics/$1
}

# Runs $2 pings of $1 as fast as answers come; succeeds if none was lost.
ping_all() {
	local out
	out=$(ping -c "$2" -A -q -W 2 "$1" 2>&1)
	echo "$out" | grep -q " $2 packets received" && return 0
	note "$(echo "$out" | tail -2 | tr '\n' ' ')"
	return 1
}

# Waits until the interface has received nothing for 3 s in a row (at most 120 s): the end of
# both guests' traffic.
wait_quiet() {
	local last now i quiet=0
	last=$(counters)
	for i in $(seq 120); do
		sleep 1
		now=$(counters)
		if [ "$now" = "$last" ]; then
			quiet=$((quiet + 1))
			[ $quiet -ge 3 ] && return 0
		else
			quiet=0
		fi
		last=$now
	done
	return 1
}

# A counted window: the step's traffic, and what is left of the barrier's TCP connection, is
# the only traffic between the two reads of the counters on each side. Both guests start it at once, right after a barrier; A reads its
# counters at the end as soon as the link is quiet, B waits $1 more seconds before going on
# to the next barrier, so that A has read first.
window_start() {
	sleep 3
	before=$(counters)
	stack_before=$(stack_counters)
	sleep 3
}

window_end() {
	wait_quiet
	after=$(counters)
	stack_after=$(stack_counters)
	sleep "${1:-0}"
}

# Puts the static neighbour back: taking the interface down flushes it.
neigh_again() {
	arp -i "$IF" -s "$1" "$2"
}
