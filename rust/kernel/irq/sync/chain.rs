// SPDX-License-Identifier: GPL-2.0

//! The chain of service routines of one line of an [`InterruptSync`](super::InterruptSync).
//!
//! Each routine is a closure of its own type, stored with the link to the next routine in one
//! allocation that starts with a header naming the functions that call and free it. The
//! dispatch loop calls a routine through its header, as C calls a function pointer kept beside
//! its context: one indirect call, where a `KBox<dyn FnMut>` would load a data pointer and a
//! vtable first.

use super::{statistics::RoutineStatistics, Placement};
#[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
use crate::bindings;
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    error::Result,
    irq::IrqReturn,
};
use core::ptr::NonNull;

/// The routines of one line, in calling order.
pub(super) type Chain<T> = Option<Routine<T>>;

/// What every node starts with, whatever the type of its closure.
#[repr(C)]
struct Header<T> {
    /// The routines after this one.
    next: Chain<T>,

    /// Calls the closure of the node.
    call: unsafe fn(NonNull<Header<T>>, &mut T) -> IrqReturn,

    /// Frees the node.
    free: unsafe fn(NonNull<Header<T>>),

    /// What the routine did so far.
    #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
    statistics: RoutineStatistics,
}

/// A routine and its link: the header first, so that a pointer to it is a pointer to the node.
#[repr(C)]
struct Node<T, F> {
    header: Header<T>,
    routine: F,
}

/// A routine of a chain, owning its node and, through it, the routines after it.
///
/// # Invariants
///
/// `0` points to the header of a live `Node<T, F>` allocated by [`KBox`] and owned by this value,
/// for an `F: FnMut(&mut T) -> IrqReturn + Send`, and the header's `call` and `free` are
/// `call_node::<T, F>` and `free_node::<T, F>`.
pub(super) struct Routine<T>(NonNull<Header<T>>);

// SAFETY: A `Routine` owns its node. The node's closure is `Send` by the type invariant; its
// header holds function pointers and the rest of the chain, which is `Send` in turn.
unsafe impl<T> Send for Routine<T> {}

impl<T> Routine<T> {
    /// Allocates the node of `routine`, linked to nothing.
    pub(super) fn new<F>(routine: F) -> Result<Self>
    where
        F: FnMut(&mut T) -> IrqReturn + Send + 'static,
    {
        let node = KBox::new(
            Node {
                header: Header {
                    next: None,
                    call: call_node::<T, F>,
                    free: free_node::<T, F>,
                    #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
                    statistics: RoutineStatistics::default(),
                },
                routine,
            },
            GFP_KERNEL,
        )?;
        // INVARIANT: The node comes from `KBox` and is handed over to the new value; its header is
        // its first field (`#[repr(C)]`), with the functions of its `F`.
        Ok(Routine(NonNull::from(KBox::leak(node)).cast()))
    }

    /// Returns the link to the routines after this one.
    #[inline(always)]
    fn next(&mut self) -> &mut Chain<T> {
        // SAFETY: By the type invariant `0` points to a live header that this value owns; the
        // borrow of `self` keeps it alive and unshared for as long as the result lives.
        unsafe { &mut (*self.0.as_ptr()).next }
    }

    /// Calls the routine on `state`.
    #[inline(always)]
    fn call(&mut self, state: &mut T) -> IrqReturn {
        // SAFETY: Reading the clock has no preconditions; it may be called in any context but
        // NMI.
        #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
        let start = unsafe { bindings::ktime_get() };

        // SAFETY: By the type invariant `0` points to a live header whose `call` is that of the
        // node's closure type; `&mut self` gives this call the only access to the node.
        let returned = unsafe { ((*self.0.as_ptr()).call)(self.0, state) };

        #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
        {
            // SAFETY: As above.
            let ns = unsafe { bindings::ktime_get() }.wrapping_sub(start);
            // SAFETY: As above: `&mut self` gives the only access to the node.
            let statistics = unsafe { &mut (*self.0.as_ptr()).statistics };
            statistics.record(returned.is_handled(), u64::try_from(ns).unwrap_or(0));
        }
        returned
    }

    /// Returns what the routine did so far.
    #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
    fn statistics(&self) -> RoutineStatistics {
        // SAFETY: By the type invariant `0` points to a live header owned by `self`, which the
        // borrow keeps alive and unchanged.
        unsafe { (*self.0.as_ptr()).statistics }
    }

    /// Returns what the routine did so far: nothing is kept without
    /// `CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS`.
    #[cfg(not(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS))]
    fn statistics(&self) -> RoutineStatistics {
        RoutineStatistics::default()
    }

    /// Returns the link to the routines after this one, to read.
    fn next_ref(&self) -> &Chain<T> {
        // SAFETY: By the type invariant `0` points to a live header owned by `self`, which the
        // borrow keeps alive and unchanged.
        unsafe { &(*self.0.as_ptr()).next }
    }
}

impl<T> Drop for Routine<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `0` points to a live node owned by this value, freed by
        // its own `free`; it is not used again.
        unsafe { ((*self.0.as_ptr()).free)(self.0) }
    }
}

/// Calls the closure of the `Node<T, F>` that `header` starts.
///
/// # Safety
///
/// `header` starts a live `Node<T, F>`, which nothing else accesses during the call.
unsafe fn call_node<T, F>(header: NonNull<Header<T>>, state: &mut T) -> IrqReturn
where
    F: FnMut(&mut T) -> IrqReturn,
{
    // SAFETY: The header is the first field of the `#[repr(C)]` node, as the caller guarantees,
    // and nothing else accesses the node.
    let node = unsafe { &mut *header.as_ptr().cast::<Node<T, F>>() };
    (node.routine)(state)
}

/// Frees the `Node<T, F>` that `header` starts, and the routines after it.
///
/// # Safety
///
/// `header` starts a live `Node<T, F>` allocated by [`KBox`], which is not used after this.
unsafe fn free_node<T, F>(header: NonNull<Header<T>>) {
    // SAFETY: The header is the first field of the `#[repr(C)]` node, which came from `KBox`, as
    // the caller guarantees.
    drop(unsafe { KBox::from_raw(header.as_ptr().cast::<Node<T, F>>()) });
}

/// Links `routine`, which is linked to nothing, into `chain` at `placement`. It allocates
/// nothing, so it may run under a spinlock.
pub(super) fn insert<T>(chain: &mut Chain<T>, mut routine: Routine<T>, placement: Placement) {
    let mut link = chain;
    if placement == Placement::Last {
        while let Some(next) = link {
            link = next.next();
        }
    }
    *routine.next() = link.take();
    *link = Some(routine);
}

/// Calls the routines of `chain` on `state` in order until one handles the interrupt; returns
/// whether one did.
#[inline(always)]
pub(super) fn run_until_handled<T>(chain: &mut Chain<T>, state: &mut T) -> bool {
    let mut node = chain.as_mut();
    while let Some(current) = node {
        if current.call(state).is_handled() {
            return true;
        }
        node = current.next().as_mut();
    }
    false
}

/// Calls the first routine of `chain` on `state`; returns what it returned, or `None` if the
/// chain has no routine.
#[inline(always)]
pub(super) fn call_first<T>(chain: &mut Chain<T>, state: &mut T) -> Option<IrqReturn> {
    chain.as_mut().map(|first| first.call(state))
}

/// Calls the routines after the first of `chain` on `state` in order until one handles the
/// interrupt; returns whether one did.
#[inline(always)]
pub(super) fn run_rest_until_handled<T>(chain: &mut Chain<T>, state: &mut T) -> bool {
    match chain {
        None => false,
        Some(first) => run_until_handled(first.next(), state),
    }
}

/// Returns whether `chain` has exactly one routine.
#[inline(always)]
pub(super) fn has_one<T>(chain: &Chain<T>) -> bool {
    chain
        .as_ref()
        .is_some_and(|first| first.next_ref().is_none())
}

/// Calls every routine of `chain` on `state` once, in order; returns whether any handled the
/// interrupt.
#[inline(always)]
pub(super) fn run_all<T>(chain: &mut Chain<T>, state: &mut T) -> bool {
    // `IrqReturn::None` is 0 and `IrqReturn::Handled` is not: or-ing them is one instruction per
    // routine, as in C.
    let mut returned = 0;
    let mut node = chain.as_mut();
    while let Some(current) = node {
        returned |= current.call(state) as u32;
        node = current.next().as_mut();
    }
    returned != IrqReturn::None as u32
}

/// Returns how many routines `chain` has.
pub(super) fn len<T>(chain: &Chain<T>) -> usize {
    let mut count = 0;
    let mut node = chain.as_ref();
    while let Some(current) = node {
        count += 1;
        node = current.next_ref().as_ref();
    }
    count
}

/// Calls `f` with the position and the statistics of each routine of `chain`, in order.
pub(super) fn for_each<T>(chain: &Chain<T>, mut f: impl FnMut(usize, RoutineStatistics)) {
    let mut index = 0;
    let mut node = chain.as_ref();
    while let Some(current) = node {
        f(index, current.statistics());
        index += 1;
        node = current.next_ref().as_ref();
    }
}
