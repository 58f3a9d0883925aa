#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest tests of the edu sample driver (rust_irqsync_edu) on QEMU's `-device edu`. Sourced by
# check.sh, which provides result() and skip(). Every test that changes the binding puts it back.

EDU_MODULE=/modules/rust_irqsync_edu.ko
EDU_DRIVER=/sys/bus/pci/drivers/rust_irqsync_edu
# Reloads while interrupts fire: irqsync.reloads=N on the kernel command line, 20 by default
# (the KASAN kernel of make check, where each probe takes seconds, asks for fewer).
EDU_RELOADS=$(sed -n 's/.*irqsync\.reloads=\([0-9]*\).*/\1/p' /proc/cmdline)
EDU_RELOADS=${EDU_RELOADS:-20}

# The PCI address of the edu device (vendor 1234, device 11e8), or nothing.
edu_address() {
	for dev in /sys/bus/pci/devices/*; do
		if [ "$(cat "$dev/vendor")" = 0x1234 ] && [ "$(cat "$dev/device")" = 0x11e8 ]; then
			basename "$dev"
			return
		fi
	done
}

edu_dir() {
	echo "/sys/kernel/debug/rust_irqsync_edu-$EDU"
}

# Reads a debugfs file of the driver.
edu_get() {
	cat "$(edu_dir)/$1" 2>/dev/null
}

# Writes a debugfs file of the driver; the status is that of the write.
edu_set() {
	echo "$2" > "$(edu_dir)/$1"
}

# Writes a debugfs file and expects the write to fail with the message $3.
edu_set_fails_with() {
	local out
	out=$(sh -c "echo '$2' > '$(edu_dir)/$1'" 2>&1) && return 1
	case "$out" in
	*"$3"*) return 0 ;;
	*) echo "edu: writing $2 to $1 failed with '$out', expected '$3'"; return 1 ;;
	esac
}

expect_eq() {
	[ "$1" = "$2" ] && return 0
	echo "edu: $3: got '$1', expected '$2'"
	return 1
}

edu_load() {
	insmod $EDU_MODULE "$@" && [ -d "$(edu_dir)" ]
}

edu_unload() {
	rmmod rust_irqsync_edu && [ ! -d "$(edu_dir)" ]
}

# Unloads while a writer keeps opening the files: rmmod is refused while one is open, so it
# is tried again, up to 100 times.
edu_unload_between_writes() {
	for i in $(seq 100); do
		rmmod rust_irqsync_edu 2>/dev/null && break
		sleep 0.01
	done
	[ ! -d "$(edu_dir)" ] && ! grep -q "^rust_irqsync_edu " /proc/modules
}

edu_tests() {
	EDU=$(edu_address)
	if [ -z "$EDU" ]; then
		result 1 edu_device_present "no edu device on the PCI bus"
		return
	fi
	result 0 edu_device_present

	# Probe with MSI, the default.
	edu_load && expect_eq "$(edu_get interrupt_kind)" 1 "interrupt kind" &&
		expect_eq "$(edu_get vectors)" 1 "vectors" &&
		grep -q "PCI-MSI.*rust_irqsync_edu" /proc/interrupts
	result $? edu_probe_with_msi "the driver did not bind with one MSI vector"

	edu_set raise 10000 && expect_eq "$(edu_get raised)" 10000 "raised" &&
		expect_eq "$(edu_get handled)" 10000 "handled" &&
		expect_eq "$(edu_get unhandled)" 0 "unhandled" &&
		expect_eq "$(edu_get spurious)" 0 "spurious"
	result $? edu_msi_10000_interrupts_handled "not every raised interrupt was handled once"

	edu_set factorial 10 && expect_eq "$(edu_get factorial)" 3628800 "10!" &&
		edu_set factorial 12 && expect_eq "$(edu_get factorial)" 479001600 "12!"
	result $? edu_factorial_by_interrupt "wrong factorial"

	ok=0
	for size in 1 2 3 64 1000 4000 4095; do
		edu_set dma $size || { echo "edu: DMA round trip of $size bytes failed"; ok=1; }
	done
	[ $ok -eq 0 ] && expect_eq "$(edu_get dma)" 7 "round trips"
	result $? edu_dma_round_trips "a DMA round trip failed"

	edu_set register 0 && expect_eq "$(edu_get register)" 16777453 "identification register" &&
		edu_set_fails_with register 0x100000 "Invalid argument" &&
		edu_set_fails_with register 0xfffffffffffffffc "Invalid argument" &&
		edu_set_fails_with register 2 "Invalid argument"
	result $? edu_bar_offsets_checked "an out-of-range or unaligned BAR offset was not refused"

	edu_set_fails_with dma 0 "Invalid argument" && edu_set_fails_with dma 4096 "Invalid argument" &&
		edu_set_fails_with dma 100000000000 "Invalid argument" && expect_eq "$(edu_get dma)" 7 "round trips"
	result $? edu_dma_sizes_checked "a DMA size of 0 or too large was not refused"

	edu_set_fails_with connected 1 "Device or resource busy" &&
		edu_set connected 0 && expect_eq "$(edu_get connected)" 0 "connected" &&
		edu_set_fails_with raise 1 "No such device or address" &&
		edu_set connected 1 && edu_set raise 10 && expect_eq "$(edu_get raised)" 10010 "raised"
	result $? edu_connect_twice_is_busy "connect, disconnect and reconnect did not behave"

	echo "$EDU" > $EDU_DRIVER/unbind && [ ! -d "$(edu_dir)" ] &&
		echo "$EDU" > $EDU_DRIVER/bind && [ -d "$(edu_dir)" ] &&
		edu_set raise 100 && expect_eq "$(edu_get raised)" 100 "raised after rebind"
	result $? edu_unbind_and_rebind "unbind and bind through sysfs failed"

	# A count a user writes is bounded: too many is refused, not a CPU pinned for hours.
	edu_set_fails_with raise 18446744073709551615 "Invalid argument" &&
		edu_set_fails_with raise 100001 "Invalid argument" &&
		expect_eq "$(edu_get raised)" 100 "raised after refused counts"
	result $? edu_raise_huge_count_refused "a huge interrupt count was not refused"

	# A long raise ends when its writer is killed, well before the count is reached.
	sh -c "echo 100000 > $(edu_dir)/raise" 2>/dev/null &
	writer=$!
	sleep 0.3
	kill $writer
	ok=1
	for i in $(seq 20); do
		kill -0 $writer 2>/dev/null || { ok=0; break; }
		sleep 0.05
	done
	wait $writer 2>/dev/null
	raised=$(edu_get raised)
	[ $ok -eq 0 ] || echo "edu: the writer was still running 1 s after kill"
	[ $ok -eq 0 ] && [ "$raised" -gt 100 ] && [ "$raised" -lt 100100 ] ||
		{ echo "edu: raised $raised, expected a killed batch to stop between 100 and 100100"; false; }
	result $? edu_raise_interrupted_by_signal "a killed writer's raise did not stop early"

	# An open file keeps the module: rmmod is refused until it is closed, and closing it
	# afterwards is clean.
	exec 3< "$(edu_dir)/raised"
	refused=1
	rmmod rust_irqsync_edu 2>/dev/null || refused=0
	exec 3<&-
	[ $refused -eq 0 ] && grep -q "^rust_irqsync_edu " /proc/modules && edu_unload && edu_load
	result $? edu_open_file_holds_the_module "rmmod was not refused while a debugfs file was open"

	# Unbinding with a file open removes the files: the open one then fails with EIO, and the
	# device binds again.
	exec 3< "$(edu_dir)/raised"
	failed_read=1
	echo "$EDU" > $EDU_DRIVER/unbind && [ ! -d "$(edu_dir)" ] &&
		{ cat <&3 >/dev/null 2>&1 || failed_read=0; }
	exec 3<&-
	[ $failed_read -eq 0 ] && echo "$EDU" > $EDU_DRIVER/bind && edu_set raise 10 &&
		expect_eq "$(edu_get raised)" 10 "raised after rebind"
	result $? edu_unbind_with_open_file "unbind with an open debugfs file did not behave"

	# Load and unload while a writer keeps raising interrupts (and keeps opening the file, which
	# holds the module for as long as it is open).
	(while :; do echo 20 > "$(edu_dir)/raise"; done) 2>/dev/null &
	writer=$!
	ok=0
	for i in $(seq $EDU_RELOADS); do
		sleep 0.1
		edu_unload_between_writes || { ok=1; echo "edu: rmmod $i failed"; break; }
		edu_load || { ok=1; echo "edu: insmod $i failed"; break; }
	done
	kill $writer
	wait $writer 2>/dev/null
	[ $ok -eq 0 ] && edu_set raise 100 && [ "$(edu_get raised)" -ge 100 ]
	result $? edu_reloads_while_firing "rmmod/insmod while interrupts fire failed ($EDU_RELOADS rounds)"

	edu_unload
	result $? edu_unloads "rmmod failed"

	# Probe with INTx, unless the kernel command line says irqsync.intx=0: on the KASAN kernel
	# of make check, ACPI's _PRT, which routes the line, runs past ACPICA's 30 s loop limit.
	if grep -q "irqsync\.intx=0" /proc/cmdline; then
		for name in edu_probe_with_intx edu_intx_interrupts_factorial_and_dma edu_intx_unloads; do
			skip $name "INTx routing (ACPI _PRT) times out on this kernel"
		done
	else
		edu_intx_tests
	fi

	# More vectors than the device has: the probe fails with a clear message.
	dmesg -c >/dev/null
	insmod $EDU_MODULE vectors=2 && [ ! -d "$(edu_dir)" ] &&
		dmesg | grep -q "cannot allocate 2 interrupt vector(s)" &&
		dmesg | grep -q "$EDU: probe .*failed with error -28" &&
		rmmod rust_irqsync_edu
	result $? edu_too_many_vectors_refused "asking for 2 vectors did not fail clearly"
	rmmod rust_irqsync_edu 2>/dev/null

	edu_affinity_tests
}

# The line of the bound edu device, from /proc/interrupts.
edu_irq() {
	sed -n 's/^ *\([0-9]*\):.*rust_irqsync_edu$/\1/p' /proc/interrupts
}

# How many interrupts of line $1 CPU $2 took, from /proc/interrupts.
edu_irq_count() {
	awk -v irq="$1:" -v cpu="$2" '$1 == irq { print $(cpu + 2) }' /proc/interrupts
}

# The routine's statistics in debugfs. Affinity: the hint steers the MSI vector to the CPU asked
# for, and interrupts arrive there;
# managed affinity spreads it over all CPUs and refuses changes from user space.
edu_affinity_tests() {
	local irq before after
	if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
		skip edu_affinity_hint_steers_interrupts "needs two CPUs"
	else
		edu_load interrupt_cpu=1 && irq=$(edu_irq) &&
			expect_eq "$(cat "/proc/irq/$irq/smp_affinity_list")" 1 "smp_affinity_list" &&
			expect_eq "$(cat "/proc/irq/$irq/affinity_hint")" 2 "affinity_hint" &&
			before=$(edu_irq_count "$irq" 1) && edu_set raise 100 &&
			after=$(edu_irq_count "$irq" 1) &&
			expect_eq "$((after - before))" 100 "interrupts taken by CPU 1" &&
			edu_unload
		result $? edu_affinity_hint_steers_interrupts "the hint did not steer the interrupts"
		rmmod rust_irqsync_edu 2>/dev/null
	fi

	# Per-routine statistics: message, line, routine, calls, handled, longest_ns.
	edu_load && irq=$(edu_irq) && edu_set raise 10 &&
		grep -Eq "^0 $irq 0 1[0-9] 1[0-9] [1-9][0-9]*$" \
			"/sys/kernel/debug/irqsync/rust_irqsync_edu-$irq/routines" &&
		edu_unload && [ ! -e "/sys/kernel/debug/irqsync/rust_irqsync_edu-$irq" ]
	result $? edu_routine_statistics_in_debugfs "the routine's statistics are not in debugfs"
	rmmod rust_irqsync_edu 2>/dev/null

	edu_load managed_affinity=1 && irq=$(edu_irq) &&
		expect_eq "$(cat "/proc/irq/$irq/smp_affinity_list")" \
			"$(cat /sys/devices/system/cpu/online)" "managed smp_affinity_list" &&
		! sh -c "echo 1 > /proc/irq/$irq/smp_affinity" 2>/dev/null &&
		edu_set raise 10 && expect_eq "$(edu_get raised)" 10 "raised" &&
		edu_unload
	result $? edu_managed_affinity "managed affinity was not set up, or could be changed"
	rmmod rust_irqsync_edu 2>/dev/null
}

# The INTx half of edu_tests.
edu_intx_tests() {
	edu_load use_intx=1 && expect_eq "$(edu_get interrupt_kind)" 0 "interrupt kind" &&
		grep -q "IO-APIC.*rust_irqsync_edu" /proc/interrupts
	result $? edu_probe_with_intx "the driver did not bind to the INTx line"

	edu_set raise 2000 && expect_eq "$(edu_get raised)" 2000 "raised" &&
		expect_eq "$(edu_get spurious)" 0 "spurious" &&
		edu_set factorial 5 && expect_eq "$(edu_get factorial)" 120 "5!" &&
		edu_set dma 100 && expect_eq "$(edu_get dma)" 1 "round trips"
	result $? edu_intx_interrupts_factorial_and_dma "INTx operation failed"

	edu_unload
	result $? edu_intx_unloads "rmmod failed"
}

# Hot-unplug: the host removes the device with QMP device_del (scripts/hotplug-watcher.sh)
# while a writer keeps raising interrupts; the driver must let go cleanly. Run last: the
# device is gone afterwards.
edu_hot_unplug_tests() {
	EDU=$(edu_address)
	if [ -z "$EDU" ] || ! edu_load; then
		result 1 edu_hot_unplug_while_firing "no edu device to unplug"
		return
	fi
	(while :; do echo 20 > "$(edu_dir)/raise"; done) 2>/dev/null &
	writer=$!
	sleep 0.5
	echo "irqsync-hotplug: unplug edu0"
	gone=1
	for i in $(seq 300); do
		[ -e "/sys/bus/pci/devices/$EDU" ] || { gone=0; break; }
		sleep 0.1
	done
	kill $writer
	wait $writer 2>/dev/null
	[ $gone -eq 0 ] || echo "edu: the device is still there 30 s after device_del"
	[ $gone -eq 0 ] && [ ! -d "$(edu_dir)" ] && grep -q rust_irqsync_edu /proc/modules &&
		rmmod rust_irqsync_edu
	result $? edu_hot_unplug_while_firing "the device did not go away cleanly"
}
