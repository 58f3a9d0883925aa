# SPDX-License-Identifier: GPL-2.0
#
# irqsync: fetches Debian's Linux 6.12 source, lays this repository on it, builds the kernel
# with Rust, boots it under QEMU and runs the tests.
#
#   make run      build, then boot and show InterruptSync, the edu and the ES1370 drivers at work,
#                 then two guests exchanging traffic through the 82574L driver on MSI-X
#   make check    build, then run every test; ends with "N passed, N failed"
#   make bench    build a kernel without debug options, then count the instructions InterruptSync
#                 and the samples take against C baselines, each pair in one boot (build/bench.txt,
#                 plotted in build/bench.png)
#   make profile  where the instructions of make bench's TCP stream go, function by function,
#                 Rust sample against C driver (NIC=e1000 or e1000e; build/profile/NIC.txt)
#   make patches  export the overlay as a git format-patch series against Linux 6.12 in
#                 build/patches (new files included), as make check applies and checks it
#   make kernel   only build (kernel-variant: the KASAN, KMEMLEAK and PREEMPT_RT kernel)
#   make oot      build the out-of-tree module in out-of-tree/ against the built kernel
#   make clean    remove build/
#
# Variables: JOBS (parallel jobs, default: all cores); NIC (make profile, default e1000).

SHELL := /bin/bash
.DEFAULT_GOAL := help

TOP := $(CURDIR)
BUILD := $(TOP)/build
TARBALL := /usr/src/linux-source-6.12.tar.xz
KSRC := $(BUILD)/linux
KOBJ := $(BUILD)/kernel
JOBS ?= $(shell nproc)

export PATH := $(HOME)/.cargo/bin:$(PATH)
# bindgen takes the libclang of the kernel's clang (Debian's default), not the newest one
# installed (clang-22 is there for CONFIG_RUST_INLINE_HELPERS). Expanded when a command runs,
# once make deps has installed clang.
export LIBCLANG_PATH = $(abspath $(dir $(realpath $(shell command -v clang)))../lib)

KMAKE = $(MAKE) -s -C $(KSRC) O=$(KOBJ) ARCH=x86_64 LLVM=1 -j$(JOBS)
FRAGMENTS := configs/base.config configs/debug.config
# make bench measures on a kernel without the debug options (lockdep above all), whose cost
# would dominate what it measures; configs/bench.config adds what its network guest needs.
KBENCH := $(BUILD)/kernel-bench
KMAKE_BENCH = $(MAKE) -s -C $(KSRC) O=$(KBENCH) ARCH=x86_64 LLVM=1 -j$(JOBS)
BENCH_FRAGMENTS := configs/base.config configs/bench.config
# make check also boots a variant kernel with KASAN, KMEMLEAK and PREEMPT_RT, without lockdep. It lives in
# a directory of its own, with the out-of-tree module built against it beside it.
KVARIANT := $(BUILD)/variant/kernel
KMAKE_VARIANT = $(MAKE) -s -C $(KSRC) O=$(KVARIANT) ARCH=x86_64 LLVM=1 -j$(JOBS)
VARIANT_FRAGMENTS := configs/base.config configs/variant.config

.PHONY: help deps source overlay config kernel kernel-bench kernel-variant oot initramfs run \
	check bench profile patches clean

help:
	@sed -n 's/^#   //p' Makefile

deps:
	@scripts/install-deps.sh

# The extracted tree; its exact version is recorded in build/linux-version.
$(KSRC)/.irqsync-extracted: | deps
	@echo "  EXTRACT $(TARBALL)"
	@rm -rf $(KSRC) $(BUILD)/extract && mkdir -p $(BUILD)/extract
	@tar -xJf $(TARBALL) -C $(BUILD)/extract
	@mv $(BUILD)/extract/* $(KSRC) && rmdir $(BUILD)/extract
	@$(MAKE) -s -C $(KSRC) kernelversion > $(BUILD)/linux-version
	@echo "  SOURCE  Linux $$(cat $(BUILD)/linux-version)"
	@touch $@

source: $(KSRC)/.irqsync-extracted

overlay: source
	@scripts/overlay.sh $(KSRC)

# $(call configure,BUILD_DIR,KMAKE,FRAGMENTS): tinyconfig plus the fragments, checked.
define configure
	@mkdir -p $(1)
	@$(2) tinyconfig >/dev/null
	@cd $(1) && $(KSRC)/scripts/kconfig/merge_config.sh -m .config \
		$(addprefix $(TOP)/,$(3)) >/dev/null
	@$(2) olddefconfig >/dev/null
	@scripts/check-config.sh $(1)/.config $(3) || { rm -f $(1)/.config; exit 1; }
endef

$(KOBJ)/.config: $(FRAGMENTS) Kconfig | overlay
	@echo "  CONFIG  tinyconfig + $(FRAGMENTS)"
	$(call configure,$(KOBJ),$(KMAKE),$(FRAGMENTS))

config: overlay $(KOBJ)/.config

$(KBENCH)/.config: $(BENCH_FRAGMENTS) Kconfig | overlay
	@echo "  CONFIG  tinyconfig + $(BENCH_FRAGMENTS) (benchmark kernel)"
	$(call configure,$(KBENCH),$(KMAKE_BENCH),$(BENCH_FRAGMENTS))

kernel-bench: overlay $(KBENCH)/.config
	@scripts/build-step.sh "Linux $$(cat $(BUILD)/linux-version) with irqsync, no debug options (benchmark)" \
		$(BUILD)/logs/kernel-bench-build.log $(KMAKE_BENCH)

$(KVARIANT)/.config: $(VARIANT_FRAGMENTS) Kconfig | overlay
	@echo "  CONFIG  tinyconfig + $(VARIANT_FRAGMENTS) (variant kernel)"
	$(call configure,$(KVARIANT),$(KMAKE_VARIANT),$(VARIANT_FRAGMENTS))

kernel-variant: overlay $(KVARIANT)/.config
	@scripts/build-step.sh "Linux $$(cat $(BUILD)/linux-version) with irqsync, KASAN, KMEMLEAK, PREEMPT_RT (variant)" \
		$(BUILD)/logs/kernel-variant-build.log $(KMAKE_VARIANT)

# Rust code is always compiled with Clippy; scripts/check.sh reads its warnings.
kernel: config
	@scripts/build-step.sh "Linux $$(cat $(BUILD)/linux-version) with irqsync" \
		$(BUILD)/logs/kernel-build.log $(KMAKE) CLIPPY=1

# The out-of-tree module is built from a copy, so that its objects stay out of the repository.
oot: kernel
	@scripts/build-oot.sh $(KOBJ) $(BUILD)/out-of-tree

initramfs: oot
	@mkdir -p $(BUILD)/sounds && python3 scripts/audio.py generate $(BUILD)/sounds
	@scripts/mkinitramfs.sh $(KOBJ) $(BUILD)/initramfs.cpio.gz

run: initramfs
	@echo "  BOOT    QEMU (TCG, 2 vCPUs, edu, ES1370): the demo, the edu and ES1370 drivers"
	@rm -f $(BUILD)/melody.wav
	@scripts/boot.sh --mode run --log $(BUILD)/logs/run.log --quiet -- -device edu \
		-audiodev wav,id=snd0,path=$(BUILD)/melody.wav -device ES1370,audiodev=snd0
	@sed -n '/irqsync-run:/,$$p' $(BUILD)/logs/run.log | tr -d '\r' | \
		sed -E 's/^\[ *[0-9.]+\] (rust_irqsync_demo: )?//; s/^irqsync-run: //'
	@sox $(BUILD)/melody.wav -n remix 1 rate 2.4k spectrogram -x 960 -y 481 -z 60 -c '' \
		-t "rust_irqsync_es1370: melody captured from QEMU's ES1370, $$(soxi -r $(BUILD)/melody.wav) Hz" \
		-o $(BUILD)/melody.png
	@echo "  The melody the ES1370 played: $(BUILD)/melody.wav"
	@echo "  Its spectrogram (time across, 0 to 1.2 kHz up; notes from 262 to 523 Hz): $(BUILD)/melody.png"
	@echo "  (whole boot log: $(BUILD)/logs/run.log)"
	@echo "  BOOT    two QEMUs (TCG), each with an 82574L (e1000e), joined by a stream netdev over a unix socket"
	@scripts/net-boot.sh --nic e1000e net_run $(BUILD)/logs 600
	@for g in a b; do tr -d '\r' < $(BUILD)/logs/net_run-$$g.log | \
		sed -n 's/^irqsync-run: //p; s/^\[ *[0-9.]*\] \(rust_irqsync_e1000.*\)/'"$$g"': \1/p'; done
	@echo "  (whole boot logs: $(BUILD)/logs/net_run-a.log and net_run-b.log)"

check: kernel kernel-variant
	@scripts/check.sh

bench: kernel-bench
	@scripts/bench.sh

NIC ?= e1000
profile: kernel-bench
	@scripts/profile.sh $(NIC)

# The overlay as one git format-patch series against Linux 6.12, new files included.
patches: source
	@scripts/make-patches.sh $(TARBALL) $(BUILD)/patches

clean:
	rm -rf $(BUILD)
