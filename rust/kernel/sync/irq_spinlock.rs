// SPDX-License-Identifier: GPL-2.0

//! A spinlock that also disables local interrupts, with scoped access to its data.
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h)

use crate::{ffi::c_ulong, init::PinInit, pin_init, str::CStr, sync::LockClassKey, types::Opaque};
use core::{
    cell::UnsafeCell,
    marker::PhantomPinned,
    sync::atomic::{AtomicBool, Ordering},
};
use macros::pin_data;

/// Creates a [`SpinLockIrq`] initialiser with the given name and a newly-created lock class.
///
/// It uses the name if one is given, otherwise it generates one based on the file name and line
/// number.
#[macro_export]
macro_rules! new_spinlock_irq {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::SpinLockIrq::new(
            $inner, $crate::optional_name!($($name)?), $crate::static_lock_class!())
    };
}
pub use new_spinlock_irq;

/// A spinlock that can be shared with hard interrupt handlers.
///
/// Exposes the kernel's [`spinlock_t`], taken with `spin_lock_irqsave()` and released with
/// `spin_unlock_irqrestore()`: while the lock is held, interrupts are disabled on the local CPU,
/// so an interrupt handler that takes the same lock cannot interrupt the owner and deadlock.
///
/// The data is reachable only inside a closure passed to [`SpinLockIrq::with_lock`]. There is no
/// guard object: the saved interrupt state is restored when the closure returns, so nested locks
/// always restore it in the reverse order of acquisition and can never re-enable interrupts
/// while an outer lock is still held. (Inside the crate, the handlers of
/// [`InterruptSync`](crate::irq::InterruptSync) take and release the lock with unsafe functions
/// of their own, which save no interrupt state, so as to release it on more than one path.)
///
/// The closure runs in atomic context: it must not sleep, and it must not take the same lock
/// again, which would wait for itself for ever. Lockdep and `CONFIG_DEBUG_ATOMIC_SLEEP` report
/// both. Kernels without lockdep but with `CONFIG_RUST_IRQ_SYNC_LOCK_WATCH` look at the lock
/// before they take it; a CPU that finds it busy and waits for it for over
/// [`SpinLockIrq::LONG_WAIT_MS`] warns, once per lock and naming it, that its holder took it
/// again or holds it far too long, rather than hang silently.
///
/// On `CONFIG_PREEMPT_RT` a `spinlock_t` is a sleeping lock and interrupts stay enabled while it
/// is held; it is still correct against interrupt handlers because those are force-threaded
/// there, and take the same lock.
///
/// # Invariants
///
/// `state` is an initialised `spinlock_t`, and `data` is only accessed by the CPU that owns it.
///
/// # Examples
///
/// ```
/// use kernel::sync::{new_spinlock_irq, SpinLockIrq};
///
/// let counter = KBox::pin_init(new_spinlock_irq!(0u32, "example_counter"), GFP_KERNEL)?;
///
/// let doubled = counter.with_lock(|count| {
///     *count += 21;
///     *count * 2
/// });
/// assert_eq!(doubled, 42);
/// assert_eq!(counter.with_lock(|count| *count), 21);
/// # Ok::<(), Error>(())
/// ```
///
/// [`spinlock_t`]: srctree/include/linux/spinlock.h
#[pin_data]
#[repr(C)]
pub struct SpinLockIrq<T: ?Sized> {
    /// First, so that the lock's address is the object's: a handler keeps one base register for
    /// both the lock and the data.
    #[pin]
    state: Opaque<bindings::spinlock_t>,

    /// A `spinlock_t` may hold lockdep state that refers to its own address.
    #[pin]
    _pin: PhantomPinned,

    /// The name of the lock, for the report of a long wait.
    name: &'static CStr,

    /// Whether a long wait was reported already.
    long_wait_reported: AtomicBool,

    data: UnsafeCell<T>,
}

// SAFETY: `SpinLockIrq` can be transferred across thread boundaries iff the data it protects can.
unsafe impl<T: ?Sized + Send> Send for SpinLockIrq<T> {}

// SAFETY: `SpinLockIrq` serialises all access to the data it protects, from process and interrupt
// context alike, so it is `Sync` as long as that data can be sent between CPUs.
unsafe impl<T: ?Sized + Send> Sync for SpinLockIrq<T> {}

impl<T> SpinLockIrq<T> {
    /// Constructs a new lock initialiser.
    ///
    /// Prefer [`new_spinlock_irq!`], which gives each lock site its own lockdep class.
    pub fn new(data: T, name: &'static CStr, key: &'static LockClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            data: UnsafeCell::new(data),
            _pin: PhantomPinned,
            name,
            long_wait_reported: AtomicBool::new(false),
            // SAFETY: `slot` is valid for writes while the closure runs, and `name` and `key` are
            // `'static`, so they outlive the lock as lockdep requires.
            state <- Opaque::ffi_init(|slot| unsafe {
                bindings::__spin_lock_init(slot, name.as_char_ptr(), key.as_ptr())
            }),
        })
    }
}

impl<T: ?Sized> SpinLockIrq<T> {
    /// How long a CPU waits for the lock, in milliseconds, before it reports the wait.
    pub const LONG_WAIT_MS: i64 = 1000;

    /// Runs `f` with the lock held and local interrupts disabled, and returns what `f` returns.
    ///
    /// The interrupt state saved on entry is restored when `f` returns.
    #[inline(always)]
    pub fn with_lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let flags = self.lock_irqsave();
        // SAFETY: This CPU took the lock just above, which returned `flags`.
        unsafe { self.run_locked(flags, f) }
    }

    /// Runs `f` as [`SpinLockIrq::with_lock`] does if the lock is free, and returns what `f`
    /// returns; returns `None` at once if the lock is held.
    pub fn try_with_lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut flags = 0;
        // SAFETY: By the type invariant `state` is initialised; `flags` is valid for writes.
        if !unsafe { bindings::spin_trylock_irqsave(self.state.get(), &mut flags) } {
            return None;
        }
        // SAFETY: This CPU took the lock just above, which saved `flags`.
        Some(unsafe { self.run_locked(flags, f) })
    }

    /// Runs `f` as [`SpinLockIrq::with_lock`] does, telling lockdep that the lock is taken at
    /// nesting level `subclass` inside another lock of its class
    /// (`spin_lock_irqsave_nested()`). Without lockdep the level is ignored.
    pub fn with_lock_nested<R>(&self, subclass: u32, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: By the type invariant `state` is initialised. lockdep checks `subclass`
        // against its limit and reports a level out of range.
        let flags = unsafe { bindings::spin_lock_irqsave_nested(self.state.get(), subclass) };
        // SAFETY: This CPU took the lock just above, which returned `flags`.
        unsafe { self.run_locked(flags, f) }
    }

    /// Runs `f` with the lock taken the way kernels without lockdep take it when it is busy
    /// (waiting, and reporting a long wait), on any kernel but `CONFIG_PREEMPT_RT`: for the
    /// KUnit suite, which runs on a lockdep kernel.
    #[cfg(all(CONFIG_RUST_IRQ_SYNC_KUNIT_TEST, not(CONFIG_PREEMPT_RT)))]
    pub(crate) fn with_lock_contended<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let flags = self.lock_contended();
        // SAFETY: This CPU took the lock just above, which returned `flags`.
        unsafe { self.run_locked(flags, f) }
    }

    /// Runs `f` on the data, then releases the lock and restores the interrupt state `flags`.
    ///
    /// # Safety
    ///
    /// This CPU holds the lock, taken as `spin_lock_irqsave()` does, which returned `flags`.
    #[inline(always)]
    unsafe fn run_locked<R>(&self, flags: c_ulong, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: The lock is held, so by the type invariant no other CPU or interrupt handler
        // accesses `data` until it is released below; the reference does not escape `f`.
        let result = f(unsafe { &mut *self.data.get() });

        // SAFETY: This CPU took the lock with `flags`, as the caller guarantees, and every lock
        // `f` took has been released by the time `f` returned.
        unsafe { ops::unlock_irqrestore(self.state.get(), flags) };

        result
    }

    /// Takes the lock with `spin_lock_irqsave()` and returns the saved interrupt state.
    ///
    /// Without `CONFIG_RUST_IRQ_SYNC_LOCK_WATCH`, directly, as C does: with lockdep, which
    /// checks every acquisition and reports taking the lock again at once; on
    /// `CONFIG_PREEMPT_RT`, where the lock sleeps and must not be spun on; and where the
    /// watch's cost (a load and a branch) was not chosen. With the watch, it looks at the lock
    /// first: a free lock is taken directly, and a busy one, held by another CPU or by this one
    /// if it was taken again, is waited for by `lock_contended()`. A lock taken by another CPU
    /// between the look and the taking is waited for as `spin_lock_irqsave()` does; a lock
    /// taken again is always seen busy.
    #[inline(always)]
    fn lock_irqsave(&self) -> c_ulong {
        #[cfg(not(CONFIG_RUST_IRQ_SYNC_LOCK_WATCH))]
        {
            // SAFETY: By the type invariant `state` is initialised.
            unsafe { ops::lock_irqsave(self.state.get()) }
        }
        #[cfg(CONFIG_RUST_IRQ_SYNC_LOCK_WATCH)]
        {
            if !self.looks_locked() {
                // SAFETY: By the type invariant `state` is initialised.
                return unsafe { ops::lock_irqsave(self.state.get()) };
            }
            self.lock_contended()
        }
    }

    /// Returns whether the lock is held (`spin_is_locked()`), without a call: a look, which may
    /// be stale by the time it returns.
    #[cfg(all(CONFIG_RUST_IRQ_SYNC_LOCK_WATCH, CONFIG_QUEUED_SPINLOCKS))]
    #[inline(always)]
    fn looks_locked(&self) -> bool {
        let word = self.state.get().cast::<core::sync::atomic::AtomicU32>();
        // SAFETY: By the type invariant `state` is initialised. Without `CONFIG_PREEMPT_RT` a
        // `spinlock_t` starts with its `raw_spinlock_t`, which starts with its
        // `arch_spinlock_t`: with `CONFIG_QUEUED_SPINLOCKS` a `qspinlock`, a 32-bit word that C
        // changes only atomically and that is zero when the lock is free
        // (`queued_spin_is_locked()`).
        unsafe { (*word).load(Ordering::Relaxed) != 0 }
    }

    /// Returns false: without `CONFIG_QUEUED_SPINLOCKS` there is no look at the lock as cheap
    /// as taking it, so it is taken directly, unwatched.
    #[cfg(all(CONFIG_RUST_IRQ_SYNC_LOCK_WATCH, not(CONFIG_QUEUED_SPINLOCKS)))]
    #[inline(always)]
    fn looks_locked(&self) -> bool {
        false
    }

    /// Waits for the lock, which another CPU or this one holds, and takes it.
    ///
    /// Tries again with interrupts enabled between tries. After [`SpinLockIrq::LONG_WAIT_MS`]
    /// it reports the wait once for the lock, then queues for the lock as `spin_lock_irqsave()`
    /// does. Returns the saved interrupt state.
    #[cfg(not(CONFIG_PREEMPT_RT))]
    #[cfg_attr(not(CONFIG_RUST_IRQ_SYNC_LOCK_WATCH), allow(dead_code))]
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) -> c_ulong {
        use crate::time::Ktime;

        let start = Ktime::ktime_get();
        loop {
            core::hint::spin_loop();
            let mut flags = 0;
            // SAFETY: By the type invariant `state` is initialised; `flags` is a valid place for
            // the saved state.
            if unsafe { bindings::spin_trylock_irqsave(self.state.get(), &mut flags) } {
                return flags;
            }
            if (Ktime::ktime_get() - start).to_ms() >= Self::LONG_WAIT_MS {
                break;
            }
        }
        if !self.long_wait_reported.swap(true, Ordering::Relaxed) {
            crate::pr_warn!(
                "irqsync: lock {} still busy after {} ms: taken again by its holder (a routine or a closure calling back into the object that runs it?), or held far too long\n",
                self.name,
                Self::LONG_WAIT_MS
            );
        }
        // SAFETY: By the type invariant `state` is initialised.
        unsafe { ops::lock_irqsave(self.state.get()) }
    }

    /// Returns whether the current task holds the lock.
    ///
    /// Known only on `CONFIG_PREEMPT_RT`, where the lock has an owner; false elsewhere, where
    /// whoever holds the lock runs with local interrupts disabled.
    pub(crate) fn held_by_current_task(&self) -> bool {
        // SAFETY: By the type invariant `state` is initialised; reading its owner has no other
        // requirement.
        unsafe { bindings::spin_lock_held_by_current(self.state.get()) }
    }

    /// Returns whether a CPU waited for the lock for over [`SpinLockIrq::LONG_WAIT_MS`] and
    /// reported it. Locks are watched only with `CONFIG_RUST_IRQ_SYNC_LOCK_WATCH`: not with
    /// lockdep, which reports taking the lock again instead, nor on `CONFIG_PREEMPT_RT`, where
    /// waiting for the lock sleeps.
    pub fn long_wait_reported(&self) -> bool {
        self.long_wait_reported.load(Ordering::Relaxed)
    }

    /// Runs `f` with the lock held, for callers that already run with local interrupts disabled,
    /// such as interrupt handlers, and returns what `f` returns.
    ///
    /// It takes the lock with `spin_lock()` and skips saving and restoring the interrupt state,
    /// as C interrupt handlers do. Called with interrupts enabled, it does what
    /// [`SpinLockIrq::with_lock`] does.
    #[inline]
    pub fn with_lock_irqs_disabled<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if !crate::irq::local_interrupts_disabled() {
            return self.with_lock(f);
        }
        self.with_lock_in_handler(f)
    }

    /// Runs `f` with the lock held, from an interrupt handler, and returns what `f` returns.
    ///
    /// The interrupt core runs every handler with local interrupts disabled (force-threaded
    /// ones too, but on `CONFIG_PREEMPT_RT`, where `spinlock_t` leaves them enabled anyway), so
    /// this skips the check [`SpinLockIrq::with_lock_irqs_disabled`] makes. Called with
    /// interrupts enabled, an interrupt that takes the same lock on this CPU would deadlock,
    /// which lockdep reports; hence only the crate's handlers use it.
    #[inline(always)]
    pub(crate) fn with_lock_in_handler<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: By the type invariant `state` is initialised.
        unsafe { ops::lock(self.state.get()) };

        // SAFETY: The lock is held, so by the type invariant no one else accesses `data` until it
        // is released below; an interrupt that wanted it on this CPU would spin, not reach it.
        let result = f(unsafe { &mut *self.data.get() });

        // SAFETY: This CPU took the lock above with `spin_lock()`.
        unsafe { ops::unlock(self.state.get()) };

        result
    }

    /// Takes the lock from an interrupt handler, as [`SpinLockIrq::with_lock_in_handler`] does,
    /// for a handler that releases it on more than one path, with
    /// [`SpinLockIrq::unlock_in_handler`]: a fast path that returns a constant keeps nothing
    /// in registers across the release.
    ///
    /// # Safety
    ///
    /// Called as [`SpinLockIrq::with_lock_in_handler`] may be, and followed on every path by
    /// one [`SpinLockIrq::unlock_in_handler`] on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn lock_in_handler(&self) {
        // SAFETY: By the type invariant `state` is initialised.
        unsafe { ops::lock(self.state.get()) };
    }

    /// Returns the address of the data, which a CPU holding the lock taken with
    /// [`SpinLockIrq::lock_in_handler`] may access until it releases it.
    #[inline(always)]
    pub(crate) fn data_ptr(&self) -> *mut T {
        self.data.get()
    }

    /// Releases the lock taken with [`SpinLockIrq::lock_in_handler`].
    ///
    /// # Safety
    ///
    /// This CPU holds the lock, taken with [`SpinLockIrq::lock_in_handler`], and no reference
    /// made from [`SpinLockIrq::data_ptr`] is used after this call.
    #[inline(always)]
    pub(crate) unsafe fn unlock_in_handler(&self) {
        // SAFETY: This CPU took the lock with `spin_lock()`, as the caller guarantees.
        unsafe { ops::unlock(self.state.get()) };
    }
}

/// The C operations on a `spinlock_t` that [`SpinLockIrq`] uses, called as directly as C calls
/// them.
///
/// `spin_lock_irqsave()` and its kin are macros and inline functions, which Rust reaches through
/// the helpers of `rust/helpers/`, at the cost of one more call. Where a `spinlock_t` is a
/// `raw_spinlock_t` (not `CONFIG_PREEMPT_RT`) and the configuration keeps the `_raw_spin_*()`
/// function an operation comes down to out of line (its `CONFIG_INLINE_SPIN_*` is not set, as on
/// x86), the operation calls that function itself, as the C macro does. `spin_unlock()` is out of
/// line only with `CONFIG_UNINLINE_SPIN_UNLOCK` (preemptible or debugging kernels); elsewhere C
/// inlines it to a store, and Rust calls the helper.
mod ops {
    use crate::{bindings, ffi::c_ulong};

    /// Returns the `raw_spinlock_t` of `lock`.
    #[cfg(not(CONFIG_PREEMPT_RT))]
    #[inline(always)]
    fn raw(lock: *mut bindings::spinlock_t) -> *mut bindings::raw_spinlock_t {
        // Without `CONFIG_PREEMPT_RT` a `spinlock_t` is a union whose `raw_spinlock_t` member,
        // `rlock`, is at offset 0 (`include/linux/spinlock_types.h`).
        lock.cast()
    }

    /// `spin_lock_irqsave()`: returns the saved interrupt state.
    ///
    /// # Safety
    ///
    /// `lock` points to an initialised `spinlock_t`.
    #[inline(always)]
    pub(super) unsafe fn lock_irqsave(lock: *mut bindings::spinlock_t) -> c_ulong {
        #[cfg(not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK_IRQSAVE)))]
        {
            // SAFETY: `raw(lock)` is the initialised `raw_spinlock_t` of the caller's lock, which
            // is what `spin_lock_irqsave()` passes to this function.
            unsafe { bindings::_raw_spin_lock_irqsave(raw(lock)) }
        }
        #[cfg(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK_IRQSAVE))]
        {
            // SAFETY: The caller passes an initialised `spinlock_t`.
            unsafe { bindings::spin_lock_irqsave(lock) }
        }
    }

    /// `spin_unlock_irqrestore()`.
    ///
    /// # Safety
    ///
    /// This CPU holds `lock`, taken with [`lock_irqsave`], which returned `flags`.
    #[inline(always)]
    pub(super) unsafe fn unlock_irqrestore(lock: *mut bindings::spinlock_t, flags: c_ulong) {
        #[cfg(not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE)))]
        {
            // SAFETY: This CPU holds the `raw_spinlock_t` of the caller's lock, taken by
            // `_raw_spin_lock_irqsave()`, which returned `flags`.
            unsafe { bindings::_raw_spin_unlock_irqrestore(raw(lock), flags) }
        }
        #[cfg(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE))]
        {
            // SAFETY: This CPU holds `lock`, taken with the state `flags`, as the caller
            // guarantees.
            unsafe { bindings::spin_unlock_irqrestore(lock, flags) }
        }
    }

    /// `spin_lock()`.
    ///
    /// # Safety
    ///
    /// `lock` points to an initialised `spinlock_t`.
    #[inline(always)]
    pub(super) unsafe fn lock(lock: *mut bindings::spinlock_t) {
        #[cfg(not(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK)))]
        {
            // SAFETY: `raw(lock)` is the initialised `raw_spinlock_t` of the caller's lock, which
            // is what `spin_lock()` passes to this function.
            unsafe { bindings::_raw_spin_lock(raw(lock)) }
        }
        #[cfg(any(CONFIG_PREEMPT_RT, CONFIG_INLINE_SPIN_LOCK))]
        {
            // SAFETY: The caller passes an initialised `spinlock_t`.
            unsafe { bindings::spin_lock(lock) }
        }
    }

    /// `spin_unlock()`.
    ///
    /// # Safety
    ///
    /// This CPU holds `lock`, taken with [`lock`].
    #[inline(always)]
    pub(super) unsafe fn unlock(lock: *mut bindings::spinlock_t) {
        #[cfg(all(CONFIG_UNINLINE_SPIN_UNLOCK, not(CONFIG_PREEMPT_RT)))]
        {
            // SAFETY: This CPU holds the `raw_spinlock_t` of the caller's lock, taken by
            // `_raw_spin_lock()`.
            unsafe { bindings::_raw_spin_unlock(raw(lock)) }
        }
        #[cfg(any(not(CONFIG_UNINLINE_SPIN_UNLOCK), CONFIG_PREEMPT_RT))]
        {
            // SAFETY: This CPU holds `lock`, as the caller guarantees.
            unsafe { bindings::spin_unlock(lock) }
        }
    }
}
