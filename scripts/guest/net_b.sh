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
