#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks that every symbol a config fragment sets kept its value in the final .config
# (a symbol whose dependencies are missing is silently dropped by olddefconfig).
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
