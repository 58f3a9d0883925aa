// SPDX-License-Identifier: GPL-2.0

//! An out-of-tree module that uses `InterruptSync`.
//!
//! It is built outside the kernel tree, against the built kernel, and shows what a driver
//! writer's own module looks like: at load time it connects an `InterruptSync` to a simulated
//! interrupt line, fires interrupts, reads the count back with `call_synchronized`, and prints
//! the result. Unloading disconnects and frees everything.

use kernel::irq::{sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, Placement};
use kernel::{new_interrupt_sync, prelude::*};

module! {
    type: OutOfTree,
    name: "rust_irqsync_oot",
    author: "irqsync developers",
    description: "Out-of-tree module using InterruptSync",
    license: "GPL",
}

const INTERRUPTS: u32 = 1000;

/// The state the routine and process context share.
#[derive(Default)]
struct Counter {
    interrupts: u32,
}

struct OutOfTree {
    // Dropped in this order: the object disconnects before its line goes away.
    _sync: Pin<KBox<InterruptSync<Counter>>>,
    _lines: SimLines,
}

impl kernel::Module for OutOfTree {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let lines = SimLines::new(1)?;
        let sync = KBox::pin_init(
            new_interrupt_sync!(
                lines.irq(0)?,
                DispatchMode::Normal,
                Counter::default(),
                "rust_irqsync_oot"
            ),
            GFP_KERNEL,
        )?;
        sync.register_service_routine(
            |counter| {
                counter.interrupts += 1;
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
        sync.connect(Flags::NONE)?;

        for _ in 0..INTERRUPTS {
            lines.fire_and_wait(0)?;
        }
        let counted = sync.call_synchronized(|counter| counter.interrupts);
        pr_info!(
            "rust_irqsync_oot: {} of {} interrupts handled on irq {}\n",
            counted,
            INTERRUPTS,
            sync.irq()
        );
        if counted != INTERRUPTS {
            return Err(EIO);
        }
        Ok(OutOfTree {
            _sync: sync,
            _lines: lines,
        })
    }
}
