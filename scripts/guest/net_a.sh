#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network tests, guest A (192.0.2.1): drives the tests and reports them. Guest B (net_b.sh)
# runs the other half of each step; the host (scripts/link-watcher.sh) takes A's link down and
# up, and unplugs A's NIC, when A asks. See net-lib.sh.

. /scripts/net-lib.sh
# The 82574L's vectors and fallbacks.
[ "$NIC" = e1000e ] && . /scripts/net-e1000e.sh

# Whether the receiver of one direction of a step counted what the sender's driver counted:
# $2 frames and $3 bytes sent, $4 frames and $5 bytes received. Prints how many frames more the
# receiver counted.
#
# With $1 = exact, every frame one sent the other received, byte for byte: steps without TCP
# segmentation offload (TSO), such as pings.
#
# With $1 = tso, for steps in which the sending device cuts TCP frames into segments: the driver
# counts a frame it cuts as the segments the stack asked for (gso_segs) and their bytes, as the C
# driver does. QEMU 7.2's e1000 (process_tx_desc) sends one segment more, of headers alone, when
# the payload of such a frame is an exact multiple of the segment size (the real 82540EM does
# not), so the receiver may count more than was sent, by such extra frames and nothing else:
#   - the extra frames, E = received - sent frames, are at least 0;
#   - E = 0: the bytes are equal;
#   - E > 0: the extra bytes are E frames of one size H, the headers of the step's bulk
#     connection (all its segments carry the same options), with 60 <= H <= 134: Ethernet
#     14 + IPv4 up to 60 + TCP up to 60, padded to the 60-byte minimum;
#   - E <= sent / 2: each extra frame follows a frame cut into at least 2 segments, so there
#     are at most half as many extra frames as frames sent.
# A lost frame makes E negative, or leaves extra bytes that are not E frames of one header size,
# with one exception: a lost frame of headers alone (a pure ACK) as long as the extra frames is
# indistinguishable from one extra frame fewer. Only the exact steps would see that loss.
received_as_sent() {
	awk -v mode="$1" -v sent="$2" -v sent_bytes="$3" -v got="$4" -v got_bytes="$5" 'BEGIN {
		extra = got - sent
		extra_bytes = got_bytes - sent_bytes
		print extra
		if (extra == 0 && extra_bytes == 0)
			exit 0
		if (mode != "tso" || extra <= 0 || (2 * extra) > sent || (extra_bytes % extra) != 0)
			exit 1
		size = extra_bytes / extra
		if (size < 60 || size > 134)
			exit 1
		exit 0
	}'
}

# Compares the counter deltas of A ($2) with those B sent ($3) for the step $1, both ways, as
# received_as_sent $4 (exact unless given) says.
# irqsync-expect: stats_match:ping stats_match:transfer
compare_counters() {
	local name=$1 mine=$2 theirs=$3 mode=${4:-exact} extra_ab extra_ba ok_ab ok_ba
	set -- $mine $theirs
	# $1..$4: A's rx and tx packets, rx and tx bytes; $5..$8: B's.
	extra_ab=$(received_as_sent "$mode" "$2" "$4" "$5" "$7")
	ok_ab=$?
	extra_ba=$(received_as_sent "$mode" "$6" "$8" "$1" "$3")
	ok_ba=$?
	if [ $ok_ab -eq 0 ] && [ $ok_ba -eq 0 ] && [ "$2" -gt 0 ] && [ "$1" -gt 0 ]; then
		note "$name: A sent $2 frames ($4 bytes), B received $5 ($7 bytes);" \
			"B sent $6 ($8 bytes), A received $1 ($3 bytes);" \
			"header-only frames added by the device: $extra_ab and $extra_ba"
		result 0 "stats_match:$name"
	else
		result 1 "stats_match:$name" \
			"A sent $2/$4 B received $5/$7, B sent $6/$8 A received $1/$3 ($mode)"
	fi
}

net_up $NET_A $NET_B $MAC_B
result $? e1000_up "the interface did not come up with carrier"
address=$(cat /sys/class/net/$IF/address)
[ "$address" = "$MAC_A" ]
result $? mac_from_eeprom "address $address, QEMU gave $MAC_A"
wait_peer $NET_B 120
result $? peer_reachable "B does not answer"
ip link set $IF mtu 9001 2> /dev/null
[ $? -ne 0 ] && [ "$(cat /sys/class/net/$IF/mtu)" = 1500 ]
result $? mtu_above_9000_refused "MTU 9001 accepted"

# ethtool: the driver and its device, the link, the driver's counters, and offloads switched
# off and on with traffic: TCP connection attempts to B's closed port 9, which B refuses.
tx_offloaded() {
	ethtool -S $IF | awk '$1 == "tx_checksum_offload:" { print $2 }'
}
connection_attempts() {
	for i in $(seq "$1"); do
		nc -w 1 $NET_B 9 < /dev/null > /dev/null 2>&1
	done
}
# irqsync-expect: ethtool_driver_info ethtool_link_settings ethtool_statistics
# irqsync-expect: checksum_offload_off_takes_effect checksum_offload_on_takes_effect
# irqsync-expect: scatter_gather_switched_off_and_on
if command -v ethtool > /dev/null; then
	info=$(ethtool -i $IF)
	echo "$info" | grep -qx "driver: $DRIVER" &&
		echo "$info" | grep -qx "bus-info: $(basename "$(readlink /sys/class/net/$IF/device)")"
	result $? ethtool_driver_info "$(echo "$info" | head -4 | tr '\n' ' ')"
	link=$(ethtool $IF)
	echo "$link" | grep -q "Speed: 1000Mb/s" && echo "$link" | grep -q "Duplex: Full" &&
		echo "$link" | grep -q "Link detected: yes"
	result $? ethtool_link_settings "$(echo "$link" | grep -E "Speed|Duplex|Link det" | tr '\n' ' ')"
	statistics=$(ethtool -S $IF)
	note "ethtool -S: $(echo "$statistics" | tr -s ' \n' ' ')"
	echo "$statistics" | grep -q "^ *tx_checksum_offload: [0-9]" &&
		echo "$statistics" | grep -q "^ *tx_queue_stops: [0-9]"
	result $? ethtool_statistics "$(echo "$statistics" | tr -s ' \n' ' ')"
	ethtool -K $IF tx off && ethtool -k $IF | grep -qx "tx-checksumming: off"
	off=$?
	before=$(tx_offloaded)
	connection_attempts 10
	after=$(tx_offloaded)
	[ $off -eq 0 ] && [ "$after" = "$before" ]
	result $? checksum_offload_off_takes_effect "switched: $off, offloaded $before then $after"
	ethtool -K $IF tx on && ethtool -k $IF | grep -qx "tx-checksumming: on"
	on=$?
	before=$(tx_offloaded)
	connection_attempts 10
	after=$(tx_offloaded)
	[ $on -eq 0 ] && [ $((after - before)) -ge 10 ]
	result $? checksum_offload_on_takes_effect "switched: $on, offloaded $before then $after"
	ethtool -K $IF sg off && ethtool -k $IF | grep -qx "scatter-gather: off" &&
		ping_all $NET_B 10 && ethtool -K $IF sg on && ethtool -k $IF | grep -qx "scatter-gather: on"
	result $? scatter_gather_switched_off_and_on "$(ethtool -k $IF | grep -E "^(scatter|tcp-seg)")"
else
	result 1 ethtool_driver_info "no ethtool in the initramfs"
fi

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
# The transfers use TSO: B may receive header-only frames more than A sent, and A more than B.
compare_counters transfer "$(counters_delta "$before" "$after")" "$4 $5 $6 $7" tso
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

# Multicast through the chip's hash filter: B's driver receives frames to a group B joined,
# none to a group it did not, and every group's once B takes all multicast. B counts the
# multicast frames its driver received (the interface's multicast counter) in each phase.
multicast_send() {
	ping -c 20 -i 0.05 -W 1 -q "$1" > /dev/null 2>&1
}
ip route add 224.0.0.0/4 dev $IF
barrier_a > /dev/null
multicast_send 224.1.2.3
b=$(barrier_a)
joined=${b#* }
barrier_a > /dev/null
multicast_send 224.4.5.6
b=$(barrier_a)
other=${b#* }
barrier_a > /dev/null
multicast_send 224.4.5.6
b=$(barrier_a)
all=${b#* }
note "multicast frames B received: $joined of 20 to its group, $other of 20 to another," \
	"$all of 20 to another with allmulticast on"
[ "$joined" = 20 ]
result $? multicast_group_joined_received "B received $joined of 20 frames to its group"
[ "$other" = 0 ]
result $? multicast_group_not_joined_filtered "B received $other of 20 frames to another group"
[ "$all" = 20 ]
result $? allmulticast_receives_every_group "B received $all of 20 with allmulticast on"

# Jumbo frames: both ends take an MTU of 9000, and 4 MiB go from A to B in frames of up to
# 9014 bytes, which B's driver receives in pieces over several descriptors.
dd if=/dev/urandom of=/tmp/out bs=1M count=4 2> /dev/null
sent=$(md5sum < /tmp/out)
ip link set $IF mtu 9000
jumbo=$?
neigh_again $NET_B $MAC_B
barrier_a > /dev/null
for i in $(seq 100); do
	nc $NET_B 5003 < /tmp/out > /dev/null 2>&1 && break
	usleep 200000
done
b=$(barrier_a)
set -- $b
# $2: the MD5 B received; $3 and $5: the frames and bytes B received meanwhile.
ip link set $IF mtu 1500
neigh_again $NET_B $MAC_B
[ $jumbo -eq 0 ] && [ "$2" = "${sent%% *}" ]
result $? jumbo_mtu_9000_transfer "MTU set: $jumbo, B received md5 $2, A sent ${sent%% *}"
note "MTU 9000: B received $3 frames, $5 bytes"
[ "${3:-0}" -gt 0 ] && [ $((${5:-0} / ${3:-1})) -gt 4000 ]
result $? jumbo_frames_on_the_wire "B received $3 frames of $5 bytes in all"
rm -f /tmp/out

# The link goes down and up (QEMU's set_link, asked of the host).
[ "$NIC" = e1000e ] && vectors_before=$(vector_counts)
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
[ "$NIC" = e1000e ] && msix_tests "$vectors_before"

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
bdf=$(basename "$(readlink /sys/class/net/$IF/device)")
rmmod $DRIVER
result $? rmmod_during_traffic "rmmod failed"
[ ! -e /sys/class/net/$IF ]
result $? interface_gone_after_rmmod "$IF still exists"
wait $flood
load_by_modalias "$bdf"
result $? load_by_modalias "modprobe $(cat /sys/bus/pci/devices/$bdf/modalias) did not bind $DRIVER"
[ -e /sys/module/$DRIVER ] || insmod "/modules/$DRIVER.ko" $NIC_PARAMS
net_configure $NET_A $NET_B $MAC_B
result $? reload_after_rmmod "the interface did not come up again"
barrier_a > /dev/null
wait_peer $NET_B 20 && ping_all $NET_B 100
result $? traffic_after_reload "lost pings"

# Unbind through sysfs with pings flowing both ways, then bind again.
barrier_a > /dev/null
ping -A -w 10 $NET_B > /dev/null 2>&1 &
flood=$!
sleep 3
bdf=$(basename "$(readlink /sys/class/net/$IF/device)")
echo "$bdf" > /sys/bus/pci/drivers/$DRIVER/unbind && [ ! -e /sys/class/net/$IF ]
result $? unbind_during_traffic "unbind of $bdf failed or left $IF behind"
wait $flood
echo "$bdf" > /sys/bus/pci/drivers/$DRIVER/bind && ip link set "$IF" up &&
	ip addr add "$NET_A/24" dev "$IF" && arp -i "$IF" -s "$NET_B" "$MAC_B" && wait_carrier 1 20
result $? rebind_after_unbind "$bdf did not bind and come up again"
barrier_a > /dev/null
wait_peer $NET_B 20 && ping_all $NET_B 100
result $? traffic_after_rebind "lost pings"

# The transmitter stops, as a hung device's would: TCTL.EN is cleared behind the driver's back.
# Large pings from eight senders fill the ring (a socket's send buffer holds one ping of 41
# fragments in flight, not two), the queue stops, and the stack's watchdog reports it after
# 5 s; the driver's reset (stop and open) enables the transmitter again, and traffic flows.
resource=/sys/class/net/$IF/device/resource0 TCTL=0x400 TCTL_EN=2
timeouts=$(cat /sys/class/net/$IF/queues/tx-0/tx_timeout)
tctl=$(regpoke $resource $TCTL) && regpoke $resource $TCTL $((tctl & ~TCTL_EN)) > /dev/null
result $? transmitter_stopped "regpoke could not write TCTL"
senders=
for sender in 1 2 3 4 5 6 7 8; do
	ping -c 3 -i 0.2 -s 60000 -w 20 $NET_B > /dev/null 2>&1 &
	senders="$senders $!"
done
detected=1
for i in $(seq 300); do
	[ "$(cat /sys/class/net/$IF/queues/tx-0/tx_timeout)" -gt "$timeouts" ] && { detected=0; break; }
	usleep 100000
done
result $detected transmit_timeout_detected "the watchdog saw no timeout in 30 s"
wait $senders
wait_peer $NET_B 20 && ping_all $NET_B 100
result $? traffic_after_transmit_timeout "lost pings after the reset"
dmesg | grep -q "$IF: resetting after a transmit timeout"
result $? reset_after_transmit_timeout "the kernel log tells of no reset"

[ "$NIC" = e1000e ] && fallback_tests

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
rmmod $DRIVER
result $? rmmod_after_hot_unplug "rmmod failed"
