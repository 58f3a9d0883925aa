// SPDX-License-Identifier: GPL-2.0

//! PCI drivers: the [`Driver`] trait, its registration and the module that registers it.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::{Device, DeviceId, IdTable};
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings, build_error,
    error::{from_result, to_result, Error, Result},
    ffi::c_int,
    init::{self, InPlaceInit, PinInit},
    str::CStr,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};
use core::{marker::PhantomData, pin::Pin};
use macros::vtable;

/// A PCI driver.
///
/// `probe` returns the driver's data for one device, pinned; the PCI core keeps it until the
/// device is unbound or removed, and then drops it: the drop is the driver's `remove`. The
/// resources in the data release in the right order whatever order they are declared in: see
/// the [module documentation](super).
///
/// `shutdown`, optional, runs at reboot and power-off with the device still bound: it stops
/// the device, so that it does no DMA and raises no interrupt while the next kernel or the
/// firmware takes over.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, pci};
///
/// struct Sample;
///
/// kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x1234, 0x11e8)]);
///
/// #[vtable]
/// impl pci::Driver for Sample {
///     const NAME: &'static CStr = c_str!("sample");
///     const ID_TABLE: pci::IdTable = IDS.table();
///
///     fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
///         let _device = pdev.enable_device()?;
///         Ok(KBox::pin(Sample, GFP_KERNEL)?)
///     }
/// }
/// ```
#[vtable]
pub trait Driver: Send + Sync + Sized + 'static {
    /// The driver's name, as `/sys/bus/pci/drivers` shows it.
    const NAME: &'static CStr;

    /// The devices the driver binds.
    const ID_TABLE: IdTable;

    /// Sets up `dev`, which matched `id`, and returns the driver's data for it.
    ///
    /// Runs in process context and may sleep. On error, everything acquired so far is dropped
    /// and the device stays unbound.
    fn probe(dev: &Device, id: &DeviceId) -> Result<Pin<KBox<Self>>>;

    /// Stops the device for a reboot or power-off: no more DMA, no more interrupts.
    ///
    /// Runs in process context, with the device bound; the driver's data is dropped later, or
    /// never if the system goes down.
    fn shutdown(_this: Pin<&Self>) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The registration of a PCI driver with the PCI core: `pci_register_driver()` when it is made,
/// `pci_unregister_driver()`, which removes every device bound, when it is dropped.
///
/// # Invariants
///
/// `driver` is registered with the PCI core for as long as the object exists.
#[repr(transparent)]
pub struct Registration<T: Driver> {
    driver: Opaque<bindings::pci_driver>,
    _driver: PhantomData<T>,
}

// SAFETY: After registration only the PCI core touches `driver`, under its own locks.
unsafe impl<T: Driver> Sync for Registration<T> {}

// SAFETY: The registration can be dropped, unregistering the driver, from any thread.
unsafe impl<T: Driver> Send for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers `T` for `module`.
    pub fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes; `driver` is at offset 0 of the transparent
            // `Registration`, and an all-zero `pci_driver` is valid.
            let driver = Opaque::raw_get(unsafe { core::ptr::addr_of_mut!((*slot).driver) });
            // SAFETY: `driver` is valid for writes, see above.
            unsafe {
                driver.write(bindings::pci_driver {
                    name: T::NAME.as_char_ptr(),
                    id_table: T::ID_TABLE.as_ptr(),
                    probe: Some(Self::probe_callback),
                    remove: Some(Self::remove_callback),
                    shutdown: if T::HAS_SHUTDOWN {
                        Some(Self::shutdown_callback)
                    } else {
                        None
                    },
                    ..core::mem::zeroed()
                })
            };
            // INVARIANT: On success the driver is registered; on failure `slot` is left without
            // anything to drop.
            // SAFETY: `driver` is initialised and pinned, as required by the PCI core, which
            // keeps it until `pci_unregister_driver()` in `drop`.
            to_result(unsafe {
                bindings::__pci_register_driver(driver, module.as_ptr(), T::NAME.as_char_ptr())
            })
        };
        // SAFETY: The closure initialises all of `*slot` when it succeeds, and leaves nothing
        // to drop when it fails; the memory is pinned by the caller.
        unsafe { init::pin_init_from_closure(init) }
    }

    /// Probes a device for `T`.
    ///
    /// # Safety
    ///
    /// Called by the PCI core only, with a device that matched an entry of `T::ID_TABLE`.
    unsafe extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        id: *const bindings::pci_device_id,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The PCI core passes a valid device, referenced during probe.
            let dev = unsafe { Device::from_raw(pdev) };
            // SAFETY: `id` points to an entry of `T::ID_TABLE`; `DeviceId` is a transparent
            // wrapper of `pci_device_id`.
            let id = unsafe { &*id.cast::<DeviceId>() };
            let data = T::probe(dev, id)?;
            // SAFETY: `pdev` is valid; `remove_callback` turns the pointer back into `data`.
            unsafe { bindings::pci_set_drvdata(pdev, data.into_foreign() as _) };
            Ok(0)
        })
    }

    /// Removes a device `probe_callback` bound: drops the driver's data.
    ///
    /// # Safety
    ///
    /// Called by the PCI core only, once, for a device `probe_callback` bound.
    unsafe extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `pdev` is valid; its driver data was set by a successful `probe_callback`.
        let ptr = unsafe { bindings::pci_get_drvdata(pdev) };
        // SAFETY: `ptr` came from `into_foreign()` in `probe_callback`, and the PCI core calls
        // `remove` once, so this is the only conversion back.
        drop(unsafe { <Pin<KBox<T>> as ForeignOwnable>::from_foreign(ptr) });
        // SAFETY: `pdev` is valid; clearing leaves no dangling pointer behind.
        unsafe { bindings::pci_set_drvdata(pdev, core::ptr::null_mut()) };
    }
}

impl<T: Driver> Registration<T> {
    /// Stops a device `probe_callback` bound, for a reboot or power-off.
    ///
    /// # Safety
    ///
    /// Called by the PCI core only, for a device `probe_callback` bound and `remove_callback`
    /// has not unbound.
    unsafe extern "C" fn shutdown_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `pdev` is valid; its driver data was set by a successful `probe_callback`.
        let ptr = unsafe { bindings::pci_get_drvdata(pdev) };
        // SAFETY: `ptr` came from `into_foreign()` in `probe_callback` and stays valid until
        // `remove_callback`, which the PCI core does not run at the same time.
        let data = unsafe { <Pin<KBox<T>> as ForeignOwnable>::borrow(ptr) };
        T::shutdown(data);
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the driver is registered. This unbinds every device,
        // dropping the driver's data of each.
        unsafe { bindings::pci_unregister_driver(self.driver.get()) };
    }
}

/// A kernel module whose only job is to register the PCI driver `T`.
///
/// Made by [`module_pci_driver!`](crate::module_pci_driver).
pub struct Module<T: Driver> {
    _registration: Pin<KBox<Registration<T>>>,
}

impl<T: Driver> crate::Module for Module<T> {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _registration: KBox::pin_init(Registration::new(module), GFP_KERNEL)?,
        })
    }
}

/// Declares a kernel module that registers a PCI driver.
///
/// Takes the fields of [`module!`](crate::prelude::module), with `type` the [`Driver`].
///
/// # Examples
///
/// ```ignore
/// kernel::module_pci_driver! {
///     type: MyDriver,
///     name: "my_pci_driver",
///     author: "Rust for Linux Contributors",
///     description: "My PCI driver",
///     license: "GPL",
/// }
/// ```
#[macro_export]
macro_rules! module_pci_driver {
    (type: $type:ty, $($fields:tt)*) => {
        type __PciDriverModule = $crate::pci::Module<$type>;
        $crate::prelude::module! {
            type: __PciDriverModule,
            $($fields)*
        }
    };
}
