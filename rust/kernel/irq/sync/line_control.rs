// SPDX-License-Identifier: GPL-2.0

//! Line control of an [`InterruptSync`]: disabling and enabling its lines with C's nesting
//! depth (`disable_irq()`, `disable_irq_nosync()`, `enable_irq()`), and affinity hints.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::{chain::Routine, edeadlk, InterruptSync, IrqReturn, Shared};
use crate::{bindings, error::Result, prelude::*};
use core::sync::atomic::Ordering;

/// How many times an [`InterruptSync`] may disable its lines without enabling them again.
///
/// A deeper nesting is a driver bug: [`InterruptSync::disable_nosync`] refuses it with `EBUSY`,
/// which also bounds what disconnecting re-enables under the lock.
pub const MAX_DISABLE_DEPTH: u32 = 256;

/// Returns the `ENOTCONN` error, which `kernel::error::code` does not have in this kernel.
fn enotconn() -> Error {
    Error::from_errno(-(bindings::ENOTCONN as i32))
}

impl<T> Shared<T> {
    /// Disables the lines without waiting, one level deeper. Called with the lock held.
    pub(super) fn disable_locked(&self) -> Result {
        if !self.lines_open.load(Ordering::Relaxed) {
            return Err(enotconn());
        }
        let depth = self.disable_depth.load(Ordering::Relaxed);
        if depth >= MAX_DISABLE_DEPTH {
            return Err(EBUSY);
        }
        self.disable_depth.store(depth + 1, Ordering::Relaxed);
        for &line in self.lines.iter() {
            // SAFETY: The lines are requested by the object while `lines_open` is set, which
            // changes only under the lock held here; `disable_irq_nosync()` may be called in
            // any context.
            unsafe { bindings::disable_irq_nosync(line) };
        }
        Ok(())
    }

    /// Enables the lines, one level less deep. Called with the lock held.
    pub(super) fn enable_locked(&self) -> Result {
        if !self.lines_open.load(Ordering::Relaxed) {
            return Err(enotconn());
        }
        let depth = self.disable_depth.load(Ordering::Relaxed);
        if depth == 0 {
            return Err(EINVAL);
        }
        self.disable_depth.store(depth - 1, Ordering::Relaxed);
        for &line in self.lines.iter() {
            // SAFETY: As in `disable_locked`; the object disabled the line at least once, so
            // the kernel's depth does not underflow.
            unsafe { bindings::enable_irq(line) };
        }
        Ok(())
    }
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Disables the object's lines and waits until no routine of theirs runs on any CPU,
    /// thread routines included (KMDF's `WdfInterruptDisable()`).
    ///
    /// Disabling nests, as in C: the lines are enabled again by as many
    /// [`InterruptSync::enable`] calls. Fails with `ENOTCONN` if the object is not connected,
    /// with `EBUSY` at [`MAX_DISABLE_DEPTH`], and with `EDEADLK`, warning once, when called
    /// from a routine, a synchronized closure, the DPC or the thread routine, which it would
    /// wait for. May sleep.
    pub fn disable(&self) -> Result {
        if !self.shared.may_wait_for_routines("disable") {
            return Err(edeadlk());
        }
        let connection = self.connection.lock();
        self.shared
            .protected
            .with_lock(|_| self.shared.disable_locked())?;
        for registration in connection.0.iter() {
            registration.synchronize();
        }
        Ok(())
    }

    /// Disables the object's lines without waiting for routines running on other CPUs.
    ///
    /// Callable from any context but a synchronized closure of the object; a routine uses
    /// [`IsrContext::disable_nosync`](super::IsrContext::disable_nosync). Fails as
    /// [`InterruptSync::disable`] does, but never with `EDEADLK`.
    pub fn disable_nosync(&self) -> Result {
        self.shared
            .protected
            .with_lock(|_| self.shared.disable_locked())
    }

    /// Enables the object's lines one level: they are enabled again when every disable has
    /// been matched (KMDF's `WdfInterruptEnable()`).
    ///
    /// Callable from any context but a synchronized closure of the object. Fails with
    /// `ENOTCONN` if the object is not connected, and with `EINVAL` if it did not disable its
    /// lines, which C would warn about.
    pub fn enable(&self) -> Result {
        self.shared
            .protected
            .with_lock(|_| self.shared.enable_locked())
    }

    /// Sets what runs on the state, under the lock, once the lines are connected (`on_connect`)
    /// and before they are disconnected (`on_disconnect`): where a driver enables and disables
    /// its device's interrupts (NDIS's `EnableMessageInterruptHandler` and
    /// `DisableMessageInterruptHandler`, KMDF's `EvtInterruptEnable` and `EvtInterruptDisable`).
    ///
    /// Set before connecting, they run at every connection. Fails with `EBUSY` if they are set
    /// already, with `ENOMEM`, and with `EDEADLK` when called in atomic context.
    pub fn set_connection_routines(
        &self,
        mut on_connect: impl FnMut(&mut T) + Send + 'static,
        mut on_disconnect: impl FnMut(&mut T) + Send + 'static,
    ) -> Result {
        if !self.shared.may_sleep("set_connection_routines") {
            return Err(edeadlk());
        }
        let on_connect = Routine::new(move |state| {
            on_connect(state);
            IrqReturn::Handled
        })?;
        let on_disconnect = Routine::new(move |state| {
            on_disconnect(state);
            IrqReturn::Handled
        })?;
        // Dropped, if refused, after the lock is released.
        let refused = self.shared.protected.with_lock(|p| {
            if p.on_connect.is_some() {
                return Some((on_connect, on_disconnect));
            }
            p.on_connect = Some(on_connect);
            p.on_disconnect = Some(on_disconnect);
            None
        });
        match refused {
            Some(_) => Err(EBUSY),
            None => Ok(()),
        }
    }

    /// Returns how many times the lines are disabled by the object and not enabled again.
    pub fn disable_depth(&self) -> u32 {
        self.shared.disable_depth.load(Ordering::Relaxed)
    }

    /// Asks for the interrupts of line `message` to be delivered to CPU `cpu`: sets the line's
    /// affinity and its hint, which `/proc/irq/N/affinity_hint` shows and `irqbalance` follows.
    ///
    /// Fails with `ENOTCONN` if the object is not connected, with `EINVAL` if it has no line
    /// `message`, `cpu` is not online or the line's interrupt chip cannot route it, and with
    /// `EDEADLK` when called in atomic context. Disconnecting clears the hint. May sleep.
    pub fn set_affinity_hint(&self, message: usize, cpu: u32) -> Result {
        let line = *self.shared.lines.get(message).ok_or(EINVAL)?;
        if !super::is_online(cpu) {
            return Err(EINVAL);
        }
        if !self.shared.may_sleep("set_affinity_hint") {
            return Err(edeadlk());
        }
        let connection = self.connection.lock();
        if !connection.is_connected() {
            return Err(enotconn());
        }
        // SAFETY: The line is requested by the object while the connection mutex is held, and
        // `cpumask_of()` is a static mask, as the hint must be.
        crate::error::to_result(unsafe {
            bindings::irq_set_affinity_and_hint(line, bindings::cpumask_of(cpu))
        })
    }
}
