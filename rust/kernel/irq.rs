// SPDX-License-Identifier: GPL-2.0

//! Interrupt lines: request flags, handler registrations and, with
//! `CONFIG_RUST_IRQ_SYNC`, `InterruptSync`.
//!
//! [`InterruptSync`] is the object a driver shares device state through with its interrupt
//! service routines: it owns the state, takes it under an interrupt-safe spinlock and
//! dispatches an ordered chain of routines when the line fires. [`Registration`] is the plain
//! `request_irq()`/`free_irq()` pair it stands on.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)
//!
//! Design notes: [`Documentation/rust/irq-sync.rst`](srctree/Documentation/rust/irq-sync.rst)

mod flags;
mod request;
#[cfg(CONFIG_IRQ_SIM)]
pub mod sim;
#[cfg(CONFIG_RUST_IRQ_SYNC)]
mod sync;
#[cfg(CONFIG_RUST_IRQ_SYNC_KUNIT_TEST)]
mod sync_tests;

pub use flags::Flags;
pub use request::{Handler, IrqReturn, Registration, ThreadedHandler, ThreadedIrqReturn};
#[cfg(CONFIG_RUST_IRQ_SYNC)]
pub use sync::{
    new_interrupt_sync, new_interrupt_sync_group, DispatchMode, InterruptSync, IsrContext,
    Placement, RoutineStatistics, Statistics, MAX_DISABLE_DEPTH, MAX_REPEAT_PASSES,
};

/// Returns whether interrupts are disabled on the local CPU.
///
/// True inside an interrupt service routine, [`InterruptSync::call_synchronized`] and
/// [`SpinLockIrq::with_lock`](crate::sync::SpinLockIrq::with_lock).
///
/// # Examples
///
/// ```
/// use kernel::irq;
///
/// // Doctests run in process context with interrupts enabled.
/// assert!(!irq::local_interrupts_disabled());
/// ```
#[inline]
pub fn local_interrupts_disabled() -> bool {
    // SAFETY: Reading the local interrupt state has no preconditions.
    unsafe { bindings::irqs_disabled() }
}
