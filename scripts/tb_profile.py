#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Names the blocks scripts/qemu-plugins/tb_count.c counted and compares two runs.

Usage: tb_profile.py SYSTEM_MAP RUST_LOG RUST_COUNTS C_LOG C_COUNTS

Each block's instructions go to the function it starts in: a kernel symbol of SYSTEM_MAP, or a
module symbol the guest printed in its log (irqsync-profile-symbol: lines, from /proc/kallsyms).
Prints the totals, the totals by kind of code, and the functions whose counts differ most.
"""

import bisect
import collections
import sys

TEXT = set("tTwW")


def symbols(system_map, log):
    table = []
    with open(system_map) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[1] in TEXT:
                table.append((int(fields[0], 16), fields[2]))
    with open(log, errors="replace") as f:
        for line in f:
            if "irqsync-profile-symbol:" not in line:
                continue
            fields = line.split("irqsync-profile-symbol:", 1)[1].split()
            if len(fields) >= 4 and fields[1] in TEXT:
                table.append((int(fields[0], 16), f"{fields[2]} {fields[3]}"))
    table.sort()
    return [a for a, _ in table], [n for _, n in table]


def counts(system_map, log, path):
    addresses, names = symbols(system_map, log)
    total = collections.Counter()
    with open(path) as f:
        for line in f:
            address, instructions, runs = line.split()
            i = bisect.bisect_right(addresses, int(address, 16)) - 1
            total[names[i] if i >= 0 else "?"] += int(instructions) * int(runs)
    return total


def kind(name):
    if "[rust_irqsync" in name:
        return "Rust driver"
    if name.endswith("]"):
        return "C driver"
    if name.startswith("_R"):
        return "kernel crate"
    if name.startswith("rust_helper_"):
        return "C helpers"
    return "rest of the kernel"


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    system_map, rust_log, rust_counts, c_log, c_counts = sys.argv[1:]
    rust = counts(system_map, rust_log, rust_counts)
    c = counts(system_map, c_log, c_counts)
    print(f"instructions between the markers: Rust {sum(rust.values())}, C {sum(c.values())}, "
          f"Rust - C {sum(rust.values()) - sum(c.values())}")
    by_kind = collections.defaultdict(lambda: [0, 0])
    for name in set(rust) | set(c):
        by_kind[kind(name)][0] += rust[name]
        by_kind[kind(name)][1] += c[name]
    print(f"\n{'code':<20} {'Rust':>12} {'C':>12} {'Rust - C':>12}")
    for name, (r, k) in sorted(by_kind.items()):
        print(f"{name:<20} {r:>12} {k:>12} {r - k:>12}")
    print(f"\n{'Rust - C':>12} {'Rust':>12} {'C':>12}  function (most different first)")
    names = sorted(set(rust) | set(c), key=lambda n: -abs(rust[n] - c[n]))
    for name in names[:60]:
        print(f"{rust[name] - c[name]:>12} {rust[name]:>12} {c[name]:>12}  {name}")


if __name__ == "__main__":
    main()
