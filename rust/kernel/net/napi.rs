// SPDX-License-Identifier: GPL-2.0

//! NAPI: receive and transmit completion in softirq context, scheduled by interrupts.
//!
//! A network driver's interrupt routine does the least it can: it reads and masks the cause
//! and calls [`Napi::schedule`]. The driver's [`super::device::Driver::poll`] then runs in
//! softirq context, cleans transmitted frames, receives up to its budget and, when it has
//! caught up, completes with [`NapiPoll::complete_done`] and unmasks the device's interrupts.
//!
//! Every net device made by [`super::device::Builder`] has one NAPI context. The abstraction
//! enables it before the driver's `open` and disables it before the driver's `stop`, so that
//! polls only run while the device is up and never after `stop` begins.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::{device::Device, skb::SkBuff};
use crate::{bindings, error::code::*, error::Result, prelude::*, types::Opaque};
use core::ptr::NonNull;

/// A NAPI context of a net device, shared with the interrupt routine that schedules it.
///
/// # Invariants
///
/// `napi` was added to a net device with `netif_napi_add_weight()`. It is enabled only while
/// that device is open, by the abstraction, so once the device is closed or freed scheduling
/// it does nothing; it is deleted when the object is dropped, at the latest.
#[pin_data(PinnedDrop)]
pub struct Napi {
    #[pin]
    napi: Opaque<bindings::napi_struct>,
}

// SAFETY: NAPI contexts are scheduled from any CPU; the C API is thread-safe.
unsafe impl Send for Napi {}

// SAFETY: As above: `napi_schedule()` is callable concurrently from any context.
unsafe impl Sync for Napi {}

/// The C signature of a NAPI poll function.
pub(crate) type PollFunction =
    unsafe extern "C" fn(*mut bindings::napi_struct, core::ffi::c_int) -> core::ffi::c_int;

impl Napi {
    /// Creates an initialiser of a NAPI context of `dev`, polled by `poll`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid net device, and `poll` must be callable with this context while
    /// it is enabled.
    pub(crate) unsafe fn new(
        dev: NonNull<bindings::net_device>,
        poll: PollFunction,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            napi <- Opaque::ffi_init(move |slot: *mut bindings::napi_struct| {
                // SAFETY: `slot` is valid for writes; `netif_napi_add_weight()` expects a
                // zeroed structure. `dev` is valid, by the safety requirements.
                unsafe {
                    core::ptr::write_bytes(slot, 0, 1);
                    bindings::netif_napi_add_weight(
                        dev.as_ptr(),
                        slot,
                        Some(poll),
                        bindings::NAPI_POLL_WEIGHT as i32,
                    );
                }
            }),
        })
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::napi_struct {
        self.napi.get()
    }

    /// Schedules a poll of the context, unless one is already scheduled or the device is
    /// down. Callable from any context, interrupt routines included. Returns whether this call
    /// scheduled it.
    #[inline]
    pub fn schedule(&self) -> bool {
        // SAFETY: By the type invariant `napi` was added to a device; a context that is not
        // enabled is left alone.
        unsafe { bindings::napi_schedule(self.as_ptr()) }
    }

    /// Enables polling.
    ///
    /// # Safety
    ///
    /// The device must be open and the context disabled.
    pub(crate) unsafe fn enable(&self) {
        // SAFETY: The context was added, and is disabled, by the safety requirements.
        unsafe { bindings::napi_enable(self.as_ptr()) };
    }

    /// Disables polling, waiting for a poll in progress. May sleep.
    ///
    /// # Safety
    ///
    /// The context must be enabled.
    pub(crate) unsafe fn disable(&self) {
        // SAFETY: The context is enabled, by the safety requirements.
        unsafe { bindings::napi_disable(self.as_ptr()) };
    }
}

#[pinned_drop]
impl PinnedDrop for Napi {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the context is disabled by now: the device that owns
        // it holds a reference until it is closed and freed. Deleting it twice (if
        // `free_netdev()` already did) does nothing.
        unsafe { bindings::netif_napi_del(self.as_ptr()) };
    }
}

/// One poll of a NAPI context: its budget, and what the driver may do during it.
pub struct NapiPoll<'a> {
    napi: &'a Napi,
    dev: &'a Device,
    budget: usize,
    completed: Option<usize>,
}

impl<'a> NapiPoll<'a> {
    #[inline]
    pub(crate) fn new(napi: &'a Napi, dev: &'a Device, budget: usize) -> Self {
        Self {
            napi,
            dev,
            budget,
            completed: None,
        }
    }

    /// Returns how many frames the poll may receive.
    #[inline]
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Returns what the driver told [`NapiPoll::complete_done`], if it completed.
    #[inline]
    pub(crate) fn completed(&self) -> Option<usize> {
        self.completed
    }

    /// Allocates a buffer for a received frame of up to `len` bytes; `ENOMEM` if memory is
    /// short.
    #[inline]
    pub fn alloc_skb(&self, len: usize) -> Result<SkBuff> {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: The context is valid and being polled, which is where `napi_alloc_skb()` is
        // meant to be called.
        let skb = unsafe { bindings::napi_alloc_skb(self.napi.as_ptr(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: `skb` is a new buffer that this call owns.
        Ok(unsafe { SkBuff::from_raw(skb) })
    }

    /// Hands a received Ethernet frame to the stack.
    #[inline]
    pub fn receive(&self, skb: SkBuff) {
        let skb = skb.into_raw();
        // SAFETY: `skb` is a valid buffer whose ownership passes to the stack, with its
        // protocol set by `eth_type_trans()` for this device, during a poll of this context.
        // The protocol is in the `headers` group of the buffer, which bindgen names as below.
        unsafe {
            let protocol = bindings::eth_type_trans(skb, self.dev.as_ptr());
            let headers = core::ptr::addr_of_mut!((*skb).__bindgen_anon_4.__bindgen_anon_1)
                .cast::<bindings::sk_buff__bindgen_ty_4__bindgen_ty_1>();
            (*headers).protocol = protocol;
            bindings::napi_gro_receive(self.napi.as_ptr(), skb);
        }
    }

    /// Reports that the poll is done with `work_done` frames, less than the budget, so that
    /// the context stops being polled. Returns `true` if the driver should now unmask its
    /// interrupts: `false` if the poll used its whole budget (it will be polled again), if it
    /// already completed, or if the stack keeps polling (busy polling).
    #[inline]
    pub fn complete_done(&mut self, work_done: usize) -> bool {
        if self.completed.is_some() || work_done >= self.budget {
            return false;
        }
        self.completed = Some(work_done);
        // SAFETY: The context is being polled and has not completed yet in this poll, and
        // `work_done` is below the budget, as `napi_complete_done()` requires.
        unsafe { bindings::napi_complete_done(self.napi.as_ptr(), work_done as i32) }
    }
}
