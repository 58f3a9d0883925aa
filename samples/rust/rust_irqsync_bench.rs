// SPDX-License-Identifier: GPL-2.0

//! InterruptSync demo (placeholder while the real one is written).

use kernel::prelude::*;

module! {
    type: Bench,
    name: "rust_irqsync_bench",
    author: "irqsync developers",
    description: "InterruptSync demo on simulated interrupt lines",
    license: "GPL",
}

struct Bench;

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Bench)
    }
}
