#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: boots the kernel once, runs the C baseline and the Rust benchmark in turn, and
# prints nanoseconds per operation and the Rust/C ratio of each operation (fastest of all rounds
# on each side). A benchmark, not a test: it fails only if the boot or a module fails.

set -eu

repo=$(realpath "$(dirname "$0")/..")
log=$repo/build/logs/bench.log

"$repo/scripts/boot.sh" --mode bench --log "$log" --timeout 900 --quiet
if grep -q 'irqsync-bench: .* expected' "$log"; then
	grep 'irqsync-bench: .* expected' "$log" >&2
	exit 1
fi

python3 - "$log" <<'PY'
import re, sys
best = {}
for line in open(sys.argv[1], errors='replace'):
    m = re.search(r'irqsync-bench: (c|rust) (\w+) ([\d.]+) ns', line)
    if m:
        key = (m.group(2), m.group(1))
        best[key] = min(best.get(key, float('inf')), float(m.group(3)))
rows = [
    ('lock_roundtrip', 'call_synchronized(empty) vs spin_lock_irqsave+unlock'),
    ('isr_dispatch', 'InterruptSync, 1 routine vs request_irq handler'),
]
print('InterruptSync benchmark (QEMU TCG, 2 vCPUs, one boot; fastest round per side)')
print(f'{"operation":<16}{"C ns/op":>10}{"Rust ns/op":>12}{"ratio":>8}  target <= 1.05')
failed = False
for name, what in rows:
    c, r = best.get((name, 'c')), best.get((name, 'rust'))
    if c is None or r is None:
        print(f'{name:<16} missing results')
        failed = True
        continue
    ratio = r / c
    verdict = 'met' if ratio <= 1.05 else 'NOT met'
    print(f'{name:<16}{c:>10.2f}{r:>12.2f}{ratio:>8.3f}  {verdict}  ({what})')
sys.exit(1 if failed else 0)
PY
