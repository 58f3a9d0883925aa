#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs one long step of the build with its whole output in a log, and shows a person one line
# when it starts, a line a minute while it runs, and one when it ends, with its duration. On
# failure it shows the end of the log; either way, the warnings and errors of the Rust
# compiler, Clippy or rustdoc that are located in the project's own files.
#
# Usage: scripts/build-step.sh WHAT LOG COMMAND...

set -u

what=$1 log=$2
shift 2
repo=$(realpath "$(dirname "$0")/..")

mkdir -p "$(dirname "$log")"
echo "  BUILD   $what (log: $log)"
start=$(date +%s)
"$@" > "$log" 2>&1 &
job=$!
while kill -0 $job 2>/dev/null; do
	for _ in $(seq 60); do
		kill -0 $job 2>/dev/null || break 2
		sleep 1
	done
	echo "          ... still building, $((($(date +%s) - start) / 60)) min"
done
wait $job
status=$?
seconds=$(($(date +%s) - start))
diagnostics=$(cd "$repo" && python3 scripts/rust_diagnostics.py "$log" \
	$(find rust samples out-of-tree -name '*.rs' 2>/dev/null))
[ -n "$diagnostics" ] && echo "$diagnostics" | sed 's/^/  /'
if [ $status -ne 0 ]; then
	echo "  FAILED  $what after ${seconds}s; the end of $log:"
	grep -v 'kallsyms\|KSYM_NAME_LEN' "$log" | tail -20
	exit $status
fi
echo "          done in $((seconds / 60))m$(printf %02d $((seconds % 60)))s"
