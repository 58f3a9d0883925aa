#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the table of `make bench` from the logs of its boots.

Usage: bench_report.py [--data DAT] COUNTED_LOG... --real-time AUDIO_LOG NET_LOG

COUNTED_LOG: logs of instruction-counting boots (QEMU -icount shift=0), whose lines
"irqsync-bench: c|rust NAME X.YY ns" count guest instructions per operation. Each operation ran
at least twice per side in the boot: the table shows the lowest count, and how far the others
were above it (timer ticks land in different places from one module load to the next). A boot
repeats exactly, so two runs of make bench print the same table.
AUDIO_LOG, NET_LOG: real-time boots (ES1370 periods; two e1000 guests), reported for reference.
--data DAT: also writes the counted rows to DAT, which scripts/bench-plot.gp draws.

Exits 1 if a result is missing or ran only once; a target missed is reported, not an error.
"""

import re
import statistics
import sys

# (operation, what it compares, target ratio Rust / C at most)
COUNTED = [
    ('lock_roundtrip', 'call_synchronized(empty) vs spin_lock_irqsave + unlock', 1.00),
    ('isr_dispatch', '1 routine counting vs request_irq handler counting', 1.03),
    ('dispatch_normal_1', 'Normal, 1 routine vs C chain of function pointers', 1.03),
    ('dispatch_normal_4', 'Normal, 4 routines', None),
    ('dispatch_normal_16', 'Normal, 16 routines', None),
    ('dispatch_all_1', 'All, 1 routine vs C chain of function pointers', 1.03),
    ('dispatch_all_4', 'All, 4 routines', None),
    ('dispatch_all_16', 'All, 16 routines', None),
    ('edu_round_trip', 'edu: raise, routine, ack, seen by the writer (MSI)', 1.02),
    ('e1000_pktgen_frame', 'e1000: pktgen 64-byte frame sent', 1.02),
    ('e1000_tcp_mib', 'e1000: TCP MiB, both ends in one guest', 1.02),
    ('e1000e_pktgen_frame', 'e1000e: pktgen 64-byte frame sent, MSI-X', 1.02),
    ('e1000e_tcp_mib', 'e1000e: TCP MiB, both ends in one guest, no TSO', 1.02),
]

# Per-routine cost: the slope between the chains of 4 and 16 routines. The chain of 1 is left
# out: its routine is called inline, the others out of line, so that the step from 1 routine to
# 2 also costs the entry of that out-of-line part once (the rows of 4 routines show it).
SLOPES = [('normal', 'Normal'), ('all', 'All')]
SLOPE_RESOLUTION = 0.05


def counted_results(paths):
    """Returns {(operation, side): [counts in order]} from the instruction-counting logs."""
    results = {}
    for path in paths:
        for line in open(path, errors='replace'):
            m = re.search(r'irqsync-bench: (c|rust) (\w+) ([\d.]+) ns', line)
            if m:
                results.setdefault((m.group(2), m.group(1)), []).append(float(m.group(3)))
    return results


def met(c, rust, target, tolerance):
    """Whether Rust met its target; `tolerance` is how far above target * C it may be,
    absolutely."""
    return rust <= target * c + tolerance + 1e-9


def row(name, c, rust, target, what, spread='', tolerance=0.0):
    """A line of the table."""
    ratio = rust / c
    verdict = '' if target is None else ('met' if met(c, rust, target, tolerance) else 'NOT met')
    target_text = '' if target is None else f'<= {target:.2f}'
    return (f'{name:<22}{c:>13.2f}{rust:>13.2f}{ratio:>8.3f}  {target_text:<8} {verdict:<8}'
            f'{spread:>8}  {what}')


def spread(counts):
    """How far above the lowest the highest count of an operation was, in percent."""
    return (max(counts) - min(counts)) / min(counts) * 100


def report_counted(results, rows):
    """Prints the counted table; appends (name, C, Rust, target, tolerance) to `rows`."""
    ok = True
    print('Instructions per operation: QEMU -icount shift=0 (1 ns = 1 guest instruction), '
          'one vCPU,')
    print('benchmark kernel (no debug options); C and Rust in the same boot.')
    print(f'{"operation":<22}{"C":>13}{"Rust":>13}{"ratio":>8}  {"target":<8} {"":<8}'
          f'{"spread":>8}  what')
    values = {}
    for name, what, target in COUNTED:
        c, rust = results.get((name, 'c')), results.get((name, 'rust'))
        if not c or not rust or len(c) < 2 or len(rust) < 2:
            print(f'{name:<22} missing results, or a side ran once: C {c}, Rust {rust}')
            ok = False
            continue
        values[name] = (min(c), min(rust))
        text = f'{max(spread(c), spread(rust)):.2f}%'
        print(row(name, min(c), min(rust), target, what, text))
        rows.append((name, min(c), min(rust), target, 0.0))
    for mode, label in SLOPES:
        first, last = values.get(f'dispatch_{mode}_4'), values.get(f'dispatch_{mode}_16')
        if first and last:
            c, rust = ((last[i] - first[i]) / 12 for i in (0, 1))
            # A difference of two counts, each known to a few hundredths of an instruction
            # (where timer ticks land): within SLOPE_RESOLUTION of C is as cheap as C.
            print(row(f'  per routine, {mode}', c, rust, 1.00,
                      f'{label}: each routine from the 5th to the 16th (16 vs 4) '
                      'vs a C indirect call',
                      tolerance=SLOPE_RESOLUTION))
            rows.append((f'per routine, {mode}', c, rust, 1.00, SLOPE_RESOLUTION))
    return ok


def report_audio(path):
    print()
    print('ES1370 period interrupts (real time)')
    print(f'{"stream":<22}{"asked Hz":>10}{"got Hz":>10}{"ratio":>8}{"jitter":>10}')
    audio = re.findall(r'irqsync-bench: audio period (\d+) frames, stopped at (\d+) Hz: '
                       r'(\d+) period intervals, mean (\d+) us, jitter (\d+) us',
                       open(path, errors='replace').read())
    if not audio:
        print('ES1370 results missing')
        return False
    for period, rate, intervals, mean, jitter in audio:
        asked = int(rate) / int(period)
        got = 1e6 / int(mean) if int(mean) else 0
        print(f'{rate + " Hz, " + period + " frames":<22}{asked:>10.2f}{got:>10.2f}'
              f'{got / asked:>8.3f}{jitter + " us":>10}  ({intervals} periods)')
    return True


def report_network(path):
    print()
    print('e1000 throughput between two guests (real time under TCG: varies up to 2x between')
    print('rounds; for reference only, the counted figures above are the measure)')
    print(f'{"":<22}{"C":>12}{"Rust":>12}{"ratio":>8}  (median of rounds)')
    net = re.findall(r'irqsync-bench: net (rust|c) round (\d+) pktgen64 (\d+) pps bulk (\d+) kB/s',
                     open(path, errors='replace').read())
    ok = True
    for index, name, unit in ((2, 'pktgen 64-byte frames', 'pps'), (3, 'TCP bulk', 'kB/s')):
        c = [int(r[index]) for r in net if r[0] == 'c']
        rust = [int(r[index]) for r in net if r[0] == 'rust']
        if not c or not rust or min(c + rust) == 0:
            print(f'{name:<22} missing results')
            ok = False
            continue
        cm, rm = statistics.median(c), statistics.median(rust)
        print(f'{name + " " + unit:<22}{cm:>12.0f}{rm:>12.0f}{rm / cm:>8.3f}'
              f'  (C {c}, Rust {rust})')
    return ok


def write_data(path, rows):
    """One line per counted row: "name" C Rust Rust/C target verdict, where the target is NaN
    if there is none and the verdict is 0 (no target), 1 (met) or 2 (not met)."""
    with open(path, 'w') as f:
        f.write('# bench_report.py: instructions per operation, for scripts/bench-plot.gp\n')
        f.write('# operation C Rust Rust/C target verdict(0 none, 1 met, 2 not met)\n')
        for name, c, rust, target, tolerance in rows:
            verdict = 0 if target is None else 1 if met(c, rust, target, tolerance) else 2
            f.write(f'"{name}" {c:.2f} {rust:.2f} {rust / c:.4f} '
                    f'{"NaN" if target is None else f"{target:.2f}"} {verdict}\n')


def main(argv):
    data = None
    if '--data' in argv[:-1]:
        at = argv.index('--data')
        data, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    if '--real-time' not in argv or len(argv) < argv.index('--real-time') + 3:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index('--real-time')
    counted, (audio, network) = argv[1:split], argv[split + 1:split + 3]
    rows = []
    ok = report_counted(counted_results(counted), rows)
    if data:
        write_data(data, rows)
    ok = report_audio(audio) and ok
    ok = report_network(network) and ok
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
