#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test of irqsync, counted in one summary.
#
#  - static: rustfmtcheck, Clippy and rustdoc warnings in the project's files (warnings are
#    errors), checkpatch on the C helpers and the C samples; the patch series of make patches
#    applied with git am to a clean tree and compared with the overlaid one, and checkpatch on
#    each of its patches;
#  - boot: negative builds (scripts/compile-fail.sh); the test kernel under QEMU (TCG, 2 vCPUs,
#    an edu device) runs the KUnit suites (each case counts) and the guest tests of
#    scripts/guest/check.sh; the kernel log must be clean;
#  - variant: the same boot on the KASAN, KMEMLEAK and PREEMPT_RT kernel; no leak after the
#    guest tests;
#  - audio: a boot with an ES1370 plays test tones (scripts/guest/audio.sh) and the host
#    analyses what QEMU recorded (scripts/audio.py);
#  - net: two guests, each with an Intel 82540EM, then an 82574L (per-vector and group
#    synchronization), driven by the e1000 family samples, joined by a stream netdev
#    (scripts/net-boot.sh), exchange traffic (scripts/guest/net_a.sh, net_b.sh,
#    net-e1000e.sh).
#
# Ends with "N passed, N failed" (", N skipped" when any were skipped); exits 1 on a failure.
#
# Usage: scripts/check.sh [AREA...]   (static, boot, variant, audio, net; all by default)

set -u

repo=$(realpath "$(dirname "$0")/..")
build=$repo/build
ksrc=$build/linux
tarball=/usr/src/linux-source-6.12.tar.xz
kobj=$build/kernel
logs=$build/logs
results=$build/results.txt
kmake=(make -s -C "$ksrc" O="$kobj" ARCH=x86_64 LLVM=1 -j"${JOBS:-$(nproc)}")
export PATH=$HOME/.cargo/bin:$PATH

mkdir -p "$logs"
: > "$results"

record() {
	local status=$1 name=$2 detail=${3:-}
	echo "$status $name $area" >> "$results"
	if [ -n "$detail" ]; then
		printf '%-4s %s: %s\n' "$status" "$name" "$detail"
	else
		printf '%-4s %s\n' "$status" "$name"
	fi
}

# The project's Rust files, as paths relative to the kernel tree.
project_rust_files() {
	(cd "$repo" && find rust samples out-of-tree -name '*.rs' | sort)
}

# Prints the warnings and errors of a rustc/Clippy/rustdoc log whose primary location is one
# of the project's files.
project_diagnostics() {
	python3 "$repo/scripts/rust_diagnostics.py" "$1" $(project_rust_files)
}

# Runs a command of the Rust toolchain; NAME passes if it succeeds with no warning or error
# located in the project's files.
rust_diagnostics_step() {
	local name=$1 log=$2 found
	shift 2
	if ! "$@" > "$log" 2>&1; then
		record FAIL "$name" "the command failed, see $log"
		return
	fi
	found=$(project_diagnostics "$log")
	if [ -z "$found" ]; then
		record PASS "$name"
	else
		record FAIL "$name" "$(echo "$found" | wc -l) warnings, see $log"
		echo "$found" | sed 's/^/     /'
	fi
}

static_checks() {
	echo "== static checks"
	# Tracked paths are plain names: no control characters, no spaces (a shell or awk slip that
	# creates such a file must not reach the repository).
	local bad_names
	bad_names=$(cd "$repo" && git ls-files -z | LC_ALL=C grep -z '[[:cntrl:] ]' | tr '\0' ' ' |
		cat -vT)
	if [ -z "$bad_names" ]; then
		record PASS tracked_names_plain
	else
		record FAIL tracked_names_plain "tracked paths with control characters or spaces: $bad_names"
	fi
	# The kernel's rustfmtcheck reaches the kernel crate's modules through lib.rs, but its
	# `find -type f` skips the symlinked samples: check every project file directly too.
	if "${kmake[@]}" rustfmtcheck > "$logs/rustfmt.log" 2>&1 &&
		(cd "$repo" && rustfmt --check --edition 2021 --config-path "$ksrc/.rustfmt.toml" \
			$(project_rust_files)) >> "$logs/rustfmt.log" 2>&1; then
		record PASS rustfmtcheck
	else
		record FAIL rustfmtcheck "see $logs/rustfmt.log"
	fi

	# Recompile the project's Rust code with Clippy: a build that did not recompile it would
	# show none of its warnings.
	rm -f "$kobj/rust/kernel.o"
	find "$kobj/samples/rust" -name 'rust_*.o' -delete
	rust_diagnostics_step clippy_clean "$logs/clippy.log" "${kmake[@]}" CLIPPY=1
	rust_diagnostics_step rustdoc_clean "$logs/rustdoc.log" "${kmake[@]}" rustdoc

	# checkpatch runs from the kernel tree: inside this repository's git checkout it takes the
	# patches for files of this repository.
	local f out
	for f in $(cd "$repo" && find rust samples -name '*.c' | sort); do
		out=$(cd "$ksrc" && ./scripts/checkpatch.pl -q -f "$repo/$f" 2>&1)
		if [ $? -eq 0 ] && [ -z "$out" ]; then
			record PASS "checkpatch:$f"
		else
			record FAIL "checkpatch:$f" "$(echo "$out" | head -1)"
			echo "$out" | head -20 | sed 's/^/     /'
		fi
	done

	# The series make patches exports: applied with git am to a clean tree, it must give the
	# overlaid tree, and pass checkpatch patch by patch.
	local status name detail
	if "$repo/scripts/make-patches.sh" "$tarball" "$build/patches" > "$logs/patches.log" 2>&1
	then
		record PASS patches_exported
		while read -r status name detail; do
			record "$status" "$name" "$detail"
		done < <("$repo/scripts/check-patches.sh" "$tarball" "$build/patches" "$ksrc")
	else
		record FAIL patches_exported "$(tail -1 "$logs/patches.log")"
	fi
}

# Counts the KUnit results of a console log, as the kernel's kunit.py reads them: every case
# of every suite, a crashed case or suite as a failure.
kunit_results() {
	python3 "$repo/scripts/kunit_results.py" "$ksrc" "$1"
}

# Builds the out-of-tree module and the initramfs for the kernel in KOBJ, boots it in check
# mode (KUnit suites, then scripts/guest/check.sh) with an edu device that the guest has
# unplugged over QMP, and records every result with PREFIX before its name. The module and
# the initramfs go beside KOBJ.
#
# Usage: check_boot PREFIX KOBJ LOG TIMEOUT [KERNEL_ARGS]
check_boot() {
	local prefix=$1 kdir=$2 log=$3 timeout=$4 append=${5:-}
	local dir
	dir=$(dirname "$kdir")
	if "$repo/scripts/build-oot.sh" "$kdir" "$dir/out-of-tree" > "$log.oot-build" 2>&1 &&
		[ -f "$dir/out-of-tree/rust_irqsync_oot.ko" ]; then
		record PASS "${prefix}out_of_tree_module_builds"
	else
		rm -rf "$dir/out-of-tree"
		record FAIL "${prefix}out_of_tree_module_builds" "see $log.oot-build"
	fi
	if ! "$repo/scripts/mkinitramfs.sh" "$kdir" "$dir/initramfs.cpio.gz"; then
		record FAIL "${prefix}initramfs" "mkinitramfs failed"
		return
	fi
	# The guest asks for the edu device to be unplugged; the watcher does it over QMP.
	local qmp=$dir/qmp-check.sock unplugged=$log.unplug
	: > "$log"
	"$repo/scripts/hotplug-watcher.sh" "$log" "$qmp" "$unplugged" "$timeout" &
	local watcher=$!
	if IRQSYNC_KERNEL=$kdir/arch/x86/boot/bzImage IRQSYNC_INITRD=$dir/initramfs.cpio.gz \
		"$repo/scripts/boot.sh" --mode check --log "$log" --timeout "$timeout" --quiet \
		--append "$append" -- -device edu,id=edu0 -qmp "unix:$qmp,server=on,wait=off"; then
		record PASS "${prefix}boot_completes"
	else
		record FAIL "${prefix}boot_completes" "see $log"
	fi
	kill $watcher 2>/dev/null
	wait $watcher 2>/dev/null
	if grep -q "device_del edu0: ok" "$unplugged" 2>/dev/null; then
		record PASS "${prefix}qmp_device_del_accepted"
	else
		record FAIL "${prefix}qmp_device_del_accepted" "$(cat "$unplugged" 2>/dev/null | tail -1)"
	fi

	local status name detail
	while read -r status name detail; do
		record "$status" "$prefix$name" "$detail"
	done < <(kunit_results "$log")

	for suite in rust_irq_sync rust_irq_sync_deferred rust_irq_sync_line_control rust_doctests_kernel; do
		if grep -q "# Subtest: $suite" "$log"; then
			record PASS "${prefix}kunit_suite_ran:$suite"
		else
			record FAIL "${prefix}kunit_suite_ran:$suite" "the suite did not run"
		fi
	done

	guest_results "$log" "${prefix}guest" "$repo/scripts/guest/check.sh" "$repo/scripts/guest/edu-tests.sh"
	check_log "$log" "$prefix"
}

boot_tests() {
	echo "== boot tests"
	# Negative builds: what the types forbid must not compile.
	local line
	while read -r line; do
		case "$line" in
		PASS*) record PASS "compile_fail:${line#PASS }" ;;
		FAIL*) line=${line#FAIL }; record FAIL "compile_fail:${line%%:*}" "${line#*: }" ;;
		esac
	done < <("$repo/scripts/compile-fail.sh" "$kobj" "$build/compile-fail")
	# Every PCI sample carries the alias of its ID table (pci_device_table!), by which udev
	# loads it when the device appears.
	local sample module
	for sample in rust_irqsync_edu:00001234:000011E8 rust_irqsync_es1370:00001274:00005000 \
		rust_irqsync_e1000:00008086:0000100E rust_irqsync_e1000e:00008086:000010D3; do
		IFS=: read -r module vendor device <<< "$sample"
		if modinfo -F alias "$(find "$kobj/samples" -name "$module.ko" | head -1)" 2>/dev/null |
			grep -qxF "pci:v${vendor}d${device}sv*sd*bc*sc*i*"; then
			record PASS "modalias:$module"
		else
			record FAIL "modalias:$module" "no alias pci:v${vendor}d${device}... in modinfo"
		fi
	done
	mkdir -p "$build/sounds"
	python3 "$repo/scripts/audio.py" generate "$build/sounds"
	check_boot "" "$kobj" "$logs/check-boot.log" 900
}

# The variant kernel: KASAN, KMEMLEAK and PREEMPT_RT (handlers are threads), no lockdep.
# Memory checking makes it about 12 times slower, and each PCI probe then takes half a minute
# in ACPI, whose _PRT, which routes INTx lines, runs past ACPICA's loop limit: the KUnit
# suites and the edu tests only, with 3 reloads instead of 20 and INTx skipped.
variant_tests() {
	echo "== variant kernel (KASAN, KMEMLEAK, PREEMPT_RT)"
	if [ ! -f "$build/variant/kernel/arch/x86/boot/bzImage" ]; then
		record FAIL variant:built "no variant kernel: make kernel-variant"
		return
	fi
	check_boot variant: "$build/variant/kernel" "$logs/variant-boot.log" 2400 \
		"irqsync.reloads=3 irqsync.intx=0"
}

# The names of the results the guest scripts SCRIPT... report: those of their `result` and
# `skip` calls with a literal name, and those listed on "# irqsync-expect:" lines for names made at run time.
expected_results() {
	sed -n -e '/^[[:space:]]*#[[:space:]]*irqsync-expect:/{s/^[^:]*:[[:space:]]*//p;d}' \
		-e '/^[[:space:]]*#/d' \
		-e 's/^\(.*[[:space:];&|]\)\{0,1\}result \(\$[?A-Za-z_]*\|[0-9]\) "\{0,1\}\([A-Za-z0-9_:]*\)"\{0,1\}\( .*\)\{0,1\}$/\3/p' \
		-e 's/^\(.*[[:space:];&|]\)\{0,1\}skip "\{0,1\}\([A-Za-z0-9_:]*\)"\{0,1\}\( .*\)\{0,1\}$/\2/p' \
		"$@" | tr ' ' '\n' | grep -v '^$' | sort -u
}

# Records the KTAP results of a log, each as PREFIX:NAME: those of the guest scripts, on lines
# holding "irqsync-test: ", or of the host's analysis of a capture, on lines holding
# "audio-test: " (see scripts/guest/ktap.sh), read by scripts/ktap_results.py with the kernel's
# kunit.py parse. With guest scripts named after the prefix, every result they would report and
# did not (the guest stopped early) is a failure.
guest_results() {
	local log=$1 prefix=$2 marker="irqsync-test: " status name detail
	shift 2
	[ $# -eq 0 ] && marker="audio-test: "
	local reported
	reported=$(mktemp)
	while read -r status name detail; do
		record "$status" "$name" "$detail"
		echo "${name#"$prefix:"}" >> "$reported"
	done < <(python3 "$repo/scripts/ktap_results.py" "$ksrc" "$log" "$marker" "$prefix")
	if [ $# -gt 0 ]; then
		for name in $(expected_results "$@"); do
			grep -qxF "$name" "$reported" ||
				record FAIL "$prefix:$name" "not run: the guest stopped before it, see $log"
		done
	fi
	rm -f "$reported"
}

# The ES1370 sample: the guest plays test tones with aplay, QEMU records what the card
# played, and the host analyses the recording.
audio_tests() {
	echo "== audio tests"
	local log=$logs/check-audio.log capture=$logs/check-audio.wav
	rm -f "$capture"
	if "$repo/scripts/boot.sh" --mode audio --log "$log" --timeout 600 --quiet -- \
		-audiodev "wav,id=snd0,path=$capture" -device ES1370,audiodev=snd0; then
		record PASS audio_boot_completes
	else
		record FAIL audio_boot_completes "see $log"
	fi
	guest_results "$log" audio "$repo/scripts/guest/audio.sh"
	if grep -q "rust_irqsync_es1370: DAC stopped for shutdown" "$log"; then
		record PASS audio:es1370_shutdown_stops_the_dac
	else
		record FAIL audio:es1370_shutdown_stops_the_dac "no shutdown report at power-off, see $log"
	fi
	check_log "$log"
	if [ -s "$capture" ]; then
		python3 "$repo/scripts/audio.py" analyse "$capture" 44100 22050 11025 \
			> "$logs/check-audio-analysis.log" 2>&1
		guest_results "$logs/check-audio-analysis.log" audio
	else
		record FAIL audio_capture "QEMU recorded nothing"
	fi
}

# The e1000 family samples: two guests exchange pings and 16 MiB transfers, compare their
# counters, and A's link goes down and up, by QMP and by ip link, its driver is unloaded and
# its NIC unplugged (QMP device_del), under traffic. The 82540EM driver on its legacy line,
# then the 82574L driver on its three MSI-X vectors, with one InterruptSync per vector and
# with one group for all, each also tested on MSI and on the legacy line.
net_tests() {
	echo "== network tests"
	net_run net net
	net_run e1000e e1000e --nic e1000e
	net_run e1000e-group e1000e_group --nic e1000e --params group_sync=1
}

# Runs the network tests once, logs named NAME, results prefixed PREFIX; the other arguments
# go to scripts/net-boot.sh.
#
# Usage: net_run NAME PREFIX [NET_BOOT_OPTIONS...]
net_run() {
	local name=$1 prefix=$2 lib=$repo/scripts/guest/net-lib.sh
	shift 2
	local extra=()
	[ $# -gt 0 ] && extra=("$repo/scripts/guest/net-e1000e.sh")
	if "$repo/scripts/net-boot.sh" "$@" --name "$name" net "$logs" 900; then
		record PASS "${prefix}_boots_complete"
	else
		record FAIL "${prefix}_boots_complete" "see $logs/$name-a.log and $logs/$name-b.log"
	fi
	if [ "$(grep -c ': ok$' "$logs/$name-link.txt" 2>/dev/null)" = 3 ]; then
		record PASS "$prefix:qmp_set_link_and_device_del_accepted"
	else
		record FAIL "$prefix:qmp_set_link_and_device_del_accepted" \
			"$(tr '\n' ' ' < "$logs/$name-link.txt" 2>/dev/null)"
	fi
	guest_results "$logs/$name-a.log" "$prefix" "$repo/scripts/guest/net_a.sh" "$lib" "${extra[@]}"
	guest_results "$logs/$name-b.log" "${prefix}_b" "$repo/scripts/guest/net_b.sh" "$lib"
	check_log "$logs/$name-a.log"
	check_log "$logs/$name-b.log"
}

# Fails on any report of a kernel bug, warning, lockdep splat, KASAN report, atomic sleep,
# stall or DMA mapping left behind (CONFIG_DMA_API_DEBUG: its other reports are warnings) in a
# console log.
check_log() {
	local log=$1 prefix=${2:-} bad
	bad=$(grep -E 'BUG:|WARNING:|Oops|Kernel panic|kernel BUG|general protection|KASAN|UBSAN|possible recursive locking|circular locking|inconsistent lock state|lockdep|sleeping function called from invalid context|scheduling while atomic|Call Trace:|nobody cared|rcu.*stall|hung_task|soft lockup|pending DMA allocations' "$log" \
		| grep -v -E 'RCU lockdep checking is enabled|lockdep: ' )
	if [ -z "$bad" ]; then
		record PASS "${prefix}kernel_log_clean:$(basename "$log")"
	else
		record FAIL "${prefix}kernel_log_clean:$(basename "$log")" "$(echo "$bad" | head -1)"
		echo "$bad" | head -20 | sed 's/^/     /'
	fi
}

# Areas to run: all by default, or those named (static, boot, variant, audio, net).
areas=${*:-static boot variant audio net}
area=
for area in $areas; do
	case $area in
	static) static_checks ;;
	boot) boot_tests ;;
	variant) variant_tests ;;
	audio) audio_tests ;;
	net) net_tests ;;
	*) record FAIL "area:$area" "no such area (static, boot, variant, audio, net)" ;;
	esac
done

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo
echo "Logs of the builds and boots:"
for log in "$logs"/*.log; do
	[ -e "$log" ] && echo "  $log"
done
echo "By area:"
for area in $areas; do
	case $area in
	static) what="static checks (format, Clippy, rustdoc, checkpatch, config)" ;;
	boot) what="abstractions and edu (KUnit, guest tests, lockdep kernel)" ;;
	variant) what="KASAN, KMEMLEAK and PREEMPT_RT kernel (KUnit, edu)" ;;
	audio) what="audio (ES1370)" ;;
	net) what="network (82540EM, 82574L per vector and group; two guests)" ;;
	*) what=$area ;;
	esac
	awk -v area="$area" -v what="$what" '
		$3 == area { n[$1]++ }
		END { printf "  %-62s %d passed, %d failed, %d skipped\n", what ":", n["PASS"], n["FAIL"], n["SKIP"] }
	' "$results"
done
if [ "$failed" -gt 0 ]; then
	echo "Failed:"
	grep '^FAIL ' "$results" | sed 's/^FAIL \([^ ]*\).*/  \1/'
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
