#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks that every symbol a config fragment sets kept its value in the final .config
# (a symbol whose dependencies are missing is silently dropped by olddefconfig).
#
# merge_config.sh checks final values only when it runs make itself, not with -m, which the
# Makefile uses as the kernel's own `make FRAGMENT.config` does. Its own check cannot stand in:
# given tinyconfig's .config and the fragments it reports values tinyconfig derives and
# alldefconfig recomputes (CONFIG_TINY_RCU, CONFIG_NR_CPUS_RANGE_END, ...) although the final
# .config is the same; with -n and the tiny fragments it builds another configuration, and
# reports the "is not set" lines of symbols whose dependencies are off. This checks only what
# the fragments set.
#
# Usage: scripts/check-config.sh .config FRAGMENT...

set -eu

config=$1
shift
bad=0
for fragment in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) ;;
		*) continue ;;
		esac
		if ! grep -qxF "$line" "$config"; then
			echo "config: $fragment wants $line, .config has:" \
				"$(grep -E "^(# )?${line%%=*}[= ]" "$config" || echo 'nothing')" >&2
			bad=1
		fi
	done < "$fragment"
done
exit $bad
