#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the two guests of the network tests, A and B, each with an Intel 82540EM (or, with
# --nic e1000e, an 82574L), joined by QEMU's stream netdev over a unix socket (no user or tap
# back end, no host networking), and waits for both. A listens on the socket and B connects;
# A has a QMP socket, and scripts/link-watcher.sh takes A's link down and up when A asks.
#
# Usage: scripts/net-boot.sh [--nic MODEL] [--params PARAMS] [--name NAME]
#                            MODE LOG_DIR [TIMEOUT [QEMU_ARGS_A...]]
#   Runs modes MODE_a and MODE_b; logs LOG_DIR/NAME-a.log and NAME-b.log, and the watcher's
#   LOG_DIR/NAME-link.txt (NAME is MODE unless given). MODEL is QEMU's (e1000 by default);
#   the guests load the driver of the family sample for it, with the module parameters
#   PARAMS (comma-separated). Exits 1 if either guest did not finish.

set -u

nic=e1000 params= name=
while [ $# -gt 0 ]; do
	case "$1" in
	--nic) nic=$2; shift 2 ;;
	--params) params=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	*) break ;;
	esac
done
mode=$1 logs=$2 timeout=${3:-900}
name=${name:-$mode}
shift 3 2>/dev/null || shift $#
repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
run=$(mktemp -d /tmp/irqsync-net.XXXXXX)
trap 'rm -rf "$run"' EXIT

mkdir -p "$logs"
log_a=$logs/$name-a.log log_b=$logs/$name-b.log links=$logs/$name-link.txt
append="irqsync.nic=$nic${params:+ irqsync.nic_params=$params}"
: > "$log_a"
: > "$log_b"

"$repo/scripts/link-watcher.sh" "$log_a" "$run/qmp-a.sock" n0 "$links" "$timeout" &
watcher=$!

"$repo/scripts/boot.sh" --mode "${mode}_a" --log "$log_a" --timeout "$timeout" --quiet \
	--append "$append" -- \
	-netdev "stream,id=n0,server=on,addr.type=unix,addr.path=$run/wire.sock" \
	-device "$nic,id=nic0,netdev=n0,mac=52:54:00:00:00:0a" \
	-qmp "unix:$run/qmp-a.sock,server=on,wait=off" "$@" &
guest_a=$!
# B connects once A's QEMU listens.
for _ in $(seq 100); do
	[ -S "$run/wire.sock" ] && break
	sleep 0.1
done
"$repo/scripts/boot.sh" --mode "${mode}_b" --log "$log_b" --timeout "$timeout" --quiet \
	--append "$append" -- \
	-smp 1 -netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$run/wire.sock" \
	-device "$nic,netdev=n0,mac=52:54:00:00:00:0b" &
guest_b=$!

status=0
wait $guest_a || status=1
wait $guest_b || status=1
kill $watcher 2>/dev/null
wait $watcher 2>/dev/null
exit $status
