// SPDX-License-Identifier: GPL-2.0

//! InterruptSync demo (placeholder while the real one is written).

use kernel::prelude::*;

module! {
    type: Demo,
    name: "rust_irqsync_demo",
    author: "irqsync developers",
    description: "InterruptSync demo on simulated interrupt lines",
    license: "GPL",
}

struct Demo;

impl kernel::Module for Demo {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Demo)
    }
}
