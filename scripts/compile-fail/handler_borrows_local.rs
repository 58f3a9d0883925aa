// SPDX-License-Identifier: GPL-2.0
// expect: E0597

//! Must not compile: an interrupt handler that borrows a local. Leaking the registration is
//! safe, so the kernel would go on calling the handler after `count` is gone.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::c_str;
use kernel::irq::{Flags, Handler, IrqReturn, Registration};
use kernel::prelude::*;

module! {
    type: HandlerBorrowsLocal,
    name: "handler_borrows_local",
    license: "GPL",
}

struct Borrowing<'a>(&'a AtomicU32);

impl Handler for Borrowing<'_> {
    fn handle_irq(&self) -> IrqReturn {
        self.0.fetch_add(1, Ordering::Relaxed);
        IrqReturn::Handled
    }
}

struct HandlerBorrowsLocal;

impl kernel::Module for HandlerBorrowsLocal {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let count = AtomicU32::new(0);
        let registration = KBox::pin_init(
            Registration::new(1, Flags::SHARED, c_str!("leaky"), Borrowing(&count)),
            GFP_KERNEL,
        )?;
        core::mem::forget(registration);
        Ok(HandlerBorrowsLocal)
    }
}
