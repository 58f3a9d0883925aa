#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what building and testing irqsync needs on a Debian machine, idempotently:
# Debian packages, the Rust standard library source and bindgen. Quiet when all is there.

set -eu

packages="linux-source-6.12 qemu-system-x86 alsa-utils libasound2-dev gcc clang lld llvm libclang-dev flex bison bc
	  libelf-dev libssl-dev cpio kmod busybox-static make python3 xz-utils sox gnuplot-nox ethtool"
bindgen_version=0.69.5

# CONFIG_RUST_INLINE_HELPERS needs the clang and llvm-link of the LLVM major version rustc is
# built on (LLVM 22 for rustc 1.95): Debian packages clang-22 and llvm-22.
llvm_major=$(PATH="$HOME/.cargo/bin:$PATH" rustc --version --verbose 2>/dev/null |
	sed -n 's/^LLVM version: \([0-9]*\).*/\1/p' || true)
if [ -n "$llvm_major" ]; then
	packages="$packages clang-$llvm_major llvm-$llvm_major"
fi

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "irqsync: missing Debian packages:$missing" >&2
		echo "irqsync: run as root, or: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "irqsync: installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v rustup >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/rustup" ]; then
	PATH="$HOME/.cargo/bin:$PATH"
fi
command -v rustup >/dev/null 2>&1 || {
	echo "irqsync: rustup not found; install a Rust toolchain with rustup first" >&2
	exit 1
}

if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	echo "irqsync: rustup component add rust-src"
	rustup component add rust-src >/dev/null
fi

if ! bindgen --version 2>/dev/null | grep -q "$bindgen_version"; then
	echo "irqsync: cargo install bindgen-cli $bindgen_version (about 2 minutes)"
	cargo install --quiet bindgen-cli --version "$bindgen_version" --locked
fi
