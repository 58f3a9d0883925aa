#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network tests, guest B (192.0.2.2): the other half of each step of net_a.sh, which reports
# the results; B reports its own pings and what it measured through the barriers.

. /scripts/net-lib.sh

net_up $NET_B $NET_A $MAC_A
result $? e1000_up "the interface did not come up with carrier"
wait_peer $NET_A 120
result $? peer_reachable "A does not answer"

barrier_b ping
window_start
ping_all $NET_A 1000
result $? ping_1000_b_to_a "lost pings"
window_end 3
barrier_b ping-done 'counters_delta "$before" "$after"'

dd if=/dev/urandom of=/tmp/out bs=1M count=16 2> /dev/null
sent=$(md5sum < /tmp/out)
barrier_b transfer
window_start
for i in $(seq 100); do
	nc $NET_A 5001 < /tmp/out > /dev/null 2>&1 && break
	usleep 200000
done
receive 5002 > /tmp/in
received=$(md5sum < /tmp/in)
window_end 3
barrier_b transfer-done 'echo ${sent%% *} ${received%% *} $(counters_delta "$before" "$after")'
rm -f /tmp/in /tmp/out

errors=$(stat rx_length_errors)
barrier_b oversize
barrier_b oversize-done 'echo $(($(stat rx_length_errors) - errors))'

# Multicast: B joins group 224.1.2.3 (01:00:5e:01:02:03) only; A sends to it, then to
# 224.4.5.6, then to 224.4.5.6 again once B takes all multicast. Before each phase B notes its
# multicast counter, and after it reports what it received.
mcjoin 224.1.2.3 $NET_B 600 > /tmp/mcjoin.out 2>&1 &
joiner=$!
for i in $(seq 50); do
	grep -q joined /tmp/mcjoin.out && break
	usleep 100000
done
for phase in joined other all; do
	[ $phase = all ] && ifconfig $IF allmulti
	m=$(stat multicast)
	barrier_b multicast-$phase
	barrier_b multicast-$phase-done 'echo $(($(stat multicast) - m))'
done
ifconfig $IF -allmulti
kill $joiner

# Jumbo frames: B takes an MTU of 9000 and receives 4 MiB from A.
ip link set $IF mtu 9000
neigh_again $NET_A $MAC_A
before=$(counters)
barrier_b jumbo
receive 5003 > /tmp/in
barrier_b jumbo-done 'echo $(md5sum < /tmp/in | cut -d" " -f1) $(counters_delta "$before" "$(counters)")'
ip link set $IF mtu 1500
neigh_again $NET_A $MAC_A
rm -f /tmp/in

# A's link goes down and up meanwhile; then A takes its interface down and up.
barrier_b updown
ping -A -w 15 $NET_A > /dev/null 2>&1
barrier_b updown-done

barrier_b rmmod
ping -A -w 10 $NET_A > /dev/null 2>&1
barrier_b rmmod-done

barrier_b unbind
ping -A -w 10 $NET_A > /dev/null 2>&1
barrier_b unbind-done

# A's NIC is unplugged while both send.
barrier_b unplug
ping -A -w 8 $NET_A > /dev/null 2>&1
rmmod $DRIVER
result $? rmmod_at_end "rmmod failed"
