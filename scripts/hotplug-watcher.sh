#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host half of the hot-unplug test: waits until the guest prints
# "irqsync-hotplug: unplug ID" on its console (LOG), then asks QEMU over QMP to unplug the
# device ID with device_del, as a user pulling the card would. Writes what QEMU said to
# RESULT. Gives up after TIMEOUT seconds.
#
# Usage: scripts/hotplug-watcher.sh LOG QMP_SOCKET RESULT [TIMEOUT]

set -u

log=$1 socket=$2 result=$3 timeout=${4:-600}
repo=$(realpath "$(dirname "$0")/..")

rm -f "$result"
for _ in $(seq $((timeout * 5))); do
	id=$(sed -n 's/.*irqsync-hotplug: unplug \([a-z0-9]*\).*/\1/p' "$log" 2>/dev/null | head -1)
	if [ -n "$id" ]; then
		if "$repo/scripts/qmp.py" "$socket" device_del "{\"id\": \"$id\"}" > "$result" 2>&1; then
			echo "device_del $id: ok" >> "$result"
		else
			echo "device_del $id: failed" >> "$result"
		fi
		exit 0
	fi
	sleep 0.2
done
echo "the guest never asked for the unplug" > "$result"
