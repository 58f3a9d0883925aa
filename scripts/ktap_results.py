#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the KTAP results carried by the lines of a log that hold PREFIX (the guest scripts'
"irqsync-test: ", scripts/audio.py's "audio-test: ") as the kernel's own parser reads them
(tools/testing/kunit/kunit.py parse --json), one line per test: "PASS|FAIL|SKIP NAME:TEST
[REASON]", the reason being what follows "#" on the test's line. Text before PREFIX on a line
(kernel messages the console printed into it) is ignored; a kernel message printed into the
middle of a line, after PREFIX, is cut out, and the rest of the guest's line, which follows the
message on the next line, joined back. A log whose lines the parser gives no results for is one
failure of its own, "NAME:parse".

Usage: ktap_results.py KERNEL_TREE LOG PREFIX NAME
"""

import os
import re
import sys
import tempfile

from kunit_results import parse

RESULT = re.compile(r'^(?:not )?ok [0-9]+ (?P<test>[^#]*?)\s*(?:# (?:SKIP\s*)?(?P<reason>.*))?$')
KERNEL_MESSAGE = re.compile(r'\[\s*[0-9]+\.[0-9]+\] ')


def ktap_lines(f, prefix):
    """Yields the KTAP text of each line of F that holds PREFIX, with the kernel messages the
    console printed into it cut out."""
    cut = None
    for raw in f:
        line = raw.rstrip('\r\n')
        if cut is not None:
            rest_follows = prefix not in line and not KERNEL_MESSAGE.match(line)
            yield cut + line if rest_follows else cut
            cut = None
            if rest_follows:
                continue
        _, found, ktap = line.partition(prefix)
        if not found:
            continue
        message = KERNEL_MESSAGE.search(ktap)
        if message:
            cut = ktap[:message.start()]
            continue
        yield ktap
    if cut is not None:
        yield cut


def main(argv):
    tree, log, prefix, name = argv[1:5]
    lines, reasons = [], {}
    with open(log, errors='replace') as f:
        for ktap in ktap_lines(f, prefix):
            lines.append(ktap)
            match = RESULT.match(ktap)
            if match and match['reason']:
                reasons[match['test']] = match['reason']
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'ktap.log')
        with open(path, 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        results = parse(tree, path)
    if results is None:
        print(f'FAIL {name}:parse kunit.py parse gave no results')
        return
    found = False
    for case in results.get('test_cases', []):
        found = True
        status, test = case['status'], case['name']
        reason = reasons.get(test, '')
        if status in ('PASS', 'SKIP'):
            print(f'{status} {name}:{test} {reason}'.rstrip())
        else:
            print(f'FAIL {name}:{test} {reason or status}')
    if not found:
        print(f'FAIL {name}:parse no KTAP results in the log')


if __name__ == '__main__':
    main(sys.argv)
