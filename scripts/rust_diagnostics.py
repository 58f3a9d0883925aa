#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the warnings and errors of a rustc, Clippy or rustdoc log whose primary location is
one of the given files, one line each: "FILE:LINE: MESSAGE".

Usage: rust_diagnostics.py LOG FILE...
"""

import re
import sys


def main(argv):
    log = open(argv[1], errors='replace').read().splitlines()
    files = argv[2:]
    for i, line in enumerate(log):
        if not re.match(r'^(warning|error)(\[[A-Za-z0-9_]+\])?: ', line):
            continue
        if re.match(r'^(warning|error): (\d+ warnings?|aborting)', line):
            continue
        for follow in log[i + 1:i + 4]:
            m = re.match(r'^\s*--> (\S+?):(\d+):\d+', follow)
            if m:
                if any(m.group(1) == f or m.group(1).endswith('/' + f) for f in files):
                    print(f'{m.group(1)}:{m.group(2)}: {line}')
                break


if __name__ == '__main__':
    main(sys.argv)
