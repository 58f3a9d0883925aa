#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks the series make patches exports: applied with git am to a clean tree extracted from
# the source tarball, it gives every file the overlaid tree has (MAINTAINERS aside, whose entry
# for the series the overlay does without), and checkpatch finds nothing in any patch. Prints a
# line per result, "PASS|FAIL NAME [DETAIL]", for scripts/check.sh.
#
# Usage: scripts/check-patches.sh TARBALL SERIES_DIR OVERLAID_TREE

set -uo pipefail

tarball=$1
series=$(cd "$2" && pwd)
overlaid=$(cd "$3" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

clean=$work/linux
mkdir -p "$clean"
tar -xJf "$tarball" -C "$clean" --strip-components=1
# The files the series changes are tracked in a base commit; the rest of the tree is there too,
# untracked.
changed=$(sed -n 's|^--- a/||p' "$series"/*.patch | sort -u)
git -C "$clean" init -q
git -C "$clean" add -f $changed
git -C "$clean" -c user.name=check -c user.email=check@localhost commit -q -m base
if out=$(git -C "$clean" -c user.name=check -c user.email=check@localhost \
	am -q "$series"/*.patch 2>&1); then
	echo "PASS patches_apply_with_git_am"
else
	echo "FAIL patches_apply_with_git_am $(echo "$out" | head -1)"
	exit 0
fi

# File for file: what the series gives against the overlaid tree, where new files are links
# to this repository's.
differ=
files=$(git -C "$clean" diff --name-only HEAD~"$(ls "$series"/*.patch | wc -l)" HEAD)
for f in $files; do
	[ "$f" = MAINTAINERS ] && continue
	cmp -s "$clean/$f" "$overlaid/$f" || differ+=" $f"
done
if [ -z "$differ" ]; then
	echo "PASS patches_match_the_overlaid_tree $(echo "$files" | wc -l) files"
else
	echo "FAIL patches_match_the_overlaid_tree differ:$differ"
fi

# checkpatch, from the clean tree, on each patch; outside a git repository, where checkpatch
# would also run spdxcheck.py, which needs Python modules Debian's kernel tree does not bring.
# EMBEDDED_FILENAME is ignored: the top-level Kconfig, which sources irqsync/Kconfig, names a
# Kconfig.
rm -rf "$clean/.git"
for p in "$series"/*.patch; do
	name=checkpatch:patches/$(basename "$p")
	if out=$(cd "$clean" && ./scripts/checkpatch.pl -q --ignore EMBEDDED_FILENAME "$p" 2>&1) && [ -z "$out" ]; then
		echo "PASS $name"
	else
		echo "FAIL $name $(echo "$out" | head -2 | tr '\n' ' ')"
	fi
done
