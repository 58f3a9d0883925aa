// SPDX-License-Identifier: GPL-2.0

//! Interrupt synchronization objects: device state shared between service routines and
//! process context under one interrupt-safe lock.
//!
//! This is the Rust counterpart of PortCls's `IInterruptSync` and of NDIS's
//! `NdisMSynchronizeWithInterruptEx`; `Documentation/rust/irq-sync.rst` maps one to the other.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::{Flags, Handler, IrqReturn, Registration};
use crate::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    error::{Error, Result},
    init::{self, PinInit},
    pin_init,
    prelude::*,
    str::CStr,
    sync::{LockClassKey, Mutex, SpinLockIrq},
};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};

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

type ServiceRoutine<T> = KBox<dyn FnMut(&mut T) -> IrqReturn + Send>;

/// One link of the chain of service routines.
struct RoutineNode<T> {
    routine: ServiceRoutine<T>,
    next: Option<KBox<RoutineNode<T>>>,
}

/// A chain of service routines, the routines of one line.
type Chain<T> = Option<KBox<RoutineNode<T>>>;

/// Everything the lock of an [`InterruptSync`] protects.
///
/// # Invariants
///
/// `chains` has one chain per line of the object, and is never resized.
struct Protected<T> {
    state: T,
    chains: KVec<Chain<T>>,
    statistics: Statistics,
}

impl<T> Protected<T> {
    /// Links an allocated node into the chain of `message`, which must exist; it allocates
    /// nothing, so it may run under the lock.
    fn insert(&mut self, message: usize, mut node: KBox<RoutineNode<T>>, placement: Placement) {
        let mut link = &mut self.chains[message];
        if placement == Placement::Last {
            while let Some(next) = link {
                link = &mut next.next;
            }
        }
        node.next = link.take();
        *link = Some(node);
    }

    /// Calls the routines in order, stopping at the first that handles if `stop_at_handled`.
    /// Returns whether any routine handled the interrupt.
    #[inline]
    fn run_pass(&mut self, message: usize, stop_at_handled: bool) -> bool {
        let mut handled = false;
        let mut node = self.chains[message].as_deref_mut();
        while let Some(current) = node {
            if (current.routine)(&mut self.state).is_handled() {
                handled = true;
                if stop_at_handled {
                    break;
                }
            }
            node = current.next.as_deref_mut();
        }
        handled
    }

    /// Dispatches one interrupt. Returns what to tell the kernel, and whether this interrupt is
    /// the first to reach [`MAX_REPEAT_PASSES`].
    #[inline]
    fn dispatch(&mut self, message: usize, mode: DispatchMode) -> (IrqReturn, bool) {
        let mut first_limit_hit = false;
        let handled = match mode {
            DispatchMode::Normal => self.run_pass(message, true),
            DispatchMode::All => self.run_pass(message, false),
            DispatchMode::Repeat => {
                let mut passes = 0;
                while passes < MAX_REPEAT_PASSES && self.run_pass(message, false) {
                    passes += 1;
                }
                if passes == MAX_REPEAT_PASSES {
                    self.statistics.repeat_limit_hits += 1;
                    first_limit_hit = self.statistics.repeat_limit_hits == 1;
                }
                passes > 0
            }
        };

        if handled {
            self.statistics.handled += 1;
        } else {
            self.statistics.unhandled += 1;
        }
        (IrqReturn::from_handled(handled), first_limit_hit)
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
}

/// Returns the `EDEADLK` error, which `kernel::error::code` does not have in this kernel.
fn edeadlk() -> Error {
    Error::from_errno(-(bindings::EDEADLK as i32))
}

impl<T> Shared<T> {
    /// Returns whether `method`, which sleeps or waits for the routines, may run here.
    ///
    /// Service routines and synchronized closures run with local interrupts disabled, or on
    /// `CONFIG_PREEMPT_RT` with the lock held by their task; from there, `method` would sleep
    /// in atomic context or wait for itself for ever. The first time that happens the object
    /// warns, naming itself and the method.
    fn may_block(&self, method: &str) -> bool {
        // On `CONFIG_PREEMPT_RT` routines and closures run with interrupts enabled, holding the
        // lock as its owner.
        if !super::local_interrupts_disabled() && !self.protected.held_by_current_task() {
            return true;
        }
        if !self.misuse_reported.swap(true, Ordering::Relaxed) {
            pr_warn!(
                "{}: {}() called with interrupts disabled, from a service routine or a synchronized closure? Refused: it sleeps and waits for the routines\n",
                self.name,
                method
            );
        }
        false
    }

    /// Dispatches an interrupt of line `message`; called by its handler only.
    #[inline]
    fn service(&self, message: usize) -> IrqReturn {
        // Handlers run with local interrupts disabled: no need to save and restore them.
        let (ret, first_limit_hit) = self
            .protected
            .with_lock_in_handler(|p| p.dispatch(message, self.mode));
        if first_limit_hit {
            pr_warn!(
                "{} (irq {}): service routines still busy after {} passes, the device may be stuck\n",
                self.name,
                self.lines[message],
                MAX_REPEAT_PASSES
            );
        }
        ret
    }
}

/// The handler an [`InterruptSync`] registers when it connects.
///
/// # Invariants
///
/// `shared` points to the `shared` field of a pinned [`InterruptSync`] that disconnects, and so
/// drops this handler, before that field is dropped. `message` is the index of a line of it.
struct ServiceHandler<T> {
    shared: NonNull<Shared<T>>,
    message: usize,
}

// SAFETY: `ServiceHandler` only gives shared access to a `Shared<T>`, whose mutable parts are
// behind a `SpinLockIrq` that is `Send` and `Sync` when `T` is `Send`.
unsafe impl<T: Send> Send for ServiceHandler<T> {}

// SAFETY: As above: calling the handler from several CPUs at once only takes the lock.
unsafe impl<T: Send> Sync for ServiceHandler<T> {}

impl<T: Send> Handler for ServiceHandler<T> {
    #[inline]
    fn handle_irq(&self) -> IrqReturn {
        // SAFETY: By the type invariant `shared` is valid as long as the handler exists.
        unsafe { self.shared.as_ref() }.service(self.message)
    }
}

/// The lines of a connected [`InterruptSync`], one registration each: dropping it frees them.
struct Connection<T: Send + 'static>(KVec<Pin<KBox<Registration<ServiceHandler<T>>>>>);

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
/// `ServiceHandler` pointing to `shared` for every line whenever the object is connected.
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
            let (lines, protected) = prepared?;
            let init = pin_init!(Self {
                shared <- pin_init!(Shared {
                    protected <- SpinLockIrq::new(protected, name, key),
                    mode,
                    lines,
                    name,
                    connected: AtomicBool::new(false),
                    misuse_reported: AtomicBool::new(false),
                }),
                connection <- Mutex::new(
                    Connection::none(),
                    CONNECTION_LOCK_NAME,
                    crate::static_lock_class!()
                ),
            });
            // SAFETY: `slot` is valid for writes and pinned, as `pin_init_from_closure` below
            // requires of its callers.
            unsafe { init.__pinned_init(slot) }.map_err(|e| match e {})
        };
        // SAFETY: The closure either initialises all of `*slot`, or fails before writing
        // anything.
        unsafe { init::pin_init_from_closure(init) }
    }

    /// Allocates the line list and the chains of a new object.
    fn prepare(lines: &[u32], state: T) -> Result<(KVec<u32>, Protected<T>)> {
        if lines.is_empty() {
            return Err(EINVAL);
        }
        let mut line_list = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
        let mut chains = KVec::with_capacity(lines.len(), GFP_KERNEL)?;
        for &line in lines {
            line_list.push(line, GFP_KERNEL)?;
            chains.push(None, GFP_KERNEL)?;
        }
        // INVARIANT: One chain per line.
        let protected = Protected {
            state,
            chains,
            statistics: Statistics::default(),
        };
        Ok((line_list, protected))
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
        if !self.shared.may_block("register_service_routine") {
            return Err(edeadlk());
        }
        let routine = KBox::into_raw(KBox::new(routine, GFP_KERNEL)?);
        // SAFETY: `routine` comes from `KBox::into_raw` above; turning it into a pointer to the
        // trait object keeps the same allocation, layout and value.
        let routine: ServiceRoutine<T> =
            unsafe { KBox::from_raw(routine as *mut (dyn FnMut(&mut T) -> IrqReturn + Send)) };
        let node = KBox::new(
            RoutineNode {
                routine,
                next: None,
            },
            GFP_KERNEL,
        )?;

        self.shared
            .protected
            .with_lock(|p| p.insert(message, node, placement));
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

    /// Returns the counters of the interrupts dispatched so far, on all lines.
    pub fn statistics(&self) -> Statistics {
        self.shared.protected.with_lock(|p| p.statistics)
    }

    /// Requests the lines with `flags`, so that their interrupts reach the routines.
    ///
    /// Fails with `EBUSY` if the object is already connected or a line is taken by a handler
    /// that does not share it, and with `EINVAL` if a line does not exist or cannot be
    /// requested, and with `EDEADLK` when called with interrupts disabled (from a routine or a
    /// synchronized closure). The object stays usable, and disconnected, after an error: lines
    /// requested before the one that failed are freed. May sleep.
    pub fn connect(&self, flags: Flags) -> Result {
        if !self.shared.may_block("connect") {
            return Err(edeadlk());
        }
        let mut connection = self.connection.lock();
        if connection.is_connected() {
            return Err(EBUSY);
        }

        let mut registrations = KVec::with_capacity(self.shared.lines.len(), GFP_KERNEL)?;
        for (message, &line) in self.shared.lines.iter().enumerate() {
            // INVARIANT: By the type invariant `self` is pinned, so `shared` keeps its address,
            // and `drop` disconnects before `shared` is dropped.
            let handler = ServiceHandler {
                shared: NonNull::from(&self.shared),
                message,
            };
            // On error, dropping `registrations` frees the lines requested so far.
            let registration = KBox::pin_init(
                Registration::new(line, flags, self.shared.name, handler),
                GFP_KERNEL,
            )?;
            registrations.push(registration, GFP_KERNEL)?;
        }
        *connection = Connection(registrations);
        self.shared.connected.store(true, Ordering::Release);
        Ok(())
    }

    /// Frees the lines. Does nothing if the object is not connected.
    ///
    /// Returns after every routine that was running on another CPU has finished. Routines stay
    /// registered, and the object can connect again. May sleep. Called with interrupts
    /// disabled (from a routine or a synchronized closure), it does nothing but warn.
    pub fn disconnect(&self) {
        if self.shared.may_block("disconnect") {
            self.disconnect_now();
        }
    }

    /// Frees the lines.
    fn disconnect_now(&self) {
        // Dropping the registrations frees the lines. It happens under the mutex, so a
        // `connect` that follows finds them free; the handler never takes the mutex.
        let mut connection = self.connection.lock();
        *connection = Connection::none();
        self.shared.connected.store(false, Ordering::Release);
    }

    /// Returns whether the object is connected. Never blocks: callable from anywhere.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Waits until no routine of the object's lines is running on any CPU. May sleep. Called
    /// with interrupts disabled (from a routine or a synchronized closure), it does nothing
    /// but warn.
    pub fn synchronize(&self) {
        if !self.shared.may_block("synchronize") {
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
        // Free the line before `shared`, which the handler points to, is dropped.
        self.disconnect_now();
    }
}
