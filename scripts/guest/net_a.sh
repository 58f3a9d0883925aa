#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network tests, guest A (192.0.2.1): drives the tests and reports them. Guest B (net_b.sh)
# runs the other half of each step; the host (scripts/link-watcher.sh) takes A's link down and
# up, and unplugs A's NIC, when A asks. See net-lib.sh.

. /scripts/net-lib.sh

# Compares the counter deltas of A ($2) with those B sent ($3) for the step $1: every frame one
# sent, the other received, byte for byte.
compare_counters() {
	local name=$1 mine=$2 theirs=$3
	set -- $mine $theirs
	# $1..$4: A's rx and tx packets, rx and tx bytes; $5..$8: B's.
	if [ "$2" = "$5" ] && [ "$4" = "$7" ] && [ "$1" = "$6" ] && [ "$3" = "$8" ] &&
		[ "$2" -gt 0 ] && [ "$1" -gt 0 ]; then
		note "$name: A sent $2 frames ($4 bytes), B received $5 ($7 bytes);" \
			"B sent $6 ($8 bytes), A received $1 ($3 bytes)"
		result 0 "stats_match:$name"
	else
		result 1 "stats_match:$name" "A sent $2/$4 B received $5/$7, B sent $6/$8 A received $1/$3"
	fi
}

net_up $NET_A $NET_B $MAC_B
result $? e1000_up "the interface did not come up with carrier"
address=$(cat /sys/class/net/$IF/address)
[ "$address" = "$MAC_A" ]
result $? mac_from_eeprom "address $address, QEMU gave $MAC_A"
wait_peer $NET_B 120
result $? peer_reachable "B does not answer"
ip link set $IF mtu 3000 2> /dev/null
[ $? -ne 0 ] && [ "$(cat /sys/class/net/$IF/mtu)" = 1500 ]
result $? mtu_above_buffer_refused "MTU 3000 accepted"

# 1000 pings each way, at once.
barrier_a > /dev/null
window_start
ping_all $NET_B 1000
result $? ping_1000_a_to_b "lost pings"
window_end
b=$(barrier_a)
compare_counters ping "$(counters_delta "$before" "$after")" "${b#* }"
# The driver's counts against the stack's: the echoes, plus the TCP segments that the end of
# the barrier's connection may still exchange in the window. busybox ping -A now and then
# sends one request more than -c asks (the reply to it arrives too), so at least 1000 each.
set -- $(counters_delta "$before" "$after") $(counters_delta "$stack_before" "$stack_after")
# $1..$4: rx and tx frames, rx and tx bytes; $5..$7: echo requests, echo replies and TCP
# segments sent; $8..$10: the same received.
note "ping: A sent $2 frames: $5 echo requests, $6 replies, $7 TCP segments;" \
	"it received $1: $8 requests, $9 replies, ${10} TCP segments"
[ "$5" -ge 1000 ] && [ "$6" -ge 1000 ] && [ "$2" = $(($5 + $6 + $7)) ] &&
	[ "$8" -ge 1000 ] && [ "$9" -ge 1000 ] && [ "$1" = $(($8 + $9 + ${10})) ]
result $? ping_frames_counted \
	"A's driver counted $2 frames sent and $1 received; the stack $5+$6+$7 and $8+$9+${10}"

# 16 MiB each way over TCP; the checksums must match.
dd if=/dev/urandom of=/tmp/out bs=1M count=16 2> /dev/null
sent=$(md5sum < /tmp/out)
barrier_a > /dev/null
window_start
receive 5001 > /tmp/in
start=$(date +%s)
for i in $(seq 100); do
	nc $NET_B 5002 < /tmp/out > /dev/null 2>&1 && break
	usleep 200000
done
seconds=$(($(date +%s) - start))
window_end
b=$(barrier_a)
set -- $b
received=$(md5sum < /tmp/in)
size=$(wc -c < /tmp/in)
[ "${received%% *}" = "$2" ]
result $? transfer_16MiB_b_to_a "received $size bytes, md5 ${received%% *}, B sent $2"
[ "$3" = "${sent%% *}" ]
result $? transfer_16MiB_a_to_b "B received md5 $3, A sent ${sent%% *}"
note "16 MiB A to B in about ${seconds}s"
compare_counters transfer "$(counters_delta "$before" "$after")" "$4 $5 $6 $7"
rm -f /tmp/in /tmp/out

# A frame longer than B's MTU: B drops and counts it.
barrier_a > /dev/null
ip link set $IF mtu 1800
neigh_again $NET_B $MAC_B
out=$(ping -c 5 -s 1700 -W 2 $NET_B 2>&1)
ip link set $IF mtu 1500
neigh_again $NET_B $MAC_B
b=$(barrier_a)
set -- $b
echo "$out" | grep -q "5 packets transmitted, 0 packets received" && [ "$2" = 5 ]
result $? oversize_frame_dropped_and_counted \
	"$(echo "$out" | grep transmitted), B counted $2 length errors"

# The link goes down and up (QEMU's set_link, asked of the host).
note "set_link off"
wait_carrier 0 20
result $? link_down_seen "the carrier stayed on"
! ping -c 2 -W 1 $NET_B > /dev/null 2>&1
result $? no_traffic_while_link_down "a ping was answered"
note "set_link on"
wait_carrier 1 30
result $? link_up_seen "the carrier stayed off"
wait_peer $NET_B 20
result $? traffic_after_link_up "B does not answer"

# ip link set down and up, three times, with pings flowing both ways.
barrier_a > /dev/null
ping -A -w 15 $NET_B > /dev/null 2>&1 &
flood=$!
failed=0
for i in 1 2 3; do
	sleep 2
	ip link set $IF down || failed=1
	sleep 1
	ip link set $IF up || failed=1
	neigh_again $NET_B $MAC_B
	wait_carrier 1 20 || failed=1
done
wait $flood
result $failed link_down_up_during_traffic "ip link or the carrier failed"
barrier_a > /dev/null
ping_all $NET_B 100
result $? traffic_after_down_up "lost pings"

# rmmod with pings flowing both ways, then load again.
barrier_a > /dev/null
ping -A -w 10 $NET_B > /dev/null 2>&1 &
flood=$!
sleep 3
rmmod rust_irqsync_e1000
result $? rmmod_during_traffic "rmmod failed"
[ ! -e /sys/class/net/$IF ]
result $? interface_gone_after_rmmod "$IF still exists"
wait $flood
net_up $NET_A $NET_B $MAC_B
result $? reload_after_rmmod "the interface did not come up again"
barrier_a > /dev/null
wait_peer $NET_B 20 && ping_all $NET_B 100
result $? traffic_after_reload "lost pings"

# Hot-unplug: QEMU takes A's NIC away (QMP device_del, asked of the host) while pings flow
# both ways. The driver lets go of the device; the module then unloads cleanly.
barrier_a > /dev/null
ping -A -w 8 $NET_B > /dev/null 2>&1 &
flood=$!
sleep 2
note "device_del nic0"
gone=1
for i in $(seq 300); do
	[ -e /sys/class/net/$IF ] || { gone=0; break; }
	usleep 100000
done
result $gone hot_unplug_removes_interface "$IF still exists 30 s after device_del"
wait $flood
rmmod rust_irqsync_e1000
result $? rmmod_after_hot_unplug "rmmod failed"
