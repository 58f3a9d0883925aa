#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Negative builds: each module of scripts/compile-fail/ breaks a rule that irqsync's types
# enforce, and must fail to build, as an out-of-tree module against the built kernel, with the
# error its "// expect: EXXXX" line names, located in its own file. Prints one line per case,
# "PASS NAME" or "FAIL NAME: why"; exits 1 if any case failed.
#
# Usage: scripts/compile-fail.sh KERNEL_BUILD_DIR WORK_DIR

set -u

kobj=$(realpath "$1")
work=$(realpath -m "$2")
repo=$(realpath "$(dirname "$0")/..")
status=0

for src in "$repo"/scripts/compile-fail/*.rs; do
	name=$(basename "$src" .rs)
	code=$(sed -n 's|^// expect: \(E[0-9]*\)$|\1|p' "$src")
	dir=$work/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$src" "$dir/"
	echo "obj-m := $name.o" > "$dir/Kbuild"
	if make -s -C "$kobj" M="$dir" LLVM=1 modules > "$dir/build.log" 2>&1; then
		echo "FAIL $name: it compiled, but must fail with $code"
		status=1
	elif [ -z "$code" ]; then
		echo "FAIL $name: no '// expect: EXXXX' line"
		status=1
	elif grep -A3 "^error\[$code\]" "$dir/build.log" | grep -q -- "--> .*$name.rs:"; then
		echo "PASS $name"
	else
		echo "FAIL $name: no error $code in $name.rs, see $dir/build.log"
		status=1
	fi
done
exit $status
