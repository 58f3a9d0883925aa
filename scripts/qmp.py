#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends one QMP command to a running QEMU and prints the reply.

Usage: scripts/qmp.py SOCKET COMMAND [ARGUMENTS-AS-JSON]

Exits 1 if QEMU answers with an error or does not answer within 10 seconds.
"""

import json
import socket
import sys


def main():
    path, command = sys.argv[1], sys.argv[2]
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    stream = sock.makefile('rw')

    def reply():
        # Skip events; return the first answer to a command.
        while True:
            line = stream.readline()
            if not line:
                raise SystemExit('qmp: QEMU closed the connection')
            message = json.loads(line)
            if 'return' in message or 'error' in message:
                return message

    json.loads(stream.readline())  # the greeting
    for request in ({'execute': 'qmp_capabilities'},
                    {'execute': command, 'arguments': arguments}):
        stream.write(json.dumps(request) + '\n')
        stream.flush()
        answer = reply()
        if 'error' in answer:
            print(f'qmp: {request["execute"]}: {answer["error"]}', file=sys.stderr)
            sys.exit(1)
    print(json.dumps(answer))


if __name__ == '__main__':
    main()
