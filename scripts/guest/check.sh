#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest tests of `make check`. The KUnit suites have already run during boot; this adds tests
# that need user space. Each result is a KTAP line (see ktap.sh), which the host counts; the
# host also counts as failed every name of a `result` or `skip` call (or of an
# "irqsync-expect:" comment) that never reported.

. /scripts/edu-tests.sh

. /scripts/ktap.sh

# KMEMLEAK kernels (the variant of make check): what boot and the KUnit suites left behind is
# reported, then forgotten, so that what the tests below leak is theirs.
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_scan() {
	echo scan > $KMEMLEAK
	sleep 6
	echo scan > $KMEMLEAK
	grep -c "^unreferenced object" $KMEMLEAK
}
if [ -e $KMEMLEAK ]; then
	leaks=$(kmemleak_scan)
	sed 's/^/irqsync-kmemleak: boot: /' $KMEMLEAK
	echo "irqsync-kmemleak: $leaks objects unreferenced after boot and KUnit"
	echo clear > $KMEMLEAK
fi

# The demo module runs its account at load time and must unload cleanly, every time.
failed=0
for i in 1 2 3 4 5; do
	insmod /modules/rust_irqsync_demo.ko || { failed=1; break; }
	rmmod rust_irqsync_demo || { failed=1; break; }
done
result $failed demo_loads_and_unloads_five_times "insmod or rmmod failed at round $i"

dmesg | grep -q "rust_irqsync_demo: demo finished" 
result $? demo_reports_its_account "the demo did not report its account"

grep -q rust_irqsync_demo /proc/modules
[ $? -ne 0 ]
result $? demo_leaves_no_module_behind "rust_irqsync_demo is still loaded"

# The module built outside the tree, against the built kernel, by scripts/build-oot.sh.
insmod /modules/rust_irqsync_oot.ko &&
	dmesg | grep -q "rust_irqsync_oot: 1000 of 1000 interrupts handled" &&
	rmmod rust_irqsync_oot
result $? out_of_tree_module_works "the out-of-tree module did not load, work and unload"

edu_tests
edu_hot_unplug_tests

if [ -e $KMEMLEAK ]; then
	leaks=$(kmemleak_scan)
	sed 's/^/irqsync-kmemleak: /' $KMEMLEAK
	[ "$leaks" -eq 0 ]
	result $? kmemleak_finds_no_leak_after_the_tests "$leaks unreferenced objects"
else
	skip kmemleak_finds_no_leak_after_the_tests "no KMEMLEAK in this kernel"
fi
