// SPDX-License-Identifier: GPL-2.0

//! The routines an [`InterruptSync`] calls with itself, outside its lock: its DPC, run in
//! softirq context by a BH workqueue, its work item, run in process context by the system
//! workqueue, and its thread routine.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use super::{InterruptSync, IrqReturn};
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::Result,
    init::PinInit,
    pin_init,
    prelude::*,
    types::Opaque,
};
use core::{
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};

/// How the routine of a node is called.
type CallFn<T, R> = unsafe fn(NonNull<Header<T, R>>, &InterruptSync<T>) -> R;

/// The head of an allocated object routine: how to call it and how to free it.
#[repr(C)]
struct Header<T: Send + 'static, R> {
    call: CallFn<T, R>,
    free: unsafe fn(NonNull<Header<T, R>>),
}

/// An object routine and its header, in one allocation.
#[repr(C)]
struct Node<T: Send + 'static, R, F> {
    header: Header<T, R>,
    routine: F,
}

/// A routine an [`InterruptSync`] calls with itself, set at most once.
///
/// Once set, the routine stays until the object is dropped, so a caller that found it may call
/// it without a lock.
///
/// # Invariants
///
/// `routine` is null, or points to the header of a `Node<T, R, F>` allocated by
/// [`ObjectRoutine::set`] with `call` and `free` of that `F`, owned by this object.
pub(super) struct ObjectRoutine<T: Send + 'static, R> {
    routine: AtomicPtr<Header<T, R>>,
}

impl<T: Send + 'static, R> ObjectRoutine<T, R> {
    /// Returns an object routine that is not set.
    pub(super) const fn new() -> Self {
        // INVARIANT: Null.
        ObjectRoutine {
            routine: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Sets the routine. Fails with `EBUSY` if it is set already, and with `ENOMEM`.
    pub(super) fn set<F>(&self, routine: F) -> Result
    where
        F: Fn(&InterruptSync<T>) -> R + Send + Sync + 'static,
    {
        let node = KBox::new(
            Node {
                header: Header {
                    call: call_node::<T, R, F>,
                    free: free_node::<T, R, F>,
                },
                routine,
            },
            GFP_KERNEL,
        )?;
        let header = KBox::into_raw(node).cast::<Header<T, R>>();
        // INVARIANT: `header` heads a node allocated above for `F`; it is stored only if no
        // routine was, and then owned by `self`.
        match self.routine.compare_exchange(
            ptr::null_mut(),
            header,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `header` was not stored, so it is still owned here, and it heads a
                // node of `F`.
                unsafe { free_node::<T, R, F>(NonNull::new_unchecked(header)) };
                Err(EBUSY)
            }
        }
    }

    /// Returns whether the routine is set.
    pub(super) fn is_set(&self) -> bool {
        !self.routine.load(Ordering::Acquire).is_null()
    }

    /// Calls the routine with `sync`, and returns what it returns, or `None` if it is not set.
    pub(super) fn call(&self, sync: &InterruptSync<T>) -> Option<R> {
        let header = NonNull::new(self.routine.load(Ordering::Acquire))?;
        // SAFETY: By the type invariant `header` heads a live node whose `call` matches it; it
        // is freed only when `self` is dropped, which cannot happen while `self` is borrowed.
        Some(unsafe { (header.as_ref().call)(header, sync) })
    }
}

impl<T: Send + 'static, R> Drop for ObjectRoutine<T, R> {
    fn drop(&mut self) {
        if let Some(header) = NonNull::new(*self.routine.get_mut()) {
            // SAFETY: By the type invariant `header` heads a node owned by `self`, with the
            // `free` of its type; nothing else refers to it any more.
            unsafe { (header.as_ref().free)(header) };
        }
    }
}

/// Calls the routine of the node `header` heads.
///
/// # Safety
///
/// `header` heads a live `Node<T, R, F>`.
unsafe fn call_node<T: Send + 'static, R, F>(
    header: NonNull<Header<T, R>>,
    sync: &InterruptSync<T>,
) -> R
where
    F: Fn(&InterruptSync<T>) -> R,
{
    // SAFETY: The header is the first field of the `#[repr(C)]` node, which is live, as the
    // caller guarantees; the routine is only read.
    let node = unsafe { header.cast::<Node<T, R, F>>().as_ref() };
    (node.routine)(sync)
}

/// Frees the node `header` heads.
///
/// # Safety
///
/// `header` heads a `Node<T, R, F>` allocated with [`KBox`], owned by the caller, and not used
/// afterwards.
unsafe fn free_node<T: Send + 'static, R, F>(header: NonNull<Header<T, R>>) {
    // SAFETY: As the caller guarantees.
    drop(unsafe { KBox::from_raw(header.cast::<Node<T, R, F>>().as_ptr()) });
}

/// Which deferred work of an [`InterruptSync`] a [`Deferred`] is: its constant parameter.
pub(super) const DPC: u8 = 0;
pub(super) const WORK_ITEM: u8 = 1;

/// The lockdep names of the work items. `static`s, so that every crate instantiating
/// [`Deferred::new`] hands lockdep the same name with the one lock class key of the function.
static DPC_LOCKDEP_NAME: &crate::str::CStr = crate::c_str!("InterruptSync::dpc");
static WORK_ITEM_LOCKDEP_NAME: &crate::str::CStr = crate::c_str!("InterruptSync::work_item");

/// A work item of an [`InterruptSync`] and the routine it runs: the DPC (`KIND` is [`DPC`]),
/// queued on `system_bh_wq` and run in softirq context, or the work item ([`WORK_ITEM`]), queued
/// on `system_wq` and run in process context.
///
/// Queuing a work item that is already queued does nothing and returns `false`: it runs once.
/// The workqueue never runs one work item on two CPUs at once.
///
/// # Invariants
///
/// `work` is initialised with `run::<T, KIND>` as its function, and is the `dpc` field of an
/// [`InterruptSync<T>`] if `KIND` is [`DPC`], its `work_item` field otherwise.
#[pin_data]
#[repr(C)]
pub(super) struct Deferred<T: Send + 'static, const KIND: u8> {
    #[pin]
    work: Opaque<bindings::work_struct>,
    pub(super) routine: ObjectRoutine<T, ()>,
}

// SAFETY: The work item is only handed to the workqueue functions, which may be called from any
// CPU; the routine is `Send` and `Sync`.
unsafe impl<T: Send + 'static, const KIND: u8> Send for Deferred<T, KIND> {}

// SAFETY: As above.
unsafe impl<T: Send + 'static, const KIND: u8> Sync for Deferred<T, KIND> {}

impl<T: Send + 'static, const KIND: u8> Deferred<T, KIND> {
    /// Creates the initialiser of the `KIND` field of an [`InterruptSync`].
    ///
    /// # Safety
    ///
    /// The result initialises the `dpc` field of an [`InterruptSync<T>`] if `KIND` is [`DPC`],
    /// its `work_item` field otherwise.
    pub(super) unsafe fn new() -> impl PinInit<Self> {
        let (name, key) = match KIND {
            DPC => (DPC_LOCKDEP_NAME, crate::static_lock_class!()),
            _ => (WORK_ITEM_LOCKDEP_NAME, crate::static_lock_class!()),
        };
        // INVARIANT: `work` runs `run::<T, KIND>`, and the caller places the result.
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes, and `name` and `key` are `'static`, as lockdep
            // requires.
            work <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_work_with_key(
                    slot,
                    Some(run::<T, KIND>),
                    false,
                    name.as_char_ptr(),
                    key.as_ptr(),
                )
            }),
            routine: ObjectRoutine::new(),
        })
    }

    /// Queues the work on `cpu`, or on the current CPU, unless it is queued already. Returns
    /// whether it was queued, and `false` when no routine is set or `cpu` is not online.
    pub(super) fn queue(&self, cpu: Option<u32>) -> bool {
        if !self.routine.is_set() {
            return false;
        }
        let cpu = match cpu {
            Some(cpu) if super::is_online(cpu) => cpu as i32,
            Some(_) => return false,
            None => bindings::wq_misc_consts_WORK_CPU_UNBOUND as i32,
        };
        // SAFETY: The system workqueues are created at boot and never destroyed.
        let queue = unsafe {
            match KIND {
                DPC => bindings::system_bh_wq,
                _ => bindings::system_wq,
            }
        };
        // SAFETY: By the type invariant `work` is initialised; the object it is part of is
        // pinned and cancels it before it is dropped. `queue_work_on()` may be called from any
        // context.
        unsafe { bindings::queue_work_on(cpu, queue, self.work.get()) }
    }

    /// Cancels the work if it is queued and waits for it if it is running, unless the caller is
    /// the work itself. It may be queued again afterwards.
    pub(super) fn cancel(&self) {
        // SAFETY: `current_work()` has no preconditions.
        if unsafe { bindings::current_work() } == self.work.get() {
            return;
        }
        // SAFETY: By the type invariant `work` is initialised.
        unsafe { bindings::cancel_work_sync(self.work.get()) };
    }

    /// Cancels the work and waits for it, and makes queuing it fail from now on.
    pub(super) fn shut_down(&self) {
        // SAFETY: By the type invariant `work` is initialised.
        unsafe { bindings::disable_work_sync(self.work.get()) };
    }
}

/// The function of the work item of a [`Deferred<T, KIND>`].
///
/// # Safety
///
/// `work` is the `work` field of a [`Deferred<T, KIND>`] initialised by [`Deferred::new`].
unsafe extern "C" fn run<T: Send + 'static, const KIND: u8>(work: *mut bindings::work_struct) {
    let offset = match KIND {
        DPC => core::mem::offset_of!(InterruptSync<T>, dpc),
        _ => core::mem::offset_of!(InterruptSync<T>, work_item),
    };
    // `work` is the first field of the `#[repr(C)]` `Deferred`, so the object starts `offset`
    // bytes before it.
    let sync = work
        .cast::<u8>()
        .wrapping_sub(offset)
        .cast::<InterruptSync<T>>();
    // SAFETY: By the type invariant of `Deferred` the work item is the `KIND` field of an
    // `InterruptSync<T>`, which shuts it down, waiting for this function, before it is dropped.
    let sync = unsafe { &*sync };
    // SAFETY: `work` is the first field of the `#[repr(C)]` `Deferred<T, KIND>` it is part of,
    // which lives as long as the object.
    let deferred = unsafe { &*work.cast::<Deferred<T, KIND>>() };
    deferred.routine.call(sync);
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Sets the DPC: `routine` runs in softirq context, outside the lock, each time the DPC is
    /// queued with [`IsrContext::queue_dpc`] or [`InterruptSync::queue_dpc`] (KMDF's
    /// `EvtInterruptDpc`, NDIS's `MiniportInterruptDPC`).
    ///
    /// It gets the object, to reach the state with [`InterruptSync::call_synchronized`]. It must
    /// not sleep; what it calls that would is refused with a warning. Fails with `EBUSY` if a
    /// DPC is set already, and with `ENOMEM`.
    ///
    /// # Examples
    ///
    /// A routine would queue the DPC with [`IsrContext::queue_dpc`]; process context may too:
    ///
    /// ```
    /// use kernel::delay::poll_timeout;
    /// use kernel::irq::DispatchMode;
    /// use kernel::new_interrupt_sync;
    ///
    /// let sync = KBox::pin_init(
    ///     new_interrupt_sync!(u32::MAX, DispatchMode::Normal, 0u32, "example_dpc"),
    ///     GFP_KERNEL,
    /// )?;
    /// // No DPC yet: nothing to queue.
    /// assert!(!sync.queue_dpc());
    /// sync.set_dpc(|sync| sync.call_synchronized(|completed| *completed += 1))?;
    /// assert!(sync.queue_dpc());
    /// poll_timeout(|| sync.call_synchronized(|completed| *completed) == 1, 1000, 1_000_000)?;
    /// assert_eq!(sync.set_dpc(|_| {}), Err(EBUSY));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// [`IsrContext::queue_dpc`]: super::IsrContext::queue_dpc
    pub fn set_dpc(&self, routine: impl Fn(&InterruptSync<T>) + Send + Sync + 'static) -> Result {
        self.dpc.routine.set(routine)
    }

    /// Sets the work item: `routine` runs in process context, outside the lock, where it may
    /// sleep, each time the work item is queued with [`IsrContext::queue_work_item`] or
    /// [`InterruptSync::queue_work_item`] (KMDF's `WdfInterruptQueueWorkItemForIsr()`).
    ///
    /// Fails with `EBUSY` if a work item is set already, and with `ENOMEM`.
    ///
    /// [`IsrContext::queue_work_item`]: super::IsrContext::queue_work_item
    pub fn set_work_item(
        &self,
        routine: impl Fn(&InterruptSync<T>) + Send + Sync + 'static,
    ) -> Result {
        self.work_item.routine.set(routine)
    }

    /// Sets the thread routine, and so makes [`InterruptSync::connect`] request the lines
    /// threaded (KMDF's `PassiveHandling`, `request_threaded_irq()`).
    ///
    /// `routine` runs in the line's kernel thread, in process context where it may sleep, after
    /// an interrupt whose routines called [`IsrContext::wake_thread`]. It returns whether it
    /// handled anything, for the kernel's detection of stuck lines, and reaches the state with
    /// [`InterruptSync::call_synchronized`]. Takes effect at the next connection. Fails with
    /// `EBUSY` if a thread routine is set already, and with `ENOMEM`.
    ///
    /// [`IsrContext::wake_thread`]: super::IsrContext::wake_thread
    pub fn set_thread_routine(
        &self,
        routine: impl Fn(&InterruptSync<T>) -> IrqReturn + Send + Sync + 'static,
    ) -> Result {
        self.thread.set(routine)
    }

    /// Queues the DPC on the current CPU, unless it is queued already (KMDF's
    /// `WdfInterruptQueueDpcForIsr()`). Returns whether it was queued: `false` when it is
    /// queued and has not started yet, which still runs it once, or when no DPC is set.
    /// Callable from any context.
    pub fn queue_dpc(&self) -> bool {
        self.dpc.queue(None)
    }

    /// Queues the DPC on CPU `cpu`, as [`InterruptSync::queue_dpc`] does (NDIS's
    /// `TargetProcessors`). Returns `false` too when `cpu` is not online.
    pub fn queue_dpc_on(&self, cpu: u32) -> bool {
        self.dpc.queue(Some(cpu))
    }

    /// Queues the work item, unless it is queued already. Returns whether it was queued, as
    /// [`InterruptSync::queue_dpc`] does. Callable from any context.
    pub fn queue_work_item(&self) -> bool {
        self.work_item.queue(None)
    }
}
