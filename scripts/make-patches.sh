#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Exports the whole overlay as one git format-patch series against Linux 6.12: each patch of
# scripts/patches/ (the hunks in existing kernel files, with their description) together with
# the new files scripts/patches/files gives it, which the patch also lists in a MAINTAINERS
# entry for the series. The patches are committed in a scratch git
# repository holding the pristine kernel files the hunks change, taken from the source tarball,
# signed off by the git identity of this repository, and written out by git format-patch.
#
# Usage: scripts/make-patches.sh TARBALL OUT_DIR

set -euo pipefail

tarball=$1
out=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Whose patches these are: this repository's git identity, or its last commit's author.
name=$(git config user.name || git log -1 --format=%an)
email=$(git config user.email || git log -1 --format=%ae)
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email

# The path in the kernel tree of a file of this repository.
tree_path() {
	case "$1" in
	Kconfig) echo irqsync/Kconfig ;;
	*) echo "$1" ;;
	esac
}

# Every file of the overlay, and the patch each belongs to.
overlay=$(find rust samples Documentation -type f | sort; echo Kconfig)
declare -A owner patterns
while read -r number paths; do
	for path in $paths; do
		patterns[$number]+=" $(tree_path "$path")"
		matched=0
		for f in $overlay; do
			case "$f" in
			"$path" | "${path%/}"/*) ;;
			*) continue ;;
			esac
			if [ -n "${owner[$f]:-}" ]; then
				echo "make-patches: $f is in patches ${owner[$f]} and $number" >&2
				exit 1
			fi
			owner[$f]=$number
			matched=1
		done
		if [ $matched -eq 0 ]; then
			echo "make-patches: scripts/patches/files names $path, which does not exist" >&2
			exit 1
		fi
	done
done < <(grep -v '^#' scripts/patches/files)
for f in $overlay; do
	if [ -z "${owner[$f]:-}" ]; then
		echo "make-patches: $f belongs to no patch: add it to scripts/patches/files" >&2
		exit 1
	fi
done

# Sets the MAINTAINERS entry of the series to cover the file patterns $@, in the order
# checkpatch wants, after RUST [ALLOC].
maintainers_entry() {
	local entry=$work/entry
	{
		echo "RUST [IRQSYNC]"
		echo "M:	$name <$email>"
		echo "L:	rust-for-linux@vger.kernel.org"
		echo "S:	Maintained"
		printf '%s\n' "$@" | LC_ALL=C sort | sed 's/^/F:	/'
		echo
	} > "$entry"
	awk -v entry="$entry" '
		/^RUST \[IRQSYNC\]$/ { skipping = 1 }
		skipping { if ($0 == "") skipping = 0; next }
		/^RXRPC SOCKETS/ { while ((getline line < entry) > 0) print line }
		{ print }
	' "$base/MAINTAINERS" > "$work/MAINTAINERS"
	mv "$work/MAINTAINERS" "$base/MAINTAINERS"
}

# The pristine kernel files the hunks change, as the base commit.
base=$work/linux
mkdir -p "$base"
changed=$(sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' scripts/patches/*.patch | sort -u)
changed+=" MAINTAINERS"
tar -xJf "$tarball" -C "$base" --strip-components=1 \
	$(for f in $changed; do echo "linux-source-6.12/$f"; done)
git -C "$base" init -q
git -C "$base" add $changed
git -C "$base" commit -q -m "Linux 6.12 (Debian's linux-source-6.12), the files the series changes"
pristine=$(git -C "$base" rev-parse HEAD)

# Each patch: its hunks applied, its new files added and listed in the MAINTAINERS entry,
# committed with its subject and description and signed off.
maintained=
for patch in scripts/patches/[0-9]*.patch; do
	number=$(basename "$patch" | cut -c3-4)
	# The hunks apply as scripts/overlay.sh applies them, offsets allowed.
	patch -d "$base" -p1 -f -s --no-backup-if-mismatch < "$patch"
	git -C "$base" add $changed
	git mailinfo "$work/message" /dev/null < "$patch" > "$work/info"
	for f in $overlay; do
		[ "${owner[$f]}" = "$number" ] || continue
		mkdir -p "$base/$(dirname "$(tree_path "$f")")"
		cp "$f" "$base/$(tree_path "$f")"
		git -C "$base" add "$(tree_path "$f")"
	done
	maintained+=${patterns[$number]:-}
	maintainers_entry $maintained
	git -C "$base" add MAINTAINERS
	subject=$(sed -n 's/^Subject: //p' "$work/info")
	git -C "$base" commit -q -s -m "$subject" \
		-m "$(grep -v '^Signed-off-by:' "$work/message")"
done

rm -rf "$out"
mkdir -p "$out"
git -C "$base" format-patch -q --numbered --zero-commit --no-signature -o "$out" "$pristine"..HEAD
echo "  PATCHES $(ls "$out" | wc -l) in $out"
