#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, network part, guest B: the receiver, with the Rust e1000 sample throughout.
# Sinks the bulk streams of net_bench_a.sh until A says it is done.

. /scripts/net-lib.sh

net_up $NET_B $NET_A $MAC_A || exit 1
(while :; do receive 5001 > /dev/null; done) &
sink=$!
# A connects to port 7001 when it is done; listening sends nothing meanwhile.
receive 7001 > /dev/null
kill $sink
