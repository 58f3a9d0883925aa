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
    alloc::{flags::GFP_KERNEL, KBox},
    error::Result,
    init::PinInit,
    pin_init,
    prelude::*,
    str::CStr,
    sync::{LockClassKey, Mutex, SpinLockIrq},
};
use core::ptr::NonNull;

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

/// Everything the lock of an [`InterruptSync`] protects.
struct Protected<T> {
    state: T,
    routines: Option<KBox<RoutineNode<T>>>,
    statistics: Statistics,
}

impl<T> Protected<T> {
    /// Links an allocated node into the chain; it allocates nothing, so it may run under the lock.
    fn insert(&mut self, mut node: KBox<RoutineNode<T>>, placement: Placement) {
        let mut link = &mut self.routines;
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
    fn run_pass(&mut self, stop_at_handled: bool) -> bool {
        let mut handled = false;
        let mut node = self.routines.as_deref_mut();
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
    fn dispatch(&mut self, mode: DispatchMode) -> (IrqReturn, bool) {
        let mut first_limit_hit = false;
        let handled = match mode {
            DispatchMode::Normal => self.run_pass(true),
            DispatchMode::All => self.run_pass(false),
            DispatchMode::Repeat => {
                let mut passes = 0;
                while passes < MAX_REPEAT_PASSES && self.run_pass(false) {
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
    irq: u32,
    name: &'static CStr,
}

impl<T> Shared<T> {
    fn service(&self) -> IrqReturn {
        // Handlers run with local interrupts disabled: no need to save and restore them.
        let (ret, first_limit_hit) = self
            .protected
            .with_lock_irqs_disabled(|p| p.dispatch(self.mode));
        if first_limit_hit {
            pr_warn!(
                "{} (irq {}): service routines still busy after {} passes, the device may be stuck\n",
                self.name,
                self.irq,
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
/// drops this handler, before that field is dropped.
struct ServiceHandler<T> {
    shared: NonNull<Shared<T>>,
}

// SAFETY: `ServiceHandler` only gives shared access to a `Shared<T>`, whose mutable parts are
// behind a `SpinLockIrq` that is `Send` and `Sync` when `T` is `Send`.
unsafe impl<T: Send> Send for ServiceHandler<T> {}

// SAFETY: As above: calling the handler from several CPUs at once only takes the lock.
unsafe impl<T: Send> Sync for ServiceHandler<T> {}

impl<T: Send> Handler for ServiceHandler<T> {
    fn handle_irq(&self) -> IrqReturn {
        // SAFETY: By the type invariant `shared` is valid as long as the handler exists.
        unsafe { self.shared.as_ref() }.service()
    }
}

/// The line of a connected [`InterruptSync`]: dropping it frees the line.
struct Connection<T: Send>(Pin<KBox<Registration<ServiceHandler<T>>>>);

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
/// Routines and synchronized closures run in atomic context. They must not sleep, and must not
/// call [`InterruptSync::connect`], [`InterruptSync::disconnect`] or
/// [`InterruptSync::synchronize`], which wait for the routines.
///
/// # Invariants
///
/// The object is pinned: it is `!Unpin` and only built in place from [`InterruptSync::new`], so
/// `shared` keeps its address until the object is dropped. `connection` holds the registration of
/// a `ServiceHandler` pointing to `shared` whenever the object is connected.
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
    connection: Mutex<Option<Connection<T>>>,
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Creates an initialiser of an object for line `irq` that owns `state`.
    ///
    /// Nothing is requested until [`InterruptSync::connect`]. `name` is what `/proc/interrupts`
    /// and lockdep show. Prefer [`new_interrupt_sync!`], which makes the lock class.
    pub fn new(
        irq: u32,
        mode: DispatchMode,
        state: T,
        name: &'static CStr,
        key: &'static LockClassKey,
    ) -> impl PinInit<Self> {
        let protected = Protected {
            state,
            routines: None,
            statistics: Statistics::default(),
        };
        pin_init!(Self {
            shared <- pin_init!(Shared {
                protected <- SpinLockIrq::new(protected, name, key),
                mode,
                irq,
                name,
            }),
            connection <- Mutex::new(None, CONNECTION_LOCK_NAME, crate::static_lock_class!()),
        })
    }

    /// Returns the interrupt line of the object (what `GetKInterrupt()` gives in PortCls).
    pub fn irq(&self) -> u32 {
        self.shared.irq
    }

    /// Returns the dispatch mode of the object.
    pub fn mode(&self) -> DispatchMode {
        self.shared.mode
    }

    /// Adds `routine` to the chain, first or last.
    ///
    /// Allowed before and while the object is connected: a routine registered while connected
    /// serves the next interrupt. The routine is allocated before the lock is taken; under the
    /// lock it is only linked in. Fails with `ENOMEM` only.
    pub fn register_service_routine(
        &self,
        routine: impl FnMut(&mut T) -> IrqReturn + Send + 'static,
        placement: Placement,
    ) -> Result {
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
            .with_lock(|p| p.insert(node, placement));
        Ok(())
    }

    /// Runs `f` on the state with the lock held and local interrupts disabled, and returns what
    /// `f` returns.
    ///
    /// While `f` runs, no service routine of this object runs on any CPU. This is PortCls's
    /// `CallSynchronizedRoutine()` and NDIS's `NdisMSynchronizeWithInterruptEx()`; the result may
    /// be of any type, a [`Result`] included. Works whether or not the object is connected.
    pub fn call_synchronized<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.shared.protected.with_lock(|p| f(&mut p.state))
    }

    /// Returns the counters of the interrupts dispatched so far.
    pub fn statistics(&self) -> Statistics {
        self.shared.protected.with_lock(|p| p.statistics)
    }

    /// Requests the line with `flags`, so that its interrupts reach the routines.
    ///
    /// Fails with `EBUSY` if the object is already connected or the line is taken by a handler
    /// that does not share it, and with `EINVAL` if the line does not exist or cannot be
    /// requested. The object stays usable, and disconnected, after an error. May sleep.
    pub fn connect(&self, flags: Flags) -> Result {
        let mut connection = self.connection.lock();
        if connection.is_some() {
            return Err(EBUSY);
        }

        // INVARIANT: By the type invariant `self` is pinned, so `shared` keeps its address, and
        // `drop` disconnects before `shared` is dropped.
        let handler = ServiceHandler {
            shared: NonNull::from(&self.shared),
        };
        let registration = KBox::pin_init(
            Registration::new(self.shared.irq, flags, self.shared.name, handler),
            GFP_KERNEL,
        )?;
        *connection = Some(Connection(registration));
        Ok(())
    }

    /// Frees the line. Does nothing if the object is not connected.
    ///
    /// Returns after every routine that was running on another CPU has finished. Routines stay
    /// registered, and the object can connect again. May sleep.
    pub fn disconnect(&self) {
        // Dropping the registration frees the line. It happens under the mutex, so a `connect`
        // that follows finds the line free; the handler never takes the mutex.
        *self.connection.lock() = None;
    }

    /// Returns whether the object is connected.
    pub fn is_connected(&self) -> bool {
        self.connection.lock().is_some()
    }

    /// Waits until no routine of the line is running on any CPU. May sleep.
    pub fn synchronize(&self) {
        if let Some(Connection(registration)) = self.connection.lock().as_ref() {
            registration.synchronize();
        }
    }
}

#[pinned_drop]
impl<T: Send + 'static> PinnedDrop for InterruptSync<T> {
    fn drop(self: Pin<&mut Self>) {
        // Free the line before `shared`, which the handler points to, is dropped.
        self.disconnect();
    }
}
