#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host half of the link tests: each time the guest prints "irqsync-net: set_link off" or
# "... on" on its console (LOG), asks QEMU over QMP to take the link of netdev NETDEV down or
# up, as pulling and plugging the cable would. Appends what QEMU said to RESULT. Stops after
# TIMEOUT seconds, or when killed.
#
# Usage: scripts/link-watcher.sh LOG QMP_SOCKET NETDEV RESULT [TIMEOUT]

set -u

log=$1 socket=$2 netdev=$3 result=$4 timeout=${5:-600}
repo=$(realpath "$(dirname "$0")/..")

: > "$result"
done_count=0
for _ in $(seq $((timeout * 5))); do
	mapfile -t requests < <(tr -d '\r' < "$log" 2>/dev/null |
		sed -n 's/.*irqsync-net: set_link \(on\|off\)$/\1/p')
	while [ "$done_count" -lt "${#requests[@]}" ]; do
		state=${requests[$done_count]}
		up=false
		[ "$state" = on ] && up=true
		if "$repo/scripts/qmp.py" "$socket" set_link \
			"{\"name\": \"$netdev\", \"up\": $up}" > /dev/null 2>&1; then
			echo "set_link $netdev $state: ok" >> "$result"
		else
			echo "set_link $netdev $state: failed" >> "$result"
		fi
		done_count=$((done_count + 1))
	done
	sleep 0.2
done
