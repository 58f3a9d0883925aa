#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest test results in KTAP (Documentation/dev-tools/ktap.rst), printed as the kernel's
# tools/testing/selftests/kselftest/ktap_helpers.sh prints them: a version line, then
# "ok N name", "not ok N name # reason" and "ok N name # SKIP reason". Each line starts with
# "irqsync-test: ", by which the host finds them among the kernel's messages on the console
# before it reads them with tools/testing/kunit/kunit.py parse. The version line comes with the
# first result of a boot, and the numbers run on across the boot's scripts and subshells.
# Sourced by the guest scripts that report results.

KTAP_PREFIX="irqsync-test: "
KTAP_COUNTER=/tmp/ktap-counter

# Sets KTAP_NUMBER to the number of the next result, printing the version line first if it is
# the boot's first.
ktap_next() {
	if [ -f $KTAP_COUNTER ]; then
		KTAP_NUMBER=$(($(cat $KTAP_COUNTER) + 1))
	else
		echo "${KTAP_PREFIX}KTAP version 1"
		KTAP_NUMBER=1
	fi
	echo $KTAP_NUMBER > $KTAP_COUNTER
}

# Reports test $2 as passed if $1 is 0, and as failed for reason $3 otherwise.
result() {
	ktap_next
	if [ "$1" -eq 0 ]; then
		echo "${KTAP_PREFIX}ok $KTAP_NUMBER $2"
	else
		echo "${KTAP_PREFIX}not ok $KTAP_NUMBER $2 # $3"
	fi
}

# Reports test $1 as skipped, for reason $2.
skip() {
	ktap_next
	echo "${KTAP_PREFIX}ok $KTAP_NUMBER $1 # SKIP $2"
}
