// SPDX-License-Identifier: GPL-2.0

//! Ethernet network devices.
//!
//! A driver implements [`Driver`] for its per-device data, makes a net device with
//! [`Builder::new`], takes its [`Napi`] context for its interrupt routine, and registers the
//! device with its MAC address and data through [`Builder::register`]. The data lives in the
//! net device's private area, where the stack's callbacks find it; dropping the
//! [`Registration`] unregisters the device (closing it first), drops the data and frees the
//! device.
//!
//! Around the driver's operations the abstraction does what every NAPI driver must: it
//! enables NAPI before [`Driver::open`] and starts the transmit queue after it; it stops the
//! queue, waiting for a transmit in progress, and disables NAPI, waiting for a poll in
//! progress, before [`Driver::stop`]. A driver's `stop` thus runs with no transmit and no
//! poll left, and its interrupt routine may schedule NAPI at any time.
//!
//! A driver that implements [`Driver::tx_timeout`] has its transmit queue watched by the stack:
//! when the queue stays stopped for longer than the watchdog's timeout, the driver hears of it,
//! and the abstraction then resets the device in process context under the RTNL, through the
//! driver's own [`Driver::stop`] and [`Driver::open`], as C drivers' reset tasks do
//! (`e1000_reset_task()`). The reset work is cancelled before the driver's data is dropped.
//!
//! # Examples
//!
//! A device that counts what it is given to send and drops it, and never receives:
//!
//! ```
//! use kernel::device::Device as Parent;
//! use kernel::net::{
//!     device::{Builder, Device, Driver, Registration, Statistics, Transmit},
//!     napi::NapiPoll,
//!     skb::SkBuff,
//! };
//! use kernel::sync::{new_spinlock_irq, SpinLockIrq};
//!
//! #[pin_data]
//! struct Sink {
//!     #[pin]
//!     dropped: SpinLockIrq<u64>,
//! }
//!
//! #[vtable]
//! impl Driver for Sink {
//!     fn open(&self, dev: &Device) -> Result {
//!         dev.carrier_on();
//!         Ok(())
//!     }
//!
//!     fn stop(&self, dev: &Device) {
//!         dev.carrier_off();
//!     }
//!
//!     fn start_xmit(&self, _dev: &Device, skb: SkBuff) -> Transmit {
//!         self.dropped.with_lock(|dropped| *dropped += 1);
//!         // Dropping the buffer frees it.
//!         drop(skb);
//!         Transmit::Done
//!     }
//!
//!     fn poll(&self, _dev: &Device, poll: &mut NapiPoll<'_>) {
//!         // Nothing to receive: done at once.
//!         poll.complete_done(0);
//!     }
//!
//!     fn statistics(&self, _dev: &Device) -> Statistics {
//!         Statistics {
//!             tx_dropped: self.dropped.with_lock(|dropped| *dropped),
//!             ..Statistics::default()
//!         }
//!     }
//! }
//!
//! /// Called by the probe of the parent device.
//! fn add_sink(parent: &Parent) -> Result<Registration<Sink>> {
//!     let builder = Builder::<Sink>::new(parent)?;
//!     // An interrupt routine would get `builder.napi().clone()` here.
//!     builder.register(
//!         &[0x02, 0, 0, 0, 0, 1],
//!         try_pin_init!(Sink {
//!             dropped <- new_spinlock_irq!(0, "sink_dropped"),
//!         }),
//!     )
//! }
//! ```
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::{
    ethtool::{self, LinkSettings},
    napi::{Napi, NapiPoll},
    skb::SkBuff,
};
use crate::{
    alloc::flags::GFP_KERNEL,
    bindings, build_error, device,
    error::{code::*, from_result, to_result, Error, Result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_uint},
    init::PinInit,
    prelude::*,
    str::CStr,
    sync::Arc,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};

/// The length of an Ethernet address.
pub const ETH_ALEN: usize = 6;

/// The length of an Ethernet header.
pub const ETH_HLEN: usize = 14;

/// The shortest Ethernet frame, without its check sequence.
pub const ETH_ZLEN: usize = 60;

/// A net device, as the stack passes it to a driver's operations.
///
/// # Invariants
///
/// The structure is a valid, allocated `struct net_device`.
#[repr(transparent)]
pub struct Device(Opaque<bindings::net_device>);

impl Device {
    /// Creates a reference to a net device.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid net device that outlives the returned reference.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of the structure, valid for `'a` by the
        // safety requirements.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Returns the interface name, such as `eth0`.
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariant the device is valid; its name is a NUL-terminated
        // string in a fixed array, only renamed under the RTNL while the device is down.
        unsafe { CStr::from_char_ptr((*self.as_ptr()).name.as_ptr()) }
    }

    /// Returns the device's MTU: the longest payload of a frame, without its Ethernet header.
    #[inline]
    pub fn mtu(&self) -> usize {
        // SAFETY: By the type invariant the device is valid; the field is read once.
        unsafe { core::ptr::read_volatile(&(*self.as_ptr()).mtu) as usize }
    }

    /// Returns whether all of `features` are on: announced, and not switched off with
    /// ethtool.
    #[inline]
    pub fn has_features(&self, features: Features) -> bool {
        // SAFETY: By the type invariant the device is valid; the field is read once. The stack
        // changes it under the RTNL, while frames may be in flight, as C drivers read it.
        let on = unsafe { core::ptr::read_volatile(&(*self.as_ptr()).features) };
        on & features.0 == features.0
    }

    /// Returns whether the interface is in promiscuous mode (`IFF_PROMISC`).
    pub fn is_promiscuous(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_PROMISC != 0
    }

    /// Returns whether the interface wants every multicast frame (`IFF_ALLMULTI`).
    pub fn wants_all_multicast(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_ALLMULTI != 0
    }

    fn flags(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid; the field is read once.
        unsafe { core::ptr::read_volatile(&(*self.as_ptr()).flags) }
    }

    /// Tells the stack the link is up.
    pub fn carrier_on(&self) {
        // SAFETY: By the type invariant the device is valid; callable in any context.
        unsafe { bindings::netif_carrier_on(self.as_ptr()) };
    }

    /// Tells the stack the link is down.
    pub fn carrier_off(&self) {
        // SAFETY: By the type invariant the device is valid; callable in any context.
        unsafe { bindings::netif_carrier_off(self.as_ptr()) };
    }

    /// Returns whether the stack believes the link is up.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_ptr()) }
    }

    /// Stops the transmit queue: [`Driver::start_xmit`] is not called until it is woken.
    #[inline]
    pub fn stop_queue(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_stop_queue(self.as_ptr()) };
    }

    /// Wakes the transmit queue after [`Device::stop_queue`], if the device is up.
    #[inline]
    pub fn wake_queue(&self) {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_wake_queue(self.as_ptr()) };
    }

    /// Returns whether the transmit queue is stopped.
    #[inline]
    pub fn queue_stopped(&self) -> bool {
        // SAFETY: By the type invariant the device is valid.
        unsafe { bindings::netif_queue_stopped(self.as_ptr()) }
    }
}

/// The multicast addresses a device is asked to receive, as [`Driver::set_rx_mode`] sees them.
///
/// # Invariants
///
/// The address lists of `dev` are locked (`netif_addr_lock_bh()`) for `'a`: the stack holds
/// the lock while it calls `set_rx_mode`.
pub struct MulticastList<'a> {
    dev: &'a Device,
}

impl MulticastList<'_> {
    /// Returns how many addresses the list has.
    pub fn len(&self) -> usize {
        // SAFETY: By the type invariant the list is locked, so its count is stable.
        let count = unsafe { (*self.dev.as_ptr()).mc.count };
        usize::try_from(count).unwrap_or(0)
    }

    /// Returns whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with each address of the list, in order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8; ETH_ALEN])) {
        // SAFETY: By the type invariant the list is locked: its entries stay while it is
        // walked.
        let head = unsafe { core::ptr::addr_of_mut!((*self.dev.as_ptr()).mc.list) };
        // SAFETY: `head` is a valid, initialised list head.
        let mut entry = unsafe { (*head).next };
        // The walk ends at the head; `len()` bounds it all the same.
        for _ in 0..self.len() {
            if entry == head {
                break;
            }
            // SAFETY: Every entry of the list is the `list` field of a `netdev_hw_addr`, whose
            // address has at least `ETH_ALEN` bytes on an Ethernet device.
            let address = unsafe {
                let hw = crate::container_of!(entry, bindings::netdev_hw_addr, list);
                &*(*hw).addr.as_ptr().cast::<[u8; ETH_ALEN]>()
            };
            f(address);
            // SAFETY: `entry` is a valid entry of the locked list.
            entry = unsafe { (*entry).next };
        }
    }
}

/// Offloads a device announces (`NETIF_F_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features(u64);

impl Features {
    /// Frames in several pieces (scatter-gather): [`SkBuff::data`] is then only the head; the
    /// stack segments large frames in software (GSO) only for devices that have it.
    pub const SG: Features = Features(1 << bindings::NETIF_F_SG_BIT);
    /// The device inserts checksums where [`super::skb::SkBuff::checksum_request`] says.
    pub const HW_CSUM: Features = Features(1 << bindings::NETIF_F_HW_CSUM_BIT);
    /// The device cuts TCP over IPv4 frames of up to 64 KiB into segments, as
    /// [`super::skb::SkBuff::prepare_segmentation`] says (TCP segmentation offload). Needs
    /// [`Features::SG`] and [`Features::HW_CSUM`].
    pub const TSO: Features = Features(1 << bindings::NETIF_F_TSO_BIT);
    /// The device verifies the TCP and UDP checksums of the frames it receives: a driver
    /// marks those it found good with [`super::skb::SkBuff::set_checksum_verified`], so that
    /// the stack does not sum them again. Drivers check [`Device::has_features`] for it, as
    /// ethtool may switch it off.
    pub const RXCSUM: Features = Features(1 << bindings::NETIF_F_RXCSUM_BIT);
}

impl core::ops::BitOr for Features {
    type Output = Features;

    fn bitor(self, other: Features) -> Features {
        Features(self.0 | other.0)
    }
}

/// What a driver did with a frame given to [`Driver::start_xmit`].
pub enum Transmit {
    /// The driver took the frame: it will send it, or has dropped and counted it.
    Done,
    /// The device has no room: the stack keeps the frame and tries again later. Drivers should
    /// stop the queue before it gets full rather than return this.
    Busy(SkBuff),
}

/// The counters a driver reports in [`Driver::statistics`].
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Frames received and handed to the stack.
    pub rx_packets: u64,
    /// Their bytes, Ethernet header included.
    pub rx_bytes: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Their bytes, Ethernet header and padding included.
    pub tx_bytes: u64,
    /// Frames received with an error, all causes together.
    pub rx_errors: u64,
    /// Frames received and dropped for their length: longer than the MTU allows.
    pub rx_length_errors: u64,
    /// Frames received but dropped for lack of memory.
    pub rx_dropped: u64,
    /// Frames the device missed because it had no buffer.
    pub rx_missed_errors: u64,
    /// Frames received that were sent to a multicast group (broadcasts not included).
    pub multicast: u64,
    /// Frames the driver was given but could not send.
    pub tx_dropped: u64,
}

/// The operations of a network driver, implemented by its per-device data.
///
/// The stack calls `open` and `stop` under the RTNL, in process context; `start_xmit` with the
/// transmit queue's lock held and bottom halves disabled; `poll` in softirq context, never
/// twice at once; `statistics` in any context but hard interrupts.
///
/// `statistics`, `set_rx_mode`, `link_settings`, `ethtool_statistics` and `tx_timeout` are
/// optional (`#[vtable]`): the stack's pointer to an operation a driver does not implement stays
/// null, and the stack does without it.
#[vtable]
pub trait Driver: Send + Sync + 'static {
    /// Brings the device up: programs its rings and unmasks its interrupts. NAPI is already
    /// enabled; the transmit queue starts after `open` returns.
    fn open(&self, dev: &Device) -> Result;

    /// Brings the device down. The transmit queue is stopped and NAPI disabled already.
    fn stop(&self, dev: &Device);

    /// Queues `skb` for transmission.
    fn start_xmit(&self, dev: &Device, skb: SkBuff) -> Transmit;

    /// Cleans sent frames and receives up to [`NapiPoll::budget`] frames, then, if it received
    /// fewer, completes with [`NapiPoll::complete_done`]. A poll that does not complete is
    /// polled again.
    fn poll(&self, dev: &Device, poll: &mut NapiPoll<'_>);

    /// Returns the device's counters. Without it the stack shows its own, which count nothing
    /// a driver does not tell it.
    fn statistics(&self, _dev: &Device) -> Statistics {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Applies the receive filters of `dev`'s flags, see [`Device::is_promiscuous`], and its
    /// `multicast` addresses. Called after `open` and whenever they change, with bottom halves
    /// disabled. Without it the device keeps the filters it has.
    fn set_rx_mode(&self, _dev: &Device, _multicast: &MulticastList<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the link's speed and duplex, which `ethtool IFACE` shows while the carrier is
    /// on. Called under the RTNL.
    fn link_settings(&self, _dev: &Device) -> LinkSettings {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The names of the driver's own counters, which `ethtool -S` shows with the values of
    /// [`Driver::ethtool_statistics`]; each shorter than
    /// [`ethtool::STATISTIC_NAME_LEN`], which the build checks.
    const ETHTOOL_STATISTICS: &'static [&'static CStr] = &[];

    /// Writes the value of each counter named in [`Driver::ETHTOOL_STATISTICS`] to `values`,
    /// in that order: `values` has one element per name.
    fn ethtool_statistics(&self, _dev: &Device, _values: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Hears that transmit queue `queue` has been stopped for longer than the stack's
    /// watchdog allows: the device no longer sends. Called in softirq context with the queue
    /// frozen; it must not sleep. It may report what the device shows; the abstraction then
    /// resets the device, in process context under the RTNL, with [`Driver::stop`] and
    /// [`Driver::open`] if it is still up. If `open` fails the device stays down, and its next
    /// `stop` is not called. Without it the stack does not watch the queue.
    fn tx_timeout(&self, _dev: &Device, _queue: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The lockdep name of the reset work of every net device: a `static`, so that it has one
/// address whichever crate instantiates [`Builder::new`], as its lock class has.
static RESET_LOCKDEP_NAME: &CStr = crate::c_str!("net::device::reset");

/// The private area of a net device: the NAPI context, the transmit timeout's reset and the
/// driver's data.
///
/// # Invariants
///
/// `dev` is the net device whose private area this is. `reset` is initialised with
/// `reset::<T>` as its function, and is cancelled before `data` is dropped. `data` is
/// initialised from [`Builder::register`] until [`Registration`] is dropped, which covers
/// every callback of the stack.
#[repr(C)]
struct Private<T> {
    napi: *const Napi,
    dev: *mut bindings::net_device,
    reset: Opaque<bindings::work_struct>,
    /// Set, under the RTNL, when a reset could not open the device again: it is down, and the
    /// stack's next `ndo_stop` has nothing to stop.
    closed_by_reset: AtomicBool,
    data: core::mem::MaybeUninit<T>,
}

/// A net device being set up: allocated, not registered.
///
/// # Invariants
///
/// `dev` is an allocated, unregistered net device whose private area is a `Private<T>` with
/// uninitialised `data`, and `napi` its NAPI context.
pub struct Builder<T: Driver> {
    dev: NonNull<bindings::net_device>,
    napi: Arc<Napi>,
    _data: PhantomData<T>,
}

impl<T: Driver> Builder<T> {
    const PRIVATE_ALIGNMENT: () = assert!(
        core::mem::align_of::<Private<T>>() <= bindings::NETDEV_ALIGN as usize,
        "the driver data needs more alignment than net devices give their private area"
    );

    /// Allocates an Ethernet net device whose parent is `parent`, and its NAPI context.
    pub fn new(parent: &device::Device) -> Result<Self> {
        #[allow(clippy::let_unit_value)]
        let () = Self::PRIVATE_ALIGNMENT;
        let size = c_int::try_from(core::mem::size_of::<Private<T>>()).map_err(|_| EINVAL)?;
        // SAFETY: `alloc_etherdev_mqs()` has no preconditions.
        let dev = unsafe { bindings::alloc_etherdev_mqs(size, 1, 1) };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        // SAFETY: `dev` is allocated and not registered, so setting its parent is allowed, and
        // `parent` is a valid device that outlives it: the driver unregisters the net device
        // before its device goes away.
        unsafe { (*dev.as_ptr()).dev.parent = parent.as_raw() };

        // SAFETY: `dev` is a valid device; `poll::<T>` may be called once NAPI is enabled,
        // which happens only after the data is initialised.
        let napi = Arc::pin_init(unsafe { Napi::new(dev, poll::<T>) }, GFP_KERNEL);
        let napi = match napi {
            Ok(napi) => napi,
            Err(e) => {
                // SAFETY: `dev` was allocated above and is not used any more.
                unsafe { bindings::free_netdev(dev.as_ptr()) };
                return Err(e);
            }
        };
        // SAFETY: `netdev_priv()` returns the private area, of the size asked for above.
        let private = unsafe { bindings::netdev_priv(dev.as_ptr()) }.cast::<Private<T>>();
        // INVARIANT: `dev` and `reset` are set up as `Private<T>` requires; `data` stays
        // uninitialised.
        // SAFETY: `private` is valid for writes. `init_work_with_key()` initialises the work
        // item in place, where it stays until the device is freed; the name and the lock class
        // are `'static`, as lockdep requires.
        unsafe {
            core::ptr::addr_of_mut!((*private).napi).write(&*napi);
            core::ptr::addr_of_mut!((*private).dev).write(dev.as_ptr());
            core::ptr::addr_of_mut!((*private).closed_by_reset).write(AtomicBool::new(false));
            bindings::init_work_with_key(
                Opaque::raw_get(core::ptr::addr_of!((*private).reset)),
                Some(reset::<T>),
                false,
                RESET_LOCKDEP_NAME.as_char_ptr(),
                crate::static_lock_class!().as_ptr(),
            );
        }
        // The link is down until the driver says otherwise.
        // SAFETY: `dev` is valid.
        unsafe { bindings::netif_carrier_off(dev.as_ptr()) };
        // INVARIANT: `dev` is allocated and unregistered, its private area set up as above.
        Ok(Self {
            dev,
            napi,
            _data: PhantomData,
        })
    }

    /// Returns the NAPI context of the device, for the driver's interrupt routine.
    pub fn napi(&self) -> &Arc<Napi> {
        &self.napi
    }

    /// Sets the range of MTUs the device accepts (by default the standard Ethernet 68..1500).
    pub fn set_mtu_range(&mut self, min: u32, max: u32) {
        // SAFETY: By the type invariant `dev` is allocated and not registered yet.
        unsafe {
            (*self.dev.as_ptr()).min_mtu = min;
            (*self.dev.as_ptr()).max_mtu = max;
        }
    }

    /// Announces offloads, on by default and switchable with ethtool.
    pub fn set_features(&mut self, features: Features) {
        // SAFETY: By the type invariant `dev` is allocated and not registered yet.
        unsafe {
            (*self.dev.as_ptr()).features |= features.0;
            (*self.dev.as_ptr()).hw_features |= features.0;
        }
    }

    /// Registers the device with Ethernet address `address`, after initialising its data with
    /// `data`. Fails with `EADDRNOTAVAIL` if the address is not a valid unicast address, with
    /// the error of `data`, or with the stack's error.
    pub fn register(
        self,
        address: &[u8; ETH_ALEN],
        data: impl PinInit<T, Error>,
    ) -> Result<Registration<T>> {
        // SAFETY: `address` has `ETH_ALEN` bytes.
        if !unsafe { bindings::is_valid_ether_addr(address.as_ptr()) } {
            return Err(Error::from_errno(-(bindings::EADDRNOTAVAIL as i32)));
        }
        let dev = self.dev.as_ptr();
        // SAFETY: By the type invariant `dev` has a `Private<T>` private area.
        let private = unsafe { bindings::netdev_priv(dev) }.cast::<Private<T>>();
        // SAFETY: `data` is valid for writes, and pinned: the private area does not move
        // until the device is freed, and it is dropped in place before.
        unsafe { data.__pinned_init(core::ptr::addr_of_mut!((*private).data).cast())? };

        // SAFETY: `dev` is valid and unregistered; the operations are static.
        unsafe {
            bindings::eth_hw_addr_set(dev, address.as_ptr());
            (*dev).netdev_ops = &Registration::<T>::OPS;
            (*dev).ethtool_ops = &ethtool::Operations::<T>::OPS;
        }
        // The registration owns the device from here on.
        let this = core::mem::ManuallyDrop::new(self);
        // INVARIANT: The data is initialised; the device is not registered yet.
        let mut registration = Registration {
            dev: this.dev,
            // SAFETY: `this` is never dropped, so its context is moved out only once.
            napi: unsafe { core::ptr::read(&this.napi) },
            registered: false,
            _data: PhantomData,
        };
        // SAFETY: `dev` is a valid, set up, unregistered device.
        to_result(unsafe { bindings::register_netdev(dev) })?;
        // INVARIANT: Registered just above.
        registration.registered = true;
        Ok(registration)
    }
}

impl<T: Driver> Drop for Builder<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dev` is allocated and unregistered, and its data is
        // not initialised: freeing it deletes the NAPI context too.
        unsafe { bindings::free_netdev(self.dev.as_ptr()) };
    }
}

/// A registered net device and its driver data.
///
/// # Invariants
///
/// `dev` is allocated, its private area is a `Private<T>` whose data is initialised, and it is
/// registered if `registered` is set. `napi` is its NAPI context.
pub struct Registration<T: Driver> {
    dev: NonNull<bindings::net_device>,
    napi: Arc<Napi>,
    registered: bool,
    _data: PhantomData<T>,
}

// SAFETY: The registration only hands out shared references to `T`, which is `Send + Sync`,
// and to the device, whose API is thread-safe; it may be dropped on any thread.
unsafe impl<T: Driver> Send for Registration<T> {}

// SAFETY: As above.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    const OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(open::<T>),
        ndo_stop: Some(stop::<T>),
        ndo_start_xmit: Some(start_xmit::<T>),
        ndo_get_stats64: if T::HAS_STATISTICS {
            Some(get_stats64::<T>)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(set_rx_mode::<T>)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(tx_timeout::<T>)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        // SAFETY: All other operations may be null.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// Returns the net device.
    pub fn device(&self) -> &Device {
        // SAFETY: By the type invariant the device is valid while `self` lives.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// Returns the driver's data.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariant the data is initialised while `self` lives.
        unsafe { data::<T>(self.dev.as_ptr()) }
    }

    /// Returns the NAPI context of the device.
    pub fn napi(&self) -> &Arc<Napi> {
        &self.napi
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        let dev = self.dev.as_ptr();
        if self.registered {
            // SAFETY: By the type invariant `dev` is registered. Unregistering closes it
            // first, through `stop::<T>`, so no callback runs after this.
            unsafe { bindings::unregister_netdev(dev) };
        }
        // SAFETY: By the type invariant the private area is a `Private<T>`.
        let private = unsafe { bindings::netdev_priv(dev).cast::<Private<T>>() };
        // The device is closed and the watchdog stopped: a reset queued before may still run,
        // and finds the device down. Wait for it. The RTNL, which it takes, is not held here:
        // `unregister_netdev()` has just taken and released it.
        // SAFETY: By the type invariant of `Private<T>` the work item is initialised.
        let reset = unsafe { Opaque::raw_get(core::ptr::addr_of!((*private).reset)) };
        // SAFETY: As above.
        unsafe { bindings::cancel_work_sync(reset) };
        // SAFETY: By the type invariant the data is initialised, and no callback or reset uses
        // it any more. It is dropped in place, where it was pinned.
        unsafe { core::ptr::drop_in_place((*private).data.as_mut_ptr()) };
        // SAFETY: The device is unregistered and unused; freeing it deletes its NAPI context,
        // which stays allocated while `napi` is referenced, disabled for good.
        unsafe { bindings::free_netdev(dev) };
    }
}

/// Returns the driver's data of `dev`.
///
/// # Safety
///
/// `dev` must be a valid net device made by `Builder<T>` whose data is initialised, for `'a`.
pub(crate) unsafe fn data<'a, T: Driver>(dev: *const bindings::net_device) -> &'a T {
    // SAFETY: The private area is a `Private<T>` with initialised data, by the safety
    // requirements.
    unsafe {
        let private = bindings::netdev_priv(dev).cast::<Private<T>>();
        (*private).data.assume_init_ref()
    }
}

/// Returns the NAPI context of `dev`.
///
/// # Safety
///
/// As for [`data`].
unsafe fn napi<'a, T: Driver>(dev: *const bindings::net_device) -> &'a Napi {
    // SAFETY: The private area is a `Private<T>` whose `napi` points to the context, which the
    // registration keeps alive, by the safety requirements.
    unsafe { &*(*bindings::netdev_priv(dev).cast::<Private<T>>()).napi }
}

/// Returns the flag of `dev` telling that a reset left it down.
///
/// # Safety
///
/// As for [`data`].
unsafe fn closed_by_reset<'a, T: Driver>(dev: *const bindings::net_device) -> &'a AtomicBool {
    // SAFETY: The private area is a `Private<T>`, by the safety requirements.
    unsafe { &(*bindings::netdev_priv(dev).cast::<Private<T>>()).closed_by_reset }
}

/// `ndo_open`: enables NAPI, then opens the device and starts the queue.
///
/// # Safety
///
/// Called by the stack with a registered device made by `Builder<T>`.
unsafe extern "C" fn open<T: Driver>(dev: *mut bindings::net_device) -> c_int {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, napi, device) = unsafe { (data::<T>(dev), napi::<T>(dev), Device::from_raw(dev)) };
    from_result(|| {
        // SAFETY: The device is being opened, its context disabled since it was added or
        // last closed.
        unsafe { napi.enable() };
        if let Err(e) = data.open(device) {
            // SAFETY: Enabled just above.
            unsafe { napi.disable() };
            return Err(e);
        }
        // SAFETY: The device is valid and now open.
        unsafe { bindings::netif_start_queue(dev) };
        Ok(0)
    })
}

/// `ndo_stop`: stops the queue and NAPI, then the device.
///
/// # Safety
///
/// Called by the stack with an open device made by `Builder<T>`.
unsafe extern "C" fn stop<T: Driver>(dev: *mut bindings::net_device) -> c_int {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, napi, device) = unsafe { (data::<T>(dev), napi::<T>(dev), Device::from_raw(dev)) };
    // SAFETY: As above.
    if unsafe { closed_by_reset::<T>(dev) }.swap(false, Ordering::Relaxed) {
        // A reset stopped it and could not open it again.
        return 0;
    }
    // SAFETY: The device is open, so its context is enabled; `netif_tx_disable()` waits for a
    // transmit in progress and `napi_disable()` for a poll.
    unsafe {
        bindings::netif_tx_disable(dev);
        napi.disable();
    }
    data.stop(device);
    0
}

/// `ndo_start_xmit`.
///
/// # Safety
///
/// Called by the stack with an open device made by `Builder<T>` and a buffer it hands over.
unsafe extern "C" fn start_xmit<T: Driver>(
    skb: *mut bindings::sk_buff,
    dev: *mut bindings::net_device,
) -> bindings::netdev_tx_t {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, device) = unsafe { (data::<T>(dev), Device::from_raw(dev)) };
    let Some(skb) = NonNull::new(skb) else {
        return bindings::netdev_tx_NETDEV_TX_OK;
    };
    // SAFETY: The stack hands the buffer over.
    let skb = unsafe { SkBuff::from_raw(skb) };
    match data.start_xmit(device, skb) {
        Transmit::Done => bindings::netdev_tx_NETDEV_TX_OK,
        Transmit::Busy(skb) => {
            // The stack keeps the buffer.
            skb.into_raw();
            bindings::netdev_tx_NETDEV_TX_BUSY
        }
    }
}

/// `ndo_get_stats64`.
///
/// # Safety
///
/// Called by the stack with a registered device made by `Builder<T>` and valid counters.
unsafe extern "C" fn get_stats64<T: Driver>(
    dev: *mut bindings::net_device,
    stats: *mut bindings::rtnl_link_stats64,
) {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, device) = unsafe { (data::<T>(dev), Device::from_raw(dev)) };
    let counters = data.statistics(device);
    // SAFETY: `stats` is valid for writes, by the safety requirements.
    let stats = unsafe { &mut *stats };
    stats.rx_packets = counters.rx_packets;
    stats.rx_bytes = counters.rx_bytes;
    stats.tx_packets = counters.tx_packets;
    stats.tx_bytes = counters.tx_bytes;
    stats.rx_errors = counters.rx_errors;
    stats.rx_length_errors = counters.rx_length_errors;
    stats.rx_dropped = counters.rx_dropped;
    stats.rx_missed_errors = counters.rx_missed_errors;
    stats.multicast = counters.multicast;
    stats.tx_dropped = counters.tx_dropped;
}

/// `ndo_set_rx_mode`.
///
/// # Safety
///
/// Called by the stack with a registered device made by `Builder<T>`.
unsafe extern "C" fn set_rx_mode<T: Driver>(dev: *mut bindings::net_device) {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, device) = unsafe { (data::<T>(dev), Device::from_raw(dev)) };
    // INVARIANT: The stack calls `ndo_set_rx_mode` with the address lists locked.
    let multicast = MulticastList { dev: device };
    data.set_rx_mode(device, &multicast);
}

/// `ndo_tx_timeout`: tells the driver, then queues the reset.
///
/// # Safety
///
/// Called by the stack's watchdog with an open device made by `Builder<T>`.
unsafe extern "C" fn tx_timeout<T: Driver>(dev: *mut bindings::net_device, queue: c_uint) {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, device) = unsafe { (data::<T>(dev), Device::from_raw(dev)) };
    data.tx_timeout(device, queue);
    // SAFETY: By the type invariant of `Private<T>` the work item is initialised, and it is
    // cancelled before the data is dropped and the device freed. The system workqueue lives
    // for good; `queue_work_on()` may be called in any context. Queuing a reset already
    // queued does nothing.
    unsafe {
        let private = bindings::netdev_priv(dev).cast::<Private<T>>();
        bindings::queue_work_on(
            bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
            bindings::system_wq,
            Opaque::raw_get(core::ptr::addr_of!((*private).reset)),
        );
    }
}

/// The reset after a transmit timeout: under the RTNL, stops the device and opens it again,
/// through `ndo_stop` and `ndo_open`, if it is still up.
///
/// # Safety
///
/// `work` is the `reset` field of a `Private<T>`.
unsafe extern "C" fn reset<T: Driver>(work: *mut bindings::work_struct) {
    let private = work
        .cast::<u8>()
        .wrapping_sub(core::mem::offset_of!(Private<T>, reset))
        .cast::<Private<T>>();
    // SAFETY: `work` is the `reset` field of a `Private<T>`, by the safety requirements, whose
    // `dev` is its net device. The registration cancels the work before it drops the data, so
    // the device is registered and its data alive.
    let (dev, device) = unsafe { ((*private).dev, Device::from_raw((*private).dev)) };
    // SAFETY: `rtnl_lock()` may sleep, and this is process context.
    unsafe { bindings::rtnl_lock() };
    // SAFETY: `dev` is valid, as above.
    let up = unsafe { bindings::netif_running(dev) };
    // SAFETY: As above.
    let closed = unsafe { closed_by_reset::<T>(dev) };
    if up && !closed.load(Ordering::Relaxed) {
        pr_info!("{}: resetting after a transmit timeout\n", device.name());
        // SAFETY: Under the RTNL the device is open, so `stop::<T>` may close it, and then
        // `open::<T>` open it again, as the stack would.
        let err = unsafe {
            stop::<T>(dev);
            open::<T>(dev)
        };
        if err != 0 {
            pr_err!(
                "{}: could not open the device after a reset: {:?}; it stays down\n",
                device.name(),
                Error::from_errno(err)
            );
            // Closed already: the stack's `ndo_stop` has nothing left to do. Without a carrier
            // the watchdog no longer reports the stopped queue.
            closed.store(true, Ordering::Relaxed);
            // SAFETY: `dev` is valid, as above.
            unsafe { bindings::netif_carrier_off(dev) };
        }
    }
    // SAFETY: Taken above.
    unsafe { bindings::rtnl_unlock() };
}

/// The NAPI poll function.
///
/// # Safety
///
/// Called by the stack with an enabled context of a device made by `Builder<T>`.
unsafe extern "C" fn poll<T: Driver>(napi: *mut bindings::napi_struct, budget: c_int) -> c_int {
    // SAFETY: The context is enabled, so its device is open: registered, with initialised
    // data.
    let (data, context, device) = unsafe {
        let dev = (*napi).dev;
        (data::<T>(dev), self::napi::<T>(dev), Device::from_raw(dev))
    };
    let budget = usize::try_from(budget).unwrap_or(0);
    let mut poll = NapiPoll::new(context, device, budget);
    data.poll(device, &mut poll);
    // A poll that completed reports what it completed with. One that did not reports its
    // whole budget, whatever it received, so that it is polled again rather than left
    // scheduled with nothing to poll it.
    let work = match poll.completed() {
        Some(work_done) => work_done,
        None => budget,
    };
    work as c_int
}
