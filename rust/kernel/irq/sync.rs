// SPDX-License-Identifier: GPL-2.0

//! Interrupt synchronization objects: device state shared between service routines and
//! process context under one interrupt-safe lock.
//!
//! This is the Rust counterpart of PortCls's `IInterruptSync` and of NDIS's
//! `NdisMSynchronizeWithInterruptEx`; `Documentation/rust/irq-sync.rst` maps one to the other.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::{Flags, Handler, IrqReturn, Registration, ThreadedHandler, ThreadedIrqReturn};
use crate::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    error::{Error, Result},
    init::{self, PinInit},
    pin_init,
    prelude::*,
    str::CStr,
    sync::{LockClassKey, Mutex, SpinLockIrq},
};
use chain::{Chain, Routine};
use core::{
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering},
};
use deferred::{Deferred, ObjectRoutine, DPC, WORK_ITEM};

mod chain;
mod context;
mod deferred;
mod line_control;
mod statistics;

pub use context::IsrContext;
pub use line_control::MAX_DISABLE_DEPTH;
pub use statistics::RoutineStatistics;
use statistics::StatisticsFile;

/// How many passes over the routines [`DispatchMode::Repeat`] makes for one interrupt at most.
///
/// A device that keeps reporting work after this many passes is taken to be stuck: dispatch
/// stops, the interrupt counts in [`Statistics::repeat_limit_hits`], and the first time it
/// happens a warning names the line.
pub const MAX_REPEAT_PASSES: u32 = 16;

/// Creates an [`InterruptSync`] initialiser with a lockdep class for its lock.
///
/// `$irq` is the line, `$mode` a [`DispatchMode`], `$state` the device state the object owns.
/// The optional name is what `/proc/interrupts` and lockdep show; without one, the file name and
/// line number of the call are used.
#[macro_export]
macro_rules! new_interrupt_sync {
    ($irq:expr, $mode:expr, $state:expr $(, $name:literal)? $(,)?) => {
        $crate::irq::InterruptSync::new(
            $irq,
            $mode,
            $state,
            $crate::optional_name!($($name)?),
            $crate::static_lock_class!(),
        )
    };
}
pub use new_interrupt_sync;

/// Creates an [`InterruptSync`] initialiser for a group of lines sharing one lock, with a lockdep
/// class for it.
///
/// `$lines` is a slice of lines, typically the MSI or MSI-X vectors of a device; the rest is as
/// for [`new_interrupt_sync!`]. See [`InterruptSync::new_group`].
#[macro_export]
macro_rules! new_interrupt_sync_group {
    ($lines:expr, $mode:expr, $state:expr $(, $name:literal)? $(,)?) => {
        $crate::irq::InterruptSync::new_group(
            $lines,
            $mode,
            $state,
            $crate::optional_name!($($name)?),
            $crate::static_lock_class!(),
        )
    };
}
pub use new_interrupt_sync_group;

/// How an [`InterruptSync`] calls its service routines when its line fires.
///
/// These are the modes of PortCls's `PcNewInterruptSync()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchMode {
    /// Calls the routines in order and stops at the first that handles the interrupt
    /// (`InterruptSyncModeNormal`).
    Normal,

    /// Calls every routine once, whatever they return (`InterruptSyncModeAll`).
    All,

    /// Calls every routine, and again, until a whole pass handles nothing
    /// (`InterruptSyncModeRepeat`), at most [`MAX_REPEAT_PASSES`] times.
    Repeat,
}

/// Where [`InterruptSync::register_service_routine`] puts a routine in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Before all routines registered so far: it is called first.
    First,

    /// After all routines registered so far: it is called last.
    Last,
}

/// Counters an [`InterruptSync`] keeps about the interrupts it dispatched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Interrupts at least one routine handled ([`IrqReturn::Handled`] to the kernel).
    pub handled: u64,

    /// Interrupts no routine handled ([`IrqReturn::None`] to the kernel).
    pub unhandled: u64,

    /// Interrupts after which [`DispatchMode::Repeat`] stopped at [`MAX_REPEAT_PASSES`].
    pub repeat_limit_hits: u64,
}

/// The lockdep name of the mutex that serialises connecting and disconnecting.
///
/// A `static`, so that every crate instantiating [`InterruptSync::new`] hands lockdep the same
/// name with the one lock class key of the function.
static CONNECTION_LOCK_NAME: &CStr = crate::c_str!("InterruptSync::connection");

/// Everything the lock of an [`InterruptSync`] protects.
///
/// # Invariants
///
/// `chains` has one chain per line of the object; its buffer is neither reallocated nor replaced
/// while the object lives.
struct Protected<T> {
    state: T,
    chains: KVec<Chain<T>>,
    counters: Counters,
    /// What runs on the state once the lines are connected, and before they are disconnected.
    on_connect: Chain<T>,
    on_disconnect: Chain<T>,
}

/// The counters behind [`Statistics`], kept so that counting an interrupt is one increment
/// wherever dispatch ends: every interrupt counts in `dispatched`, and only those no routine
/// handled in `unhandled` too. All wrap rather than overflow (an interrupt handler must not
/// panic), but `repeat_limit_hits`, which saturates so that its first hit is reported once.
#[derive(Clone, Copy, Default)]
struct Counters {
    dispatched: u64,
    unhandled: u64,
    repeat_limit_hits: u64,
}

impl From<Counters> for Statistics {
    fn from(counters: Counters) -> Self {
        Statistics {
            handled: counters.dispatched.wrapping_sub(counters.unhandled),
            unhandled: counters.unhandled,
            repeat_limit_hits: counters.repeat_limit_hits,
        }
    }
}

impl<T> Protected<T> {
    /// Links an allocated routine into the chain of `message`, which must exist; it allocates
    /// nothing, so it may run under the lock.
    fn insert(&mut self, message: usize, routine: Routine<T>, placement: Placement) {
        chain::insert(&mut self.chains[message], routine, placement);
    }

    /// Calls the routines of `message` in order until one handles the interrupt
    /// ([`DispatchMode::Normal`]), counts the interrupt, and returns what to tell the kernel.
    ///
    /// # Safety
    ///
    /// `message` is the index of a line of the object.
    #[inline(always)]
    unsafe fn dispatch_until_handled(&mut self, message: usize) -> IrqReturn {
        // SAFETY: By the type invariant there is one chain per line, and the caller passes the
        // index of a line.
        let chain = unsafe { self.chains.get_unchecked_mut(message) };
        if chain::run_until_handled(chain, &mut self.state) {
            return IrqReturn::Handled;
        }
        self.unhandled()
    }

    /// Calls every routine of `message` once, in order ([`DispatchMode::All`], and one pass of
    /// [`DispatchMode::Repeat`]). Returns whether any handled the interrupt.
    ///
    /// # Safety
    ///
    /// `message` is the index of a line of the object.
    #[inline(always)]
    unsafe fn run_all(&mut self, message: usize) -> bool {
        // SAFETY: By the type invariant there is one chain per line, and the caller passes the
        // index of a line.
        let chain = unsafe { self.chains.get_unchecked_mut(message) };
        chain::run_all(chain, &mut self.state)
    }

    /// Makes the passes of [`DispatchMode::Repeat`]. Returns whether any routine handled the
    /// interrupt, and whether this interrupt is the first to reach [`MAX_REPEAT_PASSES`].
    ///
    /// Out of line, so that the other modes' path stays short.
    ///
    /// # Safety
    ///
    /// `message` is the index of a line of the object.
    #[inline(never)]
    unsafe fn run_passes(&mut self, message: usize) -> (bool, bool) {
        let mut passes = 0;
        // SAFETY: The caller passes the index of a line.
        while passes < MAX_REPEAT_PASSES && unsafe { self.run_all(message) } {
            passes += 1;
        }
        let mut first_limit_hit = false;
        if passes == MAX_REPEAT_PASSES {
            // Saturates, so that the first hit is reported once.
            self.counters.repeat_limit_hits = self.counters.repeat_limit_hits.saturating_add(1);
            first_limit_hit = self.counters.repeat_limit_hits == 1;
        }
        (passes > 0, first_limit_hit)
    }

    /// Counts an interrupt no routine handled, and returns what to tell the kernel about it.
    #[inline(always)]
    fn unhandled(&mut self) -> IrqReturn {
        self.counters.unhandled = self.counters.unhandled.wrapping_add(1);
        IrqReturn::None
    }

    /// Counts an interrupt as handled or not, and returns what to tell the kernel.
    #[inline(always)]
    fn count(&mut self, handled: bool) -> IrqReturn {
        if handled {
            IrqReturn::Handled
        } else {
            self.unhandled()
        }
    }
}

/// The part of an [`InterruptSync`] its interrupt handler uses.
#[pin_data]
struct Shared<T> {
    #[pin]
    protected: SpinLockIrq<Protected<T>>,
    mode: DispatchMode,
    lines: KVec<u32>,
    name: &'static CStr,
    /// Whether the object is connected; written under the connection mutex, read by anyone.
    connected: AtomicBool,
    /// Whether a blocking method called in atomic context was reported already.
    misuse_reported: AtomicBool,
    /// Whether the lines are requested with a thread; written under the connection mutex.
    threaded: AtomicBool,
    /// Whether a routine asked for the thread routine; written and cleared under the lock.
    thread_requested: AtomicBool,
    /// The task running the thread routine of each line, or null.
    thread_tasks: KVec<AtomicPtr<bindings::task_struct>>,
    /// Whether the lines are requested and may be disabled; written under the lock.
    lines_open: AtomicBool,
    /// How many times the lines were disabled and not enabled again; written under the lock.
    disable_depth: AtomicU32,
}

/// Returns the `EDEADLK` error, which `kernel::error::code` does not have in this kernel.
fn edeadlk() -> Error {
    Error::from_errno(-(bindings::EDEADLK as i32))
}

/// Returns whether `cpu` is a CPU that is online.
fn is_online(cpu: u32) -> bool {
    // SAFETY: Reading `nr_cpu_ids` and the online mask has no preconditions; `cpu` is checked
    // against `nr_cpu_ids` first, as `cpu_online()` requires.
    cpu < unsafe { bindings::nr_cpu_ids } && unsafe { bindings::cpu_online(cpu) }
}

impl<T> Shared<T> {
    /// Returns whether `method`, which sleeps, may run here.
    ///
    /// Service routines and synchronized closures run with local interrupts disabled, or on
    /// `CONFIG_PREEMPT_RT` with the lock held by their task, and the DPC in softirq context;
    /// from there, `method` would sleep in atomic context or wait for itself for ever. The
    /// first time that happens the object warns, naming itself and the method.
    fn may_sleep(&self, method: &str) -> bool {
        // On `CONFIG_PREEMPT_RT` routines and closures run with interrupts enabled, holding the
        // lock as its owner.
        // SAFETY: `in_task()` has no preconditions.
        if unsafe { bindings::in_task() }
            && !super::local_interrupts_disabled()
            && !self.protected.held_by_current_task()
        {
            return true;
        }
        self.report_misuse(
            method,
            "in atomic context, from a service routine, a synchronized closure or the DPC",
        );
        false
    }

    /// Returns whether `method`, which sleeps and waits for the routines, thread routines
    /// included, may run here: as [`Shared::may_sleep`], and not from a thread routine, which
    /// the wait would wait for.
    fn may_wait_for_routines(&self, method: &str) -> bool {
        if !self.may_sleep(method) {
            return false;
        }
        // SAFETY: `get_current()` has no preconditions.
        let current = unsafe { bindings::get_current() };
        if self
            .thread_tasks
            .iter()
            .any(|task| task.load(Ordering::Relaxed) == current)
        {
            self.report_misuse(method, "from the thread routine");
            return false;
        }
        true
    }

    /// Warns, the first time only, that `method` was called `where` it cannot run.
    #[cold]
    fn report_misuse(&self, method: &str, place: &str) {
        if !self.misuse_reported.swap(true, Ordering::Relaxed) {
            pr_warn!(
                "{}: {}() called {}? Refused: it sleeps and waits for the routines\n",
                self.name,
                method,
                place
            );
        }
    }

    /// Dispatches an interrupt of line `message` in mode `MODE`, as the unthreaded handler
    /// does, and says whether a routine asked for the thread routine; called by threaded
    /// handlers only.
    ///
    /// # Safety
    ///
    /// `message` is the index of a line of the object.
    #[inline(always)]
    unsafe fn service_threaded<const MODE: u8>(&self, message: usize) -> ThreadedIrqReturn {
        // Handlers run with local interrupts disabled: no need to save and restore them.
        self.protected.with_lock_in_handler(|p| {
            // SAFETY: The caller passes the index of a line.
            let result = unsafe { self.dispatch::<MODE>(p, message) };
            // Under the lock: the request is this interrupt's.
            if self.thread_requested.swap(false, Ordering::Relaxed) {
                ThreadedIrqReturn::WakeThread
            } else if result.is_handled() {
                ThreadedIrqReturn::Handled
            } else {
                ThreadedIrqReturn::None
            }
        })
    }

    /// Calls the routines of line `message` as mode `MODE` says, with the lock held.
    ///
    /// # Safety
    ///
    /// `message` is the index of a line of the object.
    #[inline(always)]
    unsafe fn dispatch<const MODE: u8>(&self, p: &mut Protected<T>, message: usize) -> IrqReturn {
        p.counters.dispatched = p.counters.dispatched.wrapping_add(1);
        let handled = match MODE {
            // SAFETY: The caller passes the index of a line.
            NORMAL => return unsafe { p.dispatch_until_handled(message) },
            // SAFETY: The caller passes the index of a line.
            ALL => unsafe { p.run_all(message) },
            _ => {
                // SAFETY: The caller passes the index of a line.
                let (handled, first_limit_hit) = unsafe { p.run_passes(message) };
                if first_limit_hit {
                    self.report_stuck(message);
                }
                handled
            }
        };
        p.count(handled)
    }

    /// Reports that [`DispatchMode::Repeat`] stopped at [`MAX_REPEAT_PASSES`] on line
    /// `message`. Called under the lock, from the handler: `printk()` may be called from any
    /// context.
    #[cold]
    #[inline(never)]
    fn report_stuck(&self, message: usize) {
        pr_warn!(
            "{} (irq {}): service routines still busy after {} passes, the device may be stuck\n",
            self.name,
            self.lines.get(message).copied().unwrap_or_default(),
            MAX_REPEAT_PASSES
        );
    }
}

/// The dispatch modes as the constant parameter of [`Dispatch`].
const NORMAL: u8 = 0;
const ALL: u8 = 1;
const REPEAT: u8 = 2;

/// The handler an [`InterruptSync`] registers when it connects.
///
/// Its type names the dispatch mode `MODE` ([`NORMAL`], [`ALL`] or [`REPEAT`]), so that the code
/// of each handler is that mode's dispatch alone, with no test of the mode.
///
/// It keeps the addresses of the object's lock, of its state and of its line's chain beside that
/// of the object, so that its hot path reaches them without going through the object.
///
/// # Invariants
///
/// `sync` points to a pinned [`InterruptSync`] that disconnects, and so drops this handler,
/// before it is dropped, `protected` to that object's `shared.protected`, and `state` to the
/// `state` of the data of that lock, derived from the lock's data pointer. `message` is the index
/// of a line of it, `chain` points to the chain of that line in `chains` (whose buffer stays in
/// place), and `MODE` is the object's mode.
struct Dispatch<T: Send + 'static, const MODE: u8> {
    protected: NonNull<SpinLockIrq<Protected<T>>>,
    state: NonNull<T>,
    chain: NonNull<Chain<T>>,
    message: usize,
    sync: NonNull<InterruptSync<T>>,
}

// SAFETY: `Dispatch` gives shared access to an `InterruptSync<T>`, which is `Sync` when `T` is
// `Send`, and makes `&mut` references to the object's protected data and chain only while it
// holds the object's lock, whichever CPU it runs on: the data is `Send` (`T` is, and so are the
// routines of a chain).
unsafe impl<T: Send, const MODE: u8> Send for Dispatch<T, MODE> {}

// SAFETY: As above: calling the handler from several CPUs at once only takes the lock.
unsafe impl<T: Send, const MODE: u8> Sync for Dispatch<T, MODE> {}

impl<T: Send, const MODE: u8> Dispatch<T, MODE> {
    /// Returns the object the handler serves.
    #[inline(always)]
    fn sync(&self) -> &InterruptSync<T> {
        // SAFETY: By the type invariant `sync` is valid as long as the handler exists.
        unsafe { self.sync.as_ref() }
    }

    /// Returns the lock of the object the handler serves.
    #[inline(always)]
    fn protected(&self) -> &SpinLockIrq<Protected<T>> {
        // SAFETY: By the type invariant `protected` is the lock of the object, valid as long as
        // the handler exists.
        unsafe { self.protected.as_ref() }
    }

    /// Returns the lock of the object the handler serves, as [`Dispatch::protected`] does, but
    /// read from `self` again at each call (a volatile read, which the compiler may not merge
    /// with the others) rather than kept in a register: across the calls of the hot path, the
    /// handler then keeps `self` alone in a callee-saved register. On x86-64 the read replaces
    /// the register move the call would otherwise take.
    #[inline(always)]
    fn protected_reread(&self) -> &SpinLockIrq<Protected<T>> {
        // SAFETY: `self.protected` is a live, aligned field of `self`.
        let protected = unsafe { ptr::read_volatile(&self.protected) };
        // SAFETY: As in `protected()`.
        unsafe { protected.as_ref() }
    }

    /// Returns the address of the protected data of the object the handler serves, found from
    /// the address of its state, read from `self` again at each call as in
    /// [`Dispatch::protected_reread`]: the state is what a routine is called on, so the one
    /// address serves both the data's fields and the call, as a C handler's device structure
    /// does. A CPU holding the lock taken with [`SpinLockIrq::lock_in_handler`] may access the
    /// data until it releases it.
    #[inline(always)]
    fn data_reread(&self) -> *mut Protected<T> {
        // SAFETY: `self.state` is a live, aligned field of `self`.
        let state = unsafe { ptr::read_volatile(&self.state) };
        // SAFETY: By the type invariant `state` points to the `state` field of the object's
        // protected data, which lives as long as the handler, and was derived from the data's own
        // pointer: stepping back by the field's offset gives the start of the data, inside the
        // same allocation and with the provenance of the whole data.
        unsafe {
            state
                .as_ptr()
                .byte_sub(core::mem::offset_of!(Protected<T>, state))
                .cast::<Protected<T>>()
        }
    }

    /// Dispatches an interrupt in [`DispatchMode::Normal`] or [`DispatchMode::All`], shaped for
    /// the common case of a line whose first routine handles it, and, in All mode, is its only
    /// one: that path keeps only `self` in a register across the routine's call, and releases
    /// the lock before a constant return. Any other outcome is finished out of line, in
    /// [`Dispatch::finish_out_of_line`]. In All mode the chain is tested before any call: the
    /// routines cannot change while the lock is held.
    ///
    /// # Safety
    ///
    /// Called from the object's interrupt handler, as [`SpinLockIrq::lock_in_handler`] requires.
    #[inline(always)]
    unsafe fn dispatch_first_inline(&self) -> IrqReturn {
        // SAFETY: The caller runs in the handler; every path below releases the lock once.
        unsafe { self.protected_reread().lock_in_handler() };
        // SAFETY: By the type invariant of `Dispatch` the data is alive, and `data_reread()`
        // returns its aligned address. The lock is held, so by the type invariant of
        // `SpinLockIrq` no one else accesses the data; `p` is not used once the lock is released
        // or the out-of-line path takes over.
        let p = unsafe { &mut *self.data_reread() };
        p.counters.dispatched = p.counters.dispatched.wrapping_add(1);
        // SAFETY: By the type invariant `chain` points to the chain of the handler's line in
        // `p.chains`, which the lock protects and which `p` does not borrow: `p` holds the
        // vector's pointer, not its elements.
        let chain = unsafe { &mut *self.chain.as_ptr() };
        if MODE == ALL && !chain::has_one(chain) {
            // SAFETY: The lock is held and `p` is not used again.
            return unsafe {
                self.finish_out_of_line(|p, chain| {
                    let handled = chain::run_all(chain, &mut p.state);
                    p.count(handled)
                })
            };
        }
        if chain::call_first(chain, &mut p.state) == Some(IrqReturn::Handled) {
            // SAFETY: This CPU took the lock above, and `p` is not used again.
            unsafe { self.protected_reread().unlock_in_handler() };
            return IrqReturn::Handled;
        }
        // The first routine, if any, was called and did not handle the interrupt: Normal mode
        // goes on with the others, All mode had no other.
        // SAFETY: The lock is held and `p` is not used again.
        unsafe {
            self.finish_out_of_line(|p, chain| {
                if MODE == NORMAL && chain::run_rest_until_handled(chain, &mut p.state) {
                    return IrqReturn::Handled;
                }
                p.unhandled()
            })
        }
    }

    /// Finishes a dispatch [`Dispatch::dispatch_first_inline`] began: runs `finish` on the data
    /// and the line's chain, and releases the lock. Out of line, so that the common path keeps
    /// nothing of it.
    ///
    /// # Safety
    ///
    /// This CPU holds the lock, taken with [`SpinLockIrq::lock_in_handler`], and no reference to
    /// its data lives.
    #[inline(never)]
    unsafe fn finish_out_of_line(
        &self,
        finish: impl FnOnce(&mut Protected<T>, &mut Chain<T>) -> IrqReturn,
    ) -> IrqReturn {
        let protected = self.protected();
        // SAFETY: The caller holds the lock and no other reference to the data.
        let p = unsafe { &mut *protected.data_ptr() };
        // SAFETY: By the type invariant `chain` points to the chain of the handler's line, which
        // `p` does not borrow.
        let chain = unsafe { &mut *self.chain.as_ptr() };
        let result = finish(p, chain);
        // SAFETY: The caller took the lock on this CPU, and `p` is not used again.
        unsafe { protected.unlock_in_handler() };
        result
    }
}

impl<T: Send, const MODE: u8> Handler for Dispatch<T, MODE> {
    #[inline(always)]
    fn handle_irq(&self) -> IrqReturn {
        if MODE == NORMAL || MODE == ALL {
            // SAFETY: This is the object's interrupt handler.
            return unsafe { self.dispatch_first_inline() };
        }
        let protected = self.protected();
        let message = self.message;
        // Handlers run with local interrupts disabled: no need to save and restore them.
        protected.with_lock_in_handler(|p| {
            // SAFETY: By the type invariant `message` is the index of a line of the object. The
            // object is reached only to report a stuck device, off the hot path.
            unsafe { self.sync().shared.dispatch::<MODE>(p, message) }
        })
    }
}

impl<T: Send, const MODE: u8> ThreadedHandler for Dispatch<T, MODE> {
    fn handle_primary(&self) -> ThreadedIrqReturn {
        // SAFETY: By the type invariant `message` is the index of a line of the object.
        unsafe { self.sync().shared.service_threaded::<MODE>(self.message) }
    }

    fn handle_thread(&self) -> IrqReturn {
        let sync = self.sync();
        let task = &sync.shared.thread_tasks[self.message];
        // SAFETY: `get_current()` has no preconditions.
        task.store(unsafe { bindings::get_current() }, Ordering::Relaxed);
        // The object connects threaded only with a thread routine, which stays set.
        let result = sync.thread.call(sync).unwrap_or(IrqReturn::None);
        task.store(ptr::null_mut(), Ordering::Relaxed);
        result
    }
}

/// A requested line of a connected [`InterruptSync`], whose handler has the object's mode.
enum ConnectedLine<T: Send + 'static> {
    Normal(Pin<KBox<Registration<Dispatch<T, NORMAL>>>>),
    All(Pin<KBox<Registration<Dispatch<T, ALL>>>>),
    Repeat(Pin<KBox<Registration<Dispatch<T, REPEAT>>>>),
}

impl<T: Send + 'static> ConnectedLine<T> {
    /// Waits until no handler of the line runs on any CPU, its thread included.
    fn synchronize(&self) {
        match self {
            ConnectedLine::Normal(registration) => registration.synchronize(),
            ConnectedLine::All(registration) => registration.synchronize(),
            ConnectedLine::Repeat(registration) => registration.synchronize(),
        }
    }

    /// Returns the line.
    fn irq(&self) -> u32 {
        match self {
            ConnectedLine::Normal(registration) => registration.irq(),
            ConnectedLine::All(registration) => registration.irq(),
            ConnectedLine::Repeat(registration) => registration.irq(),
        }
    }
}

/// The lines of a connected [`InterruptSync`], one registration each: dropping it frees them.
struct Connection<T: Send + 'static>(KVec<ConnectedLine<T>>);

/// An interrupt synchronization object: device state `T` shared by an ordered chain of interrupt
/// service routines and process context, under one interrupt-safe spinlock.
///
/// The object is created for one interrupt line with a [`DispatchMode`] and the state it owns.
/// Service routines are closures that get `&mut T` and return [`IrqReturn`]; they are registered
/// at the head or the tail of the chain, before or after the object is connected. Connecting
/// requests the line; when it fires, the routines run in hard interrupt context under the lock, in
/// the order of the chain and as the mode says, and the handler reports [`IrqReturn::None`] to the
/// kernel when none of them handled the interrupt.
///
/// Process context reaches the state only through [`InterruptSync::call_synchronized`], which
/// runs a closure under the same lock with local interrupts disabled: no routine of this object
/// runs on any CPU meanwhile. There is no other path to `T`, so an unsynchronised access does not
/// compile.
///
/// Routines and synchronized closures run in atomic context, with local interrupts disabled.
/// What would wait for them there is refused at run time, with a warning naming the object the
/// first time: [`InterruptSync::connect`] and [`InterruptSync::register_service_routine`] fail
/// with `EDEADLK`, [`InterruptSync::disconnect`] and [`InterruptSync::synchronize`] do nothing.
/// [`InterruptSync::call_synchronized`] and [`InterruptSync::statistics`] called again from
/// there would wait for their own lock for ever: lockdep reports it at once, and other kernels
/// warn, naming the lock, after a second (see [`SpinLockIrq`]). Dropping the object from there
/// is not caught: `CONFIG_DEBUG_ATOMIC_SLEEP` reports it.
///
/// # Invariants
///
/// The object is pinned: it is `!Unpin` and only built in place from [`InterruptSync::new`], so
/// `shared` keeps its address until the object is dropped. `connection` holds a registration of a
/// `Dispatch` pointing to `shared` for every line whenever the object is connected.
///
/// # Examples
///
/// The state is only reachable through routines and `call_synchronized`:
///
/// ```
/// use kernel::irq::{DispatchMode, IrqReturn, Placement};
/// use kernel::new_interrupt_sync;
///
/// struct Card {
///     interrupts: u32,
///     position: usize,
/// }
///
/// let sync = KBox::pin_init(
///     new_interrupt_sync!(
///         u32::MAX,
///         DispatchMode::Normal,
///         Card { interrupts: 0, position: 0 },
///         "example_card"
///     ),
///     GFP_KERNEL,
/// )?;
///
/// sync.register_service_routine(
///     |card| {
///         card.interrupts += 1;
///         card.position += 512;
///         IrqReturn::Handled
///     },
///     Placement::Last,
/// )?;
///
/// // Like `CallSynchronizedRoutine()`: any return type, here the position.
/// let position = sync.call_synchronized(|card| card.position);
/// assert_eq!(position, 0);
///
/// // The line does not exist, so connecting fails and the object stays usable.
/// assert_eq!(sync.connect(kernel::irq::Flags::SHARED), Err(EINVAL));
/// assert!(!sync.is_connected());
/// # Ok::<(), Error>(())
/// ```
///
/// A simulated line shows the whole cycle: see [`sim::SimLines`](super::sim::SimLines).
#[pin_data(PinnedDrop)]
pub struct InterruptSync<T: Send + 'static> {
    #[pin]
    shared: Shared<T>,

    #[pin]
    connection: Mutex<Connection<T>>,

    /// The DPC, run in softirq context.
    #[pin]
    dpc: Deferred<T, DPC>,

    /// The work item, run in process context.
    #[pin]
    work_item: Deferred<T, WORK_ITEM>,

    /// The thread routine; the object connects threaded when it is set.
    thread: ObjectRoutine<T, IrqReturn>,

    /// The debugfs file of the routines' statistics.
    statistics_file: StatisticsFile,
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Creates an initialiser of an object for line `irq` that owns `state`.
    ///
    /// Nothing is requested until [`InterruptSync::connect`]. `name` is what `/proc/interrupts`
    /// and lockdep show. Prefer [`new_interrupt_sync!`], which makes the lock class. Fails with
    /// `ENOMEM` only.
    pub fn new(
        irq: u32,
        mode: DispatchMode,
        state: T,
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self, Error> {
        Self::new_group(&[irq], mode, state, name, key)
    }

    /// Creates an initialiser of one object for all of `lines`, which share its lock and state.
    ///
    /// This is NDIS's `MsiSyncWithAllMessages`: [`InterruptSync::call_synchronized`] excludes
    /// the routines of every line at once, and a routine of one line excludes those of the
    /// others. Each line, or message, has its own chain of routines, registered with
    /// [`InterruptSync::register_message_routine`]; message `i` is `lines[i]`. For one lock per
    /// message instead, make one object per line with [`InterruptSync::new`].
    ///
    /// Fails with `EINVAL` if `lines` is empty and with `ENOMEM`. Prefer
    /// [`new_interrupt_sync_group!`], which makes the lock class.
    pub fn new_group(
        lines: &[u32],
        mode: DispatchMode,
        state: T,
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self, Error> {
        let prepared = Self::prepare(lines, state);
        let init = move |slot: *mut Self| {
            let (lines, thread_tasks, protected) = prepared?;
            let init = pin_init!(Self {
                shared <- pin_init!(Shared {
                    protected <- SpinLockIrq::new(protected, name, key),
                    mode,
                    lines,
                    name,
                    connected: AtomicBool::new(false),
                    misuse_reported: AtomicBool::new(false),
                    threaded: AtomicBool::new(false),
                    thread_requested: AtomicBool::new(false),
                    thread_tasks,
                    lines_open: AtomicBool::new(false),
                    disable_depth: AtomicU32::new(0),
                }),
                connection <- Mutex::new(
                    Connection::none(),
                    CONNECTION_LOCK_NAME,
                    crate::static_lock_class!()
                ),
                // SAFETY: This is the `dpc` field of an `InterruptSync<T>`.
                dpc <- unsafe { Deferred::new() },
                // SAFETY: This is the `work_item` field of an `InterruptSync<T>`.
                work_item <- unsafe { Deferred::new() },
                thread: ObjectRoutine::new(),
                // SAFETY: This is the `statistics_file` field of an `InterruptSync<T>`.
                statistics_file: unsafe { StatisticsFile::new::<T>() },
            });
            // SAFETY: `slot` is valid for writes and pinned, as `pin_init_from_closure` below
            // requires of its callers.
            unsafe { init.__pinned_init(slot) }.map_err(|e| match e {})
        };
        // SAFETY: The closure either initialises all of `*slot`, or fails before writing
        // anything.
        unsafe { init::pin_init_from_closure(init) }
    }

    /// Allocates the line list, the thread task slots and the chains of a new object.
    #[allow(clippy::type_complexity)]
    fn prepare(
        lines: &[u32],
        state: T,
    ) -> Result<(
        KVec<u32>,
        KVec<AtomicPtr<bindings::task_struct>>,
        Protected<T>,
    )> {
        if lines.is_empty() {
            return Err(EINVAL);
        }
        let mut line_list = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
        let mut thread_tasks = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
        let mut chains = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
        for &line in lines {
            line_list.push(line, GFP_KERNEL)?;
            thread_tasks.push(AtomicPtr::new(ptr::null_mut()), GFP_KERNEL)?;
            chains.push(None, GFP_KERNEL)?;
        }
        // INVARIANT: One chain per line.
        let protected = Protected {
            state,
            chains,
            counters: Counters::default(),
            on_connect: None,
            on_disconnect: None,
        };
        Ok((line_list, thread_tasks, protected))
    }

    /// Returns the interrupt line of the object, the first if it has several (what
    /// `GetKInterrupt()` gives in PortCls).
    pub fn irq(&self) -> u32 {
        self.shared.lines[0]
    }

    /// Returns the lines of the object, in message order.
    pub fn lines(&self) -> &[u32] {
        &self.shared.lines
    }

    /// Returns the dispatch mode of the object.
    pub fn mode(&self) -> DispatchMode {
        self.shared.mode
    }

    /// Adds `routine` to the chain of the object's first line, first or last.
    ///
    /// Allowed before and while the object is connected: a routine registered while connected
    /// serves the next interrupt. The routine is allocated before the lock is taken; under the
    /// lock it is only linked in. Fails with `ENOMEM`, and with `EDEADLK` when called with
    /// interrupts disabled (from a routine or a synchronized closure).
    pub fn register_service_routine(
        &self,
        routine: impl FnMut(&mut T) -> IrqReturn + Send + 'static,
        placement: Placement,
    ) -> Result {
        self.register_message_routine(0, routine, placement)
    }

    /// Adds `routine` to the chain of line `message` of a group, first or last.
    ///
    /// As [`InterruptSync::register_service_routine`]; fails with `EINVAL` if the object has no
    /// line `message`.
    pub fn register_message_routine(
        &self,
        message: usize,
        routine: impl FnMut(&mut T) -> IrqReturn + Send + 'static,
        placement: Placement,
    ) -> Result {
        if message >= self.shared.lines.len() {
            return Err(EINVAL);
        }
        if !self.shared.may_sleep("register_service_routine") {
            return Err(edeadlk());
        }
        let routine = Routine::new(routine)?;
        self.shared
            .protected
            .with_lock(|p| p.insert(message, routine, placement));
        Ok(())
    }

    /// Runs `f` on the state with the lock held and local interrupts disabled, and returns what
    /// `f` returns.
    ///
    /// While `f` runs, no service routine of this object runs on any CPU, on any of its lines.
    /// This is PortCls's `CallSynchronizedRoutine()` and NDIS's
    /// `NdisMSynchronizeWithInterruptEx()`; the result may be of any type, a [`Result`]
    /// included. Works whether or not the object is connected.
    #[inline]
    pub fn call_synchronized<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.shared.protected.with_lock(|p| f(&mut p.state))
    }

    /// Runs `f` as [`InterruptSync::call_synchronized`] does if the lock is free, and returns
    /// what `f` returns; returns `None` without waiting if the lock is held, by a routine or a
    /// closure on another CPU (KMDF's `WdfInterruptTryToAcquireLock()`).
    pub fn try_call_synchronized<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.shared.protected.try_with_lock(|p| f(&mut p.state))
    }

    /// Runs `f` as [`InterruptSync::call_synchronized`] does, telling lockdep that this lock is
    /// taken at nesting level `subclass` (from 1 to 7) inside another object's lock of the same
    /// class.
    ///
    /// Objects made at one call site share a lockdep class, so taking one's lock inside
    /// another's looks to lockdep like taking a lock again. A driver that nests them, say two
    /// per-vector objects made in a loop, always in the same order, says so with this method
    /// for the inner one. Without lockdep it is [`InterruptSync::call_synchronized`].
    pub fn call_synchronized_nested<R>(&self, subclass: u32, f: impl FnOnce(&mut T) -> R) -> R {
        self.shared
            .protected
            .with_lock_nested(subclass, |p| f(&mut p.state))
    }

    /// Returns the counters of the interrupts dispatched so far, on all lines.
    pub fn statistics(&self) -> Statistics {
        self.shared.protected.with_lock(|p| p.counters.into())
    }

    /// Requests the lines with `flags`, so that their interrupts reach the routines.
    ///
    /// With a thread routine set ([`InterruptSync::set_thread_routine`]) the lines are
    /// requested threaded: a routine's [`IsrContext::wake_thread`] wakes the thread routine
    /// once the dispatch is over. Add [`Flags::ONESHOT`] for level-triggered lines, to keep
    /// them masked until the thread routine has run (on `CONFIG_PREEMPT_RT`, where the object's
    /// lock sleeps, `ONESHOT` is dropped: the kernel runs the primary handler in a thread too,
    /// with the line masked until that thread has run). With [`Flags::NO_AUTOEN`] the lines are
    /// connected disabled, at a disable depth of one: [`InterruptSync::enable`] enables them.
    ///
    /// Fails with `EBUSY` if the object is already connected or a line is taken by a handler
    /// that does not share it, and with `EINVAL` if a line does not exist or cannot be
    /// requested, and with `EDEADLK` when called in atomic context (from a routine, a
    /// synchronized closure or the DPC). The object stays usable, and disconnected, after an
    /// error: lines requested before the one that failed are freed. May sleep.
    pub fn connect(&self, flags: Flags) -> Result {
        if !self.shared.may_sleep("connect") {
            return Err(edeadlk());
        }
        let mut connection = self.connection.lock();
        if connection.is_connected() {
            return Err(EBUSY);
        }

        // On `CONFIG_PREEMPT_RT` the lock sleeps, so the handler must run in a thread. The
        // kernel forces handlers into threads there, and masks the line while they run, but
        // not `ONESHOT` ones, which it would run in hard interrupt context.
        let flags = if cfg!(CONFIG_PREEMPT_RT) {
            flags.without(Flags::ONESHOT)
        } else {
            flags
        };
        let threaded = self.thread.is_set();
        self.shared.threaded.store(threaded, Ordering::Relaxed);
        let initial_depth = u32::from(flags.contains(Flags::NO_AUTOEN));
        self.shared.protected.with_lock(|_| {
            self.shared.lines_open.store(true, Ordering::Relaxed);
            self.shared
                .disable_depth
                .store(initial_depth, Ordering::Relaxed);
        });

        let mut registrations = KVec::with_capacity(self.shared.lines.len(), GFP_KERNEL)?;
        for (message, &line) in self.shared.lines.iter().enumerate() {
            let registration = match self.shared.mode {
                DispatchMode::Normal => self
                    .request(message, line, flags, threaded)
                    .map(ConnectedLine::Normal),
                DispatchMode::All => self
                    .request(message, line, flags, threaded)
                    .map(ConnectedLine::All),
                DispatchMode::Repeat => self
                    .request(message, line, flags, threaded)
                    .map(ConnectedLine::Repeat),
            };
            let pushed = registration.and_then(|r| Ok(registrations.push(r, GFP_KERNEL)?));
            if let Err(e) = pushed {
                // Dropping `registrations` frees the lines requested so far, once they are
                // enabled again.
                self.close_lines(&registrations);
                return Err(e);
            }
        }
        *connection = Connection(registrations);
        self.shared.connected.store(true, Ordering::Release);
        self.shared.protected.with_lock(|p| {
            chain::run_all(&mut p.on_connect, &mut p.state);
        });
        self.statistics_file.create(self.shared.name, self.irq());
        Ok(())
    }

    /// Requests line `line`, the line of index `message`, with a handler of mode `MODE`, which
    /// must be the object's, threaded or not.
    fn request<const MODE: u8>(
        &self,
        message: usize,
        line: u32,
        flags: Flags,
        threaded: bool,
    ) -> Result<Pin<KBox<Registration<Dispatch<T, MODE>>>>> {
        // The address of the line's chain, taken from the vector's own pointer so that it stays
        // valid as the vector's elements are borrowed and changed under the lock.
        let chain = self.shared.protected.with_lock(|p| {
            if message < p.chains.len() {
                // Never null: an element of an allocated buffer. `NonNull::new()` says so
                // without `unsafe`.
                NonNull::new(p.chains.as_mut_ptr().wrapping_add(message)).ok_or(EINVAL)
            } else {
                Err(EINVAL)
            }
        })?;
        let data = self.shared.protected.data_ptr();
        // SAFETY: `data` points to the lock's data, which lives as long as `self`; the field's
        // address is taken without a reference, keeping the data pointer's provenance, and is
        // not null: it is inside that live data.
        let state = unsafe { NonNull::new_unchecked(ptr::addr_of_mut!((*data).state)) };
        // INVARIANT: By the type invariant `self` is pinned, and `drop` disconnects before it
        // is dropped; `protected` is its lock, `state` the state in the lock's data, and
        // `chain` the chain of line `message`, whose vector's buffer stays in place. The caller
        // passes the index of a line and the object's mode.
        let handler = Dispatch {
            protected: NonNull::from(&self.shared.protected),
            state,
            chain,
            message,
            sync: NonNull::from(self),
        };
        let name = self.shared.name;
        if threaded {
            KBox::pin_init(
                Registration::new_threaded(line, flags, name, handler),
                GFP_KERNEL,
            )
        } else {
            KBox::pin_init(Registration::new(line, flags, name, handler), GFP_KERNEL)
        }
    }

    /// Frees the lines, waits for the routines and cancels the deferred work. Does nothing but
    /// cancel the work if the object is not connected.
    ///
    /// Returns after every routine that was running on another CPU has finished, and the DPC
    /// and the work item, if queued, have been cancelled or have run (the work item does not
    /// wait for itself). Lines still disabled are enabled again before they are freed, and
    /// their affinity hints cleared. Routines stay registered, and the object can connect
    /// again. May sleep. Called from a routine, a synchronized closure, the DPC or the thread
    /// routine, it does nothing but warn.
    pub fn disconnect(&self) {
        if self.shared.may_wait_for_routines("disconnect") {
            self.disconnect_now();
            // The DPC may queue the work item, and the work item the DPC.
            self.dpc.cancel();
            self.work_item.cancel();
            self.dpc.cancel();
        }
    }

    /// Frees the lines.
    fn disconnect_now(&self) {
        // Dropping the registrations frees the lines. It happens under the mutex, so a
        // `connect` that follows finds them free; the handler never takes the mutex.
        let mut connection = self.connection.lock();
        if connection.is_connected() {
            self.shared.protected.with_lock(|p| {
                chain::run_all(&mut p.on_disconnect, &mut p.state);
            });
            self.close_lines(&connection.0);
        }
        *connection = Connection::none();
        self.shared.connected.store(false, Ordering::Release);
    }

    /// Stops disabling and enabling `lines`, about to be freed: enables them as many times as
    /// the object disabled them, and clears their affinity hints.
    fn close_lines(&self, lines: &[ConnectedLine<T>]) {
        self.shared.protected.with_lock(|_| {
            self.shared.lines_open.store(false, Ordering::Relaxed);
            let depth = self.shared.disable_depth.swap(0, Ordering::Relaxed);
            for line in lines {
                let irq = line.irq();
                for _ in 0..depth {
                    // SAFETY: `irq` is requested by the object, which disabled it `depth` times
                    // (or requested it disabled); `enable_irq()` may be called in any context.
                    unsafe { bindings::enable_irq(irq) };
                }
            }
        });
        for line in lines {
            // SAFETY: The line is requested by the object; clearing a hint has no other
            // precondition.
            unsafe { bindings::irq_update_affinity_hint(line.irq(), ptr::null()) };
        }
    }

    /// Returns whether the object is connected. Never blocks: callable from anywhere.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Waits until no routine of the object's lines is running on any CPU, thread routines
    /// included. May sleep. Called from a routine, a synchronized closure, the DPC or the
    /// thread routine, it does nothing but warn.
    pub fn synchronize(&self) {
        if !self.shared.may_wait_for_routines("synchronize") {
            return;
        }
        for registration in self.connection.lock().0.iter() {
            registration.synchronize();
        }
    }
}

impl<T: Send + 'static> Connection<T> {
    fn none() -> Self {
        Connection(KVec::new())
    }

    fn is_connected(&self) -> bool {
        !self.0.is_empty()
    }
}

#[pinned_drop]
impl<T: Send + 'static> PinnedDrop for InterruptSync<T> {
    fn drop(self: Pin<&mut Self>) {
        // No reader of the statistics may see the object go.
        self.statistics_file.remove();
        // Free the line before `shared`, which the handler points to, is dropped; then stop the
        // deferred work for good: the DPC may queue the work item, but not once shut down.
        self.disconnect_now();
        self.dpc.shut_down();
        self.work_item.shut_down();
    }
}
