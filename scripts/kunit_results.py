#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the KUnit results of a console log as the kernel's own parser reads them
(tools/testing/kunit/kunit.py parse --json), one line per case:
"PASS|FAIL|SKIP kunit:SUITE.CASE [DETAIL]". A case that crashed is a failure ("ERROR"), and so
is a suite that crashed before its first case; a log the parser gives no results for is one
failure of its own, "kunit:parse".

Usage: kunit_results.py KERNEL_TREE LOG
"""

import json
import os
import subprocess
import sys
import tempfile


def cases(group, prefix):
    """Yields (status, name) for every case of `group` and of its sub-groups."""
    for case in group.get('test_cases', []):
        yield case['status'], prefix + case['name']
    for sub in group.get('sub_groups', []):
        yield from cases(sub, f'{prefix}{sub["name"]}.')


def parse(tree, log):
    """Returns what `kunit.py parse --json` makes of `log`, or None if it gives nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'results.json')
        subprocess.run(
            [sys.executable, os.path.join(tree, 'tools/testing/kunit/kunit.py'), 'parse',
             f'--json={path}', log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def main(argv):
    tree, log = argv[1], argv[2]
    results = parse(tree, log)
    if results is None:
        print('FAIL kunit:parse kunit.py parse gave no results')
        return
    found = False
    for status, name in cases(results, ''):
        found = True
        if status in ('PASS', 'SKIP'):
            print(f'{status} kunit:{name}')
        else:
            print(f'FAIL kunit:{name} {status}')
    if not found:
        print('FAIL kunit:parse no KUnit results in the log')


if __name__ == '__main__':
    main(sys.argv)
