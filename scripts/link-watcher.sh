#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host half of the link and hot-unplug tests: each time the guest prints
# "irqsync-net: set_link off" or "... on" on its console (LOG), asks QEMU over QMP to take the
# link of netdev NETDEV down or up, as pulling and plugging the cable would; on
# "irqsync-net: device_del ID", unplugs device ID. Appends what QEMU said to RESULT. Stops
# after TIMEOUT seconds, or when killed.
#
# Usage: scripts/link-watcher.sh LOG QMP_SOCKET NETDEV RESULT [TIMEOUT]

set -u

log=$1 socket=$2 netdev=$3 result=$4 timeout=${5:-600}
repo=$(realpath "$(dirname "$0")/..")

: > "$result"
done_count=0
for _ in $(seq $((timeout * 5))); do
	mapfile -t requests < <(tr -d '\r' < "$log" 2>/dev/null |
		sed -n 's/.*irqsync-net: \(set_link \(on\|off\)\|device_del [a-z0-9]*\)$/\1/p')
	while [ "$done_count" -lt "${#requests[@]}" ]; do
		read -r command argument <<< "${requests[$done_count]}"
		if [ "$command" = set_link ]; then
			up=false
			[ "$argument" = on ] && up=true
			arguments="{\"name\": \"$netdev\", \"up\": $up}"
		else
			arguments="{\"id\": \"$argument\"}"
		fi
		if "$repo/scripts/qmp.py" "$socket" "$command" "$arguments" > /dev/null 2>&1; then
			echo "$command $argument: ok" >> "$result"
		else
			echo "$command $argument: failed" >> "$result"
		fi
		done_count=$((done_count + 1))
	done
	sleep 0.2
done
