// SPDX-License-Identifier: GPL-2.0

//! What a service routine may do to its [`InterruptSync`] while it runs under the lock: queue
//! the object's deferred work, wake its thread routine, disable its lines.

use super::{InterruptSync, IrqReturn, Placement};
use crate::error::Result;
use core::{ptr::NonNull, sync::atomic::Ordering};

/// The object a service routine runs for, as the routine may use it.
///
/// A routine registered with [`InterruptSync::register_service_routine_with_context`] gets one
/// with the state. It runs with the object's lock held, so this gives no way to the lock: only
/// to what may be done under it, from interrupt context.
///
/// # Invariants
///
/// The object's lock is held by the current CPU or task for as long as the context exists.
pub struct IsrContext<'a, T: Send + 'static> {
    sync: &'a InterruptSync<T>,
}

impl<T: Send + 'static> IsrContext<'_, T> {
    /// Queues the object's DPC on this CPU; see [`InterruptSync::queue_dpc`].
    pub fn queue_dpc(&self) -> bool {
        self.sync.queue_dpc()
    }

    /// Queues the object's DPC on CPU `cpu`; see [`InterruptSync::queue_dpc_on`].
    pub fn queue_dpc_on(&self, cpu: u32) -> bool {
        self.sync.queue_dpc_on(cpu)
    }

    /// Queues the object's work item; see [`InterruptSync::queue_work_item`].
    pub fn queue_work_item(&self) -> bool {
        self.sync.queue_work_item()
    }

    /// Asks for the thread routine to run once the routines of this interrupt have run.
    ///
    /// Returns `false` if the object is not connected threaded (it has no thread routine), or
    /// if a routine of this interrupt asked already.
    pub fn wake_thread(&self) -> bool {
        let shared = &self.sync.shared;
        shared.threaded.load(Ordering::Relaxed)
            && !shared.thread_requested.swap(true, Ordering::Relaxed)
    }

    /// Disables the object's lines without waiting; see [`InterruptSync::disable_nosync`].
    pub fn disable_nosync(&self) -> Result {
        // The lock is held, as `disable_locked` requires.
        self.sync.shared.disable_locked()
    }

    /// Enables the object's lines again; see [`InterruptSync::enable`].
    pub fn enable(&self) -> Result {
        // The lock is held, as `enable_locked` requires.
        self.sync.shared.enable_locked()
    }

    /// Returns the line of the object, the first if it has several.
    pub fn irq(&self) -> u32 {
        self.sync.irq()
    }
}

/// The address of a pinned [`InterruptSync`], kept by the routines it owns.
///
/// # Invariants
///
/// Points to a pinned [`InterruptSync<T>`] that owns the routine holding this.
struct Owner<T: Send + 'static>(NonNull<InterruptSync<T>>);

// SAFETY: The routine holding an `Owner` only gives shared access to the object, which is `Sync`
// when `T` is `Send`.
unsafe impl<T: Send + 'static> Send for Owner<T> {}

impl<T: Send + 'static> Owner<T> {
    /// Returns the object.
    ///
    /// # Safety
    ///
    /// Called from the routine holding `self`, while the object's lock is held.
    #[inline(always)]
    unsafe fn context(&self) -> IsrContext<'_, T> {
        // SAFETY: By the type invariant the object owns the running routine, so it is alive;
        // it is pinned, so the address is still its own.
        let sync = unsafe { self.0.as_ref() };
        // INVARIANT: The caller holds the lock.
        IsrContext { sync }
    }
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Adds `routine`, which gets an [`IsrContext`] with the state, to the chain of the
    /// object's first line, first or last.
    ///
    /// As [`InterruptSync::register_service_routine`]; the context lets the routine queue the
    /// DPC or the work item, wake the thread routine, and disable the lines.
    pub fn register_service_routine_with_context(
        &self,
        routine: impl FnMut(&mut T, &IsrContext<'_, T>) -> IrqReturn + Send + 'static,
        placement: Placement,
    ) -> Result {
        self.register_message_routine_with_context(0, routine, placement)
    }

    /// Adds `routine`, which gets an [`IsrContext`] with the state, to the chain of line
    /// `message` of a group, first or last; as [`InterruptSync::register_message_routine`].
    pub fn register_message_routine_with_context(
        &self,
        message: usize,
        mut routine: impl FnMut(&mut T, &IsrContext<'_, T>) -> IrqReturn + Send + 'static,
        placement: Placement,
    ) -> Result {
        // INVARIANT: `self` is pinned, and will own the routine holding `owner`.
        let owner = Owner(NonNull::from(self));
        self.register_message_routine(
            message,
            move |state| {
                // SAFETY: Routines run with the lock held, from the routine holding `owner`.
                let context = unsafe { owner.context() };
                routine(state, &context)
            },
            placement,
        )
    }
}
