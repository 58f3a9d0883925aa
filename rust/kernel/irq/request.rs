// SPDX-License-Identifier: GPL-2.0

//! Requesting an interrupt line: `request_irq()`, `request_threaded_irq()` and `free_irq()`.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use super::Flags;
use crate::{
    error::{to_result, Error},
    ffi::{c_int, c_ulong, c_void},
    init::PinInit,
    prelude::*,
    str::CStr,
};
use core::marker::PhantomPinned;

/// What an interrupt handler tells the kernel about an interrupt.
///
/// Returning [`IrqReturn::None`] when the device did not interrupt keeps the kernel's detection
/// of stuck and spurious interrupts working, and is required on shared lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum IrqReturn {
    /// The interrupt was not from this device, or was not handled.
    None = bindings::irqreturn_IRQ_NONE,

    /// The interrupt was handled.
    Handled = bindings::irqreturn_IRQ_HANDLED,
}

impl IrqReturn {
    /// Returns [`IrqReturn::Handled`] if `handled` is true, [`IrqReturn::None`] otherwise.
    #[inline]
    pub const fn from_handled(handled: bool) -> IrqReturn {
        if handled {
            IrqReturn::Handled
        } else {
            IrqReturn::None
        }
    }

    /// Returns whether this is [`IrqReturn::Handled`].
    #[inline]
    pub const fn is_handled(self) -> bool {
        matches!(self, IrqReturn::Handled)
    }
}

/// A hard interrupt handler.
///
/// [`Handler::handle_irq`] runs in hard interrupt context with local interrupts disabled: it
/// must not sleep, and it runs on any CPU, possibly at the same time as process context code
/// using the same object, which is why handlers are [`Sync`].
pub trait Handler: Sync {
    /// Services an interrupt of the line the handler is registered on.
    fn handle_irq(&self) -> IrqReturn;
}

/// What the primary handler of a threaded interrupt tells the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ThreadedIrqReturn {
    /// The interrupt was not from this device, or was not handled.
    None = bindings::irqreturn_IRQ_NONE,

    /// The interrupt was handled; the thread is not needed.
    Handled = bindings::irqreturn_IRQ_HANDLED,

    /// The interrupt was handled in part: wake the thread handler to finish it.
    WakeThread = bindings::irqreturn_IRQ_WAKE_THREAD,
}

/// An interrupt handler in two parts: a primary handler in hard interrupt context, and a thread
/// handler in process context, woken by the primary one (`request_threaded_irq()`).
///
/// [`ThreadedHandler::handle_thread`] runs in the line's kernel thread: it may sleep. With
/// [`Flags::ONESHOT`] the line stays masked from the primary handler until the thread handler
/// returns, which level-triggered lines need.
pub trait ThreadedHandler: Sync {
    /// Services an interrupt in hard interrupt context, like [`Handler::handle_irq`].
    fn handle_primary(&self) -> ThreadedIrqReturn;

    /// Finishes an interrupt the primary handler woke the thread for, in process context.
    fn handle_thread(&self) -> IrqReturn;
}

/// A registered interrupt handler: owns a `request_irq()` (or `request_threaded_irq()`, made
/// with [`Registration::new_threaded`]) and frees it on drop.
///
/// The registration is pinned because the kernel keeps its address as the handler's `dev_id`.
/// Dropping it calls `free_irq()`, which removes the handler and waits for any invocation still
/// running on another CPU; only then is the handler dropped. Do not drop a registration from its
/// own handler or with a lock its handler takes: `free_irq()` would wait forever.
///
/// # Invariants
///
/// While the object exists, `handler` is registered with `request_irq()` on line `irq` with the
/// object's address as `dev_id`.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::c_str;
/// use kernel::irq::{Flags, Handler, IrqReturn, Registration};
///
/// struct Counter(AtomicU32);
///
/// impl Handler for Counter {
///     fn handle_irq(&self) -> IrqReturn {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         IrqReturn::Handled
///     }
/// }
///
/// fn register(irq: u32) -> Result<Pin<KBox<Registration<Counter>>>> {
///     KBox::pin_init(
///         Registration::new(irq, Flags::SHARED, c_str!("counter"), Counter(AtomicU32::new(0))),
///         GFP_KERNEL,
///     )
/// }
///
/// // No line has this number, so nothing is registered.
/// assert_eq!(register(u32::MAX).err(), Some(EINVAL));
/// ```
#[pin_data(PinnedDrop)]
pub struct Registration<H: 'static> {
    #[pin]
    handler: H,

    /// The kernel keeps the address of the object.
    #[pin]
    _pin: PhantomPinned,

    irq: u32,
}

impl<H: Handler + 'static> Registration<H> {
    /// Requests line `irq` for `handler`.
    ///
    /// `name` is what `/proc/interrupts` shows. Fails with `EINVAL` for a line that does not
    /// exist or cannot be requested, and with `EBUSY` when the line is taken by a handler that
    /// does not share it (or `flags` do not match theirs).
    pub fn new(
        irq: u32,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            handler <- handler,
            _pin: PhantomPinned,
            // The handler is initialised above, so it may run as soon as `request_irq()` enables
            // the line.
            irq: {
                // SAFETY: `handle_irq_callback::<H>` matches what `request_irq()` expects, `name`
                // is `'static`, and `this` is the final, pinned address of the object: it stays
                // valid until `drop` frees the line.
                to_result(unsafe {
                    bindings::request_irq(
                        irq,
                        Some(handle_irq_callback::<H>),
                        flags.into_inner() as c_ulong,
                        name.as_char_ptr(),
                        this.as_ptr().cast::<c_void>(),
                    )
                })?;
                // INVARIANT: `handler` is now registered on `irq` with `this` as `dev_id`.
                irq
            },
        })
    }
}

impl<H: ThreadedHandler + 'static> Registration<H> {
    /// Requests line `irq` for a threaded `handler`: its primary handler runs in hard interrupt
    /// context, its thread handler in a kernel thread the line gets.
    ///
    /// Fails as [`Registration::new`] does, and with `EINVAL` for a level-triggered line
    /// without [`Flags::ONESHOT`] when the interrupt chip cannot keep it masked otherwise.
    pub fn new_threaded(
        irq: u32,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            handler <- handler,
            _pin: PhantomPinned,
            // The handler is initialised above, so it may run as soon as the line is enabled.
            irq: {
                // SAFETY: Both callbacks match what `request_threaded_irq()` expects, `name` is
                // `'static`, and `this` is the final, pinned address of the object: it stays valid
                // until `drop` frees the line, which also stops the thread.
                to_result(unsafe {
                    bindings::request_threaded_irq(
                        irq,
                        Some(primary_callback::<H>),
                        Some(thread_callback::<H>),
                        flags.into_inner() as c_ulong,
                        name.as_char_ptr(),
                        this.as_ptr().cast::<c_void>(),
                    )
                })?;
                // INVARIANT: `handler` is now registered on `irq` with `this` as `dev_id`.
                irq
            },
        })
    }
}

impl<H: 'static> Registration<H> {
    /// Returns the line the handler is registered on.
    pub fn irq(&self) -> u32 {
        self.irq
    }

    /// Returns the handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Waits until no invocation of any handler of the line is running on any CPU, thread
    /// handlers included.
    ///
    /// Must be called from process context, not from a handler nor with a lock a handler takes.
    pub fn synchronize(&self) {
        // SAFETY: By the type invariant `irq` is a requested line.
        unsafe { bindings::synchronize_irq(self.irq) };
    }
}

#[pinned_drop]
impl<H: 'static> PinnedDrop for Registration<H> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the handler is registered on `irq` with this address as
        // `dev_id`. `free_irq()` returns after the last invocation has finished, before the
        // handler is dropped.
        unsafe {
            bindings::free_irq(
                self.irq,
                self.as_ref().get_ref() as *const Self as *mut c_void,
            )
        };
    }
}

/// The C handler of a [`Registration<H>`].
///
/// # Safety
///
/// `dev_id` must be the `dev_id` given to `request_irq()` by [`Registration::new`].
unsafe extern "C" fn handle_irq_callback<H: Handler + 'static>(
    _irq: c_int,
    dev_id: *mut c_void,
) -> bindings::irqreturn_t {
    let registration = dev_id.cast::<Registration<H>>();

    // SAFETY: `dev_id` is the address of a `Registration<H>` whose `handler` was initialised before
    // the line was requested and is dropped only after `free_irq()`. Only that field is touched,
    // since `irq` may still be under initialisation.
    let handler = unsafe { &*core::ptr::addr_of!((*registration).handler) };

    handler.handle_irq() as bindings::irqreturn_t
}

/// Returns the handler of the [`Registration<H>`] at `dev_id`.
///
/// # Safety
///
/// `dev_id` must be the `dev_id` given to `request_threaded_irq()` by
/// [`Registration::new_threaded`], and the line not freed yet.
unsafe fn threaded_handler<'a, H: 'static>(dev_id: *mut c_void) -> &'a H {
    let registration = dev_id.cast::<Registration<H>>();
    // SAFETY: As in `handle_irq_callback`: `handler` was initialised before the line was
    // requested and is dropped only after `free_irq()`, which also stops the thread; only that
    // field is touched.
    unsafe { &*core::ptr::addr_of!((*registration).handler) }
}

/// The C primary handler of a threaded [`Registration<H>`].
///
/// # Safety
///
/// `dev_id` must be the `dev_id` given to `request_threaded_irq()` by
/// [`Registration::new_threaded`].
unsafe extern "C" fn primary_callback<H: ThreadedHandler + 'static>(
    _irq: c_int,
    dev_id: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: The kernel calls the primary handler only while the line is requested, with the
    // `dev_id` given.
    unsafe { threaded_handler::<H>(dev_id) }.handle_primary() as bindings::irqreturn_t
}

/// The C thread handler of a threaded [`Registration<H>`].
///
/// # Safety
///
/// `dev_id` must be the `dev_id` given to `request_threaded_irq()` by
/// [`Registration::new_threaded`].
unsafe extern "C" fn thread_callback<H: ThreadedHandler + 'static>(
    _irq: c_int,
    dev_id: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `free_irq()` stops the thread before it returns, so the kernel calls the thread
    // handler only while the line is requested, with the `dev_id` given.
    unsafe { threaded_handler::<H>(dev_id) }.handle_thread() as bindings::irqreturn_t
}
