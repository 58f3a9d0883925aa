#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lays the irqsync overlay on a kernel tree: every file the project adds under rust/,
# samples/ and Documentation/ is linked in place (so an edit in the repository is what the
# next build sees), the project Kconfig is linked as irqsync/Kconfig, and the patch series
# under scripts/patches/ is applied once, and again after it changes. Refuses to shadow a
# file the kernel already has.
#
# Usage: scripts/overlay.sh KERNEL_TREE

set -eu

ksrc=$(realpath "$1")
repo=$(realpath "$(dirname "$0")/..")
cd "$repo"

link() {
	local src=$repo/$1 dst=$ksrc/$2

	if [ -L "$dst" ]; then
		[ "$(readlink "$dst")" = "$src" ] && return 0
		rm "$dst"
	elif [ -e "$dst" ]; then
		echo "overlay: $2 is a kernel file; the overlay only adds files" >&2
		exit 1
	fi
	mkdir -p "$(dirname "$dst")"
	ln -s "$src" "$dst"
}

# Links whose file was removed or renamed in the repository.
find "$ksrc/rust" "$ksrc/samples" "$ksrc/Documentation" -xtype l -delete 2>/dev/null || true
[ -d "$ksrc/irqsync" ] && find "$ksrc/irqsync" -xtype l -delete

while IFS= read -r f; do
	link "$f" "$f"
done < <(find rust samples Documentation -type f 2>/dev/null | sort)
link Kconfig irqsync/Kconfig

# The series is applied as a whole: a copy of what was applied is kept in the tree, and when
# the series changes, the old one is reversed before the new one is applied.
applied=$ksrc/.irqsync-patches
series() {
	(cd "$1" && ls ./*.patch && cat ./*.patch)
}
if [ -d "$applied" ] && diff -q <(series scripts/patches) <(series "$applied") >/dev/null 2>&1; then
	exit 0
fi
if [ -d "$applied" ]; then
	for p in $(ls "$applied"/*.patch 2>/dev/null | sort -r); do
		echo "  UNPATCH $(basename "$p")"
		patch -d "$ksrc" -p1 -R -f -s --no-backup-if-mismatch < "$p"
	done
	rm -rf "$applied"
fi
# Reverses the patches applied so far and fails, so that the next run starts from the pristine
# tree rather than apply them a second time.
undo() {
	echo "overlay: $1" >&2
	for q in $(ls "$applied.new"/*.patch 2>/dev/null | sort -r); do
		echo "  UNPATCH $(basename "$q")"
		patch -d "$ksrc" -p1 -R -f -s --no-backup-if-mismatch < "$q" ||
			echo "overlay: $q did not reverse: remove $ksrc and run make again" >&2
	done
	rm -rf "$applied.new"
	exit 1
}
rm -rf "$applied.new"
mkdir -p "$applied.new"
for p in scripts/patches/*.patch; do
	if ! patch -d "$ksrc" -p1 -f -s --dry-run < "$p" >/dev/null 2>&1; then
		undo "$p does not apply to $ksrc"
	fi
	echo "  PATCH   $(basename "$p")"
	# Recorded first, so that an undo reverses what a failure may have half applied.
	cp "$p" "$applied.new/" || undo "cannot record $p"
	patch -d "$ksrc" -p1 -f -s --no-backup-if-mismatch < "$p" || undo "$p failed to apply"
done
mv "$applied.new" "$applied"
