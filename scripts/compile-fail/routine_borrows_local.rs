// SPDX-License-Identifier: GPL-2.0
// expect: E0597

//! Must not compile: an `InterruptSync` service routine that borrows a local, which the
//! routine would outlive if the object were leaked.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::irq::{DispatchMode, IrqReturn, Placement};
use kernel::{new_interrupt_sync, prelude::*};

module! {
    type: RoutineBorrowsLocal,
    name: "routine_borrows_local",
    license: "GPL",
}

struct RoutineBorrowsLocal;

impl kernel::Module for RoutineBorrowsLocal {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let count = AtomicU32::new(0);
        let count_ref = &count;
        let sync = KBox::pin_init(
            new_interrupt_sync!(1, DispatchMode::Normal, (), "leaky"),
            GFP_KERNEL,
        )?;
        sync.register_service_routine(
            move |_| {
                count_ref.fetch_add(1, Ordering::Relaxed);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
        core::mem::forget(sync);
        Ok(RoutineBorrowsLocal)
    }
}
